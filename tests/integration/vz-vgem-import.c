/* SPDX-License-Identifier: MIT */
/*
 * vz-vgem-import DEV auto|own [FRAMES]: captures with VZ_IO_DMABUF_IMPORT
 * into dumb buffers on a DRM node (vgem in the VM) and reads the frames
 * through the dumb buffers' own DRM mapping: the content must not be
 * constant and must change between frames, which proves the driver wrote
 * into the imported memory.
 *   auto  vz_capture allocates the dumb buffers itself (cfg.import = NULL)
 *   own   this program allocates them with libdrm and hands them over as a
 *         buffer set (vz_capture_alloc), as a sink providing buffers does
 * Exit 0 ok, 1 failure, 77 no DRM node.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xf86drm.h>

#include "capture.h"
#include "vz-test.h"

#define NBUF 4

struct own_buf {
	int fd[VZ_MAX_PLANES];
	void *map[VZ_MAX_PLANES];
	size_t length[VZ_MAX_PLANES];
};

struct own {
	int drm;
	uint32_t handle[NBUF][VZ_MAX_PLANES];
	struct own_buf ib[NBUF];
	struct vz_buffer_set set; /* what vz_capture imports */
};

/* The set only lends our fds and mappings: own_free() frees them. */
static void own_set_destroy(struct vz_buffer_set *s)
{
	(void)s;
}

static const struct vz_buffer_set_ops own_set_ops = {.destroy = own_set_destroy};

static uint64_t fnv1a(const uint8_t *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void own_free(struct own *o)
{
	for (unsigned i = 0; i < NBUF; i++)
		for (unsigned p = 0; p < VZ_MAX_PLANES; p++) {
			if (o->ib[i].map[p])
				munmap(o->ib[i].map[p], o->ib[i].length[p]);
			if (o->ib[i].fd[p] >= 0)
				close(o->ib[i].fd[p]);
			if (o->handle[i][p]) {
				struct drm_mode_destroy_dumb d = {.handle = o->handle[i][p]};
				drmIoctl(o->drm, DRM_IOCTL_MODE_DESTROY_DUMB, &d);
			}
		}
	if (o->drm >= 0)
		close(o->drm);
}

/* Sizes come from a throwaway mmap-mode open: the format the driver will
 * use is the one it reports now. */
static int own_alloc(struct own *o, const char *node, const struct vz_format *f)
{
	o->drm = open(node, O_RDWR | O_CLOEXEC);
	if (o->drm < 0) {
		printf("SKIP: cannot open %s: %s\n", node, strerror(errno));
		return 77;
	}
	for (unsigned i = 0; i < NBUF; i++) {
		for (unsigned p = 0; p < f->num_mem; p++) {
			struct drm_mode_create_dumb cd = {
			        .bpp = 8, .width = 4096, .height = (f->mem_size[p] + 4095) / 4096};
			if (drmIoctl(o->drm, DRM_IOCTL_MODE_CREATE_DUMB, &cd) < 0) {
				printf("FAIL: CREATE_DUMB on %s: %s\n", node, strerror(errno));
				return 1;
			}
			o->handle[i][p] = cd.handle;
			o->ib[i].length[p] = cd.size;
			if (drmPrimeHandleToFD(o->drm, cd.handle, DRM_CLOEXEC | DRM_RDWR,
			                       &o->ib[i].fd[p]) < 0) {
				printf("FAIL: PRIME export: %s\n", strerror(errno));
				return 1;
			}
			struct drm_mode_map_dumb md = {.handle = cd.handle};
			if (drmIoctl(o->drm, DRM_IOCTL_MODE_MAP_DUMB, &md) < 0) {
				printf("FAIL: MAP_DUMB: %s\n", strerror(errno));
				return 1;
			}
			void *m = mmap(NULL, cd.size, PROT_READ | PROT_WRITE, MAP_SHARED, o->drm,
			               (off_t)md.offset);
			if (m == MAP_FAILED) {
				printf("FAIL: mmap dumb: %s\n", strerror(errno));
				return 1;
			}
			/* A known pattern: the capture must overwrite it. */
			memset(m, 0x5a, cd.size);
			o->ib[i].map[p] = m;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[2], "auto") && strcmp(argv[2], "own"))) {
		fprintf(stderr, "usage: vz-vgem-import DEV auto|own [FRAMES] [FOURCC]\n");
		return 2;
	}
	bool own_mode = !strcmp(argv[2], "own");
	unsigned frames = argc > 3 ? (unsigned)atoi(argv[3]) : 8;
	if (frames < 2 || frames > 1000)
		frames = 8;
	const char *node = getenv("VZ_DRM_NODE") ? getenv("VZ_DRM_NODE") : "/dev/dri/card0";
	if (access(node, F_OK) < 0) {
		printf("SKIP: no DRM node %s (load vgem)\n", node);
		return 77;
	}
	struct vz_capture_config cfg = {.device = argv[1], .io = VZ_IO_DMABUF_IMPORT};
	if (argc > 4 && vz_fourcc_parse(argv[4], &cfg.fourcc) < 0)
		return 2;
	struct own o;
	memset(&o, 0, sizeof(o));
	o.drm = -1;
	for (unsigned i = 0; i < NBUF; i++)
		for (unsigned p = 0; p < VZ_MAX_PLANES; p++)
			o.ib[i].fd[p] = -1;
	struct vz_err err = {0};
	struct vz_capture *c = NULL;
	int bad = 0;
	uint64_t prev = 0;
	unsigned same = 0;

	if (!own_mode)
		cfg.import_drm_node = node;
	if (vz_capture_open(&c, &cfg, &err) < 0) {
		printf("FAIL: open: %s\n", err.msg);
		bad = 1;
		goto out;
	}
	if (own_mode) {
		/* The provider lays out the format capture negotiated. */
		const struct vz_format *nf = vz_capture_format(c);
		int r = own_alloc(&o, node, nf);
		if (r) {
			bad = r;
			goto out;
		}
		vz_buffer_set_init(&o.set, &own_set_ops);
		o.set.fmt = *nf;
		o.set.count = NBUF;
		snprintf(o.set.origin, sizeof(o.set.origin), "dumb buffers of vz-vgem-import");
		for (unsigned i = 0; i < NBUF; i++) {
			o.set.buf[i].num_mem = nf->num_mem;
			for (unsigned p = 0; p < nf->num_mem; p++) {
				o.set.buf[i].mem[p].fd_rw = o.ib[i].fd[p];
				o.set.buf[i].mem[p].map = o.ib[i].map[p];
				o.set.buf[i].mem[p].length = o.ib[i].length[p];
			}
		}
		if (vz_capture_alloc(c, &o.set, &err) < 0) {
			printf("FAIL: import of our buffers: %s\n", err.msg);
			bad = 1;
			goto out;
		}
	}
	if (vz_capture_start(c, &err) < 0) {
		printf("FAIL: %s\n", err.msg);
		bad = 1;
		goto out;
	}
	const struct vz_format *f = vz_capture_format(c);
	char b[5];
	printf("%s: %s %ux%u, %u memory plane(s), importing %u buffers from %s (%s)\n",
	       vz_capture_path(c), vz_fourcc_str(f->fourcc, b), f->width, f->height, f->num_mem,
	       vzt_buffer_count(c), node, own_mode ? "ours" : "vz_capture's");
	for (unsigned got = 0; got < frames;) {
		struct vz_frame_info fi;
		int r = vzt_next_frame(c, 5000, &fi, &err);
		if (r == 0) {
			printf("FAIL: no frame within 5 s\n");
			bad = 1;
			goto out;
		}
		if (r < 0) {
			printf("FAIL: next: %s\n", err.msg);
			bad = 1;
			goto out;
		}
		uint64_t h = 0xcbf29ce484222325ull;
		for (unsigned m = 0; m < f->num_mem; m++) {
			/* Read through the allocator's own mapping, not V4L2's. */
			const uint8_t *map = own_mode ? o.ib[fi.index].map[m]
			                              : vzt_buffer(c, fi.index)->mem[m].map;
			size_t used = fi.bytesused[m] ? fi.bytesused[m] : f->mem_size[m];
			size_t distinct = 0;
			bool seen[256] = {false};
			for (size_t i = 0; i < used; i += 7)
				if (!seen[map[i]]) {
					seen[map[i]] = true;
					distinct++;
				}
			if (distinct < 4) {
				printf("FAIL: frame %u plane %u: only %zu distinct byte values in "
				       "the imported buffer\n",
				       fi.sequence, m, distinct);
				bad = 1;
			}
			h = fnv1a(map, used, h);
		}
		printf("frame seq %u index %u hash %016llx\n", fi.sequence, fi.index,
		       (unsigned long long)h);
		if (got > 0 && h == prev)
			same++;
		prev = h;
		got++;
		if (vzt_queue(c, fi.index, &err) < 0) {
			printf("FAIL: queue: %s\n", err.msg);
			bad = 1;
			goto out;
		}
	}
	if (same) {
		printf("FAIL: %u frame(s) identical to the one before\n", same);
		bad = 1;
	}
	printf("%s: content lands in the imported buffers and changes per frame\n",
	       bad ? "FAIL" : "ok");
out:
	/* The capture lets go of our set first: it refers to our fds. */
	vz_capture_close(c);
	own_free(&o);
	return bad;
}
