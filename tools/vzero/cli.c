/* SPDX-License-Identifier: MIT */
/*
 * Argument parsers and the shared capture options.  Every parser is strict:
 * a value that is not exactly what the option means ("-s 0x0", "-r abc",
 * "-n -5", "-n 1e3", trailing junk, overflow) is refused with one line that
 * says what would have been accepted.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vz-config.h"

#define MAX_DIM     16384
#define MAX_FPS     10000
#define MAX_SECONDS (366.0 * 24 * 3600)

const struct option vz_cli_capture_longopts[] = {
        {"device", required_argument, NULL, 'd'},
        {"format", required_argument, NULL, 'f'},
        {"size", required_argument, NULL, 's'},
        {"rate", required_argument, NULL, 'r'},
        {"frames", required_argument, NULL, 'n'},
        {"time", required_argument, NULL, 't'},
        {"io", required_argument, NULL, VZ_OPT_IO},
        {"buffers", required_argument, NULL, VZ_OPT_BUFFERS},
        {"libv4l2", no_argument, NULL, VZ_OPT_LIBV4L2},
        {"reconnect", optional_argument, NULL, VZ_OPT_RECONNECT},
        {"timeline-csv", required_argument, NULL, VZ_OPT_TIMELINE_CSV},
        {"json", no_argument, NULL, VZ_OPT_JSON},
        {"stall-timeout", required_argument, NULL, VZ_OPT_STALL},
        {NULL, 0, NULL, 0},
};

void vz_cli_longopts(struct option *out, size_t cap, const struct option *own, size_t nown)
{
	size_t n = 0;
	for (const struct option *c = vz_cli_capture_longopts; c->name; c++) {
		if (n == cap)
			abort();
		out[n++] = *c;
	}
	if (n + nown + 1 > cap)
		abort();
	for (size_t i = 0; i < nown; i++)
		out[n++] = own[i];
	memset(&out[n], 0, sizeof(out[n]));
}

void vz_cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "vzero %s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Digits only, no sign, no blanks: strtoull alone accepts " -5". */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
	if (n == 0 || n > 20)
		return -EINVAL;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int vz_cli_parse_count(const char *s, const char *what, uint64_t max, uint64_t *out,
                       struct vz_err *err)
{
	uint64_t v;
	if (!s || parse_u64(s, strlen(s), &v) < 0 || v == 0 || v > max)
		return vz_err_set(err, -EINVAL, "%s '%s': expected a whole number from 1 to %llu",
		                  what, s ? s : "", (unsigned long long)max);
	*out = v;
	return 0;
}

int vz_cli_parse_size(const char *s, uint32_t *w, uint32_t *h, struct vz_err *err)
{
	const char *x = s ? strchr(s, 'x') : NULL;
	uint64_t a, b;
	if (!x || parse_u64(s, (size_t)(x - s), &a) < 0 ||
	    parse_u64(x + 1, strlen(x + 1), &b) < 0 || a == 0 || b == 0 || a > MAX_DIM ||
	    b > MAX_DIM)
		return vz_err_set(err, -EINVAL,
		                  "size '%s': expected WIDTHxHEIGHT, each 1 to %d, e.g. 640x480",
		                  s ? s : "", MAX_DIM);
	*w = (uint32_t)a;
	*h = (uint32_t)b;
	return 0;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

int vz_cli_parse_fps(const char *s, uint32_t *num, uint32_t *den, struct vz_err *err)
{
	uint64_t n = 0, d = 1;
	int ret = -EINVAL;
	const char *slash = s ? strchr(s, '/') : NULL;
	const char *dot = s ? strchr(s, '.') : NULL;
	if (!s) {
		ret = -EINVAL;
	} else if (slash) {
		ret = parse_u64(s, (size_t)(slash - s), &n);
		if (ret == 0)
			ret = parse_u64(slash + 1, strlen(slash + 1), &d);
	} else if (dot) {
		/* Decimal rates become exact fractions: 12.5 -> 25/2. */
		uint64_t ip, fp;
		size_t flen = strlen(dot + 1);
		ret = flen > 6 ? -EINVAL : parse_u64(s, (size_t)(dot - s), &ip);
		if (ret == 0)
			ret = parse_u64(dot + 1, flen, &fp);
		if (ret == 0) {
			for (size_t i = 0; i < flen; i++)
				d *= 10;
			n = ip > UINT32_MAX ? UINT64_MAX : ip * d + fp;
		}
	} else {
		ret = parse_u64(s, strlen(s), &n);
	}
	if (ret == 0 && (n == 0 || d == 0 || n > UINT32_MAX || d > UINT32_MAX ||
	                 (double)n / (double)d > MAX_FPS))
		ret = -EINVAL;
	if (ret < 0)
		return vz_err_set(err, -EINVAL,
		                  "rate '%s': expected frames per second above 0 and at most %d, "
		                  "e.g. 25, 12.5 or 30000/1001",
		                  s ? s : "", MAX_FPS);
	uint64_t g = gcd(n, d);
	*num = (uint32_t)(n / g);
	*den = (uint32_t)(d / g);
	return 0;
}

int vz_cli_parse_seconds(const char *s, double *out, struct vz_err *err)
{
	/* Plain decimals only: strtod would also take "inf", "nan", "1e3"
	 * and hex. */
	bool ok = s && *s;
	int dots = 0;
	for (const char *p = s; ok && *p; p++) {
		if (*p == '.')
			dots++;
		else if (*p < '0' || *p > '9')
			ok = false;
	}
	double v = 0;
	if (ok && dots <= 1 && strcmp(s, ".") != 0) {
		char *end;
		errno = 0;
		v = strtod(s, &end);
		ok = errno == 0 && *end == '\0' && isfinite(v) && v > 0 && v <= MAX_SECONDS;
	} else {
		ok = false;
	}
	if (!ok)
		return vz_err_set(
		        err, -EINVAL,
		        "time '%s': expected seconds above 0 (at most %.0f), e.g. 10 or 2.5",
		        s ? s : "", MAX_SECONDS);
	*out = v;
	return 0;
}

void vz_cli_capture_help(FILE *out, unsigned buffers)
{
	fprintf(out,
	        "  -d, --device DEV       /dev/videoN, or a name: 'vivid', a card name;\n"
	        "                         libcamera:[K|NAME] for a libcamera camera (the\n"
	        "                         first, number K from 0, or id/model containing NAME)\n"
	        "  -f, --format FOURCC    pixel format, e.g. YUYV, UYVY, NV12 (default: driver's)\n"
	        "  -s, --size WxH         frame size, e.g. 640x480 (default: driver's)\n"
	        "  -r, --rate FPS         frame rate, e.g. 25 or 30000/1001 (default: driver's)\n"
	        "  -n, --frames N         stop after N good frames\n"
	        "  -t, --time SECONDS     stop after this long\n"
	        "      --io MODE          mmap (default: driver buffers exported as DMA-bufs)\n"
	        "                         or dmabuf-import (queue DMA-bufs from a DRM device)\n"
	        "      --buffers N        driver buffers to request (default %u; the driver\n"
	        "                         may grant more or fewer, and vzero uses what it grants)\n"
	        "      --libv4l2          convert through libv4l2 (copies; counted in stats)\n"
	        "      --reconnect[=S]    when the device disappears, wait S seconds\n"
	        "                         (default: forever) for it and resume\n"
	        "      --stall-timeout S  no frame for S seconds while streaming ends the run\n"
	        "                         with an error (default 10 plus ten frame intervals)\n",
	        buffers);
}

void vz_cli_capture_init(struct vz_cli_capture *o)
{
	memset(o, 0, sizeof(*o));
	o->cfg.io = VZ_IO_MMAP;
	/* The streaming loops poll; a DQBUF must never block them. */
	o->reconnect_ms = -1;
}

int vz_cli_capture_opt(struct vz_cli_capture *o, const char *cmd, int c, const char *arg)
{
	struct vz_err e = {0};
	uint64_t v;
	double secs;
	switch (c) {
	case 'd':
		if (!arg[0]) {
			vz_cli_error(cmd, "-d needs a device, e.g. /dev/video0 or vivid");
			return -1;
		}
		o->cfg.device = arg;
		return 1;
	case 'f':
		if (vz_fourcc_parse(arg, &o->cfg.fourcc) < 0) {
			vz_cli_error(cmd,
			             "format '%s': expected a pixel format name or fourcc, e.g. "
			             "YUYV, UYVY, NV12 (see `vzero devices`)",
			             arg);
			return -1;
		}
		return 1;
	case 's':
		if (vz_cli_parse_size(arg, &o->cfg.width, &o->cfg.height, &e) < 0)
			goto bad;
		return 1;
	case 'r':
		if (vz_cli_parse_fps(arg, &o->cfg.fps_num, &o->cfg.fps_den, &e) < 0)
			goto bad;
		return 1;
	case 'n':
		if (vz_cli_parse_count(arg, "-n", UINT32_MAX, &o->frames, &e) < 0)
			goto bad;
		return 1;
	case 't':
		if (vz_cli_parse_seconds(arg, &o->seconds, &e) < 0)
			goto bad;
		return 1;
	case VZ_OPT_IO:
		if (!strcmp(arg, "mmap")) {
			o->cfg.io = VZ_IO_MMAP;
		} else if (!strcmp(arg, "dmabuf-import") || !strcmp(arg, "dmabuf")) {
			o->cfg.io = VZ_IO_DMABUF_IMPORT;
		} else {
			vz_cli_error(cmd, "--io '%s': expected mmap or dmabuf-import", arg);
			return -1;
		}
		return 1;
	case VZ_OPT_BUFFERS:
		if (vz_cli_parse_count(arg, "--buffers", VZ_MAX_BUFFERS, &v, &e) < 0)
			goto bad;
		o->cfg.buffers = (unsigned)v;
		return 1;
	case VZ_OPT_LIBV4L2:
		if (!VZ_HAVE_LIBV4L2) {
			vz_cli_error(cmd, "--libv4l2: this vzero was built without libv4l2; "
			                  "install libv4l-dev and rebuild");
			return -1;
		}
		o->cfg.libv4l2 = true;
		return 1;
	case VZ_OPT_RECONNECT:
		if (!arg) {
			o->reconnect_ms = 0;
			return 1;
		}
		if (vz_cli_parse_seconds(arg, &secs, &e) < 0 || secs > 86400) {
			vz_cli_error(cmd,
			             "--reconnect '%s': expected seconds to wait, 0.1 to 86400 "
			             "(or --reconnect alone to wait forever)",
			             arg);
			return -1;
		}
		o->reconnect_ms = (int)(secs * 1000.0 + 0.5);
		if (o->reconnect_ms == 0)
			o->reconnect_ms = 1;
		return 1;
	case VZ_OPT_TIMELINE_CSV:
		if (!arg[0]) {
			vz_cli_error(cmd, "--timeline-csv needs a file name");
			return -1;
		}
		o->timeline_csv = arg;
		return 1;
	case VZ_OPT_JSON:
		o->json = true;
		return 1;
	case VZ_OPT_STALL:
		if (vz_cli_parse_seconds(arg, &o->stall_s, &e) < 0) {
			vz_cli_error(cmd, "--stall-timeout: %s", e.msg);
			return -1;
		}
		return 1;
	default:
		return 0;
	}
bad:
	vz_cli_error(cmd, "%s", e.msg);
	return -1;
}

int vz_cli_write_file(const char *cmd, const char *what, const char *path,
                      int (*fn)(FILE *, const void *), const void *arg)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		vz_cli_error(cmd, "cannot write %s to %s: %s", what, path, strerror(errno));
		return -1;
	}
	int r = fn(f, arg);
	if (fclose(f) != 0 || r < 0) {
		vz_cli_error(cmd, "writing %s to %s failed", what, path);
		return -1;
	}
	return 0;
}
