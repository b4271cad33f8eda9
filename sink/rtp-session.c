/* SPDX-License-Identifier: MIT */
/* The RTP session as a person names it (the URI) and as a receiver learns
 * it (the SDP); see sink/rtp-internal.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/videodev2.h>

#include "rtp-internal.h"

static const char keys[] = "mtu=576..9000, ttl=0..255, iface=NAME, pt=96..127, ssrc=N, seq=N, "
                           "zerocopy=auto|on|off, gso=auto|off, batch=N, sdp=FILE, "
                           "pace=off|linear|gapped, pacer=auto|txtime|timer, burst=1..64, "
                           "rtcp=PORT|off, clock=realtime|tai, clock_offset=NS";

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %XX decoding in place (a file name may need it); -EINVAL on a bad one. */
static int unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r == '%') {
			int hi = hexval(r[1]), lo = hi < 0 ? -1 : hexval(r[2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -EINVAL;
			*w++ = (char)(hi << 4 | lo);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return 0;
}

static int parse_ul(const char *v, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;
	if (!*v || *v == '-' || *v == '+')
		return -EINVAL;
	errno = 0;
	unsigned long n = strtoul(v, &end, 0);
	if (errno || *end || n < lo || n > hi)
		return -EINVAL;
	*out = n;
	return 0;
}

/* The index of @v in the NULL-ended @names (each option's value is its
 * index), or -1. */
static int keyword(const char *v, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(v, names[i]))
			return i;
	return -1;
}

static int option(struct vz_rtp_opts *o, char *kv, struct vz_err *err)
{
	char *v = strchr(kv, '=');
	if (!v)
		return vz_err_set(err, -EINVAL, "rtp sink: '%s' is not KEY=VALUE; options: %s", kv,
		                  keys);
	*v++ = '\0';
	if (unescape(v) < 0)
		return vz_err_set(err, -EINVAL, "rtp sink: bad %%-escape in %s=%s", kv, v);
	unsigned long n = 0;
	int r = 0;
	if (!strcmp(kv, "mtu")) {
		r = parse_ul(v, VZ_RTP_MIN_MTU, VZ_RTP_MAX_MTU, &n);
		o->mtu = (unsigned)n;
	} else if (!strcmp(kv, "ttl")) {
		r = parse_ul(v, 0, 255, &n);
		o->ttl = (int)n;
	} else if (!strcmp(kv, "iface")) {
		if (!*v || strlen(v) >= 16) /* IFNAMSIZ */
			r = -EINVAL;
		snprintf(o->iface, sizeof(o->iface), "%s", v);
	} else if (!strcmp(kv, "pt")) {
		/* The dynamic range: raw video has no static payload type. */
		r = parse_ul(v, 96, 127, &n);
		o->pt = (uint8_t)n;
	} else if (!strcmp(kv, "ssrc")) {
		r = parse_ul(v, 0, UINT32_MAX, &n);
		o->ssrc = (uint32_t)n;
		o->have_ssrc = true;
	} else if (!strcmp(kv, "seq")) {
		r = parse_ul(v, 0, UINT32_MAX, &n);
		o->seq = (uint32_t)n;
		o->have_seq = true;
	} else if (!strcmp(kv, "zerocopy")) {
		o->zerocopy = keyword(v, (const char *const[]){"off", "auto", "on", NULL});
		if (o->zerocopy < 0)
			r = -EINVAL;
	} else if (!strcmp(kv, "gso")) {
		o->gso = keyword(v, (const char *const[]){"off", "auto", NULL});
		if (o->gso < 0)
			r = -EINVAL;
	} else if (!strcmp(kv, "batch")) {
		r = parse_ul(v, 1, 64, &n);
		o->batch = (unsigned)n;
	} else if (!strcmp(kv, "pace")) {
		/* In VZ_RTP_PACE_* order, as the others in theirs. */
		o->pace = keyword(v, (const char *const[]){"off", "linear", "gapped", NULL});
		if (o->pace < 0)
			r = -EINVAL;
	} else if (!strcmp(kv, "pacer")) {
		o->pacer = keyword(v, (const char *const[]){"auto", "txtime", "timer", NULL});
		if (o->pacer < 0)
			r = -EINVAL;
	} else if (!strcmp(kv, "burst")) {
		r = parse_ul(v, 1, 64, &n);
		o->burst = (unsigned)n;
	} else if (!strcmp(kv, "rtcp")) {
		if (!strcmp(v, "off")) {
			o->rtcp_port = -1;
		} else {
			r = parse_ul(v, 1, 65535, &n);
			o->rtcp_port = (int)n;
		}
	} else if (!strcmp(kv, "clock")) {
		o->clock = keyword(v, (const char *const[]){"realtime", "tai", NULL});
		if (o->clock < 0)
			r = -EINVAL;
	} else if (!strcmp(kv, "clock_offset")) {
		char *end;
		errno = 0;
		long long off = strtoll(v, &end, 10);
		/* A day either way: more is a unit mistake, not a clock. */
		if (!*v || *end || errno || off > 86400000000000LL || off < -86400000000000LL)
			r = -EINVAL;
		o->clock_offset_ns = off;
	} else if (!strcmp(kv, "sdp")) {
		if (!*v || strlen(v) >= sizeof(o->sdp))
			r = -EINVAL;
		snprintf(o->sdp, sizeof(o->sdp), "%s", v);
	} else {
		return vz_err_set(err, -EINVAL, "rtp sink: unknown option '%s'; options: %s", kv,
		                  keys);
	}
	if (r < 0)
		return vz_err_set(err, -EINVAL, "rtp sink: bad value '%s' for %s; options: %s", v,
		                  kv, keys);
	return 0;
}

int vz_rtp_parse(const char *uri, struct vz_rtp_opts *o, struct vz_err *err)
{
	static const char form[] = "rtp://HOST:PORT[?OPTION=VALUE&...] (IPv6: rtp://[ADDR]:PORT)";
	memset(o, 0, sizeof(*o));
	o->mtu = 1500;
	o->ttl = -1;
	o->pt = 96;
	o->zerocopy = 1;
	o->gso = 1;
	if (!uri || strncmp(uri, "rtp://", 6))
		return vz_err_set(err, -EINVAL, "rtp sink: expected %s", form);
	char buf[1024];
	if (strlen(uri) >= sizeof(buf))
		return vz_err_set(err, -EINVAL, "rtp sink: the URI is longer than %zu bytes",
		                  sizeof(buf) - 1);
	snprintf(buf, sizeof(buf), "%s", uri + 6);
	char *query = strchr(buf, '?');
	if (query)
		*query++ = '\0';
	char *host = buf, *port;
	if (*host == '[') {
		char *close = strchr(host, ']');
		if (!close || close[1] != ':')
			return vz_err_set(err, -EINVAL,
			                  "rtp sink: '%s': an IPv6 address goes in "
			                  "brackets with the port after them, %s",
			                  uri, form);
		*close = '\0';
		host++;
		port = close + 2;
	} else {
		port = strrchr(host, ':');
		if (!port || strchr(host, ':') != port)
			return vz_err_set(err, -EINVAL,
			                  "rtp sink: '%s' needs HOST:PORT (an IPv6 address goes in "
			                  "brackets); %s",
			                  uri, form);
		*port++ = '\0';
	}
	/* RFC 6874 writes an IPv6 zone as %25NAME in a URI. */
	char *zone = strstr(host, "%25");
	if (zone)
		memmove(zone + 1, zone + 3, strlen(zone + 3) + 1);
	unsigned long n;
	if (!*host || strlen(host) >= sizeof(o->host))
		return vz_err_set(err, -EINVAL, "rtp sink: '%s' has no host; %s", uri, form);
	if (parse_ul(port, 1, 65535, &n) < 0)
		return vz_err_set(err, -EINVAL, "rtp sink: port '%s' is not 1..65535; %s", port,
		                  form);
	snprintf(o->host, sizeof(o->host), "%.255s", host);
	o->port = (uint16_t)n;
	if (query) {
		for (char *save = NULL, *kv = strtok_r(query, "&", &save); kv;
		     kv = strtok_r(NULL, "&", &save)) {
			int r = option(o, kv, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* RFC 4175's colorimetry names; what V4L2 calls the same. */
static const char *colorimetry(const struct vz_format *f)
{
	uint32_t cs = f->colorspace ? f->colorspace : V4L2_COLORSPACE_SRGB;
	uint32_t enc = f->ycbcr_enc ? f->ycbcr_enc : V4L2_MAP_YCBCR_ENC_DEFAULT(cs);
	if (f->fourcc == V4L2_PIX_FMT_UYVY) {
		if (enc == V4L2_YCBCR_ENC_709 || enc == V4L2_YCBCR_ENC_XV709)
			return "BT709-2";
		if (enc == V4L2_YCBCR_ENC_SMPTE240M)
			return "SMPTE240M";
		return "BT601-5";
	}
	if (cs == V4L2_COLORSPACE_SMPTE240M)
		return "SMPTE240M";
	if (cs == V4L2_COLORSPACE_SMPTE170M || cs == V4L2_COLORSPACE_470_SYSTEM_M ||
	    cs == V4L2_COLORSPACE_470_SYSTEM_BG)
		return "BT601-5";
	return "BT709-2"; /* sRGB and Rec. 709 share primaries */
}

/* Appends to @out (of @len, @n used); false when it does not fit. */
static bool add(char *out, size_t len, int *n, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static bool add(char *out, size_t len, int *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(out + *n, len - (size_t)*n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)(*n + m) >= len)
		return false;
	*n += m;
	return true;
}

int vz_rtp_sdp(char *out, size_t len, const struct vz_rtp_opts *o, const struct vz_rtp_plan *p,
               const struct vz_format *fmt, bool ipv6, bool multicast, const char *source_addr)
{
	const char *ip = ipv6 ? "IP6" : "IP4";
	char conn[300];
	/* IPv4 multicast carries its TTL in c=; IPv6 has none there. */
	if (multicast && !ipv6)
		snprintf(conn, sizeof(conn), "%s/%d", o->host, o->ttl >= 0 ? o->ttl : 1);
	else
		snprintf(conn, sizeof(conn), "%s", o->host);
	int n = 0;
	if (!len)
		return -ENOSPC;
	out[0] = '\0';
	/* ST 2110-style, not ST 2110: the timestamps follow the capture clock
	 * (CLOCK_MONOTONIC), not PTP, and RTCP maps them to the wall clock. */
	if (!add(out, len, &n,
	         "v=0\r\n"
	         "o=- %u 1 IN %s %s\r\n"
	         "s=vzero\r\n"
	         "i=RFC 4175 raw video, ST 2110-style (timestamps from CLOCK_MONOTONIC, not "
	         "PTP)\r\n"
	         "c=IN %s %s\r\n"
	         "t=0 0\r\n"
	         "m=video %u RTP/AVP %u\r\n",
	         o->ssrc, ip, source_addr && *source_addr ? source_addr : o->host, ip, conn,
	         o->port, o->pt))
		return -ENOSPC;
	if (o->rtcp_port >= 0 && !add(out, len, &n, "a=rtcp:%u\r\n",
	                              o->rtcp_port ? (unsigned)o->rtcp_port : o->port + 1u))
		return -ENOSPC;
	if (!add(out, len, &n,
	         "a=rtpmap:%u raw/90000\r\n"
	         "a=fmtp:%u sampling=%s; width=%u; height=%u; depth=%u; colorimetry=%s",
	         o->pt, o->pt, p->sampling->name, p->width, p->height, p->sampling->depth,
	         colorimetry(fmt)))
		return -ENOSPC;
	bool rate = fmt->fps_num && fmt->fps_den;
	bool whole = rate && fmt->fps_num % fmt->fps_den == 0;
	if (whole && !add(out, len, &n, "; exactframerate=%u", fmt->fps_num / fmt->fps_den))
		return -ENOSPC;
	if (rate && !whole &&
	    !add(out, len, &n, "; exactframerate=%u/%u", fmt->fps_num, fmt->fps_den))
		return -ENOSPC;
	/* ST 2110-20's parameters for its own samplings only (BGR, BGRA and
	 * RGBA are RFC 4175's): general packing (lines share packets, the
	 * continuation bit), the sender type only where vzero paces (ST
	 * 2110-21 narrow), and MAXUDP past its standard 1460-byte limit. */
	bool st2110 =
	        !strcmp(p->sampling->name, "YCbCr-4:2:2") || !strcmp(p->sampling->name, "RGB");
	unsigned maxudp = 0;
	for (unsigned i = 0; i < p->npkts; i++)
		maxudp = p->pkt[i].size > maxudp ? p->pkt[i].size : maxudp;
	if (st2110 && !add(out, len, &n, "; TCS=SDR; PM=2110GPM; SSN=ST2110-20:2017%s",
	                   o->pace == VZ_RTP_PACE_LINEAR   ? "; TP=2110TPNL"
	                   : o->pace == VZ_RTP_PACE_GAPPED ? "; TP=2110TPN"
	                                                   : ""))
		return -ENOSPC;
	if (st2110 && maxudp > 1460 && !add(out, len, &n, "; MAXUDP=%u", maxudp))
		return -ENOSPC;
	if (!add(out, len, &n, "\r\n"))
		return -ENOSPC;
	if (rate && whole && !add(out, len, &n, "a=framerate:%u\r\n", fmt->fps_num / fmt->fps_den))
		return -ENOSPC;
	if (rate && !whole &&
	    !add(out, len, &n, "a=framerate:%.3f\r\n", (double)fmt->fps_num / fmt->fps_den))
		return -ENOSPC;
	/* RFC 7273: a clock of the sender's own, no shared reference. */
	if (!add(out, len, &n, "a=ts-refclk:local\r\na=mediaclk:sender\r\n"))
		return -ENOSPC;
	return n;
}

uint64_t vz_rtp_ntp(int64_t unix_ns)
{
	/* 70 years and 17 leap days from 1900 to 1970. */
	uint64_t sec = (uint64_t)(unix_ns / 1000000000) + 2208988800u;
	uint64_t frac = ((uint64_t)(unix_ns % 1000000000) << 32) / 1000000000u;
	return sec << 32 | frac;
}

int vz_rtcp_sr(uint8_t *out, size_t len, uint32_t ssrc, uint64_t ntp, uint32_t rtp_ts,
               uint32_t packets, uint32_t octets, const char *cname, bool bye)
{
	size_t cl = strlen(cname);
	if (cl > 255)
		cl = 255;
	/* SDES: the chunk's items end with a zero byte, padded to 32 bits. */
	size_t sdes = 4 + ((4 + 2 + cl + 1 + 3) & ~(size_t)3);
	size_t need = 28 + sdes + (bye ? 8 : 0);
	if (need > len)
		return -ENOSPC;
	memset(out, 0, need);
	out[0] = 0x80; /* V=2, no reception report: a sender only */
	out[1] = 200;
	vz_rtp_put16(out + 2, 28 / 4 - 1);
	vz_rtp_put32(out + 4, ssrc);
	vz_rtp_put32(out + 8, (uint32_t)(ntp >> 32));
	vz_rtp_put32(out + 12, (uint32_t)ntp);
	vz_rtp_put32(out + 16, rtp_ts);
	vz_rtp_put32(out + 20, packets);
	vz_rtp_put32(out + 24, octets);
	uint8_t *d = out + 28;
	d[0] = 0x81; /* one chunk */
	d[1] = 202;
	vz_rtp_put16(d + 2, (uint32_t)(sdes / 4 - 1));
	vz_rtp_put32(d + 4, ssrc);
	d[8] = 1; /* CNAME */
	d[9] = (uint8_t)cl;
	memcpy(d + 10, cname, cl);
	if (bye) {
		uint8_t *b = d + sdes;
		b[0] = 0x81;
		b[1] = 203;
		vz_rtp_put16(b + 2, 1);
		vz_rtp_put32(b + 4, ssrc);
	}
	return (int)need;
}
