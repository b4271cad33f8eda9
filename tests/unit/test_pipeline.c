/* SPDX-License-Identifier: MIT */
/*
 * Pipeline ownership, budgets and policies, processing, buffer negotiation,
 * recovery and failure handling, against the fake source
 * (tests/unit/fake-source.h), whose "driver" scribbles on every buffer it
 * holds: a frame requeued too early is caught as changed content.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the headers above first */
#include <cmocka.h>

#include "fake-source.h"
#include "holder.h"
#include "pipeline.h"
#include "registry.h"
#include "sink-null.h"

#define W      64
#define H      16
#define STRIDE (W * 2)
#define SIZE   (STRIDE * H)

/* ---- an allocation counter: the test is linked with --wrap=malloc etc.,
 * so it counts in the ASan build too (mallinfo2 reads 0 there) ---- */
void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t a, size_t b);
void *__wrap_realloc(void *p, size_t n);
static uint64_t allocs; /* a test-only counter, read between phases */

void *__wrap_malloc(size_t n)
{
	__atomic_add_fetch(&allocs, 1, __ATOMIC_RELAXED);
	return __real_malloc(n);
}

void *__wrap_calloc(size_t a, size_t b)
{
	__atomic_add_fetch(&allocs, 1, __ATOMIC_RELAXED);
	return __real_calloc(a, b);
}

void *__wrap_realloc(void *p, size_t n)
{
	__atomic_add_fetch(&allocs, 1, __ATOMIC_RELAXED);
	return __real_realloc(p, n);
}

struct fixture {
	struct fake_source fs;
	struct vz_loop *loop;
	struct vz_pipeline *pipe;
	struct holder h, h2;
	char events[8][160];
	unsigned nevents;
};

static void on_event(void *data, const char *msg)
{
	struct fixture *fx = data;
	if (fx->nevents < 8)
		snprintf(fx->events[fx->nevents++], sizeof(fx->events[0]), "%s", msg);
}

static void make_pipe(struct fixture *fx, struct vz_pipeline_config *cfg)
{
	cfg->source = fake_source_as_source(&fx->fs);
	cfg->loop = fx->loop;
	if (!cfg->telemetry_capacity)
		cfg->telemetry_capacity = 4096;
	cfg->on_event = on_event;
	cfg->event_data = fx;
	assert_int_equal(vz_pipeline_create(&fx->pipe, cfg, NULL), 0);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	assert_int_equal(
	        fake_source_init(&fx->fs, VZ_FOURCC('Y', 'U', 'Y', 'V'), W, H, STRIDE, SIZE, 6), 0);
	assert_int_equal(vz_loop_create(&fx->loop, NULL), 0);
	struct vz_pipeline_config cfg = {.reconnect_timeout_ms = -1};
	make_pipe(fx, &cfg);
	holder_init(&fx->h);
	holder_init(&fx->h2);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	vz_pipeline_destroy(fx->pipe);
	vz_loop_destroy(fx->loop);
	fake_source_fini(&fx->fs);
	free(fx);
	return 0;
}

/* Replaces the fixture's pipeline by one made from @cfg. */
static void remake(struct fixture *fx, struct vz_pipeline_config cfg)
{
	vz_pipeline_destroy(fx->pipe);
	make_pipe(fx, &cfg);
}

static void dispatch_for(struct fixture *fx, int ms)
{
	int64_t end = vz_now_ns() + (int64_t)ms * VZ_NSEC_PER_MSEC;
	while (vz_now_ns() < end && !vz_loop_quitting(fx->loop))
		vz_loop_dispatch(fx->loop, 5);
}

/* Produces @n frames one at a time, letting the loop handle each. */
static void run_frames(struct fixture *fx, unsigned n)
{
	for (unsigned i = 0; i < n && !vz_loop_quitting(fx->loop); i++) {
		fake_source_produce(&fx->fs, 1);
		int64_t end = vz_now_ns() + 2 * VZ_NSEC_PER_SEC;
		while (fx->fs.pending && vz_now_ns() < end && !vz_loop_quitting(fx->loop))
			vz_loop_dispatch(fx->loop, 10);
		/* let asynchronous releases land */
		vz_loop_dispatch(fx->loop, 1);
	}
}

/* Waits (running the loop) until @cond holds or 3 s passed. */
#define WAIT_FOR(fx, cond)                                                                         \
	do {                                                                                       \
		int64_t end_ = vz_now_ns() + 3 * VZ_NSEC_PER_SEC;                                  \
		while (!(cond) && vz_now_ns() < end_ && !vz_loop_quitting((fx)->loop))             \
			vz_loop_dispatch((fx)->loop, 5);                                           \
	} while (0)

static void add(struct fixture *fx, struct holder *h, unsigned budget, enum vz_sink_policy pol)
{
	struct vz_sink s = holder_sink(h, "holder", pol);
	struct vz_sink_config c = {.budget = budget};
	assert_int_equal(vz_pipeline_add_sink(fx->pipe, &s, &c, NULL), 0);
}

static void add_null(struct fixture *fx)
{
	struct vz_sink s;
	assert_int_equal(vz_sink_create("null", &s, NULL), 0);
	assert_int_equal(vz_pipeline_add_sink(fx->pipe, &s, NULL, NULL), 0);
}

static void release_all(struct holder *h)
{
	pthread_mutex_lock(&h->lock);
	h->never_release = false;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

/* The content check: a frame's first byte at push, every byte at release. */
struct content {
	uint8_t first[HOLDER_Q * 4];
};

static bool same_content(struct holder *h, struct vz_frame *f, bool at_push, void *ctx)
{
	struct content *c = ctx;
	const uint8_t *px = f->buf->mem[0].map;
	unsigned slot = (unsigned)(f->id % (HOLDER_Q * 4));
	(void)h;
	if (at_push) {
		c->first[slot] = px[0];
		return true;
	}
	for (size_t i = 0; i < f->buf->mem[0].length; i++)
		if (px[i] != c->first[slot])
			return false;
	return true;
}

/* ---- ownership ---- */

static void test_null_sink_every_frame_back(void **state)
{
	struct fixture *fx = *state;
	add_null(fx);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 100);
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_int_equal(st.frames, 100);
	assert_int_equal(st.sink[0].frames, 100);
	assert_int_equal(st.sink[0].released, 100);
	assert_int_equal(st.bytes_copied, 0);
	assert_int_equal(vz_pipeline_inflight(fx->pipe), 0);
	assert_int_equal(fx->fs.nqueued, 6);
	assert_int_equal(fx->fs.queue_errors, 0);
	assert_non_null(strstr(st.buffers, "fake memfd buffers"));
	const struct vz_telemetry *t = vz_pipeline_telemetry(fx->pipe);
	assert_int_equal(vz_telemetry_count(t), 100);
	const struct vz_frame_record *r = vz_telemetry_get(t, 99);
	assert_int_equal(r->id, 99);
	assert_true(r->t_handoff[0] >= r->t_dqbuf);
	assert_true(r->t_release[0] >= r->t_handoff[0]);
	assert_true(r->t_requeue >= r->t_release[0]);
	assert_int_equal(vz_pipeline_stop(fx->pipe, NULL), 0);
}

static void test_never_requeued_while_held(void **state)
{
	struct fixture *fx = *state;
	struct content c;
	fx->h.hold_us = 30000; /* slower than the frames arrive */
	fx->h.check = same_content;
	fx->h.check_ctx = &c;
	add(fx, &fx->h, 3, VZ_SINK_LIVE);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 60);
	assert_int_equal(vz_pipeline_stop(fx->pipe, NULL), 0);
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_true(fx->h.pushed > 0);
	assert_int_equal(fx->h.released, fx->h.pushed);
	assert_int_equal(fx->h.corrupted, 0);
	assert_int_equal(fx->fs.queue_errors, 0);
	assert_true(st.sink[0].inflight_hwm <= 3);
	/* every frame either reached the holder or was counted as a drop */
	assert_int_equal(st.sink[0].frames + st.sink[0].drops_budget, st.frames);
	/* with 6 buffers and min_queued 2, at most 4 frames were ever out */
	assert_true(st.inflight_hwm <= 4);
}

/* The guard itself must be able to fail: a sink that keeps the frame after
 * releasing it sees the driver's scribbles. */
static void test_scribble_detects_early_requeue(void **state)
{
	struct fixture *fx = *state;
	add_null(fx); /* releases at once */
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	fake_source_produce(&fx->fs, 1);
	while (fx->fs.pending)
		vz_loop_dispatch(fx->loop, 10);
	/* buffer 0 went back at once; the next produce scribbles over it */
	uint8_t *px = fx->fs.set->base.buf[0].mem[0].map;
	uint8_t before = px[0];
	fake_source_produce(&fx->fs, 1);
	assert_int_not_equal(before, px[0]);
	vz_pipeline_stop(fx->pipe, NULL);
}

static void test_budget_drops_per_sink(void **state)
{
	struct fixture *fx = *state;
	fx->h.never_release = true;
	add(fx, &fx->h, 1, VZ_SINK_LIVE);
	add_null(fx);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 50);
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_int_equal(st.frames, 50);
	assert_int_equal(st.sink[0].frames, 1);
	assert_int_equal(st.sink[0].drops_budget, 49);
	assert_int_equal(st.sink[1].frames, 50); /* the other sink got all */
	assert_int_equal(st.sink[1].drops_budget, 0);
	assert_int_equal(st.drops[VZ_DROP_SINK_BUDGET], 49);
	assert_int_equal(st.sink[0].policy, VZ_SINK_LIVE);
	const struct vz_frame_record *r = vz_telemetry_get(vz_pipeline_telemetry(fx->pipe), 10);
	assert_int_equal(r->sink_drop[0], VZ_DROP_SINK_BUDGET);
	assert_int_equal(r->sink_drop[1], VZ_DROP_NONE);
	assert_int_equal(vz_pipeline_stop(fx->pipe, NULL), 0);
	assert_int_equal(fx->h.released, 1);
}

static void test_driver_keeps_min_queued(void **state)
{
	struct fixture *fx = *state;
	fx->h.never_release = true;
	add(fx, &fx->h, 10, VZ_SINK_RECORD); /* a budget bigger than the buffers */
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 30);
	/* 6 buffers, keep 2 in the driver: the sink can hold 4 at most... */
	assert_int_equal(fx->h.pushed, 4);
	/* ...and capture never starved */
	assert_int_equal(fx->fs.starved, 0);
	assert_true(fx->fs.nqueued >= 2);
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_int_equal(st.frames, 30);
	assert_int_equal(st.sink[0].drops_budget, 26);
	vz_pipeline_stop(fx->pipe, NULL);
}

/* ---- policies ---- */

/* Three frames arrive while a budget-1 sink holds the first. */
static void burst_of_three(struct fixture *fx, enum vz_sink_policy pol)
{
	fx->h.hold_us = 50000;
	add(fx, &fx->h, 1, pol);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	fake_source_produce(&fx->fs, 3);
	WAIT_FOR(fx, fx->fs.pending == 0);
	dispatch_for(fx, 300);
	assert_int_equal(vz_pipeline_stop(fx->pipe, NULL), 0);
}

static void test_live_sink_loses_frames_at_budget(void **state)
{
	struct fixture *fx = *state;
	burst_of_three(fx, VZ_SINK_LIVE);
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_int_equal(fx->h.pushed, 1);
	assert_int_equal(st.sink[0].drops_budget, 2);
}

static void test_record_sink_frames_wait_in_order(void **state)
{
	struct fixture *fx = *state;
	burst_of_three(fx, VZ_SINK_RECORD);
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_int_equal(fx->h.pushed, 3);
	assert_int_equal(fx->h.released, 3);
	assert_int_equal(fx->h.order_errors, 0);
	assert_int_equal(st.sink[0].drops_budget, 0);
	assert_int_equal(st.sink[0].policy, VZ_SINK_RECORD);
	assert_true(fx->h.max_held <= 1); /* the budget still holds */
	assert_int_equal(vz_pipeline_inflight(fx->pipe), 0);
}

/* -n N with a record sink: exactly N reach it, even when frames come faster
 * than it takes them. */
static void test_record_sink_gets_exactly_n(void **state)
{
	struct fixture *fx = *state;
	remake(fx, (struct vz_pipeline_config){.max_frames = 5, .reconnect_timeout_ms = -1});
	fx->h.hold_us = 20000;
	add(fx, &fx->h, 1, VZ_SINK_RECORD);
	add_null(fx);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	for (int i = 0; i < 12 && !vz_loop_quitting(fx->loop); i++) {
		fake_source_produce(&fx->fs, 1);
		dispatch_for(fx, 8);
	}
	WAIT_FOR(fx, vz_loop_quitting(fx->loop));
	assert_int_equal(vz_loop_run(fx->loop), 0);
	assert_int_equal(vz_pipeline_stop(fx->pipe, NULL), 0);
	assert_int_equal(fx->h.pushed, 5);
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_int_equal(st.sink[0].drops_budget, 0);
}

static void test_max_frames_quits(void **state)
{
	struct fixture *fx = *state;
	remake(fx, (struct vz_pipeline_config){.max_frames = 7, .reconnect_timeout_ms = -1});
	add_null(fx);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	fake_source_produce(&fx->fs, 20);
	assert_int_equal(vz_loop_run(fx->loop), 0);
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_int_equal(st.frames, 7);
	vz_pipeline_stop(fx->pipe, NULL);
}

/* ---- processing ---- */

struct order_ctx {
	int calls[2];
	int seq;
	int fail;
};

static int proc_a(void *ctx, struct vz_frame_map *m, struct vz_err *err)
{
	struct order_ctx *o = ctx;
	(void)err;
	o->calls[0] = ++o->seq;
	m->plane[0][0] = 0xA5; /* in place */
	return 0;
}

static int proc_b(void *ctx, struct vz_frame_map *m, struct vz_err *err)
{
	struct order_ctx *o = ctx;
	o->calls[1] = ++o->seq;
	if (o->fail)
		return vz_err_set(err, -EINVAL, "bad pixels");
	m->plane[0][1] = (uint8_t)(m->plane[0][0] ^ 0xFF);
	return 0;
}

static bool peek(struct holder *h, struct vz_frame *f, bool at_push, void *ctx)
{
	uint8_t *b = ctx;
	(void)h;
	if (at_push) {
		b[0] = ((uint8_t *)f->buf->mem[0].map)[0];
		b[1] = ((uint8_t *)f->buf->mem[0].map)[1];
	}
	return true;
}

static unsigned sum(const unsigned *v)
{
	unsigned s = 0;
	for (unsigned i = 0; i < FAKE_MAX; i++)
		s += v[i];
	return s;
}

static void test_processors_in_order_before_sinks(void **state)
{
	struct fixture *fx = *state;
	struct order_ctx o = {0};
	uint8_t seen[2] = {0};
	fx->h.check = peek;
	fx->h.check_ctx = seen;
	assert_int_equal(vz_pipeline_add_processor(fx->pipe, "a", proc_a, &o, NULL), 0);
	assert_int_equal(vz_pipeline_add_processor(fx->pipe, "b", proc_b, &o, NULL), 0);
	add(fx, &fx->h, 3, VZ_SINK_LIVE);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 3);
	WAIT_FOR(fx, fx->h.released == 3);
	assert_int_equal(fx->h.pushed, 3);
	assert_int_equal(o.calls[0], 5);
	assert_int_equal(o.calls[1], 6);
	assert_int_equal(seen[0], 0xA5);
	assert_int_equal(seen[1], 0x5A);
	/* Every frame was bracketed for CPU writing: as many ENDs as STARTs. */
	struct fake_set *fs = fx->fs.set;
	assert_int_equal(sum(fs->sync_begin), 3);
	assert_int_equal(sum(fs->sync_write), 3);
	assert_int_equal(sum(fs->sync_end), 3);
	const struct vz_frame_record *r = vz_telemetry_get(vz_pipeline_telemetry(fx->pipe), 2);
	assert_true(r->t_processed >= r->t_dqbuf);
	assert_true(r->t_handoff[0] >= r->t_processed);
	vz_pipeline_stop(fx->pipe, NULL);
}

static void test_processor_failure_stops_run(void **state)
{
	struct fixture *fx = *state;
	struct order_ctx o = {.fail = 1};
	vz_pipeline_add_processor(fx->pipe, "b", proc_b, &o, NULL);
	add(fx, &fx->h, 1, VZ_SINK_LIVE);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 3);
	assert_true(vz_loop_quitting(fx->loop));
	assert_int_equal(fx->h.pushed, 0); /* a half-processed frame never left */
	const struct vz_err *e = vz_pipeline_error(fx->pipe);
	assert_int_equal(e->code, -EINVAL);
	assert_non_null(strstr(e->msg, "processor b: bad pixels"));
	/* END pairs with START even when a processor fails. */
	assert_int_equal(sum(fx->fs.set->sync_begin), 1);
	assert_int_equal(sum(fx->fs.set->sync_end), 1);
	vz_pipeline_stop(fx->pipe, NULL);
	assert_int_equal(vz_pipeline_inflight(fx->pipe), 0);
}

static void test_no_sync_without_processors(void **state)
{
	struct fixture *fx = *state;
	add_null(fx);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 5);
	assert_int_equal(sum(fx->fs.set->sync_begin), 0);
	vz_pipeline_stop(fx->pipe, NULL);
}

/* ---- failures ---- */

static void test_push_failure_counted_and_reported(void **state)
{
	struct fixture *fx = *state;
	fx->h.fail_push = -EPIPE;
	add(fx, &fx->h, 2, VZ_SINK_LIVE);
	add_null(fx);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 5);
	assert_true(vz_loop_quitting(fx->loop));
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_int_equal(st.sink[0].drops_failure, 1);
	assert_int_equal(st.sink[1].frames, 1);
	assert_non_null(strstr(vz_pipeline_error(fx->pipe)->msg, "holder refuses frames"));
	vz_pipeline_stop(fx->pipe, NULL);
	assert_int_equal(vz_pipeline_inflight(fx->pipe), 0);
}

static void test_async_sink_failure_stops_run(void **state)
{
	struct fixture *fx = *state;
	fx->h.fail_async = true;
	add(fx, &fx->h, 2, VZ_SINK_LIVE);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 20);
	WAIT_FOR(fx, vz_loop_quitting(fx->loop));
	assert_true(vz_loop_quitting(fx->loop));
	assert_int_equal(vz_loop_run(fx->loop), -EPIPE);
	assert_non_null(strstr(vz_pipeline_error(fx->pipe)->msg, "downstream went away"));
	vz_pipeline_stop(fx->pipe, NULL);
	assert_int_equal(fx->h.released, fx->h.pushed);
}

/* A sink whose stream ended cleanly gets no more frames; the others go on. */
static void test_sink_ended_others_go_on(void **state)
{
	struct fixture *fx = *state;
	fx->h.end_async = true;
	add(fx, &fx->h, 2, VZ_SINK_RECORD);
	add_null(fx);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 3);
	dispatch_for(fx, 100);
	run_frames(fx, 10);
	assert_false(vz_loop_quitting(fx->loop));
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_int_equal(st.sink[1].frames, 13);
	assert_true(st.sink[0].drops_ended >= 9);
	assert_non_null(strstr(st.sink[0].ended, "recording is complete"));
	assert_true(fx->nevents >= 1);
	assert_non_null(strstr(fx->events[fx->nevents - 1], "ended its stream"));
	assert_int_equal(vz_pipeline_stop(fx->pipe, NULL), 0);
}

/* A sink that learns in push() that its stream is over (a muxer refused
 * the caps on another thread a moment ago) says -ESHUTDOWN: an end, not a
 * failure of the run. */
static void test_push_ended_is_not_a_failure(void **state)
{
	struct fixture *fx = *state;
	fx->h.end_in_push = 3;
	add(fx, &fx->h, 4, VZ_SINK_RECORD);
	add_null(fx);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 10);
	assert_false(vz_loop_quitting(fx->loop));
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_int_equal(fx->h.pushed, 2);
	assert_int_equal(st.sink[0].drops_failure, 0);
	assert_int_equal(st.sink[0].drops_ended, 8);
	assert_int_equal(st.sink[1].frames, 10);
	assert_non_null(strstr(st.sink[0].ended, "recording is complete"));
	assert_int_equal(vz_pipeline_stop(fx->pipe, NULL), 0);
	assert_int_equal(vz_pipeline_inflight(fx->pipe), 0);
}

/* A sink that gave the frame back and then failed its push: the frame is
 * not released twice (it would go back to the driver while the next sink
 * reads it). */
static void test_release_inside_a_failed_push(void **state)
{
	struct fixture *fx = *state;
	fx->h2.never_release = true;
	fx->h.fail_push = -EIO;
	fx->h.release_in_push = true;
	add(fx, &fx->h2, 2, VZ_SINK_LIVE);
	add(fx, &fx->h, 2, VZ_SINK_LIVE);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 1);
	assert_true(vz_loop_quitting(fx->loop));
	assert_int_equal(fx->h2.pushed, 1);
	/* the first sink still holds it: not back in the driver */
	assert_int_equal(vz_pipeline_inflight(fx->pipe), 1);
	assert_int_equal(fx->fs.nqueued, 5);
	release_all(&fx->h2);
	vz_pipeline_stop(fx->pipe, NULL);
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_int_equal(st.sink[1].drops_failure, 1);
	assert_int_equal(fx->fs.queue_errors, 0);
	assert_int_equal(vz_pipeline_inflight(fx->pipe), 0);
}

static void test_driver_gap_and_source_error(void **state)
{
	struct fixture *fx = *state;
	add_null(fx);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 5);
	fx->fs.skip_next = 3;
	run_frames(fx, 5);
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_int_equal(st.drops[VZ_DROP_DRIVER_GAP], 3);
	const struct vz_frame_record *r = vz_telemetry_get(vz_pipeline_telemetry(fx->pipe), 5);
	assert_int_equal(r->gap, 3);
	/* a gap of 3 frames makes the interval 4x nominal: late */
	assert_int_equal(st.late_frames, 1);
	fx->fs.next_error = -EIO;
	run_frames(fx, 1);
	assert_true(vz_loop_quitting(fx->loop));
	assert_int_equal(vz_pipeline_error(fx->pipe)->code, -EIO);
	vz_pipeline_stop(fx->pipe, NULL);
}

/* A source that stops delivering is reported, not waited on forever. */
static void test_stall_is_detected(void **state)
{
	struct fixture *fx = *state;
	remake(fx, (struct vz_pipeline_config){.stall_timeout_ns = 300 * VZ_NSEC_PER_MSEC,
	                                       .reconnect_timeout_ms = -1});
	add_null(fx);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 3);
	int64_t t0 = vz_now_ns();
	WAIT_FOR(fx, vz_loop_quitting(fx->loop));
	assert_true(vz_loop_quitting(fx->loop));
	assert_true(vz_now_ns() - t0 < 2 * VZ_NSEC_PER_SEC);
	assert_int_equal(vz_pipeline_error(fx->pipe)->code, -ETIMEDOUT);
	assert_non_null(strstr(vz_pipeline_error(fx->pipe)->msg, "stalled"));
	vz_pipeline_stop(fx->pipe, NULL);
}

/* The watchdog is one timer aimed at the moment progress goes stale: a
 * stream that keeps delivering past several timeouts is never called
 * stalled, and the stall is reported one timeout after the last frame, not
 * up to a whole timeout later (as a check re-armed by a full timeout is). */
static void test_stall_measured_from_the_last_frame(void **state)
{
	struct fixture *fx = *state;
	remake(fx, (struct vz_pipeline_config){.stall_timeout_ns = 300 * VZ_NSEC_PER_MSEC,
	                                       .reconnect_timeout_ms = -1});
	add_null(fx);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	int64_t t_last = 0;
	for (int i = 0; i < 4; i++) {
		/* 4 x 250 ms: each frame lands 250 ms into a 300 ms timeout */
		dispatch_for(fx, 250);
		assert_false(vz_loop_quitting(fx->loop));
		run_frames(fx, 1);
		t_last = vz_now_ns();
	}
	WAIT_FOR(fx, vz_loop_quitting(fx->loop));
	int64_t after = vz_now_ns() - t_last;
	assert_true(vz_loop_quitting(fx->loop));
	assert_int_equal(vz_pipeline_error(fx->pipe)->code, -ETIMEDOUT);
	assert_true(after >= 290 * VZ_NSEC_PER_MSEC);
	assert_true(after < 450 * VZ_NSEC_PER_MSEC);
	vz_pipeline_stop(fx->pipe, NULL);
}

/* ---- telemetry ---- */

/* A frame held longer than the ring is deep must not write its release time
 * into the record of the newer frame that took its slot. */
static void test_long_hold_leaves_newer_records_alone(void **state)
{
	struct fixture *fx = *state;
	remake(fx,
	       (struct vz_pipeline_config){.telemetry_capacity = 16, .reconnect_timeout_ms = -1});
	fx->h.never_release = true;
	add(fx, &fx->h, 1, VZ_SINK_LIVE);
	add_null(fx);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 40);
	assert_int_equal(fx->h.pushed, 1);
	pthread_mutex_lock(&fx->h.lock);
	fx->h.never_release = false;
	pthread_cond_signal(&fx->h.cond);
	pthread_mutex_unlock(&fx->h.lock);
	WAIT_FOR(fx, fx->h.released == 1);
	dispatch_for(fx, 20);
	const struct vz_telemetry *t = vz_pipeline_telemetry(fx->pipe);
	for (size_t i = 0; i < vz_telemetry_count(t); i++) {
		const struct vz_frame_record *r = vz_telemetry_get(t, i);
		assert_int_equal(r->t_release[0], 0); /* never pushed to the holder */
		assert_int_equal(r->sink_drop[0], VZ_DROP_SINK_BUDGET);
	}
	vz_pipeline_stop(fx->pipe, NULL);
}

/* ---- buffer negotiation ---- */

struct provider {
	struct holder h;
	unsigned calls;
	uint32_t width_seen;
	int fail;
};

static void dummy_destroy(struct vz_buffer_set *s)
{
	free(s);
}

static const struct vz_buffer_set_ops dummy_ops = {.destroy = dummy_destroy};

static int provider_provide(void *impl, const struct vz_format *fmt, unsigned count,
                            struct vz_buffer_set **out, struct vz_err *err)
{
	struct provider *p = impl;
	p->calls++;
	p->width_seen = fmt->width;
	if (p->fail)
		return vz_err_set(err, p->fail, "provider: no memory today");
	struct vz_buffer_set *s = calloc(1, sizeof(*s));
	vz_buffer_set_init(s, &dummy_ops);
	s->fmt = *fmt;
	s->count = count;
	snprintf(s->origin, sizeof(s->origin), "the provider's memory");
	*out = s;
	return 0;
}

static const struct vz_sink_ops provider_ops = {
        .kind = "provider",
        .provide = provider_provide,
        .start = holder_start,
        .set_buffers = holder_set_buffers,
        .push = holder_push,
        .stop = holder_stop,
        .get_stats = holder_stats,
        .destroy = holder_destroy,
};

static void add_provider(struct fixture *fx, struct provider *p)
{
	holder_init(&p->h);
	struct vz_sink s = {.ops = &provider_ops, .impl = p, .policy = VZ_SINK_LIVE};
	snprintf(s.name, sizeof(s.name), "provider");
	assert_int_equal(vz_pipeline_add_sink(fx->pipe, &s, NULL, NULL), 0);
}

static void test_sink_provides_buffers(void **state)
{
	struct fixture *fx = *state;
	struct provider p = {0};
	add_provider(fx, &p);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	assert_int_equal(p.calls, 1);
	assert_non_null(fx->fs.provided); /* the source was handed the provider's set */
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_non_null(strstr(st.buffers, "provided by sink provider"));
	assert_int_equal(st.buffers_note[0], '\0');
	vz_pipeline_stop(fx->pipe, NULL);
}

static void test_refused_buffers_fall_back_with_reason(void **state)
{
	struct fixture *fx = *state;
	struct provider p = {0};
	fx->fs.refuse_provided = true;
	add_provider(fx, &p);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_null(strstr(st.buffers, "provided by"));
	assert_non_null(strstr(st.buffers_note, "driver refuses that pitch"));
	assert_non_null(strstr(st.buffers_note, "capture allocates its own"));
	run_frames(fx, 3);
	assert_true(p.h.pushed > 0); /* it still gets frames, from capture's buffers */
	vz_pipeline_stop(fx->pipe, NULL);
}

/* ---- recovery ---- */

/* The device vanishes while a sink holds frames: nothing stops, the sink
 * is told of the new set, old frames stay valid and go home later. */
static void test_reconnect_keeps_sinks_running(void **state)
{
	struct fixture *fx = *state;
	remake(fx, (struct vz_pipeline_config){.reconnect_timeout_ms = 5000});
	struct content c;
	fx->h.never_release = true;
	fx->h.check = same_content;
	fx->h.check_ctx = &c;
	add(fx, &fx->h, 3, VZ_SINK_RECORD);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 3);
	assert_int_equal(fx->h.pushed, 3);
	struct fake_set *old = fx->fs.set;
	vz_buffer_set_ref(&old->base); /* to look at it after */
	fx->fs.back_after = 3;
	fx->fs.next_error = -ENODEV;
	fake_source_poke(&fx->fs);
	WAIT_FOR(fx, fx->fs.stats.reconnects == 1 && fx->fs.started);
	assert_int_equal(fx->fs.stats.reconnects, 1);
	assert_false(vz_loop_quitting(fx->loop));
	assert_int_equal(fx->h.sets, 2);                     /* a buffer-set change... */
	assert_false(fx->h.stopped_called);                  /* ...not a stop */
	assert_int_equal(vz_pipeline_inflight(fx->pipe), 3); /* old frames still out */
	assert_int_equal(fx->fs.sets_destroyed, 0);          /* the old set lives on */
	/* frames flow from the new set while the old ones are held */
	release_all(&fx->h);
	WAIT_FOR(fx, fx->h.released == 3);
	dispatch_for(fx, 20);
	assert_int_equal(fx->fs.stats.stale_queues, 3); /* they went home, forgotten */
	run_frames(fx, 4);
	WAIT_FOR(fx, fx->h.released == 7);
	assert_int_equal(fx->h.pushed, 7);
	assert_int_equal(fx->h.corrupted, 0);
	assert_int_equal(fx->h.last_generation, 2);
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_int_equal(st.recoveries, 1);
	assert_int_equal(st.generation, 2);
	assert_true(st.last_resume_ns > 0);
	/* the wait for the device is part of the outage, not of the resume */
	assert_true(st.last_outage_ns > st.last_resume_ns);
	assert_int_equal(fx->nevents, 2);
	assert_non_null(strstr(fx->events[0], "the device is gone; waiting up to 5 s"));
	assert_non_null(strstr(fx->events[1], "the device is back"));
	vz_buffer_set_unref(&old->base);
	assert_int_equal(fx->fs.sets_destroyed, 1); /* ours was the last reference */
	assert_int_equal(vz_pipeline_stop(fx->pipe, NULL), 0);
	assert_int_equal(vz_pipeline_inflight(fx->pipe), 0);
}

static void test_reconnect_gives_up_at_the_deadline(void **state)
{
	struct fixture *fx = *state;
	remake(fx, (struct vz_pipeline_config){.reconnect_timeout_ms = 300});
	add_null(fx);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 2);
	fx->fs.next_error = -ENODEV; /* back_after 0: never */
	fake_source_poke(&fx->fs);
	WAIT_FOR(fx, vz_loop_quitting(fx->loop));
	assert_int_equal(vz_loop_run(fx->loop), -ETIMEDOUT);
	assert_non_null(strstr(vz_pipeline_error(fx->pipe)->msg, "did not come back within 0.3 s"));
	vz_pipeline_stop(fx->pipe, NULL);
}

/* Waiting for a device never blocks the loop: quitting meanwhile works. */
static void test_quit_while_waiting_for_device(void **state)
{
	struct fixture *fx = *state;
	remake(fx, (struct vz_pipeline_config){.reconnect_timeout_ms = 0}); /* forever */
	add_null(fx);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 2);
	fx->fs.next_error = -ENODEV;
	fake_source_poke(&fx->fs);
	dispatch_for(fx, 250);
	assert_true(fx->fs.attempts >= 1); /* it is trying */
	vz_loop_quit(fx->loop, 0);
	int64_t t0 = vz_now_ns();
	assert_int_equal(vz_pipeline_stop(fx->pipe, NULL), 0);
	assert_true(vz_now_ns() - t0 < VZ_NSEC_PER_SEC / 2);
}

static void test_source_change_new_format_to_sinks(void **state)
{
	struct fixture *fx = *state;
	struct provider p = {0};
	remake(fx, (struct vz_pipeline_config){.reconnect_timeout_ms = -1});
	add_provider(fx, &p);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 2);
	fx->fs.change_format = 1;
	fx->fs.new_width = 32;
	fake_source_poke(&fx->fs);
	WAIT_FOR(fx, p.h.sets == 2);
	assert_int_equal(p.h.sets, 2);
	assert_int_equal(p.calls, 2);       /* buffer negotiation ran again */
	assert_int_equal(p.width_seen, 32); /* for the new format */
	run_frames(fx, 3);
	WAIT_FOR(fx, p.h.released == p.h.pushed);
	assert_int_equal(p.h.last_generation, 2);
	assert_false(vz_loop_quitting(fx->loop));
	vz_pipeline_stop(fx->pipe, NULL);
}

/* Frames waiting for a record sink when the format changes reach it
 * before the new set does: behind set_buffers() they would go out under
 * the new caps. */
static void test_waiting_frames_go_before_a_new_set(void **state)
{
	struct fixture *fx = *state;
	struct vz_pipeline_stats st;
	fx->h.hold_us = 100000;
	add(fx, &fx->h, 1, VZ_SINK_RECORD);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	fake_source_produce(&fx->fs, 3);
	WAIT_FOR(fx, fx->fs.pending == 0);
	assert_int_equal(fx->h.pushed, 1); /* one held, two waiting */
	fx->fs.change_format = 1;
	fake_source_poke(&fx->fs);
	WAIT_FOR(fx, fx->h.sets == 2);
	run_frames(fx, 2);
	WAIT_FOR(fx, fx->h.released == 5);
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_int_equal(fx->h.pushed, 5);
	assert_int_equal(fx->h.stale_pushes, 0);
	assert_int_equal(fx->h.order_errors, 0);
	assert_int_equal(st.sink[0].drops_budget, 0);
	assert_int_equal(fx->h.last_generation, 2);
	assert_int_equal(vz_pipeline_stop(fx->pipe, NULL), 0);
}

/* With no more buffers than capture keeps queued, no frame could ever
 * reach a sink: refused at start, with the fix. */
static void test_too_few_buffers_refused(void **state)
{
	struct fixture *fx = *state;
	struct vz_err e = {0};
	vz_pipeline_destroy(fx->pipe);
	fx->pipe = NULL;
	fake_source_fini(&fx->fs);
	assert_int_equal(
	        fake_source_init(&fx->fs, VZ_FOURCC('Y', 'U', 'Y', 'V'), W, H, STRIDE, SIZE, 2), 0);
	make_pipe(fx, &(struct vz_pipeline_config){.reconnect_timeout_ms = -1});
	add_null(fx);
	assert_int_equal(vz_pipeline_start(fx->pipe, &e), -ENOBUFS);
	assert_non_null(strstr(e.msg, "2 buffers"));
	assert_non_null(strstr(e.msg, "at least 4 (--buffers)"));
}

/* ---- teardown ---- */

/* A sink that never stops and never releases: stop says so within the
 * deadline, destroy leaves what the frames point into alive, and releasing
 * them later is safe (ASan would see a use after free). */
struct leaky {
	struct vz_sink_port *port;
	struct vz_frame *kept[8];
	unsigned n;
};

static int leaky_start(void *impl, struct vz_sink_port *port, struct vz_buffer_set *set,
                       struct vz_err *err)
{
	(void)set;
	(void)err;
	((struct leaky *)impl)->port = port;
	return 0;
}

static int leaky_set_buffers(void *impl, struct vz_buffer_set *set, struct vz_err *err)
{
	(void)impl;
	(void)set;
	(void)err;
	return 0;
}

static int leaky_push(void *impl, struct vz_frame *f, struct vz_err *err)
{
	(void)err;
	struct leaky *l = impl;
	if (l->n < 8)
		l->kept[l->n++] = f;
	return 0;
}

static int leaky_stop(void *impl, struct vz_err *err)
{
	(void)impl;
	(void)err;
	return 0; /* never calls vz_port_stopped */
}

static void leaky_stats(void *impl, struct vz_sink_stats *out)
{
	(void)impl;
	(void)out;
}

static void leaky_destroy(void *impl)
{
	(void)impl;
}

static const struct vz_sink_ops leaky_ops = {
        .kind = "leaky",
        .start = leaky_start,
        .set_buffers = leaky_set_buffers,
        .push = leaky_push,
        .stop = leaky_stop,
        .get_stats = leaky_stats,
        .destroy = leaky_destroy,
};

static void test_destroy_while_a_sink_holds_frames(void **state)
{
	struct fixture *fx = *state;
	struct leaky l = {0};
	remake(fx, (struct vz_pipeline_config){.stop_timeout_ns = 200 * VZ_NSEC_PER_MSEC,
	                                       .reconnect_timeout_ms = -1});
	struct vz_sink s = {.ops = &leaky_ops, .impl = &l};
	snprintf(s.name, sizeof(s.name), "leaky");
	struct vz_sink_config c = {.budget = 3};
	assert_int_equal(vz_pipeline_add_sink(fx->pipe, &s, &c, NULL), 0);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 3);
	assert_int_equal(l.n, 3);
	struct vz_err e = {0};
	int64_t t0 = vz_now_ns();
	assert_int_equal(vz_pipeline_stop(fx->pipe, &e), -ETIMEDOUT);
	assert_true(vz_now_ns() - t0 < VZ_NSEC_PER_SEC);
	assert_non_null(strstr(e.msg, "sink leaky did not finish"));
	vz_pipeline_destroy(fx->pipe);
	fx->pipe = NULL;
	/* The broken sink lets go at last, after its pipeline is gone. */
	for (unsigned i = 0; i < l.n; i++)
		vz_port_release(l.port, l.kept[i]);
}

/* Stopping from inside a loop callback cannot wait for sinks: refused. */
static void stop_inside(void *data, uint64_t exp)
{
	struct fixture *fx = data;
	struct vz_err e = {0};
	(void)exp;
	assert_int_equal(vz_pipeline_stop(fx->pipe, &e), -EDEADLK);
	assert_non_null(strstr(e.msg, "after vz_loop_run() returns"));
	vz_loop_quit(fx->loop, 0);
}

static void test_stop_from_a_callback_is_refused(void **state)
{
	struct fixture *fx = *state;
	add_null(fx);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	assert_int_equal(vz_loop_add_timer(fx->loop, 1000000, 0, stop_inside, fx, NULL, NULL), 0);
	assert_int_equal(vz_loop_run(fx->loop), 0);
	assert_int_equal(vz_pipeline_stop(fx->pipe, NULL), 0);
}

/* ---- allocation ---- */

static void test_no_allocation_per_frame(void **state)
{
	struct fixture *fx = *state;
	struct order_ctx o = {0};
	fx->h.hold_us = 100;
	add(fx, &fx->h, 2, VZ_SINK_RECORD);
	add_null(fx);
	vz_pipeline_add_processor(fx->pipe, "a", proc_a, &o, NULL);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 50); /* warm up */
	uint64_t before = __atomic_load_n(&allocs, __ATOMIC_RELAXED);
	run_frames(fx, 500);
	uint64_t after = __atomic_load_n(&allocs, __ATOMIC_RELAXED);
	assert_int_equal(after - before, 0);
	vz_pipeline_stop(fx->pipe, NULL);
}

/* The counter itself must be able to fail. */
static void test_allocation_counter_counts(void **state)
{
	(void)state;
	uint64_t before = __atomic_load_n(&allocs, __ATOMIC_RELAXED);
	void *volatile p = malloc(64);
	free(p);
	assert_int_equal(__atomic_load_n(&allocs, __ATOMIC_RELAXED) - before, 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(test_null_sink_every_frame_back),
	        T(test_never_requeued_while_held),
	        T(test_scribble_detects_early_requeue),
	        T(test_budget_drops_per_sink),
	        T(test_driver_keeps_min_queued),
	        T(test_live_sink_loses_frames_at_budget),
	        T(test_record_sink_frames_wait_in_order),
	        T(test_record_sink_gets_exactly_n),
	        T(test_max_frames_quits),
	        T(test_processors_in_order_before_sinks),
	        T(test_processor_failure_stops_run),
	        T(test_no_sync_without_processors),
	        T(test_push_failure_counted_and_reported),
	        T(test_async_sink_failure_stops_run),
	        T(test_sink_ended_others_go_on),
	        T(test_push_ended_is_not_a_failure),
	        T(test_release_inside_a_failed_push),
	        T(test_driver_gap_and_source_error),
	        T(test_stall_is_detected),
	        T(test_stall_measured_from_the_last_frame),
	        T(test_long_hold_leaves_newer_records_alone),
	        T(test_sink_provides_buffers),
	        T(test_refused_buffers_fall_back_with_reason),
	        T(test_reconnect_keeps_sinks_running),
	        T(test_reconnect_gives_up_at_the_deadline),
	        T(test_quit_while_waiting_for_device),
	        T(test_source_change_new_format_to_sinks),
	        T(test_waiting_frames_go_before_a_new_set),
	        T(test_too_few_buffers_refused),
	        T(test_destroy_while_a_sink_holds_frames),
	        T(test_stop_from_a_callback_is_refused),
	        T(test_no_allocation_per_frame),
	        T(test_allocation_counter_counts),
	};
	return cmocka_run_group_tests_name("pipeline", tests, NULL, NULL);
}
