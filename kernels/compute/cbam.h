/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cbam.h — CBAM (Woo et al.), official-code conventions. One image.
 *   Mc = σ(MLP(avg_hw F) + MLP(max_hw F)), MLP = Linear(C,Hd)→ReLU→Linear(Hd,C)
 *   F' = Mc ⊙ F;  P = [max_c F', mean_c F'] (channel 0 is the MAX)
 *   Ms = σ(conv_k×k(P) + b), 2→1 channels, pad k/2, BatchNorm folded into (w, b)
 *   out = act(F·Mc[c]·Ms[h,w] + identity)  — one pass, F' never materialised. */
#ifndef ATTN_CBAM_H
#define ATTN_CBAM_H

#include "activation.h"

/* Floats of work attn_cbam_channel_gate* needs. */
int attn_cbam_channel_workspace (int c, int hidden);

/* mc (C) from pooled avg (C) and max (C). w1 (Hd,C), b1 (Hd), w2 (C,Hd),
 * b2 (C); work: attn_cbam_channel_workspace floats. */
void attn_cbam_channel_gate_pooled (float *mc, const float *avg,
                                    const float *max, const float *w1,
                                    const float *b1, const float *w2,
                                    const float *b2, float *work, int c,
                                    int hidden);

/* mc (C) from F (C,HW): both pools, then attn_cbam_channel_gate_pooled. */
void attn_cbam_channel_gate (float *mc, const float *in, const float *w1,
                             const float *b1, const float *w2, const float *b2,
                             float *work, int c, int hidden, int hw);

/* ms (H,W) from F (C,H,W) scaled by mc (C, or NULL for none). w (1,2,k,k) and
 * bias: the gate's conv with its BatchNorm folded. work: 2·H·W floats (the
 * pooled P, left there: channel 0 max, channel 1 mean). k odd. */
void attn_cbam_spatial_gate (float *ms, const float *in, const float *mc,
                             const float *w, float bias, float *work, int c,
                             int h, int wd, int k);

/* The second half of attn_cbam_spatial_gate: ms (H,W) from the pooled P
 * already taken (pmax, pmean: H·W each, e.g. from a blocked map). */
void attn_cbam_spatial_pooled (float *ms, const float *pmax,
                               const float *pmean, const float *w, float bias,
                               int h, int wd, int k);

/* out (C,HW) = act(in·mc[c]·ms[hw] + identity); mc or ms may be NULL (= 1);
 * identity (C,HW) or NULL. out may alias in (not identity). */
void attn_cbam_apply (float *out, const float *in, const float *mc,
                      const float *ms, const float *identity, int c, int hw,
                      AttnAct act);

#endif
