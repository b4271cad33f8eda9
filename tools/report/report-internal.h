/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the report, the plot and the status line, so the three
 * agree on what an interval is.
 */
#ifndef VZERO_REPORT_INTERNAL_H
#define VZERO_REPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "format.h"
#include "telemetry.h"

#define VZ_NS_PER_MS 1e6
/* A frame is late when its driver interval exceeds this many nominal ones. */
#define VZ_LATE_FACTOR 1.5

/*
 * The interval between two consecutive records on one clock, in ms.  A
 * record without a timestamp or a clock that stood still or went backwards
 * (driver timestamp jumps, counted as ts_jumps by capture) gives no
 * interval: a negative or zero "interval" would only poison the mean.  A
 * sequence gap is deliberately *not* excluded: frames the driver dropped
 * show up as one long interval, which is what the application saw.
 */
static inline bool vz_rec_interval_ms(const struct vz_frame_record *prev,
                                      const struct vz_frame_record *cur, bool driver_clock,
                                      double *ms)
{
	int64_t a = driver_clock ? prev->t_driver : prev->t_dqbuf;
	int64_t b = driver_clock ? cur->t_driver : cur->t_dqbuf;

	int64_t d = vz_ns_sub(b, a);
	if (a == 0 || b == 0 || d <= 0)
		return false;
	*ms = (double)d / VZ_NS_PER_MS;
	return true;
}

/*
 * When the frame was captured, for capture-to-screen latency: the driver's
 * timestamp, unless it lies after our DQBUF (vivid's end-of-frame stamp is a
 * prediction ~0.9 frame ahead): a frame cannot have been captured after we
 * held it, so then DQBUF is the best bound.  0 if neither is known.
 */
static inline int64_t vz_rec_capture_ns(const struct vz_frame_record *r)
{
	if (r->t_driver && (!r->t_dqbuf || r->t_driver <= r->t_dqbuf))
		return r->t_driver;
	return r->t_dqbuf;
}

/* The rate the format promised, as an interval in ms; 0 when unknown. */
static inline double vz_fmt_interval_ms(const struct vz_format *fmt)
{
	if (!fmt || fmt->fps_num == 0 || fmt->fps_den == 0)
		return 0.0;
	return 1000.0 * (double)fmt->fps_den / (double)fmt->fps_num;
}

/* The plot's layout, shared with its test so the test checks that each
 * panel really got data drawn into it. */
#define VZ_PLOT_W 1400
#define VZ_PLOT_H 1000
struct vz_plot_rect {
	double x, y, w, h;
};
#define VZ_PLOT_TIMELINE      ((struct vz_plot_rect){90, 105, 1280, 390})
#define VZ_PLOT_INTERVAL_HIST ((struct vz_plot_rect){90, 590, 590, 340})
#define VZ_PLOT_STAGE_HIST    ((struct vz_plot_rect){780, 590, 590, 340})

/* Printable fourcc without depending on format.c's table. */
static inline void vz_fourcc_chars(uint32_t fourcc, char buf[5])
{
	for (int i = 0; i < 4; i++) {
		char c = (char)((fourcc >> (8 * i)) & 0xff);
		buf[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	buf[4] = '\0';
}

#endif
