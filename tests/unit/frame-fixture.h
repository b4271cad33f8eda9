/* SPDX-License-Identifier: MIT */
/*
 * Test frames for the processor tests (stamp, mask): malloc'd memory planes
 * laid out as a driver would, with optional line padding, plus snapshots
 * and per-component addressing to check exactly which bytes a call changed.
 * Include after <cmocka.h>; every helper is static to its test program.
 */
#ifndef VZ_TEST_FRAME_FIXTURE_H
#define VZ_TEST_FRAME_FIXTURE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "process.h"

struct tframe {
	struct vz_format fmt;
	struct vz_buffer buf;
	struct vz_frame_info info;
	struct vz_frame_map map;
	const struct vz_format_desc *d;
};

static void tframe_init(struct tframe *t, uint32_t fourcc, uint32_t w, uint32_t h, uint32_t pad)
{
	memset(t, 0, sizeof(*t));
	t->d = vz_format_desc_find(fourcc);
	assert_non_null(t->d);
	t->fmt.fourcc = fourcc;
	t->fmt.width = w;
	t->fmt.height = h;
	uint32_t stride[VZ_MAX_PLANES] = {0};
	unsigned nstride = t->d->multiplanar_mem ? t->d->num_planes : 1;
	for (unsigned p = 0; p < nstride; p++) {
		unsigned gw = t->d->plane[p].group_width;
		stride[p] = (w + gw - 1) / gw * t->d->plane[p].bytes_per_group + pad;
	}
	assert_int_equal(vz_format_layout(&t->fmt, stride), 0);
	t->buf.num_mem = t->fmt.num_mem;
	for (unsigned m = 0; m < t->fmt.num_mem; m++) {
		t->buf.mem[m].fd_rw = -1;
		t->buf.mem[m].fd_ro = -1;
		t->buf.mem[m].length = t->fmt.mem_size[m];
		t->buf.mem[m].map = malloc(t->fmt.mem_size[m]);
		assert_non_null(t->buf.mem[m].map);
	}
	assert_int_equal(vz_frame_map_init(&t->map, &t->fmt, &t->buf, &t->info), 0);
}

static void tframe_free(struct tframe *t)
{
	for (unsigned m = 0; m < t->buf.num_mem; m++)
		free(t->buf.mem[m].map);
}

static void tframe_fill(struct tframe *t, uint32_t seed)
{
	for (unsigned m = 0; m < t->buf.num_mem; m++) {
		uint8_t *p = t->buf.mem[m].map;
		for (size_t i = 0; i < t->buf.mem[m].length; i++) {
			seed = seed * 1103515245u + 12345u;
			p[i] = (uint8_t)(seed >> 16);
		}
	}
}

static void tframe_set(struct tframe *t, uint8_t v)
{
	for (unsigned m = 0; m < t->buf.num_mem; m++)
		memset(t->buf.mem[m].map, v, t->buf.mem[m].length);
}

/* Copies of every memory plane, to see what a call changed. */
struct snapshot {
	uint8_t *mem[VZ_MAX_PLANES];
};

static void snap_take(struct snapshot *s, const struct tframe *t)
{
	memset(s, 0, sizeof(*s));
	for (unsigned m = 0; m < t->buf.num_mem; m++) {
		s->mem[m] = malloc(t->buf.mem[m].length);
		assert_non_null(s->mem[m]);
		memcpy(s->mem[m], t->buf.mem[m].map, t->buf.mem[m].length);
	}
}

static void snap_free(struct snapshot *s)
{
	for (unsigned m = 0; m < VZ_MAX_PLANES; m++)
		free(s->mem[m]);
}

/* Byte of component @c of the sample at (sx, sy) in sample coordinates. */
static uint8_t *comp_ptr(const struct tframe *t, unsigned c, uint32_t sx, uint32_t sy)
{
	unsigned p = t->d->comp[c].plane;
	return t->map.plane[p] + (size_t)sy * t->map.stride[p] + t->d->comp[c].offset +
	       (size_t)sx * t->d->comp[c].step;
}

static void mark(uint8_t *marks[VZ_MAX_PLANES], const struct tframe *t, unsigned c, uint32_t sx,
                 uint32_t sy)
{
	const uint8_t *b = comp_ptr(t, c, sx, sy);
	unsigned m = t->fmt.plane[t->d->comp[c].plane].mem;
	marks[m][b - (const uint8_t *)t->buf.mem[m].map] = 1;
}

#endif
