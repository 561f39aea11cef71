/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* blas.h — the one place that calls into BLAS.
 *
 * Row-major single-precision GEMM/GEMV. OpenBLAS's own thread count is
 * process-wide: parallel.c sets it to 1 and splits large products over the
 * process's thread budget instead (attn_parallel_threads() threads for the
 * calling thread). Nothing else in the project includes <cblas.h>. */
#ifndef ATTN_BLAS_H
#define ATTN_BLAS_H

#include <stdbool.h>

/* Sets the number of threads OpenBLAS itself may use (process-wide; the
 * thread pool keeps it at 1). n >= 1. */
void attn_blas_set_threads(int n);
/* The number of threads BLAS currently uses. */
int attn_blas_get_threads(void);

/* c (m,n) = alpha · op(a) · op(b) + beta · c, row-major; op(a) (m,k), op(b) (k,n). */
void attn_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                const float *a, int lda, const float *b, int ldb, float beta,
                float *c, int ldc);

/* What attn_sgemm_store does to each element c[i][j] of the product as it
 * stores it: + (bias[i] + res[i·ldr + j]) (either NULL: 0), then ReLU if
 * relu — rounded as conv.h's epilogue rounds it. res may not alias c. */
typedef struct {
  const float *bias;
  const float *res;
  int ldr;
  bool relu;
  /* Either or both may be non-NULL (attn_sgemm_store only): sum[i] and
   * max[i] are set to the sum and the max of row i's stored values (the
   * CBAM/SE channel pools, taken while the row is in registers; the sum in
   * an order of its own). */
  float *sum, *max;
} AttnGemmStore;

/* The store's steps on n values of one row: c[j] + (bias + res[j]) (res
 * NULL: + bias), then ReLU if relu; for passes that finish a product
 * themselves (after OpenBLAS's, split-K's sums, Winograd's output
 * transform). res may not alias c. */
void attn_gemm_store_row (float *c, const float *res, float bias, bool relu,
                          int n);

/* c (m,n) = a (m,k) · b (k,n), then `st` (NULL: nothing) on every element:
 * in the store itself where our kernel runs (one pass over c, not two),
 * else as a pass over c after OpenBLAS's product. */
void attn_sgemm_store (int m, int n, int k, const float *a, int lda,
                       const float *b, int ldb, float *c, int ldc,
                       const AttnGemmStore *st);

/* Which kernel runs attn_sgemm's untransposed products (every
 * convolution's): AUTO (the default) is our own kernel for the instruction
 * set attn_cpu_isa() allows (AVX-512, or AVX2 with FMA), OpenBLAS on the
 * generic path; BLAS forces OpenBLAS, OWN asks for ours (the same as AUTO).
 * ATTN_GEMM=blas|own in the environment (read once) or attn_gemm_set_kernel
 * (tests, benchmarks) overrides AUTO. Process-wide. */
typedef enum {
  ATTN_GEMM_AUTO,
  ATTN_GEMM_BLAS,
  ATTN_GEMM_OWN
} AttnGemmKernel;

void attn_gemm_set_kernel (AttnGemmKernel kernel);
/* "avx512" or "avx2" when our kernel for that instruction set runs
 * untransposed products now, else "openblas". */
const char *attn_gemm_kernel_name (void);

/* The FMA peak of one thread in GFLOPS at the widest vectors attn_cpu_isa()
 * allows (0 on the generic build), measured over about `seconds`. */
double attn_fma_peak_gflops (double seconds);
/* The same for AVX512-BF16's dot products (two bf16 products per lane,
 * summed in FP32), where attn_cpu_isa() is AVX-512 and the CPU has them;
 * else 0. What a reduced-precision path's products could reach at best. */
double attn_bf16_peak_gflops (double seconds);

/* y (m) = alpha · op(a) · x + beta · y; a (m,n) row-major, op(a) = aᵀ if
 * trans. Untransposed: our kernel (gemv_isa.c) in the variant attn_cpu_isa()
 * names, generic included, unless attn_gemm_set_kernel or ATTN_GEMM asks
 * for OpenBLAS; transposed: OpenBLAS. */
void attn_sgemv(bool trans, int m, int n, float alpha, const float *a, int lda,
                const float *x, float beta, float *y);
/* y0 = a·x0 + beta·y0 and y1 = a·x1 + beta·y1, a (m,n) row-major read once
 * for both (ATTN_GEMM=blas: two OpenBLAS calls). */
void attn_sgemv_pair (int m, int n, const float *a, int lda, const float *x0,
                      const float *x1, float beta, float *y0, float *y1);

#endif
