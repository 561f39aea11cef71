/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* blocked-private.h — blocked.c's AVX-512 tile (blocked_isa.c). */
#ifndef ATTN_BLOCKED_PRIVATE_H
#define ATTN_BLOCKED_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#define BLOCKED_OC 64   /* output channels per group: four vectors */
#define BLOCKED_NPX 7   /* pixels per tile: 4 × 7 = 28 accumulators */

/* One tile: nv ≤ 4 vectors of output channels (of one group) × np ≤
 * BLOCKED_NPX consecutive pixels, over kc input channels. x: the first
 * input channel's block at the tile's first pixel (blocks hw16 floats
 * apart; kc's channels start at a block's first); w: that channel's 64
 * weights, the next channels' after them; y (and res) the group's first
 * output block at the tile's first pixel, blocks hw16 apart. first: start
 * from zero, else from y's partial sums; fin: then add bias (64 floats,
 * zero past the real channels) and res, ReLU where relu, and where psum
 * is given add each channel's outputs to psum[channel] and take their
 * maximum into pmax[channel] (the group's 64); else store the partial
 * sums. */
void blocked_tile_avx512 (int nv, int np, const float *x, size_t hw16,
                          int kc, const float *w, float *y, bool first,
                          bool fin, const float *bias, const float *res,
                          bool relu, float *psum, float *pmax);

#define BLOCKED3_OC 32   /* output channels per 3×3 group: two vectors */
#define BLOCKED3_NPX 14  /* output pixels per 3×3 tile: 2 × 14 = 28 */

/* One 3×3 tile: 32 output channels × np ≤ BLOCKED3_NPX output pixels,
 * contiguous in the output: pixel q < n0 reads the padded input from x
 * (its first tap), pixel q ≥ n0 from x1 (the next output row's, when a
 * tile takes two rows of a narrow map), stride s between pixels; x and x1
 * at input channel 0's block, blocks plane16 floats apart, rows wp pixels
 * of 16 floats. wk: the group's reordered weights (attn_direct_weights'
 * layout). y (and res): the group's first output block at the tile's
 * first pixel, blocks hw16 apart; + (bias + res), ReLU where relu. */
void blocked3_tile_avx512 (int np, int n0, const float *x, const float *x1,
                           size_t plane16, int wp, int s, const float *wk,
                           int cin, float *y, size_t hw16, const float *bias,
                           const float *res, bool relu);

/* Winograd on blocked maps, one tile and one block of 16 channels:
 * input: v[k·ps] (k < α², α = m + 2) = (Bᵀ·d·B)[k] for the α×α input
 * tile d at x (rows wp pixels of 16 floats apart); output: the m×m tile
 * (Aᵀ·M·A) of the α² vectors mm[k·ps], rows·cols of it kept (the rest
 * past the map), + (bias + res), ReLU where relu, stored at y (rows wo
 * pixels apart; res likewise). m is 2 or 4. */
void blocked_wino_input_avx512 (int m, float *v, size_t ps, const float *x,
                                int wp);
void blocked_wino_output_avx512 (int m, float *y, const float *mm, size_t ps,
                                 int wo, int rows, int cols,
                                 const float *bias, const float *res,
                                 bool relu);

/* A k×k convolution's tile from a planar (NCHW) zero-padded input
 * (channels plane floats apart, rows wp): ng (1 or 2) groups of 32 output
 * channels × np ≤ BLOCKED3_NPX / ng pixels of one output row, stride s,
 * into a blocked output as blocked3_tile_avx512 stores it. wk: (C_in,
 * k·k, 32) per group, the second group gstride floats after the first. */
void blocked_stem_tile_avx512 (int ng, int np, const float *x, size_t plane,
                               int wp, int s, int k, const float *wk,
                               size_t gstride, int cin, float *y,
                               size_t hw16, const float *bias, bool relu);
/* Output pixels [p0, p1) of a max pool over one block (16 lanes): the
 * window of output pixel p is rows [iy0, iy1) × columns [ix0, ix1) of the
 * input, given per output row and column. */
void blocked_maxpool_row_avx512 (float *y, const float *x, int w, int iy0,
                                 int iy1, const int *ix0, const int *ix1,
                                 int wo);

/* Blocks [b0, b1) of a map of c channels and hw pixels, NCHW to blocked
 * (the lanes past c zero) or back, 16 pixels at a time through a 16×16
 * transpose in registers. */
void blocked_from_nchw_avx512 (float *xb, const float *x, int c, int hw,
                               int b0, int b1);
void blocked_to_nchw_avx512 (float *x, const float *xb, int c, int hw,
                             int b0, int b1);

/* The gates' passes over blocked maps (blocked.c says what each does):
 * the hw pixels of cb blocks hw16 floats apart; the spatial pools give
 * each pixel's max and sum over the cb blocks' channels. */
void blocked_channel_pools_avx512 (float *sum, float *max, const float *fb,
                                   int hw);
void blocked_spatial_pools_avx512 (float *pmax, float *psum,
                                   const float *fb, size_t hw16, int cb,
                                   const float *mc, int hw);
void blocked_apply_avx512 (float *out, const float *fb, size_t hw16, int cb,
                           const float *mc, const float *ms, const float *id,
                           bool relu, int hw);

#endif
