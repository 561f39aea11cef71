/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dcn.c — Dynamic Capacity Network helpers: patches, scatter. */
#include "dcn.h"

#include <math.h>
#include <stddef.h>
#include <string.h>


static int
clampi (int x, int lo, int hi)
{
  return x < lo ? lo : x > hi ? hi : x;
}

void
attn_extract_patches (float *out, const float *in, const int *idx, int k,
                      int sal_w, int stride, int pad, int c, int h, int w,
                      int ph, int pw)
{
  size_t patch = (size_t) ph * pw;
  for (int j = 0; j < k; j++) {
    int y0 = (idx[j] / sal_w) * stride - pad;
    int x0 = (idx[j] % sal_w) * stride - pad;
    /* patch columns [xa, xb) are inside the image, the rest are zero */
    int xa = clampi (-x0, 0, pw);
    int xb = clampi (w - x0, xa, pw);
    for (int ch = 0; ch < c; ch++) {
      const float *plane = in + (size_t) ch * h * w;
      float *dst = out + ((size_t) j * c + ch) * patch;
      for (int y = 0; y < ph; y++) {
        int iy = y0 + y;
        float *row = dst + (size_t) y * pw;
        if (iy < 0 || iy >= h || xa == xb) {
          memset (row, 0, sizeof (float) * (size_t) pw);
          continue;
        }
        for (int x = 0; x < xa; x++)
          row[x] = 0.0f;
        memcpy (row + xa, plane + (size_t) iy * w + (x0 + xa),
                sizeof (float) * (size_t) (xb - xa));
        for (int x = xb; x < pw; x++)
          row[x] = 0.0f;
      }
    }
  }
}

void
attn_scatter_positions (float *feat, const float *fine, const int *idx, int k,
                        int c, int hw)
{
  /* feat[ch][idx[j]] = fine[j][ch] */
  for (int j = 0; j < k; j++)
    for (int ch = 0; ch < c; ch++)
      feat[(size_t) ch * hw + idx[j]] = fine[(size_t) j * c + ch];
}

int
attn_pick_salient (int *idx, float *vals, const float *sal, int h, int w,
                   int k, float min_val, int rx, int ry, unsigned char *taken)
{
  if (k <= 0 || h <= 0 || w <= 0)
    return 0;
  memset (taken, 0, (size_t) h * w);
  int n = 0;
  while (n < k) {
    int best = -1;
    float bv = 0.0f;
    for (int i = 0; i < h * w; i++) {
      float v = sal[i];
      /* NaN fails both comparisons */
      if (!taken[i] && v >= min_val && (best < 0 || v > bv)) {
        best = i;
        bv = v;
      }
    }
    if (best < 0)
      break;
    idx[n] = best;
    if (vals)
      vals[n] = bv;
    n++;
    int by = best / w, bx = best % w;
    for (int y = clampi (by - ry, 0, h - 1); y <= clampi (by + ry, 0, h - 1);
         y++)
      memset (taken + (size_t) y * w + clampi (bx - rx, 0, w - 1), 1,
              (size_t) (clampi (bx + rx, 0, w - 1) - clampi (bx - rx, 0,
                      w - 1) + 1));
  }
  return n;
}
