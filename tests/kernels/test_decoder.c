/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_decoder.c — the soft-attention decoder head (decoder.c) against a
 * naive double-precision decoder written from docs/model-format.md's
 * equations: the GRU and LSTM cells alone, then whole runs (GRU and LSTM ×
 * additive and dot × with and without the gate) on awkward sizes (L = 1,
 * D = 13, Dh = 5, V = 2, a 3×5 grid), teacher-forced step by step (logits
 * and α) and greedy (tokens, scores, where it stops). Workspace and outputs
 * start as NaN, so a kernel that reads stale memory or leaves part of an
 * output unwritten fails. The PyTorch comparison is test_goldens.c's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "decoder.h"

/* float32 GEMVs of up to ~100 terms and a few recurrent steps vs double */
#define ATOL 2e-5f
#define RTOL 2e-4f

static void
fill_nan (float *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    x[i] = NAN;
}

static double
sig (double x)
{
  return 1.0 / (1.0 + exp (-x));
}

/* y (rows) = W x + b in double */
static void
affine_d (double *y, const float *w, const float *b, const double *x, int rows,
          int cols)
{
  for (int r = 0; r < rows; r++) {
    double s = b ? b[r] : 0.0;
    for (int c = 0; c < cols; c++)
      s += (double) w[(size_t) r * cols + c] * x[c];
    y[r] = s;
  }
}

/* the cells, from PyTorch's documented equations */
static void
gru_ref (double *h2, const double *x, const double *h, const float *w_ih,
         const float *b_ih, const float *w_hh, const float *b_hh, int in,
         int hd)
{
  double *gi = malloc (sizeof (double) * 3 * hd);
  double *gh = malloc (sizeof (double) * 3 * hd);
  affine_d (gi, w_ih, b_ih, x, 3 * hd, in);
  affine_d (gh, w_hh, b_hh, h, 3 * hd, hd);
  for (int j = 0; j < hd; j++) {
    double r = sig (gi[j] + gh[j]), z = sig (gi[hd + j] + gh[hd + j]);
    double n = tanh (gi[2 * hd + j] + r * gh[2 * hd + j]);
    h2[j] = (1 - z) * n + z * h[j];
  }
  free (gi);
  free (gh);
}

static void
lstm_ref (double *h2, double *c2, const double *x, const double *h,
          const double *c, const float *w_ih, const float *b_ih,
          const float *w_hh, const float *b_hh, int in, int hd)
{
  double *g = malloc (sizeof (double) * 4 * hd);
  double *gh = malloc (sizeof (double) * 4 * hd);
  affine_d (g, w_ih, b_ih, x, 4 * hd, in);
  affine_d (gh, w_hh, b_hh, h, 4 * hd, hd);
  for (int j = 0; j < hd; j++) {
    double i = sig (g[j] + gh[j]), f = sig (g[hd + j] + gh[hd + j]);
    double gg = tanh (g[2 * hd + j] + gh[2 * hd + j]);
    double o = sig (g[3 * hd + j] + gh[3 * hd + j]);
    c2[j] = f * c[j] + i * gg;
    h2[j] = o * tanh (c2[j]);
  }
  free (g);
  free (gh);
}

static float *
rnd (Rng *r, size_t n, float scale)
{
  float *x = test_alloc (n);
  fill_uniform (x, n, r, -scale, scale);
  return x;
}

static double *
widen (const float *x, size_t n)
{
  double *d = malloc (n * sizeof *d);
  for (size_t i = 0; i < n; i++)
    d[i] = x[i];
  return d;
}

static bool
close_d (const char *what, const float *got, const double *ref, size_t n)
{
  float *r = test_alloc (n);
  for (size_t i = 0; i < n; i++)
    r[i] = (float) ref[i];
  bool ok = check_close (what, got, r, n, ATOL, RTOL);
  free (r);
  return ok;
}

static void
test_cells (Rng *r, int in, int hd)
{
  char name[96];
  float *x = rnd (r, in, 1), *h = rnd (r, hd, 1), *c = rnd (r, hd, 1);
  for (int lstm = 0; lstm < 2; lstm++) {
    int g = lstm ? 4 : 3;
    float *w_ih = rnd (r, (size_t) g * hd * in, 0.5f);
    float *w_hh = rnd (r, (size_t) g * hd * hd, 0.5f);
    float *b_ih = rnd (r, (size_t) g * hd, 0.5f);
    float *b_hh = rnd (r, (size_t) g * hd, 0.5f);
    float *h2 = test_alloc (hd), *c2 = test_alloc (hd);
    float *work = test_alloc ((size_t) 8 * hd);
    fill_nan (h2, hd);
    fill_nan (c2, hd);
    fill_nan (work, (size_t) 8 * hd);
    double *xd = widen (x, in), *hdv = widen (h, hd), *cd = widen (c, hd);
    double *rh = malloc (sizeof (double) * hd), *rc = malloc (sizeof (double) * hd);
    bool ok;
    if (lstm) {
      attn_lstm_cell (h2, c2, x, h, c, w_ih, b_ih, w_hh, b_hh, work, in, hd);
      lstm_ref (rh, rc, xd, hdv, cd, w_ih, b_ih, w_hh, b_hh, in, hd);
      ok = close_d ("lstm h", h2, rh, hd) && close_d ("lstm c", c2, rc, hd);
    } else {
      attn_gru_cell (h2, x, h, w_ih, b_ih, w_hh, b_hh, work, in, hd);
      gru_ref (rh, xd, hdv, w_ih, b_ih, w_hh, b_hh, in, hd);
      ok = close_d ("gru h", h2, rh, hd);
    }
    snprintf (name, sizeof name, "%s cell, in %d, hidden %d",
              lstm ? "lstm" : "gru", in, hd);
    test_case (name, ok);
    free (w_ih); free (w_hh); free (b_ih); free (b_hh); free (h2); free (c2);
    free (work); free (xd); free (hdv); free (cd); free (rh); free (rc);
  }
  free (x); free (h); free (c);
}

/* ---- whole decoder ------------------------------------------------------ */

typedef struct {
  AttnDecoder d;
  float *bufs[32];
  int n;
} Owned;

static const float *
own (Owned *o, float *p)
{
  o->bufs[o->n++] = p;
  return p;
}

static void
make_decoder (Owned *o, Rng *r, AttnCellKind cell, AttnDecAttention att,
              bool gate, int d, int hd, int e, int da, int v, int max_len)
{
  memset (o, 0, sizeof *o);
  AttnDecoder *x = &o->d;
  *x = (AttnDecoder) { .cell = cell, .attention = att, .d = d, .hidden = hd,
                       .embed = e, .att_dim = att == ATTN_DEC_ADDITIVE ? da : 0,
                       .vocab = v, .gate = gate, .start = 0, .end = 1,
                       .max_length = max_len };
  int g = attn_decoder_gates (cell);
  x->init_h_w = own (o, rnd (r, (size_t) hd * d, 0.5f));
  x->init_h_b = own (o, rnd (r, hd, 0.5f));
  if (cell == ATTN_CELL_LSTM) {
    x->init_c_w = own (o, rnd (r, (size_t) hd * d, 0.5f));
    x->init_c_b = own (o, rnd (r, hd, 0.5f));
  }
  x->embed_w = own (o, rnd (r, (size_t) v * e, 1));
  if (att == ATTN_DEC_ADDITIVE) {
    x->enc_w = own (o, rnd (r, (size_t) da * d, 0.5f));
    x->enc_b = own (o, rnd (r, da, 0.5f));
    x->dec_w = own (o, rnd (r, (size_t) da * hd, 0.5f));
    x->v_w = own (o, rnd (r, da, 1));
  } else {
    x->query_w = own (o, rnd (r, (size_t) d * hd, 1));
    x->query_b = own (o, rnd (r, d, 1));
  }
  if (gate) {
    x->gate_w = own (o, rnd (r, hd, 1));
    x->gate_b = own (o, rnd (r, 1, 1));
  }
  x->w_ih = own (o, rnd (r, (size_t) g * hd * (e + d), 0.4f));
  x->b_ih = own (o, rnd (r, (size_t) g * hd, 0.4f));
  x->w_hh = own (o, rnd (r, (size_t) g * hd * hd, 0.4f));
  x->b_hh = own (o, rnd (r, (size_t) g * hd, 0.4f));
  x->out_w = own (o, rnd (r, (size_t) v * (hd + d), 1));
  x->out_b = own (o, rnd (r, v, 1));
}

static void
free_decoder (Owned *o)
{
  for (int i = 0; i < o->n; i++)
    free (o->bufs[i]);
}

/* The reference: n_steps steps, inputs targets (or greedy when NULL, stopping
 * after the end token); logits (n, V) and alpha (n, L) written; returns the
 * steps run and the tokens. */
static int
ref_run (const AttnDecoder *x, const float *feats, int l, const int *targets,
         int n_steps, double *logits, double *alpha, int *tokens)
{
  int d = x->d, hd = x->hidden, e = x->embed, v = x->vocab;
  double *mean = calloc (d, sizeof *mean), *h = calloc (hd, sizeof *h);
  double *c = calloc (hd, sizeof *c), *h2 = calloc (hd, sizeof *h2);
  double *c2 = calloc (hd, sizeof *c2), *z = calloc (d, sizeof *z);
  double *in = calloc (e + d, sizeof *in), *hz = calloc (hd + d, sizeof *hz);
  double *sc = calloc (l, sizeof *sc), *q = calloc (d > x->att_dim ? d : x->att_dim + 1, sizeof *q);
  for (int k = 0; k < d; k++) {
    for (int i = 0; i < l; i++)
      mean[k] += feats[(size_t) k * l + i];
    mean[k] /= l;
  }
  affine_d (h, x->init_h_w, x->init_h_b, mean, hd, d);
  for (int j = 0; j < hd; j++)
    h[j] = tanh (h[j]);
  if (x->cell == ATTN_CELL_LSTM) {
    affine_d (c, x->init_c_w, x->init_c_b, mean, hd, d);
    for (int j = 0; j < hd; j++)
      c[j] = tanh (c[j]);
  }
  int y = x->start, t;
  for (t = 0; t < n_steps; t++) {
    double *al = alpha + (size_t) t * l;
    for (int i = 0; i < l; i++) {
      double s = 0;
      if (x->attention == ATTN_DEC_ADDITIVE) {
        for (int k = 0; k < x->att_dim; k++) {
          double u = x->enc_b[k];
          for (int m = 0; m < d; m++)
            u += (double) x->enc_w[(size_t) k * d + m] * feats[(size_t) m * l + i];
          for (int m = 0; m < hd; m++)
            u += (double) x->dec_w[(size_t) k * hd + m] * h[m];
          s += x->v_w[k] * tanh (u);
        }
      } else {
        affine_d (q, x->query_w, x->query_b, h, d, hd);
        for (int m = 0; m < d; m++)
          s += q[m] * feats[(size_t) m * l + i];
        s /= sqrt ((double) d);
      }
      sc[i] = s;
    }
    double mx = -INFINITY, sum = 0;
    for (int i = 0; i < l; i++)
      mx = fmax (mx, sc[i]);
    for (int i = 0; i < l; i++)
      sum += al[i] = exp (sc[i] - mx);
    for (int i = 0; i < l; i++)
      al[i] /= sum;
    for (int m = 0; m < d; m++) {
      z[m] = 0;
      for (int i = 0; i < l; i++)
        z[m] += al[i] * feats[(size_t) m * l + i];
    }
    if (x->gate) {
      double b = x->gate_b[0];
      for (int m = 0; m < hd; m++)
        b += x->gate_w[m] * h[m];
      b = sig (b);
      for (int m = 0; m < d; m++)
        z[m] *= b;
    }
    for (int m = 0; m < e; m++)
      in[m] = x->embed_w[(size_t) y * e + m];
    memcpy (in + e, z, d * sizeof *z);
    if (x->cell == ATTN_CELL_LSTM) {
      lstm_ref (h2, c2, in, h, c, x->w_ih, x->b_ih, x->w_hh, x->b_hh, e + d, hd);
      memcpy (c, c2, hd * sizeof *c);
    } else {
      gru_ref (h2, in, h, x->w_ih, x->b_ih, x->w_hh, x->b_hh, e + d, hd);
    }
    memcpy (h, h2, hd * sizeof *h);
    memcpy (hz, h, hd * sizeof *h);
    memcpy (hz + hd, z, d * sizeof *z);
    double *lo = logits + (size_t) t * v;
    affine_d (lo, x->out_w, x->out_b, hz, v, hd + d);
    int best = 0;
    for (int k = 1; k < v; k++)
      if (lo[k] > lo[best])
        best = k;
    tokens[t] = best;
    if (targets) {
      y = targets[t];
    } else {
      if (best == x->end) {
        t++;
        break;
      }
      y = best;
    }
  }
  free (mean); free (h); free (c); free (h2); free (c2); free (z); free (in);
  free (hz); free (sc); free (q);
  return t;
}

static const char *
label (const AttnDecoder *x, char *buf, size_t n)
{
  snprintf (buf, n, "%s/%s%s D%d L", x->cell == ATTN_CELL_GRU ? "gru" : "lstm",
            x->attention == ATTN_DEC_ADDITIVE ? "additive" : "dot",
            x->gate ? "+gate" : "", x->d);
  return buf;
}

static void
test_decoder (Rng *r, AttnCellKind cell, AttnDecAttention att, bool gate,
              int d, int hh, int ww, int hd, int e, int da, int v, int max_len)
{
  Owned o;
  make_decoder (&o, r, cell, att, gate, d, hd, e, da, v, max_len);
  const AttnDecoder *x = &o.d;
  int l = hh * ww;
  float *feats = rnd (r, (size_t) d * l, 2);
  size_t nw = attn_decoder_workspace (x, l);
  float *work = test_alloc (nw);
  int steps = max_len;
  int *targets = calloc (steps, sizeof *targets), *tok = calloc (steps, sizeof *tok);
  int *rtok = calloc (steps, sizeof *rtok);
  for (int t = 0; t < steps; t++)
    targets[t] = rng_int (r, 0, v - 1);
  float *logits = test_alloc ((size_t) steps * v), *alphas = test_alloc ((size_t) steps * l);
  float *scores = test_alloc (steps);
  double *rl = calloc ((size_t) steps * v, sizeof *rl), *ra = calloc ((size_t) steps * l, sizeof *ra);
  char base[64], name[160];
  label (x, base, sizeof base);

  /* teacher forced: every step's logits and α */
  fill_nan (work, nw);
  fill_nan (logits, (size_t) steps * v);
  fill_nan (alphas, (size_t) steps * l);
  AttnDecoderOut out = { tok, scores, alphas, logits, -1 };
  attn_decoder_run_forced (x, feats, l, targets, steps, work, &out);
  ref_run (x, feats, l, targets, steps, rl, ra, rtok);
  bool ok = out.length == steps && close_d ("forced logits", logits, rl, (size_t) steps * v)
      && close_d ("forced alpha", alphas, ra, (size_t) steps * l);
  snprintf (name, sizeof name, "%s%dx%d Dh%d E%d Da%d V%d: teacher-forced "
            "logits and alpha, %d steps", base, hh, ww, hd, e, da, v, steps);
  test_case (name, ok);

  /* greedy: the same tokens, stop and scores (workspace left dirty from the
   * forced run, and then NaN: neither may matter) */
  for (int pass = 0; pass < 2; pass++) {
    if (pass)
      fill_nan (work, nw);
    fill_nan (alphas, (size_t) steps * l);
    fill_nan (scores, steps);
    out = (AttnDecoderOut) { tok, scores, alphas, NULL, -1 };
    attn_decoder_run (x, feats, l, work, &out);
    int n = ref_run (x, feats, l, NULL, steps, rl, ra, rtok);
    ok = out.length == n;
    for (int t = 0; ok && t < n; t++) {
      ok = tok[t] == rtok[t];
      /* score = softmax probability of the token */
      double mx = rl[(size_t) t * v + rtok[t]], s = 0;
      for (int k = 0; k < v; k++)
        s += exp (rl[(size_t) t * v + k] - mx);
      ok = ok && fabs (scores[t] - 1.0 / s) <= 1e-5 + 1e-4 / s;
    }
    ok = ok && close_d ("greedy alpha", alphas, ra, (size_t) n * l);
    /* it stopped at the end token or at max_length, nowhere else */
    ok = ok && (n == max_len || tok[n - 1] == x->end);
    for (int t = 0; ok && t < n - 1; t++)
      ok = tok[t] != x->end;
    if (!ok)
      printf ("# greedy: got %d steps, reference %d\n", out.length, n);
    snprintf (name, sizeof name, "%s%dx%d: greedy tokens, scores and alpha "
              "(%d steps%s), workspace %s", base, hh, ww, n,
              n < max_len ? ", stopped at end" : ", max_length",
              pass ? "NaN" : "dirty");
    test_case (name, ok);
  }
  free (feats); free (work); free (targets); free (tok); free (rtok);
  free (logits); free (alphas); free (scores); free (rl); free (ra);
  free_decoder (&o);
}

/* A model whose output bias makes the end token win at once: one step, the
 * end token emitted with its score, nothing else. */
static void
test_stops_at_once (Rng *r)
{
  Owned o;
  make_decoder (&o, r, ATTN_CELL_GRU, ATTN_DEC_ADDITIVE, true, 6, 4, 3, 5, 4, 8);
  float *b = (float *) o.d.out_b;
  b[o.d.end] = 1e3f;
  float *feats = rnd (r, (size_t) 6 * 9, 1);
  float *work = test_alloc (attn_decoder_workspace (&o.d, 9));
  int tok[8];
  float scores[8], alphas[8 * 9];
  fill_nan (scores, 8);
  AttnDecoderOut out = { tok, scores, alphas, NULL, -1 };
  attn_decoder_run (&o.d, feats, 9, work, &out);
  test_case ("end token first: one step, the end token, score 1",
             out.length == 1 && tok[0] == o.d.end && fabsf (scores[0] - 1.0f) < 1e-6f
             && isnan (scores[1]));
  free (feats); free (work);
  free_decoder (&o);
}

int
main (void)
{
  Rng r = rng_new (19);
  test_cells (&r, 7, 5);
  test_cells (&r, 37, 19);
  test_cells (&r, 96, 32);
  /* cell, attention, gate, D, grid h×w, Dh, E, Da, V, max_length */
  test_decoder (&r, ATTN_CELL_GRU, ATTN_DEC_ADDITIVE, true, 13, 3, 5, 11, 4, 7, 9, 6);
  test_decoder (&r, ATTN_CELL_GRU, ATTN_DEC_ADDITIVE, false, 16, 8, 8, 16, 8, 16, 7, 4);
  test_decoder (&r, ATTN_CELL_LSTM, ATTN_DEC_ADDITIVE, true, 9, 1, 1, 5, 3, 1, 2, 5);
  test_decoder (&r, ATTN_CELL_GRU, ATTN_DEC_DOT, true, 13, 4, 3, 10, 5, 0, 11, 7);
  test_decoder (&r, ATTN_CELL_LSTM, ATTN_DEC_DOT, false, 21, 7, 2, 19, 6, 0, 6, 8);
  test_decoder (&r, ATTN_CELL_LSTM, ATTN_DEC_ADDITIVE, false, 64, 8, 8, 32, 16, 24, 30, 3);
  test_stops_at_once (&r);
  return test_done ();
}
