/* SPDX-License-Identifier: MIT */
/*
 * Where GStreamer copies vzero's frames, element by element, and why.
 *
 * Every element downstream of appsrc is watched:
 *  - on its sink pads, whether the buffer coming in is still vzero's memory
 *    (gst-memory.c knows its roots), and which streaming thread carries it;
 *  - on its src pads, what comes out of it.  Out of an element whose input
 *    was vzero's: vzero's memory again is passthrough (queue, tee,
 *    capsfilter, identity: nothing to count); new memory in the same format
 *    and size is a COPY (an in-place filter made the read-only frame
 *    writable, or it copied into its own pool); new memory in another
 *    format is a conversion (videoconvert, an encoder), reported as such.
 *  - Sink elements have no src pad: what they copy is seen in GStreamer's
 *    own GST_PERFORMANCE debug category (_fallback_mem_copy's "memcpy N",
 *    v4l2's "copying buffer"), attributed to the element whose sink pad the
 *    logging thread last carried a buffer through.  Filters' copies are
 *    logged there too and counted once, at their src pad.
 *
 * GStreamer's debug log is process-wide: to hear GST_PERFORMANCE, its
 * threshold is raised once per process, and GStreamer's default handler is
 * replaced by one that prints those lines only at the level the user asked
 * for (GST_DEBUG), so nothing new appears on anybody's stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gst-internal.h"

/* ---- the process's GST_PERFORMANCE hook ---- */

/* Written once, under perf_once; read-only after. */
static GstDebugCategory *perf_cat;
static GstDebugLevel user_perf_level;
static pthread_once_t perf_once = PTHREAD_ONCE_INIT;

static void filtered_default_log(GstDebugCategory *cat, GstDebugLevel level, const gchar *file,
                                 const gchar *function, gint line, GObject *object,
                                 GstDebugMessage *message, gpointer data)
{
	if (cat == perf_cat && level > user_perf_level)
		return;
	gst_debug_log_default(cat, level, file, function, line, object, message, data);
}

static void perf_install(void)
{
	perf_cat = _gst_debug_get_category("GST_PERFORMANCE");
	if (!perf_cat)
		return;
	user_perf_level = gst_debug_category_get_threshold(perf_cat);
	gst_debug_remove_log_function(gst_debug_log_default);
	gst_debug_add_log_function(filtered_default_log, NULL, NULL);
	if (user_perf_level < GST_LEVEL_LOG)
		gst_debug_category_set_threshold(perf_cat, GST_LEVEL_LOG);
}

/* ---- sites ---- */

static struct vz_copy_site *site_of(struct gst_sink *s, struct gst_watch *w, bool conversion,
                                    const char *reason)
{
	for (unsigned i = 0; i < s->nsites; i++)
		if (s->site[i].watch == w && s->site[i].pub.conversion == conversion &&
		    !strcmp(s->site[i].pub.reason, reason))
			return &s->site[i].pub;
	if (s->nsites == VZ_SINK_MAX_COPY_SITES)
		return &s->site[VZ_SINK_MAX_COPY_SITES - 1].pub; /* the last one takes the rest */
	struct gst_site *st = &s->site[s->nsites++];
	st->watch = w;
	snprintf(st->pub.element, sizeof(st->pub.element), "%s", w->name);
	snprintf(st->pub.reason, sizeof(st->pub.reason), "%s", reason);
	st->pub.conversion = conversion;
	return &st->pub;
}

static void count(struct gst_sink *s, struct gst_watch *w, bool conversion, const char *reason,
                  uint64_t bytes)
{
	pthread_mutex_lock(&s->copy_lock);
	struct vz_copy_site *cs = site_of(s, w, conversion, reason);
	cs->events++;
	cs->bytes += bytes;
	if (!conversion) {
		atomic_fetch_add(&s->copies, 1);
		atomic_fetch_add(&s->bytes_copied, bytes);
	}
	pthread_mutex_unlock(&s->copy_lock);
}

/* ---- which element a streaming thread is in ---- */

static void thread_enters(struct gst_sink *s, struct gst_watch *w)
{
	pthread_t self = pthread_self();
	pthread_mutex_lock(&s->copy_lock);
	unsigned free_slot = VZ_GST_MAX_THREADS;
	for (unsigned i = 0; i < VZ_GST_MAX_THREADS; i++) {
		if (s->thread[i].w && pthread_equal(s->thread[i].id, self)) {
			s->thread[i].w = w;
			pthread_mutex_unlock(&s->copy_lock);
			return;
		}
		if (!s->thread[i].w && free_slot == VZ_GST_MAX_THREADS)
			free_slot = i;
	}
	if (free_slot < VZ_GST_MAX_THREADS) {
		s->thread[free_slot].id = self;
		s->thread[free_slot].w = w;
	}
	pthread_mutex_unlock(&s->copy_lock);
}

static struct gst_watch *thread_element(struct gst_sink *s)
{
	pthread_t self = pthread_self();
	struct gst_watch *w = NULL;
	pthread_mutex_lock(&s->copy_lock);
	for (unsigned i = 0; i < VZ_GST_MAX_THREADS && !w; i++)
		if (s->thread[i].w && pthread_equal(s->thread[i].id, self))
			w = s->thread[i].w;
	pthread_mutex_unlock(&s->copy_lock);
	return w;
}

static void on_log(GstDebugCategory *cat, GstDebugLevel level, const gchar *file,
                   const gchar *function, gint line, GObject *object, GstDebugMessage *message,
                   gpointer data)
{
	struct gst_sink *s = data;
	(void)level;
	(void)file;
	(void)line;
	(void)object;
	if (cat != perf_cat)
		return;
	struct gst_watch *w = thread_element(s);
	if (!w || !atomic_load(&w->in_ours))
		return;
	const gchar *m = gst_debug_message_get(message);
	const char *mc = m ? strstr(m, "memcpy ") : NULL;
	uint64_t bytes = mc ? strtoull(mc + 7, NULL, 10) : atomic_load(&w->in_size);
	/* A GstBuffer made writable is a new header sharing the memories,
	 * not a copy of the picture. */
	if (function && strstr(function, "mini_object_make_writable"))
		return;
	if (!w->is_sink) {
		/* Counted at its src pad, where the copy comes out; the log only
		 * says how it happened. */
		atomic_store(&w->perf_seen, true);
		return;
	}
	/* One buffer in, one copy: elements log a copy at several levels
	 * (the pool, the frame, each plane). */
	if (atomic_exchange(&w->perf_seen, true))
		return;
	bytes = atomic_load(&w->in_size);
	char reason[96];
	snprintf(reason, sizeof(reason), "copied vzero's memory inside the sink (GStreamer: %.40s)",
	         function ? function : "?");
	count(s, w, false, reason, bytes);
}

/* ---- probes ---- */

static bool all_ours(struct gst_sink *s, GstBuffer *b)
{
	unsigned n = gst_buffer_n_memory(b);
	for (unsigned i = 0; i < n; i++)
		if (!vz_gst_memory_is_ours(s, gst_buffer_peek_memory(b, i)))
			return false;
	return n > 0;
}

static GstPadProbeReturn on_sink_pad(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct gst_watch *w = data;
	GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
	(void)pad;
	if (!b)
		return GST_PAD_PROBE_OK;
	bool ours = all_ours(w->s, b);
	atomic_store(&w->in_ours, ours);
	atomic_store(&w->in_size, gst_buffer_get_size(b));
	atomic_fetch_add(&w->in_count, 1);
	if (ours)
		atomic_fetch_add(&w->in_ours_count, 1);
	atomic_store(&w->perf_seen, false);
	thread_enters(w->s, w);
	return GST_PAD_PROBE_OK;
}

/* Same format and size on both sides: a copy.  Anything else: a conversion. */
static bool same_video(GstCaps *a, GstCaps *b)
{
	GstVideoInfo va, vb;
	if (!a || !b || !gst_video_info_from_caps(&va, a) || !gst_video_info_from_caps(&vb, b))
		return false;
	return GST_VIDEO_INFO_FORMAT(&va) == GST_VIDEO_INFO_FORMAT(&vb) &&
	       GST_VIDEO_INFO_WIDTH(&va) == GST_VIDEO_INFO_WIDTH(&vb) &&
	       GST_VIDEO_INFO_HEIGHT(&va) == GST_VIDEO_INFO_HEIGHT(&vb);
}

static GstPadProbeReturn on_src_pad(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct gst_watch *w = data;
	struct gst_sink *s = w->s;
	GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
	if (!b || !atomic_load(&w->in_ours) || all_ours(s, b))
		return GST_PAD_PROBE_OK; /* not vzero's to begin with, or passed through */
	GstCaps *out = gst_pad_get_current_caps(pad);
	GstCaps *in = w->sinkpad ? gst_pad_get_current_caps(w->sinkpad) : NULL;
	uint64_t bytes = gst_buffer_get_size(b);
	if (same_video(in, out)) {
		count(s, w, false,
		      atomic_load(&w->perf_seen)
		              ? "made the frame writable: GStreamer copied vzero's read-only memory"
		              : "copied the frame into its own memory (same format and size)",
		      bytes);
	} else {
		char reason[96];
		GstVideoInfo vi;
		if (out && gst_video_info_from_caps(&vi, out) &&
		    GST_VIDEO_INFO_FORMAT(&vi) != GST_VIDEO_FORMAT_ENCODED)
			snprintf(reason, sizeof(reason), "converts to %s %dx%d",
			         gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&vi)),
			         GST_VIDEO_INFO_WIDTH(&vi), GST_VIDEO_INFO_HEIGHT(&vi));
		else
			snprintf(reason, sizeof(reason), "encodes to %.60s",
			         out ? gst_structure_get_name(gst_caps_get_structure(out, 0))
			             : "?");
		count(s, w, true, reason, bytes);
	}
	if (in)
		gst_caps_unref(in);
	if (out)
		gst_caps_unref(out);
	return GST_PAD_PROBE_OK;
}

/* ---- set-up ---- */

static GstPad *first_pad(GstElement *el, bool src)
{
	GstIterator *it =
	        src ? gst_element_iterate_src_pads(el) : gst_element_iterate_sink_pads(el);
	GValue v = G_VALUE_INIT;
	GstPad *pad = NULL;
	if (gst_iterator_next(it, &v) == GST_ITERATOR_OK)
		pad = gst_object_ref(g_value_get_object(&v));
	g_value_unset(&v);
	gst_iterator_free(it);
	return pad;
}

static void watch_pads(struct gst_watch *w, bool src)
{
	GstIterator *it =
	        src ? gst_element_iterate_src_pads(w->el) : gst_element_iterate_sink_pads(w->el);
	GValue v = G_VALUE_INIT;
	while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
		GstPad *pad = g_value_get_object(&v);
		gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, src ? on_src_pad : on_sink_pad, w,
		                  NULL);
		if (src)
			w->has_src = true;
		g_value_reset(&v);
	}
	g_value_unset(&v);
	gst_iterator_free(it);
}

int vz_gst_copies_watch(struct gst_sink *s, struct vz_err *err)
{
	pthread_once(&perf_once, perf_install);
	GstIterator *it = gst_bin_iterate_recurse(GST_BIN(s->pipeline));
	GValue v = G_VALUE_INIT;
	int ret = 0;
	while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
		GstElement *el = g_value_get_object(&v);
		if (el != s->appsrc && !GST_IS_BIN(el)) {
			if (s->nwatch == VZ_GST_MAX_WATCH) {
				ret = vz_err_set(
				        err, -E2BIG,
				        "gst: more than %d elements: vzero cannot follow its "
				        "frames through them all",
				        VZ_GST_MAX_WATCH);
				g_value_reset(&v);
				break;
			}
			struct gst_watch *w = &s->watch[s->nwatch++];
			w->s = s;
			w->el = el;
			vz_gst_one_line(w->name, sizeof(w->name), GST_ELEMENT_NAME(el),
			                sizeof(w->name) - 1);
			w->sinkpad = first_pad(el, false);
			watch_pads(w, false);
			watch_pads(w, true);
			w->is_sink = !w->has_src;
		}
		g_value_reset(&v);
	}
	g_value_unset(&v);
	gst_iterator_free(it);
	if (ret == 0)
		gst_debug_add_log_function(on_log, s, NULL);
	s->log_hooked = ret == 0;
	return ret;
}

void vz_gst_copies_unwatch(struct gst_sink *s)
{
	if (s->log_hooked)
		gst_debug_remove_log_function_by_data(s);
	s->log_hooked = false;
	for (unsigned i = 0; i < s->nwatch; i++)
		if (s->watch[i].sinkpad)
			gst_object_unref(s->watch[i].sinkpad);
	s->nwatch = 0;
}

void vz_gst_copies_stats(struct gst_sink *s, struct vz_sink_stats *out)
{
	uint64_t copied = 0;
	const char *worst = NULL;
	pthread_mutex_lock(&s->copy_lock);
	out->nsites = s->nsites;
	for (unsigned i = 0; i < s->nsites; i++) {
		out->site[i] = s->site[i].pub;
		if (!s->site[i].pub.conversion && s->site[i].pub.bytes > copied) {
			copied = s->site[i].pub.bytes;
			worst = s->site[i].pub.element;
		}
	}
	pthread_mutex_unlock(&s->copy_lock);
	if (worst)
		snprintf(out->advice, sizeof(out->advice),
		         "%s copies vzero's frames: do in-place work in vzero's --process stage, "
		         "where the frame is writable, or convert first (videoconvert) so the "
		         "copy is at least a conversion you need",
		         worst);
}
