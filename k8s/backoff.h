/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Retry delays for the API client, as client-go's reflector does them
 * (calico-model.md §5): 0.8 s doubling to 30 s, jittered, back to 0.8 s once
 * no retry was needed for 2 minutes.
 *
 * Jitter: the delay of step n is drawn uniformly from [0.8·d, 1.2·d] with
 * d = min(800 ms · 2^n, 30 s), and never exceeds 30 s, so that many
 * reflectors failing together spread their retries.
 *
 * Time is passed in (milliseconds, any monotonic origin) so tests are exact.
 */
#ifndef KDP_K8S_BACKOFF_H
#define KDP_K8S_BACKOFF_H

#include <stdint.h>

#define K8S_BACKOFF_BASE_MS 800u
#define K8S_BACKOFF_MAX_MS 30000u
#define K8S_BACKOFF_RESET_MS 120000u

struct k8s_backoff {
	uint64_t nominal_ms; /**< d of the next step, 0 = not started */
	uint64_t last_ms;    /**< when the last delay was handed out */
	uint64_t rng;        /**< xorshift state */
};

void k8s_backoff_init(struct k8s_backoff *b, uint64_t seed);

/** The delay before the next retry, given that a failure happened @p now. */
uint64_t k8s_backoff_next(struct k8s_backoff *b, uint64_t now_ms);

/** A uniform random value in [lo, hi] from the backoff's generator. */
uint64_t k8s_backoff_rand(struct k8s_backoff *b, uint64_t lo, uint64_t hi);

#endif /* KDP_K8S_BACKOFF_H */
