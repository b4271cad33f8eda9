/* SPDX-License-Identifier: MIT */
/*
 * The RTP sink on the host: the RFC 4175 plan checked by depayloading it as
 * a receiver would (every MTU from 576 to 9000, odd widths, long and short
 * lines), headers across the 16-bit wrap, the URI's errors, the SDP, and
 * the sink itself over loopback with a fake camera: every packet arrives,
 * sequence numbers are continuous, and the kernel's copies are reported
 * with their cause.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/videodev2.h>

#include "fake-source.h"
#include "pipeline.h"
#include "registry.h"
#include "rtp-internal.h"

static struct vz_format fmt_of(uint32_t fourcc, uint32_t w, uint32_t h, uint32_t stride)
{
	struct vz_format f = {
	        .fourcc = fourcc, .width = w, .height = h, .fps_num = 30, .fps_den = 1};
	uint32_t strides[VZ_MAX_PLANES] = {stride, 0, 0};
	assert_int_equal(vz_format_layout(&f, strides), 0);
	return f;
}

static unsigned get16(const uint8_t *b)
{
	return (unsigned)b[0] << 8 | b[1];
}

/*
 * A receiver of one frame: parses each packet as RFC 4175 says, writes its
 * segments into @out (tight lines) and checks what a depayloader relies
 * on.  Returns the packets parsed.
 */
static unsigned depayload(const struct vz_rtp_plan *p, const uint8_t *pic, uint8_t *out,
                          uint32_t seq0)
{
	const struct vz_rtp_sampling *s = p->sampling;
	uint8_t hdr[VZ_RTP_HDR + VZ_RTP_ESN + VZ_RTP_SEG_HDR * 64];
	uint8_t pkt[9000];
	for (unsigned i = 0; i < p->npkts; i++) {
		const struct vz_rtp_pkt *pk = &p->pkt[i];
		assert_true(pk->hdr_size <= sizeof(hdr));
		vz_rtp_write_header(hdr, p, i, seq0 + i, 1234, 0xabcdef01, 96, i + 1 == p->npkts);
		/* What the iovec would carry: the header, then the runs. */
		memcpy(pkt, hdr, pk->hdr_size);
		size_t len = pk->hdr_size;
		for (unsigned k = 0; k < pk->nseg; k++) {
			const struct vz_rtp_seg *sg = &p->seg[pk->first_seg + k];
			memcpy(pkt + len, pic + sg->src, sg->len);
			len += sg->len;
		}
		assert_int_equal(len, pk->size);
		assert_true(len <= p->max_packet);
		assert_int_equal(pkt[0], 0x80);
		assert_int_equal(pkt[1] & 0x7f, 96);
		assert_int_equal(!!(pkt[1] & 0x80), i + 1 == p->npkts);
		uint32_t seq = (uint32_t)get16(pkt + 12) << 16 | get16(pkt + 2);
		assert_int_equal(seq, seq0 + i);
		const uint8_t *h = pkt + 14, *data = NULL;
		unsigned nseg = 0;
		for (;;) {
			nseg++;
			if (!(get16(h + 4) & 0x8000))
				break;
			h += 6;
		}
		assert_int_equal(nseg, pk->nseg);
		data = pkt + 14 + 6 * nseg;
		h = pkt + 14;
		for (unsigned k = 0; k < nseg; k++, h += 6) {
			unsigned slen = get16(h), line = get16(h + 2) & 0x7fff;
			unsigned off = get16(h + 4) & 0x7fff;
			assert_int_equal(get16(h + 2) & 0x8000, 0); /* progressive */
			assert_int_equal(slen % s->pg_bytes, 0);    /* whole pixel groups */
			assert_int_equal(off % s->pg_pixels, 0);
			size_t at = (size_t)line * p->line_bytes + off / s->pg_pixels * s->pg_bytes;
			assert_true(line < p->height);
			assert_true(at + slen <= (size_t)(line + 1) * p->line_bytes);
			memcpy(out + at, data, slen);
			data += slen;
		}
		assert_ptr_equal(data, pkt + len);
	}
	return p->npkts;
}

/* Everything a plan promises, for one format at one MTU. */
static void check_plan(const struct vz_format *f, unsigned mtu, bool ipv6)
{
	struct vz_rtp_plan p;
	struct vz_err err = {0};
	int r = vz_rtp_plan_build(&p, f, mtu, ipv6, &err);
	if (r < 0)
		fail_msg("plan %ux%u at mtu %u: %s", f->width, f->height, mtu, err.msg);
	size_t size = (size_t)f->plane[0].stride * f->height;
	uint8_t *pic = malloc(size), *out = calloc(1, (size_t)p.line_bytes * f->height);
	assert_non_null(pic);
	assert_non_null(out);
	for (size_t i = 0; i < size; i++)
		pic[i] = (uint8_t)(i * 131 + i / 977);
	depayload(&p, pic, out, 0xfff0);
	for (uint32_t y = 0; y < f->height; y++)
		assert_memory_equal(out + (size_t)y * p.line_bytes, pic + (size_t)y * p.stride,
		                    p.line_bytes);
	/* GSO cuts a batch into equal segments, the last may be shorter: a
	 * packet of another size is a line's last run or the frame's last. */
	for (unsigned i = 0; i < p.npkts; i++) {
		bool line_end = p.runs_per_line > 1 && i % p.runs_per_line == p.runs_per_line - 1;
		if (p.pkt[i].size != p.pkt[0].size && i + 1 != p.npkts && !line_end)
			fail_msg("%ux%u mtu %u: packet %u is %u B, the first %u B", f->width,
			         f->height, mtu, i, p.pkt[i].size, p.pkt[0].size);
		assert_true(p.pkt[i].size <= p.pkt[0].size);
	}
	assert_int_equal(p.max_packet, mtu - (ipv6 ? 48 : 28));
	vz_rtp_plan_free(&p);
	vz_rtp_plan_free(&p); /* idempotent */
	free(pic);
	free(out);
}

static void test_plan_every_mtu(void **state)
{
	(void)state;
	const struct vz_format f[] = {
	        fmt_of(V4L2_PIX_FMT_UYVY, 640, 3, 0),    /* a line per packet, or two */
	        fmt_of(V4L2_PIX_FMT_UYVY, 642, 2, 1344), /* padded stride */
	        fmt_of(V4L2_PIX_FMT_UYVY, 1922, 2, 0),   /* runs that do not divide */
	        fmt_of(V4L2_PIX_FMT_RGB24, 641, 2, 0),   /* odd width */
	        fmt_of(V4L2_PIX_FMT_BGR24, 1, 5, 4),     /* many lines per packet */
	        fmt_of(V4L2_PIX_FMT_XBGR32, 1920, 2, 0), fmt_of(V4L2_PIX_FMT_RGBX32, 7, 3, 0),
	        fmt_of(V4L2_PIX_FMT_UYVY, 2, 2, 0),
	};
	for (unsigned k = 0; k < sizeof(f) / sizeof(f[0]); k++)
		for (unsigned mtu = VZ_RTP_MIN_MTU; mtu <= VZ_RTP_MAX_MTU; mtu++)
			check_plan(&f[k], mtu, mtu % 2);
}

static void test_plan_real_sizes(void **state)
{
	(void)state;
	const unsigned mtus[] = {576, 1280, 1500, 4000, 9000};
	for (unsigned m = 0; m < 5; m++) {
		check_plan((struct vz_format[]){fmt_of(V4L2_PIX_FMT_UYVY, 640, 480, 0)}, mtus[m],
		           false);
		check_plan((struct vz_format[]){fmt_of(V4L2_PIX_FMT_UYVY, 1920, 1080, 0)}, mtus[m],
		           false);
	}
	struct vz_rtp_plan p;
	struct vz_format f = fmt_of(V4L2_PIX_FMT_UYVY, 640, 480, 0);
	assert_int_equal(vz_rtp_plan_build(&p, &f, 1500, false, NULL), 0);
	/* 1280-byte lines: one per packet, every packet the same size. */
	assert_int_equal(p.npkts, 480);
	assert_int_equal(p.lines_per_pkt, 1);
	assert_int_equal(p.pkt[0].size, 1280 + 20);
	assert_int_equal(p.pkt[479].size, 1280 + 20);
	vz_rtp_plan_free(&p);
	f = fmt_of(V4L2_PIX_FMT_UYVY, 1920, 1080, 0);
	assert_int_equal(vz_rtp_plan_build(&p, &f, 1500, false, NULL), 0);
	/* 3840-byte lines in three equal runs of 1280. */
	assert_int_equal(p.runs_per_line, 3);
	assert_int_equal(p.npkts, 3240);
	assert_int_equal(p.pkt[2].size, p.pkt[0].size);
	assert_int_equal(p.seg[1].offset, 640);
	vz_rtp_plan_free(&p);
	f = fmt_of(V4L2_PIX_FMT_UYVY, 320, 180, 0);
	assert_int_equal(vz_rtp_plan_build(&p, &f, 1500, false, NULL), 0);
	/* 640-byte lines: two per packet, continuation bit on the first. */
	assert_int_equal(p.lines_per_pkt, 2);
	assert_int_equal(p.npkts, 90);
	uint8_t h[64];
	vz_rtp_write_header(h, &p, 0, 7, 0, 0, 96, false);
	assert_int_equal(get16(h + 14 + 4) & 0x8000, 0x8000);
	assert_int_equal(get16(h + 20 + 4) & 0x8000, 0);
	assert_int_equal(get16(h + 20 + 2), 1);
	vz_rtp_plan_free(&p);
}

static void test_header_extended_sequence(void **state)
{
	(void)state;
	struct vz_rtp_plan p;
	struct vz_format f = fmt_of(V4L2_PIX_FMT_UYVY, 640, 4, 0);
	assert_int_equal(vz_rtp_plan_build(&p, &f, 1500, false, NULL), 0);
	uint8_t h[32];
	vz_rtp_write_header(h, &p, 0, 0x0001ffff, 0x01020304, 0x0a0b0c0d, 100, false);
	assert_int_equal(get16(h + 2), 0xffff);
	assert_int_equal(get16(h + 12), 0x0001);
	assert_int_equal(h[1], 100);
	assert_int_equal(h[4], 1);
	assert_int_equal(h[7], 4);
	assert_int_equal(h[8], 0x0a);
	vz_rtp_write_header(h, &p, 3, 0x00020000, 0, 0, 100, true);
	assert_int_equal(get16(h + 2), 0);
	assert_int_equal(get16(h + 12), 2);
	assert_int_equal(h[1], 0x80 | 100);
	assert_int_equal(get16(h + 14), 1280);
	assert_int_equal(get16(h + 16), 3);
	vz_rtp_plan_free(&p);
}

static void test_ts90k(void **state)
{
	(void)state;
	assert_int_equal(vz_rtp_ts90k(VZ_NSEC_PER_SEC, 0), 90000);
	assert_int_equal(vz_rtp_ts90k(VZ_NSEC_PER_SEC / 30, 0), 2999); /* truncated */
	assert_int_equal(vz_rtp_ts90k(VZ_NSEC_PER_SEC / 30 + 1, 0), 3000);
	assert_int_equal(vz_rtp_ts90k(11111, 0), 0);
	assert_int_equal(vz_rtp_ts90k(11112, 0), 1);
	assert_int_equal(vz_rtp_ts90k(0, 0xffffffffu), 0xffffffffu);
	assert_int_equal(vz_rtp_ts90k(VZ_NSEC_PER_SEC, 0xffffffffu), 89999);
	/* A year of uptime: 90 kHz ticks modulo 2^32, no overflow on the way. */
	int64_t year = 365LL * 86400 * VZ_NSEC_PER_SEC;
	assert_int_equal(vz_rtp_ts90k(year, 0), (uint32_t)(365ULL * 86400 * 90000));
}

static void test_frags(void **state)
{
	(void)state;
	static uint8_t mem[4 * 4096] __attribute__((aligned(4096)));
	struct iovec v[3] = {{mem, 100}, {mem + 100, 100}, {mem + 300, 10}};
	assert_int_equal(vz_rtp_frags(v, 3, 4096), 2); /* first two merge */
	v[0] = (struct iovec){mem + 4000, 200};        /* crosses a page */
	assert_int_equal(vz_rtp_frags(v, 1, 4096), 2);
	v[0] = (struct iovec){mem, 4096};
	v[1] = (struct iovec){mem + 4096, 10}; /* adjacent but a new page */
	assert_int_equal(vz_rtp_frags(v, 2, 4096), 2);
	v[0] = (struct iovec){mem, 0};
	assert_int_equal(vz_rtp_frags(v, 1, 4096), 0);
}

static void expect_refused(uint32_t fourcc, uint32_t w, const char *want)
{
	struct vz_format f = fmt_of(fourcc, w, 4, 0);
	struct vz_rtp_plan p;
	struct vz_err err = {0};
	assert_int_equal(vz_rtp_plan_build(&p, &f, 1500, false, &err), -EINVAL);
	if (!strstr(err.msg, want))
		fail_msg("'%s' does not say '%s'", err.msg, want);
	assert_null(p.pkt);
}

static void test_refused_formats(void **state)
{
	(void)state;
	expect_refused(V4L2_PIX_FMT_YUYV, 640, "capture UYVY (-f UYVY)");
	expect_refused(V4L2_PIX_FMT_YVYU, 640, "-f UYVY");
	expect_refused(V4L2_PIX_FMT_NV12, 640, "4:2:0 group mixes two lines");
	expect_refused(V4L2_PIX_FMT_YUV420, 640, "-f UYVY");
	expect_refused(V4L2_PIX_FMT_NV16, 640, "-f UYVY");
	expect_refused(V4L2_PIX_FMT_RGB32, 640, "XR24");
	expect_refused(V4L2_PIX_FMT_GREY, 640, "UYVY");
	expect_refused(V4L2_PIX_FMT_UYVY, 641, "even width");
	struct vz_format f = fmt_of(V4L2_PIX_FMT_UYVY, 640, 4, 0);
	struct vz_rtp_plan p;
	struct vz_err err = {0};
	assert_int_equal(vz_rtp_plan_build(&p, &f, 575, false, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "576..9000"));
	assert_int_equal(vz_rtp_plan_build(&p, &f, 9001, false, &err), -EINVAL);
	const char *why;
	assert_non_null(vz_rtp_sampling_of(V4L2_PIX_FMT_XBGR32, &why));
	assert_string_equal(vz_rtp_sampling_of(V4L2_PIX_FMT_XBGR32, &why)->name, "BGRA");
	assert_non_null(strstr(vz_rtp_sampling_of(V4L2_PIX_FMT_XBGR32, &why)->note, "alpha"));
	assert_string_equal(vz_rtp_sampling_of(V4L2_PIX_FMT_RGBX32, &why)->name, "RGBA");
	assert_string_equal(vz_rtp_sampling_of(V4L2_PIX_FMT_RGB24, &why)->name, "RGB");
	assert_string_equal(vz_rtp_sampling_of(V4L2_PIX_FMT_BGR24, &why)->name, "BGR");
}

static void test_uri_good(void **state)
{
	(void)state;
	struct vz_rtp_opts o;
	struct vz_err err = {0};
	assert_int_equal(vz_rtp_parse("rtp://127.0.0.1:5004", &o, &err), 0);
	assert_string_equal(o.host, "127.0.0.1");
	assert_int_equal(o.port, 5004);
	assert_int_equal(o.mtu, 1500);
	assert_int_equal(o.pt, 96);
	assert_int_equal(o.ttl, -1);
	assert_int_equal(o.zerocopy, 1);
	assert_false(o.have_ssrc);
	assert_int_equal(vz_rtp_parse("rtp://[ff02::1%25lo]:6000?ttl=0&iface=lo", &o, &err), 0);
	assert_string_equal(o.host, "ff02::1%lo"); /* RFC 6874's %25 */
	assert_int_equal(o.port, 6000);
	assert_int_equal(o.ttl, 0);
	assert_string_equal(o.iface, "lo");
	assert_int_equal(vz_rtp_parse("rtp://239.1.2.3:5005?mtu=9000&pt=127&ssrc=0x1234&seq="
	                              "65530&zerocopy=off&gso=off&batch=7&sdp=/tmp/a%20b%26c.sdp",
	                              &o, &err),
	                 0);
	assert_int_equal(o.mtu, 9000);
	assert_int_equal(o.pt, 127);
	assert_true(o.have_ssrc);
	assert_int_equal(o.ssrc, 0x1234);
	assert_true(o.have_seq);
	assert_int_equal(o.seq, 65530);
	assert_int_equal(o.zerocopy, 0);
	assert_int_equal(o.gso, 0);
	assert_int_equal(o.batch, 7);
	assert_string_equal(o.sdp, "/tmp/a b&c.sdp");
}

static void test_uri_pacing(void **state)
{
	(void)state;
	struct vz_rtp_opts o;
	assert_int_equal(vz_rtp_parse("rtp://127.0.0.1:5004", &o, NULL), 0);
	assert_int_equal(o.pace, VZ_RTP_PACE_OFF);
	assert_int_equal(o.pacer, VZ_RTP_PACER_AUTO);
	assert_int_equal(o.burst, 0);
	assert_int_equal(o.rtcp_port, 0);
	assert_int_equal(o.clock, VZ_RTP_CLOCK_REALTIME);
	assert_int_equal(o.clock_offset_ns, 0);
	assert_int_equal(vz_rtp_parse("rtp://127.0.0.1:5004?pace=gapped&pacer=timer&burst=1&rtcp="
	                              "off&clock=tai&clock_offset=-37000000000",
	                              &o, NULL),
	                 0);
	assert_int_equal(o.pace, VZ_RTP_PACE_GAPPED);
	assert_int_equal(o.pacer, VZ_RTP_PACER_TIMER);
	assert_int_equal(o.burst, 1);
	assert_int_equal(o.rtcp_port, -1);
	assert_int_equal(o.clock, VZ_RTP_CLOCK_TAI);
	assert_true(o.clock_offset_ns == -37000000000LL);
	assert_int_equal(
	        vz_rtp_parse("rtp://127.0.0.1:5004?pace=linear&pacer=txtime&rtcp=6000", &o, NULL),
	        0);
	assert_int_equal(o.pace, VZ_RTP_PACE_LINEAR);
	assert_int_equal(o.pacer, VZ_RTP_PACER_TXTIME);
	assert_int_equal(o.rtcp_port, 6000);
}

static void expect_bad(const char *uri, const char *want)
{
	struct vz_rtp_opts o;
	struct vz_err err = {0};
	assert_int_equal(vz_rtp_parse(uri, &o, &err), -EINVAL);
	if (!strstr(err.msg, want))
		fail_msg("%s: '%s' does not say '%s'", uri, err.msg, want);
}

static void test_uri_bad(void **state)
{
	(void)state;
	expect_bad("udp://1.2.3.4:5004", "rtp://HOST:PORT");
	expect_bad("rtp://1.2.3.4:5004?pace=fast", "pace=off|linear|gapped");
	expect_bad("rtp://1.2.3.4:5004?pacer=hw", "pacer=auto|txtime|timer");
	expect_bad("rtp://1.2.3.4:5004?burst=0", "burst=1..64");
	expect_bad("rtp://1.2.3.4:5004?burst=65", "burst=1..64");
	expect_bad("rtp://1.2.3.4:5004?rtcp=0", "rtcp=PORT|off");
	expect_bad("rtp://1.2.3.4:5004?clock=ptp", "clock=realtime|tai");
	expect_bad("rtp://1.2.3.4:5004?clock_offset=1s", "clock_offset=NS");
	expect_bad("rtp://1.2.3.4:5004?clock_offset=100000000000000", "clock_offset=NS");
	expect_bad("rtp://1.2.3.4", "needs HOST:PORT");
	expect_bad("rtp://::1:5004", "brackets");
	expect_bad("rtp://[::1:5004", "brackets");
	expect_bad("rtp://:5004", "no host");
	expect_bad("rtp://1.2.3.4:0", "1..65535");
	expect_bad("rtp://1.2.3.4:70000", "1..65535");
	expect_bad("rtp://1.2.3.4:50x4", "1..65535");
	expect_bad("rtp://1.2.3.4:5004?mtu=575", "bad value '575' for mtu");
	expect_bad("rtp://1.2.3.4:5004?mtu=9001", "mtu=576..9000");
	expect_bad("rtp://1.2.3.4:5004?mtu=-1500", "for mtu");
	expect_bad("rtp://1.2.3.4:5004?pt=95", "pt=96..127");
	expect_bad("rtp://1.2.3.4:5004?ttl=256", "for ttl");
	expect_bad("rtp://1.2.3.4:5004?zerocopy=maybe", "zerocopy=auto|on|off");
	expect_bad("rtp://1.2.3.4:5004?gso=1", "for gso");
	expect_bad("rtp://1.2.3.4:5004?batch=0", "for batch");
	expect_bad("rtp://1.2.3.4:5004?color=red", "unknown option 'color'");
	expect_bad("rtp://1.2.3.4:5004?mtu", "is not KEY=VALUE");
	expect_bad("rtp://1.2.3.4:5004?sdp=", "for sdp");
	expect_bad("rtp://1.2.3.4:5004?sdp=a%2", "escape");
	expect_bad("rtp://1.2.3.4:5004?ssrc=4294967296", "for ssrc");
}

static void test_sdp(void **state)
{
	(void)state;
	struct vz_rtp_opts o;
	struct vz_rtp_plan p;
	char sdp[1024];
	assert_int_equal(vz_rtp_parse("rtp://239.1.2.3:5004?ttl=4&ssrc=77&pt=98", &o, NULL), 0);
	struct vz_format f = fmt_of(V4L2_PIX_FMT_UYVY, 640, 480, 0);
	f.colorspace = V4L2_COLORSPACE_SMPTE170M;
	assert_int_equal(vz_rtp_plan_build(&p, &f, 1500, false, NULL), 0);
	assert_true(vz_rtp_sdp(sdp, sizeof(sdp), &o, &p, &f, false, true, "10.0.0.2") > 0);
	assert_non_null(strstr(sdp, "v=0\r\n"));
	assert_non_null(strstr(sdp, "o=- 77 1 IN IP4 10.0.0.2\r\n"));
	assert_non_null(strstr(sdp, "c=IN IP4 239.1.2.3/4\r\n"));
	assert_non_null(strstr(sdp, "m=video 5004 RTP/AVP 98\r\n"));
	assert_non_null(strstr(sdp, "a=rtpmap:98 raw/90000\r\n"));
	assert_non_null(strstr(sdp, "a=fmtp:98 sampling=YCbCr-4:2:2; width=640; height=480; "
	                            "depth=8; colorimetry=BT601-5; exactframerate=30; TCS=SDR; "
	                            "PM=2110GPM; SSN=ST2110-20:2017\r\n"));
	assert_non_null(strstr(sdp, "a=framerate:30\r\n"));
	assert_non_null(strstr(sdp, "a=rtcp:5005\r\n"));
	assert_non_null(strstr(sdp, "ST 2110-style"));
	assert_non_null(strstr(sdp, "a=ts-refclk:local\r\na=mediaclk:sender\r\n"));
	/* The sender type only where it paces; RTCP where it is on. */
	o.pace = VZ_RTP_PACE_LINEAR;
	o.rtcp_port = 7000;
	assert_true(vz_rtp_sdp(sdp, sizeof(sdp), &o, &p, &f, false, true, "10.0.0.2") > 0);
	assert_non_null(strstr(sdp, "SSN=ST2110-20:2017; TP=2110TPNL\r\n"));
	assert_non_null(strstr(sdp, "a=rtcp:7000\r\n"));
	o.pace = VZ_RTP_PACE_GAPPED;
	o.rtcp_port = -1;
	assert_true(vz_rtp_sdp(sdp, sizeof(sdp), &o, &p, &f, false, true, "10.0.0.2") > 0);
	assert_non_null(strstr(sdp, "; TP=2110TPN\r\n"));
	assert_null(strstr(sdp, "a=rtcp"));
	assert_int_equal(vz_rtp_sdp(sdp, 40, &o, &p, &f, false, true, "x"), -ENOSPC);
	vz_rtp_plan_free(&p);
	assert_int_equal(vz_rtp_parse("rtp://[ff15::7]:5004", &o, NULL), 0);
	f = fmt_of(V4L2_PIX_FMT_XBGR32, 320, 240, 0);
	f.colorspace = V4L2_COLORSPACE_SRGB;
	f.fps_num = 30000;
	f.fps_den = 1001;
	assert_int_equal(vz_rtp_plan_build(&p, &f, 1500, true, NULL), 0);
	assert_true(vz_rtp_sdp(sdp, sizeof(sdp), &o, &p, &f, true, true, "::1") > 0);
	assert_non_null(strstr(sdp, "c=IN IP6 ff15::7\r\n"));
	assert_non_null(strstr(sdp, "sampling=BGRA; width=320; height=240; depth=8; "
	                            "colorimetry=BT709-2"));
	assert_non_null(strstr(sdp, "a=framerate:29.970\r\n"));
	assert_non_null(strstr(sdp, "; exactframerate=30000/1001\r\n"));
	assert_null(strstr(sdp, "SSN=")); /* BGRA is not an ST 2110-20 sampling */
	vz_rtp_plan_free(&p);
	/* Jumbo packets: ST 2110-10's extended UDP size, said. */
	f = fmt_of(V4L2_PIX_FMT_UYVY, 1920, 1080, 0);
	assert_int_equal(vz_rtp_plan_build(&p, &f, 9000, true, NULL), 0);
	assert_true(vz_rtp_sdp(sdp, sizeof(sdp), &o, &p, &f, true, true, "::1") > 0);
	if (!strstr(sdp, "SSN=ST2110-20:2017; MAXUDP="))
		fail_msg("%s", sdp);
	vz_rtp_plan_free(&p);
}

static void test_launch_times(void **state)
{
	(void)state;
	struct vz_rtp_pace pc = {.mode = VZ_RTP_PACE_LINEAR,
	                         .t0 = 1000,
	                         .span_ns = 33366667,
	                         .npkts = 440,
	                         .height = 480};
	/* Linear: evenly over the whole span, the last a step before its end. */
	for (unsigned i = 0; i < pc.npkts; i++) {
		int64_t want = 1000 + (int64_t)33366667 * i / 440;
		assert_true(vz_rtp_launch(&pc, i) == want);
	}
	assert_true(vz_rtp_launch(&pc, 439) < 1000 + 33366667);
	assert_true(vz_rtp_launch(&pc, 439) >= 1000 + 33366667 - 33366667 / 440 - 1);
	/* Gapped: over 480 of 525 lines' time, then the gap. */
	pc.mode = VZ_RTP_PACE_GAPPED;
	int64_t active = (int64_t)33366667 * 480 / 525;
	assert_true(vz_rtp_launch(&pc, 0) == 1000);
	assert_true(vz_rtp_launch(&pc, 220) == 1000 + active * 220 / 440);
	assert_true(vz_rtp_launch(&pc, 439) < 1000 + active);
	pc.mode = VZ_RTP_PACE_OFF;
	assert_true(vz_rtp_launch(&pc, 439) == 1000);
	uint32_t num, den;
	vz_rtp_active(1080, &num, &den);
	assert_int_equal(num * 1000u / den, 960);
	vz_rtp_active(720, &num, &den);
	assert_int_equal(den, 750);
	vz_rtp_active(576, &num, &den);
	assert_int_equal(den, 625);
	vz_rtp_active(360, &num, &den);
	assert_int_equal(num, 1080);
	assert_int_equal(den, 1125);
}

static uint32_t get32(const uint8_t *b)
{
	return (uint32_t)get16(b) << 16 | get16(b + 2);
}

static void test_rtcp_sender_report(void **state)
{
	(void)state;
	/* 1970 in NTP: 2208988800 s; half a second: half of 2^32. */
	assert_true(vz_rtp_ntp(0) == (uint64_t)2208988800u << 32);
	assert_true(vz_rtp_ntp(1500000000) == ((uint64_t)2208988801u << 32 | 0x80000000u));
	uint8_t b[128];
	uint64_t ntp = vz_rtp_ntp(1764640000123456789LL);
	int n = vz_rtcp_sr(b, sizeof(b), 0xabcd0123, ntp, 0x11223344, 4400, 5000000,
	                   "vzero@10.0.0.2", false);
	/* SR 28 bytes; SDES 4 + SSRC 4 + type, length, 14 bytes, end, pad. */
	assert_int_equal(n, 28 + 4 + 4 + 20);
	assert_int_equal(b[0], 0x80);
	assert_int_equal(b[1], 200);
	assert_int_equal(get16(b + 2), 6);
	assert_true(get32(b + 4) == 0xabcd0123);
	assert_true(((uint64_t)get32(b + 8) << 32 | get32(b + 12)) == ntp);
	assert_true(get32(b + 16) == 0x11223344);
	assert_int_equal(get32(b + 20), 4400);
	assert_int_equal(get32(b + 24), 5000000);
	assert_int_equal(b[28], 0x81);
	assert_int_equal(b[29], 202);
	assert_int_equal((get16(b + 30) + 1) * 4, n - 28);
	assert_true(get32(b + 32) == 0xabcd0123);
	assert_int_equal(b[36], 1);
	assert_int_equal(b[37], 14);
	assert_memory_equal(b + 38, "vzero@10.0.0.2", 14);
	assert_int_equal(b[52], 0); /* the item list's end */
	n = vz_rtcp_sr(b, sizeof(b), 7, ntp, 1, 2, 3, "vzero@x", true);
	assert_int_equal(b[n - 8], 0x81);
	assert_int_equal(b[n - 7], 203);
	assert_int_equal(get16(b + n - 6), 1);
	assert_int_equal(get32(b + n - 4), 7);
	assert_int_equal(vz_rtcp_sr(b, 40, 7, ntp, 1, 2, 3, "vzero@x", true), -ENOSPC);
}

/* ---- the sink over loopback ---- */

#define LW      640
#define LH      24
#define LFRAMES 60

struct lo {
	uint32_t w, h;
	unsigned pkts_per_frame;
	struct fake_source fs;
	struct vz_loop *loop;
	struct vz_pipeline *pipe;
	int rx;
	uint16_t port;
	/* What arrived. */
	unsigned packets, frames, bad_seq, bad_fill, bad_len, ts_changes;
	uint32_t next_seq, last_ts;
	bool have_seq;
	uint64_t bytes;
	uint32_t ssrc;
	/* Kernel arrival times (CLOCK_REALTIME) and each packet's RTP time. */
	int64_t at[4096];
	uint32_t at_ts[4096];
	unsigned nat;
};

static void lo_open_full(struct lo *l, uint32_t w, uint32_t h, uint32_t stride, const char *query)
{
	memset(l, 0, sizeof(*l));
	l->w = w;
	l->h = h;
	l->rx = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(l->rx >= 0);
	int big = 8 << 20;
	setsockopt(l->rx, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(l->rx, (struct sockaddr *)&a, sizeof(a)), 0);
	int on = 1;
	setsockopt(l->rx, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
	socklen_t al = sizeof(a);
	assert_int_equal(getsockname(l->rx, (struct sockaddr *)&a, &al), 0);
	l->port = ntohs(a.sin_port);
	assert_int_equal(fake_source_init(&l->fs, V4L2_PIX_FMT_UYVY, w, h, stride, stride * h, 6),
	                 0);
	/* The sink's own reading of the options gives the MTU to plan for. */
	struct vz_rtp_opts o;
	char probe[128];
	snprintf(probe, sizeof(probe), "rtp://127.0.0.1:1?pt=96%s", query);
	assert_int_equal(vz_rtp_parse(probe, &o, NULL), 0);
	struct vz_rtp_plan p;
	assert_int_equal(vz_rtp_plan_build(&p, &l->fs.fmt, o.mtu, false, NULL), 0);
	l->pkts_per_frame = p.npkts;
	vz_rtp_plan_free(&p);
	assert_int_equal(vz_loop_create(&l->loop, NULL), 0);
	struct vz_pipeline_config cfg = {.reconnect_timeout_ms = -1,
	                                 .source = fake_source_as_source(&l->fs),
	                                 .loop = l->loop,
	                                 .telemetry_capacity = 1024};
	assert_int_equal(vz_pipeline_create(&l->pipe, &cfg, NULL), 0);
	char uri[256];
	snprintf(uri, sizeof(uri), "rtp://127.0.0.1:%u?seq=65500%s", l->port, query);
	struct vz_sink s;
	struct vz_err err = {0};
	if (vz_sink_create(uri, &s, &err) < 0)
		fail_msg("%s: %s", uri, err.msg);
	assert_int_equal(vz_pipeline_add_sink(l->pipe, &s, NULL, NULL), 0);
}

static void lo_open_size(struct lo *l, uint32_t w, uint32_t h, const char *query)
{
	lo_open_full(l, w, h, w * 2, query);
}

static void lo_open(struct lo *l, const char *query)
{
	lo_open_size(l, LW, LH, query);
}

static void lo_receive(struct lo *l)
{
	uint8_t b[9100];
	for (;;) {
		union {
			char buf[CMSG_SPACE(sizeof(struct timespec))];
			struct cmsghdr align;
		} c;
		struct iovec iov = {b, sizeof(b)};
		struct msghdr m = {.msg_iov = &iov,
		                   .msg_iovlen = 1,
		                   .msg_control = c.buf,
		                   .msg_controllen = sizeof(c.buf)};
		ssize_t n = recvmsg(l->rx, &m, 0);
		if (n < 0)
			return;
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
		if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_TIMESTAMPNS &&
		    l->nat < sizeof(l->at) / sizeof(l->at[0])) {
			struct timespec t;
			memcpy(&t, CMSG_DATA(cm), sizeof(t));
			l->at[l->nat] = (int64_t)t.tv_sec * VZ_NSEC_PER_SEC + t.tv_nsec;
			l->at_ts[l->nat++] = get32(b + 4);
		}
		l->ssrc = get32(b + 8);
		/* Each datagram is one whole RTP packet: its segment headers
		 * account for every byte (GSO cut it where vzero meant). */
		size_t at = 14, data = 0;
		do {
			data += get16(b + at);
			at += 6;
		} while ((get16(b + at - 2) & 0x8000) && at + 6 <= (size_t)n);
		if (at + data != (size_t)n)
			l->bad_len++;
		l->packets++;
		l->bytes += (size_t)n;
		uint32_t seq = (uint32_t)get16(b + 12) << 16 | get16(b + 2);
		if (l->have_seq && seq != l->next_seq)
			l->bad_seq++;
		l->have_seq = true;
		l->next_seq = seq + 1;
		uint32_t ts = (uint32_t)b[4] << 24 | b[5] << 16 | b[6] << 8 | b[7];
		if (l->packets > 1 && ts != l->last_ts)
			l->ts_changes++;
		l->last_ts = ts;
		/* The fake camera fills a frame with one byte value. */
		for (size_t i = at + 1; i < (size_t)n; i++)
			if (b[i] != b[at]) {
				l->bad_fill++;
				break;
			}
		if (b[1] & 0x80)
			l->frames++;
	}
}

static void lo_run_n(struct lo *l, struct vz_pipeline_stats *st, unsigned frames)
{
	assert_int_equal(vz_pipeline_start(l->pipe, NULL), 0);
	for (unsigned i = 0; i < frames; i++) {
		fake_source_produce(&l->fs, 1);
		int64_t end = vz_now_ns() + 2 * VZ_NSEC_PER_SEC;
		while ((l->fs.pending || vz_pipeline_inflight(l->pipe)) && vz_now_ns() < end)
			vz_loop_dispatch(l->loop, 5);
		lo_receive(l);
	}
	assert_int_equal(vz_pipeline_stop(l->pipe, NULL), 0);
	int64_t end = vz_now_ns() + 2 * VZ_NSEC_PER_SEC;
	while (vz_pipeline_inflight(l->pipe) && vz_now_ns() < end)
		vz_loop_dispatch(l->loop, 5);
	lo_receive(l);
	vz_pipeline_get_stats(l->pipe, st);
}

static void lo_run(struct lo *l, struct vz_pipeline_stats *st)
{
	lo_run_n(l, st, LFRAMES);
}

static void lo_close(struct lo *l)
{
	vz_pipeline_destroy(l->pipe);
	vz_loop_destroy(l->loop);
	fake_source_fini(&l->fs);
	close(l->rx);
}

static uint64_t counter_of(const struct vz_sink_stats *s, const char *name)
{
	for (unsigned i = 0; i < s->ncounters; i++)
		if (!strcmp(s->counter[i].name, name))
			return s->counter[i].total;
	fail_msg("no counter %s", name);
	return 0;
}

/* The sink's only copy site: who (@element), why (@reason, if given) and
 * how many bytes. */
static void expect_one_site(const struct vz_sink_stats *s, const char *element, const char *reason,
                            uint64_t bytes)
{
	assert_int_equal(s->nsites, 1);
	assert_string_equal(s->site[0].element, element);
	if (reason)
		assert_non_null(strstr(s->site[0].reason, reason));
	assert_int_equal(s->bytes_copied, bytes);
}

static void expect_every_packet(struct lo *l, const struct vz_sink_stats *s)
{
	unsigned pkts = LFRAMES * l->pkts_per_frame;
	assert_int_equal(s->frames, LFRAMES);
	assert_int_equal(s->released, LFRAMES);
	assert_int_equal(l->frames, LFRAMES);
	assert_int_equal(l->packets, pkts);
	assert_int_equal(l->bad_seq, 0);
	assert_int_equal(l->bad_fill, 0);
	assert_int_equal(l->bad_len, 0);
	assert_int_equal(l->ts_changes, LFRAMES - 1);
	/* seq=65500 and more than 36 packets per frame: the 16-bit field
	 * wrapped. */
	assert_true(pkts > 36);
	assert_int_equal(l->next_seq, 65500 + pkts);
	assert_int_equal(counter_of(s, "packets"), pkts);
}

static void test_loopback_zerocopy_reports_kernel_copies(void **state)
{
	(void)state;
	struct lo l;
	struct vz_pipeline_stats st;
	lo_open(&l, "");
	lo_run(&l, &st);
	const struct vz_sink_stats *s = &st.sink[0];
	expect_every_packet(&l, s);
	/* Loopback copies every zero-copy send: the kernel says so, and the
	 * report carries it as a copy site with its cause. */
	expect_one_site(s, "kernel (lo)", "ZEROCOPY_COPIED", (uint64_t)LFRAMES * LW * 2 * LH);
	assert_true(counter_of(s, "notifications") > 0);
	/* Lines of 1280 B: one per packet, GSO batches of up to 7. */
	assert_true(counter_of(s, "sends") >= LFRAMES * LH / 17);
	assert_true(counter_of(s, "sends") < LFRAMES * LH);
	assert_true(counter_of(s, "syscalls") <= counter_of(s, "sends"));
	/* zerocopy=auto stops asking once the kernel said it copies anyway. */
	assert_non_null(strstr(s->proof, "plain sends after 32 sends the kernel copied anyway"));
	assert_non_null(strstr(s->proof, "sendmsg + UDP GSO"));
	assert_non_null(strstr(s->site[0].reason, "lo copies anyway"));
	assert_true(counter_of(s, "notifications") < LFRAMES);
	assert_non_null(strstr(s->advice, "the kernel copied on lo"));
	lo_close(&l);
}

/* zerocopy=on keeps MSG_ZEROCOPY, every completion saying COPIED. */
static void test_loopback_zerocopy_on_keeps_asking(void **state)
{
	(void)state;
	struct lo l;
	struct vz_pipeline_stats st;
	lo_open(&l, "&zerocopy=on");
	lo_run(&l, &st);
	const struct vz_sink_stats *s = &st.sink[0];
	expect_every_packet(&l, s);
	expect_one_site(s, "kernel (lo)", "cannot send from user pages",
	                (uint64_t)LFRAMES * LW * 2 * LH);
	assert_non_null(strstr(s->proof, "MSG_ZEROCOPY + UDP GSO"));
	char want[64];
	snprintf(want, sizeof(want), "%llu of %llu completions said COPIED",
	         (unsigned long long)counter_of(s, "notifications"),
	         (unsigned long long)counter_of(s, "notifications"));
	assert_non_null(strstr(s->proof, want));
	lo_close(&l);
}

static void test_loopback_plain_sends_counted(void **state)
{
	(void)state;
	struct lo l;
	struct vz_pipeline_stats st;
	lo_open(&l, "&zerocopy=off&gso=off");
	lo_run(&l, &st);
	const struct vz_sink_stats *s = &st.sink[0];
	expect_every_packet(&l, s);
	expect_one_site(s, "kernel (plain send)", NULL, (uint64_t)LFRAMES * LW * 2 * LH);
	assert_int_equal(counter_of(s, "sends"), LFRAMES * LH);
	assert_int_equal(counter_of(s, "notifications"), 0);
	lo_close(&l);
}

/* Lines of 1922 pixels: three runs of 1284, 1284 and 1276 bytes, so GSO
 * batches end at every line's short run. */
static void test_loopback_unequal_runs(void **state)
{
	(void)state;
	struct lo l;
	struct vz_pipeline_stats st;
	lo_open_size(&l, 1922, 8, "");
	lo_run(&l, &st);
	const struct vz_sink_stats *s = &st.sink[0];
	expect_every_packet(&l, s);
	assert_int_equal(l.pkts_per_frame, 24);
	assert_int_equal(counter_of(s, "sends"), LFRAMES * 8);
	assert_int_equal(s->bytes_copied, (uint64_t)LFRAMES * 1922 * 2 * 8);
	lo_close(&l);
}

/* Short lines on a padded stride at mtu=9000: 27 lines per packet, each
 * its own iovec -- more page fragments than a zero-copy send holds, so
 * zerocopy=auto sends them plainly and says why; plain sends batch them
 * without overrunning a message's iovecs. */
static void test_loopback_padded_short_lines(void **state)
{
	(void)state;
	const char *q[] = {"&mtu=9000", "&mtu=9000&zerocopy=off"};
	for (unsigned k = 0; k < 2; k++) {
		struct lo l;
		struct vz_pipeline_stats st;
		lo_open_full(&l, 160, 240, 384, q[k]);
		lo_run(&l, &st);
		const struct vz_sink_stats *s = &st.sink[0];
		expect_every_packet(&l, s);
		assert_int_equal(l.pkts_per_frame, 9); /* 27 + ... + 24 lines */
		expect_one_site(s, "kernel (plain send)", k ? NULL : "page fragments",
		                (uint64_t)LFRAMES * 160 * 2 * 240);
		lo_close(&l);
	}
}

/* Per frame of what arrived: the spread of its packets' arrivals. */
static void spreads(const struct lo *l, int64_t *min, int64_t *max, unsigned *nframes)
{
	*min = INT64_MAX;
	*max = 0;
	*nframes = 0;
	for (unsigned i = 0, first = 0; i < l->nat; i++) {
		if (i + 1 < l->nat && l->at_ts[i + 1] == l->at_ts[i])
			continue;
		int64_t d = l->at[i] - l->at[first];
		*min = d < *min ? d : *min;
		*max = d > *max ? d : *max;
		(*nframes)++;
		first = i + 1;
	}
}

static int open_rtcp_rx(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t al = sizeof(a);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

#define PFRAMES 12

/* The fake camera runs at 25 fps: a frame's 24 packets leave in batches of
 * 2, 3.3 ms apart, spread over 40 ms -- where pace=off sends them at once.
 * The sender reports map its RTP clock to the wall clock. */
static void test_loopback_paced_by_timer(void **state)
{
	(void)state;
	struct lo off, lin;
	struct vz_pipeline_stats st;
	lo_open(&off, "&pace=off&rtcp=off");
	lo_run_n(&off, &st, PFRAMES);
	assert_non_null(strstr(st.sink[0].timing, "pace=off"));
	assert_null(strstr(st.sink[0].timing, "RTCP"));
	int64_t omin, omax, lmin, lmax;
	unsigned of, lf;
	spreads(&off, &omin, &omax, &of);
	lo_close(&off);

	uint16_t rport;
	int rtcp = open_rtcp_rx(&rport);
	char q[64];
	snprintf(q, sizeof(q), "&pace=linear&burst=2&rtcp=%u", rport);
	lo_open(&lin, q);
	/* Capture times near now, as a camera's are: the RTP clock wraps
	 * every 13 hours, so a report maps only times that close. */
	lin.fs.t_driver = vz_now_ns();
	assert_int_equal(lin.pkts_per_frame, 24);
	lo_run_n(&lin, &st, PFRAMES);
	const struct vz_sink_stats *ss = &st.sink[0];
	/* The test hands over a frame only once the last is back, a little
	 * before its interval ended: spans come out a little shorter. */
	if (!strstr(ss->timing, "pace=linear by the sink's timer (qdisc noqueue on lo): frames "
	                        "spread over 3") ||
	    !strstr(ss->timing, "batches of <= 2 packets 3.") ||
	    !strstr(ss->timing, "RTCP SR to port"))
		fail_msg("timing: %s", ss->timing);
	assert_int_equal(lin.packets, PFRAMES * 24);
	assert_int_equal(lin.bad_seq, 0);
	spreads(&lin, &lmin, &lmax, &lf);
	assert_int_equal(of, PFRAMES);
	assert_int_equal(lf, PFRAMES);
	print_message("arrival spread per frame: pace=off %.3f..%.3f ms, pace=linear %.3f..%.3f "
	              "ms\n",
	              omin / 1e6, omax / 1e6, lmin / 1e6, lmax / 1e6);
	/* 23 steps of a span of up to 40 ms: 38.3 ms. */
	assert_true(lmin > 25000000 && lmax < 60000000); /* a loaded host wakes late */
	assert_true(omax < 5000000);
	/* Every batch is a pair: the second packet of each within a step (a
	 * late timer may send more together: no upper bound here). */
	unsigned pairs = 0;
	for (unsigned i = 1; i < lin.nat; i++)
		pairs += lin.at[i] - lin.at[i - 1] < 1000000;
	assert_true(pairs >= PFRAMES * 12 * 9 / 10);

	/* Sender reports: one at the first frame, one with the BYE at the end. */
	uint8_t b[256];
	unsigned srs = 0, byes = 0;
	uint32_t count = 0, sr_ts = 0;
	int64_t sr_wall = 0;
	for (ssize_t n; (n = recv(rtcp, b, sizeof(b), 0)) > 0;) {
		assert_true(n >= 28);
		assert_int_equal(b[1], 200);
		assert_true(get32(b + 4) == lin.ssrc);
		uint64_t ntp = (uint64_t)get32(b + 8) << 32 | get32(b + 12);
		sr_wall = (int64_t)((ntp >> 32) - 2208988800u) * VZ_NSEC_PER_SEC +
		          (int64_t)(((ntp & 0xffffffffu) * 1000000000u) >> 32);
		sr_ts = get32(b + 16);
		count = get32(b + 20);
		srs++;
		byes += n >= 8 && b[n - 7] == 203;
	}
	close(rtcp);
	assert_true(srs >= 2);
	assert_int_equal(byes, 1);
	assert_int_equal(count, PFRAMES * 24); /* the last report counts them all */
	/* The last frame's capture time (the fake camera's CLOCK_MONOTONIC
	 * stamp) on the wall clock, by the report's mapping and by ours. */
	unsigned first = lin.nat - 24;
	int64_t mapped = sr_wall + (int64_t)(int32_t)(lin.at_ts[first] - sr_ts) * 100000 / 9;
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	int64_t mono = vz_now_ns();
	int64_t wall = lin.fs.t_driver + ((int64_t)rt.tv_sec * VZ_NSEC_PER_SEC + rt.tv_nsec - mono);
	print_message("last frame's capture time: RTCP maps it %.3f ms from the wall clock's\n",
	              (mapped - wall) / 1e6);
	/* 90 kHz ticks are 11 us; the clocks' offset read twice, ~1 us. */
	assert_true(mapped - wall > -100000 && mapped - wall < 100000);
	lo_close(&lin);
}

static void test_sink_create_errors(void **state)
{
	(void)state;
	struct vz_sink s;
	struct vz_err err = {0};
	assert_int_equal(vz_sink_create("rtp://no-such-host.invalid:5004", &s, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "cannot resolve 'no-such-host.invalid'"));
	vz_err_clear(&err);
	assert_int_equal(vz_sink_create("rtp://127.0.0.1:5004?iface=nosuch0", &s, &err), -ENODEV);
	assert_non_null(strstr(err.msg, "iface=nosuch0: no such network interface"));
	vz_err_clear(&err);
	assert_int_equal(vz_sink_create("rtp://127.0.0.1:5004?ttl=x", &s, &err), -EINVAL);
	vz_err_clear(&err);
	/* The path cannot take mtu=9000 only where its MTU is smaller; over
	 * loopback (65536) it can. */
	assert_int_equal(vz_sink_create("rtp://127.0.0.1:5004?mtu=9000", &s, &err), 0);
	vz_sink_destroy(&s);
	/* Launch times need fq; loopback has no qdisc (noqueue). */
	assert_int_equal(vz_sink_create("rtp://127.0.0.1:5004?pace=linear&pacer=txtime", &s, &err),
	                 -EOPNOTSUPP);
	if (!strstr(err.msg, "needs the fq qdisc on lo, which has noqueue") ||
	    !strstr(err.msg, "`tc qdisc replace dev lo root fq`, or pacer=timer"))
		fail_msg("%s", err.msg);
	vz_err_clear(&err);
	/* To an address of this host the route leaves by lo, whichever
	 * interface holds the address: that is the qdisc that counts. */
	struct ifaddrs *ifa = NULL, *own = NULL;
	assert_int_equal(getifaddrs(&ifa), 0);
	for (struct ifaddrs *i = ifa; i && !own; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && strcmp(i->ifa_name, "lo"))
			own = i;
	if (own) {
		char uri[128], host[64];
		getnameinfo(own->ifa_addr, sizeof(struct sockaddr_in), host, sizeof(host), NULL, 0,
		            NI_NUMERICHOST);
		snprintf(uri, sizeof(uri), "rtp://%s:5004?pace=linear&pacer=txtime", host);
		assert_int_equal(vz_sink_create(uri, &s, &err), -EOPNOTSUPP);
		if (!strstr(err.msg, "needs the fq qdisc on lo,"))
			fail_msg("%s (%s is %s's)", err.msg, host, own->ifa_name);
		vz_err_clear(&err);
	} else {
		print_message("no IPv4 address but loopback's: the route check is not run\n");
	}
	freeifaddrs(ifa);
	assert_int_equal(vz_sink_create("rtp://127.0.0.1:65535", &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "give rtcp=PORT or rtcp=off"));
	vz_err_clear(&err);
	/* A format the sink cannot carry is refused when streaming starts. */
	struct fake_source fs;
	struct vz_loop *loop;
	struct vz_pipeline *pipe;
	assert_int_equal(fake_source_init(&fs, V4L2_PIX_FMT_YUYV, 64, 4, 128, 512, 4), 0);
	assert_int_equal(vz_loop_create(&loop, NULL), 0);
	struct vz_pipeline_config cfg = {
	        .reconnect_timeout_ms = -1, .source = fake_source_as_source(&fs), .loop = loop};
	assert_int_equal(vz_pipeline_create(&pipe, &cfg, NULL), 0);
	assert_int_equal(vz_sink_create("rtp://127.0.0.1:5004", &s, &err), 0);
	assert_int_equal(vz_pipeline_add_sink(pipe, &s, NULL, NULL), 0);
	assert_int_equal(vz_pipeline_start(pipe, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "-f UYVY"));
	vz_pipeline_destroy(pipe);
	vz_loop_destroy(loop);
	fake_source_fini(&fs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_plan_every_mtu),
	        cmocka_unit_test(test_plan_real_sizes),
	        cmocka_unit_test(test_header_extended_sequence),
	        cmocka_unit_test(test_ts90k),
	        cmocka_unit_test(test_frags),
	        cmocka_unit_test(test_refused_formats),
	        cmocka_unit_test(test_uri_good),
	        cmocka_unit_test(test_uri_bad),
	        cmocka_unit_test(test_uri_pacing),
	        cmocka_unit_test(test_launch_times),
	        cmocka_unit_test(test_rtcp_sender_report),
	        cmocka_unit_test(test_sdp),
	        cmocka_unit_test(test_loopback_zerocopy_reports_kernel_copies),
	        cmocka_unit_test(test_loopback_zerocopy_on_keeps_asking),
	        cmocka_unit_test(test_loopback_plain_sends_counted),
	        cmocka_unit_test(test_loopback_unequal_runs),
	        cmocka_unit_test(test_loopback_padded_short_lines),
	        cmocka_unit_test(test_loopback_paced_by_timer),
	        cmocka_unit_test(test_sink_create_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
