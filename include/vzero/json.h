/* SPDX-License-Identifier: MIT */
/*
 * JSON pieces every vzero command prints with, so all of its JSON is valid:
 * strings escaped (invalid UTF-8 from a driver becomes U+FFFD, NULL is
 * null), non-finite numbers and empty summaries are null.
 */
#ifndef VZERO_JSON_H
#define VZERO_JSON_H

#include <stddef.h>
#include <stdio.h>

#include "stats.h"

#ifdef __cplusplus
extern "C" {
#endif

void vz_json_str(FILE *out, const char *s);
void vz_json_num(FILE *out, double v);
/* {"n":..,"mean":..,"std":..,"min":..,"p50":..,"p95":..,"p99":..,"p99_9":..,"max":..} */
void vz_json_summary(FILE *out, const struct vz_summary *s);

/* Length of the valid UTF-8 sequence at @s, 0 if it is not one. */
size_t vz_utf8_len(const unsigned char *s);

#ifdef __cplusplus
}
#endif
#endif
