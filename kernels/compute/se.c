/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* se.c — Squeeze-and-Excitation gate and channel reweighting. */
#include "se.h"

#include <stddef.h>

#include "cbam.h"
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
  /* CBAM's apply with no spatial map is the same pass */
  attn_cbam_apply (out, in, s, NULL, identity, c, hw, act);
}
