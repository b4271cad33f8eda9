/* SPDX-License-Identifier: MIT */
/*
 * V4L2 controls by name.  Names are matched the way people type them:
 * case-insensitive, any run of spaces/punctuation equal to any other, so
 * v4l2-ctl's "percentage_of_dropped_buffers" and the driver's "Percentage
 * of Dropped Buffers" are the same control.  Every refusal says why and
 * what would work (the range, the menu items, the names that come close).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "capture.h"
#include "v4l2-internal.h"

#define NAME_NORM_MAX   128
#define MAX_STRING_CTRL 4096

/* Next character of the normalized form of a name: lowercase alphanumerics,
 * one '_' for each inner run of anything else, nothing for leading or
 * trailing runs.  0 at the end. */
static int norm_next(const char **pp, bool *started)
{
	const char *p = *pp;
	bool sep = false;

	while (*p && !isalnum((unsigned char)*p)) {
		p++;
		sep = true;
	}
	*pp = p;
	if (!*p)
		return 0;
	if (sep && *started)
		return '_'; /* *pp stays on the alphanumeric for the next call */
	*started = true;
	*pp = p + 1;
	return tolower((unsigned char)*p);
}

bool vz_ctrl_name_match(const char *a, const char *b)
{
	bool sa = false, sb = false;
	if (!a || !b)
		return false;
	for (;;) {
		int ca = norm_next(&a, &sa);
		int cb = norm_next(&b, &sb);
		if (ca != cb)
			return false;
		if (!ca)
			return sa; /* two empty names are not a match */
	}
}

static void normalize(const char *s, char *out, size_t len)
{
	bool started = false;
	size_t n = 0;
	int c;
	while ((c = norm_next(&s, &started)) && n + 1 < len)
		out[n++] = (char)c;
	out[n] = '\0';
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[NAME_NORM_MAX + 1];

	if (lb > NAME_NORM_MAX)
		lb = NAME_NORM_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

struct ctrl_dev {
	int fd;
	char path[PATH_MAX];
};

static int dev_open(struct ctrl_dev *d, const char *device, struct vz_err *err)
{
	d->fd = -1;
	int ret = vz_device_resolve(device, d->path, sizeof(d->path), err);
	if (ret < 0)
		return ret;
	d->fd = open(d->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (d->fd < 0)
		return vz_err_set(err, -errno, "can't open %s for its controls: %s", d->path,
		                  strerror(errno));
	return 0;
}

static void dev_close(struct ctrl_dev *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

/* Walks every control (classes too); 0 from @fn continues, else stops and
 * that value is returned.  Returns 0 at the end. */
typedef int (*ctrl_fn)(const struct v4l2_query_ext_ctrl *q, void *ctx);

static int for_each_ctrl(int fd, ctrl_fn fn, void *ctx)
{
	struct v4l2_query_ext_ctrl q;
	uint32_t id = 0;

	for (;;) {
		memset(&q, 0, sizeof(q));
		q.id = id | V4L2_CTRL_FLAG_NEXT_CTRL | V4L2_CTRL_FLAG_NEXT_COMPOUND;
		if (vz_ioctl(fd, VIDIOC_QUERY_EXT_CTRL, &q) < 0)
			return 0; /* EINVAL: past the last one */
		id = q.id;
		if (q.flags & V4L2_CTRL_FLAG_DISABLED)
			continue;
		int r = fn(&q, ctx);
		if (r)
			return r;
	}
}

struct near {
	char name[NAME_NORM_MAX];
	size_t score;
};

struct find_ctx {
	const char *want;
	char want_norm[NAME_NORM_MAX];
	uint32_t want_id; /* from "0x00980900", else 0 */
	struct v4l2_query_ext_ctrl found;
	struct near near[5];
	size_t n_near;
	size_t total;
};

static void consider_near(struct find_ctx *c, const char *norm)
{
	size_t wl = strlen(c->want_norm);
	size_t d = edit_distance(c->want_norm, norm);
	size_t limit = wl / 3 > 2 ? wl / 3 : 2;
	if (wl >= 3 && strstr(norm, c->want_norm))
		d = 0; /* "bright" -> "brightness" */
	else if (d > limit)
		return;
	/* Keep the best few, best first. */
	size_t pos = c->n_near;
	while (pos > 0 && c->near[pos - 1].score > d)
		pos--;
	if (pos >= 5)
		return;
	size_t last = c->n_near < 5 ? c->n_near : 4;
	memmove(&c->near[pos + 1], &c->near[pos], (last - pos) * sizeof(c->near[0]));
	snprintf(c->near[pos].name, sizeof(c->near[pos].name), "%s", norm);
	c->near[pos].score = d;
	if (c->n_near < 5)
		c->n_near++;
}

static int find_cb(const struct v4l2_query_ext_ctrl *q, void *ctx)
{
	struct find_ctx *c = ctx;
	char norm[NAME_NORM_MAX];

	if (q->type == V4L2_CTRL_TYPE_CTRL_CLASS)
		return 0;
	c->total++;
	if ((c->want_id && q->id == c->want_id) || vz_ctrl_name_match(q->name, c->want)) {
		c->found = *q;
		return 1;
	}
	normalize(q->name, norm, sizeof(norm));
	consider_near(c, norm);
	return 0;
}

static int find_ctrl(const struct ctrl_dev *d, const char *name, struct v4l2_query_ext_ctrl *out,
                     struct vz_err *err)
{
	struct find_ctx c;
	char msg[VZ_ERR_MSG_MAX] = "";

	memset(&c, 0, sizeof(c));
	if (!name || !*name)
		return vz_err_set(err, -EINVAL,
		                  "no control name given; `vzero ctrl -d %s --list` "
		                  "shows them all",
		                  d->path);
	c.want = name;
	normalize(name, c.want_norm, sizeof(c.want_norm));
	if (!strncasecmp(name, "0x", 2)) {
		char *end;
		unsigned long v = strtoul(name, &end, 16);
		if (!*end && v <= UINT32_MAX)
			c.want_id = (uint32_t)v;
	}
	if (for_each_ctrl(d->fd, find_cb, &c)) {
		*out = c.found;
		return 0;
	}
	if (!c.total)
		return vz_err_set(err, -ENOENT, "%s has no controls at all", d->path);
	for (size_t i = 0; i < c.n_near; i++)
		vz_msg_append(msg, sizeof(msg), "%s%s",
		              i ? ", " : "; did you mean: ", c.near[i].name);
	return vz_err_set(err, -ENOENT,
	                  "%s has no control named '%s'%s; `vzero ctrl -d %s --list` shows all %zu",
	                  d->path, name, msg, d->path, c.total);
}

static bool has_value(const struct v4l2_query_ext_ctrl *q)
{
	if (q->type == V4L2_CTRL_TYPE_BUTTON || q->type == V4L2_CTRL_TYPE_CTRL_CLASS)
		return false;
	if (q->flags & V4L2_CTRL_FLAG_WRITE_ONLY)
		return false;
	if (q->type == V4L2_CTRL_TYPE_STRING)
		return true;
	return !(q->flags & V4L2_CTRL_FLAG_HAS_PAYLOAD);
}

/* Reads a scalar into *v, or a string into @str (@slen >= elem_size). */
static int read_value(int fd, const struct v4l2_query_ext_ctrl *q, int64_t *v, char *str,
                      size_t slen)
{
	struct v4l2_ext_control c;
	struct v4l2_ext_controls cs;

	memset(&c, 0, sizeof(c));
	memset(&cs, 0, sizeof(cs));
	c.id = q->id;
	if (q->type == V4L2_CTRL_TYPE_STRING) {
		if (!str || slen < q->elem_size)
			return -ENOSPC;
		c.size = q->elem_size;
		c.string = str;
	}
	cs.which = V4L2_CTRL_WHICH_CUR_VAL;
	cs.count = 1;
	cs.controls = &c;
	if (vz_ioctl(fd, VIDIOC_G_EXT_CTRLS, &cs) < 0)
		return -errno;
	if (q->type == V4L2_CTRL_TYPE_INTEGER64)
		*v = c.value64;
	else if (q->type == V4L2_CTRL_TYPE_BITMASK)
		*v = (uint32_t)c.value; /* a mask, not a signed number */
	else if (q->type != V4L2_CTRL_TYPE_STRING)
		*v = c.value;
	return 0;
}

static const char *type_name(uint32_t t)
{
	switch (t) {
	case V4L2_CTRL_TYPE_INTEGER:
		return "int";
	case V4L2_CTRL_TYPE_BOOLEAN:
		return "bool";
	case V4L2_CTRL_TYPE_MENU:
		return "menu";
	case V4L2_CTRL_TYPE_INTEGER_MENU:
		return "intmenu";
	case V4L2_CTRL_TYPE_BUTTON:
		return "button";
	case V4L2_CTRL_TYPE_INTEGER64:
		return "int64";
	case V4L2_CTRL_TYPE_STRING:
		return "string";
	case V4L2_CTRL_TYPE_BITMASK:
		return "bitmask";
	case V4L2_CTRL_TYPE_U8:
		return "u8";
	case V4L2_CTRL_TYPE_U16:
		return "u16";
	case V4L2_CTRL_TYPE_U32:
		return "u32";
	default:
		return "compound";
	}
}

/* Menu item @idx as text; false when the driver skips that index. */
static bool menu_item(int fd, const struct v4l2_query_ext_ctrl *q, int64_t idx, char *buf,
                      size_t len)
{
	struct v4l2_querymenu m;

	if (idx < q->minimum || idx > q->maximum || idx < 0 || idx > UINT32_MAX)
		return false;
	memset(&m, 0, sizeof(m));
	m.id = q->id;
	m.index = (uint32_t)idx;
	if (vz_ioctl(fd, VIDIOC_QUERYMENU, &m) < 0)
		return false;
	if (q->type == V4L2_CTRL_TYPE_INTEGER_MENU)
		snprintf(buf, len, "%lld", (long long)m.value);
	else
		snprintf(buf, len, "%.*s", (int)sizeof(m.name), (const char *)m.name);
	return true;
}

/* "0: 75% Colorbar, 1: 100% Colorbar, ..." bounded by @len. */
static void menu_items(int fd, const struct v4l2_query_ext_ctrl *q, char *buf, size_t len)
{
	char item[64];
	bool first = true;
	buf[0] = '\0';
	for (int64_t i = q->minimum; i <= q->maximum && i - q->minimum < 256; i++) {
		if (!menu_item(fd, q, i, item, sizeof(item)))
			continue;
		vz_msg_append(buf, len, "%s%lld (%s)", first ? "" : ", ", (long long)i, item);
		first = false;
	}
}

static void flags_str(uint32_t f, char *buf, size_t len)
{
	buf[0] = '\0';
	if (f & V4L2_CTRL_FLAG_READ_ONLY)
		vz_msg_append(buf, len, " [read-only]");
	if (f & V4L2_CTRL_FLAG_WRITE_ONLY)
		vz_msg_append(buf, len, " [write-only]");
	if (f & V4L2_CTRL_FLAG_INACTIVE)
		vz_msg_append(buf, len, " [inactive]");
	if (f & V4L2_CTRL_FLAG_GRABBED)
		vz_msg_append(buf, len, " [busy: streaming]");
	if (f & V4L2_CTRL_FLAG_VOLATILE)
		vz_msg_append(buf, len, " [volatile]");
}

struct list_ctx {
	FILE *out;
	int fd;
	unsigned count;
};

static int list_cb(const struct v4l2_query_ext_ctrl *q, void *ctx)
{
	struct list_ctx *l = ctx;
	char norm[NAME_NORM_MAX], flags[128], item[64];
	char str[MAX_STRING_CTRL + 1];
	int64_t v = 0;
	FILE *out = l->out;

	if (q->type == V4L2_CTRL_TYPE_CTRL_CLASS) {
		fprintf(out, "\n%.*s\n", (int)sizeof(q->name), q->name);
		return 0;
	}
	l->count++;
	normalize(q->name, norm, sizeof(norm));
	flags_str(q->flags, flags, sizeof(flags));
	fprintf(out, "  %-34s %-8s", norm, type_name(q->type));

	int r = -EINVAL;
	if (has_value(q))
		r = read_value(l->fd, q, &v, str, sizeof(str));
	switch (q->type) {
	case V4L2_CTRL_TYPE_BUTTON:
		fprintf(out, " (set any value to press)");
		break;
	case V4L2_CTRL_TYPE_STRING:
		if (r == 0)
			fprintf(out, " \"%s\"", str);
		fprintf(out, "  length %lld..%lld", (long long)q->minimum, (long long)q->maximum);
		break;
	case V4L2_CTRL_TYPE_MENU:
	case V4L2_CTRL_TYPE_INTEGER_MENU:
		if (r == 0)
			fprintf(out, " %lld (%s)", (long long)v,
			        menu_item(l->fd, q, v, item, sizeof(item)) ? item : "?");
		fprintf(out, "  default %lld\n", (long long)q->default_value);
		for (int64_t i = q->minimum; i <= q->maximum && i - q->minimum < 256; i++)
			if (menu_item(l->fd, q, i, item, sizeof(item)))
				fprintf(out, "      %lld: %s\n", (long long)i, item);
		if (flags[0])
			fprintf(out, "     %s\n", flags);
		return 0;
	case V4L2_CTRL_TYPE_BITMASK:
		if (r == 0)
			fprintf(out, " 0x%08llx", (unsigned long long)v);
		fprintf(out, "  mask 0x%08llx, default 0x%08llx", (unsigned long long)q->maximum,
		        (unsigned long long)q->default_value);
		break;
	case V4L2_CTRL_TYPE_INTEGER:
	case V4L2_CTRL_TYPE_INTEGER64:
	case V4L2_CTRL_TYPE_BOOLEAN:
		if (r == 0)
			fprintf(out, " %lld", (long long)v);
		fprintf(out, "  %lld..%lld", (long long)q->minimum, (long long)q->maximum);
		if (q->step != 1)
			fprintf(out, " step %llu", (unsigned long long)q->step);
		fprintf(out, ", default %lld", (long long)q->default_value);
		break;
	default:
		fprintf(out, " %u element(s) of %u bytes (not shown)", q->elems, q->elem_size);
		break;
	}
	if (has_value(q) && r < 0)
		fprintf(out, "  (can't read: %s)", strerror(-r));
	fprintf(out, "%s\n", flags);
	return 0;
}

int vz_ctrl_list(const char *device, FILE *out, struct vz_err *err)
{
	struct ctrl_dev d;
	int ret = dev_open(&d, device, err);
	if (ret < 0)
		goto out;

	struct list_ctx l = {.out = out, .fd = d.fd};
	fprintf(out, "%s controls (set with: vzero ctrl -d %s --set NAME=VALUE):\n", d.path,
	        d.path);
	for_each_ctrl(d.fd, list_cb, &l);
	if (!l.count)
		fprintf(out, "  none\n");
out:
	dev_close(&d);
	return ret;
}

static int get_common(struct ctrl_dev *d, const char *device, const char *name,
                      struct v4l2_query_ext_ctrl *q, struct vz_err *err)
{
	int ret = dev_open(d, device, err);
	if (ret < 0)
		return ret;
	ret = find_ctrl(d, name, q, err);
	if (ret < 0)
		return ret;
	if (q->type == V4L2_CTRL_TYPE_BUTTON)
		return vz_err_set(
		        err, -EINVAL,
		        "'%s' on %s is a button: it has no value; --set it (any value) to "
		        "press it",
		        q->name, d->path);
	if (q->flags & V4L2_CTRL_FLAG_WRITE_ONLY)
		return vz_err_set(err, -EINVAL, "'%s' on %s is write-only: it can't be read",
		                  q->name, d->path);
	if (!has_value(q))
		return vz_err_set(err, -EOPNOTSUPP,
		                  "'%s' on %s is a %s array/compound control; vzero reads only "
		                  "single values (try v4l2-ctl)",
		                  q->name, d->path, type_name(q->type));
	return 0;
}

static int read_error(const struct ctrl_dev *d, const struct v4l2_query_ext_ctrl *q, int r,
                      struct vz_err *err)
{
	return vz_err_set(err, r, "reading '%s' on %s failed: %s", q->name, d->path, strerror(-r));
}

int vz_ctrl_get(const char *device, const char *name, int64_t *value, struct vz_err *err)
{
	struct ctrl_dev d;
	struct v4l2_query_ext_ctrl q;
	int ret = get_common(&d, device, name, &q, err);
	if (ret < 0)
		goto out;
	if (q.type == V4L2_CTRL_TYPE_STRING) {
		ret = vz_err_set(err, -EINVAL,
		                 "'%s' on %s is a string control, not a number; read it with "
		                 "`vzero ctrl --get`",
		                 q.name, d.path);
		goto out;
	}
	ret = read_value(d.fd, &q, value, NULL, 0);
	if (ret < 0)
		read_error(&d, &q, ret, err);
out:
	dev_close(&d);
	return ret;
}

int vz_ctrl_get_str(const char *device, const char *name, char *buf, size_t len, struct vz_err *err)
{
	struct ctrl_dev d;
	struct v4l2_query_ext_ctrl q;
	char *str = NULL;
	char item[64];
	int64_t v = 0;
	int ret = get_common(&d, device, name, &q, err);
	if (ret < 0)
		goto out;
	if (q.type == V4L2_CTRL_TYPE_STRING) {
		str = calloc(1, q.elem_size + 1);
		if (!str) {
			ret = vz_err_set(err, -ENOMEM, "out of memory reading '%s'", q.name);
			goto out;
		}
	}
	ret = read_value(d.fd, &q, &v, str, q.elem_size + 1);
	if (ret < 0) {
		read_error(&d, &q, ret, err);
		goto out;
	}
	if (str)
		snprintf(buf, len, "%s", str);
	else if ((q.type == V4L2_CTRL_TYPE_MENU || q.type == V4L2_CTRL_TYPE_INTEGER_MENU) &&
	         menu_item(d.fd, &q, v, item, sizeof(item)))
		snprintf(buf, len, "%lld (%s)", (long long)v, item);
	else if (q.type == V4L2_CTRL_TYPE_BITMASK)
		snprintf(buf, len, "0x%08llx", (unsigned long long)v);
	else
		snprintf(buf, len, "%lld", (long long)v);
out:
	free(str);
	dev_close(&d);
	return ret;
}

/* Why @q can't be set right now, or 0. */
static int check_settable(const struct ctrl_dev *d, const struct v4l2_query_ext_ctrl *q,
                          struct vz_err *err)
{
	if (q->flags & V4L2_CTRL_FLAG_READ_ONLY)
		return vz_err_set(
		        err, -EACCES,
		        "'%s' on %s is read-only: it reports the device's state and can't "
		        "be set",
		        q->name, d->path);
	if (q->flags & V4L2_CTRL_FLAG_GRABBED)
		return vz_err_set(err, -EBUSY,
		                  "'%s' on %s can't change while streaming (someone is capturing "
		                  "from it); stop the capture and set it first",
		                  q->name, d->path);
	if (q->flags & V4L2_CTRL_FLAG_INACTIVE)
		return vz_err_set(err, -EBUSY,
		                  "'%s' on %s is inactive: another control (an automatic mode or "
		                  "the current input) overrides it; change that one first",
		                  q->name, d->path);
	return 0;
}

static int check_value(const struct ctrl_dev *d, const struct v4l2_query_ext_ctrl *q, int64_t v,
                       struct vz_err *err)
{
	char items[VZ_ERR_MSG_MAX / 2];
	char item[64];

	switch (q->type) {
	case V4L2_CTRL_TYPE_BUTTON:
		return 0;
	case V4L2_CTRL_TYPE_MENU:
	case V4L2_CTRL_TYPE_INTEGER_MENU:
		if (menu_item(d->fd, q, v, item, sizeof(item)))
			return 0;
		menu_items(d->fd, q, items, sizeof(items));
		return vz_err_set(err, -ERANGE, "%lld is not an item of menu '%s' on %s; items: %s",
		                  (long long)v, q->name, d->path, items);
	case V4L2_CTRL_TYPE_BITMASK:
		if (v >= 0 && v <= UINT32_MAX && !((uint64_t)v & ~(uint64_t)q->maximum))
			return 0;
		return vz_err_set(err, -ERANGE,
		                  "0x%llx has bits outside the mask of '%s' on %s (mask 0x%08llx)",
		                  (unsigned long long)v, q->name, d->path,
		                  (unsigned long long)q->maximum);
	case V4L2_CTRL_TYPE_INTEGER:
	case V4L2_CTRL_TYPE_INTEGER64:
	case V4L2_CTRL_TYPE_BOOLEAN:
		break;
	case V4L2_CTRL_TYPE_STRING:
		return vz_err_set(err, -EINVAL, "'%s' on %s is a string control; give it text",
		                  q->name, d->path);
	default:
		return vz_err_set(err, -EOPNOTSUPP,
		                  "'%s' on %s is a %s array/compound control; vzero sets only "
		                  "single values (try v4l2-ctl)",
		                  q->name, d->path, type_name(q->type));
	}
	if (v < q->minimum || v > q->maximum)
		return vz_err_set(err, -ERANGE,
		                  "%lld is out of range for '%s' on %s: %lld..%lld, step %llu",
		                  (long long)v, q->name, d->path, (long long)q->minimum,
		                  (long long)q->maximum, (unsigned long long)q->step);
	/* The driver would round silently; say so instead of surprising. */
	if (q->step > 1 && (uint64_t)(v - q->minimum) % q->step) {
		int64_t lo = v - (int64_t)((uint64_t)(v - q->minimum) % q->step);
		return vz_err_set(err, -ERANGE,
		                  "%lld is not a valid step for '%s' on %s: %lld..%lld in steps of "
		                  "%llu (nearest: %lld, %lld)",
		                  (long long)v, q->name, d->path, (long long)q->minimum,
		                  (long long)q->maximum, (unsigned long long)q->step, (long long)lo,
		                  (long long)(lo + (int64_t)q->step));
	}
	return 0;
}

static int write_value(const struct ctrl_dev *d, const struct v4l2_query_ext_ctrl *q, int64_t v,
                       const char *str, struct vz_err *err)
{
	struct v4l2_ext_control c;
	struct v4l2_ext_controls cs;

	memset(&c, 0, sizeof(c));
	memset(&cs, 0, sizeof(cs));
	c.id = q->id;
	if (str) {
		c.size = (uint32_t)strlen(str) + 1;
		c.string = (char *)str;
	} else if (q->type == V4L2_CTRL_TYPE_INTEGER64) {
		c.value64 = v;
	} else {
		c.value = (int32_t)v;
	}
	cs.which = V4L2_CTRL_WHICH_CUR_VAL;
	cs.count = 1;
	cs.controls = &c;
	if (vz_ioctl(d->fd, VIDIOC_S_EXT_CTRLS, &cs) == 0)
		return 0;
	int e = errno;
	switch (e) {
	case EBUSY:
		return vz_err_set(err, -EBUSY,
		                  "'%s' on %s can't change while streaming (the driver says busy); "
		                  "stop the capture and set it first",
		                  q->name, d->path);
	case EACCES:
		return vz_err_set(err, -EACCES, "'%s' on %s is read-only right now", q->name,
		                  d->path);
	case ERANGE:
		return vz_err_set(err, -ERANGE,
		                  "the driver refused '%s' = %lld on %s: out of range "
		                  "(%lld..%lld)",
		                  q->name, (long long)v, d->path, (long long)q->minimum,
		                  (long long)q->maximum);
	default:
		return vz_err_set(err, -e, "setting '%s' on %s failed: %s", q->name, d->path,
		                  strerror(e));
	}
}

int vz_ctrl_set(const char *device, const char *name, int64_t value, struct vz_err *err)
{
	struct ctrl_dev d;
	struct v4l2_query_ext_ctrl q;
	int ret = dev_open(&d, device, err);
	if (ret < 0)
		goto out;
	ret = find_ctrl(&d, name, &q, err);
	if (ret < 0)
		goto out;
	ret = check_settable(&d, &q, err);
	if (ret < 0)
		goto out;
	ret = check_value(&d, &q, value, err);
	if (ret < 0)
		goto out;
	ret = write_value(&d, &q, value, NULL, err);
out:
	dev_close(&d);
	return ret;
}

static bool parse_bool(const char *s, int64_t *v)
{
	static const char *const yes[] = {"true", "on", "yes"};
	static const char *const no[] = {"false", "off", "no"};
	for (size_t i = 0; i < 3; i++) {
		if (!strcasecmp(s, yes[i])) {
			*v = 1;
			return true;
		}
		if (!strcasecmp(s, no[i])) {
			*v = 0;
			return true;
		}
	}
	return false;
}

static bool parse_int(const char *s, int64_t *v)
{
	char *end;
	errno = 0;
	long long x = strtoll(s, &end, 0);
	if (errno || end == s || *end)
		return false;
	*v = x;
	return true;
}

/* Menu item by name, for "--set test_pattern='100% Colorbar'". */
static bool parse_menu(int fd, const struct v4l2_query_ext_ctrl *q, const char *s, int64_t *v)
{
	char item[64];
	for (int64_t i = q->minimum; i <= q->maximum && i - q->minimum < 256; i++) {
		if (menu_item(fd, q, i, item, sizeof(item)) && vz_ctrl_name_match(item, s)) {
			*v = i;
			return true;
		}
	}
	return false;
}

int vz_ctrl_set_str(const char *device, const char *name, const char *value, struct vz_err *err)
{
	struct ctrl_dev d;
	struct v4l2_query_ext_ctrl q;
	char items[VZ_ERR_MSG_MAX / 2];
	int64_t v = 0;
	int ret = dev_open(&d, device, err);
	if (ret < 0)
		goto out;
	ret = find_ctrl(&d, name, &q, err);
	if (ret < 0)
		goto out;
	ret = check_settable(&d, &q, err);
	if (ret < 0)
		goto out;

	if (q.type == V4L2_CTRL_TYPE_STRING) {
		size_t n = strlen(value);
		if ((int64_t)n < q.minimum || (int64_t)n > q.maximum) {
			ret = vz_err_set(err, -ERANGE,
			                 "'%s' on %s takes %lld..%lld characters; '%s' has %zu",
			                 q.name, d.path, (long long)q.minimum, (long long)q.maximum,
			                 value, n);
			goto out;
		}
		ret = write_value(&d, &q, 0, value, err);
		goto out;
	}
	if (q.type == V4L2_CTRL_TYPE_BUTTON) {
		ret = write_value(&d, &q, 0, NULL, err);
		goto out;
	}
	bool ok = parse_int(value, &v);
	if (!ok && q.type == V4L2_CTRL_TYPE_BOOLEAN)
		ok = parse_bool(value, &v);
	if (!ok && (q.type == V4L2_CTRL_TYPE_MENU || q.type == V4L2_CTRL_TYPE_INTEGER_MENU))
		ok = parse_menu(d.fd, &q, value, &v);
	if (!ok) {
		if (q.type == V4L2_CTRL_TYPE_MENU || q.type == V4L2_CTRL_TYPE_INTEGER_MENU) {
			menu_items(d.fd, &q, items, sizeof(items));
			ret = vz_err_set(err, -EINVAL,
			                 "'%s' is not an item of menu '%s' on %s; items: %s", value,
			                 q.name, d.path, items);
		} else {
			ret = vz_err_set(err, -EINVAL,
			                 "'%s' is not a number; '%s' on %s is a %s control "
			                 "(%lld..%lld%s)",
			                 value, q.name, d.path, type_name(q.type),
			                 (long long)q.minimum, (long long)q.maximum,
			                 q.type == V4L2_CTRL_TYPE_BOOLEAN ? ", or true/false" : "");
		}
		goto out;
	}
	ret = check_value(&d, &q, v, err);
	if (ret < 0)
		goto out;
	ret = write_value(&d, &q, v, NULL, err);
out:
	dev_close(&d);
	return ret;
}
