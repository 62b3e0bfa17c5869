/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which native vhost-user queues a worker polls (dp/vhpoll.h), driven as
 * the worker's loop drives it, on a made-up clock (1 GHz TSC):
 *
 *  - every queue starts hot and is polled on every iteration;
 *  - a queue goes cold after DP_VHPOLL_COLD_AFTER empty polls in a row,
 *    not before, and one frame makes it hot again;
 *  - a busy worker polls its cold queues once per DP_VHPOLL_PACE_US, an
 *    idle one on every iteration;
 *  - a new rx list starts every queue hot.
 */
#include <stdio.h>
#include <stdlib.h>

#include "dp/vhpoll.h"
#include "tests/unit/ctl_check.h"

#define HZ 1000000000ULL /* 1 ns a cycle */
#define NQ 3

static struct dp_vhpoll s;
static struct {
	struct dp_rxlist l;
	struct dp_rxq q[NQ];
} list = {.l = {.seq = 1, .n = NQ, .n_eth = 0, .n_poll = NQ}};

/* One iteration at @p now: which queues were polled (bit i), each giving
 * what @p frames[i] says. */
static unsigned int iterate(uint64_t now, bool busy, const uint16_t *frames)
{
	bool cold_due = dp_vhpoll_begin(&s, &list.l, now, busy);
	unsigned int polled = 0;

	for (unsigned int i = 0; i < NQ; i++) {
		if (!cold_due && dp_vhpoll_cold(&s, i))
			continue;
		polled |= 1u << i;
		dp_vhpoll_got(&s, i, frames[i]);
	}
	return polled;
}

int main(void)
{
	const uint16_t none[NQ] = {0, 0, 0}, q0[NQ] = {32, 0, 0};
	const uint16_t q1[NQ] = {32, 1, 0};
	uint64_t now = 1000;
	unsigned int i;

	dp_vhpoll_init(&s, HZ);
	CHECK_EQ(s.pace_tsc, DP_VHPOLL_PACE_US * 1000);

	/* Queue 0 busy, 1 and 2 idle: hot for COLD_AFTER polls. */
	for (i = 0; i < DP_VHPOLL_COLD_AFTER; i++, now += 100)
		CHECK_EQ(iterate(now, true, q0), 7);
	CHECK(dp_vhpoll_cold(&s, 1) && dp_vhpoll_cold(&s, 2));
	CHECK(!dp_vhpoll_cold(&s, 0));

	/* Busy: the cold ones once per pace (100-cycle iterations). */
	unsigned int cold_polls = 0, iters = 0;
	uint64_t end = now + 10 * s.pace_tsc;
	for (; now < end; now += 100, iters++) {
		unsigned int p = iterate(now, true, q0);
		CHECK(p & 1);
		CHECK((p & 6) == 0 || (p & 6) == 6); /* cold ones together */
		cold_polls += (p & 2) != 0;
	}
	CHECK(cold_polls >= 9 && cold_polls <= 11);
	CHECK(iters >= 900);

	/* Idle: every queue on every iteration. */
	for (i = 0; i < 5; i++, now += 100)
		CHECK_EQ(iterate(now, false, none), 7);

	/* A frame on queue 1 when it is next polled makes it hot: polled on
	 * every iteration again while the worker is busy. */
	unsigned int p;
	do {
		p = iterate(now, true, q1);
		now += 100;
	} while (!(p & 2));
	CHECK(!dp_vhpoll_cold(&s, 1));
	CHECK_EQ(iterate(now, true, q0) & 2, 2);
	now += 100;

	/* A new list: all hot, even queue 2, cold before. */
	CHECK(dp_vhpoll_cold(&s, 2));
	list.l.seq = 2;
	CHECK_EQ(iterate(now, true, q0), 7);
	CHECK(!dp_vhpoll_cold(&s, 2));

	/* Positions past the array are never cold and never written. */
	CHECK(!dp_vhpoll_cold(&s, KDP_MAX_PORTS));
	dp_vhpoll_got(&s, KDP_MAX_PORTS, 0);
	CHECK_DONE();
}
