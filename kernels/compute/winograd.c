/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* winograd.c — F(2×2, 3×3) convolution: input transform Bᵀ·d·B per 4×4
 * tile, 16 sgemms against the pre-transformed weights G·g·Gᵀ, output
 * transform Aᵀ·m·A per tile, then the usual epilogue.
 *
 *   Bᵀ = | 1  0 -1  0 |    G = | 1    0    0  |    Aᵀ = | 1  1  1  0 |
 *        | 0  1  1  0 |        | ½    ½    ½  |         | 0  1 -1 -1 |
 *        | 0 -1  1  0 |        | ½   -½    ½  |
 *        | 0  1  0 -1 |        | 0    0    1  |
 *
 * Layouts: weights u[ξ][co][ci], transformed input v[ξ][ci][tile],
 * products m[ξ][co][tile], ξ = 4·row + column of the 4×4 transform,
 * tiles in raster order (tw per row). */
#include "winograd.h"

#include <string.h>

#include "parallel.h"

#include "blas.h"

static int
tiles_along (int out)
{
  return (out + 1) / 2;
}

/* Floats between consecutive ξ planes of v and m: c·tiles, rounded up to a
 * cache line plus one more, so that the 16 planes written side by side never
 * sit a multiple of 4 KB apart (64 ch × 28·28 tiles is exactly 49 pages:
 * without the skew the 16 store streams alias and the input transform runs
 * 3× slower). */
static size_t
plane_stride (size_t floats)
{
  return (floats + 15) / 16 * 16 + 16;
}

/* Floats of one scratch row: a zero-padded input row of 2·tw + 2 values, or
 * a row of output-transform partial sums. */
static size_t
row_len (int tw)
{
  return (size_t) 2 * tw + 2;
}

/* The transforms split their channels into at most this many tasks over the
 * thread budget, each with its own scratch rows. */
#define SPLIT 16

/* Where everything lives for one h×w image: the tile grid, and the
 * workspace split into v (16 planes of ps_in floats), m (16 of ps_out) and
 * 8 scratch rows per task. attn_winograd_workspace and attn_conv2d_winograd both read
 * it, so the size reserved and the size used cannot drift apart. */
typedef struct {
  int ho, wo, th, tw;
  size_t nt, ps_in, ps_out, total;
} WinoLayout;

static WinoLayout
layout (const AttnConv2d *p, int h, int w)
{
  WinoLayout l;
  l.ho = attn_conv_out_dim (h, 3, 1, p->pad_h, 1);
  l.wo = attn_conv_out_dim (w, 3, 1, p->pad_w, 1);
  l.th = tiles_along (l.ho);
  l.tw = tiles_along (l.wo);
  l.nt = (size_t) l.th * l.tw;
  l.ps_in = plane_stride ((size_t) p->c_in * l.nt);
  l.ps_out = plane_stride ((size_t) p->c_out * l.nt);
  l.total = 16 * (l.ps_in + l.ps_out) + (size_t) SPLIT * 8 * row_len (l.tw);
  return l;
}

bool
attn_winograd_applies (const AttnConv2d *p, int h, int w)
{
  return p->kh == 3 && p->kw == 3 && p->stride_h == 1 && p->stride_w == 1
      && p->dil_h == 1 && p->dil_w == 1 && p->groups == 1
      && p->pad_h >= 0 && p->pad_h <= 2 && p->pad_w >= 0 && p->pad_w <= 2
      && attn_conv_out_dim (h, 3, 1, p->pad_h, 1) > 0
      && attn_conv_out_dim (w, 3, 1, p->pad_w, 1) > 0;
}

static AttnWinogradPolicy policy = ATTN_WINOGRAD_AUTO;

void
attn_winograd_set_policy (AttnWinogradPolicy pol)
{
  policy = pol;
}

bool
attn_winograd_pays (const AttnConv2d *p, int h, int w)
{
  if (policy == ATTN_WINOGRAD_NEVER || !attn_winograd_applies (p, h, w))
    return false;
  if (policy == ATTN_WINOGRAD_ALWAYS)
    return true;
  size_t tiles = layout (p, h, w).nt;
  /* below these the 16 small GEMMs and the transforms' memory traffic cost
   * more than the 2.25× fewer multiplications save: with few tiles each
   * transformed weight (16·C_out·C_in floats, 16 MB at 512²) is used too few
   * times (attn-bench conv rows, 1 thread: 1.7× faster at 64 ch @56², 128 ch
   * @28² and 256 ch @14², 1.4× at 32 ch @32², 0.9× at 512 ch @7² (16 tiles);
   * at 16 ch it wins with 1 thread and loses with 2) */
  return p->c_in >= 32 && p->c_out >= 32 && tiles >= 36;
}

size_t
attn_winograd_weights_size (const AttnConv2d *p)
{
  return (size_t) 16 * p->c_out * p->c_in;
}

void
attn_winograd_weights (float *u, const float *weight, const AttnConv2d *p)
{
  size_t plane = (size_t) p->c_out * p->c_in;
  for (size_t k = 0; k < plane; k++) {
    const float *g = weight + 9 * k;
    float q[4][3];
    for (int j = 0; j < 3; j++) {        /* G·g: combine the kernel's rows */
      q[0][j] = g[j];
      q[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
      q[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
      q[3][j] = g[6 + j];
    }
    for (int i = 0; i < 4; i++) {        /* (G·g)·Gᵀ: then its columns */
      u[(4 * i + 0) * plane + k] = q[i][0];
      u[(4 * i + 1) * plane + k] = 0.5f * (q[i][0] + q[i][1] + q[i][2]);
      u[(4 * i + 2) * plane + k] = 0.5f * (q[i][0] - q[i][1] + q[i][2]);
      u[(4 * i + 3) * plane + k] = q[i][2];
    }
  }
}

size_t
attn_winograd_workspace (const AttnConv2d *p, int h, int w)
{
  return attn_winograd_applies (p, h, w) ? layout (p, h, w).total : 0;
}

/* v[ξ][c][t] = (Bᵀ·d·B)[ξ] for the 4×4 input tile d of tile t, zero padded.
 * One row of tiles at a time: the four input rows it reads are copied into
 * zero-padded scratch rows, Bᵀ combines whole rows (contiguous), and ·B
 * combines columns 2·tx .. 2·tx + 3 of them for every tile of the row. */
static void
input_transform (float *restrict v, size_t ps, const float *restrict in,
                 int c, int h, int w, int ph, int pw, int th, int tw,
                 float *restrict scratch)
{
  size_t nt = (size_t) th * tw, len = row_len (tw);
  float *d = scratch, *t = scratch + 4 * len;
  for (int ci = 0; ci < c; ci++) {
    const float *x = in + (size_t) ci * h * w;
    for (int ty = 0; ty < th; ty++) {
      for (int r = 0; r < 4; r++) {
        float *row = d + r * len;
        int iy = 2 * ty - ph + r;
        if (iy < 0 || iy >= h) {
          for (size_t j = 0; j < len; j++)
            row[j] = 0.0f;
          continue;
        }
        /* row[j] = src[j − pw] where that lies in the row, else 0 */
        const float *src = x + (size_t) iy * w;
        size_t lead = (size_t) pw < len ? (size_t) pw : len;
        size_t body = len - lead < (size_t) w ? len - lead : (size_t) w;
        memset (row, 0, lead * sizeof *row);
        memcpy (row + lead, src, body * sizeof *row);
        memset (row + lead + body, 0, (len - lead - body) * sizeof *row);
      }
      const float *d0 = d, *d1 = d + len, *d2 = d + 2 * len, *d3 = d + 3 * len;
      float *t0 = t, *t1 = t + len, *t2 = t + 2 * len, *t3 = t + 3 * len;
#pragma omp simd
      for (size_t j = 0; j < len; j++) {  /* Bᵀ·d, a whole row of tiles */
        t0[j] = d0[j] - d2[j];
        t1[j] = d1[j] + d2[j];
        t2[j] = d2[j] - d1[j];
        t3[j] = d1[j] - d3[j];
      }
      float *o = v + (size_t) ci * nt + (size_t) ty * tw;
      for (int r = 0; r < 4; r++) {       /* (Bᵀ·d)·B, tile by tile */
        const float *tr = t + r * len;
        float *o0 = o + (4 * r + 0) * ps, *o1 = o + (4 * r + 1) * ps;
        float *o2 = o + (4 * r + 2) * ps, *o3 = o + (4 * r + 3) * ps;
#pragma omp simd
        for (int tx = 0; tx < tw; tx++) {
          const float *q = tr + 2 * tx;
          o0[tx] = q[0] - q[2];
          o1[tx] = q[1] + q[2];
          o2[tx] = q[2] - q[1];
          o3[tx] = q[1] - q[3];
        }
      }
    }
  }
}

/* out[c][2ty+i][2tx+j] = (Aᵀ·m·A)[i][j], cropped to ho × wo; a row of tiles
 * at a time, Aᵀ across the 16 planes (contiguous along the row), then ·A. */
static void
output_transform (float *restrict out, const float *restrict m, size_t ps,
                  int c, int ho, int wo, int th, int tw, float *restrict scratch)
{
  size_t nt = (size_t) th * tw, len = row_len (tw);
  for (int co = 0; co < c; co++) {
    float *y = out + (size_t) co * ho * wo;
    for (int ty = 0; ty < th; ty++) {
      const float *q = m + (size_t) co * nt + (size_t) ty * tw;
      for (int s = 0; s < 4; s++) {       /* Aᵀ·m: rows 0 and 1, column s */
        const float *m0 = q + s * ps, *m1 = q + (4 + s) * ps;
        const float *m2 = q + (8 + s) * ps, *m3 = q + (12 + s) * ps;
        float *r0 = scratch + s * len, *r1 = scratch + (4 + s) * len;
#pragma omp simd
        for (int tx = 0; tx < tw; tx++) {
          r0[tx] = m0[tx] + m1[tx] + m2[tx];
          r1[tx] = m1[tx] - m2[tx] - m3[tx];
        }
      }
      for (int i = 0; i < 2 && 2 * ty + i < ho; i++) {   /* (Aᵀ·m)·A */
        const float *a = scratch + 4 * i * len;
        const float *a0 = a, *a1 = a + len, *a2 = a + 2 * len, *a3 = a + 3 * len;
        float *row = y + (size_t) (2 * ty + i) * wo;
        int full = wo / 2;                /* tiles whose two columns fit */
#pragma omp simd
        for (int tx = 0; tx < full; tx++) {
          row[2 * tx] = a0[tx] + a1[tx] + a2[tx];
          row[2 * tx + 1] = a1[tx] - a2[tx] - a3[tx];
        }
        if (full < tw)                    /* odd width: the last column */
          row[2 * full] = a0[full] + a1[full] + a2[full];
      }
    }
  }
}

typedef struct {
  const float *u, *v;
  float *m;
  const WinoLayout *l;
  int ci, co;
} WinoGemms;

/* m[xi] = u[xi] · v[xi]: (co, ci) · (ci, tiles) */
static void
wino_gemm (void *ctx, int xi)
{
  const WinoGemms *g = ctx;
  const WinoLayout *l = g->l;
  attn_sgemm (false, false, g->co, (int) l->nt, g->ci, 1.0f,
              g->u + (size_t) xi * g->co * g->ci, g->ci, g->v + xi * l->ps_in,
              (int) l->nt, 0.0f, g->m + xi * l->ps_out, (int) l->nt);
}

typedef struct {
  float *v, *m, *out, *scratch;
  const float *in;
  const WinoLayout *l;
  int c, tasks, h, w, ph, pw;
} WinoTransforms;

/* Task i of `tasks`: its share of the channels, on its own scratch rows. */
static void
channels (const WinoTransforms *t, int i, int *lo, int *hi, float **scratch)
{
  *lo = (int) ((long) t->c * i / t->tasks);
  *hi = (int) ((long) t->c * (i + 1) / t->tasks);
  *scratch = t->scratch + (size_t) i * 8 * row_len (t->l->tw);
}

static void
input_task (void *ctx, int i)
{
  const WinoTransforms *t = ctx;
  const WinoLayout *l = t->l;
  int lo, hi;
  float *scratch;
  channels (t, i, &lo, &hi, &scratch);
  input_transform (t->v + (size_t) lo * l->nt, l->ps_in,
                   t->in + (size_t) lo * t->h * t->w, hi - lo, t->h, t->w,
                   t->ph, t->pw, l->th, l->tw, scratch);
}

static void
output_task (void *ctx, int i)
{
  const WinoTransforms *t = ctx;
  const WinoLayout *l = t->l;
  int lo, hi;
  float *scratch;
  channels (t, i, &lo, &hi, &scratch);
  output_transform (t->out + (size_t) lo * l->ho * l->wo,
                    t->m + (size_t) lo * l->nt, l->ps_out, hi - lo, l->ho,
                    l->wo, l->th, l->tw, scratch);
}

/* Tasks for c channels: one per thread the caller may use, at most SPLIT,
 * none smaller than a few channels' worth of tiles. */
static int
transform_tasks (int c, size_t nt)
{
  int t = attn_parallel_threads ();
  int by_work = (int) ((size_t) c * nt / 2048);
  t = t < SPLIT ? t : SPLIT;
  t = t < by_work ? t : by_work;
  return t < 1 ? 1 : t;
}

void
attn_conv2d_winograd (float *out, const float *in, const float *u,
                      const AttnEpilogue *ep, float *ws, const AttnConv2d *p,
                      int h, int w)
{
  if (!attn_winograd_applies (p, h, w))
    return;
  WinoLayout l = layout (p, h, w);
  int ci = p->c_in, co = p->c_out;
  float *v = ws, *m = v + 16 * l.ps_in, *scratch = m + 16 * l.ps_out;
  /* each transform splits its channels over the thread budget */
  WinoTransforms t = { v, m, out, scratch, in, &l, ci,
    transform_tasks (ci, l.nt), h, w, p->pad_h, p->pad_w };
  attn_parallel_for (t.tasks, input_task, &t);
  /* sixteen independent products: one task each over the thread budget
   * (better balanced than splitting each small product in two) */
  WinoGemms g = { u, v, m, &l, ci, co };
  attn_parallel_for (16, wino_gemm, &g);
  t.c = co;
  t.tasks = transform_tasks (co, l.nt);
  attn_parallel_for (t.tasks, output_task, &t);
  attn_epilogue_apply (out, ep, 1, co, l.ho * l.wo);
}
