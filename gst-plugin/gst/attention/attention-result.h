/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GStreamer attention metadata — one inference's result
 *
 * What the network computed on one frame: the top classes, every spatial
 * attention map, the attended region and, for models with a Spatial
 * Transformer, its θ. A result is immutable once a producer has attached it
 * to a buffer, and reference-counted: an application may keep one beyond the
 * buffer with gst_attention_result_ref().
 *
 * Units: every coordinate in this header is frame-normalised — (0,0) is the
 * frame's top-left corner, (1,1) its bottom-right — so results stay valid
 * when the video is scaled. gst_attention_meta_get_region_pixels() converts.
 *
 * This header needs GLib (GObject for the boxed types that bindings use)
 * only. Python and other languages read results through the accessors at
 * the end (GObject-Introspection namespace GstAttention 1.0). */
#ifndef __GST_ATTENTION_RESULT_H__
#define __GST_ATTENTION_RESULT_H__

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * GstAttentionClassification:
 * @index: class index in the model's output
 * @score: probability (softmax of the logits), 0..1
 * @label: the class name, valid UTF-8 (interned: valid for the life of the
 *   process)
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
 * @x: left edge of the attended region, frame-normalised, within 0..1
 * @y: top edge
 * @w: width
 * @h: height
 * @score: mean attention inside the region, 0..1
 * @centroid_x: where attention concentrates: the centroid of the region's
 *   cells weighted by how far each rises above the threshold,
 *   frame-normalised, within 0..1
 * @centroid_y: likewise
 * @peak: the final map's highest value over the frame, 0..1
 *
 * The attended region: the bounding box of the final map's cells above the
 * producer's attention-threshold that are connected to its highest cell.
 * Only cells that cover the frame take part (with letterboxing, the padding
 * never does).
 */
typedef struct {
  gfloat x, y, w, h;
  gfloat score;
  gfloat centroid_x, centroid_y;
  gfloat peak;
} GstAttentionRegion;

GType gst_attention_region_get_type (void);
#define GST_TYPE_ATTENTION_REGION (gst_attention_region_get_type ())
/* A newly allocated copy of @region, for bindings. (transfer full) */
GstAttentionRegion *gst_attention_region_copy (const GstAttentionRegion *region);
/* Frees a copy made by gst_attention_region_copy(). */
void gst_attention_region_free (GstAttentionRegion *region);

/**
 * GstAttentionToken:
 * @id: the token's id in the model's vocabulary
 * @score: its softmax probability at its step, 0..1
 * @text: the token, valid UTF-8 (interned: valid for the life of the process)
 * @alpha: the decoder's attention at this token's step over the annotation
 *   grid (the backbone's last feature map), placed on the frame like the
 *   other maps; its values sum to 1; @alpha.name is @text
 *
 * One token of an encoder–decoder model's sentence (docs/model-format.md,
 * "decoder").
 */
typedef struct {
  guint id;
  gfloat score;
  const gchar *text;
  GstAttentionMap alpha;
} GstAttentionToken;

/**
 * GstAttentionResult:
 * @model: the model's name (interned)
 * @frame: the producer's number of the frame this result was computed on
 * @inference_ns: wall time of that inference (pre-processing + network)
 * @n_classes: entries in @classes (the producer's top-k)
 * @classes: the top classes, highest score first
 * @n_maps: entries in @maps
 * @maps: every spatial attention map, in network order (the last is the
 *   final one)
 * @n_channels: entries in @channels (0 unless the producer was asked for them)
 * @channels: channel-gate weights of the last attention block, 0..1
 * @has_region: whether @region is set
 * @region: the attended region
 * @has_theta: whether the model has a Spatial Transformer front end
 * @theta: its affine θ (2×3, row-major), when @has_theta
 * @quad: when @has_theta, where the transformer looks on the frame: the
 *   points its output's corners (top-left, top-right, bottom-right,
 *   bottom-left; the outer edges of the corner pixels) sample, as (x, y)
 *   pairs, frame-normalised (a zoom on an object is a small quadrilateral
 *   around it; the identity is the network input's area)
 * @n_tokens: entries in @tokens (0 without a decoder head)
 * @tokens: an encoder–decoder model's sentence, in order, without the end
 *   token, each with its score and its attention map
 * @sentence: the tokens joined by single spaces ("" for an empty sentence);
 *   %NULL when the model has no decoder head
 *
 * Read-only. Every pointer stays valid while a reference is held.
 */
typedef struct {
  const gchar *model;
  guint64 frame;
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
  gfloat quad[8];
  guint n_tokens;
  const GstAttentionToken *tokens;
  const gchar *sentence;
} GstAttentionResult;

/* The boxed type of results (copy is a new reference, free drops one). */
GType gst_attention_result_get_type (void);
#define GST_TYPE_ATTENTION_RESULT (gst_attention_result_get_type ())

/* Keeps @result alive beyond the buffer it came with. (transfer full) */
GstAttentionResult *gst_attention_result_ref (GstAttentionResult *result);
/* Drops a reference taken with gst_attention_result_ref(). NULL is a no-op. */
void gst_attention_result_unref (GstAttentionResult *result);

/* The map named @name, or the final map when @name is NULL; NULL if none. */
const GstAttentionMap *gst_attention_result_get_map (const GstAttentionResult *result,
                                                     const gchar *name);
/* Value of @map at frame-normalised (@x, @y) by bilinear interpolation of
 * the cell centres; 0 outside the map's area. */
gfloat gst_attention_map_sample (const GstAttentionMap *map, gfloat x, gfloat y);

/* Accessors returning plain values, for language bindings (C code can read
 * the fields). Documented with their annotations in attention-result.c. */
const gchar *gst_attention_result_get_model (const GstAttentionResult *result);
guint64 gst_attention_result_get_frame (const GstAttentionResult *result);
guint64 gst_attention_result_get_inference_ns (const GstAttentionResult *result);
guint gst_attention_result_get_n_classes (const GstAttentionResult *result);
gboolean gst_attention_result_get_classification (const GstAttentionResult *result,
                                                  guint i, const gchar **label,
                                                  gfloat *score, guint *index);
gboolean gst_attention_result_get_region (const GstAttentionResult *result,
                                          GstAttentionRegion *region);
/* The attended region in pixels of a @width × @height frame, rounded
 * outwards, within the frame; %FALSE if there is none. */
gboolean gst_attention_result_get_region_pixels (const GstAttentionResult *result,
                                                 gint width, gint height,
                                                 gint *x, gint *y, gint *w,
                                                 gint *h);
guint gst_attention_result_get_n_maps (const GstAttentionResult *result);
const gchar *gst_attention_result_get_map_name (const GstAttentionResult *result,
                                                guint i);
const gfloat *gst_attention_result_get_map_values (const GstAttentionResult *result,
                                                   const gchar *name,
                                                   guint *width, guint *height,
                                                   guint *n_values);
gboolean gst_attention_result_get_map_area (const GstAttentionResult *result,
                                            const gchar *name, gfloat *x,
                                            gfloat *y, gfloat *w, gfloat *h);
gfloat gst_attention_result_sample_map (const GstAttentionResult *result,
                                        const gchar *name, gfloat x, gfloat y);
const gfloat *gst_attention_result_get_channels (const GstAttentionResult *result,
                                                 guint *n_channels);
const gfloat *gst_attention_result_get_theta (const GstAttentionResult *result,
                                              guint *n_values);
const gfloat *gst_attention_result_get_quad (const GstAttentionResult *result,
                                             guint *n_values);
const gchar *gst_attention_result_get_sentence (const GstAttentionResult *result);
guint gst_attention_result_get_n_tokens (const GstAttentionResult *result);
gboolean gst_attention_result_get_token (const GstAttentionResult *result,
                                         guint i, const gchar **text,
                                         gfloat *score, guint *id);
const gfloat *gst_attention_result_get_token_alpha (const GstAttentionResult *result,
                                                    guint i, guint *width,
                                                    guint *height,
                                                    guint *n_values);

G_END_DECLS

#endif
