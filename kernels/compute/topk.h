/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* topk.h — the k largest values of an array: the classifier's top classes
 * and the Dynamic Capacity Network's most salient positions. */
#ifndef ATTN_TOPK_H
#define ATTN_TOPK_H

/* idx (k) = positions of the k largest values of sal (n), largest first;
 * equal values keep the lower index first; NaN ranks below every number
 * (NaNs among themselves by index). vals (k, or NULL) = sal[idx]. O(n·k).
 * Writes exactly max(0, min(k, n)) entries of idx/vals: k <= 0 writes
 * nothing, k > n ranks all n and leaves idx[n..k) untouched. */
void attn_topk (int *idx, float *vals, const float *sal, int n, int k);

#endif
