/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_region.c — the attended region: the connected cells around the peak
 * above the relative threshold, a sub-cell peak, flat maps. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "region.h"

static AttnRegion
find (const float *map, int w, int h, float t)
{
  int *scratch = malloc (sizeof (int) * region_scratch_ints (w, h));
  AttnRegion r;
  region_find (&r, map, w, h, NULL, t, scratch);
  free (scratch);
  return r;
}

int
main (int argc, char **argv)
{
  /* a blob at (5..7, 2..3) and a separate weaker blob at (0, 6) */
  enum { W = 9, H = 8 };
  float m[W * H];
  for (int i = 0; i < W * H; i++)
    m[i] = 0.1f;
  m[2 * W + 5] = 0.8f; m[2 * W + 6] = 0.9f; m[2 * W + 7] = 0.7f;
  m[3 * W + 6] = 0.85f;
  m[6 * W + 0] = 0.75f;
  AttnRegion r = find (m, W, H, 0.5f);
  test_case ("box is the peak's connected blob only",
             r.x0 == 5 && r.x1 == 8 && r.y0 == 2 && r.y1 == 4 && r.cells == 4);
  test_case ("peak value", r.peak == 0.9f);
  test_case ("peak point is the region's weighted centroid",
             fabsf (r.centroid_x - (5.5f * 0.3f + 6.5f * 0.4f + 7.5f * 0.2f
                                 + 6.5f * 0.35f) / 1.25f) < 1e-4f
             && fabsf (r.centroid_y - (2.5f * 0.9f + 3.5f * 0.35f) / 1.25f) < 1e-4f);
  /* a uniform blob: the centroid is its middle, whatever cell is maximal */
  float blob[36] = { 0 };
  for (int y = 1; y < 5; y++)
    for (int x = 1; x < 5; x++)
      blob[y * 6 + x] = 0.9f;
  blob[1 * 6 + 1] = 0.91f;
  AttnRegion br = find (blob, 6, 6, 0.5f);
  test_case ("a uniform blob's point is its middle",
             fabsf (br.centroid_x - 3.0f) < 0.01f && fabsf (br.centroid_y - 3.0f) < 0.01f);
  float mean = (0.8f + 0.9f + 0.7f + 0.85f) / 4;
  test_case ("score is the region's mean", fabsf (r.score - mean) < 1e-6f);

  AttnRegion all = find (m, W, H, 0.0f);
  test_case ("threshold 0 takes the whole map",
             all.x0 == 0 && all.y0 == 0 && all.x1 == W && all.y1 == H
             && all.cells == W * H);
  AttnRegion peak = find (m, W, H, 1.0f);
  test_case ("threshold 1 takes only the peak cell",
             peak.cells == 1 && peak.x0 == 6 && peak.y0 == 2
             && fabsf (peak.centroid_x - 6.5f) < 1e-6f);

  /* diagonal neighbours connect (8-connectivity) */
  float d[16] = { 0 };
  d[0] = 1; d[5] = 0.9f; d[10] = 0.8f; d[15] = 0.05f;
  AttnRegion dr = find (d, 4, 4, 0.5f);
  test_case ("8-connected diagonal", dr.cells == 3 && dr.x1 == 3 && dr.y1 == 3);

  float flat[6] = { 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f };
  AttnRegion fr = find (flat, 3, 2, 0.5f);
  test_case ("flat map: whole map, centred peak",
             fr.cells == 6 && fr.x1 == 3 && fr.y1 == 2
             && fabsf (fr.centroid_x - 1.5f) < 1e-6f && fabsf (fr.centroid_y - 1.0f) < 1e-6f);
  float one = 0.7f;
  AttnRegion o = find (&one, 1, 1, 0.5f);
  test_case ("1x1 map", o.cells == 1 && o.x1 == 1 && o.peak == 0.7f);
  float nan_map[4] = { NAN, 0.2f, 0.9f, 0.1f };
  AttnRegion nr = find (nan_map, 2, 2, 0.5f);
  test_case ("NaN cells never join the region, peak still found",
             nr.cells >= 1 && nr.x0 >= 0 && nr.x1 <= 2 && nr.y1 <= 2);

  /* a window (the cells that cover the frame under letterboxing): a bright
   * padding row outside it never wins, and the range is the window's */
  float lb[4 * 6];
  for (int i = 0; i < 24; i++)
    lb[i] = 0.2f;
  for (int x = 0; x < 4; x++)
    lb[5 * 4 + x] = 1.0f;           /* padding row 5, brightest */
  lb[2 * 4 + 1] = 0.6f;             /* the frame's own peak */
  RegionCells win = { 0, 1, 4, 5 };
  int *scr = malloc (sizeof (int) * region_scratch_ints (4, 6));
  AttnRegion wr;
  region_find (&wr, lb, 4, 6, &win, 0.5f, scr);
  test_case ("window: the peak is found inside it, not in the padding",
             wr.peak == 0.6f && wr.x0 == 1 && wr.y0 == 2 && wr.cells == 1);
  test_case ("window: centroid inside the window",
             wr.centroid_y >= 1.0f && wr.centroid_y <= 5.0f);
  region_find (&wr, lb, 4, 6, &win, 0.0f, scr);
  test_case ("window: threshold 0 takes the window, not the padding",
             wr.y0 == 1 && wr.y1 == 5 && wr.x0 == 0 && wr.x1 == 4
             && wr.cells == 16);
  RegionCells flatwin = { 0, 0, 4, 5 };
  for (int i = 0; i < 20; i++)
    lb[i] = 0.3f;
  region_find (&wr, lb, 4, 6, &flatwin, 0.5f, scr);
  test_case ("window: a flat window is centred in the window",
             fabsf (wr.centroid_y - 2.5f) < 1e-6f && wr.y1 == 5);
  free (scr);
  return test_done ();
}
