/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gate_isa.c — the attention gates' passes over a whole feature map, compiled
 * once per instruction set (GATE_ISA = generic | avx2 | avx512, with the
 * flags of kernels/meson.build); cbam.c calls the one attn_cpu_isa() names.
 * Plain C that the compiler vectorises: the passes stream the map from
 * beyond L1 and do a few operations per float, so wider vectors pay where
 * the map is in L2 (14² and 28² maps), little at 56². */
#include "gate-private.h"

#include <math.h>
#include <stddef.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#ifndef GATE_ISA
#define GATE_ISA generic
#endif
#define GATE_CAT2(a, b) a (b)
#define GATE_CAT(a, b) GATE_CAT2 (a, b)

GATE_CAT (GATE_POOLS, GATE_ISA)
{
  size_t n = (size_t) hw;
  float *restrict mx = pmax, *restrict mean = pmean;
  for (size_t i = 0; i < n; i++) {
    mx[i] = -INFINITY;
    mean[i] = 0.0f;
  }
  /* four channels a pass: each pixel's two pooled values are loaded and
   * stored once per four channels, not per channel; the max and the sum
   * still take the channels in order */
  int ci = 0;
  for (; ci + 4 <= c; ci += 4) {
    const float *restrict x0 = in + (size_t) ci * ld;
    const float *restrict x1 = x0 + ld, *restrict x2 = x1 + ld;
    const float *restrict x3 = x2 + ld;
    float s0 = mc ? mc[ci] : 1.0f, s1 = mc ? mc[ci + 1] : 1.0f;
    float s2 = mc ? mc[ci + 2] : 1.0f, s3 = mc ? mc[ci + 3] : 1.0f;
    for (size_t i = 0; i < n; i++) {
      float v0 = x0[i] * s0, v1 = x1[i] * s1, v2 = x2[i] * s2;
      float v3 = x3[i] * s3, m = mx[i];
      m = v0 > m ? v0 : m;
      m = v1 > m ? v1 : m;
      m = v2 > m ? v2 : m;
      m = v3 > m ? v3 : m;
      mx[i] = m;
      mean[i] = (((mean[i] + v0) + v1) + v2) + v3;
    }
  }
  for (; ci < c; ci++) {
    const float *restrict x = in + (size_t) ci * ld;
    float s = mc ? mc[ci] : 1.0f;
    for (size_t i = 0; i < n; i++) {
      float v = x[i] * s;
      mx[i] = v > mx[i] ? v : mx[i];
      mean[i] += v;
    }
  }
  float inv_c = 1.0f / (float) c;
  for (size_t i = 0; i < n; i++)
    mean[i] *= inv_c;
}

/* One channel: y = x·s·ms + id (ms, id where given), ReLU in the same loop
 * when relu; each call site passes constants, so each inlined copy is one
 * branch-free loop. No restrict on x, y: out may alias in. */
static inline __attribute__ ((always_inline)) void
apply_row (float *y, const float *x, float s, const float *restrict ms,
           const float *restrict id, int hw, int relu)
{
  for (int i = 0; i < hw; i++) {
    float v = x[i] * s;
    if (ms)
      v = v * ms[i];
    if (id)
      v = v + id[i];
    y[i] = relu ? (v > 0.0f ? v : 0.0f) : v;
  }
}

/* apply_row with the optional inputs that are there, as constants */
static inline __attribute__ ((always_inline)) void
apply_any (float *y, const float *x, float s, const float *ms,
           const float *id, int hw, int relu)
{
  if (ms && id)
    apply_row (y, x, s, ms, id, hw, relu);
  else if (ms)
    apply_row (y, x, s, ms, NULL, hw, relu);
  else if (id)
    apply_row (y, x, s, NULL, id, hw, relu);
  else
    apply_row (y, x, s, NULL, NULL, hw, relu);
}

GATE_CAT (GATE_APPLY, GATE_ISA)
{
  for (int ci = 0; ci < c; ci++) {
    const float *x = in + (size_t) ci * ld;
    const float *id = identity ? identity + (size_t) ci * ld : NULL;
    float *y = out + (size_t) ci * ld;
    float s = mc ? mc[ci] : 1.0f;
    if (act == ATTN_ACT_RELU) {
      apply_any (y, x, s, ms, id, hw, 1);
    } else {
      apply_any (y, x, s, ms, id, hw, 0);
      attn_activate (y, (size_t) hw, act);
    }
  }
}

#if defined(__AVX512F__)
#define SPATIAL_MAX_K 31        /* wider kernels take the loops below */

/* AVX-512: an output row stays in registers, up to 64 columns at a time,
 * through all 2·k² taps, where the loops below load and store the row at
 * every tap (a 56² map's 7×7 convolution 43 → 17 µs on one core). A tap
 * whose columns fall off the map leaves those lanes as they are (masked
 * loads and adds), as the loops below do by not visiting them: the same
 * floats, tap by tap in the same order. The masks depend on the columns
 * and kx only, so they are worked out once per 64 columns. */
static void
spatial_avx512 (float *ms, const float *pmax, const float *pmean,
                const float *w, float bias, int h, int wd, int k, int y0,
                int y1)
{
  int pad = k / 2;
  __mmask16 mask[SPATIAL_MAX_K][4];
  int from[SPATIAL_MAX_K][4];   /* lanes below it are off the map */
  for (int x0 = 0; x0 < wd; x0 += 64) {
    for (int kx = 0; kx < k; kx++)
      for (int j = 0; j < 4; j++) {
        /* lanes l with column x = x0 + 16j + l on the map and x + dx on
         * it too */
        int dx = kx - pad, ox = x0 + 16 * j, lo = -dx - ox, hi = wd - ox;
        lo = lo > 0 ? lo : 0;
        hi = wd - dx - ox < hi ? wd - dx - ox : hi;
        hi = hi < 16 ? hi : 16;
        mask[kx][j] = hi > lo
            ? (__mmask16) ((0xFFFFu >> (16 - (hi - lo))) << lo) : 0;
        from[kx][j] = lo;
      }
    for (int oy = y0; oy < y1; oy++) {
      __m512 acc[4];
      for (int j = 0; j < 4; j++)
        acc[j] = _mm512_set1_ps (bias);
      for (int ch = 0; ch < 2; ch++)
        for (int ky = 0; ky < k; ky++) {
          int iy = oy + ky - pad;
          if (iy < 0 || iy >= h)
            continue;
          const float *row = (ch == 0 ? pmax : pmean) + (size_t) iy * wd
              + x0;
          for (int kx = 0; kx < k; kx++) {
            __m512 wv = _mm512_set1_ps (w[(ch * k + ky) * k + kx]);
            for (int j = 0; j < 4; j++) {
              __mmask16 m = mask[kx][j];
              if (!m)
                continue;
              /* from the first column on the map: lanes below `from`
               * would read before the row (an expand load fills lanes
               * from there on) */
              const float *at = row + (16 * j + kx - pad + from[kx][j]);
              __m512 v = from[kx][j] == 0 ? _mm512_maskz_loadu_ps (m, at)
                  : _mm512_maskz_expandloadu_ps (m, at);
              acc[j] = _mm512_mask_add_ps (acc[j], m, acc[j],
                                           _mm512_mul_ps (wv, v));
            }
          }
        }
      for (int j = 0; j < 4; j++) {
        int n = wd - x0 - 16 * j;
        if (n <= 0)
          break;
        __mmask16 m = (__mmask16) (n >= 16 ? 0xFFFFu : 0xFFFFu >> (16 - n));
        _mm512_mask_storeu_ps (ms + (size_t) oy * wd + x0 + 16 * j, m,
                               acc[j]);
      }
    }
  }
}
#endif

GATE_CAT (GATE_SPATIAL, GATE_ISA)
{
#if defined(__AVX512F__)
  if (k <= SPATIAL_MAX_K) {
    spatial_avx512 (ms, pmax, pmean, w, bias, h, wd, k, y0, y1);
    return;
  }
#endif

  int pad = k / 2;
  for (int oy = y0; oy < y1; oy++)
    for (int ox = 0; ox < wd; ox++)
      ms[(size_t) oy * wd + ox] = bias;
  /* tap by tap, so that the inner loop runs along contiguous rows */
  for (int ch = 0; ch < 2; ch++) {
    const float *pl = ch == 0 ? pmax : pmean;
    for (int ky = 0; ky < k; ky++)
      for (int kx = 0; kx < k; kx++) {
        float wv = w[(ch * k + ky) * k + kx];
        int dy = ky - pad, dx = kx - pad;
        int x0 = dx < 0 ? -dx : 0, x1 = dx > 0 ? wd - dx : wd;
        for (int oy = y0; oy < y1; oy++) {
          int iy = oy + dy;
          if (iy < 0 || iy >= h)
            continue;
          float *restrict dst = ms + (size_t) oy * wd;
          const float *restrict src = pl + (size_t) iy * wd + dx;
          for (int ox = x0; ox < x1; ox++)
            dst[ox] += wv * src[ox];
        }
      }
  }
}
