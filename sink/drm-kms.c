/* SPDX-License-Identifier: MIT */
/*
 * The display device: which card, connector, CRTC, plane and mode, and the
 * two ways of putting a framebuffer on screen -- atomic (TEST_ONLY before
 * the first frame, non-blocking commits with a flip event) and legacy
 * (SetCrtc once, then PageFlip) -- behind one table (drm-internal.h).
 * Also the configuration that was on screen before, put back on close.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "clock.h"
#include "drm-internal.h"

#define MAX_PLANES 32
#define MAX_MODES  128
#define MAX_CONNS  8

static const char *const plane_prop_names[KP_COUNT] = {
        "FB_ID",  "CRTC_ID", "SRC_X",  "SRC_Y",  "SRC_W",          "SRC_H",
        "CRTC_X", "CRTC_Y",  "CRTC_W", "CRTC_H", "COLOR_ENCODING", "COLOR_RANGE",
};

struct kms_dev {
	struct vz_kms pub;
	struct vz_drm_opts o;
	bool atomic;
	bool monotonic; /* flip event times are CLOCK_MONOTONIC */
	uint32_t conn_id, crtc_id;
	unsigned crtc_index;
	bool wb; /* the connector is a writeback connector */
	char conn_name[32];
	uint32_t conn_prop_crtc, conn_prop_wb_fb, conn_prop_wb_fence;
	uint32_t crtc_prop_mode, crtc_prop_active;
	drmModeModeInfo modes[MAX_MODES];
	unsigned nmodes;
	struct vz_kms_plane planes[MAX_PLANES];
	uint32_t plane_in_formats[MAX_PLANES]; /* IN_FORMATS blob, 0 if none */
	unsigned nplanes;
	/* The configuration chosen. */
	int plane, primary;
	bool overlay;
	drmModeModeInfo mode;
	uint32_t mode_blob;
	uint32_t fw, fh;
	bool modeset_done;
	uint32_t last_fb;   /* on screen (or flipping) */
	uint64_t flip_user; /* the sink's token for the flip in progress */
	/* Background on the primary plane under an overlay; writeback target. */
	uint32_t bg_handle, bg_fb;
	uint32_t wb_handle, wb_fb, wb_pitch;
	void *wb_map;
	size_t wb_size;
	int wb_fence, wb_fence_new;
	/* What was on screen before. */
	bool saved;
	drmModeCrtcPtr saved_crtc;
	uint64_t saved_active, saved_conn_crtc;
	uint32_t saved_conns[MAX_CONNS];
	unsigned nsaved_conns;
	/* Other connectors on our CRTC when we came (atomic): taken off it
	 * for our mode set (vkms refuses its writeback connector beside
	 * another), put back on restore.  saved_conns: all of them. */
	uint32_t other_conn[MAX_CONNS], other_prop[MAX_CONNS];
	unsigned nothers;
};

#define DEV(k) ((struct kms_dev *)(k))

/* ---- small helpers ---- */

static void props_of(int fd, uint32_t obj, uint32_t type, const char *const *names, unsigned n,
                     uint32_t *ids, uint64_t *vals)
{
	drmModeObjectPropertiesPtr pr = drmModeObjectGetProperties(fd, obj, type);
	for (unsigned i = 0; i < n; i++) {
		ids[i] = 0;
		if (vals)
			vals[i] = 0;
	}
	if (!pr)
		return;
	for (uint32_t j = 0; j < pr->count_props; j++) {
		drmModePropertyPtr p = drmModeGetProperty(fd, pr->props[j]);
		if (!p)
			continue;
		for (unsigned i = 0; i < n; i++)
			if (!strcmp(p->name, names[i])) {
				ids[i] = p->prop_id;
				if (vals)
					vals[i] = pr->prop_values[j];
			}
		drmModeFreeProperty(p);
	}
	drmModeFreeObjectProperties(pr);
}

/* The value of enum property @prop named @name, or UINT64_MAX. */
static uint64_t enum_value(int fd, uint32_t prop, const char *name)
{
	uint64_t v = UINT64_MAX;
	drmModePropertyPtr p = prop ? drmModeGetProperty(fd, prop) : NULL;
	if (!p)
		return v;
	for (int i = 0; i < p->count_enums; i++)
		if (!strcmp(p->enums[i].name, name))
			v = p->enums[i].value;
	drmModeFreeProperty(p);
	return v;
}

static void conn_name(const drmModeConnector *c, char *buf, size_t len)
{
	const char *t = drmModeGetConnectorTypeName(c->connector_type);
	snprintf(buf, len, "%s-%u", t ? t : "Unknown", c->connector_type_id);
}

static const char *plane_type_name(uint64_t t)
{
	return t == DRM_PLANE_TYPE_PRIMARY   ? "primary"
	       : t == DRM_PLANE_TYPE_OVERLAY ? "overlay"
	                                     : "cursor";
}

uint32_t vz_drm_fourcc(uint32_t v)
{
	static const struct {
		uint32_t v4l2, drm;
	} map[] = {
	        {VZ_FOURCC('X', 'R', '2', '4'), DRM_FORMAT_XRGB8888},
	        {VZ_FOURCC('A', 'R', '2', '4'), DRM_FORMAT_ARGB8888},
	        {VZ_FOURCC('X', 'B', '2', '4'), DRM_FORMAT_XBGR8888},
	        {VZ_FOURCC('A', 'B', '2', '4'), DRM_FORMAT_ABGR8888},
	        {VZ_FOURCC('B', 'X', '2', '4'), DRM_FORMAT_BGRX8888},
	        {VZ_FOURCC('R', 'G', 'B', 'P'), DRM_FORMAT_RGB565},
	        {VZ_FOURCC('R', 'G', 'B', '3'), DRM_FORMAT_BGR888},
	        {VZ_FOURCC('B', 'G', 'R', '3'), DRM_FORMAT_RGB888},
	        {VZ_FOURCC('Y', 'U', 'Y', 'V'), DRM_FORMAT_YUYV},
	        {VZ_FOURCC('U', 'Y', 'V', 'Y'), DRM_FORMAT_UYVY},
	        {VZ_FOURCC('Y', 'V', 'Y', 'U'), DRM_FORMAT_YVYU},
	        {VZ_FOURCC('V', 'Y', 'U', 'Y'), DRM_FORMAT_VYUY},
	        {VZ_FOURCC('N', 'V', '1', '2'), DRM_FORMAT_NV12},
	        {VZ_FOURCC('N', 'M', '1', '2'), DRM_FORMAT_NV12},
	        {VZ_FOURCC('N', 'V', '2', '1'), DRM_FORMAT_NV21},
	        {VZ_FOURCC('N', 'M', '2', '1'), DRM_FORMAT_NV21},
	        {VZ_FOURCC('N', 'V', '1', '6'), DRM_FORMAT_NV16},
	        {VZ_FOURCC('N', 'V', '6', '1'), DRM_FORMAT_NV61},
	        {VZ_FOURCC('Y', 'U', '1', '2'), DRM_FORMAT_YUV420},
	        {VZ_FOURCC('Y', 'M', '1', '2'), DRM_FORMAT_YUV420},
	        {VZ_FOURCC('Y', 'V', '1', '2'), DRM_FORMAT_YVU420},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].v4l2 == v)
			return map[i].drm;
	return 0;
}

/* ---- framebuffers (shared by both interfaces) ---- */

static int kms_import(struct vz_kms *k, int dmabuf_fd, uint32_t *handle, struct vz_err *err)
{
	if (drmPrimeFDToHandle(k->fd, dmabuf_fd, handle) == 0)
		return 0;
	int e = errno;
	return vz_err_set(err, -e,
	                  "%s (%s) cannot import the capture's DMA-bufs (PRIME import: %s)",
	                  k->node, k->driver, strerror(e));
}

static void kms_close_handle(struct vz_kms *k, uint32_t handle)
{
	if (handle)
		drmCloseBufferHandle(k->fd, handle);
}

static int kms_add_fb(struct vz_kms *k, const struct vz_format *f,
                      const uint32_t handle[VZ_MAX_PLANES], uint64_t modifier, uint32_t *fb,
                      struct vz_err *err)
{
	uint32_t h[4] = {0}, pitch[4] = {0}, off[4] = {0};
	uint64_t mod[4] = {0};
	char fcc[5];
	uint32_t dfcc = vz_drm_fourcc(f->fourcc);
	if (!dfcc)
		return vz_err_set(err, -ENOTSUP, "a display cannot scan out %s frames",
		                  vz_fourcc_str(f->fourcc, fcc));
	for (unsigned i = 0; i < f->num_planes && i < 4; i++) {
		h[i] = handle[f->plane[i].mem];
		pitch[i] = f->plane[i].stride;
		off[i] = f->plane[i].offset;
		mod[i] = modifier;
	}
	int r = modifier ? drmModeAddFB2WithModifiers(k->fd, f->width, f->height, dfcc, h, pitch,
	                                              off, mod, fb, DRM_MODE_FB_MODIFIERS)
	                 : drmModeAddFB2(k->fd, f->width, f->height, dfcc, h, pitch, off, fb, 0);
	if (r < 0) {
		int e = errno;
		return vz_err_set(err, -e, "%s (%s): AddFB2 of a %ux%u %s frame (pitch %u): %s",
		                  k->node, k->driver, f->width, f->height,
		                  vz_fourcc_str(f->fourcc, fcc), pitch[0], strerror(e));
	}
	return 0;
}

static void kms_rm_fb(struct vz_kms *k, uint32_t fb)
{
	if (fb)
		drmModeRmFB(k->fd, fb);
}

/* An XRGB8888 dumb buffer of @w x @h wrapped in a framebuffer, mapped. */
static int dumb_fb(struct kms_dev *d, uint32_t w, uint32_t h, uint32_t *handle, uint32_t *fb,
                   void **map, size_t *size, uint32_t *pitch, struct vz_err *err)
{
	struct drm_mode_create_dumb cd = {.width = w, .height = h, .bpp = 32};
	if (drmIoctl(d->pub.fd, DRM_IOCTL_MODE_CREATE_DUMB, &cd) < 0)
		return vz_err_set(err, -errno, "%s: cannot create a %ux%u dumb buffer: %s",
		                  d->pub.node, w, h, strerror(errno));
	*handle = cd.handle;
	uint32_t hs[4] = {cd.handle}, ps[4] = {cd.pitch}, os[4] = {0};
	if (drmModeAddFB2(d->pub.fd, w, h, DRM_FORMAT_XRGB8888, hs, ps, os, fb, 0) < 0)
		return vz_err_set(err, -errno, "%s: AddFB2 of a %ux%u XR24 buffer: %s", d->pub.node,
		                  w, h, strerror(errno));
	struct drm_mode_map_dumb md = {.handle = cd.handle};
	void *p = MAP_FAILED;
	if (drmIoctl(d->pub.fd, DRM_IOCTL_MODE_MAP_DUMB, &md) == 0)
		p = mmap(NULL, cd.size, PROT_READ | PROT_WRITE, MAP_SHARED, d->pub.fd,
		         (off_t)md.offset);
	if (p == MAP_FAILED)
		return vz_err_set(err, -errno, "%s: cannot map a dumb buffer: %s", d->pub.node,
		                  strerror(errno));
	*map = p;
	*size = cd.size;
	if (pitch)
		*pitch = cd.pitch;
	return 0;
}

static int writeback_prepare(struct kms_dev *d, struct vz_err *err);

/* ---- choosing plane and mode ---- */

static bool plane_takes(struct kms_dev *d, unsigned i, uint32_t dfcc, uint64_t modifier)
{
	bool ok = false;
	if (d->plane_in_formats[i]) {
		drmModePropertyBlobPtr b =
		        drmModeGetPropertyBlob(d->pub.fd, d->plane_in_formats[i]);
		if (b) {
			drmModeFormatModifierIterator it = {0};
			while (!ok && drmModeFormatModifierBlobIterNext(b, &it))
				ok = it.fmt == dfcc && it.mod == modifier;
			drmModeFreePropertyBlob(b);
			return ok;
		}
	}
	if (modifier != DRM_FORMAT_MOD_LINEAR)
		return false;
	drmModePlanePtr p = drmModeGetPlane(d->pub.fd, d->planes[i].id);
	for (uint32_t j = 0; p && j < p->count_formats && !ok; j++)
		ok = p->formats[j] == dfcc;
	drmModeFreePlane(p);
	return ok;
}

/* "plane 31 (primary): XR24 AR24 ...; plane 40 (overlay): ..." */
static void list_formats(struct kms_dev *d)
{
	char *b = d->pub.formats;
	size_t len = sizeof(d->pub.formats);
	b[0] = '\0';
	for (unsigned i = 0; i < d->nplanes; i++) {
		if (d->planes[i].type == DRM_PLANE_TYPE_CURSOR)
			continue;
		drmModePlanePtr p = drmModeGetPlane(d->pub.fd, d->planes[i].id);
		if (!p)
			continue;
		vz_msg_append(b, len, "%s%s:", b[0] ? "; " : "",
		              plane_type_name(d->planes[i].type));
		for (uint32_t j = 0; j < p->count_formats && j < 8; j++) {
			char f[5];
			vz_msg_append(b, len, " %s", vz_fourcc_str(p->formats[j], f));
		}
		drmModeFreePlane(p);
		/* One overlay stands for the rest: they take the same. */
		if (d->planes[i].type == DRM_PLANE_TYPE_OVERLAY)
			break;
	}
}

static const drmModeModeInfo *find_mode(struct kms_dev *d, uint32_t w, uint32_t h, uint32_t hz)
{
	const drmModeModeInfo *best = NULL;
	for (unsigned i = 0; i < d->nmodes; i++) {
		const drmModeModeInfo *m = &d->modes[i];
		if (m->hdisplay != w || m->vdisplay != h || (hz && m->vrefresh != hz))
			continue;
		if (!best || (m->type & DRM_MODE_TYPE_PREFERRED))
			best = m;
	}
	return best;
}

static const drmModeModeInfo *preferred_mode(struct kms_dev *d)
{
	for (unsigned i = 0; i < d->nmodes; i++)
		if (d->modes[i].type & DRM_MODE_TYPE_PREFERRED)
			return &d->modes[i];
	return d->nmodes ? &d->modes[0] : NULL;
}

static int add(drmModeAtomicReqPtr req, uint32_t obj, uint32_t prop, uint64_t v)
{
	if (!prop)
		return 0;
	return drmModeAtomicAddProperty(req, obj, prop, v) < 0 ? -ENOMEM : 0;
}

/* The whole configuration (modeset) or just the next frame's fb. */
static int atomic_commit(struct kms_dev *d, uint32_t fb, uint32_t flags, uint64_t user,
                         bool modeset, bool writeback)
{
	drmModeAtomicReqPtr req = drmModeAtomicAlloc();
	if (!req)
		return -ENOMEM;
	int r = 0;
	struct vz_kms_plane *pl = &d->planes[d->plane];
	if (modeset) {
		if (!d->mode_blob && drmModeCreatePropertyBlob(d->pub.fd, &d->mode, sizeof(d->mode),
		                                               &d->mode_blob) < 0) {
			r = -errno;
			goto out;
		}
		r |= add(req, d->crtc_id, d->crtc_prop_mode, d->mode_blob);
		r |= add(req, d->crtc_id, d->crtc_prop_active, 1);
		r |= add(req, d->conn_id, d->conn_prop_crtc, d->crtc_id);
		for (unsigned i = 0; i < d->nothers; i++)
			r |= add(req, d->other_conn[i], d->other_prop[i], 0);
		uint32_t mw = d->mode.hdisplay, mh = d->mode.vdisplay;
		if (d->overlay) {
			struct vz_kms_plane *pp = &d->planes[d->primary];
			r |= add(req, pp->id, pp->prop[KP_FB_ID], d->bg_fb);
			r |= add(req, pp->id, pp->prop[KP_CRTC_ID], d->crtc_id);
			r |= add(req, pp->id, pp->prop[KP_SRC_X], 0);
			r |= add(req, pp->id, pp->prop[KP_SRC_Y], 0);
			r |= add(req, pp->id, pp->prop[KP_SRC_W], (uint64_t)mw << 16);
			r |= add(req, pp->id, pp->prop[KP_SRC_H], (uint64_t)mh << 16);
			r |= add(req, pp->id, pp->prop[KP_CRTC_X], 0);
			r |= add(req, pp->id, pp->prop[KP_CRTC_Y], 0);
			r |= add(req, pp->id, pp->prop[KP_CRTC_W], mw);
			r |= add(req, pp->id, pp->prop[KP_CRTC_H], mh);
		}
		r |= add(req, pl->id, pl->prop[KP_CRTC_ID], d->crtc_id);
		r |= add(req, pl->id, pl->prop[KP_SRC_X], 0);
		r |= add(req, pl->id, pl->prop[KP_SRC_Y], 0);
		r |= add(req, pl->id, pl->prop[KP_SRC_W], (uint64_t)d->fw << 16);
		r |= add(req, pl->id, pl->prop[KP_SRC_H], (uint64_t)d->fh << 16);
		r |= add(req, pl->id, pl->prop[KP_CRTC_X],
		         (uint64_t)(int64_t)(d->overlay ? d->o.x : 0));
		r |= add(req, pl->id, pl->prop[KP_CRTC_Y],
		         (uint64_t)(int64_t)(d->overlay ? d->o.y : 0));
		r |= add(req, pl->id, pl->prop[KP_CRTC_W], d->overlay ? d->fw : mw);
		r |= add(req, pl->id, pl->prop[KP_CRTC_H], d->overlay ? d->fh : mh);
		if (pl->encoding != UINT64_MAX)
			r |= add(req, pl->id, pl->prop[KP_COLOR_ENCODING], pl->encoding);
		if (pl->range != UINT64_MAX)
			r |= add(req, pl->id, pl->prop[KP_COLOR_RANGE], pl->range);
	}
	r |= add(req, pl->id, pl->prop[KP_FB_ID], fb);
	if (writeback) {
		d->wb_fence_new = -1;
		r |= add(req, d->conn_id, d->conn_prop_wb_fb, d->wb_fb);
		r |= add(req, d->conn_id, d->conn_prop_wb_fence,
		         (uint64_t)(uintptr_t)&d->wb_fence_new);
	}
	if (r < 0)
		goto out;
	/* Only a commit that sends an event owns the token: a TEST_ONLY probe
	 * during a set change, while a flip is still out, must not make that
	 * flip's event unrecognisable. */
	if (flags & DRM_MODE_PAGE_FLIP_EVENT)
		d->flip_user = user;
	if (drmModeAtomicCommit(d->pub.fd, req, flags, d) < 0) {
		r = -errno;
	} else if (writeback) {
		if (d->wb_fence >= 0)
			close(d->wb_fence);
		d->wb_fence = d->wb_fence_new;
	}
	if (r == 0 && !(flags & DRM_MODE_ATOMIC_TEST_ONLY))
		d->last_fb = fb;
out:
	drmModeAtomicFree(req);
	return r;
}

/* COLOR_ENCODING/COLOR_RANGE from the capture's colorimetry, where the
 * plane has them (YUV planes on real hardware; vkms and virtio-gpu have
 * none). */
static void colour_props(struct kms_dev *d, struct vz_kms_plane *pl, const struct vz_format *f)
{
	pl->encoding = pl->range = UINT64_MAX;
	const struct vz_format_desc *desc = vz_format_desc_find(f->fourcc);
	if (!desc || !desc->yuv)
		return;
	/* V4L2: 1 601, 2 709, 6 BT2020; quantization 1 full, 2 limited;
	 * DEFAULT follows V4L2's rule (HD is 709). */
	const char *enc = "ITU-R BT.601 YCbCr";
	if (f->ycbcr_enc == 2 || (f->ycbcr_enc == 0 && f->height >= 720))
		enc = "ITU-R BT.709 YCbCr";
	else if (f->ycbcr_enc == 6)
		enc = "ITU-R BT.2020 YCbCr";
	pl->encoding = enum_value(d->pub.fd, pl->prop[KP_COLOR_ENCODING], enc);
	pl->range = enum_value(d->pub.fd, pl->prop[KP_COLOR_RANGE],
	                       f->quantization == 1 ? "YCbCr full range" : "YCbCr limited range");
}

static int try_layout(struct kms_dev *d, int plane, const drmModeModeInfo *m, uint32_t fb)
{
	d->plane = plane;
	d->mode = *m;
	d->overlay = d->planes[plane].type != DRM_PLANE_TYPE_PRIMARY;
	if (d->mode_blob) {
		drmModeDestroyPropertyBlob(d->pub.fd, d->mode_blob);
		d->mode_blob = 0;
	}
	if (!d->atomic)
		return 0; /* legacy: SetCrtc at the first frame is the test */
	if (d->overlay && !d->bg_fb) {
		/* The primary plane must cover the CRTC under an overlay. */
		void *map = NULL;
		size_t size = 0;
		struct vz_err e = {0};
		uint32_t w = m->hdisplay, h = m->vdisplay;
		if (dumb_fb(d, w, h, &d->bg_handle, &d->bg_fb, &map, &size, NULL, &e) < 0)
			return e.code;
		/* A colour no camera frame has: the test tells the background
		 * from the frame by it. */
		for (size_t i = 0; i < size / 4; i++)
			((uint32_t *)map)[i] = 0xff1f3f5fu;
		munmap(map, size);
	}
	return atomic_commit(d, fb, DRM_MODE_ATOMIC_TEST_ONLY | DRM_MODE_ATOMIC_ALLOW_MODESET, 0,
	                     true, false);
}

static int kms_configure(struct vz_kms *k, const struct vz_format *f, uint64_t modifier,
                         uint32_t fb, struct vz_err *err)
{
	struct kms_dev *d = DEV(k);
	char fcc[5];
	uint32_t dfcc = vz_drm_fourcc(f->fourcc);
	/* What is on screen now, to tell whether the next set needs a mode set. */
	int prev_plane = d->plane;
	drmModeModeInfo prev_mode = d->mode;
	uint32_t prev_w = d->fw, prev_h = d->fh;
	d->fw = f->width;
	d->fh = f->height;
	if (!dfcc)
		return vz_err_set(err, -ENOTSUP,
		                  "a display cannot scan out %s frames; capture in a format the "
		                  "planes take (%s), e.g. -f XR24",
		                  vz_fourcc_str(f->fourcc, fcc), k->formats);
	bool want_primary = !strcmp(d->o.plane, "primary");
	bool want_overlay = !strcmp(d->o.plane, "overlay");
	uint32_t want_id = 0;
	if (d->o.plane[0] && !want_primary && !want_overlay)
		want_id = (uint32_t)strtoul(d->o.plane, NULL, 10);
	const drmModeModeInfo *exact =
	        find_mode(d, d->o.mode_w ? d->o.mode_w : f->width,
	                  d->o.mode_h ? d->o.mode_h : f->height, d->o.mode_hz);
	const drmModeModeInfo *pref = d->o.mode_w ? exact : preferred_mode(d);
	if (d->o.mode_w && !exact)
		return vz_err_set(
		        err, -EINVAL, "%s has no mode %ux%u%s; see `modetest -c` for its modes",
		        d->conn_name, d->o.mode_w, d->o.mode_h, d->o.mode_hz ? "@Hz" : "");
	bool format_ok = false;
	int last = 0;
	/* Primary first (unscaled at the frame's own size, then the
	 * preferred mode if the plane scales), then each overlay. */
	for (int pass = 0; pass < 3; pass++) {
		for (unsigned i = 0; i < d->nplanes; i++) {
			struct vz_kms_plane *pl = &d->planes[i];
			bool primary = pl->type == DRM_PLANE_TYPE_PRIMARY;
			if (pl->type == DRM_PLANE_TYPE_CURSOR || (want_id && pl->id != want_id) ||
			    (want_primary && !primary) || (want_overlay && primary))
				continue;
			if ((pass < 2) != primary)
				continue;
			if (!plane_takes(d, i, dfcc, modifier))
				continue;
			format_ok = true;
			const drmModeModeInfo *m = pass == 0 ? exact : pref;
			if (!m || (pass == 1 && m == exact))
				continue;
			if (!primary &&
			    (d->o.x < 0 || d->o.y < 0 || d->o.x + (int32_t)f->width > m->hdisplay ||
			     d->o.y + (int32_t)f->height > m->vdisplay))
				continue;
			if (!primary && !d->atomic)
				return vz_err_set(
				        err, -ENOTSUP,
				        "legacy=1 shows frames on the primary plane only; drop "
				        "legacy=1 to use an overlay");
			colour_props(d, pl, f);
			last = try_layout(d, (int)i, m, fb);
			if (last == 0) {
				/* A new buffer set in another size or on another plane
				 * needs a full mode set again, not just a new fb. */
				if (d->modeset_done &&
				    (prev_plane != d->plane || prev_w != f->width ||
				     prev_h != f->height || memcmp(&prev_mode, m, sizeof(*m)) != 0))
					d->modeset_done = false;
				int w = writeback_prepare(d, err);
				if (w < 0)
					return w;
				snprintf(k->config, sizeof(k->config),
				         "%s, %ux%u@%u, %s plane %u%s%s at %d,%d, %s KMS",
				         d->conn_name, m->hdisplay, m->vdisplay, m->vrefresh,
				         plane_type_name(pl->type), pl->id,
				         d->overlay ? " over a background" : "",
				         (!d->overlay &&
				          (m->hdisplay != f->width || m->vdisplay != f->height))
				                 ? " (scaled)"
				                 : "",
				         d->overlay ? d->o.x : 0, d->overlay ? d->o.y : 0,
				         k->ops->name);
				return 0;
			}
		}
	}
	if (!format_ok)
		return vz_err_set(
		        err, -ENOTSUP,
		        "no %splane on %s (%s) takes %s frames: the planes take %s; capture "
		        "in one of those (e.g. -f XR24)",
		        want_overlay   ? "overlay "
		        : want_primary ? "primary "
		                       : "",
		        k->node, k->driver, vz_fourcc_str(f->fourcc, fcc), k->formats);
	if (last)
		return vz_err_set(err, -EXDEV,
		                  "%s (%s) refused every layout for a %ux%u %s frame on %s "
		                  "(TEST_ONLY: %s)",
		                  k->node, k->driver, f->width, f->height,
		                  vz_fourcc_str(f->fourcc, fcc), d->conn_name, strerror(-last));
	return vz_err_set(err, -EINVAL,
	                  "no mode of %s fits a %ux%u frame%s: pick the capture size of one of its "
	                  "modes (--size), mode=WxH with plane=overlay, or x=/y= inside the mode",
	                  d->conn_name, f->width, f->height,
	                  want_overlay ? " at that position" : " on the primary plane unscaled");
}

/* ---- the previous configuration ---- */

static void save_state(struct kms_dev *d)
{
	if (d->saved)
		return;
	d->saved = true;
	d->saved_crtc = drmModeGetCrtc(d->pub.fd, d->crtc_id);
	if (d->atomic) {
		static const char *const cn[] = {"ACTIVE"};
		static const char *const kn[] = {"CRTC_ID"};
		uint32_t id;
		props_of(d->pub.fd, d->crtc_id, DRM_MODE_OBJECT_CRTC, cn, 1, &id, &d->saved_active);
		props_of(d->pub.fd, d->conn_id, DRM_MODE_OBJECT_CONNECTOR, kn, 1, &id,
		         &d->saved_conn_crtc);
		for (unsigned i = 0; i < d->nplanes; i++) {
			uint32_t ids[KP_COUNT];
			props_of(d->pub.fd, d->planes[i].id, DRM_MODE_OBJECT_PLANE,
			         plane_prop_names, KP_COUNT, ids, d->planes[i].saved);
		}
	}
}

static void restore_plane(drmModeAtomicReqPtr req, struct vz_kms_plane *pl)
{
	for (int j = 0; j <= KP_CRTC_H; j++)
		add(req, pl->id, pl->prop[j], pl->saved[j]);
}

static void atomic_restore(struct vz_kms *k)
{
	struct kms_dev *d = DEV(k);
	if (!d->saved)
		return;
	drmModeAtomicReqPtr req = drmModeAtomicAlloc();
	if (!req)
		return;
	uint32_t blob = 0;
	/* A fresh blob: the old one may have died with its owner. */
	if (d->saved_active && d->saved_crtc && d->saved_crtc->mode_valid)
		drmModeCreatePropertyBlob(k->fd, &d->saved_crtc->mode, sizeof(d->saved_crtc->mode),
		                          &blob);
	add(req, d->crtc_id, d->crtc_prop_active, d->saved_active && blob);
	add(req, d->crtc_id, d->crtc_prop_mode, blob);
	add(req, d->conn_id, d->conn_prop_crtc, d->saved_conn_crtc);
	for (unsigned i = 0; i < d->nothers; i++)
		add(req, d->other_conn[i], d->other_prop[i], d->crtc_id);
	restore_plane(req, &d->planes[d->plane]);
	if (d->overlay)
		restore_plane(req, &d->planes[d->primary]);
	if (drmModeAtomicCommit(k->fd, req, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL) < 0) {
		/* What was there cannot come back: at least take ours away. */
		drmModeAtomicSetCursor(req, 0);
		struct vz_kms_plane *pl = &d->planes[d->plane];
		add(req, pl->id, pl->prop[KP_FB_ID], 0);
		add(req, pl->id, pl->prop[KP_CRTC_ID], 0);
		if (d->overlay) {
			pl = &d->planes[d->primary];
			add(req, pl->id, pl->prop[KP_FB_ID], 0);
			add(req, pl->id, pl->prop[KP_CRTC_ID], 0);
		}
		add(req, d->conn_id, d->conn_prop_crtc, 0);
		add(req, d->crtc_id, d->crtc_prop_active, 0);
		add(req, d->crtc_id, d->crtc_prop_mode, 0);
		drmModeAtomicCommit(k->fd, req, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL);
	}
	drmModeAtomicFree(req);
	if (blob)
		drmModeDestroyPropertyBlob(k->fd, blob);
}

static void legacy_restore(struct vz_kms *k)
{
	struct kms_dev *d = DEV(k);
	if (!d->saved)
		return;
	drmModeCrtcPtr c = d->saved_crtc;
	if (c && c->buffer_id && c->mode_valid && d->nsaved_conns)
		drmModeSetCrtc(k->fd, d->crtc_id, c->buffer_id, c->x, c->y, d->saved_conns,
		               (int)d->nsaved_conns, &c->mode);
	else
		drmModeSetCrtc(k->fd, d->crtc_id, 0, 0, 0, NULL, 0, NULL);
}

/* ---- flips ---- */

/* The steady state: one property of one plane.  libdrm's atomic request
 * allocates half a dozen times per commit (the request, its growth, the
 * sorted copy and four ioctl arrays); a display flipping every frame would
 * allocate as often, so this one commit is built on the stack. */
static int atomic_flip_fb(struct kms_dev *d, uint32_t fb, uint64_t user)
{
	struct vz_kms_plane *pl = &d->planes[d->plane];
	uint32_t obj = pl->id, count = 1, prop = pl->prop[KP_FB_ID];
	uint64_t value = fb;
	struct drm_mode_atomic a = {
	        .flags = DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT,
	        .count_objs = 1,
	        .objs_ptr = (uint64_t)(uintptr_t)&obj,
	        .count_props_ptr = (uint64_t)(uintptr_t)&count,
	        .props_ptr = (uint64_t)(uintptr_t)&prop,
	        .prop_values_ptr = (uint64_t)(uintptr_t)&value,
	        .user_data = (uint64_t)(uintptr_t)d,
	};
	d->flip_user = user;
	if (drmIoctl(d->pub.fd, DRM_IOCTL_MODE_ATOMIC, &a) < 0)
		return -errno;
	d->last_fb = fb;
	return 0;
}

static int atomic_flip(struct vz_kms *k, uint32_t fb, uint64_t user, struct vz_err *err)
{
	struct kms_dev *d = DEV(k);
	bool modeset = !d->modeset_done;
	save_state(d);
	uint32_t flags = DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT;
	if (modeset)
		flags |= DRM_MODE_ATOMIC_ALLOW_MODESET;
	int r = modeset ? atomic_commit(d, fb, flags, user, true, false)
	                : atomic_flip_fb(d, fb, user);
	if (r < 0)
		return vz_err_set(err, r, "%s: atomic commit%s failed: %s", k->node,
		                  modeset ? " (mode set)" : "", strerror(-r));
	d->modeset_done = true;
	return 0;
}

static int legacy_flip(struct vz_kms *k, uint32_t fb, uint64_t user, struct vz_err *err)
{
	struct kms_dev *d = DEV(k);
	if (!d->modeset_done) {
		save_state(d);
		if (drmModeSetCrtc(k->fd, d->crtc_id, fb, 0, 0, &d->conn_id, 1, &d->mode) < 0)
			return vz_err_set(err, -errno, "%s: SetCrtc %ux%u on %s failed: %s",
			                  k->node, d->mode.hdisplay, d->mode.vdisplay, d->conn_name,
			                  strerror(errno));
		d->modeset_done = true;
		return 1;
	}
	d->flip_user = user;
	if (drmModePageFlip(k->fd, d->crtc_id, fb, DRM_MODE_PAGE_FLIP_EVENT, d) < 0)
		return vz_err_set(err, -errno, "%s: PageFlip failed: %s", k->node, strerror(errno));
	return 0;
}

static void page_flip(int fd, unsigned seq, unsigned sec, unsigned usec, unsigned crtc, void *user)
{
	(void)fd;
	(void)seq;
	(void)crtc;
	/* The commit's user data is the device; one flip is out at a time,
	 * and its token waits in flip_user. */
	struct kms_dev *d = user;
	int64_t t = (int64_t)sec * VZ_NSEC_PER_SEC + (int64_t)usec * VZ_NSEC_PER_USEC;
	if (!d->monotonic)
		t = vz_now_ns();
	if (d->pub.on_flip)
		d->pub.on_flip(d->pub.data, d->flip_user, t);
}

static int kms_dispatch(struct vz_kms *k)
{
	drmEventContext ctx = {.version = 3, .page_flip_handler2 = page_flip};
	int r = drmHandleEvent(k->fd, &ctx);
	return r < 0 ? -errno : 0;
}

static void kms_close(struct vz_kms *k)
{
	struct kms_dev *d = DEV(k);
	if (d->wb_map)
		munmap(d->wb_map, d->wb_size);
	if (d->wb_fence >= 0)
		close(d->wb_fence);
	kms_rm_fb(k, d->wb_fb);
	kms_close_handle(k, d->wb_handle);
	kms_rm_fb(k, d->bg_fb);
	kms_close_handle(k, d->bg_handle);
	if (d->mode_blob)
		drmModeDestroyPropertyBlob(k->fd, d->mode_blob);
	drmModeFreeCrtc(d->saved_crtc);
	if (k->fd >= 0)
		close(k->fd);
	free(d);
}

static const struct vz_kms_ops atomic_ops = {
        .name = "atomic",
        .import = kms_import,
        .close_handle = kms_close_handle,
        .add_fb = kms_add_fb,
        .rm_fb = kms_rm_fb,
        .configure = kms_configure,
        .flip = atomic_flip,
        .dispatch = kms_dispatch,
        .restore = atomic_restore,
        .close = kms_close,
};

static const struct vz_kms_ops legacy_ops = {
        .name = "legacy",
        .import = kms_import,
        .close_handle = kms_close_handle,
        .add_fb = kms_add_fb,
        .rm_fb = kms_rm_fb,
        .configure = kms_configure,
        .flip = legacy_flip,
        .dispatch = kms_dispatch,
        .restore = legacy_restore,
        .close = kms_close,
};

/* ---- writeback ---- */

int vz_kms_writeback_save(struct vz_kms *k, const char *path, struct vz_err *err)
{
	struct kms_dev *d = DEV(k);
	if (!d->wb_fb)
		return vz_err_set(err, -ENOTSUP, "no writeback connector in use");
	if (!d->last_fb)
		return vz_err_set(err, -ENODATA, "writeback: no frame was shown");
	/* One job, on a quiet screen: vkms signals writeback jobs in order, and
	 * one whose state a newer commit replaced is never composed, so a job
	 * per flip would leave the last fence waiting for good.  The frame on
	 * screen is committed again, blocking, with the writeback attached. */
	int r = atomic_commit(d, d->last_fb, 0, 0, false, true);
	if (r < 0)
		return vz_err_set(err, r, "writeback: the commit failed: %s", strerror(-r));
	struct pollfd pfd = {.fd = d->wb_fence, .events = POLLIN};
	if (d->wb_fence < 0 || poll(&pfd, 1, 2000) <= 0)
		return vz_err_set(err, -ETIMEDOUT,
		                  "writeback: the composition did not complete within 2 s");
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "wb");
	if (!f)
		return vz_err_set(err, -errno, "writeback: cannot write %s: %s", tmp,
		                  strerror(errno));
	uint32_t w = d->mode.hdisplay, h = d->mode.vdisplay;
	fprintf(f, "P6\n%u %u\n255\n", w, h);
	uint8_t *line = malloc((size_t)w * 3);
	for (uint32_t y = 0; line && y < h; y++) {
		const uint8_t *src = (const uint8_t *)d->wb_map + (size_t)y * d->wb_pitch;
		/* XRGB8888 is B, G, R, X in memory. */
		for (uint32_t x = 0; x < w; x++) {
			line[3 * x] = src[4 * x + 2];
			line[3 * x + 1] = src[4 * x + 1];
			line[3 * x + 2] = src[4 * x];
		}
		fwrite(line, 3, w, f);
	}
	free(line);
	if (fclose(f) != 0 || !line || rename(tmp, path) < 0) {
		unlink(tmp);
		return vz_err_set(err, -EIO, "writeback: cannot write %s", path);
	}
	return 0;
}

/* ---- opening ---- */

static int open_card(const char *path, struct kms_dev *d, struct vz_err *err)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == EACCES || e == EPERM)
			return vz_err_set(
			        err, -e,
			        "cannot open %s: permission denied; add your user to the "
			        "'video' group (sudo usermod -aG video $USER, then log in "
			        "again) or run as root",
			        path);
		return vz_err_set(err, -e, "cannot open %s: %s", path, strerror(e));
	}
	d->pub.fd = fd;
	snprintf(d->pub.node, sizeof(d->pub.node), "%s", path);
	drmVersionPtr v = drmGetVersion(fd);
	snprintf(d->pub.driver, sizeof(d->pub.driver), "%s", v && v->name ? v->name : "?");
	drmFreeVersion(v);
	return 0;
}

static bool same_driver(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (tolower((unsigned char)(*a == '-' ? '_' : *a)) !=
		    tolower((unsigned char)(*b == '-' ? '_' : *b)))
			return false;
	return !*a && !*b;
}

/* Has CRTCs and a connected output: a display, not vgem. */
static bool is_display(int fd)
{
	drmModeResPtr res = drmModeGetResources(fd);
	bool ok = false;
	for (int i = 0; res && res->count_crtcs > 0 && i < res->count_connectors && !ok; i++) {
		drmModeConnectorPtr c = drmModeGetConnector(fd, res->connectors[i]);
		ok = c && c->connection == DRM_MODE_CONNECTED;
		drmModeFreeConnector(c);
	}
	drmModeFreeResources(res);
	return ok;
}

static int find_device(struct kms_dev *d, struct vz_err *err)
{
	const char *want = d->o.device;
	if (want[0] == '/')
		return open_card(want, d, err);
	char seen[256] = "";
	struct vz_err first = {0};
	for (int n = 0; n < 16; n++) {
		char path[32];
		snprintf(path, sizeof(path), "/dev/dri/card%d", n);
		if (access(path, F_OK) < 0)
			continue;
		struct vz_err e = {0};
		if (open_card(path, d, &e) < 0) {
			if (!first.code)
				first = e;
			continue;
		}
		vz_msg_append(seen, sizeof(seen), "%scard%d (%s)", seen[0] ? ", " : "", n,
		              d->pub.driver);
		if (want[0] ? same_driver(want, d->pub.driver) : is_display(d->pub.fd))
			return 0;
		close(d->pub.fd);
		d->pub.fd = -1;
	}
	if (first.code && !seen[0])
		return vz_err_set(err, first.code, "%s", first.msg);
	if (!seen[0])
		return vz_err_set(
		        err, -ENODEV,
		        "no DRM device (/dev/dri/card*): load your display's driver (in a "
		        "VM: virtio-gpu, or vkms), or use --sink gst:... instead");
	if (want[0])
		return vz_err_set(err, -ENODEV,
		                  "no DRM device driven by '%s': there is %s; name one of those "
		                  "(drm:DRIVER or drm:/dev/dri/cardN)",
		                  want, seen);
	return vz_err_set(err, -ENODEV,
	                  "no DRM device with a connected display among %s: connect one, or "
	                  "name a device (drm:/dev/dri/cardN)",
	                  seen);
}

static int pick_connector(struct kms_dev *d, drmModeResPtr res, struct vz_err *err)
{
	const char *want = d->o.connector;
	bool by_id = want[0] && isdigit((unsigned char)want[0]);
	char seen[256] = "";
	drmModeConnectorPtr pick = NULL;
	for (int i = 0; i < res->count_connectors && !pick; i++) {
		drmModeConnectorPtr c = drmModeGetConnector(d->pub.fd, res->connectors[i]);
		if (!c)
			continue;
		char name[32];
		conn_name(c, name, sizeof(name));
		bool wb = c->connector_type == DRM_MODE_CONNECTOR_WRITEBACK;
		vz_msg_append(seen, sizeof(seen), "%s%s (%u, %s)", seen[0] ? ", " : "", name,
		              c->connector_id,
		              wb                                    ? "writeback"
		              : c->connection == DRM_MODE_CONNECTED ? "connected"
		                                                    : "not connected");
		bool match = want[0] ? (by_id ? c->connector_id == strtoul(want, NULL, 10)
		                              : !strcasecmp(name, want))
		             : d->o.writeback[0] ? wb
		                                 : !wb && c->connection == DRM_MODE_CONNECTED;
		if (match) {
			pick = c;
			snprintf(d->conn_name, sizeof(d->conn_name), "%s", name);
		} else {
			drmModeFreeConnector(c);
		}
	}
	if (!pick) {
		if (want[0])
			return vz_err_set(err, -ENOENT, "%s (%s) has no connector '%s': it has %s",
			                  d->pub.node, d->pub.driver, want, seen);
		if (d->o.writeback[0])
			return vz_err_set(
			        err, -ENOENT,
			        "%s (%s) has no writeback connector for writeback=: it has %s",
			        d->pub.node, d->pub.driver, seen);
		return vz_err_set(err, -ENOENT,
		                  "%s (%s) has no connected connector (%s): connect a display or "
		                  "pick one with connector=NAME",
		                  d->pub.node, d->pub.driver, seen);
	}
	d->conn_id = pick->connector_id;
	d->wb = pick->connector_type == DRM_MODE_CONNECTOR_WRITEBACK;
	for (int i = 0; i < pick->count_modes && d->nmodes < MAX_MODES; i++)
		d->modes[d->nmodes++] = pick->modes[i];
	/* The CRTC: the one driving it now, else the first it can use. */
	uint32_t crtcs = 0, current = 0;
	for (int i = 0; i < pick->count_encoders; i++) {
		drmModeEncoderPtr e = drmModeGetEncoder(d->pub.fd, pick->encoders[i]);
		if (!e)
			continue;
		crtcs |= e->possible_crtcs;
		if (e->encoder_id == pick->encoder_id)
			current = e->crtc_id;
		drmModeFreeEncoder(e);
	}
	drmModeFreeConnector(pick);
	int idx = -1;
	for (int i = 0; i < res->count_crtcs; i++)
		if (current ? res->crtcs[i] == current : (crtcs & (1u << i)) != 0) {
			idx = i;
			break;
		}
	if (idx < 0)
		return vz_err_set(err, -ENOENT, "%s: connector %s can use no CRTC", d->pub.node,
		                  d->conn_name);
	if (!d->nmodes)
		return vz_err_set(err, -ENOENT, "%s: connector %s reports no modes", d->pub.node,
		                  d->conn_name);
	d->crtc_index = (unsigned)idx;
	d->crtc_id = res->crtcs[idx];
	return 0;
}

static int find_planes(struct kms_dev *d, struct vz_err *err)
{
	drmModePlaneResPtr pr = drmModeGetPlaneResources(d->pub.fd);
	if (!pr)
		return vz_err_set(err, -errno, "%s: cannot list planes: %s", d->pub.node,
		                  strerror(errno));
	d->primary = -1;
	for (uint32_t i = 0; i < pr->count_planes && d->nplanes < MAX_PLANES; i++) {
		drmModePlanePtr p = drmModeGetPlane(d->pub.fd, pr->planes[i]);
		if (!p)
			continue;
		if (p->possible_crtcs & (1u << d->crtc_index)) {
			struct vz_kms_plane *pl = &d->planes[d->nplanes];
			static const char *const extra[] = {"type", "IN_FORMATS"};
			uint32_t ids[2];
			uint64_t vals[2];
			pl->id = p->plane_id;
			props_of(d->pub.fd, p->plane_id, DRM_MODE_OBJECT_PLANE, plane_prop_names,
			         KP_COUNT, pl->prop, pl->saved);
			props_of(d->pub.fd, p->plane_id, DRM_MODE_OBJECT_PLANE, extra, 2, ids,
			         vals);
			pl->type = vals[0];
			d->plane_in_formats[d->nplanes] = ids[1] ? (uint32_t)vals[1] : 0;
			/* The primary plane of our CRTC is the first primary that
			 * can use it. */
			if (pl->type == DRM_PLANE_TYPE_PRIMARY && d->primary < 0)
				d->primary = (int)d->nplanes;
			d->nplanes++;
		}
		drmModeFreePlane(p);
	}
	drmModeFreePlaneResources(pr);
	if (d->primary < 0)
		return vz_err_set(err, -ENOENT, "%s: no primary plane for CRTC %u", d->pub.node,
		                  d->crtc_id);
	return 0;
}

/* The connectors on our CRTC now: legacy restore gives them all back to it;
 * atomic takes the others off it for our mode set and puts them back. */
static void find_crtc_connectors(struct kms_dev *d)
{
	static const char *const kn[] = {"CRTC_ID"};
	drmModeResPtr res = drmModeGetResources(d->pub.fd);
	for (int i = 0; res && i < res->count_connectors && d->nsaved_conns < MAX_CONNS; i++) {
		drmModeConnectorPtr c = drmModeGetConnector(d->pub.fd, res->connectors[i]);
		drmModeEncoderPtr e =
		        c && c->encoder_id ? drmModeGetEncoder(d->pub.fd, c->encoder_id) : NULL;
		if (e && e->crtc_id == d->crtc_id) {
			uint32_t id = c->connector_id, prop = 0;
			d->saved_conns[d->nsaved_conns++] = id;
			if (d->atomic && id != d->conn_id)
				props_of(d->pub.fd, id, DRM_MODE_OBJECT_CONNECTOR, kn, 1, &prop,
				         NULL);
			if (prop) {
				d->other_conn[d->nothers] = id;
				d->other_prop[d->nothers++] = prop;
			}
		}
		drmModeFreeEncoder(e);
		drmModeFreeConnector(c);
	}
	drmModeFreeResources(res);
}

int vz_kms_open(struct vz_kms **out, const struct vz_drm_opts *o, struct vz_err *err)
{
	*out = NULL;
	struct kms_dev *d = calloc(1, sizeof(*d));
	if (!d)
		return vz_err_set(err, -ENOMEM, "out of memory");
	d->pub.fd = -1;
	d->wb_fence = d->wb_fence_new = -1;
	d->o = *o;
	int r = find_device(d, err);
	if (r < 0)
		goto fail;
	int fd = d->pub.fd;
	drmSetClientCap(fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1);
	d->atomic = !o->legacy && drmSetClientCap(fd, DRM_CLIENT_CAP_ATOMIC, 1) == 0;
	if (o->writeback[0]) {
		if (!d->atomic) {
			r = vz_err_set(
			        err, -ENOTSUP,
			        "writeback= needs atomic KMS, which %s (%s) %s: drop one of them",
			        d->pub.node, d->pub.driver,
			        o->legacy ? "legacy=1 turned off" : "does not have");
			goto fail;
		}
		drmSetClientCap(fd, DRM_CLIENT_CAP_WRITEBACK_CONNECTORS, 1);
	}
	d->pub.ops = d->atomic ? &atomic_ops : &legacy_ops;
	uint64_t cap = 0;
	d->monotonic = drmGetCap(fd, DRM_CAP_TIMESTAMP_MONOTONIC, &cap) == 0 && cap;
	if (!drmIsMaster(fd) && drmSetMaster(fd) < 0) {
		r = vz_err_set(err, -EBUSY,
		               "%s (%s): another program is the DRM master (a compositor or X "
		               "server is running): vzero cannot drive that display; stop it, run "
		               "from a text console, or show frames inside it with --sink "
		               "gst:\"videoconvert ! waylandsink\" (or glimagesink)",
		               d->pub.node, d->pub.driver);
		goto fail;
	}
	drmModeResPtr res = drmModeGetResources(fd);
	if (!res || res->count_crtcs == 0) {
		drmModeFreeResources(res);
		r = vz_err_set(err, -ENODEV,
		               "%s (%s) has no display outputs (no CRTCs): name a display device "
		               "(drm:/dev/dri/cardN)",
		               d->pub.node, d->pub.driver);
		goto fail;
	}
	r = pick_connector(d, res, err);
	drmModeFreeResources(res);
	if (r == 0)
		r = find_planes(d, err);
	if (r < 0)
		goto fail;
	static const char *const cn[] = {"MODE_ID", "ACTIVE"};
	uint32_t cids[2];
	props_of(fd, d->crtc_id, DRM_MODE_OBJECT_CRTC, cn, 2, cids, NULL);
	d->crtc_prop_mode = cids[0];
	d->crtc_prop_active = cids[1];
	static const char *const kn[] = {"CRTC_ID", "WRITEBACK_FB_ID", "WRITEBACK_OUT_FENCE_PTR"};
	uint32_t kids[3];
	props_of(fd, d->conn_id, DRM_MODE_OBJECT_CONNECTOR, kn, 3, kids, NULL);
	d->conn_prop_crtc = kids[0];
	d->conn_prop_wb_fb = kids[1];
	d->conn_prop_wb_fence = kids[2];
	find_crtc_connectors(d);
	list_formats(d);
	*out = &d->pub;
	return 0;
fail:
	kms_close(&d->pub);
	return r;
}

/* The writeback target, once the mode is known: the composition at the
 * mode's size. */
static int writeback_prepare(struct kms_dev *d, struct vz_err *err)
{
	if (!d->wb || d->wb_fb)
		return 0;
	return dumb_fb(d, d->mode.hdisplay, d->mode.vdisplay, &d->wb_handle, &d->wb_fb, &d->wb_map,
	               &d->wb_size, &d->wb_pitch, err);
}

/* ---- the spec ---- */

static int parse_u32(const char *v, uint32_t *out)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);
	if (end == v || *end || n > 1u << 20)
		return -EINVAL;
	*out = (uint32_t)n;
	return 0;
}

int vz_drm_parse(const char *spec, struct vz_drm_opts *o, struct vz_err *err)
{
	static const char keys[] =
	        "connector=NAME|ID, plane=primary|overlay|ID, mode=WxH[@Hz], x=, "
	        "y=, policy=mailbox|fifo, legacy=1, buffers=auto|import|alloc, "
	        "writeback=FILE";
	memset(o, 0, sizeof(*o));
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", spec ? spec : "");
	char *p = buf;
	if (*p == ':') {
		p++;
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		snprintf(o->device, sizeof(o->device), "%.120s", p);
		p = comma ? comma + 1 : p + strlen(p);
	} else if (*p == ',') {
		p++;
	} else if (*p) {
		return vz_err_set(err, -EINVAL,
		                  "drm sink: expected drm, drm:DEVICE or drm,OPTION=VALUE, got "
		                  "'drm%s'; options: %s",
		                  spec, keys);
	}
	for (char *save = NULL, *kv = strtok_r(p, ",", &save); kv;
	     kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		if (!v)
			return vz_err_set(err, -EINVAL,
			                  "drm sink: '%s' is not KEY=VALUE; options: %s", kv, keys);
		*v++ = '\0';
		int r = 0;
		if (!strcmp(kv, "connector"))
			snprintf(o->connector, sizeof(o->connector), "%s", v);
		else if (!strcmp(kv, "plane")) {
			uint32_t id;
			if (strcmp(v, "primary") && strcmp(v, "overlay") && parse_u32(v, &id) < 0)
				r = -EINVAL;
			snprintf(o->plane, sizeof(o->plane), "%s", v);
		} else if (!strcmp(kv, "mode")) {
			unsigned w = 0, h = 0, hz = 0;
			int n = sscanf(v, "%ux%u@%u", &w, &h, &hz);
			if (n < 2 || !w || !h)
				r = -EINVAL;
			o->mode_w = w;
			o->mode_h = h;
			o->mode_hz = n == 3 ? hz : 0;
		} else if (!strcmp(kv, "x") || !strcmp(kv, "y")) {
			uint32_t n = 0;
			r = parse_u32(v, &n);
			*(kv[0] == 'x' ? &o->x : &o->y) = (int32_t)n;
		} else if (!strcmp(kv, "policy")) {
			if (!strcmp(v, "fifo"))
				o->fifo = true;
			else if (strcmp(v, "mailbox"))
				r = -EINVAL;
		} else if (!strcmp(kv, "legacy")) {
			if (strcmp(v, "0") && strcmp(v, "1"))
				r = -EINVAL;
			o->legacy = !strcmp(v, "1");
		} else if (!strcmp(kv, "buffers")) {
			o->buffers = !strcmp(v, "auto")     ? 0
			             : !strcmp(v, "import") ? 1
			             : !strcmp(v, "alloc")  ? 2
			                                    : -1;
			if (o->buffers < 0)
				r = -EINVAL;
		} else if (!strcmp(kv, "writeback")) {
			if (!*v)
				r = -EINVAL;
			snprintf(o->writeback, sizeof(o->writeback), "%s", v);
		} else {
			return vz_err_set(err, -EINVAL,
			                  "drm sink: unknown option '%s'; options: %s", kv, keys);
		}
		if (r < 0)
			return vz_err_set(err, -EINVAL,
			                  "drm sink: bad value '%s' for %s; options: %s", v, kv,
			                  keys);
	}
	return 0;
}
