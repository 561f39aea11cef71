/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* decoder.c — the soft-attention decoder head (decoder.h).
 *
 * Per frame, once: the mean annotation, h_0 (and c_0), and for additive
 * attention the projected annotations W_enc a_i + b_enc for every cell, one
 * GEMM (Da × D) · (D × L) over the NCHW map as it is. Per step: the scores
 * (Da·L tanh for additive, one GEMV for dot), the softmax, the context (one
 * GEMV), the cell (two GEMVs) and the output layer (one GEMV). The step's
 * cost is dominated by the output layer and the cell for small grids, by
 * the scores for large ones. */
#include "decoder.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "activation.h"
#include "blas.h"

int
attn_decoder_gates (AttnCellKind cell)
{
  return cell == ATTN_CELL_LSTM ? 4 : 3;
}

/* The workspace, in order. */
typedef struct {
  float *mean;    /* D */
  float *h, *c;   /* Dh each: the state */
  float *h2, *c2; /* Dh each: the next state */
  float *proj;    /* Da × L (additive): W_enc a_i + b_enc, cell-minor */
  float *q;       /* Da (additive: W_dec h) or D (dot: W_q h + b_q) */
  float *e;       /* L */
  float *x;       /* E + D: [embed(y) ; z] */
  float *hz;      /* Dh + D: [h_t ; z] */
  float *logits;  /* V */
  float *cell;    /* 8 · Dh */
} Work;

static size_t
layout (const AttnDecoder *dec, int l, float *base, Work *w)
{
  size_t d = (size_t) dec->d, dh = (size_t) dec->hidden;
  size_t da = dec->attention == ATTN_DEC_ADDITIVE ? (size_t) dec->att_dim : 0;
  size_t sizes[] = {
    d, dh, dh, dh, dh, da * (size_t) l, da > d ? da : d, (size_t) l,
    (size_t) dec->embed + d, dh + d, (size_t) dec->vocab, 8 * dh,
  };
  float **slots[] = {
    &w->mean, &w->h, &w->c, &w->h2, &w->c2, &w->proj, &w->q, &w->e,
    &w->x, &w->hz, &w->logits, &w->cell,
  };
  size_t off = 0;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    if (base)
      *slots[i] = base + off;
    /* each slot starts on a 64-byte line */
    off += (sizes[i] + 15) / 16 * 16;
  }
  return off;
}

size_t
attn_decoder_workspace (const AttnDecoder *dec, int l)
{
  Work w;
  return layout (dec, l, NULL, &w);
}

static float
sigm (float x)
{
  return 1.0f / (1.0f + expf (-x));
}

/* g (rows) = W x + b */
static void
affine (float *g, const float *wt, const float *b, const float *x, int rows,
        int cols)
{
  if (b)
    memcpy (g, b, (size_t) rows * sizeof *g);
  attn_sgemv (false, rows, cols, 1.0f, wt, cols, x, b ? 1.0f : 0.0f, g);
}

void
attn_gru_cell (float *h_out, const float *x, const float *h,
               const float *w_ih, const float *b_ih, const float *w_hh,
               const float *b_hh, float *work, int in, int hidden)
{
  float *gi = work, *gh = work + 3 * hidden;
  affine (gi, w_ih, b_ih, x, 3 * hidden, in);
  affine (gh, w_hh, b_hh, h, 3 * hidden, hidden);
  for (int j = 0; j < hidden; j++) {
    float r = sigm (gi[j] + gh[j]);
    float z = sigm (gi[hidden + j] + gh[hidden + j]);
    float n = tanhf (gi[2 * hidden + j] + r * gh[2 * hidden + j]);
    h_out[j] = (1.0f - z) * n + z * h[j];
  }
}

void
attn_lstm_cell (float *h_out, float *c_out, const float *x, const float *h,
                const float *c, const float *w_ih, const float *b_ih,
                const float *w_hh, const float *b_hh, float *work, int in,
                int hidden)
{
  float *gi = work, *gh = work + 4 * hidden;
  affine (gi, w_ih, b_ih, x, 4 * hidden, in);
  affine (gh, w_hh, b_hh, h, 4 * hidden, hidden);
  for (int j = 0; j < hidden; j++) {
    float i = sigm (gi[j] + gh[j]);
    float f = sigm (gi[hidden + j] + gh[hidden + j]);
    float g = tanhf (gi[2 * hidden + j] + gh[2 * hidden + j]);
    float o = sigm (gi[3 * hidden + j] + gh[3 * hidden + j]);
    float cn = f * c[j] + i * g;
    c_out[j] = cn;
    h_out[j] = o * tanhf (cn);
  }
}

/* Per frame: ā, h_0 (c_0), the projected annotations. */
static void
begin (const AttnDecoder *dec, const float *feats, int l, Work *w)
{
  int d = dec->d, dh = dec->hidden;
  for (int k = 0; k < d; k++) {
    const float *row = feats + (size_t) k * l;
    double s = 0.0;
    for (int i = 0; i < l; i++)
      s += row[i];
    w->mean[k] = (float) (s / l);
  }
  affine (w->h, dec->init_h_w, dec->init_h_b, w->mean, dh, d);
  for (int j = 0; j < dh; j++)
    w->h[j] = tanhf (w->h[j]);
  if (dec->cell == ATTN_CELL_LSTM) {
    affine (w->c, dec->init_c_w, dec->init_c_b, w->mean, dh, d);
    for (int j = 0; j < dh; j++)
      w->c[j] = tanhf (w->c[j]);
  }
  if (dec->attention == ATTN_DEC_ADDITIVE) {
    int da = dec->att_dim;
    /* proj (Da, L) = W_enc (Da, D) · feats (D, L) + b_enc */
    for (int k = 0; k < da; k++) {
      float b = dec->enc_b ? dec->enc_b[k] : 0.0f;
      for (int i = 0; i < l; i++)
        w->proj[(size_t) k * l + i] = b;
    }
    attn_sgemm (false, false, da, l, d, 1.0f, dec->enc_w, d, feats, l, 1.0f,
                w->proj, l);
  }
}

/* One step from w->h (and w->c) with input token y: α into alpha (L), the
 * logits into w->logits, the new state into w->h / w->c. */
static void
step (const AttnDecoder *dec, const float *feats, int l, int y, float *alpha,
      Work *w)
{
  int d = dec->d, dh = dec->hidden, e_dim = dec->embed;
  float *z = w->x + e_dim;
  if (dec->attention == ATTN_DEC_ADDITIVE) {
    int da = dec->att_dim;
    attn_sgemv (false, da, dh, 1.0f, dec->dec_w, dh, w->h, 0.0f, w->q);
    for (int i = 0; i < l; i++)
      w->e[i] = 0.0f;
    for (int k = 0; k < da; k++) {
      const float *p = w->proj + (size_t) k * l;
      float q = w->q[k], v = dec->v_w[k];
      for (int i = 0; i < l; i++)
        w->e[i] += v * tanhf (p[i] + q);
    }
  } else {
    affine (w->q, dec->query_w, dec->query_b, w->h, d, dh);
    /* e (L) = feats (D, L)ᵀ q / √D */
    attn_sgemv (true, d, l, 1.0f / sqrtf ((float) d), feats, l, w->q, 0.0f,
                w->e);
  }
  attn_softmax (alpha, w->e, (size_t) l);
  /* z (D) = feats (D, L) · α */
  attn_sgemv (false, d, l, 1.0f, feats, l, alpha, 0.0f, z);
  if (dec->gate) {
    double s = dec->gate_b[0];
    for (int j = 0; j < dh; j++)
      s += (double) dec->gate_w[j] * w->h[j];
    float beta = sigm ((float) s);
    for (int k = 0; k < d; k++)
      z[k] *= beta;
  }
  memcpy (w->x, dec->embed_w + (size_t) y * e_dim, (size_t) e_dim * sizeof *w->x);
  if (dec->cell == ATTN_CELL_LSTM) {
    attn_lstm_cell (w->h2, w->c2, w->x, w->h, w->c, dec->w_ih, dec->b_ih,
                    dec->w_hh, dec->b_hh, w->cell, e_dim + d, dh);
    float *t = w->c; w->c = w->c2; w->c2 = t;
  } else {
    attn_gru_cell (w->h2, w->x, w->h, dec->w_ih, dec->b_ih, dec->w_hh,
                   dec->b_hh, w->cell, e_dim + d, dh);
  }
  float *t = w->h; w->h = w->h2; w->h2 = t;
  memcpy (w->hz, w->h, (size_t) dh * sizeof *w->hz);
  memcpy (w->hz + dh, z, (size_t) d * sizeof *w->hz);
  affine (w->logits, dec->out_w, dec->out_b, w->hz, dec->vocab, dh + d);
}

/* The argmax (lowest id on a tie) and its softmax probability. */
static int
pick (const float *logits, int v, float *score)
{
  int best = 0;
  for (int i = 1; i < v; i++)
    if (logits[i] > logits[best])
      best = i;
  double s = 0.0;
  for (int i = 0; i < v; i++)
    s += exp ((double) logits[i] - logits[best]);
  *score = (float) (1.0 / s);
  return best;
}

static void
run (const AttnDecoder *dec, const float *feats, int l, const int *targets,
     int n_steps, float *work, AttnDecoderOut *out)
{
  Work w;
  layout (dec, l, work, &w);
  begin (dec, feats, l, &w);
  int y = dec->start;
  out->length = 0;
  for (int t = 0; t < n_steps; t++) {
    step (dec, feats, l, y, out->alphas + (size_t) t * l, &w);
    if (out->logits)
      memcpy (out->logits + (size_t) t * dec->vocab, w.logits,
              (size_t) dec->vocab * sizeof *w.logits);
    int tok = pick (w.logits, dec->vocab, &out->scores[t]);
    out->tokens[t] = tok;
    out->length = t + 1;
    if (targets) {
      y = targets[t];
    } else {
      if (tok == dec->end)
        break;
      y = tok;
    }
  }
}

void
attn_decoder_run (const AttnDecoder *dec, const float *feats, int l,
                  float *work, AttnDecoderOut *out)
{
  run (dec, feats, l, NULL, dec->max_length, work, out);
}

void
attn_decoder_run_forced (const AttnDecoder *dec, const float *feats, int l,
                         const int *targets, int n_steps, float *work,
                         AttnDecoderOut *out)
{
  run (dec, feats, l, targets, n_steps, work, out);
}
