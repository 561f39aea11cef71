/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* linear.h — fully connected layer, PyTorch's Linear: y = x·Wᵀ + b. */
#ifndef ATTN_LINEAR_H
#define ATTN_LINEAR_H

/* out (N,M) = in (N,K) · weight (M,K)ᵀ + bias (M, or NULL).
 * N = 1 → sgemv (OpenBLAS does not turn an N=1 GEMM into a GEMV). */
void attn_linear (float *out, const float *in, const float *weight,
                  const float *bias, int n, int k, int m);
/* out0 (M) and out1 (M) from in0 (K) and in1 (K) through the same layer,
 * its weight read once for both (the CBAM channel gate's two pools); each
 * the same floats as attn_linear with N = 1 gives. */
void attn_linear_pair (float *out0, float *out1, const float *in0,
                       const float *in1, const float *weight,
                       const float *bias, int k, int m);

#endif
