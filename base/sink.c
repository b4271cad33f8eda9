/* SPDX-License-Identifier: MIT */
/* The few sink-contract helpers that are code, not declarations (sink.h). */
#include <string.h>

#include "sink.h"

const char *vz_sink_policy_name(enum vz_sink_policy p)
{
	switch (p) {
	case VZ_SINK_LIVE:
		return "live";
	case VZ_SINK_RECORD:
		return "record";
	case VZ_SINK_POLICY_DEFAULT:
		break;
	}
	return "default";
}

void vz_sink_destroy(struct vz_sink *s)
{
	if (!s || !s->ops)
		return;
	if (s->ops->destroy)
		s->ops->destroy(s->impl);
	memset(s, 0, sizeof(*s));
}
