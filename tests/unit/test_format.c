/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <linux/videodev2.h>

#include "format.h"
#include "frame.h"

static struct vz_format make(uint32_t fourcc, uint32_t w, uint32_t h)
{
	struct vz_format f;
	memset(&f, 0, sizeof(f));
	f.fourcc = fourcc;
	f.width = w;
	f.height = h;
	return f;
}

static void test_packed_422(void **state)
{
	(void)state;
	struct vz_format f = make(V4L2_PIX_FMT_YUYV, 640, 480);
	uint32_t st[VZ_MAX_PLANES] = {1344, 0, 0};
	assert_int_equal(vz_format_layout(&f, st), 0);
	assert_int_equal(f.num_mem, 1);
	assert_int_equal(f.num_planes, 1);
	assert_int_equal(f.plane[0].mem, 0);
	assert_int_equal(f.plane[0].offset, 0);
	assert_int_equal(f.plane[0].stride, 1344);
	assert_int_equal(f.plane[0].height, 480);
	assert_int_equal(f.mem_size[0], 1344 * 480);
	assert_int_equal(vz_format_frame_bytes(&f), 1344 * 480);

	/* Byte offsets of Y0, U, V in each 4-byte group. */
	static const struct {
		uint32_t fourcc;
		unsigned y, u, v;
	} want[] = {
	        {V4L2_PIX_FMT_YUYV, 0, 1, 3},
	        {V4L2_PIX_FMT_UYVY, 1, 0, 2},
	        {V4L2_PIX_FMT_YVYU, 0, 3, 1},
	        {V4L2_PIX_FMT_VYUY, 1, 2, 0},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct vz_format_desc *d = vz_format_desc_find(want[i].fourcc);
		assert_non_null(d);
		assert_true(d->yuv);
		assert_int_equal(d->hsub, 2);
		assert_int_equal(d->vsub, 1);
		assert_int_equal(d->comp[0].offset, want[i].y);
		assert_int_equal(d->comp[0].step, 2);
		assert_int_equal(d->comp[1].offset, want[i].u);
		assert_int_equal(d->comp[1].step, 4);
		assert_int_equal(d->comp[2].offset, want[i].v);
		assert_int_equal(d->comp[2].step, 4);
	}
}

static void test_tight_stride_default(void **state)
{
	(void)state;
	struct vz_format f = make(V4L2_PIX_FMT_YUYV, 320, 240);
	assert_int_equal(vz_format_layout(&f, NULL), 0);
	assert_int_equal(f.plane[0].stride, 640);
}

static void test_nv12_single(void **state)
{
	(void)state;
	struct vz_format f = make(V4L2_PIX_FMT_NV12, 640, 480);
	uint32_t st[VZ_MAX_PLANES] = {704, 0, 0};
	assert_int_equal(vz_format_layout(&f, st), 0);
	assert_int_equal(f.num_mem, 1);
	assert_int_equal(f.num_planes, 2);
	assert_int_equal(f.plane[1].mem, 0);
	assert_int_equal(f.plane[1].offset, 704 * 480);
	assert_int_equal(f.plane[1].stride, 704);
	assert_int_equal(f.plane[1].height, 240);
	assert_int_equal(f.mem_size[0], 704 * 480 * 3 / 2);
	assert_int_equal(vz_format_frame_bytes(&f), 704 * 480 * 3 / 2);
}

static void test_nv16_and_nv21(void **state)
{
	(void)state;
	struct vz_format f = make(V4L2_PIX_FMT_NV16, 64, 48);
	assert_int_equal(vz_format_layout(&f, NULL), 0);
	assert_int_equal(f.plane[1].offset, 64 * 48);
	assert_int_equal(f.plane[1].height, 48);

	/* Byte offsets of Cb and Cr in the interleaved plane; 4:2:0 or 4:2:2. */
	static const struct {
		uint32_t fourcc;
		unsigned u, v, vsub;
		bool mp;
	} want[] = {
	        {V4L2_PIX_FMT_NV12, 0, 1, 2, false}, {V4L2_PIX_FMT_NV21, 1, 0, 2, false},
	        {V4L2_PIX_FMT_NV16, 0, 1, 1, false}, {V4L2_PIX_FMT_NV61, 1, 0, 1, false},
	        {V4L2_PIX_FMT_NV12M, 0, 1, 2, true}, {V4L2_PIX_FMT_NV21M, 1, 0, 2, true},
	        {V4L2_PIX_FMT_NV16M, 0, 1, 1, true}, {V4L2_PIX_FMT_NV61M, 1, 0, 1, true},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct vz_format_desc *d = vz_format_desc_find(want[i].fourcc);
		assert_non_null(d);
		assert_int_equal(d->multiplanar_mem, want[i].mp);
		assert_int_equal(d->vsub, want[i].vsub);
		assert_int_equal(d->plane[1].vsub, want[i].vsub);
		assert_int_equal(d->comp[1].plane, 1);
		assert_int_equal(d->comp[2].plane, 1);
		assert_int_equal(d->comp[1].offset, want[i].u);
		assert_int_equal(d->comp[2].offset, want[i].v);
	}
}

static void test_yu12_single(void **state)
{
	(void)state;
	struct vz_format f = make(V4L2_PIX_FMT_YUV420, 640, 480);
	uint32_t st[VZ_MAX_PLANES] = {768, 0, 0};
	assert_int_equal(vz_format_layout(&f, st), 0);
	assert_int_equal(f.num_mem, 1);
	assert_int_equal(f.num_planes, 3);
	assert_int_equal(f.plane[1].offset, 768 * 480);
	assert_int_equal(f.plane[1].stride, 384);
	assert_int_equal(f.plane[1].height, 240);
	assert_int_equal(f.plane[2].offset, 768 * 480 + 384 * 240);
	assert_int_equal(f.plane[2].stride, 384);
	assert_int_equal(f.mem_size[0], 768 * 480 + 2 * 384 * 240);

	const struct vz_format_desc *d = vz_format_desc_find(V4L2_PIX_FMT_YVU420);
	assert_non_null(d);
	assert_int_equal(d->comp[1].plane, 2); /* Cb last in YV12 */
	assert_int_equal(d->comp[2].plane, 1);
}

static void test_multiplanar_mem(void **state)
{
	(void)state;
	struct vz_format f = make(V4L2_PIX_FMT_NV12M, 640, 480);
	uint32_t st[VZ_MAX_PLANES] = {640, 768, 0};
	assert_int_equal(vz_format_layout(&f, st), 0);
	assert_int_equal(f.num_mem, 2);
	assert_int_equal(f.plane[0].mem, 0);
	assert_int_equal(f.plane[1].mem, 1);
	assert_int_equal(f.plane[1].offset, 0);
	assert_int_equal(f.plane[1].stride, 768);
	assert_int_equal(f.plane[1].height, 240);
	assert_int_equal(f.mem_size[0], 640 * 480);
	assert_int_equal(f.mem_size[1], 768 * 240);

	f = make(V4L2_PIX_FMT_YUV420M, 320, 240);
	uint32_t st3[VZ_MAX_PLANES] = {320, 0, 0};
	assert_int_equal(vz_format_layout(&f, st3), 0);
	assert_int_equal(f.num_mem, 3);
	for (unsigned p = 1; p < 3; p++) {
		assert_int_equal(f.plane[p].mem, p);
		assert_int_equal(f.plane[p].offset, 0);
		assert_int_equal(f.plane[p].stride, 160);
		assert_int_equal(f.plane[p].height, 120);
	}
}

/* A multi-planar driver may start the picture data_offset bytes into a
 * plane: the frame map starts there, and checks the plane still holds it. */
static void test_frame_map_data_offset(void **state)
{
	(void)state;
	static uint8_t y[64 * 16 + 256], uv[64 * 8 + 128];
	struct vz_format f = make(V4L2_PIX_FMT_NV12M, 64, 16);
	uint32_t st[VZ_MAX_PLANES] = {64, 64, 0};
	assert_int_equal(vz_format_layout(&f, st), 0);
	struct vz_buffer b = {.num_mem = 2};
	b.mem[0].map = y;
	b.mem[0].length = sizeof(y);
	b.mem[1].map = uv;
	b.mem[1].length = sizeof(uv);
	struct vz_frame_info fi = {0};
	fi.data_offset[0] = 256;
	fi.data_offset[1] = 128;
	struct vz_frame_map m;
	assert_int_equal(vz_frame_map_init(&m, &f, &b, &fi), 0);
	assert_ptr_equal(m.plane[0], y + 256);
	assert_ptr_equal(m.plane[1], uv + 128);
	/* Without the info, the planes start at their offsets. */
	assert_int_equal(vz_frame_map_init(&m, &f, &b, NULL), 0);
	assert_ptr_equal(m.plane[0], y);
	/* An offset that pushes the picture past the plane's end is refused. */
	fi.data_offset[1] = 129;
	assert_int_equal(vz_frame_map_init(&m, &f, &b, &fi), -EINVAL);
}

static void test_mem_size_kept(void **state)
{
	(void)state;
	struct vz_format f = make(V4L2_PIX_FMT_RGB24, 100, 10);
	f.mem_size[0] = 4096;
	assert_int_equal(vz_format_layout(&f, NULL), 0);
	assert_int_equal(f.plane[0].stride, 300);
	assert_int_equal(f.mem_size[0], 4096);
}

static void test_rgb_byte_orders(void **state)
{
	(void)state;
	static const struct {
		uint32_t fourcc;
		unsigned bpp, r, g, b;
	} want[] = {
	        {V4L2_PIX_FMT_RGB24, 3, 0, 1, 2},  {V4L2_PIX_FMT_BGR24, 3, 2, 1, 0},
	        {V4L2_PIX_FMT_XBGR32, 4, 2, 1, 0}, {V4L2_PIX_FMT_ABGR32, 4, 2, 1, 0},
	        {V4L2_PIX_FMT_RGBX32, 4, 0, 1, 2}, {V4L2_PIX_FMT_RGBA32, 4, 0, 1, 2},
	        {V4L2_PIX_FMT_BGR32, 4, 2, 1, 0},  {V4L2_PIX_FMT_RGB32, 4, 1, 2, 3},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct vz_format_desc *d = vz_format_desc_find(want[i].fourcc);
		assert_non_null(d);
		assert_false(d->yuv);
		assert_int_equal(d->plane[0].bytes_per_group, want[i].bpp);
		assert_int_equal(d->comp[0].offset, want[i].r);
		assert_int_equal(d->comp[1].offset, want[i].g);
		assert_int_equal(d->comp[2].offset, want[i].b);
		assert_int_equal(d->comp[0].step, want[i].bpp);
	}
}

/* Every table entry must be self-consistent: this is what keeps a typo in
 * the table from silently corrupting pixels in the stamp or the mask. */
static void test_table_consistent(void **state)
{
	(void)state;
	unsigned n = 0;
	for (const struct vz_format_desc *d; (d = vz_format_desc_at(n)); n++) {
		char s[5];
		assert_string_equal(vz_fourcc_str(d->fourcc, s), d->name);
		assert_ptr_equal(vz_format_desc_find(d->fourcc), d);
		assert_true(d->num_comps == 1 || d->num_comps == 3);
		for (unsigned c = 0; c < d->num_comps; c++) {
			unsigned p = d->comp[c].plane;
			assert_true(p < d->num_planes);
			assert_true(d->comp[c].offset < d->plane[p].bytes_per_group);
			assert_true(d->comp[c].step > 0);
		}
		struct vz_format f = make(d->fourcc, 64, 32);
		assert_int_equal(vz_format_layout(&f, NULL), 0);
		assert_int_equal(f.num_mem, d->multiplanar_mem ? d->num_planes : 1);
	}
	assert_true(n >= 25);
	assert_null(vz_format_desc_at(n));
}

static void test_parse_roundtrip(void **state)
{
	(void)state;
	for (unsigned i = 0; vz_format_desc_at(i); i++) {
		const struct vz_format_desc *d = vz_format_desc_at(i);
		char s[5], lower[5];
		uint32_t v = 0;
		vz_fourcc_str(d->fourcc, s);
		assert_int_equal(vz_fourcc_parse(s, &v), 0);
		assert_int_equal(v, d->fourcc);
		for (int k = 0; k < 5; k++)
			lower[k] = (char)((s[k] >= 'A' && s[k] <= 'Z') ? s[k] + 32 : s[k]);
		v = 0;
		assert_int_equal(vz_fourcc_parse(lower, &v), 0);
		assert_int_equal(v, d->fourcc);
	}
}

static void test_parse_aliases(void **state)
{
	(void)state;
	uint32_t v;
	assert_int_equal(vz_fourcc_parse("RGB24", &v), 0);
	assert_int_equal(v, V4L2_PIX_FMT_RGB24);
	assert_int_equal(vz_fourcc_parse("bgr24", &v), 0);
	assert_int_equal(v, V4L2_PIX_FMT_BGR24);
	assert_int_equal(vz_fourcc_parse("nv12", &v), 0);
	assert_int_equal(v, V4L2_PIX_FMT_NV12);
	assert_int_equal(vz_fourcc_parse("XR24", &v), 0);
	assert_int_equal(v, V4L2_PIX_FMT_XBGR32);
	assert_int_equal(vz_fourcc_parse("YUV420", &v), 0);
	assert_int_equal(v, V4L2_PIX_FMT_YUV420);
	/* Unknown to vzero, but a valid fourcc for the driver: taken verbatim,
	 * case kept. */
	assert_int_equal(vz_fourcc_parse("MJPG", &v), 0);
	assert_int_equal(v, V4L2_PIX_FMT_MJPEG);
	assert_null(vz_format_desc_find(v));
}

static void test_parse_errors(void **state)
{
	(void)state;
	uint32_t v = 0x12345678;
	assert_int_equal(vz_fourcc_parse("", &v), -EINVAL);
	assert_int_equal(vz_fourcc_parse("NV1", &v), -EINVAL);
	assert_int_equal(vz_fourcc_parse("RGB888", &v), -EINVAL);
	assert_int_equal(vz_fourcc_parse(" NV1", &v), -EINVAL);
	assert_int_equal(vz_fourcc_parse("NV\t2", &v), -EINVAL);
	assert_int_equal(vz_fourcc_parse(NULL, &v), -EINVAL);
	assert_int_equal(v, 0x12345678);
}

static void test_fourcc_str(void **state)
{
	(void)state;
	char s[5];
	assert_string_equal(vz_fourcc_str(V4L2_PIX_FMT_YUYV, s), "YUYV");
	assert_string_equal(vz_fourcc_str(VZ_FOURCC('A', 0x01, 'B', 0xff), s), "A?B?");
}

static void test_layout_errors(void **state)
{
	(void)state;
	struct vz_format f = make(V4L2_PIX_FMT_MJPEG, 640, 480);
	assert_int_equal(vz_format_layout(&f, NULL), -EINVAL);
	f = make(0, 640, 480);
	assert_int_equal(vz_format_layout(&f, NULL), -EINVAL);
	f = make(V4L2_PIX_FMT_YUYV, 0, 480);
	assert_int_equal(vz_format_layout(&f, NULL), -EINVAL);
	/* A stride shorter than a line would make planes overlap. */
	f = make(V4L2_PIX_FMT_YUYV, 640, 480);
	uint32_t st[VZ_MAX_PLANES] = {1000, 0, 0};
	assert_int_equal(vz_format_layout(&f, st), -EINVAL);
}

static void test_interval(void **state)
{
	(void)state;
	struct vz_format f = make(V4L2_PIX_FMT_YUYV, 640, 480);
	assert_int_equal(vz_format_interval_ns(&f), 0);
	f.fps_num = 30;
	f.fps_den = 1;
	assert_int_equal(vz_format_interval_ns(&f), 33333333);
	f.fps_num = 30000;
	f.fps_den = 1001;
	assert_int_equal(vz_format_interval_ns(&f), 33366667);
	f.fps_num = 1;
	f.fps_den = 5;
	assert_int_equal(vz_format_interval_ns(&f), 5000000000LL);
	f.fps_num = 0;
	assert_int_equal(vz_format_interval_ns(&f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_packed_422),
	        cmocka_unit_test(test_tight_stride_default),
	        cmocka_unit_test(test_nv12_single),
	        cmocka_unit_test(test_nv16_and_nv21),
	        cmocka_unit_test(test_yu12_single),
	        cmocka_unit_test(test_multiplanar_mem),
	        cmocka_unit_test(test_frame_map_data_offset),
	        cmocka_unit_test(test_mem_size_kept),
	        cmocka_unit_test(test_rgb_byte_orders),
	        cmocka_unit_test(test_table_consistent),
	        cmocka_unit_test(test_parse_roundtrip),
	        cmocka_unit_test(test_parse_aliases),
	        cmocka_unit_test(test_parse_errors),
	        cmocka_unit_test(test_fourcc_str),
	        cmocka_unit_test(test_layout_errors),
	        cmocka_unit_test(test_interval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
