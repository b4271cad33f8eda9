/* SPDX-License-Identifier: MIT */
/*
 * Private to the display sink: the KMS device behind one table of
 * operations, so the sink's flip logic (drm.c) never knows whether atomic
 * or legacy KMS drives the screen (drm-kms.c), and a unit test can drive it
 * with a fake display whose flips complete when the test says.
 */
#ifndef VZ_SINK_DRM_INTERNAL_H
#define VZ_SINK_DRM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <xf86drmMode.h>

#include "errors.h"
#include "format.h"
#include "sink.h"

/* What `--sink drm:...` asked for. */
struct vz_drm_opts {
	char device[128];                 /* "" (first display), /dev/dri/cardN or a driver name */
	char connector[32];               /* "" (first connected), a name ("Virtual-1") or an id */
	char plane[16];                   /* "" (auto), "primary", "overlay" or an id */
	uint32_t mode_w, mode_h, mode_hz; /* 0: chosen for the frame */
	int32_t x, y;                     /* where the frame goes on an overlay */
	bool fifo;                        /* policy=fifo (default mailbox) */
	bool legacy;                      /* legacy=1: SetCrtc/PageFlip even where atomic exists */
	int buffers;                      /* 0 auto, 1 import only, 2 allocate only */
	char writeback[256];              /* writeback=FILE: the composition, as a PPM */
};

/* Parses the part after "drm" ("", ":vkms,plane=overlay,x=16").  -EINVAL
 * with the offending key named. */
int vz_drm_parse(const char *spec, struct vz_drm_opts *o, struct vz_err *err);

/* DRM fourcc for a V4L2 one, 0 if a display cannot take it as is. */
uint32_t vz_drm_fourcc(uint32_t v4l2_fourcc);

enum {
	KP_FB_ID,
	KP_CRTC_ID,
	KP_SRC_X,
	KP_SRC_Y,
	KP_SRC_W,
	KP_SRC_H,
	KP_CRTC_X,
	KP_CRTC_Y,
	KP_CRTC_W,
	KP_CRTC_H,
	KP_COLOR_ENCODING,
	KP_COLOR_RANGE,
	KP_COUNT
};

struct vz_kms_plane {
	uint32_t id;
	uint64_t type; /* DRM_PLANE_TYPE_* */
	uint32_t prop[KP_COUNT];
	uint64_t saved[KP_COUNT];
	uint64_t encoding, range; /* enum values for the frame, if props exist */
};

struct vz_kms;

struct vz_kms_ops {
	const char *name; /* "atomic", "legacy", "fake" */
	/* A DMA-buf into a GEM handle of this device (PRIME import). */
	int (*import)(struct vz_kms *k, int dmabuf_fd, uint32_t *handle, struct vz_err *err);
	void (*close_handle)(struct vz_kms *k, uint32_t handle);
	int (*add_fb)(struct vz_kms *k, const struct vz_format *f,
	              const uint32_t handle[VZ_MAX_PLANES], uint64_t modifier, uint32_t *fb,
	              struct vz_err *err);
	void (*rm_fb)(struct vz_kms *k, uint32_t fb);
	/* Picks plane and mode for frames of @f and proves the layout with @fb
	 * (TEST_ONLY where there is atomic).  -EXDEV: this device cannot show
	 * these buffers (where other buffers might do). */
	int (*configure)(struct vz_kms *k, const struct vz_format *f, uint64_t modifier,
	                 uint32_t fb, struct vz_err *err);
	/* Puts @fb on screen: 0 when the flip is queued (its completion comes
	 * through on_flip with @user), 1 when it was shown before returning. */
	int (*flip)(struct vz_kms *k, uint32_t fb, uint64_t user, struct vz_err *err);
	/* Reads the events waiting on the fd. */
	int (*dispatch)(struct vz_kms *k);
	/* Puts back what was on screen before the first flip. */
	void (*restore)(struct vz_kms *k);
	void (*close)(struct vz_kms *k);
};

struct vz_kms {
	const struct vz_kms_ops *ops;
	int fd;
	char node[64];
	char driver[32];
	/* Called from dispatch() for each completed flip; t_ns CLOCK_MONOTONIC. */
	void (*on_flip)(void *data, uint64_t user, int64_t t_ns);
	void *data;
	/* What was chosen, in words for the report ("Virtual-1, 640x480@60,
	 * overlay plane 40 at 16,16"). */
	char config[160];
	/* The formats the planes on this CRTC take, for error messages. */
	char formats[160];
};

/* Opens the device of @o and picks connector and CRTC (drm-kms.c). */
int vz_kms_open(struct vz_kms **out, const struct vz_drm_opts *o, struct vz_err *err);
static inline void vz_kms_close(struct vz_kms *k)
{
	if (k)
		k->ops->close(k);
}

/* Writes what the writeback connector composed at the last flip into
 * @path as a PPM (P6); -ENOTSUP without writeback=FILE. */
int vz_kms_writeback_save(struct vz_kms *k, const char *path, struct vz_err *err);

/* The sink over an opened device (tests pass a fake); takes @kms. */
int vz_sink_drm_create_with(struct vz_kms *kms, const struct vz_drm_opts *o, const char *spec,
                            struct vz_sink *out, struct vz_err *err);

#endif
