/* SPDX-License-Identifier: MIT */
/*
 * V4L2 formats in GStreamer's terms: the raw-video format names, V4L2's
 * colorimetry with its DEFAULT rules spelled out, the plane layout
 * GstVideoMeta carries, and the caps appsrc offers.  Pure functions, unit
 * tested on the host (tests/unit/test_gst_caps.c).
 */
#include <errno.h>
#include <limits.h>
#include <linux/videodev2.h>
#include <stdbool.h>
#include <string.h>

#include "gst-internal.h"

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
        /* V4L2 names 32-bit RGB by its little-endian word: XBGR32 is B,G,R,X
         * in memory, GStreamer names the bytes in memory order. */
        {V4L2_PIX_FMT_XBGR32, GST_VIDEO_FORMAT_BGRx},
        {V4L2_PIX_FMT_ABGR32, GST_VIDEO_FORMAT_BGRA},
        {V4L2_PIX_FMT_RGBX32, GST_VIDEO_FORMAT_RGBx},
        {V4L2_PIX_FMT_RGBA32, GST_VIDEO_FORMAT_RGBA},
        {V4L2_PIX_FMT_XRGB32, GST_VIDEO_FORMAT_xRGB},
        {V4L2_PIX_FMT_ARGB32, GST_VIDEO_FORMAT_ARGB},
        /* the deprecated ambiguous pair, as V4L2 documents their memory order */
        {V4L2_PIX_FMT_BGR32, GST_VIDEO_FORMAT_BGRx},
        {V4L2_PIX_FMT_RGB32, GST_VIDEO_FORMAT_xRGB},
        {V4L2_PIX_FMT_RGB565, GST_VIDEO_FORMAT_RGB16},
        {V4L2_PIX_FMT_GREY, GST_VIDEO_FORMAT_GRAY8},
        {V4L2_PIX_FMT_Y16, GST_VIDEO_FORMAT_GRAY16_LE},
};

GstVideoFormat vz_gst_video_format(uint32_t fourcc)
{
	for (size_t i = 0; i < sizeof(format_map) / sizeof(format_map[0]); i++)
		if (format_map[i].fourcc == fourcc)
			return format_map[i].gst;
	return GST_VIDEO_FORMAT_UNKNOWN;
}

const char *vz_gst_format_name(uint32_t fourcc)
{
	GstVideoFormat g = vz_gst_video_format(fourcc);

	return g == GST_VIDEO_FORMAT_UNKNOWN ? NULL : gst_video_format_to_string(g);
}

static bool fourcc_is_rgb(uint32_t fourcc)
{
	const GstVideoFormatInfo *fi = gst_video_format_get_info(vz_gst_video_format(fourcc));

	return fi && GST_VIDEO_FORMAT_INFO_IS_RGB(fi);
}

static bool fourcc_is_gray(uint32_t fourcc)
{
	const GstVideoFormatInfo *fi = gst_video_format_get_info(vz_gst_video_format(fourcc));

	return fi && GST_VIDEO_FORMAT_INFO_IS_GRAY(fi);
}

/* V4L2's colorimetry (with its DEFAULT rules spelled out) in GStreamer's
 * terms.  Matrices only mean something for YUV: RGB gets the RGB matrix,
 * GStreamer rejects anything else there. */
static void colorimetry_of(const struct vz_format *f, GstVideoColorimetry *c)
{
	bool rgb = fourcc_is_rgb(f->fourcc);
	bool gray = fourcc_is_gray(f->fourcc);
	uint32_t cs = f->colorspace, xfer, enc, quant;

	if (cs == V4L2_COLORSPACE_DEFAULT)
		cs = V4L2_MAP_COLORSPACE_DEFAULT(!rgb && f->height <= 576, !rgb && f->height > 576);
	xfer = f->xfer_func ? f->xfer_func : V4L2_MAP_XFER_FUNC_DEFAULT(cs);
	enc = f->ycbcr_enc ? f->ycbcr_enc : V4L2_MAP_YCBCR_ENC_DEFAULT(cs);
	quant = f->quantization ? f->quantization : V4L2_MAP_QUANTIZATION_DEFAULT(rgb, cs, enc);

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
		/* Same curve; GStreamer names it BT601 for SD video ("bt601"
		 * colorimetry) and BT2020_10 for BT.2020, as its v4l2src does. */
		if (cs == V4L2_COLORSPACE_BT2020)
			c->transfer = GST_VIDEO_TRANSFER_BT2020_10;
		else if (cs == V4L2_COLORSPACE_SMPTE170M || cs == V4L2_COLORSPACE_BT878 ||
		         cs == V4L2_COLORSPACE_470_SYSTEM_M || cs == V4L2_COLORSPACE_470_SYSTEM_BG)
			c->transfer = GST_VIDEO_TRANSFER_BT601;
		else
			c->transfer = GST_VIDEO_TRANSFER_BT709;
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

	if (rgb) {
		c->matrix = GST_VIDEO_COLOR_MATRIX_RGB;
	} else if (gray) {
		/* Luma only: no chroma to convert with a matrix. */
		c->matrix = GST_VIDEO_COLOR_MATRIX_UNKNOWN;
	} else {
		switch (enc) {
		case V4L2_YCBCR_ENC_709:
		case V4L2_YCBCR_ENC_XV709:
			c->matrix = GST_VIDEO_COLOR_MATRIX_BT709;
			break;
		case V4L2_YCBCR_ENC_BT2020:
		case V4L2_YCBCR_ENC_BT2020_CONST_LUM:
			c->matrix = GST_VIDEO_COLOR_MATRIX_BT2020;
			break;
		case V4L2_YCBCR_ENC_SMPTE240M:
			c->matrix = GST_VIDEO_COLOR_MATRIX_SMPTE240M;
			break;
		default:
			c->matrix = GST_VIDEO_COLOR_MATRIX_BT601;
			break;
		}
	}
	c->range = quant == V4L2_QUANTIZATION_FULL_RANGE ? GST_VIDEO_COLOR_RANGE_0_255
	                                                 : GST_VIDEO_COLOR_RANGE_16_235;
}

static int copy_out(const char *s, char *buf, size_t len)
{
	size_t n = strlen(s);

	if (n >= len)
		return -ENOSPC;
	memcpy(buf, s, n + 1);
	return (int)n;
}

void vz_gst_ensure_init(void)
{
	/* GStreamer's own once-only global; idempotent. */
	if (!gst_is_initialized())
		gst_init(NULL, NULL);
	/* autovideosink tries video sinks by rank, and DirectFB's (in
	 * gstreamer1.0-plugins-bad) crashes the process from its own thread on
	 * a machine without a framebuffer console.  Out of the automatic
	 * choice only: asked for by name, it still works. */
	GstPluginFeature *dfb = gst_registry_lookup_feature(gst_registry_get(), "dfbvideosink");
	if (dfb) {
		gst_plugin_feature_set_rank(dfb, GST_RANK_NONE);
		gst_object_unref(dfb);
	}
}

int vz_gst_colorimetry(const struct vz_format *f, char *buf, size_t len)
{
	GstVideoColorimetry c;
	gchar *s;
	int ret;

	if (!f || !buf || vz_gst_video_format(f->fourcc) == GST_VIDEO_FORMAT_UNKNOWN)
		return -EINVAL;
	vz_gst_ensure_init();
	colorimetry_of(f, &c);
	s = gst_video_colorimetry_to_string(&c);
	if (!s)
		return -EINVAL;
	ret = copy_out(s, buf, len);
	g_free(s);
	return ret;
}

int vz_gst_layout(const struct vz_format *f, struct vz_gst_layout *out)
{
	size_t base[VZ_MAX_PLANES] = {0};

	if (!f || !out || f->num_mem < 1 || f->num_mem > VZ_MAX_PLANES || f->num_planes < 1 ||
	    f->num_planes > VZ_MAX_PLANES)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->n_mem = f->num_mem;
	out->n_planes = f->num_planes;
	for (unsigned m = 0; m < f->num_mem; m++) {
		if (!f->mem_size[m])
			return -EINVAL;
		base[m] = out->size;
		out->mem_size[m] = f->mem_size[m];
		out->size += f->mem_size[m];
	}
	for (unsigned i = 0; i < f->num_planes; i++) {
		uint32_t m = f->plane[i].mem;
		uint64_t end;

		if (m >= f->num_mem || f->plane[i].stride > INT_MAX)
			return -EINVAL;
		end = (uint64_t)f->plane[i].offset +
		      (uint64_t)f->plane[i].stride * f->plane[i].height;
		if (end > f->mem_size[m])
			return -EINVAL;
		out->offset[i] = base[m] + f->plane[i].offset;
		out->stride[i] = (int)f->plane[i].stride;
	}
	return 0;
}

GstCaps *vz_gst_caps_of(const struct vz_format *f)
{
	GstVideoFormat g = vz_gst_video_format(f->fourcc);
	GstVideoInfo info;

	if (g == GST_VIDEO_FORMAT_UNKNOWN || !f->width || !f->height)
		return NULL;
	gst_video_info_init(&info);
	if (!gst_video_info_set_format(&info, g, f->width, f->height))
		return NULL;
	if (f->fps_num && f->fps_den) {
		info.fps_n = (gint)f->fps_num;
		info.fps_d = (gint)f->fps_den;
	} else {
		info.fps_n = 0; /* variable rate */
		info.fps_d = 1;
	}
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
	colorimetry_of(f, &info.colorimetry);
	return gst_video_info_to_caps(&info);
}

int vz_gst_caps_from_format(const struct vz_format *f, char *buf, size_t len)
{
	GstCaps *caps;
	gchar *s;
	int ret;

	if (!f || !buf)
		return -EINVAL;
	vz_gst_ensure_init();
	caps = vz_gst_caps_of(f);
	if (!caps)
		return -EINVAL;
	s = gst_caps_to_string(caps);
	ret = copy_out(s, buf, len);
	g_free(s);
	gst_caps_unref(caps);
	return ret;
}
