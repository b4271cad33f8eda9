/* SPDX-License-Identifier: MIT */
/*
 * The libcamera backend's C side (capture/libcamera.c) against a fake shim
 * table: no libcamera, no camera.  The fake behaves like
 * capture/libcamera-shim.cpp where the C side can tell: create() keeps the
 * caller's eventfd, allocate() hands out duplicates of memfds (the fake
 * keeps the originals, as libcamera's allocator keeps its DMA-bufs),
 * acquire() and release() reset the disconnect flag and the completion
 * queue, stop() drops what completed.  A test "completes" a request the
 * way libcamera's thread does: it pushes a vz_lcs_done and adds one to the
 * eventfd.
 *
 * The fake also sees what no real camera shows a test: which requests are
 * queued right now (a buffer a sink holds must not be), every double
 * queue, and whether its own fds were all closed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "capture/libcamera-internal.h"
#include "clock.h"
#include "format.h"

#define DRM_BG24   VZ_FOURCC('B', 'G', '2', '4')
#define FAKE_W     64u
#define FAKE_H     48u
#define FAKE_FRAME (FAKE_W * FAKE_H * 3u)
#define FAKE_QMAX  64
/* Buffer i of the fake's allocations starts out filled with this. */
#define FILL(i) ((uint8_t)(0xa0u + (i)))

/* ---- the fake shim ---- */

struct vz_lcs {
	int event_fd;
	bool acquired, configured, running;
	char id[256];
	struct vz_lcs_config cfg;
};

static struct fake {
	unsigned ncams;
	bool absent;                        /* acquire(): -ENODEV */
	bool disconnected;                  /* what disconnected() says */
	int acquire_error, configure_error; /* what they fail with, 0: nothing */
	uint32_t stride, frame_size;        /* what configure() gives, 0: packed */
	int efd;                            /* the caller's eventfd, from create() */
	unsigned live;                      /* shims created and not destroyed */
	unsigned creates, destroys, acquires, configures, allocates, starts, stops, releases,
	        forgets, pops, queues, double_queues;
	char acquired_id[256];
	struct vz_lcs_config cfg_in; /* what the last configure() was asked */
	/* The allocator's buffers: the fake's own memfds. */
	unsigned nbuf;
	int fds[VZ_MAX_BUFFERS];
	bool queued[VZ_MAX_BUFFERS];
	/* Completed, not yet popped. */
	struct vz_lcs_done q[FAKE_QMAX];
	unsigned qhead, qtail;
	int64_t last_ts;
} F;

static const struct {
	const char *id, *model;
} cams[] = {
        {"platform/vimc.0 Sensor B", "Sensor B"},
        {"\\_SB_.PCI0.XHC_.RHUB.HS01-1:1.0-046d:0825", "HD Webcam C270"},
};

static void fake_drain(void)
{
	uint64_t v;
	while (F.efd >= 0 && read(F.efd, &v, sizeof(v)) > 0) {
	}
	F.qhead = F.qtail = 0;
}

static void fake_free_buffers(void)
{
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++) {
		if (F.fds[i] >= 0)
			close(F.fds[i]);
		F.fds[i] = -1;
		F.queued[i] = false;
	}
	F.nbuf = 0;
}

static int fake_create(struct vz_lcs **out, int event_fd, struct vz_err *err)
{
	(void)err;
	struct vz_lcs *l = calloc(1, sizeof(*l));
	assert_non_null(l);
	l->event_fd = event_fd;
	F.efd = event_fd;
	F.creates++;
	F.live++;
	*out = l;
	return 0;
}

static void fake_stop(struct vz_lcs *l)
{
	if (!l->running)
		return;
	F.stops++;
	l->running = false;
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++)
		F.queued[i] = false;
	fake_drain();
}

static void fake_release(struct vz_lcs *l)
{
	if (!l->acquired)
		return;
	F.releases++;
	fake_stop(l);
	fake_free_buffers();
	l->acquired = l->configured = false;
	fake_drain();
	F.disconnected = false;
}

static void fake_destroy(struct vz_lcs *l)
{
	if (!l)
		return;
	fake_release(l);
	F.destroys++;
	F.live--;
	F.efd = -1;
	free(l);
}

static unsigned fake_count(struct vz_lcs *l)
{
	(void)l;
	return F.ncams;
}

static int fake_describe(struct vz_lcs *l, unsigned index, struct vz_lcs_camera *out,
                         struct vz_err *err)
{
	(void)l;
	memset(out, 0, sizeof(*out));
	if (index >= F.ncams)
		return vz_err_set(err, -ENODEV, "fake: no camera %u", index);
	snprintf(out->id, sizeof(out->id), "%s", cams[index].id);
	snprintf(out->model, sizeof(out->model), "%s", cams[index].model);
	out->nfmt = 1;
	out->fmt[0].drm_fourcc = DRM_BG24;
	snprintf(out->fmt[0].name, sizeof(out->fmt[0].name), "BGR888");
	out->fmt[0].min_w = 16;
	out->fmt[0].min_h = 16;
	out->fmt[0].max_w = 4096;
	out->fmt[0].max_h = 2160;
	out->fmt[0].step_w = out->fmt[0].step_h = 1;
	out->fmt[0].nsizes = 1;
	out->fmt[0].sizes[0][0] = FAKE_W;
	out->fmt[0].sizes[0][1] = FAKE_H;
	return 0;
}

static int fake_acquire(struct vz_lcs *l, const char *id, struct vz_err *err)
{
	fake_release(l); /* as the real shim does */
	F.acquires++;
	bool known = false;
	for (unsigned i = 0; i < F.ncams; i++)
		known |= !strcmp(cams[i].id, id);
	if (F.absent || !known)
		return vz_err_set(err, -ENODEV, "fake: camera '%s' is not present", id);
	if (F.acquire_error)
		return vz_err_set(err, F.acquire_error, "fake: camera '%s' is busy", id);
	l->acquired = true;
	snprintf(l->id, sizeof(l->id), "%s", id);
	snprintf(F.acquired_id, sizeof(F.acquired_id), "%s", id);
	F.disconnected = false;
	return 0;
}

static int fake_configure(struct vz_lcs *l, struct vz_lcs_config *cfg, struct vz_err *err)
{
	F.configures++;
	F.cfg_in = *cfg;
	if (!l->acquired)
		return vz_err_set(err, -ENODEV, "fake: no camera acquired");
	if (F.configure_error)
		return vz_err_set(err, F.configure_error, "fake: configure failed");
	/* One format, one size: whatever is asked, this is what it gets. */
	bool adjusted = (cfg->drm_fourcc && cfg->drm_fourcc != DRM_BG24) ||
	                (cfg->width && (cfg->width != FAKE_W || cfg->height != FAKE_H));
	cfg->drm_fourcc = DRM_BG24;
	cfg->width = FAKE_W;
	cfg->height = FAKE_H;
	cfg->stride = F.stride ? F.stride : FAKE_W * 3;
	cfg->frame_size = F.frame_size ? F.frame_size : FAKE_FRAME;
	if (!cfg->buffers)
		cfg->buffers = 4;
	snprintf(cfg->fmt_name, sizeof(cfg->fmt_name), "BGR888");
	cfg->adjusted = adjusted;
	snprintf(cfg->adjusted_to, sizeof(cfg->adjusted_to), "BGR888 %ux%u, %u buffers", FAKE_W,
	         FAKE_H, cfg->buffers);
	l->cfg = *cfg;
	l->configured = true;
	return 0;
}

static int fake_allocate(struct vz_lcs *l, unsigned *count, unsigned *nplanes,
                         struct vz_lcs_plane planes[][VZ_MAX_PLANES], struct vz_err *err)
{
	F.allocates++;
	if (!l->acquired || !l->configured)
		return vz_err_set(err, -EINVAL, "fake: allocate before configure");
	fake_free_buffers();
	unsigned n = l->cfg.buffers;
	if (n > *count)
		return vz_err_set(err, -ENOBUFS, "fake: %u buffers, room for %u", n, *count);
	uint32_t size = l->cfg.frame_size;
	for (unsigned i = 0; i < n; i++) {
		int fd = memfd_create("fake-libcamera", MFD_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, size), 0);
		uint8_t *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		assert_true(m != MAP_FAILED);
		memset(m, FILL(i), size);
		munmap(m, size);
		F.fds[i] = fd;
		planes[i][0].fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		assert_true(planes[i][0].fd >= 0);
		planes[i][0].offset = 0;
		planes[i][0].length = size;
		planes[i][0].same_fd_as_prev = false;
	}
	F.nbuf = n;
	*count = n;
	*nplanes = 1;
	return 0;
}

static int fake_start(struct vz_lcs *l, struct vz_err *err)
{
	if (!l->acquired)
		return vz_err_set(err, -ENODEV, "fake: no camera");
	F.starts++;
	l->running = true;
	return 0;
}

static int fake_queue(struct vz_lcs *l, unsigned index, struct vz_err *err)
{
	F.queues++;
	if (index >= F.nbuf)
		return vz_err_set(err, -EINVAL, "fake: no request %u", index);
	if (F.queued[index]) {
		F.double_queues++;
		return vz_err_set(err, -EBUSY, "fake: request %u queued twice", index);
	}
	(void)l;
	F.queued[index] = true;
	return 0;
}

static int fake_pop(struct vz_lcs *l, struct vz_lcs_done *out)
{
	(void)l;
	if (F.qhead == F.qtail)
		return 0;
	F.pops++;
	*out = F.q[F.qhead++ % FAKE_QMAX];
	return 1;
}

static bool fake_disconnected(struct vz_lcs *l)
{
	(void)l;
	return F.disconnected;
}

static void fake_forget(struct vz_lcs *l)
{
	(void)l;
	F.forgets++;
}

static const struct vz_lcs_api fake_api = {
        .abi = VZ_LCS_ABI,
        .version = "v0.0.3-fake",
        .create = fake_create,
        .destroy = fake_destroy,
        .count = fake_count,
        .describe = fake_describe,
        .acquire = fake_acquire,
        .configure = fake_configure,
        .allocate = fake_allocate,
        .start = fake_start,
        .queue = fake_queue,
        .stop = fake_stop,
        .release = fake_release,
        .pop = fake_pop,
        .disconnected = fake_disconnected,
        .forget = fake_forget,
};

/* ---- what libcamera's thread would do ---- */

static void signal_one(void)
{
	uint64_t one = 1;
	assert_true(F.efd >= 0);
	assert_int_equal(write(F.efd, &one, sizeof(one)), (ssize_t)sizeof(one));
}

/* A good completion of request @index, sequence @seq, stamped now. */
static struct vz_lcs_done done_of(unsigned index, uint32_t seq)
{
	struct vz_lcs_done d;
	memset(&d, 0, sizeof(d));
	d.index = index;
	d.status = VZ_LCS_FRAME_OK;
	d.sequence = seq;
	int64_t now = vz_now_ns();
	int64_t ts = now - 100 * VZ_NSEC_PER_USEC;
	if (ts <= F.last_ts)
		ts = F.last_ts + 1000;
	F.last_ts = ts;
	d.timestamp_ns = (uint64_t)ts;
	d.t_completed_ns = now > ts ? now : ts + 1;
	d.nplanes = 1;
	d.bytesused[0] = FAKE_FRAME;
	return d;
}

/* libcamera completes only what was queued. */
static void complete(const struct vz_lcs_done *d)
{
	assert_true(d->index < F.nbuf);
	assert_true(F.queued[d->index]);
	F.queued[d->index] = false;
	assert_true(F.qtail - F.qhead < FAKE_QMAX);
	F.q[F.qtail++ % FAKE_QMAX] = *d;
	signal_one();
}

static unsigned fake_nqueued(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++)
		n += F.queued[i];
	return n;
}

/* ---- fixtures ---- */

static int setup(void **state)
{
	(void)state;
	memset(&F, 0, sizeof(F));
	F.ncams = 2;
	F.efd = -1;
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++)
		F.fds[i] = -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	/* Every shim destroyed, so every one of the fake's fds closed. */
	assert_int_equal(F.live, 0);
	assert_int_equal(F.creates, F.destroys);
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++)
		assert_int_equal(F.fds[i], -1);
	return 0;
}

static struct vz_capture_config config_for(const char *sel)
{
	struct vz_capture_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.device = sel;
	return cfg;
}

static struct vz_lc *open_ok(const struct vz_capture_config *cfg)
{
	struct vz_lc *c = NULL;
	struct vz_err err = {0};
	int r = vz_lc_open(&c, &fake_api, cfg, &err);
	if (r != 0)
		fail_msg("vz_lc_open(%s): %d %s", cfg->device, r, err.msg);
	assert_non_null(c);
	return c;
}

static struct vz_lc *open_sel(const char *sel)
{
	struct vz_capture_config cfg = config_for(sel);
	return open_ok(&cfg);
}

/* Opens, allocates and starts; *@src is the source. */
static struct vz_lc *open_streaming(struct vz_source *src)
{
	struct vz_lc *c = open_sel("libcamera:");
	*src = vz_lc_source(c);
	struct vz_err err = {0};
	assert_int_equal(src->ops->alloc(src->impl, NULL, &err), 0);
	assert_int_equal(src->ops->start(src->impl, &err), 0);
	return c;
}

static int next(struct vz_source *src, struct vz_frame_info *fi, struct vz_err *err)
{
	return src->ops->next(src->impl, POLLIN, fi, err);
}

static struct vz_source_stats stats_of(struct vz_source *src)
{
	struct vz_source_stats st;
	src->ops->stats(src->impl, &st);
	return st;
}

static void assert_invariant(const struct vz_source_stats *st)
{
	assert_int_equal(st->frames + st->driver_drops + st->error_frames, st->seq_span);
}

static bool readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static unsigned count_fds(void)
{
	unsigned n = 0;
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* ---- 1. selectors ---- */

static void test_selector(void **state)
{
	(void)state;
	const char *name = NULL;
	assert_int_equal(vz_lc_parse_selector("libcamera:", &name), -1);
	assert_int_equal(vz_lc_parse_selector("libcamera:0", &name), 0);
	assert_int_equal(vz_lc_parse_selector("libcamera:3", &name), 3);
	assert_int_equal(vz_lc_parse_selector("libcamera:12", &name), 12);
	name = NULL;
	assert_int_equal(vz_lc_parse_selector("libcamera:Sensor", &name), -2);
	assert_non_null(name);
	assert_string_equal(name, "Sensor");
	assert_int_equal(vz_lc_parse_selector("libcamera:3x", &name), -2);
	assert_string_equal(name, "3x");
	assert_int_equal(vz_lc_parse_selector("libcamera:-1", &name), -2);
	assert_int_equal(vz_lc_parse_selector("libcamera: 3", &name), -2);
	assert_int_equal(vz_lc_parse_selector("libcamera:platform/vimc.0 Sensor B", &name), -2);
	assert_string_equal(name, "platform/vimc.0 Sensor B");
}

/* ---- 2. fourccs ---- */

static void test_fourcc(void **state)
{
	(void)state;
	assert_int_equal(vz_lc_drm_to_v4l2(DRM_BG24), V4L2_PIX_FMT_RGB24);
	assert_int_equal(vz_lc_v4l2_to_drm(V4L2_PIX_FMT_RGB24), DRM_BG24);
	assert_int_equal(vz_lc_drm_to_v4l2(VZ_FOURCC('R', 'G', '2', '4')), V4L2_PIX_FMT_BGR24);
	assert_int_equal(vz_lc_v4l2_to_drm(V4L2_PIX_FMT_BGR24), VZ_FOURCC('R', 'G', '2', '4'));
	assert_int_equal(vz_lc_drm_to_v4l2(VZ_FOURCC('Y', 'U', 'Y', 'V')), V4L2_PIX_FMT_YUYV);
	assert_int_equal(vz_lc_v4l2_to_drm(V4L2_PIX_FMT_YUYV), VZ_FOURCC('Y', 'U', 'Y', 'V'));
	assert_int_equal(vz_lc_drm_to_v4l2(VZ_FOURCC('N', 'V', '1', '2')), V4L2_PIX_FMT_NV12);
	/* Unknown both ways. */
	assert_int_equal(vz_lc_drm_to_v4l2(VZ_FOURCC('Q', 'Q', 'Q', 'Q')), 0);
	assert_int_equal(vz_lc_v4l2_to_drm(V4L2_PIX_FMT_MJPEG), 0);
	assert_int_equal(vz_lc_drm_to_v4l2(0), 0);
	/* Every pair goes back to where it came from. */
	static const uint32_t drm[] = {
	        VZ_FOURCC('B', 'G', '2', '4'), VZ_FOURCC('R', 'G', '2', '4'),
	        VZ_FOURCC('X', 'R', '2', '4'), VZ_FOURCC('Y', 'U', 'Y', 'V'),
	        VZ_FOURCC('U', 'Y', 'V', 'Y'), VZ_FOURCC('N', 'V', '1', '2'),
	        VZ_FOURCC('Y', 'U', '1', '2'), VZ_FOURCC('R', '8', ' ', ' '),
	};
	for (size_t i = 0; i < sizeof(drm) / sizeof(drm[0]); i++) {
		uint32_t v = vz_lc_drm_to_v4l2(drm[i]);
		assert_int_not_equal(v, 0);
		assert_int_equal(vz_lc_v4l2_to_drm(v), drm[i]);
	}
}

/* ---- 3. the SensorTimestamp clock ---- */

static void test_sensor_clock(void **state)
{
	(void)state;
	const int64_t buf = 1000 * VZ_NSEC_PER_SEC;
	const int64_t five = 5 * VZ_NSEC_PER_SEC;
	int64_t mono = 0;

	/* Never suspended: the clocks cannot be told apart. */
	assert_int_equal(vz_lc_sensor_clock(buf, buf, 0, &mono), VZ_LC_CLOCK_EITHER);
	assert_int_equal(mono, buf);

	/* 5 s apart, the sensor reads the buffer's clock: CLOCK_MONOTONIC. */
	mono = 0;
	assert_int_equal(vz_lc_sensor_clock(buf, buf, five, &mono), VZ_LC_CLOCK_MONOTONIC);
	assert_int_equal(mono, buf);

	/* 5 s ahead of the buffer timestamp: CLOCK_BOOTTIME. */
	mono = 0;
	assert_int_equal(vz_lc_sensor_clock(buf + five, buf, five, &mono), VZ_LC_CLOCK_BOOTTIME);
	assert_int_equal(mono, buf);

	/* Start of exposure somewhat before the end-of-frame timestamp. */
	const int64_t exp = 20 * VZ_NSEC_PER_MSEC;
	assert_int_equal(vz_lc_sensor_clock(buf - exp + five, buf, five, &mono),
	                 VZ_LC_CLOCK_BOOTTIME);
	assert_int_equal(mono, buf - exp);
	assert_int_equal(vz_lc_sensor_clock(buf - exp, buf, five, &mono), VZ_LC_CLOCK_MONOTONIC);
	assert_int_equal(mono, buf - exp);

	/* Half a millisecond apart: too close to judge. */
	assert_int_equal(vz_lc_sensor_clock(buf, buf, VZ_NSEC_PER_MSEC / 2, &mono),
	                 VZ_LC_CLOCK_EITHER);
	assert_int_equal(
	        vz_lc_sensor_clock(buf + VZ_NSEC_PER_MSEC / 2, buf, VZ_NSEC_PER_MSEC / 2, &mono),
	        VZ_LC_CLOCK_EITHER);
}

/* ---- 4. device events ---- */

static const char uevent_remove[] = "remove@/devices/platform/vimc.0/media1\0ACTION=remove\0"
                                    "SUBSYSTEM=media\0MAJOR=243\0MINOR=1\0DEVNAME=media1\0"
                                    "SEQNUM=4711";
static const char uevent_add[] = "add@/devices/platform/vimc.0/media1\0ACTION=add\0"
                                 "SUBSYSTEM=media\0MAJOR=243\0MINOR=1\0DEVNAME=media1\0"
                                 "SEQNUM=4712";
static const char uevent_other[] = "remove@/devices/platform/vimc.0/media2\0ACTION=remove\0"
                                   "SUBSYSTEM=media\0MAJOR=243\0MINOR=2\0DEVNAME=media2\0"
                                   "SEQNUM=4713";
static const char uevent_nodev[] = "remove@/devices/platform/vimc.0\0ACTION=remove\0"
                                   "SUBSYSTEM=platform\0SEQNUM=4714";

static void test_uevent(void **state)
{
	(void)state;
	const dev_t one[] = {makedev(243, 1)};
	const dev_t many[] = {makedev(81, 0), makedev(81, 3), makedev(243, 1)};
	/* sizeof includes the literal's closing NUL: the last KEY=VALUE is
	 * terminated, as the kernel's are. */
	assert_true(vz_lc_uevent_removes(uevent_remove, sizeof(uevent_remove), one, 1));
	assert_true(vz_lc_uevent_removes(uevent_remove, sizeof(uevent_remove), many, 3));
	assert_false(vz_lc_uevent_removes(uevent_remove, sizeof(uevent_remove), many, 2));
	assert_false(vz_lc_uevent_removes(uevent_remove, sizeof(uevent_remove), one, 0));
	assert_false(vz_lc_uevent_removes(uevent_add, sizeof(uevent_add), one, 1));
	assert_false(vz_lc_uevent_removes(uevent_other, sizeof(uevent_other), one, 1));
	assert_false(vz_lc_uevent_removes(uevent_nodev, sizeof(uevent_nodev), one, 1));
	/* Only the first @len bytes count: cut before ACTION=remove. */
	size_t header = strlen(uevent_remove) + 1;
	assert_false(vz_lc_uevent_removes(uevent_remove, header, one, 1));
	/* ACTION must be exactly "remove". */
	static const char removed[] = "x@/y\0ACTION=removed\0MAJOR=243\0MINOR=1";
	assert_false(vz_lc_uevent_removes(removed, sizeof(removed), one, 1));
	/* MAJOR 24 is not 243. */
	static const char maj24[] = "remove@/y\0ACTION=remove\0MAJOR=24\0MINOR=1";
	assert_false(vz_lc_uevent_removes(maj24, sizeof(maj24), one, 1));
}

/* ---- 5. open ---- */

static void test_open_first(void **state)
{
	(void)state;
	struct vz_lc *c = open_sel("libcamera:");
	assert_string_equal(F.acquired_id, cams[0].id);
	assert_string_equal(vz_lc_path(c), "libcamera:platform/vimc.0 Sensor B");
	assert_string_equal(vz_lc_model(c), "Sensor B");
	assert_string_equal(vz_lc_driver(c), "libcamera v0.0.3-fake");
	/* The default: no format, size or rate asked; 4 buffers. */
	assert_int_equal(F.cfg_in.drm_fourcc, 0);
	assert_int_equal(F.cfg_in.width, 0);
	assert_int_equal(F.cfg_in.want_frame_ns, 0);
	assert_int_equal(F.cfg_in.buffers, VZ_CAPTURE_DEFAULT_BUFFERS);

	struct vz_source src = vz_lc_source(c);
	assert_string_equal(src.ops->name, "libcamera");
	const struct vz_format *f = src.ops->format(src.impl);
	char fcc[5];
	assert_string_equal(vz_fourcc_str(f->fourcc, fcc), "RGB3");
	assert_int_equal(f->width, FAKE_W);
	assert_int_equal(f->height, FAKE_H);
	assert_int_equal(f->num_mem, 1);
	assert_int_equal(f->num_planes, 1);
	assert_int_equal(f->plane[0].stride, 192);
	assert_int_equal(f->mem_size[0], FAKE_FRAME);
	assert_int_equal(src.ops->buffers_wanted(src.impl), 4);
	/* No buffers before alloc, nothing in the driver. */
	assert_null(src.ops->buffers(src.impl));
	assert_int_equal(src.ops->queued(src.impl), 0);
	/* A pollable, non-blocking fd that says nothing yet. */
	int fd = src.ops->fd(src.impl);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	vz_lc_close(c);
	assert_int_equal(F.destroys, 1);
}

static void test_open_by_index(void **state)
{
	(void)state;
	struct vz_lc *c = open_sel("libcamera:1");
	assert_string_equal(F.acquired_id, cams[1].id);
	assert_string_equal(vz_lc_model(c), "HD Webcam C270");
	vz_lc_close(c);
	c = open_sel("libcamera:0");
	assert_string_equal(F.acquired_id, cams[0].id);
	vz_lc_close(c);
}

static void test_open_by_name(void **state)
{
	(void)state;
	/* A model substring, any case. */
	struct vz_lc *c = open_sel("libcamera:WEBCAM");
	assert_string_equal(F.acquired_id, cams[1].id);
	vz_lc_close(c);
	c = open_sel("libcamera:sensor b");
	assert_string_equal(F.acquired_id, cams[0].id);
	vz_lc_close(c);
	/* An id substring. */
	c = open_sel("libcamera:046D:0825");
	assert_string_equal(F.acquired_id, cams[1].id);
	assert_string_equal(vz_lc_path(c), "libcamera:\\_SB_.PCI0.XHC_.RHUB.HS01-1:1.0-046d:0825");
	vz_lc_close(c);
	/* The whole id. */
	c = open_sel("libcamera:platform/vimc.0 Sensor B");
	assert_string_equal(F.acquired_id, cams[0].id);
	vz_lc_close(c);
}

static void test_open_no_match(void **state)
{
	(void)state;
	struct vz_capture_config cfg = config_for("libcamera:nikon");
	struct vz_lc *c = (struct vz_lc *)&cfg; /* must be reset */
	struct vz_err err = {0};
	int r = vz_lc_open(&c, &fake_api, &cfg, &err);
	assert_int_equal(r, -ENODEV);
	assert_int_equal(err.code, -ENODEV);
	assert_null(c);
	/* The message lists what there is. */
	assert_non_null(strstr(err.msg, "libcamera:nikon"));
	assert_non_null(strstr(err.msg, "there are 2"));
	assert_non_null(strstr(err.msg, "Sensor B"));
	assert_non_null(strstr(err.msg, "HD Webcam C270"));
	assert_non_null(strstr(err.msg, "platform/vimc.0 Sensor B"));
	assert_int_equal(F.acquires, 0);

	/* An index past the end. */
	cfg = config_for("libcamera:2");
	vz_err_clear(&err);
	assert_int_equal(vz_lc_open(&c, &fake_api, &cfg, &err), -ENODEV);
	assert_null(c);
	assert_non_null(strstr(err.msg, "HD Webcam C270"));

	/* One camera: "there is 1". */
	F.ncams = 1;
	cfg = config_for("libcamera:webcam");
	vz_err_clear(&err);
	assert_int_equal(vz_lc_open(&c, &fake_api, &cfg, &err), -ENODEV);
	assert_non_null(strstr(err.msg, "there is 1"));
	assert_null(strstr(err.msg, "HD Webcam"));
	assert_int_equal(F.live, 0);
}

static void test_open_no_camera(void **state)
{
	(void)state;
	F.ncams = 0;
	struct vz_capture_config cfg = config_for("libcamera:");
	struct vz_lc *c = NULL;
	struct vz_err err = {0};
	assert_int_equal(vz_lc_open(&c, &fake_api, &cfg, &err), -ENODEV);
	assert_null(c);
	assert_non_null(strstr(err.msg, "vimc"));
	assert_non_null(strstr(err.msg, "udev"));
	assert_non_null(strstr(err.msg, "v0.0.3-fake"));
	assert_int_equal(F.live, 0);
}

static void test_open_absent(void **state)
{
	(void)state;
	/* Listed, but gone by the time it is acquired. */
	F.absent = true;
	struct vz_capture_config cfg = config_for("libcamera:0");
	struct vz_lc *c = NULL;
	struct vz_err err = {0};
	assert_int_equal(vz_lc_open(&c, &fake_api, &cfg, &err), -ENODEV);
	assert_null(c);
	assert_non_null(strstr(err.msg, "not present"));
	assert_int_equal(F.live, 0);
}

static void test_open_format(void **state)
{
	(void)state;
	struct vz_lc *c = NULL;
	struct vz_err err = {0};

	/* A fourcc vzero has no libcamera name for. */
	struct vz_capture_config cfg = config_for("libcamera:");
	cfg.fourcc = V4L2_PIX_FMT_MJPEG;
	assert_int_equal(vz_lc_open(&c, &fake_api, &cfg, &err), -EINVAL);
	assert_null(c);
	assert_non_null(strstr(err.msg, "-f MJPG"));
	assert_int_equal(F.configures, 0);

	/* One libcamera knows, but the camera does not stream. */
	cfg.fourcc = V4L2_PIX_FMT_YUYV;
	vz_err_clear(&err);
	assert_int_equal(vz_lc_open(&c, &fake_api, &cfg, &err), -EINVAL);
	assert_null(c);
	assert_int_equal(F.cfg_in.drm_fourcc, VZ_FOURCC('Y', 'U', 'Y', 'V'));
	assert_non_null(strstr(err.msg, "-f YUYV"));
	assert_non_null(strstr(err.msg, "BGR888"));

	/* A size it adjusts. */
	cfg.fourcc = 0;
	cfg.width = 640;
	cfg.height = 480;
	vz_err_clear(&err);
	assert_int_equal(vz_lc_open(&c, &fake_api, &cfg, &err), -EINVAL);
	assert_null(c);
	assert_int_equal(F.cfg_in.width, 640);
	assert_non_null(strstr(err.msg, "640x480"));
	assert_non_null(strstr(err.msg, "64x48"));
	assert_int_equal(F.live, 0);

	/* What it streams, asked by V4L2 name, goes to libcamera by DRM's;
	 * the rate as a frame duration; the buffer count as asked. */
	cfg.fourcc = V4L2_PIX_FMT_RGB24;
	cfg.width = FAKE_W;
	cfg.height = FAKE_H;
	cfg.fps_num = 30;
	cfg.fps_den = 1;
	cfg.buffers = 6;
	c = open_ok(&cfg);
	assert_int_equal(F.cfg_in.drm_fourcc, DRM_BG24);
	assert_int_equal(F.cfg_in.width, FAKE_W);
	assert_int_equal(F.cfg_in.buffers, 6);
	assert_int_equal(F.cfg_in.want_frame_ns, 33333333);
	struct vz_source src = vz_lc_source(c);
	assert_int_equal(src.ops->buffers_wanted(src.impl), 6);
	const struct vz_format *f = src.ops->format(src.impl);
	assert_int_equal(f->fourcc, V4L2_PIX_FMT_RGB24);
	assert_int_equal(vz_format_interval_ns(f), 33333333);
	assert_int_equal(src.ops->alloc(src.impl, NULL, &err), 0);
	assert_int_equal(src.ops->buffers(src.impl)->count, 6);
	vz_lc_close(c);
}

/* libcamera's stride and frame size, not vzero's packed ones. */
static void test_open_padded(void **state)
{
	(void)state;
	F.stride = 256;
	F.frame_size = 16384; /* 256 * 48 = 12288, rounded up to pages */
	struct vz_lc *c = open_sel("libcamera:");
	struct vz_source src = vz_lc_source(c);
	const struct vz_format *f = src.ops->format(src.impl);
	assert_int_equal(f->plane[0].stride, 256);
	assert_int_equal(f->plane[0].height, FAKE_H);
	assert_int_equal(f->mem_size[0], 16384);
	struct vz_err err = {0};
	assert_int_equal(src.ops->alloc(src.impl, NULL, &err), 0);
	struct vz_buffer_set *s = src.ops->buffers(src.impl);
	assert_int_equal(s->fmt.plane[0].stride, 256);
	assert_int_equal(s->buf[0].mem[0].length, 16384);
	assert_int_equal(src.ops->start(src.impl, &err), 0);
	/* A frame of the packed size is short of this layout. */
	struct vz_lcs_done d = done_of(0, 0);
	d.bytesused[0] = 256 * FAKE_H;
	complete(&d);
	struct vz_frame_info fi;
	assert_int_equal(next(&src, &fi, &err), 1);
	d = done_of(1, 1);
	d.bytesused[0] = FAKE_FRAME;
	complete(&d);
	assert_int_equal(next(&src, &fi, &err), 0);
	assert_int_equal(stats_of(&src).short_frames, 1);
	vz_lc_close(c);
}

/* ---- 6. streaming ---- */

static void noop_destroy(struct vz_buffer_set *s)
{
	(void)s;
}

static void test_alloc(void **state)
{
	(void)state;
	struct vz_lc *c = open_sel("libcamera:");
	struct vz_source src = vz_lc_source(c);
	struct vz_err err = {0};

	/* It cannot import a sink's buffers. */
	static const struct vz_buffer_set_ops noop_ops = {.destroy = noop_destroy};
	struct vz_buffer_set provided;
	vz_buffer_set_init(&provided, &noop_ops);
	assert_int_equal(src.ops->alloc(src.impl, &provided, &err), -ENOTSUP);
	assert_int_equal(provided.refs, 1);
	assert_null(src.ops->buffers(src.impl));
	assert_int_equal(F.allocates, 0);

	vz_err_clear(&err);
	assert_int_equal(src.ops->alloc(src.impl, NULL, &err), 0);
	struct vz_buffer_set *s = src.ops->buffers(src.impl);
	assert_non_null(s);
	assert_int_equal(s->count, 4);
	assert_true(s->generation >= 1);
	assert_int_equal(s->fmt.fourcc, V4L2_PIX_FMT_RGB24);
	assert_int_equal(s->fmt.plane[0].stride, 192);
	assert_non_null(strstr(s->origin, "read-write"));
	for (unsigned i = 0; i < s->count; i++) {
		const struct vz_buffer *b = &s->buf[i];
		assert_int_equal(b->index, i);
		assert_int_equal(b->num_mem, 1);
		assert_true(b->mem[0].fd_rw >= 0);
		assert_int_equal(b->mem[0].fd_ro, -1);
		assert_non_null(b->mem[0].map);
		assert_true(b->mem[0].length >= FAKE_FRAME);
		/* Its own duplicate, not the fake's fd ... */
		assert_int_not_equal(b->mem[0].fd_rw, F.fds[i]);
		/* ... of buffer i's memory. */
		const uint8_t *m = b->mem[0].map;
		assert_int_equal(m[0], FILL(i));
		assert_int_equal(m[FAKE_FRAME - 1], FILL(i));
	}
	/* Nothing queued before start. */
	assert_int_equal(fake_nqueued(), 0);
	assert_int_equal(src.ops->queued(src.impl), 0);

	/* A second allocation: a new set, the next generation. */
	uint32_t gen = s->generation;
	assert_int_equal(src.ops->alloc(src.impl, NULL, &err), 0);
	assert_int_equal(src.ops->buffers(src.impl)->generation, gen + 1);

	/* Start queues every buffer, once. */
	assert_int_equal(src.ops->start(src.impl, &err), 0);
	assert_int_equal(F.starts, 1);
	assert_int_equal(fake_nqueued(), 4);
	assert_int_equal(src.ops->queued(src.impl), 4);
	assert_int_equal(F.double_queues, 0);
	/* No allocation while streaming. */
	vz_err_clear(&err);
	assert_int_equal(src.ops->alloc(src.impl, NULL, &err), -EBUSY);
	assert_int_equal(src.ops->stop(src.impl, &err), 0);
	assert_int_equal(F.stops, 1);
	assert_int_equal(src.ops->queued(src.impl), 0);
	vz_lc_close(c);
}

static void test_start_allocates(void **state)
{
	(void)state;
	struct vz_lc *c = open_sel("libcamera:");
	struct vz_source src = vz_lc_source(c);
	struct vz_err err = {0};
	assert_int_equal(src.ops->start(src.impl, &err), 0);
	assert_non_null(src.ops->buffers(src.impl));
	assert_int_equal(F.allocates, 1);
	assert_int_equal(fake_nqueued(), 4);
	/* Starting twice changes nothing. */
	assert_int_equal(src.ops->start(src.impl, &err), 0);
	assert_int_equal(F.starts, 1);
	assert_int_equal(F.double_queues, 0);
	vz_lc_close(c);
}

static void test_streaming(void **state)
{
	(void)state;
	struct vz_source src;
	struct vz_lc *c = open_streaming(&src);
	struct vz_err err = {0};
	struct vz_frame_info fi;
	uint32_t gen = src.ops->buffers(src.impl)->generation;
	int fd = src.ops->fd(src.impl);

	/* Nothing completed: nothing to deliver. */
	assert_int_equal(next(&src, &fi, &err), 0);

	/* Buffer 0, sequence 10. */
	struct vz_lcs_done d = done_of(0, 10);
	complete(&d);
	assert_true(readable(fd));
	memset(&fi, 0xff, sizeof(fi));
	assert_int_equal(next(&src, &fi, &err), 1);
	assert_int_equal(fi.index, 0);
	assert_int_equal(fi.sequence, 10);
	assert_int_equal(fi.gap, 0);
	assert_int_equal(fi.t_driver_ns, (int64_t)d.timestamp_ns);
	assert_true(fi.ts_monotonic);
	assert_int_equal(fi.t_sensor_ns, 0);
	assert_int_equal(fi.bytesused[0], FAKE_FRAME);
	assert_int_equal(fi.session, 0);
	assert_false(fi.discont);
	assert_false(fi.ts_jump);
	assert_int_equal(next(&src, &fi, &err), 0);

	/* Buffer 1, sequence 13: two lost before it. */
	d = done_of(1, 13);
	complete(&d);
	assert_int_equal(next(&src, &fi, &err), 1);
	assert_int_equal(fi.index, 1);
	assert_int_equal(fi.sequence, 13);
	assert_int_equal(fi.gap, 2);
	struct vz_source_stats st = stats_of(&src);
	assert_int_equal(st.frames, 2);
	assert_int_equal(st.driver_drops, 2);
	assert_int_equal(st.seq_span, 4);
	assert_int_equal(st.error_frames, 0);
	assert_int_equal(st.sessions, 1);
	assert_invariant(&st);

	/* Held buffers stay out of the camera until queue(). */
	assert_false(F.queued[0]);
	assert_false(F.queued[1]);
	assert_int_equal(src.ops->queued(src.impl), 2);
	assert_int_equal(next(&src, &fi, &err), 0);
	assert_false(F.queued[0]);
	assert_int_equal(src.ops->queue(src.impl, gen, 0, &err), 0);
	assert_true(F.queued[0]);
	assert_false(F.queued[1]);
	assert_int_equal(src.ops->queued(src.impl), 3);
	/* A buffer the caller does not hold cannot be given back. */
	vz_err_clear(&err);
	assert_int_equal(src.ops->queue(src.impl, gen, 0, &err), -EINVAL);
	assert_int_equal(src.ops->queue(src.impl, gen, 99, &err), -EINVAL);
	assert_int_equal(F.double_queues, 0);

	/* An error frame: never delivered, requeued at once, counted. */
	d = done_of(2, 14);
	d.status = VZ_LCS_FRAME_ERROR;
	complete(&d);
	assert_false(F.queued[2]);
	assert_int_equal(next(&src, &fi, &err), 0);
	assert_true(F.queued[2]);
	st = stats_of(&src);
	assert_int_equal(st.error_frames, 1);
	assert_int_equal(st.short_frames, 0);
	assert_int_equal(st.frames, 2);
	assert_int_equal(st.seq_span, 5);
	assert_invariant(&st);

	/* A short (torn) frame: the same, and counted as short. */
	d = done_of(3, 15);
	d.bytesused[0] = FAKE_FRAME - 1;
	complete(&d);
	assert_int_equal(next(&src, &fi, &err), 0);
	assert_true(F.queued[3]);
	st = stats_of(&src);
	assert_int_equal(st.error_frames, 2);
	assert_int_equal(st.short_frames, 1);
	assert_int_equal(st.seq_span, 6);
	assert_invariant(&st);

	/* A cancelled request spent no sequence number: requeued, not
	 * counted. */
	d = done_of(0, 0);
	d.status = VZ_LCS_FRAME_CANCELLED;
	complete(&d);
	assert_int_equal(next(&src, &fi, &err), 0);
	assert_true(F.queued[0]);
	st = stats_of(&src);
	assert_int_equal(st.frames, 2);
	assert_int_equal(st.error_frames, 2);
	assert_int_equal(st.seq_span, 6);
	assert_invariant(&st);

	/* Two completions at once come out one by one, in order. */
	d = done_of(2, 16);
	complete(&d);
	d = done_of(3, 17);
	complete(&d);
	assert_int_equal(next(&src, &fi, &err), 1);
	assert_int_equal(fi.index, 2);
	assert_int_equal(fi.gap, 0);
	assert_int_equal(next(&src, &fi, &err), 1);
	assert_int_equal(fi.index, 3);
	assert_int_equal(next(&src, &fi, &err), 0);
	st = stats_of(&src);
	assert_int_equal(st.frames, 4);
	assert_int_equal(st.seq_span, 8);
	assert_int_equal(st.ts_jumps, 0);
	assert_invariant(&st);

	assert_int_equal(src.ops->queue(src.impl, gen, 1, &err), 0);
	assert_int_equal(src.ops->queue(src.impl, gen, 2, &err), 0);
	assert_int_equal(src.ops->queue(src.impl, gen, 3, &err), 0);
	assert_int_equal(fake_nqueued(), 4);
	assert_int_equal(src.ops->queued(src.impl), 4);
	assert_int_equal(F.double_queues, 0);
	assert_int_equal(st.stale_queues, 0);
	vz_lc_close(c);
}

static void test_completion_not_queued(void **state)
{
	(void)state;
	struct vz_source src;
	struct vz_lc *c = open_streaming(&src);
	struct vz_err err = {0};
	struct vz_frame_info fi;
	struct vz_lcs_done d = done_of(0, 1);
	complete(&d);
	assert_int_equal(next(&src, &fi, &err), 1);
	/* The shim claims buffer 0, which the caller holds, completed again. */
	d = done_of(0, 2);
	F.q[F.qtail++ % FAKE_QMAX] = d;
	signal_one();
	assert_int_equal(next(&src, &fi, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "not queued"));
	vz_lc_close(c);
}

static void test_restart(void **state)
{
	(void)state;
	struct vz_source src;
	struct vz_lc *c = open_streaming(&src);
	struct vz_err err = {0};
	struct vz_frame_info fi;
	uint32_t gen = src.ops->buffers(src.impl)->generation;

	struct vz_lcs_done d = done_of(0, 0);
	complete(&d);
	assert_int_equal(next(&src, &fi, &err), 1);
	/* Held across stop and start. */
	assert_int_equal(src.ops->stop(src.impl, &err), 0);
	assert_int_equal(fake_nqueued(), 0);
	assert_int_equal(src.ops->start(src.impl, &err), 0);
	assert_int_equal(F.starts, 2);
	assert_false(F.queued[0]);
	assert_int_equal(fake_nqueued(), 3);
	/* A new session: its count starts afresh.  Its first frame is not
	 * measured against the last session's (sequence 0, so 2 would be
	 * a gap of 1 otherwise). */
	d = done_of(1, 2);
	complete(&d);
	assert_int_equal(next(&src, &fi, &err), 1);
	assert_int_equal(fi.index, 1);
	assert_int_equal(fi.gap, 0);
	assert_int_equal(fi.session, 1);
	assert_true(fi.discont);
	d = done_of(2, 3);
	complete(&d);
	assert_int_equal(next(&src, &fi, &err), 1);
	assert_int_equal(fi.gap, 0);
	assert_false(fi.discont);
	struct vz_source_stats st = stats_of(&src);
	assert_int_equal(st.sessions, 2);
	assert_int_equal(st.driver_drops, 0);
	assert_int_equal(st.frames, 3);
	assert_invariant(&st);
	/* The buffer held across goes back. */
	assert_int_equal(src.ops->queue(src.impl, gen, 0, &err), 0);
	assert_true(F.queued[0]);
	/* Given back while stopped, it waits for the next start. */
	assert_int_equal(src.ops->stop(src.impl, &err), 0);
	assert_int_equal(src.ops->queue(src.impl, gen, 1, &err), 0);
	assert_int_equal(fake_nqueued(), 0);
	assert_int_equal(src.ops->start(src.impl, &err), 0);
	assert_int_equal(fake_nqueued(), 3); /* 2 is still held */
	assert_false(F.queued[2]);
	assert_int_equal(F.double_queues, 0);
	vz_lc_close(c);
}

static void test_renegotiate(void **state)
{
	(void)state;
	struct vz_source src;
	struct vz_lc *c = open_streaming(&src);
	struct vz_err err = {0};
	struct vz_frame_info fi;
	struct vz_buffer_set *old = vz_buffer_set_ref(src.ops->buffers(src.impl));
	struct vz_lcs_done d = done_of(1, 5);
	complete(&d);
	assert_int_equal(next(&src, &fi, &err), 1);
	assert_int_equal(src.ops->renegotiate(src.impl, &err), 0);
	assert_int_equal(F.stops, 1);
	assert_null(src.ops->buffers(src.impl));
	assert_int_equal(src.ops->alloc(src.impl, NULL, &err), 0);
	assert_true(src.ops->buffers(src.impl)->generation > old->generation);
	assert_int_equal(src.ops->start(src.impl, &err), 0);
	assert_int_equal(fake_nqueued(), 4);
	/* The old set's buffer is forgotten, not queued. */
	assert_int_equal(src.ops->queue(src.impl, old->generation, 1, &err), 0);
	assert_int_equal(stats_of(&src).stale_queues, 1);
	assert_int_equal(F.double_queues, 0);
	vz_buffer_set_unref(old);
	vz_lc_close(c);
}

/* ---- 7. SensorTimestamp and the notes ---- */

static int64_t boot_minus_mono_now(void)
{
	struct timespec b, m;
	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_BOOTTIME, &b);
	return ((int64_t)b.tv_sec - m.tv_sec) * VZ_NSEC_PER_SEC + (b.tv_nsec - m.tv_nsec);
}

static void test_sensor_timestamp(void **state)
{
	(void)state;
	struct vz_source src;
	struct vz_lc *c = open_streaming(&src);
	struct vz_err err = {0};
	struct vz_frame_info fi;
	uint32_t gen = src.ops->buffers(src.impl)->generation;

	const char *n = vz_lc_notes(c);
	assert_non_null(strstr(n, "read-write"));
	assert_non_null(strstr(n, "no frames yet"));
	assert_non_null(strstr(n, "SensorTimestamp: not reported"));

	/* The buffer's clock (vimc, uvc). */
	struct vz_lcs_done d = done_of(0, 1);
	d.has_sensor_ts = true;
	d.sensor_ts_ns = (int64_t)d.timestamp_ns;
	complete(&d);
	assert_int_equal(next(&src, &fi, &err), 1);
	assert_int_equal(fi.t_sensor_ns, (int64_t)d.timestamp_ns);
	assert_int_equal(fi.t_driver_ns, (int64_t)d.timestamp_ns);
	assert_int_equal(src.ops->queue(src.impl, gen, 0, &err), 0);

	/* Exposure started 10 ms before the frame ended. */
	d = done_of(1, 2);
	d.has_sensor_ts = true;
	d.sensor_ts_ns = (int64_t)d.timestamp_ns - 10 * VZ_NSEC_PER_MSEC;
	complete(&d);
	assert_int_equal(next(&src, &fi, &err), 1);
	assert_int_equal(fi.t_sensor_ns, d.sensor_ts_ns);

	n = vz_lc_notes(c);
	assert_non_null(strstr(n, "read-write"));
	assert_non_null(strstr(n, "SensorTimestamp"));
	assert_null(strstr(n, "not reported"));
	assert_null(strstr(n, "mixed clocks"));
	/* The buffer's clock, or one the same as it here. */
	if (boot_minus_mono_now() < VZ_NSEC_PER_MSEC)
		assert_non_null(strstr(n, "SensorTimestamp: CLOCK_BOOTTIME = CLOCK_MONOTONIC"));
	else
		assert_non_null(strstr(n, "SensorTimestamp: CLOCK_MONOTONIC, though"));
	assert_non_null(strstr(n, "over 2 frames"));
	assert_non_null(strstr(n, "10.000 ms"));
	assert_non_null(strstr(n, "2 of 2 frames"));
	vz_lc_close(c);
}

static void test_no_sensor_timestamp(void **state)
{
	(void)state;
	struct vz_source src;
	struct vz_lc *c = open_streaming(&src);
	struct vz_err err = {0};
	struct vz_frame_info fi;
	struct vz_lcs_done d = done_of(0, 1);
	complete(&d);
	assert_int_equal(next(&src, &fi, &err), 1);
	assert_int_equal(fi.t_sensor_ns, 0);
	const char *n = vz_lc_notes(c);
	assert_non_null(strstr(n, "SensorTimestamp: not reported"));
	assert_non_null(strstr(n, "FrameMetadata::timestamp, CLOCK_MONOTONIC"));
	/* A buffer timestamp after its own completion is not CLOCK_MONOTONIC. */
	d = done_of(1, 2);
	d.t_completed_ns = (int64_t)d.timestamp_ns - VZ_NSEC_PER_SEC;
	complete(&d);
	assert_int_equal(next(&src, &fi, &err), 1);
	assert_false(fi.ts_monotonic);
	n = vz_lc_notes(c);
	assert_non_null(strstr(n, "NOT CLOCK_MONOTONIC"));
	assert_non_null(strstr(n, "1 of 2 frames"));
	vz_lc_close(c);
}

/* A SensorTimestamp on CLOCK_BOOTTIME, as libcamera documents it: converted
 * where this machine ever slept (the clocks apart), taken as it is where
 * it never did (the clocks one).  The backend measures the offset itself
 * at open, so the test follows this machine. */
static void test_sensor_boottime(void **state)
{
	(void)state;
	int64_t off = boot_minus_mono_now();
	struct vz_source src;
	struct vz_lc *c = open_streaming(&src);
	struct vz_err err = {0};
	struct vz_frame_info fi;
	struct vz_lcs_done d = done_of(0, 1);
	d.has_sensor_ts = true;
	d.sensor_ts_ns = (int64_t)d.timestamp_ns + off;
	complete(&d);
	assert_int_equal(next(&src, &fi, &err), 1);
	const char *n = vz_lc_notes(c);
	if (off >= 10 * VZ_NSEC_PER_MSEC) {
		/* Back on CLOCK_MONOTONIC, to within how far the offset
		 * moved between our reading and the backend's. */
		int64_t diff = fi.t_sensor_ns - (int64_t)d.timestamp_ns;
		assert_true(diff > -VZ_NSEC_PER_MSEC && diff < VZ_NSEC_PER_MSEC);
		assert_non_null(
		        strstr(n, "SensorTimestamp: CLOCK_BOOTTIME, as libcamera documents"));
	} else if (off < VZ_NSEC_PER_MSEC / 2) {
		/* Either reading is within the (tiny) offset of the other. */
		int64_t diff = fi.t_sensor_ns - d.sensor_ts_ns;
		assert_true(diff > -VZ_NSEC_PER_MSEC && diff < VZ_NSEC_PER_MSEC);
		assert_non_null(
		        strstr(n, "SensorTimestamp: CLOCK_BOOTTIME = CLOCK_MONOTONIC here"));
	}
	/* Between the two the judgement is the backend's to make. */
	vz_lc_close(c);
}

/* ---- 8. disconnect and reconnect ---- */

static void test_disconnect(void **state)
{
	(void)state;
	struct vz_source src;
	struct vz_lc *c = open_streaming(&src);
	struct vz_err err = {0};
	struct vz_frame_info fi;
	struct vz_buffer_set *old = src.ops->buffers(src.impl);
	uint32_t old_gen = old->generation;

	/* A frame held across all that follows: the pipeline's reference. */
	struct vz_lcs_done d = done_of(0, 1);
	complete(&d);
	assert_int_equal(next(&src, &fi, &err), 1);
	assert_int_equal(fi.index, 0);
	vz_buffer_set_ref(old);
	const uint8_t *held = old->buf[0].mem[0].map;
	assert_int_equal(held[0], FILL(0));

	/* libcamera says the camera is gone. */
	F.disconnected = true;
	signal_one();
	assert_int_equal(next(&src, &fi, &err), -ENODEV);
	assert_non_null(strstr(err.msg, "disconnected"));
	assert_int_equal(stats_of(&src).disconnects, 1);
	assert_int_equal(F.forgets, 0);
	/* Gone stays gone, counted once. */
	vz_err_clear(&err);
	assert_int_equal(next(&src, &fi, &err), -ENODEV);
	assert_int_equal(stats_of(&src).disconnects, 1);
	assert_int_equal(src.ops->fd(src.impl), -1);
	vz_err_clear(&err);
	assert_int_equal(src.ops->alloc(src.impl, NULL, &err), -ENODEV);
	vz_err_clear(&err);
	assert_int_equal(src.ops->start(src.impl, &err), -ENODEV);

	src.ops->release_device(src.impl);
	assert_int_equal(F.releases, 1);
	assert_null(src.ops->buffers(src.impl));
	assert_int_equal(src.ops->queued(src.impl), 0);
	assert_int_equal(src.ops->fd(src.impl), -1);
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++)
		assert_int_equal(F.fds[i], -1); /* the allocator is gone ... */
	assert_int_equal(held[0], FILL(0));     /* ... its memory is not */
	assert_int_equal(held[FAKE_FRAME - 1], FILL(0));

	/* Not back yet. */
	F.absent = true;
	vz_err_clear(&err);
	assert_int_equal(src.ops->reconnect(src.impl, &err), -EAGAIN);
	assert_int_equal(err.code, -EAGAIN);
	assert_non_null(strstr(err.msg, "udev"));
	assert_int_equal(src.ops->fd(src.impl), -1);
	vz_err_clear(&err);
	assert_int_equal(src.ops->reconnect(src.impl, &err), -EAGAIN);
	assert_int_equal(stats_of(&src).reconnects, 0);

	/* Back. */
	F.absent = false;
	vz_err_clear(&err);
	assert_int_equal(src.ops->reconnect(src.impl, &err), 0);
	assert_string_equal(F.acquired_id, cams[0].id);
	struct vz_source_stats st = stats_of(&src);
	assert_int_equal(st.reconnects, 1);
	assert_int_equal(st.disconnects, 1);
	assert_true(src.ops->fd(src.impl) >= 0);
	assert_int_equal(src.ops->format(src.impl)->fourcc, V4L2_PIX_FMT_RGB24);
	assert_int_equal(src.ops->alloc(src.impl, NULL, &err), 0);
	struct vz_buffer_set *now = src.ops->buffers(src.impl);
	assert_non_null(now);
	assert_true(now->generation > old_gen);
	assert_int_equal(src.ops->start(src.impl, &err), 0);
	assert_int_equal(fake_nqueued(), 4);

	/* The frame held across comes back: forgotten, not queued. */
	assert_int_equal(src.ops->queue(src.impl, old_gen, 0, &err), 0);
	assert_int_equal(stats_of(&src).stale_queues, 1);
	assert_int_equal(F.double_queues, 0);
	assert_int_equal(fake_nqueued(), 4);

	/* The new session streams; its first frame follows a hole. */
	d = done_of(0, 0);
	complete(&d);
	assert_true(readable(src.ops->fd(src.impl)));
	assert_int_equal(next(&src, &fi, &err), 1);
	assert_int_equal(fi.index, 0);
	assert_true(fi.discont);
	assert_int_equal(fi.session, 1);
	st = stats_of(&src);
	assert_int_equal(st.sessions, 2);
	assert_invariant(&st);
	/* The old frame outlives the camera and the backend. */
	vz_lc_close(c);
	assert_int_equal(F.live, 0);
	assert_int_equal(held[0], FILL(0));
	assert_int_equal(held[FAKE_FRAME / 2], FILL(0));
	assert_int_equal(old->refs, 1);
	vz_buffer_set_unref(old);
}

/* Back, but unusable: the error is libcamera's, and nothing stays
 * acquired. */
static void test_reconnect_fails(void **state)
{
	(void)state;
	struct vz_source src;
	struct vz_lc *c = open_streaming(&src);
	struct vz_err err = {0};
	struct vz_frame_info fi;
	F.disconnected = true;
	signal_one();
	assert_int_equal(next(&src, &fi, &err), -ENODEV);
	src.ops->release_device(src.impl);
	assert_int_equal(F.releases, 1);

	/* Another process has it. */
	F.acquire_error = -EBUSY;
	vz_err_clear(&err);
	assert_int_equal(src.ops->reconnect(src.impl, &err), -EBUSY);
	assert_int_equal(err.code, -EBUSY);
	assert_non_null(strstr(err.msg, "busy"));
	assert_int_equal(src.ops->fd(src.impl), -1);
	F.acquire_error = 0;

	/* Acquired, then configure fails: released again. */
	F.configure_error = -EINVAL;
	unsigned releases = F.releases;
	vz_err_clear(&err);
	assert_int_equal(src.ops->reconnect(src.impl, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "configure failed"));
	assert_int_equal(F.releases, releases + 1);
	assert_int_equal(src.ops->fd(src.impl), -1);
	vz_err_clear(&err);
	assert_int_equal(src.ops->alloc(src.impl, NULL, &err), -ENODEV);
	assert_int_equal(stats_of(&src).reconnects, 0);
	F.configure_error = 0;

	vz_err_clear(&err);
	assert_int_equal(src.ops->reconnect(src.impl, &err), 0);
	assert_int_equal(stats_of(&src).reconnects, 1);
	assert_int_equal(src.ops->start(src.impl, &err), 0);
	assert_int_equal(fake_nqueued(), 4);
	vz_lc_close(c);
}

/* ---- 9. fd hygiene ---- */

static void test_fd_hygiene(void **state)
{
	(void)state;
	unsigned before = count_fds();

	/* Failed opens leave nothing. */
	struct vz_capture_config cfg = config_for("libcamera:nikon");
	struct vz_lc *c = NULL;
	struct vz_err err = {0};
	assert_true(vz_lc_open(&c, &fake_api, &cfg, &err) < 0);
	cfg = config_for("libcamera:");
	cfg.fourcc = V4L2_PIX_FMT_YUYV;
	assert_true(vz_lc_open(&c, &fake_api, &cfg, &err) < 0);
	assert_int_equal(count_fds(), before);

	/* A whole life: stream, hold a frame across an unplug, come back,
	 * stream again, close. */
	struct vz_source src;
	c = open_streaming(&src);
	assert_true(count_fds() > before);
	struct vz_frame_info fi;
	struct vz_lcs_done d = done_of(0, 1);
	complete(&d);
	assert_int_equal(next(&src, &fi, &err), 1);
	struct vz_buffer_set *old = vz_buffer_set_ref(src.ops->buffers(src.impl));
	F.disconnected = true;
	signal_one();
	assert_int_equal(next(&src, &fi, &err), -ENODEV);
	src.ops->release_device(src.impl);
	assert_int_equal(src.ops->reconnect(src.impl, &err), 0);
	assert_int_equal(src.ops->start(src.impl, &err), 0);
	d = done_of(1, 0);
	complete(&d);
	assert_int_equal(next(&src, &fi, &err), 1);
	assert_int_equal(src.ops->queue(src.impl, old->generation, 0, &err), 0);
	assert_int_equal(src.ops->stop(src.impl, &err), 0);
	vz_lc_close(c);
	/* The held set still has its own fds ... */
	assert_true(count_fds() > before);
	vz_buffer_set_unref(old);
	/* ... and then nothing is left. */
	assert_int_equal(count_fds(), before);

	/* Closing while streaming, frames held. */
	c = open_streaming(&src);
	d = done_of(2, 1);
	complete(&d);
	assert_int_equal(next(&src, &fi, &err), 1);
	vz_lc_close(c);
	assert_int_equal(count_fds(), before);
}

/* ---- the listing ---- */

static void test_print(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	assert_non_null(out);
	struct vz_err err = {0};
	bool first = true;
	assert_int_equal(vz_lc_print(&fake_api, out, false, &first, NULL, &err), 0);
	fclose(out);
	assert_non_null(strstr(buf, "libcamera v0.0.3-fake: 2 cameras"));
	assert_non_null(strstr(buf, "libcamera:0  'Sensor B'  id \"platform/vimc.0 Sensor B\""));
	assert_non_null(strstr(buf, "libcamera:1  'HD Webcam C270'"));
	assert_non_null(strstr(buf, "BGR888   (-f RGB3)"));
	assert_non_null(strstr(buf, "sizes 64x48"));
	free(buf);

	out = open_memstream(&buf, &len);
	assert_non_null(out);
	first = true;
	assert_int_equal(vz_lc_print(&fake_api, out, true, &first, "libcamera:webcam", &err), 0);
	fclose(out);
	assert_false(first);
	assert_non_null(strstr(buf, "\"path\":\"libcamera:1\""));
	assert_non_null(strstr(buf, "\"fourcc\":\"RGB3\""));
	assert_non_null(strstr(buf, "\"libcamera\":\"BGR888\""));
	assert_null(strstr(buf, "Sensor B"));
	free(buf);

	out = open_memstream(&buf, &len);
	assert_non_null(out);
	assert_int_equal(vz_lc_print(&fake_api, out, false, &first, "libcamera:nikon", &err),
	                 -ENODEV);
	fclose(out);
	free(buf);
	assert_int_equal(F.live, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(test_selector),
	        T(test_fourcc),
	        T(test_sensor_clock),
	        T(test_uevent),
	        T(test_open_first),
	        T(test_open_by_index),
	        T(test_open_by_name),
	        T(test_open_no_match),
	        T(test_open_no_camera),
	        T(test_open_absent),
	        T(test_open_format),
	        T(test_open_padded),
	        T(test_alloc),
	        T(test_start_allocates),
	        T(test_streaming),
	        T(test_completion_not_queued),
	        T(test_restart),
	        T(test_renegotiate),
	        T(test_sensor_timestamp),
	        T(test_no_sensor_timestamp),
	        T(test_sensor_boottime),
	        T(test_disconnect),
	        T(test_reconnect_fails),
	        T(test_fd_hygiene),
	        T(test_print),
	};
	return cmocka_run_group_tests_name("libcamera", tests, NULL, NULL);
}
