/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* direct-private.h — direct.c's per-instruction-set tile (direct_isa.c). */
#ifndef ATTN_DIRECT_PRIVATE_H
#define ATTN_DIRECT_PRIVATE_H

#include <stddef.h>

#define DIRECT_OC 32    /* output channels per tile: two AVX-512 vectors */
#define DIRECT_NPX 14   /* output pixels per tile, at most */

/* part[q·32 + v] = Σ over input channels ci < cin and taps (ky, kx) of
 * wk[(ci·9 + ky·3 + kx)·32 + v] · x[ci·plane + ky·wp + kx + q·s], for
 * output pixel q < np ≤ DIRECT_NPX and channel v < 32: one tile of 32
 * output channels and np pixels of one output row, x at its first input
 * (padded) row and column. */
void direct_tile_avx512 (int np, const float *x, size_t plane, int wp, int s,
                         const float *wk, int cin, float *part,
                         const char *pf, int pf_lines);

/* The same for two output rows of n ≤ DIRECT_NPX / 2 pixels each (maps
 * that narrow): pixel q < n of the row at x, pixel n + q of the next
 * (x + s·wp); part holds 2·n pixels. */
void direct_pair_avx512 (int n, const float *x, size_t plane, int wp, int s,
                         const float *wk, int cin, float *part,
                         const char *pf, int pf_lines);

#endif
