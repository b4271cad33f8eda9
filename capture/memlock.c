/* SPDX-License-Identifier: MIT */
/*
 * Memory locking that reports only what really happened.  mlock() on a V4L2
 * mapping succeeds and locks nothing (VM_PFNMAP/VM_MIXEDMAP VMAs are skipped;
 * those kernel pages never swap anyway), so the driver's buffers are reported
 * separately from VmLck, which counts what the process itself locked.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "capture.h"

int vz_memlock_apply(struct vz_memlock_report *r)
{
	r->requested = true;
	r->mlockall_errno = 0;
	if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0) {
		r->mlockall_errno = errno;
		return -errno;
	}
	return 0;
}

static uint64_t read_vmlck(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return 0;
	char line[256];
	uint64_t kb = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmLck: %" SCNu64 " kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb * 1024;
}

void vz_memlock_read(struct vz_memlock_report *r, const struct vz_buffer_set *set)
{
	r->vmlck_bytes = read_vmlck();
	r->driver_bytes = 0;
	for (unsigned i = 0; set && i < set->count; i++)
		for (unsigned p = 0; p < set->buf[i].num_mem; p++)
			if (set->buf[i].mem[p].map)
				r->driver_bytes += set->buf[i].mem[p].length;
}
