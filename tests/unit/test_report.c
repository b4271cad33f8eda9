/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cairo.h>
#include <cmocka.h>
#include <ctype.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "report-internal.h"
#include "report.h"

/* Bytes the allocator has handed out and not had back.  Under ASan glibc's
 * malloc is replaced, so ask the sanitizer instead of mallinfo2(). */
#if defined(__SANITIZE_ADDRESS__)
/* From <sanitizer/allocator_interface.h>, which not every toolchain ships. */
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_in_use(void)
{
	return __sanitizer_get_current_allocated_bytes();
}
#else
static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}
#endif

#define EPS  1e-6
#define MS   1000000LL
#define NREC 201

/*
 * A synthetic run at 25 fps (40 ms nominal), 201 records, 200 driver
 * intervals: 40.2 ms for odd i, 39.8 ms for even i, except
 *   i = 100: 120 ms, a 2-frame driver gap (record 100 has gap = 2);
 *   i = 150:  70 ms, a late frame.
 * So: 100 x 40.2, 98 x 39.8, 70, 120; sum 8110.4 ms, mean 40.552 ms,
 * p50/p95/p99 = 40.2 (ranks 100, 190, 198), p99.9 = max = 120 (rank 200),
 * 2 late frames (> 60 ms), fps = 200 / 8.1104 s.
 * DQBUF latency 1.0 + (i % 10) * 0.1 ms: 21 x 1.0 and 20 each of
 * 1.1 .. 1.9, mean 291/201, p50 (rank 101) 1.4.  Processing 0.5 ms, sink 0
 * hand-off 0.6 ms and hold 2 ms, sink 1 hold 5 ms but a budget drop on
 * every 10th record, requeue 3 ms except the last (still out).
 */
struct fixture {
	struct vz_telemetry *t;
	struct vz_pipeline_stats st;
	struct vz_format fmt;
	struct vz_report_meta meta;
};

static double interval_ms(int i)
{
	if (i == 100)
		return 120.0;
	if (i == 150)
		return 70.0;
	return (i & 1) ? 40.2 : 39.8;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f || vz_telemetry_create(&f->t, 256, 2, NULL) < 0)
		return -1;

	int64_t t_drv = 5000 * MS;
	uint32_t seq = 10;
	for (int i = 0; i < NREC; i++) {
		struct vz_frame_info fi = {0};
		if (i > 0)
			t_drv += llround(interval_ms(i) * 1e6);
		fi.gap = i == 100 ? 2 : 0;
		seq += fi.gap;
		fi.sequence = seq++;
		fi.t_driver_ns = t_drv;
		fi.t_dqbuf_ns = t_drv + MS + (i % 10) * MS / 10;
		struct vz_frame_record *r = vz_telemetry_begin(f->t, &fi, (uint32_t)(i % 4));
		r->t_processed = r->t_dqbuf + MS / 2;
		r->t_handoff[0] = r->t_processed + MS / 10;
		r->t_release[0] = r->t_handoff[0] + 2 * MS;
		if (i % 10 == 0) {
			r->sink_drop[1] = VZ_DROP_SINK_BUDGET;
		} else {
			r->t_handoff[1] = r->t_processed + MS / 10;
			r->t_release[1] = r->t_handoff[1] + 5 * MS;
		}
		if (i != NREC - 1)
			r->t_requeue = r->t_dqbuf + 3 * MS;
	}

	f->fmt.fourcc = VZ_FOURCC('Y', 'U', 'Y', 'V');
	f->fmt.width = 640;
	f->fmt.height = 480;
	f->fmt.fps_num = 25;
	f->fmt.fps_den = 1;

	f->st.frames = NREC;
	f->st.drops[VZ_DROP_DRIVER_GAP] = 2;
	f->st.drops[VZ_DROP_SINK_BUDGET] = 21;
	f->st.inflight_hwm = 2;
	f->st.capture.frames = NREC;
	f->st.capture.driver_drops = 2;
	f->st.nsinks = 2;
	snprintf(f->st.sink_name[0], sizeof(f->st.sink_name[0]), "null");
	snprintf(f->st.sink_name[1], sizeof(f->st.sink_name[1]), "gst:fakesink");
	f->st.sink[0].frames = NREC;
	f->st.sink[0].released = NREC;
	f->st.sink[1].policy = VZ_SINK_RECORD;
	f->st.sink[1].frames = NREC - 21;
	f->st.sink[1].released = NREC - 21;
	f->st.sink[1].drops_budget = 21;
	snprintf(f->st.sink[1].proof, sizeof(f->st.sink[1].proof),
	         "first element saw vzero's DMA-buf fds in 180/180 buffers");

	f->meta = (struct vz_report_meta){
	        .command = "run",
	        .device = "/dev/video0",
	        .card = "vivid \"test\" \\card\\\n\xff",
	        .driver = "vivid",
	        .fmt = &f->fmt,
	        .io = "mmap",
	        .processors = "stamp,mask",
	        .rt_note = "SCHED_FIFO 50: ok",
	        .cpu_note = NULL,
	        .mlock_note = "mlockall ok, VmLck 1234 kB",
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	vz_telemetry_destroy(f->t);
	free(f);
	return 0;
}

static void test_compute(void **state)
{
	struct fixture *f = *state;
	struct vz_report r;
	struct vz_err err = {0};

	assert_int_equal(vz_report_compute(&r, &f->meta, f->t, &f->st, &err), 0);
	assert_int_equal(r.frames, NREC);
	assert_int_equal(r.records, NREC);
	assert_float_equal(r.nominal_interval_ms, 40.0, EPS);

	assert_int_equal(r.interval_driver.n, 200);
	assert_float_equal(r.interval_driver.mean, 40.552, EPS);
	assert_float_equal(r.interval_driver.min, 39.8, EPS);
	assert_float_equal(r.interval_driver.p50, 40.2, EPS);
	assert_float_equal(r.interval_driver.p95, 40.2, EPS);
	assert_float_equal(r.interval_driver.p99, 40.2, EPS);
	assert_float_equal(r.interval_driver.p999, 120.0, EPS);
	assert_float_equal(r.interval_driver.max, 120.0, EPS);
	assert_int_equal(r.late_frames, 2);
	assert_float_equal(r.duration_s, 8.1104, 1e-9);
	assert_float_equal(r.fps, 200.0 / 8.1104, 1e-9);

	/* DQBUF intervals: driver interval + the change in DQBUF latency. */
	assert_int_equal(r.interval_dqbuf.n, 200);
	assert_float_equal(r.interval_dqbuf.mean, (8110.4 + 0.0) / 200.0, EPS);
	/* The 120 ms gap came with a 0.9 ms shorter DQBUF latency. */
	assert_float_equal(r.interval_dqbuf.max, 119.1, EPS);

	assert_int_equal(r.lat_dqbuf.n, NREC);
	assert_float_equal(r.lat_dqbuf.mean, 291.0 / 201.0, EPS);
	assert_float_equal(r.lat_dqbuf.p50, 1.4, EPS);
	assert_float_equal(r.lat_dqbuf.min, 1.0, EPS);
	assert_float_equal(r.lat_dqbuf.max, 1.9, EPS);
	assert_float_equal(r.lat_process.mean, 0.5, EPS);
	assert_float_equal(r.lat_process.std, 0.0, EPS);
	assert_int_equal(r.lat_requeue.n, NREC - 1);
	assert_float_equal(r.lat_requeue.p99, 3.0, EPS);

	assert_int_equal(r.nsinks, 2);
	assert_int_equal(r.lat_sink[0].n, NREC);
	assert_float_equal(r.lat_sink[0].mean, 0.6, EPS);
	assert_float_equal(r.hold_sink[0].max, 2.0, EPS);
	assert_int_equal(r.lat_sink[1].n, NREC - 21);
	assert_int_equal(r.hold_sink[1].n, NREC - 21);
	assert_float_equal(r.hold_sink[1].p50, 5.0, EPS);

	assert_int_equal(r.drops[VZ_DROP_DRIVER_GAP], 2);
	assert_int_equal(r.drops[VZ_DROP_SINK_BUDGET], 21);
	assert_int_equal(r.inflight_hwm, 3); /* records say 3, counters 2 */
	assert_int_equal(r.bytes_copied, 0);
	assert_float_equal(r.bytes_copied_per_frame, 0.0, 0);
}

static void test_compute_median_nominal_and_copies(void **state)
{
	struct fixture *f = *state;
	struct vz_format fmt = f->fmt;
	struct vz_report_meta meta = f->meta;
	struct vz_pipeline_stats st = f->st;
	struct vz_report r;

	fmt.fps_num = fmt.fps_den = 0;
	meta.fmt = &fmt;
	st.bytes_copied = NREC * 1000ULL;
	assert_int_equal(vz_report_compute(&r, &meta, f->t, &st, NULL), 0);
	assert_float_equal(r.nominal_interval_ms, 40.2, EPS); /* the median */
	assert_int_equal(r.late_frames, 2);
	assert_float_equal(r.bytes_copied_per_frame, 1000.0, EPS);
}

static void test_compute_excludes_backward_jumps(void **state)
{
	struct vz_telemetry *t;
	struct vz_report r;

	assert_int_equal(vz_telemetry_create(&t, 16, 0, NULL), 0);
	/* 10, 20, 30, then the clock jumps back to 5, 8: the jump is no
	 * interval; 10, 10 and 3 ms are. */
	const int64_t drv[] = {10 * MS, 20 * MS, 30 * MS, 5 * MS, 8 * MS};
	for (int i = 0; i < 5; i++) {
		struct vz_frame_info fi = {.sequence = (uint32_t)i,
		                           .t_driver_ns = drv[i],
		                           .t_dqbuf_ns = 100 * MS + i * 10 * MS};
		vz_telemetry_begin(t, &fi, 0);
	}
	assert_int_equal(vz_report_compute(&r, NULL, t, NULL, NULL), 0);
	assert_int_equal(r.interval_driver.n, 3);
	assert_float_equal(r.interval_driver.max, 10.0, EPS);
	assert_float_equal(r.interval_driver.min, 3.0, EPS);
	assert_int_equal(r.interval_dqbuf.n, 4);
	/* Driver clock not increasing end to end: the rate comes from ours. */
	assert_float_equal(r.fps, 100.0, EPS);
	assert_int_equal(r.frames, 5);
	vz_telemetry_destroy(t);

	/* Nothing recorded: a report of nothing, not a crash. */
	assert_int_equal(vz_telemetry_create(&t, 16, 1, NULL), 0);
	assert_int_equal(vz_report_compute(&r, NULL, t, NULL, NULL), 0);
	assert_int_equal(r.records, 0);
	assert_int_equal(r.interval_driver.n, 0);
	assert_float_equal(r.fps, 0.0, 0);
	vz_telemetry_destroy(t);
}

/* A driver clock that wraps past INT64_MAX (vivid's wrap_timestamp=1):
 * the intervals across the wrap are the 40 ms they are, computed modulo
 * 2^64 -- under UBSan a plain subtraction here is a signed overflow. */
static void test_compute_across_timestamp_wrap(void **state)
{
	struct vz_telemetry *t;
	struct vz_report r;
	(void)state;

	assert_int_equal(vz_telemetry_create(&t, 16, 0, NULL), 0);
	int64_t drv = INT64_MAX - 95 * MS;
	for (int i = 0; i < 6; i++) {
		struct vz_frame_info fi = {.sequence = (uint32_t)i,
		                           .t_driver_ns = drv,
		                           .t_dqbuf_ns = 100 * MS + i * 40 * MS};
		vz_telemetry_begin(t, &fi, 0);
		drv = (int64_t)((uint64_t)drv + 40 * MS);
	}
	assert_true(drv < 0); /* it did wrap */
	assert_int_equal(vz_report_compute(&r, NULL, t, NULL, NULL), 0);
	assert_int_equal(r.interval_driver.n, 5);
	assert_float_equal(r.interval_driver.min, 40.0, EPS);
	assert_float_equal(r.interval_driver.max, 40.0, EPS);
	vz_telemetry_destroy(t);
}

/* Capture to screen counts from the capture: the driver's timestamp, or
 * DQBUF where the driver stamps ahead of it (vivid). */
static void test_shown_from_capture_time(void **state)
{
	(void)state;
	struct vz_telemetry *t;
	struct vz_report r;
	assert_int_equal(vz_telemetry_create(&t, 16, 1, NULL), 0);
	for (int i = 0; i < 4; i++) {
		/* Frames 0, 1: driver time 5 ms before DQBUF; 2, 3: 30 ms after. */
		int64_t dq = 100 * MS + i * 40 * MS;
		struct vz_frame_info fi = {.sequence = (uint32_t)i,
		                           .t_driver_ns = i < 2 ? dq - 5 * MS : dq + 30 * MS,
		                           .t_dqbuf_ns = dq};
		struct vz_frame_record *rec = vz_telemetry_begin(t, &fi, 0);
		rec->t_shown[0] = dq + 12 * MS;
	}
	assert_int_equal(vz_report_compute(&r, NULL, t, NULL, NULL), 0);
	assert_int_equal(r.shown_sink[0].n, 4);
	assert_float_equal(r.shown_sink[0].min, 12.0, EPS); /* from DQBUF */
	assert_float_equal(r.shown_sink[0].max, 17.0, EPS); /* from the driver */
	vz_telemetry_destroy(t);
}

/* noinline: gcc mistakes the memstream's buffer for a local variable. */
__attribute__((noinline)) static char *capture_output(void (*fn)(FILE *, const void *),
                                                      const void *arg, size_t *len)
{
	char *buf = NULL;
	FILE *m = open_memstream(&buf, len);
	assert_non_null(m);
	fn(m, arg);
	assert_int_equal(fclose(m), 0);
	return buf;
}

static void print_fn(FILE *out, const void *arg)
{
	vz_report_print(out, arg);
}

static void test_print(void **state)
{
	struct fixture *f = *state;
	struct vz_report r;
	size_t len;

	assert_int_equal(vz_report_compute(&r, &f->meta, f->t, &f->st, NULL), 0);
	char *s = capture_output(print_fn, &r, &len);
	if (getenv("VZ_TEST_VERBOSE"))
		fputs(s, stderr);
	assert_non_null(strstr(s, "YUYV 640x480 @ 25.000 fps"));
	assert_non_null(strstr(s, "24.660 fps measured, 25.000 fps nominal"));
	assert_non_null(strstr(s, "interval (driver clock)"));
	assert_non_null(strstr(s, "    200   40.552"));
	assert_non_null(strstr(s, "driver_gap 2"));
	assert_non_null(strstr(s, "sink_budget 21"));
	assert_non_null(strstr(s, "late:       2 frames"));
	assert_non_null(strstr(s, "0 B/frame (zero-copy)"));
	assert_non_null(strstr(s, "sink 1 gst:fakesink (record): 180 frames"));
	assert_non_null(strstr(s, "proof: first element saw"));
	/* Readable in 100 columns. */
	for (char *line = s; *line;) {
		char *nl = strchr(line, '\n');
		size_t l = nl ? (size_t)(nl - line) : strlen(line);
		if (l > 100 && !strstr(line, "proof:"))
			fail_msg("line longer than 100 columns: %.*s", (int)l, line);
		line += l + (nl ? 1 : 0);
	}
	free(s);
}

/* ---- a small strict JSON checker, so validity is tested everywhere ---- */

struct json {
	const char *p;
	int depth;
};

static bool j_value(struct json *j);

static void j_ws(struct json *j)
{
	while (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r')
		j->p++;
}

static bool j_string(struct json *j)
{
	if (*j->p != '"')
		return false;
	for (j->p++; *j->p != '"'; j->p++) {
		unsigned char c = (unsigned char)*j->p;
		if (c < 0x20)
			return false;
		if (c == '\\') {
			j->p++;
			if (*j->p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)j->p[i]))
						return false;
				j->p += 4;
			} else if (!strchr("\"\\/bfnrt", *j->p) || !*j->p) {
				return false;
			}
		} else if (c >= 0x80) {
			/* only well-formed 2..4 byte sequences */
			int len = (c & 0xe0) == 0xc0   ? 2
			          : (c & 0xf0) == 0xe0 ? 3
			          : (c & 0xf8) == 0xf0 ? 4
			                               : 0;
			if (!len)
				return false;
			for (int i = 1; i < len; i++)
				if (((unsigned char)j->p[i] & 0xc0) != 0x80)
					return false;
			j->p += len - 1;
		}
	}
	j->p++;
	return true;
}

static bool j_number(struct json *j)
{
	const char *s = j->p;
	if (*j->p == '-')
		j->p++;
	if (*j->p == '0')
		j->p++;
	else if (*j->p >= '1' && *j->p <= '9')
		while (isdigit((unsigned char)*j->p))
			j->p++;
	else
		return false;
	if (*j->p == '.') {
		j->p++;
		if (!isdigit((unsigned char)*j->p))
			return false;
		while (isdigit((unsigned char)*j->p))
			j->p++;
	}
	if (*j->p == 'e' || *j->p == 'E') {
		j->p++;
		if (*j->p == '+' || *j->p == '-')
			j->p++;
		if (!isdigit((unsigned char)*j->p))
			return false;
		while (isdigit((unsigned char)*j->p))
			j->p++;
	}
	return j->p > s;
}

static bool j_seq(struct json *j, char close, bool keyed)
{
	j->p++;
	j_ws(j);
	if (*j->p == close) {
		j->p++;
		return true;
	}
	for (;;) {
		j_ws(j);
		if (keyed) {
			if (!j_string(j))
				return false;
			j_ws(j);
			if (*j->p++ != ':')
				return false;
		}
		if (!j_value(j))
			return false;
		j_ws(j);
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p++ != close)
			return false;
		return true;
	}
}

static bool j_value(struct json *j)
{
	bool ok;

	j_ws(j);
	if (++j->depth > 64)
		return false;
	switch (*j->p) {
	case '{':
		ok = j_seq(j, '}', true);
		break;
	case '[':
		ok = j_seq(j, ']', false);
		break;
	case '"':
		ok = j_string(j);
		break;
	case 't':
		ok = !strncmp(j->p, "true", 4) && (j->p += 4);
		break;
	case 'f':
		ok = !strncmp(j->p, "false", 5) && (j->p += 5);
		break;
	case 'n':
		ok = !strncmp(j->p, "null", 4) && (j->p += 4);
		break;
	default:
		ok = j_number(j);
	}
	j->depth--;
	return ok;
}

static bool json_valid(const char *s)
{
	struct json j = {s, 0};
	if (!j_value(&j))
		return false;
	j_ws(&j);
	return *j.p == '\0';
}

static void test_json_checker_rejects(void **state)
{
	/* The checker must be able to say no, or the JSON test proves nothing. */
	assert_true(json_valid("{\"a\":[1,2.5,-3e2,null,true,\"x\\n\"]}"));
	assert_false(json_valid("{\"a\":nan}"));
	assert_false(json_valid("{\"a\":1,}"));
	assert_false(json_valid("{\"a\":\"x\ny\"}"));
	assert_false(json_valid("{\"a\":\"\xff\"}"));
	assert_false(json_valid("{\"a\":1} x"));
	assert_false(json_valid("{\"a\":\"unterminated}"));
}

static void json_fn(FILE *out, const void *arg)
{
	assert_int_equal(vz_report_write_json(out, arg), 0);
}

static void python_check(const char *json, const char *asserts)
{
	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		print_message("# python3 not found: SKIPPING the cross-check of the JSON with "
		              "python's json module (the built-in checker still ran)\n");
		return;
	}
	char path[] = "/tmp/vz-test-json-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(json, f);
	fclose(f);
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
	         "python3 -c 'import json,sys,math; d=json.load(open(sys.argv[1])); %s' %s",
	         asserts, path);
	int rc = system(cmd);
	unlink(path);
	assert_int_equal(rc, 0);
}

static void test_json(void **state)
{
	struct fixture *f = *state;
	struct vz_report r;
	size_t len;

	assert_int_equal(vz_report_compute(&r, &f->meta, f->t, &f->st, NULL), 0);
	char *s = capture_output(json_fn, &r, &len);
	if (!json_valid(s))
		fail_msg("invalid JSON: %s", s);
	assert_non_null(strstr(s, "\"frames\":201,"));
	assert_non_null(strstr(s, "\"late_frames\":2,"));
	assert_non_null(strstr(s, "\"fourcc\":\"YUYV\""));
	assert_non_null(strstr(s, "\"card\":\"vivid \\\"test\\\" \\\\card\\\\\\n\\ufffd\""));
	assert_non_null(strstr(s, "\"cpu\":null"));
	assert_non_null(strstr(s, "\"drops\":{\"driver_gap\":2,\"error_flag\":0,"
	                          "\"sink_budget\":21,\"sink_failure\":0,\"sink_ended\":0}"));
	assert_non_null(strstr(s, "\"interval_driver_ms\":{\"n\":200,\"mean\":40.552000,"));
	python_check(s, "assert d[\"frames\"] == 201; "
	                "assert d[\"format\"][\"fps\"] == 25.0; "
	                "assert abs(d[\"interval_driver_ms\"][\"p99_9\"] - 120) < 1e-6; "
	                "assert d[\"sinks\"][1][\"name\"] == \"gst:fakesink\"; "
	                "assert d[\"sinks\"][1][\"drops_budget\"] == 21; "
	                "assert d[\"latency_ms\"][\"requeue\"][\"n\"] == 200; "
	                "assert d[\"capture\"][\"driver_drops\"] == 2; "
	                "assert d[\"realtime\"][\"rt\"] == \"SCHED_FIFO 50: ok\"");
	free(s);

	/* Non-finite numbers and empty summaries become null, never nan. */
	r.fps = NAN;
	r.duration_s = INFINITY;
	memset(&r.lat_process, 0, sizeof(r.lat_process));
	s = capture_output(json_fn, &r, &len);
	if (!json_valid(s))
		fail_msg("invalid JSON: %s", s);
	assert_non_null(strstr(s, "\"fps\":null"));
	assert_non_null(strstr(s, "\"duration_s\":null"));
	assert_non_null(strstr(s, "\"process\":{\"n\":0,\"mean\":null,"));
	python_check(s, "assert d[\"fps\"] is None");
	free(s);
}

/* Source notes: one "source:" line per note line in the text, one string
 * per line in the JSON; a trailing newline adds no empty line. */
static void test_source_notes(void **state)
{
	struct fixture *f = *state;
	struct vz_report r;
	size_t len;

	f->meta.source_notes = "fds: read-write only\nclock: \"MONOTONIC\"\n";
	assert_int_equal(vz_report_compute(&r, &f->meta, f->t, &f->st, NULL), 0);
	char *s = capture_output(print_fn, &r, &len);
	assert_non_null(strstr(s, "\nsource:     fds: read-write only\n"
	                          "            clock: \"MONOTONIC\"\n"));
	free(s);
	s = capture_output(json_fn, &r, &len);
	if (!json_valid(s))
		fail_msg("invalid JSON: %s", s);
	assert_non_null(strstr(s, "\"source_notes\":[\"fds: read-write only\","
	                          "\"clock: \\\"MONOTONIC\\\"\"]"));
	free(s);

	f->meta.source_notes = NULL;
	assert_int_equal(vz_report_compute(&r, &f->meta, f->t, &f->st, NULL), 0);
	s = capture_output(print_fn, &r, &len);
	assert_null(strstr(s, "source:"));
	free(s);
	s = capture_output(json_fn, &r, &len);
	assert_non_null(strstr(s, "\"source_notes\":[]"));
	free(s);

	const char *text = "a\n\nb", *l;
	int n, lines = 0;
	while (vz_report_next_line(&text, &l, &n))
		lines++;
	assert_int_equal(lines, 3);
}

static void csv_fn(FILE *out, const void *arg)
{
	assert_int_equal(vz_telemetry_write_csv(out, arg), 0);
}

static void test_csv(void **state)
{
	struct fixture *f = *state;
	size_t len;
	char *s = capture_output(csv_fn, f->t, &len);

	const char *header = "id,sequence,gap,flags,t_driver_ns,t_dqbuf_ns,t_processed_ns,"
	                     "t_requeue_ns,sink0_handoff_ns,sink0_release_ns,sink0_drop,"
	                     "sink1_handoff_ns,sink1_release_ns,sink1_drop,sink0_shown_ns,"
	                     "sink1_shown_ns\n";
	assert_memory_equal(s, header, strlen(header));
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += s[i] == '\n';
	assert_int_equal(lines, 1 + NREC);
	/* Record 100 carries the 2-frame gap, and sink 1 dropped it. */
	assert_non_null(strstr(s, "\n100,112,2,0x00000000,"));
	const char *rec100 = strstr(s, "\n100,112,2,");
	const char *eol = strchr(rec100 + 1, '\n');
	assert_true(eol - rec100 > 0);
	assert_memory_equal(eol - strlen(",0,0,sink_budget,0,0"), ",0,0,sink_budget,0,0",
	                    strlen(",0,0,sink_budget,0,0"));
	/* The last one was never requeued: 0. */
	assert_non_null(strstr(s, "\n200,212,0,"));
	free(s);
}

/* Pixels that are clearly coloured: axes, grid and text are grey, data is
 * not. */
static size_t coloured_pixels(cairo_surface_t *img, struct vz_plot_rect r)
{
	unsigned char *px = cairo_image_surface_get_data(img);
	int stride = cairo_image_surface_get_stride(img);
	size_t n = 0;

	for (int y = (int)r.y + 1; y < (int)(r.y + r.h); y++) {
		for (int x = (int)r.x + 1; x < (int)(r.x + r.w); x++) {
			uint32_t v;
			memcpy(&v, px + (size_t)y * stride + (size_t)x * 4, 4);
			int R = (v >> 16) & 0xff, G = (v >> 8) & 0xff, B = v & 0xff;
			int hi = R > G ? (R > B ? R : B) : (G > B ? G : B);
			int lo = R < G ? (R < B ? R : B) : (G < B ? G : B);
			n += hi - lo > 60;
		}
	}
	return n;
}

static void plot_and_count(const struct vz_report *r, const struct vz_telemetry *t,
                           size_t counts[3], const char *keep)
{
	char path[] = "/tmp/vz-test-plot-XXXXXX.png";
	int fd = mkstemps(path, 4);
	struct vz_err err = {0};

	assert_true(fd >= 0);
	close(fd);
	int ret = vz_report_plot(path, r, t, &err);
	if (ret < 0)
		fail_msg("plot failed: %s", err.msg);
	cairo_surface_t *img = cairo_image_surface_create_from_png(path);
	assert_int_equal(cairo_surface_status(img), CAIRO_STATUS_SUCCESS);
	assert_int_equal(cairo_image_surface_get_width(img), VZ_PLOT_W);
	assert_int_equal(cairo_image_surface_get_height(img), VZ_PLOT_H);
	cairo_surface_flush(img);
	counts[0] = coloured_pixels(img, VZ_PLOT_TIMELINE);
	counts[1] = coloured_pixels(img, VZ_PLOT_INTERVAL_HIST);
	counts[2] = coloured_pixels(img, VZ_PLOT_STAGE_HIST);
	cairo_surface_destroy(img);
	if (keep && *keep)
		rename(path, keep);
	else
		unlink(path);
}

static void test_plot(void **state)
{
	struct fixture *f = *state;
	struct vz_report r;
	size_t full[3], empty[3];

	assert_int_equal(vz_report_compute(&r, &f->meta, f->t, &f->st, NULL), 0);
	/* VZ_TEST_PLOT_KEEP=path keeps the picture for a person to look at. */
	plot_and_count(&r, f->t, full, getenv("VZ_TEST_PLOT_KEEP"));

	/* The same picture with no records: legends only.  Data must add
	 * clearly more colour than that in every panel. */
	struct vz_telemetry *none;
	struct vz_report re;
	assert_int_equal(vz_telemetry_create(&none, 16, 2, NULL), 0);
	assert_int_equal(vz_report_compute(&re, &f->meta, none, &f->st, NULL), 0);
	plot_and_count(&re, none, empty, NULL);
	vz_telemetry_destroy(none);

	for (int i = 0; i < 3; i++) {
		print_message("# panel %d: %zu coloured pixels with data, %zu without\n", i,
		              full[i], empty[i]);
		assert_true(full[i] > empty[i] + 500);
		assert_true(full[i] > 2 * empty[i]);
	}
}

static void test_plot_bad_path(void **state)
{
	struct fixture *f = *state;
	struct vz_report r;
	struct vz_err err = {0};

	assert_int_equal(vz_report_compute(&r, &f->meta, f->t, &f->st, NULL), 0);
	assert_true(vz_report_plot("/nonexistent-dir/x.png", &r, f->t, &err) < 0);
	assert_non_null(strstr(err.msg, "/nonexistent-dir/x.png"));
}

struct status_args {
	const struct vz_telemetry *t;
	const struct vz_pipeline_stats *st;
	double *scratch;
	bool tty;
};

static void status_fn(FILE *out, const void *arg)
{
	const struct status_args *a = arg;
	vz_report_status_line(out, a->t, a->st, a->scratch, 16, a->tty);
}

static void status_json_fn(FILE *out, const void *arg)
{
	vz_report_status_json(out, arg, 3, 12.5);
}

/* --status-file's line: one JSON object, the counters tools/soak checks
 * its invariants with. */
static void test_status_json(void **state)
{
	struct vz_pipeline_stats st = {0};
	size_t len;
	(void)state;

	st.frames = 100;
	st.drops[VZ_DROP_DRIVER_GAP] = 4;
	st.capture.frames = 100;
	st.capture.driver_drops = 4;
	st.capture.error_frames = 1;
	st.capture.seq_span = 105;
	st.capture.qbuf_errors = 2;
	st.nsinks = 2;
	snprintf(st.sink_name[0], sizeof(st.sink_name[0]), "gst:\"q\"");
	snprintf(st.sink_name[1], sizeof(st.sink_name[1]), "null");
	st.sink[0].frames = 98;
	st.sink[0].drops_budget = 2;
	st.sink[1].frames = 100;
	char *s = capture_output(status_json_fn, &st, &len);
	if (!json_valid(s))
		fail_msg("invalid JSON: %s", s);
	assert_int_equal(s[len - 1], '\n');
	assert_null(memchr(s, '\n', len - 1));
	python_check(s, "assert d[\"t_s\"] == 12.5 and d[\"inflight\"] == 3; "
	                "c = d[\"capture\"]; "
	                "assert c[\"frames\"] + c[\"driver_drops\"] + c[\"error_frames\"] == "
	                "c[\"seq_span\"]; assert c[\"qbuf_errors\"] == 2; "
	                "k = d[\"sinks\"]; assert k[0][\"name\"] == \"gst:\\\"q\\\"\"; "
	                "assert k[0][\"frames\"] + k[0][\"drops_budget\"] == d[\"frames\"]; "
	                "assert d[\"drops\"][\"driver_gap\"] == 4");
	free(s);
}

static void test_status_line(void **state)
{
	struct vz_telemetry *t;
	struct vz_pipeline_stats st = {0};
	double scratch[32];
	size_t len;

	assert_int_equal(vz_telemetry_create(&t, 64, 1, NULL), 0);
	/* 60 frames 33 ms apart ending now: 31 of them in the last second.
	 * Record 58 is late (49 ms), so the last 15 intervals have p99 49. */
	int64_t now = vz_now_ns();
	for (int i = 0; i < 60; i++) {
		int64_t ago = (59 - i) * 33 * MS;
		if (i == 58)
			ago -= 16 * MS;
		struct vz_frame_info fi = {.sequence = (uint32_t)i,
		                           .t_driver_ns = now - ago - 2 * MS,
		                           .t_dqbuf_ns = now - ago};
		vz_telemetry_begin(t, &fi, 0);
	}
	st.frames = 60;
	st.drops[VZ_DROP_DRIVER_GAP] = 3;
	st.drops[VZ_DROP_SINK_FAILURE] = 1;
	st.bytes_copied = 600;

	struct status_args a = {t, &st, scratch, true};
	char *s = capture_output(status_fn, &a, &len);
	assert_int_equal(s[0], '\r');
	assert_non_null(strstr(s, "60 frames"));
	assert_non_null(strstr(s, " 31 fps"));
	assert_non_null(strstr(s, "interval p99  49.000 ms"));
	assert_non_null(strstr(s, "drops 4"));
	assert_non_null(strstr(s, "copied 10 B/frame"));
	assert_string_equal(s + len - 3, "\033[K");
	assert_null(strchr(s, '\n'));
	free(s);

	a.tty = false;
	s = capture_output(status_fn, &a, &len);
	assert_int_not_equal(s[0], '\r');
	assert_int_equal(s[len - 1], '\n');
	assert_null(strchr(s, '\033'));
	free(s);

	/* No allocation once the stream's buffer exists. */
	FILE *null = fopen("/dev/null", "w");
	assert_non_null(null);
	vz_report_status_line(null, t, &st, scratch, 16, true);
	size_t before = heap_in_use();
	for (int i = 0; i < 1000; i++)
		vz_report_status_line(null, t, &st, scratch, 16, true);
	assert_int_equal(heap_in_use(), before);
	fclose(null);
	vz_telemetry_destroy(t);
}

#if defined(__SANITIZE_ADDRESS__)
/* fontconfig, under cairo's toy text API, keeps process-lifetime patterns
 * that nothing frees (cairo_debug_reset_static_data() does not reach
 * them); they are not vzero's and would hide vzero's own leaks. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libfontconfig.so\n";
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_compute, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_compute_median_nominal_and_copies, setup,
	                                        teardown),
	        cmocka_unit_test(test_compute_excludes_backward_jumps),
	        cmocka_unit_test(test_compute_across_timestamp_wrap),
	        cmocka_unit_test(test_status_json),
	        cmocka_unit_test(test_shown_from_capture_time),
	        cmocka_unit_test_setup_teardown(test_print, setup, teardown),
	        cmocka_unit_test(test_json_checker_rejects),
	        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_source_notes, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_csv, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_plot, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_plot_bad_path, setup, teardown),
	        cmocka_unit_test(test_status_line),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	/* Let the leak checker see only leaks of ours, not cairo's caches. */
	cairo_debug_reset_static_data();
	return failed;
}
