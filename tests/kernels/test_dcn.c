/* test_dcn.c — top-k against a full sort, patch extraction against a naive
 * loop (patches hanging off every edge), scatter/extract round trips and a
 * small end-to-end coarse/fine replacement. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dcn.h"

static const float *sort_vals;

static int
cmp (const void *a, const void *b)
{
  int i = *(const int *) a, j = *(const int *) b;
  float x = sort_vals[i], y = sort_vals[j];
  bool xn = isnan (x), yn = isnan (y);
  if (xn != yn)
    return xn ? 1 : -1;
  if (!xn && x != y)
    return x > y ? -1 : 1;
  return i - j;
}

static bool
topk_case (Rng *r, int n, int k, bool ties, bool nans)
{
  float *s = test_alloc (n);
  for (int i = 0; i < n; i++)
    s[i] = ties ? (float) rng_int (r, 0, 5) : rng_uniform (r, -1, 1);
  if (nans)
    for (int i = 0; i < n; i += 7)
      s[i] = NAN;
  int *all = malloc (sizeof (int) * n), *idx = malloc (sizeof (int) * k);
  float *vals = test_alloc (k);
  for (int i = 0; i < n; i++)
    all[i] = i;
  sort_vals = s;
  qsort (all, n, sizeof (int), cmp);
  attn_topk (idx, vals, s, n, k);
  bool ok = true;
  for (int j = 0; j < k; j++) {
    ok &= idx[j] == all[j];
    ok &= (isnan (vals[j]) && isnan (s[all[j]])) || vals[j] == s[all[j]];
  }
  free (s); free (all); free (idx); free (vals);
  return ok;
}

static bool
patches_case (Rng *r, int c, int h, int w, int sal_w, int sal_h, int stride,
              int pad, int ph, int pw, int k)
{
  float *in = test_alloc ((size_t) c * h * w);
  fill_uniform (in, (size_t) c * h * w, r, -1, 1);
  int *idx = malloc (sizeof (int) * k);
  for (int j = 0; j < k; j++)   /* corners and random positions */
    idx[j] = j == 0 ? 0 : j == 1 ? sal_w * sal_h - 1 : j == 2 ? sal_w - 1
        : rng_int (r, 0, sal_w * sal_h - 1);
  float *out = test_alloc ((size_t) k * c * ph * pw);
  float *ref = test_alloc ((size_t) k * c * ph * pw);
  for (size_t i = 0; i < (size_t) k * c * ph * pw; i++)
    out[i] = NAN;
  for (int j = 0; j < k; j++)
    for (int ch = 0; ch < c; ch++)
      for (int y = 0; y < ph; y++)
        for (int x = 0; x < pw; x++) {
          int iy = (idx[j] / sal_w) * stride - pad + y;
          int ix = (idx[j] % sal_w) * stride - pad + x;
          ref[(((size_t) j * c + ch) * ph + y) * pw + x] =
              iy >= 0 && iy < h && ix >= 0 && ix < w
              ? in[((size_t) ch * h + iy) * w + ix] : 0.0f;
        }
  attn_extract_patches (out, in, idx, k, sal_w, stride, pad, c, h, w, ph, pw);
  bool ok = check_close ("patches", out, ref, (size_t) k * c * ph * pw, 0, 0);
  free (in); free (idx); free (out); free (ref);
  return ok;
}

static bool
coarse_fine_case (Rng *r)
{
  /* coarse features (C=3, 6×5); the 4 most salient positions get fine
   * features; exactly those columns change */
  int c = 3, hw = 30, k = 4;
  float sal[30], coarse[90], feat[90], fine[12];
  fill_uniform (sal, hw, r, 0, 1);
  fill_uniform (coarse, (size_t) c * hw, r, -1, 1);
  fill_uniform (fine, (size_t) k * c, r, 5, 6);
  memcpy (feat, coarse, sizeof feat);
  int idx[4];
  attn_topk (idx, NULL, sal, hw, k);
  attn_scatter_positions (feat, fine, idx, k, c, hw);
  bool ok = true;
  for (int p = 0; p < hw; p++) {
    int j = -1;
    for (int t = 0; t < k; t++)
      j = idx[t] == p ? t : j;
    for (int ch = 0; ch < c; ch++)
      ok &= j >= 0 ? feat[ch * hw + p] == fine[j * c + ch]
          : feat[ch * hw + p] == coarse[ch * hw + p];
  }
  /* re-extracting 1×1 patches at the positions gives the fine features back */
  float back[12];
  attn_extract_patches (back, feat, idx, k, 5, 1, 0, c, 6, 5, 1, 1);
  for (int j = 0; j < k; j++)
    for (int ch = 0; ch < c; ch++)
      ok &= back[j * c + ch] == fine[j * c + ch];
  return ok;
}

int
main (int argc, char **argv)
{
  Rng r = rng_new (23);
  test_case ("topk k=5 of 784", topk_case (&r, 784, 5, false, false));
  test_case ("topk k=1", topk_case (&r, 50, 1, false, false));
  test_case ("topk k=n", topk_case (&r, 37, 37, false, false));
  test_case ("topk with ties (lower index first)", topk_case (&r, 100, 20, true, false));
  test_case ("topk with NaN (ranked last)", topk_case (&r, 60, 60, false, true));
  test_case ("patches stride 4 pad 2 off every edge",
             patches_case (&r, 3, 28, 28, 7, 7, 4, 2, 8, 8, 12));
  test_case ("patches stride 1 pad 0 1x1", patches_case (&r, 5, 6, 5, 5, 6, 1, 0, 1, 1, 6));
  test_case ("patches larger than the image",
             patches_case (&r, 2, 3, 4, 2, 2, 2, 3, 9, 11, 4));
  test_case ("coarse features replaced at top-k positions only",
             coarse_fine_case (&r));
  return test_done ();
}
