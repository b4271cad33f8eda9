/* SPDX-License-Identifier: MIT */
/*
 * The V4L2 capture object: opening and closing the node, recovery from a
 * disconnect (one quick attempt per call, never a sleep) and from a source
 * change, and the vz_source view the pipeline drives.  Formats are in
 * v4l2-negotiate.c, buffers in v4l2-buffers.c, streaming in v4l2-stream.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "capture.h"
#include "v4l2-internal.h"
#include "vz-config.h"

#if VZ_HAVE_LIBV4L2
#include <libv4l2.h>
#endif

int vz_v4l2_xioctl(const struct vz_capture *c, unsigned long req, void *arg)
{
	int r;
	do {
#if VZ_HAVE_LIBV4L2
		if (c->lib)
			r = v4l2_ioctl(c->fd, req, arg);
		else
#endif
			r = ioctl(c->fd, req, arg);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

int vz_v4l2_busy_error(const struct vz_capture *c, const char *what, struct vz_err *err)
{
	return vz_err_set(err, -EBUSY,
	                  "%s (%s) is in use by another process (%s: device busy); find it with "
	                  "`fuser %s` and stop it, or pick another device",
	                  c->path, c->card, what, c->path);
}

int vz_v4l2_gone_error(struct vz_capture *c, const char *what, struct vz_err *err)
{
	if (!c->gone) {
		c->gone = true;
		c->st.disconnects++;
	}
	return vz_err_set(err, -ENODEV,
	                  "%s (%s, %s) disconnected during %s: the device is gone (unplugged or "
	                  "driver unbound); reconnect to resume (vzero: --reconnect[=SECONDS])",
	                  c->path, c->card, c->bus_info, what);
}

void vz_v4l2_dev_unref(struct vz_v4l2_dev *d)
{
	if (!d || __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
#if VZ_HAVE_LIBV4L2
	if (d->lib)
		v4l2_close(d->fd);
	else
#endif
		close(d->fd);
	free(d);
}

static int open_error(const char *path, int e, struct vz_err *err)
{
	struct stat st;
	if ((e == EACCES || e == EPERM) && stat(path, &st) == 0)
		return vz_node_permission_error(path, &st, e, err);
	return vz_err_set(err, -e, "cannot open %s: %s", path, strerror(e));
}

/* ---- opening ---- */

static int dev_open(struct vz_capture *c, const char *path, struct vz_err *err)
{
	snprintf(c->path, sizeof(c->path), "%s", path);
	int flags = O_RDWR | O_CLOEXEC | (c->cfg.blocking ? 0 : O_NONBLOCK);
	int fd = open(path, flags);
	if (fd < 0)
		return open_error(path, errno, err);
	c->dev = calloc(1, sizeof(*c->dev));
	if (!c->dev) {
		close(fd);
		return vz_err_set(err, -ENOMEM, "out of memory");
	}
	c->dev->refs = 1;
	c->dev->fd = fd;
	c->fd = fd;
	if (c->cfg.libv4l2) {
#if VZ_HAVE_LIBV4L2
		if (v4l2_fd_open(fd, 0) < 0)
			return vz_err_set(err, -errno, "libv4l2 cannot take over %s: %s", path,
			                  strerror(errno));
		c->lib = c->dev->lib = true;
#else
		return vz_err_set(
		        err, -ENOTSUP,
		        "vzero was built without libv4l2: install libv4l-dev and "
		        "rebuild (meson -Dlibv4l2=enabled), or capture without --libv4l2");
#endif
	}

	struct v4l2_capability cap = {0};
	int ret = vz_v4l2_xioctl(c, VIDIOC_QUERYCAP, &cap);
	if (ret == -ENOTTY)
		return vz_err_set(err, ret, "%s is not a V4L2 device (VIDIOC_QUERYCAP: %s)", path,
		                  strerror(-ret));
	if (ret < 0)
		return vz_err_set(err, ret, "%s: VIDIOC_QUERYCAP failed: %s", path, strerror(-ret));
	snprintf(c->card, sizeof(c->card), "%s", (const char *)cap.card);
	snprintf(c->driver, sizeof(c->driver), "%s", (const char *)cap.driver);
	snprintf(c->bus_info, sizeof(c->bus_info), "%s", (const char *)cap.bus_info);
	uint32_t caps =
	        (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
	enum vz_node_kind kind = vz_node_classify(caps);
	if (kind != VZ_NODE_CAPTURE)
		return vz_err_set(err, -ENODEV,
		                  "%s (%s) is a %s node, not video capture: pick a capture node "
		                  "(`vzero devices` lists them)",
		                  path, c->card, vz_node_kind_name(kind));
	c->mplane = !(caps & V4L2_CAP_VIDEO_CAPTURE);
	c->type = c->mplane ? V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE : V4L2_BUF_TYPE_VIDEO_CAPTURE;
	if (!(caps & V4L2_CAP_STREAMING))
		return vz_err_set(err, -ENOTSUP,
		                  "%s (%s) cannot stream (no V4L2_CAP_STREAMING; read() only): "
		                  "vzero needs streaming I/O",
		                  path, c->card);
	return 0;
}

/* Closes the node: streaming stops, the set is retired (frames held keep
 * theirs), the fd goes unless a libv4l2 set still maps through it. */
static void teardown(struct vz_capture *c)
{
	if (c->streaming && c->fd >= 0 && !c->gone) {
		uint32_t type = c->type;
		vz_v4l2_xioctl(c, VIDIOC_STREAMOFF, &type);
	}
	c->streaming = false;
	vz_v4l2_buffers_retire(c);
	vz_v4l2_dev_unref(c->dev);
	c->dev = NULL;
	c->fd = -1;
	c->lib = false;
	c->emulated = false;
}

static int setup(struct vz_capture *c, const char *path, struct vz_err *err)
{
	int ret = dev_open(c, path, err);
	if (ret < 0)
		return ret;
	ret = vz_v4l2_negotiate(c, c->cfg.fourcc, c->cfg.width, c->cfg.height, NULL, err);
	if (ret < 0)
		return ret;
	struct v4l2_event_subscription sub = {.type = V4L2_EVENT_SOURCE_CHANGE};
	ret = vz_v4l2_xioctl(c, VIDIOC_SUBSCRIBE_EVENT, &sub);
	if (ret < 0 && ret != -ENOTTY && ret != -EINVAL)
		return vz_err_set(err, ret, "%s: cannot subscribe to source-change events: %s",
		                  c->path, strerror(-ret));
	return 0;
}

static char *dup_or_null(const char *s, bool *fail)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*fail = true;
	return d;
}

void vz_capture_close(struct vz_capture *c)
{
	if (!c)
		return;
	teardown(c);
	free(c->selector);
	free(c->drm_node);
	free(c);
}

int vz_capture_open(struct vz_capture **out, const struct vz_capture_config *cfg,
                    struct vz_err *err)
{
	*out = NULL;
	if (!cfg || !cfg->device || !cfg->device[0])
		return vz_err_set(err, -EINVAL, "no capture device given (e.g. -d /dev/video0)");
	if (cfg->io != VZ_IO_MMAP && cfg->io != VZ_IO_DMABUF_IMPORT)
		return vz_err_set(err, -EINVAL, "unknown I/O mode %d", (int)cfg->io);
	if ((cfg->fps_num == 0) != (cfg->fps_den == 0))
		return vz_err_set(err, -EINVAL, "frame rate %u/%u is not a rate", cfg->fps_num,
		                  cfg->fps_den);
	if (cfg->buffers > VZ_MAX_BUFFERS)
		return vz_err_set(err, -EINVAL, "%u buffers asked for: use 1 to %d", cfg->buffers,
		                  VZ_MAX_BUFFERS);

	struct vz_capture *c = calloc(1, sizeof(*c));
	if (!c)
		return vz_err_set(err, -ENOMEM, "out of memory");
	c->fd = -1;
	c->cfg = *cfg;
	bool fail = false;
	c->selector = dup_or_null(cfg->device, &fail);
	c->drm_node = dup_or_null(cfg->import_drm_node, &fail);
	c->cfg.device = c->selector;
	c->cfg.import_drm_node = c->drm_node;
	int ret;
	if (fail) {
		ret = vz_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}

	char path[512];
	ret = vz_device_resolve(c->selector, path, sizeof(path), err);
	if (ret < 0)
		goto fail;
	ret = setup(c, path, err);
	if (ret < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	vz_capture_close(c);
	return ret;
}

int vz_capture_alloc(struct vz_capture *c, struct vz_buffer_set *provided, struct vz_err *err)
{
	return vz_v4l2_buffers_alloc(c, provided, err);
}

/* ---- recovery ---- */

void vz_capture_release_device(struct vz_capture *c)
{
	/* Drivers (vivid among them) bring a vanished node back only after
	 * its last close; our sets never map through it. */
	teardown(c);
	c->gone = true;
}

int vz_capture_reconnect(struct vz_capture *c, struct vz_err *err)
{
	char path[512], card[33], bus[33];
	if (c->fd >= 0 && !c->gone)
		return 0;
	if (c->fd >= 0)
		vz_capture_release_device(c);
	if (!vz_node_find(c->bus_info, c->card, path, sizeof(path)))
		return -EAGAIN;
	snprintf(card, sizeof(card), "%s", c->card);
	snprintf(bus, sizeof(bus), "%s", c->bus_info);
	c->gone = false;
	struct vz_err e = {0};
	int ret = setup(c, path, &e);
	if (ret < 0) {
		teardown(c);
		c->gone = true;
		/* Looked for again next time under the same identity, however
		 * far the failed open got. */
		snprintf(c->card, sizeof(c->card), "%s", card);
		snprintf(c->bus_info, sizeof(c->bus_info), "%s", bus);
		return vz_err_set(err, ret, "reconnecting to %s (%s, %s): %s", path, card, bus,
		                  e.msg);
	}
	c->st.reconnects++;
	return 0;
}

int vz_capture_renegotiate(struct vz_capture *c, struct vz_err *err)
{
	if (c->fd < 0 || c->gone)
		return vz_v4l2_gone_error(c, "renegotiation", err);
	int ret = vz_capture_stop(c, err);
	if (ret < 0)
		return ret;
	vz_v4l2_buffers_retire(c);
	/* The source decides the new size; keep the fourcc and rate asked for. */
	ret = vz_v4l2_negotiate(c, c->cfg.fourcc, 0, 0, NULL, err);
	if (ret < 0)
		return vz_err_prefix(err, "after a source change on %s", c->path);
	return 0;
}

/* ---- accessors ---- */

int vz_capture_fd(const struct vz_capture *c)
{
	return c->fd;
}

const struct vz_format *vz_capture_format(const struct vz_capture *c)
{
	return &c->fmt;
}

struct vz_buffer_set *vz_capture_buffers(const struct vz_capture *c)
{
	return c->set;
}

unsigned vz_capture_buffers_wanted(const struct vz_capture *c)
{
	return c->cfg.buffers ? c->cfg.buffers : VZ_CAPTURE_DEFAULT_BUFFERS;
}

const char *vz_capture_alloc_note(const struct vz_capture *c)
{
	return c->alloc_note;
}

void vz_capture_get_stats(const struct vz_capture *c, struct vz_source_stats *out)
{
	*out = c->st;
}

const char *vz_capture_path(const struct vz_capture *c)
{
	return c->path;
}

const char *vz_capture_card(const struct vz_capture *c)
{
	return c->card;
}

const char *vz_capture_driver(const struct vz_capture *c)
{
	return c->driver;
}

/* ---- the source view ---- */

static int src_fd(void *impl)
{
	return vz_capture_fd(impl);
}

static const struct vz_format *src_format(void *impl)
{
	return vz_capture_format(impl);
}

static unsigned src_buffers_wanted(void *impl)
{
	return vz_capture_buffers_wanted(impl);
}

static int src_alloc(void *impl, struct vz_buffer_set *provided, struct vz_err *err)
{
	return vz_capture_alloc(impl, provided, err);
}

static struct vz_buffer_set *src_buffers(void *impl)
{
	return vz_capture_buffers(impl);
}

static int src_start(void *impl, struct vz_err *err)
{
	return vz_capture_start(impl, err);
}

static int src_stop(void *impl, struct vz_err *err)
{
	return vz_capture_stop(impl, err);
}

static int src_next(void *impl, uint32_t revents, struct vz_frame_info *fi, struct vz_err *err)
{
	return vz_capture_next(impl, revents, fi, err);
}

static int src_queue(void *impl, uint32_t generation, unsigned index, struct vz_err *err)
{
	return vz_capture_queue(impl, generation, index, err);
}

static unsigned src_queued(void *impl)
{
	return vz_capture_queued(impl);
}

static void src_release_device(void *impl)
{
	vz_capture_release_device(impl);
}

static int src_reconnect(void *impl, struct vz_err *err)
{
	return vz_capture_reconnect(impl, err);
}

static int src_renegotiate(void *impl, struct vz_err *err)
{
	return vz_capture_renegotiate(impl, err);
}

static void src_stats(void *impl, struct vz_source_stats *out)
{
	vz_capture_get_stats(impl, out);
}

static const struct vz_source_ops v4l2_source_ops = {
        .name = "v4l2",
        .fd = src_fd,
        .format = src_format,
        .buffers_wanted = src_buffers_wanted,
        .alloc = src_alloc,
        .buffers = src_buffers,
        .start = src_start,
        .stop = src_stop,
        .next = src_next,
        .queue = src_queue,
        .queued = src_queued,
        .release_device = src_release_device,
        .reconnect = src_reconnect,
        .renegotiate = src_renegotiate,
        .stats = src_stats,
};

struct vz_source vz_capture_source(struct vz_capture *c)
{
	struct vz_source s = {.ops = &v4l2_source_ops, .impl = c};
	return s;
}
