/* SPDX-License-Identifier: MIT */
/*
 * The null sink: takes every frame and lets go of it at once.  It measures
 * the pipeline's own overhead (benchmarks, `vzero run --sink null`) and is
 * the simplest example of the sink contract (sink.h).  Policy: live.
 */
#ifndef VZERO_SINK_NULL_H
#define VZERO_SINK_NULL_H

#include "errors.h"
#include "sink.h"

#ifdef __cplusplus
extern "C" {
#endif

int vz_sink_null_create(struct vz_sink *out, struct vz_err *err);

#ifdef __cplusplus
}
#endif
#endif
