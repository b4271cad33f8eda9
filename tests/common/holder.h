/* SPDX-License-Identifier: MIT */
/*
 * A sink for tests that holds frames and releases them from its own
 * thread, like a slow GStreamer element: each frame waits hold_us, is
 * checked (a callback: did its content change while held?) and released.
 * Shared by the unit tests (fake source) and the integration helpers (a real
 * driver), so both prove the same ownership contract the same way.
 */
#ifndef VZ_TEST_HOLDER_H
#define VZ_TEST_HOLDER_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sink.h"

#define HOLDER_Q 64

struct holder;
/* At push (@at_push) and at release: returns false when the frame is not
 * what it was (a requeue under the sink).  @ctx is the holder's check_ctx. */
typedef bool (*holder_check_fn)(struct holder *h, struct vz_frame *f, bool at_push, void *ctx);

struct holder {
	struct vz_sink_port *port;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct vz_frame *q[HOLDER_Q];
	unsigned head, tail;
	bool quit;
	/* knobs */
	unsigned hold_us;   /* how long each frame is held */
	bool never_release; /* until stop() */
	int fail_push;      /* push returns this */
	bool fail_async;    /* vz_port_fail() from the thread on the first frame */
	bool end_async;     /* vz_port_ended() from the thread on the first frame */
	bool no_stop;       /* stop() never says stopped (a broken sink) */
	holder_check_fn check;
	void *check_ctx;
	/* what happened */
	unsigned pushed, released, max_held, corrupted, sets;
	uint32_t last_generation;
	uint64_t order_errors; /* frames released out of push order */
	unsigned stale_pushes; /* frames of an older set pushed after set_buffers() */
	int end_in_push;       /* from push call N on: vz_port_ended(), -ESHUTDOWN */
	unsigned push_calls;
	bool release_in_push; /* with fail_push: give the frame back, then fail */
	uint64_t last_id;
	bool stopped_called;
};

static inline void holder_init(struct holder *h)
{
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
}

static inline void holder_release_one(struct holder *h, struct vz_frame *f)
{
	if (h->check && !h->check(h, f, false, h->check_ctx))
		h->corrupted++;
	pthread_mutex_lock(&h->lock);
	h->released++;
	pthread_mutex_unlock(&h->lock);
	vz_port_release(h->port, f);
}

static inline void *holder_thread(void *arg)
{
	struct holder *h = arg;
	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (!h->quit && (h->head == h->tail || h->never_release))
			pthread_cond_wait(&h->cond, &h->lock);
		if (h->head == h->tail && h->quit)
			break;
		struct vz_frame *f = h->q[h->tail++ % HOLDER_Q];
		bool fail = h->fail_async, end = h->end_async;
		h->fail_async = h->end_async = false;
		pthread_mutex_unlock(&h->lock);
		if (fail)
			vz_port_fail(h->port, -EPIPE, "downstream went away");
		if (end)
			vz_port_ended(h->port, "the recording is complete");
		usleep(h->hold_us);
		holder_release_one(h, f);
		pthread_mutex_lock(&h->lock);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

static inline int holder_start(void *impl, struct vz_sink_port *port, struct vz_buffer_set *set,
                               struct vz_err *err)
{
	struct holder *h = impl;
	h->port = port;
	h->quit = false;
	h->sets = 1;
	h->last_generation = set->generation;
	if (pthread_create(&h->thread, NULL, holder_thread, h) != 0)
		return vz_err_set(err, -EAGAIN, "holder: cannot start its thread");
	h->thread_started = true;
	return 0;
}

static inline int holder_set_buffers(void *impl, struct vz_buffer_set *set, struct vz_err *err)
{
	(void)err;
	struct holder *h = impl;
	h->sets++;
	h->last_generation = set->generation;
	return 0;
}

static inline int holder_push(void *impl, struct vz_frame *f, struct vz_err *err)
{
	struct holder *h = impl;
	if (h->end_in_push && ++h->push_calls >= (unsigned)h->end_in_push) {
		/* as a GStreamer sink whose muxer just refused new caps */
		vz_port_ended(h->port, "the recording is complete");
		return vz_err_set(err, -ESHUTDOWN, "holder: stream over");
	}
	if (h->fail_push) {
		if (h->release_in_push)
			vz_port_release(h->port, f);
		return vz_err_set(err, h->fail_push, "holder refuses frames");
	}
	if (f->generation < h->last_generation)
		h->stale_pushes++;
	if (h->check)
		h->check(h, f, true, h->check_ctx);
	pthread_mutex_lock(&h->lock);
	if (h->pushed && f->id <= h->last_id)
		h->order_errors++;
	h->last_id = f->id;
	h->q[h->head++ % HOLDER_Q] = f;
	h->pushed++;
	if (h->pushed - h->released > h->max_held)
		h->max_held = h->pushed - h->released;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static inline int holder_stop(void *impl, struct vz_err *err)
{
	(void)err;
	struct holder *h = impl;
	if (h->no_stop)
		return 0;
	pthread_mutex_lock(&h->lock);
	h->quit = true;
	h->never_release = false;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	if (h->thread_started)
		pthread_join(h->thread, NULL);
	h->thread_started = false;
	h->stopped_called = true;
	vz_port_stopped(h->port);
	return 0;
}

static inline void holder_stats(void *impl, struct vz_sink_stats *out)
{
	struct holder *h = impl;
	snprintf(out->proof, sizeof(out->proof), "holder: %u pushed, %u released, %u changed",
	         h->pushed, h->released, h->corrupted);
}

/* The holder belongs to the test; destroy only joins a thread left over. */
static inline void holder_destroy(void *impl)
{
	struct holder *h = impl;
	if (h->thread_started) {
		pthread_mutex_lock(&h->lock);
		h->quit = true;
		h->never_release = false;
		pthread_cond_signal(&h->cond);
		pthread_mutex_unlock(&h->lock);
		pthread_join(h->thread, NULL);
		h->thread_started = false;
	}
}

static const struct vz_sink_ops holder_ops = {
        .kind = "holder",
        .start = holder_start,
        .set_buffers = holder_set_buffers,
        .push = holder_push,
        .stop = holder_stop,
        .get_stats = holder_stats,
        .destroy = holder_destroy,
};

static inline struct vz_sink holder_sink(struct holder *h, const char *name,
                                         enum vz_sink_policy policy)
{
	struct vz_sink s = {.ops = &holder_ops, .impl = h, .policy = policy};
	snprintf(s.name, sizeof(s.name), "%s", name);
	return s;
}

#endif
