/* soft_attention.c — additive and scaled dot-product attention. */
#include "soft_attention.h"

#include <math.h>
#include <string.h>

#include "activation.h"
#include "blas.h"

size_t
attn_additive_attention_workspace (int l, int da)
{
  return (size_t) l * da + (size_t) da;
}

void
attn_additive_attention (float *ctx, float *alpha, const float *a,
                         const float *h, const float *wa, const float *wh,
                         const float *b, const float *v, float *work, int l,
                         int d, int dh, int da)
{
  float *proj = work;                       /* (L, Da) = a · Waᵀ */
  float *q = work + (size_t) l * da;        /* (Da) = Wh·h + b */
  if (b)
    memcpy (q, b, sizeof (float) * da);
  attn_sgemv (false, da, dh, 1.0f, wh, dh, h, b ? 1.0f : 0.0f, q);
  attn_sgemm (false, true, l, da, d, 1.0f, a, d, wa, d, 0.0f, proj, da);
  /* e_i = vᵀ tanh(proj_i + q) */
  for (int i = 0; i < l; i++) {
    const float *p = proj + (size_t) i * da;
    float e = 0.0f;
    for (int j = 0; j < da; j++)
      e += v[j] * tanhf (p[j] + q[j]);
    alpha[i] = e;
  }
  attn_softmax (alpha, alpha, (size_t) l);
  /* ctx = αᵀ · a */
  attn_sgemv (true, l, d, 1.0f, a, d, alpha, 0.0f, ctx);
}

void
attn_sdp_attention (float *out, float *alpha, const float *q, const float *k,
                    const float *val, int lq, int lk, int d, int dv)
{
  /* alpha = q·kᵀ/√D, softmax per row, out = alpha·val */
  attn_sgemm (false, true, lq, lk, d, 1.0f / sqrtf ((float) d), q, d, k, d,
              0.0f, alpha, lk);
  for (int i = 0; i < lq; i++)
    attn_softmax (alpha + (size_t) i * lk, alpha + (size_t) i * lk,
                  (size_t) lk);
  attn_sgemm (false, false, lq, dv, lk, 1.0f, alpha, lk, val, dv, 0.0f, out,
              dv);
}
