/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Kernel interface plumbing for pod ports, over rtnetlink (libmnl).
 *
 * A tap pod port is created by the tap PMD in kdp's own network namespace
 * under a temporary name; ctl_link_move() then hands it to the pod: one
 * RTM_NEWLINK moves it into the pod's netns (IFLA_NET_NS_FD) under its final
 * name (IFLA_IFNAME), sets the pod's MAC and MTU and brings it up. The kernel
 * applies the namespace change first and the rest in the target namespace,
 * so kdp never has to enter the pod's namespace.
 *
 * Thread-safety: any thread; each call opens its own netlink socket.
 */
#ifndef KDP_CONTROL_NETLINK_H
#define KDP_CONTROL_NETLINK_H

#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>

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

/** True when @p name is a valid Linux interface name. */
int ctl_link_name_ok(const char *name);

#endif /* KDP_CONTROL_NETLINK_H */
