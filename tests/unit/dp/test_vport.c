/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Native taps (dp/vport.h, dp/vport_fast.h) against the kernel: a real tap
 * with two queues, the other side an AF_PACKET socket on the interface.
 *
 *  - open: a port id past the ethdevs, its name, the interface; a second
 *    tap of the same name is refused; every native id in use is -ENOSPC
 *    (checked by count, not by creating 224 taps);
 *  - rx: frames the kernel sends out of the interface arrive on one of the
 *    queues, byte for byte, with their port; an empty queue gives 0; a
 *    frame longer than an mbuf is dropped and counted (rx_too_long and the
 *    port's drops) and the next one still arrives;
 *  - tx: single and chained mbufs (writev) reach the interface whole;
 *    refused frames stay the caller's (the interface down);
 *  - close: the interface goes, the slot is free; no mbuf leaks.
 *
 * Needs root (CAP_NET_ADMIN) and /dev/net/tun: skipped (77) without.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

#include "dp/vport_fast.h"
#include "tests/unit/ctl_check.h"
#include "tests/unit/golden.h"

#define ETYPE 0x88b5 /* IEEE local experimental: no stack answers it */

static char ifname[IF_NAMESIZE];
static struct rte_mempool *mp;
static struct dp_lcore_stats st;

static int if_flags(bool up, unsigned int mtu)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};
	int rc = -1;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (s >= 0 && (mtu == 0 || (ifr.ifr_mtu = (int)mtu,
				    ioctl(s, SIOCSIFMTU, &ifr) == 0)) &&
	    ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		if (up)
			ifr.ifr_flags |= IFF_UP;
		else
			ifr.ifr_flags &= ~IFF_UP;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	if (s >= 0)
		close(s);
	return rc;
}

/* A frame of @p len bytes of ETYPE, its payload bytes numbered by @p tag. */
static void frame(uint8_t *b, size_t len, uint8_t tag)
{
	memset(b, 0xff, 6);
	memcpy(b + 6, "\x02\x00\x00\x00\x00\x01", 6);
	b[12] = ETYPE >> 8;
	b[13] = ETYPE & 0xff;
	for (size_t i = 14; i < len; i++)
		b[i] = (uint8_t)(tag + i);
}

static bool is_frame(const uint8_t *b, size_t len, size_t want, uint8_t tag)
{
	uint8_t ref[4096];

	frame(ref, want, tag);
	return len == want && memcmp(b, ref, len) == 0;
}

/* Receive on both queues until @p n ETYPE frames came or 1 s passed; the
 * others (IPv6 neighbor discovery and the like) are freed. */
static unsigned int rx_all(uint16_t port, struct rte_mbuf **got,
			   unsigned int n)
{
	uint64_t end = rte_get_timer_cycles() + rte_get_timer_hz();
	unsigned int k = 0;

	while (k < n && rte_get_timer_cycles() < end) {
		for (uint16_t q = 0; q < 2; q++) {
			struct rte_mbuf *b[32];
			uint16_t r = dp_vport_rx(port, q, b, 32, &st);

			for (uint16_t i = 0; i < r; i++) {
				const uint8_t *d = rte_pktmbuf_mtod(b[i],
							const uint8_t *);
				CHECK_EQ(b[i]->port, port);
				if (k < n && d[12] == ETYPE >> 8 &&
				    d[13] == (ETYPE & 0xff))
					got[k++] = b[i];
				else
					rte_pktmbuf_free(b[i]);
			}
		}
		usleep(1000);
	}
	return k;
}

static void test_rx(uint16_t port, int ps, int ifindex)
{
	static const size_t lens[] = {60, 61, 128, 1000, 1514};
	struct sockaddr_ll to = {.sll_family = AF_PACKET,
				 .sll_ifindex = ifindex, .sll_halen = 6};
	struct rte_mbuf *got[8];
	uint8_t b[4096];
	unsigned int k;

	for (unsigned int i = 0; i < RTE_DIM(lens); i++) {
		frame(b, lens[i], (uint8_t)i);
		CHECK_EQ(sendto(ps, b, lens[i], 0, (struct sockaddr *)&to,
				sizeof(to)), (long long)lens[i]);
	}
	k = rx_all(port, got, RTE_DIM(lens));
	CHECK_EQ(k, RTE_DIM(lens));
	/* Queues may reorder frames of different flows; these are one. */
	for (unsigned int i = 0; i < k; i++) {
		CHECK(is_frame(rte_pktmbuf_mtod(got[i], const uint8_t *),
			       got[i]->data_len, lens[i], (uint8_t)i));
		CHECK_EQ(got[i]->pkt_len, got[i]->data_len);
		CHECK_EQ(got[i]->nb_segs, 1);
		rte_pktmbuf_free(got[i]);
	}

	/* Longer than an mbuf's room: dropped and counted, the next one
	 * still arrives. */
	uint64_t d0 = st.drop[DP_DROP_RX_TOO_LONG], p0 = st.port[port].drops;
	frame(b, 3000, 7);
	CHECK_EQ(sendto(ps, b, 3000, 0, (struct sockaddr *)&to, sizeof(to)),
		 3000);
	frame(b, 100, 8);
	CHECK_EQ(sendto(ps, b, 100, 0, (struct sockaddr *)&to, sizeof(to)),
		 100);
	k = rx_all(port, got, 1);
	CHECK_EQ(k, 1);
	if (k == 1) {
		CHECK(is_frame(rte_pktmbuf_mtod(got[0], const uint8_t *),
			       got[0]->data_len, 100, 8));
		rte_pktmbuf_free(got[0]);
	}
	CHECK_EQ(st.drop[DP_DROP_RX_TOO_LONG] - d0, 1);
	CHECK_EQ(st.port[port].drops - p0, 1);

	/* Empty: nothing, and every mbuf back. */
	CHECK_EQ(dp_vport_rx(port, 0, got, 8, &st), 0);
	CHECK_EQ(rte_mempool_in_use_count(mp), 0);
}

static struct rte_mbuf *mbuf_of(const uint8_t *b, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);

	if (m != NULL)
		memcpy(rte_pktmbuf_append(m, (uint16_t)len), b, len);
	return m;
}

/* Read ETYPE frames from the packet socket into @p b; their length. */
static ssize_t sock_frame(int ps, uint8_t *b, size_t len)
{
	struct pollfd p = {.fd = ps, .events = POLLIN};

	while (poll(&p, 1, 1000) == 1) {
		ssize_t n = recv(ps, b, len, 0);
		if (n >= 14 && b[12] == ETYPE >> 8 && b[13] == (ETYPE & 0xff))
			return n;
	}
	return -1;
}

static void test_tx(uint16_t port, int ps)
{
	uint8_t b[4096], r[4096];
	struct rte_mbuf *m[3];

	frame(b, 60, 1);
	m[0] = mbuf_of(b, 60);
	frame(b, 1514, 2);
	m[1] = mbuf_of(b, 1514);
	/* A chain: 14 + 86 bytes in two segments, one frame. */
	frame(b, 100, 3);
	m[2] = mbuf_of(b, 14);
	struct rte_mbuf *tail = mbuf_of(b + 14, 86);
	CHECK(m[0] && m[1] && m[2] && tail &&
	      rte_pktmbuf_chain(m[2], tail) == 0);
	CHECK_EQ(dp_vport_tx(port, 1, m, 3), 3);
	CHECK(is_frame(r, (size_t)sock_frame(ps, r, sizeof(r)), 60, 1));
	CHECK(is_frame(r, (size_t)sock_frame(ps, r, sizeof(r)), 1514, 2));
	CHECK(is_frame(r, (size_t)sock_frame(ps, r, sizeof(r)), 100, 3));
	CHECK_EQ(rte_mempool_in_use_count(mp), 0);

	/* The interface down: what the kernel refuses stays the caller's. */
	CHECK_EQ(if_flags(false, 0), 0);
	m[0] = mbuf_of(b, 60);
	m[1] = mbuf_of(b, 60);
	uint16_t sent = dp_vport_tx(port, 0, m, 2);
	CHECK(sent <= 2);
	rte_pktmbuf_free_bulk(&m[sent], 2 - sent);
	CHECK_EQ(rte_mempool_in_use_count(mp), 0);
	CHECK_EQ(if_flags(true, 0), 0);
}

int main(void)
{
	struct dp_port p, p2;
	char err[256], name[64];
	int rc;

	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
		printf("skip: needs root and /dev/net/tun\n");
		return 77;
	}
	if (golden_eal_init("dp_vport") < 0)
		return 1;
	mp = rte_pktmbuf_pool_create("vport_mp", 1023, 0, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	CHECK(mp != NULL);
	if (mp == NULL)
		CHECK_DONE();
	snprintf(ifname, sizeof(ifname), "kvt%x", (unsigned)getpid() & 0xfffff);

	CHECK_EQ(dp_vport_count(), 0);
	rc = dp_vport_open_tap("t", "kdptap0", ifname, 2, mp, &p, err,
			       sizeof(err));
	CHECK_EQ(rc, 0);
	if (rc != 0) {
		fprintf(stderr, "%s\n", err);
		CHECK_DONE();
	}
	CHECK(dp_port_is_native(p.id) && p.id < KDP_MAX_PORTS);
	CHECK(p.nb_rxq == 2 && p.nb_txq == 2);
	CHECK(dp_vport_info(p.id, name, sizeof(name)));
	CHECK_STR(name, "kdptap0");
	CHECK_STR(p.name, "kdptap0");
	CHECK(!dp_vport_info(p.id + 1, NULL, 0));
	CHECK(!dp_vport_info(0, NULL, 0));
	CHECK_EQ(dp_vport_count(), 1);
	int ifindex = (int)if_nametoindex(ifname);
	CHECK(ifindex > 0);
	/* Its name is taken now. */
	CHECK_EQ(dp_vport_open_tap("t", "kdptap1", ifname, 1, mp, &p2, err,
				   sizeof(err)), -EEXIST);
	CHECK(strstr(err, ifname) != NULL);
	CHECK_EQ(dp_vport_count(), 1);

	/* No neighbor discovery noise, room for the long frame. */
	char path[128];
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 ifname);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		CHECK_EQ(write(fd, "1", 1), 1);
		close(fd);
	}
	CHECK_EQ(if_flags(true, 9000), 0);
	int ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	struct sockaddr_ll sll = {.sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = ifindex};
	CHECK(ps >= 0 && bind(ps, (struct sockaddr *)&sll, sizeof(sll)) == 0);

	test_rx(p.id, ps, ifindex);
	test_tx(p.id, ps);

	close(ps);
	dp_vport_close(p.id);
	CHECK_EQ(if_nametoindex(ifname), 0);
	CHECK_EQ(dp_vport_count(), 0);
	CHECK(!dp_vport_info(p.id, NULL, 0));
	dp_vport_close(p.id); /* closed: a no-op */
	CHECK_EQ(rte_mempool_in_use_count(mp), 0);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	CHECK_DONE();
}
