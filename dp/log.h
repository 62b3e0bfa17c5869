/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * kdp's log type. Levels are checked by rte_log before formatting. Anything a
 * packet can trigger must go through a rate limit (see pipeline/).
 */
#ifndef KDP_DP_LOG_H
#define KDP_DP_LOG_H

#include <rte_log.h>

extern int kdp_logtype;

#define KDP_LOG(level, fmt, ...)                                             \
	rte_log(RTE_LOG_##level, kdp_logtype, "kdp: " fmt "\n", ##__VA_ARGS__)

#endif /* KDP_DP_LOG_H */
