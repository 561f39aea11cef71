/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GStreamer attention metadata — results and their pool; see
 * attention-result.h and attention-producer.h. GLib only. */
#include "attention-producer.h"

#include <math.h>
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
  GstAttentionToken *tokens;
  gchar *sentence;           /* max_sentence bytes */
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
  gsize alpha = (gsize) l->token_width * l->token_height;
  floats += alpha * l->max_tokens;
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
  p += l->n_channels;
  if (l->max_tokens) {
    r->tokens = g_new0 (GstAttentionToken, l->max_tokens);
    for (guint i = 0; i < l->max_tokens; i++) {
      r->tokens[i].alpha.width = l->token_width;
      r->tokens[i].alpha.height = l->token_height;
      r->tokens[i].alpha.data = p;
      p += alpha;
    }
    r->sentence = g_new0 (gchar, MAX (l->max_sentence, 1));
  }
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
  g_free (r->tokens);
  g_free (r->sentence);
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
  p->n_tokens = 0;
  p->tokens = r->tokens;
  if (r->sentence)
    r->sentence[0] = '\0';
  p->sentence = r->sentence;
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

GstAttentionToken *
gst_attention_result_tokens_writable (GstAttentionResult *result)
{
  return ((Result *) result)->tokens;
}

void
gst_attention_result_set_n_tokens (GstAttentionResult *result, guint n)
{
  Result *r = (Result *) result;
  g_return_if_fail (n <= r->pool->layout.max_tokens);
  result->n_tokens = n;
  if (!r->sentence)
    return;
  gsize room = r->pool->layout.max_sentence, used = 0;
  r->sentence[0] = '\0';
  for (guint i = 0; i < n; i++) {
    const gchar *t = r->tokens[i].text ? r->tokens[i].text : "";
    gsize len = strlen (t), need = len + (i ? 1 : 0);
    if (used + need + 1 > room)
      break;                 /* whole tokens only */
    if (i)
      r->sentence[used++] = ' ';
    memcpy (r->sentence + used, t, len);
    used += len;
    r->sentence[used] = '\0';
  }
}

/**
 * gst_attention_result_ref: (skip)
 * @result: a result
 *
 * Keeps @result alive beyond the buffer it came with.
 *
 * Returns: (transfer full): @result
 */
GstAttentionResult *
gst_attention_result_ref (GstAttentionResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_atomic_int_inc (&((Result *) result)->refcount);
  return result;
}

/**
 * gst_attention_result_unref: (skip)
 * @result: (nullable) (transfer full): a result
 *
 * Drops a reference taken with gst_attention_result_ref().
 */
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

/**
 * gst_attention_result_get_map: (skip)
 * @result: a result
 * @name: (nullable): a map's name, or %NULL for the final map
 *
 * Bindings use gst_attention_result_get_map_values() and
 * gst_attention_result_get_map_area(): this pointer lives as long as @result.
 *
 * Returns: (transfer none) (nullable): the map, or %NULL if there is none
 */
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

/**
 * gst_attention_map_sample: (skip)
 * @map: a map
 * @x: frame-normalised column
 * @y: frame-normalised row
 *
 * Bindings use gst_attention_result_sample_map().
 *
 * Returns: the bilinear interpolation of the cell centres at (@x, @y); 0
 *   outside the map's area
 */
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

/* Boxed types for bindings: a result is copied by taking a reference; a
 * region is a plain value. */
G_DEFINE_BOXED_TYPE (GstAttentionResult, gst_attention_result,
    gst_attention_result_ref, gst_attention_result_unref)
G_DEFINE_BOXED_TYPE (GstAttentionRegion, gst_attention_region,
    gst_attention_region_copy, gst_attention_region_free)

/**
 * gst_attention_region_copy:
 * @region: a region
 *
 * Returns: (transfer full): a newly allocated copy of @region
 */
GstAttentionRegion *
gst_attention_region_copy (const GstAttentionRegion *region)
{
  g_return_val_if_fail (region != NULL, NULL);
  return g_memdup2 (region, sizeof *region);
}

/**
 * gst_attention_region_free:
 * @region: (transfer full): a region made by gst_attention_region_copy()
 */
void
gst_attention_region_free (GstAttentionRegion *region)
{
  g_free (region);
}

/**
 * gst_attention_result_get_model:
 * @result: a result
 *
 * Returns: (transfer none): the model's name
 */
const gchar *
gst_attention_result_get_model (const GstAttentionResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  return result->model;
}

/**
 * gst_attention_result_get_frame:
 * @result: a result
 *
 * Returns: the producer's number of the frame this result was computed on
 */
guint64
gst_attention_result_get_frame (const GstAttentionResult *result)
{
  g_return_val_if_fail (result != NULL, 0);
  return result->frame;
}

/**
 * gst_attention_result_get_inference_ns:
 * @result: a result
 *
 * Returns: wall time of the inference (pre-processing + network), in ns
 */
guint64
gst_attention_result_get_inference_ns (const GstAttentionResult *result)
{
  g_return_val_if_fail (result != NULL, 0);
  return result->inference_ns;
}

/**
 * gst_attention_result_get_n_classes:
 * @result: a result
 *
 * Returns: the number of top classes, highest score first
 */
guint
gst_attention_result_get_n_classes (const GstAttentionResult *result)
{
  g_return_val_if_fail (result != NULL, 0);
  return result->n_classes;
}

/**
 * gst_attention_result_get_classification:
 * @result: a result
 * @i: the rank, below gst_attention_result_get_n_classes()
 * @label: (out) (optional) (transfer none): the class name
 * @score: (out) (optional): its probability, 0..1
 * @index: (out) (optional): its index in the model's output
 *
 * The @i-th highest scoring class.
 *
 * Returns: %FALSE if @i is out of range (the out values are left as they are)
 */
gboolean
gst_attention_result_get_classification (const GstAttentionResult *result,
                                         guint i, const gchar **label,
                                         gfloat *score, guint *index)
{
  g_return_val_if_fail (result != NULL, FALSE);
  if (i >= result->n_classes)
    return FALSE;
  const GstAttentionClassification *c = &result->classes[i];
  if (label)
    *label = c->label;
  if (score)
    *score = c->score;
  if (index)
    *index = c->index;
  return TRUE;
}

/**
 * gst_attention_result_get_region:
 * @result: a result
 * @region: (out caller-allocates): the attended region, frame-normalised
 *
 * Returns: %FALSE if the result has no region (@region is then zeroed)
 */
gboolean
gst_attention_result_get_region (const GstAttentionResult *result,
                                 GstAttentionRegion *region)
{
  g_return_val_if_fail (result != NULL, FALSE);
  g_return_val_if_fail (region != NULL, FALSE);
  if (!result->has_region) {
    memset (region, 0, sizeof *region);
    return FALSE;
  }
  *region = result->region;
  return TRUE;
}

/**
 * gst_attention_result_get_region_pixels:
 * @result: a result
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
gst_attention_result_get_region_pixels (const GstAttentionResult *result,
                                        gint width, gint height, gint *x,
                                        gint *y, gint *w, gint *h)
{
  g_return_val_if_fail (result != NULL, FALSE);
  if (!result->has_region)
    return FALSE;
  const GstAttentionRegion *r = &result->region;
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

/**
 * gst_attention_result_get_n_maps:
 * @result: a result
 *
 * Returns: the number of spatial attention maps (the last is the final one)
 */
guint
gst_attention_result_get_n_maps (const GstAttentionResult *result)
{
  g_return_val_if_fail (result != NULL, 0);
  return result->n_maps;
}

/**
 * gst_attention_result_get_map_name:
 * @result: a result
 * @i: a map's position, in network order
 *
 * Returns: (transfer none) (nullable): the name of map @i, or %NULL if @i
 *   is out of range
 */
const gchar *
gst_attention_result_get_map_name (const GstAttentionResult *result, guint i)
{
  g_return_val_if_fail (result != NULL, NULL);
  return i < result->n_maps ? result->maps[i].name : NULL;
}

/**
 * gst_attention_result_get_map_values:
 * @result: a result
 * @name: (nullable): a map's name, or %NULL for the final map
 * @width: (out) (optional): columns
 * @height: (out) (optional): rows
 * @n_values: (out): @width × @height
 *
 * The values of a map, row-major, in 0..1.
 *
 * Returns: (transfer none) (array length=n_values) (nullable): the values,
 *   valid while @result lives, or %NULL (and 0 everywhere) if there is no
 *   such map
 */
const gfloat *
gst_attention_result_get_map_values (const GstAttentionResult *result,
                                     const gchar *name, guint *width,
                                     guint *height, guint *n_values)
{
  g_return_val_if_fail (n_values != NULL, NULL);
  const GstAttentionMap *m = gst_attention_result_get_map (result, name);
  if (width)
    *width = m ? m->width : 0;
  if (height)
    *height = m ? m->height : 0;
  *n_values = m ? m->width * m->height : 0;
  return m ? m->data : NULL;
}

/**
 * gst_attention_result_get_map_area:
 * @result: a result
 * @name: (nullable): a map's name, or %NULL for the final map
 * @x: (out) (optional): left edge of the area the map covers,
 *   frame-normalised
 * @y: (out) (optional): top edge
 * @w: (out) (optional): width (letterboxing can make it reach past 0..1)
 * @h: (out) (optional): height
 *
 * Where a map lies on the frame.
 *
 * Returns: %FALSE if there is no such map
 */
gboolean
gst_attention_result_get_map_area (const GstAttentionResult *result,
                                   const gchar *name, gfloat *x, gfloat *y,
                                   gfloat *w, gfloat *h)
{
  const GstAttentionMap *m = gst_attention_result_get_map (result, name);
  if (!m)
    return FALSE;
  if (x)
    *x = m->x;
  if (y)
    *y = m->y;
  if (w)
    *w = m->w;
  if (h)
    *h = m->h;
  return TRUE;
}

/**
 * gst_attention_result_sample_map:
 * @result: a result
 * @name: (nullable): a map's name, or %NULL for the final map
 * @x: frame-normalised column
 * @y: frame-normalised row
 *
 * As gst_attention_map_sample() on the map named @name.
 *
 * Returns: the map's value at (@x, @y), bilinear between cell centres; 0
 *   outside its area or if there is no such map
 */
gfloat
gst_attention_result_sample_map (const GstAttentionResult *result,
                                 const gchar *name, gfloat x, gfloat y)
{
  const GstAttentionMap *m = gst_attention_result_get_map (result, name);
  return m ? gst_attention_map_sample (m, x, y) : 0.0f;
}

/**
 * gst_attention_result_get_channels:
 * @result: a result
 * @n_channels: (out): the number of weights (0 unless the producer was asked
 *   for them)
 *
 * Returns: (transfer none) (array length=n_channels) (nullable): the
 *   channel-gate weights of the last attention block, 0..1
 */
const gfloat *
gst_attention_result_get_channels (const GstAttentionResult *result,
                                   guint *n_channels)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_return_val_if_fail (n_channels != NULL, NULL);
  *n_channels = result->channels ? result->n_channels : 0;
  return *n_channels ? result->channels : NULL;
}

/**
 * gst_attention_result_get_theta:
 * @result: a result
 * @n_values: (out): 6, or 0 if the model has no Spatial Transformer
 *
 * Returns: (transfer none) (array length=n_values) (nullable): the Spatial
 *   Transformer's affine θ (2×3, row-major), or %NULL if the model has none
 */
const gfloat *
gst_attention_result_get_theta (const GstAttentionResult *result,
                                guint *n_values)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_return_val_if_fail (n_values != NULL, NULL);
  *n_values = result->has_theta ? 6 : 0;
  return result->has_theta ? result->theta : NULL;
}

/**
 * gst_attention_result_get_quad:
 * @result: a result
 * @n_values: (out): 8, or 0 if the model has no Spatial Transformer
 *
 * Returns: (transfer none) (array length=n_values) (nullable): where the
 *   Spatial Transformer looks on the frame (#GstAttentionResult.quad): four
 *   corners as x, y pairs, frame-normalised, or %NULL if the model has none
 */
const gfloat *
gst_attention_result_get_quad (const GstAttentionResult *result,
                               guint *n_values)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_return_val_if_fail (n_values != NULL, NULL);
  *n_values = result->has_theta ? 8 : 0;
  return result->has_theta ? result->quad : NULL;
}

/**
 * gst_attention_result_get_sentence:
 * @result: a result
 *
 * Returns: (transfer none) (nullable): an encoder–decoder model's sentence
 *   (its tokens joined by spaces, without the end token), or %NULL when the
 *   model has no decoder head
 */
const gchar *
gst_attention_result_get_sentence (const GstAttentionResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  return result->sentence;
}

/**
 * gst_attention_result_get_n_tokens:
 * @result: a result
 *
 * Returns: the tokens of the sentence (0 without a decoder head)
 */
guint
gst_attention_result_get_n_tokens (const GstAttentionResult *result)
{
  g_return_val_if_fail (result != NULL, 0);
  return result->n_tokens;
}

/**
 * gst_attention_result_get_token:
 * @result: a result
 * @i: the token's position in the sentence, 0-based
 * @text: (out) (transfer none) (optional): the token
 * @score: (out) (optional): its softmax probability, 0..1
 * @id: (out) (optional): its id in the model's vocabulary
 *
 * Returns: %FALSE if @i is past the sentence's end
 */
gboolean
gst_attention_result_get_token (const GstAttentionResult *result, guint i,
                                const gchar **text, gfloat *score, guint *id)
{
  g_return_val_if_fail (result != NULL, FALSE);
  if (i >= result->n_tokens)
    return FALSE;
  const GstAttentionToken *t = &result->tokens[i];
  if (text)
    *text = t->text;
  if (score)
    *score = t->score;
  if (id)
    *id = t->id;
  return TRUE;
}

/**
 * gst_attention_result_get_token_alpha:
 * @result: a result
 * @i: the token's position in the sentence, 0-based
 * @width: (out) (optional): the map's columns
 * @height: (out) (optional): the map's rows
 * @n_values: (out): @width × @height, or 0 if @i is past the end
 *
 * The decoder's attention at token @i's step, row-major; its area on the
 * frame is the final map's (gst_attention_result_get_map_area()).
 *
 * Returns: (transfer none) (array length=n_values) (nullable): the values,
 *   which sum to 1
 */
const gfloat *
gst_attention_result_get_token_alpha (const GstAttentionResult *result,
                                      guint i, guint *width, guint *height,
                                      guint *n_values)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_return_val_if_fail (n_values != NULL, NULL);
  *n_values = 0;
  if (i >= result->n_tokens)
    return NULL;
  const GstAttentionMap *a = &result->tokens[i].alpha;
  if (width)
    *width = a->width;
  if (height)
    *height = a->height;
  *n_values = a->width * a->height;
  return a->data;
}
