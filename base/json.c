/* SPDX-License-Identifier: MIT */
/* JSON output every vzero command and report shares; see json.h. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "json.h"

/* Length of the valid UTF-8 sequence at @s, 0 if it is not one. */
size_t vz_utf8_len(const unsigned char *s)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
	if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void vz_json_str(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned char ch = *p;
		if (ch == '"' || ch == '\\') {
			fputc('\\', f);
			fputc(ch, f);
			p++;
		} else if (ch == '\n') {
			fputs("\\n", f);
			p++;
		} else if (ch == '\t') {
			fputs("\\t", f);
			p++;
		} else if (ch < 0x20 || ch == 0x7f) {
			fprintf(f, "\\u%04x", ch);
			p++;
		} else {
			/* Device names come from drivers; a stray byte must not
			 * make the whole document unparsable. */
			size_t len = vz_utf8_len(p);
			if (len == 0) {
				fputs("\\ufffd", f);
				p++;
			} else {
				fwrite(p, 1, len, f);
				p += len;
			}
		}
	}
	fputc('"', f);
}

void vz_json_num(FILE *f, double v)
{
	if (!isfinite(v))
		fputs("null", f);
	else
		fprintf(f, "%.6f", v);
}

void vz_json_summary(FILE *f, const struct vz_summary *s)
{
	const double v[] = {s->mean, s->std, s->min, s->p50, s->p95, s->p99, s->p999, s->max};
	static const char *const k[] = {"mean", "std", "min", "p50", "p95", "p99", "p99_9", "max"};

	fprintf(f, "{\"n\":%" PRIu64, s->n);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		fprintf(f, ",\"%s\":", k[i]);
		/* An empty sample has no mean: null, not a misleading 0. */
		if (s->n == 0)
			fputs("null", f);
		else
			vz_json_num(f, v[i]);
	}
	fputc('}', f);
}
