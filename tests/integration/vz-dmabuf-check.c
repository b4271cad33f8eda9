/* SPDX-License-Identifier: MIT */
/*
 * vz-dmabuf-check DEV [FOURCC] [FRAMES]: captures through vz_capture (mmap
 * I/O) and checks what the shell cannot: the frame data seen through the
 * read-write mapping is not constant and changes from frame to frame, the
 * read-only DMA-buf export refuses a writable shared mapping (EACCES) and
 * its read-only mapping shows the same bytes, and the read-write export
 * maps writable.  Exit 0 when all hold, 1 otherwise, 77 without a device.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "capture.h"
#include "vz-test.h"

static uint64_t fnv1a(const uint8_t *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static bool constant(const uint8_t *p, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (p[i] != p[0])
			return false;
	return true;
}

/* The read-only export must not map writable; read-only it must show the
 * frame.  The read-write export must map writable. */
static int check_exports(const struct vz_mem *m, size_t used, unsigned idx, unsigned p)
{
	int bad = 0;
	void *w = mmap(NULL, m->length, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd_ro, 0);
	if (w != MAP_FAILED) {
		printf("FAIL: buffer %u plane %u: fd_ro mapped PROT_WRITE|MAP_SHARED\n", idx, p);
		munmap(w, m->length);
		bad = 1;
	} else if (errno != EACCES) {
		printf("FAIL: buffer %u plane %u: fd_ro PROT_WRITE map failed with %s, not "
		       "EACCES\n",
		       idx, p, strerror(errno));
		bad = 1;
	} else {
		printf("ok: buffer %u plane %u: fd_ro PROT_WRITE map refused (EACCES)\n", idx, p);
	}
	void *r = mmap(NULL, m->length, PROT_READ, MAP_SHARED, m->fd_ro, 0);
	if (r == MAP_FAILED) {
		printf("FAIL: buffer %u plane %u: fd_ro PROT_READ map: %s\n", idx, p,
		       strerror(errno));
		bad = 1;
	} else {
		if (memcmp(r, m->map, used) != 0) {
			printf("FAIL: buffer %u plane %u: fd_ro shows other bytes than the "
			       "capture mapping\n",
			       idx, p);
			bad = 1;
		} else {
			printf("ok: buffer %u plane %u: fd_ro read map matches (%zu bytes)\n", idx,
			       p, used);
		}
		munmap(r, m->length);
	}
	w = mmap(NULL, m->length, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd_rw, 0);
	if (w == MAP_FAILED) {
		printf("FAIL: buffer %u plane %u: fd_rw PROT_WRITE map: %s\n", idx, p,
		       strerror(errno));
		bad = 1;
	} else {
		munmap(w, m->length);
	}
	return bad;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: vz-dmabuf-check DEV [FOURCC] [FRAMES]\n");
		return 2;
	}
	struct vz_capture_config cfg = {.device = argv[1]};
	if (argc > 2 && vz_fourcc_parse(argv[2], &cfg.fourcc) < 0) {
		fprintf(stderr, "bad fourcc %s\n", argv[2]);
		return 2;
	}
	unsigned frames = argc > 3 ? (unsigned)atoi(argv[3]) : 8;
	if (frames < 2 || frames > 1000)
		frames = 8;
	struct vz_err err = {0};
	struct vz_capture *c = NULL;
	int bad = 0;
	uint64_t *hash = calloc(frames, sizeof(*hash));
	if (!hash)
		return 1;
	if (vz_capture_open(&c, &cfg, &err) < 0) {
		printf("FAIL: open: %s\n", err.msg);
		free(hash);
		return 1;
	}
	if (vz_capture_start(c, &err) < 0) {
		printf("FAIL: start: %s\n", err.msg);
		bad = 1;
		goto out;
	}
	const struct vz_format *f = vz_capture_format(c);
	char b[5];
	printf("%s: %s %ux%u, %u memory plane(s), %u buffers\n", vz_capture_path(c),
	       vz_fourcc_str(f->fourcc, b), f->width, f->height, f->num_mem, vzt_buffer_count(c));
	unsigned got = 0, checked = 0;
	while (got < frames) {
		struct vz_frame_info fi;
		int r = vzt_next_frame(c, 5000, &fi, &err);
		if (r == 0) {
			printf("FAIL: no frame within 5 s\n");
			bad = 1;
			goto out;
		}
		if (r < 0) {
			printf("FAIL: next: %s\n", err.msg);
			bad = 1;
			goto out;
		}
		const struct vz_buffer *vb = vzt_buffer(c, fi.index);
		uint64_t h = 0xcbf29ce484222325ull;
		for (unsigned m = 0; m < vb->num_mem; m++) {
			size_t used = fi.bytesused[m] ? fi.bytesused[m] : vb->mem[m].length;
			if (used > vb->mem[m].length)
				used = vb->mem[m].length;
			if (!vb->mem[m].map || vb->mem[m].fd_rw < 0 || vb->mem[m].fd_ro < 0) {
				printf("FAIL: buffer %u plane %u lacks a mapping or DMA-buf fds\n",
				       fi.index, m);
				bad = 1;
				continue;
			}
			if (constant(vb->mem[m].map, used)) {
				printf("FAIL: frame %u plane %u is one constant byte\n",
				       fi.sequence, m);
				bad = 1;
			}
			h = fnv1a(vb->mem[m].map, used, h);
			/* Once per buffer index is enough. */
			if (checked < vzt_buffer_count(c) && got == checked)
				bad |= check_exports(&vb->mem[m], used, fi.index, m);
		}
		if (got == checked && checked < vzt_buffer_count(c))
			checked++;
		hash[got++] = h;
		printf("frame seq %u index %u hash %016llx\n", fi.sequence, fi.index,
		       (unsigned long long)h);
		if (vzt_queue(c, fi.index, &err) < 0) {
			printf("FAIL: queue: %s\n", err.msg);
			bad = 1;
			goto out;
		}
	}
	for (unsigned i = 1; i < got; i++) {
		if (hash[i] == hash[i - 1]) {
			printf("FAIL: frames %u and %u have the same content\n", i - 1, i);
			bad = 1;
		}
	}
	printf("%s: %u frames, contents %s\n", bad ? "FAIL" : "ok", got,
	       bad ? "checked with failures" : "differ frame to frame");
out:
	vz_capture_close(c);
	free(hash);
	return bad;
}
