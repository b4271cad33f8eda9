/* SPDX-License-Identifier: MIT */
/*
 * The smallest useful client of a vzero run's local sink: connects, takes
 * frames, prints each one's sequence, its latency since capture and the
 * mean luma of its first plane's first row, and gives it back.  Build it
 * against an installed vzero:
 *
 *   cc ipc-client.c $(pkg-config --cflags --libs vzero) -o ipc-client
 *   vzero run -d /dev/video0 --sink ipc:/tmp/cam.sock &
 *   ./ipc-client /tmp/cam.sock 100
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <vzero/ipc.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s SOCKET [FRAMES]\n", argv[0]);
		return 2;
	}
	long want = argc > 2 ? atol(argv[2]) : 100;
	struct vz_err err = {0};
	struct vz_ipc_client *c;
	if (vz_ipc_connect(&c, argv[1], &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	printf("connected to %s, budget %u frames\n", vz_ipc_client_name(c),
	       vz_ipc_client_budget(c));
	int ret = 0;
	for (long n = 0; n < want; n++) {
		struct vz_ipc_frame *f;
		int r = vz_ipc_next(c, &f, 5000, &err);
		if (r <= 0) {
			fprintf(stderr, "%s\n", r ? err.msg : "no frame in 5 s");
			ret = r == -ESHUTDOWN ? 0 : 1;
			break;
		}
		/* The CPU reads the frame: bracket it, as DMA-bufs want. */
		vz_ipc_frame_begin(f);
		unsigned long sum = 0;
		uint32_t w = f->fmt->plane[0].stride;
		for (uint32_t x = 0; x < w; x++)
			sum += f->map[0][x];
		vz_ipc_frame_end(f);
		printf("#%u %.3f ms after capture, first row mean byte %lu, %llu lost to the "
		       "budget so far\n",
		       f->info.sequence, (double)(f->t_received_ns - f->info.t_driver_ns) / 1e6,
		       w ? sum / w : 0, (unsigned long long)f->client_drops);
		vz_ipc_release(c, f);
	}
	vz_ipc_close(c);
	return ret;
}
