/* SPDX-License-Identifier: MIT */
/*
 * The display sink's flip logic against a fake display whose flips complete
 * when the test says: mailbox replaces, fifo queues, a frame is released only
 * once the next flip completed, the screen is restored before the last frame
 * goes back, a display that cannot import asks to provide, and every
 * framebuffer made is removed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "drm-internal.h"
#include "loop.h"
#include "sink.h"

/* ---- a fake display ---- */

struct fake {
	struct vz_kms pub;
	int import_err;    /* import fails with this */
	int configure_err; /* configure fails with this */
	bool sync_first;   /* the first flip shows at once (legacy SetCrtc) */
	unsigned flips, fbs_added, fbs_removed, handles, handles_closed, restores;
	uint32_t next_fb;
	uint64_t token; /* of the flip in progress */
	bool flipping;
	char log[512]; /* "flip:3 restore release:0 ..." */
};

static void logf_(struct fake *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = strlen(f->log);
	vsnprintf(f->log + n, sizeof(f->log) - n, fmt, ap);
	va_end(ap);
}

static int f_import(struct vz_kms *k, int fd, uint32_t *h, struct vz_err *err)
{
	struct fake *f = (struct fake *)k;
	(void)fd;
	if (f->import_err)
		return vz_err_set(err, f->import_err, "fake: no import");
	*h = ++f->handles;
	return 0;
}

static void f_close_handle(struct vz_kms *k, uint32_t h)
{
	if (h)
		((struct fake *)k)->handles_closed++;
}

static int f_add_fb(struct vz_kms *k, const struct vz_format *fmt, const uint32_t h[VZ_MAX_PLANES],
                    uint64_t mod, uint32_t *fb, struct vz_err *err)
{
	(void)fmt;
	(void)h;
	(void)mod;
	(void)err;
	struct fake *f = (struct fake *)k;
	*fb = ++f->next_fb;
	f->fbs_added++;
	return 0;
}

static void f_rm_fb(struct vz_kms *k, uint32_t fb)
{
	if (fb)
		((struct fake *)k)->fbs_removed++;
}

static int f_configure(struct vz_kms *k, const struct vz_format *fmt, uint64_t mod, uint32_t fb,
                       struct vz_err *err)
{
	(void)fmt;
	(void)mod;
	(void)fb;
	struct fake *f = (struct fake *)k;
	if (f->configure_err)
		return vz_err_set(err, f->configure_err, "fake: TEST_ONLY refused");
	return 0;
}

static int f_flip(struct vz_kms *k, uint32_t fb, uint64_t user, struct vz_err *err)
{
	(void)err;
	struct fake *f = (struct fake *)k;
	assert_false(f->flipping); /* one flip at a time */
	f->flips++;
	logf_(f, "flip:%u ", fb);
	if (f->sync_first && f->flips == 1)
		return 1;
	f->token = user;
	f->flipping = true;
	return 0;
}

static int f_dispatch(struct vz_kms *k)
{
	(void)k;
	return 0;
}

static void f_restore(struct vz_kms *k)
{
	struct fake *f = (struct fake *)k;
	f->restores++;
	logf_(f, "restore ");
}

static void f_close(struct vz_kms *k)
{
	close(k->fd);
}

static const struct vz_kms_ops fake_ops = {
        .name = "fake",
        .import = f_import,
        .close_handle = f_close_handle,
        .add_fb = f_add_fb,
        .rm_fb = f_rm_fb,
        .configure = f_configure,
        .flip = f_flip,
        .dispatch = f_dispatch,
        .restore = f_restore,
        .close = f_close,
};

/* Flip times the tests give count from here: after every flip was asked
 * for, as a real event's would. */
#define BASE (vz_now_ns() / VZ_NSEC_PER_SEC * VZ_NSEC_PER_SEC + 3600 * VZ_NSEC_PER_SEC)

/* The flip in progress completes at @t (absolute). */
static void complete_at(struct fake *f, int64_t t)
{
	assert_true(f->flipping);
	f->flipping = false;
	f->pub.on_flip(f->pub.data, f->token, t);
}

/* ---- a fake runner ---- */

#define NFRAMES 8

struct rig {
	struct fake fake;
	struct vz_sink sink;
	struct vz_sink_port port;
	struct vz_loop *loop;
	struct vz_buffer_set set, set2;
	struct vz_frame fr[NFRAMES];
	bool released[NFRAMES];
	int64_t shown_at[NFRAMES];
	unsigned stopped, failures;
};

static struct rig *rig_of(struct vz_sink_port *p)
{
	return (struct rig *)((char *)p - offsetof(struct rig, port));
}

static unsigned frame_no(struct rig *r, struct vz_frame *f)
{
	return (unsigned)(f - r->fr);
}

static void p_release(struct vz_sink_port *p, struct vz_frame *f)
{
	struct rig *r = rig_of(p);
	unsigned n = frame_no(r, f);
	assert_false(r->released[n]);
	r->released[n] = true;
	logf_(&r->fake, "release:%u ", n);
}

static void p_fail(struct vz_sink_port *p, int code, const char *msg)
{
	(void)code;
	(void)msg;
	rig_of(p)->failures++;
}

static void p_ended(struct vz_sink_port *p, const char *msg)
{
	(void)p;
	(void)msg;
}

static void p_stopped(struct vz_sink_port *p)
{
	rig_of(p)->stopped++;
}

static void p_shown(struct vz_sink_port *p, struct vz_frame *f, int64_t t)
{
	struct rig *r = rig_of(p);
	unsigned n = frame_no(r, f);
	assert_false(r->released[n]); /* shown while still held */
	r->shown_at[n] = t;
}

static struct vz_loop *p_loop(struct vz_sink_port *p)
{
	return rig_of(p)->loop;
}

static const struct vz_sink_port_ops port_ops = {
        .release = p_release,
        .failure = p_fail,
        .ended = p_ended,
        .stopped = p_stopped,
        .shown = p_shown,
        .loop = p_loop,
};

static void no_destroy(struct vz_buffer_set *s)
{
	(void)s;
}

static const struct vz_buffer_set_ops set_ops = {.destroy = no_destroy};

static void set_init(struct vz_buffer_set *s, uint32_t gen)
{
	vz_buffer_set_init(s, &set_ops);
	s->generation = gen;
	s->count = 4;
	s->fmt.fourcc = VZ_FOURCC('X', 'R', '2', '4');
	s->fmt.width = 64;
	s->fmt.height = 48;
	assert_int_equal(vz_format_layout(&s->fmt, (uint32_t[VZ_MAX_PLANES]){0}), 0);
	for (unsigned i = 0; i < s->count; i++) {
		s->buf[i].index = i;
		s->buf[i].num_mem = 1;
	}
}

static void frame_ref(struct vz_frame *f)
{
	(void)f;
}

static const struct vz_frame_ops fops = {.ref = frame_ref, .unref = frame_ref};

/* Frame @n of @set, in buffer n % 4. */
static struct vz_frame *frame(struct rig *r, unsigned n, struct vz_buffer_set *set)
{
	struct vz_frame *f = &r->fr[n];
	f->id = n;
	f->generation = set->generation;
	f->info.index = n % set->count;
	f->buf = &set->buf[f->info.index];
	f->fmt = &set->fmt;
	f->set = set;
	f->ops = &fops;
	return f;
}

static struct rig *rig_new(const char *spec, bool expect_start_ok)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct vz_err err = {0};
	r->fake.pub.ops = &fake_ops;
	r->fake.pub.fd = eventfd(0, EFD_CLOEXEC);
	snprintf(r->fake.pub.driver, sizeof(r->fake.pub.driver), "fake");
	struct vz_drm_opts o;
	assert_int_equal(vz_drm_parse(spec, &o, &err), 0);
	assert_int_equal(vz_loop_create(&r->loop, &err), 0);
	assert_int_equal(vz_sink_drm_create_with(&r->fake.pub, &o, spec, &r->sink, &err), 0);
	r->port.ops = &port_ops;
	set_init(&r->set, 1);
	set_init(&r->set2, 2);
	if (expect_start_ok)
		assert_int_equal(r->sink.ops->start(r->sink.impl, &r->port, &r->set, &err), 0);
	return r;
}

static void push(struct rig *r, unsigned n, struct vz_buffer_set *set)
{
	struct vz_err err = {0};
	assert_int_equal(r->sink.ops->push(r->sink.impl, frame(r, n, set), &err), 0);
}

static void rig_free(struct rig *r)
{
	struct fake *f = &r->fake;
	vz_sink_destroy(&r->sink);
	/* Everything made was unmade. */
	assert_int_equal(f->fbs_added, f->fbs_removed);
	assert_int_equal(f->handles, f->handles_closed);
	vz_loop_destroy(r->loop);
	free(r);
}

static struct vz_sink_stats stats(struct rig *r)
{
	struct vz_sink_stats st;
	memset(&st, 0, sizeof(st));
	r->sink.ops->get_stats(r->sink.impl, &st);
	return st;
}

/* ---- tests ---- */

static void test_parse(void **state)
{
	(void)state;
	struct vz_drm_opts o;
	struct vz_err err = {0};
	assert_int_equal(
	        vz_drm_parse(":vkms,plane=overlay,x=16,y=8,mode=1024x768@60,policy=fifo", &o, &err),
	        0);
	assert_string_equal(o.device, "vkms");
	assert_string_equal(o.plane, "overlay");
	assert_int_equal(o.x, 16);
	assert_int_equal(o.y, 8);
	assert_int_equal(o.mode_w, 1024);
	assert_int_equal(o.mode_hz, 60);
	assert_true(o.fifo);
	assert_int_equal(vz_drm_parse(",legacy=1,buffers=alloc,writeback=/tmp/w.ppm", &o, &err), 0);
	assert_true(o.legacy);
	assert_int_equal(o.buffers, 2);
	assert_string_equal(o.writeback, "/tmp/w.ppm");
	const char *bad[] = {",colour=red", ",plane=sideways", ",policy=lifo",
	                     ",mode=big",   ",legacy",         "vkms",
	                     ",x=-3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vz_err_clear(&err);
		assert_int_equal(vz_drm_parse(bad[i], &o, &err), -EINVAL);
		/* The message teaches the options. */
		assert_non_null(strstr(err.msg, "connector="));
	}
}

static void test_fourcc_map(void **state)
{
	(void)state;
	assert_int_equal(vz_drm_fourcc(VZ_FOURCC('X', 'R', '2', '4')),
	                 VZ_FOURCC('X', 'R', '2', '4'));
	assert_int_equal(vz_drm_fourcc(VZ_FOURCC('R', 'G', 'B', '3')),
	                 VZ_FOURCC('B', 'G', '2', '4'));
	assert_int_equal(vz_drm_fourcc(VZ_FOURCC('N', 'M', '1', '2')),
	                 VZ_FOURCC('N', 'V', '1', '2'));
	assert_int_equal(vz_drm_fourcc(VZ_FOURCC('M', 'J', 'P', 'G')), 0);
}

static void test_mailbox_replaces_and_releases_after_next_flip(void **state)
{
	(void)state;
	int64_t base = BASE;
	struct rig *r = rig_new("", true);
	assert_int_equal(r->sink.budget, 3);
	push(r, 0, &r->set); /* flips at once */
	push(r, 1, &r->set); /* waits */
	push(r, 2, &r->set); /* replaces 1 */
	assert_true(r->released[1]);
	assert_false(r->released[0]);
	complete_at(&r->fake, base + (1000)); /* 0 on screen; 2 flips */
	assert_int_equal(r->shown_at[0], base + 1000);
	assert_false(r->released[0]);         /* still on screen */
	complete_at(&r->fake, base + (2000)); /* 2 on screen: 0 is off it now */
	assert_true(r->released[0]);
	assert_false(r->released[2]);
	assert_int_equal(r->shown_at[2], base + 2000);
	assert_int_equal(r->shown_at[1], 0);
	struct vz_sink_stats st = stats(r);
	assert_int_equal(st.shown, 2);
	assert_int_equal(st.replaced, 1);
	assert_string_equal(r->fake.log, "flip:1 release:1 flip:3 release:0 ");
	struct vz_err err = {0};
	assert_int_equal(r->sink.ops->stop(r->sink.impl, &err), 0);
	assert_int_equal(r->stopped, 1);
	assert_true(r->released[2]);
	rig_free(r);
}

static void test_fifo_queues_in_order(void **state)
{
	(void)state;
	int64_t base = BASE;
	struct rig *r = rig_new(",policy=fifo", true);
	assert_int_equal(r->sink.budget, 4);
	push(r, 0, &r->set);
	push(r, 1, &r->set);
	push(r, 2, &r->set);
	complete_at(&r->fake, base + (10));
	complete_at(&r->fake, base + (20));
	complete_at(&r->fake, base + (30));
	assert_int_equal(r->shown_at[0], base + 10);
	assert_int_equal(r->shown_at[1], base + 20);
	assert_int_equal(r->shown_at[2], base + 30);
	assert_string_equal(r->fake.log, "flip:1 flip:2 release:0 flip:3 release:1 ");
	assert_int_equal(stats(r).replaced, 0);
	struct vz_err err = {0};
	r->sink.ops->stop(r->sink.impl, &err);
	rig_free(r);
}

static void test_stop_waits_for_the_flip_then_restores_first(void **state)
{
	(void)state;
	int64_t base = BASE;
	struct rig *r = rig_new("", true);
	push(r, 0, &r->set);
	complete_at(&r->fake, base + (10));
	push(r, 1, &r->set); /* flipping */
	push(r, 2, &r->set); /* waiting: dropped at the stop */
	struct vz_err err = {0};
	assert_int_equal(r->sink.ops->stop(r->sink.impl, &err), 0);
	assert_int_equal(r->stopped, 0); /* a flip is still in progress */
	assert_true(r->released[2]);
	complete_at(&r->fake, base + (20));
	assert_int_equal(r->stopped, 1);
	assert_int_equal(r->fake.restores, 1);
	/* The old screen is back before the frame on it goes to the driver. */
	assert_non_null(strstr(r->fake.log, "release:0 restore release:1"));
	rig_free(r);
}

static void test_legacy_first_flip_shown_at_once(void **state)
{
	(void)state;
	struct rig *r = rig_new("", false);
	r->fake.sync_first = true;
	struct vz_err err = {0};
	assert_int_equal(r->sink.ops->start(r->sink.impl, &r->port, &r->set, &err), 0);
	push(r, 0, &r->set);
	assert_true(r->shown_at[0] > 0);
	push(r, 1, &r->set); /* a real flip now */
	assert_false(r->released[0]);
	complete_at(&r->fake, r->shown_at[0] + 1);
	assert_true(r->released[0]);
	r->sink.ops->stop(r->sink.impl, &err);
	rig_free(r);
}

static void test_no_import_asks_to_provide_once(void **state)
{
	(void)state;
	struct rig *r = rig_new("", false);
	r->fake.import_err = -ENODEV;
	struct vz_err err = {0};
	assert_int_equal(r->sink.ops->start(r->sink.impl, &r->port, &r->set, &err), -EXDEV);
	assert_non_null(strstr(err.msg, "provides its own buffers"));
	/* Capture could not take the display's buffers after all: one clear
	 * error, no third way. */
	vz_err_clear(&err);
	assert_int_equal(r->sink.ops->start(r->sink.impl, &r->port, &r->set, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "without a copy"));
	rig_free(r);
}

static void test_import_only_or_unshowable_format_is_final(void **state)
{
	(void)state;
	struct rig *r = rig_new(",buffers=import", false);
	r->fake.import_err = -ENODEV;
	struct vz_err err = {0};
	assert_int_equal(r->sink.ops->start(r->sink.impl, &r->port, &r->set, &err), -ENODEV);
	rig_free(r);
	/* No plane takes the format: other buffers would not help. */
	r = rig_new("", false);
	r->fake.configure_err = -ENOTSUP;
	vz_err_clear(&err);
	assert_int_equal(r->sink.ops->start(r->sink.impl, &r->port, &r->set, &err), -ENOTSUP);
	rig_free(r);
}

static void test_old_set_stays_until_off_screen(void **state)
{
	(void)state;
	int64_t base = BASE;
	struct rig *r = rig_new("", true);
	push(r, 0, &r->set);
	complete_at(&r->fake, base + (10));
	struct vz_err err = {0};
	assert_int_equal(r->sink.ops->set_buffers(r->sink.impl, &r->set2, &err), 0);
	assert_int_equal(r->fake.fbs_added, 8);
	assert_int_equal(r->fake.fbs_removed, 0); /* frame 0 is still on screen */
	push(r, 1, &r->set2);
	complete_at(&r->fake, base + (20));
	assert_true(r->released[0]);
	/* A frame of a set it never saw is given back, not shown. */
	struct vz_buffer_set stranger;
	set_init(&stranger, 9);
	push(r, 2, &stranger);
	assert_true(r->released[2]);
	assert_int_equal(r->shown_at[2], 0);
	r->sink.ops->stop(r->sink.impl, &err);
	rig_free(r);
}

static void test_event_before_its_commit_uses_arrival(void **state)
{
	(void)state;
	struct rig *r = rig_new("", true);
	int64_t asked = vz_now_ns();
	push(r, 0, &r->set);
	complete_at(&r->fake, 5); /* a vblank time from long before */
	assert_true(r->shown_at[0] >= asked);
	assert_non_null(strstr(stats(r).shown_note, "arrival time used"));
	struct vz_err err = {0};
	r->sink.ops->stop(r->sink.impl, &err);
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse),
	        cmocka_unit_test(test_fourcc_map),
	        cmocka_unit_test(test_mailbox_replaces_and_releases_after_next_flip),
	        cmocka_unit_test(test_fifo_queues_in_order),
	        cmocka_unit_test(test_stop_waits_for_the_flip_then_restores_first),
	        cmocka_unit_test(test_legacy_first_flip_shown_at_once),
	        cmocka_unit_test(test_no_import_asks_to_provide_once),
	        cmocka_unit_test(test_import_only_or_unshowable_format_is_final),
	        cmocka_unit_test(test_old_set_stays_until_off_screen),
	        cmocka_unit_test(test_event_before_its_commit_uses_arrival),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
