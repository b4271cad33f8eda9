/* SPDX-License-Identifier: MIT */
/*
 * vzero rtp-check: a receiver that measures how an RTP raw-video stream
 * arrives -- kernel receive timestamps per packet, then the accounting and
 * statistics of rtpcheck-stats.c.  The sender's view (vzero run's report)
 * says what was sent when; only a receiver sees what the network and the
 * kernel made of it: bursts, gaps, reordering, drops.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "rtpcheck-stats.h"

#define CMD     "rtp-check"
#define BATCH   64
#define SLOT    65536 /* the largest UDP datagram: never truncated */
#define CTL_LEN (CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(uint32_t)) + 64)

enum {
	OPT_FRAMES = VZ_OPT_CAPTURE_LAST + 1,
	OPT_DURATION,
	OPT_SSRC,
	OPT_RCVBUF,
	OPT_BURST_GAP,
	OPT_RTCP,
	OPT_JSON_FILE,
	OPT_FRAMES_DETAIL,
	OPT_READY,
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: vzero rtp-check rtp://HOST:PORT[?iface=NAME] [OPTIONS]\n\n"
	        "Receives an RTP raw-video stream (RFC 4175, as 'vzero run --sink rtp://...'\n"
	        "sends it) and measures how it ARRIVES: the gaps between a frame's packets\n"
	        "(kernel receive timestamps), how many come back to back (bursts), how much\n"
	        "of the frame interval a frame's packets cover, packets lost, reordered and\n"
	        "duplicated (by the 32-bit extended sequence number), the kernel's own drops,\n"
	        "and the RTCP sender reports (which RTP timestamp is which wall-clock time).\n"
	        "A sender that bursts a whole frame at line rate shows up here as one burst\n"
	        "per frame and a spread ratio near 0; a paced one as bursts of its batch size\n"
	        "(vzero's burst=, 4 by default) and a ratio near 1.  A burst is packets less\n"
	        "than --burst-gap apart: 20 us suits up to ~1080p30 over 1-10 Gb/s; for faster\n"
	        "streams give a fraction of the paced spacing (frame interval / packets per\n"
	        "frame), for slow links more than one packet's time on the wire.  Measuring\n"
	        "starts after the first marker bit, so every frame counted is whole unless\n"
	        "the network lost some of it.\n\n"
	        "HOST is where to listen: a local address, 0.0.0.0 or [::] for any, or a\n"
	        "multicast group (IPv4, or IPv6 in brackets such as [ff02::1:2]), which is\n"
	        "joined; ?iface=NAME picks the interface to join it on (needed for link-local\n"
	        "groups like ff02::...).\n\n"
	        "Options:\n"
	        "      --frames N        stop after N frames measured (default 0: no limit)\n"
	        "      --duration SEC    stop after SEC seconds from start (default 10;\n"
	        "                        0: until --frames or Ctrl-C)\n"
	        "      --ssrc N          only this SSRC (decimal or 0x hex); default: the\n"
	        "                        first one seen, others counted as other_ssrc_packets\n"
	        "      --rcvbuf BYTES    socket receive buffer (K/M suffixes); as root it\n"
	        "                        may exceed net.core.rmem_max (SO_RCVBUFFORCE)\n"
	        "      --burst-gap US    packets closer than this are one burst (default 20)\n"
	        "      --rtcp PORT|off   listen for RTCP there too (default PORT+1)\n"
	        "      --json FILE       the report as JSON ('-': stdout; the text report\n"
	        "                        then goes to stderr)\n"
	        "      --frames-detail   the JSON also lists every measured frame\n"
	        "      --ready FILE      create FILE (holding the RTP port) once listening,\n"
	        "                        so a script knows when to start the sender\n"
	        "  -h, --help            this text\n\n"
	        "Ctrl-C (or SIGTERM) ends the run early; the report is still printed.\n\n"
	        "Examples -- a vzero sender on this machine, unpaced, then paced:\n"
	        "  vzero rtp-check rtp://127.0.0.1:5004 --frames 100\n"
	        "      and in another shell:\n"
	        "  vzero run -d vivid -f UYVY --sink 'rtp://127.0.0.1:5004?pace=off' -t 10\n"
	        "  vzero run -d vivid -f UYVY --sink 'rtp://127.0.0.1:5004?pace=linear' -t 10\n"
	        "      (compare 'bursts' and 'frame spread' of the two runs)\n"
	        "  vzero rtp-check rtp://239.1.2.3:5004?iface=eth0 --duration 30 --json rx.json\n"
	        "  vzero rtp-check 'rtp://[ff02::1:2]:5004?iface=lo' --frames 50 --frames-detail "
	        "\\\n"
	        "        --json - | python3 -m json.tool\n\n"
	        "Exit status: 0 at least one frame measured, 1 nothing measured or a socket\n"
	        "problem (message on stderr), 2 bad arguments.\n");
}

struct listen_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	bool mcast;
	unsigned ifindex; /* 0: none given */
	const char *iface;
	char host[256];
	uint16_t port;
};

struct opts {
	uint64_t frames;
	double duration;
	bool ssrc_set;
	uint32_t ssrc;
	int rcvbuf; /* 0: the system's */
	double burst_gap_us;
	int rtcp_port; /* -1: off; 0: PORT+1 */
	const char *json;
	bool frames_detail;
	const char *ready;
	char iface[IF_NAMESIZE];
};

static int parse_u64_str(const char *s, int base, uint64_t *out)
{
	char *end;
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* Non-negative plain decimal ("20", "2.5"): no inf, nan or exponents. */
static int parse_decimal(const char *s, double max, double *out)
{
	int dots = 0;
	if (!s || !*s || !strcmp(s, "."))
		return -1;
	for (const char *p = s; *p; p++) {
		if (*p == '.')
			dots++;
		else if (*p < '0' || *p > '9')
			return -1;
	}
	if (dots > 1)
		return -1;
	double v = strtod(s, NULL);
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_bytes(const char *s, int *out)
{
	char num[32];
	size_t n = s ? strlen(s) : 0;
	uint64_t mul = 1, v;
	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	if (num[n - 1] == 'K' || num[n - 1] == 'k')
		mul = 1024;
	else if (num[n - 1] == 'M' || num[n - 1] == 'm')
		mul = 1024 * 1024;
	if (mul > 1)
		num[--n] = '\0';
	if (parse_u64_str(num, 10, &v) < 0 || v == 0 || v > INT_MAX / mul)
		return -1;
	*out = (int)(v * mul);
	return 0;
}

static int parse_uri(const char *uri, struct opts *o, struct listen_addr *l)
{
	static const char example[] = "e.g. rtp://0.0.0.0:5004, rtp://239.1.2.3:5004?iface=eth0 or "
	                              "rtp://[ff02::1:2]:5004?iface=lo";
	const char *p, *host_end, *port_start;

	memset(l, 0, sizeof(*l));
	if (strncmp(uri, "rtp://", 6) != 0) {
		vz_cli_error(CMD, "'%s': expected rtp://HOST:PORT, %s", uri, example);
		return -1;
	}
	p = uri + 6;
	if (*p == '[') {
		host_end = strchr(p, ']');
		if (!host_end || host_end[1] != ':') {
			vz_cli_error(CMD, "'%s': an IPv6 address goes in brackets, then :PORT, %s",
			             uri, example);
			return -1;
		}
		p++;
		port_start = host_end + 2;
	} else {
		size_t before_q = strcspn(p, "?"), colons = 0;
		for (size_t i = 0; i < before_q; i++)
			colons += p[i] == ':';
		host_end = strchr(p, ':');
		if (!host_end || colons > 1) {
			vz_cli_error(CMD,
			             "'%s': expected HOST:PORT (IPv6 addresses in brackets: "
			             "rtp://[::]:5004), %s",
			             uri, example);
			return -1;
		}
		port_start = host_end + 1;
	}
	if (host_end == p || (size_t)(host_end - p) >= sizeof(l->host)) {
		vz_cli_error(CMD, "'%s': no host to listen on, %s", uri, example);
		return -1;
	}
	memcpy(l->host, p, (size_t)(host_end - p));
	l->host[host_end - p] = '\0';

	const char *q = strchr(port_start, '?');
	size_t plen = q ? (size_t)(q - port_start) : strlen(port_start);
	char port[8];
	uint64_t pv;
	if (plen == 0 || plen >= sizeof(port) ||
	    (memcpy(port, port_start, plen), port[plen] = '\0', parse_u64_str(port, 10, &pv) < 0) ||
	    pv == 0 || pv > 65535) {
		vz_cli_error(CMD, "'%s': the port must be 1 to 65535, %s", uri, example);
		return -1;
	}
	l->port = (uint16_t)pv;

	for (const char *opt = q ? q + 1 : NULL; opt && *opt;) {
		const char *amp = strchr(opt, '&');
		size_t n = amp ? (size_t)(amp - opt) : strlen(opt);
		if (n > 6 && !strncmp(opt, "iface=", 6) && n - 6 < sizeof(o->iface)) {
			memcpy(o->iface, opt + 6, n - 6);
			o->iface[n - 6] = '\0';
		} else {
			vz_cli_error(
			        CMD,
			        "'%.*s' in '%s': rtp-check takes only ?iface=NAME (pace=, mtu= "
			        "and the like are the sender's options)",
			        (int)n, opt, uri);
			return -1;
		}
		opt = amp ? amp + 1 : NULL;
	}
	if (o->iface[0]) {
		l->iface = o->iface;
		l->ifindex = if_nametoindex(o->iface);
		if (!l->ifindex) {
			vz_cli_error(CMD,
			             "iface=%s: no such network interface ('ip link' lists them)",
			             o->iface);
			return -1;
		}
	}

	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
	int gai = getaddrinfo(l->host, NULL, &hints, &res);
	if (gai != 0 || !res) {
		vz_cli_error(CMD,
		             "cannot resolve '%s': %s; give an address of this machine, "
		             "0.0.0.0, or a multicast group",
		             l->host, gai_strerror(gai));
		return -1;
	}
	memcpy(&l->ss, res->ai_addr, res->ai_addrlen);
	l->len = res->ai_addrlen;
	freeaddrinfo(res);
	if (l->ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&l->ss;
		l->mcast = IN_MULTICAST(ntohl(a->sin_addr.s_addr));
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&l->ss;
		l->mcast = IN6_IS_ADDR_MULTICAST(&a->sin6_addr);
		if (!a->sin6_scope_id && l->ifindex &&
		    (IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr) ||
		     IN6_IS_ADDR_MC_LINKLOCAL(&a->sin6_addr)))
			a->sin6_scope_id = l->ifindex;
	}
	return 0;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static void bind_advice(const struct listen_addr *l, uint16_t port, int e)
{
	if (e == EADDRINUSE)
		vz_cli_error(
		        CMD,
		        "port %u is taken by another program ('ss -lunp' shows which): stop it "
		        "or listen on another port%s",
		        port, port != l->port ? " (or --rtcp PORT|off)" : "");
	else if (e == EADDRNOTAVAIL)
		vz_cli_error(CMD,
		             "%s is not an address of this machine: listen on one of its addresses "
		             "('ip addr'), on 0.0.0.0 / [::], or on a multicast group",
		             l->host);
	else if (e == EACCES)
		vz_cli_error(CMD, "port %u is privileged: use a port from 1024 up, or run as root",
		             port);
	else
		vz_cli_error(CMD, "cannot listen on %s port %u: %s", l->host, port, strerror(e));
}

static int join_group(int fd, const struct listen_addr *l)
{
	int r;
	if (l->ss.ss_family == AF_INET) {
		struct ip_mreqn m = {
		        .imr_multiaddr = ((const struct sockaddr_in *)&l->ss)->sin_addr,
		        .imr_ifindex = (int)l->ifindex,
		};
		r = setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m));
		/* Bound to the group already; this only keeps other groups'
		 * traffic on the port out if the bind fell back to any. */
		int off = 0;
		setsockopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, &off, sizeof(off));
	} else {
		struct ipv6_mreq m = {
		        .ipv6mr_multiaddr = ((const struct sockaddr_in6 *)&l->ss)->sin6_addr,
		        .ipv6mr_interface = l->ifindex,
		};
		r = setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof(m));
		int off = 0;
		setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, &off, sizeof(off));
	}
	if (r < 0) {
		int e = errno;
		if (e == ENODEV || e == EADDRNOTAVAIL || e == EINVAL || e == ENETUNREACH)
			vz_cli_error(CMD, "cannot join %s%s%s: %s; %s", l->host,
			             l->iface ? " on " : "", l->iface ? l->iface : "", strerror(e),
			             l->iface ? "is the interface up ('ip link set IFACE up') and "
			                        "multicast-capable?"
			                      : "name the interface to join on: ?iface=eth0 "
			                        "('ip link' lists them)");
		else
			vz_cli_error(CMD, "cannot join %s: %s", l->host, strerror(e));
		return -1;
	}
	return 0;
}

/* A socket listening on @l's address (or group) and @port. */
static int open_rx(const struct listen_addr *l, uint16_t port, int rcvbuf)
{
	int fd = socket(l->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		vz_cli_error(CMD, "cannot create a UDP socket: %s", strerror(errno));
		return -1;
	}
	int on = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) < 0)
		fprintf(stderr,
		        "vzero " CMD ": no kernel receive timestamps (%s): arrival times are "
		        "when vzero reads packets, less exact\n",
		        strerror(errno));
	/* Best effort: without it, socket_drops stays 0. */
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on));
	if (l->mcast)
		/* Other receivers of the group on this host may share the port. */
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (rcvbuf > 0) {
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0 &&
		    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0) {
			vz_cli_error(CMD, "--rcvbuf %d: %s", rcvbuf, strerror(errno));
			close(fd);
			return -1;
		}
		int got = 0;
		socklen_t gl = sizeof(got);
		/* Linux reports double what was set (its bookkeeping share). */
		if (!getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl) && got / 2 < rcvbuf)
			fprintf(stderr,
			        "vzero " CMD
			        ": receive buffer is %d bytes, not %d: the system caps "
			        "it (run as root, or raise net.core.rmem_max)\n",
			        got / 2, rcvbuf);
	}
	if (!l->mcast && l->iface &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, l->iface, (socklen_t)strlen(l->iface)) <
	            0) {
		vz_cli_error(
		        CMD,
		        "iface=%s on a unicast address: %s (it needs CAP_NET_RAW: run as "
		        "root, or leave iface= out -- the address already picks the interface)",
		        l->iface, strerror(errno));
		close(fd);
		return -1;
	}

	struct sockaddr_storage ss = l->ss;
	set_port(&ss, port);
	int r = bind(fd, (struct sockaddr *)&ss, l->len);
	if (r < 0 && l->mcast && (errno == EINVAL || errno == EADDRNOTAVAIL)) {
		/* A link-local IPv6 group cannot be bound without its scope:
		 * bind any and let the membership filter. */
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = l->ss.ss_family;
		set_port(&ss, port);
		r = bind(fd, (struct sockaddr *)&ss, l->len);
	}
	if (r < 0) {
		bind_advice(l, port, errno);
		close(fd);
		return -1;
	}
	if (l->mcast && join_group(fd, l) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct rx {
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	union {
		char buf[CTL_LEN];
		struct cmsghdr align;
	} ctl[BATCH];
	uint8_t data[BATCH][SLOT];
};

/* Reads what is queued on @fd (up to one batch); returns the count, 0 when
 * nothing is left, -1 on an error. */
static int read_batch(struct rx *rx, int fd, struct vz_rtpcheck *c, bool rtcp, uint64_t max_frames)
{
	for (int i = 0; i < BATCH; i++) {
		rx->iov[i] = (struct iovec){.iov_base = rx->data[i], .iov_len = SLOT};
		rx->msg[i].msg_hdr = (struct msghdr){
		        .msg_iov = &rx->iov[i],
		        .msg_iovlen = 1,
		        .msg_control = rx->ctl[i].buf,
		        .msg_controllen = sizeof(rx->ctl[i].buf),
		};
		rx->msg[i].msg_len = 0;
	}
	int n = recvmmsg(fd, rx->msg, BATCH, MSG_DONTWAIT, NULL);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	for (int i = 0; i < n; i++) {
		struct msghdr *h = &rx->msg[i].msg_hdr;
		int64_t t = -1;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm; cm = CMSG_NXTHDR(h, cm)) {
			if (cm->cmsg_level != SOL_SOCKET)
				continue;
			if (cm->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec ts;
				memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
				t = (int64_t)ts.tv_sec * VZ_NSEC_PER_SEC + ts.tv_nsec;
			} else if (cm->cmsg_type == SO_RXQ_OVFL && !rtcp) {
				uint32_t d;
				memcpy(&d, CMSG_DATA(cm), sizeof(d));
				c->socket_drops = d; /* the socket's running total */
			}
		}
		if (t < 0) {
			t = (int64_t)now.tv_sec * VZ_NSEC_PER_SEC + now.tv_nsec;
			c->software_timestamps++;
		}
		if (rtcp)
			vz_rtpcheck_rtcp(c, rx->data[i], rx->msg[i].msg_len, t);
		else
			vz_rtpcheck_rtp(c, rx->data[i], rx->msg[i].msg_len, t);
		/* Exactly N: the rest of the batch is past the measurement. */
		if (max_frames && c->frames >= max_frames)
			break;
	}
	return n;
}

static int parse_args(int argc, char **argv, struct opts *o, const char **uri)
{
	static const struct option longopts[] = {
	        {"frames", required_argument, NULL, OPT_FRAMES},
	        {"duration", required_argument, NULL, OPT_DURATION},
	        {"ssrc", required_argument, NULL, OPT_SSRC},
	        {"rcvbuf", required_argument, NULL, OPT_RCVBUF},
	        {"burst-gap", required_argument, NULL, OPT_BURST_GAP},
	        {"rtcp", required_argument, NULL, OPT_RTCP},
	        {"json", required_argument, NULL, OPT_JSON_FILE},
	        {"frames-detail", no_argument, NULL, OPT_FRAMES_DETAIL},
	        {"ready", required_argument, NULL, OPT_READY},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	uint64_t v;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_FRAMES:
			if (parse_u64_str(optarg, 10, &v) < 0 || v > UINT32_MAX) {
				vz_cli_error(CMD,
				             "--frames '%s': expected a whole number (0: no limit)",
				             optarg);
				return -1;
			}
			o->frames = v;
			break;
		case OPT_DURATION:
			if (parse_decimal(optarg, 1e7, &o->duration) < 0) {
				vz_cli_error(
				        CMD,
				        "--duration '%s': expected seconds, e.g. 10 or 2.5 (0: no "
				        "limit)",
				        optarg);
				return -1;
			}
			break;
		case OPT_SSRC:
			if (parse_u64_str(optarg, 0, &v) < 0 || v > UINT32_MAX) {
				vz_cli_error(
				        CMD,
				        "--ssrc '%s': expected a 32-bit number, decimal or 0x hex "
				        "(the sender's SDP or a first run's report says it)",
				        optarg);
				return -1;
			}
			o->ssrc_set = true;
			o->ssrc = (uint32_t)v;
			break;
		case OPT_RCVBUF:
			if (parse_bytes(optarg, &o->rcvbuf) < 0) {
				vz_cli_error(CMD,
				             "--rcvbuf '%s': expected bytes, 1 to 2G, e.g. 8388608 "
				             "or 8M",
				             optarg);
				return -1;
			}
			break;
		case OPT_BURST_GAP:
			if (parse_decimal(optarg, 1e9, &o->burst_gap_us) < 0 ||
			    o->burst_gap_us <= 0) {
				vz_cli_error(
				        CMD,
				        "--burst-gap '%s': expected microseconds above 0, e.g. 20",
				        optarg);
				return -1;
			}
			break;
		case OPT_RTCP:
			if (!strcmp(optarg, "off")) {
				o->rtcp_port = -1;
			} else if (parse_u64_str(optarg, 10, &v) < 0 || v == 0 || v > 65535) {
				vz_cli_error(CMD,
				             "--rtcp '%s': expected a port (1 to 65535) or off",
				             optarg);
				return -1;
			} else {
				o->rtcp_port = (int)v;
			}
			break;
		case OPT_JSON_FILE:
			o->json = optarg;
			break;
		case OPT_FRAMES_DETAIL:
			o->frames_detail = true;
			break;
		case OPT_READY:
			o->ready = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case ':':
			vz_cli_error(CMD, "%s needs a value; see 'vzero rtp-check --help'",
			             argv[optind - 1]);
			return -1;
		default:
			vz_cli_error(CMD, "unknown option '%s'; see 'vzero rtp-check --help'",
			             argv[optind - 1]);
			return -1;
		}
	}
	if (optind >= argc) {
		vz_cli_error(CMD, "where to listen? e.g. 'vzero rtp-check rtp://0.0.0.0:5004' "
		                  "(see --help)");
		return -1;
	}
	if (argc - optind > 1) {
		vz_cli_error(CMD, "one rtp:// address only; unexpected '%s' (see --help)",
		             argv[optind + 1]);
		return -1;
	}
	*uri = argv[optind];
	if (o->frames_detail && !o->json) {
		vz_cli_error(CMD, "--frames-detail lists frames in the JSON: add --json FILE "
		                  "(or --json -)");
		return -1;
	}
	return 0;
}

static int write_ready(const char *path, uint16_t port)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		vz_cli_error(CMD, "--ready %s: %s", path, strerror(errno));
		return -1;
	}
	char line[16];
	int n = snprintf(line, sizeof(line), "%u\n", port);
	bool ok = write(fd, line, (size_t)n) == n;
	if (close(fd) < 0 || !ok) {
		vz_cli_error(CMD, "--ready %s: cannot write it", path);
		return -1;
	}
	return 0;
}

static void no_frame_message(const struct vz_rtpcheck *c, const char *uri)
{
	uint64_t seen = c->packets + c->before_start + c->malformed + c->other_ssrc_packets;
	if (seen == 0 && c->rtcp_packets == 0)
		vz_cli_error(
		        CMD,
		        "nothing arrived on %s: is the sender running, to this address and "
		        "port? (a firewall, or a multicast group not routed to this interface, "
		        "also looks like this)",
		        uri);
	else if (seen == 0)
		vz_cli_error(CMD,
		             "only RTCP arrived on %s: the sender sends no video to this "
		             "port (is the RTP port right?)",
		             uri);
	else if (c->malformed == seen)
		vz_cli_error(CMD,
		             "%" PRIu64 " packets arrived on %s but none is RTP raw video (RFC "
		             "4175): is something else sending to this port?",
		             seen, uri);
	else if (c->packets + c->before_start == 0)
		vz_cli_error(CMD,
		             "%" PRIu64 " packets arrived, none of SSRC 0x%08" PRIx32
		             ": drop --ssrc, or use the one the sender's SDP gives",
		             c->other_ssrc_packets, c->cfg.ssrc);
	else
		vz_cli_error(CMD, "%" PRIu64 " RTP packets arrived but no whole frame: %s",
		             c->packets + c->before_start,
		             c->started ? "the marker bit that ends a frame never came again "
		                          "(run longer, or check the sender sets it)"
		                        : "no marker bit came (run longer, or check the sender "
		                          "sets it on each frame's last packet)");
}

int vz_cmd_rtpcheck(int argc, char **argv)
{
	struct opts o = {.duration = 10, .burst_gap_us = 20};
	struct listen_addr l;
	const char *uri = NULL;
	struct vz_rtpcheck *c = NULL;
	struct rx *rx = NULL;
	FILE *json = NULL;
	int fds[3] = {-1, -1, -1}; /* signalfd, RTP, RTCP */
	int ret = VZ_EXIT_USAGE;

	int pr = parse_args(argc, argv, &o, &uri);
	if (pr != 0)
		return pr > 0 ? VZ_EXIT_OK : VZ_EXIT_USAGE;
	if (parse_uri(uri, &o, &l) < 0)
		return VZ_EXIT_USAGE;
	if (o.rtcp_port == 0)
		o.rtcp_port = l.port == 65535 ? -1 : l.port + 1;
	if (o.rtcp_port == l.port) {
		vz_cli_error(CMD,
		             "--rtcp %d is the RTP port: RTCP multiplexed there is read "
		             "anyway; use another port or off",
		             o.rtcp_port);
		return VZ_EXIT_USAGE;
	}

	ret = VZ_EXIT_FAIL;
	if (o.json) {
		json = strcmp(o.json, "-") ? fopen(o.json, "we") : stdout;
		if (!json) {
			vz_cli_error(CMD, "cannot write the JSON report to %s: %s", o.json,
			             strerror(errno));
			return VZ_EXIT_FAIL;
		}
	}
	c = malloc(sizeof(*c));
	rx = malloc(sizeof(*rx));
	if (!c || !rx) {
		vz_cli_error(CMD, "out of memory");
		goto out;
	}
	struct vz_rtpcheck_config cfg = {
	        .ssrc_set = o.ssrc_set,
	        .ssrc = o.ssrc,
	        .burst_gap_us = o.burst_gap_us,
	        .keep_frames = o.frames_detail,
	};
	vz_rtpcheck_init(c, &cfg);

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	/* Signals as a readable fd in the poll set.  A shell starts
	 * background jobs with SIGINT ignored, which would discard it before
	 * signalfd sees it: we handle it, so take it back. */
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 || signal(SIGINT, SIG_DFL) == SIG_ERR ||
	    (fds[0] = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		vz_cli_error(CMD, "cannot set up signal handling: %s", strerror(errno));
		goto out;
	}
	if ((fds[1] = open_rx(&l, l.port, o.rcvbuf)) < 0)
		goto out;
	if (o.rtcp_port > 0 && (fds[2] = open_rx(&l, (uint16_t)o.rtcp_port, 0)) < 0)
		goto out;
	if (o.ready && write_ready(o.ready, l.port) < 0)
		goto out;

	const char *stopped = "duration";
	int64_t start = vz_now_ns();
	int64_t deadline = o.duration > 0 ? start + (int64_t)(o.duration * 1e9) : INT64_MAX;
	for (;;) {
		int64_t now = vz_now_ns();
		if (now >= deadline)
			break;
		/* Wake at least each second: nothing relies on it, but a
		 * deadline far away stays exact without a long sleep. */
		int64_t wait_ms = (deadline - now + VZ_NSEC_PER_MSEC - 1) / VZ_NSEC_PER_MSEC;
		struct pollfd p[3];
		nfds_t np = 0;
		for (int i = 0; i < 3; i++)
			if (fds[i] >= 0)
				p[np++] = (struct pollfd){.fd = fds[i], .events = POLLIN};
		int r = poll(p, np, wait_ms > 1000 ? 1000 : (int)wait_ms);
		if (r < 0 && errno != EINTR) {
			vz_cli_error(CMD, "poll: %s", strerror(errno));
			goto out;
		}
		if (r <= 0)
			continue;
		if (p[0].revents) {
			struct signalfd_siginfo si;
			if (read(fds[0], &si, sizeof(si)) > 0) {
				stopped = "signal";
				break;
			}
		}
		bool done = false;
		for (nfds_t i = 1; i < np && !done; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			bool is_rtcp = p[i].fd == fds[2];
			/* Bounded, so a sender that never pauses cannot hold
			 * off the deadline, Ctrl-C or the other socket. */
			for (int k = 0; k < 16; k++) {
				int n = read_batch(rx, p[i].fd, c, is_rtcp, o.frames);
				if (n < 0) {
					vz_cli_error(CMD, "receive: %s", strerror(errno));
					goto out;
				}
				if (o.frames && c->frames >= o.frames) {
					stopped = "frames";
					done = true;
					break;
				}
				if (n < BATCH)
					break;
			}
		}
		if (done)
			break;
	}

	vz_rtpcheck_finish(c);
	struct vz_rtpcheck_run run = {
	        .source = uri,
	        .rtcp_port = o.rtcp_port,
	        .stopped = stopped,
	        .seconds = (double)(vz_now_ns() - start) / 1e9,
	};
	vz_rtpcheck_text(json == stdout ? stderr : stdout, c, &run);
	if (json) {
		vz_rtpcheck_json(json, c, &run);
		if (fflush(json) != 0 || ferror(json)) {
			vz_cli_error(CMD, "cannot write the JSON report to %s: %s", o.json,
			             strerror(errno));
			goto out;
		}
	}
	if (c->frames == 0) {
		no_frame_message(c, uri);
		goto out;
	}
	ret = VZ_EXIT_OK;
out:
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (json && json != stdout && fclose(json) != 0 && ret == VZ_EXIT_OK) {
		vz_cli_error(CMD, "cannot write the JSON report to %s: %s", o.json,
		             strerror(errno));
		ret = VZ_EXIT_FAIL;
	}
	if (c)
		vz_rtpcheck_free(c);
	free(c);
	free(rx);
	return ret;
}
