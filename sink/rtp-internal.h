/* SPDX-License-Identifier: MIT */
/*
 * Private to the RTP sink: the parts that need no socket, so unit tests
 * drive them directly -- the URI, the RFC 4175 packet plan of a frame
 * format, the headers, the SDP.
 *
 * The packet plan.  UDP GSO sends a batch of datagrams as one buffer cut
 * into equal segments (only the last may be shorter), so vzero plans packets
 * whose sizes repeat: a line that fits a packet shares it with whole
 * neighbouring lines (k lines per packet, one segment header each, the
 * continuation bit on all but the last); a longer line is cut into n equal
 * runs of pixel groups (the last run of a line takes the remainder).  A
 * packet never splits a pixel group, and its payload is always whole runs
 * of frame memory: no byte of the picture is ever copied into a packet.
 */
#ifndef VZ_SINK_RTP_INTERNAL_H
#define VZ_SINK_RTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "errors.h"
#include "format.h"

#define VZ_RTP_HDR       12 /* fixed RTP header, no CSRC, no extension */
#define VZ_RTP_ESN       2  /* RFC 4175 extended sequence number */
#define VZ_RTP_SEG_HDR   6  /* length, F + line, C + offset */
#define VZ_RTP_MAX_LINES 64 /* lines sharing one packet, at most */
#define VZ_RTP_MIN_MTU   576
#define VZ_RTP_MAX_MTU   9000

/* Network byte order into a packet being built. */
static inline void vz_rtp_put16(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline void vz_rtp_put32(uint8_t *b, uint32_t v)
{
	vz_rtp_put16(b, v >> 16);
	vz_rtp_put16(b + 2, v);
}

/* What `--sink rtp://...` asked for. */
struct vz_rtp_opts {
	char host[256];
	uint16_t port;
	unsigned mtu;   /* IP packet size; default 1500 */
	int ttl;        /* -1: the kernel's default (multicast: 1) */
	char iface[32]; /* egress interface ("" the route's) */
	uint8_t pt;     /* payload type, 96..127 */
	bool have_ssrc;
	uint32_t ssrc; /* random unless given */
	bool have_seq;
	uint32_t seq;   /* first extended sequence number (random unless given) */
	int zerocopy;   /* 1 auto (default: stops where the kernel copies anyway), 2 on, 0 off */
	int gso;        /* 1 auto (default), 0 off */
	unsigned batch; /* packets per send; 0: the most the path takes */
	char sdp[256];  /* write the session description here at start */
	/* Pacing (ST 2110-21 style): off sends a frame back to back; linear
	 * spreads its packets evenly over the frame interval; gapped over the
	 * interval's active part only (ST 2110-21's RACTIVE). */
	int pace;       /* VZ_RTP_PACE_* */
	int pacer;      /* VZ_RTP_PACER_*: who keeps the launch times */
	unsigned burst; /* packets leaving back to back at most; 0: 4 when paced */
	/* RTCP sender reports: -1 off, 0 the RTP port + 1 (RFC 3550) */
	int rtcp_port;
	int clock;               /* VZ_RTP_CLOCK_*: the wall clock of the reports */
	int64_t clock_offset_ns; /* added to it (e.g. PTP time - CLOCK_REALTIME) */
};

enum { VZ_RTP_PACE_OFF, VZ_RTP_PACE_LINEAR, VZ_RTP_PACE_GAPPED };
enum { VZ_RTP_PACER_AUTO, VZ_RTP_PACER_TXTIME, VZ_RTP_PACER_TIMER };
enum { VZ_RTP_CLOCK_REALTIME, VZ_RTP_CLOCK_TAI };

/* Parses "rtp://HOST:PORT[?K=V&...]" (IPv6 as [ADDR]:PORT).  -EINVAL with
 * the offending part named and the options listed. */
int vz_rtp_parse(const char *uri, struct vz_rtp_opts *o, struct vz_err *err);

/* RFC 4175 sampling name of a V4L2 fourcc and its pixel group, or NULL
 * with *why saying which capture format to use instead. */
struct vz_rtp_sampling {
	const char *name;   /* "YCbCr-4:2:2", "RGB", "BGRA" ... */
	unsigned pg_bytes;  /* bytes per pixel group */
	unsigned pg_pixels; /* pixels per pixel group */
	unsigned depth;     /* bits per sample */
	const char *note;   /* how the format maps, for the report ("" none) */
};
const struct vz_rtp_sampling *vz_rtp_sampling_of(uint32_t fourcc, const char **why);

/* One run of frame memory in a packet. */
struct vz_rtp_seg {
	uint32_t src;    /* byte offset of the run from the picture's first line */
	uint16_t len;    /* bytes */
	uint16_t line;   /* line number */
	uint16_t offset; /* pixel offset in the line */
};

struct vz_rtp_pkt {
	uint32_t first_seg;
	uint16_t nseg;
	uint16_t size;     /* RTP packet bytes: headers + payload */
	uint16_t hdr_size; /* 12 + 2 + 6 * nseg */
};

struct vz_rtp_plan {
	const struct vz_rtp_sampling *sampling;
	uint32_t width, height;
	uint32_t line_bytes; /* picture bytes per line */
	uint32_t stride;     /* memory bytes per line */
	unsigned max_packet; /* RTP packet bytes the MTU allows */
	unsigned npkts, nsegs;
	unsigned lines_per_pkt; /* > 1: short lines share packets */
	unsigned runs_per_line; /* > 1: long lines span packets */
	unsigned max_hdr;       /* largest hdr_size */
	uint64_t payload_bytes; /* picture bytes per frame */
	struct vz_rtp_pkt *pkt;
	struct vz_rtp_seg *seg;
};

/* Plans @fmt's packets for IP packets of @mtu bytes (IPv6: @ipv6 adds its
 * larger header).  -EINVAL when the format cannot go without a copy (the
 * message names the format to capture instead). */
int vz_rtp_plan_build(struct vz_rtp_plan *p, const struct vz_format *fmt, unsigned mtu, bool ipv6,
                      struct vz_err *err);
void vz_rtp_plan_free(struct vz_rtp_plan *p); /* NULL-safe, idempotent */

/* Writes packet @i's headers into @out (>= pkt->hdr_size bytes). */
void vz_rtp_write_header(uint8_t *out, const struct vz_rtp_plan *p, unsigned i, uint32_t ext_seq,
                         uint32_t ts, uint32_t ssrc, uint8_t pt, bool marker);

/* The 90 kHz RTP clock of a CLOCK_MONOTONIC time, plus @offset. */
uint32_t vz_rtp_ts90k(int64_t t_ns, uint32_t offset);

/* Page fragments the kernel builds for @iov (each element not adjacent to
 * the previous one starts a new fragment; each page it crosses adds one).
 * A zero-copy send holds at most MAX_SKB_FRAGS of them. */
unsigned vz_rtp_frags(const struct iovec *iov, unsigned n, unsigned page_size);

/* Pacing.  A frame's packets leave at launch times spread over @span_ns
 * from @t0 (CLOCK_MONOTONIC): evenly for linear, over the active part of
 * the span for gapped.  Packet @i's launch time: */
struct vz_rtp_pace {
	int mode; /* VZ_RTP_PACE_* */
	int64_t t0, span_ns;
	unsigned npkts;
	uint32_t height; /* for gapped: the active fraction of the interval */
};
int64_t vz_rtp_launch(const struct vz_rtp_pace *pc, unsigned i);

/* ST 2110-21's RACTIVE: the part of a frame interval that carries active
 * lines (1080/1125 for 1080-line video, 720/750, 486 or 480/525,
 * 576/625; otherwise 1080/1125's ratio), as numerator/denominator. */
void vz_rtp_active(uint32_t height, uint32_t *num, uint32_t *den);

/* The root qdisc of network interface @ifindex ("fq", "fq_codel",
 * "noqueue" ...) into @kind, and whether SO_TXTIME launch times hold on it:
 * fq at the root, or mq/mqprio with fq under every queue.  Negative errno
 * when netlink cannot say. */
int vz_rtp_qdisc(unsigned ifindex, char *kind, size_t len, bool *txtime);

/* The interface the kernel's route to @to leaves by (a destination on this
 * host leaves by lo, whichever interface holds its address).  Negative
 * errno when netlink cannot say. */
struct sockaddr;
int vz_rtp_route_dev(const struct sockaddr *to, unsigned *ifindex);

/* RFC 3550 NTP format (seconds since 1900 . 2^-32) of Unix time in ns. */
uint64_t vz_rtp_ntp(int64_t unix_ns);

/* An RTCP compound packet: a sender report mapping @ntp to @rtp_ts, an SDES
 * with @cname, and a BYE when @bye.  Returns its length, or -ENOSPC. */
int vz_rtcp_sr(uint8_t *out, size_t len, uint32_t ssrc, uint64_t ntp, uint32_t rtp_ts,
               uint32_t packets, uint32_t octets, const char *cname, bool bye);

/* The session description for @p's stream to @o's destination: what
 * GStreamer's rtpvrawdepay (through sdpdemux or caps) and FFmpeg take,
 * with ST 2110-20's format parameters where they apply and the RTCP port
 * (RFC 3605).
 * Returns the length, or -ENOSPC. */
int vz_rtp_sdp(char *out, size_t len, const struct vz_rtp_opts *o, const struct vz_rtp_plan *p,
               const struct vz_format *fmt, bool ipv6, bool multicast, const char *source_addr);

#endif
