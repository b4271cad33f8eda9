/* SPDX-License-Identifier: MIT */
/*
 * Time in vzero is int64 nanoseconds on CLOCK_MONOTONIC: the clock V4L2
 * drivers stamp buffers with (V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC), so driver
 * timestamps and our own DQBUF/hand-off/release times can be subtracted
 * directly.
 */
#ifndef VZERO_CLOCK_H
#define VZERO_CLOCK_H

#include <stdint.h>
#include <time.h>

#define VZ_NSEC_PER_SEC  1000000000LL
#define VZ_NSEC_PER_MSEC 1000000LL
#define VZ_NSEC_PER_USEC 1000LL

static inline int64_t vz_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * VZ_NSEC_PER_SEC + ts.tv_nsec;
}

/* b - a, and a + b, on a clock that may wrap (vivid's wrap_timestamp; a
 * 64-bit counter's end): modulo 2^64, as the counter itself wraps, where
 * plain int64 arithmetic would be signed overflow -- undefined behaviour
 * (found by UBSan in the fault matrix).  Across a wrap the difference of
 * two close times stays small and right. */
static inline int64_t vz_ns_sub(int64_t b, int64_t a)
{
	return (int64_t)((uint64_t)b - (uint64_t)a);
}

static inline int64_t vz_ns_add(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a + (uint64_t)b);
}

static inline int64_t vz_timespec_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * VZ_NSEC_PER_SEC + ts->tv_nsec;
}

#endif
