/* SPDX-License-Identifier: MIT */
/*
 * V4L2 buffer sets: the capture's own (MMAP, exported twice per plane and
 * mapped through the read-write DMA-buf), a provider's (DMA-buf import at the
 * provider's pitch), or dumb buffers the capture imports itself.  Whichever
 * it is, the set is reference counted (buffer.h) and never maps through the
 * device node, so it outlives the device: frames held across an unplug stay
 * readable, and the node can come back meanwhile.  libv4l2's conversion
 * buffers are the one exception: they live in libv4l2's memory, so that set
 * keeps the device open until it goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "capture.h"
#include "v4l2-internal.h"
#include "vz-config.h"

#if VZ_HAVE_LIBV4L2
#include <libv4l2.h>
#endif

struct cap_set {
	struct vz_buffer_set base;
	struct vz_v4l2_dev *dev; /* libv4l2 sets only */
};

static void cap_set_destroy(struct vz_buffer_set *s)
{
	struct cap_set *cs = (struct cap_set *)s;
#if VZ_HAVE_LIBV4L2
	if (cs->dev && cs->dev->lib) {
		for (unsigned i = 0; i < s->count; i++)
			for (unsigned p = 0; p < s->buf[i].num_mem; p++)
				if (s->buf[i].mem[p].map)
					v4l2_munmap(s->buf[i].mem[p].map, s->buf[i].mem[p].length);
		for (unsigned i = 0; i < s->count; i++)
			for (unsigned p = 0; p < s->buf[i].num_mem; p++)
				s->buf[i].mem[p].map = NULL;
	}
#endif
	vz_buffer_set_release_memory(s);
	vz_v4l2_dev_unref(cs->dev);
	free(cs);
}

static const struct vz_buffer_set_ops cap_set_ops = {
        .destroy = cap_set_destroy,
};

static int expbuf(struct vz_capture *c, unsigned i, unsigned p, int flags, int *out,
                  struct vz_err *err)
{
	struct v4l2_exportbuffer e = {.type = c->type, .index = i, .plane = p, .flags = flags};
	int ret = vz_v4l2_xioctl(c, VIDIOC_EXPBUF, &e);
	if (ret < 0)
		return vz_err_set(err, ret,
		                  "%s (%s, driver %s): cannot export buffer %u plane %u as DMA-buf "
		                  "(VIDIOC_EXPBUF: %s); the driver lacks DMA-buf export",
		                  c->path, c->card, c->driver, i, p, strerror(-ret));
	*out = e.fd;
	return 0;
}

static int map_mmap_buffer(struct vz_capture *c, struct cap_set *cs, unsigned i, struct vz_err *err)
{
	struct v4l2_plane planes[VZ_MAX_PLANES] = {0};
	struct v4l2_buffer b = {.type = c->type, .memory = V4L2_MEMORY_MMAP, .index = i};
	if (c->mplane) {
		b.m.planes = planes;
		b.length = VZ_MAX_PLANES;
	}
	int ret = vz_v4l2_xioctl(c, VIDIOC_QUERYBUF, &b);
	if (ret < 0)
		return vz_err_set(err, ret, "%s: VIDIOC_QUERYBUF %u failed: %s", c->path, i,
		                  strerror(-ret));
	unsigned n = c->mplane ? b.length : 1;
	if (n == 0 || n > VZ_MAX_PLANES)
		return vz_err_set(err, -EINVAL, "%s: buffer %u has %u planes (max %d)", c->path, i,
		                  n, VZ_MAX_PLANES);
	struct vz_buffer *vb = &cs->base.buf[i];
	vb->index = i;
	vb->num_mem = n;
	for (unsigned p = 0; p < n; p++) {
		size_t len = c->mplane ? planes[p].length : b.length;
		vb->mem[p].length = len;
#if VZ_HAVE_LIBV4L2
		if (c->emulated) {
			/* Converted frames live in libv4l2's memory: nothing to
			 * export, and it hands them out for this offset only
			 * with plain MAP_SHARED on its fd. */
			off_t off = c->mplane ? planes[p].m.mem_offset : b.m.offset;
			void *m = v4l2_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd,
			                    off);
			if (m == MAP_FAILED)
				return vz_err_set(err, -errno,
				                  "%s: cannot map libv4l2 buffer %u plane %u: %s",
				                  c->path, i, p, strerror(errno));
			vb->mem[p].map = m;
			continue;
		}
#endif
		ret = expbuf(c, i, p, O_RDWR | O_CLOEXEC, &vb->mem[p].fd_rw, err);
		if (ret < 0)
			return ret;
		ret = expbuf(c, i, p, O_RDONLY | O_CLOEXEC, &vb->mem[p].fd_ro, err);
		if (ret < 0)
			return ret;
		/* Through the DMA-buf, not the node: the mapping must not keep
		 * a vanished device's node from coming back. */
		void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		               vb->mem[p].fd_rw, 0);
		if (m == MAP_FAILED)
			return vz_err_set(
			        err, -errno,
			        "%s (driver %s): cannot mmap the DMA-buf of buffer %u plane "
			        "%u: %s",
			        c->path, c->driver, i, p, strerror(errno));
		vb->mem[p].map = m;
	}
	return 0;
}

static int own_mmap_set(struct vz_capture *c, unsigned n, struct vz_buffer_set **out,
                        struct vz_err *err)
{
	struct cap_set *cs = calloc(1, sizeof(*cs));
	if (!cs)
		return vz_err_set(err, -ENOMEM, "out of memory");
	vz_buffer_set_init(&cs->base, &cap_set_ops);
	if (c->emulated) {
		cs->dev = c->dev;
		__atomic_add_fetch(&cs->dev->refs, 1, __ATOMIC_ACQ_REL);
	}
	cs->base.count = n;
	for (unsigned i = 0; i < n; i++) {
		int ret = map_mmap_buffer(c, cs, i, err);
		if (ret < 0) {
			vz_buffer_set_unref(&cs->base);
			return ret;
		}
	}
	if (c->emulated)
		snprintf(cs->base.origin, sizeof(cs->base.origin),
		         "libv4l2 conversion buffers (CPU copies, not exported)");
	else
		snprintf(cs->base.origin, sizeof(cs->base.origin),
		         "driver MMAP buffers of %.64s, exported as DMA-bufs (rw + ro)", c->path);
	*out = &cs->base;
	return 0;
}

/* The provider's layout must be the negotiated format at its own pitch. */
static int check_provided(struct vz_capture *c, const struct vz_buffer_set *pv,
                          uint32_t stride[VZ_MAX_PLANES], struct vz_err *err)
{
	char a[5], b[5];
	const struct vz_format *pf = &pv->fmt;
	if (c->lib)
		return vz_err_set(err, -ENOTSUP,
		                  "--libv4l2 converts into its own memory and cannot fill "
		                  "provided DMA-bufs");
	if (pf->fourcc != c->fmt.fourcc || pf->width != c->fmt.width ||
	    pf->height != c->fmt.height || pf->num_mem != c->fmt.num_mem)
		return vz_err_set(err, -EINVAL,
		                  "the provider laid out %s %ux%u in %u plane(s), capture "
		                  "negotiated %s %ux%u in %u",
		                  vz_fourcc_str(pf->fourcc, a), pf->width, pf->height, pf->num_mem,
		                  vz_fourcc_str(c->fmt.fourcc, b), c->fmt.width, c->fmt.height,
		                  c->fmt.num_mem);
	if (pv->count == 0 || pv->count > VZ_MAX_BUFFERS)
		return vz_err_set(err, -EINVAL, "the provider offered %u buffers (1 to %d)",
		                  pv->count, VZ_MAX_BUFFERS);
	memset(stride, 0, VZ_MAX_PLANES * sizeof(stride[0]));
	/* The pitch of each memory plane is that of its first colour plane. */
	for (int p = (int)pf->num_planes - 1; p >= 0; p--)
		if (pf->plane[p].mem < VZ_MAX_PLANES)
			stride[pf->plane[p].mem] = pf->plane[p].stride;
	for (unsigned i = 0; i < pv->count; i++)
		for (unsigned p = 0; p < pf->num_mem; p++)
			if (pv->buf[i].num_mem != pf->num_mem || pv->buf[i].mem[p].fd_rw < 0)
				return vz_err_set(err, -EINVAL,
				                  "the provider's buffer %u plane %u has no "
				                  "read-write DMA-buf",
				                  i, p);
	return 0;
}

static int check_sizes(struct vz_capture *c, const struct vz_buffer_set *s, struct vz_err *err)
{
	for (unsigned i = 0; i < s->count; i++)
		for (unsigned p = 0; p < c->fmt.num_mem; p++)
			if (s->buf[i].mem[p].length < c->fmt.mem_size[p])
				return vz_err_set(
				        err, -EINVAL,
				        "import buffer %u plane %u (%zu bytes) cannot hold "
				        "the %u bytes %s needs per frame",
				        i, p, s->buf[i].mem[p].length, c->fmt.mem_size[p], c->path);
	return 0;
}

int vz_v4l2_buffers_alloc(struct vz_capture *c, struct vz_buffer_set *provided, struct vz_err *err)
{
	struct vz_buffer_set *set = NULL;
	uint32_t stride[VZ_MAX_PLANES];
	int ret;

	if (c->set)
		return vz_err_set(err, -EBUSY, "%s: buffers are allocated already", c->path);
	if (c->fd < 0 || c->gone)
		return vz_v4l2_gone_error(c, "buffer allocation", err);
	c->alloc_note[0] = '\0';
	bool import = provided || c->cfg.io == VZ_IO_DMABUF_IMPORT;
	unsigned want = c->cfg.buffers ? c->cfg.buffers : VZ_CAPTURE_DEFAULT_BUFFERS;
	if (provided) {
		struct vz_err e = {0};
		ret = check_provided(c, provided, stride, &e);
		if (ret == 0)
			ret = vz_v4l2_negotiate(c, c->fmt.fourcc, c->fmt.width, c->fmt.height,
			                        stride, &e);
		if (ret == 0)
			ret = check_sizes(c, provided, &e);
		if (ret < 0) {
			/* c->fmt is whatever the driver last agreed to, so an
			 * allocation of our own can follow. */
			snprintf(c->alloc_note, sizeof(c->alloc_note), "%s", e.msg);
			return vz_err_set(err, ret, "%s", e.msg);
		}
		want = provided->count;
	}
	if (want == 0 || want > VZ_MAX_BUFFERS)
		return vz_err_set(err, -EINVAL, "%u buffers asked for: use 1 to %d", want,
		                  VZ_MAX_BUFFERS);
	if (import && c->lib)
		return vz_err_set(err, -EINVAL,
		                  "--libv4l2 converts into its own memory and cannot fill "
		                  "imported DMA-bufs: use --io mmap with --libv4l2");
	c->memory = import ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_MMAP;
	struct v4l2_requestbuffers rb = {.count = want, .type = c->type, .memory = c->memory};
	ret = vz_v4l2_xioctl(c, VIDIOC_REQBUFS, &rb);
	if (ret == -EBUSY && c->old_set_busy)
		return vz_err_set(err, ret,
		                  "%s (driver %s) cannot free its old buffers while frames of them "
		                  "are still held (it does not orphan buffers), so it cannot take "
		                  "a new format mid-stream: restart the capture after a format "
		                  "change",
		                  c->path, c->driver);
	if (ret == -EBUSY)
		return vz_v4l2_busy_error(c, "VIDIOC_REQBUFS", err);
	if (ret == -EINVAL && import)
		return vz_err_set(err, ret,
		                  "%s (%s, driver %s) cannot import DMA-bufs (VIDIOC_REQBUFS "
		                  "V4L2_MEMORY_DMABUF: %s): use --io mmap",
		                  c->path, c->card, c->driver, strerror(-ret));
	if (ret < 0)
		return vz_err_set(err, ret, "%s: VIDIOC_REQBUFS %u %s buffers failed: %s", c->path,
		                  want, import ? "DMABUF" : "MMAP", strerror(-ret));
	if (rb.count == 0)
		return vz_err_set(err, -ENOMEM, "%s: the driver granted no buffers (asked %u)",
		                  c->path, want);
	/* What the driver grants is what there is: more than asked (its
	 * minimum) or fewer (its maximum).  Imports are bounded by what the
	 * provider made. */
	unsigned n = rb.count > VZ_MAX_BUFFERS ? VZ_MAX_BUFFERS : rb.count;
	if (provided && n > provided->count)
		n = provided->count;

	if (provided) {
		set = vz_buffer_set_ref(provided);
	} else if (import) {
		ret = vz_dumb_set_create(&set, c->drm_node, &c->fmt, n, err);
		if (ret < 0) {
			vz_err_prefix(err, "allocating %u import buffers for %s", n, c->path);
			goto fail;
		}
	} else {
		ret = own_mmap_set(c, n, &set, err);
		if (ret < 0)
			goto fail;
	}
	ret = check_sizes(c, set, err);
	if (ret < 0)
		goto fail;
	set->fmt = c->fmt;
	set->generation = ++c->generation;
	c->set = set;
	c->nbuf = n;
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++)
		c->state[i] = VZ_BUF_IDLE;
	return 0;
fail:
	vz_buffer_set_unref(set);
	rb.count = 0;
	vz_v4l2_xioctl(c, VIDIOC_REQBUFS, &rb);
	return ret;
}

void vz_v4l2_buffers_retire(struct vz_capture *c)
{
	vz_buffer_set_unref(c->set);
	c->set = NULL;
	c->old_set_busy = false;
	if (c->nbuf && c->fd >= 0 && !c->gone) {
		/* Buffers still exported or mapped are orphaned by videobuf2
		 * (V4L2_BUF_CAP_SUPPORTS_ORPHANED_BUFS), not freed: the frames
		 * that hold them stay valid.  A driver without that refuses. */
		struct v4l2_requestbuffers rb = {.count = 0, .type = c->type, .memory = c->memory};
		c->old_set_busy = vz_v4l2_xioctl(c, VIDIOC_REQBUFS, &rb) == -EBUSY;
	}
	c->nbuf = 0;
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++)
		c->state[i] = VZ_BUF_IDLE;
}
