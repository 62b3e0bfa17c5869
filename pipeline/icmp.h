/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * ICMP errors the pipeline originates (time exceeded, fragmentation needed).
 * Cold path: callers rate-limit before building.
 */
#ifndef KDP_PIPELINE_ICMP_H
#define KDP_PIPELINE_ICMP_H

#include <stdbool.h>

#include <rte_mbuf.h>

#define PL_ICMP_DEST_UNREACH 3
#define PL_ICMP_FRAG_NEEDED 4
#define PL_ICMP_TIME_EXCEEDED 11

/** Bytes of the offending datagram quoted: up to a 576-byte error (RFC 1812). */
#define PL_ICMP_QUOTE_MAX (576 - 20 - 8)

/**
 * May @p orig (Ethernet + IPv4) get an ICMP error at all? Not when it is
 * itself an ICMP error, a non-first fragment, or from a special address.
 * Callers ask before spending the rate limit on it.
 */
bool pl_icmp_wanted(const struct rte_mbuf *orig);

/**
 * Build an ICMP error about @p orig (Ethernet + IPv4, left untouched) into a
 * new mbuf from @p mp: Ethernet room, IPv4 from @p src to orig's source,
 * TTL 64, then the ICMP header and as much of the original as fits.
 * @p mtu is the next-hop MTU for fragmentation-needed, else 0. @p id is
 * the IPv4 ID: errors are not atomic datagrams (DF clear, as Linux sends
 * them), so their IDs must not repeat within a packet's lifetime for one
 * source, destination and protocol (RFC 6864 4.2).
 * @return the new packet, or NULL when none must be sent (the original is
 *   itself an ICMP error, a non-first fragment, or from a special address)
 *   or no mbuf was free.
 */
struct rte_mbuf *pl_icmp_build(struct rte_mempool *mp,
			       const struct rte_mbuf *orig, rte_be32_t src,
			       uint8_t type, uint8_t code, uint16_t mtu,
			       uint16_t id);

#endif /* KDP_PIPELINE_ICMP_H */
