/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cbam.c — CBAM channel gate, spatial gate and the fused apply. */
#include "cbam.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "cpu.h"
#include "gate-private.h"
#include "linear.h"
#include "pool.h"

int
attn_cbam_channel_workspace (int c, int hidden)
{
  return 2 * c + 2 * hidden;
}

void
attn_cbam_channel_gate_pooled (float *mc, const float *avg, const float *max,
                               const float *w1, const float *b1,
                               const float *w2, const float *b2, float *work,
                               int c, int hidden)
{
  /* MLP(avg) + MLP(max) = W2·(relu(W1·avg + b1) + relu(W1·max + b1)) + 2·b2:
   * the second layer is linear, so one GEMV serves both branches. */
  float *ha = work, *hm = work + hidden;
  attn_linear (ha, avg, w1, b1, 1, c, hidden);
  attn_linear (hm, max, w1, b1, 1, c, hidden);
  for (int i = 0; i < hidden; i++)
    ha[i] = (ha[i] > 0.0f ? ha[i] : 0.0f) + (hm[i] > 0.0f ? hm[i] : 0.0f);
  attn_linear (mc, ha, w2, NULL, 1, hidden, c);
  for (int i = 0; i < c; i++)
    mc[i] += b2 ? 2.0f * b2[i] : 0.0f;
  attn_sigmoid (mc, mc, (size_t) c);
}

void
attn_cbam_channel_gate (float *mc, const float *in, const float *w1,
                        const float *b1, const float *w2, const float *b2,
                        float *work, int c, int hidden, int hw)
{
  float *avg = work + 2 * hidden, *max = avg + c;
  attn_global_avgpool (avg, in, c, hw);
  attn_global_maxpool (max, in, c, hw);
  attn_cbam_channel_gate_pooled (mc, avg, max, w1, b1, w2, b2, work, c,
                                 hidden);
}

void
attn_cbam_spatial_gate (float *ms, const float *in, const float *mc,
                        const float *w, float bias, float *work, int c, int h,
                        int wd, int k)
{
  size_t hw = (size_t) h * wd;
  float *pmax = work, *pmean = work + hw;

  /* P = [max_c F', mean_c F'] with F' = mc[c]·F, one pass over F, in the
   * variant this CPU runs */
  switch (attn_cpu_isa ()) {
#ifdef ATTN_HAVE_ISA_VARIANTS
    case ATTN_ISA_AVX512:
      gate_pools_avx512 (pmax, pmean, in, mc, c, (int) hw);
      break;
    case ATTN_ISA_AVX2:
      gate_pools_avx2 (pmax, pmean, in, mc, c, (int) hw);
      break;
#endif
    default:
      gate_pools_generic (pmax, pmean, in, mc, c, (int) hw);
      break;
  }

  /* ms = σ(conv_k×k(P) + bias), zero padding k/2; accumulated tap by tap so
   * the inner loop runs along contiguous rows */
  int pad = k / 2;
  for (size_t i = 0; i < hw; i++)
    ms[i] = bias;
  for (int ch = 0; ch < 2; ch++) {
    const float *pl = ch == 0 ? pmax : pmean;
    for (int ky = 0; ky < k; ky++)
      for (int kx = 0; kx < k; kx++) {
        float wv = w[(ch * k + ky) * k + kx];
        int dy = ky - pad, dx = kx - pad;
        int x0 = dx < 0 ? -dx : 0, x1 = dx > 0 ? wd - dx : wd;
        for (int oy = 0; oy < h; oy++) {
          int iy = oy + dy;
          if (iy < 0 || iy >= h)
            continue;
          float *restrict dst = ms + (size_t) oy * wd;
          const float *restrict src = pl + (size_t) iy * wd + dx;
          for (int ox = x0; ox < x1; ox++)
            dst[ox] += wv * src[ox];
        }
      }
  }
  attn_sigmoid (ms, ms, hw);
}

void
attn_cbam_apply (float *out, const float *in, const float *mc, const float *ms,
                 const float *identity, int c, int hw, AttnAct act)
{
  switch (attn_cpu_isa ()) {
#ifdef ATTN_HAVE_ISA_VARIANTS
    case ATTN_ISA_AVX512:
      gate_apply_avx512 (out, in, mc, ms, identity, c, hw, act);
      break;
    case ATTN_ISA_AVX2:
      gate_apply_avx2 (out, in, mc, ms, identity, c, hw, act);
      break;
#endif
    default:
      gate_apply_generic (out, in, mc, ms, identity, c, hw, act);
      break;
  }
}
