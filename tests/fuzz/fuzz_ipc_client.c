/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the client library (vz_ipc_connect, vz_ipc_next,
 * vz_ipc_release, vz_ipc_close) against a hostile server.
 *
 * A thread plays the server on a real SOCK_SEQPACKET socket: it accepts
 * the library's connection, sends the packets the input describes (memfds
 * attached as the fds), shuts its sending side and then collects the
 * RELEASEs.  Shutting down right after the last packet means the library
 * never waits: every conversation ends with the server gone, so an
 * incomplete one costs no 5 s connect timeout and every run is the same.
 *
 * Input:
 *   byte 0   bit 0: hold every frame until after vz_ipc_close (frames must
 *            stay readable after close), else release each at once;
 *            bits 1..4: vz_ipc_next calls (15: up to MAX_CALLS)
 *   then per packet: flag, length (2 bytes, little-endian), payload.
 *            flag bits 0..1: the kind of fd attached (0: a memfd as large
 *            as the BUFFER says, 1: one byte short, 2: one page, 3: a
 *            pipe, which cannot be mapped); bits 2..4: how many (0..4;
 *            5..7: as many as the payload's BUFFER num_mem says).
 *
 * Checked: no crash, no leak (LeakSanitizer), no fd left open (counted in
 * /proc/self/fd around every run), every frame's fds, lengths and
 * mappings consistent with its format and readable at both ends of every
 * colour plane, one RELEASE per frame released before close with the
 * frame's id, errors with a message.
 *
 * VZ_FUZZ_WRITE_SEEDS=DIR writes valid conversations into DIR and exits.
 * VZ_FUZZ_VERBOSE=1 says what each run did (for a reproducer).
 * VZ_FUZZ_SOCKDIR=DIR puts the listening socket in DIR (default: a fresh
 * directory under /tmp, removed at exit).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "frame.h"
#include "ipc.h"

#define FUZZ_TARGET "fuzz_ipc_client"
#include "fuzz-check.h"

#define MAX_PKTS    32  /* well under one socket buffer: the server never blocks */
#define MAX_PKT_LEN 300 /* past VZ_IPC_MAX_MSG + 1, so truncation is reachable */
#define MAX_CALLS   64
#define MAX_HELD    64

struct pkt {
	const uint8_t *p;
	size_t len;
	uint8_t flag;
};

struct server {
	struct pkt pkt[MAX_PKTS];
	unsigned npkt;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool sent; /* every packet sent (or the client gone), sending side shut */
	uint64_t rel[MAX_CALLS + 1];
	unsigned nrel;
	bool rel_bad; /* something other than a well-formed RELEASE came */
};

static bool verbose; /* VZ_FUZZ_VERBOSE=1: what each run did, for reproducers */
static int listen_fd = -1;
static char sock_dir[108];
static char sock_path[108];
static bool own_dir;

static void cleanup(void)
{
	if (listen_fd >= 0)
		close(listen_fd);
	unlink(sock_path);
	if (own_dir)
		rmdir(sock_dir);
}

static void setup_socket(void)
{
	const char *d = getenv("VZ_FUZZ_SOCKDIR");
	if (d && *d) {
		snprintf(sock_dir, sizeof(sock_dir), "%s", d);
	} else {
		snprintf(sock_dir, sizeof(sock_dir), "/tmp/vz-fuzz-XXXXXX");
		if (!mkdtemp(sock_dir)) {
			perror("fuzz_ipc_client: mkdtemp");
			exit(1);
		}
		own_dir = true;
	}
	/* One socket per process: libFuzzer's -fork/-jobs children each get
	 * their own. */
	snprintf(sock_path, sizeof(sock_path), "%s/s%d", sock_dir, (int)getpid());
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(sock_path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "fuzz_ipc_client: socket path %s too long\n", sock_path);
		exit(1);
	}
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	unlink(sock_path);
	listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(listen_fd, 4) < 0) {
		perror("fuzz_ipc_client: listening socket");
		exit(1);
	}
	atexit(cleanup);
}

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	CHECK(d);
	unsigned n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own */
}

/* A BUFFER payload's claims, as far as the bytes go. */
static bool payload_is_buffer(const struct pkt *k)
{
	struct vz_ipc_hdr h;
	if (k->len < sizeof(h))
		return false;
	memcpy(&h, k->p, sizeof(h));
	return h.type == VZ_IPC_BUFFER;
}

static uint64_t payload_length(const struct pkt *k, unsigned i)
{
	size_t off = offsetof(struct vz_ipc_buffer, length) + i * sizeof(uint64_t);
	uint64_t v = 4096;
	if (payload_is_buffer(k) && off + sizeof(v) <= k->len)
		memcpy(&v, k->p + off, sizeof(v));
	return v;
}

static unsigned fd_count(const struct pkt *k)
{
	unsigned n = (k->flag >> 2) & 7;
	if (n <= 4)
		return n;
	size_t off = offsetof(struct vz_ipc_buffer, num_mem);
	uint32_t num = 0;
	if (payload_is_buffer(k) && off + sizeof(num) <= k->len)
		memcpy(&num, k->p + off, sizeof(num));
	return num < 4 ? num : 4;
}

static int make_fd(const struct pkt *k, unsigned i)
{
	unsigned kind = k->flag & 3;
	if (kind == 3) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0)
			return -1;
		close(p[1]);
		return p[0];
	}
	int fd = memfd_create("vz-fuzz", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	uint64_t size = kind == 2 ? 4096 : payload_length(k, i);
	if (kind == 1 && size > 0)
		size--;
	/* Sparse: a 4 GiB plane costs nothing until touched. */
	if (size > (1ull << 33))
		size = 1ull << 33;
	if (ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* false: the client is gone. */
static bool send_packet(int fd, const struct pkt *k)
{
	uint8_t buf[MAX_PKT_LEN];
	memcpy(buf, k->p, k->len);
	struct iovec iov = {.iov_base = buf, .iov_len = k->len};
	union {
		char b[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	int fds[4];
	unsigned n = 0, want = fd_count(k);
	while (n < want) {
		int f = make_fd(k, n);
		if (f < 0)
			break;
		fds[n++] = f;
	}
	if (n) {
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	}
	ssize_t r;
	do
		r = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
	return r >= 0;
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	/* Bounded: a library that never connected must not hang the run. */
	struct pollfd pf = {.fd = listen_fd, .events = POLLIN};
	int fd = -1;
	if (poll(&pf, 1, 3000) == 1)
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0) {
		for (unsigned i = 0; i < s->npkt; i++)
			if (!send_packet(fd, &s->pkt[i]))
				break;
		shutdown(fd, SHUT_WR);
	}
	pthread_mutex_lock(&s->lock);
	s->sent = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (fd < 0)
		return NULL;
	for (;;) {
		uint8_t b[VZ_IPC_MAX_MSG + 1];
		ssize_t n = recv(fd, b, sizeof(b), 0);
		/* A client that closes with packets unread leaves ECONNRESET
		 * pending, reported once and before what it sent last. */
		if (n < 0 && (errno == EINTR || errno == ECONNRESET))
			continue;
		if (n <= 0)
			break;
		union vz_ipc_msg m;
		if (vz_ipc_decode(b, (size_t)n, 0, false, &m) != VZ_IPC_RELEASE ||
		    s->nrel == MAX_CALLS + 1)
			s->rel_bad = true;
		else
			s->rel[s->nrel++] = m.release.id;
	}
	close(fd);
	return NULL;
}

static void wait_sent(struct server *s)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += 3;
	pthread_mutex_lock(&s->lock);
	while (!s->sent)
		if (pthread_cond_timedwait(&s->cond, &s->lock, &t) != 0)
			break;
	pthread_mutex_unlock(&s->lock);
}

/* Versions the input's packets name in a well-formed header of another
 * version: what a version error may report. */
static bool version_in_input(const struct server *s, unsigned v)
{
	for (unsigned i = 0; i < s->npkt; i++) {
		struct vz_ipc_hdr h;
		if (s->pkt[i].len < sizeof(h))
			continue;
		memcpy(&h, s->pkt[i].p, sizeof(h));
		if (h.magic == VZ_IPC_MAGIC && h.version == v)
			return true;
	}
	return false;
}

static void check_error(const struct server *s, int r, const struct vz_err *err)
{
	CHECK(r < 0);
	CHECK(err->code < 0 && err->msg[0] != '\0');
	CHECK(memchr(err->msg, '\0', sizeof(err->msg)));
	/* ipc.h: a client refuses a server of another version "and says so":
	 * the version in the message must be the server's. */
	if (r == -EPROTONOSUPPORT) {
		const char *p = strstr(err->msg, "protocol version ");
		CHECK(p);
		CHECK(version_in_input(s, (unsigned)strtoul(p + 17, NULL, 10)));
	}
}

/* Reads both ends of every colour plane: a layout that runs past a
 * mapping or the memory behind it faults here. */
static void touch_frame(const struct vz_ipc_frame *f)
{
	struct vz_frame_map m;
	int r = vz_ipc_frame_map(f, &m);
	if (verbose)
		fprintf(stderr, "frame %llu of set %u: %s\n", (unsigned long long)f->id,
		        f->generation, r < 0 ? "no CPU view" : "mapped, read");
	if (r < 0)
		return;
	volatile uint8_t sink = 0;
	for (unsigned p = 0; p < f->fmt->num_planes; p++) {
		size_t last = (size_t)m.stride[p] * m.height[p] - 1;
		sink ^= m.plane[p][0];
		sink ^= m.plane[p][last];
	}
	(void)sink;
}

static void check_frame(const struct vz_ipc_frame *f)
{
	const struct vz_format *fmt = f->fmt;
	CHECK(fmt);
	CHECK(fmt->num_mem >= 1 && fmt->num_mem <= VZ_MAX_PLANES);
	CHECK(fmt->num_planes >= 1 && fmt->num_planes <= VZ_MAX_PLANES);
	CHECK(f->num_mem == fmt->num_mem);
	CHECK(f->info.index < VZ_MAX_BUFFERS);
	for (unsigned p = 0; p < VZ_MAX_PLANES; p++) {
		if (p < f->num_mem) {
			CHECK(f->fd[p] >= 0 && f->map[p] != NULL);
			CHECK(f->length[p] >= fmt->mem_size[p]);
			off_t size = lseek(f->fd[p], 0, SEEK_END);
			CHECK(size >= 0 && (uint64_t)size >= f->length[p]);
		} else {
			CHECK(f->fd[p] == -1 && f->map[p] == NULL && f->length[p] == 0);
		}
	}
	/* memfds have no DMA_BUF_IOCTL_SYNC, which the bracket forgives. */
	CHECK(vz_ipc_frame_begin(f) == 0);
	touch_frame(f);
	CHECK(vz_ipc_frame_end(f) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool hold = data[0] & 1;
	unsigned calls = (data[0] >> 1) & 15;
	if (calls == 15)
		calls = MAX_CALLS;

	static struct server s;
	memset(&s, 0, sizeof(s));
	for (size_t at = 1; at + 3 <= size && s.npkt < MAX_PKTS;) {
		struct pkt *k = &s.pkt[s.npkt++];
		k->flag = data[at];
		size_t len = (size_t)data[at + 1] | (size_t)data[at + 2] << 8;
		at += 3;
		if (len > MAX_PKT_LEN)
			len = MAX_PKT_LEN;
		if (len > size - at)
			len = size - at;
		k->p = data + at;
		k->len = len;
		at += len;
	}

	unsigned fds_before = count_fds();
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);
	pthread_t th;
	CHECK(pthread_create(&th, NULL, server_main, &s) == 0);

	struct vz_err err;
	vz_err_clear(&err);
	struct vz_ipc_client *c;
	int r = vz_ipc_connect(&c, sock_path, &err);
	bool connected = r == 0;
	if (verbose)
		fprintf(stderr, "connect: %d %s\n", r, r < 0 ? err.msg : "");
	uint64_t released[MAX_CALLS];
	unsigned nreleased = 0;
	struct vz_ipc_frame *held[MAX_HELD];
	unsigned nheld = 0;
	if (r < 0) {
		CHECK(c == NULL);
		check_error(&s, r, &err);
	} else {
		CHECK(r == 0 && c);
		CHECK(vz_ipc_client_budget(c) >= 1 && vz_ipc_client_budget(c) <= VZ_MAX_BUFFERS);
		CHECK(strlen(vz_ipc_client_name(c)) < sizeof(((struct vz_ipc_hello *)0)->name));
		CHECK(vz_ipc_client_fd(c) >= 0);
		/* Everything queued: a timeout of 0 sees all of it. */
		wait_sent(&s);
		uint64_t frames = 0;
		for (unsigned i = 0; i < calls; i++) {
			struct vz_ipc_frame *f;
			vz_err_clear(&err);
			r = vz_ipc_next(c, &f, 0, &err);
			if (verbose)
				fprintf(stderr, "next: %d %s\n", r, r < 0 ? err.msg : "");
			if (r < 0) {
				CHECK(f == NULL);
				check_error(&s, r, &err);
				break;
			}
			if (r == 0) {
				CHECK(f == NULL);
				continue;
			}
			CHECK(r == 1 && f);
			frames++;
			check_frame(f);
			if (hold && nheld < MAX_HELD) {
				held[nheld++] = f;
			} else {
				released[nreleased++] = f->id;
				vz_ipc_release(c, f);
			}
		}
		CHECK(vz_ipc_client_frames(c) == frames);
		vz_ipc_close(c);
		/* ipc.h: frames held at close stay readable until released. */
		for (unsigned i = 0; i < nheld; i++) {
			check_frame(held[i]);
			vz_ipc_release(c, held[i]);
		}
	}
	CHECK(pthread_join(th, NULL) == 0);
	pthread_cond_destroy(&s.cond);
	pthread_mutex_destroy(&s.lock);

	CHECK(!s.rel_bad);
	if (!connected) {
		/* A frame before HELLO is released inside vz_ipc_connect. */
		CHECK(s.nrel <= 1);
	} else {
		CHECK(s.nrel == nreleased);
		for (unsigned i = 0; i < nreleased; i++)
			CHECK(s.rel[i] == released[i]);
	}
	unsigned fds_after = count_fds();
	if (fds_after != fds_before) {
		fprintf(stderr, "fuzz_ipc_client: %u fds open before the run, %u after\n",
		        fds_before, fds_after);
		abort();
	}
	return 0;
}

/* -------------------------------------------------------------------- */

struct seed {
	uint8_t b[4096];
	size_t len;
};

static void add(struct seed *s, uint8_t flag, const void *msg, size_t len)
{
	if (s->len + 3 + len > sizeof(s->b))
		exit(1);
	s->b[s->len++] = flag;
	s->b[s->len++] = (uint8_t)len;
	s->b[s->len++] = (uint8_t)(len >> 8);
	memcpy(s->b + s->len, msg, len);
	s->len += len;
}

/* Attach as many memfds as the BUFFER says, each as large as it says. */
#define FDS_AUTO (7u << 2)

static void add_hello(struct seed *s, uint16_t version)
{
	struct vz_ipc_hello h;
	memset(&h, 0, sizeof(h));
	vz_ipc_hdr_init(&h.hdr, VZ_IPC_HELLO);
	h.hdr.version = version;
	h.server_pid = 1;
	h.budget = 4;
	snprintf(h.name, sizeof(h.name), "fuzz");
	add(s, 0, &h, sizeof(h));
}

/* SET and its BUFFERs for @fourcc. */
static void add_set(struct seed *s, uint32_t fourcc, uint32_t generation, unsigned count)
{
	struct vz_format f = {.fourcc = fourcc, .width = 32, .height = 16};
	if (vz_format_layout(&f, NULL) < 0)
		exit(1);
	struct vz_ipc_set m;
	vz_ipc_set_from_format(&m, &f, generation, count, 0);
	add(s, 0, &m, sizeof(m));
	for (unsigned i = 0; i < count; i++) {
		struct vz_ipc_buffer b;
		memset(&b, 0, sizeof(b));
		vz_ipc_hdr_init(&b.hdr, VZ_IPC_BUFFER);
		b.generation = generation;
		b.index = i;
		b.num_mem = f.num_mem;
		for (unsigned p = 0; p < f.num_mem; p++)
			b.length[p] = f.mem_size[p];
		add(s, FDS_AUTO, &b, sizeof(b));
	}
}

static void add_frame(struct seed *s, uint64_t id, uint32_t generation, uint32_t index)
{
	struct vz_ipc_frame_msg m;
	memset(&m, 0, sizeof(m));
	vz_ipc_hdr_init(&m.hdr, VZ_IPC_FRAME);
	m.id = id;
	m.generation = generation;
	m.index = index;
	m.sequence = (uint32_t)id;
	m.flags = VZ_IPC_FRAME_TS_MONO;
	m.t_driver_ns = (int64_t)id * 33000000;
	m.t_dqbuf_ns = m.t_driver_ns + 100000;
	m.t_sent_ns = m.t_dqbuf_ns + 100000;
	m.bytesused[0] = 512;
	add(s, 0, &m, sizeof(m));
}

static void add_end(struct seed *s)
{
	struct vz_ipc_end m;
	memset(&m, 0, sizeof(m));
	vz_ipc_hdr_init(&m.hdr, VZ_IPC_END);
	snprintf(m.reason, sizeof(m.reason), "the run stopped");
	add(s, 0, &m, sizeof(m));
}

static void write_seed(const char *dir, const char *name, const struct seed *s)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(s->b, 1, s->len, f) != s->len || fclose(f)) {
		fprintf(stderr, "fuzz_ipc_client: writing %s failed\n", path);
		exit(1);
	}
}

static void write_seeds(const char *dir)
{
	const uint8_t release_now = 15u << 1, hold_all = 15u << 1 | 1;
	struct seed s = {.b = {release_now}, .len = 1};
	add_hello(&s, VZ_IPC_VERSION);
	add_set(&s, V4L2_PIX_FMT_NV12, 1, 2);
	add_frame(&s, 1, 1, 0);
	add_frame(&s, 2, 1, 1);
	add_frame(&s, 3, 1, 0);
	add_end(&s);
	write_seed(dir, "nv12", &s);
	s.b[0] = hold_all;
	write_seed(dir, "nv12-hold", &s);

	/* A renegotiation with a frame of the old set still held. */
	s = (struct seed){.b = {hold_all}, .len = 1};
	add_hello(&s, VZ_IPC_VERSION);
	add_set(&s, V4L2_PIX_FMT_YUYV, 1, 1);
	add_frame(&s, 1, 1, 0);
	add_set(&s, V4L2_PIX_FMT_NV12M, 2, 2);
	add_frame(&s, 2, 2, 1);
	add_set(&s, V4L2_PIX_FMT_YUV420M, 3, 1);
	add_frame(&s, 3, 3, 0);
	add_end(&s);
	write_seed(dir, "renegotiate", &s);

	s = (struct seed){.b = {release_now}, .len = 1};
	add_hello(&s, VZ_IPC_VERSION + 1);
	write_seed(dir, "other-version", &s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *dir = fuzz_seed_dir();
	if (dir) {
		write_seeds(dir);
		exit(0);
	}
	verbose = getenv("VZ_FUZZ_VERBOSE") != NULL;
	setup_socket();
	return 0;
}
