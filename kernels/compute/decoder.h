/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* decoder.h — the encoder–decoder soft-attention head ("Show, Attend and
 * Tell", docs/model-format.md "decoder"): a GRU or LSTM decoder that reads
 * the backbone's last feature map as L annotation vectors, attends over them
 * at every step (additive or scaled dot product, optionally gated) and
 * decodes greedily until the end token.
 *
 * Plain C; the caller owns every buffer and nothing is allocated: the
 * workspace is sized once (attn_decoder_workspace) for a grid of L cells.
 * Weights are PyTorch's, row-major, as the loader maps them. */
#ifndef ATTN_DECODER_H
#define ATTN_DECODER_H

#include <stdbool.h>
#include <stddef.h>

#define ATTN_DECODER_MAX_DIM 8192
#define ATTN_DECODER_MAX_VOCAB 100000
#define ATTN_DECODER_MAX_LENGTH 256

typedef enum { ATTN_CELL_GRU, ATTN_CELL_LSTM } AttnCellKind;
typedef enum { ATTN_DEC_ADDITIVE, ATTN_DEC_DOT } AttnDecAttention;

typedef struct {
  AttnCellKind cell;
  AttnDecAttention attention;
  int d;              /* annotation size D (the backbone's C_last) */
  int hidden;         /* Dh */
  int embed;          /* E */
  int att_dim;        /* Da, additive only (0 for dot) */
  int vocab;          /* V */
  bool gate;
  int start, end, max_length;
  const float *init_h_w, *init_h_b;   /* (Dh, D), (Dh) */
  const float *init_c_w, *init_c_b;   /* LSTM: (Dh, D), (Dh) */
  const float *embed_w;               /* (V, E) */
  const float *enc_w, *enc_b;         /* additive: (Da, D), (Da) */
  const float *dec_w;                 /* additive: (Da, Dh) */
  const float *v_w;                   /* additive: (Da) */
  const float *query_w, *query_b;     /* dot: (D, Dh), (D) */
  const float *gate_w, *gate_b;       /* gate: (Dh), (1) */
  const float *w_ih, *b_ih;           /* (G·Dh, E + D), (G·Dh); G = 3 or 4 */
  const float *w_hh, *b_hh;           /* (G·Dh, Dh), (G·Dh) */
  const float *out_w, *out_b;         /* (V, Dh + D), (V) */
  char **vocabulary;                  /* V strings (the loader's) */
} AttnDecoder;

/* The gates of a cell: 3 (GRU) or 4 (LSTM). */
int attn_decoder_gates (AttnCellKind cell);

/* Floats of workspace attn_decoder_run needs for a grid of l cells. */
size_t attn_decoder_workspace (const AttnDecoder *dec, int l);

/* One GRU step, PyTorch's nn.GRUCell (gates r, z, n):
 *   r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h
 * x (in), h (hidden) → h_out (hidden; may not alias h). work: 6·hidden. */
void attn_gru_cell (float *h_out, const float *x, const float *h,
                    const float *w_ih, const float *b_ih, const float *w_hh,
                    const float *b_hh, float *work, int in, int hidden);

/* One LSTM step, PyTorch's nn.LSTMCell (gates i, f, g, o):
 *   c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g), h' = σ(o) ⊙ tanh(c')
 * h_out, c_out may not alias h, c. work: 8·hidden. */
void attn_lstm_cell (float *h_out, float *c_out, const float *x,
                     const float *h, const float *c, const float *w_ih,
                     const float *b_ih, const float *w_hh, const float *b_hh,
                     float *work, int in, int hidden);

/* What one run produced. The caller sizes the arrays for max_length steps. */
typedef struct {
  int *tokens;        /* (max_length) the emitted ids, end token included */
  float *scores;      /* (max_length) softmax probability of each token */
  float *alphas;      /* (max_length, L) α of each step, row-major h×w */
  float *logits;      /* (max_length, V) or NULL: each step's logits */
  int length;         /* steps run: up to and including the end token */
} AttnDecoderOut;

/* Greedy decoding over feats (D, L): the feature map in NCHW order (channel
 * major), which is what the backbone leaves. Stops after the end token or
 * max_length steps. work: attn_decoder_workspace(dec, l) floats. */
void attn_decoder_run (const AttnDecoder *dec, const float *feats, int l,
                       float *work, AttnDecoderOut *out);

/* Teacher-forced run: step t's input is targets[t − 1] (the start token for
 * t = 0), for n_steps steps, every step's logits and α written; used by the
 * tests to compare with PyTorch step by step. tokens/scores get the argmax. */
void attn_decoder_run_forced (const AttnDecoder *dec, const float *feats,
                              int l, const int *targets, int n_steps,
                              float *work, AttnDecoderOut *out);

#endif
