/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* topk.c — see topk.h. */
#include "topk.h"

#include <math.h>

/* (a, ia) ranks above (b, ib): larger value, or equal value and lower index;
 * NaN below every number */
static int
ranks_above (float a, int ia, float b, int ib)
{
  if (isnan (a))
    return isnan (b) && ia < ib;
  if (isnan (b))
    return 1;
  return a > b || (a == b && ia < ib);
}

void
attn_topk (int *idx, float *vals, const float *sal, int n, int k)
{
  /* insertion into the sorted prefix idx[0..m): O(n·k), no allocation, and
   * for the small k DCN uses cheaper than a heap. Candidates arrive in index
   * order, so a tie never displaces an earlier entry. */
  if (k > n)
    k = n;
  if (k <= 0)
    return;
  int m = 0;
  for (int i = 0; i < n; i++) {
    float v = sal[i];
    /* full and not better than the last kept: drop */
    if (m == k && !ranks_above (v, i, sal[idx[k - 1]], idx[k - 1]))
      continue;
    int j = m < k ? m++ : k - 1;        /* free slot, or evict the last */
    while (j > 0 && ranks_above (v, i, sal[idx[j - 1]], idx[j - 1])) {
      idx[j] = idx[j - 1];
      j--;
    }
    idx[j] = i;
  }
  if (vals)
    for (int j = 0; j < k; j++)
      vals[j] = sal[idx[j]];
}
