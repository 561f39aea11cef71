/* test_stn.c — affine_grid and grid_sample against a naive reference written
 * here from PyTorch's definitions, in double: every mode × padding ×
 * align_corners, thetas that reach well outside the image, odd shapes, 1×1. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "stn.h"

#define ATOL 1e-5f
#define RTOL 1e-5f

static double
ref_unnorm (double g, int size, bool ac)
{
  return ac ? (g + 1) / 2 * (size - 1) : ((g + 1) * size - 1) / 2;
}

/* reflect into the span by repeated mirroring, one step at a time */
static double
ref_reflect (double x, double lo, double hi)
{
  if (hi <= lo)
    return lo;
  int guard = 0;
  while ((x < lo || x > hi) && guard++ < 1000000)
    x = x < lo ? 2 * lo - x : 2 * hi - x;
  return x;
}

static double
ref_coord (double g, int size, AttnPadMode pad, bool ac)
{
  double c = ref_unnorm (g, size, ac);
  if (pad == ATTN_PAD_REFLECTION)
    c = ac ? ref_reflect (c, 0, size - 1) : ref_reflect (c, -0.5, size - 0.5);
  if (pad != ATTN_PAD_ZEROS)
    c = fmin (fmax (c, 0), size - 1);
  return c;
}

static double
tap (const float *p, int h, int w, int y, int x)
{
  return y >= 0 && y < h && x >= 0 && x < w ? p[y * w + x] : 0.0;
}

static void
ref_sample (float *out, const float *in, const float *grid, int c, int h,
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
        v = tap (p, h, w, (int) nearbyint (y), (int) nearbyint (x));
      } else {
        int x0 = (int) floor (x), y0 = (int) floor (y);
        double fx = x - x0, fy = y - y0;
        v = tap (p, h, w, y0, x0) * (1 - fx) * (1 - fy)
            + tap (p, h, w, y0, x0 + 1) * fx * (1 - fy)
            + tap (p, h, w, y0 + 1, x0) * (1 - fx) * fy
            + tap (p, h, w, y0 + 1, x0 + 1) * fx * fy;
      }
      out[(size_t) ch * ho * wo + o] = (float) v;
    }
  }
}

static void
ref_grid (float *g, const float *th, int h, int w, bool ac)
{
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      double xt = w > 1 ? -1 + 2.0 * x / (w - 1) : 0, yt = h > 1 ? -1 + 2.0 * y / (h - 1) : 0;
      if (!ac) {
        xt *= w > 1 ? (w - 1.0) / w : 0;
        yt *= h > 1 ? (h - 1.0) / h : 0;
      }
      g[2 * (y * w + x)] = (float) (th[0] * xt + th[1] * yt + th[2]);
      g[2 * (y * w + x) + 1] = (float) (th[3] * xt + th[4] * yt + th[5]);
    }
}

static bool
run (Rng *r, int c, int h, int w, int ho, int wo, AttnSampleMode mode,
     AttnPadMode pad, bool ac, float spread)
{
  float th[6];
  for (int i = 0; i < 6; i++)
    th[i] = rng_uniform (r, -spread, spread);
  th[0] += 1;
  th[4] += 1;
  float *in = test_alloc ((size_t) c * h * w), *grid = test_alloc ((size_t) 2 * ho * wo);
  float *gref = test_alloc ((size_t) 2 * ho * wo), *out = test_alloc ((size_t) c * ho * wo);
  float *ref = test_alloc ((size_t) c * ho * wo);
  fill_uniform (in, (size_t) c * h * w, r, -1, 1);
  attn_affine_grid (grid, th, ho, wo, ac);
  ref_grid (gref, th, ho, wo, ac);
  bool ok = check_close ("affine_grid", grid, gref, (size_t) 2 * ho * wo, ATOL, RTOL);
  attn_grid_sample (out, in, grid, c, h, w, ho, wo, mode, pad, ac);
  ref_sample (ref, in, grid, c, h, w, ho, wo, mode, pad, ac);
  ok &= check_close ("grid_sample", out, ref, (size_t) c * ho * wo, ATOL, RTOL);
  free (in); free (grid); free (gref); free (out); free (ref);
  return ok;
}

int
main (int argc, char **argv)
{
  Rng r = rng_new (17);
  static const int shapes[][5] = {   /* C, H, W, Ho, Wo */
    { 3, 5, 7, 3, 11 }, { 1, 1, 1, 4, 4 }, { 17, 9, 6, 9, 6 }, { 2, 1, 8, 5, 5 },
    { 3, 16, 16, 31, 29 },
  };
  const char *modes[] = { "bilinear", "nearest" };
  const char *pads[] = { "zeros", "border", "reflection" };
  char name[128];
  for (size_t s = 0; s < 5; s++)
    for (int m = 0; m < 2; m++)
      for (int p = 0; p < 3; p++)
        for (int ac = 0; ac < 2; ac++) {
          snprintf (name, sizeof name, "%s %s align_corners=%d C%d %dx%d→%dx%d",
                    modes[m], pads[p], ac, shapes[s][0], shapes[s][2],
                    shapes[s][1], shapes[s][4], shapes[s][3]);
          test_case (name, run (&r, shapes[s][0], shapes[s][1], shapes[s][2],
                                shapes[s][3], shapes[s][4], m, p, ac, 1.5f));
        }

  /* identity θ with align_corners reproduces the input exactly */
  float th[6] = { 1, 0, 0, 0, 1, 0 };
  float in[35], grid[70], out[35];
  fill_uniform (in, 35, &r, -1, 1);
  attn_affine_grid (grid, th, 5, 7, true);
  attn_grid_sample (out, in, grid, 1, 5, 7, 5, 7, ATTN_SAMPLE_BILINEAR,
                    ATTN_PAD_ZEROS, true);
  test_case ("identity theta reproduces the input",
             check_close ("identity", out, in, 35, 1e-6f, 0));
  /* a 2×2 grid without align_corners sits at ±0.5 */
  float g4[8];
  attn_affine_grid (g4, th, 2, 2, false);
  float want[8] = { -0.5f, -0.5f, 0.5f, -0.5f, -0.5f, 0.5f, 0.5f, 0.5f };
  test_case ("2x2 grid is ±0.5", check_close ("grid 2x2", g4, want, 8, 0, 0));
  /* nearest ties round half to even: on width 5 with align_corners the
   * pixel is 2(g + 1), so g = −0.75, −0.25, 0.25 land exactly on 0.5, 1.5,
   * 2.5 → pixels 0, 2, 2 */
  float row[5] = { 10, 20, 30, 40, 50 }, o2[3];
  float gx[6] = { -0.75f, 0, -0.25f, 0, 0.25f, 0 };
  attn_grid_sample (o2, row, gx, 1, 1, 5, 1, 3, ATTN_SAMPLE_NEAREST,
                    ATTN_PAD_ZEROS, true);
  test_case ("nearest rounds half to even",
             o2[0] == 10 && o2[1] == 30 && o2[2] == 30);
  /* non-finite coordinates read nothing and do not crash */
  float bad[4] = { NAN, 0, INFINITY, -INFINITY }, o3[2];
  attn_grid_sample (o3, row, bad, 1, 1, 4, 1, 2, ATTN_SAMPLE_BILINEAR,
                    ATTN_PAD_ZEROS, false);
  test_case ("NaN and Inf grid values sample zero", o3[0] == 0 && o3[1] == 0);
  return test_done ();
}
