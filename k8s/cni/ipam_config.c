/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Calico's IPAMConfig (crd.projectcalico.org/v1, the cluster-scoped object
 * "default"), read without I/O so that the unit tests can drive it.
 *
 * The CRD (libcalico-go/config/crd/crd.projectcalico.org_ipamconfigs.yaml)
 * requires strictAffinity and autoAllocateBlocks and bounds
 * maxBlocksPerHost to 0..2^31-1, so a real API server never stores an
 * object without them. One that does not fit is refused with the field
 * named rather than read as some default: guessing "borrow" or "claim"
 * would hand out addresses the operator meant to forbid.
 */
#include <errno.h>
#include <stdio.h>

#include "k8s/cni/cni.h"

void cni_ipam_config_default(struct cni_ipam_config *cfg)
{
	/* GetIPAMConfig's answer when no IPAMConfig exists. */
	cfg->strict_affinity = false;
	cfg->auto_allocate_blocks = true;
	cfg->max_blocks_per_host = CNI_IPAM_DEFAULT_MAX_BLOCKS;
}

static int bool_field(const cJSON *spec, const char *key, bool *out,
		      char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, key);

	if (v == NULL || cJSON_IsNull(v)) {
		snprintf(err, errlen, "IPAMConfig default: spec.%s is missing "
			 "(the CRD requires it)", key);
		return -EINVAL;
	}
	if (!cJSON_IsBool(v)) {
		snprintf(err, errlen, "IPAMConfig default: spec.%s is not a "
			 "boolean", key);
		return -EINVAL;
	}
	*out = cJSON_IsTrue(v);
	return 0;
}

int cni_ipam_config_parse(const cJSON *obj, struct cni_ipam_config *cfg,
			  char *err, size_t errlen)
{
	const cJSON *spec, *max;
	int rc;

	cni_ipam_config_default(cfg);
	if (obj == NULL)
		return 0;
	spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
	if (!cJSON_IsObject(spec)) {
		snprintf(err, errlen, "IPAMConfig default: spec is %s",
			 spec == NULL ? "missing" : "not an object");
		return -EINVAL;
	}
	rc = bool_field(spec, "strictAffinity", &cfg->strict_affinity, err,
			errlen);
	if (rc == 0)
		rc = bool_field(spec, "autoAllocateBlocks",
				&cfg->auto_allocate_blocks, err, errlen);
	if (rc < 0)
		return rc;
	max = cJSON_GetObjectItemCaseSensitive(spec, "maxBlocksPerHost");
	if (max == NULL || cJSON_IsNull(max))
		return 0;
	if (!cJSON_IsNumber(max) || max->valuedouble < 0 ||
	    max->valuedouble > 2147483647.0 ||
	    max->valuedouble != (double)(long)max->valuedouble) {
		snprintf(err, errlen, "IPAMConfig default: spec.maxBlocksPerHost "
			 "is not an integer from 0 to 2147483647");
		return -EINVAL;
	}
	/* 0 means "not set": Calico's autoAssign then caps at 20 all the same. */
	if (max->valuedouble > 0)
		cfg->max_blocks_per_host = (unsigned)max->valuedouble;
	return 0;
}
