/* SPDX-License-Identifier: MIT */
/*
 * The GStreamer sink: V4L2 -> caps mapping, colorimetry, plane layout, and
 * end-to-end runs on the host through the real pipeline with the memfd fake
 * source (GStreamer's DMA-buf allocator wraps any fd, so memfds stand in
 * for V4L2 exports): zero-copy proof, releases, pixel content after
 * videoconvert, budget drops, error reporting, EOS finalizing a file.
 */
#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* cmocka needs the headers above first */
#include <cmocka.h>

#include "vz-config.h"

#if VZ_HAVE_GST

#include <gst/gst.h>
#include <gst/video/video.h>
#include <linux/videodev2.h>

#include "fake-source.h"
#include "pipeline.h"
#include "process.h"
#include "registry.h"
#include "sink-gst.h"

/* ---- pure mapping ---- */

static void make_format(struct vz_format *f, uint32_t fourcc, uint32_t w, uint32_t h)
{
	uint32_t strides[VZ_MAX_PLANES] = {0};

	memset(f, 0, sizeof(*f));
	f->fourcc = fourcc;
	f->width = w;
	f->height = h;
	f->fps_num = 25;
	f->fps_den = 1;
	assert_int_equal(vz_format_layout(f, strides), 0);
}

static void test_every_format(void **state)
{
	static const struct {
		uint32_t fourcc;
		const char *gst;
	} cases[] = {
	        {V4L2_PIX_FMT_YUYV, "YUY2"},   {V4L2_PIX_FMT_UYVY, "UYVY"},
	        {V4L2_PIX_FMT_YVYU, "YVYU"},   {V4L2_PIX_FMT_VYUY, "VYUY"},
	        {V4L2_PIX_FMT_NV12, "NV12"},   {V4L2_PIX_FMT_NV12M, "NV12"},
	        {V4L2_PIX_FMT_NV21, "NV21"},   {V4L2_PIX_FMT_NV21M, "NV21"},
	        {V4L2_PIX_FMT_NV16, "NV16"},   {V4L2_PIX_FMT_NV61, "NV61"},
	        {V4L2_PIX_FMT_YUV420, "I420"}, {V4L2_PIX_FMT_YUV420M, "I420"},
	        {V4L2_PIX_FMT_YVU420, "YV12"}, {V4L2_PIX_FMT_YVU420M, "YV12"},
	        {V4L2_PIX_FMT_RGB24, "RGB"},   {V4L2_PIX_FMT_BGR24, "BGR"},
	        {V4L2_PIX_FMT_XBGR32, "BGRx"}, {V4L2_PIX_FMT_ABGR32, "BGRA"},
	        {V4L2_PIX_FMT_RGBX32, "RGBx"}, {V4L2_PIX_FMT_RGBA32, "RGBA"},
	        {V4L2_PIX_FMT_GREY, "GRAY8"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vz_format f;
		struct vz_gst_layout l;
		GstVideoInfo info;
		char buf[1024], want[64];

		make_format(&f, cases[i].fourcc, 640, 480);
		assert_string_equal(vz_gst_format_name(f.fourcc), cases[i].gst);
		assert_true(vz_gst_caps_from_format(&f, buf, sizeof(buf)) > 0);
		snprintf(want, sizeof(want), "format=(string)%s,", cases[i].gst);
		if (!strstr(buf, want))
			fail_msg("%s: '%s' lacks %s", vz_fourcc_str(f.fourcc, (char[5]){0}), buf,
			         want);
		assert_non_null(strstr(buf, "width=(int)640"));
		assert_non_null(strstr(buf, "height=(int)480"));
		assert_non_null(strstr(buf, "framerate=(fraction)25/1"));
		assert_non_null(strstr(buf, "colorimetry=(string)"));
		/* GStreamer itself must accept what we offer. */
		GstCaps *caps = gst_caps_from_string(buf);
		assert_non_null(caps);
		if (!gst_video_info_from_caps(&info, caps))
			fail_msg("GStreamer rejects %s", buf);
		gst_caps_unref(caps);
		/* Our layout agrees with GStreamer's for tightly packed frames. */
		assert_int_equal(vz_gst_layout(&f, &l), 0);
		assert_int_equal(l.n_planes, GST_VIDEO_INFO_N_PLANES(&info));
		for (unsigned p = 0; p < l.n_planes; p++) {
			assert_int_equal(l.stride[p], GST_VIDEO_INFO_PLANE_STRIDE(&info, p));
			if (f.num_mem == 1)
				assert_int_equal(l.offset[p],
				                 GST_VIDEO_INFO_PLANE_OFFSET(&info, p));
		}
	}
}

static void test_unknown_and_small(void **state)
{
	struct vz_format f;
	char buf[16];
	(void)state;

	make_format(&f, V4L2_PIX_FMT_YUYV, 64, 16);
	assert_int_equal(vz_gst_caps_from_format(&f, buf, sizeof(buf)), -ENOSPC);
	f.fourcc = VZ_FOURCC('M', 'J', 'P', 'G');
	assert_int_equal(vz_gst_caps_from_format(&f, buf, sizeof(buf)), -EINVAL);
	assert_null(vz_gst_format_name(f.fourcc));
}

/* NV12 in one memory plane vs NM12 in two: the UV offset in the GstBuffer
 * is counted across memories, padding included. */
static void test_nv12_layouts(void **state)
{
	struct vz_format f;
	struct vz_gst_layout l;
	uint32_t strides[VZ_MAX_PLANES] = {704, 0, 0};
	(void)state;

	memset(&f, 0, sizeof(f));
	f.fourcc = V4L2_PIX_FMT_NV12;
	f.width = 640;
	f.height = 480;
	assert_int_equal(vz_format_layout(&f, strides), 0);
	assert_int_equal(vz_gst_layout(&f, &l), 0);
	assert_int_equal(l.n_mem, 1);
	assert_int_equal(l.n_planes, 2);
	assert_int_equal(l.offset[0], 0);
	assert_int_equal(l.offset[1], 704 * 480);
	assert_int_equal(l.stride[0], 704);
	assert_int_equal(l.stride[1], 704);

	memset(&f, 0, sizeof(f));
	f.fourcc = V4L2_PIX_FMT_NV12M;
	f.width = 640;
	f.height = 480;
	strides[1] = 768;
	f.mem_size[0] = 704 * 480 + 4096; /* a driver may pad its planes */
	f.mem_size[1] = 768 * 240;
	assert_int_equal(vz_format_layout(&f, strides), 0);
	assert_int_equal(vz_gst_layout(&f, &l), 0);
	assert_int_equal(l.n_mem, 2);
	assert_int_equal(l.n_planes, 2);
	assert_int_equal(l.offset[0], 0);
	assert_int_equal(l.offset[1], 704 * 480 + 4096);
	assert_int_equal(l.stride[0], 704);
	assert_int_equal(l.stride[1], 768);
	assert_int_equal(l.mem_size[0], 704 * 480 + 4096);
	assert_int_equal(l.size, 704 * 480 + 4096 + 768 * 240);

	/* A plane that would run past its memory is refused, not trusted. */
	f.mem_size[1] = 768 * 239;
	assert_int_equal(vz_gst_layout(&f, &l), -EINVAL);
}

static void colorimetry_of(uint32_t fourcc, uint32_t h, uint32_t cs, uint32_t enc, uint32_t q,
                           uint32_t xfer, GstVideoColorimetry *c, char *str, size_t len)
{
	struct vz_format f;

	make_format(&f, fourcc, h * 4 / 3, h);
	f.colorspace = cs;
	f.ycbcr_enc = enc;
	f.quantization = q;
	f.xfer_func = xfer;
	assert_true(vz_gst_colorimetry(&f, str, len) > 0);
	assert_true(gst_video_colorimetry_from_string(c, str));
}

static void test_colorimetry(void **state)
{
	GstVideoColorimetry c;
	char s[64];
	(void)state;

	/* All DEFAULT: SD YUV is BT.601, HD YUV BT.709, RGB sRGB. */
	colorimetry_of(V4L2_PIX_FMT_YUYV, 480, 0, 0, 0, 0, &c, s, sizeof(s));
	assert_string_equal(s, "bt601");
	colorimetry_of(V4L2_PIX_FMT_YUYV, 720, 0, 0, 0, 0, &c, s, sizeof(s));
	assert_string_equal(s, "bt709");
	colorimetry_of(V4L2_PIX_FMT_RGB24, 480, 0, 0, 0, 0, &c, s, sizeof(s));
	assert_string_equal(s, "sRGB");
	colorimetry_of(V4L2_PIX_FMT_XBGR32, 1080, 0, 0, 0, 0, &c, s, sizeof(s));
	assert_string_equal(s, "sRGB");

	/* What vivid's webcam reports for YUYV: sRGB colorspace, so sYCC
	 * (BT.601 matrix, limited range, sRGB transfer, BT.709 primaries). */
	colorimetry_of(V4L2_PIX_FMT_YUYV, 480, V4L2_COLORSPACE_SRGB, 0, 0, 0, &c, s, sizeof(s));
	assert_int_equal(c.matrix, GST_VIDEO_COLOR_MATRIX_BT601);
	assert_int_equal(c.range, GST_VIDEO_COLOR_RANGE_16_235);
	assert_int_equal(c.transfer, GST_VIDEO_TRANSFER_SRGB);
	assert_int_equal(c.primaries, GST_VIDEO_COLOR_PRIMARIES_BT709);

	/* Explicit values win over the colorspace's defaults. */
	colorimetry_of(V4L2_PIX_FMT_NV12, 480, V4L2_COLORSPACE_REC709, V4L2_YCBCR_ENC_601,
	               V4L2_QUANTIZATION_FULL_RANGE, V4L2_XFER_FUNC_709, &c, s, sizeof(s));
	assert_int_equal(c.matrix, GST_VIDEO_COLOR_MATRIX_BT601);
	assert_int_equal(c.range, GST_VIDEO_COLOR_RANGE_0_255);
	assert_int_equal(c.transfer, GST_VIDEO_TRANSFER_BT709);
	assert_int_equal(c.primaries, GST_VIDEO_COLOR_PRIMARIES_BT709);

	/* JPEG: full-range BT.601 YCbCr. */
	colorimetry_of(V4L2_PIX_FMT_YUYV, 480, V4L2_COLORSPACE_JPEG, 0, 0, 0, &c, s, sizeof(s));
	assert_int_equal(c.range, GST_VIDEO_COLOR_RANGE_0_255);
	assert_int_equal(c.matrix, GST_VIDEO_COLOR_MATRIX_BT601);

	/* BT.2020 */
	colorimetry_of(V4L2_PIX_FMT_NV12, 2160, V4L2_COLORSPACE_BT2020, 0, 0, 0, &c, s, sizeof(s));
	assert_int_equal(c.matrix, GST_VIDEO_COLOR_MATRIX_BT2020);
	assert_int_equal(c.primaries, GST_VIDEO_COLOR_PRIMARIES_BT2020);
	assert_int_equal(c.range, GST_VIDEO_COLOR_RANGE_16_235);

	/* RGB never gets a YCbCr matrix, whatever the driver says. */
	colorimetry_of(V4L2_PIX_FMT_RGB24, 480, V4L2_COLORSPACE_SMPTE170M, V4L2_YCBCR_ENC_601, 0, 0,
	               &c, s, sizeof(s));
	assert_int_equal(c.matrix, GST_VIDEO_COLOR_MATRIX_RGB);
	assert_int_equal(c.range, GST_VIDEO_COLOR_RANGE_0_255);
	assert_int_equal(c.primaries, GST_VIDEO_COLOR_PRIMARIES_SMPTE170M);
}

/* ---- end to end through the pipeline ---- */

#define W 64
#define H 48

struct fx {
	struct fake_source fs;
	struct vz_loop *loop;
	struct vz_pipeline *pipe;
	char dir[64];
};

/* Multi-planar formats get one memfd per memory plane. */
static int fake_source_init_mplane(struct fake_source *s, uint32_t fourcc, uint32_t w, uint32_t h,
                                   unsigned n)
{
	uint32_t strides[VZ_MAX_PLANES] = {0};
	struct vz_format f = {
	        .fourcc = fourcc, .width = w, .height = h, .fps_num = 25, .fps_den = 1};

	if (vz_format_layout(&f, strides) < 0)
		return -EINVAL;
	return fake_source_init_fmt(s, &f, n);
}

static struct fx *fx_new_sized(uint32_t fourcc, uint32_t w, uint32_t h)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	assert_int_equal(fake_source_init_mplane(&fx->fs, fourcc, w, h, 6), 0);
	assert_int_equal(vz_loop_create(&fx->loop, NULL), 0);
	struct vz_pipeline_config cfg = {
	        .source = fake_source_as_source(&fx->fs),
	        .loop = fx->loop,
	        .telemetry_capacity = 4096,
	        .reconnect_timeout_ms = -1,
	};
	assert_int_equal(vz_pipeline_create(&fx->pipe, &cfg, NULL), 0);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/vz-gst-test.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	return fx;
}

static struct fx *fx_new(uint32_t fourcc)
{
	return fx_new_sized(fourcc, W, H);
}

static void fx_free(struct fx *fx)
{
	char cmd[128];

	vz_pipeline_destroy(fx->pipe);
	vz_loop_destroy(fx->loop);
	fake_source_fini(&fx->fs);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		print_error("could not remove %s\n", fx->dir);
	free(fx);
}

static int add_gst(struct fx *fx, const char *desc, unsigned budget, struct vz_err *err)
{
	struct vz_sink s;
	char spec[512];
	int r;

	snprintf(spec, sizeof(spec), "gst:%s", desc);
	r = vz_sink_create(spec, &s, err);
	if (r < 0)
		return r;
	struct vz_sink_config c = {.budget = budget};
	r = vz_pipeline_add_sink(fx->pipe, &s, &c, err);
	if (r < 0)
		vz_sink_destroy(&s);
	return r;
}

/* Produces @n frames at about @period_ms each, running the loop between. */
static void run_frames(struct fx *fx, unsigned n, int period_ms)
{
	for (unsigned i = 0; i < n && !vz_loop_quitting(fx->loop); i++) {
		int64_t next = vz_now_ns() + period_ms * VZ_NSEC_PER_MSEC;

		fake_source_produce(&fx->fs, 1);
		do {
			vz_loop_dispatch(fx->loop, 1);
		} while (vz_now_ns() < next && !vz_loop_quitting(fx->loop));
	}
}

static void stop_ok(struct fx *fx)
{
	struct vz_err err = {0};
	int r = vz_pipeline_stop(fx->pipe, &err);

	if (r < 0)
		fail_msg("stop: %s", err.msg);
}

/* Every frame the sink got came back, and appsrc saw our fds in all. */
static void check_zero_copy(struct fx *fx, struct vz_sink_stats *out)
{
	struct vz_pipeline_stats st;
	char want[128];

	vz_pipeline_get_stats(fx->pipe, &st);
	assert_int_equal(st.nsinks, 1);
	*out = st.sink[0];
	assert_true(out->frames > 0);
	assert_int_equal(out->released, out->frames);
	assert_int_equal(out->bytes_copied, 0);
	assert_int_equal(out->copies, 0);
	assert_int_equal(out->nsites, 0);
	assert_int_equal(out->drops_failure, 0);
	snprintf(want, sizeof(want), "appsrc sent vzero's own memory in %llu/%llu",
	         (unsigned long long)out->frames, (unsigned long long)out->frames);
	if (!strstr(out->proof, want))
		fail_msg("proof '%s' lacks '%s'", out->proof, want);
	/* what GStreamer got was read-only, checked on the fds themselves */
	if (!strstr(out->proof, "fds read-only 6/6") && !strstr(out->proof, "fds read-only 12/12"))
		fail_msg("proof '%s' does not show every fd read-only", out->proof);
	assert_int_equal(vz_pipeline_inflight(fx->pipe), 0);
}

/* Runs @desc on 40 painted, stamped frames and returns sink 0's stats. */
static struct vz_sink_stats run_desc(uint32_t fourcc, const char *desc)
{
	struct vz_err err = {0};
	struct vz_pipeline_stats st;
	struct fx *fx = fx_new(fourcc);

	assert_int_equal(add_gst(fx, desc, 4, &err), 0);
	if (vz_pipeline_start(fx->pipe, &err) < 0)
		fail_msg("start: %s", err.msg);
	run_frames(fx, 40, 3);
	stop_ok(fx);
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_int_equal(st.sink[0].released, st.sink[0].frames);
	print_message("# %s: %s\n", desc, st.sink[0].proof);
	for (unsigned i = 0; i < st.sink[0].nsites; i++)
		print_message(
		        "#   %s %s: %llu B in %llu (%s)\n",
		        st.sink[0].site[i].conversion ? "conversion" : "COPY",
		        st.sink[0].site[i].element, (unsigned long long)st.sink[0].site[i].bytes,
		        (unsigned long long)st.sink[0].site[i].events, st.sink[0].site[i].reason);
	fx_free(fx);
	return st.sink[0];
}

/* queue, tee, capsfilter, identity, fakesink: vzero's memory all the way. */
static void test_passthrough_counts_nothing(void **state)
{
	(void)state;
	struct vz_sink_stats ss =
	        run_desc(V4L2_PIX_FMT_YUYV,
	                 "queue ! tee ! capsfilter caps=video/x-raw ! identity ! fakesink "
	                 "enable-last-sample=false");
	assert_int_equal(ss.nsites, 0);
	assert_int_equal(ss.bytes_copied, 0);
	char want[96];
	snprintf(want, sizeof(want), "got vzero's memory in %llu/%llu",
	         (unsigned long long)ss.frames, (unsigned long long)ss.frames);
	assert_non_null(strstr(ss.proof, want));
}

/* An in-place filter on read-only memory: GStreamer copies every frame. */
static void test_inplace_filter_copies_counted(void **state)
{
	(void)state;
	struct vz_sink_stats ss =
	        run_desc(V4L2_PIX_FMT_YUYV, "videobalance saturation=0.5 ! fakesink "
	                                    "enable-last-sample=false");
	assert_int_equal(ss.nsites, 1);
	assert_int_equal(strncmp(ss.site[0].element, "videobalance", 12), 0);
	assert_false(ss.site[0].conversion);
	assert_int_equal(ss.site[0].events, ss.frames);
	/* about a frame's size per frame */
	assert_int_equal(ss.bytes_copied, ss.frames * W * 2 * H);
	assert_int_equal(ss.copies, ss.frames);
	assert_non_null(strstr(ss.site[0].reason, "writable"));
	assert_non_null(strstr(ss.advice, ss.site[0].element));
	assert_non_null(strstr(ss.advice, "--process"));
}

/* A converter makes new frames: a conversion, not a copy. */
static void test_conversion_is_not_a_copy(void **state)
{
	(void)state;
	struct vz_sink_stats ss =
	        run_desc(V4L2_PIX_FMT_YUYV, "videoconvert ! video/x-raw,format=RGB ! fakesink "
	                                    "enable-last-sample=false");
	assert_int_equal(ss.bytes_copied, 0);
	assert_int_equal(ss.nsites, 1);
	assert_int_equal(strncmp(ss.site[0].element, "videoconvert", 12), 0);
	assert_true(ss.site[0].conversion);
	assert_non_null(strstr(ss.site[0].reason, "converts to RGB"));
	assert_int_equal(ss.advice[0], '\0');
}

/* Strides GStreamer would not assume, into an element that does not take
 * GstVideoMeta: refused, naming it, and no frame reaches it. */
static void padded(const char *desc, bool refused)
{
	struct vz_err err = {0};
	struct vz_pipeline_stats st;
	struct fx *fx = calloc(1, sizeof(*fx));
	uint32_t stride = W * 2 + 64;

	assert_int_equal(fake_source_init(&fx->fs, V4L2_PIX_FMT_YUYV, W, H, stride, stride * H, 6),
	                 0);
	assert_int_equal(vz_loop_create(&fx->loop, NULL), 0);
	struct vz_pipeline_config cfg = {
	        .source = fake_source_as_source(&fx->fs),
	        .loop = fx->loop,
	        .reconnect_timeout_ms = -1,
	};
	assert_int_equal(vz_pipeline_create(&fx->pipe, &cfg, NULL), 0);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/vz-gst-test.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	assert_int_equal(add_gst(fx, desc, 4, &err), 0);
	if (vz_pipeline_start(fx->pipe, &err) < 0)
		fail_msg("start: %s", err.msg);
	run_frames(fx, 10, 3);
	int64_t end = vz_now_ns() + VZ_NSEC_PER_SEC;
	while (refused && !vz_loop_quitting(fx->loop) && vz_now_ns() < end)
		vz_loop_dispatch(fx->loop, 5);
	vz_pipeline_get_stats(fx->pipe, &st);
	print_message("# %s: %s / %s\n", desc, vz_pipeline_error(fx->pipe)->msg, st.sink[0].proof);
	if (refused) {
		assert_true(vz_loop_quitting(fx->loop));
		const char *m = vz_pipeline_error(fx->pipe)->msg;
		assert_non_null(strstr(m, "does not take GstVideoMeta"));
		assert_non_null(strstr(m, "fakesink"));
		assert_non_null(strstr(m, "192 bytes per line"));
		assert_non_null(strstr(m, "-s 96x48"));
		assert_non_null(strstr(st.sink[0].proof, "got vzero's memory in 0/0"));
	} else {
		assert_false(vz_loop_quitting(fx->loop));
	}
	vz_pipeline_stop(fx->pipe, NULL);
	fx_free(fx);
}

static void test_padded_strides_need_video_meta(void **state)
{
	(void)state;
	padded("fakesink enable-last-sample=false", true);
	padded("queue ! fakesink enable-last-sample=false", true);
	/* passthrough: videoconvert hands the buffers on as they are */
	padded("videoconvert ! fakesink enable-last-sample=false", true);
	/* converting: videoconvert reads them through the meta */
	padded("videoconvert ! video/x-raw,format=RGB ! fakesink enable-last-sample=false", false);
}

/* Same caps, new pitch (a reconnect, a provider's set): the new set's
 * layout is checked too, not only the first set's. */
static void test_padded_after_a_set_change(void **state)
{
	struct vz_err err = {0};
	struct vz_pipeline_stats st;
	struct fx *fx = fx_new(V4L2_PIX_FMT_YUYV);
	(void)state;

	assert_int_equal(add_gst(fx, "fakesink enable-last-sample=false", 4, &err), 0);
	if (vz_pipeline_start(fx->pipe, &err) < 0)
		fail_msg("start: %s", err.msg);
	run_frames(fx, 10, 3);
	assert_false(vz_loop_quitting(fx->loop));
	vz_pipeline_get_stats(fx->pipe, &st);
	uint64_t before = st.sink[0].frames;
	fx->fs.change_format = 1;
	fx->fs.new_stride = W * 2 + 64;
	fake_source_poke(&fx->fs);
	run_frames(fx, 10, 3);
	int64_t end = vz_now_ns() + VZ_NSEC_PER_SEC;
	while (!vz_loop_quitting(fx->loop) && vz_now_ns() < end)
		vz_loop_dispatch(fx->loop, 5);
	assert_true(vz_loop_quitting(fx->loop));
	const char *m = vz_pipeline_error(fx->pipe)->msg;
	if (!strstr(m, "does not take GstVideoMeta") || !strstr(m, "192 bytes per line"))
		fail_msg("error: %s", m);
	vz_pipeline_stop(fx->pipe, NULL);
	vz_pipeline_get_stats(fx->pipe, &st);
	/* what fakesink got: the first set's frames, none of the padded ones */
	char want[64];
	snprintf(want, sizeof(want), "got vzero's memory in %llu/%llu", (unsigned long long)before,
	         (unsigned long long)before);
	if (!strstr(st.sink[0].proof, want))
		fail_msg("proof '%s' lacks '%s'", st.sink[0].proof, want);
	fx_free(fx);
}

/* autovideosink makes its real sink at READY, after vzero first looked:
 * that element is followed too, the placeholder it replaced is not. */
static void test_late_children_followed(void **state)
{
	(void)state;
	struct vz_sink_stats ss = run_desc(V4L2_PIX_FMT_YUYV, "autovideosink sync=false");
	char want[64];
	assert_true(ss.frames > 0);
	snprintf(want, sizeof(want), "got vzero's memory in %llu/%llu",
	         (unsigned long long)ss.frames, (unsigned long long)ss.frames);
	if (!strstr(ss.proof, want) || strstr(ss.proof, " 0/0"))
		fail_msg("proof '%s': wanted '%s', and no element that saw nothing", ss.proof,
		         want);
}

static void test_fakesink_zero_copy(void **state)
{
	struct vz_err err = {0};
	struct vz_sink_stats ss;
	struct fx *fx = fx_new(V4L2_PIX_FMT_YUYV);
	(void)state;

	assert_int_equal(add_gst(fx, "fakesink enable-last-sample=false", 4, &err), 0);
	if (vz_pipeline_start(fx->pipe, &err) < 0)
		fail_msg("start: %s", err.msg);
	run_frames(fx, 60, 2);
	stop_ok(fx);
	check_zero_copy(fx, &ss);
	assert_int_equal(ss.frames + ss.drops_budget, 60);
	fx_free(fx);
}

static void test_multiplanar_zero_copy(void **state)
{
	struct vz_err err = {0};
	struct vz_sink_stats ss;
	struct fx *fx = fx_new(V4L2_PIX_FMT_NV12M);
	(void)state;

	assert_int_equal(fx->fs.fmt.num_mem, 2);
	assert_int_equal(add_gst(fx, "fakesink enable-last-sample=false", 4, &err), 0);
	if (vz_pipeline_start(fx->pipe, &err) < 0)
		fail_msg("start: %s", err.msg);
	run_frames(fx, 30, 2);
	stop_ok(fx);
	check_zero_copy(fx, &ss);
	fx_free(fx);
}

/* The processor paints the frame mid-grey (chroma neutral); the stamp
 * processor then writes the sequence number over the top-left corner. */
static int paint(void *ctx, struct vz_frame_map *m, struct vz_err *err)
{
	const struct vz_format_desc *d = vz_format_desc_find(m->fmt->fourcc);
	(void)ctx;

	if (!d)
		return vz_err_set(err, -EINVAL, "paint: unknown format");
	for (unsigned p = 0; p < m->fmt->num_planes; p++)
		for (unsigned r = 0; r < m->height[p]; r++)
			memset(m->plane[p] + (size_t)r * m->stride[p], 128, m->stride[p]);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads DIR/f*.rgb in order: each must carry a readable stamp, sequence
 * numbers increasing from file to file, and below the stamp the painted
 * grey -- a buffer the fake driver reused too early would show its
 * scribbles instead. */
static unsigned check_rgb_files(const char *dir, unsigned w, unsigned h)
{
	struct vz_format rgb;
	char *names[256];
	unsigned n = 0;
	int64_t last_seq = -1;
	DIR *d = opendir(dir);
	struct dirent *de;

	make_format(&rgb, V4L2_PIX_FMT_RGB24, w, h);
	assert_non_null(d);
	while ((de = readdir(d)) && n < 256)
		if (de->d_name[0] == 'f')
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (unsigned i = 0; i < n; i++) {
		char path[PATH_MAX];
		size_t size = (size_t)w * h * 3;
		uint8_t *px = malloc(size);
		struct vz_frame_map m = {.fmt = &rgb};
		struct vz_stamp st;
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		f = fopen(path, "rb");
		assert_non_null(f);
		assert_int_equal(fread(px, 1, size, f), size);
		fclose(f);
		m.plane[0] = px;
		m.stride[0] = w * 3;
		m.height[0] = h;
		if (vz_stamp_read(&m, &st) < 0)
			fail_msg("%s: no readable stamp", path);
		for (size_t k = (size_t)w * VZ_STAMP_H; k < (size_t)w * h; k++) {
			const uint8_t *p = px + 3 * k;

			if (abs(p[0] - p[1]) > 3 || abs(p[1] - p[2]) > 3 || abs(p[1] - 128) > 12)
				fail_msg(
				        "%s: pixel %zu is (%u,%u,%u), not the painted grey (buffer "
				        "reused too early?)",
				        path, k, p[0], p[1], p[2]);
		}
		if ((int64_t)st.sequence <= last_seq)
			fail_msg("%s: sequence %u after %lld", path, st.sequence,
			         (long long)last_seq);
		last_seq = st.sequence;
		free(px);
		free(names[i]);
	}
	return n;
}

#define CW 320
#define CH 96

static void convert_case(uint32_t fourcc)
{
	struct vz_err err = {0};
	struct vz_pipeline_stats st;
	char desc[256];
	struct fx *fx = fx_new_sized(fourcc, CW, CH);

	snprintf(desc, sizeof(desc),
	         /* frames wait in the queue while the fake driver scribbles on
	          * every buffer it holds: an early release shows as damage */
	         "queue max-size-buffers=0 max-size-bytes=0 max-size-time=0 ! identity "
	         "sleep-time=15000 ! videoconvert ! video/x-raw,format=RGB ! multifilesink "
	         "location=%s/f%%05d.rgb",
	         fx->dir);
	assert_int_equal(vz_pipeline_add_processor(fx->pipe, "paint", paint, NULL, &err), 0);
	assert_int_equal(vz_pipeline_add_processor(fx->pipe, "stamp", vz_stamp_process, NULL, &err),
	                 0);
	assert_int_equal(add_gst(fx, desc, 4, &err), 0);
	if (vz_pipeline_start(fx->pipe, &err) < 0)
		fail_msg("start: %s", err.msg);
	run_frames(fx, 40, 5);
	stop_ok(fx);
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_int_equal(st.sink[0].released, st.sink[0].frames);
	assert_int_equal(st.sink[0].bytes_copied, 0);
	assert_int_equal(check_rgb_files(fx->dir, CW, CH), st.sink[0].frames);
	assert_true(st.sink[0].frames >= 10);
	fx_free(fx);
}

static void test_videoconvert_content(void **state)
{
	(void)state;
	convert_case(V4L2_PIX_FMT_YUYV);
}

static void test_videoconvert_content_nm12(void **state)
{
	(void)state;
	convert_case(V4L2_PIX_FMT_NV12M);
}

/* A downstream that holds frames: the pipeline drops by budget, nothing
 * queues without bound, and the run still stops promptly. */
static void test_slow_downstream_budget(void **state)
{
	struct vz_err err = {0};
	struct vz_pipeline_stats st;
	struct fx *fx = fx_new(V4L2_PIX_FMT_YUYV);
	(void)state;

	assert_int_equal(add_gst(fx,
	                         "queue max-size-buffers=0 max-size-time=0 max-size-bytes=0 ! "
	                         "identity sleep-time=100000 ! fakesink enable-last-sample=false",
	                         2, &err),
	                 0);
	if (vz_pipeline_start(fx->pipe, &err) < 0)
		fail_msg("start: %s", err.msg);
	run_frames(fx, 30, 5);
	int64_t t0 = vz_now_ns();
	stop_ok(fx);
	assert_true(vz_now_ns() - t0 < 3 * VZ_NSEC_PER_SEC);
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_true(st.sink[0].drops_budget > 0);
	assert_true(st.sink[0].inflight_hwm <= 2);
	assert_int_equal(st.sink[0].frames + st.sink[0].drops_budget, 30);
	assert_int_equal(st.sink[0].released, st.sink[0].frames);
	fx_free(fx);
}

static void expect_create_error(const char *desc, int code, const char *needle)
{
	struct vz_err err = {0};
	struct vz_sink s;
	char spec[256];

	snprintf(spec, sizeof(spec), "gst:%s", desc);
	int r = vz_sink_create(spec, &s, &err);
	if (r >= 0) {
		vz_sink_destroy(&s);
		fail_msg("'%s' was accepted", desc);
	}
	print_message("# '%s' -> %d %s\n", desc, r, err.msg);
	assert_int_equal(r, code);
	if (!strstr(err.msg, needle))
		fail_msg("'%s': message '%s' lacks '%s'", desc, err.msg, needle);
}

static void test_parse_errors(void **state)
{
	(void)state;
	expect_create_error("nosuchelement", -ENOENT, "nosuchelement");
	expect_create_error("videoconvert ! nosuchelement ! fakesink", -ENOENT, "nosuchelement");
	expect_create_error("videoconvert ! ! fakesink", -EINVAL, "cannot parse");
	expect_create_error("", -EINVAL, "empty");
	expect_create_error("fakesink ! fakesink", -EINVAL, "fakesink");
}

static void test_not_negotiated(void **state)
{
	struct vz_err err = {0};
	struct fx *fx = fx_new(V4L2_PIX_FMT_YUYV);
	(void)state;

	assert_int_equal(add_gst(fx, "video/x-raw,format=RGB16 ! fakesink", 2, &err), 0);
	assert_true(vz_pipeline_start(fx->pipe, &err) < 0);
	/* names the element, what it takes and what we offered */
	if (!strstr(err.msg, "capsfilter") || !strstr(err.msg, "RGB16") || !strstr(err.msg, "YUY2"))
		fail_msg("message: %s", err.msg);
	fx_free(fx);
}

static void test_midstream_error(void **state)
{
	struct vz_err err = {0};
	struct vz_pipeline_stats st;
	struct fx *fx = fx_new(V4L2_PIX_FMT_YUYV);
	(void)state;

	assert_int_equal(
	        add_gst(fx, "identity error-after=5 ! fakesink enable-last-sample=false", 4, &err),
	        0);
	if (vz_pipeline_start(fx->pipe, &err) < 0)
		fail_msg("start: %s", err.msg);
	run_frames(fx, 40, 5);
	assert_true(vz_loop_quitting(fx->loop));
	const struct vz_err *pe = vz_pipeline_error(fx->pipe);
	print_message("# %s\n", pe->msg);
	/* names the element and GStreamer's reason */
	if (!strstr(pe->msg, "gst: identity") || !strstr(pe->msg, "Failed after iterations") ||
	    pe->code >= 0)
		fail_msg("pipeline error (%d): %s", pe->code, pe->msg);
	int64_t t0 = vz_now_ns();
	vz_pipeline_stop(fx->pipe, &err);
	assert_true(vz_now_ns() - t0 < 3 * VZ_NSEC_PER_SEC);
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_int_equal(st.sink[0].released, st.sink[0].frames);
	assert_true(st.sink[0].frames < 40);
	assert_int_equal(vz_pipeline_inflight(fx->pipe), 0);
	fx_free(fx);
}

/* New caps refused, and the EOS sent behind the refusal never reaches the
 * bus (a valve drops it): the sink gives up waiting after its deadline,
 * and a stop later still finishes at once instead of hanging. */
static void test_ended_without_eos_stops(void **state)
{
	struct vz_err err = {0};
	struct vz_pipeline_stats st;
	struct fx *fx = fx_new(V4L2_PIX_FMT_YUYV);
	(void)state;

	assert_int_equal(add_gst(fx,
	                         "capsfilter caps=video/x-raw,width=64 ! valve drop=true ! "
	                         "fakesink",
	                         4, &err),
	                 0);
	struct vz_sink null;
	assert_int_equal(vz_sink_create("null", &null, NULL), 0);
	assert_int_equal(vz_pipeline_add_sink(fx->pipe, &null, NULL, NULL), 0);
	if (vz_pipeline_start(fx->pipe, &err) < 0)
		fail_msg("start: %s", err.msg);
	run_frames(fx, 5, 5);
	fx->fs.change_format = 1;
	fx->fs.new_width = 32;
	fake_source_poke(&fx->fs);
	run_frames(fx, 100, 40); /* past the sink's 3 s EOS deadline */
	assert_false(vz_loop_quitting(fx->loop));
	vz_pipeline_get_stats(fx->pipe, &st);
	if (!strstr(st.sink[0].ended, "was refused downstream"))
		fail_msg("ended: '%s'", st.sink[0].ended);
	int64_t t0 = vz_now_ns();
	stop_ok(fx);
	assert_true(vz_now_ns() - t0 < VZ_NSEC_PER_SEC);
	vz_pipeline_get_stats(fx->pipe, &st);
	assert_non_null(strstr(st.sink[0].advice, "no end-of-stream got through"));
	assert_int_equal(vz_pipeline_inflight(fx->pipe), 0);
	fx_free(fx);
}

/* "vzkeeper": a fakesink that keeps a reference to every buffer it gets,
 * past its own NULL state, as a leaking element does.  Made at run time
 * from fakesink's type (its class struct is not public). */
static GPtrArray *kept;

static void keep_buffer(GstElement *el, GstBuffer *b, GstPad *pad, gpointer data)
{
	(void)el;
	(void)pad;
	(void)data;
	g_ptr_array_add(kept, gst_buffer_ref(b));
}

static void keeper_init(GTypeInstance *inst, gpointer klass)
{
	(void)klass;
	g_object_set(inst, "signal-handoffs", TRUE, "enable-last-sample", FALSE, NULL);
	g_signal_connect(inst, "handoff", G_CALLBACK(keep_buffer), NULL);
}

static void register_keeper(void)
{
	static GType type;
	if (type)
		return;
	GstElementFactory *f = gst_element_factory_find("fakesink");
	assert_non_null(f);
	GType parent = gst_element_factory_get_element_type(f);
	if (!parent) {
		GstElement *e = gst_element_factory_create(f, NULL);
		parent = G_OBJECT_TYPE(e);
		gst_object_unref(e);
	}
	gst_object_unref(f);
	GTypeQuery q;
	g_type_query(parent, &q);
	GTypeInfo info = {.class_size = (guint16)q.class_size,
	                  .instance_size = (guint16)q.instance_size,
	                  .instance_init = keeper_init};
	type = g_type_register_static(parent, "VzKeeper", &info, 0);
	assert_true(gst_element_register(NULL, "vzkeeper", GST_RANK_NONE, type));
}

/* An element keeps vzero's frames past the sink's destroy: their release
 * comes later, into a sink and a runner still there (ASan watches). */
static void test_release_after_destroy(void **state)
{
	struct vz_err err = {0};
	struct fx *fx = fx_new(V4L2_PIX_FMT_YUYV);
	(void)state;

	register_keeper();
	kept = g_ptr_array_new();
	vz_pipeline_destroy(fx->pipe);
	struct vz_pipeline_config cfg = {
	        .source = fake_source_as_source(&fx->fs),
	        .loop = fx->loop,
	        .reconnect_timeout_ms = -1,
	        .stop_timeout_ns = 300 * VZ_NSEC_PER_MSEC,
	};
	assert_int_equal(vz_pipeline_create(&fx->pipe, &cfg, NULL), 0);
	assert_int_equal(add_gst(fx, "vzkeeper", 3, &err), 0);
	if (vz_pipeline_start(fx->pipe, &err) < 0)
		fail_msg("start: %s", err.msg);
	run_frames(fx, 6, 5);
	assert_int_equal(kept->len, 3); /* at its budget, it holds 3 */
	assert_int_equal(vz_pipeline_stop(fx->pipe, &err), -ETIMEDOUT);
	vz_pipeline_destroy(fx->pipe);
	fx->pipe = NULL;
	unsigned queued = fx->fs.nqueued;
	for (unsigned i = 0; i < kept->len; i++)
		gst_buffer_unref(g_ptr_array_index(kept, i));
	g_ptr_array_free(kept, TRUE);
	kept = NULL;
	/* the frames went home through the runner, to a source that stopped:
	 * nothing queued, nothing freed twice */
	assert_int_equal(fx->fs.nqueued, queued);
	assert_int_equal(fx->fs.queue_errors, 0);
	fx_free(fx);
}

/* Waits for vzkeeper to hold @n buffers, notes their DISCONT flags into
 * @out and lets them go (the source has only so many buffers). */
static void take_flags(struct fx *fx, unsigned n, bool *out)
{
	int64_t end = vz_now_ns() + 3 * VZ_NSEC_PER_SEC;
	while (__atomic_load_n(&kept->len, __ATOMIC_ACQUIRE) < n && vz_now_ns() < end)
		vz_loop_dispatch(fx->loop, 5);
	assert_int_equal(kept->len, n);
	for (unsigned i = 0; i < n; i++) {
		GstBuffer *b = g_ptr_array_index(kept, i);
		out[i] = GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DISCONT);
		gst_buffer_unref(b);
	}
	g_ptr_array_set_size(kept, 0);
	vz_loop_dispatch(fx->loop, 5); /* the releases come home */
}

/* Downstream must know where the stream broke: the first buffer, the one
 * after a discontinuity the source reported (a reconnect), and the one
 * after a sequence gap carry DISCONT; the others do not. */
static void test_discont_marks_every_break(void **state)
{
	struct vz_err err = {0};
	struct fx *fx = fx_new(V4L2_PIX_FMT_YUYV);
	bool got[6];
	(void)state;

	register_keeper();
	kept = g_ptr_array_new();
	assert_int_equal(add_gst(fx, "vzkeeper", 3, &err), 0);
	if (vz_pipeline_start(fx->pipe, &err) < 0)
		fail_msg("start: %s", err.msg);
	run_frames(fx, 2, 5);
	take_flags(fx, 2, got);
	fx->fs.next_discont = true;
	run_frames(fx, 2, 5);
	take_flags(fx, 2, got + 2);
	fx->fs.skip_next = 3;
	run_frames(fx, 2, 5);
	take_flags(fx, 2, got + 4);
	const bool want[6] = {true, false, true, false, true, false};
	for (unsigned i = 0; i < 6; i++)
		if (got[i] != want[i])
			fail_msg("buffer %u: DISCONT %s, expected %s", i, got[i] ? "set" : "clear",
			         want[i] ? "set" : "clear");
	g_ptr_array_free(kept, TRUE);
	kept = NULL;
	stop_ok(fx);
	fx_free(fx);
}

static void test_start_error(void **state)
{
	struct vz_err err = {0};
	struct fx *fx = fx_new(V4L2_PIX_FMT_YUYV);
	(void)state;

	assert_int_equal(add_gst(fx, "filesink location=/nonexistent-dir/x", 2, &err), 0);
	assert_true(vz_pipeline_start(fx->pipe, &err) < 0);
	if (!strstr(err.msg, "filesink0") || !strstr(err.msg, "/nonexistent-dir/x"))
		fail_msg("message: %s", err.msg);
	fx_free(fx);
}

/* "... pts: 0:00:01.040000000, ..." -> ns, -1 if absent */
static int64_t parse_pts(const char *line)
{
	const char *p = strstr(line, "pts: ");
	unsigned h, m, sec;
	unsigned long ns;

	if (!p || sscanf(p, "pts: %u:%u:%u.%lu", &h, &m, &sec, &ns) != 4)
		return -1;
	return ((int64_t)h * 3600 + m * 60 + sec) * VZ_NSEC_PER_SEC + (int64_t)ns;
}

/* EOS on stop lets matroskamux finish the file: GStreamer demuxes it back
 * with every frame, 40 ms apart.  filesink is unbuffered because by default
 * it keeps 64 kB of buffers -- here, every frame vzero has -- before
 * writing (see the report). */
static void test_eos_matroska(void **state)
{
	struct vz_err err = {0};
	struct vz_pipeline_stats st;
	char desc[256], cmd[512], line[512];
	unsigned nframes = 0;
	int64_t first = -1, last = -1;
	struct fx *fx = fx_new(V4L2_PIX_FMT_YUYV);
	FILE *p;
	(void)state;

	snprintf(desc, sizeof(desc),
	         "matroskamux ! filesink buffer-mode=unbuffered location=%s/x.mkv", fx->dir);
	assert_int_equal(add_gst(fx, desc, 8, &err), 0);
	if (vz_pipeline_start(fx->pipe, &err) < 0)
		fail_msg("start: %s", err.msg);
	run_frames(fx, 25, 5);
	stop_ok(fx);
	vz_pipeline_get_stats(fx->pipe, &st);
	print_message("# %s\n", st.sink[0].proof);
	/* A loaded machine may make the muxer fall behind: frames it could not
	 * take are budget drops, counted, never lost silently. */
	assert_int_equal(st.sink[0].frames + st.sink[0].drops_budget, 25);
	assert_true(st.sink[0].frames >= 2);
	assert_int_equal(st.sink[0].released, st.sink[0].frames);

	snprintf(cmd, sizeof(cmd),
	         "gst-launch-1.0 -v filesrc location='%s/x.mkv' ! matroskademux ! "
	         "video/x-raw,format=YUY2,width=64,height=48 ! identity silent=false ! "
	         "fakesink 2>&1",
	         fx->dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		int64_t t;

		if (!strstr(line, "chain ") || (t = parse_pts(line)) < 0)
			continue;
		if (first < 0)
			first = t;
		last = t;
		nframes++;
	}
	assert_int_equal(pclose(p), 0);
	/* every frame the sink took is in the file, EOS finalised it */
	assert_int_equal(nframes, st.sink[0].frames);
	/* PTS follow the capture clock (40 ms apart; matroska keeps ms): a gap
	 * where frames were dropped, never a squeeze */
	int64_t span = last - first, ms = VZ_NSEC_PER_MSEC;
	assert_true(span >= (int64_t)(nframes - 1) * 40 * ms - ms);
	assert_true(span <= 24 * 40 * ms + ms);
	assert_int_equal((span + ms / 2) / ms % 40 <= 1 || (span + ms / 2) / ms % 40 >= 39, 1);
	fx_free(fx);
}

/* ---- GStreamer's debug log (process-wide, so in a process of its own) ---- */

/* The child: a copying filter, so copies are counted while GStreamer's log
 * is hooked; exits non-zero if they were not. */
static void log_child_scenario(void **state)
{
	(void)state;
	struct vz_sink_stats ss = run_desc(V4L2_PIX_FMT_YUYV, "videobalance saturation=0.5 ! "
	                                                      "fakesink enable-last-sample=false");
	assert_true(ss.copies > 0);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Runs this binary as the child with GST_DEBUG=@debug (and GST_DEBUG_FILE
 * when @to_file), its stderr into @dir/stderr. */
static void run_log_child(const char *dir, const char *debug, bool to_file)
{
	char errpath[128], logpath[128];
	snprintf(errpath, sizeof(errpath), "%s/stderr", dir);
	snprintf(logpath, sizeof(logpath), "%s/gst.log", dir);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int out = open("/dev/null", O_WRONLY);
		if (fd < 0 || out < 0 || dup2(fd, 2) < 0 || dup2(out, 1) < 0)
			_exit(126);
		setenv("VZ_TEST_LOG_CHILD", "1", 1);
		setenv("GST_DEBUG", debug, 1);
		setenv("GST_DEBUG_NO_COLOR", "1", 1);
		if (to_file)
			setenv("GST_DEBUG_FILE", logpath, 1);
		else
			unsetenv("GST_DEBUG_FILE");
		execl("/proc/self/exe", "test_gst_caps", (char *)NULL);
		_exit(127);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("the log child failed (status %d): %s", status, slurp(errpath));
}

/* Nothing vzero raised reaches stderr; what the user asked for does, or
 * goes to their GST_DEBUG_FILE, not to stderr. */
static void test_debug_log_untouched(void **state)
{
	(void)state;
	char dir[] = "/tmp/vz-gst-log.XXXXXX";
	assert_non_null(mkdtemp(dir));
	run_log_child(dir, "GST_STATES:4", false);
	char errpath[128];
	snprintf(errpath, sizeof(errpath), "%s/stderr", dir);
	const char *err = slurp(errpath);
	assert_non_null(err);
	if (strstr(err, "GST_PERFORMANCE"))
		fail_msg("GST_PERFORMANCE lines on stderr though GST_DEBUG did not ask: %.300s",
		         strstr(err, "GST_PERFORMANCE"));
	if (!strstr(err, "GST_STATES") || !strstr(err, "to PLAYING"))
		fail_msg("the GST_STATES lines asked for are missing from stderr");

	run_log_child(dir, "GST_STATES:4", true);
	err = slurp(errpath);
	assert_non_null(err);
	if (strstr(err, "GST_STATES"))
		fail_msg("GST_DEBUG_FILE is set, yet GStreamer's log went to stderr: %.300s",
		         strstr(err, "GST_STATES"));
	char logpath[128];
	snprintf(logpath, sizeof(logpath), "%s/gst.log", dir);
	const char *log = slurp(logpath);
	if (!log || !strstr(log, "to PLAYING"))
		fail_msg("the GST_STATES lines are missing from GST_DEBUG_FILE");
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		print_error("could not remove %s\n", dir);
}

#if defined(__SANITIZE_ADDRESS__)
#define VZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VZ_ASAN 1
#endif
#endif
#ifdef VZ_ASAN
/*
 * GLib allocates once-only state in its library constructor and never frees
 * it.  GLib is built without frame pointers, so LeakSanitizer's stacks end
 * at g_malloc and the suppression cannot be narrower than "allocated by
 * GLib".  Leaks of our own (malloc, strdup) are still reported; our
 * GStreamer objects are checked by the tests themselves (every frame
 * released, nothing in flight after stop).
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libglib-2.0.so\n";
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_format),
	        cmocka_unit_test(test_unknown_and_small),
	        cmocka_unit_test(test_nv12_layouts),
	        cmocka_unit_test(test_colorimetry),
	        cmocka_unit_test(test_fakesink_zero_copy),
	        cmocka_unit_test(test_multiplanar_zero_copy),
	        cmocka_unit_test(test_passthrough_counts_nothing),
	        cmocka_unit_test(test_inplace_filter_copies_counted),
	        cmocka_unit_test(test_conversion_is_not_a_copy),
	        cmocka_unit_test(test_padded_strides_need_video_meta),
	        cmocka_unit_test(test_padded_after_a_set_change),
	        cmocka_unit_test(test_late_children_followed),
	        cmocka_unit_test(test_videoconvert_content),
	        cmocka_unit_test(test_videoconvert_content_nm12),
	        cmocka_unit_test(test_slow_downstream_budget),
	        cmocka_unit_test(test_parse_errors),
	        cmocka_unit_test(test_not_negotiated),
	        cmocka_unit_test(test_midstream_error),
	        cmocka_unit_test(test_ended_without_eos_stops),
	        cmocka_unit_test(test_release_after_destroy),
	        cmocka_unit_test(test_discont_marks_every_break),
	        cmocka_unit_test(test_start_error),
	        cmocka_unit_test(test_eos_matroska),
	        cmocka_unit_test(test_debug_log_untouched),
	};
	const struct CMUnitTest child[] = {cmocka_unit_test(log_child_scenario)};

	/* Not GST_PLUGIN_FEATURE_RANK: the sink itself keeps DirectFB's
	 * crashing video sink out of autovideosink's choice (gst-caps.c), and
	 * test_late_children_followed proves it. */
	gst_init(NULL, NULL);
	if (getenv("VZ_TEST_LOG_CHILD"))
		return cmocka_run_group_tests(child, NULL, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#else /* !VZ_HAVE_GST */

static void test_no_gstreamer(void **state)
{
	(void)state;
	skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_gstreamer)};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
