/* SPDX-License-Identifier: MIT */
/*
 * The picture vz-ipc-fake-server writes into every frame and the vzerosrc
 * checker expects: byte @x of line @y of colour plane @plane of the frame
 * with sequence number @seq.  It depends on the position, not only on the
 * frame, so a wrong plane offset or stride shows as much as a stale frame.
 */
#ifndef VZ_IPC_PATTERN_H
#define VZ_IPC_PATTERN_H

#include <stdint.h>

static inline uint8_t vz_pattern(uint32_t seq, unsigned plane, unsigned y, unsigned x)
{
	return (uint8_t)(seq + 13u * plane + 7u * y + x);
}

/* What the server writes into the padding past each line's pixels. */
#define VZ_PATTERN_PAD 0xee

#endif
