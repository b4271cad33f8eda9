/* SPDX-License-Identifier: MIT */
/* The event loop: fds, timers, cross-thread wakes, removal from callbacks. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* cmocka needs the headers above first */
#include <cmocka.h>

#include "clock.h"
#include "loop.h"

struct counter {
	struct vz_loop *loop;
	struct vz_loop_source *self;
	int n;
	int quit_at;
	bool remove_self;
};

static void on_fd(void *data, int fd, uint32_t events)
{
	struct counter *c = data;
	char b;
	assert_true(events & EPOLLIN);
	assert_int_equal(read(fd, &b, 1), 1);
	c->n++;
	if (c->remove_self) {
		vz_loop_remove(c->loop, c->self);
		c->self = NULL;
	}
	if (c->n == c->quit_at)
		vz_loop_quit(c->loop, 42);
}

static void test_fd_dispatch_and_quit_status(void **state)
{
	(void)state;
	struct vz_loop *l;
	int p[2];
	assert_int_equal(vz_loop_create(&l, NULL), 0);
	assert_int_equal(pipe(p), 0);
	struct counter c = {.loop = l, .quit_at = 3};
	assert_int_equal(vz_loop_add_fd(l, p[0], EPOLLIN, on_fd, &c, &c.self, NULL), 0);
	assert_int_equal(write(p[1], "abc", 3), 3);
	assert_int_equal(vz_loop_run(l), 42);
	assert_int_equal(c.n, 3);
	vz_loop_destroy(l);
	close(p[0]);
	close(p[1]);
}

static void test_remove_inside_callback(void **state)
{
	(void)state;
	struct vz_loop *l;
	int p[2];
	assert_int_equal(vz_loop_create(&l, NULL), 0);
	assert_int_equal(pipe(p), 0);
	struct counter c = {.loop = l, .remove_self = true};
	assert_int_equal(vz_loop_add_fd(l, p[0], EPOLLIN, on_fd, &c, &c.self, NULL), 0);
	assert_int_equal(write(p[1], "ab", 2), 2);
	vz_loop_dispatch(l, 100);
	vz_loop_dispatch(l, 50); /* data still there, but nobody watches */
	assert_int_equal(c.n, 1);
	vz_loop_destroy(l);
	close(p[0]);
	close(p[1]);
}

struct tick {
	struct vz_loop *loop;
	uint64_t fired;
	int64_t first;
};

static void on_tick(void *data, uint64_t exp)
{
	struct tick *t = data;
	if (!t->first)
		t->first = vz_now_ns();
	t->fired += exp;
	if (t->fired >= 5)
		vz_loop_quit(t->loop, 0);
}

static void test_periodic_timer(void **state)
{
	(void)state;
	struct vz_loop *l;
	assert_int_equal(vz_loop_create(&l, NULL), 0);
	struct tick t = {.loop = l};
	int64_t t0 = vz_now_ns();
	assert_int_equal(vz_loop_add_timer(l, 10 * VZ_NSEC_PER_MSEC, 10 * VZ_NSEC_PER_MSEC, on_tick,
	                                   &t, NULL, NULL),
	                 0);
	assert_int_equal(vz_loop_run(l), 0);
	int64_t dt = vz_now_ns() - t0;
	assert_true(t.fired >= 5);
	assert_true(dt >= 45 * VZ_NSEC_PER_MSEC); /* it did wait */
	assert_true(t.first - t0 >= 9 * VZ_NSEC_PER_MSEC);
	vz_loop_destroy(l);
}

struct rearm {
	struct vz_loop *loop;
	struct vz_loop_source *src;
	int64_t at[3];
	int fired;
};

static void on_rearm(void *data, uint64_t exp)
{
	(void)exp;
	struct rearm *r = data;
	r->at[r->fired++] = vz_now_ns();
	if (r->fired == 3)
		vz_loop_quit(r->loop, 0);
	else
		assert_int_equal(vz_loop_set_timer(r->src, 20 * VZ_NSEC_PER_MSEC, 0), 0);
}

/* A one-shot re-armed inside its own callback fires again, from then. */
static void test_one_shot_rearmed(void **state)
{
	(void)state;
	struct rearm r = {0};
	assert_int_equal(vz_loop_create(&r.loop, NULL), 0);
	int64_t t0 = vz_now_ns();
	assert_int_equal(
	        vz_loop_add_timer(r.loop, 5 * VZ_NSEC_PER_MSEC, 0, on_rearm, &r, &r.src, NULL), 0);
	assert_int_equal(vz_loop_run(r.loop), 0);
	assert_int_equal(r.fired, 3);
	assert_true(r.at[0] - t0 >= 4 * VZ_NSEC_PER_MSEC);
	assert_true(r.at[1] - r.at[0] >= 19 * VZ_NSEC_PER_MSEC);
	assert_true(r.at[2] - r.at[1] >= 19 * VZ_NSEC_PER_MSEC);
	assert_int_equal(vz_loop_set_timer(NULL, 1, 0), -EINVAL);
	vz_loop_destroy(r.loop);
}

struct waker {
	struct vz_loop *loop;
	struct vz_loop_source *src;
	int calls;
	pthread_t on;
};

static void on_wake(void *data)
{
	struct waker *w = data;
	w->calls++;
	w->on = pthread_self();
	vz_loop_quit(w->loop, 7);
}

static void *wake_thread(void *arg)
{
	struct waker *w = arg;
	usleep(20000);
	for (int i = 0; i < 10; i++)
		vz_loop_wake(w->src); /* coalesced into one call */
	return NULL;
}

static void test_wake_from_other_thread(void **state)
{
	(void)state;
	struct vz_loop *l;
	assert_int_equal(vz_loop_create(&l, NULL), 0);
	struct waker w = {.loop = l};
	assert_int_equal(vz_loop_add_wake(l, on_wake, &w, &w.src, NULL), 0);
	pthread_t th;
	pthread_create(&th, NULL, wake_thread, &w);
	pthread_join(th, NULL);
	assert_int_equal(vz_loop_run(l), 7);
	assert_int_equal(w.calls, 1);
	assert_true(pthread_equal(w.on, pthread_self()));
	vz_loop_destroy(l);
}

static void test_bad_fd_is_an_error(void **state)
{
	(void)state;
	struct vz_loop *l;
	struct vz_err e = {0};
	assert_int_equal(vz_loop_create(&l, NULL), 0);
	struct counter c = {.loop = l};
	assert_int_equal(vz_loop_add_fd(l, 12345, EPOLLIN, on_fd, &c, NULL, &e), -EBADF);
	assert_non_null(strstr(e.msg, "cannot watch fd 12345"));
	vz_loop_destroy(l);
}

/* A dispatch from inside a callback is refused: it would free sources the
 * outer batch still walks. */
struct nested {
	struct vz_loop *l;
	int inner;
	bool dispatching;
};

static void nest(void *data, uint64_t exp)
{
	struct nested *n = data;
	(void)exp;
	n->dispatching = vz_loop_dispatching(n->l);
	n->inner = vz_loop_dispatch(n->l, 0);
	vz_loop_quit(n->l, 0);
}

static void test_nested_dispatch_refused(void **state)
{
	(void)state;
	struct nested n = {0};
	assert_int_equal(vz_loop_create(&n.l, NULL), 0);
	assert_int_equal(vz_loop_add_timer(n.l, 1000, 0, nest, &n, NULL, NULL), 0);
	assert_false(vz_loop_dispatching(n.l));
	assert_int_equal(vz_loop_run(n.l), 0);
	assert_true(n.dispatching);
	assert_int_equal(n.inner, -EDEADLK);
	vz_loop_destroy(n.l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_fd_dispatch_and_quit_status),
	        cmocka_unit_test(test_remove_inside_callback),
	        cmocka_unit_test(test_periodic_timer),
	        cmocka_unit_test(test_one_shot_rearmed),
	        cmocka_unit_test(test_wake_from_other_thread),
	        cmocka_unit_test(test_bad_fd_is_an_error),
	        cmocka_unit_test(test_nested_dispatch_refused),
	};
	return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
