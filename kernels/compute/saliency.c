/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* saliency.c — ||∂H/∂c||₂ per position, c the last residual block's input.
 *
 * Forward of that block (network.c), F its pre-gate residual branch:
 *   basic:      t1 = relu(conv1(x)),  F = conv2(t1)
 *   bottleneck: t1 = relu(conv1(x)),  t2 = relu(conv2(t1)),  F = conv3(t2)
 *   id = x or down(x) (1×1 conv);  y = relu(pre),  pre = gate(F) + id
 *   none: gate(F) = F;  SE: F·s[c];  CBAM: f1 = F·Mc[c], f1·Ms[ij]
 * then feat = mean_ij y, z = Wfc·feat + b, H = −Σ p log p.
 * The backward below reads x, t1, t2, id, y, Mc/s and Ms from the forward's
 * buffers (attn_net_last_block) and recomputes F (overwritten in place by
 * the gate) into its own workspace with the block's last convolution. */
#include "saliency.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "conv.h"
#include "linear.h"

#define MAX(a, b) ((a) > (b) ? (a) : (b))

struct AttnSaliency {
  const AttnNet *net;        /* borrowed: the net planned for */
  const AttnBlock *b;        /* its last block */
  bool bottleneck;
  int c_in, h_in, w_in;      /* block input x = c */
  int c1, h_mid, w_mid;      /* conv1 output */
  int c2;                    /* bottleneck conv2 output (at h×w) */
  int c, h, w;               /* block output */
  const AttnConvLayer *last; /* conv2 (basic) or conv3 (bottleneck) */
  int last_h, last_w;        /* its input size */
  int classes;
  float *arena;
  float *f;                  /* (C, HW) recomputed F */
  float *dpre;               /* (C, HW) ∂H/∂pre (= ∂H/∂id) */
  float *df;                 /* (C, HW) ∂H/∂F */
  float *dt2;                /* (C2, HW) bottleneck */
  float *dt1;                /* (C1, h_mid·w_mid) */
  float *dx;                 /* (C_in, h_in·w_in) */
  float *ws;                 /* convolution workspace */
  float *dz;                 /* (classes) */
  float *dfeat;              /* (C) */
  float *avg, *max;          /* (C) pools of F */
  float *ha, *hm;            /* (hidden) the gate MLP's pre-ReLU activations */
  float *dh, *dha, *dhm;     /* (hidden) */
  float *dg;                 /* (C) ∂H/∂(gate logits) */
  float *dpool;              /* (C) ∂H/∂avg, then ∂H/∂max */
  float *dms;                /* (HW) ∂H/∂(Ms logits) */
  float *dp;                 /* (2, HW) ∂H/∂[max_c f1, mean_c f1] */
  int *arg_hw;               /* (C) first position of max_ij F[c] */
  int *arg_c;                /* (HW) first channel of max_c f1[:, ij] */
};

static bool
is_plain_1x1 (const AttnConv2d *p)
{
  return p->kh == 1 && p->kw == 1 && p->pad_h == 0 && p->pad_w == 0
      && p->groups == 1;
}

/* The block kinds the backward below implements; false with a message. */
static bool
check_block (const AttnModel *m, const AttnBlock *b, const AttnBlockTaps *t,
             char *err, size_t errlen)
{
  if (m->block_type != ATTN_BLOCK_BASIC
      && m->block_type != ATTN_BLOCK_BOTTLENECK) {
    snprintf (err, errlen, "%s: saliency: block %s is of type %d; only basic "
              "and bottleneck blocks are supported", m->path, b->name,
              (int) m->block_type);
    return false;
  }
  if (b->gate != ATTN_GATE_NONE && b->gate != ATTN_GATE_SE
      && b->gate != ATTN_GATE_CBAM) {
    snprintf (err, errlen, "%s: saliency: block %s has attention gate type "
              "%d; only none, SE and CBAM are supported", m->path, b->name,
              (int) b->gate);
    return false;
  }
  if (b->gate == ATTN_GATE_CBAM && (b->sp_k < 1 || b->sp_k % 2 == 0)) {
    snprintf (err, errlen, "%s: saliency: block %s has a %d×%d CBAM spatial "
              "kernel; an odd size is needed", m->path, b->name, b->sp_k,
              b->sp_k);
    return false;
  }
  if (b->gate != ATTN_GATE_NONE && (b->hidden < 1 || !b->w1 || !b->w2)) {
    snprintf (err, errlen, "%s: saliency: block %s has a gate without its "
              "MLP", m->path, b->name);
    return false;
  }
  if (b->has_down) {
    const AttnConv2d *d = &b->down.p;
    if (!is_plain_1x1 (d) || d->dil_h != 1 || d->dil_w != 1) {
      snprintf (err, errlen, "%s: saliency: the shortcut of block %s is a "
                "%d×%d convolution (padding %d×%d, groups %d); only a 1×1 "
                "unpadded convolution shortcut (any stride) is supported",
                m->path, b->name, d->kh, d->kw, d->pad_h, d->pad_w, d->groups);
      return false;
    }
  } else if (b->c_in != b->c_out || t->h_in != t->h || t->w_in != t->w) {
    snprintf (err, errlen, "%s: saliency: block %s maps (%d, %d, %d) to "
              "(%d, %d, %d) without a downsample; its shortcut cannot be the "
              "identity", m->path, b->name, b->c_in, t->h_in, t->w_in,
              b->c_out, t->h, t->w);
    return false;
  }
  if (m->c_last != b->c_out) {
    snprintf (err, errlen, "%s: saliency: the classifier takes %d features "
              "but the last block %s gives %d", m->path, m->c_last, b->name,
              b->c_out);
    return false;
  }
  return true;
}

AttnSaliency *
attn_saliency_new (const AttnNet *net, char *err, size_t errlen)
{
  if (!net) {
    snprintf (err, errlen, "saliency: no network");
    return NULL;
  }
  const AttnModel *m = attn_net_model (net);
  if (m->n_blocks < 1) {
    snprintf (err, errlen, "%s: saliency: the network has no residual block",
              m->path);
    return NULL;
  }
  AttnBlockTaps t;
  attn_net_last_block (net, &t);
  const AttnBlock *b = t.block;
  if (!check_block (m, b, &t, err, errlen))
    return NULL;

  AttnSaliency *s = calloc (1, sizeof *s);
  if (!s) {
    snprintf (err, errlen, "%s: saliency: out of memory", m->path);
    return NULL;
  }
  s->net = net;
  s->b = b;
  s->bottleneck = m->block_type == ATTN_BLOCK_BOTTLENECK;
  s->c_in = b->c_in;
  s->h_in = t.h_in;
  s->w_in = t.w_in;
  s->c1 = b->conv1.p.c_out;
  s->h_mid = t.h_mid;
  s->w_mid = t.w_mid;
  s->c2 = s->bottleneck ? b->conv2.p.c_out : 0;
  s->c = b->c_out;
  s->h = t.h;
  s->w = t.w;
  s->classes = m->num_classes;
  s->last = s->bottleneck ? &b->conv3 : &b->conv2;
  s->last_h = s->bottleneck ? t.h : t.h_mid;    /* conv3 runs at h×w */
  s->last_w = s->bottleneck ? t.w : t.w_mid;
  assert (!s->bottleneck
          || (attn_conv_out_dim (t.h_mid, b->conv2.p.kh, b->conv2.p.stride_h,
                                 b->conv2.p.pad_h, b->conv2.p.dil_h) == t.h
              && attn_conv_out_dim (t.w_mid, b->conv2.p.kw,
                                    b->conv2.p.stride_w, b->conv2.p.pad_w,
                                    b->conv2.p.dil_w) == t.w));

  size_t hw = (size_t) s->h * s->w, hw_mid = (size_t) s->h_mid * s->w_mid;
  size_t hw_in = (size_t) s->h_in * s->w_in;
  size_t ws = attn_conv2d_workspace (&s->last->p, s->last_h, s->last_w);
  ws = MAX (ws, attn_conv2d_backward_workspace (&s->last->p, s->last_h,
                                                s->last_w));
  ws = MAX (ws, attn_conv2d_backward_workspace (&b->conv1.p, s->h_in,
                                                s->w_in));
  if (s->bottleneck)
    ws = MAX (ws, attn_conv2d_backward_workspace (&b->conv2.p, s->h_mid,
                                                  s->w_mid));
  if (b->has_down)
    ws = MAX (ws, attn_conv2d_backward_workspace (&b->down.p, s->h_in,
                                                  s->w_in));
  size_t hidden = b->gate != ATTN_GATE_NONE ? (size_t) b->hidden : 1;
  size_t sizes[] = {
    3 * (size_t) s->c * hw,                /* f, dpre, df */
    (size_t) s->c2 * hw, (size_t) s->c1 * hw_mid, (size_t) s->c_in * hw_in,
    ws, (size_t) s->classes, 5 * (size_t) s->c, 5 * hidden, 3 * hw,
  };
  size_t total = 0;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    total += sizes[i];
  s->arena = malloc (total * sizeof (float));
  s->arg_hw = malloc ((size_t) s->c * sizeof (int));
  s->arg_c = malloc (hw * sizeof (int));
  if (!s->arena || !s->arg_hw || !s->arg_c) {
    snprintf (err, errlen, "%s: saliency: cannot allocate %zu KB", m->path,
              total * sizeof (float) >> 10);
    attn_saliency_free (s);
    return NULL;
  }
  float *p = s->arena;
#define TAKE(ptr, n) (ptr = p, p += (n))
  TAKE (s->f, (size_t) s->c * hw);
  TAKE (s->dpre, (size_t) s->c * hw);
  TAKE (s->df, (size_t) s->c * hw);
  TAKE (s->dt2, (size_t) s->c2 * hw);
  TAKE (s->dt1, (size_t) s->c1 * hw_mid);
  TAKE (s->dx, (size_t) s->c_in * hw_in);
  TAKE (s->ws, ws);
  TAKE (s->dz, (size_t) s->classes);
  TAKE (s->dfeat, (size_t) s->c);
  TAKE (s->avg, (size_t) s->c);
  TAKE (s->max, (size_t) s->c);
  TAKE (s->dg, (size_t) s->c);
  TAKE (s->dpool, (size_t) s->c);
  TAKE (s->ha, hidden);
  TAKE (s->hm, hidden);
  TAKE (s->dh, hidden);
  TAKE (s->dha, hidden);
  TAKE (s->dhm, hidden);
  TAKE (s->dms, hw);
  TAKE (s->dp, 2 * hw);
#undef TAKE
  assert ((size_t) (p - s->arena) == total);
  return s;
}

void
attn_saliency_free (AttnSaliency *s)
{
  if (!s)
    return;
  free (s->arena);
  free (s->arg_hw);
  free (s->arg_c);
  free (s);
}

void
attn_saliency_size (const AttnSaliency *s, int *height, int *width)
{
  *height = s->h_in;
  *width = s->w_in;
}

/* dz (K) = ∂H/∂z for H = −Σ p log p, p = softmax(z): −p_k (log p_k + H),
 * in double; a p_k that underflows to 0 contributes 0. */
static void
entropy_gradient (float *dz, const float *z, int k)
{
  double zmax = z[0];
  for (int i = 1; i < k; i++)
    zmax = z[i] > zmax ? z[i] : zmax;
  double sum = 0;
  for (int i = 0; i < k; i++)
    sum += exp ((double) z[i] - zmax);
  double lse = zmax + log (sum), ent = 0;
  for (int i = 0; i < k; i++) {
    double lp = (double) z[i] - lse, p = exp (lp);
    ent -= p > 0 ? p * lp : 0;
  }
  for (int i = 0; i < k; i++) {
    double lp = (double) z[i] - lse, p = exp (lp);
    dz[i] = p > 0 ? (float) (-p * (lp + ent)) : 0.0f;
  }
}

/* pools (C) of F (C,HW): mean, max and the first position of the max */
static void
pools (float *avg, float *max, int *arg, const float *f, int c, size_t hw)
{
  for (int ci = 0; ci < c; ci++) {
    const float *x = f + (size_t) ci * hw;
    float sum = 0.0f, best = x[0];
    int bi = 0;
    for (size_t i = 0; i < hw; i++) {
      sum += x[i];
      if (x[i] > best) {
        best = x[i];
        bi = (int) i;
      }
    }
    avg[ci] = sum / (float) hw;
    max[ci] = best;
    arg[ci] = bi;
  }
}

/* dpool (C) = W1ᵀ·(dh ⊙ [h > 0]) for the gate MLP's first layer;
 * w1 (Hd, C). */
static void
mlp1_backward (float *dpool, float *dmasked, const float *dh, const float *h,
               const float *w1, int c, int hidden)
{
  for (int j = 0; j < hidden; j++)
    dmasked[j] = h[j] > 0.0f ? dh[j] : 0.0f;
  attn_sgemv (true, hidden, c, 1.0f, w1, c, dmasked, 0.0f, dpool);
}

/* SE: pre = F·s[c] + id, s = σ(W2·relu(W1·mean F + b1) + b2). */
static void
se_backward (AttnSaliency *s, const float *sc)
{
  const AttnBlock *b = s->b;
  int c = s->c, hidden = b->hidden;
  size_t hw = (size_t) s->h * s->w;
  for (int ci = 0; ci < c; ci++) {
    const float *restrict f = s->f + ci * hw, *restrict d = s->dpre + ci * hw;
    float *restrict df = s->df + ci * hw;
    float ds = 0.0f;
    for (size_t i = 0; i < hw; i++) {
      ds += d[i] * f[i];
      df[i] = d[i] * sc[ci];
    }
    s->dg[ci] = ds * sc[ci] * (1.0f - sc[ci]);
  }
  pools (s->avg, s->max, s->arg_hw, s->f, c, hw);
  attn_linear (s->ha, s->avg, b->w1, b->b1, 1, c, hidden);
  attn_sgemv (true, c, hidden, 1.0f, b->w2, hidden, s->dg, 0.0f, s->dh);
  mlp1_backward (s->dpool, s->dha, s->dh, s->ha, b->w1, c, hidden);
  for (int ci = 0; ci < c; ci++) {
    float g = s->dpool[ci] / (float) hw;
    float *restrict df = s->df + ci * hw;
    for (size_t i = 0; i < hw; i++)
      df[i] += g;
  }
}

/* CBAM: f1 = F·Mc[c], P = [max_c f1, mean_c f1], Ms = σ(conv_k(P) + b),
 * pre = f1·Ms + id; Mc = σ(W2·(relu(W1·avg F + b1) + relu(W1·max F + b1))
 * + 2·b2). */
static void
cbam_backward (AttnSaliency *s, const float *mc, const float *ms)
{
  const AttnBlock *b = s->b;
  int c = s->c, hidden = b->hidden, h = s->h, wd = s->w, k = b->sp_k;
  size_t hw = (size_t) h * wd;
  float *dms = s->dms, *dpmax = s->dp, *dpmean = s->dp + hw;

  /* ∂H/∂Ms[ij] = Σ_c dpre·f1, and the arg-max channel of f1 (first on ties,
   * as attn_cbam_spatial_gate's strict '>' picks it) */
  for (size_t i = 0; i < hw; i++) {
    dms[i] = 0.0f;
    s->arg_c[i] = 0;
    dpmax[i] = s->f[i] * mc[0];   /* running max of f1 */
  }
  for (int ci = 0; ci < c; ci++) {
    const float *restrict f = s->f + ci * hw, *restrict d = s->dpre + ci * hw;
    float sc = mc[ci];
    for (size_t i = 0; i < hw; i++) {
      float v = f[i] * sc;
      dms[i] += d[i] * v;
      if (v > dpmax[i]) {
        dpmax[i] = v;
        s->arg_c[i] = ci;
      }
    }
  }
  /* through the sigmoid, then the transposed k×k conv (zero padding k/2):
   * ms[o] += w·P[o + δ]  ⇒  dP[o + δ] += w·dms[o] */
  for (size_t i = 0; i < hw; i++) {
    dms[i] *= ms[i] * (1.0f - ms[i]);
    dpmax[i] = 0.0f;
    dpmean[i] = 0.0f;
  }
  int pad = k / 2;
  for (int ch = 0; ch < 2; ch++) {
    float *dpl = ch == 0 ? dpmax : dpmean;
    for (int ky = 0; ky < k; ky++)
      for (int kx = 0; kx < k; kx++) {
        float wv = b->sp_w[(ch * k + ky) * k + kx];
        int dy = ky - pad, dx = kx - pad;
        int x0 = dx < 0 ? -dx : 0, x1 = dx > 0 ? wd - dx : wd;
        for (int oy = 0; oy < h; oy++) {
          int iy = oy + dy;
          if (iy < 0 || iy >= h)
            continue;
          const float *restrict src = dms + (size_t) oy * wd;
          float *restrict dst = dpl + (size_t) iy * wd;
          for (int ox = x0; ox < x1; ox++)
            dst[ox + dx] += wv * src[ox];
        }
      }
  }
  /* ∂H/∂f1 = dpre·Ms + dP_mean/C + dP_max at the arg-max channel;
   * ∂H/∂F = ∂H/∂f1·Mc, ∂H/∂Mc[c] = Σ_ij ∂H/∂f1·F */
  float inv_c = 1.0f / (float) c;
  for (int ci = 0; ci < c; ci++) {
    const float *restrict f = s->f + ci * hw, *restrict d = s->dpre + ci * hw;
    float *restrict df = s->df + ci * hw;
    float sc = mc[ci], dmc = 0.0f;
    for (size_t i = 0; i < hw; i++) {
      float g = d[i] * ms[i] + dpmean[i] * inv_c
          + (s->arg_c[i] == ci ? dpmax[i] : 0.0f);
      dmc += g * f[i];
      df[i] = g * sc;
    }
    s->dg[ci] = dmc * sc * (1.0f - sc);
  }
  /* the channel gate: one ∂/∂(W2 input) serves both branches */
  pools (s->avg, s->max, s->arg_hw, s->f, c, hw);
  attn_linear_pair (s->ha, s->hm, s->avg, s->max, b->w1, b->b1, c, hidden);
  attn_sgemv (true, c, hidden, 1.0f, b->w2, hidden, s->dg, 0.0f, s->dh);
  mlp1_backward (s->dpool, s->dha, s->dh, s->ha, b->w1, c, hidden);
  for (int ci = 0; ci < c; ci++) {
    float g = s->dpool[ci] / (float) hw;
    float *restrict df = s->df + ci * hw;
    for (size_t i = 0; i < hw; i++)
      df[i] += g;
  }
  mlp1_backward (s->dpool, s->dhm, s->dh, s->hm, b->w1, c, hidden);
  for (int ci = 0; ci < c; ci++)
    s->df[ci * hw + (size_t) s->arg_hw[ci]] += s->dpool[ci];
}

/* d (C, n) ⊙= [a > 0]: a ReLU's backward from its output a */
static void
relu_mask (float *restrict d, const float *restrict a, size_t n)
{
  for (size_t i = 0; i < n; i++)
    d[i] = a[i] > 0.0f ? d[i] : 0.0f;
}

void
attn_saliency_entropy_gradient (AttnSaliency *s, const AttnNet *net,
                                float *out)
{
  assert (net == s->net);
  const AttnModel *m = attn_net_model (net);
  const AttnBlock *b = s->b;
  AttnBlockTaps t;
  attn_net_last_block (net, &t);
  int c = s->c;
  size_t hw = (size_t) s->h * s->w, hw_in = (size_t) s->h_in * s->w_in;

  /* down to the block's output y: dy[c, ij] = (Wfcᵀ dz)[c] / HW, then
   * through its ReLU */
  entropy_gradient (s->dz, attn_net_logits (net), s->classes);
  attn_sgemv (true, s->classes, c, 1.0f, m->fc_w, c, s->dz, 0.0f, s->dfeat);
  for (int ci = 0; ci < c; ci++) {
    float g = s->dfeat[ci] / (float) hw;
    const float *restrict y = t.output + ci * hw;
    float *restrict d = s->dpre + ci * hw;
    for (size_t i = 0; i < hw; i++)
      d[i] = y[i] > 0.0f ? g : 0.0f;
  }

  /* through the gate to F */
  const float *df = s->dpre;
  if (b->gate != ATTN_GATE_NONE) {
    const float *tin = s->bottleneck ? t.t2 : t.t1;
    AttnEpilogue ep = { s->last->bias, NULL, ATTN_ACT_NONE, NULL, NULL };
    attn_conv2d (s->f, tin, s->last->weight, &ep, s->ws, &s->last->p, 1,
                 s->last_h, s->last_w);
    if (b->gate == ATTN_GATE_SE)
      se_backward (s, t.gate->channel);
    else
      cbam_backward (s, t.gate->channel, t.gate->spatial);
    df = s->df;
  }

  /* through the convolutions and their ReLUs to x */
  if (s->bottleneck) {
    attn_conv2d_backward_data (s->dt2, df, b->conv3.weight, s->ws,
                               &b->conv3.p, 1, s->h, s->w, false);
    relu_mask (s->dt2, t.t2, (size_t) s->c2 * hw);
    attn_conv2d_backward_data (s->dt1, s->dt2, b->conv2.weight, s->ws,
                               &b->conv2.p, 1, s->h_mid, s->w_mid, false);
  } else {
    attn_conv2d_backward_data (s->dt1, df, b->conv2.weight, s->ws,
                               &b->conv2.p, 1, s->h_mid, s->w_mid, false);
  }
  relu_mask (s->dt1, t.t1, (size_t) s->c1 * s->h_mid * s->w_mid);
  attn_conv2d_backward_data (s->dx, s->dt1, b->conv1.weight, s->ws,
                             &b->conv1.p, 1, s->h_in, s->w_in, false);
  /* and the shortcut: ∂H/∂id = ∂H/∂pre */
  if (b->has_down) {
    attn_conv2d_backward_data (s->dx, s->dpre, b->down.weight, s->ws,
                               &b->down.p, 1, s->h_in, s->w_in, true);
  } else {
    for (size_t i = 0; i < (size_t) c * hw; i++)
      s->dx[i] += s->dpre[i];
  }

  /* out[ij] = ||dx[:, ij]||₂ */
  for (size_t i = 0; i < hw_in; i++)
    out[i] = 0.0f;
  for (int ci = 0; ci < s->c_in; ci++) {
    const float *restrict d = s->dx + ci * hw_in;
    for (size_t i = 0; i < hw_in; i++)
      out[i] += d[i] * d[i];
  }
  for (size_t i = 0; i < hw_in; i++)
    out[i] = sqrtf (out[i]);
}
