/* SPDX-License-Identifier: MIT */
/*
 * vzero run / vzero jitter: capture -> in-place processors -> sinks on one
 * event loop, a live status line, and the jitter report at the end.
 * `jitter` is `run` with no processors and no sinks: the device's own
 * timing, to compare a camera against vzero's overhead.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "camera.h"
#include "cli.h"
#include "clock.h"
#include "pipeline.h"
#include "process.h"
#include "registry.h"
#include "report.h"

#define STATUS_WINDOW 256
/* Fan-out needs frames to spare: a driver with 4 buffers keeping 2 queued
 * leaves only 2 for all the sinks together, and a recording waits for
 * GStreamer to start with frames of its own (-n 5 into a file: 5 out). */
#define RUN_BUFFERS 8

enum {
	OPT_PROCESS = VZ_OPT_CAPTURE_LAST + 1,
	OPT_SINK,
	OPT_BUDGET,
	OPT_POLICY,
	OPT_SDP,
	OPT_STATS_JSON,
	OPT_PLOT,
	OPT_RT,
	OPT_CPU,
	OPT_MLOCK,
	OPT_STATUS,
	OPT_STATUS_FILE,
	OPT_QUIET,
	OPT_HELP,
};

struct run_opts {
	const char *cmd;
	struct vz_cli_capture cap;
	const char *sinks[VZ_MAX_SINKS];
	enum vz_sink_policy policy[VZ_MAX_SINKS];
	char spec_buf[VZ_MAX_SINKS][1024]; /* specs --sdp rewrote */
	unsigned nsinks;
	unsigned budget;
	bool stamp;
	struct vz_mask mask;
	char processors[128];
	const char *stats_json;
	const char *plot;
	int rt_prio;          /* 0: off */
	const char *cpu_list; /* as given, for the report */
	cpu_set_t cpus;       /* parsed once, at argument time */
	bool mlock;
	int status; /* -1 auto (tty), 0 off, 1 on */
	const char *status_file;
};

struct run_ctx {
	struct run_opts *o;
	struct vz_loop *loop;
	struct vz_pipeline *pipe;
	bool interrupted;
	bool tty;
	bool status_line;
	double *scratch;
	FILE *status_out; /* --status-file */
	int64_t t0;
};

static void usage(FILE *out, const char *cmd)
{
	bool jitter = !strcmp(cmd, "jitter");
	fprintf(out,
	        "usage: vzero %s -d DEV [capture options] %s[-n N | -t S] [report options]\n\n",
	        cmd, jitter ? "" : "[--process LIST] --sink SPEC [--sink SPEC...] ");
	if (jitter)
		fprintf(out,
		        "Streams a device with no processing and no sink and reports its frame\n"
		        "timing: the camera's own jitter, to compare with `vzero run`.\n\n");
	else
		fprintf(out,
		        "Captures without copying, processes frames in place, and hands each one "
		        "to\n"
		        "every sink as a DMA-buf.  A buffer goes back to the driver only when all\n"
		        "sinks have released it; a sink that falls behind loses frames (counted),\n"
		        "the others don't.  Ends with the jitter report.\n\n");
	fprintf(out, "Capture options:\n");
	vz_cli_capture_help(out, RUN_BUFFERS);
	if (!jitter)
		fprintf(out,
		        "\nProcessing and sinks:\n"
		        "      --process LIST     in-place processors, in order: stamp (sequence "
		        "number\n"
		        "                         and timestamp written into the picture), "
		        "mask=X,Y,W,H\n"
		        "                         (black rectangle); e.g. --process "
		        "stamp,mask=0,0,64,64\n"
		        "      --sink SPEC        null (releases at once: measures vzero itself) "
		        "or\n"
		        "                         gst:\"DESCRIPTION\" (appsrc ! DESCRIPTION), "
		        "e.g.\n"
		        "                         gst:\"videoconvert ! autovideosink\"; or\n"
		        "                         drm[:DEVICE][,OPTION=VALUE...]: a screen by "
		        "KMS,\n"
		        "                         from a text console (DEVICE: /dev/dri/cardN or "
		        "a\n"
		        "                         driver name; options connector=, plane=primary|\n"
		        "                         overlay|ID, mode=WxH[@Hz], x=, y=, "
		        "policy=mailbox|\n"
		        "                         fifo, legacy=1, buffers=auto|import|alloc,\n"
		        "                         writeback=FILE.ppm); or "
		        "rtp://HOST:PORT[?OPTION=\n"
		        "                         VALUE&...]: RFC 4175 over UDP from the frame's\n"
		        "                         pages (MSG_ZEROCOPY + GSO; IPv6 as [ADDR]; "
		        "options\n"
		        "                         mtu=, ttl=, iface=, pt=, ssrc=, seq=, zerocopy=\n"
		        "                         auto|on|off, gso=auto|off, batch=N; pacing:\n"
		        "                         pace=off|linear|gapped, burst=N, pacer=auto|\n"
		        "                         txtime|timer; RTCP: rtcp=PORT|off, clock=\n"
		        "                         realtime|tai, clock_offset=NS; capture UYVY,\n"
		        "                         RGB3, BGR3, XR24 or XB24; measure arrivals with\n"
		        "                         vzero rtp-check); repeat --sink for fan-out\n"
		        "      --sdp FILE         for the rtp:// sink before it: write its "
		        "session\n"
		        "                         description (what receivers need) to FILE\n"
		        "      --budget N         frames each sink may hold at once (default 2; a\n"
		        "                         display or rtp 3, a display with policy=fifo 4)\n"
		        "      --policy P         for the --sink before it: live (at its budget a\n"
		        "                         frame is lost, the newest wins) or record "
		        "(frames\n"
		        "                         wait while the driver keeps its minimum, so a\n"
		        "                         recording loses nothing it could keep).  "
		        "Default:\n"
		        "                         record for descriptions that write files or "
		        "mux,\n"
		        "                         live otherwise.  -n counts frames given to "
		        "record\n"
		        "                         sinks when there are any.\n");
	fprintf(out,
	        "\nReport:\n"
	        "      --stats-json FILE  the report as JSON\n"
	        "      --timeline-csv F   one line per frame, every timestamp\n"
	        "      --plot FILE.png    interval histogram and interval over time, per stage\n"
	        "      --json             print the report as JSON instead of the table\n"
	        "      --status / --quiet live status line each second (default: on a terminal)\n"
	        "      --status-file F    the same each second as a JSON line in F, with frames\n"
	        "                         in flight and every counter the accounting needs\n"
	        "                         (for watching a long run, e.g. tools/soak)\n"
	        "\nReal-time knobs (the report says whether each took effect):\n"
	        "      --rt PRIO          SCHED_FIFO at PRIO (1-99; needs CAP_SYS_NICE)\n"
	        "      --cpu LIST         pin to CPUs, e.g. 1 or 0,2-3\n"
	        "      --mlock            mlockall(MCL_CURRENT|MCL_FUTURE); where RLIMIT_MEMLOCK\n"
	        "                         or a memory cgroup cannot hold it all, locks what\n"
	        "                         fits and says at start what it could not\n"
	        "\nExamples:\n");
	if (jitter)
		fprintf(out, "  vzero jitter -d vivid -s 640x480 -r 25 -t 20 --plot camera.png\n");
	else
		fprintf(out,
		        "  vzero run -d vivid --process stamp --sink null -t 20 --plot jitter.png\n"
		        "  vzero run -d /dev/video0 -f NV12 --sink gst:\"fakesink\" --sink null -n "
		        "500\n"
		        "  vzero run -d vivid --process stamp --sink gst:\"videoconvert ! x264enc "
		        "! "
		        "matroskamux ! filesink location=out.mkv\" -t 10\n"
		        "  vzero run -d vivid -f XR24 -s 640x480 --sink "
		        "drm:vkms,plane=overlay,x=16,y=16 "
		        "-t 10\n"
		        "  vzero run -d vivid -f UYVY -s 1280x720 --sink "
		        "rtp://239.1.2.3:5004?ttl=4 "
		        "--sdp cam.sdp\n"
		        "    (then: gst-launch-1.0 filesrc location=cam.sdp ! sdpdemux ! "
		        "rtpvrawdepay ! "
		        "videoconvert ! autovideosink)\n"
		        "  vzero run -d vivid -f UYVY --sink 'rtp://10.0.0.9:5004?pace=linear'\n"
		        "    (each frame spread over its interval; see it with: vzero rtp-check\n"
		        "    rtp://10.0.0.9:5004 on the receiver)\n");
	fprintf(out, "\nExit status: 0 done, 1 runtime failure, 2 bad arguments.\n");
}

static int parse_processors(struct run_opts *o, const char *list)
{
	const char *s = list;
	while (*s) {
		if (!strncmp(s, "stamp", 5) && (s[5] == ',' || s[5] == '\0')) {
			o->stamp = true;
			s += 5;
		} else if (!strncmp(s, "mask=", 5)) {
			/* x,y,w,h: four numbers, so the next comma-separated
			 * item starts after the fourth. */
			const char *p = s + 5;
			int commas = 0;
			const char *end = p;
			while (*end && !(*end == ',' && commas == 3)) {
				if (*end == ',')
					commas++;
				end++;
			}
			char buf[64];
			size_t n = (size_t)(end - p);
			if (n >= sizeof(buf))
				n = sizeof(buf) - 1;
			memcpy(buf, p, n);
			buf[n] = '\0';
			struct vz_err e = {0};
			if (vz_mask_parse(&o->mask, buf, &e) < 0) {
				vz_cli_error(o->cmd, "--process: %s", e.msg);
				return -1;
			}
			s = end;
		} else {
			vz_cli_error(o->cmd,
			             "--process: unknown processor near '%s'; available: stamp, "
			             "mask=X,Y,W,H",
			             s);
			return -1;
		}
		if (*s == ',')
			s++;
	}
	return 0;
}

static int parse_cpus(const char *list, cpu_set_t *set)
{
	CPU_ZERO(set);
	const char *s = list;
	while (*s) {
		char *end;
		long a = strtol(s, &end, 10), b;
		if (end == s || a < 0 || a >= CPU_SETSIZE)
			return -1;
		b = a;
		if (*end == '-') {
			s = end + 1;
			b = strtol(s, &end, 10);
			if (end == s || b < a || b >= CPU_SETSIZE)
				return -1;
		}
		for (long c = a; c <= b; c++)
			CPU_SET((int)c, set);
		s = end;
		if (*s == ',')
			s++;
		else if (*s)
			return -1;
	}
	return CPU_COUNT(set) ? 0 : -1;
}

/* --sdp FILE belongs to the rtp sink before it: it becomes that URI's
 * sdp= option, the path %-escaped so any file name survives the query. */
static int add_sdp(struct run_opts *o, const char *path)
{
	const char *spec = o->nsinks ? o->sinks[o->nsinks - 1] : NULL;
	if (!spec || strncmp(spec, "rtp://", 6)) {
		vz_cli_error(o->cmd, "--sdp applies to the --sink rtp://... before it: give "
		                     "--sink rtp://HOST:PORT first");
		return -1;
	}
	if (!*path || strstr(spec, "?sdp=") || strstr(spec, "&sdp=")) {
		vz_cli_error(o->cmd, "--sdp '%s': %s", path,
		             *path ? "that sink has an SDP file already" : "needs a file name");
		return -1;
	}
	char *buf = o->spec_buf[o->nsinks - 1];
	size_t cap = sizeof(o->spec_buf[0]);
	int n = snprintf(buf, cap, "%s%ssdp=", spec, strchr(spec, '?') ? "&" : "?");
	for (const unsigned char *c = (const unsigned char *)path; n >= 0 && *c; c++) {
		bool plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		             (*c >= '0' && *c <= '9') || strchr("/._-~+,:", *c);
		if ((size_t)n + 4 >= cap) {
			n = -1;
			break;
		}
		n += plain ? snprintf(buf + n, cap - (size_t)n, "%c", *c)
		           : snprintf(buf + n, cap - (size_t)n, "%%%02X", *c);
	}
	if (n < 0) {
		vz_cli_error(o->cmd, "--sdp: the path is too long");
		return -1;
	}
	o->sinks[o->nsinks - 1] = buf;
	return 0;
}

static int parse_args(struct run_opts *o, int argc, char **argv)
{
	static const struct option own[] = {
	        {"process", required_argument, NULL, OPT_PROCESS},
	        {"sink", required_argument, NULL, OPT_SINK},
	        {"budget", required_argument, NULL, OPT_BUDGET},
	        {"policy", required_argument, NULL, OPT_POLICY},
	        {"sdp", required_argument, NULL, OPT_SDP},
	        {"stats-json", required_argument, NULL, OPT_STATS_JSON},
	        {"plot", required_argument, NULL, OPT_PLOT},
	        {"rt", required_argument, NULL, OPT_RT},
	        {"cpu", required_argument, NULL, OPT_CPU},
	        {"mlock", no_argument, NULL, OPT_MLOCK},
	        {"status", no_argument, NULL, OPT_STATUS},
	        {"status-file", required_argument, NULL, OPT_STATUS_FILE},
	        {"quiet", no_argument, NULL, OPT_QUIET},
	        {"help", no_argument, NULL, OPT_HELP},
	};
	struct option opts[64];
	vz_cli_longopts(opts, sizeof(opts) / sizeof(opts[0]), own, sizeof(own) / sizeof(own[0]));

	bool jitter = !strcmp(o->cmd, "jitter");
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":" VZ_CLI_CAPTURE_SHORTOPTS "h", opts, NULL)) != -1) {
		int r = vz_cli_capture_opt(&o->cap, o->cmd, c, optarg);
		if (r < 0)
			return VZ_EXIT_USAGE;
		if (r > 0)
			continue;
		struct vz_err e = {0};
		uint64_t v;
		switch (c) {
		case 'h':
		case OPT_HELP:
			usage(stdout, o->cmd);
			return VZ_EXIT_OK + 100;
		case OPT_PROCESS:
			if (jitter)
				goto not_for_jitter;
			if (parse_processors(o, optarg) < 0)
				return VZ_EXIT_USAGE;
			break;
		case OPT_SINK:
			if (jitter)
				goto not_for_jitter;
			if (o->nsinks == VZ_MAX_SINKS) {
				vz_cli_error(o->cmd, "--sink: at most %d sinks", VZ_MAX_SINKS);
				return VZ_EXIT_USAGE;
			}
			o->sinks[o->nsinks++] = optarg;
			break;
		case OPT_BUDGET:
			if (vz_cli_parse_count(optarg, "--budget", VZ_MAX_BUFFERS, &v, &e) < 0) {
				vz_cli_error(o->cmd, "%s", e.msg);
				return VZ_EXIT_USAGE;
			}
			o->budget = (unsigned)v;
			break;
		case OPT_POLICY:
			if (jitter)
				goto not_for_jitter;
			if (!o->nsinks) {
				vz_cli_error(o->cmd,
				             "--policy applies to the --sink before it: give "
				             "--sink SPEC first");
				return VZ_EXIT_USAGE;
			}
			if (!strcmp(optarg, "live")) {
				o->policy[o->nsinks - 1] = VZ_SINK_LIVE;
			} else if (!strcmp(optarg, "record")) {
				o->policy[o->nsinks - 1] = VZ_SINK_RECORD;
			} else {
				vz_cli_error(o->cmd, "--policy '%s': expected live or record",
				             optarg);
				return VZ_EXIT_USAGE;
			}
			break;
		case OPT_SDP:
			if (jitter)
				goto not_for_jitter;
			if (add_sdp(o, optarg) < 0)
				return VZ_EXIT_USAGE;
			break;
		case OPT_STATS_JSON:
			o->stats_json = optarg;
			break;
		case OPT_PLOT:
			o->plot = optarg;
			break;
		case OPT_RT:
			if (vz_cli_parse_count(optarg, "--rt", 99, &v, &e) < 0) {
				vz_cli_error(o->cmd, "%s (SCHED_FIFO priorities are 1-99)", e.msg);
				return VZ_EXIT_USAGE;
			}
			o->rt_prio = (int)v;
			break;
		case OPT_CPU:
			if (parse_cpus(optarg, &o->cpus) < 0) {
				vz_cli_error(o->cmd,
				             "--cpu '%s': expected a CPU list like 1 or 0,2-3",
				             optarg);
				return VZ_EXIT_USAGE;
			}
			o->cpu_list = optarg;
			break;
		case OPT_MLOCK:
			o->mlock = true;
			break;
		case OPT_STATUS:
			o->status = 1;
			break;
		case OPT_STATUS_FILE:
			o->status_file = optarg;
			break;
		case OPT_QUIET:
			o->status = 0;
			break;
		case ':':
			vz_cli_error(o->cmd, "%s needs a value; see 'vzero %s --help'",
			             argv[optind - 1], o->cmd);
			return VZ_EXIT_USAGE;
		default:
			vz_cli_error(o->cmd, "unknown option '%s'; see 'vzero %s --help'",
			             argv[optind - 1], o->cmd);
			return VZ_EXIT_USAGE;
		}
		continue;
	not_for_jitter:
		vz_cli_error(o->cmd,
		             "%s: jitter measures the bare device; use 'vzero run' for "
		             "processors and sinks",
		             argv[optind - 1]);
		return VZ_EXIT_USAGE;
	}
	if (optind < argc) {
		vz_cli_error(o->cmd, "unexpected argument '%s'; see 'vzero %s --help'",
		             argv[optind], o->cmd);
		return VZ_EXIT_USAGE;
	}
	if (!o->cap.cfg.device) {
		vz_cli_error(o->cmd, "which device? give -d DEV (e.g. -d vivid or -d /dev/video0; "
		                     "'vzero devices' lists them)");
		return VZ_EXIT_USAGE;
	}
	if (!jitter && o->nsinks == 0) {
		vz_cli_error(o->cmd, "no sink: add --sink SPEC, where SPEC is %s",
		             vz_sink_specs_help);
		return VZ_EXIT_USAGE;
	}
	return -1; /* parsed, go on */
}

/* What happened to each real-time knob, in words for the report. */
struct rt_notes {
	char rt[160], cpu[160], mlock[1200];
};

static void apply_rt(const struct run_opts *o, struct rt_notes *n)
{
	snprintf(n->rt, sizeof(n->rt), "not requested");
	snprintf(n->cpu, sizeof(n->cpu), "not requested");
	snprintf(n->mlock, sizeof(n->mlock), "not requested");
	if (o->cpu_list) {
		if (sched_setaffinity(0, sizeof(o->cpus), &o->cpus) == 0)
			snprintf(n->cpu, sizeof(n->cpu), "pinned to CPU %s: ok", o->cpu_list);
		else
			snprintf(n->cpu, sizeof(n->cpu), "CPU %s: NOT applied (%s)", o->cpu_list,
			         strerror(errno));
	}
	if (o->rt_prio) {
		struct sched_param sp = {.sched_priority = o->rt_prio};
		if (sched_setscheduler(0, SCHED_FIFO, &sp) == 0)
			snprintf(n->rt, sizeof(n->rt), "SCHED_FIFO %d: ok", o->rt_prio);
		else
			snprintf(n->rt, sizeof(n->rt),
			         "SCHED_FIFO %d: NOT applied (%s; needs root or CAP_SYS_NICE)",
			         o->rt_prio, strerror(errno));
	}
}

static void mlock_note(const struct run_opts *o, struct vz_source src, struct rt_notes *n,
                       struct vz_memlock_report *mr)
{
	if (!o->mlock)
		return;
	vz_memlock_read(mr, src.ops->buffers(src.impl));
	if (mr->partial) {
		char why[1024];
		vz_memlock_describe(mr, why, sizeof(why));
		snprintf(n->mlock, sizeof(n->mlock), "PARTIAL, VmLck %llu kB: %s",
		         (unsigned long long)(mr->vmlck_bytes / 1024), why);
	} else if (mr->vmlck_bytes == 0)
		/* AddressSanitizer's interceptor returns 0 and locks nothing:
		 * believe VmLck, not the return code. */
		snprintf(n->mlock, sizeof(n->mlock),
		         "mlockall: returned 0 but nothing was locked (VmLck 0; an interposer "
		         "such as AddressSanitizer swallowed it)");
	else
		snprintf(n->mlock, sizeof(n->mlock),
		         "mlockall: ok, VmLck %llu kB; driver buffers %llu kB are kernel memory "
		         "(never swapped, mlock is a no-op on them)",
		         (unsigned long long)(mr->vmlck_bytes / 1024),
		         (unsigned long long)(mr->driver_bytes / 1024));
}

static void on_event(void *data, const char *msg)
{
	struct run_ctx *ctx = data;
	if (ctx->tty && ctx->scratch)
		fprintf(stderr, "\r\033[K");
	fprintf(stderr, "vzero %s: %s\n", ctx->o->cmd, msg);
}

static void on_signal(void *data, int fd, uint32_t events)
{
	struct run_ctx *ctx = data;
	struct signalfd_siginfo si;
	(void)events;
	if (read(fd, &si, sizeof(si)) == sizeof(si)) {
		ctx->interrupted = true;
		vz_loop_quit(ctx->loop, 0);
	}
}

static void on_status(void *data, uint64_t exp)
{
	struct run_ctx *ctx = data;
	struct vz_pipeline_stats st;
	(void)exp;
	vz_pipeline_get_stats(ctx->pipe, &st);
	if (ctx->status_line)
		vz_report_status_line(stderr, vz_pipeline_telemetry(ctx->pipe), &st, ctx->scratch,
		                      STATUS_WINDOW, ctx->tty);
	if (ctx->status_out)
		vz_report_status_json(ctx->status_out, &st, vz_pipeline_inflight(ctx->pipe),
		                      (double)(vz_now_ns() - ctx->t0) / 1e9);
}

static int json_fn(FILE *f, const void *r)
{
	return vz_report_write_json(f, r);
}

static int csv_fn(FILE *f, const void *t)
{
	return vz_telemetry_write_csv(f, t);
}

/* Sinks come first: a spec that cannot work is a usage error, found before
 * any device is touched. */
static int make_sinks(struct run_opts *o, struct vz_sink *sinks, struct vz_err *err)
{
	for (unsigned i = 0; i < o->nsinks; i++) {
		int r = vz_sink_create(o->sinks[i], &sinks[i], err);
		if (r < 0) {
			vz_cli_error(o->cmd, "--sink %s: %s", o->sinks[i], err->msg);
			return r == -EINVAL || r == -ENOENT ? VZ_EXIT_USAGE : VZ_EXIT_FAIL;
		}
	}
	return 0;
}

static int plot(const char *path, const struct vz_report *rep, const struct vz_telemetry *t,
                const char *cmd)
{
	struct vz_err pe = {0};
	if (vz_report_plot_module(path, rep, t, &pe) < 0) {
		vz_cli_error(cmd, "plot: %s", pe.msg);
		return -1;
	}
	return 0;
}

static int run(int argc, char **argv, const char *cmd)
{
	struct run_opts o = {.cmd = cmd, .status = -1};
	struct run_ctx ctx = {.o = &o};
	struct vz_camera *cam = NULL;
	struct vz_sink sinks[VZ_MAX_SINKS];
	struct vz_err err = {0};
	struct vz_report *rep = NULL;
	struct vz_memlock_report mr = {0};
	struct rt_notes notes;
	int sfd = -1;
	int ret = VZ_EXIT_FAIL;
	sigset_t mask;

	memset(sinks, 0, sizeof(sinks));
	vz_cli_capture_init(&o.cap);
	int pr = parse_args(&o, argc, argv);
	if (pr == VZ_EXIT_OK + 100)
		return VZ_EXIT_OK;
	if (pr >= 0)
		return pr;
	if (!o.cap.cfg.buffers)
		o.cap.cfg.buffers = RUN_BUFFERS;
	int sr = make_sinks(&o, sinks, &err);
	if (sr) {
		ret = sr;
		goto out;
	}

	if (o.status_file) {
		ctx.status_out = fopen(o.status_file, "we");
		if (!ctx.status_out) {
			vz_cli_error(cmd, "--status-file %s: cannot create it: %s", o.status_file,
			             strerror(errno));
			goto out;
		}
		setvbuf(ctx.status_out, NULL, _IOLBF, 0);
	}
	apply_rt(&o, &notes);

	/* Ctrl-C ends the run with its report, through the loop -- also while
	 * a vanished device is waited for.  Blocked before anything starts a
	 * thread (libcamera, GStreamer): threads inherit the mask, and one
	 * with SIGINT open would take the signal's default action, killing
	 * the run without its report.  A shell starts background jobs with
	 * SIGINT ignored, which would discard it before signalfd sees it: we
	 * handle it, so take it back. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGINT, SIG_DFL);

	if (vz_camera_open(&cam, &o.cap.cfg, &err) < 0) {
		vz_cli_error(cmd, "%s", err.msg);
		goto out;
	}

	if (vz_loop_create(&ctx.loop, &err) < 0)
		goto fail;
	struct vz_pipeline_config pc = {
	        .source = vz_camera_source(cam),
	        .loop = ctx.loop,
	        .max_frames = o.cap.frames,
	        .max_duration_ns = (int64_t)(o.cap.seconds * 1e9),
	        .reconnect_timeout_ms = o.cap.reconnect_ms,
	        .stall_timeout_ns = (int64_t)(o.cap.stall_s * 1e9),
	        .on_event = on_event,
	        .event_data = &ctx,
	};
	if (vz_pipeline_create(&ctx.pipe, &pc, &err) < 0)
		goto fail;
	if (o.stamp) {
		if (vz_pipeline_add_processor(ctx.pipe, "stamp", vz_stamp_process, NULL, &err) < 0)
			goto fail;
		snprintf(o.processors, sizeof(o.processors), "stamp");
	}
	if (o.mask.count) {
		if (vz_pipeline_add_processor(ctx.pipe, "mask", vz_mask_process, &o.mask, &err) < 0)
			goto fail;
		size_t l = strlen(o.processors);
		snprintf(o.processors + l, sizeof(o.processors) - l, "%smask(%u)", l ? "," : "",
		         o.mask.count);
	}
	for (unsigned i = 0; i < o.nsinks; i++) {
		struct vz_sink_config sc = {.budget = o.budget, .policy = o.policy[i]};
		if (vz_pipeline_add_sink(ctx.pipe, &sinks[i], &sc, &err) < 0)
			goto fail;
	}

	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		vz_err_set(&err, -errno, "signalfd: %s", strerror(errno));
		goto fail;
	}
	if (vz_loop_add_fd(ctx.loop, sfd, EPOLLIN, on_signal, &ctx, NULL, &err) < 0)
		goto fail;
	ctx.tty = isatty(STDERR_FILENO);
	ctx.status_line = o.status == 1 || (o.status == -1 && ctx.tty);
	ctx.t0 = vz_now_ns();
	if (ctx.status_line) {
		ctx.scratch = calloc(2 * STATUS_WINDOW, sizeof(double));
		if (!ctx.scratch) {
			vz_err_set(&err, -ENOMEM, "out of memory");
			goto fail;
		}
	}
	if ((ctx.status_line || ctx.status_out) &&
	    vz_loop_add_timer(ctx.loop, VZ_NSEC_PER_SEC, VZ_NSEC_PER_SEC, on_status, &ctx, NULL,
	                      &err) < 0)
		goto fail;

	if (vz_pipeline_start(ctx.pipe, &err) < 0)
		goto fail;
	/* Locked once everything is set up (the telemetry ring, the buffers,
	 * the sinks' threads): where only part of the process can be
	 * locked, that part is what the run uses. */
	if (o.mlock && vz_memlock_apply(&mr) == 1) {
		char why[1024];
		vz_memlock_describe(&mr, why, sizeof(why));
		fprintf(stderr, "vzero %s: --mlock: %s\n", cmd, why);
	}
	mlock_note(&o, vz_camera_source(cam), &notes, &mr);
	int status = vz_loop_run(ctx.loop);
	struct vz_err stop_err = {0};
	int stop = vz_pipeline_stop(ctx.pipe, &stop_err);
	if (ctx.status_out) {
		/* the last line: everything released, the final counts */
		struct vz_pipeline_stats fin;
		vz_pipeline_get_stats(ctx.pipe, &fin);
		vz_report_status_json(ctx.status_out, &fin, vz_pipeline_inflight(ctx.pipe),
		                      (double)(vz_now_ns() - ctx.t0) / 1e9);
	}
	if (ctx.scratch && ctx.tty)
		fprintf(stderr, "\r\033[K");

	ret = VZ_EXIT_OK;
	if (status < 0) {
		vz_cli_error(cmd, "%s", vz_pipeline_error(ctx.pipe)->msg);
		ret = VZ_EXIT_FAIL;
	} else if (stop < 0) {
		vz_cli_error(cmd, "%s", stop_err.msg);
		ret = VZ_EXIT_FAIL;
	}
	if (ctx.interrupted)
		fprintf(stderr, "vzero %s: interrupted; report follows\n", cmd);

	/* The report: whatever happened, what was measured is worth showing. */
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(ctx.pipe, &st);
	struct vz_source src = vz_camera_source(cam);
	const struct vz_format *fmt = src.ops->format(src.impl);
	struct vz_report_meta meta = {
	        .command = cmd,
	        .device = vz_camera_path(cam),
	        .card = vz_camera_card(cam),
	        .driver = vz_camera_driver(cam),
	        .source_notes = vz_camera_notes(cam),
	        .fmt = fmt,
	        .io = vz_camera_v4l2(cam) == NULL           ? "libcamera"
	              : o.cap.cfg.libv4l2                   ? "libv4l2"
	              : o.cap.cfg.io == VZ_IO_DMABUF_IMPORT ? "dmabuf-import"
	                                                    : "mmap",
	        .processors = o.processors,
	        .rt_note = notes.rt,
	        .cpu_note = notes.cpu,
	        .mlock_note = notes.mlock,
	};
	rep = calloc(1, sizeof(*rep));
	if (!rep || vz_report_compute(rep, &meta, vz_pipeline_telemetry(ctx.pipe), &st, &err) < 0) {
		vz_cli_error(cmd, "report: %s", err.msg);
		ret = VZ_EXIT_FAIL;
		goto out;
	}
	if (o.cap.json)
		vz_report_write_json(stdout, rep);
	else
		vz_report_print(stdout, rep);
	if (o.stats_json &&
	    vz_cli_write_file(cmd, "the JSON report", o.stats_json, json_fn, rep) < 0)
		ret = VZ_EXIT_FAIL;
	if (o.cap.timeline_csv && vz_cli_write_file(cmd, "the timeline", o.cap.timeline_csv, csv_fn,
	                                            vz_pipeline_telemetry(ctx.pipe)) < 0)
		ret = VZ_EXIT_FAIL;
	if (o.plot && plot(o.plot, rep, vz_pipeline_telemetry(ctx.pipe), cmd) < 0)
		ret = VZ_EXIT_FAIL;
	goto out;

fail:
	vz_cli_error(cmd, "%s", err.msg[0] ? err.msg : "failed");
	ret = VZ_EXIT_FAIL;
out:
	if (ctx.status_out && fclose(ctx.status_out) != 0 && ret == VZ_EXIT_OK) {
		vz_cli_error(cmd, "--status-file %s: %s", o.status_file, strerror(errno));
		ret = VZ_EXIT_FAIL;
	}
	free(rep);
	free(ctx.scratch);
	vz_pipeline_destroy(ctx.pipe);
	for (unsigned i = 0; i < VZ_MAX_SINKS; i++)
		vz_sink_destroy(&sinks[i]);
	vz_loop_destroy(ctx.loop);
	if (sfd >= 0)
		close(sfd);
	vz_camera_close(cam);
	return ret;
}

int vz_cmd_run(int argc, char **argv)
{
	return run(argc, argv, "run");
}

int vz_cmd_jitter(int argc, char **argv)
{
	return run(argc, argv, "jitter");
}
