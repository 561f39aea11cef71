/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_saliency.c — attn_saliency_entropy_gradient, M_ij = ||∂H/∂c[:,i,j]||₂
 * with c the last residual block's input, against
 *  - PyTorch autograd (goldens/saliency.safetensors and the tiny models
 *    goldens/saliency-*.safetensors, written by
 *    tools/make_saliency_goldens.py): every position;
 *  - central finite differences of H through a naive double-precision
 *    re-implementation of the top of the network written here (the last
 *    block, the average pool, the classifier, the entropy), perturbing each
 *    channel of c at a few positions;
 * and the planner's refusal of block kinds it does not differentiate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "check.h"
#include "model.h"
#include "network.h"
#include "saliency.h"

/* float32 forward and backward against float64 autograd */
#define RTOL 1e-4f
#define ATOL_REL 1e-4f   /* atol = ATOL_REL · max |golden| */
/* central differences, step FD_EPS, in double: small enough not to step
 * over a ReLU kink or a max switch (tried at 1e-5 on the default model, the
 * differences at its centre position came out 1.5% off, from one) */
#define FD_EPS 1e-6
#define FD_RTOL 5e-4
#define FD_ATOL_REL 1e-4

static const char *golden_dir;

/* ---- the naive double-precision top of the network ---- */

/* out (C_out, Ho, Wo) = conv(in) + bias, zero padding, any stride, groups */
static double *
naive_conv (const double *in, const AttnConvLayer *l, int h, int w, int *ho,
            int *wo)
{
  const AttnConv2d *p = &l->p;
  *ho = attn_conv_out_dim (h, p->kh, p->stride_h, p->pad_h, p->dil_h);
  *wo = attn_conv_out_dim (w, p->kw, p->stride_w, p->pad_w, p->dil_w);
  int cig = p->c_in / p->groups, cog = p->c_out / p->groups;
  double *out = calloc ((size_t) p->c_out * *ho * *wo, sizeof (double));
  for (int co = 0; co < p->c_out; co++)
    for (int oy = 0; oy < *ho; oy++)
      for (int ox = 0; ox < *wo; ox++) {
        double a = l->bias ? l->bias[co] : 0.0;
        for (int ci = 0; ci < cig; ci++)
          for (int ky = 0; ky < p->kh; ky++)
            for (int kx = 0; kx < p->kw; kx++) {
              int iy = oy * p->stride_h - p->pad_h + ky * p->dil_h;
              int ix = ox * p->stride_w - p->pad_w + kx * p->dil_w;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                continue;
              a += (double) l->weight[((co * cig + ci) * p->kh + ky) * p->kw
                                      + kx]
                  * in[((size_t) (co / cog * cig + ci) * h + iy) * w + ix];
            }
        out[((size_t) co * *ho + oy) * *wo + ox] = a;
      }
  return out;
}

static void
relu_d (double *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    x[i] = x[i] > 0 ? x[i] : 0;
}

static double
sigmoid_d (double x)
{
  return 1 / (1 + exp (-x));
}

/* W2·relu(W1·v + b1) (+ b2 when add_b2), v (C) → out (C) */
static void
mlp_d (double *out, const double *v, const AttnBlock *b, bool add_b2)
{
  double *hd = calloc ((size_t) b->hidden, sizeof (double));
  for (int j = 0; j < b->hidden; j++) {
    double a = b->b1 ? b->b1[j] : 0;
    for (int c = 0; c < b->c_out; c++)
      a += (double) b->w1[j * b->c_out + c] * v[c];
    hd[j] = a > 0 ? a : 0;
  }
  for (int c = 0; c < b->c_out; c++) {
    double a = add_b2 && b->b2 ? b->b2[c] : 0;
    for (int j = 0; j < b->hidden; j++)
      a += (double) b->w2[c * b->hidden + j] * hd[j];
    out[c] = a;
  }
  free (hd);
}

/* H = −Σ p log p of the network's logits, given the last block's input x
 * (C_in, h, w): the block (official CBAM / SE / plain), the average pool,
 * the classifier. */
static double
top_entropy (const AttnModel *m, const double *x, int h, int w)
{
  const AttnBlock *b = &m->blocks[m->n_blocks - 1];
  int hm, wm, ho, wo, h2, w2;
  double *t1 = naive_conv (x, &b->conv1, h, w, &hm, &wm);
  relu_d (t1, (size_t) b->conv1.p.c_out * hm * wm);
  double *f;
  if (m->block_type == ATTN_BLOCK_BOTTLENECK) {
    double *t2 = naive_conv (t1, &b->conv2, hm, wm, &h2, &w2);
    relu_d (t2, (size_t) b->conv2.p.c_out * h2 * w2);
    f = naive_conv (t2, &b->conv3, h2, w2, &ho, &wo);
    free (t2);
  } else {
    f = naive_conv (t1, &b->conv2, hm, wm, &ho, &wo);
  }
  free (t1);
  int c = b->c_out;
  size_t hw = (size_t) ho * wo;
  double *id = b->has_down ? naive_conv (x, &b->down, h, w, &h2, &w2) : NULL;
  const double *idt = id ? id : x;
  double *avg = calloc ((size_t) c, sizeof (double));
  double *mx = calloc ((size_t) c, sizeof (double));
  double *g = calloc ((size_t) c, sizeof (double));
  double *g2 = calloc ((size_t) c, sizeof (double));
  for (int ci = 0; ci < c; ci++) {
    mx[ci] = -INFINITY;
    for (size_t i = 0; i < hw; i++) {
      avg[ci] += f[ci * hw + i] / (double) hw;
      mx[ci] = fmax (mx[ci], f[ci * hw + i]);
    }
  }
  double *ms = NULL;
  if (b->gate == ATTN_GATE_SE) {
    mlp_d (g, avg, b, true);
    for (int ci = 0; ci < c; ci++)
      for (size_t i = 0; i < hw; i++)
        f[ci * hw + i] *= sigmoid_d (g[ci]);
  } else if (b->gate == ATTN_GATE_CBAM) {
    mlp_d (g, avg, b, true);
    mlp_d (g2, mx, b, true);
    for (int ci = 0; ci < c; ci++)
      for (size_t i = 0; i < hw; i++)
        f[ci * hw + i] *= sigmoid_d (g[ci] + g2[ci]);
    double *pool = calloc (2 * hw, sizeof (double));
    for (size_t i = 0; i < hw; i++) {
      pool[i] = -INFINITY;
      for (int ci = 0; ci < c; ci++) {
        pool[i] = fmax (pool[i], f[ci * hw + i]);
        pool[hw + i] += f[ci * hw + i] / c;
      }
    }
    ms = calloc (hw, sizeof (double));
    int k = b->sp_k, pad = k / 2;
    for (int oy = 0; oy < ho; oy++)
      for (int ox = 0; ox < wo; ox++) {
        double a = b->sp_b;
        for (int ch = 0; ch < 2; ch++)
          for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
              int iy = oy + ky - pad, ix = ox + kx - pad;
              if (iy >= 0 && iy < ho && ix >= 0 && ix < wo)
                a += (double) b->sp_w[(ch * k + ky) * k + kx]
                    * pool[ch * hw + (size_t) iy * wo + ix];
            }
        ms[(size_t) oy * wo + ox] = sigmoid_d (a);
      }
    free (pool);
  }
  double *feat = calloc ((size_t) c, sizeof (double));
  for (int ci = 0; ci < c; ci++)
    for (size_t i = 0; i < hw; i++) {
      double v = f[ci * hw + i] * (ms ? ms[i] : 1) + idt[ci * hw + i];
      feat[ci] += (v > 0 ? v : 0) / (double) hw;
    }
  int k = m->num_classes;
  double *z = calloc ((size_t) k, sizeof (double)), zmax = -INFINITY;
  for (int j = 0; j < k; j++) {
    z[j] = m->fc_b[j];
    for (int ci = 0; ci < c; ci++)
      z[j] += (double) m->fc_w[j * c + ci] * feat[ci];
    zmax = fmax (zmax, z[j]);
  }
  double sum = 0, ent = 0;
  for (int j = 0; j < k; j++)
    sum += exp (z[j] - zmax);
  for (int j = 0; j < k; j++) {
    double lp = z[j] - zmax - log (sum);
    ent -= exp (lp) * lp;
  }
  free (f); free (id); free (avg); free (mx); free (g); free (g2); free (ms);
  free (feat); free (z);
  return ent;
}

/* ---- the cases ---- */

typedef struct {
  AttnModel *model;
  AttnNet *net;
  AttnSaliency *sal;
  float *map;
  int gh, gw;
} Run;

static void
run_free (Run *r)
{
  attn_saliency_free (r->sal);
  attn_net_free (r->net);
  if (r->model)
    attn_model_unref (r->model);
  free (r->map);
}

/* Loads goldens/FILE, plans it for h×w, runs `input` and the saliency. */
static bool
run_model (Run *r, const char *file, int h, int w, const float *input)
{
  memset (r, 0, sizeof *r);
  char err[512];
  char *path = g_build_filename (golden_dir, file, NULL);
  r->model = attn_model_load (path, err, sizeof err);
  g_free (path);
  if (!r->model) {
    printf ("# %s\n", err);
    return false;
  }
  r->net = attn_net_new (r->model, h, w, err, sizeof err);
  if (!r->net) {
    printf ("# %s\n", err);
    return false;
  }
  r->sal = attn_saliency_new (r->net, err, sizeof err);
  if (!r->sal) {
    printf ("# %s\n", err);
    return false;
  }
  attn_saliency_size (r->sal, &r->gh, &r->gw);
  r->map = test_alloc ((size_t) r->gh * r->gw);
  if (input)
    memcpy (attn_net_input (r->net), input, sizeof (float) * 3 * h * w);
  else {
    Rng rng = rng_new (11);
    fill_uniform (attn_net_input (r->net), (size_t) 3 * h * w, &rng, -2, 2);
  }
  attn_net_forward (r->net);
  attn_saliency_entropy_gradient (r->sal, r->net, r->map);
  return true;
}

/* The largest value of a map (check.h's max_abs is at least 1; these
 * gradient norms are ~0.05). */
static float
map_max (const float *x, size_t n)
{
  float m = 0;
  for (size_t i = 0; i < n; i++)
    m = fmaxf (m, fabsf (x[i]));
  return m;
}

/* Central differences of top_entropy at `n_pos` positions, all channels:
 * the gradient norm there against the map. */
static bool
check_finite_differences (const char *cs, Run *r, const int (*pos)[2],
                          int n_pos, double entropy)
{
  AttnBlockTaps t;
  attn_net_last_block (r->net, &t);
  const AttnModel *m = r->model;
  int c = t.block->c_in;
  size_t hw = (size_t) t.h_in * t.w_in, n = (size_t) c * hw;
  double *x = malloc (n * sizeof (double));
  for (size_t i = 0; i < n; i++)
    x[i] = t.input[i];
  bool ok = true;
  double h0 = top_entropy (m, x, t.h_in, t.w_in);
  if (entropy >= 0 && fabs (h0 - entropy) > 1e-4 * entropy) {
    printf ("# %s: naive top of the network gives H = %.7f, PyTorch %.7f\n",
            cs, h0, entropy);
    ok = false;
  }
  float mmax = map_max (r->map, hw);
  float *fd = test_alloc ((size_t) n_pos), *got = test_alloc ((size_t) n_pos);
  for (int p = 0; p < n_pos; p++) {
    size_t at = (size_t) pos[p][0] * t.w_in + pos[p][1];
    double sq = 0;
    for (int ci = 0; ci < c; ci++) {
      double *v = &x[ci * hw + at], keep = *v;
      *v = keep + FD_EPS;
      double hp = top_entropy (m, x, t.h_in, t.w_in);
      *v = keep - FD_EPS;
      double hn = top_entropy (m, x, t.h_in, t.w_in);
      *v = keep;
      double d = (hp - hn) / (2 * FD_EPS);
      sq += d * d;
    }
    fd[p] = (float) sqrt (sq);
    got[p] = r->map[at];
  }
  char what[160];
  snprintf (what, sizeof what, "%s: saliency vs finite differences", cs);
  ok &= check_close (what, got, fd, (size_t) n_pos,
                     (float) (FD_ATOL_REL * mmax), (float) FD_RTOL);
  free (x); free (fd); free (got);
  return ok;
}

/* One golden case: the logits, the grid size, every position of the map
 * against autograd, finite differences at the corners and centre, and a
 * second call on the same forward giving the same map. */
static void
golden_case (AttnSafetensors *st, const char *cs)
{
  char name[256], tn[200];
  char *file = golden_param_string (st, cs, "model");
  int h = golden_param_int (st, cs, "height");
  int w = golden_param_int (st, cs, "width");
  int gh = golden_param_int (st, cs, "grid_h");
  int gw = golden_param_int (st, cs, "grid_w");
  double entropy = golden_param_double (st, cs, "entropy");
  snprintf (tn, sizeof tn, "%s.input", cs);
  float *input = golden_tensor (st, tn, NULL);
  size_t n_logits, n_map;
  snprintf (tn, sizeof tn, "%s.logits", cs);
  float *logits = golden_tensor (st, tn, &n_logits);
  snprintf (tn, sizeof tn, "%s.saliency", cs);
  float *ref = golden_tensor (st, tn, &n_map);

  Run r;
  bool ok = run_model (&r, file, h, w, input);
  snprintf (name, sizeof name, "%s: plan and run", cs);
  test_case (name, ok);
  if (ok) {
    snprintf (name, sizeof name, "%s: logits match PyTorch", cs);
    test_case (name, n_logits == (size_t) r.model->num_classes
               && check_close (name, attn_net_logits (r.net), logits,
                               n_logits, 1e-4f, 1e-4f));
    snprintf (name, sizeof name, "%s: grid is the last block's input, %d×%d",
              cs, gh, gw);
    test_case (name, r.gh == gh && r.gw == gw && n_map == (size_t) gh * gw);
    snprintf (name, sizeof name, "%s: saliency matches PyTorch autograd", cs);
    test_case (name, n_map == (size_t) r.gh * r.gw
               && check_close (name, r.map, ref, n_map,
                               ATOL_REL * map_max (ref, n_map), RTOL));
    /* the naive top reruns the whole block per perturbed value: fine for
     * the tiny models, seconds (minutes under valgrind) for the 64-channel
     * default model, which the autograd golden covers */
    if (golden_param_int (st, cs, "channels") <= 32) {
      const int pos[][2] = { { 0, 0 }, { gh / 2, gw / 2 }, { gh - 1, gw - 1 },
                             { 0, gw - 1 } };
      snprintf (name, sizeof name, "%s: saliency matches central differences "
                "of a naive double top", cs);
      test_case (name, check_finite_differences (cs, &r, pos, 4, entropy));
    }
    float *again = test_alloc (n_map);
    attn_saliency_entropy_gradient (r.sal, r.net, again);
    snprintf (name, sizeof name, "%s: a second call gives the same map", cs);
    test_case (name, memcmp (again, r.map, n_map * sizeof (float)) == 0);
    free (again);
  }
  run_free (&r);
  g_free (file);
  free (input);
  free (logits);
  free (ref);
}

/* The planner refuses, with a message naming the block, what it cannot
 * differentiate; the model is edited in memory after the net is planned
 * (the forward never runs on it) and restored. */
static void
unsupported_cases (void)
{
  char err[512], *path;
  path = g_build_filename (golden_dir, "saliency-basic-cbam-down.safetensors",
                           NULL);
  AttnModel *m = attn_model_load (path, err, sizeof err);
  g_free (path);
  AttnNet *net = m ? attn_net_new (m, 68, 52, err, sizeof err) : NULL;
  if (!net) {
    printf ("# %s\n", err);
    test_case ("unsupported: model loads", false);
    if (m)
      attn_model_unref (m);
    return;
  }
  AttnBlock *b = &m->blocks[m->n_blocks - 1], keep = *b;
  AttnBlockType keep_type = m->block_type;

  b->down.p.kh = b->down.p.kw = 3;
  b->down.p.pad_h = b->down.p.pad_w = 1;
  err[0] = '\0';
  AttnSaliency *s = attn_saliency_new (net, err, sizeof err);
  printf ("# %s\n", err);
  test_case ("unsupported: a 3×3 downsample shortcut is refused with a message",
             !s && strstr (err, "layer2.0") && strstr (err, "shortcut"));
  attn_saliency_free (s);
  *b = keep;

  b->gate = (AttnGateType) 7;
  err[0] = '\0';
  s = attn_saliency_new (net, err, sizeof err);
  printf ("# %s\n", err);
  test_case ("unsupported: an unknown gate is refused with a message",
             !s && strstr (err, "gate"));
  attn_saliency_free (s);
  *b = keep;

  m->block_type = (AttnBlockType) 5;
  err[0] = '\0';
  s = attn_saliency_new (net, err, sizeof err);
  printf ("# %s\n", err);
  test_case ("unsupported: an unknown block type is refused with a message",
             !s && strstr (err, "block"));
  attn_saliency_free (s);
  m->block_type = keep_type;

  /* restored: planned fine */
  s = attn_saliency_new (net, err, sizeof err);
  test_case ("unsupported: the restored model plans", s != NULL);
  attn_saliency_free (s);
  attn_saliency_free (NULL);
  attn_net_free (net);
  attn_model_unref (m);
}

int
main (int argc, char **argv)
{
  AttnSafetensors *st = golden_open (argc, argv, "saliency");
  golden_dir = argc > 1 ? argv[1] : g_getenv ("ATTN_GOLDEN_DIR");
  char **cases = golden_cases (st);
  test_case ("goldens: has cases", g_strv_length (cases) >= 6);
  for (char **cs = cases; *cs; cs++)
    golden_case (st, *cs);
  g_strfreev (cases);
  attn_safetensors_close (st);
  unsupported_cases ();
  return test_done ();
}
