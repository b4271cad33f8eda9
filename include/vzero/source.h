/* SPDX-License-Identifier: MIT */
/*
 * The source contract: what a capture backend (V4L2, libcamera) gives
 * whoever runs it (the pipeline).  A source negotiates a format, allocates
 * or imports a buffer set for it, streams, and hands out buffers one at a
 * time by index; it never blocks, so the caller's loop stays responsive.
 *
 * The steps, in order:
 *   open (backend-specific)  -> format() is the negotiated format
 *   alloc(provided)          -> buffers() is a new set, generation + 1;
 *                               @provided: a sink's buffers to import into
 *                               (NULL: the source allocates its own)
 *   start / next / queue     -> streaming; next() returns frame by frame
 *   stop
 * Faults the source cannot handle itself reach the caller:
 *   -ENODEV from next(): the device is gone.  release_device() lets go of
 *     it (fds, current set: frames still held keep the old set alive), then
 *     reconnect() is tried again and again -- each call one quick attempt:
 *     0 when the device is back and negotiated (alloc() next), -EAGAIN
 *     while it is not, another negative errno when it never will be.
 *   VZ_SOURCE_FORMAT_CHANGED from next(): the source changed format.
 *     renegotiate() stops streaming, retires the current set and
 *     negotiates the new format (alloc() next).
 * Buffers held across either keep their own set and generation; queue() of
 * an old generation's buffer is accepted and forgets it.
 *
 * Threading: one thread (the caller's loop) makes every call.
 */
#ifndef VZERO_SOURCE_H
#define VZERO_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "buffer.h"
#include "errors.h"
#include "format.h"
#include "frame.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VZ_SOURCE_FORMAT_CHANGED 2

struct vz_source_stats {
	uint64_t frames;         /* good frames delivered */
	uint64_t driver_drops;   /* missing sequence numbers */
	uint64_t error_frames;   /* V4L2_BUF_FLAG_ERROR or short: requeued, never
	                            delivered */
	uint64_t short_frames;   /* ... of which bytesused fell short of the layout */
	uint64_t restarts;       /* recoveries from fatal streaming errors */
	uint64_t disconnects;    /* device vanished */
	uint64_t reconnects;     /* ... and came back */
	uint64_t source_changes; /* V4L2_EVENT_SOURCE_CHANGE handled */
	uint64_t seq_wraps;      /* sequence number wrapped */
	uint64_t ts_jumps;       /* driver timestamp went backwards / jumped */
	uint64_t bytes_copied;   /* CPU copies (libv4l2 conversion only) */
	/* Accounting across streaming sessions (one per STREAMON): the
	 * driver's sequence numbers each session spanned, summed.  frames +
	 * driver_drops + error_frames == seq_span, whatever happened. */
	uint64_t sessions;
	uint64_t seq_span;
	uint64_t stale_queues; /* buffers of a retired set given back */
	/* Refusals the driver got over: a requeue (VIDIOC_QBUF) retried on
	 * the next wakeup, a restart's STREAMON retried after STREAMOFF. */
	uint64_t qbuf_errors;
	uint64_t streamon_errors;
};

struct vz_source_ops {
	const char *name; /* "v4l2", ... */
	/* The fd to poll (EPOLLIN frames, EPOLLPRI events, EPOLLERR/HUP
	 * faults); -1 while the device is gone.  Changes after reconnect(). */
	int (*fd)(void *impl);
	const struct vz_format *(*format)(void *impl);
	/* How many buffers alloc() will want, for a provider to make. */
	unsigned (*buffers_wanted)(void *impl);
	int (*alloc)(void *impl, struct vz_buffer_set *provided, struct vz_err *err);
	struct vz_buffer_set *(*buffers)(void *impl); /* current set, NULL if none */
	int (*start)(void *impl, struct vz_err *err);
	int (*stop)(void *impl, struct vz_err *err);
	/* 1 a good frame (*fi filled; the buffer is the caller's until
	 * queue()), 0 nothing to deliver, VZ_SOURCE_FORMAT_CHANGED, or < 0
	 * (-ENODEV: gone).  @revents as poll reported them, 0 "just try". */
	int (*next)(void *impl, uint32_t revents, struct vz_frame_info *fi, struct vz_err *err);
	int (*queue)(void *impl, uint32_t generation, unsigned index, struct vz_err *err);
	unsigned (*queued)(void *impl); /* buffers in the driver now */
	void (*release_device)(void *impl);
	int (*reconnect)(void *impl, struct vz_err *err);
	int (*renegotiate)(void *impl, struct vz_err *err);
	void (*stats)(void *impl, struct vz_source_stats *out);
};

struct vz_source {
	const struct vz_source_ops *ops;
	void *impl;
};

#ifdef __cplusplus
}
#endif
#endif
