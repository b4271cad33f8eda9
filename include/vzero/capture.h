/* SPDX-License-Identifier: MIT */
/*
 * Capture: the V4L2 backend, where frames enter vzero.
 *
 * Buffers (buffer.h) come in one of three ways, each a buffer set:
 *  - VZ_IO_MMAP (default): REQBUFS(MMAP); every memory plane is exported
 *    twice with VIDIOC_EXPBUF -- a read-write DMA-buf for in-place work in
 *    this process and a read-only one (O_RDONLY) for everything that leaves
 *    it -- and mapped through the read-write DMA-buf (MAP_POPULATE), never
 *    through the device node: a set outlives its device, so frames held
 *    across an unplug stay readable and the node can come back meanwhile.
 *  - provided: a sink's buffers (vz_capture_alloc with a set): the capture
 *    sets bytesperline to the provider's pitch and QBUFs its DMA-bufs with
 *    V4L2_MEMORY_DMABUF; the driver writes into the provider's memory.
 *  - VZ_IO_DMABUF_IMPORT without a provider: dumb buffers on a DRM node
 *    (vgem in the test VM), imported the same way.
 *  - libv4l2 (opt-in, cfg.libv4l2): for formats the user cannot consume; it
 *    converts in the CPU into its own memory, so every converted byte is
 *    counted in stats.bytes_copied and nothing is exported.  The default
 *    path never touches libv4l2.
 *
 * Memory locking: mlock() on a V4L2 mapping returns 0 and locks nothing
 * (the VMA is VM_PFNMAP/VM_MIXEDMAP; those are kernel pages that are never
 * swapped), so vzero doesn't pretend.  vz_memlock_apply() does
 * mlockall(MCL_CURRENT|MCL_FUTURE) for the memory the process really owns
 * -- or, where RLIMIT_MEMLOCK or a memory cgroup cannot hold the whole
 * process, locks the mappings that fit and reports the rest -- and
 * vz_memlock_read() reads back VmLck from /proc/self/status.
 *
 * Faults are handled here and counted; only the ones the caller must act on
 * reach it: sequence gaps are driver drops; V4L2_BUF_FLAG_ERROR frames and
 * short frames (bytesused below sizeimage for an uncompressed format) are
 * requeued, counted as error frames and never delivered; POLLERR/EIO (fatal
 * streaming error) restarts streaming (STREAMOFF, requeue, STREAMON, a new
 * session); ENODEV/POLLHUP (disconnect) returns -ENODEV, after which
 * vz_capture_release_device() and vz_capture_reconnect() bring it back
 * without blocking; a source-change event returns VZ_SOURCE_FORMAT_CHANGED
 * for vz_capture_renegotiate().  See source.h for that sequence.
 *
 * Threading: a vz_capture is used from one thread (the pipeline's loop).
 */
#ifndef VZERO_CAPTURE_H
#define VZERO_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buffer.h"
#include "errors.h"
#include "format.h"
#include "frame.h"
#include "source.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VZ_CAPTURE_FORMAT_CHANGED  VZ_SOURCE_FORMAT_CHANGED
#define VZ_CAPTURE_DEFAULT_BUFFERS 4

enum vz_io {
	VZ_IO_MMAP = 0,
	VZ_IO_DMABUF_IMPORT,
};

struct vz_capture_config {
	const char *device;        /* "/dev/video0", "vivid", a card name, ... */
	uint32_t fourcc;           /* 0: keep the driver's current format */
	uint32_t width, height;    /* 0: keep current */
	uint32_t fps_num, fps_den; /* 0: keep current */
	unsigned buffers;          /* 0: default (VZ_CAPTURE_DEFAULT_BUFFERS) */
	enum vz_io io;
	/* VZ_IO_DMABUF_IMPORT without a provider: the DRM node for dumb
	 * buffers (NULL: the first one that works). */
	const char *import_drm_node;
	bool libv4l2;  /* opt-in converting path (copies, counted) */
	bool blocking; /* open without O_NONBLOCK.  Only for callers that
	                  DQBUF on their own thread: the pipeline's loop
	                  must never block in the driver. */
};

struct vz_capture;

/*
 * Opens the device and negotiates format and rate; no buffers yet (alloc,
 * or start, which allocates per cfg.io when nothing did).  On failure *out
 * is NULL and @err says what to do.
 */
int vz_capture_open(struct vz_capture **out, const struct vz_capture_config *cfg,
                    struct vz_err *err);
void vz_capture_close(struct vz_capture *c); /* NULL is fine */

/*
 * Buffers for the negotiated format: @provided (a sink's set, one reference
 * taken; the capture sets the provider's pitch and imports its DMA-bufs) or,
 * with NULL, its own per cfg.io.  The set becomes current with the next
 * generation.  A provided set the driver cannot use fails with @err saying
 * why (and vz_capture_alloc_note() keeps that reason); nothing is allocated
 * then, so the caller can retry with NULL.
 */
int vz_capture_alloc(struct vz_capture *c, struct vz_buffer_set *provided, struct vz_err *err);
struct vz_buffer_set *vz_capture_buffers(const struct vz_capture *c); /* NULL before alloc */
unsigned vz_capture_buffers_wanted(const struct vz_capture *c);
const char *vz_capture_alloc_note(const struct vz_capture *c); /* "" if none */

int vz_capture_start(struct vz_capture *c, struct vz_err *err);
int vz_capture_stop(struct vz_capture *c, struct vz_err *err);

/* The fd to poll/epoll; -1 while the device is gone. */
int vz_capture_fd(const struct vz_capture *c);

/* See vz_source_ops.next: 1 a good frame, 0 nothing, VZ_CAPTURE_FORMAT_CHANGED,
 * < 0 unrecoverable (-ENODEV: the device is gone). */
int vz_capture_next(struct vz_capture *c, uint32_t revents, struct vz_frame_info *fi,
                    struct vz_err *err);

/* Gives buffer @index of set @generation back to the driver (QBUF); a buffer
 * of an older set is forgotten (counted as stale_queues). */
int vz_capture_queue(struct vz_capture *c, uint32_t generation, unsigned index, struct vz_err *err);
unsigned vz_capture_queued(const struct vz_capture *c);

/* After -ENODEV: close the node and drop the current set, so the driver can
 * bring the node back (frames still held keep their set). */
void vz_capture_release_device(struct vz_capture *c);
/* One quick attempt (never sleeps): 0 the node with our bus_info and card is
 * back (maybe as another /dev/videoN) and negotiated -- alloc and start
 * next; -EAGAIN not (yet); another error when it came back unusable. */
int vz_capture_reconnect(struct vz_capture *c, struct vz_err *err);
/* After VZ_CAPTURE_FORMAT_CHANGED: stops, retires the set (held frames
 * keep it), negotiates the format the source now has; alloc and start
 * next. */
int vz_capture_renegotiate(struct vz_capture *c, struct vz_err *err);

const struct vz_format *vz_capture_format(const struct vz_capture *c);
void vz_capture_get_stats(const struct vz_capture *c, struct vz_source_stats *out);
const char *vz_capture_path(const struct vz_capture *c);   /* /dev/videoN */
const char *vz_capture_card(const struct vz_capture *c);   /* QUERYCAP card */
const char *vz_capture_driver(const struct vz_capture *c); /* QUERYCAP driver */

/* The capture as a vz_source (source.h), for the pipeline; no ownership
 * transfer. */
struct vz_source vz_capture_source(struct vz_capture *c);

/* ---- device discovery (vzero devices) ---- */

/* Resolves "vivid", a card-name substring, or a path to /dev/videoN.
 * @buf receives the path.  Fails with a message listing what exists.
 *
 * Selectors: a path (contains '/'), "videoN" (any V4L2 node name), "N"
 * (/dev/videoN), or a name: a case-insensitive substring of a streaming
 * video capture node's card, driver or bus_info.  When a name matches
 * several nodes the lowest /dev/videoN wins; "name:K" picks match K
 * (from 0), e.g. "vivid:1" is the second vivid capture node.  A node
 * that isn't streaming video capture fails with a message naming what it
 * is (-ENODEV; output, radio, VBI, SDR, touch, metadata, m2m) and the
 * card's capture node; -ENOENT, -ENOTTY (not a V4L2 node), -EACCES,
 * -EOPNOTSUPP (read() only) for the other cases.  With no capture node
 * at all the message says how to get one (vivid); when there are some
 * but not the one asked for, it points at the driver, dmesg and, in a
 * container, device passthrough. */
int vz_device_resolve(const char *selector, char *buf, size_t len, struct vz_err *err);

/* Prints every capture node: driver, card, bus, formats, sizes, rates.
 * @json selects machine-readable output: one array of
 *   {path, driver, card, bus_info, version, multiplanar, streaming,
 *    formats: [{fourcc, description, compressed,
 *               sizes: [{width, height, fps: [25, 12.5, ...]}
 *                       (or fps_range: {min, max}), ...]
 *               or [{type: "stepwise"|"continuous", min_width, max_width,
 *                    step_width, min_height, max_height, step_height}]}]}
 * ([] when there is none).  The human form also names the other V4L2
 * nodes and, with no capture node at all, says how to get one (returns 0). */
int vz_devices_print(FILE *out, bool json, struct vz_err *err);

/* The same for the one node @selector resolves to (JSON: an array of
 * one). */
int vz_device_print(FILE *out, const char *selector, bool json, struct vz_err *err);

/* ---- controls ---- */
int vz_ctrl_list(const char *device, FILE *out, struct vz_err *err);
/* Name matching ignores case and treats runs of non-alphanumerics alike:
 * "percentage_of_dropped_buffers" matches "Percentage of Dropped Buffers". */
int vz_ctrl_get(const char *device, const char *name, int64_t *value, struct vz_err *err);
int vz_ctrl_set(const char *device, const char *name, int64_t value, struct vz_err *err);

/* True when control names @a and @b are the same by the rule above. */
bool vz_ctrl_name_match(const char *a, const char *b);

/* Sets from text: a number (decimal or 0x hex), true/false/on/off/yes/no
 * for booleans, a menu item's name (matched like control names), or the
 * text itself for string controls.  Button controls accept anything. */
int vz_ctrl_set_str(const char *device, const char *name, const char *value, struct vz_err *err);

/* The current value as text: "128", "3 (Vertical Colorbar)" for menus,
 * the string for string controls. */
int vz_ctrl_get_str(const char *device, const char *name, char *buf, size_t len,
                    struct vz_err *err);

/* ---- memory locking that tells the truth ---- */
struct vz_memlock_report {
	bool requested;        /* mlockall asked for */
	int mlockall_errno;    /* 0 on success or when not tried */
	uint64_t vmlck_bytes;  /* VmLck from /proc/self/status */
	uint64_t driver_bytes; /* driver buffer bytes mapped (not lockable,
	                          never swapped) */
	/* Where the whole process could not be locked (RLIMIT_MEMLOCK, or a
	 * memory cgroup too small to hold it pinned), the mappings that fit
	 * were locked one by one: */
	bool partial;
	uint64_t wanted_bytes;   /* what locking everything pins */
	uint64_t locked_bytes;   /* ... locked by the partial pass */
	uint64_t unlocked_bytes; /* ... left unlocked */
	unsigned regions_locked, regions_unlocked;
	uint64_t rlimit_bytes;            /* RLIMIT_MEMLOCK (UINT64_MAX: none) */
	char cgroup[256];                 /* the limiting memory cgroup, if any */
	uint64_t cgroup_max, cgroup_room; /* its memory.max, and what is free */
	bool bound_by_rlimit;             /* the partial lock stopped at the rlimit */
};
/* 0: mlockall(MCL_CURRENT|MCL_FUTURE) holds; 1: partial (see above). */
int vz_memlock_apply(struct vz_memlock_report *r);
/* What apply did and, where partial, why and how to fix it: one line. */
int vz_memlock_describe(const struct vz_memlock_report *r, char *buf, size_t len);
/* VmLck now, and the bytes of @set's mappings (NULL: none). */
void vz_memlock_read(struct vz_memlock_report *r, const struct vz_buffer_set *set);

#ifdef __cplusplus
}
#endif
#endif
