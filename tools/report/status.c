/* SPDX-License-Identifier: MIT */
#include <inttypes.h>

#include "clock.h"
#include "report-internal.h"
#include "report.h"

void vz_report_status_line(FILE *out, const struct vz_telemetry *t,
                           const struct vz_pipeline_stats *st, double *scratch, size_t window,
                           bool tty)
{
	size_t n = vz_telemetry_count(t);
	int64_t now = vz_now_ns();
	uint64_t last_second = 0;
	struct vz_summary iv = {0};

	/* Frames whose DQBUF fell in the last second of wall time: a stalled
	 * stream reads 0 fps instead of the rate of its last good burst. */
	for (size_t i = n; i-- > 0;) {
		const struct vz_frame_record *r = vz_telemetry_get(t, i);
		if (r->t_dqbuf <= now - VZ_NSEC_PER_SEC)
			break;
		if (r->t_dqbuf <= now)
			last_second++;
	}

	if (scratch && window >= 2 && n >= 2) {
		size_t from = n > window ? n - window : 0;
		size_t k = 0;
		for (size_t i = from + 1; i < n; i++) {
			if (vz_rec_interval_ms(vz_telemetry_get(t, i - 1), vz_telemetry_get(t, i),
			                       true, &scratch[k]))
				k++;
		}
		vz_summarize(scratch, k, scratch + window, &iv);
	}

	uint64_t drops = 0, frames = 0, copied = 0;
	if (st) {
		for (int c = VZ_DROP_DRIVER_GAP; c < VZ_DROP_CAUSES; c++)
			drops += st->drops[c];
		frames = st->frames;
		copied = st->bytes_copied;
	}

	fprintf(out, "%s%8" PRIu64 " frames | %3" PRIu64 " fps | interval p99 ", tty ? "\r" : "",
	        frames, last_second);
	if (iv.n)
		fprintf(out, "%7.3f ms", iv.p99);
	else
		fprintf(out, "%7s ms", "-");
	fprintf(out, " | drops %" PRIu64 " | copied %.0f B/frame", drops,
	        frames ? (double)copied / (double)frames : 0.0);
	/* On a terminal the line redraws in place; clear what a longer
	 * previous line left behind. */
	fputs(tty ? "\033[K" : "\n", out);
	fflush(out);
}

void vz_report_status_json(FILE *out, const struct vz_pipeline_stats *st, unsigned inflight,
                           double t_s)
{
	const struct vz_source_stats *c = &st->capture;
	fputs("{\"t_s\":", out);
	vz_json_num(out, t_s);
	fprintf(out, ",\"frames\":%" PRIu64 ",\"inflight\":%u,\"drops\":{", st->frames, inflight);
	for (int k = VZ_DROP_DRIVER_GAP; k < VZ_DROP_CAUSES; k++)
		fprintf(out, "%s\"%s\":%" PRIu64, k == VZ_DROP_DRIVER_GAP ? "" : ",",
		        vz_drop_cause_name((enum vz_drop_cause)k), st->drops[k]);
	fprintf(out,
	        "},\"capture\":{\"frames\":%" PRIu64 ",\"driver_drops\":%" PRIu64
	        ",\"error_frames\":%" PRIu64 ",\"seq_span\":%" PRIu64 ",\"sessions\":%" PRIu64
	        ",\"restarts\":%" PRIu64 ",\"disconnects\":%" PRIu64 ",\"reconnects\":%" PRIu64
	        ",\"qbuf_errors\":%" PRIu64 ",\"streamon_errors\":%" PRIu64 "},\"sinks\":[",
	        c->frames, c->driver_drops, c->error_frames, c->seq_span, c->sessions, c->restarts,
	        c->disconnects, c->reconnects, c->qbuf_errors, c->streamon_errors);
	for (unsigned s = 0; s < st->nsinks; s++) {
		const struct vz_sink_stats *ss = &st->sink[s];
		fputs(s ? ",{\"name\":" : "{\"name\":", out);
		vz_json_str(out, st->sink_name[s]);
		fprintf(out,
		        ",\"frames\":%" PRIu64 ",\"released\":%" PRIu64 ",\"drops_budget\":%" PRIu64
		        ",\"drops_failure\":%" PRIu64 ",\"drops_ended\":%" PRIu64 "}",
		        ss->frames, ss->released, ss->drops_budget, ss->drops_failure,
		        ss->drops_ended);
	}
	fputs("]}\n", out);
	fflush(out);
}
