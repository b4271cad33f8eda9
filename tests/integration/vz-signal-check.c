/* SPDX-License-Identifier: MIT */
/*
 * A program that opens a camera and only then takes its signals through a
 * signalfd, as a library user may: every thread the capture backend
 * started (libcamera's manager, pipeline handler and IPA threads) must
 * have every signal blocked, or a process-directed signal lands on one of
 * them and kills the program with its default action.  Streams FRAMES
 * frames to a null sink, then, with the camera still open and libcamera's
 * threads alive, blocks SIGUSR1 in the main thread alone and sends it to
 * the process: the signalfd must see it.
 *
 * Usage: vz-signal-check DEV FRAMES
 * Exits 0 when the signal arrived where it was asked for; a kill by
 * SIGUSR1 (exit status 138 in a shell) means a backend thread took it.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "camera.h"
#include "capture.h"
#include "pipeline.h"
#include "sink-null.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s DEV FRAMES\n", argv[0]);
		return 2;
	}
	struct vz_err err = {0};
	struct vz_camera *cam = NULL;
	struct vz_loop *loop = NULL;
	struct vz_pipeline *pipe = NULL;
	struct vz_sink sink;
	int sfd = -1, ret = 1;
	struct vz_capture_config cc = {.device = argv[1]};
	if (vz_camera_is_libcamera(cc.device)) {
		cc.fourcc = VZ_FOURCC('R', 'G', 'B', '3');
		cc.width = 480;
		cc.height = 360;
	}
	if (vz_camera_open(&cam, &cc, &err) < 0 || vz_loop_create(&loop, &err) < 0)
		goto out;
	struct vz_pipeline_config pc = {
	        .source = vz_camera_source(cam),
	        .loop = loop,
	        .max_frames = strtoull(argv[2], NULL, 10),
	};
	if (vz_pipeline_create(&pipe, &pc, &err) < 0 || vz_sink_null_create(&sink, &err) < 0 ||
	    vz_pipeline_add_sink(pipe, &sink, NULL, &err) < 0 || vz_pipeline_start(pipe, &err) < 0)
		goto out;
	if (vz_loop_run(loop) < 0) {
		err = *vz_pipeline_error(pipe);
		goto out;
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		perror("signalfd");
		goto out;
	}
	kill(getpid(), SIGUSR1);
	struct pollfd p = {.fd = sfd, .events = POLLIN};
	if (poll(&p, 1, 2000) == 1) {
		printf("SIGUSR1 reached the signalfd with the camera open\n");
		ret = 0;
	} else {
		fprintf(stderr, "FAIL: SIGUSR1 never reached the signalfd\n");
	}
out:
	if (err.msg[0])
		fprintf(stderr, "vz-signal-check: %s\n", err.msg);
	if (sfd >= 0)
		close(sfd);
	vz_pipeline_destroy(pipe);
	vz_loop_destroy(loop);
	vz_camera_close(cam);
	return ret;
}
