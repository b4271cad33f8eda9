/* SPDX-License-Identifier: MIT */
/*
 * vz-ipc-fake-server: a vzero ipc server (sink/ipc.c) fed by the unit
 * tests' fake capture source, for testing clients on the host -- the
 * GStreamer element vzerosrc first.
 *
 *   vz-ipc-fake-server SOCKPATH NFRAMES [--fps N] [--format YUYV|NV12|...]
 *       [--size WxH] [--stride N] [--buffers N] [--budget N]
 *       [--wait-clients N] [--change-at K --change-size WxH] [--linger-ms MS]
 *
 * Every frame's pixels are ipc-pattern.h's picture for its sequence
 * number, written into the buffer the fake driver fills next, so a client
 * can check each byte.  Frames come at --fps, but never while the clients
 * hold budget - 1 of them (for up to 2 s): a slow client is waited for, not
 * dropped from.  After NFRAMES frames (0: none) it waits for
 * SIGTERM/SIGINT, or --linger-ms, then stops the pipeline (clients get END)
 * and prints its statistics; a client that went away holding frames shows
 * as held_at_exit.
 *
 * Output, one line each: "ready pid=N" once clients may connect, "stats
 * key=value ..." and "proof: ..." at the end.  Exit status: 0, 1 for bad
 * arguments or a setup failure, 2 when the run failed or no client came.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake-source.h"
#include "ipc-pattern.h"
#include "loop.h"
#include "pipeline.h"
#include "registry.h"

static volatile sig_atomic_t stop_asked;

static void on_signal(int sig)
{
	(void)sig;
	stop_asked = 1;
}

struct opts {
	const char *path;
	unsigned long nframes;
	unsigned fps, nbufs, budget, wait_clients, change_at;
	uint32_t fourcc, width, height, stride, change_w, change_h;
	long linger_ms;
};

static int usage(const char *why)
{
	fprintf(stderr,
	        "vz-ipc-fake-server: %s\n"
	        "usage: vz-ipc-fake-server SOCKPATH NFRAMES [--fps N] [--format YUYV|NV12|...]\n"
	        "       [--size WxH] [--stride N] [--buffers N] [--budget N] [--wait-clients N]\n"
	        "       [--change-at K --change-size WxH] [--linger-ms MS]\n",
	        why);
	return 1;
}

static bool parse_size(const char *s, uint32_t *w, uint32_t *h)
{
	char *end;
	unsigned long a = strtoul(s, &end, 10), b;
	if (end == s || *end != 'x')
		return false;
	s = end + 1;
	b = strtoul(s, &end, 10);
	if (end == s || *end || !a || !b || a > 8192 || b > 8192)
		return false;
	*w = (uint32_t)a;
	*h = (uint32_t)b;
	return true;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (end == s || *end || errno || v > max)
		return false;
	*out = v;
	return true;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	unsigned long v;
	*o = (struct opts){.fps = 30,
	                   .nbufs = 8,
	                   .budget = 4,
	                   .fourcc = VZ_FOURCC('Y', 'U', 'Y', 'V'),
	                   .width = 64,
	                   .height = 16,
	                   .linger_ms = -1};
	if (argc < 3)
		return usage("a socket path and a frame count, please");
	o->path = argv[1];
	if (!parse_uint(argv[2], 1000000000ul, &o->nframes))
		return usage("NFRAMES: a number of frames (0: none)");
	for (int i = 3; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!val)
			return usage("every option takes a value");
		i++;
		if (!strcmp(a, "--fps") && parse_uint(val, 1000, &v) && v)
			o->fps = (unsigned)v;
		else if (!strcmp(a, "--format") && vz_fourcc_parse(val, &o->fourcc) == 0 &&
		         vz_format_desc_find(o->fourcc))
			;
		else if (!strcmp(a, "--size") && parse_size(val, &o->width, &o->height))
			;
		else if (!strcmp(a, "--stride") && parse_uint(val, 65536, &v))
			o->stride = (uint32_t)v;
		else if (!strcmp(a, "--buffers") && parse_uint(val, FAKE_MAX, &v) && v >= 3)
			o->nbufs = (unsigned)v;
		else if (!strcmp(a, "--budget") && parse_uint(val, 16, &v) && v)
			o->budget = (unsigned)v;
		else if (!strcmp(a, "--wait-clients") && parse_uint(val, 64, &v))
			o->wait_clients = (unsigned)v;
		else if (!strcmp(a, "--change-at") && parse_uint(val, 1000000000ul, &v) && v)
			o->change_at = (unsigned)v;
		else if (!strcmp(a, "--change-size") && parse_size(val, &o->change_w, &o->change_h))
			;
		else if (!strcmp(a, "--linger-ms") && parse_uint(val, 3600000ul, &v))
			o->linger_ms = (long)v;
		else {
			char why[128];
			snprintf(why, sizeof(why), "%s %s: not an option or a bad value", a, val);
			return usage(why);
		}
	}
	if (!o->change_at != !o->change_w)
		return usage("--change-at and --change-size go together");
	return 0;
}

/* @w x @h in the server's fourcc, lines @stride bytes (0: packed). */
static int make_format(const struct opts *o, uint32_t w, uint32_t h, struct vz_format *f)
{
	uint32_t strides[VZ_MAX_PLANES] = {o->stride, 0, 0};
	memset(f, 0, sizeof(*f));
	f->fourcc = o->fourcc;
	f->width = w;
	f->height = h;
	f->fps_num = o->fps;
	f->fps_den = 1;
	int r = vz_format_layout(f, strides);
	if (r < 0 && o->stride) {
		/* The stride is for the first size; a wider one packs. */
		strides[0] = 0;
		r = vz_format_layout(f, strides);
	}
	return r;
}

/* The bytes of pixels in one line of colour plane @p. */
static unsigned line_bytes(const struct vz_format_desc *d, unsigned p, uint32_t width)
{
	unsigned gw = d->plane[p].group_width;
	return d->plane[p].bytes_per_group * ((width + gw - 1) / gw);
}

/* The picture of frame @seq into buffer @idx of the current set. */
static void paint(struct fake_source *fs, unsigned idx, uint32_t seq)
{
	const struct vz_format *f = &fs->set->base.fmt;
	const struct vz_format_desc *d = vz_format_desc_find(f->fourcc);
	struct vz_buffer *b = &fs->set->base.buf[idx];
	for (unsigned m = 0; m < b->num_mem; m++)
		memset(b->mem[m].map, VZ_PATTERN_PAD, b->mem[m].length);
	for (unsigned p = 0; p < f->num_planes; p++) {
		uint8_t *base = (uint8_t *)b->mem[f->plane[p].mem].map + f->plane[p].offset;
		unsigned n = line_bytes(d, p, f->width);
		for (unsigned y = 0; y < f->plane[p].height; y++)
			for (unsigned x = 0; x < n; x++)
				base[(size_t)y * f->plane[p].stride + x] = vz_pattern(seq, p, y, x);
	}
}

static uint64_t counter(const struct vz_sink_stats *s, const char *name)
{
	for (unsigned k = 0; k < s->ncounters; k++)
		if (!strcmp(s->counter[k].name, name))
			return s->counter[k].total;
	return 0;
}

/* Runs the loop for @ms, or less when a signal came. */
static void run_for(struct vz_loop *loop, int64_t ms)
{
	int64_t end = vz_now_ns() + ms * VZ_NSEC_PER_MSEC;
	while (!stop_asked && !vz_loop_quitting(loop) && vz_now_ns() < end)
		vz_loop_dispatch(loop, 5);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct vz_err err = {0};
	struct fake_source fs;
	struct vz_format fmt;
	struct vz_loop *loop = NULL;
	struct vz_pipeline *pipe = NULL;
	struct vz_pipeline_stats st;
	struct vz_sink sink = {0};
	char spec[300];
	int status = 0;

	if (parse_args(argc, argv, &o))
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (make_format(&o, o.width, o.height, &fmt) < 0) {
		fprintf(stderr, "vz-ipc-fake-server: %ux%u with stride %u is not a layout\n",
		        o.width, o.height, o.stride);
		return 1;
	}
	if (fake_source_init_fmt(&fs, &fmt, o.nbufs) < 0) {
		perror("vz-ipc-fake-server: eventfd");
		return 1;
	}
	fs.interval_ns = VZ_NSEC_PER_SEC / o.fps;
	struct vz_pipeline_config cfg = {.source = fake_source_as_source(&fs),
	                                 .reconnect_timeout_ms = -1,
	                                 .stall_timeout_ns = -1,
	                                 .telemetry_capacity = 4096};
	if (vz_loop_create(&loop, &err) < 0)
		goto fail;
	cfg.loop = loop;
	if (vz_pipeline_create(&pipe, &cfg, &err) < 0)
		goto fail;
	snprintf(spec, sizeof(spec), "ipc:%s?budget=%u", o.path, o.budget);
	if (vz_sink_create(spec, &sink, &err) < 0 ||
	    vz_pipeline_add_sink(pipe, &sink, NULL, &err) < 0)
		goto fail;
	if (vz_pipeline_start(pipe, &err) < 0)
		goto fail;
	printf("ready pid=%d\n", (int)getpid());

	int64_t give_up = vz_now_ns() + 20 * VZ_NSEC_PER_SEC;
	for (;;) {
		vz_pipeline_get_stats(pipe, &st);
		if (counter(&st.sink[0], "clients") >= o.wait_clients || stop_asked)
			break;
		if (vz_now_ns() > give_up) {
			fprintf(stderr,
			        "vz-ipc-fake-server: %u client(s) awaited, %llu came in 20 s\n",
			        o.wait_clients,
			        (unsigned long long)counter(&st.sink[0], "clients"));
			status = 2;
			break;
		}
		run_for(loop, 5);
	}

	int64_t interval_ms = 1000 / o.fps;
	for (unsigned long k = 0; k < o.nframes && !stop_asked && !status; k++) {
		if (o.change_at && k == o.change_at) {
			struct vz_format nf;
			if (make_format(&o, o.change_w, o.change_h, &nf) < 0) {
				fprintf(stderr,
				        "vz-ipc-fake-server: --change-size %ux%u: no layout\n",
				        o.change_w, o.change_h);
				status = 1;
				break;
			}
			vz_pipeline_get_stats(pipe, &st);
			uint32_t gen = st.generation;
			/* fake_renegotiate() keeps fs.fmt when no new width is
			 * scripted: the next set is made in this format. */
			fs.fmt = nf;
			fs.change_format = 1;
			fake_source_poke(&fs);
			int64_t until = vz_now_ns() + 2 * VZ_NSEC_PER_SEC;
			while (st.generation == gen && vz_now_ns() < until && !stop_asked) {
				run_for(loop, 5);
				vz_pipeline_get_stats(pipe, &st);
			}
			printf("changed to %ux%u, buffer set %u\n", o.change_w, o.change_h,
			       st.generation);
		}
		/* Paced by the client: a loaded test machine makes it late, never
		 * lose frames to its budget (each test asks for them all). */
		int64_t late = vz_now_ns() + 2 * VZ_NSEC_PER_SEC;
		while (vz_pipeline_inflight(pipe) + 1 >= o.budget && vz_now_ns() < late &&
		       !stop_asked)
			run_for(loop, 1);
		fake_source_produce(&fs, 1);
		/* The fake driver fills its oldest queued buffer next, and the
		 * frame gets the next sequence number. */
		if (fs.nqueued)
			paint(&fs, fs.fifo[0], fs.seq);
		run_for(loop, interval_ms);
	}
	if (o.linger_ms < 0)
		while (!stop_asked && !vz_loop_quitting(loop))
			vz_loop_dispatch(loop, 20);
	else
		run_for(loop, o.linger_ms);

	if (vz_pipeline_stop(pipe, &err) < 0)
		status = 2;
	if (vz_pipeline_error(pipe)->code) {
		fprintf(stderr, "vz-ipc-fake-server: %s\n", vz_pipeline_error(pipe)->msg);
		status = 2;
	}
	vz_pipeline_get_stats(pipe, &st);
	const struct vz_sink_stats *s = &st.sink[0];
	printf("stats frames=%llu sink_frames=%llu sink_released=%llu generation=%u",
	       (unsigned long long)st.frames, (unsigned long long)s->frames,
	       (unsigned long long)s->released, st.generation);
	for (unsigned k = 0; k < s->ncounters; k++)
		printf(" %s=%llu", s->counter[k].name, (unsigned long long)s->counter[k].total);
	printf("\nproof: %s\n", s->proof);
	if (s->ended[0])
		printf("ended: %s\n", s->ended);
	vz_pipeline_destroy(pipe);
	vz_loop_destroy(loop);
	fake_source_fini(&fs);
	return status;
fail:
	fprintf(stderr, "vz-ipc-fake-server: %s\n", err.msg);
	vz_sink_destroy(&sink); /* a sink the pipeline did not take */
	vz_pipeline_destroy(pipe);
	vz_loop_destroy(loop);
	fake_source_fini(&fs);
	return 1;
}
