/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kdp-cni's pure IPAMBlock edits (k8s/cni/ipam_block.c) and IPAMConfig
 * reading (k8s/cni/ipam_config.c).
 */
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

/*
 * Random allocations, releases and lookups in blocks of 4 to 64
 * addresses, kdp's own and Calico-shaped ones (addresses held by other
 * handles, one attribute shared by two ordinals), some round trips
 * through text as the API stores them, against a model of who holds each
 * ordinal. After every step: no ordinal given twice, every allocation
 * points at an attribute of its holder, no attribute left that nobody
 * points at, "unallocated" lists the free ordinals, each once.
 */
#define MODEL_HANDLES 10

static int model_check(const cJSON *spec, const int *holder, int n,
		       int seed, int step)
{
	const cJSON *al = cJSON_GetObjectItem(spec, "allocations");
	const cJSON *at = cJSON_GetObjectItem(spec, "attributes");
	const cJSON *un = cJSON_GetObjectItem(spec, "unallocated");
	int n_at = cJSON_GetArraySize(at), bad = 0;
	char used[256] = {0}, listed[64] = {0};

	if (cJSON_GetArraySize(al) != n)
		bad++;
	for (int o = 0; o < n && !bad; o++) {
		const cJSON *a = cJSON_GetArrayItem(al, o);

		if (holder[o] < 0) {
			bad += !cJSON_IsNull(a);
			continue;
		}
		if (!cJSON_IsNumber(a) || a->valueint < 0 ||
		    a->valueint >= n_at) {
			bad++;
			continue;
		}
		used[a->valueint] = 1;
		const cJSON *h = cJSON_GetObjectItem(
			cJSON_GetArrayItem(at, a->valueint), "handle_id");
		char want[16];

		snprintf(want, sizeof(want), holder[o] >= MODEL_HANDLES ?
			 "ext%d" : "h%d", holder[o] % MODEL_HANDLES);
		bad += !cJSON_IsString(h) || strcmp(h->valuestring, want);
	}
	for (int i = 0; i < n_at; i++)
		bad += !used[i]; /* an orphan attribute */
	const cJSON *u;
	cJSON_ArrayForEach(u, un) {
		int o = u->valueint;

		if (!cJSON_IsNumber(u) || o < 0 || o >= n || holder[o] >= 0 ||
		    listed[o]++)
			bad++;
	}
	/* Calico allocates from "unallocated" alone: every free ordinal. */
	for (int o = 0; o < n; o++)
		bad += holder[o] < 0 && !listed[o];
	if (bad)
		fprintf(stderr, "seed %d step %d: the block does not match "
			"the model\n", seed, step);
	return bad;
}

static void test_random(void)
{
	const int failures0 = failures;

	for (int seed = 1; seed <= 40 && failures == failures0; seed++) {
		srand((unsigned int)seed);
		unsigned plen = 26 + (unsigned)(rand() % 5); /* 64 .. 4 */
		int n = 1 << (32 - plen);
		uint32_t net = 0x0af46800u;
		int holder[64];
		cJSON *blk = NULL, *spec;

		for (int o = 0; o < n; o++)
			holder[o] = -1;
		if (rand() % 2) {
			blk = cni_block_new(net, plen, "n1", "t");
			spec = cJSON_GetObjectItem(blk, "spec");
		} else {
			/* As Calico leaves it: other handles' addresses, one
			 * attribute for two ordinals, the free ones listed. */
			char txt[2048], cidr[24];
			int m, k = 0, n_at = 0, pos = 0, at_holder[64];

			cni_ip_str(net, cidr);
			m = snprintf(txt, sizeof(txt), "{\"cidr\":\"%s/%u\","
				     "\"allocations\":[", cidr, plen);
			for (int o = 0; o < n; o++) {
				if (rand() % 3) {
					m += snprintf(txt + m, sizeof(txt) - (size_t)m,
						      "%snull", o ? "," : "");
					continue;
				}
				/* the next ordinal shares the attribute, now
				 * and then */
				at_holder[n_at] = MODEL_HANDLES + k;
				holder[o] = at_holder[n_at];
				m += snprintf(txt + m, sizeof(txt) - (size_t)m,
					      "%s%d", o ? "," : "", n_at);
				if (o + 1 < n && rand() % 4 == 0) {
					holder[++o] = at_holder[n_at];
					m += snprintf(txt + m, sizeof(txt) - (size_t)m,
						      ",%d", n_at);
				}
				n_at++;
				k = (k + 1) % MODEL_HANDLES;
			}
			m += snprintf(txt + m, sizeof(txt) - (size_t)m,
				      "],\"unallocated\":[");
			for (int o = 0; o < n; o++)
				if (holder[o] < 0)
					m += snprintf(txt + m,
						      sizeof(txt) - (size_t)m,
						      "%s%d", pos++ ? "," : "", o);
			m += snprintf(txt + m, sizeof(txt) - (size_t)m,
				      "],\"attributes\":[");
			for (int i = 0; i < n_at; i++)
				m += snprintf(txt + m, sizeof(txt) - (size_t)m,
					      "%s{\"handle_id\":\"ext%d\","
					      "\"secondary\":{\"node\":\"n2\"}}",
					      i ? "," : "",
					      at_holder[i] - MODEL_HANDLES);
			snprintf(txt + m, sizeof(txt) - (size_t)m, "]}");
			blk = cJSON_Parse(txt);
			spec = blk;
		}
		cJSON *s = sec("p");
		for (int step = 0; step < 400 && failures == failures0;
		     step++) {
			int h = rand() % MODEL_HANDLES, r = rand() % 10;
			char handle[16];
			uint32_t ip;

			snprintf(handle, sizeof(handle), "h%d", h);
			if (r < 5) {
				int free_ = 0, rc = cni_block_alloc(spec, handle,
								    s, &ip);
				for (int o = 0; o < n; o++)
					free_ += holder[o] < 0;
				int o = (int)(ip - net);
				if (free_ == 0) {
					CHECK(rc == -ENOSPC);
				} else if (rc != 0 || o < 0 || o >= n ||
					   holder[o] >= 0) {
					fprintf(stderr, "seed %d step %d: alloc "
						"rc %d ordinal %d\n", seed, step,
						rc, o);
					failures++;
				} else {
					holder[o] = h;
				}
			} else if (r < 8) {
				int want = 0;

				for (int o = 0; o < n; o++)
					if (holder[o] == h) {
						holder[o] = -1;
						want++;
					}
				CHECK(cni_block_release(spec, handle) == want);
			} else if (r < 9) {
				int rc = cni_block_find(spec, handle, &ip), o =
					(int)(ip - net), has = 0;

				for (int q = 0; q < n; q++)
					has += holder[q] == h;
				CHECK(has ? rc == 0 && o >= 0 && o < n &&
					    holder[o] == h : rc == -ENOENT);
			} else {
				/* Stored and read back by the API. */
				char *txt = cJSON_PrintUnformatted(blk);
				cJSON *again = cJSON_Parse(txt);

				free(txt);
				cJSON_Delete(blk);
				blk = again;
				spec = blk == NULL ? NULL :
				       cJSON_GetObjectItem(blk, "spec") ?
				       cJSON_GetObjectItem(blk, "spec") : blk;
			}
			if (spec == NULL ||
			    model_check(spec, holder, n, seed, step))
				failures++;
		}
		cJSON_Delete(s);
		cJSON_Delete(blk);
	}
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

/* IPAMConfig "default": Calico's defaults without one; a bad one names the
 * field and is not read as anything. */
static void test_ipam_config(void)
{
	static const struct {
		const char *json;
		int rc;
		bool strict, autoalloc;
		unsigned max;
		const char *err; /* part of the message when rc < 0 */
	} cases[] = {
		{ "{'spec':{'strictAffinity':true,'autoAllocateBlocks':false}}",
		  0, true, false, CNI_IPAM_DEFAULT_MAX_BLOCKS, NULL },
		{ "{'spec':{'strictAffinity':false,'autoAllocateBlocks':true,"
		  "'maxBlocksPerHost':4}}", 0, false, true, 4, NULL },
		{ "{'spec':{'strictAffinity':false,'autoAllocateBlocks':true,"
		  "'maxBlocksPerHost':0}}", 0, false, true,
		  CNI_IPAM_DEFAULT_MAX_BLOCKS, NULL },
		{ "{'spec':{'strictAffinity':false,'autoAllocateBlocks':true,"
		  "'maxBlocksPerHost':2147483647,'kubeVirtVMAddressPersistence':"
		  "'Enabled'}}", 0, false, true, 2147483647u, NULL },
		{ "{'spec':{'strictAffinity':false,'autoAllocateBlocks':true,"
		  "'maxBlocksPerHost':null}}", 0, false, true,
		  CNI_IPAM_DEFAULT_MAX_BLOCKS, NULL },
		{ "{'metadata':{'name':'default'}}", -EINVAL, 0, 0, 0,
		  "spec is missing" },
		{ "{'spec':[]}", -EINVAL, 0, 0, 0, "spec is not an object" },
		{ "{'spec':{'autoAllocateBlocks':true}}", -EINVAL, 0, 0, 0,
		  "spec.strictAffinity is missing" },
		{ "{'spec':{'strictAffinity':null,'autoAllocateBlocks':true}}",
		  -EINVAL, 0, 0, 0, "spec.strictAffinity is missing" },
		{ "{'spec':{'strictAffinity':'true','autoAllocateBlocks':true}}",
		  -EINVAL, 0, 0, 0, "spec.strictAffinity is not a boolean" },
		{ "{'spec':{'strictAffinity':false}}", -EINVAL, 0, 0, 0,
		  "spec.autoAllocateBlocks is missing" },
		{ "{'spec':{'strictAffinity':false,'autoAllocateBlocks':1}}",
		  -EINVAL, 0, 0, 0, "spec.autoAllocateBlocks is not a boolean" },
		{ "{'spec':{'strictAffinity':false,'autoAllocateBlocks':true,"
		  "'maxBlocksPerHost':-1}}", -EINVAL, 0, 0, 0,
		  "spec.maxBlocksPerHost" },
		{ "{'spec':{'strictAffinity':false,'autoAllocateBlocks':true,"
		  "'maxBlocksPerHost':1.5}}", -EINVAL, 0, 0, 0,
		  "spec.maxBlocksPerHost" },
		{ "{'spec':{'strictAffinity':false,'autoAllocateBlocks':true,"
		  "'maxBlocksPerHost':2147483648}}", -EINVAL, 0, 0, 0,
		  "spec.maxBlocksPerHost" },
		{ "{'spec':{'strictAffinity':false,'autoAllocateBlocks':true,"
		  "'maxBlocksPerHost':'4'}}", -EINVAL, 0, 0, 0,
		  "spec.maxBlocksPerHost" },
	};
	struct cni_ipam_config cfg;
	char err[256];

	CHECK(cni_ipam_config_parse(NULL, &cfg, err, sizeof(err)) == 0);
	CHECK(!cfg.strict_affinity && cfg.auto_allocate_blocks &&
	      cfg.max_blocks_per_host == CNI_IPAM_DEFAULT_MAX_BLOCKS);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char json[512];
		cJSON *o;
		int rc;

		snprintf(json, sizeof(json), "%s", cases[i].json);
		for (char *c = json; *c != '\0'; c++)
			if (*c == '\'')
				*c = '"';
		o = cJSON_Parse(json);
		CHECK(o != NULL);
		err[0] = '\0';
		rc = cni_ipam_config_parse(o, &cfg, err, sizeof(err));
		cJSON_Delete(o);
		if (rc != cases[i].rc ||
		    (rc == 0 && (cfg.strict_affinity != cases[i].strict ||
				 cfg.auto_allocate_blocks != cases[i].autoalloc ||
				 cfg.max_blocks_per_host != cases[i].max)) ||
		    (rc < 0 && strstr(err, cases[i].err) == NULL)) {
			fprintf(stderr, "ipam config case %zu: rc %d err '%s'\n",
				i, rc, err);
			failures++;
		}
	}
}

int main(void)
{
	test_cidr();
	test_alloc_release();
	test_calico_shape();
	test_random();
	test_conf();
	test_ipam_config();
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
