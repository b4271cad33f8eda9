/* SPDX-License-Identifier: MIT */
/*
 * When a frame's packets should leave, and whether the kernel can hold them
 * until then; see sink/rtp-internal.h.
 *
 * The kernel paces with SO_TXTIME only under the fq qdisc (it keeps each
 * skb until its launch time; fq_codel, pfifo and noqueue send at once and
 * ignore the time), so the sink asks the egress device's qdiscs before it
 * trusts launch times, and keeps them with its own timer otherwise.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "rtp-internal.h"

void vz_rtp_active(uint32_t height, uint32_t *num, uint32_t *den)
{
	static const struct {
		uint32_t active, total;
	} rasters[] = {{2160, 2250}, {1080, 1125}, {720, 750}, {576, 625}, {486, 525}, {480, 525}};
	for (size_t i = 0; i < sizeof(rasters) / sizeof(rasters[0]); i++) {
		if (rasters[i].active == height) {
			*num = rasters[i].active;
			*den = rasters[i].total;
			return;
		}
	}
	*num = 1080;
	*den = 1125;
}

int64_t vz_rtp_launch(const struct vz_rtp_pace *pc, unsigned i)
{
	if (pc->mode == VZ_RTP_PACE_OFF || !pc->npkts)
		return pc->t0;
	int64_t span = pc->span_ns;
	if (pc->mode == VZ_RTP_PACE_GAPPED) {
		uint32_t num, den;
		vz_rtp_active(pc->height, &num, &den);
		span = span * num / den;
	}
	/* Packet i at i/npkts of the span: the last one a step before its end,
	 * so the next frame's first packet keeps the same spacing. */
	return pc->t0 + span * (int64_t)i / (int64_t)pc->npkts;
}

#define NL_SEQ 0x767a /* "vz" */

/* One rtnetlink request; each answer (a dump's parts, or the one reply) to
 * @fn until the end.  A reply that did not fit is an error, not half an
 * answer, and a silent kernel gives up after a second. */
static int nl_talk(void *req, size_t len, int (*fn)(const struct nlmsghdr *h, void *arg), void *arg)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	struct timeval tv = {.tv_sec = 1};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	int r = 0;
	if (send(fd, req, len, 0) < 0) {
		r = -errno;
		goto out;
	}
	char rx[16384] __attribute__((aligned(8)));
	for (bool done = false; !done;) {
		struct iovec iov = {rx, sizeof(rx)};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n = recvmsg(fd, &m, 0);
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (m.msg_flags & MSG_TRUNC) {
			r = -EMSGSIZE;
			goto out;
		}
		int left = (int)n;
		for (const struct nlmsghdr *h = (const void *)rx; NLMSG_OK(h, left);
		     h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_seq != NL_SEQ)
				continue;
			if (h->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				r = h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)) ? -EIO : e->error;
				goto out;
			}
			r = fn(h, arg);
			if (r < 0)
				goto out;
			if (!(h->nlmsg_flags & NLM_F_MULTI))
				done = true;
		}
	}
out:
	close(fd);
	return r;
}

struct qdiscs {
	unsigned ifindex;
	char *kind;
	size_t len;
	bool have_root, root_multi, children_fq, any_child;
	uint32_t root_handle;
};

static int on_qdisc(const struct nlmsghdr *h, void *arg)
{
	struct qdiscs *q = arg;
	const struct tcmsg *t = NLMSG_DATA(h);
	if (h->nlmsg_type != RTM_NEWQDISC || h->nlmsg_len < NLMSG_LENGTH(sizeof(*t)) ||
	    t->tcm_ifindex != (int)q->ifindex)
		return 0;
	char k[32] = "";
	int alen = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(*t));
	for (const struct rtattr *a = (const void *)((const char *)t + NLMSG_ALIGN(sizeof(*t)));
	     RTA_OK(a, alen); a = RTA_NEXT(a, alen))
		if (a->rta_type == TCA_KIND)
			snprintf(k, sizeof(k), "%.*s", (int)RTA_PAYLOAD(a),
			         (const char *)RTA_DATA(a));
	if (t->tcm_parent == TC_H_ROOT) {
		q->have_root = true;
		q->root_handle = t->tcm_handle;
		snprintf(q->kind, q->len, "%s", k);
		q->root_multi = !strcmp(k, "mq") || !strcmp(k, "mqprio");
	} else if (TC_H_MAJ(t->tcm_parent) == TC_H_MAJ(q->root_handle)) {
		/* A root's children come after it in the dump. */
		q->any_child = true;
		if (strcmp(k, "fq"))
			q->children_fq = false;
	}
	return 0;
}

int vz_rtp_qdisc(unsigned ifindex, char *kind, size_t len, bool *txtime)
{
	*txtime = false;
	snprintf(kind, len, "?");
	struct {
		struct nlmsghdr h;
		struct tcmsg t;
	} req = {
	        .h = {.nlmsg_len = sizeof(req),
	              .nlmsg_type = RTM_GETQDISC,
	              .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
	              .nlmsg_seq = NL_SEQ},
	        .t = {.tcm_family = AF_UNSPEC, .tcm_ifindex = (int)ifindex},
	};
	struct qdiscs q = {.ifindex = ifindex, .kind = kind, .len = len, .children_fq = true};
	int r = nl_talk(&req, sizeof(req), on_qdisc, &q);
	if (r < 0)
		return r;
	if (!q.have_root)
		return -ENOENT;
	*txtime = !strcmp(kind, "fq") || (q.root_multi && q.any_child && q.children_fq);
	if (q.root_multi && *txtime)
		snprintf(kind + strlen(kind), len - strlen(kind), " of fq");
	return 0;
}

static int on_route(const struct nlmsghdr *h, void *arg)
{
	const struct rtmsg *rt = NLMSG_DATA(h);
	if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(*rt)))
		return 0;
	int alen = (int)RTM_PAYLOAD(h);
	for (const struct rtattr *a = RTM_RTA(rt); RTA_OK(a, alen); a = RTA_NEXT(a, alen))
		if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= sizeof(int))
			memcpy(arg, RTA_DATA(a), sizeof(int));
	return 0;
}

int vz_rtp_route_dev(const struct sockaddr *to, unsigned *ifindex)
{
	struct {
		struct nlmsghdr h;
		struct rtmsg r;
		char attrs[64];
	} req = {
	        .h = {.nlmsg_type = RTM_GETROUTE,
	              .nlmsg_flags = NLM_F_REQUEST,
	              .nlmsg_seq = NL_SEQ},
	        .r = {.rtm_family = (unsigned char)to->sa_family},
	};
	const void *addr;
	size_t alen;
	int scope = 0;
	if (to->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)to;
		addr = &a->sin6_addr;
		alen = 16;
		scope = (int)a->sin6_scope_id;
	} else if (to->sa_family == AF_INET) {
		addr = &((const struct sockaddr_in *)(const void *)to)->sin_addr;
		alen = 4;
	} else {
		return -EAFNOSUPPORT;
	}
	req.r.rtm_dst_len = (unsigned char)(alen * 8);
	struct rtattr *a = (void *)req.attrs;
	a->rta_type = RTA_DST;
	a->rta_len = (unsigned short)RTA_LENGTH(alen);
	memcpy(RTA_DATA(a), addr, alen);
	size_t used = RTA_ALIGN(a->rta_len);
	if (scope) {
		/* A link-local destination's zone: the lookup must know it. */
		a = (void *)(req.attrs + used);
		a->rta_type = RTA_OIF;
		a->rta_len = (unsigned short)RTA_LENGTH(sizeof(int));
		memcpy(RTA_DATA(a), &scope, sizeof(int));
		used += RTA_ALIGN(a->rta_len);
	}
	req.h.nlmsg_len = (uint32_t)(NLMSG_LENGTH(sizeof(struct rtmsg)) + used);
	int oif = 0;
	int r = nl_talk(&req, req.h.nlmsg_len, on_route, &oif);
	if (r < 0)
		return r;
	if (oif <= 0)
		return -ENOENT;
	*ifindex = (unsigned)oif;
	return 0;
}
