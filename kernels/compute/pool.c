/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pool.c — max/average pooling with PyTorch's window and divisor rules. */
#include "pool.h"

#include "cpu.h"
#include "parallel.h"
#include "pool-private.h"

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

typedef struct {
  float *out;
  const float *in;
  const AttnPool2d *p;
  int h, w, ho, wo;
} MaxPool;

/* Planes [lo, hi): the separable pass of pool_isa.c, in the variant this
 * CPU runs. */
static void
maxpool_separable (void *ctx, int lo, int hi)
{
  const MaxPool *a = ctx;
  switch (attn_cpu_isa ()) {
#ifdef ATTN_HAVE_ISA_VARIANTS
    case ATTN_ISA_AVX512:
      pool_max_planes_avx512 (a->out, a->in, a->p, a->h, a->w, a->ho, a->wo,
                              lo, hi);
      break;
    case ATTN_ISA_AVX2:
      pool_max_planes_avx2 (a->out, a->in, a->p, a->h, a->w, a->ho, a->wo,
                            lo, hi);
      break;
#endif
    default:
      pool_max_planes_generic (a->out, a->in, a->p, a->h, a->w, a->ho,
                               a->wo, lo, hi);
      break;
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
      && maxpool_padded_row (p, w, wo) <= MAXPOOL_ROW) {
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
