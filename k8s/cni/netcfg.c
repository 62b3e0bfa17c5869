/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pod side of the link. The netlink work is shared with kdp, which
 * writes the same configuration when it re-creates a tap after a restart
 * (control/netlink.h); this adds the CNI result's view of the link.
 */
#include <stdio.h>
#include <string.h>

#include "control/netlink.h"
#include "k8s/cni/cni.h"

int cni_net_setup(const char *netns, const char *ifname, uint32_t ip, int mtu,
		  struct cni_link *out, char *err, size_t errlen)
{
	struct ctl_pod_link l;
	int rc = ctl_pod_net_setup(netns, ifname, ip, mtu, &l, err, errlen);
	const uint8_t *m = l.mac.addr_bytes;

	memset(out, 0, sizeof(*out));
	out->ifindex = l.ifindex;
	out->mtu = l.mtu;
	snprintf(out->mac, sizeof(out->mac), "%02x:%02x:%02x:%02x:%02x:%02x",
		 m[0], m[1], m[2], m[3], m[4], m[5]);
	return rc;
}

int cni_net_check(const char *netns, const char *ifname, uint32_t ip,
		  char *err, size_t errlen)
{
	return ctl_pod_net_check(netns, ifname, ip, err, errlen);
}
