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

/* Buffer @index of the capture's current set. */
static inline const struct vz_buffer *vzt_buffer(const struct vz_capture *c, unsigned index)
{
	return &vz_capture_buffers(c)->buf[index];
}

static inline unsigned vzt_buffer_count(const struct vz_capture *c)
{
	const struct vz_buffer_set *s = vz_capture_buffers(c);
	return s ? s->count : 0;
}

/* Gives buffer @index of the current set back. */
static inline int vzt_queue(struct vz_capture *c, unsigned index, struct vz_err *err)
{
	return vz_capture_queue(c, vz_capture_buffers(c)->generation, index, err);
}

#endif
