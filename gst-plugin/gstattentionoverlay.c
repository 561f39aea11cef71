/**
 * SECTION:element-attentionoverlay
 * @title: attentionoverlay
 *
 * Draws what a #GstAttentionMeta holds over the video it rides on: the heat
 * map of a spatial attention map (smoothly upsampled, colour-mapped, blended
 * with an opacity proportional to the attention so unattended areas stay
 * clear), the top classes with their probabilities (Pango), and the box of
 * the attended region. Works in place on RGB, BGR, RGBx, BGRx, xRGB, xBGR,
 * RGBA, BGRA, ARGB, ABGR, I420, NV12 and GRAY8. When downstream composites
 * overlays itself (it lists #GstVideoOverlayCompositionMeta in its
 * allocation answer: many video sinks and hardware compositors do), or with
 * `composition=true`, it leaves the pixels alone and attaches a
 * #GstVideoOverlayCompositionMeta instead.
 * Buffers without an attention meta pass untouched.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc pattern=ball ! attentioninfer ! attentionoverlay colormap=inferno opacity=0.6 ! autovideosink
 * ]|
 */
#include "gstattentionoverlay.h"

#include <gst/attention/attention-meta.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <string.h>

#include "colormap.h"

GST_DEBUG_CATEGORY_STATIC (gst_attention_overlay_debug);
#define GST_CAT_DEFAULT gst_attention_overlay_debug

#define VIDEO_CAPS GST_VIDEO_CAPS_MAKE ("{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, " \
    "RGBA, BGRA, ARGB, ABGR, I420, NV12, GRAY8 }")

enum {
  PROP_0,
  PROP_MAP,
  PROP_COLORMAP,
  PROP_OPACITY,
  PROP_NORMALIZE,
  PROP_SHOW_HEATMAP,
  PROP_LABELS,
  PROP_SHOW_REGION,
  PROP_COMPOSITION,
};

#define DEFAULT_COLORMAP ATTN_COLORMAP_TURBO
#define DEFAULT_OPACITY 0.6f
#define DEFAULT_LABELS 3
#define MAX_LABELS 10

/* Where in the frame the current map's cells fall: per column and row, the
 * two cells to interpolate and the weight of the second. Rebuilt when the
 * map's size or area changes (a model or roi change), not per frame. */
typedef struct {
  guint mw, mh;
  gfloat x, y, w, h;
  gint x0, x1, y0, y1;          /* the pixels the map covers, clipped */
  gint *c0;
  gfloat *cw;
  gint *r0;
  gfloat *rw;
} HeatTables;

struct _GstAttentionOverlay {
  GstVideoFilter parent;

  GMutex lock;                  /* properties */
  gchar *map_name;
  AttnColormap colormap;
  gfloat opacity;
  gboolean normalize;
  gboolean show_heatmap;
  guint labels;
  gboolean show_region;
  gboolean composition;

  /* caps-time state, streaming thread only */
  AttnColormap lut_map;
  guint8 lut[256][3];           /* RGB */
  guint8 lut_yuv[256][3];       /* the same colours as Y'CbCr for the caps */
  gboolean yuv;
  gboolean downstream_composites; /* downstream takes composition metas */
  gdouble kr, kb;
  gboolean full_range;
  HeatTables ht;
  gfloat *band0, *band1;        /* (width) map rows interpolated along x */
  guint8 *idx_row, *alpha_row;  /* (width) colour index and alpha */
  gchar *text_shown;            /* what the label surface holds */
  cairo_surface_t *text;        /* ARGB32 label box */
  cairo_t *cr;
  PangoLayout *layout;
  gint text_w, text_h, font_px;
  gint text_used, text_used_w;  /* the painted part of the surface */
};

#define gst_attention_overlay_parent_class parent_class
G_DEFINE_TYPE (GstAttentionOverlay, gst_attention_overlay,
    GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (attentionoverlay, "attentionoverlay",
    GST_RANK_NONE, GST_TYPE_ATTENTION_OVERLAY);

static GType
gst_attention_colormap_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {ATTN_COLORMAP_TURBO, "Turbo (blue → green → red)", "turbo"},
    {ATTN_COLORMAP_JET, "Jet (blue → cyan → yellow → red)", "jet"},
    {ATTN_COLORMAP_INFERNO, "Inferno (black → purple → yellow)", "inferno"},
    {ATTN_COLORMAP_GRAY, "Gray (black → white)", "gray"},
    {0, NULL, NULL}
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstAttentionColormap", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

/* ---- colour ------------------------------------------------------------ */

static void
rgb_to_yuv (const GstAttentionOverlay *self, const guint8 rgb[3],
    guint8 yuv[3])
{
  double r = rgb[0], g = rgb[1], b = rgb[2];
  double kr = self->kr, kb = self->kb, kg = 1 - kr - kb;
  double y = kr * r + kg * g + kb * b;
  double u = (b - y) / (2 * (1 - kb)), v = (r - y) / (2 * (1 - kr));
  if (!self->full_range) {
    y = 16 + y * 219 / 255;
    u = u * 224 / 255;
    v = v * 224 / 255;
  }
  yuv[0] = (guint8) CLAMP (lround (y), 0, 255);
  yuv[1] = (guint8) CLAMP (lround (u + 128), 0, 255);
  yuv[2] = (guint8) CLAMP (lround (v + 128), 0, 255);
}

static void
build_lut (GstAttentionOverlay *self, AttnColormap cm)
{
  attn_colormap_lut (cm, self->lut);
  for (int i = 0; i < 256; i++)
    rgb_to_yuv (self, self->lut[i], self->lut_yuv[i]);
  self->lut_map = cm;
}

static inline guint8
mix (guint8 dst, guint8 src, gfloat a)
{
  return (guint8) (dst + (src - dst) * a + 0.5f);
}

/* Blends colour rgb with alpha a into pixel (x, y) of the frame; for planar
 * YUV only luma — chroma is blended per 2×2 block by blend_chroma. */
static inline void
blend_luma_or_rgb (GstVideoFrame *f, gint x, gint y, const guint8 rgb[3],
    const guint8 yuv[3], gfloat a)
{
  const GstVideoFormatInfo *fi = f->info.finfo;
  guint8 *row = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (f, 0)
      + (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (f, 0);
  if (GST_VIDEO_FORMAT_INFO_IS_RGB (fi)) {
    guint8 *p = row + x * GST_VIDEO_FORMAT_INFO_PSTRIDE (fi, 0);
    for (int c = 0; c < 3; c++) {
      guint off = GST_VIDEO_FORMAT_INFO_POFFSET (fi, c);
      p[off] = mix (p[off], rgb[c], a);
    }
  } else {
    row[x] = mix (row[x], yuv[0], a);
  }
}

static inline void
blend_chroma (GstVideoFrame *f, gint cx, gint cy, const guint8 yuv[3],
    gfloat a)
{
  GstVideoFormat fmt = GST_VIDEO_FRAME_FORMAT (f);
  if (fmt == GST_VIDEO_FORMAT_I420) {
    guint8 *u = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (f, 1)
        + (gsize) cy * GST_VIDEO_FRAME_PLANE_STRIDE (f, 1) + cx;
    guint8 *v = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (f, 2)
        + (gsize) cy * GST_VIDEO_FRAME_PLANE_STRIDE (f, 2) + cx;
    *u = mix (*u, yuv[1], a);
    *v = mix (*v, yuv[2], a);
  } else if (fmt == GST_VIDEO_FORMAT_NV12) {
    guint8 *uv = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (f, 1)
        + (gsize) cy * GST_VIDEO_FRAME_PLANE_STRIDE (f, 1) + 2 * cx;
    uv[0] = mix (uv[0], yuv[1], a);
    uv[1] = mix (uv[1], yuv[2], a);
  }
}

static gboolean
has_chroma_plane (GstVideoFrame *f)
{
  GstVideoFormat fmt = GST_VIDEO_FRAME_FORMAT (f);
  return fmt == GST_VIDEO_FORMAT_I420 || fmt == GST_VIDEO_FORMAT_NV12;
}

/* ---- heat map ------------------------------------------------------------ */

static void
heat_tables_clear (HeatTables *t)
{
  g_free (t->c0);
  g_free (t->cw);
  g_free (t->r0);
  g_free (t->rw);
  memset (t, 0, sizeof *t);
}

/* Per-axis tables for a map of n cells covering [a0, a0 + len) of a frame
 * axis of `size` pixels: pixel p samples cell coordinate
 * ((p + ½)/size − a0)/len·n − ½, clamped (cell centres at i + ½). */
static void
axis_tables (gint *i0, gfloat *wt, gint from, gint to, gint size, gfloat a0,
    gfloat len, guint n)
{
  for (gint p = from; p < to; p++) {
    gfloat u = (((p + 0.5f) / size) - a0) / len * n - 0.5f;
    u = CLAMP (u, 0.0f, n - 1.0f);
    gint c = (gint) u;
    c = MIN (c, (gint) n - 2 < 0 ? 0 : (gint) n - 2);
    i0[p] = c;
    wt[p] = n > 1 ? u - c : 0.0f;
  }
}

static void
heat_tables_update (GstAttentionOverlay *self, const GstAttentionMap *m,
    gint width, gint height)
{
  HeatTables *t = &self->ht;
  if (t->c0 && t->mw == m->width && t->mh == m->height && t->x == m->x
      && t->y == m->y && t->w == m->w && t->h == m->h)
    return;
  t->mw = m->width;
  t->mh = m->height;
  t->x = m->x;
  t->y = m->y;
  t->w = m->w;
  t->h = m->h;
  t->x0 = CLAMP ((gint) floorf (m->x * width), 0, width);
  t->x1 = CLAMP ((gint) ceilf ((m->x + m->w) * width), t->x0, width);
  t->y0 = CLAMP ((gint) floorf (m->y * height), 0, height);
  t->y1 = CLAMP ((gint) ceilf ((m->y + m->h) * height), t->y0, height);
  if (!t->c0) {                 /* sized to the frame at the first use */
    t->c0 = g_new (gint, width);
    t->cw = g_new (gfloat, width);
    t->r0 = g_new (gint, height);
    t->rw = g_new (gfloat, height);
  }
  if (m->w > 0 && m->h > 0) {
    axis_tables (t->c0, t->cw, t->x0, t->x1, width, m->x, m->w, m->width);
    axis_tables (t->r0, t->rw, t->y0, t->y1, height, m->y, m->h, m->height);
  }
}

static void
draw_heat (GstAttentionOverlay *self, GstVideoFrame *f,
    const GstAttentionMap *m, gfloat opacity, gboolean normalize)
{
  gint width = GST_VIDEO_FRAME_WIDTH (f), height = GST_VIDEO_FRAME_HEIGHT (f);
  heat_tables_update (self, m, width, height);
  const HeatTables *t = &self->ht;
  if (m->w <= 0 || m->h <= 0 || m->width == 0 || m->height == 0)
    return;
  /* normalised: the map's own range spans the colour map */
  gfloat lo = 0, hi = 1;
  if (normalize) {
    lo = hi = m->data[0];
    for (guint i = 1; i < m->width * m->height; i++) {
      lo = MIN (lo, m->data[i]);
      hi = MAX (hi, m->data[i]);
    }
  }
  gfloat scale = hi > lo ? 1.0f / (hi - lo) : 0.0f;
  gboolean chroma = has_chroma_plane (f);
  const GstVideoFormatInfo *fi = f->info.finfo;
  gboolean rgb = GST_VIDEO_FORMAT_INFO_IS_RGB (fi);
  gint ps = GST_VIDEO_FORMAT_INFO_PSTRIDE (fi, 0);
  gint o0 = GST_VIDEO_FORMAT_INFO_POFFSET (fi, 0);
  gint o1 = GST_VIDEO_FORMAT_INFO_POFFSET (fi, 1);
  gint o2 = GST_VIDEO_FORMAT_INFO_POFFSET (fi, 2);
  gfloat *h0 = self->band0, *h1 = self->band1;
  guint8 *idx8 = self->idx_row, *a8 = self->alpha_row;
  gint band = -1;
  for (gint y = t->y0; y < t->y1; y++) {
    gint r0 = t->r0[y], r1 = MIN (r0 + 1, (gint) m->height - 1);
    if (r0 != band) {
      /* the two map rows this band of pixel rows lies between, interpolated
       * along x once: the map changes every few dozen rows, not every row */
      const gfloat *top = m->data + (gsize) r0 * m->width;
      const gfloat *bot = m->data + (gsize) r1 * m->width;
      for (gint x = t->x0; x < t->x1; x++) {
        gint c0 = t->c0[x], c1 = MIN (c0 + 1, (gint) m->width - 1);
        gfloat wx = t->cw[x];
        h0[x] = ((top[c0] + (top[c1] - top[c0]) * wx) - lo) * scale;
        h1[x] = ((bot[c0] + (bot[c1] - bot[c0]) * wx) - lo) * scale;
      }
      band = r0;
    }
    gfloat wy = t->rw[y], op = opacity * 256.0f;
    /* locals and restrict: the byte stores below may not alias these */
    const gint xa = t->x0, xb = t->x1;
    const gfloat *restrict p0 = h0, *restrict p1 = h1;
    guint8 *restrict ix = idx8, *restrict al = a8;
#pragma omp simd
    for (gint x = xa; x < xb; x++) {
      gfloat v = p0[x] + (p1[x] - p0[x]) * wy;
      v = v > 0.0f ? v : 0.0f;
      v = v < 1.0f ? v : 1.0f;
      ix[x] = (guint8) (v * 255.0f + 0.5f);
      /* alpha grows with attention so unattended areas stay clear */
      gfloat a = v * op;
      al[x] = (guint8) (a < 255.0f ? a : 255.0f);
    }
    guint8 *restrict row = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (f, 0)
        + (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (f, 0);
    if (rgb) {
      const guint8 (*lut)[3] = (const guint8 (*)[3]) self->lut;
      for (gint x = xa; x < xb; x++) {
        const guint8 *c = lut[ix[x]];
        gint a = al[x];
        guint8 *px = row + x * ps;
        px[o0] = (guint8) (px[o0] + (((c[0] - px[o0]) * a + 128) >> 8));
        px[o1] = (guint8) (px[o1] + (((c[1] - px[o1]) * a + 128) >> 8));
        px[o2] = (guint8) (px[o2] + (((c[2] - px[o2]) * a + 128) >> 8));
      }
    } else {
      /* chroma first: it reads the colour indices the luma pass replaces */
      if (chroma && (y & 1) == 0) {
        /* one chroma sample per 2×2 block, at the block's top-left heat */
        gboolean nv12 = GST_VIDEO_FRAME_FORMAT (f) == GST_VIDEO_FORMAT_NV12;
        guint8 *restrict u = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (f, 1)
            + (gsize) (y / 2) * GST_VIDEO_FRAME_PLANE_STRIDE (f, 1);
        guint8 *restrict v = nv12 ? u + 1 : (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (f, 2)
            + (gsize) (y / 2) * GST_VIDEO_FRAME_PLANE_STRIDE (f, 2);
        gint cs = nv12 ? 2 : 1;
        const guint8 (*lut)[3] = (const guint8 (*)[3]) self->lut_yuv;
        for (gint x = xa & ~1; x < xb; x += 2) {
          gint xs = x < xa ? xa : x, a = al[xs], k = (x / 2) * cs;
          const guint8 *c = lut[ix[xs]];
          u[k] = (guint8) (u[k] + (((c[1] - u[k]) * a + 128) >> 8));
          v[k] = (guint8) (v[k] + (((c[2] - v[k]) * a + 128) >> 8));
        }
      }
      /* the LUT lookup alone (a gather), then a blend the compiler
       * vectorises */
      const guint8 (*lut)[3] = (const guint8 (*)[3]) self->lut_yuv;
      for (gint x = xa; x < xb; x++)
        ix[x] = lut[ix[x]][0];
#pragma omp simd
      for (gint x = xa; x < xb; x++)
        row[x] = (guint8) (row[x] + (((ix[x] - row[x]) * al[x] + 128) >> 8));
    }
  }
}

/* ---- region box ---------------------------------------------------------- */

/* Paints [x0, x1) × [y0, y1) in an opaque colour. */
static void
fill_rect (GstAttentionOverlay *self, GstVideoFrame *f, gint x0, gint y0,
    gint x1, gint y1, const guint8 rgb[3])
{
  guint8 yuv[3];
  rgb_to_yuv (self, rgb, yuv);
  gint width = GST_VIDEO_FRAME_WIDTH (f), height = GST_VIDEO_FRAME_HEIGHT (f);
  x0 = CLAMP (x0, 0, width);
  x1 = CLAMP (x1, x0, width);
  y0 = CLAMP (y0, 0, height);
  y1 = CLAMP (y1, y0, height);
  const GstVideoFormatInfo *fi = f->info.finfo;
  gint ps = GST_VIDEO_FORMAT_INFO_PSTRIDE (fi, 0);
  for (gint y = y0; y < y1; y++) {
    guint8 *row = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (f, 0)
        + (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (f, 0);
    if (GST_VIDEO_FORMAT_INFO_IS_RGB (fi)) {
      for (gint x = x0; x < x1; x++)
        for (int c = 0; c < 3; c++)
          row[x * ps + GST_VIDEO_FORMAT_INFO_POFFSET (fi, c)] = rgb[c];
    } else {
      memset (row + x0, yuv[0], (gsize) (x1 - x0));
    }
  }
  if (has_chroma_plane (f))
    for (gint y = y0 & ~1; y < y1; y += 2)
      for (gint x = x0 & ~1; x < x1; x += 2)
        blend_chroma (f, x / 2, y / 2, yuv, 1.0f);
}

static void
draw_region (GstAttentionOverlay *self, GstVideoFrame *f,
    const GstAttentionMeta *meta)
{
  gint width = GST_VIDEO_FRAME_WIDTH (f), height = GST_VIDEO_FRAME_HEIGHT (f);
  gint x, y, w, h;
  if (!gst_attention_meta_get_region_pixels (meta, width, height, &x, &y, &w,
          &h) || w == 0 || h == 0)
    return;
  gint t = MAX (1, MIN (width, height) / 240);
  static const guint8 white[3] = { 255, 255, 255 };
  fill_rect (self, f, x, y, x + w, y + t, white);
  fill_rect (self, f, x, y + h - t, x + w, y + h, white);
  fill_rect (self, f, x, y, x + t, y + h, white);
  fill_rect (self, f, x + w - t, y, x + w, y + h, white);
}

/* ---- labels -------------------------------------------------------------- */

static void
text_clear (GstAttentionOverlay *self)
{
  g_clear_pointer (&self->text_shown, g_free);
  g_clear_object (&self->layout);
  g_clear_pointer (&self->cr, cairo_destroy);
  g_clear_pointer (&self->text, cairo_surface_destroy);
}

/* The label box is sized once per caps: up to MAX_LABELS lines of text at a
 * height proportional to the frame's. */
static void
text_setup (GstAttentionOverlay *self, gint width, gint height)
{
  text_clear (self);
  self->font_px = MAX (8, height / 22);
  self->text_w = MIN (width, self->font_px * 14);
  self->text_h = MIN (height, (gint) (self->font_px * 1.35 * MAX_LABELS) + 8);
  if (self->text_w < 1 || self->text_h < 1)
    return;
  self->text = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, self->text_w,
      self->text_h);
  self->cr = cairo_create (self->text);
  self->layout = pango_cairo_create_layout (self->cr);
  PangoFontDescription *fd = pango_font_description_from_string ("Sans Bold");
  pango_font_description_set_absolute_size (fd, self->font_px * PANGO_SCALE);
  pango_layout_set_font_description (self->layout, fd);
  pango_font_description_free (fd);
}

/* Renders the top classes into the label surface, unless it already shows
 * that text (stale frames, unchanged scores); returns its used height. */
static gint
render_labels (GstAttentionOverlay *self, const GstAttentionMeta *meta,
    guint n)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < MIN (n, meta->result->n_classes); i++)
    g_string_append_printf (s, "%s%s %.2f", i ? "\n" : "",
        meta->result->classes[i].label, meta->result->classes[i].score);
  if (meta->stale)
    g_string_append (s, "\n(stale)");
  if (self->text_shown && strcmp (self->text_shown, s->str) == 0) {
    g_string_free (s, TRUE);
    return self->text_used;
  }
  cairo_t *cr = self->cr;
  cairo_save (cr);
  cairo_set_operator (cr, CAIRO_OPERATOR_CLEAR);
  cairo_paint (cr);
  cairo_restore (cr);
  pango_layout_set_text (self->layout, s->str, -1);
  g_free (self->text_shown);
  self->text_shown = g_string_free (s, FALSE);
  PangoRectangle ink, logical;
  pango_layout_get_pixel_extents (self->layout, &ink, &logical);
  gint pad = self->font_px / 4;
  gint bw = MIN (self->text_w, logical.width + 2 * pad);
  gint bh = MIN (self->text_h, logical.height + 2 * pad);
  /* a translucent dark box, then the text (dimmer when stale) */
  cairo_set_source_rgba (cr, 0, 0, 0, 0.55);
  cairo_rectangle (cr, 0, 0, bw, bh);
  cairo_fill (cr);
  cairo_move_to (cr, pad, pad);
  cairo_set_source_rgba (cr, 1, 1, 1, meta->stale ? 0.6 : 1.0);
  pango_cairo_show_layout (cr, self->layout);
  cairo_surface_flush (self->text);
  self->text_used = bh;
  self->text_used_w = bw;
  return bh;
}

static void
draw_labels (GstAttentionOverlay *self, GstVideoFrame *f,
    const GstAttentionMeta *meta, guint n)
{
  if (!self->text || meta->result->n_classes == 0)
    return;
  gint used = render_labels (self, meta, n);
  const guint8 *data = cairo_image_surface_get_data (self->text);
  gint stride = cairo_image_surface_get_stride (self->text);
  gint width = GST_VIDEO_FRAME_WIDTH (f), height = GST_VIDEO_FRAME_HEIGHT (f);
  gint w = MIN (self->text_used_w, width), h = MIN (used, height);
  gboolean chroma = has_chroma_plane (f);
  guint32 last = 0;
  guint8 rgb[3] = { 0 }, yuv[3] = { 0 };
  for (gint y = 0; y < h; y++) {
    const guint32 *row = (const guint32 *) (data + (gsize) y * stride);
    for (gint x = 0; x < w; x++) {
      guint32 px = row[x];      /* premultiplied ARGB, native endian */
      guint a8 = px >> 24;
      if (a8 == 0)
        continue;
      gfloat a = a8 / 255.0f;
      if (px != last) {         /* text is a handful of colours: memoise */
        rgb[0] = (guint8) MIN (255u, ((px >> 16) & 0xff) * 255 / a8);
        rgb[1] = (guint8) MIN (255u, ((px >> 8) & 0xff) * 255 / a8);
        rgb[2] = (guint8) MIN (255u, (px & 0xff) * 255 / a8);
        rgb_to_yuv (self, rgb, yuv);
        last = px;
      }
      blend_luma_or_rgb (f, x, y, rgb, yuv, a);
      if (chroma && !(x & 1) && !(y & 1))
        blend_chroma (f, x / 2, y / 2, yuv, a);
    }
  }
}

/* ---- composition meta ---------------------------------------------------- */

/* The heat map as an ARGB rectangle at 8× the map's resolution, placed over
 * the map's area; the label box as a second rectangle. */
static void
attach_composition (GstAttentionOverlay *self, GstBuffer *buf,
    GstVideoFrame *f, const GstAttentionMeta *meta, const GstAttentionMap *m,
    gfloat opacity, guint n_labels, gboolean heat)
{
  gint width = GST_VIDEO_FRAME_WIDTH (f), height = GST_VIDEO_FRAME_HEIGHT (f);
  GstVideoOverlayComposition *comp = NULL;
  if (heat && m && m->width && m->height) {
    guint rw = m->width * 8, rh = m->height * 8;
    GstBuffer *pix = gst_buffer_new_allocate (NULL, (gsize) rw * rh * 4, NULL);
    gst_buffer_add_video_meta (pix, GST_VIDEO_FRAME_FLAG_NONE,
        GST_VIDEO_OVERLAY_COMPOSITION_FORMAT_RGB, rw, rh);
    GstMapInfo map;
    gst_buffer_map (pix, &map, GST_MAP_WRITE);
    GstAttentionMap sub = *m;
    sub.x = sub.y = 0;
    sub.w = sub.h = 1;
    for (guint y = 0; y < rh; y++)
      for (guint x = 0; x < rw; x++) {
        gfloat v = gst_attention_map_sample (&sub, (x + 0.5f) / rw,
            (y + 0.5f) / rh);
        gint idx = CLAMP ((gint) (v * 255 + 0.5f), 0, 255);
        guint8 *p = map.data + ((gsize) y * rw + x) * 4;
        guint8 a = (guint8) (255 * opacity * v);
        /* BGRA in memory = ARGB32 little-endian, premultiplied */
        p[0] = (guint8) (self->lut[idx][2] * a / 255);
        p[1] = (guint8) (self->lut[idx][1] * a / 255);
        p[2] = (guint8) (self->lut[idx][0] * a / 255);
        p[3] = a;
      }
    gst_buffer_unmap (pix, &map);
    GstVideoOverlayRectangle *r = gst_video_overlay_rectangle_new_raw (pix,
        (gint) floorf (m->x * width), (gint) floorf (m->y * height),
        (guint) ceilf (m->w * width), (guint) ceilf (m->h * height),
        GST_VIDEO_OVERLAY_FORMAT_FLAG_PREMULTIPLIED_ALPHA);
    comp = gst_video_overlay_composition_new (r);
    gst_video_overlay_rectangle_unref (r);
    gst_buffer_unref (pix);
  }
  if (n_labels && self->text && meta->result->n_classes) {
    gint used = render_labels (self, meta, n_labels);
    gsize stride = (gsize) cairo_image_surface_get_stride (self->text);
    GstBuffer *pix = gst_buffer_new_memdup (cairo_image_surface_get_data
        (self->text), stride * used);
    gst_buffer_add_video_meta_full (pix, GST_VIDEO_FRAME_FLAG_NONE,
        GST_VIDEO_OVERLAY_COMPOSITION_FORMAT_RGB, self->text_w, used, 1,
        (gsize[4]) {0}, (gint[4]) {(gint) stride});
    GstVideoOverlayRectangle *r = gst_video_overlay_rectangle_new_raw (pix, 0,
        0, self->text_w, used, GST_VIDEO_OVERLAY_FORMAT_FLAG_PREMULTIPLIED_ALPHA);
    if (comp)
      gst_video_overlay_composition_add_rectangle (comp, r);
    else
      comp = gst_video_overlay_composition_new (r);
    gst_video_overlay_rectangle_unref (r);
    gst_buffer_unref (pix);
  }
  if (comp) {
    gst_buffer_add_video_overlay_composition_meta (buf, comp);
    gst_video_overlay_composition_unref (comp);
  }
}

/* ---- GstVideoFilter ------------------------------------------------------ */

static gboolean
gst_attention_overlay_set_info (GstVideoFilter *filter, GstCaps *incaps,
    GstVideoInfo *in_info, GstCaps *outcaps, GstVideoInfo *out_info)
{
  GstAttentionOverlay *self = GST_ATTENTION_OVERLAY (filter);
  self->yuv = GST_VIDEO_INFO_IS_YUV (in_info);
  self->kr = 0.299;
  self->kb = 0.114;
  gst_video_color_matrix_get_Kr_Kb (in_info->colorimetry.matrix, &self->kr,
      &self->kb);
  self->full_range = in_info->colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
  g_mutex_lock (&self->lock);
  build_lut (self, self->colormap);
  g_mutex_unlock (&self->lock);
  heat_tables_clear (&self->ht);
  g_free (self->band0);
  g_free (self->band1);
  g_free (self->idx_row);
  g_free (self->alpha_row);
  gint width = MAX (in_info->width, 1);
  self->band0 = g_new0 (gfloat, width);
  self->band1 = g_new0 (gfloat, width);
  self->idx_row = g_new0 (guint8, width);
  self->alpha_row = g_new0 (guint8, width);
  text_setup (self, in_info->width, in_info->height);

  /* does downstream composite overlays itself (a video sink, a hardware
   * compositor)? Then attach the overlay instead of drawing it. */
  GstQuery *q = gst_query_new_allocation (outcaps, FALSE);
  self->downstream_composites =
      gst_pad_peer_query (GST_BASE_TRANSFORM_SRC_PAD (filter), q)
      && gst_query_find_allocation_meta (q,
      GST_VIDEO_OVERLAY_COMPOSITION_META_API_TYPE, NULL);
  gst_query_unref (q);
  GST_INFO_OBJECT (self, "downstream %s overlay compositions",
      self->downstream_composites ? "composites" : "does not composite");
  return TRUE;
}

static GstFlowReturn
gst_attention_overlay_transform_frame_ip (GstVideoFilter *filter,
    GstVideoFrame *frame)
{
  GstAttentionOverlay *self = GST_ATTENTION_OVERLAY (filter);
  GstAttentionMeta *meta = gst_buffer_get_attention_meta (frame->buffer);
  if (!meta)
    return GST_FLOW_OK;

  g_mutex_lock (&self->lock);
  const GstAttentionMap *m = gst_attention_meta_get_map (meta,
      self->map_name && *self->map_name ? self->map_name : NULL);
  gfloat opacity = self->opacity;
  gboolean normalize = self->normalize, heat = self->show_heatmap;
  gboolean region = self->show_region, composition = self->composition;
  guint labels = self->labels;
  if (self->colormap != self->lut_map)
    build_lut (self, self->colormap);
  g_mutex_unlock (&self->lock);

  if (composition || self->downstream_composites) {
    attach_composition (self, frame->buffer, frame, meta, m, opacity, labels,
        heat && opacity > 0);
    return GST_FLOW_OK;
  }
  if (heat && m && opacity > 0)
    draw_heat (self, frame, m, opacity, normalize);
  if (region)
    draw_region (self, frame, meta);
  if (labels)
    draw_labels (self, frame, meta, labels);
  return GST_FLOW_OK;
}

static gboolean
gst_attention_overlay_stop (GstBaseTransform *trans)
{
  GstAttentionOverlay *self = GST_ATTENTION_OVERLAY (trans);
  heat_tables_clear (&self->ht);
  g_clear_pointer (&self->band0, g_free);
  g_clear_pointer (&self->band1, g_free);
  g_clear_pointer (&self->idx_row, g_free);
  g_clear_pointer (&self->alpha_row, g_free);
  text_clear (self);
  return TRUE;
}

static void
gst_attention_overlay_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  GstAttentionOverlay *self = GST_ATTENTION_OVERLAY (object);
  g_mutex_lock (&self->lock);
  switch (prop_id) {
    case PROP_MAP:
      g_free (self->map_name);
      self->map_name = g_value_dup_string (value);
      break;
    case PROP_COLORMAP:
      self->colormap = g_value_get_enum (value);
      break;
    case PROP_OPACITY:
      self->opacity = g_value_get_float (value);
      break;
    case PROP_NORMALIZE:
      self->normalize = g_value_get_boolean (value);
      break;
    case PROP_SHOW_HEATMAP:
      self->show_heatmap = g_value_get_boolean (value);
      break;
    case PROP_LABELS:
      self->labels = g_value_get_uint (value);
      break;
    case PROP_SHOW_REGION:
      self->show_region = g_value_get_boolean (value);
      break;
    case PROP_COMPOSITION:
      self->composition = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  g_mutex_unlock (&self->lock);
}

static void
gst_attention_overlay_get_property (GObject *object, guint prop_id,
    GValue *value, GParamSpec *pspec)
{
  GstAttentionOverlay *self = GST_ATTENTION_OVERLAY (object);
  g_mutex_lock (&self->lock);
  switch (prop_id) {
    case PROP_MAP:
      g_value_set_string (value, self->map_name);
      break;
    case PROP_COLORMAP:
      g_value_set_enum (value, self->colormap);
      break;
    case PROP_OPACITY:
      g_value_set_float (value, self->opacity);
      break;
    case PROP_NORMALIZE:
      g_value_set_boolean (value, self->normalize);
      break;
    case PROP_SHOW_HEATMAP:
      g_value_set_boolean (value, self->show_heatmap);
      break;
    case PROP_LABELS:
      g_value_set_uint (value, self->labels);
      break;
    case PROP_SHOW_REGION:
      g_value_set_boolean (value, self->show_region);
      break;
    case PROP_COMPOSITION:
      g_value_set_boolean (value, self->composition);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  g_mutex_unlock (&self->lock);
}

static void
gst_attention_overlay_finalize (GObject *object)
{
  GstAttentionOverlay *self = GST_ATTENTION_OVERLAY (object);
  g_free (self->map_name);
  heat_tables_clear (&self->ht);
  g_free (self->band0);
  g_free (self->band1);
  g_free (self->idx_row);
  g_free (self->alpha_row);
  text_clear (self);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_attention_overlay_class_init (GstAttentionOverlayClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_attention_overlay_debug, "attentionoverlay", 0,
      "attention overlay");
  gobject_class->set_property = gst_attention_overlay_set_property;
  gobject_class->get_property = gst_attention_overlay_get_property;
  gobject_class->finalize = gst_attention_overlay_finalize;

  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
      | GST_PARAM_MUTABLE_PLAYING;
  g_object_class_install_property (gobject_class, PROP_MAP,
      g_param_spec_string ("map", "Map",
          "Name of the spatial map to draw (e.g. \"layer3.0\"); empty: the "
          "final map", "", rw));
  g_object_class_install_property (gobject_class, PROP_COLORMAP,
      g_param_spec_enum ("colormap", "Colour map",
          "Colours of the heat map, low to high attention",
          gst_attention_colormap_get_type (), DEFAULT_COLORMAP, rw));
  g_object_class_install_property (gobject_class, PROP_OPACITY,
      g_param_spec_float ("opacity", "Opacity",
          "Opacity of the heat map where attention is highest; it falls with "
          "the attention so unattended areas stay clear (0: no heat map)",
          0.0f, 1.0f, DEFAULT_OPACITY, rw));
  g_object_class_install_property (gobject_class, PROP_NORMALIZE,
      g_param_spec_boolean ("normalize", "Normalize",
          "Stretch each map's own min..max over the colour map (off: the "
          "gate's absolute 0..1 values)", TRUE, rw));
  g_object_class_install_property (gobject_class, PROP_SHOW_HEATMAP,
      g_param_spec_boolean ("show-heatmap", "Show heat map",
          "Draw the attention heat map", TRUE, rw));
  g_object_class_install_property (gobject_class, PROP_LABELS,
      g_param_spec_uint ("labels", "Labels",
          "How many of the top classes to write, with probabilities (0: none)",
          0, MAX_LABELS, DEFAULT_LABELS, rw));
  g_object_class_install_property (gobject_class, PROP_SHOW_REGION,
      g_param_spec_boolean ("show-region", "Show region",
          "Draw the box of the attended region", TRUE, rw));
  g_object_class_install_property (gobject_class, PROP_COMPOSITION,
      g_param_spec_boolean ("composition", "Composition meta",
          "Leave the pixels alone and attach a GstVideoOverlayCompositionMeta "
          "(heat map and labels as ARGB rectangles) for a downstream element "
          "that composites. This happens anyway when downstream says, in its "
          "allocation answer, that it handles that meta", FALSE, rw));

  gst_element_class_set_static_metadata (element_class, "Attention overlay",
      "Filter/Effect/Video/Overlay",
      "Draws attention heat maps, top classes and the attended region from "
      "attentioninfer's metadata", "gst-attention developers");
  GstCaps *caps = gst_caps_from_string (VIDEO_CAPS);
  gst_element_class_add_pad_template (element_class,
      gst_pad_template_new ("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
  gst_element_class_add_pad_template (element_class,
      gst_pad_template_new ("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
  gst_caps_unref (caps);

  trans_class->stop = GST_DEBUG_FUNCPTR (gst_attention_overlay_stop);
  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_attention_overlay_set_info);
  filter_class->transform_frame_ip =
      GST_DEBUG_FUNCPTR (gst_attention_overlay_transform_frame_ip);
  gst_type_mark_as_plugin_api (gst_attention_colormap_get_type (), 0);
}

static void
gst_attention_overlay_init (GstAttentionOverlay *self)
{
  g_mutex_init (&self->lock);
  self->map_name = g_strdup ("");
  self->colormap = DEFAULT_COLORMAP;
  self->opacity = DEFAULT_OPACITY;
  self->normalize = TRUE;
  self->show_heatmap = TRUE;
  self->labels = DEFAULT_LABELS;
  self->show_region = TRUE;
  self->lut_map = (AttnColormap) - 1;
}
