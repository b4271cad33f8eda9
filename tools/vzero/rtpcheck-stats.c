/* SPDX-License-Identifier: MIT */
/* vzero rtp-check: packet accounting and arrival statistics (no sockets). */
#include "rtpcheck-stats.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "stats.h"

/* A forward step this large is a sender that restarted (or another stream
 * on the same SSRC), not a loss: resynchronise instead of counting ~2^31
 * packets lost.  2^20 packets is seconds of 4K video. */
#define SEQ_JUMP (1u << 20)

enum seq_class { SEQ_NEXT, SEQ_JUMPED, SEQ_LATE, SEQ_DUP, SEQ_TOO_OLD };

static uint16_t be16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void vec_push(struct vz_rtpcheck *c, struct vz_rtpcheck_vec *v, double x)
{
	if (v->n == v->limit) {
		v->dropped++;
		return;
	}
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 4096;
		if (cap > v->limit)
			cap = v->limit;
		double *nv = realloc(v->v, cap * sizeof(*nv));
		if (!nv) {
			/* Keep measuring with what we have: the report says
			 * samples were left out rather than failing a long run
			 * at its end. */
			c->oom = true;
			v->dropped++;
			return;
		}
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = x;
}

void vz_rtpcheck_init(struct vz_rtpcheck *c, const struct vz_rtpcheck_config *cfg)
{
	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	if (c->cfg.burst_gap_us <= 0)
		c->cfg.burst_gap_us = 20;
	size_t limit = cfg->sample_limit ? cfg->sample_limit : VZ_RTPCHECK_SAMPLES;
	c->gaps.limit = limit;
	/* One sample per frame or burst: far fewer than packets. */
	c->frame_gaps.limit = limit;
	c->bursts.limit = limit;
	c->spreads.limit = limit;
}

void vz_rtpcheck_free(struct vz_rtpcheck *c)
{
	free(c->gaps.v);
	free(c->frame_gaps.v);
	free(c->bursts.v);
	free(c->spreads.v);
	free(c->frame_list);
	c->gaps.v = c->frame_gaps.v = c->bursts.v = c->spreads.v = NULL;
	c->frame_list = NULL;
}

static bool seen_get(const struct vz_rtpcheck *c, uint32_t seq)
{
	uint32_t i = seq % VZ_RTPCHECK_WINDOW;
	return c->seen[i / 64] >> (i % 64) & 1;
}

static void seen_put(struct vz_rtpcheck *c, uint32_t seq, bool on)
{
	uint32_t i = seq % VZ_RTPCHECK_WINDOW;
	if (on)
		c->seen[i / 64] |= UINT64_C(1) << (i % 64);
	else
		c->seen[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

static enum seq_class seq_classify(struct vz_rtpcheck *c, uint32_t ext, uint32_t *skipped)
{
	*skipped = 0;
	uint32_t ahead = ext - (c->highest + 1); /* mod 2^32 */
	if (ahead < 0x80000000u) {
		if (ahead >= SEQ_JUMP) {
			memset(c->seen, 0, sizeof(c->seen));
			c->highest = ext;
			seen_put(c, ext, true);
			return SEQ_JUMPED;
		}
		/* The window's slots for the seqs skipped now stand for
		 * those seqs, not for ones a window older. */
		uint32_t steps = ahead + 1 < VZ_RTPCHECK_WINDOW ? ahead + 1 : VZ_RTPCHECK_WINDOW;
		for (uint32_t i = 0; i < steps; i++)
			seen_put(c, c->highest + 1 + i, false);
		seen_put(c, ext, true);
		c->highest = ext;
		*skipped = ahead;
		return SEQ_NEXT;
	}
	uint32_t back = c->highest - ext;
	if (back >= SEQ_JUMP) {
		memset(c->seen, 0, sizeof(c->seen));
		c->highest = ext;
		seen_put(c, ext, true);
		return SEQ_JUMPED;
	}
	if (back >= VZ_RTPCHECK_WINDOW)
		return SEQ_TOO_OLD;
	if (seen_get(c, ext))
		return SEQ_DUP;
	seen_put(c, ext, true);
	return SEQ_LATE;
}

static void frames_append(struct vz_rtpcheck *c, const struct vz_rtpcheck_frame *f)
{
	if (c->nframe_list == c->frame_list_cap) {
		size_t cap = c->frame_list_cap ? c->frame_list_cap * 2 : 256;
		struct vz_rtpcheck_frame *nl = realloc(c->frame_list, cap * sizeof(*nl));
		if (!nl) {
			c->oom = true;
			return;
		}
		c->frame_list = nl;
		c->frame_list_cap = cap;
	}
	c->frame_list[c->nframe_list++] = *f;
}

static void frame_close(struct vz_rtpcheck *c, bool marker)
{
	struct vz_rtpcheck_frame *f = &c->cur;
	vec_push(c, &c->bursts, c->burst_len);
	f->bursts++;
	if (!marker)
		f->complete = false;
	c->frames++;
	if (f->complete)
		c->frames_complete++;
	c->frame_packets += f->packets;
	vec_push(c, &c->spreads, (double)(f->last_ns - f->first_ns) / 1e6);
	c->prev_first_ns = f->first_ns;
	c->prev_last_ns = f->last_ns;
	c->prev_frame = true;
	c->in_frame = false;
	if (c->cfg.keep_frames)
		frames_append(c, f);
}

/* An in-order packet of the measured stream: frame and burst bookkeeping. */
static void frame_packet(struct vz_rtpcheck *c, uint32_t ts, bool marker, int64_t t,
                         uint32_t skipped, bool gap)
{
	if (c->in_frame && ts != c->cur.rtp_ts)
		frame_close(c, false); /* its marker never came */
	if (!c->in_frame) {
		c->cur = (struct vz_rtpcheck_frame){
		        .rtp_ts = ts,
		        .packets = 1,
		        .lost = skipped,
		        .complete = !gap && c->last_marker,
		        .first_ns = t,
		        .last_ns = t,
		};
		c->in_frame = true;
		c->burst_len = 1;
		if (c->prev_frame) {
			vec_push(c, &c->frame_gaps, (double)(t - c->prev_last_ns) / 1e3);
			c->interval_sum_ms += (double)(t - c->prev_first_ns) / 1e6;
			c->interval_n++;
		}
	} else {
		struct vz_rtpcheck_frame *f = &c->cur;
		double g = (double)(t - f->last_ns) / 1e3;
		f->packets++;
		f->lost += skipped;
		if (gap)
			f->complete = false;
		vec_push(c, &c->gaps, g);
		if (g < c->cfg.burst_gap_us) {
			c->burst_len++;
		} else {
			vec_push(c, &c->bursts, c->burst_len);
			f->bursts++;
			c->burst_len = 1;
		}
		f->last_ns = t;
	}
	c->last_marker = marker;
	if (marker)
		frame_close(c, true);
}

void vz_rtpcheck_rtp(struct vz_rtpcheck *c, const uint8_t *pkt, size_t len, int64_t t)
{
	/* RTCP multiplexed on the RTP port (RFC 5761): PT 192..223 with the
	 * marker bit set is never RTP video. */
	if (len >= 2 && pkt[1] >= 192 && pkt[1] <= 223) {
		vz_rtpcheck_rtcp(c, pkt, len, t);
		return;
	}
	if (len < 12 || pkt[0] >> 6 != 2) {
		c->malformed++;
		return;
	}
	unsigned cc = pkt[0] & 0x0f;
	bool marker = pkt[1] & 0x80;
	uint8_t pt = pkt[1] & 0x7f;
	uint16_t seq16 = be16(pkt + 2);
	uint32_t ts = be32(pkt + 4), ssrc = be32(pkt + 8);
	size_t off = 12 + 4 * (size_t)cc, end = len;
	if (off > len) {
		c->malformed++;
		return;
	}
	if (pkt[0] & 0x10) {
		if (off + 4 > len) {
			c->malformed++;
			return;
		}
		off += 4 + 4 * (size_t)be16(pkt + off + 2);
	}
	if (pkt[0] & 0x20) {
		uint8_t pad = pkt[len - 1];
		if (pad == 0 || off > end || pad > end - off) {
			c->malformed++;
			return;
		}
		end -= pad;
	}
	/* RFC 4175's extended sequence number must follow the header. */
	if (off > end || end - off < 2) {
		c->malformed++;
		return;
	}
	uint32_t esn = be16(pkt + off);
	uint32_t ext = esn << 16 | seq16;
	/* Senders that leave the ESN at 0 (FFmpeg, GStreamer's rtpvrawpay):
	 * extended here as RFC 3550 does, the 16 bits nearest the highest. */
	if (esn)
		c->esn_nonzero = true;
	if (!c->esn_nonzero && c->seq_init)
		ext = c->highest +
		      (uint32_t)(int32_t)(int16_t)(uint16_t)(seq16 - (c->highest & 0xffff));

	if (c->cfg.ssrc_set ? ssrc != c->cfg.ssrc : c->have_ssrc && ssrc != c->ssrc) {
		c->other_ssrc_packets++;
		return;
	}
	if (!c->have_ssrc) {
		c->have_ssrc = true;
		c->ssrc = ssrc;
		c->payload_type = pt;
	}

	if (!c->seq_init) {
		c->seq_init = true;
		c->highest = ext;
		seen_put(c, ext, true);
		c->before_start++;
		c->last_marker = marker;
		c->started = marker;
		return;
	}
	uint32_t skipped;
	enum seq_class k = seq_classify(c, ext, &skipped);
	if (!c->started) {
		/* Only the order matters until the first marker: it says
		 * where a whole frame begins. */
		c->before_start++;
		if (k == SEQ_NEXT || k == SEQ_JUMPED) {
			c->last_marker = marker;
			c->started = marker;
		}
		return;
	}

	if (c->packets == 0)
		c->first_ns = t;
	c->packets++;
	c->bytes += end - off;
	if (t > c->last_ns)
		c->last_ns = t;
	switch (k) {
	case SEQ_DUP:
		c->duplicates++;
		return;
	case SEQ_TOO_OLD:
		c->too_old++;
		return;
	case SEQ_LATE:
		/* Counted lost when it was skipped; it was only late. */
		c->reordered++;
		if (c->lost)
			c->lost--;
		if (c->in_frame && ts == c->cur.rtp_ts) {
			c->cur.packets++;
			if (c->cur.lost)
				c->cur.lost--;
		}
		return;
	case SEQ_JUMPED:
		c->seq_jumps++;
		break;
	case SEQ_NEXT:
		c->lost += skipped;
		break;
	}
	if (!c->have_first_seq) {
		c->have_first_seq = true;
		c->first_seq = ext;
	}
	c->last_seq = ext;
	frame_packet(c, ts, marker, t, skipped, k == SEQ_JUMPED || skipped > 0);
}

int64_t vz_rtpcheck_ntp_to_unix_ns(uint32_t sec, uint32_t frac)
{
	/* 2208988800 s from 1900 to 1970; NTP era 1 starts in 2036. */
	int64_t s = (int64_t)sec - INT64_C(2208988800);
	if (sec < 0x80000000u)
		s += INT64_C(4294967296);
	return s * INT64_C(1000000000) + (int64_t)(((uint64_t)frac * 1000000000u) >> 32);
}

/* SDES chunks: the CNAME (item 1) of the first chunk that has one. */
static bool parse_sdes(const uint8_t *p, size_t len, unsigned count, char *cname, size_t cap)
{
	size_t off = 0;
	for (unsigned i = 0; i < count; i++) {
		if (len - off < 4)
			return false;
		off += 4; /* SSRC/CSRC */
		for (;;) {
			if (off >= len)
				return false;
			uint8_t type = p[off];
			if (type == 0) {
				/* The list ends with a null item, padded to
				 * the next 32-bit boundary. */
				off = (off + 4) & ~(size_t)3;
				break;
			}
			if (len - off < 2 || len - off - 2 < p[off + 1])
				return false;
			size_t n = p[off + 1];
			if (type == 1 && !cname[0]) {
				if (n >= cap)
					n = cap - 1;
				memcpy(cname, p + off + 2, n);
				cname[n] = '\0';
			}
			off += 2 + (size_t)p[off + 1];
		}
	}
	return true;
}

void vz_rtpcheck_rtcp(struct vz_rtpcheck *c, const uint8_t *pkt, size_t len, int64_t t)
{
	char cname[sizeof(c->cname)] = "";
	uint64_t sr_first = c->sr_count;
	bool bad = false;
	size_t off = 0;

	c->rtcp_packets++;
	if (len < 4)
		bad = true;
	while (!bad && off < len) {
		if (len - off < 4 || pkt[off] >> 6 != 2) {
			bad = true;
			break;
		}
		unsigned count = pkt[off] & 0x1f;
		uint8_t pt = pkt[off + 1];
		size_t plen = ((size_t)be16(pkt + off + 2) + 1) * 4;
		if (plen > len - off) {
			bad = true;
			break;
		}
		size_t body = plen;
		if (pkt[off] & 0x20) {
			uint8_t pad = pkt[off + plen - 1];
			if (pad == 0 || pad > plen - 4) {
				bad = true;
				break;
			}
			body -= pad;
		}
		const uint8_t *p = pkt + off;
		if (pt == 200) {
			if (body < 28) {
				bad = true;
				break;
			}
			/* Another stream's reports would map the wrong clock. */
			uint32_t sr_ssrc = be32(p + 4);
			if (c->cfg.ssrc_set ? sr_ssrc != c->cfg.ssrc
			                    : c->have_ssrc && sr_ssrc != c->ssrc) {
				c->rtcp_other++;
				off += plen;
				continue;
			}
			struct vz_rtpcheck_sr *sr = &c->sr[c->sr_count % VZ_RTPCHECK_MAX_SR];
			*sr = (struct vz_rtpcheck_sr){
			        .ssrc = be32(p + 4),
			        .ntp_sec = be32(p + 8),
			        .ntp_frac = be32(p + 12),
			        .rtp_ts = be32(p + 16),
			        .packet_count = be32(p + 20),
			        .octet_count = be32(p + 24),
			        .arrival_ns = t,
			};
			sr->ntp_unix_ns = vz_rtpcheck_ntp_to_unix_ns(sr->ntp_sec, sr->ntp_frac);
			c->sr_count++;
		} else {
			c->rtcp_other++;
			if (pt == 202 &&
			    !parse_sdes(p + 4, body - 4, count, cname, sizeof(cname))) {
				bad = true;
				break;
			}
			if (pt == 203)
				c->bye = true;
		}
		off += plen;
	}
	if (bad)
		c->rtcp_malformed++;
	if (cname[0]) {
		memcpy(c->cname, cname, sizeof(cname));
		/* Ring slots of this compound's SRs (at most the ring). */
		for (uint64_t i = sr_first; i < c->sr_count; i++)
			memcpy(c->sr[i % VZ_RTPCHECK_MAX_SR].cname, cname, sizeof(cname));
	}
}

const struct vz_rtpcheck_sr *vz_rtpcheck_last_sr(const struct vz_rtpcheck *c)
{
	return c->sr_count ? &c->sr[(c->sr_count - 1) % VZ_RTPCHECK_MAX_SR] : NULL;
}

static void dist_of(struct vz_rtpcheck_vec *v, struct vz_rtpcheck_dist *d)
{
	if (v->n == 0) {
		*d = (struct vz_rtpcheck_dist){
		        .mean = NAN,
		        .std = NAN,
		        .min = NAN,
		        .p50 = NAN,
		        .p90 = NAN,
		        .p99 = NAN,
		        .p999 = NAN,
		        .max = NAN,
		};
		return;
	}
	struct vz_summary s;
	vz_summarize(v->v, v->n, v->v, &s); /* sorts in place */
	*d = (struct vz_rtpcheck_dist){
	        .count = s.n,
	        .mean = s.mean,
	        .std = s.std,
	        .min = s.min,
	        .p50 = s.p50,
	        .p90 = vz_percentile_sorted(v->v, v->n, 90),
	        .p99 = s.p99,
	        .p999 = s.p999,
	        .max = s.max,
	};
}

void vz_rtpcheck_finish(struct vz_rtpcheck *c)
{
	dist_of(&c->gaps, &c->inter_arrival_us);
	dist_of(&c->frame_gaps, &c->frame_gap_us);
	dist_of(&c->bursts, &c->burst_len_dist);
	dist_of(&c->spreads, &c->spread_ms);
	c->frame_interval_ms = c->interval_n ? c->interval_sum_ms / (double)c->interval_n : NAN;
	c->spread_ratio_p50 = c->spread_ms.p50 / c->frame_interval_ms;
	c->bursts_per_frame = c->frames ? (double)c->burst_len_dist.count / (double)c->frames : NAN;
	c->packets_per_frame = c->frames ? (double)c->frame_packets / (double)c->frames : NAN;
}

static void json_dist(FILE *out, const struct vz_rtpcheck_dist *d, bool full)
{
	fprintf(out, "{\"count\":%" PRIu64, d->count);
	const double v[] = {d->p50, d->max, d->min, d->mean, d->std, d->p90, d->p99, d->p999};
	static const char *const k[] = {"p50", "max", "min", "mean", "std", "p90", "p99", "p99_9"};
	for (size_t i = 0; i < (full ? 8u : 3u); i++) {
		fprintf(out, ",\"%s\":", k[i]);
		vz_json_num(out, v[i]);
	}
	fputc('}', out);
}

static void json_u64_or_null(FILE *out, bool have, uint64_t v)
{
	if (have)
		fprintf(out, "%" PRIu64, v);
	else
		fputs("null", out);
}

void vz_rtpcheck_json(FILE *out, const struct vz_rtpcheck *c, const struct vz_rtpcheck_run *run)
{
	fputs("{\"source\":", out);
	vz_json_str(out, run ? run->source : NULL);
	fputs(",\"rtcp_port\":", out);
	json_u64_or_null(out, run && run->rtcp_port >= 0, run ? (uint64_t)run->rtcp_port : 0);
	fputs(",\"stopped\":", out);
	vz_json_str(out, run ? run->stopped : NULL);
	fputs(",\"seconds\":", out);
	vz_json_num(out, run ? run->seconds : NAN);
	fputs(",\"ssrc\":", out);
	json_u64_or_null(out, c->have_ssrc, c->ssrc);
	fputs(",\"payload_type\":", out);
	json_u64_or_null(out, c->have_ssrc, c->payload_type);
	fprintf(out,
	        ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"frames\":%" PRIu64
	        ",\"frames_complete\":%" PRIu64 ",\"lost_packets\":%" PRIu64
	        ",\"reordered\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"too_old\":%" PRIu64
	        ",\"seq_jumps\":%" PRIu64 ",\"malformed\":%" PRIu64
	        ",\"other_ssrc_packets\":%" PRIu64 ",\"before_start_packets\":%" PRIu64
	        ",\"socket_drops\":%" PRIu64 ",\"software_timestamps\":%" PRIu64,
	        c->packets, c->bytes, c->frames, c->frames_complete, c->lost, c->reordered,
	        c->duplicates, c->too_old, c->seq_jumps, c->malformed, c->other_ssrc_packets,
	        c->before_start, c->socket_drops, c->software_timestamps);
	fputs(",\"first_seq\":", out);
	json_u64_or_null(out, c->have_first_seq, c->first_seq);
	fputs(",\"last_seq\":", out);
	json_u64_or_null(out, c->have_first_seq, c->last_seq);
	fputs(",\"packets_per_frame\":", out);
	vz_json_num(out, c->packets_per_frame);
	fputs(",\"burst_gap_us\":", out);
	vz_json_num(out, c->cfg.burst_gap_us);
	fputs(",\"inter_arrival_us\":", out);
	json_dist(out, &c->inter_arrival_us, true);
	fprintf(out, ",\"inter_arrival_samples_dropped\":%" PRIu64, c->gaps.dropped);
	fputs(",\"frame_gap_us\":", out);
	json_dist(out, &c->frame_gap_us, false);
	fputs(",\"bursts\":", out);
	json_dist(out, &c->burst_len_dist, true);
	fputs(",\"bursts_per_frame\":", out);
	vz_json_num(out, c->bursts_per_frame);
	fputs(",\"frame_spread_ms\":", out);
	json_dist(out, &c->spread_ms, false);
	fputs(",\"frame_interval_ms\":", out);
	vz_json_num(out, c->frame_interval_ms);
	fputs(",\"spread_ratio_p50\":", out);
	vz_json_num(out, c->spread_ratio_p50);

	fprintf(out,
	        ",\"rtcp\":{\"packets\":%" PRIu64 ",\"sr_count\":%" PRIu64
	        ",\"other_packets\":%" PRIu64 ",\"malformed\":%" PRIu64 ",\"bye\":%s,\"cname\":",
	        c->rtcp_packets, c->sr_count, c->rtcp_other, c->rtcp_malformed,
	        c->bye ? "true" : "false");
	vz_json_str(out, c->cname[0] ? c->cname : NULL);
	fputs(",\"sender_reports\":[", out);
	uint64_t nsr = c->sr_count < VZ_RTPCHECK_MAX_SR ? c->sr_count : VZ_RTPCHECK_MAX_SR;
	for (uint64_t i = c->sr_count - nsr; i < c->sr_count; i++) {
		const struct vz_rtpcheck_sr *sr = &c->sr[i % VZ_RTPCHECK_MAX_SR];
		fprintf(out,
		        "%s{\"ssrc\":%" PRIu32 ",\"ntp_unix_ns\":%" PRId64 ",\"rtp_ts\":%" PRIu32
		        ",\"packet_count\":%" PRIu32 ",\"octet_count\":%" PRIu32
		        ",\"arrival_ns\":%" PRId64 ",\"cname\":",
		        i + nsr == c->sr_count ? "" : ",", sr->ssrc, sr->ntp_unix_ns, sr->rtp_ts,
		        sr->packet_count, sr->octet_count, sr->arrival_ns);
		vz_json_str(out, sr->cname[0] ? sr->cname : NULL);
		fputc('}', out);
	}
	fputs("]}", out);

	if (c->cfg.keep_frames) {
		fputs(",\"frames_detail_dropped\":", out);
		fprintf(out, "%" PRIu64, c->frames - c->nframe_list);
		fputs(",\"frames_detail\":[", out);
		for (size_t i = 0; i < c->nframe_list; i++) {
			const struct vz_rtpcheck_frame *f = &c->frame_list[i];
			fprintf(out,
			        "%s{\"rtp_ts\":%" PRIu32 ",\"packets\":%" PRIu32
			        ",\"complete\":%s,\"first_ns\":%" PRId64 ",\"last_ns\":%" PRId64
			        ",\"lost\":%" PRIu32 ",\"bursts\":%" PRIu32 "}",
			        i ? "," : "", f->rtp_ts, f->packets, f->complete ? "true" : "false",
			        f->first_ns, f->last_ns, f->lost, f->bursts);
		}
		fputc(']', out);
	}
	fputs("}\n", out);
}

static void utc_text(int64_t ns, char *buf, size_t len)
{
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;
	if (!gmtime_r(&s, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm)) {
		snprintf(buf, len, "?");
		return;
	}
	size_t n = strlen(buf);
	snprintf(buf + n, len - n, ".%06" PRId64, (ns % 1000000000) / 1000);
}

void vz_rtpcheck_text(FILE *out, const struct vz_rtpcheck *c, const struct vz_rtpcheck_run *run)
{
	if (c->have_ssrc)
		fprintf(out, "stream: SSRC 0x%08" PRIx32 ", payload type %u\n", c->ssrc,
		        c->payload_type);
	fprintf(out,
	        "frames %" PRIu64 " (%" PRIu64 " complete), packets %" PRIu64 " (%.1f per frame), "
	        "lost %" PRIu64 ", reordered %" PRIu64 ", duplicates %" PRIu64 "\n",
	        c->frames, c->frames_complete, c->packets,
	        isfinite(c->packets_per_frame) ? c->packets_per_frame : 0.0, c->lost, c->reordered,
	        c->duplicates);
	if (c->malformed || c->other_ssrc_packets || c->too_old || c->seq_jumps)
		fprintf(out,
		        "also: %" PRIu64 " malformed, %" PRIu64 " of other SSRCs, %" PRIu64
		        " too old to place, %" PRIu64 " sequence jumps (sender restart?)\n",
		        c->malformed, c->other_ssrc_packets, c->too_old, c->seq_jumps);
	if (c->socket_drops)
		fprintf(out,
		        "socket drops: %" PRIu64 " (the receive buffer overflowed: raise --rcvbuf, "
		        "as root or with net.core.rmem_max)\n",
		        c->socket_drops);
	if (c->software_timestamps)
		fprintf(out,
		        "%" PRIu64 " packets had no kernel timestamp: their arrival is "
		        "when vzero read them\n",
		        c->software_timestamps);
	const struct vz_rtpcheck_dist *ia = &c->inter_arrival_us;
	if (ia->count)
		fprintf(out,
		        "inter-arrival (us): p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  "
		        "mean %.2f  std %.2f\n",
		        ia->p50, ia->p90, ia->p99, ia->p999, ia->max, ia->mean, ia->std);
	const struct vz_rtpcheck_dist *b = &c->burst_len_dist;
	if (b->count)
		fprintf(out,
		        "bursts (< %.0f us apart): max %.0f packets, mean %.1f, p99 %.0f, "
		        "%.1f per frame\n",
		        c->cfg.burst_gap_us, b->max, b->mean, b->p99, c->bursts_per_frame);
	if (c->spread_ms.count) {
		fprintf(out, "frame spread: min %.3f  p50 %.3f  max %.3f ms", c->spread_ms.min,
		        c->spread_ms.p50, c->spread_ms.max);
		if (isfinite(c->frame_interval_ms))
			fprintf(out,
			        " of a %.3f ms interval (ratio %.2f: 1 = paced over the "
			        "frame, 0 = one burst)",
			        c->frame_interval_ms, c->spread_ratio_p50);
		fputc('\n', out);
	}
	if (c->frame_gap_us.count)
		fprintf(out, "between frames (us): p50 %.1f  max %.1f\n", c->frame_gap_us.p50,
		        c->frame_gap_us.max);
	const struct vz_rtpcheck_sr *sr = vz_rtpcheck_last_sr(c);
	if (sr) {
		char utc[64];
		utc_text(sr->ntp_unix_ns, utc, sizeof(utc));
		fprintf(out,
		        "RTCP: %" PRIu64 " sender report%s; last maps RTP %" PRIu32 " to %s UTC "
		        "(%" PRIu32 " packets, %" PRIu32 " octets sent%s%s)%s\n",
		        c->sr_count, c->sr_count == 1 ? "" : "s", sr->rtp_ts, utc, sr->packet_count,
		        sr->octet_count, sr->cname[0] ? ", CNAME " : "", sr->cname,
		        c->bye ? "; BYE seen" : "");
	} else if (run && run->rtcp_port >= 0) {
		fprintf(out, "RTCP: no sender reports on port %d%s\n", run->rtcp_port,
		        c->rtcp_packets ? " (other RTCP only)" : "");
	}
	if (c->rtcp_malformed)
		fprintf(out, "RTCP: %" PRIu64 " malformed compound packets\n", c->rtcp_malformed);
	if (c->gaps.dropped || c->oom)
		fprintf(out,
		        "note: %" PRIu64 " inter-arrival samples were not kept (memory cap); "
		        "the statistics cover the first %zu\n",
		        c->gaps.dropped, c->gaps.n);
}
