/* SPDX-License-Identifier: MIT */
#include <cairo.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report-internal.h"
#include "report.h"

#define PLOT_W VZ_PLOT_W
#define PLOT_H VZ_PLOT_H
#define FONT   "DejaVu Sans"

struct rgb {
	double r, g, b;
};

static const struct rgb C_DRIVER = {0.12, 0.40, 0.75};
static const struct rgb C_DQBUF = {0.95, 0.50, 0.05};
static const struct rgb C_LATE = {0.85, 0.10, 0.10};
static const struct rgb C_GAP = {0.55, 0.20, 0.65};
static const struct rgb C_AXIS = {0.20, 0.20, 0.20};
static const struct rgb C_GRID = {0.90, 0.90, 0.90};
static const struct rgb C_TEXT = {0.10, 0.10, 0.10};
static const struct rgb C_MUTED = {0.40, 0.40, 0.40};
static const struct rgb C_STAGE[] = {
        {0.00, 0.55, 0.55}, /* dqbuf */
        {0.20, 0.60, 0.15}, /* processing */
        {0.10, 0.10, 0.10}, /* requeue */
        {0.55, 0.20, 0.65}, /* sink holds from here on */
        {0.80, 0.35, 0.55}, {0.55, 0.35, 0.15}, {0.35, 0.45, 0.85}, {0.75, 0.60, 0.00},
        {0.45, 0.70, 0.70}, {0.60, 0.60, 0.60}, {0.90, 0.20, 0.60},
};

enum scale {
	SCALE_LINEAR,
	SCALE_LOG10, /* values > 0 */
	SCALE_LOG1P, /* counts: log10(1 + c), so 0 sits on the axis */
};

struct axis {
	double lo, hi; /* in value space */
	enum scale scale;
};

struct panel {
	double x, y, w, h; /* the plotting area, without the labels */
	struct axis ax, ay;
};

static void set_rgb(cairo_t *cr, struct rgb c)
{
	cairo_set_source_rgb(cr, c.r, c.g, c.b);
}

static void set_rgba(cairo_t *cr, struct rgb c, double a)
{
	cairo_set_source_rgba(cr, c.r, c.g, c.b, a);
}

static double scale_fwd(enum scale s, double v)
{
	switch (s) {
	case SCALE_LOG10:
		return log10(v > 1e-12 ? v : 1e-12);
	case SCALE_LOG1P:
		return log10(1.0 + (v > 0.0 ? v : 0.0));
	case SCALE_LINEAR:
		break;
	}
	return v;
}

static double map_x(const struct panel *p, double v)
{
	double lo = scale_fwd(p->ax.scale, p->ax.lo), hi = scale_fwd(p->ax.scale, p->ax.hi);
	double f = (scale_fwd(p->ax.scale, v) - lo) / (hi - lo);
	return p->x + f * p->w;
}

static double map_y(const struct panel *p, double v)
{
	double lo = scale_fwd(p->ay.scale, p->ay.lo), hi = scale_fwd(p->ay.scale, p->ay.hi);
	double f = (scale_fwd(p->ay.scale, v) - lo) / (hi - lo);
	return p->y + p->h - f * p->h;
}

enum align {
	AL_LEFT,
	AL_CENTER,
	AL_RIGHT,
};

/* cairo refuses the whole drawing over one invalid UTF-8 byte, and card
 * names come from drivers: copy @in with such bytes replaced by '?'. */
static const char *utf8_clean(const char *in, char *buf, size_t len)
{
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)in;

	while (*p && o + 5 < len) {
		size_t l = vz_utf8_len(p);
		if (l == 0 || *p < 0x20) {
			buf[o++] = '?';
			p++;
		} else {
			memcpy(buf + o, p, l);
			o += l;
			p += l;
		}
	}
	buf[o] = '\0';
	return buf;
}

static void text(cairo_t *cr, double x, double y, enum align al, double size, bool bold,
                 struct rgb c, const char *raw)
{
	cairo_text_extents_t ext;
	char buf[512];
	const char *s = utf8_clean(raw, buf, sizeof(buf));

	cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
	                       bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, size);
	cairo_text_extents(cr, s, &ext);
	if (al == AL_CENTER)
		x -= ext.x_advance / 2;
	else if (al == AL_RIGHT)
		x -= ext.x_advance;
	set_rgb(cr, c);
	cairo_move_to(cr, x, y);
	cairo_show_text(cr, s);
}

static void text_vertical(cairo_t *cr, double x, double y, double size, const char *s)
{
	cairo_text_extents_t ext;

	cairo_save(cr);
	cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, size);
	cairo_text_extents(cr, s, &ext);
	cairo_translate(cr, x, y);
	cairo_rotate(cr, -M_PI / 2);
	set_rgb(cr, C_TEXT);
	cairo_move_to(cr, -ext.x_advance / 2, 0);
	cairo_show_text(cr, s);
	cairo_restore(cr);
}

/* A 1-2-5 step giving about @want ticks over @span. */
static double nice_step(double span, int want)
{
	double raw = span / want;
	double mag = pow(10.0, floor(log10(raw)));
	double f = raw / mag;
	return mag * (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0);
}

static void fmt_tick(char *buf, size_t len, double v, double step)
{
	int dec = step >= 1.0 ? 0 : (int)ceil(-log10(step) - 1e-9);
	if (dec > 6)
		dec = 6;
	snprintf(buf, len, "%.*f", dec, fabs(v) < step * 1e-6 ? 0.0 : v);
}

/* Tick positions of one axis, with labels; returns how many (<= max). */
static int ticks(const struct axis *a, int want, double *pos, int max, double *step_out)
{
	int n = 0;

	if (a->scale == SCALE_LINEAR) {
		double step = nice_step(a->hi - a->lo, want);
		*step_out = step;
		for (double v = ceil(a->lo / step - 1e-9) * step;
		     v <= a->hi + step * 1e-9 && n < max; v += step)
			pos[n++] = v;
		return n;
	}
	*step_out = 1.0;
	if (a->scale == SCALE_LOG1P) {
		pos[n++] = 0.0;
		for (double v = 1.0; v <= a->hi && n < max; v *= 10.0)
			pos[n++] = v;
		return n;
	}
	for (double e = ceil(log10(a->lo) - 1e-9); e <= log10(a->hi) + 1e-9 && n < max; e += 1.0)
		pos[n++] = pow(10.0, e);
	return n;
}

static void fmt_log_tick(char *buf, size_t len, double v)
{
	if (v <= 0.0)
		snprintf(buf, len, "0");
	else if (v >= 1.0)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.*f", (int)ceil(-log10(v) - 1e-9), v);
}

static void draw_axes(cairo_t *cr, const struct panel *p, const char *title, const char *xlabel,
                      const char *ylabel)
{
	double pos[64], step;
	char buf[32];
	int n;

	text(cr, p->x, p->y - 12, AL_LEFT, 15, true, C_TEXT, title);

	/* grid and y ticks */
	cairo_set_line_width(cr, 1.0);
	n = ticks(&p->ay, 6, pos, 64, &step);
	for (int i = 0; i < n; i++) {
		double y = round(map_y(p, pos[i])) + 0.5;
		set_rgb(cr, C_GRID);
		cairo_move_to(cr, p->x, y);
		cairo_line_to(cr, p->x + p->w, y);
		cairo_stroke(cr);
		if (p->ay.scale == SCALE_LINEAR)
			fmt_tick(buf, sizeof(buf), pos[i], step);
		else
			fmt_log_tick(buf, sizeof(buf), pos[i]);
		text(cr, p->x - 6, y + 4, AL_RIGHT, 11, false, C_TEXT, buf);
	}
	n = ticks(&p->ax, 10, pos, 64, &step);
	for (int i = 0; i < n; i++) {
		double x = round(map_x(p, pos[i])) + 0.5;
		set_rgb(cr, C_GRID);
		cairo_move_to(cr, x, p->y);
		cairo_line_to(cr, x, p->y + p->h);
		cairo_stroke(cr);
		set_rgb(cr, C_AXIS);
		cairo_move_to(cr, x, p->y + p->h);
		cairo_line_to(cr, x, p->y + p->h + 5);
		cairo_stroke(cr);
		if (p->ax.scale == SCALE_LINEAR)
			fmt_tick(buf, sizeof(buf), pos[i], step);
		else
			fmt_log_tick(buf, sizeof(buf), pos[i]);
		text(cr, x, p->y + p->h + 18, AL_CENTER, 11, false, C_TEXT, buf);
	}

	set_rgb(cr, C_AXIS);
	cairo_rectangle(cr, round(p->x) + 0.5, round(p->y) + 0.5, round(p->w), round(p->h));
	cairo_stroke(cr);

	text(cr, p->x + p->w / 2, p->y + p->h + 38, AL_CENTER, 12, false, C_TEXT, xlabel);
	text_vertical(cr, p->x - 52, p->y + p->h / 2, 12, ylabel);
}

enum mark {
	MARK_LINE,
	MARK_DASH,
	MARK_DOT,
	MARK_CIRCLE,
	MARK_TICK,
	MARK_BOX,
};

struct legend_item {
	struct rgb c;
	enum mark mark;
	char label[128];
};

static void draw_mark(cairo_t *cr, enum mark m, struct rgb c, double x, double y)
{
	set_rgb(cr, c);
	switch (m) {
	case MARK_LINE:
	case MARK_DASH:
	case MARK_DOT:
		cairo_set_line_width(cr, 2.0);
		if (m == MARK_DASH) {
			const double d[] = {6, 4};
			cairo_set_dash(cr, d, 2, 0);
		} else if (m == MARK_DOT) {
			const double d[] = {2, 3};
			cairo_set_dash(cr, d, 2, 0);
		}
		cairo_move_to(cr, x, y);
		cairo_line_to(cr, x + 22, y);
		cairo_stroke(cr);
		cairo_set_dash(cr, NULL, 0, 0);
		break;
	case MARK_CIRCLE:
		cairo_set_line_width(cr, 1.5);
		cairo_new_path(cr);
		cairo_arc(cr, x + 11, y, 4, 0, 2 * M_PI);
		cairo_stroke(cr);
		break;
	case MARK_TICK:
		cairo_set_line_width(cr, 2.0);
		cairo_move_to(cr, x + 11, y - 6);
		cairo_line_to(cr, x + 11, y + 6);
		cairo_stroke(cr);
		break;
	case MARK_BOX:
		set_rgba(cr, c, 0.25);
		cairo_rectangle(cr, x + 3, y - 6, 16, 12);
		cairo_fill_preserve(cr);
		set_rgb(cr, c);
		cairo_set_line_width(cr, 1.5);
		cairo_stroke(cr);
		break;
	}
}

/* A legend box in the top-right corner of the panel. */
static void draw_legend(cairo_t *cr, const struct panel *p, const struct legend_item *it, int n)
{
	cairo_text_extents_t ext;
	double wmax = 0;

	cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, 11);
	for (int i = 0; i < n; i++) {
		cairo_text_extents(cr, it[i].label, &ext);
		if (ext.x_advance > wmax)
			wmax = ext.x_advance;
	}
	double w = wmax + 44, h = 18.0 * n + 8;
	double x = p->x + p->w - w - 8, y = p->y + 8;
	cairo_set_source_rgba(cr, 1, 1, 1, 0.88);
	cairo_rectangle(cr, x, y, w, h);
	cairo_fill_preserve(cr);
	set_rgb(cr, C_GRID);
	cairo_set_line_width(cr, 1.0);
	cairo_stroke(cr);
	for (int i = 0; i < n; i++) {
		double ly = y + 13 + 18.0 * i;
		draw_mark(cr, it[i].mark, it[i].c, x + 6, ly);
		text(cr, x + 34, ly + 4, AL_LEFT, 11, false, C_TEXT, it[i].label);
	}
}

static void hline(cairo_t *cr, const struct panel *p, double v, struct rgb c, enum mark m)
{
	if (v < p->ay.lo || v > p->ay.hi)
		return;
	double y = map_y(p, v);
	set_rgb(cr, c);
	cairo_set_line_width(cr, 1.5);
	const double d[] = {m == MARK_DOT ? 2.0 : 7.0, 4.0};
	cairo_set_dash(cr, d, 2, 0);
	cairo_move_to(cr, p->x, y);
	cairo_line_to(cr, p->x + p->w, y);
	cairo_stroke(cr);
	cairo_set_dash(cr, NULL, 0, 0);
}

/* ---- data ---- */

struct series {
	double *x, *y; /* frame index, interval (ms) */
	size_t n;
};

struct plot_data {
	struct series drv, dq;
	double *stage[3 + 3 * VZ_MAX_SINKS];
	size_t nstage[3 + 3 * VZ_MAX_SINKS];
	char stage_name[3 + 3 * VZ_MAX_SINKS][48];
	unsigned nstages;
	double *gap_x;
	size_t ngap;
	void *mem;
};

static int collect(struct plot_data *d, const struct vz_report *r, const struct vz_telemetry *t)
{
	size_t n = vz_telemetry_count(t);
	unsigned ns = r->nsinks < vz_telemetry_sinks(t) ? r->nsinks : vz_telemetry_sinks(t);

	d->nstages = 3 + 3 * ns;
	/* 4 series arrays, one per stage, gaps: one block, one free. */
	d->mem = malloc((n + 1) * (5 + d->nstages) * sizeof(double));
	if (!d->mem)
		return -ENOMEM;
	double *m = d->mem;
	d->drv.x = m, m += n + 1;
	d->drv.y = m, m += n + 1;
	d->dq.x = m, m += n + 1;
	d->dq.y = m, m += n + 1;
	d->gap_x = m, m += n + 1;
	for (unsigned s = 0; s < d->nstages; s++)
		d->stage[s] = m, m += n + 1;

	snprintf(d->stage_name[0], sizeof(d->stage_name[0]), "driver -> dqbuf");
	snprintf(d->stage_name[1], sizeof(d->stage_name[1]), "processing");
	snprintf(d->stage_name[2], sizeof(d->stage_name[2]), "total out of driver");
	for (unsigned s = 0; s < ns; s++) {
		snprintf(d->stage_name[3 + 3 * s], sizeof(d->stage_name[0]), "sink %u hand-off", s);
		snprintf(d->stage_name[4 + 3 * s], sizeof(d->stage_name[0]), "sink %u hold", s);
		snprintf(d->stage_name[5 + 3 * s], sizeof(d->stage_name[0]),
		         "sink %u capture->shown", s);
	}

	for (size_t i = 0; i < n; i++) {
		const struct vz_frame_record *cur = vz_telemetry_get(t, i);
		double v;
		if (i > 0) {
			const struct vz_frame_record *prev = vz_telemetry_get(t, i - 1);
			if (vz_rec_interval_ms(prev, cur, true, &v)) {
				d->drv.x[d->drv.n] = (double)cur->id;
				d->drv.y[d->drv.n++] = v;
			}
			if (vz_rec_interval_ms(prev, cur, false, &v)) {
				d->dq.x[d->dq.n] = (double)cur->id;
				d->dq.y[d->dq.n++] = v;
			}
		}
		if (cur->gap)
			d->gap_x[d->ngap++] = (double)cur->id;

		int64_t span[3 + 3 * VZ_MAX_SINKS][2] = {
		        {cur->t_driver, cur->t_dqbuf},
		        {cur->t_dqbuf, cur->t_processed},
		        {cur->t_dqbuf, cur->t_requeue},
		};
		for (unsigned s = 0; s < ns; s++) {
			int64_t rel = __atomic_load_n(&cur->t_release[s], __ATOMIC_ACQUIRE);
			span[3 + 3 * s][0] = cur->t_dqbuf;
			span[3 + 3 * s][1] = cur->t_handoff[s];
			span[4 + 3 * s][0] = cur->t_handoff[s];
			span[4 + 3 * s][1] = rel;
			span[5 + 3 * s][0] = vz_rec_capture_ns(cur);
			span[5 + 3 * s][1] = cur->t_shown[s];
		}
		for (unsigned s = 0; s < d->nstages; s++) {
			if (span[s][0] != 0 && span[s][1] != 0)
				d->stage[s][d->nstage[s]++] =
				        (double)(span[s][1] - span[s][0]) / 1e6;
		}
	}
	return 0;
}

static double max_of(const double *v, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

/* The y range of the interval plots: everything, unless a few huge
 * outliers (a reconnect, a stall) would flatten the jitter people look
 * for; then clip and say so. */
static double interval_cap(const struct vz_report *r, double all_max, bool *clipped)
{
	double typical = fmax(r->interval_driver.p999, r->interval_dqbuf.p999);
	double cap = fmax(2.5 * r->nominal_interval_ms, 1.3 * typical);
	*clipped = all_max > cap && cap > 0;
	return *clipped ? cap : fmax(all_max * 1.08, 1.7 * r->nominal_interval_ms);
}

/* Legends sit in the top right of a panel: the share of the height that
 * data may use so it never hides under @rows legend rows. */
static double data_share(const struct panel *p, int rows)
{
	double f = 1.0 - (18.0 * rows + 30.0) / p->h;
	return f < 0.4 ? 0.4 : f;
}

/* A log1p count axis whose top @top count reaches @share of the height. */
static double log1p_top(double top, double share)
{
	return fmax(10.0, pow(1.0 + top, 1.0 / share) - 1.0);
}

static void series_line(cairo_t *cr, const struct panel *p, const struct series *s, struct rgb c,
                        double clamp)
{
	if (s->n == 0)
		return;
	cairo_save(cr);
	cairo_rectangle(cr, p->x, p->y, p->w, p->h);
	cairo_clip(cr);
	set_rgba(cr, c, 0.85);
	cairo_set_line_width(cr, s->n > 2000 ? 0.7 : 1.2);
	for (size_t i = 0; i < s->n; i++) {
		double x = map_x(p, s->x[i]), y = map_y(p, fmin(s->y[i], clamp));
		/* Break the line where frames are missing from the series. */
		if (i == 0 || s->x[i] != s->x[i - 1] + 1)
			cairo_move_to(cr, x, y);
		else
			cairo_line_to(cr, x, y);
	}
	cairo_stroke(cr);
	cairo_restore(cr);
}

static void panel_timeline(cairo_t *cr, const struct panel *area, const struct vz_report *r,
                           const struct plot_data *d)
{
	struct panel p = *area;
	struct legend_item it[6];
	int ni = 0;
	bool clipped;
	double late = VZ_LATE_FACTOR * r->nominal_interval_ms;

	double xmax = 1;
	if (d->drv.n)
		xmax = fmax(xmax, d->drv.x[d->drv.n - 1]);
	if (d->dq.n)
		xmax = fmax(xmax, d->dq.x[d->dq.n - 1]);
	double xmin = fmin(d->drv.n ? d->drv.x[0] : xmax, d->dq.n ? d->dq.x[0] : xmax) - 1;
	p.ax = (struct axis){xmin < 0 ? 0 : xmin, xmax, SCALE_LINEAR};
	double all = fmax(max_of(d->drv.y, d->drv.n), max_of(d->dq.y, d->dq.n));
	double cap = interval_cap(r, all, &clipped);
	if (cap <= 0)
		cap = 1;
	p.ay = (struct axis){0, cap / data_share(&p, 6), SCALE_LINEAR};

	draw_axes(cr, &p, "Frame interval over time", "frame index",
	          clipped ? "interval (ms, clipped)" : "interval (ms)");

	series_line(cr, &p, &d->dq, C_DQBUF, cap);
	series_line(cr, &p, &d->drv, C_DRIVER, cap);
	hline(cr, &p, r->nominal_interval_ms, C_MUTED, MARK_DASH);
	hline(cr, &p, late, C_LATE, MARK_DOT);

	/* Late frames circled, clipped ones as arrows with their value. */
	uint64_t nlate = 0;
	for (size_t i = 0; i < d->drv.n; i++) {
		double v = d->drv.y[i];
		if (late <= 0 || v <= late)
			continue;
		nlate++;
		double x = map_x(&p, d->drv.x[i]);
		set_rgb(cr, C_LATE);
		cairo_set_line_width(cr, 1.5);
		if (v > cap) {
			double y = map_y(&p, cap) - 4;
			cairo_move_to(cr, x, y);
			cairo_line_to(cr, x - 5, y + 9);
			cairo_line_to(cr, x + 5, y + 9);
			cairo_close_path(cr);
			cairo_fill(cr);
			char buf[32];
			snprintf(buf, sizeof(buf), "%.0f", v);
			text(cr, x + 7, y + 10, AL_LEFT, 10, false, C_LATE, buf);
		} else {
			cairo_new_path(cr);
			cairo_arc(cr, x, map_y(&p, v), 5, 0, 2 * M_PI);
			cairo_stroke(cr);
		}
	}
	for (size_t i = 0; i < d->ngap; i++) {
		double x = map_x(&p, d->gap_x[i]);
		set_rgb(cr, C_GAP);
		cairo_set_line_width(cr, 2.0);
		cairo_move_to(cr, x, p.y + p.h);
		cairo_line_to(cr, x, p.y + p.h - 12);
		cairo_stroke(cr);
	}

	it[ni] = (struct legend_item){C_DRIVER, MARK_LINE, ""};
	snprintf(it[ni++].label, sizeof(it[0].label), "driver clock: p50 %.3f  p99 %.3f  max %.3f",
	         r->interval_driver.p50, r->interval_driver.p99, r->interval_driver.max);
	it[ni] = (struct legend_item){C_DQBUF, MARK_LINE, ""};
	snprintf(it[ni++].label, sizeof(it[0].label), "dqbuf clock:  p50 %.3f  p99 %.3f  max %.3f",
	         r->interval_dqbuf.p50, r->interval_dqbuf.p99, r->interval_dqbuf.max);
	it[ni] = (struct legend_item){C_MUTED, MARK_DASH, ""};
	snprintf(it[ni++].label, sizeof(it[0].label), "nominal %.3f ms%s", r->nominal_interval_ms,
	         vz_fmt_interval_ms(r->meta.fmt) > 0 ? "" : " (median: rate unknown)");
	it[ni] = (struct legend_item){C_LATE, MARK_DOT, ""};
	snprintf(it[ni++].label, sizeof(it[0].label), "late threshold %.1f x nominal",
	         VZ_LATE_FACTOR);
	it[ni] = (struct legend_item){C_LATE, MARK_CIRCLE, ""};
	snprintf(it[ni++].label, sizeof(it[0].label), "late frames: %" PRIu64, nlate);
	it[ni] = (struct legend_item){C_GAP, MARK_TICK, ""};
	snprintf(it[ni++].label, sizeof(it[0].label), "driver sequence gaps: %zu", d->ngap);
	draw_legend(cr, &p, it, ni);
}

/* Counts @v into @nb bins over [lo, hi] on @sc; values past the ends land
 * in the end bins so nothing silently disappears. */
static void bin(const double *v, size_t n, double lo, double hi, enum scale sc, unsigned *bins,
                unsigned nb)
{
	double a = scale_fwd(sc, lo), b = scale_fwd(sc, hi);
	memset(bins, 0, nb * sizeof(*bins));
	for (size_t i = 0; i < n; i++) {
		double f = (scale_fwd(sc, v[i]) - a) / (b - a);
		long k = (long)floor(f * nb);
		if (k < 0)
			k = 0;
		if (k >= (long)nb)
			k = (long)nb - 1;
		bins[k]++;
	}
}

static void hist_outline(cairo_t *cr, const struct panel *p, const unsigned *bins, unsigned nb,
                         struct rgb c)
{
	double y0 = p->y + p->h;

	cairo_move_to(cr, p->x, y0);
	for (unsigned k = 0; k < nb; k++) {
		double x0 = p->x + p->w * k / nb, x1 = p->x + p->w * (k + 1) / nb;
		double y = map_y(p, bins[k]);
		cairo_line_to(cr, x0, y);
		cairo_line_to(cr, x1, y);
	}
	cairo_line_to(cr, p->x + p->w, y0);
	cairo_close_path(cr);
	set_rgba(cr, c, 0.18);
	cairo_fill_preserve(cr);
	set_rgb(cr, c);
	cairo_set_line_width(cr, 1.3);
	cairo_stroke(cr);
}

static unsigned max_bin(const unsigned *b, unsigned nb)
{
	unsigned m = 0;
	for (unsigned k = 0; k < nb; k++)
		if (b[k] > m)
			m = b[k];
	return m;
}

static void vline_label(cairo_t *cr, const struct panel *p, double v, struct rgb c,
                        const char *label, int row)
{
	if (v < p->ax.lo || v > p->ax.hi)
		return;
	double x = map_x(p, v);
	set_rgba(cr, c, 0.9);
	cairo_set_line_width(cr, 1.2);
	const double d[] = {4, 3};
	cairo_set_dash(cr, d, 2, 0);
	cairo_move_to(cr, x, p->y);
	cairo_line_to(cr, x, p->y + p->h);
	cairo_stroke(cr);
	cairo_set_dash(cr, NULL, 0, 0);
	text(cr, x + 3, p->y + p->h - 8 - 13 * row, AL_LEFT, 10, false, c, label);
}

#define NBINS 100

static void panel_interval_hist(cairo_t *cr, const struct panel *area, const struct vz_report *r,
                                const struct plot_data *d)
{
	struct panel p = *area;
	unsigned bd[NBINS], bq[NBINS];
	struct legend_item it[2];
	char buf[128];

	/* The histogram is for the shape of the jitter: up to the p99 of
	 * either clock.  The rare long intervals beyond it would squeeze the
	 * shape into one bin; they are counted here and drawn in the
	 * timeline above. */
	double all = fmax(max_of(d->drv.y, d->drv.n), max_of(d->dq.y, d->dq.n));
	double lo = all;
	for (size_t i = 0; i < d->drv.n; i++)
		lo = fmin(lo, d->drv.y[i]);
	for (size_t i = 0; i < d->dq.n; i++)
		lo = fmin(lo, d->dq.y[i]);
	double hi = fmax(r->interval_driver.p99, r->interval_dqbuf.p99);
	if (hi < lo)
		hi = lo;
	double pad = fmax((hi - lo) * 0.08, 0.01 * fmax(r->nominal_interval_ms, 1e-3));
	lo = fmax(0, lo - pad);
	hi += pad;
	if (hi <= lo)
		hi = lo + 1;

	uint64_t beyond[2] = {0, 0};
	memset(bd, 0, sizeof(bd));
	memset(bq, 0, sizeof(bq));
	for (int clock = 0; clock < 2; clock++) {
		const struct series *s = clock ? &d->dq : &d->drv;
		unsigned *b = clock ? bq : bd;
		for (size_t i = 0; i < s->n; i++) {
			if (s->y[i] > hi) {
				beyond[clock]++;
				continue;
			}
			long k = (long)floor((s->y[i] - lo) / (hi - lo) * NBINS);
			b[k < 0 ? 0 : k >= NBINS ? NBINS - 1 : k]++;
		}
	}
	unsigned top =
	        max_bin(bd, NBINS) > max_bin(bq, NBINS) ? max_bin(bd, NBINS) : max_bin(bq, NBINS);
	p.ax = (struct axis){lo, hi, SCALE_LINEAR};
	p.ay = (struct axis){0, log1p_top(top, data_share(&p, 3)), SCALE_LOG1P};

	draw_axes(cr, &p, "Frame interval histogram (up to p99)", "interval (ms)",
	          "frames (log scale)");
	hist_outline(cr, &p, bq, NBINS, C_DQBUF);
	hist_outline(cr, &p, bd, NBINS, C_DRIVER);

	snprintf(buf, sizeof(buf), "p50 %.3f", r->interval_driver.p50);
	vline_label(cr, &p, r->interval_driver.p50, C_DRIVER, buf, 0);
	snprintf(buf, sizeof(buf), "p99 %.3f", r->interval_driver.p99);
	vline_label(cr, &p, r->interval_driver.p99, C_DRIVER, buf, 1);
	if (r->nominal_interval_ms > 0)
		vline_label(cr, &p, r->nominal_interval_ms, C_MUTED, "nominal", 2);

	it[0] = (struct legend_item){C_DRIVER, MARK_BOX, ""};
	snprintf(it[0].label, sizeof(it[0].label), "driver clock (n %" PRIu64 ", std %.3f ms)",
	         r->interval_driver.n, r->interval_driver.std);
	it[1] = (struct legend_item){C_DQBUF, MARK_BOX, ""};
	snprintf(it[1].label, sizeof(it[1].label), "dqbuf clock (n %" PRIu64 ", std %.3f ms)",
	         r->interval_dqbuf.n, r->interval_dqbuf.std);
	draw_legend(cr, &p, it, 2);
	if (beyond[0] || beyond[1]) {
		snprintf(buf, sizeof(buf),
		         "beyond %.3f ms: %" PRIu64 " driver, %" PRIu64
		         " dqbuf intervals (max %.3f)",
		         hi, beyond[0], beyond[1],
		         fmax(r->interval_driver.max, r->interval_dqbuf.max));
		text(cr, p.x + p.w - 10, p.y + 68, AL_RIGHT, 11, false, C_LATE, buf);
	}
}

static void panel_stage_hist(cairo_t *cr, const struct panel *area, const struct vz_report *r,
                             const struct plot_data *d)
{
	struct panel p = *area;
	unsigned bins[3 + 3 * VZ_MAX_SINKS][NBINS];
	struct legend_item it[3 + 3 * VZ_MAX_SINKS];
	int ni = 0;
	double lo = INFINITY, hi = 0;

	for (unsigned s = 0; s < d->nstages; s++) {
		for (size_t i = 0; i < d->nstage[s]; i++) {
			double v = d->stage[s][i];
			if (v > 0) {
				lo = fmin(lo, v);
				hi = fmax(hi, v);
			}
		}
	}
	if (!(hi > 0)) {
		lo = 0.001;
		hi = 1;
	}
	/* Whole decades, never below 1 us: finer than the clocks we read. */
	lo = pow(10, floor(log10(fmax(lo, 0.001))));
	hi = pow(10, ceil(log10(hi) + 1e-9));
	if (hi <= lo)
		hi = lo * 10;

	unsigned top = 1;
	for (unsigned s = 0; s < d->nstages; s++) {
		bin(d->stage[s], d->nstage[s], lo, hi, SCALE_LOG10, bins[s], NBINS);
		if (max_bin(bins[s], NBINS) > top)
			top = max_bin(bins[s], NBINS);
	}
	p.ax = (struct axis){lo, hi, SCALE_LOG10};
	p.ay = (struct axis){0, log1p_top(top, data_share(&p, (int)d->nstages)), SCALE_LOG1P};
	draw_axes(cr, &p, "Stage latency histogram", "latency (ms, log scale)",
	          "frames (log scale)");

	for (unsigned s = 0; s < d->nstages; s++) {
		struct rgb c = C_STAGE[s % (sizeof(C_STAGE) / sizeof(C_STAGE[0]))];
		/* Only a display knows when a frame was shown. */
		if (d->nstage[s] == 0 && s >= 3 && (s - 3) % 3 == 2)
			continue;
		double lat_max = max_of(d->stage[s], d->nstage[s]);
		it[ni] = (struct legend_item){c, MARK_BOX, ""};
		if (d->nstage[s] == 0) {
			snprintf(it[ni++].label, sizeof(it[0].label), "%s: no data",
			         d->stage_name[s]);
			continue;
		}
		/* Latencies <= 0 cannot sit on a log axis; say what they are
		 * instead of drawing a spike at the left edge.  Zero: a stage
		 * with nothing to do (no processors).  Negative: the driver
		 * stamps frames ahead of DQBUF (vivid's end-of-frame time runs
		 * ~0.9 frame ahead), which is the driver's clock, not ours. */
		if (lat_max <= 0) {
			const struct vz_summary *sm = s == 0 ? &r->lat_dqbuf : NULL;
			if (sm && sm->n && sm->max < 0)
				snprintf(it[ni++].label, sizeof(it[0].label),
				         "%s: p50 %.3f ms (driver timestamps ahead of DQBUF)",
				         d->stage_name[s], sm->p50);
			else
				snprintf(it[ni++].label, sizeof(it[0].label),
				         "%s: 0 (nothing to do)", d->stage_name[s]);
			continue;
		}
		hist_outline(cr, &p, bins[s], NBINS, c);
		const struct vz_summary *sm = s == 0             ? &r->lat_dqbuf
		                              : s == 1           ? &r->lat_process
		                              : s == 2           ? &r->lat_requeue
		                              : (s - 3) % 3 == 0 ? &r->lat_sink[(s - 3) / 3]
		                              : (s - 3) % 3 == 1 ? &r->hold_sink[(s - 3) / 3]
		                                                 : &r->shown_sink[(s - 3) / 3];
		snprintf(it[ni++].label, sizeof(it[0].label), "%s: p50 %.3f  p99 %.3f ms",
		         d->stage_name[s], sm->p50, sm->p99);
	}
	draw_legend(cr, &p, it, ni);
}

static struct panel panel_at(struct vz_plot_rect r)
{
	return (struct panel){.x = r.x, .y = r.y, .w = r.w, .h = r.h};
}

static void draw_title(cairo_t *cr, const struct vz_report *r)
{
	const struct vz_report_meta *m = &r->meta;
	char line[512], fourcc[5] = "?";
	char fmt[96] = "format unknown";

	if (m->fmt) {
		vz_fourcc_chars(m->fmt->fourcc, fourcc);
		double iv = vz_fmt_interval_ms(m->fmt);
		if (iv > 0)
			snprintf(fmt, sizeof(fmt), "%s %" PRIu32 "x%" PRIu32 " @ %.3f fps", fourcc,
			         m->fmt->width, m->fmt->height, 1000.0 / iv);
		else
			snprintf(fmt, sizeof(fmt), "%s %" PRIu32 "x%" PRIu32, fourcc, m->fmt->width,
			         m->fmt->height);
	}
	snprintf(line, sizeof(line), "vzero %s  %s (%s)  %s  io %s",
	         m->command ? m->command : "report", m->device ? m->device : "?",
	         m->card ? m->card : "?", fmt, m->io ? m->io : "?");
	text(cr, 30, 36, AL_LEFT, 20, true, C_TEXT, line);

	uint64_t drops = 0;
	for (int c = VZ_DROP_DRIVER_GAP; c < VZ_DROP_CAUSES; c++)
		drops += r->drops[c];
	char copied[64];
	if (r->bytes_copied == 0)
		snprintf(copied, sizeof(copied), "0 B/frame copied (zero-copy)");
	else
		snprintf(copied, sizeof(copied), "%.0f B/frame copied", r->bytes_copied_per_frame);
	snprintf(line, sizeof(line),
	         "%" PRIu64 " frames in %.2f s, %.3f fps measured  |  %" PRIu64 " late  |  %" PRIu64
	         " dropped (%" PRIu64 " driver gap)  |  %s  |  processors: %s",
	         r->frames, r->duration_s, r->fps, r->late_frames, drops,
	         r->drops[VZ_DROP_DRIVER_GAP], copied,
	         m->processors && *m->processors ? m->processors : "none");
	if (r->records < r->frames) {
		size_t l = strlen(line);
		snprintf(line + l, sizeof(line) - l,
		         "  |  plots cover the newest %" PRIu64 " frames", r->records);
	}
	text(cr, 30, 62, AL_LEFT, 13, false, C_MUTED, line);
}

int vz_report_plot(const char *path, const struct vz_report *r, const struct vz_telemetry *t,
                   struct vz_err *err)
{
	struct plot_data d = {0};
	cairo_surface_t *surf = NULL;
	cairo_t *cr = NULL;
	int ret;

	ret = collect(&d, r, t);
	if (ret < 0) {
		vz_err_set(err, ret, "plot: cannot allocate memory for %zu records",
		           vz_telemetry_count(t));
		goto out;
	}

	surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, PLOT_W, PLOT_H);
	if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
		ret = vz_err_set(err, -ENOMEM, "plot: cannot create a %dx%d image: %s", PLOT_W,
		                 PLOT_H, cairo_status_to_string(cairo_surface_status(surf)));
		goto out;
	}
	cr = cairo_create(surf);
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);

	draw_title(cr, r);
	const struct panel timeline = panel_at(VZ_PLOT_TIMELINE);
	const struct panel ihist = panel_at(VZ_PLOT_INTERVAL_HIST);
	const struct panel shist = panel_at(VZ_PLOT_STAGE_HIST);
	panel_timeline(cr, &timeline, r, &d);
	panel_interval_hist(cr, &ihist, r, &d);
	panel_stage_hist(cr, &shist, r, &d);

	if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
		ret = vz_err_set(err, -EIO, "plot: drawing failed: %s",
		                 cairo_status_to_string(cairo_status(cr)));
		goto out;
	}
	cairo_status_t st = cairo_surface_write_to_png(surf, path);
	if (st != CAIRO_STATUS_SUCCESS) {
		ret = vz_err_set(err, -EIO,
		                 "plot: cannot write %s: %s; check the directory exists "
		                 "and is writable",
		                 path, cairo_status_to_string(st));
		goto out;
	}
	ret = 0;
out:
	if (cr)
		cairo_destroy(cr);
	if (surf)
		cairo_surface_destroy(surf);
	free(d.mem);
	return ret;
}
