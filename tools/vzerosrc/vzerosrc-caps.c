/* SPDX-License-Identifier: MIT */
/*
 * The server's formats (V4L2 fourccs, layouts and colorimetry, as the SET
 * message carries them) in GStreamer's terms.  Pure; see vzerosrc.h.
 */
#include <linux/videodev2.h>
#include <string.h>

#include "vzerosrc.h"

/* The same table as the gst sink's (sink/gst-caps.c): GStreamer names
 * formats by their bytes in memory, V4L2 32-bit RGB by its little-endian
 * word (XBGR32 is B, G, R, X in memory). */
static const struct {
	uint32_t fourcc;
	GstVideoFormat gst;
} format_map[] = {
        {V4L2_PIX_FMT_YUYV, GST_VIDEO_FORMAT_YUY2},
        {V4L2_PIX_FMT_UYVY, GST_VIDEO_FORMAT_UYVY},
        {V4L2_PIX_FMT_YVYU, GST_VIDEO_FORMAT_YVYU},
        {V4L2_PIX_FMT_VYUY, GST_VIDEO_FORMAT_VYUY},
        {V4L2_PIX_FMT_NV12, GST_VIDEO_FORMAT_NV12},
        {V4L2_PIX_FMT_NV12M, GST_VIDEO_FORMAT_NV12},
        {V4L2_PIX_FMT_NV21, GST_VIDEO_FORMAT_NV21},
        {V4L2_PIX_FMT_NV21M, GST_VIDEO_FORMAT_NV21},
        {V4L2_PIX_FMT_NV16, GST_VIDEO_FORMAT_NV16},
        {V4L2_PIX_FMT_NV61, GST_VIDEO_FORMAT_NV61},
        {V4L2_PIX_FMT_NV16M, GST_VIDEO_FORMAT_NV16},
        {V4L2_PIX_FMT_NV61M, GST_VIDEO_FORMAT_NV61},
        {V4L2_PIX_FMT_YUV420, GST_VIDEO_FORMAT_I420},
        {V4L2_PIX_FMT_YUV420M, GST_VIDEO_FORMAT_I420},
        {V4L2_PIX_FMT_YVU420, GST_VIDEO_FORMAT_YV12},
        {V4L2_PIX_FMT_YVU420M, GST_VIDEO_FORMAT_YV12},
        {V4L2_PIX_FMT_YUV422P, GST_VIDEO_FORMAT_Y42B},
        {V4L2_PIX_FMT_RGB24, GST_VIDEO_FORMAT_RGB},
        {V4L2_PIX_FMT_BGR24, GST_VIDEO_FORMAT_BGR},
        {V4L2_PIX_FMT_XBGR32, GST_VIDEO_FORMAT_BGRx},
        {V4L2_PIX_FMT_ABGR32, GST_VIDEO_FORMAT_BGRA},
        {V4L2_PIX_FMT_RGBX32, GST_VIDEO_FORMAT_RGBx},
        {V4L2_PIX_FMT_RGBA32, GST_VIDEO_FORMAT_RGBA},
        {V4L2_PIX_FMT_XRGB32, GST_VIDEO_FORMAT_xRGB},
        {V4L2_PIX_FMT_ARGB32, GST_VIDEO_FORMAT_ARGB},
        {V4L2_PIX_FMT_BGR32, GST_VIDEO_FORMAT_BGRx},
        {V4L2_PIX_FMT_RGB32, GST_VIDEO_FORMAT_xRGB},
        {V4L2_PIX_FMT_RGB565, GST_VIDEO_FORMAT_RGB16},
        {V4L2_PIX_FMT_GREY, GST_VIDEO_FORMAT_GRAY8},
        {V4L2_PIX_FMT_Y16, GST_VIDEO_FORMAT_GRAY16_LE},
};

GstVideoFormat vzsrc_video_format(uint32_t fourcc)
{
	for (size_t i = 0; i < G_N_ELEMENTS(format_map); i++)
		if (format_map[i].fourcc == fourcc)
			return format_map[i].gst;
	return GST_VIDEO_FORMAT_UNKNOWN;
}

/* V4L2's colorimetry with its DEFAULT rules spelled out.  Only what the
 * server said: a field GStreamer has no name for stays UNKNOWN rather than
 * being guessed. */
static void colorimetry_of(const struct vz_format *f, const GstVideoFormatInfo *fi,
                           GstVideoColorimetry *c)
{
	bool rgb = GST_VIDEO_FORMAT_INFO_IS_RGB(fi), gray = GST_VIDEO_FORMAT_INFO_IS_GRAY(fi);
	uint32_t cs = f->colorspace;

	if (cs == V4L2_COLORSPACE_DEFAULT)
		cs = V4L2_MAP_COLORSPACE_DEFAULT(!rgb && f->height <= 576, !rgb && f->height > 576);
	uint32_t xfer = f->xfer_func ? f->xfer_func : V4L2_MAP_XFER_FUNC_DEFAULT(cs);
	uint32_t enc = f->ycbcr_enc ? f->ycbcr_enc : V4L2_MAP_YCBCR_ENC_DEFAULT(cs);
	uint32_t quant =
	        f->quantization ? f->quantization : V4L2_MAP_QUANTIZATION_DEFAULT(rgb, cs, enc);
	bool sd = cs == V4L2_COLORSPACE_SMPTE170M || cs == V4L2_COLORSPACE_BT878 ||
	          cs == V4L2_COLORSPACE_470_SYSTEM_M || cs == V4L2_COLORSPACE_470_SYSTEM_BG;

	switch (cs) {
	case V4L2_COLORSPACE_SMPTE170M:
	case V4L2_COLORSPACE_BT878:
		c->primaries = GST_VIDEO_COLOR_PRIMARIES_SMPTE170M;
		break;
	case V4L2_COLORSPACE_REC709:
	case V4L2_COLORSPACE_SRGB:
	case V4L2_COLORSPACE_JPEG:
		c->primaries = GST_VIDEO_COLOR_PRIMARIES_BT709;
		break;
	case V4L2_COLORSPACE_OPRGB:
		c->primaries = GST_VIDEO_COLOR_PRIMARIES_ADOBERGB;
		break;
	case V4L2_COLORSPACE_BT2020:
		c->primaries = GST_VIDEO_COLOR_PRIMARIES_BT2020;
		break;
	case V4L2_COLORSPACE_SMPTE240M:
		c->primaries = GST_VIDEO_COLOR_PRIMARIES_SMPTE240M;
		break;
	case V4L2_COLORSPACE_470_SYSTEM_M:
		c->primaries = GST_VIDEO_COLOR_PRIMARIES_BT470M;
		break;
	case V4L2_COLORSPACE_470_SYSTEM_BG:
		c->primaries = GST_VIDEO_COLOR_PRIMARIES_BT470BG;
		break;
	case V4L2_COLORSPACE_DCI_P3:
		c->primaries = GST_VIDEO_COLOR_PRIMARIES_SMPTERP431;
		break;
	default:
		c->primaries = GST_VIDEO_COLOR_PRIMARIES_UNKNOWN;
		break;
	}

	switch (xfer) {
	case V4L2_XFER_FUNC_709:
		/* One curve, which GStreamer names after the standard (as its
		 * v4l2src does): BT601 for SD, BT2020_10 for BT.2020. */
		c->transfer = cs == V4L2_COLORSPACE_BT2020 ? GST_VIDEO_TRANSFER_BT2020_10
		              : sd                         ? GST_VIDEO_TRANSFER_BT601
		                                           : GST_VIDEO_TRANSFER_BT709;
		break;
	case V4L2_XFER_FUNC_SRGB:
		c->transfer = GST_VIDEO_TRANSFER_SRGB;
		break;
	case V4L2_XFER_FUNC_OPRGB:
		c->transfer = GST_VIDEO_TRANSFER_ADOBERGB;
		break;
	case V4L2_XFER_FUNC_SMPTE240M:
		c->transfer = GST_VIDEO_TRANSFER_SMPTE240M;
		break;
	case V4L2_XFER_FUNC_NONE:
		c->transfer = GST_VIDEO_TRANSFER_GAMMA10;
		break;
	case V4L2_XFER_FUNC_SMPTE2084:
		c->transfer = GST_VIDEO_TRANSFER_SMPTE2084;
		break;
	default:
		c->transfer = GST_VIDEO_TRANSFER_UNKNOWN;
		break;
	}

	/* A matrix means something for YUV only: GStreamer refuses any but
	 * RGB's on RGB caps, and grey has no chroma to convert. */
	if (rgb)
		c->matrix = GST_VIDEO_COLOR_MATRIX_RGB;
	else if (gray)
		c->matrix = GST_VIDEO_COLOR_MATRIX_UNKNOWN;
	else if (enc == V4L2_YCBCR_ENC_709 || enc == V4L2_YCBCR_ENC_XV709)
		c->matrix = GST_VIDEO_COLOR_MATRIX_BT709;
	else if (enc == V4L2_YCBCR_ENC_BT2020 || enc == V4L2_YCBCR_ENC_BT2020_CONST_LUM)
		c->matrix = GST_VIDEO_COLOR_MATRIX_BT2020;
	else if (enc == V4L2_YCBCR_ENC_SMPTE240M)
		c->matrix = GST_VIDEO_COLOR_MATRIX_SMPTE240M;
	else
		c->matrix = GST_VIDEO_COLOR_MATRIX_BT601;
	c->range = quant == V4L2_QUANTIZATION_FULL_RANGE ? GST_VIDEO_COLOR_RANGE_0_255
	                                                 : GST_VIDEO_COLOR_RANGE_16_235;
}

GstCaps *vzsrc_caps_of(const struct vz_format *f)
{
	GstVideoFormat g = vzsrc_video_format(f->fourcc);
	GstVideoInfo info;

	if (g == GST_VIDEO_FORMAT_UNKNOWN || !f->width || !f->height)
		return NULL;
	gst_video_info_init(&info);
	if (!gst_video_info_set_format(&info, g, f->width, f->height))
		return NULL;
	/* 0/1: the server does not know its rate (a variable-rate camera). */
	info.fps_n = f->fps_num && f->fps_den ? (gint)f->fps_num : 0;
	info.fps_d = f->fps_num && f->fps_den ? (gint)f->fps_den : 1;
	switch (f->field) {
	case V4L2_FIELD_INTERLACED:
	case V4L2_FIELD_INTERLACED_TB:
	case V4L2_FIELD_INTERLACED_BT:
		info.interlace_mode = GST_VIDEO_INTERLACE_MODE_INTERLEAVED;
		break;
	default:
		info.interlace_mode = GST_VIDEO_INTERLACE_MODE_PROGRESSIVE;
		break;
	}
	colorimetry_of(f, info.finfo, &info.colorimetry);
	return gst_video_info_to_caps(&info);
}

bool vzsrc_layout(const struct vz_format *f, const struct vz_frame_info *info,
                  gsize offset[GST_VIDEO_MAX_PLANES], gint stride[GST_VIDEO_MAX_PLANES])
{
	gsize base[VZ_MAX_PLANES] = {0}, total = 0;

	if (f->num_mem < 1 || f->num_mem > VZ_MAX_PLANES || f->num_planes < 1 ||
	    f->num_planes > VZ_MAX_PLANES)
		return false;
	for (unsigned m = 0; m < f->num_mem; m++) {
		base[m] = total;
		total += f->mem_size[m];
	}
	memset(offset, 0, sizeof(gsize) * GST_VIDEO_MAX_PLANES);
	memset(stride, 0, sizeof(gint) * GST_VIDEO_MAX_PLANES);
	for (unsigned i = 0; i < f->num_planes; i++) {
		uint32_t m = f->plane[i].mem;
		uint64_t start = (uint64_t)f->plane[i].offset + (info ? info->data_offset[m] : 0);
		if (m >= f->num_mem || f->plane[i].stride > G_MAXINT ||
		    start + (uint64_t)f->plane[i].stride * f->plane[i].height > f->mem_size[m])
			return false;
		offset[i] = base[m] + (gsize)start;
		stride[i] = (gint)f->plane[i].stride;
	}
	return true;
}

bool vzsrc_layout_is_default(const GstVideoInfo *vi, unsigned n_planes,
                             const gsize offset[GST_VIDEO_MAX_PLANES],
                             const gint stride[GST_VIDEO_MAX_PLANES])
{
	if (n_planes != GST_VIDEO_INFO_N_PLANES(vi))
		return false;
	for (unsigned i = 0; i < n_planes; i++)
		if (offset[i] != GST_VIDEO_INFO_PLANE_OFFSET(vi, i) ||
		    stride[i] != GST_VIDEO_INFO_PLANE_STRIDE(vi, i))
			return false;
	return true;
}
