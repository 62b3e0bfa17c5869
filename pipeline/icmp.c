/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "pipeline/icmp.h"
#include "pipeline/parse_fast.h"

#define PL_ETH_HLEN ((uint32_t)sizeof(struct rte_ether_hdr))

/* RFC 1122 3.2.2: never answer an error with an error. */
static bool is_icmp_error(const struct rte_ipv4_hdr *ip, uint32_t avail)
{
	uint32_t hlen = (ip->version_ihl & 0xf) * 4u;

	if (ip->next_proto_id != IPPROTO_ICMP)
		return false;
	if (avail < hlen + 1)
		return true; /* cannot tell: stay silent */
	uint8_t type = ((const uint8_t *)ip)[hlen];
	return type != RTE_IP_ICMP_ECHO_REQUEST &&
	       type != RTE_IP_ICMP_ECHO_REPLY && type != 13 && type != 14;
}

__rte_cold bool pl_icmp_wanted(const struct rte_mbuf *orig)
{
	const struct rte_ipv4_hdr *oip = rte_pktmbuf_mtod_offset(
		orig, const struct rte_ipv4_hdr *, PL_ETH_HLEN);
	uint32_t avail = rte_pktmbuf_data_len(orig) - PL_ETH_HLEN;

	if (rte_be_to_cpu_16(oip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK)
		return false;
	return !pl_ip_src_is_bad(oip->src_addr) && !is_icmp_error(oip, avail);
}

__rte_cold struct rte_mbuf *
pl_icmp_build(struct rte_mempool *mp, const struct rte_mbuf *orig,
	      rte_be32_t src, uint8_t type, uint8_t code, uint16_t mtu,
	      uint16_t id)
{
	const struct rte_ipv4_hdr *oip = rte_pktmbuf_mtod_offset(
		orig, const struct rte_ipv4_hdr *, PL_ETH_HLEN);
	uint32_t avail = rte_pktmbuf_data_len(orig) - PL_ETH_HLEN;

	if (!pl_icmp_wanted(orig))
		return NULL;

	uint32_t quote = RTE_MIN(avail, (uint32_t)rte_be_to_cpu_16(
						oip->total_length));
	quote = RTE_MIN(quote, (uint32_t)PL_ICMP_QUOTE_MAX);
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	if (m == NULL)
		return NULL;
	uint32_t len = PL_ETH_HLEN + sizeof(struct rte_ipv4_hdr) +
		       sizeof(struct rte_icmp_hdr) + quote;
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, len);
	if (p == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memset(p, 0, PL_ETH_HLEN);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + PL_ETH_HLEN);
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(ip + 1);

	ip->version_ihl = RTE_IPV4_VHL_DEF;
	/* RFC 1812 4.3.2.5: precedence 6, internetwork control (as Linux
	 * sends its errors); kdp sends no source quench, which would keep
	 * the packet's own. */
	ip->type_of_service = 0xc0;
	ip->total_length = rte_cpu_to_be_16(len - PL_ETH_HLEN);
	ip->packet_id = rte_cpu_to_be_16(id);
	ip->fragment_offset = 0;
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = src;
	ip->dst_addr = oip->src_addr;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);

	ic->icmp_type = type;
	ic->icmp_code = code;
	ic->icmp_cksum = 0;
	/* Bytes 4–7: unused, or the next-hop MTU (RFC 1191) in the low half. */
	ic->icmp_ident = 0;
	ic->icmp_seq_nb = rte_cpu_to_be_16(mtu);
	memcpy(ic + 1, oip, quote);
	ic->icmp_cksum = (uint16_t)~rte_raw_cksum(ic, sizeof(*ic) + quote);
	return m;
}
