/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker pipeline's per-burst code (see pipeline.h for the stages):
 * pl_process_burst() and pl_handoff_drain(), with every stage they inline.
 *
 * This file is compiled once per instruction-set variant (burst.h): the
 * base build, and on x86-64 also with AVX2, which the CPU is asked for at
 * run time (pl_ctx_init()). Only the two entry points are named per
 * variant; everything else here is static, so each variant has its own.
 */
#include <stdio.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_fib.h>
#include <rte_hash.h>
#include <rte_prefetch.h>

#include "acl/acl.h"
#include "acl/ct_fast.h"
#include "encap/encap_fast.h"
#include "pipeline/burst.h"
#include "pipeline/icmp.h"
#include "pipeline/parse_fast.h"
#include "pipeline/pipeline.h"
#include "pipeline/stages_fast.h"
#include "pipeline/express_fast.h"
#include "pipeline/frag_fast.h"

/* Stage 3 for one packet, below. */
static void pl_route_one(struct pl_ctx *c, const struct pl_tables *t,
			 struct rte_mbuf *m, uint64_t nh_idx, uint16_t in_port,
			 bool local_origin);

static inline void pl_punt(struct pl_ctx *c, struct rte_mbuf *m,
			   enum pl_punt why, uint32_t arg, uint16_t in_port)
{
	m->hash.usr = ((uint32_t)why << 24) | (arg & 0xffffff);
	if (unlikely(rte_ring_sp_enqueue(c->punt, m) != 0)) {
		pl_drop(c, m, DP_DROP_PUNT_FULL, in_port);
		return;
	}
	c->st->punted++;
}


/*
 * Proxy ARP on pod and host ports (Calico's model): every request is
 * answered with the gateway MAC, except probes and gratuitous requests,
 * which must not make the pod believe its own address is taken.
 */
static void pl_pod_arp(struct pl_ctx *c, const struct pl_tables *t,
		       struct rte_mbuf *m, uint16_t in_port)
{
	if (rte_pktmbuf_data_len(m) < PL_ETH_HLEN + sizeof(struct rte_arp_hdr)) {
		pl_drop(c, m, DP_DROP_ARP_BAD, in_port);
		return;
	}
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	if (arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4) {
		pl_drop(c, m, DP_DROP_ARP_BAD, in_port);
		return;
	}
	const struct pl_port *pp = &t->port[in_port];
	bool learn = pp->role == PL_PORT_POD &&
		     !(pl_neigh_load(t->ep[pp->ep].neigh) & PL_NEIGH_VALID);
	uint16_t op = rte_be_to_cpu_16(arp->arp_opcode);

	if (op == RTE_ARP_OP_REPLY) {
		/* An answer to control's resolution of the pod's MAC. */
		if (pp->role == PL_PORT_POD)
			pl_punt(c, m, PL_PUNT_ARP, 0, in_port);
		else
			pl_drop(c, m, DP_DROP_ARP_IGNORED, in_port);
		return;
	}
	if (op != RTE_ARP_OP_REQUEST ||
	    arp->arp_data.arp_sip == 0 ||
	    arp->arp_data.arp_sip == arp->arp_data.arp_tip) {
		pl_drop(c, m, DP_DROP_ARP_IGNORED, in_port);
		return;
	}
	if (learn) {
		/* Control learns the pod's MAC from a copy. */
		struct rte_mbuf *cp = rte_pktmbuf_copy(m, c->mp, 0, UINT32_MAX);
		if (cp != NULL) {
			cp->port = in_port;
			pl_punt(c, cp, PL_PUNT_ARP, 0, in_port);
		}
	}
	rte_be32_t tip = arp->arp_data.arp_tip;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	arp->arp_data.arp_tha = arp->arp_data.arp_sha;
	arp->arp_data.arp_tip = arp->arp_data.arp_sip;
	arp->arp_data.arp_sha = gw_mac;
	arp->arp_data.arp_sip = tip;
	/* RFC 826: to the requester's hardware address, as control answers
	 * on the uplink; and the ARP message alone, zero-padded to the
	 * Ethernet minimum: the request's trailing bytes are not echoed. */
	eth->dst_addr = arp->arp_data.arp_tha;
	eth->src_addr = gw_mac;
	uint32_t len = RTE_MIN(rte_pktmbuf_pkt_len(m),
			       (uint32_t)(RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN));
	rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - len);
	memset(arp + 1, 0, rte_pktmbuf_data_len(m) - PL_ETH_HLEN - sizeof(*arp));
	m->port = in_port;
	c->st->arp_replied++;
	pl_ctx_tx(c, m);
}

/* Does the pod own this source address (and MAC, when known)? */
static inline enum dp_drop pl_pod_src_check(const struct pl_ep *ep,
					    const struct rte_ether_hdr *eth,
					    rte_be32_t src)
{
	if (ep->mac_known && !rte_is_same_ether_addr(&eth->src_addr, &ep->mac))
		return DP_DROP_SPOOF_SRC_MAC;
	for (unsigned int i = 0; i < ep->n_ips; i++)
		if (ep->ips[i] == src)
			return DP_DROP_MAX;
	return DP_DROP_SPOOF_SRC_IP;
}

/*
 * Finish a frame toward a neighbor slot: write the L2 header, and send it,
 * or hold it in control until the slot resolves.
 */
static __rte_always_inline void
pl_l2_out(struct pl_ctx *c, struct rte_mbuf *m, uint16_t port, uint32_t slot,
	  const struct rte_ether_addr *src, uint16_t in_port)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	uint64_t mac = pl_neigh_load(slot);

	m->port = port;
	if (unlikely(!(mac & PL_NEIGH_VALID))) {
		eth->src_addr = *src;
		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
		pl_punt(c, m, PL_PUNT_HOLD, slot, in_port);
		return;
	}
	/*
	 * The slot holds the MAC with byte 0 lowest: one 8-byte store puts
	 * it in place (its top two bytes land on the source MAC, written
	 * next), instead of six byte stores.
	 */
	uint64_t dst = rte_cpu_to_le_64(mac);
	memcpy(eth, &dst, sizeof(dst));
	eth->src_addr = *src;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	pl_tx(c, m, port);
}

/* Rate limit for ICMP errors: one token per PL_ICMP_RATE-th of a second. */
static bool pl_icmp_allowed(struct pl_ctx *c)
{
	uint64_t now = rte_get_tsc_cycles();
	uint64_t add = (now - c->icmp_last) / c->icmp_period;

	if (add) {
		c->icmp_tokens = RTE_MIN(c->icmp_tokens + add,
					 (uint64_t)PL_ICMP_BURST);
		c->icmp_last += add * c->icmp_period;
	}
	if (c->icmp_tokens == 0) {
		c->st->icmp_ratelimited++;
		return false;
	}
	c->icmp_tokens--;
	return true;
}

static void pl_icmp_error(struct pl_ctx *c, const struct pl_tables *t,
			  struct rte_mbuf *m, uint8_t type, uint8_t code,
			  uint16_t mtu, uint16_t in_port);

/* Send an ICMP error about @p m (which the caller still owns). */
static __rte_noinline void pl_icmp_error(struct pl_ctx *c, const struct pl_tables *t,
			  struct rte_mbuf *m, uint8_t type, uint8_t code,
			  uint16_t mtu, uint16_t in_port)
{
	/* Ineligible packets must not spend (or count against) the limit. */
	if (t->icmp_src == 0 || !pl_icmp_wanted(m) || !pl_icmp_allowed(c))
		return;
	/* To the node itself (its own packet through the host port), not
	 * from the node IP: the host's kernel drops a packet from its own
	 * address that comes in on an interface as a martian, and a
	 * traceroute or a PMTU probe of the host's would see nothing. From
	 * the pods' gateway instead, the address kdp answers for. */
	rte_be32_t src = t->icmp_src;
	if (pl_ip_src_is_own(t, rte_pktmbuf_mtod_offset(
				     m, const struct rte_ipv4_hdr *,
				     PL_ETH_HLEN)->src_addr))
		src = rte_cpu_to_be_32(PL_GW_IP);
	/* The IDs of our encapsulations' counter: unique for the node's
	 * address whatever the destination (RFC 6864). */
	struct rte_mbuf *e = pl_icmp_build(c->mp, m, src, type, code, mtu,
					   c->ip_id++);
	if (e == NULL)
		return;
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(
		e, const struct rte_ipv4_hdr *, PL_ETH_HLEN);
	uint32_t dst = rte_be_to_cpu_32(ip->dst_addr);
	uint64_t nh = 0;
	rte_fib_lookup_bulk(t->fib, &dst, &nh, 1);
	c->st->icmp_sent++;
	pl_route_one(c, t, e, nh, in_port, true);
}

/*
 * Stage 3 for one packet: @p m starts with an Ethernet header (to be
 * rewritten) and a valid IPv4 packet. Every case; the burst loop first
 * tries pl_rw_apply() (rewrite_fast.h) for the common one.
 */
static __rte_noinline void
pl_route_one(struct pl_ctx *c, const struct pl_tables *t, struct rte_mbuf *m,
	     uint64_t nh_idx, uint16_t in_port, bool local_origin)
{
	if (unlikely(nh_idx >= t->n_nh))
		nh_idx = 0;
	const struct pl_nh *nh = &t->nh[nh_idx];
	struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, PL_ETH_HLEN);

	switch (nh->kind) {
	case PL_NH_POD:
	case PL_NH_IPIP:
	case PL_NH_DIRECT:
		break;
	case PL_NH_LOCAL:
		if (t->host_port == UINT16_MAX) {
			pl_drop(c, m, DP_DROP_HOST_NO_PORT, in_port);
			return;
		}
		/* The host routed it to us, and we would route it back: a
		 * Service address its rules did not translate (an unused
		 * one of host.service_cidrs), whose loop through the host's
		 * default route via kdp would only end with its TTL. */
		if (unlikely(in_port == t->host_port && !local_origin)) {
			pl_drop(c, m, DP_DROP_HOST_LOOP, in_port);
			return;
		}
		/* The kernel answers for the node: no routed hop. */
		pl_l2_out(c, m, t->host_port, t->nh[t->host_nh].neigh,
			  &t->port[t->host_port].mac, in_port);
		return;
	case PL_NH_BLACKHOLE:
		pl_drop(c, m, DP_DROP_BLACKHOLE, in_port);
		return;
	case PL_NH_POD_NO_PORT:
		pl_drop(c, m, DP_DROP_NO_PORT, in_port);
		return;
	default:
		pl_drop(c, m, DP_DROP_NO_ROUTE, in_port);
		return;
	}

	if (!local_origin) {
		if (unlikely(ip->time_to_live <= 1)) {
			pl_icmp_error(c, t, m, PL_ICMP_TIME_EXCEEDED, 0, 0,
				      in_port);
			pl_drop(c, m, DP_DROP_TTL_EXCEEDED, in_port);
			return;
		}
		pl_ipv4_dec_ttl(ip);
	}

	if (nh->kind == PL_NH_POD) {
		pl_l2_out(c, m, nh->port, nh->neigh, &gw_mac, in_port);
		return;
	}

	uint16_t len = rte_be_to_cpu_16(ip->total_length);
	if (unlikely(len > nh->mtu)) {
		/* Without DF we drop rather than fragment: see README. */
		if (ip->fragment_offset &
		    rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG))
			pl_icmp_error(c, t, m, PL_ICMP_DEST_UNREACH,
				      PL_ICMP_FRAG_NEEDED, nh->mtu, in_port);
		pl_drop(c, m, DP_DROP_TOO_BIG, in_port);
		return;
	}
	if (nh->kind == PL_NH_IPIP) {
		if (unlikely(encap_ipip_push(m, t->self_ip, nh->outer_dst,
					     c->ip_id++) == NULL)) {
			pl_drop(c, m, DP_DROP_NO_MBUF, in_port);
			return;
		}
		c->st->ipip_encap++;
	}
	pl_l2_out(c, m, nh->port, nh->neigh, &t->port[nh->port].mac, in_port);
}

/* Next-hop kinds that route the packet on (stage 3's common case). */

/* Whether @p node (network order) is a known node's IP. */
static inline bool pl_is_node(const struct pl_tables *t, rte_be32_t node)
{
	return likely(t->node_set != NULL) ? pl_node_set_has(t, node) :
	       rte_hash_lookup(t->nodes, &node) >= 0;
}

/*
 * An ICMP "fragmentation needed" to the node IP about an IPIP packet we
 * sent to another node: control learns that tunnel's MTU from it
 * (control/pmtu.h), as Linux's ipip_err() would; the host, which did not
 * send it, has no use for it. True when @p m was consumed.
 */
static __rte_noinline bool pl_pmtu_punt(struct pl_ctx *c,
					const struct pl_tables *t,
					struct rte_mbuf *m,
					const struct rte_ipv4_hdr *ip,
					uint16_t in_port)
{
	uint32_t hl = (ip->version_ihl & 0xf) * 4u;

	if (rte_pktmbuf_data_len(m) < PL_ETH_HLEN + hl + 8 + 20 ||
	    (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK)))
		return false;
	const uint8_t *icmp = (const uint8_t *)ip + hl;
	const struct rte_ipv4_hdr *q =
		(const struct rte_ipv4_hdr *)(icmp + 8);

	if (icmp[0] != PL_ICMP_DEST_UNREACH || icmp[1] != PL_ICMP_FRAG_NEEDED ||
	    (q->version_ihl >> 4) != 4 || q->next_proto_id != IPPROTO_IPIP ||
	    q->src_addr != t->self_ip || !pl_is_node(t, q->dst_addr))
		return false;
	pl_punt(c, m, PL_PUNT_PMTU, 0, in_port);
	return true;
}

/*
 * Stage 1 on the uplink. Returns true when @p m should be routed (the inner
 * packet, after decapsulation); false when it was consumed.
 */
static inline bool pl_uplink_in(struct pl_ctx *c, const struct pl_tables *t,
				struct rte_mbuf *m, uint16_t in_port,
				bool *decapped)
{
	struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, PL_ETH_HLEN);

	*decapped = false;
	/* A martian, as Linux takes it (a local source from outside): the
	 * node's own addresses only ever come from the host port, and the
	 * policy stage does not police them (pl_pol_exempt()). */
	if (unlikely(pl_ip_src_is_own(t, ip->src_addr))) {
		pl_drop(c, m, DP_DROP_IP_BAD_SRC, in_port);
		return false;
	}
	if (ip->dst_addr != t->self_ip || t->self_ip == 0)
		return true; /* stage 3 only lets local pods through */
	if (ip->next_proto_id != IPPROTO_IPIP) {
		if (unlikely(ip->next_proto_id == IPPROTO_ICMP) &&
		    pl_pmtu_punt(c, t, m, ip, in_port))
			return false;
		return true; /* host traffic: the FIB has the node IP → LOCAL */
	}

	/*
	 * IPIP is accepted only from a known node (calico-model.md §2.7). The
	 * hash key is copied: in the frame it sits 2 bytes off 4-byte
	 * alignment, and the CRC hash loads it as a uint32_t.
	 */
	rte_be32_t outer_src = ip->src_addr;
	if (!pl_is_node(t, outer_src)) {
		pl_drop(c, m, DP_DROP_IPIP_UNKNOWN_NODE, in_port);
		return false;
	}
	uint16_t ohl = (ip->version_ihl & 0xf) * 4;
	if (rte_be_to_cpu_16(ip->fragment_offset) &
	    (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) {
		/* We never fragment our outer headers; nor do peers (DF). */
		pl_drop(c, m, DP_DROP_IPIP_INNER_BAD, in_port);
		return false;
	}
	/*
	 * The NIC's checksum flags vouch for neither header of an IPIP frame:
	 * one that parses the tunnel reports the inner header in RX_IP_CKSUM
	 * (and the outer in RX_OUTER_IP_CKSUM_BAD), one that does not reports
	 * the outer. Stage 1 took a GOOD for the outer header: test its sum
	 * now, and the inner's below with the flags cleared.
	 */
	if (unlikely(m->ol_flags & (RTE_MBUF_F_RX_IP_CKSUM_GOOD |
				    RTE_MBUF_F_RX_OUTER_IP_CKSUM_BAD))) {
		if ((m->ol_flags & RTE_MBUF_F_RX_OUTER_IP_CKSUM_BAD) ||
		    pl_ip_hdr_sum(ip, ohl) != 0xffff) {
			pl_drop(c, m, DP_DROP_IP_CKSUM, in_port);
			return false;
		}
		m->ol_flags &= ~RTE_MBUF_F_RX_IP_CKSUM_MASK;
	}
	/* The same test as pl_ipv4_check(.., true), with its shortcut for
	 * the common header. */
	if (pl_ipv4_check_fast(m, PL_ETH_HLEN + ohl) != DP_DROP_MAX) {
		pl_drop(c, m, DP_DROP_IPIP_INNER_BAD, in_port);
		return false;
	}
	struct rte_ipv4_hdr *inner =
		rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
					PL_ETH_HLEN + ohl);
	if (unlikely(pl_ip_src_is_own(t, inner->src_addr))) {
		pl_drop(c, m, DP_DROP_IP_BAD_SRC, in_port);
		return false;
	}
	/* The outer ECN field at the tunnel's egress (RFC 6040 4.2, as
	 * Linux's ip_tunnel_rcv()): an underlay's congestion mark reaches
	 * the inner packet. */
	uint8_t iecn = inner->type_of_service & RTE_IPV4_HDR_ECN_MASK;
	int ecn = pl_ecn_decap(iecn, ip->type_of_service & RTE_IPV4_HDR_ECN_MASK);
	if (unlikely(ecn != iecn)) {
		if (ecn < 0) {
			pl_drop(c, m, DP_DROP_IPIP_ECN, in_port);
			return false;
		}
		pl_ipv4_set_tos(inner,
				(uint8_t)((inner->type_of_service &
					   ~RTE_IPV4_HDR_ECN_MASK) | ecn));
	}
	encap_ipip_pop(m, ohl);
	c->st->ipip_decap++;
	*decapped = true;
	return true;
}

/*
 * Stage 2b: network policy. Policy applies to packets a local pod sent
 * (egress) or that go to a local pod (ingress); the rest pass untouched.
 * Conntrack is looked up in bulk: parse and hash every policed packet and
 * prefetch its slot, then walk. Survivors are compacted in place (their nh
 * and flags follow them); the new count is returned.
 */
struct pl_pol_arg {
	const struct pl_tables *t;
	struct acl_worker *aw;
	uint32_t src_ep, dst_ep; /* UINT32_MAX = not a local pod */
	bool from_host;          /* the packet came from the host port */
	/* The packet being decided, its acl_classify_bulk() results per
	 * direction (NULL: none, classify when asked), and whether it is
	 * exempt (pl_pol_exempt(), found in the bulk pass). */
	const struct acl_pkt *cur;
	const uint32_t *pre_e, *pre_i;
	bool cur_exempt;
};

/*
 * The node talking to its pods is not policed: Felix lets the host's own
 * packets to its pods through (its OUTPUT chain returns for cali+). Those
 * are the packets from the host port with the node IP or the tunnel IP as
 * source. Not the host port alone: what the host forwards into kdp (from
 * another interface, or natOutgoing replies it has turned back to the
 * pod) takes Felix's FORWARD path, where the pod's ingress policy applies
 * (replies pass as conntrack replies). Not the source alone: anyone can
 * write it, and the uplink drops it (pl_uplink_in()). @p p is sent by the
 * flow's originator (acl_classify_fn). When the packet goes the other
 * way (@p reversed: a reply re-checks its flow after a policy change), it
 * is the pod's answer to the node: the flow's first packet, from the
 * node's address, can only have come from the host port (the uplink
 * drops that source, and a pod port's anti-spoofing any but the pod's).
 */
static inline bool pl_pol_exempt(const struct pl_pol_arg *a,
				 const struct acl_pkt *p, bool reversed)
{
	return (a->from_host || reversed) &&
	       pl_ip_src_is_own(a->t, rte_cpu_to_be_32(p->src));
}

/* The local pod whose address is the source of the host port's @p m, or
 * UINT32_MAX. */
static inline uint32_t pl_host_src_ep(const struct pl_tables *t,
				      const struct rte_mbuf *m)
{
	uint64_t nh = pl_fib_one(t, rte_be_to_cpu_32(rte_pktmbuf_mtod_offset(
				   m, const struct rte_ipv4_hdr *,
				   PL_ETH_HLEN)->src_addr));

	return nh < t->n_nh && t->nh[nh].kind == PL_NH_POD ? t->nh[nh].ep :
							     UINT32_MAX;
}

static bool pl_pol_classify(void *arg, const struct acl_pkt *p, bool reversed)
{
	const struct pl_pol_arg *a = arg;
	uint32_t se = reversed ? a->dst_ep : a->src_ep;
	uint32_t de = reversed ? a->src_ep : a->dst_ep;
	/* Only the packet's own flow, as sent, was classified in bulk. */
	bool pre = p == a->cur;

	if (pre ? a->cur_exempt : pl_pol_exempt(a, p, reversed))
		return true;
	/* To a Service: the host DNATs it, and the DNATed packet meets the
	 * egress policy when the host sends it back (pl_policy_stage()). */
	if (se != UINT32_MAX && !pl_in_services(a->t, p->dst) &&
	    !(pre && a->pre_e ?
	      acl_classify_decide(a->t->acl, a->aw, se, ACL_DIR_EGRESS,
				  a->pre_e) :
	      acl_classify(a->t->acl, a->aw, se, ACL_DIR_EGRESS, p)))
		return false;
	return de == UINT32_MAX ||
	       (pre && a->pre_i ?
		acl_classify_decide(a->t->acl, a->aw, de, ACL_DIR_INGRESS,
				    a->pre_i) :
		acl_classify(a->t->acl, a->aw, de, ACL_DIR_INGRESS, p));
}


/*
 * New flows of a burst, classified together (acl_classify_bulk()): the
 * egress program is the input pod's for all of them, the ingress ones are
 * grouped by destination pod. Only packets that may open a flow and are
 * policed in that direction; pre_e/pre_i[i] point at packet i's results.
 */
struct pl_pol_bulk {
	uint32_t res_e[PL_BURST * ACL_BULK_RES_MAX];
	uint32_t res_i[PL_BURST * ACL_BULK_RES_MAX];
	const uint32_t *pre_e[PL_BURST], *pre_i[PL_BURST];
	bool exempt[PL_BURST]; /* of packets that may open a flow */
};

static __rte_noinline void
pl_policy_bulk(struct pl_pol_bulk *b, const struct pl_pol_arg *a,
	       const struct acl_flow *fl, const uint32_t *dst_ep,
	       const uint16_t *miss, uint16_t n_miss)
{
	const struct acl_pkt *pk[PL_BURST];
	uint16_t idx[PL_BURST], n = 0;
	uint32_t stride;

	for (uint16_t j = 0; j < n_miss; j++) {
		uint16_t i = miss[j];

		b->pre_e[i] = b->pre_i[i] = NULL;
		b->exempt[i] = false;
		if (acl_flow_may_start(&fl[i]) &&
		    !(b->exempt[i] = pl_pol_exempt(a, &fl[i].pkt, false)))
			idx[n++] = i;
	}
	if (n == 0)
		return;
	/* The host port's packets have their sources' pods, one by one. */
	if (a->src_ep != UINT32_MAX && !a->from_host) {
		for (uint16_t j = 0; j < n; j++)
			pk[j] = &fl[idx[j]].pkt;
		stride = acl_classify_bulk(a->t->acl, a->src_ep,
					   ACL_DIR_EGRESS, pk, n, b->res_e);
		for (uint16_t j = 0; stride && j < n; j++)
			b->pre_e[idx[j]] = b->res_e + j * stride;
	}
	/* Ingress, one destination pod at a time (idx[] is consumed). */
	uint32_t *out = b->res_i;

	while (n != 0) {
		uint32_t ep = dst_ep[idx[0]];
		uint16_t grp[PL_BURST], k = 0, left = 0;

		for (uint16_t j = 0; j < n; j++) {
			if (dst_ep[idx[j]] == ep) {
				grp[k] = idx[j];
				pk[k++] = &fl[idx[j]].pkt;
			} else {
				idx[left++] = idx[j];
			}
		}
		n = left;
		if (ep == UINT32_MAX)
			continue;
		stride = acl_classify_bulk(a->t->acl, ep, ACL_DIR_INGRESS, pk,
					   k, out);
		for (uint16_t j = 0; stride && j < k; j++)
			b->pre_i[grp[j]] = out + j * stride;
		out += (size_t)k * stride;
	}
}

/*
 * Stage 2b: network policy. Policy applies to packets a local pod sent
 * (egress) or that go to a local pod (ingress); the rest pass untouched.
 * Per burst: parse and hash every policed packet and prefetch its slot;
 * established flows pass on a home-slot hit (acl_ct_hit), other packets of
 * tracked flows get their verdict from their entry (acl_ct_lookup); the
 * rest, mostly new flows, are classified in bulk and then run through
 * conntrack in their order in the burst, which creates their entries in
 * the slots their lookups found (acl_ct_create()).
 * Verdicts do not depend on that reordering: a packet decided by its entry
 * needs the entry before the burst, and the deferred ones only create
 * entries for keys that had none. Survivors are compacted in place (their
 * nh and flags follow them); the new count is returned.
 */
static uint16_t pl_policy_stage(struct pl_ctx *c, const struct pl_tables *t,
				uint16_t in_port, struct rte_mbuf **pkts,
				uint64_t *nhs, uint8_t *flags, uint16_t n,
				struct pl_ho_list *ho)
{
	const struct pl_port *pp = &t->port[in_port];
	uint32_t src_ep = pp->role == PL_PORT_POD ? pp->ep : UINT32_MAX;
	struct acl_worker *aw = c->acl;
	struct acl_flow fl[PL_BURST];
	uint32_t dst_ep[PL_BURST];
	uint8_t res[PL_BURST];
	uint16_t miss[PL_BURST], n_miss = 0;
	struct acl_ct_miss cm[PL_BURST]; /* where each miss would go */
	/* Handed over by the worker that received them (pl_forward()). */
	const bool drained = ho == NULL && c->ho != NULL;
	/* From the host port, a local pod's source: the host forwards a
	 * packet the pod sent, DNATed (a Service's), which meets the pod's
	 * egress policy now, as Felix's FORWARD chain checks it after
	 * kube-proxy's DNAT (README "Services"). */
	const bool from_host = pp->role == PL_PORT_HOST;
	uint32_t src_eps[PL_BURST];
	uint32_t gen = pl_ct_gen(t);
	uint64_t now = c->now_ms;
	const struct acl_ct_expiry exp = acl_ct_expiry(aw, now);
	uint16_t k = 0;

	enum { SKIP, CHECK, BAD, HANDOFF };
	for (uint16_t i = 0; i < n; i++) {
		const struct pl_nh *nh = nhs[i] < t->n_nh ? &t->nh[nhs[i]] : NULL;
		struct rte_mbuf *m = pkts[i];

		dst_ep[i] = nh && nh->kind == PL_NH_POD ? nh->ep : UINT32_MAX;
		res[i] = SKIP;
		if (unlikely(from_host))
			src_ep = src_eps[i] = pl_host_src_ep(t, m);
		if (src_ep == UINT32_MAX && dst_ep[i] == UINT32_MAX)
			continue;
		const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(
			m, const struct rte_ipv4_hdr *, PL_ETH_HLEN);
		res[i] = acl_flow_parse_fast(ip, rte_pktmbuf_data_len(m) -
						     PL_ETH_HLEN,
					     &fl[i]) ? BAD : CHECK;
		if (res[i] != CHECK)
			continue;
		/* A fragment: its datagram's ports (frag_fast.h). */
		bool frag_ports = unlikely(ip->fragment_offset &
					   rte_cpu_to_be_16(
						   RTE_IPV4_HDR_MF_FLAG |
						   RTE_IPV4_HDR_OFFSET_MASK)) &&
				  pl_frag_note(c, m, ip, &fl[i], drained);
		if (ho != NULL) {
			unsigned int w = acl_flow_owner(&fl[i],
							c->ho->n_workers);
			if (w != c->wid) {
				res[i] = HANDOFF;
				m->port = in_port;
				m->hash.usr = flags[i] |
					      (frag_ports ? PL_FRAG_HO_PORTS : 0);
				ho->owner[ho->n] = (uint8_t)w;
				ho->m[ho->n++] = m;
				continue;
			}
		}
		acl_ct_prefetch_fast(aw, &fl[i]);
	}
	struct pl_pol_arg a = {
		.t = t, .aw = aw, .src_ep = src_ep,
		.from_host = from_host,
	};
	/* The flows the host port opens return through it ("Host return"
	 * in README): the host may have translated them. */
	const uint64_t via_host = a.from_host ? ACL_CT_HOP_VIA_HOST : 0;
	/* res[i] becomes the verdict (enum acl_ct_res), or HANDOFF. */
	_Static_assert(ACL_CT_PASS == 0 && ACL_CT_MISS < 16 &&
		       ACL_CT_PASS_HOST < 16, "verdict room");
	struct acl_ct_entry *e;
	for (uint16_t i = 0; i < n; i++) {
		if (res[i] == HANDOFF) {
			res[i] = UINT8_MAX;
		} else if (res[i] == BAD) {
			res[i] = ACL_CT_INVALID;
		} else if (res[i] == SKIP) {
			res[i] = ACL_CT_PASS;
		} else if (likely((e = acl_ct_hit_entry_exp(aw, &fl[i], gen,
							    now, &exp)) != NULL)) {
			/* The route the express lanes will take (ct_fast.h
			 * acl_ct_entry.hop), unless it is back to the host. */
			res[i] = acl_ct_hop_record(e, fl[i].src_lo,
						   acl_ct_hop(nhs[i]));
		} else {
			a.dst_ep = dst_ep[i];
			if (unlikely(from_host))
				a.src_ep = src_eps[i];
			res[i] = acl_ct_lookup_fast(aw, &fl[i], gen, now,
						    nhs[i] | via_host,
						    pl_pol_classify, &a,
						    &cm[i]);
			if (res[i] == ACL_CT_MISS)
				miss[n_miss++] = i;
		}
	}
	if (unlikely(n_miss != 0)) {
		struct pl_pol_bulk b;

		pl_policy_bulk(&b, &a, fl, dst_ep, miss, n_miss);
		for (uint16_t j = 0; j < n_miss; j++) {
			uint16_t i = miss[j];

			a.dst_ep = dst_ep[i];
			if (unlikely(from_host))
				a.src_ep = src_eps[i];
			a.cur = &fl[i].pkt;
			a.pre_e = b.pre_e[i];
			a.pre_i = b.pre_i[i];
			a.cur_exempt = b.exempt[i];
			res[i] = acl_ct_create(aw, &fl[i], gen, now,
					       nhs[i] | via_host,
					       pl_pol_classify, &a, &cm[i]);
		}
	}
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		switch (res[i]) {
		case UINT8_MAX: /* handed over */
			break;
		case ACL_CT_PASS:
			pkts[k] = m;
			flags[k] = flags[i];
			nhs[k++] = nhs[i];
			break;
		case ACL_CT_PASS_HOST:
			/* A reply of a flow the host forwarded: to the host,
			 * which un-NATs it, as PL_NH_LOCAL traffic goes
			 * (pl_route_one()). Only the host port opens such
			 * flows, so one exists. */
			pkts[k] = m;
			flags[k] = flags[i];
			nhs[k++] = t->host_port != UINT16_MAX ? t->host_nh :
								nhs[i];
			c->st->host_return++;
			break;
		case ACL_CT_DENY:
			pl_drop(c, m, DP_DROP_POLICY_DENY, in_port);
			break;
		case ACL_CT_FULL:
			pl_drop(c, m, DP_DROP_CT_FULL, in_port);
			break;
		default:
			pl_drop(c, m, DP_DROP_CT_INVALID, in_port);
			break;
		}
	}
	return k;
}



/*
 * Stages 2, policy and 3 for @p k validated packets from @p in_port.
 * Policed packets of flows another worker owns leave here for that worker
 * when @p handoff (never for packets already handed over).
 */
static void pl_forward(struct pl_ctx *c, const struct pl_tables *t,
		       uint16_t in_port, struct rte_mbuf **fwd, uint32_t *dst,
		       uint8_t *flags, uint16_t k, bool handoff)
{
	uint64_t nhs[PL_BURST];
	struct pl_ho_list ho;

	ho.n = 0;
	pl_fib_lookup(t, dst, nhs, k);
	if (t->acl != NULL && c->acl != NULL) {
		k = pl_policy_stage(c, t, in_port, fwd, nhs, flags, k,
				    handoff ? &ho : NULL);
		/* Off first: the owner works on them while we route ours. */
		if (unlikely(ho.n != 0))
			pl_handoff_send(c, in_port, &ho);
	}

	/* Frames routed by the fast path wait here (see pl_stage_drain). */
	struct rte_mbuf *out[PL_BURST];
	uint16_t n_out = 0;
	uint32_t n_encap = 0, n_nh = t->n_nh;
	/* From a natOutgoing pod, with a host to masquerade for it. */
	const struct pl_port *pp = &t->port[in_port];
	const bool nat = pp->role == PL_PORT_POD &&
			 t->ep[pp->ep].nat_outgoing &&
			 t->host_port != UINT16_MAX;
	struct pl_rw rw = {0};
	uint64_t rw_nh = UINT64_MAX;

	for (uint16_t i = 0; i < k; i++) {
		struct rte_mbuf *m = fwd[i];
		uint64_t idx = nhs[i];
		if (flags[i]) {
			/*
			 * From the uplink only local pods and the node itself
			 * are reachable; we are not a transit router for the
			 * underlay. The node is its IP and its tunnel IP
			 * (both PL_NH_LOCAL), plain or decapsulated: a Linux
			 * Calico node sends its host's traffic to remote pods
			 * from its tunnel IP, and a pod may talk to another
			 * node's tunnel IP, so replies and requests arrive
			 * through IPIP, as tunl0 would take them.
			 */
			uint8_t kind = idx < n_nh ? t->nh[idx].kind :
						    PL_NH_NO_ROUTE;
			if (kind != PL_NH_POD && kind != PL_NH_POD_NO_PORT &&
			    kind != PL_NH_LOCAL) {
				pl_drop(c, m, flags[i] == 2 ?
					DP_DROP_IPIP_INNER_NOT_LOCAL :
					DP_DROP_UPLINK_NOT_LOCAL, in_port);
				continue;
			}
			/* IPIP for the host that kdp did not open: a tunnel
			 * in the tunnel, or plain to the tunnel IP. The
			 * host's tunl0, if it has one, would open it from
			 * any source, and only known nodes' IPIP to the node
			 * IP is taken (calico-model.md 2.7). */
			if (unlikely(kind == PL_NH_LOCAL &&
				     rte_pktmbuf_mtod_offset(
					     m, const struct rte_ipv4_hdr *,
					     PL_ETH_HLEN)->next_proto_id ==
					     IPPROTO_IPIP)) {
				pl_drop(c, m, DP_DROP_IPIP_TO_HOST, in_port);
				continue;
			}
		}
		/* natOutgoing: out of the pools, through the host, which
		 * masquerades it (and routes it back to us); no routed hop
		 * here, the host's kernel counts it. */
		if (unlikely(nat) && idx < n_nh &&
		    t->nh[idx].kind == PL_NH_DIRECT &&
		    !pl_in_pools(t, rte_be_to_cpu_32(rte_pktmbuf_mtod_offset(
				m, const struct rte_ipv4_hdr *,
				PL_ETH_HLEN)->dst_addr))) {
			pl_stage_drain(c, out, &n_out);
			c->st->masq_host++;
			pl_l2_out(c, m, t->host_port, t->nh[t->host_nh].neigh,
				  &t->port[t->host_port].mac, in_port);
			continue;
		}
		/* The hop is loaded once per run of packets to it; one
		 * that pl_rw_load() refuses leaves the run's as it was. */
		uint64_t j = idx < n_nh ? idx : 0;
		bool hop = j == rw_nh || pl_rw_load(&rw, t, &t->nh[j], &gw_mac);
		if (hop)
			rw_nh = j;
		if (likely(hop && pl_rw_apply(&rw, m, &c->ip_id))) {
			n_encap += rw.kind == PL_NH_IPIP;
			out[n_out++] = m;
			continue;
		}
		pl_stage_drain(c, out, &n_out);
		pl_route_one(c, t, m, idx, in_port, false);
	}
	pl_stage_drain(c, out, &n_out);
	c->st->ipip_encap += n_encap;
}

/* Named per variant, so that profiles tell them apart. */
#define process_burst PL_BURST_NAME(pl_process_burst)
#define handoff_drain PL_BURST_NAME(pl_handoff_drain)

static void process_burst(struct pl_ctx *c, const struct pl_tables *t,
			  uint16_t in_port, struct rte_mbuf **pkts,
			  uint16_t n)
{
	struct rte_mbuf *fwd[PL_BURST];
	uint32_t dst[PL_BURST];
	uint8_t flags[PL_BURST];
	uint16_t k = 0;
	const struct pl_port *pp = &t->port[in_port];
	uint8_t role = pp->role;

	c->st->port[in_port].rx += n;
	if (unlikely(n > PL_BURST)) {
		/* Callers pass at most PL_BURST; stay safe anyway. */
		for (uint16_t i = PL_BURST; i < n; i++)
			pl_drop(c, pkts[i], DP_DROP_RUNT, in_port);
		n = PL_BURST;
	}
	/*
	 * A pod port's owner, read once per burst: the anti-spoofing test
	 * below is the exact one (pl_pod_src_check) only when this shortcut
	 * fails.
	 */
	const struct pl_ep *ep = role == PL_PORT_POD ? &t->ep[pp->ep] : NULL;

	if (likely(c->express_rest[in_port] == 0) && !c->no_express) {
		uint16_t done = 0;
		/* Each lane twice: one worker needs no flow owners. */
		bool multi = c->ho != NULL;
		if ((ep != NULL && ep->n_ips > 0) || role == PL_PORT_UPLINK)
			done = multi ? pl_express_run(c, t, ep, in_port, pkts,
						      n, true) :
				       pl_express_run(c, t, ep, in_port, pkts,
						      n, false);
		c->st->express += done;
		if (likely(done == n))
			return;
		if (done == 0)
			c->express_rest[in_port] = PL_EXPRESS_REST;
		pkts += done;
		n -= done;
	} else if (c->express_rest[in_port] != 0) {
		c->express_rest[in_port]--;
	}
	bool ep_mac_known = false;
	struct rte_ether_addr ep_mac = {{0}};
	rte_be32_t ep_ip0 = 0;
	if (ep != NULL && ep->n_ips > 0) {
		ep_mac_known = ep->mac_known;
		ep_mac = ep->mac;
		ep_ip0 = ep->ips[0];
	} else if (ep != NULL) {
		ep_mac_known = true; /* no address: always the slow test */
	}
	/* The uplink's own MAC, the one control answers ARP with: frames to
	 * another are not ours (pl_uplink_l2()). */
	const struct pl_mac_key up_mac = pl_mac_key(&pp->mac);

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		if (unlikely(rte_pktmbuf_data_len(m) < PL_ETH_HLEN)) {
			pl_drop(c, m, DP_DROP_RUNT, in_port);
			continue;
		}
		const struct rte_ether_hdr *eth =
			rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		uint16_t et = eth->ether_type;

		if (role == PL_PORT_UPLINK &&
		    unlikely(!pl_mac_is(&eth->dst_addr, up_mac))) {
			enum dp_drop l2 = pl_uplink_l2(eth);
			if (l2 != DP_DROP_MAX) {
				pl_drop(c, m, l2, in_port);
				continue;
			}
		}
		if (unlikely(et != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))) {
			if (et == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
				if (role == PL_PORT_UPLINK) {
					m->port = in_port;
					pl_punt(c, m, PL_PUNT_ARP, 0, in_port);
				} else if (role == PL_PORT_NONE) {
					pl_drop(c, m, DP_DROP_ARP_IGNORED,
						in_port);
				} else {
					pl_pod_arp(c, t, m, in_port);
				}
			} else if (et == rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN) ||
				   et == rte_cpu_to_be_16(RTE_ETHER_TYPE_QINQ)) {
				pl_drop(c, m, DP_DROP_VLAN, in_port);
			} else {
				pl_drop(c, m, DP_DROP_NOT_IP, in_port);
			}
			continue;
		}
		enum dp_drop why = pl_ipv4_check_fast(m, PL_ETH_HLEN);
		if (unlikely(why != DP_DROP_MAX)) {
			pl_drop(c, m, why, in_port);
			continue;
		}
		const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(
			m, const struct rte_ipv4_hdr *, PL_ETH_HLEN);
		uint8_t fl = 0;

		switch (role) {
		case PL_PORT_POD:
			if (unlikely(ip->src_addr != ep_ip0 ||
				     (ep_mac_known &&
				      !rte_is_same_ether_addr(&eth->src_addr,
							      &ep_mac))))
				why = pl_pod_src_check(ep, eth, ip->src_addr);
			if (why == DP_DROP_MAX &&
			    ip->next_proto_id == IPPROTO_IPIP)
				why = DP_DROP_IPIP_FROM_POD;
			break;
		case PL_PORT_UPLINK: {
			bool dec;
			if (!pl_uplink_in(c, t, m, in_port, &dec))
				continue;
			fl = dec ? 2 : 1;
			ip = rte_pktmbuf_mtod_offset(
				m, const struct rte_ipv4_hdr *, PL_ETH_HLEN);
			break;
		}
		case PL_PORT_HOST:
			break;
		default:
			why = DP_DROP_NOT_IP;
			break;
		}
		if (unlikely(why != DP_DROP_MAX)) {
			pl_drop(c, m, why, in_port);
			continue;
		}
		fwd[k] = m;
		flags[k] = fl;
		dst[k] = rte_be_to_cpu_32(ip->dst_addr);
		k++;
	}
	if (k == 0)
		return;

	pl_forward(c, t, in_port, fwd, dst, flags, k, c->ho != NULL);
}

/*
 * Packets handed over arrive validated (and decapsulated) with their input
 * port in m->port and uplink flags in hash.usr. Runs of one input port are
 * forwarded together; a port that left the tables meanwhile drops them.
 */
static unsigned int handoff_drain(struct pl_ctx *c,
				  const struct pl_tables *t)
{
	unsigned int nw = c->ho->n_workers, total = 0;

	for (unsigned int f = 0; f < nw; f++) {
		struct rte_mbuf *pkts[PL_BURST];
		uint32_t dst[PL_BURST];
		uint8_t flags[PL_BURST];

		if (f == c->wid)
			continue;
		unsigned int n = rte_ring_sc_dequeue_burst(
			c->ho->ring[f * nw + c->wid], (void **)pkts, PL_BURST,
			NULL);
		c->st->handoff_in += n;
		total += n;
		for (unsigned int i = 0; i < n;) {
			uint16_t port = pkts[i]->port;
			uint16_t k = 0;

			for (; i < n && pkts[i]->port == port; i++) {
				struct rte_mbuf *m = pkts[i];
				const struct rte_ipv4_hdr *ip =
					rte_pktmbuf_mtod_offset(
						m, const struct rte_ipv4_hdr *,
						PL_ETH_HLEN);

				pkts[k] = m;
				flags[k] = (uint8_t)m->hash.usr;
				dst[k++] = rte_be_to_cpu_32(ip->dst_addr);
			}
			if (unlikely(t == NULL ||
				     t->port[port].role == PL_PORT_NONE)) {
				for (uint16_t j = 0; j < k; j++)
					pl_drop(c, pkts[j], DP_DROP_NO_PORT,
						port);
				continue;
			}
			pl_forward(c, t, port, pkts, dst, flags, k, false);
		}
	}
	return total;
}

const struct pl_burst_ops PL_BURST_NAME(pl_burst_ops) = {
	.isa = PL_BURST_STR(PL_BURST_ISA),
	.process = process_burst,
	.drain = handoff_drain,
};
