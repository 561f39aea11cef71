/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* blocked_isa.c — compiled for AVX-512 only (-march=x86-64-v4, see
 * kernels/meson.build): the blocked 1×1 convolution's tile
 * (blocked-private.h). Per input channel: the group's weights as nv
 * vectors, np broadcasts of the input (one line per pixel and block of 16
 * channels), nv·np multiply-adds into up to 28 zmm accumulators. */
#include "blocked-private.h"

#include <immintrin.h>

static inline __attribute__ ((always_inline)) void
tile (const int nv, const int np, const float *x, size_t hw16, int kc,
      const float *w, float *y, bool first, bool fin, const float *bias,
      const float *res, bool relu)
{
  __m512 acc[BLOCKED_NPX][4];
#pragma GCC unroll 7
  for (int j = 0; j < np; j++)
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++)
      acc[j][v] = first ? _mm512_setzero_ps ()
          : _mm512_loadu_ps (y + v * hw16 + j * 16);
  for (int c0 = 0; c0 < kc; c0 += 16, x += hw16) {
    int n = kc - c0 < 16 ? kc - c0 : 16;
    for (int c = 0; c < n; c++, w += BLOCKED_OC) {
      __m512 wv[4];
#pragma GCC unroll 4
      for (int v = 0; v < nv; v++)
        wv[v] = _mm512_loadu_ps (w + 16 * v);
#pragma GCC unroll 7
      for (int j = 0; j < np; j++) {
        __m512 b = _mm512_set1_ps (x[j * 16 + c]);
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++)
          acc[j][v] = _mm512_fmadd_ps (wv[v], b, acc[j][v]);
      }
    }
  }
  if (!fin) {
#pragma GCC unroll 7
    for (int j = 0; j < np; j++)
#pragma GCC unroll 4
      for (int v = 0; v < nv; v++)
        _mm512_storeu_ps (y + v * hw16 + j * 16, acc[j][v]);
    return;
  }
  /* x + (bias + res), then ReLU: the GEMM store's order */
  const __m512 zero = _mm512_setzero_ps ();
#pragma GCC unroll 4
  for (int v = 0; v < nv; v++) {
    const __m512 vb = _mm512_loadu_ps (bias + 16 * v);
#pragma GCC unroll 7
    for (int j = 0; j < np; j++) {
      __m512 add = res ? _mm512_add_ps (vb, _mm512_loadu_ps (res + v * hw16
                                                             + j * 16)) : vb;
      __m512 o = _mm512_add_ps (acc[j][v], add);
      if (relu)
        o = _mm512_max_ps (o, zero);
      _mm512_storeu_ps (y + v * hw16 + j * 16, o);
    }
  }
}

#define TILE_NP(nv_, np_) \
  tile (nv_, np_, x, hw16, kc, w, y, first, fin, bias, res, relu)
#define TILE_NV(nv_) \
  do { \
    switch (np) { \
    case 1: TILE_NP (nv_, 1); break; \
    case 2: TILE_NP (nv_, 2); break; \
    case 3: TILE_NP (nv_, 3); break; \
    case 4: TILE_NP (nv_, 4); break; \
    case 5: TILE_NP (nv_, 5); break; \
    case 6: TILE_NP (nv_, 6); break; \
    default: TILE_NP (nv_, 7); break; \
    } \
  } while (0)

void
blocked_tile_avx512 (int nv, int np, const float *x, size_t hw16, int kc,
                     const float *w, float *y, bool first, bool fin,
                     const float *bias, const float *res, bool relu)
{
  switch (nv) {
  case 1: TILE_NV (1); break;
  case 2: TILE_NV (2); break;
  case 3: TILE_NV (3); break;
  default: TILE_NV (4); break;
  }
}
