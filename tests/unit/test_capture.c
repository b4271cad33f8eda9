/* SPDX-License-Identifier: MIT */
/*
 * The capture backend's pure decisions, which vivid cannot provoke: a
 * short (torn) frame is an error frame, whatever the format's layout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <linux/videodev2.h>

#include "capture/v4l2-internal.h"
#include "format.h"

static struct vz_format laid_out(uint32_t fourcc, uint32_t w, uint32_t h)
{
	struct vz_format f = {.fourcc = fourcc, .width = w, .height = h};
	uint32_t st[VZ_MAX_PLANES] = {0};
	assert_int_equal(vz_format_layout(&f, st), 0);
	return f;
}

static void test_short_single_planar(void **state)
{
	(void)state;
	struct vz_format f = laid_out(V4L2_PIX_FMT_YUYV, 640, 480);
	struct vz_frame_info fi = {0};
	fi.bytesused[0] = 640 * 2 * 480;
	assert_false(vz_frame_short(&f, &fi));
	fi.bytesused[0] = 640 * 2 * 479;
	assert_true(vz_frame_short(&f, &fi));
	fi.bytesused[0] = 0;
	assert_true(vz_frame_short(&f, &fi));
}

static void test_short_plane_of_many(void **state)
{
	(void)state;
	struct vz_format f = laid_out(V4L2_PIX_FMT_NV12M, 64, 16);
	struct vz_frame_info fi = {0};
	fi.bytesused[0] = 64 * 16;
	fi.bytesused[1] = 64 * 8;
	assert_false(vz_frame_short(&f, &fi));
	fi.bytesused[1] = 64 * 8 - 1;
	assert_true(vz_frame_short(&f, &fi));
	/* single-memory NV12: both colour planes must fit in plane 0 */
	f = laid_out(V4L2_PIX_FMT_NV12, 64, 16);
	fi.bytesused[0] = 64 * 16; /* luma only */
	fi.bytesused[1] = 0;
	assert_true(vz_frame_short(&f, &fi));
	fi.bytesused[0] = 64 * 16 * 3 / 2;
	assert_false(vz_frame_short(&f, &fi));
}

static void test_compressed_never_short(void **state)
{
	(void)state;
	struct vz_format f = {.fourcc = V4L2_PIX_FMT_MJPEG,
	                      .width = 640,
	                      .height = 480,
	                      .num_mem = 1,
	                      .num_planes = 1};
	f.mem_size[0] = 614400;
	struct vz_frame_info fi = {0};
	fi.bytesused[0] = 12345;
	assert_false(vz_frame_short(&f, &fi));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_short_single_planar),
	        cmocka_unit_test(test_short_plane_of_many),
	        cmocka_unit_test(test_compressed_never_short),
	};
	return cmocka_run_group_tests_name("capture", tests, NULL, NULL);
}
