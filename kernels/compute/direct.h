/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* direct.h — 3×3 convolution computed directly, without im2col, on
 * AVX-512: each step multiplies 32 output channels' weights (two vectors,
 * the weights reordered once at plan time) by one input value broadcast,
 * for up to 14 output pixels of a row (or of two rows 7 wide or less) at
 * a time (28 accumulators).
 *
 * Same contract as attn_conv2d for the convolutions it accepts (see
 * attn_direct_applies); the sums run in im2col's order (input channel,
 * then kernel row, then column), so results differ from attn_conv2d only
 * by the K-blocking of its product. Nothing here allocates. */
#ifndef ATTN_DIRECT_H
#define ATTN_DIRECT_H

#include <stdbool.h>
#include <stddef.h>

#include "conv.h"

/* True when p is a 3×3, undilated, ungrouped convolution of stride 1 or 2
 * (the same along both axes), padding 0 or 1 (the same along both axes),
 * C_out a multiple of 32, with an output of at least one pixel on h×w.
 * It says nothing about speed or about this CPU: see attn_direct_pays. */
bool attn_direct_applies (const AttnConv2d *p, int h, int w);

/* Which convolutions attn_direct_pays selects, process-wide: AUTO (the
 * measured rule), NEVER, ALWAYS (every one it applies to, on a CPU with
 * AVX-512). For tests and benchmarks; set it before planning (attn_net_new).
 * Until it is set, the environment's ATTN_DIRECT (auto, never, always)
 * chooses, read at the first plan. */
typedef enum {
  ATTN_DIRECT_AUTO,
  ATTN_DIRECT_NEVER,
  ATTN_DIRECT_ALWAYS,
} AttnDirectPolicy;

void attn_direct_set_policy (AttnDirectPolicy policy);

/* Whether to run p on h×w directly rather than by im2col + sgemm, on this
 * CPU (attn_cpu_isa () AVX-512) under the policy above. Implies
 * attn_direct_applies. */
bool attn_direct_pays (const AttnConv2d *p, int h, int w);

/* Floats of reordered weights: C_out·C_in·9. */
size_t attn_direct_weights_size (const AttnConv2d *p);

/* wk (C_out/32, C_in, 9, 32) = weight (C_out, C_in, 3, 3) reordered: each
 * group of 32 output channels' weights for one input channel and tap
 * side by side. */
void attn_direct_weights (float *wk, const float *weight, const AttnConv2d *p);

/* Floats of workspace attn_conv2d_direct needs for h×w: the zero-padded
 * input, C_in·(h + 2·pad)·(w + 2·pad). */
size_t attn_direct_workspace (const AttnConv2d *p, int h, int w);

/* out = conv(in) for one image, from the reordered weights wk, then the
 * epilogue, as attn_conv2d; split over the thread budget by groups of 32
 * output channels (and bands of rows when there are fewer groups than
 * threads). Requires attn_direct_applies and AVX-512 (attn_direct_pays). */
void attn_conv2d_direct (float *out, const float *in, const float *wk,
                         const AttnEpilogue *ep, float *ws,
                         const AttnConv2d *p, int h, int w);

#endif
