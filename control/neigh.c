/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_telemetry.h>
#include <uthash.h>

#include "control/neigh.h"
#include "dp/log.h"
#include "dp/stats.h"
#include "pipeline/pipeline.h"
#include "pipeline/tables.h"

enum slot_state {
	SLOT_FREE = 0,
	SLOT_INCOMPLETE, /**< no MAC yet */
	SLOT_REACHABLE,  /**< MAC valid, confirmed within timeout */
	SLOT_PROBE,      /**< MAC valid but stale: re-asking */
	SLOT_STATIC,     /**< from configuration */
};

struct slot_key {
	uint32_t ip;
	uint16_t port;
	uint16_t pad;
};

struct slot {
	struct slot_key key;
	uint8_t state;
	bool marked;
	bool kept;      /* marked by the published tables (mark_begin) */
	uint8_t probes;
	struct rte_ether_addr src_mac;
	uint32_t src_ip;
	uint64_t confirmed_ms;
	uint64_t last_req_ms;
	uint16_t n_hold;
	struct rte_mbuf *hold[CTL_NEIGH_HOLD];
	UT_hash_handle hh;
};

struct ctl_neigh {
	struct rte_mempool *mp;
	ctl_neigh_send_fn send;
	void *send_arg;
	uint64_t timeout_ms;
	uint64_t now_ms;
	struct slot *slots;     /**< PL_NEIGH_MAX, index = slot id */
	struct slot *by_key;    /**< uthash over used slots */
	uint32_t next_free;     /**< search hint */
	uint16_t uplink_port;
	struct rte_ether_addr uplink_mac;
	uint32_t uplink_ip;
};

#define REQ_INTERVAL_MS 1000

static inline uint64_t mac_to_u64(const struct rte_ether_addr *a)
{
	uint64_t v = 0;
	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		v |= (uint64_t)a->addr_bytes[i] << (8 * i);
	return v;
}

static inline void slot_publish(uint32_t id, uint64_t v)
{
	__atomic_store_n(&pl_neigh[id].mac, v, __ATOMIC_RELAXED);
}

static struct dp_lcore_stats *my_stats(void)
{
	unsigned int l = rte_lcore_id();
	return &dp_stats[l < RTE_MAX_LCORE ? l : 0];
}

struct ctl_neigh *ctl_neigh_create(struct rte_mempool *mp,
				   ctl_neigh_send_fn send, void *send_arg,
				   unsigned int timeout_s)
{
	struct ctl_neigh *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->slots = calloc(PL_NEIGH_MAX, sizeof(*n->slots));
	/* The MACs workers read: shared memory, allocated once for the run. */
	pl_neigh = rte_zmalloc("kdp_neigh", sizeof(*pl_neigh) * PL_NEIGH_MAX,
			       RTE_CACHE_LINE_SIZE);
	if (n->slots == NULL || pl_neigh == NULL) {
		rte_free(pl_neigh);
		pl_neigh = NULL;
		free(n->slots);
		free(n);
		return NULL;
	}
	n->mp = mp;
	n->send = send;
	n->send_arg = send_arg;
	n->timeout_ms = (uint64_t)timeout_s * 1000;
	n->uplink_port = UINT16_MAX;
	return n;
}

static void slot_drop_holds(struct slot *s, enum dp_drop why)
{
	for (uint16_t i = 0; i < s->n_hold; i++) {
		my_stats()->drop[why]++;
		rte_pktmbuf_free(s->hold[i]);
	}
	s->n_hold = 0;
}

void ctl_neigh_free(struct ctl_neigh *n)
{
	if (n == NULL)
		return;
	for (uint32_t i = 0; i < PL_NEIGH_MAX; i++)
		slot_drop_holds(&n->slots[i], DP_DROP_NEIGH_FAILED);
	HASH_CLEAR(hh, n->by_key);
	free(n->slots);
	rte_free(pl_neigh);
	pl_neigh = NULL;
	free(n);
}

static void send_arp(struct ctl_neigh *n, uint16_t port, uint16_t op,
		     const struct rte_ether_addr *src_mac, uint32_t src_ip,
		     const struct rte_ether_addr *dst_mac, uint32_t dst_ip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(n->mp);
	if (m == NULL)
		return;
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(
		m, sizeof(*eth) + sizeof(struct rte_arp_hdr));
	if (eth == NULL) {
		rte_pktmbuf_free(m);
		return;
	}
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	static const struct rte_ether_addr zero;

	if (dst_mac)
		eth->dst_addr = *dst_mac;
	else
		memset(&eth->dst_addr, 0xff, sizeof(eth->dst_addr));
	eth->src_addr = *src_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(op);
	arp->arp_data.arp_sha = *src_mac;
	arp->arp_data.arp_sip = rte_cpu_to_be_32(src_ip);
	arp->arp_data.arp_tha = dst_mac ? *dst_mac : zero;
	arp->arp_data.arp_tip = rte_cpu_to_be_32(dst_ip);
	m->port = port;
	n->send(n->send_arg, m);
}

static void slot_request(struct ctl_neigh *n, struct slot *s)
{
	s->last_req_ms = n->now_ms;
	s->probes++;
	send_arp(n, s->key.port, RTE_ARP_OP_REQUEST, &s->src_mac, s->src_ip,
		 NULL, s->key.ip);
}

uint32_t ctl_neigh_slot(struct ctl_neigh *n, uint16_t port, uint32_t ip,
			const struct rte_ether_addr *src_mac, uint32_t src_ip)
{
	struct slot_key k = {.ip = ip, .port = port};
	struct slot *s;

	HASH_FIND(hh, n->by_key, &k, sizeof(k), s);
	if (s == NULL) {
		uint32_t id = n->next_free;
		for (uint32_t tries = 0; tries < PL_NEIGH_MAX; tries++) {
			if (n->slots[id].state == SLOT_FREE)
				break;
			id = (id + 1) % PL_NEIGH_MAX;
		}
		if (n->slots[id].state != SLOT_FREE) {
			KDP_LOG(ERR, "neighbor table full (%u slots)",
				PL_NEIGH_MAX);
			return UINT32_MAX;
		}
		n->next_free = (id + 1) % PL_NEIGH_MAX;
		s = &n->slots[id];
		memset(s, 0, sizeof(*s));
		s->key = k;
		s->state = SLOT_INCOMPLETE;
		HASH_ADD(hh, n->by_key, key, sizeof(k), s);
		slot_publish(id, 0);
	}
	s->src_mac = *src_mac;
	s->src_ip = src_ip;
	s->marked = true;
	/* The first request goes out on the next tick (milliseconds away),
	 * after the caller had the chance to make the slot static. */
	return (uint32_t)(s - n->slots);
}

static void slot_release(struct ctl_neigh *n, struct slot *s, uint64_t mac)
{
	struct rte_ether_addr dst;

	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		dst.addr_bytes[i] = (uint8_t)(mac >> (8 * i));
	for (uint16_t i = 0; i < s->n_hold; i++) {
		struct rte_mbuf *m = s->hold[i];
		rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr = dst;
		n->send(n->send_arg, m);
	}
	s->n_hold = 0;
}

void ctl_neigh_set_static(struct ctl_neigh *n, uint32_t id,
			  const struct rte_ether_addr *mac)
{
	struct slot *s = &n->slots[id];
	uint64_t v = PL_NEIGH_VALID | mac_to_u64(mac);

	s->state = SLOT_STATIC;
	slot_publish(id, v);
	/* Resolved: what waited for the slot (it had no MAC before) leaves
	 * now. Kept queued, it waited for a sweep, and the next packet held
	 * found the MAC valid and took the queue's first place
	 * (ctl_neigh_hold()): the queued mbufs leaked, uncounted. */
	slot_release(n, s, v);
}

void ctl_neigh_mark_begin(struct ctl_neigh *n)
{
	struct slot *s, *tmp;

	HASH_ITER(hh, n->by_key, s, tmp) {
		s->kept = s->marked;
		s->marked = false;
	}
}

void ctl_neigh_mark_abort(struct ctl_neigh *n)
{
	struct slot *s, *tmp;

	/* Slots only the failed build asked for go at the next sweep. */
	HASH_ITER(hh, n->by_key, s, tmp)
		s->marked = s->kept;
}

void ctl_neigh_sweep(struct ctl_neigh *n)
{
	struct slot *s, *tmp;

	HASH_ITER(hh, n->by_key, s, tmp) {
		if (s->marked)
			continue;
		slot_drop_holds(s, DP_DROP_NEIGH_FAILED);
		HASH_DEL(n->by_key, s);
		slot_publish((uint32_t)(s - n->slots), 0);
		s->state = SLOT_FREE;
	}
}

void ctl_neigh_set_uplink(struct ctl_neigh *n, uint16_t port,
			  const struct rte_ether_addr *mac, uint32_t ip)
{
	n->uplink_port = port;
	n->uplink_mac = *mac;
	n->uplink_ip = ip;
}

/* RFC 826: update an entry we have; never create one from an ARP. Not to
 * a group or zero MAC: neither is a host's, and frames sent to it would
 * reach no one (or everyone). */
static void learn(struct ctl_neigh *n, uint16_t port, uint32_t ip,
		  const struct rte_ether_addr *mac)
{
	struct slot_key k = {.ip = ip, .port = port};
	struct slot *s;

	HASH_FIND(hh, n->by_key, &k, sizeof(k), s);
	if (s == NULL || s->state == SLOT_STATIC ||
	    !rte_is_valid_assigned_ether_addr(mac))
		return;
	uint64_t v = PL_NEIGH_VALID | mac_to_u64(mac);
	uint32_t id = (uint32_t)(s - n->slots);
	if (__atomic_load_n(&pl_neigh[id].mac, __ATOMIC_RELAXED) != v)
		slot_publish(id, v);
	s->state = SLOT_REACHABLE;
	s->confirmed_ms = n->now_ms;
	s->probes = 0;
	slot_release(n, s, v);
}

void ctl_neigh_input(struct ctl_neigh *n, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);

	if (rte_pktmbuf_data_len(m) < sizeof(*eth) + sizeof(*arp) ||
	    arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4) {
		my_stats()->drop[DP_DROP_ARP_BAD]++;
		rte_pktmbuf_free(m);
		return;
	}
	uint16_t port = m->port;
	uint16_t op = rte_be_to_cpu_16(arp->arp_opcode);
	uint32_t sip = rte_be_to_cpu_32(arp->arp_data.arp_sip);
	uint32_t tip = rte_be_to_cpu_32(arp->arp_data.arp_tip);

	if (sip != 0)
		learn(n, port, sip, &arp->arp_data.arp_sha);
	if (op == RTE_ARP_OP_REQUEST && port == n->uplink_port &&
	    n->uplink_ip != 0 && tip == n->uplink_ip && sip != tip) {
		send_arp(n, port, RTE_ARP_OP_REPLY, &n->uplink_mac,
			 n->uplink_ip, &arp->arp_data.arp_sha, sip);
		my_stats()->arp_replied++;
	}
	rte_pktmbuf_free(m);
}

void ctl_neigh_hold(struct ctl_neigh *n, struct rte_mbuf *m, uint32_t id)
{
	if (id >= PL_NEIGH_MAX || n->slots[id].state == SLOT_FREE) {
		my_stats()->drop[DP_DROP_NEIGH_FAILED]++;
		rte_pktmbuf_free(m);
		return;
	}
	struct slot *s = &n->slots[id];
	uint64_t v = __atomic_load_n(&pl_neigh[id].mac, __ATOMIC_RELAXED);
	if (v & PL_NEIGH_VALID) {
		/* Resolved while the packet was in the ring. Behind any
		 * still queued (none should be: what resolves a slot
		 * releases its queue), so none is overwritten. */
		if (s->n_hold == CTL_NEIGH_HOLD) {
			my_stats()->drop[DP_DROP_NEIGH_QUEUE_FULL]++;
			rte_pktmbuf_free(m);
		} else
			s->hold[s->n_hold++] = m;
		slot_release(n, s, v);
		return;
	}
	if (s->n_hold == CTL_NEIGH_HOLD) {
		my_stats()->drop[DP_DROP_NEIGH_QUEUE_FULL]++;
		rte_pktmbuf_free(m);
		return;
	}
	s->hold[s->n_hold++] = m;
	if (n->now_ms - s->last_req_ms >= REQ_INTERVAL_MS || s->probes == 0)
		slot_request(n, s);
}

void ctl_neigh_tick(struct ctl_neigh *n, uint64_t now_ms)
{
	struct slot *s, *tmp;

	n->now_ms = now_ms;
	HASH_ITER(hh, n->by_key, s, tmp) {
		uint32_t id = (uint32_t)(s - n->slots);
		switch (s->state) {
		case SLOT_INCOMPLETE:
			if (s->key.ip == 0 || (s->probes != 0 &&
			    now_ms - s->last_req_ms < REQ_INTERVAL_MS))
				break;
			if (s->probes >= CTL_NEIGH_PROBES)
				slot_drop_holds(s, DP_DROP_NEIGH_FAILED);
			/* Keep asking once a second while the tables use it. */
			slot_request(n, s);
			break;
		case SLOT_REACHABLE:
			if (now_ms - s->confirmed_ms >= n->timeout_ms) {
				s->state = SLOT_PROBE;
				s->probes = 0;
				slot_request(n, s);
			}
			break;
		case SLOT_PROBE:
			if (now_ms - s->last_req_ms < REQ_INTERVAL_MS)
				break;
			if (s->probes >= CTL_NEIGH_PROBES) {
				KDP_LOG(NOTICE, "neighbor port %u ip %u.%u.%u.%u "
					"stopped answering",
					s->key.port, s->key.ip >> 24,
					(s->key.ip >> 16) & 0xff,
					(s->key.ip >> 8) & 0xff,
					s->key.ip & 0xff);
				slot_publish(id, 0);
				s->state = SLOT_INCOMPLETE;
				s->probes = 0;
			}
			slot_request(n, s);
			break;
		default:
			break;
		}
	}
}

void ctl_neigh_telemetry(const struct ctl_neigh *n, struct rte_tel_data *d,
			 unsigned long start, unsigned int max, size_t bytes)
{
	static const char *const names[] = {"free", "incomplete", "reachable",
					    "probe", "static"};
	struct slot *s, *tmp;
	unsigned long i = 0;
	unsigned int count = 0;

	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	HASH_ITER(hh, n->by_key, s, tmp) {
		char key[48], val[RTE_TEL_MAX_STRING_LEN];
		uint64_t v = __atomic_load_n(
			&pl_neigh[s - n->slots].mac, __ATOMIC_RELAXED);
		if (i++ < start)
			continue;
		if (count++ == max)
			break;
		snprintf(key, sizeof(key), "port%u %u.%u.%u.%u", s->key.port,
			 s->key.ip >> 24, (s->key.ip >> 16) & 0xff,
			 (s->key.ip >> 8) & 0xff, s->key.ip & 0xff);
		snprintf(val, sizeof(val),
			 "%s %02x:%02x:%02x:%02x:%02x:%02x %s held=%u", key,
			 (unsigned)(v & 0xff), (unsigned)((v >> 8) & 0xff),
			 (unsigned)((v >> 16) & 0xff), (unsigned)((v >> 24) & 0xff),
			 (unsigned)((v >> 32) & 0xff), (unsigned)((v >> 40) & 0xff),
			 names[s->state], s->n_hold);
		size_t len = strlen(val) + 3; /* quotes, comma */
		if (len > bytes)
			break;
		bytes -= len;
		rte_tel_data_add_array_string(d, val);
	}
}
