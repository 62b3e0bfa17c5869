/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Kernel interface plumbing for pod ports, over rtnetlink (libmnl). Shared
 * by kdp (tap pod ports) and kdp-cni (the pod side of the link).
 *
 * A tap pod port is created by the tap PMD in kdp's own network namespace
 * under a temporary name; ctl_link_move() then hands it to the pod: one
 * RTM_NEWLINK moves it into the pod's netns (IFLA_NET_NS_FD) under its final
 * name (IFLA_IFNAME), sets the pod's MAC and MTU and brings it up. The kernel
 * applies the namespace change first and the rest in the target namespace,
 * so kdp never has to enter the pod's namespace for that.
 *
 * The pod side of the link is Calico style: the pod's address as a /32 and
 * everything through the link-local gateway 169.254.1.1, which kdp answers
 * for (proxy ARP), so the pod needs no subnet knowledge. ctl_pod_net_setup()
 * writes that (kdp-cni at ADD, kdp when it re-creates a tap after a
 * restart); addresses and routes cannot be set from outside a netns, so the
 * calling thread enters the pod's netns with setns() for the duration of
 * the call (the netns is per-thread) and returns to its own.
 *
 * Thread-safety: any thread; each call opens its own netlink socket.
 */
#ifndef KDP_CONTROL_NETLINK_H
#define KDP_CONTROL_NETLINK_H

#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>

/** The pods' gateway: link-local, answered by kdp. */
#define CTL_POD_GATEWAY "169.254.1.1"

/**
 * Move kdp-side interface @p ifname into the namespace at @p netns_path
 * (a /proc/PID/ns/net or /var/run/netns/NAME file), renamed @p newname,
 * with @p mac and @p mtu, and set it up.
 * @return 0, or -errno with a message in @p err (-EEXIST: @p newname is
 * taken in the pod's namespace).
 */
int ctl_link_move(const char *ifname, const char *netns_path,
		  const char *newname, const struct rte_ether_addr *mac,
		  uint16_t mtu, char *err, size_t errlen);

/** True when @p name is a valid Linux interface name of printable ASCII
 * (the kernel also takes other bytes but whitespace; kdp does not). */
int ctl_link_name_ok(const char *name);

/** What ctl_pod_net_setup() left on the pod's interface. */
struct ctl_pod_link {
	int ifindex;
	struct rte_ether_addr mac;
	int mtu;
};

/**
 * In netns @p netns: bring @p ifname up (with @p mtu when > 0), give it
 * @p ip/32 (host order), a link route to CTL_POD_GATEWAY and a default route
 * via it (onlink). Idempotent (replaces existing entries).
 * @param out may be NULL.
 * @return 0, -ENOENT (netns or interface missing), other -errno; @p err
 *   says what failed.
 */
int ctl_pod_net_setup(const char *netns, const char *ifname, uint32_t ip,
		      int mtu, struct ctl_pod_link *out, char *err,
		      size_t errlen);

/**
 * Verify what ctl_pod_net_setup() did.
 * @return 0, -ENOENT (netns/interface missing), -ENXIO (address or route
 *   missing; @p err says which), other -errno.
 */
int ctl_pod_net_check(const char *netns, const char *ifname, uint32_t ip,
		      char *err, size_t errlen);

#endif /* KDP_CONTROL_NETLINK_H */
