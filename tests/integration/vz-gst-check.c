/* SPDX-License-Identifier: MIT */
/*
 * vz-gst-check FILE.png...: reads vzero's stamp back from PNG snapshots a
 * GStreamer sink wrote (videoconvert ! pngenc ! multifilesink), so a test
 * can tell which frames came out and in what order.
 *
 * Prints "FILE SEQUENCE" per file and a summary line; exits 1 when a file
 * has no readable stamp or the sequence numbers do not strictly increase in
 * the order given (pass the files sorted), 2 on bad usage.
 *
 * cairo hands PNGs out as native-endian 32-bit pixels: ARGB32 is B,G,R,A in
 * memory on little-endian machines (V4L2 'AR24'), RGB24 is B,G,R,X ('XR24'),
 * which vz_stamp_read understands directly.
 */
#include <cairo.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "pipeline.h"
#include "process.h"

static int read_stamp(const char *path, struct vz_stamp *out)
{
	cairo_surface_t *s = cairo_image_surface_create_from_png(path);
	uint32_t strides[VZ_MAX_PLANES] = {0};
	struct vz_format fmt = {0};
	struct vz_frame_map m = {0};
	int ret = -EINVAL;

	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
		fprintf(stderr, "vz-gst-check: %s: %s\n", path,
		        cairo_status_to_string(cairo_surface_status(s)));
		goto out;
	}
	switch (cairo_image_surface_get_format(s)) {
	case CAIRO_FORMAT_ARGB32:
		fmt.fourcc = VZ_FOURCC('A', 'R', '2', '4');
		break;
	case CAIRO_FORMAT_RGB24:
		fmt.fourcc = VZ_FOURCC('X', 'R', '2', '4');
		break;
	default:
		fprintf(stderr, "vz-gst-check: %s: unexpected cairo pixel format %d\n", path,
		        (int)cairo_image_surface_get_format(s));
		goto out;
	}
	cairo_surface_flush(s);
	fmt.width = (uint32_t)cairo_image_surface_get_width(s);
	fmt.height = (uint32_t)cairo_image_surface_get_height(s);
	strides[0] = (uint32_t)cairo_image_surface_get_stride(s);
	fmt.mem_size[0] = strides[0] * fmt.height;
	if (vz_format_layout(&fmt, strides) < 0) {
		fprintf(stderr, "vz-gst-check: %s: cannot lay out %ux%u\n", path, fmt.width,
		        fmt.height);
		goto out;
	}
	m.fmt = &fmt;
	m.plane[0] = cairo_image_surface_get_data(s);
	m.stride[0] = strides[0];
	m.height[0] = fmt.height;
	ret = vz_stamp_read(&m, out);
	if (ret < 0)
		fprintf(stderr,
		        "vz-gst-check: %s: no readable vzero stamp (was the run made with "
		        "--process stamp?)\n",
		        path);
out:
	cairo_surface_destroy(s);
	return ret;
}

int main(int argc, char **argv)
{
	int64_t last = -1;
	uint64_t gaps = 0;
	uint32_t first = 0;
	int bad = 0;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fprintf(argc < 2 ? stderr : stdout, "usage: vz-gst-check FILE.png...\n");
		return argc < 2 ? 2 : 0;
	}
	for (int i = 1; i < argc; i++) {
		struct vz_stamp st;

		if (read_stamp(argv[i], &st) < 0) {
			bad = 1;
			continue;
		}
		printf("%s %" PRIu32 "\n", argv[i], st.sequence);
		if (last >= 0 && (int64_t)st.sequence <= last) {
			fprintf(stderr,
			        "vz-gst-check: %s: sequence %" PRIu32 " after %" PRId64 "\n",
			        argv[i], st.sequence, last);
			bad = 1;
		}
		if (last >= 0 && (int64_t)st.sequence > last + 1)
			gaps += (uint64_t)((int64_t)st.sequence - last - 1);
		if (last < 0)
			first = st.sequence;
		last = st.sequence;
	}
	printf("files %d first %" PRIu32 " last %" PRId64 " missing %" PRIu64 " %s\n", argc - 1,
	       first, last, gaps, bad ? "BAD" : "ok");
	return bad;
}
