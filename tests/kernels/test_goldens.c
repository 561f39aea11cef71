/* test_goldens.c — every kernel against PyTorch's output on the fixtures that
 * tools/make_goldens.py wrote (tests/kernels/goldens/). One TAP case per
 * golden case; the "op" parameter picks the kernel, so a case added to the
 * script needs no change here.
 *
 * Tolerance: |got − ref| <= 1e-5 · max(1, max|ref|) — float32 kernels against
 * float32 PyTorch, summation orders differ. Where a case sums hundreds of
 * products (GEMM-based attention over L=196) the bound is 1e-4 relative to
 * the magnitude, said at the call. */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bn.h"
#include "cbam.h"
#include "check.h"
#include "conv.h"
#include "linear.h"
#include "pool.h"
#include "se.h"
#include "soft_attention.h"
#include "stn.h"

static AttnSafetensors *st;
static const char *cs;            /* current case */
static GPtrArray *owned;          /* tensors to free after the case */

static float *
T (const char *name)
{
  char full[160];
  snprintf (full, sizeof full, "%s.%s", cs, name);
  float *x = golden_tensor (st, full, NULL);
  g_ptr_array_add (owned, x);
  return x;
}

static size_t
N (const char *name)
{
  char full[160];
  snprintf (full, sizeof full, "%s.%s", cs, name);
  return attn_safetensors_find (st, full)->numel;
}

static float *
buf (size_t n)
{
  float *x = test_alloc (n);
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

/* compares `got` with golden tensor `name`, tolerance scaled by magnitude */
static bool
same (const char *name, const float *got, float rel)
{
  float *ref = T (name);
  size_t n = N (name);
  char what[200];
  snprintf (what, sizeof what, "%s.%s", cs, name);
  return check_close (what, got, ref, n, rel * max_abs (ref, n), 0);
}

static bool
run_conv (void)
{
  AttnConv2d p = { P ("c_in"), P ("c_out"), P ("k"), P ("k"), P ("stride"),
                   P ("stride"), P ("pad"), P ("pad"), P ("dil"), P ("dil"),
                   P ("groups") };
  int n = P ("n"), h = P ("h"), w = P ("w");
  float *wt = T ("weight"), *bias = buf (p.c_out);
  if (B ("bias"))
    memcpy (bias, T ("bias"), sizeof (float) * p.c_out);
  if (B ("bn"))
    attn_bn_fold (wt, bias, T ("bn_gamma"), T ("bn_beta"), T ("bn_mean"),
                  T ("bn_var"), (float) golden_param_double (st, cs, "eps"),
                  p.c_out, (p.c_in / p.groups) * p.kh * p.kw);
  AttnEpilogue ep = { bias, B ("residual") ? T ("residual") : NULL,
                      B ("relu") ? ATTN_ACT_RELU : ATTN_ACT_NONE, NULL, NULL };
  size_t out_n = N ("out");
  float *out = buf (out_n), *out_ref = buf (out_n);
  float *ws = buf (attn_conv2d_workspace (&p, h, w));
  attn_conv2d (out, T ("in"), wt, &ep, ws, &p, n, h, w);
  attn_conv2d_ref (out_ref, T ("in"), wt, &ep, &p, n, h, w);
  return same ("out", out, 1e-5f) && same ("out", out_ref, 1e-5f);
}

static bool
run_pool (const char *op)
{
  int c = P ("planes"), h = P ("h"), w = P ("w");
  float *out = buf (N ("out"));
  if (strcmp (op, "global_avgpool") == 0) {
    attn_global_avgpool (out, T ("in"), c, h * w);
  } else if (strcmp (op, "global_maxpool") == 0) {
    attn_global_maxpool (out, T ("in"), c, h * w);
  } else {
    AttnPool2d p = { P ("k"), P ("k"), P ("stride"), P ("stride"), P ("pad"),
                     P ("pad"), P ("dil"), P ("dil"), B ("ceil_mode"),
                     B ("count_include_pad") };
    int ho = attn_pool_out_dim (h, p.kh, p.stride_h, p.pad_h, p.dil_h, p.ceil_mode);
    int wo = attn_pool_out_dim (w, p.kw, p.stride_w, p.pad_w, p.dil_w, p.ceil_mode);
    if ((size_t) c * ho * wo != N ("out")) {
      printf ("# %s: output %dx%d does not match PyTorch's size\n", cs, ho, wo);
      return false;
    }
    if (op[0] == 'm')
      attn_maxpool2d (out, T ("in"), &p, c, h, w);
    else
      attn_avgpool2d (out, T ("in"), &p, c, h, w);
  }
  return same ("out", out, 1e-5f);
}

static bool
run_linear (void)
{
  float *out = buf (N ("out"));
  attn_linear (out, T ("in"), T ("weight"), T ("bias"), P ("n"), P ("k"), P ("m"));
  return same ("out", out, 1e-5f);
}

static bool
run_se (void)
{
  int c = P ("c"), hd = P ("hidden"), hw = P ("h") * P ("w");
  float *s = buf (c), *out = buf ((size_t) c * hw);
  float *work = buf (attn_se_workspace (c, hd));
  attn_se_gate (s, T ("in"), T ("fc1_w"), T ("fc1_b"), T ("fc2_w"), T ("fc2_b"),
                work, c, hd, hw);
  attn_scale_channels (out, T ("in"), s, T ("identity"), c, hw, ATTN_ACT_RELU);
  return same ("s", s, 1e-5f) && same ("out", out, 1e-5f);
}

static bool
run_cbam (void)
{
  int c = P ("c"), hd = P ("hidden"), h = P ("h"), w = P ("w"), k = P ("k");
  int hw = h * w;
  float *mc = buf (c), *ms = buf (hw), *pooled = buf (2 * hw);
  float *work = buf (attn_cbam_channel_workspace (c, hd));
  float *out = buf ((size_t) c * hw), *refined = buf ((size_t) c * hw);
  float *spw = T ("sp_w"), sp_b = 0;
  attn_bn_fold (spw, &sp_b, T ("bn_gamma"), T ("bn_beta"), T ("bn_mean"),
                T ("bn_var"), (float) golden_param_double (st, cs, "eps"), 1,
                2 * k * k);
  attn_cbam_channel_gate (mc, T ("in"), T ("mlp1_w"), T ("mlp1_b"),
                          T ("mlp2_w"), T ("mlp2_b"), work, c, hd, hw);
  attn_cbam_spatial_gate (ms, T ("in"), mc, spw, sp_b, pooled, c, h, w, k);
  attn_cbam_apply (refined, T ("in"), mc, ms, NULL, c, hw, ATTN_ACT_NONE);
  attn_cbam_apply (out, T ("in"), mc, ms, T ("identity"), c, hw, ATTN_ACT_RELU);
  return same ("mc", mc, 1e-5f) && same ("pooled", pooled, 1e-5f)
      && same ("ms", ms, 1e-5f) && same ("refined", refined, 1e-5f)
      && same ("out", out, 1e-5f);
}

static bool
run_stn (void)
{
  int c = P ("c"), h = P ("h"), w = P ("w"), ho = P ("ho"), wo = P ("wo");
  bool ac = B ("align_corners");
  char *mode = golden_param_string (st, cs, "mode");
  char *pad = golden_param_string (st, cs, "padding");
  AttnSampleMode m = strcmp (mode, "nearest") == 0 ? ATTN_SAMPLE_NEAREST
      : ATTN_SAMPLE_BILINEAR;
  AttnPadMode pm = strcmp (pad, "border") == 0 ? ATTN_PAD_BORDER
      : strcmp (pad, "reflection") == 0 ? ATTN_PAD_REFLECTION : ATTN_PAD_ZEROS;
  g_free (mode);
  g_free (pad);
  float *grid = buf ((size_t) 2 * ho * wo), *out = buf ((size_t) c * ho * wo);
  attn_affine_grid (grid, T ("theta"), ho, wo, ac);
  bool ok = same ("grid", grid, 1e-5f);
  /* sample at PyTorch's own grid, so nearest-mode ties are decided alike */
  attn_grid_sample (out, T ("in"), T ("grid"), c, h, w, ho, wo, m, pm, ac);
  return ok && same ("out", out, 1e-5f);
}

static bool
run_soft (const char *op)
{
  if (strcmp (op, "additive") == 0) {
    int l = P ("l"), d = P ("d"), dh = P ("dh"), da = P ("da");
    float *ctx = buf (d), *alpha = buf (l);
    float *work = buf (attn_additive_attention_workspace (l, da));
    attn_additive_attention (ctx, alpha, T ("a"), T ("h"), T ("wa"), T ("wh"),
                             T ("b"), T ("v"), work, l, d, dh, da);
    /* sums over L=196 and D: 1e-4 of the magnitude */
    return same ("alpha", alpha, 1e-4f) && same ("ctx", ctx, 1e-4f);
  }
  int lq = P ("lq"), lk = P ("lk"), d = P ("d"), dv = P ("dv");
  float *alpha = buf ((size_t) lq * lk), *out = buf ((size_t) lq * dv);
  attn_sdp_attention (out, alpha, T ("q"), T ("k"), T ("v"), lq, lk, d, dv);
  return same ("alpha", alpha, 1e-4f) && same ("out", out, 1e-4f);
}

int
main (int argc, char **argv)
{
  static const char *files[] = { "conv", "pool", "linear", "se", "cbam", "stn",
                                 "soft_attention" };
  for (size_t f = 0; f < G_N_ELEMENTS (files); f++) {
    st = golden_open (argc, argv, files[f]);
    char **cases = golden_cases (st);
    if (!cases[0])
      test_case (files[f], false);     /* a golden file with no case */
    for (char **c = cases; *c; c++) {
      cs = *c;
      owned = g_ptr_array_new_with_free_func (free);
      char *op = golden_param_string (st, cs, "op");
      bool ok;
      if (strcmp (op, "conv2d") == 0)
        ok = run_conv ();
      else if (strstr (op, "pool"))
        ok = run_pool (op);
      else if (strcmp (op, "linear") == 0)
        ok = run_linear ();
      else if (strcmp (op, "se") == 0)
        ok = run_se ();
      else if (strcmp (op, "cbam") == 0)
        ok = run_cbam ();
      else if (strcmp (op, "stn") == 0)
        ok = run_stn ();
      else if (strcmp (op, "additive") == 0 || strcmp (op, "sdp") == 0)
        ok = run_soft (op);
      else {
        printf ("# %s: unknown op %s\n", cs, op);
        ok = false;
      }
      char name[200];
      snprintf (name, sizeof name, "%s/%s (%s)", files[f], cs, op);
      test_case (name, ok);
      g_free (op);
      g_ptr_array_unref (owned);
    }
    g_strfreev (cases);
    attn_safetensors_close (st);
  }
  return test_done ();
}
