/* SPDX-License-Identifier: MIT */
/*
 * Per-frame timing telemetry.
 *
 * Every frame that enters the pipeline gets one record in a ring that is
 * allocated once, up front: recording never allocates, so measuring does not
 * disturb what is measured.  A record follows the frame's whole journey:
 * driver timestamp -> DQBUF -> processing done -> hand-off to each sink ->
 * each sink's release -> QBUF back to the driver.
 *
 * Only the loop thread writes records.  A sink's release time is kept with
 * the frame itself (whatever thread the sink releases on) and copied into
 * the record when the frame goes back to the driver; a frame held longer
 * than the ring is deep finds its record taken by a newer frame and leaves
 * it alone (vz_telemetry_find returns NULL).
 *
 * When a run is longer than the ring, statistics cover the newest
 * `capacity` frames and the report says so.
 */
#ifndef VZERO_TELEMETRY_H
#define VZERO_TELEMETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "frame.h"
#include "sink.h"

#ifdef __cplusplus
extern "C" {
#endif

enum vz_drop_cause {
	VZ_DROP_NONE = 0,
	VZ_DROP_DRIVER_GAP,   /* sequence gap: the driver never gave us it */
	VZ_DROP_ERROR_FLAG,   /* V4L2_BUF_FLAG_ERROR: corrupt, not delivered */
	VZ_DROP_SINK_BUDGET,  /* sink over its in-flight budget */
	VZ_DROP_SINK_FAILURE, /* sink refused / failed on the frame */
	VZ_DROP_SINK_ENDED,   /* the sink's stream had ended (cleanly) */
	VZ_DROP_CAUSES
};

const char *vz_drop_cause_name(enum vz_drop_cause c); /* "driver_gap", ... */

struct vz_frame_record {
	uint64_t id;       /* 0, 1, 2, ... frames seen by the pipeline */
	uint32_t sequence; /* driver sequence */
	uint32_t gap;      /* driver drops just before this frame */
	uint32_t v4l2_flags;
	uint32_t inflight;               /* frames held (not in the driver) at DQBUF */
	int64_t t_driver;                /* driver timestamp (ns, CLOCK_MONOTONIC) */
	int64_t t_dqbuf;                 /* after DQBUF */
	int64_t t_processed;             /* in-place processing done (== t_dqbuf if none) */
	int64_t t_requeue;               /* QBUF back to the driver, 0 until then */
	int64_t t_handoff[VZ_MAX_SINKS]; /* pushed to sink i, 0 if not */
	int64_t t_release[VZ_MAX_SINKS]; /* sink i let go, 0 if not (yet) */
	int64_t t_shown[VZ_MAX_SINKS];   /* sink i showed it (a flip), 0 if not */
	uint8_t sink_drop[VZ_MAX_SINKS]; /* enum vz_drop_cause for sink i */
};

struct vz_telemetry;

/* @capacity records (>= 16); @nsinks <= VZ_MAX_SINKS. */
int vz_telemetry_create(struct vz_telemetry **out, size_t capacity, unsigned nsinks,
                        struct vz_err *err);
void vz_telemetry_destroy(struct vz_telemetry *t);

/* Claims the next record (overwriting the oldest when full), zeroes it and
 * fills it from @fi.  Loop thread only.  Never allocates. */
struct vz_frame_record *vz_telemetry_begin(struct vz_telemetry *t, const struct vz_frame_info *fi,
                                           uint32_t inflight);

/* The record of frame @id while the ring still holds it, else NULL.  Loop
 * thread only. */
struct vz_frame_record *vz_telemetry_find(struct vz_telemetry *t, uint64_t id);

unsigned vz_telemetry_sinks(const struct vz_telemetry *t);
size_t vz_telemetry_capacity(const struct vz_telemetry *t);
uint64_t vz_telemetry_total(const struct vz_telemetry *t); /* ever begun */
size_t vz_telemetry_count(const struct vz_telemetry *t);   /* held now */
/* i = 0 is the oldest held record. */
const struct vz_frame_record *vz_telemetry_get(const struct vz_telemetry *t, size_t i);

#ifdef __cplusplus
}
#endif
#endif
