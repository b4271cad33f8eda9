/* SPDX-License-Identifier: MIT */
/*
 * Optional parts of vzero that pull in big libraries (the GStreamer sink,
 * the cairo plot) live in modules loaded only when asked for, so `vzero
 * devices` never maps GStreamer.  A module is found in, in order: the
 * directories of $VZ_MODULE_PATH (colon-separated), the build tree when the
 * running program is in it, and the installed module directory.
 */
#ifndef VZERO_MODULE_H
#define VZERO_MODULE_H

#include "errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The address of @symbol in module @name ("vzero-gst"), loading it on first
 * use (modules stay loaded).  NULL with @err saying where it looked and
 * what to install. */
void *vz_module_symbol(const char *name, const char *symbol, const char *needs, struct vz_err *err);

#ifdef __cplusplus
}
#endif
#endif
