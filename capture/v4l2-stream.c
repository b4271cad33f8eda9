/* SPDX-License-Identifier: MIT */
/*
 * V4L2 streaming: QBUF/DQBUF, and the faults handled on the way -- sequence
 * gaps, error-flagged and short frames, fatal streaming errors (restart),
 * source-change events -- each counted; only a disconnect and a format
 * change reach the caller.  Every STREAMON starts a session: sequence
 * numbers restart there, so spans are summed per session.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <linux/videodev2.h>

#include "capture.h"
#include "clock.h"
#include "v4l2-internal.h"

int vz_v4l2_qbuf(struct vz_capture *c, unsigned i, struct vz_err *err)
{
	struct v4l2_plane planes[VZ_MAX_PLANES] = {0};
	struct v4l2_buffer b = {.type = c->type, .memory = c->memory, .index = i};
	const struct vz_buffer *vb = &c->set->buf[i];
	bool dmabuf = c->memory == V4L2_MEMORY_DMABUF;
	if (c->mplane) {
		b.m.planes = planes;
		b.length = vb->num_mem;
		for (unsigned p = 0; dmabuf && p < vb->num_mem; p++) {
			planes[p].m.fd = vb->mem[p].fd_rw;
			planes[p].length = (uint32_t)vb->mem[p].length;
		}
	} else if (dmabuf) {
		b.m.fd = vb->mem[0].fd_rw;
		b.length = (uint32_t)vb->mem[0].length;
	}
	int ret = vz_v4l2_xioctl(c, VIDIOC_QBUF, &b);
	if (ret == 0) {
		c->state[i] = VZ_BUF_QUEUED;
		return 0;
	}
	c->state[i] = VZ_BUF_IDLE;
	if (ret == -ENODEV)
		return vz_v4l2_gone_error(c, "VIDIOC_QBUF", err);
	if (dmabuf && ret != -EIO)
		return vz_err_set(
		        err, ret,
		        "%s (%s, driver %s) refused imported DMA-buf %u (fd %d, %zu "
		        "bytes, from %s): VIDIOC_QBUF: %s; the buffer may be too small or "
		        "not physically contiguous for this driver (use --io mmap)",
		        c->path, c->card, c->driver, i, vb->mem[0].fd_rw, vb->mem[0].length,
		        c->set->origin, strerror(-ret));
	return vz_err_set(err, ret, "%s: VIDIOC_QBUF %u failed: %s", c->path, i, strerror(-ret));
}

int vz_capture_start(struct vz_capture *c, struct vz_err *err)
{
	if (c->fd < 0 || c->gone)
		return vz_v4l2_gone_error(c, "start", err);
	if (c->streaming)
		return 0;
	c->streamon_refused = false;
	memset(c->refused, 0, sizeof(c->refused));
	if (!c->set) {
		int ret = vz_capture_alloc(c, NULL, err);
		if (ret < 0)
			return ret;
	}
	for (unsigned i = 0; i < c->nbuf; i++) {
		if (c->state[i] != VZ_BUF_IDLE)
			continue;
		int ret = vz_v4l2_qbuf(c, i, err);
		if (ret < 0)
			return ret;
	}
	uint32_t type = c->type;
	int ret = vz_v4l2_xioctl(c, VIDIOC_STREAMON, &type);
	c->streamon_refused = ret < 0 && ret != -ENODEV;
	if (ret == -ENODEV)
		return vz_v4l2_gone_error(c, "VIDIOC_STREAMON", err);
	if (ret == -EBUSY)
		return vz_v4l2_busy_error(c, "VIDIOC_STREAMON", err);
	if (ret == -EPIPE)
		/* Media-controller drivers validate every link at STREAMON. */
		return vz_err_set(err, ret,
		                  "%s (%s): VIDIOC_STREAMON failed: Broken pipe: the media graph "
		                  "feeding this node sends another format or size than the node "
		                  "captures (link validation failed).  Set the source pad's format "
		                  "to match (`media-ctl -p` shows the graph; `media-ctl -V` sets "
		                  "it)%s",
		                  c->path, c->card,
		                  c->lib ? ", or: libv4l2 chose a source format the graph does "
		                           "not send"
		                         : "");
	if (ret < 0)
		return vz_err_set(err, ret, "%s (%s): VIDIOC_STREAMON failed: %s", c->path, c->card,
		                  strerror(-ret));
	c->streaming = true;
	/* A new session: the driver restarts its counters, so no gap and no
	 * jump across it -- but there is a hole in time after the first. */
	vz_seq_track_reset(&c->track);
	c->next_discont = c->st.sessions > 0;
	c->st.sessions++;
	return 0;
}

int vz_capture_stop(struct vz_capture *c, struct vz_err *err)
{
	if (!c->streaming)
		return 0;
	c->streaming = false;
	for (unsigned i = 0; i < c->nbuf; i++)
		if (c->state[i] == VZ_BUF_QUEUED)
			c->state[i] = VZ_BUF_IDLE;
	if (c->fd < 0 || c->gone)
		return 0;
	uint32_t type = c->type;
	int ret = vz_v4l2_xioctl(c, VIDIOC_STREAMOFF, &type);
	if (ret == -ENODEV)
		return vz_v4l2_gone_error(c, "VIDIOC_STREAMOFF", err);
	if (ret < 0)
		return vz_err_set(err, ret, "%s: VIDIOC_STREAMOFF failed: %s", c->path,
		                  strerror(-ret));
	return 0;
}

/* A driver that refuses one requeue (vivid's "Inject VIDIOC_QBUF Error",
 * a transient lack of memory) must not end a capture that runs for days:
 * the buffer stays ours and the next wakeup offers it again.  A buffer
 * refused at 8 wakeups in a row is no accident, nor is a refusal that
 * leaves the driver no buffer (nothing would wake us to retry): those end
 * the capture with the driver's reason. */
#define QBUF_REFUSALS_IN_A_ROW 8

static int requeue_refused(struct vz_capture *c, unsigned i, int ret, struct vz_err *err)
{
	if (ret == -ENODEV)
		return ret;
	if (ret == -EIO) {
		/* the queue broke meanwhile: the restart requeues the buffer */
		vz_err_clear(err);
		return 0;
	}
	c->st.qbuf_errors++;
	if (++c->refused[i] >= QBUF_REFUSALS_IN_A_ROW)
		return vz_err_prefix(err, "buffer %u refused %u times in a row", i, c->refused[i]);
	if (vz_capture_queued(c) == 0)
		return vz_err_prefix(err, "no buffer left queued in the driver");
	vz_err_clear(err);
	return 0;
}

static int requeue(struct vz_capture *c, unsigned i, struct vz_err *err)
{
	int ret = vz_v4l2_qbuf(c, i, err);
	if (ret < 0)
		return requeue_refused(c, i, ret, err);
	c->refused[i] = 0;
	return 0;
}

/* While streaming, an idle buffer is one whose requeue was refused. */
static int requeue_idle(struct vz_capture *c, struct vz_err *err)
{
	for (unsigned i = 0; i < c->nbuf; i++) {
		if (c->state[i] != VZ_BUF_IDLE)
			continue;
		int ret = requeue(c, i, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* STREAMON that failed after queueing: STREAMOFF gives the buffers back
 * so the next attempt can queue them again. */
static int unqueue_all(struct vz_capture *c, struct vz_err *err)
{
	uint32_t type = c->type;
	int ret = vz_v4l2_xioctl(c, VIDIOC_STREAMOFF, &type);
	if (ret < 0)
		return vz_err_set(err, ret, "%s: VIDIOC_STREAMOFF after a refused STREAMON: %s",
		                  c->path, strerror(-ret));
	for (unsigned i = 0; i < c->nbuf; i++)
		if (c->state[i] == VZ_BUF_QUEUED)
			c->state[i] = VZ_BUF_IDLE;
	return 0;
}

#define RESTART_ATTEMPTS 3

/* Fatal streaming error: the queue refuses everything until STREAMOFF,
 * requeue and STREAMON; buffers the caller holds stay with it.  The
 * STREAMON of a restart is retried: one refusal (vivid's "Inject
 * VIDIOC_STREAMON Error") must not turn a recoverable fault into the
 * end of the run. */
static int restart(struct vz_capture *c, struct vz_err *err)
{
	int ret = vz_capture_stop(c, err);
	if (ret < 0)
		return ret;
	for (int attempt = 1;; attempt++) {
		ret = vz_capture_start(c, err);
		if (ret == 0)
			break;
		/* Only a refused STREAMON is retried: a queue that refuses
		 * buffers or a node gone are not transient. */
		if (!c->streamon_refused || c->gone || attempt == RESTART_ATTEMPTS)
			return vz_err_prefix(err,
			                     "restarting %s after a fatal streaming error (attempt "
			                     "%d of %d)",
			                     c->path, attempt, RESTART_ATTEMPTS);
		c->st.streamon_errors++;
		vz_err_clear(err);
		ret = unqueue_all(c, err);
		if (ret < 0)
			return ret;
	}
	c->st.restarts++;
	return 0;
}

static int drain_events(struct vz_capture *c, struct vz_err *err)
{
	bool changed = false;
	for (int n = 0; n < 64; n++) {
		struct v4l2_event ev;
		memset(&ev, 0, sizeof(ev));
		int ret = vz_v4l2_xioctl(c, VIDIOC_DQEVENT, &ev);
		if (ret == -ENOENT || ret == -EAGAIN || ret == -ENOTTY)
			break;
		if (ret == -ENODEV)
			return vz_v4l2_gone_error(c, "VIDIOC_DQEVENT", err);
		if (ret < 0)
			return vz_err_set(err, ret, "%s: VIDIOC_DQEVENT failed: %s", c->path,
			                  strerror(-ret));
		if (ev.type == V4L2_EVENT_SOURCE_CHANGE &&
		    (ev.u.src_change.changes & V4L2_EVENT_SRC_CH_RESOLUTION))
			changed = true;
	}
	if (!changed)
		return 0;
	c->st.source_changes++;
	return VZ_CAPTURE_FORMAT_CHANGED;
}

static int64_t tv_ns(const struct timeval *tv)
{
	/* Wrapping arithmetic: a wrapped 64-bit timestamp (negative tv_sec) must
	 * give sane differences, never signed-overflow UB. */
	uint64_t ns = (uint64_t)tv->tv_sec * (uint64_t)VZ_NSEC_PER_SEC +
	              (uint64_t)tv->tv_usec * (uint64_t)VZ_NSEC_PER_USEC;
	return (int64_t)ns;
}

int vz_capture_next(struct vz_capture *c, uint32_t revents, struct vz_frame_info *fi,
                    struct vz_err *err)
{
	if (c->fd < 0 || c->gone)
		return vz_v4l2_gone_error(c, "capture", err);
	if (revents & POLLHUP)
		return vz_v4l2_gone_error(c, "capture (POLLHUP)", err);
	if (revents & POLLPRI) {
		int ret = drain_events(c, err);
		if (ret != 0)
			return ret;
	}
	if (!c->streaming)
		return 0;
	int ret = requeue_idle(c, err);
	if (ret < 0)
		return ret;
	if (revents && !(revents & (POLLIN | POLLERR)))
		return 0;

	struct v4l2_plane planes[VZ_MAX_PLANES] = {0};
	struct v4l2_buffer b = {.type = c->type, .memory = c->memory};
	if (c->mplane) {
		b.m.planes = planes;
		b.length = VZ_MAX_PLANES;
	}
	ret = vz_v4l2_xioctl(c, VIDIOC_DQBUF, &b);
	if (ret == -EAGAIN)
		/* POLLERR with nothing to dequeue is the queue's error state. */
		return (revents & POLLERR) ? restart(c, err) : 0;
	if (ret == -EIO)
		return restart(c, err);
	if (ret == -ENODEV)
		return vz_v4l2_gone_error(c, "VIDIOC_DQBUF", err);
	if (ret == -EPIPE)
		return 0;
	if (ret < 0)
		return vz_err_set(err, ret, "%s: VIDIOC_DQBUF failed: %s", c->path, strerror(-ret));
	int64_t now = vz_now_ns();
	if (b.index >= c->nbuf)
		return vz_err_set(err, -EPROTO, "%s: the driver returned buffer %u of %u", c->path,
		                  b.index, c->nbuf);
	c->state[b.index] = VZ_BUF_HELD;

	memset(fi, 0, sizeof(*fi));
	fi->index = b.index;
	fi->sequence = b.sequence;
	fi->v4l2_flags = b.flags;
	fi->ts_monotonic =
	        (b.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) == V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC;
	fi->ts_source = (b.flags & V4L2_BUF_FLAG_TSTAMP_SRC_MASK) == V4L2_BUF_FLAG_TSTAMP_SRC_SOE
	                        ? VZ_TS_START_OF_EXPOSURE
	                        : VZ_TS_END_OF_FRAME;
	fi->t_driver_ns = tv_ns(&b.timestamp);
	fi->t_dqbuf_ns = now;
	fi->session = (uint32_t)(c->st.sessions ? c->st.sessions - 1 : 0);
	uint64_t bytes = 0;
	if (c->mplane) {
		for (unsigned p = 0; p < b.length && p < VZ_MAX_PLANES; p++) {
			uint32_t off = planes[p].data_offset;
			/* The picture starts data_offset bytes into the plane. */
			fi->data_offset[p] = off < planes[p].bytesused ? off : 0;
			fi->bytesused[p] =
			        planes[p].bytesused > off ? planes[p].bytesused - off : 0;
			bytes += fi->bytesused[p];
		}
	} else {
		fi->bytesused[0] = b.bytesused;
		bytes = b.bytesused;
	}
	vz_seq_track_frame(&c->track, &c->st, vz_format_interval_ns(&c->fmt), fi);

	bool torn = !(b.flags & V4L2_BUF_FLAG_ERROR) && !c->emulated && vz_frame_short(&c->fmt, fi);
	if ((b.flags & V4L2_BUF_FLAG_ERROR) || torn) {
		c->st.error_frames++;
		if (torn)
			c->st.short_frames++;
		return requeue(c, b.index, err);
	}
	c->refused[b.index] = 0;
	fi->discont = c->next_discont;
	c->next_discont = false;
	c->st.frames++;
	if (c->emulated)
		c->st.bytes_copied += bytes;
	return 1;
}

int vz_capture_queue(struct vz_capture *c, uint32_t generation, unsigned index, struct vz_err *err)
{
	if (!c->set || generation != c->set->generation) {
		/* A buffer of a retired set: nothing to give back to. */
		c->st.stale_queues++;
		return 0;
	}
	if (index >= c->nbuf || c->state[index] != VZ_BUF_HELD)
		return vz_err_set(err, -EINVAL, "%s: buffer %u is not held by the caller", c->path,
		                  index);
	if (!c->streaming || c->fd < 0 || c->gone) {
		c->state[index] = VZ_BUF_IDLE;
		return 0;
	}
	return requeue(c, index, err);
}

unsigned vz_capture_queued(const struct vz_capture *c)
{
	unsigned n = 0;
	for (unsigned i = 0; i < c->nbuf; i++)
		n += c->state[i] == VZ_BUF_QUEUED;
	return n;
}
