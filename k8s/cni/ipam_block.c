/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Edits of one IPAMBlock spec (calico-model.md §1.2), with no I/O so that
 * the unit tests can drive them. ipam.c wraps each edit in an optimistic
 * read-modify-PUT loop.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "k8s/cni/cni.h"

int cni_cidr_parse(const char *s, uint32_t *net, unsigned *plen)
{
	char buf[32], *slash, *end;
	struct in_addr a;
	unsigned long n;

	if (s == NULL || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash == NULL)
		return -EINVAL;
	*slash = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	errno = 0;
	n = strtoul(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end != '\0' || n > 32)
		return -EINVAL;
	*net = ntohl(a.s_addr);
	*plen = (unsigned)n;
	if (n < 32 && (*net & ((1u << (32 - n)) - 1u)) != 0)
		return -EINVAL;
	return 0;
}

void cni_ip_str(uint32_t ip, char *out)
{
	struct in_addr a = { .s_addr = htonl(ip) };

	inet_ntop(AF_INET, &a, out, INET_ADDRSTRLEN);
}

void cni_block_name(uint32_t net, unsigned plen, char *out, size_t n)
{
	snprintf(out, n, "%u-%u-%u-%u-%u", net >> 24, (net >> 16) & 0xff,
		 (net >> 8) & 0xff, net & 0xff, plen);
}

void cni_timestamp(char *out, size_t n)
{
	struct timespec ts;
	struct tm tm;
	char day[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(out, n, "%s.%09ld +0000 UTC", day, ts.tv_nsec);
}

cJSON *cni_block_new(uint32_t net, unsigned plen, const char *node,
		     const char *claim_time)
{
	char name[32], ip[INET_ADDRSTRLEN], cidr[40], *aff = NULL;
	cJSON *o = cJSON_CreateObject(), *meta, *spec, *alloc, *unalloc;
	size_t size = (size_t)1 << (32 - plen);

	if (o == NULL)
		return NULL;
	cni_block_name(net, plen, name, sizeof(name));
	cni_ip_str(net, ip);
	snprintf(cidr, sizeof(cidr), "%s/%u", ip, plen);
	if (asprintf(&aff, "host:%s", node) < 0)
		aff = NULL;
	cJSON_AddStringToObject(o, "apiVersion", "crd.projectcalico.org/v1");
	cJSON_AddStringToObject(o, "kind", "IPAMBlock");
	meta = cJSON_AddObjectToObject(o, "metadata");
	spec = cJSON_AddObjectToObject(o, "spec");
	if (aff == NULL || meta == NULL || spec == NULL)
		goto fail;
	cJSON_AddStringToObject(meta, "name", name);
	cJSON_AddStringToObject(spec, "cidr", cidr);
	cJSON_AddStringToObject(spec, "affinity", aff);
	cJSON_AddStringToObject(spec, "affinityClaimTime", claim_time);
	alloc = cJSON_AddArrayToObject(spec, "allocations");
	unalloc = cJSON_AddArrayToObject(spec, "unallocated");
	if (alloc == NULL || unalloc == NULL)
		goto fail;
	for (size_t i = 0; i < size; i++) {
		cJSON_AddItemToArray(alloc, cJSON_CreateNull());
		cJSON_AddItemToArray(unalloc, cJSON_CreateNumber((double)i));
	}
	cJSON_AddArrayToObject(spec, "attributes");
	cJSON_AddBoolToObject(spec, "deleted", false);
	cJSON_AddNumberToObject(spec, "sequenceNumber", 0);
	cJSON_AddObjectToObject(spec, "sequenceNumberForAllocation");
	cJSON_AddBoolToObject(spec, "strictAffinity", false);
	if (cJSON_GetArraySize(alloc) != (int)size)
		goto fail;
	free(aff);
	return o;
fail:
	free(aff);
	cJSON_Delete(o);
	return NULL;
}

/* The block's base address and its allocations array, checked for size. */
static int block_shape(const cJSON *spec, uint32_t *net, cJSON **alloc)
{
	const cJSON *cidr = cJSON_GetObjectItemCaseSensitive(spec, "cidr");
	unsigned plen;

	*alloc = cJSON_GetObjectItemCaseSensitive(spec, "allocations");
	if (!cJSON_IsString(cidr) ||
	    cni_cidr_parse(cidr->valuestring, net, &plen) < 0 || plen < 20 ||
	    !cJSON_IsArray(*alloc) ||
	    cJSON_GetArraySize(*alloc) != (1 << (32 - plen)))
		return -EINVAL;
	return 0;
}

/* Attribute index held by allocation @p e, or -1 when free/odd. */
static int alloc_index(const cJSON *e, int n_attrs)
{
	if (!cJSON_IsNumber(e) || e->valuedouble < 0 ||
	    e->valuedouble >= n_attrs)
		return -1;
	return e->valueint;
}

static bool handle_is(const cJSON *attrs, int idx, const char *handle)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetArrayItem(attrs, idx), "handle_id");

	return cJSON_IsString(h) && strcmp(h->valuestring, handle) == 0;
}

static cJSON *get_or_add(cJSON *spec, const char *key, bool array)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, key);

	if (array ? cJSON_IsArray(v) : cJSON_IsObject(v))
		return v;
	cJSON_DeleteItemFromObjectCaseSensitive(spec, key);
	return array ? cJSON_AddArrayToObject(spec, key)
		     : cJSON_AddObjectToObject(spec, key);
}

static double bump_sequence(cJSON *spec)
{
	cJSON *seq = cJSON_GetObjectItemCaseSensitive(spec, "sequenceNumber");
	double v = cJSON_IsNumber(seq) ? seq->valuedouble + 1 : 1;

	if (cJSON_IsNumber(seq))
		cJSON_SetNumberValue(seq, v);
	else {
		cJSON_DeleteItemFromObjectCaseSensitive(spec, "sequenceNumber");
		cJSON_AddNumberToObject(spec, "sequenceNumber", v);
	}
	return v;
}

/* Choose a free ordinal: Calico hands out "unallocated" in order. */
static int pick_ordinal(cJSON *spec, const cJSON *alloc)
{
	const cJSON *un = cJSON_GetObjectItemCaseSensitive(spec, "unallocated");
	int n = cJSON_GetArraySize(alloc);
	const cJSON *it;

	cJSON_ArrayForEach(it, un) {
		if (cJSON_IsNumber(it) && it->valuedouble >= 0 &&
		    it->valuedouble < n &&
		    cJSON_IsNull(cJSON_GetArrayItem(alloc, it->valueint)))
			return it->valueint;
	}
	for (int i = 0; i < n; i++)
		if (cJSON_IsNull(cJSON_GetArrayItem(alloc, i)))
			return i;
	return -1;
}

static void unallocated_remove(cJSON *spec, int ord)
{
	cJSON *un = cJSON_GetObjectItemCaseSensitive(spec, "unallocated");
	int i = 0;
	cJSON *it;

	if (!cJSON_IsArray(un))
		return;
	for (it = un->child; it != NULL; i++) {
		cJSON *next = it->next;

		if (cJSON_IsNumber(it) && it->valueint == ord)
			cJSON_DeleteItemFromArray(un, i--);
		it = next;
	}
}

int cni_block_alloc(cJSON *spec, const char *handle, const cJSON *secondary,
		    uint32_t *ip)
{
	cJSON *alloc, *attrs, *attr, *seqs;
	char key[16];
	uint32_t net;
	double seq;
	int ord, idx;

	if (block_shape(spec, &net, &alloc) < 0)
		return -EINVAL;
	ord = pick_ordinal(spec, alloc);
	if (ord < 0)
		return -ENOSPC;
	attrs = get_or_add(spec, "attributes", true);
	attr = cJSON_CreateObject();
	if (attrs == NULL || attr == NULL) {
		cJSON_Delete(attr);
		return -ENOMEM;
	}
	cJSON_AddStringToObject(attr, "handle_id", handle);
	if (secondary != NULL)
		cJSON_AddItemToObject(attr, "secondary",
				      cJSON_Duplicate(secondary, true));
	idx = cJSON_GetArraySize(attrs);
	cJSON_AddItemToArray(attrs, attr);
	cJSON_ReplaceItemInArray(alloc, ord, cJSON_CreateNumber(idx));
	unallocated_remove(spec, ord);
	seq = bump_sequence(spec);
	seqs = get_or_add(spec, "sequenceNumberForAllocation", false);
	snprintf(key, sizeof(key), "%d", ord);
	if (seqs != NULL) {
		cJSON_DeleteItemFromObjectCaseSensitive(seqs, key);
		cJSON_AddNumberToObject(seqs, key, seq);
	}
	*ip = net + (uint32_t)ord;
	return 0;
}

int cni_block_find(const cJSON *spec, const char *handle, uint32_t *ip)
{
	const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(spec, "attributes");
	int n_attrs = cJSON_GetArraySize(attrs), ord = 0;
	const cJSON *it;
	cJSON *alloc;
	uint32_t net;

	if (block_shape(spec, &net, &alloc) < 0)
		return -ENOENT;
	cJSON_ArrayForEach(it, alloc) {
		int idx = alloc_index(it, n_attrs);

		if (idx >= 0 && handle_is(attrs, idx, handle)) {
			*ip = net + (uint32_t)ord;
			return 0;
		}
		ord++;
	}
	return -ENOENT;
}

/* Drop attributes no allocation refers to and renumber the rest. */
static int compact_attributes(cJSON *spec, cJSON *alloc)
{
	cJSON *attrs = cJSON_GetObjectItemCaseSensitive(spec, "attributes");
	int n = cJSON_GetArraySize(attrs), next = 0, *map;
	cJSON *it;

	if (n == 0)
		return 0;
	map = calloc((size_t)n, sizeof(*map));
	if (map == NULL)
		return -ENOMEM;
	cJSON_ArrayForEach(it, alloc) {
		int idx = alloc_index(it, n);

		if (idx >= 0)
			map[idx] = 1;
	}
	for (int i = 0; i < n; i++)
		map[i] = map[i] ? next++ : -1;
	cJSON_ArrayForEach(it, alloc) {
		int idx = alloc_index(it, n);

		if (idx >= 0)
			cJSON_SetNumberValue(it, map[idx]);
	}
	for (int i = n - 1; i >= 0; i--)
		if (map[i] < 0)
			cJSON_DeleteItemFromArray(attrs, i);
	free(map);
	return 0;
}

int cni_block_release(cJSON *spec, const char *handle)
{
	const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(spec, "attributes");
	int n_attrs = cJSON_GetArraySize(attrs), released = 0;
	cJSON *alloc, *un, *seqs;
	uint32_t net;

	if (block_shape(spec, &net, &alloc) < 0)
		return -EINVAL;
	un = get_or_add(spec, "unallocated", true);
	seqs = cJSON_GetObjectItemCaseSensitive(spec,
						"sequenceNumberForAllocation");
	for (int ord = 0; ord < cJSON_GetArraySize(alloc); ord++) {
		int idx = alloc_index(cJSON_GetArrayItem(alloc, ord), n_attrs);
		char key[16];

		if (idx < 0 || !handle_is(attrs, idx, handle))
			continue;
		cJSON_ReplaceItemInArray(alloc, ord, cJSON_CreateNull());
		if (un != NULL)
			cJSON_AddItemToArray(un, cJSON_CreateNumber(ord));
		snprintf(key, sizeof(key), "%d", ord);
		cJSON_DeleteItemFromObjectCaseSensitive(seqs, key);
		released++;
	}
	if (released == 0)
		return 0;
	bump_sequence(spec);
	if (compact_attributes(spec, alloc) < 0)
		return -ENOMEM;
	return released;
}
