/* GStreamer attention metadata — see attention-meta.h. */
#include "attention-meta.h"

#include <math.h>
#include <string.h>

struct _GstAttentionResultPool {
  GMutex lock;
  GstAttentionResultLayout layout;
  gchar **names;             /* interned copies of the layout's */
  guint *widths, *heights;
  GQueue free;               /* GstAttentionResult* ready for reuse */
  guint outstanding;         /* results handed out and not yet back */
  guint allocated;
  gboolean released;         /* the owner let go */
};

/* ---- results and their pool ---------------------------------------------- */

static GstAttentionResult *
result_alloc (GstAttentionResultPool *pool)
{
  const GstAttentionResultLayout *l = &pool->layout;
  gsize floats = l->n_channels;
  for (guint i = 0; i < l->n_maps; i++)
    floats += (gsize) pool->widths[i] * pool->heights[i];
  GstAttentionResult *r = g_new0 (GstAttentionResult, 1);
  r->classes = g_new0 (GstAttentionClassification, MAX (l->max_classes, 1));
  r->maps = g_new0 (GstAttentionMap, MAX (l->n_maps, 1));
  r->storage = g_new0 (gfloat, MAX (floats, 1));
  gfloat *p = r->storage;
  for (guint i = 0; i < l->n_maps; i++) {
    r->maps[i].name = pool->names[i];
    r->maps[i].width = pool->widths[i];
    r->maps[i].height = pool->heights[i];
    r->maps[i].data = p;
    p += (gsize) pool->widths[i] * pool->heights[i];
  }
  r->channels = l->n_channels ? p : NULL;
  r->n_maps = l->n_maps;
  r->pool = pool;
  pool->allocated++;
  return r;
}

static void
result_free (GstAttentionResult *r)
{
  g_free (r->classes);
  g_free (r->maps);
  g_free (r->storage);
  g_free (r);
}

static void
pool_free (GstAttentionResultPool *pool)
{
  GstAttentionResult *r;
  while ((r = g_queue_pop_head (&pool->free)))
    result_free (r);
  g_free (pool->names);
  g_free (pool->widths);
  g_free (pool->heights);
  g_mutex_clear (&pool->lock);
  g_free (pool);
}

GstAttentionResultPool *
gst_attention_result_pool_new (const GstAttentionResultLayout *layout)
{
  GstAttentionResultPool *pool = g_new0 (GstAttentionResultPool, 1);
  g_mutex_init (&pool->lock);
  g_queue_init (&pool->free);
  pool->layout = *layout;
  pool->layout.model = g_intern_string (layout->model ? layout->model : "");
  guint n = layout->n_maps;
  pool->names = g_new0 (gchar *, n + 1);
  pool->widths = g_new0 (guint, MAX (n, 1));
  pool->heights = g_new0 (guint, MAX (n, 1));
  for (guint i = 0; i < n; i++) {
    pool->names[i] = (gchar *) g_intern_string (layout->map_names[i]);
    pool->widths[i] = layout->map_widths[i];
    pool->heights[i] = layout->map_heights[i];
  }
  pool->layout.map_names = NULL;
  pool->layout.map_widths = NULL;
  pool->layout.map_heights = NULL;
  return pool;
}

void
gst_attention_result_pool_release (GstAttentionResultPool *pool)
{
  if (!pool)
    return;
  g_mutex_lock (&pool->lock);
  pool->released = TRUE;
  gboolean done = pool->outstanding == 0;
  g_mutex_unlock (&pool->lock);
  if (done)
    pool_free (pool);
}

GstAttentionResult *
gst_attention_result_pool_acquire (GstAttentionResultPool *pool)
{
  g_mutex_lock (&pool->lock);
  GstAttentionResult *r = g_queue_pop_head (&pool->free);
  if (!r)
    r = result_alloc (pool);
  pool->outstanding++;
  g_mutex_unlock (&pool->lock);
  r->refcount = 1;
  r->model = pool->layout.model;
  r->frame = 0;
  r->inference_ns = 0;
  r->n_classes = 0;
  r->n_channels = 0;
  r->has_region = FALSE;
  r->has_theta = FALSE;
  return r;
}

guint
gst_attention_result_pool_n_allocated (GstAttentionResultPool *pool)
{
  g_mutex_lock (&pool->lock);
  guint n = pool->allocated;
  g_mutex_unlock (&pool->lock);
  return n;
}

GstAttentionResult *
gst_attention_result_ref (GstAttentionResult *result)
{
  g_atomic_int_inc (&result->refcount);
  return result;
}

void
gst_attention_result_unref (GstAttentionResult *result)
{
  if (!result || !g_atomic_int_dec_and_test (&result->refcount))
    return;
  GstAttentionResultPool *pool = result->pool;
  g_mutex_lock (&pool->lock);
  pool->outstanding--;
  gboolean last = pool->released && pool->outstanding == 0;
  if (pool->released)
    result_free (result);
  else
    g_queue_push_head (&pool->free, result);
  g_mutex_unlock (&pool->lock);
  if (last)
    pool_free (pool);
}

/* ---- the meta ------------------------------------------------------------ */

static void
meta_set_result (GstAttentionMeta *m, GstAttentionResult *r)
{
  m->result = gst_attention_result_ref (r);
  m->model = r->model;
  m->inference_ns = r->inference_ns;
  m->n_classes = r->n_classes;
  m->classes = r->classes;
  m->n_maps = r->n_maps;
  m->maps = r->maps;
  m->n_channels = r->n_channels;
  m->channels = r->n_channels ? r->channels : NULL;
  m->has_region = r->has_region;
  m->region = r->region;
  m->has_theta = r->has_theta;
  memcpy (m->theta, r->theta, sizeof m->theta);
}

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
  gst_attention_result_unref (m->result);
  m->result = NULL;
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
  if (gst_buffer_get_attention_meta (dest))
    return TRUE;
  GstAttentionMeta *dst = (GstAttentionMeta *) gst_buffer_add_meta (dest,
      GST_ATTENTION_META_INFO, NULL);
  if (!dst)
    return FALSE;
  meta_set_result (dst, src->result);
  dst->frame = src->frame;
  dst->stale = src->stale;
  return TRUE;
}

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
                               guint64 frame_number)
{
  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (result != NULL, NULL);
  GstAttentionMeta *m = (GstAttentionMeta *) gst_buffer_add_meta (buffer,
      GST_ATTENTION_META_INFO, NULL);
  if (!m)
    return NULL;
  meta_set_result (m, result);
  m->frame = result->frame;
  m->stale = result->frame != frame_number;
  return m;
}

const GstAttentionMap *
gst_attention_meta_get_map (const GstAttentionMeta *meta, const gchar *name)
{
  g_return_val_if_fail (meta != NULL, NULL);
  if (meta->n_maps == 0)
    return NULL;
  if (!name)
    return &meta->maps[meta->n_maps - 1];
  for (guint i = 0; i < meta->n_maps; i++)
    if (g_strcmp0 (meta->maps[i].name, name) == 0)
      return &meta->maps[i];
  return NULL;
}

gfloat
gst_attention_map_sample (const GstAttentionMap *map, gfloat x, gfloat y)
{
  g_return_val_if_fail (map != NULL, 0.0f);
  if (map->w <= 0 || map->h <= 0)
    return 0.0f;
  /* into map cells, cell centres at integer + 0.5 */
  float u = (x - map->x) / map->w * map->width - 0.5f;
  float v = (y - map->y) / map->h * map->height - 0.5f;
  if (!(u > -1.0f && v > -1.0f && u < map->width && v < map->height))
    return 0.0f;
  u = CLAMP (u, 0.0f, map->width - 1.0f);
  v = CLAMP (v, 0.0f, map->height - 1.0f);
  int x0 = (int) u, y0 = (int) v;
  int x1 = MIN (x0 + 1, (int) map->width - 1);
  int y1 = MIN (y0 + 1, (int) map->height - 1);
  float fx = u - x0, fy = v - y0;
  const float *d = map->data;
  int w = map->width;
  float top = d[y0 * w + x0] * (1 - fx) + d[y0 * w + x1] * fx;
  float bot = d[y1 * w + x0] * (1 - fx) + d[y1 * w + x1] * fx;
  return top * (1 - fy) + bot * fy;
}

gboolean
gst_attention_meta_get_region_pixels (const GstAttentionMeta *meta,
                                      gint width, gint height, gint *x,
                                      gint *y, gint *w, gint *h)
{
  g_return_val_if_fail (meta != NULL, FALSE);
  if (!meta->has_region)
    return FALSE;
  const GstAttentionRegion *r = &meta->region;
  gint x0 = (gint) floorf (r->x * width), y0 = (gint) floorf (r->y * height);
  gint x1 = (gint) ceilf ((r->x + r->w) * width);
  gint y1 = (gint) ceilf ((r->y + r->h) * height);
  x0 = CLAMP (x0, 0, width);
  y0 = CLAMP (y0, 0, height);
  x1 = CLAMP (x1, x0, width);
  y1 = CLAMP (y1, y0, height);
  if (x)
    *x = x0;
  if (y)
    *y = y0;
  if (w)
    *w = x1 - x0;
  if (h)
    *h = y1 - y0;
  return TRUE;
}
