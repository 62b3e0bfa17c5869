/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the native vhost-user port tests (test_vhost.c,
 * test_vhost_pod.c): their pool, directory and server port.
 */
#ifndef KDP_TESTS_UNIT_DP_VHOST_UTIL_H
#define KDP_TESTS_UNIT_DP_VHOST_UTIL_H

#include <stdio.h>
#include <stdlib.h>

#include <rte_mbuf.h>

#include "dp/vport_fast.h"
#include "tests/unit/ctl_check.h"

static struct rte_mempool *mp;

/* A pool of @p n mbufs, the directory @p dir (a mkdtemp() template) and
 * a native vhost-user port serving <dir>/<sock> (its path into @p path)
 * with two queues, as for two workers. @return 0, or -1 (checked). */
static int vhost_setup(unsigned int n, char *dir, const char *sock,
		       char *path, size_t len, struct dp_port *p)
{
	char err[256];
	int rc;

	mp = rte_pktmbuf_pool_create("vhost_mp", n, 0, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	CHECK(mp != NULL && mkdtemp(dir) != NULL);
	if (mp == NULL)
		return -1;
	snprintf(path, len, "%s/%s", dir, sock);
	rc = dp_vport_open_vhost("v", "kdpvhost0", path, false, 2, mp, p, err,
				 sizeof(err));
	CHECK_EQ(rc, 0);
	if (rc != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

#endif /* KDP_TESTS_UNIT_DP_VHOST_UTIL_H */
