/* SPDX-License-Identifier: MIT */
/* The V4L2 capture seen through the backend-neutral vz_source table. */
#include "capture.h"

static int src_fd(void *impl)
{
	return vz_capture_fd(impl);
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

static int src_queue(void *impl, unsigned index, struct vz_err *err)
{
	return vz_capture_queue(impl, index, err);
}

static unsigned src_queued(void *impl)
{
	return vz_capture_queued(impl);
}

static int src_reconnect(void *impl, int timeout_ms, struct vz_err *err)
{
	return vz_capture_reconnect(impl, timeout_ms, err);
}

static int src_renegotiate(void *impl, struct vz_err *err)
{
	return vz_capture_renegotiate(impl, err);
}

static const struct vz_format *src_format(void *impl)
{
	return vz_capture_format(impl);
}

static unsigned src_buffer_count(void *impl)
{
	return vz_capture_buffer_count(impl);
}

static const struct vz_buffer *src_buffer(void *impl, unsigned index)
{
	return vz_capture_buffer(impl, index);
}

static void src_stats(void *impl, struct vz_capture_stats *out)
{
	vz_capture_get_stats(impl, out);
}

static const struct vz_source_ops v4l2_source_ops = {
        .name = "v4l2",
        .fd = src_fd,
        .start = src_start,
        .stop = src_stop,
        .next = src_next,
        .queue = src_queue,
        .queued = src_queued,
        .reconnect = src_reconnect,
        .renegotiate = src_renegotiate,
        .format = src_format,
        .buffer_count = src_buffer_count,
        .buffer = src_buffer,
        .stats = src_stats,
};

struct vz_source vz_capture_source(struct vz_capture *c)
{
	struct vz_source s = {.ops = &v4l2_source_ops, .impl = c};
	return s;
}
