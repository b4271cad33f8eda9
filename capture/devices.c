/* SPDX-License-Identifier: MIT */
/*
 * Device discovery: turning what a person types ("vivid", "vivid:1",
 * "video2", a path) into a capture node, and telling them precisely why
 * something that is not a capture node won't do.
 *
 * Nodes come from /sys/class/video4linux (the kernel's own list; /dev may
 * hold stale or symlinked names) with a /dev scan as the fallback for
 * containers that hide sysfs.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "capture.h"
#include "report.h"
#include "v4l2-internal.h"

/* Node name prefixes in the order a listing shows them. */
static const char *const node_prefixes[] = {
        "video", "vbi", "radio", "swradio", "v4l-touch", "v4l-subdev",
};
#define N_PREFIXES (sizeof(node_prefixes) / sizeof(node_prefixes[0]))

enum node_kind {
	K_UNKNOWN = 0,
	K_CAPTURE,
	K_OUTPUT,
	K_M2M,
	K_OVERLAY,
	K_VBI_CAPTURE,
	K_VBI_OUTPUT,
	K_RADIO_RX,
	K_RADIO_TX,
	K_SDR_CAPTURE,
	K_SDR_OUTPUT,
	K_TOUCH,
	K_META_CAPTURE,
	K_META_OUTPUT,
};

static const char *const kind_names[] = {
        [K_UNKNOWN] = "unrecognised",          [K_CAPTURE] = "video capture",
        [K_OUTPUT] = "video output",           [K_M2M] = "memory-to-memory (codec/converter)",
        [K_OVERLAY] = "video overlay",         [K_VBI_CAPTURE] = "VBI capture",
        [K_VBI_OUTPUT] = "VBI output",         [K_RADIO_RX] = "radio receiver",
        [K_RADIO_TX] = "radio transmitter",    [K_SDR_CAPTURE] = "SDR receiver",
        [K_SDR_OUTPUT] = "SDR transmitter",    [K_TOUCH] = "touch sensor",
        [K_META_CAPTURE] = "metadata capture", [K_META_OUTPUT] = "metadata output",
};

struct node {
	char path[PATH_MAX];
	unsigned rank;  /* index into node_prefixes, N_PREFIXES for others */
	unsigned num;   /* N of videoN */
	int open_errno; /* 0 when QUERYCAP worked */
	bool rw;        /* opened read-write (else read-only or not at all) */
	char driver[sizeof(((struct v4l2_capability *)0)->driver) + 1];
	char card[sizeof(((struct v4l2_capability *)0)->card) + 1];
	char bus[sizeof(((struct v4l2_capability *)0)->bus_info) + 1];
	uint32_t version;
	uint32_t caps; /* device_caps where the driver has them */
	enum node_kind kind;
};

struct node_list {
	struct node *v;
	size_t n, cap;
	bool listed;
};

static void copy_field(char *dst, size_t dstlen, const uint8_t *src, size_t srclen)
{
	size_t n = strnlen((const char *)src, srclen);
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static enum node_kind classify(uint32_t c)
{
	/* Touch nodes also claim VIDEO_CAPTURE, and m2m nodes have a capture
	 * queue that only yields what someone feeds the output queue, so
	 * both are sorted out before plain capture. */
	if (c & V4L2_CAP_TOUCH)
		return K_TOUCH;
	if (c & (V4L2_CAP_VIDEO_M2M | V4L2_CAP_VIDEO_M2M_MPLANE))
		return K_M2M;
	if (c & (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_CAPTURE_MPLANE))
		return K_CAPTURE;
	if (c & (V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_VIDEO_OUTPUT_MPLANE))
		return K_OUTPUT;
	if (c & V4L2_CAP_META_CAPTURE)
		return K_META_CAPTURE;
	if (c & V4L2_CAP_META_OUTPUT)
		return K_META_OUTPUT;
	if (c & (V4L2_CAP_VBI_CAPTURE | V4L2_CAP_SLICED_VBI_CAPTURE))
		return K_VBI_CAPTURE;
	if (c & (V4L2_CAP_VBI_OUTPUT | V4L2_CAP_SLICED_VBI_OUTPUT))
		return K_VBI_OUTPUT;
	if (c & V4L2_CAP_SDR_CAPTURE)
		return K_SDR_CAPTURE;
	if (c & V4L2_CAP_SDR_OUTPUT)
		return K_SDR_OUTPUT;
	/* vivid's radio transmitter has MODULATOR without RADIO. */
	if (c & V4L2_CAP_MODULATOR)
		return K_RADIO_TX;
	if (c & V4L2_CAP_RADIO)
		return K_RADIO_RX;
	if (c & (V4L2_CAP_VIDEO_OVERLAY | V4L2_CAP_VIDEO_OUTPUT_OVERLAY))
		return K_OVERLAY;
	return K_UNKNOWN;
}

static bool is_streaming_capture(const struct node *nd)
{
	return nd->open_errno == 0 && nd->kind == K_CAPTURE && (nd->caps & V4L2_CAP_STREAMING);
}

/* Opens read-write as capture needs; falls back to read-only so a listing
 * can still describe a node we may not stream from. */
static int open_node(const char *path, bool *rw)
{
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	*rw = fd >= 0;
	if (fd < 0 && (errno == EACCES || errno == EPERM)) {
		int e = errno;
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			errno = e;
	}
	return fd;
}

/* Fills the QUERYCAP part of @nd; returns 0 or a positive errno. */
static int query_node(struct node *nd)
{
	struct v4l2_capability cap;
	int fd = -1;
	int e = 0;

	fd = open_node(nd->path, &nd->rw);
	if (fd < 0) {
		e = errno;
		goto out;
	}
	memset(&cap, 0, sizeof(cap));
	if (vz_ioctl(fd, VIDIOC_QUERYCAP, &cap) < 0) {
		e = errno;
		goto out;
	}
	copy_field(nd->driver, sizeof(nd->driver), cap.driver, sizeof(cap.driver));
	copy_field(nd->card, sizeof(nd->card), cap.card, sizeof(cap.card));
	copy_field(nd->bus, sizeof(nd->bus), cap.bus_info, sizeof(cap.bus_info));
	nd->version = cap.version;
	nd->caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
	nd->kind = classify(nd->caps);
out:
	if (fd >= 0)
		close(fd);
	nd->open_errno = e;
	return e;
}

/* "video12" -> rank of "video", 12.  False for names we don't list. */
static bool parse_node_name(const char *name, unsigned *rank, unsigned *num)
{
	for (unsigned i = 0; i < N_PREFIXES; i++) {
		size_t pl = strlen(node_prefixes[i]);
		if (strncmp(name, node_prefixes[i], pl) != 0)
			continue;
		const char *p = name + pl;
		if (!isdigit((unsigned char)*p))
			continue;
		char *end;
		unsigned long v = strtoul(p, &end, 10);
		if (*end != '\0' || v > 1000000)
			continue;
		*rank = i;
		*num = (unsigned)v;
		return true;
	}
	return false;
}

static int node_cmp(const void *a, const void *b)
{
	const struct node *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->num != y->num)
		return x->num < y->num ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int list_add(struct node_list *l, const char *name, unsigned rank, unsigned num)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		struct node *nv = realloc(l->v, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = nc;
	}
	struct node *nd = &l->v[l->n];
	memset(nd, 0, sizeof(*nd));
	snprintf(nd->path, sizeof(nd->path), "/dev/%s", name);
	nd->rank = rank;
	nd->num = num;
	l->n++;
	return 0;
}

static void list_free(struct node_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* Every V4L2 node, sorted (video0, video1, ..., vbi0, ...), each queried;
 * with @video_only just the videoN nodes, where capture nodes live. */
static int list_nodes(struct node_list *l, bool video_only, struct vz_err *err)
{
	DIR *d = opendir("/sys/class/video4linux");
	bool from_sysfs = d != NULL;
	int ret = 0;

	if (!d)
		d = opendir("/dev");
	if (!d)
		return vz_err_set(
		        err, -errno,
		        "can't read /sys/class/video4linux or /dev to find V4L2 devices: %s",
		        strerror(errno));
	struct dirent *de;
	while ((de = readdir(d))) {
		unsigned rank, num;
		if (de->d_name[0] == '.')
			continue;
		if (!parse_node_name(de->d_name, &rank, &num)) {
			if (!from_sysfs)
				continue;
			rank = N_PREFIXES;
			num = 0;
		}
		if (video_only && rank != 0)
			continue;
		char path[PATH_MAX];
		struct stat st;
		snprintf(path, sizeof(path), "/dev/%s", de->d_name);
		if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode))
			continue;
		ret = list_add(l, de->d_name, rank, num);
		if (ret < 0) {
			vz_err_set(err, ret, "out of memory listing V4L2 devices");
			goto out;
		}
	}
	l->listed = true;
	if (l->n)
		qsort(l->v, l->n, sizeof(l->v[0]), node_cmp);
	for (size_t i = 0; i < l->n; i++)
		query_node(&l->v[i]);
out:
	closedir(d);
	if (ret < 0)
		list_free(l);
	return ret;
}

/* The video nodes, listed on first use: resolving a good path needs no
 * list, and opening every node costs time on a busy machine.  A failed
 * listing leaves it empty, which only makes messages shorter. */
static const struct node_list *video_nodes(struct node_list *l)
{
	if (!l->listed) {
		struct vz_err ignored;
		vz_err_clear(&ignored);
		if (list_nodes(l, true, &ignored) < 0)
			l->listed = true;
	}
	return l;
}

/* Appends to a fixed buffer, truncating; keeps messages one bounded line. */
static void append(char *buf, size_t len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	if (used + 1 >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

#define NO_DEVICES_HINT                                                                            \
	"no V4L2 capture devices found; load vivid (`sudo modprobe vivid`) or try "                \
	"tools/vivid-vm -- vzero devices"

/* "capture nodes here: /dev/video0 (vivid, platform:vivid-000), ..." or the
 * hint for a machine that has none. */
static void describe_capture_nodes(const struct node_list *l, char *buf, size_t len)
{
	unsigned shown = 0, total = 0, denied = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < l->n; i++) {
		const struct node *nd = &l->v[i];
		if (nd->open_errno == EACCES || nd->open_errno == EPERM)
			denied++;
		if (!is_streaming_capture(nd))
			continue;
		total++;
		if (shown >= 6)
			continue;
		append(buf, len, "%s%s (%s, %s)", shown ? ", " : "capture nodes here: ", nd->path,
		       nd->card, nd->bus);
		shown++;
	}
	if (total > shown)
		append(buf, len, " and %u more", total - shown);
	if (!total) {
		if (denied)
			append(buf, len,
			       "no capture node could be opened (%u V4L2 nodes refuse access: "
			       "check the group of /dev/video* and join it)",
			       denied);
		else
			append(buf, len, NO_DEVICES_HINT);
	}
}

static const struct node *find_capture_sibling(const struct node_list *l, const char *driver,
                                               const char *bus)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct node *nd = &l->v[i];
		if (is_streaming_capture(nd) && !strcmp(nd->driver, driver) &&
		    !strcmp(nd->bus, bus))
			return nd;
	}
	return NULL;
}

static const char *file_type(mode_t m)
{
	if (S_ISREG(m))
		return "a regular file";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISLNK(m))
		return "a symbolic link";
	return "not a device";
}

/* The driver that registered character major @maj, from /proc/devices. */
static void char_major_name(unsigned maj, char *buf, size_t len)
{
	FILE *f = fopen("/proc/devices", "re");
	char line[256];
	bool in_char = false;

	snprintf(buf, len, "unknown driver");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Character devices:", 18)) {
			in_char = true;
			continue;
		}
		if (!strncmp(line, "Block devices:", 14))
			break;
		unsigned m;
		char name[128];
		if (in_char && sscanf(line, "%u %127s", &m, name) == 2 && m == maj) {
			snprintf(buf, len, "driver '%s'", name);
			break;
		}
	}
	fclose(f);
}

/* True when sysfs says char device @rdev belongs to video4linux. */
static bool sysfs_is_v4l(dev_t rdev)
{
	char link[PATH_MAX], target[PATH_MAX];
	snprintf(link, sizeof(link), "/sys/dev/char/%u:%u/subsystem", major(rdev), minor(rdev));
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	const char *base = strrchr(target, '/');
	return base && !strcmp(base + 1, "video4linux");
}

static int permission_error(const char *path, const struct stat *st, struct vz_err *err)
{
	struct group *g = getgrgid(st->st_gid);
	char gname[64];

	if (g)
		snprintf(gname, sizeof(gname), "%s", g->gr_name);
	else
		snprintf(gname, sizeof(gname), "%u", (unsigned)st->st_gid);
	if (st->st_gid == 0 || !(st->st_mode & S_IRGRP))
		return vz_err_set(
		        err, -EACCES,
		        "permission denied opening %s (mode %03o, group %s): only root may "
		        "use it; ask for a udev rule that gives it to group 'video', or run "
		        "as root",
		        path, (unsigned)(st->st_mode & 0777), gname);
	return vz_err_set(err, -EACCES,
	                  "permission denied opening %s (mode %03o, group '%s'): join the group "
	                  "with `sudo usermod -aG %s $USER`, then log out and in again",
	                  path, (unsigned)(st->st_mode & 0777), gname, gname);
}

static int copy_out(const char *path, char *buf, size_t len, struct vz_err *err)
{
	char real[PATH_MAX];
	/* The canonical /dev/videoN, so a /dev/v4l/by-id link reports the
	 * node it stands for. */
	const char *p = realpath(path, real) ? real : path;
	if (strlen(p) >= len)
		return vz_err_set(err, -ENAMETOOLONG, "device path %s is too long (%zu bytes max)",
		                  p, len - 1);
	snprintf(buf, len, "%s", p);
	return 0;
}

static int resolve_path(const char *path, struct node_list *l, char *buf, size_t len,
                        struct vz_err *err)
{
	char where[VZ_ERR_MSG_MAX];
	struct stat st;

	if (stat(path, &st) < 0) {
		int e = errno;
		if (e == ENOENT || e == ENOTDIR) {
			describe_capture_nodes(video_nodes(l), where, sizeof(where));
			return vz_err_set(err, -ENOENT, "no such device %s; %s", path, where);
		}
		return vz_err_set(err, -e, "can't look at %s: %s", path, strerror(e));
	}
	if (!S_ISCHR(st.st_mode)) {
		describe_capture_nodes(video_nodes(l), where, sizeof(where));
		return vz_err_set(err, -ENOTTY, "%s is %s, not a V4L2 device node; %s", path,
		                  file_type(st.st_mode), where);
	}

	struct node nd;
	memset(&nd, 0, sizeof(nd));
	snprintf(nd.path, sizeof(nd.path), "%s", path);
	int e = query_node(&nd);
	if (e == 0 && !nd.rw)
		e = EACCES; /* readable but capture needs read-write */
	if (e == EACCES || e == EPERM) {
		if (sysfs_is_v4l(st.st_rdev) || major(st.st_rdev) == 81)
			return permission_error(path, &st, err);
		/* Not ours to open anyway: say what it is instead. */
		e = ENOTTY;
	}
	if (e == ENOTTY || e == EINVAL) {
		char drv[160];
		char_major_name(major(st.st_rdev), drv, sizeof(drv));
		describe_capture_nodes(video_nodes(l), where, sizeof(where));
		if (sysfs_is_v4l(st.st_rdev))
			return vz_err_set(
			        err, -ENOTTY,
			        "%s (char %u:%u) is a V4L2 sub-device or other non-video "
			        "node (VIDIOC_QUERYCAP fails); configure it with media-ctl "
			        "and capture from its video node; %s",
			        path, major(st.st_rdev), minor(st.st_rdev), where);
		return vz_err_set(
		        err, -ENOTTY,
		        "%s (char %u:%u, %s) is not a V4L2 device (VIDIOC_QUERYCAP fails); "
		        "%s",
		        path, major(st.st_rdev), minor(st.st_rdev), drv, where);
	}
	if (e == ENODEV || e == ENXIO)
		return vz_err_set(
		        err, -ENODEV,
		        "%s (char %u:%u) has no device behind it: it was unplugged or its "
		        "driver unloaded; plug it back in or reload the driver",
		        path, major(st.st_rdev), minor(st.st_rdev));
	if (e == EBUSY)
		return vz_err_set(err, -EBUSY,
		                  "%s is busy: another program holds it exclusively; close that "
		                  "program (see `fuser %s`)",
		                  path, path);
	if (e)
		return vz_err_set(err, -e, "can't open %s: %s", path, strerror(e));

	if (nd.kind != K_CAPTURE) {
		const struct node *sib = find_capture_sibling(video_nodes(l), nd.driver, nd.bus);
		where[0] = '\0';
		if (sib) {
			append(where, sizeof(where), "its capture node is %s", sib->path);
		} else {
			char others[VZ_ERR_MSG_MAX];
			describe_capture_nodes(video_nodes(l), others, sizeof(others));
			append(where, sizeof(where), "%s has no video capture node; ", nd.card);
			append(where, sizeof(where), "%s", others);
		}
		return vz_err_set(err, -ENODEV,
		                  "%s is %s's %s node (card '%s', device caps 0x%08x), not video "
		                  "capture; %s",
		                  path, nd.driver, kind_names[nd.kind], nd.card, nd.caps, where);
	}
	if (!(nd.caps & V4L2_CAP_STREAMING))
		return vz_err_set(err, -EOPNOTSUPP,
		                  "%s (%s) is a video capture node that only supports read(), not "
		                  "streaming I/O; vzero needs mmap/DMA-buf streaming (a different "
		                  "driver or node)",
		                  path, nd.card);
	return copy_out(path, buf, len, err);
}

/* Case-insensitive substring. */
static bool contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	if (!n)
		return false;
	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return true;
	return false;
}

static bool node_matches(const struct node *nd, const char *name)
{
	return contains_ci(nd->card, name) || contains_ci(nd->driver, name) ||
	       contains_ci(nd->bus, name);
}

/* "name:N" -> base "name", index N; false when there is no numeric suffix. */
static bool split_index(const char *sel, char *base, size_t blen, unsigned *idx)
{
	const char *colon = strrchr(sel, ':');
	if (!colon || colon == sel || !colon[1])
		return false;
	for (const char *p = colon + 1; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	size_t n = (size_t)(colon - sel);
	if (n >= blen || strlen(colon + 1) > 6)
		return false;
	memcpy(base, sel, n);
	base[n] = '\0';
	*idx = (unsigned)strtoul(colon + 1, NULL, 10);
	return true;
}

static size_t count_matches(const struct node_list *l, const char *name)
{
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++)
		if (is_streaming_capture(&l->v[i]) && node_matches(&l->v[i], name))
			k++;
	return k;
}

/*
 * A name picks the capture nodes whose card, driver or bus_info contains it;
 * when several cards match, the first node (lowest /dev/videoN) wins and
 * "name:N" picks the others.
 */
static int resolve_name(const char *sel, struct node_list *lst, char *buf, size_t len,
                        struct vz_err *err)
{
	const struct node_list *l = video_nodes(lst);
	char base[256];
	unsigned idx = 0;
	const char *name = sel;
	char where[VZ_ERR_MSG_MAX];

	/* A selector that matches as a whole ("usb-0000:00:14.0") wins over
	 * the index reading of its last colon. */
	if (split_index(sel, base, sizeof(base), &idx) && !count_matches(l, sel))
		name = base;
	else
		idx = 0;

	size_t k = 0;
	char matched[VZ_ERR_MSG_MAX] = "";
	for (size_t i = 0; i < l->n; i++) {
		const struct node *nd = &l->v[i];
		if (!is_streaming_capture(nd) || !node_matches(nd, name))
			continue;
		if (k == idx)
			return copy_out(nd->path, buf, len, err);
		append(matched, sizeof(matched), "%s%s:%zu=%s", k ? ", " : "", name, k, nd->path);
		k++;
	}
	if (k)
		return vz_err_set(err, -ENODEV,
		                  "'%s' asks for capture node %u matching '%s' (counting from 0), "
		                  "but only %zu match: %s",
		                  sel, idx, name, k, matched);

	describe_capture_nodes(l, where, sizeof(where));
	return vz_err_set(err, -ENODEV,
	                  "no capture device matches '%s' (by card, driver or bus name); %s", sel,
	                  where);
}

int vz_device_resolve(const char *selector, char *buf, size_t len, struct vz_err *err)
{
	struct node_list l = {0};
	char path[PATH_MAX];
	unsigned rank, num;
	int ret;

	if (!selector || !*selector)
		return vz_err_set(
		        err, -EINVAL,
		        "no device given; name one: /dev/videoN, videoN, N, or a name like "
		        "'vivid' (see `vzero devices`)");

	bool all_digits = true;
	for (const char *p = selector; *p; p++)
		if (!isdigit((unsigned char)*p))
			all_digits = false;

	struct stat st;
	if (strchr(selector, '/')) {
		ret = resolve_path(selector, &l, buf, len, err);
	} else if (all_digits && strlen(selector) < 8) {
		snprintf(path, sizeof(path), "/dev/video%s", selector);
		ret = resolve_path(path, &l, buf, len, err);
	} else if (parse_node_name(selector, &rank, &num)) {
		snprintf(path, sizeof(path), "/dev/%s", selector);
		ret = resolve_path(path, &l, buf, len, err);
	} else if (!count_matches(video_nodes(&l), selector) && stat(selector, &st) == 0) {
		/* A file in the current directory that names no card. */
		ret = resolve_path(selector, &l, buf, len, err);
	} else {
		ret = resolve_name(selector, &l, buf, len, err);
	}
	list_free(&l);
	return ret;
}

/* ---- listing ---- */

static void fourcc_str(uint32_t f, bool trim, char out[8])
{
	for (int i = 0; i < 4; i++) {
		int c = (int)((f >> (8 * i)) & 0x7f);
		out[i] = isprint(c) ? (char)c : '.';
	}
	int n = 4;
	while (trim && n > 1 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	if (f & (1U << 31))
		strcat(out, "-BE");
}

/* Frames per second from a V4L2 frame interval, as a short number. */
static void fps_str(struct v4l2_fract iv, char *buf, size_t len)
{
	if (!iv.numerator || !iv.denominator) {
		snprintf(buf, len, "0");
		return;
	}
	if (iv.denominator % iv.numerator == 0) {
		snprintf(buf, len, "%u", iv.denominator / iv.numerator);
		return;
	}
	snprintf(buf, len, "%.3f", (double)iv.denominator / iv.numerator);
	char *p = buf + strlen(buf) - 1;
	while (p > buf && *p == '0')
		*p-- = '\0';
	if (*p == '.')
		*p = '\0';
}

/* Rates for one discrete size: "25, 12.5 fps" (human) or [25, 12.5] /
 * {"min":..,"max":..} (JSON, after the key).  Nothing when the driver
 * doesn't enumerate intervals. */
static void print_rates(FILE *out, int fd, uint32_t fourcc, uint32_t w, uint32_t h, bool json)
{
	struct v4l2_frmivalenum iv;
	char a[32], b[32];

	for (uint32_t i = 0;; i++) {
		memset(&iv, 0, sizeof(iv));
		iv.index = i;
		iv.pixel_format = fourcc;
		iv.width = w;
		iv.height = h;
		if (vz_ioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &iv) < 0) {
			if (i == 0)
				fputs(json ? ", \"fps\": []" : "", out);
			else
				fputs(json ? "]" : " fps", out);
			return;
		}
		if (iv.type != V4L2_FRMIVAL_TYPE_DISCRETE) {
			/* Longest interval is the lowest rate. */
			fps_str(iv.stepwise.max, a, sizeof(a));
			fps_str(iv.stepwise.min, b, sizeof(b));
			if (i)
				fputs(json ? "]" : " fps", out);
			else if (json)
				fprintf(out, ", \"fps_range\": {\"min\": %s, \"max\": %s}", a, b);
			else
				fprintf(out, "%s-%s fps", a, b);
			return;
		}
		fps_str(iv.discrete, a, sizeof(a));
		if (json)
			fprintf(out, "%s%s", i ? ", " : ", \"fps\": [", a);
		else
			fprintf(out, "%s%s", i ? ", " : "", a);
	}
}

/* The sizes of one format: human lines at @indent, or a JSON array. */
static void print_sizes(FILE *out, int fd, uint32_t fourcc, bool json, const char *indent)
{
	struct v4l2_frmsizeenum fs;

	if (json)
		fputs("[", out);
	for (uint32_t i = 0;; i++) {
		memset(&fs, 0, sizeof(fs));
		fs.index = i;
		fs.pixel_format = fourcc;
		if (vz_ioctl(fd, VIDIOC_ENUM_FRAMESIZES, &fs) < 0) {
			if (i == 0 && !json)
				fprintf(out,
				        "%ssizes not enumerable (the driver lacks "
				        "VIDIOC_ENUM_FRAMESIZES; any size S_FMT accepts)\n",
				        indent);
			break;
		}
		if (fs.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
			uint32_t w = fs.discrete.width, h = fs.discrete.height;
			if (json) {
				fprintf(out, "%s{\"width\": %u, \"height\": %u", i ? ", " : "", w,
				        h);
				print_rates(out, fd, fourcc, w, h, true);
				fputs("}", out);
			} else {
				char sz[32];
				snprintf(sz, sizeof(sz), "%ux%u", w, h);
				fprintf(out, "%s%-10s ", indent, sz);
				print_rates(out, fd, fourcc, w, h, false);
				fputs("\n", out);
			}
			continue;
		}
		const struct v4l2_frmsize_stepwise *s = &fs.stepwise;
		bool cont = fs.type == V4L2_FRMSIZE_TYPE_CONTINUOUS;
		if (json)
			fprintf(out,
			        "%s{\"type\": \"%s\", \"min_width\": %u, \"max_width\": %u, "
			        "\"step_width\": %u, \"min_height\": %u, \"max_height\": %u, "
			        "\"step_height\": %u}",
			        i ? ", " : "", cont ? "continuous" : "stepwise", s->min_width,
			        s->max_width, s->step_width, s->min_height, s->max_height,
			        s->step_height);
		else if (cont)
			fprintf(out, "%s%ux%u .. %ux%u, any size\n", indent, s->min_width,
			        s->min_height, s->max_width, s->max_height);
		else
			fprintf(out, "%s%ux%u .. %ux%u in steps of %ux%u\n", indent, s->min_width,
			        s->min_height, s->max_width, s->max_height, s->step_width,
			        s->step_height);
		break; /* a range is the only entry */
	}
	if (json)
		fputs("]", out);
}

struct fmt_text {
	uint32_t fourcc;
	char desc[sizeof(((struct v4l2_fmtdesc *)0)->description) + 1];
	char *sizes; /* human text, for grouping formats that share it */
	bool done;
};

static uint32_t capture_buf_type(const struct node *nd)
{
	if (nd->caps & V4L2_CAP_VIDEO_CAPTURE)
		return V4L2_BUF_TYPE_VIDEO_CAPTURE;
	return V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
}

static void version_str(uint32_t v, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
}

static void print_json_node(FILE *out, const struct node *nd, int fd, bool first)
{
	struct v4l2_fmtdesc fd_desc;
	char ver[32], fcc[8];
	uint32_t type = capture_buf_type(nd);

	version_str(nd->version, ver, sizeof(ver));
	fputs(first ? "\n  {" : ",\n  {", out);
	fputs("\"path\": ", out);
	vz_json_str(out, nd->path);
	fputs(", \"driver\": ", out);
	vz_json_str(out, nd->driver);
	fputs(", \"card\": ", out);
	vz_json_str(out, nd->card);
	fputs(", \"bus_info\": ", out);
	vz_json_str(out, nd->bus);
	fprintf(out, ", \"version\": \"%s\", \"multiplanar\": %s, \"streaming\": %s", ver,
	        type == V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE ? "true" : "false",
	        (nd->caps & V4L2_CAP_STREAMING) ? "true" : "false");
	fputs(",\n   \"formats\": [", out);
	for (uint32_t i = 0;; i++) {
		memset(&fd_desc, 0, sizeof(fd_desc));
		fd_desc.index = i;
		fd_desc.type = type;
		if (vz_ioctl(fd, VIDIOC_ENUM_FMT, &fd_desc) < 0)
			break;
		char desc[sizeof(fd_desc.description) + 1];
		copy_field(desc, sizeof(desc), fd_desc.description, sizeof(fd_desc.description));
		fourcc_str(fd_desc.pixelformat, false, fcc);
		fputs(i ? ",\n    {\"fourcc\": " : "\n    {\"fourcc\": ", out);
		vz_json_str(out, fcc);
		fputs(", \"description\": ", out);
		vz_json_str(out, desc);
		fprintf(out, ", \"compressed\": %s, \"sizes\": ",
		        (fd_desc.flags & V4L2_FMT_FLAG_COMPRESSED) ? "true" : "false");
		print_sizes(out, fd, fd_desc.pixelformat, true, "");
		fputs("}", out);
	}
	fputs("]}", out);
}

/* What one capture node offers, kept so later nodes can refer to it. */
struct node_formats {
	const struct node *nd;
	struct fmt_text *f;
	size_t n;
};

static void formats_free(struct node_formats *nf)
{
	for (size_t i = 0; i < nf->n; i++)
		free(nf->f[i].sizes);
	free(nf->f);
	nf->f = NULL;
	nf->n = 0;
}

static int collect_formats(struct node_formats *nf, int fd, struct vz_err *err)
{
	uint32_t type = capture_buf_type(nf->nd);
	size_t cap = 0;

	for (uint32_t i = 0;; i++) {
		struct v4l2_fmtdesc d;
		memset(&d, 0, sizeof(d));
		d.index = i;
		d.type = type;
		if (vz_ioctl(fd, VIDIOC_ENUM_FMT, &d) < 0)
			return 0;
		if (nf->n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct fmt_text *nv = realloc(nf->f, nc * sizeof(*nv));
			if (!nv)
				goto oom;
			nf->f = nv;
			cap = nc;
		}
		struct fmt_text *t = &nf->f[nf->n];
		memset(t, 0, sizeof(*t));
		t->fourcc = d.pixelformat;
		copy_field(t->desc, sizeof(t->desc), d.description, sizeof(d.description));
		nf->n++;
		size_t sl = 0;
		FILE *ms = open_memstream(&t->sizes, &sl);
		if (!ms)
			goto oom;
		print_sizes(ms, fd, d.pixelformat, false, "      ");
		if (fclose(ms) != 0 || !t->sizes)
			goto oom;
	}
oom:
	return vz_err_set(err, -ENOMEM, "out of memory listing the formats of %s", nf->nd->path);
}

static bool same_format(const struct fmt_text *a, const struct fmt_text *b)
{
	return a->fourcc == b->fourcc && !strcmp(a->desc, b->desc) && !strcmp(a->sizes, b->sizes);
}

/* True when every format of @ref is in @nf with the same sizes and rates. */
static bool covers(const struct node_formats *nf, const struct node_formats *ref)
{
	if (!ref->n || ref->n > nf->n)
		return false;
	for (size_t i = 0; i < ref->n; i++) {
		bool found = false;
		for (size_t j = 0; j < nf->n && !found; j++)
			found = same_format(&nf->f[j], &ref->f[i]);
		if (!found)
			return false;
	}
	return true;
}

/*
 * Formats sharing one size/rate table are printed together, and a node
 * that offers everything an earlier one does says so instead of repeating
 * it: vivid's eighty formats over the same webcam sizes, on three
 * instances, stay readable.
 */
static void print_human_node(FILE *out, struct node_formats *nf, const struct node_formats *prev,
                             size_t nprev)
{
	const struct node *nd = nf->nd;
	uint32_t type = capture_buf_type(nd);
	char ver[32], fcc[8];

	version_str(nd->version, ver, sizeof(ver));
	fprintf(out, "%s: %s, card '%s', bus %s, %s, driver version %s%s\n", nd->path, nd->driver,
	        nd->card, nd->bus,
	        type == V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE ? "multi-planar" : "single-planar", ver,
	        (nd->caps & V4L2_CAP_STREAMING) ? ""
	                                        : " (read() only: vzero can't stream from it)");
	if (!nf->n) {
		fprintf(out, "  no formats (VIDIOC_ENUM_FMT returned none)\n");
		return;
	}
	for (size_t k = 0; k < nprev; k++) {
		if (!covers(nf, &prev[k]))
			continue;
		for (size_t i = 0; i < nf->n; i++)
			for (size_t j = 0; j < prev[k].n && !nf->f[i].done; j++)
				nf->f[i].done = same_format(&nf->f[i], &prev[k].f[j]);
		bool rest = false;
		for (size_t i = 0; i < nf->n; i++)
			rest = rest || !nf->f[i].done;
		fprintf(out, "  the same formats, sizes and rates as %s%s\n", prev[k].nd->path,
		        rest ? ", and also" : "");
		break;
	}

	for (size_t i = 0; i < nf->n; i++) {
		if (nf->f[i].done)
			continue;
		/* One group: the formats, wrapped, then their shared sizes. */
		int col = fprintf(out, "  ");
		bool firstf = true;
		for (size_t j = i; j < nf->n; j++) {
			struct fmt_text *t = &nf->f[j];
			if (t->done || strcmp(t->sizes, nf->f[i].sizes) != 0)
				continue;
			t->done = true;
			char item[96];
			fourcc_str(t->fourcc, true, fcc);
			int il = snprintf(item, sizeof(item), "%s (%s)", fcc, t->desc);
			if (!firstf && col + il + 2 > 100) {
				fputs(",\n", out);
				col = fprintf(out, "  ");
			} else if (!firstf) {
				col += fprintf(out, ", ");
			}
			col += fprintf(out, "%s", item);
			firstf = false;
		}
		fputs(":\n", out);
		fputs(nf->f[i].sizes, out);
	}
}

/* "other V4L2 nodes:" grouped by kind, one line each. */
static void print_others(FILE *out, const struct node_list *l)
{
	bool any = false;
	/* Kinds in enum order, then nodes that could not be opened. */
	for (int k = 0; k <= K_META_OUTPUT + 1; k++) {
		int col = 0;
		bool first = true;
		for (size_t i = 0; i < l->n; i++) {
			const struct node *nd = &l->v[i];
			bool unopened = nd->open_errno != 0;
			if (k == K_META_OUTPUT + 1
			            ? !unopened
			            : (unopened || (int)nd->kind != k || nd->kind == K_CAPTURE))
				continue;
			if (!any)
				fprintf(out, "\nother V4L2 nodes (not video capture):\n");
			any = true;
			if (first) {
				if (unopened)
					col = fprintf(out, "  can't open:");
				else
					col = fprintf(out, "  %s:", kind_names[k]);
			}
			char item[PATH_MAX + 64];
			if (unopened)
				snprintf(item, sizeof(item), "%s (%s)", nd->path,
				         strerror(nd->open_errno));
			else
				snprintf(item, sizeof(item), "%s", nd->path);
			int il = (int)strlen(item);
			if (!first && col + il + 1 > 100)
				col = fprintf(out, "\n   ");
			col += fprintf(out, " %s", item);
			first = false;
		}
		if (!first)
			fputs("\n", out);
	}
}

static int open_listing(const struct node *nd, int *fd, struct vz_err *err)
{
	bool rw;
	*fd = open_node(nd->path, &rw);
	if (*fd < 0)
		return vz_err_set(err, -errno, "can't open %s to list its formats: %s", nd->path,
		                  strerror(errno));
	return 0;
}

int vz_devices_print(FILE *out, bool json, struct vz_err *err)
{
	struct node_list l = {0};
	struct node_formats *nfs = NULL;
	size_t nn = 0;
	int fd = -1;
	int ret = list_nodes(&l, false, err);

	if (ret < 0)
		return ret;
	nfs = calloc(l.n + 1, sizeof(*nfs));
	if (!nfs) {
		ret = vz_err_set(err, -ENOMEM, "out of memory listing devices");
		goto out;
	}
	if (json)
		fputs("[", out);
	for (size_t i = 0; i < l.n; i++) {
		const struct node *nd = &l.v[i];
		if (nd->open_errno || nd->kind != K_CAPTURE)
			continue;
		ret = open_listing(nd, &fd, err);
		if (ret < 0)
			goto out;
		if (json) {
			print_json_node(out, nd, fd, nn == 0);
		} else {
			nfs[nn].nd = nd;
			ret = collect_formats(&nfs[nn], fd, err);
			if (ret < 0) {
				nn++;
				goto out;
			}
			if (nn)
				fputs("\n", out);
			print_human_node(out, &nfs[nn], nfs, nn);
		}
		nn++;
		close(fd);
		fd = -1;
	}
	if (json) {
		fputs(nn ? "\n]\n" : "]\n", out);
	} else {
		if (!nn) {
			char where[VZ_ERR_MSG_MAX];
			describe_capture_nodes(&l, where, sizeof(where));
			fprintf(out, "%s\n", where);
		}
		print_others(out, &l);
	}
out:
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; nfs && i < nn; i++)
		formats_free(&nfs[i]);
	free(nfs);
	list_free(&l);
	return ret;
}

int vz_device_print(FILE *out, const char *selector, bool json, struct vz_err *err)
{
	char path[PATH_MAX];
	struct node nd;
	struct node_formats nf = {0};
	int fd = -1;
	int ret = vz_device_resolve(selector, path, sizeof(path), err);

	if (ret < 0)
		return ret;
	memset(&nd, 0, sizeof(nd));
	snprintf(nd.path, sizeof(nd.path), "%s", path);
	int e = query_node(&nd);
	if (e)
		return vz_err_set(err, -e, "can't query %s: %s", path, strerror(e));
	ret = open_listing(&nd, &fd, err);
	if (ret < 0)
		return ret;
	if (json) {
		fputs("[", out);
		print_json_node(out, &nd, fd, true);
		fputs("\n]\n", out);
	} else {
		nf.nd = &nd;
		ret = collect_formats(&nf, fd, err);
		if (ret == 0)
			print_human_node(out, &nf, NULL, 0);
		formats_free(&nf);
	}
	close(fd);
	return ret;
}
