/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-attentionoverlay
 * @title: attentionoverlay
 *
 * Draws what a #GstAttentionMeta holds over the video it rides on: the heat
 * map of a spatial attention map (smoothly upsampled, colour-mapped, blended
 * with an opacity proportional to the attention so unattended areas stay
 * clear), the top classes with their probabilities (Pango), and the box of
 * the attended region. Works in place on RGB, BGR, RGBx, BGRx, xRGB, xBGR,
 * RGBA, BGRA, ARGB, ABGR, I420, NV12, GRAY8 and the webcams' YUY2 and UYVY
 * (so a camera needs no videoconvert before it). When downstream composites
 * overlays itself (it lists #GstVideoOverlayCompositionMeta in its
 * allocation answer: many video sinks and hardware compositors do), or with
 * `composition=true`, it leaves the pixels alone and attaches a
 * #GstVideoOverlayCompositionMeta instead: the same picture (one painter,
 * paint.c, draws both), as one frame-sized premultiplied ARGB rectangle.
 * Objects that attentioninfer classified one by one
 * (`inference-region=roi-list`) are drawn each in its box: the box, its
 * type and top class, and its own heat map (`objects=false` turns this
 * off). The patches of a coarse-to-fine pass (`attentioninfer patches=N`)
 * are drawn the same way, labelled with their top class only (`patches=false`
 * turns them off). With `show-transformer=true`, a model's Spatial
 * Transformer is drawn as the yellow quadrilateral it samples the frame
 * in. For a model with a decoder head (models/describe.safetensors) the
 * sentence is written above the classes and the heat map shows what the
 * decoder attended to for one word at a time: each word in turn across
 * frames (`token-map=cycle`, `token-frames` each; the word in brackets),
 * the word `token` names, the sum of all, or the backbone's map
 * (`token-map=none`). Buffers without an attention meta, objects or patches
 * pass untouched. Where cairo cannot
 * make the label surface (it is clamped to 32,767 pixels a side and to the
 * frame), the labels are skipped with a warning in the debug log.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc pattern=ball ! attentioninfer ! attentionoverlay colormap=inferno opacity=0.6 ! autovideosink
 * ]|
 */
#include "gstattentionoverlay.h"

#include <gst/attention/attention-meta.h>
#include <pango/pangocairo.h>
#include <string.h>

#include "colormap.h"
#include "formats.h"
#include "paint.h"

GST_DEBUG_CATEGORY_STATIC (gst_attention_overlay_debug);
#define GST_CAT_DEFAULT gst_attention_overlay_debug

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
  PROP_PRODUCER,
  PROP_OBJECTS,
  PROP_PATCHES,
  PROP_SHOW_TRANSFORMER,
  PROP_TOKEN_MAP,
  PROP_TOKEN,
  PROP_TOKEN_FRAMES,
};

/* Which of a decoder model's per-token attention maps to draw. */
typedef enum {
  TOKEN_MAP_CYCLE,              /* each token in turn, token-frames each */
  TOKEN_MAP_TOKEN,              /* the one `token` names */
  TOKEN_MAP_SUM,                /* all of them, summed */
  TOKEN_MAP_NONE,               /* none: the backbone's map, as without */
} TokenMap;

#define DEFAULT_TOKEN_MAP TOKEN_MAP_CYCLE
#define DEFAULT_TOKEN_FRAMES 15
#define DEFAULT_COLORMAP ATTN_COLORMAP_TURBO
#define DEFAULT_OPACITY 0.6f
#define DEFAULT_LABELS 3
#define MAX_LABELS 10
/* cairo's image surfaces are at most this many pixels along each side */
#define CAIRO_MAX_SIDE 32767

/* The properties, copied under the lock once per frame. */
typedef struct {
  AttnColormap colormap;
  gfloat opacity;
  gboolean normalize, heat, region, composition, objects, patches;
  gboolean transformer;
  guint labels;
  TokenMap token_map;
  guint token, token_frames;
} Settings;

/* What one frame's overlay shows, read from its meta: the painter's plain
 * input plus the label text (rendered by cairo/pango into pic.labels). */
typedef struct {
  PaintPicture pic;
  PaintMap map;
  const gchar *text;            /* "" for no labels; owned by the element */
  gboolean stale;               /* the result is an earlier frame's */
} OverlayInput;

struct _GstAttentionOverlay {
  GstVideoFilter parent;

  GMutex lock;                  /* properties */
  gchar *map_name;
  gchar *producer;              /* whose meta to draw; NULL: the nearest */
  AttnColormap colormap;
  gfloat opacity;
  gboolean normalize;
  gboolean show_heatmap;
  guint labels;
  gboolean show_region;
  gboolean composition;
  gboolean show_objects;
  gboolean show_patches;
  gboolean show_transformer;
  TokenMap token_map;
  guint token;
  guint token_frames;

  /* caps-time state, streaming thread only */
  guint64 frames_drawn;         /* frames with a meta: token-map=cycle's clock */
  gfloat *token_sum;            /* token-map=sum: the summed α, grown only
                                 * when a larger grid comes */
  gsize token_sum_n;
  GstAttentionMap sum_map;      /* token_sum placed on the frame */
  Painter painter;              /* into frames of the negotiated format */
  Painter canvas;               /* into the composition's ARGB rectangle */
  GstBufferPool *canvas_pool;   /* those rectangles' pixels, reused once
                                 * downstream lets go of a composition */
  gint width, height;
  gboolean downstream_composites; /* downstream takes composition metas */
  gchar *map_cur;               /* map_name as of the current frame */
  gchar *map_warned;            /* "model\nmap" last warned about, or NULL */
  GString *text_want;           /* the labels the current frame asks for */
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
gst_attention_token_map_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {TOKEN_MAP_CYCLE, "Each token's attention in turn, token-frames frames "
          "each", "cycle"},
    {TOKEN_MAP_TOKEN, "The attention of the token the token property names",
        "token"},
    {TOKEN_MAP_SUM, "The sum of every token's attention", "sum"},
    {TOKEN_MAP_NONE, "No token's: the backbone's map, as for other models",
        "none"},
    {0, NULL, NULL}
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstAttentionTokenMap", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

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

/* ---- the meta, read in one place ------------------------------------------ */

/* Turns meta into what the painters draw on a width × height frame. The
 * only function that reads a GstAttentionMeta's fields: a renamed field or
 * a choice between producers' metas belongs here. Posts a warning (once per
 * model and map name) when `map` names a map the meta does not have; then
 * no heat map is drawn. */
static const GstAttentionMap *
map_of (GstAttentionOverlay *self, const GstAttentionResult *r)
{
  const gchar *name = self->map_cur && *self->map_cur ? self->map_cur : NULL;
  const GstAttentionMap *m = gst_attention_result_get_map (r, name);
  if (!m && name && r->n_maps > 0) {
    gchar *key = g_strdup_printf ("%s\n%s", r->model ? r->model : "",
        name);
    if (g_strcmp0 (key, self->map_warned) != 0) {
      GString *names = g_string_new (NULL);
      for (guint i = 0; i < r->n_maps; i++)
        g_string_append_printf (names, "%s\"%s\"", i ? ", " : "",
            r->maps[i].name);
      GST_ELEMENT_WARNING (self, LIBRARY, SETTINGS,
          ("No attention map named \"%s\": model \"%s\" has %s. Drawing no "
              "heat map; set map to one of these, or to \"\" for the final "
              "map.", name, r->model ? r->model : "?", names->str),
          (NULL));
      g_string_free (names, TRUE);
      g_free (self->map_warned);
      self->map_warned = key;
    } else {
      g_free (key);
    }
  } else if (m) {
    g_clear_pointer (&self->map_warned, g_free);
  }
  return m;
}

/* A decoder model's token attention to draw instead of the backbone's map
 * (token-map, with `map` unset), or NULL; *shown is that token's index, −1
 * for the sum. */
static const GstAttentionMap *
token_map_of (GstAttentionOverlay *self, const GstAttentionResult *r,
    const Settings *s, gint *shown)
{
  if (!r->sentence || r->n_tokens == 0 || s->token_map == TOKEN_MAP_NONE
      || (self->map_cur && *self->map_cur))
    return NULL;
  guint n = r->n_tokens;
  if (s->token_map == TOKEN_MAP_TOKEN) {
    *shown = (gint) MIN (s->token, n - 1);
    return &r->tokens[*shown].alpha;
  }
  if (s->token_map == TOKEN_MAP_CYCLE) {
    *shown = (gint) (self->frames_drawn / MAX (s->token_frames, 1) % n);
    return &r->tokens[*shown].alpha;
  }
  /* the sum: every token's map has the same grid and area */
  const GstAttentionMap *a = &r->tokens[0].alpha;
  gsize cells = (gsize) a->width * a->height;
  if (cells > self->token_sum_n) {
    self->token_sum = g_renew (gfloat, self->token_sum, cells);
    self->token_sum_n = cells;
  }
  for (gsize i = 0; i < cells; i++) {
    gfloat v = 0;
    for (guint t = 0; t < n; t++)
      v += r->tokens[t].alpha.data[i];
    self->token_sum[i] = v;
  }
  self->sum_map = *a;
  self->sum_map.name = "sum";
  self->sum_map.data = self->token_sum;
  *shown = -1;
  return &self->sum_map;
}

/* The heat map part of the picture, when asked for. */
static void
input_heat (const Settings *s, const GstAttentionMap *m, OverlayInput *in)
{
  if (s->heat && s->opacity > 0 && m && m->data) {
    in->map = (PaintMap) { m->data, (int) m->width, (int) m->height, m->x,
      m->y, m->w, m->h
    };
    in->pic.heat = &in->map;
    in->pic.opacity = s->opacity;
    in->pic.normalize = s->normalize;
  }
}

static void
input_from_meta (GstAttentionOverlay *self, const GstAttentionMeta *meta,
    const Settings *s, gint width, gint height, OverlayInput *in)
{
  const GstAttentionResult *r = meta->result;
  memset (in, 0, sizeof *in);
  in->text = "";
  gint shown = -1;              /* the token whose attention is drawn */
  const GstAttentionMap *tm = token_map_of (self, r, s, &shown);
  input_heat (s, tm ? tm : map_of (self, r), in);
  if (tm)
    in->pic.normalize = true;   /* α sums to 1: its own max is what shows */
  gint x, y, w, h;
  if (s->region && gst_attention_meta_get_region_pixels (meta, width, height,
          &x, &y, &w, &h) && w > 0 && h > 0) {
    in->pic.box = true;
    in->pic.box_x = x;
    in->pic.box_y = y;
    in->pic.box_w = w;
    in->pic.box_h = h;
  }
  if (s->transformer && r->has_theta) {
    in->pic.quad = true;
    for (int i = 0; i < 4; i++) {
      in->pic.quad_xy[2 * i] = r->quad[2 * i] * width;
      in->pic.quad_xy[2 * i + 1] = r->quad[2 * i + 1] * height;
    }
  }
  if (s->labels && (r->n_classes || r->sentence)) {
    GString *t = self->text_want;
    g_string_truncate (t, 0);
    if (r->sentence) {
      /* the sentence first, the token whose attention shows in brackets */
      for (guint i = 0; i < r->n_tokens; i++)
        g_string_append_printf (t, (gint) i == shown ? "%s[%s]" : "%s%s",
            i ? " " : "", r->tokens[i].text);
      if (r->n_tokens == 0)
        g_string_append (t, "(no words)");
    }
    for (guint i = 0; i < MIN (s->labels, r->n_classes); i++)
      g_string_append_printf (t, "%s%s %.2f", t->len ? "\n" : "",
          r->classes[i].label, r->classes[i].score);
    if (meta->stale)
      g_string_append (t, "\n(stale)");
    in->text = t->str;
    in->stale = meta->stale;
  }
}

/* One classified object: its own heat map, its box (the region of
 * interest, pixels), and "type: label score" (a patch: "label score") on
 * the box's top edge. */
static void
input_from_object (GstAttentionOverlay *self,
    const GstVideoRegionOfInterestMeta *roi, const GstAttentionResult *r,
    const Settings *s, gboolean typed, OverlayInput *in)
{
  memset (in, 0, sizeof *in);
  in->text = "";
  input_heat (s, map_of (self, r), in);
  in->pic.box = true;
  in->pic.box_x = (int) MIN (roi->x, (guint) G_MAXINT);
  in->pic.box_y = (int) MIN (roi->y, (guint) G_MAXINT);
  in->pic.box_w = (int) MIN (roi->w, (guint) G_MAXINT);
  in->pic.box_h = (int) MIN (roi->h, (guint) G_MAXINT);
  if (s->labels && r->n_classes) {
    GString *t = self->text_want;
    const gchar *type = typed ? g_quark_to_string (roi->roi_type) : NULL;
    g_string_printf (t, "%s%s%s %.2f", type ? type : "", type && *type
        ? ": " : "", r->classes[0].label, r->classes[0].score);
    in->text = t->str;
  }
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

/* The label box is sized once per caps: up to MAX_LABELS lines of text (a
 * sentence and "(stale)" besides) at a
 * height proportional to the frame's, within the frame and within what
 * cairo can allocate (very tall frames get a smaller font). On failure there
 * are no labels (self->text NULL) and a warning says why. */
static void
text_setup (GstAttentionOverlay *self, gint width, gint height)
{
  text_clear (self);
  self->font_px = MAX (8, height / 22);
  /* the box below must fit cairo's limit */
  self->font_px = MIN (self->font_px, (gint) ((CAIRO_MAX_SIDE - 8) / (1.35 * (MAX_LABELS + 2))));
  self->text_w = MIN (MIN (width, self->font_px * 20), CAIRO_MAX_SIDE);
  self->text_h = MIN (MIN (height, (gint) (self->font_px * 1.35 * (MAX_LABELS + 2))
          + 8), CAIRO_MAX_SIDE);
  if (self->text_w < 1 || self->text_h < 1)
    return;
  self->text = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, self->text_w,
      self->text_h);
  cairo_status_t st = cairo_surface_status (self->text);
  if (st == CAIRO_STATUS_SUCCESS) {
    self->cr = cairo_create (self->text);
    st = cairo_status (self->cr);
  }
  if (st == CAIRO_STATUS_SUCCESS) {
    self->layout = pango_cairo_create_layout (self->cr);
    st = self->layout ? cairo_status (self->cr) : CAIRO_STATUS_NO_MEMORY;
  }
  if (st != CAIRO_STATUS_SUCCESS) {
    GST_WARNING_OBJECT (self, "no labels on %dx%d frames: cairo cannot make "
        "a %dx%d label surface: %s", width, height, self->text_w,
        self->text_h, cairo_status_to_string (st));
    text_clear (self);
    return;
  }
  PangoFontDescription *fd = pango_font_description_from_string ("Sans Bold");
  pango_font_description_set_absolute_size (fd, self->font_px * PANGO_SCALE);
  pango_layout_set_font_description (self->layout, fd);
  pango_font_description_free (fd);
}

/* Renders text into the label surface, unless it already shows it (stale
 * frames, unchanged scores), and points pic at the painted part. Skips the
 * labels, with a warning, when cairo fails. */
static void
labels_render (GstAttentionOverlay *self, const OverlayInput *in,
    PaintPicture *pic)
{
  const gchar *text = in->text;
  if (!*text || !self->text)
    return;
  if (!self->text_shown || strcmp (self->text_shown, text) != 0) {
    cairo_t *cr = self->cr;
    cairo_save (cr);
    cairo_set_operator (cr, CAIRO_OPERATOR_CLEAR);
    cairo_paint (cr);
    cairo_restore (cr);
    pango_layout_set_text (self->layout, text, -1);
    g_free (self->text_shown);
    self->text_shown = g_strdup (text);
    PangoRectangle ink, logical;
    pango_layout_get_pixel_extents (self->layout, &ink, &logical);
    gint pad = self->font_px / 4;
    gint bw = CLAMP (logical.width + 2 * pad, 0, self->text_w);
    gint bh = CLAMP (logical.height + 2 * pad, 0, self->text_h);
    /* a translucent dark box, then the text (dimmer when stale) */
    cairo_set_source_rgba (cr, 0, 0, 0, 0.55);
    cairo_rectangle (cr, 0, 0, bw, bh);
    cairo_fill (cr);
    cairo_move_to (cr, pad, pad);
    cairo_set_source_rgba (cr, 1, 1, 1, in->stale ? 0.6 : 1.0);
    pango_cairo_show_layout (cr, self->layout);
    cairo_surface_flush (self->text);
    self->text_used = bh;
    self->text_used_w = bw;
    cairo_status_t st = cairo_status (cr);
    if (st == CAIRO_STATUS_SUCCESS)
      st = cairo_surface_status (self->text);
    if (st != CAIRO_STATUS_SUCCESS) {
      GST_WARNING_OBJECT (self, "no labels: cairo failed drawing them: %s",
          cairo_status_to_string (st));
      text_clear (self);
      return;
    }
  }
  const guint8 *data = cairo_image_surface_get_data (self->text);
  if (!data) {
    GST_WARNING_OBJECT (self, "no labels: the label surface has no pixels");
    text_clear (self);
    return;
  }
  pic->labels = (const uint32_t *) data;
  pic->labels_stride = cairo_image_surface_get_stride (self->text);
  pic->labels_w = self->text_used_w;
  pic->labels_h = self->text_used;
}

/* ---- painting ------------------------------------------------------------ */

static void
paint_format_from_info (PaintFormat *f, const GstVideoInfo *info)
{
  gboolean full_range;
  memset (f, 0, sizeof *f);
  attn_video_info_matrix (info, &f->kr, &f->kb, &full_range);
  f->full_range = full_range;
  switch (GST_VIDEO_INFO_FORMAT (info)) {
    case GST_VIDEO_FORMAT_I420:
      f->layout = PAINT_I420;
      break;
    case GST_VIDEO_FORMAT_NV12:
      f->layout = PAINT_NV12;
      break;
    case GST_VIDEO_FORMAT_YUY2:
      f->layout = PAINT_YUY2;
      break;
    case GST_VIDEO_FORMAT_UYVY:
      f->layout = PAINT_UYVY;
      break;
    case GST_VIDEO_FORMAT_GRAY8:
      f->layout = PAINT_GRAY8;
      break;
    default:
      f->layout = PAINT_PACKED;
      attn_video_info_packed (info, &f->pixel_stride, &f->r, &f->g, &f->b);
      break;
  }
}

/* GstVideoOverlayRectangle's premultiplied ARGB (BGRA bytes on little-endian
 * machines, ARGB on big-endian ones) */
static void
canvas_format (PaintFormat *f)
{
  const GstVideoFormatInfo *fi =
      gst_video_format_get_info (GST_VIDEO_OVERLAY_COMPOSITION_FORMAT_RGB);
  memset (f, 0, sizeof *f);
  f->layout = PAINT_ARGB_CANVAS;
  f->pixel_stride = 4;
  f->r = (int) GST_VIDEO_FORMAT_INFO_POFFSET (fi, GST_VIDEO_COMP_R);
  f->g = (int) GST_VIDEO_FORMAT_INFO_POFFSET (fi, GST_VIDEO_COMP_G);
  f->b = (int) GST_VIDEO_FORMAT_INFO_POFFSET (fi, GST_VIDEO_COMP_B);
  f->a = (int) GST_VIDEO_FORMAT_INFO_POFFSET (fi, GST_VIDEO_COMP_A);
}

static gboolean
picture_empty (const PaintPicture *pic)
{
  return !pic->heat && !pic->box && !pic->labels && !pic->quad;
}

/* Where this frame's pictures go: the frame itself, or (composition) a
 * transparent frame-sized premultiplied ARGB canvas from the pool that
 * becomes a GstVideoOverlayCompositionMeta — painted by the same painter
 * code either way. */
typedef struct {
  Painter *painter;
  PaintFrame fr;
  GstBuffer *pix;               /* composition: the canvas */
  GstMapInfo map;
  gboolean painted;
} Target;

static gboolean
target_begin (GstAttentionOverlay *self, GstVideoFrame *frame,
    gboolean composition, AttnColormap cm, Target *t)
{
  memset (t, 0, sizeof *t);
  if (!composition) {
    t->painter = &self->painter;
    for (guint i = 0; i < GST_VIDEO_FRAME_N_PLANES (frame); i++) {
      t->fr.plane[i] = GST_VIDEO_FRAME_PLANE_DATA (frame, i);
      t->fr.stride[i] = GST_VIDEO_FRAME_PLANE_STRIDE (frame, i);
    }
    paint_set_colormap (t->painter, cm);
    return TRUE;
  }
  gsize stride = (gsize) self->width * 4;
  gsize size = stride * (gsize) self->height;
  if (!self->canvas_pool || gst_buffer_pool_acquire_buffer (self->canvas_pool,
          &t->pix, NULL) != GST_FLOW_OK) {
    GST_WARNING_OBJECT (self, "no overlay: no %" G_GSIZE_FORMAT "-byte "
        "canvas", size);
    return FALSE;
  }
  gst_buffer_map (t->pix, &t->map, GST_MAP_WRITE);
  memset (t->map.data, 0, size);
  t->fr.plane[0] = t->map.data;
  t->fr.stride[0] = (int) stride;
  t->painter = &self->canvas;
  paint_set_colormap (t->painter, cm);
  return TRUE;
}

static void
target_paint (Target *t, const PaintPicture *pic)
{
  if (picture_empty (pic))
    return;
  paint_picture (t->painter, &t->fr, pic);
  t->painted = TRUE;
}

/* Composition: attaches the canvas if anything was painted on it. */
static void
target_end (GstAttentionOverlay *self, GstBuffer *buf, Target *t)
{
  if (!t->pix)
    return;
  gst_buffer_unmap (t->pix, &t->map);
  if (t->painted) {
    gst_buffer_add_video_meta (t->pix, GST_VIDEO_FRAME_FLAG_NONE,
        GST_VIDEO_OVERLAY_COMPOSITION_FORMAT_RGB, self->width, self->height);
    GstVideoOverlayRectangle *r = gst_video_overlay_rectangle_new_raw (t->pix,
        0, 0, self->width, self->height,
        GST_VIDEO_OVERLAY_FORMAT_FLAG_PREMULTIPLIED_ALPHA);
    GstVideoOverlayComposition *comp = gst_video_overlay_composition_new (r);
    gst_buffer_add_video_overlay_composition_meta (buf, comp);
    gst_video_overlay_composition_unref (comp);
    gst_video_overlay_rectangle_unref (r);
  }
  gst_buffer_unref (t->pix);
}

/* ---- GstVideoFilter ------------------------------------------------------ */

static void
canvas_pool_clear (GstAttentionOverlay *self)
{
  if (!self->canvas_pool)
    return;
  gst_buffer_pool_set_active (self->canvas_pool, FALSE);
  gst_clear_object (&self->canvas_pool);
}

/* A pool for the composition's canvases, sized for `info`: FALSE when it
 * cannot be made. Frames too large for one (past 4 GiB of ARGB) get none:
 * their compositions are skipped with a warning, drawing in place works. */
static gboolean
canvas_pool_setup (GstAttentionOverlay *self, const GstVideoInfo *info)
{
  canvas_pool_clear (self);
  guint64 canvas_bytes = (guint64) info->width * 4 * info->height;
  if (canvas_bytes > G_MAXUINT32)
    return TRUE;
  self->canvas_pool = gst_buffer_pool_new ();
  GstStructure *config = gst_buffer_pool_get_config (self->canvas_pool);
  gst_buffer_pool_config_set_params (config, NULL, (guint) canvas_bytes, 2,
      0);
  return gst_buffer_pool_set_config (self->canvas_pool, config)
      && gst_buffer_pool_set_active (self->canvas_pool, TRUE);
}

static gboolean
gst_attention_overlay_set_info (GstVideoFilter *filter, GstCaps *incaps,
    GstVideoInfo *in_info, GstCaps *outcaps, GstVideoInfo *out_info)
{
  GstAttentionOverlay *self = GST_ATTENTION_OVERLAY (filter);
  g_mutex_lock (&self->lock);
  AttnColormap cm = self->colormap;
  g_mutex_unlock (&self->lock);
  PaintFormat f, cf;
  paint_format_from_info (&f, in_info);
  canvas_format (&cf);
  self->width = in_info->width;
  self->height = in_info->height;
  /* the painter for this format is chosen here, once */
  if (!paint_init (&self->painter, &f, in_info->width, in_info->height, cm)
      || !paint_init (&self->canvas, &cf, in_info->width, in_info->height,
          cm) || !canvas_pool_setup (self, in_info)) {
    GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
        ("Out of memory planning the overlay of %dx%d frames.",
            in_info->width, in_info->height), (NULL));
    return FALSE;
  }
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
  GstBuffer *buf = frame->buffer;
  Settings s;
  g_mutex_lock (&self->lock);
  const gchar *producer = g_intern_string (self->producer);
  s.colormap = self->colormap;
  s.opacity = self->opacity;
  s.normalize = self->normalize;
  s.heat = self->show_heatmap;
  s.region = self->show_region;
  s.composition = self->composition;
  s.labels = self->labels;
  s.objects = self->show_objects;
  s.patches = self->show_patches;
  s.transformer = self->show_transformer;
  s.token_map = self->token_map;
  s.token = self->token;
  s.token_frames = self->token_frames;
  g_mutex_unlock (&self->lock);
  GstAttentionMeta *meta =
      gst_buffer_get_attention_meta_by_producer (buf, producer);
  if (!meta && !(s.objects && gst_buffer_get_attention_object (buf, producer,
              0)) && !(s.patches && gst_buffer_get_attention_patch (buf,
              producer, 0)))
    return GST_FLOW_OK;

  g_mutex_lock (&self->lock);
  if (g_strcmp0 (self->map_name, self->map_cur) != 0) {
    g_free (self->map_cur);
    self->map_cur = g_strdup (self->map_name);
  }
  g_mutex_unlock (&self->lock);

  Target t;
  if (!target_begin (self, frame, s.composition
          || self->downstream_composites, s.colormap, &t))
    return GST_FLOW_OK;
  OverlayInput in;
  if (meta) {
    input_from_meta (self, meta, &s, GST_VIDEO_FRAME_WIDTH (frame),
        GST_VIDEO_FRAME_HEIGHT (frame), &in);
    labels_render (self, &in, &in.pic);
    target_paint (&t, &in.pic);
    self->frames_drawn++;
  }
  /* each object after the frame's picture, its label on its box's top
   * edge, above it where there is room, else inside, moved left to stay on
   * the frame (the label surface is
   * re-rendered per object, so each is painted before the next is
   * rendered) */
  for (int patches = 0; patches < 2; patches++) {
    GstVideoRegionOfInterestMeta *roi;
    for (guint i = 0; (patches ? s.patches : s.objects) && (roi = patches
            ? gst_buffer_get_attention_patch (buf, producer, i)
            : gst_buffer_get_attention_object (buf, producer, i)); i++) {
      input_from_object (self, roi, gst_attention_roi_get_result (roi,
              producer), &s, !patches, &in);
      labels_render (self, &in, &in.pic);
      in.pic.labels_x = MAX (MIN (in.pic.box_x,
              self->width - in.pic.labels_w), 0);
      in.pic.labels_y = in.pic.box_y >= in.pic.labels_h
          ? in.pic.box_y - in.pic.labels_h : in.pic.box_y;
      target_paint (&t, &in.pic);
    }
  }
  target_end (self, buf, &t);
  return GST_FLOW_OK;
}

static gboolean
gst_attention_overlay_stop (GstBaseTransform *trans)
{
  GstAttentionOverlay *self = GST_ATTENTION_OVERLAY (trans);
  paint_clear (&self->painter);
  paint_clear (&self->canvas);
  canvas_pool_clear (self);
  text_clear (self);
  g_clear_pointer (&self->map_warned, g_free);
  g_clear_pointer (&self->token_sum, g_free);
  self->token_sum_n = 0;
  self->frames_drawn = 0;
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
    case PROP_PRODUCER:
      g_free (self->producer);
      self->producer = g_value_dup_string (value);
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
    case PROP_PATCHES:
      self->show_patches = g_value_get_boolean (value);
      break;
    case PROP_SHOW_TRANSFORMER:
      self->show_transformer = g_value_get_boolean (value);
      break;
    case PROP_TOKEN_MAP:
      self->token_map = g_value_get_enum (value);
      break;
    case PROP_TOKEN:
      self->token = g_value_get_uint (value);
      break;
    case PROP_TOKEN_FRAMES:
      self->token_frames = g_value_get_uint (value);
      break;
    case PROP_OBJECTS:
      self->show_objects = g_value_get_boolean (value);
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
    case PROP_PRODUCER:
      g_value_set_string (value, self->producer);
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
    case PROP_PATCHES:
      g_value_set_boolean (value, self->show_patches);
      break;
    case PROP_SHOW_TRANSFORMER:
      g_value_set_boolean (value, self->show_transformer);
      break;
    case PROP_TOKEN_MAP:
      g_value_set_enum (value, self->token_map);
      break;
    case PROP_TOKEN:
      g_value_set_uint (value, self->token);
      break;
    case PROP_TOKEN_FRAMES:
      g_value_set_uint (value, self->token_frames);
      break;
    case PROP_OBJECTS:
      g_value_set_boolean (value, self->show_objects);
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
  g_free (self->producer);
  g_free (self->map_cur);
  g_free (self->map_warned);
  g_free (self->token_sum);
  paint_clear (&self->painter);
  paint_clear (&self->canvas);
  text_clear (self);
  g_string_free (self->text_want, TRUE);
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
          "final map. A name the model's meta does not have draws no heat "
          "map and posts a warning (once per name and model) listing the "
          "maps it has", "", rw));
  g_object_class_install_property (gobject_class, PROP_PRODUCER,
      g_param_spec_string ("producer", "Producer",
          "Draw the attention meta of the producer element (or model) with "
          "this name; unset or empty: the nearest producer upstream", NULL,
          rw));
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
          "(the same heat map, labels and box, as one frame-sized "
          "premultiplied ARGB rectangle) for a downstream element "
          "that composites. This happens anyway when downstream says, in its "
          "allocation answer, that it handles that meta", FALSE, rw));

  g_object_class_install_property (gobject_class, PROP_SHOW_TRANSFORMER,
      g_param_spec_boolean ("show-transformer", "Show transformer",
          "For a model with a Spatial Transformer: draw where it looks, the "
          "quadrilateral its output's corners sample on the frame (yellow)",
          FALSE, rw));
  g_object_class_install_property (gobject_class, PROP_PATCHES,
      g_param_spec_boolean ("patches", "Patches",
          "Draw each coarse-to-fine patch (attentioninfer patches=N): its "
          "box, top class and heat map", TRUE, rw));
  g_object_class_install_property (gobject_class, PROP_OBJECTS,
      g_param_spec_boolean ("objects", "Objects",
          "Draw the objects the producer classified one by one "
          "(attentioninfer inference-region=roi-list): each one's box, its "
          "type and top class, and its heat map", TRUE, rw));

  g_object_class_install_property (gobject_class, PROP_TOKEN_MAP,
      g_param_spec_enum ("token-map", "Token map",
          "For a model with a decoder head (it writes a sentence): whose "
          "attention the heat map shows — each token's in turn (cycle), the "
          "one `token` names, their sum, or none (the backbone's map). "
          "The sentence is written above the classes, the shown token in "
          "brackets. A `map` that is set wins",
          gst_attention_token_map_get_type (), DEFAULT_TOKEN_MAP, rw));
  g_object_class_install_property (gobject_class, PROP_TOKEN,
      g_param_spec_uint ("token", "Token",
          "token-map=token: the token (0-based) whose attention is shown; "
          "past the sentence's end, its last token", 0, 255, 0, rw));
  g_object_class_install_property (gobject_class, PROP_TOKEN_FRAMES,
      g_param_spec_uint ("token-frames", "Frames per token",
          "token-map=cycle: frames each token's attention is shown for",
          1, 100000, DEFAULT_TOKEN_FRAMES, rw));

  gst_element_class_set_static_metadata (element_class, "Attention overlay",
      "Filter/Effect/Video/Overlay",
      "Draws attention heat maps, top classes and the attended region from "
      "attentioninfer's metadata", "gst-attention developers");
  GstCaps *caps = gst_caps_from_string (ATTN_VIDEO_CAPS);
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
  gst_type_mark_as_plugin_api (gst_attention_token_map_get_type (), 0);
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
  self->show_objects = TRUE;
  self->show_patches = TRUE;
  self->token_map = DEFAULT_TOKEN_MAP;
  self->token_frames = DEFAULT_TOKEN_FRAMES;
  self->text_want = g_string_new (NULL);
}
