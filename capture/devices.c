/* SPDX-License-Identifier: MIT */
/*
 * `vzero devices`: every capture node with its formats, sizes and rates,
 * for people and as JSON.  Finding the nodes is discover.c's job; this file
 * only describes them.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "capture.h"
#include "json.h"
#include "v4l2-internal.h"

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

static uint32_t capture_buf_type(const struct vz_node *nd)
{
	if (nd->caps & V4L2_CAP_VIDEO_CAPTURE)
		return V4L2_BUF_TYPE_VIDEO_CAPTURE;
	return V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
}

static void version_str(uint32_t v, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
}

static void print_json_node(FILE *out, const struct vz_node *nd, int fd, bool first)
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
		vz_node_copy_field(desc, sizeof(desc), fd_desc.description,
		                   sizeof(fd_desc.description));
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
	const struct vz_node *nd;
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
		vz_node_copy_field(t->desc, sizeof(t->desc), d.description, sizeof(d.description));
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
	const struct vz_node *nd = nf->nd;
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
static void print_others(FILE *out, const struct vz_node_list *l)
{
	bool any = false;
	/* Kinds in enum order, then nodes that could not be opened. */
	for (int k = 0; k <= VZ_NODE_META_OUTPUT + 1; k++) {
		int col = 0;
		bool first = true;
		for (size_t i = 0; i < l->n; i++) {
			const struct vz_node *nd = &l->v[i];
			bool unopened = nd->open_errno != 0;
			if (k == VZ_NODE_META_OUTPUT + 1 ? !unopened
			                                 : (unopened || (int)nd->kind != k ||
			                                    nd->kind == VZ_NODE_CAPTURE))
				continue;
			if (!any)
				fprintf(out, "\nother V4L2 nodes (not video capture):\n");
			any = true;
			if (first) {
				if (unopened)
					col = fprintf(out, "  can't open:");
				else
					col = fprintf(out, "  %s:", vz_node_kind_name(k));
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

static int open_listing(const struct vz_node *nd, int *fd, struct vz_err *err)
{
	bool rw;
	*fd = vz_node_open(nd->path, &rw);
	if (*fd < 0)
		return vz_err_set(err, -errno, "can't open %s to list its formats: %s", nd->path,
		                  strerror(errno));
	return 0;
}

int vz_v4l2_devices_print(FILE *out, bool json, vz_list_more_fn more, void *data,
                          struct vz_err *err)
{
	struct vz_node_list l = {0};
	struct node_formats *nfs = NULL;
	size_t nn = 0;
	int fd = -1;
	int ret = vz_node_list(&l, false, err);

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
		const struct vz_node *nd = &l.v[i];
		if (nd->open_errno || nd->kind != VZ_NODE_CAPTURE)
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
		bool first = nn == 0;
		if (more)
			ret = more(data, out, true, &first, err);
		fputs(first ? "]\n" : "\n]\n", out);
	} else {
		if (!nn) {
			char where[VZ_ERR_MSG_MAX];
			vz_node_describe_capture(&l, where, sizeof(where));
			fprintf(out, "%s\n", where);
		}
		print_others(out, &l);
		if (more) {
			bool first = true;
			ret = more(data, out, false, &first, err);
		}
	}
out:
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; nfs && i < nn; i++)
		formats_free(&nfs[i]);
	free(nfs);
	vz_node_list_free(&l);
	return ret;
}

int vz_devices_print(FILE *out, bool json, struct vz_err *err)
{
	return vz_v4l2_devices_print(out, json, NULL, NULL, err);
}

int vz_device_print(FILE *out, const char *selector, bool json, struct vz_err *err)
{
	char path[PATH_MAX];
	struct vz_node nd;
	struct node_formats nf = {0};
	int fd = -1;
	int ret = vz_device_resolve(selector, path, sizeof(path), err);

	if (ret < 0)
		return ret;
	memset(&nd, 0, sizeof(nd));
	snprintf(nd.path, sizeof(nd.path), "%s", path);
	int e = vz_node_query(&nd);
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
