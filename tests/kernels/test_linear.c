/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_linear.c — attn_linear (a matrix–vector product for N = 1, sgemm
 * otherwise), attn_linear_pair and attn_sgemv's untransposed products
 * against a naive double-precision loop, under every instruction set this
 * CPU has and under OpenBLAS; and our matrix–vector kernel writing the same
 * bytes under each instruction set, on one thread and two, alone and as a
 * pair. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "check.h"
#include "cpu.h"
#include "linear.h"
#include "parallel.h"

#define ATOL 1e-5f
#define RTOL 1e-4f

/* The absolute tolerance for sums of k products of values in [-1, 1]:
 * ATOL up to 256 terms, then growing with k — a float sum's rounding does
 * (OpenBLAS's sgemv on an AMD Zen 4, K = 2048: 1.3e-5 off the double loop
 * on a result of 0.021). */
static float
atol_for (int k)
{
  return k > 256 ? ATOL * (float) k / 256.0f : ATOL;
}

/* How a product runs: the instruction set (cpu.h), the thread budget
 * (parallel.h) and the kernel (blas.h). */
typedef struct {
  AttnIsa isa;
  int threads;
  AttnGemmKernel kernel;
} Config;

static void
use (Config cfg)
{
  attn_cpu_set_isa (cfg.isa);
  attn_parallel_set_threads (cfg.threads);
  attn_gemm_set_kernel (cfg.kernel);
}

static void
config_name (char *buf, size_t len, Config cfg)
{
  snprintf (buf, len, "%s, %d thread%s",
            cfg.kernel == ATTN_GEMM_BLAS ? "openblas" : attn_isa_name (cfg.isa),
            cfg.threads, cfg.threads > 1 ? "s" : "");
}

/* ref (N,M) = in · wᵀ + b, in double */
static void
reference (float *ref, const float *in, const float *w, const float *b,
           int n, int k, int m)
{
  for (int i = 0; i < n; i++)
    for (int j = 0; j < m; j++) {
      double acc = b ? b[j] : 0.0;
      for (int t = 0; t < k; t++)
        acc += (double) in[(size_t) i * k + t] * w[(size_t) j * k + t];
      ref[(size_t) i * m + j] = (float) acc;
    }
}

static bool
run (Rng *rng, int n, int k, int m, bool with_bias)
{
  float *in = test_alloc ((size_t) n * k), *w = test_alloc ((size_t) m * k);
  float *b = test_alloc (m), *ref = test_alloc ((size_t) n * m);
  float *got = test_alloc ((size_t) n * m);
  fill_uniform (in, (size_t) n * k, rng, -1, 1);
  fill_uniform (w, (size_t) m * k, rng, -1, 1);
  fill_uniform (b, m, rng, -1, 1);
  fill_uniform (got, (size_t) n * m, rng, 100, 200);  /* stale garbage */
  reference (ref, in, w, with_bias ? b : NULL, n, k, m);
  attn_linear (got, in, w, with_bias ? b : NULL, n, k, m);
  bool ok = check_close ("linear", got, ref, (size_t) n * m, atol_for (k),
                         RTOL);
  free (in); free (w); free (b); free (ref); free (got);
  return ok;
}

/* attn_sgemv y = α·A·x + β·y, A's rows lda ≥ k floats apart (the floats
 * between them NaN: never read), against the double loop; β = 0 with NaN
 * in y (never read). Then attn_linear_pair against the double loop. */
static bool
run_gemv (Rng *rng, int m, int k, int lda, float alpha, float beta)
{
  float *a = test_alloc ((size_t) m * lda), *x = test_alloc (k);
  float *x1 = test_alloc (k), *y = test_alloc (m), *y0 = test_alloc (m);
  float *ref = test_alloc (m), *b = test_alloc (m), *p0 = test_alloc (m);
  float *p1 = test_alloc (m), *ref1 = test_alloc (m);
  for (size_t i = 0; i < (size_t) m * lda; i++)
    a[i] = (int) (i % lda) < k ? rng_uniform (rng, -1, 1) : NAN;
  fill_uniform (x, k, rng, -1, 1);
  fill_uniform (x1, k, rng, -1, 1);
  fill_uniform (b, m, rng, -1, 1);
  for (int i = 0; i < m; i++)
    y0[i] = beta == 0.0f ? NAN : rng_uniform (rng, -1, 1);
  for (int i = 0; i < m; i++) {
    double acc = 0.0;
    for (int t = 0; t < k; t++)
      acc += (double) a[(size_t) i * lda + t] * x[t];
    ref[i] = (float) (alpha * acc + (beta == 0.0f ? 0.0 : beta * y0[i]));
  }
  memcpy (y, y0, sizeof (float) * m);
  attn_sgemv (false, m, k, alpha, a, lda, x, beta, y);
  bool ok = check_close ("sgemv", y, ref, m, atol_for (k), RTOL);

  /* the pair: a packed (lda = k) view is what linear layers have */
  if (lda == k) {
    float *ref0 = test_alloc (m);
    reference (ref0, x, a, b, 1, k, m);
    reference (ref1, x1, a, b, 1, k, m);
    fill_uniform (p0, m, rng, 100, 200);
    fill_uniform (p1, m, rng, 100, 200);
    attn_linear_pair (p0, p1, x, x1, a, b, k, m);
    ok &= check_close ("pair, first", p0, ref0, m, atol_for (k), RTOL);
    ok &= check_close ("pair, second", p1, ref1, m, atol_for (k), RTOL);
    free (ref0);
  }
  free (a); free (x); free (x1); free (y); free (y0); free (ref); free (b);
  free (p0); free (p1); free (ref1);
  return ok;
}

/* Our kernel writes the same bytes under cb as under ca: attn_linear (with
 * and without bias), attn_sgemv with α, β, and each half of
 * attn_linear_pair the same as attn_linear alone. The inputs hold NaN,
 * ±inf and −0 among their values. */
static bool
identical (Rng *rng, Config ca, Config cb, int k, int m)
{
  float *w = test_alloc ((size_t) m * k), *x = test_alloc (k);
  float *x1 = test_alloc (k), *b = test_alloc (m), *out[2][4];
  fill_uniform (w, (size_t) m * k, rng, -1, 1);
  fill_uniform (x, k, rng, -1, 1);
  fill_uniform (x1, k, rng, -1, 1);
  fill_uniform (b, m, rng, -1, 1);
  static const float odd[] = { NAN, INFINITY, -INFINITY, -0.0f };
  for (size_t i = 0; i < (size_t) m * k; i += 997)
    w[i] = odd[(i / 997) % 4];
  for (int v = 0; v < 2; v++) {
    use (v == 0 ? ca : cb);
    for (int o = 0; o < 4; o++)
      out[v][o] = test_alloc (m);
    attn_linear (out[v][0], x, w, NULL, 1, k, m);
    memcpy (out[v][1], b, sizeof (float) * m);
    attn_sgemv (false, m, k, -2.5f, w, k, x, 0.75f, out[v][1]);
    attn_linear_pair (out[v][2], out[v][3], x, x1, w, b, k, m);
  }
  bool ok = true;
  for (int o = 0; o < 4; o++)
    if (memcmp (out[0][o], out[1][o], sizeof (float) * m) != 0) {
      printf ("#   output %d differs\n", o);
      ok = false;
    }
  /* the pair's second half is attn_linear of x1 alone */
  float *alone = test_alloc (m);
  attn_linear (alone, x1, w, b, 1, k, m);
  if (memcmp (alone, out[1][3], sizeof (float) * m) != 0) {
    printf ("#   the pair's second output differs from attn_linear's\n");
    ok = false;
  }
  use ((Config) { attn_cpu_best (), 1, ATTN_GEMM_AUTO });
  free (w); free (x); free (x1); free (b); free (alone);
  for (int v = 0; v < 2; v++)
    for (int o = 0; o < 4; o++)
      free (out[v][o]);
  return ok;
}

int
main (int argc, char **argv)
{
  Rng rng = rng_new (3);
  static const int shapes[][3] = {
    { 1, 512, 1000 }, { 1, 2048, 6 }, { 1, 1, 1 }, { 1, 37, 3 },
    { 3, 64, 10 }, { 2, 13, 1 }, { 5, 1, 7 }, { 1, 2048, 1000 },
    { 1, 2047, 129 }, { 1, 15, 5 }, { 1, 16, 4 }, { 1, 17, 2 },
  };
  /* m, k, lda: odd rows left over after passes of four (two for a pair),
   * k below, at and past the 16 lanes, rows apart by more than k */
  static const int gemv_shapes[][3] = {
    { 1, 1, 1 }, { 7, 15, 15 }, { 9, 33, 40 }, { 128, 2048, 2048 },
    { 2048, 128, 128 }, { 1001, 257, 257 }, { 3, 16, 17 }, { 300, 1000, 1000 },
  };
  static const float ab[][2] = { { 1, 0 }, { 1, 1 }, { -2.5f, 0.5f } };
  char name[128], cfg_name[48];

  Config configs[2 * ATTN_ISA_COUNT + 2];
  int nc = 0;
  for (int isa = ATTN_ISA_GENERIC; isa <= (int) attn_cpu_best (); isa++)
    for (int t = 1; t <= 2; t++)
      configs[nc++] = (Config) { (AttnIsa) isa, t, ATTN_GEMM_AUTO };
  configs[nc++] = (Config) { attn_cpu_best (), 1, ATTN_GEMM_BLAS };
  configs[nc++] = (Config) { attn_cpu_best (), 2, ATTN_GEMM_BLAS };
  printf ("# instruction sets: up to %s\n", attn_isa_name (attn_cpu_best ()));

  for (int ci = 0; ci < nc; ci++) {
    use (configs[ci]);
    config_name (cfg_name, sizeof cfg_name, configs[ci]);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
      for (int bias = 0; bias < 2; bias++) {
        snprintf (name, sizeof name, "linear N=%d K=%d M=%d%s (%s)",
                  shapes[i][0], shapes[i][1], shapes[i][2],
                  bias ? " + bias" : "", cfg_name);
        test_case (name, run (&rng, shapes[i][0], shapes[i][1],
                              shapes[i][2], bias));
      }
    for (size_t i = 0; i < sizeof gemv_shapes / sizeof gemv_shapes[0]; i++)
      for (size_t j = 0; j < sizeof ab / sizeof ab[0]; j++) {
        snprintf (name, sizeof name,
                  "sgemv M=%d K=%d lda=%d alpha=%g beta=%g, pair (%s)",
                  gemv_shapes[i][0], gemv_shapes[i][1], gemv_shapes[i][2],
                  ab[j][0], ab[j][1], cfg_name);
        test_case (name, run_gemv (&rng, gemv_shapes[i][0],
                                   gemv_shapes[i][1], gemv_shapes[i][2],
                                   ab[j][0], ab[j][1]));
      }
  }

  /* the same bytes: every instruction set against generic, two threads
   * against one (a split of 2048 × 1000 and of 1000 × 300 by rows) */
  static const int same_shapes[][2] = {
    { 2048, 1000 }, { 1000, 300 }, { 37, 7 }, { 16, 1 }, { 1, 5 },
  };
  for (size_t i = 0; i < sizeof same_shapes / sizeof same_shapes[0]; i++)
    for (int c = 1; c < nc - 2; c++) {
      config_name (cfg_name, sizeof cfg_name, configs[c]);
      snprintf (name, sizeof name,
                "the kernel's bytes K=%d M=%d: %s as generic, 1 thread",
                same_shapes[i][0], same_shapes[i][1], cfg_name);
      test_case (name, identical (&rng, configs[0], configs[c],
                                  same_shapes[i][0], same_shapes[i][1]));
    }
  return test_done ();
}
