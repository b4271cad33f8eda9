/* SPDX-License-Identifier: MIT */
/* Loading optional modules; the story is in module.h. */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "module.h"
#include "vz-config.h"

static bool exe_in_build_tree(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	size_t l = strlen(VZ_BUILD_ROOT);
	return !strncmp(exe, VZ_BUILD_ROOT, l) && exe[l] == '/';
}

struct tried {
	char where[1024]; /* every path looked at */
	char why[512];    /* the first that exists but would not load, and why */
};

static void *try_dir(const char *dir, size_t dlen, const char *name, struct tried *t)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%.*s/%s.so", (int)dlen, dir, name);
	vz_msg_append(t->where, sizeof(t->where), "%s%s", t->where[0] ? ", " : "", path);
	if (access(path, R_OK) < 0)
		return NULL;
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	/* Read now: the next dlopen would overwrite it. */
	const char *why = h ? NULL : dlerror();
	if (why && !t->why[0])
		snprintf(t->why, sizeof(t->why), "%s", why);
	return h;
}

void *vz_module_symbol(const char *name, const char *symbol, const char *needs, struct vz_err *err)
{
	struct tried t = {{0}, {0}};
	void *h = NULL;
	const char *env = getenv("VZ_MODULE_PATH");

	for (const char *d = env; d && *d && !h;) {
		size_t len = strcspn(d, ":");
		if (len)
			h = try_dir(d, len, name, &t);
		d += len + (d[len] == ':');
	}
	/* A build tree's program loads the build tree's modules, never a stale
	 * installed one. */
	static const char *const build_dirs[] = {VZ_BUILD_ROOT, VZ_BUILD_ROOT "/tools"};
	for (size_t i = 0;
	     !h && exe_in_build_tree() && i < sizeof(build_dirs) / sizeof(build_dirs[0]); i++)
		h = try_dir(build_dirs[i], strlen(build_dirs[i]), name, &t);
	if (!h)
		h = try_dir(VZ_MODULE_DIR, strlen(VZ_MODULE_DIR), name, &t);
	if (!h) {
		vz_err_set(
		        err, -ENOENT,
		        "the %s module (%s.so) could not be loaded%s%s (looked in: %s); it needs "
		        "%s: install it and rebuild vzero, or set VZ_MODULE_PATH",
		        name, name, t.why[0] ? ": " : "", t.why, t.where, needs);
		return NULL;
	}
	void *sym = dlsym(h, symbol);
	if (!sym)
		vz_err_set(err, -ENOENT, "module %s has no %s: it is from another vzero version",
		           name, symbol);
	return sym;
}
