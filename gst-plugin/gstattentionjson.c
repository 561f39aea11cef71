/**
 * SECTION:element-attentionjson
 * @title: attentionjson
 *
 * Writes one JSON object per frame (JSON Lines) describing the attention
 * meta on it — frame number, timestamp, producer, model, top classes, the
 * attended region in pixels, and on request every attention map — to a file
 * or stdout, for tools and dashboards. Passthrough: buffers are never
 * touched. Every line is strict JSON (RFC 8259: valid UTF-8, no NaN or
 * infinity); the schema, versioned by its `version` field, is in
 * docs/json-output.md.
 *
 * With several attention producers upstream (two `attentioninfer`), the
 * nearest one's meta is written, or the one `producer` names;
 * `all-producers` adds every one's under `results`.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc pattern=ball num-buffers=10 ! attentioninfer ! attentionjson location=attention.jsonl ! fakesink
 * ]|
 */
#include "gstattentionjson.h"

#include <errno.h>
#include <gst/attention/attention-meta.h>
#include <gst/video/video.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_attention_json_debug);
#define GST_CAT_DEFAULT gst_attention_json_debug

/* the schema's version: 2 renamed roi to region, peak_x/peak_y to
 * centroid_x/centroid_y, put the maps' areas in pixels and added producer */
#define SCHEMA_VERSION 2

enum {
  PROP_0,
  PROP_LOCATION,
  PROP_INCLUDE_MAPS,
  PROP_PRODUCER,
  PROP_ALL_PRODUCERS,
};

struct _GstAttentionJson {
  GstBaseTransform parent;

  GMutex lock;
  gchar *location;
  gboolean include_maps;
  gchar *producer;
  gboolean all_producers;
  gboolean started;

  FILE *out;                    /* streaming thread only */
  gboolean own_file;
  GString *line;                /* reused for every frame */
  guint64 count;                /* frames written */
  gint width, height;
};

#define gst_attention_json_parent_class parent_class
G_DEFINE_TYPE (GstAttentionJson, gst_attention_json, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (attentionjson, "attentionjson", GST_RANK_NONE,
    GST_TYPE_ATTENTION_JSON);

static gboolean
to_stdout (const gchar *location)
{
  return !location || !*location || strcmp (location, "-") == 0;
}

static gboolean
gst_attention_json_start (GstBaseTransform *trans)
{
  GstAttentionJson *self = GST_ATTENTION_JSON (trans);
  g_mutex_lock (&self->lock);
  gchar *loc = g_strdup (self->location);
  g_mutex_unlock (&self->lock);
  self->count = 0;
  if (to_stdout (loc)) {
    self->out = stdout;
    self->own_file = FALSE;
  } else {
    self->out = fopen (loc, "w");
    if (!self->out) {
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
          ("Could not open \"%s\" for writing.", loc), ("%s",
              g_strerror (errno)));
      g_free (loc);
      return FALSE;
    }
    self->own_file = TRUE;
  }
  g_free (loc);
  self->line = g_string_sized_new (4096);
  g_mutex_lock (&self->lock);
  self->started = TRUE;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
gst_attention_json_stop (GstBaseTransform *trans)
{
  GstAttentionJson *self = GST_ATTENTION_JSON (trans);
  if (self->own_file && self->out)
    fclose (self->out);
  self->out = NULL;
  if (self->line)
    g_string_free (self->line, TRUE);
  self->line = NULL;
  g_mutex_lock (&self->lock);
  self->started = FALSE;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
gst_attention_json_set_caps (GstBaseTransform *trans, GstCaps *in,
    GstCaps *out)
{
  GstAttentionJson *self = GST_ATTENTION_JSON (trans);
  GstVideoInfo info;
  if (!gst_video_info_from_caps (&info, in))
    return FALSE;
  self->width = info.width;
  self->height = info.height;
  return TRUE;
}

/* ---- a strict JSON writer ------------------------------------------------ */

/* A string literal: valid UTF-8 out whatever comes in (invalid bytes become
 * U+FFFD), quotes, backslashes and control characters escaped. */
static void
put_string (GString *s, const gchar *str)
{
  g_string_append_c (s, '"');
  const gchar *p = str ? str : "";
  while (*p) {
    gunichar c = g_utf8_get_char_validated (p, -1);
    if (c == (gunichar) - 1 || c == (gunichar) - 2) {
      g_string_append (s, "\\ufffd");
      p++;
      continue;
    }
    if (c == '"' || c == '\\') {
      g_string_append_c (s, '\\');
      g_string_append_c (s, (gchar) c);
    } else if (c < 0x20) {
      g_string_append_printf (s, "\\u%04x", c);
    } else {
      g_string_append_len (s, p, g_utf8_next_char (p) - p);
    }
    p = g_utf8_next_char (p);
  }
  g_string_append_c (s, '"');
}

static void
put_key (GString *s, const gchar *key)
{
  if (s->len && s->str[s->len - 1] != '{' && s->str[s->len - 1] != '[')
    g_string_append_c (s, ',');
  put_string (s, key);
  g_string_append_c (s, ':');
}

/* A number with at most `decimals` decimals, trailing zeros dropped; null
 * for NaN and infinities, which JSON cannot write. */
static void
put_number (GString *s, gdouble v, gint decimals)
{
  if (!isfinite (v)) {
    g_string_append (s, "null");
    return;
  }
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
  gchar fmt[8];
  g_snprintf (fmt, sizeof fmt, "%%.%df", decimals);
  g_ascii_formatd (buf, sizeof buf, fmt, v);
  if (strchr (buf, '.')) {
    gsize n = strlen (buf);
    while (buf[n - 1] == '0')
      buf[--n] = 0;
    if (buf[n - 1] == '.')
      buf[--n] = 0;
  }
  if (strcmp (buf, "-0") == 0)
    strcpy (buf, "0");
  g_string_append (s, buf);
}

static void
put_int (GString *s, gint64 v)
{
  g_string_append_printf (s, "%" G_GINT64_FORMAT, v);
}

static void
put_bool (GString *s, gboolean v)
{
  g_string_append (s, v ? "true" : "false");
}

static void
sep (GString *s)
{
  if (s->str[s->len - 1] != '[')
    g_string_append_c (s, ',');
}

/* ---- the frame's line ---------------------------------------------------- */

/* The fields of one attention meta, into the open object. */
static void
put_result (GstAttentionJson *self, GString *s, const GstAttentionMeta *m,
            gboolean maps)
{
  const GstAttentionResult *r = m->result;
  gdouble fw = self->width, fh = self->height;
  put_key (s, "producer");
  put_string (s, m->producer);
  put_key (s, "model");
  put_string (s, r->model);
  put_key (s, "stale");
  put_bool (s, m->stale);
  put_key (s, "computed_on");
  put_int (s, (gint64) r->frame);
  put_key (s, "inference_ns");
  put_int (s, (gint64) r->inference_ns);
  put_key (s, "classes");
  g_string_append_c (s, '[');
  for (guint i = 0; i < r->n_classes; i++) {
    sep (s);
    g_string_append_c (s, '{');
    put_key (s, "index");
    put_int (s, r->classes[i].index);
    put_key (s, "label");
    put_string (s, r->classes[i].label);
    put_key (s, "score");
    put_number (s, r->classes[i].score, 6);
    g_string_append_c (s, '}');
  }
  g_string_append_c (s, ']');
  put_key (s, "region");
  gint x, y, w, h;
  if (gst_attention_meta_get_region_pixels (m, self->width, self->height,
          &x, &y, &w, &h)) {
    g_string_append_c (s, '{');
    put_key (s, "x");
    put_int (s, x);
    put_key (s, "y");
    put_int (s, y);
    put_key (s, "w");
    put_int (s, w);
    put_key (s, "h");
    put_int (s, h);
    put_key (s, "score");
    put_number (s, r->region.score, 4);
    put_key (s, "peak");
    put_number (s, r->region.peak, 4);
    put_key (s, "centroid_x");
    put_number (s, r->region.centroid_x * fw, 1);
    put_key (s, "centroid_y");
    put_number (s, r->region.centroid_y * fh, 1);
    g_string_append_c (s, '}');
  } else {
    g_string_append (s, "null");
  }
  if (!maps)
    return;
  put_key (s, "maps");
  g_string_append_c (s, '[');
  for (guint i = 0; i < r->n_maps; i++) {
    const GstAttentionMap *mp = &r->maps[i];
    sep (s);
    g_string_append_c (s, '{');
    put_key (s, "name");
    put_string (s, mp->name);
    put_key (s, "width");
    put_int (s, mp->width);
    put_key (s, "height");
    put_int (s, mp->height);
    const gchar *k[4] = { "x", "y", "w", "h" };
    const gdouble v[4] = { mp->x * fw, mp->y * fh, mp->w * fw, mp->h * fh };
    for (int j = 0; j < 4; j++) {
      put_key (s, k[j]);
      put_number (s, v[j], 2);
    }
    put_key (s, "data");
    g_string_append_c (s, '[');
    for (guint j = 0; j < mp->width * mp->height; j++) {
      sep (s);
      put_number (s, mp->data[j], 4);
    }
    g_string_append_c (s, ']');
    g_string_append_c (s, '}');
  }
  g_string_append_c (s, ']');
}

static void
frame_json (GstAttentionJson *self, GString *s, GstBuffer *buf,
            const gchar *producer, gboolean maps, gboolean all)
{
  GstAttentionMeta *m = gst_buffer_get_attention_meta_by_producer (buf,
      producer);
  g_string_truncate (s, 0);
  g_string_append_c (s, '{');
  put_key (s, "version");
  put_int (s, SCHEMA_VERSION);
  /* one frame identity: the producer's number of this frame, the same
   * counter computed_on uses */
  put_key (s, "frame");
  if (m)
    put_int (s, (gint64) m->frame);
  else
    g_string_append (s, "null");
  put_key (s, "pts");
  if (GST_BUFFER_PTS_IS_VALID (buf))
    put_int (s, (gint64) GST_BUFFER_PTS (buf));
  else
    g_string_append (s, "null");
  put_key (s, "width");
  put_int (s, self->width);
  put_key (s, "height");
  put_int (s, self->height);
  put_key (s, "attention");
  put_bool (s, m != NULL);
  if (m)
    put_result (self, s, m, maps);
  if (all) {
    put_key (s, "results");
    g_string_append_c (s, '[');
    /* nearest producer first */
    guint n = gst_buffer_get_n_attention_metas (buf);
    for (guint order = G_MAXUINT, done = 0; done < n; done++) {
      GstAttentionMeta *best = NULL;
      gpointer state = NULL;
      GstMeta *meta;
      while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
                  GST_ATTENTION_META_API_TYPE))) {
        GstAttentionMeta *am = (GstAttentionMeta *) meta;
        if (am->order < order && (!best || am->order > best->order))
          best = am;
      }
      if (!best)
        break;
      order = best->order;
      sep (s);
      g_string_append_c (s, '{');
      put_key (s, "frame");
      put_int (s, (gint64) best->frame);
      put_result (self, s, best, maps);
      g_string_append_c (s, '}');
    }
    g_string_append_c (s, ']');
  }
  g_string_append (s, "}\n");
}

static GstFlowReturn
gst_attention_json_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  GstAttentionJson *self = GST_ATTENTION_JSON (trans);
  g_mutex_lock (&self->lock);
  gboolean maps = self->include_maps, all = self->all_producers;
  const gchar *producer = g_intern_string (self->producer);
  g_mutex_unlock (&self->lock);
  frame_json (self, self->line, buf, producer, maps, all);
  self->count++;
  gboolean ok = fwrite (self->line->str, 1, self->line->len, self->out)
      == self->line->len && fflush (self->out) == 0;
  if (!ok) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE, ("Could not write JSON."),
        ("%s", g_strerror (errno)));
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

static void
gst_attention_json_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  GstAttentionJson *self = GST_ATTENTION_JSON (object);
  g_mutex_lock (&self->lock);
  switch (prop_id) {
    case PROP_LOCATION:
      if (self->started) {
        /* as filesink: the file is open, a new name would be ignored */
        g_mutex_unlock (&self->lock);
        GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
            ("Changing the location while the element runs is not "
                "supported; still writing to the file opened at start."),
            (NULL));
        return;
      }
      g_free (self->location);
      self->location = g_value_dup_string (value);
      break;
    case PROP_INCLUDE_MAPS:
      self->include_maps = g_value_get_boolean (value);
      break;
    case PROP_PRODUCER:
      g_free (self->producer);
      self->producer = g_value_dup_string (value);
      break;
    case PROP_ALL_PRODUCERS:
      self->all_producers = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  g_mutex_unlock (&self->lock);
}

static void
gst_attention_json_get_property (GObject *object, guint prop_id,
    GValue *value, GParamSpec *pspec)
{
  GstAttentionJson *self = GST_ATTENTION_JSON (object);
  g_mutex_lock (&self->lock);
  switch (prop_id) {
    case PROP_LOCATION:
      g_value_set_string (value, self->location);
      break;
    case PROP_INCLUDE_MAPS:
      g_value_set_boolean (value, self->include_maps);
      break;
    case PROP_PRODUCER:
      g_value_set_string (value, self->producer);
      break;
    case PROP_ALL_PRODUCERS:
      g_value_set_boolean (value, self->all_producers);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  g_mutex_unlock (&self->lock);
}

static void
gst_attention_json_finalize (GObject *object)
{
  GstAttentionJson *self = GST_ATTENTION_JSON (object);
  g_free (self->location);
  g_free (self->producer);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_attention_json_class_init (GstAttentionJsonClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_attention_json_debug, "attentionjson", 0,
      "attention JSON output");
  gobject_class->set_property = gst_attention_json_set_property;
  gobject_class->get_property = gst_attention_json_get_property;
  gobject_class->finalize = gst_attention_json_finalize;

  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "File to write the JSON lines to (truncated at start); \"-\" or "
          "unset: stdout. Fixed while the element runs", NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_PRODUCER,
      g_param_spec_string ("producer", "Producer",
          "Write the attention meta of the producer element (or model) with "
          "this name; unset or empty: the nearest producer upstream", NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_ALL_PRODUCERS,
      g_param_spec_boolean ("all-producers", "All producers",
          "Also write every producer's meta, nearest first, under \"results\"",
          FALSE, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_INCLUDE_MAPS,
      g_param_spec_boolean ("include-maps", "Include maps",
          "Also write every attention map's values", FALSE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_set_static_metadata (element_class, "Attention JSON",
      "Filter/Formatter/Video", "Writes the attention meta of every frame as "
      "JSON Lines", "gst-attention developers");
  GstCaps *caps = gst_caps_from_string ("video/x-raw");
  gst_element_class_add_pad_template (element_class,
      gst_pad_template_new ("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
  gst_element_class_add_pad_template (element_class,
      gst_pad_template_new ("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
  gst_caps_unref (caps);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_attention_json_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_attention_json_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_attention_json_set_caps);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_attention_json_transform_ip);
  trans_class->transform_ip_on_passthrough = TRUE;
  trans_class->passthrough_on_same_caps = TRUE;
}

static void
gst_attention_json_init (GstAttentionJson *self)
{
  g_mutex_init (&self->lock);
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
}
