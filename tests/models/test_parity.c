/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_parity.c — checkpoints converted by tools/convert.py, run by our
 * forward pass, agree with PyTorch running the source's own layout.
 *
 *   test_parity DIR
 *
 * For every DIR/NAME.io.safetensors written by tools/make_parity.py (official
 * CBAM, timm and Cadene SE-ResNets, torchvision ResNets; random weights and
 * BatchNorm statistics; non-square inputs): loads the model its "model"
 * metadata names, plans it at its "height" × "width", runs `input` and
 * compares `logits` and every gate's `map.layerL.B` (CBAM Ms, H × W) and
 * `channel.layerL.B` (CBAM Mc or SE s, C) with what attn_net_gate reports
 * under that name, and for a model with a Spatial Transformer `theta` (6)
 * with attn_net_theta; for a model with a decoder head, the greedy
 * `decoder.tokens` (int64, the end token included) with the sequence the
 * net decoded, and every step's `decoder.step.T.alpha` (H·W) and
 * `decoder.step.T.logits` (V) — α from the net's own greedy run, the logits
 * from a run of the decoder kernel on the net's last feature map, fed the
 * fixture's tokens. One TAP case per model × output; a gate (or θ) the
 * network has and the fixture lacks (or the other way round) fails too, and
 * so does a directory without fixtures. Each case prints its worst error.
 *
 * Every model runs four times: as planned, with every 3×3 stride-1
 * convolution on Winograd F(2×2, 3×3) (the reduced widths are below the
 * size where the planner picks it itself) — both with the products split
 * over every core — on Winograd again on one thread, reading the
 * filters another net of the model transformed (as streams share them),
 * and in the middle of a batch of three nets with every convolution one
 * product for all three (the batch's other nets must match their own
 * runs alone).
 *
 * Tolerance: max |ours − torch| <= 1e-4 · max(1, max |torch|) per output. */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "decoder.h"
#include "model.h"
#include "network.h"
#include "parallel.h"
#include "direct.h"
#include "winograd.h"

/* A shared pass where a model may have no transformed layer to share (the
 * direct kernel takes only C_out multiples of 32): then only its results
 * are checked. */
static bool share_none_ok;

#define REL_TOL 1e-4f

/* Compares `got` (n) with fixture tensor `tensor` of `io` (which must have
 * `n` elements and, when ndim > 0, the shape dims[0..ndim)). */
static bool
compare (AttnSafetensors *io, const char *tensor, const float *got, size_t n,
         const int *dims, int ndim, const char *what)
{
  const AttnTensorInfo *t = attn_safetensors_find (io, tensor);
  if (!t) {
    printf ("# %s: the fixture has no tensor '%s'\n", what, tensor);
    return false;
  }
  if (!got || t->numel != n) {
    printf ("# %s: the network gives %zu values, the fixture %zu\n", what,
            got ? n : 0, t->numel);
    return false;
  }
  if (ndim > 0) {
    bool same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
      same = t->shape[i] == dims[i];
    if (!same) {
      printf ("# %s: the network's shape is (%d, %d), the fixture's differs\n",
              what, dims[0], ndim > 1 ? dims[1] : 0);
      return false;
    }
  }
  float *ref = test_alloc (n);
  if (attn_tensor_to_f32 (ref, t) != 0) {
    printf ("# %s: '%s' is not a float tensor\n", what, tensor);
    free (ref);
    return false;
  }
  float scale = max_abs (ref, n);   /* max(1, max |ref|) */
  float atol = REL_TOL * scale;
  double worst = -1.0;
  size_t wi = 0;
  for (size_t i = 0; i < n; i++) {
    double e = fabs ((double) got[i] - ref[i]);
    if (isnan (e))
      e = INFINITY;
    if (e > worst) {
      worst = e;
      wi = i;
    }
  }
  printf ("# %s: max |err| %.3g at %zu (got %.9g, torch %.9g), tolerance %.3g\n",
          what, worst, wi, got[wi], ref[wi], atol);
  bool ok = check_close (what, got, ref, n, atol, 0.0f);
  free (ref);
  return ok;
}

static const char *
meta (AttnSafetensors *io, const char *key)
{
  const char *v = attn_safetensors_metadata (io, key);
  if (!v)
    printf ("# %s: no '%s' in __metadata__\n", attn_safetensors_source (io),
            key);
  return v;
}

/* share: the net under test reads its Winograd filters from another net
 * of the same model and size (as every stream of one model does in the
 * element), which is freed last. */
/* Runs `net` (input filled) in a batch of `batch` nets of its model: the
 * others read its weights (or its owner's), get other inputs (the net's
 * scaled and negated), and stand on both sides of it, so its outputs come
 * from the middle of each product. Afterwards each other net runs alone,
 * and its batched logits must equal those within the parity tolerance. */
static bool
forward_batched (AttnModel *m, int h, int w, AttnNet *net,
                 const AttnNet *owner, int batch, const char *stem)
{
  AttnNet *nets[ATTN_NET_MAX_BATCH];
  char err[512] = "";
  int mid = batch / 2;
  size_t in_n = (size_t) 3 * h * w;
  const float *x = attn_net_input (net);
  bool ok = true;
  for (int i = 0, k = 0; i < batch; i++) {
    if (i == mid) {
      nets[i] = net;
      continue;
    }
    nets[i] = attn_net_new_sharing (m, h, w, owner ? owner : net, err,
                                    sizeof err);
    if (!nets[i]) {
      printf ("# %s: %s\n", stem, err);
      for (int j = 0; j < i; j++)
        if (j != mid)
          attn_net_free (nets[j]);
      return false;
    }
    float *y = attn_net_input (nets[i]);
    k++;
    float s = (k % 2 ? -1.0f : 1.0f) * (0.5f + 0.25f * (float) k);
    for (size_t j = 0; j < in_n; j++)
      y[j] = s * x[(j * 7 + (size_t) k) % in_n];
  }
  size_t ws_n = attn_net_many_workspace (net, batch);
  float *ws = g_new (float, MAX (ws_n, 1));
  ok &= ws_n > 0;
  if (!ok)
    printf ("# %s: no layer runs batched\n", stem);
  ok &= attn_net_forward_many (nets, batch, ws, ws_n);
  g_free (ws);
  int nc = m->num_classes;
  float *batched = g_new (float, nc);
  for (int i = 0; i < batch; i++) {
    if (i == mid)
      continue;
    memcpy (batched, attn_net_logits (nets[i]), sizeof (float) * nc);
    attn_net_forward (nets[i]);
    float scale = max_abs (attn_net_logits (nets[i]), (size_t) nc);
    ok &= check_close ("a batch's other net vs alone", batched,
                       attn_net_logits (nets[i]), (size_t) nc,
                       REL_TOL * scale, 0);
    attn_net_free (nets[i]);
  }
  g_free (batched);
  return ok;
}

static void
run_batch (const char *dir, const char *io_name, const char *tag, bool share,
           int batch)
{
  AttnNet *owner = NULL;
  char *io_path = g_build_filename (dir, io_name, NULL);
  char *base = g_strndup (io_name, strlen (io_name) - strlen (".io.safetensors"));
  char *stem = g_strconcat (base, tag, NULL);
  g_free (base);
  char err[1024] = "";
  char name[512];
  AttnModel *m = NULL;
  AttnNet *net = NULL;
  char *model_path = NULL;

  AttnSafetensors *io = attn_safetensors_open (io_path, err, sizeof err);
  const char *model_file = io ? meta (io, "model") : NULL;
  const char *hs = io ? meta (io, "height") : NULL;
  const char *ws = io ? meta (io, "width") : NULL;
  const AttnTensorInfo *input = io ? attn_safetensors_find (io, "input") : NULL;
  if (model_file && hs && ws && input) {
    int h = atoi (hs), w = atoi (ws);
    model_path = g_build_filename (dir, model_file, NULL);
    m = attn_model_load (model_path, err, sizeof err);
    owner = m && share ? attn_net_new (m, h, w, err, sizeof err) : NULL;
    net = m ? attn_net_new_sharing (m, h, w, owner, err, sizeof err) : NULL;
    if (net && share && attn_net_weight_bytes (owner) == 0
        && share_none_ok)
      printf ("# %s: no layer transformed under this policy, nothing to "
              "share\n", stem);
    else if (net && share && (!attn_net_shares_weights (net)
            || attn_net_weight_bytes (net) != 0
            || attn_net_weight_bytes (owner) == 0)) {
      snprintf (err, sizeof err, "the net does not share the owner's "
                "transformed weights (%zu and %zu bytes)",
                attn_net_weight_bytes (net), attn_net_weight_bytes (owner));
      attn_net_free (net);
      net = NULL;
    }
    if (net && input->numel != (size_t) 3 * h * w) {
      snprintf (err, sizeof err, "input has %zu values, not 3 x %d x %d",
                input->numel, h, w);
      attn_net_free (net);
      net = NULL;
    }
  } else if (io && !input) {
    snprintf (err, sizeof err, "%s has no 'input' tensor", io_path);
  }
  snprintf (name, sizeof name, "%s loads and plans", stem);
  if (!net && err[0])
    printf ("# %s\n", err);
  test_case (name, net != NULL);
  if (!net)
    goto out;

  printf ("# %s: %d of %d blocks on blocked maps\n", stem,
          attn_net_blocked_blocks (net), m->n_blocks);
  attn_tensor_to_f32 (attn_net_input (net), input);
  if (batch > 1) {
    snprintf (name, sizeof name, "%s runs in a batch of %d", stem, batch);
    test_case (name, forward_batched (m, atoi (hs), atoi (ws), net, owner,
                                      batch, stem));
  } else {
    attn_net_forward (net);
  }
  snprintf (name, sizeof name, "%s logits", stem);
  int nc = m->num_classes;
  test_case (name, compare (io, "logits", attn_net_logits (net), nc, NULL, 0,
                            name));

  /* θ, when the network or the fixture has one */
  const float *theta = attn_net_theta (net);
  if (theta || attn_safetensors_find (io, "theta")) {
    snprintf (name, sizeof name, "%s theta", stem);
    if (!theta)
      printf ("# %s: the fixture has it, the network has no STN\n", name);
    int dims[1] = { 6 };
    test_case (name, theta && compare (io, "theta", theta, 6, dims, 1, name));
  }

  /* the decoder head: tokens, then each step's α and logits */
  AttnSequence q;
  bool has_seq = attn_net_sequence (net, &q);
  const AttnTensorInfo *tok_t = attn_safetensors_find (io, "decoder.tokens");
  if (has_seq || tok_t) {
    snprintf (name, sizeof name, "%s decoder tokens", stem);
    bool ok = has_seq && tok_t && tok_t->dtype == ATTN_DTYPE_I64
        && tok_t->numel == (size_t) q.length;
    int n = ok ? q.length : 0;
    int *want = g_new0 (int, MAX (n, 1));
    for (int t = 0; ok && t < n; t++) {
      int64_t v;
      memcpy (&v, (const char *) tok_t->data + 8 * t, 8);
      want[t] = (int) v;
      ok = want[t] == q.tokens[t];
    }
    printf ("# %s: network %d tokens, fixture %zu%s\n", name,
            has_seq ? q.length : -1, tok_t ? tok_t->numel : 0,
            ok ? ", identical" : "");
    test_case (name, ok);
    if (ok) {
      const AttnDecoder *d = q.decoder;
      int l = q.height * q.width;
      AttnBlockTaps taps;
      attn_net_last_block (net, &taps);
      float *work = test_alloc (attn_decoder_workspace (d, l));
      float *logits = test_alloc ((size_t) n * d->vocab);
      float *alphas = test_alloc ((size_t) n * l);
      float *scores = test_alloc (n);
      int *tokens = g_new0 (int, n);
      AttnDecoderOut out = { tokens, scores, alphas, logits, 0 };
      attn_decoder_run_forced (d, taps.output, l, want, n, work, &out);
      for (int t = 0; t < n; t++) {
        char tn[96];
        int dims[1];
        snprintf (tn, sizeof tn, "decoder.step.%d.alpha", t);
        snprintf (name, sizeof name, "%s %s", stem, tn);
        /* (L) or (h, w): the count is what matters */
        test_case (name, compare (io, tn, q.alphas + (size_t) t * l, l, NULL,
                                  0, name));
        dims[0] = d->vocab;
        snprintf (tn, sizeof tn, "decoder.step.%d.logits", t);
        snprintf (name, sizeof name, "%s %s", stem, tn);
        test_case (name, compare (io, tn, logits + (size_t) t * d->vocab,
                                  d->vocab, dims, 1, name));
      }
      char tn[96];
      snprintf (tn, sizeof tn, "decoder.step.%d.alpha", n);
      if (attn_safetensors_find (io, tn)) {
        snprintf (name, sizeof name, "%s %s", stem, tn);
        printf ("# %s: the fixture has more steps than the network ran\n",
                name);
        test_case (name, false);
      }
      free (work);
      free (logits);
      free (alphas);
      free (scores);
      g_free (tokens);
    }
    g_free (want);
  }

  /* Every gate output of the network, in network order, against the
   * fixture's tensor of that name... */
  int n_gates = attn_net_n_gates (net);
  for (int g = 0; g < n_gates; g++) {
    const AttnGateOutput *o = attn_net_gate (net, g);
    for (int kind = 0; kind < 2; kind++) {
      bool is_map = kind == 1;
      char tn[160];
      snprintf (tn, sizeof tn, "%s.%s", is_map ? "map" : "channel", o->name);
      snprintf (name, sizeof name, "%s %s", stem, tn);
      bool in_net = is_map ? o->spatial != NULL : o->channel != NULL;
      bool in_io = attn_safetensors_find (io, tn) != NULL;
      if (!in_net && !in_io)
        continue;
      if (!in_net) {
        printf ("# %s: the fixture has it, gate %d of the network does not\n",
                name, g);
        test_case (name, false);
      } else if (is_map) {
        int dims[2] = { o->height, o->width };
        test_case (name, compare (io, tn, o->spatial,
                                  (size_t) o->height * o->width, dims, 2, name));
      } else {
        int dims[1] = { o->channels };
        test_case (name, compare (io, tn, o->channel, o->channels, dims, 1,
                                  name));
      }
    }
  }
  /* ...and no fixture output for a gate the network does not have. */
  for (size_t i = 0; i < attn_safetensors_count (io); i++) {
    const char *tn = attn_safetensors_at (io, i)->name;
    if (!g_str_has_prefix (tn, "map.") && !g_str_has_prefix (tn, "channel."))
      continue;
    const char *gate = strchr (tn, '.') + 1;
    bool found = false;
    for (int g = 0; g < n_gates && !found; g++)
      found = strcmp (attn_net_gate (net, g)->name, gate) == 0;
    if (!found) {
      snprintf (name, sizeof name, "%s %s", stem, tn);
      printf ("# %s: the network has no gate '%s'\n", name, gate);
      test_case (name, false);
    }
  }

out:
  attn_net_free (net);
  attn_net_free (owner);
  attn_model_unref (m);
  if (io)
    attn_safetensors_close (io);
  g_free (model_path);
  g_free (stem);
  g_free (io_path);
}

static void
run (const char *dir, const char *io_name, const char *tag, bool share)
{
  run_batch (dir, io_name, tag, share, 1);
}

static gint
cmp_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

int
main (int argc, char **argv)
{
  const char *dir = argc > 1 ? argv[1] : "tests/models/parity";
  GError *gerr = NULL;
  GDir *d = g_dir_open (dir, 0, &gerr);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *e;
  if (!d) {
    printf ("# %s\n", gerr->message);
    g_clear_error (&gerr);
  }
  while (d && (e = g_dir_read_name (d)))
    if (g_str_has_suffix (e, ".io.safetensors"))
      g_ptr_array_add (names, g_strdup (e));
  if (d)
    g_dir_close (d);
  g_ptr_array_sort (names, cmp_names);
  if (names->len == 0) {
    printf ("# no *.io.safetensors in %s (run tools/make_parity.py)\n", dir);
    test_case ("parity fixtures present", false);
  }
  /* as planned (the fixtures' reduced widths run im2col + sgemm), then with
   * every 3×3 stride-1 convolution on Winograd F(4×4, 3×3), then F(2×2) */
  for (guint i = 0; i < names->len; i++)
    run (dir, g_ptr_array_index (names, i), "", false);
  attn_winograd_set_policy (ATTN_WINOGRAD_F4);
  for (guint i = 0; i < names->len; i++)
    run (dir, g_ptr_array_index (names, i), " [winograd F(4,3)]", false);
  attn_winograd_set_policy (ATTN_WINOGRAD_F2);
  for (guint i = 0; i < names->len; i++)
    run (dir, g_ptr_array_index (names, i), " [winograd]", false);
  /* Winograd filters shared with another net, on one thread (the passes
   * above split the products over every core) */
  attn_parallel_set_threads (1);
  for (guint i = 0; i < names->len; i++)
    run (dir, g_ptr_array_index (names, i), " [winograd, shared, 1 thread]",
         true);
  /* every 3×3 convolution the direct kernel takes (stride 1 or 2, C_out a
   * multiple of 32) on it, over every core and then shared on one thread;
   * without AVX-512 these passes repeat the planned one */
  attn_winograd_set_policy (ATTN_WINOGRAD_NEVER);
  attn_direct_set_policy (ATTN_DIRECT_ALWAYS);
  attn_parallel_set_threads (0);
  for (guint i = 0; i < names->len; i++)
    run (dir, g_ptr_array_index (names, i), " [direct]", false);
  attn_parallel_set_threads (1);
  share_none_ok = true;
  for (guint i = 0; i < names->len; i++)
    run (dir, g_ptr_array_index (names, i), " [direct, shared, 1 thread]",
         true);
  share_none_ok = false;
  attn_direct_set_policy (ATTN_DIRECT_AUTO);
  /* three streams' frames in one pass, every convolution as one product
   * for all of them (attn_conv2d_many), the products over every core */
  attn_winograd_set_policy (ATTN_WINOGRAD_AUTO);
  attn_net_set_batch_policy (ATTN_BATCH_ALWAYS);
  attn_parallel_set_threads (0);
  for (guint i = 0; i < names->len; i++)
    run_batch (dir, g_ptr_array_index (names, i), " [batch of 3]", false, 3);
  g_ptr_array_unref (names);
  return test_done ();
}
