/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pod churn through the store and ctl_tables_build(), as the control
 * thread runs it: each generation is built after the previous one
 * (pl_tables.acl kept when no Pod change can matter, brought up to date
 * from the store's journal of changes, or built from scratch when a local
 * Pod changed), and compared with a generation built from scratch from
 * the same store: every endpoint's verdict, both directions, for packets
 * from and to every Pod's address on the ports the policies name.
 * test_pod_churn (acl/) checks acl_set_update() itself; this checks what
 * compile.c feeds it: the journal's changes chained per Pod, the local
 * Pods that force a full build, the set kept while nothing matters.
 */
#include <stdlib.h>
#include <string.h>

#include "acl/eval.h"
#include "tests/unit/acl/churn_policies.h"
#include "tests/unit/control/store_put.h"
#include "tests/unit/control/tables_fixture.h"

#define NS CHURN_NS
#define EPS 4     /* local Pods with a pod port: ep0..ep3 */
#define LOCAL 6   /* slots EPS..LOCAL-1: local Pods without a port */
#define SLOTS 40
#define STEPS 600

static const char *const *const ns_name = churn_ns;

/* A Pod as the test keeps it. */
struct mpod {
	bool on;
	unsigned int ns;
	char name[16];
	const char *app, *tier; /* NULL: no such label */
	bool env;
	uint32_t ip;            /* 0: none yet */
	uint16_t http;          /* named port http's number, 0: none */
	bool dns;
};

static struct tfix fx;

static void upsert(enum ctl_res res, cJSON *o)
{
	if (ctl_store_upsert(fx.st, res, o) != 0) {
		char *s = cJSON_PrintUnformatted(o);

		fprintf(stderr, "rejected: %s\n", s);
		free(s);
		check_failures++;
	}
	cJSON_Delete(o);
}

static void pod_put(const struct mpod *p, bool local)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON *lab = cJSON_AddObjectToObject(md, "labels");
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON *status = cJSON_AddObjectToObject(o, "status");
	cJSON *ctr = cJSON_CreateObject(), *ports = cJSON_CreateArray();

	cJSON_AddStringToObject(md, "name", p->name);
	cJSON_AddStringToObject(md, "namespace", ns_name[p->ns]);
	if (p->app)
		cJSON_AddStringToObject(lab, "app", p->app);
	if (p->tier)
		cJSON_AddStringToObject(lab, "tier", p->tier);
	if (p->env)
		cJSON_AddStringToObject(lab, "env", "prod");
	cJSON_AddStringToObject(spec, "nodeName", local ? "n1" : "n2");
	cJSON_AddStringToObject(ctr, "name", "c");
	if (p->http) {
		cJSON *x = cJSON_CreateObject();

		cJSON_AddStringToObject(x, "name", "http");
		cJSON_AddNumberToObject(x, "containerPort", p->http);
		cJSON_AddItemToArray(ports, x);
	}
	if (p->dns) {
		cJSON *x = cJSON_CreateObject();

		cJSON_AddStringToObject(x, "name", "dns");
		cJSON_AddNumberToObject(x, "containerPort", 53);
		cJSON_AddStringToObject(x, "protocol", "UDP");
		cJSON_AddItemToArray(ports, x);
	}
	cJSON_AddItemToObject(ctr, "ports", ports);
	cJSON *ctrs = cJSON_AddArrayToObject(spec, "containers");
	cJSON_AddItemToArray(ctrs, ctr);
	cJSON_AddStringToObject(status, "phase", "Running");
	if (p->ip) {
		char ip[16];

		snprintf(ip, sizeof(ip), "%u.%u.%u.%u", p->ip >> 24,
			 (p->ip >> 16) & 0xff, (p->ip >> 8) & 0xff, p->ip & 0xff);
		cJSON_AddStringToObject(status, "podIP", ip);
	}
	upsert(CTL_RES_POD, o);
}

static void random_labels(struct mpod *p)
{
	static const char *const app[] = {"web", "db", "cache", "api", NULL};
	static const char *const tier[] = {"fe", "be", NULL};

	p->app = app[rand() % 5];
	p->tier = tier[rand() % 3];
	p->env = rand() % 3 == 0;
}

static void random_ports(struct mpod *p)
{
	p->http = rand() % 2 ? (uint16_t)(8080 + rand() % 2) : 0;
	p->dns = rand() % 2;
}

/* A remote Pod's address: 10.244.2.0/23, so two Pods meet on one now and
 * then; a tenth have none yet. A local one's: 10.244.1.0/26. */
static uint32_t random_ip(bool local)
{
	if (rand() % 10 == 0)
		return 0;
	return local ? 0x0af40100u | (uint32_t)(10 + rand() % 50) :
		       0x0af40200u | (uint32_t)(rand() % 512);
}

/* Every endpoint's verdicts under @p a and @p b, for packets between it
 * and every address of @p pods (and a few others): the count that
 * differ. */
static unsigned int compare(const struct acl_set *a, const struct acl_set *b,
			    struct acl_worker *aw, const struct mpod *pods)
{
	static const struct {
		uint8_t proto;
		uint16_t port;
	} svc[] = { {17, 53}, {6, 80}, {6, 8080}, {6, 8081}, {6, 9050} };
	static const uint32_t extra[] = {
		0x0af40305, /* 10.244.3.5: ipBlock except */
		0x0af40001, 0xc0a80a0c, 0x0a000001,
	};
	uint32_t peer[SLOTS + RTE_DIM(extra)];
	unsigned int n = 0, bad = 0;

	for (unsigned int i = 0; i < SLOTS; i++)
		if (pods[i].on && pods[i].ip)
			peer[n++] = pods[i].ip;
	for (unsigned int i = 0; i < RTE_DIM(extra); i++)
		peer[n++] = extra[i];
	for (uint32_t ep = 0; ep < EPS; ep++) {
		for (unsigned int k = 0; k < n; k++) {
			for (unsigned int s = 0; s < RTE_DIM(svc); s++) {
				struct acl_pkt in = {
					.src = peer[k], .dst = pods[ep].ip,
					.proto = svc[s].proto, .sport = 40000,
					.dport = svc[s].port,
				};
				struct acl_pkt out = in;

				out.src = pods[ep].ip;
				out.dst = peer[k];
				bad += acl_classify(a, aw, ep, ACL_DIR_INGRESS,
						    &in) !=
				       acl_classify(b, aw, ep, ACL_DIR_INGRESS,
						    &in);
				bad += acl_classify(a, aw, ep, ACL_DIR_EGRESS,
						    &out) !=
				       acl_classify(b, aw, ep, ACL_DIR_EGRESS,
						    &out);
			}
		}
	}
	return bad;
}

int main(void)
{
	struct acl_ct_conf cc;

	if (tfix_init(&fx, "kdp_test_compile_churn",
		      ",\"policy\":{\"classifier\":\"linear\"}") != 0)
		return 1;
	acl_ct_conf_default(&cc);
	cc.max_flows = 64;
	struct acl_worker *aw = acl_worker_create(&cc, 0);
	if (aw == NULL)
		return 1;
	store_put(fx.st, CTL_RES_NODE,
		  "{'metadata':{'name':'n1','annotations':{"
		  "'projectcalico.org/IPv4Address':'192.168.10.11/24'}}}");
	store_put(fx.st, CTL_RES_NODE,
		  "{'metadata':{'name':'n2','annotations':{"
		  "'projectcalico.org/IPv4Address':'192.168.10.12/24'}}}");
	store_put(fx.st, CTL_RES_IPPOOL,
		  "{'metadata':{'name':'p'},'spec':{'cidr':'10.244.0.0/16',"
		  "'ipipMode':'Always'}}");
	store_put(fx.st, CTL_RES_IPAMBLOCK,
		  "{'metadata':{'name':'b1'},'spec':{'cidr':'10.244.1.0/26',"
		  "'affinity':'host:n1'}}");
	for (unsigned int i = 0; i < NS; i++) {
		char ns[160];

		snprintf(ns, sizeof(ns), "{\"metadata\":{\"name\":\"%s\","
			 "\"labels\":%s}}", churn_ns[i], churn_ns_labels[i]);
		upsert(CTL_RES_NAMESPACE, cJSON_Parse(ns));
	}
	for (unsigned int i = 0; i < RTE_DIM(churn_policies); i++) {
		static const enum ctl_res res[] = {
			[CHURN_K8S] = CTL_RES_K8S_NETPOL,
			[CHURN_GLOBAL] = CTL_RES_GLOBAL_NETPOL,
			[CHURN_CALICO] = CTL_RES_CALICO_NETPOL,
		};

		upsert(res[churn_policies[i].kind],
		       cJSON_Parse(churn_policies[i].json));
	}

	/* The endpoints, then a third of the others. */
	static const struct mpod eps[EPS] = {
		{true, 0, "ep0", "web", "fe", false, 0x0af40101, 8080, false},
		{true, 1, "ep1", "db", "be", false, 0x0af40102, 0, true},
		{true, 2, "ep2", "api", NULL, true, 0x0af40103, 8081, false},
		{true, 0, "ep3", "cache", NULL, false, 0x0af40104, 0, false},
	};
	struct mpod pods[SLOTS];
	struct ctl_pod_ep pe[EPS];
	char refs[EPS][32];

	srand(7);
	memset(pods, 0, sizeof(pods));
	for (unsigned int i = 0; i < SLOTS; i++) {
		if (i < EPS) {
			pods[i] = eps[i];
			snprintf(refs[i], sizeof(refs[i]), "%s/%s",
				 ns_name[pods[i].ns], pods[i].name);
			pe[i] = (struct ctl_pod_ep){ .pod = refs[i],
						     .port = (uint16_t)(i + 1) };
		} else {
			snprintf(pods[i].name, sizeof(pods[i].name), "p%u", i);
			pods[i].ns = (unsigned int)rand() % NS;
			random_labels(&pods[i]);
			random_ports(&pods[i]);
			pods[i].ip = random_ip(i < LOCAL);
			pods[i].on = rand() % 3 == 0;
		}
		if (pods[i].on)
			pod_put(&pods[i], i < LOCAL);
	}
	struct ctl_ports pp = {.uplink = 0, .host = UINT16_MAX,
			       .pods = pe, .n_pods = EPS};
	struct pl_tables *prev = tfix_build(&fx, &pp, 1, NULL);
	unsigned int kept = 0, steps = 0;

	for (unsigned int s = 0; prev && s < STEPS; s++) {
		/* One to five changes a generation, now and then many more
		 * (the journal's chains grow). */
		unsigned int n = rand() % 20 ? 1 + (unsigned int)rand() % 5 :
					       20 + (unsigned int)rand() % 60;

		for (unsigned int k = 0; k < n; k++) {
			/* A local Pod one change in fifty. */
			unsigned int i = rand() % 50 == 0 ?
				(unsigned int)rand() % LOCAL :
				LOCAL + (unsigned int)rand() % (SLOTS - LOCAL);
			struct mpod *p = &pods[i];
			int op = rand() % 20;

			if (i < EPS && !p->on)
				continue;
			if (!p->on) {
				p->on = true;
				p->ns = (unsigned int)rand() % NS;
				random_labels(p);
				random_ports(p);
				p->ip = random_ip(i < LOCAL);
			} else if (op < 9) {
				random_labels(p);
			} else if (op < 13 && i >= EPS) {
				p->ip = random_ip(i < LOCAL);
			} else if (op < 17) {
				random_ports(p);
			} else if (i >= EPS) {
				p->on = false;
				ctl_store_delete(fx.st, CTL_RES_POD, ns_name[p->ns],
						 p->name);
				continue;
			}
			pod_put(p, i < LOCAL);
		}
		struct pl_tables *t = tfix_build(&fx, &pp, s + 2, prev);
		struct pl_tables *full = tfix_build(&fx, &pp, 1000000 + s, NULL);

		if (t == NULL || full == NULL) {
			ctl_tables_free(t);
			ctl_tables_free(full);
			break;
		}
		steps++;
		kept += t->acl == prev->acl;
		unsigned int d = compare(t->acl, full->acl, aw, pods);
		if (d) {
			fprintf(stderr, "generation %u (%u changes): %u verdicts "
				"differ from a build from scratch\n", s + 2, n, d);
			check_failures++;
		}
		ctl_tables_free(full);
		ctl_tables_free(prev);
		prev = t;
		if (d)
			break;
	}
	/* Both ways taken: sets kept, and sets made anew. */
	CHECK(steps == STEPS);
	CHECK(kept > STEPS / 60 && kept < STEPS - STEPS / 60);
	printf("compile churn: %u generations, %u kept the policy set\n",
	       steps, kept);
	ctl_tables_free(prev);
	acl_worker_free(aw);
	tfix_free(&fx);
	CHECK_DONE();
}
