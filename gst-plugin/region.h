/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* region.h — the attended region of a spatial map: the 8-connected cells
 * around the map's maximum that exceed a threshold relative to the map's
 * range, their bounding box, and where attention concentrates in it (the
 * centroid of the region weighted by how far each cell rises above the
 * threshold, to sub-cell precision). Plain C. */
#ifndef ATTN_REGION_H
#define ATTN_REGION_H

#include <stdbool.h>

typedef struct {
  float centroid_x, centroid_y; /* weighted centroid of the region, in
                              * cells (cell centres at i + ½) */
  float peak;                /* map value at the peak cell */
  int x0, y0, x1, y1;        /* box in cells, [x0, x1) × [y0, y1) */
  float score;               /* mean map value over the region's cells */
  int cells;                 /* cells in the region */
} AttnRegion;

/* Scratch floats/ints region_find needs for a w × h map. */
int region_scratch_ints (int w, int h);

/* A window of map cells, [x0, x1) × [y0, y1). */
typedef struct {
  int x0, y0, x1, y1;
} RegionCells;

/* Finds the region of map (h, w) within the cells `within` (NULL: the
 * whole map; an empty window also means the whole map): cells ≥ min +
 * threshold·(max − min), min and max taken over the window, connected to
 * the window's peak. threshold in [0, 1]. scratch: region_scratch_ints.
 * A constant window yields the whole window with the centroid at its
 * centre. */
void region_find (AttnRegion *r, const float *map, int w, int h,
                  const RegionCells *within, float threshold, int *scratch);

#endif
