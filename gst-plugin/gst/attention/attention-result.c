/* GStreamer attention metadata — results and their pool; see
 * attention-result.h and attention-producer.h. GLib only. */
#include "attention-producer.h"

#include <string.h>

/* A result with what only the pool and the producer see. The public part
 * comes first, so a GstAttentionResult* is a Result*. */
typedef struct {
  GstAttentionResult pub;
  gint refcount;
  GstAttentionResultPool *pool;
  GstAttentionClassification *classes;
  GstAttentionMap *maps;
  gfloat *storage;
  gfloat *channels;
} Result;

struct _GstAttentionResultPool {
  GMutex lock;
  GstAttentionResultLayout layout;
  gchar **names;             /* interned copies of the layout's */
  guint *widths, *heights;
  GQueue free;               /* Result* ready for reuse */
  guint outstanding;         /* results handed out and not yet back */
  guint allocated;
  gboolean released;         /* the owner let go */
};

static Result *
result_alloc (GstAttentionResultPool *pool)
{
  const GstAttentionResultLayout *l = &pool->layout;
  gsize floats = l->n_channels;
  for (guint i = 0; i < l->n_maps; i++)
    floats += (gsize) pool->widths[i] * pool->heights[i];
  Result *r = g_new0 (Result, 1);
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
  r->pub.classes = r->classes;
  r->pub.maps = r->maps;
  r->pub.n_maps = l->n_maps;
  r->pool = pool;
  pool->allocated++;
  return r;
}

static void
result_free (Result *r)
{
  g_free (r->classes);
  g_free (r->maps);
  g_free (r->storage);
  g_free (r);
}

static void
pool_free (GstAttentionResultPool *pool)
{
  Result *r;
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
  g_return_val_if_fail (layout != NULL, NULL);
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
  g_return_val_if_fail (pool != NULL, NULL);
  g_mutex_lock (&pool->lock);
  Result *r = g_queue_pop_head (&pool->free);
  if (!r)
    r = result_alloc (pool);
  pool->outstanding++;
  g_mutex_unlock (&pool->lock);
  r->refcount = 1;
  GstAttentionResult *p = &r->pub;
  p->model = pool->layout.model;
  p->frame = 0;
  p->inference_ns = 0;
  p->n_classes = 0;
  p->n_channels = 0;
  p->channels = NULL;
  p->has_region = FALSE;
  memset (&p->region, 0, sizeof p->region);
  p->has_theta = FALSE;
  memset (p->theta, 0, sizeof p->theta);
  return p;
}

guint
gst_attention_result_pool_n_allocated (GstAttentionResultPool *pool)
{
  g_mutex_lock (&pool->lock);
  guint n = pool->allocated;
  g_mutex_unlock (&pool->lock);
  return n;
}

GstAttentionClassification *
gst_attention_result_classes_writable (GstAttentionResult *result)
{
  return ((Result *) result)->classes;
}

GstAttentionMap *
gst_attention_result_maps_writable (GstAttentionResult *result)
{
  return ((Result *) result)->maps;
}

gfloat *
gst_attention_result_map_data_writable (GstAttentionResult *result, guint i)
{
  g_return_val_if_fail (i < result->n_maps, NULL);
  return (gfloat *) ((Result *) result)->maps[i].data;
}

gfloat *
gst_attention_result_channels_writable (GstAttentionResult *result)
{
  Result *r = (Result *) result;
  result->channels = r->channels;
  return r->channels;
}

GstAttentionResult *
gst_attention_result_ref (GstAttentionResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_atomic_int_inc (&((Result *) result)->refcount);
  return result;
}

void
gst_attention_result_unref (GstAttentionResult *result)
{
  Result *r = (Result *) result;
  if (!r || !g_atomic_int_dec_and_test (&r->refcount))
    return;
  GstAttentionResultPool *pool = r->pool;
  g_mutex_lock (&pool->lock);
  pool->outstanding--;
  gboolean last = pool->released && pool->outstanding == 0;
  if (pool->released)
    result_free (r);
  else
    g_queue_push_head (&pool->free, r);
  g_mutex_unlock (&pool->lock);
  if (last)
    pool_free (pool);
}

const GstAttentionMap *
gst_attention_result_get_map (const GstAttentionResult *result,
                              const gchar *name)
{
  g_return_val_if_fail (result != NULL, NULL);
  if (result->n_maps == 0)
    return NULL;
  if (!name)
    return &result->maps[result->n_maps - 1];
  for (guint i = 0; i < result->n_maps; i++)
    if (g_strcmp0 (result->maps[i].name, name) == 0)
      return &result->maps[i];
  return NULL;
}

gfloat
gst_attention_map_sample (const GstAttentionMap *map, gfloat x, gfloat y)
{
  g_return_val_if_fail (map != NULL, 0.0f);
  if (map->w <= 0 || map->h <= 0 || map->width == 0 || map->height == 0)
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
