/* SPDX-License-Identifier: MIT */
/* The local protocol's messages; see include/vzero/ipc.h. */
#include <errno.h>
#include <string.h>

#include "buffer.h"
#include "ipc.h"

_Static_assert(sizeof(union vz_ipc_msg) <= VZ_IPC_MAX_MSG, "VZ_IPC_MAX_MSG too small");
_Static_assert(sizeof(struct vz_ipc_hdr) == 8, "header layout");

static size_t type_size(unsigned type)
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

void vz_ipc_hdr_init(struct vz_ipc_hdr *h, enum vz_ipc_type type)
{
	h->magic = VZ_IPC_MAGIC;
	h->version = VZ_IPC_VERSION;
	h->type = (uint16_t)type;
	h->size = (uint16_t)type_size(type);
}

static bool has_nul(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

static bool set_ok(const struct vz_ipc_set *m)
{
	if (m->count == 0 || m->count > VZ_MAX_BUFFERS || m->num_mem == 0 ||
	    m->num_mem > VZ_MAX_PLANES || m->num_planes == 0 || m->num_planes > VZ_MAX_PLANES ||
	    m->width == 0 || m->height == 0 || m->width > 65536 || m->height > 65536)
		return false;
	for (unsigned i = 0; i < m->num_planes; i++) {
		uint64_t end = (uint64_t)m->plane[i].offset +
		               (uint64_t)m->plane[i].stride * m->plane[i].height;
		if (m->plane[i].mem >= m->num_mem || m->plane[i].stride == 0 ||
		    m->plane[i].height == 0 || end > m->mem_size[m->plane[i].mem])
			return false;
	}
	/* The layout must be one the fourcc can have: a client that reads by
	 * fourcc and width (a converter, a GStreamer element) must not read
	 * past a plane whose stride or height the server got wrong. */
	struct vz_format f, want;
	vz_ipc_set_to_format(m, &f);
	want = f;
	uint32_t mem_stride[VZ_MAX_PLANES] = {0};
	for (unsigned i = m->num_planes; i-- > 0;)
		mem_stride[m->plane[i].mem] = m->plane[i].stride;
	if (vz_format_layout(&want, mem_stride) < 0 || want.num_planes != f.num_planes ||
	    want.num_mem != f.num_mem)
		return false;
	for (unsigned i = 0; i < f.num_planes; i++)
		if (want.plane[i].mem != f.plane[i].mem ||
		    f.plane[i].stride < want.plane[i].stride ||
		    f.plane[i].height < want.plane[i].height)
			return false;
	return true;
}

int vz_ipc_decode(const void *pkt, size_t len, unsigned nfds, bool from_server,
                  union vz_ipc_msg *out)
{
	struct vz_ipc_hdr h;
	if (!pkt || len < sizeof(h))
		return -EPROTO;
	memcpy(&h, pkt, sizeof(h));
	if (h.magic != VZ_IPC_MAGIC)
		return -EPROTO;
	if (h.version != VZ_IPC_VERSION)
		return -EPROTONOSUPPORT;
	size_t want = type_size(h.type);
	if (want == 0 || h.size != want || len != want)
		return -EPROTO;
	bool server_type = h.type != VZ_IPC_RELEASE;
	if (server_type != from_server)
		return -EPROTO;
	memset(out, 0, sizeof(*out));
	memcpy(out, pkt, want);
	/* Only a BUFFER carries fds, exactly one per memory plane. */
	unsigned fds_expected = h.type == VZ_IPC_BUFFER ? out->buffer.num_mem : 0;
	if (nfds != fds_expected)
		return -EPROTO;
	switch (h.type) {
	case VZ_IPC_HELLO:
		if (!has_nul(out->hello.name, sizeof(out->hello.name)) || out->hello.budget == 0 ||
		    out->hello.budget > VZ_MAX_BUFFERS)
			return -EPROTO;
		break;
	case VZ_IPC_SET:
		if (!set_ok(&out->set))
			return -EPROTO;
		break;
	case VZ_IPC_BUFFER:
		if (out->buffer.num_mem == 0 || out->buffer.num_mem > VZ_MAX_PLANES ||
		    out->buffer.index >= VZ_MAX_BUFFERS)
			return -EPROTO;
		for (unsigned i = 0; i < out->buffer.num_mem; i++)
			if (out->buffer.length[i] == 0 || out->buffer.length[i] > (1ull << 32))
				return -EPROTO;
		break;
	case VZ_IPC_FRAME:
		if (out->frame.index >= VZ_MAX_BUFFERS)
			return -EPROTO;
		break;
	case VZ_IPC_END:
		if (!has_nul(out->end.reason, sizeof(out->end.reason)) || out->end.status > 0)
			return -EPROTO;
		break;
	}
	return h.type;
}

void vz_ipc_set_to_format(const struct vz_ipc_set *m, struct vz_format *f)
{
	memset(f, 0, sizeof(*f));
	f->fourcc = m->fourcc;
	f->width = m->width;
	f->height = m->height;
	f->num_mem = m->num_mem;
	f->num_planes = m->num_planes;
	for (unsigned i = 0; i < VZ_MAX_PLANES; i++) {
		f->plane[i].mem = m->plane[i].mem;
		f->plane[i].offset = m->plane[i].offset;
		f->plane[i].stride = m->plane[i].stride;
		f->plane[i].height = m->plane[i].height;
		f->mem_size[i] = m->mem_size[i];
	}
	f->fps_num = m->fps_num;
	f->fps_den = m->fps_den;
	f->colorspace = m->colorspace;
	f->ycbcr_enc = m->ycbcr_enc;
	f->quantization = m->quantization;
	f->xfer_func = m->xfer_func;
	f->field = m->field;
}

void vz_ipc_set_from_format(struct vz_ipc_set *m, const struct vz_format *f, uint32_t generation,
                            unsigned count, uint64_t modifier)
{
	memset(m, 0, sizeof(*m));
	vz_ipc_hdr_init(&m->hdr, VZ_IPC_SET);
	m->generation = generation;
	m->count = count;
	m->fourcc = f->fourcc;
	m->width = f->width;
	m->height = f->height;
	m->num_mem = f->num_mem;
	m->num_planes = f->num_planes;
	for (unsigned i = 0; i < VZ_MAX_PLANES; i++) {
		m->plane[i].mem = f->plane[i].mem;
		m->plane[i].offset = f->plane[i].offset;
		m->plane[i].stride = f->plane[i].stride;
		m->plane[i].height = f->plane[i].height;
		m->mem_size[i] = f->mem_size[i];
	}
	m->fps_num = f->fps_num;
	m->fps_den = f->fps_den;
	m->colorspace = f->colorspace;
	m->ycbcr_enc = f->ycbcr_enc;
	m->quantization = f->quantization;
	m->xfer_func = f->xfer_func;
	m->field = f->field;
	m->modifier = modifier;
}
