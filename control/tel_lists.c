/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The /kdp/ telemetry commands that list: ports (in /kdp/stats and
 * /kdp/ports), routes, endpoints, policy per endpoint, nodes. Each comes
 * in pages that fit DPDK's 16 KiB answer (control/tel_priv.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "acl/acl.h"
#include "control/tel_priv.h"
#include "dp/stats.h"
#include "dp/vport.h"

/* Policy lines one endpoint's direction lists at most, by count and by
 * JSON bytes: an endpoint always fits in a page (a page makes progress),
 * the lines left out are counted in a last line. */
#define TEL_POL_LINES 32
#define TEL_POL_BYTES (TEL_BUDGET / 4)
/* A port entry's JSON besides its key, name, role and counters' digits:
 * field names, quotes, colons, commas, braces. */
#define TEL_PORT_EXTRA 80

/* Copies the role into @p buf: pod ports come and go (call with the lock). */
static const char *port_role(const struct ctl *c, uint16_t port, char *buf,
			     size_t len)
{
	const struct ctl_pp *pp;

	if (port == c->p.ports.uplink)
		return "uplink";
	if (port == c->p.ports.host)
		return "host";
	pp = ctl_pods_find_port(&c->pods, port);
	if (pp == NULL)
		return "other";
	return tel_pod_name(buf, len, pp->pod);
}

/* The open port with the lowest id from @p from: ethdevs, then kdp's
 * native ports (dp/vport.h); its name into @p name (RTE_ETH_NAME_MAX_LEN).
 * @return its id, or -1 when there is none. */
static int port_from(unsigned int from, char *name)
{
	for (unsigned int p = from; p < KDP_MAX_PORTS; p++) {
		if (p < RTE_MAX_ETHPORTS) {
			uint64_t q = rte_eth_find_next_owned_by(
				(uint16_t)p, RTE_ETH_DEV_NO_OWNER);
			if (q >= RTE_MAX_ETHPORTS) {
				p = RTE_MAX_ETHPORTS - 1;
				continue;
			}
			if (rte_eth_dev_get_name_by_port((uint16_t)q, name))
				snprintf(name, RTE_ETH_NAME_MAX_LEN, "port%u",
					 (unsigned int)q);
			return (int)q;
		}
		if (dp_vport_info((uint16_t)p, name, RTE_ETH_NAME_MAX_LEN))
			return (int)p;
	}
	return -1;
}

/* Port @p p's entry "port<id>" of @p ports, if it fits in @p b.
 * @return 0, -ENOSPC (the page is full) or -ENOMEM. */
static int port_entry(struct rte_tel_data *ports,
		      const struct dp_lcore_stats *s, uint16_t p,
		      const char *name, struct tel_budget *b)
{
	char key[16], role[RTE_TEL_MAX_STRING_LEN];
	const char *r = port_role(tel_ctl, p, role, sizeof(role));

	int digits = snprintf(NULL, 0, "%lu%lu%lu",
			      (unsigned long)s->port[p].rx,
			      (unsigned long)s->port[p].tx,
			      (unsigned long)s->port[p].drops);

	snprintf(key, sizeof(key), "port%u", p);
	if (!tel_take(b, TEL_PORT_EXTRA + strlen(key) + strlen(name) +
		      strlen(r) + (size_t)digits))
		return -ENOSPC;
	struct rte_tel_data *pd = rte_tel_data_alloc();
	if (pd == NULL)
		return -ENOMEM;
	rte_tel_data_start_dict(pd);
	rte_tel_data_add_dict_string(pd, "name", name);
	rte_tel_data_add_dict_string(pd, "role", r);
	rte_tel_data_add_dict_u64(pd, "rx", s->port[p].rx);
	rte_tel_data_add_dict_u64(pd, "tx", s->port[p].tx);
	rte_tel_data_add_dict_u64(pd, "drops", s->port[p].drops);
	/* A native vhost-user port: is its pod connected (ethdevs have
	 * /ethdev/link_status)? */
	int pairs = dp_vport_vhost_pairs(p);
	if (pairs >= 0)
		rte_tel_data_add_dict_string(pd, "link", pairs ? "up" : "down");
	rte_tel_data_add_dict_container(ports, key, pd, 0);
	return 0;
}

/* Every open port's counters into *@p rx and *@p tx and its count into
 * *@p total; entries into @p ports for the ports from id @p start while
 * they fit in a page (call with the lock). @return the first port from
 * @p start left out, or -1. */
static int ports_page(struct rte_tel_data *ports,
		      const struct dp_lcore_stats *s, unsigned long start,
		      unsigned int *total, uint64_t *rx, uint64_t *tx)
{
	struct tel_budget b = {TEL_BUDGET};
	char name[RTE_ETH_NAME_MAX_LEN];
	int next = -1;

	*total = 0;
	for (int p = port_from(0, name); p >= 0;
	     p = port_from((unsigned int)p + 1, name)) {
		++*total;
		*rx += s->port[p].rx;
		*tx += s->port[p].tx;
		if ((unsigned long)p < start || next >= 0)
			continue;
		if (port_entry(ports, s, (uint16_t)p, name, &b) != 0)
			next = p;
	}
	return next;
}

static struct dp_lcore_stats *stats_sum(void)
{
	struct dp_lcore_stats *s = malloc(sizeof(*s));

	if (s != NULL)
		dp_stats_sum(s);
	return s;
}

int tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_lcore_stats *s = stats_sum();
	struct rte_tel_data *ports = rte_tel_data_alloc();
	struct rte_tel_data *drops = rte_tel_data_alloc();
	uint64_t rx = 0, tx = 0, dr = 0;
	unsigned int total;

	if (s == NULL || ports == NULL || drops == NULL) {
		rte_tel_data_free(ports);
		rte_tel_data_free(drops);
		free(s);
		return -ENOMEM;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_start_dict(ports);
	rte_tel_data_start_dict(drops);
	pthread_mutex_lock(&tel_ctl->lock);
	int next = ports_page(ports, s, 0, &total, &rx, &tx);
	pthread_mutex_unlock(&tel_ctl->lock);
	for (int i = 0; i < DP_DROP_MAX; i++) {
		rte_tel_data_add_dict_u64(drops, dp_drop_name(i), s->drop[i]);
		dr += s->drop[i];
	}
	rte_tel_data_add_dict_u64(d, "rx", rx);
	rte_tel_data_add_dict_u64(d, "tx", tx);
	rte_tel_data_add_dict_u64(d, "drops", dr);
	rte_tel_data_add_dict_u64(d, "ipip_encap", s->ipip_encap);
	rte_tel_data_add_dict_u64(d, "ipip_decap", s->ipip_decap);
	rte_tel_data_add_dict_u64(d, "icmp_sent", s->icmp_sent);
	rte_tel_data_add_dict_u64(d, "icmp_ratelimited", s->icmp_ratelimited);
	rte_tel_data_add_dict_u64(d, "arp_replied", s->arp_replied);
	rte_tel_data_add_dict_u64(d, "punted", s->punted);
	rte_tel_data_add_dict_u64(d, "idle_sleeps", s->idle_sleeps);
	rte_tel_data_add_dict_u64(d, "nat_waits", s->nat_waits);
	rte_tel_data_add_dict_u64(d, "nat_wakes", s->nat_wakes);
	rte_tel_data_add_dict_u64(d, "vh_wakes", s->vh_wakes);
	rte_tel_data_add_dict_u64(d, "nat_gone", s->nat_gone);
	rte_tel_data_add_dict_u64(d, "nat_empty", s->nat_empty);
	rte_tel_data_add_dict_u64(d, "vh_empty", s->vh_empty);
	rte_tel_data_add_dict_u64(d, "express", s->express);
	rte_tel_data_add_dict_u64(d, "masq_host", s->masq_host);
	rte_tel_data_add_dict_u64(d, "host_return", s->host_return);
	rte_tel_data_add_dict_u64(d, "frag_ports", s->frag_ports);
	rte_tel_data_add_dict_u64(d, "frag_noports", s->frag_noports);
	/* Leak checks: per-lcore caches count as available, so in_use is
	 * what rings, queues and the control side really hold. */
	if (tel_ctl->pods.mp) {
		rte_tel_data_add_dict_u64(d, "mbufs_in_use",
			rte_mempool_in_use_count(tel_ctl->pods.mp));
		rte_tel_data_add_dict_u64(d, "mbufs_avail",
			rte_mempool_avail_count(tel_ctl->pods.mp));
	}
	rte_tel_data_add_dict_u64(d, "busy_cycles", s->busy_cycles);
	rte_tel_data_add_dict_u64(d, "busy_polls", s->busy_polls);
	rte_tel_data_add_dict_u64(d, "tsc_hz", rte_get_tsc_hz());
	rte_tel_data_add_dict_u64(d, "handoff_out", s->handoff_out);
	rte_tel_data_add_dict_u64(d, "handoff_in", s->handoff_in);
	/* The ports that fit; /kdp/ports,NEXT has the rest. */
	rte_tel_data_add_dict_u64(d, "ports_total", total);
	if (next >= 0)
		rte_tel_data_add_dict_u64(d, "ports_next", (uint64_t)next);
	rte_tel_data_add_dict_container(d, "ports", ports, 0);
	rte_tel_data_add_dict_container(d, "drop_reasons", drops, 0);
	free(s);
	return 0;
}

/* /kdp/ports[,START]: the ports from id START, a page at a time. */
int tel_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	unsigned long start;
	uint64_t rx = 0, tx = 0;
	unsigned int total;

	if (tel_start(params, &start) != 0)
		return -EINVAL;
	struct dp_lcore_stats *s = stats_sum();
	struct rte_tel_data *ports = rte_tel_data_alloc();
	if (s == NULL || ports == NULL) {
		rte_tel_data_free(ports);
		free(s);
		return -ENOMEM;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_start_dict(ports);
	pthread_mutex_lock(&tel_ctl->lock);
	int next = ports_page(ports, s, start, &total, &rx, &tx);
	pthread_mutex_unlock(&tel_ctl->lock);
	rte_tel_data_add_dict_u64(d, "start", start);
	rte_tel_data_add_dict_u64(d, "total", total);
	if (next >= 0)
		rte_tel_data_add_dict_u64(d, "next", (uint64_t)next);
	rte_tel_data_add_dict_container(d, "ports", ports, 0);
	free(s);
	return 0;
}

static const char *const rt_kind[] = {
	[CTL_RT_LOCAL_POD] = "pod",
	[CTL_RT_BLACKHOLE] = "blackhole",
	[CTL_RT_IPIP] = "ipip",
	[CTL_RT_DIRECT] = "direct",
};

/* /kdp/routes[,START]: routes from index START, a page at a time. */
int tel_routes(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ctl *c = tel_ctl;
	struct tel_budget b = {TEL_BUDGET};
	unsigned long start;
	size_t i;

	if (tel_start(params, &start) != 0)
		return -EINVAL;
	struct rte_tel_data *rt = rte_tel_data_alloc();
	if (rt == NULL)
		return -ENOMEM;
	rte_tel_data_start_dict(d);
	rte_tel_data_start_array(rt, RTE_TEL_STRING_VAL);
	pthread_mutex_lock(&c->lock);
	size_t n = c->have_rs ? c->rs.n : 0;
	rte_tel_data_add_dict_u64(d, "generation", c->pub_gen);
	rte_tel_data_add_dict_u64(d, "total", n);
	rte_tel_data_add_dict_u64(d, "start", start);
	for (i = start; i < n && i - start < TEL_PAGE; i++) {
		const struct ctl_route *r = &c->rs.v[i];
		char net[20], val[RTE_TEL_MAX_STRING_LEN], via[20];
		tel_ip_str(net, sizeof(net), r->net);
		tel_ip_str(via, sizeof(via), r->via);
		if (r->kind == CTL_RT_LOCAL_POD) {
			/* A long pod key keeps its end, as elsewhere. */
			char key[CTL_POD_KEY_SIZE], name[RTE_TEL_MAX_STRING_LEN];
			int o = snprintf(val, sizeof(val), "%s/%u pod ", net,
					 r->plen);
			snprintf(key, sizeof(key), "%s/%s", r->pod_ns,
				 r->pod_name);
			snprintf(val + o, sizeof(val) - (size_t)o, "%s",
				 tel_pod_name(name, sizeof(val) - (size_t)o,
					      key));
		}
		else if (r->kind == CTL_RT_BLACKHOLE)
			snprintf(val, sizeof(val), "%s/%u blackhole", net,
				 r->plen);
		else
			snprintf(val, sizeof(val), "%s/%u %s via %s node %s",
				 net, r->plen, rt_kind[r->kind], via,
				 r->node ? r->node : "?");
		if (!tel_take(&b, strlen(val) + TEL_STR_EXTRA))
			break;
		rte_tel_data_add_array_string(rt, val);
	}
	if (i < n && i >= start)
		rte_tel_data_add_dict_u64(d, "next", i);
	pthread_mutex_unlock(&c->lock);
	rte_tel_data_add_dict_container(d, "routes", rt, 0);
	return 0;
}

/* /kdp/endpoints[,START]: from index START, a page at a time (an array,
 * as before pages: an empty page is the end). */
int tel_endpoints(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ctl *c = tel_ctl;
	struct tel_budget b = {TEL_BUDGET};
	unsigned long start;

	if (tel_start(params, &start) != 0)
		return -EINVAL;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	pthread_mutex_lock(&c->lock);
	const struct pl_tables *t = pl_tables_cur;
	for (unsigned long i = start; t && i < t->n_ep && i - start < TEL_PAGE;
	     i++) {
		const struct pl_ep *ep = &t->ep[i];
		char val[RTE_TEL_MAX_STRING_LEN], rest[RTE_TEL_MAX_STRING_LEN];
		/* The fields first: a long pod name gives way to them. */
		int o = snprintf(rest, sizeof(rest), " port=%u ips=", ep->port);
		for (unsigned int j = 0; j < ep->n_ips; j++) {
			char ip[20];
			tel_ip_str(ip, sizeof(ip), rte_be_to_cpu_32(ep->ips[j]));
			o += snprintf(rest + o, sizeof(rest) - o, "%s%s",
				      j ? "," : "", ip);
		}
		uint64_t m = pl_neigh_load(ep->neigh);
		snprintf(rest + o, sizeof(rest) - o,
			 " mac=%02x:%02x:%02x:%02x:%02x:%02x%s",
			 (unsigned)(m & 0xff), (unsigned)((m >> 8) & 0xff),
			 (unsigned)((m >> 16) & 0xff), (unsigned)((m >> 24) & 0xff),
			 (unsigned)((m >> 32) & 0xff), (unsigned)((m >> 40) & 0xff),
			 (m & PL_NEIGH_VALID) ? "" : " (unresolved)");
		char name[RTE_TEL_MAX_STRING_LEN];
		tel_pod_name(name, sizeof(name) - strlen(rest), ep->name);
		snprintf(val, sizeof(val), "%s%s", name, rest);
		if (!tel_take(&b, strlen(val) + TEL_STR_EXTRA))
			break;
		rte_tel_data_add_array_string(d, val);
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}

struct node_page {
	struct rte_tel_data *d;
	struct tel_budget b;
	unsigned long start, i;
};

static int visit_node(void *arg, const void *decoded, const cJSON *raw)
{
	struct node_page *pg = arg;
	const struct ctl_node *n = decoded;
	char val[RTE_TEL_MAX_STRING_LEN], ip[20], tun[20];

	if (pg->i++ < pg->start)
		return 0;
	if (pg->i - pg->start > TEL_PAGE)
		return 1;
	tel_ip_str(ip, sizeof(ip), n->ip);
	tel_ip_str(tun, sizeof(tun), n->tunnel_ip);
	snprintf(val, sizeof(val), "%s %s/%u tunnel=%s", n->name,
		 n->ip ? ip : "unknown", n->plen, n->tunnel_ip ? tun : "none");
	if (!tel_take(&pg->b, strlen(val) + TEL_STR_EXTRA))
		return 1;
	rte_tel_data_add_array_string(pg->d, val);
	return 0;
}

/* /kdp/nodes[,START]: an array from index START (the store's order, which
 * holds while no Node changes); an empty page is the end. */
int tel_nodes(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct node_page pg = {.d = d, .b = {TEL_BUDGET}};

	if (tel_start(params, &pg.start) != 0)
		return -EINVAL;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	pthread_mutex_lock(&tel_ctl->lock);
	ctl_store_foreach(tel_ctl->store, CTL_RES_NODE, visit_node, &pg);
	pthread_mutex_unlock(&tel_ctl->lock);
	return 0;
}

/* One direction's policy lines, bounded (TEL_POL_LINES, TEL_POL_BYTES). */
struct pol_lines {
	struct rte_tel_data *a;
	unsigned int n, more;
	size_t bytes;
};

static void pol_line(void *arg, const char *line)
{
	struct pol_lines *pl = arg;
	size_t len = strnlen(line, RTE_TEL_MAX_STRING_LEN - 1) + TEL_STR_EXTRA;

	if (pl->more || pl->n == TEL_POL_LINES ||
	    pl->bytes + len > TEL_POL_BYTES) {
		pl->more++;
		return;
	}
	rte_tel_data_add_array_string(pl->a, line);
	pl->n++;
	pl->bytes += len;
}

static const char *const dir_name[ACL_DIR_MAX] = {
	[ACL_DIR_INGRESS] = "ingress", [ACL_DIR_EGRESS] = "egress",
};

static void pol_free(struct rte_tel_data *dirs[ACL_DIR_MAX])
{
	for (int dir = 0; dir < ACL_DIR_MAX; dir++)
		rte_tel_data_free(dirs[dir]);
}

/* Endpoint @p i's policies in each direction, as arrays in @p dirs, the
 * lines left out counted in a last one. Built before the entry that will
 * hold them: rte_tel_data_free() of a dict does not free the containers
 * in it (the answer's writer does), so an entry that turns out not to fit
 * the page must not have been made. @return their JSON bytes; 0 when out
 * of memory, with nothing left allocated. */
static size_t pol_lines(const struct acl_set *s, uint32_t i,
			struct rte_tel_data *dirs[ACL_DIR_MAX])
{
	size_t bytes = 0;

	for (int dir = 0; dir < ACL_DIR_MAX; dir++)
		dirs[dir] = rte_tel_data_alloc();
	if (dirs[0] == NULL || dirs[1] == NULL) {
		pol_free(dirs);
		return 0;
	}
	for (int dir = 0; dir < ACL_DIR_MAX; dir++) {
		struct pol_lines pl = {.a = dirs[dir]};
		char more[64];

		rte_tel_data_start_array(pl.a, RTE_TEL_STRING_VAL);
		acl_set_describe(s, i, (enum acl_dir)dir, pol_line, &pl);
		if (pl.more) {
			snprintf(more, sizeof(more), "... %u more", pl.more);
			rte_tel_data_add_array_string(pl.a, more);
			pl.bytes += strlen(more) + TEL_STR_EXTRA;
		}
		bytes += pl.bytes + 16;
	}
	return bytes;
}

/* An endpoint's entry: its pod, and @p dirs, which it takes. NULL when
 * out of memory (@p dirs freed). */
static struct rte_tel_data *pol_entry(const char *pod,
				      struct rte_tel_data *dirs[ACL_DIR_MAX])
{
	struct rte_tel_data *ep = rte_tel_data_alloc();

	if (ep == NULL) {
		pol_free(dirs);
		return NULL;
	}
	rte_tel_data_start_dict(ep);
	rte_tel_data_add_dict_string(ep, "pod", pod);
	for (int dir = 0; dir < ACL_DIR_MAX; dir++)
		rte_tel_data_add_dict_container(ep, dir_name[dir], dirs[dir], 0);
	return ep;
}

/* /kdp/policy[,START]: the policy set, then per endpoint from index START
 * the policies applied in each direction, rule counts and hits of the
 * current generation, a page at a time. */
int tel_policy(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ctl *c = tel_ctl;
	struct tel_budget b = {TEL_BUDGET};
	unsigned long start;
	uint32_t i = 0;
	int rc = 0;

	if (tel_start(params, &start) != 0)
		return -EINVAL;
	rte_tel_data_start_dict(d);
	pthread_mutex_lock(&c->lock);
	const struct pl_tables *t = pl_tables_cur;
	rte_tel_data_add_dict_string(d, "enabled",
				     c->p.cfg->policy_enabled ? "yes" : "no");
	if (t && t->acl) {
		struct acl_set_info ai;
		char ms[32];

		acl_set_get_info(t->acl, &ai);
		rte_tel_data_add_dict_u64(d, "gen", acl_set_gen(t->acl));
		snprintf(ms, sizeof(ms), "%.3f", ai.build_ms);
		rte_tel_data_add_dict_string(d, "build_ms", ms);
		/* The rte_acl forms, built in the background. */
		rte_tel_data_add_dict_string(d, "fast_state",
					     acl_fast_state_str(ai.fast_state));
		snprintf(ms, sizeof(ms), "%.3f", ai.fast_build_ms);
		rte_tel_data_add_dict_string(d, "fast_build_ms", ms);
		snprintf(ms, sizeof(ms), "%.6f", ai.fast_ready_mono);
		rte_tel_data_add_dict_string(d, "fast_ready_mono", ms);
		rte_tel_data_add_dict_u64(d, "programs", ai.programs);
		rte_tel_data_add_dict_u64(d, "fast_programs", ai.fast_programs);
		rte_tel_data_add_dict_u64(d, "acl_contexts", ai.contexts);
		rte_tel_data_add_dict_u64(d, "acl_rules", ai.acl_rules);
		rte_tel_data_add_dict_u64(d, "compiled_rules", ai.rules);
		rte_tel_data_add_dict_u64(d, "endpoints_total", t->n_ep);
		rte_tel_data_add_dict_u64(d, "endpoints_start", start);
		for (i = start < t->n_ep ? (uint32_t)start : t->n_ep;
		     i < t->n_ep && i - start < TEL_PAGE; i++) {
			struct rte_tel_data *dirs[ACL_DIR_MAX], *ep;
			char name[RTE_TEL_MAX_STRING_LEN];
			char key[RTE_TEL_MAX_STRING_LEN];

			tel_pod_name(name, sizeof(name), t->ep[i].name);
			size_t bytes = pol_lines(t->acl, i, dirs);
			if (bytes == 0) {
				rc = -ENOMEM;
				break;
			}
			/* the key, "pod" and the dict around them */
			if (!tel_take(&b, bytes + 2 * strlen(name) + 64)) {
				pol_free(dirs);
				break;
			}
			if ((ep = pol_entry(name, dirs)) == NULL) {
				rc = -ENOMEM;
				break;
			}
			rte_tel_data_add_dict_container(d, tel_key(key,
				sizeof(key), name), ep, 0);
		}
		if (i < t->n_ep)
			rte_tel_data_add_dict_u64(d, "endpoints_next", i);
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}
