/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * control/config.c against bad configuration. Valid configs that between
 * them use every key of README's configuration table are mutated at
 * random: a key deleted, renamed (unknown, or a key of another object) or
 * given twice; a value of another JSON type, a number at or just past the
 * ends of its range or not an integer, a malformed MAC, IPv4 address or
 * pod name, a string too long; a value wrapped in an array or object; the
 * text itself cut short, bytes changed or brackets opened thousands deep.
 * Then a reading of README's table written for this test (spec_*()) says
 * whether the result is a valid config and, if not, which keys are wrong:
 *  - a valid config loads, each value as written or its default;
 *  - an invalid one fails with "<key>: ..." naming one of the wrong keys,
 *    and text that is not one JSON value with "not valid JSON".
 * Under ASan/UBSan (the unit suite's second run) a leak, overflow or
 * undefined conversion on any of these paths fails the run as well.
 * Fixed cases first: the bugs this test found.
 *
 * CFG_SEED=N and CFG_ITERS=N replay or lengthen a run.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "control/config.h"
#include "k8s/jsonkeys.h"
#include "tests/unit/ctl_check.h"
#include "tests/unit/fuzz.h"
#include "tests/unit/json_fuzz.h"

/* Valid, with single quotes for double (tj()). */
static const char *const seeds[] = {
	/* every key, file datastore */
	"{'node':'n1','name':'lab','datastore':{'type':'file',"
	"'path':'/etc/kdp/cluster'},'uplink':{'devargs':"
	"'net_af_xdp0,iface=eth0','mac':'02:00:00:00:00:01','gateway':"
	"'192.168.10.1','mtu':9000,'neighbors':{'192.168.10.1':"
	"'02:00:00:00:00:fe','192.168.10.12':'0A:1b:2C:3d:4E:5f'}},"
	"'pod_ports':[{'pod':'ns0/web','devargs':'net_tap0,iface=web','mac':"
	"'02:00:00:00:01:01'},{'pod':'ns1/db','devargs':"
	"'net_vhost0,iface=/run/kdp/db.sock'},{'pod':'ns2/nat','vhost_socket':"
	"'/run/kdp/nat.sock','vhost_client':true,'mac':'02:00:00:00:01:02'},"
	"{'pod':'ns2/nat2','vhost_socket':'/run/kdp/nat2.sock'}],"
	"'host':{'iface':'kdp-host','nat_outgoing':true,"
	"'service_cidrs':['10.96.0.0/12','172.30.0.1/32']},"
	"'workers':2,'idle_sleep_us':0,'record_cycles':1,'mbufs':32767,"
	"'arp_timeout_s':30,'coalesce_ms':0,'api_socket':'/run/kdp/t.sock',"
	"'vhost_dir':'/tmp/vhost','state_dir':'/tmp/state','max_api_ports':8,"
	"'tap_ports':'native','vhost_ports':'native',"
	"'policy':{'enabled':true,'classifier':'linear'},'conntrack':{"
	"'max_flows':65536,'tcp_established_s':7200,'tcp_transitory_s':60,"
	"'tcp_close_s':5,'udp_s':30,'icmp_s':10}}",
	/* kubernetes, the upper ends of the ranges */
	"{'node':'worker-2','datastore':{'type':'kubernetes','kubeconfig':"
	"'/root/.kube/config'},'uplink':{'devargs':'0000:00:08.0','mtu':9600,"
	"'neighbors':{}},'pod_ports':[],'workers':64,'idle_sleep_us':100000,"
	"'record_cycles':0,'mbufs':4194303,'arp_timeout_s':86400,"
	"'coalesce_ms':10000,'api_socket':'','max_api_ports':1024,"
	"'tap_ports':'pmd','vhost_ports':'pmd',"
	"'policy':{'enabled':false,'classifier':'rte_acl'},'conntrack':{"
	"'max_flows':67108864,'tcp_established_s':604800,"
	"'tcp_transitory_s':86400,'tcp_close_s':86400,'udp_s':86400,"
	"'icmp_s':86400}}",
	/* in-cluster, the lower ends */
	"{'node':'n','datastore':{'type':'kubernetes'},'uplink':{'devargs':"
	"'net_null0','mtu':576,'gateway':'10.0.0.254','mac':"
	"'fe:ff:ff:ff:ff:fe','neighbors':{'10.0.0.254':'fe:ff:ff:ff:ff:ff'}},"
	"'host':{'iface':'a23456789012345'},'workers':1,'mbufs':1023,"
	"'arp_timeout_s':1,'max_api_ports':0,'policy':{},'conntrack':{"
	"'max_flows':1024,'tcp_established_s':1,'tcp_transitory_s':1,"
	"'tcp_close_s':1,'udp_s':1,'icmp_s':1}}",
	/* the required keys alone */
	"{'node':'n1','datastore':{'type':'file','path':'/d'},"
	"'uplink':{'devargs':'net_null0'}}",
};

/*
 * README's table. F_SPEC keys are checked by hand in spec_config(); an
 * offset says where a loaded config keeps the value (NONE: checked by hand
 * in check_values()).
 */
enum fkind {
	F_STR,  /* non-empty string */
	F_UINT, /* integer in [lo, hi] */
	F_OBJ,  /* object of its own keys */
	F_SPEC,
};

#define NONE SIZE_MAX

static const struct field {
	const char *obj; /* "" (root), "uplink", …, "pod_ports[]" */
	const char *name;
	enum fkind kind;
	bool required;
	unsigned int lo, hi, def; /* F_STR, F_SPEC: hi = longest, or 0 */
	const char *sdef;
	size_t off;
} fields[] = {
#define STR(o, n, req, sd, m) {o, n, F_STR, req, 0, 0, 0, sd, m}
#define UINT(o, n, lo, hi, def, m) {o, n, F_UINT, false, lo, hi, def, NULL, m}
#define OFF(m) offsetof(struct ctl_config, m)
#define SPEC(o, n) {o, n, F_SPEC, false, 0, 0, 0, NULL, NONE}
#define OBJ(n, req) {"", n, F_OBJ, req, 0, 0, 0, NULL, NONE}
	STR("", "node", true, NULL, OFF(node)),
	STR("", "name", false, NULL, OFF(telemetry_name)),
	UINT("", "workers", 1, 64, 1, OFF(workers)),
	UINT("", "idle_sleep_us", 0, 100000, 100, OFF(idle_sleep_us)),
	UINT("", "record_cycles", 0, 1, 0, OFF(record_cycles)),
	UINT("", "mbufs", 1023, 4194303, 16383, OFF(mbufs)),
	UINT("", "arp_timeout_s", 1, 86400, 60, OFF(arp_timeout_s)),
	UINT("", "coalesce_ms", 0, 10000, 5, OFF(coalesce_ms)),
	UINT("", "max_api_ports", 0, 1024, 110, OFF(max_api_ports)),
	STR("", "vhost_dir", false, "/run/kdp/vhost", OFF(vhost_dir)),
	STR("", "state_dir", false, "/var/lib/kdp", OFF(state_dir)),
	/* a Unix socket path; "" turns the API off */
	{"", "api_socket", F_SPEC, false, 0, 107, 0, NULL, NONE},
	SPEC("", "tap_ports"),
	SPEC("", "vhost_ports"),
	OBJ("datastore", true),
	OBJ("uplink", true),
	SPEC("", "pod_ports"),
	OBJ("host", false),
	OBJ("policy", false),
	OBJ("conntrack", false),
	/* path is required for type "file" only, kubeconfig optional
	 * for "kubernetes"; each is refused with the other type */
	STR("datastore", "type", true, NULL, NONE),
	STR("datastore", "path", false, NULL, OFF(ds_path)),
	STR("datastore", "kubeconfig", false, NULL, OFF(ds_kubeconfig)),
	STR("uplink", "devargs", true, NULL, OFF(uplink_devargs)),
	SPEC("uplink", "mac"),
	SPEC("uplink", "gateway"),
	UINT("uplink", "mtu", 576, 9600, 1500, NONE),
	SPEC("uplink", "neighbors"),
	{"host", "iface", F_STR, true, 0, 15, 0, NULL, OFF(host_iface)},
	SPEC("host", "nat_outgoing"),
	SPEC("host", "service_cidrs"),
	SPEC("policy", "enabled"),
	SPEC("policy", "classifier"),
	UINT("conntrack", "max_flows", 1024, 1u << 26, 1u << 20,
	     OFF(ct_max_flows)),
	UINT("conntrack", "tcp_established_s", 1, 7 * 86400, 3600,
	     OFF(ct_tcp_established_s)),
	UINT("conntrack", "tcp_transitory_s", 1, 86400, 120,
	     OFF(ct_tcp_transitory_s)),
	UINT("conntrack", "tcp_close_s", 1, 86400, 10, OFF(ct_tcp_close_s)),
	UINT("conntrack", "udp_s", 1, 86400, 60, OFF(ct_udp_s)),
	UINT("conntrack", "icmp_s", 1, 86400, 30, OFF(ct_icmp_s)),
	STR("pod_ports[]", "pod", true, NULL, NONE),
	/* one of devargs and vhost_socket (spec_pod_ports()) */
	STR("pod_ports[]", "devargs", false, NULL, NONE),
	STR("pod_ports[]", "vhost_socket", false, NULL, NONE),
	SPEC("pod_ports[]", "vhost_client"),
	SPEC("pod_ports[]", "mac"),
#undef STR
#undef UINT
#undef OFF
#undef SPEC
#undef OBJ
};

static const struct field *field_get(const char *obj, const char *name)
{
	for (size_t i = 0; i < RTE_DIM(fields); i++)
		if (strcmp(fields[i].obj, obj) == 0 &&
		    strcmp(fields[i].name, name) == 0)
			return &fields[i];
	return NULL;
}

/* The keys an invalid config is wrong at: the error must name one. */
struct spec {
	char **bad;
	unsigned int n;
};

static void spec_bad(struct spec *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void spec_bad(struct spec *s, const char *fmt, ...)
{
	va_list ap;
	char *k;

	va_start(ap, fmt);
	if (vasprintf(&k, fmt, ap) < 0)
		abort();
	va_end(ap);
	s->bad = realloc(s->bad, (s->n + 1) * sizeof(*s->bad));
	if (s->bad == NULL)
		abort();
	s->bad[s->n++] = k;
}

static void spec_free(struct spec *s)
{
	for (unsigned int i = 0; i < s->n; i++)
		free(s->bad[i]);
	free(s->bad);
}

/* Non-empty, and no U+0000 (as the parse below marks it). */
static bool str_ok(const cJSON *v)
{
	return cJSON_IsString(v) && v->valuestring[0] != '\0' &&
	       !k8s_json_has_nul(v->valuestring);
}

static bool uint_ok(const cJSON *v, const struct field *f)
{
	double d = v->valuedouble;

	return cJSON_IsNumber(v) && isfinite(d) && d == floor(d) &&
	       d >= f->lo && d <= f->hi;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "aa:bb:cc:dd:ee:ff", hex digits of either case, nothing else. */
static bool mac_ok(const cJSON *v, uint8_t out[6])
{
	const char *s = cJSON_IsString(v) ? v->valuestring : "";

	if (strlen(s) != 17)
		return false;
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* A host's MAC: neither a group nor the zero address. */
static bool host_mac_ok(const cJSON *v, uint8_t out[6])
{
	static const uint8_t zero[6];

	return mac_ok(v, out) && !(out[0] & 1) && memcmp(out, zero, 6) != 0;
}

static bool ipv4_ok(const char *s, uint32_t *ip)
{
	struct in_addr a;

	if (s == NULL || inet_pton(AF_INET, s, &a) != 1)
		return false;
	*ip = ntohl(a.s_addr);
	return true;
}

/* "a.b.c.d/len", len 1-32 in decimal without leading zeros, no host
 * bits: a Service range (host.service_cidrs). */
static bool svc_cidr_ok(const cJSON *v, uint32_t *net, uint8_t *plen)
{
	const char *s = cJSON_IsString(v) ? v->valuestring : "";
	const char *slash = strrchr(s, '/');
	char a[32];
	unsigned int len;
	int end = 0;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(a) ||
	    slash[1] == '0' || sscanf(slash + 1, "%2u%n", &len, &end) != 1 ||
	    slash[1 + end] != '\0' || !isdigit((unsigned char)slash[1]) ||
	    len < 1 || len > 32)
		return false;
	memcpy(a, s, (size_t)(slash - s));
	a[slash - s] = '\0';
	if (!ipv4_ok(a, net) || (len < 32 && (*net & (UINT32_MAX >> len))))
		return false;
	*plen = (uint8_t)len;
	return true;
}

/* An earlier member of @p o has the name of @p it (the one a lookup
 * finds). */
static bool repeated(const cJSON *o, const cJSON *it)
{
	return cJSON_GetObjectItemCaseSensitive(o, it->string) != it;
}

/* The members of object @p o (table name @p tkey, shown as @p path):
 * unknown or repeated keys, and the F_STR, F_UINT and F_OBJ ones. */
static void spec_obj(struct spec *s, const cJSON *o, const char *tkey,
		     const char *path)
{
	const char *dot = *path ? "." : "";
	const cJSON *it;

	cJSON_ArrayForEach(it, o)
		if (field_get(tkey, it->string) == NULL || repeated(o, it))
			spec_bad(s, "%s%s%s", path, dot, it->string);
	for (size_t i = 0; i < RTE_DIM(fields); i++) {
		const struct field *f = &fields[i];
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, f->name);
		bool ok = true;

		if (strcmp(f->obj, tkey) != 0)
			continue;
		if (v == NULL)
			ok = !f->required;
		else if (f->kind == F_STR)
			ok = str_ok(v);
		else if (f->kind == F_UINT)
			ok = uint_ok(v, f);
		else if (f->kind == F_OBJ)
			ok = cJSON_IsObject(v);
		if (!ok)
			spec_bad(s, "%s%s%s", path, dot, f->name);
		else if (v && f->kind == F_OBJ)
			spec_obj(s, v, f->name, f->name);
	}
}

/* "namespace/name": one '/', a namespace of 1-63 characters and a name of
 * 1-253 (Kubernetes' limits). */
static bool pod_ok(const char *p)
{
	const char *slash = strchr(p, '/');

	return slash && slash != p && slash - p <= 63 && slash[1] &&
	       !strchr(slash + 1, '/') && strlen(slash + 1) <= 253;
}

static void spec_uplink(struct spec *s, const cJSON *up)
{
	const cJSON *v, *it;
	uint8_t mac[6];
	uint32_t ip;

	v = cJSON_GetObjectItemCaseSensitive(up, "mac");
	/* kdp sends from it: a group address is no source */
	if (v && !host_mac_ok(v, mac))
		spec_bad(s, "uplink.mac");
	v = cJSON_GetObjectItemCaseSensitive(up, "gateway");
	if (v && !(cJSON_IsString(v) && ipv4_ok(v->valuestring, &ip)))
		spec_bad(s, "uplink.gateway");
	v = cJSON_GetObjectItemCaseSensitive(up, "neighbors");
	if (v && !cJSON_IsObject(v))
		spec_bad(s, "uplink.neighbors");
	else if (v)
		cJSON_ArrayForEach(it, v)
			if (!ipv4_ok(it->string, &ip) || !host_mac_ok(it, mac) ||
			    repeated(v, it))
				spec_bad(s, "uplink.neighbors.%s", it->string);
}

static void spec_pod_ports(struct spec *s, const cJSON *pp)
{
	const cJSON *it;
	unsigned int i = 0;
	uint8_t mac[6];

	if (!cJSON_IsArray(pp)) {
		spec_bad(s, "pod_ports");
		return;
	}
	cJSON_ArrayForEach(it, pp) {
		char path[64];

		snprintf(path, sizeof(path), "pod_ports[%u]", i++);
		if (!cJSON_IsObject(it)) {
			spec_bad(s, "%s", path);
			continue;
		}
		spec_obj(s, it, "pod_ports[]", path);
		const cJSON *pod = cJSON_GetObjectItemCaseSensitive(it, "pod");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(it, "mac");
		bool twice = false;

		for (const cJSON *e = pp->child; str_ok(pod) && e != it;
		     e = e->next) {
			const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "pod");

			twice |= cJSON_IsString(p) &&
				 strcmp(p->valuestring, pod->valuestring) == 0;
		}
		if (str_ok(pod) && (!pod_ok(pod->valuestring) || twice))
			spec_bad(s, "%s.pod", path);
		if (m && !host_mac_ok(m, mac))
			spec_bad(s, "%s.mac", path);
		const cJSON *dev = cJSON_GetObjectItemCaseSensitive(it, "devargs");
		const cJSON *vs = cJSON_GetObjectItemCaseSensitive(it,
								  "vhost_socket");
		const cJSON *vc = cJSON_GetObjectItemCaseSensitive(it,
								  "vhost_client");
		if (vc && !cJSON_IsBool(vc))
			spec_bad(s, "%s.vhost_client", path);
		else if (cJSON_IsTrue(vc) && !vs)
			spec_bad(s, "%s.vhost_client", path);
		else if (dev && vs)
			spec_bad(s, "%s.vhost_socket", path);
		else if (!dev && !vs)
			spec_bad(s, "%s.devargs", path);
	}
}

/* What README says of @p root: no key in @p s means valid. */
static void spec_config(struct spec *s, const cJSON *root)
{
	const cJSON *v, *o;

	if (!cJSON_IsObject(root)) {
		spec_bad(s, "(root)");
		return;
	}
	spec_obj(s, root, "", "");
	v = cJSON_GetObjectItemCaseSensitive(root, "api_socket");
	if (v && (!cJSON_IsString(v) || k8s_json_has_nul(v->valuestring) ||
		  strlen(v->valuestring) > field_get("", "api_socket")->hi))
		spec_bad(s, "api_socket");
	v = cJSON_GetObjectItemCaseSensitive(root, "tap_ports");
	if (v && !(cJSON_IsString(v) && (strcmp(v->valuestring, "pmd") == 0 ||
					 strcmp(v->valuestring, "native") == 0)))
		spec_bad(s, "tap_ports");
	v = cJSON_GetObjectItemCaseSensitive(root, "vhost_ports");
	if (v && !(cJSON_IsString(v) && (strcmp(v->valuestring, "pmd") == 0 ||
					 strcmp(v->valuestring, "native") == 0)))
		spec_bad(s, "vhost_ports");
	o = cJSON_GetObjectItemCaseSensitive(root, "datastore");
	v = cJSON_GetObjectItemCaseSensitive(o, "type");
	if (cJSON_IsObject(o) && str_ok(v)) {
		bool file = strcmp(v->valuestring, "file") == 0;
		bool k8s = strcmp(v->valuestring, "kubernetes") == 0;
		bool path = cJSON_GetObjectItemCaseSensitive(o, "path") != NULL;
		bool kc = cJSON_GetObjectItemCaseSensitive(o, "kubeconfig") !=
			  NULL;

		if (!file && !k8s)
			spec_bad(s, "datastore.type");
		if ((file && !path) || (k8s && path))
			spec_bad(s, "datastore.path");
		if (file && kc)
			spec_bad(s, "datastore.kubeconfig");
	}
	o = cJSON_GetObjectItemCaseSensitive(root, "uplink");
	if (cJSON_IsObject(o))
		spec_uplink(s, o);
	o = cJSON_GetObjectItemCaseSensitive(root, "pod_ports");
	if (o)
		spec_pod_ports(s, o);
	o = cJSON_GetObjectItemCaseSensitive(root, "host");
	v = cJSON_GetObjectItemCaseSensitive(o, "iface");
	if (cJSON_IsObject(o) && str_ok(v) &&
	    strlen(v->valuestring) > field_get("host", "iface")->hi)
		spec_bad(s, "host.iface");
	v = cJSON_GetObjectItemCaseSensitive(o, "nat_outgoing");
	if (cJSON_IsObject(o) && v && !cJSON_IsBool(v))
		spec_bad(s, "host.nat_outgoing");
	v = cJSON_GetObjectItemCaseSensitive(o, "service_cidrs");
	if (cJSON_IsObject(o) && v) {
		const cJSON *it;
		uint32_t net;
		uint8_t plen;
		bool ok = cJSON_IsArray(v);

		if (ok)
			cJSON_ArrayForEach(it, v)
				ok &= svc_cidr_ok(it, &net, &plen);
		if (!ok)
			spec_bad(s, "host.service_cidrs");
	}
	o = cJSON_GetObjectItemCaseSensitive(root, "policy");
	if (cJSON_IsObject(o)) {
		v = cJSON_GetObjectItemCaseSensitive(o, "enabled");
		if (v && !cJSON_IsBool(v))
			spec_bad(s, "policy.enabled");
		v = cJSON_GetObjectItemCaseSensitive(o, "classifier");
		if (v && !(cJSON_IsString(v) &&
			   (strcmp(v->valuestring, "linear") == 0 ||
			    strcmp(v->valuestring, "rte_acl") == 0)))
			spec_bad(s, "policy.classifier");
	}
}

/* The error starts with "<key>:" for a key of @p s (kdp cuts keys to 255
 * characters). */
static bool names_bad_key(const char *err, const struct spec *s)
{
	for (unsigned int i = 0; i < s->n; i++) {
		size_t n = strlen(s->bad[i]);

		n = n > 255 ? 255 : n;
		if (strncmp(err, s->bad[i], n) == 0 && err[n] == ':')
			return true;
	}
	return false;
}

static const cJSON *member(const cJSON *root, const char *obj,
			   const char *name)
{
	if (*obj)
		root = cJSON_GetObjectItemCaseSensitive(root, obj);
	return cJSON_GetObjectItemCaseSensitive(root, name);
}

static bool str_is(const char *got, const char *want)
{
	return got == want || (got && want && strcmp(got, want) == 0);
}

/* A loaded config holds what @p root says, or the defaults. */
static bool check_values(const struct ctl_config *c, const cJSON *root)
{
	const cJSON *v, *o, *it;
	int fails = check_failures;
	uint8_t mac[6];
	uint32_t ip;
	size_t i;

	for (i = 0; i < RTE_DIM(fields); i++) {
		const struct field *f = &fields[i];

		if (f->off == NONE)
			continue;
		const char *p = (const char *)c + f->off;

		v = member(root, f->obj, f->name);
		if (f->kind == F_UINT)
			CHECK_EQ(*(const unsigned int *)p,
				 v ? (unsigned int)v->valuedouble : f->def);
		else if (!str_is(*(char *const *)p,
				 v ? v->valuestring : f->sdef))
			CHECK_STR(*(char *const *)p, f->name);
	}
	v = member(root, "", "api_socket");
	CHECK_STR(c->api_socket, v ? v->valuestring : "/run/kdp/kdp.sock");
	v = member(root, "", "tap_ports");
	/* README: "native" unless "pmd" is given */
	CHECK(c->tap_native == !(v && strcmp(v->valuestring, "pmd") == 0));
	v = member(root, "", "vhost_ports");
	CHECK(c->vhost_native == !(v && strcmp(v->valuestring, "pmd") == 0));

	v = member(root, "datastore", "type");
	CHECK_EQ(c->ds_type, strcmp(v->valuestring, "file") == 0 ?
		 CTL_DS_FILE : CTL_DS_KUBERNETES);
	v = member(root, "uplink", "mtu");
	CHECK_EQ(c->uplink_mtu, v ? (unsigned int)v->valuedouble : 1500);
	v = member(root, "uplink", "mac");
	CHECK(c->uplink_has_mac == (v != NULL));
	CHECK(!v || (mac_ok(v, mac) &&
		     memcmp(mac, c->uplink_mac.addr_bytes, 6) == 0));
	v = member(root, "uplink", "gateway");
	CHECK(v ? ipv4_ok(v->valuestring, &ip) && ip == c->gateway :
		  c->gateway == 0);
	o = member(root, "uplink", "neighbors");
	CHECK_EQ(c->n_neighbors, o ? cJSON_GetArraySize(o) : 0);
	i = 0;
	cJSON_ArrayForEach(it, o) {
		const struct ctl_static_neigh *n = &c->neighbors[i++];

		CHECK(ipv4_ok(it->string, &ip) && ip == n->ip &&
		      mac_ok(it, mac) && memcmp(mac, n->mac.addr_bytes, 6) == 0);
	}
	o = member(root, "", "pod_ports");
	CHECK_EQ(c->n_pod_ports, o ? cJSON_GetArraySize(o) : 0);
	i = 0;
	cJSON_ArrayForEach(it, o) {
		const struct ctl_pod_port_conf *p = &c->pod_ports[i++];

		v = cJSON_GetObjectItemCaseSensitive(it, "mac");
		const cJSON *dev = member(it, "", "devargs");
		const cJSON *vs = member(it, "", "vhost_socket");

		CHECK(str_is(p->pod, member(it, "", "pod")->valuestring) &&
		      str_is(p->devargs, dev ? dev->valuestring : NULL) &&
		      str_is(p->vhost_socket, vs ? vs->valuestring : NULL));
		CHECK(p->vhost_client == cJSON_IsTrue(member(it, "",
							     "vhost_client")));
		CHECK(p->has_mac == (v != NULL));
		CHECK(!v || (mac_ok(v, mac) &&
			     memcmp(mac, p->mac.addr_bytes, 6) == 0));
	}
	v = member(root, "policy", "enabled");
	CHECK(c->policy_enabled == (v ? cJSON_IsTrue(v) : true));
	CHECK(c->host_nat_outgoing ==
	      cJSON_IsTrue(member(root, "host", "nat_outgoing")));
	v = member(root, "host", "service_cidrs");
	CHECK(c->n_service_cidrs ==
	      (size_t)(v ? cJSON_GetArraySize(v) : 0));
	for (size_t i = 0; v && i < c->n_service_cidrs; i++) {
		uint32_t net;
		uint8_t plen;
		CHECK(svc_cidr_ok(cJSON_GetArrayItem(v, (int)i), &net, &plen) &&
		      c->service_cidrs[i].net == net &&
		      c->service_cidrs[i].plen == plen);
	}
	v = member(root, "policy", "classifier");
	CHECK(c->policy_rte_acl ==
	      (v ? strcmp(v->valuestring, "linear") != 0 : true));
	return check_failures == fails;
}

static unsigned int reported;

static char tmp_path[64];

/* ctl_config_load() of @p text gives what ctl_config_parse() gave. */
static void check_load(const char *text, const struct ctl_config *c,
		       const char *err)
{
	char err2[1024] = "";
	struct ctl_config *c2;

	fuzz_write_file(tmp_path, text);
	c2 = ctl_config_load(tmp_path, err2, sizeof(err2));
	CHECK((c2 != NULL) == (c != NULL));
	CHECK(c2 != NULL || strcmp(err, err2) == 0);
	ctl_config_free(c2);
}

/* Parse @p text; the outcome must be the one spec_config() predicts.
 * @return whether it loaded. */
static bool check_one(const char *text)
{
	char err[1024] = "";
	struct ctl_config *c = ctl_config_parse(text, err, sizeof(err));
	/* The reference reading: one JSON value and nothing after it, with
	 * U+0000 marked, not cut (raws[] writes "\u0000x"). */
	cJSON *root = k8s_json_parse(text, strlen(text), NULL);
	struct spec s = {0};
	bool ok, loaded = c != NULL;

	if (root == NULL) {
		ok = c == NULL && strncmp(err, "not valid JSON", 14) == 0;
	} else {
		spec_config(&s, root);
		if (s.n == 0)
			ok = c != NULL && check_values(c, root);
		else
			ok = c == NULL && names_bad_key(err, &s);
	}
	if (!ok && reported++ < 10) {
		fprintf(stderr, "config %s: \"%.600s\"\n  error: \"%s\"\n",
			c ? "accepted" : "refused", text, err);
		if (root == NULL)
			fprintf(stderr, "  expected: not valid JSON\n");
		for (unsigned int i = 0; i < s.n; i++)
			fprintf(stderr, "  expected key: %.80s\n", s.bad[i]);
		if (s.n == 0 && root)
			fprintf(stderr, "  expected: accepted\n");
	}
	if (!ok)
		check_failures++;
	/* now and then from a file: text over the 8 KiB first read too */
	if (rand() % 32 == 0 || strlen(text) > 8192)
		check_load(text, c, err);
	spec_free(&s);
	cJSON_Delete(root);
	ctl_config_free(c);
	return loaded;
}

/* Values near what each key accepts, and not. */
static const char *const strs[] = {
	"", " ", "x", "file", "kubernetes", "etcd", "File", "linear",
	"rte_acl", "LINEAR", "pmd", "native", "Native", "ns/name", "ns/", "/name", "a/b/c", "/", "ns0/web",
	"02:00:00:00:00:01", "01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff",
	"00:00:00:00:00:00", "02:00:00:00:00", "02:00:00:00:00:01:02",
	"02-00-00-00-00-01", "02:00:00:00:00:0g", "zz:00:00:00:00:01",
	"-1:00:00:00:00:01", "+2:00:00:00:00:01", " 2:00:00:00:00:01",
	"-0:00:00:00:00:01", "0x:00:00:00:00:01", "02:00:00:00:00:01 ",
	"10.0.0.1", "0.0.0.0", "255.255.255.255", "256.0.0.1", "10.0.0",
	"10.0.0.1/24", "10.0.0.0/33", "010.0.0.1", " 10.0.0.1", "10.0.0.1 ",
	"::1", "fd00::1", "1e308", "NaN", "-1", "1500", "true", "null", "%s%n",
	"\xff\xfe", "eth0", "a23456789012345", "a234567890123456",
};

/* Numbers JSON can write that are not integers, or past uint32. */
static const double odd_nums[] = {
	0, -1, 0.5, 1.5, -0.0, 1e308, -1e308, 1e-300, 4294967295.0,
	4294967296.0, 2147483648.0, 9007199254740993.0, 65536,
};

/* Tokens cJSON cannot write: overflowing numbers, and broken JSON. */
static const char *const raws[] = {
	"1e999", "-1e999", "1e-400", "01", "1.", "-0", "1E3", "NaN",
	"Infinity", "-", "0x10", "tru", "\"\\ud800\"", "\"\\u0000x\"",
	"\"a\tb\"", "[1,]", "{\"a\":1,}", "\"\\q\"", "{\"a\" 1}",
};

/* At or just past an end of @p f's range, or half-way past. */
static cJSON *range_end(const struct field *f)
{
	double ends[] = {f->lo - 1.0, f->lo, f->hi, f->hi + 1.0, f->lo - 0.5,
			 f->hi + 0.5};

	return cJSON_CreateNumber(ends[rand() % RTE_DIM(ends)]);
}

static cJSON *random_value(void)
{
	cJSON *j;
	char *s;

	switch (rand() % 11) {
	case 0:
		return cJSON_CreateNull();
	case 1:
		return cJSON_CreateBool(rand() % 2);
	case 2: /* a range's ends, of a random key */
		return range_end(&fields[rand() % RTE_DIM(fields)]);
	case 3:
		return cJSON_CreateNumber(odd_nums[rand() % RTE_DIM(odd_nums)]);
	case 4:
		return rand() % 2 ? cJSON_CreateObject() : cJSON_CreateArray();
	case 5: /* around the 15 and 107 character limits, or long */
		s = fuzz_long_str(rand() % 3 == 0 ? 14 + (size_t)rand() % 4 :
				  rand() % 2 ? 105 + (size_t)rand() % 5 :
					       1 + (size_t)rand() % 5000);
		j = cJSON_CreateString(s);
		free(s);
		return j;
	case 6:
		return cJSON_CreateRaw(raws[rand() % RTE_DIM(raws)]);
	default:
		return cJSON_CreateString(strs[rand() % RTE_DIM(strs)]);
	}
}

/* A key: one of the table's (maybe in the wrong object), a neighbor's
 * address, or unknown. */
static const char *random_key(void)
{
	static const char *const other[] = {"10.0.0.7", "192.168.10.1",
		"10.0.0", "mtux", "", "Node", "pod_ports[0]"};

	if (rand() % 3)
		return fields[rand() % RTE_DIM(fields)].name;
	return other[rand() % RTE_DIM(other)];
}

static cJSON *base[RTE_DIM(seeds)];

/* The value of a member named @p name in a random seed, or a random
 * value: mostly valid, in other combinations than the seeds'. */
static cJSON *seed_value(const char *name)
{
	cJSON *v[512];
	unsigned int n = 0;

	jf_collect(base[rand() % RTE_DIM(seeds)], v, &n, RTE_DIM(v));
	for (unsigned int i = 0; name && i < n; i++)
		if (v[i]->string && strcmp(v[i]->string, name) == 0)
			return cJSON_Duplicate(v[i], true);
	return random_value();
}

/* One mutation of @p root (not the root itself). */
static void mutate(cJSON *root)
{
	cJSON *parent, *w, *it = jf_pick(root, &parent);

	if (it == NULL)
		return;
	switch (rand() % 10) {
	case 8:
		jf_replace(parent, it, seed_value(it->string));
		break;
	case 9: /* at or just past the end of the key's own range */
		for (size_t i = 0; it->string && i < RTE_DIM(fields); i++) {
			const struct field *f = &fields[i];
			char *s;

			if (strcmp(f->name, it->string) != 0 || f->hi == 0)
				continue;
			if (f->kind == F_UINT) {
				w = range_end(f);
			} else {
				s = fuzz_long_str(f->hi + (size_t)rand() % 2);
				w = cJSON_CreateString(s);
				free(s);
			}
			jf_replace(parent, it, w);
			break;
		}
		break;
	default: /* keys unknown or misplaced, values of other types */
		jf_mutate(parent, it, random_value, random_key, "0/.:9aF- ");
		break;
	}
}

#define REQ "'node':'n1','datastore':{'type':'file','path':'/d'}"

/*
 * The bugs this test found, cut down. Each was accepted (or leaked); the
 * error must now start with @p err. The leak fails under LSan only, the
 * infinity under UBSan's float-cast-overflow only (meson.build adds it).
 */
static const struct {
	const char *json;
	const char *err;
} cases[] = {
	/* a second value of a key was ignored, and never checked */
	{"{" REQ ",'uplink':{'devargs':'x','mtu':1500,'mtu':99999}}",
	 "uplink.mtu: "},
	{"{" REQ ",'uplink':{'devargs':'x'},'workers':2,'workers':'all'}",
	 "workers: "},
	{"{" REQ ",'uplink':{'devargs':'x','neighbors':{"
	 "'10.0.0.1':'02:00:00:00:00:01','10.0.0.1':'02:00:00:00:00:02'}}}",
	 "uplink.neighbors.10.0.0.1: "},
	/* whatever followed the object was ignored */
	{"{" REQ ",'uplink':{'devargs':'x'}} {'workers':4}",
	 "not valid JSON"},
	{"{" REQ ",'uplink':{'devargs':'x'}}}", "not valid JSON"},
	/* sscanf's %2x took a sign or a leading space */
	{"{" REQ ",'uplink':{'devargs':'x','neighbors':{"
	 "'10.0.0.1':'-1:00:00:00:00:01'}}}",
	 "uplink.neighbors.10.0.0.1: "},
	{"{" REQ ",'uplink':{'devargs':'x'},'pod_ports':[{'pod':'a/b',"
	 "'devargs':'y','mac':' 2:00:00:00:00:01'}]}",
	 "pod_ports[0].mac: "},
	{"{" REQ ",'uplink':{'devargs':'x','mac':'+2:00:00:00:00:01'}}",
	 "uplink.mac: "},
	/* the mac of a pod port with a bad pod leaked */
	{"{" REQ ",'uplink':{'devargs':'x'},'pod_ports':[{'pod':'nons',"
	 "'devargs':'y','mac':'02:00:00:00:00:01'}]}",
	 "pod_ports[0].pod: "},
	{"{" REQ ",'uplink':{'devargs':'x'},'pod_ports':[{'pod':'a/b',"
	 "'devargs':'y'},{'pod':'a/b','devargs':'z','mac':"
	 "'02:00:00:00:00:01'}]}",
	 "pod_ports[1].pod: "},
	/* a pod port is a DPDK device or a native vhost-user socket */
	{"{" REQ ",'uplink':{'devargs':'x'},'pod_ports':[{'pod':'a/b',"
	 "'devargs':'y','vhost_socket':'/s'}]}",
	 "pod_ports[0].vhost_socket: not with \"devargs\""},
	{"{" REQ ",'uplink':{'devargs':'x'},'pod_ports':[{'pod':'a/b'}]}",
	 "pod_ports[0].devargs: missing"},
	{"{" REQ ",'uplink':{'devargs':'x'},'pod_ports':[{'pod':'a/b',"
	 "'devargs':'y','vhost_client':true}]}",
	 "pod_ports[0].vhost_client: only with"},
	{"{" REQ ",'uplink':{'devargs':'x'},'pod_ports':[{'pod':'a/b',"
	 "'vhost_socket':'/s','vhost_client':'yes'}]}",
	 "pod_ports[0].vhost_client: must be true or false"},
	{"{" REQ ",'uplink':{'devargs':'x'},'vhost_ports':'ethdev'}",
	 "vhost_ports: "},
	/* a group or zero MAC taken for a host's */
	{"{" REQ ",'uplink':{'devargs':'x','neighbors':{"
	 "'10.0.0.1':'ff:ff:ff:ff:ff:ff'}}}",
	 "uplink.neighbors.10.0.0.1: "},
	{"{" REQ ",'uplink':{'devargs':'x'},'pod_ports':[{'pod':'a/b',"
	 "'devargs':'y','mac':'00:00:00:00:00:00'}]}",
	 "pod_ports[0].mac: "},
	{"{" REQ ",'uplink':{'devargs':'x','mac':'00:00:00:00:00:00'}}",
	 "uplink.mac: "},
	/* Pod keys are checked at load against Kubernetes' limits (a key
	 * over 63 characters loaded, and failed when its port opened):
	 * a namespace of 64 characters, a name of 254. */
	{"{" REQ ",'uplink':{'devargs':'x'},'pod_ports':[{'pod':"
	 "'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
	 "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn/a','devargs':'y'}]}",
	 "pod_ports[0].pod: "},
	{"{" REQ ",'uplink':{'devargs':'x'},'pod_ports':[{'pod':'ns/"
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',"
	 "'devargs':'y'}]}",
	 "pod_ports[0].pod: "},
	/* infinity converted to long long */
	{"{" REQ ",'uplink':{'devargs':'x'},'workers':1e999}", "workers: "},
	{"{" REQ ",'uplink':{'devargs':'x','mtu':-1e300}}", "uplink.mtu: "},
};

static void test_cases(void)
{
	for (size_t i = 0; i < RTE_DIM(cases); i++) {
		char *t = tdq(cases[i].json), err[256] = "";
		struct ctl_config *c = ctl_config_parse(t, err, sizeof(err));

		if (c != NULL ||
		    strncmp(err, cases[i].err, strlen(cases[i].err)) != 0) {
			fprintf(stderr, "case %zu: %s\n  error \"%s\", not \"%s\"\n",
				i, t, err, cases[i].err);
			check_failures++;
		}
		ctl_config_free(c);
		/* and the random part's reading agrees */
		check_one(t);
		free(t);
	}
}

int main(void)
{
	unsigned int seed = fuzz_env("CFG_SEED", 1);
	unsigned int iters = fuzz_env("CFG_ITERS", 20000);
	unsigned int accepted = 0;

	for (size_t i = 0; i < RTE_DIM(seeds); i++) {
		base[i] = tj(seeds[i]);
		char *t = cJSON_PrintUnformatted(base[i]);
		/* the seeds are valid, and load as written */
		check_one(t);
		free(t);
	}
	strcpy(tmp_path, "/tmp/kdp-config-fuzz-XXXXXX");
	int fd = mkstemp(tmp_path);

	if (fd < 0)
		abort();
	close(fd);
	test_cases();
	srand(seed);
	for (unsigned int it = 0; it < iters; it++) {
		cJSON *j = cJSON_Duplicate(base[rand() % RTE_DIM(seeds)], true);
		char *t;

		for (int m = rand() % 3; m >= 0; m--)
			mutate(j);
		if (rand() % 256 == 0) {
			cJSON_Delete(j);
			j = random_value();
		}
		t = cJSON_PrintUnformatted(j);
		if (t == NULL)
			abort();
		if (rand() % 4 == 0)
			t = fuzz_text_edit(t);
		accepted += check_one(t);
		if (rand() % 16 == 0) {
			/* an error buffer too short for the key */
			char err[8];

			ctl_config_free(ctl_config_parse(t, err, sizeof(err)));
		}
		free(t);
		cJSON_Delete(j);
	}
	printf("config fuzz: %u configs, %u accepted (seed %u)\n", iters,
	       accepted, seed);
	/* The mutations are not all rejected, nor all harmless. */
	CHECK(accepted > iters / 20 && accepted < iters - iters / 20);
	for (size_t i = 0; i < RTE_DIM(seeds); i++)
		cJSON_Delete(base[i]);
	unlink(tmp_path);
	char err[256] = "";
	CHECK(ctl_config_load(tmp_path, err, sizeof(err)) == NULL &&
	      strstr(err, tmp_path) != NULL);
	CHECK_DONE();
}
