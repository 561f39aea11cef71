/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* winograd.h — 3×3 stride-1 convolution by Winograd's minimal filtering
 * algorithm F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional
 * Neural Networks", 2016).
 *
 * Each 2×2 block of output comes from a 4×4 block of input with 16 multiplies
 * per (C_out, C_in) pair instead of 36: the input tiles and the weights are
 * transformed into 16 "frequency" planes, each plane is one sgemm
 * (C_out × C_in)·(C_in × tiles), and the 16 products are transformed back.
 * The weight transform is done once (at plan time), not per call.
 *
 * Same contract as attn_conv2d for the convolutions it accepts (see
 * attn_winograd_applies); results differ from the direct sum only by
 * rounding (the transforms use additions and halvings). Nothing here
 * allocates. */
#ifndef ATTN_WINOGRAD_H
#define ATTN_WINOGRAD_H

#include <stdbool.h>
#include <stddef.h>

#include "conv.h"

/* True when p is a 3×3, stride-1, undilated, ungrouped convolution with
 * padding ≤ 2 whose output on h×w is at least one pixel — the convolutions
 * attn_conv2d_winograd computes. It says nothing about speed: see
 * attn_winograd_pays. */
bool attn_winograd_applies (const AttnConv2d *p, int h, int w);

/* True when, on this machine's measurements, Winograd beats im2col + sgemm
 * for p on h×w (enough channels and enough 2×2 tiles to keep the 16 GEMMs
 * efficient). Implies attn_winograd_applies. */
bool attn_winograd_pays (const AttnConv2d *p, int h, int w);

/* Which convolutions attn_winograd_pays selects, process-wide: AUTO (the
 * measured rule), ALWAYS (every one it applies to) or NEVER. For tests and
 * benchmarks that must exercise or exclude one algorithm in whole networks;
 * set it before planning (attn_net_new), not while networks run. */
typedef enum {
  ATTN_WINOGRAD_AUTO,
  ATTN_WINOGRAD_ALWAYS,
  ATTN_WINOGRAD_NEVER,
} AttnWinogradPolicy;

void attn_winograd_set_policy (AttnWinogradPolicy policy);

/* Floats of transformed weights: 16·C_out·C_in. */
size_t attn_winograd_weights_size (const AttnConv2d *p);

/* u (16, C_out, C_in) = G·g·Gᵀ for every 3×3 kernel g of weight
 * (C_out, C_in, 3, 3). */
void attn_winograd_weights (float *u, const float *weight, const AttnConv2d *p);

/* Floats of workspace for one h×w image: about 16·(C_in + C_out)·tiles at
 * most (the blocks of every worker the thread budget may have). */
size_t attn_winograd_workspace (const AttnConv2d *p, int h, int w);

/* out (C_out, Ho, Wo) = conv(in (C_in, H, W)) with weights u from
 * attn_winograd_weights, then epilogue ep (NULL: none). Batch 1. */
void attn_conv2d_winograd (float *out, const float *in, const float *u,
                           const AttnEpilogue *ep, float *ws,
                           const AttnConv2d *p, int h, int w);

#endif
