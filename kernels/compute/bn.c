/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bn.c — BatchNorm folding. */
#include "bn.h"

#include <math.h>
#include <stddef.h>

void
attn_bn_fold (float *weight, float *bias, const float *gamma,
              const float *beta, const float *mean, const float *var,
              float eps, int c_out, int per_out)
{
  for (int c = 0; c < c_out; c++) {
    /* in double: var + eps can be tiny, and the fold must not lose bits the
     * unfolded PyTorch path keeps */
    double s = (double) gamma[c] / sqrt ((double) var[c] + (double) eps);
    float *wc = weight + (size_t) c * per_out;
    for (int i = 0; i < per_out; i++)
      wc[i] = (float) (wc[i] * s);
    bias[c] = (float) (((double) bias[c] - mean[c]) * s + beta[c]);
  }
}
