/* SPDX-License-Identifier: MIT */
/* Shared by the integration suite's C helpers. */
#ifndef VZ_TEST_H
#define VZ_TEST_H

#include <poll.h>

#include "capture.h"

/*
 * Waits for the next good frame, polling up to @timeout_ms at a time and
 * skipping what isn't one (an error-flagged buffer, a recovered fault).
 * Returns 1 with *fi filled, 0 when a poll timed out, < 0 on a capture
 * error (message in @err).
 */
static inline int vzt_next_frame(struct vz_capture *c, int timeout_ms, struct vz_frame_info *fi,
                                 struct vz_err *err)
{
	for (;;) {
		struct pollfd p = {.fd = vz_capture_fd(c), .events = POLLIN | POLLPRI};
		if (poll(&p, 1, timeout_ms) <= 0)
			return 0;
		int r = vz_capture_next(c, p.revents, fi, err);
		if (r < 0 || r == 1)
			return r;
	}
}

#endif
