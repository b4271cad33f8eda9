/* SPDX-License-Identifier: MIT */
/* vzero ctrl: list, get and set V4L2 controls by the names people use. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
	OPT_LIST = VZ_OPT_CAPTURE_LAST + 1,
	OPT_GET,
	OPT_SET,
	OPT_HELP,
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: vzero ctrl -d DEV [--list | --get NAME | --set NAME=VALUE]...\n\n"
	        "Lists, reads and changes a device's V4L2 controls.  NAME is matched without\n"
	        "regard to case, and any run of spaces or punctuation equals any other, so\n"
	        "'brightness', 'Brightness' and the driver's 'Percentage of Dropped Buffers'\n"
	        "written as percentage_of_dropped_buffers all work (0xID works too).\n"
	        "--get and --set may be repeated; they run in the order given and stop at the\n"
	        "first failure.  Without an action, --list is assumed.\n\n"
	        "Options:\n"
	        "  -d, --device DEV       /dev/videoN, videoN, N, or a name ('vivid', 'vivid:1')\n"
	        "  -l, --list             every control: type, current value, range or menu\n"
	        "                         items, default, and flags (read-only, inactive, ...)\n"
	        "  -g, --get NAME         print NAME=VALUE (menus: VALUE (item name))\n"
	        "  -s, --set NAME=VALUE   VALUE is a number (or 0x hex), true/false for\n"
	        "                         booleans, a menu item's name, text for string\n"
	        "                         controls; any value presses a button control\n"
	        "  -h, --help             this text\n\n"
	        "Examples:\n"
	        "  vzero ctrl -d vivid --list\n"
	        "  vzero ctrl -d /dev/video0 --get brightness\n"
	        "  vzero ctrl -d vivid --set brightness=200 --get brightness\n"
	        "  vzero ctrl -d vivid --set 'Percentage of Dropped Buffers=10'\n"
	        "  vzero ctrl -d vivid --set test_pattern='100%% Colorbar'\n\n"
	        "Exit status: 0 ok, 1 a control or device problem (message on stderr),\n"
	        "2 bad arguments.\n");
}

struct action {
	int op; /* OPT_LIST, OPT_GET, OPT_SET */
	const char *arg;
};

static int do_set(const char *device, const char *arg)
{
	struct vz_err err;
	const char *eq = strchr(arg, '=');
	char *name = NULL;
	int ret = VZ_EXIT_OK;

	vz_err_clear(&err);
	name = strndup(arg, (size_t)(eq - arg));
	if (!name) {
		vz_cli_error("ctrl", "out of memory");
		return VZ_EXIT_FAIL;
	}
	if (vz_ctrl_set_str(device, name, eq + 1, &err) < 0) {
		vz_cli_error("ctrl", "%s", err.msg);
		ret = VZ_EXIT_FAIL;
	}
	free(name);
	return ret;
}

static char *canonical(const char *name, char *buf, size_t len)
{
	/* Echo the name as given, but without '=' which would confuse
	 * NAME=VALUE parsing downstream. */
	snprintf(buf, len, "%s", name);
	for (char *p = buf; *p; p++)
		if (*p == '=')
			*p = '_';
	return buf;
}

int vz_cmd_ctrl(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"device", required_argument, NULL, 'd'}, {"list", no_argument, NULL, 'l'},
	        {"get", required_argument, NULL, 'g'},    {"set", required_argument, NULL, 's'},
	        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	struct action *acts = NULL;
	size_t nacts = 0;
	const char *device = NULL;
	struct vz_err err;
	int ret = VZ_EXIT_OK;
	int c;

	vz_err_clear(&err);
	acts = calloc((size_t)argc + 1, sizeof(*acts));
	if (!acts) {
		vz_cli_error("ctrl", "out of memory");
		return VZ_EXIT_FAIL;
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:lg:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			device = optarg;
			break;
		case 'l':
			acts[nacts++] = (struct action){OPT_LIST, NULL};
			break;
		case 'g':
			acts[nacts++] = (struct action){OPT_GET, optarg};
			break;
		case 's':
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				vz_cli_error(
				        "ctrl",
				        "--set wants NAME=VALUE (e.g. --set brightness=200), got "
				        "'%s'",
				        optarg);
				ret = VZ_EXIT_USAGE;
				goto out;
			}
			acts[nacts++] = (struct action){OPT_SET, optarg};
			break;
		case 'h':
			usage(stdout);
			goto out;
		case ':':
			vz_cli_error("ctrl", "%s needs a value; see 'vzero ctrl --help'",
			             argv[optind - 1]);
			ret = VZ_EXIT_USAGE;
			goto out;
		default:
			vz_cli_error("ctrl", "unknown option '%s'; see 'vzero ctrl --help'",
			             argv[optind - 1]);
			ret = VZ_EXIT_USAGE;
			goto out;
		}
	}
	if (optind < argc) {
		vz_cli_error("ctrl",
		             "unexpected argument '%s'; use --get NAME or --set NAME=VALUE (see "
		             "--help)",
		             argv[optind]);
		ret = VZ_EXIT_USAGE;
		goto out;
	}
	if (!device) {
		vz_cli_error("ctrl", "which device? add -d DEV, e.g. -d vivid or -d /dev/video0 "
		                     "(`vzero devices` lists them)");
		ret = VZ_EXIT_USAGE;
		goto out;
	}
	if (!nacts)
		acts[nacts++] = (struct action){OPT_LIST, NULL};

	for (size_t i = 0; i < nacts && ret == VZ_EXIT_OK; i++) {
		char value[4200], shown[256];
		switch (acts[i].op) {
		case OPT_LIST:
			if (vz_ctrl_list(device, stdout, &err) < 0) {
				vz_cli_error("ctrl", "%s", err.msg);
				ret = VZ_EXIT_FAIL;
			}
			break;
		case OPT_GET:
			if (vz_ctrl_get_str(device, acts[i].arg, value, sizeof(value), &err) < 0) {
				vz_cli_error("ctrl", "%s", err.msg);
				ret = VZ_EXIT_FAIL;
				break;
			}
			printf("%s=%s\n", canonical(acts[i].arg, shown, sizeof(shown)), value);
			break;
		case OPT_SET:
			ret = do_set(device, acts[i].arg);
			break;
		}
		vz_err_clear(&err);
	}
	if (fflush(stdout) != 0 && ret == VZ_EXIT_OK) {
		vz_cli_error("ctrl", "writing the output failed");
		ret = VZ_EXIT_FAIL;
	}
out:
	free(acts);
	return ret;
}
