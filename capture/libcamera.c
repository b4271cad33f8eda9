/* SPDX-License-Identifier: MIT */
/*
 * The libcamera backend: the source contract (source.h) over the shim's
 * table (libcamera-shim.h).  libcamera allocates (FrameBufferAllocator);
 * each plane's DMA-buf is duplicated into a vzero buffer set and mapped
 * through it, so a set outlives the camera exactly as a V4L2 set outlives
 * its node.  A buffer's Request goes back to libcamera only when the
 * pipeline queues it, i.e. when every sink released the frame.
 *
 * libcamera exports read-write DMA-bufs only (there is no read-only
 * export), so every plane has fd_ro = -1: sinks that promise other
 * processes read-only fds refuse such sets unless the user opts in.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/videodev2.h>

#include "clock.h"
#include "json.h"
#include "libcamera-internal.h"
#include "module.h"
#include "seq-track.h"
#include "vz-config.h"

enum buf_state {
	BUF_IDLE = 0,
	BUF_QUEUED,
	BUF_HELD,
};

struct vz_lc {
	const struct vz_lcs_api *api;
	struct vz_lcs *lcs;
	int efd;
	/* The kernel's device events (NETLINK_KOBJECT_UEVENT): libcamera
	 * only reports an unplug where the pipeline handler supports
	 * hot-unplug (UVC, not vimc), so vzero watches the camera's device
	 * nodes itself.  -1 where the socket is refused. */
	int uevent_fd;
	int epfd;        /* what fd() returns: efd and uevent_fd */
	dev_t nodes[32]; /* the camera's V4L2 and media nodes libcamera opened */
	unsigned nnodes;
	struct vz_lcs_config want; /* what open asked for, redone on reconnect */
	uint32_t fps_num, fps_den; /* -r as asked */
	char id[256], model[128], path[300], driver[64];
	bool acquired, streaming, gone;

	struct vz_lcs_config got;
	struct vz_format fmt;
	uint32_t generation;
	struct vz_buffer_set *set;
	unsigned nbuf;
	enum buf_state state[VZ_MAX_BUFFERS];

	struct vz_seq_track track;
	bool next_discont;
	struct vz_source_stats st;

	/* What the frames showed of the clocks, for the notes. */
	uint64_t n_ts, n_ts_monotonic;
	uint64_t n_sensor, n_sensor_clock[3];
	int64_t sensor_max_diff_ns; /* |sensor (monotonic) - buffer timestamp| */
	int64_t boot_offset_ns;
	char notes[1024];
};

/* ---- translations ---- */

static const struct {
	uint32_t drm, v4l2;
} fourccs[] = {
        /* DRM names the bits of a little-endian word, V4L2 the bytes in
         * memory: the RGB families swap names. */
        {VZ_FOURCC('B', 'G', '2', '4'), V4L2_PIX_FMT_RGB24},  /* BGR888 */
        {VZ_FOURCC('R', 'G', '2', '4'), V4L2_PIX_FMT_BGR24},  /* RGB888 */
        {VZ_FOURCC('X', 'R', '2', '4'), V4L2_PIX_FMT_XBGR32}, /* XRGB8888 */
        {VZ_FOURCC('A', 'R', '2', '4'), V4L2_PIX_FMT_ABGR32}, /* ARGB8888 */
        {VZ_FOURCC('X', 'B', '2', '4'), V4L2_PIX_FMT_RGBX32}, /* XBGR8888 */
        {VZ_FOURCC('A', 'B', '2', '4'), V4L2_PIX_FMT_RGBA32}, /* ABGR8888 */
        {VZ_FOURCC('Y', 'U', 'Y', 'V'), V4L2_PIX_FMT_YUYV},
        {VZ_FOURCC('Y', 'V', 'Y', 'U'), V4L2_PIX_FMT_YVYU},
        {VZ_FOURCC('U', 'Y', 'V', 'Y'), V4L2_PIX_FMT_UYVY},
        {VZ_FOURCC('V', 'Y', 'U', 'Y'), V4L2_PIX_FMT_VYUY},
        {VZ_FOURCC('N', 'V', '1', '2'), V4L2_PIX_FMT_NV12},
        {VZ_FOURCC('N', 'V', '2', '1'), V4L2_PIX_FMT_NV21},
        {VZ_FOURCC('N', 'V', '1', '6'), V4L2_PIX_FMT_NV16},
        {VZ_FOURCC('N', 'V', '6', '1'), V4L2_PIX_FMT_NV61},
        {VZ_FOURCC('Y', 'U', '1', '2'), V4L2_PIX_FMT_YUV420},
        {VZ_FOURCC('Y', 'V', '1', '2'), V4L2_PIX_FMT_YVU420},
        {VZ_FOURCC('R', '8', ' ', ' '), V4L2_PIX_FMT_GREY},
};

uint32_t vz_lc_drm_to_v4l2(uint32_t drm)
{
	for (size_t i = 0; i < sizeof(fourccs) / sizeof(fourccs[0]); i++)
		if (fourccs[i].drm == drm)
			return fourccs[i].v4l2;
	return 0;
}

uint32_t vz_lc_v4l2_to_drm(uint32_t v4l2)
{
	for (size_t i = 0; i < sizeof(fourccs) / sizeof(fourccs[0]); i++)
		if (fourccs[i].v4l2 == v4l2)
			return fourccs[i].drm;
	return 0;
}

int vz_lc_parse_selector(const char *sel, const char **name)
{
	const char *s = sel + strlen(VZ_LIBCAMERA_PREFIX);
	*name = s;
	if (!*s)
		return -1;
	char *end;
	errno = 0;
	unsigned long k = strtoul(s, &end, 10);
	if (*s >= '0' && *s <= '9' && !*end && !errno && k < 1000)
		return (int)k;
	return -2;
}

static int64_t abs64(int64_t v)
{
	return v < 0 ? -v : v;
}

enum vz_lc_clock vz_lc_sensor_clock(int64_t sensor_ns, int64_t buffer_ns,
                                    int64_t boot_minus_mono_ns, int64_t *mono)
{
	int64_t as_boot = sensor_ns - boot_minus_mono_ns;
	bool near_mono = abs64(sensor_ns - buffer_ns) <= abs64(as_boot - buffer_ns);
	*mono = near_mono ? sensor_ns : as_boot;
	if (abs64(boot_minus_mono_ns) < VZ_NSEC_PER_MSEC)
		return VZ_LC_CLOCK_EITHER;
	return near_mono ? VZ_LC_CLOCK_MONOTONIC : VZ_LC_CLOCK_BOOTTIME;
}

static int64_t boot_minus_mono(void)
{
	struct timespec b, m;
	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_BOOTTIME, &b);
	return ((int64_t)b.tv_sec - m.tv_sec) * VZ_NSEC_PER_SEC + (b.tv_nsec - m.tv_nsec);
}

/* ---- the module ---- */

typedef const struct vz_lcs_api *(*api_fn)(void);

bool vz_lc_in_build(void)
{
	return VZ_HAVE_LIBCAMERA;
}

const struct vz_lcs_api *vz_lc_load(struct vz_err *err)
{
#if VZ_HAVE_LIBCAMERA
	/* libcamera prints INFO and WARN lines on every start (a sensor
	 * missing from its database, ...); vzero reports what matters itself.
	 * The user's LIBCAMERA_LOG_LEVELS wins.  Before the module loads:
	 * libcamera reads it while its library initialises. */
	setenv("LIBCAMERA_LOG_LEVELS", "*:ERROR", 0);
	api_fn fn =
	        (api_fn)vz_module_symbol("vzero-libcamera", "vz_lcs_api",
	                                 "libcamera 0.0.3+ (apt-get install libcamera0.0.3)", err);
	if (!fn)
		return NULL;
	const struct vz_lcs_api *api = fn();
	if (!api || api->abi != VZ_LCS_ABI) {
		vz_err_set(err, -ENOEXEC,
		           "the vzero-libcamera module is from another vzero build (ABI %u, want "
		           "%u): reinstall vzero",
		           api ? api->abi : 0, VZ_LCS_ABI);
		return NULL;
	}
	return api;
#else
	vz_err_set(err, -ENOTSUP,
	           "this vzero was built without libcamera: install libcamera-dev (Debian, "
	           "Ubuntu, Raspberry Pi OS) and rebuild (meson setup --reconfigure BUILDDIR; "
	           "the libcamera option is 'auto'), or use a V4L2 node (`vzero devices`)");
	return NULL;
#endif
}

/* ---- buffer sets ---- */

static void set_destroy(struct vz_buffer_set *s)
{
	vz_buffer_set_release_memory(s);
	free(s);
}

static const struct vz_buffer_set_ops set_ops = {.destroy = set_destroy};

/* The shim's planes as vzero memory planes: colour planes sharing a
 * DMA-buf are one memory plane, laid out as vz_format_layout says. */
static int make_set(struct vz_lc *c, unsigned count, unsigned np,
                    struct vz_lcs_plane planes[][VZ_MAX_PLANES], struct vz_err *err)
{
	struct vz_buffer_set *s = calloc(1, sizeof(*s));
	int ret = 0;
	if (!s) {
		ret = vz_err_set(err, -ENOMEM, "out of memory for a buffer set");
		goto close_all;
	}
	vz_buffer_set_init(s, &set_ops);
	s->fmt = c->fmt;
	s->count = count;
	s->generation = c->generation + 1;
	snprintf(s->origin, sizeof(s->origin),
	         "libcamera FrameBufferAllocator (%.60s), read-write DMA-bufs", c->id);
	for (unsigned i = 0; i < count; i++) {
		struct vz_buffer *b = &s->buf[i];
		b->index = i;
		unsigned m = 0;
		for (unsigned p = 0; p < np; p++) {
			struct vz_lcs_plane *pl = &planes[i][p];
			if (p > 0 && pl->same_fd_as_prev) {
				/* Another colour plane of the same DMA-buf. */
				if (c->fmt.num_mem != 1 || p >= c->fmt.num_planes ||
				    pl->offset != c->fmt.plane[p].offset) {
					ret = vz_err_set(
					        err, -EINVAL,
					        "libcamera: plane %u of %s sits at offset %u; "
					        "vzero lays it out at %u: unsupported layout",
					        p, c->got.fmt_name, pl->offset,
					        c->fmt.plane[p].offset);
					goto fail_from;
				}
				close(pl->fd);
				pl->fd = -1;
				continue;
			}
			if (pl->offset != 0 || m >= c->fmt.num_mem) {
				ret = vz_err_set(err, -EINVAL,
				                 "libcamera: %s comes as %u planes in separate "
				                 "DMA-bufs (offset %u); vzero expects %u memory "
				                 "plane(s): unsupported layout",
				                 c->got.fmt_name, np, pl->offset, c->fmt.num_mem);
				goto fail_from;
			}
			struct vz_mem *mem = &b->mem[m++];
			mem->fd_rw = pl->fd;
			pl->fd = -1;
			off_t size = lseek(mem->fd_rw, 0, SEEK_END);
			if (size <= 0)
				size = pl->length;
			mem->length = (size_t)size;
			/* MAP_POPULATE: the first frame must not pay the faults. */
			void *map = mmap(NULL, mem->length, PROT_READ | PROT_WRITE,
			                 MAP_SHARED | MAP_POPULATE, mem->fd_rw, 0);
			if (map == MAP_FAILED) {
				ret = vz_err_set(
				        err, -errno,
				        "libcamera: mapping buffer %u plane %u (%zu bytes): %s", i,
				        m - 1, mem->length, strerror(errno));
				goto fail_from;
			}
			mem->map = map;
			if (mem->length < c->fmt.mem_size[m - 1]) {
				ret = vz_err_set(
				        err, -EINVAL,
				        "libcamera: buffer %u plane %u is %zu bytes; %s needs "
				        "%u",
				        i, m - 1, mem->length, c->got.fmt_name,
				        c->fmt.mem_size[m - 1]);
				goto fail_from;
			}
		}
		b->num_mem = m;
		if (m != c->fmt.num_mem) {
			ret = vz_err_set(err, -EINVAL,
			                 "libcamera: buffer %u has %u memory planes, %s %u", i, m,
			                 c->got.fmt_name, c->fmt.num_mem);
			goto fail_from;
		}
		continue;
	fail_from:
		for (unsigned j = i; j < count; j++)
			for (unsigned p = 0; p < np; p++)
				if (planes[j][p].fd >= 0) {
					close(planes[j][p].fd);
					planes[j][p].fd = -1;
				}
		vz_buffer_set_unref(s);
		return ret;
	}
	vz_buffer_set_unref(c->set);
	c->set = s;
	c->generation = s->generation;
	c->nbuf = count;
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++)
		c->state[i] = BUF_IDLE;
	return 0;
close_all:
	for (unsigned j = 0; j < count; j++)
		for (unsigned p = 0; p < np; p++)
			if (planes[j][p].fd >= 0)
				close(planes[j][p].fd);
	return ret;
}

/* ---- the camera's device nodes ---- */

/* The character devices of V4L2 and the media controller this process
 * has open: after acquire and configure, those are the camera's. */
static void record_nodes(struct vz_lc *c)
{
	c->nnodes = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) && c->nnodes < sizeof(c->nodes) / sizeof(c->nodes[0])) {
		char path[300], link[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		struct stat st;
		/* A node of an abandoned camera whose device vanished reads
		 * "/dev/videoN (deleted)". */
		if (strncmp(link, "/dev/", 5) || strstr(link, " (deleted)") ||
		    stat(path, &st) < 0 || !S_ISCHR(st.st_mode))
			continue;
		if (strncmp(link, "/dev/video", 10) && strncmp(link, "/dev/media", 10) &&
		    strncmp(link, "/dev/v4l-subdev", 15))
			continue;
		bool dup = false;
		for (unsigned i = 0; i < c->nnodes; i++)
			dup |= c->nodes[i] == st.st_rdev;
		if (!dup)
			c->nodes[c->nnodes++] = st.st_rdev;
	}
	closedir(d);
}

bool vz_lc_uevent_removes(const char *msg, size_t len, const dev_t *nodes, unsigned n)
{
	bool remove = false;
	long maj = -1, min = -1;
	for (size_t off = 0; off < len;) {
		const char *kv = msg + off;
		size_t l = strnlen(kv, len - off);
		/* A copy, NUL-terminated: the datagram's last field may not be. */
		char f[64];
		if (l < sizeof(f)) {
			memcpy(f, kv, l);
			f[l] = '\0';
			if (!strcmp(f, "ACTION=remove"))
				remove = true;
			else if (!strncmp(f, "MAJOR=", 6))
				maj = strtol(f + 6, NULL, 10);
			else if (!strncmp(f, "MINOR=", 6))
				min = strtol(f + 6, NULL, 10);
		}
		off += l + 1;
	}
	if (!remove || maj < 0 || min < 0)
		return false;
	for (unsigned i = 0; i < n; i++)
		if (major(nodes[i]) == (unsigned)maj && minor(nodes[i]) == (unsigned)min)
			return true;
	return false;
}

/* True when a device event says one of the camera's nodes went away. */
static bool nodes_removed(struct vz_lc *c)
{
	if (c->uevent_fd < 0)
		return false;
	bool gone = false;
	char buf[8192];
	ssize_t n;
	while ((n = recv(c->uevent_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		buf[n] = '\0';
		gone |= vz_lc_uevent_removes(buf, (size_t)n, c->nodes, c->nnodes);
	}
	return gone;
}

/* ---- negotiation ---- */

static int fmt_from_config(struct vz_lc *c, struct vz_err *err)
{
	uint32_t v4l2 = vz_lc_drm_to_v4l2(c->got.drm_fourcc);
	const struct vz_format_desc *d = v4l2 ? vz_format_desc_find(v4l2) : NULL;
	if (!d)
		return vz_err_set(err, -EINVAL,
		                  "libcamera: camera '%s' streams %s, which vzero cannot lay out; "
		                  "ask for another with -f (`vzero devices` lists the camera's "
		                  "formats)",
		                  c->id, c->got.fmt_name);
	struct vz_format f;
	memset(&f, 0, sizeof(f));
	f.fourcc = v4l2;
	f.width = c->got.width;
	f.height = c->got.height;
	f.num_mem = d->multiplanar_mem ? d->num_planes : 1;
	uint32_t stride[VZ_MAX_PLANES] = {c->got.stride};
	if (f.num_mem == 1 && c->got.frame_size)
		f.mem_size[0] = c->got.frame_size;
	if (vz_format_layout(&f, stride) < 0)
		return vz_err_set(err, -EINVAL,
		                  "libcamera: %s %ux%u with stride %u cannot be laid out",
		                  c->got.fmt_name, f.width, f.height, c->got.stride);
	if (c->want.want_frame_ns) {
		/* The rate as asked (-r): libcamera applies it as a duration. */
		f.fps_num = c->fps_num;
		f.fps_den = c->fps_den;
	}
	f.colorspace = V4L2_COLORSPACE_DEFAULT;
	c->fmt = f;
	return 0;
}

/* Acquires and configures the camera by id: at open and on reconnect. */
static int configure(struct vz_lc *c, struct vz_err *err)
{
	int r = c->api->acquire(c->lcs, c->id, err);
	if (r < 0)
		return r;
	c->acquired = true;
	c->got = c->want;
	r = c->api->configure(c->lcs, &c->got, err);
	if (r < 0)
		return r;
	/* Events queued so far are history (an unplug's trail of removes,
	 * whose minors the new nodes may reuse). */
	nodes_removed(c);
	record_nodes(c);
	return fmt_from_config(c, err);
}

/* ---- the source contract ---- */

static int src_fd(void *impl)
{
	struct vz_lc *c = impl;
	return c->gone ? -1 : c->epfd;
}

static const struct vz_format *src_format(void *impl)
{
	struct vz_lc *c = impl;
	return &c->fmt;
}

static unsigned src_buffers_wanted(void *impl)
{
	struct vz_lc *c = impl;
	return c->got.buffers;
}

static int src_alloc(void *impl, struct vz_buffer_set *provided, struct vz_err *err)
{
	struct vz_lc *c = impl;
	if (provided)
		return vz_err_set(err, -ENOTSUP,
		                  "libcamera allocates its own buffers (FrameBufferAllocator) and "
		                  "cannot import a sink's");
	if (c->gone || !c->acquired)
		return vz_err_set(err, -ENODEV, "%s is gone", c->path);
	if (c->streaming)
		return vz_err_set(err, -EBUSY, "%s: allocating while streaming", c->path);
	struct vz_lcs_plane(*pl)[VZ_MAX_PLANES] = calloc(VZ_MAX_BUFFERS, sizeof(*pl));
	if (!pl)
		return vz_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++)
		for (unsigned p = 0; p < VZ_MAX_PLANES; p++)
			pl[i][p].fd = -1;
	unsigned count = VZ_MAX_BUFFERS, np = 0;
	int r = c->api->allocate(c->lcs, &count, &np, pl, err);
	if (r == 0)
		r = make_set(c, count, np, pl, err);
	free(pl);
	return r;
}

static struct vz_buffer_set *src_buffers(void *impl)
{
	struct vz_lc *c = impl;
	return c->set;
}

static int queue_one(struct vz_lc *c, unsigned i, struct vz_err *err)
{
	int r = c->api->queue(c->lcs, i, err);
	c->state[i] = r == 0 ? BUF_QUEUED : BUF_IDLE;
	if (r == -ENODEV && !c->gone) {
		/* Gone before libcamera or the device events said so. */
		c->gone = true;
		c->st.disconnects++;
	}
	return r;
}

static int src_start(void *impl, struct vz_err *err)
{
	struct vz_lc *c = impl;
	if (c->gone || !c->acquired)
		return vz_err_set(err, -ENODEV, "%s is gone", c->path);
	if (c->streaming)
		return 0;
	if (!c->set) {
		int r = src_alloc(c, NULL, err);
		if (r < 0)
			return r;
	}
	int r = c->api->start(c->lcs, err);
	if (r < 0)
		return r;
	c->streaming = true;
	for (unsigned i = 0; i < c->nbuf; i++) {
		if (c->state[i] != BUF_IDLE)
			continue;
		r = queue_one(c, i, err);
		if (r < 0)
			return r;
	}
	vz_seq_track_reset(&c->track);
	c->next_discont = c->st.sessions > 0;
	c->st.sessions++;
	return 0;
}

static int src_stop(void *impl, struct vz_err *err)
{
	struct vz_lc *c = impl;
	(void)err;
	if (!c->streaming)
		return 0;
	c->api->stop(c->lcs);
	c->streaming = false;
	for (unsigned i = 0; i < c->nbuf; i++)
		if (c->state[i] == BUF_QUEUED)
			c->state[i] = BUF_IDLE;
	return 0;
}

static int gone_error(struct vz_lc *c, struct vz_err *err)
{
	return vz_err_set(err, -ENODEV,
	                  "%s (%s) disconnected: libcamera removed the camera (unplugged, or "
	                  "its driver unbound)",
	                  c->path, c->model);
}

static void count_clocks(struct vz_lc *c, const struct vz_lcs_done *d, struct vz_frame_info *fi)
{
	c->n_ts++;
	/* A CLOCK_MONOTONIC buffer timestamp precedes the completion (our
	 * CLOCK_MONOTONIC reading) by less than a few seconds. */
	int64_t lag = d->t_completed_ns - (int64_t)d->timestamp_ns;
	bool mono = lag >= 0 && lag < 5 * VZ_NSEC_PER_SEC;
	c->n_ts_monotonic += mono;
	fi->ts_monotonic = mono;
	if (!d->has_sensor_ts)
		return;
	int64_t m;
	enum vz_lc_clock k = vz_lc_sensor_clock(d->sensor_ts_ns, (int64_t)d->timestamp_ns,
	                                        c->boot_offset_ns, &m);
	c->n_sensor++;
	c->n_sensor_clock[k]++;
	int64_t diff = abs64(m - (int64_t)d->timestamp_ns);
	if (diff > c->sensor_max_diff_ns)
		c->sensor_max_diff_ns = diff;
	fi->t_sensor_ns = m;
}

static int src_next(void *impl, uint32_t revents, struct vz_frame_info *fi, struct vz_err *err)
{
	struct vz_lc *c = impl;
	(void)revents;
	if (c->gone)
		return gone_error(c, err);
	/* Before the completion, on every call (one recv that finds nothing,
	 * a microsecond): a dead camera can still complete, cancelled, and
	 * requeueing those would turn the unplug into a queue error. */
	if (nodes_removed(c)) {
		/* libcamera may never learn of it: make it forget the camera
		 * so it can take it back when the device returns. */
		if (!c->api->disconnected(c->lcs))
			c->api->forget(c->lcs);
		c->gone = true;
		c->st.disconnects++;
		return gone_error(c, err);
	}
	uint64_t v;
	if (read(c->efd, &v, sizeof(v)) != sizeof(v))
		return 0;
	if (c->api->disconnected(c->lcs)) {
		c->gone = true;
		c->st.disconnects++;
		return gone_error(c, err);
	}
	struct vz_lcs_done d;
	if (c->api->pop(c->lcs, &d) != 1 || !c->streaming)
		return 0;
	if (d.index >= c->nbuf || c->state[d.index] != BUF_QUEUED)
		return vz_err_set(err, -EPROTO, "%s: libcamera completed buffer %u, not queued",
		                  c->path, d.index);
	c->state[d.index] = BUF_HELD;
	if (d.status == VZ_LCS_FRAME_CANCELLED) {
		/* Never captured: no sequence number was spent on it. */
		c->state[d.index] = BUF_IDLE;
		return queue_one(c, d.index, err);
	}

	memset(fi, 0, sizeof(*fi));
	fi->index = d.index;
	fi->sequence = d.sequence;
	fi->ts_source = VZ_TS_END_OF_FRAME;
	fi->t_driver_ns = (int64_t)d.timestamp_ns;
	fi->t_dqbuf_ns = vz_now_ns();
	fi->session = (uint32_t)(c->st.sessions ? c->st.sessions - 1 : 0);
	/* Colour planes in one DMA-buf are one memory plane: their bytes add
	 * up. */
	for (unsigned p = 0; p < d.nplanes && p < VZ_MAX_PLANES; p++) {
		unsigned m = c->fmt.num_mem == 1 ? 0 : p;
		fi->bytesused[m] += d.bytesused[p];
	}
	count_clocks(c, &d, fi);
	vz_seq_track_frame(&c->track, &c->st, vz_format_interval_ns(&c->fmt), fi);

	bool torn = d.status == VZ_LCS_FRAME_OK && vz_frame_short(&c->fmt, fi);
	if (d.status == VZ_LCS_FRAME_ERROR || torn) {
		c->st.error_frames++;
		if (torn)
			c->st.short_frames++;
		c->state[d.index] = BUF_IDLE;
		int r = queue_one(c, d.index, err);
		return r < 0 ? r : 0;
	}
	fi->discont = c->next_discont;
	c->next_discont = false;
	c->st.frames++;
	return 1;
}

static int src_queue(void *impl, uint32_t generation, unsigned index, struct vz_err *err)
{
	struct vz_lc *c = impl;
	if (!c->set || generation != c->set->generation) {
		c->st.stale_queues++;
		return 0;
	}
	if (index >= c->nbuf || c->state[index] != BUF_HELD)
		return vz_err_set(err, -EINVAL, "%s: buffer %u is not held by the caller", c->path,
		                  index);
	if (!c->streaming || c->gone) {
		c->state[index] = BUF_IDLE;
		return 0;
	}
	return queue_one(c, index, err);
}

static unsigned src_queued(void *impl)
{
	struct vz_lc *c = impl;
	unsigned n = 0;
	for (unsigned i = 0; i < c->nbuf; i++)
		n += c->state[i] == BUF_QUEUED;
	return n;
}

static void drop_set(struct vz_lc *c)
{
	vz_buffer_set_unref(c->set);
	c->set = NULL;
	c->nbuf = 0;
	for (unsigned i = 0; i < VZ_MAX_BUFFERS; i++)
		c->state[i] = BUF_IDLE;
}

static void src_release_device(void *impl)
{
	struct vz_lc *c = impl;
	c->streaming = false;
	c->api->release(c->lcs);
	c->acquired = false;
	c->gone = true;
	drop_set(c);
	uint64_t v;
	while (read(c->efd, &v, sizeof(v)) > 0) {
	}
	nodes_removed(c);
}

static int src_reconnect(void *impl, struct vz_err *err)
{
	struct vz_lc *c = impl;
	struct vz_err e = {0};
	int r = configure(c, &e);
	if (r == -ENODEV) {
		vz_err_set(err, -EAGAIN,
		           "%s (libcamera learns of returning cameras through udev: is "
		           "systemd-udevd running?)",
		           e.msg);
		return -EAGAIN;
	}
	if (r < 0) {
		c->api->release(c->lcs);
		c->acquired = false;
		vz_err_set(err, r, "%s", e.msg);
		return r;
	}
	c->gone = false;
	c->st.reconnects++;
	return 0;
}

static int src_renegotiate(void *impl, struct vz_err *err)
{
	struct vz_lc *c = impl;
	src_stop(c, err);
	drop_set(c);
	c->got = c->want;
	int r = c->api->configure(c->lcs, &c->got, err);
	if (r < 0)
		return r;
	return fmt_from_config(c, err);
}

static void src_stats(void *impl, struct vz_source_stats *out)
{
	struct vz_lc *c = impl;
	*out = c->st;
}

static const struct vz_source_ops lc_ops = {
        .name = "libcamera",
        .fd = src_fd,
        .format = src_format,
        .buffers_wanted = src_buffers_wanted,
        .alloc = src_alloc,
        .buffers = src_buffers,
        .start = src_start,
        .stop = src_stop,
        .next = src_next,
        .queue = src_queue,
        .queued = src_queued,
        .release_device = src_release_device,
        .reconnect = src_reconnect,
        .renegotiate = src_renegotiate,
        .stats = src_stats,
};

struct vz_source vz_lc_source(struct vz_lc *c)
{
	return (struct vz_source){.ops = &lc_ops, .impl = c};
}

/* ---- open, close, names ---- */

static void list_names(struct vz_lc *c, unsigned n, char *buf, size_t len)
{
	buf[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		struct vz_lcs_camera cam;
		struct vz_err e = {0};
		if (c->api->describe(c->lcs, i, &cam, &e) < 0)
			continue;
		vz_msg_append(buf, len, "%s%u: '%s' (%s)", i ? ", " : "", i,
		              cam.model[0] ? cam.model : cam.id, cam.id);
	}
}

static bool selects(int k, const char *name, unsigned i, const struct vz_lcs_camera *cam)
{
	if (k == -1)
		return i == 0;
	if (k >= 0)
		return (unsigned)k == i;
	return strcasestr(cam->id, name) || strcasestr(cam->model, name);
}

static int pick(struct vz_lc *c, const char *sel, struct vz_err *err)
{
	const char *name;
	int k = vz_lc_parse_selector(sel, &name);
	unsigned n = c->api->count(c->lcs);
	if (n == 0)
		return vz_err_set(err, -ENODEV,
		                  "-d %s: libcamera %s found no camera.  Check `cam -l`; libcamera "
		                  "sees cameras its pipeline handlers know (Raspberry Pi, "
		                  "Rockchip, i.MX, IPU3, UVC webcams, vimc) and only nodes with a "
		                  "udev database entry (is systemd-udevd running?); in the test "
		                  "VM load vimc (tools/vivid-vm --module vimc); plain V4L2 nodes "
		                  "are `-d /dev/videoN`",
		                  sel, c->api->version);
	char names[1024];
	for (unsigned i = 0; i < n; i++) {
		struct vz_lcs_camera cam;
		int r = c->api->describe(c->lcs, i, &cam, err);
		if (r < 0)
			return r;
		if (!selects(k, name, i, &cam))
			continue;
		snprintf(c->id, sizeof(c->id), "%s", cam.id);
		snprintf(c->model, sizeof(c->model), "%.127s", cam.model[0] ? cam.model : cam.id);
		return 0;
	}
	list_names(c, n, names, sizeof(names));
	return vz_err_set(err, -ENODEV, "-d %s: no such libcamera camera; there %s %u: %s", sel,
	                  n == 1 ? "is" : "are", n, names);
}

int vz_lc_open(struct vz_lc **out, const struct vz_lcs_api *api,
               const struct vz_capture_config *cfg, struct vz_err *err)
{
	*out = NULL;
	struct vz_lc *c = calloc(1, sizeof(*c));
	if (!c)
		return vz_err_set(err, -ENOMEM, "out of memory");
	c->api = api;
	c->uevent_fd = c->epfd = -1;
	c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
	int r;
	if (c->efd < 0) {
		r = vz_err_set(err, -errno, "eventfd: %s", strerror(errno));
		goto fail;
	}
	c->uevent_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	                      NETLINK_KOBJECT_UEVENT);
	if (c->uevent_fd >= 0) {
		struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1};
		if (bind(c->uevent_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			close(c->uevent_fd);
			c->uevent_fd = -1;
		}
	}
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	/* Non-blocking like every source fd (the pipeline checks). */
	if (c->epfd < 0 || fcntl(c->epfd, F_SETFL, O_NONBLOCK) < 0) {
		r = vz_err_set(err, -errno, "epoll_create1: %s", strerror(errno));
		goto fail;
	}
	struct epoll_event ev = {.events = EPOLLIN};
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->efd, &ev) < 0 ||
	    (c->uevent_fd >= 0 && epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->uevent_fd, &ev) < 0)) {
		r = vz_err_set(err, -errno, "epoll_ctl: %s", strerror(errno));
		goto fail;
	}
	snprintf(c->driver, sizeof(c->driver), "libcamera %s", api->version);
	c->boot_offset_ns = boot_minus_mono();
	r = api->create(&c->lcs, c->efd, err);
	if (r < 0)
		goto fail;
	r = pick(c, cfg->device, err);
	if (r < 0)
		goto fail;
	snprintf(c->path, sizeof(c->path), "%s%s", VZ_LIBCAMERA_PREFIX, c->id);
	if (cfg->fourcc) {
		c->want.drm_fourcc = vz_lc_v4l2_to_drm(cfg->fourcc);
		if (!c->want.drm_fourcc) {
			char fcc[5];
			r = vz_err_set(err, -EINVAL,
			               "-f %s: vzero knows no libcamera pixel format for it; "
			               "`vzero devices` lists what '%s' streams",
			               vz_fourcc_str(cfg->fourcc, fcc), c->model);
			goto fail;
		}
	}
	c->want.width = cfg->width;
	c->want.height = cfg->height;
	c->want.buffers = cfg->buffers ? cfg->buffers : VZ_CAPTURE_DEFAULT_BUFFERS;
	c->fps_num = cfg->fps_num;
	c->fps_den = cfg->fps_den;
	if (cfg->fps_num && cfg->fps_den)
		c->want.want_frame_ns =
		        (int64_t)((double)cfg->fps_den * VZ_NSEC_PER_SEC / cfg->fps_num + 0.5);
	r = configure(c, err);
	if (r < 0)
		goto fail;
	if (cfg->fourcc && c->got.drm_fourcc != c->want.drm_fourcc) {
		char fcc[5];
		r = vz_err_set(err, -EINVAL,
		               "-f %s: '%s' cannot stream it (it offers %s); "
		               "`vzero devices` lists its formats",
		               vz_fourcc_str(cfg->fourcc, fcc), c->model, c->got.fmt_name);
		goto fail;
	}
	if (cfg->width && (c->got.width != cfg->width || c->got.height != cfg->height)) {
		r = vz_err_set(err, -EINVAL, "-s %ux%u: '%s' adjusted it to %ux%u (%s)", cfg->width,
		               cfg->height, c->model, c->got.width, c->got.height,
		               c->got.adjusted_to);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	vz_lc_close(c);
	return r;
}

void vz_lc_close(struct vz_lc *c)
{
	if (!c)
		return;
	if (c->lcs)
		c->api->destroy(c->lcs);
	vz_buffer_set_unref(c->set);
	if (c->efd >= 0)
		close(c->efd);
	if (c->uevent_fd >= 0)
		close(c->uevent_fd);
	if (c->epfd >= 0)
		close(c->epfd);
	free(c);
}

const char *vz_lc_path(const struct vz_lc *c)
{
	return c->path;
}

const char *vz_lc_model(const struct vz_lc *c)
{
	return c->model;
}

const char *vz_lc_driver(const struct vz_lc *c)
{
	return c->driver;
}

const char *vz_lc_notes(struct vz_lc *c)
{
	char *n = c->notes;
	size_t len = sizeof(c->notes);
	n[0] = '\0';
	vz_msg_append(n, len,
	              "DMA-bufs: read-write only (libcamera exports no read-only fds); sinks "
	              "that hand fds to other processes refuse them unless allowed (ipc: "
	              "rw=allow)\n");
	vz_msg_append(n, len,
	              "buffer timestamp: FrameMetadata::timestamp, %s (%" PRIu64 " of %" PRIu64
	              " frames precede their completion on CLOCK_MONOTONIC)\n",
	              c->n_ts && c->n_ts_monotonic == c->n_ts ? "CLOCK_MONOTONIC"
	              : c->n_ts                               ? "NOT CLOCK_MONOTONIC"
	                                                      : "no frames yet",
	              c->n_ts_monotonic, c->n_ts);
	if (!c->n_sensor) {
		vz_msg_append(n, len, "SensorTimestamp: not reported by this camera\n");
		return n;
	}
	const char *clock = c->n_sensor_clock[VZ_LC_CLOCK_BOOTTIME] == c->n_sensor
	                            ? "CLOCK_BOOTTIME, as libcamera documents"
	                    : c->n_sensor_clock[VZ_LC_CLOCK_MONOTONIC] == c->n_sensor
	                            ? "CLOCK_MONOTONIC, though libcamera documents CLOCK_BOOTTIME"
	                    : c->n_sensor_clock[VZ_LC_CLOCK_EITHER] == c->n_sensor
	                            ? "CLOCK_BOOTTIME = CLOCK_MONOTONIC here (never suspended)"
	                            : "mixed clocks";
	vz_msg_append(n, len,
	              "SensorTimestamp: %s; converted to CLOCK_MONOTONIC it differs from the "
	              "buffer timestamp by at most %.3f ms over %" PRIu64 " frames\n",
	              clock, (double)c->sensor_max_diff_ns / 1e6, c->n_sensor);
	return n;
}

/* ---- listing ---- */

static void print_fmt_human(FILE *out, const struct vz_lcs_camera *cam, unsigned i)
{
	char fcc[5] = "?";
	uint32_t v = vz_lc_drm_to_v4l2(cam->fmt[i].drm_fourcc);
	if (v)
		vz_fourcc_str(v, fcc);
	fprintf(out, "    %-8s (-f %s)  %ux%u .. %ux%u step %u,%u\n", cam->fmt[i].name,
	        v ? fcc : "n/a: vzero cannot lay it out", cam->fmt[i].min_w, cam->fmt[i].min_h,
	        cam->fmt[i].max_w, cam->fmt[i].max_h, cam->fmt[i].step_w, cam->fmt[i].step_h);
	if (cam->fmt[i].nsizes) {
		fprintf(out, "      sizes");
		for (unsigned s = 0; s < cam->fmt[i].nsizes; s++)
			fprintf(out, " %ux%u", cam->fmt[i].sizes[s][0], cam->fmt[i].sizes[s][1]);
		fprintf(out, "\n");
	}
}

static void print_cam_json(FILE *out, const struct vz_lcs_camera *cam, unsigned index)
{
	char path[300];
	snprintf(path, sizeof(path), "%s%u", VZ_LIBCAMERA_PREFIX, index);
	fputs("{\"backend\":\"libcamera\",\"path\":", out);
	vz_json_str(out, path);
	fputs(",\"id\":", out);
	vz_json_str(out, cam->id);
	fputs(",\"card\":", out);
	vz_json_str(out, cam->model);
	fputs(",\"formats\":[", out);
	for (unsigned i = 0; i < cam->nfmt; i++) {
		char fcc[5] = "";
		uint32_t v = vz_lc_drm_to_v4l2(cam->fmt[i].drm_fourcc);
		if (v)
			vz_fourcc_str(v, fcc);
		fprintf(out, "%s{\"fourcc\":", i ? "," : "");
		if (v)
			vz_json_str(out, fcc);
		else
			fputs("null", out);
		fputs(",\"libcamera\":", out);
		vz_json_str(out, cam->fmt[i].name);
		fprintf(out,
		        ",\"range\":{\"min_width\":%u,\"min_height\":%u,\"max_width\":%u,"
		        "\"max_height\":%u,\"step_width\":%u,\"step_height\":%u},\"sizes\":[",
		        cam->fmt[i].min_w, cam->fmt[i].min_h, cam->fmt[i].max_w, cam->fmt[i].max_h,
		        cam->fmt[i].step_w, cam->fmt[i].step_h);
		for (unsigned s = 0; s < cam->fmt[i].nsizes; s++)
			fprintf(out, "%s{\"width\":%u,\"height\":%u}", s ? "," : "",
			        cam->fmt[i].sizes[s][0], cam->fmt[i].sizes[s][1]);
		fputs("]}", out);
	}
	fputs("]}", out);
}

int vz_lc_print(const struct vz_lcs_api *api, FILE *out, bool json, bool *first, const char *sel,
                struct vz_err *err)
{
	const char *name = NULL;
	int k = sel ? vz_lc_parse_selector(sel, &name) : 0;
	unsigned shown = 0;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
	if (efd < 0)
		return vz_err_set(err, -errno, "eventfd: %s", strerror(errno));
	struct vz_lcs *l = NULL;
	int r = api->create(&l, efd, err);
	if (r < 0)
		goto out;
	unsigned n = api->count(l);
	if (!json && !sel)
		fprintf(out, "\nlibcamera %s: %u camera%s%s\n", api->version, n, n == 1 ? "" : "s",
		        n ? " (-d libcamera:K, or -d libcamera:NAME)" : "");
	for (unsigned i = 0; i < n; i++) {
		struct vz_lcs_camera *cam = calloc(1, sizeof(*cam));
		if (!cam) {
			r = vz_err_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		r = api->describe(l, i, cam, err);
		if (r < 0) {
			free(cam);
			goto out;
		}
		if (sel && !selects(k, name, i, cam)) {
			free(cam);
			continue;
		}
		shown++;
		if (json) {
			fputs(*first ? "\n  " : ",\n  ", out);
			*first = false;
			print_cam_json(out, cam, i);
		} else {
			fprintf(out, "  libcamera:%u  '%s'  id \"%s\"  (read-write DMA-bufs)\n", i,
			        cam->model[0] ? cam->model : cam->id, cam->id);
			for (unsigned f = 0; f < cam->nfmt; f++)
				print_fmt_human(out, cam, f);
		}
		free(cam);
	}
	if (sel && !shown)
		r = vz_err_set(err, -ENODEV, "-d %s: no such libcamera camera (%u found%s)", sel, n,
		               n ? "; `vzero devices` lists them" : "");
out:
	api->destroy(l);
	close(efd);
	return r;
}
