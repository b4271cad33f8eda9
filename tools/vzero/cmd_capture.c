/* SPDX-License-Identifier: MIT */
/*
 * vzero capture: stream from one device with nothing in between and report
 * what the driver did: frames, drops by cause, recoveries, and the frame
 * interval as the driver stamped it and as we dequeued it.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "camera.h"
#include "capture.h"
#include "cli.h"
#include "clock.h"
#include "json.h"
#include "report.h"
#include "stats.h"

#define CMD "capture"
/* Intervals are kept for the statistics; a run longer than this keeps
 * counting frames but summarises the first ones only. */
#define MAX_INTERVALS (1u << 21)
/* No frame for this long (plus ten frame intervals) while streaming means
 * the source stalled; an overloaded emulated guest can pause for seconds. */
#define STALL_NS (10 * VZ_NSEC_PER_SEC)

enum {
	OPT_MLOCK = VZ_OPT_CAPTURE_LAST + 1,
	OPT_HELP,
};

struct run {
	struct vz_cli_capture o;
	bool mlock;
	struct vz_camera *cam;
	struct vz_source src; /* cam's */
	FILE *csv;
	int sfd;
	/* frame intervals in ms */
	double *iv_drv, *iv_dq, *scratch;
	size_t iv_cap, n_drv, n_dq;
	bool have_prev;
	int64_t prev_drv, prev_dq;
	uint64_t good;
	int64_t t_start, t_end, t_first, t_last;
	bool interrupted;
	struct vz_memlock_report mem;
	struct vz_frame_info last_fi;
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: vzero capture -d DEV [OPTIONS]\n"
	        "\n"
	        "Streams from a V4L2 capture device with zero copies (driver buffers mapped and\n"
	        "exported as DMA-bufs, or DMA-bufs imported from a DRM device), or from a\n"
	        "libcamera camera (-d libcamera:, its own DMA-bufs), and prints what\n"
	        "happened: frames, rate, drops by cause (sequence gaps, error-flagged buffers),\n"
	        "recoveries (fatal streaming errors, disconnects), sequence and timestamp wraps,\n"
	        "and the frame-interval statistics of the driver timestamps and of our DQBUF\n"
	        "times (mean, std, p50, p99, max).  Ctrl-C stops and prints the summary.\n"
	        "\n"
	        "Options:\n");
	vz_cli_capture_help(out, VZ_CAPTURE_DEFAULT_BUFFERS);
	fprintf(out,
	        "      --timeline-csv F   write one line per frame to F, as it happens\n"
	        "      --json             print the summary as JSON\n"
	        "      --mlock            mlockall() this process and report what is locked\n"
	        "                         (driver buffers are kernel memory: never swapped,\n"
	        "                         not lockable, reported separately)\n"
	        "  -h, --help             this text\n"
	        "\n"
	        "Without -n or -t it runs until Ctrl-C.\n"
	        "Exit status: 0 done, 1 the device or the run failed, 2 bad arguments.\n"
	        "\n"
	        "Examples:\n"
	        "  vzero capture -d vivid -f YUYV -s 640x480 -r 25 -n 250\n"
	        "  vzero capture -d /dev/video1 -f NM12 -n 50 --json\n"
	        "  vzero capture -d vivid -t 10 --timeline-csv frames.csv\n"
	        "  vzero capture -d libcamera: -s 640x480 -n 100       (a libcamera camera)\n"
	        "  vzero capture -d vivid --io dmabuf-import -n 100     (buffers from vgem/DRM)\n"
	        "  vzero capture -d /dev/video4 --reconnect=20 -t 60   (survive an unplug)\n");
}

/* Returns -1 to go on, else the exit code. */
static int parse(struct run *r, int argc, char **argv)
{
	static const struct option own[] = {
	        {"mlock", no_argument, NULL, OPT_MLOCK},
	        {"help", no_argument, NULL, OPT_HELP},
	};
	struct option opts[48];
	vz_cli_longopts(opts, sizeof(opts) / sizeof(opts[0]), own, sizeof(own) / sizeof(own[0]));

	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":" VZ_CLI_CAPTURE_SHORTOPTS "h", opts, NULL)) != -1) {
		int h = vz_cli_capture_opt(&r->o, CMD, c, optarg);
		if (h < 0)
			return VZ_EXIT_USAGE;
		if (h > 0)
			continue;
		switch (c) {
		case OPT_MLOCK:
			r->mlock = true;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return VZ_EXIT_OK;
		case ':':
			vz_cli_error(CMD, "%s needs a value; see 'vzero capture --help'",
			             argv[optind - 1]);
			return VZ_EXIT_USAGE;
		default:
			vz_cli_error(CMD, "unknown option '%s'; see 'vzero capture --help'",
			             argv[optind - 1]);
			return VZ_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		vz_cli_error(CMD, "unexpected argument '%s'; see 'vzero capture --help'",
		             argv[optind]);
		return VZ_EXIT_USAGE;
	}
	if (!r->o.cfg.device) {
		vz_cli_error(CMD, "which device? give -d DEV (e.g. -d vivid or -d /dev/video0; "
		                  "`vzero devices` lists them)");
		return VZ_EXIT_USAGE;
	}
	return -1;
}

static int alloc_intervals(struct run *r)
{
	const struct vz_format *f = r->src.ops->format(r->src.impl);
	double fps = f->fps_den ? (double)f->fps_num / f->fps_den : 0;
	if (fps <= 0)
		fps = 120;
	double want;
	if (r->o.frames)
		want = (double)r->o.frames;
	else if (r->o.seconds > 0)
		want = r->o.seconds * fps * 2 + 64;
	else
		want = MAX_INTERVALS;
	r->iv_cap = want > MAX_INTERVALS ? MAX_INTERVALS : (size_t)want;
	r->iv_drv = calloc(r->iv_cap, sizeof(double));
	r->iv_dq = calloc(r->iv_cap, sizeof(double));
	r->scratch = calloc(r->iv_cap, sizeof(double));
	if (!r->iv_drv || !r->iv_dq || !r->scratch) {
		vz_cli_error(CMD, "out of memory for %zu frame intervals", r->iv_cap);
		return -ENOMEM;
	}
	return 0;
}

static void record(struct run *r, const struct vz_frame_info *fi)
{
	r->good++;
	if (r->good == 1)
		r->t_first = fi->t_dqbuf_ns;
	r->t_last = fi->t_dqbuf_ns;
	if (r->have_prev) {
		if (!fi->ts_jump && r->n_drv < r->iv_cap) {
			uint64_t d = (uint64_t)fi->t_driver_ns - (uint64_t)r->prev_drv;
			r->iv_drv[r->n_drv++] = (double)(int64_t)d / 1e6;
		}
		if (r->n_dq < r->iv_cap)
			r->iv_dq[r->n_dq++] = (double)(fi->t_dqbuf_ns - r->prev_dq) / 1e6;
	}
	r->have_prev = true;
	r->prev_drv = fi->t_driver_ns;
	r->prev_dq = fi->t_dqbuf_ns;
	r->last_fi = *fi;
	if (r->csv) {
		uint64_t bytes = 0;
		for (unsigned p = 0; p < VZ_MAX_PLANES; p++)
			bytes += fi->bytesused[p];
		fprintf(r->csv,
		        "%" PRIu32 ",%" PRIu32 ",0x%08" PRIx32 ",%" PRId64 ",%" PRId64 ",%" PRIu64
		        "\n",
		        fi->sequence, fi->gap, fi->v4l2_flags, fi->t_driver_ns, fi->t_dqbuf_ns,
		        bytes);
	}
}

static bool signalled(struct run *r)
{
	struct pollfd p = {.fd = r->sfd, .events = POLLIN};
	if (poll(&p, 1, 0) <= 0)
		return false;
	struct signalfd_siginfo si;
	if (read(r->sfd, &si, sizeof(si)) > 0)
		r->interrupted = true;
	return r->interrupted;
}

/* Waits for a vanished device in short slices so Ctrl-C still works.  A
 * node that reappears may not be usable at once (the driver settling, a
 * format it lost): keep trying until the deadline, then say why. */
static int reconnect(struct run *r, struct vz_err *err)
{
	fprintf(stderr, "vzero capture: %s\nvzero capture: waiting %s for it to come back...\n",
	        err->msg, r->o.reconnect_ms > 0 ? "up to the --reconnect time" : "(forever)");
	r->src.ops->release_device(r->src.impl);
	int64_t deadline = r->o.reconnect_ms > 0
	                           ? vz_now_ns() + (int64_t)r->o.reconnect_ms * VZ_NSEC_PER_MSEC
	                           : INT64_MAX;
	for (;;) {
		vz_err_clear(err);
		int ret = r->src.ops->reconnect(r->src.impl, err);
		if (ret == 0)
			ret = r->src.ops->start(r->src.impl, err);
		if (ret == 0) {
			fprintf(stderr, "vzero capture: %s is back, streaming again\n",
			        vz_camera_path(r->cam));
			r->have_prev = false;
			return 0;
		}
		if (signalled(r))
			return 1;
		if (vz_now_ns() >= deadline) {
			if (ret != -EAGAIN)
				return vz_err_prefix(err, "giving up after --reconnect=%g s",
				                     r->o.reconnect_ms / 1000.0);
			vz_err_clear(err);
			return vz_err_set(err, -ETIMEDOUT,
			                  "the device did not come back within %.1f s "
			                  "(--reconnect=%g)",
			                  r->o.reconnect_ms / 1000.0, r->o.reconnect_ms / 1000.0);
		}
		/* A node that came back unusable may still be settling. */
		struct pollfd p = {.fd = r->sfd, .events = POLLIN};
		poll(&p, 1, 100);
	}
}

static int stream(struct run *r, struct vz_err *err)
{
	r->t_start = vz_now_ns();
	int ret = r->src.ops->start(r->src.impl, err);
	if (ret < 0)
		return ret;
	int64_t deadline =
	        r->o.seconds > 0 ? r->t_start + (int64_t)(r->o.seconds * VZ_NSEC_PER_SEC) : 0;
	int64_t progress = r->t_start;
	int64_t stall =
	        r->o.stall_s > 0
	                ? (int64_t)(r->o.stall_s * 1e9)
	                : STALL_NS + 10 * vz_format_interval_ns(r->src.ops->format(r->src.impl));
	struct vz_source_stats last = {0};
	while (!r->o.frames || r->good < r->o.frames) {
		int64_t now = vz_now_ns();
		if (deadline && now >= deadline)
			break;
		int timeout = 1000;
		if (deadline && (deadline - now) / VZ_NSEC_PER_MSEC < timeout)
			timeout = (int)((deadline - now) / VZ_NSEC_PER_MSEC) + 1;
		struct pollfd p[2] = {
		        {.fd = r->src.ops->fd(r->src.impl), .events = POLLIN | POLLPRI},
		        {.fd = r->sfd, .events = POLLIN},
		};
		int n = poll(p, 2, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vz_err_set(err, -errno, "poll failed: %s", strerror(errno));
		if (signalled(r))
			break;
		/* Checked on every round, not only when poll times out: a queue
		 * stuck in an error state keeps the fd ready and would spin. */
		if (vz_now_ns() - progress > stall)
			return vz_err_set(err, -ETIMEDOUT,
			                  "%s (%s) delivered no frame for %.1f s: the source "
			                  "stalled (is its input producing video? check with "
			                  "`v4l2-ctl -d %s --all`, or raise --stall-timeout)",
			                  vz_camera_path(r->cam), vz_camera_card(r->cam),
			                  (double)(vz_now_ns() - progress) / 1e9,
			                  vz_camera_path(r->cam));
		if (n == 0 || !p[0].revents)
			continue;
		struct vz_frame_info fi;
		ret = r->src.ops->next(r->src.impl, p[0].revents, &fi, err);
		bool got = ret == 1;
		if (got) {
			record(r, &fi);
			ret = r->src.ops->queue(r->src.impl,
			                        r->src.ops->buffers(r->src.impl)->generation,
			                        fi.index, err);
			if (ret < 0 && ret != -ENODEV)
				return ret;
		} else if (ret == VZ_CAPTURE_FORMAT_CHANGED) {
			fprintf(stderr,
			        "vzero capture: the source changed format; renegotiating\n");
			ret = r->src.ops->renegotiate(r->src.impl, err);
			if (ret == 0)
				ret = r->src.ops->start(r->src.impl, err);
			if (ret < 0)
				return ret;
			r->have_prev = false;
		}
		if (ret == -ENODEV && r->o.reconnect_ms >= 0) {
			ret = reconnect(r, err);
			if (ret == 1)
				break;
		}
		if (ret < 0)
			return ret;
		/* Recoveries count as progress: the source is alive. */
		struct vz_source_stats st;
		r->src.ops->stats(r->src.impl, &st);
		if (got || st.error_frames != last.error_frames || st.restarts != last.restarts ||
		    st.reconnects != last.reconnects)
			progress = vz_now_ns();
		last = st;
	}
	r->t_end = vz_now_ns();
	struct vz_err e = {0};
	r->src.ops->stop(r->src.impl, &e);
	return 0;
}

/* Shared writers: valid JSON whatever a driver puts in its names, and null
 * (not nan) for an empty sample. */
static void json_summary(FILE *out, const char *key, const struct vz_summary *s)
{
	fprintf(out, "\"%s\":", key);
	vz_json_summary(out, s);
}

static const char *mib(uint64_t bytes, char *buf, size_t len)
{
	if (bytes >= 1024 * 1024)
		snprintf(buf, len, "%.1f MiB", bytes / (1024.0 * 1024.0));
	else
		snprintf(buf, len, "%" PRIu64 " KiB", bytes / 1024);
	return buf;
}

static void print_summary(struct run *r)
{
	const struct vz_format *f = r->src.ops->format(r->src.impl);
	struct vz_source_stats st;
	r->src.ops->stats(r->src.impl, &st);
	struct vz_summary sd, sq;
	vz_summarize(r->iv_drv, r->n_drv, r->scratch, &sd);
	vz_summarize(r->iv_dq, r->n_dq, r->scratch, &sq);
	vz_memlock_read(&r->mem, r->src.ops->buffers(r->src.impl));
	char fcc[5];
	vz_fourcc_str(f->fourcc, fcc);
	double fps_nom = f->fps_den ? (double)f->fps_num / f->fps_den : 0;
	double dur = (r->t_end - r->t_start) / 1e9;
	double span = (r->t_last - r->t_first) / 1e9;
	double fps = r->good > 1 && span > 0 ? (r->good - 1) / span : 0;
	bool lc = !vz_camera_v4l2(r->cam);
	const char *io = lc ? "libcamera" : r->o.cfg.io == VZ_IO_MMAP ? "mmap" : "dmabuf-import";
	bool eof = r->last_fi.ts_source == VZ_TS_END_OF_FRAME;

	if (r->o.json) {
		FILE *o = stdout;
		fputs("{\"device\":", o);
		vz_json_str(o, vz_camera_path(r->cam));
		fputs(",\"card\":", o);
		vz_json_str(o, vz_camera_card(r->cam));
		fputs(",\"driver\":", o);
		vz_json_str(o, vz_camera_driver(r->cam));
		fputs(",\"backend\":", o);
		vz_json_str(o, vz_camera_backend(r->cam));
		fputs(",\"format\":{\"fourcc\":", o);
		vz_json_str(o, fcc);
		fprintf(o, ",\"width\":%u,\"height\":%u,\"fps\":%.4f}", f->width, f->height,
		        fps_nom);
		fprintf(o, ",\"io\":\"%s\",\"libv4l2\":%s,\"buffers\":%u", io,
		        r->o.cfg.libv4l2 ? "true" : "false",
		        (r->src.ops->buffers(r->src.impl) ? r->src.ops->buffers(r->src.impl)->count
		                                          : 0));
		fprintf(o,
		        ",\"frames\":%" PRIu64 ",\"duration_s\":%.3f,\"fps\":%.3f"
		        ",\"interrupted\":%s",
		        r->good, dur, fps, r->interrupted ? "true" : "false");
		fprintf(o, ",\"drops\":{\"driver_gap\":%" PRIu64 ",\"error_flag\":%" PRIu64 "}",
		        st.driver_drops, st.error_frames);
		fprintf(o,
		        ",\"capture\":{\"frames\":%" PRIu64 ",\"driver_drops\":%" PRIu64
		        ",\"error_frames\":%" PRIu64 ",\"restarts\":%" PRIu64
		        ",\"disconnects\":%" PRIu64 ",\"reconnects\":%" PRIu64
		        ",\"source_changes\":%" PRIu64 ",\"seq_wraps\":%" PRIu64
		        ",\"ts_jumps\":%" PRIu64 ",\"bytes_copied\":%" PRIu64
		        ",\"qbuf_errors\":%" PRIu64 ",\"streamon_errors\":%" PRIu64 "}",
		        st.frames, st.driver_drops, st.error_frames, st.restarts, st.disconnects,
		        st.reconnects, st.source_changes, st.seq_wraps, st.ts_jumps,
		        st.bytes_copied, st.qbuf_errors, st.streamon_errors);
		fprintf(o, ",\"timestamps\":{\"monotonic\":%s,\"source\":\"%s\"},",
		        r->last_fi.ts_monotonic ? "true" : "false",
		        eof ? "end-of-frame" : "start-of-exposure");
		json_summary(o, "interval_driver_ms", &sd);
		fputc(',', o);
		json_summary(o, "interval_dqbuf_ms", &sq);
		fprintf(o,
		        ",\"memlock\":{\"requested\":%s,\"mlockall_errno\":%d,"
		        "\"vmlck_bytes\":%" PRIu64 ",\"driver_bytes\":%" PRIu64
		        ",\"partial\":%s,\"wanted_bytes\":%" PRIu64 ",\"locked_bytes\":%" PRIu64
		        ",\"unlocked_bytes\":%" PRIu64 "}}\n",
		        r->mem.requested ? "true" : "false", r->mem.mlockall_errno,
		        r->mem.vmlck_bytes, r->mem.driver_bytes, r->mem.partial ? "true" : "false",
		        r->mem.wanted_bytes, r->mem.locked_bytes, r->mem.unlocked_bytes);
		return;
	}

	FILE *o = stdout;
	char b1[32], b2[32];
	fprintf(o, "vzero capture: %s  card \"%s\"  driver %s\n", vz_camera_path(r->cam),
	        vz_camera_card(r->cam), vz_camera_driver(r->cam));
	char rate[32] = "unknown rate";
	if (fps_nom > 0)
		snprintf(rate, sizeof(rate), "%g fps", fps_nom);
	fprintf(o, "  format     %s %ux%u @ %s, io %s%s, %u buffers%s\n", fcc, f->width, f->height,
	        rate, io, r->o.cfg.libv4l2 ? " via libv4l2" : "",
	        (r->src.ops->buffers(r->src.impl) ? r->src.ops->buffers(r->src.impl)->count : 0),
	        lc                                               ? " (FrameBufferAllocator)"
	        : r->o.cfg.io == VZ_IO_MMAP && !r->o.cfg.libv4l2 ? " (DMA-buf exports rw + ro)"
	                                                         : "");
	const char *notes = vz_camera_notes(r->cam), *l;
	int n;
	while (vz_report_next_line(&notes, &l, &n))
		fprintf(o, "  source     %.*s\n", n, l);
	fprintf(o, "  frames     %" PRIu64 " in %.2f s (%.2f fps)%s\n", r->good, dur, fps,
	        r->interrupted ? ", stopped by signal" : "");
	fprintf(o, "  drops      driver gap %" PRIu64 ", error flag %" PRIu64 "\n", st.driver_drops,
	        st.error_frames);
	fprintf(o,
	        "  faults     restarts %" PRIu64 ", disconnects %" PRIu64 ", reconnects %" PRIu64
	        ", source changes %" PRIu64 ", seq wraps %" PRIu64 ", ts jumps %" PRIu64
	        ", requeues refused %" PRIu64 ", STREAMONs refused %" PRIu64 "\n",
	        st.restarts, st.disconnects, st.reconnects, st.source_changes, st.seq_wraps,
	        st.ts_jumps, st.qbuf_errors, st.streamon_errors);
	fprintf(o, "  copies     %" PRIu64 " bytes copied%s\n", st.bytes_copied,
	        st.bytes_copied ? " (libv4l2 conversion)" : "");
	fprintf(o, "  timestamps %s clock, taken at %s\n",
	        r->last_fi.ts_monotonic ? "CLOCK_MONOTONIC" : "non-monotonic",
	        eof ? "end of frame" : "start of exposure");
	fprintf(o, "  interval ms        n      mean       std       p50       p99       max\n");
	fprintf(o, "    driver    %7" PRIu64 " %9.3f %9.3f %9.3f %9.3f %9.3f\n", sd.n, sd.mean,
	        sd.std, sd.p50, sd.p99, sd.max);
	fprintf(o, "    dqbuf     %7" PRIu64 " %9.3f %9.3f %9.3f %9.3f %9.3f\n", sq.n, sq.mean,
	        sq.std, sq.p50, sq.p99, sq.max);
	if (r->good > 1 && r->n_dq + 1 < r->good)
		fprintf(o, "    (statistics over the first %zu intervals)\n", r->n_dq);
	if (!r->mem.requested) {
		fprintf(o, "  memlock    not requested (--mlock); driver buffers %s mapped\n",
		        mib(r->mem.driver_bytes, b1, sizeof(b1)));
	} else if (r->mem.partial) {
		char why[1024];
		vz_memlock_describe(&r->mem, why, sizeof(why));
		fprintf(o, "  memlock    PARTIAL, VmLck %s: %s\n",
		        mib(r->mem.vmlck_bytes, b1, sizeof(b1)), why);
	} else if (r->mem.vmlck_bytes == 0) {
		/* AddressSanitizer's interceptor (and other interposers) return
		 * 0 without locking: believe VmLck, not the return code. */
		fprintf(o,
		        "  memlock    mlockall returned 0 but nothing was locked (VmLck 0): an "
		        "interposer such as AddressSanitizer swallowed the call; driver buffers "
		        "%s mapped are kernel memory: not lockable, never swapped\n",
		        mib(r->mem.driver_bytes, b2, sizeof(b2)));
	} else {
		fprintf(o,
		        "  memlock    mlockall ok: VmLck %s of this process's memory locked; "
		        "driver buffers %s mapped are kernel memory: not lockable, never "
		        "swapped\n",
		        mib(r->mem.vmlck_bytes, b1, sizeof(b1)),
		        mib(r->mem.driver_bytes, b2, sizeof(b2)));
	}
}

int vz_cmd_capture(int argc, char **argv)
{
	struct run r;
	memset(&r, 0, sizeof(r));
	r.sfd = -1;
	vz_cli_capture_init(&r.o);
	int code = parse(&r, argc, argv);
	if (code >= 0)
		return code;

	struct vz_err err = {0};
	code = VZ_EXIT_FAIL;
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	/* Signals arrive as a readable fd in the poll set: no handler state.
	 * A shell starts background jobs with SIGINT ignored, which would
	 * discard it before signalfd sees it: we handle it, so take it back. */
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 || signal(SIGINT, SIG_DFL) == SIG_ERR ||
	    (r.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		vz_cli_error(CMD, "cannot set up signal handling: %s", strerror(errno));
		goto out;
	}
	if (vz_camera_open(&r.cam, &r.o.cfg, &err) < 0) {
		vz_cli_error(CMD, "%s", err.msg);
		goto out;
	}
	r.src = vz_camera_source(r.cam);
	if (alloc_intervals(&r) < 0)
		goto out;
	if (r.o.timeline_csv) {
		r.csv = fopen(r.o.timeline_csv, "we");
		if (!r.csv) {
			vz_cli_error(CMD, "cannot write the timeline to %s: %s", r.o.timeline_csv,
			             strerror(errno));
			goto out;
		}
		/* A line per frame as it happens: `tail -f` and scripts can
		 * watch a run in progress. */
		setvbuf(r.csv, NULL, _IOLBF, 0);
		fprintf(r.csv, "sequence,gap,flags,t_driver_ns,t_dqbuf_ns,bytesused\n");
	}
	/* After every allocation, so MCL_CURRENT covers all of it. */
	if (r.mlock && vz_memlock_apply(&r.mem) == 1) {
		char why[1024];
		vz_memlock_describe(&r.mem, why, sizeof(why));
		fprintf(stderr, "vzero capture: --mlock: %s\n", why);
	}
	int ret = stream(&r, &err);
	if (ret < 0) {
		r.t_end = vz_now_ns();
		print_summary(&r);
		vz_cli_error(CMD, "%s", err.msg);
		goto out;
	}
	print_summary(&r);
	if (r.csv && (fflush(r.csv) != 0 || ferror(r.csv))) {
		vz_cli_error(CMD, "writing %s failed: %s", r.o.timeline_csv, strerror(errno));
		goto out;
	}
	code = VZ_EXIT_OK;
out:
	if (r.csv)
		fclose(r.csv);
	vz_camera_close(r.cam);
	free(r.iv_drv);
	free(r.iv_dq);
	free(r.scratch);
	if (r.sfd >= 0)
		close(r.sfd);
	return code;
}
