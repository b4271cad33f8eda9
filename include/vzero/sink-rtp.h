/* SPDX-License-Identifier: MIT */
/*
 * The network sink: `--sink rtp://HOST:PORT[?OPTION=VALUE&...]` sends every
 * frame as RTP raw video (RFC 4175) from the frame's own pages.
 *
 *   HOST         IPv4 or IPv6 ([ADDR]), unicast or multicast, or a name
 *   mtu=         IP packet size, 576..9000 (default 1500; never above what
 *                the route takes, which is checked at start)
 *   ttl=         TTL / hop limit (multicast default 1)
 *   iface=       egress interface (multicast: IP_MULTICAST_IF; unicast:
 *                SO_BINDTODEVICE, which needs CAP_NET_RAW)
 *   pt=          payload type, 96..127 (default 96)
 *   ssrc=, seq=  fixed SSRC / first extended sequence number (default
 *                random, as RFC 3550 wants)
 *   zerocopy=    auto (default): MSG_ZEROCOPY, and plain sends once the
 *                kernel reported it copied the first sends anyway (loopback,
 *                veth: pinning pages to be copied costs more); on: always
 *                MSG_ZEROCOPY; off: plain sends
 *   gso=         auto (default): UDP GSO batches; off: one datagram each
 *   batch=N      at most N packets per send (default: what fits)
 *   sdp=FILE     write the session description at start (the CLI's --sdp)
 *   pace=        off (default): a frame leaves as fast as the path takes it;
 *                linear: its packets spread evenly over the frame interval
 *                (ST 2110-21 style); gapped: over the interval's active part
 *                (1080 of 1125 lines' time, 480/525, 720/750 ...), then a gap
 *   pacer=       auto (default): SO_TXTIME launch times where the egress
 *                device's qdisc is fq (the kernel keeps them), the sink's own
 *                timer elsewhere (fq_codel, pfifo, noqueue ignore launch
 *                times); txtime: refuse to start without fq; timer
 *   burst=N      packets leaving back to back at most (default 4 when paced;
 *                a GSO batch is one skb and leaves at its first packet's time).
 *                Where the sender is late (a timer that woke late) what is
 *                due leaves together: the report counts such late batches
 *   rtcp=        PORT (default: the RTP port + 1) or off: RTCP sender reports
 *                at the first frame, then each second while packets go out,
 *                and a BYE at the end; the SDP says a=rtcp:PORT
 *   clock=       realtime (default) or tai: the wall clock reports map to
 *   clock_offset=NS  added to it (e.g. PTP time minus CLOCK_REALTIME, read
 *                from phc2sys/phc_ctl)
 *
 * Formats: UYVY as YCbCr-4:2:2, RGB3/BGR3 as RGB/BGR, XR24/AR24 (B,G,R,X
 * memory) as BGRA and XB24/AB24 as RGBA: the padding byte travels as alpha.
 * YUYV-family, planar YCbCr and interlaced capture are refused with what
 * to capture instead.  GStreamer's rtpvrawdepay takes all of them; FFmpeg
 * (5.1) reads "BGRA"/"RGBA" as 3-byte BGR/RGB: send it UYVY, RGB3 or BGR3.
 * Multicast loops back to local receivers (IP_MULTICAST_LOOP), which the
 * kernel serves by copying: completions then say COPIED even on a NIC.
 *
 * Packets.  Extended sequence numbers (the 16-bit RTP field wraps every
 * ~22 frames at 1080p60), the marker bit on a frame's last packet, 90 kHz
 * timestamps from the capture time (CLOCK_MONOTONIC), a random offset.
 * Short lines share a packet (continuation bit), long lines span packets
 * in equal runs of pixel groups, so GSO batches cut into equal segments.
 *
 * Zero-copy.  Each packet is an iovec of a header and slices of the frame;
 * batches go out with MSG_ZEROCOPY + UDP_SEGMENT in sendmmsg.  A frame is
 * released once the kernel's completion notifications (the error queue,
 * read on the loop) cover every send that carried it.  ENOBUFS waits for
 * completions and retries, as it does when the qdisc drops a send
 * (IP_RECVERR makes UDP say so): no packet is lost to either.  What no
 * sender sees: fq_codel (the default qdisc) may drop a long burst's packets
 * at dequeue, after the send returned -- pacing is the cure for bursts.
 *
 * Pacing.  Each frame is spread over the interval after it arrived and
 * ends by then (a late frame gets a shorter span, never below a quarter),
 * so the sender never falls behind for good.  Under fq, launch times go to
 * the kernel at most 2 ms or 32 sends ahead: fq keeps 100 packets (skbs) of
 * a flow (flow_limit) and drops the rest, so a whole frame queued ahead
 * would not survive; a send dropped all the same is retried, and its
 * zero-copy id accounted for.  The final RTCP BYE leaves after the last
 * launch time.  The pacer is chosen by the route's device (an address of
 * this host leaves by lo).  The timer pacer sets the loop thread's timer
 * slack to 1 us.
 * The report's "timing" line names the pacer, the spread asked for and how
 * late the sender handed batches over; the spread on the wire only a
 * receiver sees: `vzero rtp-check`.
 *
 * Clocks.  RTP timestamps are the capture time (CLOCK_MONOTONIC, the
 * driver's) on the 90 kHz clock plus a random offset; RTCP sender reports
 * map them to the wall clock (NTP format) read at the same instant.  ST
 * 2110-10 wants PTP (TAI) timestamps from the PTP epoch: vzero's are not, so
 * its SDP says "ST 2110-style" and a=ts-refclk:local / a=mediaclk:sender
 * (RFC 7273), with exactframerate and, for ST 2110-20's samplings (UYVY,
 * RGB3), PM, SSN, TCS, TP=2110TPNL/2110TPN when paced and MAXUDP past 1460
 * bytes.  Colorimetry keeps RFC 4175's spelling (BT709-2), which GStreamer
 * and FFmpeg read.  Where a PTP clock exists, give
 * its offset to the system clock as clock_offset= and receivers align
 * streams on it through the reports.
 *
 * Honest accounting, by cause, as copy sites: completions flagged COPIED
 * (loopback, veth, a device without scatter-gather/checksum offload), and
 * the plain sends zerocopy=auto then makes on that device;
 * buffers that cannot be pinned (EFAULT: PFNMAP, dma-contig drivers) and
 * GSO refused (EIO), both then sent by plain sends, whose bytes the kernel
 * copies.  Per frame: packets, sends (batches), syscalls, notifications.
 */
#ifndef VZERO_SINK_RTP_H
#define VZERO_SINK_RTP_H

#include "errors.h"
#include "sink.h"

#ifdef __cplusplus
extern "C" {
#endif

/* @uri: "rtp://...".  Resolves and connects now, so an unknown host, no
 * route or a too large mtu= is said before capture starts. */
int vz_sink_rtp_create(const char *uri, struct vz_sink *out, struct vz_err *err);

#ifdef __cplusplus
}
#endif
#endif
