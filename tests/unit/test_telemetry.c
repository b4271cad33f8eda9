/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "telemetry.h"

/* Bytes the allocator has handed out and not had back.  Under ASan glibc's
 * malloc is replaced, so ask the sanitizer instead of mallinfo2(). */
#if defined(__SANITIZE_ADDRESS__)
/* From <sanitizer/allocator_interface.h>, which not every toolchain ships. */
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_in_use(void)
{
	return __sanitizer_get_current_allocated_bytes();
}
#else
static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}
#endif

static struct vz_frame_info info_for(uint32_t seq)
{
	struct vz_frame_info fi = {0};

	fi.sequence = seq;
	fi.gap = seq % 7 == 3 ? 1 : 0;
	fi.v4l2_flags = 0x2000 | seq;
	fi.t_driver_ns = 1000000000LL + (int64_t)seq * 40000000LL;
	fi.t_dqbuf_ns = fi.t_driver_ns + 250000;
	return fi;
}

static void test_create_validates(void **state)
{
	struct vz_telemetry *t = (void *)1;
	struct vz_err err = {0};

	assert_int_equal(vz_telemetry_create(&t, 15, 1, &err), -EINVAL);
	assert_null(t);
	assert_int_equal(err.code, -EINVAL);
	assert_non_null(strstr(err.msg, "at least 16"));

	vz_err_clear(&err);
	assert_int_equal(vz_telemetry_create(&t, 16, VZ_MAX_SINKS + 1, &err), -EINVAL);
	assert_null(t);

	vz_err_clear(&err);
	assert_int_equal(vz_telemetry_create(&t, 16, VZ_MAX_SINKS, &err), 0);
	assert_non_null(t);
	assert_int_equal(vz_telemetry_capacity(t), 16);
	assert_int_equal(vz_telemetry_sinks(t), VZ_MAX_SINKS);
	assert_int_equal(vz_telemetry_count(t), 0);
	assert_int_equal(vz_telemetry_total(t), 0);
	assert_null(vz_telemetry_get(t, 0));
	vz_telemetry_destroy(t);
	vz_telemetry_destroy(NULL);
}

static void test_names(void **state)
{
	assert_string_equal(vz_drop_cause_name(VZ_DROP_NONE), "none");
	assert_string_equal(vz_drop_cause_name(VZ_DROP_DRIVER_GAP), "driver_gap");
	assert_string_equal(vz_drop_cause_name(VZ_DROP_ERROR_FLAG), "error_flag");
	assert_string_equal(vz_drop_cause_name(VZ_DROP_SINK_BUDGET), "sink_budget");
	assert_string_equal(vz_drop_cause_name(VZ_DROP_SINK_FAILURE), "sink_failure");
	assert_string_equal(vz_drop_cause_name((enum vz_drop_cause)99), "unknown");
}

static void test_fill_without_wrap(void **state)
{
	struct vz_telemetry *t;

	assert_int_equal(vz_telemetry_create(&t, 32, 2, NULL), 0);
	for (uint32_t s = 0; s < 10; s++) {
		struct vz_frame_info fi = info_for(s + 100);
		struct vz_frame_record *r = vz_telemetry_begin(t, &fi, s % 3);
		assert_non_null(r);
		assert_int_equal(r->id, s);
		assert_int_equal(r->t_processed, fi.t_dqbuf_ns);
		assert_int_equal(r->t_requeue, 0);
	}
	assert_int_equal(vz_telemetry_count(t), 10);
	assert_int_equal(vz_telemetry_total(t), 10);
	for (size_t i = 0; i < 10; i++) {
		const struct vz_frame_record *r = vz_telemetry_get(t, i);
		struct vz_frame_info fi = info_for((uint32_t)i + 100);
		assert_int_equal(r->id, i);
		assert_int_equal(r->sequence, fi.sequence);
		assert_int_equal(r->gap, fi.gap);
		assert_int_equal(r->v4l2_flags, fi.v4l2_flags);
		assert_int_equal(r->inflight, i % 3);
		assert_int_equal(r->t_driver, fi.t_driver_ns);
		assert_int_equal(r->t_dqbuf, fi.t_dqbuf_ns);
	}
	assert_null(vz_telemetry_get(t, 10));
	vz_telemetry_destroy(t);
}

static void test_wrap_keeps_newest_in_order(void **state)
{
	struct vz_telemetry *t;
	const size_t cap = 16;

	assert_int_equal(vz_telemetry_create(&t, cap, 1, NULL), 0);
	for (uint32_t s = 0; s < 53; s++) {
		struct vz_frame_info fi = info_for(s);
		struct vz_frame_record *r = vz_telemetry_begin(t, &fi, 0);
		/* Dirty every field the pipeline writes, so a reused slot
		 * that is not cleared shows up below. */
		r->t_requeue = 77;
		r->t_handoff[0] = 78;
		r->sink_drop[0] = VZ_DROP_SINK_BUDGET;
		r->t_release[0] = 79;
	}
	assert_int_equal(vz_telemetry_total(t), 53);
	assert_int_equal(vz_telemetry_count(t), cap);
	for (size_t i = 0; i < cap; i++) {
		const struct vz_frame_record *r = vz_telemetry_get(t, i);
		assert_int_equal(r->id, 53 - cap + i);
		assert_int_equal(r->sequence, 53 - cap + i);
		assert_int_equal(r->t_release[0], 79);
	}
	assert_null(vz_telemetry_get(t, cap));

	/* A record reused by the ring starts clean. */
	struct vz_frame_info fi = info_for(53);
	struct vz_frame_record *r = vz_telemetry_begin(t, &fi, 0);
	assert_int_equal(r->t_requeue, 0);
	assert_int_equal(r->t_handoff[0], 0);
	assert_int_equal(r->t_release[0], 0);
	assert_int_equal(r->sink_drop[0], VZ_DROP_NONE);
	assert_ptr_equal(vz_telemetry_get(t, cap - 1), r);
	assert_int_equal(vz_telemetry_get(t, 0)->id, 54 - cap);
	vz_telemetry_destroy(t);
}

/* A record is found by its frame's id while the ring still holds it, and
 * never once a newer frame took its slot. */
static void test_find_by_id(void **state)
{
	struct vz_telemetry *t;
	(void)state;

	assert_int_equal(vz_telemetry_create(&t, 16, 3, NULL), 0);
	assert_null(vz_telemetry_find(t, 0));
	for (uint32_t s = 0; s < 20; s++) {
		struct vz_frame_info fi = info_for(s);
		vz_telemetry_begin(t, &fi, 0);
	}
	assert_null(vz_telemetry_find(t, 3));  /* overwritten by frame 19 */
	assert_null(vz_telemetry_find(t, 20)); /* not yet */
	struct vz_frame_record *r = vz_telemetry_find(t, 4);
	assert_non_null(r);
	assert_int_equal(r->id, 4);
	assert_int_equal(r->sequence, 4);
	assert_int_equal(vz_telemetry_find(t, 19)->id, 19);
	vz_telemetry_destroy(t);
}

static void test_no_allocation_per_frame(void **state)
{
	struct vz_telemetry *t;

	assert_int_equal(vz_telemetry_create(&t, 1024, 2, NULL), 0);

	size_t before = heap_in_use();
	/* volatile: the compiler may not elide a malloc/free pair we
	 * depend on seeing. */
	void *volatile probe = malloc(200);
	size_t with_probe = heap_in_use();
	free(probe);
	assert_true(with_probe >= before + 200);

	before = heap_in_use();
	for (uint32_t s = 0; s < 100000; s++) {
		struct vz_frame_info fi = info_for(s);
		struct vz_frame_record *r = vz_telemetry_begin(t, &fi, 1);
		r->t_release[0] = fi.t_dqbuf_ns + 1000;
		r->t_release[1] = fi.t_dqbuf_ns + 2000;
	}
	assert_int_equal(heap_in_use(), before);
	assert_int_equal(vz_telemetry_total(t), 100000);
	assert_int_equal(vz_telemetry_get(t, 1023)->id, 99999);
	vz_telemetry_destroy(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_create_validates),
	        cmocka_unit_test(test_names),
	        cmocka_unit_test(test_fill_without_wrap),
	        cmocka_unit_test(test_wrap_keeps_newest_in_order),
	        cmocka_unit_test(test_find_by_id),
	        cmocka_unit_test(test_no_allocation_per_frame),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
