/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pool-private.h — the per-instruction-set max pool of pool_isa.c, for
 * pool.c (which chooses between them at run time) only. */
#ifndef ATTN_POOL_PRIVATE_H
#define ATTN_POOL_PRIVATE_H

#include <stddef.h>

#include "pool.h"

/* Longest padded row the separable path keeps on the stack (16 KB). */
#define MAXPOOL_ROW 4096

/* Floats of the padded row: the left padding, the row, and whatever the
 * last window reaches past it (ceil_mode, padding). */
static inline size_t
maxpool_padded_row (const AttnPool2d *p, int w, int wo)
{
  long right = (long) (wo - 1) * p->stride_w + p->kw - p->pad_w - w;
  return (size_t) p->pad_w + (size_t) w + (size_t) (right > 0 ? right : 0);
}

/* Planes [lo, hi) of an undilated max pool whose padded row fits
 * MAXPOOL_ROW: out (planes, ho, wo) from in (planes, h, w). Every variant
 * gives the same floats. */
#define POOL_MAX_PLANES(isa) \
  void pool_max_planes_##isa (float *out, const float *in, \
                              const AttnPool2d *p, int h, int w, int ho, \
                              int wo, int lo, int hi)

POOL_MAX_PLANES (generic);
#ifdef ATTN_HAVE_ISA_VARIANTS
POOL_MAX_PLANES (avx2);
POOL_MAX_PLANES (avx512);
#endif

#endif
