/* dcn.h — Dynamic Capacity Network support: pick the k most salient positions,
 * cut the input patches under them for the fine network, and put the fine
 * features back in place of the coarse ones. One image. */
#ifndef ATTN_DCN_H
#define ATTN_DCN_H

/* idx (k) = positions of the k largest values of sal (n), largest first, ties
 * to the lower index; vals (k, or NULL) their values. k <= n. NaN ranks lowest. */
void attn_topk (int *idx, float *vals, const float *sal, int n, int k);

/* out (K,C,ph,pw): patch j = in (C,H,W) rows y0..y0+ph, cols x0..x0+pw with
 * y0 = (idx[j] / sal_w)·stride − pad, x0 = (idx[j] % sal_w)·stride − pad;
 * zero outside the image. */
void attn_extract_patches (float *out, const float *in, const int *idx, int k,
                           int sal_w, int stride, int pad, int c, int h, int w,
                           int ph, int pw);

/* feat (C,HW): column idx[j] ← fine (K,C) row j, for j < k. */
void attn_scatter_positions (float *feat, const float *fine, const int *idx,
                             int k, int c, int hw);

#endif
