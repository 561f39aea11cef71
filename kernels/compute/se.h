/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* se.h — Squeeze-and-Excitation channel attention (Hu et al.).
 * z = mean_hw U; s = σ(W2·relu(W1·z + b1) + b2); Ũ = s[c]·U. One image. */
#ifndef ATTN_SE_H
#define ATTN_SE_H

#include "activation.h"

/* Floats of work attn_se_gate* needs. */
int attn_se_workspace (int c, int hidden);

/* s (C) from the pooled vector z (C). w1 (Hd,C), b1 (Hd), w2 (C,Hd), b2 (C);
 * biases may be NULL. work: attn_se_workspace floats. */
void attn_se_gate_pooled (float *s, const float *z, const float *w1,
                          const float *b1, const float *w2, const float *b2,
                          float *work, int c, int hidden);

/* s (C) from the feature map in (C,HW): squeeze, then attn_se_gate_pooled. */
void attn_se_gate (float *s, const float *in, const float *w1, const float *b1,
                   const float *w2, const float *b2, float *work, int c,
                   int hidden, int hw);

/* out (C,HW) = act(in·s[c] + identity); identity (C,HW) or NULL; out may
 * alias in (not identity). */
void attn_scale_channels (float *out, const float *in, const float *s,
                          const float *identity, int c, int hw, AttnAct act);

#endif
