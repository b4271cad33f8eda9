/* SPDX-License-Identifier: MIT */
/*
 * Private to capture/: the dumb-buffer allocator behind VZ_IO_DMABUF_IMPORT
 * when the caller brings no buffers of its own, and the ioctl wrapper every
 * capture file uses.
 */
#ifndef VZ_V4L2_INTERNAL_H
#define VZ_V4L2_INTERNAL_H

#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include "capture.h"
#include "errors.h"

/* ioctl() that a signal can't cut short; returns its result, errno set. */
static inline int vz_ioctl(int fd, unsigned long req, void *arg)
{
	int r;
	do {
		r = ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR);
	return r;
}

struct vz_dumb_set;

/*
 * Allocates @count buffers of @num_mem memory planes (plane p holds at least
 * @size[p] bytes) as dumb buffers on a DRM node: @node, or the first
 * /dev/dri/card* that can create and export them.  Each plane gets a
 * read-write and a read-only DMA-buf export and a CPU mapping, written into
 * @bufs[i].mem[p]; the set owns all of them.  @node_out (may be NULL)
 * receives the node used.
 */
int vz_dumb_alloc(struct vz_dumb_set **out, const char *node, unsigned count, unsigned num_mem,
                  const uint32_t size[VZ_MAX_PLANES], struct vz_buffer *bufs, char *node_out,
                  size_t node_len, struct vz_err *err);
void vz_dumb_free(struct vz_dumb_set *s); /* NULL is fine */

#endif
