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

/* y (m) = alpha · op(a) · x + beta · y; a (m,n) row-major, op(a) = aᵀ if trans. */
void attn_sgemv(bool trans, int m, int n, float alpha, const float *a, int lda,
                const float *x, float beta, float *y);

#endif
