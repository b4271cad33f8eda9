/* SPDX-License-Identifier: MIT */
/*
 * The local sink: `--sink ipc:PATH[?OPTION=VALUE&...]` shares the camera
 * with other processes on this machine, by read-only DMA-buf fds over a
 * Unix SOCK_SEQPACKET socket (the protocol and its client library:
 * ipc.h).  Nothing is copied; no client is trusted.
 *
 *   mode=0660    the socket file's permissions (octal; default 0660):
 *                who may connect at all
 *   allow=LIST   uid:N and gid:N entries, comma-separated: only peers
 *                whose uid, primary or supplementary gid (SO_PEERCRED,
 *                SO_PEERGROUPS) is listed are served; the others get an END
 *                that says why, and are counted.  Default: anyone the mode
 *                lets in
 *   budget=N     frames each client may hold at once (default 2, at most
 *                16).  A client at its budget gets no frame until it
 *                releases one; the frames it missed are counted, per client
 *                and in total, and told to it in its next FRAME
 *   rw=allow     hand out read-write fds where the source has no
 *                read-only ones (the default refuses to start, saying
 *                why: a client could write into the camera's buffers)
 *
 * Clients never stall capture: the pipeline keeps its minimum of buffers in
 * the driver whatever the clients hold (a frame that would take the last
 * ones is dropped for every sink), and a buffer goes back only when every
 * client it was sent to released it, or disconnected.  A client that sends
 * a malformed, oversized or unexpected message, or a release of a frame it
 * does not hold, is disconnected -- it alone -- and what it held returns.
 * A buffer-set change (renegotiation, reconnect) sends the new set's fds to
 * every client, which stays connected.  At the end every client gets END;
 * the socket file is removed.
 *
 * A stale socket file (a server that died) is replaced; a live one (another
 * server) or a file that is not a socket is refused.  Policy: live.
 * Counters in the report: clients, refused, bad_clients (disconnected for
 * their messages), client_drops (frames clients missed at their budgets),
 * held_at_exit (frames returned because a client went away holding them).
 */
#ifndef VZERO_SINK_IPC_H
#define VZERO_SINK_IPC_H

#include "errors.h"
#include "sink.h"

#ifdef __cplusplus
extern "C" {
#endif

/* @spec: "PATH[?OPTION=VALUE&...]" (after "ipc:").  Binds the socket now, so
 * a path in use or a bad option is said before capture starts. */
int vz_sink_ipc_create(const char *spec, struct vz_sink *out, struct vz_err *err);

#ifdef __cplusplus
}
#endif
#endif
