/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <linux/videodev2.h>

#include "process.h"

#include "frame-fixture.h"

/*
 * Every byte of the stamp block holds a stamp value (luma black/white,
 * neutral chroma, RGB 0/255); every other byte, padding and the X/A byte of
 * 32-bit RGB included, is as in @before.
 */
static void check_only_block_changed(const struct tframe *t, const struct snapshot *before)
{
	uint8_t *marks[VZ_MAX_PLANES] = {0};
	for (unsigned m = 0; m < t->buf.num_mem; m++) {
		marks[m] = calloc(1, t->buf.mem[m].length);
		assert_non_null(marks[m]);
	}
	const struct vz_format_desc *d = t->d;
	unsigned luma_comps = d->yuv ? 1 : 3;
	for (uint32_t y = 0; y < VZ_STAMP_H; y++) {
		for (uint32_t x = 0; x < VZ_STAMP_W; x++) {
			for (unsigned c = 0; c < luma_comps; c++) {
				uint8_t v = *comp_ptr(t, c, x, y);
				if (d->yuv)
					assert_true(v == 16 || v == 235);
				else
					assert_true(v == 0 || v == 255);
				mark(marks, t, c, x, y);
			}
		}
	}
	/* Cells are uniform squares: every pixel matches its cell's first. */
	for (uint32_t y = 0; y < VZ_STAMP_ROWS * VZ_STAMP_CELL; y++) {
		for (uint32_t x = 0; x < VZ_STAMP_COLS * VZ_STAMP_CELL; x++) {
			uint32_t cx = x / VZ_STAMP_CELL * VZ_STAMP_CELL;
			uint32_t cy = y / VZ_STAMP_CELL * VZ_STAMP_CELL;
			if (*comp_ptr(t, 0, x, y) != *comp_ptr(t, 0, cx, cy))
				fail_msg("%s: cell pixel %u,%u differs from its cell", d->name, x,
				         y);
		}
	}
	if (d->yuv && d->num_comps == 3) {
		for (uint32_t y = 0; y < VZ_STAMP_H / d->vsub; y++) {
			for (uint32_t x = 0; x < VZ_STAMP_W / d->hsub; x++) {
				for (unsigned c = 1; c < 3; c++) {
					assert_int_equal(*comp_ptr(t, c, x, y), 128);
					mark(marks, t, c, x, y);
				}
			}
		}
	}
	for (unsigned m = 0; m < t->buf.num_mem; m++) {
		const uint8_t *now = t->buf.mem[m].map;
		for (size_t i = 0; i < t->buf.mem[m].length; i++) {
			if (!marks[m][i] && now[i] != before->mem[m][i])
				fail_msg(
				        "%s: byte %zu of memory plane %u changed outside the stamp",
				        d->name, i, m);
		}
		free(marks[m]);
	}
}

static const struct vz_stamp samples[] = {
        {0, 0},
        {1, 1000},
        {4294967295u, INT64_MAX},
        {123456789, 1234567890123456789LL},
        {42, INT64_MIN},
        {7, -5000000001LL},
};

static void roundtrip(uint32_t fourcc, uint32_t w, uint32_t h, uint32_t pad)
{
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		struct tframe t;
		struct snapshot before;
		struct vz_err err;
		struct vz_stamp got = {0, 0};
		tframe_init(&t, fourcc, w, h, pad);
		tframe_fill(&t, (uint32_t)(i * 977 + fourcc));
		snap_take(&before, &t);
		vz_err_clear(&err);
		assert_int_equal(vz_stamp_write(&t.map, &samples[i], &err), 0);
		assert_int_equal(err.code, 0);
		assert_int_equal(vz_stamp_read(&t.map, &got), 0);
		assert_int_equal(got.sequence, samples[i].sequence);
		assert_int_equal(got.t_ns, samples[i].t_ns);
		check_only_block_changed(&t, &before);
		snap_free(&before);
		tframe_free(&t);
	}
}

static void test_roundtrip_every_format(void **state)
{
	(void)state;
	unsigned n = 0;
	for (const struct vz_format_desc *d; (d = vz_format_desc_at(n)); n++) {
		roundtrip(d->fourcc, 320, 240, 0);
		roundtrip(d->fourcc, 320, 240, 3); /* odd stride */
		roundtrip(d->fourcc, 242, 78, 64); /* exactly the stamp, padded */
		roundtrip(d->fourcc, 250, 100, 1);
	}
	assert_true(n >= 25);
}

/* Inverts the luma of cell @i. */
static void flip_cell(struct tframe *t, unsigned i)
{
	uint32_t x0 = (i % VZ_STAMP_COLS) * VZ_STAMP_CELL;
	uint32_t y0 = (i / VZ_STAMP_COLS) * VZ_STAMP_CELL;
	unsigned ncomp = t->d->yuv ? 1 : 3;
	for (uint32_t y = y0; y < y0 + VZ_STAMP_CELL; y++) {
		for (uint32_t x = x0; x < x0 + VZ_STAMP_CELL; x++) {
			for (unsigned c = 0; c < ncomp; c++) {
				uint8_t *b = comp_ptr(t, c, x, y);
				if (t->d->yuv)
					*b = *b == 235 ? 16 : 235;
				else
					*b = (uint8_t)(255 - *b);
			}
		}
	}
}

static void test_any_damaged_cell_rejected(void **state)
{
	(void)state;
	static const uint32_t fmts[] = {V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_NV12M, V4L2_PIX_FMT_YUV420,
	                                V4L2_PIX_FMT_XBGR32};
	for (size_t f = 0; f < sizeof(fmts) / sizeof(fmts[0]); f++) {
		struct tframe t;
		struct vz_stamp s = {987654, 5555555555555LL}, got;
		tframe_init(&t, fmts[f], 320, 240, 2);
		tframe_fill(&t, 99);
		assert_int_equal(vz_stamp_write(&t.map, &s, NULL), 0);
		for (unsigned i = 0; i < VZ_STAMP_COLS * VZ_STAMP_ROWS; i++) {
			flip_cell(&t, i);
			if (vz_stamp_read(&t.map, &got) != -ENOENT)
				fail_msg("%s: flipped cell %u was not detected", t.d->name, i);
			flip_cell(&t, i);
		}
		assert_int_equal(vz_stamp_read(&t.map, &got), 0);
		assert_int_equal(got.sequence, s.sequence);
		tframe_free(&t);
	}
}

static void test_unstamped_frames(void **state)
{
	(void)state;
	static const int levels[] = {-1, 0, 16, 128, 235, 255};
	unsigned n = 0;
	for (const struct vz_format_desc *d; (d = vz_format_desc_at(n)); n++) {
		for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
			struct tframe t;
			struct vz_stamp got = {77, 77};
			tframe_init(&t, d->fourcc, 320, 240, 0);
			if (levels[l] < 0)
				tframe_fill(&t, n + 1);
			else
				tframe_set(&t, (uint8_t)levels[l]);
			assert_int_equal(vz_stamp_read(&t.map, &got), -ENOENT);
			assert_int_equal(got.sequence, 77);
			tframe_free(&t);
		}
	}
}

static void test_too_small(void **state)
{
	(void)state;
	uint32_t w, h;
	struct tframe t;
	struct vz_err err;
	struct vz_stamp s = {1, 2};

	tframe_init(&t, V4L2_PIX_FMT_YUYV, 640, 480, 0);
	vz_stamp_size(&t.fmt, &w, &h);
	assert_int_equal(w, VZ_STAMP_W);
	assert_int_equal(h, VZ_STAMP_H);
	tframe_free(&t);

	static const uint32_t sizes[][2] = {{VZ_STAMP_W - 2, 240}, {320, VZ_STAMP_H - 2}};
	for (size_t i = 0; i < 2; i++) {
		tframe_init(&t, V4L2_PIX_FMT_NV12, sizes[i][0], sizes[i][1], 0);
		tframe_fill(&t, 5);
		struct snapshot before;
		snap_take(&before, &t);
		vz_stamp_size(&t.fmt, &w, &h);
		assert_int_equal(w, 0);
		assert_int_equal(h, 0);
		vz_err_clear(&err);
		assert_int_equal(vz_stamp_write(&t.map, &s, &err), -ERANGE);
		assert_int_equal(err.code, -ERANGE);
		assert_non_null(strstr(err.msg, "smaller than"));
		/* Nothing written. */
		for (unsigned m = 0; m < t.buf.num_mem; m++)
			assert_memory_equal(before.mem[m], t.buf.mem[m].map, t.buf.mem[m].length);
		snap_free(&before);
		tframe_free(&t);
	}
}

static void test_unknown_format(void **state)
{
	(void)state;
	struct tframe t;
	struct vz_err err;
	struct vz_stamp s = {1, 2}, got;
	tframe_init(&t, V4L2_PIX_FMT_YUYV, 320, 240, 0);
	t.fmt.fourcc = V4L2_PIX_FMT_MJPEG;
	vz_err_clear(&err);
	assert_int_equal(vz_stamp_write(&t.map, &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "MJPG"));
	assert_int_equal(vz_stamp_read(&t.map, &got), -ENOENT);
	tframe_free(&t);
}

static void test_process_uses_frame_info(void **state)
{
	(void)state;
	struct tframe t;
	struct vz_err err;
	struct vz_stamp got;
	tframe_init(&t, V4L2_PIX_FMT_UYVY, 640, 480, 0);
	tframe_fill(&t, 3);
	t.info.sequence = 31337;
	t.info.t_driver_ns = 86400123456789LL;
	t.info.t_dqbuf_ns = 1; /* must not be the one stamped */
	vz_err_clear(&err);
	assert_int_equal(vz_stamp_process(NULL, &t.map, &err), 0);
	assert_int_equal(vz_stamp_read(&t.map, &got), 0);
	assert_int_equal(got.sequence, 31337);
	assert_int_equal(got.t_ns, 86400123456789LL);

	t.map.info = NULL;
	assert_int_equal(vz_stamp_process(NULL, &t.map, &err), -EINVAL);
	assert_int_not_equal(err.msg[0], '\0');
	tframe_free(&t);
}

static int luma_y(const struct tframe *t, uint32_t x, uint32_t y)
{
	return *comp_ptr(t, 0, x, y);
}

/* The digits are for people, but a wrong glyph or position would still be a
 * bug: check the first two characters of "#1 ..." and "#8 ...". */
static void test_text_glyphs(void **state)
{
	(void)state;
	struct tframe t;
	tframe_init(&t, V4L2_PIX_FMT_GREY, 320, 240, 0);
	/* Text rows start 2 pixels below the grid, glyphs 2 pixels in, each
	 * glyph column 2 pixels wide, 8 pixels per character. */
	const uint32_t ty = VZ_STAMP_ROWS * VZ_STAMP_CELL + 2;
	struct vz_stamp one = {1, 0}, eight = {8, 0};

	assert_int_equal(vz_stamp_write(&t.map, &one, NULL), 0);
	/* '#' top row: X.X */
	assert_int_equal(luma_y(&t, 2, ty), 235);
	assert_int_equal(luma_y(&t, 4, ty), 16);
	assert_int_equal(luma_y(&t, 6, ty + 1), 235);
	/* '1' top row: .X. */
	assert_int_equal(luma_y(&t, 10, ty), 16);
	assert_int_equal(luma_y(&t, 12, ty), 235);
	assert_int_equal(luma_y(&t, 14, ty), 16);
	/* padding above the text stays black */
	assert_int_equal(luma_y(&t, 12, ty - 1), 16);

	assert_int_equal(vz_stamp_write(&t.map, &eight, NULL), 0);
	/* '8' top row: XXX, middle row X.X at glyph row 1 */
	assert_int_equal(luma_y(&t, 10, ty), 235);
	assert_int_equal(luma_y(&t, 14, ty + 1), 235);
	assert_int_equal(luma_y(&t, 12, ty + 2), 16);
	tframe_free(&t);
}

static uint8_t clamp_u8(int v)
{
	return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/*
 * What videoconvert does to a YUYV frame on its way to an RGB consumer:
 * BT.601 limited range, chroma shared by pixel pairs.  A little noise on
 * top stands in for a lossy hop.
 */
static void test_survives_yuv_to_rgb(void **state)
{
	(void)state;
	struct tframe yuv, rgb;
	struct vz_stamp s = {2024, 1717171717171717LL}, got;
	tframe_init(&yuv, V4L2_PIX_FMT_YUYV, 640, 480, 0);
	tframe_init(&rgb, V4L2_PIX_FMT_RGB24, 640, 480, 0);
	tframe_fill(&yuv, 11);
	assert_int_equal(vz_stamp_write(&yuv.map, &s, NULL), 0);

	uint32_t noise = 1;
	for (uint32_t y = 0; y < 480; y++) {
		const uint8_t *src = yuv.map.plane[0] + (size_t)y * yuv.map.stride[0];
		uint8_t *dst = rgb.map.plane[0] + (size_t)y * rgb.map.stride[0];
		for (uint32_t x = 0; x < 640; x++) {
			int Y = src[x * 2], U = src[(x / 2) * 4 + 1], V = src[(x / 2) * 4 + 3];
			int c = 298 * (Y - 16), d = U - 128, e = V - 128;
			noise = noise * 1103515245u + 12345u;
			int n = (int)((noise >> 16) % 41) - 20;
			dst[x * 3 + 0] = clamp_u8(((c + 409 * e + 128) >> 8) + n);
			dst[x * 3 + 1] = clamp_u8(((c - 100 * d - 208 * e + 128) >> 8) + n);
			dst[x * 3 + 2] = clamp_u8(((c + 516 * d + 128) >> 8) + n);
		}
	}
	assert_int_equal(vz_stamp_read(&rgb.map, &got), 0);
	assert_int_equal(got.sequence, s.sequence);
	assert_int_equal(got.t_ns, s.t_ns);
	tframe_free(&yuv);
	tframe_free(&rgb);
}

/* RGB is read as luma, not as one channel: a consumer that tints the
 * picture (green 1s, red 0s) must still read the same stamp. */
static void test_rgb_read_as_luma(void **state)
{
	(void)state;
	struct tframe t;
	struct vz_stamp s = {555, 666}, got;
	tframe_init(&t, V4L2_PIX_FMT_BGR24, 320, 240, 0);
	tframe_fill(&t, 8);
	assert_int_equal(vz_stamp_write(&t.map, &s, NULL), 0);
	for (uint32_t y = 0; y < VZ_STAMP_H; y++) {
		uint8_t *px = t.map.plane[0] + (size_t)y * t.map.stride[0];
		for (uint32_t x = 0; x < VZ_STAMP_W; x++, px += 3) {
			bool on = px[0] == 255;
			px[0] = 0;            /* B */
			px[1] = on ? 255 : 0; /* G: luma 150 */
			px[2] = on ? 0 : 255; /* R: luma 77 */
		}
	}
	assert_int_equal(vz_stamp_read(&t.map, &got), 0);
	assert_int_equal(got.sequence, 555);
	assert_int_equal(got.t_ns, 666);
	tframe_free(&t);
}

static void test_frame_map_errors(void **state)
{
	(void)state;
	struct tframe t;
	struct vz_frame_map m;
	tframe_init(&t, V4L2_PIX_FMT_NV12M, 64, 32, 0);
	/* Colour plane 1 lives at the start of memory plane 1. */
	assert_ptr_equal(t.map.plane[1], t.buf.mem[1].map);
	assert_int_equal(t.map.stride[1], t.fmt.plane[1].stride);
	assert_int_equal(t.map.height[1], 16);

	void *saved = t.buf.mem[1].map;
	t.buf.mem[1].map = NULL;
	assert_int_equal(vz_frame_map_init(&m, &t.fmt, &t.buf, &t.info), -EINVAL);
	assert_null(m.plane[0]);
	t.buf.mem[1].map = saved;

	t.buf.mem[1].length--;
	assert_int_equal(vz_frame_map_init(&m, &t.fmt, &t.buf, &t.info), -EINVAL);
	t.buf.mem[1].length++;

	t.buf.num_mem = 1;
	assert_int_equal(vz_frame_map_init(&m, &t.fmt, &t.buf, &t.info), -EINVAL);
	t.buf.num_mem = 2;
	assert_int_equal(vz_frame_map_init(&m, &t.fmt, &t.buf, &t.info), 0);
	tframe_free(&t);

	/* Single memory plane: the chroma plane follows the luma plane. */
	tframe_init(&t, V4L2_PIX_FMT_YUV420, 64, 32, 6);
	assert_ptr_equal(t.map.plane[1], (uint8_t *)t.buf.mem[0].map + 70 * 32);
	assert_ptr_equal(t.map.plane[2], (uint8_t *)t.buf.mem[0].map + 70 * 32 + 35 * 16);
	t.buf.mem[0].length--;
	assert_int_equal(vz_frame_map_init(&m, &t.fmt, &t.buf, &t.info), -EINVAL);
	t.buf.mem[0].length++;
	tframe_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_roundtrip_every_format),
	        cmocka_unit_test(test_any_damaged_cell_rejected),
	        cmocka_unit_test(test_unstamped_frames),
	        cmocka_unit_test(test_too_small),
	        cmocka_unit_test(test_unknown_format),
	        cmocka_unit_test(test_process_uses_frame_info),
	        cmocka_unit_test(test_text_glyphs),
	        cmocka_unit_test(test_survives_yuv_to_rgb),
	        cmocka_unit_test(test_frame_map_errors),
	        cmocka_unit_test(test_rgb_read_as_luma),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
