/* SPDX-License-Identifier: MIT */
/*
 * Dumb buffers on a DRM node as a buffer set, exported as DMA-bufs: behind
 * capture's own DMA-buf import mode (the V4L2 driver then writes straight
 * into memory a DRM device owns: vgem in the test VM, a display controller
 * on real hardware) and behind any provider that needs plain device memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xf86drm.h>

#include "buffer.h"

struct dumb_set {
	struct vz_buffer_set base;
	int drm_fd;
	uint32_t handle[VZ_MAX_BUFFERS][VZ_MAX_PLANES];
	uint32_t pitch[VZ_MAX_PLANES];
};

static void dumb_destroy(struct vz_buffer_set *bs)
{
	struct dumb_set *s = (struct dumb_set *)bs;
	vz_buffer_set_release_memory(bs);
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++)
		for (unsigned j = 0; j < VZ_MAX_PLANES; j++)
			if (s->handle[i][j]) {
				struct drm_mode_destroy_dumb dd = {.handle = s->handle[i][j]};
				drmIoctl(s->drm_fd, DRM_IOCTL_MODE_DESTROY_DUMB, &dd);
			}
	if (s->drm_fd >= 0)
		close(s->drm_fd);
	free(s);
}

static const struct vz_buffer_set_ops dumb_ops = {
        .destroy = dumb_destroy,
};

/* @cd: the geometry to ask for (bpp, width, height); the driver fills in
 * pitch and size. */
static int alloc_plane(struct dumb_set *s, unsigned i, unsigned j, struct drm_mode_create_dumb cd,
                       uint32_t size, const char *node, struct vz_err *err)
{
	struct vz_mem *m = &s->base.buf[i].mem[j];
	if (drmIoctl(s->drm_fd, DRM_IOCTL_MODE_CREATE_DUMB, &cd) < 0)
		return vz_err_set(err, -errno,
		                  "%s: cannot create a %ux%u dumb buffer at %u bpp: %s", node,
		                  cd.width, cd.height, cd.bpp, strerror(errno));
	s->handle[i][j] = cd.handle;
	s->pitch[j] = cd.pitch;
	m->length = cd.size;
	if (cd.size < size)
		return vz_err_set(err, -ENOMEM, "%s: dumb buffer of %llu bytes is smaller than %u",
		                  node, (unsigned long long)cd.size, size);
	/* The first PRIME export of a GEM object fixes the dma-buf's mode, and
	 * every later export returns the same file: export read-only once, so
	 * what leaves the process cannot be mapped for writing.  The device
	 * (V4L2 import) writes regardless, and CPU writes go through the DRM
	 * mapping below. */
	if (drmPrimeHandleToFD(s->drm_fd, cd.handle, DRM_CLOEXEC, &m->fd_ro) < 0)
		return vz_err_set(err, -errno, "%s: cannot export a dumb buffer as DMA-buf: %s",
		                  node, strerror(errno));
	m->fd_rw = fcntl(m->fd_ro, F_DUPFD_CLOEXEC, 0);
	if (m->fd_rw < 0)
		return vz_err_set(err, -errno, "%s: cannot duplicate a DMA-buf fd: %s", node,
		                  strerror(errno));
	struct drm_mode_map_dumb md = {.handle = cd.handle};
	void *p = MAP_FAILED;
	if (drmIoctl(s->drm_fd, DRM_IOCTL_MODE_MAP_DUMB, &md) == 0)
		p = mmap(NULL, m->length, PROT_READ | PROT_WRITE, MAP_SHARED, s->drm_fd,
		         (off_t)md.offset);
	if (p == MAP_FAILED)
		return vz_err_set(err, -errno,
		                  "%s: cannot map a dumb buffer for writing through the DRM device "
		                  "(MODE_MAP_DUMB): %s",
		                  node, strerror(errno));
	m->map = p;
	return 0;
}

static int alloc_on(struct dumb_set *s, const char *node, const struct vz_format *fmt,
                    struct vz_err *err)
{
	s->drm_fd = open(node, O_RDWR | O_CLOEXEC);
	if (s->drm_fd < 0)
		return vz_err_set(err, -errno, "cannot open DRM node %s: %s", node,
		                  strerror(errno));
	for (unsigned i = 0; i < s->base.count; i++) {
		s->base.buf[i].num_mem = fmt->num_mem;
		for (unsigned j = 0; j < fmt->num_mem; j++) {
			/* An opaque byte buffer: 8 bpp, rows of 4096 bytes, so no
			 * driver sees an absurd width; the V4L2 side uses its own
			 * bytesperline. */
			struct drm_mode_create_dumb cd = {.bpp = 8, .width = 4096};
			cd.height = (fmt->mem_size[j] + cd.width - 1) / cd.width;
			if (cd.height == 0)
				cd.height = 1;
			int ret = alloc_plane(s, i, j, cd, fmt->mem_size[j], node, err);
			if (ret < 0)
				return ret;
		}
	}
	snprintf(s->base.origin, sizeof(s->base.origin), "dumb buffers on %s", node);
	return 0;
}

static struct dumb_set *set_new(unsigned count, const struct vz_format *fmt)
{
	struct dumb_set *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	vz_buffer_set_init(&s->base, &dumb_ops);
	s->drm_fd = -1;
	s->base.count = count;
	s->base.fmt = *fmt;
	return s;
}

int vz_dumb_set_create(struct vz_buffer_set **out, const char *node, const struct vz_format *fmt,
                       unsigned count, struct vz_err *err)
{
	*out = NULL;
	if (count == 0 || count > VZ_MAX_BUFFERS || fmt->num_mem == 0 ||
	    fmt->num_mem > VZ_MAX_PLANES)
		return vz_err_set(err, -EINVAL, "dumb buffers: bad count %u or planes %u", count,
		                  fmt->num_mem);
	struct dumb_set *s = NULL;
	int ret = -ENOENT;
	if (node) {
		s = set_new(count, fmt);
		if (!s)
			return vz_err_set(err, -ENOMEM, "out of memory");
		ret = alloc_on(s, node, fmt, err);
	} else {
		/* Render nodes refuse CREATE_DUMB: only card nodes can serve. */
		struct vz_err first = {0};
		for (int n = 0; n < 16 && ret < 0; n++) {
			char path[64];
			snprintf(path, sizeof(path), "/dev/dri/card%d", n);
			if (access(path, F_OK) < 0)
				continue;
			if (s)
				vz_buffer_set_unref(&s->base);
			s = set_new(count, fmt);
			if (!s)
				return vz_err_set(err, -ENOMEM, "out of memory");
			struct vz_err e = {0};
			ret = alloc_on(s, path, fmt, &e);
			if (ret < 0 && first.code == 0)
				first = e;
		}
		if (ret < 0 && first.code == 0)
			ret = vz_err_set(
			        err, -ENOENT,
			        "no DRM device (/dev/dri/card*) to allocate import buffers "
			        "on: load one (e.g. `modprobe vgem`) or pass buffers");
		else if (ret < 0)
			ret = vz_err_set(err, first.code, "%s", first.msg);
	}
	if (ret < 0) {
		if (s)
			vz_buffer_set_unref(&s->base);
		return ret;
	}
	*out = &s->base;
	return 0;
}

/* Bits per pixel of a memory plane's first colour plane, for the display's
 * own geometry: XRGB 32, YUYV 16, the Y of NV12 8. */
static unsigned plane_bpp(const struct vz_format_desc *d, unsigned cp)
{
	return 8 * d->plane[cp].bytes_per_group / d->plane[cp].group_width;
}

int vz_dumb_set_create_display(struct vz_buffer_set **out, int drm_fd, const char *node,
                               const struct vz_format *fmt, unsigned count, struct vz_err *err)
{
	*out = NULL;
	const struct vz_format_desc *d = vz_format_desc_find(fmt->fourcc);
	char fcc[5];
	if (!d)
		return vz_err_set(err, -EINVAL, "dumb buffers: unknown format %s",
		                  vz_fourcc_str(fmt->fourcc, fcc));
	if (count == 0 || count > VZ_MAX_BUFFERS || fmt->num_mem == 0 ||
	    fmt->num_mem > VZ_MAX_PLANES)
		return vz_err_set(err, -EINVAL, "dumb buffers: bad count %u or planes %u", count,
		                  fmt->num_mem);
	struct dumb_set *s = set_new(count, fmt);
	if (!s)
		return vz_err_set(err, -ENOMEM, "out of memory");
	int ret = 0;
	s->drm_fd = fcntl(drm_fd, F_DUPFD_CLOEXEC, 0);
	if (s->drm_fd < 0) {
		ret = vz_err_set(err, -errno, "%s: cannot duplicate the DRM fd: %s", node,
		                 strerror(errno));
		goto fail;
	}
	/* Per memory plane: its first colour plane's pixels per line, every
	 * colour plane's lines (NV12 in one memory: Y then UV at Y's pitch). */
	struct drm_mode_create_dumb geo[VZ_MAX_PLANES] = {{0}};
	for (unsigned cp = 0; cp < fmt->num_planes; cp++) {
		struct drm_mode_create_dumb *g = &geo[fmt->plane[cp].mem];
		if (!g->bpp) {
			g->bpp = plane_bpp(d, cp);
			g->width = fmt->width;
		}
		g->height += fmt->plane[cp].height;
	}
	for (unsigned i = 0; i < count && ret == 0; i++) {
		s->base.buf[i].num_mem = fmt->num_mem;
		for (unsigned j = 0; j < fmt->num_mem && ret == 0; j++)
			ret = alloc_plane(s, i, j, geo[j], 0, node, err);
	}
	if (ret < 0)
		goto fail;
	/* The display's pitches are the frame's strides now. */
	struct vz_format f = *fmt;
	for (unsigned j = 0; j < VZ_MAX_PLANES; j++)
		f.mem_size[j] = 0;
	if (vz_format_layout(&f, s->pitch) < 0) {
		ret = vz_err_set(err, -EINVAL,
		                 "%s: the dumb buffers' pitch %u does not fit the format", node,
		                 s->pitch[0]);
		goto fail;
	}
	for (unsigned j = 0; j < f.num_mem; j++)
		if (f.mem_size[j] > s->base.buf[0].mem[j].length) {
			ret = vz_err_set(err, -ENOMEM,
			                 "%s: dumb buffer of %zu bytes is smaller than %u", node,
			                 s->base.buf[0].mem[j].length, f.mem_size[j]);
			goto fail;
		}
	s->base.fmt = f;
	snprintf(s->base.origin, sizeof(s->base.origin), "dumb buffers on %s", node);
	*out = &s->base;
	return 0;
fail:
	vz_buffer_set_unref(&s->base);
	return ret;
}

uint32_t vz_dumb_set_handle(const struct vz_buffer_set *bs, unsigned index, unsigned mem)
{
	if (!bs || bs->ops != &dumb_ops || index >= VZ_MAX_BUFFERS || mem >= VZ_MAX_PLANES)
		return 0;
	return ((const struct dumb_set *)bs)->handle[index][mem];
}
