/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <string.h>

#include "stats.h"

/* Heapsort rather than qsort(): glibc's qsort may malloc a merge buffer,
 * and the status line sorts on the loop thread, where we promise not to
 * allocate.  Heapsort is in place and has no bad inputs. */
static void sift_down(double *a, size_t root, size_t n)
{
	for (;;) {
		size_t child = 2 * root + 1;
		if (child >= n)
			return;
		if (child + 1 < n && a[child] < a[child + 1])
			child++;
		if (!(a[root] < a[child]))
			return;
		double tmp = a[root];
		a[root] = a[child];
		a[child] = tmp;
		root = child;
	}
}

static void heap_sort(double *a, size_t n)
{
	if (n < 2)
		return;
	for (size_t i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (size_t end = n - 1; end > 0; end--) {
		double tmp = a[0];
		a[0] = a[end];
		a[end] = tmp;
		sift_down(a, 0, end);
	}
}

double vz_percentile_sorted(const double *sorted, size_t n, double p)
{
	if (n == 0)
		return 0.0;
	if (!(p > 0.0))
		return sorted[0];
	if (p >= 100.0)
		return sorted[n - 1];
	/* p/100*n is rarely exact in binary (99.9/100*1000 = 999.0000000000001),
	 * and ceil() would then skip a rank: forgive a relative 1e-9, far
	 * below any percentile anyone asks for. */
	double x = p / 100.0 * (double)n;
	double rank = ceil(x - x * 1e-9);
	if (rank < 1.0)
		rank = 1.0;
	if (rank > (double)n)
		rank = (double)n;
	return sorted[(size_t)rank - 1];
}

void vz_summarize(const double *vals, size_t n, double *scratch, struct vz_summary *out)
{
	memset(out, 0, sizeof(*out));
	if (n == 0)
		return;

	/* Two passes: the one-pass sum-of-squares formula loses every digit
	 * of a 40 ms +- 10 us jitter to cancellation. */
	double sum = 0.0;
	for (size_t i = 0; i < n; i++)
		sum += vals[i];
	double mean = sum / (double)n;
	double ss = 0.0;
	for (size_t i = 0; i < n; i++) {
		double d = vals[i] - mean;
		ss += d * d;
	}

	if (scratch != vals)
		memmove(scratch, vals, n * sizeof(*scratch));
	heap_sort(scratch, n);

	out->n = n;
	out->mean = mean;
	out->std = sqrt(ss / (double)n);
	out->min = scratch[0];
	out->max = scratch[n - 1];
	out->p50 = vz_percentile_sorted(scratch, n, 50.0);
	out->p95 = vz_percentile_sorted(scratch, n, 95.0);
	out->p99 = vz_percentile_sorted(scratch, n, 99.0);
	out->p999 = vz_percentile_sorted(scratch, n, 99.9);
}
