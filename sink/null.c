/* SPDX-License-Identifier: MIT */
/* The null sink; see include/vzero/sink-null.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink-null.h"

struct null_sink {
	struct vz_sink_port *port;
	uint64_t frames;
	unsigned sets;
};

static int null_start(void *impl, struct vz_sink_port *port, struct vz_buffer_set *set,
                      struct vz_err *err)
{
	(void)set;
	(void)err;
	struct null_sink *s = impl;
	s->port = port;
	s->sets = 1;
	return 0;
}

static int null_set_buffers(void *impl, struct vz_buffer_set *set, struct vz_err *err)
{
	(void)set;
	(void)err;
	((struct null_sink *)impl)->sets++;
	return 0;
}

static int null_push(void *impl, struct vz_frame *f, struct vz_err *err)
{
	(void)err;
	struct null_sink *s = impl;
	s->frames++;
	vz_port_release(s->port, f);
	return 0;
}

static int null_stop(void *impl, struct vz_err *err)
{
	(void)err;
	struct null_sink *s = impl;
	/* Nothing is ever held: done at once. */
	vz_port_stopped(s->port);
	return 0;
}

static void null_stats(void *impl, struct vz_sink_stats *out)
{
	struct null_sink *s = impl;
	snprintf(out->proof, sizeof(out->proof),
	         "released %llu frame(s) on arrival from %u buffer set(s); never maps or copies",
	         (unsigned long long)s->frames, s->sets);
}

static const struct vz_sink_ops null_ops = {
        .kind = "null",
        .start = null_start,
        .set_buffers = null_set_buffers,
        .push = null_push,
        .stop = null_stop,
        .get_stats = null_stats,
        .destroy = free,
};

int vz_sink_null_create(struct vz_sink *out, struct vz_err *err)
{
	memset(out, 0, sizeof(*out));
	struct null_sink *s = calloc(1, sizeof(*s));
	if (!s)
		return vz_err_set(err, -ENOMEM, "null sink: out of memory");
	out->ops = &null_ops;
	out->impl = s;
	out->policy = VZ_SINK_LIVE;
	snprintf(out->name, sizeof(out->name), "null");
	return 0;
}
