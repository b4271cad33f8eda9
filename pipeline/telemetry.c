/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "telemetry.h"

struct vz_telemetry {
	size_t capacity;
	unsigned nsinks;
	uint64_t total;
	/* The records live in the same allocation as the header so creating
	 * the ring is the only allocation telemetry ever makes. */
	struct vz_frame_record rec[];
};

const char *vz_drop_cause_name(enum vz_drop_cause c)
{
	switch (c) {
	case VZ_DROP_NONE:
		return "none";
	case VZ_DROP_DRIVER_GAP:
		return "driver_gap";
	case VZ_DROP_ERROR_FLAG:
		return "error_flag";
	case VZ_DROP_SINK_BUDGET:
		return "sink_budget";
	case VZ_DROP_SINK_FAILURE:
		return "sink_failure";
	case VZ_DROP_SINK_ENDED:
		return "sink_ended";
	case VZ_DROP_CAUSES:
		break;
	}
	return "unknown";
}

int vz_telemetry_create(struct vz_telemetry **out, size_t capacity, unsigned nsinks,
                        struct vz_err *err)
{
	struct vz_telemetry *t;

	*out = NULL;
	if (capacity < 16)
		return vz_err_set(err, -EINVAL,
		                  "telemetry: capacity %zu is too small, use at least 16 records",
		                  capacity);
	if (nsinks > VZ_MAX_SINKS)
		return vz_err_set(err, -EINVAL,
		                  "telemetry: %u sinks requested, vzero supports at most %d",
		                  nsinks, VZ_MAX_SINKS);
	if (capacity > (SIZE_MAX - sizeof(*t)) / sizeof(t->rec[0]))
		return vz_err_set(err, -EOVERFLOW,
		                  "telemetry: %zu records do not fit in memory, ask for fewer",
		                  capacity);

	t = calloc(1, sizeof(*t) + capacity * sizeof(t->rec[0]));
	if (!t)
		return vz_err_set(err, -ENOMEM,
		                  "telemetry: cannot allocate %zu records (%zu bytes): lower the "
		                  "telemetry capacity",
		                  capacity, capacity * sizeof(t->rec[0]));
	/* Touched now, not as the ring fills: otherwise a run's RSS climbs
	 * for the ring's first lap (16 MiB over 44 min at 25 fps by default),
	 * which a soak cannot tell from a leak, and what the run needs is
	 * known (and charged to its cgroup) from the start. */
	size_t bytes = sizeof(*t) + capacity * sizeof(t->rec[0]);
	long page = sysconf(_SC_PAGESIZE);
	size_t step = page > 0 ? (size_t)page : 4096;
	for (size_t off = 0; off < bytes; off += step)
		((volatile char *)t)[off] = 0;
	t->capacity = capacity;
	t->nsinks = nsinks;
	*out = t;
	return 0;
}

void vz_telemetry_destroy(struct vz_telemetry *t)
{
	free(t);
}

struct vz_frame_record *vz_telemetry_begin(struct vz_telemetry *t, const struct vz_frame_info *fi,
                                           uint32_t inflight)
{
	struct vz_frame_record *r = &t->rec[t->total % t->capacity];

	memset(r->t_release, 0, sizeof(r->t_release));
	r->t_requeue = 0;
	memset(r->t_handoff, 0, sizeof(r->t_handoff));
	memset(r->sink_drop, 0, sizeof(r->sink_drop));

	r->id = t->total;
	r->sequence = fi->sequence;
	r->gap = fi->gap;
	r->v4l2_flags = fi->v4l2_flags;
	r->inflight = inflight;
	r->t_driver = fi->t_driver_ns;
	r->t_dqbuf = fi->t_dqbuf_ns;
	r->t_processed = fi->t_dqbuf_ns;
	t->total++;
	return r;
}

struct vz_frame_record *vz_telemetry_find(struct vz_telemetry *t, uint64_t id)
{
	/* Older than the ring is deep: its slot holds a newer frame now. */
	if (!t || id >= t->total || t->total - id > t->capacity)
		return NULL;
	return &t->rec[id % t->capacity];
}

unsigned vz_telemetry_sinks(const struct vz_telemetry *t)
{
	return t ? t->nsinks : 0;
}

size_t vz_telemetry_capacity(const struct vz_telemetry *t)
{
	return t ? t->capacity : 0;
}

uint64_t vz_telemetry_total(const struct vz_telemetry *t)
{
	return t ? t->total : 0;
}

size_t vz_telemetry_count(const struct vz_telemetry *t)
{
	if (!t)
		return 0;
	return t->total < t->capacity ? (size_t)t->total : t->capacity;
}

const struct vz_frame_record *vz_telemetry_get(const struct vz_telemetry *t, size_t i)
{
	size_t n = vz_telemetry_count(t);

	if (i >= n)
		return NULL;
	return &t->rec[(t->total - n + i) % t->capacity];
}
