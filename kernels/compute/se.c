/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* se.c — Squeeze-and-Excitation gate and channel reweighting. */
#include "se.h"

#include <stddef.h>

#include "linear.h"
#include "pool.h"

int
attn_se_workspace (int c, int hidden)
{
  return c + hidden;
}

void
attn_se_gate_pooled (float *s, const float *z, const float *w1,
                     const float *b1, const float *w2, const float *b2,
                     float *work, int c, int hidden)
{
  float *hid = work;                            /* (Hd) */
  attn_linear (hid, z, w1, b1, 1, c, hidden);   /* W1·z + b1 */
  attn_relu (hid, hid, (size_t) hidden);
  attn_linear (s, hid, w2, b2, 1, hidden, c);   /* W2·h + b2 */
  attn_sigmoid (s, s, (size_t) c);
}

void
attn_se_gate (float *s, const float *in, const float *w1, const float *b1,
              const float *w2, const float *b2, float *work, int c, int hidden,
              int hw)
{
  float *z = work + hidden;                     /* (C) */
  attn_global_avgpool (z, in, c, hw);
  attn_se_gate_pooled (s, z, w1, b1, w2, b2, work, c, hidden);
}

void
attn_scale_channels (float *out, const float *in, const float *s,
                     const float *identity, int c, int hw, AttnAct act)
{
  for (int ci = 0; ci < c; ci++) {
    const float *x = in + (size_t) ci * hw;
    const float *id = identity ? identity + (size_t) ci * hw : NULL;
    float *y = out + (size_t) ci * hw;
    float sc = s[ci];
    if (id)
      for (int i = 0; i < hw; i++)
        y[i] = x[i] * sc + id[i];
    else
      for (int i = 0; i < hw; i++)
        y[i] = x[i] * sc;
    attn_activate (y, (size_t) hw, act);
  }
}
