/* SPDX-License-Identifier: MIT */
/*
 * The jitter report: what vzero measured, for people (a table, a live
 * status line, a plot) and for scripts (JSON, a per-frame CSV timeline).
 *
 * All times in the report are milliseconds (double).  Intervals are
 * measured on two clocks: the driver's timestamps (what the camera did) and
 * our DQBUF times (what the application saw).  Stage latencies:
 *   dqbuf     t_dqbuf     - t_driver   (driver to application)
 *   process   t_processed - t_dqbuf    (in-place processors)
 *   sink i    t_handoff   - t_dqbuf    (until the sink got it)
 *   hold i    t_release   - t_handoff  (how long the sink kept it)
 *   shown i   t_shown     - capture    (capture to screen: the display's
 *             flip event; capture = the driver's timestamp, or DQBUF where
 *             the driver stamps ahead of it)
 *   requeue   t_requeue   - t_dqbuf    (out of the driver in total)
 * A frame is late when its driver interval exceeds 1.5x the nominal one
 * (the format's rate, or the median driver interval when it is unknown).
 *
 * Intervals are taken between consecutive records, i.e. consecutive
 * delivered frames.  A sequence gap is not excluded: the frames the driver
 * dropped show up as one long interval (usually also a late frame) and as
 * driver_gap drops.  A pair whose timestamp stands still or goes backwards
 * (a driver timestamp jump) gives no interval.  Latencies count only the
 * records that have both ends (no requeue yet, no hand-off to that sink:
 * not counted).  Everything covers the records the telemetry still holds.
 *
 * JSON schema (one object; times in ms, a summary with n == 0 and any
 * non-finite number are null):
 *   summary = {"n","mean","std","min","p50","p95","p99","p99_9","max"}
 *   {"command","device","card","driver",
 *    "format":{"fourcc","width","height","fps"} | null,
 *    "io","processors","frames","records","duration_s","fps",
 *    "nominal_interval_ms",
 *    "interval_driver_ms":summary,"interval_dqbuf_ms":summary,
 *    "latency_ms":{"dqbuf":summary,"process":summary,"requeue":summary},
 *    "buffers","buffers_note","generation","recoveries","resume_ms","outage_ms",
 *    "sinks":[{"name","policy","frames","released","drops_budget",
 *              "drops_failure","drops_ended","bytes_copied","copies",
 *              "copy_sites":[{"element","reason","conversion","events",
 *                             "bytes","bytes_per_frame"}],
 *              "inflight_hwm","handoff_ms":summary,"hold_ms":summary,
 *              "proof","advice","ended","shown","replaced",
 *              "shown_ms":summary,"shown_note"}],
 *    "late_frames",
 *    "drops":{"driver_gap","error_flag","sink_budget","sink_failure",
 *             "sink_ended"},
 *    "inflight_hwm","bytes_copied","bytes_copied_per_frame",
 *    "capture":{"frames","driver_drops","error_frames","restarts",
 *               "disconnects","reconnects","source_changes","seq_wraps",
 *               "ts_jumps","bytes_copied","short_frames","sessions",
 *               "seq_span","stale_queues","qbuf_errors","streamon_errors"},
 *    "realtime":{"rt","cpu","mlock"}}
 * Keys are only ever added, never renamed or removed.
 */
#ifndef VZERO_REPORT_H
#define VZERO_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "errors.h"
#include "json.h"
#include "pipeline.h"
#include "stats.h"
#include "telemetry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Context the report prints alongside the figures. */
struct vz_report_meta {
	const char *command; /* "run", "capture", "jitter" */
	const char *device;  /* /dev/video0 */
	const char *card;    /* "vivid" */
	const char *driver;
	const struct vz_format *fmt;
	const char *io;         /* "mmap", "dmabuf-import", "libv4l2" */
	const char *processors; /* "stamp,mask" or "" */
	/* real-time knobs: what was asked, what happened */
	const char *rt_note; /* e.g. "SCHED_FIFO 50: ok" / "not requested" */
	const char *cpu_note;
	const char *mlock_note;
	/* What the capture backend adds about its buffers and clocks, lines
	 * separated by '\n' (libcamera: read-write fds, which clock each
	 * timestamp is on); NULL or "" for none. */
	const char *source_notes;
};

struct vz_report {
	struct vz_report_meta meta;
	uint64_t frames;   /* good frames */
	uint64_t records;  /* frames the statistics cover */
	double duration_s; /* first to last frame */
	double fps;        /* measured */
	double nominal_interval_ms;
	struct vz_summary interval_driver, interval_dqbuf;
	struct vz_summary lat_dqbuf, lat_process, lat_requeue;
	unsigned nsinks;
	struct vz_summary lat_sink[VZ_MAX_SINKS], hold_sink[VZ_MAX_SINKS];
	struct vz_summary shown_sink[VZ_MAX_SINKS]; /* capture -> shown */
	uint64_t late_frames;
	uint64_t drops[VZ_DROP_CAUSES];
	unsigned inflight_hwm;
	uint64_t bytes_copied;
	double bytes_copied_per_frame;
	struct vz_pipeline_stats stats; /* the raw counters */
};

/* Computes statistics over the records the telemetry holds.  Allocates
 * scratch space (end of run only). */
int vz_report_compute(struct vz_report *r, const struct vz_report_meta *meta,
                      const struct vz_telemetry *t, const struct vz_pipeline_stats *st,
                      struct vz_err *err);

/* Steps through multi-line text such as source_notes: true with the next
 * line (without its '\n') in *line and *len, advancing *cursor. */
bool vz_report_next_line(const char **cursor, const char **line, int *len);

/* The summary table people read at the end of a run. */
void vz_report_print(FILE *out, const struct vz_report *r);
int vz_report_write_json(FILE *out, const struct vz_report *r);

/* One line per frame: id, sequence, gap, flags, all times (ns), each
 * sink's hand-off/release/drop cause, then each sink's shown time (0: not
 * shown, or a sink that does not know). */
int vz_telemetry_write_csv(FILE *out, const struct vz_telemetry *t);

/* PNG: interval histogram and interval-over-time, for both clocks and per
 * stage.  Uses cairo, so it lives in the vzero-plot module: the CLI loads
 * it (vz_module_symbol) only for --plot. */
int vz_report_plot(const char *path, const struct vz_report *r, const struct vz_telemetry *t,
                   struct vz_err *err);
typedef int (*vz_report_plot_fn)(const char *path, const struct vz_report *r,
                                 const struct vz_telemetry *t, struct vz_err *err);
/* vz_report_plot through the vzero-plot module, loaded on first use (cairo
 * stays out of programs that never plot). */
int vz_report_plot_module(const char *path, const struct vz_report *r, const struct vz_telemetry *t,
                          struct vz_err *err);

/* One status line ("\r"-terminated on a terminal): fps, interval p99 over
 * the last second, drops, bytes copied.  @scratch holds >= 2*window doubles,
 * preallocated by the caller so the status costs no allocation. */
void vz_report_status_line(FILE *out, const struct vz_telemetry *t,
                           const struct vz_pipeline_stats *st, double *scratch, size_t window,
                           bool tty);

/* The same moment for programs (tools/soak): one JSON object per line,
 * {"t_s","frames","inflight","drops":{by cause},"capture":{"frames",
 * "driver_drops","error_frames","seq_span","sessions","restarts",
 * "disconnects","reconnects","qbuf_errors","streamon_errors"},
 * "sinks":[{"name","frames","released","drops_budget","drops_failure",
 * "drops_ended"}]}; taken on the loop thread, so on every line capture
 * frames + driver drops + error frames = seq_span, and for each live sink
 * frames + drops by cause = frames (a record sink's frames waiting for
 * room are in neither yet).  @inflight: frames out of the driver now. */
void vz_report_status_json(FILE *out, const struct vz_pipeline_stats *st, unsigned inflight,
                           double t_s);

#ifdef __cplusplus
}
#endif
#endif
