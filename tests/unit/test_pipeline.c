/* SPDX-License-Identifier: MIT */
/*
 * Pipeline ownership, budgets, processing order and failure handling,
 * against the fake source (tests/unit/fake-source.h), whose "driver"
 * scribbles on every buffer it holds: a frame requeued too early is caught
 * as changed content.
 */
#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the headers above first */
#include <cmocka.h>

#include "fake-source.h"
#include "pipeline.h"
#include "vz-config.h"

#define W      64
#define H      16
#define STRIDE (W * 2)
#define SIZE   (STRIDE * H)

struct holder;
static size_t holder_size(void);

struct fixture {
	struct fake_source fs;
	struct vz_loop *loop;
	struct vz_pipeline *pipe;
	struct holder *holderp;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	assert_int_equal(
	        fake_source_init(&fx->fs, VZ_FOURCC('Y', 'U', 'Y', 'V'), W, H, STRIDE, SIZE, 6), 0);
	assert_int_equal(vz_loop_create(&fx->loop, NULL), 0);
	struct vz_pipeline_config cfg = {
	        .source = fake_source_as_source(&fx->fs),
	        .loop = fx->loop,
	        .telemetry_capacity = 4096,
	        .reconnect_timeout_ms = -1,
	};
	assert_int_equal(vz_pipeline_create(&fx->pipe, &cfg, NULL), 0);
	fx->holderp = calloc(1, holder_size());
	assert_non_null(fx->holderp);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	vz_pipeline_destroy(fx->pipe);
	vz_loop_destroy(fx->loop);
	fake_source_fini(&fx->fs);
	free(fx->holderp);
	free(fx);
	return 0;
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

/* ---- a sink that holds frames and releases them from its own thread ---- */

struct holder {
	struct vz_sink_port *port;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct vz_frame *q[64];
	uint8_t first[64]; /* content seen at push */
	unsigned head, tail;
	bool quit;
	bool thread_started;
	unsigned hold_us;   /* how long each frame is held */
	bool never_release; /* until stop() */
	unsigned corrupted; /* frames whose content changed while held */
	unsigned pushed, released;
	int fail_push;   /* push returns this */
	bool fail_async; /* vz_port_fail() from the thread on first frame */
};

static void holder_release_one(struct holder *h, struct vz_frame *f, uint8_t first)
{
	const uint8_t *px = f->buf->mem[0].map;
	for (size_t i = 0; i < f->buf->mem[0].length; i++) {
		if (px[i] != first) {
			h->corrupted++;
			break;
		}
	}
	h->released++;
	vz_port_release(h->port, f);
}

static void *holder_thread(void *arg)
{
	struct holder *h = arg;
	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (!h->quit && (h->head == h->tail || h->never_release))
			pthread_cond_wait(&h->cond, &h->lock);
		if (h->head == h->tail && h->quit)
			break;
		struct vz_frame *f = h->q[h->tail % 64];
		uint8_t first = h->first[h->tail % 64];
		h->tail++;
		bool fail = h->fail_async;
		h->fail_async = false;
		pthread_mutex_unlock(&h->lock);
		if (fail)
			vz_port_fail(h->port, -EPIPE, "downstream went away");
		usleep(h->hold_us);
		holder_release_one(h, f, first);
		pthread_mutex_lock(&h->lock);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

static int holder_start(void *impl, struct vz_sink_port *port, struct vz_err *err)
{
	(void)err;
	struct holder *h = impl;
	h->port = port;
	h->quit = false;
	if (pthread_create(&h->thread, NULL, holder_thread, h) != 0)
		return -EAGAIN;
	h->thread_started = true;
	return 0;
}

static int holder_push(void *impl, struct vz_frame *f, struct vz_err *err)
{
	struct holder *h = impl;
	if (h->fail_push)
		return vz_err_set(err, h->fail_push, "holder refuses frames");
	pthread_mutex_lock(&h->lock);
	h->first[h->head % 64] = ((const uint8_t *)f->buf->mem[0].map)[0];
	h->q[h->head++ % 64] = f;
	h->pushed++;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static int holder_stop(void *impl, int64_t timeout_ns, struct vz_err *err)
{
	(void)timeout_ns;
	(void)err;
	struct holder *h = impl;
	pthread_mutex_lock(&h->lock);
	h->quit = true;
	h->never_release = false;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	if (h->thread_started)
		pthread_join(h->thread, NULL);
	h->thread_started = false;
	return 0;
}

static void holder_stats(void *impl, struct vz_sink_stats *out)
{
	(void)impl;
	(void)out;
}

static void holder_destroy(void *impl)
{
	(void)impl; /* owned by the test */
}

static const struct vz_sink_ops holder_ops = {
        .kind = "holder",
        .start = holder_start,
        .push = holder_push,
        .stop = holder_stop,
        .get_stats = holder_stats,
        .destroy = holder_destroy,
};

static size_t holder_size(void)
{
	return sizeof(struct holder);
}

static void holder_init(struct holder *h)
{
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
}

static void add_holder(struct fixture *fx, struct holder *h, unsigned budget)
{
	struct vz_sink s = {.ops = &holder_ops, .impl = h};
	snprintf(s.name, sizeof(s.name), "holder");
	assert_int_equal(vz_pipeline_add_sink(fx->pipe, &s, budget, NULL), 0);
}

static void add_null(struct fixture *fx)
{
	struct vz_sink s;
	assert_int_equal(vz_sink_create("null", &s, NULL), 0);
	assert_int_equal(vz_pipeline_add_sink(fx->pipe, &s, 0, NULL), 0);
}

/* ---- tests ---- */

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
	struct holder *h = fx->holderp;
	holder_init(h);
	h->hold_us = 30000; /* slower than the frames arrive */
	add_holder(fx, h, 3);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 60);
	assert_int_equal(vz_pipeline_stop(fx->pipe, NULL), 0);
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_true(h->pushed > 0);
	assert_int_equal(h->released, h->pushed);
	assert_int_equal(h->corrupted, 0);
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
	uint8_t before = ((uint8_t *)fx->fs.bufs[0].mem[0].map)[0];
	fake_source_produce(&fx->fs, 1);
	uint8_t after = ((uint8_t *)fx->fs.bufs[0].mem[0].map)[0];
	assert_int_not_equal(before, after);
	vz_pipeline_stop(fx->pipe, NULL);
}

static void test_budget_drops_per_sink(void **state)
{
	struct fixture *fx = *state;
	struct holder *h = fx->holderp;
	holder_init(h);
	h->never_release = true;
	add_holder(fx, h, 1);
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
	const struct vz_frame_record *r = vz_telemetry_get(vz_pipeline_telemetry(fx->pipe), 10);
	assert_int_equal(r->sink_drop[0], VZ_DROP_SINK_BUDGET);
	assert_int_equal(r->sink_drop[1], VZ_DROP_NONE);
	assert_int_equal(vz_pipeline_stop(fx->pipe, NULL), 0);
	assert_int_equal(h->released, 1);
	assert_int_equal(h->corrupted, 0);
}

static void test_driver_keeps_min_queued(void **state)
{
	struct fixture *fx = *state;
	struct holder *h = fx->holderp;
	holder_init(h);
	h->never_release = true;
	add_holder(fx, h, 10); /* a budget bigger than the buffers */
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 30);
	/* 6 buffers, keep 2 in the driver: the sink can hold 4 at most... */
	assert_int_equal(h->pushed, 4);
	/* ...and capture never starved */
	assert_int_equal(fx->fs.starved, 0);
	assert_true(fx->fs.nqueued >= 2);
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_int_equal(st.frames, 30);
	assert_int_equal(st.sink[0].drops_budget, 26);
	vz_pipeline_stop(fx->pipe, NULL);
}

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

struct peek_sink {
	struct vz_sink_port *port;
	uint8_t b0, b1;
	unsigned n;
};

static int peek_start(void *impl, struct vz_sink_port *port, struct vz_err *err)
{
	(void)err;
	((struct peek_sink *)impl)->port = port;
	return 0;
}

static int peek_push(void *impl, struct vz_frame *f, struct vz_err *err)
{
	(void)err;
	struct peek_sink *s = impl;
	s->b0 = ((uint8_t *)f->buf->mem[0].map)[0];
	s->b1 = ((uint8_t *)f->buf->mem[0].map)[1];
	s->n++;
	vz_port_release(s->port, f);
	return 0;
}

static int peek_stop(void *impl, int64_t t, struct vz_err *err)
{
	(void)impl;
	(void)t;
	(void)err;
	return 0;
}

static const struct vz_sink_ops peek_ops = {
        .kind = "peek",
        .start = peek_start,
        .push = peek_push,
        .stop = peek_stop,
        .get_stats = holder_stats,
        .destroy = holder_destroy,
};

static void test_processors_in_order_before_sinks(void **state)
{
	struct fixture *fx = *state;
	struct order_ctx o = {0};
	struct peek_sink ps = {0};
	struct vz_sink s = {.ops = &peek_ops, .impl = &ps};
	assert_int_equal(vz_pipeline_add_processor(fx->pipe, "a", proc_a, &o, NULL), 0);
	assert_int_equal(vz_pipeline_add_processor(fx->pipe, "b", proc_b, &o, NULL), 0);
	assert_int_equal(vz_pipeline_add_sink(fx->pipe, &s, 1, NULL), 0);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 3);
	assert_int_equal(ps.n, 3);
	assert_int_equal(o.calls[0], 5);
	assert_int_equal(o.calls[1], 6);
	assert_int_equal(ps.b0, 0xA5);
	assert_int_equal(ps.b1, 0x5A);
	const struct vz_frame_record *r = vz_telemetry_get(vz_pipeline_telemetry(fx->pipe), 2);
	assert_true(r->t_processed >= r->t_dqbuf);
	assert_true(r->t_handoff[0] >= r->t_processed);
	vz_pipeline_stop(fx->pipe, NULL);
}

static void test_processor_failure_stops_run(void **state)
{
	struct fixture *fx = *state;
	struct order_ctx o = {.fail = 1};
	struct peek_sink ps = {0};
	struct vz_sink s = {.ops = &peek_ops, .impl = &ps};
	vz_pipeline_add_processor(fx->pipe, "b", proc_b, &o, NULL);
	vz_pipeline_add_sink(fx->pipe, &s, 1, NULL);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 3);
	assert_true(vz_loop_quitting(fx->loop));
	assert_int_equal(ps.n, 0); /* a half-processed frame never left */
	const struct vz_err *e = vz_pipeline_error(fx->pipe);
	assert_int_equal(e->code, -EINVAL);
	assert_non_null(strstr(e->msg, "processor b: bad pixels"));
	vz_pipeline_stop(fx->pipe, NULL);
	assert_int_equal(vz_pipeline_inflight(fx->pipe), 0);
}

static void test_push_failure_counted_and_reported(void **state)
{
	struct fixture *fx = *state;
	struct holder *h = fx->holderp;
	holder_init(h);
	h->fail_push = -EPIPE;
	add_holder(fx, h, 2);
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
	struct holder *h = fx->holderp;
	holder_init(h);
	h->fail_async = true;
	add_holder(fx, h, 2);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 20);
	/* The failure comes from the sink's thread: give it time to land. */
	int64_t end = vz_now_ns() + 2 * VZ_NSEC_PER_SEC;
	while (!vz_loop_quitting(fx->loop) && vz_now_ns() < end)
		vz_loop_dispatch(fx->loop, 10);
	assert_true(vz_loop_quitting(fx->loop));
	assert_int_equal(vz_loop_run(fx->loop), -EPIPE);
	assert_non_null(strstr(vz_pipeline_error(fx->pipe)->msg, "downstream went away"));
	vz_pipeline_stop(fx->pipe, NULL);
	assert_int_equal(h->released, h->pushed);
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

static void test_max_frames_quits(void **state)
{
	struct fixture *fx = *state;
	vz_pipeline_destroy(fx->pipe);
	struct vz_pipeline_config cfg = {
	        .source = fake_source_as_source(&fx->fs),
	        .loop = fx->loop,
	        .max_frames = 7,
	        .reconnect_timeout_ms = -1,
	};
	assert_int_equal(vz_pipeline_create(&fx->pipe, &cfg, NULL), 0);
	add_null(fx);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	fake_source_produce(&fx->fs, 20);
	assert_int_equal(vz_loop_run(fx->loop), 0);
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_int_equal(st.frames, 7);
	vz_pipeline_stop(fx->pipe, NULL);
}

static void test_no_allocation_per_frame(void **state)
{
	struct fixture *fx = *state;
	struct holder *h = fx->holderp;
	holder_init(h);
	h->hold_us = 100;
	add_holder(fx, h, 2);
	add_null(fx);
	struct order_ctx o = {0};
	vz_pipeline_add_processor(fx->pipe, "a", proc_a, &o, NULL);
	assert_int_equal(vz_pipeline_start(fx->pipe, NULL), 0);
	run_frames(fx, 50); /* warm up */
	struct mallinfo2 before = mallinfo2();
	run_frames(fx, 500);
	struct mallinfo2 after = mallinfo2();
	assert_int_equal(after.uordblks, before.uordblks);
	vz_pipeline_stop(fx->pipe, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_null_sink_every_frame_back, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_never_requeued_while_held, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_scribble_detects_early_requeue, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_budget_drops_per_sink, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_driver_keeps_min_queued, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_processors_in_order_before_sinks, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_processor_failure_stops_run, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_push_failure_counted_and_reported, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_async_sink_failure_stops_run, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_driver_gap_and_source_error, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_max_frames_quits, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_no_allocation_per_frame, setup, teardown),
	};
	return cmocka_run_group_tests_name("pipeline", tests, NULL, NULL);
}
