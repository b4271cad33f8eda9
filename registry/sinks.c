/* SPDX-License-Identifier: MIT */
/* Sink specs to sinks; see include/vzero/registry.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "module.h"
#include "registry.h"
#include "sink-drm.h"
#include "sink-ipc.h"
#include "sink-null.h"
#include "sink-rtp.h"
#include "vz-config.h"

const char vz_sink_specs_help[] =
        "null (releases at once: measures vzero itself), gst:\"DESCRIPTION\" (appsrc ! "
        "DESCRIPTION), drm[:DEVICE][,OPTION=VALUE...] (a screen, by KMS), "
        "rtp://HOST:PORT[?OPTION=VALUE&...] (RFC 4175 over UDP) or "
        "ipc:PATH[?OPTION=VALUE&...] (other processes, by read-only DMA-buf fds)";

typedef int (*gst_create_fn)(const char *description, struct vz_sink *out, struct vz_err *err);

int vz_sink_create(const char *spec, struct vz_sink *out, struct vz_err *err)
{
	memset(out, 0, sizeof(*out));
	if (!spec || !*spec)
		return vz_err_set(err, -EINVAL, "--sink needs a value: %s", vz_sink_specs_help);
	if (!strcmp(spec, "null"))
		return vz_sink_null_create(out, err);
	if (!strncmp(spec, "drm", 3) && (!spec[3] || spec[3] == ':' || spec[3] == ','))
		return vz_sink_drm_create(spec + 3, out, err);
	if (!strncmp(spec, "rtp://", 6))
		return vz_sink_rtp_create(spec, out, err);
	if (!strncmp(spec, "ipc:", 4))
		return vz_sink_ipc_create(spec + 4, out, err);
	if (!strncmp(spec, "gst:", 4)) {
#if VZ_HAVE_GST
		gst_create_fn fn =
		        (gst_create_fn)vz_module_symbol("vzero-gst", "vz_sink_gst_create",
		                                        "GStreamer 1.20+ (libgstreamer1.0-0)", err);
		if (!fn)
			return -ENOTSUP;
		return fn(spec + 4, out, err);
#else
		return vz_err_set(err, -ENOTSUP,
		                  "--sink %s: this vzero was built without GStreamer; install "
		                  "libgstreamer-plugins-base1.0-dev and rebuild",
		                  spec);
#endif
	}
	return vz_err_set(err, -EINVAL,
	                  "unknown sink kind; use %s, e.g. gst:\"videoconvert ! autovideosink\"",
	                  vz_sink_specs_help);
}
