/* SPDX-License-Identifier: MIT */
/*
 * vzero rtp-check's measurement core, fed hand-built RFC 4175 packets with
 * made-up arrival times: spacing and bursts, loss, duplicates, reordering,
 * the 16-bit sequence wrap, RTCP sender reports; then the command itself
 * over loopback.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli.h"
#include "rtpcheck-stats.h"

#define SSRC 0x11223344u
#define T0   INT64_C(1700000000000000000)

static void put16(uint8_t *b, unsigned v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void put32(uint8_t *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b + 2, v & 0xffff);
}

/* An RFC 4175 packet: RTP header, ESN, one line segment header, pixels. */
static size_t rtp_pkt(uint8_t *b, uint32_t ext_seq, uint32_t ts, bool marker)
{
	memset(b, 0, 64);
	b[0] = 0x80;
	b[1] = (uint8_t)((marker ? 0x80 : 0) | 96);
	put16(b + 2, ext_seq & 0xffff);
	put32(b + 4, ts);
	put32(b + 8, SSRC);
	put16(b + 12, ext_seq >> 16);
	put16(b + 14, 32); /* length, line, offset: never read */
	return 48;
}

struct feeder {
	struct vz_rtpcheck c;
	uint32_t seq;
	int64_t t;
	bool no_esn; /* ESN left at 0, as FFmpeg and rtpvrawpay send */
};

static struct feeder *feeder_new(double burst_gap_us, bool keep_frames)
{
	struct feeder *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	struct vz_rtpcheck_config cfg = {.burst_gap_us = burst_gap_us, .keep_frames = keep_frames};
	vz_rtpcheck_init(&f->c, &cfg);
	f->t = T0;
	return f;
}

static void feeder_free(struct feeder *f)
{
	vz_rtpcheck_free(&f->c);
	free(f);
}

static void send_one(struct feeder *f, uint32_t seq, uint32_t ts, bool marker)
{
	uint8_t b[64];
	size_t n = rtp_pkt(b, f->no_esn ? seq & 0xffff : seq, ts, marker);
	vz_rtpcheck_rtp(&f->c, b, n, f->t);
}

/* The end of a frame before measuring: what makes the next one whole. */
static void prime(struct feeder *f)
{
	send_one(f, f->seq++, 0, true);
	f->t += 1000000;
}

/* A frame of @n packets @spacing_ns apart, then @after_ns to the next. */
static void frame(struct feeder *f, uint32_t ts, unsigned n, int64_t spacing_ns, int64_t after_ns)
{
	for (unsigned i = 0; i < n; i++) {
		send_one(f, f->seq++, ts, i + 1 == n);
		f->t += i + 1 == n ? after_ns : spacing_ns;
	}
}

static void test_even_spacing(void **state)
{
	struct feeder *f = feeder_new(20, false);
	prime(f);
	for (unsigned k = 0; k < 3; k++)
		frame(f, 1000 + k * 3000, 10, 50000, 40000000 - 9 * 50000);
	vz_rtpcheck_finish(&f->c);
	struct vz_rtpcheck *c = &f->c;
	assert_int_equal(c->before_start, 1);
	assert_int_equal(c->frames, 3);
	assert_int_equal(c->frames_complete, 3);
	assert_int_equal(c->packets, 30);
	assert_int_equal(c->lost, 0);
	assert_int_equal(c->inter_arrival_us.count, 27); /* within frames only */
	assert_true(fabs(c->inter_arrival_us.p50 - 50) < 1e-6);
	assert_true(fabs(c->inter_arrival_us.max - 50) < 1e-6);
	assert_true(fabs(c->burst_len_dist.max - 1) < 1e-9);
	assert_true(fabs(c->bursts_per_frame - 10) < 1e-9);
	assert_true(fabs(c->packets_per_frame - 10) < 1e-9);
	assert_true(fabs(c->spread_ms.p50 - 0.45) < 1e-9);
	assert_true(fabs(c->frame_interval_ms - 40) < 1e-9);
	assert_true(fabs(c->spread_ratio_p50 - 0.45 / 40) < 1e-9);
	assert_int_equal(c->frame_gap_us.count, 2);
	assert_true(fabs(c->frame_gap_us.p50 - (40000 - 450)) < 1e-6);
	assert_int_equal(c->first_seq, 1);
	assert_int_equal(c->last_seq, 30);
	feeder_free(f);
}

static void test_back_to_back(void **state)
{
	struct feeder *f = feeder_new(20, false);
	prime(f);
	frame(f, 1000, 20, 1000, 1000000);
	vz_rtpcheck_finish(&f->c);
	assert_int_equal(f->c.frames, 1);
	assert_int_equal(f->c.burst_len_dist.count, 1);
	assert_true(fabs(f->c.burst_len_dist.max - 20) < 1e-9);
	assert_true(fabs(f->c.bursts_per_frame - 1) < 1e-9);
	assert_true(fabs(f->c.inter_arrival_us.p50 - 1) < 1e-9);
	feeder_free(f);
}

static void test_burst_gap_threshold(void **state)
{
	/* Bursts of 4, 30 us apart; 40 us threshold merges all, 20 splits. */
	for (int pass = 0; pass < 2; pass++) {
		struct feeder *f = feeder_new(pass ? 40 : 20, false);
		prime(f);
		for (unsigned i = 0; i < 12; i++) {
			send_one(f, f->seq++, 1000, i == 11);
			f->t += i % 4 == 3 ? 30000 : 1000;
		}
		vz_rtpcheck_finish(&f->c);
		assert_true(fabs(f->c.burst_len_dist.max - (pass ? 12 : 4)) < 1e-9);
		assert_true(fabs(f->c.bursts_per_frame - (pass ? 1 : 3)) < 1e-9);
		feeder_free(f);
	}
}

static void test_skipped_seq(void **state)
{
	struct feeder *f = feeder_new(20, true);
	prime(f);
	frame(f, 1000, 5, 1000, 1000000);
	send_one(f, f->seq++, 2000, false);
	f->seq++; /* lost */
	f->t += 1000;
	send_one(f, f->seq++, 2000, true);
	f->t += 1000000;
	frame(f, 3000, 5, 1000, 1000000);
	vz_rtpcheck_finish(&f->c);
	assert_int_equal(f->c.lost, 1);
	assert_int_equal(f->c.frames, 3);
	assert_int_equal(f->c.frames_complete, 2);
	assert_int_equal(f->c.nframe_list, 3);
	assert_true(f->c.frame_list[0].complete);
	assert_false(f->c.frame_list[1].complete);
	assert_int_equal(f->c.frame_list[1].lost, 1);
	assert_int_equal(f->c.frame_list[1].packets, 2);
	assert_true(f->c.frame_list[2].complete);
	feeder_free(f);
}

static void test_lost_marker_and_first(void **state)
{
	/* The marker of one frame and the first packet of the next lost:
	 * neither frame is complete; the next one after is. */
	struct feeder *f = feeder_new(20, false);
	prime(f);
	send_one(f, f->seq++, 1000, false);
	f->t += 1000;
	f->seq += 2;
	send_one(f, f->seq++, 2000, true);
	f->t += 1000000;
	frame(f, 3000, 3, 1000, 1000000);
	vz_rtpcheck_finish(&f->c);
	assert_int_equal(f->c.lost, 2);
	assert_int_equal(f->c.frames, 3);
	assert_int_equal(f->c.frames_complete, 1);
	feeder_free(f);
}

static void test_duplicate(void **state)
{
	struct feeder *f = feeder_new(20, false);
	prime(f);
	uint32_t s = f->seq;
	send_one(f, s, 1000, false);
	send_one(f, s + 1, 1000, false);
	send_one(f, s + 1, 1000, false);
	send_one(f, s + 2, 1000, true);
	vz_rtpcheck_finish(&f->c);
	assert_int_equal(f->c.duplicates, 1);
	assert_int_equal(f->c.reordered, 0);
	assert_int_equal(f->c.lost, 0);
	assert_int_equal(f->c.frames_complete, 1);
	feeder_free(f);
}

static void test_reordered(void **state)
{
	struct feeder *f = feeder_new(20, false);
	prime(f);
	uint32_t s = f->seq;
	send_one(f, s, 1000, false);
	send_one(f, s + 2, 1000, false);
	send_one(f, s + 1, 1000, false); /* late, not lost */
	send_one(f, s + 1, 1000, false); /* and now a duplicate */
	send_one(f, s + 3, 1000, true);
	vz_rtpcheck_finish(&f->c);
	assert_int_equal(f->c.reordered, 1);
	assert_int_equal(f->c.duplicates, 1);
	assert_int_equal(f->c.lost, 0);
	assert_int_equal(f->c.packets, 5);
	assert_int_equal(f->c.frames, 1);
	feeder_free(f);
}

static void test_too_old(void **state)
{
	struct feeder *f = feeder_new(20, false);
	prime(f);
	uint32_t s = f->seq;
	frame(f, 1000, VZ_RTPCHECK_WINDOW + 10, 1000, 1000000);
	send_one(f, s, 1000, false);
	vz_rtpcheck_finish(&f->c);
	assert_int_equal(f->c.too_old, 1);
	assert_int_equal(f->c.duplicates, 0);
	assert_int_equal(f->c.reordered, 0);
	feeder_free(f);
}

static void test_seq_wrap_with_esn(void **state)
{
	struct feeder *f = feeder_new(20, false);
	f->seq = 0x1fff0;
	prime(f);
	for (unsigned k = 0; k < 4; k++)
		frame(f, 1000 + k, 10, 1000, 1000000); /* across 0x1ffff -> 0x20000 */
	vz_rtpcheck_finish(&f->c);
	assert_int_equal(f->c.lost, 0);
	assert_int_equal(f->c.reordered + f->c.duplicates + f->c.seq_jumps, 0);
	assert_int_equal(f->c.frames_complete, 4);
	assert_int_equal(f->c.first_seq, 0x1fff1);
	assert_int_equal(f->c.last_seq, 0x1fff0 + 40);
	feeder_free(f);
}

/* A sender without the ESN: the 16-bit field wraps, nothing is lost. */
static void test_seq_wrap_without_esn(void **state)
{
	(void)state;
	struct feeder *f = feeder_new(20, false);
	f->no_esn = true;
	f->seq = 0xfff0;
	prime(f);
	for (unsigned k = 0; k < 4; k++)
		frame(f, 1000 + k, 10, 1000, 1000000); /* across 0xffff -> 0x10000 */
	vz_rtpcheck_finish(&f->c);
	assert_int_equal(f->c.lost, 0);
	assert_int_equal(f->c.too_old + f->c.reordered + f->c.duplicates + f->c.seq_jumps, 0);
	assert_int_equal(f->c.frames_complete, 4);
	assert_int_equal(f->c.last_seq, 0xfff0 + 40);
	feeder_free(f);
}

static void test_before_first_marker(void **state)
{
	/* Joining mid-frame: that frame's tail is not measured. */
	struct feeder *f = feeder_new(20, false);
	f->seq = 100;
	send_one(f, f->seq++, 500, false);
	send_one(f, f->seq++, 500, false);
	send_one(f, f->seq++, 500, true);
	frame(f, 1000, 4, 1000, 1000000);
	uint8_t junk[8] = {0x80, 96};
	vz_rtpcheck_rtp(&f->c, junk, sizeof(junk), f->t);
	vz_rtpcheck_finish(&f->c);
	assert_int_equal(f->c.before_start, 3);
	assert_int_equal(f->c.packets, 4);
	assert_int_equal(f->c.frames, 1);
	assert_int_equal(f->c.frames_complete, 1);
	assert_int_equal(f->c.malformed, 1);
	assert_int_equal(f->c.ssrc, SSRC);
	assert_int_equal(f->c.payload_type, 96);
	feeder_free(f);
}

static void test_other_ssrc(void **state)
{
	struct feeder *f = feeder_new(20, false);
	prime(f);
	uint8_t b[64];
	size_t n = rtp_pkt(b, 7, 1, true);
	put32(b + 8, 0xdeadbeef);
	vz_rtpcheck_rtp(&f->c, b, n, f->t);
	frame(f, 1000, 3, 1000, 1000000);
	vz_rtpcheck_finish(&f->c);
	assert_int_equal(f->c.other_ssrc_packets, 1);
	assert_int_equal(f->c.frames_complete, 1);
	feeder_free(f);
}

/* SR + SDES(CNAME) [+ BYE], as a sender's compound packet. */
static size_t rtcp_compound(uint8_t *b, bool bye)
{
	size_t o = 0;
	b[o] = 0x80; /* V=2, RC=0 */
	b[o + 1] = 200;
	put16(b + o + 2, 6);
	put32(b + o + 4, SSRC);
	put32(b + o + 8, 2208988800u + 1700000000u);
	put32(b + o + 12, 0x80000000u); /* half a second */
	put32(b + o + 16, 90000);
	put32(b + o + 20, 1234);
	put32(b + o + 24, 567890);
	o += 28;
	static const char cname[] = "vzero@cam1";
	size_t items = 2 + strlen(cname) + 1; /* CNAME, then the null item */
	size_t words = (4 + items + 3) / 4;
	memset(b + o, 0, 4 + 4 * words);
	b[o] = 0x81; /* SC=1 */
	b[o + 1] = 202;
	put16(b + o + 2, (unsigned)words);
	put32(b + o + 4, SSRC);
	b[o + 8] = 1;
	b[o + 9] = (uint8_t)strlen(cname);
	memcpy(b + o + 10, cname, strlen(cname));
	o += 4 + 4 * words;
	if (bye) {
		b[o] = 0x81;
		b[o + 1] = 203;
		put16(b + o + 2, 1);
		put32(b + o + 4, SSRC);
		o += 8;
	}
	return o;
}

static void test_rtcp_sender_report(void **state)
{
	struct feeder *f = feeder_new(20, false);
	uint8_t b[256];
	size_t n = rtcp_compound(b, false);
	vz_rtpcheck_rtcp(&f->c, b, n, T0 + 5);
	assert_int_equal(f->c.sr_count, 1);
	assert_int_equal(f->c.rtcp_other, 1);
	assert_int_equal(f->c.rtcp_malformed, 0);
	assert_false(f->c.bye);
	const struct vz_rtpcheck_sr *sr = vz_rtpcheck_last_sr(&f->c);
	assert_non_null(sr);
	assert_int_equal(sr->ssrc, SSRC);
	assert_int_equal(sr->ntp_unix_ns, INT64_C(1700000000500000000));
	assert_int_equal(sr->rtp_ts, 90000);
	assert_int_equal(sr->packet_count, 1234);
	assert_int_equal(sr->octet_count, 567890);
	assert_int_equal(sr->arrival_ns, T0 + 5);
	assert_string_equal(sr->cname, "vzero@cam1");
	assert_string_equal(f->c.cname, "vzero@cam1");

	n = rtcp_compound(b, true);
	/* RTCP on the RTP port (RFC 5761) is recognised as RTCP. */
	vz_rtpcheck_rtp(&f->c, b, n, T0 + 6);
	assert_int_equal(f->c.sr_count, 2);
	assert_true(f->c.bye);
	assert_int_equal(f->c.malformed, 0);

	/* Version 1, and a length past the end: malformed, nothing taken. */
	n = rtcp_compound(b, false);
	b[0] = 0x40;
	vz_rtpcheck_rtcp(&f->c, b, n, T0);
	n = rtcp_compound(b, false);
	put16(b + 2, 60);
	vz_rtpcheck_rtcp(&f->c, b, n, T0);
	assert_int_equal(f->c.rtcp_malformed, 2);
	assert_int_equal(f->c.sr_count, 2);
	feeder_free(f);
}

static void test_ntp_conversion(void **state)
{
	assert_int_equal(vz_rtpcheck_ntp_to_unix_ns(2208988800u, 0), 0);
	assert_int_equal(vz_rtpcheck_ntp_to_unix_ns(2208988801u, 0x40000000u), INT64_C(1250000000));
	/* Era 1: 2036-02-07T06:28:16Z is NTP second 0 again. */
	assert_int_equal(vz_rtpcheck_ntp_to_unix_ns(0, 0), INT64_C(2085978496000000000));
}

static void test_json_keys(void **state)
{
	struct feeder *f = feeder_new(20, true);
	prime(f);
	frame(f, 1000, 3, 1000, 1000000);
	uint8_t b[256];
	vz_rtpcheck_rtcp(&f->c, b, rtcp_compound(b, false), T0);
	vz_rtpcheck_finish(&f->c);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	assert_non_null(m);
	struct vz_rtpcheck_run run = {.source = "rtp://x:1", .rtcp_port = 2, .stopped = "frames"};
	vz_rtpcheck_json(m, &f->c, &run);
	fclose(m);
	static const char *const want[] = {
	        "\"frames\":1,",
	        "\"frames_complete\":1,",
	        "\"packets\":3,",
	        "\"lost_packets\":0,",
	        "\"ssrc\":287454020,",
	        "\"inter_arrival_us\":{\"count\":2,\"p50\":1.000000",
	        "\"sender_reports\":[{\"ssrc\":287454020,\"ntp_unix_ns\":1700000000500000000",
	        "\"cname\":\"vzero@cam1\"",
	        "\"frames_detail\":[{\"rtp_ts\":1000,\"packets\":3,\"complete\":true",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(buf, want[i]))
			fail_msg("'%s' not in %s", want[i], buf);
	free(buf);
	feeder_free(f);
}

/* The command itself: listen on loopback, send two frames and an SR. */
static void test_loopback_command(void **state)
{
	int probe = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(probe >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	assert_int_equal(bind(probe, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(probe, (struct sockaddr *)&a, &al), 0);
	close(probe);

	char dir[] = "/tmp/vz-rtpcheck-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char ready[64], json[64], uri[64];
	snprintf(ready, sizeof(ready), "%s/ready", dir);
	snprintf(json, sizeof(json), "%s/rx.json", dir);
	snprintf(uri, sizeof(uri), "rtp://127.0.0.1:%u", ntohs(a.sin_port));

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The text report is not TAP. */
		freopen("/dev/null", "w", stdout);
		char *argv[] = {"rtp-check",       uri,  "--rtcp",  "off", "--frames", "2",
		                "--duration",      "10", "--ready", ready, "--json",   json,
		                "--frames-detail", NULL};
		_exit(vz_cmd_rtpcheck((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv));
	}
	for (int i = 0; i < 500 && access(ready, F_OK) != 0; i++)
		usleep(10000);
	assert_int_equal(access(ready, F_OK), 0);

	int s = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(s >= 0);
	uint8_t b[256];
	size_t n = rtcp_compound(b, false);
	assert_int_equal(sendto(s, b, n, 0, (struct sockaddr *)&a, sizeof(a)), (ssize_t)n);
	uint32_t seq = 0x3fffe;
	for (unsigned k = 0; k < 3; k++)
		for (unsigned i = 0; i < (k ? 5u : 1u); i++) {
			n = rtp_pkt(b, seq++, k * 3000, i + 1 == (k ? 5u : 1u));
			assert_int_equal(sendto(s, b, n, 0, (struct sockaddr *)&a, sizeof(a)),
			                 (ssize_t)n);
		}
	close(s);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), VZ_EXIT_OK);

	FILE *jf = fopen(json, "r");
	assert_non_null(jf);
	static char buf[65536];
	size_t len = fread(buf, 1, sizeof(buf) - 1, jf);
	buf[len] = '\0';
	fclose(jf);
	static const char *const want[] = {
	        "\"stopped\":\"frames\"",     "\"frames\":2,",
	        "\"frames_complete\":2,",     "\"packets\":10,",
	        "\"lost_packets\":0,",        "\"sr_count\":1,",
	        "\"software_timestamps\":0,", "\"first_seq\":262143,",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(buf, want[i]))
			fail_msg("'%s' not in %s", want[i], buf);
	unlink(ready);
	unlink(json);
	rmdir(dir);
}

static void test_command_usage(void **state)
{
	static const char *const bad[][4] = {
	        {"rtp-check", NULL},
	        {"rtp-check", "udp://1.2.3.4:5", NULL},
	        {"rtp-check", "rtp://1.2.3.4", NULL},
	        {"rtp-check", "rtp://ff02::1:5004", NULL},
	        {"rtp-check", "rtp://127.0.0.1:70000", NULL},
	        {"rtp-check", "rtp://127.0.0.1:5004?pace=off", NULL},
	        {"rtp-check", "rtp://127.0.0.1:5004", "--frames-detail", NULL},
	        {"rtp-check", "rtp://127.0.0.1:5004", "--burst-gap=0", NULL},
	        {"rtp-check", "rtp://127.0.0.1:5004", "--rtcp=5004", NULL},
	        {"rtp-check", "rtp://127.0.0.1:5004", "--ssrc=0x100000000", NULL},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[5] = {0};
		int argc = 0;
		while (argc < 4 && bad[i][argc]) {
			argv[argc] = (char *)bad[i][argc];
			argc++;
		}
		int r = vz_cmd_rtpcheck(argc, argv);
		if (r != VZ_EXIT_USAGE)
			fail_msg("case %zu (%s): exit %d, not usage", i, argv[1] ? argv[1] : "", r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_even_spacing),
	        cmocka_unit_test(test_back_to_back),
	        cmocka_unit_test(test_burst_gap_threshold),
	        cmocka_unit_test(test_skipped_seq),
	        cmocka_unit_test(test_lost_marker_and_first),
	        cmocka_unit_test(test_duplicate),
	        cmocka_unit_test(test_reordered),
	        cmocka_unit_test(test_too_old),
	        cmocka_unit_test(test_seq_wrap_with_esn),
	        cmocka_unit_test(test_seq_wrap_without_esn),
	        cmocka_unit_test(test_before_first_marker),
	        cmocka_unit_test(test_other_ssrc),
	        cmocka_unit_test(test_rtcp_sender_report),
	        cmocka_unit_test(test_ntp_conversion),
	        cmocka_unit_test(test_json_keys),
	        cmocka_unit_test(test_command_usage),
	        cmocka_unit_test(test_loopback_command),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
