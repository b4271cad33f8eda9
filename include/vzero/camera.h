/* SPDX-License-Identifier: MIT */
/*
 * Cameras: one selector, either capture backend, one source contract.
 *
 *   -d libcamera:        the first camera libcamera lists
 *   -d libcamera:K       camera K (from 0) in libcamera's order
 *   -d libcamera:NAME    the first whose id or model contains NAME (any case)
 *   anything else        a V4L2 node, as vz_device_resolve() (capture.h)
 *                        resolves it
 * The "libcamera:" prefix is looked at first, so a V4L2 card called
 * "libcamera" is still reached by path.
 *
 * The libcamera backend (embedded cameras behind a media graph: Raspberry
 * Pi, Rockchip, i.MX, IPU3; vimc in the test VM) lives in the module
 * vzero-libcamera, the only C++ in vzero, loaded on first use; a build
 * without libcamera works in full and -d libcamera: says how to get it.
 * Its buffers come from libcamera's FrameBufferAllocator; each frame's
 * Request is queued again only when the pipeline gives the buffer back
 * (every sink released it).  Per frame: libcamera's sequence (gaps are
 * driver drops, as for V4L2), FrameMetadata::timestamp as t_driver_ns,
 * SensorTimestamp as t_sensor_ns (converted to CLOCK_MONOTONIC), bytesused
 * per plane; frames whose metadata says FrameError are error frames.
 * libcamera exports read-write DMA-bufs only: such sets have fd_ro = -1
 * (buffer.h), and vz_camera_notes() says so.  A camera libcamera removes
 * (unplug, driver unbound) is a disconnect: -ENODEV from next(), then
 * reconnect() finds it again by id.
 *
 * Threading: one thread makes every call (the source contract's rule).
 */
#ifndef VZERO_CAMERA_H
#define VZERO_CAMERA_H

#include <stdbool.h>
#include <stdio.h>

#include "capture.h"
#include "errors.h"
#include "source.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vz_camera;

/* True when @selector names a libcamera camera. */
bool vz_camera_is_libcamera(const char *selector);

/* Opens cfg->device with its backend (cfg.io, import_drm_node, libv4l2 and
 * blocking are V4L2's; a libcamera camera refuses them with a message). */
int vz_camera_open(struct vz_camera **out, const struct vz_capture_config *cfg, struct vz_err *err);
void vz_camera_close(struct vz_camera *c); /* NULL is fine */

struct vz_source vz_camera_source(struct vz_camera *c);
const char *vz_camera_backend(const struct vz_camera *c); /* "v4l2", "libcamera" */
const char *vz_camera_path(const struct vz_camera *c);    /* /dev/videoN, libcamera:ID */
const char *vz_camera_card(const struct vz_camera *c);    /* card, or the model */
const char *vz_camera_driver(const struct vz_camera *c);  /* driver, "libcamera 0.0.3" */
/* What a report should add about this camera's buffers and clocks, lines
 * separated by '\n' ("" for V4L2: its report says it all). */
const char *vz_camera_notes(struct vz_camera *c);
/* The V4L2 capture behind @c, NULL for libcamera. */
struct vz_capture *vz_camera_v4l2(struct vz_camera *c);

/* vz_devices_print() (capture.h) followed by libcamera's cameras: in the
 * JSON array as {backend: "libcamera", path: "libcamera:K", id, card,
 * formats: [{fourcc (vzero's, null if it has none), libcamera: "BGR888",
 * range: {min_width, ...}, sizes: [{width, height}]}]}; in the text, a
 * section of its own, or a line saying why there is none. */
int vz_cameras_print(FILE *out, bool json, struct vz_err *err);
/* The same for one selector (either backend). */
int vz_camera_print(FILE *out, const char *selector, bool json, struct vz_err *err);

#ifdef __cplusplus
}
#endif
#endif
