/* SPDX-License-Identifier: MIT */
/*
 * LD_PRELOAD allocation counter for tools/bench: counts heap allocations
 * (malloc, calloc, realloc, memalign family) of any program, so the
 * benchmark can report allocations per frame in steady state for vzero and
 * its peers alike.  On SIGUSR2 it appends "allocs N\n" to the file named by
 * VZ_ALLOC_LOG.
 *
 * A preloaded interposer has no caller to hand state to, so unlike the
 * project's modules it keeps its counter and log path in file-scope
 * variables; it is a measuring tool, never linked into libvzero.
 * glibc's __libc_* entry points are used instead of dlsym(RTLD_NEXT), which
 * itself allocates and would recurse.
 */
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);
void __libc_free(void *);

static uint64_t allocs;
static char log_path[256];

static void count(void)
{
	__atomic_add_fetch(&allocs, 1, __ATOMIC_RELAXED);
}

void *malloc(size_t n)
{
	count();
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	count();
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	count();
	return __libc_realloc(p, n);
}

void free(void *p)
{
	__libc_free(p);
}

void *memalign(size_t al, size_t n)
{
	count();
	return __libc_memalign(al, n);
}

void *aligned_alloc(size_t al, size_t n)
{
	count();
	return __libc_memalign(al, n);
}

int posix_memalign(void **out, size_t al, size_t n)
{
	count();
	void *p = __libc_memalign(al, n);
	if (!p)
		return 12; /* ENOMEM */
	*out = p;
	return 0;
}

/* Async-signal-safe: open/write/close and hand-made number formatting. */
static void on_usr2(int sig)
{
	(void)sig;
	char buf[48] = "allocs ";
	char digits[24];
	int n = 0;
	uint64_t v = __atomic_load_n(&allocs, __ATOMIC_RELAXED);
	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	size_t len = 7;
	while (n)
		buf[len++] = digits[--n];
	buf[len++] = '\n';
	int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		ssize_t w = write(fd, buf, len);
		(void)w;
		close(fd);
	}
}

__attribute__((constructor)) static void init(void)
{
	const char *p = getenv("VZ_ALLOC_LOG");
	if (!p || strlen(p) >= sizeof(log_path))
		return;
	memcpy(log_path, p, strlen(p) + 1);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR2, &sa, NULL);
}
