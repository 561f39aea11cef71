/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pool_isa.c — the separable max pool, compiled once per instruction set
 * (POOL_ISA = generic | avx2 | avx512, with the flags of
 * kernels/meson.build); pool.c calls the one attn_cpu_isa() names. Plain C
 * that the compiler vectorises: the pool does four operations per float it
 * reads (the NaN rule's compare, compare, or, blend), so wider vectors
 * pay (the stem's pool, 64 planes of 112², 1 thread: 0.47 → 0.34 ms with
 * AVX-512). */
#include "pool-private.h"

#include <math.h>

#ifndef POOL_ISA
#define POOL_ISA generic
#endif
#define POOL_CAT2(a, b) a (b)
#define POOL_CAT(a, b) POOL_CAT2 (a, b)

/* a NaN in the window wins, as in PyTorch */
static inline float
max_nan (float m, float v)
{
  return (v > m || v != v) ? v : m;
}

/* Undilated max pooling, separably: for each output row, the column-wise
 * max of its kh input rows (a vectorisable pass over whole rows) into a row
 * with −∞ on both sides for the padding, then the max over each kw-wide
 * window of that row as kw passes along the output row, tap by tap (no
 * clipping per window: the −∞ does it). Same results as the window loop,
 * NaN included: max is associative and a NaN, once in, stays. The stem's
 * pool (64 planes of 112², 3×3 stride 2) took 1.2 ms on one core with a
 * clipped scalar loop per output, the second pass; 0.5 ms this way. */
POOL_CAT (POOL_MAX_PLANES, POOL_ISA)
{
  int s = p->stride_w, pw = p->pad_w;
  size_t len = maxpool_padded_row (p, w, wo);
  float buf[MAXPOOL_ROW];
  float *row = buf + pw;                /* row[-pw .. len − pw) */
  for (size_t i = 0; i < len; i++)
    buf[i] = -INFINITY;                 /* the padding stays −∞ */
  for (int c = lo; c < hi; c++) {
    const float *x = in + (size_t) c * h * w;
    float *y = out + (size_t) c * ho * wo;
    for (int oy = 0; oy < ho; oy++) {
      int y0 = oy * p->stride_h - p->pad_h, y1 = y0 + p->kh;
      y0 = y0 > 0 ? y0 : 0;
      y1 = y1 < h ? y1 : h;
      for (int ix = 0; ix < w; ix++)
        row[ix] = -INFINITY;
      for (int iy = y0; iy < y1; iy++) {
        const float *src = x + (size_t) iy * w;
        for (int ix = 0; ix < w; ix++)
          row[ix] = max_nan (row[ix], src[ix]);
      }
      float *restrict yr = y + (size_t) oy * wo;
      const float *b = buf;             /* window ox starts at b[ox·s] */
      for (int ox = 0; ox < wo; ox++)
        yr[ox] = b[(size_t) ox * s];
      for (int kx = 1; kx < p->kw; kx++)
        for (int ox = 0; ox < wo; ox++)
          yr[ox] = max_nan (yr[ox], b[(size_t) ox * s + kx]);
    }
  }
}
