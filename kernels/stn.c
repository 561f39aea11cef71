/* stn.c — affine grid and grid sampler with PyTorch's conventions
 * (F.affine_grid, F.grid_sample: bilinear/nearest, zeros/border/reflection,
 * align_corners true/false). */
#include "stn.h"

#include <math.h>
#include <stddef.h>

/* linspace(−1, 1, n), scaled by (n−1)/n unless align_corners; 0 for n = 1 */
static float
base_coord (int i, int n, bool align_corners)
{
  if (n <= 1)
    return 0.0f;
  float v = -1.0f + 2.0f * (float) i / (float) (n - 1);
  return align_corners ? v : v * (float) (n - 1) / (float) n;
}

void
attn_affine_grid (float *grid, const float *theta, int h, int w,
                  bool align_corners)
{
  for (int y = 0; y < h; y++) {
    float yt = base_coord (y, h, align_corners);
    for (int x = 0; x < w; x++) {
      float xt = base_coord (x, w, align_corners);
      float *g = grid + 2 * ((size_t) y * w + x);
      g[0] = theta[0] * xt + theta[1] * yt + theta[2];
      g[1] = theta[3] * xt + theta[4] * yt + theta[5];
    }
  }
}

/* Reflects x into [twice_low/2, twice_high/2] (PyTorch's reflect_coordinates). */
static float
reflect (float x, float twice_low, float twice_high)
{
  if (twice_low == twice_high)
    return 0.0f;
  float lo = twice_low / 2, span = (twice_high - twice_low) / 2;
  x = fabsf (x - lo);
  float extra = fmodf (x, span);
  int flips = (int) floorf (x / span);
  return flips % 2 == 0 ? extra + lo : span - extra + lo;
}

/* Normalised g → source pixel coordinate along an axis of `size`, after the
 * padding mode's clipping or reflection. Non-finite input maps far outside
 * (no tap is read); the result is clamped so it converts to int safely. */
static float
source_coord (float g, int size, AttnPadMode pad, bool align_corners)
{
  float c = align_corners ? (g + 1) / 2 * (size - 1)
      : ((g + 1) * size - 1) / 2;
  if (!isfinite (c))
    c = -100.0f;
  if (pad == ATTN_PAD_REFLECTION) {
    c = align_corners ? reflect (c, 0, 2.0f * (size - 1))
        : reflect (c, -1, 2.0f * size - 1);
  }
  if (pad != ATTN_PAD_ZEROS)
    c = fminf (fmaxf (c, 0.0f), (float) (size - 1));
  return fminf (fmaxf (c, -2.0f), (float) size + 1);
}

void
attn_grid_sample (float *out, const float *in, const float *grid, int c,
                  int h, int w, int h_out, int w_out, AttnSampleMode mode,
                  AttnPadMode pad, bool align_corners)
{
  size_t plane_in = (size_t) h * w, plane_out = (size_t) h_out * w_out;
  for (size_t o = 0; o < plane_out; o++) {
    float ix = source_coord (grid[2 * o], w, pad, align_corners);
    float iy = source_coord (grid[2 * o + 1], h, pad, align_corners);
    if (mode == ATTN_SAMPLE_NEAREST) {
      int x = (int) nearbyintf (ix), y = (int) nearbyintf (iy);  /* ties to even */
      bool inside = x >= 0 && x < w && y >= 0 && y < h;
      for (int ch = 0; ch < c; ch++)
        out[ch * plane_out + o] = inside
            ? in[ch * plane_in + (size_t) y * w + x] : 0.0f;
      continue;
    }
    /* bilinear: the four taps around (ix, iy); taps outside contribute 0 */
    int x0 = (int) floorf (ix), y0 = (int) floorf (iy);
    int x1 = x0 + 1, y1 = y0 + 1;
    float wx1 = ix - x0, wx0 = x1 - ix, wy1 = iy - y0, wy0 = y1 - iy;
    bool in_x0 = x0 >= 0 && x0 < w, in_x1 = x1 >= 0 && x1 < w;
    bool in_y0 = y0 >= 0 && y0 < h, in_y1 = y1 >= 0 && y1 < h;
    float w_nw = in_x0 && in_y0 ? wx0 * wy0 : 0.0f;
    float w_ne = in_x1 && in_y0 ? wx1 * wy0 : 0.0f;
    float w_sw = in_x0 && in_y1 ? wx0 * wy1 : 0.0f;
    float w_se = in_x1 && in_y1 ? wx1 * wy1 : 0.0f;
    /* clamp indices so the (zero-weighted) out-of-range taps stay in bounds */
    int cx0 = x0 < 0 ? 0 : x0 >= w ? w - 1 : x0;
    int cx1 = x1 < 0 ? 0 : x1 >= w ? w - 1 : x1;
    int cy0 = y0 < 0 ? 0 : y0 >= h ? h - 1 : y0;
    int cy1 = y1 < 0 ? 0 : y1 >= h ? h - 1 : y1;
    size_t nw = (size_t) cy0 * w + cx0, ne = (size_t) cy0 * w + cx1;
    size_t sw = (size_t) cy1 * w + cx0, se = (size_t) cy1 * w + cx1;
    for (int ch = 0; ch < c; ch++) {
      const float *p = in + ch * plane_in;
      out[ch * plane_out + o] = p[nw] * w_nw + p[ne] * w_ne + p[sw] * w_sw
          + p[se] * w_se;
    }
  }
}
