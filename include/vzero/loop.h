/* SPDX-License-Identifier: MIT */
/*
 * The event loop: one epoll instance that owns the capture fd, every sink's
 * fds and timers, and an eventfd through which other threads (GStreamer's
 * streaming threads, mostly) hand work back.  Everything a loop callback
 * touches is single-threaded; vz_loop_wake() is the only call that is safe
 * from another thread.
 */
#ifndef VZERO_LOOP_H
#define VZERO_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "errors.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vz_loop;
struct vz_loop_source;

typedef void (*vz_loop_fd_fn)(void *data, int fd, uint32_t events);
typedef void (*vz_loop_timer_fn)(void *data, uint64_t expirations);
typedef void (*vz_loop_wake_fn)(void *data);

int vz_loop_create(struct vz_loop **out, struct vz_err *err);
void vz_loop_destroy(struct vz_loop *l); /* NULL is fine; frees sources */

/* @events: EPOLLIN | EPOLLPRI | ... (EPOLLERR/EPOLLHUP always reported). */
int vz_loop_add_fd(struct vz_loop *l, int fd, uint32_t events, vz_loop_fd_fn fn, void *data,
                   struct vz_loop_source **out, struct vz_err *err);
int vz_loop_mod_fd(struct vz_loop *l, struct vz_loop_source *s, uint32_t events);

/* Periodic timer (interval_ns > 0) or one-shot (interval_ns == 0), first
 * firing first_ns from now (a delay, not a CLOCK_MONOTONIC time). */
int vz_loop_add_timer(struct vz_loop *l, int64_t first_ns, int64_t interval_ns, vz_loop_timer_fn fn,
                      void *data, struct vz_loop_source **out, struct vz_err *err);

/* Re-arms a timer of vz_loop_add_timer(), from now; safe inside its own
 * callback.  A one-shot pushed ahead this way costs one wake-up per
 * deadline, where a periodic check would wake the loop all along. */
int vz_loop_set_timer(struct vz_loop_source *s, int64_t first_ns, int64_t interval_ns);

/* Removes and frees a source; safe from inside its own callback. */
void vz_loop_remove(struct vz_loop *l, struct vz_loop_source *s);

/* A wake-up target: vz_loop_wake() from any thread makes the loop call
 * @fn(data) on the loop thread (coalesced: several wakes, one call). */
int vz_loop_add_wake(struct vz_loop *l, vz_loop_wake_fn fn, void *data, struct vz_loop_source **out,
                     struct vz_err *err);
void vz_loop_wake(struct vz_loop_source *s); /* thread-safe */

/* Runs until vz_loop_quit(); returns the status given to it. */
int vz_loop_run(struct vz_loop *l);
/* One round: waits up to @timeout_ms (-1 forever) and dispatches.  Not
 * from inside a callback (-EDEADLK): a nested round would free sources the
 * outer one is still walking. */
int vz_loop_dispatch(struct vz_loop *l, int timeout_ms);
/* True while a callback runs. */
bool vz_loop_dispatching(const struct vz_loop *l);
void vz_loop_quit(struct vz_loop *l, int status);
int vz_loop_quitting(const struct vz_loop *l);

#ifdef __cplusplus
}
#endif
#endif
