/* SPDX-License-Identifier: MIT */
/*
 * Private to the vzerosrc plugin: the server's formats in GStreamer's
 * terms (vzerosrc-caps.c), for the element (gstvzerosrc.c).
 *
 * The GStreamer sink has the same mapping (sink/gst-caps.c), but it is that
 * module's private code, a layer below and never linked into a plugin that
 * GStreamer loads: this one is its own, kept to the same table.
 */
#ifndef VZ_VZEROSRC_H
#define VZ_VZEROSRC_H

#include <stdbool.h>

#include <gst/gst.h>
#include <gst/video/video.h>

#include "format.h"
#include "frame.h"

/* The raw-video formats vzerosrc can hand out, for its pad template. */
#define VZSRC_FORMATS                                                                              \
	"{ YUY2, UYVY, YVYU, VYUY, NV12, NV21, NV16, NV61, I420, YV12, Y42B, RGB, BGR, BGRx, "     \
	"BGRA, RGBx, RGBA, xRGB, ARGB, RGB16, GRAY8, GRAY16_LE }"

/* GST_VIDEO_FORMAT_UNKNOWN when GStreamer has no name for @fourcc. */
GstVideoFormat vzsrc_video_format(uint32_t fourcc);

/* Fixed video/x-raw caps for @f (format, size, rate, interlacing,
 * colorimetry), or NULL when its fourcc has no GstVideoFormat. */
GstCaps *vzsrc_caps_of(const struct vz_format *f);

/* Where GstVideoMeta says the colour planes are, in the buffer made of the
 * frame's memory planes in order (each of f->mem_size bytes), a driver's
 * per-frame data_offset included.  False when the layout is inconsistent
 * (a plane past its memory's end). */
bool vzsrc_layout(const struct vz_format *f, const struct vz_frame_info *info,
                  gsize offset[GST_VIDEO_MAX_PLANES], gint stride[GST_VIDEO_MAX_PLANES]);

/* Whether an element that ignores GstVideoMeta reads such a frame right:
 * the offsets and strides are GStreamer's defaults for @vi. */
bool vzsrc_layout_is_default(const GstVideoInfo *vi, unsigned n_planes,
                             const gsize offset[GST_VIDEO_MAX_PLANES],
                             const gint stride[GST_VIDEO_MAX_PLANES]);

#endif
