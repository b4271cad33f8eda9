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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "capture.h"
#include "v4l2-internal.h"

const char *const vz_node_prefixes[VZ_NODE_PREFIXES] = {
        "video", "vbi", "radio", "swradio", "v4l-touch", "v4l-subdev",
};

static const char *const kind_names[] = {
        [VZ_NODE_UNKNOWN] = "unrecognised",
        [VZ_NODE_CAPTURE] = "video capture",
        [VZ_NODE_OUTPUT] = "video output",
        [VZ_NODE_M2M] = "memory-to-memory (codec/converter)",
        [VZ_NODE_OVERLAY] = "video overlay",
        [VZ_NODE_VBI_CAPTURE] = "VBI capture",
        [VZ_NODE_VBI_OUTPUT] = "VBI output",
        [VZ_NODE_RADIO_RX] = "radio receiver",
        [VZ_NODE_RADIO_TX] = "radio transmitter",
        [VZ_NODE_SDR_CAPTURE] = "SDR receiver",
        [VZ_NODE_SDR_OUTPUT] = "SDR transmitter",
        [VZ_NODE_TOUCH] = "touch sensor",
        [VZ_NODE_META_CAPTURE] = "metadata capture",
        [VZ_NODE_META_OUTPUT] = "metadata output",
};

const char *vz_node_kind_name(enum vz_node_kind k)
{
	if ((unsigned)k >= sizeof(kind_names) / sizeof(kind_names[0]) || !kind_names[k])
		return "unrecognised";
	return kind_names[k];
}

void vz_node_copy_field(char *dst, size_t dstlen, const uint8_t *src, size_t srclen)
{
	size_t n = strnlen((const char *)src, srclen);
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

enum vz_node_kind vz_node_classify(uint32_t c)
{
	/* Touch nodes also claim VIDEO_CAPTURE, and m2m nodes have a capture
	 * queue that only yields what someone feeds the output queue, so
	 * both are sorted out before plain capture. */
	if (c & V4L2_CAP_TOUCH)
		return VZ_NODE_TOUCH;
	if (c & (V4L2_CAP_VIDEO_M2M | V4L2_CAP_VIDEO_M2M_MPLANE))
		return VZ_NODE_M2M;
	if (c & (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_CAPTURE_MPLANE))
		return VZ_NODE_CAPTURE;
	if (c & (V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_VIDEO_OUTPUT_MPLANE))
		return VZ_NODE_OUTPUT;
	if (c & V4L2_CAP_META_CAPTURE)
		return VZ_NODE_META_CAPTURE;
	if (c & V4L2_CAP_META_OUTPUT)
		return VZ_NODE_META_OUTPUT;
	if (c & (V4L2_CAP_VBI_CAPTURE | V4L2_CAP_SLICED_VBI_CAPTURE))
		return VZ_NODE_VBI_CAPTURE;
	if (c & (V4L2_CAP_VBI_OUTPUT | V4L2_CAP_SLICED_VBI_OUTPUT))
		return VZ_NODE_VBI_OUTPUT;
	if (c & V4L2_CAP_SDR_CAPTURE)
		return VZ_NODE_SDR_CAPTURE;
	if (c & V4L2_CAP_SDR_OUTPUT)
		return VZ_NODE_SDR_OUTPUT;
	/* vivid's radio transmitter has MODULATOR without RADIO. */
	if (c & V4L2_CAP_MODULATOR)
		return VZ_NODE_RADIO_TX;
	if (c & V4L2_CAP_RADIO)
		return VZ_NODE_RADIO_RX;
	if (c & (V4L2_CAP_VIDEO_OVERLAY | V4L2_CAP_VIDEO_OUTPUT_OVERLAY))
		return VZ_NODE_OVERLAY;
	return VZ_NODE_UNKNOWN;
}

bool vz_node_is_streaming_capture(const struct vz_node *nd)
{
	return nd->open_errno == 0 && nd->kind == VZ_NODE_CAPTURE &&
	       (nd->caps & V4L2_CAP_STREAMING);
}

/* Opens read-write as capture needs; falls back to read-only so a listing
 * can still describe a node we may not stream from. */
int vz_node_open(const char *path, bool *rw)
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
int vz_node_query(struct vz_node *nd)
{
	struct v4l2_capability cap;
	int fd = -1;
	int e = 0;

	fd = vz_node_open(nd->path, &nd->rw);
	if (fd < 0) {
		e = errno;
		goto out;
	}
	memset(&cap, 0, sizeof(cap));
	if (vz_ioctl(fd, VIDIOC_QUERYCAP, &cap) < 0) {
		e = errno;
		goto out;
	}
	vz_node_copy_field(nd->driver, sizeof(nd->driver), cap.driver, sizeof(cap.driver));
	vz_node_copy_field(nd->card, sizeof(nd->card), cap.card, sizeof(cap.card));
	vz_node_copy_field(nd->bus, sizeof(nd->bus), cap.bus_info, sizeof(cap.bus_info));
	nd->version = cap.version;
	nd->caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
	nd->kind = vz_node_classify(nd->caps);
out:
	if (fd >= 0)
		close(fd);
	nd->open_errno = e;
	return e;
}

/* "video12" -> rank of "video", 12.  False for names we don't list. */
bool vz_node_parse_name(const char *name, unsigned *rank, unsigned *num)
{
	for (unsigned i = 0; i < VZ_NODE_PREFIXES; i++) {
		size_t pl = strlen(vz_node_prefixes[i]);
		if (strncmp(name, vz_node_prefixes[i], pl) != 0)
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
	const struct vz_node *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->num != y->num)
		return x->num < y->num ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int list_add(struct vz_node_list *l, const char *name, unsigned rank, unsigned num)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		struct vz_node *nv = realloc(l->v, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = nc;
	}
	struct vz_node *nd = &l->v[l->n];
	memset(nd, 0, sizeof(*nd));
	snprintf(nd->path, sizeof(nd->path), "/dev/%s", name);
	nd->rank = rank;
	nd->num = num;
	l->n++;
	return 0;
}

void vz_node_list_free(struct vz_node_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* Every V4L2 node, sorted (video0, video1, ..., vbi0, ...), each queried;
 * with @video_only just the videoN nodes, where capture nodes live. */
int vz_node_list(struct vz_node_list *l, bool video_only, struct vz_err *err)
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
		if (!vz_node_parse_name(de->d_name, &rank, &num)) {
			if (!from_sysfs)
				continue;
			rank = VZ_NODE_PREFIXES;
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
		vz_node_query(&l->v[i]);
out:
	closedir(d);
	if (ret < 0)
		vz_node_list_free(l);
	return ret;
}

/* The video nodes, listed on first use: resolving a good path needs no
 * list, and opening every node costs time on a busy machine.  A failed
 * listing leaves it empty, which only makes messages shorter. */
static const struct vz_node_list *video_nodes(struct vz_node_list *l)
{
	if (!l->listed) {
		struct vz_err ignored;
		vz_err_clear(&ignored);
		if (vz_node_list(l, true, &ignored) < 0)
			l->listed = true;
	}
	return l;
}

/* Only a machine with no capture node at all is told about vivid: anyone
 * else has a camera vzero should find, and wants to know why it does not. */
#define NO_DEVICES_HINT                                                                            \
	"no V4L2 capture devices found: if a camera is attached, check that its driver "           \
	"loaded (`dmesg | tail`), and in a container that /dev/video* is passed through "          \
	"(--device); without a camera, load vivid (`sudo modprobe vivid`) or try "                 \
	"tools/vivid-vm -- vzero devices"
#define NOT_HERE_HINT                                                                              \
	"if the one you want is missing, check its cable and driver (`dmesg | tail`), and in "     \
	"a container that it is passed through (--device)"

/* "capture nodes here: /dev/video0 (vivid, platform:vivid-000), ..." or the
 * hint for a machine that has none. */
void vz_node_describe_capture(const struct vz_node_list *l, char *buf, size_t len)
{
	unsigned shown = 0, total = 0, denied = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < l->n; i++) {
		const struct vz_node *nd = &l->v[i];
		if (nd->open_errno == EACCES || nd->open_errno == EPERM)
			denied++;
		if (!vz_node_is_streaming_capture(nd))
			continue;
		total++;
		if (shown >= 6)
			continue;
		vz_msg_append(buf, len, "%s%s (%s, %s)",
		              shown ? ", " : "capture nodes here: ", nd->path, nd->card, nd->bus);
		shown++;
	}
	if (total > shown)
		vz_msg_append(buf, len, " and %u more", total - shown);
	if (total)
		vz_msg_append(buf, len, "; " NOT_HERE_HINT);
	if (!total) {
		if (denied)
			vz_msg_append(
			        buf, len,
			        "no capture node could be opened (%u V4L2 nodes refuse access: "
			        "check the group of /dev/video* and join it)",
			        denied);
		else
			vz_msg_append(buf, len, NO_DEVICES_HINT);
	}
}

static const struct vz_node *find_capture_sibling(const struct vz_node_list *l, const char *driver,
                                                  const char *bus)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct vz_node *nd = &l->v[i];
		if (vz_node_is_streaming_capture(nd) && !strcmp(nd->driver, driver) &&
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

int vz_node_permission_error(const char *path, const struct stat *st, int e, struct vz_err *err)
{
	struct group *g = getgrgid(st->st_gid);
	char gname[64];

	if (e != EPERM)
		e = EACCES;
	if (g)
		snprintf(gname, sizeof(gname), "%s", g->gr_name);
	else
		snprintf(gname, sizeof(gname), "%u", (unsigned)st->st_gid);
	if (st->st_gid == 0 || !(st->st_mode & S_IRGRP))
		return vz_err_set(
		        err, -e,
		        "permission denied opening %s (mode %03o, group %s): only root may "
		        "use it; ask for a udev rule that gives it to group 'video', or run "
		        "as root",
		        path, (unsigned)(st->st_mode & 0777), gname);
	return vz_err_set(err, -e,
	                  "permission denied opening %s (mode %03o, group '%s'): join the group "
	                  "with `sudo usermod -aG %s $USER`, then log out and in again",
	                  path, (unsigned)(st->st_mode & 0777), gname, gname);
}

bool vz_node_find(const char *bus, const char *card, char *path, size_t len)
{
	struct vz_node_list l = {0};
	struct vz_err ignored = {0};
	bool found = false;

	if (vz_node_list(&l, true, &ignored) < 0)
		return false;
	for (size_t i = 0; i < l.n && !found; i++) {
		const struct vz_node *nd = &l.v[i];
		if (vz_node_is_streaming_capture(nd) && !strcmp(nd->bus, bus) &&
		    !strcmp(nd->card, card)) {
			snprintf(path, len, "%s", nd->path);
			found = true;
		}
	}
	vz_node_list_free(&l);
	return found;
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

static int resolve_path(const char *path, struct vz_node_list *l, char *buf, size_t len,
                        struct vz_err *err)
{
	char where[VZ_ERR_MSG_MAX];
	struct stat st;

	if (stat(path, &st) < 0) {
		int e = errno;
		if (e == ENOENT || e == ENOTDIR) {
			vz_node_describe_capture(video_nodes(l), where, sizeof(where));
			return vz_err_set(err, -ENOENT, "no such device %s; %s", path, where);
		}
		return vz_err_set(err, -e, "can't look at %s: %s", path, strerror(e));
	}
	if (!S_ISCHR(st.st_mode)) {
		vz_node_describe_capture(video_nodes(l), where, sizeof(where));
		return vz_err_set(err, -ENOTTY, "%s is %s, not a V4L2 device node; %s", path,
		                  file_type(st.st_mode), where);
	}

	struct vz_node nd;
	memset(&nd, 0, sizeof(nd));
	snprintf(nd.path, sizeof(nd.path), "%s", path);
	int e = vz_node_query(&nd);
	if (e == 0 && !nd.rw)
		e = EACCES; /* readable but capture needs read-write */
	if (e == EACCES || e == EPERM) {
		if (sysfs_is_v4l(st.st_rdev) || major(st.st_rdev) == 81)
			return vz_node_permission_error(path, &st, e, err);
		/* Not ours to open anyway: say what it is instead. */
		e = ENOTTY;
	}
	if (e == ENOTTY || e == EINVAL) {
		char drv[160];
		char_major_name(major(st.st_rdev), drv, sizeof(drv));
		vz_node_describe_capture(video_nodes(l), where, sizeof(where));
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

	if (nd.kind != VZ_NODE_CAPTURE) {
		const struct vz_node *sib = find_capture_sibling(video_nodes(l), nd.driver, nd.bus);
		where[0] = '\0';
		if (sib) {
			vz_msg_append(where, sizeof(where), "its capture node is %s", sib->path);
		} else {
			char others[VZ_ERR_MSG_MAX];
			vz_node_describe_capture(video_nodes(l), others, sizeof(others));
			vz_msg_append(where, sizeof(where), "%s has no video capture node; ",
			              nd.card);
			vz_msg_append(where, sizeof(where), "%s", others);
		}
		return vz_err_set(err, -ENODEV,
		                  "%s is %s's %s node (card '%s', device caps 0x%08x), not video "
		                  "capture; %s",
		                  path, nd.driver, vz_node_kind_name(nd.kind), nd.card, nd.caps,
		                  where);
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
	/* An empty name matches nothing (strcasestr would match all). */
	return *needle && strcasestr(hay, needle);
}

static bool node_matches(const struct vz_node *nd, const char *name)
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

static size_t count_matches(const struct vz_node_list *l, const char *name)
{
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++)
		if (vz_node_is_streaming_capture(&l->v[i]) && node_matches(&l->v[i], name))
			k++;
	return k;
}

/*
 * A name picks the capture nodes whose card, driver or bus_info contains it;
 * when several cards match, the first node (lowest /dev/videoN) wins and
 * "name:N" picks the others.
 */
static int resolve_name(const char *sel, struct vz_node_list *lst, char *buf, size_t len,
                        struct vz_err *err)
{
	const struct vz_node_list *l = video_nodes(lst);
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
		const struct vz_node *nd = &l->v[i];
		if (!vz_node_is_streaming_capture(nd) || !node_matches(nd, name))
			continue;
		if (k == idx)
			return copy_out(nd->path, buf, len, err);
		vz_msg_append(matched, sizeof(matched), "%s%s:%zu=%s", k ? ", " : "", name, k,
		              nd->path);
		k++;
	}
	if (k)
		return vz_err_set(err, -ENODEV,
		                  "'%s' asks for capture node %u matching '%s' (counting from 0), "
		                  "but only %zu match: %s",
		                  sel, idx, name, k, matched);

	vz_node_describe_capture(l, where, sizeof(where));
	return vz_err_set(err, -ENODEV,
	                  "no capture device matches '%s' (by card, driver or bus name); %s", sel,
	                  where);
}

int vz_device_resolve(const char *selector, char *buf, size_t len, struct vz_err *err)
{
	struct vz_node_list l = {0};
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
	} else if (vz_node_parse_name(selector, &rank, &num)) {
		snprintf(path, sizeof(path), "/dev/%s", selector);
		ret = resolve_path(path, &l, buf, len, err);
	} else if (!count_matches(video_nodes(&l), selector) && stat(selector, &st) == 0) {
		/* A file in the current directory that names no card. */
		ret = resolve_path(selector, &l, buf, len, err);
	} else {
		ret = resolve_name(selector, &l, buf, len, err);
	}
	vz_node_list_free(&l);
	return ret;
}
