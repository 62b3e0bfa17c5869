/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "dp/stats.h"

struct dp_lcore_stats dp_stats[RTE_MAX_LCORE];

static const char *const drop_names[] = {
#define _(sym, name, help) [DP_DROP_##sym] = name,
	foreach_dp_drop(_)
#undef _
};

static const char *const drop_helps[] = {
#define _(sym, name, help) [DP_DROP_##sym] = help,
	foreach_dp_drop(_)
#undef _
};

const char *dp_drop_name(enum dp_drop d)
{
	return d < DP_DROP_MAX ? drop_names[d] : "?";
}

const char *dp_drop_help(enum dp_drop d)
{
	return d < DP_DROP_MAX ? drop_helps[d] : "?";
}

void dp_stats_sum(struct dp_lcore_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned int l = 0; l < RTE_MAX_LCORE; l++) {
		const struct dp_lcore_stats *s = &dp_stats[l];
		for (int d = 0; d < DP_DROP_MAX; d++)
			out->drop[d] += s->drop[d];
		for (int p = 0; p < KDP_MAX_PORTS; p++) {
			out->port[p].rx += s->port[p].rx;
			out->port[p].tx += s->port[p].tx;
			out->port[p].drops += s->port[p].drops;
		}
		out->ipip_encap += s->ipip_encap;
		out->ipip_decap += s->ipip_decap;
		out->icmp_sent += s->icmp_sent;
		out->icmp_ratelimited += s->icmp_ratelimited;
		out->arp_replied += s->arp_replied;
		out->punted += s->punted;
		out->idle_sleeps += s->idle_sleeps;
		out->nat_waits += s->nat_waits;
		out->nat_wakes += s->nat_wakes;
		out->vh_wakes += s->vh_wakes;
		out->nat_gone += s->nat_gone;
		out->nat_empty += s->nat_empty;
		out->vh_empty += s->vh_empty;
		out->busy_cycles += s->busy_cycles;
		out->busy_polls += s->busy_polls;
		out->handoff_out += s->handoff_out;
		out->handoff_in += s->handoff_in;
		out->express += s->express;
		out->masq_host += s->masq_host;
		out->host_return += s->host_return;
		out->frag_ports += s->frag_ports;
		out->frag_noports += s->frag_noports;
	}
}
