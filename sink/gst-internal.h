/* SPDX-License-Identifier: MIT */
/*
 * Private to the GStreamer sink: the sink object gst.c (lifecycle, time),
 * gst-memory.c (vzero's DMA-bufs as GstMemory, release), gst-caps.c (formats
 * and caps, pure) and gst-diag.c (what went wrong, in words) share.
 */
#ifndef VZ_GST_INTERNAL_H
#define VZ_GST_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <gst/allocators/allocators.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "sink-gst.h"
#include "sink.h"

#define VZ_GST_SRC_NAME "vzsrc"
/* Room for GStreamer's side of a message: element names and caps strings
 * are cut to keep the whole within one vz_err line. */
#define VZ_GST_CAPS_SHOWN 160

#define VZ_GST_MAX_WATCH 32

struct gst_sink;
struct gst_memset;

/* One element downstream of appsrc, watched for what it does to vzero's
 * memory (gst-copies.c). */
struct gst_watch {
	struct gst_sink *s;
	GstElement *el;  /* the pipeline's */
	GstPad *sinkpad; /* first sink pad, one reference */
	char name[48];
	atomic_bool has_src, is_sink; /* a src pad may come late */
	atomic_bool removed;          /* taken out of its bin (a placeholder) */
	bool late;                    /* added after the description was parsed */
	atomic_bool in_ours;          /* the last buffer in was vzero's memory */
	atomic_bool perf_seen;        /* GST_PERFORMANCE logged a copy in it since */
	atomic_uint_fast64_t in_size;
	atomic_uint_fast64_t in_count, in_ours_count;
};

struct gst_site {
	struct gst_watch *watch;
	struct vz_copy_site pub;
};

/* One buffer of one set: it is out of the driver at most once at a time,
 * so one slot per index is enough and push needs no allocation. */
struct gst_slot {
	struct gst_memset *ms;
	struct vz_frame *frame; /* NULL: nothing outstanding */
	atomic_uint pending;    /* child memories still alive */
};

/* vzero's memory for one buffer set, as GStreamer sees it: one root
 * GstMemory per (buffer, plane) over the set's read-only DMA-bufs. */
struct gst_memset {
	struct gst_sink *s;
	struct vz_buffer_set *set; /* one reference while the roots live */
	uint32_t generation;
	struct vz_format fmt;
	struct vz_gst_layout layout;
	gsize meta_offset[GST_VIDEO_MAX_PLANES];
	gint meta_stride[GST_VIDEO_MAX_PLANES];
	GstVideoFormat vformat;
	/* What GStreamer assumes without a GstVideoMeta (valid: default_ok). */
	gsize default_offset[GST_VIDEO_MAX_PLANES];
	gint default_stride[GST_VIDEO_MAX_PLANES];
	bool default_ok;
	/* Downstream's answer about GstVideoMeta for this set's caps: asked
	 * once, when its first frame off GStreamer's defaults goes out.
	 * 0: not asked, 1: takes it, -1: does not (streaming thread). */
	atomic_int meta_answer;
	GstMemory *root[VZ_MAX_BUFFERS][VZ_MAX_PLANES];
	struct gst_slot slot[VZ_MAX_BUFFERS];
	atomic_uint outstanding; /* frames of this set inside GStreamer */
	bool retired;            /* a newer set is current */
	struct gst_memset *next;
};

struct gst_sink {
	/* One for its owner (until destroy), one per frame inside GStreamer:
	 * an element that keeps a buffer past destroy (a leak, a failed NULL
	 * transition) releases it into a sink that is still there. */
	atomic_uint refs;
	char *description;
	GstElement *pipeline;
	GstElement *appsrc;
	GstAllocator *alloc;
	GQuark root_quark;                    /* marks vzero's root memories */
	unsigned roots_made, roots_read_only; /* over every buffer set */
	/* ... of which read-write, flagged READONLY (the source exports no
	 * read-only fds: libcamera) */
	unsigned roots_read_write;

	struct vz_sink_port *port;
	struct vz_loop_source *wake, *eos_timer;
	struct gst_memset *cur; /* newest; older retired ones follow in ->next */
	char caps_str[1024];
	int64_t interval;
	int64_t ts_delta; /* added to driver timestamps, see pts_of() */
	bool monotonic_clock;
	GstClockTime last_pts;
	bool first;
	bool caps_changed; /* a buffer-set change brought new caps */
	uint64_t frames_before_caps;

	/* shared with GStreamer's threads, under lock */
	pthread_mutex_t lock;
	struct vz_format fmt; /* the current set's, for messages */
	bool eos;             /* EOS reached the bus */
	bool running;         /* start() done, stop() not begun */
	bool stopping;        /* stop() begun, not finished */
	bool finished;        /* told the port it stopped */
	bool ended;           /* our stream ended cleanly (new caps refused) */
	bool ended_handled;   /* the loop saw it and began the end */
	bool torn_down;       /* finish() ran: nothing more will come */
	int error_code;       /* first bus ERROR */
	char error_msg[VZ_ERR_MSG_MAX];
	char eos_note[256];

	atomic_uint_fast64_t frames, released, drops_failure;
	atomic_uint_fast64_t bytes_copied, copies;
	atomic_uint_fast64_t seen, seen_ok; /* appsrc src pad */

	/* copy accounting (gst-copies.c) */
	pthread_mutex_t copy_lock; /* sites, the watch list */
	struct gst_watch watch[VZ_GST_MAX_WATCH];
	unsigned nwatch;
	bool watch_overflow; /* elements added later found the table full */
	struct gst_site site[VZ_SINK_MAX_COPY_SITES];
	unsigned nsites;
	/* GstVideoMeta: the element that would misread padded frames */
	atomic_bool meta_refused;
	char meta_msg[VZ_ERR_MSG_MAX];
};

/* gst-caps.c */
GstVideoFormat vz_gst_video_format(uint32_t fourcc);
GstCaps *vz_gst_caps_of(const struct vz_format *f);
void vz_gst_ensure_init(void);

/* gst-diag.c */
void vz_gst_one_line(char *dst, size_t len, const char *src, size_t max);
const char *vz_gst_debug_tail(const char *debug);
int vz_gst_error_code(const GError *e, const char *debug);
/* The element downstream of appsrc whose caps exclude @caps: names it and
 * what it takes; false when everything intersects. */
bool vz_gst_find_refuser(GstElement *appsrc, GstCaps *caps, char *who, size_t wlen, char *accepts,
                         size_t alen);
int vz_gst_negotiation_error(struct gst_sink *s, const struct vz_format *f, struct vz_err *err);
int vz_gst_parse_error(const char *description, GError *e, struct vz_err *err);
/* Whether the description writes a file or muxes (its default policy is
 * record then). */
bool vz_gst_records(GstElement *pipeline);

/* gst-copies.c */
/* Watches every element of the description (probes on their pads, the
 * GST_PERFORMANCE log). */
int vz_gst_copies_watch(struct gst_sink *s, struct vz_err *err);
void vz_gst_copies_unwatch(struct gst_sink *s);
/* Fills the copy sites, the advice and the proof. */
void vz_gst_copies_stats(struct gst_sink *s, struct vz_sink_stats *out);

/* gst-memory.c */
/* When a frame's strides or offsets (its set's pitch, its own data_offset)
 * are not GStreamer's defaults, the element downstream must take
 * GstVideoMeta (its answer to an ALLOCATION query, asked once per buffer
 * set, says): else no frame reaches it and the sink fails, naming it.
 * Installed at create. */
void vz_gst_meta_watch(struct gst_sink *s);
int vz_gst_memset_new(struct gst_sink *s, struct vz_buffer_set *set, struct gst_memset **out,
                      struct vz_err *err);
/* Frees retired sets (@all: every set) nothing in GStreamer refers to any
 * more (loop thread). */
void vz_gst_memset_sweep(struct gst_sink *s, bool all);
/* Frees every set (the sink's last reference: none is referred to). */
void vz_gst_memset_free_all(struct gst_sink *s);
/* gst.c: drops a reference; the last frees the sink. */
void vz_gst_sink_unref(struct gst_sink *s);
/* A GstBuffer of @f's memories (children of the roots) with its video
 * meta; the frame is released when GStreamer drops the last of them. */
GstBuffer *vz_gst_wrap(struct gst_sink *s, struct vz_frame *f, GstMemory *extra[VZ_MAX_PLANES],
                       struct vz_err *err);
/* After the push: drops our extra references on the children; when appsrc
 * refused the buffer, the frame is forgotten first (the runner releases
 * it). */
void vz_gst_wrap_done(struct gst_sink *s, struct vz_frame *f, GstMemory *extra[VZ_MAX_PLANES],
                      bool accepted);
/* True when @m is (a share of) one of vzero's root memories. */
bool vz_gst_memory_is_ours(struct gst_sink *s, GstMemory *m);

#endif
