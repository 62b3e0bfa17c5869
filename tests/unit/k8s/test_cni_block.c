/* SPDX-License-Identifier: BSD-3-Clause */
/* kdp-cni's pure IPAMBlock edits (k8s/cni/ipam_block.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/cni/cni.h"

static int failures;

#define CHECK(c)                                                             \
	do {                                                                 \
		if (!(c)) {                                                  \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n",         \
				__FILE__, __LINE__, #c);                     \
			failures++;                                          \
		}                                                            \
	} while (0)

static void test_cidr(void)
{
	uint32_t net;
	unsigned plen;
	char buf[32];

	CHECK(cni_cidr_parse("10.244.104.0/26", &net, &plen) == 0);
	CHECK(net == 0x0af46800u && plen == 26);
	cni_block_name(net, plen, buf, sizeof(buf));
	CHECK(strcmp(buf, "10-244-104-0-26") == 0);
	CHECK(cni_cidr_parse("10.244.104.1/26", &net, &plen) == -EINVAL);
	CHECK(cni_cidr_parse("10.244.104.0/33", &net, &plen) == -EINVAL);
	CHECK(cni_cidr_parse("10.244.104.0", &net, &plen) == -EINVAL);
	CHECK(cni_cidr_parse("fd00::/64", &net, &plen) == -EINVAL);
	CHECK(cni_cidr_parse(NULL, &net, &plen) == -EINVAL);
	cni_ip_str(0x0af46805u, buf);
	CHECK(strcmp(buf, "10.244.104.5") == 0);
}

static cJSON *sec(const char *pod)
{
	cJSON *s = cJSON_CreateObject();

	cJSON_AddStringToObject(s, "node", "n1");
	cJSON_AddStringToObject(s, "pod", pod);
	return s;
}

static void test_alloc_release(void)
{
	cJSON *b = cni_block_new(0x0af46800u, 26, "n1", "t");
	cJSON *spec = cJSON_GetObjectItem(b, "spec"), *s = sec("p");
	char handle[32];
	uint32_t ip, seen[64];
	int n = 0;

	CHECK(strcmp(cJSON_GetObjectItem(spec, "affinity")->valuestring,
		     "host:n1") == 0);
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(spec, "allocations")) ==
	      64);
	/* Fill the block: 64 distinct addresses in order, then ENOSPC. */
	for (int i = 0; i < 64; i++) {
		snprintf(handle, sizeof(handle), "h%d", i);
		CHECK(cni_block_alloc(spec, handle, s, &ip) == 0);
		CHECK(ip == 0x0af46800u + (uint32_t)i);
		seen[n++] = ip;
	}
	CHECK(cni_block_alloc(spec, "full", s, &ip) == -ENOSPC);
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(spec, "unallocated")) ==
	      0);
	CHECK(cni_block_find(spec, "h7", &ip) == 0 && ip == seen[7]);
	CHECK(cni_block_find(spec, "nope", &ip) == -ENOENT);
	/* Release h7: attribute list shrinks, later indexes renumbered. */
	CHECK(cni_block_release(spec, "h7") == 1);
	CHECK(cni_block_release(spec, "h7") == 0);
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(spec, "attributes")) ==
	      63);
	CHECK(cni_block_find(spec, "h7", &ip) == -ENOENT);
	CHECK(cni_block_find(spec, "h63", &ip) == 0 && ip == seen[63]);
	CHECK(cni_block_find(spec, "h8", &ip) == 0 && ip == seen[8]);
	/* The freed ordinal is reused. */
	CHECK(cni_block_alloc(spec, "again", s, &ip) == 0 && ip == seen[7]);
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(spec,
			"sequenceNumberForAllocation"), "7") != NULL);
	cJSON_Delete(s);
	cJSON_Delete(b);
}

static void test_calico_shape(void)
{
	/* A block as Calico writes it: sparse, attributes shared order. */
	const char *txt =
		"{\"cidr\":\"10.244.104.0/30\",\"allocations\":[0,null,1,2],"
		"\"unallocated\":[1],\"attributes\":[{\"handle_id\":\"t\"},"
		"{\"handle_id\":\"a\"},{\"handle_id\":\"b\"}]}";
	cJSON *spec = cJSON_Parse(txt);
	uint32_t ip;

	CHECK(cni_block_alloc(spec, "c", NULL, &ip) == 0);
	CHECK(ip == 0x0af46801u);
	CHECK(cni_block_alloc(spec, "d", NULL, &ip) == -ENOSPC);
	CHECK(cni_block_release(spec, "a") == 1);
	CHECK(cni_block_find(spec, "b", &ip) == 0 && ip == 0x0af46803u);
	CHECK(cni_block_find(spec, "c", &ip) == 0 && ip == 0x0af46801u);
	cJSON_Delete(spec);

	/* Malformed: allocations of the wrong length. */
	spec = cJSON_Parse("{\"cidr\":\"10.0.0.0/30\",\"allocations\":[null]}");
	CHECK(cni_block_alloc(spec, "x", NULL, &ip) == -EINVAL);
	CHECK(cni_block_release(spec, "x") == -EINVAL);
	cJSON_Delete(spec);
}

static void test_conf(void)
{
	struct cni_conf c;
	char err[256];

	CHECK(cni_conf_parse("{\"cniVersion\":\"1.0.0\",\"name\":\"k\","
			     "\"type\":\"kdp-cni\",\"mtu\":1400}",
			     &c, err, sizeof(err)) == 0);
	CHECK(c.mtu == 1400 && strcmp(c.kdp_socket, CNI_DEFAULT_SOCKET) == 0);
	CHECK(c.nodename != NULL && c.kubeconfig == NULL);
	cni_conf_free(&c);
	CHECK(cni_conf_parse("not json", &c, err, sizeof(err)) ==
	      CNI_ERR_DECODE);
	cni_conf_free(&c);
	CHECK(cni_conf_parse("{\"cniVersion\":\"9.9.9\",\"name\":\"k\"}", &c,
			     err, sizeof(err)) == CNI_ERR_VERSION);
	cni_conf_free(&c);
	CHECK(cni_conf_parse("{\"cniVersion\":\"1.0.0\"}", &c, err,
			     sizeof(err)) == CNI_ERR_NETCONF);
	cni_conf_free(&c);
	CHECK(cni_conf_parse("{\"cniVersion\":\"1.0.0\",\"name\":\"k\","
			     "\"ipam\":{\"type\":\"host-local\"}}",
			     &c, err, sizeof(err)) == CNI_ERR_FIELD);
	cni_conf_free(&c);
	CHECK(cni_conf_parse("{\"cniVersion\":\"1.0.0\",\"name\":\"k\","
			     "\"mtu\":\"big\"}",
			     &c, err, sizeof(err)) == CNI_ERR_NETCONF);
	cni_conf_free(&c);
}

int main(void)
{
	test_cidr();
	test_alloc_release();
	test_calico_shape();
	test_conf();
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
