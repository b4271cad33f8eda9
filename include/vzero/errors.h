/* SPDX-License-Identifier: MIT */
/*
 * vzero error reporting.
 *
 * Every fallible vzero call returns a negative errno and, when given a
 * struct vz_err, writes one line a person can act on: what failed, on which
 * object, and what to do about it.  There is no global "last error": the
 * caller owns the struct, so threads never race on it.
 */
#ifndef VZERO_ERRORS_H
#define VZERO_ERRORS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VZ_ERR_MSG_MAX 512

struct vz_err {
	int code;                 /* negative errno, 0 when nothing failed */
	char msg[VZ_ERR_MSG_MAX]; /* one line, no trailing newline */
};

/* Clears @e (NULL is fine). */
void vz_err_clear(struct vz_err *e);

/*
 * Records @code (a negative errno) and a printf-style message in @e, which
 * may be NULL.  Returns @code so callers can write `return vz_err_set(...)`.
 * If @e already holds a message, it is kept: the innermost, most specific
 * cause wins, outer layers use vz_err_prefix() to add context.
 */
int vz_err_set(struct vz_err *e, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Prepends "context: " to an existing message.  Returns e->code. */
int vz_err_prefix(struct vz_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends to a message under construction in @buf (NUL-terminated),
 * truncating: a message stays one bounded line. */
void vz_msg_append(char *buf, size_t len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif
