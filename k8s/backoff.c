/* SPDX-License-Identifier: BSD-3-Clause */
#include "k8s/backoff.h"

void k8s_backoff_init(struct k8s_backoff *b, uint64_t seed)
{
	b->nominal_ms = 0;
	b->last_ms = 0;
	b->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
}

uint64_t k8s_backoff_rand(struct k8s_backoff *b, uint64_t lo, uint64_t hi)
{
	uint64_t x = b->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	b->rng = x;
	if (hi <= lo)
		return lo;
	return lo + x % (hi - lo + 1);
}

uint64_t k8s_backoff_next(struct k8s_backoff *b, uint64_t now_ms)
{
	uint64_t d, lo, hi;

	/* Healthy for long enough since the last retry: start over. */
	if (b->nominal_ms != 0 && now_ms - b->last_ms >= K8S_BACKOFF_RESET_MS)
		b->nominal_ms = 0;
	d = b->nominal_ms ? b->nominal_ms : K8S_BACKOFF_BASE_MS;
	b->nominal_ms = d * 2 > K8S_BACKOFF_MAX_MS ? K8S_BACKOFF_MAX_MS : d * 2;
	b->last_ms = now_ms;
	lo = d * 4 / 5;
	hi = d * 6 / 5;
	if (hi > K8S_BACKOFF_MAX_MS)
		hi = K8S_BACKOFF_MAX_MS;
	return k8s_backoff_rand(b, lo, hi);
}
