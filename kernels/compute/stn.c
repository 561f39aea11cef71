/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stn.c — affine grid and grid sampler with PyTorch's conventions
 * (F.affine_grid, F.grid_sample: bilinear/nearest, zeros/border/reflection,
 * align_corners true/false).
 *
 * Bit for bit: both functions round where PyTorch 1.13's CPU kernels round
 * on x86-64 with its AVX2 kernels and an FMA BLAS (checked against torch
 * 1.13.1 on ~10^8 outputs), so nearest-mode ties and floor() boundaries
 * fall the same way; other PyTorch builds differ by an ulp here and there.
 * Those kernels are compiled with FMA contraction: the steps PyTorch fuses
 * (a·b + c rounded once) are written with fma_f below; every other step is
 * its own statement and rounds alone. This relies on the compiler not
 * contracting on its own (-std=c11 keeps GCC at -ffp-contract=off; clang
 * contracts only within one expression). */
#include "stn.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* a·b + c rounded once to float. With hardware FMA that is fmaf; without,
 * in double, which vectorises where a libm call would not: a·b is exact in
 * double, and rounding the sum twice (double, then float) differs from once
 * only when it lands exactly halfway between two floats (none in 10^8
 * comparisons with PyTorch). */
static inline float
fma_f (float a, float b, float c)
{
#ifdef FP_FAST_FMAF
  return fmaf (a, b, c);
#else
  return (float) ((double) a * b + c);
#endif
}

/* ---- affine_grid ------------------------------------------------------ */

/* One of linspace(−1, 1, n)'s scalar values: −1 + step·i in the first half,
 * 1 − step·(n−1−i) in the second (fused). */
static float
linspace_end (int i, int n, float step)
{
  if (i < n / 2)
    return fma_f (step, (float) i, -1.0f);
  return fma_f (-step, (float) (n - 1 - i), 1.0f);
}

/* Base coordinate i of n: linspace(−1, 1, n)[i], times (n−1)/n unless
 * align_corners; 0 for n = 1. PyTorch's linspace fills whole blocks of 16 as
 * two 8-lane vectors, lane k = v + k·step (not fused) with v the scalar value
 * at the vector's first index, and the rest (n mod 16) with scalar values
 * (for n <= 32768, one thread's chunk). The scale is two roundings:
 * (v·(n−1)) / n. */
static float
base_coord (int i, int n, bool align_corners)
{
  if (n <= 1)
    return 0.0f;
  float step = 2.0f / (float) (n - 1);
  float v;
  if (i < n / 16 * 16) {
    float k_step = (float) (i % 8) * step;
    v = linspace_end (i - i % 8, n, step);
    v = v + k_step;
  } else {
    v = linspace_end (i, n, step);
  }
  if (!align_corners) {
    v = v * (float) (n - 1);
    v = v / (float) n;
  }
  return v;
}

void
attn_affine_grid (float *grid, const float *theta, int h, int w,
                  bool align_corners)
{
  if (h <= 0 || w <= 0)
    return;
  /* PyTorch multiplies the (h·w, 3) base rows by θᵀ in a batched matmul:
   * below 400 multiply-adds with a plain loop, (x·θ0 + y·θ1) + θ2 with each
   * product and sum rounded; from 400 on in BLAS, fma (y, θ1, x·θ0) + θ2. */
  bool small = 6.0 * h * w < 400.0;
  /* the x base coordinates, computed once, wait in row 0's x slots; each
   * row reads them there, row 0 last (it reads a slot before writing it) */
  for (int x = 0; x < w; x++)
    grid[2 * x] = base_coord (x, w, align_corners);
  for (int y = h - 1; y >= 0; y--) {
    float yt = base_coord (y, h, align_corners);
    float *row = grid + (size_t) 2 * y * w;
    for (int x = 0; x < w; x++) {
      float xt = grid[2 * x];
      float gx, gy;
      if (small) {
        float px = yt * theta[1], py = yt * theta[4];
        gx = xt * theta[0];
        gy = xt * theta[3];
        gx = gx + px;
        gy = gy + py;
      } else {
        gx = fma_f (yt, theta[1], xt * theta[0]);
        gy = fma_f (yt, theta[4], xt * theta[3]);
      }
      row[2 * x] = gx + theta[2];
      row[2 * x + 1] = gy + theta[5];
    }
  }
}

/* ---- grid_sample ------------------------------------------------------- */

/* What maps a normalised grid value to a pixel coordinate along one axis of
 * `size` pixels. */
typedef struct {
  float scale;      /* (S−1)/2 with align_corners, else S/2 */
  bool shift;       /* subtract ½ after scaling (not align_corners) */
  float max;        /* S − 1: border/reflection clip to [0, S−1] */
  float low;        /* reflection lower bound: 0, or −½ */
  float twice_span; /* reflection period: 2(S−1), or 2S; 0 = empty span */
  AttnPadMode pad;
} Axis;

static Axis
axis_new (int size, AttnPadMode pad, bool align_corners)
{
  Axis a;
  a.scale = align_corners ? (float) (size - 1) / 2 : (float) size / 2;
  a.shift = !align_corners;
  a.max = (float) (size - 1);
  a.low = align_corners ? 0.0f : -0.5f;
  a.twice_span = align_corners ? (float) (size - 1) * 2 : (float) size * 2;
  a.pad = pad;
  return a;
}

/* Grid value g → source pixel coordinate, after padding:
 *   unnormalise: align_corners (g+1)·(S−1)/2, else (g+1)·S/2 − ½ (fused);
 *   reflection:  d = |c − low|, e = d − trunc(d / 2span)·2span (fused),
 *                c = min(e, 2span − e) + low  (reflect into [low, low+span]);
 *                an empty span (align_corners, S = 1) gives 0;
 *   border and reflection then clip to [0, S−1].
 * A NaN that reaches the clip (NaN or ±inf grid value) becomes 0, as in
 * PyTorch; with zeros padding the coordinate is returned as is, NaN or huge,
 * and tap_index keeps it out of range. */
static inline float
source_coord (const Axis *a, float g)
{
  float c = g + 1.0f;
  c = a->shift ? fma_f (c, a->scale, -0.5f) : c * a->scale;
  if (a->pad == ATTN_PAD_ZEROS)
    return c;
  if (a->pad == ATTN_PAD_REFLECTION) {
    if (a->twice_span == 0.0f) {
      c = 0.0f;
    } else {
      float d = fabsf (c - a->low);
      float flips = truncf (d / a->twice_span);
      float e = fma_f (-flips, a->twice_span, d);
      float r = a->twice_span - e;
      c = (e < r ? e : r) + a->low;    /* NaN stays NaN */
    }
  }
  c = c > 0.0f ? c : 0.0f;             /* NaN → 0 */
  return c < a->max ? c : a->max;
}

/* An integral (or non-finite) coordinate as an index clamped to
 * [−2, size]: anything outside [0, size) stays outside, NaN goes to −2, and
 * the conversion is always in range (in double, exact for every int). */
static inline ptrdiff_t
tap_index (float v, int size)
{
  double d = v;
  d = d > -2.0 ? d : -2.0;
  d = d < (double) size ? d : (double) size;
  return (ptrdiff_t) d;
}

/* Output pixels go in blocks: a pass over the block's grid computes each
 * pixel's taps (offsets, in-range flags, weights) once, then for each channel
 * a contiguous loop over the block gathers and blends; with restrict on the
 * parameters (not just the locals) GCC vectorises it with gathers on AVX2. */
enum { BLOCK = 64 };

static void
sample_nearest (float *restrict out, const float *restrict in,
                const float *restrict grid, const Axis *ax, const Axis *ay,
                int c, int h, int w, size_t plane_out)
{
  size_t plane_in = (size_t) h * w;
  ptrdiff_t off[BLOCK];
  int32_t ok[BLOCK];
  for (size_t o0 = 0; o0 < plane_out; o0 += BLOCK) {
    size_t n = plane_out - o0 < BLOCK ? plane_out - o0 : BLOCK;
    const float *g = grid + 2 * o0;
    for (size_t i = 0; i < n; i++) {
      /* round half to even, like PyTorch's vectorised round() */
      ptrdiff_t x = tap_index (nearbyintf (source_coord (ax, g[2 * i])), w);
      ptrdiff_t y = tap_index (nearbyintf (source_coord (ay, g[2 * i + 1])), h);
      ok[i] = x >= 0 && x < w && y >= 0 && y < h;
      off[i] = ok[i] ? y * w + x : 0;
    }
    for (int ch = 0; ch < c; ch++) {
      const float *restrict p = in + ch * plane_in;
      float *restrict q = out + ch * plane_out + o0;
      for (size_t i = 0; i < n; i++) {
        float v = p[off[i]];
        q[i] = ok[i] ? v : 0.0f;
      }
    }
  }
}

static void
sample_bilinear (float *restrict out, const float *restrict in,
                 const float *restrict grid, const Axis *ax, const Axis *ay,
                 int c, int h, int w, size_t plane_out)
{
  size_t plane_in = (size_t) h * w;
  /* taps 0..3 = north-west, north-east, south-west, south-east */
  ptrdiff_t off[4][BLOCK];
  int32_t ok[4][BLOCK];
  float wt[4][BLOCK];
  for (size_t o0 = 0; o0 < plane_out; o0 += BLOCK) {
    size_t n = plane_out - o0 < BLOCK ? plane_out - o0 : BLOCK;
    const float *g = grid + 2 * o0;
    for (size_t i = 0; i < n; i++) {
      float x = source_coord (ax, g[2 * i]);
      float y = source_coord (ay, g[2 * i + 1]);
      /* weights from the distances to the four sides, as PyTorch:
       * fx = x − ⌊x⌋, fy = y − ⌊y⌋;
       * nw = (1−fy)(1−fx), ne = (1−fy)fx, sw = fy(1−fx), se = fy·fx */
      float x0 = floorf (x), y0 = floorf (y);
      float fx = x - x0, fy = y - y0;
      float gx = 1.0f - fx, gy = 1.0f - fy;
      wt[0][i] = gy * gx;
      wt[1][i] = gy * fx;
      wt[2][i] = fy * gx;
      wt[3][i] = fy * fx;
      /* a tap outside the image reads 0 (zeros padding; border and
       * reflection only ever reach past the east/south edge with weight 0) */
      ptrdiff_t xw = tap_index (x0, w), yn = tap_index (y0, h);
      ptrdiff_t xe = xw + 1, ys = yn + 1;
      bool in_w = xw >= 0 && xw < w, in_e = xe >= 0 && xe < w;
      bool in_n = yn >= 0 && yn < h, in_s = ys >= 0 && ys < h;
      ok[0][i] = in_n && in_w;
      ok[1][i] = in_n && in_e;
      ok[2][i] = in_s && in_w;
      ok[3][i] = in_s && in_e;
      off[0][i] = ok[0][i] ? yn * w + xw : 0;
      off[1][i] = ok[1][i] ? yn * w + xe : 0;
      off[2][i] = ok[2][i] ? ys * w + xw : 0;
      off[3][i] = ok[3][i] ? ys * w + xe : 0;
    }
    for (int ch = 0; ch < c; ch++) {
      const float *restrict p = in + ch * plane_in;
      float *restrict q = out + ch * plane_out + o0;
      for (size_t i = 0; i < n; i++) {
        /* out = ((nw·v_nw + ne·v_ne) + sw·v_sw) + se·v_se, fused as PyTorch;
         * a masked tap is the value 0, so a non-finite pixel beside the
         * image edge cannot leak in through a zero weight */
        float a = p[off[0][i]], b = p[off[1][i]];
        float d = p[off[2][i]], e = p[off[3][i]];
        a = ok[0][i] ? a : 0.0f;
        b = ok[1][i] ? b : 0.0f;
        d = ok[2][i] ? d : 0.0f;
        e = ok[3][i] ? e : 0.0f;
        float r = a * wt[0][i];
        r = fma_f (b, wt[1][i], r);
        r = fma_f (d, wt[2][i], r);
        q[i] = fma_f (e, wt[3][i], r);
      }
    }
  }
}

void
attn_grid_sample (float *out, const float *in, const float *grid, int c,
                  int h, int w, int h_out, int w_out, AttnSampleMode mode,
                  AttnPadMode pad, bool align_corners)
{
  if (c <= 0 || h_out <= 0 || w_out <= 0)
    return;
  size_t plane_out = (size_t) h_out * w_out;
  if (h <= 0 || w <= 0) {
    /* an empty input has nothing to sample (PyTorch rejects it): zeros */
    for (size_t i = 0; i < (size_t) c * plane_out; i++)
      out[i] = 0.0f;
    return;
  }
  Axis ax = axis_new (w, pad, align_corners);
  Axis ay = axis_new (h, pad, align_corners);
  if (mode == ATTN_SAMPLE_NEAREST)
    sample_nearest (out, in, grid, &ax, &ay, c, h, w, plane_out);
  else
    sample_bilinear (out, in, grid, &ax, &ay, c, h, w, plane_out);
}
