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
 * GStreamer's debug log is one per process, and so is what listens to it
 * here (the one exception to "no global state", forced by GStreamer):
 *  - one log function, installed once and never removed: GStreamer walks
 *    its handler list without a lock, so removing one per sink could pull it
 *    from under a thread that is logging;
 *  - one table of which watched element each streaming thread is in:
 *    threads come from process-wide pools and move between pipelines, so a
 *    table per sink would credit one sink's copy to another's element.
 * GST_PERFORMANCE's threshold is raised to LOG for this.  Where GStreamer
 * logs to stderr, its default handler is replaced by one that prints those
 * lines only at the level the user asked for (GST_DEBUG), so nothing new
 * appears on stderr.  With GST_DEBUG_FILE set, GStreamer's handler writes
 * to a file vzero cannot reopen (its name may hold %p, %r), so it is left
 * alone: that file gets the GST_PERFORMANCE lines too, stderr nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gst-internal.h"

/* ---- the process's GST_PERFORMANCE hook ---- */

#define PERF_THREADS 64

static struct {
	pthread_mutex_t lock; /* the table; held while a log line is counted */
	struct {
		pthread_t id;
		struct gst_watch *w; /* NULL: a free slot */
	} thread[PERF_THREADS];
	unsigned evict; /* next slot to reuse when all are taken */
	/* written once, under perf_once; read-only after */
	GstDebugCategory *cat;
	GstDebugLevel user_level;
} perf = {.lock = PTHREAD_MUTEX_INITIALIZER};
static pthread_once_t perf_once = PTHREAD_ONCE_INIT;

static void filtered_default_log(GstDebugCategory *cat, GstDebugLevel level, const gchar *file,
                                 const gchar *function, gint line, GObject *object,
                                 GstDebugMessage *message, gpointer data)
{
	if (cat == perf.cat && level > perf.user_level)
		return;
	gst_debug_log_default(cat, level, file, function, line, object, message, data);
}

static void on_log(GstDebugCategory *cat, GstDebugLevel level, const gchar *file,
                   const gchar *function, gint line, GObject *object, GstDebugMessage *message,
                   gpointer data);

static void perf_install(void)
{
	perf.cat = _gst_debug_get_category("GST_PERFORMANCE");
	if (!perf.cat)
		return;
	perf.user_level = gst_debug_category_get_threshold(perf.cat);
	const char *file = getenv("GST_DEBUG_FILE");
	if (!(file && *file)) {
		/* A statement of its own: GStreamer's macro for this is a bare
		 * ?: that would swallow any operator written around it. */
		guint removed = gst_debug_remove_log_function(gst_debug_log_default);
		if (removed > 0)
			gst_debug_add_log_function(filtered_default_log, NULL, NULL);
	}
	gst_debug_add_log_function(on_log, NULL, NULL);
	if (perf.user_level < GST_LEVEL_LOG)
		gst_debug_category_set_threshold(perf.cat, GST_LEVEL_LOG);
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
		return &s->site[VZ_SINK_MAX_COPY_SITES - 1].pub;
	struct gst_site *st = &s->site[s->nsites++];
	if (s->nsites == VZ_SINK_MAX_COPY_SITES) {
		/* The last one takes the rest, under a name that says so rather
		 * than blaming whichever element came last. */
		st->watch = NULL;
		snprintf(st->pub.element, sizeof(st->pub.element), "(other elements)");
		snprintf(st->pub.reason, sizeof(st->pub.reason),
		         "more copy sites than vzero lists one by one");
		st->pub.conversion = false;
		return &st->pub;
	}
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

static void thread_enters(struct gst_watch *w)
{
	pthread_t self = pthread_self();
	pthread_mutex_lock(&perf.lock);
	unsigned slot = PERF_THREADS;
	for (unsigned i = 0; i < PERF_THREADS; i++) {
		if (perf.thread[i].w && pthread_equal(perf.thread[i].id, self)) {
			slot = i;
			break;
		}
		if (!perf.thread[i].w && slot == PERF_THREADS)
			slot = i;
	}
	if (slot == PERF_THREADS)
		slot = perf.evict++ % PERF_THREADS;
	perf.thread[slot].id = self;
	perf.thread[slot].w = w;
	pthread_mutex_unlock(&perf.lock);
}

/* Under perf.lock. */
static struct gst_watch *thread_element(void)
{
	pthread_t self = pthread_self();
	for (unsigned i = 0; i < PERF_THREADS; i++)
		if (perf.thread[i].w && pthread_equal(perf.thread[i].id, self))
			return perf.thread[i].w;
	return NULL;
}

/* A log line about a copy, from the thread's current element. */
static void perf_line(struct gst_watch *w, const gchar *function)
{
	struct gst_sink *s = w->s;
	if (!atomic_load(&w->in_ours))
		return;
	/* A GstBuffer made writable is a new header sharing the memories,
	 * not a copy of the picture. */
	if (function && strstr(function, "mini_object_make_writable"))
		return;
	if (!atomic_load(&w->is_sink)) {
		/* Counted at its src pad, where the copy comes out; the log only
		 * says how it happened. */
		atomic_store(&w->perf_seen, true);
		return;
	}
	/* One buffer in, one copy: elements log a copy at several levels
	 * (the pool, the frame, each plane). */
	if (atomic_exchange(&w->perf_seen, true))
		return;
	char reason[96];
	snprintf(reason, sizeof(reason), "copied vzero's memory inside the sink (GStreamer: %.40s)",
	         function ? function : "?");
	count(s, w, false, reason, atomic_load(&w->in_size));
}

static void on_log(GstDebugCategory *cat, GstDebugLevel level, const gchar *file,
                   const gchar *function, gint line, GObject *object, GstDebugMessage *message,
                   gpointer data)
{
	(void)level;
	(void)file;
	(void)line;
	(void)object;
	(void)message;
	(void)data;
	if (cat != perf.cat)
		return;
	/* Held throughout: a sink's unwatch waits for this to be done. */
	pthread_mutex_lock(&perf.lock);
	struct gst_watch *w = thread_element();
	if (w)
		perf_line(w, function);
	pthread_mutex_unlock(&perf.lock);
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
	thread_enters(w);
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

static void watch_pad(struct gst_watch *w, GstPad *pad)
{
	bool src = gst_pad_get_direction(pad) == GST_PAD_SRC;
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, src ? on_src_pad : on_sink_pad, w, NULL);
	if (src) {
		/* a demuxer's or decoder's first src pad may come late */
		atomic_store(&w->has_src, true);
		atomic_store(&w->is_sink, false);
	}
}

static void watch_pads(struct gst_watch *w, bool src)
{
	GstIterator *it =
	        src ? gst_element_iterate_src_pads(w->el) : gst_element_iterate_sink_pads(w->el);
	GValue v = G_VALUE_INIT;
	while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
		watch_pad(w, g_value_get_object(&v));
		g_value_reset(&v);
	}
	g_value_unset(&v);
	gst_iterator_free(it);
}

static void on_pad_added(GstElement *el, GstPad *pad, gpointer data)
{
	struct gst_watch *w = data;
	(void)el;
	watch_pad(w, pad);
}

/* Under copy_lock.  False when the table is full. */
static bool watch_element(struct gst_sink *s, GstElement *el)
{
	if (el == s->appsrc || GST_IS_BIN(el))
		return true; /* bins only hold; their children are watched */
	for (unsigned i = 0; i < s->nwatch; i++)
		if (s->watch[i].el == el)
			return true;
	if (s->nwatch == VZ_GST_MAX_WATCH)
		return false;
	struct gst_watch *w = &s->watch[s->nwatch];
	w->s = s;
	w->el = gst_object_ref(el); /* its signals are disconnected at unwatch */
	vz_gst_one_line(w->name, sizeof(w->name), GST_ELEMENT_NAME(el), sizeof(w->name) - 1);
	w->sinkpad = first_pad(el, false);
	atomic_store(&w->is_sink, true);
	watch_pads(w, false);
	watch_pads(w, true);
	g_signal_connect(el, "pad-added", G_CALLBACK(on_pad_added), w);
	s->nwatch++;
	return true;
}

/* Bins that make their children late -- autovideosink swaps its
 * placeholder for the real sink at READY, decodebin plugs as it goes --
 * are followed as they do. */
static void on_deep_added(GstBin *bin, GstBin *sub, GstElement *el, gpointer data)
{
	struct gst_sink *s = data;
	(void)bin;
	(void)sub;
	pthread_mutex_lock(&s->copy_lock);
	unsigned before = s->nwatch;
	if (!watch_element(s, el))
		s->watch_overflow = true;
	else if (s->nwatch > before)
		s->watch[before].late = true;
	pthread_mutex_unlock(&s->copy_lock);
}

static void on_deep_removed(GstBin *bin, GstBin *sub, GstElement *el, gpointer data)
{
	struct gst_sink *s = data;
	(void)bin;
	(void)sub;
	pthread_mutex_lock(&s->copy_lock);
	for (unsigned i = 0; i < s->nwatch; i++)
		if (s->watch[i].el == el)
			atomic_store(&s->watch[i].removed, true);
	pthread_mutex_unlock(&s->copy_lock);
}

int vz_gst_copies_watch(struct gst_sink *s, struct vz_err *err)
{
	pthread_once(&perf_once, perf_install);
	GstIterator *it = gst_bin_iterate_recurse(GST_BIN(s->pipeline));
	GValue v = G_VALUE_INIT;
	int ret = 0;
	pthread_mutex_lock(&s->copy_lock);
	while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
		bool ok = watch_element(s, g_value_get_object(&v));
		g_value_reset(&v);
		if (!ok) {
			ret = vz_err_set(err, -E2BIG,
			                 "gst: more than %d elements: vzero cannot follow its "
			                 "frames through them all",
			                 VZ_GST_MAX_WATCH);
			break;
		}
	}
	pthread_mutex_unlock(&s->copy_lock);
	g_value_unset(&v);
	gst_iterator_free(it);
	g_signal_connect(s->pipeline, "deep-element-added", G_CALLBACK(on_deep_added), s);
	g_signal_connect(s->pipeline, "deep-element-removed", G_CALLBACK(on_deep_removed), s);
	return ret;
}

void vz_gst_copies_unwatch(struct gst_sink *s)
{
	pthread_mutex_lock(&perf.lock);
	for (unsigned i = 0; i < PERF_THREADS; i++)
		if (perf.thread[i].w && perf.thread[i].w->s == s)
			perf.thread[i].w = NULL;
	pthread_mutex_unlock(&perf.lock);
	if (s->pipeline)
		g_signal_handlers_disconnect_by_data(s->pipeline, s);
	pthread_mutex_lock(&s->copy_lock);
	for (unsigned i = 0; i < s->nwatch; i++) {
		struct gst_watch *w = &s->watch[i];
		g_signal_handlers_disconnect_by_data(w->el, w);
		gst_object_unref(w->el);
		if (w->sinkpad)
			gst_object_unref(w->sinkpad);
	}
	s->nwatch = 0;
	pthread_mutex_unlock(&s->copy_lock);
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
