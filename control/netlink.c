/* SPDX-License-Identifier: BSD-3-Clause */
#define _GNU_SOURCE /* setns */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "control/netlink.h"

int ctl_link_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n >= IF_NAMESIZE || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return 0;
	/* Unsigned: compared as a (signed) char, a byte past 0x7f was
	 * below ' ', refused on x86 and taken on arm64. */
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p == '/' || *p == ':' || *p <= ' ' || *p >= 0x7f)
			return 0;
	return 1;
}

struct nl {
	struct mnl_socket *sk;
	unsigned int seq;
	unsigned int portid;
};

static int nl_open(struct nl *nl)
{
	nl->sk = mnl_socket_open(NETLINK_ROUTE);
	if (nl->sk == NULL)
		return -errno;
	if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		int rc = -errno;

		mnl_socket_close(nl->sk);
		nl->sk = NULL;
		return rc;
	}
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->seq = (unsigned int)time(NULL);
	return 0;
}

/* Send @p h and run @p cb over every answer until ACK/DONE. 0 or -errno. */
static int nl_talk(struct nl *nl, struct nlmsghdr *h, mnl_cb_t cb, void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;
	int rc;

	h->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sk, h, h->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(nl->sk, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		rc = mnl_cb_run(buf, (size_t)n, nl->seq, nl->portid, cb, arg);
	} while (rc == MNL_CB_OK);
	return rc < 0 ? (errno ? -errno : -EIO) : 0;
}

static struct nlmsghdr *nl_msg(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf);

	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	return h;
}

/* RTM_NEWLINK on @p ifindex: up, with @p mtu when > 0. The caller may add
 * attributes before sending. */
static struct nlmsghdr *link_up_msg(char *buf, int ifindex, int mtu)
{
	struct nlmsghdr *h = nl_msg(buf, RTM_NEWLINK, NLM_F_ACK);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	if (mtu > 0)
		mnl_attr_put_u32(h, IFLA_MTU, (uint32_t)mtu);
	return h;
}

int ctl_link_move(const char *ifname, const char *netns_path,
		  const char *newname, const struct rte_ether_addr *mac,
		  uint16_t mtu, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nl nl = {0};
	int nsfd, rc;

	unsigned int ifindex = if_nametoindex(ifname);
	if (ifindex == 0) {
		rc = -errno;
		snprintf(err, errlen, "interface %s: %s", ifname, strerror(errno));
		return rc;
	}
	nsfd = open(netns_path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "netns %s: %s", netns_path, strerror(errno));
		return rc;
	}
	if ((rc = nl_open(&nl)) != 0) {
		snprintf(err, errlen, "netlink: %s", strerror(-rc));
		goto out;
	}
	struct nlmsghdr *h = link_up_msg(buf, (int)ifindex, mtu);
	mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)nsfd);
	mnl_attr_put_strz(h, IFLA_IFNAME, newname);
	mnl_attr_put(h, IFLA_ADDRESS, RTE_ETHER_ADDR_LEN, mac->addr_bytes);
	rc = nl_talk(&nl, h, NULL, NULL);
	if (rc)
		snprintf(err, errlen, "moving %s to %s as %s: %s", ifname,
			 netns_path, newname, strerror(-rc));
	mnl_socket_close(nl.sk);
out:
	close(nsfd);
	return rc;
}

static int addr_add(struct nl *nl, int ifindex, uint32_t ip)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *h = nl_msg(buf, RTM_NEWADDR,
				    NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
	uint32_t be = htonl(ip);

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = 32;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned int)ifindex;
	mnl_attr_put_u32(h, IFA_LOCAL, be);
	mnl_attr_put_u32(h, IFA_ADDRESS, be);
	return nl_talk(nl, h, NULL, NULL);
}

/* dst/plen via @p gw (0: link route) out of @p ifindex. */
static int route_add(struct nl *nl, int ifindex, uint32_t dst,
		     unsigned int plen, uint32_t gw)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *h = nl_msg(buf, RTM_NEWROUTE,
				    NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
	struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof(*rt));

	rt->rtm_family = AF_INET;
	rt->rtm_dst_len = (unsigned char)plen;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_type = RTN_UNICAST;
	rt->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	/* The gateway is not in any connected subnet of a /32 address. */
	rt->rtm_flags = gw ? RTNH_F_ONLINK : 0;
	if (plen > 0)
		mnl_attr_put_u32(h, RTA_DST, htonl(dst));
	if (gw)
		mnl_attr_put_u32(h, RTA_GATEWAY, htonl(gw));
	mnl_attr_put_u32(h, RTA_OIF, (uint32_t)ifindex);
	return nl_talk(nl, h, NULL, NULL);
}

/* Run @p fn inside netns @p path; the caller's netns is restored after. */
static int in_netns(const char *path, int (*fn)(void *), void *arg, char *err,
		    size_t errlen)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int target, rc;

	if (self < 0) {
		rc = -errno;
		snprintf(err, errlen, "open own netns: %s", strerror(-rc));
		return rc;
	}
	target = open(path, O_RDONLY | O_CLOEXEC);
	if (target < 0) {
		rc = -errno;
		snprintf(err, errlen, "netns %s: %s", path, strerror(-rc));
		close(self);
		return rc;
	}
	if (setns(target, CLONE_NEWNET) < 0) {
		rc = -errno;
		snprintf(err, errlen, "setns %s: %s", path, strerror(-rc));
		/* Not a netns file (EINVAL): a bad path, as good as none. */
		if (rc == -EINVAL)
			rc = -ENOENT;
		goto out;
	}
	rc = fn(arg);
	if (setns(self, CLONE_NEWNET) < 0)
		abort(); /* continuing in the pod's netns would be worse */
out:
	close(target);
	close(self);
	return rc;
}

struct pod_arg {
	const char *ifname;
	uint32_t ip;
	int mtu;
	struct ctl_pod_link *out;
	char *err;
	size_t errlen;
};

static int link_info(const char *ifname, struct ctl_pod_link *out)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		rc = -errno;
	else
		memcpy(out->mac.addr_bytes, ifr.ifr_hwaddr.sa_data,
		       RTE_ETHER_ADDR_LEN);
	if (rc == 0 && ioctl(fd, SIOCGIFMTU, &ifr) == 0)
		out->mtu = ifr.ifr_mtu;
	close(fd);
	return rc;
}

static uint32_t gateway(void)
{
	uint32_t gw = 0;

	inet_pton(AF_INET, CTL_POD_GATEWAY, &gw);
	return ntohl(gw);
}

/* The pod's interface index, or -ENOENT with a message. */
static int pod_ifindex(const struct pod_arg *x)
{
	int idx = (int)if_nametoindex(x->ifname);

	if (idx == 0) {
		snprintf(x->err, x->errlen, "no interface %s in the pod netns",
			 x->ifname);
		return -ENOENT;
	}
	return idx;
}

static int do_setup(void *p)
{
	struct pod_arg *x = p;
	uint32_t gw = gateway();
	struct nl nl;
	int idx, rc;

	if ((idx = pod_ifindex(x)) < 0)
		return idx;
	if ((rc = nl_open(&nl)) < 0) {
		snprintf(x->err, x->errlen, "netlink: %s", strerror(-rc));
		return rc;
	}
	char buf[MNL_SOCKET_BUFFER_SIZE];
	rc = nl_talk(&nl, link_up_msg(buf, idx, x->mtu), NULL, NULL);
	if (rc == 0)
		rc = addr_add(&nl, idx, x->ip);
	if (rc == 0)
		rc = route_add(&nl, idx, gw, 32, 0);
	if (rc == 0)
		rc = route_add(&nl, idx, 0, 0, gw);
	if (rc < 0)
		snprintf(x->err, x->errlen, "configuring %s: %s", x->ifname,
			 strerror(-rc));
	mnl_socket_close(nl.sk);
	if (x->out) {
		x->out->ifindex = idx;
		if (rc == 0)
			rc = link_info(x->ifname, x->out);
	}
	return rc;
}

int ctl_pod_net_setup(const char *netns, const char *ifname, uint32_t ip,
		      int mtu, struct ctl_pod_link *out, char *err,
		      size_t errlen)
{
	struct pod_arg x = {ifname, ip, mtu, out, err, errlen};

	if (out)
		memset(out, 0, sizeof(*out));
	return in_netns(netns, do_setup, &x, err, errlen);
}

/* What the dumps found. */
struct seen {
	int ifindex;
	uint32_t ip, gw;
	bool addr, gw_route, default_route;
};

static int on_addr(const struct nlmsghdr *h, void *arg)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(h);
	struct seen *s = arg;
	const struct nlattr *a;

	if (ifa->ifa_family != AF_INET || (int)ifa->ifa_index != s->ifindex)
		return MNL_CB_OK;
	mnl_attr_for_each(a, h, sizeof(*ifa)) {
		if (mnl_attr_get_type(a) == IFA_LOCAL &&
		    mnl_attr_get_payload_len(a) == 4 &&
		    ntohl(mnl_attr_get_u32(a)) == s->ip &&
		    ifa->ifa_prefixlen == 32)
			s->addr = true;
	}
	return MNL_CB_OK;
}

static int on_route(const struct nlmsghdr *h, void *arg)
{
	const struct rtmsg *rt = mnl_nlmsg_get_payload(h);
	uint32_t dst = 0, gw = 0;
	struct seen *s = arg;
	const struct nlattr *a;
	int oif = 0;

	if (rt->rtm_family != AF_INET || rt->rtm_table != RT_TABLE_MAIN)
		return MNL_CB_OK;
	mnl_attr_for_each(a, h, sizeof(*rt)) {
		switch (mnl_attr_get_type(a)) {
		case RTA_DST:
			dst = ntohl(mnl_attr_get_u32(a));
			break;
		case RTA_GATEWAY:
			gw = ntohl(mnl_attr_get_u32(a));
			break;
		case RTA_OIF:
			oif = (int)mnl_attr_get_u32(a);
			break;
		}
	}
	if (oif != s->ifindex)
		return MNL_CB_OK;
	if (rt->rtm_dst_len == 32 && dst == s->gw && gw == 0)
		s->gw_route = true;
	if (rt->rtm_dst_len == 0 && gw == s->gw)
		s->default_route = true;
	return MNL_CB_OK;
}

static int dump(struct nl *nl, uint16_t type, unsigned char family,
		mnl_cb_t cb, void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *h = nl_msg(buf, type, NLM_F_DUMP);
	struct rtgenmsg *g = mnl_nlmsg_put_extra_header(h, sizeof(*g));

	g->rtgen_family = family;
	return nl_talk(nl, h, cb, arg);
}

static int do_check(void *p)
{
	struct pod_arg *x = p;
	struct seen s = {.ip = x->ip, .gw = gateway()};
	struct nl nl;
	int rc;

	if ((s.ifindex = pod_ifindex(x)) < 0)
		return s.ifindex;
	if ((rc = nl_open(&nl)) < 0)
		return rc;
	rc = dump(&nl, RTM_GETADDR, AF_INET, on_addr, &s);
	if (rc == 0)
		rc = dump(&nl, RTM_GETROUTE, AF_INET, on_route, &s);
	mnl_socket_close(nl.sk);
	if (rc < 0) {
		snprintf(x->err, x->errlen, "netlink dump: %s", strerror(-rc));
		return rc;
	}
	if (!s.addr) {
		struct in_addr a = {.s_addr = htonl(x->ip)};
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		snprintf(x->err, x->errlen, "%s: address %s/32 missing",
			 x->ifname, ip);
		return -ENXIO;
	}
	if (!s.gw_route || !s.default_route) {
		snprintf(x->err, x->errlen, "%s: %s missing", x->ifname,
			 !s.gw_route ? "route to " CTL_POD_GATEWAY :
				       "default route via " CTL_POD_GATEWAY);
		return -ENXIO;
	}
	return 0;
}

int ctl_pod_net_check(const char *netns, const char *ifname, uint32_t ip,
		      char *err, size_t errlen)
{
	struct pod_arg x = {ifname, ip, 0, NULL, err, errlen};

	return in_netns(netns, do_check, &x, err, errlen);
}
