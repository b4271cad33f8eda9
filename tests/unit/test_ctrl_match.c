/* SPDX-License-Identifier: MIT */
/* Control names typed on a command line against the driver's names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the headers above first */
#include <cmocka.h>

#include "capture.h"

static void test_same_name_any_spelling(void **state)
{
	(void)state;
	const char *driver = "Percentage of Dropped Buffers";
	assert_true(vz_ctrl_name_match("percentage_of_dropped_buffers", driver));
	assert_true(vz_ctrl_name_match("Percentage of Dropped Buffers", driver));
	assert_true(vz_ctrl_name_match("PERCENTAGE-OF-DROPPED-BUFFERS", driver));
	assert_true(vz_ctrl_name_match("percentage  of__dropped buffers", driver));
	assert_true(vz_ctrl_name_match("gain_automatic", "Gain, Automatic"));
	assert_true(vz_ctrl_name_match("brightness", "Brightness"));
}

static void test_different_names(void **state)
{
	(void)state;
	/* letters must line up: a separator is not optional inside a word */
	assert_false(vz_ctrl_name_match("bright ness", "Brightness"));
	assert_false(vz_ctrl_name_match("brightness", "Contrast"));
	assert_false(vz_ctrl_name_match("bright", "Brightness"));
	assert_false(vz_ctrl_name_match("brightnesss", "Brightness"));
	assert_false(vz_ctrl_name_match("gain", "Gain, Automatic"));
}

static void test_empty_names_never_match(void **state)
{
	(void)state;
	assert_false(vz_ctrl_name_match("", ""));
	assert_false(vz_ctrl_name_match("", "Brightness"));
	assert_false(vz_ctrl_name_match("__", "Brightness"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_same_name_any_spelling),
	        cmocka_unit_test(test_different_names),
	        cmocka_unit_test(test_empty_names_never_match),
	};
	return cmocka_run_group_tests_name("ctrl_match", tests, NULL, NULL);
}
