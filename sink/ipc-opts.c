/* SPDX-License-Identifier: MIT */
/* The local sink's spec (ipc-internal.h): outside input, parsed alone. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc-internal.h"

static int parse_uint(const char *v, unsigned base, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(v, &end, base);
	if (!*v || *end || errno || x > max)
		return -EINVAL;
	*out = x;
	return 0;
}

static int parse_allow(struct vz_ipc_sink_spec *s, char *v, struct vz_err *err)
{
	for (char *save = NULL, *tok = strtok_r(v, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		unsigned long id;
		bool uid = !strncmp(tok, "uid:", 4), gid = !strncmp(tok, "gid:", 4);
		if ((!uid && !gid) || parse_uint(tok + 4, 10, 0xfffffffeul, &id) < 0)
			return vz_err_set(
			        err, -EINVAL,
			        "sink ipc: allow=%s: entries are uid:N or gid:N (numbers, "
			        "comma-separated), e.g. allow=uid:1000,gid:44",
			        tok);
		if ((uid ? s->nallow_uid : s->nallow_gid) >= VZ_IPC_MAX_ALLOW)
			return vz_err_set(err, -EINVAL,
			                  "sink ipc: allow= takes at most %d uids and %d gids",
			                  VZ_IPC_MAX_ALLOW, VZ_IPC_MAX_ALLOW);
		if (uid)
			s->allow_uid[s->nallow_uid++] = (uid_t)id;
		else
			s->allow_gid[s->nallow_gid++] = (gid_t)id;
	}
	return 0;
}

static int parse_options(struct vz_ipc_sink_spec *s, char *q, struct vz_err *err)
{
	for (char *save = NULL, *kv = strtok_r(q, "&", &save); kv;
	     kv = strtok_r(NULL, "&", &save)) {
		char *v = strchr(kv, '=');
		if (!v)
			return vz_err_set(err, -EINVAL,
			                  "sink ipc: option '%s' needs a value (KEY=VALUE)", kv);
		*v++ = '\0';
		unsigned long x;
		if (!strcmp(kv, "mode")) {
			if (parse_uint(v, 8, 0777, &x) < 0)
				return vz_err_set(
				        err, -EINVAL,
				        "sink ipc: mode=%s: an octal permission, e.g. 0660", v);
			s->mode = (mode_t)x;
		} else if (!strcmp(kv, "budget")) {
			if (parse_uint(v, 10, VZ_IPC_MAX_BUDGET, &x) < 0 || x == 0)
				return vz_err_set(err, -EINVAL,
				                  "sink ipc: budget=%s: 1..%d frames per client", v,
				                  VZ_IPC_MAX_BUDGET);
			s->budget = (unsigned)x;
		} else if (!strcmp(kv, "allow")) {
			int r = parse_allow(s, v, err);
			if (r < 0)
				return r;
		} else if (!strcmp(kv, "rw")) {
			if (strcmp(v, "allow"))
				return vz_err_set(err, -EINVAL,
				                  "sink ipc: rw=%s: the only value is rw=allow", v);
			s->rw_allowed = true;
		} else {
			return vz_err_set(
			        err, -EINVAL,
			        "sink ipc: unknown option '%s' (mode=, allow=, budget=, rw=allow)",
			        kv);
		}
	}
	return 0;
}

int vz_ipc_sink_parse_spec(const char *spec, struct vz_ipc_sink_spec *out, struct vz_err *err)
{
	memset(out, 0, sizeof(*out));
	out->mode = 0660;
	out->budget = 2;
	char *copy = strdup(spec ? spec : "");
	if (!copy)
		return vz_err_set(err, -ENOMEM, "sink ipc: out of memory");
	int r = 0;
	char *q = strchr(copy, '?');
	if (q)
		*q++ = '\0';
	if (!copy[0] || strlen(copy) >= sizeof(out->path))
		r = vz_err_set(err, -EINVAL,
		               "sink ipc: %s: ipc:PATH, a socket path of 1..%zu bytes, e.g. "
		               "ipc:/run/cam0.sock",
		               copy[0] ? "the path is too long" : "no path", sizeof(out->path) - 1);
	else
		snprintf(out->path, sizeof(out->path), "%s", copy);
	if (r == 0 && q)
		r = parse_options(out, q, err);
	free(copy);
	return r;
}
