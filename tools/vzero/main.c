/* SPDX-License-Identifier: MIT */
/* vzero: the command line.  Dispatches to one file per command. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "vz-config.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
        {"devices", vz_cmd_devices, "list capture devices with formats, sizes and rates"},
        {"capture", vz_cmd_capture, "stream from a device and print frame timing"},
        {"run", vz_cmd_run, "capture -> in-place processing -> sinks, with a jitter report"},
        {"jitter", vz_cmd_jitter, "the jitter report for a bare device (no processing, no sink)"},
        {"ctrl", vz_cmd_ctrl, "list, get and set V4L2 controls by name"},
        {"rtp-check", vz_cmd_rtpcheck, "receive an RTP stream and measure how it arrives"},
        {"probe", vz_cmd_probe, "a client of a run's ipc: sink: check and time what it receives"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: vzero COMMAND [OPTIONS]\n\n"
	             "Zero-copy V4L2 capture and streaming, with frame timing you can see.\n\n"
	             "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'vzero COMMAND --help' explains each one.  Examples:\n"
	             "  vzero devices\n"
	             "  vzero capture -d vivid -f YUYV -s 640x480 -r 25 -n 250\n"
	             "  vzero run -d vivid --process stamp --sink null -t 20 --plot jitter.png\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return VZ_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return VZ_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("vzero %s\n", VZ_VERSION);
		return VZ_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "vzero: '%s' is not a command; run 'vzero --help' for the list\n", argv[1]);
	return VZ_EXIT_USAGE;
}
