/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* blocked_isa.c — compiled for AVX-512 only (-march=x86-64-v4, see
 * kernels/meson.build): blocked.c's tiles and passes (blocked-private.h).
 * The 1×1's tile, per input channel: the group's weights as nv vectors,
 * np broadcasts of the input (one line per pixel and block of 16
 * channels), nv·np multiply-adds into up to 28 zmm accumulators. */
#include "blocked-private.h"

#include <immintrin.h>

/* *acc += b · w[0..15], w read by the multiply-add itself (a memory
 * operand GCC would otherwise load once into a register of its own) */
typedef struct { float f[16]; } Floats16;

static inline __attribute__ ((always_inline)) void
fmadd_mem (__m512 *acc, __m512 b, const float *w)
{
  __asm__ ("vfmadd231ps %[w], %[b], %[acc]"
           : [acc] "+v" (*acc)
           : [b] "v" (b), [w] "m" (*(const Floats16 *) w));
}

static inline __attribute__ ((always_inline)) void
tile (const int nv, const int np, const float *x, size_t hw16, int kc,
      const float *w, float *y, bool first, bool fin, const float *bias,
      const float *res, bool relu, float *psum, float *pmax)
{
  __m512 acc[BLOCKED_NPX][4];
#pragma GCC unroll 7
  for (int j = 0; j < np; j++)
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++)
      acc[j][v] = first ? _mm512_setzero_ps ()
          : _mm512_loadu_ps (y + v * hw16 + j * 16);
  /* the full tile's last weight vector stays in memory, an operand of
   * each of its multiply-adds: 28 accumulators, three weight vectors and
   * the broadcast fill the 32 registers */
  const bool w3_mem = nv == 4 && np == BLOCKED_NPX;
  for (int c0 = 0; c0 < kc; c0 += 16, x += hw16) {
    int n = kc - c0 < 16 ? kc - c0 : 16;
    for (int c = 0; c < n; c++, w += BLOCKED_OC) {
      __m512 wv[4];
#pragma GCC unroll 4
      for (int v = 0; v < nv; v++)
        if (!(w3_mem && v == 3))
          wv[v] = _mm512_loadu_ps (w + 16 * v);
#pragma GCC unroll 7
      for (int j = 0; j < np; j++) {
        __m512 b = _mm512_set1_ps (x[j * 16 + c]);
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++)
          if (w3_mem && v == 3)
            fmadd_mem (&acc[j][v], b, w + 48);
          else
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
  /* x + (bias + res), then ReLU: the GEMM store's order; the pools of
   * what is stored */
  const __m512 zero = _mm512_setzero_ps ();
#pragma GCC unroll 4
  for (int v = 0; v < nv; v++) {
    const __m512 vb = _mm512_loadu_ps (bias + 16 * v);
    __m512 vs = zero, vm = _mm512_set1_ps (-__builtin_inff ());
#pragma GCC unroll 7
    for (int j = 0; j < np; j++) {
      __m512 add = res ? _mm512_add_ps (vb, _mm512_loadu_ps (res + v * hw16
                                                             + j * 16)) : vb;
      __m512 o = _mm512_add_ps (acc[j][v], add);
      if (relu)
        o = _mm512_max_ps (o, zero);
      _mm512_storeu_ps (y + v * hw16 + j * 16, o);
      if (psum) {
        vs = _mm512_add_ps (vs, o);
        vm = _mm512_max_ps (vm, o);
      }
    }
    if (psum) {
      _mm512_storeu_ps (psum + 16 * v, _mm512_add_ps (_mm512_loadu_ps (psum
                                                      + 16 * v), vs));
      _mm512_storeu_ps (pmax + 16 * v, _mm512_max_ps (_mm512_loadu_ps (pmax
                                                      + 16 * v), vm));
    }
  }
}

#define TILE_NP(nv_, np_) \
  tile (nv_, np_, x, hw16, kc, w, y, first, fin, bias, res, relu, psum, pmax)
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
                     const float *bias, const float *res, bool relu,
                     float *psum, float *pmax)
{
  switch (nv) {
  case 1: TILE_NV (1); break;
  case 2: TILE_NV (2); break;
  case 3: TILE_NV (3); break;
  default: TILE_NV (4); break;
  }
}

/* The store of a tile of 32 channels (two vectors a0, a1 per pixel) into
 * a blocked output: + (bias + res), then ReLU. */
static inline __attribute__ ((always_inline)) void
store32 (const int np, const __m512 *a0, const __m512 *a1, float *y,
         size_t hw16, const float *bias, const float *res, bool relu)
{
  const __m512 zero = _mm512_setzero_ps ();
  const __m512 b0 = _mm512_loadu_ps (bias), b1 = _mm512_loadu_ps (bias + 16);
#pragma GCC unroll 14
  for (int q = 0; q < np; q++) {
    __m512 add0 = res ? _mm512_add_ps (b0, _mm512_loadu_ps (res + q * 16))
        : b0;
    __m512 add1 = res ? _mm512_add_ps (b1, _mm512_loadu_ps (res + hw16
                                                            + q * 16)) : b1;
    __m512 o0 = _mm512_add_ps (a0[q], add0), o1 = _mm512_add_ps (a1[q], add1);
    if (relu) {
      o0 = _mm512_max_ps (o0, zero);
      o1 = _mm512_max_ps (o1, zero);
    }
    _mm512_storeu_ps (y + q * 16, o0);
    _mm512_storeu_ps (y + hw16 + q * 16, o1);
  }
}

/* The 3×3 tile: per input channel and tap two vectors of weights, np
 * broadcasts (one line per pixel and block of 16 channels), 2·np
 * multiply-adds. */
static inline __attribute__ ((always_inline)) void
tile3 (const int np, const int n0, const float *x, const float *x1,
       size_t plane16, int wp, int s, const float *wk, int cin, float *y,
       size_t hw16, const float *bias, const float *res, bool relu)
{
  __m512 a0[BLOCKED3_NPX], a1[BLOCKED3_NPX];
#pragma GCC unroll 14
  for (int q = 0; q < np; q++)
    a0[q] = a1[q] = _mm512_setzero_ps ();
  const int step = 16 * s;
  for (int c0 = 0; c0 < cin; c0 += 16, x += plane16, x1 += plane16) {
    int n = cin - c0 < 16 ? cin - c0 : 16;
    for (int c = 0; c < n; c++, wk += 9 * BLOCKED3_OC) {
#pragma GCC unroll 3
      for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; kx++) {
          size_t off = (size_t) (ky * wp + kx) * 16 + c;
          const float *xr = x + off, *xr1 = x1 + off;
          const float *w = wk + (ky * 3 + kx) * BLOCKED3_OC;
          __m512 w0 = _mm512_loadu_ps (w), w1 = _mm512_loadu_ps (w + 16);
#pragma GCC unroll 14
          for (int q = 0; q < np; q++) {
            __m512 b = _mm512_set1_ps (q < n0 ? xr[q * step]
                                       : xr1[(q - n0) * step]);
            a0[q] = _mm512_fmadd_ps (w0, b, a0[q]);
            a1[q] = _mm512_fmadd_ps (w1, b, a1[q]);
          }
        }
    }
  }
  store32 (np, a0, a1, y, hw16, bias, res, relu);
}

#define TILE3(n) \
  case n: tile3 (n, n, x, x, plane16, wp, s, wk, cin, y, hw16, bias, res, \
                 relu); break
#define PAIR3(n) \
  case n: tile3 (2 * n, n, x, x1, plane16, wp, s, wk, cin, y, hw16, bias, \
                 res, relu); break

void
blocked3_tile_avx512 (int np, int n0, const float *x, const float *x1,
                      size_t plane16, int wp, int s, const float *wk,
                      int cin, float *y, size_t hw16, const float *bias,
                      const float *res, bool relu)
{
  if (n0 < np) {        /* two rows of n0 pixels each */
    switch (n0) {
      PAIR3 (1); PAIR3 (2); PAIR3 (3); PAIR3 (4); PAIR3 (5); PAIR3 (6);
      default: tile3 (BLOCKED3_NPX, BLOCKED3_NPX / 2, x, x1, plane16, wp, s,
                      wk, cin, y, hw16, bias, res, relu); break;
    }
    return;
  }
  switch (np) {
    TILE3 (1); TILE3 (2); TILE3 (3); TILE3 (4); TILE3 (5); TILE3 (6);
    TILE3 (7); TILE3 (8); TILE3 (9); TILE3 (10); TILE3 (11); TILE3 (12);
    TILE3 (13);
    default: tile3 (BLOCKED3_NPX, BLOCKED3_NPX, x, x, plane16, wp, s, wk, cin,
                    y, hw16, bias, res, relu); break;
  }
}

/* Winograd's transforms with 16 channels in the lanes: the same formulas
 * as winograd.c's (Bᵀ's rows sharing their differences, Aᵀ's through p,
 * q, u, v), in the same order, on whole vectors. */
#define LD(p) _mm512_loadu_ps (p)
#define ADD _mm512_add_ps
#define SUB _mm512_sub_ps
#define MUL(k, a) _mm512_mul_ps (_mm512_set1_ps (k), a)

static inline __attribute__ ((always_inline)) void
bt4 (const __m512 d[6], __m512 t[6])
{
  __m512 e = SUB (d[4], d[2]), f = SUB (d[1], d[3]);
  __m512 s12 = ADD (d[1], d[2]), s34 = ADD (d[3], d[4]);
  __m512 u12 = SUB (d[1], d[2]), u34 = SUB (d[3], d[4]);
  t[0] = ADD (SUB (MUL (4.0f, d[0]), MUL (5.0f, d[2])), d[4]);
  t[1] = SUB (s34, MUL (4.0f, s12));
  t[2] = SUB (MUL (4.0f, u12), u34);
  t[3] = SUB (e, MUL (2.0f, f));
  t[4] = ADD (e, MUL (2.0f, f));
  t[5] = ADD (SUB (MUL (4.0f, d[1]), MUL (5.0f, d[3])), d[5]);
}

static inline __attribute__ ((always_inline)) void
bt2 (const __m512 d[4], __m512 t[4])
{
  t[0] = SUB (d[0], d[2]);
  t[1] = ADD (d[1], d[2]);
  t[2] = SUB (d[2], d[1]);
  t[3] = SUB (d[1], d[3]);
}

void
blocked_wino_input_avx512 (int m, float *v, size_t ps, const float *x, int wp)
{
  if (m == 4) {
    __m512 t[6][6];
    for (int c = 0; c < 6; c++) {       /* Bᵀ·d, column c */
      __m512 d[6];
      for (int r = 0; r < 6; r++)
        d[r] = LD (x + ((size_t) r * wp + c) * 16);
      __m512 o[6];
      bt4 (d, o);
      for (int r = 0; r < 6; r++)
        t[r][c] = o[r];
    }
    for (int r = 0; r < 6; r++) {       /* (Bᵀ·d)·B, row r */
      __m512 o[6];
      bt4 (t[r], o);
      for (int c = 0; c < 6; c++)
        _mm512_storeu_ps (v + (size_t) (6 * r + c) * ps, o[c]);
    }
    return;
  }
  __m512 t[4][4];
  for (int c = 0; c < 4; c++) {
    __m512 d[4], o[4];
    for (int r = 0; r < 4; r++)
      d[r] = LD (x + ((size_t) r * wp + c) * 16);
    bt2 (d, o);
    for (int r = 0; r < 4; r++)
      t[r][c] = o[r];
  }
  for (int r = 0; r < 4; r++) {
    __m512 o[4];
    bt2 (t[r], o);
    for (int c = 0; c < 4; c++)
      _mm512_storeu_ps (v + (size_t) (4 * r + c) * ps, o[c]);
  }
}

static inline __attribute__ ((always_inline)) void
at4 (const __m512 a[6], __m512 y[4])
{
  __m512 p = ADD (a[1], a[2]), q = SUB (a[1], a[2]);
  __m512 u = ADD (a[3], a[4]), w = SUB (a[3], a[4]);
  y[0] = ADD (ADD (a[0], p), u);
  y[1] = ADD (q, MUL (2.0f, w));
  y[2] = ADD (p, MUL (4.0f, u));
  y[3] = ADD (ADD (q, MUL (8.0f, w)), a[5]);
}

static inline __attribute__ ((always_inline)) void
at2 (const __m512 a[4], __m512 y[2])
{
  y[0] = ADD (ADD (a[0], a[1]), a[2]);
  y[1] = SUB (SUB (a[1], a[2]), a[3]);
}

void
blocked_wino_output_avx512 (int m, float *y, const float *mm, size_t ps,
                            int wo, int rows, int cols, const float *bias,
                            const float *res, bool relu)
{
  __m512 out[4][4];
  if (m == 4) {
    __m512 r[4][6];
    for (int s = 0; s < 6; s++) {       /* Aᵀ·M, column s */
      __m512 col[6], o[4];
      for (int k = 0; k < 6; k++)
        col[k] = LD (mm + (size_t) (6 * k + s) * ps);
      at4 (col, o);
      for (int i = 0; i < 4; i++)
        r[i][s] = o[i];
    }
    for (int i = 0; i < 4; i++)         /* (Aᵀ·M)·A, row i */
      at4 (r[i], out[i]);
  } else {
    __m512 r[2][4];
    for (int s = 0; s < 4; s++) {
      __m512 col[4], o[2];
      for (int k = 0; k < 4; k++)
        col[k] = LD (mm + (size_t) (4 * k + s) * ps);
      at2 (col, o);
      for (int i = 0; i < 2; i++)
        r[i][s] = o[i];
    }
    for (int i = 0; i < 2; i++)
      at2 (r[i], out[i]);
  }
  const __m512 vb = _mm512_loadu_ps (bias), zero = _mm512_setzero_ps ();
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < cols; j++) {
      size_t at = ((size_t) i * wo + j) * 16;
      __m512 add = res ? ADD (vb, LD (res + at)) : vb;
      __m512 o = ADD (out[i][j], add);
      if (relu)
        o = _mm512_max_ps (o, zero);
      _mm512_storeu_ps (y + at, o);
    }
}

void
blocked_channel_pools_avx512 (float *sum, float *max, const float *fb, int hw)
{
  __m512 s0 = _mm512_setzero_ps (), s1 = s0;
  __m512 m0 = _mm512_set1_ps (-__builtin_inff ()), m1 = m0;
  int p = 0;
  for (; p + 2 <= hw; p += 2) {
    __m512 a = LD (fb + (size_t) p * 16), b = LD (fb + (size_t) p * 16 + 16);
    s0 = ADD (s0, a);
    s1 = ADD (s1, b);
    m0 = _mm512_max_ps (m0, a);
    m1 = _mm512_max_ps (m1, b);
  }
  if (p < hw) {
    __m512 a = LD (fb + (size_t) p * 16);
    s0 = ADD (s0, a);
    m0 = _mm512_max_ps (m0, a);
  }
  _mm512_storeu_ps (sum, ADD (s0, s1));
  _mm512_storeu_ps (max, _mm512_max_ps (m0, m1));
}

/* a[0..7] (16 lanes each) reduced across their lanes by op (add or max)
 * into one vector of 8: pairs interleaved, then quads, then the 128-bit
 * lanes folded — 11 shuffles and 7 ops for eight pixels, where eight
 * reductions one at a time took ~80 instructions. */
#define REDUCE8(name, op)                                                     \
static inline __attribute__ ((always_inline)) __m256                          \
name (const __m512 a[8])                                                      \
{                                                                             \
  __m512 x[4], y[2];                                                          \
  for (int i = 0; i < 4; i++)                                                 \
    x[i] = op (_mm512_unpacklo_ps (a[2 * i], a[2 * i + 1]),                   \
               _mm512_unpackhi_ps (a[2 * i], a[2 * i + 1]));                  \
  for (int i = 0; i < 2; i++) {                                               \
    __m512d l = _mm512_castps_pd (x[2 * i]);                                  \
    __m512d r = _mm512_castps_pd (x[2 * i + 1]);                              \
    y[i] = op (_mm512_castpd_ps (_mm512_unpacklo_pd (l, r)),                  \
               _mm512_castpd_ps (_mm512_unpackhi_pd (l, r)));                 \
  }                                                                           \
  /* y[i]'s 128-bit lanes: pixels 4i .. 4i + 3, each over a quarter */        \
  __m512 u = op (_mm512_shuffle_f32x4 (y[0], y[1], 0x44),                     \
                 _mm512_shuffle_f32x4 (y[0], y[1], 0xEE));                    \
  __m512 w = op (u, _mm512_shuffle_f32x4 (u, u, 0xB1));                       \
  return _mm512_castps512_ps256 (_mm512_shuffle_f32x4 (w, w, 0x08));          \
}
REDUCE8 (reduce8_add, ADD)
REDUCE8 (reduce8_max, _mm512_max_ps)

void
blocked_spatial_pools_avx512 (float *pmax, float *psum, const float *fb,
                              size_t hw16, int cb, const float *mc, int hw)
{
  int p = 0;
  for (; p + 8 <= hw; p += 8) {
    const float *x = fb + (size_t) p * 16;
    __m512 s[8], m[8];
    for (int j = 0; j < 8; j++) {
      s[j] = _mm512_setzero_ps ();
      m[j] = _mm512_set1_ps (-__builtin_inff ());
    }
    for (int b = 0; b < cb; b++) {
      __m512 sc = LD (mc + 16 * b);
      for (int j = 0; j < 8; j++) {
        __m512 v = _mm512_mul_ps (LD (x + b * hw16 + 16 * j), sc);
        s[j] = ADD (s[j], v);
        m[j] = _mm512_max_ps (m[j], v);
      }
    }
    _mm256_storeu_ps (pmax + p, reduce8_max (m));
    _mm256_storeu_ps (psum + p, reduce8_add (s));
  }
  for (; p < hw; p++) {
    const float *x = fb + (size_t) p * 16;
    __m512 s = _mm512_setzero_ps (), m = _mm512_set1_ps (-__builtin_inff ());
    for (int b = 0; b < cb; b++) {
      __m512 v = _mm512_mul_ps (LD (x + b * hw16), LD (mc + 16 * b));
      s = ADD (s, v);
      m = _mm512_max_ps (m, v);
    }
    pmax[p] = _mm512_reduce_max_ps (m);
    psum[p] = _mm512_reduce_add_ps (s);
  }
}

void
blocked_apply_avx512 (float *out, const float *fb, size_t hw16, int cb,
                      const float *mc, const float *ms, const float *id,
                      bool relu, int hw)
{
  const __m512 zero = _mm512_setzero_ps ();
  for (int b = 0; b < cb; b++) {
    const __m512 s = LD (mc + 16 * b);
    size_t base = b * hw16;
    for (int p = 0; p < hw; p++) {
      size_t at = base + (size_t) p * 16;
      __m512 v = _mm512_mul_ps (LD (fb + at), s);
      if (ms)
        v = _mm512_mul_ps (v, _mm512_set1_ps (ms[p]));
      if (id)
        v = ADD (v, LD (id + at));
      if (relu)
        v = _mm512_max_ps (v, zero);
      _mm512_storeu_ps (out + at, v);
    }
  }
}

/* r[i] (row i, 16 floats) becomes column i: a 16×16 transpose in 64
 * shuffles. After the unpacks, r[4g + q] holds in its 128-bit lane L the
 * column 4L + q of rows 4g .. 4g + 3; the 128-bit shuffles gather those
 * four pieces of each column. */
static inline __attribute__ ((always_inline)) void
transpose16 (__m512 r[16])
{
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps (r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps (r[i], r[i + 1]);
  }
  for (int g = 0; g < 4; g++) {
    __m512d a = _mm512_castps_pd (t[4 * g]), b = _mm512_castps_pd (t[4 * g + 2]);
    __m512d c = _mm512_castps_pd (t[4 * g + 1]);
    __m512d d = _mm512_castps_pd (t[4 * g + 3]);
    r[4 * g] = _mm512_castpd_ps (_mm512_unpacklo_pd (a, b));
    r[4 * g + 1] = _mm512_castpd_ps (_mm512_unpackhi_pd (a, b));
    r[4 * g + 2] = _mm512_castpd_ps (_mm512_unpacklo_pd (c, d));
    r[4 * g + 3] = _mm512_castpd_ps (_mm512_unpackhi_pd (c, d));
  }
  for (int q = 0; q < 4; q++) {
    __m512 v01 = _mm512_shuffle_f32x4 (r[q], r[4 + q], 0x44);
    __m512 v23 = _mm512_shuffle_f32x4 (r[q], r[4 + q], 0xEE);
    __m512 w01 = _mm512_shuffle_f32x4 (r[8 + q], r[12 + q], 0x44);
    __m512 w23 = _mm512_shuffle_f32x4 (r[8 + q], r[12 + q], 0xEE);
    t[q] = _mm512_shuffle_f32x4 (v01, w01, 0x88);
    t[4 + q] = _mm512_shuffle_f32x4 (v01, w01, 0xDD);
    t[8 + q] = _mm512_shuffle_f32x4 (v23, w23, 0x88);
    t[12 + q] = _mm512_shuffle_f32x4 (v23, w23, 0xDD);
  }
  for (int i = 0; i < 16; i++)
    r[i] = t[i];
}

void
blocked_from_nchw_avx512 (float *xb, const float *x, int c, int hw, int b0,
                          int b1)
{
  for (int b = b0; b < b1; b++) {
    int n = c - 16 * b < 16 ? c - 16 * b : 16;
    float *o = xb + (size_t) b * hw * 16;
    for (int p0 = 0; p0 < hw; p0 += 16) {
      int np = hw - p0 < 16 ? hw - p0 : 16;
      __mmask16 k = (__mmask16) (np == 16 ? 0xFFFF : (1u << np) - 1);
      __m512 r[16];
      for (int i = 0; i < 16; i++)
        r[i] = i < n ? _mm512_maskz_loadu_ps (k, x + (size_t) (16 * b + i)
                                             * hw + p0)
            : _mm512_setzero_ps ();
      transpose16 (r);
      for (int j = 0; j < np; j++)
        _mm512_storeu_ps (o + (size_t) (p0 + j) * 16, r[j]);
    }
  }
}

void
blocked_to_nchw_avx512 (float *x, const float *xb, int c, int hw, int b0,
                        int b1)
{
  for (int b = b0; b < b1; b++) {
    int n = c - 16 * b < 16 ? c - 16 * b : 16;
    const float *in = xb + (size_t) b * hw * 16;
    for (int p0 = 0; p0 < hw; p0 += 16) {
      int np = hw - p0 < 16 ? hw - p0 : 16;
      __mmask16 k = (__mmask16) (np == 16 ? 0xFFFF : (1u << np) - 1);
      __m512 r[16];
      for (int j = 0; j < 16; j++)
        r[j] = j < np ? LD (in + (size_t) (p0 + j) * 16)
            : _mm512_setzero_ps ();
      transpose16 (r);
      for (int i = 0; i < n; i++)
        _mm512_mask_storeu_ps (x + (size_t) (16 * b + i) * hw + p0, k, r[i]);
    }
  }
}

/* The stem's tile: ng groups of 32 output channels (gstride floats of
 * weights apart) × np ≤ BLOCKED3_NPX / ng pixels — 28 accumulators either
 * way. Per input channel and tap, 2·ng vectors of weights, np broadcasts
 * and 2·ng·np multiply-adds: with two groups, 11 loads for 28
 * multiply-adds instead of 16 (ResNet's 7×7 stem, 64 channels, alone on 1
 * thread: 1.62 → 1.41 ms, 145 → 168 GFLOPS; the same floats). */
static inline __attribute__ ((always_inline)) void
stem_tile (const int ng, const int np, const float *x, size_t plane, int wp,
           int s, int k, const float *wk, size_t gstride, int cin, float *y,
           size_t hw16, const float *bias, bool relu)
{
  __m512 a[2][2][BLOCKED3_NPX];
  /* two groups of 7 pixels: 28 accumulators, the last weight vector a
   * memory operand (as the 1×1's tile) */
  const bool w3_mem = ng == 2 && np == BLOCKED3_NPX / 2;
#pragma GCC unroll 2
  for (int g = 0; g < ng; g++)
#pragma GCC unroll 14
    for (int q = 0; q < np; q++)
      a[g][0][q] = a[g][1][q] = _mm512_setzero_ps ();
  for (int ci = 0; ci < cin; ci++, x += plane)
    for (int ky = 0; ky < k; ky++)
      for (int kx = 0; kx < k; kx++, wk += BLOCKED3_OC) {
        const float *xr = x + (size_t) ky * wp + kx;
        __m512 w[2][2];
#pragma GCC unroll 2
        for (int g = 0; g < ng; g++) {
          w[g][0] = _mm512_loadu_ps (wk + g * gstride);
          if (!(w3_mem && g == 1))
            w[g][1] = _mm512_loadu_ps (wk + g * gstride + 16);
        }
#pragma GCC unroll 14
        for (int q = 0; q < np; q++) {
          __m512 b = _mm512_set1_ps (xr[q * s]);
#pragma GCC unroll 2
          for (int g = 0; g < ng; g++) {
            a[g][0][q] = _mm512_fmadd_ps (w[g][0], b, a[g][0][q]);
            if (w3_mem && g == 1)
              fmadd_mem (&a[g][1][q], b, wk + gstride + 16);
            else
              a[g][1][q] = _mm512_fmadd_ps (w[g][1], b, a[g][1][q]);
          }
        }
      }
#pragma GCC unroll 2
  for (int g = 0; g < ng; g++)
    store32 (np, a[g][0], a[g][1], y + (size_t) g * 2 * hw16, hw16,
             bias + g * BLOCKED3_OC, NULL, relu);
}

#define STEM(ng, n) \
  case n: stem_tile (ng, n, x, plane, wp, s, k, wk, gstride, cin, y, hw16, \
                     bias, relu); break

void
blocked_stem_tile_avx512 (int ng, int np, const float *x, size_t plane,
                          int wp, int s, int k, const float *wk,
                          size_t gstride, int cin, float *y, size_t hw16,
                          const float *bias, bool relu)
{
  if (ng == 2) {
    switch (np) {
      STEM (2, 1); STEM (2, 2); STEM (2, 3); STEM (2, 4); STEM (2, 5);
      STEM (2, 6);
      default: stem_tile (2, BLOCKED3_NPX / 2, x, plane, wp, s, k, wk,
                          gstride, cin, y, hw16, bias, relu); break;
    }
    return;
  }
  switch (np) {
    STEM (1, 1); STEM (1, 2); STEM (1, 3); STEM (1, 4); STEM (1, 5);
    STEM (1, 6); STEM (1, 7); STEM (1, 8); STEM (1, 9); STEM (1, 10);
    STEM (1, 11); STEM (1, 12); STEM (1, 13);
    default: stem_tile (1, BLOCKED3_NPX, x, plane, wp, s, k, wk, gstride,
                        cin, y, hw16, bias, relu); break;
  }
}

void
blocked_maxpool_row_avx512 (float *y, const float *x, int w, int iy0,
                            int iy1, const int *ix0, const int *ix1, int wo)
{
  for (int ox = 0; ox < wo; ox++) {
    __m512 m = _mm512_set1_ps (-__builtin_inff ());
    for (int iy = iy0; iy < iy1; iy++)
      for (int ix = ix0[ox]; ix < ix1[ox]; ix++)
        m = _mm512_max_ps (m, LD (x + ((size_t) iy * w + ix) * 16));
    _mm512_storeu_ps (y + (size_t) ox * 16, m);
  }
}
