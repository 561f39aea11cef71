/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* winograd.c — F(2×2, 3×3) convolution: input transform Bᵀ·d·B per 4×4
 * tile, 16 sgemms against the pre-transformed weights G·g·Gᵀ, output
 * transform Aᵀ·m·A per tile, with bias, residual and ReLU applied as the
 * output is written (the pools and other activations: the epilogue's pass).
 *
 *   Bᵀ = | 1  0 -1  0 |    G = | 1    0    0  |    Aᵀ = | 1  1  1  0 |
 *        | 0  1  1  0 |        | ½    ½    ½  |         | 0  1 -1 -1 |
 *        | 0 -1  1  0 |        | ½   -½    ½  |
 *        | 0  1  0 -1 |        | 0    0    1  |
 *
 * Layouts: weights u[ξ][co][ci]; tiles in raster order (tw per row), cut
 * into blocks of at most 48 (one panel of the GEMM kernel); per block, the
 * transformed input v[ξ][ci][tile] and the products m[ξ][co][tile], ξ =
 * 4·row + column of the 4×4 transform. A worker carries its blocks through
 * all three phases in its own buffers (≈ 0.4 MB at 64 channels), so v and m
 * stay in its core's L2 and the threads share nothing but the input and
 * the output. */
#include "winograd.h"

#include <string.h>

#include "parallel.h"

#include "blas.h"

static int
tiles_along (int out)
{
  return (out + 1) / 2;
}

/* Floats of one scratch row: a zero-padded input row of 2·n + 2 values for
 * a segment of n tiles, or a row of output-transform partial sums. */
static size_t
row_len (int n)
{
  return (size_t) 2 * n + 2;
}

/* Floats between consecutive ξ planes of a block's v and m: rounded up to a
 * cache line plus one more, so that the 16 planes written side by side never
 * sit a multiple of 4 KB apart (64 ch × 48 tiles is exactly 3 pages: without
 * the skew the 16 store streams alias and the input transform runs 3×
 * slower). */
static size_t
plane_stride (size_t floats)
{
  return (floats + 15) / 16 * 16 + 16;
}

/* At most this many workers, each with its own block buffers. */
#define SPLIT 16

/* Tiles per block: one 48-column panel of the GEMM kernel, or fewer so that
 * `threads` workers each get a block on small maps (a multiple of 16, the
 * kernel's vector width). */
static int
block_tiles (size_t nt, int threads)
{
  size_t per = (nt + (size_t) threads - 1) / (size_t) threads;
  per = (per + 15) / 16 * 16;
  return per < 48 ? (int) per : 48;
}

/* Where everything lives for one h×w image on `threads` workers: the tile
 * grid; tiles cut into blocks of nb; each worker's buffers — a block's v (16
 * planes of ps_in floats: c_in rows of nb tiles), its m (16 of ps_out) and 8
 * scratch rows — `per_worker` floats, one after another in the workspace.
 * attn_winograd_workspace and attn_conv2d_winograd both read it, so the size
 * reserved and the size used cannot drift apart. */
typedef struct {
  int ho, wo, th, tw;
  size_t nt;
  int nb, nblocks, workers;
  size_t ps_in, ps_out, per_worker;
} WinoLayout;

static WinoLayout
layout (const AttnConv2d *p, int h, int w, int threads)
{
  WinoLayout l;
  threads = threads < 1 ? 1 : threads > SPLIT ? SPLIT : threads;
  l.ho = attn_conv_out_dim (h, 3, 1, p->pad_h, 1);
  l.wo = attn_conv_out_dim (w, 3, 1, p->pad_w, 1);
  l.th = tiles_along (l.ho);
  l.tw = tiles_along (l.wo);
  l.nt = (size_t) l.th * l.tw;
  l.nb = block_tiles (l.nt, threads);
  l.nblocks = (int) ((l.nt + (size_t) l.nb - 1) / (size_t) l.nb);
  l.workers = l.nblocks < threads ? l.nblocks : threads;
  l.ps_in = plane_stride ((size_t) p->c_in * l.nb);
  l.ps_out = plane_stride ((size_t) p->c_out * l.nb);
  l.per_worker = 16 * (l.ps_in + l.ps_out) + 8 * row_len (l.nb);
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
  size_t tiles = layout (p, h, w, 1).nt;
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
  if (!attn_winograd_applies (p, h, w))
    return 0;
  size_t most = 0;               /* over every thread budget it may run on */
  for (int t = 1; t <= SPLIT; t++) {
    WinoLayout l = layout (p, h, w, t);
    size_t need = (size_t) l.workers * l.per_worker;
    most = need > most ? need : most;
  }
  return most;
}

/* v[ξ][c][j] = (Bᵀ·d·B)[ξ] for the 4×4 input tiles d of tiles a .. b−1 of
 * tile row ty (j = 0 .. b−a−1; ldv floats between channels), zero padded.
 * The four input rows the segment reads are copied into zero-padded scratch
 * rows, Bᵀ combines whole rows (contiguous), and ·B combines columns
 * 2·j .. 2·j + 3 of them for every tile. */
static void
input_segment (float *restrict v, size_t ps, int ldv, const float *restrict in,
               int c, int h, int w, int ph, int pw, int ty, int a, int b,
               float *restrict scratch)
{
  int n = b - a;
  int len = (int) row_len (n);
  float *d = scratch, *t = scratch + 4 * len;
  /* row[j] = in[x0 + j] for j in [jlo, jhi), 0 elsewhere */
  int x0 = 2 * a - pw;
  int jlo = x0 < 0 ? -x0 : 0;
  jlo = jlo < len ? jlo : len;
  int jhi = w - x0 < len ? w - x0 : len;
  jhi = jhi > jlo ? jhi : jlo;
  for (int ci = 0; ci < c; ci++) {
    const float *x = in + (size_t) ci * h * w;
    for (int r = 0; r < 4; r++) {
      float *row = d + r * len;
      int iy = 2 * ty - ph + r;
      if (iy < 0 || iy >= h) {
        memset (row, 0, (size_t) len * sizeof *row);
        continue;
      }
      memset (row, 0, (size_t) jlo * sizeof *row);
      memcpy (row + jlo, x + (size_t) iy * w + (x0 + jlo),
              (size_t) (jhi - jlo) * sizeof *row);
      memset (row + jhi, 0, (size_t) (len - jhi) * sizeof *row);
    }
    const float *d0 = d, *d1 = d + len, *d2 = d + 2 * len, *d3 = d + 3 * len;
    float *t0 = t, *t1 = t + len, *t2 = t + 2 * len, *t3 = t + 3 * len;
#pragma omp simd
    for (int j = 0; j < len; j++) {      /* Bᵀ·d, the whole segment */
      t0[j] = d0[j] - d2[j];
      t1[j] = d1[j] + d2[j];
      t2[j] = d2[j] - d1[j];
      t3[j] = d1[j] - d3[j];
    }
    float *o = v + (size_t) ci * ldv;
    for (int r = 0; r < 4; r++) {         /* (Bᵀ·d)·B, tile by tile */
      const float *tr = t + r * len;
      float *o0 = o + (4 * r + 0) * ps, *o1 = o + (4 * r + 1) * ps;
      float *o2 = o + (4 * r + 2) * ps, *o3 = o + (4 * r + 3) * ps;
#pragma omp simd
      for (int j = 0; j < n; j++) {
        const float *q = tr + 2 * j;
        o0[j] = q[0] - q[2];
        o1[j] = q[1] + q[2];
        o2[j] = q[2] - q[1];
        o3[j] = q[1] - q[3];
      }
    }
  }
}

/* The store's steps on a span of an output row: x + (bias + res), then
 * ReLU, rounded as conv.c's epilogue pass rounds them. */
typedef struct {
  const float *bias, *res;     /* res: (C_out, Ho, Wo), or NULL */
  bool relu;
} WinoStore;

/* out[co][2ty+i][2(a+j)+k] = (Aᵀ·m·A)[i][k] for tiles a .. b−1 of tile row
 * ty (m: ldm floats between channels, j = 0 .. b−a−1), cropped to ho × wo,
 * then the store's steps; Aᵀ across the 16 planes (contiguous along the
 * segment), then ·A. */
static void
output_segment (float *restrict out, const float *restrict m, size_t ps,
                int ldm, int c, int ho, int wo, int tw, int ty, int a, int b,
                const WinoStore *st, float *restrict scratch)
{
  int n = b - a;
  size_t len = row_len (n);
  /* tiles whose two columns both fit: all but an odd width's last one */
  int full = b == tw && wo % 2 ? n - 1 : n;
  int x0 = 2 * a, x1 = 2 * b < wo ? 2 * b : wo;
  for (int co = 0; co < c; co++) {
    const float *q = m + (size_t) co * ldm;
    for (int s = 0; s < 4; s++) {         /* Aᵀ·m: rows 0 and 1, column s */
      const float *m0 = q + s * ps, *m1 = q + (4 + s) * ps;
      const float *m2 = q + (8 + s) * ps, *m3 = q + (12 + s) * ps;
      float *r0 = scratch + s * len, *r1 = scratch + (4 + s) * len;
#pragma omp simd
      for (int j = 0; j < n; j++) {
        r0[j] = m0[j] + m1[j] + m2[j];
        r1[j] = m1[j] - m2[j] - m3[j];
      }
    }
    float bv = st && st->bias ? st->bias[co] : 0.0f;
    for (int i = 0; i < 2 && 2 * ty + i < ho; i++) {     /* (Aᵀ·m)·A */
      const float *r = scratch + 4 * i * len;
      const float *a0 = r, *a1 = r + len, *a2 = r + 2 * len, *a3 = r + 3 * len;
      size_t at = ((size_t) co * ho + 2 * ty + i) * wo;
      float *row = out + at + x0;
#pragma omp simd
      for (int j = 0; j < full; j++) {
        row[2 * j] = a0[j] + a1[j] + a2[j];
        row[2 * j + 1] = a1[j] - a2[j] - a3[j];
      }
      if (full < n)                       /* odd width: the last column */
        row[2 * full] = a0[full] + a1[full] + a2[full];
      if (!st)
        continue;
      float *y = out + at;
      if (st->res) {
        const float *rs = st->res + at;
        for (int x = x0; x < x1; x++)
          y[x] += bv + rs[x];
      } else if (bv != 0.0f) {
        for (int x = x0; x < x1; x++)
          y[x] += bv;
      }
      if (st->relu)
        for (int x = x0; x < x1; x++)
          y[x] = y[x] > 0.0f ? y[x] : 0.0f;
    }
  }
}

typedef struct {
  float *out, *ws;
  const float *in, *u;
  const AttnConv2d *p;
  const WinoLayout *l;
  const WinoStore *st;
  int h, w;
} WinoRun;

/* Worker i: its share of the blocks of tiles, each block carried through
 * the input transform, the sixteen products and the output transform in its
 * own buffers, which stay in this core's cache (a split by phases made
 * every phase read what the other core had just written). */
static void
worker (void *ctx, int i)
{
  const WinoRun *r = ctx;
  const WinoLayout *l = r->l;
  const AttnConv2d *p = r->p;
  int ci = p->c_in, co = p->c_out, nb = l->nb;
  float *v = r->ws + (size_t) i * l->per_worker;
  float *m = v + 16 * l->ps_in, *scratch = m + 16 * l->ps_out;
  int lo = (int) ((long) l->nblocks * i / l->workers);
  int hi = (int) ((long) l->nblocks * (i + 1) / l->workers);
  for (int blk = lo; blk < hi; blk++) {
    size_t t0 = (size_t) blk * nb;
    int n = l->nt - t0 < (size_t) nb ? (int) (l->nt - t0) : nb;
    for (size_t t = t0; t < t0 + n;) {    /* the block's tile-row segments */
      int ty = (int) (t / l->tw), a = (int) (t % l->tw);
      int b = (int) (a + (t0 + n - t) < (size_t) l->tw ? a + (t0 + n - t)
                     : (size_t) l->tw);
      input_segment (v + (t - t0), l->ps_in, nb, r->in, ci, r->h, r->w,
                     p->pad_h, p->pad_w, ty, a, b, scratch);
      t += b - a;
    }
    for (int xi = 0; xi < 16; xi++)      /* m[ξ] = u[ξ] · v[ξ] */
      attn_sgemm (false, false, co, n, ci, 1.0f,
                  r->u + (size_t) xi * co * ci, ci, v + xi * l->ps_in, nb,
                  0.0f, m + xi * l->ps_out, nb);
    for (size_t t = t0; t < t0 + n;) {
      int ty = (int) (t / l->tw), a = (int) (t % l->tw);
      int b = (int) (a + (t0 + n - t) < (size_t) l->tw ? a + (t0 + n - t)
                     : (size_t) l->tw);
      output_segment (r->out, m + (t - t0), l->ps_out, nb, co, l->ho, l->wo,
                      l->tw, ty, a, b, r->st, scratch);
      t += b - a;
    }
  }
}

void
attn_conv2d_winograd (float *out, const float *in, const float *u,
                      const AttnEpilogue *ep, float *ws, const AttnConv2d *p,
                      int h, int w)
{
  if (!attn_winograd_applies (p, h, w))
    return;
  WinoLayout l = layout (p, h, w, attn_parallel_threads ());
  /* bias, residual and ReLU ride in the output transform; the pools and
   * other activations need the epilogue's pass */
  bool fused = ep && !ep->avg_out && !ep->max_out
      && (ep->act == ATTN_ACT_NONE || ep->act == ATTN_ACT_RELU);
  WinoStore st = { 0 };
  if (fused)
    st = (WinoStore) { ep->bias, ep->residual, ep->act == ATTN_ACT_RELU };
  WinoRun r = { out, ws, in, u, p, &l, fused ? &st : NULL, h, w };
  attn_parallel_for (l.workers, worker, &r);
  if (ep && !fused)
    attn_epilogue_apply (out, ep, 1, p->c_out, l.ho * l.wo);
}
