/* SPDX-License-Identifier: MIT */
/*
 * The GStreamer sink: appsrc ! <user description>, fed with the frames'
 * read-only DMA-bufs.  See include/vzero/sink-gst.h.
 *
 * Memory.  At start() every (V4L2 index, memory plane) gets one "root"
 * GstMemory from gst_dmabuf_allocator_alloc_with_flags() over the buffer's
 * fd_ro, with KEEP_MAPPED (a CPU mapping, once made, lives as long as the
 * stream instead of mmap/munmap per access) and DONT_CLOSE (the capture owns
 * the fd).  Each push wraps gst_memory_share() children of those roots in a
 * fresh GstBuffer: mapping a child maps its root, so the mapping is shared,
 * and the child is a per-frame object whose death we can observe.
 *
 * Release.  We watch the per-frame child memories with weak refs, not the
 * GstBuffer: an element that needs a writable buffer (identity, tee,
 * anything calling gst_buffer_make_writable) makes a new GstBuffer holding
 * refs on the same memories and drops ours, so a weak ref on the buffer (or
 * a buffer pool's release_buffer, which fires at the same moment) would hand
 * the V4L2 buffer back to the driver while a downstream element still reads
 * it.  Every GstBuffer that carries the frame's bytes references the child
 * memory, so its finalization is the true "GStreamer no longer uses it".
 * (A partial gst_memory_share() of a child points at the root, not the
 * child -- gst_fd_mem_share() finds the "real parent" -- so an element that
 * sub-allocates slices of raw video and keeps only them is the one case this
 * does not see; no raw-video element in base/good/bad does that.)
 *
 * Time.  PTS is the driver timestamp (CLOCK_MONOTONIC) mapped onto the
 * pipeline clock: pts = t_driver + (clock_now - monotonic_now) - base_time.
 * With GStreamer's default system clock (GST_CLOCK_TYPE_MONOTONIC) the
 * offset is exactly 0, so PTS carries the driver's own jitter and nothing
 * of ours; with another clock (an audio sink's) the offset is re-measured
 * per frame.  Sinks that sync see frames at capture time plus the latency,
 * and muxers get real capture times.  appsrc is live with min-latency one
 * frame interval and answers LATENCY queries from that.
 */
#include "vz-config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/videodev2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gst/allocators/allocators.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "clock.h"
#include "errors.h"
#include "pipeline.h"
#include "sink-gst.h"

#define SRC_NAME "vzsrc"

/* Room for GStreamer's side of a message: element names and caps strings
 * are cut to keep the whole within one vz_err line. */
#define CAPS_SHOWN 160

struct gst_sink;

/* One V4L2 index: it is out of the driver at most once at a time, so one
 * slot per index is enough and push needs no allocation for bookkeeping. */
struct slot {
	struct gst_sink *s;
	struct vz_frame *frame; /* NULL: nothing outstanding */
	atomic_uint pending;    /* child memories still alive */
};

struct gst_sink {
	char *description;
	GstElement *pipeline;
	GstElement *appsrc;
	GstElement *last; /* the single sink element, for the info probe */
	GstAllocator *alloc;
	gulong src_probe, last_probe;

	/* set by start() */
	struct vz_sink_port *port;
	struct vz_format fmt;
	struct vz_gst_layout layout;
	/* the layout in GstVideoMeta's array sizes */
	gsize meta_offset[GST_VIDEO_MAX_PLANES];
	gint meta_stride[GST_VIDEO_MAX_PLANES];
	GstVideoFormat vformat;
	char caps_str[1024];
	unsigned nbuf;
	GstMemory *root[VZ_MAX_BUFFERS][VZ_MAX_PLANES];
	int fd[VZ_MAX_BUFFERS][VZ_MAX_PLANES];
	struct slot slot[VZ_MAX_BUFFERS];
	int64_t interval;
	int64_t ts_delta; /* added to driver timestamps, see pts_of() */
	bool monotonic_clock;
	GstClockTime last_pts;
	bool first;

	/* shared with GStreamer's threads */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool eos;       /* EOS reached the bus */
	bool running;   /* start() done, stop() not begun: errors go to
	                   vz_port_fail */
	int error_code; /* first bus ERROR */
	char error_msg[VZ_ERR_MSG_MAX];

	atomic_uint_fast64_t frames, released, drops_failure;
	atomic_uint_fast64_t bytes_copied, copies;
	atomic_uint_fast64_t seen, seen_ok; /* appsrc src pad */
	atomic_uint_fast64_t last_seen, last_dmabuf;
	char last_name[64];
};

/* ---- formats and caps ---- */

static const struct {
	uint32_t fourcc;
	GstVideoFormat gst;
} format_map[] = {
        {V4L2_PIX_FMT_YUYV, GST_VIDEO_FORMAT_YUY2},
        {V4L2_PIX_FMT_UYVY, GST_VIDEO_FORMAT_UYVY},
        {V4L2_PIX_FMT_YVYU, GST_VIDEO_FORMAT_YVYU},
        {V4L2_PIX_FMT_VYUY, GST_VIDEO_FORMAT_VYUY},
        {V4L2_PIX_FMT_NV12, GST_VIDEO_FORMAT_NV12},
        {V4L2_PIX_FMT_NV12M, GST_VIDEO_FORMAT_NV12},
        {V4L2_PIX_FMT_NV21, GST_VIDEO_FORMAT_NV21},
        {V4L2_PIX_FMT_NV21M, GST_VIDEO_FORMAT_NV21},
        {V4L2_PIX_FMT_NV16, GST_VIDEO_FORMAT_NV16},
        {V4L2_PIX_FMT_NV61, GST_VIDEO_FORMAT_NV61},
        {V4L2_PIX_FMT_NV16M, GST_VIDEO_FORMAT_NV16},
        {V4L2_PIX_FMT_NV61M, GST_VIDEO_FORMAT_NV61},
        {V4L2_PIX_FMT_YUV420, GST_VIDEO_FORMAT_I420},
        {V4L2_PIX_FMT_YUV420M, GST_VIDEO_FORMAT_I420},
        {V4L2_PIX_FMT_YVU420, GST_VIDEO_FORMAT_YV12},
        {V4L2_PIX_FMT_YVU420M, GST_VIDEO_FORMAT_YV12},
        {V4L2_PIX_FMT_YUV422P, GST_VIDEO_FORMAT_Y42B},
        {V4L2_PIX_FMT_RGB24, GST_VIDEO_FORMAT_RGB},
        {V4L2_PIX_FMT_BGR24, GST_VIDEO_FORMAT_BGR},
        /* V4L2 names 32-bit RGB by its little-endian word: XBGR32 is B,G,R,X
         * in memory, GStreamer names the bytes in memory order. */
        {V4L2_PIX_FMT_XBGR32, GST_VIDEO_FORMAT_BGRx},
        {V4L2_PIX_FMT_ABGR32, GST_VIDEO_FORMAT_BGRA},
        {V4L2_PIX_FMT_RGBX32, GST_VIDEO_FORMAT_RGBx},
        {V4L2_PIX_FMT_RGBA32, GST_VIDEO_FORMAT_RGBA},
        {V4L2_PIX_FMT_XRGB32, GST_VIDEO_FORMAT_xRGB},
        {V4L2_PIX_FMT_ARGB32, GST_VIDEO_FORMAT_ARGB},
        /* the deprecated ambiguous pair, as V4L2 documents their memory order */
        {V4L2_PIX_FMT_BGR32, GST_VIDEO_FORMAT_BGRx},
        {V4L2_PIX_FMT_RGB32, GST_VIDEO_FORMAT_xRGB},
        {V4L2_PIX_FMT_RGB565, GST_VIDEO_FORMAT_RGB16},
        {V4L2_PIX_FMT_GREY, GST_VIDEO_FORMAT_GRAY8},
        {V4L2_PIX_FMT_Y16, GST_VIDEO_FORMAT_GRAY16_LE},
};

static GstVideoFormat gst_format_of(uint32_t fourcc)
{
	for (size_t i = 0; i < sizeof(format_map) / sizeof(format_map[0]); i++)
		if (format_map[i].fourcc == fourcc)
			return format_map[i].gst;
	return GST_VIDEO_FORMAT_UNKNOWN;
}

const char *vz_gst_format_name(uint32_t fourcc)
{
	GstVideoFormat g = gst_format_of(fourcc);

	return g == GST_VIDEO_FORMAT_UNKNOWN ? NULL : gst_video_format_to_string(g);
}

static bool fourcc_is_rgb(uint32_t fourcc)
{
	const GstVideoFormatInfo *fi = gst_video_format_get_info(gst_format_of(fourcc));

	return fi && GST_VIDEO_FORMAT_INFO_IS_RGB(fi);
}

static bool fourcc_is_gray(uint32_t fourcc)
{
	const GstVideoFormatInfo *fi = gst_video_format_get_info(gst_format_of(fourcc));

	return fi && GST_VIDEO_FORMAT_INFO_IS_GRAY(fi);
}

/* V4L2's colorimetry (with its DEFAULT rules spelled out) in GStreamer's
 * terms.  Matrices only mean something for YUV: RGB gets the RGB matrix,
 * GStreamer rejects anything else there. */
static void colorimetry_of(const struct vz_format *f, GstVideoColorimetry *c)
{
	bool rgb = fourcc_is_rgb(f->fourcc);
	bool gray = fourcc_is_gray(f->fourcc);
	uint32_t cs = f->colorspace, xfer, enc, quant;

	if (cs == V4L2_COLORSPACE_DEFAULT)
		cs = V4L2_MAP_COLORSPACE_DEFAULT(!rgb && f->height <= 576, !rgb && f->height > 576);
	xfer = f->xfer_func ? f->xfer_func : V4L2_MAP_XFER_FUNC_DEFAULT(cs);
	enc = f->ycbcr_enc ? f->ycbcr_enc : V4L2_MAP_YCBCR_ENC_DEFAULT(cs);
	quant = f->quantization ? f->quantization : V4L2_MAP_QUANTIZATION_DEFAULT(rgb, cs, enc);

	switch (cs) {
	case V4L2_COLORSPACE_SMPTE170M:
	case V4L2_COLORSPACE_BT878:
		c->primaries = GST_VIDEO_COLOR_PRIMARIES_SMPTE170M;
		break;
	case V4L2_COLORSPACE_REC709:
	case V4L2_COLORSPACE_SRGB:
	case V4L2_COLORSPACE_JPEG:
		c->primaries = GST_VIDEO_COLOR_PRIMARIES_BT709;
		break;
	case V4L2_COLORSPACE_OPRGB:
		c->primaries = GST_VIDEO_COLOR_PRIMARIES_ADOBERGB;
		break;
	case V4L2_COLORSPACE_BT2020:
		c->primaries = GST_VIDEO_COLOR_PRIMARIES_BT2020;
		break;
	case V4L2_COLORSPACE_SMPTE240M:
		c->primaries = GST_VIDEO_COLOR_PRIMARIES_SMPTE240M;
		break;
	case V4L2_COLORSPACE_470_SYSTEM_M:
		c->primaries = GST_VIDEO_COLOR_PRIMARIES_BT470M;
		break;
	case V4L2_COLORSPACE_470_SYSTEM_BG:
		c->primaries = GST_VIDEO_COLOR_PRIMARIES_BT470BG;
		break;
	case V4L2_COLORSPACE_DCI_P3:
		c->primaries = GST_VIDEO_COLOR_PRIMARIES_SMPTERP431;
		break;
	default:
		c->primaries = GST_VIDEO_COLOR_PRIMARIES_UNKNOWN;
		break;
	}

	switch (xfer) {
	case V4L2_XFER_FUNC_709:
		/* Same curve; GStreamer names it BT601 for SD video ("bt601"
		 * colorimetry) and BT2020_10 for BT.2020, as its v4l2src does. */
		if (cs == V4L2_COLORSPACE_BT2020)
			c->transfer = GST_VIDEO_TRANSFER_BT2020_10;
		else if (cs == V4L2_COLORSPACE_SMPTE170M || cs == V4L2_COLORSPACE_BT878 ||
		         cs == V4L2_COLORSPACE_470_SYSTEM_M || cs == V4L2_COLORSPACE_470_SYSTEM_BG)
			c->transfer = GST_VIDEO_TRANSFER_BT601;
		else
			c->transfer = GST_VIDEO_TRANSFER_BT709;
		break;
	case V4L2_XFER_FUNC_SRGB:
		c->transfer = GST_VIDEO_TRANSFER_SRGB;
		break;
	case V4L2_XFER_FUNC_OPRGB:
		c->transfer = GST_VIDEO_TRANSFER_ADOBERGB;
		break;
	case V4L2_XFER_FUNC_SMPTE240M:
		c->transfer = GST_VIDEO_TRANSFER_SMPTE240M;
		break;
	case V4L2_XFER_FUNC_NONE:
		c->transfer = GST_VIDEO_TRANSFER_GAMMA10;
		break;
	case V4L2_XFER_FUNC_SMPTE2084:
		c->transfer = GST_VIDEO_TRANSFER_SMPTE2084;
		break;
	default:
		c->transfer = GST_VIDEO_TRANSFER_UNKNOWN;
		break;
	}

	if (rgb) {
		c->matrix = GST_VIDEO_COLOR_MATRIX_RGB;
	} else if (gray) {
		/* Luma only: no chroma to convert with a matrix. */
		c->matrix = GST_VIDEO_COLOR_MATRIX_UNKNOWN;
	} else {
		switch (enc) {
		case V4L2_YCBCR_ENC_709:
		case V4L2_YCBCR_ENC_XV709:
			c->matrix = GST_VIDEO_COLOR_MATRIX_BT709;
			break;
		case V4L2_YCBCR_ENC_BT2020:
		case V4L2_YCBCR_ENC_BT2020_CONST_LUM:
			c->matrix = GST_VIDEO_COLOR_MATRIX_BT2020;
			break;
		case V4L2_YCBCR_ENC_SMPTE240M:
			c->matrix = GST_VIDEO_COLOR_MATRIX_SMPTE240M;
			break;
		default:
			c->matrix = GST_VIDEO_COLOR_MATRIX_BT601;
			break;
		}
	}
	c->range = quant == V4L2_QUANTIZATION_FULL_RANGE ? GST_VIDEO_COLOR_RANGE_0_255
	                                                 : GST_VIDEO_COLOR_RANGE_16_235;
}

static int copy_out(const char *s, char *buf, size_t len)
{
	size_t n = strlen(s);

	if (n >= len)
		return -ENOSPC;
	memcpy(buf, s, n + 1);
	return (int)n;
}

static void ensure_gst_init(void)
{
	/* GStreamer's own once-only global; idempotent. */
	if (!gst_is_initialized())
		gst_init(NULL, NULL);
}

int vz_gst_colorimetry(const struct vz_format *f, char *buf, size_t len)
{
	GstVideoColorimetry c;
	gchar *s;
	int ret;

	if (!f || !buf || gst_format_of(f->fourcc) == GST_VIDEO_FORMAT_UNKNOWN)
		return -EINVAL;
	ensure_gst_init();
	colorimetry_of(f, &c);
	s = gst_video_colorimetry_to_string(&c);
	if (!s)
		return -EINVAL;
	ret = copy_out(s, buf, len);
	g_free(s);
	return ret;
}

int vz_gst_layout(const struct vz_format *f, struct vz_gst_layout *out)
{
	size_t base[VZ_MAX_PLANES] = {0};

	if (!f || !out || f->num_mem < 1 || f->num_mem > VZ_MAX_PLANES || f->num_planes < 1 ||
	    f->num_planes > VZ_MAX_PLANES)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->n_mem = f->num_mem;
	out->n_planes = f->num_planes;
	for (unsigned m = 0; m < f->num_mem; m++) {
		if (!f->mem_size[m])
			return -EINVAL;
		base[m] = out->size;
		out->mem_size[m] = f->mem_size[m];
		out->size += f->mem_size[m];
	}
	for (unsigned i = 0; i < f->num_planes; i++) {
		uint32_t m = f->plane[i].mem;
		uint64_t end;

		if (m >= f->num_mem || f->plane[i].stride > INT_MAX)
			return -EINVAL;
		end = (uint64_t)f->plane[i].offset +
		      (uint64_t)f->plane[i].stride * f->plane[i].height;
		if (end > f->mem_size[m])
			return -EINVAL;
		out->offset[i] = base[m] + f->plane[i].offset;
		out->stride[i] = (int)f->plane[i].stride;
	}
	return 0;
}

static GstCaps *caps_of(const struct vz_format *f)
{
	GstVideoFormat g = gst_format_of(f->fourcc);
	GstVideoInfo info;

	if (g == GST_VIDEO_FORMAT_UNKNOWN || !f->width || !f->height)
		return NULL;
	gst_video_info_init(&info);
	if (!gst_video_info_set_format(&info, g, f->width, f->height))
		return NULL;
	if (f->fps_num && f->fps_den) {
		info.fps_n = (gint)f->fps_num;
		info.fps_d = (gint)f->fps_den;
	} else {
		info.fps_n = 0; /* variable rate */
		info.fps_d = 1;
	}
	switch (f->field) {
	case V4L2_FIELD_INTERLACED:
	case V4L2_FIELD_INTERLACED_TB:
	case V4L2_FIELD_INTERLACED_BT:
		info.interlace_mode = GST_VIDEO_INTERLACE_MODE_INTERLEAVED;
		break;
	default:
		info.interlace_mode = GST_VIDEO_INTERLACE_MODE_PROGRESSIVE;
		break;
	}
	colorimetry_of(f, &info.colorimetry);
	return gst_video_info_to_caps(&info);
}

int vz_gst_caps_from_format(const struct vz_format *f, char *buf, size_t len)
{
	GstCaps *caps;
	gchar *s;
	int ret;

	if (!f || !buf)
		return -EINVAL;
	ensure_gst_init();
	caps = caps_of(f);
	if (!caps)
		return -EINVAL;
	s = gst_caps_to_string(caps);
	ret = copy_out(s, buf, len);
	g_free(s);
	gst_caps_unref(caps);
	return ret;
}

/* ---- messages ---- */

/* "a long\nstring" -> "a long string", cut to @max bytes with "...". */
static void one_line(char *dst, size_t len, const char *src, size_t max)
{
	size_t n = 0;

	if (!len)
		return;
	if (max >= len)
		max = len - 1;
	for (; src && *src && n < max; src++)
		dst[n++] = (*src == '\n' || *src == '\r' || *src == '\t') ? ' ' : *src;
	if (src && *src && n >= 3)
		memcpy(dst + n - 3, "...", 3);
	dst[n] = 0;
}

/* GStreamer's debug strings start with "file.c(123): func (): /GstPipeline:
 * pipeline0/...:\n" -- only what follows the last ":\n" is news. */
static const char *debug_tail(const char *debug)
{
	const char *p;

	if (!debug)
		return NULL;
	p = strstr(debug, ":\n");
	if (!p && strstr(debug, "(): /"))
		return NULL; /* just where it happened: the element is named already */
	while (p) {
		debug = p + 2;
		p = strstr(debug, ":\n");
	}
	return debug;
}

static GstPad *single_src_pad(GstElement *el)
{
	GstIterator *it = gst_element_iterate_src_pads(el);
	GValue v = G_VALUE_INIT;
	GstPad *pad = NULL;
	int n = 0;

	while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
		if (n++ == 0)
			pad = gst_object_ref(g_value_get_object(&v));
		g_value_reset(&v);
	}
	g_value_unset(&v);
	gst_iterator_free(it);
	if (n != 1 && pad) {
		gst_object_unref(pad);
		pad = NULL;
	}
	return pad;
}

/*
 * Which element refuses @caps: walk downstream from appsrc while each sink
 * pad's caps (which proxying elements compute from further downstream)
 * exclude ours; the deepest such element is where the constraint comes
 * from.  Fills @who and @accepts; false when everything intersects.
 */
static bool find_refuser(GstElement *appsrc, GstCaps *caps, char *who, size_t wlen, char *accepts,
                         size_t alen)
{
	GstPad *pad = gst_element_get_static_pad(appsrc, "src");
	bool found = false;

	for (int depth = 0; pad && depth < 64; depth++) {
		GstPad *peer = gst_pad_get_peer(pad);
		GstElement *el;
		GstCaps *ok;

		gst_object_unref(pad);
		pad = NULL;
		if (!peer)
			break;
		ok = gst_pad_query_caps(peer, NULL);
		el = gst_pad_get_parent_element(peer);
		gst_object_unref(peer);
		if (!el) {
			gst_caps_unref(ok);
			break;
		}
		if (gst_caps_can_intersect(ok, caps)) {
			gst_caps_unref(ok);
			gst_object_unref(el);
			break;
		}
		gchar *s = gst_caps_to_string(ok);
		one_line(who, wlen, GST_ELEMENT_NAME(el), 63);
		one_line(accepts, alen, s, CAPS_SHOWN);
		g_free(s);
		gst_caps_unref(ok);
		found = true;
		pad = single_src_pad(el);
		gst_object_unref(el);
	}
	if (pad)
		gst_object_unref(pad);
	return found;
}

static int negotiation_error(struct gst_sink *s, struct vz_err *err)
{
	char who[64], accepts[CAPS_SHOWN + 1], offer[CAPS_SHOWN + 1];
	GstCaps *caps = caps_of(&s->fmt);

	one_line(offer, sizeof(offer), s->caps_str, CAPS_SHOWN);
	if (caps && find_refuser(s->appsrc, caps, who, sizeof(who), accepts, sizeof(accepts))) {
		gst_caps_unref(caps);
		return vz_err_set(err, -EPROTO,
		                  "gst: %s does not accept vzero's frames: it takes %s, vzero "
		                  "offers %s (put videoconvert before it, or capture another "
		                  "format with -f)",
		                  who, accepts, offer);
	}
	if (caps)
		gst_caps_unref(caps);
	return vz_err_set(err, -EPROTO,
	                  "gst: caps did not negotiate downstream of appsrc: vzero offers %s "
	                  "(put videoconvert after appsrc, or capture another format with -f)",
	                  offer);
}

static int gst_error_code(const GError *e, const char *debug)
{
	if (debug && strstr(debug, "not-negotiated"))
		return -EPROTO;
	if (e && e->domain == GST_RESOURCE_ERROR) {
		switch (e->code) {
		case GST_RESOURCE_ERROR_NOT_FOUND:
			return -ENOENT;
		case GST_RESOURCE_ERROR_NO_SPACE_LEFT:
			return -ENOSPC;
		case GST_RESOURCE_ERROR_BUSY:
			return -EBUSY;
		case GST_RESOURCE_ERROR_NOT_AUTHORIZED:
			return -EACCES;
		default:
			return -EIO;
		}
	}
	return -EPIPE;
}

/* Runs in whichever thread posts (streaming threads, ours during state
 * changes): nothing here blocks on GStreamer, and no GMainLoop is needed. */
static GstBusSyncReply on_bus(GstBus *bus, GstMessage *msg, gpointer data)
{
	struct gst_sink *s = data;

	switch (GST_MESSAGE_TYPE(msg)) {
	case GST_MESSAGE_ERROR: {
		GError *e = NULL;
		gchar *debug = NULL;
		char m[VZ_ERR_MSG_MAX], dbg[200];
		struct vz_err neg = {0};
		bool report = false;
		int code;

		gst_message_parse_error(msg, &e, &debug);
		code = gst_error_code(e, debug);
		one_line(dbg, sizeof(dbg), debug_tail(debug), sizeof(dbg) - 1);
		if (code == -EPROTO) {
			/* appsrc only says "not-negotiated": find who refused. */
			negotiation_error(s, &neg);
			snprintf(m, sizeof(m), "%s", neg.msg);
		} else {
			snprintf(m, sizeof(m), "gst: %s: %s%s%s%s",
			         GST_MESSAGE_SRC_NAME(msg) ? GST_MESSAGE_SRC_NAME(msg) : "?",
			         e ? e->message : "error", dbg[0] ? " (" : "", dbg,
			         dbg[0] ? ")" : "");
		}
		g_clear_error(&e);
		g_free(debug);

		pthread_mutex_lock(&s->lock);
		if (!s->error_code) {
			s->error_code = code;
			snprintf(s->error_msg, sizeof(s->error_msg), "%s", m);
			report = s->running;
		}
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		if (report)
			vz_port_fail(s->port, code, m);
		break;
	}
	case GST_MESSAGE_EOS:
		pthread_mutex_lock(&s->lock);
		s->eos = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		break;
	default:
		break;
	}
	return GST_BUS_DROP;
}

/* ---- release ---- */

static void on_child_gone(gpointer data, GstMiniObject *obj)
{
	struct slot *sl = data;
	struct gst_sink *s = sl->s;
	struct vz_frame *f;

	if (atomic_fetch_sub(&sl->pending, 1) != 1)
		return;
	f = sl->frame;
	sl->frame = NULL;
	if (!f)
		return; /* push failed: the pipeline releases it */
	/* Count before releasing: once released, the index may be pushed
	 * again from the loop thread. */
	atomic_fetch_add(&s->released, 1);
	pthread_mutex_lock(&s->lock);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	vz_port_release(s->port, f);
}

/* ---- probes ---- */

static bool buffer_is_ours(struct gst_sink *s, GstBuffer *b)
{
	unsigned n = gst_buffer_n_memory(b);
	GstMemory *m0;
	int fd0;

	if (n != s->layout.n_mem)
		return false;
	m0 = gst_buffer_peek_memory(b, 0);
	if (!gst_is_dmabuf_memory(m0))
		return false;
	fd0 = gst_dmabuf_memory_get_fd(m0);
	for (unsigned i = 0; i < s->nbuf; i++) {
		if (s->fd[i][0] != fd0)
			continue;
		for (unsigned p = 1; p < n; p++) {
			GstMemory *m = gst_buffer_peek_memory(b, p);

			if (!gst_is_dmabuf_memory(m) || gst_dmabuf_memory_get_fd(m) != s->fd[i][p])
				return false;
		}
		return true;
	}
	return false;
}

static GstPadProbeReturn on_src_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct gst_sink *s = data;
	GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);

	if (!b)
		return GST_PAD_PROBE_OK;
	atomic_fetch_add(&s->seen, 1);
	if (buffer_is_ours(s, b)) {
		atomic_fetch_add(&s->seen_ok, 1);
	} else {
		/* Only a copy could have replaced the memories between
		 * push_buffer and here. */
		atomic_fetch_add(&s->copies, 1);
		atomic_fetch_add(&s->bytes_copied, gst_buffer_get_size(b));
	}
	return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn on_last_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct gst_sink *s = data;
	GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);

	if (!b)
		return GST_PAD_PROBE_OK;
	atomic_fetch_add(&s->last_seen, 1);
	if (buffer_is_ours(s, b))
		atomic_fetch_add(&s->last_dmabuf, 1);
	return GST_PAD_PROBE_OK;
}

/* The single sink element, if the description has exactly one: where we
 * look to tell "downstream kept the DMA-buf" from "downstream converted". */
static GstElement *single_sink(GstElement *pipeline)
{
	GstIterator *it = gst_bin_iterate_sinks(GST_BIN(pipeline));
	GValue v = G_VALUE_INIT;
	GstElement *el = NULL;
	int n = 0;

	while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
		if (n++ == 0)
			el = gst_object_ref(g_value_get_object(&v));
		g_value_reset(&v);
	}
	g_value_unset(&v);
	gst_iterator_free(it);
	if (n != 1 && el) {
		gst_object_unref(el);
		el = NULL;
	}
	return el;
}

/* ---- ops ---- */

static int64_t interval_of(const struct vz_format *f)
{
	if (!f->fps_num || !f->fps_den)
		return 0;
	return (int64_t)gst_util_uint64_scale(f->fps_den, GST_SECOND, f->fps_num);
}

static void free_roots(struct gst_sink *s)
{
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++) {
		for (unsigned p = 0; p < VZ_MAX_PLANES; p++) {
			if (s->root[i][p])
				gst_memory_unref(s->root[i][p]);
			s->root[i][p] = NULL;
			s->fd[i][p] = -1;
		}
	}
	s->nbuf = 0;
}

static int make_roots(struct gst_sink *s, struct vz_err *err)
{
	unsigned n = vz_port_buffer_count(s->port);

	if (n > VZ_MAX_BUFFERS)
		return vz_err_set(err, -EINVAL, "gst: %u buffers, at most %d supported", n,
		                  VZ_MAX_BUFFERS);
	for (unsigned i = 0; i < n; i++) {
		const struct vz_buffer *b = vz_port_buffer(s->port, i);

		if (!b || b->num_mem != s->fmt.num_mem)
			return vz_err_set(err, -EINVAL,
			                  "gst: buffer %u has %u memory planes, the format %u", i,
			                  b ? b->num_mem : 0, s->fmt.num_mem);
		for (unsigned p = 0; p < b->num_mem; p++) {
			const struct vz_mem *m = &b->mem[p];

			if (m->fd_ro < 0)
				return vz_err_set(
				        err, -EINVAL,
				        "gst: buffer %u plane %u has no read-only DMA-buf "
				        "export; the gst sink hands out only read-only fds "
				        "(use --io mmap)",
				        i, p);
			if (m->length < s->layout.mem_size[p])
				return vz_err_set(
				        err, -EINVAL,
				        "gst: buffer %u plane %u is %zu bytes, the format "
				        "needs %zu",
				        i, p, m->length, s->layout.mem_size[p]);
			s->root[i][p] = gst_dmabuf_allocator_alloc_with_flags(
			        s->alloc, m->fd_ro, m->length,
			        GST_FD_MEMORY_FLAG_KEEP_MAPPED | GST_FD_MEMORY_FLAG_DONT_CLOSE);
			if (!s->root[i][p])
				return vz_err_set(err, -ENOMEM,
				                  "gst: cannot wrap DMA-buf fd %d (buffer %u plane "
				                  "%u) in a GstMemory",
				                  m->fd_ro, i, p);
			s->fd[i][p] = m->fd_ro;
		}
		s->slot[i].s = s;
		s->slot[i].frame = NULL;
		atomic_store(&s->slot[i].pending, 0);
		s->nbuf = i + 1;
	}
	return 0;
}

static void reset_counters(struct gst_sink *s)
{
	atomic_store(&s->frames, 0);
	atomic_store(&s->released, 0);
	atomic_store(&s->drops_failure, 0);
	atomic_store(&s->bytes_copied, 0);
	atomic_store(&s->copies, 0);
	atomic_store(&s->seen, 0);
	atomic_store(&s->seen_ok, 0);
	atomic_store(&s->last_seen, 0);
	atomic_store(&s->last_dmabuf, 0);
}

static int gst_start(void *impl, struct vz_sink_port *port, struct vz_err *err)
{
	struct gst_sink *s = impl;
	GstStateChangeReturn sret;
	GstCaps *caps = NULL;
	char fcc[5];
	int ret;

	s->port = port;
	s->fmt = *vz_port_format(port);
	fcc[0] = (char)(s->fmt.fourcc & 0xff);
	fcc[1] = (char)((s->fmt.fourcc >> 8) & 0xff);
	fcc[2] = (char)((s->fmt.fourcc >> 16) & 0xff);
	fcc[3] = (char)((s->fmt.fourcc >> 24) & 0xff);
	fcc[4] = 0;
	s->vformat = gst_format_of(s->fmt.fourcc);
	if (s->vformat == GST_VIDEO_FORMAT_UNKNOWN)
		return vz_err_set(err, -EINVAL,
		                  "gst: pixel format %s has no GStreamer raw video equivalent; "
		                  "capture YUYV, NV12 or an RGB format with -f",
		                  fcc);
	if (vz_gst_layout(&s->fmt, &s->layout) < 0 ||
	    s->layout.n_planes !=
	            GST_VIDEO_FORMAT_INFO_N_PLANES(gst_video_format_get_info(s->vformat)))
		return vz_err_set(err, -EINVAL, "gst: inconsistent plane layout for %s %ux%u", fcc,
		                  s->fmt.width, s->fmt.height);
	memset(s->meta_offset, 0, sizeof(s->meta_offset));
	memset(s->meta_stride, 0, sizeof(s->meta_stride));
	for (unsigned i = 0; i < s->layout.n_planes; i++) {
		s->meta_offset[i] = s->layout.offset[i];
		s->meta_stride[i] = s->layout.stride[i];
	}
	if (vz_gst_caps_from_format(&s->fmt, s->caps_str, sizeof(s->caps_str)) < 0 ||
	    !(caps = caps_of(&s->fmt)))
		return vz_err_set(err, -EINVAL, "gst: cannot express %s %ux%u as GStreamer caps",
		                  fcc, s->fmt.width, s->fmt.height);

	s->interval = interval_of(&s->fmt);
	s->last_pts = GST_CLOCK_TIME_NONE;
	s->first = true;
	reset_counters(s);
	pthread_mutex_lock(&s->lock);
	s->eos = false;
	s->error_code = 0;
	s->error_msg[0] = 0;
	pthread_mutex_unlock(&s->lock);

	ret = make_roots(s, err);
	if (ret < 0)
		goto fail;

	gst_app_src_set_caps(GST_APP_SRC(s->appsrc), caps);
	/* Live: the frames come at the camera's pace and sinks must not wait
	 * for preroll.  The queue is unbounded here on purpose: vzero's
	 * per-sink budget bounds what can be in flight, and an appsrc that
	 * dropped or blocked by itself would hide that from the statistics. */
	g_object_set(s->appsrc, "is-live", TRUE, "format", GST_FORMAT_TIME, "do-timestamp", FALSE,
	             "block", FALSE, "emit-signals", FALSE, NULL);
	gst_app_src_set_stream_type(GST_APP_SRC(s->appsrc), GST_APP_STREAM_TYPE_STREAM);
	gst_app_src_set_max_bytes(GST_APP_SRC(s->appsrc), 0);
	gst_app_src_set_max_buffers(GST_APP_SRC(s->appsrc), 0);
	gst_app_src_set_max_time(GST_APP_SRC(s->appsrc), 0);
	gst_app_src_set_latency(GST_APP_SRC(s->appsrc), s->interval > 0 ? (guint64)s->interval : 0,
	                        GST_CLOCK_TIME_NONE);

	sret = gst_element_set_state(s->pipeline, GST_STATE_READY);
	if (sret == GST_STATE_CHANGE_FAILURE)
		goto state_failed;
	/* A constraint we can see now is better reported before the first
	 * frame than as appsrc's bare "not-negotiated" later. */
	if (find_refuser(s->appsrc, caps, (char[64]){0}, 64, (char[CAPS_SHOWN + 1]){0},
	                 CAPS_SHOWN + 1)) {
		ret = negotiation_error(s, err);
		goto fail;
	}
	sret = gst_element_set_state(s->pipeline, GST_STATE_PLAYING);
	if (sret == GST_STATE_CHANGE_FAILURE)
		goto state_failed;

	{
		GstClock *clock = gst_pipeline_get_clock(GST_PIPELINE(s->pipeline));
		gint type = -1;

		if (clock && GST_IS_SYSTEM_CLOCK(clock))
			g_object_get(clock, "clock-type", &type, NULL);
		s->monotonic_clock = type == GST_CLOCK_TYPE_MONOTONIC;
		if (clock)
			gst_object_unref(clock);
	}

	pthread_mutex_lock(&s->lock);
	if (s->error_code) {
		ret = vz_err_set(err, s->error_code, "%s", s->error_msg);
		pthread_mutex_unlock(&s->lock);
		goto fail;
	}
	s->running = true;
	pthread_mutex_unlock(&s->lock);
	gst_caps_unref(caps);
	return 0;

state_failed:
	pthread_mutex_lock(&s->lock);
	if (s->error_code)
		ret = vz_err_set(err, s->error_code, "%s", s->error_msg);
	else
		ret = vz_err_set(err, -EIO,
		                 "gst: pipeline '%s' failed to start (run it with GST_DEBUG=3 "
		                 "for GStreamer's reason)",
		                 s->description);
	pthread_mutex_unlock(&s->lock);
fail:
	gst_element_set_state(s->pipeline, GST_STATE_NULL);
	free_roots(s);
	if (caps)
		gst_caps_unref(caps);
	return ret;
}

/* Driver time on the pipeline clock, as running time. */
static GstClockTime pts_of(struct gst_sink *s, const struct vz_frame *f)
{
	int64_t t = f->info.t_driver_ns;
	GstClockTime base = gst_element_get_base_time(s->pipeline);
	int64_t offset = 0;
	GstClockTime pts;

	if (!s->monotonic_clock) {
		GstClock *clock = gst_pipeline_get_clock(GST_PIPELINE(s->pipeline));

		if (clock) {
			offset = (int64_t)gst_clock_get_time(clock) - vz_now_ns();
			gst_object_unref(clock);
		}
	}
	/* A driver whose clock is not CLOCK_MONOTONIC (or a test source with
	 * made-up times) is anchored once, at its first frame, to our DQBUF
	 * time: PTS keeps the driver's intervals, only the origin moves. */
	if (s->first) {
		int64_t d = f->info.t_dqbuf_ns - t;

		s->ts_delta = (!f->info.ts_monotonic || d > VZ_NSEC_PER_SEC || d < -VZ_NSEC_PER_SEC)
		                      ? d
		                      : 0;
	}
	t += s->ts_delta + offset;
	pts = (t > 0 && (GstClockTime)t > base) ? (GstClockTime)t - base : 0;
	/* A driver timestamp that jumps back (wrap, device restart) must not
	 * make PTS go backwards: muxers reject that. */
	if (GST_CLOCK_TIME_IS_VALID(s->last_pts) && pts <= s->last_pts)
		pts = s->last_pts + 1;
	s->last_pts = pts;
	return pts;
}

static int gst_push(void *impl, struct vz_frame *f, struct vz_err *err)
{
	struct gst_sink *s = impl;
	unsigned idx = f->info.index;
	GstMemory *extra[VZ_MAX_PLANES] = {NULL};
	struct slot *sl;
	GstFlowReturn fr;
	GstBuffer *b;
	int code = 0;

	pthread_mutex_lock(&s->lock);
	if (s->error_code) {
		code = s->error_code;
		vz_err_set(err, code, "%s", s->error_msg);
	} else if (!s->running) {
		code = vz_err_set(err, -EPIPE, "gst: frame pushed while the sink is stopped");
	}
	pthread_mutex_unlock(&s->lock);
	if (code)
		goto refused;
	if (idx >= s->nbuf) {
		code = vz_err_set(err, -EINVAL, "gst: frame from buffer %u, only %u known", idx,
		                  s->nbuf);
		goto refused;
	}
	sl = &s->slot[idx];
	if (sl->frame) {
		code = vz_err_set(err, -EBUSY, "gst: buffer %u pushed again before its release",
		                  idx);
		goto refused;
	}

	b = gst_buffer_new();
	for (unsigned p = 0; p < s->layout.n_mem; p++) {
		GstMemory *child =
		        gst_memory_share(s->root[idx][p], 0, (gssize)s->layout.mem_size[p]);

		gst_mini_object_weak_ref(GST_MINI_OBJECT_CAST(child), on_child_gone, sl);
		/* Our own reference keeps the release from firing before we know
		 * whether appsrc took the buffer. */
		extra[p] = gst_memory_ref(child);
		gst_buffer_append_memory(b, child);
	}
	atomic_store(&sl->pending, s->layout.n_mem);
	sl->frame = f;
	gst_buffer_add_video_meta_full(b, GST_VIDEO_FRAME_FLAG_NONE, s->vformat, s->fmt.width,
	                               s->fmt.height, s->layout.n_planes, s->meta_offset,
	                               s->meta_stride);
	GST_BUFFER_PTS(b) = pts_of(s, f);
	GST_BUFFER_DTS(b) = GST_CLOCK_TIME_NONE;
	GST_BUFFER_DURATION(b) = s->interval > 0 ? (GstClockTime)s->interval : GST_CLOCK_TIME_NONE;
	GST_BUFFER_OFFSET(b) = f->info.sequence;
	if (s->first || f->info.gap)
		GST_BUFFER_FLAG_SET(b, GST_BUFFER_FLAG_DISCONT);
	s->first = false;

	fr = gst_app_src_push_buffer(GST_APP_SRC(s->appsrc), b);
	if (fr != GST_FLOW_OK) {
		sl->frame = NULL;
		for (unsigned p = 0; p < s->layout.n_mem; p++)
			gst_memory_unref(extra[p]);
		code = vz_err_set(err, -EPIPE, "gst: appsrc refused frame %" PRIu64 ": %s", f->id,
		                  gst_flow_get_name(fr));
		goto refused;
	}
	atomic_fetch_add(&s->frames, 1);
	for (unsigned p = 0; p < s->layout.n_mem; p++)
		gst_memory_unref(extra[p]);
	return 0;

refused:
	/* The pipeline counts refused pushes as sink failures itself. */
	return code;
}

static bool outstanding(struct gst_sink *s)
{
	return atomic_load(&s->released) < atomic_load(&s->frames);
}

/* Waits on s->cond until @done or @deadline (CLOCK_REALTIME for the cond). */
static void wait_until(struct gst_sink *s, bool (*done)(struct gst_sink *), int64_t deadline_mono)
{
	pthread_mutex_lock(&s->lock);
	while (!done(s)) {
		int64_t left = deadline_mono - vz_now_ns();
		struct timespec ts;

		if (left <= 0)
			break;
		/* Short slices: releases signal without the lock held by the
		 * notifier's caller, and a slice bounds any missed wake-up. */
		if (left > 50 * VZ_NSEC_PER_MSEC)
			left = 50 * VZ_NSEC_PER_MSEC;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += left;
		ts.tv_sec += ts.tv_nsec / VZ_NSEC_PER_SEC;
		ts.tv_nsec %= VZ_NSEC_PER_SEC;
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	pthread_mutex_unlock(&s->lock);
}

static bool eos_or_error(struct gst_sink *s)
{
	return s->eos || s->error_code;
}

static bool all_released(struct gst_sink *s)
{
	return !outstanding(s);
}

static int gst_stop(void *impl, int64_t timeout_ns, struct vz_err *err)
{
	struct gst_sink *s = impl;
	int64_t budget = timeout_ns > 0 ? timeout_ns : 5 * VZ_NSEC_PER_SEC;
	int64_t deadline = vz_now_ns() + budget;
	bool was_running, eos;
	uint64_t held;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	was_running = s->running;
	s->running = false;
	pthread_mutex_unlock(&s->lock);
	if (!s->nbuf && !was_running)
		return 0;

	if (was_running) {
		/* Muxers finish their files on EOS, so it must travel the whole
		 * pipeline before we tear it down. */
		gst_app_src_end_of_stream(GST_APP_SRC(s->appsrc));
		wait_until(s, eos_or_error, deadline);
	}
	pthread_mutex_lock(&s->lock);
	eos = s->eos;
	if (s->error_code)
		ret = vz_err_set(err, s->error_code, "%s", s->error_msg);
	pthread_mutex_unlock(&s->lock);
	if (was_running && !eos && !ret)
		ret = vz_err_set(err, -ETIMEDOUT,
		                 "gst: end-of-stream did not get through '%s' within %.1f s; "
		                 "files it writes may be incomplete",
		                 s->description, (double)budget / 1e9);

	/* Drops whatever the elements still queue: their buffers die and
	 * release their frames, from this thread. */
	gst_element_set_state(s->pipeline, GST_STATE_NULL);
	wait_until(s, all_released, deadline);
	held = atomic_load(&s->frames) - atomic_load(&s->released);
	/* Accepted but never out of appsrc: flushed after an error or a
	 * missing EOS.  The pipeline can't see these, so we count them. */
	atomic_store(&s->drops_failure, atomic_load(&s->frames) - atomic_load(&s->seen));
	if (held && !ret)
		ret = vz_err_set(err, -ETIMEDOUT,
		                 "gst: %" PRIu64 " frames still referenced after the pipeline "
		                 "stopped (an element leaks buffers)",
		                 held);
	if (!held)
		free_roots(s);
	/* else: the roots stay: a leaked child still points at them, and
	 * destroy() drops them last. */
	return ret;
}

static void gst_get_stats(void *impl, struct vz_sink_stats *out)
{
	struct gst_sink *s = impl;
	uint64_t seen = atomic_load(&s->seen), ok = atomic_load(&s->seen_ok);
	uint64_t lseen = atomic_load(&s->last_seen), ldma = atomic_load(&s->last_dmabuf);
	int n;

	memset(out, 0, sizeof(*out));
	out->frames = atomic_load(&s->frames);
	out->released = atomic_load(&s->released);
	out->drops_failure = atomic_load(&s->drops_failure);
	out->bytes_copied = atomic_load(&s->bytes_copied);
	out->copies = atomic_load(&s->copies);
	n = snprintf(out->proof, sizeof(out->proof),
	             "appsrc src pad saw vzero's DMA-buf fds in %" PRIu64 "/%" PRIu64
	             " buffers, %" PRIu64 " copies",
	             ok, seen, out->copies);
	if (n < 0 || (size_t)n >= sizeof(out->proof) || !s->last || !lseen)
		return;
	/* GStreamer's own conversions are not vzero copies: the frame left
	 * vzero intact; say what happened downstream for information. */
	if (ldma == lseen)
		snprintf(out->proof + n, sizeof(out->proof) - (size_t)n,
		         "; %s received the DMA-buf itself in %" PRIu64 "/%" PRIu64, s->last_name,
		         ldma, lseen);
	else
		snprintf(out->proof + n, sizeof(out->proof) - (size_t)n,
		         "; %s got %" PRIu64 "/%" PRIu64
		         " buffers GStreamer made itself (converted/encoded downstream, not a "
		         "vzero copy)",
		         s->last_name, lseen - ldma, lseen);
}

static void gst_destroy(void *impl)
{
	struct gst_sink *s = impl;

	if (!s)
		return;
	if (s->pipeline) {
		GstBus *bus = gst_element_get_bus(s->pipeline);

		gst_element_set_state(s->pipeline, GST_STATE_NULL);
		if (bus) {
			gst_bus_set_sync_handler(bus, NULL, NULL, NULL);
			gst_object_unref(bus);
		}
	}
	if (s->last)
		gst_object_unref(s->last);
	if (s->appsrc)
		gst_object_unref(s->appsrc);
	if (s->pipeline)
		gst_object_unref(s->pipeline);
	free_roots(s);
	if (s->alloc)
		gst_object_unref(s->alloc);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s->description);
	free(s);
}

static const struct vz_sink_ops gst_ops = {
        .kind = "gst",
        .start = gst_start,
        .push = gst_push,
        .stop = gst_stop,
        .get_stats = gst_get_stats,
        .destroy = gst_destroy,
};

static int parse_error(const char *description, GError *e, struct vz_err *err)
{
	if (e && e->domain == GST_PARSE_ERROR && e->code == GST_PARSE_ERROR_NO_SUCH_ELEMENT)
		return vz_err_set(err, -ENOENT,
		                  "gst: %s in '%s' (is the plugin installed? gst-inspect-1.0 lists "
		                  "the elements this machine has)",
		                  e->message, description);
	return vz_err_set(err, -EINVAL, "gst: cannot parse '%s': %s", description,
	                  e ? e->message : "unknown error");
}

int vz_sink_gst_create(const char *description, struct vz_sink *out, struct vz_err *err)
{
	struct gst_sink *s = NULL;
	GError *e = NULL;
	GstPad *pad = NULL;
	GstBus *bus;
	char *launch = NULL;
	size_t n;
	int ret;

	if (!out)
		return vz_err_set(err, -EINVAL, "gst: no sink to fill");
	memset(out, 0, sizeof(*out));
	while (description && (*description == ' ' || *description == '\t'))
		description++;
	if (!description || !*description)
		return vz_err_set(err, -EINVAL,
		                  "gst: empty pipeline description (try gst:\"fakesink\")");
	ensure_gst_init();

	s = calloc(1, sizeof(*s));
	if (!s)
		return vz_err_set(err, -ENOMEM, "gst: out of memory");
	pthread_mutex_init(&s->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_cond_init(&s->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++)
		for (unsigned p = 0; p < VZ_MAX_PLANES; p++)
			s->fd[i][p] = -1;
	s->description = strdup(description);
	n = strlen(description) + sizeof("appsrc name=" SRC_NAME " ! ");
	launch = malloc(n);
	if (!s->description || !launch) {
		ret = vz_err_set(err, -ENOMEM, "gst: out of memory");
		goto fail;
	}
	snprintf(launch, n, "appsrc name=" SRC_NAME " ! %s", description);

	s->pipeline = gst_parse_launch_full(launch, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &e);
	if (!s->pipeline || e) {
		ret = parse_error(description, e, err);
		goto fail;
	}
	if (!GST_IS_PIPELINE(s->pipeline)) {
		/* A single element comes back bare; appsrc ! x never does, but
		 * be sure we can get a bus and a clock. */
		ret = vz_err_set(err, -EINVAL, "gst: '%s' did not make a pipeline", description);
		goto fail;
	}
	s->appsrc = gst_bin_get_by_name(GST_BIN(s->pipeline), SRC_NAME);
	if (!s->appsrc || !GST_IS_APP_SRC(s->appsrc)) {
		ret = vz_err_set(err, -EINVAL,
		                 "gst: '%s' names an element '" SRC_NAME "': vzero needs that name "
		                 "for its appsrc",
		                 description);
		goto fail;
	}
	pad = gst_element_get_static_pad(s->appsrc, "src");
	if (!pad || !gst_pad_is_linked(pad)) {
		ret = vz_err_set(err, -EINVAL,
		                 "gst: '%s' does not start with an element appsrc "
		                 "can link to",
		                 description);
		goto fail;
	}
	s->src_probe = gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_src_buffer, s, NULL);
	gst_object_unref(pad);
	pad = NULL;

	s->last = single_sink(s->pipeline);
	if (s->last && s->last != s->appsrc) {
		pad = gst_element_get_static_pad(s->last, "sink");
		if (pad)
			s->last_probe = gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER,
			                                  on_last_buffer, s, NULL);
		one_line(s->last_name, sizeof(s->last_name), GST_ELEMENT_NAME(s->last), 63);
		if (pad)
			gst_object_unref(pad);
		pad = NULL;
	}

	s->alloc = gst_dmabuf_allocator_new();
	if (!s->alloc) {
		ret = vz_err_set(err, -ENOMEM, "gst: no DMA-buf allocator");
		goto fail;
	}
	bus = gst_element_get_bus(s->pipeline);
	gst_bus_set_sync_handler(bus, on_bus, s, NULL);
	gst_object_unref(bus);

	out->ops = &gst_ops;
	out->impl = s;
	/* "gst:" + the first element's name, as reports show it. */
	{
		size_t w = strcspn(description, " \t!");

		snprintf(out->name, sizeof(out->name), "gst:%.*s", (int)(w > 59 ? 59 : w),
		         description);
	}
	free(launch);
	return 0;

fail:
	if (pad)
		gst_object_unref(pad);
	g_clear_error(&e);
	free(launch);
	gst_destroy(s);
	return ret;
}
