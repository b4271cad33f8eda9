/* SPDX-License-Identifier: MIT */
/*
 * The local sink's spec, "ipc:PATH[?mode=0660&allow=uid:N,gid:N&budget=N&
 * rw=allow]", parsed apart from the server that acts on it: the parser
 * takes outside input (a command line, a config) and is fuzzed on its own
 * (tests/fuzz/fuzz_ipc_opts.c), where creating the sink would bind a
 * socket.
 */
#ifndef VZERO_SINK_IPC_INTERNAL_H
#define VZERO_SINK_IPC_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/un.h>

#include "errors.h"

#define VZ_IPC_MAX_ALLOW  16
#define VZ_IPC_MAX_BUDGET 16

struct vz_ipc_sink_spec {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	mode_t mode;     /* of the socket file; default 0660 */
	unsigned budget; /* frames each client may hold; 1..VZ_IPC_MAX_BUDGET, default 2 */
	bool rw_allowed; /* rw=allow: clients may ask for writable fds */
	unsigned nallow_uid, nallow_gid;
	uid_t allow_uid[VZ_IPC_MAX_ALLOW];
	gid_t allow_gid[VZ_IPC_MAX_ALLOW];
};

/* @spec is what follows "ipc:".  0, or -EINVAL with a message that says
 * what a right value looks like (-ENOMEM). */
int vz_ipc_sink_parse_spec(const char *spec, struct vz_ipc_sink_spec *out, struct vz_err *err);

#endif
