/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: vzero rtp-check's measurement core (rtpcheck-stats.c)
 * against whatever the network brings -- RTP and RTCP datagrams from
 * anyone who can reach the port: truncated, wrong versions, SSRCs that
 * change, sequence numbers and timestamps that jump or go back, compound
 * RTCP with lengths that lie, clocks going backwards.
 *
 * Input: records of [kind, len_lo, len_hi, len bytes]; kind bit 0 says
 * RTCP, bits 1..7 the arrival gap after the previous datagram in 100 us
 * (0 is the same instant; 127 goes back 1 ms: clocks step).  Then the
 * report is written, text and JSON, as `vzero rtp-check` would.  Counters
 * must stay consistent with what was fed, the JSON must hold no nan/inf,
 * and nothing may crash or leak.
 *
 * VZ_FUZZ_WRITE_SEEDS=DIR writes a well-formed stream (3 frames of an RFC
 * 4175 sender, a sender report with a CNAME, a BYE) into DIR and exits.
 */
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtpcheck-stats.h"

#define FUZZ_TARGET "fuzz_rtpcheck"
#include "fuzz-check.h"

/* Outside its strings, JSON has no words but true, false and null: a nan
 * or inf printed as a number would be one. */
static bool bare_words_ok(const char *j)
{
	bool in_str = false;
	for (const char *p = j; *p; p++) {
		if (in_str) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				in_str = false;
			continue;
		}
		if (*p == '"') {
			in_str = true;
		} else if (isalpha((unsigned char)*p)) {
			size_t n = 0;
			while (isalpha((unsigned char)p[n]))
				n++;
			if (!((n == 4 && !strncmp(p, "true", 4)) ||
			      (n == 5 && !strncmp(p, "false", 5)) ||
			      (n == 4 && !strncmp(p, "null", 4)) ||
			      /* exponents: 1e-05 */
			      (n == 1 && (*p == 'e' || *p == 'E') && p > j &&
			       isdigit((unsigned char)p[-1]))))
				return false;
			p += n - 1;
		}
	}
	return !in_str;
}

static void report(const struct vz_rtpcheck *c)
{
	struct vz_rtpcheck_run run = {.source = "rtp://127.0.0.1:5004",
	                              .rtcp_port = 5005,
	                              .stopped = "frames",
	                              .seconds = 1};
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	CHECK(m != NULL);
	vz_rtpcheck_json(m, c, &run);
	CHECK(fclose(m) == 0);
	CHECK(len > 0 && buf[0] == '{');
	CHECK(bare_words_ok(buf));
	free(buf);
	m = open_memstream(&buf, &len);
	CHECK(m != NULL);
	vz_rtpcheck_text(m, c, &run);
	CHECK(fclose(m) == 0);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vz_rtpcheck *c = calloc(1, sizeof(*c));
	if (!c)
		return 0;
	/* A small sample cap, so the fuzzer reaches it too. */
	struct vz_rtpcheck_config cfg = {
	        .burst_gap_us = 50, .keep_frames = true, .sample_limit = 64};
	vz_rtpcheck_init(c, &cfg);
	int64_t t = 1700000000000000000LL;
	uint64_t rtp = 0, rtcp = 0;
	size_t i = 0;
	while (i + 3 <= size) {
		unsigned kind = data[i];
		size_t len = data[i + 1] | (size_t)data[i + 2] << 8;
		i += 3;
		if (len > size - i)
			len = size - i;
		unsigned gap = kind >> 1;
		t += gap == 127 ? -1000000 : (int64_t)gap * 100000;
		/* A copy of its own length, so a read past the datagram is
		 * caught, as the socket's buffer would not catch it. */
		uint8_t *pkt = malloc(len ? len : 1);
		if (!pkt)
			break;
		memcpy(pkt, data + i, len);
		if (kind & 1) {
			vz_rtpcheck_rtcp(c, pkt, len, t);
			rtcp++;
		} else {
			vz_rtpcheck_rtp(c, pkt, len, t);
			rtp++;
		}
		free(pkt);
		i += len;
	}
	/* RTCP may come on the RTP port too (RFC 5761): counted as RTCP. */
	CHECK(c->rtcp_packets >= rtcp && c->rtcp_packets <= rtcp + rtp);
	CHECK(c->malformed + c->other_ssrc_packets + c->before_start + c->packets +
	              (c->rtcp_packets - rtcp) <=
	      rtp);
	CHECK(c->rtcp_malformed <= c->rtcp_packets);
	vz_rtpcheck_finish(c);
	CHECK(c->frames_complete <= c->frames);
	CHECK(c->frame_packets <= c->packets);
	report(c);
	vz_rtpcheck_free(c);
	free(c);
	return 0;
}

/* ---- seeds ---- */

static void put(FILE *f, unsigned kind, const uint8_t *p, size_t n)
{
	fputc((int)kind, f);
	fputc((int)(n & 0xff), f);
	fputc((int)(n >> 8), f);
	fwrite(p, 1, n, f);
}

static size_t rtp_packet(uint8_t *p, uint16_t seq, uint32_t ts, bool marker, uint16_t line)
{
	memset(p, 0, 64);
	p[0] = 0x80;
	p[1] = (uint8_t)((marker ? 0x80 : 0) | 96);
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	p[4] = (uint8_t)(ts >> 24);
	p[5] = (uint8_t)(ts >> 16);
	p[6] = (uint8_t)(ts >> 8);
	p[7] = (uint8_t)ts;
	p[8] = 0x12, p[9] = 0x34, p[10] = 0x56, p[11] = 0x78;
	/* RFC 4175: extended sequence, then one line header (length 32,
	 * line, offset 0, no continuation) and its 32 bytes. */
	p[14] = 0, p[15] = 32;
	p[16] = (uint8_t)(line >> 8), p[17] = (uint8_t)line;
	return 12 + 2 + 6 + 32;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *dir = fuzz_seed_dir();
	if (!dir)
		return 0;
	FILE *f = fuzz_seed_open(dir, "seed-stream");
	uint8_t p[64];
	uint16_t seq = 65530; /* across the 16-bit wrap */
	for (uint32_t frame = 0; frame < 3; frame++)
		for (uint16_t line = 0; line < 4; line++) {
			size_t n = rtp_packet(p, seq++, 3600 * frame, line == 3, line);
			put(f, line == 0 ? 2 * 100 : 2, p, n);
		}
	/* SR (28 bytes) + SDES with a CNAME, then a BYE. */
	static const uint8_t sr_sdes[] = {
	        0x80, 200,  0,    6,    0x12, 0x34, 0x56, 0x78, 0xe9, 0x1f, 0x00, 0x00, 0x80,
	        0x00, 0x00, 0x00, 0x00, 0x00, 0x1c, 0x20, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00,
	        0x01, 0x80, 0x81, 202,  0,    3,    0x12, 0x34, 0x56, 0x78, 1,    4,    'c',
	        'a',  'm',  '0',  0,    0,    0x81, 203,  0,    1,    0x12, 0x34, 0x56, 0x78};
	put(f, 1, sr_sdes, sizeof(sr_sdes));
	fclose(f);
	exit(0);
}
