/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gemm-private.h — the per-instruction-set functions of gemm_isa.c and
 * gemv_isa.c, for blas.c (which chooses between them and OpenBLAS) only. */
#ifndef ATTN_GEMM_PRIVATE_H
#define ATTN_GEMM_PRIVATE_H

#include <stddef.h>

/* GFLOPS of one thread's vector multiply-adds over about `seconds`. */
double gemm_peak_avx2 (double seconds);
double gemm_peak_avx512 (double seconds);
/* GFLOPS of one thread's AVX512-BF16 dot products (bf16 products summed in
 * FP32); call only where the CPU has AVX512-BF16. */
double gemm_bf16_peak_avx512 (double seconds);

#include "blas.h"

/* c (m,n) = alpha · a (m,k) · b (k,n) + beta · c, row-major, one thread,
 * k >= 1;
 * beta 0 never reads c. st (or NULL) is applied to the result as it is
 * stored: + bias[i], + res[i·ldr + j], ReLU. */
void gemm_nn_avx512 (int m, int n, int k, float alpha, const float *a,
                     int lda, const float *b, int ldb, float beta, float *c,
                     int ldc, const AttnGemmStore *st);
void gemm_nn_avx2 (int m, int n, int k, float alpha, const float *a,
                   int lda, const float *b, int ldb, float beta, float *c,
                   int ldc, const AttnGemmStore *st);

/* gemv_isa.c: y0 (m) = alpha · a (m,k) · x0 + beta · y0, a row-major with
 * rows lda floats apart, one thread; with x1 (else NULL) also y1 from x1,
 * a read once for both. beta 0 never reads y. Every variant, and every
 * split of the rows, gives the same floats. */
#define GEMV_ROWS(isa) \
  void gemv_rows_##isa (int m, int k, float alpha, const float *a, \
                        size_t lda, const float *x0, const float *x1, \
                        float beta, float *y0, float *y1)

GEMV_ROWS (generic);
#ifdef ATTN_HAVE_ISA_VARIANTS
GEMV_ROWS (avx2);
GEMV_ROWS (avx512);
#endif

#endif
