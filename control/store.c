/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The desired-state store: one uthash table per resource, keyed by
 * "namespace/name" ("/name" for cluster-scoped kinds).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "control/store.h"
#include "dp/log.h"
#include "k8s/jsonkeys.h"

struct st_obj {
	UT_hash_handle hh;
	char *key;     /* "ns/name" */
	char *ns;      /* "" for cluster-scoped */
	char *name;
	cJSON *raw;
	void *decoded;             /* NULL when the kind had no decoder */
	ctl_decoded_free_fn free_fn; /* the one that matches decoded */
	bool seen;                 /* upserted since resync_begin */
	/* The caller's object this version was last delivered from; only
	 * compared, never dereferenced (ctl_store_redeliver). */
	const void *src;
	/* Pods: membership in their node's list (see by_node). */
	struct st_node *node;
	struct st_obj *node_prev, *node_next;
};

/* The pods scheduled on one node: route computation only needs the local
 * ones, and walking 100k pods per compile was its largest cost. */
struct st_node {
	UT_hash_handle hh;
	char *name;
	struct st_obj *head;
};

/* One remembered change (ctl_store_changes): the old decoded object lives
 * here until the entry is overwritten. */
struct st_change {
	enum ctl_res res;
	uint64_t gen;            /* kind generation after the change */
	char *id;                /* "ns\0name\0" */
	void *old;               /* decoded, or NULL: an add */
	ctl_decoded_free_fn free_fn;
	bool opaque;             /* the old version was not decoded */
};

struct st_decoder {
	ctl_decode_fn decode;
	ctl_decoded_free_fn free_fn;
};

struct ctl_store {
	struct st_obj *tab[CTL_RES_MAX];
	struct st_decoder dec[CTL_RES_MAX];
	uint64_t generation;
	uint64_t kind_gen[CTL_RES_MAX]; /* per kind, for reuse decisions */
	bool index_broken;              /* out of memory once: scan instead */
	struct st_node *by_node;        /* decoded pods by spec.nodeName */
	struct st_change journal[CTL_STORE_JOURNAL]; /* ring */
	size_t j_next;                  /* next slot to write */
	uint64_t j_lost[CTL_RES_MAX];   /* per kind: newest dropped gen */
	bool j_broken;                  /* out of memory once: forget all */
};

struct ctl_store *ctl_store_create(void)
{
	struct ctl_store *st = calloc(1, sizeof(*st));

	if (st == NULL)
		errno = ENOMEM;
	return st;
}

static void node_index_add(struct ctl_store *st, enum ctl_res res,
			   struct st_obj *o)
{
	const struct ctl_pod *pod = o->decoded;
	struct st_node *n;

	if (res != CTL_RES_POD || pod == NULL || pod->node == NULL)
		return;
	HASH_FIND_STR(st->by_node, pod->node, n);
	if (n == NULL) {
		n = calloc(1, sizeof(*n));
		if (n == NULL || (n->name = strdup(pod->node)) == NULL) {
			free(n);
			/* the index is only a shortcut: fall back to scans */
			st->index_broken = true;
			return;
		}
		HASH_ADD_KEYPTR(hh, st->by_node, n->name, strlen(n->name), n);
	}
	o->node = n;
	o->node_next = n->head;
	if (n->head)
		n->head->node_prev = o;
	n->head = o;
}

static void node_index_del(struct ctl_store *st, struct st_obj *o)
{
	struct st_node *n = o->node;

	if (n == NULL)
		return;
	if (o->node_prev)
		o->node_prev->node_next = o->node_next;
	else
		n->head = o->node_next;
	if (o->node_next)
		o->node_next->node_prev = o->node_prev;
	o->node = NULL;
	if (n->head == NULL) {
		HASH_DEL(st->by_node, n);
		free(n->name);
		free(n);
	}
}

static void change_clear(struct st_change *c)
{
	if (c->old != NULL && c->free_fn != NULL)
		c->free_fn(c->old);
	free(c->id);
	memset(c, 0, sizeof(*c));
}

/*
 * Remember a change of @p res and keep its old version @p old (NULL: an
 * add), if any, alive: takes the decoded object out of @p old. Call after
 * the kind generation was bumped.
 */
static void journal_add(struct ctl_store *st, enum ctl_res res,
			const char *ns, const char *name, struct st_obj *old)
{
	struct st_change *c = &st->journal[st->j_next];
	size_t ln = strlen(ns), lm = strlen(name);

	if (c->id != NULL && c->gen > st->j_lost[c->res])
		st->j_lost[c->res] = c->gen;
	change_clear(c);
	st->j_next = (st->j_next + 1) % CTL_STORE_JOURNAL;
	c->res = res;
	c->gen = st->kind_gen[res];
	c->id = malloc(ln + lm + 2);
	if (c->id == NULL) {
		/* later walks must not miss this change */
		st->j_broken = true;
		return;
	}
	memcpy(c->id, ns, ln + 1);
	memcpy(c->id + ln + 1, name, lm + 1);
	if (old != NULL) {
		c->opaque = old->decoded == NULL;
		c->old = old->decoded;
		c->free_fn = old->free_fn;
		old->decoded = NULL;
	}
}

int ctl_store_changes(const struct ctl_store *st, enum ctl_res res,
		      uint64_t since, ctl_store_change_fn fn, void *arg)
{
	if ((unsigned)res >= CTL_RES_MAX || st->j_broken ||
	    st->j_lost[res] > since)
		return -ERANGE;
	for (size_t k = 0; k < CTL_STORE_JOURNAL; k++) {
		const struct st_change *c =
			&st->journal[(st->j_next + k) % CTL_STORE_JOURNAL];
		int rc;

		if (c->id == NULL || c->res != res || c->gen <= since)
			continue;
		if (c->opaque)
			return -ERANGE;
		rc = fn(arg, c->id, c->id + strlen(c->id) + 1, c->old);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static void obj_free(struct st_obj *o)
{
	if (o->decoded != NULL && o->free_fn != NULL)
		o->free_fn(o->decoded);
	cJSON_Delete(o->raw);
	free(o->key);
	free(o->ns);
	free(o->name);
	free(o);
}

void ctl_store_free(struct ctl_store *st)
{
	if (st == NULL)
		return;
	for (int r = 0; r < CTL_RES_MAX; r++) {
		struct st_obj *o, *tmp;

		HASH_ITER(hh, st->tab[r], o, tmp) {
			node_index_del(st, o);
			HASH_DEL(st->tab[r], o);
			obj_free(o);
		}
	}
	for (size_t i = 0; i < CTL_STORE_JOURNAL; i++)
		change_clear(&st->journal[i]);
	free(st);
}

static char *make_key(const char *ns, const char *name)
{
	size_t ln = ns ? strlen(ns) : 0, lm = strlen(name);
	char *k = malloc(ln + lm + 2);

	if (k == NULL)
		return NULL;
	if (ln)
		memcpy(k, ns, ln);
	k[ln] = '/';
	memcpy(k + ln + 1, name, lm + 1);
	return k;
}

static struct st_obj *find(const struct ctl_store *st, enum ctl_res res,
			   const char *ns, const char *name)
{
	struct st_obj *o = NULL;
	char buf[256], *key = buf;
	size_t ln = ns ? strlen(ns) : 0, lm;

	if ((unsigned)res >= CTL_RES_MAX || name == NULL)
		return NULL;
	/* Lookups are hot (route computation does one per block): no
	 * allocation unless the key is long. */
	lm = strlen(name);
	if (ln + lm + 2 > sizeof(buf))
		key = make_key(ns, name);
	else {
		if (ln)
			memcpy(buf, ns, ln);
		buf[ln] = '/';
		memcpy(buf + ln + 1, name, lm + 1);
	}
	if (key == NULL)
		return NULL;
	HASH_FIND_STR(st->tab[res], key, o);
	if (key != buf)
		free(key);
	return o;
}

/*
 * Same content, ignoring metadata.resourceVersion: a datastore re-delivering
 * an object whose only change is its version (a relist, a no-op update)
 * must not cause a recompile.
 */
static bool same_metadata(const cJSON *a, const cJSON *b)
{
	const cJSON *x;
	int na = 0, nb = 0;

	if (!cJSON_IsObject(a) || !cJSON_IsObject(b))
		return cJSON_Compare(a, b, true);
	cJSON_ArrayForEach(x, a) {
		if (strcmp(x->string, "resourceVersion") == 0)
			continue;
		na++;
		if (!cJSON_Compare(x, cJSON_GetObjectItemCaseSensitive(b, x->string), true))
			return false;
	}
	cJSON_ArrayForEach(x, b) {
		if (strcmp(x->string, "resourceVersion") != 0)
			nb++;
	}
	return na == nb;
}

static bool same_content(const cJSON *a, const cJSON *b)
{
	const cJSON *x;

	if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
		return false;
	cJSON_ArrayForEach(x, a) {
		const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);

		if (y == NULL)
			return false;
		if (strcmp(x->string, "metadata") == 0) {
			if (!same_metadata(x, y))
				return false;
		} else if (!cJSON_Compare(x, y, true)) {
			return false;
		}
	}
	return true;
}

static const char *meta_str(const cJSON *obj, const char *field)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(md, field);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *const res_kinds[CTL_RES_MAX] = {
#define _(sym, plural, kind) [CTL_RES_##sym] = kind,
	foreach_ctl_res(_)
#undef _
};

static int reject(enum ctl_res res, const char *ns, const char *name,
		  const char *why)
{
	KDP_LOG(ERR, "store: rejected %s %s%s%s (%s): %s", res_kinds[res],
		ns && *ns ? ns : "", ns && *ns ? "/" : "", name ? name : "?",
		ctl_res_name(res), why);
	return -EINVAL;
}

/* ctl_store_upsert(); with @p take, @p obj becomes the stored raw object
 * instead of a copy (when it is not stored, the caller frees it). */
static int upsert(struct ctl_store *st, enum ctl_res res, const cJSON *obj,
		  bool take, bool *taken)
{
	const char *ns, *name;
	struct st_obj *old, *o;
	char err[256] = "";
	void *decoded = NULL;
	cJSON *raw;

	if ((unsigned)res >= CTL_RES_MAX)
		return -EINVAL;
	if (!cJSON_IsObject(obj))
		return reject(res, NULL, NULL, "not a JSON object");
	name = meta_str(obj, "name");
	ns = meta_str(obj, "namespace");
	if (ns == NULL)
		ns = "";
	if (name == NULL || *name == '\0')
		return reject(res, ns, NULL, "metadata.name missing");

	old = find(st, res, ns, name);
	if (old != NULL) {
		/* seen even if rejected below: the old version stays in force */
		old->seen = true;
		if (same_content(old->raw, obj)) {
			old->src = take ? NULL : obj;
			return 0;
		}
	}

	/* cJSON takes the first of two equal keys; the API server refuses
	 * them (k8s/jsonkeys.h): so does the store, the old version stays. */
	const char *dup = k8s_json_dup_key(obj);
	if (dup != NULL) {
		snprintf(err, sizeof(err), "key \"%.64s\" given twice", dup);
		return reject(res, ns, name, err);
	}
	/* A string cut at U+0000 would read as another value (k8s/jsonkeys.h). */
	const char *nul = k8s_json_nul_key(obj);
	if (nul != NULL) {
		snprintf(err, sizeof(err),
			 "a string at key \"%.64s\" holds U+0000 (or U+FDD0)",
			 nul);
		return reject(res, ns, name, err);
	}
	if (st->dec[res].decode != NULL) {
		decoded = st->dec[res].decode(obj, err, sizeof(err));
		if (decoded == NULL)
			return reject(res, ns, name, err[0] ? err : "decode failed");
	}
	raw = take ? (cJSON *)(uintptr_t)obj : cJSON_Duplicate(obj, true);
	o = calloc(1, sizeof(*o));
	if (raw == NULL || o == NULL)
		goto out_nomem;
	o->key = make_key(ns, name);
	o->ns = strdup(ns);
	o->name = strdup(name);
	if (o->key == NULL || o->ns == NULL || o->name == NULL)
		goto out_nomem;
	o->raw = raw;
	o->decoded = decoded;
	o->free_fn = st->dec[res].free_fn;
	o->seen = true;
	o->src = take ? NULL : obj; /* a taken object is no caller's */

	if (old != NULL) {
		node_index_del(st, old);
		HASH_DEL(st->tab[res], old);
	}
	HASH_ADD_KEYPTR(hh, st->tab[res], o->key, strlen(o->key), o);
	node_index_add(st, res, o);
	st->generation++;
	st->kind_gen[res]++;
	journal_add(st, res, ns, name, old);
	if (old != NULL)
		obj_free(old);
	*taken = take;
	return 0;

out_nomem:
	if (o != NULL) {
		free(o->key);
		free(o->ns);
		free(o->name);
		free(o);
	}
	if (!take)
		cJSON_Delete(raw);
	if (decoded != NULL && st->dec[res].free_fn != NULL)
		st->dec[res].free_fn(decoded);
	KDP_LOG(ERR, "store: out of memory storing %s %s/%s",
		ctl_res_name(res), ns, name);
	return -ENOMEM;
}

int ctl_store_upsert(struct ctl_store *st, enum ctl_res res, const cJSON *obj)
{
	bool taken = false;

	return upsert(st, res, obj, false, &taken);
}

int ctl_store_upsert_take(struct ctl_store *st, enum ctl_res res, cJSON *obj)
{
	bool taken = false;
	int rc = upsert(st, res, obj, true, &taken);

	if (!taken)
		cJSON_Delete(obj);
	return rc;
}

bool ctl_store_redeliver(struct ctl_store *st, enum ctl_res res,
			 const cJSON *obj)
{
	const char *ns = meta_str(obj, "namespace"), *name = meta_str(obj, "name");
	struct st_obj *o;

	if ((unsigned)res >= CTL_RES_MAX || name == NULL)
		return false;
	o = find(st, res, ns, name);
	if (o == NULL || o->src != obj)
		return false;
	o->seen = true;
	return true;
}

int ctl_store_delete(struct ctl_store *st, enum ctl_res res, const char *ns,
		     const char *name)
{
	struct st_obj *o = find(st, res, ns, name);

	if (o == NULL)
		return -ENOENT;
	node_index_del(st, o);
	HASH_DEL(st->tab[res], o);
	st->generation++;
	st->kind_gen[res]++;
	journal_add(st, res, o->ns, o->name, o);
	obj_free(o);
	return 0;
}

void ctl_store_resync_begin(struct ctl_store *st, enum ctl_res res)
{
	struct st_obj *o, *tmp;

	if ((unsigned)res >= CTL_RES_MAX)
		return;
	HASH_ITER(hh, st->tab[res], o, tmp)
		o->seen = false;
}

void ctl_store_resync_end(struct ctl_store *st, enum ctl_res res)
{
	struct st_obj *o, *tmp;

	if ((unsigned)res >= CTL_RES_MAX)
		return;
	HASH_ITER(hh, st->tab[res], o, tmp) {
		if (o->seen)
			continue;
		node_index_del(st, o);
		HASH_DEL(st->tab[res], o);
		st->generation++;
		st->kind_gen[res]++;
		journal_add(st, res, o->ns, o->name, o);
		obj_free(o);
	}
}

uint64_t ctl_store_generation(const struct ctl_store *st)
{
	return st->generation;
}

uint64_t ctl_store_kind_generation(const struct ctl_store *st,
				   enum ctl_res res)
{
	return (unsigned)res < CTL_RES_MAX ? st->kind_gen[res] : 0;
}

size_t ctl_store_count(const struct ctl_store *st, enum ctl_res res)
{
	if ((unsigned)res >= CTL_RES_MAX)
		return 0;
	return HASH_COUNT(st->tab[res]);
}

/* Objects stored before their kind got a decoder stay raw (see store.h). */
static const void *view(const struct st_obj *o)
{
	return o->decoded != NULL ? o->decoded : o->raw;
}

const void *ctl_store_get(const struct ctl_store *st, enum ctl_res res,
			  const char *ns, const char *name)
{
	const struct st_obj *o = find(st, res, ns, name);

	return o ? view(o) : NULL;
}

const cJSON *ctl_store_get_raw(const struct ctl_store *st, enum ctl_res res,
			       const char *ns, const char *name)
{
	const struct st_obj *o = find(st, res, ns, name);

	return o ? o->raw : NULL;
}

int ctl_store_foreach(const struct ctl_store *st, enum ctl_res res,
		      ctl_store_visit_fn fn, void *arg)
{
	struct st_obj *o, *tmp;

	if ((unsigned)res >= CTL_RES_MAX)
		return 0;
	HASH_ITER(hh, st->tab[res], o, tmp) {
		int rc = fn(arg, view(o), o->raw);

		if (rc != 0)
			return rc;
	}
	return 0;
}

struct node_filter {
	const char *node;
	ctl_store_visit_fn fn;
	void *arg;
};

static int node_filter_visit(void *arg, const void *decoded, const cJSON *raw)
{
	const struct node_filter *f = arg;
	const struct ctl_pod *pod = decoded;

	if (decoded == raw || pod->node == NULL || strcmp(pod->node, f->node))
		return 0;
	return f->fn(f->arg, decoded, raw);
}

int ctl_store_foreach_pod_on_node(const struct ctl_store *st,
				  const char *node, ctl_store_visit_fn fn,
				  void *arg)
{
	struct st_node *n;

	if (node == NULL)
		return 0;
	if (st->index_broken) {
		struct node_filter f = {node, fn, arg};

		return ctl_store_foreach(st, CTL_RES_POD, node_filter_visit, &f);
	}
	HASH_FIND_STR(st->by_node, node, n);
	for (struct st_obj *o = n ? n->head : NULL; o; o = o->node_next) {
		int rc = fn(arg, o->decoded, o->raw);

		if (rc != 0)
			return rc;
	}
	return 0;
}

void ctl_store_set_decoder(struct ctl_store *st, enum ctl_res res,
			   ctl_decode_fn decode, ctl_decoded_free_fn free_fn)
{
	if ((unsigned)res >= CTL_RES_MAX)
		return;
	st->dec[res].decode = decode;
	st->dec[res].free_fn = free_fn;
}
