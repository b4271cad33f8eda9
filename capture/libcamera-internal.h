/* SPDX-License-Identifier: MIT */
/*
 * The libcamera backend's C side (libcamera.c), for camera.c and the unit
 * tests: the source contract over a libcamera-shim.h table, the selector
 * and format translations, and the clock judgement.
 */
#ifndef VZ_LIBCAMERA_INTERNAL_H
#define VZ_LIBCAMERA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "capture.h"
#include "errors.h"
#include "libcamera-shim.h"
#include "source.h"

#define VZ_LIBCAMERA_PREFIX "libcamera:"

struct vz_lc;

/* The shim from the vzero-libcamera module; NULL with @err saying how to
 * get it (a build without libcamera, or the library missing at run time). */
const struct vz_lcs_api *vz_lc_load(struct vz_err *err);
/* False in a build without libcamera (meson -Dlibcamera=disabled, or
 * libcamera-dev absent): vz_lc_load then always fails, at no cost. */
bool vz_lc_in_build(void);

/* Opens the camera cfg->device ("libcamera:[NAME|K]") selects through
 * @api, negotiated (cfg fourcc/size/rate/buffers), no buffers yet. */
int vz_lc_open(struct vz_lc **out, const struct vz_lcs_api *api,
               const struct vz_capture_config *cfg, struct vz_err *err);
void vz_lc_close(struct vz_lc *c); /* NULL is fine */
struct vz_source vz_lc_source(struct vz_lc *c);
const char *vz_lc_path(const struct vz_lc *c);   /* "libcamera:ID" */
const char *vz_lc_model(const struct vz_lc *c);  /* properties::Model or the id */
const char *vz_lc_driver(const struct vz_lc *c); /* "libcamera 0.0.3" */
/* What the report should say of this camera's fds and clocks, one clause
 * per line ('\n'-separated), from what the frames so far showed. */
const char *vz_lc_notes(struct vz_lc *c);

/* Prints libcamera's cameras as `vzero devices` does (@sel: only the one
 * a "libcamera:..." selector picks; NULL: all); @json: one object per
 * camera, inside the caller's array (*@first: nothing in it yet). */
int vz_lc_print(const struct vz_lcs_api *api, FILE *out, bool json, bool *first, const char *sel,
                struct vz_err *err);

/* "libcamera:" -> -1 (the first), "libcamera:3" -> 3, a name -> -2 and
 * *name points at it. */
int vz_lc_parse_selector(const char *sel, const char **name);

/* libcamera's pixel formats are DRM fourccs; vzero's are V4L2's.  0 when
 * vzero knows no match. */
uint32_t vz_lc_drm_to_v4l2(uint32_t drm);
uint32_t vz_lc_v4l2_to_drm(uint32_t v4l2);

/* Which clock a SensorTimestamp is on.  libcamera documents it as
 * CLOCK_BOOTTIME; pipeline handlers that copy the V4L2 buffer timestamp
 * into it (vimc, uvc) give CLOCK_MONOTONIC.  Judged against the same
 * frame's buffer timestamp (CLOCK_MONOTONIC) given the offset
 * CLOCK_BOOTTIME - CLOCK_MONOTONIC now: the reading nearer the buffer
 * timestamp wins; with an offset under 1 ms (never suspended) the two
 * cannot be told apart (EITHER).  *@mono is the sensor time on
 * CLOCK_MONOTONIC, read as the clock that won. */
enum vz_lc_clock {
	VZ_LC_CLOCK_MONOTONIC,
	VZ_LC_CLOCK_BOOTTIME,
	VZ_LC_CLOCK_EITHER, /* offset < 1 ms */
};
enum vz_lc_clock vz_lc_sensor_clock(int64_t sensor_ns, int64_t buffer_ns,
                                    int64_t boot_minus_mono_ns, int64_t *mono);

/* True when the kernel device event @msg (a NETLINK_KOBJECT_UEVENT
 * datagram: NUL-separated KEY=VALUE after the header) removes one of the
 * @n character devices @nodes. */
bool vz_lc_uevent_removes(const char *msg, size_t len, const dev_t *nodes, unsigned n);

#endif
