/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* paint.c — heat map, region box and label image into raw video frames or a
 * premultiplied ARGB canvas. See paint.h for the blending rule. Format
 * families, each an ops table chosen once in paint_init:
 *   packed  RGB/BGR/RGBx/…/ABGR: R, G, B at byte offsets, the rest untouched
 *           (3-byte pixels per component; 4-byte pixels through a 32-bit
 *           colour gather and a byte loop the compiler vectorises)
 *   canvas  premultiplied ARGB (GstVideoOverlayRectangle's format): like
 *           4-byte packed, alpha blended as a fourth component of colour 255
 *   yuv420  I420 and NV12: Y per pixel, Cb/Cr per 2×2 block
 *   gray    GRAY8: Y only */
#include "paint.h"

#include "cpu.h"
#include "paint-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define CLAMP(v, lo, hi) ((v) < (lo) ? (lo) : (v) > (hi) ? (hi) : (v))

struct PaintOps {
  /* [x0, x1) × [y0, y1), already clipped, in the opaque colour rgb */
  void (*fill) (const Painter *p, const PaintFrame *fr, int x0, int y0, int x1,
                int y1, const uint8_t rgb[3]);
  /* a premultiplied ARGB32 image of w × h (clipped) at (0, 0) */
  void (*image) (const Painter *p, const PaintFrame *fr, const uint32_t *argb,
                 int stride, int w, int h);
};

/* ---- colour -------------------------------------------------------------- */

void
paint_rgb_to_yuv (double kr, double kb, bool full_range, const uint8_t rgb[3],
                  uint8_t yuv[3])
{
  double r = rgb[0], g = rgb[1], b = rgb[2];
  double kg = 1 - kr - kb;
  double y = kr * r + kg * g + kb * b;
  double u = (b - y) / (2 * (1 - kb)), v = (r - y) / (2 * (1 - kr));
  if (!full_range) {
    y = 16 + y * 219 / 255;
    u = u * 224 / 255;
    v = v * 224 / 255;
  }
  yuv[0] = (uint8_t) CLAMP (lround (y), 0, 255);
  yuv[1] = (uint8_t) CLAMP (lround (u + 128), 0, 255);
  yuv[2] = (uint8_t) CLAMP (lround (v + 128), 0, 255);
}

static bool
is_rgb (const Painter *p)
{
  return p->fmt.layout == PAINT_PACKED || p->fmt.layout == PAINT_ARGB_CANVAS;
}

/* the colour a painter writes for rgb: itself, or its Y'CbCr */
static void
target_colour (const Painter *p, const uint8_t rgb[3], uint8_t out[3])
{
  if (is_rgb (p))
    memcpy (out, rgb, 3);
  else
    paint_rgb_to_yuv (p->fmt.kr, p->fmt.kb, p->fmt.full_range, rgb, out);
}

void
paint_set_colormap (Painter *p, AttnColormap cm)
{
  if (p->colormap == cm)
    return;
  uint8_t rgb[256][3];
  attn_colormap_lut (cm, rgb);
  for (int i = 0; i < 256; i++) {
    target_colour (p, rgb[i], p->lut[i]);
    for (int k = 0; k < 3; k++)
      p->lut_planes[k][i] = p->lut[i][k];
    /* colour i as one word, its bytes in memory order: a 4-byte layout's
     * pixel (alpha 255), else lut[i]'s three bytes (the vector loops'
     * lookups read words) */
    uint8_t px[4] = { 0 };
    if (p->fmt.pixel_stride == 4) {
      px[p->fmt.a & 3] = 255;   /* packed: the padding byte's alpha is 0 */
      px[p->fmt.r & 3] = p->lut[i][0];
      px[p->fmt.g & 3] = p->lut[i][1];
      px[p->fmt.b & 3] = p->lut[i][2];
    } else {
      memcpy (px, p->lut[i], 3);
    }
    memcpy (&p->lut32[i], px, 4);
  }
  p->colormap = cm;
}

/* float alpha, as text has always been blended: dst + (c − dst)·a, rounded */
static inline uint8_t
mixf (uint8_t dst, uint8_t c, float a)
{
  return (uint8_t) (dst + (c - dst) * a + 0.5f);
}

/* Un-premultiplies px (native-endian ARGB) into rgb, alpha 0..255 back. */
static inline int
unpremultiply (uint32_t px, uint8_t rgb[3])
{
  unsigned a8 = px >> 24;
  if (a8 == 0)
    return 0;
  rgb[0] = (uint8_t) MIN (255u, ((px >> 16) & 0xff) * 255 / a8);
  rgb[1] = (uint8_t) MIN (255u, ((px >> 8) & 0xff) * 255 / a8);
  rgb[2] = (uint8_t) MIN (255u, (px & 0xff) * 255 / a8);
  return (int) a8;
}

/* Text is a few hundred colours at most (a text colour and a box colour
 * at every level of coverage): the images' loops remember each one's
 * target colour in a small table indexed by a hash of the pixel, and each
 * alpha's float, instead of un-premultiplying and converting every pixel
 * (a 1080p frame's label box is some 600×460 pixels). */
#define COLOUR_SLOTS 256

typedef struct {
  uint32_t key[COLOUR_SLOTS];   /* 0: empty (alpha 0 is never looked up) */
  uint8_t val[COLOUR_SLOTS][3];
  float alpha[256];             /* a / 255 */
} ColourCache;

static void
colour_cache_init (ColourCache *c)
{
  memset (c->key, 0, sizeof c->key);
  for (int i = 0; i < 256; i++)
    c->alpha[i] = i / 255.0f;
}

/* px's colour as p writes it (px's alpha > 0) */
static inline const uint8_t *
colour_cache_get (ColourCache *c, const Painter *p, uint32_t px)
{
  unsigned slot = (px * 2654435761u) >> 24;
  if (c->key[slot] != px) {
    uint8_t rgb[3];
    unpremultiply (px, rgb);
    target_colour (p, rgb, c->val[slot]);
    c->key[slot] = px;
  }
  return c->val[slot];
}

/* ---- packed RGB ---------------------------------------------------------- */

static void
packed_fill (const Painter *p, const PaintFrame *fr, int x0, int y0, int x1,
             int y1, const uint8_t rgb[3])
{
  const int ps = p->fmt.pixel_stride;
  for (int y = y0; y < y1; y++) {
    uint8_t *row = fr->plane[0] + (size_t) y * fr->stride[0];
    for (int x = x0; x < x1; x++) {
      row[x * ps + p->fmt.r] = rgb[0];
      row[x * ps + p->fmt.g] = rgb[1];
      row[x * ps + p->fmt.b] = rgb[2];
    }
  }
}

static void
packed_image (const Painter *p, const PaintFrame *fr, const uint32_t *argb,
              int stride, int w, int h)
{
  const int ps = p->fmt.pixel_stride;
  ColourCache cc;
  colour_cache_init (&cc);
  for (int y = 0; y < h; y++) {
    const uint32_t *src = (const uint32_t *) ((const uint8_t *) argb
        + (size_t) y * stride);
    uint8_t *row = fr->plane[0] + (size_t) y * fr->stride[0];
    for (int x = 0; x < w; x++) {
      if ((src[x] >> 24) == 0)
        continue;
      float a = cc.alpha[src[x] >> 24];
      const uint8_t *rgb = colour_cache_get (&cc, p, src[x]);
      uint8_t *px = row + x * ps;
      px[p->fmt.r] = mixf (px[p->fmt.r], rgb[0], a);
      px[p->fmt.g] = mixf (px[p->fmt.g], rgb[1], a);
      px[p->fmt.b] = mixf (px[p->fmt.b], rgb[2], a);
    }
  }
}

static const PaintOps packed_ops = { packed_fill,
  packed_image
};

static const PaintOps packed4_ops = { packed_fill,
  packed_image
};

/* ---- premultiplied ARGB canvas ------------------------------------------- */

static void
canvas_fill (const Painter *p, const PaintFrame *fr, int x0, int y0, int x1,
             int y1, const uint8_t rgb[3])
{
  for (int y = y0; y < y1; y++) {
    uint8_t *row = fr->plane[0] + (size_t) y * fr->stride[0];
    for (int x = x0; x < x1; x++) {
      row[x * 4 + p->fmt.r] = rgb[0];
      row[x * 4 + p->fmt.g] = rgb[1];
      row[x * 4 + p->fmt.b] = rgb[2];
      row[x * 4 + p->fmt.a] = 255;
    }
  }
}

/* premultiplied over: dst = src + dst·(255 − A)/255 */
static inline uint8_t
over8 (uint8_t dst, unsigned src, unsigned inv)
{
  unsigned v = src + (dst * inv + 127) / 255;
  return (uint8_t) MIN (v, 255u);
}

static void
canvas_image (const Painter *p, const PaintFrame *fr, const uint32_t *argb,
              int stride, int w, int h)
{
  for (int y = 0; y < h; y++) {
    const uint32_t *src = (const uint32_t *) ((const uint8_t *) argb
        + (size_t) y * stride);
    uint8_t *row = fr->plane[0] + (size_t) y * fr->stride[0];
    for (int x = 0; x < w; x++) {
      uint32_t s = src[x];
      unsigned a8 = s >> 24;
      if (a8 == 0)
        continue;
      unsigned inv = 255 - a8;
      uint8_t *px = row + x * 4;
      px[p->fmt.r] = over8 (px[p->fmt.r], (s >> 16) & 0xff, inv);
      px[p->fmt.g] = over8 (px[p->fmt.g], (s >> 8) & 0xff, inv);
      px[p->fmt.b] = over8 (px[p->fmt.b], s & 0xff, inv);
      px[p->fmt.a] = over8 (px[p->fmt.a], a8, inv);
    }
  }
}

static const PaintOps canvas_ops = { canvas_fill,
  canvas_image
};


/* ---- GRAY8 and the luma of I420/NV12 -------------------------------------- */

static void
luma_fill (const PaintFrame *fr, int x0, int y0, int x1, int y1, uint8_t luma)
{
  for (int y = y0; y < y1; y++)
    memset (fr->plane[0] + (size_t) y * fr->stride[0] + x0, luma,
        (size_t) (x1 - x0));
}

static void
gray_fill (const Painter *p, const PaintFrame *fr, int x0, int y0, int x1,
           int y1, const uint8_t rgb[3])
{
  uint8_t yuv[3];
  target_colour (p, rgb, yuv);
  luma_fill (fr, x0, y0, x1, y1, yuv[0]);
}

/* Where yuv_image writes: luma at plane 0 + yo, ys bytes apart; with
 * chroma (cs > 0) one Cb/Cr sample per 2 pixels, cs bytes apart, in rows
 * cstride apart that cover 2 (4:2:0) or 1 (4:2:2) pixel rows. */
typedef struct {
  int yo, ys;
  uint8_t *u, *v;
  int cstride, cs, crow_pixels;
} YuvSites;

/* Cb/Cr of a 2×2 block (2×1 pair) follow its top-left (left) pixel. */
static inline void
yuv_image (const Painter *p, const PaintFrame *fr, const uint32_t *argb,
           int stride, int w, int h, const YuvSites *at)
{
  ColourCache cc;
  colour_cache_init (&cc);
  for (int y = 0; y < h; y++) {
    const uint32_t *src = (const uint32_t *) ((const uint8_t *) argb
        + (size_t) y * stride);
    uint8_t *row = fr->plane[0] + (size_t) y * fr->stride[0] + at->yo;
    bool chroma_row = at->cs && y % at->crow_pixels == 0;
    for (int x = 0; x < w; x++) {
      uint32_t px = src[x];
      if ((px >> 24) == 0)
        continue;
      float a = cc.alpha[px >> 24];
      const uint8_t *yuv = colour_cache_get (&cc, p, px);
      uint8_t *luma = row + (size_t) x * at->ys;
      *luma = mixf (*luma, yuv[0], a);
      if (chroma_row && !(x & 1)) {
        size_t k = (size_t) (y / at->crow_pixels) * at->cstride
            + (size_t) (x / 2) * at->cs;
        at->u[k] = mixf (at->u[k], yuv[1], a);
        at->v[k] = mixf (at->v[k], yuv[2], a);
      }
    }
  }
}

static void
gray_image (const Painter *p, const PaintFrame *fr, const uint32_t *argb,
            int stride, int w, int h)
{
  YuvSites at = { 0, 1, NULL, NULL, 0, 0, 1 };
  yuv_image (p, fr, argb, stride, w, h, &at);
}

static const PaintOps gray_ops = { gray_fill, gray_image };

/* ---- I420 and NV12 ------------------------------------------------------- */

static inline void
yuv420_fill (const Painter *p, const PaintFrame *fr, int x0, int y0, int x1,
             int y1, const uint8_t rgb[3], uint8_t *u, uint8_t *v, int cstride,
             int cs)
{
  uint8_t yuv[3];
  target_colour (p, rgb, yuv);
  luma_fill (fr, x0, y0, x1, y1, yuv[0]);
  for (int y = y0 & ~1; y < y1; y += 2)
    for (int x = x0 & ~1; x < x1; x += 2) {
      size_t k = (size_t) (y / 2) * cstride + (size_t) (x / 2) * cs;
      u[k] = yuv[1];
      v[k] = yuv[2];
    }
}

static void
i420_fill (const Painter *p, const PaintFrame *fr, int x0, int y0, int x1,
           int y1, const uint8_t rgb[3])
{
  yuv420_fill (p, fr, x0, y0, x1, y1, rgb, fr->plane[1], fr->plane[2],
      fr->stride[1], 1);
}

static void
nv12_fill (const Painter *p, const PaintFrame *fr, int x0, int y0, int x1,
           int y1, const uint8_t rgb[3])
{
  yuv420_fill (p, fr, x0, y0, x1, y1, rgb, fr->plane[1], fr->plane[1] + 1,
      fr->stride[1], 2);
}

static void
i420_image (const Painter *p, const PaintFrame *fr, const uint32_t *argb,
            int stride, int w, int h)
{
  YuvSites at = { 0, 1, fr->plane[1], fr->plane[2], fr->stride[1], 1, 2 };
  yuv_image (p, fr, argb, stride, w, h, &at);
}

static void
nv12_image (const Painter *p, const PaintFrame *fr, const uint32_t *argb,
            int stride, int w, int h)
{
  YuvSites at = { 0, 1, fr->plane[1], fr->plane[1] + 1, fr->stride[1], 2, 2 };
  yuv_image (p, fr, argb, stride, w, h, &at);
}

static const PaintOps i420_ops = { i420_fill, i420_image };
static const PaintOps nv12_ops = { nv12_fill, nv12_image };

/* ---- YUY2 and UYVY (packed 4:2:2) ---------------------------------------- */

static void
yuv422_fill (const Painter *p, const PaintFrame *fr, int x0, int y0, int x1,
             int y1, const uint8_t rgb[3])
{
  uint8_t yuv[3];
  target_colour (p, rgb, yuv);
  int yo, uo, vo;
  offsets_422 (p, &yo, &uo, &vo);
  for (int y = y0; y < y1; y++) {
    uint8_t *row = fr->plane[0] + (size_t) y * fr->stride[0];
    for (int x = x0; x < x1; x++)
      row[2 * x + yo] = yuv[0];
    for (int x = x0 & ~1; x < x1; x += 2) {
      row[2 * x + uo] = yuv[1];
      row[2 * x + vo] = yuv[2];
    }
  }
}

static void
yuv422_image (const Painter *p, const PaintFrame *fr, const uint32_t *argb,
              int stride, int w, int h)
{
  int yo, uo, vo;
  offsets_422 (p, &yo, &uo, &vo);
  YuvSites at = { yo, 2, fr->plane[0] + uo, fr->plane[0] + vo, fr->stride[0],
    4, 1
  };
  yuv_image (p, fr, argb, stride, w, h, &at);
}

static const PaintOps yuv422_ops = { yuv422_fill,
  yuv422_image
};

/* ---- plan ---------------------------------------------------------------- */

void
paint_clear (Painter *p)
{
  free (p->c0);
  free (p->cw);
  free (p->r0);
  free (p->rw);
  free (p->band0);
  free (p->band1);
  free (p->idx);
  free (p->alpha);
  free (p->col32);
  free (p->alpha4);
  memset (p, 0, sizeof *p);
}

bool
paint_init (Painter *p, const PaintFormat *f, int width, int height,
            AttnColormap cm)
{
  paint_clear (p);
  if (width < 1 || height < 1)
    return false;
  p->fmt = *f;
  switch (f->layout) {
    case PAINT_PACKED:
      p->ops = f->pixel_stride == 4 ? &packed4_ops : &packed_ops;
      break;
    case PAINT_ARGB_CANVAS:
      p->ops = &canvas_ops;
      break;
    case PAINT_I420:
      p->ops = &i420_ops;
      break;
    case PAINT_NV12:
      p->ops = &nv12_ops;
      break;
    case PAINT_YUY2:
    case PAINT_UYVY:
      p->ops = &yuv422_ops;
      break;
    case PAINT_GRAY8:
    default:
      p->ops = &gray_ops;
      break;
  }
  p->width = width;
  p->height = height;
  /* which bytes of a 4-byte pixel take colour: all four on the canvas,
   * R, G and B only in a frame */
  for (int c = 0; c < 4; c++)
    p->mask[c] = f->layout == PAINT_ARGB_CANVAS
        || c == f->r || c == f->g || c == f->b ? 0xff : 0;
  size_t w = (size_t) width, h = (size_t) height;
  p->c0 = malloc (w * sizeof *p->c0);
  p->cw = malloc (w * sizeof *p->cw);
  p->r0 = malloc (h * sizeof *p->r0);
  p->rw = malloc (h * sizeof *p->rw);
  size_t nb = PAINT_BANDS;
  p->band0 = calloc (w * nb, sizeof *p->band0);
  p->band1 = calloc (w * nb, sizeof *p->band1);
  p->idx = calloc (w * nb, 1);
  p->alpha = calloc (w * nb, 1);
  p->col32 = calloc (w * nb, sizeof *p->col32);
  p->alpha4 = calloc (w * nb, 4);
  if (!p->c0 || !p->cw || !p->r0 || !p->rw || !p->band0 || !p->band1
      || !p->idx || !p->alpha || !p->col32 || !p->alpha4) {
    paint_clear (p);
    return false;
  }
  p->colormap = (AttnColormap) - 1;
  paint_set_colormap (p, cm);
  return true;
}

/* ---- heat map ------------------------------------------------------------ */

/* Per-axis tables for a map of n cells covering [a0, a0 + len) of a frame
 * axis of `size` pixels: pixel q samples cell coordinate
 * ((q + ½)/size − a0)/len·n − ½, clamped (cell centres at i + ½). */
static void
axis_tables (int *i0, float *wt, int from, int to, int size, float a0,
             float len, int n)
{
  for (int q = from; q < to; q++) {
    float u = (((q + 0.5f) / size) - a0) / len * n - 0.5f;
    u = CLAMP (u, 0.0f, n - 1.0f);
    int c = (int) u;
    c = MIN (c, n - 2 < 0 ? 0 : n - 2);
    i0[q] = c;
    wt[q] = n > 1 ? u - c : 0.0f;
  }
}

/* clamps a frame-normalised edge times size to [lo, size] */
static int
edge (float v, int lo, int size, bool up)
{
  float e = up ? ceilf (v * size) : floorf (v * size);
  return e < (float) lo ? lo : e > (float) size ? size : (int) e;
}

/* Rebuilt when the map's size or area changes (a model or roi change), not
 * per frame. */
static void
plan_update (Painter *p, const PaintMap *m)
{
  PaintHeatPlan *t = &p->plan;
  if (t->valid && t->cols == m->cols && t->rows == m->rows && t->x == m->x
      && t->y == m->y && t->w == m->w && t->h == m->h)
    return;
  t->cols = m->cols;
  t->rows = m->rows;
  t->x = m->x;
  t->y = m->y;
  t->w = m->w;
  t->h = m->h;
  t->x0 = edge (m->x, 0, p->width, false);
  t->x1 = edge (m->x + m->w, t->x0, p->width, true);
  t->y0 = edge (m->y, 0, p->height, false);
  t->y1 = edge (m->y + m->h, t->y0, p->height, true);
  axis_tables (p->c0, p->cw, t->x0, t->x1, p->width, m->x, m->w, m->cols);
  axis_tables (p->r0, p->rw, t->y0, t->y1, p->height, m->y, m->h, m->rows);
  t->valid = true;
}

void
paint_heat (Painter *p, const PaintFrame *fr, const PaintMap *m, float opacity,
            bool normalize)
{
  if (!m || !m->data || m->cols < 1 || m->rows < 1 || !(opacity > 0)
      || !(m->w > 0) || !(m->h > 0) || !isfinite (m->x) || !isfinite (m->y)
      || !isfinite (m->w) || !isfinite (m->h))
    return;
  plan_update (p, m);
  /* normalised: the map's own range spans the colour map */
  float lo = 0, hi = 1;
  if (normalize) {
    lo = hi = m->data[0];
    for (size_t i = 1; i < (size_t) m->cols * m->rows; i++) {
      lo = MIN (lo, m->data[i]);
      hi = MAX (hi, m->data[i]);
    }
  }
  float scale = hi > lo ? 1.0f / (hi - lo) : 0.0f;
  /* the per-pixel work, compiled for each instruction set (paint_heat.c) */
  switch (attn_cpu_isa ()) {
#ifdef ATTN_HAVE_ISA_VARIANTS
    case ATTN_ISA_AVX512:
      paint_heat_rows_avx512 (p, fr, m, lo, scale, opacity);
      break;
    case ATTN_ISA_AVX2:
      paint_heat_rows_avx2 (p, fr, m, lo, scale, opacity);
      break;
#endif
    default:
      paint_heat_rows_generic (p, fr, m, lo, scale, opacity);
      break;
  }
}

/* ---- box and image ------------------------------------------------------- */

void
paint_fill (const Painter *p, const PaintFrame *fr, int x0, int y0, int x1,
            int y1, const uint8_t rgb[3])
{
  x0 = CLAMP (x0, 0, p->width);
  x1 = CLAMP (x1, x0, p->width);
  y0 = CLAMP (y0, 0, p->height);
  y1 = CLAMP (y1, y0, p->height);
  if (x0 < x1 && y0 < y1)
    p->ops->fill (p, fr, x0, y0, x1, y1, rgb);
}

void
paint_box (const Painter *p, const PaintFrame *fr, int x, int y, int w, int h)
{
  if (w <= 0 || h <= 0)
    return;
  int t = MAX (1, MIN (p->width, p->height) / 240);
  static const uint8_t white[3] = { 255, 255, 255 };
  paint_fill (p, fr, x, y, x + w, y + t, white);
  paint_fill (p, fr, x, y + h - t, x + w, y + h, white);
  paint_fill (p, fr, x, y, x + t, y + h, white);
  paint_fill (p, fr, x + w - t, y, x + w, y + h, white);
}

/* Clips the segment to [lo_x, hi_x] × [lo_y, hi_y]; false if nothing of
 * it is inside. An end outside is moved onto the edge it crosses, that
 * coordinate set exactly and the other interpolated, so ends far off the
 * frame keep the line's direction and lose no precision on the frame. */
static bool
clip_segment (double *x0, double *y0, double *x1, double *y1, double lo_x,
              double lo_y, double hi_x, double hi_y)
{
  double *xs[2] = { x0, x1 }, *ys[2] = { y0, y1 };
  for (int e = 0; e < 2; e++) {
    double *x = xs[e], *y = ys[e], ox = *xs[1 - e], oy = *ys[1 - e];
    for (int pass = 0; pass < 2; pass++) {
      double bx = *x < lo_x ? lo_x : *x > hi_x ? hi_x : *x;
      if (bx != *x) {
        if ((ox < lo_x && bx == lo_x) || (ox > hi_x && bx == hi_x))
          return false;         /* both ends beyond the same edge */
        *y = oy + (bx - ox) / (*x - ox) * (*y - oy);
        *x = bx;
      }
      double by = *y < lo_y ? lo_y : *y > hi_y ? hi_y : *y;
      if (by != *y) {
        if ((oy < lo_y && by == lo_y) || (oy > hi_y && by == hi_y))
          return false;
        *x = ox + (by - oy) / (*y - oy) * (*x - ox);
        *y = by;
      }
    }
    if (*x < lo_x || *x > hi_x || *y < lo_y || *y > hi_y)
      return false;             /* it passes by a corner */
  }
  return true;
}

void
paint_line (const Painter *p, const PaintFrame *fr, float fx0, float fy0,
            float fx1, float fy1, int t, const uint8_t rgb[3])
{
  if (!isfinite (fx0) || !isfinite (fy0) || !isfinite (fx1)
      || !isfinite (fy1))
    return;
  t = MAX (t, 1);
  double x0 = fx0, y0 = fy0, x1 = fx1, y1 = fy1;
  if (!clip_segment (&x0, &y0, &x1, &y1, -t, -t, p->width + t,
          p->height + t))
    return;
  /* one step per pixel along the major axis, at the pixel centres: the
   * pixel holding the segment's point there, and a t×t square around it */
  bool steep = fabs (y1 - y0) > fabs (x1 - x0);
  double a0 = steep ? y0 : x0, a1 = steep ? y1 : x1;
  double b0 = steep ? x0 : y0, b1 = steep ? x1 : y1;
  if (a0 > a1) {
    double tmp = a0;
    a0 = a1;
    a1 = tmp;
    tmp = b0;
    b0 = b1;
    b1 = tmp;
  }
  int lo = t / 2;
  for (int i = (int) floor (a0); i <= (int) floor (a1); i++) {
    double c = CLAMP (i + 0.5, a0, a1);
    double b = a1 > a0 ? b0 + (c - a0) / (a1 - a0) * (b1 - b0) : b0;
    int j = (int) floor (b);
    if (steep)
      paint_fill (p, fr, j - lo, i - lo, j - lo + t, i - lo + t, rgb);
    else
      paint_fill (p, fr, i - lo, j - lo, i - lo + t, j - lo + t, rgb);
  }
}

void
paint_image (const Painter *p, const PaintFrame *fr, const uint32_t *argb,
             int stride, int w, int h, int x, int y)
{
  if (!argb || x >= p->width || y >= p->height)
    return;
  /* the ops paint at (0, 0): move the planes to (x, y) instead, a 2×2
   * chroma block at a time on 4:2:0 */
  bool sub = p->fmt.layout == PAINT_I420 || p->fmt.layout == PAINT_NV12;
  bool sub_x = sub || p->fmt.layout == PAINT_YUY2
      || p->fmt.layout == PAINT_UYVY;
  x = MAX (x, 0);
  y = MAX (y, 0);
  if (sub_x)
    x &= ~1;
  if (sub)
    y &= ~1;
  PaintFrame at = *fr;
  switch (p->fmt.layout) {
    case PAINT_PACKED:
    case PAINT_ARGB_CANVAS:
      at.plane[0] += (size_t) y * fr->stride[0] + (size_t) x * p->fmt.pixel_stride;
      break;
    case PAINT_GRAY8:
      at.plane[0] += (size_t) y * fr->stride[0] + (size_t) x;
      break;
    case PAINT_I420:
      at.plane[0] += (size_t) y * fr->stride[0] + (size_t) x;
      at.plane[1] += (size_t) (y / 2) * fr->stride[1] + (size_t) (x / 2);
      at.plane[2] += (size_t) (y / 2) * fr->stride[2] + (size_t) (x / 2);
      break;
    case PAINT_NV12:
      at.plane[0] += (size_t) y * fr->stride[0] + (size_t) x;
      at.plane[1] += (size_t) (y / 2) * fr->stride[1] + (size_t) x;
      break;
    case PAINT_YUY2:
    case PAINT_UYVY:
      at.plane[0] += (size_t) y * fr->stride[0] + (size_t) 2 * x;
      break;
  }
  w = MIN (w, p->width - x);
  h = MIN (h, p->height - y);
  if (w > 0 && h > 0)
    p->ops->image (p, &at, argb, stride, w, h);
}

void
paint_picture (Painter *p, const PaintFrame *fr, const PaintPicture *pic)
{
  if (pic->heat)
    paint_heat (p, fr, pic->heat, pic->opacity, pic->normalize);
  if (pic->box)
    paint_box (p, fr, pic->box_x, pic->box_y, pic->box_w, pic->box_h);
  if (pic->quad) {
    static const uint8_t yellow[3] = { 255, 220, 0 };
    int t = MAX (1, MIN (p->width, p->height) / 240);
    for (int i = 0; i < 4; i++) {
      int j = (i + 1) % 4;
      paint_line (p, fr, pic->quad_xy[2 * i], pic->quad_xy[2 * i + 1],
          pic->quad_xy[2 * j], pic->quad_xy[2 * j + 1], t, yellow);
    }
  }
  if (pic->labels)
    paint_image (p, fr, pic->labels, pic->labels_stride, pic->labels_w,
        pic->labels_h, pic->labels_x, pic->labels_y);
}
