/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* preprocess_run.c — pre_run's per-pixel loops. The build compiles this
 * file once per instruction set (-DPRE_ISA=generic, avx2 with
 * -march=x86-64-v3, avx512 with -march=x86-64-v4); preprocess.c's pre_run
 * calls the variant attn_cpu_isa() names. Every variant computes the same
 * floats in the same order (no contraction into FMA in ISO C mode; the
 * vectorised loops are element-wise): test_preprocess requires equal
 * output. */
#include "preprocess-private.h"

#include <stdint.h>
#include <string.h>

#include "parallel.h"

#ifndef PRE_ISA
#define PRE_ISA generic
#endif
#define PRE_CAT2(a, b) a##_##b
#define PRE_CAT(a, b) PRE_CAT2 (a, b)

/* The sampling is separable: an output pixel is the mean of sub_x × sub_y
 * bilinear samples, and every sample's weights are a row weight times a
 * column weight. So each output row first filters the source rows it reads
 * into one row of floats (a weighted sum of a few whole rows: contiguous,
 * vectorised), then each output pixel reads its sub_x samples from that
 * row. The colour conversion is linear, so it is applied once per output
 * pixel to the mean Y, U and V; the clamp to 0..255 comes after it, as
 * always. The sums are the per-sample ones reordered: the same result to
 * float rounding (tests/elements/test_preprocess.c compares the two). */

#define MAX_TAPS (2 * MAX_SUB)

typedef struct {
  int n;
  int row[MAX_TAPS];
  float w[MAX_TAPS];
} Taps;

/* The source rows output row `oy` reads, weighted: sub-sample ky samples
 * rows i0[j], i0[j] + step with weights 1 − f[j], f[j] (j = oy·sub + ky);
 * repeated rows merged. */
static void
row_taps (Taps *t, const int *i0, const float *f, int oy, int sub, int step)
{
  t->n = 0;
  for (int ky = 0; ky < sub; ky++) {
    int j = oy * sub + ky;
    int r[2] = { i0[j], i0[j] + step };
    float w[2] = { 1.0f - f[j], f[j] };
    for (int k = 0; k < 2; k++) {
      int m = 0;
      while (m < t->n && t->row[m] != r[k])
        m++;
      if (m == t->n) {
        t->row[m] = r[k];
        t->w[m] = 0.0f;
        t->n++;
      }
      t->w[m] += w[k];
    }
  }
}

/* The row filter's vectors: 16 (AVX-512), 8 (AVX2) or 4 (SSE2) bytes as
 * floats.
 * GCC left the filter's loops scalar in every variant (it fused two taps'
 * loops into one it did not vectorise, or vectorised the loop over taps). */
#if defined(__AVX512F__)
#include <immintrin.h>
#define LANES 16
typedef __m512 fvec;
#define fv_set1 _mm512_set1_ps
#define fv_mul _mm512_mul_ps
#define fv_add _mm512_add_ps
#define fv_store _mm512_storeu_ps
static inline fvec
fv_bytes (const uint8_t *b)
{
  return _mm512_cvtepi32_ps (_mm512_cvtepu8_epi32 (_mm_loadu_si128
          ((const void *) b)));
}
#elif defined(__AVX2__)
#include <immintrin.h>
#define LANES 8
typedef __m256 fvec;
#define fv_set1 _mm256_set1_ps
#define fv_mul _mm256_mul_ps
#define fv_add _mm256_add_ps
#define fv_store _mm256_storeu_ps
static inline fvec
fv_bytes (const uint8_t *b)
{
  return _mm256_cvtepi32_ps (_mm256_cvtepu8_epi32 (_mm_loadl_epi64
          ((const void *) b)));
}
#elif defined(__SSE2__)
#include <emmintrin.h>
#define LANES 4
typedef __m128 fvec;
#define fv_set1 _mm_set1_ps
#define fv_mul _mm_mul_ps
#define fv_add _mm_add_ps
#define fv_store _mm_storeu_ps
static inline fvec
fv_bytes (const uint8_t *b)
{
  int32_t w;
  memcpy (&w, b, 4);
  const __m128i z = _mm_setzero_si128 ();
  return _mm_cvtepi32_ps (_mm_unpacklo_epi16 (_mm_unpacklo_epi8
          (_mm_cvtsi32_si128 (w), z), z));
}
#else
#define LANES 0
#endif

/* dst[i − lo] = Σ_t w_t · plane[row_t][i] for i in [lo, hi), each
 * element's taps summed in tap order (the same floats in every variant) */
static void
filter_rows (float *restrict dst, const Taps *t, const uint8_t *plane,
             int stride, int lo, int hi)
{
  const uint8_t *rows[MAX_TAPS];
  float w[MAX_TAPS];
  int n = t->n;
  for (int k = 0; k < n; k++) {
    rows[k] = plane + (size_t) t->row[k] * stride;
    w[k] = t->w[k];
  }
  int i = lo;
#if LANES
  for (; i + LANES <= hi; i += LANES) {
    fvec s = fv_mul (fv_set1 (w[0]), fv_bytes (rows[0] + i));
    for (int k = 1; k < n; k++)
      s = fv_add (s, fv_mul (fv_set1 (w[k]), fv_bytes (rows[k] + i)));
    fv_store (dst + (i - lo), s);
  }
#endif
  for (; i < hi; i++) {
    float s = w[0] * rows[0][i];
    for (int k = 1; k < n; k++)
      s += w[k] * rows[k][i];
    dst[i - lo] = s;
  }
}

/* Where one channel's samples lie in a filtered row: output column ox's
 * sub-sample k reads floats i0[k·nw + ox]·scale + off and that + step,
 * weights 1 − f[…] and f[…] (the plan's sample-major tables: the luma's
 * or the chroma's; off counts from the row's first byte; step is the tap
 * step times scale). */
typedef struct {
  const float *row;
  const int *i0;
  const float *f;
  int scale, off, step;
} ColSrc;

static ColSrc
col_src (const PrePlan *p, bool chroma, const float *row, int lo, int scale,
         int off, int step)
{
  return (ColSrc) { row, chroma ? p->cx0k : p->x0k, chroma ? p->cfxk : p->fxk,
    scale, off - lo, step * scale };
}

/* Σ over the sub samples of output column ox */
static inline float
sum_cols (const ColSrc *c, int ox, int sub, int nw)
{
  float s = 0.0f;
  for (int k = 0; k < sub; k++) {
    const float *a = c->row + c->i0[k * nw + ox] * c->scale + c->off;
    s += a[0] + (a[c->step] - a[0]) * c->f[k * nw + ox];
  }
  return s;
}

/* x clamped to 0..255, NaN to 0: fminf (fmaxf (x, 0), 255), which GCC
 * leaves as two calls into libm per channel */
static inline float
clamp255 (float x)
{
  x = x > 0.0f ? x : 0.0f;
  return x < 255.0f ? x : 255.0f;
}

/* The column pass COL_LANES output columns at a time (AVX2, AVX-512: the
 * samples gathered), each lane the operations of sum_cols and run_band's
 * scalar loop in their order, so the floats are the same. */
#if defined(__AVX512F__)
#define COL_LANES 16
typedef __m512i ivec;
#define iv_load(p) _mm512_loadu_si512 ((const void *) (p))
#define iv_set1 _mm512_set1_epi32
#define iv_add _mm512_add_epi32
#define iv_mullo _mm512_mullo_epi32
#define fv_load _mm512_loadu_ps
#define fv_sub _mm512_sub_ps
#define fv_max _mm512_max_ps
#define fv_min _mm512_min_ps
#define fv_zero _mm512_setzero_ps
#define fv_gather(base, idx) _mm512_i32gather_ps (idx, base, 4)
#elif defined(__AVX2__)
#define COL_LANES 8
typedef __m256i ivec;
#define iv_load(p) _mm256_loadu_si256 ((const void *) (p))
#define iv_set1 _mm256_set1_epi32
#define iv_add _mm256_add_epi32
#define iv_mullo _mm256_mullo_epi32
#define fv_load _mm256_loadu_ps
#define fv_sub _mm256_sub_ps
#define fv_max _mm256_max_ps
#define fv_min _mm256_min_ps
#define fv_zero _mm256_setzero_ps
#define fv_gather(base, idx) _mm256_i32gather_ps (base, idx, 4)
#else
#define COL_LANES 0
#endif

#if COL_LANES
static inline fvec
sum_cols_vec (const ColSrc *c, int ox, int sub, int nw)
{
  fvec s = fv_zero ();
  ivec scale = iv_set1 (c->scale), off = iv_set1 (c->off);
  ivec step = iv_set1 (c->step);
  for (int k = 0; k < sub; k++) {
    ivec a = iv_add (iv_mullo (iv_load (c->i0 + k * nw + ox), scale), off);
    fvec va = fv_gather (c->row, a);
    fvec vb = fv_gather (c->row, iv_add (a, step));
    s = fv_add (s, fv_add (va, fv_mul (fv_sub (vb, va),
                fv_load (c->f + k * nw + ox))));
  }
  return s;
}

/* (x clamped to 0..255) · mul + add: max and min pick their second operand
 * as clamp255's comparisons do */
static inline fvec
normalise_vec (fvec x, float mul, float add)
{
  x = fv_min (fv_max (x, fv_zero ()), fv_set1 (255.0f));
  return fv_add (fv_mul (x, fv_set1 (mul)), fv_set1 (add));
}

static void
cols_vec (const PrePlan *p, const PreFormat *f, const ColSrc *src, int nch,
          bool yuv, int ox, float *o_r, float *o_g, float *o_b)
{
  int nw = p->net_w, sx = p->sub_x;
  fvec inv = fv_set1 (1.0f / (float) (sx * p->sub_y));
  fvec v[3], R, G, B;
  for (int c = 0; c < nch; c++)
    v[c] = sum_cols_vec (&src[c], ox, sx, nw);
  if (yuv) {
    fvec c128 = fv_set1 (128.0f), cm = fv_set1 (f->c_mul);
    fvec Yp = fv_mul (fv_sub (fv_mul (v[0], inv), fv_set1 (f->y_off)),
                      fv_set1 (f->y_mul));
    fvec Up = fv_mul (fv_sub (fv_mul (v[1], inv), c128), cm);
    fvec Vp = fv_mul (fv_sub (fv_mul (v[2], inv), c128), cm);
    R = fv_add (Yp, fv_mul (fv_set1 (f->cr_r), Vp));
    G = fv_add (fv_add (Yp, fv_mul (fv_set1 (f->cb_g), Up)),
                fv_mul (fv_set1 (f->cr_g), Vp));
    B = fv_add (Yp, fv_mul (fv_set1 (f->cb_b), Up));
  } else if (nch == 1) {
    R = G = B = fv_mul (v[0], inv);
  } else {
    R = fv_mul (v[0], inv);
    G = fv_mul (v[1], inv);
    B = fv_mul (v[2], inv);
  }
  int cr = p->bgr ? 2 : 0, cb = p->bgr ? 0 : 2;
  fv_store (o_r + ox, normalise_vec (R, p->mul[cr], p->add[cr]));
  fv_store (o_g + ox, normalise_vec (G, p->mul[1], p->add[1]));
  fv_store (o_b + ox, normalise_vec (B, p->mul[cb], p->add[cb]));
}
#endif

typedef struct {
  const PrePlan *p;
  const PreFormat *f;
  const PreFrame *fr;
  float *out;
  int band_rows;
} PreRun;

/* Output rows [band·band_rows, …) of one band, with the band's own
 * filtered rows. */
static void
run_band (void *ctx, int band)
{
  const PreRun *r = ctx;
  const PrePlan *p = r->p;
  const PreFormat *f = r->f;
  const PreFrame *fr = r->fr;
  int nw = p->net_w, nh = p->net_h, sx = p->sub_x, sy = p->sub_y;
  size_t plane = (size_t) nw * nh;
  /* output channel order: the model's (RGB or BGR) */
  float *out = r->out;
  float *o_r = out + (p->bgr ? 2 : 0) * plane, *o_g = out + plane;
  float *o_b = out + (p->bgr ? 0 : 2) * plane;
  int cr = p->bgr ? 2 : 0, cb = p->bgr ? 0 : 2;
  float inv = 1.0f / (float) (sx * sy);
  float *rows = p->rows + (size_t) band * 3 * p->row_cap;
  float *t0 = rows, *t1 = rows + p->row_cap, *t2 = rows + 2 * p->row_cap;
  int dy = p->frame_h == 1 ? 0 : 1, dx = p->frame_w == 1 ? 0 : 1;
  int cw = (p->frame_w + 1) / 2, chh = (p->frame_h + 1) / 2;
  int cdx = cw > 1 ? 1 : 0, cdy = chh > 1 ? 1 : 0;
  int y0 = band * r->band_rows;
  int y1 = y0 + r->band_rows < nh ? y0 + r->band_rows : nh;
  Taps lt, ct;

  for (int oy = y0; oy < y1; oy++) {
    size_t o = (size_t) oy * nw;
    if (p->y0[oy * sy] < 0 || p->xhi < 0) {
      /* letterbox padding: the mean colour, i.e. 0 after normalisation */
      memset (o_r + o, 0, sizeof (float) * nw);
      memset (o_g + o, 0, sizeof (float) * nw);
      memset (o_b + o, 0, sizeof (float) * nw);
      continue;
    }
    row_taps (&lt, p->y0, p->fy, oy, sy, dy);
    int lo = 0;                  /* the first byte the filtered rows hold */
    int ps = f->pixel_stride;
    switch (f->layout) {
      case PRE_PACKED:
        lo = p->xlo * ps;
        filter_rows (t0, &lt, fr->plane[0], fr->stride[0], lo,
                     (p->xhi + dx) * ps + ps);
        break;
      case PRE_GRAY8:
        lo = p->xlo;
        filter_rows (t0, &lt, fr->plane[0], fr->stride[0], lo, p->xhi + dx + 1);
        break;
      case PRE_I420:
      case PRE_NV12:{
        row_taps (&ct, p->cy0, p->cfy, oy, sy, cdy);
        lo = p->xlo;
        filter_rows (t0, &lt, fr->plane[0], fr->stride[0], lo, p->xhi + dx + 1);
        if (f->layout == PRE_I420) {
          filter_rows (t1, &ct, fr->plane[1], fr->stride[1], p->clo,
                       p->chi + cdx + 1);
          filter_rows (t2, &ct, fr->plane[2], fr->stride[2], p->clo,
                       p->chi + cdx + 1);
        } else {                 /* U and V interleaved */
          filter_rows (t1, &ct, fr->plane[1], fr->stride[1], 2 * p->clo,
                       2 * (p->chi + cdx) + 2);
        }
        break;
      }
      case PRE_YUY2:
      case PRE_UYVY:{
        /* one plane of 4 bytes per 2 pixels, chroma on every row: one
         * filtered row holds luma and chroma */
        int c_lo = 4 * p->clo, y_lo = 2 * p->xlo;
        lo = c_lo < y_lo ? c_lo : y_lo;
        int y_hi = 2 * (p->xhi + dx) + 2, c_hi = 4 * (p->chi + cdx) + 4;
        filter_rows (t0, &lt, fr->plane[0], fr->stride[0], lo,
                     y_hi > c_hi ? y_hi : c_hi);
        break;
      }
    }
    /* the channels' samples: R, G, B (packed), Y, U, V, or one gray */
    ColSrc src[3];
    int nch = 3;
    bool yuv = true;
    switch (f->layout) {
      case PRE_PACKED:
        src[0] = col_src (p, false, t0, lo, ps, f->r, dx);
        src[1] = col_src (p, false, t0, lo, ps, f->g, dx);
        src[2] = col_src (p, false, t0, lo, ps, f->b, dx);
        yuv = false;
        break;
      case PRE_GRAY8:
        src[0] = col_src (p, false, t0, lo, 1, 0, dx);
        nch = 1;
        yuv = false;
        break;
      case PRE_YUY2:
      case PRE_UYVY:{
        bool yuy2 = f->layout == PRE_YUY2;
        src[0] = col_src (p, false, t0, lo, 2, yuy2 ? 0 : 1, dx);
        src[1] = col_src (p, true, t0, lo, 4, yuy2 ? 1 : 0, cdx);
        src[2] = col_src (p, true, t0, lo, 4, yuy2 ? 3 : 2, cdx);
        break;
      }
      case PRE_I420:
        src[0] = col_src (p, false, t0, lo, 1, 0, dx);
        src[1] = col_src (p, true, t1, p->clo, 1, 0, cdx);
        src[2] = col_src (p, true, t2, p->clo, 1, 0, cdx);
        break;
      case PRE_NV12:
        src[0] = col_src (p, false, t0, lo, 1, 0, dx);
        src[1] = col_src (p, true, t1, 2 * p->clo, 2, 0, cdx);
        src[2] = col_src (p, true, t1, 2 * p->clo, 2, 1, cdx);
        break;
    }
    /* letterbox padding left and right of [col_lo, col_hi); between, the
     * columns COL_LANES at a time, then one at a time: the same operations
     * in the same order on each lane */
    for (int ox = 0; ox < p->col_lo; ox++)
      o_r[o + ox] = o_g[o + ox] = o_b[o + ox] = 0.0f;
    for (int ox = p->col_hi; ox < nw; ox++)
      o_r[o + ox] = o_g[o + ox] = o_b[o + ox] = 0.0f;
    int ox = p->col_lo;
#if COL_LANES
    for (; ox + COL_LANES <= p->col_hi; ox += COL_LANES)
      cols_vec (p, f, src, nch, yuv, ox, o_r + o, o_g + o, o_b + o);
#endif
    for (; ox < p->col_hi; ox++) {
      float v[3], R, G, B;
      for (int c = 0; c < nch; c++)
        v[c] = sum_cols (&src[c], ox, sx, nw);
      if (yuv) {
        float Yp = (v[0] * inv - f->y_off) * f->y_mul;
        float Up = (v[1] * inv - 128.0f) * f->c_mul;
        float Vp = (v[2] * inv - 128.0f) * f->c_mul;
        R = Yp + f->cr_r * Vp;
        G = Yp + f->cb_g * Up + f->cr_g * Vp;
        B = Yp + f->cb_b * Up;
      } else if (nch == 1) {
        R = G = B = v[0] * inv;
      } else {
        R = v[0] * inv;
        G = v[1] * inv;
        B = v[2] * inv;
      }
      R = clamp255 (R);
      G = clamp255 (G);
      B = clamp255 (B);
      o_r[o + ox] = R * p->mul[cr] + p->add[cr];
      o_g[o + ox] = G * p->mul[1] + p->add[1];
      o_b[o + ox] = B * p->mul[cb] + p->add[cb];
    }
  }
}

void
PRE_CAT (pre_run, PRE_ISA) (const PrePlan *p, const PreFormat *f,
                            const PreFrame *fr, float *out)
{
  /* bands of whole rows, several per thread the caller may use (each row
   * costs the same, but the cores may not run at the same speed) */
  int nh = p->net_h;
  int bands = attn_parallel_pieces (nh, attn_parallel_threads (), MAX_BANDS);
  PreRun r = { p, f, fr, out, (nh + bands - 1) / bands };
  attn_parallel_for ((nh + r.band_rows - 1) / r.band_rows, run_band, &r);
}
