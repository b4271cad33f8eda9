/* SPDX-License-Identifier: MIT */
/*
 * An ipc client that takes N frames and never gives them back, until it is
 * killed: what a crashed or hostile client does.  On the first frame it
 * reports what the kernel says about the fd it was given: whether it is a
 * DMA-buf (fdinfo's exp_name) and whether a writable mapping of it is
 * refused.
 *
 * Usage: vz-ipc-hold SOCKET N
 * Prints "dmabuf: EXPORTER", "write-map: EACCES|allowed|<errno>", then
 * "holding N" once it holds N frames, then waits for a signal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ipc.h"

static void describe_fd(int fd, size_t len)
{
	char path[64], line[256], exp[128] = "not a DMA-buf";
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "exp_name:", 9))
			snprintf(exp, sizeof(exp), "%s", line + 9 + strspn(line + 9, " \t"));
	if (f)
		fclose(f);
	exp[strcspn(exp, "\n")] = '\0';
	printf("dmabuf: %s\n", exp);
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		printf("write-map: %s\n", errno == EACCES ? "EACCES" : strerror(errno));
	} else {
		printf("write-map: allowed\n");
		munmap(m, len);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: vz-ipc-hold SOCKET N\n");
		return 2;
	}
	unsigned n = (unsigned)atoi(argv[2]);
	struct vz_err err = {0};
	struct vz_ipc_client *c;
	if (vz_ipc_connect(&c, argv[1], &err) < 0) {
		fprintf(stderr, "vz-ipc-hold: %s\n", err.msg);
		return 1;
	}
	for (unsigned held = 0; held < n;) {
		struct vz_ipc_frame *f;
		int r = vz_ipc_next(c, &f, 10000, &err);
		if (r <= 0) {
			fprintf(stderr, "vz-ipc-hold: %s\n", r ? err.msg : "no frame in 10 s");
			return 1;
		}
		if (!held)
			describe_fd(f->fd[0], f->length[0]);
		held++; /* and never released */
	}
	printf("holding %u\n", n);
	fflush(stdout);
	for (;;)
		pause();
}
