/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* blas.c — the products: our GEMM kernels (gemm_isa.c) for untransposed
 * products on AVX-512 and AVX2, OpenBLAS' CBLAS interface for the rest,
 * split over the process's thread budget (parallel.h): each runs
 * single-threaded on each thread, a large product is cut into column (or
 * row) blocks, one task each. */
#include "blas.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "gemm-private.h"
#include "parallel.h"

/* Products smaller than this many multiply-adds run in one call: splitting
 * them costs more than it wins. */
#define SPLIT_MACS (1 << 18)
/* Blocks are a multiple of this many columns (rows), for the kernels'
 * register blocking. */
#define SPLIT_ALIGN 16

void
attn_blas_set_threads (int n)
{
  openblas_set_num_threads (n < 1 ? 1 : n);
}

int
attn_blas_get_threads (void)
{
  return openblas_get_num_threads ();
}

/* -1: not decided (the environment is read on first use) */
static int gemm_kernel = -1;

void
attn_gemm_set_kernel (AttnGemmKernel kernel)
{
  __atomic_store_n (&gemm_kernel, (int) kernel, __ATOMIC_RELAXED);
}

/* Our kernel for this instruction set (ATTN_ISA_AVX512 or _AVX2), or
 * ATTN_ISA_GENERIC: OpenBLAS. */
static AttnIsa
own_gemm (void)
{
  int k = __atomic_load_n (&gemm_kernel, __ATOMIC_RELAXED);
  if (k < 0) {
    const char *env = getenv ("ATTN_GEMM");
    k = env && strcmp (env, "blas") == 0 ? ATTN_GEMM_BLAS
        : env && strcmp (env, "own") == 0 ? ATTN_GEMM_OWN : ATTN_GEMM_AUTO;
    __atomic_store_n (&gemm_kernel, k, __ATOMIC_RELAXED);
  }
#ifdef ATTN_HAVE_ISA_VARIANTS
  return k == ATTN_GEMM_BLAS ? ATTN_ISA_GENERIC : attn_cpu_isa ();
#else
  return ATTN_ISA_GENERIC;
#endif
}

const char *
attn_gemm_kernel_name (void)
{
  AttnIsa isa = own_gemm ();
  return isa == ATTN_ISA_GENERIC ? "openblas" : attn_isa_name (isa);
}

double
attn_fma_peak_gflops (double seconds)
{
#ifdef ATTN_HAVE_ISA_VARIANTS
  switch (attn_cpu_isa ()) {
    case ATTN_ISA_AVX512:
      return gemm_peak_avx512 (seconds);
    case ATTN_ISA_AVX2:
      return gemm_peak_avx2 (seconds);
    default:
      break;
  }
#endif
  (void) seconds;
  return 0.0;
}

double
attn_bf16_peak_gflops (double seconds)
{
#ifdef ATTN_HAVE_ISA_VARIANTS
  __builtin_cpu_init ();
  if (attn_cpu_isa () == ATTN_ISA_AVX512
      && __builtin_cpu_supports ("avx512bf16"))
    return gemm_bf16_peak_avx512 (seconds);
#endif
  (void) seconds;
  return 0.0;
}

void
attn_gemm_store_row (float *restrict c, const float *restrict res, float bias,
                     bool relu, int n)
{
  for (int j = 0; j < n; j++) {
    float x = c[j] + (res ? bias + res[j] : bias);
    c[j] = relu && !(x > 0.0f) ? 0.0f : x;
  }
}

/* The store's steps as a pass over c (m,n), after OpenBLAS's product,
 * and the row's pools where asked. */
static void
store_pass (int m, int n, float *c, int ldc, const AttnGemmStore *st)
{
  for (int i = 0; i < m; i++) {
    float *restrict row = c + (size_t) i * ldc;
    attn_gemm_store_row (row, st->res ? st->res + (size_t) i * st->ldr : NULL,
                         st->bias ? st->bias[i] : 0.0f, st->relu, n);
    float sum = 0.0f, mx = -INFINITY;
    for (int j = 0; st->sum && j < n; j++)
      sum += row[j];
    for (int j = 0; st->max && j < n; j++)
      mx = row[j] > mx ? row[j] : mx;
    if (st->sum)
      st->sum[i] = sum;
    if (st->max)
      st->max[i] = mx;
  }
}

static void
sgemm1 (bool trans_a, bool trans_b, int m, int n, int k, float alpha,
        const float *a, int lda, const float *b, int ldb, float beta,
        float *c, int ldc, const AttnGemmStore *st)
{
#ifdef ATTN_HAVE_ISA_VARIANTS
  /* (K = 0 leaves c = β·c: OpenBLAS's, and the store pass below) */
  if (!trans_a && !trans_b && k > 0) {
    switch (own_gemm ()) {
    case ATTN_ISA_AVX512:
      gemm_nn_avx512 (m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, st);
      return;
    case ATTN_ISA_AVX2:
      gemm_nn_avx2 (m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, st);
      return;
    default:
      break;
    }
  }
#endif
  cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
               trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b,
               ldb, beta, c, ldc);
  if (st)
    store_pass (m, n, c, ldc, st);
}

typedef struct {
  bool trans_a, trans_b, by_cols;
  int m, n, k, block;
  float alpha, beta;
  const float *a, *b;
  int lda, ldb, ldc;
  float *c;
  const AttnGemmStore *st;
  float *parts;         /* by columns with pools: task i > 0's sums, maxima */
} GemmSplit;

/* Pools of a product split by columns: each task but the first takes its
 * part of every row's pools here (2·m floats each, on the caller's stack);
 * a product whose parts do not fit is split by rows instead. */
#define POOL_PARTS_FLOATS 8192

/* Task i: columns (or rows) [i·block, (i+1)·block) of c. */
static void
gemm_block (void *ctx, int i)
{
  const GemmSplit *g = ctx;
  int lo = i * g->block;
  if (g->by_cols) {
    int n = g->n - lo < g->block ? g->n - lo : g->block;
    const float *b = g->trans_b ? g->b + (size_t) lo * g->ldb : g->b + lo;
    AttnGemmStore st;
    if (g->st) {
      st = *g->st;
      st.res = st.res ? st.res + lo : NULL;
      float *part = i > 0 ? g->parts + (size_t) (i - 1) * 2 * g->m : NULL;
      st.sum = st.sum && part ? part : st.sum;
      st.max = st.max && part ? part + g->m : st.max;
    }
    sgemm1 (g->trans_a, g->trans_b, g->m, n, g->k, g->alpha, g->a, g->lda, b,
            g->ldb, g->beta, g->c + lo, g->ldc, g->st ? &st : NULL);
  } else {
    int m = g->m - lo < g->block ? g->m - lo : g->block;
    const float *a = g->trans_a ? g->a + lo : g->a + (size_t) lo * g->lda;
    AttnGemmStore st;
    if (g->st) {
      st = *g->st;
      st.bias = st.bias ? st.bias + lo : NULL;
      st.res = st.res ? st.res + (size_t) lo * st.ldr : NULL;
      st.sum = st.sum ? st.sum + lo : NULL;
      st.max = st.max ? st.max + lo : NULL;
    }
    sgemm1 (g->trans_a, g->trans_b, m, g->n, g->k, g->alpha, a, g->lda, g->b,
            g->ldb, g->beta, g->c + (size_t) lo * g->ldc, g->ldc,
            g->st ? &st : NULL);
  }
}

static void
sgemm_split (bool trans_a, bool trans_b, int m, int n, int k, float alpha,
             const float *a, int lda, const float *b, int ldb, float beta,
             float *c, int ldc, const AttnGemmStore *st)
{
  int t = attn_parallel_threads ();
  if (t <= 1 || (double) m * n * k < SPLIT_MACS) {
    sgemm1 (trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
            st);
    return;
  }
  /* cut the longer side of c into t aligned blocks (by rows when the
   * pools' parts would not fit) */
  bool pools = st && (st->sum || st->max);
  bool by_cols = n >= m && !(pools && (size_t) 2 * m * (t - 1)
                             > POOL_PARTS_FLOATS);
  int len = by_cols ? n : m;
  int block = (len + t - 1) / t;
  block = (block + SPLIT_ALIGN - 1) / SPLIT_ALIGN * SPLIT_ALIGN;
  int tasks = (len + block - 1) / block;
  if (tasks <= 1) {
    sgemm1 (trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
            st);
    return;
  }
  float parts[POOL_PARTS_FLOATS];
  GemmSplit g = { trans_a, trans_b, by_cols, m, n, k, block, alpha, beta, a,
    b, lda, ldb, ldc, c, st, parts
  };
  attn_parallel_for (tasks, gemm_block, &g);
  /* the other tasks' parts of the pools, in task order */
  for (int i = 1; by_cols && pools && i < tasks; i++) {
    const float *ps = parts + (size_t) (i - 1) * 2 * m, *pm = ps + m;
    for (int r = 0; st->sum && r < m; r++)
      st->sum[r] += ps[r];
    for (int r = 0; st->max && r < m; r++)
      st->max[r] = pm[r] > st->max[r] ? pm[r] : st->max[r];
  }
}

void
attn_sgemm (bool trans_a, bool trans_b, int m, int n, int k, float alpha,
            const float *a, int lda, const float *b, int ldb, float beta,
            float *c, int ldc)
{
  sgemm_split (trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
               NULL);
}

void
attn_sgemm_store (int m, int n, int k, const float *a, int lda,
                  const float *b, int ldb, float *c, int ldc,
                  const AttnGemmStore *st)
{
  sgemm_split (false, false, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc, st);
}

/* Which matrix–vector kernel runs: ours (gemv_isa.c) in the variant this
 * CPU runs, generic included, unless ATTN_GEMM=blas asks for OpenBLAS. */
static bool
own_gemv (void)
{
  own_gemm ();                  /* reads ATTN_GEMM once */
  return __atomic_load_n (&gemm_kernel, __ATOMIC_RELAXED) != ATTN_GEMM_BLAS;
}

typedef struct {
  bool trans, own;
  int m, n, lda;
  float alpha, beta;
  const float *a, *x, *x1;
  float *y, *y1;
} GemvSplit;

/* y (and y1) over rows [lo, hi) of an untransposed a, one thread */
static void
gemv_rows (const GemvSplit *g, int lo, int hi)
{
  const float *a = g->a + (size_t) lo * g->lda;
  float *y1 = g->y1 ? g->y1 + lo : NULL;
  if (!g->own) {
    cblas_sgemv (CblasRowMajor, CblasNoTrans, hi - lo, g->n, g->alpha, a,
                 g->lda, g->x, 1, g->beta, g->y + lo, 1);
    if (y1)
      cblas_sgemv (CblasRowMajor, CblasNoTrans, hi - lo, g->n, g->alpha, a,
                   g->lda, g->x1, 1, g->beta, y1, 1);
    return;
  }
  switch (attn_cpu_isa ()) {
#ifdef ATTN_HAVE_ISA_VARIANTS
    case ATTN_ISA_AVX512:
      gemv_rows_avx512 (hi - lo, g->n, g->alpha, a, (size_t) g->lda, g->x,
                        g->x1, g->beta, g->y + lo, y1);
      break;
    case ATTN_ISA_AVX2:
      gemv_rows_avx2 (hi - lo, g->n, g->alpha, a, (size_t) g->lda, g->x,
                      g->x1, g->beta, g->y + lo, y1);
      break;
#endif
    default:
      gemv_rows_generic (hi - lo, g->n, g->alpha, a, (size_t) g->lda, g->x,
                         g->x1, g->beta, g->y + lo, y1);
      break;
  }
}

/* Outputs [lo, hi) of y: rows of a, or (trans) its columns. */
static void
gemv_range (void *ctx, int lo, int hi)
{
  const GemvSplit *g = ctx;
  if (g->trans)
    cblas_sgemv (CblasRowMajor, CblasTrans, g->m, hi - lo, g->alpha, g->a + lo,
                 g->lda, g->x, 1, g->beta, g->y + lo, 1);
  else
    gemv_rows (g, lo, hi);
}

/* Matrix-vector products are memory-bound: a large one (the classifier,
 * the decoder's output layer reading its whole vocabulary × state matrix
 * every step, a gate's MLP from 256 KB) is split over the pool's threads
 * by output, each streaming its own rows. From 1 MB before: ResNet-50-
 * CBAM's six 1024-channel CBAM gates (64 × 1024 weights each way) on 2
 * threads, AMD EPYC (Zen 4), minima of 40 profiled forwards, 0.326–0.335
 * → 0.258–0.287 ms; their MLP alone, warm, 11.5 → 6.8 µs. */
#define GEMV_SPLIT_FLOATS (1 << 16)

static void
gemv_split (GemvSplit *g)
{
  int outputs = g->trans ? g->n : g->m;
  if (attn_parallel_threads () <= 1 || (double) g->m * g->n < GEMV_SPLIT_FLOATS)
    gemv_range (g, 0, outputs);
  else
    attn_parallel_range (outputs, SPLIT_ALIGN, gemv_range, g);
}

void
attn_sgemv (bool trans, int m, int n, float alpha, const float *a, int lda,
            const float *x, float beta, float *y)
{
  GemvSplit g = { trans, own_gemv (), m, n, lda, alpha, beta, a, x, NULL, y,
    NULL
  };
  gemv_split (&g);
}

void
attn_sgemv_pair (int m, int n, const float *a, int lda, const float *x0,
                 const float *x1, float beta, float *y0, float *y1)
{
  GemvSplit g = { false, own_gemv (), m, n, lda, 1.0f, beta, a, x0, x1, y0,
    y1
  };
  gemv_split (&g);
}
