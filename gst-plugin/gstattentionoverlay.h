/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* attentionoverlay — draws the attention meta over the video: heat map,
 * top classes, attended region. */
#ifndef __GST_ATTENTION_OVERLAY_H__
#define __GST_ATTENTION_OVERLAY_H__

#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_ATTENTION_OVERLAY (gst_attention_overlay_get_type ())
G_DECLARE_FINAL_TYPE (GstAttentionOverlay, gst_attention_overlay, GST,
                      ATTENTION_OVERLAY, GstVideoFilter)

GST_ELEMENT_REGISTER_DECLARE (attentionoverlay);

G_END_DECLS

#endif
