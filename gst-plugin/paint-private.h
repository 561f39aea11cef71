/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* paint-private.h — what paint.c shares with the per-pixel loops of
 * paint_heat.c, which the build compiles once per instruction set (cpu.h):
 * paint_heat_rows_generic, and on x86-64 also _avx2 and _avx512. */
#ifndef ATTN_PAINT_PRIVATE_H
#define ATTN_PAINT_PRIVATE_H

#include "paint.h"

/* byte offsets of pixel x's Y, and of its pair's U and V, from 2·(x & ~1) */
static inline void
offsets_422 (const Painter *p, int *yo, int *uo, int *vo)
{
  bool yuy2 = p->fmt.layout == PAINT_YUY2;
  *yo = yuy2 ? 0 : 1;
  *uo = yuy2 ? 1 : 0;
  *vo = *uo + 2;
}

/* The heat map's pixels over p->plan's rectangle (the plan is up to date):
 * map value v → (v − lo)·scale, clamped to 0..1, picks colour index
 * round(255·v) and alpha min(255, v·opacity·256); the rows in bands over
 * the calling thread's budget. */
#define PAINT_HEAT_ROWS_ARGS \
  const Painter *p, const PaintFrame *fr, const PaintMap *m, float lo, \
  float scale, float opacity
void paint_heat_rows_generic (PAINT_HEAT_ROWS_ARGS);
void paint_heat_rows_avx2 (PAINT_HEAT_ROWS_ARGS);
void paint_heat_rows_avx512 (PAINT_HEAT_ROWS_ARGS);

#endif
