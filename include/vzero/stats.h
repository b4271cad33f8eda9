/* SPDX-License-Identifier: MIT */
/*
 * Summary statistics for the jitter report: mean, standard deviation and
 * the percentiles people ask about (p50/p95/p99/p99.9) plus min/max.
 * Percentiles use the nearest-rank definition on the sorted sample
 * (p-th percentile = value at rank ceil(p/100 * n)), so every reported
 * figure is a value that really occurred.
 */
#ifndef VZERO_STATS_H
#define VZERO_STATS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vz_summary {
	uint64_t n;
	double mean, std; /* population standard deviation */
	double min, p50, p95, p99, p999, max;
};

/*
 * Summarises @n values.  @scratch must hold @n doubles (it is sorted in
 * place; @vals is left alone unless @scratch == @vals, which is allowed).
 * n == 0 gives an all-zero summary.
 * Never allocates, so it is safe on the loop thread.
 */
void vz_summarize(const double *vals, size_t n, double *scratch, struct vz_summary *out);

/* Nearest-rank percentile of an already sorted array, p in [0,100]. */
double vz_percentile_sorted(const double *sorted, size_t n, double p);

#ifdef __cplusplus
}
#endif
#endif
