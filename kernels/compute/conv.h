/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* conv.h — 2-D convolution, NCHW float32, PyTorch's Conv2d semantics.
 *
 * weight (C_out, C_in/groups, KH, KW); output size per axis
 * floor((in + 2·pad − dil·(k−1) − 1)/stride) + 1. The caller owns every
 * buffer; nothing here allocates. */
#ifndef ATTN_CONV_H
#define ATTN_CONV_H

#include <stdbool.h>
#include <stddef.h>

#include "activation.h"

typedef struct {
  int c_in, c_out;
  int kh, kw;
  int stride_h, stride_w;
  int pad_h, pad_w;
  int dil_h, dil_w;
  int groups;
} AttnConv2d;

/* What happens to each output value after the convolution, in this order:
 * + bias[c], + residual, act; then, optionally, per-channel mean and max of the
 * final values (the pools CBAM and SE need, computed while the data is hot). */
typedef struct {
  const float *bias;     /* (C_out) or NULL; BatchNorm is folded in here */
  const float *residual; /* (N,C_out,Ho,Wo) or NULL; may not alias out */
  AttnAct act;
  float *avg_out;        /* (N,C_out) or NULL: mean over Ho·Wo of the result */
  float *max_out;        /* (N,C_out) or NULL: max over Ho·Wo of the result */
} AttnEpilogue;

/* Output size along one axis; <= 0 when the kernel does not fit. */
int attn_conv_out_dim (int in, int k, int stride, int pad, int dil);

/* Floats of workspace attn_conv2d needs for one image of h×w (0 for 1×1
 * stride-1 unpadded and for depthwise convolutions). */
size_t attn_conv2d_workspace (const AttnConv2d *p, int h, int w);

/* out (N,C_out,Ho,Wo) = conv(in (N,C_in,H,W), weight) then epilogue `ep`
 * (NULL: none). 1×1 stride 1 → one sgemm; depthwise → direct loop; otherwise
 * im2col into ws (attn_conv2d_workspace floats) + sgemm per group. */
void attn_conv2d (float *out, const float *in, const float *weight,
                  const AttnEpilogue *ep, float *ws, const AttnConv2d *p,
                  int n, int h, int w);
/* Which of those ways attn_conv2d runs p: "gemm", "depthwise" or
 * "im2col + gemm" (for reports such as a network's profile). */
const char *attn_conv2d_method (const AttnConv2d *p);

/* n images that lie apart — in[i] (C_in,H,W) → out[i] (C_out,Ho,Wo), each
 * with its own epilogue ep[i] (its residual and pools; ep NULL: none) —
 * convolved as one: every image's im2col (or, 1×1 stride 1, its input)
 * side by side in one (K, n·Ho·Wo) matrix, one sgemm, the product's columns
 * copied back to each image. Pays where Ho·Wo is small and the weights are
 * large (late layers: W is packed once, not n times, and the product is n
 * times wider). groups must be 1. ws: attn_conv2d_many_workspace floats. */
size_t attn_conv2d_many_workspace (const AttnConv2d *p, int n, int h, int w);
void attn_conv2d_many (float *const *out, const float *const *in,
                       const float *weight, const AttnEpilogue *ep, float *ws,
                       const AttnConv2d *p, int n, int h, int w);

/* The plain 7-loop reference of attn_conv2d: same contract, no workspace. */
void attn_conv2d_ref (float *out, const float *in, const float *weight,
                      const AttnEpilogue *ep, const AttnConv2d *p,
                      int n, int h, int w);

/* Applies `ep` to x (N,C,HW) in place (bias, residual, act, pools). */
void attn_epilogue_apply (float *x, const AttnEpilogue *ep, int n, int c,
                          int hw);

/* The backward pass of attn_conv2d with respect to its input (a transposed
 * convolution): dx (N,C_in,H,W) = Σ over taps of weightᵀ·dy, dy
 * (N,C_out,Ho,Wo), for any stride, padding, dilation and groups. With
 * `accumulate` the result is added to dx, otherwise dx is overwritten.
 * 1×1 stride 1 unpadded → one sgemm per group; otherwise sgemm into ws
 * (attn_conv2d_backward_workspace floats) and a col2im scatter-add. */
size_t attn_conv2d_backward_workspace (const AttnConv2d *p, int h, int w);
void attn_conv2d_backward_data (float *dx, const float *dy,
                                const float *weight, float *ws,
                                const AttnConv2d *p, int n, int h, int w,
                                bool accumulate);
/* Its plain reference: same contract, no workspace. */
void attn_conv2d_backward_data_ref (float *dx, const float *dy,
                                    const float *weight, const AttnConv2d *p,
                                    int n, int h, int w, bool accumulate);

#endif
