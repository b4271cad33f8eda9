/* SPDX-License-Identifier: MIT */
/*
 * The GStreamer sink's life: appsrc ! <user description>, fed with the
 * frames' read-only DMA-bufs (gst-memory.c), kept running across buffer-set
 * changes, stopped without blocking the loop.  See include/vzero/sink-gst.h.
 *
 * Buffer-set changes.  The pipeline keeps running: the new set gets its own
 * GstMemory roots (older sets keep theirs until their last frame is
 * released).  Same format (a reconnect): the next buffer is DISCONT and its
 * timestamp shows the hole, so one recording spans the whole run.  A new
 * format: appsrc sends new caps; an element that cannot take them (a muxer
 * that wrote its header) fails negotiation, GStreamer pushes EOS behind the
 * error so the file is finalised, and this sink's stream ends cleanly
 * (vz_port_ended): the other sinks go on.
 *
 * Stopping.  stop() sends EOS and returns; the EOS (or an error) arriving on
 * the bus wakes the loop, which sets the pipeline to NULL -- that drops
 * whatever elements still queue, releasing their frames from the loop
 * thread -- and tells the port it stopped.  A deadline bounds the wait.
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
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "gst-internal.h"

#define EOS_TIMEOUT_NS (8 * VZ_NSEC_PER_SEC)
/* An error this soon after new caps is the new format being refused. */
#define REFUSAL_FRAMES 16
/* After a refusal, how long the end-of-stream may take to finalise files. */
#define ENDED_EOS_NS (3 * VZ_NSEC_PER_SEC)

/* ---- the bus (any thread) ---- */

static void wake_loop(struct gst_sink *s)
{
	if (s->wake)
		vz_loop_wake(s->wake);
}

/* Runs in whichever thread posts (streaming threads, ours during state
 * changes): nothing here blocks on GStreamer, and no GMainLoop is needed. */
static GstBusSyncReply on_bus(GstBus *bus, GstMessage *msg, gpointer data)
{
	struct gst_sink *s = data;
	(void)bus;

	switch (GST_MESSAGE_TYPE(msg)) {
	case GST_MESSAGE_ERROR: {
		GError *e = NULL;
		gchar *debug = NULL;
		char m[VZ_ERR_MSG_MAX], dbg[200];
		struct vz_err neg = {0};
		bool fail = false, end = false;

		gst_message_parse_error(msg, &e, &debug);
		int code = vz_gst_error_code(e, debug);
		/* An element that cannot take a format: not-negotiated, or a
		 * muxer's own stream error ("Caps changes are not supported"). */
		bool refusal = code == -EPROTO || (e && e->domain == GST_STREAM_ERROR);
		vz_gst_one_line(dbg, sizeof(dbg), vz_gst_debug_tail(debug), sizeof(dbg) - 1);
		pthread_mutex_lock(&s->lock);
		struct vz_format fmt = s->fmt;
		pthread_mutex_unlock(&s->lock);
		if (code == -EPROTO) {
			/* appsrc only says "not-negotiated": find who refused. */
			vz_gst_negotiation_error(s, &fmt, &neg);
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
		if (!s->error_code && !s->ended) {
			if (refusal && s->caps_changed && s->running &&
			    atomic_load(&s->frames) - s->frames_before_caps <= REFUSAL_FRAMES) {
				/* New caps refused mid-stream: GStreamer pushes EOS
				 * behind this error, so the file gets finalised; our
				 * stream is over, not broken. */
				char fcc[5];
				s->ended = true;
				snprintf(s->error_msg, sizeof(s->error_msg),
				         "the new format %s %ux%u was refused downstream (%.300s); "
				         "the stream ended cleanly after %" PRIu64 " frames",
				         vz_fourcc_str(fmt.fourcc, fcc), fmt.width, fmt.height, m,
				         s->frames_before_caps);
				snprintf(m, sizeof(m), "%s", s->error_msg);
				end = true;
			} else {
				s->error_code = code;
				snprintf(s->error_msg, sizeof(s->error_msg), "%s", m);
				fail = s->running;
			}
		}
		pthread_mutex_unlock(&s->lock);
		if (end)
			vz_port_ended(s->port, m);
		if (fail)
			vz_port_fail(s->port, code, m);
		wake_loop(s);
		break;
	}
	case GST_MESSAGE_EOS:
		pthread_mutex_lock(&s->lock);
		s->eos = true;
		pthread_mutex_unlock(&s->lock);
		wake_loop(s);
		break;
	default:
		break;
	}
	return GST_BUS_DROP;
}

/* ---- proof (appsrc's src pad) ---- */

static GstPadProbeReturn on_src_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct gst_sink *s = data;
	GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
	(void)pad;

	if (!b)
		return GST_PAD_PROBE_OK;
	atomic_fetch_add(&s->seen, 1);
	bool ours = gst_buffer_n_memory(b) > 0;
	for (unsigned i = 0; ours && i < gst_buffer_n_memory(b); i++)
		ours = vz_gst_memory_is_ours(s, gst_buffer_peek_memory(b, i));
	if (ours)
		atomic_fetch_add(&s->seen_ok, 1);
	return GST_PAD_PROBE_OK;
}

/* ---- the loop's side ---- */

static void finish(struct gst_sink *s, const char *note)
{
	/* Drops whatever the elements still queue: their buffers die and
	 * release their frames, from this thread. */
	gst_element_set_state(s->pipeline, GST_STATE_NULL);
	vz_loop_remove(vz_port_loop(s->port), s->eos_timer);
	s->eos_timer = NULL;
	/* Accepted but never out of appsrc: flushed after an error or a
	 * missing EOS.  The runner can't see these, so we count them. */
	atomic_store(&s->drops_failure, atomic_load(&s->frames) - atomic_load(&s->seen));
	vz_gst_memset_sweep(s, true);
	pthread_mutex_lock(&s->lock);
	if (note && !s->eos_note[0])
		snprintf(s->eos_note, sizeof(s->eos_note), "%s", note);
	bool tell = s->stopping && !s->finished;
	if (tell)
		s->finished = true;
	s->stopping = false;
	s->torn_down = true;
	pthread_mutex_unlock(&s->lock);
	if (tell)
		vz_port_stopped(s->port);
}

static void on_ended_timeout(void *data, uint64_t expirations)
{
	struct gst_sink *s = data;
	(void)expirations;
	finish(s, "no end-of-stream got through after the format was refused: files it wrote may "
	          "lack their index");
}

static void on_wake(void *data)
{
	struct gst_sink *s = data;
	pthread_mutex_lock(&s->lock);
	bool done = (s->stopping || s->ended) && (s->eos || s->error_code);
	bool ended_now = s->ended && !s->ended_handled;
	s->ended_handled |= ended_now;
	pthread_mutex_unlock(&s->lock);
	if (ended_now && !done) {
		/* Let what is downstream finish its files on EOS, within a
		 * deadline; the other sinks go on meanwhile. */
		gst_app_src_end_of_stream(GST_APP_SRC(s->appsrc));
		vz_loop_add_timer(vz_port_loop(s->port), ENDED_EOS_NS, 0, on_ended_timeout, s,
		                  &s->eos_timer, NULL);
	}
	if (done)
		finish(s, NULL);
}

static void on_eos_timeout(void *data, uint64_t expirations)
{
	struct gst_sink *s = data;
	(void)expirations;
	char note[200];
	snprintf(note, sizeof(note),
	         "end-of-stream did not get through '%.80s' within %.0f s: files it writes may "
	         "be incomplete",
	         s->description, EOS_TIMEOUT_NS / 1e9);
	bool fail;
	pthread_mutex_lock(&s->lock);
	fail = s->stopping && !s->error_code;
	pthread_mutex_unlock(&s->lock);
	if (fail)
		vz_port_fail(s->port, -ETIMEDOUT, note);
	finish(s, note);
}

/* ---- ops ---- */

static int64_t interval_of(const struct vz_format *f)
{
	if (!f->fps_num || !f->fps_den)
		return 0;
	return (int64_t)gst_util_uint64_scale(f->fps_den, GST_SECOND, f->fps_num);
}

static int gst_start(void *impl, struct vz_sink_port *port, struct vz_buffer_set *set,
                     struct vz_err *err)
{
	struct gst_sink *s = impl;
	GstStateChangeReturn sret;
	GstCaps *caps = NULL;
	int ret;

	s->port = port;
	ret = vz_gst_memset_new(s, set, &s->cur, err);
	if (ret < 0)
		return ret;
	const struct vz_format *f = &s->cur->fmt;
	pthread_mutex_lock(&s->lock);
	s->fmt = *f;
	pthread_mutex_unlock(&s->lock);
	if (vz_gst_caps_from_format(f, s->caps_str, sizeof(s->caps_str)) < 0 ||
	    !(caps = vz_gst_caps_of(f))) {
		char fcc[5];
		ret = vz_err_set(err, -EINVAL, "gst: cannot express %s %ux%u as GStreamer caps",
		                 vz_fourcc_str(f->fourcc, fcc), f->width, f->height);
		goto fail;
	}
	s->interval = interval_of(f);
	s->last_pts = GST_CLOCK_TIME_NONE;
	s->first = true;
	ret = vz_loop_add_wake(vz_port_loop(port), on_wake, s, &s->wake, err);
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
	if (vz_gst_find_refuser(s->appsrc, caps, (char[64]){0}, 64,
	                        (char[VZ_GST_CAPS_SHOWN + 1]){0}, VZ_GST_CAPS_SHOWN + 1)) {
		ret = vz_gst_negotiation_error(s, f, err);
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
	vz_gst_memset_sweep(s, true);
	if (caps)
		gst_caps_unref(caps);
	return ret;
}

static int gst_set_buffers(void *impl, struct vz_buffer_set *set, struct vz_err *err)
{
	struct gst_sink *s = impl;
	struct gst_memset *ms;
	char caps_str[sizeof(s->caps_str)];

	int ret = vz_gst_memset_new(s, set, &ms, err);
	if (ret < 0)
		return ret;
	for (struct gst_memset *o = s->cur; o; o = o->next)
		o->retired = true;
	ms->next = s->cur;
	s->cur = ms;
	vz_gst_memset_sweep(s, false);
	if (vz_gst_caps_from_format(&ms->fmt, caps_str, sizeof(caps_str)) < 0)
		return vz_err_set(err, -EINVAL, "gst: the new format has no GStreamer caps");
	if (strcmp(caps_str, s->caps_str) != 0) {
		GstCaps *caps = vz_gst_caps_of(&ms->fmt);
		snprintf(s->caps_str, sizeof(s->caps_str), "%s", caps_str);
		s->interval = interval_of(&ms->fmt);
		pthread_mutex_lock(&s->lock);
		s->fmt = ms->fmt;
		s->caps_changed = true;
		s->frames_before_caps = atomic_load(&s->frames);
		pthread_mutex_unlock(&s->lock);
		/* appsrc sends them ahead of the next buffer (whose layout is
		 * checked against GstVideoMeta, as each set's is). */
		gst_app_src_set_caps(GST_APP_SRC(s->appsrc), caps);
		gst_caps_unref(caps);
	}
	return 0;
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
		int64_t d = vz_ns_sub(f->info.t_dqbuf_ns, t);

		s->ts_delta = (!f->info.ts_monotonic || d > VZ_NSEC_PER_SEC || d < -VZ_NSEC_PER_SEC)
		                      ? d
		                      : 0;
	}
	t = vz_ns_add(t, vz_ns_add(s->ts_delta, offset));
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
	GstMemory *extra[VZ_MAX_PLANES] = {NULL};
	int code = 0;

	/* A retired set still in GStreamer when the new one came is freed
	 * once its last buffer is gone: its DMA-bufs are the driver's memory
	 * (found by the fault matrix, 16 fds per reconnect). */
	if (s->cur && s->cur->next)
		vz_gst_memset_sweep(s, false);
	pthread_mutex_lock(&s->lock);
	if (s->error_code)
		code = vz_err_set(err, s->error_code, "%s", s->error_msg);
	else if (s->ended)
		code = vz_err_set(err, -ESHUTDOWN, "gst: %s", s->error_msg);
	else if (!s->running)
		code = vz_err_set(err, -EPIPE, "gst: frame pushed while the sink is stopped");
	pthread_mutex_unlock(&s->lock);
	if (code)
		return code;

	GstBuffer *b = vz_gst_wrap(s, f, extra, err);
	if (!b)
		return err ? err->code : -EINVAL;
	GST_BUFFER_PTS(b) = pts_of(s, f);
	GST_BUFFER_DTS(b) = GST_CLOCK_TIME_NONE;
	GST_BUFFER_DURATION(b) = s->interval > 0 ? (GstClockTime)s->interval : GST_CLOCK_TIME_NONE;
	GST_BUFFER_OFFSET(b) = f->info.sequence;
	/* A hole before this frame -- the stream's start, frames the driver
	 * dropped, a reconnect -- is a discontinuity downstream must know. */
	if (s->first || f->info.gap || f->info.discont)
		GST_BUFFER_FLAG_SET(b, GST_BUFFER_FLAG_DISCONT);
	s->first = false;

	GstFlowReturn fr = gst_app_src_push_buffer(GST_APP_SRC(s->appsrc), b);
	vz_gst_wrap_done(s, f, extra, fr == GST_FLOW_OK);
	if (fr != GST_FLOW_OK) {
		/* Refused because the stream has just ended (on the bus, on
		 * another thread): that is the end, not a failure. */
		pthread_mutex_lock(&s->lock);
		bool ended = s->ended;
		pthread_mutex_unlock(&s->lock);
		return vz_err_set(err, ended ? -ESHUTDOWN : -EPIPE,
		                  "gst: appsrc refused frame %" PRIu64 ": %s", f->id,
		                  gst_flow_get_name(fr));
	}
	atomic_fetch_add(&s->frames, 1);
	return 0;
}

static int gst_stop(void *impl, struct vz_err *err)
{
	struct gst_sink *s = impl;
	(void)err;

	pthread_mutex_lock(&s->lock);
	bool was_running = s->running;
	bool ended = s->ended;
	/* An ended stream whose EOS deadline passed was torn down already:
	 * nothing will come to finish it later. */
	bool dormant = ended && (s->eos || s->error_code || s->torn_down);
	s->running = false;
	s->stopping = true;
	pthread_mutex_unlock(&s->lock);
	if (!was_running || dormant) {
		finish(s, NULL);
		return 0;
	}
	if (ended)
		return 0; /* its end-of-stream is under way, with its own deadline */
	/* Muxers finish their files on EOS, so it must travel the whole
	 * pipeline before we tear it down: the bus tells the loop. */
	gst_app_src_end_of_stream(GST_APP_SRC(s->appsrc));
	int ret = vz_loop_add_timer(vz_port_loop(s->port), EOS_TIMEOUT_NS, 0, on_eos_timeout, s,
	                            &s->eos_timer, NULL);
	if (ret < 0)
		finish(s, "no timer for the end-of-stream deadline: stopped at once");
	else
		on_wake(s); /* EOS or an error may be there already */
	return 0;
}

/* Elements a bin made and dropped again on its own (autovideosink's
 * placeholders) are not news unless frames went through them; an element
 * of the description that got nothing is. */
static bool shown(const struct gst_watch *w)
{
	return atomic_load(&w->in_count) > 0 || (!w->late && !atomic_load(&w->removed));
}

static void gst_get_stats(void *impl, struct vz_sink_stats *out)
{
	struct gst_sink *s = impl;
	uint64_t seen = atomic_load(&s->seen), ok = atomic_load(&s->seen_ok);

	memset(out, 0, sizeof(*out));
	out->frames = atomic_load(&s->frames);
	out->released = atomic_load(&s->released);
	out->drops_failure = atomic_load(&s->drops_failure);
	out->bytes_copied = atomic_load(&s->bytes_copied);
	out->copies = atomic_load(&s->copies);
	vz_gst_copies_stats(s, out);
	/* Where vzero's memory ended up: each sink element's share of buffers
	 * that were still vzero's when they reached it. */
	pthread_mutex_lock(&s->copy_lock);
	unsigned nwatched = 0;
	for (unsigned i = 0; i < s->nwatch; i++)
		nwatched += shown(&s->watch[i]);
	int n = snprintf(
	        out->proof, sizeof(out->proof),
	        "followed through %u elements%s: appsrc sent vzero's own memory in %" PRIu64
	        "/%" PRIu64 "; fds read-only %u/%u%s",
	        nwatched, s->watch_overflow ? " (not all: too many)" : "", ok, seen,
	        s->roots_read_only, s->roots_made,
	        s->roots_read_write ? " (the rest read-write: the source exports no read-only "
	                              "fds; GstMemory flagged READONLY)"
	                            : "");
	for (unsigned i = 0; i < s->nwatch && n > 0 && (size_t)n < sizeof(out->proof); i++) {
		const struct gst_watch *w = &s->watch[i];
		if (!atomic_load(&w->is_sink) || !shown(w))
			continue;
		n += snprintf(out->proof + n, sizeof(out->proof) - (size_t)n,
		              "; %s got vzero's memory in %" PRIu64 "/%" PRIu64, w->name,
		              (uint64_t)atomic_load(&w->in_ours_count),
		              (uint64_t)atomic_load(&w->in_count));
	}
	pthread_mutex_unlock(&s->copy_lock);
	pthread_mutex_lock(&s->lock);
	if (s->ended)
		snprintf(out->ended, sizeof(out->ended), "%.255s", s->error_msg);
	if (s->eos_note[0] && !out->advice[0])
		snprintf(out->advice, sizeof(out->advice), "%s", s->eos_note);
	pthread_mutex_unlock(&s->lock);
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
	if (s->port) {
		struct vz_loop *loop = vz_port_loop(s->port);
		vz_loop_remove(loop, s->eos_timer);
		vz_loop_remove(loop, s->wake);
		s->wake = NULL;
	}
	vz_gst_copies_unwatch(s);
	if (s->appsrc)
		gst_object_unref(s->appsrc);
	if (s->pipeline)
		gst_object_unref(s->pipeline);
	/* Frames an element still keeps hold the rest of the sink until they
	 * die: their release then reaches the runner, which waits for them
	 * (detached) instead of us pulling their memory away. */
	vz_gst_memset_sweep(s, true);
	vz_gst_sink_unref(s);
}

void vz_gst_sink_unref(struct gst_sink *s)
{
	if (atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	vz_gst_memset_free_all(s);
	if (s->alloc)
		gst_object_unref(s->alloc);
	pthread_mutex_destroy(&s->copy_lock);
	pthread_mutex_destroy(&s->lock);
	free(s->description);
	free(s);
}

static const struct vz_sink_ops gst_ops = {
        .kind = "gst",
        .start = gst_start,
        .set_buffers = gst_set_buffers,
        .push = gst_push,
        .stop = gst_stop,
        .get_stats = gst_get_stats,
        .destroy = gst_destroy,
};

int vz_sink_gst_create(const char *description, struct vz_sink *out, struct vz_err *err)
{
	struct gst_sink *s = NULL;
	GError *e = NULL;
	GstPad *pad = NULL;
	char *launch = NULL;
	int ret;

	if (!out)
		return vz_err_set(err, -EINVAL, "gst: no sink to fill");
	memset(out, 0, sizeof(*out));
	while (description && (*description == ' ' || *description == '\t'))
		description++;
	if (!description || !*description)
		return vz_err_set(err, -EINVAL,
		                  "gst: empty pipeline description (try gst:\"fakesink\")");
	vz_gst_ensure_init();

	s = calloc(1, sizeof(*s));
	if (!s)
		return vz_err_set(err, -ENOMEM, "gst: out of memory");
	atomic_init(&s->refs, 1);
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->copy_lock, NULL);
	s->root_quark = g_quark_from_static_string("vzero-root-memory");
	s->description = strdup(description);
	size_t n = strlen(description) + sizeof("appsrc name=" VZ_GST_SRC_NAME " ! ");
	launch = malloc(n);
	if (!s->description || !launch) {
		ret = vz_err_set(err, -ENOMEM, "gst: out of memory");
		goto fail;
	}
	snprintf(launch, n, "appsrc name=" VZ_GST_SRC_NAME " ! %s", description);

	s->pipeline = gst_parse_launch_full(launch, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &e);
	if (!s->pipeline || e) {
		ret = vz_gst_parse_error(description, e, err);
		goto fail;
	}
	if (!GST_IS_PIPELINE(s->pipeline)) {
		/* A single element comes back bare; appsrc ! x never does, but
		 * be sure we can get a bus and a clock. */
		ret = vz_err_set(err, -EINVAL, "gst: '%s' did not make a pipeline", description);
		goto fail;
	}
	s->appsrc = gst_bin_get_by_name(GST_BIN(s->pipeline), VZ_GST_SRC_NAME);
	if (!s->appsrc || !GST_IS_APP_SRC(s->appsrc)) {
		ret = vz_err_set(err, -EINVAL,
		                 "gst: '%s' names an element '" VZ_GST_SRC_NAME "': vzero needs "
		                 "that name for its appsrc",
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
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_src_buffer, s, NULL);
	gst_object_unref(pad);
	pad = NULL;
	vz_gst_meta_watch(s);
	ret = vz_gst_copies_watch(s, err);
	if (ret < 0)
		goto fail;

	s->alloc = gst_dmabuf_allocator_new();
	if (!s->alloc) {
		ret = vz_err_set(err, -ENOMEM, "gst: no DMA-buf allocator");
		goto fail;
	}
	GstBus *bus = gst_element_get_bus(s->pipeline);
	gst_bus_set_sync_handler(bus, on_bus, s, NULL);
	gst_object_unref(bus);

	out->ops = &gst_ops;
	out->impl = s;
	out->policy = vz_gst_records(s->pipeline) ? VZ_SINK_RECORD : VZ_SINK_LIVE;
	/* "gst:" + the first element's name, as reports show it. */
	size_t w = strcspn(description, " \t!");
	snprintf(out->name, sizeof(out->name), "gst:%.*s", (int)(w > 59 ? 59 : w), description);
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
