/* SPDX-License-Identifier: MIT */
/*
 * What went wrong inside a GStreamer description, in words a person can act
 * on: which element refuses vzero's caps and what it takes instead, what an
 * ERROR message means in errno terms, which element is missing, and whether
 * a description records (writes a file or muxes).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gst-internal.h"

/* "a long\nstring" -> "a long string", cut to @max bytes with "...". */
void vz_gst_one_line(char *dst, size_t len, const char *src, size_t max)
{
	size_t n = 0;

	if (!len)
		return;
	if (max >= len)
		max = len - 1;
	for (; src && *src && n < max; src++)
		dst[n++] = (*src == '\n' || *src == '\r' || *src == '\t') ? ' ' : *src;
	if (src && *src && n >= 3)
		memcpy(dst + n - 3, "...", 3);
	dst[n] = 0;
}

/* GStreamer's debug strings start with "file.c(123): func (): /GstPipeline:
 * pipeline0/...:\n" -- only what follows the last ":\n" is news. */
const char *vz_gst_debug_tail(const char *debug)
{
	const char *p;

	if (!debug)
		return NULL;
	p = strstr(debug, ":\n");
	if (!p && strstr(debug, "(): /"))
		return NULL; /* just where it happened: the element is named already */
	while (p) {
		debug = p + 2;
		p = strstr(debug, ":\n");
	}
	return debug;
}

static GstPad *single_src_pad(GstElement *el)
{
	GstIterator *it = gst_element_iterate_src_pads(el);
	GValue v = G_VALUE_INIT;
	GstPad *pad = NULL;
	int n = 0;

	while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
		if (n++ == 0)
			pad = gst_object_ref(g_value_get_object(&v));
		g_value_reset(&v);
	}
	g_value_unset(&v);
	gst_iterator_free(it);
	if (n != 1 && pad) {
		gst_object_unref(pad);
		pad = NULL;
	}
	return pad;
}

/*
 * Which element refuses @caps: walk downstream from appsrc while each sink
 * pad's caps (which proxying elements compute from further downstream)
 * exclude ours; the deepest such element is where the constraint comes
 * from.  Fills @who and @accepts; false when everything intersects.
 */
bool vz_gst_find_refuser(GstElement *appsrc, GstCaps *caps, char *who, size_t wlen, char *accepts,
                         size_t alen)
{
	GstPad *pad = gst_element_get_static_pad(appsrc, "src");
	bool found = false;

	for (int depth = 0; pad && depth < 64; depth++) {
		GstPad *peer = gst_pad_get_peer(pad);
		GstElement *el;
		GstCaps *ok;

		gst_object_unref(pad);
		pad = NULL;
		if (!peer)
			break;
		ok = gst_pad_query_caps(peer, NULL);
		el = gst_pad_get_parent_element(peer);
		gst_object_unref(peer);
		if (!el) {
			gst_caps_unref(ok);
			break;
		}
		if (gst_caps_can_intersect(ok, caps)) {
			gst_caps_unref(ok);
			gst_object_unref(el);
			break;
		}
		gchar *s = gst_caps_to_string(ok);
		vz_gst_one_line(who, wlen, GST_ELEMENT_NAME(el), 63);
		vz_gst_one_line(accepts, alen, s, VZ_GST_CAPS_SHOWN);
		g_free(s);
		gst_caps_unref(ok);
		found = true;
		pad = single_src_pad(el);
		gst_object_unref(el);
	}
	if (pad)
		gst_object_unref(pad);
	return found;
}

int vz_gst_negotiation_error(struct gst_sink *s, const struct vz_format *f, struct vz_err *err)
{
	char who[64], accepts[VZ_GST_CAPS_SHOWN + 1], offer[VZ_GST_CAPS_SHOWN + 1];
	GstCaps *caps = vz_gst_caps_of(f);

	vz_gst_one_line(offer, sizeof(offer), s->caps_str, VZ_GST_CAPS_SHOWN);
	if (caps &&
	    vz_gst_find_refuser(s->appsrc, caps, who, sizeof(who), accepts, sizeof(accepts))) {
		gst_caps_unref(caps);
		return vz_err_set(err, -EPROTO,
		                  "gst: %s does not accept vzero's frames: it takes %s, vzero "
		                  "offers %s (put videoconvert before it, or capture another "
		                  "format with -f)",
		                  who, accepts, offer);
	}
	if (caps)
		gst_caps_unref(caps);
	return vz_err_set(err, -EPROTO,
	                  "gst: caps did not negotiate downstream of appsrc: vzero offers %s "
	                  "(put videoconvert after appsrc, or capture another format with -f)",
	                  offer);
}

int vz_gst_error_code(const GError *e, const char *debug)
{
	if (debug && strstr(debug, "not-negotiated"))
		return -EPROTO;
	if (e && e->domain == GST_RESOURCE_ERROR) {
		switch (e->code) {
		case GST_RESOURCE_ERROR_NOT_FOUND:
			return -ENOENT;
		case GST_RESOURCE_ERROR_NO_SPACE_LEFT:
			return -ENOSPC;
		case GST_RESOURCE_ERROR_BUSY:
			return -EBUSY;
		case GST_RESOURCE_ERROR_NOT_AUTHORIZED:
			return -EACCES;
		default:
			return -EIO;
		}
	}
	return -EPIPE;
}

int vz_gst_parse_error(const char *description, GError *e, struct vz_err *err)
{
	if (e && e->domain == GST_PARSE_ERROR && e->code == GST_PARSE_ERROR_NO_SUCH_ELEMENT)
		return vz_err_set(err, -ENOENT,
		                  "gst: %s in '%s' (is the plugin installed? gst-inspect-1.0 lists "
		                  "the elements this machine has)",
		                  e->message, description);
	return vz_err_set(err, -EINVAL, "gst: cannot parse '%s': %s", description,
	                  e ? e->message : "unknown error");
}

bool vz_gst_records(GstElement *pipeline)
{
	GstIterator *it = gst_bin_iterate_recurse(GST_BIN(pipeline));
	GValue v = G_VALUE_INIT;
	bool records = false;

	while (!records && gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
		GstElement *el = g_value_get_object(&v);
		GstElementFactory *f = gst_element_get_factory(el);
		const char *klass =
		        f ? gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS) : NULL;
		/* filesink and multifilesink are Sink/File; muxers say Muxer
		 * (Codec/Muxer, splitmuxsink's Generic/Bin/Muxer). */
		if (klass && (strstr(klass, "Muxer") || strstr(klass, "Sink/File")))
			records = true;
		g_value_reset(&v);
	}
	g_value_unset(&v);
	gst_iterator_free(it);
	return records;
}
