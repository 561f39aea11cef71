/* GStreamer attention metadata
 *
 * The public API of gst-attention for applications: what the network
 * attended to on a frame, attached by `attentioninfer` to every buffer.
 *
 * Link with `pkg-config --cflags --libs gstreamer-attention-1.0` and
 *   #include <gst/attention/attention-meta.h>
 *
 *   GstAttentionMeta *meta = gst_buffer_get_attention_meta (buffer);
 *   if (meta && meta->n_classes > 0)
 *     g_print ("%s %.2f\n", meta->classes[0].label, meta->classes[0].score);
 *
 * Coordinates are frame-normalised: (0,0) is the frame's top-left corner and
 * (1,1) its bottom-right, so they stay valid when the video is scaled. */
#ifndef __GST_ATTENTION_META_H__
#define __GST_ATTENTION_META_H__

#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

/**
 * GstAttentionClassification:
 * @index: class index in the model's output
 * @score: probability (softmax of the logits), 0..1
 * @label: the class name (interned: valid for the life of the process)
 */
typedef struct {
  guint index;
  gfloat score;
  const gchar *label;
} GstAttentionClassification;

/**
 * GstAttentionMap:
 * @name: the gate that produced it, e.g. "layer4.1" (interned)
 * @width: columns of @data
 * @height: rows of @data
 * @data: @height × @width values in 0..1, row-major
 * @x: left edge of the area the map covers, frame-normalised
 * @y: top edge
 * @w: width of the area (letterboxing can make it reach past 0..1)
 * @h: height of the area
 *
 * A spatial attention map and where it lies on the frame: map cell (i, j)
 * covers [x + j·w/width, x + (j+1)·w/width) horizontally, likewise rows.
 */
typedef struct {
  const gchar *name;
  guint width, height;
  const gfloat *data;
  gfloat x, y, w, h;
} GstAttentionMap;

/**
 * GstAttentionRegion:
 * @x: left, frame-normalised, clipped to 0..1
 * @y: top
 * @w: width
 * @h: height
 * @score: mean attention inside the region, 0..1
 * @peak_x: where the final map peaks, frame-normalised
 * @peak_y: likewise
 * @peak: the map's value there, 0..1
 *
 * The bounding box of the final map's cells above the element's
 * attention-threshold, around its peak.
 */
typedef struct {
  gfloat x, y, w, h;
  gfloat score;
  gfloat peak_x, peak_y, peak;
} GstAttentionRegion;

typedef struct _GstAttentionResult GstAttentionResult;
typedef struct _GstAttentionResultPool GstAttentionResultPool;

/**
 * GstAttentionMeta:
 * @meta: parent
 * @model: the model's name (interned)
 * @frame: number of the frame the result was computed on
 * @stale: TRUE when the result was computed on an earlier frame and reused
 * @inference_ns: wall time of that inference (pre-processing + network)
 * @n_classes: entries in @classes (the element's top-k)
 * @classes: the top classes, highest score first
 * @n_maps: entries in @maps
 * @maps: every spatial attention map, in network order (the last is the final one)
 * @n_channels: entries in @channels (0 unless the element was asked for them)
 * @channels: channel-gate weights of the last attention block, 0..1
 * @has_region: whether @region is set
 * @region: the attended region
 * @theta: the Spatial Transformer's affine θ (2×3), when @has_theta
 * @has_theta: whether the model has an STN front end
 *
 * Read-only for applications; the pointers stay valid while the buffer
 * (or any copy of the meta) lives.
 */
typedef struct {
  GstMeta meta;

  const gchar *model;
  guint64 frame;
  gboolean stale;
  guint64 inference_ns;
  guint n_classes;
  const GstAttentionClassification *classes;
  guint n_maps;
  const GstAttentionMap *maps;
  guint n_channels;
  const gfloat *channels;
  gboolean has_region;
  GstAttentionRegion region;
  gboolean has_theta;
  gfloat theta[6];

  /*< private >*/
  GstAttentionResult *result;
  gpointer _gst_reserved[GST_PADDING];
} GstAttentionMeta;

GType gst_attention_meta_api_get_type (void);
#define GST_ATTENTION_META_API_TYPE (gst_attention_meta_api_get_type ())
const GstMetaInfo *gst_attention_meta_get_info (void);
#define GST_ATTENTION_META_INFO (gst_attention_meta_get_info ())

/* The attention meta of @buffer, or NULL. (transfer none) */
#define gst_buffer_get_attention_meta(b) \
  ((GstAttentionMeta *) gst_buffer_get_meta ((b), GST_ATTENTION_META_API_TYPE))

/* The map named @name, or the final map when @name is NULL; NULL if none. */
const GstAttentionMap *gst_attention_meta_get_map (const GstAttentionMeta *meta,
                                                   const gchar *name);
/* Value of @map at frame-normalised (@x, @y) by bilinear interpolation of
 * the cell centres; 0 outside the map's area. */
gfloat gst_attention_map_sample (const GstAttentionMap *map, gfloat x, gfloat y);
/* The region in pixels of a @width × @height frame. FALSE if there is none. */
gboolean gst_attention_meta_get_region_pixels (const GstAttentionMeta *meta,
                                               gint width, gint height,
                                               gint *x, gint *y, gint *w,
                                               gint *h);

/* ---- for producers (attentioninfer) ------------------------------------ */

/**
 * GstAttentionResultLayout:
 * @model: model name
 * @max_classes: room for this many classifications
 * @n_maps: number of maps
 * @map_names: their names
 * @map_widths: their widths
 * @map_heights: their heights
 * @n_channels: room for channel weights (0: none)
 *
 * The shape every result of one pool has, fixed when a model is planned.
 */
typedef struct {
  const gchar *model;
  guint max_classes;
  guint n_maps;
  const gchar *const *map_names;
  const guint *map_widths;
  const guint *map_heights;
  guint n_channels;
} GstAttentionResultLayout;

/* One inference's output, refcounted and immutable once attached. Results
 * come from a pool and go back to it when the last meta holding one is freed,
 * so attaching results to buffers allocates nothing in steady state. */
struct _GstAttentionResult {
  /*< public, writable by the producer before the first attach >*/
  guint64 frame;
  guint64 inference_ns;
  guint n_classes;
  GstAttentionClassification *classes;  /* max_classes entries */
  guint n_maps;
  GstAttentionMap *maps;                /* data points into owned storage */
  guint n_channels;
  gfloat *channels;
  gboolean has_region;
  GstAttentionRegion region;
  gboolean has_theta;
  gfloat theta[6];
  const gchar *model;
  /*< private >*/
  gint refcount;
  GstAttentionResultPool *pool;
  gfloat *storage;
};

GstAttentionResultPool *gst_attention_result_pool_new (const GstAttentionResultLayout *layout);
/* Gives up the owner's hold; the pool is freed once every result is back. */
void gst_attention_result_pool_release (GstAttentionResultPool *pool);
/* A result from the pool (reused or new), refcount 1. (transfer full) */
GstAttentionResult *gst_attention_result_pool_acquire (GstAttentionResultPool *pool);
GstAttentionResult *gst_attention_result_ref (GstAttentionResult *result);
void gst_attention_result_unref (GstAttentionResult *result);
/* Results ever allocated by @pool (for tests and leak checks). */
guint gst_attention_result_pool_n_allocated (GstAttentionResultPool *pool);

/* Attaches @result (a new reference is taken) to @buffer; @frame_number is
 * the number of the frame @buffer carries, which sets the stale flag. */
GstAttentionMeta *gst_buffer_add_attention_meta (GstBuffer *buffer,
                                                 GstAttentionResult *result,
                                                 guint64 frame_number);

G_END_DECLS

#endif
