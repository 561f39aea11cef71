/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* winograd_isa.c — the transforms' per-tile steps of winograd.c on AVX-512
 * (compiled with -march=x86-64-v4; see kernels/meson.build), one tile per
 * lane, 16 tiles at a time.
 *
 * In winograd.c's NCHW the tiles of a segment lie m floats apart along a
 * row, so the scalar loops read and write with a stride of m, which the
 * compiler leaves scalar (it was measured: compiling those loops for
 * AVX-512 changed nothing). Here a tile row's columns are dealt out to
 * registers by permutes on the way in (the input transform's ·B), and the
 * output tiles' columns are interleaved in registers on the way out (the
 * output transform's ·A), where the store's steps (bias, residual, ReLU)
 * are applied before the one write. Every lane does the scalar loop's
 * operations in its order (C11 does not contract a·b + c), so the floats
 * are the same (test_winograd compares them bit for bit). */
#include "winograd-private.h"

#include <immintrin.h>

/* the first `count` lanes (none at or below 0, all at or above 16) */
static inline __mmask16
lanes (int count)
{
  return (__mmask16) (count >= 16 ? 0xFFFF : count <= 0 ? 0
                      : (1u << count) - 1);
}

/* x + (bias + res) where store, then ReLU where relu, written to the first
 * `count` floats of dst */
static inline void
store_cols (float *dst, __m512 x, int count, bool store, const float *res,
            __m512 bias, bool relu)
{
  __mmask16 k = lanes (count);
  if (store) {
    __m512 add = res ? _mm512_add_ps (bias, _mm512_maskz_loadu_ps (k, res))
        : bias;
    x = _mm512_add_ps (x, add);
    if (relu)                   /* max(NaN or −0, 0) is +0, as the scalar */
      x = _mm512_max_ps (x, _mm512_setzero_ps ());
  }
  _mm512_mask_storeu_ps (dst, k, x);
}

/* lanes 1 .. 15 of a, then lane 0 of b: the next tile's value of a's
 * column */
static inline __m512
next_tile (__m512 a, __m512 b)
{
  return _mm512_castsi512_ps (_mm512_alignr_epi32 (_mm512_castps_si512 (b),
                                                   _mm512_castps_si512 (a),
                                                   1));
}

void
wino_input2_avx512 (float *o, size_t ps, const float *t, int len, int n)
{
  const __m512i even = _mm512_setr_epi32 (0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                          20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32 (even, _mm512_set1_epi32 (1));
  for (int j0 = 0; j0 < n; j0 += 16) {
    __mmask16 k = lanes (n - j0);
    int avail = len - 2 * j0;
    for (int r = 0; r < 4; r++) {
      const float *tr = t + (size_t) r * len + 2 * j0;
      __m512 a0 = _mm512_maskz_loadu_ps (lanes (avail), tr);
      __m512 a1 = _mm512_maskz_loadu_ps (lanes (avail - 16), tr + 16);
      __m512 e = _mm512_maskz_loadu_ps (lanes (avail - 32), tr + 32);
      /* q_c lane j = tr[2j + c] */
      __m512 q0 = _mm512_permutex2var_ps (a0, even, a1);
      __m512 q1 = _mm512_permutex2var_ps (a0, odd, a1);
      __m512 q2 = next_tile (q0, e);
      __m512 q3 = next_tile (q1, next_tile (e, e));
      float *row = o + (size_t) 4 * r * ps + j0;
      _mm512_mask_storeu_ps (row, k, _mm512_sub_ps (q0, q2));
      _mm512_mask_storeu_ps (row + ps, k, _mm512_add_ps (q1, q2));
      _mm512_mask_storeu_ps (row + 2 * ps, k, _mm512_sub_ps (q2, q1));
      _mm512_mask_storeu_ps (row + 3 * ps, k, _mm512_sub_ps (q1, q3));
    }
  }
}

void
wino_input4_avx512 (float *o, size_t ps, const float *t, int len, int n)
{
  /* columns 0, 1 (then 2, 3) of the 8 tiles in a pair of registers */
  const __m512i c01 = _mm512_setr_epi32 (0, 4, 8, 12, 16, 20, 24, 28,
                                         1, 5, 9, 13, 17, 21, 25, 29);
  const __m512i c23 = _mm512_add_epi32 (c01, _mm512_set1_epi32 (2));
  const __m512 two = _mm512_set1_ps (2.0f), four = _mm512_set1_ps (4.0f);
  const __m512 five = _mm512_set1_ps (5.0f);
  for (int j0 = 0; j0 < n; j0 += 16) {
    __mmask16 k = lanes (n - j0);
    int avail = len - 4 * j0;
    for (int r = 0; r < 6; r++) {
      const float *tr = t + (size_t) r * len + 4 * j0;
      __m512 a0 = _mm512_maskz_loadu_ps (lanes (avail), tr);
      __m512 a1 = _mm512_maskz_loadu_ps (lanes (avail - 16), tr + 16);
      __m512 a2 = _mm512_maskz_loadu_ps (lanes (avail - 32), tr + 32);
      __m512 a3 = _mm512_maskz_loadu_ps (lanes (avail - 48), tr + 48);
      __m512 e = _mm512_maskz_loadu_ps (lanes (avail - 64), tr + 64);
      __m512 lo01 = _mm512_permutex2var_ps (a0, c01, a1);
      __m512 lo23 = _mm512_permutex2var_ps (a0, c23, a1);
      __m512 hi01 = _mm512_permutex2var_ps (a2, c01, a3);
      __m512 hi23 = _mm512_permutex2var_ps (a2, c23, a3);
      /* q_c lane j = tr[4j + c] */
      __m512 q0 = _mm512_shuffle_f32x4 (lo01, hi01, 0x44);
      __m512 q1 = _mm512_shuffle_f32x4 (lo01, hi01, 0xEE);
      __m512 q2 = _mm512_shuffle_f32x4 (lo23, hi23, 0x44);
      __m512 q3 = _mm512_shuffle_f32x4 (lo23, hi23, 0xEE);
      __m512 q4 = next_tile (q0, e);
      __m512 q5 = next_tile (q1, next_tile (e, e));
      /* input_segment4's ·B, as it writes it */
      __m512 ee = _mm512_sub_ps (q4, q2), f = _mm512_sub_ps (q1, q3);
      __m512 s12 = _mm512_add_ps (q1, q2), s34 = _mm512_add_ps (q3, q4);
      __m512 u12 = _mm512_sub_ps (q1, q2), u34 = _mm512_sub_ps (q3, q4);
      float *row = o + (size_t) 6 * r * ps + j0;
      _mm512_mask_storeu_ps (row, k, _mm512_add_ps
                             (_mm512_sub_ps (_mm512_mul_ps (four, q0),
                                             _mm512_mul_ps (five, q2)), q4));
      _mm512_mask_storeu_ps (row + ps, k,
                             _mm512_sub_ps (s34, _mm512_mul_ps (four, s12)));
      _mm512_mask_storeu_ps (row + 2 * ps, k,
                             _mm512_sub_ps (_mm512_mul_ps (four, u12), u34));
      _mm512_mask_storeu_ps (row + 3 * ps, k,
                             _mm512_sub_ps (ee, _mm512_mul_ps (two, f)));
      _mm512_mask_storeu_ps (row + 4 * ps, k,
                             _mm512_add_ps (ee, _mm512_mul_ps (two, f)));
      _mm512_mask_storeu_ps (row + 5 * ps, k, _mm512_add_ps
                             (_mm512_sub_ps (_mm512_mul_ps (four, q1),
                                             _mm512_mul_ps (five, q3)), q5));
    }
  }
}

void
wino_output2_avx512 (float *out, const float *mm, size_t ps, int rows,
                     int wo, int n, int cols, bool store, const float *res,
                     float bias, bool relu)
{
  /* lanes j of y0, y1 → floats 2j, 2j + 1: the first 8 tiles, the last 8 */
  const __m512i lo = _mm512_setr_epi32 (0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5,
                                        21, 6, 22, 7, 23);
  const __m512i hi = _mm512_add_epi32 (lo, _mm512_set1_epi32 (8));
  const __m512 vb = _mm512_set1_ps (bias);
  for (int j0 = 0; j0 < n; j0 += 16) {
    __mmask16 k = lanes (n - j0);
    __m512 r[2][4];
    for (int s = 0; s < 4; s++) {         /* Aᵀ·M: rows 0 and 1, column s */
      const float *q = mm + j0;
      __m512 m0 = _mm512_maskz_loadu_ps (k, q + (size_t) s * ps);
      __m512 m1 = _mm512_maskz_loadu_ps (k, q + (size_t) (4 + s) * ps);
      __m512 m2 = _mm512_maskz_loadu_ps (k, q + (size_t) (8 + s) * ps);
      __m512 m3 = _mm512_maskz_loadu_ps (k, q + (size_t) (12 + s) * ps);
      r[0][s] = _mm512_add_ps (_mm512_add_ps (m0, m1), m2);
      r[1][s] = _mm512_sub_ps (_mm512_sub_ps (m1, m2), m3);
    }
    int left = cols - 2 * j0;
    for (int i = 0; i < rows; i++) {      /* (Aᵀ·M)·A */
      __m512 y0 = _mm512_add_ps (_mm512_add_ps (r[i][0], r[i][1]), r[i][2]);
      __m512 y1 = _mm512_sub_ps (_mm512_sub_ps (r[i][1], r[i][2]), r[i][3]);
      size_t at = (size_t) i * wo + 2 * j0;
      const float *rr = res ? res + at : NULL;
      store_cols (out + at, _mm512_permutex2var_ps (y0, lo, y1), left,
                  store, rr, vb, relu);
      if (left > 16)
        store_cols (out + at + 16, _mm512_permutex2var_ps (y0, hi, y1),
                    left - 16, store, rr ? rr + 16 : NULL, vb, relu);
    }
  }
}

void
wino_output4_avx512 (float *out, const float *mm, size_t ps, int rows,
                     int wo, int n, int cols, bool store, const float *res,
                     float bias, bool relu)
{
  const __m512 two = _mm512_set1_ps (2.0f), four = _mm512_set1_ps (4.0f);
  const __m512 eight = _mm512_set1_ps (8.0f), vb = _mm512_set1_ps (bias);
  for (int j0 = 0; j0 < n; j0 += 16) {
    __mmask16 k = lanes (n - j0);
    __m512 r[4][6];
    for (int s = 0; s < 6; s++) {         /* Aᵀ·M: rows 0 .. 3, column s */
      const float *q = mm + j0;
      __m512 m0 = _mm512_maskz_loadu_ps (k, q + (size_t) s * ps);
      __m512 m1 = _mm512_maskz_loadu_ps (k, q + (size_t) (6 + s) * ps);
      __m512 m2 = _mm512_maskz_loadu_ps (k, q + (size_t) (12 + s) * ps);
      __m512 m3 = _mm512_maskz_loadu_ps (k, q + (size_t) (18 + s) * ps);
      __m512 m4 = _mm512_maskz_loadu_ps (k, q + (size_t) (24 + s) * ps);
      __m512 m5 = _mm512_maskz_loadu_ps (k, q + (size_t) (30 + s) * ps);
      __m512 p = _mm512_add_ps (m1, m2), d = _mm512_sub_ps (m1, m2);
      __m512 u = _mm512_add_ps (m3, m4), v = _mm512_sub_ps (m3, m4);
      r[0][s] = _mm512_add_ps (_mm512_add_ps (m0, p), u);
      r[1][s] = _mm512_add_ps (d, _mm512_mul_ps (two, v));
      r[2][s] = _mm512_add_ps (p, _mm512_mul_ps (four, u));
      r[3][s] = _mm512_add_ps (_mm512_add_ps (d, _mm512_mul_ps (eight, v)),
                               m5);
    }
    int left = cols - 4 * j0;
    for (int i = 0; i < rows; i++) {      /* (Aᵀ·M)·A */
      __m512 p = _mm512_add_ps (r[i][1], r[i][2]);
      __m512 d = _mm512_sub_ps (r[i][1], r[i][2]);
      __m512 u = _mm512_add_ps (r[i][3], r[i][4]);
      __m512 v = _mm512_sub_ps (r[i][3], r[i][4]);
      __m512 y0 = _mm512_add_ps (_mm512_add_ps (r[i][0], p), u);
      __m512 y1 = _mm512_add_ps (d, _mm512_mul_ps (two, v));
      __m512 y2 = _mm512_add_ps (p, _mm512_mul_ps (four, u));
      __m512 y3 = _mm512_add_ps (_mm512_add_ps (d, _mm512_mul_ps (eight, v)),
                                 r[i][5]);
      /* lane j of y0 .. y3 → floats 4j .. 4j + 3: a 4×4 transpose within
       * each 128-bit block (tiles 4b .. 4b + 3 of block b), then of the
       * blocks */
      __m512d u0 = _mm512_castps_pd (_mm512_unpacklo_ps (y0, y1));
      __m512d u1 = _mm512_castps_pd (_mm512_unpackhi_ps (y0, y1));
      __m512d u2 = _mm512_castps_pd (_mm512_unpacklo_ps (y2, y3));
      __m512d u3 = _mm512_castps_pd (_mm512_unpackhi_ps (y2, y3));
      __m512 z0 = _mm512_castpd_ps (_mm512_unpacklo_pd (u0, u2));
      __m512 z1 = _mm512_castpd_ps (_mm512_unpackhi_pd (u0, u2));
      __m512 z2 = _mm512_castpd_ps (_mm512_unpacklo_pd (u1, u3));
      __m512 z3 = _mm512_castpd_ps (_mm512_unpackhi_pd (u1, u3));
      __m512 w0 = _mm512_shuffle_f32x4 (z0, z1, 0x44);
      __m512 w1 = _mm512_shuffle_f32x4 (z0, z1, 0xEE);
      __m512 w2 = _mm512_shuffle_f32x4 (z2, z3, 0x44);
      __m512 w3 = _mm512_shuffle_f32x4 (z2, z3, 0xEE);
      __m512 o[4] = {
        _mm512_shuffle_f32x4 (w0, w2, 0x88), _mm512_shuffle_f32x4 (w0, w2, 0xDD),
        _mm512_shuffle_f32x4 (w1, w3, 0x88), _mm512_shuffle_f32x4 (w1, w3, 0xDD),
      };
      size_t at = (size_t) i * wo + 4 * j0;
      for (int g = 0; g < 4 && 16 * g < left; g++)
        store_cols (out + at + 16 * g, o[g], left - 16 * g, store,
                    res ? res + at + 16 * g : NULL, vb, relu);
    }
  }
}
