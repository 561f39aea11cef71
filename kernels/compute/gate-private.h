/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gate-private.h — the per-instruction-set loops of gate_isa.c, for cbam.c
 * (which chooses between them at run time) only. */
#ifndef ATTN_GATE_PRIVATE_H
#define ATTN_GATE_PRIVATE_H

#include <stddef.h>

#include "activation.h"

/* CBAM's channel pools of F (c, hw; its planes ld floats apart, ld ≥ hw:
 * hw pixels of a larger map), F scaled by mc (c, or NULL: 1): pmax[i] =
 * max_c, pmean[i] = mean_c, channels taken in order (every variant gives
 * the same floats). */
#define GATE_POOLS_ARGS \
  (float *pmax, float *pmean, const float *in, const float *mc, int c, \
   int hw, size_t ld)
#define GATE_POOLS(isa) void gate_pools_##isa GATE_POOLS_ARGS
/* out (c, hw) = act(in·mc[c]·ms[i] + identity), the planes of out, in and
 * identity ld floats apart; mc, ms or identity NULL: left out. out may
 * alias in (not identity). */
#define GATE_APPLY_ARGS \
  (float *out, const float *in, const float *mc, const float *ms, \
   const float *identity, int c, int hw, size_t ld, AttnAct act)
#define GATE_APPLY(isa) void gate_apply_##isa GATE_APPLY_ARGS

/* Rows [y0, y1) of CBAM's spatial map before its sigmoid: bias + the k×k
 * convolution (zero padding k/2) of P = [pmax, pmean] (h, wd each) with w
 * (2, k, k); each output adds the taps in the order channel, ky, kx
 * (every variant, and every split into rows, gives the same floats; where
 * two NaNs meet, either may come out). */
#define GATE_SPATIAL_ARGS \
  (float *ms, const float *pmax, const float *pmean, const float *w, \
   float bias, int h, int wd, int k, int y0, int y1)
#define GATE_SPATIAL(isa) void gate_spatial_##isa GATE_SPATIAL_ARGS

GATE_POOLS (generic);
GATE_APPLY (generic);
GATE_SPATIAL (generic);
#ifdef ATTN_HAVE_ISA_VARIANTS
GATE_POOLS (avx2);
GATE_APPLY (avx2);
GATE_SPATIAL (avx2);
GATE_POOLS (avx512);
GATE_APPLY (avx512);
GATE_SPATIAL (avx512);
#endif

#endif
