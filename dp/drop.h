/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The one list of drop reasons. It generates the enum, the names shown by
 * /kdp/stats and the help text. Every dropped packet increments exactly one.
 */
#ifndef KDP_DP_DROP_H
#define KDP_DP_DROP_H

#define foreach_dp_drop(_)                                                   \
	_(RUNT, "runt", "frame shorter than its headers")                    \
	_(L2_OTHER_HOST, "l2_other_host",                                    \
	  "uplink: unicast frame for another host's MAC")                    \
	_(L2_NOT_UNICAST, "l2_not_unicast",                                  \
	  "uplink: IPv4 in a broadcast or multicast frame")                  \
	_(VLAN, "vlan", "VLAN-tagged frame (not supported)")                 \
	_(NOT_IP, "not_ip", "ethertype is neither IPv4 nor ARP")             \
	_(IP_VERSION, "ip_version", "IPv4 header with version != 4")         \
	_(IP_IHL, "ip_ihl", "IPv4 header length below 20 bytes")             \
	_(IP_LEN, "ip_len", "IPv4 total length inconsistent with frame")     \
	_(IP_CKSUM, "ip_cksum", "bad IPv4 header checksum")                  \
	_(IP_BAD_SRC, "ip_bad_src",                                          \
	  "source on network 0 or 127, broadcast, multicast, or the node's " \
	  "own address from the uplink")                                     \
	_(IP_BAD_DST, "ip_bad_dst", "destination is 0, broadcast or multicast") \
	_(FRAG_BAD, "frag_bad", "fragment offset beyond 64 KiB")             \
	_(IP_OPTIONS, "ip_options",                                          \
	  "IPv4 option with a bad length (RFC 791 3.1)")                     \
	_(IP_SOURCE_ROUTE, "ip_source_route",                                \
	  "source-routed IPv4 (LSRR/SSRR option; RFC 7126 4.3, 4.4)")       \
	_(ARP_BAD, "arp_bad", "malformed or non-Ethernet/IPv4 ARP")          \
	_(ARP_IGNORED, "arp_ignored", "ARP not for us")                      \
	_(SPOOF_SRC_IP, "spoof_src_ip", "pod sent a source IP not its own")  \
	_(SPOOF_SRC_MAC, "spoof_src_mac", "pod sent a source MAC not its own") \
	_(IPIP_FROM_POD, "ipip_from_pod", "IPIP packet sent by a pod")       \
	_(IPIP_UNKNOWN_NODE, "ipip_unknown_node",                            \
	  "IPIP from a source that is not a known node IP")                  \
	_(IPIP_INNER_BAD, "ipip_inner_bad", "invalid inner IPv4 packet")     \
	_(IPIP_ECN, "ipip_ecn",                                              \
	  "Not-ECT inner packet under a CE outer header (RFC 6040)")         \
	_(IPIP_INNER_NOT_LOCAL, "ipip_inner_not_local",                      \
	  "decapsulated packet not for a local pod or the node")             \
	_(IPIP_TO_HOST, "ipip_to_host",                                      \
	  "IPIP for the node not decapsulated by kdp (nested, or to the "   \
	  "tunnel IP)")                                                      \
	_(UPLINK_NOT_LOCAL, "uplink_not_local",                              \
	  "packet from the uplink not for a local pod or the node")          \
	_(NO_ROUTE, "no_route", "no route to the destination")               \
	_(BLACKHOLE, "blackhole", "local block address with no pod")         \
	_(NO_PORT, "no_port", "local pod has no port")                       \
	_(TTL_EXCEEDED, "ttl_exceeded", "TTL expired in transit")            \
	_(TOO_BIG, "too_big", "larger than the path MTU")                    \
	_(HOST_NO_PORT, "host_no_port", "for the node but no host port")     \
	_(HOST_LOOP, "host_loop",                                            \
	  "from the host port and routed back to it (an untranslated "      \
	  "Service address)")                                                \
	_(NEIGH_QUEUE_FULL, "neigh_queue_full",                              \
	  "next hop unresolved and its queue is full")                       \
	_(NEIGH_FAILED, "neigh_failed", "next hop did not answer ARP")       \
	_(PUNT_FULL, "punt_full", "worker to control ring full")             \
	_(TX_FULL, "tx_full", "port tx queue full")                          \
	_(NO_MBUF, "no_mbuf", "mbuf pool exhausted")                         \
	_(RX_TOO_LONG, "rx_too_long",                                        \
	  "frame longer than an mbuf, from a native tap (dp/vport.h)")       \
	_(POLICY_DENY, "policy_deny", "denied by network policy")            \
	_(CT_INVALID, "ct_invalid",                                          \
	  "no conntrack entry and not a valid flow start, or bad L4 header") \
	_(CT_FULL, "ct_full", "new flow, conntrack table full")              \
	_(HANDOFF_FULL, "handoff_full",                                      \
	  "ring to the worker owning the flow full")

enum dp_drop {
#define _(sym, name, help) DP_DROP_##sym,
	foreach_dp_drop(_)
#undef _
	DP_DROP_MAX
};

/** Telemetry name of a drop reason. */
const char *dp_drop_name(enum dp_drop d);
/** One-line description of a drop reason. */
const char *dp_drop_help(enum dp_drop d);

#endif /* KDP_DP_DROP_H */
