/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GStreamer attention metadata — for producers
 *
 * What an element that computes attention (attentioninfer, or an
 * application's own) uses to fill results and attach them to buffers.
 * Results come from a pool with a fixed layout and go back to it when the
 * last reference (a meta, an application's) is dropped, so attaching results
 * to buffers allocates nothing in steady state.
 *
 * The pool and the result accessors need GLib only; attaching needs
 * GStreamer. */
#ifndef __GST_ATTENTION_PRODUCER_H__
#define __GST_ATTENTION_PRODUCER_H__

#include <gst/attention/attention-meta.h>

G_BEGIN_DECLS

typedef struct _GstAttentionResultPool GstAttentionResultPool;

/**
 * GstAttentionResultLayout:
 * @model: model name
 * @max_classes: room for this many classifications
 * @n_maps: number of maps
 * @map_names: their names
 * @map_widths: their widths
 * @map_heights: their heights
 * @n_channels: room for channel weights (0: none)
 * @max_tokens: room for a decoder's tokens (0: the model has no decoder)
 * @token_width: columns of each token's attention map
 * @token_height: rows of each token's attention map
 * @max_sentence: room for the sentence, in bytes, the terminating NUL
 *   included
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
  guint max_tokens;
  guint token_width, token_height;
  guint max_sentence;
} GstAttentionResultLayout;

GstAttentionResultPool *gst_attention_result_pool_new (const GstAttentionResultLayout *layout);
/* Gives up the owner's hold; the pool is freed once every result is back. */
void gst_attention_result_pool_release (GstAttentionResultPool *pool);
/* A cleared result from the pool (reused or new), refcount 1: no classes,
 * no region, no θ, the layout's maps with their data left as they were.
 * Writable until it is first attached or shared. (transfer full) */
GstAttentionResult *gst_attention_result_pool_acquire (GstAttentionResultPool *pool);
/* Results ever allocated by @pool (for tests and leak checks). */
guint gst_attention_result_pool_n_allocated (GstAttentionResultPool *pool);

/* Writable views of a result's storage (room as the layout says). */
GstAttentionClassification *gst_attention_result_classes_writable (GstAttentionResult *result);
GstAttentionMap *gst_attention_result_maps_writable (GstAttentionResult *result);
gfloat *gst_attention_result_map_data_writable (GstAttentionResult *result,
                                                guint i);
gfloat *gst_attention_result_channels_writable (GstAttentionResult *result);
/* Room for max_tokens tokens, each with its alpha map's storage (width,
 * height and data set; the producer sets the rest). */
GstAttentionToken *gst_attention_result_tokens_writable (GstAttentionResult *result);
/* Declares the first @n written tokens the sentence (n <= max_tokens) and
 * composes @sentence from their texts (cut at a token boundary to fit
 * max_sentence). */
void gst_attention_result_set_n_tokens (GstAttentionResult *result, guint n);

/* Attaches @result (a new reference is taken) to @buffer for @producer (an
 * element name); @frame is the producer's number of the frame @buffer
 * carries, which sets the stale flag. (transfer none) */
GstAttentionMeta *gst_buffer_add_attention_meta (GstBuffer *buffer,
                                                 GstAttentionResult *result,
                                                 const gchar *producer,
                                                 guint64 frame);

/* Attaches @result (a reference) to the object @roi as its "attention"
 * parameter; see attention-meta.c. */
void gst_attention_roi_add_result (GstVideoRegionOfInterestMeta *roi,
                                   GstAttentionResult *result,
                                   const gchar *producer);

G_END_DECLS

#endif
