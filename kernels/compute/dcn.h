/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dcn.h — Dynamic Capacity Network support: pick the k most salient positions,
 * cut the input patches under them for the fine network, and put the fine
 * features back in place of the coarse ones. One image, NCHW without the N.
 * The caller owns every buffer; nothing is allocated. */
#ifndef ATTN_DCN_H
#define ATTN_DCN_H

#include "topk.h"  /* DCN picks its positions with attn_topk */

/* out (K,C,ph,pw): patch j = in (C,H,W) rows y0..y0+ph, cols x0..x0+pw with
 * y0 = (idx[j] / sal_w)·stride − pad, x0 = (idx[j] % sal_w)·stride − pad;
 * zero outside the image. Every read is checked against the image, so any
 * idx is memory-safe: one off the grid (negative, or >= the grid size) cuts
 * wherever the formula lands, zeros outside. k <= 0 writes nothing. */
void attn_extract_patches (float *out, const float *in, const int *idx, int k,
                           int sal_w, int stride, int pad, int c, int h, int w,
                           int ph, int pw);

/* feat (C,HW): column idx[j] ← fine (K,C) row j, for j < k; the other
 * columns are left as they were. 0 <= idx[j] < HW. k <= 0 writes nothing. */
void attn_scatter_positions (float *feat, const float *fine, const int *idx,
                             int k, int c, int hw);

/* The DCN's patch positions on a (h, w) saliency map: up to k cells, most
 * salient first, each at least min_val, with non-maximum suppression — a
 * cell is no longer a candidate once a chosen cell lies within rx columns
 * and ry rows of it (|dx| <= rx and |dy| <= ry), so two patches do not
 * cover one object. Greedy: the largest remaining value, the lower index
 * on ties; NaN is never chosen. idx (k) receives cell indices (y·w + x),
 * vals (k, or NULL) their values; returns how many were chosen (0..k).
 * `taken` (h·w bytes) is the caller's scratch. O(k·h·w). */
int attn_pick_salient (int *idx, float *vals, const float *sal, int h, int w,
                       int k, float min_val, int rx, int ry,
                       unsigned char *taken);

#endif
