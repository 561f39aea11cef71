/* region.h — the attended region of a spatial map: the 8-connected cells
 * around the map's maximum that exceed a threshold relative to the map's
 * range, their bounding box, and where attention concentrates in it (the
 * centroid of the region weighted by how far each cell rises above the
 * threshold, to sub-cell precision). Plain C. */
#ifndef ATTN_REGION_H
#define ATTN_REGION_H

#include <stdbool.h>

typedef struct {
  float peak_x, peak_y;      /* weighted centroid of the region, in cells
                              * (cell centres at i + ½) */
  float peak;                /* map value at the peak cell */
  int x0, y0, x1, y1;        /* box in cells, [x0, x1) × [y0, y1) */
  float score;               /* mean map value over the region's cells */
  int cells;                 /* cells in the region */
} AttnRegion;

/* Scratch floats/ints region_find needs for a w × h map. */
int region_scratch_ints (int w, int h);

/* Finds the region of map (h, w): cells ≥ min + threshold·(max − min),
 * connected to the peak. threshold in [0, 1]. scratch: region_scratch_ints.
 * A constant map yields the whole map with the peak at its centre. */
void region_find (AttnRegion *r, const float *map, int w, int h,
                  float threshold, int *scratch);

#endif
