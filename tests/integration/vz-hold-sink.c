/* SPDX-License-Identifier: MIT */
/*
 * The ownership contract against a real driver: vivid -> stamp -> two
 * sinks.  The "slow" sink (tests/common/holder.h) holds each frame for
 * HOLD ms on its own thread and, at release, reads the stamp back from the
 * buffer: if the pipeline had requeued the buffer while the sink held it,
 * vivid would have written a new picture (and a new stamp) into it.  vivid
 * takes ~280 ms to refill a requeued buffer, so a hold must be longer than
 * that to see it, and the sink must really have held frames at once (its
 * budget): both are checked.  The "fast" sink releases at once and must
 * receive every frame; the slow one, a live sink, must show budget drops.
 *
 * DEV may be a libcamera selector (libcamera:...): the camera then captures
 * RGB3 480x360 at its own rate (vimc refills a buffer within a few frame
 * intervals, so the same hold sees an early requeue).
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

#include "camera.h"
#include "capture.h"
#include "holder.h"
#include "pipeline.h"
#include "process.h"
#include "sink-null.h"

/* What each frame showed when it was pushed.  The holder releases in push
 * order, so a FIFO pairs each release with its push.  The comparison is
 * against these copies, not the frame's own info: an early requeue lets the
 * next DQBUF of that buffer rewrite both picture and info, which would then
 * agree with each other. */
struct stamps {
	pthread_mutex_t lock;
	struct {
		uint32_t seq;
		int64_t t_ns;
	} pushed[HOLDER_Q];
	unsigned head, tail;
	unsigned checked, bad;
	uint32_t last_bad_seq, last_bad_read;
};

static bool read_stamp(struct vz_frame *f, struct vz_stamp *st)
{
	struct vz_frame_map m;
	return vz_frame_map_init(&m, f->fmt, f->buf, &f->info) == 0 && vz_stamp_read(&m, st) == 0;
}

static bool stamp_intact(struct holder *h, struct vz_frame *f, bool at_push, void *ctx)
{
	struct stamps *s = ctx;
	struct vz_stamp st = {0};
	bool readable = read_stamp(f, &st);
	(void)h;
	pthread_mutex_lock(&s->lock);
	if (at_push) {
		s->pushed[s->tail % HOLDER_Q].seq = f->info.sequence;
		s->pushed[s->tail % HOLDER_Q].t_ns = f->info.t_driver_ns;
		s->tail++;
		pthread_mutex_unlock(&s->lock);
		return true;
	}
	bool ok = false;
	uint32_t seq = 0;
	if (s->head != s->tail) {
		seq = s->pushed[s->head % HOLDER_Q].seq;
		int64_t t = s->pushed[s->head % HOLDER_Q].t_ns;
		s->head++;
		ok = readable && st.sequence == seq && st.t_ns == t && f->info.sequence == seq;
	}
	if (ok) {
		s->checked++;
	} else {
		s->bad++;
		s->last_bad_seq = seq;
		s->last_bad_read = st.sequence;
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s DEV FRAMES HOLD_MS BUDGET\n", argv[0]);
		return 2;
	}
	struct vz_err err = {0};
	struct vz_camera *cam = NULL;
	struct vz_loop *loop = NULL;
	struct vz_pipeline *pipe = NULL;
	struct holder h;
	struct stamps stamps = {.lock = PTHREAD_MUTEX_INITIALIZER};
	holder_init(&h);
	h.hold_us = (unsigned)atoi(argv[3]) * 1000u;
	h.check = stamp_intact;
	h.check_ctx = &stamps;
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
	if (vz_camera_is_libcamera(cc.device)) {
		cc.fourcc = VZ_FOURCC('R', 'G', 'B', '3');
		cc.width = 480;
		cc.height = 360;
		cc.fps_num = cc.fps_den = 0;
		cc.buffers = 4;
	}
	if (vz_camera_open(&cam, &cc, &err) < 0 || vz_loop_create(&loop, &err) < 0)
		goto out;
	struct vz_pipeline_config pc = {
	        .source = vz_camera_source(cam),
	        .loop = loop,
	        .max_frames = strtoull(argv[2], NULL, 10),
	        .reconnect_timeout_ms = -1,
	};
	if (vz_pipeline_create(&pipe, &pc, &err) < 0 ||
	    vz_pipeline_add_processor(pipe, "stamp", vz_stamp_process, NULL, &err) < 0)
		goto out;
	struct vz_sink slow = holder_sink(&h, "slow", VZ_SINK_LIVE);
	struct vz_sink fast;
	unsigned budget = (unsigned)atoi(argv[4]);
	struct vz_sink_config slow_cfg = {.budget = budget};
	if (vz_pipeline_add_sink(pipe, &slow, &slow_cfg, &err) < 0 ||
	    vz_sink_null_create(&fast, &err) < 0 ||
	    vz_pipeline_add_sink(pipe, &fast, NULL, &err) < 0)
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
	printf("frames %llu slow_pushed %u slow_checked %u slow_bad %u slow_max_held %u "
	       "slow_budget_drops %llu fast_frames %llu fast_drops %llu inflight_hwm %u "
	       "driver_gaps %llu\n",
	       (unsigned long long)st.frames, h.pushed, stamps.checked, stamps.bad, h.max_held,
	       (unsigned long long)st.sink[0].drops_budget, (unsigned long long)st.sink[1].frames,
	       (unsigned long long)st.sink[1].drops_budget, st.inflight_hwm,
	       (unsigned long long)st.drops[VZ_DROP_DRIVER_GAP]);
	ret = 0;
	if (stamps.bad) {
		fprintf(stderr, "FAIL: %u frame(s) changed while held (seq %u read back as %u)\n",
		        stamps.bad, stamps.last_bad_seq, stamps.last_bad_read);
		ret = 1;
	}
	if (stamps.checked != h.pushed || stamps.checked == 0) {
		fprintf(stderr, "FAIL: slow sink checked %u of %u frames\n", stamps.checked,
		        h.pushed);
		ret = 1;
	}
	if (h.max_held < budget) {
		fprintf(stderr,
		        "FAIL: the slow sink held at most %u frames at once, its budget is %u\n",
		        h.max_held, budget);
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
	vz_camera_close(cam);
	return ret;
}
