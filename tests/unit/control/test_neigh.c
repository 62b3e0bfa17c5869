/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Neighbor slots' mark and sweep (control/neigh.h), as control/ctl.c
 * publishes: the slots the published tables use survive a build that
 * fails (ctl_neigh_mark_abort()); before, the next sweep released them,
 * and a slot taken again for another address sent the published tables'
 * frames to that address's MAC.
 *
 * And packets held for a slot leave when it is pinned
 * (ctl_neigh_set_static()): before, they stayed queued, and the next
 * packet held for the slot, finding its MAC valid, took the queue's
 * first place and sent alone: the queued mbufs leaked, uncounted.
 * test_neigh_model checks the table at random.
 */
#include "tests/unit/control/tables_fixture.h"

#include "pipeline/tables.h"

static const struct rte_ether_addr MAC = {{0x02, 0, 0, 0, 0, 0x01}};

static uint32_t slot(struct tfix *f, uint32_t ip)
{
	return ctl_neigh_slot(f->nb, 0, ip, &MAC, 0xc0a80a0b);
}

static bool valid(uint32_t id)
{
	return __atomic_load_n(&pl_neigh[id].mac, __ATOMIC_RELAXED) &
	       PL_NEIGH_VALID;
}

int main(void)
{
	struct tfix fx;

	if (tfix_init(&fx, "kdp_test_neigh", "") != 0)
		return 1;
	/* Tables 1 use a and b (resolved, pinned as configured ones are). */
	ctl_neigh_mark_begin(fx.nb);
	uint32_t a = slot(&fx, 0xc0a80a0c), b = slot(&fx, 0xc0a80a0d);
	ctl_neigh_set_static(fx.nb, a, &MAC);
	ctl_neigh_set_static(fx.nb, b, &MAC);
	ctl_neigh_sweep(fx.nb);
	CHECK(a != UINT32_MAX && b != UINT32_MAX && valid(a) && valid(b));

	/* Tables 2 fail to build after asking for c: tables 1 stay. */
	ctl_neigh_mark_begin(fx.nb);
	uint32_t c = slot(&fx, 0xc0a80a0e);
	ctl_neigh_mark_abort(fx.nb);
	ctl_neigh_sweep(fx.nb);
	CHECK(valid(a) && valid(b));
	/* A new address does not take a slot tables 1 use. */
	uint32_t d = slot(&fx, 0xc0a80a0f);
	CHECK(d != a && d != b);
	CHECK(c != a && c != b);

	/* Tables 3 use b alone: a goes. */
	ctl_neigh_mark_begin(fx.nb);
	CHECK(slot(&fx, 0xc0a80a0d) == b);
	ctl_neigh_sweep(fx.nb);
	CHECK(!valid(a) && valid(b));

	/* e holds two packets, then gets a configured MAC, then one more
	 * packet comes: all three leave (tfix_send_nothing frees them). */
	ctl_neigh_mark_begin(fx.nb);
	uint32_t e = slot(&fx, 0xc0a80a10);
	for (int i = 0; i < 3; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(fx.mp);

		CHECK(m != NULL && rte_pktmbuf_append(m, 64) != NULL);
		if (m == NULL)
			break;
		m->port = 0;
		if (i == 2)
			ctl_neigh_set_static(fx.nb, e, &MAC);
		ctl_neigh_hold(fx.nb, m, e);
	}
	CHECK(valid(e));
	CHECK_EQ(rte_mempool_in_use_count(fx.mp), 0);
	tfix_free(&fx);
	CHECK_DONE();
}
