/* SPDX-License-Identifier: MIT */
/*
 * A GStreamer receiver of RFC 4175 raw video (udpsrc ! rtpvrawdepay !
 * fakesink) with the socket buffer a test gives it, that says which frames
 * reached it whole: a probe on rtpvrawdepay's sink pad reads every RTP
 * packet GStreamer got (extended sequence number, timestamp, marker).  A
 * frame is whole when none of its packets is missing, from the one after the
 * previous frame's marker to its own.  The first frame (maybe joined midway)
 * is not counted.  In C: a probe in Python costs more per packet under TCG
 * than the receive path it measures.
 *
 *   vz-gst-rx PORT BUFFER-SIZE CAPS OUT.json READY-FILE
 *
 * Runs until SIGTERM/SIGINT, then writes OUT.json: frames, frames_whole,
 * packets, packets_missing, frames_out (buffers rtpvrawdepay pushed).
 */
#include <glib-unix.h>
#include <gst/gst.h>
#include <gst/rtp/gstrtpbuffer.h>
#include <stdio.h>
#include <stdlib.h>

struct rx {
	guint64 frames, whole, packets, missing, out;
	gboolean have_next, started, in_frame, frame_ok;
	guint32 next, ts;
};

static GstPadProbeReturn on_packet(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	(void)pad;
	struct rx *r = data;
	GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
	if (!gst_rtp_buffer_map(GST_PAD_PROBE_INFO_BUFFER(info), GST_MAP_READ, &rtp))
		return GST_PAD_PROBE_OK;
	const guint8 *pl = gst_rtp_buffer_get_payload(&rtp);
	guint len = gst_rtp_buffer_get_payload_len(&rtp);
	/* RFC 4175's extended sequence number: the payload's first bytes. */
	guint32 seq = gst_rtp_buffer_get_seq(&rtp);
	if (len >= 2)
		seq |= (guint32)pl[0] << 24 | (guint32)pl[1] << 16;
	guint32 ts = gst_rtp_buffer_get_timestamp(&rtp);
	gboolean marker = gst_rtp_buffer_get_marker(&rtp);
	gst_rtp_buffer_unmap(&rtp);
	r->packets++;
	gboolean in_order = !r->have_next || seq == r->next;
	if (!in_order)
		r->missing += (guint32)(seq - r->next);
	r->next = seq + 1;
	r->have_next = TRUE;
	if (r->in_frame && ts != r->ts) {
		/* The last frame's marker never came (an overflowing socket
		 * loses a burst's tail): it ended incomplete. */
		r->frames += r->started;
		r->started = TRUE;
		r->in_frame = FALSE;
	}
	if (!r->in_frame) {
		/* A frame begins: whole so far only if nothing went missing
		 * since the last marker. */
		r->in_frame = TRUE;
		r->ts = ts;
		r->frame_ok = in_order && r->started;
	} else if (!in_order) {
		r->frame_ok = FALSE;
	}
	if (marker) {
		if (r->started) {
			r->frames++;
			r->whole += r->frame_ok;
		}
		r->started = TRUE;
		r->in_frame = FALSE;
	}
	return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn on_frame(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	(void)pad;
	(void)info;
	((struct rx *)data)->out++;
	return GST_PAD_PROBE_OK;
}

static gboolean on_signal(gpointer loop)
{
	g_main_loop_quit(loop);
	return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: vz-gst-rx PORT BUFFER-SIZE CAPS OUT.json READY-FILE\n");
		return 2;
	}
	gst_init(NULL, NULL);
	gchar *desc = g_strdup_printf("udpsrc address=127.0.0.1 port=%s buffer-size=%s caps=\"%s\" "
	                              "! rtpvrawdepay name=depay ! fakesink sync=false",
	                              argv[1], argv[2], argv[3]);
	GError *e = NULL;
	GstElement *pipe = gst_parse_launch(desc, &e);
	g_free(desc);
	if (!pipe) {
		fprintf(stderr, "vz-gst-rx: %s\n", e ? e->message : "no pipeline");
		return 1;
	}
	struct rx r = {0};
	GstElement *depay = gst_bin_get_by_name(GST_BIN(pipe), "depay");
	GstPad *sink = gst_element_get_static_pad(depay, "sink");
	GstPad *src = gst_element_get_static_pad(depay, "src");
	gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_BUFFER, on_packet, &r, NULL);
	gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, on_frame, &r, NULL);
	GMainLoop *loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGTERM, on_signal, loop);
	g_unix_signal_add(SIGINT, on_signal, loop);
	/* PAUSED binds udpsrc's socket and, the source being live, returns
	 * at once (PLAYING waits for a first buffer to preroll the sink). */
	if (gst_element_set_state(pipe, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE) {
		fprintf(stderr, "vz-gst-rx: the pipeline did not start (is port %s free?)\n",
		        argv[1]);
		return 1;
	}
	gst_element_set_state(pipe, GST_STATE_PLAYING);
	FILE *f = fopen(argv[5], "w");
	if (f)
		fclose(f);
	g_main_loop_run(loop);
	gst_element_set_state(pipe, GST_STATE_NULL);
	f = fopen(argv[4], "w");
	if (!f) {
		perror(argv[4]);
		return 1;
	}
	fprintf(f,
	        "{\"frames\": %" G_GUINT64_FORMAT ", \"frames_whole\": %" G_GUINT64_FORMAT
	        ", \"packets\": %" G_GUINT64_FORMAT ", \"packets_missing\": %" G_GUINT64_FORMAT
	        ", \"frames_out\": %" G_GUINT64_FORMAT "}\n",
	        r.frames, r.whole, r.packets, r.missing, r.out);
	fclose(f);
	printf("vz-gst-rx: %" G_GUINT64_FORMAT " frames, %" G_GUINT64_FORMAT
	       " whole, %" G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT
	       " missing, %" G_GUINT64_FORMAT " pushed by rtpvrawdepay\n",
	       r.frames, r.whole, r.packets, r.missing, r.out);
	gst_object_unref(sink);
	gst_object_unref(src);
	gst_object_unref(depay);
	gst_object_unref(pipe);
	g_main_loop_unref(loop);
	return 0;
}
