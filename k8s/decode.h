/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Decoders from Kubernetes/Calico JSON objects to the model structs of
 * control/model.h (calico-model.md §1), and the strict IPv4 parsers they use.
 *
 * Decoders reject a malformed object with a reason (the store logs it and
 * keeps the previous version); they never crash on bad input.
 *
 * Thread-safety: pure functions, except k8s_decode_register (control thread).
 */
#ifndef KDP_K8S_DECODE_H
#define KDP_K8S_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "control/model.h"

struct ctl_store;

/**
 * Register the decoders of NODE, POD, NAMESPACE, SERVICEACCOUNT, IPPOOL,
 * IPAMBLOCK and BLOCKAFFINITY in @p st.
 */
void k8s_decode_register(struct ctl_store *st);

/**
 * Map an object's apiVersion + kind to a resource. NetworkPolicy is
 * CTL_RES_K8S_NETPOL for networking.k8s.io/v1 and CTL_RES_CALICO_NETPOL for
 * crd.projectcalico.org/v1 or projectcalico.org/v3.
 * @return 0, -EINVAL when apiVersion or kind is missing, -ENOENT when the
 *   pair is not a resource kdp follows.
 */
int k8s_res_from_object(const cJSON *obj, enum ctl_res *res);

/** Same as k8s_res_from_object() from the two strings. */
int k8s_res_from_kind(const char *api_version, const char *kind,
		      enum ctl_res *res);

/**
 * Parse a dotted-quad IPv4 address strictly: four decimal octets 0–255, no
 * leading zeros, no surrounding text. @p ip is host order.
 * @return 0 or -EINVAL.
 */
int k8s_parse_ipv4(const char *s, uint32_t *ip);

/**
 * Parse "a.b.c.d/len" (len 0–32). The address is returned as written, host
 * bits included (a node's annotation carries its own address this way).
 * @return 0 or -EINVAL.
 */
int k8s_parse_cidr(const char *s, uint32_t *ip, uint8_t *plen);

/**
 * Parse a network "a.b.c.d/len" whose host bits must be clear (IPAM block
 * and affinity CIDRs). @return 0, or -EINVAL (also for set host bits).
 */
int k8s_parse_net(const char *s, uint32_t *net, uint8_t *plen);

/**
 * Whether @p s is an IPv6 CIDR "addr/len" (len 0–128), as dual-stack
 * clusters give IPPools and IPAMBlocks. kdp keeps those objects without
 * routing them, rather than rejecting them on every resync.
 */
bool k8s_is_ipv6_cidr(const char *s);

/** Host-order netmask of a prefix length 0–32. */
static inline uint32_t k8s_plen_mask(uint8_t plen)
{
	return plen == 0 ? 0 : ~0u << (32 - plen);
}

#endif /* KDP_K8S_DECODE_H */
