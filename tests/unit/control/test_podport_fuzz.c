/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pod-port API's operations (control/ctl_api.c, control/podport.c)
 * against bad requests and bad state files, with no EAL and no port: the
 * port layer, the netlink calls and the publish are replaced at link time
 * (-Wl,--wrap, meson.build) by stubs that count the open ports and fail on
 * cue (a pod whose name holds "-nodev" has no device, interface name
 * "taken0" is taken in the pod, a netns named ns-nonet cannot be
 * configured, a publish fails when the test says so).
 *
 * Requests: valid port_add (tap with and without ip, vhost-user,
 * vhost-user-client), port_del, port_list and status, mutated at random:
 * keys deleted, renamed or given twice; values of another JSON type or
 * null; bad pod names, interface names, netns paths, IPs, container ids
 * and kinds; strings cut short, a character changed, thousands long. A
 * reading of docs/podapi.md and podport.h written for this test
 * (spec_req()) says which keys are wrong: a request with none must
 * succeed (unless a stub failed on cue) with the answer podapi.md shows,
 * one with any must fail with "<key>: ..." naming one of them, before any
 * port is opened. After every request the registry, the open ports and
 * <state_dir>/ports.json must match a model.
 *
 * State files: ports.json as kdp wrote it, or entries made up the same
 * way, mutated like the requests, and now and then cut short, bytes
 * changed or brackets opened thousands deep, then restored into a fresh
 * registry (ctl_pods_restore(), as kdp starts): the members re-created
 * must be the entries spec_req() finds valid, first of a pod wins, up to
 * max_api_ports, each as written; every entry dropped is logged with a
 * reason; a file with drops is rewritten to hold the members restored.
 *
 * Under ASan/UBSan (the unit suite's second run) a leak or overflow on
 * any of these paths fails the run too. Fixed cases first: the bugs this
 * test found.
 *
 * PP_SEED=N and PP_ITERS=N replay or lengthen a run.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_random.h>

#include "control/ctl_priv.h"
#include "control/netlink.h"
#include "tests/unit/ctl_check.h"
#include "tests/unit/fuzz.h"
#include "tests/unit/json_fuzz.h"

#define MAX_API 6
#define CFG_POD "cfg/fixed"

/* ------------------------------------------------------------- the stubs */

static bool port_open[1024];
static unsigned int open_ports, opens, next_id;
static bool publish_fail;

int __wrap_dp_port_open(const char *what, const char *devargs,
			unsigned int workers, struct rte_mempool *mp,
			uint16_t mtu, uint16_t nb_desc,
			const struct rte_ether_addr *mac, struct dp_port *out,
			char *err, size_t errlen);
int __wrap_dp_port_open(const char *what, const char *devargs,
			unsigned int workers, struct rte_mempool *mp,
			uint16_t mtu, uint16_t nb_desc,
			const struct rte_ether_addr *mac, struct dp_port *out,
			char *err, size_t errlen)
{
	opens++;
	if (strstr(what, "-nodev")) {
		snprintf(err, errlen, "%s: stub: no device", what);
		return -ENODEV;
	}
	while (port_open[next_id % RTE_DIM(port_open)])
		next_id++;
	memset(out, 0, sizeof(*out));
	out->id = (uint16_t)(next_id++ % RTE_DIM(port_open));
	snprintf(out->name, sizeof(out->name), "%.40s", devargs);
	port_open[out->id] = true;
	open_ports++;
	return 0;
}

int __wrap_dp_port_start(const struct dp_port *p);
int __wrap_dp_port_start(const struct dp_port *p)
{
	CHECK(port_open[p->id]);
	return 0;
}

void __wrap_dp_port_close(const struct dp_port *p);
void __wrap_dp_port_close(const struct dp_port *p)
{
	/* closed once, and only what was opened */
	CHECK(port_open[p->id]);
	if (port_open[p->id])
		open_ports--;
	port_open[p->id] = false;
}

int __wrap_rte_eth_dev_get_port_by_name(const char *name, uint16_t *id);
int __wrap_rte_eth_dev_get_port_by_name(const char *name, uint16_t *id)
{
	return -ENODEV;
}

int __wrap_ctl_link_move(const char *ifname, const char *netns_path,
			 const char *newname, const struct rte_ether_addr *mac,
			 uint16_t mtu, char *err, size_t errlen);
int __wrap_ctl_link_move(const char *ifname, const char *netns_path,
			 const char *newname, const struct rte_ether_addr *mac,
			 uint16_t mtu, char *err, size_t errlen)
{
	if (strcmp(newname, "taken0") == 0) {
		snprintf(err, errlen, "%s: stub: name taken", newname);
		return -EEXIST;
	}
	return 0;
}

int __wrap_ctl_pod_net_setup(const char *netns, const char *ifname,
			     uint32_t ip, int mtu, struct ctl_pod_link *out,
			     char *err, size_t errlen);
int __wrap_ctl_pod_net_setup(const char *netns, const char *ifname,
			     uint32_t ip, int mtu, struct ctl_pod_link *out,
			     char *err, size_t errlen)
{
	if (strstr(netns, "ns-nonet")) {
		snprintf(err, errlen, "%s: stub: cannot configure", netns);
		return -EIO;
	}
	return 0;
}

/* Publishing closes the ports unlinked, as ctl.c does once no worker can
 * poll them. */
int __wrap_ctl_publish_now(struct ctl *c);
int __wrap_ctl_publish_now(struct ctl *c)
{
	if (publish_fail) {
		snprintf(c->last_error, sizeof(c->last_error),
			 "stub: publish refused");
		return -1;
	}
	ctl_pods_reap(&c->pods);
	return 0;
}

/* ---------------------------------------------------------- the log */

static FILE *log_f;
static char *log_buf;
static size_t log_len;

static void log_reset(void)
{
	if (log_f)
		fclose(log_f);
	free(log_buf);
	log_buf = NULL;
	log_f = open_memstream(&log_buf, &log_len);
	if (log_f == NULL)
		abort();
	rte_openlog_stream(log_f);
}

static const char *log_text(void)
{
	fflush(log_f);
	return log_buf ? log_buf : "";
}

/* Lines holding @p what with a reason after it (which may hold a
 * newline: a pod's name may). */
static unsigned int log_count(const char *what)
{
	const char *p = log_text();
	unsigned int n = 0;

	while ((p = strstr(p, what)) != NULL) {
		p += strlen(what);
		n += strcmp(p, "\n") != 0 && strncmp(p, "\nkdp: ", 6) != 0;
	}
	return n;
}

/* --------------------------------------------- podapi.md, for this test */

static char dir[64], ns_ok[96], ns_nonet[96], ns_gone[96], vhost_dir[96];

/* What a valid port_add or state entry creates. */
struct mpod {
	char pod[318];   /* 63 + 1 + 253 and the NUL */
	enum ctl_pp_kind kind;
	char ifname[IF_NAMESIZE];
	char netns[256];
	char cid[128];
	char ip[INET_ADDRSTRLEN];    /* "" when none */
	bool fails;                  /* a stub fails it on cue */
	uint16_t port;
	struct rte_ether_addr mac;
};

/* The keys a request is wrong at: the error must name one. */
struct bad {
	const char *key[8];
	unsigned int n;
};

static void bad_add(struct bad *b, const char *key)
{
	if (b->n < RTE_DIM(b->key))
		b->key[b->n++] = key;
}

/* @p key of @p o as a string; present but no string is wrong. */
static const char *req_str(const cJSON *o, const char *key, struct bad *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (v != NULL && !cJSON_IsString(v))
		bad_add(b, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "namespace/name": one '/', a namespace of 1-63 characters (a DNS-1123
 * label's length) and a name of 1-253 (a DNS-1123 subdomain's). */
static bool pod_ok(const char *p)
{
	const char *slash = p ? strchr(p, '/') : NULL;

	return slash && slash != p && slash - p <= 63 && slash[1] &&
	       !strchr(slash + 1, '/') && strlen(slash + 1) <= 253;
}

/* An absolute path of a file kdp can read. */
static bool netns_ok(const char *s)
{
	return s && s[0] == '/' && strlen(s) < 256 && access(s, R_OK) == 0;
}

/* A file name: 1-127 of [A-Za-z0-9_.-], no leading dot (any container
 * id given, a tap's too: it tells a pod's sandboxes apart). */
static bool cid_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 127 || s[0] == '.')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_.-") == n;
}

/* A vhost port's: a file name, and <vhost_dir>/<id>.sock a socket path
 * (107 bytes at most). */
static bool cid_ok(const char *s)
{
	return cid_name_ok(s) &&
	       strlen(vhost_dir) + strlen(s) + strlen("/.sock") <= 107;
}

/* "a.b.c.d" or "a.b.c.d/32", not 0.0.0.0; @p out gets "a.b.c.d". */
static bool ip_ok(const char *s, char out[INET_ADDRSTRLEN])
{
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	struct in_addr a;

	if (n >= INET_ADDRSTRLEN || (slash && strcmp(slash, "/32") != 0))
		return false;
	memcpy(out, s, n);
	out[n] = '\0';
	return inet_pton(AF_INET, out, &a) == 1 && a.s_addr != 0;
}

static enum ctl_pp_kind kind_of(const char *k)
{
	if (k && strcmp(k, "tap") == 0)
		return CTL_PP_TAP;
	if (k && strcmp(k, "vhost-user") == 0)
		return CTL_PP_VHOST;
	if (k && strcmp(k, "vhost-user-client") == 0)
		return CTL_PP_VHOST_CLIENT;
	return CTL_PP_CONFIG;
}

/*
 * A port_add request or a state entry @p o, with @p n_api API ports open:
 * the keys it is wrong at in @p b, and otherwise the member it makes in
 * @p m.
 */
static void spec_req(const cJSON *o, unsigned int n_api, struct bad *b,
		     struct mpod *m)
{
	const char *pod = req_str(o, "pod", b);
	const char *kind = req_str(o, "kind", b);
	const char *ifname = req_str(o, "ifname", b);
	const char *netns = req_str(o, "netns", b);
	const char *cid = req_str(o, "container_id", b);
	const char *ip = req_str(o, "ip", b);
	enum ctl_pp_kind k = kind_of(kind);

	memset(m, 0, sizeof(*m));
	if (!pod_ok(pod))
		bad_add(b, "pod");
	if (k == CTL_PP_CONFIG)
		bad_add(b, "kind");
	/* ip: a tap's only */
	if (ip && ((k != CTL_PP_TAP && k != CTL_PP_CONFIG) ||
		   !ip_ok(ip, m->ip)))
		bad_add(b, "ip");
	if (k == CTL_PP_TAP) {
		if (!fuzz_ifname_ok(ifname))
			bad_add(b, "ifname");
		if (!netns_ok(netns))
			bad_add(b, "netns");
		if (cid && !cid_name_ok(cid))
			bad_add(b, "container_id");
	} else if (k != CTL_PP_CONFIG && !cid_ok(cid)) {
		bad_add(b, "container_id");
	}
	if (n_api >= MAX_API)
		bad_add(b, "max_api_ports");
	if (b->n)
		return;
	snprintf(m->pod, sizeof(m->pod), "%s", pod);
	m->kind = k;
	snprintf(m->cid, sizeof(m->cid), "%s", cid ? cid : "");
	if (k == CTL_PP_TAP) {
		snprintf(m->ifname, sizeof(m->ifname), "%s", ifname);
		snprintf(m->netns, sizeof(m->netns), "%s", netns);
	}
	m->fails = strstr(pod, "-nodev") ||
		   (k == CTL_PP_TAP && strcmp(ifname, "taken0") == 0);
}

/* The error starts with "<key>:" (or "max_api_ports (N) ...") for a key
 * of @p b. */
static bool names_bad_key(const char *err, const struct bad *b)
{
	for (unsigned int i = 0; i < b->n; i++) {
		size_t n = strlen(b->key[i]);

		if (strncmp(err, b->key[i], n) == 0 &&
		    (err[n] == ':' || err[n] == ' '))
			return true;
	}
	return false;
}

/* ------------------------------------------------------------ the model */

static struct ctl c;            /* only what ctl_api.c uses */
static struct ctl_config *cfg, *cfg2;
static struct mpod model[MAX_API];
static unsigned int n_model;
static unsigned int reported, added;

static struct mpod *model_find(const char *pod)
{
	for (unsigned int i = 0; pod && i < n_model; i++)
		if (strcmp(model[i].pod, pod) == 0)
			return &model[i];
	return NULL;
}

static void ip_of(const struct ctl_pp *pp, char out[INET_ADDRSTRLEN])
{
	struct in_addr a = {.s_addr = htonl(pp->ip)};

	out[0] = '\0';
	if (pp->ip)
		inet_ntop(AF_INET, &a, out, INET_ADDRSTRLEN);
}

/* The member of @p r for @p m is as it asked. */
static bool member_is(const struct ctl_pods *r, const struct mpod *m)
{
	const struct ctl_pp *pp = ctl_pods_find(r, m->pod);
	char ip[INET_ADDRSTRLEN];

	if (pp == NULL)
		return false;
	ip_of(pp, ip);
	return pp->kind == m->kind && strcmp(pp->ifname, m->ifname) == 0 &&
	       strcmp(pp->netns, m->netns) == 0 &&
	       strcmp(pp->container_id, m->cid) == 0 &&
	       strcmp(ip, m->ip) == 0 && pp->has_mac &&
	       rte_is_valid_assigned_ether_addr(&pp->mac);
}

static unsigned int dying(const struct ctl_pods *r)
{
	unsigned int n = 0;

	for (const struct ctl_pp *pp = r->dying; pp; pp = pp->next_dying)
		n++;
	return n;
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	size_t n = 0;

	if (f == NULL)
		return NULL;
	if (getdelim(&s, &n, '\0', f) < 0) {
		free(s);
		s = strdup("");
	}
	fclose(f);
	return s;
}

static bool str_is_(const char *got, const char *want)
{
	return got == want || (got && want && strcmp(got, want) == 0);
}

static const char *jstr(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* A state entry (or port_add answer) describes @p m, port and MAC too. */
static bool entry_is(const cJSON *e, const struct mpod *m)
{
	const char *mac = jstr(e, "mac"), *ip = jstr(e, "ip");
	struct rte_ether_addr a;
	char sock[256];

	snprintf(sock, sizeof(sock), "%s/%s.sock", vhost_dir, m->cid);
	return str_is_(jstr(e, "pod"), m->pod) &&
	       str_is_(jstr(e, "kind"), ctl_pp_kind_name(m->kind)) &&
	       cJSON_GetNumberValue(cJSON_GetObjectItem(e, "port")) ==
		       m->port &&
	       cJSON_GetNumberValue(cJSON_GetObjectItem(e, "mtu")) == 1480 &&
	       mac && ctl_parse_mac(mac, &a) == 0 &&
	       rte_is_same_ether_addr(&a, &m->mac) &&
	       str_is_(jstr(e, "ifname"), m->ifname[0] ? m->ifname : NULL) &&
	       str_is_(jstr(e, "netns"), m->netns[0] ? m->netns : NULL) &&
	       str_is_(ip, m->ip[0] ? m->ip : NULL) &&
	       str_is_(jstr(e, "container_id"), m->cid[0] ? m->cid : NULL) &&
	       str_is_(jstr(e, "socket"),
		       m->kind == CTL_PP_TAP ? NULL : sock);
}

/* <state_dir>/ports.json holds @p ms, each as answered. */
static bool state_is(const char *state_dir, const struct mpod *ms,
		     unsigned int n)
{
	char path[160];
	unsigned int seen = 0;
	bool ok = true;
	const cJSON *e;

	snprintf(path, sizeof(path), "%s/ports.json", state_dir);
	char *s = read_all(path);
	cJSON *root = s ? cJSON_Parse(s) : NULL;
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "ports");

	if (s == NULL) /* nothing saved yet */
		return n == 0;
	ok = cJSON_IsArray(arr);
	cJSON_ArrayForEach(e, arr) {
		const struct mpod *m = NULL;

		for (unsigned int i = 0; i < n; i++)
			if (str_is_(jstr(e, "pod"), ms[i].pod))
				m = &ms[i];
		ok &= m && entry_is(e, m);
		seen++;
	}
	cJSON_Delete(root);
	free(s);
	return ok && seen == n;
}

/* -------------------------------------------------------- the requests */

/* pod_max: "namespace/name" at both limits (63 + 1 + 253); pod_ns64 and
 * pod_name254 one past either. */
static char pod63[64], pod_max[318], pod_ns64[70], pod_name254[260], cid64[65],
	cid_max[128], cid_long[129],
	path255[256], path256[257];

static const char *const pool_pods[] = {
	"ns1/web-0", "ns1/web-1", "ns1/web-2", "ns2/db", "ns2/cache",
	"kube-system/coredns-5d78c-x8x7k", "a/b", "b/a", "ns3/gone-nodev",
	CFG_POD, pod63, pod_max,
};
static const char *const pool_ifnames[] = {"eth0", "net1", "a23456789012345",
					   "taken0"};
static const char *const pool_netns[] = {ns_ok, "/proc/self/ns/net",
					 ns_nonet};
static const char *const pool_ips[] = {"10.244.1.5", "10.244.1.6/32",
				       "192.168.0.1"};
/* cid64: a runtime's, 64 hex digits */
static const char *const pool_cids[] = {"c0ffee", "abc-1.2_3", "x", cid64};

/* Values near what each key accepts, and not. */
static const char *const strs[] = {
	"", " ", "/", "ns/", "/name", "a/b/c", "ns name/x", "ns/..", "a//b",
	"TAP", "Tap", "vhost", "vhost-user ", "config", "tap\n", ".", "..",
	"a:b", "a b", "a234567890123456", "\x01x", "x\x7f", "eth0\t", "eth0",
	"10.0.0.1/24", "10.0.0.1/32 ", " 10.0.0.1", "0.0.0.0", "0.0.0.0/32",
	"256.1.1.1", "10.0.0", "::1", "10.0.0.1/", "/32", "1.2.3.4/32/32",
	"010.0.0.1", "1.2.3.4/032", "10.0.0.9", ".hidden", "../x", "a/../b",
	"relative/ns", "/nonexistent/ns", "/", "\xff\xfe", "%s%n",
	"ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01", "00:00:00:00:00:00",
	"02:00:00:00:00:01", "02:00:00:00:00", "02:00:00:00:00:0g",
	"port_add", "port_del", "port_list", "status", "PORT_ADD",
};
static const char *const dyn[] = {
	ns_ok, ns_nonet, ns_gone, pod63, pod_max, pod_ns64, pod_name254, cid64, cid_max, cid_long,
	path255, path256,
};
static const double nums[] = {0, -1, 1, 0.5, 1e308, 65536, 4294967296.0};
static const char *const keys[] = {"op", "pod", "kind", "ifname", "netns",
				   "container_id", "ip", "mac", "port", "x"};

#define PICK(v) (v)[rand() % RTE_DIM(v)]

static cJSON *random_value(void)
{
	static const char *const prefix[] = {"", "/", "ns/", "/tmp/"};
	static const size_t lens[] = {14, 15, 16, 62, 63, 64, 127, 128, 254,
				      255, 256};
	cJSON *j;
	char *s, *t;

	switch (rand() % 10) {
	case 0:
	case 1:
	case 2:
	case 3:
		return jf_non_string(nums, RTE_DIM(nums), "v", PICK(strs));
	case 4: /* long, around a limit or thousands */
		s = fuzz_long_str(rand() % 2 ? PICK(lens) :
				  1 + (size_t)rand() % 5000);
		if (asprintf(&t, "%s%s", PICK(prefix), s) < 0)
			abort();
		j = cJSON_CreateString(t);
		free(s);
		free(t);
		return j;
	case 5:
		return cJSON_CreateString(PICK(dyn));
	default:
		return cJSON_CreateString(PICK(strs));
	}
}

static cJSON *gen_add(bool state)
{
	cJSON *o = cJSON_CreateObject();
	int k = rand() % 4;

	const char *pod = PICK(pool_pods);

	/* mostly a pod without a port; now and then one with a port, which
	 * answers at once (its sandbox) or is replaced (another) */
	for (int i = 0; !state && i < 4 && model_find(pod); i++)
		pod = PICK(pool_pods);
	if (!state && n_model && rand() % 8 == 0)
		pod = model[rand() % n_model].pod;
	if (!state)
		cJSON_AddStringToObject(o, "op", "port_add");
	cJSON_AddStringToObject(o, "pod", pod);
	if (k < 2) {
		cJSON_AddStringToObject(o, "kind", "tap");
		cJSON_AddStringToObject(o, "ifname", PICK(pool_ifnames));
		cJSON_AddStringToObject(o, "netns", PICK(pool_netns));
		if (rand() % 2)
			cJSON_AddStringToObject(o, "ip", PICK(pool_ips));
		if (rand() % 2)
			cJSON_AddStringToObject(o, "container_id",
						PICK(pool_cids));
	} else {
		cJSON_AddStringToObject(o, "kind", k == 2 ? "vhost-user" :
						   "vhost-user-client");
		cJSON_AddStringToObject(o, "container_id", PICK(pool_cids));
	}
	if (state) { /* what kdp writes besides */
		static const char *const macs[] = {"02:00:00:00:00:01",
			"0a:1b:2c:3d:4e:5f", "fe:ff:ff:ff:ff:fe"};

		cJSON_AddStringToObject(o, "mac", PICK(macs));
		cJSON_AddNumberToObject(o, "port", rand() % 8);
		cJSON_AddNumberToObject(o, "mtu", 1480);
	}
	return o;
}

static cJSON *gen_request(void)
{
	cJSON *o;

	switch (rand() % 10) {
	case 5:
	case 6:
	case 7:
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "op", "port_del");
		/* mostly a pod with a port */
		cJSON_AddStringToObject(o, "pod", n_model && rand() % 4 ?
					model[rand() % n_model].pod :
					PICK(pool_pods));
		/* its sandbox's DEL, another's (a late one), or an older
		 * client's (none) */
		if (rand() % 3) {
			const struct mpod *m = model_find(jstr(o, "pod"));

			cJSON_AddStringToObject(o, "container_id",
						m && m->cid[0] && rand() % 2 ?
						m->cid : PICK(pool_cids));
		}
		return o;
	case 8:
		return tj("{'op':'port_list'}");
	case 9:
		return tj("{'op':'status'}");
	default:
		return gen_add(false);
	}
}

static const char *random_key(void)
{
	return PICK(keys);
}

/* One mutation of @p root (not the root itself). */
static void mutate(cJSON *root)
{
	cJSON *parent, *it = jf_pick(root, &parent);

	/* a bad "op" is one check: mostly another member */
	if (it && it->string && strcmp(it->string, "op") == 0 && rand() % 4)
		it = jf_pick(root, &parent);
	if (it)
		jf_mutate(parent, it, random_value, random_key,
			  "/.:-_ aZ9\x01\xff");
}

static void report(const char *what, const cJSON *req, const char *detail)
{
	char *t = cJSON_PrintUnformatted(req);

	check_failures++;
	if (reported++ < 10)
		fprintf(stderr, "%s: %.600s\n  %s\n", what, t ? t : "?",
			detail);
	free(t);
}

/* podapi.md: a port_add of the sandbox that has the pod's port (the same
 * kind, and the same container id or either unknown; no key of another
 * type) answers that port; another sandbox's replaces it. */
static bool same_sandbox(const cJSON *req, const struct mpod *ex)
{
	static const char *const str_keys[] = {"pod", "kind", "ifname",
					       "netns", "container_id", "ip"};
	const char *cid = jstr(req, "container_id");

	for (size_t i = 0; i < RTE_DIM(str_keys); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(req,
								  str_keys[i]);

		if (v != NULL && !cJSON_IsString(v))
			return false;
	}
	return str_is_(jstr(req, "kind"), ctl_pp_kind_name(ex->kind)) &&
	       (cid == NULL || (cid_name_ok(cid) &&
				(ex->cid[0] == '\0' || strcmp(cid, ex->cid) == 0)));
}

static unsigned int replaced;

static bool check_add(const cJSON *req, const cJSON *ans, bool ok,
		      const char *err, unsigned int opens0, bool pf)
{
	const char *pod = jstr(req, "pod");
	struct mpod *ex = model_find(pod);
	const struct ctl_pp *pp;
	struct bad b = {0};
	struct mpod m;

	if (str_is_(pod, CFG_POD)) /* idempotent: the existing port */
		return ok && cJSON_GetNumberValue(cJSON_GetObjectItem(ans,
			"port")) == ctl_pods_find(&c.pods, CFG_POD)->port.id;
	if (ex && same_sandbox(req, ex))
		return ok && entry_is(ans, ex);
	/* a port replaced leaves its place to the new one */
	spec_req(req, n_model - (ex != NULL), &b, &m);
	/* refused before anything is touched */
	if (b.n)
		return !ok && names_bad_key(err, &b) && opens == opens0;
	/* failed: a port replaced stays as it was (the model's) */
	if (m.fails || pf || (m.ip[0] && strstr(m.netns, "ns-nonet")))
		return !ok;
	pp = ctl_pods_find(&c.pods, m.pod);
	if (!ok || pp == NULL)
		return false;
	m.port = pp->port.id;
	m.mac = pp->mac;
	if (ex) {
		*ex = m;
		replaced++;
	} else {
		model[n_model++] = m;
	}
	added++;
	return entry_is(ans, &m);
}

static bool check_del(const cJSON *req, const cJSON *ans, bool ok,
		      const char *err, bool pf)
{
	const char *pod = jstr(req, "pod");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, "container_id");
	const char *cid = cJSON_GetStringValue(v);
	const cJSON *deleted = cJSON_GetObjectItemCaseSensitive(ans, "deleted");
	struct mpod *m = model_find(pod);

	if (pod == NULL)
		return !ok && strncmp(err, "pod:", 4) == 0;
	if (v != NULL && !cid_name_ok(cid))
		return !ok && strncmp(err, "container_id:", 13) == 0;
	if (strcmp(pod, CFG_POD) == 0)
		return !ok && strstr(err, "configuration");
	if (m == NULL) /* idempotent */
		return ok && cJSON_IsFalse(deleted);
	/* another sandbox's (a late DEL): the port stays */
	if (cid && m->cid[0] && strcmp(cid, m->cid) != 0)
		return ok && cJSON_IsFalse(deleted);
	/* gone, even if the publish failed (it closes with the next) */
	memmove(m, m + 1, (size_t)(model + n_model - m - 1) * sizeof(*m));
	n_model--;
	return pf ? !ok && strstr(err, "not published") :
		    ok && cJSON_IsTrue(deleted);
}

static bool check_list(const cJSON *ans, bool ok)
{
	const cJSON *arr = cJSON_GetObjectItem(ans, "ports"), *e;
	bool good = ok && cJSON_GetArraySize(arr) == (int)n_model + 1;

	cJSON_ArrayForEach(e, arr) {
		const struct mpod *m = model_find(jstr(e, "pod"));

		good &= m ? entry_is(e, m) : str_is_(jstr(e, "pod"), CFG_POD);
	}
	return good;
}

static bool check_status(const cJSON *ans, bool ok)
{
	return ok && str_is_(jstr(ans, "node"), "n1") &&
	       cJSON_GetNumberValue(cJSON_GetObjectItem(ans, "mtu")) == 1480 &&
	       cJSON_GetNumberValue(cJSON_GetObjectItem(ans, "ports")) ==
		       n_model + 1 &&
	       cJSON_IsTrue(cJSON_GetObjectItem(ans, "state_saved"));
}

/* Handle @p req; the answer, the registry, the open ports and the state
 * file must be what the model says. @return whether it succeeded. */
static bool check_request(const cJSON *req)
{
	const char *op = jstr(req, "op");
	unsigned int opens0 = opens;
	bool pf = publish_fail, good;
	cJSON *ans = ctl_api_handle(&c, req);
	bool ok = cJSON_IsTrue(cJSON_GetObjectItem(ans, "ok"));
	const char *err = jstr(ans, "error");
	char *t;

	/* every refusal says why */
	if (ans == NULL || (!ok && (err == NULL || err[0] == '\0'))) {
		report("no answer, or an error without a message", req, "");
		cJSON_Delete(ans);
		return false;
	}
	if (op == NULL)
		good = !ok && strncmp(err, "op:", 3) == 0;
	else if (strcmp(op, "port_add") == 0)
		good = check_add(req, ans, ok, err, opens0, pf);
	else if (strcmp(op, "port_del") == 0)
		good = check_del(req, ans, ok, err, pf);
	else if (strcmp(op, "port_list") == 0)
		good = check_list(ans, ok);
	else if (strcmp(op, "status") == 0)
		good = check_status(ans, ok);
	else
		good = !ok && strncmp(err, "op:", 3) == 0;
	if (!good) {
		t = cJSON_PrintUnformatted(ans);
		report("request", req, t ? t : "?");
		free(t);
	}
	cJSON_Delete(ans);
	/* the registry, its ports and the state file follow the model */
	good = HASH_COUNT(c.pods.by_pod) == n_model + 1 &&
	       c.pods.n_api == n_model &&
	       open_ports == HASH_COUNT(c.pods.by_pod) + dying(&c.pods) &&
	       state_is(cfg->state_dir, model, n_model);
	for (unsigned int i = 0; i < n_model; i++)
		good &= member_is(&c.pods, &model[i]);
	if (!good) {
		report("registry, ports or state file differ from the model "
		       "after", req, "");
		abort(); /* everything after would differ too */
	}
	return ok;
}

/* ------------------------------------------------------- the state file */

static unsigned int count_str(const char *hay, const char *needle)
{
	unsigned int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		hay += strlen(needle);
		n++;
	}
	return n;
}

static unsigned int restored_total, restores;

/*
 * Restore @p text as <state_dir>/ports.json into a fresh registry that
 * holds the configuration's pod: the members must be the entries
 * spec_req() finds valid (the first of a pod, up to max_api_ports), each
 * as written; each entry dropped is logged with a reason, and a file
 * with drops is rewritten to hold what was restored.
 */
static void check_restore(const char *text)
{
	char path[160], err[256];
	struct mpod want[16];
	bool mac_kept[16];
	unsigned int n_want = 0, dropped = 0, new_mac = 0;
	unsigned int before = open_ports;
	cJSON *root = cJSON_Parse(text); /* as the loader reads it */
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "ports"), *e;
	const cJSON *ents = cJSON_IsArray(arr) ? arr : NULL;
	struct ctl_pods r;
	bool good = true;
	int n;

	snprintf(path, sizeof(path), "%s/ports.json", cfg2->state_dir);
	fuzz_write_file(path, text);
	ctl_pods_init(&r, cfg2, NULL, 2);
	if (ctl_pods_add_config(&r, 0, err, sizeof(err)) != 0)
		abort();
	log_reset();
	n = ctl_pods_restore(&r);
	cJSON_ArrayForEach(e, ents) {
		struct rte_ether_addr a;
		struct bad b = {0};
		struct mpod m;
		const char *mac = jstr(e, "mac");

		spec_req(e, n_want, &b, &m);
		for (unsigned int i = 0; b.n == 0 && i < n_want; i++)
			if (strcmp(want[i].pod, m.pod) == 0)
				b.n = 1;
		if (b.n || strcmp(m.pod, CFG_POD) == 0) {
			dropped++;
			continue;
		}
		/* kept as written, if it is a host's */
		mac_kept[n_want] = mac && ctl_parse_mac(mac, &a) == 0 &&
				   rte_is_valid_assigned_ether_addr(&a);
		if (mac_kept[n_want])
			m.mac = a;
		/* a warning for a MAC that is not a host's; none without one */
		new_mac += mac && !mac_kept[n_want];
		if (m.fails) {
			dropped++;
			continue;
		}
		want[n_want++] = m;
	}
	good &= n == (int)n_want && HASH_COUNT(r.by_pod) == n_want + 1;
	for (unsigned int i = 0; i < n_want; i++) {
		const struct ctl_pp *pp = ctl_pods_find(&r, want[i].pod);

		good &= member_is(&r, &want[i]);
		if (pp == NULL)
			continue;
		good &= !mac_kept[i] ||
			rte_is_same_ether_addr(&pp->mac, &want[i].mac);
		want[i].port = pp->port.id;
		want[i].mac = pp->mac;
	}
	/* each entry dropped, and each MAC replaced, is logged */
	good &= cJSON_IsArray(arr) ||
		strstr(log_text(), "not a kdp state file") != NULL;
	good &= log_count(" not restored: ") == dropped;
	good &= count_str(log_text(), "a new one is chosen") == new_mac;
	if (dropped) {
		good &= state_is(cfg2->state_dir, want, n_want);
	} else {
		char *now = read_all(path);

		good &= now && strcmp(now, text) == 0;
		free(now);
	}
	ctl_pods_fini(&r);
	good &= open_ports == before;
	if (!good) {
		check_failures++;
		if (reported++ < 10)
			fprintf(stderr, "state file: %.800s\n  restored %d, "
				"expected %u (%u dropped, %u new MACs)\n"
				"  log: %.800s\n", text, n, n_want, dropped,
				new_mac, log_text());
	}
	restores++;
	restored_total += (unsigned int)(n > 0 ? n : 0);
	cJSON_Delete(root);
}

/* A state file: the one kdp wrote, or made-up entries; mutated. */
static char *gen_state(void)
{
	char path[160], *t = NULL;
	cJSON *root = NULL;

	snprintf(path, sizeof(path), "%s/ports.json", cfg->state_dir);
	if (rand() % 2 && (t = read_all(path)) != NULL)
		root = cJSON_Parse(t);
	free(t);
	if (root == NULL) {
		cJSON *arr;

		root = cJSON_CreateObject();
		arr = cJSON_AddArrayToObject(root, "ports");
		for (int i = rand() % 10; i > 0; i--)
			cJSON_AddItemToArray(arr, gen_add(true));
	}
	for (int m = rand() % 4; m > 0; m--)
		mutate(root);
	t = rand() % 2 ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (t == NULL)
		abort();
	if (rand() % 4 == 0)
		t = fuzz_text_edit(t);
	return t;
}

/* ------------------------------------------------------------ the cases */

#define TAP "'op':'port_add','pod':'a/b','kind':'tap','ifname':'eth0'," \
	    "'netns':'/proc/self/ns/net'"

/*
 * The bugs this test found, cut down. Each request was accepted; it must
 * now fail with an error starting with @p err.
 */
static const struct {
	const char *json;
	const char *err;
} req_cases[] = {
	/* a key of another type was taken for an absent one: a tap with an
	 * address given as a number got none, and no error */
	{"{" TAP ",'ip':167772165}", "ip: "},
	{"{" TAP ",'ip':null}", "ip: "},
	{"{" TAP ",'container_id':['c']}", "container_id: "},
	{"{'op':'port_add','pod':'a/b','kind':'vhost-user','container_id':"
	 "'c','netns':5}", "netns: "},
};

/* The state files of the bugs this test found: a group or zero MAC was
 * restored as the pod's (it must be a host's, as in the configuration). */
static const char *const state_cases[] = {
	"{'ports':[{'pod':'a/b','kind':'vhost-user','container_id':'c',"
	"'mac':'ff:ff:ff:ff:ff:ff'}]}",
	"{'ports':[{'pod':'a/b','kind':'vhost-user-client','container_id':"
	"'c','mac':'01:00:5e:00:00:01'}]}",
	"{'ports':[{'pod':'a/b','kind':'tap','ifname':'eth0','netns':"
	"'/proc/self/ns/net','mac':'00:00:00:00:00:00'}]}",
	/* and the requests' types: kdp's own file, but an ip of another
	 * type is no more absent than in a request */
	"{'ports':[{'pod':'a/b','kind':'tap','ifname':'eth0','netns':"
	"'/proc/self/ns/net','ip':167772165,'mac':'02:00:00:00:00:01'}]}",
};

static void test_cases(void)
{
	for (size_t i = 0; i < RTE_DIM(req_cases); i++) {
		cJSON *req = tj(req_cases[i].json);
		cJSON *ans = ctl_api_handle(&c, req);
		const char *err = jstr(ans, "error");

		if (err == NULL || strncmp(err, req_cases[i].err,
					   strlen(req_cases[i].err)) != 0) {
			fprintf(stderr, "case %zu: %s\n  error \"%s\", not "
				"\"%s\"\n", i, req_cases[i].json,
				err ? err : "", req_cases[i].err);
			check_failures++;
			/* accepted: leave the registry as the model has it */
			cJSON_Delete(ans);
			cJSON_Delete(req);
			req = tj("{'op':'port_del','pod':'a/b'}");
			ans = ctl_api_handle(&c, req);
		}
		cJSON_Delete(ans);
		cJSON_Delete(req);
	}
	/* A runtime's container id, 64 hex digits (containerd, CRI-O), was
	 * refused for a vhost-user port: 63 characters at most. */
	cJSON *req = tj("{'op':'port_add','pod':'a/b','kind':'vhost-user'}");

	cJSON_AddStringToObject(req, "container_id", "f5c6d0b0a9e81f2a3b4c5d6e"
				"7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2");
	if (!check_request(req))
		fprintf(stderr, "a 64-digit container id was refused\n");
	cJSON_Delete(req);
	req = tj("{'op':'port_del','pod':'a/b'}");
	check_request(req);
	cJSON_Delete(req);
	/* A pod key over 63 characters (a DaemonSet's pod in a long
	 * namespace) was refused: Kubernetes allows 63 + 1 + 253. */
	req = tj("{'op':'port_add','pod':'x','kind':'tap','ifname':'eth0',"
		 "'ip':'10.244.1.5'}");
	cJSON_ReplaceItemInObject(req, "pod", cJSON_CreateString(pod_max));
	cJSON_AddStringToObject(req, "netns", ns_ok);
	if (!check_request(req))
		fprintf(stderr, "a pod key of 317 characters was refused\n");
	cJSON_Delete(req);
	req = tj("{'op':'port_del','pod':'x'}");
	cJSON_ReplaceItemInObject(req, "pod", cJSON_CreateString(pod_max));
	check_request(req);
	cJSON_Delete(req);
	for (size_t i = 0; i < RTE_DIM(state_cases); i++) {
		char *t = tdq(state_cases[i]);

		check_restore(t);
		free(t);
	}
}

/* The answer to @p json (single quotes), and whether it is ok. */
static bool api(const char *json, cJSON **ans)
{
	cJSON *req = tj(json);

	cJSON_Delete(*ans);
	*ans = ctl_api_handle(&c, req);
	cJSON_Delete(req);
	return cJSON_IsTrue(cJSON_GetObjectItem(*ans, "ok"));
}

static uint16_t port_of(const cJSON *ans)
{
	return (uint16_t)cJSON_GetNumberValue(cJSON_GetObjectItem(ans, "port"));
}

/* The pod's port in the registry is @p port, open, of container @p cid. */
static bool has_port(const char *pod, uint16_t port, const char *cid)
{
	const struct ctl_pp *pp = ctl_pods_find(&c.pods, pod);

	return pp && pp->port.id == port && port_open[port] &&
	       strcmp(pp->container_id, cid) == 0;
}

#define SB_TAP "'op':'port_add','kind':'tap','netns':'/proc/self/ns/net'," \
	       "'pod':'s/web'"

/*
 * A pod's sandboxes. CNI names an attachment by its container id, and a
 * runtime sends DEL for a pod's old sandbox after its new one was added;
 * kdp took a pod's port for the pod's, whatever the sandbox: a late DEL
 * removed the new sandbox's port (the pod lost its network), and a new
 * sandbox's ADD got the old one's (which kdp-cni's rollback then deleted).
 */
static void test_sandboxes(void)
{
	cJSON *a = NULL;
	uint16_t pa, pb;
	char path[160], *t;

	CHECK(api("{" SB_TAP ",'ifname':'eth0','container_id':'sbA'}", &a));
	pa = port_of(a);
	/* its ADD again (a retry): the same port */
	CHECK(api("{" SB_TAP ",'ifname':'eth0','container_id':'sbA'}", &a));
	CHECK_EQ(port_of(a), pa);
	CHECK_STR(jstr(a, "container_id"), "sbA");
	/* a DEL of another sandbox leaves it */
	CHECK(api("{'op':'port_del','pod':'s/web','container_id':'sbX'}", &a));
	CHECK(cJSON_IsFalse(cJSON_GetObjectItem(a, "deleted")));
	CHECK(has_port("s/web", pa, "sbA"));
	/* another sandbox's ADD replaces it; the old port closes */
	CHECK(api("{" SB_TAP ",'ifname':'eth0','container_id':'sbB'}", &a));
	pb = port_of(a);
	CHECK(pb != pa && !port_open[pa]);
	CHECK(has_port("s/web", pb, "sbB"));
	CHECK_EQ(c.pods.n_api, 1);
	/* saved with its container id, and listed with it */
	snprintf(path, sizeof(path), "%s/ports.json", cfg->state_dir);
	t = read_all(path);
	CHECK(t && strstr(t, "\"container_id\":\t\"sbB\"") &&
	      !strstr(t, "sbA"));
	free(t);
	CHECK(api("{'op':'port_list'}", &a));
	t = cJSON_PrintUnformatted(a);
	CHECK(t && strstr(t, "\"container_id\":\"sbB\""));
	free(t);
	/* the old sandbox's late DEL leaves the new one's port */
	CHECK(api("{'op':'port_del','pod':'s/web','container_id':'sbA'}", &a));
	CHECK(cJSON_IsFalse(cJSON_GetObjectItem(a, "deleted")));
	CHECK(has_port("s/web", pb, "sbB"));
	/* a replacement that fails changes nothing: no device, no publish */
	CHECK(!api("{" SB_TAP ",'ifname':'taken0','container_id':'sbC'}", &a));
	CHECK(has_port("s/web", pb, "sbB"));
	publish_fail = true;
	CHECK(!api("{" SB_TAP ",'ifname':'eth0','container_id':'sbC'}", &a));
	publish_fail = false;
	CHECK(has_port("s/web", pb, "sbB"));
	CHECK_EQ(c.pods.n_api, 1);
	CHECK_EQ(open_ports, 2);
	/* container ids as port_add's */
	CHECK(!api("{'op':'port_del','pod':'s/web','container_id':'../x'}",
		   &a));
	CHECK(strncmp(jstr(a, "error"), "container_id: ", 14) == 0);
	CHECK(!api("{'op':'port_del','pod':'s/web','container_id':5}", &a));
	CHECK(strncmp(jstr(a, "error"), "container_id: ", 14) == 0);
	CHECK(!api("{'op':'port_del','pod':'s/web','container_id':''}", &a));
	CHECK(!api("{" SB_TAP ",'ifname':'eth0','container_id':'.x'}", &a));
	CHECK(strncmp(jstr(a, "error"), "container_id: ", 14) == 0);
	CHECK(has_port("s/web", pb, "sbB"));
	/* a replacement at max_api_ports: the old port's place is free */
	for (int i = 1; i < MAX_API; i++) {
		char json[256];

		snprintf(json, sizeof(json), "{'op':'port_add','pod':'s/p%d',"
			 "'kind':'vhost-user','container_id':'v%d'}", i, i);
		CHECK(api(json, &a));
	}
	CHECK(api("{" SB_TAP ",'ifname':'eth0','container_id':'sbD'}", &a));
	CHECK(has_port("s/web", port_of(a), "sbD"));
	for (int i = 1; i < MAX_API; i++) {
		char json[256];

		snprintf(json, sizeof(json), "{'op':'port_del','pod':'s/p%d'}",
			 i);
		CHECK(api(json, &a));
	}
	/* its own DEL removes it */
	CHECK(api("{'op':'port_del','pod':'s/web','container_id':'sbD'}", &a));
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(a, "deleted")));
	CHECK(ctl_pods_find(&c.pods, "s/web") == NULL);
	/* an unknown container id (an older client's tap, or an older state
	 * file's) is any sandbox's */
	CHECK(api("{" SB_TAP ",'ifname':'eth0'}", &a));
	pa = port_of(a);
	CHECK(api("{" SB_TAP ",'ifname':'eth0','container_id':'sbE'}", &a));
	CHECK_EQ(port_of(a), pa);
	CHECK(api("{'op':'port_del','pod':'s/web','container_id':'sbF'}", &a));
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(a, "deleted")));
	/* and an older client's DEL (none) any port's */
	CHECK(api("{" SB_TAP ",'ifname':'eth0','container_id':'sbG'}", &a));
	CHECK(api("{'op':'port_del','pod':'s/web'}", &a));
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(a, "deleted")));
	CHECK(ctl_pods_find(&c.pods, "s/web") == NULL);
	CHECK_EQ(c.pods.n_api, 0);
	CHECK_EQ(open_ports, 1);
	cJSON_Delete(a);
}

static void fill(char *s, size_t n, const char *head)
{
	memset(s, 'a', n);
	memcpy(s, head, strlen(head));
	s[n] = '\0';
}

int main(void)
{
	unsigned int seed = fuzz_env("PP_SEED", 1);
	unsigned int iters = fuzz_env("PP_ITERS", 10000);
	unsigned int accepted = 0;
	char json[1024], err[256], cmd[128];

	/* tmpfs where there is one: every change is saved with fsync */
	snprintf(dir, sizeof(dir), "%s/kdp-ppfuzz-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(ns_ok, sizeof(ns_ok), "%s/ns-ok", dir);
	snprintf(ns_nonet, sizeof(ns_nonet), "%s/ns-nonet", dir);
	snprintf(ns_gone, sizeof(ns_gone), "%s/ns-gone", dir);
	snprintf(vhost_dir, sizeof(vhost_dir), "%s/vhost", dir);
	fuzz_write_file(ns_ok, "");
	fuzz_write_file(ns_nonet, "");
	fill(pod63, 63, "ns/");
	fill(pod_max, 63 + 1 + 253, "");
	pod_max[63] = '/';
	fill(pod_ns64, 64 + 1 + 4, "");
	pod_ns64[64] = '/';
	fill(pod_name254, 3 + 254, "ns/");
	fill(cid64, 64, "f5c6d0b0a9e8");
	fill(cid_max, 127, "c");
	fill(cid_long, 128, "c");
	fill(path255, 255, "/");
	fill(path256, 256, "/");
	for (int i = 0; i < 2; i++) {
		snprintf(json, sizeof(json),
			 "{\"node\":\"n1\",\"datastore\":{\"type\":\"file\","
			 "\"path\":\"/d\"},\"uplink\":{\"devargs\":"
			 "\"net_null0\"},\"pod_ports\":[{\"pod\":\"" CFG_POD
			 "\",\"devargs\":\"net_null9\"}],\"vhost_dir\":\"%s\","
			 "\"state_dir\":\"%s/state%d\",\"max_api_ports\":%d,"
			 /* the stubbed ports are ethdevs (dp_port_open()) */
			 "\"tap_ports\":\"pmd\",\"vhost_ports\":\"pmd\"}",
			 vhost_dir, dir, i, MAX_API);
		struct ctl_config **cp = i ? &cfg2 : &cfg;

		*cp = ctl_config_parse(json, err, sizeof(err));
		if (*cp == NULL) {
			fprintf(stderr, "config: %s\n", err);
			return 1;
		}
	}
	if (mkdir(cfg2->state_dir, 0700) != 0)
		abort();
	c.p.cfg = cfg;
	c.published = true;
	ctl_pods_init(&c.pods, cfg, NULL, 2);
	if (ctl_pods_add_config(&c.pods, 0, err, sizeof(err)) != 0)
		abort();
	/* replayable MACs (rte_eth_random_addr()) */
	rte_srand(seed);
	log_reset();
	test_cases();
	test_sandboxes();
	srand(seed);
	for (unsigned int it = 0; it < iters; it++) {
		cJSON *req = gen_request();

		/* port_list and status have only "op" to break */
		for (int m = cJSON_GetArraySize(req) > 1 || rand() % 4 == 0 ?
			     rand() % 4 : 0; m > 0; m--)
			mutate(req);
		publish_fail = rand() % 16 == 0;
		accepted += check_request(req);
		publish_fail = false;
		cJSON_Delete(req);
		if (rand() % 4 == 0) {
			char *t = gen_state();

			check_restore(t);
			free(t);
		}
	}
	printf("podport fuzz: %u requests, %u accepted, %u ports added (%u "
	       "replacing another sandbox's); %u state files, %u members "
	       "restored (seed %u)\n", iters, accepted, added, replaced,
	       restores, restored_total, seed);
	/* The mutations are not all refused, nor all harmless. */
	CHECK(accepted > iters / 10 && accepted < iters - iters / 10);
	CHECK(added > iters / 50);
	CHECK(replaced > iters / 1000);
	CHECK(restored_total > restores / 4);
	ctl_pods_fini(&c.pods);
	CHECK_EQ(open_ports, 0);
	ctl_config_free(cfg);
	ctl_config_free(cfg2);
	rte_openlog_stream(NULL);
	fclose(log_f);
	free(log_buf);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	CHECK_DONE();
}
