/* stn.h — Spatial Transformer: affine grid + sampler, matching PyTorch's
 * F.affine_grid and F.grid_sample exactly. One image; grids are (H,W,2) with
 * (x, y) in normalised [-1, 1] coordinates, x along width. */
#ifndef ATTN_STN_H
#define ATTN_STN_H

#include <stdbool.h>

typedef enum {
  ATTN_SAMPLE_BILINEAR = 0,
  ATTN_SAMPLE_NEAREST,
} AttnSampleMode;

typedef enum {
  ATTN_PAD_ZEROS = 0,
  ATTN_PAD_BORDER,
  ATTN_PAD_REFLECTION,
} AttnPadMode;

/* grid (H,W,2): (x_s, y_s) = θ · (x_t, y_t, 1), base coordinates
 * linspace(-1,1,n), times (n-1)/n unless align_corners. theta (2,3). */
void attn_affine_grid (float *grid, const float *theta, int h, int w,
                       bool align_corners);

/* out (C,Ho,Wo) = in (C,H,W) sampled at grid (Ho,Wo,2). */
void attn_grid_sample (float *out, const float *in, const float *grid, int c,
                       int h, int w, int h_out, int w_out, AttnSampleMode mode,
                       AttnPadMode pad, bool align_corners);

#endif
