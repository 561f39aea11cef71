/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pool.c — max/average pooling with PyTorch's window and divisor rules. */
#include "pool.h"

#include "parallel.h"

#include <math.h>
#include <stddef.h>

int
attn_pool_out_dim (int in, int k, int stride, int pad, int dil, bool ceil_mode)
{
  long span = (long) in + 2L * pad - (long) dil * (k - 1) - 1;
  if (span < 0 || stride <= 0)
    return 0;
  long out = (span + (ceil_mode ? stride - 1 : 0)) / stride + 1;
  /* the last window must start inside the input or its left padding */
  if (ceil_mode && (out - 1) * stride >= (long) in + pad)
    out--;
  return (int) out;
}

/* a NaN in the window wins, as in PyTorch */
static inline float
max_nan (float m, float v)
{
  return (v > m || v != v) ? v : m;
}

/* Longest padded row the separable path keeps on the stack (16 KB). */
#define MAXPOOL_ROW 4096

/* Undilated max pooling, separably: for each output row, the column-wise
 * max of its kh input rows (a vectorisable pass over whole rows) into a row
 * with −∞ on both sides for the padding, then the max over each kw-wide
 * window of that row as kw passes along the output row, tap by tap (no
 * clipping per window: the −∞ does it). Same results as the window loop,
 * NaN included: max is associative and a NaN, once in, stays. The stem's
 * pool (64 planes of 112², 3×3 stride 2) took 1.2 ms on one core with a
 * clipped scalar loop per output, the second pass; 0.5 ms this way. */
typedef struct {
  float *out;
  const float *in;
  const AttnPool2d *p;
  int h, w, ho, wo;
} MaxPool;

/* Floats of the padded row: the left padding, the row, and whatever the
 * last window reaches past it (ceil_mode, padding). */
static size_t
padded_row (const AttnPool2d *p, int w, int wo)
{
  long right = (long) (wo - 1) * p->stride_w + p->kw - p->pad_w - w;
  return (size_t) p->pad_w + (size_t) w + (size_t) (right > 0 ? right : 0);
}

/* Planes [lo, hi). */
static void
maxpool_separable (void *ctx, int lo, int hi)
{
  const MaxPool *a = ctx;
  float *restrict out = a->out;
  const float *restrict in = a->in;
  const AttnPool2d *p = a->p;
  int h = a->h, w = a->w, ho = a->ho, wo = a->wo, s = p->stride_w;
  int pw = p->pad_w;
  size_t len = padded_row (p, w, wo);
  float buf[MAXPOOL_ROW];
  float *row = buf + pw;                /* row[-pw .. len − pw) */
  for (size_t i = 0; i < len; i++)
    buf[i] = -INFINITY;                 /* the padding stays −∞ */
  for (int c = lo; c < hi; c++) {
    const float *x = in + (size_t) c * h * w;
    float *y = out + (size_t) c * ho * wo;
    for (int oy = 0; oy < ho; oy++) {
      int y0 = oy * p->stride_h - p->pad_h, y1 = y0 + p->kh;
      y0 = y0 > 0 ? y0 : 0;
      y1 = y1 < h ? y1 : h;
      for (int ix = 0; ix < w; ix++)
        row[ix] = -INFINITY;
      for (int iy = y0; iy < y1; iy++) {
        const float *src = x + (size_t) iy * w;
        for (int ix = 0; ix < w; ix++)
          row[ix] = max_nan (row[ix], src[ix]);
      }
      float *restrict yr = y + (size_t) oy * wo;
      const float *b = buf;             /* window ox starts at b[ox·s] */
      for (int ox = 0; ox < wo; ox++)
        yr[ox] = b[(size_t) ox * s];
      for (int kx = 1; kx < p->kw; kx++)
        for (int ox = 0; ox < wo; ox++)
          yr[ox] = max_nan (yr[ox], b[(size_t) ox * s + kx]);
    }
  }
}

void
attn_maxpool2d (float *out, const float *in, const AttnPool2d *p, int planes,
                int h, int w)
{
  int ho = attn_pool_out_dim (h, p->kh, p->stride_h, p->pad_h, p->dil_h,
                              p->ceil_mode);
  int wo = attn_pool_out_dim (w, p->kw, p->stride_w, p->pad_w, p->dil_w,
                              p->ceil_mode);
  if (p->dil_h == 1 && p->dil_w == 1 && ho > 0 && wo > 0
      && padded_row (p, w, wo) <= MAXPOOL_ROW) {
    /* planes are independent: split over the thread budget (the stem's
     * pool is 64 planes of 112², a millisecond on one core) */
    MaxPool a = { out, in, p, h, w, ho, wo };
    size_t plane = (size_t) h * w;
    attn_parallel_range (planes, (int) (16384 / (plane ? plane : 1)) + 1,
                         maxpool_separable, &a);
    return;
  }
  for (int c = 0; c < planes; c++) {
    const float *x = in + (size_t) c * h * w;
    float *y = out + (size_t) c * ho * wo;
    for (int oy = 0; oy < ho; oy++)
      for (int ox = 0; ox < wo; ox++) {
        float m = -INFINITY;
        for (int ky = 0; ky < p->kh; ky++) {
          int iy = oy * p->stride_h - p->pad_h + ky * p->dil_h;
          if (iy < 0 || iy >= h)
            continue;
          for (int kx = 0; kx < p->kw; kx++) {
            int ix = ox * p->stride_w - p->pad_w + kx * p->dil_w;
            if (ix < 0 || ix >= w)
              continue;
            float v = x[(size_t) iy * w + ix];
            /* like PyTorch, a NaN in the window wins */
            if (v > m || isnan (v))
              m = v;
            if (isnan (m))
              break;
          }
        }
        y[(size_t) oy * wo + ox] = m;
      }
  }
}

void
attn_avgpool2d (float *out, const float *in, const AttnPool2d *p, int planes,
                int h, int w)
{
  int ho = attn_pool_out_dim (h, p->kh, p->stride_h, p->pad_h, 1, p->ceil_mode);
  int wo = attn_pool_out_dim (w, p->kw, p->stride_w, p->pad_w, 1, p->ceil_mode);
  for (int c = 0; c < planes; c++) {
    const float *x = in + (size_t) c * h * w;
    float *y = out + (size_t) c * ho * wo;
    for (int oy = 0; oy < ho; oy++)
      for (int ox = 0; ox < wo; ox++) {
        /* the window clipped to input + padding sets the count_include_pad
         * divisor; clipped to the input it sets the summed range */
        int y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
        int y1 = y0 + p->kh, x1 = x0 + p->kw;
        y1 = y1 < h + p->pad_h ? y1 : h + p->pad_h;
        x1 = x1 < w + p->pad_w ? x1 : w + p->pad_w;
        int padded = (y1 - y0) * (x1 - x0);
        y0 = y0 > 0 ? y0 : 0;
        x0 = x0 > 0 ? x0 : 0;
        y1 = y1 < h ? y1 : h;
        x1 = x1 < w ? x1 : w;
        float sum = 0.0f;
        for (int iy = y0; iy < y1; iy++)
          for (int ix = x0; ix < x1; ix++)
            sum += x[(size_t) iy * w + ix];
        int count = p->count_include_pad ? padded : (y1 - y0) * (x1 - x0);
        y[(size_t) oy * wo + ox] = count > 0 ? sum / (float) count : 0.0f;
      }
  }
}

void
attn_global_avgpool (float *out, const float *in, int planes, int hw)
{
  for (int c = 0; c < planes; c++) {
    const float *x = in + (size_t) c * hw;
    float sum = 0.0f;
    for (int i = 0; i < hw; i++)
      sum += x[i];
    out[c] = hw > 0 ? sum / (float) hw : 0.0f;
  }
}

void
attn_global_maxpool (float *out, const float *in, int planes, int hw)
{
  for (int c = 0; c < planes; c++) {
    const float *x = in + (size_t) c * hw;
    float m = hw > 0 ? x[0] : 0.0f;
    for (int i = 1; i < hw; i++)
      m = x[i] > m ? x[i] : m;
    out[c] = m;
  }
}
