/* SPDX-License-Identifier: MIT */
/*
 * Pixel formats and the layout of a frame in memory.
 *
 * Two kinds of "plane" meet here and must not be confused:
 *  - memory planes: the separate buffers V4L2 hands out (1 for single-planar
 *    formats, 1..3 for multi-planar V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE);
 *    each has its own DMA-buf fd;
 *  - colour planes: Y, UV, ... as the pixel format defines them.  NV12 has
 *    two colour planes, which live in one memory plane (NV12, single-planar)
 *    or in two (NM12, multi-planar).
 * struct vz_format maps each colour plane to (memory plane, offset, stride),
 * so processors, the stamp and the sinks never care which case they got.
 */
#ifndef VZERO_FORMAT_H
#define VZERO_FORMAT_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VZ_MAX_PLANES 3

#define VZ_FOURCC(a, b, c, d)                                                                      \
	((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))

/* Static description of a pixel format vzero understands. */
struct vz_format_desc {
	uint32_t fourcc;      /* V4L2 fourcc (V4L2_PIX_FMT_*) */
	const char *name;     /* "YUYV", "NV12", ... */
	unsigned num_planes;  /* colour planes */
	bool multiplanar_mem; /* fourcc implies one memory plane per colour
	                         plane (NM12, YM12, ...) */
	bool yuv;             /* false: RGB family */
	/* Per colour plane: bytes per "pixel group" and group width in
	 * pixels (YUYV: 4 bytes per 2 pixels), vertical subsampling. */
	struct {
		unsigned bytes_per_group;
		unsigned group_width;
		unsigned vsub;
	} plane[VZ_MAX_PLANES];
	/* Chroma subsampling (1, 1 for RGB and GREY).  Luma is never
	 * subsampled; chroma sample (x / hsub, y / vsub) covers pixel (x, y). */
	unsigned hsub, vsub;
	/* Where each component's samples sit, so pixel code (stamp, mask,
	 * tests) needs no per-format switch: Y, Cb, Cr for YUV, R, G, B for
	 * RGB; GREY has only Y.  Sample n of a line of colour plane @plane is
	 * at byte offset + n * step (n counts chroma samples for Cb/Cr). */
	unsigned num_comps;
	struct {
		uint8_t plane;
		uint8_t offset;
		uint8_t step;
	} comp[3];
};

/* NULL if vzero does not know @fourcc. */
const struct vz_format_desc *vz_format_desc_find(uint32_t fourcc);

/* The formats vzero knows, for listings and tests: entry @i, or NULL when
 * @i is past the end. */
const struct vz_format_desc *vz_format_desc_at(unsigned i);

/* Writes the fourcc as 4 printable characters + NUL into @buf (>= 5 bytes),
 * non-printable bytes as '?'.  Returns buf. */
char *vz_fourcc_str(uint32_t fourcc, char buf[5]);

/* Parses "YUYV", "nv12", ... (case-sensitive per V4L2, but we accept any
 * case for the names vzero knows, and the V4L2_PIX_FMT_ names "RGB24",
 * "YUV420", "XBGR32", ...).  Any other 4 printable characters are taken
 * verbatim so a driver-only format (MJPG) can still be requested.
 * Returns 0 and sets *out, or -EINVAL. */
int vz_fourcc_parse(const char *s, uint32_t *out);

/* A negotiated format: what the driver agreed to, as we'll lay it out. */
struct vz_format {
	uint32_t fourcc;
	uint32_t width, height;
	uint32_t num_mem;    /* memory planes */
	uint32_t num_planes; /* colour planes */
	struct {
		uint32_t mem;    /* index of the memory plane holding it */
		uint32_t offset; /* byte offset within that memory plane */
		uint32_t stride; /* bytes per line */
		uint32_t height; /* lines in this plane (after vsub) */
	} plane[VZ_MAX_PLANES];
	uint32_t mem_size[VZ_MAX_PLANES]; /* sizeimage per memory plane */
	uint32_t fps_num, fps_den;        /* frame rate = num/den, 0/0 unknown */
	/* V4L2 colorimetry, passed on to sinks as the driver said it. */
	uint32_t colorspace, ycbcr_enc, quantization, xfer_func, field;
};

/*
 * Fills the colour-plane layout of @f from fourcc, width, height, the
 * per-memory-plane strides in @mem_stride and sizes in f->mem_size (what
 * S_FMT returned).  Used by the capture backends and by tests.
 * A zero stride means "tightly packed" (derived from the width, or for the
 * 2nd/3rd memory plane from the 1st); a zero mem_size is filled in.
 * Returns 0, or -EINVAL for an unknown fourcc, a zero size or a stride
 * shorter than one line.
 */
int vz_format_layout(struct vz_format *f, const uint32_t mem_stride[VZ_MAX_PLANES]);

/* Bytes of picture data in one frame (sum of plane stride*height). */
uint64_t vz_format_frame_bytes(const struct vz_format *f);

/* Nominal frame interval in ns, 0 if the rate is unknown. */
int64_t vz_format_interval_ns(const struct vz_format *f);

#ifdef __cplusplus
}
#endif
#endif
