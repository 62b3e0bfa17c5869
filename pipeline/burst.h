/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Internal to pipeline/: the instruction-set variants of the per-burst
 * code (burst.c).
 *
 * Debian's DPDK, and so kdp, is built for a baseline x86-64 (corei7:
 * SSE4.2). burst.c is also compiled with AVX2 (and BMI1/2), and
 * pl_ctx_init() picks that variant when the CPU has them and EAL's SIMD
 * width allows 256 bits (`--force-max-simd-bitwidth=128` keeps the base
 * one). Why: the three-operand VEX forms alone take the register copies
 * out of the SSE code, 4-8 instructions a forwarded packet (perf/PROFILE.md
 * round 12); the rest of kdp is not on the per-packet path and stays base.
 *
 * Thread-safety: the variants are constant tables.
 */
#ifndef KDP_PIPELINE_BURST_H
#define KDP_PIPELINE_BURST_H

#include <stdint.h>

#include <rte_mbuf.h>

struct pl_ctx;
struct pl_tables;

/** One variant's entry points (pipeline.h pl_process_burst(),
 * pl_handoff_drain()). */
struct pl_burst_ops {
	const char *isa; /**< "base", "avx2" */
	void (*process)(struct pl_ctx *c, const struct pl_tables *t,
			uint16_t in_port, struct rte_mbuf **pkts, uint16_t n);
	unsigned int (*drain)(struct pl_ctx *c, const struct pl_tables *t);
};

extern const struct pl_burst_ops pl_burst_ops_base;
#ifdef PL_BURST_HAVE_AVX2
extern const struct pl_burst_ops pl_burst_ops_avx2;
#endif

/* Inside burst.c: its names for the variant being compiled (PL_BURST_ISA,
 * set by the build; base by default). */
#ifndef PL_BURST_ISA
#define PL_BURST_ISA base
#endif
#define PL_BURST_CAT_(a, b) a##_##b
#define PL_BURST_CAT(a, b) PL_BURST_CAT_(a, b)
#define PL_BURST_NAME(n) PL_BURST_CAT(n, PL_BURST_ISA)
#define PL_BURST_STR_(a) #a
#define PL_BURST_STR(a) PL_BURST_STR_(a)

#endif /* KDP_PIPELINE_BURST_H */
