/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
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
	for (size_t i = 0; i < n; i++)
		if (name[i] == '/' || name[i] == ':' || name[i] <= ' ' ||
		    name[i] == 0x7f)
			return 0;
	return 1;
}

/* Send one request and wait for its ACK. 0 or -errno from the kernel. */
static int nl_request(struct mnl_socket *nl, struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int portid = mnl_socket_get_portid(nl);
	uint32_t seq = nlh->nlmsg_seq;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		int rc = mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL);
		if (rc == MNL_CB_ERROR)
			return errno ? -errno : -EIO;
		if (rc == MNL_CB_STOP)
			return 0;
	}
}

int ctl_link_move(const char *ifname, const char *netns_path,
		  const char *newname, const struct rte_ether_addr *mac,
		  uint16_t mtu, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = NULL;
	int nsfd = -1, rc;

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
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (nl == NULL || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		snprintf(err, errlen, "netlink: %s", strerror(errno));
		goto out;
	}
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = (int)ifindex;
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)nsfd);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, newname);
	mnl_attr_put(nlh, IFLA_ADDRESS, RTE_ETHER_ADDR_LEN, mac->addr_bytes);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	rc = nl_request(nl, nlh);
	if (rc)
		snprintf(err, errlen, "moving %s to %s as %s: %s", ifname,
			 netns_path, newname, strerror(-rc));
out:
	if (nl)
		mnl_socket_close(nl);
	close(nsfd);
	return rc;
}
