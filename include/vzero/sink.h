/* SPDX-License-Identifier: MIT */
/*
 * The sink contract: where frames leave vzero, by DMA-buf, never by copy.
 *
 * A sink sees only what this contract hands it: a port (to give frames back,
 * report failure, say it is done) and buffer sets.  It knows nothing of the
 * pipeline that runs it, nor of the capture backend behind it.
 *
 * Life of a sink, all calls on the runner's loop thread:
 *   provide()      optional, before streaming and again before every new
 *                  buffer set: the sink may supply the buffers capture
 *                  writes into (a display's scan-out memory).  -ENOTSUP: it
 *                  does not.
 *   start()        once, with the first buffer set.  -EXDEV from start()
 *                  or set_buffers(): "I cannot use this set (a display that
 *                  cannot import it), but I can provide one": the runner
 *                  negotiates buffers again, asking provide() once more,
 *                  and hands every sink the new set.  Once per set change.
 *   push()         per frame; the frame comes with one reference for this
 *                  sink, given back with vz_port_release() exactly once,
 *                  from any thread, when the sink no longer reads it.  If
 *                  push() returns < 0 it kept nothing: the runner releases
 *                  the frame and counts a sink failure that ends the run --
 *                  except -ESHUTDOWN, which says "my stream has ended"
 *                  (the sink calls, or has called, vz_port_ended()): the
 *                  frame counts as dropped for that and the others go on.
 *   set_buffers()  a buffer-set change (reconnect, renegotiation): frames of
 *                  the new set follow, possibly in a new format; frames of
 *                  older sets the sink still holds stay valid until it
 *                  releases them.  The sink keeps running: a recording
 *                  continues across a reconnect.
 *   shown          a sink that knows when a frame reached its destination
 *                  (a display's page flip) says so with vz_port_shown()
 *                  before releasing it: the runner records the time
 *                  (CLOCK_MONOTONIC) for capture-to-screen latency.
 *   stop()         the stream ends: the sink finishes (EOS, flush) without
 *                  blocking and calls vz_port_stopped() once it has let go
 *                  of every frame -- from inside stop() if it can, later from
 *                  any thread if it waits on something (kernel completions,
 *                  a streaming thread).
 * A sink whose own stream ended for good but cleanly (a muxer that cannot
 * take a new format finalised its file) calls vz_port_ended(): it gets no
 * more frames, the others go on.  vz_port_fail() is for real failures: the
 * run stops with its message.
 *
 * Policies.  A live sink at its in-flight budget loses the frame (the
 * newest one wins next time; nothing queues up in front of it).  A record
 * sink at its budget makes the frame wait, in order, while the driver keeps
 * more than its minimum of buffers: a recording loses nothing it could have
 * kept.  Each sink kind states its default (files and muxers: record).
 */
#ifndef VZERO_SINK_H
#define VZERO_SINK_H

#include <stdbool.h>
#include <stdint.h>

#include "buffer.h"
#include "errors.h"
#include "format.h"
#include "frame.h"
#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VZ_MAX_SINKS 8

enum vz_sink_policy {
	VZ_SINK_POLICY_DEFAULT = 0, /* the sink kind's own */
	VZ_SINK_LIVE,
	VZ_SINK_RECORD,
};

const char *vz_sink_policy_name(enum vz_sink_policy p); /* "live", "record" */

/* A copy GStreamer (or the kernel, or a peer) made of vzero's frames, or a
 * conversion into new memory, as a sink observed it. */
#define VZ_SINK_MAX_COPY_SITES 8
struct vz_copy_site {
	char element[48]; /* who: "videobalance0", "kernel (loopback)" */
	char reason[96];  /* why, in words */
	bool conversion;  /* different format or size: a conversion, not a copy */
	uint64_t events;
	uint64_t bytes;
};

/* A count a sink keeps per frame, in its own terms (packets, sends,
 * completions): the report divides it by the frames the sink got. */
#define VZ_SINK_MAX_COUNTERS 8
struct vz_sink_counter {
	char name[24];
	uint64_t total;
};

struct vz_sink_stats {
	uint64_t frames;            /* pushed to the sink (filled in by the runner) */
	uint64_t released;          /* released by the sink (runner) */
	uint64_t drops_budget;      /* runner: at its budget */
	uint64_t drops_failure;     /* push failed / sink reported failure */
	uint64_t drops_ended;       /* runner: frames after the sink's stream ended */
	uint64_t bytes_copied;      /* CPU copies made or observed in the sink */
	uint64_t copies;            /* number of copy events behind bytes_copied */
	unsigned inflight_hwm;      /* runner */
	uint64_t shown;             /* reached the destination (a display's flips) */
	uint64_t replaced;          /* superseded by a newer frame before shown */
	enum vz_sink_policy policy; /* runner: the policy in force */
	unsigned nsites;
	struct vz_copy_site site[VZ_SINK_MAX_COPY_SITES];
	char proof[256];  /* how the sink knows what it says about copies */
	char advice[256]; /* one line: what to do about the copies, if any */
	char ended[256];  /* why its stream ended early, if it did */
	/* What the sink's "shown" time means on this device, in words. */
	char shown_note[192];
	/* How the sink times what leaves (a network sink's pacing, its
	 * clocks), in words; "" when it has nothing to say. */
	char timing[512];
	unsigned ncounters;
	struct vz_sink_counter counter[VZ_SINK_MAX_COUNTERS];
};

struct vz_sink_port;

/* Implemented by whoever runs sinks (the pipeline). */
struct vz_sink_port_ops {
	void (*release)(struct vz_sink_port *p, struct vz_frame *f);             /* thread-safe */
	void (*failure)(struct vz_sink_port *p, int code, const char *msg);      /* thread-safe */
	void (*ended)(struct vz_sink_port *p, const char *msg);                  /* thread-safe */
	void (*stopped)(struct vz_sink_port *p);                                 /* thread-safe */
	void (*shown)(struct vz_sink_port *p, struct vz_frame *f, int64_t t_ns); /* thread-safe */
	struct vz_loop *(*loop)(struct vz_sink_port *p);                         /* loop thread */
};

struct vz_sink_port {
	const struct vz_sink_port_ops *ops;
	unsigned index; /* sink number, 0.. */
};

static inline void vz_port_release(struct vz_sink_port *p, struct vz_frame *f)
{
	p->ops->release(p, f);
}

static inline void vz_port_fail(struct vz_sink_port *p, int code, const char *msg)
{
	p->ops->failure(p, code, msg);
}

static inline void vz_port_ended(struct vz_sink_port *p, const char *msg)
{
	p->ops->ended(p, msg);
}

static inline void vz_port_stopped(struct vz_sink_port *p)
{
	p->ops->stopped(p);
}

/* @f reached its destination at @t_ns (CLOCK_MONOTONIC); before its
 * release. */
static inline void vz_port_shown(struct vz_sink_port *p, struct vz_frame *f, int64_t t_ns)
{
	p->ops->shown(p, f, t_ns);
}

static inline struct vz_loop *vz_port_loop(struct vz_sink_port *p)
{
	return p->ops->loop(p);
}

struct vz_sink_ops {
	const char *kind; /* "null", "gst", ... */
	int (*provide)(void *impl, const struct vz_format *fmt, unsigned count,
	               struct vz_buffer_set **out, struct vz_err *err); /* optional */
	int (*start)(void *impl, struct vz_sink_port *port, struct vz_buffer_set *set,
	             struct vz_err *err);
	int (*set_buffers)(void *impl, struct vz_buffer_set *set, struct vz_err *err);
	int (*push)(void *impl, struct vz_frame *f, struct vz_err *err);
	int (*stop)(void *impl, struct vz_err *err);
	void (*get_stats)(void *impl, struct vz_sink_stats *out);
	void (*destroy)(void *impl);
};

struct vz_sink {
	const struct vz_sink_ops *ops;
	void *impl;
	char name[64];              /* "gst:fakesink", "null", ... as reports show it */
	enum vz_sink_policy policy; /* the kind's default for this instance */
	/* The kind's default in-flight budget (0: the runner's): a display
	 * holds the frame on screen, the one flipping and the next. */
	unsigned budget;
};

void vz_sink_destroy(struct vz_sink *s); /* NULL-safe, idempotent */

#ifdef __cplusplus
}
#endif
#endif
