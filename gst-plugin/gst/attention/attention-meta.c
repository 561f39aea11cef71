/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GStreamer attention metadata — the meta; see attention-meta.h and
 * attention-producer.h. */
#include "attention-producer.h"

#include <gst/video/video.h>
#include <math.h>
#include <string.h>

static gboolean
meta_init (GstMeta *meta, gpointer params, GstBuffer *buffer)
{
  GstAttentionMeta *m = (GstAttentionMeta *) meta;
  memset ((guint8 *) m + sizeof (GstMeta), 0,
          sizeof (GstAttentionMeta) - sizeof (GstMeta));
  return TRUE;
}

static void
meta_free (GstMeta *meta, GstBuffer *buffer)
{
  GstAttentionMeta *m = (GstAttentionMeta *) meta;
  gst_attention_result_unref ((GstAttentionResult *) m->result);
  m->result = NULL;
}

/* Whether @buffer already carries the meta @m was copied from (the same
 * producer's meta, attached once per buffer). */
static gboolean
has_same (GstBuffer *buffer, const GstAttentionMeta *m)
{
  gpointer state = NULL;
  GstMeta *meta;
  while ((meta = gst_buffer_iterate_meta_filtered (buffer, &state,
              GST_ATTENTION_META_API_TYPE))) {
    const GstAttentionMeta *o = (const GstAttentionMeta *) meta;
    if (o->order == m->order && o->producer == m->producer)
      return TRUE;
  }
  return FALSE;
}

static gboolean
meta_transform (GstBuffer *dest, GstMeta *meta, GstBuffer *buffer,
                GQuark type, gpointer data)
{
  GstAttentionMeta *src = (GstAttentionMeta *) meta;
  /* Everything is frame-normalised, so a copy and a scale are the same
   * operation; anything else (crop, flip, rotation) would move the content
   * under the coordinates, so the meta is dropped then. */
  if (!GST_META_TRANSFORM_IS_COPY (type)
      && type != gst_video_meta_transform_scale_get_quark ())
    return FALSE;
  if (GST_META_TRANSFORM_IS_COPY (type)) {
    GstMetaTransformCopy *copy = data;
    if (copy->region)
      return FALSE;            /* a part of the buffer: not a whole frame */
  }
  /* every producer's meta is copied; only a second copy of the same one is
   * skipped (a buffer copied onto one that already has it) */
  if (has_same (dest, src))
    return TRUE;
  GstAttentionMeta *dst = (GstAttentionMeta *) gst_buffer_add_meta (dest,
      GST_ATTENTION_META_INFO, NULL);
  if (!dst)
    return FALSE;
  dst->producer = src->producer;
  dst->order = src->order;
  dst->frame = src->frame;
  dst->stale = src->stale;
  dst->result = gst_attention_result_ref ((GstAttentionResult *) src->result);
  return TRUE;
}

/**
 * gst_attention_meta_api_get_type:
 *
 * Returns: the API type of #GstAttentionMeta, for
 *   gst_buffer_iterate_meta_filtered()
 */
GType
gst_attention_meta_api_get_type (void)
{
  static GType type = 0;
  static const gchar *tags[] = { GST_META_TAG_VIDEO_STR,
    GST_META_TAG_VIDEO_ORIENTATION_STR, GST_META_TAG_VIDEO_SIZE_STR, NULL
  };
  if (g_once_init_enter (&type)) {
    GType t = gst_meta_api_type_register ("GstAttentionMetaAPI", tags);
    g_once_init_leave (&type, t);
  }
  return type;
}

/**
 * gst_attention_meta_get_info:
 *
 * Returns: (transfer none): the registered #GstMetaInfo of #GstAttentionMeta
 */
const GstMetaInfo *
gst_attention_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;
  if (g_once_init_enter ((GstMetaInfo **) & info)) {
    const GstMetaInfo *mi = gst_meta_register (GST_ATTENTION_META_API_TYPE,
        "GstAttentionMeta", sizeof (GstAttentionMeta), meta_init, meta_free,
        meta_transform);
    g_once_init_leave ((GstMetaInfo **) & info, (GstMetaInfo *) mi);
  }
  return info;
}

GstAttentionMeta *
gst_buffer_add_attention_meta (GstBuffer *buffer, GstAttentionResult *result,
                               const gchar *producer, guint64 frame)
{
  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (result != NULL, NULL);
  guint order = 0;
  gpointer state = NULL;
  GstMeta *meta;
  while ((meta = gst_buffer_iterate_meta_filtered (buffer, &state,
              GST_ATTENTION_META_API_TYPE)))
    order = MAX (order, ((GstAttentionMeta *) meta)->order);
  GstAttentionMeta *m = (GstAttentionMeta *) gst_buffer_add_meta (buffer,
      GST_ATTENTION_META_INFO, NULL);
  if (!m)
    return NULL;
  m->producer = g_intern_string (producer ? producer : "");
  m->order = order + 1;
  m->frame = frame;
  m->stale = result->frame != frame;
  m->result = gst_attention_result_ref (result);
  return m;
}

/**
 * gst_buffer_get_attention_meta_by_producer:
 * @buffer: a buffer
 * @name: (nullable): a producer element's name or a model's name; %NULL or
 *   empty for the nearest producer
 *
 * Returns: (transfer none) (nullable): the attention meta whose producer
 *   element or model is named @name (the nearest such), or %NULL
 */
GstAttentionMeta *
gst_buffer_get_attention_meta_by_producer (GstBuffer *buffer,
                                           const gchar *name)
{
  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  GstAttentionMeta *best = NULL;
  gpointer state = NULL;
  GstMeta *meta;
  gboolean any = !name || !*name;
  while ((meta = gst_buffer_iterate_meta_filtered (buffer, &state,
              GST_ATTENTION_META_API_TYPE))) {
    GstAttentionMeta *m = (GstAttentionMeta *) meta;
    if (!any && g_strcmp0 (m->producer, name) != 0
        && g_strcmp0 (m->result->model, name) != 0)
      continue;
    if (!best || m->order > best->order)
      best = m;
  }
  return best;
}

/**
 * gst_buffer_get_attention_meta:
 * @buffer: a buffer
 *
 * Returns: (transfer none) (nullable): the nearest producer's attention meta
 *   on @buffer (the highest order), or %NULL
 */
GstAttentionMeta *
gst_buffer_get_attention_meta (GstBuffer *buffer)
{
  return gst_buffer_get_attention_meta_by_producer (buffer, NULL);
}

/**
 * gst_buffer_get_n_attention_metas:
 * @buffer: a buffer
 *
 * Returns: the number of attention metas on @buffer, one per producer
 */
guint
gst_buffer_get_n_attention_metas (GstBuffer *buffer)
{
  g_return_val_if_fail (GST_IS_BUFFER (buffer), 0);
  guint n = 0;
  gpointer state = NULL;
  while (gst_buffer_iterate_meta_filtered (buffer, &state,
          GST_ATTENTION_META_API_TYPE))
    n++;
  return n;
}

/**
 * gst_attention_meta_get_result:
 * @meta: a meta
 *
 * Returns: (transfer none): what the network computed (shared, read-only;
 *   bindings take a reference of their own)
 */
const GstAttentionResult *
gst_attention_meta_get_result (const GstAttentionMeta *meta)
{
  g_return_val_if_fail (meta != NULL, NULL);
  return meta->result;
}

/**
 * gst_attention_meta_get_map: (skip)
 * @meta: a meta
 * @name: (nullable): a map's name, or %NULL for the final map
 *
 * Bindings use gst_attention_meta_get_result() and the result's accessors.
 *
 * Returns: (transfer none) (nullable): the map, or %NULL if there is none
 */
const GstAttentionMap *
gst_attention_meta_get_map (const GstAttentionMeta *meta, const gchar *name)
{
  g_return_val_if_fail (meta != NULL, NULL);
  return gst_attention_result_get_map (meta->result, name);
}

/**
 * gst_attention_meta_get_region_pixels:
 * @meta: a meta
 * @width: the frame's width in pixels
 * @height: the frame's height in pixels
 * @x: (out) (optional): left edge, pixels
 * @y: (out) (optional): top edge
 * @w: (out) (optional): width
 * @h: (out) (optional): height
 *
 * The attended region in pixels of a @width × @height frame, rounded
 * outwards, within the frame.
 *
 * Returns: %FALSE if there is no region
 */
gboolean
gst_attention_meta_get_region_pixels (const GstAttentionMeta *meta,
                                      gint width, gint height, gint *x,
                                      gint *y, gint *w, gint *h)
{
  g_return_val_if_fail (meta != NULL, FALSE);
  return gst_attention_result_get_region_pixels (meta->result, width, height,
      x, y, w, h);
}

/* ---- objects: results on regions of interest ----------------------------- */

/* The "attention" parameter of @roi with a result of @name's (NULL or
 * empty: any producer), or NULL. */
static const GstStructure *
object_param (GstVideoRegionOfInterestMeta *roi, const gchar *name)
{
  gboolean any = !name || !*name;
  for (GList *l = roi->params; l; l = l->next) {
    const GstStructure *s = l->data;
    if (!gst_structure_has_name (s, "attention")
        || !gst_structure_has_field_typed (s, "result",
            GST_TYPE_ATTENTION_RESULT))
      continue;
    if (any || g_strcmp0 (gst_structure_get_string (s, "producer"),
            name) == 0 || g_strcmp0 (gst_structure_get_string (s, "model"),
            name) == 0)
      return s;
  }
  return NULL;
}

/**
 * gst_attention_roi_add_result:
 * @roi: a region of interest
 * @result: what the network computed on it (a reference is taken)
 * @producer: the element that computed it
 *
 * Attaches @result to the object @roi as a parameter named "attention"
 * holding "producer", "model", "label", "confidence" and "label-id" (the top
 * class, when there is one) and the result itself ("result", a
 * #GstAttentionResult), as classifiers attach their classes to detections.
 * Its maps and region are frame-normalised, like every result's.
 */
void
gst_attention_roi_add_result (GstVideoRegionOfInterestMeta *roi,
                              GstAttentionResult *result,
                              const gchar *producer)
{
  g_return_if_fail (roi != NULL);
  g_return_if_fail (result != NULL);
  GstStructure *s = gst_structure_new ("attention",
      "producer", G_TYPE_STRING, producer ? producer : "",
      "model", G_TYPE_STRING, result->model,
      "result", GST_TYPE_ATTENTION_RESULT, result, NULL);
  if (result->n_classes > 0)
    gst_structure_set (s, "label", G_TYPE_STRING, result->classes[0].label,
        "confidence", G_TYPE_DOUBLE, (gdouble) result->classes[0].score,
        "label-id", G_TYPE_UINT, result->classes[0].index, NULL);
  gst_video_region_of_interest_meta_add_param (roi, s);
}

/**
 * gst_attention_roi_get_result:
 * @roi: a region of interest
 * @producer: (nullable): a producer element's name or a model's name; %NULL
 *   or empty for any
 *
 * Returns: (transfer none) (nullable): the result @producer computed on the
 *   object @roi (the first such), valid while the meta lives, or %NULL
 */
const GstAttentionResult *
gst_attention_roi_get_result (GstVideoRegionOfInterestMeta *roi,
                              const gchar *producer)
{
  g_return_val_if_fail (roi != NULL, NULL);
  const GstStructure *s = object_param (roi, producer);
  if (!s)
    return NULL;
  return g_value_get_boxed (gst_structure_get_value (s, "result"));
}

/**
 * gst_attention_roi_get_producer:
 * @roi: a region of interest
 * @producer: (nullable): a producer element's or model's name, as for
 *   gst_attention_roi_get_result(); %NULL or empty for any
 *
 * Returns: (transfer none) (nullable): the name of the element that
 *   attached the result gst_attention_roi_get_result() returns, or %NULL
 */
const gchar *
gst_attention_roi_get_producer (GstVideoRegionOfInterestMeta *roi,
                                const gchar *producer)
{
  g_return_val_if_fail (roi != NULL, NULL);
  const GstStructure *s = object_param (roi, producer);
  return s ? gst_structure_get_string (s, "producer") : NULL;
}

/**
 * gst_buffer_get_attention_object:
 * @buffer: a buffer
 * @producer: (nullable): a producer element's name or a model's name; %NULL
 *   or empty for any
 * @index: which object, from 0, in the order the regions were attached
 *
 * Iterates the objects a producer classified: the regions of interest on
 * @buffer that carry a result of @producer's, but for coarse-to-fine
 * patches (gst_buffer_get_attention_patch() lists those).
 *
 * Returns: (transfer none) (nullable): the @index-th such region, or %NULL
 *   past the last
 */
/* The index-th region carrying a result of producer's that is (patches) or
 * is not a coarse-to-fine patch. */
static GstVideoRegionOfInterestMeta *
nth_result_region (GstBuffer *buffer, const gchar *producer, guint index,
                   gboolean patches)
{
  GQuark patch = g_quark_from_static_string (GST_ATTENTION_PATCH_TYPE);
  gpointer state = NULL;
  GstMeta *meta;
  while ((meta = gst_buffer_iterate_meta_filtered (buffer, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
    if ((roi->roi_type == patch) == patches && object_param (roi, producer)
        && index-- == 0)
      return roi;
  }
  return NULL;
}

GstVideoRegionOfInterestMeta *
gst_buffer_get_attention_object (GstBuffer *buffer, const gchar *producer,
                                 guint index)
{
  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  return nth_result_region (buffer, producer, index, FALSE);
}

/**
 * gst_buffer_get_attention_patch:
 * @buffer: a buffer
 * @producer: (nullable): a producer element's name or a model's name; %NULL
 *   or empty for any
 * @index: which patch, from 0, most salient first
 *
 * Iterates the patches of a coarse-to-fine pass (attentioninfer
 * `patches=N`): regions of interest of type #GST_ATTENTION_PATCH_TYPE in
 * frame pixels, each with the fine model's result on it (read it with
 * gst_attention_roi_get_result()) and, in its "attention" parameter, the
 * "saliency" that chose it and whether it is "stale" (carried over from an
 * earlier frame's pass).
 *
 * Returns: (transfer none) (nullable): the @index-th patch, or %NULL past
 *   the last
 */
GstVideoRegionOfInterestMeta *
gst_buffer_get_attention_patch (GstBuffer *buffer, const gchar *producer,
                                guint index)
{
  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  return nth_result_region (buffer, producer, index, TRUE);
}
