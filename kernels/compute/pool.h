/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pool.h — max/average pooling, PyTorch's MaxPool2d/AvgPool2d semantics
 * (padding, dilation for max, ceil_mode, count_include_pad), and global pools.
 * Pools act per plane, so `planes` is N·C. */
#ifndef ATTN_POOL_H
#define ATTN_POOL_H

#include <stdbool.h>

typedef struct {
  int kh, kw;
  int stride_h, stride_w;
  int pad_h, pad_w;
  int dil_h, dil_w;        /* max pool only; 1 for average pool */
  bool ceil_mode;
  bool count_include_pad;  /* average pool only (PyTorch default: true) */
} AttnPool2d;

/* Output size along one axis, PyTorch's rule: with ceil_mode the last window
 * must start inside the input or its left padding. */
int attn_pool_out_dim (int in, int k, int stride, int pad, int dil,
                       bool ceil_mode);

/* out (planes,Ho,Wo) = max over each window of in (planes,H,W); padding is −∞ */
void attn_maxpool2d (float *out, const float *in, const AttnPool2d *p,
                     int planes, int h, int w);
/* out (planes,Ho,Wo) = mean over each window of in (planes,H,W) */
void attn_avgpool2d (float *out, const float *in, const AttnPool2d *p,
                     int planes, int h, int w);

/* out (planes) = mean over hw of in (planes,hw) */
void attn_global_avgpool (float *out, const float *in, int planes, int hw);
/* out (planes) = max over hw of in (planes,hw) */
void attn_global_maxpool (float *out, const float *in, int planes, int hw);

#endif
