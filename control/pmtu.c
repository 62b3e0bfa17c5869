/* SPDX-License-Identifier: BSD-3-Clause */
/* Learned path MTUs of the IPIP tunnels: control/pmtu.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

#include "control/pmtu.h"

struct pmtu_ent {
	uint32_t node;
	uint16_t mtu;
	uint64_t expire_ms;
};

/* A few entries at most in practice: an array, searched in order. */
struct ctl_pmtu {
	size_t n;
	struct pmtu_ent e[CTL_PMTU_MAX];
};

struct ctl_pmtu *ctl_pmtu_create(void)
{
	return calloc(1, sizeof(struct ctl_pmtu));
}

void ctl_pmtu_free(struct ctl_pmtu *p)
{
	free(p);
}

static uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t rd32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

int ctl_pmtu_parse(const uint8_t *ip, size_t len, uint32_t self_ip,
		   uint32_t *node, uint16_t *mtu)
{
	if (len < 20 || (ip[0] >> 4) != 4 || ip[9] != IPPROTO_ICMP)
		return -EINVAL;
	size_t hl = (size_t)(ip[0] & 0xf) * 4, tot = rd16(ip + 2);

	/* The ICMP message: its header, then the quoted IPv4 header. */
	if (hl < 20 || tot > len || tot < hl + 8 + 20)
		return -EINVAL;
	const uint8_t *icmp = ip + hl, *q = icmp + 8;
	size_t qhl = (size_t)(q[0] & 0xf) * 4;

	if (icmp[0] != 3 || icmp[1] != 4 ||
	    rte_raw_cksum(icmp, tot - hl) != 0xffff)
		return -EINVAL;
	if ((q[0] >> 4) != 4 || qhl < 20 || q[9] != IPPROTO_IPIP ||
	    rd32(q + 12) != self_ip || self_ip == 0)
		return -EINVAL;
	*node = rd32(q + 16);
	*mtu = rd16(icmp + 6);
	return *mtu == 0 ? -EINVAL : 0;
}

static struct pmtu_ent *find(const struct ctl_pmtu *p, uint32_t node)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->e[i].node == node)
			return (struct pmtu_ent *)(uintptr_t)&p->e[i];
	return NULL;
}

bool ctl_pmtu_learn(struct ctl_pmtu *p, uint32_t node, uint16_t mtu,
		    uint16_t uplink_mtu, uint64_t now_ms)
{
	struct pmtu_ent *e = find(p, node);

	if (mtu < CTL_PMTU_MIN)
		mtu = CTL_PMTU_MIN;
	if (e != NULL && mtu == e->mtu) {
		/* Still true: it holds longer (the tables need nothing). */
		e->expire_ms = now_ms + CTL_PMTU_EXPIRE_MS;
		return false;
	}
	if (mtu >= (e != NULL ? e->mtu : uplink_mtu))
		return false;
	if (e == NULL) {
		if (p->n < CTL_PMTU_MAX) {
			e = &p->e[p->n++];
		} else {
			/* Full: the soonest to expire makes room. */
			e = &p->e[0];
			for (size_t i = 1; i < p->n; i++)
				if ((int64_t)(p->e[i].expire_ms -
					      e->expire_ms) < 0)
					e = &p->e[i];
		}
		e->node = node;
	}
	e->mtu = mtu;
	e->expire_ms = now_ms + CTL_PMTU_EXPIRE_MS;
	return true;
}

bool ctl_pmtu_expire(struct ctl_pmtu *p, uint64_t now_ms)
{
	bool any = false;

	for (size_t i = 0; i < p->n;) {
		if ((int64_t)(now_ms - p->e[i].expire_ms) >= 0) {
			p->e[i] = p->e[--p->n];
			any = true;
		} else {
			i++;
		}
	}
	return any;
}

uint16_t ctl_pmtu_get(const struct ctl_pmtu *p, uint32_t node)
{
	const struct pmtu_ent *e = p != NULL && p->n ? find(p, node) : NULL;

	return e != NULL ? e->mtu : 0;
}

void ctl_pmtu_foreach(const struct ctl_pmtu *p,
		      void (*fn)(void *arg, uint32_t node, uint16_t mtu,
				 uint64_t expire_ms),
		      void *arg)
{
	for (size_t i = 0; i < p->n; i++)
		fn(arg, p->e[i].node, p->e[i].mtu, p->e[i].expire_ms);
}
