/* SPDX-License-Identifier: MIT */
/*
 * vzero rtp-check's measurement core: how an RTP raw-video stream (RFC
 * 4175) arrives, from packets and their arrival times alone -- no sockets,
 * so the unit tests feed it synthetic packets with synthetic clocks.
 *
 * Sequence accounting uses the 32-bit extended sequence number (RFC 4175's
 * ESN << 16 | the RTP field): the 16-bit field wraps every ~22 frames at
 * 1080p60, too often to tell a wrap from a loss.  From a sender whose ESN
 * stays 0 (FFmpeg, rtpvrawpay), the 16 bits are extended as RFC 3550 does
 * (nearest the highest seen).  A packet above the next
 * expected one counts the ones skipped as lost; one below it is reordered
 * (and no longer lost) or, if it was already seen, a duplicate -- within a
 * window of the last VZ_RTPCHECK_WINDOW packets; older ones are too_old.
 *
 * Frames are the packets of one RTP timestamp, ended by the marker bit.
 * Measuring starts after the first marker, so the first frame measured is
 * whole.  Arrival statistics (inter-arrival gaps, bursts, spread) come from
 * packets in order only: a late packet says nothing about pacing.
 */
#ifndef VZ_RTPCHECK_STATS_H
#define VZ_RTPCHECK_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define VZ_RTPCHECK_WINDOW  1024     /* seqs remembered for duplicates */
#define VZ_RTPCHECK_MAX_SR  64       /* sender reports kept (the last ones) */
#define VZ_RTPCHECK_SAMPLES 20000000 /* inter-arrival gaps kept (160 MB) */

/* A growable array of samples with a cap. */
struct vz_rtpcheck_vec {
	double *v;
	size_t n, cap, limit;
	uint64_t dropped; /* samples past @limit, not kept */
};

struct vz_rtpcheck_frame {
	uint32_t rtp_ts;
	uint32_t packets;
	uint32_t lost;
	uint32_t bursts;
	bool complete;
	int64_t first_ns, last_ns;
};

struct vz_rtpcheck_sr {
	uint32_t ssrc;
	int64_t ntp_unix_ns;
	uint32_t ntp_sec, ntp_frac; /* as sent */
	uint32_t rtp_ts;
	uint32_t packet_count, octet_count;
	int64_t arrival_ns;
	char cname[256]; /* "" without an SDES CNAME in the compound */
};

struct vz_rtpcheck_config {
	bool ssrc_set; /* only @ssrc; otherwise lock on the first one seen */
	uint32_t ssrc;
	double burst_gap_us; /* closer than this: the same burst */
	bool keep_frames;    /* one vz_rtpcheck_frame per measured frame */
	size_t sample_limit; /* 0: VZ_RTPCHECK_SAMPLES */
};

/* Summaries computed by vz_rtpcheck_finish(); NAN where nothing was seen. */
struct vz_rtpcheck_dist {
	uint64_t count;
	double mean, std, min, p50, p90, p99, p999, max;
};

struct vz_rtpcheck {
	struct vz_rtpcheck_config cfg;

	/* RTP, counted from the start of measuring (after the first marker). */
	bool have_ssrc;
	uint32_t ssrc;
	uint8_t payload_type;
	/* packets: every measured one of the SSRC, late and duplicate ones
	 * too; bytes: their RTP payload (ESN and line headers included). */
	uint64_t packets, bytes;
	uint64_t lost, reordered, duplicates, too_old, seq_jumps;
	uint64_t malformed;          /* too short or not RTP version 2 */
	uint64_t other_ssrc_packets; /* not the locked/chosen SSRC */
	uint64_t before_start;       /* packets up to the first marker */
	uint64_t frames, frames_complete;
	uint64_t frame_packets; /* in-order packets of the measured frames */
	bool have_first_seq;
	uint32_t first_seq, last_seq; /* extended, of the measured packets */
	int64_t first_ns, last_ns;    /* arrival of the first/last measured */

	/* Filled in by the receiver (socket facts), printed in the report. */
	uint64_t socket_drops;        /* SO_RXQ_OVFL: dropped by the kernel */
	uint64_t software_timestamps; /* packets without a kernel timestamp */

	/* RTCP */
	uint64_t rtcp_packets; /* compound packets */
	uint64_t sr_count, rtcp_other, rtcp_malformed;
	bool bye;
	char cname[256];
	struct vz_rtpcheck_sr sr[VZ_RTPCHECK_MAX_SR]; /* ring, sr_count % MAX */

	/* Internal state. */
	bool started, seq_init, in_frame, prev_frame;
	uint32_t highest; /* highest extended seq seen (in order) */
	bool esn_nonzero; /* the sender fills RFC 4175's ESN (else: extend here) */
	uint64_t seen[VZ_RTPCHECK_WINDOW / 64];
	bool last_marker; /* the highest packet had the marker bit */
	struct vz_rtpcheck_frame cur;
	int64_t prev_first_ns, prev_last_ns, last_arrival_ns;
	uint32_t burst_len;
	uint64_t bursts_total;
	double interval_sum_ms;
	uint64_t interval_n;
	struct vz_rtpcheck_vec gaps, frame_gaps, bursts, spreads;
	struct vz_rtpcheck_frame *frame_list;
	size_t nframe_list, frame_list_cap;
	bool oom; /* a sample or frame could not be stored */

	/* Results (vz_rtpcheck_finish). */
	struct vz_rtpcheck_dist inter_arrival_us, frame_gap_us, burst_len_dist, spread_ms;
	double frame_interval_ms, spread_ratio_p50, bursts_per_frame, packets_per_frame;
};

/* What the JSON/text report adds about the run itself. */
struct vz_rtpcheck_run {
	const char *source;  /* the rtp:// URI */
	int rtcp_port;       /* -1: off */
	const char *stopped; /* "frames", "duration", "signal" */
	double seconds;      /* the run's wall time */
};

void vz_rtpcheck_init(struct vz_rtpcheck *c, const struct vz_rtpcheck_config *cfg);
void vz_rtpcheck_free(struct vz_rtpcheck *c);

/* One RTP datagram that arrived at @arrival_ns (CLOCK_REALTIME). */
void vz_rtpcheck_rtp(struct vz_rtpcheck *c, const uint8_t *pkt, size_t len, int64_t arrival_ns);
/* One RTCP compound datagram. */
void vz_rtpcheck_rtcp(struct vz_rtpcheck *c, const uint8_t *pkt, size_t len, int64_t arrival_ns);

/* RFC 3550 NTP timestamp (seconds since 1900 and 2^-32 fractions) to Unix
 * nanoseconds; seconds below 2^31 are read as the era after 2036. */
int64_t vz_rtpcheck_ntp_to_unix_ns(uint32_t sec, uint32_t frac);

/* Closes nothing (an open frame without its marker is not counted) and
 * computes the summaries.  Sorts the samples: call once, at the end. */
void vz_rtpcheck_finish(struct vz_rtpcheck *c);
/* The last sender report, NULL if none. */
const struct vz_rtpcheck_sr *vz_rtpcheck_last_sr(const struct vz_rtpcheck *c);

void vz_rtpcheck_json(FILE *out, const struct vz_rtpcheck *c, const struct vz_rtpcheck_run *run);
void vz_rtpcheck_text(FILE *out, const struct vz_rtpcheck *c, const struct vz_rtpcheck_run *run);

#endif
