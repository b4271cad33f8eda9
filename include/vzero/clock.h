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

static inline int64_t vz_timespec_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * VZ_NSEC_PER_SEC + ts->tv_nsec;
}

#endif
