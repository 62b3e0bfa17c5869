/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The neighbor table (control/neigh.h) against a model, at random. Each
 * step is one of what the control thread does to it:
 *
 * - a publish, as control/ctl.c's publish() does it: the uplink set,
 *   mark_begin, ctl_neigh_slot() for every (port, address) the tables use
 *   (a set that drifts), ctl_neigh_set_static() for the configured ones,
 *   then the build fails (mark_abort) or is published; a retire
 *   (retire_oldest()) sweeps once no old tables are left and the last
 *   build did not fail, and now and then after a failed one too, which
 *   neigh.h allows. Static slots fill all the table but a few, so slot
 *   ids are released and taken again, and the table is sometimes full
 *   (the build fails, as compile.c's does);
 * - an ARP frame a worker punted (ctl_neigh_input()): requests, replies,
 *   other opcodes, gratuitous, for known and unknown addresses, on the
 *   slot's port or another one, from unicast, multicast, broadcast and
 *   zero MACs, for the node's address, and malformed or truncated;
 * - packets held for a slot (ctl_neigh_hold()): unresolved, resolved,
 *   failed, static, free, never used and out of range;
 * - a tick after the clock moved by a random amount: short, about the
 *   request interval, about arp_timeout, or far beyond it.
 *
 * The model says which frames leave through the send callback (requests,
 * answers for the node's address, held packets with the resolved MAC as
 * destination, in the order they were held), what every slot publishes in
 * pl_neigh[] (PL_NEIGH_VALID exactly when resolved, with the last accepted
 * MAC, a static one never replaced by ARP, 0 once released), which drop
 * reason counts every packet that does not leave, and that slot ids are
 * never handed out twice for live addresses. Apart from the marks the
 * model keeps, the slots of the published tables and of those in their
 * grace period must stay theirs. After every step the mempool's
 * in-use count must equal the packets the model says are held (no leak, no
 * double free), and no held packet may have seen more than
 * CTL_NEIGH_PROBES requests for its slot (holds end). ctl_neigh_free() at
 * the end must give back every mbuf.
 *
 * It found packets held for a slot kept when ctl_neigh_set_static()
 * pinned it, and leaked by the next hold (test_neigh.c has the case).
 *
 * NEIGH_SEED=N replays another run, NEIGH_STEPS=N lengthens it; a failure
 * names the seed, the step and the steps before it.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_mbuf.h>
#include <rte_telemetry.h>

#include "control/neigh.h"
#include "dp/log.h"
#include "dp/stats.h"
#include "pipeline/tables.h"
#include "tests/unit/ctl_check.h"
#include "tests/unit/golden.h"

#define PORTS 2          /* ports with slots; ARP also arrives on port PORTS */
#define IPS 10           /* slot addresses 10.0.0.1 .. 10.0.0.IPS, and 0 */
#define KEYS (PORTS * (IPS + 1))
/*
 * All the table but FREE_SLOTS is taken by static slots every build asks
 * for (the rest of the tables), on a port of their own: the few left are
 * taken, released and taken again (the search wraps around the table),
 * and now and then all taken, which fails the build as compile.c does.
 */
#define FREE_SLOTS 20
#define FILL (PL_NEIGH_MAX - FREE_SLOTS)
#define FILL_PORT (PORTS + 1)
#define FILL_IP(i) (IP4(20, 0, 0, 0) + (i))
#define KEY_FREE (-1)
#define KEY_FILL (-2)
#define RETIRE_MAX 3     /* publishes in their grace period, at most */
#define REQ_MS 1000      /* neigh.c's REQ_INTERVAL_MS */
#define NODE_IP IP4(10, 0, 0, 100)
#define MAGIC 0x6b64706eu
#define SENT_MAX 512
#define STEPS 20000      /* a run's, unless NEIGH_STEPS says */
#define NONE UINT32_MAX

static const struct rte_ether_addr UPLINK_MAC = {{0x02, 0xaa, 0, 0, 0, 1}};
static const struct rte_ether_addr GW_MAC = PL_GW_MAC;
static const struct rte_ether_addr BCAST = {{0xff, 0xff, 0xff, 0xff, 0xff,
					     0xff}};
static const struct rte_ether_addr ZERO;

/* ------------------------------------------------------------ randomness */

static uint64_t rng_state;

static uint64_t rnd64(void)
{
	/* splitmix64: the same run for a seed everywhere. */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rnd(uint32_t n)
{
	return (uint32_t)(rnd64() % n);
}

/* ------------------------------------------------------------- the model */

enum mstate { M_INCOMPLETE, M_REACHABLE, M_PROBE, M_STATIC };

struct mhold {
	uint32_t seq;       /* the packet's number, in its payload */
	uint16_t port;      /* its tx port, which it keeps */
	unsigned int reqs;  /* requests for its slot since it was held */
};

struct mslot {
	int key;            /* or KEY_FREE, KEY_FILL */
	uint8_t state;      /* enum mstate */
	uint8_t probes;     /* neigh.c's width: it wraps there too */
	bool marked, kept;
	unsigned int used;  /* times released: taken again, the id is reused */
	struct rte_ether_addr src_mac;
	uint32_t src_ip;
	uint64_t mac;       /* what pl_neigh[] must hold */
	uint64_t confirmed_ms, last_req_ms;
	unsigned int n_hold;
	struct mhold hold[CTL_NEIGH_HOLD];
};

static struct mslot ms[PL_NEIGH_MAX];
static uint32_t key_slot[KEYS];   /* the live slot of a key, or NONE */
static unsigned int n_live;       /* keys with a slot */
static uint32_t fill_slot[FILL];
/*
 * The slots the published tables (tabs[0]) and the ones in their grace
 * period use, NONE for keys they do not: none may change while they are
 * there, whatever the marks say.
 */
static struct {
	uint32_t id[KEYS];
} tabs[RETIRE_MAX + 1];
static unsigned int n_tabs;
static bool want[KEYS];           /* the tables use the key */
static bool pinned[KEYS];         /* ... with a configured MAC */
static struct rte_ether_addr smac[KEYS];
static uint32_t freed[16];        /* recently released slot ids */
static unsigned int n_freed;
static uint64_t now_ms, timeout_ms;
static uint16_t uplink_port = UINT16_MAX;
static uint32_t uplink_ip;
static unsigned int pending;      /* published, old tables not retired */
static bool failed;               /* the last build failed */
static uint64_t drops[DP_DROP_MAX], replied;
static uint32_t next_seq;

/* How often the run met each case: a run that never did is no test. */
static struct {
	unsigned long learned, released, learn_released, pinned_released,
		      refreshed, expired, swept_holds, requests, full, reused,
		      swept_failed;
} cov;

/* What must leave through the send callback in this step: ARP frames
 * written byte by byte (golden.h), not the way neigh.c writes them. */
struct want_arp {
	uint16_t port;
	bool seen;
	struct frame f;
};
struct want_pkt {
	uint32_t seq;
	uint64_t mac;
	uint16_t port;
};
static struct want_arp want_arp[256];
static unsigned int n_want_arp;
static struct want_pkt want_pkt[SENT_MAX];
static unsigned int n_want_pkt;

static struct rte_mbuf *sent[SENT_MAX];
static unsigned int n_sent;

static struct rte_mempool *mp;
static struct ctl_neigh *nb;

/* The last steps, said when one fails. */
static char trace[32][128];
static unsigned int step;

static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(trace[step % RTE_DIM(trace)], sizeof(trace[0]), fmt, ap);
	va_end(ap);
}

static uint16_t key_port(int k)
{
	return (uint16_t)(k % PORTS);
}

static uint32_t key_ip(int k)
{
	unsigned int i = (unsigned int)k / PORTS;

	return i == IPS ? 0 : IP4(10, 0, 0, 1 + i);
}

static int key_of(uint16_t port, uint32_t ip)
{
	for (int k = 0; k < KEYS; k++)
		if (key_port(k) == port && key_ip(k) == ip)
			return k;
	return -1;
}

static uint64_t mac_u64(const struct rte_ether_addr *a)
{
	uint64_t v = 0;

	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		v |= (uint64_t)a->addr_bytes[i] << (8 * i);
	return v;
}

static struct rte_ether_addr u64_mac(uint64_t v)
{
	struct rte_ether_addr a;

	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		a.addr_bytes[i] = (uint8_t)(v >> (8 * i));
	return a;
}

static void expect_arp(uint16_t port, uint16_t op,
		       const struct rte_ether_addr *dst,
		       const struct rte_ether_addr *sha, uint32_t sip,
		       const struct rte_ether_addr *tha, uint32_t tip)
{
	struct want_arp *w = &want_arp[n_want_arp++];

	if (n_want_arp > RTE_DIM(want_arp))
		abort(); /* a request per slot and a reply: the test is wrong */
	w->port = port;
	w->seen = false;
	frame_arp(&w->f, dst->addr_bytes, sha->addr_bytes, op, sha->addr_bytes,
		  sip, tha->addr_bytes, tip, 0);
}

static void m_request(struct mslot *s)
{
	s->last_req_ms = now_ms;
	s->probes++;
	cov.requests++;
	for (unsigned int i = 0; i < s->n_hold; i++)
		s->hold[i].reqs++;
	expect_arp(key_port(s->key), RTE_ARP_OP_REQUEST, &BCAST, &s->src_mac,
		   s->src_ip, &ZERO, key_ip(s->key));
}

static void m_drop_holds(struct mslot *s)
{
	drops[DP_DROP_NEIGH_FAILED] += s->n_hold;
	s->n_hold = 0;
}

/* The held packets leave, in order, to the slot's MAC. */
static void m_release(struct mslot *s)
{
	for (unsigned int i = 0; i < s->n_hold; i++) {
		if (n_want_pkt == RTE_DIM(want_pkt))
			abort();
		want_pkt[n_want_pkt++] = (struct want_pkt){
			.seq = s->hold[i].seq, .mac = s->mac,
			.port = s->hold[i].port,
		};
	}
	cov.released += s->n_hold;
	s->n_hold = 0;
}

static bool m_valid(const struct mslot *s)
{
	return s->state != M_INCOMPLETE;
}

/* ctl_neigh_slot() returned @p id for key @p k.
 * @return false if it had no slot to give (the build fails). */
static bool m_slot(int k, uint32_t id, const struct rte_ether_addr *src_mac,
		   uint32_t src_ip)
{
	if (key_slot[k] != NONE) {
		CHECK_EQ(id, key_slot[k]);
		if (id != key_slot[k])
			return false;
	} else if (n_live == FREE_SLOTS) {
		CHECK_EQ(id, UINT32_MAX);
		return false;
	} else {
		/* A new slot: never one a live address has. */
		if (id >= PL_NEIGH_MAX || ms[id].key != KEY_FREE) {
			fprintf(stderr, "key %d got slot %u, %s\n", k, id,
				id >= PL_NEIGH_MAX ? "with slots free" :
				"which is not free");
			check_failures++;
			return false;
		}
		unsigned int used = ms[id].used;

		cov.reused += used > 0;
		memset(&ms[id], 0, sizeof(ms[id]));
		ms[id].used = used;
		ms[id].key = k;
		ms[id].state = M_INCOMPLETE;
		key_slot[k] = id;
		n_live++;
	}
	/* A pinned slot stays so, even when the build does not pin it again:
	 * only its release unpins it (control's configured MACs do not go
	 * away while a pod or the config has the slot). */
	struct mslot *s = &ms[key_slot[k]];

	s->src_mac = *src_mac;
	s->src_ip = src_ip;
	s->marked = true;
	return true;
}

static void m_sweep(void)
{
	for (int k = 0; k < KEYS; k++) {
		uint32_t id = key_slot[k];

		if (id == NONE || ms[id].marked)
			continue;
		cov.swept_holds += ms[id].n_hold;
		m_drop_holds(&ms[id]);
		ms[id].key = KEY_FREE;
		key_slot[k] = NONE;
		n_live--;
		ms[id].used++;
		cov.swept_failed += failed;
		freed[n_freed++ % RTE_DIM(freed)] = id;
	}
}

static void m_tick(void)
{
	for (int k = 0; k < KEYS; k++) {
		if (key_slot[k] == NONE)
			continue;
		struct mslot *s = &ms[key_slot[k]];

		switch (s->state) {
		case M_INCOMPLETE:
			/* An address 0 (a pod port without one) is never
			 * asked for by the timer. */
			if (key_ip(k) == 0 || (s->probes != 0 &&
			    now_ms - s->last_req_ms < REQ_MS))
				break;
			if (s->probes >= CTL_NEIGH_PROBES)
				m_drop_holds(s);
			m_request(s);
			break;
		case M_REACHABLE:
			if (now_ms - s->confirmed_ms >= timeout_ms) {
				s->state = M_PROBE;
				s->probes = 0;
				cov.refreshed++;
				m_request(s);
			}
			break;
		case M_PROBE:
			if (now_ms - s->last_req_ms < REQ_MS)
				break;
			if (s->probes >= CTL_NEIGH_PROBES) {
				s->mac = 0;
				s->state = M_INCOMPLETE;
				s->probes = 0;
				cov.expired++;
			}
			m_request(s);
			break;
		}
	}
}

/* ----------------------------------------------------------- the table */

static void capture(void *arg, struct rte_mbuf *m)
{
	(void)arg;
	if (n_sent == SENT_MAX) {
		fprintf(stderr, "step %u: more than %d frames sent\n", step,
			SENT_MAX);
		check_failures++;
		rte_pktmbuf_free(m);
		return;
	}
	sent[n_sent++] = m;
}

static struct rte_mbuf *alloc(void)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);

	if (m == NULL) {
		fprintf(stderr, "step %u: mempool empty\n", step);
		abort();
	}
	return m;
}

static void do_publish(void)
{
	uint32_t self_ip = rnd(10) ? NODE_IP : 0; /* not known yet */

	/* The desired state drifts: an address comes or goes, gets a
	 * configured MAC, loses it, or has it changed. */
	for (unsigned int i = rnd(4); i > 0; i--)
		want[rnd(KEYS)] ^= true;
	int pk = -1;

	if (rnd(3) == 0) {
		pk = (int)rnd(KEYS);
		pinned[pk] ^= true;
		smac[pk] = (struct rte_ether_addr){{0x02, 0x5c, 0, 0,
						    (uint8_t)pk,
						    (uint8_t)rnd(3)}};
	}
	note("publish self %x, key %d %s", self_ip, pk,
	     pk < 0 ? "" : pinned[pk] ? "pinned" : "unpinned");
	ctl_neigh_set_uplink(nb, 0, &UPLINK_MAC, self_ip);
	uplink_port = 0;
	uplink_ip = self_ip;
	ctl_neigh_mark_begin(nb);
	for (int k = 0; k < KEYS; k++)
		if (key_slot[k] != NONE) {
			ms[key_slot[k]].kept = ms[key_slot[k]].marked;
			ms[key_slot[k]].marked = false;
		}
	bool fill_moved = false;

	for (uint32_t i = 0; i < FILL; i++)
		fill_moved |= ctl_neigh_slot(nb, FILL_PORT, FILL_IP(i), &GW_MAC,
					     PL_GW_IP) != fill_slot[i];
	CHECK(!fill_moved);
	/* The tables ask in no particular order. */
	int first = (int)rnd(KEYS);
	bool full = false;

	for (int j = 0; j < KEYS && !full; j++) {
		int k = (first + j) % KEYS;

		if (!want[k])
			continue;
		/* Uplink slots ARP from the node, pod ports' from the
		 * gateway (control/compile.c). */
		const struct rte_ether_addr *src = key_port(k) == 0 ?
			&UPLINK_MAC : &GW_MAC;
		uint32_t src_ip = key_port(k) == 0 ? self_ip : PL_GW_IP;
		uint32_t id = ctl_neigh_slot(nb, key_port(k), key_ip(k), src,
					     src_ip);

		if (!m_slot(k, id, src, src_ip)) {
			/* Table full: compile.c fails the build. */
			full = true;
			cov.full++;
			break;
		}
		if (pinned[k]) {
			ctl_neigh_set_static(nb, id, &smac[k]);
			ms[id].state = M_STATIC;
			ms[id].mac = PL_NEIGH_VALID | mac_u64(&smac[k]);
			/* Resolved: what waited for it leaves. */
			cov.pinned_released += ms[id].n_hold;
			m_release(&ms[id]);
		}
	}
	if (full || rnd(4) == 0) {
		note("publish self %x, key %d: build fails%s", self_ip, pk,
		     full ? " (full)" : "");
		ctl_neigh_mark_abort(nb);
		for (int k = 0; k < KEYS; k++)
			if (key_slot[k] != NONE)
				ms[key_slot[k]].marked = ms[key_slot[k]].kept;
		failed = true;
		return;
	}
	failed = false;
	/* Workers far behind: the oldest retires first (no sweep: others
	 * are left). */
	if (pending == RETIRE_MAX)
		pending--;
	pending++;
	memmove(&tabs[1], &tabs[0], sizeof(tabs[0]) * RETIRE_MAX);
	for (int k = 0; k < KEYS; k++)
		tabs[0].id[k] = want[k] ? key_slot[k] : NONE;
	n_tabs = pending + 1;
}

static void do_retire(void)
{
	/* control/ctl.c sweeps once no old tables are left, but not after a
	 * failed build (for its pod ports). neigh.h allows it then too:
	 * abort gave the published tables their marks back. */
	bool sweep_failed = rnd(2);

	note("retire (%u pending%s)", pending,
	     failed ? sweep_failed ? ", failed, sweep" : ", failed" : "");
	if (pending > 0) {
		pending--;
		n_tabs = pending + 1;
	}
	if (pending == 0 && (!failed || sweep_failed)) {
		ctl_neigh_sweep(nb);
		m_sweep();
		/* The others' slots stay theirs. */
		bool bad = false;

		for (uint32_t i = 0; i < FILL; i++)
			bad |= pl_neigh_load(fill_slot[i]) != ms[fill_slot[i]].mac;
		CHECK(!bad);
	}
}

static void do_tick(void)
{
	uint64_t dt;

	switch (rnd(10)) {
	case 0:
		dt = rnd(2) ? 0 : timeout_ms * (2 + rnd(10));
		break;
	case 1:
	case 2:
		dt = timeout_ms + rnd(1001);
		dt = dt > 500 ? dt - 500 : 0;
		break;
	case 3:
	case 4:
	case 5:
		dt = REQ_MS - 300 + rnd(601);
		break;
	default:
		dt = 1 + rnd(300);
		break;
	}
	now_ms += dt;
	note("tick +%lu = %lu", (unsigned long)dt, (unsigned long)now_ms);
	ctl_neigh_tick(nb, now_ms);
	m_tick();
}

/* A packet a worker punts for slot @p id: its L2 header written but the
 * destination (garbage here), m->port the tx port. */
static void do_hold_one(uint32_t id, uint16_t port)
{
	struct rte_mbuf *m = alloc();
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, 64);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;
	uint32_t tag[2] = {MAGIC, next_seq++};

	memset(p, 0xa5, 64);
	eth->src_addr = GW_MAC;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memcpy(eth + 1, tag, sizeof(tag));
	m->port = port;
	ctl_neigh_hold(nb, m, id);

	if (id >= PL_NEIGH_MAX || ms[id].key == KEY_FREE) {
		drops[DP_DROP_NEIGH_FAILED]++;
		return;
	}
	struct mslot *s = &ms[id];

	if (s->n_hold == CTL_NEIGH_HOLD && !m_valid(s)) {
		drops[DP_DROP_NEIGH_QUEUE_FULL]++;
		return;
	}
	s->hold[s->n_hold++] = (struct mhold){.seq = tag[1], .port = port};
	if (m_valid(s)) {
		/* Resolved while the packet was in the ring. */
		m_release(s);
		return;
	}
	if (now_ms - s->last_req_ms >= REQ_MS || s->probes == 0)
		m_request(s);
}

static void do_hold(void)
{
	uint32_t id;
	uint16_t port = (uint16_t)rnd(PORTS);
	int k = (int)rnd(KEYS);

	switch (rnd(10)) {
	case 0:
		id = rnd(2) ? PL_NEIGH_MAX + rnd(3) : 0xffffff; /* tag bits */
		break;
	case 1:
		id = rnd(PL_NEIGH_MAX);
		break;
	case 2:
		id = n_freed ? freed[rnd(RTE_MIN(n_freed, RTE_DIM(freed)))] :
			       0;
		break;
	default:
		/* A slot the tables use, if the key has one. */
		id = key_slot[k] != NONE ? key_slot[k] :
			PL_NEIGH_MAX - 1 - rnd(2 * FREE_SLOTS);
		if (ms[id].key >= 0)
			port = key_port(ms[id].key);
		break;
	}
	/* Bursts, to fill the queue. */
	unsigned int n = rnd(4) ? 1 + rnd(3) : 1 + rnd(2 * CTL_NEIGH_HOLD);

	note("hold %u x slot %u", n, id);
	for (unsigned int i = 0; i < n; i++)
		do_hold_one(id, port);
}

static struct rte_ether_addr rnd_sha(void)
{
	struct rte_ether_addr a;
	unsigned int r = rnd(20);

	if (r < 12) /* a few MACs, to see the same one again */
		return (struct rte_ether_addr){{0x02, 0x11, 0, 0, 0,
						(uint8_t)rnd(4)}};
	uint64_t v = rnd64();

	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		a.addr_bytes[i] = (uint8_t)(v >> (8 * i));
	if (r < 17)
		a.addr_bytes[0] &= 0xfe; /* unicast */
	else if (r < 18)
		a.addr_bytes[0] |= 0x01; /* multicast */
	else if (r < 19)
		a = BCAST;
	else
		a = ZERO;
	return a;
}

static void do_input(void)
{
	int k = (int)rnd(KEYS);
	uint16_t port = key_port(k);
	uint32_t sip = key_ip(k);
	uint16_t op;
	uint32_t tip;
	struct rte_ether_addr sha = rnd_sha();

	switch (rnd(10)) {
	case 0:
		port = (uint16_t)rnd(PORTS + 1); /* maybe the wrong port */
		break;
	case 1:
		sip = 0; /* an address probe (RFC 5227) */
		break;
	case 2:
		sip = rnd(2) ? NODE_IP : (uint32_t)rnd64();
		break;
	default:
		break;
	}
	switch (rnd(10)) {
	case 0:
		op = (uint16_t)rnd(10);
		break;
	case 1: case 2: case 3: case 4:
		op = RTE_ARP_OP_REQUEST;
		break;
	default:
		op = RTE_ARP_OP_REPLY;
		break;
	}
	switch (rnd(5)) {
	case 0:
		tip = sip; /* gratuitous */
		break;
	case 1:
	case 2:
		tip = NODE_IP;
		break;
	default:
		tip = key_ip((int)rnd(KEYS));
		break;
	}

	struct frame f;
	struct rte_ether_addr tha = rnd(2) ? ZERO : UPLINK_MAC;
	const struct rte_ether_addr *edst =
		op == RTE_ARP_OP_REQUEST ? &BCAST : &UPLINK_MAC;
	bool bad = false;

	/* Frames come as sent (42 bytes) or padded to Ethernet's 60. */
	frame_arp(&f, edst->addr_bytes, sha.addr_bytes, op, sha.addr_bytes, sip,
		  tha.addr_bytes, tip, rnd(2) ? 0 : 60);
	if (rnd(8) == 0) {
		/* Past the Ethernet header: hardware type, protocol type,
		 * their lengths. */
		static const struct {
			uint8_t off, val;
		} bads[] = {{15, 6}, {16, 0x86}, {17, 0xdd}, {18, 8}, {19, 16}};
		unsigned int b = rnd(RTE_DIM(bads) + 1);

		bad = true;
		if (b == RTE_DIM(bads))
			f.len = (uint16_t)rnd(42); /* truncated */
		else
			f.b[bads[b].off] = bads[b].val;
	}

	struct rte_mbuf *m = frame_mbuf(mp, &f, port);

	if (m == NULL) {
		fprintf(stderr, "step %u: mempool empty\n", step);
		abort();
	}
	note("arp op %u port %u %x -> %x sha %02x:..:%02x:%02x len %u%s", op,
	     port, sip, tip, sha.addr_bytes[0], sha.addr_bytes[4],
	     sha.addr_bytes[5], f.len, bad ? " bad" : "");
	ctl_neigh_input(nb, m);

	if (bad) {
		drops[DP_DROP_ARP_BAD]++;
		return;
	}
	/* RFC 826: any ARP from an address we have updates its MAC, never a
	 * configured one, and never to a group or zero address. */
	k = key_of(port, sip);
	if (sip != 0 && k >= 0 && key_slot[k] != NONE &&
	    ms[key_slot[k]].state != M_STATIC &&
	    rte_is_valid_assigned_ether_addr(&sha)) {
		struct mslot *s = &ms[key_slot[k]];

		s->mac = PL_NEIGH_VALID | mac_u64(&sha);
		s->state = M_REACHABLE;
		s->confirmed_ms = now_ms;
		s->probes = 0;
		cov.learned++;
		cov.learn_released += s->n_hold;
		m_release(s);
	}
	/* Asked for the node's address on the uplink. */
	if (op == RTE_ARP_OP_REQUEST && port == uplink_port &&
	    uplink_ip != 0 && tip == uplink_ip && sip != tip) {
		expect_arp(port, RTE_ARP_OP_REPLY, &sha, &UPLINK_MAC,
			   uplink_ip, &sha, sip);
		replied++;
	}
}

/* ---------------------------------------------------------------- checks */

static bool arp_matches(const struct rte_mbuf *m, const struct want_arp *w)
{
	return m->port == w->port && m->nb_segs == 1 &&
	       rte_pktmbuf_pkt_len(m) == w->f.len &&
	       memcmp(rte_pktmbuf_mtod(m, const void *), w->f.b, w->f.len) == 0;
}

/* The frames sent in this step are the ones the model expects: ARP in any
 * order (the table walks its slots in its own), held packets in the order
 * they were held. Frees them. */
static void check_sent(void)
{
	unsigned int pkts = 0;

	for (unsigned int i = 0; i < n_sent; i++) {
		struct rte_mbuf *m = sent[i];
		const struct rte_ether_hdr *eth =
			rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		uint32_t tag[2];

		if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
			unsigned int j;

			for (j = 0; j < n_want_arp; j++)
				if (!want_arp[j].seen &&
				    arp_matches(m, &want_arp[j]))
					break;
			if (j == n_want_arp) {
				fprintf(stderr, "unexpected ARP on port %u\n",
					m->port);
				hexdump("sent", rte_pktmbuf_mtod(m,
					const uint8_t *),
					rte_pktmbuf_data_len(m));
				check_failures++;
			} else {
				want_arp[j].seen = true;
			}
			rte_pktmbuf_free(m);
			continue;
		}
		memcpy(tag, eth + 1, sizeof(tag));
		if (tag[0] != MAGIC || pkts == n_want_pkt) {
			fprintf(stderr, "unexpected packet (seq %u)\n", tag[1]);
			check_failures++;
			rte_pktmbuf_free(m);
			continue;
		}
		const struct want_pkt *w = &want_pkt[pkts++];
		struct rte_ether_addr dst = u64_mac(w->mac);

		if (tag[1] != w->seq || m->port != w->port ||
		    !(w->mac & PL_NEIGH_VALID) ||
		    !rte_is_same_ether_addr(&eth->dst_addr, &dst) ||
		    !rte_is_same_ether_addr(&eth->src_addr, &GW_MAC) ||
		    eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
			fprintf(stderr, "packet seq %u port %u: want seq %u "
				"port %u to %012lx\n", tag[1], m->port, w->seq,
				w->port, (unsigned long)(w->mac & 0xffffffffffffull));
			check_failures++;
		}
		rte_pktmbuf_free(m);
	}
	for (unsigned int j = 0; j < n_want_arp; j++)
		if (!want_arp[j].seen) {
			fprintf(stderr, "ARP on port %u not sent\n",
				want_arp[j].port);
			hexdump("wanted", want_arp[j].f.b, want_arp[j].f.len);
			check_failures++;
		}
	if (pkts != n_want_pkt) {
		fprintf(stderr, "%u held packets sent, want %u\n", pkts,
			n_want_pkt);
		check_failures++;
	}
	n_sent = n_want_arp = n_want_pkt = 0;
}

static void check_state(void)
{
	unsigned int held = 0;
	const struct dp_lcore_stats *st = &dp_stats[rte_lcore_id()];

	for (int k = 0; k < KEYS; k++) {
		uint32_t id = key_slot[k];

		if (id == NONE)
			continue;
		const struct mslot *s = &ms[id];

		/* Valid exactly when resolved, with the MAC last accepted. */
		CHECK_EQ(pl_neigh_load(id), s->mac);
		CHECK_EQ(!!(s->mac & PL_NEIGH_VALID), m_valid(s));
		CHECK(s->n_hold == 0 || !m_valid(s));
		/* Holds end: after CTL_NEIGH_PROBES unanswered requests the
		 * next one drops them. Not for address 0, which no request
		 * can resolve: its packets wait for a MAC to be configured or
		 * the slot to go. */
		for (unsigned int i = 0; i < s->n_hold && key_ip(k) != 0; i++)
			CHECK(s->hold[i].reqs <= CTL_NEIGH_PROBES);
		held += s->n_hold;
	}
	/* Released slots publish nothing. */
	for (unsigned int i = 0; i < RTE_MIN(n_freed, RTE_DIM(freed)); i++)
		if (ms[freed[i]].key == KEY_FREE)
			CHECK_EQ(pl_neigh_load(freed[i]), 0);
	/* The tables' slots stay theirs while they are there. */
	for (unsigned int t = 0; t < n_tabs; t++)
		for (int k = 0; k < KEYS; k++)
			if (tabs[t].id[k] != NONE &&
			    key_slot[k] != tabs[t].id[k]) {
				fprintf(stderr, "key %d: slot %u, tables %u "
					"use %u\n", k, key_slot[k], t,
					tabs[t].id[k]);
				check_failures++;
			}
	/* Every mbuf is the table's (held) or back in the pool. */
	CHECK_EQ(rte_mempool_in_use_count(mp), held);
	uint64_t all = 0;

	for (int d = 0; d < DP_DROP_MAX; d++)
		all += st->drop[d];
	CHECK_EQ(st->drop[DP_DROP_ARP_BAD], drops[DP_DROP_ARP_BAD]);
	CHECK_EQ(st->drop[DP_DROP_NEIGH_FAILED], drops[DP_DROP_NEIGH_FAILED]);
	CHECK_EQ(st->drop[DP_DROP_NEIGH_QUEUE_FULL],
		 drops[DP_DROP_NEIGH_QUEUE_FULL]);
	CHECK_EQ(all, drops[DP_DROP_ARP_BAD] + drops[DP_DROP_NEIGH_FAILED] +
		      drops[DP_DROP_NEIGH_QUEUE_FULL]);
	CHECK_EQ(st->arp_replied, replied);
}

int main(void)
{
	unsigned int seed = getenv("NEIGH_SEED") ?
		(unsigned int)atoi(getenv("NEIGH_SEED")) : 1;
	unsigned int steps = getenv("NEIGH_STEPS") ?
		(unsigned int)atoi(getenv("NEIGH_STEPS")) : STEPS;

	if (golden_eal_init("test_neigh_model") != 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	/* "Stopped answering" is logged at every failure. */
	rte_log_set_level(kdp_logtype, RTE_LOG_CRIT); /* and "table full" */
	/* No cache: the in-use count is exact. At most KEYS slots hold
	 * CTL_NEIGH_HOLD each, plus one step's frames. */
	mp = rte_pktmbuf_pool_create("nm_mp", 2047, 0, 0,
				     RTE_PKTMBUF_HEADROOM + 128, SOCKET_ID_ANY);
	rng_state = seed;
	/* Short timeouts, to refresh often; 0 refreshes at every tick. */
	static const unsigned int timeouts[] = {0, 1, 2, 5, 30};
	unsigned int timeout_s = timeouts[rnd(RTE_DIM(timeouts))];

	timeout_ms = (uint64_t)timeout_s * 1000;
	nb = mp ? ctl_neigh_create(mp, capture, NULL, timeout_s) : NULL;
	if (nb == NULL) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	for (int k = 0; k < KEYS; k++)
		key_slot[k] = NONE;
	for (unsigned int t = 0; t < RTE_DIM(tabs); t++)
		for (int k = 0; k < KEYS; k++)
			tabs[t].id[k] = NONE;
	for (uint32_t i = 0; i < PL_NEIGH_MAX; i++)
		ms[i].key = KEY_FREE;
	now_ms = 1000000; /* a monotonic clock is far from 0 */
	ctl_neigh_tick(nb, now_ms);
	/* The rest of the tables: pinned, never ARPed. */
	ctl_neigh_mark_begin(nb);
	for (uint32_t i = 0; i < FILL; i++) {
		struct rte_ether_addr mac = {{0x02, 0xf1, 0, 0,
					      (uint8_t)(i >> 8), (uint8_t)i}};
		uint32_t id = ctl_neigh_slot(nb, FILL_PORT, FILL_IP(i), &GW_MAC,
					     PL_GW_IP);

		if (id >= PL_NEIGH_MAX || ms[id].key != KEY_FREE) {
			fprintf(stderr, "filler %u: slot %u\n", i, id);
			return 1;
		}
		ctl_neigh_set_static(nb, id, &mac);
		fill_slot[i] = id;
		ms[id].key = KEY_FILL;
		ms[id].state = M_STATIC;
		ms[id].mac = PL_NEIGH_VALID | mac_u64(&mac);
	}
	ctl_neigh_sweep(nb);

	for (step = 0; step < steps; step++) {
		unsigned int r = rnd(100);

		if (r < 8)
			do_publish();
		else if (r < 14)
			do_retire();
		else if (r < 40)
			do_tick();
		else if (r < 70)
			do_input();
		else
			do_hold();
		check_sent();
		check_state();
		if (step % 1000 == 999) {
			/* Telemetry walks every slot: nothing to compare,
			 * but it must not trip ASan. */
			struct rte_tel_data *d = rte_tel_data_alloc();

			ctl_neigh_telemetry(nb, d, (unsigned long)(rand() % 4),
					    200, 11 * 1024);
			rte_tel_data_free(d);
		}
		if (check_failures) {
			fprintf(stderr, "seed %u, step %u failed; the steps "
				"before:\n", seed, step);
			for (unsigned int i = step >= 31 ? step - 31 : 0;
			     i <= step; i++)
				fprintf(stderr, "  %u: %s\n", i,
					trace[i % RTE_DIM(trace)]);
			break;
		}
	}
	/* What is still held is dropped, counted as failed. */
	for (int k = 0; k < KEYS; k++)
		if (key_slot[k] != NONE)
			m_drop_holds(&ms[key_slot[k]]);
	ctl_neigh_free(nb);
	CHECK_EQ(rte_mempool_in_use_count(mp), 0);
	CHECK_EQ(dp_stats[rte_lcore_id()].drop[DP_DROP_NEIGH_FAILED],
		 drops[DP_DROP_NEIGH_FAILED]);
	CHECK_EQ(n_sent, 0);

	printf("neigh model: seed %u, %u steps, timeout %us: %u packets held, "
	       "%lu released (%lu on a reply, %lu on pinning), "
	       "%lu failed (%lu swept), %lu queue full; %lu requests, "
	       "%lu learned, %lu refreshed, %lu expired; %lu ARP bad, "
	       "%lu replied; %lu slots reused (%lu released after a failed "
	       "build), table full %lu times; %u slots live\n",
	       seed, step, timeout_s, next_seq, cov.released,
	       cov.learn_released, cov.pinned_released,
	       (unsigned long)drops[DP_DROP_NEIGH_FAILED], cov.swept_holds,
	       (unsigned long)drops[DP_DROP_NEIGH_QUEUE_FULL], cov.requests,
	       cov.learned, cov.refreshed, cov.expired,
	       (unsigned long)drops[DP_DROP_ARP_BAD], (unsigned long)replied,
	       cov.reused, cov.swept_failed, cov.full, n_live);
	/* A run that never met a case checked nothing of it. */
	if (steps >= STEPS && step == steps) {
		CHECK(cov.learn_released && cov.pinned_released &&
		      cov.swept_holds && cov.refreshed && cov.expired);
		CHECK(cov.reused && cov.swept_failed && cov.full);
		CHECK(drops[DP_DROP_NEIGH_QUEUE_FULL] && drops[DP_DROP_ARP_BAD] &&
		      replied);
	}
	rte_mempool_free(mp);
	rte_eal_cleanup();
	CHECK_DONE();
}
