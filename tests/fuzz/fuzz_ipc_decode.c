/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: vz_ipc_decode(), the one check every packet of the
 * local protocol passes, in both directions.
 *
 * Input: byte 0 picks the direction (bit 0: from the server) and the fd
 * count that came with the packet ((byte >> 1) % (VZ_MAX_PLANES + 2), so
 * one more than a BUFFER may carry); the rest is the packet.  An accepted
 * message must hold everything ipc.h and the decoder promise, since the
 * client library and the server act on it without checking again; any
 * violation abort()s.
 *
 * VZ_FUZZ_WRITE_SEEDS=DIR writes one valid message of each type (with the
 * byte that makes it acceptable) into DIR and exits: the fuzzer starts
 * past the header checks instead of guessing magic, version and sizes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/videodev2.h>

#include "frame.h"
#include "ipc.h"

#define FUZZ_TARGET "fuzz_ipc_decode"
#include "fuzz-check.h"

/* A memory plane's largest length (a mapping's, on 64 bits). */
#define MAX_PLANE_LEN (1ull << 32)

static size_t size_of(int type)
{
	switch (type) {
	case VZ_IPC_HELLO:
		return sizeof(struct vz_ipc_hello);
	case VZ_IPC_SET:
		return sizeof(struct vz_ipc_set);
	case VZ_IPC_BUFFER:
		return sizeof(struct vz_ipc_buffer);
	case VZ_IPC_FRAME:
		return sizeof(struct vz_ipc_frame_msg);
	case VZ_IPC_END:
		return sizeof(struct vz_ipc_end);
	case VZ_IPC_RELEASE:
		return sizeof(struct vz_ipc_release);
	}
	return 0;
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/* What vz_format_layout() would have made of fourcc, width and height:
 * code that reads `width` pixels per line of a plane (stamp, processors,
 * GStreamer caps) trusts stride and height to cover them. */
static bool fmt_matches_desc(const struct vz_format *f)
{
	const struct vz_format_desc *d = vz_format_desc_find(f->fourcc);
	if (!d || f->num_planes != d->num_planes ||
	    f->num_mem != (d->multiplanar_mem ? d->num_planes : 1))
		return false;
	for (unsigned p = 0; p < f->num_planes; p++) {
		uint64_t line =
		        div_up(f->width, d->plane[p].group_width) * d->plane[p].bytes_per_group;
		if (f->plane[p].stride < line ||
		    f->plane[p].height < div_up(f->height, d->plane[p].vsub))
			return false;
	}
	return true;
}

static void check_set(const struct vz_ipc_set *m)
{
	CHECK(m->count >= 1 && m->count <= VZ_MAX_BUFFERS);
	CHECK(m->num_mem >= 1 && m->num_mem <= VZ_MAX_PLANES);
	CHECK(m->num_planes >= 1 && m->num_planes <= VZ_MAX_PLANES);
	CHECK(m->width >= 1 && m->height >= 1);
	for (unsigned p = 0; p < m->num_planes; p++) {
		CHECK(m->plane[p].mem < m->num_mem);
		CHECK(m->plane[p].stride > 0 && m->plane[p].height > 0);
		uint64_t end = (uint64_t)m->plane[p].offset +
		               (uint64_t)m->plane[p].stride * m->plane[p].height;
		CHECK(end <= m->mem_size[m->plane[p].mem]);
	}

	struct vz_format f;
	vz_ipc_set_to_format(m, &f);
	CHECK(f.fourcc == m->fourcc && f.width == m->width && f.height == m->height);
	CHECK(f.num_mem == m->num_mem && f.num_planes == m->num_planes);
	for (unsigned p = 0; p < VZ_MAX_PLANES; p++) {
		CHECK(f.plane[p].mem == m->plane[p].mem && f.plane[p].offset == m->plane[p].offset);
		CHECK(f.plane[p].stride == m->plane[p].stride);
		CHECK(f.plane[p].height == m->plane[p].height);
		CHECK(f.mem_size[p] == m->mem_size[p]);
	}
	/* The check every CPU view of a frame passes (vz_ipc_frame_map): with
	 * memory planes exactly as large as the set says, the layout fits. */
	static uint8_t dummy;
	struct vz_buffer b = {.num_mem = f.num_mem};
	for (unsigned p = 0; p < f.num_mem; p++) {
		b.mem[p].fd_rw = b.mem[p].fd_ro = -1;
		b.mem[p].map = &dummy;
		b.mem[p].length = f.mem_size[p];
	}
	struct vz_frame_map map;
	CHECK(vz_frame_map_init(&map, &f, &b, NULL) == 0);
	(void)vz_format_interval_ns(&f);
	(void)vz_format_frame_bytes(&f);
	CHECK(fmt_matches_desc(&f));

	/* What the server sends is this round trip: it must decode to the same
	 * message (reserved aside, which the encoder zeroes). */
	struct vz_ipc_set back;
	vz_ipc_set_from_format(&back, &f, m->generation, m->count, m->modifier);
	union vz_ipc_msg again;
	CHECK(vz_ipc_decode(&back, sizeof(back), 0, true, &again) == VZ_IPC_SET);
	struct vz_ipc_set want = *m;
	want.reserved = 0;
	CHECK(memcmp(&again.set, &want, sizeof(want)) == 0);
}

static void check_accepted(int type, const uint8_t *pkt, size_t len, unsigned nfds,
                           bool from_server, const union vz_ipc_msg *out)
{
	CHECK(type == out->hdr.type);
	CHECK(out->hdr.magic == VZ_IPC_MAGIC && out->hdr.version == VZ_IPC_VERSION);
	CHECK(size_of(type) != 0 && out->hdr.size == len && len == size_of(type));
	CHECK(len <= VZ_IPC_MAX_MSG);
	/* A copy of the packet, zeroes after it. */
	CHECK(memcmp(out, pkt, len) == 0);
	for (size_t i = len; i < sizeof(*out); i++)
		CHECK(((const uint8_t *)out)[i] == 0);
	CHECK(from_server == (type != VZ_IPC_RELEASE));
	CHECK(nfds == (type == VZ_IPC_BUFFER ? out->buffer.num_mem : 0));

	switch (type) {
	case VZ_IPC_HELLO:
		CHECK(out->hello.budget >= 1 && out->hello.budget <= VZ_MAX_BUFFERS);
		CHECK(memchr(out->hello.name, '\0', sizeof(out->hello.name)));
		break;
	case VZ_IPC_SET:
		check_set(&out->set);
		break;
	case VZ_IPC_BUFFER:
		CHECK(out->buffer.num_mem >= 1 && out->buffer.num_mem <= VZ_MAX_PLANES);
		CHECK(out->buffer.index < VZ_MAX_BUFFERS);
		for (unsigned p = 0; p < out->buffer.num_mem; p++)
			CHECK(out->buffer.length[p] >= 1 && out->buffer.length[p] <= MAX_PLANE_LEN);
		break;
	case VZ_IPC_FRAME:
		CHECK(out->frame.index < VZ_MAX_BUFFERS);
		break;
	case VZ_IPC_END:
		CHECK(out->end.status <= 0);
		CHECK(memchr(out->end.reason, '\0', sizeof(out->end.reason)));
		break;
	case VZ_IPC_RELEASE:
		break;
	default:
		CHECK(!"a type ipc.h does not define");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool from_server = data[0] & 1;
	unsigned nfds = (data[0] >> 1) % (VZ_MAX_PLANES + 2);
	size_t len = size - 1;
	/* An exact-size heap copy, so ASan sees any read past the packet. */
	uint8_t *pkt = malloc(len ? len : 1);
	if (!pkt)
		return 0;
	memcpy(pkt, data + 1, len);

	union vz_ipc_msg out;
	memset(&out, 0xa5, sizeof(out));
	int type = vz_ipc_decode(pkt, len, nfds, from_server, &out);
	if (type >= 0) {
		check_accepted(type, pkt, len, nfds, from_server, &out);
	} else {
		CHECK(type == -EPROTO || type == -EPROTONOSUPPORT);
		struct vz_ipc_hdr h;
		if (type == -EPROTONOSUPPORT) {
			/* Only a well-formed header of another version. */
			CHECK(len >= sizeof(h));
			memcpy(&h, pkt, sizeof(h));
			CHECK(h.magic == VZ_IPC_MAGIC && h.version != VZ_IPC_VERSION);
		}
	}
	/* Nothing depends on anything but the bytes. */
	union vz_ipc_msg out2;
	CHECK(vz_ipc_decode(pkt, len, nfds, from_server, &out2) == type);
	if (type >= 0)
		CHECK(memcmp(&out, &out2, sizeof(out)) == 0);
	free(pkt);
	return 0;
}

/* -------------------------------------------------------------------- */

static void write_seed(const char *dir, const char *name, uint8_t first, const void *msg,
                       size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(&first, 1, 1, f) != 1 || fwrite(msg, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "fuzz_ipc_decode: writing %s failed\n", path);
		exit(1);
	}
}

/* The byte 0 that says "from the server with @nfds fds" (or from a client). */
static uint8_t first_byte(bool from_server, unsigned nfds)
{
	return (uint8_t)((nfds << 1) | (from_server ? 1u : 0u));
}

static void write_seeds(const char *dir)
{
	struct vz_ipc_hello hello;
	memset(&hello, 0, sizeof(hello));
	vz_ipc_hdr_init(&hello.hdr, VZ_IPC_HELLO);
	hello.server_pid = 1234;
	hello.budget = 4;
	snprintf(hello.name, sizeof(hello.name), "/dev/video0 (vivid)");
	write_seed(dir, "hello", first_byte(true, 0), &hello, sizeof(hello));

	/* NV12 in one memory plane, and NM12 in two: both plane mappings. */
	struct vz_format f = {.fourcc = V4L2_PIX_FMT_NV12, .width = 64, .height = 48};
	f.fps_num = 30;
	f.fps_den = 1;
	if (vz_format_layout(&f, NULL) < 0)
		exit(1);
	struct vz_ipc_set set;
	vz_ipc_set_from_format(&set, &f, 1, 4, 0);
	write_seed(dir, "set-nv12", first_byte(true, 0), &set, sizeof(set));
	struct vz_format fm = {.fourcc = V4L2_PIX_FMT_NV12M, .width = 64, .height = 48};
	if (vz_format_layout(&fm, NULL) < 0)
		exit(1);
	vz_ipc_set_from_format(&set, &fm, 2, 2, 0);
	write_seed(dir, "set-nm12", first_byte(true, 0), &set, sizeof(set));

	struct vz_ipc_buffer buf;
	memset(&buf, 0, sizeof(buf));
	vz_ipc_hdr_init(&buf.hdr, VZ_IPC_BUFFER);
	buf.generation = 1;
	buf.index = 0;
	buf.num_mem = 1;
	buf.length[0] = f.mem_size[0];
	write_seed(dir, "buffer-1", first_byte(true, 1), &buf, sizeof(buf));
	buf.num_mem = 2;
	buf.length[0] = fm.mem_size[0];
	buf.length[1] = fm.mem_size[1];
	write_seed(dir, "buffer-2", first_byte(true, 2), &buf, sizeof(buf));

	struct vz_ipc_frame_msg fr;
	memset(&fr, 0, sizeof(fr));
	vz_ipc_hdr_init(&fr.hdr, VZ_IPC_FRAME);
	fr.id = 7;
	fr.generation = 1;
	fr.index = 3;
	fr.sequence = 7;
	fr.flags = VZ_IPC_FRAME_TS_MONO;
	fr.t_driver_ns = 1000000000;
	fr.t_dqbuf_ns = 1000100000;
	fr.t_sent_ns = 1000200000;
	fr.bytesused[0] = f.mem_size[0];
	write_seed(dir, "frame", first_byte(true, 0), &fr, sizeof(fr));

	struct vz_ipc_end end;
	memset(&end, 0, sizeof(end));
	vz_ipc_hdr_init(&end.hdr, VZ_IPC_END);
	end.status = -ENODEV;
	snprintf(end.reason, sizeof(end.reason), "the device went away");
	write_seed(dir, "end", first_byte(true, 0), &end, sizeof(end));

	struct vz_ipc_release rel;
	memset(&rel, 0, sizeof(rel));
	vz_ipc_hdr_init(&rel.hdr, VZ_IPC_RELEASE);
	rel.id = 7;
	write_seed(dir, "release", first_byte(false, 0), &rel, sizeof(rel));
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
	return 0;
}
