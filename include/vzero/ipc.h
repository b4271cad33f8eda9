/* SPDX-License-Identifier: MIT */
/*
 * vzero's local protocol, and its client library: one camera shared with
 * many processes by read-only DMA-buf fds, without a copy and without
 * trusting the clients.
 *
 * The server is `vzero run ... --sink ipc:PATH` (sink-ipc.h); clients are
 * this library, `vzero probe ipc:PATH` and the GStreamer element vzerosrc.
 *
 * Transport.  A Unix SOCK_SEQPACKET socket: one message per packet, never
 * split, never merged; a packet that is not exactly one message is an
 * error.  Both ends are on one machine, so fields are in host byte order.
 * Every message starts with struct vz_ipc_hdr: magic, version, type and
 * its own size, which must equal the packet's.
 *
 * Conversation (S: server, C: client):
 *   S HELLO     once, on connect: the protocol version, the server's pid,
 *               this client's budget (frames it may hold at once).
 *   S SET       a buffer set: its generation, format (layout per colour
 *               plane, strides, sizes, rate, colorimetry) and buffer count;
 *   S BUFFER    then one per buffer: its index and memory planes, each
 *               plane's read-only DMA-buf fd attached (SCM_RIGHTS, one fd
 *               per memory plane, in order).  Sent again for every new set
 *               (renegotiation, reconnect): the client stays connected and
 *               frames of the new generation follow.
 *   S FRAME     per frame: its id, generation, buffer index, the driver's
 *               sequence number, timestamps (driver, DQBUF, sent, all
 *               CLOCK_MONOTONIC ns), frames the driver skipped before it,
 *               bytes used per plane, and the frames this client lost to
 *               its budget so far.
 *   C RELEASE   the client lets go of frame id N (any order).  Until then
 *               the buffer is not written: the server never requeues a
 *               buffer any client holds.
 *   S END       the stream ended (the run stops): a status and a reason.
 *               The client's fds stay valid until it closes them.
 * A client at its budget gets no FRAME until it releases one (the server
 * counts what it missed and says so in the next FRAME).  Whatever a client
 * holds when it disconnects or dies is released.  A malformed message, a
 * wrong size, a release of a frame it does not hold, or a message a client
 * never sends disconnects that client, and only it.
 *
 * Security.  fds are the buffers' read-only exports: a PROT_WRITE mapping
 * fails with EACCES in the client.  The socket's mode, and the uids/gids
 * the server allows (SO_PEERCRED), decide who may connect.
 *
 * Versioning.  VZ_IPC_VERSION changes when a message changes; a client
 * refuses a server of another version (and says so), messages are never
 * reinterpreted.
 */
#ifndef VZERO_IPC_H
#define VZERO_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "format.h"
#include "frame.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VZ_IPC_MAGIC   0x5a56u /* "VZ" */
#define VZ_IPC_VERSION 1u

enum vz_ipc_type {
	VZ_IPC_HELLO = 1,
	VZ_IPC_SET = 2,
	VZ_IPC_BUFFER = 3,
	VZ_IPC_FRAME = 4,
	VZ_IPC_END = 5,
	VZ_IPC_RELEASE = 16,
};

struct vz_ipc_hdr {
	uint16_t magic;
	uint16_t version;
	uint16_t type;
	uint16_t size; /* of the whole message, this header included */
};

struct vz_ipc_hello {
	struct vz_ipc_hdr hdr;
	uint32_t server_pid;
	uint32_t budget; /* frames this client may hold at once */
	char name[64];   /* the device, for people: "/dev/video0 (vivid)" */
};

struct vz_ipc_set {
	struct vz_ipc_hdr hdr;
	uint32_t generation;
	uint32_t count; /* buffers, 1..VZ_MAX_BUFFERS; BUFFER messages follow */
	uint32_t fourcc, width, height;
	uint32_t num_mem, num_planes;
	struct {
		uint32_t mem, offset, stride, height;
	} plane[VZ_MAX_PLANES];
	uint32_t mem_size[VZ_MAX_PLANES];
	uint32_t fps_num, fps_den;
	uint32_t colorspace, ycbcr_enc, quantization, xfer_func, field;
	uint32_t reserved;
	uint64_t modifier;
};

struct vz_ipc_buffer {
	struct vz_ipc_hdr hdr;
	uint32_t generation;
	uint32_t index;
	uint32_t num_mem; /* fds attached, one per memory plane */
	uint32_t reserved;
	uint64_t length[VZ_MAX_PLANES];
};

#define VZ_IPC_FRAME_DISCONT 0x1u /* a hole in time before it */
#define VZ_IPC_FRAME_TS_MONO 0x2u /* t_driver is CLOCK_MONOTONIC */
#define VZ_IPC_FRAME_TS_JUMP 0x4u /* the driver clock jumped before it */

struct vz_ipc_frame_msg {
	struct vz_ipc_hdr hdr;
	uint64_t id; /* the server's frame id (increasing) */
	uint32_t generation;
	uint32_t index;
	uint32_t sequence;
	uint32_t gap; /* frames the driver skipped just before this one */
	uint32_t flags;
	uint32_t session;
	int64_t t_driver_ns, t_dqbuf_ns, t_sent_ns;
	uint32_t bytesused[VZ_MAX_PLANES];
	uint32_t data_offset[VZ_MAX_PLANES];
	uint64_t client_drops; /* frames this client lost to its budget so far */
};

struct vz_ipc_end {
	struct vz_ipc_hdr hdr;
	int32_t status; /* 0, or a negative errno */
	uint32_t reserved;
	char reason[128];
};

struct vz_ipc_release {
	struct vz_ipc_hdr hdr;
	uint64_t id;
};

/* The largest message, for receive buffers. */
#define VZ_IPC_MAX_MSG 256

union vz_ipc_msg {
	struct vz_ipc_hdr hdr;
	struct vz_ipc_hello hello;
	struct vz_ipc_set set;
	struct vz_ipc_buffer buffer;
	struct vz_ipc_frame_msg frame;
	struct vz_ipc_end end;
	struct vz_ipc_release release;
};

/* Fills a header for a message of @type (its size from the type). */
void vz_ipc_hdr_init(struct vz_ipc_hdr *h, enum vz_ipc_type type);

/*
 * Checks one received packet of @len bytes that came with @nfds fds and
 * copies it into *out.  Returns the type, or -EPROTO (wrong magic, size,
 * type, fd count or a field out of range: the peer is broken or hostile),
 * or -EPROTONOSUPPORT (a well-formed header of another version).  Message
 * types are accepted only from the side that sends them: @from_server says
 * which side the packet came from.  Nothing it does depends on trusting
 * the bytes.
 */
int vz_ipc_decode(const void *pkt, size_t len, unsigned nfds, bool from_server,
                  union vz_ipc_msg *out);

/* vz_format from a SET message (checked by vz_ipc_decode) and back. */
void vz_ipc_set_to_format(const struct vz_ipc_set *m, struct vz_format *f);
void vz_ipc_set_from_format(struct vz_ipc_set *m, const struct vz_format *f, uint32_t generation,
                            unsigned count, uint64_t modifier);

/* --------------------------------------------------------------------
 * The client library.
 *
 *   struct vz_ipc_client *c;
 *   if (vz_ipc_connect(&c, "/run/cam.sock", &err) < 0) ... err.msg
 *   for (;;) {
 *           struct vz_ipc_frame *f;
 *           int r = vz_ipc_next(c, &f, -1, &err);
 *           if (r <= 0) break;              // 0 timeout, < 0 end/error
 *           vz_ipc_frame_begin(f);          // DMA_BUF_IOCTL_SYNC (read)
 *           use(f->map[0], f->fmt->plane[0].stride, ...);
 *           vz_ipc_frame_end(f);
 *           vz_ipc_release(c, f);           // any thread, exactly once
 *   }
 *   vz_ipc_close(c);
 *
 * Frames are read-only: their mappings are PROT_READ, their fds the
 * server's read-only exports.  A frame stays valid until released, across
 * buffer-set changes (a frame of an old set keeps that set mapped).
 * vz_ipc_next() and vz_ipc_close() belong to one thread; vz_ipc_release()
 * may come from any thread (a GStreamer buffer's finalizer).
 * ------------------------------------------------------------------ */

struct vz_ipc_client;

struct vz_ipc_frame {
	uint64_t id;
	uint32_t generation;
	struct vz_frame_info info;         /* sequence, gap, timestamps, bytesused */
	int64_t t_sent_ns;                 /* when the server sent it */
	int64_t t_received_ns;             /* CLOCK_MONOTONIC when it arrived here */
	uint64_t client_drops;             /* frames this client lost to its budget */
	const struct vz_format *fmt;       /* of its set, valid while held */
	unsigned num_mem;                  /* memory planes */
	int fd[VZ_MAX_PLANES];             /* read-only DMA-bufs, owned by the library */
	size_t length[VZ_MAX_PLANES];      /* bytes of each memory plane */
	const uint8_t *map[VZ_MAX_PLANES]; /* PROT_READ mappings */
	uint64_t modifier;
};

/* Connects and waits (up to 5 s) for the server's HELLO and first buffer
 * set.  -ENOENT/-ECONNREFUSED: no server at @path (the message says how to
 * start one); -EACCES: not allowed; -EPROTONOSUPPORT: another version. */
int vz_ipc_connect(struct vz_ipc_client **out, const char *path, struct vz_err *err);

/* The next frame: 1 and *out, 0 on timeout (@timeout_ms, -1: none), or
 * -ESHUTDOWN when the server ended the stream (err says why), another
 * negative errno when the connection broke. */
int vz_ipc_next(struct vz_ipc_client *c, struct vz_ipc_frame **out, int timeout_ms,
                struct vz_err *err);

/* Gives the frame back; exactly once per frame, from any thread. */
void vz_ipc_release(struct vz_ipc_client *c, struct vz_ipc_frame *f);

/* The CPU-access bracket (DMA_BUF_IOCTL_SYNC, read) around reading pixels. */
int vz_ipc_frame_begin(const struct vz_ipc_frame *f);
int vz_ipc_frame_end(const struct vz_ipc_frame *f);

/* A colour-plane view of the frame's pixels (frame.h), read-only in fact:
 * its pointers are into PROT_READ mappings. */
int vz_ipc_frame_map(const struct vz_ipc_frame *f, struct vz_frame_map *m);

/* The socket, for poll(): readable when vz_ipc_next() has something. */
int vz_ipc_client_fd(const struct vz_ipc_client *c);

/* What the server said in HELLO. */
unsigned vz_ipc_client_budget(const struct vz_ipc_client *c);
const char *vz_ipc_client_name(const struct vz_ipc_client *c);
/* Frames received so far. */
uint64_t vz_ipc_client_frames(const struct vz_ipc_client *c);

/* Closes the connection (the server then takes back every frame this
 * client held).  Frames still held stay readable -- their fds and
 * mappings are this process's -- and are given back with vz_ipc_release()
 * as usual: the client's memory goes with the last of them.  NULL is
 * fine. */
void vz_ipc_close(struct vz_ipc_client *c);

#ifdef __cplusplus
}
#endif
#endif
