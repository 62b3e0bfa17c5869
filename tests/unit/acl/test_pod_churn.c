/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pod churn against the policy set, the way control/compile.c follows it:
 * a set built once, then per step of one to three changes of non-local
 * Pods (labels, addresses, named ports, added, deleted; the same Pod
 * twice in a step now and then), kept when acl_set_pod_matters() says no
 * change can matter, else brought up to date by acl_set_update() from the
 * changes alone. Every step compares that set with acl_set_build() over
 * all the Pods as they now are (tu_set_same()). The Pods are random:
 * labels from a small vocabulary, addresses from a small range (two Pods
 * share one at times, as a reused address does), named ports that come
 * and go; the policies select them every way the compiler resolves: pod
 * and namespace selectors, matchExpressions, Calico selectors with
 * namespaceSelector and notSelector, ipBlock with except, named ports of
 * endpoints and of peers. test_policy.c test_pod_matters pins single
 * cases; this finds the orders nobody wrote down.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "acl/acl_priv.h"
#include "acl/eval.h"
#include "acl/policy.h"
#include "churn_policies.h"
#include "tutil.h"

#define NS CHURN_NS
#define SLOTS 40 /* Pods that may exist; the first EPS are the endpoints */
#define EPS 4
#define MAX_CH 3

static const char *const *const ns_name = churn_ns;

struct slot {
	struct ctl_pod p;
	bool on;
	char name[16];
	struct ctl_named_port ports[2];
};

/* A Pod as a change saw it: its own copies of what the live one
 * changes (labels, ports). */
struct snap {
	struct ctl_pod p;
	struct ctl_named_port ports[2];
};

static void labels_copy(struct ctl_labels *to, const struct ctl_labels *from)
{
	to->n = from->n;
	to->keys = calloc(from->n + 1, sizeof(char *));
	to->vals = calloc(from->n + 1, sizeof(char *));
	for (size_t i = 0; i < from->n; i++) {
		to->keys[i] = strdup(from->keys[i]);
		to->vals[i] = strdup(from->vals[i]);
	}
}

static const struct ctl_pod *take(struct snap *s, const struct slot *sl)
{
	if (!sl->on)
		return NULL;
	s->p = sl->p;
	labels_copy(&s->p.labels, &sl->p.labels);
	memcpy(s->ports, sl->ports, sizeof(s->ports));
	s->p.ports = s->ports;
	return &s->p;
}

static void random_labels(struct ctl_labels *l)
{
	static const char *const app[] = {"web", "db", "cache", "api", NULL};
	static const char *const tier[] = {"fe", "be", NULL};
	char json[128];
	int n = 0;

	n += snprintf(json + n, sizeof(json) - (size_t)n, "{");
	const char *a = app[rand() % RTE_DIM(app)];
	const char *t = tier[rand() % RTE_DIM(tier)];
	if (a)
		n += snprintf(json + n, sizeof(json) - (size_t)n,
			      "\"app\":\"%s\",", a);
	if (t)
		n += snprintf(json + n, sizeof(json) - (size_t)n,
			      "\"tier\":\"%s\",", t);
	if (rand() % 3 == 0)
		n += snprintf(json + n, sizeof(json) - (size_t)n,
			      "\"env\":\"prod\",");
	if (json[n - 1] == ',')
		n--;
	snprintf(json + n, sizeof(json) - (size_t)n, "}");
	cJSON *o = cJSON_Parse(json);
	ctl_labels_clear(l);
	tu_labels_from_json(l, o);
	cJSON_Delete(o);
}

/* One of 10.244.2.0/22: two Pods meet on an address now and then. */
static void random_ip(struct ctl_pod *p)
{
	p->n_ips = rand() % 10 ? 1 : 0;
	p->ips[0] = 0x0af40200u | (uint32_t)(rand() % 1024);
}

static void random_ports(struct slot *s)
{
	s->p.n_ports = 0;
	if (rand() % 2)
		s->ports[s->p.n_ports++] = (struct ctl_named_port){
			(char *)"http", 6, (uint16_t)(8080 + rand() % 2) };
	if (rand() % 2)
		s->ports[s->p.n_ports++] = (struct ctl_named_port){
			(char *)"dns", 17, 53 };
	s->p.ports = s->ports;
}

static void pod_on(struct slot *s, unsigned int i)
{
	memset(&s->p, 0, sizeof(s->p));
	snprintf(s->name, sizeof(s->name), "p%u", i);
	s->p.ns = (char *)ns_name[rand() % NS];
	s->p.name = s->name;
	s->p.node = (char *)"n2";
	s->p.sa = (char *)"default";
	random_labels(&s->p.labels);
	random_ip(&s->p);
	random_ports(s);
	s->on = true;
}

static void pod_off(struct slot *s)
{
	ctl_labels_clear(&s->p.labels);
	s->on = false;
}

/* The endpoints: local, never changed (a local Pod's change makes
 * compile.c build from scratch). */
static void endpoints(struct slot *s)
{
	static const struct {
		unsigned int ns;
		const char *labels;
		uint16_t http;
	} ep[EPS] = {
		{0, "{\"app\":\"web\",\"tier\":\"fe\"}", 8080},
		{1, "{\"app\":\"db\",\"tier\":\"be\"}", 0},
		{2, "{\"app\":\"api\",\"env\":\"prod\"}", 8081},
		{0, "{\"app\":\"cache\"}", 0},
	};

	for (unsigned int i = 0; i < EPS; i++) {
		cJSON *o = cJSON_Parse(ep[i].labels);

		memset(&s[i].p, 0, sizeof(s[i].p));
		snprintf(s[i].name, sizeof(s[i].name), "ep%u", i);
		s[i].p.ns = (char *)ns_name[ep[i].ns];
		s[i].p.name = s[i].name;
		s[i].p.node = (char *)"n1";
		s[i].p.sa = (char *)"default";
		s[i].p.n_ips = 1;
		s[i].p.ips[0] = 0x0af40101u + i; /* 10.244.1.1 on */
		tu_labels_from_json(&s[i].p.labels, o);
		cJSON_Delete(o);
		s[i].p.ports = s[i].ports;
		if (ep[i].http) {
			s[i].ports[0] = (struct ctl_named_port){
				(char *)"http", 6, ep[i].http };
			s[i].p.n_ports = 1;
		}
		s[i].on = true;
	}
}

#define NPOL RTE_DIM(churn_policies)

struct objs {
	struct ctl_namespace ns[NS];
	void *pol[NPOL];
};

static bool objs_init(struct objs *o)
{
	void *(*const dec[])(const cJSON *, char *, size_t) = {
		[CHURN_K8S] = acl_k8s_netpol_decode,
		[CHURN_GLOBAL] = acl_global_netpol_decode,
		[CHURN_CALICO] = acl_calico_netpol_decode,
	};
	bool ok = true;

	for (unsigned int i = 0; i < NS; i++) {
		cJSON *l = cJSON_Parse(churn_ns_labels[i]);

		o->ns[i].name = (char *)ns_name[i];
		tu_labels_from_json(&o->ns[i].labels, l);
		cJSON_Delete(l);
	}
	for (unsigned int i = 0; i < NPOL; i++) {
		cJSON *j = cJSON_Parse(churn_policies[i].json);
		char err[256] = "";

		o->pol[i] = j ? dec[churn_policies[i].kind](j, err, sizeof(err)) :
				NULL;
		cJSON_Delete(j);
		TU_CHECK(o->pol[i], "policy %u: %s", i, err);
		ok = ok && o->pol[i];
	}
	return ok;
}

static struct acl_world *world(const struct objs *o, const struct slot *s,
			       bool pods)
{
	struct acl_world *w = acl_world_create();

	for (unsigned int i = 0; i < NS; i++)
		acl_world_add_namespace(w, &o->ns[i]);
	for (unsigned int i = 0; i < NPOL; i++)
		acl_world_add_policy(w, o->pol[i]);
	for (unsigned int i = 0; pods && i < SLOTS; i++)
		if (s[i].on)
			acl_world_add_pod(w, &s[i].p);
	return w;
}

/* Change a random non-endpoint Pod: before and after into @p ch. */
static void change(struct slot *s, struct snap *bs, struct snap *as,
		   struct acl_pod_change *ch)
{
	unsigned int i = EPS + (unsigned int)rand() % (SLOTS - EPS);
	struct slot *sl = &s[i];
	int op = rand() % 20;

	ch->old = take(bs, sl);
	if (!sl->on) {
		pod_on(sl, i);
	} else if (op < 9) {
		random_labels(&sl->p.labels);
	} else if (op < 13) {
		random_ip(&sl->p);
	} else if (op < 17) {
		random_ports(sl);
	} else {
		pod_off(sl);
	}
	ch->cur = take(as, sl);
}

static void snap_free(struct snap *s, const struct ctl_pod *p)
{
	if (p)
		ctl_labels_clear(&s->p.labels);
}

static int run(unsigned int seed, unsigned int steps, unsigned int *updates)
{
	struct slot s[SLOTS];
	struct objs o;
	char err[256];
	int bad = 0;

	srand(seed);
	memset(s, 0, sizeof(s));
	if (!objs_init(&o))
		return 1;
	endpoints(s);
	for (unsigned int i = EPS; i < SLOTS; i++)
		if (rand() % 3)
			pod_on(&s[i], i);
	const struct ctl_pod *eps[EPS];
	for (unsigned int i = 0; i < EPS; i++)
		eps[i] = &s[i].p;
	struct acl_world *nopods = world(&o, s, false);
	struct acl_world *w = world(&o, s, true);
	struct acl_set *cur = acl_set_build(w, eps, EPS, 1, 1, false, err,
					    sizeof(err));
	acl_world_free(w);
	TU_CHECK(cur, "seed %u: build: %s", seed, err);
	for (unsigned int st = 0; cur && st < steps && !bad; st++) {
		struct snap bs[MAX_CH], as[MAX_CH];
		struct acl_pod_change ch[MAX_CH];
		unsigned int n = 1 + (unsigned int)rand() % MAX_CH;
		bool matters = false;

		for (unsigned int k = 0; k < n; k++) {
			change(s, &bs[k], &as[k], &ch[k]);
			matters = matters ||
				  acl_set_pod_matters(cur, nopods, ch[k].old,
						      ch[k].cur);
		}
		w = world(&o, s, true);
		struct acl_set *full = acl_set_build(w, eps, EPS, 1, st + 2,
						     false, err, sizeof(err));
		TU_CHECK(full, "seed %u step %u: build: %s", seed, st, err);
		if (!matters) {
			if (full && !tu_set_same(cur, full)) {
				bad++;
				TU_CHECK(false, "seed %u step %u: %u change(s) "
					 "did not matter, but a build differs",
					 seed, st, n);
			}
		} else {
			struct acl_set *upd = acl_set_update(
				cur, nopods, eps, EPS, 1, st + 2, false, ch, n,
				err, sizeof(err));
			if (!upd) {
				bad++;
				TU_CHECK(false, "seed %u step %u: update: %s",
					 seed, st, err);
			} else if (full && !tu_set_same(upd, full)) {
				bad++;
				TU_CHECK(false, "seed %u step %u: %u change(s): "
					 "the update differs from a build",
					 seed, st, n);
			}
			if (upd) {
				acl_set_free(cur);
				cur = upd;
				(*updates)++;
			}
		}
		acl_set_free(full);
		acl_world_free(w);
		for (unsigned int k = 0; k < n; k++) {
			snap_free(&bs[k], ch[k].old);
			snap_free(&as[k], ch[k].cur);
		}
	}
	acl_set_free(cur);
	acl_world_free(nopods);
	for (unsigned int i = 0; i < SLOTS; i++)
		if (s[i].on)
			pod_off(&s[i]);
	for (unsigned int i = 0; i < NS; i++)
		ctl_labels_clear(&o.ns[i].labels);
	for (unsigned int i = 0; i < NPOL; i++)
		acl_policy_free(o.pol[i]);
	return bad;
}

int main(void)
{
	unsigned int updates = 0;

	for (unsigned int seed = 1; seed <= 12; seed++)
		if (run(seed, 1500, &updates))
			break;
	/* Most steps change something a set resolved. */
	TU_CHECK(updates > 5000, "updates exercised: %u", updates);
	if (tu_failures)
		fprintf(stderr, "%d failure(s)\n", tu_failures);
	else
		printf("pod churn: all checks passed (%u updates)\n", updates);
	return tu_failures ? 1 : 0;
}
