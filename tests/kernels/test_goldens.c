/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_goldens.c — our kernels against PyTorch's outputs on the fixtures that
 * tools/make_goldens.py writes to tests/kernels/goldens/ (argv[1]).
 *
 * Each file holds cases: tensors "<case>.<tensor>" plus a __metadata__ entry
 * "<case>" with the parameters as a JSON object whose "op" picks the kernel,
 * so a case added to the script needs no change here. One TAP line per case,
 * output and kernel variant; the exit status is non-zero when any comparison
 * fails, when a file has no case, or when a case's tensors do not have the
 * sizes its parameters imply.
 *
 * Tolerance, for every comparison: |got − ref| <= 1e-5 · max(1, max|ref|)
 * (atol = 1e-5 · max_abs(ref), rtol = 0): float32 against float32 PyTorch,
 * only the summation order differs. The longest sums here (432-term conv,
 * 512-term linear, softmax over 196) stay well inside it, so nothing is
 * loosened.
 *
 * Each stage is fed PyTorch's own inputs (the golden mc for the spatial gate,
 * the golden grid for the sampler, ...) so a failure points at one kernel;
 * "end to end" lines then chain our own stages. Output and work buffers start
 * as NaN, so an element a kernel forgets to write cannot pass. */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activation.h"
#include "blocked.h"
#include "bn.h"
#include "cbam.h"
#include "check.h"
#include "conv.h"
#include "decoder.h"
#include "linear.h"
#include "pool.h"
#include "se.h"
#include "soft_attention.h"
#include "stn.h"

#define REL_TOL 1e-5f
#define FORMAT "attn-goldens-1"

static AttnSafetensors *st;
static const char *file;   /* current golden file, e.g. "conv" */
static const char *cs;     /* current case */
static GPtrArray *owned;   /* buffers freed after the case */
static bool bad;           /* a tensor of this case had the wrong size */

/* n floats, all NaN: outputs and workspaces */
static float *
buf (size_t n)
{
  float *x = test_alloc (n);
  for (size_t i = 0; i < n; i++)
    x[i] = NAN;
  g_ptr_array_add (owned, x);
  return x;
}

/* Golden tensor "<cs>.<name>", which must have `want` elements. On a size
 * mismatch it says so, marks the case bad and returns `want` zeros, so the
 * kernels still run in bounds. */
static float *
T (const char *name, size_t want)
{
  char full[200];
  snprintf (full, sizeof full, "%s.%s", cs, name);
  size_t n = 0;
  float *x = golden_tensor (st, full, &n);
  if (n != want) {
    printf ("# %s/%s: tensor %s has %zu elements, its parameters say %zu\n",
            file, cs, full, n, want);
    bad = true;
    free (x);
    x = test_alloc (want);
  }
  g_ptr_array_add (owned, x);
  return x;
}

static int
P (const char *key)
{
  return golden_param_int (st, cs, key);
}

static bool
B (const char *key)
{
  return golden_param_bool (st, cs, key);
}

static bool
S_is (const char *key, const char *value)
{
  char *s = golden_param_string (st, cs, key);
  bool eq = strcmp (s, value) == 0;
  g_free (s);
  return eq;
}

/* One TAP line: `got` (n) against golden output `name`. */
static void
check (const char *name, const char *variant, const float *got, size_t n)
{
  char what[300];
  snprintf (what, sizeof what, "%s/%s: %s (%s)", file, cs, name, variant);
  float *ref = T (name, n);
  bool ok = !bad
      && check_close (what, got, ref, n, REL_TOL * max_abs (ref, n), 0.0f);
  if (bad)
    printf ("# %s: not compared, the case's tensors have the wrong sizes\n",
            what);
  test_case (what, ok);
}

static AttnAct
act_param (void)
{
  if (S_is ("act", "relu"))
    return ATTN_ACT_RELU;
  if (!S_is ("act", "none")) {
    printf ("# %s/%s: unknown act\n", file, cs);
    bad = true;
  }
  return ATTN_ACT_NONE;
}

static void
run_conv (void)
{
  AttnConv2d p = { P ("c_in"), P ("c_out"), P ("kh"), P ("kw"), P ("stride_h"),
                   P ("stride_w"), P ("pad_h"), P ("pad_w"), P ("dil_h"),
                   P ("dil_w"), P ("groups") };
  int n = P ("n"), h = P ("h"), w = P ("w");
  int ho = attn_conv_out_dim (h, p.kh, p.stride_h, p.pad_h, p.dil_h);
  int wo = attn_conv_out_dim (w, p.kw, p.stride_w, p.pad_w, p.dil_w);
  if (ho <= 0 || wo <= 0 || p.groups <= 0 || p.c_in % p.groups
      || p.c_out % p.groups) {
    printf ("# %s/%s: attn_conv_out_dim gives %dx%d\n", file, cs, ho, wo);
    bad = true;
    ho = wo = 1;
  }
  size_t per_out = (size_t) (p.c_in / p.groups) * p.kh * p.kw;
  size_t out_n = (size_t) n * p.c_out * ho * wo, pool_n = (size_t) n * p.c_out;
  float *in = T ("in", (size_t) n * p.c_in * h * w);
  float *wt = T ("weight", p.c_out * per_out);
  float *bias = test_alloc (p.c_out);     /* zeros */
  g_ptr_array_add (owned, bias);
  bool has_bias = B ("bias"), bn = B ("bn");
  if (has_bias)
    memcpy (bias, T ("bias", p.c_out), sizeof (float) * p.c_out);
  if (bn)   /* conv (+ bias) → eval BatchNorm, folded into weight and bias */
    attn_bn_fold (wt, bias, T ("bn_gamma", p.c_out), T ("bn_beta", p.c_out),
                  T ("bn_mean", p.c_out), T ("bn_var", p.c_out),
                  (float) golden_param_double (st, cs, "eps"), p.c_out,
                  (int) per_out);
  const float *res = B ("residual") ? T ("residual", out_n) : NULL;
  AttnAct act = act_param ();

  /* the fast path, with its workspace (NULL bias when there is none) */
  AttnEpilogue ep = { has_bias || bn ? bias : NULL, res, act, buf (pool_n),
                      buf (pool_n) };
  float *out = buf (out_n);
  attn_conv2d (out, in, wt, &ep, buf (attn_conv2d_workspace (&p, h, w)), &p,
               n, h, w);
  check ("out", "attn_conv2d", out, out_n);
  check ("out_avg", "attn_conv2d epilogue", ep.avg_out, pool_n);
  check ("out_max", "attn_conv2d epilogue", ep.max_out, pool_n);

  /* the reference loop */
  AttnEpilogue epr = ep;
  epr.avg_out = buf (pool_n);
  epr.max_out = buf (pool_n);
  float *out_ref = buf (out_n);
  attn_conv2d_ref (out_ref, in, wt, &epr, &p, n, h, w);
  check ("out", "attn_conv2d_ref", out_ref, out_n);
  check ("out_avg", "attn_conv2d_ref epilogue", epr.avg_out, pool_n);
  check ("out_max", "attn_conv2d_ref epilogue", epr.max_out, pool_n);

  /* a 1×1 stride-1 convolution also by the blocked layout (blocked.h),
   * image by image */
  if (p.kh == 1 && p.kw == 1 && p.stride_h == 1 && p.stride_w == 1
      && p.pad_h == 0 && p.pad_w == 0 && p.groups == 1 && !bad) {
    int hw = h * w;
    float *xb = buf (attn_blocked_size (p.c_in, hw));
    float *rb = res ? buf (attn_blocked_size (p.c_out, hw)) : NULL;
    float *yb = buf (attn_blocked_size (p.c_out, hw));
    float *wk = buf (attn_conv1x1_blocked_weights_size (p.c_out, p.c_in));
    float *out_b = buf (out_n);
    attn_conv1x1_blocked_pack (wk, wt, p.c_out, p.c_in);
    for (int b = 0; b < n; b++) {
      size_t oi = (size_t) b * p.c_out * hw;
      attn_blocked_from_nchw (xb, in + (size_t) b * p.c_in * hw, p.c_in, hw);
      if (res)
        attn_blocked_from_nchw (rb, res + oi, p.c_out, hw);
      attn_conv1x1_blocked (yb, xb, wk, ep.bias, rb, act == ATTN_ACT_RELU,
                            p.c_out, p.c_in, hw);
      attn_blocked_to_nchw (out_b + oi, yb, p.c_out, hw);
    }
    check ("out", "attn_conv1x1_blocked", out_b, out_n);
  }
}

static void
run_pool (const char *op)
{
  int c = P ("planes"), h = P ("h"), w = P ("w");
  size_t in_n = (size_t) c * h * w;
  if (strncmp (op, "global_", 7) == 0) {
    float *out = buf (c), *in = T ("in", in_n);
    if (op[7] == 'a')
      attn_global_avgpool (out, in, c, h * w);
    else
      attn_global_maxpool (out, in, c, h * w);
    check ("out", op[7] == 'a' ? "attn_global_avgpool" : "attn_global_maxpool",
           out, c);
    return;
  }
  AttnPool2d p = { P ("kh"), P ("kw"), P ("stride_h"), P ("stride_w"),
                   P ("pad_h"), P ("pad_w"), P ("dil_h"), P ("dil_w"),
                   B ("ceil_mode"), B ("count_include_pad") };
  int ho = attn_pool_out_dim (h, p.kh, p.stride_h, p.pad_h, p.dil_h,
                              p.ceil_mode);
  int wo = attn_pool_out_dim (w, p.kw, p.stride_w, p.pad_w, p.dil_w,
                              p.ceil_mode);
  if (ho <= 0 || wo <= 0) {
    printf ("# %s/%s: attn_pool_out_dim gives %dx%d\n", file, cs, ho, wo);
    bad = true;
    ho = wo = 1;
  }
  size_t out_n = (size_t) c * ho * wo;
  float *out = buf (out_n), *in = T ("in", in_n);
  bool max = strcmp (op, "maxpool2d") == 0;
  if (max)
    attn_maxpool2d (out, in, &p, c, h, w);
  else
    attn_avgpool2d (out, in, &p, c, h, w);
  /* a wrong output size shows as "tensor out has N elements" */
  check ("out", max ? "attn_maxpool2d" : "attn_avgpool2d", out, out_n);
}

static void
run_linear (void)
{
  int n = P ("n"), k = P ("k"), m = P ("m");
  float *out = buf ((size_t) n * m);
  attn_linear (out, T ("in", (size_t) n * k), T ("weight", (size_t) m * k),
               B ("bias") ? T ("bias", m) : NULL, n, k, m);
  check ("out", "attn_linear", out, (size_t) n * m);
}

static void
run_se (void)
{
  int c = P ("c"), hd = P ("hidden"), hw = P ("h") * P ("w");
  size_t chw = (size_t) c * hw;
  float *in = T ("in", chw), *idt = T ("identity", chw);
  float *w1 = T ("fc1_w", (size_t) hd * c), *b1 = T ("fc1_b", hd);
  float *w2 = T ("fc2_w", (size_t) c * hd), *b2 = T ("fc2_b", c);
  float *s_ref = T ("s", c);
  size_t work_n = (size_t) attn_se_workspace (c, hd);

  float *s = buf (c);
  attn_se_gate (s, in, w1, b1, w2, b2, buf (work_n), c, hd, hw);
  check ("s", "attn_se_gate", s, c);
  float *s2 = buf (c);
  attn_se_gate_pooled (s2, T ("z", c), w1, b1, w2, b2, buf (work_n), c, hd);
  check ("s", "attn_se_gate_pooled", s2, c);

  float *o = buf (chw);
  attn_scale_channels (o, in, s_ref, NULL, c, hw, ATTN_ACT_NONE);
  check ("scaled", "attn_scale_channels", o, chw);
  o = buf (chw);
  attn_scale_channels (o, in, s_ref, idt, c, hw, ATTN_ACT_RELU);
  check ("out", "attn_scale_channels residual relu", o, chw);
  o = buf (chw);
  memcpy (o, in, sizeof (float) * chw);
  attn_scale_channels (o, o, s_ref, idt, c, hw, ATTN_ACT_RELU);
  check ("out", "attn_scale_channels residual relu, in place", o, chw);
  o = buf (chw);
  attn_scale_channels (o, in, s, idt, c, hw, ATTN_ACT_RELU);
  check ("out", "end to end", o, chw);
}

static void
run_cbam (void)
{
  int c = P ("c"), hd = P ("hidden"), h = P ("h"), w = P ("w"), k = P ("k");
  int hw = h * w;
  size_t chw = (size_t) c * hw;
  float *in = T ("in", chw), *idt = T ("identity", chw);
  float *w1 = T ("mlp1_w", (size_t) hd * c), *b1 = T ("mlp1_b", hd);
  float *w2 = T ("mlp2_w", (size_t) c * hd), *b2 = T ("mlp2_b", c);
  float *mc_ref = T ("mc", c), *ms_ref = T ("ms", hw);
  size_t work_n = (size_t) attn_cbam_channel_workspace (c, hd);

  /* Spatial gate: conv 7×7 (no bias) → BatchNorm2d(1), folded. */
  float *spw = T ("sp_w", (size_t) 2 * k * k), sp_b = 0.0f;
  attn_bn_fold (spw, &sp_b, T ("bn_gamma", 1), T ("bn_beta", 1),
                T ("bn_mean", 1), T ("bn_var", 1),
                (float) golden_param_double (st, cs, "eps"), 1, 2 * k * k);

  /* channel gate alone */
  float *mc = buf (c);
  attn_cbam_channel_gate (mc, in, w1, b1, w2, b2, buf (work_n), c, hd, hw);
  check ("mc", "attn_cbam_channel_gate", mc, c);
  float *mc2 = buf (c);
  attn_cbam_channel_gate_pooled (mc2, T ("avg", c), T ("max", c), w1, b1, w2,
                                 b2, buf (work_n), c, hd);
  check ("mc", "attn_cbam_channel_gate_pooled", mc2, c);

  /* spatial gate alone: on F with PyTorch's mc, and on PyTorch's F' */
  float *ms = buf (hw), *pooled = buf ((size_t) 2 * hw);
  attn_cbam_spatial_gate (ms, in, mc_ref, spw, sp_b, pooled, c, h, w, k);
  check ("pooled", "attn_cbam_spatial_gate work", pooled, (size_t) 2 * hw);
  check ("ms", "attn_cbam_spatial_gate", ms, hw);
  float *ms2 = buf (hw);
  attn_cbam_spatial_gate (ms2, T ("f1", chw), NULL, spw, sp_b,
                          buf ((size_t) 2 * hw), c, h, w, k);
  check ("ms", "attn_cbam_spatial_gate on F', mc NULL", ms2, hw);

  /* apply: F' alone, F'' and the fused block output */
  float *o = buf (chw);
  attn_cbam_apply (o, in, mc_ref, NULL, NULL, c, hw, ATTN_ACT_NONE);
  check ("f1", "attn_cbam_apply mc only", o, chw);
  o = buf (chw);
  attn_cbam_apply (o, in, mc_ref, ms_ref, NULL, c, hw, ATTN_ACT_NONE);
  check ("refined", "attn_cbam_apply", o, chw);
  o = buf (chw);
  attn_cbam_apply (o, in, mc_ref, ms_ref, idt, c, hw, ATTN_ACT_RELU);
  check ("out", "attn_cbam_apply residual relu", o, chw);
  o = buf (chw);
  memcpy (o, in, sizeof (float) * chw);
  attn_cbam_apply (o, o, mc_ref, ms_ref, idt, c, hw, ATTN_ACT_RELU);
  check ("out", "attn_cbam_apply residual relu, in place", o, chw);

  /* our own stages chained: mc → ms → fused apply */
  float *ms3 = buf (hw);
  attn_cbam_spatial_gate (ms3, in, mc, spw, sp_b, buf ((size_t) 2 * hw), c, h,
                          w, k);
  o = buf (chw);
  attn_cbam_apply (o, in, mc, ms3, idt, c, hw, ATTN_ACT_RELU);
  check ("out", "end to end", o, chw);
}

static void
run_stn (void)
{
  int c = P ("c"), h = P ("h"), w = P ("w"), ho = P ("ho"), wo = P ("wo");
  bool ac = B ("align_corners");
  AttnSampleMode m = ATTN_SAMPLE_BILINEAR;
  if (S_is ("mode", "nearest"))
    m = ATTN_SAMPLE_NEAREST;
  else if (!S_is ("mode", "bilinear"))
    bad = true;
  AttnPadMode pm = ATTN_PAD_ZEROS;
  if (S_is ("padding", "border"))
    pm = ATTN_PAD_BORDER;
  else if (S_is ("padding", "reflection"))
    pm = ATTN_PAD_REFLECTION;
  else if (!S_is ("padding", "zeros"))
    bad = true;
  size_t grid_n = (size_t) ho * wo * 2, out_n = (size_t) c * ho * wo;
  float *in = T ("in", (size_t) c * h * w), *theta = T ("theta", 6);

  float *grid = buf (grid_n);
  attn_affine_grid (grid, theta, ho, wo, ac);
  check ("grid", "attn_affine_grid", grid, grid_n);
  /* sample at PyTorch's own grid, so nearest-mode ties are decided alike */
  float *out = buf (out_n);
  attn_grid_sample (out, in, T ("grid", grid_n), c, h, w, ho, wo, m, pm, ac);
  check ("out", "attn_grid_sample", out, out_n);
  /* chained: bilinear sampling is continuous in the grid, so a grid within
   * tolerance gives an output within tolerance; nearest is not, skip it */
  if (m == ATTN_SAMPLE_BILINEAR) {
    out = buf (out_n);
    attn_grid_sample (out, in, grid, c, h, w, ho, wo, m, pm, ac);
    check ("out", "end to end", out, out_n);
  }
}

static void
run_additive (void)
{
  int l = P ("l"), d = P ("d"), dh = P ("dh"), da = P ("da");
  float *ctx = buf (d), *alpha = buf (l);
  attn_additive_attention (ctx, alpha, T ("a", (size_t) l * d), T ("h", dh),
                           T ("wa", (size_t) da * d),
                           T ("wh", (size_t) da * dh),
                           B ("bias") ? T ("b", da) : NULL, T ("v", da),
                           buf (attn_additive_attention_workspace (l, da)), l,
                           d, dh, da);
  check ("alpha", "attn_additive_attention", alpha, l);
  check ("ctx", "attn_additive_attention", ctx, d);
}

static void
run_sdp (void)
{
  int lq = P ("lq"), lk = P ("lk"), d = P ("d"), dv = P ("dv");
  float *alpha = buf ((size_t) lq * lk), *out = buf ((size_t) lq * dv);
  attn_sdp_attention (out, alpha, T ("q", (size_t) lq * d),
                      T ("k", (size_t) lk * d), T ("v", (size_t) lk * dv), lq,
                      lk, d, dv);
  check ("alpha", "attn_sdp_attention", alpha, (size_t) lq * lk);
  check ("out", "attn_sdp_attention", out, (size_t) lq * dv);
}

static void
run_cell (bool lstm)
{
  int in = P ("in"), hd = P ("hidden"), g = lstm ? 4 : 3;
  float *h_out = buf (hd), *c_out = buf (hd), *work = buf ((size_t) 8 * hd);
  const float *x = T ("x", in), *h = T ("h", hd);
  const float *w_ih = T ("w_ih", (size_t) g * hd * in), *b_ih = T ("b_ih", (size_t) g * hd);
  const float *w_hh = T ("w_hh", (size_t) g * hd * hd), *b_hh = T ("b_hh", (size_t) g * hd);
  if (lstm) {
    attn_lstm_cell (h_out, c_out, x, h, T ("c", hd), w_ih, b_ih, w_hh, b_hh,
                    work, in, hd);
    check ("h_out", "attn_lstm_cell", h_out, hd);
    check ("c_out", "attn_lstm_cell", c_out, hd);
  } else {
    attn_gru_cell (h_out, x, h, w_ih, b_ih, w_hh, b_hh, work, in, hd);
    check ("h_out", "attn_gru_cell", h_out, hd);
  }
}

/* The head from the case's tensors (the state dict's names). */
static void
decoder_of (AttnDecoder *d)
{
  *d = (AttnDecoder) {
    .cell = S_is ("cell", "lstm") ? ATTN_CELL_LSTM : ATTN_CELL_GRU,
    .attention = S_is ("attention", "dot") ? ATTN_DEC_DOT : ATTN_DEC_ADDITIVE,
    .d = P ("d"), .hidden = P ("hidden"), .embed = P ("embed"),
    .att_dim = P ("att_dim"), .vocab = P ("vocab"), .gate = B ("gate"),
    .start = P ("start"), .end = P ("end"), .max_length = P ("max_length"),
  };
  size_t dd = d->d, dh = d->hidden, e = d->embed, da = d->att_dim, v = d->vocab;
  size_t g = attn_decoder_gates (d->cell);
  d->init_h_w = T ("init_h.weight", dh * dd);
  d->init_h_b = T ("init_h.bias", dh);
  if (d->cell == ATTN_CELL_LSTM) {
    d->init_c_w = T ("init_c.weight", dh * dd);
    d->init_c_b = T ("init_c.bias", dh);
  }
  d->embed_w = T ("embed.weight", v * e);
  if (d->attention == ATTN_DEC_ADDITIVE) {
    d->enc_w = T ("att.enc.weight", da * dd);
    d->enc_b = T ("att.enc.bias", da);
    d->dec_w = T ("att.dec.weight", da * dh);
    d->v_w = T ("att.v.weight", da);
  } else {
    d->query_w = T ("att.query.weight", dd * dh);
    d->query_b = T ("att.query.bias", dd);
  }
  if (d->gate) {
    d->gate_w = T ("gate.weight", dh);
    d->gate_b = T ("gate.bias", 1);
  }
  d->w_ih = T ("cell.weight_ih", g * dh * (e + dd));
  d->b_ih = T ("cell.bias_ih", g * dh);
  d->w_hh = T ("cell.weight_hh", g * dh * dh);
  d->b_hh = T ("cell.bias_hh", g * dh);
  d->out_w = T ("out.weight", v * (dh + dd));
  d->out_b = T ("out.bias", v);
}

/* The whole head: teacher-forced (every step's logits and α), then greedy
 * (the same tokens, stopping where PyTorch's stopped, and their steps'
 * logits and α). */
static void
run_decoder (void)
{
  AttnDecoder d;
  decoder_of (&d);
  int l = P ("l"), steps = P ("steps"), v = d.vocab;
  const float *feats = T ("feats", (size_t) d.d * l);
  float *work = buf (attn_decoder_workspace (&d, l));
  int n_max = MAX (steps, d.max_length);
  int *tokens = g_new0 (int, n_max), *targets = g_new0 (int, steps);
  g_ptr_array_add (owned, tokens);
  g_ptr_array_add (owned, targets);
  const float *tf = T ("targets", steps);
  for (int t = 0; t < steps; t++)
    targets[t] = (int) tf[t];
  float *logits = buf ((size_t) n_max * v), *alpha = buf ((size_t) n_max * l);
  float *scores = buf (n_max);
  AttnDecoderOut out = { tokens, scores, alpha, logits, 0 };
  attn_decoder_run_forced (&d, feats, l, targets, steps, work, &out);
  check ("logits", "attn_decoder_run_forced", logits, (size_t) steps * v);
  check ("alpha", "attn_decoder_run_forced", alpha, (size_t) steps * l);

  char name[300], want_s[64];
  snprintf (want_s, sizeof want_s, "%s.greedy_tokens", cs);
  int n = golden_dim (st, want_s, 0);
  const float *want = T ("greedy_tokens", n);
  out = (AttnDecoderOut) { tokens, scores, alpha, logits, 0 };
  attn_decoder_run (&d, feats, l, work, &out);
  bool same = out.length == n;
  for (int t = 0; same && t < n; t++)
    same = tokens[t] == (int) want[t];
  snprintf (name, sizeof name, "%s/%s: greedy tokens, %d of max_length %d "
            "(attn_decoder_run)", file, cs, n, d.max_length);
  if (!same)
    printf ("# %s: %d tokens, the first different or missing at some step\n",
            name, out.length);
  test_case (name, same && !bad);
  if (same) {
    check ("greedy_logits", "attn_decoder_run", logits, (size_t) n * v);
    check ("greedy_alpha", "attn_decoder_run", alpha, (size_t) n * l);
  }
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
main (int argc, char **argv)
{
  static const char *files[] = { "conv", "pool", "linear", "se", "cbam", "stn",
                                 "soft_attention", "decoder" };
  for (size_t f = 0; f < G_N_ELEMENTS (files); f++) {
    file = files[f];
    st = golden_open (argc, argv, file);
    char name[300];
    const char *format = attn_safetensors_metadata (st, "format");
    if (!format || strcmp (format, FORMAT) != 0) {
      printf ("# %s: format is %s, expected " FORMAT "\n", file,
              format ? format : "missing");
      snprintf (name, sizeof name, "%s: format", file);
      test_case (name, false);
    }
    char **cases = golden_cases (st);
    size_t n_cases = g_strv_length (cases);
    qsort (cases, n_cases, sizeof (char *), cmp_str);   /* stable TAP order */
    if (n_cases == 0) {
      printf ("# %s: no cases\n", file);
      snprintf (name, sizeof name, "%s: has cases", file);
      test_case (name, false);
    }
    for (size_t i = 0; i < n_cases; i++) {
      cs = cases[i];
      owned = g_ptr_array_new_with_free_func (free);
      bad = false;
      char *op = golden_param_string (st, cs, "op");
      if (strcmp (op, "conv2d") == 0)
        run_conv ();
      else if (strcmp (op, "maxpool2d") == 0 || strcmp (op, "avgpool2d") == 0
               || strcmp (op, "global_avgpool") == 0
               || strcmp (op, "global_maxpool") == 0)
        run_pool (op);
      else if (strcmp (op, "linear") == 0)
        run_linear ();
      else if (strcmp (op, "se") == 0)
        run_se ();
      else if (strcmp (op, "cbam") == 0)
        run_cbam ();
      else if (strcmp (op, "stn") == 0)
        run_stn ();
      else if (strcmp (op, "additive_attention") == 0)
        run_additive ();
      else if (strcmp (op, "sdp_attention") == 0)
        run_sdp ();
      else if (strcmp (op, "gru_cell") == 0 || strcmp (op, "lstm_cell") == 0)
        run_cell (op[0] == 'l');
      else if (strcmp (op, "decoder") == 0)
        run_decoder ();
      else {
        printf ("# %s/%s: unknown op %s\n", file, cs, op);
        snprintf (name, sizeof name, "%s/%s: op %s", file, cs, op);
        test_case (name, false);
      }
      g_free (op);
      g_ptr_array_unref (owned);
    }
    g_strfreev (cases);
    attn_safetensors_close (st);
  }
  return test_done ();
}
