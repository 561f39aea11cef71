/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_conv.c — attn_conv2d (all three paths), attn_conv2d_ref and the
 * direct 3×3 convolution (attn_conv2d_direct) against a naive convolution
 * written here, plus the epilogue and BatchNorm folding,
 * several images convolved as one product (attn_conv2d_many),
 * and the transposed convolution (backward data) against its adjoint. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bn.h"
#include "check.h"
#include "conv.h"
#include "cpu.h"
#include "direct.h"
#include "parallel.h"

/* Tolerance: sgemm sums of up to a few hundred products in float32 against a
 * double-precision naive sum. */
#define ATOL 1e-5f
#define RTOL 1e-4f

/* The definition, in double: out[b,co,oy,ox] = Σ w·in over the window. */
static void
naive_conv (float *out, const float *in, const float *wt, const float *bias,
            const float *res, bool relu, const AttnConv2d *p, int n, int h,
            int w)
{
  int ho = (h + 2 * p->pad_h - p->dil_h * (p->kh - 1) - 1) / p->stride_h + 1;
  int wo = (w + 2 * p->pad_w - p->dil_w * (p->kw - 1) - 1) / p->stride_w + 1;
  int cig = p->c_in / p->groups, cog = p->c_out / p->groups;
  for (int b = 0; b < n; b++)
    for (int co = 0; co < p->c_out; co++)
      for (int oy = 0; oy < ho; oy++)
        for (int ox = 0; ox < wo; ox++) {
          double acc = bias ? bias[co] : 0.0;
          for (int ci = 0; ci < cig; ci++)
            for (int ky = 0; ky < p->kh; ky++)
              for (int kx = 0; kx < p->kw; kx++) {
                int iy = oy * p->stride_h + ky * p->dil_h - p->pad_h;
                int ix = ox * p->stride_w + kx * p->dil_w - p->pad_w;
                if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                  acc += (double) wt[((co * cig + ci) * p->kh + ky) * p->kw
                                     + kx]
                      * in[((b * p->c_in + (co / cog) * cig + ci) * h + iy)
                           * w + ix];
              }
          size_t o = ((size_t) (b * p->c_out + co) * ho + oy) * wo + ox;
          if (res)
            acc += res[o];
          if (relu && acc < 0)
            acc = 0;
          out[o] = (float) acc;
        }
}

typedef struct {
  const char *name;
  int n, c_in, c_out, h, w, kh, kw, sh, sw, ph, pw, dh, dw, groups;
} Case;

static const Case cases[] = {
  { "1x1 s1 (sgemm path)", 1, 17, 33, 7, 5, 1, 1, 1, 1, 0, 0, 1, 1, 1 },
  { "1x1 s1 on a 1x1 map", 1, 64, 24, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1 },
  { "1x1 s2 odd (downsample)", 1, 16, 32, 9, 11, 1, 1, 2, 2, 0, 0, 1, 1, 1 },
  { "3x3 s1 p1", 1, 5, 7, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1 },
  { "3x3 s2 p1 odd", 1, 3, 17, 9, 11, 3, 3, 2, 2, 1, 1, 1, 1, 1 },
  { "3x3 s2 p1 batch 2", 2, 6, 4, 7, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1 },
  { "7x7 s2 p3 stem", 1, 3, 8, 23, 19, 7, 7, 2, 2, 3, 3, 1, 1, 1 },
  { "7x7 p3 on 5x5", 1, 2, 3, 5, 5, 7, 7, 1, 1, 3, 3, 1, 1, 1 },
  { "7x7 p0 on 7x7 (1x1 out)", 1, 4, 5, 7, 7, 7, 7, 1, 1, 0, 0, 1, 1, 1 },
  { "3x3 dilation 2", 1, 4, 6, 10, 9, 3, 3, 1, 1, 2, 2, 2, 2, 1 },
  { "3x5 asymmetric s(1,2) p(1,2)", 1, 3, 4, 6, 13, 3, 5, 1, 2, 1, 2, 1, 1, 1 },
  { "groups 2, 3 ch/group", 1, 6, 10, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 2 },
  { "groups 3 1x1", 1, 9, 6, 5, 4, 1, 1, 1, 1, 0, 0, 1, 1, 3 },
  { "depthwise 3x3 s1", 1, 13, 13, 9, 7, 3, 3, 1, 1, 1, 1, 1, 1, 13 },
  { "depthwise 3x3 s2 odd", 1, 5, 5, 11, 9, 3, 3, 2, 2, 1, 1, 1, 1, 5 },
  { "depthwise mult 2 5x5", 1, 3, 6, 8, 10, 5, 5, 1, 1, 2, 2, 1, 1, 3 },
  { "depthwise dil 2 s2", 1, 4, 4, 12, 12, 3, 3, 2, 2, 2, 2, 2, 2, 4 },
  { "3x3 p1 on 1x1 map", 1, 8, 8, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1 },
  { "3x3 s3 p0 stride > kernel-1", 1, 2, 3, 10, 10, 3, 3, 3, 3, 0, 0, 1, 1, 1 },
  { "2x2 s2 even", 1, 3, 5, 8, 6, 2, 2, 2, 2, 0, 0, 1, 1, 1 },
  /* larger maps: products the pool splits over the threads (≥ 2^18
   * multiply-adds) and GEMM tiles with remainders both ways */
  { "1x1 s1 13x19", 1, 29, 71, 13, 19, 1, 1, 1, 1, 0, 0, 1, 1, 1 },
  /* the pools ride in the product's store: per image, and with the rows
   * split over two threads (40 rows: 32 + 8) */
  { "1x1 s1 batch 3 9x7", 3, 12, 20, 9, 7, 1, 1, 1, 1, 0, 0, 1, 1, 1 },
  { "1x1 s1 64->40 23x21", 1, 64, 40, 23, 21, 1, 1, 1, 1, 0, 0, 1, 1, 1 },
  { "3x3 s1 p1 17x15", 1, 15, 49, 17, 15, 3, 3, 1, 1, 1, 1, 1, 1, 1 },
  { "3x3 s2 p1 37x29", 1, 24, 26, 37, 29, 3, 3, 2, 2, 1, 1, 1, 1, 1 },
  { "7x7 s2 p3 stem 41x39", 1, 3, 8, 41, 39, 7, 7, 2, 2, 3, 3, 1, 1, 1 },
  { "3x3 p0 20x22", 1, 3, 5, 20, 22, 3, 3, 1, 1, 0, 0, 1, 1, 1 },
  { "1x1 s2 batch 2 31x27", 2, 6, 7, 31, 27, 1, 1, 2, 2, 0, 0, 1, 1, 1 },
  /* im2col larger than 2 × 128 K floats: in bands of output rows, each
   * band's columns multiplied as soon as written (the last band short) */
  { "banded 7x7 s2 p3 stem 112x104", 1, 3, 8, 112, 104, 7, 7, 2, 2, 3, 3, 1,
    1, 1 },
  { "banded 3x3 p0 5x122, one row per band", 1, 128, 5, 5, 122, 3, 3, 1, 1,
    0, 0, 1, 1, 1 },
  { "banded 3x3 s2 groups 2 97x83", 1, 64, 6, 97, 83, 3, 3, 2, 2, 1, 1, 1, 1,
    2 },
  /* a small im2col and C_out ≤ K on several threads: split along K, each
   * worker its own channels (uneven), partial sums added after */
  { "split-K 3x3 67->50 9x7", 1, 67, 50, 9, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1 },
  { "split-K 3x3 s2 40->64 15x13", 1, 40, 64, 15, 13, 3, 3, 2, 2, 1, 1, 1, 1,
    1 },
  { "split-K groups 2 64->32 11x11", 1, 64, 32, 11, 11, 3, 3, 1, 1, 1, 1, 1,
    1, 2 },
  { "split-K 3x3 batch 2 48->40 8x8", 2, 48, 40, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1,
    1 },
};

static bool
run_case (const Case *c, Rng *rng, bool with_bias, bool with_res, bool relu,
          bool pools)
{
  AttnConv2d p = { c->c_in, c->c_out, c->kh, c->kw, c->sh, c->sw, c->ph, c->pw,
                   c->dh, c->dw, c->groups };
  int ho = attn_conv_out_dim (c->h, c->kh, c->sh, c->ph, c->dh);
  int wo = attn_conv_out_dim (c->w, c->kw, c->sw, c->pw, c->dw);
  size_t in_n = (size_t) c->n * c->c_in * c->h * c->w;
  size_t w_n = (size_t) c->c_out * (c->c_in / c->groups) * c->kh * c->kw;
  size_t out_n = (size_t) c->n * c->c_out * ho * wo;
  float *in = test_alloc (in_n), *wt = test_alloc (w_n);
  float *bias = test_alloc (c->c_out), *res = test_alloc (out_n);
  float *ref = test_alloc (out_n), *got = test_alloc (out_n);
  float *got_ref = test_alloc (out_n);
  float *ws = test_alloc (attn_conv2d_workspace (&p, c->h, c->w));
  float *avg = test_alloc ((size_t) c->n * c->c_out);
  float *max = test_alloc ((size_t) c->n * c->c_out);
  fill_uniform (in, in_n, rng, -1, 1);
  fill_uniform (wt, w_n, rng, -0.5f, 0.5f);
  fill_uniform (bias, c->c_out, rng, -0.5f, 0.5f);
  fill_uniform (res, out_n, rng, -1, 1);
  /* poison the output and workspace: every value must be written */
  for (size_t i = 0; i < out_n; i++)
    got[i] = got_ref[i] = NAN;

  naive_conv (ref, in, wt, with_bias ? bias : NULL, with_res ? res : NULL,
              relu, &p, c->n, c->h, c->w);
  AttnEpilogue ep = { with_bias ? bias : NULL, with_res ? res : NULL,
                      relu ? ATTN_ACT_RELU : ATTN_ACT_NONE,
                      pools ? avg : NULL, pools ? max : NULL };
  attn_conv2d (got, in, wt, &ep, ws, &p, c->n, c->h, c->w);
  /* the reference convolution writes pools of its own */
  float *avg_ref = test_alloc ((size_t) c->n * c->c_out);
  float *max_ref = test_alloc ((size_t) c->n * c->c_out);
  AttnEpilogue ep_ref = ep;
  ep_ref.avg_out = pools ? avg_ref : NULL;
  ep_ref.max_out = pools ? max_ref : NULL;
  attn_conv2d_ref (got_ref, in, wt, &ep_ref, &p, c->n, c->h, c->w);

  bool ok = ho == (c->h + 2 * c->ph - c->dh * (c->kh - 1) - 1) / c->sh + 1
      && wo == (c->w + 2 * c->pw - c->dw * (c->kw - 1) - 1) / c->sw + 1;
  if (!ok)
    printf ("# output size %dx%d is wrong\n", ho, wo);
  ok &= check_close ("conv2d vs naive", got, ref, out_n, ATOL, RTOL);
  ok &= check_close ("conv2d_ref vs naive", got_ref, ref, out_n, ATOL, RTOL);
  if (pools) {
    int hw = ho * wo;
    for (int i = 0; i < c->n * c->c_out; i++) {
      double s = 0;
      float m = -INFINITY;
      for (int j = 0; j < hw; j++) {
        s += ref[(size_t) i * hw + j];
        m = fmaxf (m, ref[(size_t) i * hw + j]);
      }
      float sa = (float) (s / hw);
      ok &= check_close ("epilogue avg pool", &avg[i], &sa, 1, ATOL, RTOL);
      ok &= check_close ("epilogue max pool", &max[i], &m, 1, ATOL, RTOL);
      ok &= check_close ("conv2d_ref avg pool", &avg_ref[i], &sa, 1, ATOL,
                         RTOL);
      ok &= check_close ("conv2d_ref max pool", &max_ref[i], &m, 1, ATOL,
                         RTOL);
    }
  }
  free (in); free (wt); free (bias); free (res); free (ref); free (got);
  free (got_ref); free (ws); free (avg); free (max); free (avg_ref);
  free (max_ref);
  return ok;
}

/* attn_conv2d_many: n images in separate buffers, each with its own
 * residual and pools, equal to the naive convolution of each. Output and
 * workspace start as NaN, so every value must be written. */
static bool
run_many (const Case *c, int n, Rng *rng)
{
  AttnConv2d p = { c->c_in, c->c_out, c->kh, c->kw, c->sh, c->sw, c->ph, c->pw,
                   c->dh, c->dw, c->groups };
  int ho = attn_conv_out_dim (c->h, c->kh, c->sh, c->ph, c->dh);
  int wo = attn_conv_out_dim (c->w, c->kw, c->sw, c->pw, c->dw);
  size_t in_n = (size_t) c->c_in * c->h * c->w;
  size_t w_n = (size_t) c->c_out * c->c_in * c->kh * c->kw;
  size_t out_n = (size_t) c->c_out * ho * wo;
  size_t ws_n = attn_conv2d_many_workspace (&p, n, c->h, c->w);
  float *wt = test_alloc (w_n), *bias = test_alloc (c->c_out);
  float *ws = test_alloc (ws_n);
  float *in[8], *out[8], *res[8], *ref[8], *avg[8], *max[8];
  AttnEpilogue ep[8];
  fill_uniform (wt, w_n, rng, -0.5f, 0.5f);
  fill_uniform (bias, c->c_out, rng, -0.5f, 0.5f);
  for (size_t i = 0; i < ws_n; i++)
    ws[i] = NAN;
  for (int i = 0; i < n; i++) {
    in[i] = test_alloc (in_n);
    out[i] = test_alloc (out_n);
    res[i] = test_alloc (out_n);
    ref[i] = test_alloc (out_n);
    avg[i] = test_alloc (c->c_out);
    max[i] = test_alloc (c->c_out);
    fill_uniform (in[i], in_n, rng, -1, 1);
    fill_uniform (res[i], out_n, rng, -1, 1);
    for (size_t j = 0; j < out_n; j++)
      out[i][j] = NAN;
    /* image 1 without residual or pools: each image's epilogue is its own */
    bool full = i != 1;
    ep[i] = (AttnEpilogue) { bias, full ? res[i] : NULL, ATTN_ACT_RELU,
                             full ? avg[i] : NULL, full ? max[i] : NULL };
    naive_conv (ref[i], in[i], wt, bias, full ? res[i] : NULL, true, &p, 1,
                c->h, c->w);
  }
  attn_conv2d_many (out, (const float *const *) in, wt, ep, ws, &p, n, c->h,
                    c->w);
  bool ok = ws_n == (size_t) (c->c_in * c->kh * c->kw + c->c_out) * n * ho * wo;
  if (!ok)
    printf ("# workspace %zu floats is wrong\n", ws_n);
  int hw = ho * wo;
  for (int i = 0; i < n; i++) {
    ok &= check_close ("conv2d_many vs naive", out[i], ref[i], out_n, ATOL,
                       RTOL);
    for (int co = 0; co < c->c_out && i != 1; co++) {
      double sum = 0;
      float m = -INFINITY;
      for (int j = 0; j < hw; j++) {
        sum += ref[i][(size_t) co * hw + j];
        m = fmaxf (m, ref[i][(size_t) co * hw + j]);
      }
      float mean = (float) (sum / hw);
      ok &= check_close ("conv2d_many avg pool", &avg[i][co], &mean, 1, ATOL,
                         RTOL);
      ok &= check_close ("conv2d_many max pool", &max[i][co], &m, 1, ATOL,
                         RTOL);
    }
    free (in[i]); free (out[i]); free (res[i]); free (ref[i]);
    free (avg[i]); free (max[i]);
  }
  free (wt); free (bias); free (ws);
  return ok;
}

/* The direct 3×3 convolution (AVX-512 only): shapes whose output rows are
 * whole tiles of 14 pixels and not, C_out of one group of 32 (on two
 * threads split by rows) and several, stride 1 and 2, padding 0 and 1. */
static const Case direct_cases[] = {
  { "direct s2 p1 odd 9x11", 1, 3, 32, 9, 11, 3, 3, 2, 2, 1, 1, 1, 1, 1 },
  { "direct s2 p1 29x31 (15 out: 14 + 1)", 1, 17, 64, 29, 31, 3, 3, 2, 2, 1,
    1, 1, 1, 1 },
  { "direct s2 p1 56x56 one group", 1, 40, 32, 56, 56, 3, 3, 2, 2, 1, 1, 1, 1,
    1 },
  { "direct s2 p1 28x28 96 ch", 1, 33, 96, 28, 28, 3, 3, 2, 2, 1, 1, 1, 1, 1 },
  { "direct s1 p1 8x8", 1, 5, 32, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1 },
  { "direct s1 p0 20x22 (20 out: 14 + 6)", 1, 7, 96, 20, 22, 3, 3, 1, 1, 0,
    0, 1, 1, 1 },
  { "direct s2 p0 10x9", 1, 4, 32, 10, 9, 3, 3, 2, 2, 0, 0, 1, 1, 1 },
  { "direct s1 p1 on a 1x1 map", 1, 8, 32, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1 },
  { "direct s1 p1 7x7 64 ch", 1, 64, 64, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1 },
  /* weights over 2^18 floats: groups outermost, the next group's weights
   * prefetched; 7-wide rows in pairs, the last row alone */
  { "direct s1 p1 7x7 160 -> 192 ch", 1, 160, 192, 7, 7, 3, 3, 1, 1, 1, 1,
    1, 1, 1 },
  { "direct s2 p1 13x13 (7x7 out) 160 -> 192 ch", 1, 160, 192, 13, 13, 3, 3,
    2, 2, 1, 1, 1, 1, 1 },
  { "direct s1 p0 6x9 (4x7 out) 128 -> 288 ch", 1, 128, 288, 6, 9, 3, 3, 1,
    1, 0, 0, 1, 1, 1 },
};

/* attn_conv2d_direct against the naive convolution; output and workspace
 * start as NaN (every output written, nothing read from the workspace
 * before it is written), and the floats after the workspace must stay
 * untouched. */
static bool
run_direct (const Case *c, Rng *rng, bool with_bias, bool with_res,
            bool relu, bool pools)
{
  AttnConv2d p = { c->c_in, c->c_out, 3, 3, c->sh, c->sw, c->ph, c->pw, 1, 1,
                   1 };
  int ho = attn_conv_out_dim (c->h, 3, c->sh, c->ph, 1);
  int wo = attn_conv_out_dim (c->w, 3, c->sw, c->pw, 1);
  size_t in_n = (size_t) c->c_in * c->h * c->w, w_n = (size_t) c->c_out
      * c->c_in * 9, out_n = (size_t) c->c_out * ho * wo;
  size_t ws_n = attn_direct_workspace (&p, c->h, c->w);
  float *in = test_alloc (in_n), *wt = test_alloc (w_n);
  float *wk = test_alloc (attn_direct_weights_size (&p));
  float *bias = test_alloc (c->c_out), *res = test_alloc (out_n);
  float *ref = test_alloc (out_n), *got = test_alloc (out_n);
  float *ws = test_alloc (ws_n + 64);
  float *avg = test_alloc (c->c_out), *max = test_alloc (c->c_out);
  fill_uniform (in, in_n, rng, -1, 1);
  fill_uniform (wt, w_n, rng, -0.5f, 0.5f);
  fill_uniform (bias, c->c_out, rng, -0.5f, 0.5f);
  fill_uniform (res, out_n, rng, -1, 1);
  for (size_t i = 0; i < out_n; i++)
    got[i] = NAN;
  for (size_t i = 0; i < ws_n + 64; i++)
    ws[i] = i < ws_n ? NAN : 12345.0f;
  naive_conv (ref, in, wt, with_bias ? bias : NULL, with_res ? res : NULL,
              relu, &p, 1, c->h, c->w);
  attn_direct_weights (wk, wt, &p);
  AttnEpilogue ep = { with_bias ? bias : NULL, with_res ? res : NULL,
                      relu ? ATTN_ACT_RELU : ATTN_ACT_NONE,
                      pools ? avg : NULL, pools ? max : NULL };
  attn_conv2d_direct (got, in, wk, &ep, ws, &p, c->h, c->w);
  bool ok = ws_n == (size_t) c->c_in * (c->h + 2 * c->ph) * (c->w + 2 * c->pw);
  if (!ok)
    printf ("# workspace %zu floats is wrong\n", ws_n);
  for (size_t i = ws_n; i < ws_n + 64; i++)
    ok &= ws[i] == 12345.0f;
  /* a float sum of K = 9·C_in terms of about ±0.25 drifts from the double
   * one by about √K ulps of its running size: past the smaller cases'
   * K = 360 the absolute tolerance grows with √K */
  int k = 9 * c->c_in;
  float atol = k <= 360 ? ATOL : 2.0f * ATOL * sqrtf ((float) k / 360.0f);
  ok &= check_close ("direct vs naive", got, ref, out_n, atol, RTOL);
  int hw = ho * wo;
  for (int co = 0; pools && co < c->c_out; co++) {
    double sum = 0;
    float m = -INFINITY;
    for (int j = 0; j < hw; j++) {
      sum += ref[(size_t) co * hw + j];
      m = fmaxf (m, ref[(size_t) co * hw + j]);
    }
    float mean = (float) (sum / hw);
    ok &= check_close ("direct avg pool", &avg[co], &mean, 1, atol, RTOL);
    ok &= check_close ("direct max pool", &max[co], &m, 1, atol, RTOL);
  }
  free (in); free (wt); free (wk); free (bias); free (res); free (ref);
  free (got); free (ws); free (avg); free (max);
  return ok;
}

/* Which convolutions the direct kernel takes, and when it is chosen. */
static void
test_direct_choice (void)
{
  AttnConv2d s2 = { 128, 128, 3, 3, 2, 2, 1, 1, 1, 1, 1 };
  AttnConv2d s1 = { 64, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1 };
  AttnConv2d s1w = { 512, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1 };
  AttnConv2d narrow = { 64, 128, 3, 3, 2, 2, 1, 1, 1, 1, 1 };
  AttnConv2d odd = { 64, 48, 3, 3, 2, 2, 1, 1, 1, 1, 1 };
  AttnConv2d dil = { 64, 64, 3, 3, 1, 1, 2, 2, 2, 2, 1 };
  AttnConv2d grp = { 64, 64, 3, 3, 1, 1, 1, 1, 1, 1, 2 };
  AttnConv2d s3 = { 64, 64, 3, 3, 3, 3, 1, 1, 1, 1, 1 };
  AttnConv2d p2 = { 64, 64, 3, 3, 1, 1, 2, 2, 1, 1, 1 };
  AttnConv2d k5 = { 64, 64, 5, 5, 1, 1, 1, 1, 1, 1, 1 };
  test_case ("direct applies to 3x3, stride 1 or 2, pad 0 or 1, C_out % 32",
             attn_direct_applies (&s2, 56, 56) && attn_direct_applies (&s1, 7, 7)
             && !attn_direct_applies (&odd, 56, 56)
             && !attn_direct_applies (&dil, 9, 9)
             && !attn_direct_applies (&grp, 9, 9)
             && !attn_direct_applies (&s3, 9, 9)
             && !attn_direct_applies (&p2, 9, 9)
             && !attn_direct_applies (&k5, 9, 9)
             && !attn_direct_applies (&(AttnConv2d) { 8, 32, 3, 3, 1, 1, 0, 0,
                                                      1, 1, 1 }, 2, 2));
  bool avx512 = attn_cpu_best () == ATTN_ISA_AVX512;
  attn_direct_set_policy (ATTN_DIRECT_AUTO);
  /* from 128 input channels: output rows of 7 or less, and with stride 2
   * of 14 or more too (not 8 to 13); not 64 input channels */
  bool auto_ok = attn_direct_pays (&s2, 56, 56) == avx512
      && attn_direct_pays (&s2, 28, 28) == avx512
      && attn_direct_pays (&s2, 14, 14) == avx512
      && !attn_direct_pays (&s2, 20, 20) && !attn_direct_pays (&s1, 56, 56)
      && attn_direct_pays (&s1w, 7, 7) == avx512
      && attn_direct_pays (&s1w, 3, 5) == avx512
      && !attn_direct_pays (&s1w, 8, 8) && !attn_direct_pays (&s1w, 14, 14)
      && !attn_direct_pays (&s1, 7, 7)
      && !attn_direct_pays (&narrow, 56, 56)
      && !attn_direct_pays (&odd, 56, 56);
  attn_direct_set_policy (ATTN_DIRECT_ALWAYS);
  bool always_ok = attn_direct_pays (&s1, 7, 7) == avx512
      && !attn_direct_pays (&odd, 56, 56);
  AttnIsa was = attn_cpu_isa ();
  attn_cpu_set_isa (ATTN_ISA_AVX2);
  bool avx2_ok = !attn_direct_pays (&s2, 56, 56);
  attn_cpu_set_isa (was);
  attn_direct_set_policy (ATTN_DIRECT_NEVER);
  bool never_ok = !attn_direct_pays (&s2, 56, 56);
  attn_direct_set_policy (ATTN_DIRECT_AUTO);
  test_case ("direct: the auto rule (128+ ch; rows of 7 or less; "
             "stride 2, rows of 14+ too), AVX-512",
             auto_ok);
  test_case ("direct: ALWAYS takes every shape it applies to", always_ok);
  test_case ("direct: never on AVX2 or generic", avx2_ok);
  test_case ("direct: NEVER takes none", never_ok);
}

/* BN folded into conv weights computes what conv followed by BN computes. */
static bool
test_bn_fold (Rng *rng)
{
  AttnConv2d p = { 5, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1 };
  int h = 6, w = 5, hw = h * w;
  size_t w_n = 7 * 5 * 9;
  float *in = test_alloc (5 * hw), *wt = test_alloc (w_n);
  float *conv = test_alloc (7 * hw), *ref = test_alloc (7 * hw);
  float *got = test_alloc (7 * hw), *ws = test_alloc (attn_conv2d_workspace (&p, h, w));
  float gamma[7], beta[7], mean[7], var[7], bias[7], b0[7];
  float eps = 1e-5f;
  fill_uniform (in, 5 * hw, rng, -1, 1);
  fill_uniform (wt, w_n, rng, -0.5f, 0.5f);
  fill_uniform (gamma, 7, rng, 0.5f, 1.5f);
  fill_uniform (beta, 7, rng, -0.5f, 0.5f);
  fill_uniform (mean, 7, rng, -0.3f, 0.3f);
  fill_uniform (var, 7, rng, 0.01f, 2.0f);
  fill_uniform (b0, 7, rng, -0.2f, 0.2f);
  /* conv with bias b0, then y = γ(x − μ)/√(σ²+ε) + β, in double */
  naive_conv (conv, in, wt, b0, NULL, false, &p, 1, h, w);
  for (int c = 0; c < 7; c++)
    for (int i = 0; i < hw; i++)
      ref[c * hw + i] = (float) (gamma[c] * (conv[c * hw + i] - (double) mean[c])
                                 / sqrt ((double) var[c] + eps) + beta[c]);
  memcpy (bias, b0, sizeof bias);
  attn_bn_fold (wt, bias, gamma, beta, mean, var, eps, 7, 5 * 9);
  AttnEpilogue ep = { bias, NULL, ATTN_ACT_NONE, NULL, NULL };
  attn_conv2d (got, in, wt, &ep, ws, &p, 1, h, w);
  bool ok = check_close ("bn folded conv", got, ref, 7 * hw, ATOL, RTOL);
  free (in); free (wt); free (conv); free (ref); free (got); free (ws);
  return ok;
}

/* The transposed convolution (attn_conv2d_backward_data and its _ref)
 * against the adjoint written out in double: dx[b,ci,iy,ix] = Σ w·dy over
 * every output the input position feeds; once overwriting, once added to a
 * dx that already holds values. */
static bool
run_backward (const Case *c, Rng *rng)
{
  AttnConv2d p = { c->c_in, c->c_out, c->kh, c->kw, c->sh, c->sw, c->ph, c->pw,
                   c->dh, c->dw, c->groups };
  int ho = attn_conv_out_dim (c->h, c->kh, c->sh, c->ph, c->dh);
  int wo = attn_conv_out_dim (c->w, c->kw, c->sw, c->pw, c->dw);
  int cig = c->c_in / c->groups, cog = c->c_out / c->groups;
  size_t nx = (size_t) c->n * c->c_in * c->h * c->w;
  size_t ny = (size_t) c->n * c->c_out * ho * wo;
  size_t w_n = (size_t) c->c_out * cig * c->kh * c->kw;
  float *dy = test_alloc (ny), *wt = test_alloc (w_n), *base = test_alloc (nx);
  float *ref = test_alloc (nx), *got = test_alloc (nx), *got_ref = test_alloc (nx);
  float *ref_acc = test_alloc (nx);
  float *ws = test_alloc (attn_conv2d_backward_workspace (&p, c->h, c->w) + 1);
  double *acc = calloc (nx, sizeof (double));
  fill_uniform (dy, ny, rng, -1, 1);
  fill_uniform (wt, w_n, rng, -0.5f, 0.5f);
  fill_uniform (base, nx, rng, -1, 1);
  for (int b = 0; b < c->n; b++)
    for (int co = 0; co < c->c_out; co++)
      for (int oy = 0; oy < ho; oy++)
        for (int ox = 0; ox < wo; ox++)
          for (int ci = 0; ci < cig; ci++)
            for (int ky = 0; ky < c->kh; ky++)
              for (int kx = 0; kx < c->kw; kx++) {
                int iy = oy * c->sh + ky * c->dh - c->ph;
                int ix = ox * c->sw + kx * c->dw - c->pw;
                if (iy < 0 || iy >= c->h || ix < 0 || ix >= c->w)
                  continue;
                acc[((size_t) (b * c->c_in + (co / cog) * cig + ci) * c->h
                     + iy) * c->w + ix]
                    += (double) wt[((co * cig + ci) * c->kh + ky) * c->kw + kx]
                    * dy[((size_t) (b * c->c_out + co) * ho + oy) * wo + ox];
              }
  for (size_t i = 0; i < nx; i++) {
    ref[i] = (float) acc[i];
    ref_acc[i] = (float) (acc[i] + base[i]);
  }
  memcpy (got, base, nx * sizeof (float));   /* must be overwritten */
  attn_conv2d_backward_data (got, dy, wt, ws, &p, c->n, c->h, c->w, false);
  bool ok = check_close ("conv backward", got, ref, nx, ATOL, RTOL);
  memcpy (got_ref, base, nx * sizeof (float));
  attn_conv2d_backward_data_ref (got_ref, dy, wt, &p, c->n, c->h, c->w, false);
  ok &= check_close ("conv backward ref", got_ref, ref, nx, ATOL, RTOL);
  memcpy (got, base, nx * sizeof (float));
  attn_conv2d_backward_data (got, dy, wt, ws, &p, c->n, c->h, c->w, true);
  ok &= check_close ("conv backward accumulate", got, ref_acc, nx, ATOL, RTOL);
  memcpy (got_ref, base, nx * sizeof (float));
  attn_conv2d_backward_data_ref (got_ref, dy, wt, &p, c->n, c->h, c->w, true);
  ok &= check_close ("conv backward ref accumulate", got_ref, ref_acc, nx,
                     ATOL, RTOL);
  free (dy); free (wt); free (base); free (ref); free (got); free (got_ref);
  free (ref_acc); free (ws); free (acc);
  return ok;
}

int
main (int argc, char **argv)
{
  Rng rng = rng_new (42);
  char name[160];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf (name, sizeof name, "conv %s", cases[i].name);
    test_case (name, run_case (&cases[i], &rng, false, false, false, false));
    snprintf (name, sizeof name, "conv %s + bias, residual, relu, pools",
              cases[i].name);
    test_case (name, run_case (&cases[i], &rng, true, true, true, true));
    /* without pools: bias, residual and ReLU ride in the product's store */
    snprintf (name, sizeof name, "conv %s + bias, residual, relu (fused)",
              cases[i].name);
    test_case (name, run_case (&cases[i], &rng, true, true, true, false));
    snprintf (name, sizeof name, "conv %s + bias (fused)", cases[i].name);
    test_case (name, run_case (&cases[i], &rng, true, false, false, false));
  }
  /* the banded and split-K cases again on one thread (one worker takes
   * every band; no split) */
  attn_parallel_set_threads (1);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (strncmp (cases[i].name, "banded", 6) != 0
        && strncmp (cases[i].name, "split-K", 7) != 0)
      continue;
    snprintf (name, sizeof name, "conv %s, 1 thread", cases[i].name);
    test_case (name, run_case (&cases[i], &rng, false, false, false, false));
    snprintf (name, sizeof name, "conv %s + bias, residual, relu (fused), "
              "1 thread", cases[i].name);
    test_case (name, run_case (&cases[i], &rng, true, true, true, false));
  }
  attn_parallel_set_threads (0);
  /* several images as one product (groups 1): 1, 2, 3 and 5 images */
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (cases[i].groups != 1)
      continue;
    static const int ns[] = { 1, 2, 3, 5 };
    for (int k = 0; k < 4; k++) {
      snprintf (name, sizeof name, "conv many x%d %s", ns[k], cases[i].name);
      test_case (name, run_many (&cases[i], ns[k], &rng));
    }
  }
  test_case ("many: no workspace for groups > 1",
             attn_conv2d_many_workspace (&(AttnConv2d) { 8, 4, 3, 3, 1, 1, 1,
                                                         1, 1, 1, 2 }, 4, 9, 9)
             == 0);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf (name, sizeof name, "conv backward data %s", cases[i].name);
    test_case (name, run_backward (&cases[i], &rng));
  }
  /* a kernel larger than the padded input yields no output at all */
  test_case ("conv out dim of a kernel that does not fit is 0",
             attn_conv_out_dim (3, 7, 1, 1, 1) == 0
             && attn_conv_out_dim (5, 7, 1, 1, 1) == 1);
  test_case ("workspace is 0 for 1x1 and depthwise, im2col size otherwise",
             attn_conv2d_workspace (&(AttnConv2d) { 8, 8, 1, 1, 1, 1, 0, 0, 1,
                                                    1, 1 }, 9, 9) == 0
             && attn_conv2d_workspace (&(AttnConv2d) { 8, 8, 3, 3, 1, 1, 1, 1,
                                                       1, 1, 8 }, 9, 9) == 0
             && attn_conv2d_workspace (&(AttnConv2d) { 8, 4, 3, 3, 2, 2, 1, 1,
                                                       1, 1, 2 }, 9, 9)
                == 4 * 9 * 25);
  /* the method named is the path that workspace rule follows */
  test_case ("method: gemm for 1x1 stride 1, depthwise, im2col otherwise",
             strcmp (attn_conv2d_method (&(AttnConv2d) { 8, 8, 1, 1, 1, 1, 0,
                                                          0, 1, 1, 1 }),
                     "gemm") == 0
             && strcmp (attn_conv2d_method (&(AttnConv2d) { 8, 8, 3, 3, 1, 1,
                                                             1, 1, 1, 1, 8 }),
                        "depthwise") == 0
             && strcmp (attn_conv2d_method (&(AttnConv2d) { 8, 8, 1, 1, 2, 2,
                                                             0, 0, 1, 1, 1 }),
                        "im2col + gemm") == 0
             && strcmp (attn_conv2d_method (&(AttnConv2d) { 8, 4, 3, 3, 2, 2,
                                                             1, 1, 1, 1, 2 }),
                        "im2col + gemm") == 0);
  /* 67·9 rows × 63 columns, and 3 workers' partial sums of 50 × 63 */
  test_case ("workspace of a split along K: the matrix and 3 partial sums",
             attn_conv2d_workspace (&(AttnConv2d) { 67, 50, 3, 3, 1, 1, 1, 1,
                                                    1, 1, 1 }, 9, 7)
             == 67 * 9 * 63 + 3 * 50 * 63);
  test_case ("batchnorm folding", test_bn_fold (&rng));
  test_direct_choice ();
  if (attn_cpu_best () == ATTN_ISA_AVX512) {
    for (int t = 0; t < 2; t++) {
      attn_parallel_set_threads (t ? 1 : 0);
      const char *on = t ? ", 1 thread" : "";
      for (size_t i = 0; i < sizeof direct_cases / sizeof direct_cases[0]; i++) {
        const char *n = direct_cases[i].name;
        snprintf (name, sizeof name, "%s%s", n, on);
        test_case (name, run_direct (&direct_cases[i], &rng, false, false,
                                     false, false));
        snprintf (name, sizeof name, "%s + bias, residual, relu%s", n, on);
        test_case (name, run_direct (&direct_cases[i], &rng, true, true, true,
                                     false));
        snprintf (name, sizeof name, "%s + bias, relu, pools%s", n, on);
        test_case (name, run_direct (&direct_cases[i], &rng, true, false,
                                     true, true));
        snprintf (name, sizeof name, "%s + bias%s", n, on);
        test_case (name, run_direct (&direct_cases[i], &rng, true, false,
                                     false, false));
      }
    }
    attn_parallel_set_threads (0);
  } else {
    printf ("# no AVX-512 here: the direct convolution's cases skipped\n");
  }
  return test_done ();
}
