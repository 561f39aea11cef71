/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_stn.c — attn_affine_grid and attn_grid_sample against a naive
 * reference written here from PyTorch's definitions, in double: every mode ×
 * padding × align_corners, thetas and grids that reach far outside the
 * image, awkward shapes (1×1, 1×N, N×1, odd, up- and downsampling, C = 1, 3,
 * 17); then hand-computed cases: grids, paddings, round-half-even ties,
 * non-finite grid values, degenerate sizes, writes beyond the output; and
 * bit-exactness with a step-by-step model of PyTorch's rounding. (Comparison
 * with PyTorch's own outputs is test_goldens' job.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "stn.h"

/* grid: float vs double of two products and two sums, values up to ~6 */
#define GRID_ATOL 2e-6f
#define GRID_RTOL 1e-6f
/* samples: the kernel's float coordinate is off by ~S·2^-24 pixels */
#define ATOL 1e-5f
#define RTOL 1e-5f

static const char *mode_names[] = { "bilinear", "nearest" };
static const char *pad_names[] = { "zeros", "border", "reflection" };

/* ---- the naive reference, in double ---------------------------------- */

/* linspace(−1, 1, n)[i], scaled by (n−1)/n unless align_corners; 0 if n = 1 */
static double
ref_base (int i, int n, bool ac)
{
  if (n == 1)
    return 0.0;
  double v = -1.0 + 2.0 * i / (n - 1);
  return ac ? v : v * (n - 1) / n;
}

static void
ref_affine_grid (float *grid, const float *th, int h, int w, bool ac)
{
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      double xt = ref_base (x, w, ac), yt = ref_base (y, h, ac);
      float *g = grid + 2 * ((size_t) y * w + x);
      g[0] = (float) ((double) th[0] * xt + (double) th[1] * yt + th[2]);
      g[1] = (float) ((double) th[3] * xt + (double) th[4] * yt + th[5]);
    }
}

/* Mirror x at lo and hi, one bounce at a time, until it lies in [lo, hi]. */
static double
ref_reflect (double x, double lo, double hi)
{
  if (hi <= lo)
    return lo;
  for (int bounces = 0; (x < lo || x > hi) && bounces < 100000; bounces++)
    x = x < lo ? 2 * lo - x : 2 * hi - x;
  return x;
}

/* normalised g → pixel coordinate along an axis of `size`, padding applied */
static double
ref_coord (double g, int size, AttnPadMode pad, bool ac)
{
  double c = ac ? (g + 1) / 2 * (size - 1) : ((g + 1) * size - 1) / 2;
  if (pad == ATTN_PAD_REFLECTION)
    c = ac ? ref_reflect (c, 0, size - 1)
        : ref_reflect (c, -0.5, size - 0.5);
  if (pad != ATTN_PAD_ZEROS)
    c = c < 0 ? 0 : c > size - 1 ? size - 1 : c;
  return c;
}

/* pixel (y, x) of plane p, or 0 outside the image */
static double
ref_tap (const float *p, int h, int w, double y, double x)
{
  if (y < 0 || y >= h || x < 0 || x >= w)
    return 0.0;
  return p[(size_t) y * w + (size_t) x];
}

static void
ref_grid_sample (float *out, const float *in, const float *grid, int c, int h,
                 int w, int ho, int wo, AttnSampleMode mode, AttnPadMode pad,
                 bool ac)
{
  for (int o = 0; o < ho * wo; o++) {
    double x = ref_coord (grid[2 * o], w, pad, ac);
    double y = ref_coord (grid[2 * o + 1], h, pad, ac);
    for (int ch = 0; ch < c; ch++) {
      const float *p = in + (size_t) ch * h * w;
      double v;
      if (mode == ATTN_SAMPLE_NEAREST) {
        v = ref_tap (p, h, w, nearbyint (y), nearbyint (x));
      } else {
        double x0 = floor (x), y0 = floor (y);
        double fx = x - x0, fy = y - y0;
        v = ref_tap (p, h, w, y0, x0) * (1 - fx) * (1 - fy)
            + ref_tap (p, h, w, y0, x0 + 1) * fx * (1 - fy)
            + ref_tap (p, h, w, y0 + 1, x0) * (1 - fx) * fy
            + ref_tap (p, h, w, y0 + 1, x0 + 1) * fx * fy;
      }
      out[(size_t) ch * ho * wo + o] = (float) v;
    }
  }
}

/* ---- PyTorch's rounding, step by step ----------------------------------
 * The kernel claims more than closeness: PyTorch 1.13 on x86-64 (AVX2
 * kernels, compiled with FMA contraction; FMA BLAS) rounds in a particular
 * order, and the kernel reproduces it bit for bit. This model follows
 * PyTorch's loops literally, one value at a time, with libm's fmaf
 * (correctly rounded) wherever PyTorch fuses a multiply-add. */

/* at::linspace(−1, 1, n): blocks of 16 as two 8-lane vectors (lane k =
 * first value + k·step, unfused), then a scalar tail; a scalar value is
 * −1 + step·i (first half) or 1 − step·(n−1−i), fused */
static float
torch_linspace_scalar (int i, int n, float step)
{
  return i < n / 2 ? fmaf (step, (float) i, -1.0f)
      : fmaf (-step, (float) (n - 1 - i), 1.0f);
}

static void
torch_base (float *v, int n, bool ac)
{
  if (n == 1) {
    v[0] = 0.0f;
    return;
  }
  float step = 2.0f / (float) (n - 1);
  int i = 0;
  for (; i + 16 <= n; i += 16)
    for (int half = 0; half < 2; half++) {
      int first = i + 8 * half;
      float lane0 = torch_linspace_scalar (first, n, step);
      for (int k = 0; k < 8; k++) {
        float k_step = (float) k * step;
        v[first + k] = lane0 + k_step;
      }
    }
  for (; i < n; i++)
    v[i] = torch_linspace_scalar (i, n, step);
  if (!ac)
    for (i = 0; i < n; i++) {      /* range * (n − 1) / n: two roundings */
      float t = v[i] * (float) (n - 1);
      v[i] = t / (float) n;
    }
}

/* base (h·w, 3) × θᵀ: bmm's plain loop below 400 multiply-adds, else BLAS */
static void
torch_affine_grid (float *grid, const float *th, int h, int w, bool ac)
{
  float bx[64], by[64];
  torch_base (bx, w, ac);
  torch_base (by, h, ac);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int k = 0; k < 2; k++) {
        const float *t = th + 3 * k;
        float acc = bx[x] * t[0];
        if (3 * (h * w) * 2 < 400) {
          float p = by[y] * t[1];
          acc = acc + p;
        } else {
          acc = fmaf (by[y], t[1], acc);
        }
        grid[2 * (y * w + x) + k] = acc + t[2];
      }
}

/* ComputeLocation: unnormalise, reflect, clip — in PyTorch's order */
static float
torch_coord (float g, int size, AttnPadMode pad, bool ac)
{
  float c = ac ? (g + 1.0f) * ((float) (size - 1) / 2)
      : fmaf (g + 1.0f, (float) size / 2, -0.5f);
  if (pad == ATTN_PAD_REFLECTION) {
    float low = ac ? 0.0f : -0.5f;
    float twice_span = ac ? (float) (size - 1) * 2 : (float) size * 2;
    if (twice_span == 0.0f) {
      c = 0.0f;
    } else {
      float d = fabsf (c - low);
      float extra = fmaf (-truncf (d / twice_span), twice_span, d);
      c = fminf (extra, twice_span - extra) + low;
    }
  }
  if (pad != ATTN_PAD_ZEROS)
    c = fminf (fmaxf (c, 0.0f), (float) (size - 1));
  return c;
}

static float
torch_tap (const float *p, int h, int w, float y, float x)
{
  return y >= 0 && y < h && x >= 0 && x < w ? p[(int) y * w + (int) x] : 0.0f;
}

/* bilinear: w = x − ⌊x⌋, e = 1 − w (and n, s for y); nw = s·e, ne = s·w,
 * sw = n·e, se = n·w; ((v_nw·nw + v_ne·ne) + v_sw·sw) + v_se·se, fused */
static void
torch_bilinear (float *out, const float *in, const float *grid, int c, int h,
                int w, int ho, int wo, AttnPadMode pad, bool ac)
{
  for (int o = 0; o < ho * wo; o++) {
    float x = torch_coord (grid[2 * o], w, pad, ac);
    float y = torch_coord (grid[2 * o + 1], h, pad, ac);
    float x_w = floorf (x), y_n = floorf (y);
    float dw = x - x_w, dn = y - y_n;
    float de = 1.0f - dw, ds = 1.0f - dn;
    float nw = ds * de, ne = ds * dw, sw = dn * de, se = dn * dw;
    for (int ch = 0; ch < c; ch++) {
      const float *p = in + ch * h * w;
      float r = torch_tap (p, h, w, y_n, x_w) * nw;
      r = fmaf (torch_tap (p, h, w, y_n, x_w + 1), ne, r);
      r = fmaf (torch_tap (p, h, w, y_n + 1, x_w), sw, r);
      r = fmaf (torch_tap (p, h, w, y_n + 1, x_w + 1), se, r);
      out[ch * ho * wo + o] = r;
    }
  }
}

static bool
grid_rounds_as_torch (Rng *r, int h, int w, bool ac)
{
  float th[6], got[2 * 24 * 24], want[2 * 24 * 24];
  for (int i = 0; i < 6; i++)
    th[i] = rng_uniform (r, -3, 3);
  attn_affine_grid (got, th, h, w, ac);
  torch_affine_grid (want, th, h, w, ac);
  return check_close ("grid bits", got, want, (size_t) 2 * h * w, 0, 0);
}

static bool
bilinear_rounds_as_torch (Rng *r, AttnPadMode pad, bool ac)
{
  enum { C = 3, H = 5, W = 7, HO = 24, WO = 20 };
  float in[C * H * W], grid[2 * HO * WO], got[C * HO * WO], want[C * HO * WO];
  fill_uniform (in, C * H * W, r, -1, 1);
  /* half the points near the image, half up to 1e8 away, where
   * reflection's d − trunc(d/2span)·2span is no longer exact unfused */
  fill_uniform (grid, HO * WO, r, -3, 3);
  fill_uniform (grid + HO * WO, HO * WO, r, -1e8f, 1e8f);
  attn_grid_sample (got, in, grid, C, H, W, HO, WO, ATTN_SAMPLE_BILINEAR, pad,
                    ac);
  torch_bilinear (want, in, grid, C, H, W, HO, WO, pad, ac);
  return check_close ("bilinear bits", got, want, C * HO * WO, 0, 0);
}

/* ---- random sweep ------------------------------------------------------ */

typedef struct {
  int c, h, w, ho, wo;
} Shape;

/* Fraction of grid values outside [−1, 1]: the sweep must reach past the
 * image for the padding modes to matter. */
static double
outside_fraction (const float *grid, size_t n)
{
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    k += fabsf (grid[i]) > 1.0f;
  return (double) k / (double) n;
}

/* θ with scale, shear and translation up to ±2.5, ±1, ±2: most samples
 * land outside the image, some several image sizes away. Compares the grid
 * with the reference, then samples at it and at a random grid in [−3, 3]. */
static bool
sweep_case (Rng *r, const Shape *s, AttnSampleMode mode, AttnPadMode pad,
            bool ac)
{
  size_t n_in = (size_t) s->c * s->h * s->w, n_g = (size_t) 2 * s->ho * s->wo;
  size_t n_out = (size_t) s->c * s->ho * s->wo;
  float *in = test_alloc (n_in), *grid = test_alloc (n_g);
  float *want_grid = test_alloc (n_g), *out = test_alloc (n_out);
  float *want = test_alloc (n_out);
  fill_uniform (in, n_in, r, -1, 1);

  float th[6] = {
    rng_uniform (r, -2.5f, 2.5f), rng_uniform (r, -1, 1), rng_uniform (r, -2, 2),
    rng_uniform (r, -1, 1), rng_uniform (r, -2.5f, 2.5f), rng_uniform (r, -2, 2),
  };
  attn_affine_grid (grid, th, s->ho, s->wo, ac);
  ref_affine_grid (want_grid, th, s->ho, s->wo, ac);
  bool ok = check_close ("affine_grid", grid, want_grid, n_g, GRID_ATOL,
                         GRID_RTOL);
  attn_grid_sample (out, in, grid, s->c, s->h, s->w, s->ho, s->wo, mode, pad,
                    ac);
  ref_grid_sample (want, in, grid, s->c, s->h, s->w, s->ho, s->wo, mode, pad,
                   ac);
  ok &= check_close ("grid_sample at θ's grid", out, want, n_out, ATOL, RTOL);

  fill_uniform (grid, n_g, r, -3, 3);
  grid[0] = rng_uniform (r, 1.5f, 3);  /* one x past the edge even if 1×1 */
  if (n_g >= 16 && outside_fraction (grid, n_g) < 0.3) {
    printf ("# random grid stays inside the image\n");
    ok = false;
  }
  attn_grid_sample (out, in, grid, s->c, s->h, s->w, s->ho, s->wo, mode, pad,
                    ac);
  ref_grid_sample (want, in, grid, s->c, s->h, s->w, s->ho, s->wo, mode, pad,
                   ac);
  ok &= check_close ("grid_sample at a random grid", out, want, n_out, ATOL,
                     RTOL);
  free (in);
  free (grid);
  free (want_grid);
  free (out);
  free (want);
  return ok;
}

/* ---- hand-computed cases ---------------------------------------------- */

static const float identity[6] = { 1, 0, 0, 0, 1, 0 };

/* Identity θ: with align_corners the grid points are the pixel centres.
 * For sizes with n−1 a power of two linspace is exact and so is the copy;
 * otherwise linspace rounds (as PyTorch's does) and the copy is within
 * ~S·2^-24 pixels of exact. */
static bool
identity_case (int c, int h, int w, AttnSampleMode mode, AttnPadMode pad,
               bool ac, float atol)
{
  size_t n = (size_t) c * h * w;
  float *in = test_alloc (n), *grid = test_alloc ((size_t) 2 * h * w);
  float *out = test_alloc (n);
  Rng r = rng_new (99);
  fill_uniform (in, n, &r, -1, 1);
  attn_affine_grid (grid, identity, h, w, ac);
  attn_grid_sample (out, in, grid, c, h, w, h, w, mode, pad, ac);
  bool ok = check_close ("identity warp", out, in, n, atol, 0);
  free (in);
  free (grid);
  free (out);
  return ok;
}

static bool
grid_is (const float *theta, int h, int w, bool ac, const float *want)
{
  float grid[64];
  attn_affine_grid (grid, theta, h, w, ac);
  return check_close ("grid", grid, want, (size_t) 2 * h * w, 0, 0);
}

/* in (1,2,2) = [1 2; 3 4] at four points, each mode worked by hand below */
static bool
two_by_two (AttnPadMode pad, bool ac, const float want[4])
{
  static const float in[4] = { 1, 2, 3, 4 };
  static const float grid[8] = { 0, 0, -1, -1, 1.5f, 0.25f, -2.2f, 0.9f };
  float out[4];
  attn_grid_sample (out, in, grid, 1, 2, 2, 1, 4, ATTN_SAMPLE_BILINEAR, pad,
                    ac);
  return check_close ("2x2 samples", out, want, 4, 1e-6f, 1e-6f);
}

/* nearest on a row: exact equality (the values are pixel values) */
static bool
row_nearest (const float *row, int w, const float *gx, int n,
             AttnPadMode pad, bool ac, const float *want)
{
  float grid[32], out[16];
  for (int i = 0; i < n; i++) {
    grid[2 * i] = gx[i];
    grid[2 * i + 1] = 0.0f;
  }
  attn_grid_sample (out, row, grid, 1, 1, w, 1, n, ATTN_SAMPLE_NEAREST, pad,
                    ac);
  return check_close ("nearest row", out, want, (size_t) n, 0, 0);
}

/* in (1,3,4) = 1..12 at non-finite and huge grid points; NaN in `want`
 * means the output must be NaN. Values as PyTorch 1.13 gives them. */
static bool
nonfinite_case (AttnSampleMode mode, AttnPadMode pad, bool ac,
                const float want[9])
{
  float in[12], out[9 + 1];
  for (int i = 0; i < 12; i++)
    in[i] = (float) (i + 1);
  const float grid[18] = {
    NAN, 0, 0, NAN, NAN, NAN, INFINITY, 0, 0, INFINITY, INFINITY, INFINITY,
    -INFINITY, 0, 1e10f, 0, -1e10f, 3e9f,
  };
  out[9] = 12345.0f;
  attn_grid_sample (out, in, grid, 1, 3, 4, 1, 9, mode, pad, ac);
  bool ok = out[9] == 12345.0f;
  for (int i = 0; i < 9; i++) {
    bool same = isnan (want[i]) ? isnan (out[i]) : out[i] == want[i];
    if (!same) {
      printf ("# point %d: got %g, want %g\n", i, out[i], want[i]);
      ok = false;
    }
  }
  return ok;
}

/* Neither function writes past its output. */
static bool
no_overrun (AttnSampleMode mode, AttnPadMode pad, bool ac)
{
  enum { C = 3, H = 5, W = 7, HO = 9, WO = 13, GUARD = 16 };
  float in[C * H * W], grid[2 * HO * WO + GUARD], out[C * HO * WO + GUARD];
  float theta[6] = { 1.7f, -0.4f, 0.3f, 0.6f, -2.1f, -0.8f };
  Rng r = rng_new (5);
  fill_uniform (in, C * H * W, &r, -1, 1);
  for (int i = 0; i < GUARD; i++)
    grid[2 * HO * WO + i] = out[C * HO * WO + i] = -777.0f;
  attn_affine_grid (grid, theta, HO, WO, ac);
  attn_grid_sample (out, in, grid, C, H, W, HO, WO, mode, pad, ac);
  /* and an empty output writes nothing at all */
  attn_grid_sample (out, in, grid, C, H, W, 0, WO, mode, pad, ac);
  attn_grid_sample (out, in, grid, C, H, W, HO, 0, mode, pad, ac);
  bool ok = true;
  for (int i = 0; i < GUARD; i++)
    ok &= grid[2 * HO * WO + i] == -777.0f && out[C * HO * WO + i] == -777.0f;
  return ok;
}

int
main (int argc, char **argv)
{
  Rng r = rng_new (17);
  static const Shape shapes[] = {
    { 1, 1, 1, 1, 1 },      /* 1×1 → 1×1 */
    { 3, 1, 1, 4, 5 },      /* 1×1 input, upsampled */
    { 1, 1, 9, 1, 13 },     /* 1×N rows */
    { 3, 9, 1, 5, 1 },      /* N×1 columns */
    { 3, 5, 7, 3, 11 },     /* odd sizes */
    { 17, 6, 4, 12, 9 },    /* upsampling, many channels */
    { 3, 16, 16, 5, 7 },    /* downsampling */
    { 1, 2, 2, 2, 2 },
    { 17, 3, 3, 1, 1 },     /* a single output pixel */
    { 3, 13, 11, 24, 20 },  /* 480 outputs: partial blocks, ≥ 16 wide */
    { 1, 31, 17, 40, 33 },
  };
  char name[160];
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    for (int m = 0; m < 2; m++)
      for (int p = 0; p < 3; p++)
        for (int ac = 0; ac < 2; ac++) {
          const Shape *sh = &shapes[s];
          snprintf (name, sizeof name,
                    "%s %s align_corners=%d: C%d %dx%d -> %dx%d vs naive",
                    mode_names[m], pad_names[p], ac, sh->c, sh->h, sh->w,
                    sh->ho, sh->wo);
          test_case (name, sweep_case (&r, sh, (AttnSampleMode) m,
                                       (AttnPadMode) p, ac));
        }

  /* identity θ, align_corners: 5×9 has exact linspaces, so the warp is an
   * exact copy in every mode; 13×11 is within rounding (atol 2e-6) */
  for (int m = 0; m < 2; m++)
    for (int p = 0; p < 3; p++) {
      snprintf (name, sizeof name, "identity theta 5x9 %s %s: exact copy",
                mode_names[m], pad_names[p]);
      test_case (name, identity_case (3, 5, 9, (AttnSampleMode) m,
                                      (AttnPadMode) p, true, 0));
    }
  test_case ("identity theta 13x11 bilinear: copy within 2e-6",
             identity_case (3, 13, 11, ATTN_SAMPLE_BILINEAR, ATTN_PAD_ZEROS,
                            true, 2e-6f));
  test_case ("identity theta 13x11 align_corners=0: copy within 2e-6",
             identity_case (3, 13, 11, ATTN_SAMPLE_BILINEAR, ATTN_PAD_ZEROS,
                            false, 2e-6f));

  /* bit for bit with PyTorch's rounding: linspace blocks (n >= 16), the
   * plain (6·h·w < 400) and BLAS bmm paths, fused unnormalise / reflect /
   * interpolation; atol 0 */
  static const int gshapes[][2] = { { 1, 7 }, { 1, 16 }, { 2, 23 }, { 6, 11 },
                                    { 3, 23 }, { 24, 20 }, { 17, 1 } };
  for (size_t i = 0; i < sizeof gshapes / sizeof gshapes[0]; i++)
    for (int ac = 0; ac < 2; ac++) {
      snprintf (name, sizeof name,
                "affine_grid %dx%d align_corners=%d rounds as PyTorch",
                gshapes[i][0], gshapes[i][1], ac);
      test_case (name, grid_rounds_as_torch (&r, gshapes[i][0],
                                             gshapes[i][1], ac));
    }
  for (int p = 0; p < 3; p++)
    for (int ac = 0; ac < 2; ac++) {
      snprintf (name, sizeof name,
                "bilinear %s align_corners=%d rounds as PyTorch",
                pad_names[p], ac);
      test_case (name, bilinear_rounds_as_torch (&r, (AttnPadMode) p, ac));
    }

  /* grids by hand: linspace·(n−1)/n for n = 2 is ±0.5; with align_corners
   * n = 3 gives −1, 0, 1; n = 1 gives 0, leaving the translation */
  static const float g2[8] = { -0.5f, -0.5f, 0.5f, -0.5f,
                               -0.5f, 0.5f, 0.5f, 0.5f };
  test_case ("2x2 grid, align_corners=0, is +-0.5",
             grid_is (identity, 2, 2, false, g2));
  static const float g3[18] = { -1, -1, 0, -1, 1, -1, -1, 0, 0, 0, 1, 0,
                                 -1, 1, 0, 1, 1, 1 };
  test_case ("3x3 grid, align_corners=1, is -1/0/1",
             grid_is (identity, 3, 3, true, g3));
  static const float th_t[6] = { 2, 3, 0.25f, 5, 7, -0.75f };
  static const float g1[2] = { 0.25f, -0.75f };
  test_case ("1x1 grid is the translation (align_corners=0)",
             grid_is (th_t, 1, 1, false, g1));
  test_case ("1x1 grid is the translation (align_corners=1)",
             grid_is (th_t, 1, 1, true, g1));
  /* θ = (0.5, 0, 0.25; 0, −2, 0) on 1×3, align_corners: x_t = −1, 0, 1 */
  static const float th_s[6] = { 0.5f, 0, 0.25f, 0, -2, 0 };
  static const float g13[6] = { -0.25f, 0, 0.25f, 0, 0.75f, 0 };
  test_case ("1x3 grid of a scaled, shifted theta",
             grid_is (th_s, 1, 3, true, g13));
  /* PyTorch's linspace(−1, 1, 7): step = fl(1/3), above 1/3, and the
   * second half is 1 − step·(6−i) fused, so the midpoint is
   * 1 − 3·fl(1/3) = −2^-25, not 0 */
  {
    float g7[14];
    attn_affine_grid (g7, identity, 1, 7, true);
    test_case ("linspace(-1,1,7) midpoint is -2^-25 as in PyTorch",
               g7[6] == -0x1p-25f && g7[7] == 0.0f);
  }

  /* 2×2 input [1 2; 3 4]; points (0,0), (−1,−1), (1.5,0.25), (−2.2,0.9).
   * align_corners=0: pixel = ((g+1)·2 − 1)/2 → (0.5,0.5), (−0.5,−0.5),
   * (2,0.75), (−1.7,1.4). zeros: 2.5; ¼ of pixel 1; both x taps outside; both
   * outside. border clips: 2.5; 1; x=1 → 2·¼+4·¾ = 3.5; (0,1) → 3.
   * reflection about −0.5 and 1.5: 2 → 1 (3.5); −1.7 → 0.7, y 1.4 → clip 1:
   * 3·0.3 + 4·0.7 = 3.7. */
  static const float z0[4] = { 2.5f, 0.25f, 0, 0 };
  static const float b0[4] = { 2.5f, 1, 3.5f, 3 };
  static const float r0[4] = { 2.5f, 1, 3.5f, 3.7f };
  test_case ("2x2 by hand: zeros, align_corners=0",
             two_by_two (ATTN_PAD_ZEROS, false, z0));
  test_case ("2x2 by hand: border, align_corners=0",
             two_by_two (ATTN_PAD_BORDER, false, b0));
  test_case ("2x2 by hand: reflection, align_corners=0",
             two_by_two (ATTN_PAD_REFLECTION, false, r0));
  /* align_corners=1: pixel = (g+1)/2 → (0.5,0.5), (0,0), (1.25,0.625),
   * (−0.6,0.95). zeros: 2.5; 1; x taps 1 (¾) and 2 (outside):
   * ¾·(2·0.375 + 4·0.625) = 2.4375; ⅖ of the left column:
   * 0.4·(1·0.05 + 3·0.95) = 1.16. border: x → 1: 2·0.375 + 4·0.625 = 3.25;
   * x → 0: 1·0.05 + 3·0.95 = 2.9. reflection in [0,1]: 1.25 → 0.75:
   * 1.75·0.375 + 3.75·0.625 = 3; −0.6 → 0.6: 1.6·0.05 + 3.6·0.95 = 3.5. */
  static const float z1[4] = { 2.5f, 1, 2.4375f, 1.16f };
  static const float b1[4] = { 2.5f, 1, 3.25f, 2.9f };
  static const float r1[4] = { 2.5f, 1, 3, 3.5f };
  test_case ("2x2 by hand: zeros, align_corners=1",
             two_by_two (ATTN_PAD_ZEROS, true, z1));
  test_case ("2x2 by hand: border, align_corners=1",
             two_by_two (ATTN_PAD_BORDER, true, b1));
  test_case ("2x2 by hand: reflection, align_corners=1",
             two_by_two (ATTN_PAD_REFLECTION, true, r1));

  /* nearest ties round half to even. Width 5, align_corners: pixel 2(g+1),
   * g = −0.75, −0.25, 0.25, 0.75 → 0.5, 1.5, 2.5, 3.5 → 0, 2, 2, 4 */
  static const float row5[5] = { 10, 20, 30, 40, 50 };
  static const float gx5[4] = { -0.75f, -0.25f, 0.25f, 0.75f };
  static const float w5[4] = { 10, 30, 30, 50 };
  test_case ("nearest ties to even, align_corners=1",
             row_nearest (row5, 5, gx5, 4, ATTN_PAD_ZEROS, true, w5));
  /* width 4, no align_corners: pixel 2g + 1.5; g = −1, −0.5, 0, 0.5, 1 →
   * −0.5, 0.5, 1.5, 2.5, 3.5 → −0 (inside!), 0, 2, 2, 4 (outside: 0, or
   * clipped to pixel 3 by border) */
  static const float row4[4] = { 10, 20, 30, 40 };
  static const float gx4[5] = { -1, -0.5f, 0, 0.5f, 1 };
  static const float w4z[5] = { 10, 10, 30, 30, 0 };
  static const float w4b[5] = { 10, 10, 30, 30, 40 };
  test_case ("nearest ties to even, align_corners=0, zeros",
             row_nearest (row4, 4, gx4, 5, ATTN_PAD_ZEROS, false, w4z));
  test_case ("nearest ties to even, align_corners=0, border",
             row_nearest (row4, 4, gx4, 5, ATTN_PAD_BORDER, false, w4b));
  /* and along y: the same ties down a 5×1 column */
  {
    float grid[8], out[4];
    for (int i = 0; i < 4; i++) {
      grid[2 * i] = 0.0f;
      grid[2 * i + 1] = gx5[i];
    }
    attn_grid_sample (out, row5, grid, 1, 5, 1, 1, 4, ATTN_SAMPLE_NEAREST,
                      ATTN_PAD_ZEROS, true);
    test_case ("nearest ties to even down a column",
               check_close ("nearest column", out, w5, 4, 0, 0));
  }
  /* identity 1×4 → 1×7 with align_corners: pixel 1.5(g+1) is 0, .5, 1, 1.5,
   * 2, 2.5, 3 in exact arithmetic, but PyTorch's linspace(−1,1,7)[1] is
   * −1 + fl(1/3) > −2/3, so that tie lands just above 0.5 → pixel 1 */
  {
    float grid[14], out[7];
    static const float want[7] = { 10, 20, 20, 30, 30, 30, 40 };
    attn_affine_grid (grid, identity, 1, 7, true);
    attn_grid_sample (out, row4, grid, 1, 1, 4, 1, 7, ATTN_SAMPLE_NEAREST,
                      ATTN_PAD_ZEROS, true);
    test_case ("nearest 4 -> 7 upsampling follows PyTorch's linspace",
               check_close ("nearest 4->7", out, want, 7, 0, 0));
  }

  /* non-finite and huge grid values on 1..12 (3×4); points (NaN,0),
   * (0,NaN), (NaN,NaN), (inf,0), (0,inf), (inf,inf), (−inf,0), (1e10,0),
   * (−1e10,3e9). Bilinear with zeros padding gets NaN weights (x − ⌊x⌋ of
   * NaN/inf), so NaN, as PyTorch; nearest reads nothing: 0. Border and
   * reflection turn NaN coordinates into 0; border clips ±inf to the edge,
   * reflection of inf is NaN → 0; a huge finite coordinate reflects to 0. */
  static const float nf_bz[9] = { NAN, NAN, NAN, NAN, NAN, NAN, NAN, 0, 0 };
  static const float nf_nz[9] = { 0, 0, 0, 0, 0, 0, 0, 0, 0 };
  static const float nf_bb[9] = { 5, 2.5f, 1, 8, 10.5f, 12, 5, 8, 9 };
  static const float nf_br[9] = { 5, 2.5f, 1, 5, 2.5f, 1, 5, 5, 1 };
  static const float nf_nb[9] = { 5, 3, 1, 8, 11, 12, 5, 8, 9 };
  static const float nf_nr[9] = { 5, 3, 1, 5, 3, 1, 5, 5, 1 };
  const float *nf_want[2][3] = { { nf_bz, nf_bb, nf_br },
                                 { nf_nz, nf_nb, nf_nr } };
  for (int m = 0; m < 2; m++)
    for (int p = 0; p < 3; p++)
      for (int ac = 0; ac < 2; ac++) {
        snprintf (name, sizeof name,
                  "NaN/inf/huge grid, %s %s align_corners=%d: as PyTorch",
                  mode_names[m], pad_names[p], ac);
        test_case (name, nonfinite_case ((AttnSampleMode) m, (AttnPadMode) p,
                                         ac, nf_want[m][p]));
      }

  /* taps past the image edge read 0, not a neighbour times weight 0: on a
   * 1×2 image sampled at its last pixel (g = 1, align_corners) the east tap
   * is outside, so [1, inf] gives inf (inf·0 would be NaN) and [NaN, 5]
   * gives 5 (the NaN pixel is not a tap); PyTorch agrees */
  for (int p = 0; p < 3; p++) {
    static const float grid[2] = { 1, 0 };
    float in_inf[2] = { 1.0f, INFINITY }, in_nan[2] = { NAN, 5.0f };
    float o_inf[1], o_nan[1];
    attn_grid_sample (o_inf, in_inf, grid, 1, 1, 2, 1, 1,
                      ATTN_SAMPLE_BILINEAR, (AttnPadMode) p, true);
    attn_grid_sample (o_nan, in_nan, grid, 1, 1, 2, 1, 1,
                      ATTN_SAMPLE_BILINEAR, (AttnPadMode) p, true);
    snprintf (name, sizeof name,
              "%s: a tap outside the image contributes exactly 0",
              pad_names[p]);
    test_case (name, isinf (o_inf[0]) && o_inf[0] > 0 && o_nan[0] == 5.0f);
  }

  for (int m = 0; m < 2; m++)
    for (int p = 0; p < 3; p++)
      for (int ac = 0; ac < 2; ac++) {
        snprintf (name, sizeof name,
                  "%s %s align_corners=%d: no write past the output",
                  mode_names[m], pad_names[p], ac);
        test_case (name, no_overrun ((AttnSampleMode) m, (AttnPadMode) p,
                                     ac));
      }
  return test_done ();
}
