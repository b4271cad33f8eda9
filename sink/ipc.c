/* SPDX-License-Identifier: MIT */
/* The local sink: the ipc.h protocol's server; see include/vzero/sink-ipc.h. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "ipc-internal.h"
#include "ipc.h"
#include "sink-ipc.h"

#define MAX_CLIENTS  64
#define MAX_INFLIGHT 128 /* frames out to clients at once, over every set */

/* One frame out to clients: back to the pipeline when the last lets go. */
struct slot {
	struct vz_frame *f; /* NULL: free */
	unsigned holders;
};

struct client {
	struct ipc_sink *s;
	int fd;
	struct vz_loop_source *src;
	unsigned num; /* 1, 2, ... in order of arrival */
	pid_t pid;
	uid_t uid;
	uint32_t sent_gen; /* the set whose fds it has, 0: none yet */
	unsigned nheld;
	struct {
		uint64_t id;
		struct slot *slot;
	} held[VZ_IPC_MAX_BUDGET];
	uint64_t frames, drops, released;
};

struct ipc_sink {
	struct vz_sink_port *port;
	struct vz_loop *loop;
	int listen_fd;
	struct vz_loop_source *listen_src;
	ino_t ino; /* of the socket file we made: only that one is removed */
	bool have_ino;
	struct vz_ipc_sink_spec o; /* what the spec asked for */
	struct vz_buffer_set *set; /* current, with our reference */
	struct client *client[MAX_CLIENTS];
	struct slot slot[MAX_INFLIGHT];
	char name[64];
	/* counters */
	unsigned next_num;
	uint64_t accepted, refused, bad, client_drops, held_at_exit, sets_sent;
	uint64_t slots_full;
	char last_bad[160];
	char summary[256]; /* clients gone, for the proof line */
};

static void slot_unhold(struct ipc_sink *s, struct slot *sl)
{
	if (--sl->holders == 0) {
		struct vz_frame *f = sl->f;
		sl->f = NULL;
		vz_port_release(s->port, f);
	}
}

static void client_summary(struct client *c, char *buf, size_t len)
{
	vz_msg_append(buf, len, "%sclient %u (pid %d, uid %u): %llu frames, %llu budget drops",
	              buf[0] ? "; " : "", c->num, (int)c->pid, (unsigned)c->uid,
	              (unsigned long long)c->frames, (unsigned long long)c->drops);
}

/* Everything @c held goes back; its socket closes.  @why: NULL for a
 * client that left on its own.  @at_end: the server is the one leaving
 * (the run stopped), so what the client held is not a client's doing. */
static void client_drop_as(struct ipc_sink *s, unsigned i, const char *why, bool at_end)
{
	struct client *c = s->client[i];
	if (!c)
		return;
	if (why) {
		s->bad++;
		snprintf(s->last_bad, sizeof(s->last_bad), "client %u (pid %d): %s", c->num,
		         (int)c->pid, why);
	}
	if (!at_end)
		s->held_at_exit += c->nheld;
	for (unsigned k = 0; k < c->nheld; k++)
		slot_unhold(s, c->held[k].slot);
	c->nheld = 0;
	client_summary(c, s->summary, sizeof(s->summary));
	if (c->src)
		vz_loop_remove(s->loop, c->src);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	s->client[i] = NULL;
}

static void client_drop(struct ipc_sink *s, unsigned i, const char *why)
{
	client_drop_as(s, i, why, false);
}

static int send_msg(int fd, const void *msg, size_t len, const int *fds, unsigned nfds)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * VZ_MAX_PLANES)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (nfds) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	ssize_t n;
	do
		n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EMSGSIZE;
}

/* A set's fds for clients: the read-only exports, or (rw=allow) the
 * read-write ones where a plane has no read-only one. */
static int plane_fd(const struct ipc_sink *s, const struct vz_mem *m)
{
	if (m->fd_ro >= 0)
		return m->fd_ro;
	return s->o.rw_allowed ? m->fd_rw : -1;
}

static int send_set(struct ipc_sink *s, struct client *c)
{
	const struct vz_buffer_set *set = s->set;
	struct vz_ipc_set m;
	vz_ipc_set_from_format(&m, &set->fmt, set->generation, set->count, set->modifier);
	int r = send_msg(c->fd, &m, sizeof(m), NULL, 0);
	for (unsigned i = 0; i < set->count && r == 0; i++) {
		const struct vz_buffer *b = &set->buf[i];
		struct vz_ipc_buffer bm;
		memset(&bm, 0, sizeof(bm));
		vz_ipc_hdr_init(&bm.hdr, VZ_IPC_BUFFER);
		bm.generation = set->generation;
		bm.index = i;
		bm.num_mem = b->num_mem;
		int fds[VZ_MAX_PLANES];
		for (unsigned p = 0; p < b->num_mem; p++) {
			fds[p] = plane_fd(s, &b->mem[p]);
			bm.length[p] = b->mem[p].length;
		}
		r = send_msg(c->fd, &bm, sizeof(bm), fds, b->num_mem);
	}
	if (r == 0) {
		c->sent_gen = set->generation;
		s->sets_sent++;
	}
	return r;
}

/* Checks that every plane of @set has an fd clients may have. */
static int check_set(struct ipc_sink *s, const struct vz_buffer_set *set, struct vz_err *err)
{
	for (unsigned i = 0; i < set->count; i++)
		for (unsigned p = 0; p < set->buf[i].num_mem; p++) {
			const struct vz_mem *m = &set->buf[i].mem[p];
			int fl = m->fd_ro >= 0 ? fcntl(m->fd_ro, F_GETFL) : -1;
			if (m->fd_ro >= 0 && fl >= 0 && (fl & O_ACCMODE) == O_RDONLY)
				continue;
			if (s->o.rw_allowed && (m->fd_ro >= 0 || m->fd_rw >= 0))
				continue;
			return vz_err_set(
			        err, -EPERM,
			        "sink ipc: the buffers (%s) have no read-only DMA-buf export "
			        "(buffer %u plane %u): a client could write into the camera's "
			        "frames. Add ?rw=allow to the sink to hand out read-write fds "
			        "anyway, if every client is trusted",
			        set->origin[0] ? set->origin : "this source", i, p);
		}
	return 0;
}

static void handle_release(struct ipc_sink *s, unsigned i, uint64_t id)
{
	struct client *c = s->client[i];
	for (unsigned k = 0; k < c->nheld; k++)
		if (c->held[k].id == id) {
			struct slot *sl = c->held[k].slot;
			c->held[k] = c->held[--c->nheld];
			c->released++;
			slot_unhold(s, sl);
			return;
		}
	char why[96];
	snprintf(why, sizeof(why), "released frame %llu, which it does not hold",
	         (unsigned long long)id);
	client_drop(s, i, why);
}

static void on_client(void *data, int fd, uint32_t events)
{
	struct client *c = data;
	struct ipc_sink *s = c->s;
	unsigned i = 0;
	while (i < MAX_CLIENTS && s->client[i] != c)
		i++;
	if (i == MAX_CLIENTS)
		return;
	for (;;) {
		unsigned char pkt[VZ_IPC_MAX_MSG + 1];
		union {
			char b[CMSG_SPACE(sizeof(int) * 8)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = {.iov_base = pkt, .iov_len = sizeof(pkt)};
		struct msghdr mh = {.msg_iov = &iov,
		                    .msg_iovlen = 1,
		                    .msg_control = ctl.b,
		                    .msg_controllen = sizeof(ctl.b)};
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			client_drop(s, i, NULL); /* gone: closed, or died */
			return;
		}
		unsigned nfds = 0;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
				size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				for (size_t j = 0; j < k; j++) {
					int f;
					memcpy(&f, CMSG_DATA(cm) + j * sizeof(int), sizeof(int));
					close(f);
					nfds++;
				}
			}
		if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
			client_drop(s, i, "sent an oversized message");
			return;
		}
		union vz_ipc_msg m;
		int type = vz_ipc_decode(pkt, (size_t)n, nfds, false, &m);
		if (type != VZ_IPC_RELEASE) {
			client_drop(s, i,
			            type == -EPROTONOSUPPORT
			                    ? "speaks another protocol version"
			                    : "sent a malformed or unexpected message");
			return;
		}
		handle_release(s, i, m.release.id);
		if (!s->client[i])
			return;
	}
	if (events & (EPOLLHUP | EPOLLERR))
		client_drop(s, i, NULL);
}

static bool peer_allowed(const struct ipc_sink *s, int fd, const struct ucred *cr)
{
	if (!s->o.nallow_uid && !s->o.nallow_gid)
		return true;
	for (unsigned k = 0; k < s->o.nallow_uid; k++)
		if (s->o.allow_uid[k] == cr->uid)
			return true;
	gid_t groups[64];
	socklen_t len = sizeof(groups);
	unsigned ng = 0;
	groups[ng++] = cr->gid;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups + 1, &len) == 0)
		ng += len / sizeof(gid_t) < 63 ? len / sizeof(gid_t) : 63;
	for (unsigned g = 0; g < ng; g++)
		for (unsigned k = 0; k < s->o.nallow_gid; k++)
			if (s->o.allow_gid[k] == groups[g])
				return true;
	return false;
}

static void send_end(int fd, int status, const char *reason)
{
	struct vz_ipc_end m;
	memset(&m, 0, sizeof(m));
	vz_ipc_hdr_init(&m.hdr, VZ_IPC_END);
	m.status = status;
	snprintf(m.reason, sizeof(m.reason), "%s", reason);
	send_msg(fd, &m, sizeof(m), NULL, 0);
}

static void on_listen(void *data, int lfd, uint32_t events)
{
	(void)events;
	struct ipc_sink *s = data;
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or a client that gave up meanwhile */
		struct ucred cr = {0};
		socklen_t len = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
		    !peer_allowed(s, fd, &cr)) {
			char why[128];
			snprintf(why, sizeof(why),
			         "uid %u (gid %u) is not allowed by this server's allow= list",
			         (unsigned)cr.uid, (unsigned)cr.gid);
			send_end(fd, -EACCES, why);
			close(fd);
			s->refused++;
			continue;
		}
		unsigned i = 0;
		while (i < MAX_CLIENTS && s->client[i])
			i++;
		struct client *c = i < MAX_CLIENTS ? calloc(1, sizeof(*c)) : NULL;
		if (!c) {
			send_end(fd, -EUSERS, "the server has as many clients as it takes (64)");
			close(fd);
			s->refused++;
			continue;
		}
		c->s = s;
		c->fd = fd;
		c->num = ++s->next_num;
		c->pid = cr.pid;
		c->uid = cr.uid;
		s->client[i] = c;
		s->accepted++;
		struct vz_ipc_hello h;
		memset(&h, 0, sizeof(h));
		vz_ipc_hdr_init(&h.hdr, VZ_IPC_HELLO);
		h.server_pid = (uint32_t)getpid();
		h.budget = s->o.budget;
		snprintf(h.name, sizeof(h.name), "%s", s->name);
		if (send_msg(fd, &h, sizeof(h), NULL, 0) < 0 || (s->set && send_set(s, c) < 0) ||
		    vz_loop_add_fd(s->loop, fd, EPOLLIN, on_client, c, &c->src, NULL) < 0) {
			client_drop(s, i, "could not be sent the stream's buffers");
			continue;
		}
	}
}

static int ipc_start(void *impl, struct vz_sink_port *port, struct vz_buffer_set *set,
                     struct vz_err *err)
{
	struct ipc_sink *s = impl;
	int r = check_set(s, set, err);
	if (r < 0)
		return r;
	s->port = port;
	s->loop = vz_port_loop(port);
	s->set = vz_buffer_set_ref(set);
	/* The buffers' origin, up to its parenthesis (their fds' modes, which
	 * clients are told otherwise): the device for people. */
	size_t n = strcspn(set->origin, "(");
	while (n && set->origin[n - 1] == ' ')
		n--;
	snprintf(s->name, sizeof(s->name), "%.*s", (int)n, set->origin);
	r = vz_loop_add_fd(s->loop, s->listen_fd, EPOLLIN, on_listen, s, &s->listen_src, err);
	if (r < 0)
		return vz_err_prefix(err, "sink ipc");
	/* Clients that connected before the stream started. */
	on_listen(s, s->listen_fd, EPOLLIN);
	return 0;
}

static int ipc_set_buffers(void *impl, struct vz_buffer_set *set, struct vz_err *err)
{
	struct ipc_sink *s = impl;
	int r = check_set(s, set, err);
	if (r < 0)
		return r;
	vz_buffer_set_unref(s->set);
	s->set = vz_buffer_set_ref(set);
	for (unsigned i = 0; i < MAX_CLIENTS; i++)
		if (s->client[i] && send_set(s, s->client[i]) < 0)
			client_drop(s, i, "could not take the new buffer set (its socket is full)");
	return 0;
}

static int ipc_push(void *impl, struct vz_frame *f, struct vz_err *err)
{
	(void)err;
	struct ipc_sink *s = impl;
	struct slot *sl = NULL;
	for (unsigned k = 0; k < MAX_INFLIGHT && !sl; k++)
		if (!s->slot[k].f)
			sl = &s->slot[k];
	if (!sl) {
		s->slots_full++;
		vz_port_release(s->port, f);
		return 0;
	}
	struct vz_ipc_frame_msg m;
	memset(&m, 0, sizeof(m));
	vz_ipc_hdr_init(&m.hdr, VZ_IPC_FRAME);
	m.id = f->id;
	m.generation = f->generation;
	m.index = f->info.index;
	m.sequence = f->info.sequence;
	m.gap = f->info.gap;
	m.session = f->info.session;
	m.flags = (f->info.discont ? VZ_IPC_FRAME_DISCONT : 0) |
	          (f->info.ts_monotonic ? VZ_IPC_FRAME_TS_MONO : 0) |
	          (f->info.ts_jump ? VZ_IPC_FRAME_TS_JUMP : 0);
	m.t_driver_ns = f->info.t_driver_ns;
	m.t_dqbuf_ns = f->info.t_dqbuf_ns;
	for (unsigned p = 0; p < VZ_MAX_PLANES; p++) {
		m.bytesused[p] = f->info.bytesused[p];
		m.data_offset[p] = f->info.data_offset[p];
	}
	sl->f = f;
	sl->holders = 1; /* ours, while sending */
	for (unsigned i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = s->client[i];
		if (!c || c->sent_gen != f->generation)
			continue;
		if (c->nheld >= s->o.budget) {
			c->drops++;
			s->client_drops++;
			continue;
		}
		m.client_drops = c->drops;
		m.t_sent_ns = vz_now_ns();
		int r = send_msg(c->fd, &m, sizeof(m), NULL, 0);
		if (r == -EAGAIN) {
			/* Its socket is full of frames it has not read: at its
			 * budget in all but name. */
			c->drops++;
			s->client_drops++;
			continue;
		}
		if (r < 0) {
			client_drop(s, i, NULL);
			continue;
		}
		c->held[c->nheld].id = f->id;
		c->held[c->nheld].slot = sl;
		c->nheld++;
		c->frames++;
		sl->holders++;
	}
	slot_unhold(s, sl);
	return 0;
}

static void close_all(struct ipc_sink *s, const char *reason)
{
	for (unsigned i = 0; i < MAX_CLIENTS; i++)
		if (s->client[i]) {
			send_end(s->client[i]->fd, 0, reason);
			/* What it holds returns now: capture has stopped, so nothing
			 * writes into those buffers while the client still reads. */
			client_drop_as(s, i, NULL, true);
		}
	if (s->listen_src) {
		vz_loop_remove(s->loop, s->listen_src);
		s->listen_src = NULL;
	}
}

static void unlink_ours(struct ipc_sink *s)
{
	struct stat st;
	if (s->have_ino && lstat(s->o.path, &st) == 0 && st.st_ino == s->ino &&
	    S_ISSOCK(st.st_mode))
		unlink(s->o.path);
	s->have_ino = false;
}

static int ipc_stop(void *impl, struct vz_err *err)
{
	(void)err;
	struct ipc_sink *s = impl;
	close_all(s, "the stream ended (the vzero run stopped)");
	unlink_ours(s);
	vz_port_stopped(s->port);
	return 0;
}

static void ipc_stats(void *impl, struct vz_sink_stats *out)
{
	struct ipc_sink *s = impl;
	char live[256] = "";
	for (unsigned i = 0; i < MAX_CLIENTS; i++)
		if (s->client[i])
			client_summary(s->client[i], live, sizeof(live));
	out->proof[0] = '\0';
	vz_msg_append(
	        out->proof, sizeof(out->proof),
	        "sent each buffer's %s DMA-buf fds (%llu set(s) sent); never maps or copies; %s",
	        s->o.rw_allowed ? "read-only (or, rw=allow, read-write)" : "read-only",
	        (unsigned long long)s->sets_sent, s->summary);
	vz_msg_append(out->proof, sizeof(out->proof), "%s%s", s->summary[0] && live[0] ? "; " : "",
	              live);
	if (s->last_bad[0])
		snprintf(out->ended, sizeof(out->ended), "disconnected %s", s->last_bad);
	const struct {
		const char *name;
		uint64_t v;
	} c[] = {
	        {"clients", s->accepted},          {"refused", s->refused},
	        {"bad_clients", s->bad},           {"client_drops", s->client_drops},
	        {"held_at_exit", s->held_at_exit}, {"slots_full", s->slots_full},
	};
	out->ncounters = 0;
	for (unsigned k = 0; k < sizeof(c) / sizeof(c[0]) && k < VZ_SINK_MAX_COUNTERS; k++) {
		snprintf(out->counter[k].name, sizeof(out->counter[k].name), "%s", c[k].name);
		out->counter[k].total = c[k].v;
		out->ncounters++;
	}
}

static void ipc_destroy(void *impl)
{
	struct ipc_sink *s = impl;
	if (!s)
		return;
	if (s->loop)
		close_all(s, "the server is going away");
	for (unsigned k = 0; k < MAX_INFLIGHT && s->port; k++)
		if (s->slot[k].f) {
			vz_port_release(s->port, s->slot[k].f);
			s->slot[k].f = NULL;
		}
	unlink_ours(s);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	vz_buffer_set_unref(s->set);
	free(s);
}

static const struct vz_sink_ops ipc_ops = {
        .kind = "ipc",
        .start = ipc_start,
        .set_buffers = ipc_set_buffers,
        .push = ipc_push,
        .stop = ipc_stop,
        .get_stats = ipc_stats,
        .destroy = ipc_destroy,
};

/* A socket file left by a server that died is replaced; anything else at
 * the path is someone's and is left alone. */
static int clear_stale(const char *path, struct vz_err *err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT
		               ? 0
		               : vz_err_set(err, -errno, "sink ipc: %s: %s", path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return vz_err_set(err, -EEXIST,
		                  "sink ipc: %s exists and is not a socket: remove it or choose "
		                  "another path",
		                  path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vz_err_set(err, -errno, "sink ipc: socket: %s", strerror(errno));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	close(fd);
	if (r == 0)
		return vz_err_set(err, -EADDRINUSE,
		                  "sink ipc: another server is serving %s: stop it or choose "
		                  "another path",
		                  path);
	if (e != ECONNREFUSED)
		return vz_err_set(err, -e, "sink ipc: %s is in the way (%s)", path, strerror(e));
	if (unlink(path) < 0)
		return vz_err_set(err, -errno, "sink ipc: removing the stale socket %s: %s", path,
		                  strerror(errno));
	return 0;
}

static int open_listener(struct ipc_sink *s, struct vz_err *err)
{
	int r = clear_stale(s->o.path, err);
	if (r < 0)
		return r;
	s->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		return vz_err_set(err, -errno, "sink ipc: socket: %s", strerror(errno));
	/* The file is born with the socket's own mode (minus the umask):
	 * closed first, then opened to what mode= says, so nobody gets in
	 * between bind() and chmod(). */
	if (fchmod(s->listen_fd, 0600) < 0)
		return vz_err_set(err, -errno, "sink ipc: fchmod: %s", strerror(errno));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, s->o.path, strlen(s->o.path) + 1);
	if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return vz_err_set(err, -errno, "sink ipc: binding %s: %s%s", s->o.path,
		                  strerror(errno),
		                  errno == EACCES ? " (a directory this user may write to)" : "");
	struct stat st;
	if (lstat(s->o.path, &st) == 0) {
		s->ino = st.st_ino;
		s->have_ino = true;
	}
	if (chmod(s->o.path, s->o.mode) < 0)
		return vz_err_set(err, -errno, "sink ipc: chmod %s: %s", s->o.path,
		                  strerror(errno));
	if (listen(s->listen_fd, 16) < 0)
		return vz_err_set(err, -errno, "sink ipc: listen: %s", strerror(errno));
	return 0;
}

int vz_sink_ipc_create(const char *spec, struct vz_sink *out, struct vz_err *err)
{
	memset(out, 0, sizeof(*out));
	struct ipc_sink *s = calloc(1, sizeof(*s));
	if (!s)
		return vz_err_set(err, -ENOMEM, "sink ipc: out of memory");
	s->listen_fd = -1;
	int r = vz_ipc_sink_parse_spec(spec, &s->o, err);
	if (r < 0)
		goto fail;
	if ((r = open_listener(s, err)) < 0)
		goto fail;
	out->ops = &ipc_ops;
	out->impl = s;
	out->policy = VZ_SINK_LIVE;
	/* Each client's own budget rules; the pipeline's minimum of driver
	 * buffers keeps capture going whatever they hold. */
	out->budget = VZ_MAX_BUFFERS;
	snprintf(out->name, sizeof(out->name), "ipc:%.59s", s->o.path);
	return 0;
fail:
	ipc_destroy(s);
	return r;
}
