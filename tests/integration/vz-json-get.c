/* vz-json-get FILE PATH: prints the scalar at PATH (["key"][0]["k2"]...) of
 * the JSON document in FILE the way Python's print() would, for lib.sh's
 * json_get.  A Python start costs ~0.6 s in the TCG guest and the suite
 * asks a few hundred times; this answers in milliseconds.
 *
 * Exit 0 printed; 3 "ask Python": the path, the value or its spelling is
 * one this tool does not reproduce exactly (an object or array, escaped
 * strings, exponents, a missing key...), so the caller falls back and a
 * real error keeps Python's message; 2 usage or unreadable file. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ASK_PYTHON = 3 };

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* Past the string starting at *p == '"'; NULL if unterminated. */
static const char *skip_string(const char *p)
{
	for (p++; *p; p++) {
		if (*p == '\\') {
			if (!*++p)
				return NULL;
		} else if (*p == '"') {
			return p + 1;
		}
	}
	return NULL;
}

/* Past one value (no validation beyond what finding its end needs). */
static const char *skip_value(const char *p)
{
	p = skip_ws(p);
	if (*p == '"')
		return skip_string(p);
	if (*p == '{' || *p == '[') {
		int depth = 0;
		while (*p) {
			if (*p == '"') {
				p = skip_string(p);
				if (!p)
					return NULL;
				continue;
			}
			if (*p == '{' || *p == '[')
				depth++;
			else if ((*p == '}' || *p == ']') && --depth == 0)
				return p + 1;
			p++;
		}
		return NULL;
	}
	while (*p && !strchr(",}] \t\n\r", *p))
		p++;
	return p;
}

/* The member KEY (len n, no escapes) of the object at p, or NULL; the
 * last of duplicates, as Python keeps. */
static const char *member(const char *p, const char *key, size_t n)
{
	const char *found = NULL;

	p = skip_ws(p);
	if (*p != '{')
		return NULL;
	p = skip_ws(p + 1);
	while (*p == '"') {
		const char *k = p + 1, *end = skip_string(p);
		if (!end)
			return NULL;
		bool hit =
		        (size_t)(end - 1 - k) == n && !memchr(k, '\\', n) && memcmp(k, key, n) == 0;
		p = skip_ws(end);
		if (*p != ':')
			return NULL;
		if (hit)
			found = skip_ws(p + 1);
		p = skip_value(p + 1);
		if (!p)
			return NULL;
		p = skip_ws(p);
		if (*p == '}')
			return found;
		if (*p != ',')
			return NULL;
		p = skip_ws(p + 1);
	}
	return NULL;
}

static const char *element(const char *p, long idx)
{
	p = skip_ws(p);
	if (*p != '[')
		return NULL;
	p = skip_ws(p + 1);
	for (long i = 0; *p && *p != ']'; i++) {
		if (i == idx)
			return p;
		p = skip_value(p);
		if (!p)
			return NULL;
		p = skip_ws(p);
		if (*p != ',')
			return NULL;
		p = skip_ws(p + 1);
	}
	return NULL;
}

/* A JSON number as Python prints it: integers as written; a plain
 * decimal fraction (no exponent, <= 15 significant digits, 1e-4 <= |x| <
 * 1e16, where repr() stays positional and exact) with its trailing zeros
 * cut to one.  Anything else: ask Python. */
static int print_number(const char *p, const char *end)
{
	size_t n = (size_t)(end - p);
	char buf[64];
	const char *dot;
	int sig = 0;
	bool lead = true;

	if (n == 0 || n >= sizeof(buf) || memchr(p, 'e', n) || memchr(p, 'E', n))
		return ASK_PYTHON;
	memcpy(buf, p, n);
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '-' && i == 0)
			continue;
		if (buf[i] == '.')
			continue;
		if (!isdigit((unsigned char)buf[i]))
			return ASK_PYTHON;
		if (buf[i] != '0')
			lead = false;
		if (!lead)
			sig++;
	}
	dot = strchr(buf, '.');
	if (!dot) {
		if (strcmp(buf, "-0") == 0)
			return puts("0") < 0 ? 2 : 0;
		return puts(buf) < 0 ? 2 : 0;
	}
	double v = strtod(buf, NULL);
	double a = v < 0 ? -v : v;
	if (sig > 15 || (a != 0 && a < 1e-4) || a >= 1e16 || dot[1] == '\0')
		return ASK_PYTHON;
	size_t last = n - 1;
	while (buf[last] == '0' && &buf[last - 1] != dot)
		last--;
	buf[last + 1] = '\0';
	if (a == 0)
		return puts(v < 0 || buf[0] == '-' ? "-0.0" : "0.0") < 0 ? 2 : 0;
	return puts(buf) < 0 ? 2 : 0;
}

static int print_scalar(const char *p)
{
	const char *end = skip_value(p);

	if (!end)
		return ASK_PYTHON;
	if (*p == '"') {
		/* escapes (and anything not plain ASCII) stay Python's */
		for (const char *c = p + 1; c < end - 1; c++)
			if (*c == '\\' || (unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
				return ASK_PYTHON;
		return printf("%.*s\n", (int)(end - p - 2), p + 1) < 0 ? 2 : 0;
	}
	if ((size_t)(end - p) == 4 && memcmp(p, "true", 4) == 0)
		return puts("True") < 0 ? 2 : 0;
	if ((size_t)(end - p) == 5 && memcmp(p, "false", 5) == 0)
		return puts("False") < 0 ? 2 : 0;
	if ((size_t)(end - p) == 4 && memcmp(p, "null", 4) == 0)
		return puts("None") < 0 ? 2 : 0;
	if (*p == '-' || isdigit((unsigned char)*p))
		return print_number(p, end);
	return ASK_PYTHON;
}

/* The whole file, NUL-terminated; NULL on error. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap += 65536;
		}
		size_t got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
			break;
	}
	bool err = ferror(f);
	fclose(f);
	if (err) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: vz-json-get FILE '[\"key\"][0]...'\n");
		return 2;
	}
	char *doc = slurp(argv[1]);
	if (!doc)
		return ASK_PYTHON; /* Python says why (no such file...) */
	const char *v = skip_ws(doc), *e = argv[2];
	int rc = ASK_PYTHON;

	while (v && *e == '[') {
		if (e[1] == '"') {
			const char *k = e + 2, *q = strchr(k, '"');
			if (!q || q[1] != ']' || memchr(k, '\\', (size_t)(q - k)))
				goto out;
			v = member(v, k, (size_t)(q - k));
			e = q + 2;
		} else {
			char *stop;
			long idx = strtol(e + 1, &stop, 10);
			if (stop == e + 1 || *stop != ']' || idx < 0 ||
			    !isdigit((unsigned char)e[1]))
				goto out;
			v = element(v, idx);
			e = stop + 1;
		}
	}
	if (v && *e == '\0' && e != argv[2])
		rc = print_scalar(v);
out:
	free(doc);
	return rc;
}
