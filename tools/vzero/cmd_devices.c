/* SPDX-License-Identifier: MIT */
/* vzero devices: what can be captured here, in what formats, sizes, rates. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "camera.h"
#include "cli.h"

enum {
	OPT_JSON = VZ_OPT_CAPTURE_LAST + 1,
	OPT_HELP,
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: vzero devices [--json] [-d DEV]\n\n"
	        "Lists every V4L2 video capture node: driver, card, bus, single- or\n"
	        "multi-planar, and per pixel format the frame sizes and frame rates the\n"
	        "driver offers.  Formats that share the same sizes and rates are shown\n"
	        "together.  Other V4L2 nodes (output, VBI, radio, ...) are named after them,\n"
	        "then the cameras libcamera finds (embedded sensors behind a media graph,\n"
	        "vimc), with their pixel formats as libcamera names them and as -f takes them.\n\n"
	        "Options:\n"
	        "  -d, --device DEV   only this device: /dev/videoN, videoN, N, or a name\n"
	        "                     ('vivid', a card/driver/bus substring; 'vivid:1' is the\n"
	        "                     second matching capture node). A node that can't be\n"
	        "                     captured from is explained (what it is, what to use).\n"
	        "                     libcamera:, libcamera:K or libcamera:NAME for its cameras.\n"
	        "      --json         one JSON array of capture nodes, for scripts (libcamera's\n"
	        "                     cameras in it carry \"backend\": \"libcamera\")\n"
	        "  -h, --help         this text\n\n"
	        "Examples:\n"
	        "  vzero devices                       # everything, for a person\n"
	        "  vzero devices -d vivid:1            # the second vivid capture node\n"
	        "  vzero devices -d libcamera:         # libcamera's first camera\n"
	        "  vzero devices --json | python3 -m json.tool\n"
	        "  tools/vivid-vm -- vzero devices     # no camera here? try vivid in a VM\n");
}

int vz_cmd_devices(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"device", required_argument, NULL, 'd'},
	        {"json", no_argument, NULL, OPT_JSON},
	        {"help", no_argument, NULL, OPT_HELP},
	        {NULL, 0, NULL, 0},
	};
	const char *device = NULL;
	bool json = false;
	struct vz_err err;
	int c;

	vz_err_clear(&err);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			device = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return VZ_EXIT_OK;
		case ':':
			vz_cli_error("devices", "%s needs a value; see 'vzero devices --help'",
			             argv[optind - 1]);
			return VZ_EXIT_USAGE;
		default:
			vz_cli_error("devices", "unknown option '%s'; see 'vzero devices --help'",
			             argv[optind - 1]);
			return VZ_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		vz_cli_error("devices",
		             "unexpected argument '%s'; to pick a device use -d %s (see --help)",
		             argv[optind], argv[optind]);
		return VZ_EXIT_USAGE;
	}

	int ret = device ? vz_camera_print(stdout, device, json, &err)
	                 : vz_cameras_print(stdout, json, &err);
	if (fflush(stdout) != 0 && ret == 0) {
		vz_cli_error("devices", "writing the listing failed");
		return VZ_EXIT_FAIL;
	}
	if (ret < 0) {
		vz_cli_error("devices", "%s", err.msg);
		return VZ_EXIT_FAIL;
	}
	return VZ_EXIT_OK;
}
