/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* direct_isa.c — compiled for AVX-512 only (-march=x86-64-v4, see
 * kernels/meson.build): the direct 3×3 convolution's tile
 * (direct-private.h). Per step (an input channel and a tap) two vectors of
 * weights, np broadcasts of the input, 2·np multiply-adds into 28 zmm
 * accumulators at most.
 *
 * s (the stride) stays a run-time value: with s a constant 2, GCC 12
 * shares each broadcast between the taps of a row that read the same
 * input value, and the longer-lived registers cost copies and spills (the
 * tile ran 35–40 % slower, 128 ch 56² → 28²). */
#include "direct-private.h"

#include <immintrin.h>

static inline __attribute__ ((always_inline)) void
tile (const int np, const int n0, const float *x, const float *x1,
      size_t plane, int wp, int s, const float *wk, int cin, float *part,
      const char *pf, int pf_lines)
{
  __m512 a0[DIRECT_NPX], a1[DIRECT_NPX];
#pragma GCC unroll 14
  for (int q = 0; q < np; q++)
    a0[q] = a1[q] = _mm512_setzero_ps ();
  for (int ci = 0; ci < cin; ci++, x += plane, x1 += plane,
       wk += 9 * DIRECT_OC) {
    for (int j = 0; j < pf_lines; j++, pf += 64)
      _mm_prefetch (pf, _MM_HINT_T1);
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 3
      for (int kx = 0; kx < 3; kx++) {
        const float *xr = x + ky * wp + kx, *xr1 = x1 + ky * wp + kx;
        const float *w = wk + (ky * 3 + kx) * DIRECT_OC;
        __m512 w0 = _mm512_loadu_ps (w), w1 = _mm512_loadu_ps (w + 16);
#pragma GCC unroll 14
        for (int q = 0; q < np; q++) {
          __m512 b = _mm512_set1_ps (q < n0 ? xr[q * s] : xr1[(q - n0) * s]);
          a0[q] = _mm512_fmadd_ps (w0, b, a0[q]);
          a1[q] = _mm512_fmadd_ps (w1, b, a1[q]);
        }
      }
  }
#pragma GCC unroll 14
  for (int q = 0; q < np; q++) {
    _mm512_storeu_ps (part + q * DIRECT_OC, a0[q]);
    _mm512_storeu_ps (part + q * DIRECT_OC + 16, a1[q]);
  }
}

#define TILE(n) \
  case n: tile (n, n, x, x, plane, wp, s, wk, cin, part, pf, pf_lines); break
#define PAIR(n) \
  case n: tile (2 * n, n, x, x + (size_t) s * wp, plane, wp, s, wk, cin, \
                part, pf, pf_lines); break

void
direct_tile_avx512 (int np, const float *x, size_t plane, int wp, int s,
                    const float *wk, int cin, float *part,
                    const char *pf, int pf_lines)
{
  switch (np) {
    TILE (1); TILE (2); TILE (3); TILE (4); TILE (5); TILE (6); TILE (7);
    TILE (8); TILE (9); TILE (10); TILE (11); TILE (12); TILE (13);
    default: tile (DIRECT_NPX, DIRECT_NPX, x, x, plane, wp, s, wk, cin, part,
                   pf, pf_lines);
      break;
  }
}

void
direct_pair_avx512 (int n, const float *x, size_t plane, int wp, int s,
                    const float *wk, int cin, float *part,
                    const char *pf, int pf_lines)
{
  switch (n) {
    PAIR (1); PAIR (2); PAIR (3); PAIR (4); PAIR (5); PAIR (6);
    default: tile (DIRECT_NPX, DIRECT_NPX / 2, x, x + (size_t) s * wp, plane,
                   wp, s, wk, cin, part, pf, pf_lines); break;
  }
}
