/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* blocked.h — feature maps in a channel-blocked layout, and the kernels
 * a ResNet runs on them.
 *
 * The layout: channels in blocks of 16 (one AVX-512 vector), a map of C
 * channels and hw pixels stored as [ceil(C / 16)][hw][16]; the channels
 * past C in the last block are zero. Pixel p's 16 channels of a block are
 * one cache line, so a convolution that puts output channels in the
 * vector lanes reads its input as broadcasts from a few lines and its
 * weights as whole vectors, and writes whole vectors (no transposing
 * store). Here: the conversions, the 1×1, direct 3×3, Winograd and stem
 * convolutions, the max pool and the attention gates' passes; network.c
 * runs a ResNet's leading blocks on them (attn_net_set_layout_policy).
 *
 * Plain C11; the tiles run on AVX-512 where attn_cpu_isa() allows it and
 * in plain C elsewhere (the same sums, in the same order). Nothing here
 * allocates; the work is split over the thread budget (parallel.h). */
#ifndef ATTN_BLOCKED_H
#define ATTN_BLOCKED_H

#include <stdbool.h>
#include <stddef.h>

#include "conv.h"
#include "pool.h"

#define ATTN_BLOCK 16   /* channels per block */

/* Floats a blocked map of c channels and hw pixels takes. */
size_t attn_blocked_size (int c, int hw);

/* NCHW (one image) to blocked and back. from_nchw zeroes the last block's
 * channels past c; to_nchw ignores them. */
void attn_blocked_from_nchw (float *xb, const float *x, int c, int hw);
void attn_blocked_to_nchw (float *x, const float *xb, int c, int hw);

/* The 1×1 convolution's weights (c_out, c_in), as PyTorch stores them,
 * reordered once for attn_conv1x1_blocked: groups of 64 output channels,
 * per input channel the group's 64 weights contiguous, zero past c_out.
 * wk holds attn_conv1x1_blocked_weights_size floats (64-byte aligned
 * reads fastest). */
size_t attn_conv1x1_blocked_weights_size (int c_out, int c_in);
void attn_conv1x1_blocked_pack (float *wk, const float *w, int c_out,
                                int c_in);

/* yb = conv1x1 (xb), then + (bias + res), then ReLU where relu: xb a
 * blocked map of c_in channels, yb and res (NULL: none) blocked maps of
 * c_out channels, all of hw pixels; bias (c_out, NULL: none). yb may not
 * alias xb; it may alias res. Each output is Σ over input channels in
 * order, in float (multiply-adds), as the GEMM path sums a K-block. */
void attn_conv1x1_blocked (float *yb, const float *xb, const float *wk,
                           const float *bias, const float *res, bool relu,
                           int c_out, int c_in, int hw);
/* The same, and the channel pools of what it stores (a gated block's last
 * convolution): avg[c], max[c] over the hw pixels (both NULL: none). */
void attn_conv1x1_blocked_pools (float *yb, const float *xb, const float *wk,
                                 const float *bias, const float *res,
                                 bool relu, float *avg, float *max, int c_out,
                                 int c_in, int hw);

/* The 3×3 convolution on blocked maps, computed directly: p a 3×3,
 * undilated, ungrouped convolution of stride 1 or 2 and padding 0 or 1
 * (the same along both axes), C_out a multiple of 32 — what
 * attn_direct_applies accepts — with weights reordered by
 * attn_direct_weights. xb: c_in channels of h×w; yb and res (NULL: none):
 * c_out channels of the output size; bias (NULL: none). ws: the
 * zero-padded input, attn_conv3x3_blocked_workspace floats. yb may alias
 * res, not xb. The sums run over input channels, then kernel rows, then
 * columns, as attn_conv2d_direct's. */
size_t attn_conv3x3_blocked_workspace (const AttnConv2d *p, int h, int w);
void attn_conv3x3_blocked (float *yb, const float *xb, const float *wk,
                           const float *bias, const float *res, bool relu,
                           float *ws, const AttnConv2d *p, int h, int w);

/* Winograd F(m×m, 3×3) (m 2 or 4) on blocked maps, for what
 * attn_winograd_applies accepts with C_in and C_out multiples of 16. The
 * input tiles are transformed 16 channels at a time (the lanes), each of
 * the α² planes is one product (tiles × C_in)·(C_in × C_out) on our GEMM,
 * and each output tile is transformed back straight into the blocked
 * output, + (bias + res), ReLU where relu. Weights: transformed as
 * attn_winograd_weights does (once, in double), each plane transposed to
 * (C_in, C_out); the function returns false when it cannot allocate its
 * scratch (plan time only). Workspace: the zero-padded input and a block
 * of tiles' transformed inputs and products. */
size_t attn_winograd_blocked_weights_size (const AttnConv2d *p, int m);
bool attn_winograd_blocked_weights (float *ut, const float *weight,
                                    const AttnConv2d *p, int m);
size_t attn_winograd_blocked_workspace (const AttnConv2d *p, int h, int w,
                                        int m);
void attn_winograd_blocked (float *yb, const float *xb, const float *ut,
                            const float *bias, const float *res, bool relu,
                            float *ws, const AttnConv2d *p, int h, int w,
                            int m);

/* A network's stem on blocked maps: p a k×k convolution (k odd, at most
 * 7), stride 1 or 2 alike on both axes, padding k/2, ungrouped,
 * undilated, C_out a multiple of 32, from a planar (NCHW) input of C_in
 * channels into a blocked output, + bias, ReLU where relu. wk:
 * attn_stem_blocked_weights (C_out/32, C_in, k·k, 32); ws: the padded
 * input, attn_stem_blocked_workspace floats. */
bool attn_stem_blocked_applies (const AttnConv2d *p);
size_t attn_stem_blocked_weights_size (const AttnConv2d *p);
void attn_stem_blocked_weights (float *wk, const float *weight,
                                const AttnConv2d *p);
size_t attn_stem_blocked_workspace (const AttnConv2d *p, int h, int w);
void attn_stem_blocked (float *yb, const float *x, const float *wk,
                        const float *bias, bool relu, float *ws,
                        const AttnConv2d *p, int h, int w);

/* Max pool on a blocked map (c channels, h×w), as attn_maxpool2d (p's
 * dilation 1): padding never wins, a window's maximum is over the input
 * it covers. */
void attn_blocked_maxpool (float *yb, const float *xb, const AttnPool2d *p,
                           int c, int h, int w);

/* The attention gates' passes on a blocked map F of c channels (a
 * multiple of 16) and hw pixels, as cbam.h and se.h define them:
 * channel pools avg[c] and max[c] over the pixels; CBAM's spatial pools
 * pmax[p] = max_c F·mc[c] and pmean[p] = mean_c F·mc[c]; the apply
 * out = F·mc[c]·ms[p] + id, ReLU where relu (ms NULL: SE's, = 1; id
 * NULL: none; out may alias F). The sums run in another order than
 * NCHW's: by lanes, then across them (the spatial mean's in groups of 64
 * channels, then across the groups in order). The spatial pools' work:
 * attn_blocked_spatial_pools_workspace(c, hw) floats. */
void attn_blocked_channel_pools (float *avg, float *max, const float *fb,
                                 int c, int hw);
void attn_blocked_spatial_pools (float *pmax, float *pmean, const float *fb,
                                 const float *mc, int c, int hw, float *work);
size_t attn_blocked_spatial_pools_workspace (int c, int hw);
void attn_blocked_gate_apply (float *out, const float *fb, const float *mc,
                              const float *ms, const float *id, bool relu,
                              int c, int hw);

/* yb (c, ceil(h/s) × ceil(w/s)) = every s-th pixel of every s-th row of
 * xb (c, h×w): a 1×1 convolution of stride s is this, then a 1×1 of
 * stride 1. */
void attn_blocked_subsample (float *yb, const float *xb, int c, int h, int w,
                             int s);

#endif
