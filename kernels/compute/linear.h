/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* linear.h — fully connected layer, PyTorch's Linear: y = x·Wᵀ + b. */
#ifndef ATTN_LINEAR_H
#define ATTN_LINEAR_H

/* out (N,M) = in (N,K) · weight (M,K)ᵀ + bias (M, or NULL).
 * N = 1 → sgemv (OpenBLAS does not turn an N=1 GEMM into a GEMV). */
void attn_linear (float *out, const float *in, const float *weight,
                  const float *bias, int n, int k, int m);

#endif
