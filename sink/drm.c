/* SPDX-License-Identifier: MIT */
/*
 * The display sink (sink-drm.h): buffer sets to framebuffers, frames to
 * flips.  At most one flip is in progress; the frame on screen ("active") is
 * released when the next flip completes, the one flipping is "queued", and
 * frames arriving meanwhile wait ("pending": one for mailbox, in order for
 * fifo).  Which KMS interface does the flipping is drm-kms.c's business.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "clock.h"
#include "drm-internal.h"
#include "sink-drm.h"

#define MAX_FBSETS 4

struct fbset {
	struct vz_buffer_set *set; /* a reference; NULL: slot free */
	uint32_t generation;
	bool provided;   /* the display's own dumb buffers */
	bool adopted;    /* start/set_buffers saw it: generation valid */
	uint64_t frames; /* on screen or flipping or pending, now */
	uint32_t fb[VZ_MAX_BUFFERS];
	uint32_t handle[VZ_MAX_BUFFERS][VZ_MAX_PLANES]; /* imported; closed with the slot */
};

struct drm_sink {
	struct vz_drm_opts o;
	struct vz_kms *kms;
	struct vz_sink_port *port;
	uint32_t generation; /* the set frames come from now */
	struct vz_loop_source *watch;
	struct fbset sets[MAX_FBSETS];
	bool import_failed;
	char import_why[256];
	struct vz_frame *active, *queued;
	struct vz_frame *pend[VZ_MAX_BUFFERS];
	unsigned pend_head, npend;
	uint64_t token;
	bool stopping, stopped;
	uint64_t shown, replaced, stop_discarded, flip_failures, stale_stamps;
	int64_t t_flip;  /* when the flip in progress was asked for */
	bool mode_alloc; /* the current set is the display's own */
	char writeback_note[256];
};

/* ---- framebuffer sets ---- */

static void fbset_free(struct drm_sink *s, struct fbset *fs)
{
	if (!fs->set)
		return;
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++) {
		s->kms->ops->rm_fb(s->kms, fs->fb[i]);
		for (unsigned j = 0; j < VZ_MAX_PLANES; j++) {
			uint32_t h = fs->handle[i][j];
			/* One GEM handle per DMA-buf: close it once. */
			for (unsigned k = j + 1; k < VZ_MAX_PLANES; k++)
				if (fs->handle[i][k] == h)
					fs->handle[i][k] = 0;
			s->kms->ops->close_handle(s->kms, h);
		}
	}
	vz_buffer_set_unref(fs->set);
	memset(fs, 0, sizeof(*fs));
}

static struct fbset *fbset_slot(struct drm_sink *s)
{
	for (unsigned i = 0; i < MAX_FBSETS; i++)
		if (!s->sets[i].set)
			return &s->sets[i];
	/* Sets nothing shows any more go first. */
	for (unsigned i = 0; i < MAX_FBSETS; i++)
		if (!s->sets[i].frames && s->sets[i].adopted) {
			fbset_free(s, &s->sets[i]);
			return &s->sets[i];
		}
	return NULL;
}

static struct fbset *fbset_of(struct drm_sink *s, const struct vz_frame *f)
{
	for (unsigned i = 0; i < MAX_FBSETS; i++)
		if (s->sets[i].set && s->sets[i].adopted && s->sets[i].generation == f->generation)
			return &s->sets[i];
	return NULL;
}

/* Framebuffers for every buffer of @set: PRIME-imported (capture's own
 * memory) or the dumb handles of a set this sink provided. */
static int fbset_build(struct drm_sink *s, struct fbset *fs, struct vz_buffer_set *set,
                       bool provided, struct vz_err *err)
{
	fs->set = vz_buffer_set_ref(set);
	fs->provided = provided;
	for (unsigned i = 0; i < set->count; i++) {
		const struct vz_buffer *b = &set->buf[i];
		uint32_t h[VZ_MAX_PLANES] = {0};
		for (unsigned j = 0; j < b->num_mem; j++) {
			if (provided) {
				h[j] = vz_dumb_set_handle(set, i, j);
				continue;
			}
			int fd = b->mem[j].fd_ro >= 0 ? b->mem[j].fd_ro : b->mem[j].fd_rw;
			int r = s->kms->ops->import(s->kms, fd, &h[j], err);
			if (r < 0)
				return r;
			fs->handle[i][j] = h[j];
		}
		int r = s->kms->ops->add_fb(s->kms, &set->fmt, h, set->modifier, &fs->fb[i], err);
		if (r < 0)
			return r;
	}
	return s->kms->ops->configure(s->kms, &set->fmt, set->modifier, fs->fb[0], err);
}

/* ---- flips ---- */

/* A set the capture retired (restart with new buffers, reconnect) keeps
 * its DMA-bufs -- the driver's memory -- alive through our imports: free
 * it once nothing of it is on screen, flipping or pending. */
static void free_retired_sets(struct drm_sink *s)
{
	for (unsigned i = 0; i < MAX_FBSETS; i++) {
		struct fbset *fs = &s->sets[i];
		if (fs->set && fs->adopted && !fs->frames && fs->generation != s->generation)
			fbset_free(s, fs);
	}
}

static void release(struct drm_sink *s, struct vz_frame *f)
{
	struct fbset *fs = fbset_of(s, f);
	if (fs && fs->frames)
		fs->frames--;
	vz_port_release(s->port, f);
	free_retired_sets(s);
}

static void flip_done(void *data, uint64_t token, int64_t t_ns);

static void flip(struct drm_sink *s, struct vz_frame *f)
{
	struct fbset *fs = fbset_of(s, f);
	struct vz_err e = {0};
	s->t_flip = vz_now_ns();
	int r = s->kms->ops->flip(s->kms, fs->fb[f->info.index], ++s->token, &e);
	if (r < 0) {
		s->flip_failures++;
		release(s, f);
		vz_port_fail(s->port, r, e.msg);
		return;
	}
	s->queued = f;
	if (r == 1) /* shown before it returned (legacy mode set) */
		flip_done(s, s->token, vz_now_ns());
}

static void finish_stop(struct drm_sink *s);

static void flip_done(void *data, uint64_t token, int64_t t_ns)
{
	struct drm_sink *s = data;
	if (!s->queued || token != s->token)
		return;
	/* A flip cannot complete before it was asked for: vkms's first event
	 * after a mode set carries the vblank time of before the CRTC was
	 * on.  Then the event's arrival is the best time there is. */
	if (t_ns < s->t_flip) {
		t_ns = vz_now_ns();
		s->stale_stamps++;
	}
	struct vz_frame *old = s->active;
	s->active = s->queued;
	s->queued = NULL;
	vz_port_shown(s->port, s->active, t_ns);
	s->shown++;
	/* Off screen only now: the driver may write into it again. */
	if (old)
		release(s, old);
	if (s->stopping) {
		finish_stop(s);
		return;
	}
	if (s->npend) {
		struct vz_frame *next = s->pend[s->pend_head];
		s->pend_head = (s->pend_head + 1) % VZ_MAX_BUFFERS;
		s->npend--;
		flip(s, next);
	}
}

static void on_drm_fd(void *data, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	struct drm_sink *s = data;
	s->kms->ops->dispatch(s->kms);
}

static void drop_pending(struct drm_sink *s, uint64_t *count)
{
	while (s->npend) {
		struct vz_frame *f = s->pend[s->pend_head];
		s->pend_head = (s->pend_head + 1) % VZ_MAX_BUFFERS;
		s->npend--;
		(*count)++;
		release(s, f);
	}
}

static void finish_stop(struct drm_sink *s)
{
	if (s->stopped)
		return;
	if (s->o.writeback[0]) {
		struct vz_err e = {0};
		if (vz_kms_writeback_save(s->kms, s->o.writeback, &e) < 0)
			snprintf(s->writeback_note, sizeof(s->writeback_note), "writeback: %.200s",
			         e.msg);
		else
			snprintf(s->writeback_note, sizeof(s->writeback_note),
			         "writeback: the last composition is in %.200s", s->o.writeback);
	}
	/* What was on screen before comes back first: our frame leaves the
	 * screen before its buffer goes back to the driver. */
	s->kms->ops->restore(s->kms);
	if (s->active)
		release(s, s->active);
	s->active = NULL;
	drop_pending(s, &s->stop_discarded);
	vz_loop_remove(vz_port_loop(s->port), s->watch);
	s->watch = NULL;
	s->stopped = true;
	vz_port_stopped(s->port);
}

/* ---- the sink contract ---- */

static int adopt(struct drm_sink *s, struct vz_buffer_set *set, struct vz_err *err)
{
	for (unsigned i = 0; i < MAX_FBSETS; i++) {
		struct fbset *fs = &s->sets[i];
		if (fs->set == set && fs->provided && !fs->adopted) {
			fs->adopted = true;
			fs->generation = set->generation;
			s->generation = set->generation;
			s->mode_alloc = true;
			free_retired_sets(s);
			return 0;
		}
	}
	/* Provided sets nobody took are no use any more. */
	for (unsigned i = 0; i < MAX_FBSETS; i++)
		if (s->sets[i].set && !s->sets[i].adopted)
			fbset_free(s, &s->sets[i]);
	if (s->o.buffers == 2 || (s->import_failed && s->o.buffers == 0))
		return vz_err_set(
		        err, -ENOTSUP,
		        "%s%s; and capture could not write into the display's own buffers "
		        "(see the buffers line): no way to show frames without a copy",
		        s->o.buffers == 2 ? "buffers=alloc" : "", s->import_why);
	struct fbset *fs = fbset_slot(s);
	if (!fs)
		return vz_err_set(err, -EBUSY, "display: too many buffer sets still on screen");
	struct vz_err e = {0};
	int r = fbset_build(s, fs, set, false, &e);
	if (r < 0) {
		fbset_free(s, fs);
		bool other_buffers_may_do = r != -ENOTSUP && r != -EINVAL;
		if (s->o.buffers == 0 && other_buffers_may_do && !s->import_failed) {
			s->import_failed = true;
			snprintf(s->import_why, sizeof(s->import_why), "%.250s", e.msg);
			return vz_err_set(err, -EXDEV,
			                  "%s; the display provides its own buffers instead",
			                  e.msg);
		}
		return vz_err_set(err, r, "%s", e.msg);
	}
	fs->adopted = true;
	fs->generation = set->generation;
	s->generation = set->generation;
	s->mode_alloc = false;
	free_retired_sets(s);
	return 0;
}

static int drm_provide(void *impl, const struct vz_format *fmt, unsigned count,
                       struct vz_buffer_set **out, struct vz_err *err)
{
	struct drm_sink *s = impl;
	*out = NULL;
	if (s->o.buffers == 1 || (s->o.buffers == 0 && !s->import_failed))
		return -ENOTSUP;
	struct fbset *fs = fbset_slot(s);
	if (!fs)
		return vz_err_set(err, -EBUSY, "display: too many buffer sets still on screen");
	struct vz_buffer_set *set = NULL;
	int r = vz_dumb_set_create_display(&set, s->kms->fd, s->kms->node, fmt, count, err);
	if (r < 0)
		return r;
	r = fbset_build(s, fs, set, true, err);
	if (r < 0) {
		fbset_free(s, fs);
		vz_buffer_set_unref(set);
		return r;
	}
	snprintf(set->origin, sizeof(set->origin), "dumb buffers on %.40s (%.30s scan-out memory)",
	         s->kms->node, s->kms->driver);
	*out = set; /* the slot keeps its own reference */
	return 0;
}

static int drm_start(void *impl, struct vz_sink_port *port, struct vz_buffer_set *set,
                     struct vz_err *err)
{
	struct drm_sink *s = impl;
	s->port = port;
	if (!s->watch) {
		int r = vz_loop_add_fd(vz_port_loop(port), s->kms->fd, EPOLLIN, on_drm_fd, s,
		                       &s->watch, err);
		if (r < 0)
			return r;
	}
	return adopt(s, set, err);
}

static int drm_set_buffers(void *impl, struct vz_buffer_set *set, struct vz_err *err)
{
	return adopt(impl, set, err);
}

static int drm_push(void *impl, struct vz_frame *f, struct vz_err *err)
{
	(void)err;
	struct drm_sink *s = impl;
	struct fbset *fs = fbset_of(s, f);
	if (!fs || s->stopping) {
		vz_port_release(s->port, f);
		return 0;
	}
	fs->frames++;
	if (!s->queued) {
		flip(s, f);
	} else if (s->o.fifo) {
		/* Within the budget the runner enforces: never more than the
		 * buffers there are. */
		s->pend[(s->pend_head + s->npend) % VZ_MAX_BUFFERS] = f;
		s->npend++;
	} else {
		if (s->npend)
			drop_pending(s, &s->replaced);
		s->pend[s->pend_head] = f;
		s->npend = 1;
	}
	return 0;
}

static int drm_stop(void *impl, struct vz_err *err)
{
	(void)err;
	struct drm_sink *s = impl;
	s->stopping = true;
	drop_pending(s, &s->stop_discarded);
	/* A flip in progress completes first (its event finishes the stop). */
	if (!s->queued)
		finish_stop(s);
	return 0;
}

static const char *shown_meaning(const char *driver)
{
	if (!strcmp(driver, "vkms"))
		return "the page-flip event of vkms: its simulated vblank (an hrtimer at the "
		       "mode's "
		       "refresh), not light on a panel";
	if (!strcmp(driver, "virtio_gpu"))
		return "the page-flip event of virtio-gpu: when the host acknowledged the commit "
		       "(there is no vblank), not when a viewer saw it";
	return "the page-flip event: the driver's vblank time of the flip";
}

static void drm_stats(void *impl, struct vz_sink_stats *out)
{
	struct drm_sink *s = impl;
	out->shown = s->shown;
	out->replaced = s->replaced;
	snprintf(out->shown_note, sizeof(out->shown_note), "%s", shown_meaning(s->kms->driver));
	if (s->stale_stamps)
		vz_msg_append(out->shown_note, sizeof(out->shown_note),
		              " (%llu event(s) stamped before their commit: arrival time used)",
		              (unsigned long long)s->stale_stamps);
	out->proof[0] = '\0';
	vz_msg_append(out->proof, sizeof(out->proof),
	              "%s: %s; %s, scanned out as they are: no CPU "
	              "access to a pixel",
	              s->kms->node, s->kms->config,
	              s->mode_alloc ? "capture writes into the display's own dumb buffers (DMA-buf "
	                              "import into V4L2)"
	                            : "capture's buffers imported as framebuffers (PRIME, AddFB2)");
	if (s->import_failed)
		vz_msg_append(out->proof, sizeof(out->proof), "; import failed: %s", s->import_why);
	if (s->writeback_note[0])
		vz_msg_append(out->proof, sizeof(out->proof), "; %s", s->writeback_note);
	if (s->stop_discarded || s->flip_failures)
		snprintf(out->advice, sizeof(out->advice),
		         "%llu frame(s) waiting at the stop were not shown, %llu flip(s) failed",
		         (unsigned long long)s->stop_discarded,
		         (unsigned long long)s->flip_failures);
}

static void drm_destroy(void *impl)
{
	struct drm_sink *s = impl;
	if (!s)
		return;
	if (!s->stopped)
		s->kms->ops->restore(s->kms);
	if (s->watch && s->port)
		vz_loop_remove(vz_port_loop(s->port), s->watch);
	for (unsigned i = 0; i < MAX_FBSETS; i++)
		fbset_free(s, &s->sets[i]);
	vz_kms_close(s->kms);
	free(s);
}

static const struct vz_sink_ops drm_ops = {
        .kind = "drm",
        .provide = drm_provide,
        .start = drm_start,
        .set_buffers = drm_set_buffers,
        .push = drm_push,
        .stop = drm_stop,
        .get_stats = drm_stats,
        .destroy = drm_destroy,
};

int vz_sink_drm_create_with(struct vz_kms *kms, const struct vz_drm_opts *o, const char *spec,
                            struct vz_sink *out, struct vz_err *err)
{
	memset(out, 0, sizeof(*out));
	struct drm_sink *s = calloc(1, sizeof(*s));
	if (!s) {
		vz_kms_close(kms);
		return vz_err_set(err, -ENOMEM, "drm sink: out of memory");
	}
	s->o = *o;
	s->kms = kms;
	kms->on_flip = flip_done;
	kms->data = s;
	out->ops = &drm_ops;
	out->impl = s;
	out->policy = VZ_SINK_LIVE;
	/* On screen, flipping, and one (mailbox) or two (fifo) waiting. */
	out->budget = o->fifo ? 4 : 3;
	snprintf(out->name, sizeof(out->name), "drm%s", spec);
	return 0;
}

int vz_sink_drm_create(const char *spec, struct vz_sink *out, struct vz_err *err)
{
	struct vz_drm_opts o;
	memset(out, 0, sizeof(*out));
	int r = vz_drm_parse(spec, &o, err);
	if (r < 0)
		return r;
	struct vz_kms *kms = NULL;
	r = vz_kms_open(&kms, &o, err);
	if (r < 0)
		return r;
	return vz_sink_drm_create_with(kms, &o, spec, out, err);
}
