/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* soft_attention.c — additive and scaled dot-product attention. */
#include "soft_attention.h"

#include <math.h>
#include <string.h>

#include "activation.h"
#include "blas.h"

size_t
attn_additive_attention_workspace (int l, int da)
{
  /* proj (L,Da) + q (Da) */
  return (size_t) l * da + (size_t) da;
}

void
attn_additive_attention (float *ctx, float *alpha, const float *a,
                         const float *h, const float *wa, const float *wh,
                         const float *b, const float *v, float *work, int l,
                         int d, int dh, int da)
{
  float *proj = work;                       /* (L,Da) = a · Waᵀ */
  float *q = work + (size_t) l * da;        /* (Da) = Wh·h + b */

  /* q starts as b (or 0) and BLAS accumulates onto it (beta = 1), so the
   * result never depends on what the workspace held */
  if (b)
    memcpy (q, b, sizeof (float) * (size_t) da);
  else
    memset (q, 0, sizeof (float) * (size_t) da);
  attn_sgemv (false, da, dh, 1.0f, wh, dh, h, 1.0f, q);
  attn_sgemm (false, true, l, da, d, 1.0f, a, d, wa, d, 0.0f, proj, da);

  /* e_i = vᵀ tanh(proj_i + q) */
  for (int i = 0; i < l; i++) {
    const float *p = proj + (size_t) i * da;
    float e = 0.0f;
    for (int j = 0; j < da; j++)
      e += v[j] * tanhf (p[j] + q[j]);
    alpha[i] = e;
  }
  /* α = softmax(e): subtracts max(e), so large |e| cannot overflow */
  attn_softmax (alpha, alpha, (size_t) l);

  /* ctx (D) = aᵀ · α = Σ_i α_i a_i */
  memset (ctx, 0, sizeof (float) * (size_t) d);
  attn_sgemv (true, l, d, 1.0f, a, d, alpha, 1.0f, ctx);
}

void
attn_sdp_attention (float *out, float *alpha, const float *q, const float *k,
                    const float *val, int lq, int lk, int d, int dv)
{
  /* alpha (Lq,Lk) = q·kᵀ/√D, then softmax over each row */
  attn_sgemm (false, true, lq, lk, d, 1.0f / sqrtf ((float) d), q, d, k, d,
              0.0f, alpha, lk);
  for (int i = 0; i < lq; i++) {
    float *row = alpha + (size_t) i * lk;
    attn_softmax (row, row, (size_t) lk);
  }
  /* out (Lq,Dv) = alpha · val */
  attn_sgemm (false, false, lq, dv, lk, 1.0f, alpha, lk, val, dv, 0.0f, out,
              dv);
}
