/* SPDX-License-Identifier: MIT */
/*
 * The one place libcamera's C++ meets vzero's C: capture/libcamera-shim.cpp
 * (the vzero-libcamera module, built only when libcamera is found) exposes
 * this table, and capture/libcamera.c builds the source contract on it.
 * Everything vzero decides -- sequence accounting, buffer sets and their
 * lifetime, which buffer goes back when -- is on the C side, so it is
 * tested with a fake table (tests/unit/test_libcamera.c) where no camera
 * exists.
 *
 * The shim owns a CameraManager and at most one acquired camera with one
 * stream, one Request per buffer (cookie = buffer index).  libcamera
 * completes requests on its own thread: the shim queues what completed and
 * adds one to the caller's eventfd (EFD_SEMAPHORE) per entry; a disconnect
 * sets a flag and adds one too.  pop() hands completions out one at a time
 * on the caller's thread.
 *
 * Fds: allocate() gives the caller duplicates of every plane's DMA-buf fd;
 * the caller owns them and they outlive the shim's allocator, the camera
 * and the shim itself.  Every string a call fills is NUL-terminated.
 */
#ifndef VZ_LIBCAMERA_SHIM_H
#define VZ_LIBCAMERA_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "format.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VZ_LCS_ABI     1
#define VZ_LCS_MAX_FMT 32

struct vz_lcs;

/* One camera as the manager lists it. */
struct vz_lcs_camera {
	char id[256];    /* libcamera's id: "platform/vimc.0 Sensor B" */
	char model[128]; /* properties::Model, "" if none */
	/* Stream formats of the VideoRecording role. */
	unsigned nfmt;
	struct {
		uint32_t drm_fourcc; /* libcamera's PixelFormat fourcc (DRM's) */
		uint64_t modifier;
		char name[32]; /* "BGR888" */
		uint32_t min_w, min_h, max_w, max_h, step_w, step_h;
		unsigned nsizes; /* discrete sizes, up to 16 listed */
		uint32_t sizes[16][2];
	} fmt[VZ_LCS_MAX_FMT];
};

/* What configure() asked for (0: the camera's default) and got. */
struct vz_lcs_config {
	uint32_t drm_fourcc;
	uint32_t width, height;
	unsigned buffers;
	/* A fixed frame duration (FrameDurationLimits min = max) applied at
	 * start; 0 leaves the camera's own. */
	int64_t want_frame_ns;
	/* Out: as validated and configured. */
	char fmt_name[32];
	uint32_t stride;     /* bytes per line of the first plane */
	uint32_t frame_size; /* bytes of one frame, 0 if unknown */
	bool adjusted;       /* validate() changed what was asked */
	char adjusted_to[96];
	/* FrameDurationLimits (ns), 0 when the camera does not say. */
	int64_t min_frame_ns, max_frame_ns;
};

struct vz_lcs_plane {
	int fd; /* the caller's duplicate */
	uint32_t offset, length;
	bool same_fd_as_prev; /* the DMA-buf of the plane before */
};

enum vz_lcs_status {
	VZ_LCS_FRAME_OK = 0,
	VZ_LCS_FRAME_ERROR,
	VZ_LCS_FRAME_CANCELLED,
};

struct vz_lcs_done {
	unsigned index; /* buffer = request cookie */
	enum vz_lcs_status status;
	uint32_t sequence;
	uint64_t timestamp_ns; /* FrameMetadata::timestamp */
	bool has_sensor_ts;
	int64_t sensor_ts_ns;   /* controls::SensorTimestamp */
	int64_t t_completed_ns; /* CLOCK_MONOTONIC when libcamera completed it */
	unsigned nplanes;
	uint32_t bytesused[VZ_MAX_PLANES];
};

struct vz_lcs_api {
	uint32_t abi;        /* VZ_LCS_ABI */
	const char *version; /* libcamera's */
	/* Starts a CameraManager; completions and disconnects are signalled
	 * on @event_fd (not owned). */
	int (*create)(struct vz_lcs **out, int event_fd, struct vz_err *err);
	void (*destroy)(struct vz_lcs *l); /* NULL is fine; releases first */
	unsigned (*count)(struct vz_lcs *l);
	int (*describe)(struct vz_lcs *l, unsigned index, struct vz_lcs_camera *out,
	                struct vz_err *err);
	/* Acquires the camera with @id (-ENODEV: not present now; -EBUSY:
	 * another process has it). */
	int (*acquire)(struct vz_lcs *l, const char *id, struct vz_err *err);
	int (*configure)(struct vz_lcs *l, struct vz_lcs_config *cfg, struct vz_err *err);
	/* Allocates cfg.buffers buffers and a Request for each; planes[i][p]. */
	int (*allocate)(struct vz_lcs *l, unsigned *count, unsigned *nplanes,
	                struct vz_lcs_plane planes[][VZ_MAX_PLANES], struct vz_err *err);
	int (*start)(struct vz_lcs *l, struct vz_err *err);
	int (*queue)(struct vz_lcs *l, unsigned index, struct vz_err *err);
	/* Stops streaming; requests cancelled by it are not reported. */
	void (*stop)(struct vz_lcs *l);
	/* Frees the allocator and requests and releases the camera. */
	void (*release)(struct vz_lcs *l);
	/* 1 and *out filled, 0 nothing completed. */
	int (*pop)(struct vz_lcs *l, struct vz_lcs_done *out);
	bool (*disconnected)(struct vz_lcs *l);
	/* The camera's device is gone and libcamera did not notice (its
	 * pipeline handler does not handle hot-unplug: vimc in 0.0.3).
	 * Unregisters the camera so libcamera can register it again when it
	 * comes back -- it would abort on a duplicate id otherwise -- and
	 * leaves its objects untouched: stopping a camera whose device
	 * vanished aborts libcamera 0.0.3.  They are kept until the process
	 * ends. */
	void (*forget)(struct vz_lcs *l);
};

/* The module's one exported symbol. */
const struct vz_lcs_api *vz_lcs_api(void);

#ifdef __cplusplus
}
#endif
#endif
