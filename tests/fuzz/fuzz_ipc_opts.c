/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the local sink's spec, "ipc:PATH?mode=...&allow=uid:N,
 * gid:N&budget=N&rw=allow" (sink/ipc-opts.c).  Whatever is typed, it is
 * refused with a message or accepted with what the server trusts: a path
 * that fits sun_path, a mode within 0777, a budget of 1..16, at most 16
 * uids and 16 gids, none of them (uid_t)-1.
 *
 * Input: the text after "ipc:", cut at its first NUL.
 * VZ_FUZZ_WRITE_SEEDS=DIR writes valid specs into DIR and exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc-internal.h"

#define FUZZ_TARGET "fuzz_ipc_opts"
#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct vz_ipc_sink_spec o;
	struct vz_err e = {0};
	if (vz_ipc_sink_parse_spec(s, &o, &e) < 0) {
		CHECK(e.msg[0] != '\0');
		CHECK(strnlen(e.msg, sizeof(e.msg)) < sizeof(e.msg));
		CHECK(!strncmp(e.msg, "sink ipc: ", 10));
	} else {
		CHECK(o.path[0] != '\0');
		CHECK(strnlen(o.path, sizeof(o.path)) < sizeof(o.path));
		/* the path is what came before '?', unchanged */
		CHECK(!strncmp(s, o.path, strlen(o.path)));
		CHECK(s[strlen(o.path)] == '\0' || s[strlen(o.path)] == '?');
		CHECK((o.mode & ~0777u) == 0);
		CHECK(o.budget >= 1 && o.budget <= VZ_IPC_MAX_BUDGET);
		CHECK(o.nallow_uid <= VZ_IPC_MAX_ALLOW && o.nallow_gid <= VZ_IPC_MAX_ALLOW);
		for (unsigned i = 0; i < o.nallow_uid; i++)
			CHECK(o.allow_uid[i] != (uid_t)-1);
		for (unsigned i = 0; i < o.nallow_gid; i++)
			CHECK(o.allow_gid[i] != (gid_t)-1);
	}
	free(s);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *dir = fuzz_seed_dir();
	if (!dir)
		return 0;
	static const char *const seeds[] = {
	        "/run/cam0.sock",
	        "/tmp/c.sock?mode=0600&budget=16&allow=uid:1000,gid:44&rw=allow",
	        "x?allow=uid:4294967294,gid:0,uid:1,uid:2,uid:3,uid:4,uid:5,uid:6,uid:7",
	        "x?budget=1&mode=777",
	};
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		char name[32];
		snprintf(name, sizeof(name), "seed-%02zu", i);
		FILE *f = fuzz_seed_open(dir, name);
		fputs(seeds[i], f);
		fclose(f);
	}
	exit(0);
}
