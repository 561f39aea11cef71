/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_model.c — the model loader and network planner on files built here:
 * every architecture variant loads and runs, and each way a file can be
 * wrong is rejected with a message naming the problem. (Numerical agreement
 * with PyTorch is test_parity's job.) */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "cpu.h"
#include "model.h"
#include "model_builder.h"
#include "network.h"
#include "parallel.h"
#include "winograd.h"

static AttnModel *
load (ModelBuilder *mb, char *err, size_t errlen)
{
  GBytes *b = mb_bytes (mb);
  gsize len;
  const void *d = g_bytes_get_data (b, &len);
  AttnModel *m = attn_model_load_bytes (d, len, "tiny.safetensors", err,
                                        errlen);
  g_bytes_unref (b);
  return m;
}

/* The decoder's output after a forward: 1..max_length valid tokens, only
 * the last one may be the end token, scores in (0, 1], every α a
 * distribution over the last block's grid. */
static bool
sequence_ok (const AttnNet *net, const TinySpec *s)
{
  AttnSequence q;
  if (!attn_net_sequence (net, &q))
    return s->decoder == 0;
  const AttnDecoder *d = q.decoder;
  bool ok = s->decoder != 0 && q.length >= 1 && q.length <= d->max_length
      && q.height >= 1 && q.width >= 1 && q.seconds >= 0;
  for (int t = 0; ok && t < q.length; t++) {
    ok = q.tokens[t] >= 0 && q.tokens[t] < d->vocab
        && (q.tokens[t] != d->end || t == q.length - 1)
        && q.scores[t] > 0 && q.scores[t] <= 1;
    double sum = 0;
    for (int i = 0; i < q.height * q.width; i++) {
      float a = q.alphas[(size_t) t * q.height * q.width + i];
      ok &= a >= 0 && a <= 1;
      sum += a;
    }
    ok &= fabs (sum - 1) < 1e-4;
  }
  ok = ok && (q.length == d->max_length || q.tokens[q.length - 1] == d->end);
  if (!ok)
    printf ("# bad sequence (length %d)\n", q.length);
  return ok;
}

/* The per-step profile: nothing until asked; then one entry per step in
 * forward order (counted here from the model), each forward's time spread
 * over them and no more than the forwards took; switched off, the sums
 * stand; switched on again, they restart. */
static bool
profile_ok (AttnNet *net, const AttnModel *m)
{
  const AttnLayerTime *t;
  int forwards = -1;
  bool ok = attn_net_profile (net, &t, &forwards) == 0 && !t && forwards == 0;
  int want = (m->stn ? 1 : 0) + 1 + (m->has_stem_pool ? 1 : 0) + 1, gates = 0;
  for (int i = 0; i < m->n_blocks; i++) {
    want += (m->blocks[i].has_down ? 1 : 0) + 2
        + (m->block_type == ATTN_BLOCK_BOTTLENECK ? 1 : 0);
    gates += m->blocks[i].gate != ATTN_GATE_NONE;
  }
  want += gates;
  attn_net_set_profiling (net, true);
  struct timespec a, b;
  clock_gettime (CLOCK_MONOTONIC, &a);
  attn_net_forward (net);
  attn_net_forward (net);
  clock_gettime (CLOCK_MONOTONIC, &b);
  double wall = (double) (b.tv_sec - a.tv_sec) + 1e-9 * (b.tv_nsec - a.tv_nsec);
  int n = attn_net_profile (net, &t, &forwards);
  ok &= n == want && forwards == 2 && t != NULL;
  if (!ok) {
    printf ("# profile: %d steps over %d forwards, want %d over 2\n", n,
            forwards, want);
    return false;
  }
  double sum = 0, macs = 0;
  int seen_gates = 0;
  for (int i = 0; i < n; i++) {
    /* every step stamped: each took some time */
    ok &= t[i].name[0] && t[i].method && t[i].seconds > 0
        && isfinite (t[i].seconds) && t[i].macs >= 0;
    sum += t[i].seconds;
    macs += t[i].macs;
    seen_gates += strcmp (t[i].method, "gate") == 0;
  }
  ok &= strncmp (t[m->stn ? 1 : 0].name, "stem conv", 9) == 0
      && strcmp (t[n - 1].method, "head") == 0 && seen_gates == gates
      && (!m->stn || strcmp (t[0].method, "stn") == 0);
  ok &= sum > 0 && sum <= wall && macs > 0 && macs <= attn_net_macs (net);
  if (!ok)
    printf ("# profile: steps sum to %g s of %g, %g of %g MACs\n", sum, wall,
            macs, attn_net_macs (net));
  double first = t[0].seconds;
  attn_net_set_profiling (net, false);
  attn_net_forward (net);
  ok &= attn_net_profile (net, &t, &forwards) == n && forwards == 2
      && t[0].seconds == first;
  attn_net_set_profiling (net, true);
  ok &= attn_net_profile (net, &t, &forwards) == 0 && forwards == 0;
  attn_net_set_profiling (net, false);
  return ok;
}

/* The model of a spec (NULL, said, when it is rejected). */
static AttnModel *
load_spec (const TinySpec *s)
{
  ModelBuilder *mb = mb_new ();
  mb_tiny (mb, s);
  char err[512] = "";
  AttnModel *m = load (mb, err, sizeof err);
  mb_free (mb);
  if (!m)
    printf ("# rejected a good model: %s\n", err);
  return m;
}

/* TinySpec.reduction: each gate's MLP its block's channels / reduction
 * wide (at least 1), as the benchmark's CBAM ResNets ask. */
static bool
gates_by_reduction (void)
{
  TinySpec s = tiny_spec_default ();
  s.widths[0] = 8;
  s.widths[1] = 40;
  s.hidden = 3;
  s.reduction = 16;
  AttnModel *m = load_spec (&s);
  bool ok = m != NULL && m->n_blocks == 2;
  for (int i = 0; ok && i < m->n_blocks; i++) {
    int want = m->blocks[i].c_out / 16 > 1 ? m->blocks[i].c_out / 16 : 1;
    if (m->blocks[i].hidden != want) {
      printf ("# block %d: hidden %d, expected %d\n", i, m->blocks[i].hidden,
              want);
      ok = false;
    }
  }
  attn_model_unref (m);
  return ok;
}

/* Loads the spec, runs it at (h, w), checks the outputs are sane. */
static bool
runs (const TinySpec *s, int h, int w)
{
  char err[512] = "";
  AttnModel *m = load_spec (s);
  if (!m)
    return false;
  int n_blocks = 0;
  for (int i = 0; i < s->n_stages; i++)
    n_blocks += s->layers[i];
  bool ok = m->n_blocks == n_blocks && m->num_classes == s->num_classes
      && strcmp (m->labels[s->num_classes - 1], "label 2") == 0
      && strcmp (m->name, "tiny") == 0 && m->pre.width == s->input
      && m->pre.mean[0] == 0.5f && (m->stn != NULL) == s->stn;
  AttnNet *net = attn_net_new (m, h, w, err, sizeof err);
  if (!net) {
    printf ("# planning %dx%d failed: %s\n", w, h, err);
    attn_model_unref (m);
    return false;
  }
  Rng r = rng_new (3);
  fill_uniform (attn_net_input (net), (size_t) 3 * h * w, &r, -2, 2);
  attn_net_forward (net);
  const float *logits = attn_net_logits (net);
  for (int i = 0; i < s->num_classes; i++)
    ok &= isfinite (logits[i]);
  int want_gates = strcmp (s->attention, "none") == 0 ? 0 : n_blocks;
  ok &= attn_net_n_gates (net) == want_gates;
  for (int g = 0; g < attn_net_n_gates (net); g++) {
    const AttnGateOutput *o = attn_net_gate (net, g);
    for (int i = 0; i < o->channels; i++)
      ok &= o->channel[i] >= 0 && o->channel[i] <= 1;
    for (int i = 0; i < o->height * o->width; i++)
      ok &= o->spatial[i] >= 0 && o->spatial[i] <= 1;
    ok &= (o->spatial != NULL) == (strcmp (s->attention, "cbam") == 0);
  }
  const AttnGateOutput *fin = attn_net_final_map (net);
  ok &= (fin != NULL) == (strcmp (s->attention, "cbam") == 0);
  if (fin)
    ok &= fin == attn_net_gate (net, attn_net_n_gates (net) - 1);
  ok &= (attn_net_theta (net) != NULL) == s->stn;
  ok &= (m->decoder != NULL) == (s->decoder != 0) && sequence_ok (net, s);
  ok &= attn_net_macs (net) > 0 && attn_net_arena_bytes (net) > 0;
  ok &= profile_ok (net, m);
  /* forward is deterministic: a second run gives the same logits */
  float first[16];
  memcpy (first, logits, sizeof (float) * MIN (s->num_classes, 16));
  attn_net_forward (net);
  ok &= memcmp (first, logits, sizeof (float) * MIN (s->num_classes, 16)) == 0;
  attn_net_free (net);
  attn_model_unref (m);         /* the net borrowed it */
  return ok;
}

/* Net of m at h×w planned under the layout policy, its input filled,
 * forwarded. */
static AttnNet *
planned (const AttnModel *m, int h, int w, AttnLayoutPolicy layout)
{
  char err[512] = "";
  AttnLayoutPolicy was = attn_net_layout_policy ();
  attn_net_set_layout_policy (layout);
  AttnNet *net = attn_net_new (m, h, w, err, sizeof err);
  attn_net_set_layout_policy (was);
  if (!net) {
    printf ("# planning %dx%d failed: %s\n", w, h, err);
    return NULL;
  }
  Rng r = rng_new (5);
  fill_uniform (attn_net_input (net), (size_t) 3 * h * w, &r, -2, 2);
  attn_net_forward (net);
  return net;
}

/* a and b within tolerance: |a − b| ≤ 1e-4·max(1, |a|max) */
static bool
near (const char *what, const float *a, const float *b, size_t n)
{
  float scale = 1.0f;
  for (size_t i = 0; i < n; i++)
    scale = fabsf (a[i]) > scale ? fabsf (a[i]) : scale;
  for (size_t i = 0; i < n; i++)
    if (!(fabsf (a[i] - b[i]) <= 1e-4f * scale)) {
      printf ("# %s[%zu]: %.9g against %.9g\n", what, i, a[i], b[i]);
      return false;
    }
  return true;
}

/* The blocked layout against NCHW on one spec, under a Winograd policy:
 * every block but the last on blocked maps; the logits, every gate's
 * channel and spatial maps, the last block's taps within 1e-4 of the
 * NCHW net's; the profile's steps as many and stamped; two blocked nets
 * forwarded together give the same logits as one. */
static bool
blocked_matches (const TinySpec *s, int h, int w, AttnWinogradPolicy wino)
{
  AttnModel *m = load_spec (s);
  if (!m)
    return false;
  attn_winograd_set_policy (wino);
  AttnNet *a = planned (m, h, w, ATTN_LAYOUT_NCHW);
  AttnNet *b = planned (m, h, w, ATTN_LAYOUT_BLOCKED);
  AttnNet *b2 = planned (m, h, w, ATTN_LAYOUT_BLOCKED);
  attn_winograd_set_policy (ATTN_WINOGRAD_AUTO);
  bool ok = a && b && b2;
  if (ok && (attn_net_blocked_blocks (a) != 0
             || attn_net_blocked_blocks (b) != m->n_blocks - 1)) {
    printf ("# blocked blocks: %d and %d of %d\n",
            attn_net_blocked_blocks (a), attn_net_blocked_blocks (b),
            m->n_blocks);
    ok = false;
  }
  if (ok) {
    int nc = m->num_classes;
    ok = near ("logits", attn_net_logits (a), attn_net_logits (b), nc);
    for (int g = 0; ok && g < attn_net_n_gates (a); g++) {
      const AttnGateOutput *ga = attn_net_gate (a, g), *gb = attn_net_gate (b,
                                                                         g);
      ok = near ("channel gate", ga->channel, gb->channel, ga->channels)
          && (!ga->spatial || near ("spatial gate", ga->spatial, gb->spatial,
                                    (size_t) ga->height * ga->width));
    }
    AttnBlockTaps ta, tb;
    attn_net_last_block (a, &ta);
    attn_net_last_block (b, &tb);
    ok = ok && near ("last block's input", ta.input, tb.input,
                     (size_t) ta.block->conv1.p.c_in * ta.h_in * ta.w_in)
        && near ("last block's output", ta.output, tb.output,
                 (size_t) ta.block->c_out * ta.h * ta.w);
    /* side by side: the same as alone, up to the sum order (the NCHW
     * last block's products split differently on one thread) */
    float one[64];
    memcpy (one, attn_net_logits (b), sizeof (float) * MIN (nc, 64));
    AttnNet *both[2] = { b, b2 };
    ok = ok && attn_net_forward_many (both, 2, NULL, 0)
        && near ("side by side", one, attn_net_logits (b), MIN (nc, 64))
        && near ("side by side", one, attn_net_logits (b2), MIN (nc, 64));
    ok = ok && profile_ok (b, m);
  }
  attn_net_free (a);
  attn_net_free (b);
  attn_net_free (b2);
  attn_model_unref (m);
  return ok;
}

/* The steps of spec s on h×w, blocked (forced), under a Winograd policy,
 * whose method says the NCHW Winograd ran inside ("relaid"); −1 when the
 * net could not be made. */
static int
relaid_steps (const TinySpec *s, int h, int w, AttnWinogradPolicy wino)
{
  AttnModel *m = load_spec (s);
  if (!m)
    return -1;
  attn_winograd_set_policy (wino);
  AttnNet *b = planned (m, h, w, ATTN_LAYOUT_BLOCKED);
  attn_winograd_set_policy (ATTN_WINOGRAD_AUTO);
  int n = -1;
  if (b) {
    const AttnLayerTime *t;
    int forwards;
    attn_net_set_profiling (b, true);
    attn_net_forward (b);
    int steps = attn_net_profile (b, &t, &forwards);
    n = 0;
    for (int i = 0; i < steps; i++)
      n += strstr (t[i].method, "relaid") != NULL;
  }
  attn_net_free (b);
  attn_model_unref (m);
  return n;
}

typedef void (*Mutator) (ModelBuilder *mb);

static void m_no_format (ModelBuilder *mb) { mb_meta (mb, "format", NULL); }
static void m_bad_format (ModelBuilder *mb) { mb_meta (mb, "format", "onnx"); }
static void m_version (ModelBuilder *mb) { mb_meta (mb, "format_version", "2"); }
static void m_no_arch (ModelBuilder *mb) { mb_meta (mb, "architecture", NULL); }
static void m_arch_json (ModelBuilder *mb) { mb_meta (mb, "architecture", "{\"family\":"); }
static void m_arch_array (ModelBuilder *mb) { mb_meta (mb, "architecture", "[1]"); }
/* The architecture every mutation starts from (tiny_spec_default's). */
static const char base_arch[] = "{\"family\":\"resnet\",\"block\":\"basic\","
    "\"layers\":[1,1],\"widths\":[4,8],\"stem_width\":4,"
    "\"stem_pool\":{\"kernel\":3,\"stride\":2,\"pad\":1,\"ceil_mode\":false},"
    "\"stride_on\":\"3x3\",\"attention\":\"cbam\",\"spatial_kernel\":7,"
    "\"num_classes\":3,\"bn_eps\":1e-5}";
static const char *arch_from, *arch_to;

/* The architecture with its first arch_from replaced by arch_to. */
static void
m_arch_sub (ModelBuilder *mb)
{
  const char *at = strstr (base_arch, arch_from);
  g_assert (at);
  GString *g = g_string_new_len (base_arch, at - base_arch);
  g_string_append (g, arch_to);
  g_string_append (g, at + strlen (arch_from));
  mb_meta (mb, "architecture", g->str);
  g_string_free (g, TRUE);
}
static void m_missing_tensor (ModelBuilder *mb) { mb_remove (mb, "layer2.0.conv2.weight"); }
static void m_missing_bn (ModelBuilder *mb) { mb_remove (mb, "layer1.0.bn1.running_var"); }
static void m_missing_fc (ModelBuilder *mb) { mb_remove (mb, "fc.bias"); }
static void m_missing_spatial (ModelBuilder *mb) { mb_remove (mb, "layer1.0.cbam.spatial.conv.weight"); }
static void
m_wrong_shape (ModelBuilder *mb)
{
  mb_tensor (mb, "layer1.0.conv1.weight", 4, (int64_t[]) { 4, 4, 5, 5 }, NULL,
             -1, 1);
}
static void
m_wrong_ndim (ModelBuilder *mb)
{
  mb_tensor (mb, "fc.weight", 1, (int64_t[]) { 24 }, NULL, -1, 1);
}
static void
m_mlp_mismatch (ModelBuilder *mb)
{
  mb_tensor (mb, "layer1.0.cbam.mlp2.weight", 2, (int64_t[]) { 4, 3 }, NULL,
             -1, 1);
}
static void
m_extra (ModelBuilder *mb)
{
  mb_tensor (mb, "layer9.0.conv1.weight", 1, (int64_t[]) { 2 }, NULL, 0, 1);
}
static void m_nan (ModelBuilder *mb) { mb_poke (mb, "layer1.0.conv2.weight", 5, NAN); }
static void m_inf (ModelBuilder *mb) { mb_poke (mb, "fc.bias", 1, INFINITY); }
static void m_neg_var (ModelBuilder *mb) { mb_poke (mb, "stem.bn.running_var", 2, -1.0f); }
static void m_labels_count (ModelBuilder *mb) { mb_meta (mb, "labels", "[\"a\",\"b\"]"); }
static void m_labels_type (ModelBuilder *mb) { mb_meta (mb, "labels", "[\"a\",2,\"c\"]"); }
static void m_labels_json (ModelBuilder *mb) { mb_meta (mb, "labels", "{\"a\":1}"); }
static void m_pre_json (ModelBuilder *mb) { mb_meta (mb, "preprocess", "nope"); }
static void m_pre_std (ModelBuilder *mb) { mb_meta (mb, "preprocess", "{\"std\":[0.2,0,0.2]}"); }
static void m_pre_mean (ModelBuilder *mb) { mb_meta (mb, "preprocess", "{\"mean\":[0.2,0.2]}"); }
static void m_pre_width (ModelBuilder *mb) { mb_meta (mb, "preprocess", "{\"width\":0}"); }
static void m_pre_color (ModelBuilder *mb) { mb_meta (mb, "preprocess", "{\"color\":\"YUV\"}"); }
static void m_pre_resize (ModelBuilder *mb) { mb_meta (mb, "preprocess", "{\"resize\":\"zoom\"}"); }

/* ---- JSON the loader must refuse before json-glib parses it ------------- */

/* Deep enough to exhaust json-glib's recursive parser (SIGSEGV before
 * json_guard.c: the loader crashed on each of these three documents). */
#define DEEP 100000

static void
meta_repeat (ModelBuilder *mb, const char *key, const char *pre,
             const char *unit, int n, const char *post)
{
  char *v = mb_repeat (pre, unit, n, post);
  mb_meta (mb, key, v);
  g_free (v);
}
static void m_deep_arch (ModelBuilder *mb) { meta_repeat (mb, "architecture", "{\"family\":", "[", DEEP, ""); }
static void m_deep_pre (ModelBuilder *mb) { meta_repeat (mb, "preprocess", "", "{\"a\":", DEEP, ""); }
static void m_deep_labels (ModelBuilder *mb) { meta_repeat (mb, "labels", "", "[", DEEP, ""); }
static void m_deep_closed (ModelBuilder *mb) { meta_repeat (mb, "architecture", "{\"family\":\"resnet\",\"x\":", "[", 65, "]"); }
static void m_long_label (ModelBuilder *mb) { meta_repeat (mb, "labels", "[\"a\",\"", "x", 5000, "\",\"c\"]"); }
static void m_long_key (ModelBuilder *mb) { meta_repeat (mb, "architecture", "{\"", "k", 2000, "\":1}"); }
static void m_long_color (ModelBuilder *mb) { meta_repeat (mb, "preprocess", "{\"color\":\"", "R", 5000, "\"}"); }
static void m_long_number (ModelBuilder *mb) { meta_repeat (mb, "preprocess", "{\"scale\":0.", "0", 300, "1}"); }
static void m_many_labels (ModelBuilder *mb) { meta_repeat (mb, "labels", "[", "\"a\",", 200000, "\"a\"]"); }
static void m_many_layers (ModelBuilder *mb) { meta_repeat (mb, "architecture", "{\"layers\":[", "1,", 200000, "1]}"); }
static void
m_many_members (ModelBuilder *mb)
{
  GString *g = g_string_new ("{");
  for (int i = 0; i < 140000; i++)
    g_string_append_printf (g, "\"k%d\":0,", i);
  g_string_append (g, "\"width\":32}");
  mb_meta (mb, "preprocess", g->str);
  g_string_free (g, TRUE);
}
static void
m_many_values (ModelBuilder *mb)
{
  /* 11 arrays of 100,000: each under the entry limit, all over the values */
  char *inner = mb_repeat ("[", "0,", 99999, "0],");
  GString *g = g_string_new ("[");
  for (int i = 0; i < 11; i++)
    g_string_append (g, inner);
  g_string_append (g, "0]");
  mb_meta (mb, "labels", g->str);
  g_string_free (g, TRUE);
  g_free (inner);
}
static void m_pre_dup (ModelBuilder *mb) { mb_meta (mb, "preprocess", "{\"width\":32,\"height\":32,\"width\":64}"); }
static void m_pre_mean_inf (ModelBuilder *mb) { mb_meta (mb, "preprocess", "{\"mean\":[0.5,1e999,0.5]}"); }
static void m_pre_std_inf (ModelBuilder *mb) { mb_meta (mb, "preprocess", "{\"std\":[0.2,0.2,-1E+999]}"); }
static void m_pre_scale_inf (ModelBuilder *mb) { mb_meta (mb, "preprocess", "{\"scale\":1e999}"); }
static void m_label_high (ModelBuilder *mb) { mb_meta (mb, "labels", "[\"a\",\"\\ud800\",\"c\"]"); }
static void m_label_low (ModelBuilder *mb) { mb_meta (mb, "labels", "[\"a\",\"x\\udc00\",\"c\"]"); }
static void m_label_broken_pair (ModelBuilder *mb) { mb_meta (mb, "labels", "[\"a\",\"\\ud83d\\u0041\",\"c\"]"); }
static void m_label_nul (ModelBuilder *mb) { mb_meta (mb, "labels", "[\"a\",\"b\\u0000c\",\"d\"]"); }
static void m_label_utf8 (ModelBuilder *mb) { mb_meta (mb, "labels", "[\"a\",\"\xc3\x28\",\"c\"]"); }
static void m_label_escape (ModelBuilder *mb) { mb_meta (mb, "labels", "[\"a\",\"\\x41\",\"c\"]"); }

typedef struct {
  const char *what;
  Mutator mutate;
  const char *from, *to;   /* for m_arch_sub */
  const char *needle;      /* the message must contain this */
} Bad;

static const Bad bad[] = {
  { "no format tag", m_no_format, NULL, NULL, "'format' is missing" },
  { "another format", m_bad_format, NULL, NULL, "'format' is 'onnx'" },
  { "a future format version", m_version, NULL, NULL, "format_version '2'" },
  { "no architecture", m_no_arch, NULL, NULL, "no 'architecture'" },
  { "architecture not JSON", m_arch_json, NULL, NULL, "'architecture' is not valid JSON" },
  { "architecture not an object", m_arch_array, NULL, NULL, "'architecture' must be a JSON object" },
  { "unknown family", m_arch_sub, "\"resnet\"", "\"vit\"", "'family' is 'vit'" },
  { "unknown block", m_arch_sub, "\"basic\"", "\"dense\"", "'block' is 'dense'" },
  { "zero depth stage", m_arch_sub, "[1,1]", "[1,0]", "'layers'[1]" },
  { "absurd depth", m_arch_sub, "[1,1]", "[1,100000]", "'layers'[1]" },
  { "five stages", m_arch_sub, "[1,1],\"widths\":[4,8]", "[1,1,1,1,1],\"widths\":[4,8,8,8,8]", "'layers' must have 1 to 4" },
  { "no stages", m_arch_sub, "[1,1]", "[]", "'layers' must have 1 to 4" },
  { "layers/widths disagree", m_arch_sub, "[4,8]", "[4,8,16]", "'widths' has 3" },
  { "zero width", m_arch_sub, "[4,8]", "[4,0]", "'widths'[1]" },
  { "absurd width", m_arch_sub, "[4,8]", "[4,1000000]", "'widths'[1]" },
  { "width as string", m_arch_sub, "[4,8]", "[4,\"8\"]", "'widths'[1]" },
  { "missing num_classes", m_arch_sub, ",\"num_classes\":3", "", "missing 'num_classes'" },
  { "zero classes", m_arch_sub, "\"num_classes\":3", "\"num_classes\":0", "'num_classes' must be" },
  { "classes contradict fc", m_arch_sub, "\"num_classes\":3", "\"num_classes\":5", "'fc.weight' has shape [3, 8], expected [5, 8]" },
  { "attention contradicts tensors", m_arch_sub, "\"cbam\"", "\"se\"", "missing tensor 'layer1.0.se.fc1.weight'" },
  { "attention none with gate tensors", m_arch_sub, "\"cbam\"", "\"none\"", "is not used by the declared architecture" },
  { "unknown attention", m_arch_sub, "\"cbam\"", "\"transformer\"", "'attention' is 'transformer'" },
  { "even spatial kernel", m_arch_sub, "\"spatial_kernel\":7", "\"spatial_kernel\":6", "must be odd" },
  { "stem width contradicts tensors", m_arch_sub, "\"stem_width\":4", "\"stem_width\":5", "'stem.conv.weight' has shape" },
  { "bad stem pool", m_arch_sub, "\"pad\":1", "\"pad\":3", "stem_pool: 'pad'" },
  { "negative eps", m_arch_sub, "1e-5", "-1", "'bn_eps'" },
  { "stn not an object", m_arch_sub, ",\"bn_eps\":1e-5", ",\"bn_eps\":1e-5,\"stn\":5", "'stn' must be an object" },
  { "stn without theta", m_arch_sub, ",\"bn_eps\":1e-5", ",\"bn_eps\":1e-5,\"stn\":{\"layers\":[{\"type\":\"relu\"}]}", "must end in 6 values" },
  { "missing conv weight", m_missing_tensor, NULL, NULL, "missing tensor 'layer2.0.conv2.weight'" },
  { "missing BN statistic", m_missing_bn, NULL, NULL, "missing tensor 'layer1.0.bn1.running_var'" },
  { "missing fc bias", m_missing_fc, NULL, NULL, "missing tensor 'fc.bias'" },
  { "missing spatial gate", m_missing_spatial, NULL, NULL, "missing tensor 'layer1.0.cbam.spatial.conv.weight'" },
  { "wrong kernel size", m_wrong_shape, NULL, NULL, "'layer1.0.conv1.weight' has shape [4, 4, 5, 5], expected [4, 4, 3, 3]" },
  { "wrong rank", m_wrong_ndim, NULL, NULL, "'fc.weight' has shape [24]" },
  { "gate MLP widths disagree", m_mlp_mismatch, NULL, NULL, "'layer1.0.cbam.mlp2.weight' has shape [4, 3], expected [4, 2]" },
  { "unused tensor", m_extra, NULL, NULL, "'layer9.0.conv1.weight' is not used" },
  { "NaN weight", m_nan, NULL, NULL, "'layer1.0.conv2.weight' holds a non-finite value (nan) at element 5" },
  { "Inf bias", m_inf, NULL, NULL, "'fc.bias' holds a non-finite value (inf)" },
  { "negative running_var", m_neg_var, NULL, NULL, "'stem.bn.running_var' is negative" },
  { "label count", m_labels_count, NULL, NULL, "'labels' has 2 entries but the model has 3 classes" },
  { "label not a string", m_labels_type, NULL, NULL, "'labels'[1] is not a string" },
  { "labels not an array", m_labels_json, NULL, NULL, "'labels' must be a JSON array" },
  { "preprocess not JSON", m_pre_json, NULL, NULL, "'preprocess' is not valid JSON" },
  { "zero std", m_pre_std, NULL, NULL, "'std'[1]" },
  { "two means", m_pre_mean, NULL, NULL, "'mean' must be an array of 3" },
  { "zero input width", m_pre_width, NULL, NULL, "'width' must be an integer" },
  { "unknown colour order", m_pre_color, NULL, NULL, "'color' is 'YUV'" },
  { "unknown resize", m_pre_resize, NULL, NULL, "'resize' is 'zoom'" },
  /* JSON refused by json_guard.c before json-glib sees it */
  { "architecture nested 100,000 deep", m_deep_arch, NULL, NULL, "'architecture' refused before parsing: arrays or objects nested deeper than 64 levels" },
  { "preprocess nested 100,000 deep", m_deep_pre, NULL, NULL, "'preprocess' refused before parsing: arrays or objects nested deeper than 64 levels" },
  { "labels nested 100,000 deep", m_deep_labels, NULL, NULL, "'labels' refused before parsing: arrays or objects nested deeper than 64 levels" },
  { "architecture nested 66 deep, balanced", m_deep_closed, NULL, NULL, "nested deeper than 64 levels (at byte 86)" },
  { "a 5000-byte label", m_long_label, NULL, NULL, "'labels' refused before parsing: a string at byte 5 is longer than 4096 bytes" },
  { "a 2000-byte architecture key", m_long_key, NULL, NULL, "a key at byte 1 is longer than 1024 bytes" },
  { "a 5000-byte colour order", m_long_color, NULL, NULL, "'preprocess' refused before parsing: a string at byte 9" },
  { "a 303-character number", m_long_number, NULL, NULL, "number at byte 9 is longer than 256 characters" },
  { "200,001 labels", m_many_labels, NULL, NULL, "the array at byte 0 has more than 131072 entries" },
  { "200,001 stages", m_many_layers, NULL, NULL, "the array at byte 10 has more than 131072 entries" },
  { "140,001 preprocess members", m_many_members, NULL, NULL, "the object at byte 0 has more than 131072 members" },
  { "1.1 million values in labels", m_many_values, NULL, NULL, "more than 1048576 values" },
  { "num_classes twice, disagreeing", m_arch_sub, "\"num_classes\":3", "\"num_classes\":3,\"num_classes\":5", "key 'num_classes' appears twice in one object" },
  { "num_classes twice, once escaped", m_arch_sub, "\"num_classes\":3", "\"num_classes\":3,\"num_\\u0063lasses\":3", "key 'num_classes' appears twice" },
  { "stem_pool kernel twice", m_arch_sub, "\"kernel\":3", "\"kernel\":3,\"kernel\":7", "key 'kernel' appears twice" },
  { "preprocess width twice", m_pre_dup, NULL, NULL, "'preprocess' refused before parsing: key 'width' appears twice" },
  { "bn_eps 1e999", m_arch_sub, "1e-5", "1e999", "number 1e999 at byte" },
  { "a width past 2^64", m_arch_sub, "[4,8]", "[4,99999999999999999999]", "integer 99999999999999999999 at byte" },
  { "a width of -2^63 - 1", m_arch_sub, "[4,8]", "[4,-9223372036854775809]", "outside the 64-bit range" },
  { "num_classes 1e400", m_arch_sub, "\"num_classes\":3", "\"num_classes\":1e400", "number 1e400 at byte" },
  { "a mean of 1e999", m_pre_mean_inf, NULL, NULL, "'preprocess' refused before parsing: number 1e999" },
  { "a std of -1E+999", m_pre_std_inf, NULL, NULL, "number -1E+999" },
  { "a scale of 1e999", m_pre_scale_inf, NULL, NULL, "number 1e999 at byte 9" },
  { "a label with a lone high surrogate", m_label_high, NULL, NULL, "'labels' refused before parsing: lone UTF-16 surrogate \\uD800" },
  { "a label with a lone low surrogate", m_label_low, NULL, NULL, "lone UTF-16 surrogate \\uDC00" },
  { "a label with a broken surrogate pair", m_label_broken_pair, NULL, NULL, "lone UTF-16 surrogate \\uD83D" },
  { "a label with \\u0000", m_label_nul, NULL, NULL, "'labels' refused before parsing: a string holds \\u0000" },
  { "a label of invalid UTF-8", m_label_utf8, NULL, NULL, "header refused before parsing: invalid UTF-8 at byte" },
  { "a label with an invalid escape", m_label_escape, NULL, NULL, "invalid escape in a string" },
};

/* The decoder head (TinySpec.decoder 1: GRU, additive, gated), as the
 * builder writes it; the cases below mutate it. */
static const char dec_arch[] = ",\"decoder\":{\"cell\":\"gru\","
    "\"attention\":\"additive\",\"hidden\":6,\"embed\":3,"
    "\"attention_dim\":5,\"gate\":true,"
    "\"vocabulary\":[\"<s>\",\"</s>\",\"a\",\"b\",\"c\"],"
    "\"start\":0,\"end\":1,\"max_length\":4}";
static void
m_dec_sub (ModelBuilder *mb)
{
  GString *d = g_string_new (dec_arch);
  if (arch_from) {
    const char *at = strstr (dec_arch, arch_from);
    g_assert (at);
    g_string_truncate (d, at - dec_arch);
    g_string_append (d, arch_to);
    g_string_append (d, at + strlen (arch_from));
  }
  GString *g = g_string_new_len (base_arch, sizeof base_arch - 2);
  g_string_append_printf (g, "%s}", d->str);
  mb_meta (mb, "architecture", g->str);
  g_string_free (g, TRUE);
  g_string_free (d, TRUE);
}
static void m_dec_no_out (ModelBuilder *mb) { mb_remove (mb, "decoder.out.bias"); }
static void m_dec_gate_gone (ModelBuilder *mb) { mb_remove (mb, "decoder.gate.weight"); mb_remove (mb, "decoder.gate.bias"); }
static void m_dec_nan (ModelBuilder *mb) { mb_poke (mb, "decoder.cell.weight_hh", 7, NAN); }
static void
m_dec_embed_shape (ModelBuilder *mb)
{
  mb_tensor (mb, "decoder.embed.weight", 2, (int64_t[]) { 4, 3 }, NULL, -1, 1);
}
static void
m_dec_lstm_shape (ModelBuilder *mb)
{
  /* the architecture says LSTM but the cell holds GRU's 3 gates */
  arch_from = "\"gru\"";
  arch_to = "\"lstm\"";
  m_dec_sub (mb);
  mb_tensor (mb, "decoder.init_c.weight", 2, (int64_t[]) { 6, 8 }, NULL, -1, 1);
  mb_tensor (mb, "decoder.init_c.bias", 1, (int64_t[]) { 6 }, NULL, -1, 1);
}

/* Decoder cases start from a model with TinySpec.decoder 1. */
static const Bad bad_decoder[] = {
  { "decoder not an object", m_arch_sub, ",\"bn_eps\":1e-5", ",\"bn_eps\":1e-5,\"decoder\":[]", "'decoder' must be an object" },
  { "decoder cell unknown", m_dec_sub, "\"gru\"", "\"rnn\"", "architecture.decoder: 'cell' is 'rnn'" },
  { "decoder attention unknown", m_dec_sub, "\"additive\"", "\"multihead\"", "'attention' is 'multihead'" },
  { "decoder without hidden", m_dec_sub, "\"hidden\":6,", "", "architecture.decoder: missing 'hidden'" },
  { "decoder hidden 0", m_dec_sub, "\"hidden\":6", "\"hidden\":0", "'hidden' must be an integer in [1, 8192]" },
  { "decoder embed huge", m_dec_sub, "\"embed\":3", "\"embed\":100000", "'embed' must be an integer in [1, 8192]" },
  { "decoder additive without attention_dim", m_dec_sub, "\"attention_dim\":5,", "", "missing 'attention_dim'" },
  { "decoder dot with attention_dim", m_dec_sub, "\"additive\"", "\"dot\"", "'attention_dim' must be an integer in [0, 0]" },
  { "decoder gate not a boolean", m_dec_sub, "\"gate\":true", "\"gate\":1", "'gate' must be true or false" },
  { "decoder vocabulary of one", m_dec_sub, "[\"<s>\",\"</s>\",\"a\",\"b\",\"c\"]", "[\"<s>\"]", "'vocabulary' must be an array of 2 to 100000 strings" },
  { "decoder vocabulary not an array", m_dec_sub, "[\"<s>\",\"</s>\",\"a\",\"b\",\"c\"]", "\"abc\"", "'vocabulary' must be an array" },
  { "decoder empty token", m_dec_sub, "\"b\"", "\"\"", "'vocabulary'[3] must be a non-empty UTF-8 string" },
  { "decoder token a number", m_dec_sub, "\"b\"", "7", "'vocabulary'[3] must be a non-empty" },
  { "decoder start out of range", m_dec_sub, "\"start\":0", "\"start\":5", "'start' must be an integer in [0, 4]" },
  { "decoder end negative", m_dec_sub, "\"end\":1", "\"end\":-1", "'end' must be an integer in [0, 4]" },
  { "decoder start equals end", m_dec_sub, "\"end\":1", "\"end\":0", "'start' and 'end' must be different tokens" },
  { "decoder max_length 0", m_dec_sub, "\"max_length\":4", "\"max_length\":0", "'max_length' must be an integer in [1, 256]" },
  { "decoder max_length 1000", m_dec_sub, "\"max_length\":4", "\"max_length\":1000", "'max_length' must be an integer in [1, 256]" },
  { "decoder vocabulary contradicts embed", m_dec_sub, ",\"c\"]", ",\"c\",\"d\"]", "'decoder.embed.weight' has shape [5, 3], expected [6, 3]" },
  { "decoder hidden contradicts init_h", m_dec_sub, "\"hidden\":6", "\"hidden\":7", "'decoder.init_h.weight' has shape [6, 8], expected [7, 8]" },
  { "decoder LSTM with GRU weights", m_dec_lstm_shape, NULL, NULL, "'decoder.cell.weight_ih' has shape [18, 11], expected [24, 11]" },
  { "decoder without gate tensors", m_dec_gate_gone, NULL, NULL, "missing tensor 'decoder.gate.weight'" },
  { "decoder gate false with gate tensors", m_dec_sub, "\"gate\":true", "\"gate\":false", "tensor 'decoder.gate." },
  { "decoder tensors without a decoder", m_arch_sub, "1e-5", "1e-5", "tensor 'decoder." },
  { "decoder missing out.bias", m_dec_no_out, NULL, NULL, "missing tensor 'decoder.out.bias'" },
  { "decoder embed wrong shape", m_dec_embed_shape, NULL, NULL, "'decoder.embed.weight' has shape [4, 3], expected [5, 3]" },
  { "decoder NaN weight", m_dec_nan, NULL, NULL, "'decoder.cell.weight_hh' holds a non-finite value (nan) at element 7" },
};

static bool
rejects_with (const Bad *b, int decoder)
{
  ModelBuilder *mb = mb_new ();
  TinySpec s = tiny_spec_default ();
  s.decoder = decoder;
  mb_tiny (mb, &s);
  arch_from = b->from;
  arch_to = b->to;
  b->mutate (mb);
  char err[1024] = "";
  AttnModel *m = load (mb, err, sizeof err);
  mb_free (mb);
  bool ok = m == NULL && strstr (err, b->needle) != NULL
      && strstr (err, "tiny.safetensors") != NULL;
  if (!ok)
    printf ("# expected an error with \"%s\", got: %s\n", b->needle,
            m ? "(loaded)" : err);
  attn_model_unref (m);
  return ok;
}

static bool
rejects (const Bad *b)
{
  return rejects_with (b, 0);
}

static bool
test_shared (void)
{
  ModelBuilder *mb = mb_new ();
  TinySpec s = tiny_spec_default ();
  mb_tiny (mb, &s);
  char *path = mb_write_tmp (mb);
  mb_free (mb);
  char err[512];
  AttnModel *a = attn_model_open_shared (path, err, sizeof err);
  AttnModel *b = attn_model_open_shared (path, err, sizeof err);
  AttnModel *c = attn_model_load (path, err, sizeof err);
  bool ok = a && a == b && c && c != a && strcmp (a->path, path) == 0;
  /* the shared model outlives one unref; a net borrows it meanwhile */
  attn_model_unref (b);
  AttnNet *net = attn_net_new (a, 32, 32, err, sizeof err);
  ok &= net != NULL;
  if (net) {
    attn_net_forward (net);
    ok &= isfinite (attn_net_logits (net)[0]);
    attn_net_free (net);
  }
  attn_model_unref (a);
  attn_model_unref (c);
  ok &= attn_model_open_shared ("/nonexistent.safetensors", err, sizeof err)
      == NULL && strstr (err, "/nonexistent.safetensors: cannot open");
  g_unlink (path);
  g_free (path);
  return ok;
}

static bool
test_plan_errors (void)
{
  ModelBuilder *mb = mb_new ();
  TinySpec s = tiny_spec_default ();
  s.stn = true;
  mb_tiny (mb, &s);
  char err[512] = "";
  AttnModel *m = load (mb, err, sizeof err);
  mb_free (mb);
  if (!m) {
    printf ("# %s\n", err);
    return false;
  }
  bool ok = attn_net_new (m, 40, 32, err, sizeof err) == NULL
      && strstr (err, "this model runs at 32×32");
  ok &= attn_net_new (m, 0, 32, err, sizeof err) == NULL
      && strstr (err, "outside 1..");
  ok &= attn_net_new (m, 32, 100000, err, sizeof err) == NULL;
  AttnNet *net = attn_net_new (m, 32, 32, err, sizeof err);
  ok &= net != NULL;
  attn_net_free (net);
  attn_model_unref (m);
  return ok;
}

/* Tens of thousands of metadata entries, nesting at the limit and escaped
 * non-ASCII labels (a surrogate pair among them) load, as valid UTF-8. */
static bool
test_json_within_limits (void)
{
  ModelBuilder *mb = mb_new ();
  TinySpec s = tiny_spec_default ();
  mb_tiny (mb, &s);
  char key[32];
  for (int i = 0; i < 30000; i++) {
    snprintf (key, sizeof key, "extra.%d", i);
    mb_meta (mb, key, "x");
  }
  mb_meta (mb, "labels", "[\"\\ud83d\\ude00\",\"caf\\u00e9\",\"\xe2\x82\xac\"]");
  /* an unused member nested to exactly the depth limit, 64 */
  char *open = mb_repeat ("", "[", 63, ""), *close = mb_repeat ("", "]", 63, "");
  char *arch = g_strdup_printf ("%.*s,\"x\":%s%s}", (int) strlen (base_arch) - 1,
                                base_arch, open, close);
  mb_meta (mb, "architecture", arch);
  g_free (arch);
  g_free (open);
  g_free (close);
  char err[1024] = "";
  gint64 t0 = g_get_monotonic_time ();
  AttnModel *m = load (mb, err, sizeof err);
  double secs = (g_get_monotonic_time () - t0) / 1e6;
  mb_free (mb);
  if (!m) {
    printf ("# rejected: %s\n", err);
    return false;
  }
  bool ok = strcmp (m->labels[0], "\xf0\x9f\x98\x80") == 0
      && strcmp (m->labels[1], "caf\xc3\xa9") == 0
      && strcmp (m->labels[2], "\xe2\x82\xac") == 0;
  printf ("# 30,000 metadata entries loaded in %.2f s\n", secs);
  attn_model_unref (m);
  return ok;
}

int
main (int argc, char **argv)
{
  TinySpec s = tiny_spec_default ();
  test_case ("basic cbam at 32x32", runs (&s, 32, 32));
  test_case ("basic cbam at odd 37x29", runs (&s, 37, 29));
  test_case ("basic cbam at 1x1", runs (&s, 1, 1));
  s.attention = "se";
  test_case ("basic se", runs (&s, 32, 32));
  s.attention = "none";
  test_case ("basic plain", runs (&s, 24, 40));
  s = tiny_spec_default ();
  s.block = "bottleneck";
  s.n_stages = 3;
  s.layers[0] = 2; s.layers[1] = 1; s.layers[2] = 2;
  s.widths[0] = 2; s.widths[1] = 4; s.widths[2] = 4;
  test_case ("bottleneck cbam 3 stages", runs (&s, 33, 31));
  s.stride_1x1 = true;
  s.cadene_pool = true;
  s.attention = "se";
  test_case ("bottleneck se, stride on 1x1, ceil-mode stem pool",
             runs (&s, 35, 35));
  s = tiny_spec_default ();
  s.stn = true;
  test_case ("basic cbam with an STN front end", runs (&s, 32, 32));
  test_case ("the builder's gates C/reduction wide (8 ch: 1, 40 ch: 2)",
             gates_by_reduction ());

  s = tiny_spec_default ();
  s.decoder = 1;
  test_case ("basic cbam with a GRU additive gated decoder", runs (&s, 32, 32));
  test_case ("the decoder at odd 37x29 (a 5x4 grid)", runs (&s, 37, 29));
  test_case ("the decoder at 1x1 (a 1x1 grid)", runs (&s, 1, 1));
  s.decoder = 2;
  s.block = "bottleneck";
  test_case ("bottleneck cbam with an LSTM dot-product decoder", runs (&s, 40, 24));

  /* the blocked layout (channels in whole blocks of 16) against NCHW */
  static const struct {
    AttnWinogradPolicy wino;
    const char *name;
  } winos[] = {
    { ATTN_WINOGRAD_F4, "winograd F(4,3)" },
    { ATTN_WINOGRAD_F2, "winograd F(2,3)" },
    { ATTN_WINOGRAD_NEVER, "direct 3x3" },
  };
  for (size_t k = 0; k < G_N_ELEMENTS (winos); k++) {
    char name[160];
    s = tiny_spec_default ();
    s.block = "bottleneck";
    s.n_stages = 3;
    s.layers[0] = 2; s.layers[1] = 2; s.layers[2] = 1;
    s.widths[0] = 32; s.widths[1] = 32; s.widths[2] = 64;
    s.stem_width = 32;
    snprintf (name, sizeof name, "blocked = NCHW: bottleneck cbam, %s",
              winos[k].name);
    test_case (name, blocked_matches (&s, 64, 64, winos[k].wino));
    s.attention = "se";
    s.stride_1x1 = true;
    s.cadene_pool = true;
    snprintf (name, sizeof name, "blocked = NCHW: bottleneck se, stride on "
              "1x1, odd 61x47, %s", winos[k].name);
    test_case (name, blocked_matches (&s, 61, 47, winos[k].wino));
    s = tiny_spec_default ();
    s.n_stages = 3;
    s.layers[0] = 2; s.layers[1] = 1; s.layers[2] = 1;
    s.widths[0] = 32; s.widths[1] = 64; s.widths[2] = 64;
    s.stem_width = 16;
    snprintf (name, sizeof name, "blocked = NCHW: basic cbam, %s",
              winos[k].name);
    test_case (name, blocked_matches (&s, 57, 64, winos[k].wino));
    s.attention = "none";
    snprintf (name, sizeof name, "blocked = NCHW: basic plain, %s",
              winos[k].name);
    test_case (name, blocked_matches (&s, 48, 48, winos[k].wino));
    /* (under valgrind, one tile: its plans and forwards cost minutes
     * there; the relaid path is the same code for both) */
    if (winos[k].wino == ATTN_WINOGRAD_NEVER
        || (winos[k].wino == ATTN_WINOGRAD_F4
            && g_getenv ("ATTN_UNDER_VALGRIND")))
      continue;
    /* 160 channels at 6² (1.6 MB of F(2,3) weights, 3.7 of F(4,3), output
     * channels ≥ 4 × the tiles): the middle block's 3×3 runs NCHW inside,
     * relaid, where the NCHW Winograd splits its weights over the cores */
    s = tiny_spec_default ();
    s.block = "bottleneck";
    s.n_stages = 2;
    s.layers[0] = 1; s.layers[1] = 3;
    s.widths[0] = 16; s.widths[1] = 160;
    s.stem_width = 16;
    snprintf (name, sizeof name, "blocked = NCHW: bottleneck cbam, 160 ch "
              "@6x6, relaid where the weights split, %s", winos[k].name);
    /* (on full-width multiply-adds: where they run at half rate the
     * blocked Winograd takes every layer) */
    bool was_half = attn_cpu_set_fma_half (false);
    int relaid = relaid_steps (&s, 48, 48, winos[k].wino);
    printf ("# %d step(s) relaid on %d core(s)\n", relaid,
            attn_parallel_cores ());
    test_case (name, blocked_matches (&s, 48, 48, winos[k].wino)
               && relaid == (attn_parallel_cores () > 1 ? 1 : 0));
    attn_cpu_set_fma_half (true);
    snprintf (name, sizeof name, "blocked = NCHW: bottleneck cbam, 160 ch "
              "@6x6 on half-width multiply-adds, none relaid, %s",
              winos[k].name);
    relaid = relaid_steps (&s, 48, 48, winos[k].wino);
    test_case (name, blocked_matches (&s, 48, 48, winos[k].wino)
               && relaid == 0);
    attn_cpu_set_fma_half (was_half);
  }

  /* under AUTO (blocked maps with AVX-512 only), blocks on 7² maps stay
   * NCHW on full-width multiply-adds and run blocked where they run at
   * half rate (the last block NCHW either way), the same logits within
   * 1e-4 */
  {
    TinySpec s7 = tiny_spec_default ();
    s7.block = "bottleneck";
    s7.n_stages = 1;
    s7.layers[0] = 3;
    s7.widths[0] = 32;
    s7.stem_width = 32;
    AttnModel *m7 = load_spec (&s7);
    bool was_half = attn_cpu_set_fma_half (false);
    AttnNet *full = m7 ? planned (m7, 28, 28, ATTN_LAYOUT_AUTO) : NULL;
    attn_cpu_set_fma_half (true);
    AttnNet *half = m7 ? planned (m7, 28, 28, ATTN_LAYOUT_AUTO) : NULL;
    attn_cpu_set_fma_half (was_half);
    bool ok = full && half;
    if (ok)
      printf ("# 7x7 maps: %d and %d of %d blocks blocked\n",
              attn_net_blocked_blocks (full), attn_net_blocked_blocks (half),
              m7->n_blocks);
    test_case ("AUTO: 7x7 maps NCHW on full-width multiply-adds, blocked "
               "at half rate, the same logits",
               ok && attn_net_blocked_blocks (full) == 0
               && attn_net_blocked_blocks (half)
               == (attn_cpu_isa () == ATTN_ISA_AVX512 ? m7->n_blocks - 1 : 0)
               && near ("logits", attn_net_logits (full),
                        attn_net_logits (half), m7->num_classes));
    attn_net_free (full);
    attn_net_free (half);
    if (m7)
      attn_model_unref (m7);
  }

  for (size_t i = 0; i < G_N_ELEMENTS (bad_decoder); i++) {
    char name[160];
    snprintf (name, sizeof name, "rejects %s", bad_decoder[i].what);
    test_case (name, rejects_with (&bad_decoder[i], 1));
  }

  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++) {
    char name[160];
    snprintf (name, sizeof name, "rejects %s", bad[i].what);
    test_case (name, rejects (&bad[i]));
  }
  test_case ("shared cache returns one model per file; nets hold references",
             test_shared ());
  test_case ("planning rejects sizes the model cannot run at",
             test_plan_errors ());
  test_case ("30,000 metadata entries, depth 64 and escaped non-ASCII labels load",
             test_json_within_limits ());
  return test_done ();
}
