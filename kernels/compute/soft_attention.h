/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* soft_attention.h — encoder–decoder soft attention over L annotation vectors.
 * Both variants return the context AND the attention weights α. Row-major
 * flat arrays; the caller owns every buffer, nothing is allocated; outputs
 * and workspace must not overlap the inputs, and their previous contents are
 * never read. Sizes are >= 1 (caller's guarantee). */
#ifndef ATTN_SOFT_ATTENTION_H
#define ATTN_SOFT_ATTENTION_H

#include <stddef.h>

/* Floats of work attn_additive_attention needs: L·Da + Da. */
size_t attn_additive_attention_workspace (int l, int da);

/* Additive (Bahdanau / Show-Attend-Tell):
 *   e_i = vᵀ tanh(Wa a_i + Wh h + b), α = softmax(e), ctx = Σ_i α_i a_i.
 * ctx (D), alpha (L); a (L,D), h (Dh), wa (Da,D), wh (Da,Dh), b (Da, or NULL
 * for no bias), v (Da). work: attn_additive_attention_workspace floats. */
void attn_additive_attention (float *ctx, float *alpha, const float *a,
                              const float *h, const float *wa, const float *wh,
                              const float *b, const float *v, float *work,
                              int l, int d, int dh, int da);

/* Scaled dot-product: alpha (Lq,Lk) = softmax_row(q kᵀ / √D);
 * out (Lq,Dv) = alpha · val. q (Lq,D), k (Lk,D), val (Lk,Dv). No workspace:
 * alpha holds the scores before the softmax. */
void attn_sdp_attention (float *out, float *alpha, const float *q,
                         const float *k, const float *val, int lq, int lk,
                         int d, int dv);

#endif
