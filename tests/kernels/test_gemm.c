/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_gemm.c — attn_sgemm's untransposed product against a naive
 * double-precision one written here, under every kernel this CPU runs
 * (OpenBLAS, and our AVX-512 and AVX2 ones), on 1 and 2 threads: odd
 * and round shapes (tile remainders in every direction, K across several
 * K-blocks, narrow column remainders across several of the dot products'
 * K-chunks, K = 0), leading dimensions wider than the matrices with
 * sentinels in the gaps (nothing outside C may be written), α and β, and
 * β = 0 over a C full of NaN (C must not be read); and attn_sgemm_store's
 * bias, residual and ReLU applied in the store. Also checks which kernel
 * runs when. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "check.h"
#include "cpu.h"
#include "parallel.h"

#define SENTINEL 12345.0f

typedef struct {
  int m, n, k;
} Shape;

static const Shape shapes[] = {
  { 1, 1, 1 }, { 1, 17, 5 }, { 7, 5, 3 }, { 8, 16, 1 }, { 8, 48, 192 },
  { 9, 49, 193 }, { 15, 33, 64 }, { 16, 47, 385 }, { 17, 97, 17 },
  { 64, 196, 576 }, { 3, 130, 0 }, { 33, 1, 70 }, { 64, 400, 300 },
  { 130, 64, 1152 },
  /* up to 8 columns past the last whole vector are dot products along K,
   * packed a K-block at a time: remainders over several blocks */
  { 11, 50, 2100 }, { 13, 3, 1030 }, { 20, 49, 1100 },
  /* one panel wide with K ≥ 2048: K-blocks of 384, the last one short
   * (1 row, 128 rows), 8 dot columns */
  { 9, 40, 2305 }, { 17, 56, 2048 },
  /* K up to 256 is one K-block, one more is blocks of 192 (with dot
   * columns) */
  { 10, 51, 256 }, { 9, 52, 257 },
  /* C's rows 2 KB apart or more with one K-block and a small B: row
   * blocks outer (with dot columns; K at the one block's limit; one more
   * row of K: the usual order, for contrast) */
  { 19, 600, 70 }, { 8, 1030, 64 }, { 3, 515, 256 }, { 9, 520, 257 },
};

static void
naive (float *c, const float *a, int lda, const float *b, int ldb, int ldc,
       int m, int n, int k, float alpha, float beta)
{
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double s = 0;
      for (int p = 0; p < k; p++)
        s += (double) a[(size_t) i * lda + p] * b[(size_t) p * ldb + j];
      double prev = beta == 0.0f ? 0.0 : (double) beta * c[(size_t) i * ldc + j];
      c[(size_t) i * ldc + j] = (float) (alpha * s + prev);
    }
}

/* false (and why) when C (rows ldc apart) differs from ref beyond the
 * tolerance, or a value between its rows is not the sentinel any more */
static bool
compare (const float *c, const float *ref, size_t nc, int ldc, const Shape *s,
         char *why, size_t len)
{
  for (size_t i = 0; i < nc; i++) {
    if ((int) (i % ldc) >= s->n) {
      if (c[i] != SENTINEL) {
        snprintf (why, len, "wrote outside C at row %zu col %zu", i / ldc,
                  i % ldc);
        return false;
      }
    } else if (!(fabsf (c[i] - ref[i])
                 <= 1e-5f * (1 + s->k) + 1e-4f * fabsf (ref[i]))) {
      snprintf (why, len, "C[%zu][%zu] = %g, reference %g", i / ldc, i % ldc,
                c[i], ref[i]);
      return false;
    }
  }
  return true;
}

/* One product; false when C differs from the reference or a gap changed. */
static bool
one (const Shape *s, float alpha, float beta, Rng *r, char *why, size_t len)
{
  int lda = s->k + 3, ldb = s->n + 5, ldc = s->n + 2;
  size_t na = (size_t) s->m * lda, nb = (size_t) (s->k ? s->k : 1) * ldb;
  size_t nc = (size_t) s->m * ldc;
  float *a = test_alloc (na), *b = test_alloc (nb);
  float *c = test_alloc (nc), *ref = test_alloc (nc);
  fill_uniform (a, na, r, -1, 1);
  fill_uniform (b, nb, r, -1, 1);
  for (size_t i = 0; i < nc; i++) {
    bool gap = (int) (i % ldc) >= s->n;
    c[i] = gap ? SENTINEL : beta == 0.0f ? NAN : rng_uniform (r, -1, 1);
  }
  memcpy (ref, c, nc * sizeof *c);
  naive (ref, a, lda, b, ldb, ldc, s->m, s->n, s->k, alpha, beta);
  attn_sgemm (false, false, s->m, s->n, s->k, alpha, a, lda, b, ldb, beta, c,
              ldc);
  bool ok = compare (c, ref, nc, ldc, s, why, len);
  free (a);
  free (b);
  free (c);
  free (ref);
  return ok;
}

/* attn_sgemm_store with bias, a residual of its own stride, ReLU and/or
 * the rows' pools (variant bits 1, 2, 4, 8): the reference is the naive
 * product, then + (bias + res), then ReLU; its rows' sums (in double) and
 * maxima. */
static bool
one_store (const Shape *s, int variant, Rng *r, char *why, size_t len)
{
  int lda = s->k + 1, ldb = s->n + 3, ldc = s->n + 4, ldr = s->n + 7;
  size_t na = (size_t) s->m * lda, nb = (size_t) (s->k ? s->k : 1) * ldb;
  size_t nc = (size_t) s->m * ldc;
  float *a = test_alloc (na), *b = test_alloc (nb), *c = test_alloc (nc);
  float *ref = test_alloc (nc), *bias = test_alloc ((size_t) s->m);
  float *res = test_alloc ((size_t) s->m * ldr);
  /* with pools, every product negative: a column past the row's end that
   * held only bias would then be its max */
  fill_uniform (a, na, r, -1, variant & 8 ? -0.1f : 1);
  fill_uniform (b, nb, r, variant & 8 ? 0.1f : -1, 1);
  fill_uniform (bias, (size_t) s->m, r, -2, 2);
  fill_uniform (res, (size_t) s->m * ldr, r, -2, 2);
  /* one sentinel past each pool */
  float *sum = test_alloc ((size_t) s->m + 1), *max = test_alloc ((size_t) s->m + 1);
  for (int i = 0; i <= s->m; i++)
    sum[i] = max[i] = i < s->m ? NAN : SENTINEL;
  AttnGemmStore st = { variant & 1 ? bias : NULL, variant & 2 ? res : NULL,
                       ldr, (variant & 4) != 0, variant & 8 ? sum : NULL,
                       variant & 8 ? max : NULL };
  for (size_t i = 0; i < nc; i++)
    c[i] = (int) (i % ldc) >= s->n ? SENTINEL : NAN;
  memcpy (ref, c, nc * sizeof *c);
  naive (ref, a, lda, b, ldb, ldc, s->m, s->n, s->k, 1.0f, 0.0f);
  for (int i = 0; i < s->m; i++)
    for (int j = 0; j < s->n; j++) {
      float *x = &ref[(size_t) i * ldc + j];
      *x += (st.bias ? st.bias[i] : 0.0f)
          + (st.res ? st.res[(size_t) i * ldr + j] : 0.0f);
      if (st.relu && *x < 0.0f)
        *x = 0.0f;
    }
  attn_sgemm_store (s->m, s->n, s->k, a, lda, b, ldb, c, ldc, &st);
  bool ok = compare (c, ref, nc, ldc, s, why, len);
  for (int i = 0; ok && st.sum && i <= s->m; i++) {
    if (i == s->m) {
      ok = sum[i] == SENTINEL && max[i] == SENTINEL;
      if (!ok)
        snprintf (why, len, "wrote past the pools");
      break;
    }
    /* each value within compare's tolerance, and the float sum's rounding */
    double rs = 0, ra = 0, tol = 0, rm = -INFINITY;
    for (int j = 0; j < s->n; j++) {
      double x = ref[(size_t) i * ldc + j];
      rs += x;
      ra += fabs (x);
      tol += 1e-5 * (1 + s->k) + 1e-4 * fabs (x);
      rm = x > rm ? x : rm;
    }
    tol += 1e-6 * s->n * ra;
    if (!(fabs (sum[i] - rs) <= tol)
        || !(fabs (max[i] - rm) <= 1e-5 * (1 + s->k) + 1e-4 * fabs (rm))) {
      snprintf (why, len, "row %d pools sum %g max %g, reference %g %g", i,
                sum[i], max[i], rs, rm);
      ok = false;
    }
  }
  free (sum);
  free (max);
  free (a);
  free (b);
  free (c);
  free (ref);
  free (bias);
  free (res);
  return ok;
}

static void
run_all (const char *label)
{
  static const float ab[][2] = { { 1, 0 }, { 0.5f, 1 }, { -1.25f, -0.75f },
    { -2.5f, 0 }
  };
  Rng r = rng_new (7);
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
    for (size_t j = 0; j < sizeof ab / sizeof ab[0]; j++) {
      const Shape *s = &shapes[i];
      char why[160] = "", name[256];
      bool ok = one (s, ab[j][0], ab[j][1], &r, why, sizeof why);
      snprintf (name, sizeof name, "%s: %d×%d×%d α=%g β=%g %s", label, s->m,
                s->n, s->k, ab[j][0], ab[j][1], why);
      test_case (name, ok);
    }
  static const char *const variants[] = { "", "bias", "res", "bias+res",
    "relu", "bias+relu", "res+relu", "bias+res+relu", "pools", "bias+pools",
    "res+pools", "bias+res+pools", "relu+pools", "bias+relu+pools",
    "res+relu+pools", "bias+res+relu+pools" };
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
    for (int v = 1; v < 16; v += (i % 2) ? 1 : 3) {
      const Shape *s = &shapes[i];
      char why[160] = "", name[256];
      bool ok = one_store (s, v, &r, why, sizeof why);
      snprintf (name, sizeof name, "%s: store %s, %d×%d×%d %s", label,
                variants[v], s->m, s->n, s->k, why);
      test_case (name, ok);
    }
}

int
main (void)
{
  AttnIsa best = attn_cpu_best ();
  printf ("# instruction sets: up to %s\n", attn_isa_name (best));
  /* which kernel runs when */
  attn_cpu_set_isa (best);
  attn_gemm_set_kernel (ATTN_GEMM_BLAS);
  test_case ("ATTN_GEMM_BLAS runs OpenBLAS",
             strcmp (attn_gemm_kernel_name (), "openblas") == 0);
  /* AUTO and OWN: ours for each vector instruction set, OpenBLAS on the
   * generic path */
  for (int isa = ATTN_ISA_GENERIC; isa <= (int) best; isa++) {
    static const AttnGemmKernel both[] = { ATTN_GEMM_AUTO, ATTN_GEMM_OWN };
    attn_cpu_set_isa ((AttnIsa) isa);
    for (int j = 0; j < 2; j++) {
      char name[128];
      attn_gemm_set_kernel (both[j]);
      snprintf (name, sizeof name, "%s on %s runs %s", j ? "OWN" : "AUTO",
                attn_isa_name ((AttnIsa) isa), isa == ATTN_ISA_GENERIC
                ? "openblas" : attn_isa_name ((AttnIsa) isa));
      test_case (name, strcmp (attn_gemm_kernel_name (),
                               isa == ATTN_ISA_GENERIC ? "openblas"
                               : attn_isa_name ((AttnIsa) isa)) == 0);
    }
  }
  /* a positive figure, whatever the speed (valgrind runs it too) */
  test_case ("the FMA peak is measured where vectors are wide",
             best == ATTN_ISA_GENERIC || (attn_cpu_set_isa (best),
                                          attn_fma_peak_gflops (0.02) > 0.0));
  /* the bf16 probe runs exactly where the instructions are: AVX-512 in use
   * and AVX512-BF16 on the CPU */
  __builtin_cpu_init ();
  attn_cpu_set_isa (best);
  bool bf16 = best == ATTN_ISA_AVX512
      && __builtin_cpu_supports ("avx512bf16");
  test_case (bf16 ? "the BF16 dot-product peak is measured"
             : "no BF16 dot-product peak without AVX512-BF16",
             (attn_bf16_peak_gflops (0.02) > 0.0) == bf16);

  /* OpenBLAS (the instruction set we select does not change it), and our
   * kernel for each vector instruction set the CPU has */
  for (int isa = ATTN_ISA_GENERIC; isa <= (int) best; isa++) {
    attn_cpu_set_isa ((AttnIsa) isa);
    attn_gemm_set_kernel (isa == ATTN_ISA_GENERIC ? ATTN_GEMM_BLAS
                          : ATTN_GEMM_OWN);
    for (int t = 1; t <= 2; t++) {
      char label[64];
      attn_parallel_set_threads (t);
      snprintf (label, sizeof label, "%s, %d thread%s",
                attn_gemm_kernel_name (), t, t > 1 ? "s" : "");
      run_all (label);
    }
  }
  return test_done ();
}
