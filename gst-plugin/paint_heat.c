/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* paint_heat.c — the heat map's per-pixel loops: interpolating the map,
 * colour index and alpha per pixel, and the blend into each layout. The
 * build compiles this file once per instruction set (-DPAINT_ISA=generic,
 * avx2 with -march=x86-64-v3, avx512 with -march=x86-64-v4), so the same
 * loops vectorise 4, 8 or 16 floats wide; paint.c calls the variant
 * attn_cpu_isa() names. The picture is the same whichever runs (the
 * arithmetic is exact in bytes, and the float steps round the same:
 * test_paint compares every variant with a reference painter). */
#include "paint-private.h"

#include "parallel.h"

#include <string.h>

#ifndef PAINT_ISA
#define PAINT_ISA generic
#endif
#define PAINT_CAT2(a, b) a##_##b
#define PAINT_CAT(a, b) PAINT_CAT2 (a, b)

#define MIN(a, b) ((a) < (b) ? (a) : (b))

static inline uint8_t
blend8 (uint8_t dst, int c, int a)
{
  return (uint8_t) (dst + (((c - dst) * a + 128) >> 8));
}


static void
packed_heat_row (const Painter *p, const PaintFrame *fr, int y, int xa, int xb)
{
  const int ps = p->fmt.pixel_stride, o0 = p->fmt.r, o1 = p->fmt.g,
      o2 = p->fmt.b;
  const uint8_t (*lut)[3] = p->lut;
  const uint8_t *restrict ix = p->idx, *restrict al = p->alpha;
  uint8_t *restrict row = fr->plane[0] + (size_t) y * fr->stride[0];
  for (int x = xa; x < xb; x++) {
    const uint8_t *c = lut[ix[x]];
    int a = al[x];
    uint8_t *px = row + x * ps;
    px[o0] = blend8 (px[o0], c[0], a);
    px[o1] = blend8 (px[o1], c[1], a);
    px[o2] = blend8 (px[o2], c[2], a);
  }
}


/* 4-byte packed RGB: one 32-bit gather of the colour in the frame's byte
 * order, then a byte blend that vectorises; the padding/alpha byte is
 * blended with alpha 0, which leaves it as it was. */
static void
packed4_heat_row (const Painter *p, const PaintFrame *fr, int y, int xa,
                  int xb)
{
  const uint32_t *lut = p->lut32;
  const uint8_t *restrict ix = p->idx, *restrict al = p->alpha;
  uint32_t *restrict col = p->col32;
  uint8_t *restrict a4 = p->alpha4;
  const uint8_t m0 = p->mask[0], m1 = p->mask[1], m2 = p->mask[2],
      m3 = p->mask[3];
  for (int x = xa; x < xb; x++) {
    col[x] = lut[ix[x]];
    a4[4 * x + 0] = al[x] & m0;
    a4[4 * x + 1] = al[x] & m1;
    a4[4 * x + 2] = al[x] & m2;
    a4[4 * x + 3] = al[x] & m3;
  }
  uint8_t *restrict row = fr->plane[0] + (size_t) y * fr->stride[0];
  const uint8_t *restrict src = (const uint8_t *) col;
  const int ka = 4 * xa, kb = 4 * xb;
#pragma omp simd
  for (int k = ka; k < kb; k++)
    row[k] = (uint8_t) (row[k] + (((src[k] - row[k]) * a4[k] + 128) >> 8));
}


/* packed4's rows with every byte blended (alpha as a colour of 255), so
 * one alpha per pixel */
static void
canvas_heat_row (const Painter *p, const PaintFrame *fr, int y, int xa,
                 int xb)
{
  const uint32_t *lut = p->lut32;
  const uint8_t *restrict ix = p->idx, *restrict al = p->alpha;
  uint32_t *restrict col = p->col32;
  for (int x = xa; x < xb; x++)
    col[x] = lut[ix[x]];
  uint8_t *restrict row = fr->plane[0] + (size_t) y * fr->stride[0];
  const uint8_t *restrict src = (const uint8_t *) col;
#pragma omp simd
  for (int x = xa; x < xb; x++) {
    int a = al[x];
    for (int c = 0; c < 4; c++)
      row[4 * x + c] = blend8 (row[4 * x + c], src[4 * x + c], a);
  }
}


/* the LUT lookup alone (a gather), then a blend the compiler vectorises */
static inline void
luma_heat_row (const Painter *p, const PaintFrame *fr, int y, int xa, int xb)
{
  const uint8_t (*lut)[3] = p->lut;
  uint8_t *restrict ix = p->idx;
  const uint8_t *restrict al = p->alpha;
  uint8_t *restrict row = fr->plane[0] + (size_t) y * fr->stride[0];
  for (int x = xa; x < xb; x++)
    ix[x] = lut[ix[x]][0];
#pragma omp simd
  for (int x = xa; x < xb; x++)
    row[x] = (uint8_t) (row[x] + (((ix[x] - row[x]) * al[x] + 128) >> 8));
}

static void
gray_heat_row (const Painter *p, const PaintFrame *fr, int y, int xa, int xb)
{
  luma_heat_row (p, fr, y, xa, xb);
}


/* One row's chroma, before the luma pass replaces the colour indices: one
 * sample per 2 pixels (cs bytes apart), at the pair's left covered pixel. */
static inline void
chroma_heat_row (const Painter *p, int xa, int xb, uint8_t *restrict u,
                 uint8_t *restrict v, int cs)
{
  const uint8_t (*lut)[3] = p->lut;
  const uint8_t *ix = p->idx, *al = p->alpha;
  for (int x = xa & ~1; x < xb; x += 2) {
    int xs = x < xa ? xa : x, a = al[xs], k = (x / 2) * cs;
    const uint8_t *c = lut[ix[xs]];
    u[k] = blend8 (u[k], c[1], a);
    v[k] = blend8 (v[k], c[2], a);
  }
}

/* 4:2:0: chroma on even rows, for the 2×2 block's top-left heat */
static inline void
yuv420_heat_row (const Painter *p, const PaintFrame *fr, int y, int xa, int xb,
                 uint8_t *restrict u, uint8_t *restrict v, int cs)
{
  if ((y & 1) == 0)
    chroma_heat_row (p, xa, xb, u, v, cs);
  luma_heat_row (p, fr, y, xa, xb);
}

static void
i420_heat_row (const Painter *p, const PaintFrame *fr, int y, int xa, int xb)
{
  yuv420_heat_row (p, fr, y, xa, xb,
      fr->plane[1] + (size_t) (y / 2) * fr->stride[1],
      fr->plane[2] + (size_t) (y / 2) * fr->stride[2], 1);
}

static void
nv12_heat_row (const Painter *p, const PaintFrame *fr, int y, int xa, int xb)
{
  uint8_t *uv = fr->plane[1] + (size_t) (y / 2) * fr->stride[1];
  yuv420_heat_row (p, fr, y, xa, xb, uv, uv + 1, 2);
}


/* chroma first, on every row (4 bytes per pair), then the luma */
static void
yuv422_heat_row (const Painter *p, const PaintFrame *fr, int y, int xa, int xb)
{
  const uint8_t (*lut)[3] = p->lut;
  const uint8_t *ix = p->idx, *al = p->alpha;
  uint8_t *row = fr->plane[0] + (size_t) y * fr->stride[0];
  int yo, uo, vo;
  offsets_422 (p, &yo, &uo, &vo);
  chroma_heat_row (p, xa, xb, row + uo, row + vo, 4);
  for (int x = xa; x < xb; x++) {
    uint8_t *py = row + 2 * x + yo;
    *py = blend8 (*py, lut[ix[x]][0], al[x]);
  }
}


typedef struct {
  const Painter *p;
  const PaintFrame *fr;
  const PaintMap *m;
  float lo, scale, opacity;
  int band_rows;
  void (*heat_row) (const Painter *, const PaintFrame *, int, int, int);
} HeatRun;

/* Rows [y0 + band·band_rows, …) of the heat map with the band's scratch. */
static void
heat_band (void *ctx, int band)
{
  const HeatRun *r = ctx;
  const PaintMap *m = r->m;
  const PaintHeatPlan *t = &r->p->plan;
  size_t w = (size_t) r->p->width, k = (size_t) band;
  Painter bp = *r->p;           /* the band's own row scratch */
  bp.band0 += k * w;
  bp.band1 += k * w;
  bp.idx += k * w;
  bp.alpha += k * w;
  bp.col32 += k * w;
  bp.alpha4 += k * 4 * w;
  const Painter *p = &bp;
  float lo = r->lo, scale = r->scale;
  float *h0 = bp.band0, *h1 = bp.band1;
  int band_r0 = -1;
  void (*heat_row) (const Painter *, const PaintFrame *, int, int, int) =
      r->heat_row;
  int ya = t->y0 + band * r->band_rows;
  int yb = ya + r->band_rows < t->y1 ? ya + r->band_rows : t->y1;
  for (int y = ya; y < yb; y++) {
    int r0 = p->r0[y], r1 = MIN (r0 + 1, m->rows - 1);
    if (r0 != band_r0) {
      /* the two map rows this band of pixel rows lies between, interpolated
       * along x once: the map changes every few dozen rows, not every row */
      const float *top = m->data + (size_t) r0 * m->cols;
      const float *bot = m->data + (size_t) r1 * m->cols;
      for (int x = t->x0; x < t->x1; x++) {
        int c0 = p->c0[x], c1 = MIN (c0 + 1, m->cols - 1);
        float wx = p->cw[x];
        h0[x] = ((top[c0] + (top[c1] - top[c0]) * wx) - lo) * scale;
        h1[x] = ((bot[c0] + (bot[c1] - bot[c0]) * wx) - lo) * scale;
      }
      band_r0 = r0;
    }
    float wy = p->rw[y], op = r->opacity * 256.0f;
    /* locals and restrict: the byte stores below may not alias these */
    const int xa = t->x0, xb = t->x1;
    const float *restrict p0 = h0, *restrict p1 = h1;
    uint8_t *restrict ix = bp.idx, *restrict al = bp.alpha;
#pragma omp simd
    for (int x = xa; x < xb; x++) {
      float v = p0[x] + (p1[x] - p0[x]) * wy;
      v = v > 0.0f ? v : 0.0f;
      v = v < 1.0f ? v : 1.0f;
      ix[x] = (uint8_t) (v * 255.0f + 0.5f);
      /* alpha grows with attention so unattended areas stay clear */
      float a = v * op;
      al[x] = (uint8_t) (a < 255.0f ? a : 255.0f);
    }
    heat_row (p, r->fr, y, xa, xb);
  }
}


void
PAINT_CAT (paint_heat_rows, PAINT_ISA) (PAINT_HEAT_ROWS_ARGS)
{
  const PaintHeatPlan *t = &p->plan;
  void (*heat_row) (const Painter *, const PaintFrame *, int, int, int);
  switch (p->fmt.layout) {
    case PAINT_PACKED:
      heat_row = p->fmt.pixel_stride == 4 ? packed4_heat_row : packed_heat_row;
      break;
    case PAINT_ARGB_CANVAS:
      heat_row = canvas_heat_row;
      break;
    case PAINT_I420:
      heat_row = i420_heat_row;
      break;
    case PAINT_NV12:
      heat_row = nv12_heat_row;
      break;
    case PAINT_YUY2:
    case PAINT_UYVY:
      heat_row = yuv422_heat_row;
      break;
    case PAINT_GRAY8:
    default:
      heat_row = gray_heat_row;
      break;
  }
  /* bands of rows, each with its own row scratch, over the calling
   * thread's budget; rows are independent (4:2:0 chroma belongs to the
   * even row above it), so the picture does not depend on the split */
  int rows = t->y1 - t->y0, threads = attn_parallel_threads ();
  int bands = threads < PAINT_BANDS ? threads : PAINT_BANDS;
  bands = bands < rows ? bands : rows;
  if (bands < 1)
    return;
  HeatRun r = { p, fr, m, lo, scale, opacity, (rows + bands - 1) / bands,
    heat_row
  };
  attn_parallel_for ((rows + r.band_rows - 1) / r.band_rows, heat_band, &r);
}
