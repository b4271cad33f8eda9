/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "stats.h"

#define EPS 1e-9

static void test_one_to_hundred(void **state)
{
	double v[100], scratch[100];
	struct vz_summary s;

	/* Reverse order so the sort has work to do. */
	for (int i = 0; i < 100; i++)
		v[i] = 100 - i;
	vz_summarize(v, 100, scratch, &s);
	assert_int_equal(s.n, 100);
	assert_float_equal(s.mean, 50.5, EPS);
	/* Population variance of 1..n is (n^2 - 1) / 12. */
	assert_float_equal(s.std, sqrt((100.0 * 100.0 - 1.0) / 12.0), EPS);
	assert_float_equal(s.min, 1, EPS);
	assert_float_equal(s.max, 100, EPS);
	/* Nearest rank: ceil(p/100 * 100) = p. */
	assert_float_equal(s.p50, 50, EPS);
	assert_float_equal(s.p95, 95, EPS);
	assert_float_equal(s.p99, 99, EPS);
	assert_float_equal(s.p999, 100, EPS); /* ceil(99.9) */
}

static void test_constant(void **state)
{
	double v[37], scratch[37];
	struct vz_summary s;

	for (int i = 0; i < 37; i++)
		v[i] = 33.333;
	vz_summarize(v, 37, scratch, &s);
	assert_float_equal(s.mean, 33.333, EPS);
	assert_float_equal(s.std, 0.0, EPS);
	assert_float_equal(s.min, 33.333, EPS);
	assert_float_equal(s.p50, 33.333, EPS);
	assert_float_equal(s.p999, 33.333, EPS);
	assert_float_equal(s.max, 33.333, EPS);
}

static void test_single(void **state)
{
	double v = 7.25, scratch;
	struct vz_summary s;

	vz_summarize(&v, 1, &scratch, &s);
	assert_int_equal(s.n, 1);
	assert_float_equal(s.mean, 7.25, EPS);
	assert_float_equal(s.std, 0.0, EPS);
	assert_float_equal(s.min, 7.25, EPS);
	assert_float_equal(s.p50, 7.25, EPS);
	assert_float_equal(s.p99, 7.25, EPS);
	assert_float_equal(s.max, 7.25, EPS);
}

static void test_empty(void **state)
{
	struct vz_summary s;

	memset(&s, 0xa5, sizeof(s));
	vz_summarize(NULL, 0, NULL, &s);
	assert_int_equal(s.n, 0);
	assert_float_equal(s.mean, 0, 0);
	assert_float_equal(s.std, 0, 0);
	assert_float_equal(s.max, 0, 0);
	assert_float_equal(vz_percentile_sorted(NULL, 0, 50), 0, 0);
}

static void test_input_untouched(void **state)
{
	const double orig[8] = {5, -1, 3.5, 9, 0, 2, 2, 7};
	double v[8], scratch[8];
	struct vz_summary s;

	memcpy(v, orig, sizeof(v));
	vz_summarize(v, 8, scratch, &s);
	assert_memory_equal(v, orig, sizeof(v));
	const double sorted[8] = {-1, 0, 2, 2, 3.5, 5, 7, 9};
	assert_memory_equal(scratch, sorted, sizeof(sorted));
	assert_float_equal(s.mean, 27.5 / 8, EPS);
	assert_float_equal(s.min, -1, EPS);
	assert_float_equal(s.max, 9, EPS);
	assert_float_equal(s.p50, 2, EPS); /* rank 4 */
}

static void test_std_by_hand(void **state)
{
	/* mean 5, squared deviations 9 1 1 1 0 0 4 16 -> 32 / 8 = 4 */
	const double v[8] = {2, 4, 4, 4, 5, 5, 7, 9};
	double scratch[8];
	struct vz_summary s;

	vz_summarize(v, 8, scratch, &s);
	assert_float_equal(s.mean, 5.0, EPS);
	assert_float_equal(s.std, 2.0, EPS);
}

static void test_std_small_jitter_on_large_offset(void **state)
{
	/* 40 ms +- 1 us: a one-pass formula loses this to cancellation. */
	double v[1000], scratch[1000];
	struct vz_summary s;

	for (int i = 0; i < 1000; i++)
		v[i] = 1e6 + ((i & 1) ? 0.001 : -0.001);
	vz_summarize(v, 1000, scratch, &s);
	assert_float_equal(s.std, 0.001, 1e-9);
}

static void test_p999(void **state)
{
	static double v[10000], scratch[10000];
	struct vz_summary s;

	/* Shuffled by a fixed permutation (7919 is prime to 1000, 10000). */
	for (int i = 0; i < 1000; i++)
		v[i] = (double)((i * 7919) % 1000 + 1);
	vz_summarize(v, 1000, scratch, &s);
	assert_float_equal(s.p999, 999, EPS); /* rank ceil(999.0) = 999 */
	assert_float_equal(s.p99, 990, EPS);
	assert_float_equal(s.p95, 950, EPS);
	assert_float_equal(s.p50, 500, EPS);
	assert_float_equal(s.max, 1000, EPS);

	for (int i = 0; i < 10000; i++)
		v[i] = (double)((i * 7919) % 10000 + 1);
	vz_summarize(v, 10000, scratch, &s);
	assert_float_equal(s.p999, 9990, EPS);
	assert_float_equal(s.p99, 9900, EPS);
	assert_float_equal(s.p50, 5000, EPS);
	assert_float_equal(s.mean, 5000.5, EPS);
}

static void test_percentile_edges(void **state)
{
	const double sorted[5] = {10, 20, 30, 40, 50};

	assert_float_equal(vz_percentile_sorted(sorted, 5, 0), 10, 0);
	assert_float_equal(vz_percentile_sorted(sorted, 5, 100), 50, 0);
	assert_float_equal(vz_percentile_sorted(sorted, 5, 20), 10, 0);    /* rank 1 */
	assert_float_equal(vz_percentile_sorted(sorted, 5, 20.01), 20, 0); /* rank 2 */
	assert_float_equal(vz_percentile_sorted(sorted, 5, 60), 30, 0);
	assert_float_equal(vz_percentile_sorted(sorted, 5, 150), 50, 0);
	assert_float_equal(vz_percentile_sorted(sorted, 5, -3), 10, 0);
}

static void test_duplicates_and_in_place(void **state)
{
	/* scratch may be vals itself: the status line relies on nothing
	 * else, but callers short on memory may. */
	double v[6] = {3, 1, 3, 1, 3, 1};
	struct vz_summary s;

	vz_summarize(v, 6, v, &s);
	assert_float_equal(s.p50, 1, 0);
	assert_float_equal(s.p95, 3, 0);
	assert_float_equal(s.mean, 2, EPS);
	assert_float_equal(s.std, 1, EPS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_one_to_hundred),
	        cmocka_unit_test(test_constant),
	        cmocka_unit_test(test_single),
	        cmocka_unit_test(test_empty),
	        cmocka_unit_test(test_input_untouched),
	        cmocka_unit_test(test_std_by_hand),
	        cmocka_unit_test(test_std_small_jitter_on_large_offset),
	        cmocka_unit_test(test_p999),
	        cmocka_unit_test(test_percentile_edges),
	        cmocka_unit_test(test_duplicates_and_in_place),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
