/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"

static void test_set_formats_message(void **state)
{
	(void)state;
	struct vz_err e;
	vz_err_clear(&e);
	assert_int_equal(e.code, 0);
	assert_string_equal(e.msg, "");
	assert_int_equal(vz_err_set(&e, -ENODEV, "open %s: %s", "/dev/video9", "gone"), -ENODEV);
	assert_int_equal(e.code, -ENODEV);
	assert_string_equal(e.msg, "open /dev/video9: gone");
}

static void test_innermost_wins(void **state)
{
	(void)state;
	struct vz_err e;
	vz_err_clear(&e);
	vz_err_set(&e, -EINVAL, "mask: width must be positive");
	/* The outer layer's generic message must not replace the cause, but
	 * its return value is still what it asked for. */
	assert_int_equal(vz_err_set(&e, -EIO, "pipeline failed"), -EIO);
	assert_int_equal(e.code, -EINVAL);
	assert_string_equal(e.msg, "mask: width must be positive");

	vz_err_clear(&e);
	vz_err_set(&e, -EIO, "second run");
	assert_int_equal(e.code, -EIO);
	assert_string_equal(e.msg, "second run");
}

static void test_prefix(void **state)
{
	(void)state;
	struct vz_err e;
	vz_err_clear(&e);
	vz_err_set(&e, -EBUSY, "device busy");
	assert_int_equal(vz_err_prefix(&e, "capture %d", 2), -EBUSY);
	assert_string_equal(e.msg, "capture 2: device busy");
	vz_err_prefix(&e, "run");
	assert_string_equal(e.msg, "run: capture 2: device busy");
	assert_int_equal(e.code, -EBUSY);
}

static void test_null_safe(void **state)
{
	(void)state;
	vz_err_clear(NULL);
	assert_int_equal(vz_err_set(NULL, -ENOMEM, "out of memory %d", 1), -ENOMEM);
	assert_int_equal(vz_err_prefix(NULL, "ctx"), 0);
}

static void test_msg_append(void **state)
{
	(void)state;
	char buf[12] = "";
	vz_msg_append(buf, sizeof(buf), "%s", "abc");
	vz_msg_append(buf, sizeof(buf), "-%d", 42);
	assert_string_equal(buf, "abc-42");
	vz_msg_append(buf, sizeof(buf), "%s", "0123456789");
	assert_string_equal(buf, "abc-4201234"); /* cut, still terminated */
	vz_msg_append(buf, sizeof(buf), "%s", "more");
	assert_string_equal(buf, "abc-4201234");
}

static void test_truncation(void **state)
{
	(void)state;
	char big[VZ_ERR_MSG_MAX * 2];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';

	struct vz_err e;
	vz_err_clear(&e);
	vz_err_set(&e, -E2BIG, "%s", big);
	assert_int_equal(strlen(e.msg), VZ_ERR_MSG_MAX - 1);
	assert_int_equal(e.code, -E2BIG);

	vz_err_prefix(&e, "outer");
	assert_int_equal(strlen(e.msg), VZ_ERR_MSG_MAX - 1);
	assert_memory_equal(e.msg, "outer: xxx", 10);

	/* An overlong prefix must not overflow either. */
	vz_err_clear(&e);
	vz_err_set(&e, -EIO, "cause");
	vz_err_prefix(&e, "%s", big);
	assert_int_equal(strlen(e.msg), VZ_ERR_MSG_MAX - 1);
	assert_int_equal(e.code, -EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_set_formats_message),
	        cmocka_unit_test(test_innermost_wins),
	        cmocka_unit_test(test_prefix),
	        cmocka_unit_test(test_null_safe),
	        cmocka_unit_test(test_truncation),
	        cmocka_unit_test(test_msg_append),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
