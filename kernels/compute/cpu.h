/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cpu.h — which instruction set the per-pixel and compute loops run on.
 *
 * The build stays generic x86-64 (no -march=native); loops that gain from
 * wider vectors are compiled again for AVX2+FMA (x86-64-v3) and AVX-512
 * (x86-64-v4: F, BW, VL, DQ), and the variant run is chosen at run time
 * from what this CPU reports. ATTN_ISA=generic|avx2|avx512 in the
 * environment (read once) or attn_cpu_set_isa (tests, benchmarks) picks a
 * lower one; a higher one than the CPU has is never used. Plain C11;
 * thread-safe. */
#ifndef ATTN_CPU_H
#define ATTN_CPU_H

#include <stdbool.h>

typedef enum {
  ATTN_ISA_GENERIC,
  ATTN_ISA_AVX2,          /* AVX2 + FMA (x86-64-v3) */
  ATTN_ISA_AVX512,        /* AVX-512 F, BW, VL, DQ (x86-64-v4) */
  ATTN_ISA_COUNT
} AttnIsa;

/* The best variant this CPU runs (and this build has). */
AttnIsa attn_cpu_best (void);
/* The variant in use: the best, or lower as ATTN_ISA or
 * attn_cpu_set_isa asked. */
AttnIsa attn_cpu_isa (void);
/* Uses `isa` from now on (capped at attn_cpu_best); returns what is used. */
AttnIsa attn_cpu_set_isa (AttnIsa isa);
const char *attn_isa_name (AttnIsa isa);

/* Whether the AVX-512 loops run on multiply-add units half as wide as
 * their vectors: AMD's family 19h (Zen 4) executes each 512-bit FMA as
 * two 256-bit halves, so a core's FMA peak is half a full-width core's
 * at the same clock while its memory bandwidth is not. Plans trade
 * weight traffic for multiply-adds by it (winograd.h's tiles, the
 * blocked plan's Winograd). False unless AVX-512 is the variant in use;
 * ATTN_FMA=half|full in the environment (read once) or
 * attn_cpu_set_fma_half (tests) overrides what the CPU reports. */
bool attn_cpu_fma_half (void);
/* Forces the answer; returns the one it replaces. */
bool attn_cpu_set_fma_half (bool half);

#endif
