/* SPDX-License-Identifier: MIT */
/*
 * vzero probe ipc:PATH -- a client of the local sink that checks what it
 * receives and times it with the same report as `vzero run`.
 *
 * The probe is the run's telemetry seen from the other side of the socket:
 * one record per frame received, "sink 0" being this client (hand-off =
 * DQBUF -> received, hold = received -> released, capture -> shown =
 * capture -> received).  What the report cannot say about a client is
 * printed after it: stamp -> received, sequence continuity, frames that
 * changed while held, frames this client lost to its budget.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "ipc.h"
#include "json.h"
#include "process.h"
#include "report.h"
#include "stats.h"
#include "telemetry.h"

#define PROBE_RING 65536

struct probe_opts {
	const char *path;
	uint64_t frames;
	double seconds;
	double hold_ms;
	bool json;
	bool verify; /* hash at receipt and at release */
	bool need_stamp;
	const char *stats_json, *csv, *plot, *ready;
};

/* What the report has no row for. */
struct probe_checks {
	uint64_t frames, changed, seq_back, gaps, gap_frames, driver_gap_frames;
	uint64_t budget_drops, unexplained;
	uint64_t stamped, stamp_missing, stamp_wrong;
	uint64_t sets;
	uint32_t last_seq, last_session, last_gen;
	bool have_last;
	char first_wrong[160];
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: vzero probe ipc:PATH [OPTIONS]\n\n"
	        "Connects to a vzero run's local sink (--sink ipc:PATH) as one more client,\n"
	        "checks every frame and reports its timing like 'vzero run' does:\n"
	        "  - sequence continuity: never backwards; every gap explained (skipped by the\n"
	        "    driver, lost to this client's budget) or counted as unexplained;\n"
	        "  - no frame changes while held (hashed on receipt and before release);\n"
	        "  - where the run stamps frames (--process stamp), the stamp names the frame\n"
	        "    it is in, and stamp -> received latency;\n"
	        "  - capture -> received and DQBUF -> received latency, jitter, drops.\n"
	        "In the report, sink 0 is this client: hand-off = DQBUF -> received, hold =\n"
	        "received -> released, capture->shown = capture -> received.\n\n"
	        "Options:\n"
	        "  -n FRAMES           stop after FRAMES frames (default: until the stream ends)\n"
	        "  -t SECONDS          stop after SECONDS\n"
	        "  --hold MS           hold each frame MS ms before releasing it (a slow client:\n"
	        "                      at the server's budget it loses frames, counted)\n"
	        "  --no-verify         do not hash frames (for CPU measurements)\n"
	        "  --require-stamp     fail when a frame carries no stamp\n"
	        "  --json              the report as JSON on stdout (with a \"probe\" object)\n"
	        "  --stats-json FILE   the JSON report to FILE as well\n"
	        "  --timeline-csv FILE one line per frame received\n"
	        "  --plot FILE.png     the jitter plot\n"
	        "  --ready FILE        create FILE once connected (for scripts)\n\n"
	        "Exit status: 0 every check held, 1 a check failed or the connection broke,\n"
	        "2 bad arguments.\n\n"
	        "Example:\n"
	        "  vzero run -d vivid --process stamp --sink ipc:/tmp/cam.sock &\n"
	        "  vzero probe ipc:/tmp/cam.sock -n 250 --plot probe.png\n");
}

static int parse_args(struct probe_opts *o, int argc, char **argv)
{
	enum { O_HOLD = 0x200, O_NOVERIFY, O_STAMP, O_JSON, O_SJSON, O_CSV, O_PLOT, O_READY };
	static const struct option lo[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"hold", required_argument, NULL, O_HOLD},
	        {"no-verify", no_argument, NULL, O_NOVERIFY},
	        {"require-stamp", no_argument, NULL, O_STAMP},
	        {"json", no_argument, NULL, O_JSON},
	        {"stats-json", required_argument, NULL, O_SJSON},
	        {"timeline-csv", required_argument, NULL, O_CSV},
	        {"plot", required_argument, NULL, O_PLOT},
	        {"ready", required_argument, NULL, O_READY},
	        {NULL, 0, NULL, 0},
	};
	struct vz_err err = {0};
	int c;
	o->verify = true;
	optind = 1;
	while ((c = getopt_long(argc, argv, "hn:t:", lo, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return VZ_EXIT_OK + 100;
		case 'n':
			if (vz_cli_parse_count(optarg, "-n", UINT32_MAX, &o->frames, &err) < 0)
				goto bad;
			break;
		case 't':
			if (vz_cli_parse_seconds(optarg, &o->seconds, &err) < 0)
				goto bad;
			break;
		case O_HOLD: {
			char *end;
			errno = 0;
			o->hold_ms = strtod(optarg, &end);
			if (!*optarg || *end || errno || !(o->hold_ms >= 0) || o->hold_ms > 60000) {
				vz_cli_error("probe", "--hold %s: milliseconds, 0..60000", optarg);
				return VZ_EXIT_USAGE;
			}
			break;
		}
		case O_NOVERIFY:
			o->verify = false;
			break;
		case O_STAMP:
			o->need_stamp = true;
			break;
		case O_JSON:
			o->json = true;
			break;
		case O_SJSON:
			o->stats_json = optarg;
			break;
		case O_CSV:
			o->csv = optarg;
			break;
		case O_PLOT:
			o->plot = optarg;
			break;
		case O_READY:
			o->ready = optarg;
			break;
		default:
			fprintf(stderr, "(vzero probe --help lists the options)\n");
			return VZ_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		vz_cli_error("probe", "%s: vzero probe ipc:PATH [OPTIONS] (--help explains)",
		             optind >= argc ? "which server? give its socket"
		                            : "one socket, and options before or after it");
		return VZ_EXIT_USAGE;
	}
	o->path = argv[optind];
	if (strncmp(o->path, "ipc:", 4) || !o->path[4]) {
		vz_cli_error("probe",
		             "%s: probe takes ipc:PATH, the socket of a vzero run's --sink "
		             "ipc:PATH",
		             o->path);
		return VZ_EXIT_USAGE;
	}
	o->path += 4;
	return -1;
bad:
	vz_cli_error("probe", "%s", err.msg);
	return VZ_EXIT_USAGE;
}

static uint64_t hash_frame(const struct vz_ipc_frame *f)
{
	uint64_t h = 1469598103934665603ull;
	for (unsigned p = 0; p < f->num_mem; p++) {
		const uint64_t *w = (const uint64_t *)f->map[p];
		size_t n = f->length[p] / 8;
		/* Word-wise: the probe must keep up with the camera it checks. */
		for (size_t i = 0; i < n; i++)
			h = (h ^ w[i]) * 1099511628211ull;
		for (size_t i = n * 8; i < f->length[p]; i++)
			h = (h ^ f->map[p][i]) * 1099511628211ull;
	}
	return h;
}

static void wrong(struct probe_checks *k, const char *fmt, uint32_t a, uint32_t b)
{
	if (!k->first_wrong[0])
		snprintf(k->first_wrong, sizeof(k->first_wrong), fmt, a, b);
}

/* Sequence continuity, against what the server says explains a gap. */
static void check_sequence(struct probe_checks *k, const struct vz_ipc_frame *f,
                           uint64_t drops_before)
{
	const struct vz_frame_info *fi = &f->info;
	bool same = k->have_last && fi->session == k->last_session && !fi->discont;
	/* Modulo 2^32: the driver's counter wraps within a session (vivid's
	 * wrap_sequence_number), and 0xffffffff -> 0 is the next frame. */
	int32_t step = (int32_t)(fi->sequence - k->last_seq);
	if (same && step <= 0) {
		k->seq_back++;
		wrong(k, "sequence went from %u to %u (backwards or repeated)", k->last_seq,
		      fi->sequence);
	} else if (same && step != 1) {
		uint64_t missing = (uint64_t)step - 1;
		uint64_t budget = f->client_drops - drops_before;
		uint64_t explained = fi->gap + budget;
		k->gaps++;
		k->gap_frames += missing;
		if (missing > explained)
			k->unexplained += missing - explained;
	}
	k->driver_gap_frames += fi->gap;
	k->have_last = true;
	k->last_seq = fi->sequence;
	k->last_session = fi->session;
}

/* @stamp_ms is a ring of @cap, like the telemetry's: the newest stamps. */
static void check_stamp(struct probe_checks *k, const struct vz_ipc_frame *f, double *stamp_ms,
                        size_t cap, size_t *nstamp)
{
	struct vz_frame_map m;
	struct vz_stamp st;
	if (vz_ipc_frame_map(f, &m) < 0 || vz_stamp_read(&m, &st) < 0) {
		k->stamp_missing++;
		return;
	}
	k->stamped++;
	if (st.sequence != f->info.sequence) {
		k->stamp_wrong++;
		wrong(k, "frame %u carries the stamp of frame %u (another buffer's pixels)",
		      f->info.sequence, st.sequence);
		return;
	}
	stamp_ms[(*nstamp)++ % cap] = (double)(f->t_received_ns - st.t_ns) / 1e6;
}

static int csv_fn(FILE *f, const void *t)
{
	return vz_telemetry_write_csv(f, t);
}

struct json_arg {
	const struct vz_report *rep;
	const struct probe_checks *k;
	const struct vz_summary *stamp;
	const char *verdict;
	bool verified;
};

static int json_fn(FILE *f, const void *p)
{
	const struct json_arg *a = p;
	const struct probe_checks *k = a->k;
	/* Unknown, not zero, when frames were not hashed. */
	char changed[24] = "null";
	if (a->verified)
		snprintf(changed, sizeof(changed), "%" PRIu64, k->changed);
	fprintf(f,
	        "{\"probe\":{\"frames\":%" PRIu64 ",\"buffer_sets\":%" PRIu64
	        ",\"changed_while_held\":%s,\"sequence_backwards\":%" PRIu64 ",\"gaps\":%" PRIu64
	        ",\"gap_frames\":%" PRIu64 ",\"driver_skipped\":%" PRIu64
	        ",\"budget_drops\":%" PRIu64 ",\"unexplained_missing\":%" PRIu64
	        ",\"stamped\":%" PRIu64 ",\"stamp_missing\":%" PRIu64 ",\"stamp_wrong\":%" PRIu64
	        ",\"stamp_to_received_ms\":",
	        k->frames, k->sets, changed, k->seq_back, k->gaps, k->gap_frames,
	        k->driver_gap_frames, k->budget_drops, k->unexplained, k->stamped, k->stamp_missing,
	        k->stamp_wrong);
	vz_json_summary(f, a->stamp);
	fputs(",\"verdict\":", f);
	vz_json_str(f, a->verdict);
	fputs("},\"report\":", f);
	int r = vz_report_write_json(f, a->rep);
	fputs("}\n", f);
	return r;
}

static void print_checks(FILE *out, const struct probe_opts *o, const struct probe_checks *k,
                         const struct vz_summary *stamp)
{
	fprintf(out, "\nprobe (this client's view):\n");
	if (o->verify)
		fprintf(out, "  changed while held:  %" PRIu64 " of %" PRIu64 " frames\n",
		        k->changed, k->frames);
	else
		fprintf(out, "  changed while held:  not checked (--no-verify)\n");
	fprintf(out,
	        "  sequence:            %" PRIu64 " backwards; %" PRIu64 " gaps (%" PRIu64
	        " frames): driver skipped %" PRIu64 ", this client's budget %" PRIu64
	        ", dropped before the sink %" PRIu64 "\n",
	        k->seq_back, k->gaps, k->gap_frames, k->driver_gap_frames, k->budget_drops,
	        k->unexplained);
	if (k->stamped || k->stamp_wrong)
		fprintf(out,
		        "  stamps:              %" PRIu64 " read, %" PRIu64
		        " naming another frame, %" PRIu64 " absent\n",
		        k->stamped, k->stamp_wrong, k->stamp_missing);
	else
		fprintf(out,
		        "  stamps:              none (the run adds them with --process stamp)\n");
	if (stamp->n)
		fprintf(out,
		        "  stamp->received ms:  n %" PRIu64
		        ", p50 %.3f, p95 %.3f, p99 %.3f, p99.9 %.3f, "
		        "max %.3f, std %.3f\n",
		        stamp->n, stamp->p50, stamp->p95, stamp->p99, stamp->p999, stamp->max,
		        stamp->std);
	if (stamp->n && stamp->p50 < 0)
		fprintf(out, "                       (negative: the stamp carries the driver's "
		             "timestamp, which this driver puts ahead of DQBUF, as vivid does)\n");
	if (k->sets > 1)
		fprintf(out,
		        "  buffer sets:         %" PRIu64 " (the stream was renegotiated or the "
		        "camera reconnected; the probe stayed connected)\n",
		        k->sets);
	if (k->first_wrong[0])
		fprintf(out, "  FIRST FAILURE:       %s\n", k->first_wrong);
}

int vz_cmd_probe(int argc, char **argv)
{
	struct probe_opts o = {0};
	int pr = parse_args(&o, argc, argv);
	if (pr == VZ_EXIT_OK + 100)
		return VZ_EXIT_OK;
	if (pr >= 0)
		return pr;

	struct vz_err err = {0};
	struct vz_ipc_client *c = NULL;
	struct vz_telemetry *t = NULL;
	struct vz_report *rep = NULL;
	double *stamp_ms = NULL, *scratch = NULL;
	int sfd = -1, ret = VZ_EXIT_FAIL;
	struct probe_checks k = {0};
	struct vz_summary stamp = {0};
	struct vz_format fmt = {0};
	size_t nstamp = 0;
	size_t cap = o.frames && o.frames < PROBE_RING ? (size_t)o.frames : PROBE_RING;
	if (cap < 16)
		cap = 16;

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	if (vz_telemetry_create(&t, cap, 1, &err) < 0)
		goto fail;
	stamp_ms = calloc(cap, sizeof(double));
	scratch = calloc(cap, sizeof(double));
	rep = calloc(1, sizeof(*rep));
	if (!stamp_ms || !scratch || !rep) {
		vz_err_set(&err, -ENOMEM, "out of memory");
		goto fail;
	}
	if (vz_ipc_connect(&c, o.path, &err) < 0)
		goto fail;
	if (o.ready) {
		FILE *rf = fopen(o.ready, "w");
		if (rf)
			fclose(rf);
	}

	int64_t start = vz_now_ns();
	int64_t deadline = o.seconds > 0 ? start + (int64_t)(o.seconds * 1e9) : 0;
	uint64_t drops_before = 0;
	uint32_t gen = 0;
	bool interrupted = false;
	int end = 0;
	while (!o.frames || k.frames < o.frames) {
		int wait = 500;
		if (deadline) {
			int64_t left = deadline - vz_now_ns();
			if (left <= 0)
				break;
			if (left / 1000000 < wait)
				wait = (int)(left / 1000000) + 1;
		}
		struct pollfd pf[2] = {{.fd = vz_ipc_client_fd(c), .events = POLLIN},
		                       {.fd = sfd, .events = POLLIN}};
		if (poll(pf, sfd >= 0 ? 2 : 1, wait) < 0 && errno != EINTR)
			break;
		if (sfd >= 0 && (pf[1].revents & POLLIN)) {
			interrupted = true;
			break;
		}
		struct vz_ipc_frame *f;
		int r = vz_ipc_next(c, &f, 0, &err);
		if (r == 0)
			continue;
		if (r < 0) {
			end = r;
			break;
		}
		if (f->generation != gen) {
			gen = f->generation;
			k.sets++;
			fmt = *f->fmt;
		}
		struct vz_frame_record *rec = vz_telemetry_begin(t, &f->info, 0);
		rec->t_handoff[0] = f->t_received_ns;
		rec->t_shown[0] = f->t_received_ns;
		k.budget_drops = f->client_drops;
		check_sequence(&k, f, drops_before);
		drops_before = f->client_drops;
		vz_ipc_frame_begin(f);
		uint64_t h = o.verify ? hash_frame(f) : 0;
		check_stamp(&k, f, stamp_ms, cap, &nstamp);
		if (o.hold_ms > 0)
			usleep((useconds_t)(o.hold_ms * 1000));
		if (o.verify && hash_frame(f) != h) {
			k.changed++;
			wrong(&k, "frame %u changed while this client held it (buffer %u)",
			      f->info.sequence, f->info.index);
		}
		vz_ipc_frame_end(f);
		k.frames++;
		rec->t_release[0] = vz_now_ns();
		rec->t_requeue = rec->t_release[0];
		vz_ipc_release(c, f);
	}
	if (end < 0 && end != -ESHUTDOWN) {
		vz_cli_error("probe", "%s", err.msg);
		ret = VZ_EXIT_FAIL;
	} else if (interrupted) {
		fprintf(stderr, "vzero probe: interrupted; report follows\n");
	}

	struct vz_pipeline_stats st;
	memset(&st, 0, sizeof(st));
	st.frames = k.frames;
	st.nsinks = 1;
	st.drops[VZ_DROP_DRIVER_GAP] = k.driver_gap_frames;
	st.drops[VZ_DROP_SINK_BUDGET] = k.budget_drops;
	st.generation = gen;
	snprintf(st.sink_name[0], sizeof(st.sink_name[0]), "this probe (ipc client)");
	struct vz_sink_stats *ss = &st.sink[0];
	ss->frames = k.frames;
	ss->released = k.frames;
	ss->drops_budget = k.budget_drops;
	ss->shown = k.frames;
	snprintf(ss->shown_note, sizeof(ss->shown_note),
	         "received by this client (capture -> received)");
	snprintf(ss->proof, sizeof(ss->proof),
	         "mapped the server's DMA-buf fds read-only (PROT_READ); %s",
	         o.verify ? "hashed every frame on receipt and before release" : "no hashing");
	snprintf(st.buffers, sizeof(st.buffers), "the server's (%s)", vz_ipc_client_name(c));
	vz_summarize(stamp_ms, nstamp < cap ? nstamp : cap, scratch, &stamp);
	/* This client holds one frame at a time. */
	st.inflight_hwm = ss->inflight_hwm = k.frames ? 1 : 0;

	bool failed = k.changed || k.seq_back || k.stamp_wrong ||
	              (o.need_stamp && (k.stamp_missing || !k.stamped)) ||
	              (end < 0 && end != -ESHUTDOWN);
	if (o.need_stamp && (k.stamp_missing || !k.stamped) && !k.first_wrong[0])
		snprintf(k.first_wrong, sizeof(k.first_wrong),
		         "%" PRIu64 " frames carried no stamp (--require-stamp; the run needs "
		         "--process stamp)",
		         k.stamp_missing);
	struct vz_report_meta meta = {
	        .command = "probe",
	        .device = o.path,
	        .card = vz_ipc_client_name(c),
	        .driver = "vzero ipc",
	        .fmt = k.sets ? &fmt : NULL,
	        .io = "ipc (read-only DMA-buf fds)",
	};
	if (vz_report_compute(rep, &meta, t, &st, &err) < 0)
		goto fail;
	struct json_arg ja = {.rep = rep,
	                      .k = &k,
	                      .stamp = &stamp,
	                      .verdict = failed ? "FAIL" : "ok",
	                      .verified = o.verify};
	if (o.json) {
		json_fn(stdout, &ja);
	} else {
		vz_report_print(stdout, rep);
		print_checks(stdout, &o, &k, &stamp);
		printf("verdict: %s\n", failed ? "FAIL" : "ok");
	}
	ret = failed ? VZ_EXIT_FAIL : VZ_EXIT_OK;
	if (o.stats_json &&
	    vz_cli_write_file("probe", "the JSON report", o.stats_json, json_fn, &ja) < 0)
		ret = VZ_EXIT_FAIL;
	if (o.csv && vz_cli_write_file("probe", "the timeline", o.csv, csv_fn, t) < 0)
		ret = VZ_EXIT_FAIL;
	if (o.plot) {
		struct vz_err pe = {0};
		if (vz_report_plot_module(o.plot, rep, t, &pe) < 0) {
			vz_cli_error("probe", "plot: %s", pe.msg);
			ret = VZ_EXIT_FAIL;
		}
	}
	goto out;
fail:
	vz_cli_error("probe", "%s", err.msg[0] ? err.msg : "failed");
	ret = VZ_EXIT_FAIL;
out:
	vz_ipc_close(c);
	vz_telemetry_destroy(t);
	free(rep);
	free(stamp_ms);
	free(scratch);
	if (sfd >= 0)
		close(sfd);
	return ret;
}
