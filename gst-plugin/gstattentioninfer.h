/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* attentioninfer — runs an attention CNN on video frames and attaches what it
 * attended to as GstAttentionMeta (plus a GstVideoRegionOfInterestMeta). */
#ifndef __GST_ATTENTION_INFER_H__
#define __GST_ATTENTION_INFER_H__

#include <gst/base/gstbasetransform.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

#define GST_TYPE_ATTENTION_INFER (gst_attention_infer_get_type ())
G_DECLARE_FINAL_TYPE (GstAttentionInfer, gst_attention_infer, GST,
                      ATTENTION_INFER, GstBaseTransform)

typedef enum {
  GST_ATTENTION_INFER_MODE_AUTO,
  GST_ATTENTION_INFER_MODE_SYNC,
  GST_ATTENTION_INFER_MODE_ASYNC,
} GstAttentionInferMode;

typedef enum {
  GST_ATTENTION_SCALE_MODEL,
  GST_ATTENTION_SCALE_STRETCH,
  GST_ATTENTION_SCALE_LETTERBOX,
  GST_ATTENTION_SCALE_CENTER_CROP,
} GstAttentionScaleMode;

/* What the network runs on: the frame (or the roi property's part of it),
 * or each region of interest attached upstream (secondary inference). */
typedef enum {
  GST_ATTENTION_INFERENCE_REGION_FULL_FRAME,
  GST_ATTENTION_INFERENCE_REGION_ROI_LIST,
} GstAttentionInferenceRegion;

GST_ELEMENT_REGISTER_DECLARE (attentioninfer);

/* The model used when the `model` property is unset: the shipped default,
 * looked up installed first, then in the source tree. (transfer full) */
gchar *gst_attention_default_model_path (void);

G_END_DECLS

#endif
