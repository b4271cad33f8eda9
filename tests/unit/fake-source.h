/* SPDX-License-Identifier: MIT */
/*
 * A fake capture source for host tests: memfd-backed buffer sets, an
 * eventfd the loop polls, and a "driver" that writes into every buffer it
 * holds each time a frame is produced -- exactly what a real DMA engine may
 * do to a queued buffer.  So if the pipeline ever requeues a frame that a
 * sink still holds, the sink sees its content change: the ownership tests
 * rely on that.
 *
 * It observes what a real driver cannot show a host test: every CPU-access
 * bracket (cpu_begin/cpu_end, i.e. DMA_BUF_IOCTL_SYNC) is counted per
 * buffer, queues of a retired set are counted, and recovery can be scripted
 * (a disconnect that comes back after N attempts, a format change).
 *
 * fd_rw is the memfd itself; fd_ro is a read-only re-open through
 * /proc/self/fd, like an O_RDONLY EXPBUF export.
 */
#ifndef VZ_FAKE_SOURCE_H
#define VZ_FAKE_SOURCE_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buffer.h"
#include "clock.h"
#include "format.h"
#include "source.h"

#define FAKE_MAX 16

struct fake_set {
	struct vz_buffer_set base;
	struct fake_source *src;
	/* CPU-access brackets per buffer: begins, ends, and how many were
	 * opened for writing. */
	unsigned sync_begin[FAKE_MAX], sync_end[FAKE_MAX], sync_write[FAKE_MAX];
};

struct fake_source {
	struct vz_format fmt;
	struct fake_set *set; /* current, one reference */
	unsigned nbufs;
	uint32_t generation;
	unsigned fifo[FAKE_MAX]; /* queued indices, oldest first */
	unsigned nqueued;
	bool held[FAKE_MAX];
	int efd;
	unsigned pending; /* frames "captured" and not yet dequeued */
	uint32_t seq;
	int64_t t_driver;
	int64_t interval_ns;
	uint32_t skip_next; /* next frame gets this sequence gap */
	bool next_discont;  /* next frame follows a break (a reconnect, say) */
	struct vz_source_stats stats;
	bool started;
	uint64_t starved; /* frames lost because nothing was queued */
	uint64_t queue_errors;
	int next_error; /* if != 0, next() returns it once */
	/* scripted recovery */
	bool gone;
	unsigned back_after; /* reconnect attempts until the device is back */
	unsigned attempts;
	int change_format; /* next() reports a format change once */
	uint32_t new_width;
	uint32_t new_stride; /* 0: packed */
	unsigned sets_made, sets_destroyed;
	struct vz_buffer_set *provided; /* the last set alloc() got */
	bool refuse_provided;
	bool no_ro; /* sets without read-only exports (like libcamera's) */
};

/* Every byte of buffer @i := @v. */
static inline void fake_scribble(struct fake_source *s, unsigned i, uint8_t v)
{
	struct vz_buffer *b = &s->set->base.buf[i];
	for (unsigned m = 0; m < b->num_mem; m++)
		memset(b->mem[m].map, v, b->mem[m].length);
}

static inline void fake_set_destroy(struct vz_buffer_set *bs)
{
	struct fake_set *fs = (struct fake_set *)bs;
	fs->src->sets_destroyed++;
	vz_buffer_set_release_memory(bs);
	free(fs);
}

static inline int fake_cpu_sync(struct vz_buffer_set *bs, unsigned index, bool begin, bool write)
{
	struct fake_set *fs = (struct fake_set *)bs;
	if (index >= FAKE_MAX)
		return -EINVAL;
	if (begin) {
		fs->sync_begin[index]++;
		if (write)
			fs->sync_write[index]++;
	} else {
		fs->sync_end[index]++;
	}
	return 0;
}

static const struct vz_buffer_set_ops fake_set_ops = {
        .destroy = fake_set_destroy,
        .cpu_sync = fake_cpu_sync,
};

static inline int fake_make_set(struct fake_source *s)
{
	struct fake_set *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	vz_buffer_set_init(&fs->base, &fake_set_ops);
	fs->src = s;
	fs->base.fmt = s->fmt;
	fs->base.count = s->nbufs;
	fs->base.generation = ++s->generation;
	snprintf(fs->base.origin, sizeof(fs->base.origin), "fake memfd buffers");
	for (unsigned i = 0; i < s->nbufs; i++) {
		struct vz_buffer *b = &fs->base.buf[i];
		b->num_mem = s->fmt.num_mem;
		for (unsigned p = 0; p < b->num_mem; p++) {
			size_t size = s->fmt.mem_size[p];
			int fd = memfd_create("vz-fake", MFD_CLOEXEC);
			if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
				if (fd >= 0)
					close(fd);
				vz_buffer_set_unref(&fs->base);
				return -errno;
			}
			char path[64];
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			b->mem[p].fd_rw = fd;
			b->mem[p].fd_ro = s->no_ro ? -1 : open(path, O_RDONLY | O_CLOEXEC);
			b->mem[p].length = size;
			void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			b->mem[p].map = m == MAP_FAILED ? NULL : m;
			if (!b->mem[p].map || (b->mem[p].fd_ro < 0 && !s->no_ro)) {
				vz_buffer_set_unref(&fs->base);
				return -errno;
			}
		}
	}
	vz_buffer_set_unref(s->set ? &s->set->base : NULL);
	s->set = fs;
	s->sets_made++;
	s->nqueued = 0;
	for (unsigned i = 0; i < s->nbufs; i++) {
		s->held[i] = false;
		s->fifo[s->nqueued++] = i;
	}
	return 0;
}

static inline int fake_fd(void *impl)
{
	return ((struct fake_source *)impl)->efd;
}

static inline const struct vz_format *fake_format(void *impl)
{
	return &((struct fake_source *)impl)->fmt;
}

static inline unsigned fake_buffers_wanted(void *impl)
{
	return ((struct fake_source *)impl)->nbufs;
}

static inline int fake_alloc(void *impl, struct vz_buffer_set *provided, struct vz_err *err)
{
	struct fake_source *s = impl;
	if (provided) {
		s->provided = provided;
		if (s->refuse_provided)
			return vz_err_set(err, -EINVAL,
			                  "fake source: the driver refuses that pitch");
		/* Taken as a marker only: the fake keeps writing its own memory. */
	}
	return fake_make_set(s);
}

static inline struct vz_buffer_set *fake_buffers(void *impl)
{
	struct fake_source *s = impl;
	return s->set ? &s->set->base : NULL;
}

static inline int fake_start(void *impl, struct vz_err *err)
{
	(void)err;
	struct fake_source *s = impl;
	if (!s->set && fake_make_set(s) < 0)
		return -ENOMEM;
	s->started = true;
	s->stats.sessions++;
	return 0;
}

static inline int fake_stop(void *impl, struct vz_err *err)
{
	(void)err;
	((struct fake_source *)impl)->started = false;
	return 0;
}

static inline int fake_next(void *impl, uint32_t revents, struct vz_frame_info *fi,
                            struct vz_err *err)
{
	struct fake_source *s = impl;
	(void)revents;
	if (s->gone)
		return vz_err_set(err, -ENODEV, "fake source: unplugged");
	if (s->next_error) {
		int r = s->next_error;
		s->next_error = 0;
		if (r == -ENODEV) {
			s->gone = true;
			s->stats.disconnects++;
		}
		return vz_err_set(err, r, "fake source: injected error %d", r);
	}
	if (s->change_format) {
		s->change_format = 0;
		s->stats.source_changes++;
		return VZ_SOURCE_FORMAT_CHANGED;
	}
	if (!s->pending) {
		uint64_t v;
		if (read(s->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			return -errno;
		return 0;
	}
	s->pending--;
	if (!s->nqueued) {
		s->starved++;
		s->seq++;
		return 0;
	}
	unsigned idx = s->fifo[0];
	memmove(s->fifo, s->fifo + 1, --s->nqueued * sizeof(s->fifo[0]));
	s->held[idx] = true;
	memset(fi, 0, sizeof(*fi));
	fi->index = idx;
	fi->gap = s->skip_next;
	fi->discont = s->next_discont;
	s->next_discont = false;
	s->seq += s->skip_next;
	s->t_driver += (int64_t)s->skip_next * s->interval_ns; /* time went on */
	s->stats.driver_drops += s->skip_next;
	s->stats.seq_span += s->skip_next + 1;
	s->skip_next = 0;
	fi->sequence = s->seq++;
	s->t_driver += s->interval_ns;
	fi->t_driver_ns = s->t_driver;
	fi->t_dqbuf_ns = vz_now_ns();
	fi->ts_monotonic = true;
	for (unsigned p = 0; p < s->fmt.num_mem; p++)
		fi->bytesused[p] = s->fmt.mem_size[p];
	fi->session = (uint32_t)(s->stats.sessions - 1);
	s->stats.frames++;
	return 1;
}

static inline int fake_queue(void *impl, uint32_t generation, unsigned index, struct vz_err *err)
{
	struct fake_source *s = impl;
	if (!s->set || generation != s->set->base.generation) {
		s->stats.stale_queues++;
		return 0;
	}
	if (index >= s->nbufs || !s->held[index]) {
		s->queue_errors++;
		return vz_err_set(err, -EINVAL, "fake source: buffer %u queued but not held",
		                  index);
	}
	s->held[index] = false;
	s->fifo[s->nqueued++] = index;
	return 0;
}

static inline unsigned fake_queued(void *impl)
{
	return ((struct fake_source *)impl)->nqueued;
}

static inline void fake_release_device(void *impl)
{
	struct fake_source *s = impl;
	vz_buffer_set_unref(s->set ? &s->set->base : NULL);
	s->set = NULL;
	s->nqueued = 0;
}

static inline int fake_reconnect(void *impl, struct vz_err *err)
{
	struct fake_source *s = impl;
	(void)err;
	++s->attempts;
	if (!s->back_after)
		return -EAGAIN; /* gone for good */
	if (s->attempts < s->back_after)
		return -EAGAIN;
	s->gone = false;
	s->attempts = 0;
	s->stats.reconnects++;
	return 0;
}

static inline int fake_renegotiate(void *impl, struct vz_err *err)
{
	struct fake_source *s = impl;
	(void)err;
	s->started = false;
	fake_release_device(s);
	if (s->new_width || s->new_stride) {
		uint32_t w = s->new_width ? s->new_width : s->fmt.width;
		uint32_t stride[VZ_MAX_PLANES] = {s->new_stride ? s->new_stride : w * 2, 0, 0};
		s->fmt.width = w;
		s->fmt.mem_size[0] = stride[0] * s->fmt.height;
		vz_format_layout(&s->fmt, stride);
	}
	return 0;
}

static inline void fake_stats(void *impl, struct vz_source_stats *out)
{
	*out = ((struct fake_source *)impl)->stats;
}

static const struct vz_source_ops fake_source_ops = {
        .name = "fake",
        .fd = fake_fd,
        .format = fake_format,
        .buffers_wanted = fake_buffers_wanted,
        .alloc = fake_alloc,
        .buffers = fake_buffers,
        .start = fake_start,
        .stop = fake_stop,
        .next = fake_next,
        .queue = fake_queue,
        .queued = fake_queued,
        .release_device = fake_release_device,
        .reconnect = fake_reconnect,
        .renegotiate = fake_renegotiate,
        .stats = fake_stats,
};

/* A source of @n buffers in format @fmt (laid out: vz_format_layout); the
 * set is made by alloc() (the pipeline) or start(). */
static inline int fake_source_init_fmt(struct fake_source *s, const struct vz_format *fmt,
                                       unsigned n)
{
	memset(s, 0, sizeof(*s));
	s->fmt = *fmt;
	s->interval_ns = 40000000;
	s->t_driver = 1000000000;
	s->nbufs = n < FAKE_MAX ? n : FAKE_MAX;
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return s->efd < 0 ? -errno : 0;
}

/* A YUYV (or @fourcc with one memory plane) source of @n buffers. */
static inline int fake_source_init(struct fake_source *s, uint32_t fourcc, uint32_t w, uint32_t h,
                                   uint32_t stride, uint32_t size, unsigned n)
{
	struct vz_format f = {
	        .fourcc = fourcc, .width = w, .height = h, .fps_num = 25, .fps_den = 1};
	f.mem_size[0] = size;
	uint32_t strides[VZ_MAX_PLANES] = {stride, 0, 0};
	if (vz_format_layout(&f, strides) < 0)
		return -EINVAL;
	return fake_source_init_fmt(s, &f, n);
}

/* The "camera" finishes @k frames: the driver scribbles on every buffer it
 * holds (so an early requeue is caught) and the fd becomes readable. */
static inline void fake_source_produce(struct fake_source *s, unsigned k)
{
	for (unsigned q = 0; s->set && q < s->nqueued; q++)
		fake_scribble(s, s->fifo[q], (uint8_t)(s->seq + q));
	s->pending += k;
	uint64_t v = k;
	if (write(s->efd, &v, sizeof(v)) < 0)
		abort();
}

/* Makes the fd readable without a frame (for scripted faults). */
static inline void fake_source_poke(struct fake_source *s)
{
	uint64_t v = 1;
	if (write(s->efd, &v, sizeof(v)) < 0)
		abort();
}

static inline void fake_source_fini(struct fake_source *s)
{
	vz_buffer_set_unref(s->set ? &s->set->base : NULL);
	s->set = NULL;
	if (s->efd >= 0)
		close(s->efd);
}

static inline struct vz_source fake_source_as_source(struct fake_source *s)
{
	struct vz_source src = {&fake_source_ops, s};
	return src;
}

#endif
