/* dcn.c — Dynamic Capacity Network helpers: top-k, patches, scatter. */
#include "dcn.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* a ranks above b: larger value, or equal value and lower index; NaN lowest */
static int
ranks_above (float a, int ia, float b, int ib)
{
  if (isnan (a))
    return isnan (b) && ia < ib;
  if (isnan (b))
    return 1;
  return a > b || (a == b && ia < ib);
}

void
attn_topk (int *idx, float *vals, const float *sal, int n, int k)
{
  /* insertion into the sorted prefix idx[0..m): O(n·k), no allocation, and
   * for the small k DCN uses cheaper than a heap */
  if (k > n)
    k = n;
  int m = 0;
  for (int i = 0; i < n && k > 0; i++) {
    float v = sal[i];
    if (m == k && !ranks_above (v, i, sal[idx[m - 1]], idx[m - 1]))
      continue;
    int j = m < k ? m++ : k - 1;
    while (j > 0 && ranks_above (v, i, sal[idx[j - 1]], idx[j - 1])) {
      idx[j] = idx[j - 1];
      j--;
    }
    idx[j] = i;
  }
  for (int j = 0; vals && j < k; j++)
    vals[j] = sal[idx[j]];
}

void
attn_extract_patches (float *out, const float *in, const int *idx, int k,
                      int sal_w, int stride, int pad, int c, int h, int w,
                      int ph, int pw)
{
  for (int j = 0; j < k; j++) {
    int y0 = (idx[j] / sal_w) * stride - pad;
    int x0 = (idx[j] % sal_w) * stride - pad;
    for (int ch = 0; ch < c; ch++) {
      const float *plane = in + (size_t) ch * h * w;
      float *dst = out + ((size_t) j * c + ch) * ph * pw;
      for (int y = 0; y < ph; y++) {
        int iy = y0 + y;
        float *row = dst + (size_t) y * pw;
        if (iy < 0 || iy >= h) {
          memset (row, 0, sizeof (float) * pw);
          continue;
        }
        for (int x = 0; x < pw; x++) {
          int ix = x0 + x;
          row[x] = ix >= 0 && ix < w ? plane[(size_t) iy * w + ix] : 0.0f;
        }
      }
    }
  }
}

void
attn_scatter_positions (float *feat, const float *fine, const int *idx, int k,
                        int c, int hw)
{
  for (int j = 0; j < k; j++)
    for (int ch = 0; ch < c; ch++)
      feat[(size_t) ch * hw + idx[j]] = fine[(size_t) j * c + ch];
}
