/* SPDX-License-Identifier: MIT */
/*
 * Capture: where every frame enters vzero.
 *
 * The V4L2 backend (vz_capture_*) does streaming I/O without copying:
 *  - VZ_IO_MMAP (default): REQBUFS(MMAP), every memory plane mmap'd with
 *    MAP_POPULATE (prefaulted) and exported twice with VIDIOC_EXPBUF: a
 *    read-write DMA-buf fd for in-place processing inside this process and a
 *    read-only one (O_RDONLY) for everything that leaves it (GStreamer,
 *    other processes, the network).  A PROT_WRITE mapping of the read-only fd
 *    fails with EACCES, in any process.
 *  - VZ_IO_DMABUF_IMPORT: the buffers belong to someone else (a display, a
 *    GPU, vgem); we QBUF their DMA-buf fds with V4L2_MEMORY_DMABUF.  Without
 *    an allocator in the config we allocate dumb buffers on the first DRM
 *    node that can export them (vgem in the test VM).
 *  - libv4l2 (opt-in, cfg.libv4l2): for formats the user cannot consume; it
 *    converts in the CPU, so every converted byte is counted in
 *    stats.bytes_copied.  The default path never touches libv4l2.
 *
 * Memory locking: mlock() on a V4L2 mapping returns 0 and locks nothing
 * (the VMA is VM_PFNMAP/VM_MIXEDMAP; those are kernel pages that are never
 * swapped), so vzero doesn't pretend.  vz_memlock_apply() does
 * mlockall(MCL_CURRENT|MCL_FUTURE) for the memory the process really owns
 * and vz_memlock_report() reads back VmLck from /proc/self/status.
 *
 * Faults are handled here, counted, and only the unrecoverable ones reach
 * the caller: sequence gaps are driver drops; V4L2_BUF_FLAG_ERROR frames are
 * requeued, counted and never delivered as good; POLLERR/EIO (fatal
 * streaming error) restarts streaming (STREAMOFF, requeue all, STREAMON);
 * ENODEV/POLLHUP (disconnect) is returned as -ENODEV, after which
 * vz_capture_reconnect() waits for the node to come back.  A source-change
 * event is returned as VZ_CAPTURE_FORMAT_CHANGED so the owner can drain its
 * frames before vz_capture_renegotiate() reallocates buffers.
 *
 * Threading: a vz_capture is used from one thread (the pipeline's loop).
 */
#ifndef VZERO_CAPTURE_H
#define VZERO_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "errors.h"
#include "format.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VZ_MAX_BUFFERS 32

enum vz_io {
	VZ_IO_MMAP = 0,
	VZ_IO_DMABUF_IMPORT,
};

/* One memory plane of a buffer.  fds start at -1; the capture owns them
 * (or, for imports, the allocator does) and closes them in one place. */
struct vz_mem {
	int fd_rw;     /* DMA-buf, read-write: for in-place processing */
	int fd_ro;     /* DMA-buf, read-only: for everything that leaves us */
	void *map;     /* CPU mapping (read-write), NULL if none */
	size_t length; /* bytes of the memory plane */
};

struct vz_buffer {
	unsigned index;
	unsigned num_mem;
	struct vz_mem mem[VZ_MAX_PLANES];
};

/* Where the driver's timestamp was taken, from V4L2_BUF_FLAG_TSTAMP_SRC_*. */
enum vz_ts_source {
	VZ_TS_END_OF_FRAME = 0,
	VZ_TS_START_OF_EXPOSURE = 1,
};

/* What we learnt when a buffer came out of the driver. */
struct vz_frame_info {
	uint32_t index;      /* buffer index */
	uint32_t sequence;   /* driver's sequence number */
	uint32_t gap;        /* frames the driver skipped just before this one */
	uint32_t v4l2_flags; /* raw v4l2_buffer.flags */
	enum vz_ts_source ts_source;
	bool ts_monotonic;   /* driver clock is CLOCK_MONOTONIC */
	int64_t t_driver_ns; /* driver timestamp */
	int64_t t_dqbuf_ns;  /* CLOCK_MONOTONIC right after DQBUF */
	uint32_t bytesused[VZ_MAX_PLANES];
	/* The driver timestamp jumped (clock wrap, backwards step): the
	 * interval from the previous frame's t_driver_ns is meaningless. */
	bool ts_jump;
};

struct vz_capture_stats {
	uint64_t frames;         /* good frames delivered */
	uint64_t driver_drops;   /* missing sequence numbers */
	uint64_t error_frames;   /* V4L2_BUF_FLAG_ERROR, requeued, not delivered */
	uint64_t restarts;       /* recoveries from fatal streaming errors */
	uint64_t disconnects;    /* device vanished */
	uint64_t reconnects;     /* ... and came back */
	uint64_t source_changes; /* V4L2_EVENT_SOURCE_CHANGE handled */
	uint64_t seq_wraps;      /* sequence number wrapped */
	uint64_t ts_jumps;       /* driver timestamp went backwards / jumped */
	uint64_t bytes_copied;   /* CPU copies (libv4l2 conversion only) */
};

/* Someone else's DMA-bufs for VZ_IO_DMABUF_IMPORT.  fds stay the caller's. */
struct vz_import_buffer {
	int fd[VZ_MAX_PLANES];
	void *map[VZ_MAX_PLANES]; /* optional CPU mapping, else NULL */
	size_t length[VZ_MAX_PLANES];
	uint32_t stride[VZ_MAX_PLANES]; /* pitch the allocator chose, 0: any */
};

struct vz_capture_config {
	const char *device;        /* "/dev/video0", "vivid", a card name, ... */
	uint32_t fourcc;           /* 0: keep the driver's current format */
	uint32_t width, height;    /* 0: keep current */
	uint32_t fps_num, fps_den; /* 0: keep current */
	unsigned buffers;          /* 0: default (4) */
	enum vz_io io;
	/* VZ_IO_DMABUF_IMPORT: buffers to queue; NULL = allocate our own
	 * dumb buffers on a DRM node (import_drm_node, or the first one that
	 * works). */
	const struct vz_import_buffer *import;
	unsigned import_count;
	const char *import_drm_node;
	bool libv4l2;  /* opt-in converting path (copies, counted) */
	bool blocking; /* open without O_NONBLOCK.  Only for callers that
	                  DQBUF on their own thread: the pipeline's loop
	                  must never block in the driver. */
};

struct vz_capture;

/*
 * Opens and configures the device; buffers are allocated but streaming is
 * not started.  On failure *out is NULL and @err says what to do.
 */
int vz_capture_open(struct vz_capture **out, const struct vz_capture_config *cfg,
                    struct vz_err *err);
void vz_capture_close(struct vz_capture *c); /* NULL is fine */

int vz_capture_start(struct vz_capture *c, struct vz_err *err);
int vz_capture_stop(struct vz_capture *c, struct vz_err *err);

/* The fd to poll/epoll: EPOLLIN for frames, EPOLLPRI for events,
 * EPOLLERR/EPOLLHUP for faults.  Changes after vz_capture_reconnect(). */
int vz_capture_fd(const struct vz_capture *c);

#define VZ_CAPTURE_FORMAT_CHANGED 2

/*
 * Handles whatever @revents says (pass POLLIN|POLLPRI|POLLERR bits as poll
 * or epoll reported them; 0 means "just try").  Returns:
 *   1  a good frame: *fi filled, the buffer is ours until vz_capture_queue()
 *   0  nothing to deliver (no frame ready, an error frame was requeued, a
 *      fatal streaming error was recovered from, an event was consumed)
 *   VZ_CAPTURE_FORMAT_CHANGED  source change: release every buffer, then
 *      call vz_capture_renegotiate()
 *  <0  unrecoverable: -ENODEV when the device is gone.
 */
int vz_capture_next(struct vz_capture *c, uint32_t revents, struct vz_frame_info *fi,
                    struct vz_err *err);

/* Gives buffer @index back to the driver (QBUF). */
int vz_capture_queue(struct vz_capture *c, unsigned index, struct vz_err *err);

/* Buffers currently queued in the driver. */
unsigned vz_capture_queued(const struct vz_capture *c);

/* After -ENODEV: close, wait up to @timeout_ms (<= 0: forever, as in
 * vz_pipeline_config) for the node (same bus_info and card, maybe a new
 * /dev path) to come back, reopen with the same configuration and restart
 * streaming.  Every buffer must have been given back (else -EBUSY): the
 * old mappings and DMA-bufs are gone afterwards. */
int vz_capture_reconnect(struct vz_capture *c, int timeout_ms, struct vz_err *err);

/* After VZ_CAPTURE_FORMAT_CHANGED with no buffer held by anyone. */
int vz_capture_renegotiate(struct vz_capture *c, struct vz_err *err);

const struct vz_format *vz_capture_format(const struct vz_capture *c);
unsigned vz_capture_buffer_count(const struct vz_capture *c);
const struct vz_buffer *vz_capture_buffer(const struct vz_capture *c, unsigned index);
void vz_capture_get_stats(const struct vz_capture *c, struct vz_capture_stats *out);
const char *vz_capture_path(const struct vz_capture *c);   /* /dev/videoN */
const char *vz_capture_card(const struct vz_capture *c);   /* QUERYCAP card */
const char *vz_capture_driver(const struct vz_capture *c); /* QUERYCAP driver */

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
 * -EOPNOTSUPP (read() only) for the other cases. */
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
	int mlockall_errno;    /* 0 on success */
	uint64_t vmlck_bytes;  /* VmLck from /proc/self/status */
	uint64_t driver_bytes; /* driver buffer bytes mapped (not lockable,
	                          never swapped) */
};
int vz_memlock_apply(struct vz_memlock_report *r);
void vz_memlock_read(struct vz_memlock_report *r, const struct vz_capture *c);

/* ---- backend-neutral source, for the pipeline ----
 * The pipeline drives frames through this table so a second backend
 * (libcamera) slots in without touching pipeline/ or sink/. */
struct vz_source_ops {
	const char *name;
	int (*fd)(void *impl);
	int (*start)(void *impl, struct vz_err *err);
	int (*stop)(void *impl, struct vz_err *err);
	int (*next)(void *impl, uint32_t revents, struct vz_frame_info *fi, struct vz_err *err);
	int (*queue)(void *impl, unsigned index, struct vz_err *err);
	unsigned (*queued)(void *impl);
	int (*reconnect)(void *impl, int timeout_ms, struct vz_err *err);
	int (*renegotiate)(void *impl, struct vz_err *err);
	const struct vz_format *(*format)(void *impl);
	unsigned (*buffer_count)(void *impl);
	const struct vz_buffer *(*buffer)(void *impl, unsigned index);
	void (*stats)(void *impl, struct vz_capture_stats *out);
};

struct vz_source {
	const struct vz_source_ops *ops;
	void *impl;
};

/* A vz_source view of a V4L2 capture (no ownership transfer). */
struct vz_source vz_capture_source(struct vz_capture *c);

#ifdef __cplusplus
}
#endif
#endif
