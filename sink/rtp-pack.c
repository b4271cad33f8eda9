/* SPDX-License-Identifier: MIT */
/* RFC 4175 packetization by plan: which runs of frame memory each packet
 * carries, and the headers in front of them; see sink/rtp-internal.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/videodev2.h>

#include "rtp-internal.h"

static const struct vz_rtp_sampling s_uyvy = {"YCbCr-4:2:2", 4, 2, 8, ""};
static const struct vz_rtp_sampling s_rgb = {"RGB", 3, 1, 8, ""};
static const struct vz_rtp_sampling s_bgr = {"BGR", 3, 1, 8, ""};
static const struct vz_rtp_sampling s_bgra = {
        "BGRA", 4, 1, 8, "B,G,R,X memory sent as BGRA: the padding byte travels as alpha"};
static const struct vz_rtp_sampling s_bgra_a = {"BGRA", 4, 1, 8, ""};
static const struct vz_rtp_sampling s_rgba = {
        "RGBA", 4, 1, 8, "R,G,B,X memory sent as RGBA: the padding byte travels as alpha"};
static const struct vz_rtp_sampling s_rgba_a = {"RGBA", 4, 1, 8, ""};

const struct vz_rtp_sampling *vz_rtp_sampling_of(uint32_t fourcc, const char **why)
{
	static const char packed[] =
	        "RFC 4175 YCbCr-4:2:2 is Cb,Y,Cr,Y order: capture UYVY (-f UYVY) and it is sent as "
	        "it is";
	static const char planar[] =
	        "RFC 4175 carries YCbCr as interleaved pixel groups (its 4:2:0 group mixes two "
	        "lines), which cannot be cut out of planar memory without a copy: capture UYVY "
	        "(-f UYVY)";
	*why = NULL;
	switch (fourcc) {
	case V4L2_PIX_FMT_UYVY:
		return &s_uyvy;
	case V4L2_PIX_FMT_RGB24:
		return &s_rgb;
	case V4L2_PIX_FMT_BGR24:
		return &s_bgr;
	case V4L2_PIX_FMT_XBGR32:
	case V4L2_PIX_FMT_BGR32:
		return &s_bgra;
	case V4L2_PIX_FMT_ABGR32:
		return &s_bgra_a;
	case V4L2_PIX_FMT_RGBX32:
		return &s_rgba;
	case V4L2_PIX_FMT_RGBA32:
		return &s_rgba_a;
	case V4L2_PIX_FMT_YUYV:
	case V4L2_PIX_FMT_YVYU:
	case V4L2_PIX_FMT_VYUY:
		*why = packed;
		return NULL;
	case V4L2_PIX_FMT_RGB32:
		*why = "RFC 4175 has no alpha-first sampling: capture XR24 (sent as BGRA) or XB24 "
		       "(sent as RGBA)";
		return NULL;
	default:
		break;
	}
	const struct vz_format_desc *d = vz_format_desc_find(fourcc);
	if (d && d->yuv)
		*why = planar;
	else
		*why = "RFC 4175 has no sampling for it: capture UYVY, RGB3, BGR3, XR24 or XB24";
	return NULL;
}

void vz_rtp_plan_free(struct vz_rtp_plan *p)
{
	if (!p)
		return;
	free(p->pkt);
	free(p->seg);
	p->pkt = NULL;
	p->seg = NULL;
	p->npkts = p->nsegs = 0;
}

int vz_rtp_plan_build(struct vz_rtp_plan *p, const struct vz_format *fmt, unsigned mtu, bool ipv6,
                      struct vz_err *err)
{
	char fcc[5];
	const char *why;
	memset(p, 0, sizeof(*p));
	const struct vz_rtp_sampling *s = vz_rtp_sampling_of(fmt->fourcc, &why);
	if (!s)
		return vz_err_set(err, -EINVAL,
		                  "rtp sink: %s frames cannot be sent as RFC 4175 "
		                  "without a copy: %s",
		                  vz_fourcc_str(fmt->fourcc, fcc), why);
	if (fmt->field != V4L2_FIELD_NONE && fmt->field != V4L2_FIELD_ANY)
		return vz_err_set(err, -EINVAL,
		                  "rtp sink: interlaced capture (V4L2 field %u) would go out as "
		                  "progressive; capture a progressive format",
		                  fmt->field);
	if (fmt->num_planes != 1 || !fmt->width || !fmt->height)
		return vz_err_set(err, -EINVAL, "rtp sink: %ux%u %s is not a packed picture",
		                  fmt->width, fmt->height, vz_fourcc_str(fmt->fourcc, fcc));
	if (fmt->width % s->pg_pixels)
		return vz_err_set(err, -EINVAL,
		                  "rtp sink: %s pixel groups are %u pixels wide, the width %u is "
		                  "not a multiple: choose an even width (-s)",
		                  s->name, s->pg_pixels, fmt->width);
	/* RFC 4175 numbers lines and pixel offsets in 15 bits. */
	if (fmt->width > 32767 || fmt->height > 32767)
		return vz_err_set(err, -EINVAL,
		                  "rtp sink: %ux%u is larger than RFC 4175's 32767 "
		                  "lines or pixels",
		                  fmt->width, fmt->height);
	if (mtu < VZ_RTP_MIN_MTU || mtu > VZ_RTP_MAX_MTU)
		return vz_err_set(err, -EINVAL, "rtp sink: mtu=%u is outside %u..%u", mtu,
		                  VZ_RTP_MIN_MTU, VZ_RTP_MAX_MTU);
	uint32_t L = fmt->width / s->pg_pixels * s->pg_bytes;
	if (fmt->plane[0].stride < L)
		return vz_err_set(err, -EINVAL, "rtp sink: stride %u is shorter than a line (%u)",
		                  fmt->plane[0].stride, L);
	p->sampling = s;
	p->width = fmt->width;
	p->height = fmt->height;
	p->line_bytes = L;
	p->stride = fmt->plane[0].stride;
	p->max_packet = mtu - (ipv6 ? 40u : 20u) - 8u;
	p->payload_bytes = (uint64_t)L * fmt->height;
	unsigned room = p->max_packet - VZ_RTP_HDR - VZ_RTP_ESN;

	unsigned k = 1, n = 1, q = 0;
	if (VZ_RTP_SEG_HDR + L <= room) {
		k = room / (VZ_RTP_SEG_HDR + L);
		if (k > fmt->height)
			k = fmt->height;
		/* Each line is an iovec of its own where the stride is padded. */
		if (k > VZ_RTP_MAX_LINES)
			k = VZ_RTP_MAX_LINES;
		p->npkts = (fmt->height + k - 1) / k;
		p->nsegs = fmt->height;
	} else {
		unsigned groups = L / s->pg_bytes;
		unsigned most = (room - VZ_RTP_SEG_HDR) / s->pg_bytes;
		n = (groups + most - 1) / most;
		q = (groups + n - 1) / n; /* groups per run but the line's last */
		/* n runs of q cover the line at most n*q >= groups; the last run
		 * takes what is left, which may make n - 1 enough. */
		n = (groups + q - 1) / q;
		p->npkts = n * fmt->height;
		p->nsegs = p->npkts;
	}
	p->lines_per_pkt = k;
	p->runs_per_line = n;
	p->pkt = calloc(p->npkts, sizeof(*p->pkt));
	p->seg = calloc(p->nsegs, sizeof(*p->seg));
	if (!p->pkt || !p->seg) {
		vz_rtp_plan_free(p);
		return vz_err_set(err, -ENOMEM, "rtp sink: out of memory for %u packets", p->npkts);
	}
	unsigned si = 0;
	for (unsigned i = 0; i < p->npkts; i++) {
		struct vz_rtp_pkt *pk = &p->pkt[i];
		pk->first_seg = si;
		if (n == 1) {
			uint32_t y0 = i * k;
			uint32_t lines = fmt->height - y0 < k ? fmt->height - y0 : k;
			for (uint32_t y = y0; y < y0 + lines; y++, si++)
				p->seg[si] = (struct vz_rtp_seg){.src = y * p->stride,
				                                 .len = (uint16_t)L,
				                                 .line = (uint16_t)y,
				                                 .offset = 0};
			pk->nseg = (uint16_t)lines;
		} else {
			uint32_t y = i / n, r = i % n;
			uint32_t off = r * q * s->pg_bytes;
			uint32_t len = r + 1 < n ? q * s->pg_bytes : L - off;
			p->seg[si++] = (struct vz_rtp_seg){
			        .src = y * p->stride + off,
			        .len = (uint16_t)len,
			        .line = (uint16_t)y,
			        .offset = (uint16_t)(off / s->pg_bytes * s->pg_pixels)};
			pk->nseg = 1;
		}
		pk->hdr_size = (uint16_t)(VZ_RTP_HDR + VZ_RTP_ESN + VZ_RTP_SEG_HDR * pk->nseg);
		unsigned data = 0;
		for (unsigned j = 0; j < pk->nseg; j++)
			data += p->seg[pk->first_seg + j].len;
		pk->size = (uint16_t)(pk->hdr_size + data);
		if (pk->hdr_size > p->max_hdr)
			p->max_hdr = pk->hdr_size;
	}
	return 0;
}

void vz_rtp_write_header(uint8_t *out, const struct vz_rtp_plan *p, unsigned i, uint32_t ext_seq,
                         uint32_t ts, uint32_t ssrc, uint8_t pt, bool marker)
{
	const struct vz_rtp_pkt *pk = &p->pkt[i];
	out[0] = 0x80; /* version 2, no padding, extension or CSRC */
	out[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
	vz_rtp_put16(out + 2, ext_seq & 0xffff);
	vz_rtp_put32(out + 4, ts);
	vz_rtp_put32(out + 8, ssrc);
	vz_rtp_put16(out + 12, ext_seq >> 16);
	uint8_t *h = out + VZ_RTP_HDR + VZ_RTP_ESN;
	for (unsigned j = 0; j < pk->nseg; j++, h += VZ_RTP_SEG_HDR) {
		const struct vz_rtp_seg *sg = &p->seg[pk->first_seg + j];
		vz_rtp_put16(h, sg->len);
		vz_rtp_put16(h + 2, sg->line & 0x7fff); /* F = 0: progressive */
		vz_rtp_put16(h + 4, (j + 1 < pk->nseg ? 0x8000u : 0) | (sg->offset & 0x7fff));
	}
}

uint32_t vz_rtp_ts90k(int64_t t_ns, uint32_t offset)
{
	uint64_t t = t_ns < 0 ? 0 : (uint64_t)t_ns;
	/* t * 9 / 100000 without overflow for any uptime. */
	uint64_t ticks = t / 100000u * 9u + t % 100000u * 9u / 100000u;
	return (uint32_t)ticks + offset;
}

unsigned vz_rtp_frags(const struct iovec *iov, unsigned n, unsigned page_size)
{
	unsigned frags = 0;
	uintptr_t prev_end = 0;
	for (unsigned i = 0; i < n; i++) {
		if (!iov[i].iov_len)
			continue;
		uintptr_t a = (uintptr_t)iov[i].iov_base, e = a + iov[i].iov_len;
		uintptr_t first = a / page_size, last = (e - 1) / page_size;
		unsigned pages = (unsigned)(last - first + 1);
		/* The kernel extends the previous fragment when this element
		 * continues it in the same page. */
		if (a == prev_end && a % page_size)
			pages--;
		frags += pages;
		prev_end = e;
	}
	return frags;
}
