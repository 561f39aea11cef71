/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_blocked.c — the channel-blocked layout (blocked.h): NCHW to blocked
 * and back, and the blocked 1×1 convolution against a naive one written
 * here (in double), and the direct 3×3 and Winograd F(2,3), F(4,3) on
 * blocked maps against a naive 3×3 convolution, the gates' passes on
 * blocked maps against CBAM's NCHW ones and loops written here, on odd and round shapes, with and without bias,
 * residual and ReLU, on every instruction set this CPU runs and on 1 and
 * 2 threads. (PyTorch's goldens for the same convolution: test_goldens.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocked.h"
#include "cbam.h"
#include "check.h"
#include "cpu.h"
#include "direct.h"
#include "parallel.h"
#include "pool.h"
#include "winograd.h"

#define ATOL 1e-5f
#define RTOL 1e-4f

/* out[co][p] = Σ_ci w[co][ci]·x[ci][p] (+ bias[co]) (+ res[co][p]), ReLU */
static void
naive (float *out, const float *x, const float *w, const float *bias,
       const float *res, bool relu, int c_out, int c_in, int hw)
{
  for (int co = 0; co < c_out; co++)
    for (int p = 0; p < hw; p++) {
      double acc = bias ? bias[co] : 0.0;
      for (int ci = 0; ci < c_in; ci++)
        acc += (double) w[(size_t) co * c_in + ci] * x[(size_t) ci * hw + p];
      size_t o = (size_t) co * hw + p;
      if (res)
        acc += res[o];
      if (relu && acc < 0)
        acc = 0;
      out[o] = (float) acc;
    }
}

/* Channels past c in the last block: all zero. */
static bool
tail_zero (const float *xb, int c, int hw)
{
  if (c % ATTN_BLOCK == 0)
    return true;
  const float *last = xb + (size_t) (c / ATTN_BLOCK) * hw * ATTN_BLOCK;
  for (int p = 0; p < hw; p++)
    for (int l = c % ATTN_BLOCK; l < ATTN_BLOCK; l++)
      if (last[(size_t) p * ATTN_BLOCK + l] != 0.0f) {
        printf ("# pixel %d, lane %d past %d channels: %g\n", p, l, c,
                last[(size_t) p * ATTN_BLOCK + l]);
        return false;
      }
  return true;
}

static void
test_layout (Rng *r, AttnIsa isa)
{
  static const int shapes[][2] = { { 1, 1 }, { 3, 5 }, { 16, 7 }, { 17, 13 },
    { 40, 1 }, { 64, 49 }, { 33, 50 }, { 256, 196 } };
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    int c = shapes[i][0], hw = shapes[i][1];
    size_t nb = attn_blocked_size (c, hw);
    float *x = test_alloc ((size_t) c * hw), *back = test_alloc ((size_t) c
                                                                * hw);
    float *xb = test_alloc (nb);
    fill_uniform (x, (size_t) c * hw, r, -1.0f, 1.0f);
    for (size_t j = 0; j < nb; j++)
      xb[j] = NAN;      /* from_nchw must write every float, the tail too */
    attn_blocked_from_nchw (xb, x, c, hw);
    /* channel ch of pixel p at block ch/16, lane ch%16 */
    bool placed = true;
    for (int ch = 0; ch < c && placed; ch++)
      for (int p = 0; p < hw && placed; p++)
        placed = xb[((size_t) (ch / 16) * hw + p) * 16 + ch % 16]
            == x[(size_t) ch * hw + p];
    attn_blocked_to_nchw (back, xb, c, hw);
    char name[96];
    snprintf (name, sizeof name, "layout %d ch x %d px: placed, tail zero, "
              "round trip, %s", c, hw, attn_isa_name (isa));
    test_case (name, nb == (size_t) (c + 15) / 16 * 16 * hw && placed
               && tail_zero (xb, c, hw)
               && memcmp (back, x, sizeof (float) * c * hw) == 0);
    free (x);
    free (back);
    free (xb);
  }
}

typedef struct {
  int c_in, c_out, h, w;
  bool bias, res, relu;
} Case;

static const Case cases[] = {
  { 1, 1, 1, 1, false, false, false },
  { 3, 5, 1, 1, true, false, false },
  { 17, 70, 7, 13, true, true, true },       /* partial groups and blocks */
  { 33, 17, 7, 5, true, false, true },
  { 64, 256, 14, 14, true, true, true },     /* ResNet-50's conv3 */
  { 256, 64, 9, 11, true, false, true },     /* two chunks of K */
  { 130, 200, 5, 5, false, true, false },    /* K chunk of 2, 4th group 8 */
  { 1024, 48, 3, 4, true, false, false },    /* eight chunks */
  { 128, 512, 15, 17, true, true, true },    /* runs of 112 pixels + 31 */
  { 512, 2048, 2, 2, true, true, true },     /* 32 groups, 4 pixels */
};

static bool
run_case (const Case *k, Rng *r, int threads)
{
  int hw = k->h * k->w;
  size_t nx = (size_t) k->c_in * hw, ny = (size_t) k->c_out * hw;
  float *x = test_alloc (nx), *w = test_alloc ((size_t) k->c_out * k->c_in);
  float *bias = test_alloc (k->c_out), *res = test_alloc (ny);
  float *ref = test_alloc (ny), *got = test_alloc (ny);
  fill_uniform (x, nx, r, -1.0f, 1.0f);
  fill_uniform (w, (size_t) k->c_out * k->c_in, r, -0.5f, 0.5f);
  fill_uniform (bias, k->c_out, r, -0.5f, 0.5f);
  fill_uniform (res, ny, r, -1.0f, 1.0f);
  naive (ref, x, w, k->bias ? bias : NULL, k->res ? res : NULL, k->relu,
         k->c_out, k->c_in, hw);
  float *xb = test_alloc (attn_blocked_size (k->c_in, hw));
  float *rb = test_alloc (attn_blocked_size (k->c_out, hw));
  size_t nyb = attn_blocked_size (k->c_out, hw);
  float *yb = test_alloc (nyb + 16);
  float *wk = test_alloc (attn_conv1x1_blocked_weights_size (k->c_out,
                                                              k->c_in));
  attn_blocked_from_nchw (xb, x, k->c_in, hw);
  attn_blocked_from_nchw (rb, res, k->c_out, hw);
  attn_conv1x1_blocked_pack (wk, w, k->c_out, k->c_in);
  for (size_t j = 0; j < nyb; j++)
    yb[j] = NAN;        /* every output float written, the tail too */
  for (int j = 0; j < 16; j++)
    yb[nyb + j] = 12345.0f;     /* and nothing past the map */
  attn_parallel_set_threads (threads);
  attn_conv1x1_blocked (yb, xb, wk, k->bias ? bias : NULL,
                        k->res ? rb : NULL, k->relu, k->c_out, k->c_in, hw);
  attn_parallel_set_threads (1);
  attn_blocked_to_nchw (got, yb, k->c_out, hw);
  bool past = true;
  for (int j = 0; j < 16; j++)
    past = past && yb[nyb + j] == 12345.0f;
  /* K terms in float: the tolerance grows as √K past 360 (as test_conv) */
  float scale = k->c_in > 360 ? sqrtf ((float) k->c_in / 360.0f) : 1.0f;
  char what[160];
  snprintf (what, sizeof what, "%d -> %d @%dx%d", k->c_in, k->c_out, k->h,
            k->w);
  bool ok = check_close (what, got, ref, ny, ATOL * scale, RTOL * scale)
      && tail_zero (yb, k->c_out, hw) && past;
  /* with the channel pools: the same output, and the pools of it */
  float *yb2 = test_alloc (nyb), *avg = test_alloc (k->c_out);
  float *max = test_alloc (k->c_out), *ravg = test_alloc (k->c_out);
  float *rmax = test_alloc (k->c_out);
  attn_parallel_set_threads (threads);
  attn_conv1x1_blocked_pools (yb2, xb, wk, k->bias ? bias : NULL,
                              k->res ? rb : NULL, k->relu, avg, max,
                              k->c_out, k->c_in, hw);
  attn_parallel_set_threads (1);
  for (int co = 0; co < k->c_out; co++) {
    double s = 0.0;
    float m = -INFINITY;
    for (int p = 0; p < hw; p++) {
      float v = yb[((size_t) (co / 16) * hw + p) * 16 + co % 16];
      s += v;
      m = v > m ? v : m;
    }
    ravg[co] = (float) (s / hw);
    rmax[co] = m;
  }
  ok = ok && memcmp (yb2, yb, sizeof (float) * nyb) == 0
      && check_close ("pools: avg", avg, ravg, k->c_out, ATOL, RTOL)
      && check_close ("pools: max", max, rmax, k->c_out, 0.0f, 0.0f);
  free (yb2); free (avg); free (max); free (ravg); free (rmax);
  free (x); free (w); free (bias); free (res); free (ref); free (got);
  free (xb); free (rb); free (yb); free (wk);
  return ok;
}

/* In place: the output over its own residual (yb == res). */
static bool
in_place (Rng *r)
{
  int c_in = 24, c_out = 80, hw = 19;
  size_t ny = attn_blocked_size (c_out, hw);
  float *x = test_alloc ((size_t) c_in * hw), *w = test_alloc (c_out * c_in);
  float *res = test_alloc ((size_t) c_out * hw);
  float *ref = test_alloc ((size_t) c_out * hw);
  float *got = test_alloc ((size_t) c_out * hw);
  fill_uniform (x, (size_t) c_in * hw, r, -1.0f, 1.0f);
  fill_uniform (w, (size_t) c_out * c_in, r, -0.5f, 0.5f);
  fill_uniform (res, (size_t) c_out * hw, r, -1.0f, 1.0f);
  naive (ref, x, w, NULL, res, true, c_out, c_in, hw);
  float *xb = test_alloc (attn_blocked_size (c_in, hw)), *yb = test_alloc (ny);
  float *wk = test_alloc (attn_conv1x1_blocked_weights_size (c_out, c_in));
  attn_blocked_from_nchw (xb, x, c_in, hw);
  attn_blocked_from_nchw (yb, res, c_out, hw);
  attn_conv1x1_blocked_pack (wk, w, c_out, c_in);
  attn_conv1x1_blocked (yb, xb, wk, NULL, yb, true, c_out, c_in, hw);
  attn_blocked_to_nchw (got, yb, c_out, hw);
  bool ok = check_close ("in place", got, ref, (size_t) c_out * hw, ATOL,
                         RTOL);
  free (x); free (w); free (res); free (ref); free (got); free (xb);
  free (yb); free (wk);
  return ok;
}

/* out = conv3x3 (x) (+ bias) (+ res), ReLU: the definition, in double */
static void
naive3 (float *out, const float *x, const float *w, const float *bias,
        const float *res, bool relu, const AttnConv2d *p, int h, int wd)
{
  int ho = attn_conv_out_dim (h, 3, p->stride_h, p->pad_h, 1);
  int wo = attn_conv_out_dim (wd, 3, p->stride_w, p->pad_w, 1);
  for (int co = 0; co < p->c_out; co++)
    for (int oy = 0; oy < ho; oy++)
      for (int ox = 0; ox < wo; ox++) {
        double acc = bias ? bias[co] : 0.0;
        for (int ci = 0; ci < p->c_in; ci++)
          for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) {
              int iy = oy * p->stride_h + ky - p->pad_h;
              int ix = ox * p->stride_w + kx - p->pad_w;
              if (iy >= 0 && iy < h && ix >= 0 && ix < wd)
                acc += (double) w[(((size_t) co * p->c_in + ci) * 3 + ky) * 3
                                  + kx] * x[((size_t) ci * h + iy) * wd + ix];
            }
        size_t o = ((size_t) co * ho + oy) * wo + ox;
        if (res)
          acc += res[o];
        out[o] = relu && acc < 0 ? 0.0f : (float) acc;
      }
}

/* A 3×3 convolution on blocked maps: stride s, padding pad, by Winograd
 * F(m, 3) (m 2 or 4: stride 1) or directly (m 0). */
typedef struct {
  int c_in, c_out, h, w, s, pad, m;
  bool bias, res, relu;
} Case3;

static const Case3 cases3[] = {
  /* direct */
  { 3, 32, 5, 7, 1, 1, 0, true, false, false },
  { 17, 64, 9, 11, 2, 1, 0, true, true, true },    /* odd, stride 2 */
  { 40, 64, 14, 13, 2, 1, 0, false, false, true },
  { 64, 32, 7, 7, 1, 1, 0, true, true, true },     /* rows in pairs */
  { 33, 96, 6, 9, 1, 0, 0, true, false, false },   /* no padding */
  { 20, 32, 1, 1, 1, 1, 0, true, true, false },    /* 1×1 map */
  { 24, 32, 3, 30, 1, 1, 0, true, false, true },   /* rows of 14 + 14 + 2 */
  { 512, 32, 4, 7, 1, 1, 0, true, true, true },    /* K of 4608 */
  /* Winograd */
  { 16, 16, 4, 4, 1, 1, 2, true, false, false },
  { 16, 32, 5, 7, 1, 1, 2, true, true, true },     /* odd: ragged tiles */
  { 16, 32, 5, 7, 1, 1, 4, true, true, true },
  { 32, 16, 13, 9, 1, 1, 4, false, false, true },
  { 48, 64, 9, 10, 1, 0, 4, true, false, false },  /* no padding */
  { 16, 16, 6, 6, 1, 2, 4, true, true, false },    /* padding 2 */
  { 64, 64, 40, 40, 1, 1, 4, true, false, true },  /* 100 tiles: two blocks */
  { 256, 256, 14, 14, 1, 1, 2, true, true, true }, /* ResNet's layer3 */
  { 16, 16, 1, 1, 1, 1, 2, true, false, false },   /* 1×1 map */
};

static bool
run_case3 (const Case3 *k, Rng *r, int threads)
{
  AttnConv2d p = { k->c_in, k->c_out, 3, 3, k->s, k->s, k->pad, k->pad, 1, 1,
                   1 };
  int ho = attn_conv_out_dim (k->h, 3, k->s, k->pad, 1);
  int wo = attn_conv_out_dim (k->w, 3, k->s, k->pad, 1);
  int hw = k->h * k->w, hwo = ho * wo;
  size_t nx = (size_t) k->c_in * hw, ny = (size_t) k->c_out * hwo;
  size_t nw = (size_t) k->c_out * k->c_in * 9;
  float *x = test_alloc (nx), *w = test_alloc (nw);
  float *bias = test_alloc (k->c_out), *res = test_alloc (ny);
  float *ref = test_alloc (ny), *got = test_alloc (ny);
  fill_uniform (x, nx, r, -1.0f, 1.0f);
  fill_uniform (w, nw, r, -0.5f, 0.5f);
  fill_uniform (bias, k->c_out, r, -0.5f, 0.5f);
  fill_uniform (res, ny, r, -1.0f, 1.0f);
  naive3 (ref, x, w, k->bias ? bias : NULL, k->res ? res : NULL, k->relu, &p,
          k->h, k->w);
  float *xb = test_alloc (attn_blocked_size (k->c_in, hw));
  float *rb = test_alloc (attn_blocked_size (k->c_out, hwo));
  size_t nyb = attn_blocked_size (k->c_out, hwo);
  float *yb = test_alloc (nyb + 16);
  float *wk = test_alloc (k->m ? attn_winograd_blocked_weights_size (&p, k->m)
                          : nw);
  size_t nws = k->m ? attn_winograd_blocked_workspace (&p, k->h, k->w, k->m)
      : attn_conv3x3_blocked_workspace (&p, k->h, k->w);
  float *ws = test_alloc (nws);
  for (size_t j = 0; j < nws; j++)
    ws[j] = NAN;        /* every float read is written first */
  attn_blocked_from_nchw (xb, x, k->c_in, hw);
  attn_blocked_from_nchw (rb, res, k->c_out, hwo);
  bool made = true;
  if (k->m)
    made = attn_winograd_blocked_weights (wk, w, &p, k->m);
  else
    attn_direct_weights (wk, w, &p);
  for (size_t j = 0; j < nyb; j++)
    yb[j] = NAN;
  for (int j = 0; j < 16; j++)
    yb[nyb + j] = 12345.0f;
  attn_parallel_set_threads (threads);
  if (k->m)
    attn_winograd_blocked (yb, xb, wk, k->bias ? bias : NULL,
                           k->res ? rb : NULL, k->relu, ws, &p, k->h, k->w,
                           k->m);
  else
    attn_conv3x3_blocked (yb, xb, wk, k->bias ? bias : NULL,
                          k->res ? rb : NULL, k->relu, ws, &p, k->h, k->w);
  attn_parallel_set_threads (1);
  attn_blocked_to_nchw (got, yb, k->c_out, hwo);
  bool past = true;
  for (int j = 0; j < 16; j++)
    past = past && yb[nyb + j] == 12345.0f;
  /* K terms in float: the tolerance grows as √K past 360; F(4,3)'s
   * transforms cost bits: test_winograd's bound for them, 4e-6 per unit
   * of 9·C_in (1.5e-4 seen at 64 channels, 1.3e-4 allowed as √K) */
  int kk = k->c_in * 9;
  float scale = kk > 360 ? sqrtf ((float) kk / 360.0f) : 1.0f;
  float atol = k->m == 4 ? 4e-6f * (float) kk
      : (k->m == 2 ? 2e-5f : ATOL) * scale;
  char what[160];
  snprintf (what, sizeof what, "3x3 %d -> %d @%dx%d", k->c_in, k->c_out,
            k->h, k->w);
  bool ok = made && check_close (what, got, ref, ny, atol, RTOL * scale)
      && past;
  free (x); free (w); free (bias); free (res); free (ref); free (got);
  free (xb); free (rb); free (yb); free (wk); free (ws);
  return ok;
}

/* The gates' passes on a blocked map against NCHW: channel pools against
 * a loop here, CBAM's spatial pools against attn_cbam_spatial_gate's
 * (left in its work), the apply against attn_cbam_apply, with and without
 * ms and identity; the subsample against a loop here. */
static bool
gates (Rng *r, int c, int h, int w, int threads)
{
  int hw = h * w;
  size_t n = (size_t) c * hw;
  float *f = test_alloc (n), *id = test_alloc (n), *mc = test_alloc (c);
  float *ms = test_alloc (hw), *fb = test_alloc (n), *idb = test_alloc (n);
  float *outb = test_alloc (n), *out = test_alloc (n), *ref = test_alloc (n);
  float *avg = test_alloc (c), *max = test_alloc (c), *ravg = test_alloc (c);
  float *rmax = test_alloc (c), *pm = test_alloc (2 * hw);
  float *work = test_alloc (2 * hw), *msr = test_alloc (hw);
  float *sw = test_alloc (2 * 49);
  fill_uniform (f, n, r, -2.0f, 2.0f);
  fill_uniform (id, n, r, -1.0f, 1.0f);
  fill_uniform (mc, c, r, 0.0f, 1.0f);
  fill_uniform (ms, hw, r, 0.0f, 1.0f);
  fill_uniform (sw, 2 * 49, r, -0.5f, 0.5f);
  attn_blocked_from_nchw (fb, f, c, hw);
  attn_blocked_from_nchw (idb, id, c, hw);
  attn_parallel_set_threads (threads);
  bool ok = true;
  /* channel pools */
  for (int ch = 0; ch < c; ch++) {
    double s = 0.0;
    float m = -INFINITY;
    for (int p = 0; p < hw; p++) {
      s += f[(size_t) ch * hw + p];
      m = f[(size_t) ch * hw + p] > m ? f[(size_t) ch * hw + p] : m;
    }
    ravg[ch] = (float) (s / hw);
    rmax[ch] = m;
  }
  attn_blocked_channel_pools (avg, max, fb, c, hw);
  ok = check_close ("channel avg", avg, ravg, c, ATOL, RTOL) && ok;
  ok = check_close ("channel max", max, rmax, c, 0.0f, 0.0f) && ok;
  /* spatial pools, and the gate's map from them as from NCHW */
  attn_cbam_spatial_gate (msr, f, mc, sw, 0.1f, work, c, h, w, 7);
  size_t pw = attn_blocked_spatial_pools_workspace (c, hw);
  float *pwork = test_alloc (pw + 16), *pm1 = test_alloc (2 * hw);
  for (int i = 0; i < 16; i++)
    pwork[pw + i] = 12345.0f;
  attn_blocked_spatial_pools (pm, pm + hw, fb, mc, c, hw, pwork);
  ok = check_close ("spatial max", pm, work, hw, 0.0f, 0.0f) && ok;
  ok = check_close ("spatial mean", pm + hw, work + hw, hw, ATOL, RTOL) && ok;
  for (int i = 0; i < 16; i++)
    ok = ok && pwork[pw + i] == 12345.0f;       /* within its work */
  /* the same floats on one thread */
  attn_parallel_set_threads (1);
  attn_blocked_spatial_pools (pm1, pm1 + hw, fb, mc, c, hw, pwork);
  attn_parallel_set_threads (threads);
  ok = check_close ("spatial pools, 1 thread", pm1, pm, 2 * hw, 0.0f, 0.0f)
      && ok;
  free (pwork);
  free (pm1);
  attn_cbam_spatial_pooled (ms, pm, pm + hw, sw, 0.1f, h, w, 7);
  ok = check_close ("spatial map", ms, msr, hw, ATOL, RTOL) && ok;
  /* the apply, all four ways */
  for (int k = 0; k < 4; k++) {
    const float *m = k & 1 ? ms : NULL;
    bool with_id = k & 2;
    attn_cbam_apply (ref, f, mc, m, with_id ? id : NULL, c, hw,
                     ATTN_ACT_RELU);
    attn_blocked_gate_apply (outb, fb, mc, m, with_id ? idb : NULL, true, c,
                             hw);
    attn_blocked_to_nchw (out, outb, c, hw);
    ok = check_close ("apply", out, ref, n, 0.0f, 0.0f) && ok;
  }
  /* subsample by 2 */
  int ho = (h + 1) / 2, wo = (w + 1) / 2;
  attn_blocked_subsample (outb, fb, c, h, w, 2);
  attn_blocked_to_nchw (out, outb, c, ho * wo);
  for (int ch = 0; ch < c; ch++)
    for (int y = 0; y < ho; y++)
      for (int x = 0; x < wo; x++)
        ref[((size_t) ch * ho + y) * wo + x] = f[((size_t) ch * h + 2 * y) * w
                                                 + 2 * x];
  ok = check_close ("subsample", out, ref, (size_t) c * ho * wo, 0.0f, 0.0f)
      && ok;
  attn_parallel_set_threads (1);
  free (f); free (id); free (mc); free (ms); free (fb); free (idb);
  free (outb); free (out); free (ref); free (avg); free (max); free (ravg);
  free (rmax); free (pm); free (work); free (msr); free (sw);
  return ok;
}

/* out = conv k×k (x) + bias, ReLU where relu: the definition, in double */
static void
naive_k (float *out, const float *x, const float *w, const float *bias,
         bool relu, const AttnConv2d *p, int h, int wd)
{
  int k = p->kh;
  int ho = attn_conv_out_dim (h, k, p->stride_h, p->pad_h, 1);
  int wo = attn_conv_out_dim (wd, k, p->stride_w, p->pad_w, 1);
  for (int co = 0; co < p->c_out; co++)
    for (int oy = 0; oy < ho; oy++)
      for (int ox = 0; ox < wo; ox++) {
        double acc = bias[co];
        for (int ci = 0; ci < p->c_in; ci++)
          for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
              int iy = oy * p->stride_h + ky - p->pad_h;
              int ix = ox * p->stride_w + kx - p->pad_w;
              if (iy >= 0 && iy < h && ix >= 0 && ix < wd)
                acc += (double) w[(((size_t) co * p->c_in + ci) * k + ky) * k
                                  + kx] * x[((size_t) ci * h + iy) * wd + ix];
            }
        out[((size_t) co * ho + oy) * wo + ox] = relu && acc < 0 ? 0.0f
            : (float) acc;
      }
}

/* The stem from a planar input into a blocked map against the naive
 * convolution; the max pool on blocked maps against attn_maxpool2d. */
static bool
stem_and_pool (Rng *r, int cin, int cout, int k, int s, int h, int w,
               bool ceil, int threads)
{
  AttnConv2d p = { cin, cout, k, k, s, s, k / 2, k / 2, 1, 1, 1 };
  int ho = attn_conv_out_dim (h, k, s, k / 2, 1);
  int wo = attn_conv_out_dim (w, k, s, k / 2, 1);
  size_t nx = (size_t) cin * h * w, ny = (size_t) cout * ho * wo;
  size_t nw = (size_t) cout * cin * k * k;
  float *x = test_alloc (nx), *wt = test_alloc (nw), *bias = test_alloc (cout);
  float *ref = test_alloc (ny), *got = test_alloc (ny);
  float *yb = test_alloc (ny), *wk = test_alloc (nw);
  size_t nws = attn_stem_blocked_workspace (&p, h, w);
  float *ws = test_alloc (nws);
  fill_uniform (x, nx, r, -1.0f, 1.0f);
  fill_uniform (wt, nw, r, -0.5f, 0.5f);
  fill_uniform (bias, cout, r, -0.5f, 0.5f);
  for (size_t j = 0; j < nws; j++)
    ws[j] = NAN;
  naive_k (ref, x, wt, bias, true, &p, h, w);
  attn_stem_blocked_weights (wk, wt, &p);
  attn_parallel_set_threads (threads);
  attn_stem_blocked (yb, x, wk, bias, true, ws, &p, h, w);
  attn_blocked_to_nchw (got, yb, cout, ho * wo);
  float scale = cin * k * k > 360 ? sqrtf ((float) (cin * k * k) / 360.0f)
      : 1.0f;
  bool ok = attn_stem_blocked_applies (&p)
      && check_close ("stem", got, ref, ny, ATOL * scale, RTOL * scale);
  /* the pool, over the stem's output */
  AttnPool2d pp = { 3, 3, 2, 2, ceil ? 0 : 1, ceil ? 0 : 1, 1, 1, ceil, false };
  int po = attn_pool_out_dim (ho, 3, 2, pp.pad_h, 1, ceil);
  int pw = attn_pool_out_dim (wo, 3, 2, pp.pad_w, 1, ceil);
  size_t np = (size_t) cout * po * pw;
  float *pref = test_alloc (np), *pgot = test_alloc (np), *pb = test_alloc (np);
  attn_maxpool2d (pref, got, &pp, cout, ho, wo);
  attn_blocked_maxpool (pb, yb, &pp, cout, ho, wo);
  attn_blocked_to_nchw (pgot, pb, cout, po * pw);
  attn_parallel_set_threads (1);
  ok = ok && check_close ("pool", pgot, pref, np, 0.0f, 0.0f);
  free (x); free (wt); free (bias); free (ref); free (got); free (yb);
  free (wk); free (ws); free (pref); free (pgot); free (pb);
  return ok;
}

int
main (void)
{
  Rng r = rng_new (16);
  AttnIsa best = attn_cpu_best ();
  /* the blocked kernels have two paths: AVX-512 and plain C (which AVX2
   * runs too) */
  for (int isa = ATTN_ISA_GENERIC; isa <= (int) best; isa++) {
    if (isa == ATTN_ISA_AVX2)
      continue;
    attn_cpu_set_isa ((AttnIsa) isa);
    test_layout (&r, (AttnIsa) isa);
    for (int threads = 1; threads <= 2; threads++)
      for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const Case *k = &cases[i];
        char name[160];
        snprintf (name, sizeof name, "conv1x1 blocked %d -> %d @%dx%d%s%s%s, "
                  "%s, %d thread%s", k->c_in, k->c_out, k->h, k->w,
                  k->bias ? " +bias" : "", k->res ? " +res" : "",
                  k->relu ? " relu" : "", attn_isa_name ((AttnIsa) isa),
                  threads, threads > 1 ? "s" : "");
        test_case (name, run_case (k, &r, threads));
      }
    for (int threads = 1; threads <= 2; threads++)
      for (size_t i = 0; i < sizeof cases3 / sizeof cases3[0]; i++) {
        const Case3 *k = &cases3[i];
        char name[160];
        snprintf (name, sizeof name, "%s blocked %d -> %d @%dx%d s%d "
                  "p%d%s%s%s, %s, %d thread%s", k->m == 4 ? "winograd F(4,3)"
                  : k->m == 2 ? "winograd F(2,3)" : "conv3x3 direct",
                  k->c_in, k->c_out, k->h, k->w, k->s, k->pad,
                  k->bias ? " +bias" : "",
                  k->res ? " +res" : "", k->relu ? " relu" : "",
                  attn_isa_name ((AttnIsa) isa), threads,
                  threads > 1 ? "s" : "");
        test_case (name, run_case3 (k, &r, threads));
      }
    static const int stems[][7] = {     /* cin cout k s h w ceil */
      { 3, 64, 7, 2, 23, 19, 0 }, { 3, 32, 7, 2, 30, 30, 1 },
      { 5, 32, 3, 1, 9, 7, 0 }, { 3, 32, 5, 2, 1, 1, 0 },
      { 3, 64, 7, 2, 64, 61, 0 }, { 3, 128, 7, 2, 29, 33, 0 },
      { 3, 96, 7, 2, 20, 17, 1 }, { 4, 64, 3, 1, 5, 15, 0 },
    };
    for (int threads = 1; threads <= 2; threads++)
      for (size_t i = 0; i < sizeof stems / sizeof stems[0]; i++) {
        const int *k = stems[i];
        char name[160];
        snprintf (name, sizeof name, "stem %dx%d/%d %d -> %d @%dx%d and its "
                  "pool%s on blocked maps, %s, %d thread%s", k[2], k[2], k[3],
                  k[0], k[1], k[4], k[5], k[6] ? " (ceil mode)" : "",
                  attn_isa_name ((AttnIsa) isa), threads,
                  threads > 1 ? "s" : "");
        test_case (name, stem_and_pool (&r, k[0], k[1], k[2], k[3], k[4],
                                        k[5], k[6], threads));
      }
    static const int gshapes[][3] = { { 16, 1, 1 }, { 32, 7, 9 },
      { 64, 28, 28 }, { 256, 13, 14 }, { 336, 5, 6 } };
    for (int threads = 1; threads <= 2; threads++)
      for (size_t i = 0; i < sizeof gshapes / sizeof gshapes[0]; i++) {
        char name[160];
        snprintf (name, sizeof name, "gate passes blocked %d ch @%dx%d, %s, "
                  "%d thread%s", gshapes[i][0], gshapes[i][1],
                  gshapes[i][2], attn_isa_name ((AttnIsa) isa), threads,
                  threads > 1 ? "s" : "");
        test_case (name, gates (&r, gshapes[i][0], gshapes[i][1],
                                gshapes[i][2], threads));
      }
    char name[96];
    snprintf (name, sizeof name, "conv1x1 blocked in place over its "
              "residual, %s", attn_isa_name ((AttnIsa) isa));
    test_case (name, in_place (&r));
  }
  attn_cpu_set_isa (best);
  return test_done ();
}
