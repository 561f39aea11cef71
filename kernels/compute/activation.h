/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* activation.h — elementwise activations and softmax over flat arrays.
 * out may alias in for every function here. */
#ifndef ATTN_ACTIVATION_H
#define ATTN_ACTIVATION_H

#include <stddef.h>

typedef enum {
  ATTN_ACT_NONE = 0,
  ATTN_ACT_RELU,
  ATTN_ACT_SIGMOID,
} AttnAct;

/* out (n) = max(in, 0) */
void attn_relu(float *out, const float *in, size_t n);
/* out (n) = 1 / (1 + exp(-in)), stable for large |in| */
void attn_sigmoid(float *out, const float *in, size_t n);
/* out (n) = exp(in - max) / Σ exp(in - max) */
void attn_softmax(float *out, const float *in, size_t n);
/* in place: x (n) = act(x) */
void attn_activate(float *x, size_t n, AttnAct act);
/* scalar sigmoid, the same formula as attn_sigmoid */
float attn_sigmoidf(float x);

#endif
