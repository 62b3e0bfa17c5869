/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * /kdp/ telemetry commands. Handlers run in DPDK's telemetry thread: they
 * read control state under the control lock and sum the per-lcore counters
 * without one (a slightly stale sum is fine).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_telemetry.h>

#include "acl/acl.h"
#include "control/ctl_priv.h"
#include "dp/stats.h"
#include "dp/vport.h"

static struct ctl *tel_ctl;

/* Entries one telemetry dict may hold (RTE_TEL_MAX_DICT_ENTRIES is 256). */
#define TEL_PAGE 200

static void ip_str(char *buf, size_t len, uint32_t ip)
{
	snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff,
		 (ip >> 8) & 0xff, ip & 0xff);
}

/*
 * A pod's "namespace/name" in at most @p len - 1 characters: DPDK's
 * telemetry cuts strings and dict keys at RTE_TEL_MAX_STRING_LEN - 1, and
 * a pod key may be 317 long. A longer key keeps its start (the namespace)
 * and its end (the generated suffix that tells a controller's pods apart)
 * around "...".
 */
static const char *tel_pod_name(char *buf, size_t len, const char *pod)
{
	size_t n = strlen(pod);

	if (n < len || len < 8) {
		snprintf(buf, len, "%s", pod);
		return buf;
	}
	size_t head = (len - 4) / 2, tail = len - 4 - head;
	snprintf(buf, len, "%.*s...%s", (int)head, pod, pod + n - tail);
	return buf;
}

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

/* One port's entry of /kdp/stats "ports", named "port<id>"; its counters
 * into the totals. @return false when out of memory. */
static bool stats_port(struct rte_tel_data *ports,
		       const struct dp_lcore_stats *s, uint16_t p,
		       const char *name, uint64_t *rx, uint64_t *tx)
{
	struct rte_tel_data *pd = rte_tel_data_alloc();
	char key[16], role[RTE_TEL_MAX_STRING_LEN];

	if (pd == NULL)
		return false;
	rte_tel_data_start_dict(pd);
	rte_tel_data_add_dict_string(pd, "name", name);
	rte_tel_data_add_dict_string(pd, "role",
		port_role(tel_ctl, p, role, sizeof(role)));
	rte_tel_data_add_dict_u64(pd, "rx", s->port[p].rx);
	rte_tel_data_add_dict_u64(pd, "tx", s->port[p].tx);
	rte_tel_data_add_dict_u64(pd, "drops", s->port[p].drops);
	snprintf(key, sizeof(key), "port%u", p);
	rte_tel_data_add_dict_container(ports, key, pd, 0);
	*rx += s->port[p].rx;
	*tx += s->port[p].tx;
	return true;
}

static int tel_stats(const char *cmd, const char *params,
		     struct rte_tel_data *d)
{
	struct dp_lcore_stats *s = malloc(sizeof(*s));
	struct rte_tel_data *ports, *drops;
	uint64_t rx = 0, tx = 0, dr = 0;
	uint16_t p;

	if (s == NULL)
		return -ENOMEM;
	dp_stats_sum(s);
	ports = rte_tel_data_alloc();
	drops = rte_tel_data_alloc();
	if (ports == NULL || drops == NULL) {
		rte_tel_data_free(ports);
		rte_tel_data_free(drops);
		free(s);
		return -ENOMEM;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_start_dict(ports);
	rte_tel_data_start_dict(drops);
	pthread_mutex_lock(&tel_ctl->lock);
	RTE_ETH_FOREACH_DEV(p) {
		char name[RTE_ETH_NAME_MAX_LEN];

		if (rte_eth_dev_get_name_by_port(p, name) != 0)
			snprintf(name, sizeof(name), "port%u", p);
		if (!stats_port(ports, s, p, name, &rx, &tx))
			break;
	}
	/* kdp's native ports (dp/vport.h), past the ethdevs. */
	for (p = RTE_MAX_ETHPORTS; p < KDP_MAX_PORTS; p++) {
		char name[RTE_ETH_NAME_MAX_LEN];

		if (dp_vport_info(p, name, sizeof(name)) &&
		    !stats_port(ports, s, p, name, &rx, &tx))
			break;
	}
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
	rte_tel_data_add_dict_u64(d, "nat_empty", s->nat_empty);
	rte_tel_data_add_dict_u64(d, "express", s->express);
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
	rte_tel_data_add_dict_container(d, "ports", ports, 0);
	rte_tel_data_add_dict_container(d, "drop_reasons", drops, 0);
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
static int tel_routes(const char *cmd, const char *params,
		      struct rte_tel_data *d)
{
	struct ctl *c = tel_ctl;
	unsigned long start = 0;

	if (params && *params) {
		/* Digits only, and no overflow: strtoul() takes a sign and
		 * blanks ("-1" was start 18446744073709551615) and
		 * saturates a number past its range. */
		if (strspn(params, "0123456789") != strlen(params))
			return -EINVAL;
		errno = 0;
		start = strtoul(params, NULL, 10);
		if (errno == ERANGE)
			return -EINVAL;
	}
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
	for (size_t i = start; i < n && i - start < TEL_PAGE; i++) {
		const struct ctl_route *r = &c->rs.v[i];
		char net[20], val[RTE_TEL_MAX_STRING_LEN], via[20];
		ip_str(net, sizeof(net), r->net);
		ip_str(via, sizeof(via), r->via);
		if (r->kind == CTL_RT_LOCAL_POD)
			snprintf(val, sizeof(val), "%s/%u pod %s/%s", net,
				 r->plen, r->pod_ns, r->pod_name);
		else if (r->kind == CTL_RT_BLACKHOLE)
			snprintf(val, sizeof(val), "%s/%u blackhole", net,
				 r->plen);
		else
			snprintf(val, sizeof(val), "%s/%u %s via %s node %s",
				 net, r->plen, rt_kind[r->kind], via,
				 r->node ? r->node : "?");
		rte_tel_data_add_array_string(rt, val);
	}
	pthread_mutex_unlock(&c->lock);
	rte_tel_data_add_dict_container(d, "routes", rt, 0);
	return 0;
}

static int tel_neighbors(const char *cmd, const char *params,
			 struct rte_tel_data *d)
{
	pthread_mutex_lock(&tel_ctl->lock);
	ctl_neigh_telemetry(tel_ctl->neigh, d);
	pthread_mutex_unlock(&tel_ctl->lock);
	return 0;
}

static int tel_endpoints(const char *cmd, const char *params,
			 struct rte_tel_data *d)
{
	struct ctl *c = tel_ctl;

	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	pthread_mutex_lock(&c->lock);
	const struct pl_tables *t = pl_tables_cur;
	for (uint32_t i = 0; t && i < t->n_ep && i < TEL_PAGE; i++) {
		const struct pl_ep *ep = &t->ep[i];
		char val[RTE_TEL_MAX_STRING_LEN], rest[RTE_TEL_MAX_STRING_LEN];
		/* The fields first: a long pod name gives way to them. */
		int o = snprintf(rest, sizeof(rest), " port=%u ips=", ep->port);
		for (unsigned int j = 0; j < ep->n_ips; j++) {
			char ip[20];
			ip_str(ip, sizeof(ip), rte_be_to_cpu_32(ep->ips[j]));
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
		rte_tel_data_add_array_string(d, val);
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static int visit_node(void *arg, const void *decoded, const cJSON *raw)
{
	struct rte_tel_data *d = arg;
	const struct ctl_node *n = decoded;
	char val[RTE_TEL_MAX_STRING_LEN], ip[20], tun[20];

	ip_str(ip, sizeof(ip), n->ip);
	ip_str(tun, sizeof(tun), n->tunnel_ip);
	snprintf(val, sizeof(val), "%s %s/%u tunnel=%s", n->name,
		 n->ip ? ip : "unknown", n->plen, n->tunnel_ip ? tun : "none");
	rte_tel_data_add_array_string(d, val);
	return 0;
}

static int tel_nodes(const char *cmd, const char *params,
		     struct rte_tel_data *d)
{
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	pthread_mutex_lock(&tel_ctl->lock);
	ctl_store_foreach(tel_ctl->store, CTL_RES_NODE, visit_node, d);
	pthread_mutex_unlock(&tel_ctl->lock);
	return 0;
}

static int tel_config(const char *cmd, const char *params,
		      struct rte_tel_data *d)
{
	const struct ctl_config *cfg = tel_ctl->p.cfg;
	char buf[64];

	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "node", cfg->node);
	if (cfg->telemetry_name)
		rte_tel_data_add_dict_string(d, "name", cfg->telemetry_name);
	rte_tel_data_add_dict_string(d, "datastore",
		cfg->ds_type == CTL_DS_FILE ? "file" : "kubernetes");
	if (cfg->ds_path)
		rte_tel_data_add_dict_string(d, "datastore_path", cfg->ds_path);
	rte_tel_data_add_dict_string(d, "uplink", cfg->uplink_devargs);
	rte_ether_format_addr(buf, sizeof(buf), &tel_ctl->p.ports.uplink_mac);
	rte_tel_data_add_dict_string(d, "uplink_mac", buf);
	rte_tel_data_add_dict_int(d, "uplink_mtu", cfg->uplink_mtu);
	if (cfg->gateway) {
		ip_str(buf, sizeof(buf), cfg->gateway);
		rte_tel_data_add_dict_string(d, "gateway", buf);
	}
	rte_tel_data_add_dict_int(d, "pod_ports", (int)cfg->n_pod_ports);
	rte_tel_data_add_dict_string(d, "api_socket",
		tel_ctl->api ? cfg->api_socket : "(none)");
	rte_tel_data_add_dict_string(d, "state_dir", cfg->state_dir);
	pthread_mutex_lock(&tel_ctl->lock);
	rte_tel_data_add_dict_int(d, "api_ports", (int)tel_ctl->pods.n_api);
	pthread_mutex_unlock(&tel_ctl->lock);
	if (cfg->host_iface)
		rte_tel_data_add_dict_string(d, "host_iface", cfg->host_iface);
	rte_tel_data_add_dict_int(d, "workers", (int)cfg->workers);
	rte_tel_data_add_dict_int(d, "idle_sleep_us", (int)cfg->idle_sleep_us);
	rte_tel_data_add_dict_int(d, "record_cycles", (int)cfg->record_cycles);
	rte_tel_data_add_dict_int(d, "mbufs", (int)cfg->mbufs);
	rte_tel_data_add_dict_int(d, "arp_timeout_s", (int)cfg->arp_timeout_s);
	rte_tel_data_add_dict_int(d, "coalesce_ms", (int)cfg->coalesce_ms);
	return 0;
}

static int tel_datastore(const char *cmd, const char *params,
			 struct rte_tel_data *d)
{
	struct ctl *c = tel_ctl;

	pthread_mutex_lock(&c->lock);
	if (c->ds->ops->status)
		c->ds->ops->status(c->ds, d);
	else
		rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "synced",
				     c->ds->ops->synced(c->ds) ? "yes" : "no");
	rte_tel_data_add_dict_u64(d, "publishes", c->publishes);
	rte_tel_data_add_dict_u64(d, "publish_failures", c->publish_failures);
	rte_tel_data_add_dict_u64(d, "tables_generation", c->pub_gen);
	char ms[32];
	snprintf(ms, sizeof(ms), "%.3f", c->last_publish_ms);
	rte_tel_data_add_dict_string(d, "last_publish_ms", ms);
	/* Its parts: building the tables, and retiring replaced ones (a
	 * grace-period poll; a wait when an API change needs the old ports
	 * closed: workers descheduled on a loaded machine make it long). */
	snprintf(ms, sizeof(ms), "%.3f", c->last_compile_ms);
	rte_tel_data_add_dict_string(d, "last_compile_ms", ms);
	snprintf(ms, sizeof(ms), "%.3f", c->last_grace_ms);
	rte_tel_data_add_dict_string(d, "last_grace_ms", ms);
	rte_tel_data_add_dict_string(d, "last_compile_error", c->last_error);
	/* Start-up: milliseconds from control start; -1 = not yet. */
	snprintf(ms, sizeof(ms), "%.1f", c->first_sync_mono == 0 ? -1.0 :
		 (c->first_sync_mono - c->created_mono) * 1000.0);
	rte_tel_data_add_dict_string(d, "first_sync_ms", ms);
	snprintf(ms, sizeof(ms), "%.1f", c->first_publish_mono == 0 ? -1.0 :
		 (c->first_publish_mono - c->created_mono) * 1000.0);
	rte_tel_data_add_dict_string(d, "first_publish_ms", ms);
	/* CLOCK_MONOTONIC seconds: compare with a writer's clock. */
	snprintf(ms, sizeof(ms), "%.6f", c->last_change_mono);
	rte_tel_data_add_dict_string(d, "last_change_mono", ms);
	snprintf(ms, sizeof(ms), "%.6f", c->last_publish_mono);
	rte_tel_data_add_dict_string(d, "last_publish_mono", ms);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static void tel_add_line(void *arg, const char *line)
{
	rte_tel_data_add_array_string(arg, line);
}

/* Per endpoint: the policies applied in each direction, rule counts and
 * hits of the current generation. */
static int tel_policy(const char *cmd, const char *params,
		      struct rte_tel_data *d)
{
	struct ctl *c = tel_ctl;
	int rc = 0;

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
	}
	for (uint32_t i = 0; t && t->acl && i < t->n_ep && i < TEL_PAGE; i++) {
		struct rte_tel_data *ep = rte_tel_data_alloc();
		struct rte_tel_data *in = rte_tel_data_alloc();
		struct rte_tel_data *eg = rte_tel_data_alloc();

		if (!ep || !in || !eg) {
			rte_tel_data_free(ep);
			rte_tel_data_free(in);
			rte_tel_data_free(eg);
			rc = -ENOMEM;
			break;
		}
		rte_tel_data_start_dict(ep);
		rte_tel_data_start_array(in, RTE_TEL_STRING_VAL);
		rte_tel_data_start_array(eg, RTE_TEL_STRING_VAL);
		acl_set_describe(t->acl, i, ACL_DIR_INGRESS, tel_add_line, in);
		acl_set_describe(t->acl, i, ACL_DIR_EGRESS, tel_add_line, eg);
		rte_tel_data_add_dict_container(ep, "ingress", in, 0);
		rte_tel_data_add_dict_container(ep, "egress", eg, 0);
		char name[RTE_TEL_MAX_STRING_LEN];
		rte_tel_data_add_dict_container(d, tel_pod_name(name,
			sizeof(name), t->ep[i].name), ep, 0);
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

#define TEL_CT_DUMP 50

/* Per worker: flow counts, and up to TEL_CT_DUMP live flows. */
static int tel_conntrack(const char *cmd, const char *params,
			 struct rte_tel_data *d)
{
	uint64_t now = acl_now_ms();

	rte_tel_data_start_dict(d);
	for (unsigned int w = 0; w < acl_worker_count(); w++) {
		struct acl_ct_stats st;
		struct rte_tel_data *wd, *fl;
		char name[32];

		if (acl_worker_stats(w, &st))
			continue;
		wd = rte_tel_data_alloc();
		fl = rte_tel_data_alloc();
		if (!wd || !fl) {
			rte_tel_data_free(wd);
			rte_tel_data_free(fl);
			return -ENOMEM;
		}
		rte_tel_data_start_dict(wd);
		rte_tel_data_start_array(fl, RTE_TEL_STRING_VAL);
		rte_tel_data_add_dict_u64(wd, "flows", st.flows);
		rte_tel_data_add_dict_u64(wd, "capacity", st.capacity);
		rte_tel_data_add_dict_u64(wd, "created", st.created);
		rte_tel_data_add_dict_u64(wd, "expired", st.expired);
		rte_tel_data_add_dict_u64(wd, "full", st.full);
		rte_tel_data_add_dict_u64(wd, "evicted", st.evicted);
		rte_tel_data_add_dict_u64(wd, "reclassified", st.reclassified);
		acl_ct_dump(w, TEL_CT_DUMP, now, tel_add_line, fl);
		rte_tel_data_add_dict_container(wd, "dump", fl, 0);
		snprintf(name, sizeof(name), "worker%u", w);
		rte_tel_data_add_dict_container(d, name, wd, 0);
	}
	return 0;
}

void ctl_telemetry_register(struct ctl *c)
{
	tel_ctl = c;
	rte_telemetry_register_cmd("/kdp/stats", tel_stats,
		"Per-port and total rx/tx/drops and every drop reason");
	rte_telemetry_register_cmd("/kdp/routes", tel_routes,
		"Routes of the published tables. Parameters: int start");
	rte_telemetry_register_cmd("/kdp/neighbors", tel_neighbors,
		"Neighbor (ARP) slots: port/ip -> mac state");
	rte_telemetry_register_cmd("/kdp/endpoints", tel_endpoints,
		"Local pods with ports: port, IPs, MAC");
	rte_telemetry_register_cmd("/kdp/nodes", tel_nodes,
		"Nodes: IP/subnet and tunnel address");
	rte_telemetry_register_cmd("/kdp/config", tel_config,
		"The running configuration");
	rte_telemetry_register_cmd("/kdp/datastore", tel_datastore,
		"Datastore sync state and table publication");
	rte_telemetry_register_cmd("/kdp/policy", tel_policy,
		"Per endpoint: policies applied per direction, rule counts, hits");
	rte_telemetry_register_cmd("/kdp/conntrack", tel_conntrack,
		"Per worker: conntrack counts and a bounded dump of flows");
}
