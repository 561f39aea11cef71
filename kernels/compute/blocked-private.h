/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* blocked-private.h — blocked.c's AVX-512 tile (blocked_isa.c). */
#ifndef ATTN_BLOCKED_PRIVATE_H
#define ATTN_BLOCKED_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#define BLOCKED_OC 64   /* output channels per group: four vectors */
#define BLOCKED_NPX 7   /* pixels per tile: 4 × 7 = 28 accumulators */

/* One tile: nv ≤ 4 vectors of output channels (of one group) × np ≤
 * BLOCKED_NPX consecutive pixels, over kc input channels. x: the first
 * input channel's block at the tile's first pixel (blocks hw16 floats
 * apart; kc's channels start at a block's first); w: that channel's 64
 * weights, the next channels' after them; y (and res) the group's first
 * output block at the tile's first pixel, blocks hw16 apart. first: start
 * from zero, else from y's partial sums; fin: then add bias (64 floats,
 * zero past the real channels) and res, ReLU where relu, else store the
 * partial sums. */
void blocked_tile_avx512 (int nv, int np, const float *x, size_t hw16,
                          int kc, const float *w, float *y, bool first,
                          bool fin, const float *bias, const float *res,
                          bool relu);

#endif
