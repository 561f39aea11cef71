/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* preprocess.h — a raw video frame to the network's input tensor, in one
 * pass: colour conversion, resize, mean/std normalisation.
 *
 * Planned once per (frame size, format, roi, scale mode, model): per-column
 * and per-row sample tables, so running is allocation-free. Resizing is
 * bilinear (half-pixel centres, like cv2.resize and torch's
 * interpolate(align_corners=False)); when shrinking by more than 2×, each
 * output pixel averages up to 4×4 bilinear samples spread over its
 * footprint, so small objects and fine textures do not alias away. Plain C:
 * no GStreamer here, the element describes the frame with PreFrame. */
#ifndef ATTN_PREPROCESS_H
#define ATTN_PREPROCESS_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

typedef enum {
  PRE_PACKED,        /* 3 or 4 bytes per pixel, R/G/B at byte offsets */
  PRE_I420,          /* Y plane, U and V planes at half resolution */
  PRE_NV12,          /* Y plane, interleaved UV plane at half resolution */
  PRE_GRAY8,
  PRE_YUY2,          /* packed 4:2:2, bytes Y0 U Y1 V (webcams) */
  PRE_UYVY,          /* packed 4:2:2, bytes U Y0 V Y1 */
} PreLayout;

typedef struct {
  PreLayout layout;
  int pixel_stride;              /* packed: 3 or 4 */
  int r, g, b;                   /* packed: byte offsets */
  /* YUV → RGB (I420/NV12/YUY2/UYVY): R = Y' + cr_r·V', G = Y' + cb_g·U' + cr_g·V',
   * B = Y' + cb_b·U' with Y' = (Y − y_off)·y_mul, U' = (U − 128)·c_mul */
  float y_off, y_mul, c_mul;
  float cr_r, cb_g, cr_g, cb_b;
} PreFormat;

typedef struct {
  const uint8_t *plane[3];
  int stride[3];
} PreFrame;

/* Pixel rectangle of the frame to analyse. */
typedef struct {
  int x, y, w, h;
} PreRect;

typedef struct {
  int net_w, net_h;
  int sub_x, sub_y;              /* samples per output pixel along each axis */
  bool bgr;
  float mul[3], add[3];          /* value = pixel·mul + add, per channel */
  /* per output column × sub_x: left source column and weight of the right
   * one; −1 marks a column outside the analysed area (letterbox padding) */
  int *x0;
  float *fx;
  int *y0;
  float *fy;
  int *cx0, *cy0;                /* the same for half-resolution chroma */
  float *cfx, *cfy;
  /* x0, fx, cx0 and cfx again sample-major (k·net_w + column): the
   * vectorised column pass loads one sample of consecutive columns */
  int *x0k, *cx0k;
  float *fxk, *cfxk;
  /* the output columns that are not padding: [col_lo, col_hi) */
  int col_lo, col_hi;
  /* the separable path: source columns the tables reach (luma x0 and
   * chroma cx0, inclusive), and per band three rows of vertically
   * filtered samples, row_cap floats each */
  int xlo, xhi, clo, chi;
  float *rows;
  size_t row_cap;
  int frame_w, frame_h;
  /* where the network input lies on the frame, frame-normalised */
  float area_x, area_y, area_w, area_h;
  /* the part of the frame analysed (the roi clipped to the frame; with
   * letterboxing the input's area reaches past it), frame-normalised */
  float content_x, content_y, content_w, content_h;
} PrePlan;

/* Fills `f` for the given YUV matrix (kr, kb) and range; packed and gray
 * layouts ignore these. */
void pre_format_yuv (PreFormat *f, float kr, float kb, bool full_range);

/* Plans a frame of frame_w × frame_h, analysing `roi` (NULL: all of it),
 * fitted by `mode` into the model's input. false if roi is empty after
 * clipping to the frame (then `p` is cleared). `p` is zeroed or a previous
 * plan: its tables are reused when the input size is the same, so planning
 * another roi for the same model allocates nothing. */
bool pre_plan (PrePlan *p, int frame_w, int frame_h, const PreRect *roi,
               AttnResize mode, const AttnPreprocess *pre);
void pre_plan_clear (PrePlan *p);

/* out (3, net_h, net_w) from the frame: bands of rows split over the
 * process's thread budget, at most attn_parallel_threads() of the calling
 * thread (parallel.h); the result does not depend on the split. */
void pre_run (const PrePlan *p, const PreFormat *f, const PreFrame *fr,
              float *out);

#endif
