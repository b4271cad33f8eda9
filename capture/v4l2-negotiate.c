/* SPDX-License-Identifier: MIT */
/*
 * V4L2 format negotiation: the fourcc, size and rate the configuration asks
 * for (or the driver's current ones), a provider's pitch where buffers come
 * from a sink, and one clear line naming what the device offers instead when
 * it cannot.
 */
#include <stdio.h>
#include <string.h>

#include <linux/videodev2.h>

#include "capture.h"
#include "v4l2-internal.h"

static const char *fcc(uint32_t f, char b[5])
{
	return vz_fourcc_str(f, b);
}

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
		if (vz_v4l2_xioctl(c, VIDIOC_ENUM_FMT, &d) < 0)
			break;
		char b[5];
		/* vivid offers ~90 formats: keep the error to one readable line. */
		if (strlen(list) < 240)
			vz_msg_append(list, len, "%s%s", i ? ", " : "", fcc(d.pixelformat, b));
		else
			more++;
		if (d.pixelformat == want) {
			found = true;
			if (emulated)
				*emulated = d.flags & V4L2_FMT_FLAG_EMULATED;
		}
	}
	if (more)
		vz_msg_append(list, len, " and %u more (`vzero devices` lists them all)", more);
	return found;
}

static void sizes_offered(const struct vz_capture *c, uint32_t fourcc, char *list, size_t len)
{
	list[0] = '\0';
	for (uint32_t i = 0; i < 64; i++) {
		struct v4l2_frmsizeenum s = {.index = i, .pixel_format = fourcc};
		if (vz_v4l2_xioctl(c, VIDIOC_ENUM_FRAMESIZES, &s) < 0)
			break;
		if (s.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
			vz_msg_append(list, len, "%s%ux%u", i ? ", " : "", s.discrete.width,
			              s.discrete.height);
		} else {
			vz_msg_append(list, len, "%ux%u to %ux%u in steps of %ux%u",
			              s.stepwise.min_width, s.stepwise.min_height,
			              s.stepwise.max_width, s.stepwise.max_height,
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
		if (vz_v4l2_xioctl(c, VIDIOC_ENUM_FRAMEINTERVALS, &v) < 0)
			break;
		if (v.type == V4L2_FRMIVAL_TYPE_DISCRETE) {
			if (v.discrete.numerator == 0)
				continue;
			vz_msg_append(list, len, "%s%g", i ? ", " : "",
			              (double)v.discrete.denominator / v.discrete.numerator);
		} else {
			const struct v4l2_fract *a = &v.stepwise.max, *b = &v.stepwise.min;
			if (a->numerator && b->numerator)
				vz_msg_append(list, len, "%g to %g",
				              (double)a->denominator / a->numerator,
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
	int ret = vz_v4l2_xioctl(c, VIDIOC_G_PARM, &parm);
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
		ret = vz_v4l2_xioctl(c, VIDIOC_S_PARM, &parm);
		if (ret == -EBUSY)
			return vz_v4l2_busy_error(c, "VIDIOC_S_PARM", err);
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
		if (vz_v4l2_xioctl(c, VIDIOC_G_PARM, &parm) == 0 &&
		    parm.parm.capture.timeperframe.numerator) {
			c->fmt.fps_num = parm.parm.capture.timeperframe.denominator;
			c->fmt.fps_den = parm.parm.capture.timeperframe.numerator;
		}
	}
	return 0;
}

int vz_v4l2_negotiate(struct vz_capture *c, uint32_t want_fcc, uint32_t want_w, uint32_t want_h,
                      const uint32_t *stride, struct vz_err *err)
{
	struct v4l2_format f = {.type = c->type};
	char b[5], b2[5];
	int ret = vz_v4l2_xioctl(c, VIDIOC_G_FMT, &f);
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

	/* A provider may dictate the pitch (a display's scan-out buffer);
	 * without one the driver picks its own, whatever padding the last
	 * program left set in it (drivers keep bytesperline across opens). */
	bool need_set =
	        fourcc != cur_fcc || w != cur_w || h != cur_h || (stride && stride[0]) || !stride;
	if (need_set) {
		pix_set(c, &f, fourcc, w, h);
		if (c->mplane) {
			for (unsigned p = 0; p < VZ_MAX_PLANES; p++)
				f.fmt.pix_mp.plane_fmt[p].bytesperline = stride ? stride[p] : 0;
		} else {
			f.fmt.pix.bytesperline = stride ? stride[0] : 0;
		}
		struct v4l2_format t = f;
		ret = vz_v4l2_xioctl(c, VIDIOC_TRY_FMT, &t);
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
		ret = vz_v4l2_xioctl(c, VIDIOC_S_FMT, &f);
		if (ret == -EBUSY)
			return vz_v4l2_busy_error(c, "VIDIOC_S_FMT", err);
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
		for (unsigned p = 0; stride && p < (c->mplane ? f.fmt.pix_mp.num_planes : 1u);
		     p++) {
			uint32_t got = c->mplane ? f.fmt.pix_mp.plane_fmt[p].bytesperline
			                         : f.fmt.pix.bytesperline;
			if (stride[p] && got != stride[p])
				return vz_err_set(
				        err, -EINVAL,
				        "%s (%s, driver %s) chose %u bytes per line for plane "
				        "%u instead of the provider's pitch %u",
				        c->path, c->card, c->driver, got, p, stride[p]);
		}
	}
	fill_format(c, &f);
	return negotiate_rate(c, c->cfg.fps_num, c->cfg.fps_den, err);
}
