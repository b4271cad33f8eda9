/* SPDX-License-Identifier: MIT */
/*
 * The V4L2 capture backend: negotiation, zero-copy buffers (driver mmap +
 * DMA-buf export, or DMA-buf import) and a streaming loop that counts every
 * fault it recovers from.  See capture.h for the contract.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "capture.h"
#include "clock.h"
#include "v4l2-internal.h"
#include "vz-config.h"

#if VZ_HAVE_LIBV4L2
#include <libv4l2.h>
#endif

#define DEFAULT_BUFFERS 4

/* Who has a buffer.  STREAMOFF hands back what the driver had, never what a
 * sink still reads, so a restart must only requeue the IDLE ones. */
enum buf_state {
	BUF_IDLE = 0, /* ours, not queued */
	BUF_QUEUED,   /* in the driver */
	BUF_HELD,     /* delivered, waiting for vz_capture_queue() */
};

struct vz_capture {
	/* Deep copy of the configuration: reconnect redoes everything. */
	struct vz_capture_config cfg;
	char *selector;
	char *drm_node;
	struct vz_import_buffer *import;

	char path[512];
	char card[33], driver[17], bus_info[33];
	int fd;
	bool lib;      /* fd wrapped by libv4l2 */
	bool emulated; /* libv4l2 converts: every frame is a CPU copy */
	bool mplane;
	uint32_t type, memory;
	bool can_parm;
	bool streaming;
	bool gone;

	struct vz_format fmt;
	unsigned nbuf;
	struct vz_buffer buf[VZ_MAX_BUFFERS];
	enum buf_state state[VZ_MAX_BUFFERS];
	struct vz_dumb_set *dumb;
	char dumb_node[64];

	bool have_seq;
	uint32_t last_seq;
	bool have_ts;
	int64_t last_ts;
	struct vz_capture_stats st;
};

static int xioctl(const struct vz_capture *c, unsigned long req, void *arg)
{
	int r;
	do {
#if VZ_HAVE_LIBV4L2
		if (c->lib)
			r = v4l2_ioctl(c->fd, req, arg);
		else
#endif
			r = ioctl(c->fd, req, arg);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

/* Appends to a message under construction, silently truncating. */
static void catf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void catf(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	if (used + 1 >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static const char *fcc(uint32_t f, char b[5])
{
	return vz_fourcc_str(f, b);
}

static int busy_error(const struct vz_capture *c, const char *what, struct vz_err *err)
{
	return vz_err_set(err, -EBUSY,
	                  "%s (%s) is in use by another process (%s: device busy); find it with "
	                  "`fuser %s` and stop it, or pick another device",
	                  c->path, c->card, what, c->path);
}

static int gone_error(struct vz_capture *c, const char *what, struct vz_err *err)
{
	if (!c->gone) {
		c->gone = true;
		c->st.disconnects++;
	}
	return vz_err_set(err, -ENODEV,
	                  "%s (%s, %s) disconnected during %s: the device is gone (unplugged or "
	                  "driver unbound); reconnect to resume (vzero: --reconnect[=SECONDS])",
	                  c->path, c->card, c->bus_info, what);
}

static int open_error(const char *path, int e, struct vz_err *err)
{
	if (e == EACCES || e == EPERM) {
		struct stat st;
		if (stat(path, &st) == 0) {
			struct group *g = getgrgid(st.st_gid);
			char gname[64];
			if (g)
				snprintf(gname, sizeof(gname), "%s", g->gr_name);
			else
				snprintf(gname, sizeof(gname), "%u", (unsigned)st.st_gid);
			if (st.st_mode & S_IRWXG)
				return vz_err_set(
				        err, -e,
				        "permission denied opening %s (mode %04o, group %s):"
				        " add yourself to it with `sudo usermod -aG %s $USER`"
				        " and log in again",
				        path, (unsigned)(st.st_mode & 07777), gname, gname);
			return vz_err_set(err, -e,
			                  "permission denied opening %s (mode %04o: no group access"
			                  "): only its owner can open it; ask an administrator to "
			                  "grant group access (udev rule)",
			                  path, (unsigned)(st.st_mode & 07777));
		}
	}
	return vz_err_set(err, -e, "cannot open %s: %s", path, strerror(e));
}

static const char *node_kind(uint32_t caps)
{
	if (caps & (V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_VIDEO_OUTPUT_MPLANE))
		return "a video output node";
	if (caps & (V4L2_CAP_VBI_CAPTURE | V4L2_CAP_SLICED_VBI_CAPTURE | V4L2_CAP_VBI_OUTPUT |
	            V4L2_CAP_SLICED_VBI_OUTPUT))
		return "a VBI node";
	if (caps & (V4L2_CAP_RADIO | V4L2_CAP_TUNER | V4L2_CAP_MODULATOR))
		return "a radio node";
	if (caps & V4L2_CAP_TOUCH)
		return "a touch node";
	if (caps & (V4L2_CAP_META_CAPTURE | V4L2_CAP_META_OUTPUT))
		return "a metadata node";
	if (caps & (V4L2_CAP_SDR_CAPTURE | V4L2_CAP_SDR_OUTPUT))
		return "a software-defined-radio node";
	return "not a video capture node";
}

/* ---- opening ---- */

static int dev_open(struct vz_capture *c, const char *path, struct vz_err *err)
{
	snprintf(c->path, sizeof(c->path), "%s", path);
	int flags = O_RDWR | O_CLOEXEC | (c->cfg.blocking ? 0 : O_NONBLOCK);
	int fd = open(path, flags);
	if (fd < 0)
		return open_error(path, errno, err);
	c->fd = fd;
	if (c->cfg.libv4l2) {
#if VZ_HAVE_LIBV4L2
		if (v4l2_fd_open(fd, 0) < 0)
			return vz_err_set(err, -errno, "libv4l2 cannot take over %s: %s", path,
			                  strerror(errno));
		c->lib = true;
#else
		return vz_err_set(
		        err, -ENOTSUP,
		        "vzero was built without libv4l2: install libv4l-dev and "
		        "rebuild (meson -Dlibv4l2=enabled), or capture without --libv4l2");
#endif
	}

	struct v4l2_capability cap = {0};
	int ret = xioctl(c, VIDIOC_QUERYCAP, &cap);
	if (ret == -ENOTTY)
		return vz_err_set(err, ret, "%s is not a V4L2 device (VIDIOC_QUERYCAP: %s)", path,
		                  strerror(-ret));
	if (ret < 0)
		return vz_err_set(err, ret, "%s: VIDIOC_QUERYCAP failed: %s", path, strerror(-ret));
	snprintf(c->card, sizeof(c->card), "%s", (const char *)cap.card);
	snprintf(c->driver, sizeof(c->driver), "%s", (const char *)cap.driver);
	snprintf(c->bus_info, sizeof(c->bus_info), "%s", (const char *)cap.bus_info);
	uint32_t caps =
	        (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
	if (caps & V4L2_CAP_VIDEO_CAPTURE) {
		c->mplane = false;
		c->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	} else if (caps & V4L2_CAP_VIDEO_CAPTURE_MPLANE) {
		c->mplane = true;
		c->type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
	} else {
		return vz_err_set(err, -ENODEV,
		                  "%s (%s) is %s, not video capture: pick a capture node "
		                  "(`vzero devices` lists them)",
		                  path, c->card, node_kind(caps));
	}
	if (!(caps & V4L2_CAP_STREAMING))
		return vz_err_set(err, -ENOTSUP,
		                  "%s (%s) cannot stream (no V4L2_CAP_STREAMING; read() only): "
		                  "vzero needs streaming I/O",
		                  path, c->card);
	return 0;
}

/* ---- negotiation ---- */

static void pix_get(const struct vz_capture *c, const struct v4l2_format *f, uint32_t *fourcc,
                    uint32_t *w, uint32_t *h)
{
	if (c->mplane) {
		*fourcc = f->fmt.pix_mp.pixelformat;
		*w = f->fmt.pix_mp.width;
		*h = f->fmt.pix_mp.height;
	} else {
		*fourcc = f->fmt.pix.pixelformat;
		*w = f->fmt.pix.width;
		*h = f->fmt.pix.height;
	}
}

static void pix_set(const struct vz_capture *c, struct v4l2_format *f, uint32_t fourcc, uint32_t w,
                    uint32_t h)
{
	if (c->mplane) {
		f->fmt.pix_mp.pixelformat = fourcc;
		f->fmt.pix_mp.width = w;
		f->fmt.pix_mp.height = h;
		f->fmt.pix_mp.field = V4L2_FIELD_ANY;
	} else {
		f->fmt.pix.pixelformat = fourcc;
		f->fmt.pix.width = w;
		f->fmt.pix.height = h;
		f->fmt.pix.field = V4L2_FIELD_ANY;
		f->fmt.pix.bytesperline = 0;
		f->fmt.pix.sizeimage = 0;
	}
}

/* Fills @list (NUL-terminated text) with the fourccs offered; returns
 * whether @want is among them and sets *emulated for it. */
static bool fourcc_offered(const struct vz_capture *c, uint32_t want, char *list, size_t len,
                           bool *emulated)
{
	bool found = false;
	unsigned more = 0;
	list[0] = '\0';
	for (uint32_t i = 0; i < 256; i++) {
		struct v4l2_fmtdesc d = {.index = i, .type = c->type};
		if (xioctl(c, VIDIOC_ENUM_FMT, &d) < 0)
			break;
		char b[5];
		/* vivid offers ~90 formats: keep the error to one readable line. */
		if (strlen(list) < 240)
			catf(list, len, "%s%s", i ? ", " : "", fcc(d.pixelformat, b));
		else
			more++;
		if (d.pixelformat == want) {
			found = true;
			if (emulated)
				*emulated = d.flags & V4L2_FMT_FLAG_EMULATED;
		}
	}
	if (more)
		catf(list, len, " and %u more (`vzero devices` lists them all)", more);
	return found;
}

static void sizes_offered(const struct vz_capture *c, uint32_t fourcc, char *list, size_t len)
{
	list[0] = '\0';
	for (uint32_t i = 0; i < 64; i++) {
		struct v4l2_frmsizeenum s = {.index = i, .pixel_format = fourcc};
		if (xioctl(c, VIDIOC_ENUM_FRAMESIZES, &s) < 0)
			break;
		if (s.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
			catf(list, len, "%s%ux%u", i ? ", " : "", s.discrete.width,
			     s.discrete.height);
		} else {
			catf(list, len, "%ux%u to %ux%u in steps of %ux%u", s.stepwise.min_width,
			     s.stepwise.min_height, s.stepwise.max_width, s.stepwise.max_height,
			     s.stepwise.step_width, s.stepwise.step_height);
			break;
		}
	}
}

static void rates_offered(const struct vz_capture *c, uint32_t fourcc, uint32_t w, uint32_t h,
                          char *list, size_t len)
{
	list[0] = '\0';
	for (uint32_t i = 0; i < 64; i++) {
		struct v4l2_frmivalenum v = {
		        .index = i, .pixel_format = fourcc, .width = w, .height = h};
		if (xioctl(c, VIDIOC_ENUM_FRAMEINTERVALS, &v) < 0)
			break;
		if (v.type == V4L2_FRMIVAL_TYPE_DISCRETE) {
			if (v.discrete.numerator == 0)
				continue;
			catf(list, len, "%s%g", i ? ", " : "",
			     (double)v.discrete.denominator / v.discrete.numerator);
		} else {
			const struct v4l2_fract *a = &v.stepwise.max, *b = &v.stepwise.min;
			if (a->numerator && b->numerator)
				catf(list, len, "%g to %g", (double)a->denominator / a->numerator,
				     (double)b->denominator / b->numerator);
			break;
		}
	}
	if (!list[0])
		snprintf(list, len, "(the driver does not list its rates)");
}

static void fill_format(struct vz_capture *c, const struct v4l2_format *f)
{
	struct vz_format *vf = &c->fmt;
	uint32_t stride[VZ_MAX_PLANES] = {0};
	uint32_t num_mem;
	memset(vf, 0, sizeof(*vf));
	if (c->mplane) {
		const struct v4l2_pix_format_mplane *pm = &f->fmt.pix_mp;
		vf->fourcc = pm->pixelformat;
		vf->width = pm->width;
		vf->height = pm->height;
		num_mem = pm->num_planes > VZ_MAX_PLANES ? VZ_MAX_PLANES : pm->num_planes;
		for (unsigned p = 0; p < num_mem; p++) {
			vf->mem_size[p] = pm->plane_fmt[p].sizeimage;
			stride[p] = pm->plane_fmt[p].bytesperline;
		}
		vf->colorspace = pm->colorspace;
		vf->ycbcr_enc = pm->ycbcr_enc;
		vf->quantization = pm->quantization;
		vf->xfer_func = pm->xfer_func;
		vf->field = pm->field;
	} else {
		const struct v4l2_pix_format *p = &f->fmt.pix;
		vf->fourcc = p->pixelformat;
		vf->width = p->width;
		vf->height = p->height;
		num_mem = 1;
		vf->mem_size[0] = p->sizeimage;
		stride[0] = p->bytesperline;
		vf->colorspace = p->colorspace;
		vf->ycbcr_enc = p->ycbcr_enc;
		vf->quantization = p->quantization;
		vf->xfer_func = p->xfer_func;
		vf->field = p->field;
	}
	uint32_t sizes[VZ_MAX_PLANES];
	memcpy(sizes, vf->mem_size, sizeof(sizes));
	if (vz_format_layout(vf, stride) == 0 && vf->num_mem == num_mem)
		return;
	/* A format vzero cannot lay out (MJPEG, Bayer, ...) still streams: one
	 * opaque colour plane per memory plane; processors that need pixels
	 * refuse it through vz_format_desc_find(). */
	vf->num_mem = num_mem;
	vf->num_planes = num_mem;
	memcpy(vf->mem_size, sizes, sizeof(sizes));
	for (unsigned p = 0; p < VZ_MAX_PLANES; p++) {
		vf->plane[p].mem = p;
		vf->plane[p].offset = 0;
		vf->plane[p].stride = p < num_mem ? stride[p] : 0;
		vf->plane[p].height = p < num_mem ? vf->height : 0;
	}
}

static int negotiate_rate(struct vz_capture *c, uint32_t num, uint32_t den, struct vz_err *err)
{
	struct v4l2_streamparm parm = {.type = c->type};
	int ret = xioctl(c, VIDIOC_G_PARM, &parm);
	c->can_parm = ret == 0 && (parm.parm.capture.capability & V4L2_CAP_TIMEPERFRAME);
	char b[5];
	if (num) {
		if (!c->can_parm)
			return vz_err_set(err, -ENOTSUP,
			                  "%s (%s) does not let applications set the frame rate; "
			                  "drop -r to use the driver's",
			                  c->path, c->card);
		parm.parm.capture.timeperframe.numerator = den;
		parm.parm.capture.timeperframe.denominator = num;
		ret = xioctl(c, VIDIOC_S_PARM, &parm);
		if (ret == -EBUSY)
			return busy_error(c, "VIDIOC_S_PARM", err);
		if (ret < 0)
			return vz_err_set(err, ret, "%s: VIDIOC_S_PARM %u/%u fps failed: %s",
			                  c->path, num, den, strerror(-ret));
		const struct v4l2_fract *t = &parm.parm.capture.timeperframe;
		/* Exact fractions can differ in form (25/1 vs 50/2): compare the
		 * rates with a 0.1% tolerance. */
		double want = (double)num / den;
		double got = t->numerator ? (double)t->denominator / t->numerator : 0;
		if (got <= 0 || got < want * 0.999 || got > want * 1.001) {
			char list[512];
			rates_offered(c, c->fmt.fourcc, c->fmt.width, c->fmt.height, list,
			              sizeof(list));
			return vz_err_set(err, -EINVAL,
			                  "%s (%s) cannot capture %s %ux%u at %g fps; nearest it "
			                  "offers: %g fps (rates for this size: %s)",
			                  c->path, c->card, fcc(c->fmt.fourcc, b), c->fmt.width,
			                  c->fmt.height, want, got, list);
		}
	}
	if (c->can_parm || ret == 0) {
		memset(&parm, 0, sizeof(parm));
		parm.type = c->type;
		if (xioctl(c, VIDIOC_G_PARM, &parm) == 0 &&
		    parm.parm.capture.timeperframe.numerator) {
			c->fmt.fps_num = parm.parm.capture.timeperframe.denominator;
			c->fmt.fps_den = parm.parm.capture.timeperframe.numerator;
		}
	}
	return 0;
}

static int negotiate(struct vz_capture *c, uint32_t want_fcc, uint32_t want_w, uint32_t want_h,
                     struct vz_err *err)
{
	struct v4l2_format f = {.type = c->type};
	char b[5], b2[5];
	int ret = xioctl(c, VIDIOC_G_FMT, &f);
	if (ret < 0)
		return vz_err_set(err, ret, "%s: VIDIOC_G_FMT failed: %s", c->path, strerror(-ret));
	uint32_t cur_fcc, cur_w, cur_h;
	pix_get(c, &f, &cur_fcc, &cur_w, &cur_h);
	uint32_t fourcc = want_fcc ? want_fcc : cur_fcc;
	uint32_t w = want_w ? want_w : cur_w;
	uint32_t h = want_h ? want_h : cur_h;

	char list[512];
	bool emulated = false;
	bool offered = fourcc_offered(c, fourcc, list, sizeof(list), &emulated);
	if (want_fcc && !offered)
		return vz_err_set(err, -EINVAL, "%s (%s) does not offer format %s; it offers: %s%s",
		                  c->path, c->card, fcc(fourcc, b), list,
		                  c->cfg.libv4l2 ? "" : " (--libv4l2 can convert to more)");
	c->emulated = c->lib && emulated;

	/* An importer may dictate the pitch (a display's scanout buffer). */
	const uint32_t *stride = NULL;
	if (c->cfg.io == VZ_IO_DMABUF_IMPORT && c->import && c->cfg.import_count)
		stride = c->import[0].stride;
	bool need_set = fourcc != cur_fcc || w != cur_w || h != cur_h || (stride && stride[0]);
	if (need_set) {
		pix_set(c, &f, fourcc, w, h);
		if (stride) {
			if (c->mplane) {
				for (unsigned p = 0; p < VZ_MAX_PLANES; p++)
					f.fmt.pix_mp.plane_fmt[p].bytesperline = stride[p];
			} else {
				f.fmt.pix.bytesperline = stride[0];
			}
		}
		struct v4l2_format t = f;
		ret = xioctl(c, VIDIOC_TRY_FMT, &t);
		if (ret == 0) {
			uint32_t tf, tw, th;
			pix_get(c, &t, &tf, &tw, &th);
			if (tf != fourcc)
				return vz_err_set(err, -EINVAL,
				                  "%s (%s) turned format %s into %s; it offers: %s",
				                  c->path, c->card, fcc(fourcc, b), fcc(tf, b2),
				                  list);
			if (tw != w || th != h) {
				char sizes[512];
				sizes_offered(c, fourcc, sizes, sizeof(sizes));
				return vz_err_set(err, -EINVAL,
				                  "%s (%s) cannot capture %s at %ux%u; nearest it "
				                  "offers: %ux%u (sizes: %s)",
				                  c->path, c->card, fcc(fourcc, b), w, h, tw, th,
				                  sizes[0] ? sizes : "not listed");
			}
		} else if (ret != -ENOTTY) {
			return vz_err_set(err, ret, "%s: VIDIOC_TRY_FMT %s %ux%u failed: %s",
			                  c->path, fcc(fourcc, b), w, h, strerror(-ret));
		}
		ret = xioctl(c, VIDIOC_S_FMT, &f);
		if (ret == -EBUSY)
			return busy_error(c, "VIDIOC_S_FMT", err);
		if (ret < 0)
			return vz_err_set(err, ret, "%s: VIDIOC_S_FMT %s %ux%u failed: %s", c->path,
			                  fcc(fourcc, b), w, h, strerror(-ret));
		uint32_t sf, sw, sh;
		pix_get(c, &f, &sf, &sw, &sh);
		if (sf != fourcc || sw != w || sh != h)
			return vz_err_set(err, -EINVAL,
			                  "%s (%s) set %s %ux%u instead of the %s %ux%u asked for",
			                  c->path, c->card, fcc(sf, b), sw, sh, fcc(fourcc, b2), w,
			                  h);
	}
	fill_format(c, &f);
	return negotiate_rate(c, c->cfg.fps_num, c->cfg.fps_den, err);
}

/* ---- buffers ---- */

static void buffers_free(struct vz_capture *c)
{
	bool ours = c->cfg.io == VZ_IO_MMAP;
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++) {
		for (unsigned p = 0; p < VZ_MAX_PLANES; p++) {
			struct vz_mem *m = &c->buf[i].mem[p];
			if (ours) {
				if (m->map) {
#if VZ_HAVE_LIBV4L2
					if (c->lib)
						v4l2_munmap(m->map, m->length);
					else
#endif
						munmap(m->map, m->length);
				}
				if (m->fd_rw >= 0)
					close(m->fd_rw);
				if (m->fd_ro >= 0)
					close(m->fd_ro);
			}
			m->map = NULL;
			m->fd_rw = m->fd_ro = -1;
			m->length = 0;
		}
		c->buf[i].num_mem = 0;
		c->state[i] = BUF_IDLE;
	}
	vz_dumb_free(c->dumb);
	c->dumb = NULL;
	if (c->nbuf && c->fd >= 0 && !c->gone) {
		struct v4l2_requestbuffers rb = {.count = 0, .type = c->type, .memory = c->memory};
		xioctl(c, VIDIOC_REQBUFS, &rb);
	}
	c->nbuf = 0;
}

static int expbuf(struct vz_capture *c, unsigned i, unsigned p, int flags, int *out,
                  struct vz_err *err)
{
	struct v4l2_exportbuffer e = {.type = c->type, .index = i, .plane = p, .flags = flags};
	int ret = xioctl(c, VIDIOC_EXPBUF, &e);
	if (ret < 0)
		return vz_err_set(err, ret,
		                  "%s (%s, driver %s): cannot export buffer %u plane %u as DMA-buf "
		                  "(VIDIOC_EXPBUF: %s); the driver lacks DMA-buf export",
		                  c->path, c->card, c->driver, i, p, strerror(-ret));
	*out = e.fd;
	return 0;
}

static int map_mmap_buffer(struct vz_capture *c, unsigned i, struct vz_err *err)
{
	struct v4l2_plane planes[VZ_MAX_PLANES] = {0};
	struct v4l2_buffer b = {.type = c->type, .memory = V4L2_MEMORY_MMAP, .index = i};
	if (c->mplane) {
		b.m.planes = planes;
		b.length = VZ_MAX_PLANES;
	}
	int ret = xioctl(c, VIDIOC_QUERYBUF, &b);
	if (ret < 0)
		return vz_err_set(err, ret, "%s: VIDIOC_QUERYBUF %u failed: %s", c->path, i,
		                  strerror(-ret));
	unsigned n = c->mplane ? b.length : 1;
	if (n == 0 || n > VZ_MAX_PLANES)
		return vz_err_set(err, -EINVAL, "%s: buffer %u has %u planes (max %d)", c->path, i,
		                  n, VZ_MAX_PLANES);
	struct vz_buffer *vb = &c->buf[i];
	vb->index = i;
	vb->num_mem = n;
	for (unsigned p = 0; p < n; p++) {
		size_t len = c->mplane ? planes[p].length : b.length;
		off_t off = c->mplane ? planes[p].m.mem_offset : b.m.offset;
		void *m;
#if VZ_HAVE_LIBV4L2
		if (c->lib)
			/* libv4l2 hands out its own conversion buffers for this
			 * offset only with plain MAP_SHARED. */
			m = v4l2_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, off);
		else
#endif
			m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			         c->fd, off);
		if (m == MAP_FAILED)
			return vz_err_set(err, -errno, "%s: cannot mmap buffer %u plane %u: %s",
			                  c->path, i, p, strerror(errno));
		vb->mem[p].map = m;
		vb->mem[p].length = len;
		/* Converted frames live in libv4l2's memory: nothing to export. */
		if (c->emulated)
			continue;
		ret = expbuf(c, i, p, O_RDWR | O_CLOEXEC, &vb->mem[p].fd_rw, err);
		if (ret < 0)
			return ret;
		ret = expbuf(c, i, p, O_RDONLY | O_CLOEXEC, &vb->mem[p].fd_ro, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int buffers_alloc(struct vz_capture *c, struct vz_err *err)
{
	bool import = c->cfg.io == VZ_IO_DMABUF_IMPORT;
	unsigned want = c->cfg.buffers ? c->cfg.buffers : DEFAULT_BUFFERS;
	if (import && c->import)
		want = c->cfg.import_count;
	if (want == 0 || want > VZ_MAX_BUFFERS)
		return vz_err_set(err, -EINVAL, "%u buffers asked for: use 1 to %d", want,
		                  VZ_MAX_BUFFERS);
	if (import && c->lib)
		return vz_err_set(err, -EINVAL,
		                  "--libv4l2 converts into its own memory and cannot fill "
		                  "imported DMA-bufs: use --io mmap with --libv4l2");
	c->memory = import ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_MMAP;
	struct v4l2_requestbuffers rb = {.count = want, .type = c->type, .memory = c->memory};
	int ret = xioctl(c, VIDIOC_REQBUFS, &rb);
	if (ret == -EBUSY)
		return busy_error(c, "VIDIOC_REQBUFS", err);
	if (ret == -EINVAL && import)
		return vz_err_set(err, ret,
		                  "%s (%s, driver %s) cannot import DMA-bufs (VIDIOC_REQBUFS "
		                  "V4L2_MEMORY_DMABUF: %s): use --io mmap",
		                  c->path, c->card, c->driver, strerror(-ret));
	if (ret < 0)
		return vz_err_set(err, ret, "%s: VIDIOC_REQBUFS %u %s buffers failed: %s", c->path,
		                  want, import ? "DMABUF" : "MMAP", strerror(-ret));
	if (rb.count == 0)
		return vz_err_set(err, -ENOMEM, "%s: the driver granted no buffers (asked %u)",
		                  c->path, want);
	c->nbuf = rb.count < want ? rb.count : want;
	if (!import) {
		for (unsigned i = 0; i < c->nbuf; i++) {
			ret = map_mmap_buffer(c, i, err);
			if (ret < 0)
				return ret;
		}
		return 0;
	}
	if (!c->import) {
		ret = vz_dumb_alloc(&c->dumb, c->drm_node, c->nbuf, c->fmt.num_mem, c->fmt.mem_size,
		                    c->buf, c->dumb_node, sizeof(c->dumb_node), err);
		if (ret < 0)
			return vz_err_prefix(err, "allocating %u import buffers for %s", c->nbuf,
			                     c->path);
		return 0;
	}
	for (unsigned i = 0; i < c->nbuf; i++) {
		struct vz_buffer *vb = &c->buf[i];
		vb->index = i;
		vb->num_mem = c->fmt.num_mem;
		for (unsigned p = 0; p < vb->num_mem; p++) {
			const struct vz_import_buffer *ib = &c->import[i];
			if (ib->fd[p] < 0 || ib->length[p] < c->fmt.mem_size[p])
				return vz_err_set(err, -EINVAL,
				                  "import buffer %u plane %u (fd %d, %zu bytes) "
				                  "cannot hold the %u bytes %s needs per frame",
				                  i, p, ib->fd[p], ib->length[p],
				                  c->fmt.mem_size[p], c->path);
			vb->mem[p].fd_rw = ib->fd[p];
			vb->mem[p].fd_ro = -1;
			vb->mem[p].map = ib->map[p];
			vb->mem[p].length = ib->length[p];
		}
	}
	return 0;
}

/* ---- setup and teardown ---- */

static void teardown(struct vz_capture *c)
{
	if (c->streaming && c->fd >= 0 && !c->gone) {
		uint32_t type = c->type;
		xioctl(c, VIDIOC_STREAMOFF, &type);
	}
	c->streaming = false;
	buffers_free(c);
	if (c->fd >= 0) {
#if VZ_HAVE_LIBV4L2
		if (c->lib)
			v4l2_close(c->fd);
		else
#endif
			close(c->fd);
	}
	c->fd = -1;
	c->lib = false;
	c->emulated = false;
}

static int setup(struct vz_capture *c, const char *path, struct vz_err *err)
{
	int ret = dev_open(c, path, err);
	if (ret < 0)
		return ret;
	ret = negotiate(c, c->cfg.fourcc, c->cfg.width, c->cfg.height, err);
	if (ret < 0)
		return ret;
	ret = buffers_alloc(c, err);
	if (ret < 0)
		return ret;
	struct v4l2_event_subscription sub = {.type = V4L2_EVENT_SOURCE_CHANGE};
	ret = xioctl(c, VIDIOC_SUBSCRIBE_EVENT, &sub);
	if (ret < 0 && ret != -ENOTTY && ret != -EINVAL)
		return vz_err_set(err, ret, "%s: cannot subscribe to source-change events: %s",
		                  c->path, strerror(-ret));
	return 0;
}

static char *dup_or_null(const char *s, bool *fail)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*fail = true;
	return d;
}

void vz_capture_close(struct vz_capture *c)
{
	if (!c)
		return;
	teardown(c);
	free(c->selector);
	free(c->drm_node);
	free(c->import);
	free(c);
}

int vz_capture_open(struct vz_capture **out, const struct vz_capture_config *cfg,
                    struct vz_err *err)
{
	*out = NULL;
	if (!cfg || !cfg->device || !cfg->device[0])
		return vz_err_set(err, -EINVAL, "no capture device given (e.g. -d /dev/video0)");
	if (cfg->io != VZ_IO_MMAP && cfg->io != VZ_IO_DMABUF_IMPORT)
		return vz_err_set(err, -EINVAL, "unknown I/O mode %d", (int)cfg->io);
	if ((cfg->fps_num == 0) != (cfg->fps_den == 0))
		return vz_err_set(err, -EINVAL, "frame rate %u/%u is not a rate", cfg->fps_num,
		                  cfg->fps_den);
	if (cfg->io == VZ_IO_DMABUF_IMPORT && cfg->import &&
	    (cfg->import_count == 0 || cfg->import_count > VZ_MAX_BUFFERS))
		return vz_err_set(err, -EINVAL, "%u import buffers: use 1 to %d", cfg->import_count,
		                  VZ_MAX_BUFFERS);

	struct vz_capture *c = calloc(1, sizeof(*c));
	if (!c)
		return vz_err_set(err, -ENOMEM, "out of memory");
	c->fd = -1;
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++)
		for (unsigned p = 0; p < VZ_MAX_PLANES; p++)
			c->buf[i].mem[p].fd_rw = c->buf[i].mem[p].fd_ro = -1;
	c->cfg = *cfg;
	bool fail = false;
	c->selector = dup_or_null(cfg->device, &fail);
	c->drm_node = dup_or_null(cfg->import_drm_node, &fail);
	c->cfg.device = c->selector;
	c->cfg.import_drm_node = c->drm_node;
	c->cfg.import = NULL;
	int ret;
	if (cfg->io == VZ_IO_DMABUF_IMPORT && cfg->import) {
		c->import = calloc(cfg->import_count, sizeof(*c->import));
		if (c->import)
			memcpy(c->import, cfg->import, cfg->import_count * sizeof(*c->import));
		else
			fail = true;
	}
	if (fail) {
		ret = vz_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}

	char path[512];
	ret = vz_device_resolve(c->selector, path, sizeof(path), err);
	if (ret < 0)
		goto fail;
	ret = setup(c, path, err);
	if (ret < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	vz_capture_close(c);
	return ret;
}

/* ---- streaming ---- */

static int qbuf(struct vz_capture *c, unsigned i, struct vz_err *err)
{
	struct v4l2_plane planes[VZ_MAX_PLANES] = {0};
	struct v4l2_buffer b = {.type = c->type, .memory = c->memory, .index = i};
	const struct vz_buffer *vb = &c->buf[i];
	bool dmabuf = c->memory == V4L2_MEMORY_DMABUF;
	if (c->mplane) {
		b.m.planes = planes;
		b.length = vb->num_mem;
		for (unsigned p = 0; dmabuf && p < vb->num_mem; p++) {
			planes[p].m.fd = vb->mem[p].fd_rw;
			planes[p].length = (uint32_t)vb->mem[p].length;
		}
	} else if (dmabuf) {
		b.m.fd = vb->mem[0].fd_rw;
		b.length = (uint32_t)vb->mem[0].length;
	}
	int ret = xioctl(c, VIDIOC_QBUF, &b);
	if (ret == 0) {
		c->state[i] = BUF_QUEUED;
		return 0;
	}
	c->state[i] = BUF_IDLE;
	if (ret == -ENODEV)
		return gone_error(c, "VIDIOC_QBUF", err);
	if (dmabuf && ret != -EIO)
		return vz_err_set(err, ret,
		                  "%s (%s, driver %s) refused imported DMA-buf %u (fd %d, %zu "
		                  "bytes%s%s): VIDIOC_QBUF: %s; the buffer may be too small or not "
		                  "physically contiguous for this driver (use --io mmap)",
		                  c->path, c->card, c->driver, i, vb->mem[0].fd_rw,
		                  vb->mem[0].length, c->dumb ? ", from " : "",
		                  c->dumb ? c->dumb_node : "", strerror(-ret));
	return vz_err_set(err, ret, "%s: VIDIOC_QBUF %u failed: %s", c->path, i, strerror(-ret));
}

int vz_capture_start(struct vz_capture *c, struct vz_err *err)
{
	if (c->fd < 0 || c->gone)
		return gone_error(c, "start", err);
	if (c->streaming)
		return 0;
	for (unsigned i = 0; i < c->nbuf; i++) {
		if (c->state[i] != BUF_IDLE)
			continue;
		int ret = qbuf(c, i, err);
		if (ret < 0)
			return ret;
	}
	uint32_t type = c->type;
	int ret = xioctl(c, VIDIOC_STREAMON, &type);
	if (ret == -ENODEV)
		return gone_error(c, "VIDIOC_STREAMON", err);
	if (ret == -EBUSY)
		return busy_error(c, "VIDIOC_STREAMON", err);
	if (ret < 0)
		return vz_err_set(err, ret, "%s (%s): VIDIOC_STREAMON failed: %s", c->path, c->card,
		                  strerror(-ret));
	c->streaming = true;
	/* A new stream restarts the driver's counters: no gap, no jump. */
	c->have_seq = false;
	c->have_ts = false;
	return 0;
}

int vz_capture_stop(struct vz_capture *c, struct vz_err *err)
{
	if (!c->streaming)
		return 0;
	c->streaming = false;
	for (unsigned i = 0; i < c->nbuf; i++)
		if (c->state[i] == BUF_QUEUED)
			c->state[i] = BUF_IDLE;
	if (c->fd < 0 || c->gone)
		return 0;
	uint32_t type = c->type;
	int ret = xioctl(c, VIDIOC_STREAMOFF, &type);
	if (ret == -ENODEV)
		return gone_error(c, "VIDIOC_STREAMOFF", err);
	if (ret < 0)
		return vz_err_set(err, ret, "%s: VIDIOC_STREAMOFF failed: %s", c->path,
		                  strerror(-ret));
	return 0;
}

/* Fatal streaming error: the queue refuses everything until STREAMOFF,
 * requeue and STREAMON; buffers the pipeline holds stay with it. */
static int restart(struct vz_capture *c, struct vz_err *err)
{
	int ret = vz_capture_stop(c, err);
	if (ret < 0)
		return ret;
	ret = vz_capture_start(c, err);
	if (ret < 0)
		return vz_err_prefix(err, "restarting %s after a fatal streaming error", c->path);
	c->st.restarts++;
	return 0;
}

static int drain_events(struct vz_capture *c, struct vz_err *err)
{
	bool changed = false;
	for (int n = 0; n < 64; n++) {
		struct v4l2_event ev;
		memset(&ev, 0, sizeof(ev));
		int ret = xioctl(c, VIDIOC_DQEVENT, &ev);
		if (ret == -ENOENT || ret == -EAGAIN || ret == -ENOTTY)
			break;
		if (ret == -ENODEV)
			return gone_error(c, "VIDIOC_DQEVENT", err);
		if (ret < 0)
			return vz_err_set(err, ret, "%s: VIDIOC_DQEVENT failed: %s", c->path,
			                  strerror(-ret));
		if (ev.type == V4L2_EVENT_SOURCE_CHANGE &&
		    (ev.u.src_change.changes & V4L2_EVENT_SRC_CH_RESOLUTION))
			changed = true;
	}
	if (!changed)
		return 0;
	c->st.source_changes++;
	return VZ_CAPTURE_FORMAT_CHANGED;
}

static int64_t tv_ns(const struct timeval *tv)
{
	/* Wrapping arithmetic: a wrapped 64-bit timestamp (negative tv_sec) must
	 * give sane differences, never signed-overflow UB. */
	uint64_t ns = (uint64_t)tv->tv_sec * (uint64_t)VZ_NSEC_PER_SEC +
	              (uint64_t)tv->tv_usec * (uint64_t)VZ_NSEC_PER_USEC;
	return (int64_t)ns;
}

static void track(struct vz_capture *c, struct vz_frame_info *fi)
{
	fi->gap = 0;
	if (c->have_seq) {
		uint32_t d = fi->sequence - c->last_seq;
		if (d != 0 && d < 0x80000000u) {
			fi->gap = d - 1;
			if (fi->sequence < c->last_seq)
				c->st.seq_wraps++;
		}
		/* Backwards by more than half the range: the driver restarted
		 * its count; nothing was lost that we can measure. */
	}
	c->have_seq = true;
	c->last_seq = fi->sequence;
	c->st.driver_drops += fi->gap;

	fi->ts_jump = false;
	if (c->have_ts) {
		int64_t d = (int64_t)((uint64_t)fi->t_driver_ns - (uint64_t)c->last_ts);
		int64_t nominal = vz_format_interval_ns(&c->fmt);
		int64_t limit = 10 * VZ_NSEC_PER_SEC + 4 * nominal * ((int64_t)fi->gap + 1);
		bool insane = d <= 0 || d > limit;
		if (insane || fi->t_driver_ns < c->last_ts)
			c->st.ts_jumps++;
		fi->ts_jump = insane;
	}
	c->have_ts = true;
	c->last_ts = fi->t_driver_ns;
}

int vz_capture_next(struct vz_capture *c, uint32_t revents, struct vz_frame_info *fi,
                    struct vz_err *err)
{
	if (c->fd < 0 || c->gone)
		return gone_error(c, "capture", err);
	if (revents & POLLHUP)
		return gone_error(c, "capture (POLLHUP)", err);
	if (revents & POLLPRI) {
		int ret = drain_events(c, err);
		if (ret != 0)
			return ret;
	}
	if (!c->streaming)
		return 0;
	if (revents && !(revents & (POLLIN | POLLERR)))
		return 0;

	struct v4l2_plane planes[VZ_MAX_PLANES] = {0};
	struct v4l2_buffer b = {.type = c->type, .memory = c->memory};
	if (c->mplane) {
		b.m.planes = planes;
		b.length = VZ_MAX_PLANES;
	}
	int ret = xioctl(c, VIDIOC_DQBUF, &b);
	if (ret == -EAGAIN)
		/* POLLERR with nothing to dequeue is the queue's error state. */
		return (revents & POLLERR) ? restart(c, err) : 0;
	if (ret == -EIO)
		return restart(c, err);
	if (ret == -ENODEV)
		return gone_error(c, "VIDIOC_DQBUF", err);
	if (ret == -EPIPE)
		return 0;
	if (ret < 0)
		return vz_err_set(err, ret, "%s: VIDIOC_DQBUF failed: %s", c->path, strerror(-ret));
	int64_t now = vz_now_ns();
	if (b.index >= c->nbuf)
		return vz_err_set(err, -EPROTO, "%s: the driver returned buffer %u of %u", c->path,
		                  b.index, c->nbuf);
	c->state[b.index] = BUF_HELD;

	memset(fi, 0, sizeof(*fi));
	fi->index = b.index;
	fi->sequence = b.sequence;
	fi->v4l2_flags = b.flags;
	fi->ts_monotonic =
	        (b.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) == V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC;
	fi->ts_source = (b.flags & V4L2_BUF_FLAG_TSTAMP_SRC_MASK) == V4L2_BUF_FLAG_TSTAMP_SRC_SOE
	                        ? VZ_TS_START_OF_EXPOSURE
	                        : VZ_TS_END_OF_FRAME;
	fi->t_driver_ns = tv_ns(&b.timestamp);
	fi->t_dqbuf_ns = now;
	uint64_t bytes = 0;
	if (c->mplane) {
		for (unsigned p = 0; p < b.length && p < VZ_MAX_PLANES; p++) {
			uint32_t off = planes[p].data_offset;
			fi->bytesused[p] =
			        planes[p].bytesused > off ? planes[p].bytesused - off : 0;
			bytes += fi->bytesused[p];
		}
	} else {
		fi->bytesused[0] = b.bytesused;
		bytes = b.bytesused;
	}
	track(c, fi);

	if (b.flags & V4L2_BUF_FLAG_ERROR) {
		c->st.error_frames++;
		ret = qbuf(c, b.index, err);
		/* EIO here means the queue broke meanwhile: the next call
		 * restarts it and this buffer, now IDLE, is requeued then. */
		return ret == -EIO ? 0 : (ret < 0 ? ret : 0);
	}
	c->st.frames++;
	if (c->emulated)
		c->st.bytes_copied += bytes;
	return 1;
}

int vz_capture_queue(struct vz_capture *c, unsigned index, struct vz_err *err)
{
	if (index >= c->nbuf || c->state[index] != BUF_HELD)
		return vz_err_set(err, -EINVAL, "%s: buffer %u is not held by the caller", c->path,
		                  index);
	if (!c->streaming || c->fd < 0 || c->gone) {
		c->state[index] = BUF_IDLE;
		return 0;
	}
	int ret = qbuf(c, index, err);
	/* A broken queue (fatal error not yet seen by vz_capture_next) takes
	 * no buffers; the restart requeues this one. */
	if (ret == -EIO) {
		vz_err_clear(err);
		return 0;
	}
	return ret;
}

unsigned vz_capture_queued(const struct vz_capture *c)
{
	unsigned n = 0;
	for (unsigned i = 0; i < c->nbuf; i++)
		n += c->state[i] == BUF_QUEUED;
	return n;
}

static unsigned held(const struct vz_capture *c)
{
	unsigned n = 0;
	for (unsigned i = 0; i < c->nbuf; i++)
		n += c->state[i] == BUF_HELD;
	return n;
}

/* Finds the capture node with our bus_info and card: the driver may give
 * it a new /dev/videoN when it comes back. */
static bool find_node(const struct vz_capture *c, char *path, size_t len)
{
	DIR *d = opendir("/dev");
	if (!d)
		return false;
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		if (strncmp(de->d_name, "video", 5) != 0)
			continue;
		char p[280];
		snprintf(p, sizeof(p), "/dev/%s", de->d_name);
		int fd = open(p, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct v4l2_capability cap = {0};
		if (ioctl(fd, VIDIOC_QUERYCAP, &cap) == 0) {
			uint32_t caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS)
			                        ? cap.device_caps
			                        : cap.capabilities;
			if ((caps & (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_CAPTURE_MPLANE)) &&
			    !strcmp((const char *)cap.bus_info, c->bus_info) &&
			    !strcmp((const char *)cap.card, c->card)) {
				snprintf(path, len, "%s", p);
				found = true;
			}
		}
		close(fd);
	}
	closedir(d);
	return found;
}

int vz_capture_reconnect(struct vz_capture *c, int timeout_ms, struct vz_err *err)
{
	unsigned h = held(c);
	if (h)
		return vz_err_set(err, -EBUSY,
		                  "%s: %u frame(s) still held: release every buffer before "
		                  "reconnecting",
		                  c->path, h);
	char old_path[512], card[33], bus[33];
	snprintf(old_path, sizeof(old_path), "%s", c->path);
	snprintf(card, sizeof(card), "%s", c->card);
	snprintf(bus, sizeof(bus), "%s", c->bus_info);
	/* Our fd, mappings and exports keep the vanished device alive; drivers
	 * (vivid among them) bring the node back only after the last close. */
	teardown(c);
	int64_t deadline =
	        timeout_ms <= 0 ? INT64_MAX : vz_now_ns() + (int64_t)timeout_ms * VZ_NSEC_PER_MSEC;
	struct vz_err last = {0};
	for (;;) {
		char path[512];
		if (find_node(c, path, sizeof(path))) {
			vz_err_clear(&last);
			c->gone = false;
			int ret = setup(c, path, &last);
			if (ret == 0)
				ret = vz_capture_start(c, &last);
			if (ret == 0) {
				c->st.reconnects++;
				return 0;
			}
			teardown(c);
			/* The driver may still be settling: retry until the deadline. */
			c->gone = true;
			snprintf(c->card, sizeof(c->card), "%s", card);
			snprintf(c->bus_info, sizeof(c->bus_info), "%s", bus);
		}
		if (vz_now_ns() >= deadline)
			break;
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	snprintf(c->path, sizeof(c->path), "%s", old_path);
	if (last.code)
		return vz_err_set(err, last.code, "reconnecting to %s (%s, %s): %s", old_path, card,
		                  bus, last.msg);
	return vz_err_set(err, -ETIMEDOUT,
	                  "%s (%s, %s) did not come back within %.1f s: check that the device "
	                  "is plugged in and its driver loaded",
	                  old_path, card, bus, timeout_ms / 1000.0);
}

int vz_capture_renegotiate(struct vz_capture *c, struct vz_err *err)
{
	unsigned h = held(c);
	if (h)
		return vz_err_set(err, -EBUSY,
		                  "%s: %u frame(s) still held: release every buffer before "
		                  "renegotiating",
		                  c->path, h);
	if (c->fd < 0 || c->gone)
		return gone_error(c, "renegotiation", err);
	bool was = c->streaming;
	int ret = vz_capture_stop(c, err);
	if (ret < 0)
		return ret;
	buffers_free(c);
	/* The source decides the new size; keep the fourcc and rate asked for. */
	ret = negotiate(c, c->cfg.fourcc, 0, 0, err);
	if (ret == 0)
		ret = buffers_alloc(c, err);
	if (ret == 0 && was)
		ret = vz_capture_start(c, err);
	if (ret < 0)
		return vz_err_prefix(err, "after a source change on %s", c->path);
	return 0;
}

int vz_capture_fd(const struct vz_capture *c)
{
	return c->fd;
}

const struct vz_format *vz_capture_format(const struct vz_capture *c)
{
	return &c->fmt;
}

unsigned vz_capture_buffer_count(const struct vz_capture *c)
{
	return c->nbuf;
}

const struct vz_buffer *vz_capture_buffer(const struct vz_capture *c, unsigned index)
{
	return index < c->nbuf ? &c->buf[index] : NULL;
}

void vz_capture_get_stats(const struct vz_capture *c, struct vz_capture_stats *out)
{
	*out = c->st;
}

const char *vz_capture_path(const struct vz_capture *c)
{
	return c->path;
}

const char *vz_capture_card(const struct vz_capture *c)
{
	return c->card;
}

const char *vz_capture_driver(const struct vz_capture *c)
{
	return c->driver;
}
