/* SPDX-License-Identifier: MIT */
/*
 * A fake capture source for host tests: memfd-backed buffers, an eventfd
 * the loop polls, and a "driver" that writes into every buffer it holds
 * each time a frame is produced -- exactly what a real DMA engine may do to
 * a queued buffer.  So if the pipeline ever requeues a frame that a sink
 * still holds, the sink sees its content change: the ownership tests rely
 * on that.
 *
 * fd_rw is the memfd itself (DMA_BUF_IOCTL_SYNC on it fails with ENOTTY,
 * which the pipeline tolerates for non-DMA-buf memory); fd_ro is a
 * read-only re-open through /proc/self/fd, like an O_RDONLY EXPBUF export.
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

#include "capture.h"
#include "clock.h"
#include "format.h"

#define FAKE_MAX 16

struct fake_source {
	struct vz_format fmt;
	struct vz_buffer bufs[FAKE_MAX];
	unsigned nbufs;
	unsigned fifo[FAKE_MAX]; /* queued indices, oldest first */
	unsigned nqueued;
	int efd;
	unsigned pending; /* frames "captured" and not yet dequeued */
	uint32_t seq;
	int64_t t_driver;
	int64_t interval_ns;
	uint32_t skip_next; /* next frame gets this sequence gap */
	struct vz_capture_stats stats;
	bool started;
	uint64_t starved; /* frames lost because nothing was queued */
	uint64_t queue_errors;
	int next_error; /* if != 0, next() returns it once */
};

/* Every byte of buffer @i := low byte of the sequence it will carry. */
static inline void fake_scribble(struct fake_source *s, unsigned i, uint8_t v)
{
	for (unsigned m = 0; m < s->bufs[i].num_mem; m++)
		memset(s->bufs[i].mem[m].map, v, s->bufs[i].mem[m].length);
}

static inline int fake_fd(void *impl)
{
	return ((struct fake_source *)impl)->efd;
}

static inline int fake_start(void *impl, struct vz_err *err)
{
	(void)err;
	((struct fake_source *)impl)->started = true;
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
	if (s->next_error) {
		int r = s->next_error;
		s->next_error = 0;
		return vz_err_set(err, r, "fake source: injected error %d", r);
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
	memset(fi, 0, sizeof(*fi));
	fi->index = idx;
	fi->gap = s->skip_next;
	s->seq += s->skip_next;
	s->t_driver += (int64_t)s->skip_next * s->interval_ns; /* time went on */
	s->stats.driver_drops += s->skip_next;
	s->skip_next = 0;
	fi->sequence = s->seq++;
	s->t_driver += s->interval_ns;
	fi->t_driver_ns = s->t_driver;
	fi->t_dqbuf_ns = vz_now_ns();
	fi->ts_monotonic = true;
	fi->bytesused[0] = s->fmt.mem_size[0];
	s->stats.frames++;
	return 1;
}

static inline int fake_queue(void *impl, unsigned index, struct vz_err *err)
{
	struct fake_source *s = impl;
	for (unsigned i = 0; i < s->nqueued; i++)
		if (s->fifo[i] == index) {
			s->queue_errors++;
			return vz_err_set(err, -EINVAL, "fake source: buffer %u queued twice",
			                  index);
		}
	s->fifo[s->nqueued++] = index;
	return 0;
}

static inline unsigned fake_queued(void *impl)
{
	return ((struct fake_source *)impl)->nqueued;
}

static inline int fake_reconnect(void *impl, int timeout_ms, struct vz_err *err)
{
	(void)impl;
	(void)timeout_ms;
	return vz_err_set(err, -ENODEV, "fake source: gone for good");
}

static inline int fake_renegotiate(void *impl, struct vz_err *err)
{
	struct fake_source *s = impl;
	(void)err;
	s->nqueued = 0;
	for (unsigned i = 0; i < s->nbufs; i++)
		s->fifo[s->nqueued++] = i;
	return 0;
}

static inline const struct vz_format *fake_format(void *impl)
{
	return &((struct fake_source *)impl)->fmt;
}

static inline unsigned fake_buffer_count(void *impl)
{
	return ((struct fake_source *)impl)->nbufs;
}

static inline const struct vz_buffer *fake_buffer(void *impl, unsigned index)
{
	return &((struct fake_source *)impl)->bufs[index];
}

static inline void fake_stats(void *impl, struct vz_capture_stats *out)
{
	*out = ((struct fake_source *)impl)->stats;
}

static const struct vz_source_ops fake_source_ops = {
        .name = "fake",
        .fd = fake_fd,
        .start = fake_start,
        .stop = fake_stop,
        .next = fake_next,
        .queue = fake_queue,
        .queued = fake_queued,
        .reconnect = fake_reconnect,
        .renegotiate = fake_renegotiate,
        .format = fake_format,
        .buffer_count = fake_buffer_count,
        .buffer = fake_buffer,
        .stats = fake_stats,
};

/* A YUYV (or @fourcc with one memory plane) source of @n buffers. */
static inline int fake_source_init(struct fake_source *s, uint32_t fourcc, uint32_t w, uint32_t h,
                                   uint32_t stride, uint32_t size, unsigned n)
{
	memset(s, 0, sizeof(*s));
	s->efd = -1;
	s->fmt.fourcc = fourcc;
	s->fmt.width = w;
	s->fmt.height = h;
	s->fmt.mem_size[0] = size;
	s->fmt.fps_num = 25;
	s->fmt.fps_den = 1;
	uint32_t strides[VZ_MAX_PLANES] = {stride, 0, 0};
	if (vz_format_layout(&s->fmt, strides) < 0)
		return -EINVAL;
	s->interval_ns = 40000000;
	s->t_driver = 1000000000;
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->efd < 0)
		return -errno;
	for (unsigned i = 0; i < n && i < FAKE_MAX; i++) {
		struct vz_buffer *b = &s->bufs[i];
		b->index = i;
		b->num_mem = 1;
		int fd = memfd_create("vz-fake", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, size) < 0)
			return -errno;
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		b->mem[0].fd_rw = fd;
		b->mem[0].fd_ro = open(path, O_RDONLY | O_CLOEXEC);
		b->mem[0].length = size;
		b->mem[0].map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (b->mem[0].map == MAP_FAILED || b->mem[0].fd_ro < 0)
			return -errno;
		s->fifo[s->nqueued++] = i;
		s->nbufs++;
	}
	return 0;
}

/* The "camera" finishes @k frames: the driver scribbles on every buffer it
 * holds (so an early requeue is caught) and the fd becomes readable. */
static inline void fake_source_produce(struct fake_source *s, unsigned k)
{
	for (unsigned q = 0; q < s->nqueued; q++)
		fake_scribble(s, s->fifo[q], (uint8_t)(s->seq + q));
	s->pending += k;
	uint64_t v = k;
	if (write(s->efd, &v, sizeof(v)) < 0)
		abort();
}

static inline void fake_source_fini(struct fake_source *s)
{
	for (unsigned i = 0; i < s->nbufs; i++) {
		struct vz_mem *m = &s->bufs[i].mem[0];
		if (m->map && m->map != MAP_FAILED)
			munmap(m->map, m->length);
		if (m->fd_rw >= 0)
			close(m->fd_rw);
		if (m->fd_ro >= 0)
			close(m->fd_ro);
	}
	if (s->efd >= 0)
		close(s->efd);
}

static inline struct vz_source fake_source_as_source(struct fake_source *s)
{
	struct vz_source src = {&fake_source_ops, s};
	return src;
}

#endif
