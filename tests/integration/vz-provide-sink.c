/* SPDX-License-Identifier: MIT */
/*
 * Buffer negotiation against a real driver: a sink that provides the
 * buffers capture writes into -- dumb buffers on a DRM node (vgem in the VM)
 * at a padded pitch, as a display would -- beside a second sink (null, or
 * GStreamer with SPEC) that must get the same frames by fd.
 *
 * The provider reads every frame back through its own mapping of its own
 * memory: the stamp must be there at the padded pitch, so the driver wrote
 * into the provider's buffers at the provider's layout.  With --change, the
 * test presses vivid's y_cbcr_encoding (a source change) mid-run: buffer
 * negotiation must run again and the provider supply a second set.
 *
 * Usage: vz-provide-sink DEV FRAMES PAD_BYTES [--change] [--sink SPEC]
 * Prints the report's buffer lines; exits 0 only if every check passed,
 * 77 when there is no DRM node to allocate on.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "holder.h"
#include "pipeline.h"
#include "process.h"
#include "registry.h"

struct provider {
	struct holder h;
	const char *node;
	uint32_t pad;
	unsigned provided;
	struct vz_buffer_set *mine[4]; /* what it provided, to recognise */
	unsigned stamped, foreign, unreadable;
};

static int provide(void *impl, const struct vz_format *fmt, unsigned count,
                   struct vz_buffer_set **out, struct vz_err *err)
{
	struct provider *p = impl;
	struct vz_format f = *fmt;
	uint32_t stride[VZ_MAX_PLANES] = {0};
	/* A display's pitch: the line plus padding the allocator wants. */
	stride[0] = fmt->plane[0].stride + p->pad;
	for (unsigned i = 0; i < VZ_MAX_PLANES; i++)
		f.mem_size[i] = 0;
	if (vz_format_layout(&f, stride) < 0)
		return vz_err_set(err, -EINVAL, "provider: cannot lay out the format");
	int r = vz_dumb_set_create(out, p->node, &f, count, err);
	if (r < 0)
		return r;
	(*out)->fmt = f;
	snprintf((*out)->origin, sizeof((*out)->origin), "vgem dumb buffers at pitch %u",
	         stride[0]);
	if (p->provided < 4)
		p->mine[p->provided] = *out;
	p->provided++;
	return 0;
}

/* At release: the frame is in our memory, at our pitch, with its stamp. */
static bool check(struct holder *h, struct vz_frame *f, bool at_push, void *ctx)
{
	struct provider *p = ctx;
	(void)h;
	if (at_push)
		return true;
	bool ours = false;
	for (unsigned i = 0; i < p->provided && i < 4; i++)
		ours |= f->set == p->mine[i];
	if (!ours) {
		p->foreign++;
		return false;
	}
	struct vz_frame_map m;
	struct vz_stamp st;
	/* YUYV: two bytes a pixel, then the provider's padding. */
	if (f->fmt->plane[0].stride != f->fmt->width * 2 + p->pad) {
		p->unreadable++;
		return false;
	}
	if (vz_frame_map_init(&m, f->fmt, f->buf, &f->info) < 0 || vz_stamp_read(&m, &st) < 0 ||
	    st.sequence != f->info.sequence) {
		p->unreadable++;
		return false;
	}
	p->stamped++;
	return true;
}

static const struct vz_sink_ops provider_ops = {
        .kind = "provider",
        .provide = provide,
        .start = holder_start,
        .set_buffers = holder_set_buffers,
        .push = holder_push,
        .stop = holder_stop,
        .get_stats = holder_stats,
        .destroy = holder_destroy,
};

static void on_event(void *data, const char *msg)
{
	(void)data;
	fprintf(stderr, "vz-provide-sink: %s\n", msg);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr,
		        "usage: vz-provide-sink DEV FRAMES PAD_BYTES [--change] [--sink SPEC]\n");
		return 2;
	}
	bool change = false;
	const char *spec = "null";
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--change"))
			change = true;
		else if (!strcmp(argv[i], "--sink") && i + 1 < argc)
			spec = argv[++i];
	}
	struct provider p = {.node = getenv("VZ_DRM_NODE") ? getenv("VZ_DRM_NODE")
	                                                   : "/dev/dri/card0",
	                     .pad = (uint32_t)atoi(argv[3])};
	if (access(p.node, F_OK) < 0) {
		printf("SKIP: no DRM node %s (load vgem)\n", p.node);
		return 77;
	}
	holder_init(&p.h);
	p.h.hold_us = 20000;
	p.h.check = check;
	p.h.check_ctx = &p;
	struct vz_err err = {0};
	struct vz_capture *cap = NULL;
	struct vz_loop *loop = NULL;
	struct vz_pipeline *pipe = NULL;
	struct vz_sink other = {0};
	int ret = 1;
	struct vz_capture_config cc = {
	        .device = argv[1],
	        .fourcc = VZ_FOURCC('Y', 'U', 'Y', 'V'),
	        .width = 640,
	        .height = 480,
	        .fps_num = 25,
	        .fps_den = 1,
	        .buffers = 6,
	};
	if (vz_sink_create(spec, &other, &err) < 0 || vz_capture_open(&cap, &cc, &err) < 0 ||
	    vz_loop_create(&loop, &err) < 0)
		goto out;
	struct vz_pipeline_config pc = {
	        .source = vz_capture_source(cap),
	        .loop = loop,
	        .max_frames = strtoull(argv[2], NULL, 10),
	        .reconnect_timeout_ms = -1,
	        .on_event = on_event,
	};
	struct vz_sink ps = {.ops = &provider_ops, .impl = &p, .policy = VZ_SINK_RECORD};
	snprintf(ps.name, sizeof(ps.name), "provider");
	struct vz_sink_config sc = {.budget = 2};
	if (vz_pipeline_create(&pipe, &pc, &err) < 0 ||
	    vz_pipeline_add_processor(pipe, "stamp", vz_stamp_process, NULL, &err) < 0 ||
	    vz_pipeline_add_sink(pipe, &ps, &sc, &err) < 0 ||
	    vz_pipeline_add_sink(pipe, &other, &sc, &err) < 0 || vz_pipeline_start(pipe, &err) < 0)
		goto out;
	if (change) {
		/* A source change a second in: vivid sends it when the Y'CbCr
		 * encoding control changes. */
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "(sleep 2; v4l2-ctl -d %s -c y_cbcr_encoding=1) &",
		         argv[1]);
		if (system(cmd) != 0)
			fprintf(stderr, "vz-provide-sink: could not schedule the source change\n");
	}
	int status = vz_loop_run(loop);
	if (vz_pipeline_stop(pipe, &err) < 0 || status < 0) {
		if (status < 0)
			err = *vz_pipeline_error(pipe);
		goto out;
	}
	struct vz_pipeline_stats st;
	vz_pipeline_get_stats(pipe, &st);
	printf("buffers: %s\n", st.buffers);
	if (st.buffers_note[0])
		printf("note: %s\n", st.buffers_note);
	printf("frames %llu provided_sets %u stamped %u foreign %u unreadable %u other_frames "
	       "%llu other_released %llu generation %u\n",
	       (unsigned long long)st.frames, p.provided, p.stamped, p.foreign, p.unreadable,
	       (unsigned long long)st.sink[1].frames, (unsigned long long)st.sink[1].released,
	       st.generation);
	if (st.sink[1].proof[0])
		printf("other sink: %s\n", st.sink[1].proof);
	ret = 0;
	if (!strstr(st.buffers, "provided by sink provider")) {
		fprintf(stderr, "FAIL: capture did not use the provided buffers\n");
		ret = 1;
	}
	if (p.foreign || p.unreadable || p.stamped == 0 || p.stamped != p.h.pushed) {
		fprintf(stderr, "FAIL: %u of %u frames stamped in the provider's memory\n",
		        p.stamped, p.h.pushed);
		ret = 1;
	}
	if (st.sink[1].frames == 0 || st.sink[1].released != st.sink[1].frames) {
		fprintf(stderr, "FAIL: the other sink got %llu frames, released %llu\n",
		        (unsigned long long)st.sink[1].frames,
		        (unsigned long long)st.sink[1].released);
		ret = 1;
	}
	if (change && (p.provided < 2 || st.generation < 2)) {
		fprintf(stderr, "FAIL: after the source change the provider made %u set(s)\n",
		        p.provided);
		ret = 1;
	}
out:
	if (err.msg[0])
		fprintf(stderr, "vz-provide-sink: %s\n", err.msg);
	vz_pipeline_destroy(pipe);
	vz_sink_destroy(&other);
	vz_loop_destroy(loop);
	vz_capture_close(cap);
	return ret;
}
