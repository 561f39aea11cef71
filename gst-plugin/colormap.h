/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* colormap.h — 256-entry colour maps for heat maps. Plain C. */
#ifndef ATTN_COLORMAP_H
#define ATTN_COLORMAP_H

#include <stdint.h>

typedef enum {
  ATTN_COLORMAP_TURBO,
  ATTN_COLORMAP_JET,
  ATTN_COLORMAP_INFERNO,
  ATTN_COLORMAP_GRAY,
} AttnColormap;

/* lut[i] = the map's RGB colour at i/255. */
void attn_colormap_lut (AttnColormap cm, uint8_t lut[256][3]);

#endif
