/* SPDX-License-Identifier: MIT */
/* Sequence and timestamp accounting; the rules are in seq-track.h. */
#include "seq-track.h"

#include "clock.h"
#include "format.h"

void vz_seq_track_frame(struct vz_seq_track *t, struct vz_source_stats *st, int64_t nominal_ns,
                        struct vz_frame_info *fi)
{
	fi->gap = 0;
	bool continues = false;
	if (t->have_seq) {
		uint32_t d = fi->sequence - t->last_seq;
		if (d != 0 && d < 0x80000000u) {
			continues = true;
			fi->gap = d - 1;
			if (fi->sequence < t->last_seq)
				st->seq_wraps++;
		}
		/* Backwards by more than half the range: the driver restarted
		 * its count; nothing was lost that we can measure. */
	}
	st->seq_span += continues ? (uint64_t)fi->gap + 1 : 1;
	t->have_seq = true;
	t->last_seq = fi->sequence;
	st->driver_drops += fi->gap;

	fi->ts_jump = false;
	if (t->have_ts) {
		int64_t d = (int64_t)((uint64_t)fi->t_driver_ns - (uint64_t)t->last_ts);
		int64_t limit = 10 * VZ_NSEC_PER_SEC + 4 * nominal_ns * ((int64_t)fi->gap + 1);
		bool insane = d <= 0 || d > limit;
		if (insane || fi->t_driver_ns < t->last_ts)
			st->ts_jumps++;
		fi->ts_jump = insane;
	}
	t->have_ts = true;
	t->last_ts = fi->t_driver_ns;
}

bool vz_frame_short(const struct vz_format *fmt, const struct vz_frame_info *fi)
{
	if (!vz_format_desc_find(fmt->fourcc))
		return false;
	for (unsigned m = 0; m < fmt->num_mem; m++) {
		uint64_t need = 0;
		for (unsigned p = 0; p < fmt->num_planes; p++) {
			if (fmt->plane[p].mem != m)
				continue;
			uint64_t end = (uint64_t)fmt->plane[p].offset +
			               (uint64_t)fmt->plane[p].stride * fmt->plane[p].height;
			if (end > need)
				need = end;
		}
		if (fi->bytesused[m] < need)
			return true;
	}
	return false;
}
