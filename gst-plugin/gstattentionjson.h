/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* attentionjson — one JSON object per frame (JSON Lines) from the attention
 * meta, to a file or stdout. */
#ifndef __GST_ATTENTION_JSON_H__
#define __GST_ATTENTION_JSON_H__

#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_ATTENTION_JSON (gst_attention_json_get_type ())
G_DECLARE_FINAL_TYPE (GstAttentionJson, gst_attention_json, GST,
                      ATTENTION_JSON, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE (attentionjson);

G_END_DECLS

#endif
