/* SPDX-License-Identifier: MIT */
/* Buffer sets: reference counting and CPU access; the story is in buffer.h. */
#include <errno.h>
#include <linux/dma-buf.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buffer.h"

void vz_buffer_set_init(struct vz_buffer_set *s, const struct vz_buffer_set_ops *ops)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->refs = 1;
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++) {
		s->buf[i].index = i;
		for (unsigned p = 0; p < VZ_MAX_PLANES; p++)
			s->buf[i].mem[p].fd_rw = s->buf[i].mem[p].fd_ro = -1;
	}
}

struct vz_buffer_set *vz_buffer_set_ref(struct vz_buffer_set *s)
{
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	return s;
}

void vz_buffer_set_unref(struct vz_buffer_set *s)
{
	if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (s->ops && s->ops->destroy)
		s->ops->destroy(s);
}

void vz_buffer_set_release_memory(struct vz_buffer_set *s)
{
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++) {
		for (unsigned p = 0; p < VZ_MAX_PLANES; p++) {
			struct vz_mem *m = &s->buf[i].mem[p];
			if (m->map)
				munmap(m->map, m->length);
			if (m->fd_rw >= 0)
				close(m->fd_rw);
			if (m->fd_ro >= 0)
				close(m->fd_ro);
			m->map = NULL;
			m->fd_rw = m->fd_ro = -1;
		}
	}
}

int vz_dmabuf_sync(int fd, uint64_t flags)
{
	struct dma_buf_sync sync = {.flags = flags};
	while (ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync) < 0) {
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
	}
	return 0;
}

static int sync_planes(struct vz_buffer_set *s, unsigned index, bool begin, bool write)
{
	if (index >= s->count)
		return -EINVAL;
	if (s->ops && s->ops->cpu_sync)
		return s->ops->cpu_sync(s, index, begin, write);
	uint64_t flags = (begin ? DMA_BUF_SYNC_START : DMA_BUF_SYNC_END) |
	                 (write ? DMA_BUF_SYNC_RW : DMA_BUF_SYNC_READ);
	const struct vz_buffer *b = &s->buf[index];
	for (unsigned p = 0; p < b->num_mem; p++) {
		if (b->mem[p].fd_rw < 0)
			continue;
		int r = vz_dmabuf_sync(b->mem[p].fd_rw, flags);
		/* Plain memory (a memfd in tests) has no caches to manage. */
		if (r < 0 && r != -ENOTTY)
			return r;
	}
	return 0;
}

int vz_buffer_cpu_begin(struct vz_buffer_set *s, unsigned index, bool write)
{
	return sync_planes(s, index, true, write);
}

int vz_buffer_cpu_end(struct vz_buffer_set *s, unsigned index, bool write)
{
	return sync_planes(s, index, false, write);
}
