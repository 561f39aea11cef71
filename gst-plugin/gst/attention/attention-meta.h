/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GStreamer attention metadata
 *
 * The public API of gst-attention for applications: what a network attended
 * to on a frame, attached by `attentioninfer` to every buffer it analyses.
 *
 * Link with `pkg-config --cflags --libs gstreamer-attention-1.0` and
 *   #include <gst/attention/attention-meta.h>
 *
 *   GstAttentionMeta *meta = gst_buffer_get_attention_meta (buffer);
 *   if (meta && meta->result->n_classes > 0)
 *     g_print ("%s %.2f\n", meta->result->classes[0].label,
 *         meta->result->classes[0].score);
 *
 * A buffer carries one meta per producer (two `attentioninfer` elements in a
 * row leave two); gst_buffer_get_attention_meta() returns the nearest
 * producer's, gst_buffer_get_attention_meta_by_producer() selects one, and
 * gst_buffer_iterate_meta_filtered() with GST_ATTENTION_META_API_TYPE visits
 * them all. Coordinates are frame-normalised (see attention-result.h).
 *
 * Producers use <gst/attention/attention-producer.h>. */
#ifndef __GST_ATTENTION_META_H__
#define __GST_ATTENTION_META_H__

#include <gst/attention/attention-result.h>
#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

/**
 * GstAttentionMeta:
 * @meta: parent
 * @producer: name of the element that attached it (interned)
 * @order: 1 for the first attention meta attached to this frame, 2 for the
 *   next producer downstream, …: the highest is the nearest producer upstream
 *   of the reader. Kept through buffer copies.
 * @frame: the producer's number of this frame, counted from 0 when it
 *   started (and again after a flush); the same number the producer's result
 *   uses, so `stale` is @frame != @result->frame
 * @stale: the result was computed on an earlier frame and reused
 * @result: what the network computed (shared, read-only)
 *
 * Read-only for applications; the pointers stay valid while the buffer (or
 * any copy of the meta) lives.
 */
typedef struct {
  GstMeta meta;

  const gchar *producer;
  guint order;
  guint64 frame;
  gboolean stale;
  const GstAttentionResult *result;

  /*< private >*/
  gpointer _gst_reserved[GST_PADDING];
} GstAttentionMeta;

GType gst_attention_meta_api_get_type (void);
#define GST_ATTENTION_META_API_TYPE (gst_attention_meta_api_get_type ())
const GstMetaInfo *gst_attention_meta_get_info (void);
#define GST_ATTENTION_META_INFO (gst_attention_meta_get_info ())

/* The nearest producer's attention meta on @buffer (the highest @order), or
 * NULL. (transfer none) */
GstAttentionMeta *gst_buffer_get_attention_meta (GstBuffer *buffer);
/* The attention meta whose producer element or model is named @name; with
 * @name NULL or empty, the nearest producer's. (transfer none) */
GstAttentionMeta *gst_buffer_get_attention_meta_by_producer (GstBuffer *buffer,
                                                             const gchar *name);
/* Number of attention metas on @buffer. */
guint gst_buffer_get_n_attention_metas (GstBuffer *buffer);

/* @meta's result, for bindings (C code reads @meta->result). (transfer none) */
const GstAttentionResult *gst_attention_meta_get_result (const GstAttentionMeta *meta);

/* The map named @name of @meta's result, or the final map when @name is
 * NULL; NULL if none. */
const GstAttentionMap *gst_attention_meta_get_map (const GstAttentionMeta *meta,
                                                   const gchar *name);
/* The attended region in pixels of a @width × @height frame (rounded
 * outwards, within the frame). FALSE if there is none. */
gboolean gst_attention_meta_get_region_pixels (const GstAttentionMeta *meta,
                                               gint width, gint height,
                                               gint *x, gint *y, gint *w,
                                               gint *h);

/* Objects (regions of interest from upstream, classified one by one):
 * the @index-th region of interest on @buffer carrying a result of
 * @producer's (NULL: any), that result, and who attached it. Documented in
 * attention-meta.c. */
/* The region-of-interest type of a coarse-to-fine patch (attentioninfer
 * patches=N). */
#define GST_ATTENTION_PATCH_TYPE "attention-patch"
/* The @index-th coarse-to-fine patch of @producer's on @buffer. Documented
 * in attention-meta.c. */
GstVideoRegionOfInterestMeta *gst_buffer_get_attention_patch (GstBuffer *buffer,
                                                              const gchar *producer,
                                                              guint index);
GstVideoRegionOfInterestMeta *gst_buffer_get_attention_object (GstBuffer *buffer,
                                                               const gchar *producer,
                                                               guint index);
const GstAttentionResult *gst_attention_roi_get_result (GstVideoRegionOfInterestMeta *roi,
                                                        const gchar *producer);
const gchar *gst_attention_roi_get_producer (GstVideoRegionOfInterestMeta *roi,
                                             const gchar *producer);

G_END_DECLS

#endif
