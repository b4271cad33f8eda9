/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include <linux/videodev2.h>

#include "format.h"

/* Plane geometry: bytes per group, pixels per group, vertical subsampling. */
#define PL(b, g, v)                                                                                \
	{                                                                                          \
		(b), (g), (v)                                                                      \
	}
/* Component: colour plane, byte offset, byte step between samples. */
#define C(p, o, s)                                                                                 \
	{                                                                                          \
		(p), (o), (s)                                                                      \
	}

#define PACKED422(fcc, nm, yo, uo, vo)                                                             \
	{                                                                                          \
		.fourcc = (fcc), .name = (nm), .num_planes = 1, .yuv = true,                       \
		.plane = {PL(4, 2, 1)}, .hsub = 2, .vsub = 1, .num_comps = 3, .comp = {            \
			C(0, yo, 2),                                                               \
			C(0, uo, 4),                                                               \
			C(0, vo, 4)                                                                \
		}                                                                                  \
	}

/* Semi-planar: Y plane, then interleaved CbCr (or CrCb when @swap). */
#define SEMI(fcc, nm, mp, vs, swap)                                                                \
	{                                                                                          \
		.fourcc = (fcc), .name = (nm), .num_planes = 2, .multiplanar_mem = (mp),           \
		.yuv = true, .plane = {PL(1, 1, 1), PL(2, 2, vs)}, .hsub = 2, .vsub = (vs),        \
		.num_comps = 3, .comp = {                                                          \
			C(0, 0, 1),                                                                \
			C(1, (swap) ? 1 : 0, 2),                                                   \
			C(1, (swap) ? 0 : 1, 2)                                                    \
		}                                                                                  \
	}

/* Fully planar 4:2:0: Y, Cb, Cr (or Y, Cr, Cb when @swap). */
#define PLANAR420(fcc, nm, mp, swap)                                                               \
	{                                                                                          \
		.fourcc = (fcc), .name = (nm), .num_planes = 3, .multiplanar_mem = (mp),           \
		.yuv = true, .plane = {PL(1, 1, 1), PL(1, 2, 2), PL(1, 2, 2)}, .hsub = 2,          \
		.vsub = 2, .num_comps = 3, .comp = {                                               \
			C(0, 0, 1),                                                                \
			C((swap) ? 2 : 1, 0, 1),                                                   \
			C((swap) ? 1 : 2, 0, 1)                                                    \
		}                                                                                  \
	}

/* Packed RGB: @bpp bytes per pixel, byte offsets of R, G and B. */
#define RGB(fcc, nm, bpp, ro, go, bo)                                                              \
	{                                                                                          \
		.fourcc = (fcc), .name = (nm), .num_planes = 1, .plane = {PL(bpp, 1, 1)},          \
		.hsub = 1, .vsub = 1, .num_comps = 3, .comp = {                                    \
			C(0, ro, bpp),                                                             \
			C(0, go, bpp),                                                             \
			C(0, bo, bpp)                                                              \
		}                                                                                  \
	}

/*
 * Byte orders are memory order as the V4L2 documentation defines them,
 * which is the reverse of what the macro names suggest for the 32-bit ones:
 * XR24 (XBGR32) is B,G,R,X in memory, XB24 (RGBX32) is R,G,B,X, and the
 * legacy RGB4 puts its alpha byte first.
 */
static const struct vz_format_desc formats[] = {
        PACKED422(V4L2_PIX_FMT_YUYV, "YUYV", 0, 1, 3),
        PACKED422(V4L2_PIX_FMT_UYVY, "UYVY", 1, 0, 2),
        PACKED422(V4L2_PIX_FMT_YVYU, "YVYU", 0, 3, 1),
        PACKED422(V4L2_PIX_FMT_VYUY, "VYUY", 1, 2, 0),
        SEMI(V4L2_PIX_FMT_NV12, "NV12", false, 2, false),
        SEMI(V4L2_PIX_FMT_NV21, "NV21", false, 2, true),
        SEMI(V4L2_PIX_FMT_NV16, "NV16", false, 1, false),
        SEMI(V4L2_PIX_FMT_NV61, "NV61", false, 1, true),
        SEMI(V4L2_PIX_FMT_NV12M, "NM12", true, 2, false),
        SEMI(V4L2_PIX_FMT_NV21M, "NM21", true, 2, true),
        SEMI(V4L2_PIX_FMT_NV16M, "NM16", true, 1, false),
        SEMI(V4L2_PIX_FMT_NV61M, "NM61", true, 1, true),
        PLANAR420(V4L2_PIX_FMT_YUV420, "YU12", false, false),
        PLANAR420(V4L2_PIX_FMT_YVU420, "YV12", false, true),
        PLANAR420(V4L2_PIX_FMT_YUV420M, "YM12", true, false),
        PLANAR420(V4L2_PIX_FMT_YVU420M, "YM21", true, true),
        RGB(V4L2_PIX_FMT_RGB24, "RGB3", 3, 0, 1, 2),
        RGB(V4L2_PIX_FMT_BGR24, "BGR3", 3, 2, 1, 0),
        RGB(V4L2_PIX_FMT_XBGR32, "XR24", 4, 2, 1, 0),
        RGB(V4L2_PIX_FMT_ABGR32, "AR24", 4, 2, 1, 0),
        RGB(V4L2_PIX_FMT_RGBX32, "XB24", 4, 0, 1, 2),
        RGB(V4L2_PIX_FMT_RGBA32, "AB24", 4, 0, 1, 2),
        RGB(V4L2_PIX_FMT_BGR32, "BGR4", 4, 2, 1, 0),
        RGB(V4L2_PIX_FMT_RGB32, "RGB4", 4, 1, 2, 3),
        {.fourcc = V4L2_PIX_FMT_GREY,
         .name = "GREY",
         .num_planes = 1,
         .yuv = true,
         .plane = {PL(1, 1, 1)},
         .hsub = 1,
         .vsub = 1,
         .num_comps = 1,
         .comp = {C(0, 0, 1)}},
};

/* The V4L2_PIX_FMT_* spellings people type from the kernel headers. */
static const struct {
	const char *name;
	uint32_t fourcc;
} aliases[] = {
        {"RGB24", V4L2_PIX_FMT_RGB24},     {"BGR24", V4L2_PIX_FMT_BGR24},
        {"XBGR32", V4L2_PIX_FMT_XBGR32},   {"ABGR32", V4L2_PIX_FMT_ABGR32},
        {"RGBX32", V4L2_PIX_FMT_RGBX32},   {"RGBA32", V4L2_PIX_FMT_RGBA32},
        {"BGR32", V4L2_PIX_FMT_BGR32},     {"RGB32", V4L2_PIX_FMT_RGB32},
        {"YUV420", V4L2_PIX_FMT_YUV420},   {"YVU420", V4L2_PIX_FMT_YVU420},
        {"YUV420M", V4L2_PIX_FMT_YUV420M}, {"YVU420M", V4L2_PIX_FMT_YVU420M},
        {"NV12M", V4L2_PIX_FMT_NV12M},     {"NV21M", V4L2_PIX_FMT_NV21M},
        {"NV16M", V4L2_PIX_FMT_NV16M},     {"NV61M", V4L2_PIX_FMT_NV61M},
        {"I420", V4L2_PIX_FMT_YUV420},     {"GRAY", V4L2_PIX_FMT_GREY},
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

const struct vz_format_desc *vz_format_desc_find(uint32_t fourcc)
{
	for (size_t i = 0; i < ARRAY_LEN(formats); i++) {
		if (formats[i].fourcc == fourcc)
			return &formats[i];
	}
	return NULL;
}

const struct vz_format_desc *vz_format_desc_at(unsigned i)
{
	return i < ARRAY_LEN(formats) ? &formats[i] : NULL;
}

char *vz_fourcc_str(uint32_t fourcc, char buf[5])
{
	for (int i = 0; i < 4; i++) {
		unsigned char c = (unsigned char)(fourcc >> (8 * i));
		buf[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	buf[4] = '\0';
	return buf;
}

int vz_fourcc_parse(const char *s, uint32_t *out)
{
	if (!s || !out)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_LEN(formats); i++) {
		if (strcasecmp(s, formats[i].name) == 0) {
			*out = formats[i].fourcc;
			return 0;
		}
	}
	for (size_t i = 0; i < ARRAY_LEN(aliases); i++) {
		if (strcasecmp(s, aliases[i].name) == 0) {
			*out = aliases[i].fourcc;
			return 0;
		}
	}
	if (strlen(s) != 4)
		return -EINVAL;
	/* Trailing blanks are legal in fourccs ("Y16 "), a leading one is not. */
	if (!isgraph((unsigned char)s[0]))
		return -EINVAL;
	for (int i = 1; i < 4; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f)
			return -EINVAL;
	}
	*out = VZ_FOURCC(s[0], s[1], s[2], s[3]);
	return 0;
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/* Bytes of one line of colour plane @p for @width pixels. */
static uint64_t min_line(const struct vz_format_desc *d, unsigned p, uint32_t width)
{
	return div_up(width, d->plane[p].group_width) * d->plane[p].bytes_per_group;
}

/* A chroma plane's stride follows the luma stride in the ratio of their
 * bytes per pixel, so a padded luma line implies an equally padded chroma
 * line (that is how V4L2 defines single-buffer planar strides). */
static uint64_t derived_stride(const struct vz_format_desc *d, unsigned p, uint32_t stride0)
{
	return div_up((uint64_t)stride0 * d->plane[p].bytes_per_group * d->plane[0].group_width,
	              (uint64_t)d->plane[p].group_width * d->plane[0].bytes_per_group);
}

int vz_format_layout(struct vz_format *f, const uint32_t mem_stride[VZ_MAX_PLANES])
{
	const struct vz_format_desc *d = vz_format_desc_find(f->fourcc);
	if (!d || f->width == 0 || f->height == 0)
		return -EINVAL;

	uint64_t stride0 = mem_stride ? mem_stride[0] : 0;
	if (stride0 == 0)
		stride0 = min_line(d, 0, f->width);
	uint64_t end[VZ_MAX_PLANES] = {0};

	f->num_planes = d->num_planes;
	f->num_mem = d->multiplanar_mem ? d->num_planes : 1;
	for (unsigned p = 0; p < d->num_planes; p++) {
		uint64_t stride;
		unsigned mem = d->multiplanar_mem ? p : 0;
		if (p == 0)
			stride = stride0;
		else if (d->multiplanar_mem && mem_stride && mem_stride[p] != 0)
			stride = mem_stride[p];
		else
			stride = derived_stride(d, p, (uint32_t)stride0);
		uint64_t lines = div_up(f->height, d->plane[p].vsub);
		if (stride < min_line(d, p, f->width) || stride > UINT32_MAX ||
		    end[mem] + stride * lines > UINT32_MAX)
			return -EINVAL;
		f->plane[p].mem = mem;
		f->plane[p].offset = (uint32_t)end[mem];
		f->plane[p].stride = (uint32_t)stride;
		f->plane[p].height = (uint32_t)lines;
		end[mem] += stride * lines;
	}
	for (unsigned p = d->num_planes; p < VZ_MAX_PLANES; p++)
		memset(&f->plane[p], 0, sizeof(f->plane[p]));
	for (unsigned m = 0; m < VZ_MAX_PLANES; m++) {
		if (m >= f->num_mem)
			f->mem_size[m] = 0;
		else if (f->mem_size[m] == 0)
			f->mem_size[m] = (uint32_t)end[m];
	}
	return 0;
}

uint64_t vz_format_frame_bytes(const struct vz_format *f)
{
	uint64_t n = 0;
	for (unsigned p = 0; p < f->num_planes && p < VZ_MAX_PLANES; p++)
		n += (uint64_t)f->plane[p].stride * f->plane[p].height;
	return n;
}

int64_t vz_format_interval_ns(const struct vz_format *f)
{
	if (f->fps_num == 0 || f->fps_den == 0)
		return 0;
	/* Rounded to the nearest ns: 30000/1001 fps gives 33366667. */
	return (int64_t)(((uint64_t)f->fps_den * 1000000000u + f->fps_num / 2) / f->fps_num);
}
