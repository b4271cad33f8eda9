/* SPDX-License-Identifier: MIT */
/*
 * The RTP sink: RFC 4175 packets sent from the frame's own pages with
 * MSG_ZEROCOPY and UDP GSO; see include/vzero/sink-rtp.h.
 *
 * Frame lifetime.  A zero-copy send only lends the pages to the kernel: the
 * frame goes back to the pipeline when the error queue's completion
 * notifications cover every send that carried it.  Each successful
 * zero-copy sendmsg takes the socket's next 32-bit id; a notification
 * names a range of them (ranges coalesce), so each job (a frame being
 * sent) remembers how many of its ids are still out.
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/errqueue.h>
#include <linux/net_tstamp.h>

#include "clock.h"
#include "rtp-internal.h"
#include "sink-rtp.h"

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif
#ifndef SO_EE_ORIGIN_ZEROCOPY
#define SO_EE_ORIGIN_ZEROCOPY 5
#endif
#ifndef SO_EE_CODE_ZEROCOPY_COPIED
#define SO_EE_CODE_ZEROCOPY_COPIED 1
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SO_TXTIME
#define SO_TXTIME 61
#endif
#ifndef SCM_TXTIME
#define SCM_TXTIME SO_TXTIME
#endif

#define MAX_JOBS      VZ_MAX_BUFFERS
#define MMSG          16    /* messages per sendmmsg */
#define GSO_MAX_SEGS  64    /* UDP_MAX_SEGMENTS */
#define GSO_MAX_BYTES 65000 /* a GSO datagram's payload stays under 64 KiB */
#define ZC_RING       32768 /* ids in flight at most (bytes per id) */
#define MAX_SKB_FRAGS 17    /* a zero-copy skb's page fragments (6.1) */
#define IOV_PER_MSG   (GSO_MAX_SEGS * 3)
/* Sends the kernel copied anyway before zerocopy=auto stops asking: the
 * kernel's own advice (msg_zerocopy.rst), since pinning pages and reading
 * notifications only to be copied costs more than a plain send. */
#define ZC_GIVE_UP 32
/* Paced.  Batches of 4 unless burst= says otherwise (ST 2110-21's narrow
 * senders allow a few packets back to back).  Launch times go to fq at most
 * 2 ms or 32 batches ahead: fq keeps 100 packets of a flow (flow_limit) and
 * drops the rest, so a whole frame queued ahead would not survive. */
#define PACE_BURST     4
#define TXTIME_LEAD_NS 2000000
#define TXTIME_AHEAD   32
#define LATE_NS        100000 /* a batch sent this much after its time is late */
#define RTCP_EVERY_NS  1000000000

enum cause { C_KERNEL, C_PIN, C_GSO, C_OFF, C_NCAUSES };

/* The stream's packet plan, shared by the jobs that were planned with it:
 * frames of an old format may still be in flight after a change. */
struct plan_box {
	struct vz_rtp_plan p;
	unsigned users;
	bool current;
};

struct job {
	struct vz_frame *f;
	struct plan_box *plan;
	const uint8_t *pic; /* first byte of the picture */
	uint8_t *hdr;       /* npkts * max_hdr bytes: lent to the kernel too */
	size_t hdr_cap;
	unsigned next; /* next packet to send */
	uint32_t zc_first, zc_end;
	unsigned zc_open; /* sends not yet completed */
	bool used, sent, have_zc;
	struct vz_rtp_pace pace;
};

struct rtp_sink {
	struct vz_rtp_opts o;
	struct vz_sink_port *port;
	struct vz_loop_source *watch, *retry, *rtcp_timer;
	int fd, rtcp_fd;
	bool ipv6, multicast;
	char dest[300]; /* as reports show it */
	struct sockaddr_storage to;
	socklen_t to_len;
	char local[64]; /* our address, for the SDP's o= */
	char dev[IF_NAMESIZE];
	unsigned path_mtu;
	long page;
	struct plan_box *plan;
	struct vz_format fmt;
	uint32_t seq, ts_offset;
	struct job job[MAX_JOBS];
	struct job *fifo[MAX_JOBS]; /* not yet fully sent, in push order */
	unsigned fifo_head, nfifo;
	unsigned busy; /* jobs used */
	/* What the path takes, learnt as it goes. */
	bool zc_ok, gso_ok;
	unsigned frag_limit;
	uint32_t zc_next; /* the socket's next zero-copy id */
	uint64_t copied_ids;
	bool seen_uncopied, zc_given_up;
	unsigned zc_open;
	uint32_t zc_bytes[ZC_RING];
	bool waiting_out, waiting_err, waiting_pace, stopping, stopped_told, failed;
	/* Pacing: the kernel keeps launch times (SO_TXTIME under fq) or the
	 * retry timer does. */
	bool txtime, slack_set;
	char qdisc[40];
	unsigned burst;
	int64_t pace_end, last_push, measured_ns, last_launch;
	uint64_t frames_paced, batches_paced, late_batches;
	int64_t span_sum, late_max, late_sum;
	/* RTCP. */
	struct sockaddr_storage rtcp_to;
	unsigned rtcp_port;
	char cname[80];
	uint64_t octets, rtcp_sent, rtcp_errors, sr_packets;
	/* Inside pump() or drain(): a release they cause may push a frame
	 * (a waiting one), which must only queue, not send from in there. */
	bool inside;
	/* Scratch for one sendmmsg, reused. */
	struct mmsghdr mm[MMSG];
	struct iovec iov[MMSG][IOV_PER_MSG];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(uint64_t))];
		struct cmsghdr align;
	} ctl[MMSG];
	/* Accounting. */
	uint64_t packets, sends, syscalls, notifications, copied_notes;
	uint64_t enobufs, eagain, refused, send_errors, frames_cut, zc_dropped;
	uint64_t copied[C_NCAUSES], copy_events[C_NCAUSES];
	char cause_why[C_NCAUSES][96];
	char last_error[128];
	char sdp_note[300];
	unsigned format_changes;
};

static void pump(struct rtp_sink *s);

/* ---- the socket ---- */

static void egress_device(struct rtp_sink *s)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	snprintf(s->dev, sizeof(s->dev), "%.15s", s->o.iface[0] ? s->o.iface : "?");
	if (getsockname(s->fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	char host[64] = "";
	getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), NULL, 0, NI_NUMERICHOST);
	/* SDP has no zone: a link-local source goes in without its %iface. */
	snprintf(s->local, sizeof(s->local), "%.*s", (int)strcspn(host, "%"), host);
	if (s->o.iface[0])
		return;
	/* The route says which device carries the packets (to an address of
	 * this host: lo, whichever device holds it); without netlink, the
	 * device holding our source address. */
	unsigned oif = 0;
	if (vz_rtp_route_dev((const struct sockaddr *)&s->to, &oif) == 0 &&
	    if_indextoname(oif, s->dev))
		return;
	struct ifaddrs *ifa = NULL;
	if (getifaddrs(&ifa) < 0)
		return;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != ss.ss_family)
			continue;
		char h[64] = "";
		socklen_t al = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
		                                        : sizeof(struct sockaddr_in);
		if (getnameinfo(i->ifa_addr, al, h, sizeof(h), NULL, 0, NI_NUMERICHOST) == 0 &&
		    !strcmp(h, host)) {
			snprintf(s->dev, sizeof(s->dev), "%s", i->ifa_name);
			break;
		}
	}
	freeifaddrs(ifa);
}

static int sockopt(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v)) < 0 ? -errno : 0;
}

static int open_socket(struct rtp_sink *s, struct vz_err *err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV}, *ai = NULL;
	char port[8];
	snprintf(port, sizeof(port), "%u", s->o.port);
	int r = getaddrinfo(s->o.host, port, &hints, &ai);
	if (r)
		return vz_err_set(err, r == EAI_NONAME || r == EAI_NODATA ? -ENOENT : -EAGAIN,
		                  "rtp sink: cannot resolve '%s': %s", s->o.host, gai_strerror(r));
	s->ipv6 = ai->ai_family == AF_INET6;
	if (s->ipv6) {
		const struct sockaddr_in6 *a = (const void *)ai->ai_addr;
		s->multicast = IN6_IS_ADDR_MULTICAST(&a->sin6_addr);
		snprintf(s->dest, sizeof(s->dest), "[%s]:%u", s->o.host, s->o.port);
	} else {
		const struct sockaddr_in *a = (const void *)ai->ai_addr;
		s->multicast = IN_MULTICAST(ntohl(a->sin_addr.s_addr));
		snprintf(s->dest, sizeof(s->dest), "%s:%u", s->o.host, s->o.port);
	}
	s->fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		r = -errno;
		freeaddrinfo(ai);
		return vz_err_set(err, r, "rtp sink: socket: %s", strerror(-r));
	}
	unsigned ifindex = 0;
	if (s->o.iface[0]) {
		ifindex = if_nametoindex(s->o.iface);
		if (!ifindex) {
			freeaddrinfo(ai);
			return vz_err_set(err, -ENODEV,
			                  "rtp sink: iface=%s: no such network interface (see `ip "
			                  "link`)",
			                  s->o.iface);
		}
	}
	/* A frame's worth of packets queued at once (1080p is 6 MB). */
	int sndbuf = 8 << 20;
	if (sockopt(s->fd, SOL_SOCKET, SO_SNDBUFFORCE, sndbuf) < 0)
		sockopt(s->fd, SOL_SOCKET, SO_SNDBUF, sndbuf);
	int lvl = s->ipv6 ? IPPROTO_IPV6 : IPPROTO_IP;
	if (s->multicast) {
		int hops = s->o.ttl >= 0 ? s->o.ttl : 1;
		r = sockopt(s->fd, lvl, s->ipv6 ? IPV6_MULTICAST_HOPS : IP_MULTICAST_TTL, hops);
		if (!r && ifindex) {
			if (s->ipv6) {
				r = sockopt(s->fd, lvl, IPV6_MULTICAST_IF, (int)ifindex);
			} else {
				struct ip_mreqn m = {.imr_ifindex = (int)ifindex};
				r = setsockopt(s->fd, lvl, IP_MULTICAST_IF, &m, sizeof(m)) < 0
				            ? -errno
				            : 0;
			}
		}
	} else {
		if (s->o.ttl >= 0)
			r = sockopt(s->fd, lvl, s->ipv6 ? IPV6_UNICAST_HOPS : IP_TTL, s->o.ttl);
		if (!r && ifindex &&
		    setsockopt(s->fd, SOL_SOCKET, SO_BINDTODEVICE, s->o.iface,
		               (socklen_t)strlen(s->o.iface)) < 0) {
			r = -errno;
			freeaddrinfo(ai);
			return vz_err_set(err, r,
			                  "rtp sink: iface=%s for a unicast destination needs "
			                  "SO_BINDTODEVICE: %s%s",
			                  s->o.iface, strerror(-r),
			                  r == -EPERM
			                          ? " (it needs CAP_NET_RAW: run as root, or leave "
			                            "iface= out and let the route choose)"
			                          : "");
		}
	}
	if (r < 0) {
		freeaddrinfo(ai);
		return vz_err_set(err, r, "rtp sink: setting TTL/multicast options for %s: %s",
		                  s->dest, strerror(-r));
	}
	if (connect(s->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		r = -errno;
		freeaddrinfo(ai);
		return vz_err_set(err, r, "rtp sink: no way to %s: %s%s", s->dest, strerror(-r),
		                  r == -ENETUNREACH ? " (no route: check `ip route`)" : "");
	}
	memcpy(&s->to, ai->ai_addr, ai->ai_addrlen);
	s->to_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	int mtu = 0;
	socklen_t ml = sizeof(mtu);
	if (getsockopt(s->fd, lvl, s->ipv6 ? IPV6_MTU : IP_MTU, &mtu, &ml) == 0 && mtu > 0)
		s->path_mtu = (unsigned)mtu;
	egress_device(s);
	/* Connected only to learn the route: a connected UDP socket turns every
	 * ICMP port-unreachable into an error on a later send (on loopback,
	 * where ICMP is not rate-limited, nearly every sendmmsg would stop
	 * short), and a receiver that is not listening yet is no fault of the
	 * sender's.  Messages name their destination instead. */
	struct sockaddr unspec = {.sa_family = AF_UNSPEC};
	connect(s->fd, &unspec, sizeof(unspec));
	/* Disconnecting drops SO_BINDTODEVICE: bind again. */
	if (s->o.iface[0] && !s->multicast &&
	    setsockopt(s->fd, SOL_SOCKET, SO_BINDTODEVICE, s->o.iface,
	               (socklen_t)strlen(s->o.iface)) < 0)
		return vz_err_set(err, -errno, "rtp sink: iface=%s: SO_BINDTODEVICE: %s",
		                  s->o.iface, strerror(errno));
	/* Errors to the error queue: without it a packet the qdisc dropped is
	 * reported as sent (UDP hides its ENOBUFS), and we retry on ENOBUFS.
	 * ICMP errors come there too, counted as the network's. */
	sockopt(s->fd, lvl, s->ipv6 ? IPV6_RECVERR : IP_RECVERR, 1);
	if (s->path_mtu && s->o.mtu > s->path_mtu)
		return vz_err_set(err, -EMSGSIZE,
		                  "rtp sink: mtu=%u is larger than the path to %s takes (%u, "
		                  "device %s): use mtu=%u or raise the device's MTU",
		                  s->o.mtu, s->dest, s->path_mtu, s->dev, s->path_mtu);
	s->zc_ok = s->o.zerocopy;
	if (s->zc_ok && sockopt(s->fd, SOL_SOCKET, SO_ZEROCOPY, 1) < 0) {
		s->zc_ok = false;
		snprintf(s->cause_why[C_OFF], sizeof(s->cause_why[C_OFF]),
		         "no SO_ZEROCOPY (%.40s): plain sends, the kernel copies", strerror(errno));
	} else if (!s->zc_ok) {
		snprintf(s->cause_why[C_OFF], sizeof(s->cause_why[C_OFF]),
		         "zerocopy=off: plain sends, the kernel copies");
	}
	s->gso_ok = s->o.gso;
	return 0;
}

/* The sender reports' socket: to the same host, with the same TTL and
 * interface as the RTP socket (whose setting of them already succeeded). */
static int open_rtcp(struct rtp_sink *s, struct vz_err *err)
{
	if (s->o.rtcp_port < 0)
		return 0;
	if (!s->o.rtcp_port && s->o.port == 65535)
		return vz_err_set(err, -EINVAL,
		                  "rtp sink: RTCP goes to the RTP port + 1, and 65535 has none: "
		                  "give rtcp=PORT or rtcp=off");
	s->rtcp_port = s->o.rtcp_port ? (unsigned)s->o.rtcp_port : s->o.port + 1u;
	s->rtcp_to = s->to;
	if (s->ipv6)
		((struct sockaddr_in6 *)&s->rtcp_to)->sin6_port = htons((uint16_t)s->rtcp_port);
	else
		((struct sockaddr_in *)&s->rtcp_to)->sin_port = htons((uint16_t)s->rtcp_port);
	s->rtcp_fd = socket(s->to.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->rtcp_fd < 0)
		return vz_err_set(err, -errno, "rtp sink: RTCP socket: %s", strerror(errno));
	int lvl = s->ipv6 ? IPPROTO_IPV6 : IPPROTO_IP;
	if (s->multicast) {
		sockopt(s->rtcp_fd, lvl, s->ipv6 ? IPV6_MULTICAST_HOPS : IP_MULTICAST_TTL,
		        s->o.ttl >= 0 ? s->o.ttl : 1);
		unsigned ifindex = s->o.iface[0] ? if_nametoindex(s->o.iface) : 0;
		if (ifindex && s->ipv6) {
			sockopt(s->rtcp_fd, lvl, IPV6_MULTICAST_IF, (int)ifindex);
		} else if (ifindex) {
			struct ip_mreqn m = {.imr_ifindex = (int)ifindex};
			setsockopt(s->rtcp_fd, lvl, IP_MULTICAST_IF, &m, sizeof(m));
		}
	} else {
		if (s->o.ttl >= 0)
			sockopt(s->rtcp_fd, lvl, s->ipv6 ? IPV6_UNICAST_HOPS : IP_TTL, s->o.ttl);
		if (s->o.iface[0])
			setsockopt(s->rtcp_fd, SOL_SOCKET, SO_BINDTODEVICE, s->o.iface,
			           (socklen_t)strlen(s->o.iface));
	}
	snprintf(s->cname, sizeof(s->cname), "vzero@%.72s", s->local[0] ? s->local : s->o.host);
	/* The BYE goes after the last packets, which fq may still hold. */
	struct sock_txtime st = {.clockid = CLOCK_MONOTONIC};
	if (s->txtime)
		setsockopt(s->rtcp_fd, SOL_SOCKET, SO_TXTIME, &st, sizeof(st));
	return 0;
}

/* Who keeps the launch times: fq, when it is the egress device's qdisc,
 * or the sink's own timer. */
static int choose_pacer(struct rtp_sink *s, struct vz_err *err)
{
	if (s->o.pace == VZ_RTP_PACE_OFF) {
		s->burst = s->o.burst;
		return 0;
	}
	s->burst = s->o.burst ? s->o.burst : PACE_BURST;
	bool fq = false;
	unsigned ifindex = if_nametoindex(s->dev);
	int r = ifindex ? vz_rtp_qdisc(ifindex, s->qdisc, sizeof(s->qdisc), &fq) : -ENODEV;
	if (r < 0)
		snprintf(s->qdisc, sizeof(s->qdisc), "unknown: %.24s", strerror(-r));
	if (s->o.pacer == VZ_RTP_PACER_TIMER || (s->o.pacer == VZ_RTP_PACER_AUTO && !fq))
		return 0;
	if (!fq)
		return vz_err_set(err, -EOPNOTSUPP,
		                  "rtp sink: pacer=txtime needs the fq qdisc on %s, which has %s "
		                  "(fq_codel, pfifo and noqueue ignore launch times): `tc qdisc "
		                  "replace dev %s root fq`, or pacer=timer",
		                  s->dev, s->qdisc, s->dev);
	struct sock_txtime st = {.clockid = CLOCK_MONOTONIC};
	if (setsockopt(s->fd, SOL_SOCKET, SO_TXTIME, &st, sizeof(st)) < 0) {
		r = -errno;
		if (s->o.pacer == VZ_RTP_PACER_TXTIME)
			return vz_err_set(err, r,
			                  "rtp sink: pacer=txtime: SO_TXTIME: %s; pacer=timer "
			                  "paces without it",
			                  strerror(-r));
		return 0;
	}
	s->txtime = true;
	return 0;
}

/* The wall clock (CLOCK_REALTIME or CLOCK_TAI, plus the user's offset) at
 * CLOCK_MONOTONIC time *@mono, read as close together as the calls go. */
static int64_t wall_now(const struct rtp_sink *s, int64_t *mono)
{
	clockid_t c = s->o.clock == VZ_RTP_CLOCK_TAI ? CLOCK_TAI : CLOCK_REALTIME;
	struct timespec a, b;
	clock_gettime(c, &a);
	*mono = vz_now_ns();
	clock_gettime(c, &b);
	int64_t wa = (int64_t)a.tv_sec * VZ_NSEC_PER_SEC + a.tv_nsec;
	int64_t wb = (int64_t)b.tv_sec * VZ_NSEC_PER_SEC + b.tv_nsec;
	return wa + (wb - wa) / 2 + s->o.clock_offset_ns;
}

/* A sender report: the wall clock and the RTP clock of the same instant,
 * from the same CLOCK_MONOTONIC reading the frames' timestamps come from. */
static void send_sr(struct rtp_sink *s, bool bye)
{
	/* RFC 3550: reports from a sender that sent something since. */
	if (s->rtcp_fd < 0 || (!bye && s->rtcp_sent && s->packets == s->sr_packets))
		return;
	int64_t mono;
	int64_t wall = wall_now(s, &mono);
	uint8_t pkt[400];
	int n = vz_rtcp_sr(pkt, sizeof(pkt), s->o.ssrc, vz_rtp_ntp(wall),
	                   vz_rtp_ts90k(mono, s->ts_offset), (uint32_t)s->packets,
	                   (uint32_t)s->octets, s->cname, bye);
	struct iovec iov = {pkt, n > 0 ? (size_t)n : 0};
	union {
		char buf[CMSG_SPACE(sizeof(uint64_t))];
		struct cmsghdr align;
	} c = {0};
	struct msghdr m = {.msg_name = &s->rtcp_to,
	                   .msg_namelen = s->ipv6 ? sizeof(struct sockaddr_in6)
	                                          : sizeof(struct sockaddr_in),
	                   .msg_iov = &iov,
	                   .msg_iovlen = 1};
	if (bye && s->txtime) {
		uint64_t t = (uint64_t)(s->last_launch > mono ? s->last_launch + 1000 : mono);
		m.msg_control = c.buf;
		m.msg_controllen = sizeof(c.buf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_TXTIME;
		cm->cmsg_len = CMSG_LEN(sizeof(t));
		memcpy(CMSG_DATA(cm), &t, sizeof(t));
	}
	if (n > 0 && sendmsg(s->rtcp_fd, &m, 0) == n)
		s->rtcp_sent++;
	else
		s->rtcp_errors++;
	s->sr_packets = s->packets;
}

static void on_rtcp(void *data, uint64_t n)
{
	(void)n;
	struct rtp_sink *s = data;
	if (!s->stopped_told)
		send_sr(s, false);
}

/* ---- jobs ---- */

static void plan_put(struct plan_box *b)
{
	if (b && !--b->users && !b->current) {
		vz_rtp_plan_free(&b->p);
		free(b);
	}
}

static void job_finish(struct rtp_sink *s, struct job *j)
{
	struct vz_frame *f = j->f;
	vz_buffer_cpu_end((struct vz_buffer_set *)f->set, f->buf->index, false);
	plan_put(j->plan);
	j->f = NULL;
	j->plan = NULL;
	j->used = false;
	s->busy--;
	vz_port_release(s->port, f);
	if (s->stopping && !s->busy && !s->stopped_told) {
		s->stopped_told = true;
		send_sr(s, true);
		vz_port_stopped(s->port);
	}
}

static void fifo_pop(struct rtp_sink *s)
{
	s->fifo_head = (s->fifo_head + 1) % MAX_JOBS;
	s->nfifo--;
}

/* The job at the head of the line has no packet left to send. */
static void job_sent(struct rtp_sink *s, struct job *j)
{
	j->sent = true;
	fifo_pop(s);
	if (!j->zc_open)
		job_finish(s, j);
}

/* The head job's remaining packets will not go out: counted, and the frame
 * given back once the kernel returned what it already has. */
static void job_cut(struct rtp_sink *s, struct job *j)
{
	j->next = j->plan->p.npkts;
	s->frames_cut++;
	job_sent(s, j);
}

/* ---- completions ---- */

/* False for an id no send of ours holds: one the kernel took for a send
 * it then dropped (a qdisc drop comes back as ENOBUFS, which we retry, but
 * its skb had its id and completes it).  Our count moves past it, or every
 * later id would be one off and frames released a send early. */
static bool complete_id(struct rtp_sink *s, uint32_t id, bool copied)
{
	for (unsigned i = 0; i < MAX_JOBS; i++) {
		struct job *j = &s->job[i];
		if (!j->used || !j->have_zc ||
		    (uint32_t)(id - j->zc_first) >= (uint32_t)(j->zc_end - j->zc_first))
			continue;
		if (copied) {
			s->copied[C_KERNEL] += s->zc_bytes[id % ZC_RING];
			s->copy_events[C_KERNEL]++;
		}
		j->zc_open--;
		s->zc_open--;
		if (!j->zc_open && j->sent)
			job_finish(s, j);
		return true;
	}
	if ((int32_t)(id - s->zc_next) >= 0) {
		s->zc_next = id + 1;
		s->zc_dropped++;
	}
	return false;
}

/* Reads every notification queued; returns how many of our sends they
 * completed. */
static unsigned drain_inside(struct rtp_sink *s)
{
	unsigned done = 0;
	for (;;) {
		union {
			char buf[CMSG_SPACE(sizeof(struct sock_extended_err) +
			                    sizeof(struct sockaddr_in6))];
			struct cmsghdr align;
		} c;
		struct msghdr m = {.msg_control = c.buf, .msg_controllen = sizeof(c.buf)};
		if (recvmsg(s->fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
			if (!((cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
			      (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR)))
				continue;
			struct sock_extended_err e;
			memcpy(&e, CMSG_DATA(cm), sizeof(e));
			if (e.ee_origin != SO_EE_ORIGIN_ZEROCOPY || e.ee_errno) {
				s->send_errors++;
				snprintf(s->last_error, sizeof(s->last_error),
				         "%s (from the network)", strerror((int)e.ee_errno));
				continue;
			}
			s->notifications++;
			bool copied = e.ee_code & SO_EE_CODE_ZEROCOPY_COPIED;
			if (copied)
				s->copied_notes++;
			else
				s->seen_uncopied = true;
			for (uint32_t id = e.ee_info;; id++) {
				done += complete_id(s, id, copied);
				s->copied_ids += copied;
				if (id == e.ee_data)
					break;
			}
			if (s->o.zerocopy == 1 && s->zc_ok && !s->seen_uncopied &&
			    s->copied_ids >= ZC_GIVE_UP) {
				s->zc_ok = false;
				s->zc_given_up = true;
			}
		}
	}
	return done;
}

static unsigned drain(struct rtp_sink *s)
{
	if (s->inside)
		return 0;
	s->inside = true;
	unsigned n = drain_inside(s);
	s->inside = false;
	return n;
}

static void on_socket(void *data, int fd, uint32_t events)
{
	(void)fd;
	struct rtp_sink *s = data;
	if (events & EPOLLERR)
		drain(s);
	if (s->waiting_out && (events & EPOLLOUT)) {
		s->waiting_out = false;
		vz_loop_mod_fd(vz_port_loop(s->port), s->watch, EPOLLERR);
	}
	s->waiting_err = false;
	pump(s);
}

static void on_retry(void *data, uint64_t n)
{
	(void)n;
	struct rtp_sink *s = data;
	drain(s);
	if (s->waiting_out) {
		s->waiting_out = false;
		vz_loop_mod_fd(vz_port_loop(s->port), s->watch, EPOLLERR);
	}
	s->waiting_err = false;
	s->waiting_pace = false;
	pump(s);
}

/* ---- sending ---- */

/* One message's worth of packets from job @j, from packet @first: a GSO
 * batch of equal segments (the last may be shorter), within the fragment
 * limit of a zero-copy send.  Returns the packets it took. */
static unsigned build_msg(struct rtp_sink *s, struct job *j, bool zc, unsigned first, unsigned slot,
                          int64_t launch, uint32_t *bytes, unsigned *frags_first)
{
	const struct vz_rtp_plan *p = &j->plan->p;
	struct iovec *iov = s->iov[slot];
	unsigned niov = 0, n = 0, frags = 0, total = 0;
	unsigned most = s->gso_ok ? GSO_MAX_SEGS : 1;
	if (s->o.batch && s->o.batch < most)
		most = s->o.batch;
	if (s->burst && s->burst < most)
		most = s->burst;
	uint16_t seg = p->pkt[first].size;
	*bytes = 0;
	for (unsigned i = first; i < p->npkts && n < most; i++) {
		const struct vz_rtp_pkt *pk = &p->pkt[i];
		if (pk->size > seg || total + pk->size > GSO_MAX_BYTES ||
		    niov + 1 + pk->nseg > IOV_PER_MSG)
			break;
		unsigned start = niov;
		iov[niov++] = (struct iovec){j->hdr + (size_t)i * p->max_hdr, pk->hdr_size};
		uint32_t data = 0;
		for (unsigned k = 0; k < pk->nseg; k++) {
			const struct vz_rtp_seg *sg = &p->seg[pk->first_seg + k];
			const uint8_t *a = j->pic + sg->src;
			struct iovec *last = &iov[niov - 1];
			if (k && (const uint8_t *)last->iov_base + last->iov_len == a)
				last->iov_len += sg->len; /* lines adjacent in memory */
			else
				iov[niov++] = (struct iovec){(void *)a, sg->len};
			data += sg->len;
		}
		if (zc) {
			unsigned add = vz_rtp_frags(&iov[start], niov - start, (unsigned)s->page);
			/* Adjacent to the previous packet's last run: the kernel
			 * cannot merge across the header in between anyway. */
			if (frags + add > s->frag_limit) {
				niov = start;
				if (!n)
					*frags_first = add;
				break;
			}
			frags += add;
		}
		total += pk->size;
		*bytes += data;
		n++;
		if (pk->size < seg)
			break; /* a shorter segment ends a GSO batch */
	}
	struct msghdr *m = &s->mm[slot].msg_hdr;
	memset(m, 0, sizeof(*m));
	m->msg_name = &s->to;
	m->msg_namelen = s->to_len;
	m->msg_iov = iov;
	m->msg_iovlen = niov;
	size_t cl = (n > 1 ? CMSG_SPACE(sizeof(uint16_t)) : 0) +
	            (s->txtime ? CMSG_SPACE(sizeof(uint64_t)) : 0);
	if (cl) {
		memset(s->ctl[slot].buf, 0, sizeof(s->ctl[slot].buf));
		m->msg_control = s->ctl[slot].buf;
		m->msg_controllen = cl;
		struct cmsghdr *cm = CMSG_FIRSTHDR(m);
		if (n > 1) {
			cm->cmsg_level = SOL_UDP;
			cm->cmsg_type = UDP_SEGMENT;
			cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
			cm = CMSG_NXTHDR(m, cm);
		}
		if (s->txtime) {
			/* A GSO batch is one skb: its segments leave together at
			 * the first one's time, which is what burst= allows. */
			uint64_t t = (uint64_t)launch;
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_TXTIME;
			cm->cmsg_len = CMSG_LEN(sizeof(uint64_t));
			memcpy(CMSG_DATA(cm), &t, sizeof(t));
		}
	}
	return n;
}

static enum cause fallback_cause(const struct rtp_sink *s)
{
	if (s->zc_given_up)
		return C_KERNEL;
	if (s->cause_why[C_PIN][0])
		return C_PIN;
	if (s->cause_why[C_GSO][0])
		return C_GSO;
	return C_OFF;
}

/* How far ahead launch times go to fq: 32 sends (skbs, whatever a send
 * holds now: a burst, fewer with batch= or once GSO is off), at most 2 ms. */
static int64_t txtime_lead(const struct rtp_sink *s, const struct job *j)
{
	unsigned per = s->gso_ok ? GSO_MAX_SEGS : 1;
	if (s->o.batch && s->o.batch < per)
		per = s->o.batch;
	if (s->burst && s->burst < per)
		per = s->burst;
	int64_t lead = j->pace.span_ns / j->pace.npkts * per * TXTIME_AHEAD;
	return lead < TXTIME_LEAD_NS ? lead : TXTIME_LEAD_NS;
}

/* Sends what it can of the head job; false when it must wait. */
static bool send_some(struct rtp_sink *s, struct job *j)
{
	const struct vz_rtp_plan *p = &j->plan->p;
	unsigned pk[MMSG], frags_first = 0;
	uint32_t bytes[MMSG];
	unsigned nm = 0, next = j->next;
	bool zc = s->zc_ok;
	bool paced = s->o.pace != VZ_RTP_PACE_OFF;
	int64_t now = paced ? vz_now_ns() : 0, launch[MMSG];
	int64_t lead = paced && s->txtime ? txtime_lead(s, j) : 0;
	while (nm < MMSG && next < p->npkts) {
		/* Every id must find its bytes in the ring. */
		if (zc && s->zc_open + nm + 1 >= ZC_RING)
			break;
		launch[nm] = paced ? vz_rtp_launch(&j->pace, next) : 0;
		if (paced && launch[nm] > now + lead) {
			if (nm)
				break;
			/* Under fq, woken half a lead early, the next wake-up has
			 * half a lead's batches to hand over. */
			int64_t wake = launch[0] - lead / 2;
			if (!s->txtime && !s->slack_set) {
				/* The loop thread's timers fire up to 50 us late by
				 * default: the timer pacer wants them on time. */
				prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
				s->slack_set = true;
			}
			s->waiting_pace = true;
			vz_loop_set_timer(s->retry, wake - vz_now_ns(), 0);
			return false;
		}
		pk[nm] = build_msg(s, j, zc, next, nm, launch[nm], &bytes[nm], &frags_first);
		if (!pk[nm])
			break;
		next += pk[nm];
		nm++;
	}
	if (!nm && frags_first) {
		/* One packet alone needs more fragments than a zero-copy skb
		 * holds (short lines on a padded stride). */
		s->zc_ok = false;
		snprintf(s->cause_why[C_OFF], sizeof(s->cause_why[C_OFF]),
		         "a packet spans %u page fragments, a zero-copy send holds %u: plain sends",
		         frags_first, s->frag_limit);
		return true;
	}
	if (!nm) {
		s->waiting_err = true;
		return false;
	}
	int r = sendmmsg(s->fd, s->mm, nm, zc ? MSG_ZEROCOPY : 0);
	s->syscalls++;
	if (r < 0) {
		int e = errno;
		switch (e) {
		case EAGAIN:
			s->eagain++;
			s->waiting_out = true;
			/* The timer is the way back should the watch not change. */
			vz_loop_mod_fd(vz_port_loop(s->port), s->watch, EPOLLERR | EPOLLOUT);
			vz_loop_set_timer(s->retry, 10000000, 0);
			return false;
		case ENOBUFS:
			/* Notifications pending on the socket's option memory: read
			 * them and go on once one of our sends completed; with none
			 * (or only a dropped send's, see complete_id), give the
			 * kernel a moment. */
			s->enobufs++;
			if (drain_inside(s))
				return true;
			s->waiting_err = true;
			vz_loop_set_timer(s->retry, 1000000, 0);
			return false;
		case ECONNREFUSED:
			/* An ICMP port-unreachable from earlier, reported now; this
			 * send did not happen. */
			s->refused++;
			return true;
		case EMSGSIZE:
			if (zc && s->frag_limit > 2 && pk[0] > 1) {
				s->frag_limit--;
				return true;
			}
			break;
		case EFAULT:
			if (zc) {
				s->zc_ok = false;
				snprintf(s->cause_why[C_PIN], sizeof(s->cause_why[C_PIN]),
				         "EFAULT: MSG_ZEROCOPY cannot pin PFNMAP memory "
				         "(dma-contig, "
				         "DRM dumb); plain sends");
				return true;
			}
			break;
		case EIO:
			if (s->gso_ok && pk[0] > 1) {
				/* udp_send_skb refuses GSO after the skb (and its
				 * zero-copy id) was made: ids would drift, so plain
				 * sends from here on. */
				s->gso_ok = false;
				s->zc_ok = false;
				snprintf(s->cause_why[C_GSO], sizeof(s->cause_why[C_GSO]),
				         "UDP GSO refused (EIO: no checksum offload on %s?); plain "
				         "sends",
				         s->dev);
				return true;
			}
			break;
		case ENETUNREACH:
		case EHOSTUNREACH:
		case ENETDOWN:
		case EADDRNOTAVAIL:
		case EPERM:
			/* The network, not vzero: this frame cannot go; the next may.
			 * A netfilter drop (EPERM) comes after the kernel took the
			 * send's zero-copy id: stop zero-copy so ids cannot drift. */
			if (zc && e == EPERM) {
				s->zc_ok = false;
				snprintf(s->cause_why[C_OFF], sizeof(s->cause_why[C_OFF]),
				         "a zero-copy send was refused (EPERM: a firewall?): plain "
				         "sends");
			}
			s->send_errors++;
			snprintf(s->last_error, sizeof(s->last_error), "%s", strerror(e));
			job_cut(s, j);
			return true;
		default:
			break;
		}
		char msg[400];
		snprintf(msg, sizeof(msg), "rtp sink: sending to %s: %s", s->dest, strerror(e));
		vz_port_fail(s->port, -e, msg);
		s->failed = true;
		/* Nothing more goes out: frames not sent are given back now (those
		 * with sends in the kernel's hands when those complete), so the
		 * stop can finish. */
		while (s->nfifo)
			job_cut(s, s->fifo[s->fifo_head]);
		return false;
	}
	for (int i = 0; i < r; i++) {
		if (zc) {
			if (!j->have_zc)
				j->zc_first = s->zc_next;
			j->have_zc = true;
			s->zc_bytes[s->zc_next % ZC_RING] = bytes[i];
			s->zc_next++;
			j->zc_end = s->zc_next;
			j->zc_open++;
			s->zc_open++;
		} else {
			enum cause c = fallback_cause(s);
			s->copied[c] += bytes[i];
			s->copy_events[c]++;
		}
		for (unsigned k = 0; k < pk[i]; k++)
			s->octets += p->pkt[j->next + k].size - VZ_RTP_HDR;
		if (paced) {
			int64_t late = now - launch[i];
			if (launch[i] > s->last_launch)
				s->last_launch = launch[i];
			s->batches_paced++;
			if (late > LATE_NS)
				s->late_batches++;
			if (late > 0)
				s->late_sum += late;
			if (late > s->late_max)
				s->late_max = late;
		}
		s->packets += pk[i];
		s->sends++;
		j->next += pk[i];
	}
	if (j->next >= p->npkts)
		job_sent(s, j);
	return true;
}

static void pump(struct rtp_sink *s)
{
	if (s->inside)
		return;
	s->inside = true;
	while (s->nfifo && !s->waiting_out && !s->waiting_err && !s->waiting_pace && !s->failed) {
		if (!send_some(s, s->fifo[s->fifo_head]))
			break;
	}
	s->inside = false;
}

/* ---- the contract ---- */

static int adopt(struct rtp_sink *s, struct vz_buffer_set *set, struct vz_err *err)
{
	const struct vz_format *fmt = &set->fmt;
	if (s->plan && !memcmp(fmt, &s->fmt, sizeof(*fmt)))
		return 0;
	struct plan_box *b = calloc(1, sizeof(*b));
	if (!b)
		return vz_err_set(err, -ENOMEM, "rtp sink: out of memory");
	int r = vz_rtp_plan_build(&b->p, fmt, s->o.mtu, s->ipv6, err);
	if (r < 0) {
		free(b);
		return r;
	}
	if (s->plan) {
		s->format_changes++;
		s->plan->current = false;
		s->plan->users++;
		plan_put(s->plan);
	}
	b->current = true;
	s->plan = b;
	s->fmt = *fmt;
	if (s->o.sdp[0]) {
		char text[1024];
		int n = vz_rtp_sdp(text, sizeof(text), &s->o, &b->p, fmt, s->ipv6, s->multicast,
		                   s->local);
		if (n < 0)
			return vz_err_set(err, -ENOSPC, "rtp sink: the SDP does not fit %zu bytes",
			                  sizeof(text));
		FILE *fp = fopen(s->o.sdp, "w");
		r = !fp ? -errno : 0;
		if (fp) {
			bool ok = fputs(text, fp) >= 0;
			int e = ok ? 0 : errno;
			if (fclose(fp) != 0 && ok)
				e = errno;
			r = ok && !e ? 0 : -(e ? e : EIO);
		}
		if (r < 0)
			return vz_err_set(err, r, "rtp sink: cannot write the SDP to %s: %s",
			                  s->o.sdp, strerror(-r));
		snprintf(s->sdp_note, sizeof(s->sdp_note), "SDP in %s%s", s->o.sdp,
		         s->format_changes ? " (rewritten for the new format)" : "");
	}
	return 0;
}

static int rtp_start(void *impl, struct vz_sink_port *port, struct vz_buffer_set *set,
                     struct vz_err *err)
{
	struct rtp_sink *s = impl;
	s->port = port;
	int r = adopt(s, set, err);
	if (r < 0)
		return r;
	if (!s->watch) {
		r = vz_loop_add_fd(vz_port_loop(port), s->fd, EPOLLERR, on_socket, s, &s->watch,
		                   err);
		if (r < 0)
			return r;
		r = vz_loop_add_timer(vz_port_loop(port), 3600 * VZ_NSEC_PER_SEC, 0, on_retry, s,
		                      &s->retry, err);
		if (r < 0)
			return r;
		if (s->rtcp_fd >= 0) {
			r = vz_loop_add_timer(vz_port_loop(port), RTCP_EVERY_NS, RTCP_EVERY_NS,
			                      on_rtcp, s, &s->rtcp_timer, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int rtp_set_buffers(void *impl, struct vz_buffer_set *set, struct vz_err *err)
{
	return adopt(impl, set, err);
}

static int rtp_push(void *impl, struct vz_frame *f, struct vz_err *err)
{
	struct rtp_sink *s = impl;
	struct job *j = NULL;
	for (unsigned i = 0; i < MAX_JOBS && !j; i++)
		if (!s->job[i].used)
			j = &s->job[i];
	struct vz_frame_map map;
	if (!j || s->stopping || s->failed) {
		s->frames_cut++;
		vz_port_release(s->port, f);
		return 0;
	}
	if (vz_frame_map_init(&map, f->fmt, f->buf, &f->info) < 0)
		return vz_err_set(
		        err, -EINVAL,
		        "rtp sink: buffer %u has no CPU mapping covering the picture (the "
		        "packets are slices of it)",
		        f->buf->index);
	const struct vz_rtp_plan *p = &s->plan->p;
	size_t need = (size_t)p->npkts * p->max_hdr;
	if (j->hdr_cap < need) {
		uint8_t *h = realloc(j->hdr, need);
		if (!h)
			return vz_err_set(err, -ENOMEM, "rtp sink: out of memory for headers");
		j->hdr = h;
		j->hdr_cap = need;
	}
	int64_t t = f->info.ts_monotonic ? f->info.t_driver_ns : f->info.t_dqbuf_ns;
	uint32_t ts = vz_rtp_ts90k(t, s->ts_offset);
	for (unsigned i = 0; i < p->npkts; i++)
		vz_rtp_write_header(j->hdr + (size_t)i * p->max_hdr, p, i, s->seq + i, ts,
		                    s->o.ssrc, s->o.pt, i + 1 == p->npkts);
	s->seq += p->npkts;
	int64_t now = vz_now_ns();
	if (s->last_push) {
		int64_t d = now - s->last_push;
		/* A pause (a stalled camera) is not the frame rate. */
		if (!s->measured_ns)
			s->measured_ns = d;
		else if (d < 4 * s->measured_ns)
			s->measured_ns += (d - s->measured_ns) / 8;
	}
	s->last_push = now;
	if (s->o.pace != VZ_RTP_PACE_OFF) {
		/* Each frame is spread over the interval after it arrived and
		 * ends by then: a late frame gets a shorter span (never less than
		 * a quarter), so the sender cannot fall behind for good. */
		int64_t T = vz_format_interval_ns(&s->fmt);
		if (!T)
			T = s->measured_ns ? s->measured_ns : VZ_NSEC_PER_SEC / 30;
		int64_t t0 = now > s->pace_end ? now : s->pace_end;
		int64_t end = now + T;
		if (end - t0 < T / 4)
			end = t0 + T / 4;
		s->pace_end = end;
		j->pace = (struct vz_rtp_pace){.mode = s->o.pace,
		                               .t0 = t0,
		                               .span_ns = end - t0,
		                               .npkts = p->npkts,
		                               .height = p->height};
		s->frames_paced++;
		s->span_sum += end - t0;
	}
	vz_buffer_cpu_begin((struct vz_buffer_set *)f->set, f->buf->index, false);
	j->f = f;
	j->plan = s->plan;
	s->plan->users++;
	j->pic = map.plane[0];
	j->next = 0;
	j->zc_first = j->zc_end = 0;
	j->zc_open = 0;
	j->have_zc = false;
	j->sent = false;
	j->used = true;
	s->busy++;
	s->fifo[(s->fifo_head + s->nfifo) % MAX_JOBS] = j;
	s->nfifo++;
	pump(s);
	if (!s->rtcp_sent)
		send_sr(s, false); /* a mapping from the first frame on */
	return 0;
}

static int rtp_stop(void *impl, struct vz_err *err)
{
	(void)err;
	struct rtp_sink *s = impl;
	/* Frames queued go out first: a receiver gets the last frame too.
	 * The stop completes when the kernel gave back every page. */
	s->stopping = true;
	pump(s);
	if (!s->busy && !s->stopped_told) {
		s->stopped_told = true;
		send_sr(s, true);
		vz_port_stopped(s->port);
	}
	return 0;
}

static void add_site(struct vz_sink_stats *out, const char *element, const char *reason,
                     uint64_t events, uint64_t bytes)
{
	if (out->nsites >= VZ_SINK_MAX_COPY_SITES)
		return;
	struct vz_copy_site *c = &out->site[out->nsites++];
	snprintf(c->element, sizeof(c->element), "%s", element);
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
	c->events = events;
	c->bytes = bytes;
	out->copies += events;
	out->bytes_copied += bytes;
}

static void counter(struct vz_sink_stats *out, const char *name, uint64_t v)
{
	if (out->ncounters >= VZ_SINK_MAX_COUNTERS)
		return;
	snprintf(out->counter[out->ncounters].name, sizeof(out->counter[0].name), "%s", name);
	out->counter[out->ncounters++].total = v;
}

/* The pacing asked for and how well the sender kept it; the wire's own
 * spread only a receiver can see. */
static void timing(const struct rtp_sink *s, struct vz_sink_stats *out)
{
	static const char *const mode[] = {"off", "linear", "gapped"};
	char *t = out->timing;
	size_t len = sizeof(out->timing);
	t[0] = '\0';
	if (s->o.pace == VZ_RTP_PACE_OFF) {
		vz_msg_append(t, len,
		              "pace=off: each frame leaves as fast as %s takes it "
		              "(pace=linear spreads it over the frame interval)",
		              s->dev);
	} else {
		double span =
		        s->frames_paced ? (double)s->span_sum / (double)s->frames_paced / 1e6 : 0;
		unsigned n = s->plan ? s->plan->p.npkts : 0;
		unsigned b = s->burst < n ? s->burst : n;
		vz_msg_append(
		        t, len,
		        "pace=%s by %s (qdisc %s on %s): frames spread over %.1f ms, "
		        "batches of <= %u packets %.3f ms apart; %llu of %llu batches sent "
		        "> %.1f ms late (max %.3f ms, mean %.3f ms); arrivals: vzero rtp-check",
		        mode[s->o.pace], s->txtime ? "SO_TXTIME" : "the sink's timer", s->qdisc,
		        s->dev, span, b, n && b ? span * b / n : 0,
		        (unsigned long long)s->late_batches, (unsigned long long)s->batches_paced,
		        LATE_NS / 1e6, (double)s->late_max / 1e6,
		        s->batches_paced ? (double)s->late_sum / (double)s->batches_paced / 1e6
		                         : 0.0);
	}
	if (s->rtcp_fd >= 0)
		vz_msg_append(t, len,
		              "; RTCP SR to port %u every %.0f s (%llu sent), wall clock %s%s",
		              s->rtcp_port, RTCP_EVERY_NS / 1e9, (unsigned long long)s->rtcp_sent,
		              s->o.clock == VZ_RTP_CLOCK_TAI ? "CLOCK_TAI" : "CLOCK_REALTIME",
		              s->o.clock_offset_ns ? " + clock_offset" : "");
}

static void rtp_stats(void *impl, struct vz_sink_stats *out)
{
	struct rtp_sink *s = impl;
	char el[48];
	snprintf(el, sizeof(el), "kernel (%s)", s->dev);
	if (s->copied[C_KERNEL] || s->copy_events[C_KERNEL]) {
		char why[96];
		if (s->zc_given_up)
			snprintf(why, sizeof(why),
			         "SO_EE_CODE_ZEROCOPY_COPIED: %s copies anyway; plain sends after "
			         "%u",
			         s->dev, ZC_GIVE_UP);
		else
			snprintf(why, sizeof(why),
			         "SO_EE_CODE_ZEROCOPY_COPIED: %s cannot send from user pages",
			         s->dev);
		add_site(out, el, why, s->copy_events[C_KERNEL], s->copied[C_KERNEL]);
	}
	static const char *const names[C_NCAUSES] = {"", "kernel (pinning)", "kernel (no GSO)",
	                                             "kernel (plain send)"};
	for (int c = C_PIN; c < C_NCAUSES; c++)
		if (s->copy_events[c])
			add_site(out, names[c], s->cause_why[c], s->copy_events[c], s->copied[c]);
	counter(out, "packets", s->packets);
	counter(out, "sends", s->sends);
	counter(out, "syscalls", s->syscalls);
	counter(out, "notifications", s->notifications);
	if (s->enobufs)
		counter(out, "enobufs", s->enobufs);
	if (s->eagain)
		counter(out, "eagain", s->eagain);
	if (s->zc_dropped)
		counter(out, "qdisc drops", s->zc_dropped);
	const struct vz_rtp_plan *p = s->plan ? &s->plan->p : NULL;
	out->proof[0] = '\0';
	vz_msg_append(out->proof, sizeof(out->proof),
	              "to %s via %s: %s, payload = iovec slices of the frame (no userspace copy); "
	              "%llu of %llu completions said COPIED",
	              s->dest, s->dev,
	              s->zc_ok ? (s->gso_ok ? "MSG_ZEROCOPY + UDP GSO" : "MSG_ZEROCOPY")
	                       : (s->gso_ok ? "sendmsg + UDP GSO" : "sendmmsg"),
	              (unsigned long long)s->copied_notes, (unsigned long long)s->notifications);
	if (s->zc_given_up)
		vz_msg_append(out->proof, sizeof(out->proof),
		              "; plain sends after %u sends the kernel copied anyway (zerocopy=on "
		              "keeps MSG_ZEROCOPY)",
		              ZC_GIVE_UP);
	if (p)
		vz_msg_append(out->proof, sizeof(out->proof),
		              "; %u packets/frame of <= %u B (%u line(s)/packet, %u run(s)/line), "
		              "fragment limit %u",
		              p->npkts, p->max_packet, p->lines_per_pkt, p->runs_per_line,
		              s->frag_limit);
	timing(s, out);
	if (s->sdp_note[0])
		vz_msg_append(out->proof, sizeof(out->proof), "; %s", s->sdp_note);
	if (p && p->sampling->note[0])
		vz_msg_append(out->proof, sizeof(out->proof), "; %s", p->sampling->note);
	if (s->send_errors || s->frames_cut || s->refused)
		snprintf(out->advice, sizeof(out->advice),
		         "%llu send error(s) (last: %s), %llu frame(s) not sent whole, %llu "
		         "port-unreachable report(s): is the receiver listening?",
		         (unsigned long long)s->send_errors, s->last_error[0] ? s->last_error : "-",
		         (unsigned long long)s->frames_cut, (unsigned long long)s->refused);
	else if (out->bytes_copied && s->copied[C_KERNEL])
		snprintf(out->advice, sizeof(out->advice),
		         "the kernel copied on %s; true zero-copy needs a device with "
		         "scatter-gather "
		         "and checksum offload (a NIC, virtio-net on a tap)",
		         s->dev);
}

static void rtp_destroy(void *impl)
{
	struct rtp_sink *s = impl;
	if (!s)
		return;
	if (s->port) {
		if (s->watch)
			vz_loop_remove(vz_port_loop(s->port), s->watch);
		if (s->retry)
			vz_loop_remove(vz_port_loop(s->port), s->retry);
		if (s->rtcp_timer)
			vz_loop_remove(vz_port_loop(s->port), s->rtcp_timer);
	}
	/* The contract ends only after stop() reported every frame back. */
	for (unsigned i = 0; i < MAX_JOBS; i++)
		free(s->job[i].hdr);
	if (s->plan) {
		s->plan->current = false;
		s->plan->users++;
		plan_put(s->plan);
	}
	if (s->fd >= 0)
		close(s->fd);
	if (s->rtcp_fd >= 0)
		close(s->rtcp_fd);
	free(s);
}

static const struct vz_sink_ops rtp_ops = {
        .kind = "rtp",
        .start = rtp_start,
        .set_buffers = rtp_set_buffers,
        .push = rtp_push,
        .stop = rtp_stop,
        .get_stats = rtp_stats,
        .destroy = rtp_destroy,
};

int vz_sink_rtp_create(const char *uri, struct vz_sink *out, struct vz_err *err)
{
	memset(out, 0, sizeof(*out));
	struct rtp_sink *s = calloc(1, sizeof(*s));
	if (!s)
		return vz_err_set(err, -ENOMEM, "rtp sink: out of memory");
	s->fd = -1;
	s->rtcp_fd = -1;
	int r = vz_rtp_parse(uri, &s->o, err);
	if (r >= 0)
		r = open_socket(s, err);
	if (r >= 0)
		r = choose_pacer(s, err);
	if (r >= 0)
		r = open_rtcp(s, err);
	if (r < 0) {
		rtp_destroy(s);
		return r;
	}
	s->page = sysconf(_SC_PAGESIZE);
	s->frag_limit = MAX_SKB_FRAGS;
	uint32_t rnd[3] = {0};
	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
		int64_t t = vz_now_ns();
		rnd[0] = (uint32_t)t ^ (uint32_t)getpid();
		rnd[1] = (uint32_t)(t >> 17) * 2654435761u;
		rnd[2] = rnd[0] * 40503u ^ rnd[1];
	}
	if (!s->o.have_ssrc)
		s->o.ssrc = rnd[0];
	/* RFC 3550: random first sequence number and timestamp. */
	s->seq = s->o.have_seq ? s->o.seq : rnd[1] & 0xffff;
	s->ts_offset = rnd[2];
	out->ops = &rtp_ops;
	out->impl = s;
	out->policy = VZ_SINK_LIVE;
	/* One frame on the wire, one in the kernel's hands, one arriving. */
	out->budget = 3;
	snprintf(out->name, sizeof(out->name), "%.63s", uri);
	return 0;
}
