/* SPDX-License-Identifier: MIT */
/*
 * Sequence and timestamp accounting, shared by the capture backends so a
 * gap means the same from V4L2 and from libcamera: each frame covers its
 * own sequence number plus the gap before it (driver drops); a sequence
 * number that goes back by more than half the range is a restart of the
 * count, not a loss; a driver timestamp that steps back or leaps is a jump
 * (the interval across it is meaningless); a frame shorter than its
 * layout is torn.
 */
#ifndef VZ_SEQ_TRACK_H
#define VZ_SEQ_TRACK_H

#include <stdbool.h>
#include <stdint.h>

#include "frame.h"
#include "source.h"

struct vz_seq_track {
	bool have_seq, have_ts;
	uint32_t last_seq;
	int64_t last_ts;
};

/* A new streaming session: the driver restarts its counters. */
static inline void vz_seq_track_reset(struct vz_seq_track *t)
{
	t->have_seq = false;
	t->have_ts = false;
}

/* Sets fi->gap and fi->ts_jump from fi->sequence and fi->t_driver_ns and
 * counts into @st (seq_span, driver_drops, seq_wraps, ts_jumps).  Every
 * frame out of the driver goes through here, error frames too. */
void vz_seq_track_frame(struct vz_seq_track *t, struct vz_source_stats *st, int64_t nominal_ns,
                        struct vz_frame_info *fi);

/* An uncompressed frame shorter than its layout is a torn frame: part of
 * the picture is the last frame's.  Formats vzero cannot lay out
 * (compressed) are variable-length by nature and never short. */
bool vz_frame_short(const struct vz_format *fmt, const struct vz_frame_info *fi);

#endif
