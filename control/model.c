/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdlib.h>
#include <string.h>

#include "control/model.h"

static const char *const res_names[CTL_RES_MAX] = {
#define _(sym, plural, kind) [CTL_RES_##sym] = plural,
	foreach_ctl_res(_)
#undef _
};

const char *ctl_res_name(enum ctl_res res)
{
	if ((unsigned)res >= CTL_RES_MAX)
		return "unknown";
	return res_names[res];
}

const char *ctl_labels_get(const struct ctl_labels *l, const char *key)
{
	size_t lo = 0, hi = l ? l->n : 0;

	/* keys are sorted: binary search */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key, l->keys[mid]);

		if (c == 0)
			return l->vals[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void ctl_labels_clear(struct ctl_labels *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->keys[i]);
		free(l->vals[i]);
	}
	free(l->keys);
	free(l->vals);
	memset(l, 0, sizeof(*l));
}

void ctl_node_free(struct ctl_node *n)
{
	if (n == NULL)
		return;
	free(n->name);
	ctl_labels_clear(&n->labels);
	free(n);
}

void ctl_pool_free(struct ctl_pool *p)
{
	if (p == NULL)
		return;
	free(p->name);
	free(p);
}

void ctl_block_free(struct ctl_block *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n_allocs; i++) {
		free(b->allocs[i].handle);
		free(b->allocs[i].node);
		free(b->allocs[i].ns);
		free(b->allocs[i].pod);
	}
	free(b->allocs);
	free(b->name);
	free(b->host);
	free(b);
}

void ctl_affinity_free(struct ctl_affinity *a)
{
	if (a == NULL)
		return;
	free(a->name);
	free(a->node);
	free(a);
}

void ctl_pod_free(struct ctl_pod *p)
{
	if (p == NULL)
		return;
	free(p->ns);
	free(p->name);
	free(p->node);
	free(p->sa);
	ctl_labels_clear(&p->labels);
	for (size_t i = 0; i < p->n_ports; i++)
		free(p->ports[i].name);
	free(p->ports);
	free(p->port_kind);
	free(p);
}

void ctl_namespace_free(struct ctl_namespace *n)
{
	if (n == NULL)
		return;
	free(n->name);
	ctl_labels_clear(&n->labels);
	free(n);
}

void ctl_serviceaccount_free(struct ctl_serviceaccount *sa)
{
	if (sa == NULL)
		return;
	free(sa->ns);
	free(sa->name);
	ctl_labels_clear(&sa->labels);
	free(sa);
}
