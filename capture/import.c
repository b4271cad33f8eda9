/* SPDX-License-Identifier: MIT */
/*
 * Dumb buffers on a DRM node, exported as DMA-bufs, for
 * VZ_IO_DMABUF_IMPORT when nobody handed us buffers: the V4L2 driver then
 * writes straight into memory a DRM device owns (vgem in the test VM, a
 * display controller on real hardware).
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

#include "v4l2-internal.h"

struct vz_dumb_plane {
	uint32_t handle; /* 0: none */
	uint64_t size;
	int fd_rw, fd_ro;
	void *map;
};

struct vz_dumb_set {
	int drm_fd;
	unsigned count, num_mem;
	struct vz_dumb_plane p[VZ_MAX_BUFFERS][VZ_MAX_PLANES];
};

void vz_dumb_free(struct vz_dumb_set *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++) {
		for (unsigned j = 0; j < VZ_MAX_PLANES; j++) {
			struct vz_dumb_plane *d = &s->p[i][j];
			if (d->map)
				munmap(d->map, d->size);
			if (d->fd_rw >= 0)
				close(d->fd_rw);
			if (d->fd_ro >= 0)
				close(d->fd_ro);
			if (d->handle) {
				struct drm_mode_destroy_dumb dd = {.handle = d->handle};
				drmIoctl(s->drm_fd, DRM_IOCTL_MODE_DESTROY_DUMB, &dd);
			}
		}
	}
	if (s->drm_fd >= 0)
		close(s->drm_fd);
	free(s);
}

static int alloc_plane(struct vz_dumb_set *s, struct vz_dumb_plane *d, uint32_t size,
                       const char *node, struct vz_err *err)
{
	/* An opaque byte buffer: 8 bpp, rows of 4096 bytes, so no driver sees
	 * an absurd width; the V4L2 side uses its own bytesperline. */
	struct drm_mode_create_dumb cd = {.bpp = 8, .width = 4096};
	cd.height = (size + cd.width - 1) / cd.width;
	if (cd.height == 0)
		cd.height = 1;
	if (drmIoctl(s->drm_fd, DRM_IOCTL_MODE_CREATE_DUMB, &cd) < 0)
		return vz_err_set(err, -errno, "%s: cannot create a %u-byte dumb buffer: %s", node,
		                  size, strerror(errno));
	d->handle = cd.handle;
	d->size = cd.size;
	if (cd.size < size)
		return vz_err_set(err, -ENOMEM, "%s: dumb buffer of %llu bytes is smaller than %u",
		                  node, (unsigned long long)cd.size, size);
	if (drmPrimeHandleToFD(s->drm_fd, d->handle, DRM_CLOEXEC | DRM_RDWR, &d->fd_rw) < 0)
		return vz_err_set(err, -errno, "%s: cannot export a dumb buffer as DMA-buf: %s",
		                  node, strerror(errno));
	/* Without DRM_RDWR the dma-buf file is O_RDONLY: PROT_WRITE maps of it
	 * fail, which is what fd_ro promises. */
	if (drmPrimeHandleToFD(s->drm_fd, d->handle, DRM_CLOEXEC, &d->fd_ro) < 0)
		return vz_err_set(err, -errno,
		                  "%s: cannot export a read-only DMA-buf of a dumb buffer: %s",
		                  node, strerror(errno));
	struct drm_mode_map_dumb md = {.handle = d->handle};
	if (drmIoctl(s->drm_fd, DRM_IOCTL_MODE_MAP_DUMB, &md) < 0)
		return vz_err_set(err, -errno, "%s: cannot get a map offset for a dumb buffer: %s",
		                  node, strerror(errno));
	void *m = mmap(NULL, d->size, PROT_READ | PROT_WRITE, MAP_SHARED, s->drm_fd,
	               (off_t)md.offset);
	if (m == MAP_FAILED) {
		/* Some drivers only map through the dma-buf itself. */
		m = mmap(NULL, d->size, PROT_READ | PROT_WRITE, MAP_SHARED, d->fd_rw, 0);
		if (m == MAP_FAILED)
			return vz_err_set(err, -errno, "%s: cannot mmap a dumb buffer: %s", node,
			                  strerror(errno));
	}
	d->map = m;
	return 0;
}

static int alloc_on(struct vz_dumb_set *s, const char *node, const uint32_t size[],
                    struct vz_err *err)
{
	s->drm_fd = open(node, O_RDWR | O_CLOEXEC);
	if (s->drm_fd < 0)
		return vz_err_set(err, -errno, "cannot open DRM node %s: %s", node,
		                  strerror(errno));
	for (unsigned i = 0; i < s->count; i++)
		for (unsigned j = 0; j < s->num_mem; j++) {
			int ret = alloc_plane(s, &s->p[i][j], size[j], node, err);
			if (ret < 0)
				return ret;
		}
	return 0;
}

static struct vz_dumb_set *set_new(unsigned count, unsigned num_mem)
{
	struct vz_dumb_set *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->drm_fd = -1;
	s->count = count;
	s->num_mem = num_mem;
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++)
		for (unsigned j = 0; j < VZ_MAX_PLANES; j++)
			s->p[i][j].fd_rw = s->p[i][j].fd_ro = -1;
	return s;
}

int vz_dumb_alloc(struct vz_dumb_set **out, const char *node, unsigned count, unsigned num_mem,
                  const uint32_t size[VZ_MAX_PLANES], struct vz_buffer *bufs, char *node_out,
                  size_t node_len, struct vz_err *err)
{
	*out = NULL;
	if (count == 0 || count > VZ_MAX_BUFFERS || num_mem == 0 || num_mem > VZ_MAX_PLANES)
		return vz_err_set(err, -EINVAL, "dumb buffers: bad count %u or planes %u", count,
		                  num_mem);
	struct vz_dumb_set *s = NULL;
	char path[64];
	int ret = -ENOENT;
	if (node) {
		s = set_new(count, num_mem);
		if (!s)
			return vz_err_set(err, -ENOMEM, "out of memory");
		ret = alloc_on(s, node, size, err);
		snprintf(path, sizeof(path), "%s", node);
	} else {
		/* Render nodes refuse CREATE_DUMB: only card nodes can serve. */
		struct vz_err first = {0};
		for (int n = 0; n < 16 && ret < 0; n++) {
			snprintf(path, sizeof(path), "/dev/dri/card%d", n);
			if (access(path, F_OK) < 0)
				continue;
			vz_dumb_free(s);
			s = set_new(count, num_mem);
			if (!s)
				return vz_err_set(err, -ENOMEM, "out of memory");
			struct vz_err e = {0};
			ret = alloc_on(s, path, size, &e);
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
		vz_dumb_free(s);
		return ret;
	}
	for (unsigned i = 0; i < count; i++) {
		bufs[i].index = i;
		bufs[i].num_mem = num_mem;
		for (unsigned j = 0; j < num_mem; j++) {
			bufs[i].mem[j].fd_rw = s->p[i][j].fd_rw;
			bufs[i].mem[j].fd_ro = s->p[i][j].fd_ro;
			bufs[i].mem[j].map = s->p[i][j].map;
			bufs[i].mem[j].length = s->p[i][j].size;
		}
	}
	if (node_out)
		snprintf(node_out, node_len, "%s", path);
	*out = s;
	return 0;
}
