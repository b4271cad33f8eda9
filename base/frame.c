/* SPDX-License-Identifier: MIT */
/* The CPU view of a frame; the story is in frame.h. */
#include <errno.h>
#include <string.h>

#include "frame.h"

int vz_frame_map_init(struct vz_frame_map *m, const struct vz_format *fmt,
                      const struct vz_buffer *buf, const struct vz_frame_info *info)
{
	if (!m)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	if (!fmt || !buf || fmt->num_planes == 0 || fmt->num_planes > VZ_MAX_PLANES)
		return -EINVAL;

	for (unsigned p = 0; p < fmt->num_planes; p++) {
		unsigned mem = fmt->plane[p].mem;
		if (mem >= buf->num_mem || mem >= VZ_MAX_PLANES || !buf->mem[mem].map)
			goto fail;
		/* Multi-planar drivers may start the picture data_offset bytes
		 * into a plane, frame by frame. */
		uint64_t start =
		        (uint64_t)fmt->plane[p].offset + (info ? info->data_offset[mem] : 0);
		/* The last line only needs its visible bytes, but demanding the
		 * full stride keeps the check simple and matches V4L2 sizeimage. */
		uint64_t end = start + (uint64_t)fmt->plane[p].stride * fmt->plane[p].height;
		if (end > buf->mem[mem].length)
			goto fail;
		m->plane[p] = (uint8_t *)buf->mem[mem].map + start;
		m->stride[p] = fmt->plane[p].stride;
		m->height[p] = fmt->plane[p].height;
	}
	m->fmt = fmt;
	m->info = info;
	return 0;

fail:
	memset(m, 0, sizeof(*m));
	return -EINVAL;
}
