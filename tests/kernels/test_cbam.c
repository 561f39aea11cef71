/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_cbam.c — CBAM's channel gate, spatial gate and fused apply against the
 * official module's equations written out naively (two separate MLP passes,
 * materialised F' and F'', the [max, mean] channel pool in that order). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbam.h"
#include "check.h"
#include "conv.h"
#include "cpu.h"
#include "parallel.h"

#define ATOL 1e-6f
#define RTOL 1e-5f

static double
sigm (double x)
{
  return 1 / (1 + exp (-x));
}

/* MLP(x) = W2·relu(W1·x + b1) + b2 */
static void
mlp (double *out, const double *x, const float *w1, const float *b1,
     const float *w2, const float *b2, int c, int hidden)
{
  double *h = calloc (hidden, sizeof (double));
  for (int j = 0; j < hidden; j++) {
    double a = b1[j];
    for (int i = 0; i < c; i++)
      a += w1[j * c + i] * x[i];
    h[j] = a > 0 ? a : 0;
  }
  for (int i = 0; i < c; i++) {
    double a = b2[i];
    for (int j = 0; j < hidden; j++)
      a += w2[i * hidden + j] * h[j];
    out[i] = a;
  }
  free (h);
}

static bool
run (Rng *rng, int c, int hidden, int h, int w, int k)
{
  int hw = h * w;
  size_t n = (size_t) c * hw;
  float *f = test_alloc (n), *id = test_alloc (n);
  float *w1 = test_alloc ((size_t) hidden * c), *b1 = test_alloc (hidden);
  float *w2 = test_alloc ((size_t) c * hidden), *b2 = test_alloc (c);
  float *sw = test_alloc (2 * k * k), sb;
  fill_uniform (f, n, rng, -1, 2);
  fill_uniform (id, n, rng, -1, 1);
  fill_uniform (w1, (size_t) hidden * c, rng, -1, 1);
  fill_uniform (w2, (size_t) c * hidden, rng, -1, 1);
  fill_uniform (b1, hidden, rng, -0.5f, 0.5f);
  fill_uniform (b2, c, rng, -0.5f, 0.5f);
  fill_uniform (sw, 2 * k * k, rng, -0.3f, 0.3f);
  sb = rng_uniform (rng, -0.5f, 0.5f);

  /* naive: Mc, F' = Mc·F, P = [max_c F', mean_c F'], Ms, F'' = Ms·F' */
  double *avg = calloc (c, sizeof (double)), *mx = calloc (c, sizeof (double));
  double *ma = calloc (c, sizeof (double)), *mm = calloc (c, sizeof (double));
  float *mc_ref = test_alloc (c), *ms_ref = test_alloc (hw);
  float *fp = test_alloc (n), *p_ref = test_alloc (2 * hw);
  float *out_ref = test_alloc (n);
  for (int i = 0; i < c; i++) {
    mx[i] = -INFINITY;
    for (int j = 0; j < hw; j++) {
      avg[i] += f[i * hw + j];
      mx[i] = fmax (mx[i], f[i * hw + j]);
    }
    avg[i] /= hw;
  }
  mlp (ma, avg, w1, b1, w2, b2, c, hidden);
  mlp (mm, mx, w1, b1, w2, b2, c, hidden);
  for (int i = 0; i < c; i++)
    mc_ref[i] = (float) sigm (ma[i] + mm[i]);
  for (int i = 0; i < c; i++)
    for (int j = 0; j < hw; j++)
      fp[i * hw + j] = f[i * hw + j] * mc_ref[i];
  for (int j = 0; j < hw; j++) {
    double m = -INFINITY, s = 0;
    for (int i = 0; i < c; i++) {
      m = fmax (m, fp[i * hw + j]);
      s += fp[i * hw + j];
    }
    p_ref[j] = (float) m;             /* channel 0: max */
    p_ref[hw + j] = (float) (s / c);  /* channel 1: mean */
  }
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      double a = sb;
      for (int ch = 0; ch < 2; ch++)
        for (int ky = 0; ky < k; ky++)
          for (int kx = 0; kx < k; kx++) {
            int iy = y + ky - k / 2, ix = x + kx - k / 2;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w)
              a += sw[(ch * k + ky) * k + kx] * p_ref[ch * hw + iy * w + ix];
          }
      ms_ref[y * w + x] = (float) sigm (a);
    }

  float *mc = test_alloc (c), *ms = test_alloc (hw), *pw = test_alloc (2 * hw);
  float *work = test_alloc (attn_cbam_channel_workspace (c, hidden));
  float *out = test_alloc (n);
  attn_cbam_channel_gate (mc, f, w1, b1, w2, b2, work, c, hidden, hw);
  bool ok = check_close ("channel gate Mc", mc, mc_ref, c, ATOL, RTOL);
  attn_cbam_spatial_gate (ms, f, mc, sw, sb, pw, c, h, w, k);
  ok &= check_close ("pooled P [max, mean]", pw, p_ref, 2 * hw, ATOL, RTOL);
  ok &= check_close ("spatial gate Ms", ms, ms_ref, hw, ATOL, RTOL);
  /* the apply from the gates just checked: where F·Mc·Ms and id nearly
   * cancel, Mc's own rounding (within RTOL, and it depends on the BLAS
   * kernel's order of summation: OpenBLAS's generic "Prescott" kernel on
   * CPUs it does not know) would otherwise count again, relative to a
   * result far smaller than the terms */
  for (int i = 0; i < c; i++)
    for (int j = 0; j < hw; j++) {
      double v = (double) f[i * hw + j] * mc[i] * ms[j] + id[i * hw + j];
      out_ref[i * hw + j] = (float) (v > 0 ? v : 0);
    }
  attn_cbam_apply (out, f, mc, ms, id, c, hw, ATTN_ACT_RELU);
  ok &= check_close ("fused relu(F·Mc·Ms + id)", out, out_ref, n, ATOL, RTOL);

  /* the pooled entry point, fed by the conv epilogue's pools, agrees */
  float *favg = test_alloc (c), *fmx = test_alloc (c), *mc2 = test_alloc (c);
  AttnEpilogue ep = { NULL, NULL, ATTN_ACT_NONE, favg, fmx };
  attn_epilogue_apply (f, &ep, 1, c, hw);
  attn_cbam_channel_gate_pooled (mc2, favg, fmx, w1, b1, w2, b2, work, c,
                                 hidden);
  ok &= check_close ("channel gate from epilogue pools", mc2, mc_ref, c, ATOL,
                     RTOL);
  /* in place apply (out aliases in) with no identity */
  for (size_t i = 0; i < n; i++)
    out_ref[i] = (float) ((double) f[i] * mc[i / hw] * ms[i % hw]);
  attn_cbam_apply (f, f, mc, ms, NULL, c, hw, ATTN_ACT_NONE);
  ok &= check_close ("in place F·Mc·Ms", f, out_ref, n, ATOL, RTOL);

  free (f); free (id); free (w1); free (b1); free (w2); free (b2); free (sw);
  free (avg); free (mx); free (ma); free (mm); free (mc_ref); free (ms_ref);
  free (fp); free (p_ref); free (out_ref); free (mc); free (ms); free (pw);
  free (work); free (out); free (favg); free (fmx); free (mc2);
  return ok;
}

/* How a pass runs: the instruction set (cpu.h) and the thread budget
 * (parallel.h). */
typedef struct {
  AttnIsa isa;
  int threads;
} Config;

static void
use (Config cfg)
{
  attn_cpu_set_isa (cfg.isa);
  attn_parallel_set_threads (cfg.threads);
}

/* a and b (n) hold the same floats: the same bytes, or NaN in both (which
 * operand's NaN an addition passes on differs between the compiler's
 * loops and the AVX-512 kernel's; IEEE 754 leaves it open) */
static bool
same_floats (const float *a, const float *b, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (memcmp (&a[i], &b[i], sizeof (float)) != 0
        && !(isnan (a[i]) && isnan (b[i])))
      return false;
  return true;
}

/* The spatial gate and the apply write the same floats under configuration
 * cb as under ca, on a map with NaN, ±inf and −0 among its values, for every
 * combination of the apply's optional inputs and three activations (ReLU
 * and none inline, sigmoid after). */
static bool
identical (Rng *rng, Config ca, Config cb, int c, int h, int w)
{
  int hw = h * w;
  size_t n = (size_t) c * hw;
  float *f = test_alloc (n), *id = test_alloc (n), *mc = test_alloc (c);
  float *sw = test_alloc (98), *ms[2], *p[2], *out[2];
  fill_uniform (f, n, rng, -2, 2);
  fill_uniform (id, n, rng, -1, 1);
  fill_uniform (mc, c, rng, 0, 1);
  fill_uniform (sw, 98, rng, -0.3f, 0.3f);
  static const float odd[] = { NAN, INFINITY, -INFINITY, -0.0f, 0.0f };
  for (size_t i = 0; i < n; i += 7)
    f[i] = odd[(i / 7) % 5];
  for (int v = 0; v < 2; v++) {
    ms[v] = test_alloc (hw);
    p[v] = test_alloc (2 * hw);
    out[v] = test_alloc (n);
  }
  static const AttnAct acts[] = { ATTN_ACT_RELU, ATTN_ACT_NONE,
    ATTN_ACT_SIGMOID };
  bool ok = true;
  for (int v = 0; v < 2; v++) {
    use (v == 0 ? ca : cb);
    attn_cbam_spatial_gate (ms[v], f, mc, sw, 0.1f, p[v], c, h, w, 7);
  }
  ok &= memcmp (p[0], p[1], 2 * hw * sizeof (float)) == 0;
  ok &= same_floats (ms[0], ms[1], hw);
  for (int combo = 0; combo < 8; combo++)
    for (int a = 0; a < 3; a++) {
      for (int v = 0; v < 2; v++) {
        use (v == 0 ? ca : cb);
        attn_cbam_apply (out[v], f, combo & 1 ? mc : NULL,
                         combo & 2 ? ms[0] : NULL, combo & 4 ? id : NULL, c,
                         hw, acts[a]);
      }
      if (memcmp (out[0], out[1], n * sizeof (float)) != 0) {
        printf ("#   apply differs: mc %d ms %d id %d act %d\n", combo & 1,
                !!(combo & 2), !!(combo & 4), a);
        ok = false;
      }
    }
  use ((Config) { attn_cpu_best (), 1 });
  free (f); free (id); free (mc); free (sw);
  for (int v = 0; v < 2; v++) {
    free (ms[v]); free (p[v]); free (out[v]);
  }
  return ok;
}

int
main (int argc, char **argv)
{
  Rng rng = rng_new (9);
  static const int shapes[][5] = {   /* C, hidden, H, W, k */
    { 64, 4, 56, 56, 7 }, { 256, 16, 7, 7, 7 }, { 24, 3, 7, 5, 7 },
    { 3, 1, 1, 1, 7 }, { 17, 2, 3, 9, 7 }, { 8, 2, 5, 5, 3 },
    { 33, 8, 2, 1, 7 },
  };
  char name[96];
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    snprintf (name, sizeof name, "cbam C=%d hidden=%d %dx%d k=%d",
              shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3],
              shapes[i][4]);
    test_case (name, run (&rng, shapes[i][0], shapes[i][1], shapes[i][2],
                          shapes[i][3], shapes[i][4]));
  }
  /* every instruction set this machine runs, against the generic loops */
  static const int isa_shapes[][3] = {   /* C, H, W */
    { 64, 14, 14 }, { 17, 5, 9 }, { 6, 1, 1 }, { 3, 7, 3 }, { 256, 7, 7 },
    { 8, 30, 45 }, { 4, 56, 56 }, { 3, 9, 70 }, { 5, 4, 17 },
  };
  printf ("# instruction sets: up to %s\n", attn_isa_name (attn_cpu_best ()));
  for (int isa = ATTN_ISA_AVX2; isa <= (int) attn_cpu_best (); isa++)
    for (size_t i = 0; i < sizeof isa_shapes / sizeof isa_shapes[0]; i++) {
      snprintf (name, sizeof name, "%s = generic, C=%d %dx%d",
                attn_isa_name ((AttnIsa) isa), isa_shapes[i][0],
                isa_shapes[i][1], isa_shapes[i][2]);
      test_case (name, identical (&rng, (Config) { ATTN_ISA_GENERIC, 1 },
                                  (Config) { (AttnIsa) isa, 1 },
                                  isa_shapes[i][0], isa_shapes[i][1],
                                  isa_shapes[i][2]));
    }
  /* split over threads (maps of 1024 pixels and more): by pixels, ranges
   * ending mid-line (37×41), or by channels where C > HW (the apply) */
  static const int split_shapes[][3] = {   /* C, H, W */
    { 5, 37, 41 }, { 64, 56, 56 }, { 1061, 32, 33 }, { 3, 1, 1 },
    { 9, 31, 33 },
  };
  for (int isa = ATTN_ISA_GENERIC; isa <= (int) attn_cpu_best (); isa++)
    for (size_t i = 0; i < sizeof split_shapes / sizeof split_shapes[0]; i++) {
      snprintf (name, sizeof name, "%s: 2 threads = 1, C=%d %dx%d",
                attn_isa_name ((AttnIsa) isa), split_shapes[i][0],
                split_shapes[i][1], split_shapes[i][2]);
      test_case (name, identical (&rng, (Config) { (AttnIsa) isa, 1 },
                                  (Config) { (AttnIsa) isa, 2 },
                                  split_shapes[i][0], split_shapes[i][1],
                                  split_shapes[i][2]));
    }
  return test_done ();
}
