/* SPDX-License-Identifier: MIT */
/*
 * The GStreamer sink: `--sink gst:"<launch description>"` runs
 * `appsrc ! <description>` and hands every frame to it as a GstBuffer whose
 * memories are the frame's read-only DMA-buf fds (gstreamer-allocators), one
 * memory per V4L2 memory plane, with a GstVideoMeta carrying strides and
 * offsets.  No byte of a frame is copied by vzero.
 *
 * It keeps its GStreamer pipeline across buffer-set changes: a reconnect in
 * the same format continues the stream (the next buffer is DISCONT, its
 * timestamp shows the hole), a new format sends new caps, and a description
 * that cannot take them (a muxer past its header) ends its stream cleanly
 * (EOS, the file finalised) while the run goes on.  Its policy (sink.h) is
 * record when the description writes a file or muxes, live otherwise.
 *
 * The sink lives in its own module (vzero-gst.so), loaded only when a gst:
 * sink is asked for, so nothing else in vzero pulls in GStreamer.  Nothing
 * in this header needs GStreamer's headers.
 */
#ifndef VZERO_SINK_GST_H
#define VZERO_SINK_GST_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "format.h"
#include "sink.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Parses "appsrc name=vzsrc ! <description>" (fails here, with the element
 * named, for an unparsable description or a missing element) and fills @out.
 * The pipeline is built now and started by the sink's start().
 */
int vz_sink_gst_create(const char *description, struct vz_sink *out, struct vz_err *err);

/*
 * The caps vzero offers for @f, as a caps string:
 * "video/x-raw, format=(string)YUY2, width=(int)640, ..., colorimetry=..."
 * Returns the string length, -EINVAL for a format GStreamer has no raw
 * equivalent for, -ENOSPC if @len is too small.
 */
int vz_gst_caps_from_format(const struct vz_format *f, char *buf, size_t len);

/* GStreamer's name for a V4L2 fourcc ("YUY2" for YUYV), NULL if none. */
const char *vz_gst_format_name(uint32_t fourcc);

/*
 * Where each colour plane sits in the GstBuffer vzero pushes: the memory
 * planes are appended in order, each mem_size[] bytes long, so an offset
 * counts from the start of the first memory across the ones before it
 * (what GstVideoMeta expects).
 */
struct vz_gst_layout {
	unsigned n_planes; /* colour planes */
	unsigned n_mem;    /* memories in the buffer */
	size_t offset[VZ_MAX_PLANES];
	int stride[VZ_MAX_PLANES];
	size_t mem_size[VZ_MAX_PLANES]; /* bytes of each memory in the buffer */
	size_t size;                    /* sum of mem_size */
};

/* -EINVAL when @f is inconsistent (a plane past its memory's end). */
int vz_gst_layout(const struct vz_format *f, struct vz_gst_layout *out);

/*
 * The colorimetry string ("bt601", "sRGB", "1:4:7:1" ...) GStreamer gets for
 * @f's V4L2 colorspace/ycbcr_enc/quantization/xfer_func, with V4L2's rules
 * for the DEFAULT values (SD YUV -> BT.601, HD YUV -> BT.709, RGB -> sRGB).
 * Returns the length or a negative errno as vz_gst_caps_from_format().
 */
int vz_gst_colorimetry(const struct vz_format *f, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
