/* SPDX-License-Identifier: MIT */
/*
 * Built-in in-place processors.
 *
 * stamp: writes the frame's driver sequence number and capture timestamp
 * into the top-left corner of the picture, twice over: as a grid of black
 * and white cells a machine reads back (vz_stamp_read, with a magic and a
 * CRC so a damaged or absent stamp is reported, never misread), and as
 * digits a person reads.  Cells are large and pure black/white with neutral
 * chroma, so the stamp survives chroma subsampling and colour conversion
 * (videoconvert to RGB, PNG snapshots): any receiver can identify the frame
 * and compute end-to-end latency against CLOCK_MONOTONIC.
 *
 * mask: fills rectangles with black (privacy masks), clipped to the frame,
 * aligned outward to the format's chroma grid so no coloured fringe is
 * left.
 *
 * Both work on packed YUV 4:2:2 (YUYV, UYVY, YVYU, VYUY), NV12/NV21 (and
 * their multi-planar NM12/NM21), YUV420/YVU420, and the 24/32-bit RGB
 * formats vivid and most cameras offer.
 */
#ifndef VZERO_PROCESS_H
#define VZERO_PROCESS_H

#include <stdbool.h>
#include <stdint.h>

#include "errors.h"
#include "frame.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Stamp layout (pixels from the top-left corner, any supported format):
 *  - a grid of VZ_STAMP_COLS x VZ_STAMP_ROWS cells (16 x 8), each
 *    VZ_STAMP_CELL (8) pixels square: 128 x 64 pixels.  A cell is white
 *    (Y 235 / RGB 255) for a 1, black (Y 16 / RGB 0) for a 0, chroma 128
 *    under the whole stamp.  Cell i = row * 16 + col carries bit 7 - i % 8
 *    of byte i / 8 of: magic VZ_STAMP_MAGIC (16 bits), sequence (32),
 *    timestamp ns (64, two's complement), CRC-16/CCITT-FALSE (poly 0x1021,
 *    init 0xffff) of the 14 bytes before it; all big-endian.
 *  - a decoder averages the luma of the 2x2 centre pixels of each cell
 *    (luma from RGB with BT.601 weights) and thresholds at the midpoint.
 *  - below the grid a 14-pixel text line, white on black, 3x5 glyphs drawn
 *    2x: "#<sequence> <seconds>.<micros>".
 * The whole block is VZ_STAMP_W x VZ_STAMP_H (242 x 78) whatever the
 * values, and only that block is touched.
 */
#define VZ_STAMP_CELL  8
#define VZ_STAMP_COLS  16
#define VZ_STAMP_ROWS  8
#define VZ_STAMP_MAGIC 0x565a /* "VZ" */
#define VZ_STAMP_W     242
#define VZ_STAMP_H     78

struct vz_stamp {
	uint32_t sequence;
	int64_t t_ns; /* capture timestamp (driver clock, ns) */
};

/* Width and height in pixels the stamp occupies for @fmt (0 if the frame
 * is too small for it). */
void vz_stamp_size(const struct vz_format *fmt, uint32_t *w, uint32_t *h);

int vz_stamp_write(struct vz_frame_map *m, const struct vz_stamp *s, struct vz_err *err);
/* 0 and *out on success; -ENOENT when no valid stamp is found. */
int vz_stamp_read(const struct vz_frame_map *m, struct vz_stamp *out);

/* Processor form: stamps m->info's sequence and driver timestamp. */
int vz_stamp_process(void *ctx, struct vz_frame_map *m, struct vz_err *err);

struct vz_rect {
	int32_t x, y;
	uint32_t w, h;
};

#define VZ_MASK_MAX_RECTS 16
struct vz_mask {
	unsigned count;
	struct vz_rect rect[VZ_MASK_MAX_RECTS];
};

/* Parses "x,y,w,h" (appends to @mask). */
int vz_mask_parse(struct vz_mask *mask, const char *s, struct vz_err *err);
int vz_mask_fill(struct vz_frame_map *m, const struct vz_rect *r, struct vz_err *err);
/* Processor form: ctx is a struct vz_mask *. */
int vz_mask_process(void *ctx, struct vz_frame_map *m, struct vz_err *err);

#ifdef __cplusplus
}
#endif
#endif
