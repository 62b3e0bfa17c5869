/* SPDX-License-Identifier: BSD-3-Clause */
/* Store semantics with a test decoder: upsert, replace, reject, delete, resync. */
#include <errno.h>
#include <stdint.h>

#include "control/store.h"
#include "k8s/decode.h"
#include "k8s/jsonkeys.h"
#include "tests/unit/ctl_check.h"

static int n_decodes, n_frees;

struct tdec {
	int v;
};

/* Accepts {spec:{v:<n>}}, rejects a missing v. */
static void *tdecode(const cJSON *obj, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "spec"), "v");
	struct tdec *d;

	n_decodes++;
	if (!cJSON_IsNumber(v)) {
		snprintf(err, errlen, "spec.v missing");
		return NULL;
	}
	d = malloc(sizeof(*d));
	d->v = v->valueint;
	return d;
}

static void tfree(void *p)
{
	n_frees++;
	free(p);
}

static int get_v(const struct ctl_store *st, const char *ns, const char *name)
{
	const struct tdec *d = ctl_store_get(st, CTL_RES_IPPOOL, ns, name);

	return d ? d->v : -1;
}

static int sum_visit(void *arg, const void *dec, const cJSON *raw)
{
	*(int *)arg += ((const struct tdec *)dec)->v;
	return 0;
}

static int stop_visit(void *arg, const void *dec, const cJSON *raw)
{
	return 42;
}

static void test_upsert_replace_reject(void)
{
	struct ctl_store *st = ctl_store_create();
	cJSON *a1 = tj("{'metadata':{'name':'a','resourceVersion':'1'},'spec':{'v':1}}");
	cJSON *a1rv = tj("{'metadata':{'name':'a','resourceVersion':'2'},'spec':{'v':1}}");
	cJSON *a2 = tj("{'metadata':{'name':'a','resourceVersion':'3'},'spec':{'v':2}}");
	cJSON *abad = tj("{'metadata':{'name':'a','resourceVersion':'4'},'spec':{}}");
	cJSON *noname = tj("{'metadata':{},'spec':{'v':1}}");
	/* v given twice: cJSON would read the first (3) without a word */
	cJSON *adup = tj("{'metadata':{'name':'a'},'spec':{'v':3,'v':4}}");
	uint64_t g;

	ctl_store_set_decoder(st, CTL_RES_IPPOOL, tdecode, tfree);
	CHECK_EQ(ctl_store_generation(st), 0);
	CHECK_EQ(ctl_store_upsert(st, CTL_RES_IPPOOL, noname), -EINVAL);
	CHECK_EQ(ctl_store_generation(st), 0);

	CHECK_EQ(ctl_store_upsert(st, CTL_RES_IPPOOL, a1), 0);
	g = ctl_store_generation(st);
	CHECK_EQ(g, 1);
	CHECK_EQ(ctl_store_count(st, CTL_RES_IPPOOL), 1);
	CHECK_EQ(get_v(st, NULL, "a"), 1);
	CHECK_EQ(get_v(st, "", "a"), 1);
	CHECK(cJSON_Compare(ctl_store_get_raw(st, CTL_RES_IPPOOL, NULL, "a"), a1, 1));
	/* the store keeps its own copy */
	CHECK(ctl_store_get_raw(st, CTL_RES_IPPOOL, NULL, "a") != a1);

	/* identical, and identical but for resourceVersion: no new generation */
	n_decodes = 0;
	CHECK_EQ(ctl_store_upsert(st, CTL_RES_IPPOOL, a1), 0);
	CHECK_EQ(ctl_store_upsert(st, CTL_RES_IPPOOL, a1rv), 0);
	CHECK_EQ(ctl_store_generation(st), g);
	CHECK_EQ(n_decodes, 0);

	/* a real change replaces and bumps */
	CHECK_EQ(ctl_store_upsert(st, CTL_RES_IPPOOL, a2), 0);
	CHECK_EQ(ctl_store_generation(st), g + 1);
	CHECK_EQ(get_v(st, NULL, "a"), 2);
	CHECK_EQ(ctl_store_count(st, CTL_RES_IPPOOL), 1);

	/* a rejected version leaves the old one in force */
	CHECK_EQ(ctl_store_upsert(st, CTL_RES_IPPOOL, abad), -EINVAL);
	CHECK_EQ(ctl_store_generation(st), g + 1);
	CHECK_EQ(get_v(st, NULL, "a"), 2);
	CHECK(cJSON_Compare(ctl_store_get_raw(st, CTL_RES_IPPOOL, NULL, "a"), a2, 1));
	n_decodes = 0;
	CHECK_EQ(ctl_store_upsert(st, CTL_RES_IPPOOL, adup), -EINVAL);
	CHECK_EQ(n_decodes, 0);
	CHECK_EQ(ctl_store_generation(st), g + 1);
	CHECK_EQ(get_v(st, NULL, "a"), 2);
	/* U+0000 in a string: cJSON alone would read "x" (k8s/jsonkeys.h) */
	static const char anul_text[] =
		"{\"metadata\":{\"name\":\"a\",\"labels\":{\"l\":"
		"\"x\\u0000y\"}},\"spec\":{\"v\":5}}";
	cJSON *anul = k8s_json_parse(anul_text, sizeof(anul_text) - 1, NULL);
	CHECK(anul != NULL);
	CHECK_EQ(ctl_store_upsert(st, CTL_RES_IPPOOL, anul), -EINVAL);
	CHECK_EQ(n_decodes, 0);
	CHECK_EQ(ctl_store_generation(st), g + 1);
	CHECK_EQ(get_v(st, NULL, "a"), 2);
	cJSON_Delete(anul);

	/* delete */
	CHECK_EQ(ctl_store_delete(st, CTL_RES_IPPOOL, NULL, "a"), 0);
	CHECK_EQ(ctl_store_generation(st), g + 2);
	CHECK_EQ(ctl_store_delete(st, CTL_RES_IPPOOL, NULL, "a"), -ENOENT);
	CHECK(ctl_store_get(st, CTL_RES_IPPOOL, NULL, "a") == NULL);
	CHECK_EQ(ctl_store_count(st, CTL_RES_IPPOOL), 0);

	cJSON_Delete(a1);
	cJSON_Delete(a1rv);
	cJSON_Delete(a2);
	cJSON_Delete(abad);
	cJSON_Delete(noname);
	cJSON_Delete(adup);
	n_frees = 0;
	ctl_store_free(st);
	/* nothing was left but the journal's old versions (replaced, deleted) */
	CHECK_EQ(n_frees, 2);
	ctl_store_free(NULL);
}

static void test_namespaces_and_raw(void)
{
	struct ctl_store *st = ctl_store_create();
	cJSON *x1 = tj("{'metadata':{'name':'x','namespace':'n1'},'spec':{'v':1}}");
	cJSON *x2 = tj("{'metadata':{'name':'x','namespace':'n2'},'spec':{'v':2}}");
	const cJSON *raw;
	int sum = 0;

	ctl_store_set_decoder(st, CTL_RES_IPPOOL, tdecode, tfree);
	CHECK_EQ(ctl_store_upsert(st, CTL_RES_IPPOOL, x1), 0);
	CHECK_EQ(ctl_store_upsert(st, CTL_RES_IPPOOL, x2), 0);
	CHECK_EQ(ctl_store_count(st, CTL_RES_IPPOOL), 2);
	CHECK_EQ(get_v(st, "n1", "x"), 1);
	CHECK_EQ(get_v(st, "n2", "x"), 2);
	CHECK(ctl_store_get(st, CTL_RES_IPPOOL, NULL, "x") == NULL);
	CHECK_EQ(ctl_store_foreach(st, CTL_RES_IPPOOL, sum_visit, &sum), 0);
	CHECK_EQ(sum, 3);
	CHECK_EQ(ctl_store_foreach(st, CTL_RES_IPPOOL, stop_visit, NULL), 42);

	/* a kind without decoder is kept raw, and get returns the raw object */
	CHECK_EQ(ctl_store_upsert(st, CTL_RES_TIER, x1), 0);
	raw = ctl_store_get(st, CTL_RES_TIER, "n1", "x");
	CHECK(raw != NULL && raw == ctl_store_get_raw(st, CTL_RES_TIER, "n1", "x"));
	CHECK_EQ(ctl_store_count(st, CTL_RES_TIER), 1);
	CHECK_EQ(ctl_store_count(st, CTL_RES_IPPOOL), 2);

	n_frees = 0;
	ctl_store_free(st);
	CHECK_EQ(n_frees, 2);
	cJSON_Delete(x1);
	cJSON_Delete(x2);
}

static void test_resync(void)
{
	struct ctl_store *st = ctl_store_create();
	cJSON *a = tj("{'metadata':{'name':'a'},'spec':{'v':1}}");
	cJSON *b = tj("{'metadata':{'name':'b'},'spec':{'v':2}}");
	cJSON *bbad = tj("{'metadata':{'name':'b'},'spec':{'v':'x'}}");
	cJSON *c = tj("{'metadata':{'name':'c'},'spec':{'v':3}}");
	cJSON *other = tj("{'metadata':{'name':'o'}}");
	uint64_t g;

	ctl_store_set_decoder(st, CTL_RES_IPPOOL, tdecode, tfree);
	ctl_store_upsert(st, CTL_RES_IPPOOL, a);
	ctl_store_upsert(st, CTL_RES_IPPOOL, b);
	ctl_store_upsert(st, CTL_RES_IPPOOL, c);
	ctl_store_upsert(st, CTL_RES_TIER, other);
	g = ctl_store_generation(st);

	/* relist: a unchanged, b now bad (old b must stay), c gone */
	ctl_store_resync_begin(st, CTL_RES_IPPOOL);
	CHECK_EQ(ctl_store_upsert(st, CTL_RES_IPPOOL, a), 0);
	CHECK_EQ(ctl_store_upsert(st, CTL_RES_IPPOOL, bbad), -EINVAL);
	CHECK_EQ(ctl_store_generation(st), g);
	ctl_store_resync_end(st, CTL_RES_IPPOOL);
	CHECK_EQ(ctl_store_generation(st), g + 1);
	CHECK_EQ(ctl_store_count(st, CTL_RES_IPPOOL), 2);
	CHECK_EQ(get_v(st, NULL, "a"), 1);
	CHECK_EQ(get_v(st, NULL, "b"), 2);
	CHECK_EQ(get_v(st, NULL, "c"), -1);
	/* other kinds are untouched */
	CHECK_EQ(ctl_store_count(st, CTL_RES_TIER), 1);

	/* an empty relist removes everything of that kind */
	ctl_store_resync_begin(st, CTL_RES_IPPOOL);
	ctl_store_resync_end(st, CTL_RES_IPPOOL);
	CHECK_EQ(ctl_store_count(st, CTL_RES_IPPOOL), 0);
	CHECK_EQ(ctl_store_generation(st), g + 3);

	ctl_store_free(st);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(bbad);
	cJSON_Delete(c);
	cJSON_Delete(other);
}

static void test_model_helpers(void)
{
	char *keys[] = {"a", "app", "zone"}, *vals[] = {"1", "web", "eu"};
	struct ctl_labels l = {3, keys, vals};

	CHECK_STR(ctl_res_name(CTL_RES_IPAMBLOCK), "ipamblocks");
	CHECK_STR(ctl_res_name(CTL_RES_K8S_NETPOL), "networkpolicies.networking.k8s.io");
	CHECK_STR(ctl_res_name(CTL_RES_MAX), "unknown");
	CHECK_STR(ctl_labels_get(&l, "app"), "web");
	CHECK_STR(ctl_labels_get(&l, "a"), "1");
	CHECK_STR(ctl_labels_get(&l, "zone"), "eu");
	CHECK(ctl_labels_get(&l, "b") == NULL);
	l.n = 0;
	CHECK(ctl_labels_get(&l, "a") == NULL);
	ctl_labels_clear(NULL);
	ctl_node_free(NULL);
	ctl_pod_free(NULL);
	ctl_block_free(NULL);
}

static int count_visit(void *arg, const void *dec, const cJSON *raw)
{
	(*(int *)arg)++;
	return 0;
}

static int on_node(const struct ctl_store *st, const char *node)
{
	int n = 0;

	CHECK_EQ(ctl_store_foreach_pod_on_node(st, node, count_visit, &n), 0);
	return n;
}

static cJSON *pod_json(const char *name, const char *node, int rv)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "{'metadata':{'name':'%s','namespace':'x',"
		 "'resourceVersion':'%d'},'spec':{'nodeName':'%s'},"
		 "'status':{'phase':'Running'}}", name, rv, node);
	return tj(buf);
}

/* The per-node pod index follows upserts (moves), deletes and relists;
 * per-kind generations move only with their kind. */
static void test_pods_by_node(void)
{
	struct ctl_store *st = ctl_store_create();
	cJSON *a = pod_json("a", "n1", 1), *b = pod_json("b", "n1", 1);
	cJSON *c = pod_json("c", "n2", 1), *amv = pod_json("a", "n2", 2);
	cJSON *pool = tj("{'metadata':{'name':'p'},'spec':{'v':1}}");
	uint64_t gp, gi;

	k8s_decode_register(st);
	ctl_store_upsert(st, CTL_RES_POD, a);
	ctl_store_upsert(st, CTL_RES_POD, b);
	ctl_store_upsert(st, CTL_RES_POD, c);
	CHECK_EQ(on_node(st, "n1"), 2);
	CHECK_EQ(on_node(st, "n2"), 1);
	CHECK_EQ(on_node(st, "n3"), 0);
	CHECK_EQ(on_node(st, NULL), 0);
	gp = ctl_store_kind_generation(st, CTL_RES_POD);
	gi = ctl_store_kind_generation(st, CTL_RES_IPPOOL);
	CHECK_EQ(gp, 3);

	ctl_store_upsert(st, CTL_RES_POD, amv); /* a moves to n2 */
	CHECK_EQ(on_node(st, "n1"), 1);
	CHECK_EQ(on_node(st, "n2"), 2);
	ctl_store_upsert(st, CTL_RES_POD, amv); /* unchanged: no new gen */
	CHECK_EQ(ctl_store_kind_generation(st, CTL_RES_POD), gp + 1);

	ctl_store_set_decoder(st, CTL_RES_IPPOOL, tdecode, tfree);
	ctl_store_upsert(st, CTL_RES_IPPOOL, pool);
	CHECK_EQ(ctl_store_kind_generation(st, CTL_RES_POD), gp + 1);
	CHECK_EQ(ctl_store_kind_generation(st, CTL_RES_IPPOOL), gi + 1);

	CHECK_EQ(ctl_store_delete(st, CTL_RES_POD, "x", "b"), 0);
	CHECK_EQ(on_node(st, "n1"), 0);
	ctl_store_resync_begin(st, CTL_RES_POD);
	ctl_store_upsert(st, CTL_RES_POD, c);
	ctl_store_resync_end(st, CTL_RES_POD); /* a goes */
	CHECK_EQ(on_node(st, "n2"), 1);
	CHECK_EQ(ctl_store_kind_generation(st, CTL_RES_POD), gp + 3);

	ctl_store_free(st);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
	cJSON_Delete(amv);
	cJSON_Delete(pool);
}

/* Redelivery marks seen only the very object last delivered. */
static void test_redeliver(void)
{
	struct ctl_store *st = ctl_store_create();
	cJSON *a = tj("{'metadata':{'name':'a'},'spec':{'v':1}}");
	cJSON *a_copy = tj("{'metadata':{'name':'a'},'spec':{'v':1}}");
	cJSON *a2 = tj("{'metadata':{'name':'a'},'spec':{'v':2}}");
	cJSON *b = tj("{'metadata':{'name':'b'},'spec':{'v':3}}");

	ctl_store_set_decoder(st, CTL_RES_IPPOOL, tdecode, tfree);
	CHECK_EQ(ctl_store_upsert(st, CTL_RES_IPPOOL, a), 0);
	CHECK_EQ(ctl_store_upsert(st, CTL_RES_IPPOOL, b), 0);
	CHECK(!ctl_store_redeliver(st, CTL_RES_IPPOOL, a_copy));
	CHECK(!ctl_store_redeliver(st, CTL_RES_TIER, a));
	/* a relist: a redelivered, b not: b goes, a stays */
	ctl_store_resync_begin(st, CTL_RES_IPPOOL);
	CHECK(ctl_store_redeliver(st, CTL_RES_IPPOOL, a));
	ctl_store_resync_end(st, CTL_RES_IPPOOL);
	CHECK_EQ(get_v(st, NULL, "a"), 1);
	CHECK_EQ(get_v(st, NULL, "b"), -1);
	/* an unchanged upsert from another object moves the source */
	CHECK_EQ(ctl_store_upsert(st, CTL_RES_IPPOOL, a_copy), 0);
	CHECK(!ctl_store_redeliver(st, CTL_RES_IPPOOL, a));
	CHECK(ctl_store_redeliver(st, CTL_RES_IPPOOL, a_copy));
	CHECK_EQ(ctl_store_upsert(st, CTL_RES_IPPOOL, a2), 0);
	CHECK(!ctl_store_redeliver(st, CTL_RES_IPPOOL, a_copy));
	CHECK_EQ(get_v(st, NULL, "a"), 2);
	ctl_store_free(st);
	cJSON_Delete(a);
	cJSON_Delete(a_copy);
	cJSON_Delete(a2);
	cJSON_Delete(b);
}

struct seen {
	int n, old_v[8], cur_v[8];
	const struct ctl_store *st;
};

static int change_visit(void *arg, const char *ns, const char *name,
			const void *old)
{
	struct seen *s = arg;
	const struct tdec *cur = ctl_store_get(s->st, CTL_RES_IPPOOL, ns, name);

	if (s->n < 8) {
		s->old_v[s->n] = old ? ((const struct tdec *)old)->v : -1;
		s->cur_v[s->n] = cur ? cur->v : -1;
	}
	s->n++;
	return 0;
}

static int chg_count(void *arg, const char *ns, const char *name,
		       const void *old)
{
	(*(int *)arg)++;
	return 0;
}

static int chg_stop(void *arg, const char *ns, const char *name,
		    const void *old)
{
	return 42;
}

static void test_journal(void)
{
	struct ctl_store *st = ctl_store_create();
	cJSON *a1 = tj("{'metadata':{'name':'a'},'spec':{'v':1}}");
	cJSON *a2 = tj("{'metadata':{'name':'a'},'spec':{'v':2}}");
	cJSON *b1 = tj("{'metadata':{'name':'b'},'spec':{'v':7}}");
	struct seen s = {.st = st};
	uint64_t g0, g1, g2;
	int n = 0;

	ctl_store_set_decoder(st, CTL_RES_IPPOOL, tdecode, tfree);
	g0 = ctl_store_kind_generation(st, CTL_RES_IPPOOL);
	CHECK_EQ(ctl_store_changes(st, CTL_RES_IPPOOL, g0, change_visit, &s), 0);
	CHECK_EQ(s.n, 0);
	CHECK_EQ(ctl_store_upsert(st, CTL_RES_IPPOOL, a1), 0);
	g1 = ctl_store_kind_generation(st, CTL_RES_IPPOOL);
	CHECK_EQ(ctl_store_upsert(st, CTL_RES_IPPOOL, a2), 0);
	g2 = ctl_store_kind_generation(st, CTL_RES_IPPOOL);
	CHECK_EQ(ctl_store_delete(st, CTL_RES_IPPOOL, NULL, "a"), 0);
	CHECK_EQ(ctl_store_upsert(st, CTL_RES_IPPOOL, b1), 0);

	/* add (no old version), replace (old kept alive), delete */
	CHECK_EQ(ctl_store_changes(st, CTL_RES_IPPOOL, g0, change_visit, &s), 0);
	CHECK_EQ(s.n, 4);
	CHECK_EQ(s.old_v[0], -1);
	CHECK_EQ(s.old_v[1], 1);
	CHECK_EQ(s.old_v[2], 2);
	CHECK_EQ(s.cur_v[2], -1);
	CHECK_EQ(s.old_v[3], -1);
	CHECK_EQ(s.cur_v[3], 7);
	/* only the changes after the given generation */
	s.n = 0;
	CHECK_EQ(ctl_store_changes(st, CTL_RES_IPPOOL, g1, change_visit, &s), 0);
	CHECK_EQ(s.n, 3);
	s.n = 0;
	CHECK_EQ(ctl_store_changes(st, CTL_RES_IPPOOL, g2, change_visit, &s), 0);
	CHECK_EQ(s.n, 2);
	CHECK_EQ(s.old_v[0], 2);
	/* per kind; a visitor's non-zero return stops the walk */
	CHECK_EQ(ctl_store_changes(st, CTL_RES_NODE, 0, chg_count, &n), 0);
	CHECK_EQ(n, 0);
	CHECK_EQ(ctl_store_changes(st, CTL_RES_IPPOOL, g0, chg_stop, NULL), 42);

	/* a kind kept raw: an add is known, a replaced version is not */
	CHECK_EQ(ctl_store_upsert(st, CTL_RES_TIER, a1), 0);
	CHECK_EQ(ctl_store_changes(st, CTL_RES_TIER, 0, chg_count, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(ctl_store_upsert(st, CTL_RES_TIER, a2), 0);
	CHECK_EQ(ctl_store_changes(st, CTL_RES_TIER, 0, chg_count, &n),
		 -ERANGE);

	/* forgotten changes: the caller must look at everything */
	uint64_t g3 = ctl_store_kind_generation(st, CTL_RES_IPPOOL);
	for (int i = 0; i < CTL_STORE_JOURNAL; i++) {
		char js[128];
		snprintf(js, sizeof(js),
			 "{\"metadata\":{\"name\":\"p%d\"},\"spec\":{\"v\":%d}}",
			 i, i);
		cJSON *o = cJSON_Parse(js);
		CHECK_EQ(ctl_store_upsert(st, CTL_RES_IPPOOL, o), 0);
		cJSON_Delete(o);
	}
	n = 0;
	CHECK_EQ(ctl_store_changes(st, CTL_RES_IPPOOL, g3, chg_count, &n), 0);
	CHECK_EQ(n, CTL_STORE_JOURNAL);
	CHECK_EQ(ctl_store_changes(st, CTL_RES_IPPOOL, g0, chg_count, &n),
		 -ERANGE);

	/* a resync deletes through the journal too */
	uint64_t g4 = ctl_store_kind_generation(st, CTL_RES_IPPOOL);
	ctl_store_resync_begin(st, CTL_RES_IPPOOL);
	CHECK_EQ(ctl_store_upsert(st, CTL_RES_IPPOOL, b1), 0);
	ctl_store_resync_end(st, CTL_RES_IPPOOL);
	s.n = 0;
	CHECK_EQ(ctl_store_changes(st, CTL_RES_IPPOOL, g4, change_visit, &s), 0);
	CHECK_EQ(s.n, CTL_STORE_JOURNAL);
	CHECK_EQ(s.cur_v[0], -1);

	ctl_store_free(st);
	cJSON_Delete(a1);
	cJSON_Delete(a2);
	cJSON_Delete(b1);
}

/* Handing objects over: stored as they are, or freed (ASan: no leak). */
static void test_upsert_take(void)
{
	struct ctl_store *st = ctl_store_create();
	cJSON *a1 = tj("{'metadata':{'name':'a'},'spec':{'v':1}}");
	uint64_t g;

	ctl_store_set_decoder(st, CTL_RES_IPPOOL, tdecode, tfree);
	CHECK_EQ(ctl_store_upsert_take(st, CTL_RES_IPPOOL, a1), 0);
	CHECK(ctl_store_get_raw(st, CTL_RES_IPPOOL, NULL, "a") == a1);
	CHECK_EQ(get_v(st, NULL, "a"), 1);
	g = ctl_store_generation(st);
	/* unchanged: freed, nothing new */
	CHECK_EQ(ctl_store_upsert_take(st, CTL_RES_IPPOOL,
		 tj("{'metadata':{'name':'a'},'spec':{'v':1}}")), 0);
	CHECK_EQ(ctl_store_generation(st), g);
	CHECK(ctl_store_get_raw(st, CTL_RES_IPPOOL, NULL, "a") == a1);
	/* rejected: freed, the old version stays */
	CHECK_EQ(ctl_store_upsert_take(st, CTL_RES_IPPOOL,
		 tj("{'metadata':{'name':'a'},'spec':{}}")), -EINVAL);
	CHECK_EQ(get_v(st, NULL, "a"), 1);
	CHECK_EQ(ctl_store_upsert_take(st, CTL_RES_IPPOOL,
		 tj("{'metadata':{'name':'a'},'spec':{'v':3}}")), 0);
	CHECK_EQ(get_v(st, NULL, "a"), 3);
	CHECK_EQ(ctl_store_generation(st), g + 1);
	/* a taken object is never a redelivery source */
	CHECK(!ctl_store_redeliver(st, CTL_RES_IPPOOL,
		 ctl_store_get_raw(st, CTL_RES_IPPOOL, NULL, "a")));
	ctl_store_free(st);
}

int main(void)
{
	test_journal();
	test_upsert_take();
	test_redeliver();
	test_pods_by_node();
	test_upsert_replace_reject();
	test_namespaces_and_raw();
	test_resync();
	test_model_helpers();
	CHECK_DONE();
}
