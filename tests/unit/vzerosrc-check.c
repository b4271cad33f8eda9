/* SPDX-License-Identifier: MIT */
/*
 * vz-vzerosrc-check: what vzerosrc hands GStreamer, checked buffer by
 * buffer against vz-ipc-fake-server (test-vzerosrc.sh drives both).
 *
 *   vz-vzerosrc-check frames SOCKET SERVER_PID COUNT [--no-meta]
 *                                               [--expect-change WxH]
 *       vzerosrc num-buffers=COUNT ! fakesink.  Every buffer: its pixels
 *       are ipc-pattern.h's picture for its offset (the sequence number)
 *       read through its GstVideoMeta; its memories are DMA-buf memory
 *       whose fds are the server's own buffers (the same inode as one of
 *       /proc/SERVER_PID/fd), read-only (O_RDONLY, a writable mapping
 *       refused, the memory READONLY); timestamps never step back.  The
 *       sink answers ALLOCATION with GstVideoMeta as a video element
 *       would; --no-meta leaves it out, and then every buffer must be a
 *       copy in plain memory (vzerosrc's fallback) and a warning must have
 *       said so.  --expect-change: the caps must change to width W, height
 *       H mid-stream and the frames stay intact across it.
 *   vz-vzerosrc-check stop SOCKET MS
 *       vzerosrc timeout=0 against a server that sends nothing: after MS
 *       in PLAYING, going to NULL must return at once (unlock), not wait
 *       for a frame.
 *
 * Prints "# ..." notes; exits 0 when everything held, 1 otherwise (the
 * first failure said on stderr).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gst/allocators/allocators.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "ipc-pattern.h"

#define MAX_INODES 4096

static int failures;

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		if (!failures++) {                                                                 \
			fprintf(stderr, "vz-vzerosrc-check: ");                                    \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

/* The files the server has open: its buffers' memfds among them. */
struct inodes {
	int pid;
	unsigned n;
	dev_t dev[MAX_INODES];
	ino_t ino[MAX_INODES];
};

static void scan_server(struct inodes *s)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/fd", s->pid);
	DIR *d = opendir(dir);
	s->n = 0;
	if (!d) {
		FAIL("cannot list %s: %s (is the server running?)", dir, strerror(errno));
		return;
	}
	for (struct dirent *e; (e = readdir(d)) && s->n < MAX_INODES;) {
		char path[400];
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) == 0) {
			s->dev[s->n] = st.st_dev;
			s->ino[s->n] = st.st_ino;
			s->n++;
		}
	}
	closedir(d);
}

static bool server_has(const struct inodes *s, const struct stat *st)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->dev[i] == st->st_dev && s->ino[i] == st->st_ino)
			return true;
	return false;
}

static GstPadProbeReturn offer_meta(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	GstQuery *q = GST_PAD_PROBE_INFO_QUERY(info);
	(void)pad;
	(void)data;
	if (GST_QUERY_TYPE(q) == GST_QUERY_ALLOCATION && gst_query_is_writable(q))
		gst_query_add_allocation_meta(q, GST_VIDEO_META_API_TYPE, NULL);
	return GST_PAD_PROBE_OK;
}

/* Zero-copy and read-only: the buffer's memories are the server's. */
static void check_memory(GstBuffer *b, struct inodes *srv, guint64 seq)
{
	for (guint i = 0; i < gst_buffer_n_memory(b); i++) {
		GstMemory *m = gst_buffer_peek_memory(b, i);
		if (!gst_is_dmabuf_memory(m)) {
			FAIL("frame %llu: memory %u is %s memory, not DMA-buf: a copy",
			     (unsigned long long)seq, i,
			     m->allocator ? m->allocator->mem_type : "unknown");
			continue;
		}
		int fd = gst_dmabuf_memory_get_fd(m);
		struct stat st;
		if (fstat(fd, &st) < 0) {
			FAIL("frame %llu: fstat of its fd %d: %s", (unsigned long long)seq, fd,
			     strerror(errno));
			continue;
		}
		if (!server_has(srv, &st)) {
			scan_server(srv); /* a new buffer set since the last scan */
			if (!server_has(srv, &st))
				FAIL("frame %llu: fd %d (inode %lu) is none of the server's (pid "
				     "%d) files: not its buffer",
				     (unsigned long long)seq, fd, (unsigned long)st.st_ino,
				     srv->pid);
		}
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || (fl & O_ACCMODE) != O_RDONLY)
			FAIL("frame %llu: fd %d is open for writing", (unsigned long long)seq, fd);
		void *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (w != MAP_FAILED) {
			munmap(w, 4096);
			FAIL("frame %llu: fd %d can be mapped for writing", (unsigned long long)seq,
			     fd);
		}
		if (!GST_MEMORY_IS_READONLY(m))
			FAIL("frame %llu: memory %u is not flagged READONLY",
			     (unsigned long long)seq, i);
	}
}

/* The pixels, through the buffer's GstVideoMeta (gst_video_frame_map). */
static void check_pixels(GstBuffer *b, const GstVideoInfo *vi, guint64 seq)
{
	GstVideoFrame vf;
	if (!gst_video_frame_map(&vf, vi, b, GST_MAP_READ)) {
		FAIL("frame %llu: cannot map it", (unsigned long long)seq);
		return;
	}
	for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(&vf); p++) {
		/* The component stored in this plane says its size. */
		gint c[GST_VIDEO_MAX_COMPONENTS];
		gst_video_format_info_component(vf.info.finfo, p, c);
		guint bytes = (guint)(GST_VIDEO_FRAME_COMP_WIDTH(&vf, c[0]) *
		                      GST_VIDEO_FRAME_COMP_PSTRIDE(&vf, c[0]));
		guint lines = (guint)GST_VIDEO_FRAME_COMP_HEIGHT(&vf, c[0]);
		const guint8 *base = GST_VIDEO_FRAME_PLANE_DATA(&vf, p);
		gint stride = GST_VIDEO_FRAME_PLANE_STRIDE(&vf, p);
		for (guint y = 0; y < lines; y++)
			for (guint x = 0; x < bytes; x++) {
				guint8 want = vz_pattern((uint32_t)seq, p, y, x);
				guint8 got = base[(gsize)y * (gsize)stride + x];
				if (got != want) {
					FAIL("frame %llu plane %u line %u byte %u: 0x%02x, the "
					     "server wrote 0x%02x",
					     (unsigned long long)seq, p, y, x, got, want);
					gst_video_frame_unmap(&vf);
					return;
				}
			}
	}
	gst_video_frame_unmap(&vf);
}

/* What the handoffs saw (fakesink's streaming thread; the main thread
 * reads it after EOS). */
struct run {
	struct inodes *srv;
	bool meta;
	int change_w, change_h;
	int got, caps_changes;
	bool saw_change, warned_copy;
	guint64 last_seq;
	GstClockTime last_pts;
	GstVideoInfo vi;
	GstCaps *cur;
};

/* fakesink rather than appsink: appsink keeps the last buffer it handed
 * out until its next pull, so the frame would go back only at teardown. */
static void on_handoff(GstElement *sink, GstBuffer *b, GstPad *pad, gpointer data)
{
	struct run *r = data;
	GstCaps *caps = gst_pad_get_current_caps(pad);
	(void)sink;

	if (!caps) {
		FAIL("a buffer before caps");
		return;
	}
	if (!r->cur || !gst_caps_is_equal(r->cur, caps)) {
		bool changed = r->cur != NULL;
		gst_caps_replace(&r->cur, caps);
		if (!gst_video_info_from_caps(&r->vi, caps))
			FAIL("caps %" GST_PTR_FORMAT " are not raw video", (void *)caps);
		if (changed) {
			r->caps_changes++;
			if (GST_VIDEO_INFO_WIDTH(&r->vi) == r->change_w &&
			    GST_VIDEO_INFO_HEIGHT(&r->vi) == r->change_h)
				r->saw_change = true;
		}
		gchar *cs = gst_caps_to_string(caps);
		printf("# caps: %s\n", cs);
		g_free(cs);
	}
	gst_caps_unref(caps);
	guint64 seq = GST_BUFFER_OFFSET(b);
	if (r->got && seq <= r->last_seq)
		FAIL("frame after %llu has offset %llu: offsets are the driver's sequence",
		     (unsigned long long)r->last_seq, (unsigned long long)seq);
	r->last_seq = seq;
	GstClockTime pts = GST_BUFFER_PTS(b);
	if (!GST_CLOCK_TIME_IS_VALID(pts))
		FAIL("frame %llu has no timestamp", (unsigned long long)seq);
	else if (GST_CLOCK_TIME_IS_VALID(r->last_pts) && pts < r->last_pts)
		FAIL("frame %llu: PTS %" GST_TIME_FORMAT " before the previous one's",
		     (unsigned long long)seq, GST_TIME_ARGS(pts));
	r->last_pts = pts;
	if (r->meta) {
		check_memory(b, r->srv, seq);
	} else if (gst_is_dmabuf_memory(gst_buffer_peek_memory(b, 0))) {
		FAIL("frame %llu: DMA-buf memory reached an element that ignores GstVideoMeta: "
		     "it misreads padded frames",
		     (unsigned long long)seq);
	}
	check_pixels(b, &r->vi, seq);
	r->got++;
}

/* Until EOS or an error: false on an error (said). */
static bool wait_eos(GstBus *bus, struct run *r)
{
	for (;;) {
		GstMessage *msg = gst_bus_timed_pop_filtered(
		        bus, 30 * GST_SECOND,
		        GST_MESSAGE_ERROR | GST_MESSAGE_WARNING | GST_MESSAGE_EOS);
		GError *e = NULL;
		gchar *dbg = NULL;
		if (!msg) {
			FAIL("no end of stream in 30 s");
			return false;
		}
		GstMessageType type = GST_MESSAGE_TYPE(msg);
		if (type == GST_MESSAGE_ERROR) {
			gst_message_parse_error(msg, &e, &dbg);
			FAIL("pipeline error: %s (%s)", e->message, dbg ? dbg : "");
		} else if (type == GST_MESSAGE_WARNING) {
			gst_message_parse_warning(msg, &e, &dbg);
			printf("# warning: %s\n", e->message);
			if (strstr(e->message, "GstVideoMeta"))
				r->warned_copy = true;
		}
		g_clear_error(&e);
		g_free(dbg);
		gst_message_unref(msg);
		if (type != GST_MESSAGE_WARNING)
			return type == GST_MESSAGE_EOS;
	}
}

static int check_frames(const char *socket, int pid, int count, bool meta, int change_w,
                        int change_h)
{
	struct run r = {.meta = meta,
	                .change_w = change_w,
	                .change_h = change_h,
	                .last_pts = GST_CLOCK_TIME_NONE};
	char desc[600];
	GError *e = NULL;

	r.srv = g_new0(struct inodes, 1);
	r.srv->pid = pid;
	scan_server(r.srv);
	snprintf(desc, sizeof(desc),
	         "vzerosrc name=src socket=%s num-buffers=%d ! fakesink name=sink sync=false "
	         "signal-handoffs=true enable-last-sample=false",
	         socket, count);
	/* A missing element still gives a (partial) pipeline, and an error. */
	GstElement *pipe = gst_parse_launch(desc, &e);
	if (!pipe || e) {
		FAIL("%s: %s", desc, e ? e->message : "cannot build it");
		g_clear_error(&e);
		if (pipe)
			gst_object_unref(pipe);
		g_free(r.srv);
		return 1;
	}
	GstElement *sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
	GstElement *src = gst_bin_get_by_name(GST_BIN(pipe), "src");
	g_signal_connect(sink, "handoff", G_CALLBACK(on_handoff), &r);
	if (meta) {
		GstPad *pad = gst_element_get_static_pad(sink, "sink");
		gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM, offer_meta, NULL, NULL);
		gst_object_unref(pad);
	}
	GstBus *bus = gst_element_get_bus(pipe);
	gst_element_set_state(pipe, GST_STATE_PLAYING);
	bool eos = wait_eos(bus, &r);

	guint64 frames = 0, drops = 0, copies = 0;
	g_object_get(src, "frames", &frames, "drops", &drops, "copies", &copies, NULL);
	printf("# %d buffers, %d caps change(s), vzerosrc: frames=%llu drops=%llu copies=%llu\n",
	       r.got, r.caps_changes, (unsigned long long)frames, (unsigned long long)drops,
	       (unsigned long long)copies);
	if (eos && r.got != count)
		FAIL("%d buffers of the %d asked for reached the sink", r.got, count);
	if (meta && copies)
		FAIL("%llu frames copied although the sink takes GstVideoMeta",
		     (unsigned long long)copies);
	if (!meta && (!copies || !r.warned_copy))
		FAIL("an element ignoring GstVideoMeta got padded frames without a copy (%llu "
		     "copies) and a warning (%s)",
		     (unsigned long long)copies, r.warned_copy ? "given" : "none");
	if (change_w && !r.saw_change)
		FAIL("the caps never changed to %dx%d", change_w, change_h);

	gst_element_set_state(pipe, GST_STATE_NULL);
	gst_caps_replace(&r.cur, NULL);
	gst_object_unref(bus);
	gst_object_unref(src);
	gst_object_unref(sink);
	gst_object_unref(pipe);
	g_free(r.srv);
	return failures ? 1 : 0;
}

static void on_alarm(int sig)
{
	static const char msg[] = "vz-vzerosrc-check: going to NULL hung: vzerosrc waits for "
	                          "a frame instead of unlocking\n";
	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(1);
}

static int check_stop(const char *socket, int ms)
{
	char desc[400];
	GError *e = NULL;

	snprintf(desc, sizeof(desc), "vzerosrc name=src socket=%s timeout=0 ! fakesink", socket);
	/* A missing element still gives a (partial) pipeline, and an error. */
	GstElement *pipe = gst_parse_launch(desc, &e);
	if (!pipe || e) {
		FAIL("%s: %s", desc, e ? e->message : "cannot build it");
		g_clear_error(&e);
		if (pipe)
			gst_object_unref(pipe);
		return 1;
	}
	GstElement *src = gst_bin_get_by_name(GST_BIN(pipe), "src");
	gst_element_set_state(pipe, GST_STATE_PLAYING);
	g_usleep((gulong)ms * 1000);
	/* The pipeline stays ASYNC (its sink awaits a first buffer); the
	 * source is PLAYING, its streaming thread waiting for a frame. */
	GstState state;
	gst_element_get_state(src, &state, NULL, 0);
	printf("# after %d ms vzerosrc is %s\n", ms, gst_element_state_get_name(state));
	signal(SIGALRM, on_alarm);
	alarm(10);
	gint64 t0 = g_get_monotonic_time();
	gst_element_set_state(pipe, GST_STATE_NULL);
	gint64 took = (g_get_monotonic_time() - t0) / 1000;
	alarm(0);
	printf("# PLAYING -> NULL took %lld ms\n", (long long)took);
	if (state != GST_STATE_PLAYING)
		FAIL("vzerosrc did not reach PLAYING against an idle server");
	if (took > 2000)
		FAIL("PLAYING -> NULL took %lld ms while waiting for a frame", (long long)took);
	gst_object_unref(src);
	gst_object_unref(pipe);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	int ret = 2;

	gst_init(&argc, &argv);
	if (argc >= 5 && !strcmp(argv[1], "frames")) {
		bool meta = true;
		int cw = 0, ch = 0;
		for (int i = 5; i < argc; i++) {
			if (!strcmp(argv[i], "--no-meta"))
				meta = false;
			else if (!strcmp(argv[i], "--expect-change") && i + 1 < argc &&
			         sscanf(argv[i + 1], "%dx%d", &cw, &ch) == 2)
				i++;
			else
				goto usage;
		}
		ret = check_frames(argv[2], atoi(argv[3]), atoi(argv[4]), meta, cw, ch);
	} else if (argc == 4 && !strcmp(argv[1], "stop")) {
		ret = check_stop(argv[2], atoi(argv[3]));
	} else {
		goto usage;
	}
	gst_deinit();
	return ret;
usage:
	fprintf(stderr, "usage: vz-vzerosrc-check frames SOCKET SERVER_PID COUNT [--no-meta] "
	                "[--expect-change WxH]\n"
	                "       vz-vzerosrc-check stop SOCKET MS\n");
	return 2;
}
