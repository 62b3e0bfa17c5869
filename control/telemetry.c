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
#include <rte_telemetry.h>

#include "acl/acl.h"
#include "control/tel_priv.h"

struct ctl *tel_ctl;

/*
 * A pod's "namespace/name" in at most @p len - 1 characters: DPDK's
 * telemetry cuts strings and dict keys at RTE_TEL_MAX_STRING_LEN - 1, and
 * a pod key may be 317 long. A longer key keeps its start (the namespace)
 * and its end (the generated suffix that tells a controller's pods apart)
 * around "...".
 */
const char *tel_pod_name(char *buf, size_t len, const char *pod)
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

const char *tel_key(char *out, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i + 1 < n && name[i] != '\0'; i++) {
		char ch = name[i];
		bool ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
			  (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == '/';
		out[i] = ok ? ch : '_';
	}
	out[i] = '\0';
	return out;
}

int tel_start(const char *params, unsigned long *start)
{
	*start = 0;
	if (params == NULL || *params == '\0')
		return 0;
	/* Digits only, and no overflow: strtoul() takes a sign and blanks
	 * ("-1" was start 18446744073709551615) and saturates a number past
	 * its range. */
	if (strspn(params, "0123456789") != strlen(params))
		return -EINVAL;
	errno = 0;
	*start = strtoul(params, NULL, 10);
	return errno == ERANGE ? -EINVAL : 0;
}

static int tel_neighbors(const char *cmd, const char *params,
			 struct rte_tel_data *d)
{
	unsigned long start;

	if (tel_start(params, &start) != 0)
		return -EINVAL;
	pthread_mutex_lock(&tel_ctl->lock);
	ctl_neigh_telemetry(tel_ctl->neigh, d, start, TEL_PAGE, TEL_BUDGET);
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
		tel_ip_str(buf, sizeof(buf), cfg->gateway);
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

#define TEL_CT_DUMP 50

/* Per worker: flow counts, and up to TEL_CT_DUMP live flows, fewer with
 * many workers: all the workers' lines fit in one answer. */
static int tel_conntrack(const char *cmd, const char *params,
			 struct rte_tel_data *d)
{
	uint64_t now = acl_now_ms();
	unsigned int nw = acl_worker_count();
	unsigned int dump = nw ? TEL_BUDGET / nw /
		(RTE_TEL_MAX_STRING_LEN + TEL_STR_EXTRA) : 0;

	dump = RTE_MIN(dump, (unsigned int)TEL_CT_DUMP);

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
		acl_ct_dump(w, dump, now, tel_add_line, fl);
		rte_tel_data_add_dict_container(wd, "dump", fl, 0);
		snprintf(name, sizeof(name), "worker%u", w);
		rte_tel_data_add_dict_container(d, name, wd, 0);
	}
	return 0;
}

struct pmtu_tel {
	struct rte_tel_data *t;
	uint64_t now;
};

static void pmtu_visit(void *arg, uint32_t node, uint16_t mtu,
		       uint64_t expire_ms)
{
	struct pmtu_tel *x = arg;
	struct rte_tel_data *e = rte_tel_data_alloc();
	char key[16];

	if (e == NULL)
		return;
	snprintf(key, sizeof(key), "%u_%u_%u_%u", node >> 24,
		 (node >> 16) & 0xff, (node >> 8) & 0xff, node & 0xff);
	rte_tel_data_start_dict(e);
	rte_tel_data_add_dict_int(e, "path_mtu", mtu);
	rte_tel_data_add_dict_int(e, "pod_mtu", mtu - 20);
	rte_tel_data_add_dict_u64(e, "expires_in_s",
				  (expire_ms - x->now) / 1000);
	rte_tel_data_add_dict_container(x->t, key, e, 0);
}

/* Every learned MTU fits one answer (CTL_PMTU_MAX). */
static int tel_pmtu(const char *cmd, const char *params,
		   struct rte_tel_data *d)
{
	struct pmtu_tel x = {.t = rte_tel_data_alloc()};

	if (x.t == NULL)
		return -ENOMEM;
	rte_tel_data_start_dict(d);
	rte_tel_data_start_dict(x.t);
	pthread_mutex_lock(&tel_ctl->lock);
	x.now = ctl_now_ms();
	rte_tel_data_add_dict_u64(d, "learned", tel_ctl->pmtu_learned);
	rte_tel_data_add_dict_u64(d, "rejected", tel_ctl->pmtu_rejected);
	ctl_pmtu_foreach(tel_ctl->pmtu, pmtu_visit, &x);
	pthread_mutex_unlock(&tel_ctl->lock);
	rte_tel_data_add_dict_container(d, "tunnels", x.t, 0);
	return 0;
}

void ctl_telemetry_register(struct ctl *c)
{
	tel_ctl = c;
	rte_telemetry_register_cmd("/kdp/stats", tel_stats,
		"Total rx/tx/drops, every drop reason, the ports that fit "
		"(ports_next: /kdp/ports has the rest)");
	rte_telemetry_register_cmd("/kdp/ports", tel_ports,
		"Per port: name, role, rx/tx/drops. Parameters: int start "
		"(port id; the answer's next)");
	rte_telemetry_register_cmd("/kdp/routes", tel_routes,
		"Routes of the published tables. Parameters: int start");
	rte_telemetry_register_cmd("/kdp/neighbors", tel_neighbors,
		"Neighbor (ARP) slots: port/ip -> mac state. Parameters: int "
		"start (an empty page is the end)");
	rte_telemetry_register_cmd("/kdp/endpoints", tel_endpoints,
		"Local pods with ports: port, IPs, MAC. Parameters: int start "
		"(an empty page is the end)");
	rte_telemetry_register_cmd("/kdp/nodes", tel_nodes,
		"Nodes: IP/subnet and tunnel address. Parameters: int start "
		"(an empty page is the end)");
	rte_telemetry_register_cmd("/kdp/config", tel_config,
		"The running configuration");
	rte_telemetry_register_cmd("/kdp/datastore", tel_datastore,
		"Datastore sync state and table publication");
	rte_telemetry_register_cmd("/kdp/policy", tel_policy,
		"Per endpoint: policies applied per direction, rule counts, hits. "
		"Parameters: int start (endpoint; the answer's endpoints_next)");
	rte_telemetry_register_cmd("/kdp/conntrack", tel_conntrack,
		"Per worker: conntrack counts and a bounded dump of flows");
	rte_telemetry_register_cmd("/kdp/pmtu", tel_pmtu,
		"Tunnels' path MTUs learned from ICMP (by node IP, dots as _)");
}