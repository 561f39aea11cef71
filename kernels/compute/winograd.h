/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* winograd.h — 3×3 stride-1 convolution by Winograd's minimal filtering
 * algorithm F(m×m, 3×3), m = 2 or 4 (Lavin & Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016).
 *
 * Each m×m block of output comes from an α×α block of input (α = m + 2)
 * with α² multiplies per (C_out, C_in) pair instead of 9·m²: 16 instead of
 * 36 for F(2×2), 36 instead of 144 for F(4×4). The input tiles and the
 * weights are transformed into α² "frequency" planes, each plane is one
 * sgemm (C_out × C_in)·(C_in × tiles), and the products are transformed
 * back. The weight transform is done once (at plan time, in double
 * precision), not per call.
 *
 * Same contract as attn_conv2d for the convolutions it accepts (see
 * attn_winograd_applies); results differ from the direct sum only by
 * rounding: F(2×2)'s transforms add and halve, F(4×4)'s multiply by up to 8
 * and 1/24, which costs a few more bits (test_winograd measures both).
 * Nothing here allocates. */
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

/* The output tile m to run p on h×w with: 4 or 2 where, on this machine's
 * measurements, Winograd beats im2col + sgemm (enough channels and enough
 * tiles to keep the GEMMs efficient), 0 where it does not; under the policy
 * below. Nonzero implies attn_winograd_applies. */
int attn_winograd_tile (const AttnConv2d *p, int h, int w);
/* The same for the Winograd on channel-blocked maps (blocked.h), which
 * splits even a few tiles over the cores: where attn_cpu_fma_half, F(4×4)
 * from fewer tiles. */
int attn_winograd_blocked_tile (const AttnConv2d *p, int h, int w);

/* attn_winograd_tile (p, h, w) != 0 */
bool attn_winograd_pays (const AttnConv2d *p, int h, int w);

/* Whether attn_conv2d_winograd with tile m on `threads` threads splits p on
 * h×w by output channels: each thread then reads only its share of the
 * transformed weights (otherwise every thread reads them all). */
bool attn_winograd_splits_weights (const AttnConv2d *p, int h, int w, int m,
                                   int threads);

/* Which convolutions attn_winograd_tile selects, and with which tile,
 * process-wide: AUTO (the measured rule), NEVER, F2 or F4 (every one it
 * applies to, with that tile). For tests and benchmarks that must exercise or
 * exclude one algorithm in whole networks; set it before planning
 * (attn_net_new), not while networks run. Until it is set, the environment's
 * ATTN_WINOGRAD (auto, never, f2, f4) chooses, read at the first plan. */
typedef enum {
  ATTN_WINOGRAD_AUTO,
  ATTN_WINOGRAD_F2,
  ATTN_WINOGRAD_F4,
  ATTN_WINOGRAD_NEVER,
} AttnWinogradPolicy;

void attn_winograd_set_policy (AttnWinogradPolicy policy);

/* Floats of transformed weights for output tile m: α²·C_out·C_in. */
size_t attn_winograd_weights_size (const AttnConv2d *p, int m);

/* u (α², C_out, C_in) = G·g·Gᵀ for every 3×3 kernel g of weight
 * (C_out, C_in, 3, 3), for output tile m (2 or 4). */
void attn_winograd_weights (float *u, const float *weight, const AttnConv2d *p,
                            int m);

/* Floats of workspace for one h×w image with tile m: about
 * α²·(C_in + C_out)·(tiles per block, ≤ 56) per worker, for the most
 * workers a thread budget on this machine's cores may have; 0 when it does
 * not apply or m is neither 2 nor 4. */
size_t attn_winograd_workspace (const AttnConv2d *p, int h, int w, int m);

/* out (C_out, Ho, Wo) = conv(in (C_in, H, W)) with weights u from
 * attn_winograd_weights for the same m, then epilogue ep (NULL: none).
 * Batch 1. Does nothing when p does not apply or m is neither 2 nor 4. */
void attn_conv2d_winograd (float *out, const float *in, const float *u,
                           const AttnEpilogue *ep, float *ws,
                           const AttnConv2d *p, int h, int w, int m);

#endif
