/* SPDX-License-Identifier: MIT */
/*
 * Shared pieces of the vzero command line: argument parsers that reject
 * nonsense with one clear line, and the capture options every streaming
 * command (capture, run, jitter) accepts.
 */
#ifndef VZ_CLI_H
#define VZ_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "capture.h"
#include "errors.h"

/* Exit codes: 0 ok, 1 runtime failure, 2 usage error (bad arguments). */
#define VZ_EXIT_OK    0
#define VZ_EXIT_FAIL  1
#define VZ_EXIT_USAGE 2

/* "640x480" -> w,h (both > 0, <= 16384). */
int vz_cli_parse_size(const char *s, uint32_t *w, uint32_t *h, struct vz_err *err);
/* "25", "12.5", "30000/1001" -> num/den (> 0). */
int vz_cli_parse_fps(const char *s, uint32_t *num, uint32_t *den, struct vz_err *err);
/* Positive integer (1 .. max). */
int vz_cli_parse_count(const char *s, const char *what, uint64_t max, uint64_t *out,
                       struct vz_err *err);
/* Positive seconds (decimal). */
int vz_cli_parse_seconds(const char *s, double *out, struct vz_err *err);

/*
 * The capture options shared by capture/run/jitter:
 *   -d DEV  -f FOURCC  -s WxH  -r FPS  -n FRAMES  -t SECONDS
 *   --io mmap|dmabuf-import  --buffers N  --libv4l2  --reconnect[=SECONDS]
 *   --timeline-csv FILE  --json
 */
struct vz_cli_capture {
	struct vz_capture_config cfg;
	uint64_t frames;  /* -n, 0: unlimited */
	double seconds;   /* -t, 0: unlimited */
	int reconnect_ms; /* -1: off; 0: forever */
	double stall_s;   /* --stall-timeout, 0: the command's default */
	const char *timeline_csv;
	bool json;
};

/* getopt_long table entries and short-option letters for the above; a
 * command appends its own. */
extern const struct option vz_cli_capture_longopts[];
/* The table a command passes to getopt_long: the capture options, then its
 * own @nown, then the terminator.  @cap (entries in @out) must fit them all:
 * a table too small is a programming error and aborts. */
void vz_cli_longopts(struct option *out, size_t cap, const struct option *own, size_t nown);
#define VZ_CLI_CAPTURE_SHORTOPTS "d:f:s:r:n:t:"
/* The capture options' help, every one once; @buffers is the command's
 * default for --buffers.  --timeline-csv and --json are each command's own
 * output options and listed by it. */
void vz_cli_capture_help(FILE *out, unsigned buffers);

void vz_cli_capture_init(struct vz_cli_capture *o);
/*
 * Handles option @c (from getopt_long with vz_cli_capture_longopts) if it
 * is a capture option: returns 1 handled, 0 not ours, -1 bad value (the
 * message is already printed to stderr as "vzero CMD: ...").
 */
int vz_cli_capture_opt(struct vz_cli_capture *o, const char *cmd, int c, const char *arg);
/* Long-option codes used by vz_cli_capture_longopts (>= 0x100). */
enum {
	VZ_OPT_IO = 0x100,
	VZ_OPT_BUFFERS,
	VZ_OPT_LIBV4L2,
	VZ_OPT_RECONNECT,
	VZ_OPT_TIMELINE_CSV,
	VZ_OPT_JSON,
	VZ_OPT_STALL,
	VZ_OPT_CAPTURE_LAST = 0x180, /* commands use codes above this */
};

/* Writes @path with @fn(file, @arg); on failure says which file and what
 * (@what: "the JSON report") as "vzero CMD: ..." and returns -1. */
int vz_cli_write_file(const char *cmd, const char *what, const char *path,
                      int (*fn)(FILE *, const void *), const void *arg);

/* Prints "vzero CMD: MSG" to stderr. */
void vz_cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Commands. */
int vz_cmd_devices(int argc, char **argv);
int vz_cmd_capture(int argc, char **argv);
int vz_cmd_ctrl(int argc, char **argv);
int vz_cmd_run(int argc, char **argv);
int vz_cmd_jitter(int argc, char **argv);
int vz_cmd_rtpcheck(int argc, char **argv);
int vz_cmd_probe(int argc, char **argv);

#endif
