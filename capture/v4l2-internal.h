/* SPDX-License-Identifier: MIT */
/*
 * Private to capture/: the V4L2 capture object that v4l2.c (opening,
 * recovery), v4l2-negotiate.c (formats), v4l2-buffers.c (buffer sets) and
 * v4l2-stream.c (streaming, faults) share, the node discovery that capture
 * and `vzero devices` share (discover.c), and the ioctl wrapper.
 */
#ifndef VZ_V4L2_INTERNAL_H
#define VZ_V4L2_INTERNAL_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "buffer.h"
#include "capture.h"
#include "errors.h"
#include "seq-track.h"
#include "source.h"

/* ioctl() that a signal can't cut short; returns its result, errno set. */
static inline int vz_ioctl(int fd, unsigned long req, void *arg)
{
	int r;
	do {
		r = ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR);
	return r;
}

/* Who has a buffer of the current set.  STREAMOFF hands back what the
 * driver had, never what a sink still reads, so a restart must only requeue
 * the IDLE ones. */
enum vz_buf_state {
	VZ_BUF_IDLE = 0, /* ours, not queued */
	VZ_BUF_QUEUED,   /* in the driver */
	VZ_BUF_HELD,     /* delivered, waiting for vz_capture_queue() */
};

/* The open device node.  Reference counted because a libv4l2 buffer set
 * maps libv4l2's own conversion buffers, which live as long as its fd; an
 * exported (non-libv4l2) set never needs the node. */
struct vz_v4l2_dev {
	int refs;
	int fd;
	bool lib; /* fd wrapped by libv4l2 */
};

struct vz_capture {
	/* Deep copy of the configuration: reconnect redoes everything. */
	struct vz_capture_config cfg;
	char *selector;
	char *drm_node;

	char path[512];
	char card[33], driver[17], bus_info[33];
	struct vz_v4l2_dev *dev; /* NULL while disconnected */
	int fd;                  /* dev->fd, or -1 */
	bool lib;
	bool emulated; /* libv4l2 converts: every frame is a CPU copy */
	bool mplane;
	uint32_t type, memory;
	bool can_parm;
	bool streaming;
	bool gone;
	bool old_set_busy; /* REQBUFS(0) refused: the driver kept held buffers */

	struct vz_format fmt;
	uint32_t generation;       /* of the newest set */
	struct vz_buffer_set *set; /* current, one reference; NULL none */
	unsigned nbuf;
	/* requeues of each buffer refused in a row (see requeue_refused) */
	unsigned char refused[VZ_MAX_BUFFERS];
	bool streamon_refused; /* the last vz_capture_start failed at STREAMON */
	enum vz_buf_state state[VZ_MAX_BUFFERS];
	char alloc_note[VZ_ERR_MSG_MAX]; /* why a provided set was not used, if so */

	struct vz_seq_track track;
	bool next_discont; /* the next good frame starts a session after a hole */
	struct vz_source_stats st;
};

/* v4l2.c */
int vz_v4l2_xioctl(const struct vz_capture *c, unsigned long req, void *arg);
int vz_v4l2_busy_error(const struct vz_capture *c, const char *what, struct vz_err *err);
int vz_v4l2_gone_error(struct vz_capture *c, const char *what, struct vz_err *err);
void vz_v4l2_dev_unref(struct vz_v4l2_dev *d);

/* v4l2-negotiate.c: format and rate as the configuration asks, on c->fd.
 * @stride (may be NULL) is a provider's pitch per memory plane. */
int vz_v4l2_negotiate(struct vz_capture *c, uint32_t fourcc, uint32_t w, uint32_t h,
                      const uint32_t *stride, struct vz_err *err);

/* v4l2-buffers.c */
int vz_v4l2_buffers_alloc(struct vz_capture *c, struct vz_buffer_set *provided, struct vz_err *err);
/* Drops the current set (frames held keep it alive) and the driver's
 * queue (REQBUFS 0; the kernel orphans buffers still exported). */
void vz_v4l2_buffers_retire(struct vz_capture *c);

/* v4l2-stream.c */
int vz_v4l2_qbuf(struct vz_capture *c, unsigned index, struct vz_err *err);

/* discover.c: V4L2 nodes as the kernel lists them (/sys/class/video4linux,
 * with a /dev scan where sysfs is hidden), for name resolution, listings
 * and finding a node again after an unplug. */
enum vz_node_kind {
	VZ_NODE_UNKNOWN = 0,
	VZ_NODE_CAPTURE,
	VZ_NODE_OUTPUT,
	VZ_NODE_M2M,
	VZ_NODE_OVERLAY,
	VZ_NODE_VBI_CAPTURE,
	VZ_NODE_VBI_OUTPUT,
	VZ_NODE_RADIO_RX,
	VZ_NODE_RADIO_TX,
	VZ_NODE_SDR_CAPTURE,
	VZ_NODE_SDR_OUTPUT,
	VZ_NODE_TOUCH,
	VZ_NODE_META_CAPTURE,
	VZ_NODE_META_OUTPUT,
};

struct vz_node {
	char path[PATH_MAX];
	unsigned rank;  /* index into the prefix table, VZ_NODE_PREFIXES for others */
	unsigned num;   /* N of videoN */
	int open_errno; /* 0 when QUERYCAP worked */
	bool rw;        /* opened read-write (else read-only or not at all) */
	char driver[17];
	char card[33];
	char bus[33];
	uint32_t version;
	uint32_t caps; /* device_caps where the driver has them */
	enum vz_node_kind kind;
};

struct vz_node_list {
	struct vz_node *v;
	size_t n, cap;
	bool listed;
};

#define VZ_NODE_PREFIXES 6
extern const char *const vz_node_prefixes[VZ_NODE_PREFIXES];
const char *vz_node_kind_name(enum vz_node_kind k);
enum vz_node_kind vz_node_classify(uint32_t caps);
bool vz_node_is_streaming_capture(const struct vz_node *nd);
/* A fixed-size, maybe unterminated driver string into a C string. */
void vz_node_copy_field(char *dst, size_t dstlen, const uint8_t *src, size_t srclen);
/* Opens read-write, falling back to read-only (errno from the first try). */
int vz_node_open(const char *path, bool *rw);
/* Fills @nd's QUERYCAP part (nd->path set); 0 or a positive errno. */
int vz_node_query(struct vz_node *nd);
/* "videoN" -> prefix rank and N; false for names that are not V4L2 nodes. */
bool vz_node_parse_name(const char *name, unsigned *rank, unsigned *num);
/* "capture nodes here: ..." or, with none, how to get one. */
void vz_node_describe_capture(const struct vz_node_list *l, char *buf, size_t len);
/* Every V4L2 node, sorted (video0, video1, ..., vbi0, ...), each queried;
 * with @video_only just the videoN nodes. */
int vz_node_list(struct vz_node_list *l, bool video_only, struct vz_err *err);
void vz_node_list_free(struct vz_node_list *l);
/* The streaming capture node with this bus_info and card, which may have
 * come back under another /dev/videoN. */
bool vz_node_find(const char *bus, const char *card, char *path, size_t len);
/* The one permission message: mode, group, and the command that fixes it. */
int vz_node_permission_error(const char *path, const struct stat *st, int e, struct vz_err *err);

/* devices.c: vz_devices_print, with @more (NULL: none) called after the
 * V4L2 nodes -- inside the JSON array (*@first: nothing printed in it yet)
 * or after the text -- for the cameras of other backends. */
typedef int (*vz_list_more_fn)(void *data, FILE *out, bool json, bool *first, struct vz_err *err);
int vz_v4l2_devices_print(FILE *out, bool json, vz_list_more_fn more, void *data,
                          struct vz_err *err);

#endif
