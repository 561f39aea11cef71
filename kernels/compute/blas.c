/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* blas.c — thin wrapper over OpenBLAS' CBLAS interface. */
#include "blas.h"

#include <cblas.h>

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

void
attn_sgemm (bool trans_a, bool trans_b, int m, int n, int k, float alpha,
            const float *a, int lda, const float *b, int ldb, float beta,
            float *c, int ldc)
{
  cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
               trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b,
               ldb, beta, c, ldc);
}

void
attn_sgemv (bool trans, int m, int n, float alpha, const float *a, int lda,
            const float *x, float beta, float *y)
{
  cblas_sgemv (CblasRowMajor, trans ? CblasTrans : CblasNoTrans, m, n, alpha,
               a, lda, x, 1, beta, y, 1);
}
