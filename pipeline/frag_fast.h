/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Fragments under network policy: a datagram's later fragments get its
 * ports from its first one (a shallow reassembly, as VPP's sv-reassembly
 * does), so that policy and conntrack decide them as the datagram.
 *
 * Why: Felix's rules see whole datagrams, because Linux reassembles before
 * conntrack (nf_defrag_ipv4). A fragment at a non-zero offset carries no
 * transport header; keyed and classified with ports 0, it met only the
 * rules without ports, so a datagram to an allowed port lost all but its
 * first fragment, and a large UDP reply to an ingress-isolated pod lost
 * the same (no conntrack entry has ports 0).
 *
 * How: the worker that receives a first fragment (MF set, offset 0) notes
 * its ports by (source, destination, protocol, IP id) in its context's
 * table, of PL_FRAG_SLOTS slots, direct-mapped, newest first. A later
 * fragment found there is keyed with those ports (ICMP: the query's id,
 * type and code) and goes through conntrack as its datagram: it hits the
 * entry that the first fragment made or refreshed, or meets the verdict
 * cached there. Fragments travel in order on one path, and a receiving
 * worker sees them all (one pod port's queue; NIC RSS hashes fragments by
 * addresses alone), so the table is the receiver's own. A fragment handed
 * to the flow's owner worker carries its ports in the mbuf
 * (PL_FRAG_HO_PORTS in hash.usr, the ports in hash.fdir.hi). A later
 * fragment not found (its first one not seen, lost, or evicted) is keyed
 * with ports 0 as before, and counted (frag_noports).
 *
 * No fragment is held or rebuilt: the receiver reassembles. A later
 * fragment cannot change the ports (its offset is at least 8 bytes; RFC
 * 1858's tiny-fragment attacks rewrite TCP flags at offset 1, which
 * kdp's IPv4 checks pass, but flags do not decide a verdict here: the
 * fragment only ever hits its datagram's entry).
 *
 * The express lanes do not take first fragments (they go through the
 * general stages, which note them); later fragments never were theirs.
 *
 * Thread-safety: a context belongs to one worker lcore.
 */
#ifndef KDP_PIPELINE_FRAG_FAST_H
#define KDP_PIPELINE_FRAG_FAST_H

#include <rte_ip.h>
#include <rte_mbuf.h>

#include "acl/acl.h"
#include "acl/ct_fast.h"
#include "dp/stats.h"
#include "pipeline/pipeline.h"

/* A noted first fragment is good for this long: fragments of a datagram
 * come within microseconds; an IP id comes back after 65536 datagrams. */
#define PL_FRAG_TTL_MS 1000

/* In a handed-over mbuf's hash.usr (pl_handoff_drain()): hash.fdir.hi
 * holds the fragment's ports (pl_frag_ports()). Above the input flags. */
#define PL_FRAG_HO_PORTS (1u << 8)

static __rte_always_inline struct pl_frag_ent *
pl_frag_slot(struct pl_ctx *c, uint32_t src, uint32_t dst, uint16_t id,
	     uint8_t proto)
{
	/* Multiply-shift: the product's high bits depend on every bit of
	 * the mix (the id's low bits included, which change the most). */
	uint32_t h = (src * 0x9e3779b1u ^ dst ^ ((uint32_t)id << 8 | proto)) *
		     0x85ebca6bu;

	return &c->frag[h >> (32 - PL_FRAG_BITS)];
}

/* What a later fragment needs of its first: the ports, or for ICMP the
 * query's id with the type and code. */
static __rte_always_inline uint32_t pl_frag_ports(const struct acl_flow *f)
{
	if (f->pkt.proto == IPPROTO_ICMP)
		return (uint32_t)f->pkt.sport << 16 |
		       (uint32_t)f->pkt.icmp_type << 8 | f->pkt.icmp_code;
	return (uint32_t)f->pkt.sport << 16 | f->pkt.dport;
}

/* Key @p f, a later fragment, with its first fragment's @p ports. */
static inline void pl_frag_apply(struct acl_flow *f, uint32_t ports)
{
	uint16_t hi = (uint16_t)(ports >> 16);

	if (f->pkt.proto == IPPROTO_ICMP)
		acl_flow_rekey(f, hi, hi, (uint8_t)(ports >> 8),
			       (uint8_t)ports);
	else
		acl_flow_rekey(f, hi, (uint16_t)ports, 0, 0);
}

/*
 * The policy stage's step for a fragment @p m (IPv4 header @p ip, flow
 * @p f as parsed): note a first fragment's ports, or key a later one with
 * its first's. @p drained: @p m was handed over by the worker that
 * received it, which did this already. True when @p f is a later fragment
 * keyed so: its ports must travel with it if it is handed over.
 */
static inline bool pl_frag_note(struct pl_ctx *c, struct rte_mbuf *m,
				const struct rte_ipv4_hdr *ip,
				struct acl_flow *f, bool drained)
{
	uint16_t fo = rte_be_to_cpu_16(ip->fragment_offset);
	uint16_t id = rte_be_to_cpu_16(ip->packet_id);
	struct pl_frag_ent *e;

	if (!(fo & RTE_IPV4_HDR_OFFSET_MASK)) {
		/* A first fragment: its ports, by its datagram. An ICMP
		 * error's key is the quoted flow's: not a datagram's. */
		if (drained || f->kind != ACL_FLOW_NORMAL)
			return false;
		e = pl_frag_slot(c, f->pkt.src, f->pkt.dst, id, f->pkt.proto);
		*e = (struct pl_frag_ent){
			.src = f->pkt.src, .dst = f->pkt.dst,
			.expire = (uint32_t)c->now_ms + PL_FRAG_TTL_MS,
			.id = id, .proto = f->pkt.proto, .used = 1,
			.ports = pl_frag_ports(f),
		};
		return false;
	}
	if (drained) {
		if (m->hash.usr & PL_FRAG_HO_PORTS)
			pl_frag_apply(f, m->hash.fdir.hi);
		return false;
	}
	e = pl_frag_slot(c, f->pkt.src, f->pkt.dst, id, f->pkt.proto);
	if (!e->used || e->src != f->pkt.src || e->dst != f->pkt.dst ||
	    e->id != id || e->proto != f->pkt.proto ||
	    (int32_t)(e->expire - (uint32_t)c->now_ms) <= 0) {
		c->st->frag_noports++;
		return false;
	}
	pl_frag_apply(f, e->ports);
	m->hash.fdir.hi = e->ports;
	c->st->frag_ports++;
	return true;
}

#endif /* KDP_PIPELINE_FRAG_FAST_H */
