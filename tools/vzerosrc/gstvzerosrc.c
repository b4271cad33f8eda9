/* SPDX-License-Identifier: MIT */
/*
 * vzerosrc: a vzero server's camera (`vzero run ... --sink ipc:PATH`, the
 * protocol and client library in ipc.h) as a GStreamer live source, shared
 * with the server and every other client without a copy.
 *
 * Memory.  Each memory plane of a frame becomes a GstMemory of the DMA-buf
 * allocator over the library's read-only fd, DONT_CLOSE (the library owns
 * the fd, valid while the frame is held) and READONLY.  The frame goes back
 * (vz_ipc_release) when the last of its memories dies, not its GstBuffer:
 * gst_buffer_make_writable() and friends make new buffers around the same
 * memories and drop ours, and a gst_memory_share() keeps its parent alive,
 * so "no memory left" is the one moment nobody can read the pixels any
 * more.  A small hold counts the memories; the last one releases, from
 * whichever thread drops it.
 *
 * Lifetime.  The library counts held frames: stop() closes the connection
 * while buffers may still sit downstream (a queue's, an application's);
 * their releases later go into the client, which frees itself with the last
 * one.  The element itself may be gone by then: holds never point at it.
 *
 * Caps.  The library tells the format with each frame, not before, so the
 * first frame sets the caps, and so does every frame whose buffer set has
 * another format (the server renegotiated, its camera came back different):
 * create() calls gst_base_src_negotiate(), which also asks downstream about
 * allocation again.  The negotiation basesrc starts before any frame sets
 * nothing.
 *
 * Layout.  Strides and plane offsets are the server's, carried by a
 * GstVideoMeta on every buffer.  An element that does not take GstVideoMeta
 * (its ALLOCATION answer) would misread a padded frame, so for it -- and
 * only when the layout is not GStreamer's default -- frames are copied into
 * plain memory, and a warning says so once per format.
 *
 * Waiting.  create() polls the socket together with an eventfd unlock()
 * signals, so a state change never waits for a frame; timeout= bounds a
 * server that went silent.
 *
 * Time.  PTS is the capture time (the driver's timestamp when it is
 * CLOCK_MONOTONIC and plausible, else the server's DQBUF time) mapped onto
 * the pipeline clock: t + (clock_now - monotonic_now) - base_time.  With the
 * default system clock that offset is 0.  offset is the driver's sequence
 * number, so a gap in it shows frames the camera or the budget lost (it
 * restarts when the server's camera restarts streaming; DISCONT marks
 * every such hole).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <gst/allocators/allocators.h>
#include <gst/base/gstpushsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "clock.h"
#include "ipc.h"
#include "vz-config.h"
#include "vzerosrc.h"

GST_DEBUG_CATEGORY_STATIC(vzsrc_debug);
#define GST_CAT_DEFAULT vzsrc_debug

#define DEFAULT_TIMEOUT_MS 5000
/* Older than this, or in the future, a driver timestamp is not a capture
 * time on this machine's CLOCK_MONOTONIC (a driver stamping from another
 * clock, a server in another time namespace). */
#define PLAUSIBLE_DELAY_NS (10 * VZ_NSEC_PER_SEC)
/* DRM_FORMAT_MOD_INVALID: "no modifier", i.e. the allocator's implicit
 * layout, linear for V4L2's own buffers. */
#define MOD_INVALID 0x00ffffffffffffffull

#define GST_TYPE_VZERO_SRC (gst_vzero_src_get_type())
G_DECLARE_FINAL_TYPE(GstVzeroSrc, gst_vzero_src, GST, VZERO_SRC, GstPushSrc)

struct _GstVzeroSrc {
	GstPushSrc parent;

	/* Properties and statistics, under the object lock. */
	gchar *socket;
	gint timeout_ms;
	guint64 frames, drops, copies;
	GstCaps *caps;           /* the current format's, NULL before the first frame */
	GstClockTime frame_time; /* its frame interval, NONE when unknown */
	guint budget;            /* frames the server lets us hold */

	/* The streaming thread's (and start/stop's, which never overlap it). */
	struct vz_ipc_client *client;
	GstAllocator *alloc;
	GQuark hold_quark;
	int wake_fd;   /* eventfd, readable while unlocked */
	gint flushing; /* atomic: unlock() until unlock_stop() */
	bool have_fmt;
	struct vz_format fmt;
	uint64_t modifier;
	GstVideoInfo vinfo;
	bool meta_ok; /* downstream takes GstVideoMeta */
	bool warned_copy;
	uint32_t generation;
	uint64_t last_drops;
	GstClockTime last_pts;
	bool discont;
};

G_DEFINE_TYPE(GstVzeroSrc, gst_vzero_src, GST_TYPE_PUSH_SRC)

enum {
	PROP_0,
	PROP_SOCKET,
	PROP_TIMEOUT,
	PROP_FRAMES,
	PROP_DROPS,
	PROP_COPIES,
};

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
        "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(VZSRC_FORMATS)));

/* ---- one frame inside GStreamer ---- */

/* Shared by the frame's memories: the last to die gives the frame back. */
struct hold {
	struct vz_ipc_client *client;
	struct vz_ipc_frame *frame;
	gint refs;
};

static void hold_unref(gpointer data)
{
	struct hold *h = data;
	if (!g_atomic_int_dec_and_test(&h->refs))
		return;
	vz_ipc_release(h->client, h->frame);
	g_free(h);
}

/* A buffer of @f's memory planes with its video meta; NULL (the frame
 * released) when GStreamer cannot make one or the frame's layout does not
 * fit its memory. */
static GstBuffer *wrap_frame(GstVzeroSrc *self, struct vz_ipc_frame *f)
{
	const struct vz_format *fmt = f->fmt;
	gsize offset[GST_VIDEO_MAX_PLANES];
	gint stride[GST_VIDEO_MAX_PLANES];
	struct hold *h = g_new0(struct hold, 1);
	GstBuffer *b = gst_buffer_new();

	h->client = self->client;
	h->frame = f;
	/* One for us until every memory is attached: a failure half-way
	 * releases through the same path. */
	h->refs = 1;
	for (unsigned p = 0; p < f->num_mem; p++) {
		/* KEEP_MAPPED: elements that map a frame more than once (a tee's
		 * branches) share one mapping, gone with the memory. */
		GstMemory *m = gst_dmabuf_allocator_alloc_with_flags(
		        self->alloc, f->fd[p], fmt->mem_size[p],
		        GST_FD_MEMORY_FLAG_DONT_CLOSE | GST_FD_MEMORY_FLAG_KEEP_MAPPED);
		if (!m) {
			GST_ERROR_OBJECT(self,
			                 "cannot wrap DMA-buf fd %d (plane %u) in a GstMemory",
			                 f->fd[p], p);
			gst_buffer_unref(b);
			hold_unref(h);
			return NULL;
		}
		GST_MINI_OBJECT_FLAG_SET(m, GST_MEMORY_FLAG_READONLY);
		g_atomic_int_inc(&h->refs);
		gst_mini_object_set_qdata(GST_MINI_OBJECT_CAST(m), self->hold_quark, h, hold_unref);
		gst_buffer_append_memory(b, m);
	}
	hold_unref(h);
	if (!vzsrc_layout(fmt, &f->info, offset, stride)) {
		GST_ERROR_OBJECT(self, "frame %u: its data offsets put a plane past its memory",
		                 f->info.sequence);
		gst_buffer_unref(b);
		return NULL;
	}
	gst_buffer_add_video_meta_full(b, GST_VIDEO_FRAME_FLAG_NONE,
	                               GST_VIDEO_INFO_FORMAT(&self->vinfo), fmt->width, fmt->height,
	                               fmt->num_planes, offset, stride);
	return b;
}

/* For an element that ignores GstVideoMeta: the frame in GStreamer's
 * default layout, in plain memory, with @zc's timestamps and flags.
 * Consumes @zc (the frame goes back now). */
static GstBuffer *copy_frame(GstVzeroSrc *self, GstBuffer *zc)
{
	GstBuffer *out = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&self->vinfo), NULL);
	GstVideoFrame in, to;
	bool ok = false;

	if (out && gst_video_frame_map(&in, &self->vinfo, zc, GST_MAP_READ)) {
		if (gst_video_frame_map(&to, &self->vinfo, out, GST_MAP_WRITE)) {
			ok = gst_video_frame_copy(&to, &in);
			gst_video_frame_unmap(&to);
		}
		gst_video_frame_unmap(&in);
	}
	if (ok)
		gst_buffer_copy_into(out, zc, GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_TIMESTAMPS, 0,
		                     (gsize)-1);
	gst_buffer_unref(zc);
	if (!ok && out) {
		gst_buffer_unref(out);
		out = NULL;
	}
	return out;
}

/* ---- caps ---- */

static bool same_format(const struct vz_format *a, const struct vz_format *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/* Takes @f as the current format (the streaming thread). */
static GstFlowReturn set_format(GstVzeroSrc *self, const struct vz_ipc_frame *f)
{
	GstCaps *caps = vzsrc_caps_of(f->fmt);
	char fcc[5];

	if (!caps) {
		GST_ELEMENT_ERROR(
		        self, STREAM, FORMAT,
		        ("The vzero server sends %s frames, which have no GStreamer raw-video "
		         "format.",
		         vz_fourcc_str(f->fmt->fourcc, fcc)),
		        ("vzerosrc hands out " VZSRC_FORMATS " (GStreamer's names): run the "
		         "server with one of those (vzero run --format ...)"));
		return GST_FLOW_NOT_NEGOTIATED;
	}
	if (f->modifier && f->modifier != MOD_INVALID) {
		GST_ELEMENT_ERROR(self, STREAM, FORMAT,
		                  ("The vzero server's buffers are not linear (DRM format modifier "
		                   "0x%016" PRIx64 ").",
		                   f->modifier),
		                  ("vzerosrc hands out linear raw video only: run the server with "
		                   "buffers of its own (not a display's scan-out memory)"));
		gst_caps_unref(caps);
		return GST_FLOW_NOT_NEGOTIATED;
	}
	gsize offset[GST_VIDEO_MAX_PLANES];
	gint stride[GST_VIDEO_MAX_PLANES];
	if (!vzsrc_layout(f->fmt, NULL, offset, stride)) {
		GST_ELEMENT_ERROR(self, STREAM, FORMAT,
		                  ("The vzero server's buffer set has a plane past the end of its "
		                   "memory."),
		                  ("a broken server: fourcc %s, %u memory planes",
		                   vz_fourcc_str(f->fmt->fourcc, fcc), f->fmt->num_mem));
		gst_caps_unref(caps);
		return GST_FLOW_NOT_NEGOTIATED;
	}
	gst_video_info_from_caps(&self->vinfo, caps);
	self->fmt = *f->fmt;
	self->modifier = f->modifier;
	self->have_fmt = true;
	self->warned_copy = false;
	GST_OBJECT_LOCK(self);
	gst_caps_replace(&self->caps, caps);
	self->frame_time = f->fmt->fps_num && f->fmt->fps_den
	                           ? gst_util_uint64_scale_int(GST_SECOND, (gint)f->fmt->fps_den,
	                                                       (gint)f->fmt->fps_num)
	                           : GST_CLOCK_TIME_NONE;
	GST_OBJECT_UNLOCK(self);
	gst_caps_unref(caps);
	return GST_FLOW_OK;
}

static GstCaps *vzsrc_get_caps(GstBaseSrc *bs, GstCaps *filter)
{
	GstVzeroSrc *self = GST_VZERO_SRC(bs);
	GstCaps *caps;

	GST_OBJECT_LOCK(self);
	caps = self->caps ? gst_caps_ref(self->caps) : NULL;
	GST_OBJECT_UNLOCK(self);
	if (!caps)
		caps = gst_pad_get_pad_template_caps(GST_BASE_SRC_PAD(bs));
	if (filter) {
		GstCaps *i = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
		gst_caps_unref(caps);
		caps = i;
	}
	return caps;
}

static gboolean vzsrc_negotiate(GstBaseSrc *bs)
{
	GstVzeroSrc *self = GST_VZERO_SRC(bs);
	GstCaps *caps;

	GST_OBJECT_LOCK(self);
	caps = self->caps ? gst_caps_ref(self->caps) : NULL;
	GST_OBJECT_UNLOCK(self);
	/* Before the first frame there is nothing to say: create() negotiates
	 * when the format is known. */
	if (!caps)
		return TRUE;
	GstCaps *peer = gst_pad_peer_query_caps(GST_BASE_SRC_PAD(bs), caps);
	bool takes = peer && !gst_caps_is_empty(peer);
	if (peer)
		gst_caps_unref(peer);
	if (!takes) {
		gchar *s = gst_caps_to_string(caps);
		GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
		                  ("The element after vzerosrc does not take the camera's format "
		                   "(%s).",
		                   s),
		                  ("vzerosrc cannot convert (the frames are the server's memory): "
		                   "put videoconvert after it"));
		g_free(s);
		gst_caps_unref(caps);
		return FALSE;
	}
	gboolean ok = gst_base_src_set_caps(bs, caps);
	gst_caps_unref(caps);
	return ok;
}

static gboolean vzsrc_decide_allocation(GstBaseSrc *bs, GstQuery *query)
{
	GstVzeroSrc *self = GST_VZERO_SRC(bs);

	self->meta_ok = gst_query_find_allocation_meta(query, GST_VIDEO_META_API_TYPE, NULL);
	/* Our buffers are the server's: a pool downstream offers would only
	 * be allocated (basesrc activates it) and never used. */
	while (gst_query_get_n_allocation_pools(query) > 0)
		gst_query_remove_nth_allocation_pool(query, 0);
	GST_DEBUG_OBJECT(self, "downstream %s GstVideoMeta", self->meta_ok ? "takes" : "ignores");
	return TRUE;
}

static gboolean vzsrc_query(GstBaseSrc *bs, GstQuery *query)
{
	GstVzeroSrc *self = GST_VZERO_SRC(bs);

	if (GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
		/* A frame reaches us a frame interval (exposure, readout) after
		 * its capture time at the earliest; until the first one, nothing
		 * is known. */
		GST_OBJECT_LOCK(self);
		bool known = GST_CLOCK_TIME_IS_VALID(self->frame_time);
		GstClockTime min = known ? self->frame_time : 0;
		/* Downstream may hold up to the budget before frames are lost. */
		GstClockTime max = known && self->budget ? self->frame_time * self->budget
		                                         : GST_CLOCK_TIME_NONE;
		GST_OBJECT_UNLOCK(self);
		gst_query_set_latency(query, TRUE, min, max);
		return TRUE;
	}
	return GST_BASE_SRC_CLASS(gst_vzero_src_parent_class)->query(bs, query);
}

/* ---- start, stop, unlock ---- */

static gboolean vzsrc_start(GstBaseSrc *bs)
{
	GstVzeroSrc *self = GST_VZERO_SRC(bs);
	struct vz_err err = {0};
	gchar *path;

	GST_OBJECT_LOCK(self);
	path = g_strdup(self->socket);
	self->frames = self->drops = self->copies = 0;
	gst_caps_replace(&self->caps, NULL);
	self->frame_time = GST_CLOCK_TIME_NONE;
	GST_OBJECT_UNLOCK(self);
	if (self->wake_fd < 0) {
		GST_ELEMENT_ERROR(self, RESOURCE, FAILED,
		                  ("vzerosrc has no eventfd to be woken by."),
		                  ("eventfd failed when the element was made: out of files?"));
		g_free(path);
		return FALSE;
	}
	if (!path || !*path) {
		GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
		                  ("vzerosrc needs socket=PATH: the socket a vzero server serves "
		                   "its camera on."),
		                  ("start a server with: vzero run -d /dev/video0 --sink "
		                   "ipc:/run/cam.sock, then vzerosrc socket=/run/cam.sock"));
		g_free(path);
		return FALSE;
	}
	int r = vz_ipc_connect(&self->client, path, &err);
	if (r < 0) {
		if (r == -EACCES || r == -EPERM)
			GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("%s", err.msg),
			                  ("vz_ipc_connect(%s): %s", path, g_strerror(-r)));
		else
			GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("%s", err.msg),
			                  ("vz_ipc_connect(%s): %s", path, g_strerror(-r)));
		g_free(path);
		return FALSE;
	}
	GST_INFO_OBJECT(self, "connected to %s (%s), budget %u frames", path,
	                vz_ipc_client_name(self->client), vz_ipc_client_budget(self->client));
	GST_OBJECT_LOCK(self);
	self->budget = vz_ipc_client_budget(self->client);
	GST_OBJECT_UNLOCK(self);
	g_free(path);
	self->have_fmt = false;
	self->meta_ok = false;
	self->generation = 0;
	self->last_drops = 0;
	self->last_pts = GST_CLOCK_TIME_NONE;
	self->discont = true;
	return TRUE;
}

static gboolean vzsrc_stop(GstBaseSrc *bs)
{
	GstVzeroSrc *self = GST_VZERO_SRC(bs);

	/* Buffers still downstream keep the client alive (ipc.h). */
	vz_ipc_close(self->client);
	self->client = NULL;
	self->have_fmt = false;
	return TRUE;
}

static gboolean vzsrc_unlock(GstBaseSrc *bs)
{
	GstVzeroSrc *self = GST_VZERO_SRC(bs);
	uint64_t one = 1;

	g_atomic_int_set(&self->flushing, 1);
	if (write(self->wake_fd, &one, sizeof(one)) < 0)
		GST_WARNING_OBJECT(self, "waking the streaming thread: %s", g_strerror(errno));
	return TRUE;
}

static gboolean vzsrc_unlock_stop(GstBaseSrc *bs)
{
	GstVzeroSrc *self = GST_VZERO_SRC(bs);
	uint64_t v;

	g_atomic_int_set(&self->flushing, 0);
	while (read(self->wake_fd, &v, sizeof(v)) > 0)
		;
	return TRUE;
}

/* ---- frames ---- */

/* The next frame, or why there is none: EOS when the server ended the
 * stream, FLUSHING when unlocked, ERROR (posted) otherwise. */
static GstFlowReturn next_frame(GstVzeroSrc *self, struct vz_ipc_frame **out)
{
	GST_OBJECT_LOCK(self);
	int timeout_ms = self->timeout_ms;
	GST_OBJECT_UNLOCK(self);
	int64_t deadline = vz_now_ns() + (int64_t)timeout_ms * VZ_NSEC_PER_MSEC;

	for (;;) {
		struct vz_err err = {0};
		int r = vz_ipc_next(self->client, out, 0, &err);
		if (r > 0)
			return GST_FLOW_OK;
		if (r == -ESHUTDOWN) {
			GST_INFO_OBJECT(self, "end of stream: %s", err.msg);
			return GST_FLOW_EOS;
		}
		if (r < 0) {
			GST_ELEMENT_ERROR(self, RESOURCE, READ, ("%s", err.msg),
			                  ("vz_ipc_next: %s", g_strerror(-r)));
			return GST_FLOW_ERROR;
		}
		if (g_atomic_int_get(&self->flushing))
			return GST_FLOW_FLUSHING;
		int wait = -1;
		if (timeout_ms > 0) {
			int64_t left = deadline - vz_now_ns();
			if (left <= 0) {
				GST_ELEMENT_ERROR(
				        self, RESOURCE, READ,
				        ("No frame from the vzero server in %d ms.", timeout_ms),
				        ("the server (%s) is connected but sends nothing: is its "
				         "camera streaming? timeout=0 waits for ever",
				         vz_ipc_client_name(self->client)));
				return GST_FLOW_ERROR;
			}
			wait = (int)((left + VZ_NSEC_PER_MSEC - 1) / VZ_NSEC_PER_MSEC);
		}
		struct pollfd pfd[2] = {
		        {.fd = vz_ipc_client_fd(self->client), .events = POLLIN},
		        {.fd = self->wake_fd, .events = POLLIN},
		};
		if (poll(pfd, 2, wait) < 0 && errno != EINTR) {
			GST_ELEMENT_ERROR(self, RESOURCE, READ,
			                  ("Waiting for the vzero server: %s", g_strerror(errno)),
			                  (NULL));
			return GST_FLOW_ERROR;
		}
		if (pfd[1].revents & POLLIN)
			return GST_FLOW_FLUSHING;
	}
}

/* The frame's capture time on CLOCK_MONOTONIC, by the best clock it has. */
static int64_t capture_time(const struct vz_ipc_frame *f, int64_t now)
{
	if (f->info.ts_monotonic && f->info.t_driver_ns <= now &&
	    now - f->info.t_driver_ns < PLAUSIBLE_DELAY_NS)
		return f->info.t_driver_ns;
	if (f->info.t_dqbuf_ns && f->info.t_dqbuf_ns <= now &&
	    now - f->info.t_dqbuf_ns < PLAUSIBLE_DELAY_NS)
		return f->info.t_dqbuf_ns;
	return f->t_received_ns;
}

static void timestamp(GstVzeroSrc *self, GstBuffer *b, const struct vz_ipc_frame *f)
{
	GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
	GstClockTime pts = GST_CLOCK_TIME_NONE;

	if (clock) {
		GstClockTime base = gst_element_get_base_time(GST_ELEMENT(self));
		GstClockTime now = gst_clock_get_time(clock);
		int64_t mono = vz_now_ns();
		int64_t t = (int64_t)now - (mono - capture_time(f, mono)) - (int64_t)base;
		pts = t > 0 ? (GstClockTime)t : 0;
		/* Frames come in capture order; a timestamp that steps back (a
		 * fallback clock for one frame) must not reach a muxer. */
		if (GST_CLOCK_TIME_IS_VALID(self->last_pts) && pts < self->last_pts)
			pts = self->last_pts;
		self->last_pts = pts;
		gst_object_unref(clock);
	}
	GST_BUFFER_PTS(b) = pts;
	GST_BUFFER_DTS(b) = GST_CLOCK_TIME_NONE;
	GST_OBJECT_LOCK(self);
	GST_BUFFER_DURATION(b) = self->frame_time;
	GST_OBJECT_UNLOCK(self);
	GST_BUFFER_OFFSET(b) = f->info.sequence;
	GST_BUFFER_OFFSET_END(b) = (guint64)f->info.sequence + 1;
}

/* Whether an element that ignores GstVideoMeta would misread this frame;
 * the first time per format, a warning says what it costs. */
static bool needs_meta(GstVzeroSrc *self, const struct vz_frame_info *info)
{
	gsize offset[GST_VIDEO_MAX_PLANES];
	gint stride[GST_VIDEO_MAX_PLANES];

	if (vzsrc_layout(&self->fmt, info, offset, stride) &&
	    vzsrc_layout_is_default(&self->vinfo, self->fmt.num_planes, offset, stride))
		return false;
	if (!self->warned_copy) {
		self->warned_copy = true;
		GST_ELEMENT_WARNING(
		        self, STREAM, FORMAT,
		        ("The element after vzerosrc does not take GstVideoMeta and the "
		         "camera's frames are padded (stride %u, GStreamer assumes %d): "
		         "copying every frame.",
		         self->fmt.plane[0].stride, GST_VIDEO_INFO_PLANE_STRIDE(&self->vinfo, 0)),
		        ("put videoconvert (or another element that takes GstVideoMeta) "
		         "after vzerosrc to share the server's memory instead"));
	}
	return true;
}

static GstFlowReturn vzsrc_create(GstPushSrc *ps, GstBuffer **out)
{
	GstVzeroSrc *self = GST_VZERO_SRC(ps);
	GstBaseSrc *bs = GST_BASE_SRC(ps);
	struct vz_ipc_frame *f;

	GstFlowReturn ret = next_frame(self, &f);
	if (ret != GST_FLOW_OK)
		return ret;

	if (!self->have_fmt || !same_format(&self->fmt, f->fmt) || self->modifier != f->modifier) {
		bool first = !self->have_fmt;
		ret = set_format(self, f);
		if (ret != GST_FLOW_OK) {
			vz_ipc_release(self->client, f);
			return ret;
		}
		GST_INFO_OBJECT(self, "%s format from buffer set %u: %" GST_PTR_FORMAT,
		                first ? "the" : "a new", f->generation, self->caps);
		if (!gst_base_src_negotiate(bs)) {
			vz_ipc_release(self->client, f);
			/* Ours posted its error; a refusal of set_caps is posted by
			 * basesrc as not-negotiated when we return this. */
			return GST_PAD_IS_FLUSHING(GST_BASE_SRC_PAD(bs)) ? GST_FLOW_FLUSHING
			                                                 : GST_FLOW_NOT_NEGOTIATED;
		}
	}
	/* @f is gone with the last of its memories: what we need of it now. */
	uint64_t drops = f->client_drops;
	bool discont = self->discont || f->generation != self->generation || f->info.discont ||
	               f->info.gap || f->client_drops != self->last_drops;
	self->discont = false;
	self->generation = f->generation;
	self->last_drops = f->client_drops;

	GstBuffer *b = wrap_frame(self, f);
	if (!b) {
		GST_ELEMENT_ERROR(self, RESOURCE, FAILED,
		                  ("Cannot wrap the vzero server's frame in GStreamer memory."),
		                  ("see the vzerosrc debug category for why"));
		return GST_FLOW_ERROR;
	}
	timestamp(self, b, f);
	if (discont)
		GST_BUFFER_FLAG_SET(b, GST_BUFFER_FLAG_DISCONT);

	bool copied = false;
	if (!self->meta_ok && needs_meta(self, &f->info)) {
		b = copy_frame(self, b);
		if (!b) {
			GST_ELEMENT_ERROR(self, RESOURCE, FAILED,
			                  ("Cannot copy a frame for an element that ignores "
			                   "GstVideoMeta."),
			                  (NULL));
			return GST_FLOW_ERROR;
		}
		copied = true;
	}

	GST_OBJECT_LOCK(self);
	self->frames++;
	self->drops = drops;
	self->copies += copied;
	GST_OBJECT_UNLOCK(self);
	*out = b;
	return GST_FLOW_OK;
}

/* ---- the GObject ---- */

static void vzsrc_set_property(GObject *obj, guint id, const GValue *v, GParamSpec *ps)
{
	GstVzeroSrc *self = GST_VZERO_SRC(obj);

	GST_OBJECT_LOCK(self);
	switch (id) {
	case PROP_SOCKET:
		g_free(self->socket);
		self->socket = g_value_dup_string(v);
		break;
	case PROP_TIMEOUT:
		self->timeout_ms = g_value_get_int(v);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, ps);
		break;
	}
	GST_OBJECT_UNLOCK(self);
}

static void vzsrc_get_property(GObject *obj, guint id, GValue *v, GParamSpec *ps)
{
	GstVzeroSrc *self = GST_VZERO_SRC(obj);

	GST_OBJECT_LOCK(self);
	switch (id) {
	case PROP_SOCKET:
		g_value_set_string(v, self->socket);
		break;
	case PROP_TIMEOUT:
		g_value_set_int(v, self->timeout_ms);
		break;
	case PROP_FRAMES:
		g_value_set_uint64(v, self->frames);
		break;
	case PROP_DROPS:
		g_value_set_uint64(v, self->drops);
		break;
	case PROP_COPIES:
		g_value_set_uint64(v, self->copies);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, ps);
		break;
	}
	GST_OBJECT_UNLOCK(self);
}

static void vzsrc_finalize(GObject *obj)
{
	GstVzeroSrc *self = GST_VZERO_SRC(obj);

	g_free(self->socket);
	gst_caps_replace(&self->caps, NULL);
	if (self->alloc)
		gst_object_unref(self->alloc);
	if (self->wake_fd >= 0)
		close(self->wake_fd);
	G_OBJECT_CLASS(gst_vzero_src_parent_class)->finalize(obj);
}

static void gst_vzero_src_init(GstVzeroSrc *self)
{
	self->timeout_ms = DEFAULT_TIMEOUT_MS;
	self->alloc = gst_dmabuf_allocator_new();
	self->hold_quark = g_quark_from_static_string("vzerosrc-frame");
	self->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (self->wake_fd < 0)
		GST_ERROR_OBJECT(self, "eventfd: %s", g_strerror(errno));
	gst_base_src_set_live(GST_BASE_SRC(self), TRUE);
	gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
}

static void gst_vzero_src_class_init(GstVzeroSrcClass *klass)
{
	GObjectClass *gobject = G_OBJECT_CLASS(klass);
	GstElementClass *element = GST_ELEMENT_CLASS(klass);
	GstBaseSrcClass *bs = GST_BASE_SRC_CLASS(klass);
	GstPushSrcClass *ps = GST_PUSH_SRC_CLASS(klass);

	gobject->set_property = vzsrc_set_property;
	gobject->get_property = vzsrc_get_property;
	gobject->finalize = vzsrc_finalize;

	g_object_class_install_property(
	        gobject, PROP_SOCKET,
	        g_param_spec_string("socket", "Socket",
	                            "The vzero server's socket (required): the PATH of "
	                            "`vzero run -d /dev/video0 --sink ipc:PATH`",
	                            NULL,
	                            G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
	                                    GST_PARAM_MUTABLE_READY));
	g_object_class_install_property(
	        gobject, PROP_TIMEOUT,
	        g_param_spec_int("timeout", "Timeout",
	                         "Milliseconds without a frame from the server before the "
	                         "element fails (0: wait for ever)",
	                         0, G_MAXINT, DEFAULT_TIMEOUT_MS,
	                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
	g_object_class_install_property(
	        gobject, PROP_FRAMES,
	        g_param_spec_uint64("frames", "Frames", "Frames received from the server", 0,
	                            G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
	g_object_class_install_property(
	        gobject, PROP_DROPS,
	        g_param_spec_uint64("drops", "Drops",
	                            "Frames the server could not send because this element "
	                            "held its whole budget (downstream too slow)",
	                            0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
	g_object_class_install_property(
	        gobject, PROP_COPIES,
	        g_param_spec_uint64("copies", "Copies",
	                            "Frames copied because the element downstream ignores "
	                            "GstVideoMeta and the frames are padded (0: zero-copy)",
	                            0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

	gst_element_class_add_static_pad_template(element, &src_template);
	gst_element_class_set_static_metadata(
	        element, "vzero camera source", "Source/Video",
	        "Frames of a camera that a vzero server shares (vzero run -d /dev/video0 --sink "
	        "ipc:/run/cam.sock), as read-only DMA-buf memory: no copy, and any number of "
	        "processes at once. Caps are the server's format; a format change on the server "
	        "renegotiates; the server ending its run is end-of-stream. Example: "
	        "gst-launch-1.0 vzerosrc socket=/run/cam.sock ! videoconvert ! autovideosink",
	        "vzero");

	bs->start = vzsrc_start;
	bs->stop = vzsrc_stop;
	bs->unlock = vzsrc_unlock;
	bs->unlock_stop = vzsrc_unlock_stop;
	bs->get_caps = vzsrc_get_caps;
	bs->negotiate = vzsrc_negotiate;
	bs->decide_allocation = vzsrc_decide_allocation;
	bs->query = vzsrc_query;
	ps->create = vzsrc_create;

	GST_DEBUG_CATEGORY_INIT(vzsrc_debug, "vzerosrc", 0, "vzero camera source");
}

static gboolean plugin_init(GstPlugin *plugin)
{
	return gst_element_register(plugin, "vzerosrc", GST_RANK_NONE, GST_TYPE_VZERO_SRC);
}

/* GStreamer's macro names the package through PACKAGE, and leaves part of
 * its padding to the compiler's zeroing. */
#define PACKAGE "vzero"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, vzerosrc,
                  "A vzero server's camera, shared zero-copy (vzero run --sink ipc:PATH)",
                  plugin_init, VZ_VERSION, "MIT/X11", "vzero", "vzero")
#pragma GCC diagnostic pop
