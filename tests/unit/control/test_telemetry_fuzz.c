/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kdp's /kdp/ telemetry commands (control/telemetry.c) against bad
 * parameters, end to end: EAL without hugepages or devices, the commands
 * registered over a control state made up for the test (routes, a
 * configuration, an empty store and neighbor table, no ports, no
 * datastore), and a client on DPDK's telemetry socket sending
 * "<command>,<parameters>" as dpdk-telemetry.py does.
 *
 * /kdp/routes,START pages through the routes: START must be digits, and
 * the answer START's page of the routes as they are, or null (-EINVAL)
 * for anything else: empty, negative, signed, blanks, past 2^64, letters,
 * thousands of digits, random bytes. A page holds TEL_PAGE routes, fewer
 * when their text would not fit DPDK's 16 KiB answer (pod names of up to
 * 127 characters), and then says where the next one starts: a page of
 * long names used to be left out of the answer whole. /kdp/ports,
 * /kdp/endpoints, /kdp/nodes, /kdp/neighbors and /kdp/policy take START
 * the same way;
 * the other commands take no parameter: with any, each must still answer
 * its object. Route sets of 0 to 700 routes change between requests. Under
 * ASan/UBSan (the unit suite's second run) an overflow or leak fails the
 * run too. /kdp/datastore is left out: it needs a datastore.
 *
 * TEL_SEED=N and TEL_ITERS=N replay or lengthen a run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

#include "control/ctl_priv.h"
#include "tests/unit/ctl_check.h"
#include "tests/unit/fuzz.h"

#define PAGE 200 /* TEL_PAGE */

static struct ctl c; /* only what the handlers read */
static int sock = -1;

static void send_nothing(void *arg, struct rte_mbuf *m)
{
	rte_pktmbuf_free(m);
}

/* "<cmd>[,<params>]" over the socket; the answer parsed, or NULL. */
static cJSON *ask(const char *cmd, const char *params)
{
	static char buf[1 << 17];
	char msg[1100];
	ssize_t n;

	snprintf(msg, sizeof(msg), "%s%s%s", cmd, params ? "," : "",
		 params ? params : "");
	if (send(sock, msg, strlen(msg), 0) < 0)
		abort();
	n = recv(sock, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		abort(); /* the telemetry thread died */
	buf[n] = '\0';
	return cJSON_Parse(buf);
}

/* Routes of @p n entries, of every kind. */
static void set_routes(size_t n)
{
	static char *names[700];
	static struct ctl_route v[700];
	bool long_names = rand() % 3 == 0;

	pthread_mutex_lock(&c.lock);
	for (size_t i = 0; i < n; i++) {
		struct ctl_route *r = &v[i];

		free(names[i]);
		/* Short names, and now and then a set of long ones. */
		if (asprintf(&names[i], "p%zu%s", i, long_names ?
			     "-0123456789abcdef0123456789abcdef0123456789"
			     "abcdef0123456789abcdef0123456789abcdef" : "") < 0)
			abort();
		memset(r, 0, sizeof(*r));
		r->net = IP4(10, 244, i / 256, i % 256);
		r->plen = 32;
		r->kind = (enum ctl_route_kind)(i % 4);
		if (r->kind == CTL_RT_LOCAL_POD) {
			r->pod_ns = "ns";
			r->pod_name = names[i];
		} else if (r->kind != CTL_RT_BLACKHOLE) {
			r->via = IP4(192, 168, 0, i % 250);
			r->node = names[i];
		}
	}
	c.rs.v = v;
	c.rs.n = n;
	c.have_rs = n > 0 || rand() % 2;
	c.pub_gen++;
	pthread_mutex_unlock(&c.lock);
}

/* What /kdp/routes takes: nothing, or digits of a number that fits. */
static bool start_ok(const char *p, unsigned long *start)
{
	*start = 0;
	if (p == NULL || *p == '\0')
		return true;
	for (const char *q = p; *q; q++) {
		if (*q < '0' || *q > '9' ||
		    *start > (ULONG_MAX - (unsigned long)(*q - '0')) / 10)
			return false;
		*start = *start * 10 + (unsigned long)(*q - '0');
	}
	return true;
}

static unsigned int reported, pages;

/* /kdp/routes,@p params: the page it names, or null. */
static void check_routes(const char *params)
{
	cJSON *a = ask("/kdp/routes", params);
	const cJSON *d = cJSON_GetObjectItem(a, "/kdp/routes"), *e;
	unsigned long start;
	bool valid = start_ok(params, &start), ok;
	size_t n = c.have_rs ? c.rs.n : 0, i = start;

	if (!valid) {
		ok = cJSON_IsNull(d);
	} else {
		const cJSON *rt = cJSON_GetObjectItem(d, "routes");
		const cJSON *next = cJSON_GetObjectItem(d, "next");
		size_t want = start < n ? n - start : 0;
		size_t got = (size_t)cJSON_GetArraySize(rt);

		want = want > PAGE ? PAGE : want;
		/* Cut short only by the answer's size, and then it says
		 * where to go on; a full page says so too. */
		if (got < want && got > 0 && cJSON_IsNumber(next) &&
		    next->valuedouble == (double)(start + got))
			want = got;
		ok = cJSON_IsArray(rt) &&
		     (start + want < n ? cJSON_IsNumber(next) &&
		      next->valuedouble == (double)(start + want) :
		      next == NULL) &&
		     cJSON_GetNumberValue(cJSON_GetObjectItem(d, "total")) ==
			     (double)n &&
		     cJSON_GetNumberValue(cJSON_GetObjectItem(d, "start")) ==
			     (double)start &&
		     cJSON_GetNumberValue(cJSON_GetObjectItem(d,
			     "generation")) == (double)c.pub_gen &&
		     cJSON_GetArraySize(rt) == (int)want;
		/* the page starts at START, in order */
		cJSON_ArrayForEach(e, rt) {
			char net[32];
			uint32_t ip = c.rs.v[i++].net;

			snprintf(net, sizeof(net), "%u.%u.%u.%u/32 ",
				 ip >> 24, (ip >> 16) & 0xff,
				 (ip >> 8) & 0xff, ip & 0xff);
			ok &= cJSON_IsString(e) &&
			      strncmp(e->valuestring, net, strlen(net)) == 0;
		}
		pages += want > 0;
	}
	if (!ok) {
		char *t = cJSON_PrintUnformatted(a);

		check_failures++;
		if (reported++ < 10)
			fprintf(stderr, "/kdp/routes,\"%.80s\" with %zu routes "
				"(%s): %.300s\n", params ? params : "(none)", n,
				valid ? "a page" : "null", t ? t : "?");
		free(t);
	}
	cJSON_Delete(a);
}

/* A command that takes no parameter answers with any; one that takes
 * START (@p paged) answers a valid one, and null for anything else. */
static void check_other(const char *cmd, const char *params, bool paged)
{
	cJSON *a = ask(cmd, params);
	const cJSON *d = cJSON_GetObjectItem(a, cmd);
	unsigned long start;

	if (paged && !start_ok(params, &start) ? !cJSON_IsNull(d) :
	    !cJSON_IsObject(d) && !cJSON_IsArray(d)) {
		check_failures++;
		if (reported++ < 10)
			fprintf(stderr, "%s,\"%.80s\": %s\n", cmd,
				params ? params : "(none)", paged &&
				!start_ok(params, &start) ? "not null" :
				"no answer");
	}
	cJSON_Delete(a);
}

static char *random_params(void)
{
	static const char *const fixed[] = {
		"", "0", "1", "199", "200", "201", "699", "700", "701",
		"18446744073709551615", "18446744073709551616",
		"99999999999999999999999", "-1", "-0", "+5", " 5", "5 ", "5x",
		"0x10", "1e3", "5,6", ",", "007", "%s%n", "\t1", "1\n",
	};
	char *p;
	size_t n;

	switch (rand() % 4) {
	case 0: /* digits, a thousand at most (the socket reads 1 KiB) */
		/* one rand() a statement: replayable across builds */
		n = rand() % 4 ? 4 : 1000;
		n = 1 + (size_t)rand() % n;
		p = malloc(n + 1);
		for (size_t i = 0; i < n; i++)
			p[i] = (char)('0' + rand() % 10);
		p[n] = '\0';
		return p;
	case 1: /* bytes, no NUL (the protocol ends a command there) */
		n = (size_t)rand() % 64;
		p = malloc(n + 1);
		for (size_t i = 0; i < n; i++)
			p[i] = (char)(1 + rand() % 255);
		p[n] = '\0';
		return p;
	default:
		return strdup(fixed[rand() % (int)RTE_DIM(fixed)]);
	}
}

/* The bugs this test found, cut down: each got a page, not null. */
static const char *const cases[] = {
	"-1", /* start 18446744073709551615 */
	"+5", " 5",
	"99999999999999999999999", /* saturated to 2^64-1 */
};

int main(void)
{
	unsigned int seed = fuzz_env("TEL_SEED", 1);
	unsigned int iters = fuzz_env("TEL_ITERS", 5000);
	static const char *const others[] = {
		"/kdp/stats", "/kdp/config", "/kdp/conntrack", "/kdp/pmtu",
	};
	static const char *const paged[] = {
		"/kdp/ports", "/kdp/endpoints", "/kdp/nodes", "/kdp/policy",
		"/kdp/neighbors",
	};
	char prefix[64], err[256], buf[4096], rundir[PATH_MAX];
	char path[PATH_MAX + 32];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct rte_mempool *mp;

	snprintf(prefix, sizeof(prefix), "kdp_telfuzz_%d", (int)getpid());
	char *eal[] = {"test", "-l", "0", "--no-huge", "--no-pci", "-m", "64",
		       "--file-prefix", prefix, "--log-level=lib.eal:error"};

	if (rte_eal_init((int)RTE_DIM(eal), eal) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	c.p.cfg = ctl_config_parse("{\"node\":\"n1\",\"datastore\":{\"type\":"
				   "\"file\",\"path\":\"/d\"},\"uplink\":{"
				   "\"devargs\":\"net_null0\"}}", err,
				   sizeof(err));
	mp = rte_pktmbuf_pool_create("tel_mp", 255, 0, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	c.store = ctl_store_create();
	c.neigh = mp ? ctl_neigh_create(mp, send_nothing, NULL, 60) : NULL;
	c.pmtu = ctl_pmtu_create();
	if (c.p.cfg == NULL || c.store == NULL || c.neigh == NULL ||
	    c.pmtu == NULL)
		abort();
	/* As many learned MTUs as there may be: one answer holds them all. */
	for (uint32_t i = 0; i < CTL_PMTU_MAX; i++)
		ctl_pmtu_learn(c.pmtu, 0xc0a80000 + i * 257, 1400, 1500,
			       ctl_now_ms());
	ctl_pods_init(&c.pods, c.p.cfg, mp, 1);
	pthread_mutex_init(&c.lock, NULL);
	ctl_telemetry_register(&c);

	snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
	snprintf(path, sizeof(path), "%s/dpdk_telemetry.v2", rundir);
	if (strlen(path) >= sizeof(sa.sun_path))
		abort();
	memcpy(sa.sun_path, path, strlen(path) + 1);
	sock = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&sa,
				sizeof(sa)) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	if (recv(sock, buf, sizeof(buf), 0) <= 0) /* the greeting */
		abort();

	cJSON *pm = ask("/kdp/pmtu", NULL);
	const cJSON *tun = cJSON_GetObjectItem(
		cJSON_GetObjectItem(pm, "/kdp/pmtu"), "tunnels");
	CHECK_EQ(cJSON_GetArraySize(tun), CTL_PMTU_MAX);
	CHECK(cJSON_GetObjectItem(tun, "192_168_1_1") != NULL);
	cJSON_Delete(pm);

	set_routes(300);
	for (size_t i = 0; i < RTE_DIM(cases); i++)
		check_routes(cases[i]);
	srand(seed);
	for (unsigned int it = 0; it < iters; it++) {
		char *p = rand() % 8 ? random_params() : NULL;

		if (rand() % 16 == 0)
			set_routes((size_t)rand() % 700);
		if (rand() % 4)
			check_routes(p);
		else if (rand() % 2)
			check_other(others[rand() % (int)RTE_DIM(others)], p,
				    false);
		else
			check_other(paged[rand() % (int)RTE_DIM(paged)], p,
				    true);
		free(p);
	}
	printf("telemetry fuzz: %u commands, %u pages of routes (seed %u)\n",
	       iters, pages, seed);
	CHECK(pages > iters / 10);
	close(sock);
	ctl_neigh_free(c.neigh);
	ctl_pmtu_free(c.pmtu);
	ctl_store_free(c.store);
	ctl_config_free((struct ctl_config *)c.p.cfg);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	/* EAL's files of this run's own prefix */
	snprintf(path, sizeof(path), "rm -rf '%s'", rundir);
	if (strstr(rundir, prefix) == NULL || system(path) != 0)
		fprintf(stderr, "cannot remove %s\n", rundir);
	CHECK_DONE();
}
