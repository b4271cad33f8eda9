/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "process.h"

#define Y_BLACK 16
#define C_GREY  128

/* Reads one integer followed by @sep ('\0' for the last): 0, -EINVAL for
 * anything but a number there, -ERANGE for one too big for a long long. */
static int parse_field(const char **p, char sep, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(*p, &end, 10);
	if (end == *p || *end != sep)
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*out = v;
	*p = sep ? end + 1 : end;
	return 0;
}

int vz_mask_parse(struct vz_mask *mask, const char *s, struct vz_err *err)
{
	if (!mask)
		return vz_err_set(err, -EINVAL, "mask: no mask to add the rectangle to");
	const char *shown = s ? s : "";
	long long v[4];
	const char *p = shown;
	bool too_big = false;
	for (int i = 0; i < 4; i++) {
		int rc = parse_field(&p, i < 3 ? ',' : '\0', &v[i]);
		if (rc == -EINVAL)
			return vz_err_set(err, -EINVAL,
			                  "mask: expected x,y,w,h in pixels, e.g. 10,10,200,100; "
			                  "got '%s'",
			                  shown);
		if (rc == -ERANGE || v[i] < INT32_MIN || v[i] > INT32_MAX)
			too_big = true;
	}
	if (too_big)
		return vz_err_set(err, -ERANGE,
		                  "mask: '%s' is out of range; each value must fit in "
		                  "+-2147483647 pixels",
		                  shown);
	if (v[2] <= 0 || v[3] <= 0)
		return vz_err_set(err, -EINVAL,
		                  "mask: width and height must be positive, e.g. 10,10,200,100; "
		                  "got '%s'",
		                  shown);
	if (mask->count >= VZ_MASK_MAX_RECTS)
		return vz_err_set(err, -ENOSPC,
		                  "mask: '%s' is one rectangle too many; at most %d are "
		                  "supported, merge neighbouring ones",
		                  shown, VZ_MASK_MAX_RECTS);
	struct vz_rect *r = &mask->rect[mask->count++];
	r->x = (int32_t)v[0];
	r->y = (int32_t)v[1];
	r->w = (uint32_t)v[2];
	r->h = (uint32_t)v[3];
	return 0;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Sets @n samples @step bytes apart to @v. */
static void fill_samples(uint8_t *p, unsigned step, uint32_t n, uint8_t v)
{
	if (step == 1) {
		memset(p, v, n);
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		p[(size_t)i * step] = v;
}

int vz_mask_fill(struct vz_frame_map *m, const struct vz_rect *r, struct vz_err *err)
{
	const struct vz_format_desc *d = m && m->fmt ? vz_format_desc_find(m->fmt->fourcc) : NULL;
	if (!d || !r) {
		char fcc[5] = "none";
		if (m && m->fmt)
			vz_fourcc_str(m->fmt->fourcc, fcc);
		return vz_err_set(err, -EINVAL,
		                  "mask: pixel format %s has no known layout; capture YUYV, NV12, "
		                  "YU12 or RGB3 instead",
		                  fcc);
	}
	for (unsigned p = 0; p < d->num_planes; p++) {
		if (!m->plane[p])
			return vz_err_set(err, -EINVAL,
			                  "mask: colour plane %u is not mapped (pipeline bug)", p);
	}

	const int64_t fw = m->fmt->width, fh = m->fmt->height;
	int64_t x0 = clamp64(r->x, 0, fw), x1 = clamp64((int64_t)r->x + r->w, 0, fw);
	int64_t y0 = clamp64(r->y, 0, fh), y1 = clamp64((int64_t)r->y + r->h, 0, fh);
	if (x0 >= x1 || y0 >= y1)
		return 0; /* entirely outside: nothing to hide */
	/* Outward to whole chroma samples: a half-covered sample would keep
	 * the colour of what is hidden, a visible fringe. */
	x0 -= x0 % d->hsub;
	x1 = clamp64((x1 + d->hsub - 1) / d->hsub * d->hsub, 0, fw);
	y0 -= y0 % d->vsub;
	y1 = clamp64((y1 + d->vsub - 1) / d->vsub * d->vsub, 0, fh);
	const uint32_t w = (uint32_t)(x1 - x0);

	if (!d->yuv) {
		for (int64_t y = y0; y < y1; y++) {
			uint8_t *row = m->plane[0] + (size_t)y * m->stride[0] +
			               (size_t)x0 * d->comp[0].step;
			for (unsigned c = 0; c < 3; c++)
				fill_samples(row + d->comp[c].offset, d->comp[c].step, w, 0);
		}
		return 0;
	}
	unsigned p = d->comp[0].plane;
	for (int64_t y = y0; y < y1; y++)
		fill_samples(m->plane[p] + (size_t)y * m->stride[p] + d->comp[0].offset +
		                     (size_t)x0 * d->comp[0].step,
		             d->comp[0].step, w, Y_BLACK);
	if (d->num_comps < 3)
		return 0;
	const int64_t cx0 = x0 / d->hsub, cx1 = (x1 + d->hsub - 1) / d->hsub;
	const int64_t cy0 = y0 / d->vsub, cy1 = (y1 + d->vsub - 1) / d->vsub;
	for (unsigned c = 1; c < 3; c++) {
		p = d->comp[c].plane;
		for (int64_t y = cy0; y < cy1; y++)
			fill_samples(m->plane[p] + (size_t)y * m->stride[p] + d->comp[c].offset +
			                     (size_t)cx0 * d->comp[c].step,
			             d->comp[c].step, (uint32_t)(cx1 - cx0), C_GREY);
	}
	return 0;
}

int vz_mask_process(void *ctx, struct vz_frame_map *m, struct vz_err *err)
{
	const struct vz_mask *mask = ctx;
	if (!mask)
		return vz_err_set(err, -EINVAL, "mask: processor added without its rectangles");
	for (unsigned i = 0; i < mask->count && i < VZ_MASK_MAX_RECTS; i++) {
		int rc = vz_mask_fill(m, &mask->rect[i], err);
		if (rc < 0)
			return rc;
	}
	return 0;
}
