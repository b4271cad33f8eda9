/* SPDX-License-Identifier: MIT */
/*
 * The local sink and its client library, on the host: the fake source's
 * memfd buffers stand in for DMA-bufs (its read-only fds are O_RDONLY
 * re-opens, like an O_RDONLY EXPBUF export), the pipeline runs on this
 * thread, clients run in threads or forked processes.  The fake "driver"
 * scribbles into every buffer it holds queued, so a frame a client still
 * holds that the server requeued would change under the client: the
 * ownership checks rest on that.
 */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "fake-source.h"
#include "ipc.h"
#include "pipeline.h"
#include "registry.h"

struct rig {
	char dir[64];
	char path[96];
	struct fake_source fs;
	struct vz_loop *loop;
	struct vz_pipeline *pipe;
	struct vz_err err;
};

static void pump(struct rig *r, int ms)
{
	int64_t end = vz_now_ns() + (int64_t)ms * 1000000;
	while (vz_now_ns() < end)
		vz_loop_dispatch(r->loop, 2);
}

/* Frames at 50 fps, the loop turning in between. */
static void produce(struct rig *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		fake_source_produce(&r->fs, 1);
		pump(r, 20);
	}
}

static int rig_open(struct rig *r, const char *opts, bool no_ro)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/vz-ipc-XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(r->path, sizeof(r->path), "%s/cam.sock", r->dir);
	assert_int_equal(
	        fake_source_init(&r->fs, VZ_FOURCC('Y', 'U', 'Y', 'V'), 64, 16, 128, 128 * 16, 8),
	        0);
	r->fs.no_ro = no_ro;
	assert_int_equal(vz_loop_create(&r->loop, NULL), 0);
	struct vz_pipeline_config cfg = {.source = fake_source_as_source(&r->fs),
	                                 .loop = r->loop,
	                                 .reconnect_timeout_ms = 2000,
	                                 .telemetry_capacity = 4096};
	assert_int_equal(vz_pipeline_create(&r->pipe, &cfg, &r->err), 0);
	char spec[256];
	snprintf(spec, sizeof(spec), "ipc:%s%s%s", r->path, opts ? "?" : "", opts ? opts : "");
	struct vz_sink s;
	int rc = vz_sink_create(spec, &s, &r->err);
	if (rc < 0)
		return rc;
	assert_int_equal(vz_pipeline_add_sink(r->pipe, &s, NULL, &r->err), 0);
	return vz_pipeline_start(r->pipe, &r->err);
}

static void rig_close(struct rig *r)
{
	vz_pipeline_destroy(r->pipe);
	vz_loop_destroy(r->loop);
	fake_source_fini(&r->fs);
	unlink(r->path);
	rmdir(r->dir);
}

static uint64_t counter(struct rig *r, const char *name)
{
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(r->pipe, &st);
	for (unsigned k = 0; k < st.sink[0].ncounters; k++)
		if (!strcmp(st.sink[0].counter[k].name, name))
			return st.sink[0].counter[k].total;
	fail_msg("no counter %s", name);
	return 0;
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* A client thread: takes frames until the stream ends, holding each for
 * hold_ms, checking it did not change while held. */
struct cl {
	const char *path;
	int hold_ms;
	unsigned got, changed, seq_back;
	uint64_t last_drops;
	int write_map_errno;
	int end_rc;
	uint32_t last_seq;
	uint32_t widths_seen[4];
	unsigned nwidths;
	char err[sizeof(((struct vz_err *)0)->msg)];
	volatile int connected;
};

static void *client_thread(void *arg)
{
	struct cl *c = arg;
	struct vz_err err = {0};
	struct vz_ipc_client *ic;
	c->end_rc = vz_ipc_connect(&ic, c->path, &err);
	if (c->end_rc < 0) {
		snprintf(c->err, sizeof(c->err), "%s", err.msg);
		c->connected = -1;
		return NULL;
	}
	c->connected = 1;
	for (;;) {
		struct vz_ipc_frame *f;
		int r = vz_ipc_next(ic, &f, 5000, &err);
		if (r <= 0) {
			c->end_rc = r;
			snprintf(c->err, sizeof(c->err), "%s", err.msg);
			break;
		}
		if (!c->got) {
			void *m = mmap(NULL, f->length[0], PROT_READ | PROT_WRITE, MAP_SHARED,
			               f->fd[0], 0);
			c->write_map_errno = m == MAP_FAILED ? errno : 0;
			if (m != MAP_FAILED)
				munmap(m, f->length[0]);
		} else if (f->info.sequence <= c->last_seq) {
			c->seq_back++;
		}
		c->last_seq = f->info.sequence;
		if (!c->nwidths || c->widths_seen[c->nwidths - 1] != f->fmt->width)
			if (c->nwidths < 4)
				c->widths_seen[c->nwidths++] = f->fmt->width;
		/* memfds have no DMA_BUF_IOCTL_SYNC: the bracket fails here. */
		(void)vz_ipc_frame_begin(f);
		uint64_t h = fnv(f->map[0], f->length[0]);
		if (c->hold_ms)
			usleep((useconds_t)c->hold_ms * 1000);
		if (fnv(f->map[0], f->length[0]) != h)
			c->changed++;
		vz_ipc_frame_end(f);
		c->got++;
		c->last_drops = f->client_drops;
		vz_ipc_release(ic, f);
	}
	vz_ipc_close(ic);
	return NULL;
}

static void wait_connected(struct rig *r, struct cl *c)
{
	for (int i = 0; i < 500 && !c->connected; i++)
		pump(r, 10);
	assert_int_equal(c->connected, 1);
}

/* A fast and a slow client at once: the fast one gets every frame, the
 * slow one budget drops, counted alike on both sides; neither sees a frame
 * change while it holds it; a read-only fd refuses a writable mapping. */
static void test_fast_and_slow_clients(void **state)
{
	(void)state;
	struct rig r;
	assert_int_equal(rig_open(&r, "budget=1", false), 0);
	struct cl fast = {.path = r.path}, slow = {.path = r.path, .hold_ms = 70};
	pthread_t a, b;
	pthread_create(&a, NULL, client_thread, &fast);
	pthread_create(&b, NULL, client_thread, &slow);
	wait_connected(&r, &fast);
	wait_connected(&r, &slow);
	pump(&r, 50);
	produce(&r, 60);
	pump(&r, 200);
	uint64_t drops = counter(&r, "client_drops");
	assert_int_equal(vz_pipeline_stop(r.pipe, &r.err), 0);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	assert_int_equal(fast.got, 60);
	assert_int_equal(fast.last_drops, 0);
	assert_int_equal(fast.changed, 0);
	assert_int_equal(fast.seq_back, 0);
	assert_int_equal(fast.write_map_errno, EACCES);
	assert_true(slow.got >= 5 && slow.got < 40);
	assert_int_equal(slow.changed, 0);
	/* Its last FRAME told it what it had missed so far; the server may
	 * have dropped more for it after. */
	assert_true(slow.last_drops > 0 && slow.last_drops <= drops);
	assert_int_equal(slow.got + drops, 60);
	assert_int_equal(fast.end_rc, -ESHUTDOWN);
	assert_non_null(strstr(fast.err, "stream ended"));
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(r.pipe, &st);
	assert_int_equal(st.sink[0].frames, 60);
	assert_int_equal(st.sink[0].released, 60);
	assert_int_equal(counter(&r, "clients"), 2);
	assert_int_equal(counter(&r, "bad_clients"), 0);
	struct stat sb;
	assert_int_equal(stat(r.path, &sb), -1); /* the socket file went with the stop */
	rig_close(&r);
}

/* A raw client: HELLO, SET and BUFFERs read (fds closed), then @send. */
static int raw_connect(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void raw_drain(int fd)
{
	for (;;) {
		char buf[512];
		union {
			char b[CMSG_SPACE(sizeof(int) * 8)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
		struct msghdr mh = {.msg_iov = &iov,
		                    .msg_iovlen = 1,
		                    .msg_control = ctl.b,
		                    .msg_controllen = sizeof(ctl.b)};
		if (recvmsg(fd, &mh, MSG_DONTWAIT) <= 0)
			return;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			for (size_t j = 0; j < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); j++) {
				int f;
				memcpy(&f, CMSG_DATA(cm) + j * sizeof(int), sizeof(int));
				close(f);
			}
	}
}

static bool raw_closed_by_peer(struct rig *r, int fd)
{
	for (int i = 0; i < 100; i++) {
		pump(r, 5);
		char buf[512];
		ssize_t n;
		while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			;
		if (n == 0)
			return true;
	}
	return false;
}

/* Garbage, an oversized message, a release of a frame it never had, a
 * release carrying an fd, a message of another version: each disconnects
 * its sender, only it; the good client streams on. */
static void test_bad_clients_disconnect_alone(void **state)
{
	(void)state;
	struct rig r;
	assert_int_equal(rig_open(&r, NULL, false), 0);
	struct cl good = {.path = r.path};
	pthread_t a;
	pthread_create(&a, NULL, client_thread, &good);
	wait_connected(&r, &good);
	produce(&r, 5);

	enum { GARBAGE, OVERSIZED, NOT_HELD, WITH_FD, OLD_VERSION, SERVER_MSG, NBAD };
	int fd[NBAD];
	for (int k = 0; k < NBAD; k++) {
		fd[k] = raw_connect(r.path);
		pump(&r, 20);
		raw_drain(fd[k]);
	}
	produce(&r, 3);
	struct vz_ipc_release rel;
	vz_ipc_hdr_init(&rel.hdr, VZ_IPC_RELEASE);
	rel.id = 1u << 30;
	char junk[16] = "not a message";
	assert_true(send(fd[GARBAGE], junk, sizeof(junk), 0) > 0);
	char big[VZ_IPC_MAX_MSG * 4];
	memset(big, 0, sizeof(big));
	memcpy(big, &rel, sizeof(rel));
	assert_true(send(fd[OVERSIZED], big, sizeof(big), 0) > 0);
	assert_true(send(fd[NOT_HELD], &rel, sizeof(rel), 0) > 0);
	{
		int pass = open("/dev/null", O_RDONLY | O_CLOEXEC);
		union {
			char b[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} ctl;
		memset(&ctl, 0, sizeof(ctl));
		struct iovec iov = {.iov_base = &rel, .iov_len = sizeof(rel)};
		struct msghdr mh = {.msg_iov = &iov,
		                    .msg_iovlen = 1,
		                    .msg_control = ctl.b,
		                    .msg_controllen = sizeof(ctl.b)};
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass, sizeof(int));
		assert_true(sendmsg(fd[WITH_FD], &mh, 0) > 0);
		close(pass);
	}
	struct vz_ipc_release old = rel;
	old.hdr.version = VZ_IPC_VERSION + 1;
	assert_true(send(fd[OLD_VERSION], &old, sizeof(old), 0) > 0);
	struct vz_ipc_end end;
	memset(&end, 0, sizeof(end));
	vz_ipc_hdr_init(&end.hdr, VZ_IPC_END);
	assert_true(send(fd[SERVER_MSG], &end, sizeof(end), 0) > 0);
	for (int k = 0; k < NBAD; k++)
		assert_true(raw_closed_by_peer(&r, fd[k]));
	produce(&r, 5);
	assert_int_equal(counter(&r, "bad_clients"), NBAD);
	/* The raw clients held what they were sent and never released it:
	 * those frames came back when they were thrown out. */
	assert_true(counter(&r, "held_at_exit") >= 1);
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(r.pipe, &st);
	assert_non_null(strstr(st.sink[0].ended, "disconnected client"));
	assert_int_equal(vz_pipeline_stop(r.pipe, &r.err), 0);
	pthread_join(a, NULL);
	assert_int_equal(good.got, 13);
	assert_int_equal(good.changed, 0);
	vz_pipeline_get_stats(r.pipe, &st);
	assert_int_equal(st.sink[0].released, st.sink[0].frames);
	for (int k = 0; k < NBAD; k++)
		close(fd[k]);
	rig_close(&r);
}

/* A client process killed while holding frames: they return, capture goes
 * on, and the other client never noticed. */
static void test_killed_client_returns_frames(void **state)
{
	(void)state;
	struct rig r;
	assert_int_equal(rig_open(&r, "budget=3", false), 0);
	int ready[2];
	assert_int_equal(pipe(ready), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		struct vz_err err = {0};
		struct vz_ipc_client *ic;
		if (vz_ipc_connect(&ic, r.path, &err) < 0)
			_exit(2);
		if (write(ready[1], "c", 1) != 1)
			_exit(3);
		unsigned held = 0;
		while (held < 3) {
			struct vz_ipc_frame *f;
			if (vz_ipc_next(ic, &f, 5000, &err) <= 0)
				_exit(4);
			held++; /* and never released */
		}
		if (write(ready[1], "h", 1) != 1)
			_exit(3);
		pause();
		_exit(0);
	}
	close(ready[1]);
	char ch = 0;
	struct pollfd p = {.fd = ready[0], .events = POLLIN};
	for (int i = 0; i < 500 && poll(&p, 1, 0) == 0; i++)
		pump(&r, 10);
	assert_int_equal(read(ready[0], &ch, 1), 1);
	assert_int_equal(ch, 'c');
	for (int i = 0; i < 8; i++) {
		produce(&r, 1);
		if (poll(&p, 1, 0) == 1)
			break;
	}
	assert_int_equal(read(ready[0], &ch, 1), 1);
	assert_int_equal(ch, 'h');
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(r.pipe, &st);
	uint64_t before = st.sink[0].released;
	assert_int_equal(st.sink[0].frames - before, 3);
	kill(pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status));
	close(ready[0]);
	pump(&r, 50);
	vz_pipeline_get_stats(r.pipe, &st);
	assert_int_equal(st.sink[0].released, st.sink[0].frames);
	assert_int_equal(counter(&r, "held_at_exit"), 3);
	assert_int_equal(counter(&r, "bad_clients"), 0);
	/* Capture went on: with 8 buffers, 3 of them held, nothing starved. */
	uint64_t frames0 = st.frames;
	produce(&r, 10);
	vz_pipeline_get_stats(r.pipe, &st);
	assert_int_equal(st.frames, frames0 + 10);
	assert_int_equal(r.fs.starved, 0);
	assert_int_equal(vz_pipeline_stop(r.pipe, &r.err), 0);
	rig_close(&r);
}

/* A renegotiation (new width) and a reconnect: the client stays connected,
 * gets the new set's fds, and frames of each set arrive in its layout. */
static void test_set_change_keeps_clients(void **state)
{
	(void)state;
	struct rig r;
	assert_int_equal(rig_open(&r, NULL, false), 0);
	struct cl c = {.path = r.path};
	pthread_t a;
	pthread_create(&a, NULL, client_thread, &c);
	wait_connected(&r, &c);
	produce(&r, 5);
	r.fs.change_format = 1;
	r.fs.new_width = 32;
	fake_source_poke(&r.fs);
	pump(&r, 100);
	produce(&r, 5);
	r.fs.next_error = -ENODEV;
	r.fs.back_after = 2;
	fake_source_poke(&r.fs);
	pump(&r, 1500);
	produce(&r, 5);
	assert_int_equal(vz_pipeline_stop(r.pipe, &r.err), 0);
	pthread_join(a, NULL);
	assert_int_equal(c.got, 15);
	assert_int_equal(c.nwidths, 2);
	assert_int_equal(c.widths_seen[0], 64);
	assert_int_equal(c.widths_seen[1], 32);
	assert_int_equal(c.changed, 0);
	assert_int_equal(counter(&r, "clients"), 1);
	assert_int_equal(counter(&r, "bad_clients"), 0);
	assert_true(r.fs.sets_made >= 3);
	rig_close(&r);
}

/* allow=: a uid that is not ours is refused with a reason; our gid lets
 * us in. */
static void test_allow_list(void **state)
{
	(void)state;
	struct rig r;
	char opts[64];
	snprintf(opts, sizeof(opts), "allow=uid:%u", (unsigned)getuid() + 4242);
	assert_int_equal(rig_open(&r, opts, false), 0);
	struct cl c = {.path = r.path};
	pthread_t a;
	pthread_create(&a, NULL, client_thread, &c);
	for (int i = 0; i < 300 && !c.connected; i++)
		pump(&r, 10);
	pthread_join(a, NULL);
	assert_int_equal(c.end_rc, -EACCES);
	assert_non_null(strstr(c.err, "not allowed"));
	assert_int_equal(counter(&r, "refused"), 1);
	assert_int_equal(counter(&r, "clients"), 0);
	assert_int_equal(vz_pipeline_stop(r.pipe, &r.err), 0);
	rig_close(&r);

	snprintf(opts, sizeof(opts), "allow=uid:%u,gid:%u", (unsigned)getuid() + 4242,
	         (unsigned)getgid());
	assert_int_equal(rig_open(&r, opts, false), 0);
	struct cl ok = {.path = r.path};
	pthread_create(&a, NULL, client_thread, &ok);
	wait_connected(&r, &ok);
	produce(&r, 3);
	assert_int_equal(vz_pipeline_stop(r.pipe, &r.err), 0);
	pthread_join(a, NULL);
	assert_int_equal(ok.got, 3);
	assert_int_equal(counter(&r, "refused"), 0);
	rig_close(&r);
}

/* Read-write buffers are not handed out unless the user says so. */
static void test_rw_buffers_need_opt_in(void **state)
{
	(void)state;
	struct rig r;
	assert_int_equal(rig_open(&r, NULL, true), -EPERM);
	assert_non_null(strstr(r.err.msg, "rw=allow"));
	assert_non_null(strstr(r.err.msg, "read-only"));
	rig_close(&r);
	int rc = rig_open(&r, "rw=allow", true);
	if (rc)
		fail_msg("%s", r.err.msg);
	struct cl c = {.path = r.path};
	pthread_t a;
	pthread_create(&a, NULL, client_thread, &c);
	wait_connected(&r, &c);
	produce(&r, 3);
	assert_int_equal(vz_pipeline_stop(r.pipe, &r.err), 0);
	pthread_join(a, NULL);
	assert_int_equal(c.got, 3);
	assert_int_equal(c.write_map_errno, 0); /* what the user opted into */
	rig_close(&r);
}

static int sink_at(const char *spec, struct vz_err *err)
{
	struct vz_sink s;
	int r = vz_sink_create(spec, &s, err);
	if (r == 0)
		s.ops->destroy(s.impl);
	return r;
}

/* The socket path: a stale socket is replaced, a live server or a plain
 * file is left alone, mode= is applied; options are checked up front. */
static void test_socket_path_and_options(void **state)
{
	(void)state;
	char dir[] = "/tmp/vz-ipc-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[96], spec[160];
	snprintf(path, sizeof(path), "%s/s", dir);
	struct vz_err err = {0};

	/* stale: a socket nobody listens on */
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	snprintf(spec, sizeof(spec), "ipc:%s?mode=0640", path);
	struct vz_sink s;
	assert_int_equal(vz_sink_create(spec, &s, &err), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	/* live: the sink just made it */
	struct vz_err e2 = {0};
	assert_int_equal(sink_at(spec, &e2), -EADDRINUSE);
	assert_non_null(strstr(e2.msg, "another server"));
	s.ops->destroy(s.impl);
	assert_int_equal(stat(path, &st), -1);

	/* not a socket */
	int f = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(f >= 0);
	close(f);
	memset(&e2, 0, sizeof(e2));
	assert_int_equal(sink_at(spec, &e2), -EEXIST);
	assert_non_null(strstr(e2.msg, "not a socket"));
	assert_int_equal(stat(path, &st), 0); /* left alone */
	unlink(path);

	static const char *const bad[] = {"budget=0",    "budget=17", "mode=999", "allow=bob",
	                                  "allow=uid:x", "rw=yes",    "speed=1",  "budget"};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		memset(&e2, 0, sizeof(e2));
		snprintf(spec, sizeof(spec), "ipc:%s?%s", path, bad[k]);
		assert_int_equal(sink_at(spec, &e2), -EINVAL);
		assert_non_null(strstr(e2.msg, "sink ipc"));
		assert_int_equal(stat(path, &st), -1);
	}
	memset(&e2, 0, sizeof(e2));
	assert_int_equal(sink_at("ipc:", &e2), -EINVAL);
	rmdir(dir);
}

/* No server: the client says how to start one. */
static void test_connect_without_server(void **state)
{
	(void)state;
	struct vz_err err = {0};
	struct vz_ipc_client *c;
	assert_int_equal(vz_ipc_connect(&c, "/tmp/vz-ipc-nobody-here.sock", &err), -ENOENT);
	assert_null(c);
	assert_non_null(strstr(err.msg, "--sink ipc:/tmp/vz-ipc-nobody-here.sock"));
	vz_ipc_close(NULL);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_fast_and_slow_clients),
	        cmocka_unit_test(test_bad_clients_disconnect_alone),
	        cmocka_unit_test(test_killed_client_returns_frames),
	        cmocka_unit_test(test_set_change_keeps_clients),
	        cmocka_unit_test(test_allow_list),
	        cmocka_unit_test(test_rw_buffers_need_opt_in),
	        cmocka_unit_test(test_socket_path_and_options),
	        cmocka_unit_test(test_connect_without_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
