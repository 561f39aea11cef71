/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* linear.c — y = x·Wᵀ + b through blas.h's products. */
#include "linear.h"

#include <string.h>

#include "blas.h"

void
attn_linear (float *out, const float *in, const float *weight,
             const float *bias, int n, int k, int m)
{
  for (int i = 0; bias && i < n; i++)
    memcpy (out + (size_t) i * m, bias, sizeof (float) * m);
  float beta = bias ? 1.0f : 0.0f;
  if (n == 1)
    /* out (M) = W (M,K) · in (K) + beta·out */
    attn_sgemv (false, m, k, 1.0f, weight, k, in, beta, out);
  else
    /* out (N,M) = in (N,K) · W (M,K)ᵀ + beta·out */
    attn_sgemm (false, true, n, m, k, 1.0f, in, k, weight, k, beta, out, m);
}

void
attn_linear_pair (float *out0, float *out1, const float *in0,
                  const float *in1, const float *weight, const float *bias,
                  int k, int m)
{
  if (bias) {
    memcpy (out0, bias, sizeof (float) * m);
    memcpy (out1, bias, sizeof (float) * m);
  }
  attn_sgemv_pair (m, k, weight, k, in0, in1, bias ? 1.0f : 0.0f, out0, out1);
}
