/* SPDX-License-Identifier: MIT */
/*
 * The pipeline: frame ownership, in-place processing, fan-out to sinks.
 *
 * Ownership.  Each buffer the source hands out becomes one struct vz_frame
 * with a reference count.  The pipeline holds one reference while it runs
 * the processors, and one per sink the frame was pushed to.  Only when the
 * last reference is dropped does the buffer go back to the driver (QBUF).
 * Sinks drop theirs with vz_port_release(), from any thread; the final
 * release posts the frame to the loop thread (a mutex-protected list plus an
 * eventfd wake-up), which does the QBUF, so the source is only ever touched
 * by one thread.
 *
 * Budgets.  Each sink has an in-flight budget (frames pushed and not yet
 * released).  A frame arriving while a sink is at its budget is dropped for
 * that sink only, counted as VZ_DROP_SINK_BUDGET, and the other sinks still
 * get it.  The pipeline never copies a frame to get out of trouble.  It also
 * keeps at least `min_queued` buffers in the driver: if handing a frame on
 * would leave fewer, the frame is dropped for every sink (budget drop) and
 * requeued at once, so a stuck sink cannot starve capture.
 *
 * Processing.  Processors run in the order added, on the loop thread, on a
 * read-write CPU mapping of the frame, before any sink sees it, bracketed by
 * DMA_BUF_IOCTL_SYNC(START|RW) / (END|RW) on the read-write DMA-buf fd so
 * caches are right on every platform.
 *
 * Telemetry.  Every frame's journey is recorded in a struct vz_telemetry
 * (see telemetry.h); the pipeline also counts drops by cause, in-flight
 * high-water mark and bytes copied (capture's + every sink's).
 */
#ifndef VZERO_PIPELINE_H
#define VZERO_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "capture.h"
#include "errors.h"
#include "format.h"
#include "loop.h"
#include "telemetry.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vz_pipeline;
struct vz_sink_port;

/* A captured frame, as sinks and processors see it.  Read-only for them. */
struct vz_frame {
	uint64_t id;
	struct vz_frame_info info;
	const struct vz_buffer *buf;
	const struct vz_format *fmt;
	struct vz_frame_record *rec; /* telemetry record */
	/* private to the pipeline */
	struct vz_pipeline *pipe;
	int refs;            /* atomic */
	unsigned sinks_mask; /* atomic: sinks still holding it */
};

/* ---- in-place processing ---- */

/* A CPU view of one frame, colour plane by colour plane. */
struct vz_frame_map {
	const struct vz_format *fmt;
	const struct vz_frame_info *info;
	uint8_t *plane[VZ_MAX_PLANES];
	uint32_t stride[VZ_MAX_PLANES];
	uint32_t height[VZ_MAX_PLANES];
};

/* Builds a map from a buffer's CPU mappings. -EINVAL if a plane has none. */
int vz_frame_map_init(struct vz_frame_map *m, const struct vz_format *fmt,
                      const struct vz_buffer *buf, const struct vz_frame_info *info);

typedef int (*vz_process_fn)(void *ctx, struct vz_frame_map *m, struct vz_err *err);

/* ---- sinks ---- */

struct vz_sink_stats {
	uint64_t frames;        /* pushed to the sink */
	uint64_t released;      /* released by the sink */
	uint64_t drops_budget;  /* filled in by the pipeline */
	uint64_t drops_failure; /* push failed / sink reported failure */
	uint64_t bytes_copied;  /* CPU copies made or observed in the sink */
	uint64_t copies;        /* number of copy events behind bytes_copied */
	unsigned inflight_hwm;  /* filled in by the pipeline */
	char proof[256];        /* how the sink knows it got no copy, e.g.
	                           "first element saw vzero's DMA-buf fds in
	                           250/250 buffers" */
};

/*
 * What a sink implements.  push() receives a frame holding one reference
 * for this sink; the sink must call vz_port_release(port, f) exactly once
 * for it, from any thread, when it no longer reads the buffer.  If push()
 * returns < 0 it must not have kept the frame: the pipeline releases it and
 * counts a sink failure.
 */
struct vz_sink_ops {
	const char *kind; /* "null", "gst", ... */
	/* Stream starts: format and buffers are final (also after a
	 * renegotiation: stop() then start() again). */
	int (*start)(void *impl, struct vz_sink_port *port, struct vz_err *err);
	int (*push)(void *impl, struct vz_frame *f, struct vz_err *err);
	/* Stream ends: send EOS, let go of every frame within @timeout_ns. */
	int (*stop)(void *impl, int64_t timeout_ns, struct vz_err *err);
	void (*get_stats)(void *impl, struct vz_sink_stats *out);
	void (*destroy)(void *impl);
};

struct vz_sink {
	const struct vz_sink_ops *ops;
	void *impl;
	char name[64]; /* "gst:fakesink", "null", ... as shown in reports */
};

/* What a started sink may ask of its port. */
struct vz_loop *vz_port_loop(struct vz_sink_port *p);
const struct vz_format *vz_port_format(struct vz_sink_port *p);
unsigned vz_port_buffer_count(struct vz_sink_port *p);
const struct vz_buffer *vz_port_buffer(struct vz_sink_port *p, unsigned index);
unsigned vz_port_index(struct vz_sink_port *p); /* sink number, 0.. */
/* Thread-safe.  Exactly once per pushed frame. */
void vz_port_release(struct vz_sink_port *p, struct vz_frame *f);
/* Thread-safe: the sink failed for good; the run stops with @msg. */
void vz_port_fail(struct vz_sink_port *p, int code, const char *msg);

/* The null sink releases every frame as soon as it gets it. */
int vz_sink_null_create(struct vz_sink *out, struct vz_err *err);

/* "null", "gst:<launch description>", ... -> a sink. */
int vz_sink_create(const char *spec, struct vz_sink *out, struct vz_err *err);
void vz_sink_destroy(struct vz_sink *s); /* NULL-safe, idempotent */

/* ---- the pipeline ---- */

struct vz_pipeline_config {
	struct vz_source source;   /* required */
	struct vz_loop *loop;      /* required, not owned */
	unsigned min_queued;       /* 0: default 2 */
	size_t telemetry_capacity; /* 0: default 65536 */
	uint64_t max_frames;       /* stop after N good frames, 0: no limit */
	int64_t max_duration_ns;   /* stop after this long, 0: no limit */
	int reconnect_timeout_ms;  /* <0: don't reconnect, else wait this long
	                              (0: forever) for a vanished device */
	/* Optional, loop thread: one line about something a person should
	 * see while it happens (device gone, waiting, back). */
	void (*on_event)(void *data, const char *msg);
	void *event_data;
};

struct vz_pipeline_stats {
	uint64_t frames;                /* good frames from the source */
	uint64_t drops[VZ_DROP_CAUSES]; /* by cause (sink causes summed) */
	uint64_t late_frames;           /* interval > 1.5x nominal */
	unsigned inflight_hwm;          /* frames out of the driver at once */
	uint64_t bytes_copied;          /* capture + processors + sinks */
	int64_t t_start, t_end;         /* first and last frame (ns) */
	struct vz_capture_stats capture;
	unsigned nsinks;
	struct vz_sink_stats sink[VZ_MAX_SINKS];
	char sink_name[VZ_MAX_SINKS][64];
};

int vz_pipeline_create(struct vz_pipeline **out, const struct vz_pipeline_config *cfg,
                       struct vz_err *err);
/* Stops if running, destroys the sinks it was given. NULL is fine. */
void vz_pipeline_destroy(struct vz_pipeline *p);

int vz_pipeline_add_processor(struct vz_pipeline *p, const char *name, vz_process_fn fn, void *ctx,
                              struct vz_err *err);
/* Takes ownership of @sink (its contents are moved; *sink is zeroed).
 * @budget: max frames in flight in this sink (0: default 2). */
int vz_pipeline_add_sink(struct vz_pipeline *p, struct vz_sink *sink, unsigned budget,
                         struct vz_err *err);

/* Starts the sinks, then the source, and registers with the loop. */
int vz_pipeline_start(struct vz_pipeline *p, struct vz_err *err);
/* Stops capture, asks every sink to stop (EOS), waits for releases,
 * running the loop as needed.  Idempotent. */
int vz_pipeline_stop(struct vz_pipeline *p, struct vz_err *err);

/* Called on the loop thread when max_frames/max_duration is reached, a
 * sink fails, or the device is gone for good: the pipeline calls
 * vz_loop_quit() with 0 (done) or a negative errno; the reason is here. */
const struct vz_err *vz_pipeline_error(const struct vz_pipeline *p);

const struct vz_telemetry *vz_pipeline_telemetry(const struct vz_pipeline *p);
void vz_pipeline_get_stats(const struct vz_pipeline *p, struct vz_pipeline_stats *out);
/* Frames currently outside the driver (held by processors or sinks). */
unsigned vz_pipeline_inflight(const struct vz_pipeline *p);

#ifdef __cplusplus
}
#endif
#endif
