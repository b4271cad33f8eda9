/* SPDX-License-Identifier: MIT */
/* The event loop; the story is in loop.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "loop.h"

enum source_kind { SRC_FD, SRC_TIMER, SRC_WAKE };

struct vz_loop_source {
	struct vz_loop *loop;
	enum source_kind kind;
	int fd;    /* the watched fd; owned by us for timers and wakes */
	bool dead; /* removed while its batch was being dispatched */
	union {
		vz_loop_fd_fn fd_fn;
		vz_loop_timer_fn timer_fn;
		vz_loop_wake_fn wake_fn;
	};
	void *data;
	struct vz_loop_source *next; /* all sources, for destroy */
};

struct vz_loop {
	int epfd;
	bool quit;
	int status;
	bool dispatching;
	struct vz_loop_source *sources;
	struct vz_loop_source *graveyard; /* freed after the batch */
};

int vz_loop_create(struct vz_loop **out, struct vz_err *err)
{
	*out = NULL;
	struct vz_loop *l = calloc(1, sizeof(*l));
	if (!l)
		return vz_err_set(err, -ENOMEM, "event loop: out of memory");
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int e = -errno;
		free(l);
		return vz_err_set(err, e, "event loop: epoll_create1: %s", strerror(-e));
	}
	*out = l;
	return 0;
}

static void source_free(struct vz_loop_source *s)
{
	if (s->kind != SRC_FD && s->fd >= 0)
		close(s->fd);
	free(s);
}

void vz_loop_destroy(struct vz_loop *l)
{
	if (!l)
		return;
	for (struct vz_loop_source *s = l->sources, *n; s; s = n) {
		n = s->next;
		source_free(s);
	}
	for (struct vz_loop_source *s = l->graveyard, *n; s; s = n) {
		n = s->next;
		source_free(s);
	}
	if (l->epfd >= 0)
		close(l->epfd);
	free(l);
}

/*
 * Registers a new source watching @fd (which it owns unless @kind is
 * SRC_FD).  On failure an owned fd is closed, so callers have one exit.
 */
static int add_source(struct vz_loop *l, enum source_kind kind, int fd, uint32_t events, void *data,
                      struct vz_loop_source **created, struct vz_loop_source **out,
                      struct vz_err *err)
{
	if (fd < 0) {
		int e = -errno;
		return vz_err_set(err, e, "event loop: cannot create a %s fd: %s",
		                  kind == SRC_TIMER ? "timer" : "wake-up", strerror(-e));
	}
	struct vz_loop_source *s = calloc(1, sizeof(*s));
	if (!s) {
		if (kind != SRC_FD)
			close(fd);
		return vz_err_set(err, -ENOMEM, "event loop: out of memory");
	}
	s->kind = kind;
	s->fd = fd;
	s->data = data;
	struct epoll_event ev = {.events = events, .data.ptr = s};
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = -errno;
		source_free(s);
		return vz_err_set(err, e, "event loop: cannot watch fd %d: %s", fd, strerror(-e));
	}
	s->loop = l;
	s->next = l->sources;
	l->sources = s;
	*created = s;
	if (out)
		*out = s;
	return 0;
}

int vz_loop_add_fd(struct vz_loop *l, int fd, uint32_t events, vz_loop_fd_fn fn, void *data,
                   struct vz_loop_source **out, struct vz_err *err)
{
	struct vz_loop_source *s;
	int r = add_source(l, SRC_FD, fd, events, data, &s, out, err);
	if (r == 0)
		s->fd_fn = fn;
	return r;
}

int vz_loop_mod_fd(struct vz_loop *l, struct vz_loop_source *s, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = s};
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0 ? -errno : 0;
}

static int arm(int fd, int64_t first_ns, int64_t interval_ns)
{
	/* A zero it_value would disarm the timer: fire "now" instead. */
	if (first_ns <= 0)
		first_ns = 1;
	struct itimerspec its = {
	        .it_value = {first_ns / 1000000000LL, first_ns % 1000000000LL},
	        .it_interval = {interval_ns / 1000000000LL, interval_ns % 1000000000LL},
	};
	return timerfd_settime(fd, 0, &its, NULL) < 0 ? -errno : 0;
}

int vz_loop_add_timer(struct vz_loop *l, int64_t first_ns, int64_t interval_ns, vz_loop_timer_fn fn,
                      void *data, struct vz_loop_source **out, struct vz_err *err)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd >= 0) {
		int e = arm(fd, first_ns, interval_ns);
		if (e < 0) {
			close(fd);
			return vz_err_set(err, e, "event loop: timerfd_settime: %s", strerror(-e));
		}
	}
	struct vz_loop_source *s;
	int r = add_source(l, SRC_TIMER, fd, EPOLLIN, data, &s, out, err);
	if (r == 0)
		s->timer_fn = fn;
	return r;
}

int vz_loop_set_timer(struct vz_loop_source *s, int64_t first_ns, int64_t interval_ns)
{
	if (!s || s->kind != SRC_TIMER)
		return -EINVAL;
	return arm(s->fd, first_ns, interval_ns);
}

int vz_loop_add_wake(struct vz_loop *l, vz_loop_wake_fn fn, void *data, struct vz_loop_source **out,
                     struct vz_err *err)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct vz_loop_source *s;
	int r = add_source(l, SRC_WAKE, fd, EPOLLIN, data, &s, out, err);
	if (r == 0)
		s->wake_fn = fn;
	return r;
}

void vz_loop_wake(struct vz_loop_source *s)
{
	uint64_t one = 1;
	/* EAGAIN means the counter is saturated: a wake is pending anyway. */
	while (write(s->fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

void vz_loop_remove(struct vz_loop *l, struct vz_loop_source *s)
{
	if (!s)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	for (struct vz_loop_source **pp = &l->sources; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	/* Events for it may still sit in the current batch: free it later. */
	s->dead = true;
	if (l->dispatching) {
		s->next = l->graveyard;
		l->graveyard = s;
	} else {
		source_free(s);
	}
}

static void dispatch_one(struct vz_loop_source *s, uint32_t events)
{
	uint64_t v = 0;
	switch (s->kind) {
	case SRC_FD:
		s->fd_fn(s->data, s->fd, events);
		break;
	case SRC_TIMER:
		if (read(s->fd, &v, sizeof(v)) == sizeof(v))
			s->timer_fn(s->data, v);
		break;
	case SRC_WAKE:
		if (read(s->fd, &v, sizeof(v)) == sizeof(v))
			s->wake_fn(s->data);
		break;
	}
}

int vz_loop_dispatch(struct vz_loop *l, int timeout_ms)
{
	struct epoll_event evs[16];
	/* A dispatch from inside a callback would free the graveyard the
	 * outer batch still walks. */
	if (l->dispatching)
		return -EDEADLK;
	int n = epoll_wait(l->epfd, evs, 16, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	l->dispatching = true;
	for (int i = 0; i < n; i++) {
		struct vz_loop_source *s = evs[i].data.ptr;
		if (!s->dead)
			dispatch_one(s, evs[i].events);
	}
	l->dispatching = false;
	for (struct vz_loop_source *s = l->graveyard, *nx; s; s = nx) {
		nx = s->next;
		source_free(s);
	}
	l->graveyard = NULL;
	return n;
}

int vz_loop_run(struct vz_loop *l)
{
	/* A quit requested before run() (e.g. a sink failing during start) is
	 * honoured, so run() is not restartable: one loop, one run. */
	while (!l->quit) {
		int r = vz_loop_dispatch(l, -1);
		if (r < 0)
			return r;
	}
	return l->status;
}

void vz_loop_quit(struct vz_loop *l, int status)
{
	/* The first reason to stop is the one worth reporting. */
	if (!l->quit)
		l->status = status;
	l->quit = true;
}

bool vz_loop_dispatching(const struct vz_loop *l)
{
	return l->dispatching;
}

int vz_loop_quitting(const struct vz_loop *l)
{
	return l->quit;
}
