/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* region.c — see region.h. */
#include "region.h"

#include <math.h>
#include <string.h>

int
region_scratch_ints (int w, int h)
{
  return 2 * w * h;           /* visited flags + the flood-fill stack */
}

void
region_find (AttnRegion *r, const float *map, int w, int h,
             const RegionCells *within, float threshold, int *scratch)
{
  /* the window searched: cells outside it (letterbox padding) never win,
   * never join and do not count towards the map's range */
  int wx0 = 0, wy0 = 0, wx1 = w, wy1 = h;
  if (within) {
    wx0 = within->x0 > 0 ? within->x0 : 0;
    wy0 = within->y0 > 0 ? within->y0 : 0;
    wx1 = within->x1 < w ? within->x1 : w;
    wy1 = within->y1 < h ? within->y1 : h;
    if (wx1 <= wx0 || wy1 <= wy0) {
      wx0 = wy0 = 0;
      wx1 = w;
      wy1 = h;
    }
  }
  int n = w * h, best = -1, wn = (wx1 - wx0) * (wy1 - wy0);
  float lo = INFINITY, hi = -INFINITY;
  for (int y = wy0; y < wy1; y++)
    for (int x = wx0; x < wx1; x++) {
      int i = y * w + x;
      if (isnan (map[i]))
        continue;              /* NaN never wins and never joins */
      if (map[i] > hi) {
        hi = map[i];
        best = i;
      }
      lo = map[i] < lo ? map[i] : lo;
    }
  float mx = (wx0 + wx1) / 2.0f, my = (wy0 + wy1) / 2.0f;
  if (best < 0) {              /* nothing but NaN */
    *r = (AttnRegion) { mx, my, 0.0f, wx0, wy0, wx1, wy1, 0.0f, wn };
    return;
  }
  int by = best / w, bx = best % w;
  if (!(hi > lo)) {            /* flat: no place stands out */
    *r = (AttnRegion) { mx, my, hi, wx0, wy0, wx1, wy1, hi, wn };
    return;
  }
  float cut = lo + threshold * (hi - lo);

  /* flood fill from the peak over cells >= cut */
  int *seen = scratch, *stack = scratch + n, top = 0;
  memset (seen, 0, sizeof (int) * n);
  stack[top++] = best;
  seen[best] = 1;
  int x0 = bx, x1 = bx + 1, y0 = by, y1 = by + 1, cells = 0;
  double sum = 0;
  while (top > 0) {
    int i = stack[--top], y = i / w, x = i % w;
    cells++;
    sum += map[i];
    x0 = x < x0 ? x : x0;
    x1 = x + 1 > x1 ? x + 1 : x1;
    y0 = y < y0 ? y : y0;
    y1 = y + 1 > y1 ? y + 1 : y1;
    for (int dy = -1; dy <= 1; dy++)
      for (int dx = -1; dx <= 1; dx++) {
        int yy = y + dy, xx = x + dx;
        if (yy < wy0 || yy >= wy1 || xx < wx0 || xx >= wx1)
          continue;
        int j = yy * w + xx;
        if (!seen[j] && map[j] >= cut) {
          seen[j] = 1;
          stack[top++] = j;
        }
      }
  }

  /* where attention concentrates: the centroid of the region's cells,
   * weighted by how far each rises above the cut — the middle of a large
   * uniformly attended blob, not whichever of its cells happens to peak */
  double wx = 0, wy = 0, ws = 0;
  for (int i = 0; i < n; i++) {
    if (!seen[i])
      continue;
    double v = map[i] - cut;
    if (v <= 0)
      continue;
    wx += v * (i % w + 0.5);
    wy += v * (i / w + 0.5);
    ws += v;
  }
  /* threshold 1: nothing rises above the cut but the peak itself */
  r->centroid_x = ws > 0 ? (float) (wx / ws) : bx + 0.5f;
  r->centroid_y = ws > 0 ? (float) (wy / ws) : by + 0.5f;
  r->peak = hi;
  r->x0 = x0;
  r->x1 = x1;
  r->y0 = y0;
  r->y1 = y1;
  r->cells = cells;
  r->score = (float) (sum / cells);
}
