/* SPDX-License-Identifier: MIT */
/*
 * The display sink: `--sink drm[:DEVICE][,OPTION=VALUE...]` puts every frame
 * on a screen through KMS (libdrm), by DMA-buf, never by copy.
 *
 *   DEVICE       /dev/dri/cardN or a driver name (vkms, virtio_gpu); default:
 *                the first card with a connected output
 *   connector=   a name (Virtual-1, HDMI-A-1) or an id; default: the first
 *                connected one (with writeback=: the writeback connector)
 *   plane=       primary, overlay or a plane id; default: the primary plane
 *                if a mode fits the frame unscaled (or the plane scales), else
 *                the first overlay that takes the format, over a background
 *   mode=WxH[@Hz]  default: the frame's own size, else the preferred mode
 *   x=, y=       where the frame sits on an overlay
 *   policy=      mailbox (default): a frame arriving while a flip is pending
 *                replaces the one waiting (counted as replaced); fifo: frames
 *                wait in order within the sink's budget
 *   legacy=1     SetCrtc + PageFlip instead of atomic KMS (used anyway where
 *                the driver has no atomic)
 *   buffers=     auto (default): import capture's DMA-bufs; where the device
 *                cannot (virtio-gpu) or TEST_ONLY refuses, provide the
 *                display's own dumb buffers for capture to write into (the
 *                pipeline negotiates again, once, before the first frame);
 *                import or alloc force one mode
 *   writeback=FILE  drive the CRTC with the writeback connector and write the
 *                last composed picture to FILE (PPM) at the end: to check a
 *                composition where nobody can look at a screen
 *
 * Layout is validated with DRM_MODE_ATOMIC_TEST_ONLY before the first frame.
 * A frame is released only when the next flip has completed (it is off
 * screen); the flip event's time (CLOCK_MONOTONIC) is reported per frame as
 * its "shown" time.  The configuration that was on screen before is put back
 * when the sink stops (SIGINT and SIGTERM stop it).  Framebuffers are cached
 * per buffer of each buffer set and freed with it.
 */
#ifndef VZERO_SINK_DRM_H
#define VZERO_SINK_DRM_H

#include "errors.h"
#include "sink.h"

#ifdef __cplusplus
extern "C" {
#endif

/* @spec: what follows "drm" ("", ":vkms,plane=overlay").  Opens the device
 * now, so "no display", "permission denied" and "a compositor holds it" are
 * said before capture starts. */
int vz_sink_drm_create(const char *spec, struct vz_sink *out, struct vz_err *err);

#ifdef __cplusplus
}
#endif
#endif
