/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Path MTU of the IPIP tunnels, learned from the underlay (RFC 2003 5.1,
 * as Linux's ipip_err() does).
 *
 * A router between two nodes whose link is narrower than the uplink's MTU
 * drops an IPIP packet with DF and tells the sender, the node IP, in an
 * ICMP "fragmentation needed" that quotes the outer header. Without this
 * the host would get it and ignore it, and a pod's TCP over that tunnel
 * would hang on its first full-size segment (a PMTU black hole). Workers
 * punt such messages (pipeline/burst.c); control keeps, per remote node,
 * the smallest MTU reported, for CTL_PMTU_EXPIRE_MS as Linux keeps a
 * learned PMTU (net.ipv4.route.mtu_expires), and the tables' IPIP next
 * hop to that node carries it less the outer header: a pod's larger DF
 * packet gets "fragmentation needed" with that MTU from kdp.
 *
 * Thread-safety: control thread only (telemetry reads it under the
 * control lock).
 */
#ifndef KDP_CONTROL_PMTU_H
#define KDP_CONTROL_PMTU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The smallest MTU learned: Linux's net.ipv4.route.min_pmtu. */
#define CTL_PMTU_MIN 552
/** How long a learned MTU holds: Linux's net.ipv4.route.mtu_expires. */
#define CTL_PMTU_EXPIRE_MS (600u * 1000u)
/** Nodes with a learned MTU at once; the soonest to expire makes room. */
#define CTL_PMTU_MAX 128

struct ctl_pmtu;

struct ctl_pmtu *ctl_pmtu_create(void);
void ctl_pmtu_free(struct ctl_pmtu *p);

/**
 * Read an ICMP "fragmentation needed" (type 3 code 4) about an IPIP packet
 * this node sent: @p ip is the IPv4 header of the ICMP packet, @p len the
 * bytes from there on. The quoted header must be IPIP from @p self_ip
 * (host order); *@p node gets its destination (host order) and *@p mtu
 * the next-hop MTU.
 * @return 0, or -EINVAL (anything else, a bad checksum, a truncated or
 * zero MTU: RFC 1191's plateaus are not guessed).
 */
int ctl_pmtu_parse(const uint8_t *ip, size_t len, uint32_t self_ip,
		   uint32_t *node, uint16_t *mtu);

/**
 * Note that the path to @p node (host order) takes at most @p mtu bytes
 * (raised to CTL_PMTU_MIN), at @p now_ms. Only a smaller MTU than the one
 * in force (@p uplink_mtu, or one learned before) is taken, and it holds
 * CTL_PMTU_EXPIRE_MS from now; the same one again holds longer.
 * @return true when the MTU to @p node changed.
 */
bool ctl_pmtu_learn(struct ctl_pmtu *p, uint32_t node, uint16_t mtu,
		    uint16_t uplink_mtu, uint64_t now_ms);

/** Forget what has expired at @p now_ms. @return true if anything did. */
bool ctl_pmtu_expire(struct ctl_pmtu *p, uint64_t now_ms);

/** The MTU learned for @p node (host order), or 0. */
uint16_t ctl_pmtu_get(const struct ctl_pmtu *p, uint32_t node);

/** Visit every learned MTU (in no order). */
void ctl_pmtu_foreach(const struct ctl_pmtu *p,
		      void (*fn)(void *arg, uint32_t node, uint16_t mtu,
				 uint64_t expire_ms),
		      void *arg);

#endif /* KDP_CONTROL_PMTU_H */
