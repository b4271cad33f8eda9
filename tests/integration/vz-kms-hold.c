/* SPDX-License-Identifier: MIT */
/*
 * Another program on the display, as a console or a compositor would be:
 * it puts a framebuffer of its own on a connector (legacy SetCrtc), then
 * either keeps the DRM master (vzero must refuse, saying who holds it) or
 * drops it so vzero can take the screen -- and, once DIR/go appears, checks
 * that its own framebuffer and mode are back on the CRTC.
 *
 * Usage: vz-kms-hold NODE DIR [--keep-master]
 * Writes DIR/ready once its picture is up; exits 0 when the screen came back
 * as it left it (or, with --keep-master, when DIR/go appears), 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

static int die(const char *what)
{
	fprintf(stderr, "vz-kms-hold: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: vz-kms-hold NODE DIR [--keep-master]\n");
		return 2;
	}
	bool keep = argc > 3 && !strcmp(argv[3], "--keep-master");
	int fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return die(argv[1]);
	drmModeResPtr res = drmModeGetResources(fd);
	if (!res)
		return die("GetResources");
	drmModeConnectorPtr conn = NULL;
	for (int i = 0; i < res->count_connectors && !conn; i++) {
		conn = drmModeGetConnector(fd, res->connectors[i]);
		if (conn && (conn->connection != DRM_MODE_CONNECTED || !conn->count_modes)) {
			drmModeFreeConnector(conn);
			conn = NULL;
		}
	}
	if (!conn)
		return die("no connected connector");
	drmModeModeInfo mode = conn->modes[0];
	uint32_t crtc = res->crtcs[0];
	struct drm_mode_create_dumb cd = {
	        .width = mode.hdisplay, .height = mode.vdisplay, .bpp = 32};
	if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &cd) < 0)
		return die("CREATE_DUMB");
	uint32_t fb, h[4] = {cd.handle}, p[4] = {cd.pitch}, o[4] = {0};
	if (drmModeAddFB2(fd, cd.width, cd.height, DRM_FORMAT_XRGB8888, h, p, o, &fb, 0) < 0)
		return die("AddFB2");
	if (drmModeSetCrtc(fd, crtc, fb, 0, 0, &conn->connector_id, 1, &mode) < 0)
		return die("SetCrtc");
	if (!keep && drmDropMaster(fd) < 0)
		return die("DropMaster");
	char path[512];
	snprintf(path, sizeof(path), "%s/ready", argv[2]);
	FILE *f = fopen(path, "w");
	if (!f)
		return die(path);
	fprintf(f, "fb %u crtc %u mode %ux%u\n", fb, crtc, mode.hdisplay, mode.vdisplay);
	fclose(f);
	snprintf(path, sizeof(path), "%s/go", argv[2]);
	for (int i = 0; access(path, F_OK) < 0; i++) {
		if (i > 2400) {
			fprintf(stderr, "vz-kms-hold: no %s within 120 s\n", path);
			return 1;
		}
		usleep(50000);
	}
	if (keep)
		return 0;
	/* Only its master may look at everything again; vzero has gone. */
	if (drmSetMaster(fd) < 0)
		return die("SetMaster after the run (is vzero still the master?)");
	drmModeCrtcPtr c = drmModeGetCrtc(fd, crtc);
	if (!c)
		return die("GetCrtc");
	printf("after the run: crtc %u fb %u (ours %u), mode %ux%u (ours %ux%u), %s\n", crtc,
	       c->buffer_id, fb, c->mode.hdisplay, c->mode.vdisplay, mode.hdisplay, mode.vdisplay,
	       c->mode_valid ? "active" : "off");
	return c->buffer_id == fb && c->mode_valid && c->mode.hdisplay == mode.hdisplay &&
	                       c->mode.vdisplay == mode.vdisplay
	               ? 0
	               : 1;
}
