/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* winograd_isa.c — the transforms' per-tile steps of winograd.c, compiled
 * once per instruction set (-march=x86-64-v4 for AVX-512, -v3 for AVX2;
 * see kernels/meson.build), one tile per lane: 16 tiles at a time on
 * AVX-512, 8 on AVX2.
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

#if defined(__AVX512F__)

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

#else /* AVX2 */

/* The AVX-512 steps above, 8 tiles at a time. AVX2 has no two-source
 * permute: the input's columns are dealt out by in-lane shuffles and
 * unpacks, then one cross-lane permute; the output's interleave by
 * unpacks and 128-bit block moves. The lanes' operations are the same. */

/* the first `count` lanes (none at or below 0, all at or above 8) */
static inline __m256i
lanes (int count)
{
  return _mm256_cmpgt_epi32 (_mm256_set1_epi32 (count),
                             _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7));
}

static inline __m256
load_n (const float *p, int count)
{
  return count >= 8 ? _mm256_loadu_ps (p) : count <= 0
      ? _mm256_setzero_ps () : _mm256_maskload_ps (p, lanes (count));
}

static inline void
store_n (float *p, int count, __m256 x)
{
  if (count >= 8)
    _mm256_storeu_ps (p, x);
  else if (count > 0)
    _mm256_maskstore_ps (p, lanes (count), x);
}

static inline void
store_cols (float *dst, __m256 x, int count, bool store, const float *res,
            __m256 bias, bool relu)
{
  if (store) {
    __m256 add = res ? _mm256_add_ps (bias, load_n (res, count)) : bias;
    x = _mm256_add_ps (x, add);
    if (relu)                   /* max(NaN or −0, 0) is +0, as the scalar */
      x = _mm256_max_ps (x, _mm256_setzero_ps ());
  }
  store_n (dst, count, x);
}

/* lanes 1 .. 7 of a, then lane 0 of b */
static inline __m256
next_tile (__m256 a, __m256 b)
{
  const __m256i rot = _mm256_setr_epi32 (1, 2, 3, 4, 5, 6, 7, 0);
  return _mm256_blend_ps (_mm256_permutevar8x32_ps (a, rot),
                          _mm256_permutevar8x32_ps (b, rot), 0x80);
}

/* the even (odd) floats of a then b: [a0 a2 a4 a6 b0 b2 b4 b6] */
static inline __m256
evens (__m256 a, __m256 b, int odd)
{
  __m256 x = odd ? _mm256_shuffle_ps (a, b, 0xDD) : _mm256_shuffle_ps (a, b,
                                                                       0x88);
  return _mm256_castpd_ps (_mm256_permute4x64_pd (_mm256_castps_pd (x),
                                                  0xD8));
}

void
wino_input2_avx2 (float *o, size_t ps, const float *t, int len, int n)
{
  for (int j0 = 0; j0 < n; j0 += 8) {
    int cnt = n - j0;
    int avail = len - 2 * j0;
    for (int r = 0; r < 4; r++) {
      const float *tr = t + (size_t) r * len + 2 * j0;
      __m256 a0 = load_n (tr, avail), a1 = load_n (tr + 8, avail - 8);
      __m256 e = load_n (tr + 16, avail - 16);
      /* q_c lane j = tr[2j + c] */
      __m256 q0 = evens (a0, a1, 0), q1 = evens (a0, a1, 1);
      __m256 q2 = next_tile (q0, e);
      __m256 q3 = next_tile (q1, next_tile (e, e));
      float *row = o + (size_t) 4 * r * ps + j0;
      store_n (row, cnt, _mm256_sub_ps (q0, q2));
      store_n (row + ps, cnt, _mm256_add_ps (q1, q2));
      store_n (row + 2 * ps, cnt, _mm256_sub_ps (q2, q1));
      store_n (row + 3 * ps, cnt, _mm256_sub_ps (q1, q3));
    }
  }
}

void
wino_input4_avx2 (float *o, size_t ps, const float *t, int len, int n)
{
  /* unpacked, tiles come out in the order 0 2 4 6 | 1 3 5 7 */
  const __m256i order = _mm256_setr_epi32 (0, 4, 1, 5, 2, 6, 3, 7);
  const __m256 two = _mm256_set1_ps (2.0f), four = _mm256_set1_ps (4.0f);
  const __m256 five = _mm256_set1_ps (5.0f);
  for (int j0 = 0; j0 < n; j0 += 8) {
    int cnt = n - j0;
    int avail = len - 4 * j0;
    for (int r = 0; r < 6; r++) {
      const float *tr = t + (size_t) r * len + 4 * j0;
      __m256 a0 = load_n (tr, avail), a1 = load_n (tr + 8, avail - 8);
      __m256 a2 = load_n (tr + 16, avail - 16);
      __m256 a3 = load_n (tr + 24, avail - 24);
      __m256 e = load_n (tr + 32, avail - 32);
      __m256 l01 = _mm256_unpacklo_ps (a0, a1), h01 = _mm256_unpackhi_ps (a0,
                                                                          a1);
      __m256 l23 = _mm256_unpacklo_ps (a2, a3), h23 = _mm256_unpackhi_ps (a2,
                                                                          a3);
#define COLUMN(lo_hi, x, y) \
  _mm256_permutevar8x32_ps (_mm256_castpd_ps (lo_hi (_mm256_castps_pd (x), \
                                                     _mm256_castps_pd (y))), \
                            order)
      /* q_c lane j = tr[4j + c] */
      __m256 q0 = COLUMN (_mm256_unpacklo_pd, l01, l23);
      __m256 q1 = COLUMN (_mm256_unpackhi_pd, l01, l23);
      __m256 q2 = COLUMN (_mm256_unpacklo_pd, h01, h23);
      __m256 q3 = COLUMN (_mm256_unpackhi_pd, h01, h23);
#undef COLUMN
      __m256 q4 = next_tile (q0, e);
      __m256 q5 = next_tile (q1, next_tile (e, e));
      /* input_segment4's ·B, as it writes it */
      __m256 ee = _mm256_sub_ps (q4, q2), f = _mm256_sub_ps (q1, q3);
      __m256 s12 = _mm256_add_ps (q1, q2), s34 = _mm256_add_ps (q3, q4);
      __m256 u12 = _mm256_sub_ps (q1, q2), u34 = _mm256_sub_ps (q3, q4);
      float *row = o + (size_t) 6 * r * ps + j0;
      store_n (row, cnt, _mm256_add_ps (_mm256_sub_ps (_mm256_mul_ps (four, q0),
                                                       _mm256_mul_ps (five, q2)),
                                        q4));
      store_n (row + ps, cnt, _mm256_sub_ps (s34, _mm256_mul_ps (four, s12)));
      store_n (row + 2 * ps, cnt,
               _mm256_sub_ps (_mm256_mul_ps (four, u12), u34));
      store_n (row + 3 * ps, cnt, _mm256_sub_ps (ee, _mm256_mul_ps (two, f)));
      store_n (row + 4 * ps, cnt, _mm256_add_ps (ee, _mm256_mul_ps (two, f)));
      store_n (row + 5 * ps, cnt, _mm256_add_ps (_mm256_sub_ps
                                                 (_mm256_mul_ps (four, q1),
                                                  _mm256_mul_ps (five, q3)),
                                                 q5));
    }
  }
}

void
wino_output2_avx2 (float *out, const float *mm, size_t ps, int rows, int wo,
                   int n, int cols, bool store, const float *res, float bias,
                   bool relu)
{
  const __m256 vb = _mm256_set1_ps (bias);
  for (int j0 = 0; j0 < n; j0 += 8) {
    int cnt = n - j0;
    __m256 r[2][4];
    for (int s = 0; s < 4; s++) {         /* Aᵀ·M: rows 0 and 1, column s */
      const float *q = mm + j0;
      __m256 m0 = load_n (q + (size_t) s * ps, cnt);
      __m256 m1 = load_n (q + (size_t) (4 + s) * ps, cnt);
      __m256 m2 = load_n (q + (size_t) (8 + s) * ps, cnt);
      __m256 m3 = load_n (q + (size_t) (12 + s) * ps, cnt);
      r[0][s] = _mm256_add_ps (_mm256_add_ps (m0, m1), m2);
      r[1][s] = _mm256_sub_ps (_mm256_sub_ps (m1, m2), m3);
    }
    int left = cols - 2 * j0;
    for (int i = 0; i < rows; i++) {      /* (Aᵀ·M)·A */
      __m256 y0 = _mm256_add_ps (_mm256_add_ps (r[i][0], r[i][1]), r[i][2]);
      __m256 y1 = _mm256_sub_ps (_mm256_sub_ps (r[i][1], r[i][2]), r[i][3]);
      /* lanes j of y0, y1 → floats 2j, 2j + 1 */
      __m256 lo = _mm256_unpacklo_ps (y0, y1), hi = _mm256_unpackhi_ps (y0,
                                                                        y1);
      size_t at = (size_t) i * wo + 2 * j0;
      const float *rr = res ? res + at : NULL;
      store_cols (out + at, _mm256_permute2f128_ps (lo, hi, 0x20), left,
                  store, rr, vb, relu);
      if (left > 8)
        store_cols (out + at + 8, _mm256_permute2f128_ps (lo, hi, 0x31),
                    left - 8, store, rr ? rr + 8 : NULL, vb, relu);
    }
  }
}

void
wino_output4_avx2 (float *out, const float *mm, size_t ps, int rows, int wo,
                   int n, int cols, bool store, const float *res, float bias,
                   bool relu)
{
  const __m256 two = _mm256_set1_ps (2.0f), four = _mm256_set1_ps (4.0f);
  const __m256 eight = _mm256_set1_ps (8.0f), vb = _mm256_set1_ps (bias);
  for (int j0 = 0; j0 < n; j0 += 8) {
    int cnt = n - j0;
    __m256 r[4][6];
    for (int s = 0; s < 6; s++) {         /* Aᵀ·M: rows 0 .. 3, column s */
      const float *q = mm + j0;
      __m256 m0 = load_n (q + (size_t) s * ps, cnt);
      __m256 m1 = load_n (q + (size_t) (6 + s) * ps, cnt);
      __m256 m2 = load_n (q + (size_t) (12 + s) * ps, cnt);
      __m256 m3 = load_n (q + (size_t) (18 + s) * ps, cnt);
      __m256 m4 = load_n (q + (size_t) (24 + s) * ps, cnt);
      __m256 m5 = load_n (q + (size_t) (30 + s) * ps, cnt);
      __m256 p = _mm256_add_ps (m1, m2), d = _mm256_sub_ps (m1, m2);
      __m256 u = _mm256_add_ps (m3, m4), v = _mm256_sub_ps (m3, m4);
      r[0][s] = _mm256_add_ps (_mm256_add_ps (m0, p), u);
      r[1][s] = _mm256_add_ps (d, _mm256_mul_ps (two, v));
      r[2][s] = _mm256_add_ps (p, _mm256_mul_ps (four, u));
      r[3][s] = _mm256_add_ps (_mm256_add_ps (d, _mm256_mul_ps (eight, v)),
                               m5);
    }
    int left = cols - 4 * j0;
    for (int i = 0; i < rows; i++) {      /* (Aᵀ·M)·A */
      __m256 p = _mm256_add_ps (r[i][1], r[i][2]);
      __m256 d = _mm256_sub_ps (r[i][1], r[i][2]);
      __m256 u = _mm256_add_ps (r[i][3], r[i][4]);
      __m256 v = _mm256_sub_ps (r[i][3], r[i][4]);
      __m256 y0 = _mm256_add_ps (_mm256_add_ps (r[i][0], p), u);
      __m256 y1 = _mm256_add_ps (d, _mm256_mul_ps (two, v));
      __m256 y2 = _mm256_add_ps (p, _mm256_mul_ps (four, u));
      __m256 y3 = _mm256_add_ps (_mm256_add_ps (d, _mm256_mul_ps (eight, v)),
                                 r[i][5]);
      /* lane j of y0 .. y3 → floats 4j .. 4j + 3: a 4×4 transpose within
       * each 128-bit block (z_t holds tile t of block 0 and tile 4 + t of
       * block 1), then the blocks put in tile order */
      __m256d u0 = _mm256_castps_pd (_mm256_unpacklo_ps (y0, y1));
      __m256d u1 = _mm256_castps_pd (_mm256_unpackhi_ps (y0, y1));
      __m256d u2 = _mm256_castps_pd (_mm256_unpacklo_ps (y2, y3));
      __m256d u3 = _mm256_castps_pd (_mm256_unpackhi_ps (y2, y3));
      __m256 z0 = _mm256_castpd_ps (_mm256_unpacklo_pd (u0, u2));
      __m256 z1 = _mm256_castpd_ps (_mm256_unpackhi_pd (u0, u2));
      __m256 z2 = _mm256_castpd_ps (_mm256_unpacklo_pd (u1, u3));
      __m256 z3 = _mm256_castpd_ps (_mm256_unpackhi_pd (u1, u3));
      __m256 o[4] = {
        _mm256_permute2f128_ps (z0, z1, 0x20), _mm256_permute2f128_ps (z2, z3, 0x20),
        _mm256_permute2f128_ps (z0, z1, 0x31), _mm256_permute2f128_ps (z2, z3, 0x31),
      };
      size_t at = (size_t) i * wo + 4 * j0;
      for (int g = 0; g < 4 && 8 * g < left; g++)
        store_cols (out + at + 8 * g, o[g], left - 8 * g, store,
                    res ? res + at + 8 * g : NULL, vb, relu);
    }
  }
}

#endif
