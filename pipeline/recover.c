/* SPDX-License-Identifier: MIT */
/*
 * Buffer negotiation and recovery, as a state machine on the loop: nothing
 * here blocks, so releases, signals and timers are served throughout.
 *
 *   streaming --ENODEV--> waiting: the device released, a timer tries
 *       ^                  reconnect() every RETRY_NS until it is back or
 *       |                  the deadline passes (then the run ends, saying so)
 *       |                         |
 *       +---- resume <------------+   back: buffers negotiated again, every
 *       |                             sink told of the new set, streaming
 *   FORMAT_CHANGED --> renegotiate() --> resume
 *
 * No sink is stopped: each sees a buffer-set change and goes on, and the
 * frames of the old set come home through the source whenever their sinks
 * let go.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "pipeline-internal.h"

#define RETRY_NS (100 * VZ_NSEC_PER_MSEC)

int vz_pipeline_negotiate_buffers(struct vz_pipeline *p, struct vz_err *err)
{
	const struct vz_format *fmt = p->src.ops->format(p->src.impl);
	unsigned want = p->src.ops->buffers_wanted(p->src.impl);
	const char *provider = NULL;
	int r;

	p->buffers_note[0] = '\0';
	for (unsigned i = 0; i < p->nsinks && !provider; i++) {
		struct port *port = &p->ports[i];
		struct vz_buffer_set *set = NULL;
		struct vz_err e = {0};
		if (!port->sink.ops->provide || port->failed || port->ended)
			continue;
		r = port->sink.ops->provide(port->sink.impl, fmt, want, &set, &e);
		if (r == -ENOTSUP || (r == 0 && !set))
			continue;
		if (r == 0)
			r = p->src.ops->alloc(p->src.impl, set, &e);
		/* The source holds its own reference to what it took. */
		vz_buffer_set_unref(set);
		if (r == 0) {
			provider = port->sink.name;
			break;
		}
		snprintf(p->buffers_note, sizeof(p->buffers_note),
		         "sink %s's buffers could not be used (%.120s); capture allocates its own",
		         port->sink.name, e.msg);
	}
	if (!provider) {
		r = p->src.ops->alloc(p->src.impl, NULL, err);
		if (r < 0)
			return r;
	}
	struct vz_buffer_set *set = p->src.ops->buffers(p->src.impl);
	if (!set)
		return vz_err_set(err, -EPROTO, "the source allocated no buffers");
	if (set->count <= p->cfg.min_queued)
		/* Every frame would be dropped to keep the driver fed, and -n
		 * with a recording would never complete. */
		return vz_err_set(err, -ENOBUFS,
		                  "%u buffers (%s%s%s) leave none to hand on: vzero keeps %u in "
		                  "the driver so capture never starves; ask for at least %u "
		                  "(--buffers)",
		                  set->count, set->origin, provider ? ", provided by sink " : "",
		                  provider ? provider : "", p->cfg.min_queued,
		                  p->cfg.min_queued + 2);
	if (provider)
		snprintf(p->buffers, sizeof(p->buffers), "%u x %s, provided by sink %s", set->count,
		         set->origin, provider);
	else
		snprintf(p->buffers, sizeof(p->buffers), "%u x %s", set->count, set->origin);
	if (p->buffers_note[0])
		vz_pipeline_notify(p, p->buffers_note);
	vz_pipeline_pset_retire(p, p->cur);
	p->cur = vz_pipeline_pset_new(p, set);
	if (!p->cur)
		return vz_err_set(err, -ENOMEM, "pipeline: out of memory");
	p->nominal_ns = vz_format_interval_ns(&set->fmt);
	return 0;
}

int vz_pipeline_offer_again(struct vz_pipeline *p, unsigned except, struct vz_err *err)
{
	/* Said once, as it happens: why this sink's buffers will be used. */
	char msg[VZ_ERR_MSG_MAX + 80];
	snprintf(msg, sizeof(msg), "sink %s: %s", p->ports[except].sink.name, err->msg);
	vz_pipeline_notify(p, msg);
	vz_err_clear(err);
	/* Nothing streams yet (start) or any more (resume): the source lets go
	 * of its set and takes what the providers offer now. */
	vz_pipeline_pset_retire(p, p->cur);
	p->cur = NULL;
	int r = p->src.ops->renegotiate(p->src.impl, err);
	if (r == 0)
		r = vz_pipeline_negotiate_buffers(p, err);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < p->nsinks; i++) {
		struct port *port = &p->ports[i];
		if (i == except || !port->started || port->failed || port->ended)
			continue;
		r = port->sink.ops->set_buffers(port->sink.impl, p->cur->set, err);
		if (r < 0)
			return vz_err_prefix(err, "sink %s", port->sink.name);
	}
	return 0;
}

static void fail(struct vz_pipeline *p, int code, const char *msg)
{
	p->recovering = false;
	vz_err_set(&p->err, code, "%s", msg);
	vz_pipeline_finish(p, code);
}

void vz_pipeline_recovery_cancel(struct vz_pipeline *p)
{
	vz_loop_remove(p->loop, p->retry);
	p->retry = NULL;
	p->recovering = false;
}

/* The source is negotiated again: buffers, every sink told, streaming. */
static void resume(struct vz_pipeline *p)
{
	struct vz_err e = {0};
	/* Frames of the old set waiting for a record sink go first, over its
	 * budget: behind set_buffers() they would arrive under the new caps,
	 * into a sink that may have let go of the old set. */
	vz_pipeline_flush_waiting(p);
	int r = vz_pipeline_negotiate_buffers(p, &e);
	if (r < 0) {
		fail(p, r, e.msg);
		return;
	}
	bool offered = false;
	for (unsigned i = 0; i < p->nsinks; i++) {
		struct port *port = &p->ports[i];
		if (!port->started || port->failed || port->ended)
			continue;
		vz_err_clear(&e);
		r = port->sink.ops->set_buffers(port->sink.impl, p->cur->set, &e);
		if (r == -EXDEV && port->sink.ops->provide && !offered) {
			/* The new set is one this sink cannot use (a new format
			 * its device cannot import): it provides one instead. */
			offered = true;
			r = vz_pipeline_offer_again(p, i, &e);
			if (r == 0)
				r = port->sink.ops->set_buffers(port->sink.impl, p->cur->set, &e);
		}
		if (r < 0) {
			char msg[VZ_ERR_MSG_MAX];
			snprintf(msg, sizeof(msg), "sink %s: %.440s", port->sink.name, e.msg);
			port->failed = true;
			fail(p, r, msg);
			return;
		}
	}
	vz_err_clear(&e);
	r = p->src.ops->start(p->src.impl, &e);
	if (r == 0)
		r = vz_pipeline_watch_source(p, &e);
	if (r < 0) {
		fail(p, r, e.msg);
		return;
	}
	vz_pipeline_recovery_cancel(p);
	p->recoveries++;
	p->t_progress = vz_now_ns();
}

static void on_retry(void *data, uint64_t expirations)
{
	struct vz_pipeline *p = data;
	struct vz_err e = {0};
	(void)expirations;
	if (!p->recovering)
		return;
	int r = p->src.ops->reconnect(p->src.impl, &e);
	if (r == 0) {
		/* Timed from here, not from STREAMON: renegotiating and
		 * allocating buffers are part of what a user waits through. */
		p->t_resumed = vz_now_ns();
		vz_pipeline_notify(p, "the device is back; resuming");
		resume(p);
		return;
	}
	if (p->reconnect_deadline && vz_now_ns() >= p->reconnect_deadline) {
		char msg[VZ_ERR_MSG_MAX];
		if (r != -EAGAIN)
			/* It came back, but never usable: that is the news. */
			snprintf(msg, sizeof(msg), "%.460s (gave up after %.1f s)", e.msg,
			         p->cfg.reconnect_timeout_ms / 1000.0);
		else
			snprintf(msg, sizeof(msg),
			         "the device did not come back within %.1f s: check that it is "
			         "plugged in and its driver loaded (--reconnect=SECONDS waits "
			         "longer)",
			         p->cfg.reconnect_timeout_ms / 1000.0);
		fail(p, r == -EAGAIN ? -ETIMEDOUT : r, msg);
	}
	/* else: not yet, or not usable yet (a driver settling): next tick. */
}

void vz_pipeline_device_gone(struct vz_pipeline *p, const char *why)
{
	char msg[160];
	struct vz_err e = {0};
	(void)why;
	vz_loop_remove(p->loop, p->src_watch);
	p->src_watch = NULL;
	p->recovering = true;
	p->t_gone = vz_now_ns();
	/* Frames of the old set stay with their sinks; the device must be let
	 * go of before it can come back. */
	vz_pipeline_pset_retire(p, p->cur);
	p->src.ops->release_device(p->src.impl);
	if (p->cfg.reconnect_timeout_ms > 0) {
		snprintf(msg, sizeof(msg), "the device is gone; waiting up to %d s for it",
		         p->cfg.reconnect_timeout_ms / 1000);
		p->reconnect_deadline =
		        p->t_gone + (int64_t)p->cfg.reconnect_timeout_ms * VZ_NSEC_PER_MSEC;
	} else {
		snprintf(msg, sizeof(msg), "the device is gone; waiting for it to come back");
		p->reconnect_deadline = 0;
	}
	vz_pipeline_notify(p, msg);
	int r = vz_loop_add_timer(p->loop, RETRY_NS, RETRY_NS, on_retry, p, &p->retry, &e);
	if (r < 0)
		fail(p, r, e.msg);
}

void vz_pipeline_renegotiate(struct vz_pipeline *p)
{
	struct vz_err e = {0};
	vz_loop_remove(p->loop, p->src_watch);
	p->src_watch = NULL;
	p->recovering = true;
	/* For a format change the outage and the resume start together --
	 * unless it follows a reconnect no frame has come from yet (HDMI
	 * receivers do that): then the outage began with the loss. */
	int64_t now = vz_now_ns();
	if (!p->t_resumed)
		p->t_gone = now;
	p->t_resumed = now;
	vz_pipeline_notify(p, "the source changed format; renegotiating");
	vz_pipeline_pset_retire(p, p->cur);
	int r = p->src.ops->renegotiate(p->src.impl, &e);
	if (r < 0) {
		fail(p, r, e.msg);
		return;
	}
	resume(p);
}
