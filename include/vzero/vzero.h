/* SPDX-License-Identifier: MIT */
/* Everything a vzero user needs; see each header for its module's story. */
#ifndef VZERO_VZERO_H
#define VZERO_VZERO_H
#include "capture.h"
#include "clock.h"
#include "errors.h"
#include "format.h"
#include "loop.h"
#include "pipeline.h"
#include "process.h"
#include "report.h"
#include "stats.h"
#include "telemetry.h"
#endif
