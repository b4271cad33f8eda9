/* SPDX-License-Identifier: MIT */
/* The local protocol's client library; see include/vzero/ipc.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buffer.h"
#include "clock.h"
#include "ipc.h"

struct cbuf {
	bool have;
	unsigned num_mem;
	int fd[VZ_MAX_PLANES];
	size_t len[VZ_MAX_PLANES];
	uint8_t *map[VZ_MAX_PLANES];
};

/* A buffer set as the server announced it.  Alive while it is the current
 * (or the incoming) set, or any held frame lives in it. */
struct cset {
	struct cset *next;
	uint32_t generation;
	struct vz_format fmt;
	uint64_t modifier;
	unsigned count, received;
	unsigned frames; /* held frames in it */
	struct cbuf buf[VZ_MAX_BUFFERS];
};

struct held {
	struct vz_ipc_frame pub;
	struct cset *set;
};

struct vz_ipc_client {
	int fd;
	/* Guards everything a release touches (sets, refs, the socket's
	 * sends): releases come from any thread. */
	pthread_mutex_t lock;
	unsigned refs; /* the owner's (until close) + one per held frame */
	struct cset *sets;
	struct cset *current;  /* complete, frames come from it */
	struct cset *incoming; /* SET seen, BUFFERs arriving */
	struct vz_ipc_hello hello;
	bool have_hello;
	uint64_t frames;
};

static void cset_free(struct cset *s)
{
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++) {
		struct cbuf *b = &s->buf[i];
		for (unsigned p = 0; p < VZ_MAX_PLANES; p++) {
			if (b->map[p])
				munmap(b->map[p], b->len[p]);
			if (b->fd[p] >= 0)
				close(b->fd[p]);
		}
	}
	free(s);
}

/* Lock held. */
static void cset_forget_if_unused(struct vz_ipc_client *c, struct cset *s)
{
	if (s->frames || s == c->current || s == c->incoming)
		return;
	for (struct cset **pp = &c->sets; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	cset_free(s);
}

static void client_free(struct vz_ipc_client *c)
{
	while (c->sets) {
		struct cset *s = c->sets;
		c->sets = s->next;
		cset_free(s);
	}
	if (c->fd >= 0)
		close(c->fd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Drops one reference; the lock is held on entry and released. */
static void client_unref_unlock(struct vz_ipc_client *c)
{
	bool last = --c->refs == 0;
	pthread_mutex_unlock(&c->lock);
	if (last)
		client_free(c);
}

static void close_fds(const int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* One packet: its length, the fds that came with it (*nfds), or a negative
 * errno (0 bytes: the server closed). */
static ssize_t recv_packet(int fd, void *buf, size_t cap, int fds[VZ_MAX_PLANES], unsigned *nfds)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * VZ_MAX_PLANES)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = cap};
	struct msghdr mh = {.msg_iov = &iov,
	                    .msg_iovlen = 1,
	                    .msg_control = ctl.b,
	                    .msg_controllen = sizeof(ctl.b)};
	*nfds = 0;
	ssize_t n;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	bool bad = false;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		const unsigned char *data = CMSG_DATA(cm);
		for (size_t i = 0; i < k; i++) {
			int f;
			memcpy(&f, data + i * sizeof(int), sizeof(int));
			if (*nfds < VZ_MAX_PLANES)
				fds[(*nfds)++] = f;
			else {
				close(f);
				bad = true;
			}
		}
	}
	if (bad || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		close_fds(fds, *nfds);
		*nfds = 0;
		return -EPROTO;
	}
	return n;
}

static int on_set(struct vz_ipc_client *c, const struct vz_ipc_set *m, struct vz_err *err)
{
	if (c->incoming || (c->current && m->generation <= c->current->generation))
		return vz_err_set(err, -EPROTO,
		                  "ipc: the server announced buffer set %u out of order "
		                  "(a broken server)",
		                  m->generation);
	struct cset *s = calloc(1, sizeof(*s));
	if (!s)
		return vz_err_set(err, -ENOMEM, "ipc: out of memory");
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++)
		for (unsigned p = 0; p < VZ_MAX_PLANES; p++)
			s->buf[i].fd[p] = -1;
	s->generation = m->generation;
	vz_ipc_set_to_format(m, &s->fmt);
	s->modifier = m->modifier;
	s->count = m->count;
	pthread_mutex_lock(&c->lock);
	s->next = c->sets;
	c->sets = s;
	c->incoming = s;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* Takes ownership of @fds. */
static int on_buffer(struct vz_ipc_client *c, const struct vz_ipc_buffer *m, int *fds,
                     struct vz_err *err)
{
	struct cset *s = c->incoming;
	int r;
	if (!s || m->generation != s->generation || m->index >= s->count || s->buf[m->index].have ||
	    m->num_mem != s->fmt.num_mem) {
		r = vz_err_set(err, -EPROTO,
		               "ipc: buffer %u of set %u does not belong to the set announced "
		               "(a broken server)",
		               m->index, m->generation);
		goto fail;
	}
	struct cbuf *b = &s->buf[m->index];
	for (unsigned p = 0; p < m->num_mem; p++) {
		/* Never trust the length: a mapping past the DMA-buf's end would
		 * fault on access, so the fd's own size must cover it. */
		off_t size = lseek(fds[p], 0, SEEK_END);
		if (m->length[p] < s->fmt.mem_size[p] ||
		    (size >= 0 && (uint64_t)size < m->length[p])) {
			r = vz_err_set(
			        err, -EPROTO,
			        "ipc: buffer %u plane %u: %llu bytes said, the set needs %u and "
			        "the fd holds %lld (a broken server)",
			        m->index, p, (unsigned long long)m->length[p], s->fmt.mem_size[p],
			        (long long)size);
			goto fail;
		}
	}
	for (unsigned p = 0; p < m->num_mem; p++) {
		void *map = mmap(NULL, m->length[p], PROT_READ, MAP_SHARED, fds[p], 0);
		if (map == MAP_FAILED) {
			r = vz_err_set(err, -errno, "ipc: mapping buffer %u plane %u: %s", m->index,
			               p, strerror(errno));
			for (unsigned q = 0; q < p; q++) {
				munmap(b->map[q], b->len[q]);
				b->map[q] = NULL;
			}
			goto fail;
		}
		b->map[p] = map;
		b->len[p] = m->length[p];
	}
	for (unsigned p = 0; p < m->num_mem; p++)
		b->fd[p] = fds[p];
	b->num_mem = m->num_mem;
	b->have = true;
	if (++s->received == s->count) {
		pthread_mutex_lock(&c->lock);
		struct cset *old = c->current;
		c->current = s;
		c->incoming = NULL;
		if (old)
			cset_forget_if_unused(c, old);
		pthread_mutex_unlock(&c->lock);
	}
	return 0;
fail:
	close_fds(fds, m->num_mem);
	return r;
}

static int on_frame(struct vz_ipc_client *c, const struct vz_ipc_frame_msg *m, int64_t t_recv,
                    struct vz_ipc_frame **out, struct vz_err *err)
{
	struct cset *s = c->current;
	if (!s || m->generation != s->generation || m->index >= s->count)
		return vz_err_set(err, -EPROTO,
		                  "ipc: frame %llu names buffer %u of set %u, which was not sent "
		                  "(a broken server)",
		                  (unsigned long long)m->id, m->index, m->generation);
	const struct cbuf *b = &s->buf[m->index];
	for (unsigned p = 0; p < VZ_MAX_PLANES; p++)
		if (m->bytesused[p] > (p < b->num_mem ? b->len[p] : 0) ||
		    m->data_offset[p] > m->bytesused[p])
			return vz_err_set(
			        err, -EPROTO,
			        "ipc: frame %llu says plane %u holds %u bytes from offset %u, "
			        "its buffer is %zu (a broken server)",
			        (unsigned long long)m->id, p, m->bytesused[p], m->data_offset[p],
			        p < b->num_mem ? b->len[p] : 0);
	struct held *h = calloc(1, sizeof(*h));
	if (!h)
		return vz_err_set(err, -ENOMEM, "ipc: out of memory");
	struct vz_ipc_frame *f = &h->pub;
	f->id = m->id;
	f->generation = m->generation;
	f->info.index = m->index;
	f->info.sequence = m->sequence;
	f->info.gap = m->gap;
	f->info.session = m->session;
	f->info.discont = m->flags & VZ_IPC_FRAME_DISCONT;
	f->info.ts_monotonic = m->flags & VZ_IPC_FRAME_TS_MONO;
	f->info.ts_jump = m->flags & VZ_IPC_FRAME_TS_JUMP;
	f->info.t_driver_ns = m->t_driver_ns;
	f->info.t_dqbuf_ns = m->t_dqbuf_ns;
	for (unsigned p = 0; p < VZ_MAX_PLANES; p++) {
		f->info.bytesused[p] = m->bytesused[p];
		f->info.data_offset[p] = m->data_offset[p];
	}
	f->t_sent_ns = m->t_sent_ns;
	f->t_received_ns = t_recv;
	f->client_drops = m->client_drops;
	f->fmt = &s->fmt;
	f->modifier = s->modifier;
	f->num_mem = b->num_mem;
	for (unsigned p = 0; p < VZ_MAX_PLANES; p++) {
		f->fd[p] = p < b->num_mem ? b->fd[p] : -1;
		f->length[p] = p < b->num_mem ? b->len[p] : 0;
		f->map[p] = p < b->num_mem ? b->map[p] : NULL;
	}
	h->set = s;
	pthread_mutex_lock(&c->lock);
	s->frames++;
	c->refs++;
	c->frames++;
	pthread_mutex_unlock(&c->lock);
	*out = f;
	return 1;
}

/* Reads and handles one packet: 1 and *out for a frame, 0 for anything
 * else, or a negative errno. */
static int pump_one(struct vz_ipc_client *c, struct vz_ipc_frame **out, struct vz_err *err)
{
	unsigned char pkt[VZ_IPC_MAX_MSG + 1];
	int fds[VZ_MAX_PLANES];
	unsigned nfds;
	ssize_t n = recv_packet(c->fd, pkt, sizeof(pkt), fds, &nfds);
	int64_t t = vz_now_ns();
	if (n == -EAGAIN)
		return 0;
	if (n == -EPROTO)
		return vz_err_set(err, -EPROTO, "ipc: a truncated message from the server");
	if (n < 0)
		return vz_err_set(err, (int)n, "ipc: reading from the server: %s",
		                  strerror((int)-n));
	if (n == 0) {
		close_fds(fds, nfds); /* an empty packet can still carry fds */
		return vz_err_set(err, -ECONNRESET,
		                  "ipc: the server closed the connection (it stopped or died)");
	}
	union vz_ipc_msg m;
	int type = vz_ipc_decode(pkt, (size_t)n, nfds, true, &m);
	if (type < 0) {
		close_fds(fds, nfds);
		if (type == -EPROTONOSUPPORT) {
			struct vz_ipc_hdr h; /* decode fills nothing for another version */
			memcpy(&h, pkt, sizeof(h));
			return vz_err_set(
			        err, type,
			        "ipc: the server speaks protocol version %u, this library %u: "
			        "use a client built with the server's vzero",
			        h.version, VZ_IPC_VERSION);
		}
		return vz_err_set(err, -EPROTO, "ipc: a malformed message from the server");
	}
	switch (type) {
	case VZ_IPC_HELLO:
		if (c->have_hello)
			return vz_err_set(err, -EPROTO, "ipc: a second HELLO from the server");
		c->hello = m.hello;
		c->have_hello = true;
		return 0;
	case VZ_IPC_SET:
		return on_set(c, &m.set, err);
	case VZ_IPC_BUFFER:
		return on_buffer(c, &m.buffer, fds, err);
	case VZ_IPC_FRAME:
		return on_frame(c, &m.frame, t, out, err);
	case VZ_IPC_END:
		return vz_err_set(err, m.end.status ? m.end.status : -ESHUTDOWN, "ipc: %s",
		                  m.end.reason[0] ? m.end.reason : "the server ended the stream");
	}
	return vz_err_set(err, -EPROTO, "ipc: an unexpected message from the server");
}

static int wait_readable(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

int vz_ipc_next(struct vz_ipc_client *c, struct vz_ipc_frame **out, int timeout_ms,
                struct vz_err *err)
{
	*out = NULL;
	int64_t deadline = timeout_ms < 0 ? 0 : vz_now_ns() + (int64_t)timeout_ms * 1000000;
	for (;;) {
		int r = pump_one(c, out, err);
		if (r != 0)
			return r;
		int left = -1;
		if (timeout_ms >= 0) {
			int64_t ns = deadline - vz_now_ns();
			if (ns <= 0)
				return 0;
			left = (int)((ns + 999999) / 1000000);
		}
		r = wait_readable(c->fd, left);
		if (r < 0)
			return vz_err_set(err, r, "ipc: poll: %s", strerror(-r));
		if (r == 0)
			return 0;
	}
}

int vz_ipc_connect(struct vz_ipc_client **out, const char *path, struct vz_err *err)
{
	*out = NULL;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
		return vz_err_set(err, -EINVAL, "ipc: socket path %s (at most %zu bytes)",
		                  path && *path ? "too long" : "missing", sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	struct vz_ipc_client *c = calloc(1, sizeof(*c));
	if (!c)
		return vz_err_set(err, -ENOMEM, "ipc: out of memory");
	c->fd = -1;
	c->refs = 1;
	pthread_mutex_init(&c->lock, NULL);
	int r;
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		r = vz_err_set(err, -errno, "ipc: socket: %s", strerror(errno));
		goto fail;
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		if (e == ENOENT || e == ECONNREFUSED)
			r = vz_err_set(err, -e,
			               "ipc: no vzero server at %s (%s): start one with "
			               "vzero run -d DEV --sink ipc:%s",
			               path,
			               e == ENOENT ? "no such socket" : "nobody listens on it",
			               path);
		else if (e == EACCES || e == EPERM)
			r = vz_err_set(err, -e,
			               "ipc: %s: permission denied (the server's socket mode: "
			               "--sink ipc:%s?mode=0666, or allow=uid:N)",
			               path, path);
		else
			r = vz_err_set(err, -e, "ipc: connecting to %s: %s", path, strerror(e));
		goto fail;
	}
	/* HELLO and a whole first buffer set before the first frame. */
	int64_t deadline = vz_now_ns() + 5000000000ll;
	while (!c->have_hello || !c->current) {
		struct vz_ipc_frame *f = NULL;
		r = pump_one(c, &f, err);
		if (r < 0)
			goto fail;
		if (r > 0) {
			vz_ipc_release(c, f);
			r = vz_err_set(err, -EPROTO, "ipc: a frame before the buffer set");
			goto fail;
		}
		if (c->have_hello && c->current)
			break; /* not a wait for the first frame */
		int64_t ns = deadline - vz_now_ns();
		if (ns <= 0) {
			r = vz_err_set(
			        err, -ETIMEDOUT,
			        "ipc: %s accepted the connection but sent no buffer set in 5 s "
			        "(is the vzero run streaming?)",
			        path);
			goto fail;
		}
		r = wait_readable(c->fd, (int)(ns / 1000000) + 1);
		if (r < 0) {
			r = vz_err_set(err, r, "ipc: poll: %s", strerror(-r));
			goto fail;
		}
	}
	*out = c;
	return 0;
fail:
	if (err && !strstr(err->msg, path))
		vz_err_prefix(err, "%s", path);
	vz_ipc_close(c);
	return r;
}

void vz_ipc_release(struct vz_ipc_client *c, struct vz_ipc_frame *f)
{
	if (!c || !f)
		return;
	struct held *h = (struct held *)f;
	struct vz_ipc_release m;
	vz_ipc_hdr_init(&m.hdr, VZ_IPC_RELEASE);
	m.id = f->id;
	pthread_mutex_lock(&c->lock);
	/* After close() the server has taken everything back already. */
	if (c->fd >= 0) {
		ssize_t n;
		do
			n = send(c->fd, &m, sizeof(m), MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		/* A full socket buffer cannot happen (the server reads as it
		 * sends), a dead server needs no release. */
	}
	h->set->frames--;
	cset_forget_if_unused(c, h->set);
	free(h);
	client_unref_unlock(c);
}

void vz_ipc_close(struct vz_ipc_client *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	struct cset *cur = c->current, *inc = c->incoming;
	c->current = c->incoming = NULL;
	if (cur)
		cset_forget_if_unused(c, cur);
	if (inc)
		cset_forget_if_unused(c, inc);
	client_unref_unlock(c);
}

static int sync_planes(const struct vz_ipc_frame *f, uint64_t flags)
{
	int r = 0;
	for (unsigned p = 0; p < f->num_mem; p++) {
		int e = vz_dmabuf_sync(f->fd[p], flags | DMA_BUF_SYNC_READ);
		if (e < 0 && e != -ENOTTY && !r)
			r = e;
	}
	return r;
}

int vz_ipc_frame_begin(const struct vz_ipc_frame *f)
{
	return sync_planes(f, DMA_BUF_SYNC_START);
}

int vz_ipc_frame_end(const struct vz_ipc_frame *f)
{
	return sync_planes(f, DMA_BUF_SYNC_END);
}

int vz_ipc_frame_map(const struct vz_ipc_frame *f, struct vz_frame_map *m)
{
	struct vz_buffer b = {.index = f->info.index, .num_mem = f->num_mem};
	for (unsigned p = 0; p < f->num_mem; p++) {
		b.mem[p].fd_rw = -1;
		b.mem[p].fd_ro = f->fd[p];
		b.mem[p].map = (void *)f->map[p];
		b.mem[p].length = f->length[p];
	}
	return vz_frame_map_init(m, f->fmt, &b, &f->info);
}

int vz_ipc_client_fd(const struct vz_ipc_client *c)
{
	return c->fd;
}

unsigned vz_ipc_client_budget(const struct vz_ipc_client *c)
{
	return c->hello.budget;
}

const char *vz_ipc_client_name(const struct vz_ipc_client *c)
{
	return c->hello.name;
}

uint64_t vz_ipc_client_frames(const struct vz_ipc_client *c)
{
	return c->frames;
}
