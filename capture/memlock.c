/* SPDX-License-Identifier: MIT */
/*
 * Memory locking that reports only what really happened.  mlock() on a V4L2
 * mapping succeeds and locks nothing (VM_PFNMAP/VM_MIXEDMAP VMAs are skipped;
 * those kernel pages never swap anyway), so the driver's buffers are reported
 * separately from VmLck, which counts what the process itself locked.
 *
 * Two limits can make mlockall(MCL_CURRENT|MCL_FUTURE) wrong:
 *  - RLIMIT_MEMLOCK (without CAP_IPC_LOCK): the kernel refuses the call
 *    outright when the process's whole address space exceeds it, locking
 *    nothing;
 *  - a memory cgroup: root passes the rlimit, populating every mapping is
 *    then charged to the cgroup, and locked pages cannot be reclaimed -- a
 *    process larger than its cgroup's headroom is OOM-killed while locking.
 * In both cases the process locks what fits, mapping by mapping, and says
 * what it left unlocked: a silent partial lock would be worse than none.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "capture.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
/* What the cgroup must keep free beside what is locked: page cache, the
 * kernel's own charges, allocations after the lock.  (vzero run with a
 * null sink pins about 5 MB.) */
#define CGROUP_MARGIN (4u << 20)

static uint64_t read_status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return 0;
	char line[256], fmt[64];
	uint64_t kb = 0;
	snprintf(fmt, sizeof(fmt), "%s: %%" SCNu64 " kB", key);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, fmt, &kb) == 1)
			break;
	}
	fclose(f);
	return kb * 1024;
}

/* CAP_IPC_LOCK in the effective set: RLIMIT_MEMLOCK does not apply. */
static bool has_ipc_lock(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return false;
	char line[256];
	unsigned long long caps = 0;
	bool found = false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "CapEff: %llx", &caps) == 1;
	fclose(f);
	return found && (caps & (1ull << 14)); /* CAP_IPC_LOCK */
}

static uint64_t read_vmlck(void)
{
	return read_status_kb("VmLck");
}

/* One number from a cgroup file; "max" is UINT64_MAX. */
static bool read_cg_u64(const char *dir, const char *file, uint64_t *v)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	char buf[64] = "";
	bool ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	if (!ok)
		return false;
	if (!strncmp(buf, "max", 3)) {
		*v = UINT64_MAX;
		return true;
	}
	char *end;
	errno = 0;
	unsigned long long x = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return false;
	*v = x;
	return true;
}

/* The tightest memory.max - memory.current of this process's cgroup v2
 * and its ancestors; false where no memory controller limits it. */
static bool cgroup_headroom(struct vz_memlock_report *r)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return false;
	char line[512], cg[400] = "";
	line[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			size_t n = strcspn(line + 3, "\n");
			if (n >= sizeof(cg))
				n = sizeof(cg) - 1;
			memcpy(cg, line + 3, n);
			cg[n] = '\0';
			break;
		}
	fclose(f);
	bool limited = false;
	char dir[512];
	for (;;) {
		uint64_t max, cur;
		snprintf(dir, sizeof(dir), CGROUP_ROOT "%s", cg);
		if (read_cg_u64(dir, "memory.max", &max) && max != UINT64_MAX &&
		    read_cg_u64(dir, "memory.current", &cur)) {
			uint64_t room = max > cur ? max - cur : 0;
			if (!limited || room < r->cgroup_room) {
				r->cgroup_room = room;
				r->cgroup_max = max;
				size_t n = strnlen(cg, sizeof(r->cgroup) - 1);
				memcpy(r->cgroup, cg, n);
				r->cgroup[n] = '\0';
				if (!n)
					snprintf(r->cgroup, sizeof(r->cgroup), "/");
			}
			limited = true;
		}
		char *slash = strrchr(cg, '/');
		if (!slash || !cg[0] || !strcmp(cg, "/"))
			break;
		*slash = '\0';
	}
	return limited;
}

/* A mapping mlock could populate: accessible, and not a device's memory
 * (V4L2 and DRM buffers, DMA-bufs: kernel pages, never swapped, skipped by
 * mlock anyway), nor the kernel's [vvar]/[vsyscall]. */
static bool lockable(const char *perms, const char *name)
{
	if (perms[0] != 'r' && perms[1] != 'w' && perms[2] != 'x')
		return false;
	return strncmp(name, "/dev/", 5) && !strstr(name, "dmabuf") && strcmp(name, "[vvar]") &&
	       strcmp(name, "[vsyscall]");
}

typedef void (*region_fn)(void *data, uintptr_t start, size_t len);

static int each_lockable(region_fn fn, void *data)
{
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return -errno;
	char line[4096];
	while (fgets(line, sizeof(line), f)) {
		uintptr_t a, b;
		char perms[8] = "", name[4096] = "";
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %*s %*s %*s %4095[^\n]", &a, &b,
		           perms, name) < 3)
			continue;
		char *n = name;
		while (*n == ' ')
			n++;
		if (b > a && lockable(perms, n))
			fn(data, a, b - a);
	}
	fclose(f);
	return 0;
}

static void add_wanted(void *data, uintptr_t start, size_t len)
{
	(void)start;
	((struct vz_memlock_report *)data)->wanted_bytes += len;
}

struct partial {
	struct vz_memlock_report *r;
	uint64_t budget;
};

static void lock_one(void *data, uintptr_t start, size_t len)
{
	struct partial *p = data;
	if (len <= p->budget && mlock((void *)start, len) == 0) {
		p->budget -= len;
		p->r->locked_bytes += len;
		p->r->regions_locked++;
		return;
	}
	p->r->unlocked_bytes += len;
	p->r->regions_unlocked++;
}

int vz_memlock_apply(struct vz_memlock_report *r)
{
	r->requested = true;
	r->mlockall_errno = 0;
	r->partial = false;
	r->wanted_bytes = r->locked_bytes = r->unlocked_bytes = 0;
	r->regions_locked = r->regions_unlocked = 0;
	r->cgroup[0] = '\0';
	r->cgroup_room = r->cgroup_max = 0;
	r->bound_by_rlimit = false;
	struct rlimit rl = {0};
	getrlimit(RLIMIT_MEMLOCK, &rl);
	r->rlimit_bytes = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;

	each_lockable(add_wanted, r);
	bool cg = cgroup_headroom(r);
	uint64_t cg_budget = 0;
	if (cg) {
		/* The process's anonymous pages are charged to its cgroup
		 * already: locking them costs nothing new; the rest comes out
		 * of the room, less the margin.  (Not VmRSS: that counts
		 * driver buffers and page cache charged elsewhere.) */
		uint64_t have = r->cgroup_room + read_status_kb("RssAnon");
		cg_budget = have > CGROUP_MARGIN ? have - CGROUP_MARGIN : 0;
	}
	if (!cg || r->wanted_bytes <= cg_budget) {
		if (mlockall(MCL_CURRENT | MCL_FUTURE) == 0)
			return 0;
		r->mlockall_errno = errno;
	}

	/* What fits: the rlimit (enforced without CAP_IPC_LOCK, counting
	 * what is locked already) and the cgroup, whichever is less. */
	struct partial p = {.r = r, .budget = UINT64_MAX};
	if (r->rlimit_bytes != UINT64_MAX && !has_ipc_lock()) {
		uint64_t have = read_vmlck();
		p.budget = r->rlimit_bytes > have ? r->rlimit_bytes - have : 0;
		r->bound_by_rlimit = true;
	}
	if (cg && cg_budget < p.budget) {
		p.budget = cg_budget;
		r->bound_by_rlimit = false;
	}
	r->partial = true;
	each_lockable(lock_one, &p);
	return 1;
}

static void human(uint64_t b, char *buf, size_t len)
{
	if (b == UINT64_MAX)
		snprintf(buf, len, "unlimited");
	else if (b >= 10u << 20)
		snprintf(buf, len, "%" PRIu64 " MiB", b >> 20);
	else
		snprintf(buf, len, "%" PRIu64 " kB", b >> 10);
}

int vz_memlock_describe(const struct vz_memlock_report *r, char *buf, size_t len)
{
	char want[32], got[32], left[32], lim[32], room[32];
	human(r->wanted_bytes, want, sizeof(want));
	human(r->locked_bytes, got, sizeof(got));
	human(r->unlocked_bytes, left, sizeof(left));
	human(r->rlimit_bytes, lim, sizeof(lim));
	human(r->cgroup_room, room, sizeof(room));
	if (!r->partial)
		return snprintf(buf, len, "mlockall: everything locked (%s mapped)", want);
	const char *fix;
	char why[768];
	if (r->mlockall_errno || r->bound_by_rlimit) {
		if (r->mlockall_errno)
			snprintf(why, sizeof(why),
			         "mlockall refused (%s): RLIMIT_MEMLOCK is %s and the process maps "
			         "%s",
			         strerror(r->mlockall_errno), lim, want);
		else
			snprintf(why, sizeof(why),
			         "not mlockall (memory cgroup %s has %s free), and without "
			         "CAP_IPC_LOCK RLIMIT_MEMLOCK (%s) bounds the rest: the process "
			         "maps %s",
			         r->cgroup, room, lim, want);
		fix = "raise the limit (`ulimit -l unlimited`, systemd LimitMEMLOCK=infinity) or "
		      "grant CAP_IPC_LOCK";
	} else {
		snprintf(why, sizeof(why),
		         "not mlockall: memory cgroup %s has %s free, and locking everything "
		         "would pin %s and leave less than the %u kB the process needs beside "
		         "it (locked memory cannot be reclaimed: the OOM killer would end the "
		         "run)",
		         r->cgroup, room, want, CGROUP_MARGIN >> 10);
		fix = "raise the cgroup's memory.max (systemd MemoryMax=)";
	}
	return snprintf(buf, len,
	                "%s; locked %s in %u mappings, NOT locked %s in %u mappings (and "
	                "nothing allocated later); %s",
	                why, got, r->regions_locked, left, r->regions_unlocked, fix);
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
