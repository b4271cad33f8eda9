/* SPDX-License-Identifier: MIT */
/* The jitter report: statistics, the table, JSON and the CSV timeline (report.h). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "module.h"
#include "report-internal.h"
#include "report.h"

static double ns_ms(int64_t ns)
{
	return (double)ns / VZ_NS_PER_MS;
}

enum stage {
	STAGE_DQBUF,
	STAGE_PROCESS,
	STAGE_REQUEUE,
	STAGE_HANDOFF,
	STAGE_HOLD,
	STAGE_SHOWN,
};

/* A stage's latency in ms; false when the record lacks either end (never
 * requeued, not handed to that sink, not released yet). */
static bool stage_ms(const struct vz_frame_record *rec, enum stage s, unsigned sink, double *ms)
{
	int64_t a = 0, b = 0;

	switch (s) {
	case STAGE_DQBUF:
		a = rec->t_driver;
		b = rec->t_dqbuf;
		break;
	case STAGE_PROCESS:
		a = rec->t_dqbuf;
		b = rec->t_processed;
		break;
	case STAGE_REQUEUE:
		a = rec->t_dqbuf;
		b = rec->t_requeue;
		break;
	case STAGE_HANDOFF:
		a = rec->t_dqbuf;
		b = rec->t_handoff[sink];
		break;
	case STAGE_HOLD:
		a = rec->t_handoff[sink];
		b = rec->t_release[sink];
		break;
	case STAGE_SHOWN:
		a = vz_rec_capture_ns(rec);
		b = rec->t_shown[sink];
		break;
	}
	if (a == 0 || b == 0)
		return false;
	*ms = ns_ms(vz_ns_sub(b, a));
	return true;
}

/* @vals and @scratch hold as many doubles as there are records. */
static void summarize_stage(const struct vz_telemetry *t, size_t n, enum stage s, unsigned sink,
                            double *vals, double *scratch, struct vz_summary *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (stage_ms(vz_telemetry_get(t, i), s, sink, &vals[k]))
			k++;
	}
	vz_summarize(vals, k, scratch, out);
}

static size_t collect_intervals(const struct vz_telemetry *t, size_t n, bool driver_clock,
                                double *vals)
{
	size_t k = 0;

	for (size_t i = 1; i < n; i++) {
		if (vz_rec_interval_ms(vz_telemetry_get(t, i - 1), vz_telemetry_get(t, i),
		                       driver_clock, &vals[k]))
			k++;
	}
	return k;
}

int vz_report_compute(struct vz_report *r, const struct vz_report_meta *meta,
                      const struct vz_telemetry *t, const struct vz_pipeline_stats *st,
                      struct vz_err *err)
{
	double *vals = NULL;
	size_t n = vz_telemetry_count(t);

	memset(r, 0, sizeof(*r));
	if (meta)
		r->meta = *meta;
	if (st)
		r->stats = *st;
	r->records = n;
	r->frames = st ? st->frames : vz_telemetry_total(t);
	r->nsinks = st ? st->nsinks : vz_telemetry_sinks(t);
	if (r->nsinks > VZ_MAX_SINKS)
		r->nsinks = VZ_MAX_SINKS;
	if (st) {
		memcpy(r->drops, st->drops, sizeof(r->drops));
		r->inflight_hwm = st->inflight_hwm;
		r->bytes_copied = st->bytes_copied;
	}
	if (r->frames > 0)
		r->bytes_copied_per_frame = (double)r->bytes_copied / (double)r->frames;

	if (n == 0)
		return 0;
	vals = malloc(2 * n * sizeof(*vals));
	if (!vals)
		return vz_err_set(err, -ENOMEM,
		                  "report: cannot allocate scratch for %zu records; lower the "
		                  "telemetry capacity",
		                  n);
	double *scratch = vals + n;

	for (size_t i = 0; i < n; i++) {
		uint32_t inflight = vz_telemetry_get(t, i)->inflight;
		if (inflight > r->inflight_hwm)
			r->inflight_hwm = inflight;
	}

	size_t k = collect_intervals(t, n, false, vals);
	vz_summarize(vals, k, scratch, &r->interval_dqbuf);

	k = collect_intervals(t, n, true, vals);
	vz_summarize(vals, k, scratch, &r->interval_driver);

	/* Without a rate from the format, the median interval is the best
	 * guess of what the camera meant to do; late is relative to that. */
	r->nominal_interval_ms = vz_fmt_interval_ms(r->meta.fmt);
	if (r->nominal_interval_ms <= 0.0)
		r->nominal_interval_ms = r->interval_driver.p50;
	if (r->nominal_interval_ms > 0.0) {
		double limit = VZ_LATE_FACTOR * r->nominal_interval_ms;
		for (size_t i = 0; i < k; i++) {
			if (vals[i] > limit)
				r->late_frames++;
		}
	}

	summarize_stage(t, n, STAGE_DQBUF, 0, vals, scratch, &r->lat_dqbuf);
	summarize_stage(t, n, STAGE_PROCESS, 0, vals, scratch, &r->lat_process);
	summarize_stage(t, n, STAGE_REQUEUE, 0, vals, scratch, &r->lat_requeue);
	unsigned tsinks = vz_telemetry_sinks(t);
	for (unsigned s = 0; s < r->nsinks && s < tsinks; s++) {
		summarize_stage(t, n, STAGE_HANDOFF, s, vals, scratch, &r->lat_sink[s]);
		summarize_stage(t, n, STAGE_HOLD, s, vals, scratch, &r->hold_sink[s]);
		summarize_stage(t, n, STAGE_SHOWN, s, vals, scratch, &r->shown_sink[s]);
	}

	/* Prefer the camera's clock for the rate; fall back to ours when the
	 * driver's timestamps are missing or not increasing. */
	const struct vz_frame_record *first = vz_telemetry_get(t, 0);
	const struct vz_frame_record *last = vz_telemetry_get(t, n - 1);
	int64_t span = 0;
	if (first->t_driver != 0 && last->t_driver > first->t_driver)
		span = last->t_driver - first->t_driver;
	else if (last->t_dqbuf > first->t_dqbuf)
		span = last->t_dqbuf - first->t_dqbuf;
	r->duration_s = (double)span / 1e9;
	if (span > 0)
		r->fps = (double)(n - 1) / r->duration_s;

	free(vals);
	return 0;
}

/* ---- the table ---- */

/* Names come from drivers and users: a stray newline or escape must not
 * break the table, so control characters print as '?'. */
static const char *str_or(const char *s, const char *fallback, char *buf, size_t len)
{
	size_t i = 0;

	if (!s || !*s)
		return fallback;
	for (; s[i] && i + 1 < len; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

#define STR_OR(s, fallback) str_or((s), (fallback), (char[256]){0}, 256)

#define LABEL_W 26

static void print_row(FILE *out, const char *label, const struct vz_summary *s)
{
	fprintf(out, "%-*.*s %7" PRIu64, LABEL_W, LABEL_W, label, s->n);
	if (s->n == 0) {
		fprintf(out, "%9s%9s%9s%9s%9s%9s%9s\n", "-", "-", "-", "-", "-", "-", "-");
		return;
	}
	fprintf(out, "%9.3f%9.3f%9.3f%9.3f%9.3f%9.3f%9.3f\n", s->mean, s->std, s->p50, s->p95,
	        s->p99, s->p999, s->max);
}

static void print_bytes(FILE *out, const char *what, uint64_t bytes, uint64_t frames)
{
	if (bytes == 0) {
		fprintf(out, "%s0 B/frame (zero-copy)\n", what);
		return;
	}
	fprintf(out, "%s%.1f B/frame (%" PRIu64 " B in %" PRIu64 " frames): NOT zero-copy\n", what,
	        frames ? (double)bytes / (double)frames : 0.0, bytes, frames);
}

bool vz_report_next_line(const char **cursor, const char **line, int *len)
{
	const char *l = *cursor;
	if (!l || !*l)
		return false;
	const char *e = strchr(l, '\n');
	size_t n = e ? (size_t)(e - l) : strlen(l);
	*line = l;
	*len = n > INT_MAX ? INT_MAX : (int)n;
	*cursor = l + n + (e ? 1 : 0);
	return true;
}

static void print_notes(FILE *out, const char *notes)
{
	const char *label = "source:     ";
	const char *l;
	int n;
	while (vz_report_next_line(&notes, &l, &n)) {
		fprintf(out, "%s%.*s\n", label, n, l);
		label = "            ";
	}
}

static void json_notes(FILE *out, const char *notes)
{
	fputs(",\"source_notes\":[", out);
	const char *l;
	int n;
	for (bool first = true; vz_report_next_line(&notes, &l, &n); first = false) {
		char line[512];
		snprintf(line, sizeof(line), "%.*s", n, l);
		if (!first)
			fputc(',', out);
		vz_json_str(out, line);
	}
	fputc(']', out);
}

void vz_report_print(FILE *out, const struct vz_report *r)
{
	const struct vz_report_meta *m = &r->meta;
	char fourcc[5] = "????";
	char label[64];

	fprintf(out, "vzero %s: %s, card \"%s\", driver %s\n", STR_OR(m->command, "report"),
	        STR_OR(m->device, "?"), STR_OR(m->card, "?"), STR_OR(m->driver, "?"));
	if (m->fmt) {
		vz_fourcc_chars(m->fmt->fourcc, fourcc);
		double fps = vz_fmt_interval_ms(m->fmt);
		fprintf(out, "format:     %s %" PRIu32 "x%" PRIu32, fourcc, m->fmt->width,
		        m->fmt->height);
		if (fps > 0.0)
			fprintf(out, " @ %.3f fps", 1000.0 / fps);
		else
			fprintf(out, " @ unknown rate");
		fprintf(out, ", io %s\n", STR_OR(m->io, "?"));
	} else {
		fprintf(out, "format:     unknown, io %s\n", STR_OR(m->io, "?"));
	}
	print_notes(out, m->source_notes);
	fprintf(out, "processors: %s\n", STR_OR(m->processors, "none"));
	fprintf(out, "real-time:  %s; cpu: %s; mlock: %s\n", STR_OR(m->rt_note, "not requested"),
	        STR_OR(m->cpu_note, "not requested"), STR_OR(m->mlock_note, "not requested"));
	fputc('\n', out);

	fprintf(out, "frames:     %" PRIu64 " good", r->frames);
	if (r->records < r->frames)
		fprintf(out,
		        ", statistics over the newest %" PRIu64
		        " (telemetry ring full: raise its capacity to cover all)",
		        r->records);
	fputc('\n', out);
	fprintf(out, "duration:   %.3f s\n", r->duration_s);
	double nominal_fps = r->nominal_interval_ms > 0.0 ? 1000.0 / r->nominal_interval_ms : 0.0;
	fprintf(out, "rate:       %.3f fps measured, %.3f fps %s\n", r->fps, nominal_fps,
	        vz_fmt_interval_ms(m->fmt) > 0.0 ? "nominal" : "from the median interval");
	fputc('\n', out);

	fprintf(out, "%-*s %7s%9s%9s%9s%9s%9s%9s%9s\n", LABEL_W, "(ms)", "n", "mean", "std", "p50",
	        "p95", "p99", "p99.9", "max");
	print_row(out, "interval (driver clock)", &r->interval_driver);
	print_row(out, "interval (dqbuf clock)", &r->interval_dqbuf);
	print_row(out, "latency driver->dqbuf", &r->lat_dqbuf);
	print_row(out, "processing", &r->lat_process);
	for (unsigned s = 0; s < r->nsinks; s++) {
		snprintf(label, sizeof(label), "sink %u hand-off", s);
		print_row(out, label, &r->lat_sink[s]);
		snprintf(label, sizeof(label), "sink %u hold", s);
		print_row(out, label, &r->hold_sink[s]);
		if (r->shown_sink[s].n) {
			snprintf(label, sizeof(label), "sink %u capture->shown", s);
			print_row(out, label, &r->shown_sink[s]);
		}
	}
	print_row(out, "total out of driver", &r->lat_requeue);
	if (r->lat_dqbuf.n && r->lat_dqbuf.p50 < 0)
		fprintf(out, "note: the driver stamps frames ahead of DQBUF (its timestamp is a "
		             "predicted end of frame, as vivid's is),\n      so driver->dqbuf is "
		             "negative; intervals on its clock are still exact\n");
	fputc('\n', out);

	uint64_t total = 0;
	for (int c = VZ_DROP_DRIVER_GAP; c < VZ_DROP_CAUSES; c++)
		total += r->drops[c];
	fprintf(out, "drops:      %" PRIu64 " total", total);
	for (int c = VZ_DROP_DRIVER_GAP; c < VZ_DROP_CAUSES; c++)
		fprintf(out, ", %s %" PRIu64, vz_drop_cause_name((enum vz_drop_cause)c),
		        r->drops[c]);
	fputc('\n', out);
	fprintf(out, "late:       %" PRIu64 " frames (driver interval > %.1f x %.3f ms)\n",
	        r->late_frames, VZ_LATE_FACTOR, r->nominal_interval_ms);
	fprintf(out, "in flight:  at most %u frames out of the driver at once\n", r->inflight_hwm);
	print_bytes(out, "copied:     ", r->bytes_copied, r->frames);
	if (r->stats.buffers[0])
		fprintf(out, "buffers:    %s\n", STR_OR(r->stats.buffers, "?"));
	if (r->stats.buffers_note[0])
		fprintf(out, "            (%s)\n", STR_OR(r->stats.buffers_note, ""));
	if (r->stats.recoveries)
		fprintf(out,
		        "recovered:  %" PRIu64 " time(s), buffer set %" PRIu32
		        " now; last: no frames for %.1f ms, %.1f ms of it from the device's "
		        "return to the next frame\n",
		        r->stats.recoveries, r->stats.generation,
		        (double)r->stats.last_outage_ns / VZ_NS_PER_MS,
		        (double)r->stats.last_resume_ns / VZ_NS_PER_MS);

	const struct vz_source_stats *c = &r->stats.capture;
	if (c->restarts || c->disconnects || c->source_changes || c->seq_wraps || c->ts_jumps ||
	    c->error_frames || c->qbuf_errors || c->streamon_errors)
		fprintf(out,
		        "capture:    %" PRIu64 " error frames, %" PRIu64 " restarts, %" PRIu64
		        " disconnects (%" PRIu64 " reconnected), %" PRIu64
		        " source changes, %" PRIu64 " sequence wraps, %" PRIu64
		        " timestamp jumps, %" PRIu64 " requeues and %" PRIu64
		        " STREAMONs refused and retried\n",
		        c->error_frames, c->restarts, c->disconnects, c->reconnects,
		        c->source_changes, c->seq_wraps, c->ts_jumps, c->qbuf_errors,
		        c->streamon_errors);

	for (unsigned s = 0; s < r->nsinks; s++) {
		const struct vz_sink_stats *ss = &r->stats.sink[s];
		fprintf(out,
		        "sink %u %s (%s): %" PRIu64 " frames, %" PRIu64 " released, %" PRIu64
		        " budget drops, %" PRIu64 " failures, in flight <= %u\n",
		        s, STR_OR(r->stats.sink_name[s], "(unnamed)"),
		        vz_sink_policy_name(ss->policy), ss->frames, ss->released, ss->drops_budget,
		        ss->drops_failure, ss->inflight_hwm);
		print_bytes(out, "       copied: ", ss->bytes_copied, ss->frames);
		for (unsigned k = 0; k < ss->nsites && k < VZ_SINK_MAX_COPY_SITES; k++) {
			const struct vz_copy_site *cs = &ss->site[k];
			fprintf(out, "       %s %s: %.0f B/frame in %" PRIu64 " events (%s)\n",
			        cs->conversion ? "conversion" : "COPY      ",
			        STR_OR(cs->element, "?"),
			        ss->frames ? (double)cs->bytes / (double)ss->frames : 0.0,
			        cs->events, STR_OR(cs->reason, "?"));
		}
		if (ss->advice[0])
			fprintf(out, "       advice: %s\n", STR_OR(ss->advice, ""));
		if (ss->ended[0])
			fprintf(out, "       ended early (%" PRIu64 " frames not sent): %s\n",
			        ss->drops_ended, STR_OR(ss->ended, ""));
		if (ss->shown || ss->replaced)
			fprintf(out,
			        "       shown: %" PRIu64 ", replaced before shown: %" PRIu64
			        "; shown = %s\n",
			        ss->shown, ss->replaced, STR_OR(ss->shown_note, "?"));
		if (ss->ncounters) {
			fputs("       per frame:", out);
			for (unsigned k = 0; k < ss->ncounters && k < VZ_SINK_MAX_COUNTERS; k++)
				fprintf(out, "%s %s %.2f", k ? "," : "",
				        STR_OR(ss->counter[k].name, "?"),
				        ss->frames
				                ? (double)ss->counter[k].total / (double)ss->frames
				                : 0.0);
			fputc('\n', out);
		}
		if (ss->timing[0])
			fprintf(out, "       timing: %s\n", ss->timing);
		if (ss->proof[0])
			fprintf(out, "       proof: %s\n", ss->proof);
	}
}

/* A figure that does not exist (no rate, no recovery yet) is null, not 0. */
static void num_or_null(FILE *out, bool have, double v)
{
	if (have)
		vz_json_num(out, v);
	else
		fputs("null", out);
}

int vz_report_write_json(FILE *out, const struct vz_report *r)
{
	const struct vz_report_meta *m = &r->meta;
	char fourcc[5];

	fputs("{\"command\":", out);
	vz_json_str(out, m->command);
	fputs(",\"device\":", out);
	vz_json_str(out, m->device);
	fputs(",\"card\":", out);
	vz_json_str(out, m->card);
	fputs(",\"driver\":", out);
	vz_json_str(out, m->driver);
	fputs(",\"format\":", out);
	if (m->fmt) {
		vz_fourcc_chars(m->fmt->fourcc, fourcc);
		fputs("{\"fourcc\":", out);
		vz_json_str(out, fourcc);
		fprintf(out,
		        ",\"width\":%" PRIu32 ",\"height\":%" PRIu32 ",\"fps\":", m->fmt->width,
		        m->fmt->height);
		double iv = vz_fmt_interval_ms(m->fmt);
		num_or_null(out, iv > 0.0, iv > 0.0 ? 1000.0 / iv : 0.0);
		fputc('}', out);
	} else {
		fputs("null", out);
	}
	fputs(",\"io\":", out);
	vz_json_str(out, m->io);
	json_notes(out, m->source_notes);
	fputs(",\"processors\":", out);
	vz_json_str(out, m->processors ? m->processors : "");
	fprintf(out, ",\"frames\":%" PRIu64 ",\"records\":%" PRIu64 ",\"duration_s\":", r->frames,
	        r->records);
	vz_json_num(out, r->duration_s);
	fputs(",\"fps\":", out);
	vz_json_num(out, r->fps);
	fputs(",\"nominal_interval_ms\":", out);
	num_or_null(out, r->nominal_interval_ms > 0.0, r->nominal_interval_ms);
	fputs(",\"interval_driver_ms\":", out);
	vz_json_summary(out, &r->interval_driver);
	fputs(",\"interval_dqbuf_ms\":", out);
	vz_json_summary(out, &r->interval_dqbuf);
	fputs(",\"latency_ms\":{\"dqbuf\":", out);
	vz_json_summary(out, &r->lat_dqbuf);
	fputs(",\"process\":", out);
	vz_json_summary(out, &r->lat_process);
	fputs(",\"requeue\":", out);
	vz_json_summary(out, &r->lat_requeue);
	fputs("},\"buffers\":", out);
	vz_json_str(out, r->stats.buffers);
	fputs(",\"buffers_note\":", out);
	vz_json_str(out, r->stats.buffers_note);
	fprintf(out, ",\"generation\":%" PRIu32 ",\"recoveries\":%" PRIu64 ",\"resume_ms\":",
	        r->stats.generation, r->stats.recoveries);
	num_or_null(out, r->stats.recoveries, (double)r->stats.last_resume_ns / VZ_NS_PER_MS);
	fputs(",\"outage_ms\":", out);
	num_or_null(out, r->stats.recoveries, (double)r->stats.last_outage_ns / VZ_NS_PER_MS);
	fputs(",\"sinks\":[", out);
	for (unsigned s = 0; s < r->nsinks; s++) {
		const struct vz_sink_stats *ss = &r->stats.sink[s];
		fputs(s ? ",{\"name\":" : "{\"name\":", out);
		vz_json_str(out, r->stats.sink_name[s]);
		fprintf(out, ",\"policy\":\"%s\"", vz_sink_policy_name(ss->policy));
		fprintf(out,
		        ",\"frames\":%" PRIu64 ",\"released\":%" PRIu64 ",\"drops_budget\":%" PRIu64
		        ",\"drops_failure\":%" PRIu64 ",\"drops_ended\":%" PRIu64
		        ",\"bytes_copied\":%" PRIu64 ",\"copies\":%" PRIu64 ",\"copy_sites\":[",
		        ss->frames, ss->released, ss->drops_budget, ss->drops_failure,
		        ss->drops_ended, ss->bytes_copied, ss->copies);
		for (unsigned k = 0; k < ss->nsites && k < VZ_SINK_MAX_COPY_SITES; k++) {
			const struct vz_copy_site *cs = &ss->site[k];
			fputs(k ? ",{\"element\":" : "{\"element\":", out);
			vz_json_str(out, cs->element);
			fputs(",\"reason\":", out);
			vz_json_str(out, cs->reason);
			fprintf(out,
			        ",\"conversion\":%s,\"events\":%" PRIu64 ",\"bytes\":%" PRIu64
			        ",\"bytes_per_frame\":",
			        cs->conversion ? "true" : "false", cs->events, cs->bytes);
			vz_json_num(out, ss->frames ? (double)cs->bytes / (double)ss->frames : 0.0);
			fputc('}', out);
		}
		fprintf(out, "],\"inflight_hwm\":%u,\"handoff_ms\":", ss->inflight_hwm);
		vz_json_summary(out, &r->lat_sink[s]);
		fputs(",\"hold_ms\":", out);
		vz_json_summary(out, &r->hold_sink[s]);
		fputs(",\"proof\":", out);
		vz_json_str(out, ss->proof);
		fputs(",\"advice\":", out);
		vz_json_str(out, ss->advice);
		fputs(",\"ended\":", out);
		vz_json_str(out, ss->ended);
		fprintf(out,
		        ",\"shown\":%" PRIu64 ",\"replaced\":%" PRIu64 ",\"shown_ms\":", ss->shown,
		        ss->replaced);
		vz_json_summary(out, &r->shown_sink[s]);
		fputs(",\"shown_note\":", out);
		vz_json_str(out, ss->shown_note);
		fputs(",\"timing\":", out);
		vz_json_str(out, ss->timing);
		fputs(",\"counters\":{", out);
		for (unsigned k = 0; k < ss->ncounters && k < VZ_SINK_MAX_COUNTERS; k++) {
			if (k)
				fputc(',', out);
			vz_json_str(out, ss->counter[k].name);
			fprintf(out, ":%" PRIu64, ss->counter[k].total);
		}
		fputs("}}", out);
	}
	fprintf(out, "],\"late_frames\":%" PRIu64 ",\"drops\":{", r->late_frames);
	for (int c = VZ_DROP_DRIVER_GAP; c < VZ_DROP_CAUSES; c++)
		fprintf(out, "%s\"%s\":%" PRIu64, c == VZ_DROP_DRIVER_GAP ? "" : ",",
		        vz_drop_cause_name((enum vz_drop_cause)c), r->drops[c]);
	fprintf(out,
	        "},\"inflight_hwm\":%u,\"bytes_copied\":%" PRIu64 ",\"bytes_copied_per_frame\":",
	        r->inflight_hwm, r->bytes_copied);
	vz_json_num(out, r->bytes_copied_per_frame);

	const struct vz_source_stats *c = &r->stats.capture;
	fprintf(out,
	        ",\"capture\":{\"frames\":%" PRIu64 ",\"driver_drops\":%" PRIu64
	        ",\"error_frames\":%" PRIu64 ",\"restarts\":%" PRIu64 ",\"disconnects\":%" PRIu64
	        ",\"reconnects\":%" PRIu64 ",\"source_changes\":%" PRIu64 ",\"seq_wraps\":%" PRIu64
	        ",\"ts_jumps\":%" PRIu64 ",\"bytes_copied\":%" PRIu64 ",\"short_frames\":%" PRIu64
	        ",\"sessions\":%" PRIu64 ",\"seq_span\":%" PRIu64 ",\"stale_queues\":%" PRIu64
	        ",\"qbuf_errors\":%" PRIu64 ",\"streamon_errors\":%" PRIu64 "}",
	        c->frames, c->driver_drops, c->error_frames, c->restarts, c->disconnects,
	        c->reconnects, c->source_changes, c->seq_wraps, c->ts_jumps, c->bytes_copied,
	        c->short_frames, c->sessions, c->seq_span, c->stale_queues, c->qbuf_errors,
	        c->streamon_errors);
	fputs(",\"realtime\":{\"rt\":", out);
	vz_json_str(out, m->rt_note);
	fputs(",\"cpu\":", out);
	vz_json_str(out, m->cpu_note);
	fputs(",\"mlock\":", out);
	vz_json_str(out, m->mlock_note);
	fputs("}}\n", out);

	if (fflush(out) != 0 || ferror(out))
		return -EIO;
	return 0;
}

/* ---- CSV ---- */

int vz_telemetry_write_csv(FILE *out, const struct vz_telemetry *t)
{
	unsigned ns = vz_telemetry_sinks(t);
	size_t n = vz_telemetry_count(t);

	fputs("id,sequence,gap,flags,t_driver_ns,t_dqbuf_ns,t_processed_ns,t_requeue_ns", out);
	for (unsigned s = 0; s < ns; s++)
		fprintf(out, ",sink%u_handoff_ns,sink%u_release_ns,sink%u_drop", s, s, s);
	/* Columns are only ever added at the end: scripts that read by
	 * position keep working. */
	for (unsigned s = 0; s < ns; s++)
		fprintf(out, ",sink%u_shown_ns", s);
	fputc('\n', out);

	for (size_t i = 0; i < n; i++) {
		const struct vz_frame_record *rec = vz_telemetry_get(t, i);
		fprintf(out,
		        "%" PRIu64 ",%" PRIu32 ",%" PRIu32 ",0x%08" PRIx32 ",%" PRId64 ",%" PRId64
		        ",%" PRId64 ",%" PRId64,
		        rec->id, rec->sequence, rec->gap, rec->v4l2_flags, rec->t_driver,
		        rec->t_dqbuf, rec->t_processed, rec->t_requeue);
		for (unsigned s = 0; s < ns; s++)
			fprintf(out, ",%" PRId64 ",%" PRId64 ",%s", rec->t_handoff[s],
			        rec->t_release[s],
			        vz_drop_cause_name((enum vz_drop_cause)rec->sink_drop[s]));
		for (unsigned s = 0; s < ns; s++)
			fprintf(out, ",%" PRId64, rec->t_shown[s]);
		fputc('\n', out);
	}
	if (fflush(out) != 0 || ferror(out))
		return -EIO;
	return 0;
}

int vz_report_plot_module(const char *path, const struct vz_report *r, const struct vz_telemetry *t,
                          struct vz_err *err)
{
	vz_report_plot_fn fn =
	        (vz_report_plot_fn)vz_module_symbol("vzero-plot", "vz_report_plot", "cairo", err);
	return fn ? fn(path, r, t, err) : (err->code < 0 ? err->code : -ENOENT);
}
