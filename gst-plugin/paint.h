/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* paint.h — the overlay's picture (heat map, region box, label image)
 * painted into a raw video frame or into a premultiplied ARGB canvas.
 *
 * Plain C: no GStreamer, no GLib. The element describes the frame with
 * PaintFormat/PaintFrame and what to draw with PaintPicture; the painter for
 * a format is chosen once, in paint_init (a per-family ops table, as
 * GStreamer's videobalance picks its process function in set_info), so no
 * per-pixel loop asks which format it is in. Painting allocates nothing:
 * the per-column/row tables and row buffers are sized in paint_init.
 *
 * Blending, per pixel with alpha a (0..255): dst += ((c − dst)·a + 128) >> 8
 * on each component (R, G, B; or Y, and Cb/Cr once per 2×2 block (4:2:0)
 * or 2×1 pair (4:2:2) at its left (top-left) pixel). The ARGB canvas is painted with the same rule on
 * its alpha too (colour 255), starting from transparent black, so what it
 * holds is premultiplied and composites, with "over", to the same picture. */
#ifndef ATTN_PAINT_H
#define ATTN_PAINT_H

#include <stdbool.h>
#include <stdint.h>

#include "colormap.h"

typedef enum {
  PAINT_PACKED,      /* 3 or 4 bytes per pixel, R/G/B at byte offsets */
  PAINT_ARGB_CANVAS, /* 4 bytes, R/G/B/A offsets, premultiplied alpha */
  PAINT_I420,        /* Y plane, U and V planes at half resolution */
  PAINT_NV12,        /* Y plane, interleaved UV plane at half resolution */
  PAINT_GRAY8,
  PAINT_YUY2,        /* packed 4:2:2, bytes Y0 U Y1 V (webcams) */
  PAINT_UYVY,        /* packed 4:2:2, bytes U Y0 V Y1 */
} PaintLayout;

typedef struct {
  PaintLayout layout;
  int pixel_stride;  /* packed and canvas: 3 or 4 */
  int r, g, b, a;    /* packed: byte offsets of R, G, B; canvas: and A */
  /* I420/NV12/YUY2/UYVY: the Y'CbCr matrix (Kr, Kb) and range the frame
   * is in */
  double kr, kb;
  bool full_range;
} PaintFormat;

typedef struct {
  uint8_t *plane[3];
  int stride[3];     /* bytes; may exceed the row's width */
} PaintFrame;

/* A spatial map: (rows, cols) values 0..1, row-major, covering
 * [x, x + w) × [y, y + h) of the frame (frame-normalised; may reach past
 * 0..1). Cell (i, j) is centred at x + (j + ½)·w/cols. */
typedef struct {
  const float *data;
  int cols, rows;
  float x, y, w, h;
} PaintMap;

/* What to paint, in this order; every part is optional. */
typedef struct {
  const PaintMap *heat;   /* NULL: no heat map */
  float opacity;          /* alpha where the (normalised) map is 1, 0..1 */
  bool normalize;         /* the map's own min..max spans the colour map */
  bool box;               /* the region box, in pixels: */
  int box_x, box_y, box_w, box_h;
  /* the label image with its top-left corner at (labels_x, labels_y)
   * (0, 0 unless set; rounded down to chroma sites as paint_image does):
   * premultiplied ARGB in native-endian 32-bit words (cairo's ARGB32);
   * NULL: none */
  const uint32_t *labels;
  int labels_stride;      /* bytes */
  int labels_w, labels_h;
  int labels_x, labels_y;
  bool quad;              /* a quadrilateral (the transformer's), pixels: */
  float quad_xy[8];       /* corners as x, y pairs, in order */
} PaintPicture;

typedef struct PaintOps PaintOps;

/* Per-axis heat tables: pixel p samples cells i0[p] and i0[p] + 1 with
 * weight w[p] on the second; [x0, x1) × [y0, y1) are the pixels covered. */
typedef struct {
  int cols, rows;
  float x, y, w, h;     /* the map area the tables were built for */
  bool valid;
  int x0, x1, y0, y1;
} PaintHeatPlan;

typedef struct {
  PaintFormat fmt;
  const PaintOps *ops;  /* chosen by paint_init from fmt.layout */
  int width, height;
  AttnColormap colormap;
  uint8_t lut[256][3];  /* the colour map, in the target's space (RGB or Y'CbCr) */
  uint32_t lut32[256];  /* colour i as one word, bytes in memory order */
  uint8_t lut_planes[3][256];  /* lut's three bytes as three tables (AVX2's
                                * byte lookups) */
  uint8_t mask[4];      /* 4-byte layouts: 0xff for the bytes a colour blends into */
  PaintHeatPlan plan;
  int *c0, *r0;         /* (width), (height) */
  float *cw, *rw;
  /* row scratch, PAINT_BANDS copies (one per band of rows painted in
   * parallel); these point at the first */
  float *band0, *band1; /* (width) two map rows interpolated along x */
  uint8_t *idx, *alpha; /* (width) colour index and alpha of a pixel row */
  uint32_t *col32;      /* (width) 4-byte layouts: a row's colours as words */
  uint8_t *alpha4;      /* (4·width) 4-byte layouts: alpha per byte (masked) */
} Painter;

/* paint_heat splits the rows into at most this many bands, painted in
 * parallel over the calling thread's budget (parallel.h). */
#define PAINT_BANDS 8

/* Plans a painter for width × height frames of format f with colour map cm.
 * Frees any previous plan in p. false if out of memory or a size < 1. */
bool paint_init (Painter *p, const PaintFormat *f, int width, int height,
                 AttnColormap cm);
void paint_clear (Painter *p);
/* Switches the colour map (rebuilds the 256-entry LUT; no-op if unchanged). */
void paint_set_colormap (Painter *p, AttnColormap cm);

/* Paints pic into fr (a frame of p's format and size): heat map, box, the
 * quadrilateral (yellow, the box's thickness), then labels. */
void paint_picture (Painter *p, const PaintFrame *fr, const PaintPicture *pic);

/* The parts on their own (paint_picture calls these). */
void paint_heat (Painter *p, const PaintFrame *fr, const PaintMap *m,
                 float opacity, bool normalize);
/* An opaque white frame of thickness max(1, min(width, height)/240) just
 * inside the pixel rectangle (x, y, w, h), clipped to the frame. */
void paint_box (const Painter *p, const PaintFrame *fr, int x, int y, int w,
                int h);
/* A line from (x0, y0) to (x1, y1) (pixel coordinates, pixel centres at
 * i + ½), `t` pixels thick, in the opaque colour rgb: for each pixel
 * column (rows, for a steep line) it crosses, the pixel holding its point
 * at the column's centre and the t×t square around that pixel (from t/2
 * before it); clipped to the frame, NaN ends draw nothing. */
void paint_line (const Painter *p, const PaintFrame *fr, float x0, float y0,
                 float x1, float y1, int t, const uint8_t rgb[3]);
/* [x0, x1) × [y0, y1) in the opaque colour rgb, clipped to the frame. */
void paint_fill (const Painter *p, const PaintFrame *fr, int x0, int y0,
                 int x1, int y1, const uint8_t rgb[3]);
/* Composites a premultiplied ARGB32 image (native-endian words) with its
 * top-left corner at (x, y) (x rounded down to even on 4:2:0 and 4:2:2
 * layouts, y on 4:2:0), clipped to the frame. */
void paint_image (const Painter *p, const PaintFrame *fr, const uint32_t *argb,
                  int stride, int w, int h, int x, int y);

/* R'G'B' → Y'CbCr for the matrix (kr, kb) (e.g. BT.601: 0.299, 0.114) and
 * range (limited: Y 16..235, C 16..240), rounded and clamped to bytes. */
void paint_rgb_to_yuv (double kr, double kb, bool full_range,
                       const uint8_t rgb[3], uint8_t yuv[3]);

#endif
