/* SPDX-License-Identifier: MIT */
/*
 * The ownership contract against a real driver: vivid -> stamp -> two
 * sinks.  The "slow" sink holds each frame for HOLD ms on its own thread and,
 * at release, reads the stamp back from the buffer: if the pipeline had
 * requeued the buffer while the sink held it, vivid would have written a
 * new picture (and a new stamp) into it.  The "fast" sink releases at once
 * and must receive every frame; the slow one must show budget drops.
 *
 * Usage: vz-hold-sink DEV FRAMES HOLD_MS BUDGET
 * Prints one line of counts; exits 0 only if every check passed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "pipeline.h"
#include "process.h"

#define QMAX 64

struct slow {
	struct vz_sink_port *port;
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct vz_frame *q[QMAX];
	unsigned head, tail;
	bool quit;
	unsigned hold_ms;
	unsigned checked, bad_stamp, pushed;
	uint32_t last_bad_seq, last_bad_read;
};

static void check_and_release(struct slow *s, struct vz_frame *f)
{
	struct vz_frame_map m;
	struct vz_stamp st;
	if (vz_frame_map_init(&m, f->fmt, f->buf, &f->info) == 0 && vz_stamp_read(&m, &st) == 0 &&
	    st.sequence == f->info.sequence && st.t_ns == f->info.t_driver_ns) {
		s->checked++;
	} else {
		s->bad_stamp++;
		s->last_bad_seq = f->info.sequence;
		s->last_bad_read = st.sequence;
	}
	vz_port_release(s->port, f);
}

static void *slow_thread(void *arg)
{
	struct slow *s = arg;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->quit && s->head == s->tail)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->head == s->tail)
			break;
		struct vz_frame *f = s->q[s->tail++ % QMAX];
		pthread_mutex_unlock(&s->lock);
		usleep(s->hold_ms * 1000);
		check_and_release(s, f);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static int slow_start(void *impl, struct vz_sink_port *port, struct vz_err *err)
{
	struct slow *s = impl;
	s->port = port;
	s->quit = false;
	if (pthread_create(&s->thread, NULL, slow_thread, s) != 0)
		return vz_err_set(err, -EAGAIN, "cannot start the slow sink's thread");
	s->running = true;
	return 0;
}

static int slow_push(void *impl, struct vz_frame *f, struct vz_err *err)
{
	(void)err;
	struct slow *s = impl;
	pthread_mutex_lock(&s->lock);
	s->q[s->head++ % QMAX] = f;
	s->pushed++;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int slow_stop(void *impl, int64_t timeout_ns, struct vz_err *err)
{
	(void)timeout_ns;
	(void)err;
	struct slow *s = impl;
	pthread_mutex_lock(&s->lock);
	s->quit = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (s->running)
		pthread_join(s->thread, NULL);
	s->running = false;
	return 0;
}

static void slow_stats(void *impl, struct vz_sink_stats *out)
{
	struct slow *s = impl;
	snprintf(out->proof, sizeof(out->proof), "stamps intact at release: %u/%u", s->checked,
	         s->checked + s->bad_stamp);
}

static void slow_destroy(void *impl)
{
	(void)impl;
}

static const struct vz_sink_ops slow_ops = {
        .kind = "slow",
        .start = slow_start,
        .push = slow_push,
        .stop = slow_stop,
        .get_stats = slow_stats,
        .destroy = slow_destroy,
};

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s DEV FRAMES HOLD_MS BUDGET\n", argv[0]);
		return 2;
	}
	struct vz_err err = {0};
	struct vz_capture *cap = NULL;
	struct vz_loop *loop = NULL;
	struct vz_pipeline *pipe = NULL;
	struct slow s = {.hold_ms = (unsigned)atoi(argv[3])};
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);
	int ret = 1;

	struct vz_capture_config cc = {
	        .device = argv[1],
	        .fourcc = VZ_FOURCC('Y', 'U', 'Y', 'V'),
	        .width = 640,
	        .height = 480,
	        .fps_num = 25,
	        .fps_den = 1,
	        .buffers = 8,
	};
	if (vz_capture_open(&cap, &cc, &err) < 0 || vz_loop_create(&loop, &err) < 0)
		goto out;
	struct vz_pipeline_config pc = {
	        .source = vz_capture_source(cap),
	        .loop = loop,
	        .max_frames = strtoull(argv[2], NULL, 10),
	        .reconnect_timeout_ms = -1,
	};
	if (vz_pipeline_create(&pipe, &pc, &err) < 0 ||
	    vz_pipeline_add_processor(pipe, "stamp", vz_stamp_process, NULL, &err) < 0)
		goto out;
	struct vz_sink slow_sink = {.ops = &slow_ops, .impl = &s};
	snprintf(slow_sink.name, sizeof(slow_sink.name), "slow");
	struct vz_sink fast;
	if (vz_pipeline_add_sink(pipe, &slow_sink, (unsigned)atoi(argv[4]), &err) < 0 ||
	    vz_sink_null_create(&fast, &err) < 0 || vz_pipeline_add_sink(pipe, &fast, 2, &err) < 0)
		goto out;
	if (vz_pipeline_start(pipe, &err) < 0)
		goto out;
	int status = vz_loop_run(loop);
	if (vz_pipeline_stop(pipe, &err) < 0 || status < 0) {
		if (status < 0)
			err = *vz_pipeline_error(pipe);
		goto out;
	}
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(pipe, &st);
	printf("frames %llu slow_pushed %u slow_checked %u slow_bad %u slow_budget_drops %llu "
	       "fast_frames %llu fast_drops %llu inflight_hwm %u driver_gaps %llu\n",
	       (unsigned long long)st.frames, s.pushed, s.checked, s.bad_stamp,
	       (unsigned long long)st.sink[0].drops_budget, (unsigned long long)st.sink[1].frames,
	       (unsigned long long)st.sink[1].drops_budget, st.inflight_hwm,
	       (unsigned long long)st.drops[VZ_DROP_DRIVER_GAP]);
	ret = 0;
	if (s.bad_stamp) {
		fprintf(stderr, "FAIL: %u frame(s) changed while held (seq %u read back as %u)\n",
		        s.bad_stamp, s.last_bad_seq, s.last_bad_read);
		ret = 1;
	}
	if (s.checked != s.pushed || s.checked == 0) {
		fprintf(stderr, "FAIL: slow sink checked %u of %u frames\n", s.checked, s.pushed);
		ret = 1;
	}
	if (st.sink[1].frames != st.frames) {
		fprintf(stderr, "FAIL: the fast sink got %llu of %llu frames\n",
		        (unsigned long long)st.sink[1].frames, (unsigned long long)st.frames);
		ret = 1;
	}
	if (st.sink[0].drops_budget == 0) {
		fprintf(stderr, "FAIL: the slow sink never hit its budget\n");
		ret = 1;
	}
	if (st.sink[0].frames + st.sink[0].drops_budget != st.frames) {
		fprintf(stderr, "FAIL: slow sink frames + drops != frames\n");
		ret = 1;
	}
out:
	if (err.msg[0])
		fprintf(stderr, "vz-hold-sink: %s\n", err.msg);
	vz_pipeline_destroy(pipe);
	vz_loop_destroy(loop);
	vz_capture_close(cap);
	return ret;
}
