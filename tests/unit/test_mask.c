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
 * Inside [x0,x1) x [y0,y1) (already aligned to the chroma grid by the
 * caller, who knows what the format demands) every luma / RGB byte is
 * black and every chroma sample covering it is neutral; every other byte,
 * padding and the X/A byte of 32-bit RGB included, is as in @before.
 */
static void check_black_rect(const struct tframe *t, const struct snapshot *before, uint32_t x0,
                             uint32_t y0, uint32_t x1, uint32_t y1)
{
	uint8_t *marks[VZ_MAX_PLANES] = {0};
	for (unsigned m = 0; m < t->buf.num_mem; m++) {
		marks[m] = calloc(1, t->buf.mem[m].length);
		assert_non_null(marks[m]);
	}
	const struct vz_format_desc *d = t->d;
	unsigned luma_comps = d->yuv ? 1 : 3;
	for (uint32_t y = y0; y < y1; y++) {
		for (uint32_t x = x0; x < x1; x++) {
			for (unsigned c = 0; c < luma_comps; c++) {
				if (*comp_ptr(t, c, x, y) != (d->yuv ? 16 : 0))
					fail_msg("%s: pixel %u,%u comp %u not black", d->name, x, y,
					         c);
				mark(marks, t, c, x, y);
			}
		}
	}
	if (d->yuv && d->num_comps == 3) {
		for (uint32_t y = y0 / d->vsub; y < (y1 + d->vsub - 1) / d->vsub; y++) {
			for (uint32_t x = x0 / d->hsub; x < (x1 + d->hsub - 1) / d->hsub; x++) {
				for (unsigned c = 1; c < 3; c++) {
					if (*comp_ptr(t, c, x, y) != 128)
						fail_msg("%s: chroma %u,%u comp %u not neutral",
						         d->name, x, y, c);
					mark(marks, t, c, x, y);
				}
			}
		}
	}
	for (unsigned m = 0; m < t->buf.num_mem; m++) {
		const uint8_t *now = t->buf.mem[m].map;
		for (size_t i = 0; i < t->buf.mem[m].length; i++) {
			if (!marks[m][i] && now[i] != before->mem[m][i])
				fail_msg("%s: byte %zu of memory plane %u changed outside the mask",
				         d->name, i, m);
		}
		free(marks[m]);
	}
}

/* Fills @r in a fresh patterned frame and checks the result against the
 * expected (clipped, aligned) rectangle. */
static void fill_and_check(uint32_t fourcc, uint32_t pad, struct vz_rect r, uint32_t x0,
                           uint32_t y0, uint32_t x1, uint32_t y1)
{
	struct tframe t;
	struct snapshot before;
	struct vz_err err;
	tframe_init(&t, fourcc, 64, 32, pad);
	tframe_fill(&t, fourcc ^ (uint32_t)r.x);
	snap_take(&before, &t);
	vz_err_clear(&err);
	assert_int_equal(vz_mask_fill(&t.map, &r, &err), 0);
	assert_int_equal(err.code, 0);
	check_black_rect(&t, &before, x0, y0, x1, y1);
	snap_free(&before);
	tframe_free(&t);
}

static uint32_t down(uint32_t v, unsigned a)
{
	return v / a * a;
}

static uint32_t up(uint32_t v, unsigned a, uint32_t max)
{
	v = (v + a - 1) / a * a;
	return v > max ? max : v;
}

static void test_every_format(void **state)
{
	(void)state;
	const struct vz_rect r = {9, 5, 20, 11}; /* odd corner and size */
	unsigned n = 0;
	for (const struct vz_format_desc *d; (d = vz_format_desc_at(n)); n++) {
		uint32_t x0 = down(9, d->hsub), x1 = up(29, d->hsub, 64);
		uint32_t y0 = down(5, d->vsub), y1 = up(16, d->vsub, 32);
		fill_and_check(d->fourcc, 0, r, x0, y0, x1, y1);
		fill_and_check(d->fourcc, 3, r, x0, y0, x1, y1);
	}
	assert_true(n >= 25);
}

/* Hard numbers for the two common cases, independent of the table. */
static void test_chroma_alignment(void **state)
{
	(void)state;
	const struct vz_rect r = {9, 5, 20, 10}; /* [9,29) x [5,15) */
	/* NV12: 4:2:0, all four edges out to even: [8,30) x [4,16). */
	fill_and_check(V4L2_PIX_FMT_NV12, 1, r, 8, 4, 30, 16);
	fill_and_check(V4L2_PIX_FMT_NV12M, 1, r, 8, 4, 30, 16);
	fill_and_check(V4L2_PIX_FMT_YUV420, 3, r, 8, 4, 30, 16);
	/* YUYV: 4:2:2, only x: [8,30) x [5,15). */
	fill_and_check(V4L2_PIX_FMT_YUYV, 2, r, 8, 5, 30, 15);
	fill_and_check(V4L2_PIX_FMT_NV16, 2, r, 8, 5, 30, 15);
	/* RGB and GREY: exact. */
	fill_and_check(V4L2_PIX_FMT_RGB24, 1, r, 9, 5, 29, 15);
	fill_and_check(V4L2_PIX_FMT_XBGR32, 0, r, 9, 5, 29, 15);
	fill_and_check(V4L2_PIX_FMT_GREY, 1, r, 9, 5, 29, 15);
}

static void test_clipping(void **state)
{
	(void)state;
	static const uint32_t fmts[] = {V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_BGR24,
	                                V4L2_PIX_FMT_YUV420M};
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		fill_and_check(fmts[i], 1, (struct vz_rect){-10, -10, 30, 30}, 0, 0, 20, 20);
		fill_and_check(fmts[i], 1, (struct vz_rect){60, 28, 100, 100}, 60, 28, 64, 32);
		fill_and_check(fmts[i], 1, (struct vz_rect){-100, -100, 1000, 1000}, 0, 0, 64, 32);
		/* Entirely outside: nothing changes. */
		fill_and_check(fmts[i], 1, (struct vz_rect){64, 0, 10, 10}, 0, 0, 0, 0);
		fill_and_check(fmts[i], 1, (struct vz_rect){-50, 0, 50, 10}, 0, 0, 0, 0);
		fill_and_check(fmts[i], 1,
		               (struct vz_rect){INT32_MAX, INT32_MAX, UINT32_MAX, UINT32_MAX}, 0, 0,
		               0, 0);
		fill_and_check(fmts[i], 1,
		               (struct vz_rect){INT32_MIN, INT32_MIN, UINT32_MAX, UINT32_MAX}, 0, 0,
		               64, 32);
	}
}

static void test_process_all_rects(void **state)
{
	(void)state;
	struct vz_mask mask = {0};
	struct vz_err err;
	vz_err_clear(&err);
	assert_int_equal(vz_mask_parse(&mask, "0,0,4,4", &err), 0);
	assert_int_equal(vz_mask_parse(&mask, "60,30,4,2", &err), 0);
	struct tframe t;
	tframe_init(&t, V4L2_PIX_FMT_GREY, 64, 32, 0);
	tframe_set(&t, 200);
	assert_int_equal(vz_mask_process(&mask, &t.map, &err), 0);
	const uint8_t *p = t.map.plane[0];
	assert_int_equal(p[0], 16);
	assert_int_equal(p[3 * 64 + 3], 16);
	assert_int_equal(p[4], 200);
	assert_int_equal(p[31 * 64 + 63], 16);
	assert_int_equal(p[29 * 64 + 63], 200);
	tframe_free(&t);
}

static void test_unknown_format(void **state)
{
	(void)state;
	struct tframe t;
	struct vz_err err;
	struct vz_rect r = {0, 0, 4, 4};
	tframe_init(&t, V4L2_PIX_FMT_YUYV, 64, 32, 0);
	t.fmt.fourcc = V4L2_PIX_FMT_MJPEG;
	vz_err_clear(&err);
	assert_int_equal(vz_mask_fill(&t.map, &r, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "MJPG"));
	tframe_free(&t);
}

static void test_parse_ok(void **state)
{
	(void)state;
	struct vz_mask mask = {0};
	struct vz_err err;
	vz_err_clear(&err);
	assert_int_equal(vz_mask_parse(&mask, "10,20,300,400", &err), 0);
	assert_int_equal(vz_mask_parse(&mask, "-5,-7,1,2", &err), 0);
	assert_int_equal(mask.count, 2);
	assert_int_equal(mask.rect[0].x, 10);
	assert_int_equal(mask.rect[0].y, 20);
	assert_int_equal(mask.rect[0].w, 300);
	assert_int_equal(mask.rect[0].h, 400);
	assert_int_equal(mask.rect[1].x, -5);
	assert_int_equal(mask.rect[1].y, -7);
	assert_int_equal(err.code, 0);
}

static void expect_parse_error(const char *s, int code, const char *msg_part)
{
	struct vz_mask mask = {0};
	struct vz_err err;
	vz_err_clear(&err);
	assert_int_equal(vz_mask_parse(&mask, s, &err), code);
	assert_int_equal(err.code, code);
	if (!strstr(err.msg, msg_part))
		fail_msg("'%s': message '%s' lacks '%s'", s ? s : "(null)", err.msg, msg_part);
	assert_int_equal(mask.count, 0);
}

static void test_parse_errors(void **state)
{
	(void)state;
	struct vz_mask mask = {0};
	struct vz_err err;
	vz_err_clear(&err);
	assert_int_equal(vz_mask_parse(&mask, "abc", &err), -EINVAL);
	assert_string_equal(err.msg,
	                    "mask: expected x,y,w,h in pixels, e.g. 10,10,200,100; got 'abc'");

	const char *shape = "expected x,y,w,h in pixels";
	expect_parse_error("", -EINVAL, shape);
	expect_parse_error(NULL, -EINVAL, shape);
	expect_parse_error("1,2,3", -EINVAL, shape);
	expect_parse_error("1,2,3,4,5", -EINVAL, shape);
	expect_parse_error("1,2,3,4x", -EINVAL, shape);
	expect_parse_error("1,,3,4", -EINVAL, shape);
	expect_parse_error("1.5,2,3,4", -EINVAL, shape);
	expect_parse_error("1,2,0,4", -EINVAL, "must be positive");
	expect_parse_error("1,2,3,-4", -EINVAL, "must be positive");
	expect_parse_error("99999999999,0,1,1", -ERANGE, "out of range");
	expect_parse_error("0,0,1,99999999999999999999999", -ERANGE, "out of range");
}

static void test_parse_limit(void **state)
{
	(void)state;
	struct vz_mask mask = {0};
	struct vz_err err;
	vz_err_clear(&err);
	for (int i = 0; i < VZ_MASK_MAX_RECTS; i++)
		assert_int_equal(vz_mask_parse(&mask, "0,0,1,1", &err), 0);
	assert_int_equal(vz_mask_parse(&mask, "0,0,1,1", &err), -ENOSPC);
	assert_int_equal(mask.count, VZ_MASK_MAX_RECTS);
	assert_non_null(strstr(err.msg, "at most 16"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_format),   cmocka_unit_test(test_chroma_alignment),
	        cmocka_unit_test(test_clipping),       cmocka_unit_test(test_process_all_rects),
	        cmocka_unit_test(test_unknown_format), cmocka_unit_test(test_parse_ok),
	        cmocka_unit_test(test_parse_errors),   cmocka_unit_test(test_parse_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
