/* SPDX-License-Identifier: MIT */
/*
 * Frames: one captured picture in one buffer of a buffer set, and its
 * lifetime.
 *
 * A frame is produced by whoever owns the buffers' way back to the driver
 * (the pipeline) and shared by reference counting, wlroots' wlr_buffer
 * style: every holder keeps a reference, the last vz_frame_unref() hands
 * the buffer back, and only then may the driver write into it again.
 *   - A sink receives each pushed frame holding one reference of its own
 *     and gives it back exactly once with vz_port_release() (sink.h): that
 *     is its unref plus the sink's accounting (budget, hold time).
 *   - vz_frame_ref() takes an extra reference, for code that hands the
 *     frame on to something outside the sink contract (a worker thread,
 *     another library); each is dropped with vz_frame_unref().
 * Both are thread-safe.  A frame's fields are read-only for everyone but
 * its producer, and valid while a reference is held.
 *
 * Generations.  f->generation names the buffer set the frame lives in
 * (buffer.h): after a renegotiation or a reconnect, a frame of the old set
 * still carries the old generation and its own fds, so a late release can
 * never requeue the new set's buffer of the same index.
 *
 * CPU view.  vz_frame_map_init() lays a buffer's mappings out plane by
 * plane for code that touches pixels (processors, the stamp reader, tests).
 */
#ifndef VZERO_FRAME_H
#define VZERO_FRAME_H

#include <stdbool.h>
#include <stdint.h>

#include "buffer.h"
#include "errors.h"
#include "format.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where the driver's timestamp was taken, from V4L2_BUF_FLAG_TSTAMP_SRC_*. */
enum vz_ts_source {
	VZ_TS_END_OF_FRAME = 0,
	VZ_TS_START_OF_EXPOSURE = 1,
};

/* What the source learnt when a buffer came out of the driver. */
struct vz_frame_info {
	uint32_t index;      /* buffer index within its set */
	uint32_t sequence;   /* driver's sequence number */
	uint32_t gap;        /* frames the driver skipped just before this one */
	uint32_t v4l2_flags; /* raw v4l2_buffer.flags */
	enum vz_ts_source ts_source;
	bool ts_monotonic;   /* driver clock is CLOCK_MONOTONIC */
	int64_t t_driver_ns; /* driver timestamp */
	int64_t t_dqbuf_ns;  /* CLOCK_MONOTONIC right after DQBUF */
	/* Start of exposure on CLOCK_MONOTONIC, where the source reports it
	 * apart from t_driver_ns (libcamera's SensorTimestamp); 0 if not. */
	int64_t t_sensor_ns;
	uint32_t bytesused[VZ_MAX_PLANES];   /* picture bytes, after data_offset */
	uint32_t data_offset[VZ_MAX_PLANES]; /* where the picture starts in each
	                                        memory plane (multi-planar) */
	/* The driver timestamp jumped (clock wrap, backwards step): the
	 * interval from the previous frame's t_driver_ns is meaningless. */
	bool ts_jump;
	/* Streaming session (0, 1, ... one per STREAMON: restarts, reconnects
	 * and renegotiations start new ones; sequence numbers restart with
	 * them).  discont: the first frame of a session after the first --
	 * there is a hole in time before it. */
	uint32_t session;
	bool discont;
};

struct vz_frame;

struct vz_frame_ops {
	void (*ref)(struct vz_frame *f);
	void (*unref)(struct vz_frame *f);
};

struct vz_frame {
	uint64_t id;         /* 0, 1, 2, ... frames the producer delivered */
	uint32_t generation; /* of the buffer set, == set->generation */
	struct vz_frame_info info;
	const struct vz_buffer *buf;
	const struct vz_format *fmt;
	const struct vz_buffer_set *set;
	const struct vz_frame_ops *ops; /* the producer's; use the calls below */
};

static inline struct vz_frame *vz_frame_ref(struct vz_frame *f)
{
	f->ops->ref(f);
	return f;
}

/* NULL is fine. */
static inline void vz_frame_unref(struct vz_frame *f)
{
	if (f)
		f->ops->unref(f);
}

/* A CPU view of one frame, colour plane by colour plane. */
struct vz_frame_map {
	const struct vz_format *fmt;
	const struct vz_frame_info *info;
	uint8_t *plane[VZ_MAX_PLANES];
	uint32_t stride[VZ_MAX_PLANES];
	uint32_t height[VZ_MAX_PLANES];
};

/* Builds a map from a buffer's CPU mappings. -EINVAL if a plane has none
 * or the layout runs past a plane's end. */
int vz_frame_map_init(struct vz_frame_map *m, const struct vz_format *fmt,
                      const struct vz_buffer *buf, const struct vz_frame_info *info);

#ifdef __cplusplus
}
#endif
#endif
