/* SPDX-License-Identifier: MIT */
/*
 * What every libFuzzer target here shares: libFuzzer's entry points (it
 * declares them nowhere) and CHECK, which names the promise that broke
 * ("TARGET: invariant violated: ...", the line run-fuzz.sh reports) and
 * abort()s, so libFuzzer keeps the input.  Define FUZZ_TARGET, the
 * target's name as a string, before including this.
 */
#ifndef VZ_FUZZ_CHECK_H
#define VZ_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, FUZZ_TARGET ": invariant violated: %s (%s:%d)\n", #cond,   \
			        __FILE__, __LINE__);                                               \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* VZ_FUZZ_WRITE_SEEDS=DIR asks a target to write its seeds into DIR
 * and exit (run-fuzz.sh does, before fuzzing): DIR, or NULL. */
static inline const char *fuzz_seed_dir(void)
{
	const char *dir = getenv("VZ_FUZZ_WRITE_SEEDS");
	return dir && *dir ? dir : NULL;
}

/* DIR/NAME for writing one seed; a seed that cannot be written ends the
 * target (run-fuzz.sh reports its exit). */
static inline FILE *fuzz_seed_open(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	return f;
}

#endif
