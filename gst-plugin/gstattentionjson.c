/**
 * SECTION:element-attentionjson
 * @title: attentionjson
 *
 * Writes one JSON object per frame (JSON Lines) describing the attention
 * meta on it — frame number, timestamp, model, top classes, attended region
 * in pixels, and on request every attention map — to a file or stdout, for
 * tools and dashboards. Passthrough: buffers are never touched. The schema is
 * in docs/json-output.md.
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
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_attention_json_debug);
#define GST_CAT_DEFAULT gst_attention_json_debug

enum {
  PROP_0,
  PROP_LOCATION,
  PROP_INCLUDE_MAPS,
};

struct _GstAttentionJson {
  GstBaseTransform parent;

  GMutex lock;
  gchar *location;
  gboolean include_maps;

  FILE *out;                    /* streaming thread only */
  gboolean own_file;
  guint64 frame;
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
  self->frame = 0;
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
  return TRUE;
}

static gboolean
gst_attention_json_stop (GstBaseTransform *trans)
{
  GstAttentionJson *self = GST_ATTENTION_JSON (trans);
  if (self->own_file && self->out)
    fclose (self->out);
  self->out = NULL;
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

static void
add_rounded (JsonBuilder *b, gdouble v, gdouble scale)
{
  json_builder_add_double_value (b, round (v * scale) / scale);
}

static gchar *
frame_json (GstAttentionJson *self, GstBuffer *buf, gboolean maps)
{
  JsonBuilder *b = json_builder_new ();
  GstAttentionMeta *m = gst_buffer_get_attention_meta (buf);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "frame");
  json_builder_add_int_value (b, (gint64) self->frame);
  json_builder_set_member_name (b, "pts");
  if (GST_BUFFER_PTS_IS_VALID (buf))
    json_builder_add_int_value (b, (gint64) GST_BUFFER_PTS (buf));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "width");
  json_builder_add_int_value (b, self->width);
  json_builder_set_member_name (b, "height");
  json_builder_add_int_value (b, self->height);
  json_builder_set_member_name (b, "attention");
  json_builder_add_boolean_value (b, m != NULL);
  if (m) {
    json_builder_set_member_name (b, "model");
    json_builder_add_string_value (b, m->model);
    json_builder_set_member_name (b, "stale");
    json_builder_add_boolean_value (b, m->stale);
    json_builder_set_member_name (b, "computed_on");
    json_builder_add_int_value (b, (gint64) m->frame);
    json_builder_set_member_name (b, "inference_ns");
    json_builder_add_int_value (b, (gint64) m->inference_ns);
    json_builder_set_member_name (b, "classes");
    json_builder_begin_array (b);
    for (guint i = 0; i < m->n_classes; i++) {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "index");
      json_builder_add_int_value (b, m->classes[i].index);
      json_builder_set_member_name (b, "label");
      json_builder_add_string_value (b, m->classes[i].label);
      json_builder_set_member_name (b, "score");
      add_rounded (b, m->classes[i].score, 1e6);
      json_builder_end_object (b);
    }
    json_builder_end_array (b);
    json_builder_set_member_name (b, "roi");
    gint x, y, w, h;
    if (gst_attention_meta_get_region_pixels (m, self->width, self->height,
            &x, &y, &w, &h)) {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "x");
      json_builder_add_int_value (b, x);
      json_builder_set_member_name (b, "y");
      json_builder_add_int_value (b, y);
      json_builder_set_member_name (b, "w");
      json_builder_add_int_value (b, w);
      json_builder_set_member_name (b, "h");
      json_builder_add_int_value (b, h);
      json_builder_set_member_name (b, "score");
      add_rounded (b, m->region.score, 1e4);
      json_builder_set_member_name (b, "peak");
      add_rounded (b, m->region.peak, 1e4);
      json_builder_set_member_name (b, "peak_x");
      add_rounded (b, m->region.peak_x * self->width, 10);
      json_builder_set_member_name (b, "peak_y");
      add_rounded (b, m->region.peak_y * self->height, 10);
      json_builder_end_object (b);
    } else {
      json_builder_add_null_value (b);
    }
    if (maps) {
      json_builder_set_member_name (b, "maps");
      json_builder_begin_array (b);
      for (guint i = 0; i < m->n_maps; i++) {
        const GstAttentionMap *mp = &m->maps[i];
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "name");
        json_builder_add_string_value (b, mp->name);
        json_builder_set_member_name (b, "width");
        json_builder_add_int_value (b, mp->width);
        json_builder_set_member_name (b, "height");
        json_builder_add_int_value (b, mp->height);
        const gchar *k[4] = { "x", "y", "w", "h" };
        const gfloat v[4] = { mp->x, mp->y, mp->w, mp->h };
        for (int j = 0; j < 4; j++) {
          json_builder_set_member_name (b, k[j]);
          add_rounded (b, v[j], 1e6);
        }
        json_builder_set_member_name (b, "data");
        json_builder_begin_array (b);
        for (guint j = 0; j < mp->width * mp->height; j++)
          add_rounded (b, mp->data[j], 1e4);
        json_builder_end_array (b);
        json_builder_end_object (b);
      }
      json_builder_end_array (b);
    }
  }
  json_builder_end_object (b);
  JsonNode *root = json_builder_get_root (b);
  gchar *s = json_to_string (root, FALSE);
  json_node_unref (root);
  g_object_unref (b);
  return s;
}

static GstFlowReturn
gst_attention_json_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  GstAttentionJson *self = GST_ATTENTION_JSON (trans);
  g_mutex_lock (&self->lock);
  gboolean maps = self->include_maps;
  g_mutex_unlock (&self->lock);
  /* one JsonBuilder per frame: json-glib has no reusable writer */
  gchar *line = frame_json (self, buf, maps);
  self->frame++;
  gboolean ok = fputs (line, self->out) >= 0 && fputc ('\n', self->out) != EOF
      && fflush (self->out) == 0;
  g_free (line);
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
      g_free (self->location);
      self->location = g_value_dup_string (value);
      break;
    case PROP_INCLUDE_MAPS:
      self->include_maps = g_value_get_boolean (value);
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
          "unset: stdout", NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_INCLUDE_MAPS,
      g_param_spec_boolean ("include-maps", "Include maps",
          "Also write every attention map's values", FALSE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_set_static_metadata (element_class, "Attention JSON",
      "Sink/Formatter/Video", "Writes the attention meta of every frame as "
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
