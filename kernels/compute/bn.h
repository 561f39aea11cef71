/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bn.h — folding BatchNorm (inference mode) into the preceding convolution. */
#ifndef ATTN_BN_H
#define ATTN_BN_H

/* y = γ(x − μ)/√(σ²+ε) + β folded into conv: for each output channel c,
 * s = γ[c]/√(var[c]+ε); weight[c,:] *= s; bias[c] = (bias[c] − μ[c])·s + β[c].
 * weight (C_out, per_out) and bias (C_out) are updated in place; bias must be
 * initialised by the caller (zeros for a conv without bias). */
void attn_bn_fold (float *weight, float *bias, const float *gamma,
                   const float *beta, const float *mean, const float *var,
                   float eps, int c_out, int per_out);

#endif
