/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "process.h"

#define GRID_W    (VZ_STAMP_COLS * VZ_STAMP_CELL)
#define GRID_H    (VZ_STAMP_ROWS * VZ_STAMP_CELL)
#define NBYTES    (VZ_STAMP_COLS * VZ_STAMP_ROWS / 8)
#define CRC_BYTES (NBYTES - 2)

/* Text: 3x5 glyphs drawn 2x, so digits stay legible after 4:2:0. */
#define FONT_W   3
#define FONT_H   5
#define SCALE    2
#define ADVANCE  ((FONT_W + 1) * SCALE)
#define TEXT_PAD 2
/* "#4294967295 -9223372036.854775": the longest text, so the stamp's size
 * never depends on the values in it. */
#define TEXT_MAX 30
#define TEXT_H   (FONT_H * SCALE + 2 * TEXT_PAD)
#define STAMP_W  VZ_STAMP_W
#define STAMP_H  VZ_STAMP_H

#define Y_BLACK 16
#define Y_WHITE 235
#define C_GREY  128

_Static_assert(STAMP_W == TEXT_PAD + TEXT_MAX * ADVANCE && STAMP_W >= GRID_W,
               "VZ_STAMP_W out of date");
_Static_assert(STAMP_H == GRID_H + TEXT_H, "VZ_STAMP_H out of date");
_Static_assert(STAMP_W % 2 == 0 && STAMP_H % 2 == 0, "stamp must sit on the chroma grid");
_Static_assert(VZ_STAMP_CELL % 2 == 0, "cells must cover whole chroma samples");

static const struct {
	char ch;
	uint8_t row[FONT_H]; /* bit 2 is the leftmost column */
} font[] = {
        {'0', {7, 5, 5, 5, 7}}, {'1', {2, 6, 2, 2, 7}}, {'2', {7, 1, 7, 4, 7}},
        {'3', {7, 1, 7, 1, 7}}, {'4', {5, 5, 7, 1, 1}}, {'5', {7, 4, 7, 1, 7}},
        {'6', {7, 4, 7, 5, 7}}, {'7', {7, 1, 1, 1, 1}}, {'8', {7, 5, 7, 5, 7}},
        {'9', {7, 5, 7, 1, 7}}, {'#', {5, 7, 5, 7, 5}}, {'.', {0, 0, 0, 0, 2}},
        {'-', {0, 0, 7, 0, 0}},
};

static const uint8_t *glyph(char ch)
{
	for (size_t i = 0; i < sizeof(font) / sizeof(font[0]); i++) {
		if (font[i].ch == ch)
			return font[i].row;
	}
	return NULL; /* blank */
}

/* CRC-16/CCITT-FALSE: detects every 1- and 2-cell error in 128 bits. */
static uint16_t crc16(const uint8_t *p, size_t n)
{
	uint16_t crc = 0xffff;
	for (size_t i = 0; i < n; i++) {
		crc ^= (uint16_t)(p[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = (uint16_t)((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
	}
	return crc;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void encode(const struct vz_stamp *s, uint8_t out[NBYTES])
{
	put_be(out, VZ_STAMP_MAGIC, 2);
	put_be(out + 2, s->sequence, 4);
	put_be(out + 6, (uint64_t)s->t_ns, 8);
	put_be(out + CRC_BYTES, crc16(out, CRC_BYTES), 2);
}

static int cell_bit(const uint8_t bytes[NBYTES], unsigned i)
{
	return (bytes[i / 8] >> (7 - i % 8)) & 1;
}

static const struct vz_format_desc *usable_desc(const struct vz_frame_map *m)
{
	if (!m || !m->fmt)
		return NULL;
	const struct vz_format_desc *d = vz_format_desc_find(m->fmt->fourcc);
	if (!d)
		return NULL;
	for (unsigned p = 0; p < d->num_planes; p++) {
		if (!m->plane[p])
			return NULL;
	}
	return d;
}

void vz_stamp_size(const struct vz_format *fmt, uint32_t *w, uint32_t *h)
{
	bool fits = fmt && vz_format_desc_find(fmt->fourcc) && fmt->width >= STAMP_W &&
	            fmt->height >= STAMP_H;
	if (w)
		*w = fits ? STAMP_W : 0;
	if (h)
		*h = fits ? STAMP_H : 0;
}

/* Lines that look alike share a key, so each distinct line is rendered
 * once per frame: 8 grid rows, 5 glyph rows, 1 blank. */
static unsigned line_key(unsigned y)
{
	if (y < GRID_H)
		return y / VZ_STAMP_CELL;
	unsigned ty = y - GRID_H;
	if (ty < TEXT_PAD || ty >= TEXT_PAD + FONT_H * SCALE)
		return VZ_STAMP_ROWS;
	return VZ_STAMP_ROWS + 1 + (ty - TEXT_PAD) / SCALE;
}

/* One stamp line as @lo / @hi sample values. */
static void render_line(unsigned y, const uint8_t bytes[NBYTES], const char *text, uint8_t lo,
                        uint8_t hi, uint8_t out[STAMP_W])
{
	memset(out, lo, STAMP_W);
	if (y < GRID_H) {
		unsigned row = y / VZ_STAMP_CELL;
		for (unsigned col = 0; col < VZ_STAMP_COLS; col++) {
			if (cell_bit(bytes, row * VZ_STAMP_COLS + col))
				memset(out + col * VZ_STAMP_CELL, hi, VZ_STAMP_CELL);
		}
		return;
	}
	unsigned ty = y - GRID_H;
	if (ty < TEXT_PAD || ty >= TEXT_PAD + FONT_H * SCALE)
		return;
	unsigned gy = (ty - TEXT_PAD) / SCALE;
	for (unsigned i = 0; text[i] && i < TEXT_MAX; i++) {
		const uint8_t *g = glyph(text[i]);
		if (!g)
			continue;
		uint8_t *dst = out + TEXT_PAD + i * ADVANCE;
		for (unsigned gx = 0; gx < FONT_W * SCALE; gx++) {
			if ((g[gy] >> (FONT_W - 1 - gx / SCALE)) & 1)
				dst[gx] = hi;
		}
	}
}

/* Writes @n values @step bytes apart. */
static void put_samples(uint8_t *dst, unsigned step, const uint8_t *val, unsigned n)
{
	if (step == 1) {
		memcpy(dst, val, n);
		return;
	}
	for (unsigned x = 0; x < n; x++)
		dst[x * step] = val[x];
}

static void fill_samples(uint8_t *dst, unsigned step, uint8_t v, unsigned n)
{
	if (step == 1) {
		memset(dst, v, n);
		return;
	}
	for (unsigned x = 0; x < n; x++)
		dst[x * step] = v;
}

static void format_text(const struct vz_stamp *s, char *buf, size_t len)
{
	/* Magnitude as unsigned so INT64_MIN prints instead of overflowing. */
	uint64_t mag = s->t_ns < 0 ? 0 - (uint64_t)s->t_ns : (uint64_t)s->t_ns;
	snprintf(buf, len, "#%" PRIu32 " %s%" PRIu64 ".%06" PRIu64, s->sequence,
	         s->t_ns < 0 ? "-" : "", mag / 1000000000u, mag / 1000u % 1000000u);
}

int vz_stamp_write(struct vz_frame_map *m, const struct vz_stamp *s, struct vz_err *err)
{
	const struct vz_format_desc *d = usable_desc(m);
	if (!d || !s) {
		char fcc[5] = "none";
		if (m && m->fmt)
			vz_fourcc_str(m->fmt->fourcc, fcc);
		return vz_err_set(err, -EINVAL,
		                  "stamp: pixel format %s has no known layout or the frame is not "
		                  "mapped; capture YUYV, NV12, YU12 or RGB3 instead",
		                  fcc);
	}
	if (m->fmt->width < STAMP_W || m->fmt->height < STAMP_H)
		return vz_err_set(err, -ERANGE,
		                  "stamp: the %" PRIu32 "x%" PRIu32 " frame is smaller than the "
		                  "%dx%d stamp; capture at least %dx%d or run without the stamp",
		                  m->fmt->width, m->fmt->height, STAMP_W, STAMP_H, STAMP_W,
		                  STAMP_H);

	uint8_t bytes[NBYTES];
	char text[TEXT_MAX + 8];
	uint8_t val[STAMP_W];
	encode(s, bytes);
	format_text(s, text, sizeof(text));
	const uint8_t lo = d->yuv ? Y_BLACK : 0, hi = d->yuv ? Y_WHITE : 255;
	const unsigned ncomp = d->yuv ? 1 : 3;

	unsigned key = ~0u;
	for (unsigned y = 0; y < STAMP_H; y++) {
		if (line_key(y) != key) {
			key = line_key(y);
			render_line(y, bytes, text, lo, hi, val);
		}
		for (unsigned c = 0; c < ncomp; c++) {
			unsigned p = d->comp[c].plane;
			put_samples(m->plane[p] + (size_t)y * m->stride[p] + d->comp[c].offset,
			            d->comp[c].step, val, STAMP_W);
		}
		/* Neutral chroma under the whole block: no colour cast can push
		 * a cell across the threshold after conversion. */
		if (d->yuv && d->num_comps == 3 && y % d->vsub == 0) {
			for (unsigned c = 1; c < 3; c++) {
				unsigned p = d->comp[c].plane;
				fill_samples(m->plane[p] + (size_t)(y / d->vsub) * m->stride[p] +
				                     d->comp[c].offset,
				             d->comp[c].step, C_GREY, STAMP_W / d->hsub);
			}
		}
	}
	return 0;
}

/* Luma (0..255, in the format's own range) of pixel (x, y). */
static unsigned luma_at(const struct vz_frame_map *m, const struct vz_format_desc *d, unsigned x,
                        unsigned y)
{
	if (d->yuv) {
		unsigned p = d->comp[0].plane;
		return m->plane[p][(size_t)y * m->stride[p] + d->comp[0].offset +
		                   (size_t)x * d->comp[0].step];
	}
	const uint8_t *px = m->plane[0] + (size_t)y * m->stride[0] + (size_t)x * d->comp[0].step;
	/* BT.601 weights in 8.8 fixed point; they sum to 256. */
	return (77u * px[d->comp[0].offset] + 150u * px[d->comp[1].offset] +
	        29u * px[d->comp[2].offset]) >>
	       8;
}

int vz_stamp_read(const struct vz_frame_map *m, struct vz_stamp *out)
{
	const struct vz_format_desc *d = usable_desc(m);
	if (!d || !out || m->fmt->width < GRID_W || m->fmt->height < GRID_H)
		return -ENOENT;
	/* Midpoint of the two levels we write: 125.5 for limited-range YUV,
	 * 127.5 for RGB (a full-range conversion of our YUV lands there too). */
	const unsigned thresh4 = d->yuv ? 2 * (Y_BLACK + Y_WHITE) : 2 * 255;

	uint8_t bytes[NBYTES];
	memset(bytes, 0, sizeof(bytes));
	for (unsigned i = 0; i < VZ_STAMP_COLS * VZ_STAMP_ROWS; i++) {
		/* The 2x2 pixels at the centre: away from edges a scaler or
		 * chroma filter may have blurred. */
		unsigned x = (i % VZ_STAMP_COLS) * VZ_STAMP_CELL + VZ_STAMP_CELL / 2 - 1;
		unsigned y = (i / VZ_STAMP_COLS) * VZ_STAMP_CELL + VZ_STAMP_CELL / 2 - 1;
		unsigned sum = luma_at(m, d, x, y) + luma_at(m, d, x + 1, y) +
		               luma_at(m, d, x, y + 1) + luma_at(m, d, x + 1, y + 1);
		if (sum > thresh4)
			bytes[i / 8] |= (uint8_t)(0x80u >> (i % 8));
	}
	if (get_be(bytes, 2) != VZ_STAMP_MAGIC ||
	    get_be(bytes + CRC_BYTES, 2) != crc16(bytes, CRC_BYTES))
		return -ENOENT;
	out->sequence = (uint32_t)get_be(bytes + 2, 4);
	out->t_ns = (int64_t)get_be(bytes + 6, 8);
	return 0;
}

int vz_stamp_process(void *ctx, struct vz_frame_map *m, struct vz_err *err)
{
	(void)ctx;
	if (!m || !m->info)
		return vz_err_set(err, -EINVAL,
		                  "stamp: frame has no capture info to stamp (pipeline bug: "
		                  "vz_frame_map_init was given no frame info)");
	struct vz_stamp s = {.sequence = m->info->sequence, .t_ns = m->info->t_driver_ns};
	return vz_stamp_write(m, &s, err);
}
