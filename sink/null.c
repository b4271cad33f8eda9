/* SPDX-License-Identifier: MIT */
/*
 * The null sink: takes every frame and lets go of it at once.  It measures
 * the pipeline's own overhead (benchmarks, `vzero run --sink null`) and is
 * the simplest example of the sink contract.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"

struct null_sink {
	struct vz_sink_port *port;
	uint64_t frames;
};

static int null_start(void *impl, struct vz_sink_port *port, struct vz_err *err)
{
	(void)err;
	struct null_sink *s = impl;
	s->port = port;
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

static int null_stop(void *impl, int64_t timeout_ns, struct vz_err *err)
{
	(void)impl;
	(void)timeout_ns;
	(void)err;
	return 0;
}

static void null_stats(void *impl, struct vz_sink_stats *out)
{
	struct null_sink *s = impl;
	snprintf(out->proof, sizeof(out->proof),
	         "released %llu frame(s) on arrival; never maps or copies",
	         (unsigned long long)s->frames);
}

static const struct vz_sink_ops null_ops = {
        .kind = "null",
        .start = null_start,
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
	snprintf(out->name, sizeof(out->name), "null");
	return 0;
}
