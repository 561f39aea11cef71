/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* formats.h — the raw video formats the plugin's video elements take, and
 * the Y'CbCr matrix of negotiated caps: one home for both (attentioninfer,
 * attentionoverlay). Element-side: GStreamer types. */
#ifndef ATTN_FORMATS_H
#define ATTN_FORMATS_H

#include <gst/video/video.h>

/* Packed RGB (3 or 4 bytes), I420, NV12, GRAY8 and the webcams' packed
 * 4:2:2 (YUY2, UYVY): what paint.c draws into (attentionoverlay) and
 * preprocess.c reads (attentioninfer). */
#define ATTN_VIDEO_FORMATS "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, " \
  "BGRA, ARGB, ABGR, I420, NV12, GRAY8, YUY2, UYVY }"
#define ATTN_VIDEO_CAPS GST_VIDEO_CAPS_MAKE (ATTN_VIDEO_FORMATS)
#define ATTN_INFER_VIDEO_CAPS ATTN_VIDEO_CAPS

/* Kr, Kb and range of info's colorimetry; BT.601 when the matrix is unknown
 * (RGB, GRAY8). */
static inline void
attn_video_info_matrix (const GstVideoInfo *info, double *kr, double *kb,
    gboolean *full_range)
{
  *kr = 0.299;
  *kb = 0.114;
  gst_video_color_matrix_get_Kr_Kb (info->colorimetry.matrix, kr, kb);
  *full_range = info->colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
}

/* Bytes per pixel and the byte offsets of R, G and B in a packed RGB
 * format (RGB, BGR, RGBx, … ABGR). */
static inline void
attn_video_info_packed (const GstVideoInfo *info, int *pixel_stride, int *r,
    int *g, int *b)
{
  const GstVideoFormatInfo *fi = info->finfo;
  *pixel_stride = GST_VIDEO_FORMAT_INFO_PSTRIDE (fi, 0);
  *r = (int) GST_VIDEO_FORMAT_INFO_POFFSET (fi, GST_VIDEO_COMP_R);
  *g = (int) GST_VIDEO_FORMAT_INFO_POFFSET (fi, GST_VIDEO_COMP_G);
  *b = (int) GST_VIDEO_FORMAT_INFO_POFFSET (fi, GST_VIDEO_COMP_B);
}

#endif
