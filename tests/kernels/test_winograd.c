/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_winograd.c — F(2×2, 3×3) against a naive double-precision 3×3
 * convolution written here, on odd and even sizes, every padding it accepts,
 * maps smaller than a tile, with the epilogue (bias, residual, ReLU: fused
 * into the output transform; with the pools: the epilogue's pass), on 1 and
 * 2 threads (the tiles are cut into blocks, each carried through all three
 * phases by one worker: blocks span tile rows, and the last one is short;
 * or, with few tiles and many output channels, every worker takes all the
 * tiles for its share of the channels); with the products on OpenBLAS,
 * every instruction set this CPU runs gives the same floats bit for bit;
 * plus which convolutions it accepts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "check.h"
#include "cpu.h"
#include "parallel.h"
#include "winograd.h"

#define RTOL 1e-4f

/* out (co, ho, wo) = Σ w[o,c,ky,kx]·in[c, y+ky−ph, x+kx−pw] + bias, residual,
 * relu; pools of the result. */
static void
naive (float *out, float *avg, float *max, const float *in, const float *wt,
       const float *bias, const float *res, bool relu, int ci, int co, int h,
       int w, int ph, int pw)
{
  int ho = h + 2 * ph - 2, wo = w + 2 * pw - 2;
  for (int o = 0; o < co; o++) {
    double sum = 0, mx = -INFINITY;
    for (int y = 0; y < ho; y++)
      for (int x = 0; x < wo; x++) {
        double a = bias ? bias[o] : 0;
        for (int c = 0; c < ci; c++)
          for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) {
              int iy = y + ky - ph, ix = x + kx - pw;
              if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                a += (double) wt[((o * ci + c) * 3 + ky) * 3 + kx]
                    * in[((size_t) c * h + iy) * w + ix];
            }
        size_t k = ((size_t) o * ho + y) * wo + x;
        if (res)
          a += res[k];
        if (relu && a < 0)
          a = 0;
        out[k] = (float) a;
        sum += a;
        mx = fmax (mx, a);
      }
    avg[o] = (float) (sum / (ho * wo));
    max[o] = (float) mx;
  }
}

/* What follows the convolution in a case. */
enum { EP_NONE, EP_POOLS, EP_FUSED };

/* Worst |error| / (9·C_in) seen per tile (index m / 4: F(2×2), F(4×4)). */
static double worst[2];

/* Allowed |error| per unit of 9·C_in (terms of size ~1, so sums grow with
 * K): F(2×2)'s transforms only add and halve; F(4×4)'s multiply by up to 8
 * and 1/24. Worst seen on this suite (the summary line prints it): 4.4e-8
 * for F(2×2), 5.7e-7 for F(4×4), 13× more; F(4×4) is allowed 2× more
 * than F(2×2), still 7× above what it does. */
static float
tolerance (int m)
{
  return m == 4 ? 4e-6f : 2e-6f;
}

static bool
run (Rng *rng, int ci, int co, int h, int w, int ph, int pw, int mode, int m)
{
  bool epilogue = mode != EP_NONE;
  AttnConv2d p = { ci, co, 3, 3, 1, 1, ph, pw, 1, 1, 1 };
  if (!attn_winograd_applies (&p, h, w)) {
    printf ("# %dx%d pad %d,%d: not accepted\n", h, w, ph, pw);
    return false;
  }
  int ho = h + 2 * ph - 2, wo = w + 2 * pw - 2;
  size_t n_in = (size_t) ci * h * w, n_out = (size_t) co * ho * wo;
  float *in = test_alloc (n_in), *wt = test_alloc ((size_t) co * ci * 9);
  float *bias = test_alloc (co), *res = test_alloc (n_out);
  float *u = test_alloc (attn_winograd_weights_size (&p, m));
  float *ws = test_alloc (attn_winograd_workspace (&p, h, w, m));
  float *out = test_alloc (n_out), *ref = test_alloc (n_out);
  float *avg = test_alloc (co), *max = test_alloc (co);
  float *ravg = test_alloc (co), *rmax = test_alloc (co);
  fill_uniform (in, n_in, rng, -1, 1);
  fill_uniform (wt, (size_t) co * ci * 9, rng, -1, 1);
  fill_uniform (bias, co, rng, -1, 1);
  fill_uniform (res, n_out, rng, -1, 1);
  float *again = test_alloc (n_out);

  attn_winograd_weights (u, wt, &p, m);
  AttnEpilogue ep = { bias, res, ATTN_ACT_RELU, mode == EP_POOLS ? avg : NULL,
                      mode == EP_POOLS ? max : NULL };
  for (size_t i = 0; i < n_out; i++)
    out[i] = NAN;                /* every output must be written */
  attn_conv2d_winograd (out, in, u, epilogue ? &ep : NULL, ws, &p, h, w, m);
  /* where the products run on OpenBLAS on every instruction set
   * (ATTN_GEMM=blas: this test's -openblas run), the transforms of the
   * narrower ones must give the same floats bit for bit */
  bool same = true;
  if (strcmp (attn_gemm_kernel_name (), "openblas") == 0) {
    AttnIsa best = attn_cpu_isa ();
    for (int isa = ATTN_ISA_GENERIC; isa < (int) best; isa++) {
      attn_cpu_set_isa ((AttnIsa) isa);
      for (size_t i = 0; i < n_out; i++)
        again[i] = NAN;
      attn_conv2d_winograd (again, in, u, epilogue ? &ep : NULL, ws, &p, h,
                            w, m);
      size_t i = 0;
      while (i < n_out && !memcmp (again + i, out + i, sizeof *out))
        i++;
      if (i < n_out) {
        printf ("# %s: %.9g at %zu, %s: %.9g\n", attn_isa_name (best),
                out[i], i, attn_isa_name ((AttnIsa) isa), again[i]);
        same = false;
      }
    }
    attn_cpu_set_isa (best);
  }
  naive (ref, ravg, rmax, in, wt, epilogue ? bias : NULL,
         epilogue ? res : NULL, epilogue, ci, co, h, w, ph, pw);

  /* sums of 9·C_in terms of size ~1: absolute error scales with √K */
  float atol = tolerance (m) * 9 * ci;
  for (size_t i = 0; i < n_out; i++) {
    double e = fabs ((double) out[i] - ref[i]) / (9.0 * ci);
    worst[m / 4] = e > worst[m / 4] ? e : worst[m / 4];
  }
  bool ok = same && check_close ("out", out, ref, n_out, atol, RTOL);
  if (mode == EP_POOLS)
    ok = ok && check_close ("avg", avg, ravg, co, atol, RTOL)
        && check_close ("max", max, rmax, co, atol, RTOL);
  free (in); free (wt); free (bias); free (res); free (u); free (ws);
  free (out); free (again); free (ref); free (avg); free (max); free (ravg); free (rmax);
  return ok;
}

int
main (void)
{
  Rng rng = rng_new (7);
  static const struct {
    int ci, co, h, w, ph, pw;
    bool ep;
  } cases[] = {
    { 1, 1, 3, 3, 0, 0, false },      /* one output pixel, pad 0 */
    { 1, 1, 1, 1, 1, 1, false },      /* 1×1 map, pad 1: all padding but one */
    { 2, 3, 2, 2, 1, 1, false },      /* one tile */
    { 3, 5, 4, 4, 1, 1, true },
    { 5, 7, 7, 9, 1, 1, true },       /* odd: last tile cropped both ways */
    { 4, 6, 5, 8, 0, 0, true },       /* no padding, odd × even */
    { 6, 4, 9, 6, 2, 2, true },       /* pad 2 grows the map */
    { 3, 3, 6, 7, 1, 0, true },       /* asymmetric padding */
    { 3, 3, 7, 6, 0, 2, true },
    { 17, 19, 13, 11, 1, 1, true },
    { 64, 64, 14, 14, 1, 1, true },   /* ResNet layer3 in miniature */
    { 33, 65, 29, 31, 1, 1, true },
    { 128, 32, 7, 7, 1, 1, true },    /* ResNet layer4's map size */
    /* few tiles for many output channels: on 2 threads, split by output
     * channels (an odd number: 50 + 51), as ResNet's 256 ch @14² */
    { 21, 101, 9, 10, 1, 1, true },
    /* larger maps: hundreds of tiles, odd both ways */
    { 7, 9, 41, 37, 1, 1, true },
    { 5, 6, 40, 33, 0, 0, true },
    { 4, 3, 45, 30, 2, 1, false },
    /* a tile row wider than a block (51 tiles): blocks end mid-row */
    { 3, 4, 9, 101, 1, 1, true },
    { 40, 36, 58, 58, 1, 1, true },
    /* F(4×4): output widths 2 and 1 past a multiple of 4; a tile row of 51
     * 4×4 tiles */
    { 5, 5, 10, 10, 1, 1, true },
    { 6, 5, 11, 12, 0, 1, true },
    { 3, 4, 5, 201, 1, 1, true },
  };
  for (int m = 2; m <= 4; m += 2)
    for (int threads = 1; threads <= 2; threads++) {
      attn_parallel_set_threads (threads);
      for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int fused = 0; fused <= (int) cases[i].ep; fused++) {
          int mode = !cases[i].ep ? EP_NONE : fused ? EP_FUSED : EP_POOLS;
          char name[128];
          snprintf (name, sizeof name, "F(%dx%d) %d->%d %dx%d pad %d,%d%s, "
                    "%d thread%s", m, m, cases[i].ci, cases[i].co, cases[i].h,
                    cases[i].w, cases[i].ph, cases[i].pw,
                    mode == EP_POOLS ? " + bias/residual/relu/pools"
                    : mode == EP_FUSED ? " + bias/residual/relu fused" : "",
                    threads, threads > 1 ? "s" : "");
          test_case (name, run (&rng, cases[i].ci, cases[i].co, cases[i].h,
                                cases[i].w, cases[i].ph, cases[i].pw, mode,
                                m));
        }
      }
    }
  attn_parallel_set_threads (0);
  printf ("# worst |error| / (9 C_in): F(2x2) %.2e (allowed %.1e), "
          "F(4x4) %.2e (allowed %.1e)\n", worst[0], tolerance (2), worst[1],
          tolerance (4));
  test_case ("F(4x4) measured less accurate than F(2x2), within its bound",
             worst[1] > worst[0] && worst[1] <= tolerance (4));

  /* what it accepts: 3×3, stride 1, undilated, ungrouped, pad ≤ 2; the
   * measured rule (whatever ATTN_WINOGRAD says) on full-width multiply-adds
   * (whatever this CPU has), then on half-width ones */
  attn_winograd_set_policy (ATTN_WINOGRAD_AUTO);
  /* what the CPU reports counts only with AVX-512 in use */
  if (!getenv ("ATTN_FMA")) {
    AttnIsa isa = attn_cpu_isa ();
    printf ("# half-rate multiply-adds here: %s\n",
            attn_cpu_fma_half () ? "yes" : "no");
    attn_cpu_set_isa (ATTN_ISA_AVX2);
    bool avx2_half = attn_cpu_fma_half ();
    attn_cpu_set_isa (isa);
    test_case ("half-rate multiply-adds only with AVX-512 in use", !avx2_half);
  }
  bool was_half = attn_cpu_set_fma_half (false);
  AttnConv2d ok = { 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1 };
  AttnConv2d s2 = ok, d2 = ok, g2 = ok, k5 = ok, p3 = ok;
  s2.stride_w = 2;
  d2.dil_h = 2;
  g2.groups = 2;
  k5.kh = k5.kw = 5;
  p3.pad_h = 3;
  test_case ("accepts 3x3/1 pad 1", attn_winograd_applies (&ok, 8, 8));
  test_case ("rejects stride 2, dilation 2, groups 2, 5x5, pad 3",
             !attn_winograd_applies (&s2, 8, 8) && !attn_winograd_applies (&d2, 8, 8)
             && !attn_winograd_applies (&g2, 8, 8)
             && !attn_winograd_applies (&k5, 8, 8)
             && !attn_winograd_applies (&p3, 8, 8));
  AttnConv2d p0 = ok;
  p0.pad_h = p0.pad_w = 0;
  test_case ("rejects a map smaller than the kernel (pad 0, 2x2)",
             !attn_winograd_applies (&p0, 2, 2)
             && attn_winograd_workspace (&p0, 2, 2, 2) == 0);
  AttnConv2d big = ok, small = ok, c32 = ok, c16 = ok;
  big.c_in = big.c_out = 64;
  small.c_in = small.c_out = 8;
  c32.c_in = c32.c_out = 32;
  c16.c_in = c16.c_out = 16;
  test_case ("pays on 64 ch @56, not on 8 ch or a 3x3 map",
             attn_winograd_pays (&big, 56, 56) && !attn_winograd_pays (&small, 56, 56)
             && !attn_winograd_pays (&big, 3, 3));
  test_case ("pays from 32 ch (32 ch @32 yes, 16 ch @32 no), not at 512 ch @7",
             attn_winograd_pays (&c32, 32, 32) && !attn_winograd_pays (&c16, 32, 32)
             && !attn_winograd_pays (&(AttnConv2d) { 512, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1 },
                                     7, 7));
  AttnConv2d c128 = ok, c256 = ok;
  c128.c_in = c128.c_out = 128;
  c256.c_in = c256.c_out = 256;
  test_case ("F(4x4) at 64 ch @56 and 128 ch @28, F(2x2) at 256 ch @14",
             attn_winograd_tile (&big, 56, 56) == 4
             && attn_winograd_tile (&c128, 28, 28) == 4
             && attn_winograd_tile (&c256, 14, 14) == 2
             && attn_winograd_tile (&small, 56, 56) == 0);
  test_case ("the blocked Winograd's tile is the same on full-width "
             "multiply-adds",
             attn_winograd_blocked_tile (&c256, 14, 14) == 2
             && attn_winograd_blocked_tile (&big, 56, 56) == 4);
  AttnConv2d c512 = ok;
  c512.c_in = c512.c_out = 512;
  attn_cpu_set_fma_half (true);
  test_case ("half-width multiply-adds: F(2x2) at 512 ch @7, not at 128 ch "
             "@7; F(4x4) blocked at 256 ch @14, F(2x2) there NCHW",
             attn_winograd_tile (&c512, 7, 7) == 2
             && attn_winograd_blocked_tile (&c512, 7, 7) == 2
             && attn_winograd_tile (&c128, 7, 7) == 0
             && attn_winograd_blocked_tile (&c256, 14, 14) == 4
             && attn_winograd_tile (&c256, 14, 14) == 2
             && attn_winograd_blocked_tile (&c128, 14, 14) == 2
             && attn_winograd_tile (&big, 56, 56) == 4
             && attn_winograd_tile (&small, 56, 56) == 0);
  attn_winograd_set_policy (ATTN_WINOGRAD_NEVER);
  test_case ("half-width multiply-adds: the policy still forces neither",
             attn_winograd_tile (&c512, 7, 7) == 0
             && attn_winograd_blocked_tile (&c256, 14, 14) == 0);
  attn_cpu_set_fma_half (was_half);
  attn_winograd_set_policy (ATTN_WINOGRAD_F4);
  bool f4 = attn_winograd_tile (&small, 5, 5) == 4
      && attn_winograd_tile (&s2, 8, 8) == 0;
  attn_winograd_set_policy (ATTN_WINOGRAD_F2);
  bool f2 = attn_winograd_tile (&big, 56, 56) == 2;
  attn_winograd_set_policy (ATTN_WINOGRAD_NEVER);
  bool never = attn_winograd_tile (&big, 56, 56) == 0;
  attn_winograd_set_policy (ATTN_WINOGRAD_AUTO);
  test_case ("the policy forces F(4x4), F(2x2) or neither where it applies",
             f4 && f2 && never);
  return test_done ();
}
