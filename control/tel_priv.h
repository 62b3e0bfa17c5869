/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Shared by the /kdp/ telemetry commands (control/telemetry.c, the small
 * ones and registration; control/tel_lists.c, the lists that come in
 * pages).
 *
 * DPDK answers a command with at most 16 KiB of JSON (lib/telemetry's
 * MAX_OUTPUT_LEN), and leaves out, whole, a container that does not fit in
 * what is left of it: /kdp/stats of 200 ports with pod names had no
 * "ports" at all, and an array at the top level is cut without a word.
 * So every list comes in pages: a page takes entries while their JSON,
 * estimated from their strings, fits in TEL_BUDGET, which leaves the rest
 * of the 16 KiB to the command's fixed fields. A command given START
 * (digits, e.g. "/kdp/ports,40") answers the page from there, and says
 * where the next one starts.
 *
 * Thread-safety: the handlers run in DPDK's telemetry thread and read
 * control state under its lock.
 */
#ifndef KDP_CONTROL_TEL_PRIV_H
#define KDP_CONTROL_TEL_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <rte_telemetry.h>

#include "control/ctl_priv.h"

/** The control state the handlers read (ctl_telemetry_register()). */
extern struct ctl *tel_ctl;

/** Entries one telemetry dict may hold (RTE_TEL_MAX_DICT_ENTRIES is 256). */
#define TEL_PAGE 200
/** JSON bytes a page's entries may take, of DPDK's 16 KiB. */
#define TEL_BUDGET (11 * 1024)
/** JSON one array string adds besides its characters: quotes, comma. */
#define TEL_STR_EXTRA 3

/** What is left of a page's TEL_BUDGET. */
struct tel_budget {
	size_t left;
};

/** Do @p bytes more fit in the page? They are taken when they do. */
static inline bool tel_take(struct tel_budget *b, size_t bytes)
{
	if (bytes > b->left)
		return false;
	b->left -= bytes;
	return true;
}

/**
 * A page's START from a command's parameters: none is 0, else digits of a
 * number that fits (strtoul() would take a sign and blanks, and saturate).
 * @return 0, or -EINVAL.
 */
int tel_start(const char *params, unsigned long *start);

static inline void tel_ip_str(char *buf, size_t len, uint32_t ip)
{
	snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff,
		 (ip >> 8) & 0xff, ip & 0xff);
}

/**
 * @p name as a telemetry dict key in @p out (@p n bytes): DPDK 22.11
 * refuses a key with any character but letters, digits, '_' and '/'
 * (-EINVAL, and the entry is gone), and pod names hold '-' and '.': those
 * become '_' (k8s/api_ds.c does the same for its resource names; the k8s
 * module links without control's telemetry). @return @p out.
 */
const char *tel_key(char *out, size_t n, const char *name);

/** A pod's "namespace/name" in at most @p len - 1 characters (@p buf). */
const char *tel_pod_name(char *buf, size_t len, const char *pod);

/* The paged lists (control/tel_lists.c). */
int tel_stats(const char *cmd, const char *params, struct rte_tel_data *d);
int tel_ports(const char *cmd, const char *params, struct rte_tel_data *d);
int tel_routes(const char *cmd, const char *params, struct rte_tel_data *d);
int tel_endpoints(const char *cmd, const char *params,
		  struct rte_tel_data *d);
int tel_policy(const char *cmd, const char *params, struct rte_tel_data *d);
int tel_nodes(const char *cmd, const char *params, struct rte_tel_data *d);

#endif /* KDP_CONTROL_TEL_PRIV_H */
