/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* direct.c — see direct.h. The input is copied once into a zero-padded
 * workspace (C_in·(h+2)·(w+2) floats: for a stride-2 layer 2.25× less than
 * im2col's matrix, for stride 1 9× less), so the tile (direct_isa.c) reads
 * every tap without a test. The weights were reordered at plan time
 * (attn_direct_weights): a tile's 32 output channels for one input
 * channel and tap are two vectors. Each worker takes a contiguous range of
 * (group of 32 output channels, output row) pairs: rows outermost when all
 * the weights fit in 1 MB (they stay in L2 from row to row, and each
 * thread pads and reads its own rows), groups outermost otherwise (on two
 * threads each reads half of the weights).
 *
 * Maps 7 pixels wide or less take two output rows per tile (14 pixels),
 * so a tile still has 28 accumulators. Where the weights are too large
 * for L2 (groups outermost), each group's tiles prefetch the next group's
 * weights between them: without it the first tile of each group waited
 * for its weights from memory (the 7×7 layers below ran 20 % slower).
 *
 * Where it pays, on this machine (an Intel Xeon with AVX-512): 3×3 stride
 * 2 from 128 input channels up, with output rows of 14 pixels or more. In
 * ResNet-50-CBAM (layer probe, forwards with ATTN_DIRECT=never and auto
 * alternated, 1 / 2 threads): 256 ch 28² → 14² 17–21 % / 7–12 % faster
 * than im2col + sgemm, 128 ch 56² → 28² 1–3 % / 2–7 %; ResNet-18's
 * 128 → 256 ch 28² → 14² 4–9 % (1 thread). And 3×3 stride 1 from 128
 * input channels on maps 7 wide or less, in pairs of rows: ResNet-50's
 * two 512-channel layers at 7² 1.90 → 1.64 ms (1 thread), 1.06 → 0.94
 * (2), ResNet-18's 2.05 → 1.70 and 1.03 → 0.84. And stride 2 onto 7×7
 * outputs, also in pairs of rows (alone, weights cold from memory, minima
 * of 240 alternated runs, 1 / 2 threads: ResNet-50's 512 ch 14² → 7² 1.83
 * → 1.60 / 0.92 → 0.85 ms, ResNet-18's 256 → 512 ch 0.90 → 0.74 / 0.45 →
 * 0.39; an earlier in-network probe had it 5 % slower on 2 threads,
 * this one's network profile 2–4 % faster). Not taken: 64 input channels
 * (ResNet-18's 56² → 28²: no faster in the network, 12–25 % slower
 * alone). */
#include "direct.h"

#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "direct-private.h"
#include "parallel.h"

bool
attn_direct_applies (const AttnConv2d *p, int h, int w)
{
  return p->kh == 3 && p->kw == 3 && p->groups == 1
      && p->dil_h == 1 && p->dil_w == 1
      && p->stride_h == p->stride_w && (p->stride_h == 1 || p->stride_h == 2)
      && p->pad_h == p->pad_w && (p->pad_h == 0 || p->pad_h == 1)
      && p->c_in > 0 && p->c_out > 0 && p->c_out % DIRECT_OC == 0
      && attn_conv_out_dim (h, 3, p->stride_h, p->pad_h, 1) > 0
      && attn_conv_out_dim (w, 3, p->stride_w, p->pad_w, 1) > 0;
}

/* -1: not chosen yet (the environment's ATTN_DIRECT, read at the first
 * plan, or AUTO) */
static int policy = -1;

void
attn_direct_set_policy (AttnDirectPolicy pol)
{
  policy = (int) pol;
}

static AttnDirectPolicy
current_policy (void)
{
  if (policy < 0) {
    const char *env = getenv ("ATTN_DIRECT");
    policy = !env ? ATTN_DIRECT_AUTO
        : !strcmp (env, "never") ? ATTN_DIRECT_NEVER
        : !strcmp (env, "always") ? ATTN_DIRECT_ALWAYS : ATTN_DIRECT_AUTO;
  }
  return (AttnDirectPolicy) policy;
}

bool
attn_direct_pays (const AttnConv2d *p, int h, int w)
{
#ifdef ATTN_HAVE_ISA_VARIANTS
  AttnDirectPolicy pol = current_policy ();
  if (pol == ATTN_DIRECT_NEVER || attn_cpu_isa () != ATTN_ISA_AVX512
      || !attn_direct_applies (p, h, w))
    return false;
  if (pol == ATTN_DIRECT_ALWAYS)
    return true;
  /* 128 input channels or more; rows of 7 or less (a tile takes two),
   * and with stride 2 rows of 14 or more too (see the top of this file) */
  int wo = attn_conv_out_dim (w, 3, p->stride_w, p->pad_w, 1);
  return p->c_in >= 128
      && (2 * wo <= DIRECT_NPX || (p->stride_h == 2 && wo >= DIRECT_NPX));
#else
  (void) p; (void) h; (void) w;
  (void) current_policy;
  return false;
#endif
}

size_t
attn_direct_weights_size (const AttnConv2d *p)
{
  return (size_t) p->c_out * p->c_in * 9;
}

void
attn_direct_weights (float *wk, const float *weight, const AttnConv2d *p)
{
  for (int g = 0; g < p->c_out / DIRECT_OC; g++)
    for (int ci = 0; ci < p->c_in; ci++)
      for (int t = 0; t < 9; t++)
        for (int v = 0; v < DIRECT_OC; v++)
          wk[(((size_t) g * p->c_in + ci) * 9 + t) * DIRECT_OC + v] =
              weight[((size_t) (g * DIRECT_OC + v) * p->c_in + ci) * 9 + t];
}

size_t
attn_direct_workspace (const AttnConv2d *p, int h, int w)
{
  return (size_t) p->c_in * (h + 2 * p->pad_h) * (w + 2 * p->pad_w);
}

#define DIRECT_ROWS_OUTER (1 << 18)

typedef struct {
  float *out, *xp;
  const float *in, *wk;
  const AttnEpilogue *ep;
  const AttnConv2d *p;
  int h, w, hp, wp, ho, wo;
  int rpu, units;       /* output rows per unit (2 where 2·wo fits a tile),
                         * units per group of 32 channels */
  int tiles_per_row, pf_lines;  /* lines per input channel each tile
                                 * prefetches of the next group's weights */
  size_t gbytes;        /* one group's weights */
  bool fused, rows_outer;
} Direct;

/* Padded rows [y0, y1) of channel c into the workspace: the padding rows
 * zero, the others the input's row between a zero on each side. */
static void
pad_plane (const Direct *d, int c, int y0, int y1)
{
  int pad = d->p->pad_h;
  float *dst = d->xp + (size_t) c * d->hp * d->wp;
  const float *src = d->in + (size_t) c * d->h * d->w;
  for (int y = y0; y < y1; y++) {
    float *row = dst + (size_t) y * d->wp;
    if (y < pad || y >= d->h + pad) {
      memset (row, 0, sizeof (float) * d->wp);
      continue;
    }
    if (pad)
      row[0] = row[d->w + 1] = 0.0f;
    memcpy (row + pad, src + (size_t) (y - pad) * d->w, sizeof (float) * d->w);
  }
}

/* Padded rows [lo, hi) of every channel (the split with rows outermost). */
static void
pad_rows (void *ctx, int lo, int hi)
{
  const Direct *d = ctx;
  for (int c = 0; c < d->p->c_in; c++)
    pad_plane (d, c, lo, hi);
}

/* Channels [lo, hi), every padded row (the split with groups outermost). */
static void
pad_channels (void *ctx, int lo, int hi)
{
  const Direct *d = ctx;
  for (int c = lo; c < hi; c++)
    pad_plane (d, c, 0, d->hp);
}

/* Units [lo, hi) of (group of 32 output channels, output rows), rows or
 * groups outermost (d->rows_outer): every tile of the unit's row (or of
 * its two rows, d->rpu), each stored as soon as computed. With groups
 * outermost, the group's tiles between them prefetch the next group's
 * weights into L2, each its own share, a few lines per input channel. */
static void
rows_task (void *ctx, int lo, int hi)
{
  const Direct *d = ctx;
  const AttnConv2d *p = d->p;
  const AttnEpilogue *ep = d->ep;
  int s = p->stride_h;
  size_t plane = (size_t) d->hp * d->wp, hwo = (size_t) d->ho * d->wo;
  float part[DIRECT_NPX * DIRECT_OC] __attribute__ ((aligned (64)));
  int groups = p->c_out / DIRECT_OC;
  for (int u = lo; u < hi; u++) {
    int g = d->rows_outer ? u % groups : u / d->units;
    int oy = (d->rows_outer ? u / groups : u % d->units) * d->rpu;
    bool pair = d->rpu == 2 && oy + 1 < d->ho;
    const float *wk = d->wk + (size_t) g * p->c_in * 9 * DIRECT_OC;
    for (int ox0 = 0; ox0 < d->wo; ox0 += DIRECT_NPX) {
      const char *pf = NULL;
      int pf_lines = 0;
      if (!d->rows_outer && g + 1 < groups) {
        int t = oy / d->rpu * d->tiles_per_row + ox0 / DIRECT_NPX;
        size_t step = (size_t) 64 * p->c_in;    /* a line per channel */
        size_t at = (size_t) t * d->pf_lines * step;
        size_t left = at < d->gbytes ? d->gbytes - at : 0;
        pf_lines = left / step < (size_t) d->pf_lines ? (int) (left / step)
            : d->pf_lines;
        if (pf_lines)
          pf = (const char *) wk + d->gbytes + at;     /* next group */
      }
      int np = d->wo - ox0 < DIRECT_NPX ? d->wo - ox0 : DIRECT_NPX;
      const float *x = d->xp + (size_t) oy * s * d->wp + (size_t) ox0 * s;
#ifdef ATTN_HAVE_ISA_VARIANTS
      if (pair) {
        /* two rows of np ≤ DIRECT_NPX / 2, contiguous in the output */
        direct_pair_avx512 (np, x, plane, d->wp, s, wk, p->c_in, part, pf,
                            pf_lines);
        np *= 2;
      } else
        direct_tile_avx512 (np, x, plane, d->wp, s, wk, p->c_in, part, pf,
                            pf_lines);
#else
      (void) x; (void) plane; (void) wk; (void) pf; (void) pf_lines;
      memset (part, 0, sizeof part);    /* unreachable: never pays */
#endif
      for (int v = 0; v < DIRECT_OC; v++) {
        int c = g * DIRECT_OC + v;
        size_t at = (size_t) c * hwo + (size_t) oy * d->wo + ox0;
        float *o = d->out + at;
        if (!d->fused) {
          for (int q = 0; q < np; q++)
            o[q] = part[q * DIRECT_OC + v];
          continue;
        }
        /* x + (bias + res), then ReLU: as attn_gemm_store_row */
        float bias = ep->bias ? ep->bias[c] : 0.0f;
        const float *res = ep->residual ? ep->residual + at : NULL;
        bool relu = ep->act == ATTN_ACT_RELU;
        for (int q = 0; q < np; q++) {
          float y = part[q * DIRECT_OC + v] + (res ? bias + res[q] : bias);
          o[q] = relu && !(y > 0.0f) ? 0.0f : y;
        }
      }
    }
  }
}

void
attn_conv2d_direct (float *out, const float *in, const float *wk,
                    const AttnEpilogue *ep, float *ws, const AttnConv2d *p,
                    int h, int w)
{
  int pad = p->pad_h;
  int ho = attn_conv_out_dim (h, 3, p->stride_h, pad, 1);
  int wo = attn_conv_out_dim (w, 3, p->stride_w, pad, 1);
  /* bias, residual and ReLU in the store; the pools and other
   * activations in a pass of their own, as attn_conv2d */
  bool fused = ep && !ep->avg_out && !ep->max_out
      && (ep->act == ATTN_ACT_NONE || ep->act == ATTN_ACT_RELU);
  bool rows_outer = attn_direct_weights_size (p) <= DIRECT_ROWS_OUTER;
  int rpu = 2 * wo <= DIRECT_NPX ? 2 : 1, units = (ho + rpu - 1) / rpu;
  int tpr = (wo + DIRECT_NPX - 1) / DIRECT_NPX;
  size_t gbytes = sizeof (float) * p->c_in * 9 * DIRECT_OC;
  size_t step = (size_t) 64 * p->c_in * tpr * units;
  Direct d = { out, ws, in, wk, ep, p, h, w, h + 2 * pad, w + 2 * pad, ho, wo,
    rpu, units, tpr, (int) ((gbytes + step - 1) / step), gbytes, fused,
    rows_outer
  };
  if (rows_outer)
    attn_parallel_range (h + 2 * pad, 4, pad_rows, &d);
  else
    attn_parallel_range (p->c_in, 16, pad_channels, &d);
  attn_parallel_range (p->c_out / DIRECT_OC * d.units, 1, rows_task, &d);
  if (ep && !fused)
    attn_epilogue_apply (out, ep, 1, p->c_out, ho * wo);
}
