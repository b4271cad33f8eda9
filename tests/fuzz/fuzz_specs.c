/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the parsers of what a person types on the command line
 * -- sink specs and URIs (rtp://..., drm:...), and the values of -s, -r,
 * -n, -t, -f and --mask.  A hostile or mistyped argument must be refused
 * with a message, never crash, and what is accepted must hold what the
 * parser promises, since the code after it trusts it.
 *
 * Input: byte 0 picks the parser (% PARSERS); the rest is the argument, cut
 * at its first NUL.  Any broken promise abort()s with the promise named.
 *
 * VZ_FUZZ_WRITE_SEEDS=DIR writes a valid argument for every parser into
 * DIR and exits.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "drm-internal.h"
#include "format.h"
#include "process.h"
#include "rtp-internal.h"

#define FUZZ_TARGET "fuzz_specs"
#include "fuzz-check.h"

enum { P_RTP, P_DRM, P_MASK, P_FOURCC, P_SIZE, P_FPS, P_COUNT, P_SECONDS, PARSERS };

/* A refusal says why: a message a person can act on. */
static void refused(const struct vz_err *e)
{
	CHECK(e->msg[0] != '\0');
	CHECK(strnlen(e->msg, sizeof(e->msg)) < sizeof(e->msg));
}

#define TERMINATED(field) CHECK(strnlen(field, sizeof(field)) < sizeof(field))

static void rtp(const char *s)
{
	struct vz_rtp_opts o;
	struct vz_err e = {0};
	if (vz_rtp_parse(s, &o, &e) < 0) {
		refused(&e);
		return;
	}
	TERMINATED(o.host);
	TERMINATED(o.iface);
	TERMINATED(o.sdp);
	CHECK(o.host[0] != '\0');
	CHECK(o.port != 0);
	CHECK(o.pt >= 96 && o.pt <= 127);
	CHECK(o.mtu >= VZ_RTP_MIN_MTU && o.mtu <= VZ_RTP_MAX_MTU);
	CHECK(strlen(o.iface) < 16); /* IFNAMSIZ */
	CHECK(o.batch <= 64 && o.burst <= 64);
	CHECK(o.clock_offset_ns >= -86400000000000LL && o.clock_offset_ns <= 86400000000000LL);
	CHECK(o.ttl >= -1 && o.ttl <= 255);
	CHECK(o.zerocopy >= 0 && o.zerocopy <= 2);
	CHECK(o.gso == 0 || o.gso == 1);
	CHECK(o.pace >= VZ_RTP_PACE_OFF && o.pace <= VZ_RTP_PACE_GAPPED);
	CHECK(o.pacer >= VZ_RTP_PACER_AUTO && o.pacer <= VZ_RTP_PACER_TIMER);
	CHECK(o.rtcp_port >= -1 && o.rtcp_port <= 65535);
	CHECK(o.clock == VZ_RTP_CLOCK_REALTIME || o.clock == VZ_RTP_CLOCK_TAI);
}

static void drm(const char *s)
{
	struct vz_drm_opts o;
	struct vz_err e = {0};
	if (vz_drm_parse(s, &o, &e) < 0) {
		refused(&e);
		return;
	}
	TERMINATED(o.device);
	TERMINATED(o.connector);
	TERMINATED(o.plane);
	TERMINATED(o.writeback);
	CHECK(o.buffers >= 0 && o.buffers <= 2);
}

static void mask(const char *s)
{
	struct vz_mask m = {0};
	struct vz_err e = {0};
	/* Twice the room, so a full mask is refused too. */
	for (unsigned i = 0; i < 2 * VZ_MASK_MAX_RECTS; i++) {
		unsigned before = m.count;
		if (vz_mask_parse(&m, s, &e) < 0) {
			refused(&e);
			CHECK(m.count == before);
			return;
		}
		CHECK(m.count == before + 1 && m.count <= VZ_MASK_MAX_RECTS);
		const struct vz_rect *r = &m.rect[m.count - 1];
		CHECK(r->w > 0 && r->h > 0);
	}
	CHECK(!"a full mask took another rectangle");
}

static void fourcc(const char *s)
{
	uint32_t f = 0;
	if (vz_fourcc_parse(s, &f) < 0)
		return;
	/* A name vzero knows, or any printable fourcc, given as is. */
	CHECK(f != 0);
	if (!vz_format_desc_find(f))
		CHECK(strlen(s) == 4 && (f & 0xff) == (unsigned char)s[0]);
}

static void size(const char *s)
{
	uint32_t w = 0, h = 0;
	struct vz_err e = {0};
	if (vz_cli_parse_size(s, &w, &h, &e) < 0) {
		refused(&e);
		return;
	}
	CHECK(w > 0 && w <= 16384 && h > 0 && h <= 16384);
}

static void fps(const char *s)
{
	uint32_t num = 0, den = 0;
	struct vz_err e = {0};
	if (vz_cli_parse_fps(s, &num, &den, &e) < 0) {
		refused(&e);
		return;
	}
	CHECK(num > 0 && den > 0);
}

static void count(const char *s)
{
	uint64_t n = 0;
	struct vz_err e = {0};
	if (vz_cli_parse_count(s, "frames", 1000000, &n, &e) < 0) {
		refused(&e);
		return;
	}
	CHECK(n >= 1 && n <= 1000000);
}

static void seconds(const char *s)
{
	double t = 0;
	struct vz_err e = {0};
	if (vz_cli_parse_seconds(s, &t, &e) < 0) {
		refused(&e);
		return;
	}
	CHECK(isfinite(t) && t > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size_in)
{
	if (size_in < 1)
		return 0;
	char *s = malloc(size_in);
	if (!s)
		return 0;
	memcpy(s, data + 1, size_in - 1);
	s[size_in - 1] = '\0';
	switch (data[0] % PARSERS) {
	case P_RTP:
		rtp(s);
		break;
	case P_DRM:
		drm(s);
		break;
	case P_MASK:
		mask(s);
		break;
	case P_FOURCC:
		fourcc(s);
		break;
	case P_SIZE:
		size(s);
		break;
	case P_FPS:
		fps(s);
		break;
	case P_COUNT:
		count(s);
		break;
	case P_SECONDS:
		seconds(s);
		break;
	}
	free(s);
	return 0;
}

static void seed(const char *dir, int n, int parser, const char *arg)
{
	char name[32];
	snprintf(name, sizeof(name), "seed-%02d", n);
	FILE *f = fuzz_seed_open(dir, name);
	fputc(parser, f);
	fputs(arg, f);
	fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *dir = fuzz_seed_dir();
	if (!dir)
		return 0;
	static const struct {
		int parser;
		const char *arg;
	} seeds[] = {
	        {P_RTP, "rtp://127.0.0.1:5004"},
	        {P_RTP, "rtp://h:65535?mtu=9000&pt=127&ttl=255&batch=64&burst=64&rtcp=65535"},
	        {P_RTP, "rtp://[::1]:5004?mtu=9000&ttl=4&pt=97&ssrc=0x1234&seq=7&zerocopy=off"},
	        {P_RTP,
	         "rtp://239.1.2.3:5004?pace=gapped&burst=8&rtcp=5007&clock=tai&sdp=/tmp/x.sdp"},
	        {P_RTP, "rtp://h:1?iface=lo&gso=off&batch=4&pacer=timer&clock_offset=-37000000000"},
	        {P_DRM, ""},
	        {P_DRM, ":vkms,plane=overlay,x=16,y=-8,mode=640x480@60,policy=fifo"},
	        {P_DRM,
	         ":/dev/dri/card0,connector=Virtual-1,legacy=1,buffers=import,writeback=w.ppm"},
	        {P_MASK, "10,20,30,40"},
	        {P_FOURCC, "YUYV"},
	        {P_SIZE, "640x480"},
	        {P_SIZE, "16384x16384"}, /* the limits: one byte from past them */
	        {P_FPS, "30000/1001"},
	        {P_FPS, "12.5"},
	        {P_COUNT, "250"},
	        {P_COUNT, "1000000"},
	        {P_SECONDS, "2.5"},
	};
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		seed(dir, (int)i, seeds[i].parser, seeds[i].arg);
	exit(0);
}
