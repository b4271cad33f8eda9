/* SPDX-License-Identifier: MIT */
/*
 * The pipeline: joins one source (source.h) to its sinks (sink.h) on one
 * event loop, owns every frame while it is out of the driver, runs in-place
 * processors, and records each frame's journey (telemetry.h).
 *
 * Ownership.  Each buffer the source hands out becomes one frame (frame.h)
 * with a reference count: one for the pipeline while processors run, one per
 * sink it is pushed to, one per vz_frame_ref().  Only when the last goes
 * does the buffer return to the source, through the loop thread (a release
 * from another thread is posted and the loop woken), so the source is only
 * ever touched by one thread.  A frame of a retired buffer set goes back to
 * the source marked with its generation, which forgets it.
 *
 * Buffers.  Before streaming, and again after every reconnect or
 * renegotiation, the pipeline negotiates buffers: the first sink that
 * provides a set for the source's format gets capture to write into it
 * (DMA-buf import); if none does, or the source cannot use what was
 * provided, the source allocates its own.  The outcome and the reason are in
 * the stats (buffers, buffers_note) and the report.
 *
 * Flow.  Each sink has an in-flight budget and a policy (sink.h): a live
 * sink at its budget loses the frame, a record sink makes it wait in order.
 * Either way the pipeline keeps at least `min_queued` buffers in the driver:
 * when handing a frame on would leave fewer, the frame is dropped for every
 * sink and requeued at once, so no sink can starve capture.  No frame is
 * ever copied to get out of trouble.
 *
 * Recovery never blocks the loop and never stops a sink.  A vanished device
 * is polled for (a timer) while the loop keeps serving releases, signals and
 * timers; a source change renegotiates at once.  Either way the sinks see a
 * buffer-set change (set_buffers) and keep running; frames of the old set
 * stay valid until released.
 *
 * Processing.  Processors run in the order added, on the loop thread, on a
 * read-write CPU mapping of the frame, before any sink sees it, bracketed by
 * vz_buffer_cpu_begin/end (DMA_BUF_IOCTL_SYNC) so caches are right on every
 * platform.
 *
 * Stopping is asynchronous at the sink level (a sink says when it let go);
 * vz_pipeline_stop() runs the loop until every sink did, or a deadline.
 */
#ifndef VZERO_PIPELINE_H
#define VZERO_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "errors.h"
#include "format.h"
#include "frame.h"
#include "loop.h"
#include "sink.h"
#include "source.h"
#include "telemetry.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vz_pipeline;

typedef int (*vz_process_fn)(void *ctx, struct vz_frame_map *m, struct vz_err *err);

struct vz_pipeline_config {
	struct vz_source source;   /* required, opened (format negotiated) */
	struct vz_loop *loop;      /* required, not owned */
	unsigned min_queued;       /* 0: default 2 */
	size_t telemetry_capacity; /* 0: default 65536 */
	/* Stop after N frames: delivered to every record sink when there is
	 * one (so a recording holds exactly N), else N good frames. */
	uint64_t max_frames;
	int64_t max_duration_ns;  /* stop after this long, 0: no limit */
	int reconnect_timeout_ms; /* <0: don't reconnect, else wait this long
	                             (0: forever) for a vanished device */
	/* No good frame for this long while streaming fails the run, saying
	 * so (0: 10 s plus ten frame intervals; < 0: never). */
	int64_t stall_timeout_ns;
	/* How long vz_pipeline_stop() waits for the sinks to let go (0: 10 s). */
	int64_t stop_timeout_ns;
	/* Optional, loop thread: one line about something a person should
	 * see while it happens (device gone, waiting, back, a sink ended). */
	void (*on_event)(void *data, const char *msg);
	void *event_data;
};

/* Per-sink settings; zeroes are the defaults. */
struct vz_sink_config {
	unsigned budget;            /* frames in flight at once (0: 2) */
	enum vz_sink_policy policy; /* DEFAULT: the sink kind's own */
};

struct vz_pipeline_stats {
	uint64_t frames;                /* good frames from the source */
	uint64_t drops[VZ_DROP_CAUSES]; /* by cause (sink causes summed) */
	uint64_t late_frames;           /* interval > 1.5x nominal */
	unsigned inflight_hwm;          /* frames out of the driver at once */
	uint64_t bytes_copied;          /* capture + processors + sinks */
	int64_t t_start, t_end;         /* first and last frame (ns) */
	struct vz_source_stats capture;
	unsigned nsinks;
	struct vz_sink_stats sink[VZ_MAX_SINKS];
	char sink_name[VZ_MAX_SINKS][64];
	/* Buffers: who allocated the current set, and why a provider's set
	 * was not used if one was offered. */
	char buffers[256];
	char buffers_note[320];
	uint32_t generation; /* of the current set */
	uint64_t recoveries; /* reconnects and renegotiations done */
	/* Of the last recovery: from the device being usable again (or the
	 * format change seen) to the next frame, and from the loss to it. */
	int64_t last_resume_ns;
	int64_t last_outage_ns;
};

int vz_pipeline_create(struct vz_pipeline **out, const struct vz_pipeline_config *cfg,
                       struct vz_err *err);
/* Stops if running, destroys the sinks it was given.  Frames a broken sink
 * still holds keep what they point into alive until released.  NULL is
 * fine. */
void vz_pipeline_destroy(struct vz_pipeline *p);

int vz_pipeline_add_processor(struct vz_pipeline *p, const char *name, vz_process_fn fn, void *ctx,
                              struct vz_err *err);
/* Takes ownership of @sink (its contents are moved; *sink is zeroed).
 * @cfg may be NULL (defaults). */
int vz_pipeline_add_sink(struct vz_pipeline *p, struct vz_sink *sink,
                         const struct vz_sink_config *cfg, struct vz_err *err);

/* Negotiates buffers, starts the sinks, then the source, and registers
 * with the loop. */
int vz_pipeline_start(struct vz_pipeline *p, struct vz_err *err);
/* Stops capture, hands record sinks the frames still waiting for them,
 * asks every sink to stop and runs the loop until each has let go (or a
 * deadline passes: then -ETIMEDOUT naming the sink).  Not from inside a
 * loop callback.  Idempotent. */
int vz_pipeline_stop(struct vz_pipeline *p, struct vz_err *err);

/* The run's end: on the loop thread the pipeline calls vz_loop_quit() with 0
 * (max_frames/max_duration reached) or a negative errno (a sink failed, the
 * source stalled or is gone for good); the reason is here. */
const struct vz_err *vz_pipeline_error(const struct vz_pipeline *p);

const struct vz_telemetry *vz_pipeline_telemetry(const struct vz_pipeline *p);
void vz_pipeline_get_stats(const struct vz_pipeline *p, struct vz_pipeline_stats *out);
/* Frames currently outside the driver (held by processors or sinks). */
unsigned vz_pipeline_inflight(const struct vz_pipeline *p);

#ifdef __cplusplus
}
#endif
#endif
