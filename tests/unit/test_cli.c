/* SPDX-License-Identifier: MIT */
/* The command-line parsers: strict on nonsense, exact on good input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"

static void test_size_good(void **state)
{
	(void)state;
	uint32_t w = 0, h = 0;
	assert_int_equal(vz_cli_parse_size("640x480", &w, &h, NULL), 0);
	assert_int_equal(w, 640);
	assert_int_equal(h, 480);
	assert_int_equal(vz_cli_parse_size("1x1", &w, &h, NULL), 0);
	assert_int_equal(vz_cli_parse_size("16384x16384", &w, &h, NULL), 0);
	assert_int_equal(w, 16384);
}

static void test_size_bad(void **state)
{
	(void)state;
	const char *bad[] = {
	        "0x0",       "0x480",     "640x0",           "640",
	        "x480",      "640x",      "-640x480",        "640x-480",
	        "+640x480",  " 640x480",  "640x480 ",        "640X480",
	        "640x480x3", "16385x480", "640x99999999999", "99999999999999999999999x1",
	        "",          "axb",       "6 40x480",        "0x10x20"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t w = 7, h = 7;
		struct vz_err e = {0};
		assert_int_equal(vz_cli_parse_size(bad[i], &w, &h, &e), -EINVAL);
		assert_int_equal(w, 7);
		assert_int_equal(h, 7);
		assert_non_null(strstr(e.msg, "WIDTHxHEIGHT"));
	}
	struct vz_err e = {0};
	assert_int_equal(vz_cli_parse_size(NULL, NULL, NULL, &e), -EINVAL);
}

static void test_fps_good(void **state)
{
	(void)state;
	struct {
		const char *s;
		uint32_t num, den;
	} good[] = {
	        {"25", 25, 1},       {"30000/1001", 30000, 1001},
	        {"12.5", 25, 2},     {"29.97", 2997, 100},
	        {"50/2", 25, 1},     {"0.5", 1, 2},
	        {"10000", 10000, 1}, {"60.000", 60, 1},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint32_t n = 0, d = 0;
		assert_int_equal(vz_cli_parse_fps(good[i].s, &n, &d, NULL), 0);
		assert_int_equal(n, good[i].num);
		assert_int_equal(d, good[i].den);
	}
}

static void test_fps_bad(void **state)
{
	(void)state;
	const char *bad[] = {"abc",
	                     "0",
	                     "0/1",
	                     "1/0",
	                     "-25",
	                     "25fps",
	                     "",
	                     "25/",
	                     "/25",
	                     "1e3",
	                     "inf",
	                     "nan",
	                     "10001",
	                     "1.2.3",
	                     ".",
	                     "25 ",
	                     "0.0000001",
	                     "30000/-1001",
	                     "99999999999999999999",
	                     "4294967296/1",
	                     "25/4294967296",
	                     "0x19"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t n = 7, d = 7;
		struct vz_err e = {0};
		assert_int_equal(vz_cli_parse_fps(bad[i], &n, &d, &e), -EINVAL);
		assert_int_equal(n, 7);
		assert_non_null(strstr(e.msg, "30000/1001"));
	}
}

static void test_count(void **state)
{
	(void)state;
	uint64_t v = 0;
	struct vz_err e = {0};
	assert_int_equal(vz_cli_parse_count("50", "-n", 1000, &v, &e), 0);
	assert_int_equal(v, 50);
	assert_int_equal(vz_cli_parse_count("1000", "-n", 1000, &v, &e), 0);
	assert_int_equal(vz_cli_parse_count("18446744073709551615", "-n", UINT64_MAX, &v, &e), 0);
	assert_true(v == UINT64_MAX);
	const char *bad[] = {"-5",
	                     "0",
	                     "1001",
	                     "abc",
	                     "",
	                     "5x",
	                     " 5",
	                     "+5",
	                     "1e3",
	                     "5.0",
	                     "18446744073709551616",
	                     "99999999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vz_err_clear(&e);
		v = 7;
		assert_int_equal(vz_cli_parse_count(bad[i], "-n", 1000, &v, &e), -EINVAL);
		assert_int_equal(v, 7);
		assert_non_null(strstr(e.msg, "-n '"));
		assert_non_null(strstr(e.msg, "1 to 1000"));
	}
}

static void test_seconds(void **state)
{
	(void)state;
	double s = 0;
	assert_int_equal(vz_cli_parse_seconds("10", &s, NULL), 0);
	assert_true(s == 10.0);
	assert_int_equal(vz_cli_parse_seconds("2.5", &s, NULL), 0);
	assert_true(s == 2.5);
	assert_int_equal(vz_cli_parse_seconds(".5", &s, NULL), 0);
	const char *bad[] = {"-1",  "0",    "0.0",   "abc", "",    "inf",        "nan",
	                     "1e3", "0x10", "1.2.3", ".",   "10s", "99999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vz_err e = {0};
		s = 7;
		assert_int_equal(vz_cli_parse_seconds(bad[i], &s, &e), -EINVAL);
		assert_true(s == 7);
		assert_non_null(strstr(e.msg, "seconds"));
	}
}

static void test_capture_options(void **state)
{
	(void)state;
	struct vz_cli_capture o;
	vz_cli_capture_init(&o);
	assert_false(o.cfg.blocking);
	assert_int_equal(o.reconnect_ms, -1);
	assert_int_equal(o.cfg.io, VZ_IO_MMAP);
	assert_int_equal(vz_cli_capture_opt(&o, "test", 'd', "/dev/video0"), 1);
	assert_string_equal(o.cfg.device, "/dev/video0");
	assert_int_equal(vz_cli_capture_opt(&o, "test", 'f', "NV12"), 1);
	assert_int_equal(o.cfg.fourcc, VZ_FOURCC('N', 'V', '1', '2'));
	assert_int_equal(vz_cli_capture_opt(&o, "test", 's', "1280x720"), 1);
	assert_int_equal(o.cfg.width, 1280);
	assert_int_equal(vz_cli_capture_opt(&o, "test", 'r', "30000/1001"), 1);
	assert_int_equal(o.cfg.fps_num, 30000);
	assert_int_equal(o.cfg.fps_den, 1001);
	assert_int_equal(vz_cli_capture_opt(&o, "test", 'n', "250"), 1);
	assert_int_equal(o.frames, 250);
	assert_int_equal(vz_cli_capture_opt(&o, "test", 't', "1.5"), 1);
	assert_true(o.seconds == 1.5);
	assert_int_equal(vz_cli_capture_opt(&o, "test", VZ_OPT_IO, "dmabuf-import"), 1);
	assert_int_equal(o.cfg.io, VZ_IO_DMABUF_IMPORT);
	assert_int_equal(vz_cli_capture_opt(&o, "test", VZ_OPT_BUFFERS, "8"), 1);
	assert_int_equal(o.cfg.buffers, 8);
	assert_int_equal(vz_cli_capture_opt(&o, "test", VZ_OPT_RECONNECT, NULL), 1);
	assert_int_equal(o.reconnect_ms, 0);
	assert_int_equal(vz_cli_capture_opt(&o, "test", VZ_OPT_RECONNECT, "20"), 1);
	assert_int_equal(o.reconnect_ms, 20000);
	assert_int_equal(vz_cli_capture_opt(&o, "test", VZ_OPT_JSON, NULL), 1);
	assert_true(o.json);
	assert_int_equal(vz_cli_capture_opt(&o, "test", VZ_OPT_TIMELINE_CSV, "t.csv"), 1);
	assert_string_equal(o.timeline_csv, "t.csv");

	/* Bad values: -1 and nothing changed; other options: 0. */
	assert_int_equal(vz_cli_capture_opt(&o, "test", VZ_OPT_IO, "userptr"), -1);
	assert_int_equal(o.cfg.io, VZ_IO_DMABUF_IMPORT);
	assert_int_equal(vz_cli_capture_opt(&o, "test", 'n', "-5"), -1);
	assert_int_equal(o.frames, 250);
	assert_int_equal(vz_cli_capture_opt(&o, "test", 's', "0x0"), -1);
	assert_int_equal(vz_cli_capture_opt(&o, "test", 'r', "abc"), -1);
	assert_int_equal(vz_cli_capture_opt(&o, "test", 'f', "TOOLONG"), -1);
	assert_int_equal(vz_cli_capture_opt(&o, "test", VZ_OPT_BUFFERS, "0"), -1);
	assert_int_equal(vz_cli_capture_opt(&o, "test", VZ_OPT_BUFFERS, "33"), -1);
	assert_int_equal(vz_cli_capture_opt(&o, "test", VZ_OPT_RECONNECT, "-3"), -1);
	assert_int_equal(vz_cli_capture_opt(&o, "test", VZ_OPT_RECONNECT, "999999"), -1);
	assert_int_equal(vz_cli_capture_opt(&o, "test", 'x', "1"), 0);
	assert_int_equal(vz_cli_capture_opt(&o, "test", VZ_OPT_CAPTURE_LAST + 1, NULL), 0);
}

static void test_longopts_terminated(void **state)
{
	(void)state;
	size_t n = 0;
	bool io = false, reconnect_optional = false;
	for (const struct option *o = vz_cli_capture_longopts; o->name; o++, n++) {
		if (!strcmp(o->name, "io"))
			io = o->val == VZ_OPT_IO && o->has_arg == required_argument;
		if (!strcmp(o->name, "reconnect"))
			reconnect_optional = o->has_arg == optional_argument;
	}
	assert_true(n >= 12 && n < 40);
	assert_true(io);
	assert_true(reconnect_optional);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_size_good),       cmocka_unit_test(test_size_bad),
	        cmocka_unit_test(test_fps_good),        cmocka_unit_test(test_fps_bad),
	        cmocka_unit_test(test_count),           cmocka_unit_test(test_seconds),
	        cmocka_unit_test(test_capture_options), cmocka_unit_test(test_longopts_terminated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
