/* SPDX-License-Identifier: MIT */
/* Sink specs from the command line ("null", "gst:...") to sink objects. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pipeline.h"
#include "vz-config.h"
#if VZ_HAVE_GST
#include "sink-gst.h"
#endif

int vz_sink_create(const char *spec, struct vz_sink *out, struct vz_err *err)
{
	memset(out, 0, sizeof(*out));
	if (!spec || !*spec)
		return vz_err_set(err, -EINVAL,
		                  "--sink needs a value: null or gst:\"DESCRIPTION\"");
	if (!strcmp(spec, "null"))
		return vz_sink_null_create(out, err);
	if (!strncmp(spec, "gst:", 4)) {
#if VZ_HAVE_GST
		return vz_sink_gst_create(spec + 4, out, err);
#else
		return vz_err_set(err, -ENOTSUP,
		                  "--sink %s: this vzero was built without GStreamer; install "
		                  "libgstreamer-plugins-base1.0-dev and rebuild",
		                  spec);
#endif
	}
	return vz_err_set(err, -EINVAL,
	                  "--sink '%s': unknown sink; use null, or gst:\"DESCRIPTION\" "
	                  "(e.g. gst:\"videoconvert ! autovideosink\")",
	                  spec);
}

void vz_sink_destroy(struct vz_sink *s)
{
	if (!s || !s->ops)
		return;
	if (s->ops->destroy)
		s->ops->destroy(s->impl);
	memset(s, 0, sizeof(*s));
}
