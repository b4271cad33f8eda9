/* SPDX-License-Identifier: MIT */
/*
 * Buffers and buffer sets: the memory frames live in.
 *
 * A buffer set is what one allocation produced: a format and up to
 * VZ_MAX_BUFFERS buffers of up to VZ_MAX_PLANES memory planes.  Each plane
 * is a DMA-buf with two fds -- read-write for in-place work inside this
 * process, read-only for everything that leaves it (a PROT_WRITE mapping of
 * it fails with EACCES, in any process) -- and a CPU mapping.
 *
 * Generations.  Every allocation (the first, a renegotiation, a reconnect)
 * makes a new set with a higher generation.  A frame names the generation it
 * belongs to, so a frame of an old set is never mistaken for the buffer with
 * the same index in the new one; nothing is ever matched by fd number.
 *
 * Lifetime.  A set is reference counted.  Its maker (a capture backend, or
 * a sink that provided the buffers) holds a reference while the set is
 * current; the pipeline holds one while any of its frames is out of the
 * driver; a sink holds one while it keeps per-set resources (GstMemory
 * wrappers, framebuffers, fds it sent to clients).  The last unref calls
 * ops->destroy, which closes the fds and unmaps, from whatever thread let
 * go.  So a set outlives the device it came from: a frame held across an
 * unplug stays readable through its own DMA-bufs, and the device can come
 * back meanwhile (a set never maps through the device node).
 *
 * CPU access to pixels is bracketed with vz_buffer_cpu_begin/end, which by
 * default issue DMA_BUF_IOCTL_SYNC on each plane's read-write fd, so caches
 * are right on every platform.
 *
 * Providers.  A sink may supply the buffers capture writes into (a display's
 * scan-out memory): it fills a set with fd_rw per plane (fd_ro where it can
 * export one), the CPU mapping, the format it laid out (fmt: strides and
 * offsets as its allocator chose them) and the modifier.  Capture then runs
 * in DMA-buf import mode into it, or says why it cannot.
 */
#ifndef VZERO_BUFFER_H
#define VZERO_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "format.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VZ_MAX_BUFFERS 32

/* One memory plane.  fds start at -1; the set owns them and closes them in
 * its destroy().  fd_rw is what this process itself uses (capture's import,
 * the CPU-access bracket); for memory a device owns it may be a read-only
 * file too, the CPU mapping then going through the device (dumb buffers). */
struct vz_mem {
	int fd_rw;     /* DMA-buf, for in-place processing and import */
	int fd_ro;     /* DMA-buf, read-only: for everything that leaves us */
	void *map;     /* CPU mapping (read-write), NULL if none */
	size_t length; /* bytes of the memory plane */
};

struct vz_buffer {
	unsigned index;
	unsigned num_mem;
	struct vz_mem mem[VZ_MAX_PLANES];
};

struct vz_buffer_set;

struct vz_buffer_set_ops {
	/* The last reference is gone: free everything.  Any thread. */
	void (*destroy)(struct vz_buffer_set *set);
	/* Optional CPU-access bracket for buffer @index (NULL: DMA_BUF_IOCTL_SYNC
	 * on every plane's fd_rw).  Returns 0 or a negative errno. */
	int (*cpu_sync)(struct vz_buffer_set *set, unsigned index, bool begin, bool write);
};

struct vz_buffer_set {
	const struct vz_buffer_set_ops *ops;
	int refs; /* atomic: vz_buffer_set_ref/unref only */
	uint32_t generation;
	struct vz_format fmt;
	unsigned count;
	struct vz_buffer buf[VZ_MAX_BUFFERS];
	uint64_t modifier; /* DRM format modifier (0: linear) */
	/* Who allocated, in words for the report: "v4l2 mmap, exported as
	 * DMA-buf", "dumb buffers on /dev/dri/card0 (sink drm)". */
	char origin[128];
};

/* refs = 1, every fd -1, everything else zero. */
void vz_buffer_set_init(struct vz_buffer_set *s, const struct vz_buffer_set_ops *ops);
struct vz_buffer_set *vz_buffer_set_ref(struct vz_buffer_set *s);
void vz_buffer_set_unref(struct vz_buffer_set *s); /* NULL is fine */

/* Closes every fd >= 0 and unmaps every mapping of @s (lengths as the
 * planes say): the body of most destroy() implementations. */
void vz_buffer_set_release_memory(struct vz_buffer_set *s);

/* CPU access to buffer @index (see above).  ENOTTY from a plane that is not
 * a DMA-buf (memfd in tests) is not an error: there is no cache to manage. */
int vz_buffer_cpu_begin(struct vz_buffer_set *s, unsigned index, bool write);
int vz_buffer_cpu_end(struct vz_buffer_set *s, unsigned index, bool write);

/* DMA_BUF_IOCTL_SYNC on one fd with @flags; 0, or a negative errno. */
int vz_dmabuf_sync(int fd, uint64_t flags);

/*
 * Dumb buffers on a DRM node as a buffer set (the allocator behind capture's
 * own DMA-buf import mode, and behind providers that need plain memory a
 * device owns).  @fmt's mem_size[] gives each plane's size; @node NULL tries
 * /dev/dri/card0.. in turn.  Each plane gets a read-write and a read-only
 * export and a CPU mapping.  *out has one reference.
 */
int vz_dumb_set_create(struct vz_buffer_set **out, const char *node, const struct vz_format *fmt,
                       unsigned count, struct vz_err *err);

/*
 * Scan-out buffers: the same, but each memory plane a dumb buffer at the
 * display's geometry (the frame's width at the format's bits per pixel,
 * every colour plane's lines), as a display controller wants them, on the
 * caller's DRM fd (duplicated: the set keeps the file open, so the GEM
 * handles stay valid for the caller's fd, which shares it).  The set's fmt
 * carries the pitches the driver chose.  @node names the device in messages.
 */
int vz_dumb_set_create_display(struct vz_buffer_set **out, int drm_fd, const char *node,
                               const struct vz_format *fmt, unsigned count, struct vz_err *err);

/* The GEM handle of buffer @index, memory plane @mem of a dumb set on the
 * caller's DRM file; 0 for any other set. */
uint32_t vz_dumb_set_handle(const struct vz_buffer_set *s, unsigned index, unsigned mem);

#ifdef __cplusplus
}
#endif
#endif
