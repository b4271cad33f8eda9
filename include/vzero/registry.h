/* SPDX-License-Identifier: MIT */
/*
 * Sink specs, as a person writes them on the command line, to sinks:
 *   null                  releases at once (measures vzero itself)
 *   gst:"DESCRIPTION"     appsrc ! DESCRIPTION (the vzero-gst module)
 *   drm[:DEV][,K=V...]    a screen by KMS (sink-drm.h)
 *   rtp://HOST:PORT[?..]  RFC 4175 over UDP (sink-rtp.h)
 *   ipc:PATH[?..]         other processes, by read-only DMA-buf fds
 *                         (sink-ipc.h; clients: ipc.h)
 * The registry sits above the pipeline and the sinks; neither knows it.
 */
#ifndef VZERO_REGISTRY_H
#define VZERO_REGISTRY_H

#include "errors.h"
#include "sink.h"

#ifdef __cplusplus
extern "C" {
#endif

/* -EINVAL/-ENOENT: the spec itself is wrong (say so as a usage error);
 * other errors: the sink could not be made here. */
int vz_sink_create(const char *spec, struct vz_sink *out, struct vz_err *err);

/* The spec forms, one line each, for --help texts. */
extern const char vz_sink_specs_help[];

#ifdef __cplusplus
}
#endif
#endif
