/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_paint.c — the overlay's painter against a naive per-pixel reference,
 * for every format family: packed RGB with different component offsets and
 * pixel strides, the premultiplied ARGB canvas, I420, NV12, GRAY8; at odd
 * sizes, 1x1, strides larger than the row (the padding must stay untouched),
 * random frame contents, maps covering all, part of or more than the frame,
 * normalised or not, with box and label image; with every instruction set
 * the CPU has (cpu.h), whose heat maps must also equal the generic one
 * byte for byte.
 *
 * Tolerance: every byte within 1 of the reference. The reference computes
 * the same equations pixel by pixel; the painter interpolates a band of map
 * rows once and blends whole rows, so a heat value can land on the other
 * side of a rounding boundary (index or alpha one step apart). Box, labels
 * and untouched bytes come out exact; the padding is compared exactly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cpu.h"
#include "paint.h"
#include "parallel.h"

#define GUARD 0xA5
#define PAD 13                  /* extra bytes per row */

typedef struct {
  const char *name;
  PaintFormat f;
} Fmt;

static const Fmt formats[] = {
  { "RGB", { PAINT_PACKED, 3, 0, 1, 2, 0, 0.299, 0.114, false } },
  { "BGR", { PAINT_PACKED, 3, 2, 1, 0, 0, 0.299, 0.114, false } },
  { "RGBx", { PAINT_PACKED, 4, 0, 1, 2, 0, 0.299, 0.114, false } },
  { "xBGR", { PAINT_PACKED, 4, 3, 2, 1, 0, 0.299, 0.114, false } },
  { "ARGB", { PAINT_PACKED, 4, 1, 2, 3, 0, 0.299, 0.114, false } },
  { "canvas BGRA", { PAINT_ARGB_CANVAS, 4, 2, 1, 0, 3, 0.299, 0.114, false } },
  { "canvas ARGB", { PAINT_ARGB_CANVAS, 4, 1, 2, 3, 0, 0.299, 0.114, false } },
  { "I420 BT.601 limited", { PAINT_I420, 0, 0, 0, 0, 0, 0.299, 0.114, false } },
  { "I420 BT.709 full", { PAINT_I420, 0, 0, 0, 0, 0, 0.2126, 0.0722, true } },
  { "NV12 BT.601 limited", { PAINT_NV12, 0, 0, 0, 0, 0, 0.299, 0.114, false } },
  { "GRAY8 full", { PAINT_GRAY8, 0, 0, 0, 0, 0, 0.299, 0.114, true } },
  { "YUY2 BT.601 limited", { PAINT_YUY2, 0, 0, 0, 0, 0, 0.299, 0.114, false } },
  { "UYVY BT.709 full", { PAINT_UYVY, 0, 0, 0, 0, 0, 0.2126, 0.0722, true } },
};

static bool
is_422 (const PaintFormat *f)
{
  return f->layout == PAINT_YUY2 || f->layout == PAINT_UYVY;
}

/* ---- frames -------------------------------------------------------------- */

typedef struct {
  uint8_t *buf;
  size_t size;
  PaintFrame fr;
  int w, h;
  int row_bytes[3], rows[3];    /* the part of each plane that is picture */
  int n_planes;
} Frame;

static void
frame_new (Frame *fm, const PaintFormat *f, int w, int h, Rng *rng)
{
  memset (fm, 0, sizeof *fm);
  fm->w = w;
  fm->h = h;
  int cw = (w + 1) / 2, ch = (h + 1) / 2;
  switch (f->layout) {
    case PAINT_PACKED:
    case PAINT_ARGB_CANVAS:
      fm->n_planes = 1;
      fm->row_bytes[0] = w * f->pixel_stride;
      fm->rows[0] = h;
      break;
    case PAINT_GRAY8:
      fm->n_planes = 1;
      fm->row_bytes[0] = w;
      fm->rows[0] = h;
      break;
    case PAINT_I420:
      fm->n_planes = 3;
      fm->row_bytes[0] = w;
      fm->rows[0] = h;
      fm->row_bytes[1] = fm->row_bytes[2] = cw;
      fm->rows[1] = fm->rows[2] = ch;
      break;
    case PAINT_NV12:
      fm->n_planes = 2;
      fm->row_bytes[0] = w;
      fm->rows[0] = h;
      fm->row_bytes[1] = 2 * cw;
      fm->rows[1] = ch;
      break;
    case PAINT_YUY2:
    case PAINT_UYVY:             /* whole pairs: 4 bytes per 2 pixels */
      fm->n_planes = 1;
      fm->row_bytes[0] = 4 * cw;
      fm->rows[0] = h;
      break;
  }
  size_t off[3], total = 0;
  for (int p = 0; p < fm->n_planes; p++) {
    fm->fr.stride[p] = fm->row_bytes[p] + PAD;
    off[p] = total;
    total += (size_t) fm->fr.stride[p] * fm->rows[p];
  }
  fm->size = total;
  fm->buf = malloc (total);
  memset (fm->buf, GUARD, total);
  for (int p = 0; p < fm->n_planes; p++) {
    fm->fr.plane[p] = fm->buf + off[p];
    for (int y = 0; y < fm->rows[p]; y++)
      for (int x = 0; x < fm->row_bytes[p]; x++)
        fm->fr.plane[p][(size_t) y * fm->fr.stride[p] + x] =
            f->layout == PAINT_ARGB_CANVAS ? 0 : (uint8_t) rng_int (rng, 0, 255);
  }
}

static void
frame_copy (Frame *dst, const Frame *src)
{
  *dst = *src;
  dst->buf = malloc (src->size);
  memcpy (dst->buf, src->buf, src->size);
  for (int p = 0; p < src->n_planes; p++)
    dst->fr.plane[p] = dst->buf + (src->fr.plane[p] - src->buf);
}

/* ---- the naive reference ------------------------------------------------- */

static int
blend_ref (int dst, int c, int a)
{
  /* dst + (c − dst)·a/256, rounded half up */
  return dst + (int) floor (((c - dst) * a + 128) / 256.0);
}

/* heat value, colour index and alpha of pixel (x, y); false outside the
 * pixels the map covers */
static bool
heat_ref (const PaintMap *m, bool normalize, float opacity, int W, int H,
          int x, int y, int *idx, int *alpha)
{
  int x0 = (int) fmaxf (0, fminf (W, floorf (m->x * W)));
  int x1 = (int) fmaxf (x0, fminf (W, ceilf ((m->x + m->w) * W)));
  int y0 = (int) fmaxf (0, fminf (H, floorf (m->y * H)));
  int y1 = (int) fmaxf (y0, fminf (H, ceilf ((m->y + m->h) * H)));
  if (x < x0 || x >= x1 || y < y0 || y >= y1)
    return false;
  float lo = 0, hi = 1;
  if (normalize) {
    lo = hi = m->data[0];
    for (int i = 1; i < m->cols * m->rows; i++) {
      lo = fminf (lo, m->data[i]);
      hi = fmaxf (hi, m->data[i]);
    }
  }
  float scale = hi > lo ? 1.0f / (hi - lo) : 0.0f;
  /* cell coordinate of the pixel centre, clamped to the cell centres */
  float u = (((x + 0.5f) / W) - m->x) / m->w * m->cols - 0.5f;
  float v = (((y + 0.5f) / H) - m->y) / m->h * m->rows - 0.5f;
  u = fminf (fmaxf (u, 0), m->cols - 1.0f);
  v = fminf (fmaxf (v, 0), m->rows - 1.0f);
  int c0 = (int) u, r0 = (int) v;
  if (c0 > m->cols - 2)
    c0 = m->cols > 1 ? m->cols - 2 : 0;
  if (r0 > m->rows - 2)
    r0 = m->rows > 1 ? m->rows - 2 : 0;
  int c1 = c0 + 1 < m->cols ? c0 + 1 : c0, r1 = r0 + 1 < m->rows ? r0 + 1 : r0;
  float wx = m->cols > 1 ? u - c0 : 0, wy = m->rows > 1 ? v - r0 : 0;
  const float *d = m->data;
  float top = d[r0 * m->cols + c0] + (d[r0 * m->cols + c1]
      - d[r0 * m->cols + c0]) * wx;
  float bot = d[r1 * m->cols + c0] + (d[r1 * m->cols + c1]
      - d[r1 * m->cols + c0]) * wx;
  float h0 = (top - lo) * scale, h1 = (bot - lo) * scale;
  float val = h0 + (h1 - h0) * wy;
  val = fminf (fmaxf (val, 0), 1);
  *idx = (int) (val * 255.0f + 0.5f);
  *alpha = (int) fminf (val * opacity * 256.0f, 255.0f);
  return true;
}

static bool
box_ref (const PaintPicture *pic, int W, int H, int x, int y)
{
  if (!pic->box || pic->box_w <= 0 || pic->box_h <= 0)
    return false;
  int t = W < H ? W / 240 : H / 240;
  t = t < 1 ? 1 : t;
  int bx = pic->box_x, by = pic->box_y, bw = pic->box_w, bh = pic->box_h;
  if (x < bx || x >= bx + bw || y < by || y >= by + bh)
    return false;
  return x < bx + t || x >= bx + bw - t || y < by + t || y >= by + bh - t;
}

/* premultiplied ARGB of the label image at frame pixel (x, y), 0 outside
 * it; the image's corner is (labels_x, labels_y), rounded down to even on
 * 4:2:0 layouts */
static uint32_t
label_ref (const PaintFormat *f, const PaintPicture *pic, int x, int y)
{
  bool sub = f->layout == PAINT_I420 || f->layout == PAINT_NV12;
  int ox = pic->labels_x > 0 ? pic->labels_x : 0;
  int oy = pic->labels_y > 0 ? pic->labels_y : 0;
  if (sub || is_422 (f))
    ox &= ~1;
  if (sub)
    oy &= ~1;
  x -= ox;
  y -= oy;
  if (!pic->labels || x < 0 || y < 0 || x >= pic->labels_w
      || y >= pic->labels_h)
    return 0;
  return ((const uint32_t *) ((const uint8_t *) pic->labels
          + (size_t) y * pic->labels_stride))[x];
}

static int
mix_ref (int dst, int c, float a)
{
  return (int) (dst + (c - dst) * a + 0.5f);
}

static void
unpremul_ref (uint32_t px, uint8_t rgb[3])
{
  unsigned a = px >> 24;
  for (int c = 0; c < 3; c++) {
    unsigned v = ((px >> (16 - 8 * c)) & 0xff) * 255 / a;
    rgb[c] = (uint8_t) (v > 255 ? 255 : v);
  }
}

static void
colour_ref (const PaintFormat *f, const uint8_t rgb[3], uint8_t out[3])
{
  if (f->layout == PAINT_PACKED || f->layout == PAINT_ARGB_CANVAS)
    memcpy (out, rgb, 3);
  else
    paint_rgb_to_yuv (f->kr, f->kb, f->full_range, rgb, out);
}

/* one pixel (x, y) of a packed / canvas / luma plane */
static void
pixel_ref (const PaintFormat *f, uint8_t lut[256][3], const PaintPicture *pic,
           int W, int H, Frame *fm, int x, int y)
{
  bool rgb = f->layout == PAINT_PACKED || f->layout == PAINT_ARGB_CANVAS;
  bool canvas = f->layout == PAINT_ARGB_CANVAS;
  uint8_t *row = fm->fr.plane[0] + (size_t) y * fm->fr.stride[0];
  uint8_t *px[4] = { 0 };
  int n = rgb ? 3 : 1;
  if (rgb) {
    px[0] = row + x * f->pixel_stride + f->r;
    px[1] = row + x * f->pixel_stride + f->g;
    px[2] = row + x * f->pixel_stride + f->b;
    px[3] = row + x * f->pixel_stride + f->a;
  } else if (is_422 (f)) {
    px[0] = row + 2 * x + (f->layout == PAINT_YUY2 ? 0 : 1);
  } else {
    px[0] = row + x;
  }
  int idx, a;
  if (pic->heat && heat_ref (pic->heat, pic->normalize, pic->opacity, W, H, x,
          y, &idx, &a)) {
    for (int c = 0; c < n; c++)
      *px[c] = (uint8_t) blend_ref (*px[c], lut[idx][c], a);
    if (canvas)
      *px[3] = (uint8_t) blend_ref (*px[3], 255, a);
  }
  if (box_ref (pic, W, H, x, y)) {
    uint8_t white[3] = { 255, 255, 255 }, col[3];
    colour_ref (f, white, col);
    for (int c = 0; c < n; c++)
      *px[c] = col[c];
    if (canvas)
      *px[3] = 255;
  }
  uint32_t l = label_ref (f, pic, x, y);
  unsigned la = l >> 24;
  if (la) {
    if (canvas) {
      /* premultiplied over */
      unsigned src[4] = { (l >> 16) & 0xff, (l >> 8) & 0xff, l & 0xff, la };
      for (int c = 0; c < 4; c++) {
        unsigned v = src[c] + (*px[c] * (255 - la) + 127) / 255;
        *px[c] = (uint8_t) (v > 255 ? 255 : v);
      }
    } else {
      uint8_t c3[3], col[3];
      unpremul_ref (l, c3);
      colour_ref (f, c3, col);
      for (int c = 0; c < n; c++)
        *px[c] = (uint8_t) mix_ref (*px[c], col[c], la / 255.0f);
    }
  }
}

/* chroma sample (bx, by) of I420/NV12 (a 2×2 block), or of YUY2/UYVY (the
 * pair bx of row by) */
static void
chroma_ref (const PaintFormat *f, uint8_t lut[256][3], const PaintPicture *pic,
            int W, int H, Frame *fm, int bx, int by)
{
  uint8_t *u, *v;
  int rows = is_422 (f) ? 1 : 2;
  if (is_422 (f)) {
    uint8_t *m = fm->fr.plane[0] + (size_t) by * fm->fr.stride[0] + 4 * bx;
    u = m + (f->layout == PAINT_YUY2 ? 1 : 0);
    v = u + 2;
  } else if (f->layout == PAINT_I420) {
    u = fm->fr.plane[1] + (size_t) by * fm->fr.stride[1] + bx;
    v = fm->fr.plane[2] + (size_t) by * fm->fr.stride[2] + bx;
  } else {
    u = fm->fr.plane[1] + (size_t) by * fm->fr.stride[1] + 2 * bx;
    v = u + 1;
  }
  int x = 2 * bx, y = rows * by, idx, a;
  /* heat: the block's top-left covered pixel on its top row */
  if (pic->heat) {
    bool hit = heat_ref (pic->heat, pic->normalize, pic->opacity, W, H, x, y,
        &idx, &a);
    if (!hit && x + 1 < W)      /* the area starts at the odd x + 1 */
      hit = heat_ref (pic->heat, pic->normalize, pic->opacity, W, H, x + 1, y,
          &idx, &a);
    if (hit) {
      *u = (uint8_t) blend_ref (*u, lut[idx][1], a);
      *v = (uint8_t) blend_ref (*v, lut[idx][2], a);
    }
  }
  /* box: any white pixel in the block sets its chroma */
  bool white = false;
  for (int dy = 0; dy < rows; dy++)
    for (int dx = 0; dx < 2; dx++)
      if (x + dx < W && y + dy < H && box_ref (pic, W, H, x + dx, y + dy))
        white = true;
  if (white) {
    uint8_t w3[3] = { 255, 255, 255 }, col[3];
    colour_ref (f, w3, col);
    *u = col[1];
    *v = col[2];
  }
  /* labels: the top-left pixel's colour and alpha */
  uint32_t l = label_ref (f, pic, x, y);
  if (l >> 24) {
    uint8_t c3[3], col[3];
    unpremul_ref (l, c3);
    colour_ref (f, c3, col);
    *u = (uint8_t) mix_ref (*u, col[1], (l >> 24) / 255.0f);
    *v = (uint8_t) mix_ref (*v, col[2], (l >> 24) / 255.0f);
  }
}

static void
paint_ref (const PaintFormat *f, AttnColormap cm, const PaintPicture *pic,
           Frame *fm)
{
  uint8_t rgb[256][3], lut[256][3];
  attn_colormap_lut (cm, rgb);
  for (int i = 0; i < 256; i++)
    colour_ref (f, rgb[i], lut[i]);
  for (int y = 0; y < fm->h; y++)
    for (int x = 0; x < fm->w; x++)
      pixel_ref (f, lut, pic, fm->w, fm->h, fm, x, y);
  if (f->layout == PAINT_I420 || f->layout == PAINT_NV12 || is_422 (f))
    for (int by = 0; by < (is_422 (f) ? fm->h : (fm->h + 1) / 2); by++)
      for (int bx = 0; bx < (fm->w + 1) / 2; bx++)
        chroma_ref (f, lut, pic, fm->w, fm->h, fm, bx, by);
}

/* ---- cases --------------------------------------------------------------- */

static bool
compare (const char *what, const Frame *got, const Frame *ref, int tol)
{
  int worst = 0;
  size_t where = 0;
  for (size_t i = 0; i < got->size; i++) {
    int d = abs (got->buf[i] - ref->buf[i]);
    if (d > worst) {
      worst = d;
      where = i;
    }
  }
  /* padding bytes must be untouched exactly */
  for (int p = 0; p < got->n_planes; p++)
    for (int y = 0; y < got->rows[p]; y++)
      for (int x = got->row_bytes[p]; x < got->fr.stride[p]; x++)
        if (got->fr.plane[p][(size_t) y * got->fr.stride[p] + x] != GUARD) {
          printf ("# %s: padding of plane %d row %d written\n", what, p, y);
          return false;
        }
  if (worst > tol) {
    printf ("# %s: byte %zu is %d, reference %d\n", what, where,
            got->buf[where], ref->buf[where]);
    return false;
  }
  return true;
}

/* a premultiplied ARGB label image, some pixels transparent */
static uint32_t *
label_image (int w, int h, Rng *rng)
{
  uint32_t *img = malloc ((size_t) w * h * 4);
  for (int i = 0; i < w * h; i++) {
    unsigned a = rng_int (rng, 0, 3) == 0 ? 0 : (unsigned) rng_int (rng, 1, 255);
    unsigned r = (unsigned) rng_int (rng, 0, (int) a);
    unsigned g = (unsigned) rng_int (rng, 0, (int) a);
    unsigned b = (unsigned) rng_int (rng, 0, (int) a);
    img[i] = a << 24 | r << 16 | g << 8 | b;
  }
  return img;
}

static bool
picture_case (const Fmt *fmt, int w, int h, int variant)
{
  Rng rng = rng_new ((uint64_t) (w * 131 + h * 7 + variant));
  float data[5 * 4];
  for (int i = 0; i < 20; i++)
    data[i] = rng_uniform (&rng, 0.1f, 0.9f);
  /* variant 0: the map covers the frame; 1: part of it, reaching past the
   * top; 2: a 1×1 map, not normalised; 3: box and labels only; 4: labels
   * at an odd offset, reaching past the right and bottom edges; 5: below */
  PaintMap maps[] = {
    { data, 5, 4, 0, 0, 1, 1 },
    { data, 5, 4, 0.1f, -0.2f, 0.7f, 1.5f },
    { data, 1, 1, 0.25f, 0.25f, 0.5f, 0.5f },
  };
  /* variant 5: a map of one cell per pixel, 0 and 1 alternating, from
   * column 3 to the right edge: in 4:2:0 the pair straddling its odd left
   * edge takes column 3's heat, and the pairs after it run in vectors
   * where the ISA has them */
  float steep[256];
  for (int i = 0; i < 256; i++)
    steep[i] = (float) (i & 1);
  int steep_cols = w > 3 && w - 3 <= 256 ? w - 3 : 1;
  PaintMap edge = { steep, steep_cols, 1, 3.0f / (float) w, 0,
    (float) (w - 3) / (float) w, 1 };
  PaintPicture pic = { 0 };
  if (variant < 3) {
    pic.heat = &maps[variant];
    pic.opacity = variant == 1 ? 1.0f : 0.8f;
    pic.normalize = variant != 2;
  } else if (variant == 5) {
    pic.heat = &edge;
    pic.opacity = 1.0f;
  }
  if (variant != 2) {
    pic.box = true;
    pic.box_x = w / 5;
    pic.box_y = h / 4;
    pic.box_w = w - w / 5 - w / 7;
    pic.box_h = h - h / 4;
  }
  int lw = 9, lh = 6;
  uint32_t *labels = label_image (lw, lh, &rng);
  if (variant != 1) {
    pic.labels = labels;
    pic.labels_stride = lw * 4;
    pic.labels_w = lw;
    pic.labels_h = lh;
  }
  if (variant == 4) {
    pic.heat = NULL;
    pic.labels_x = w - lw / 2 - 1 + (w & 1 ? 0 : 1);
    pic.labels_y = h - lh / 2;
    pic.labels_x = pic.labels_x < 0 ? 0 : pic.labels_x | 1;
  }
  Frame got, ref;
  frame_new (&got, &fmt->f, w, h, &rng);
  frame_copy (&ref, &got);
  Painter p = { 0 };
  bool ok = paint_init (&p, &fmt->f, w, h, ATTN_COLORMAP_TURBO);
  if (ok) {
    /* twice over the same frame with the plan reused: same result */
    paint_picture (&p, &got.fr, &pic);
    paint_ref (&fmt->f, ATTN_COLORMAP_TURBO, &pic, &ref);
    char what[160];
    snprintf (what, sizeof what, "%s %dx%d variant %d", fmt->name, w, h,
              variant);
    ok = compare (what, &got, &ref, 1);
  }
  paint_clear (&p);
  free (got.buf);
  free (ref.buf);
  free (labels);
  return ok;
}

/* The heat map painted by instruction set `isa` equals, byte for byte,
 * the generic build's on a wide frame (every vector width's main loop and
 * tail) with a map that covers part of it; `raw`: not normalised, values
 * beyond 0..1 on both sides, a NaN and infinities (the clamp's edges). */
static bool
isa_identical_case (const Fmt *fmt, AttnIsa isa, bool raw)
{
  const int w = 1001, h = 23;
  Rng rng = rng_new (77);
  float data[7 * 5];
  for (int i = 0; i < 35; i++)
    data[i] = raw ? rng_uniform (&rng, -0.3f, 1.3f)
        : rng_uniform (&rng, 0.0f, 1.0f);
  if (raw) {
    data[3] = NAN;
    data[16] = INFINITY;
    data[30] = -INFINITY;
  }
  PaintMap map = { data, 7, 5, 0.03f, -0.1f, 0.9f, 1.05f };
  PaintPicture pic = { 0 };
  pic.heat = &map;
  pic.opacity = 0.7f;
  pic.normalize = !raw;
  Frame a, b;
  frame_new (&a, &fmt->f, w, h, &rng);
  frame_copy (&b, &a);
  Painter p = { 0 };
  bool ok = paint_init (&p, &fmt->f, w, h, ATTN_COLORMAP_TURBO);
  if (ok) {
    attn_cpu_set_isa (ATTN_ISA_GENERIC);
    paint_picture (&p, &a.fr, &pic);
    attn_cpu_set_isa (isa);
    paint_picture (&p, &b.fr, &pic);
    ok = memcmp (a.buf, b.buf, a.size) == 0;
    if (!ok)
      printf ("# %s: %s differs from generic\n", fmt->name,
              attn_isa_name (isa));
  }
  paint_clear (&p);
  free (a.buf);
  free (b.buf);
  return ok;
}

/* paint_rgb_to_yuv against published values */
static bool
yuv_case (void)
{
  static const struct {
    double kr, kb;
    bool full;
    uint8_t rgb[3], yuv[3];
  } c[] = {
    { 0.299, 0.114, false, { 255, 255, 255 }, { 235, 128, 128 } },
    { 0.299, 0.114, false, { 0, 0, 0 }, { 16, 128, 128 } },
    { 0.299, 0.114, false, { 255, 0, 0 }, { 81, 90, 240 } },
    { 0.299, 0.114, true, { 255, 0, 0 }, { 76, 85, 255 } },
    { 0.2126, 0.0722, false, { 0, 0, 255 }, { 32, 240, 118 } },
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    uint8_t yuv[3];
    paint_rgb_to_yuv (c[i].kr, c[i].kb, c[i].full, c[i].rgb, yuv);
    if (memcmp (yuv, c[i].yuv, 3) != 0) {
      printf ("# case %zu: %u %u %u\n", i, yuv[0], yuv[1], yuv[2]);
      return false;
    }
  }
  return true;
}

/* the canvas composited with "over" onto an RGB frame gives the picture
 * painted in place, within 2 (two roundings instead of one) */
static bool
canvas_over_case (void)
{
  const int w = 37, h = 23;
  Rng rng = rng_new (5);
  float data[6 * 5];
  for (int i = 0; i < 30; i++)
    data[i] = rng_uniform (&rng, 0, 1);
  PaintMap m = { data, 6, 5, 0, 0, 1, 1 };
  uint32_t *labels = label_image (11, 7, &rng);
  PaintPicture pic = { &m, 0.9f, true, true, 3, 4, 20, 15, labels, 44, 11, 7, 0, 0,
    false, { 0 } };
  const PaintFormat rgb = { PAINT_PACKED, 3, 0, 1, 2, 0, 0.299, 0.114, false };
  const PaintFormat cv = { PAINT_ARGB_CANVAS, 4, 2, 1, 0, 3, 0.299, 0.114,
    false };
  Frame direct, canvas, over;
  frame_new (&direct, &rgb, w, h, &rng);
  frame_copy (&over, &direct);
  frame_new (&canvas, &cv, w, h, &rng);
  Painter p = { 0 }, pc = { 0 };
  paint_init (&p, &rgb, w, h, ATTN_COLORMAP_JET);
  paint_init (&pc, &cv, w, h, ATTN_COLORMAP_JET);
  paint_picture (&p, &direct.fr, &pic);
  paint_picture (&pc, &canvas.fr, &pic);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      uint8_t *s = canvas.fr.plane[0] + (size_t) y * canvas.fr.stride[0] + x * 4;
      uint8_t *d = over.fr.plane[0] + (size_t) y * over.fr.stride[0] + x * 3;
      for (int c = 0; c < 3; c++)
        d[c] = (uint8_t) (s[2 - c] + (d[c] * (255 - s[3]) + 127) / 255);
    }
  bool ok = compare ("canvas over RGB", &over, &direct, 2);
  paint_clear (&p);
  paint_clear (&pc);
  free (direct.buf);
  free (canvas.buf);
  free (over.buf);
  free (labels);
  return ok;
}

/* ---- lines (the transformer's quadrilateral) ----------------------------- */

/* On RGB, for the line from (x0, y0) to (x1, y1) whose part on the frame is
 * (cx0, cy0)–(cx1, cy1): for each pixel column (row, if steep) the segment
 * crosses, the pixel holding its point at the column's centre is painted
 * in the colour, and so is the t×t square around it (from t/2 before);
 * no other pixel changes; the row padding stays. NaN ends paint nothing;
 * huge ends return. */
static bool
line_case (float x0, float y0, float x1, float y1, int t, double cx0,
           double cy0, double cx1, double cy1, bool paints)
{
  const Fmt *f = &formats[0];
  const int w = 64, h = 48;
  Rng rng = rng_new (5);
  Frame fm, ref;
  frame_new (&fm, &f->f, w, h, &rng);
  frame_copy (&ref, &fm);
  Painter p = { 0 };
  paint_init (&p, &f->f, w, h, ATTN_COLORMAP_TURBO);
  static const uint8_t col[3] = { 255, 220, 0 };
  paint_line (&p, &fm.fr, x0, y0, x1, y1, t, col);
  /* the pixels the contract names */
  bool *want = calloc ((size_t) w * h, sizeof (bool));
  if (paints) {
    bool steep = fabs (cy1 - cy0) > fabs (cx1 - cx0);
    double a0 = steep ? cy0 : cx0, a1 = steep ? cy1 : cx1;
    double b0 = steep ? cx0 : cy0, b1 = steep ? cx1 : cy1;
    double amin = fmin (a0, a1), amax = fmax (a0, a1);
    for (int i = (int) floor (amin); i <= (int) floor (amax); i++) {
      double c = fmin (fmax (i + 0.5, amin), amax);
      double b = amax > amin ? b0 + (c - a0) / (a1 - a0) * (b1 - b0) : b0;
      int j = (int) floor (b);
      for (int u = -(t / 2); u < t - t / 2; u++)
        for (int v = -(t / 2); v < t - t / 2; v++) {
          int x = steep ? j + u : i + v, y = steep ? i + v : j + u;
          if (x >= 0 && x < w && y >= 0 && y < h)
            want[y * w + x] = true;
        }
    }
  }
  bool ok = true;
  int n_want = 0;
  for (int y = 0; y < h && ok; y++)
    for (int x = 0; x < w && ok; x++) {
      const uint8_t *a = fm.fr.plane[0] + (size_t) y * fm.fr.stride[0] + 3 * x;
      const uint8_t *b = ref.fr.plane[0] + (size_t) y * ref.fr.stride[0]
          + 3 * x;
      n_want += want[y * w + x];
      if (want[y * w + x] ? memcmp (a, col, 3) != 0 : memcmp (a, b, 3) != 0) {
        printf ("# pixel %d,%d %s\n", x, y, want[y * w + x]
                ? "not painted" : "changed");
        ok = false;
      }
    }
  if (ok && paints && n_want == 0) {
    printf ("# the contract names no pixel\n");
    ok = false;
  }
  for (int y = 0; y < h && ok; y++)
    for (int x = 3 * w; x < fm.fr.stride[0]; x++)
      if (fm.fr.plane[0][(size_t) y * fm.fr.stride[0] + x] != GUARD) {
        printf ("# padding of row %d written\n", y);
        ok = false;
        break;
      }
  free (want);
  paint_clear (&p);
  free (fm.buf);
  free (ref.buf);
  return ok;
}

int
main (void)
{
  static const int sizes[][2] = {
    { 1, 1 }, { 2, 1 }, { 1, 5 }, { 3, 7 }, { 33, 17 }, { 64, 48 }, { 241, 3 },
  };
  char name[160];
  test_case ("rgb → Y'CbCr, published values", yuv_case ());
  /* the heat map in bands of rows over 1 and 2 threads, with every
   * instruction set this CPU has (cpu.h): the same picture */
  printf ("# instruction sets: up to %s\n", attn_isa_name (attn_cpu_best ()));
  for (int isa = ATTN_ISA_GENERIC; isa <= (int) attn_cpu_best (); isa++)
    for (int threads = 1; threads <= 2; threads++) {
      attn_cpu_set_isa ((AttnIsa) isa);
      attn_parallel_set_threads (threads);
      for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
          bool ok = true;
          for (int v = 0; v < 6; v++)
            ok = picture_case (&formats[f], sizes[s][0], sizes[s][1], v) && ok;
          snprintf (name, sizeof name, "%s %dx%d: heat map, box, labels (%d "
                    "thread%s, %s)", formats[f].name, sizes[s][0], sizes[s][1],
                    threads, threads > 1 ? "s" : "",
                    attn_isa_name ((AttnIsa) isa));
          test_case (name, ok);
        }
    }
  for (int isa = ATTN_ISA_AVX2; isa <= (int) attn_cpu_best (); isa++)
    for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++)
      for (int raw = 0; raw < 2; raw++) {
        snprintf (name, sizeof name, "%s 1001x23: %s heat map = generic, "
                  "byte for byte%s", formats[f].name,
                  attn_isa_name ((AttnIsa) isa),
                  raw ? " (raw values, NaN, ±inf)" : "");
        test_case (name, isa_identical_case (&formats[f], (AttnIsa) isa,
                raw));
      }
  attn_cpu_set_isa (attn_cpu_best ());
  attn_parallel_set_threads (0);
  test_case ("canvas over RGB = painted in place (within 2)",
             canvas_over_case ());
  /* drawn ends, the ends on the frame (clipped to t outside it), paints */
  test_case ("line, shallow, 1 px", line_case (5.3f, 7.8f, 58.1f, 20.2f, 1,
                 5.3, 7.8, 58.1, 20.2, true));
  test_case ("line, 45°, 2 px", line_case (3.0f, 40.0f, 43.0f, 0.2f, 2,
                 3.0, 40.0, 43.0, 0.2, true));
  test_case ("line, steep, 3 px", line_case (40.5f, 2.0f, 30.2f, 45.9f, 3,
                 40.5, 2.0, 30.2, 45.9, true));
  test_case ("line off the frame's left edge, clipped",
             line_case (-20, 10, 80, 30, 2, -2, 13.6, 66, 27.2, true));
  test_case ("line wholly off the frame", line_case (-30, -5, -2, -40, 2,
                 0, 0, 0, 0, false));
  test_case ("line with NaN", line_case (NAN, 3, 10, 10, 2, 0, 0, 0, 0,
                 false));
  test_case ("line with huge ends returns", line_case (-1e30f, 5, 1e30f, 5,
                 1, -1, 5, 65, 5, true));
  test_case ("line of one point", line_case (10.5f, 10.5f, 10.5f, 10.5f, 1,
                 10.5, 10.5, 10.5, 10.5, true));
  return test_done ();
}
