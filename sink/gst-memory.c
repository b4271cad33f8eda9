/* SPDX-License-Identifier: MIT */
/*
 * vzero's frames as GStreamer memory, and knowing when GStreamer is done.
 *
 * Per buffer set, every (buffer, memory plane) gets one root GstMemory from
 * gst_dmabuf_allocator_alloc_with_flags() over the plane's read-only DMA-buf,
 * with KEEP_MAPPED (a CPU mapping, once made, lives as long as the root
 * instead of mmap/munmap per access) and DONT_CLOSE (the set owns the fd; we
 * hold a reference on the set while its roots live).  Each push wraps
 * gst_memory_share() children of those roots in a fresh GstBuffer: mapping a
 * child maps its root, so the mapping is shared, and the child is a
 * per-frame object whose death we can observe.
 *
 * Release.  We watch the per-frame child memories with weak refs, not the
 * GstBuffer: an element that needs a writable buffer (identity, tee,
 * anything calling gst_buffer_make_writable) makes a new GstBuffer holding
 * refs on the same memories and drops ours, so a weak ref on the buffer (or
 * a buffer pool's release_buffer, which fires at the same moment) would hand
 * the V4L2 buffer back to the driver while a downstream element still reads
 * it.  Every GstBuffer that carries the frame's bytes references the child
 * memory, so its finalization is the true "GStreamer no longer uses it".
 * (A partial gst_memory_share() of a child points at the root, not the
 * child -- gst_fd_mem_share() finds the "real parent" -- so an element that
 * sub-allocates slices of raw video and keeps only them is the one case this
 * does not see; no raw-video element in base/good/bad does that.)
 *
 * Identity.  Roots carry a qdata mark, so "is this vzero's memory" is a
 * question about the memory object, never about fd numbers (which the
 * kernel reuses across buffer sets).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <gst/base/gstbasetransform.h>

#include "gst-internal.h"

/* What GStreamer gets must be read-only: its descriptor opened O_RDONLY and
 * a shared writable mapping of it refused.  Checked on the fd inside the
 * GstMemory itself, once per buffer set; a writable one is refused. */
static int check_read_only(GstMemory *root, unsigned i, unsigned p, const char *origin,
                           struct vz_err *err)
{
	int fd = gst_dmabuf_memory_get_fd(root);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) != O_RDONLY)
		return vz_err_set(err, -EPERM,
		                  "gst: buffer %u plane %u's DMA-buf (fd %d, %s) is open for "
		                  "writing: vzero hands GStreamer read-only fds only",
		                  i, p, fd, origin);
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m != MAP_FAILED) {
		munmap(m, 4096);
		return vz_err_set(err, -EPERM,
		                  "gst: buffer %u plane %u's DMA-buf (fd %d, %s) can be mapped for "
		                  "writing: vzero hands GStreamer read-only fds only",
		                  i, p, fd, origin);
	}
	return 0;
}

static void memset_free(struct gst_memset *ms)
{
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++)
		for (unsigned p = 0; p < VZ_MAX_PLANES; p++)
			if (ms->root[i][p])
				gst_memory_unref(ms->root[i][p]);
	vz_buffer_set_unref(ms->set);
	free(ms);
}

int vz_gst_memset_new(struct gst_sink *s, struct vz_buffer_set *set, struct gst_memset **out,
                      struct vz_err *err)
{
	const struct vz_format *f = &set->fmt;
	char fcc[5];
	*out = NULL;
	vz_fourcc_str(f->fourcc, fcc);
	GstVideoFormat vf = vz_gst_video_format(f->fourcc);
	if (vf == GST_VIDEO_FORMAT_UNKNOWN)
		return vz_err_set(err, -EINVAL,
		                  "gst: pixel format %s has no GStreamer raw video equivalent; "
		                  "capture YUYV, NV12 or an RGB format with -f",
		                  fcc);
	struct gst_memset *ms = calloc(1, sizeof(*ms));
	if (!ms)
		return vz_err_set(err, -ENOMEM, "gst: out of memory");
	ms->s = s;
	ms->set = vz_buffer_set_ref(set);
	ms->generation = set->generation;
	ms->fmt = *f;
	ms->vformat = vf;
	int ret;
	if (vz_gst_layout(f, &ms->layout) < 0 ||
	    ms->layout.n_planes != GST_VIDEO_FORMAT_INFO_N_PLANES(gst_video_format_get_info(vf))) {
		ret = vz_err_set(err, -EINVAL, "gst: inconsistent plane layout for %s %ux%u", fcc,
		                 f->width, f->height);
		goto fail;
	}
	for (unsigned i = 0; i < ms->layout.n_planes; i++) {
		ms->meta_offset[i] = ms->layout.offset[i];
		ms->meta_stride[i] = ms->layout.stride[i];
	}
	GstVideoInfo vi;
	ms->default_ok = gst_video_info_set_format(&vi, vf, f->width, f->height);
	for (unsigned i = 0; ms->default_ok && i < ms->layout.n_planes; i++) {
		ms->default_offset[i] = GST_VIDEO_INFO_PLANE_OFFSET(&vi, i);
		ms->default_stride[i] = GST_VIDEO_INFO_PLANE_STRIDE(&vi, i);
	}
	for (unsigned i = 0; i < set->count; i++) {
		const struct vz_buffer *b = &set->buf[i];
		if (b->num_mem != f->num_mem) {
			ret = vz_err_set(err, -EINVAL,
			                 "gst: buffer %u has %u memory planes, the format %u", i,
			                 b->num_mem, f->num_mem);
			goto fail;
		}
		for (unsigned p = 0; p < b->num_mem; p++) {
			const struct vz_mem *m = &b->mem[p];
			/* A source with no read-only export (libcamera) hands its
			 * read-write fd: GStreamer is in this process, and the
			 * memory is flagged READONLY so no element maps it for
			 * writing through GStreamer; the proof line counts it. */
			bool rw = m->fd_ro < 0;
			int fd = rw ? m->fd_rw : m->fd_ro;
			if (fd < 0) {
				ret = vz_err_set(err, -EINVAL,
				                 "gst: buffer %u plane %u has no DMA-buf fd (%s)",
				                 i, p, set->origin);
				goto fail;
			}
			if (m->length < ms->layout.mem_size[p]) {
				ret = vz_err_set(err, -EINVAL,
				                 "gst: buffer %u plane %u is %zu bytes, the format "
				                 "needs %zu",
				                 i, p, m->length, ms->layout.mem_size[p]);
				goto fail;
			}
			GstMemory *root = gst_dmabuf_allocator_alloc_with_flags(
			        s->alloc, fd, m->length,
			        GST_FD_MEMORY_FLAG_KEEP_MAPPED | GST_FD_MEMORY_FLAG_DONT_CLOSE);
			if (!root) {
				ret = vz_err_set(
				        err, -ENOMEM,
				        "gst: cannot wrap DMA-buf fd %d (buffer %u plane %u) "
				        "in a GstMemory",
				        fd, i, p);
				goto fail;
			}
			gst_mini_object_set_qdata(GST_MINI_OBJECT_CAST(root), s->root_quark, ms,
			                          NULL);
			ms->root[i][p] = root;
			s->roots_made++;
			if (rw) {
				GST_MINI_OBJECT_FLAG_SET(root, GST_MEMORY_FLAG_READONLY);
				s->roots_read_write++;
				continue;
			}
			ret = check_read_only(root, i, p, set->origin, err);
			if (ret < 0)
				goto fail;
			s->roots_read_only++;
		}
		ms->slot[i].ms = ms;
	}
	*out = ms;
	return 0;
fail:
	memset_free(ms);
	return ret;
}

void vz_gst_memset_sweep(struct gst_sink *s, bool all)
{
	struct gst_memset **pp = &s->cur;
	while (*pp) {
		struct gst_memset *ms = *pp;
		if ((ms->retired || all) && atomic_load(&ms->outstanding) == 0) {
			*pp = ms->next;
			if (ms == s->cur)
				s->cur = *pp;
			memset_free(ms);
			continue;
		}
		pp = &ms->next;
	}
}

void vz_gst_memset_free_all(struct gst_sink *s)
{
	while (s->cur) {
		struct gst_memset *ms = s->cur;
		s->cur = ms->next;
		memset_free(ms);
	}
}

static void on_child_gone(gpointer data, GstMiniObject *obj)
{
	struct gst_slot *sl = data;
	struct gst_memset *ms = sl->ms;
	struct gst_sink *s = ms->s;
	(void)obj;

	if (atomic_fetch_sub(&sl->pending, 1) != 1)
		return;
	struct vz_frame *f = sl->frame;
	sl->frame = NULL;
	if (!f)
		return; /* the push failed: the runner releases it */
	/* Count before releasing: once released, the index may be pushed
	 * again from the loop thread. */
	atomic_fetch_add(&s->released, 1);
	atomic_fetch_sub(&ms->outstanding, 1);
	vz_port_release(s->port, f);
	vz_gst_sink_unref(s); /* the frame's */
}

static struct gst_memset *memset_of(struct gst_sink *s, uint32_t generation)
{
	for (struct gst_memset *ms = s->cur; ms; ms = ms->next)
		if (ms->generation == generation)
			return ms;
	return NULL;
}

GstBuffer *vz_gst_wrap(struct gst_sink *s, struct vz_frame *f, GstMemory *extra[VZ_MAX_PLANES],
                       struct vz_err *err)
{
	struct gst_memset *ms = memset_of(s, f->generation);
	unsigned idx = f->info.index;
	if (!ms || idx >= ms->set->count) {
		vz_err_set(err, -EINVAL, "gst: frame of buffer set %u index %u, which it never got",
		           f->generation, idx);
		return NULL;
	}
	struct gst_slot *sl = &ms->slot[idx];
	if (sl->frame) {
		vz_err_set(err, -EBUSY, "gst: buffer %u pushed again before its release", idx);
		return NULL;
	}
	GstBuffer *b = gst_buffer_new();
	atomic_store(&sl->pending, ms->layout.n_mem);
	sl->frame = f;
	atomic_fetch_add(&ms->outstanding, 1);
	atomic_fetch_add(&s->refs, 1);
	for (unsigned p = 0; p < ms->layout.n_mem; p++) {
		GstMemory *child =
		        gst_memory_share(ms->root[idx][p], 0, (gssize)ms->layout.mem_size[p]);
		gst_mini_object_weak_ref(GST_MINI_OBJECT_CAST(child), on_child_gone, sl);
		/* Our own reference keeps the release from firing before we know
		 * whether appsrc took the buffer. */
		extra[p] = gst_memory_ref(child);
		gst_buffer_append_memory(b, child);
	}
	/* A multi-planar driver may start the picture data_offset bytes into
	 * a plane, frame by frame: the meta says where. */
	gsize off[GST_VIDEO_MAX_PLANES];
	memcpy(off, ms->meta_offset, sizeof(off));
	for (unsigned i = 0; i < ms->layout.n_planes; i++)
		off[i] += f->info.data_offset[ms->fmt.plane[i].mem];
	gst_buffer_add_video_meta_full(b, GST_VIDEO_FRAME_FLAG_NONE, ms->vformat, ms->fmt.width,
	                               ms->fmt.height, ms->layout.n_planes, off, ms->meta_stride);
	return b;
}

void vz_gst_wrap_done(struct gst_sink *s, struct vz_frame *f, GstMemory *extra[VZ_MAX_PLANES],
                      bool accepted)
{
	struct gst_memset *ms = memset_of(s, f->generation);
	struct gst_slot *sl = &ms->slot[f->info.index];
	if (!accepted) {
		/* Forget the frame first: the children's deaths must not
		 * release it, the runner does. */
		sl->frame = NULL;
		atomic_fetch_sub(&ms->outstanding, 1);
		atomic_fetch_sub(&s->refs, 1); /* never the last: push holds one */
	}
	for (unsigned p = 0; p < ms->layout.n_mem; p++)
		gst_memory_unref(extra[p]);
}

bool vz_gst_memory_is_ours(struct gst_sink *s, GstMemory *m)
{
	for (int depth = 0; m && depth < 8; depth++, m = m->parent)
		if (gst_mini_object_get_qdata(GST_MINI_OBJECT_CAST(m), s->root_quark))
			return true;
	return false;
}

/* ---- GstVideoMeta ---- */

/* Whether the frame's layout (its meta) is what GStreamer assumes without
 * one; if not, @what says where it differs. */
static bool default_layout(const struct gst_memset *ms, const GstVideoMeta *vm, char *what,
                           size_t len)
{
	if (!ms->default_ok || !vm) {
		snprintf(what, len, "a layout GStreamer cannot describe without a meta");
		return false;
	}
	for (unsigned i = 0; i < vm->n_planes && i < GST_VIDEO_MAX_PLANES; i++) {
		if (vm->stride[i] != ms->default_stride[i] ||
		    vm->offset[i] != ms->default_offset[i]) {
			snprintf(what, len,
			         "plane %u: %d bytes per line at offset %zu where GStreamer "
			         "assumes %d at %zu",
			         i, vm->stride[i], (size_t)vm->offset[i], ms->default_stride[i],
			         (size_t)ms->default_offset[i]);
			return false;
		}
	}
	return true;
}

/* The element that answered: past the ones that only forward queries. */
static void answering_element(GstPad *src, char *name, size_t len)
{
	GstPad *pad = gst_object_ref(src);
	snprintf(name, len, "the element after appsrc");
	for (int depth = 0; depth < 16; depth++) {
		GstPad *peer = gst_pad_get_peer(pad);
		gst_object_unref(pad);
		pad = NULL;
		if (!peer)
			break;
		GstElement *el = gst_pad_get_parent_element(peer);
		gst_object_unref(peer);
		if (!el)
			break;
		GstElementFactory *f = gst_element_get_factory(el);
		const char *fn = f ? GST_OBJECT_NAME(f) : "";
		vz_gst_one_line(name, len, GST_ELEMENT_NAME(el), len - 1);
		/* Passthrough transforms hand the query on, as queues do. */
		bool forwards = !strcmp(fn, "queue") || !strcmp(fn, "tee") ||
		                (GST_IS_BASE_TRANSFORM(el) &&
		                 gst_base_transform_is_passthrough(GST_BASE_TRANSFORM(el)));
		if (forwards) {
			GstIterator *it = gst_element_iterate_src_pads(el);
			GValue v = G_VALUE_INIT;
			if (gst_iterator_next(it, &v) == GST_ITERATOR_OK)
				pad = gst_object_ref(g_value_get_object(&v));
			g_value_unset(&v);
			gst_iterator_free(it);
		}
		gst_object_unref(el);
		if (!pad)
			break;
	}
	if (pad)
		gst_object_unref(pad);
}

/* Asked when the first frame of a set off GStreamer's defaults goes out:
 * sticky events (the caps) have reached every element by then, so each
 * answers as configured -- a passthrough element hands the question on to
 * what follows it. */
static bool downstream_takes_meta(struct gst_memset *ms, GstPad *pad)
{
	GstCaps *caps = vz_gst_caps_of(&ms->fmt);
	GstQuery *q = gst_query_new_allocation(caps, FALSE);
	bool meta = gst_pad_peer_query(pad, q) &&
	            gst_query_find_allocation_meta(q, GST_VIDEO_META_API_TYPE, NULL);
	gst_query_unref(q);
	if (caps)
		gst_caps_unref(caps);
	return meta;
}

static void refuse(struct gst_sink *s, struct gst_memset *ms, GstPad *pad, const char *what)
{
	char who[64];
	answering_element(pad, who, sizeof(who));
	/* A packed format whose lines are padded to a pitch: the width that
	 * fills the pitch needs no padding. */
	char hint[80] = "a size and format whose lines need no padding";
	const struct vz_format_desc *d = vz_format_desc_find(ms->fmt.fourcc);
	if (d && d->num_planes == 1 && d->plane[0].group_width) {
		uint32_t w = ms->fmt.plane[0].stride / d->plane[0].bytes_per_group *
		             d->plane[0].group_width;
		if (w > ms->fmt.width)
			snprintf(hint, sizeof(hint), "a width that fills the pitch (-s %ux%u)", w,
			         ms->fmt.height);
	}
	snprintf(s->meta_msg, sizeof(s->meta_msg),
	         "gst: %.48s does not take GstVideoMeta, so it would read vzero's frames as "
	         "tightly packed (%.110s); no frame was sent: put an element that reads the meta "
	         "before it (videoconvert to another format, an encoder), or capture %.60s",
	         who, what, hint);
	atomic_store(&s->meta_refused, true);
	vz_port_fail(s->port, -EPROTO, s->meta_msg);
}

/* The set a buffer's memory belongs to (the frame's own, whatever is
 * current on the loop thread meanwhile). */
static struct gst_memset *memset_of_buffer(struct gst_sink *s, GstBuffer *b)
{
	GstMemory *m = gst_buffer_n_memory(b) ? gst_buffer_peek_memory(b, 0) : NULL;
	for (int depth = 0; m && depth < 8; depth++, m = m->parent) {
		struct gst_memset *ms =
		        gst_mini_object_get_qdata(GST_MINI_OBJECT_CAST(m), s->root_quark);
		if (ms)
			return ms;
	}
	return NULL;
}

/* Every frame's layout is compared (a data_offset may move one frame
 * only); downstream is asked once per set.  Once refused, not one frame
 * goes on to be misread. */
static GstPadProbeReturn on_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct gst_sink *s = data;
	GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
	char what[200];
	if (atomic_load(&s->meta_refused))
		return GST_PAD_PROBE_DROP;
	struct gst_memset *ms = b ? memset_of_buffer(s, b) : NULL;
	if (!ms || default_layout(ms, gst_buffer_get_video_meta(b), what, sizeof(what)))
		return GST_PAD_PROBE_OK;
	int answer = atomic_load(&ms->meta_answer);
	if (answer == 0) {
		answer = downstream_takes_meta(ms, pad) ? 1 : -1;
		atomic_store(&ms->meta_answer, answer);
	}
	if (answer > 0)
		return GST_PAD_PROBE_OK;
	refuse(s, ms, pad, what);
	return GST_PAD_PROBE_DROP;
}

void vz_gst_meta_watch(struct gst_sink *s)
{
	GstPad *pad = gst_element_get_static_pad(s->appsrc, "src");
	if (!pad)
		return;
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, s, NULL);
	gst_object_unref(pad);
}
