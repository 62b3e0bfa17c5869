/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration loading. Each object is checked against the list of keys it
 * may hold, so a typo fails start-up instead of being silently ignored.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>

#include "control/config.h"
#include "k8s/jsonkeys.h"

struct cfg_err {
	char *buf;
	size_t len;
};

static int fail(struct cfg_err *e, const char *key, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(e->buf, e->len, "%s: ", key);

	if (n < 0 || (size_t)n >= e->len)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(e->buf + n, e->len - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int ctl_parse_mac(const char *s, struct rte_ether_addr *mac)
{
	if (s == NULL || strlen(s) != 17)
		return -EINVAL;
	/* Each character checked: sscanf("%2x") would also take a sign or a
	 * leading space ("-1:…" read as ff, " 2:…"). */
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac->addr_bytes[i] = (uint8_t)strtoul(s + 3 * i, NULL, 16);
	return 0;
}

/* A host's MAC: a group or zero address as a source or a next hop's
 * destination would reach no one, or everyone. */
static int parse_host_mac(const char *s, struct rte_ether_addr *mac)
{
	if (ctl_parse_mac(s, mac) != 0 ||
	    !rte_is_valid_assigned_ether_addr(mac))
		return -EINVAL;
	return 0;
}

bool ctl_pod_key_ok(const char *pod)
{
	const char *slash = pod ? strchr(pod, '/') : NULL;

	if (slash == NULL || strchr(slash + 1, '/'))
		return false;
	size_t ns = (size_t)(slash - pod), name = strlen(slash + 1);
	return ns > 0 && ns <= CTL_NS_MAX && name > 0 &&
	       name <= CTL_POD_NAME_MAX;
}

int ctl_parse_ipv4(const char *s, uint32_t *ip)
{
	struct in_addr a;

	if (s == NULL || inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*ip = ntohl(a.s_addr);
	return 0;
}

/*
 * Whether a member before @p it in @p obj has its name. cJSON keeps both
 * members of a key given twice and the lookups find the first, so the
 * second value would be ignored without ever being checked.
 */
static bool repeated(const cJSON *obj, const cJSON *it)
{
	for (const cJSON *p = obj->child; p != it; p = p->next)
		if (strcmp(p->string, it->string) == 0)
			return true;
	return false;
}

/* Every key of @p obj must be in the NULL-terminated @p allowed list,
 * once. */
static int check_keys(struct cfg_err *e, const cJSON *obj, const char *path,
		      const char *const *allowed)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, obj) {
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			ok |= strcmp(*a, it->string) == 0;
		if (!ok || repeated(obj, it)) {
			char key[256];
			snprintf(key, sizeof(key), "%s%s%s", path,
				 *path ? "." : "", it->string);
			return fail(e, key, ok ? "given twice" : "unknown key");
		}
	}
	return 0;
}

static int get_str(struct cfg_err *e, const cJSON *obj, const char *name,
		   const char *path, bool required, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	char key[256];

	snprintf(key, sizeof(key), "%s%s%s", path, *path ? "." : "", name);
	if (v == NULL) {
		if (required)
			return fail(e, key, "missing (required)");
		return 0;
	}
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
		return fail(e, key, "must be a non-empty string");
	if (k8s_json_has_nul(v->valuestring))
		return fail(e, key, "holds U+0000 (or U+FDD0)");
	*out = strdup(v->valuestring);
	return *out ? 0 : -ENOMEM;
}

/* A string that must be one of @p choices (two of them): its index into
 * @p out; @p out unchanged when the key is absent. */
static int get_choice(struct cfg_err *e, const cJSON *obj, const char *name,
		      const char *path, const char *const choices[2],
		      unsigned int *out)
{
	char *v = NULL, key[256];
	int rc;

	if ((rc = get_str(e, obj, name, path, false, &v)) || v == NULL)
		return rc;
	snprintf(key, sizeof(key), "%s%s%s", path, *path ? "." : "", name);
	rc = -EINVAL;
	for (unsigned int i = 0; i < 2; i++)
		if (strcmp(v, choices[i]) == 0) {
			*out = i;
			rc = 0;
		}
	if (rc)
		fail(e, key, "\"%s\" is not \"%s\" or \"%s\"", v, choices[0],
		     choices[1]);
	free(v);
	return rc;
}

static int get_uint(struct cfg_err *e, const cJSON *obj, const char *name,
		    const char *path, unsigned int lo, unsigned int hi,
		    unsigned int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	char key[256];

	snprintf(key, sizeof(key), "%s%s%s", path, *path ? "." : "", name);
	if (v == NULL)
		return 0;
	/* The range first: converting a double out of the integer's range
	 * (1e300, or 1e999 that cJSON reads as infinity) is undefined. */
	if (!cJSON_IsNumber(v) ||
	    !(v->valuedouble >= lo && v->valuedouble <= hi) ||
	    v->valuedouble != (double)(unsigned int)v->valuedouble)
		return fail(e, key, "must be an integer in [%u, %u]", lo, hi);
	*out = (unsigned int)v->valuedouble;
	return 0;
}

/* @p out unchanged when the key is absent. */
static int get_bool(struct cfg_err *e, const cJSON *obj, const char *name,
		    const char *path, bool *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	char key[256];

	snprintf(key, sizeof(key), "%s%s%s", path, *path ? "." : "", name);
	if (v == NULL)
		return 0;
	if (!cJSON_IsBool(v))
		return fail(e, key, "must be true or false");
	*out = cJSON_IsTrue(v);
	return 0;
}

static int get_obj(struct cfg_err *e, const cJSON *obj, const char *name,
		   bool required, const cJSON **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	*out = NULL;
	if (v == NULL)
		return required ? fail(e, name, "missing (required)") : 0;
	if (!cJSON_IsObject(v))
		return fail(e, name, "must be an object");
	*out = v;
	return 0;
}

/* "a.b.c.d/len" (len 1-32, no leading zeros) without host bits. */
static int parse_net(const char *s, uint32_t *net, uint8_t *plen)
{
	const char *slash = strchr(s, '/');
	char addr[INET_ADDRSTRLEN];
	unsigned long len = 0;
	size_t n = slash ? (size_t)(slash - s) : 0;
	const char *d = slash ? slash + 1 : "";

	if (n == 0 || n >= sizeof(addr) || *d == '\0' || strlen(d) > 2 ||
	    (d[0] == '0' && d[1] != '\0'))
		return -EINVAL;
	for (const char *q = d; *q; q++) {
		if (!isdigit((unsigned char)*q))
			return -EINVAL;
		len = len * 10 + (unsigned long)(*q - '0');
	}
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (len > 32 || ctl_parse_ipv4(addr, net) != 0 ||
	    (len < 32 && (*net & (UINT32_MAX >> len))))
		return -EINVAL;
	*plen = (uint8_t)len;
	return 0;
}

/* host.service_cidrs: a list of IPv4 networks, none the default route. */
static int parse_service_cidrs(struct cfg_err *e, const cJSON *h,
			       struct ctl_config *c)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(h, "service_cidrs");
	const cJSON *it;
	size_t n = 0;

	if (v == NULL)
		return 0;
	if (!cJSON_IsArray(v))
		return fail(e, "host.service_cidrs", "must be a list of CIDRs");
	c->service_cidrs = calloc((size_t)cJSON_GetArraySize(v) + 1,
				  sizeof(*c->service_cidrs));
	if (c->service_cidrs == NULL)
		return fail(e, "host.service_cidrs", "out of memory");
	cJSON_ArrayForEach(it, v) {
		uint32_t net;
		uint8_t plen;

		if (!cJSON_IsString(it) ||
		    parse_net(it->valuestring, &net, &plen) != 0)
			return fail(e, "host.service_cidrs",
				    "item %zu is not an IPv4 network "
				    "\"a.b.c.d/len\" without host bits", n);
		/* Everything through the host is no Service range. */
		if (plen == 0)
			return fail(e, "host.service_cidrs",
				    "item %zu is the default route", n);
		c->service_cidrs[n++] = (struct ctl_config_cidr){net, plen};
	}
	c->n_service_cidrs = n;
	return 0;
}

static int parse_datastore(struct cfg_err *e, const cJSON *ds,
			   struct ctl_config *c)
{
	static const char *const keys[] = {"type", "path", "kubeconfig", NULL};
	char *type = NULL;
	int rc;

	if ((rc = check_keys(e, ds, "datastore", keys)) ||
	    (rc = get_str(e, ds, "type", "datastore", true, &type)))
		goto out;
	if (strcmp(type, "file") == 0) {
		c->ds_type = CTL_DS_FILE;
		rc = get_str(e, ds, "path", "datastore", true, &c->ds_path);
		if (!rc && cJSON_GetObjectItem(ds, "kubeconfig"))
			rc = fail(e, "datastore.kubeconfig",
				  "only for type \"kubernetes\"");
	} else if (strcmp(type, "kubernetes") == 0) {
		c->ds_type = CTL_DS_KUBERNETES;
		rc = get_str(e, ds, "kubeconfig", "datastore", false,
			     &c->ds_kubeconfig);
		if (!rc && cJSON_GetObjectItem(ds, "path"))
			rc = fail(e, "datastore.path", "only for type \"file\"");
	} else {
		rc = fail(e, "datastore.type",
			  "\"%s\" is not \"file\" or \"kubernetes\"", type);
	}
out:
	free(type);
	return rc;
}

static int parse_uplink(struct cfg_err *e, const cJSON *up,
			struct ctl_config *c)
{
	static const char *const keys[] = {"devargs", "mac", "neighbors",
					   "gateway", "mtu", NULL};
	char *s = NULL;
	unsigned int mtu = 1500;
	int rc;

	if ((rc = check_keys(e, up, "uplink", keys)) ||
	    (rc = get_str(e, up, "devargs", "uplink", true, &c->uplink_devargs)))
		return rc;
	if ((rc = get_str(e, up, "mac", "uplink", false, &s)))
		return rc;
	if (s) {
		c->uplink_has_mac = true;
		rc = parse_host_mac(s, &c->uplink_mac);
		if (rc)
			fail(e, "uplink.mac", "\"%s\" is not a unicast MAC", s);
		free(s);
		s = NULL;
		if (rc)
			return rc;
	}
	if ((rc = get_str(e, up, "gateway", "uplink", false, &s)))
		return rc;
	if (s) {
		rc = ctl_parse_ipv4(s, &c->gateway);
		if (rc)
			fail(e, "uplink.gateway", "\"%s\" is not an IPv4 address", s);
		free(s);
		if (rc)
			return rc;
	}
	if ((rc = get_uint(e, up, "mtu", "uplink", 576, 9600, &mtu)))
		return rc;
	c->uplink_mtu = (uint16_t)mtu;

	const cJSON *nb = cJSON_GetObjectItemCaseSensitive(up, "neighbors");
	if (nb == NULL)
		return 0;
	if (!cJSON_IsObject(nb))
		return fail(e, "uplink.neighbors", "must be an object of IP: MAC");
	c->n_neighbors = cJSON_GetArraySize(nb);
	c->neighbors = calloc(c->n_neighbors + 1, sizeof(*c->neighbors));
	if (c->neighbors == NULL)
		return -ENOMEM;
	size_t i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, nb) {
		char key[256];
		snprintf(key, sizeof(key), "uplink.neighbors.%s", it->string);
		if (ctl_parse_ipv4(it->string, &c->neighbors[i].ip))
			return fail(e, key, "key is not an IPv4 address");
		if (repeated(nb, it))
			return fail(e, key, "given twice");
		if (!cJSON_IsString(it) ||
		    parse_host_mac(it->valuestring, &c->neighbors[i].mac))
			return fail(e, key, "value is not a unicast MAC");
		i++;
	}
	return 0;
}

static int parse_pod_ports(struct cfg_err *e, const cJSON *pp,
			   struct ctl_config *c)
{
	static const char *const keys[] = {"pod", "devargs", "vhost_socket",
		"vhost_client", "mac", NULL};

	if (!cJSON_IsArray(pp))
		return fail(e, "pod_ports", "must be an array");
	c->n_pod_ports = cJSON_GetArraySize(pp);
	c->pod_ports = calloc(c->n_pod_ports + 1, sizeof(*c->pod_ports));
	if (c->pod_ports == NULL)
		return -ENOMEM;
	size_t i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, pp) {
		struct ctl_pod_port_conf *p = &c->pod_ports[i];
		char path[64], *mac = NULL;
		int rc;

		snprintf(path, sizeof(path), "pod_ports[%zu]", i);
		if (!cJSON_IsObject(it))
			return fail(e, path, "must be an object");
		if ((rc = check_keys(e, it, path, keys)) ||
		    (rc = get_str(e, it, "pod", path, true, &p->pod)) ||
		    (rc = get_str(e, it, "devargs", path, false,
				  &p->devargs)) ||
		    (rc = get_str(e, it, "vhost_socket", path, false,
				  &p->vhost_socket)) ||
		    (rc = get_bool(e, it, "vhost_client", path,
				   &p->vhost_client)))
			return rc;
		/* A DPDK device or a native vhost-user socket. */
		const char *bad = NULL, *why = NULL;
		if (p->vhost_client && p->vhost_socket == NULL)
			bad = "vhost_client", why = "only with \"vhost_socket\"";
		else if (p->devargs && p->vhost_socket)
			bad = "vhost_socket", why = "not with \"devargs\"";
		else if (!p->devargs && !p->vhost_socket)
			bad = "devargs", why = "missing (required, or "
				"\"vhost_socket\" for a native vhost-user port)";
		if (bad) {
			char key[80];
			snprintf(key, sizeof(key), "%s.%s", path, bad);
			return fail(e, key, "%s", why);
		}
		if (!ctl_pod_key_ok(p->pod)) {
			char key[80];
			snprintf(key, sizeof(key), "%s.pod", path);
			return fail(e, key, "\"%s\" is not \"namespace/name\" "
				    "(a namespace of %u characters at most, a "
				    "name of %u)", p->pod, CTL_NS_MAX,
				    CTL_POD_NAME_MAX);
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(c->pod_ports[j].pod, p->pod) == 0) {
				char key[80];
				snprintf(key, sizeof(key), "%s.pod", path);
				return fail(e, key, "\"%s\" has two ports",
					    p->pod);
			}
		/* Only now: the returns above would leak it. */
		if ((rc = get_str(e, it, "mac", path, false, &mac)))
			return rc;
		if (mac) {
			p->has_mac = true;
			rc = parse_host_mac(mac, &p->mac);
			if (rc) {
				char key[80];
				snprintf(key, sizeof(key), "%s.mac", path);
				fail(e, key, "\"%s\" is not a unicast MAC", mac);
			}
			free(mac);
			if (rc)
				return rc;
		}
		i++;
	}
	return 0;
}

/* "policy": {"enabled": bool, "classifier": "linear"|"rte_acl"},
 * "conntrack": {limits and timeouts}. */
static int parse_policy(struct cfg_err *e, const cJSON *root,
			struct ctl_config *c)
{
	static const char *const pkeys[] = {"enabled", "classifier", NULL};
	static const char *const ckeys[] = {"max_flows", "tcp_established_s",
		"tcp_transitory_s", "tcp_close_s", "udp_s", "icmp_s", NULL};
	const cJSON *o;
	int rc;

	if ((rc = get_obj(e, root, "policy", false, &o)))
		return rc;
	if (o) {
		const cJSON *en = cJSON_GetObjectItemCaseSensitive(o, "enabled");

		if ((rc = check_keys(e, o, "policy", pkeys)))
			return rc;
		if (en && !cJSON_IsBool(en))
			return fail(e, "policy.enabled", "must be true or false");
		if (en)
			c->policy_enabled = cJSON_IsTrue(en);
		static const char *const cls[2] = {"linear", "rte_acl"};
		unsigned int cl = c->policy_rte_acl;
		if ((rc = get_choice(e, o, "classifier", "policy", cls, &cl)))
			return rc;
		c->policy_rte_acl = cl == 1;
	}
	if ((rc = get_obj(e, root, "conntrack", false, &o)) || !o)
		return rc;
	if ((rc = check_keys(e, o, "conntrack", ckeys)) ||
	    (rc = get_uint(e, o, "max_flows", "conntrack", 1024, 1u << 26,
			   &c->ct_max_flows)) ||
	    (rc = get_uint(e, o, "tcp_established_s", "conntrack", 1,
			   7 * 86400, &c->ct_tcp_established_s)) ||
	    (rc = get_uint(e, o, "tcp_transitory_s", "conntrack", 1, 86400,
			   &c->ct_tcp_transitory_s)) ||
	    (rc = get_uint(e, o, "tcp_close_s", "conntrack", 1, 86400,
			   &c->ct_tcp_close_s)) ||
	    (rc = get_uint(e, o, "udp_s", "conntrack", 1, 86400,
			   &c->ct_udp_s)) ||
	    (rc = get_uint(e, o, "icmp_s", "conntrack", 1, 86400,
			   &c->ct_icmp_s)))
		return rc;
	return 0;
}

static struct ctl_config *parse_root(const cJSON *root, struct cfg_err *e)
{
	static const char *const keys[] = {
		"node", "datastore", "uplink", "pod_ports", "host", "workers",
		"idle_sleep_us", "mbufs", "arp_timeout_s", "coalesce_ms",
		"name", "api_socket", "vhost_dir", "state_dir", "max_api_ports",
		"tap_ports", "vhost_ports", "policy", "conntrack",
		"record_cycles", NULL};
	static const char *const taps[2] = {"pmd", "native"};
	/* Native by default: DPDK's 32 ethdevs are too few for a node's
	 * pods (Kubernetes schedules up to 110). */
	unsigned int tap_native = 1, vhost_native = 1;
	struct ctl_config *c = calloc(1, sizeof(*c));
	const cJSON *o;
	int rc;

	if (c == NULL)
		return NULL;
	c->workers = 1;
	c->idle_sleep_us = 100;
	c->mbufs = 16383;
	c->arp_timeout_s = 60;
	c->coalesce_ms = 5;
	c->uplink_mtu = 1500;
	c->max_api_ports = 110; /* the kubelet's default maxPods */
	c->policy_enabled = true;
	c->policy_rte_acl = true;
	c->ct_max_flows = 1u << 20;
	c->ct_tcp_established_s = 3600;
	c->ct_tcp_transitory_s = 120;
	c->ct_tcp_close_s = 10;
	c->ct_udp_s = 60;
	c->ct_icmp_s = 30;

	if (!cJSON_IsObject(root)) {
		fail(e, "(root)", "must be a JSON object");
		goto err;
	}
	if ((rc = check_keys(e, root, "", keys)) ||
	    (rc = get_str(e, root, "node", "", true, &c->node)) ||
	    (rc = get_str(e, root, "name", "", false, &c->telemetry_name)) ||
	    (rc = get_uint(e, root, "workers", "", 1, 64, &c->workers)) ||
	    (rc = get_uint(e, root, "idle_sleep_us", "", 0, 100000,
			   &c->idle_sleep_us)) ||
	    (rc = get_uint(e, root, "record_cycles", "", 0, 1,
			   &c->record_cycles)) ||
	    (rc = get_uint(e, root, "mbufs", "", 1023, 4194303, &c->mbufs)) ||
	    (rc = get_uint(e, root, "arp_timeout_s", "", 1, 86400,
			   &c->arp_timeout_s)) ||
	    (rc = get_uint(e, root, "coalesce_ms", "", 0, 10000,
			   &c->coalesce_ms)) ||
	    (rc = get_uint(e, root, "max_api_ports", "", 0, 1024,
			   &c->max_api_ports)) ||
	    (rc = get_choice(e, root, "tap_ports", "", taps, &tap_native)) ||
	    (rc = get_choice(e, root, "vhost_ports", "", taps,
			     &vhost_native)) ||
	    (rc = get_str(e, root, "vhost_dir", "", false, &c->vhost_dir)) ||
	    (rc = get_str(e, root, "state_dir", "", false, &c->state_dir)))
		goto err;
	/* "api_socket": "" turns the API off, so it may be empty. */
	o = cJSON_GetObjectItemCaseSensitive(root, "api_socket");
	if (o && !cJSON_IsString(o)) {
		fail(e, "api_socket", "must be a string (\"\" = no API)");
		goto err;
	}
	if (o && k8s_json_has_nul(o->valuestring)) {
		fail(e, "api_socket", "holds U+0000 (or U+FDD0)");
		goto err;
	}
	c->api_socket = strdup(o ? o->valuestring : "/run/kdp/kdp.sock");
	c->tap_native = tap_native == 1;
	c->vhost_native = vhost_native == 1;
	if (c->vhost_dir == NULL)
		c->vhost_dir = strdup("/run/kdp/vhost");
	if (c->state_dir == NULL)
		c->state_dir = strdup("/var/lib/kdp");
	if (c->api_socket == NULL || c->vhost_dir == NULL ||
	    c->state_dir == NULL) {
		fail(e, "(root)", "out of memory");
		goto err;
	}
	if (strlen(c->api_socket) >= 108) {
		fail(e, "api_socket", "longer than a Unix socket path may be");
		goto err;
	}
	if ((rc = get_obj(e, root, "datastore", true, &o)) ||
	    (rc = parse_datastore(e, o, c)))
		goto err;
	if ((rc = get_obj(e, root, "uplink", true, &o)) ||
	    (rc = parse_uplink(e, o, c)))
		goto err;
	o = cJSON_GetObjectItemCaseSensitive(root, "pod_ports");
	if (o && (rc = parse_pod_ports(e, o, c)))
		goto err;
	if ((rc = get_obj(e, root, "host", false, &o)))
		goto err;
	if (o) {
		static const char *const hkeys[] = {"iface", "nat_outgoing",
						    "service_cidrs", NULL};
		if ((rc = check_keys(e, o, "host", hkeys)) ||
		    (rc = get_str(e, o, "iface", "host", true, &c->host_iface)) ||
		    (rc = get_bool(e, o, "nat_outgoing", "host",
				   &c->host_nat_outgoing)) ||
		    (rc = parse_service_cidrs(e, o, c)))
			goto err;
		if (strlen(c->host_iface) >= 16) {
			fail(e, "host.iface", "longer than 15 characters");
			goto err;
		}
	}
	/* Each port is an ethdev, and a DPDK build has RTE_MAX_ETHPORTS. */
	if (1 + c->n_pod_ports + (c->host_iface != NULL) > RTE_MAX_ETHPORTS) {
		fail(e, "pod_ports", "%zu ports with the uplink%s are more than "
		     "the %d of this DPDK build (RTE_MAX_ETHPORTS)",
		     c->n_pod_ports, c->host_iface ? " and the host's" : "",
		     RTE_MAX_ETHPORTS);
		goto err;
	}
	if ((rc = parse_policy(e, root, c)))
		goto err;
	return c;
err:
	ctl_config_free(c);
	return NULL;
}

struct ctl_config *ctl_config_parse(const char *json, char *err, size_t errlen)
{
	struct cfg_err e = {err, errlen};
	/* Nothing but blanks may follow the object (cJSON_Parse() would
	 * ignore a second object appended to the file), and \u0000 must not
	 * cut a string short: k8s_json_parse() marks it, get_str() refuses
	 * it. */
	size_t len = strlen(json), at = 0;
	cJSON *root = k8s_json_parse(json, len, &at);

	if (root == NULL) {
		snprintf(err, errlen, "not valid JSON near \"%.20s\"",
			 json + (at < len ? at : len));
		return NULL;
	}
	struct ctl_config *c = parse_root(root, &e);
	cJSON_Delete(root);
	return c;
}

struct ctl_config *ctl_config_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, len = 0;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				snprintf(err, errlen, "out of memory");
				return NULL;
			}
			buf = nb;
		}
		size_t r = fread(buf + len, 1, 4096, f);
		len += r;
		if (r < 4096)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	struct ctl_config *c = ctl_config_parse(buf, err, errlen);
	free(buf);
	return c;
}

void ctl_config_free(struct ctl_config *c)
{
	if (c == NULL)
		return;
	free(c->node);
	free(c->ds_path);
	free(c->ds_kubeconfig);
	free(c->uplink_devargs);
	free(c->neighbors);
	for (size_t i = 0; i < c->n_pod_ports; i++) {
		free(c->pod_ports[i].pod);
		free(c->pod_ports[i].devargs);
		free(c->pod_ports[i].vhost_socket);
	}
	free(c->pod_ports);
	free(c->host_iface);
	free(c->service_cidrs);
	free(c->telemetry_name);
	free(c->api_socket);
	free(c->vhost_dir);
	free(c->state_dir);
	free(c);
}
