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
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
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

/* One qdisc of a netlink dump: its device, parent and kind. */
static void qdisc_of(const struct nlmsghdr *h, int *ifindex, uint32_t *parent, uint32_t *handle,
                     char *kind, size_t len)
{
	const struct tcmsg *t = NLMSG_DATA(h);
	*ifindex = t->tcm_ifindex;
	*parent = t->tcm_parent;
	*handle = t->tcm_handle;
	kind[0] = '\0';
	int alen = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(*t));
	for (const struct rtattr *a = (const void *)((const char *)t + NLMSG_ALIGN(sizeof(*t)));
	     RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
		if (a->rta_type == TCA_KIND)
			snprintf(kind, len, "%.*s", (int)RTA_PAYLOAD(a), (const char *)RTA_DATA(a));
	}
}

int vz_rtp_qdisc(unsigned ifindex, char *kind, size_t len, bool *txtime)
{
	*txtime = false;
	snprintf(kind, len, "?");
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	struct {
		struct nlmsghdr h;
		struct tcmsg t;
	} req = {
	        .h = {.nlmsg_len = sizeof(req),
	              .nlmsg_type = RTM_GETQDISC,
	              .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
	              .nlmsg_seq = 1},
	        .t = {.tcm_family = AF_UNSPEC, .tcm_ifindex = (int)ifindex},
	};
	int r = 0;
	if (send(fd, &req, sizeof(req), 0) < 0) {
		r = -errno;
		goto out;
	}
	bool have_root = false, root_multi = false, children_fq = true, any_child = false;
	uint32_t root_handle = 0;
	char rx[16384] __attribute__((aligned(4)));
	for (bool done = false; !done;) {
		ssize_t n = recv(fd, rx, sizeof(rx), 0);
		if (n < 0) {
			r = -errno;
			goto out;
		}
		int left = (int)n;
		for (const struct nlmsghdr *h = (const void *)rx; NLMSG_OK(h, left);
		     h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				r = e->error ? e->error : -EIO;
				goto out;
			}
			if (h->nlmsg_type != RTM_NEWQDISC)
				continue;
			int dev;
			uint32_t parent, handle;
			char k[32];
			qdisc_of(h, &dev, &parent, &handle, k, sizeof(k));
			if (dev != (int)ifindex)
				continue;
			if (parent == TC_H_ROOT) {
				have_root = true;
				root_handle = handle;
				snprintf(kind, len, "%s", k);
				root_multi = !strcmp(k, "mq") || !strcmp(k, "mqprio");
			} else {
				/* Children are listed after their root. */
				if (TC_H_MAJ(parent) == TC_H_MAJ(root_handle)) {
					any_child = true;
					if (strcmp(k, "fq"))
						children_fq = false;
				}
			}
		}
	}
	if (!have_root) {
		r = -ENOENT;
		goto out;
	}
	*txtime = !strcmp(kind, "fq") || (root_multi && any_child && children_fq);
	if (root_multi && *txtime)
		snprintf(kind + strlen(kind), len - strlen(kind), " of fq");
out:
	close(fd);
	return r;
}
