/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* conv.c — 2-D convolution: sgemm for 1×1, direct loops for depthwise,
 * im2col + sgemm for everything else; a fused epilogue for bias (folded
 * BatchNorm), residual, activation and the per-channel pools. */
#include "conv.h"

#include <assert.h>

#include "parallel.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "blas.h"

int
attn_conv_out_dim (int in, int k, int stride, int pad, int dil)
{
  long span = (long) in + 2L * pad - (long) dil * (k - 1) - 1;
  if (span < 0 || stride <= 0)
    return 0;
  return (int) (span / stride + 1);
}

static int
is_pointwise (const AttnConv2d *p)
{
  return p->kh == 1 && p->kw == 1 && p->stride_h == 1 && p->stride_w == 1
      && p->pad_h == 0 && p->pad_w == 0;
}

/* One input channel per group (depthwise, any channel multiplier). */
static int
is_depthwise (const AttnConv2d *p)
{
  return p->groups > 1 && p->groups == p->c_in;
}

const char *
attn_conv2d_method (const AttnConv2d *p)
{
  return is_depthwise (p) ? "depthwise" : is_pointwise (p) ? "gemm"
      : "im2col + gemm";
}

/* A small im2col (≤ 2 · BAND_FLOATS floats) on several threads is split
 * along K: each worker builds the rows of its input channels and multiplies
 * them by the weights' matching columns, into y (worker 0) or its own
 * partial sums; a second pass adds those with the store's steps. Split by
 * output rows instead, every worker read the whole matrix, half of it
 * written by the other core (ResNet's 3×3 512-channel layers @7²). Taken
 * where the partial sums are small (≤ SPLITK_FLOATS, C_out ≤ K) and the
 * product is worth splitting (≥ SPLITK_MACS multiply-adds, blas.c's rule),
 * with at most SPLITK_WORKERS workers. */
#define BAND_FLOATS (128 * 1024)
#define SPLITK_FLOATS (64 * 1024)
#define SPLITK_WORKERS 4
#define SPLITK_MACS (1 << 18)

static bool
splitk_fits (int c_out, int kk, size_t hwo)
{
  return (size_t) kk * hwo <= 2 * (size_t) BAND_FLOATS
      && (size_t) c_out * hwo <= SPLITK_FLOATS && c_out <= kk
      && (double) c_out * kk * hwo >= SPLITK_MACS;
}

size_t
attn_conv2d_workspace (const AttnConv2d *p, int h, int w)
{
  if (is_pointwise (p) || is_depthwise (p))
    return 0;
  size_t ho = (size_t) attn_conv_out_dim (h, p->kh, p->stride_h, p->pad_h,
                                          p->dil_h);
  size_t wo = (size_t) attn_conv_out_dim (w, p->kw, p->stride_w, p->pad_w,
                                          p->dil_w);
  int c_out = p->c_out / p->groups, kk = p->c_in / p->groups * p->kh * p->kw;
  size_t matrix = (size_t) kk * ho * wo;
  /* the partial sums of a split along K */
  size_t parts = splitk_fits (c_out, kk, ho * wo)
      ? (size_t) (SPLITK_WORKERS - 1) * c_out * ho * wo : 0;
  return matrix + parts;
}

/* The range [*lo, *hi) of output positions o whose input position
 * o·stride + off lies in [0, n). */
static void
valid_range (int n, int n_out, int stride, int off, int *lo, int *hi)
{
  /* o·stride + off >= 0  ⇔  o >= ceil(−off / stride) */
  int a = off >= 0 ? 0 : (-off + stride - 1) / stride;
  /* o·stride + off <= n − 1  ⇔  o <= floor((n − 1 − off) / stride) */
  int b = n - 1 - off < 0 ? -1 : (n - 1 - off) / stride;
  *lo = a < n_out ? a : n_out;
  *hi = b + 1 < n_out ? b + 1 : n_out;
  if (*hi < *lo)
    *hi = *lo;
}

/* col (C·KH·KW, Ho·Wo): row (c,ky,kx) holds in[c, oy·sh − ph + ky·dh,
 * ox·sw − pw + kx·dw], zero where that falls outside the image; or only
 * output rows oy0 ≤ oy < oy1 of it (a band: (oy1 − oy0)·Wo columns). */
typedef struct {
  float *col;
  const float *in;
  int h, w, ho, wo;
  size_t ld;                   /* floats from one row of col to the next */
  const AttnConv2d *p;
  int oy0, oy1;
} Im2col;

static void
im2col_channels (void *ctx, int c_lo, int c_hi)
{
  const Im2col *a = ctx;
  float *restrict col = a->col;
  const float *restrict in = a->in;
  const AttnConv2d *p = a->p;
  int h = a->h, w = a->w, ho = a->ho, wo = a->wo;
  for (int ci = c_lo; ci < c_hi; ci++) {
    const float *plane = in + (size_t) ci * h * w;
    for (int ky = 0; ky < p->kh; ky++) {
      int offy = ky * p->dil_h - p->pad_h;
      int y0, y1;
      valid_range (h, ho, p->stride_h, offy, &y0, &y1);
      for (int kx = 0; kx < p->kw; kx++) {
        int offx = kx * p->dil_w - p->pad_w;
        int x0, x1;
        valid_range (w, wo, p->stride_w, offx, &x0, &x1);
        float *row = col + ((size_t) (ci * p->kh + ky) * p->kw + kx)
            * a->ld;
        for (int oy = a->oy0; oy < a->oy1; oy++) {
          float *dst = row + (size_t) (oy - a->oy0) * wo;
          if (oy < y0 || oy >= y1) {
            memset (dst, 0, sizeof (float) * (size_t) wo);
            continue;
          }
          const float *src = plane + (size_t) (oy * p->stride_h + offy) * w;
          for (int ox = 0; ox < x0; ox++)
            dst[ox] = 0.0f;
          if (p->stride_w == 1) {
            memcpy (dst + x0, src + x0 + offx, sizeof (float) * (x1 - x0));
          } else if (p->stride_w == 2) {
            /* a constant stride, which the compiler vectorises: the
             * stem (7×7/2, 3 → 64 @224²) 2.0 → 1.55 ms on 1 thread */
            for (int ox = x0; ox < x1; ox++)
              dst[ox] = src[2 * ox + offx];
          } else {
            for (int ox = x0; ox < x1; ox++)
              dst[ox] = src[ox * p->stride_w + offx];
          }
          for (int ox = x1; ox < wo; ox++)
            dst[ox] = 0.0f;
        }
      }
    }
  }
}

/* Copies below this many floats per task are not worth a thread. */
#define GRAIN_FLOATS 16384

/* rows of col lie ld floats apart (ho·wo when col holds one image) */
static void
im2col_ld (float *restrict col, size_t ld, const float *restrict in, int c,
           int h, int w, const AttnConv2d *p, int ho, int wo)
{
  Im2col a = { col, in, h, w, ho, wo, ld, p, 0, ho };
  size_t per_channel = (size_t) p->kh * p->kw * ho * wo;
  int grain = (int) (GRAIN_FLOATS / (per_channel ? per_channel : 1)) + 1;
  attn_parallel_range (c, grain, im2col_channels, &a);
}

static void
im2col (float *restrict col, const float *restrict in, int c, int h, int w,
        const AttnConv2d *p, int ho, int wo)
{
  im2col_ld (col, (size_t) ho * wo, in, c, h, w, p, ho, wo);
}

/* out (M,Ho,Wo) for one input plane: out[m] = Σ_ky,kx w[m,ky,kx]·in[...]. */
static void
depthwise_plane (float *restrict out, const float *restrict in,
                 const float *restrict wt, int h, int w, const AttnConv2d *p,
                 int ho, int wo)
{
  memset (out, 0, sizeof (float) * (size_t) ho * wo);
  for (int ky = 0; ky < p->kh; ky++) {
    int offy = ky * p->dil_h - p->pad_h;
    int y0, y1;
    valid_range (h, ho, p->stride_h, offy, &y0, &y1);
    for (int kx = 0; kx < p->kw; kx++) {
      int offx = kx * p->dil_w - p->pad_w;
      int x0, x1;
      valid_range (w, wo, p->stride_w, offx, &x0, &x1);
      float wv = wt[ky * p->kw + kx];
      for (int oy = y0; oy < y1; oy++) {
        const float *src = in + (size_t) (oy * p->stride_h + offy) * w + offx;
        float *dst = out + (size_t) oy * wo;
        if (p->stride_w == 1) {
          for (int ox = x0; ox < x1; ox++)
            dst[ox] += wv * src[ox];
        } else {
          for (int ox = x0; ox < x1; ox++)
            dst[ox] += wv * src[ox * p->stride_w];
        }
      }
    }
  }
}

/* One channel row: row = act(row + b + res), and its sum and max, in a
 * single pass while the row is in L1. relu and the presence of res are
 * constants at every call site, so each inlined copy is a branch-free loop.
 * The simd pragma (-fopenmp-simd, no OpenMP runtime) lets the sum and max
 * reductions use vector lanes, which plain C forbids without fast-math; the
 * sum's order changes, not its precision class. */
static inline void
pooled_row (float *restrict row, const float *restrict res, float b, int relu,
            int hw, float *restrict sum_out, float *restrict max_out)
{
  float sum = 0.0f, mx = -INFINITY;
#pragma omp simd reduction(+:sum) reduction(max:mx)
  for (int j = 0; j < hw; j++) {
    float v = row[j] + (b + (res ? res[j] : 0.0f));
    v = relu ? (v > 0.0f ? v : 0.0f) : v;
    row[j] = v;
    sum += v;
    mx = v > mx ? v : mx;
  }
  *sum_out = sum;
  *max_out = mx;
}

typedef struct {
  float *x;
  const AttnEpilogue *ep;
  int c, hw;
} EpilogueRows;

static void
epilogue_rows (void *ctx, int lo, int hi)
{
  const EpilogueRows *a = ctx;
  float *x = a->x;
  const AttnEpilogue *ep = a->ep;
  int c = a->c, hw = a->hw;
  int pools = ep->avg_out || ep->max_out;
  int simple = ep->act == ATTN_ACT_RELU || ep->act == ATTN_ACT_NONE;
  for (int i = lo; i < hi; i++) {
    float *restrict row = x + (size_t) i * hw;
    const float *restrict res = ep->residual ? ep->residual + (size_t) i * hw
        : NULL;
    float b = ep->bias ? ep->bias[i % c] : 0.0f;
    if (pools && simple && hw > 0) {
      /* the CBAM/SE case: everything in one pass over the row */
      float sum, mx;
      int relu = ep->act == ATTN_ACT_RELU;
      if (res && relu)
        pooled_row (row, res, b, 1, hw, &sum, &mx);
      else if (res)
        pooled_row (row, res, b, 0, hw, &sum, &mx);
      else if (relu)
        pooled_row (row, NULL, b, 1, hw, &sum, &mx);
      else
        pooled_row (row, NULL, b, 0, hw, &sum, &mx);
      if (ep->avg_out)
        ep->avg_out[i] = sum / (float) hw;
      if (ep->max_out)
        ep->max_out[i] = mx;
      continue;
    }
    if (res) {
      for (int j = 0; j < hw; j++)
        row[j] += b + res[j];
    } else if (b != 0.0f) {
      for (int j = 0; j < hw; j++)
        row[j] += b;
    }
    if (ep->act == ATTN_ACT_RELU) {
      for (int j = 0; j < hw; j++)
        row[j] = row[j] > 0.0f ? row[j] : 0.0f;
    } else if (ep->act != ATTN_ACT_NONE) {
      attn_activate (row, (size_t) hw, ep->act);
    }
    if (pools) {
      float sum = 0.0f, mx = 0.0f;
      if (hw > 0)
        pooled_row (row, NULL, 0.0f, 0, hw, &sum, &mx);
      if (ep->avg_out)
        ep->avg_out[i] = hw > 0 ? sum / (float) hw : 0.0f;
      if (ep->max_out)
        ep->max_out[i] = mx;
    }
  }
}

void
attn_epilogue_apply (float *x, const AttnEpilogue *ep, int n, int c, int hw)
{
  if (!ep)
    return;
  /* rows are independent (each writes its own pools): split them over the
   * thread budget when there is enough work */
  EpilogueRows a = { x, ep, c, hw };
  attn_parallel_range (n * c, GRAIN_FLOATS / (hw > 0 ? hw : 1) + 1,
                       epilogue_rows, &a);
}

/* A large im2col runs in bands of output rows instead of whole: each band's
 * columns (≤ BAND_FLOATS floats, in L2) are written and at once multiplied,
 * and a worker carries its bands through both, so the matrix never goes to
 * memory and the threads share only the input and the output (the stem's
 * 147 × 12544 matrix was 7 MB, written on one core and read on both). */

typedef struct {
  float *out, *ws;
  const float *in, *weight;
  const AttnConv2d *p;
  const AttnGemmStore *st;
  int h, w, ho, wo, c_in, c_out, kk, rows, workers;
} Bands;

static void
band_worker (void *ctx, int i)
{
  const Bands *b = ctx;
  float *col = b->ws + (size_t) i * b->kk * b->rows * b->wo;
  /* each worker its share of the output rows, to a row, in bands of up
   * to b->rows: whole bands dealt out split 3×3/2 128 ch @56² → 28² (7
   * bands of 4 rows) 16 : 12 rows on 2 threads */
  int lo = (int) ((long) b->ho * i / b->workers);
  int hi = (int) ((long) b->ho * (i + 1) / b->workers);
  for (int oy0 = lo; oy0 < hi; oy0 += b->rows) {
    int oy1 = oy0 + b->rows < hi ? oy0 + b->rows : hi;
    int n = (oy1 - oy0) * b->wo;
    Im2col a = { col, b->in, b->h, b->w, b->ho, b->wo, (size_t) n, b->p, oy0,
      oy1 };
    im2col_channels (&a, 0, b->c_in);
    size_t off = (size_t) oy0 * b->wo;
    AttnGemmStore st;
    if (b->st) {
      st = *b->st;
      st.res = st.res ? st.res + off : NULL;
    }
    attn_sgemm_store (b->c_out, n, b->kk, b->weight, b->kk, col, n,
                      b->out + off, b->ho * b->wo, b->st ? &st : NULL);
  }
}

typedef struct {
  float *y, *col, *parts;
  const float *in, *weight;
  const AttnConv2d *p;
  const AttnGemmStore *st;
  int h, w, ho, wo, c_in, c_out, kk, workers;
} SplitK;

/* Worker i: the rows of col for its input channels, times the matching
 * columns of the weights. */
static void
splitk_worker (void *ctx, int i)
{
  const SplitK *s = ctx;
  int c_lo = (int) ((long) s->c_in * i / s->workers);
  int c_hi = (int) ((long) s->c_in * (i + 1) / s->workers);
  size_t hwo = (size_t) s->ho * s->wo;
  Im2col a = { s->col, s->in, s->h, s->w, s->ho, s->wo, hwo, s->p, 0, s->ho };
  im2col_channels (&a, c_lo, c_hi);
  int taps = s->p->kh * s->p->kw, k0 = c_lo * taps, kn = (c_hi - c_lo) * taps;
  float *dst = i == 0 ? s->y : s->parts + (size_t) (i - 1) * s->c_out * hwo;
  if (kn == 0) {
    memset (dst, 0, sizeof (float) * s->c_out * hwo);
    return;
  }
  attn_sgemm (false, false, s->c_out, (int) hwo, kn, 1.0f, s->weight + k0,
              s->kk, s->col + (size_t) k0 * hwo, (int) hwo, 0.0f, dst,
              (int) hwo);
}

/* Rows lo .. hi − 1 of y: + the other workers' partial sums, then the
 * store's steps. */
static void
splitk_sum (void *ctx, int lo, int hi)
{
  const SplitK *s = ctx;
  size_t hwo = (size_t) s->ho * s->wo;
  const AttnGemmStore *st = s->st;
  for (int r = lo; r < hi; r++) {
    float *restrict y = s->y + (size_t) r * hwo;
    for (int i = 1; i < s->workers; i++) {
      const float *restrict q = s->parts + ((size_t) (i - 1) * s->c_out + r)
          * hwo;
      for (size_t j = 0; j < hwo; j++)
        y[j] += q[j];
    }
    if (st)
      attn_gemm_store_row (y, st->res ? st->res + (size_t) r * st->ldr : NULL,
                           st->bias ? st->bias[r] : 0.0f, st->relu,
                           (int) hwo);
  }
}

/* y (c_out, ho·wo) = w (c_out, kk) · im2col(x), by bands when the matrix
 * is large, split along K when it is small and the threads are several; ws
 * holds the whole matrix (kk·ho·wo floats) either way, and the partial
 * sums (attn_conv2d_workspace). */
static void
im2col_product (float *y, const float *x, const float *wt, float *ws,
                const AttnConv2d *p, int c_in, int c_out, int h, int w,
                int ho, int wo, const AttnGemmStore *st)
{
  int kk = c_in * p->kh * p->kw;
  size_t hwo = (size_t) ho * wo;
  size_t per_row = (size_t) kk * wo;
  int rows = per_row >= BAND_FLOATS ? 1 : (int) (BAND_FLOATS / per_row);
  int bands = (ho + rows - 1) / rows;
  int threads = attn_parallel_threads ();
  if (threads > 1 && c_in >= 2 && splitk_fits (c_out, kk, hwo)) {
    int workers = threads < SPLITK_WORKERS ? threads : SPLITK_WORKERS;
    workers = workers < c_in ? workers : c_in;
    SplitK s = { y, ws, ws + (size_t) kk * hwo, x, wt, p, st, h, w, ho, wo,
      c_in, c_out, kk, workers };
    attn_parallel_for (workers, splitk_worker, &s);
    attn_parallel_range (c_out, 1, splitk_sum, &s);
    return;
  }
  if ((size_t) kk * hwo <= 2 * (size_t) BAND_FLOATS || bands < 2) {
    im2col (ws, x, c_in, h, w, p, ho, wo);
    attn_sgemm_store (c_out, (int) hwo, kk, wt, kk, ws, (int) hwo, y,
                      (int) hwo, st);
    return;
  }
  /* workers × rows ≤ ho: their bands fit in ws */
  int workers = attn_parallel_threads ();
  workers = workers < ho / rows ? workers : ho / rows;
  workers = workers < 1 ? 1 : workers;
  Bands b = { y, ws, x, wt, p, st, h, w, ho, wo, c_in, c_out, kk, rows,
    workers };
  attn_parallel_for (workers, band_worker, &b);
}

void
attn_conv2d (float *out, const float *in, const float *weight,
             const AttnEpilogue *ep, float *ws, const AttnConv2d *p, int n,
             int h, int w)
{
  int ho = attn_conv_out_dim (h, p->kh, p->stride_h, p->pad_h, p->dil_h);
  int wo = attn_conv_out_dim (w, p->kw, p->stride_w, p->pad_w, p->dil_w);
  int cin_g = p->c_in / p->groups, cout_g = p->c_out / p->groups;
  int kk = cin_g * p->kh * p->kw;
  size_t in_sz = (size_t) p->c_in * h * w, out_sz = (size_t) p->c_out * ho * wo;
  size_t hwo = (size_t) ho * wo;
  if (hwo == 0)
    return;

  /* bias, residual and ReLU ride in the product's store, and so do the
   * pools of a 1×1 convolution's rows (the product writes whole rows); the
   * pools elsewhere and other activations need a pass of their own */
  bool pools = ep && (ep->avg_out || ep->max_out);
  bool fused = ep && !is_depthwise (p) && (!pools || is_pointwise (p))
      && (ep->act == ATTN_ACT_NONE || ep->act == ATTN_ACT_RELU);
  for (int b = 0; b < n; b++) {
    const float *x = in + b * in_sz;
    float *y = out + b * out_sz;
    for (int g = 0; g < p->groups; g++) {
      const float *xg = x + (size_t) g * cin_g * h * w;
      const float *wg = weight + (size_t) g * cout_g * kk;
      float *yg = y + (size_t) g * cout_g * hwo;
      AttnGemmStore st = { 0 };
      if (fused) {
        st.bias = ep->bias ? ep->bias + (size_t) g * cout_g : NULL;
        st.res = ep->residual ? ep->residual + b * out_sz
            + (size_t) g * cout_g * hwo : NULL;
        st.ldr = (int) hwo;
        st.relu = ep->act == ATTN_ACT_RELU;
        size_t row0 = (size_t) b * p->c_out + (size_t) g * cout_g;
        st.sum = ep->avg_out ? ep->avg_out + row0 : NULL;
        st.max = ep->max_out ? ep->max_out + row0 : NULL;
      }
      if (is_depthwise (p)) {
        for (int m = 0; m < cout_g; m++)
          depthwise_plane (yg + m * hwo, xg, wg + (size_t) m * kk, h, w, p,
                           ho, wo);
      } else if (is_pointwise (p)) {
        /* y_g (Cout_g, HW) = W_g (Cout_g, Cin_g) · x_g (Cin_g, HW) */
        attn_sgemm_store (cout_g, (int) hwo, cin_g, wg, kk, xg, (int) hwo, yg,
                          (int) hwo, fused ? &st : NULL);
      } else {
        /* y_g (Cout_g, HoWo) = W_g (Cout_g, K) · col (K, HoWo) */
        im2col_product (yg, xg, wg, ws, p, cin_g, cout_g, h, w, ho, wo,
                        fused ? &st : NULL);
      }
    }
  }
  if (!fused)
    attn_epilogue_apply (out, ep, n, p->c_out, (int) hwo);
  else if (ep->avg_out)
    for (int i = 0; i < n * p->c_out; i++)
      ep->avg_out[i] /= (float) hwo;      /* the store left the sums */
}

size_t
attn_conv2d_many_workspace (const AttnConv2d *p, int n, int h, int w)
{
  if (p->groups != 1 || n < 1)
    return 0;
  size_t ho = (size_t) attn_conv_out_dim (h, p->kh, p->stride_h, p->pad_h,
                                          p->dil_h);
  size_t wo = (size_t) attn_conv_out_dim (w, p->kw, p->stride_w, p->pad_w,
                                          p->dil_w);
  size_t k = (size_t) p->c_in * p->kh * p->kw;
  return (k + (size_t) p->c_out) * (size_t) n * ho * wo;
}

/* Moves rows between one image's (rows, hw) plane and its columns
 * [i·hw, (i+1)·hw) of a (rows, n·hw) matrix, for every image: gather (the
 * 1×1 input) or scatter (the output). */
typedef struct {
  float *const *planes;
  float *mat;
  int n;
  size_t hw;
  bool gather;
} Columns;

static void
columns_rows (void *ctx, int lo, int hi)
{
  const Columns *a = ctx;
  size_t ld = a->hw * (size_t) a->n, bytes = sizeof (float) * a->hw;
  for (int r = lo; r < hi; r++)
    for (int i = 0; i < a->n; i++) {
      float *m = a->mat + (size_t) r * ld + (size_t) i * a->hw;
      float *pl = a->planes[i] + (size_t) r * a->hw;
      if (a->gather)
        memcpy (m, pl, bytes);
      else
        memcpy (pl, m, bytes);
    }
}

static void
columns (float *const *planes, float *mat, int n, int rows, size_t hw,
         bool gather)
{
  Columns a = { planes, mat, n, hw, gather };
  size_t per_row = hw * (size_t) n;
  attn_parallel_range (rows, (int) (GRAIN_FLOATS / (per_row ? per_row : 1))
                       + 1, columns_rows, &a);
}

void
attn_conv2d_many (float *const *out, const float *const *in,
                  const float *weight, const AttnEpilogue *ep, float *ws,
                  const AttnConv2d *p, int n, int h, int w)
{
  int ho = attn_conv_out_dim (h, p->kh, p->stride_h, p->pad_h, p->dil_h);
  int wo = attn_conv_out_dim (w, p->kw, p->stride_w, p->pad_w, p->dil_w);
  size_t hwo = (size_t) ho * wo;
  if (hwo == 0 || n < 1)
    return;
  assert (p->groups == 1);
  int k = p->c_in * p->kh * p->kw;
  size_t ld = hwo * (size_t) n;
  float *col = ws, *y = ws + (size_t) k * ld;
  /* col (K, n·HoWo): each image's im2col (or, 1×1 stride 1, its input)
   * in its own columns */
  if (is_pointwise (p))
    columns ((float *const *) in, col, n, p->c_in, hwo, true);
  else
    for (int i = 0; i < n; i++)
      im2col_ld (col + (size_t) i * hwo, ld, in[i], p->c_in, h, w, p, ho, wo);
  /* y (C_out, n·HoWo) = W (C_out, K) · col: one product for all images, so
   * W is packed once and the product is n times wider */
  attn_sgemm (false, false, p->c_out, (int) ld, k, 1.0f, weight, k, col,
              (int) ld, 0.0f, y, (int) ld);
  columns (out, y, n, p->c_out, hwo, false);
  if (ep)
    for (int i = 0; i < n; i++)
      attn_epilogue_apply (out[i], &ep[i], 1, p->c_out, (int) hwo);
}

void
attn_conv2d_ref (float *out, const float *in, const float *weight,
                 const AttnEpilogue *ep, const AttnConv2d *p, int n, int h,
                 int w)
{
  int ho = attn_conv_out_dim (h, p->kh, p->stride_h, p->pad_h, p->dil_h);
  int wo = attn_conv_out_dim (w, p->kw, p->stride_w, p->pad_w, p->dil_w);
  int cin_g = p->c_in / p->groups, cout_g = p->c_out / p->groups;
  for (int b = 0; b < n; b++)
    for (int co = 0; co < p->c_out; co++) {
      int g = co / cout_g;
      for (int oy = 0; oy < ho; oy++)
        for (int ox = 0; ox < wo; ox++) {
          double acc = 0.0;
          for (int ci = 0; ci < cin_g; ci++)
            for (int ky = 0; ky < p->kh; ky++)
              for (int kx = 0; kx < p->kw; kx++) {
                int iy = oy * p->stride_h - p->pad_h + ky * p->dil_h;
                int ix = ox * p->stride_w - p->pad_w + kx * p->dil_w;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                  continue;
                acc += (double) weight[((size_t) (co * cin_g + ci) * p->kh
                                        + ky) * p->kw + kx]
                    * in[(((size_t) b * p->c_in + g * cin_g + ci) * h + iy)
                         * w + ix];
              }
          out[(((size_t) b * p->c_out + co) * ho + oy) * wo + ox] =
              (float) acc;
        }
    }
  attn_epilogue_apply (out, ep, n, p->c_out, ho * wo);
}

size_t
attn_conv2d_backward_workspace (const AttnConv2d *p, int h, int w)
{
  if (is_pointwise (p))
    return 0;
  size_t ho = (size_t) attn_conv_out_dim (h, p->kh, p->stride_h, p->pad_h,
                                          p->dil_h);
  size_t wo = (size_t) attn_conv_out_dim (w, p->kw, p->stride_w, p->pad_w,
                                          p->dil_w);
  return (size_t) (p->c_in / p->groups) * p->kh * p->kw * ho * wo;
}

/* The adjoint of im2col: dx (C,H,W) += col (C·KH·KW, Ho·Wo) scattered back
 * to the input positions each row was gathered from. */
static void
col2im_add (float *restrict dx, const float *restrict col, int c, int h,
            int w, const AttnConv2d *p, int ho, int wo)
{
  for (int ci = 0; ci < c; ci++) {
    float *plane = dx + (size_t) ci * h * w;
    for (int ky = 0; ky < p->kh; ky++) {
      int offy = ky * p->dil_h - p->pad_h;
      int y0, y1;
      valid_range (h, ho, p->stride_h, offy, &y0, &y1);
      for (int kx = 0; kx < p->kw; kx++) {
        int offx = kx * p->dil_w - p->pad_w;
        int x0, x1;
        valid_range (w, wo, p->stride_w, offx, &x0, &x1);
        const float *row = col + ((size_t) (ci * p->kh + ky) * p->kw + kx)
            * ho * wo;
        for (int oy = y0; oy < y1; oy++) {
          const float *restrict src = row + (size_t) oy * wo;
          float *restrict dst = plane + (size_t) (oy * p->stride_h + offy) * w;
          if (p->stride_w == 1) {
            for (int ox = x0; ox < x1; ox++)
              dst[ox + offx] += src[ox];
          } else {
            for (int ox = x0; ox < x1; ox++)
              dst[ox * p->stride_w + offx] += src[ox];
          }
        }
      }
    }
  }
}

void
attn_conv2d_backward_data (float *dx, const float *dy, const float *weight,
                           float *ws, const AttnConv2d *p, int n, int h, int w,
                           bool accumulate)
{
  int ho = attn_conv_out_dim (h, p->kh, p->stride_h, p->pad_h, p->dil_h);
  int wo = attn_conv_out_dim (w, p->kw, p->stride_w, p->pad_w, p->dil_w);
  int g = p->groups, cig = p->c_in / g, cog = p->c_out / g;
  int k = cig * p->kh * p->kw;
  size_t hw = (size_t) h * w, howo = (size_t) ho * wo;
  for (int b = 0; b < n; b++)
    for (int gi = 0; gi < g; gi++) {
      const float *wg = weight + (size_t) gi * cog * k;
      const float *dyg = dy + ((size_t) b * p->c_out + (size_t) gi * cog) * howo;
      float *dxg = dx + ((size_t) b * p->c_in + (size_t) gi * cig) * hw;
      if (is_pointwise (p)) {
        /* dx (Cig, HW) = wᵀ (Cig, Cog) · dy (Cog, HW) */
        attn_sgemm (true, false, cig, (int) hw, cog, 1.0f, wg, k, dyg,
                    (int) howo, accumulate ? 1.0f : 0.0f, dxg, (int) hw);
        continue;
      }
      /* col (Cig·KH·KW, Ho·Wo) = wᵀ · dy, then scattered back */
      attn_sgemm (true, false, k, (int) howo, cog, 1.0f, wg, k, dyg,
                  (int) howo, 0.0f, ws, (int) howo);
      if (!accumulate)
        memset (dxg, 0, sizeof (float) * (size_t) cig * hw);
      col2im_add (dxg, ws, cig, h, w, p, ho, wo);
    }
}

void
attn_conv2d_backward_data_ref (float *dx, const float *dy,
                               const float *weight, const AttnConv2d *p,
                               int n, int h, int w, bool accumulate)
{
  int ho = attn_conv_out_dim (h, p->kh, p->stride_h, p->pad_h, p->dil_h);
  int wo = attn_conv_out_dim (w, p->kw, p->stride_w, p->pad_w, p->dil_w);
  int cig = p->c_in / p->groups, cog = p->c_out / p->groups;
  if (!accumulate)
    memset (dx, 0, sizeof (float) * (size_t) n * p->c_in * h * w);
  for (int b = 0; b < n; b++)
    for (int co = 0; co < p->c_out; co++)
      for (int oy = 0; oy < ho; oy++)
        for (int ox = 0; ox < wo; ox++) {
          float g = dy[(((size_t) b * p->c_out + co) * ho + oy) * wo + ox];
          int ci0 = co / cog * cig;
          for (int ci = 0; ci < cig; ci++)
            for (int ky = 0; ky < p->kh; ky++) {
              int iy = oy * p->stride_h - p->pad_h + ky * p->dil_h;
              if (iy < 0 || iy >= h)
                continue;
              for (int kx = 0; kx < p->kw; kx++) {
                int ix = ox * p->stride_w - p->pad_w + kx * p->dil_w;
                if (ix < 0 || ix >= w)
                  continue;
                float wv = weight[(((size_t) co * cig + ci) * p->kh + ky)
                                  * p->kw + kx];
                dx[(((size_t) b * p->c_in + ci0 + ci) * h + iy) * w + ix]
                    += wv * g;
              }
            }
        }
}
