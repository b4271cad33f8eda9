/* SPDX-License-Identifier: MIT */
/* One selector, either backend; the story is in camera.h. */
#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>

#include "camera.h"
#include "libcamera-internal.h"
#include "v4l2-internal.h"

struct vz_camera {
	struct vz_capture *v4l2;
	struct vz_lc *lc;
};

bool vz_camera_is_libcamera(const char *selector)
{
	return selector && !strncmp(selector, VZ_LIBCAMERA_PREFIX, strlen(VZ_LIBCAMERA_PREFIX));
}

static int refuse_v4l2_only(const struct vz_capture_config *cfg, struct vz_err *err)
{
	const char *what = cfg->libv4l2            ? "--libv4l2"
	                   : cfg->io != VZ_IO_MMAP ? "--io dmabuf-import"
	                   : cfg->import_drm_node  ? "a DRM node for imports"
	                   : cfg->blocking         ? "blocking I/O"
	                                           : NULL;
	if (!what)
		return 0;
	return vz_err_set(err, -EINVAL,
	                  "-d %s: %s is for V4L2 nodes; libcamera allocates its own buffers "
	                  "and converts nothing (leave it out)",
	                  cfg->device, what);
}

int vz_camera_open(struct vz_camera **out, const struct vz_capture_config *cfg, struct vz_err *err)
{
	*out = NULL;
	struct vz_camera *c = calloc(1, sizeof(*c));
	if (!c)
		return vz_err_set(err, -ENOMEM, "out of memory");
	int r;
	if (vz_camera_is_libcamera(cfg->device)) {
		r = refuse_v4l2_only(cfg, err);
		const struct vz_lcs_api *api = r < 0 ? NULL : vz_lc_load(err);
		if (!api) {
			r = r < 0 ? r : -ENOTSUP;
			if (r == -ENOTSUP)
				vz_err_prefix(err, "-d %s", cfg->device);
			goto fail;
		}
		r = vz_lc_open(&c->lc, api, cfg, err);
	} else {
		r = vz_capture_open(&c->v4l2, cfg, err);
	}
	if (r < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	vz_camera_close(c);
	return r;
}

void vz_camera_close(struct vz_camera *c)
{
	if (!c)
		return;
	vz_capture_close(c->v4l2);
	vz_lc_close(c->lc);
	free(c);
}

struct vz_source vz_camera_source(struct vz_camera *c)
{
	return c->lc ? vz_lc_source(c->lc) : vz_capture_source(c->v4l2);
}

const char *vz_camera_backend(const struct vz_camera *c)
{
	return c->lc ? "libcamera" : "v4l2";
}

const char *vz_camera_path(const struct vz_camera *c)
{
	return c->lc ? vz_lc_path(c->lc) : vz_capture_path(c->v4l2);
}

const char *vz_camera_card(const struct vz_camera *c)
{
	return c->lc ? vz_lc_model(c->lc) : vz_capture_card(c->v4l2);
}

const char *vz_camera_driver(const struct vz_camera *c)
{
	return c->lc ? vz_lc_driver(c->lc) : vz_capture_driver(c->v4l2);
}

const char *vz_camera_notes(struct vz_camera *c)
{
	return c->lc ? vz_lc_notes(c->lc) : "";
}

struct vz_capture *vz_camera_v4l2(struct vz_camera *c)
{
	return c->v4l2;
}

/* ---- listing ---- */

/* libcamera only ever finds cameras behind a media controller: without
 * one, starting its manager would only cost time. */
static bool have_media_nodes(void)
{
	glob_t g;
	bool any = glob("/dev/media*", 0, NULL, &g) == 0 && g.gl_pathc > 0;
	globfree(&g);
	return any;
}

static int list_libcamera(void *data, FILE *out, bool json, bool *first, struct vz_err *err)
{
	(void)data;
	struct vz_err e = {0};
	if (!vz_lc_in_build()) {
		vz_lc_load(&e);
		if (!json)
			fprintf(out, "\nlibcamera: not available: %s\n", e.msg);
		return 0;
	}
	if (!have_media_nodes()) {
		if (!json)
			fprintf(out,
			        "\nlibcamera: no media controller device (/dev/media*) here, so "
			        "no libcamera camera\n");
		return 0;
	}
	const struct vz_lcs_api *api = vz_lc_load(&e);
	if (!api) {
		if (!json)
			fprintf(out, "\nlibcamera: not available: %s\n", e.msg);
		return 0;
	}
	int r = vz_lc_print(api, out, json, first, NULL, &e);
	if (r < 0 && !json)
		/* The V4L2 listing stands on its own: say what failed. */
		fprintf(out, "libcamera: listing failed: %s\n", e.msg);
	(void)err;
	return 0;
}

int vz_cameras_print(FILE *out, bool json, struct vz_err *err)
{
	return vz_v4l2_devices_print(out, json, list_libcamera, NULL, err);
}

int vz_camera_print(FILE *out, const char *selector, bool json, struct vz_err *err)
{
	if (!vz_camera_is_libcamera(selector))
		return vz_device_print(out, selector, json, err);
	const struct vz_lcs_api *api = vz_lc_load(err);
	if (!api)
		return vz_err_prefix(err, "-d %s", selector);
	bool first = true;
	if (json)
		fputs("[", out);
	int r = vz_lc_print(api, out, json, &first, selector, err);
	if (json)
		fputs(first ? "]\n" : "\n]\n", out);
	return r;
}
