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

#endif
