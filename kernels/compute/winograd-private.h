/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* winograd-private.h — the transforms' per-tile steps of winograd_isa.c,
 * for winograd.c (which chooses them at run time) only. Each does the
 * scalar loop's operations in its order, one tile per lane: the same
 * floats. */
#ifndef ATTN_WINOGRAD_PRIVATE_H
#define ATTN_WINOGRAD_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#ifdef ATTN_HAVE_ISA_VARIANTS
/* (Bᵀ·d)·B for one channel of a segment of n tiles: t holds Bᵀ·d's α rows
 * (α = m + 2), len = m·n + 2 floats apart, tile j's columns at m·j ..
 * m·j + α − 1; plane ξ = α·row + column of tile j goes to o[ξ·ps + j]. */
void wino_input2_avx512 (float *o, size_t ps, const float *t, int len,
                         int n);
void wino_input4_avx512 (float *o, size_t ps, const float *t, int len,
                         int n);

/* Aᵀ·M·A for one output channel of a segment of n tiles: M's α² planes
 * (ps floats apart, tile j at j) → `rows` (≤ m) output rows, wo floats
 * apart, `cols` columns from out (the segment's first); then, if store,
 * x + (bias + res) (res laid out as out, or NULL: x + bias) and ReLU if
 * relu. */
void wino_output2_avx512 (float *out, const float *mm, size_t ps, int rows,
                          int wo, int n, int cols, bool store,
                          const float *res, float bias, bool relu);
void wino_output4_avx512 (float *out, const float *mm, size_t ps, int rows,
                          int wo, int n, int cols, bool store,
                          const float *res, float bias, bool relu);

/* The same steps on AVX2, 8 tiles at a time. */
void wino_input2_avx2 (float *o, size_t ps, const float *t, int len, int n);
void wino_input4_avx2 (float *o, size_t ps, const float *t, int len, int n);
void wino_output2_avx2 (float *out, const float *mm, size_t ps, int rows,
                        int wo, int n, int cols, bool store,
                        const float *res, float bias, bool relu);
void wino_output4_avx2 (float *out, const float *mm, size_t ps, int rows,
                        int wo, int n, int cols, bool store,
                        const float *res, float bias, bool relu);
#endif

#endif
