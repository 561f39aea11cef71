/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* blocked.c — the channel-blocked layout and its kernels (blocked.h);
 * their AVX-512 tiles in blocked_isa.c.
 *
 * The 1×1's work: groups of 64 output channels × runs of BLOCKED_RUN pixels, split
 * over the threads; in each, the input channels in chunks of BLOCKED_KC,
 * whose weights (BLOCKED_KC × 64 floats, 32 KB) stay in L1 while the run's
 * tiles of 7 pixels pass over them, and the run's partial sums (64 × 112
 * floats, 28 KB) in L1/L2 between the chunks.
 *
 * Why (issue 16): ResNet-50's 1×1 convolutions on the NCHW GEMM reach 74–
 * 83 % of the FMA peak on one thread where ONNX Runtime's blocked kernels
 * reach 86–96 %. A prototype of this tile against our GEMM on the same
 * shapes, inputs and outputs in rings beyond the caches, alternated in
 * one process (1 thread, Xeon cpuid model 207): 64 ← 256 @56² 148 against
 * 94 GFLOPS, 256 ← 64 @56² 135 / 117, 512 ← 128 @28² 155 / 141, 128 ← 512
 * @28² 155 / 138, 256 ← 1024 @14² 122 / 110, 1024 ← 256 @14² 146 / 131;
 * level at 7² (the weights' traffic decides there). Reading the input
 * from NCHW instead (broadcasts from K rows far apart) lost that gain
 * where K is large (64 ← 256 @56² 85 GFLOPS); writing NCHW output through
 * a 16 × 16 transpose lost more (1.2–2.4× the GEMM's time): the layout has
 * to hold between layers. */
#include "blocked.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "blocked-private.h"
#include "cpu.h"
#include "parallel.h"
#include "winograd.h"

#define BLOCKED_KC 128          /* input channels per chunk */
/* Weights (floats) up to which the runs of pixels go outermost: each
 * thread then reads its share of the input once (with groups outermost,
 * every thread read all of it), the weights staying in L2. */
#define BLOCKED_RUNS_OUTER (1 << 17)
#define BLOCKED_RUN (16 * BLOCKED_NPX)  /* pixels per unit of work */

size_t
attn_blocked_size (int c, int hw)
{
  return (size_t) (c + ATTN_BLOCK - 1) / ATTN_BLOCK * ATTN_BLOCK * hw;
}

typedef struct {
  float *to;
  const float *from;
  int c, hw;
  bool vec;
} Relayout;

static void
from_nchw (void *ctx, int lo, int hi)
{
  const Relayout *r = ctx;
#ifdef ATTN_HAVE_ISA_VARIANTS
  if (r->vec) {
    blocked_from_nchw_avx512 (r->to, r->from, r->c, r->hw, lo, hi);
    return;
  }
#endif
  for (int b = lo; b < hi; b++) {
    float *o = r->to + (size_t) b * r->hw * ATTN_BLOCK;
    int n = r->c - b * ATTN_BLOCK < ATTN_BLOCK ? r->c - b * ATTN_BLOCK
        : ATTN_BLOCK;
    if (n < ATTN_BLOCK)
      memset (o, 0, sizeof (float) * r->hw * ATTN_BLOCK);
    for (int l = 0; l < n; l++) {
      const float *xc = r->from + (size_t) (b * ATTN_BLOCK + l) * r->hw;
      for (int p = 0; p < r->hw; p++)
        o[(size_t) p * ATTN_BLOCK + l] = xc[p];
    }
  }
}

static void
to_nchw (void *ctx, int lo, int hi)
{
  const Relayout *r = ctx;
#ifdef ATTN_HAVE_ISA_VARIANTS
  if (r->vec) {
    blocked_to_nchw_avx512 (r->to, r->from, r->c, r->hw, lo, hi);
    return;
  }
#endif
  for (int b = lo; b < hi; b++)
    for (int l = 0; l < ATTN_BLOCK && b * ATTN_BLOCK + l < r->c; l++) {
      const float *i = r->from + (size_t) b * r->hw * ATTN_BLOCK + l;
      float *xc = r->to + (size_t) (b * ATTN_BLOCK + l) * r->hw;
      for (int p = 0; p < r->hw; p++)
        xc[p] = i[(size_t) p * ATTN_BLOCK];
    }
}

void
attn_blocked_from_nchw (float *xb, const float *x, int c, int hw)
{
  Relayout r = { xb, x, c, hw, attn_cpu_isa () == ATTN_ISA_AVX512 };
  attn_parallel_range ((c + ATTN_BLOCK - 1) / ATTN_BLOCK, 1, from_nchw, &r);
}

void
attn_blocked_to_nchw (float *x, const float *xb, int c, int hw)
{
  Relayout r = { x, xb, c, hw, attn_cpu_isa () == ATTN_ISA_AVX512 };
  attn_parallel_range ((c + ATTN_BLOCK - 1) / ATTN_BLOCK, 1, to_nchw, &r);
}

size_t
attn_conv1x1_blocked_weights_size (int c_out, int c_in)
{
  return (size_t) (c_out + BLOCKED_OC - 1) / BLOCKED_OC * c_in * BLOCKED_OC;
}

void
attn_conv1x1_blocked_pack (float *wk, const float *w, int c_out, int c_in)
{
  int groups = (c_out + BLOCKED_OC - 1) / BLOCKED_OC;
  for (int g = 0; g < groups; g++)
    for (int ci = 0; ci < c_in; ci++)
      for (int l = 0; l < BLOCKED_OC; l++) {
        int co = g * BLOCKED_OC + l;
        wk[((size_t) g * c_in + ci) * BLOCKED_OC + l] =
            co < c_out ? w[(size_t) co * c_in + ci] : 0.0f;
      }
}

/* The tile in plain C: the same sums in the same order (a multiply-add
 * per input channel, fmaf as the vector unit rounds it). */
static void
tile_c (int nv, int np, const float *x, size_t hw16, int kc, const float *w,
        float *y, bool first, bool fin, const float *bias, const float *res,
        bool relu, float *psum, float *pmax)
{
  for (int v = 0; v < nv; v++)
    for (int j = 0; j < np; j++)
      for (int l = 0; l < ATTN_BLOCK; l++) {
        size_t at = v * hw16 + (size_t) j * ATTN_BLOCK + l;
        float acc = first ? 0.0f : y[at];
        const float *xc = x + (size_t) j * ATTN_BLOCK;
        const float *wc = w + v * ATTN_BLOCK + l;
        for (int c = 0; c < kc; c++)
          acc = fmaf (wc[(size_t) c * BLOCKED_OC],
                      xc[(size_t) (c / ATTN_BLOCK) * hw16 + c % ATTN_BLOCK],
                      acc);
        if (fin) {
          float add = bias[v * ATTN_BLOCK + l];
          acc = acc + (res ? add + res[at] : add);
          if (relu && !(acc > 0.0f))
            acc = 0.0f;
          if (psum) {
            psum[v * ATTN_BLOCK + l] += acc;
            if (acc > pmax[v * ATTN_BLOCK + l])
              pmax[v * ATTN_BLOCK + l] = acc;
          }
        }
        y[at] = acc;
      }
}

typedef struct {
  float *y, *avg, *max;
  const float *x, *w, *bias, *res;
  bool relu, vec, runs_outer;
  int c_out, c_in, hw, runs, groups;
} Conv1x1;


static void
units (void *ctx, int lo, int hi)
{
  const Conv1x1 *t = ctx;
  size_t hw16 = (size_t) t->hw * ATTN_BLOCK;
  float bias[BLOCKED_OC] __attribute__ ((aligned (64)));
  float psum[BLOCKED_OC], pmax[BLOCKED_OC];
  for (int u = lo; u < hi; u++) {
    /* with pools, a unit is a group's every run (its pools its own);
     * with small weights, runs outermost */
    int g = t->avg ? u : t->runs_outer ? u % t->groups : u / t->runs;
    int p0 = t->avg ? 0 : (t->runs_outer ? u / t->groups : u % t->runs)
        * BLOCKED_RUN;
    int p1 = t->avg || t->hw - p0 < BLOCKED_RUN ? t->hw : p0 + BLOCKED_RUN;
    int oc0 = g * BLOCKED_OC, left = t->c_out - oc0;
    int nv = left >= BLOCKED_OC ? 4 : (left + ATTN_BLOCK - 1) / ATTN_BLOCK;
    for (int l = 0; l < BLOCKED_OC; l++) {
      bias[l] = t->bias && l < left ? t->bias[oc0 + l] : 0.0f;
      psum[l] = 0.0f;
      pmax[l] = -INFINITY;
    }
    float *ps = t->avg ? psum : NULL, *pm = t->avg ? pmax : NULL;
    size_t out = (size_t) oc0 / ATTN_BLOCK * hw16;
    for (int k0 = 0; k0 < t->c_in; k0 += BLOCKED_KC) {
      int kc = t->c_in - k0 < BLOCKED_KC ? t->c_in - k0 : BLOCKED_KC;
      bool first = k0 == 0, fin = k0 + kc >= t->c_in;
      const float *x = t->x + (size_t) k0 / ATTN_BLOCK * hw16;
      const float *w = t->w + ((size_t) g * t->c_in + k0) * BLOCKED_OC;
      /* the next chunk's weights (or the next group's first), fetched
       * into L2 a share per tile: ResNet-50-CBAM's forward, with and
       * without alternated in one process, 0.995–0.998 of the time on 1
       * and 2 threads (the weights of its 14² layers, 1 MB a layer, come
       * from memory) */
      const char *pf = (const char *) (w + (size_t) kc * BLOCKED_OC);
      size_t pf_lines = 0, per_tile = 0;
      if (!fin || g + 1 < t->groups) {
        int next = fin ? (t->c_in < BLOCKED_KC ? t->c_in : BLOCKED_KC)
            : (t->c_in - k0 - kc < BLOCKED_KC ? t->c_in - k0 - kc
               : BLOCKED_KC);
        int tiles = (p1 - p0 + BLOCKED_NPX - 1) / BLOCKED_NPX;
        pf_lines = (size_t) next * BLOCKED_OC * sizeof (float) / 64;
        per_tile = (pf_lines + tiles - 1) / tiles;
      }
      for (int p = p0; p < p1; p += BLOCKED_NPX) {
        int np = p1 - p < BLOCKED_NPX ? p1 - p : BLOCKED_NPX;
        for (size_t l = 0; l < per_tile && pf_lines; l++, pf_lines--, pf += 64)
          __builtin_prefetch (pf, 0, 2);
        size_t at = (size_t) p * ATTN_BLOCK;
        float *y = t->y + out + at;
        const float *res = fin && t->res ? t->res + out + at : NULL;
#ifdef ATTN_HAVE_ISA_VARIANTS
        if (t->vec) {
          blocked_tile_avx512 (nv, np, x + at, hw16, kc, w, y, first, fin,
                               bias, res, t->relu, fin ? ps : NULL, pm);
          continue;
        }
#endif
        tile_c (nv, np, x + at, hw16, kc, w, y, first, fin, bias, res,
                t->relu, fin ? ps : NULL, pm);
      }
    }
    for (int l = 0; t->avg && l < left && l < BLOCKED_OC; l++) {
      t->avg[oc0 + l] = psum[l] * (1.0f / (float) t->hw);
      t->max[oc0 + l] = pmax[l];
    }
  }
}

void
attn_conv1x1_blocked (float *yb, const float *xb, const float *wk,
                      const float *bias, const float *res, bool relu,
                      int c_out, int c_in, int hw)
{
  attn_conv1x1_blocked_pools (yb, xb, wk, bias, res, relu, NULL, NULL, c_out,
                              c_in, hw);
}

void
attn_conv1x1_blocked_pools (float *yb, const float *xb, const float *wk,
                            const float *bias, const float *res, bool relu,
                            float *avg, float *max, int c_out, int c_in,
                            int hw)
{
  if (c_out <= 0 || c_in <= 0 || hw <= 0)
    return;
  int groups = (c_out + BLOCKED_OC - 1) / BLOCKED_OC;
  int runs = (hw + BLOCKED_RUN - 1) / BLOCKED_RUN;
  Conv1x1 t = { yb, avg && max ? avg : NULL, max, xb, wk, bias, res, relu,
    attn_cpu_isa () == ATTN_ISA_AVX512,
    attn_conv1x1_blocked_weights_size (c_out, c_in) <= BLOCKED_RUNS_OUTER,
    c_out, c_in, hw, runs, groups
  };
  /* the last block's channels past c_out come out zero: zero weights and
   * bias, plus the residual's lanes there, zero in a blocked map */
  attn_parallel_range (t.avg ? groups : groups * runs, 1, units, &t);
}

/* Weights (floats) up to which rows go outermost: 1 MB, half of L2 */
#define BLOCKED3_ROWS_OUTER (1 << 18)

size_t
attn_conv3x3_blocked_workspace (const AttnConv2d *p, int h, int w)
{
  return attn_blocked_size (p->c_in, (h + 2 * p->pad_h) * (w + 2 * p->pad_w));
}

typedef struct {
  float *y, *xp;
  const float *x, *wk, *bias, *res;
  const AttnConv2d *p;
  bool relu, vec, rows_outer;
  int h, w, hp, wp, ho, wo, rpu, units;
} Conv3;

/* Block b of a blocked map x (h×w) into the zero-padded hp×wp plane of
 * xp, the map at (pad, pad); every float of the plane written. */
static void
pad_block (float *xp, const float *x, int b, int h, int w, int hp, int wp,
           int pad)
{
  size_t row = (size_t) wp * ATTN_BLOCK;
  float *dst = xp + (size_t) b * hp * row;
  const float *src = x + (size_t) b * h * w * ATTN_BLOCK;
  for (int y = 0; y < hp; y++) {
    float *r = dst + y * row;
    if (y < pad || y >= h + pad) {
      memset (r, 0, sizeof (float) * row);
      continue;
    }
    memset (r, 0, sizeof (float) * pad * ATTN_BLOCK);
    memcpy (r + pad * ATTN_BLOCK, src + (size_t) (y - pad) * w * ATTN_BLOCK,
            sizeof (float) * w * ATTN_BLOCK);
    memset (r + (size_t) (pad + w) * ATTN_BLOCK, 0,
            sizeof (float) * (wp - pad - w) * ATTN_BLOCK);
  }
}

static void
pad_blocks (void *ctx, int lo, int hi)
{
  const Conv3 *t = ctx;
  for (int b = lo; b < hi; b++)
    pad_block (t->xp, t->x, b, t->h, t->w, t->hp, t->wp, t->p->pad_h);
}

/* The 3×3 tile in plain C: the same sums in the same order. */
static void
tile3_c (int np, int n0, const float *x, const float *x1, size_t plane16,
         int wp, int s, const float *wk, int cin, float *y, size_t hw16,
         const float *bias, const float *res, bool relu)
{
  for (int q = 0; q < np; q++) {
    const float *xq = q < n0 ? x + (size_t) q * s * ATTN_BLOCK
        : x1 + (size_t) (q - n0) * s * ATTN_BLOCK;
    for (int v = 0; v < BLOCKED3_OC; v++) {
      float acc = 0.0f;
      for (int ci = 0; ci < cin; ci++) {
        const float *xc = xq + (size_t) (ci / ATTN_BLOCK) * plane16
            + ci % ATTN_BLOCK;
        for (int k = 0; k < 9; k++)
          acc = fmaf (wk[((size_t) ci * 9 + k) * BLOCKED3_OC + v],
                      xc[(size_t) ((k / 3) * wp + k % 3) * ATTN_BLOCK], acc);
      }
      size_t at = (size_t) v / ATTN_BLOCK * hw16 + (size_t) q * ATTN_BLOCK
          + v % ATTN_BLOCK;
      acc = acc + (res ? bias[v] + res[at] : bias[v]);
      y[at] = relu && !(acc > 0.0f) ? 0.0f : acc;
    }
  }
}

/* Units [lo, hi) of (group of 32 output channels, rpu output rows):
 * groups outermost where the weights are large (a group's stay in L2
 * across its rows), else rows outermost (the input rows stay in L1/L2
 * across the groups, and each thread reads its band of the input once). */
static void
units3 (void *ctx, int lo, int hi)
{
  const Conv3 *t = ctx;
  const AttnConv2d *p = t->p;
  int s = p->stride_h;
  size_t plane16 = (size_t) t->hp * t->wp * ATTN_BLOCK;
  size_t hw16 = (size_t) t->ho * t->wo * ATTN_BLOCK;
  for (int u = lo; u < hi; u++) {
    int groups = t->p->c_out / BLOCKED3_OC;
    int g = t->rows_outer ? u % groups : u / t->units;
    int oy = (t->rows_outer ? u / groups : u % t->units) * t->rpu;
    bool pair = t->rpu == 2 && oy + 1 < t->ho;
    const float *wk = t->wk + (size_t) g * p->c_in * 9 * BLOCKED3_OC;
    static const float none[BLOCKED3_OC];
    const float *bias = t->bias ? t->bias + g * BLOCKED3_OC : none;
    size_t out = (size_t) g * 2 * hw16;
    for (int ox0 = 0; ox0 < t->wo; ox0 += BLOCKED3_NPX) {
      int n0 = t->wo - ox0 < BLOCKED3_NPX ? t->wo - ox0 : BLOCKED3_NPX;
      int np = pair ? 2 * n0 : n0;
      const float *x = t->xp + ((size_t) oy * s * t->wp + (size_t) ox0 * s)
          * ATTN_BLOCK;
      const float *x1 = x + (size_t) s * t->wp * ATTN_BLOCK;
      size_t at = out + ((size_t) oy * t->wo + ox0) * ATTN_BLOCK;
      const float *res = t->res ? t->res + at : NULL;
#ifdef ATTN_HAVE_ISA_VARIANTS
      if (t->vec) {
        blocked3_tile_avx512 (np, n0, x, x1, plane16, t->wp, s, wk, p->c_in,
                              t->y + at, hw16, bias, res, t->relu);
        continue;
      }
#endif
      tile3_c (np, n0, x, x1, plane16, t->wp, s, wk, p->c_in, t->y + at,
               hw16, bias, res, t->relu);
    }
  }
}

void
attn_conv3x3_blocked (float *yb, const float *xb, const float *wk,
                      const float *bias, const float *res, bool relu,
                      float *ws, const AttnConv2d *p, int h, int w)
{
  int pad = p->pad_h;
  int ho = attn_conv_out_dim (h, 3, p->stride_h, pad, 1);
  int wo = attn_conv_out_dim (w, 3, p->stride_w, pad, 1);
  int rpu = 2 * wo <= BLOCKED3_NPX ? 2 : 1;
  Conv3 t = { yb, ws, xb, wk, bias, res, p, relu,
    attn_cpu_isa () == ATTN_ISA_AVX512,
    (size_t) p->c_out * p->c_in * 9 <= BLOCKED3_ROWS_OUTER, h, w, h + 2 * pad, w + 2 * pad, ho,
    wo, rpu, (ho + rpu - 1) / rpu
  };
  attn_parallel_range ((p->c_in + ATTN_BLOCK - 1) / ATTN_BLOCK, 1, pad_blocks,
                       &t);
  attn_parallel_range (p->c_out / BLOCKED3_OC * t.units, 1, units3, &t);
}

/* Winograd on blocked maps. */

/* The transformed weights' planes (C_in, C_out) are stored in panels of
 * this many output channels (the AVX-512 GEMM kernel's width), each
 * contiguous: a plane streamed row by row, 1 KB apart for 256 channels,
 * came from L3 at the prefetcher's mercy (ResNet-50-CBAM's 14² F(2,3)
 * layers 1.45–1.49 ms against NCHW's 1.03–1.06). */
#define WINO_PANEL 48

size_t
attn_winograd_blocked_weights_size (const AttnConv2d *p, int m)
{
  return (size_t) (m + 2) * (m + 2) * p->c_in * p->c_out;
}

typedef struct {
  float *ut;
  const float *u;
  int ci, co;
} Panels;

/* Transformed-weight planes [lo, hi) into panels */
static void
panels (void *ctx, int lo, int hi)
{
  const Panels *t = ctx;
  int ci = t->ci, co = t->co;
  for (int k = lo; k < hi; k++)
    for (int j0 = 0; j0 < co; j0 += WINO_PANEL) {
      int nb = co - j0 < WINO_PANEL ? co - j0 : WINO_PANEL;
      float *panel = t->ut + (size_t) k * ci * co + (size_t) ci * j0;
      for (int o = 0; o < nb; o++) {   /* read rows, write columns */
        const float *row = t->u + ((size_t) k * co + j0 + o) * ci;
        for (int i = 0; i < ci; i++)
          panel[(size_t) i * nb + o] = row[i];
      }
    }
}

bool
attn_winograd_blocked_weights (float *ut, const float *weight,
                               const AttnConv2d *p, int m)
{
  int a2 = (m + 2) * (m + 2);
  float *u = malloc (sizeof (float) * attn_winograd_weights_size (p, m));
  if (!u)
    return false;
  attn_winograd_weights (u, weight, p, m);      /* (α², C_out, C_in) */
  Panels t = { ut, u, p->c_in, p->c_out };
  attn_parallel_range (a2, 1, panels, &t);
  free (u);
  return true;
}

typedef struct {
  int m, a2, th, tw, hp, wp, ho, wo, tb;        /* tb: tiles per block */
  size_t plane16;
} WinoShape;

static WinoShape
wino_shape (const AttnConv2d *p, int h, int w, int m, int threads)
{
  WinoShape s;
  s.m = m;
  s.a2 = (m + 2) * (m + 2);
  s.ho = attn_conv_out_dim (h, 3, 1, p->pad_h, 1);
  s.wo = attn_conv_out_dim (w, 3, 1, p->pad_w, 1);
  s.th = (s.ho + m - 1) / m;
  s.tw = (s.wo + m - 1) / m;
  /* the tiles read α rows from m·t: the plane covers the map and them */
  s.hp = h + 2 * p->pad_h > s.th * m + 2 ? h + 2 * p->pad_h : s.th * m + 2;
  s.wp = w + 2 * p->pad_w > s.tw * m + 2 ? w + 2 * p->pad_w : s.tw * m + 2;
  s.plane16 = (size_t) s.hp * s.wp * ATTN_BLOCK;
  /* a block of tiles' transformed inputs and products in about 1 MB, in
   * runs of 8 tiles (the GEMM kernel's rows), 8 to 64 tiles */
  size_t per_tile = sizeof (float) * s.a2 * (p->c_in + p->c_out);
  int tb = (int) (((size_t) 1 << 20) / per_tile) / 8 * 8;
  tb = tb < 8 ? 8 : tb > 64 ? 64 : tb;
  int tiles = (s.th * s.tw + 7) / 8 * 8;
  /* every block reads all the transformed weights: where they outweigh a
   * block's buffers, one block a thread, up to 2 MB of buffers (128 ch
   * @28² under F(4×4): 49 tiles were blocks of 24, 24 and 1, the 2.4 MB of
   * weights read three times) */
  size_t weights = sizeof (float) * s.a2 * p->c_in * p->c_out;
  if (weights > (size_t) tb * per_tile) {
    int share = (tiles / 8 + threads - 1) / threads * 8;
    int most = (int) (((size_t) 2 << 20) / per_tile) / 8 * 8;
    share = share < most ? share : most;
    tb = share > tb ? share : tb;
  }
  s.tb = tb < tiles ? tb : tiles;
  return s;
}

size_t
attn_winograd_blocked_workspace (const AttnConv2d *p, int h, int w, int m)
{
  /* a block's buffers for each core at work (see attn_winograd_blocked),
   * on any thread budget up to the cores */
  size_t most = 0;
  for (int t = 1; t <= attn_parallel_cores (); t++) {
    WinoShape s = wino_shape (p, h, w, m, t);
    int blocks = (s.th * s.tw + s.tb - 1) / s.tb;
    size_t n = (size_t) (blocks < t ? blocks : t) * s.a2 * s.tb
        * (p->c_in + p->c_out);
    most = n > most ? n : most;
  }
  return (p->c_in + ATTN_BLOCK - 1) / ATTN_BLOCK
      * wino_shape (p, h, w, m, 1).plane16 + most;
}

typedef struct {
  WinoShape s;
  float *yb, *xp, *v, *mm;
  const float *xb, *ut, *bias, *res;
  const AttnConv2d *p;
  int h, w, t0, nt;
  bool relu, vec;
  atomic_int *slot;             /* the next core's buffers */
} Wino;

/* The plain-C transforms: the same formulas, lane by lane. */
static void
wino_input_c (int m, float *v, size_t ps, const float *x, int wp)
{
  int a = m + 2;
  for (int l = 0; l < ATTN_BLOCK; l++) {
    float d[6][6], t[6][6];
    for (int r = 0; r < a; r++)
      for (int c = 0; c < a; c++)
        d[r][c] = x[((size_t) r * wp + c) * ATTN_BLOCK + l];
    for (int pass = 0; pass < 2; pass++) {
      /* pass 0: t = Bᵀ·d by columns; pass 1: (Bᵀ·d)·B by rows */
      for (int c = 0; c < a; c++) {
        float q[6] = { 0 }, o[6] = { 0 };
        for (int r = 0; r < a; r++)
          q[r] = pass ? t[c][r] : d[r][c];
        if (m == 4) {
          float e = q[4] - q[2], f = q[1] - q[3];
          float s12 = q[1] + q[2], s34 = q[3] + q[4];
          float u12 = q[1] - q[2], u34 = q[3] - q[4];
          o[0] = 4.0f * q[0] - 5.0f * q[2] + q[4];
          o[1] = s34 - 4.0f * s12;
          o[2] = 4.0f * u12 - u34;
          o[3] = e - 2.0f * f;
          o[4] = e + 2.0f * f;
          o[5] = 4.0f * q[1] - 5.0f * q[3] + q[5];
        } else {
          o[0] = q[0] - q[2];
          o[1] = q[1] + q[2];
          o[2] = q[2] - q[1];
          o[3] = q[1] - q[3];
        }
        for (int r = 0; r < a; r++) {
          if (pass)
            v[(size_t) (a * c + r) * ps + l] = o[r];
          else
            t[r][c] = o[r];
        }
      }
    }
  }
}

static void
wino_output_c (int m, float *y, const float *mm, size_t ps, int wo, int rows,
               int cols, const float *bias, const float *res, bool relu)
{
  int a = m + 2;
  for (int l = 0; l < ATTN_BLOCK; l++) {
    float r[4][6], out[4][4];
    for (int pass = 0; pass < 2; pass++)
      for (int s = 0; s < (pass ? m : a); s++) {
        float q[6] = { 0 }, o[4] = { 0 };
        for (int k = 0; k < a; k++)
          q[k] = pass ? r[s][k] : mm[(size_t) (a * k + s) * ps + l];
        if (m == 4) {
          float pp = q[1] + q[2], qq = q[1] - q[2];
          float u = q[3] + q[4], vv = q[3] - q[4];
          o[0] = q[0] + pp + u;
          o[1] = qq + 2.0f * vv;
          o[2] = pp + 4.0f * u;
          o[3] = qq + 8.0f * vv + q[5];
        } else {
          o[0] = q[0] + q[1] + q[2];
          o[1] = q[1] - q[2] - q[3];
        }
        for (int i = 0; i < m; i++) {
          if (pass)
            out[s][i] = o[i];
          else
            r[i][s] = o[i];
        }
      }
    for (int i = 0; i < rows; i++)
      for (int j = 0; j < cols; j++) {
        size_t at = ((size_t) i * wo + j) * ATTN_BLOCK + l;
        float x = out[i][j] + (res ? bias[l] + res[at] : bias[l]);
        y[at] = relu && !(x > 0.0f) ? 0.0f : x;
      }
  }
}

static void
wino_pad (void *ctx, int lo, int hi)
{
  const Wino *t = ctx;
  for (int b = lo; b < hi; b++)
    pad_block (t->xp, t->xb, b, t->h, t->w, t->s.hp, t->s.wp, t->p->pad_h);
}

/* Items [lo, hi) of (tile of the block, input channel block). */
static void
wino_in (void *ctx, int lo, int hi)
{
  const Wino *t = ctx;
  const WinoShape *s = &t->s;
  int cb = t->p->c_in / ATTN_BLOCK;
  size_t ps = (size_t) s->tb * t->p->c_in;
  for (int i = lo; i < hi; i++) {
    int j = i / cb, b = i % cb, tile = t->t0 + j;
    int ty = tile / s->tw, tx = tile % s->tw;
    const float *x = t->xp + b * s->plane16
        + ((size_t) ty * s->m * s->wp + (size_t) tx * s->m) * ATTN_BLOCK;
    float *v = t->v + (size_t) j * t->p->c_in + b * ATTN_BLOCK;
#ifdef ATTN_HAVE_ISA_VARIANTS
    if (t->vec) {
      blocked_wino_input_avx512 (s->m, v, ps, x, s->wp);
      continue;
    }
#endif
    wino_input_c (s->m, v, ps, x, s->wp);
  }
}

/* Planes [lo, hi): (tiles × C_in)·(C_in × C_out), panel by panel of the
 * weights (each contiguous). */
static void
wino_products (void *ctx, int lo, int hi)
{
  const Wino *t = ctx;
  int ci = t->p->c_in, co = t->p->c_out;
  for (int k = lo; k < hi; k++)
    for (int j0 = 0; j0 < co; j0 += WINO_PANEL) {
      int nb = co - j0 < WINO_PANEL ? co - j0 : WINO_PANEL;
      attn_sgemm (false, false, t->nt, nb, ci, 1.0f,
                  t->v + (size_t) k * t->s.tb * ci, ci,
                  t->ut + (size_t) k * ci * co + (size_t) ci * j0, nb, 0.0f,
                  t->mm + (size_t) k * t->s.tb * co + j0, co);
    }
}

/* Items [lo, hi) of (tile of the block, output channel block). */
static void
wino_out (void *ctx, int lo, int hi)
{
  const Wino *t = ctx;
  const WinoShape *s = &t->s;
  static const float none[ATTN_BLOCK];
  int cb = t->p->c_out / ATTN_BLOCK;
  size_t ps = (size_t) s->tb * t->p->c_out;
  size_t hw16 = (size_t) s->ho * s->wo * ATTN_BLOCK;
  for (int i = lo; i < hi; i++) {
    int j = i / cb, b = i % cb, tile = t->t0 + j;
    int ty = tile / s->tw, tx = tile % s->tw;
    int oy = ty * s->m, ox = tx * s->m;
    int rows = s->ho - oy < s->m ? s->ho - oy : s->m;
    int cols = s->wo - ox < s->m ? s->wo - ox : s->m;
    size_t at = b * hw16 + ((size_t) oy * s->wo + ox) * ATTN_BLOCK;
    const float *mm = t->mm + (size_t) j * t->p->c_out + b * ATTN_BLOCK;
    const float *bias = t->bias ? t->bias + b * ATTN_BLOCK : none;
    const float *res = t->res ? t->res + at : NULL;
#ifdef ATTN_HAVE_ISA_VARIANTS
    if (t->vec) {
      blocked_wino_output_avx512 (s->m, t->yb + at, mm, ps, s->wo, rows,
                                  cols, bias, res, t->relu);
      continue;
    }
#endif
    wino_output_c (s->m, t->yb + at, mm, ps, s->wo, rows, cols, bias, res,
                   t->relu);
  }
}

/* Tiles [lo, hi), in blocks of at most s.tb, each through all three
 * phases on this core, in buffers of its own. */
static void
wino_blocks (void *ctx, int lo, int hi)
{
  const Wino *t = ctx;
  Wino w = *t;
  int cib = t->p->c_in / ATTN_BLOCK, cob = t->p->c_out / ATTN_BLOCK;
  int slot = atomic_fetch_add (t->slot, 1);
  w.v = t->v + (size_t) slot * t->s.a2 * t->s.tb * (t->p->c_in + t->p->c_out);
  w.mm = w.v + (size_t) t->s.a2 * t->s.tb * t->p->c_in;
  for (w.t0 = lo; w.t0 < hi; w.t0 += t->s.tb) {
    w.nt = hi - w.t0 < t->s.tb ? hi - w.t0 : t->s.tb;
    wino_in (&w, 0, w.nt * cib);
    wino_products (&w, 0, t->s.a2);
    wino_out (&w, 0, w.nt * cob);
  }
}

void
attn_winograd_blocked (float *yb, const float *xb, const float *ut,
                       const float *bias, const float *res, bool relu,
                       float *ws, const AttnConv2d *p, int h, int w, int m)
{
  Wino t = { wino_shape (p, h, w, m, attn_parallel_threads ()), yb, ws, NULL,
    NULL, xb, ut, bias, res,
    p, h, w, 0, 0, relu, attn_cpu_isa () == ATTN_ISA_AVX512, NULL
  };
  int cib = p->c_in / ATTN_BLOCK, cob = p->c_out / ATTN_BLOCK;
  t.v = ws + (size_t) cib * t.s.plane16;
  t.mm = t.v + (size_t) t.s.a2 * t.s.tb * p->c_in;
  attn_parallel_range (cib, 1, wino_pad, &t);
  int tiles = t.s.th * t.s.tw, blocks = (tiles + t.s.tb - 1) / t.s.tb;
  /* several blocks: each core carries its blocks through all three phases
   * (ResNet-50-CBAM's 64 ch @56², 4 blocks, 2 threads: with the phases
   * split instead, 1.44–1.69× one thread's speed, the cores passing every
   * block's planes between them and meeting 12 times a layer), over an
   * equal share of the tiles: whole blocks dealt out gave one core 112 of
   * the 196 tiles there (blocks of 56, 56, 56, 28) */
  if (blocks > 1 && attn_parallel_threads () > 1) {
    atomic_int slot = 0;
    t.slot = &slot;
    attn_parallel_range (tiles, 8, wino_blocks, &t);
    return;
  }
  for (t.t0 = 0; t.t0 < tiles; t.t0 += t.s.tb) {
    t.nt = tiles - t.t0 < t.s.tb ? tiles - t.t0 : t.s.tb;
    attn_parallel_range (t.nt * cib, 8, wino_in, &t);
    attn_parallel_range (t.s.a2, 1, wino_products, &t);
    attn_parallel_range (t.nt * cob, 8, wino_out, &t);
  }
}

/* The gates' passes. */

typedef struct {
  float *a, *b, *out, *out2;
  const float *fb, *mc, *ms, *id;
  int c, hw;
  bool relu, vec;
} GatePass;

/* One block's channel sums and maxima over its hw pixels, in plain C. */
static void
channel_pools_c (float *sum, float *max, const float *x, int hw)
{
  for (int l = 0; l < ATTN_BLOCK; l++) {
    float s = 0.0f, m = -INFINITY;
    for (int p = 0; p < hw; p++) {
      float v = x[(size_t) p * ATTN_BLOCK + l];
      s += v;
      m = v > m ? v : m;
    }
    sum[l] = s;
    max[l] = m;
  }
}

static void
channel_pools (void *ctx, int lo, int hi)
{
  const GatePass *g = ctx;
  for (int b = lo; b < hi; b++) {
    const float *x = g->fb + (size_t) b * g->hw * ATTN_BLOCK;
    float *sum = g->a + b * ATTN_BLOCK, *max = g->b + b * ATTN_BLOCK;
#ifdef ATTN_HAVE_ISA_VARIANTS
    if (g->vec)
      blocked_channel_pools_avx512 (sum, max, x, g->hw);
    else
#endif
      channel_pools_c (sum, max, x, g->hw);
    for (int l = 0; l < ATTN_BLOCK; l++)
      sum[l] *= 1.0f / (float) g->hw;
  }
}

void
attn_blocked_channel_pools (float *avg, float *max, const float *fb, int c,
                            int hw)
{
  GatePass g = { avg, max, NULL, NULL, fb, NULL, NULL, NULL, c, hw, false,
    attn_cpu_isa () == ATTN_ISA_AVX512
  };
  attn_parallel_range (c / ATTN_BLOCK, 1, channel_pools, &g);
}

/* The spatial pools and the apply split over the thread budget by
 * channels, as a gated block's 1×1 split F to take the channel pools in
 * its store (its groups of 64 channels, a contiguous range a thread): each
 * core reads the part of F that it wrote, from its own L2. Split by pixels,
 * half of F crossed between the cores' caches, twice (ResNet-50-CBAM on 2
 * threads, a 28² gate's spatial pools alone: 25 µs by pixels, 13 by
 * channels; its sixteen gates, with the vector sigmoid, 2.25 → 1.81 ms,
 * minima of 40 forwards). The pools' sums go by groups of 128 channels,
 * then across the groups in order: the same floats on any number of
 * threads. A task takes its groups last first: the channels written last
 * are the ones still in L2 (a 56² map of 256 channels, 3.2 MB, on one
 * thread: 96 µs, first to last 107, by pixels 99). */
#define POOL_GROUP (2 * BLOCKED_OC / ATTN_BLOCK)       /* blocks a group */

static int
pool_groups (int c)
{
  return (c / ATTN_BLOCK + POOL_GROUP - 1) / POOL_GROUP;
}

size_t
attn_blocked_spatial_pools_workspace (int c, int hw)
{
  return (size_t) 2 * pool_groups (c) * hw;
}

/* Groups [lo, hi): each group's max and sum of F·mc over its channels,
 * every pixel, into a (the maxima) and b (the sums), hw floats a group. */
static void
spatial_pools (void *ctx, int lo, int hi)
{
  const GatePass *g = ctx;
  int cb = g->c / ATTN_BLOCK;
  size_t hw16 = (size_t) g->hw * ATTN_BLOCK;
  for (int q = hi - 1; q >= lo; q--) {
    int b0 = q * POOL_GROUP;
    int nb = cb - b0 < POOL_GROUP ? cb - b0 : POOL_GROUP;
    const float *fb = g->fb + b0 * hw16, *mc = g->mc + b0 * ATTN_BLOCK;
    float *pmax = g->a + (size_t) q * g->hw, *psum = g->b + (size_t) q * g->hw;
#ifdef ATTN_HAVE_ISA_VARIANTS
    if (g->vec) {
      blocked_spatial_pools_avx512 (pmax, psum, fb, hw16, nb, mc, g->hw);
      continue;
    }
#endif
    for (int p = 0; p < g->hw; p++) {
      float s = 0.0f, m = -INFINITY;
      for (int ch = 0; ch < nb * ATTN_BLOCK; ch++) {
        float v = fb[(ch / ATTN_BLOCK) * hw16 + (size_t) p * ATTN_BLOCK
                     + ch % ATTN_BLOCK] * mc[ch];
        s += v;
        m = v > m ? v : m;
      }
      pmax[p] = m;
      psum[p] = s;
    }
  }
}

/* Pixels [lo, hi): the groups' maxima and sums into pmax (g->out) and
 * pmean (g->out2), the groups taken in order. */
static void
spatial_combine (void *ctx, int lo, int hi)
{
  const GatePass *g = ctx;
  int groups = pool_groups (g->c);
  float inv_c = 1.0f / (float) g->c;
  float *pmax = g->out, *pmean = g->out2;
  for (int p = lo; p < hi; p++) {
    float m = g->a[p], s = g->b[p];
    for (int q = 1; q < groups; q++) {
      float v = g->a[(size_t) q * g->hw + p];
      m = v > m ? v : m;
      s += g->b[(size_t) q * g->hw + p];
    }
    pmax[p] = m;
    pmean[p] = s * inv_c;
  }
}

void
attn_blocked_spatial_pools (float *pmax, float *pmean, const float *fb,
                            const float *mc, int c, int hw, float *work)
{
  int groups = pool_groups (c);
  GatePass g = { work, work + (size_t) groups * hw, pmax, pmean, fb, mc,
    NULL, NULL, c, hw, false, attn_cpu_isa () == ATTN_ISA_AVX512
  };
  attn_parallel_range (groups, 1, spatial_pools, &g);
  attn_parallel_range (hw, 256, spatial_combine, &g);
}

/* Channel blocks [lo, hi), every pixel. */
static void
gate_apply (void *ctx, int lo, int hi)
{
  const GatePass *g = ctx;
  size_t hw16 = (size_t) g->hw * ATTN_BLOCK, at = lo * hw16;
  float *out = g->out + at;
  const float *fb = g->fb + at, *mc = g->mc + lo * ATTN_BLOCK;
  const float *id = g->id ? g->id + at : NULL;
#ifdef ATTN_HAVE_ISA_VARIANTS
  if (g->vec) {
    blocked_apply_avx512 (out, fb, hw16, hi - lo, mc, g->ms, id, g->relu,
                          g->hw);
    return;
  }
#endif
  for (int b = 0; b < hi - lo; b++)
    for (int p = 0; p < g->hw; p++)
      for (int l = 0; l < ATTN_BLOCK; l++) {
        size_t i = b * hw16 + (size_t) p * ATTN_BLOCK + l;
        float v = fb[i] * mc[b * ATTN_BLOCK + l];
        if (g->ms)
          v = v * g->ms[p];
        if (id)
          v = v + id[i];
        out[i] = g->relu ? (v > 0.0f ? v : 0.0f) : v;
      }
}

void
attn_blocked_gate_apply (float *out, const float *fb, const float *mc,
                         const float *ms, const float *id, bool relu, int c,
                         int hw)
{
  GatePass g = { NULL, NULL, out, NULL, fb, mc, ms, id, c, hw, relu,
    attn_cpu_isa () == ATTN_ISA_AVX512
  };
  attn_parallel_range (c / ATTN_BLOCK, 1, gate_apply, &g);
}

void
attn_blocked_subsample (float *yb, const float *xb, int c, int h, int w,
                        int s)
{
  int ho = (h + s - 1) / s, wo = (w + s - 1) / s;
  for (int b = 0; b < (c + ATTN_BLOCK - 1) / ATTN_BLOCK; b++)
    for (int y = 0; y < ho; y++) {
      const float *src = xb + ((size_t) b * h * w + (size_t) y * s * w)
          * ATTN_BLOCK;
      float *dst = yb + ((size_t) b * ho * wo + (size_t) y * wo) * ATTN_BLOCK;
      for (int x = 0; x < wo; x++)
        memcpy (dst + (size_t) x * ATTN_BLOCK, src + (size_t) x * s
                * ATTN_BLOCK, sizeof (float) * ATTN_BLOCK);
    }
}

/* The stem on blocked maps. */

bool
attn_stem_blocked_applies (const AttnConv2d *p)
{
  return p->kh == p->kw && p->kh % 2 == 1 && p->kh <= 7 && p->groups == 1
      && p->dil_h == 1 && p->dil_w == 1 && p->stride_h == p->stride_w
      && (p->stride_h == 1 || p->stride_h == 2) && p->pad_h == p->kh / 2
      && p->pad_w == p->kw / 2 && p->c_out % BLOCKED3_OC == 0 && p->c_in > 0;
}

size_t
attn_stem_blocked_weights_size (const AttnConv2d *p)
{
  return (size_t) p->c_out * p->c_in * p->kh * p->kw;
}

void
attn_stem_blocked_weights (float *wk, const float *weight, const AttnConv2d *p)
{
  int kk = p->kh * p->kw;
  for (int g = 0; g < p->c_out / BLOCKED3_OC; g++)
    for (int ci = 0; ci < p->c_in; ci++)
      for (int t = 0; t < kk; t++)
        for (int v = 0; v < BLOCKED3_OC; v++)
          wk[(((size_t) g * p->c_in + ci) * kk + t) * BLOCKED3_OC + v] =
              weight[((size_t) (g * BLOCKED3_OC + v) * p->c_in + ci) * kk + t];
}

size_t
attn_stem_blocked_workspace (const AttnConv2d *p, int h, int w)
{
  return (size_t) p->c_in * (h + 2 * p->pad_h) * (w + 2 * p->pad_w);
}

typedef struct {
  float *y, *xp;
  const float *x, *wk, *bias;
  const AttnConv2d *p;
  bool relu, vec;
  int ng;               /* groups of 32 output channels a tile */
  int h, w, hp, wp, ho, wo;
} Stem;

/* Padded rows [lo, hi) of every channel. */
static void
stem_pad (void *ctx, int lo, int hi)
{
  const Stem *t = ctx;
  int pad = t->p->pad_h;
  for (int c = 0; c < t->p->c_in; c++)
    for (int y = lo; y < hi; y++) {
      float *r = t->xp + ((size_t) c * t->hp + y) * t->wp;
      if (y < pad || y >= t->h + pad) {
        memset (r, 0, sizeof (float) * t->wp);
        continue;
      }
      memset (r, 0, sizeof (float) * pad);
      memcpy (r + pad, t->x + ((size_t) c * t->h + y - pad) * t->w,
              sizeof (float) * t->w);
      memset (r + pad + t->w, 0, sizeof (float) * (t->wp - pad - t->w));
    }
}

static void
stem_tile_c (int np, const float *x, size_t plane, int wp, int s, int k,
             const float *wk, int cin, float *y, size_t hw16,
             const float *bias, bool relu)
{
  for (int q = 0; q < np; q++)
    for (int v = 0; v < BLOCKED3_OC; v++) {
      float acc = 0.0f;
      for (int ci = 0; ci < cin; ci++)
        for (int t = 0; t < k * k; t++)
          acc = fmaf (wk[((size_t) ci * k * k + t) * BLOCKED3_OC + v],
                      x[ci * plane + (size_t) (t / k) * wp + t % k + q * s],
                      acc);
      acc = acc + bias[v];
      y[(size_t) v / ATTN_BLOCK * hw16 + (size_t) q * ATTN_BLOCK
        + v % ATTN_BLOCK] = relu && !(acc > 0.0f) ? 0.0f : acc;
    }
}

/* Units [lo, hi) of (output row, t->ng groups of 32), rows outermost:
 * the input rows a row reads stay in L1 across the groups. */
static void
stem_rows (void *ctx, int lo, int hi)
{
  const Stem *t = ctx;
  const AttnConv2d *p = t->p;
  static const float none[2 * BLOCKED3_OC];
  int ng = t->ng, sets = p->c_out / BLOCKED3_OC / ng;
  int s = p->stride_h, k = p->kh, npx = BLOCKED3_NPX / ng;
  size_t plane = (size_t) t->hp * t->wp;
  size_t hw16 = (size_t) t->ho * t->wo * ATTN_BLOCK;
  size_t gstride = (size_t) p->c_in * k * k * BLOCKED3_OC;
  for (int u = lo; u < hi; u++) {
    int oy = u / sets, g = u % sets * ng;
    const float *wk = t->wk + g * gstride;
    const float *bias = t->bias ? t->bias + g * BLOCKED3_OC : none;
    for (int ox0 = 0; ox0 < t->wo; ox0 += npx) {
      int np = t->wo - ox0 < npx ? t->wo - ox0 : npx;
      const float *x = t->xp + (size_t) oy * s * t->wp + (size_t) ox0 * s;
      float *y = t->y + (size_t) g * 2 * hw16
          + ((size_t) oy * t->wo + ox0) * ATTN_BLOCK;
#ifdef ATTN_HAVE_ISA_VARIANTS
      if (t->vec) {
        blocked_stem_tile_avx512 (ng, np, x, plane, t->wp, s, k, wk, gstride,
                                  p->c_in, y, hw16, bias, t->relu);
        continue;
      }
#endif
      stem_tile_c (np, x, plane, t->wp, s, k, wk, p->c_in, y, hw16, bias,
                   t->relu);
    }
  }
}

void
attn_stem_blocked (float *yb, const float *x, const float *wk,
                   const float *bias, bool relu, float *ws,
                   const AttnConv2d *p, int h, int w)
{
  int pad = p->pad_h;
  bool vec = attn_cpu_isa () == ATTN_ISA_AVX512;
  /* two groups a tile where they pair up (AVX-512; the C tile takes one) */
  int ng = vec && p->c_out % (2 * BLOCKED3_OC) == 0 ? 2 : 1;
  Stem t = { yb, ws, x, wk, bias, p, relu, vec, ng,
    h, w, h + 2 * pad, w + 2 * pad,
    attn_conv_out_dim (h, p->kh, p->stride_h, pad, 1),
    attn_conv_out_dim (w, p->kw, p->stride_w, pad, 1)
  };
  attn_parallel_range (t.hp, 8, stem_pad, &t);
  attn_parallel_range (t.ho * (p->c_out / BLOCKED3_OC / ng), 1, stem_rows,
                       &t);
}

typedef struct {
  float *y;
  const float *x;
  const AttnPool2d *p;
  int c, h, w, ho, wo;
  bool vec;
} BPool;

/* Output rows [lo, hi) of every block. */
static void
pool_rows (void *ctx, int lo, int hi)
{
  const BPool *t = ctx;
  const AttnPool2d *p = t->p;
  int ix0[512], ix1[512];
  for (int x0 = 0; x0 < t->wo; x0 += 512) {
    int n = t->wo - x0 < 512 ? t->wo - x0 : 512;
    for (int i = 0; i < n; i++) {
      int a = (x0 + i) * p->stride_w - p->pad_w, b = a + p->kw;
      ix0[i] = a < 0 ? 0 : a;
      ix1[i] = b > t->w ? t->w : b;
    }
    for (int oy = lo; oy < hi; oy++) {
      int a = oy * p->stride_h - p->pad_h, b = a + p->kh;
      int iy0 = a < 0 ? 0 : a, iy1 = b > t->h ? t->h : b;
      for (int bk = 0; bk < (t->c + ATTN_BLOCK - 1) / ATTN_BLOCK; bk++) {
        const float *x = t->x + (size_t) bk * t->h * t->w * ATTN_BLOCK;
        float *y = t->y + ((size_t) bk * t->ho * t->wo + (size_t) oy * t->wo
                           + x0) * ATTN_BLOCK;
#ifdef ATTN_HAVE_ISA_VARIANTS
        if (t->vec) {
          blocked_maxpool_row_avx512 (y, x, t->w, iy0, iy1, ix0, ix1, n);
          continue;
        }
#endif
        for (int i = 0; i < n; i++)
          for (int l = 0; l < ATTN_BLOCK; l++) {
            float m = -INFINITY;
            for (int iy = iy0; iy < iy1; iy++)
              for (int ix = ix0[i]; ix < ix1[i]; ix++) {
                float v = x[((size_t) iy * t->w + ix) * ATTN_BLOCK + l];
                m = v > m ? v : m;
              }
            y[(size_t) i * ATTN_BLOCK + l] = m;
          }
      }
    }
  }
}

void
attn_blocked_maxpool (float *yb, const float *xb, const AttnPool2d *p, int c,
                      int h, int w)
{
  BPool t = { yb, xb, p, c, h, w,
    attn_pool_out_dim (h, p->kh, p->stride_h, p->pad_h, 1, p->ceil_mode),
    attn_pool_out_dim (w, p->kw, p->stride_w, p->pad_w, 1, p->ceil_mode),
    attn_cpu_isa () == ATTN_ISA_AVX512
  };
  attn_parallel_range (t.ho, 4, pool_rows, &t);
}
