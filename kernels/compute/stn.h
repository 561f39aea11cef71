/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stn.h — Spatial Transformer: affine grid + sampler, matching PyTorch's
 * F.affine_grid and F.grid_sample exactly (bit for bit with PyTorch 1.13's
 * x86-64 CPU kernels). One image; grids are (H,W,2) with (x, y) in
 * normalised [-1, 1] coordinates, x along width. The caller owns every
 * buffer; nothing is allocated. */
#ifndef ATTN_STN_H
#define ATTN_STN_H

#include <stdbool.h>

typedef enum {
  ATTN_SAMPLE_BILINEAR = 0,
  ATTN_SAMPLE_NEAREST,         /* rounds half to even, like PyTorch */
} AttnSampleMode;

typedef enum {
  ATTN_PAD_ZEROS = 0,          /* taps outside the image read 0 */
  ATTN_PAD_BORDER,             /* source coordinate clipped to [0, S-1] */
  ATTN_PAD_REFLECTION,         /* reflected at the borders, then clipped */
} AttnPadMode;

/* grid (H,W,2): (x_s, y_s) = θ · (x_t, y_t, 1), base coordinates
 * linspace(-1,1,n), times (n-1)/n unless align_corners (0 when n = 1).
 * theta (2,3), row-major. */
void attn_affine_grid (float *grid, const float *theta, int h, int w,
                       bool align_corners);

/* out (C,Ho,Wo) = in (C,H,W) sampled at grid (Ho,Wo,2); out must not overlap
 * in or grid. Pixel coordinate of g: ((g+1)/2)(S-1) with align_corners,
 * else ((g+1)S-1)/2. Non-finite grid values never index outside `in`; they
 * give what PyTorch gives: NaN (bilinear, zeros padding), 0 (nearest, zeros
 * padding), or pixel coordinate 0 (border/reflection; +inf clips to S-1
 * under border). */
void attn_grid_sample (float *out, const float *in, const float *grid, int c,
                       int h, int w, int h_out, int w_out, AttnSampleMode mode,
                       AttnPadMode pad, bool align_corners);

#endif
