/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gemv_isa.c — the matrix–vector product y = α·A·x + β·y (A row-major, one
 * vector or a pair sharing A), compiled once per instruction set
 * (GEMV_ISA = generic | avx2 | avx512, with the flags of
 * kernels/meson.build); blas.c calls the one attn_cpu_isa() names.
 *
 * Each row's dot product runs in GEMV_LANES partial sums, lane j taking the columns ≡ j (mod GEMV_LANES)
 * in order, summed as a tree at the end; every variant adds in that order,
 * so each gives the same floats, and a row's result does not depend on
 * which other rows share its call (a split over threads changes nothing).
 * Four rows a pass (two for a pair) read each block of x once for all. */
#include "gemm-private.h"

#include <stddef.h>

#ifndef GEMV_ISA
#define GEMV_ISA generic
#endif
#define GEMV_CAT2(a, b) a (b)
#define GEMV_CAT(a, b) GEMV_CAT2 (a, b)

#define GEMV_LANES 16        /* lanes_sum's tree is written for 16 */
#define GEMV_ROWS_MAX 4

/* GEMV_LANES floats as one value of GCC's vector extension: a zmm register
 * on AVX-512, two ymm on AVX2, four xmm on the generic build, the same
 * lane-wise operations on each. LOAD_LANES reads them from anywhere (a
 * float's alignment). */
typedef float Lanes __attribute__ ((vector_size (GEMV_LANES * 4)));
typedef float LanesU __attribute__ ((vector_size (GEMV_LANES * 4),
                                     aligned (4)));
#define LOAD_LANES(p) (*(const LanesU *) (p))

typedef float Lanes8 __attribute__ ((vector_size (32)));
typedef float Lanes4 __attribute__ ((vector_size (16)));
typedef float Lanes2 __attribute__ ((vector_size (8)));

/* The sum of the lanes as a tree: lane j + lane j + 8, then j + 4, j + 2,
 * j + 1, in halves of the vector (on AVX-512 an extract and an add each).
 * (By pointer: a vector argument is an ABI GCC warns about where the
 * function is not inlined, as in a -O0 build.) */
static inline float
lanes_sum (const Lanes *s)
{
  union { Lanes v; Lanes8 h[2]; } u16 = { *s };
  union { Lanes8 v; Lanes4 h[2]; } u8 = { u16.h[0] + u16.h[1] };
  union { Lanes4 v; Lanes2 h[2]; } u4 = { u8.h[0] + u8.h[1] };
  Lanes2 u2 = u4.h[0] + u4.h[1];
  return u2[0] + u2[1];
}

/* dot[r][v] = A's row r · x[v], rows ≤ GEMV_ROWS_MAX and nx ≤ 2 constants
 * at each call site, so each inlined copy keeps its sums in registers. */
static inline __attribute__ ((always_inline)) void
rows_dot (float dot[GEMV_ROWS_MAX][2], const float *a, size_t lda,
          const float *x0, const float *x1, int rows, int nx, int k)
{
  const float *x[2] = { x0, x1 };
  Lanes acc[GEMV_ROWS_MAX][2];
  for (int r = 0; r < rows; r++)
    for (int v = 0; v < nx; v++)
      acc[r][v] = (Lanes) { 0.0f };
  int i = 0;
  for (; i + GEMV_LANES <= k; i += GEMV_LANES)
    for (int v = 0; v < nx; v++) {
      Lanes xv = LOAD_LANES (x[v] + i);
      for (int r = 0; r < rows; r++)
        acc[r][v] += LOAD_LANES (a + r * lda + i) * xv;
    }
  /* the last k mod GEMV_LANES columns into lanes 0, 1, … */
  for (int j = 0; i + j < k; j++)
    for (int r = 0; r < rows; r++)
      for (int v = 0; v < nx; v++)
        acc[r][v][j] += a[r * lda + i + j] * x[v][i + j];
  for (int r = 0; r < rows; r++)
    for (int v = 0; v < nx; v++)
      dot[r][v] = lanes_sum (&acc[r][v]);
}

/* Rows [0, m) in passes of `rows`, the last pass one row at a time. */
static inline __attribute__ ((always_inline)) void
gemv_pass (int m, int k, float alpha, const float *a, size_t lda,
           const float *x0, const float *x1, float beta, float *y0,
           float *y1, int rows, int nx)
{
  float dot[GEMV_ROWS_MAX][2];
  float *y[2] = { y0, y1 };
  int r = 0;
  for (; r + rows <= m; r += rows) {
    rows_dot (dot, a + r * lda, lda, x0, x1, rows, nx, k);
    for (int q = 0; q < rows; q++)
      for (int v = 0; v < nx; v++)
        y[v][r + q] = alpha * dot[q][v]
            + (beta == 0.0f ? 0.0f : beta * y[v][r + q]);
  }
  for (; r < m; r++) {
    rows_dot (dot, a + r * lda, lda, x0, x1, 1, nx, k);
    for (int v = 0; v < nx; v++)
      y[v][r] = alpha * dot[0][v] + (beta == 0.0f ? 0.0f : beta * y[v][r]);
  }
}

GEMV_CAT (GEMV_ROWS, GEMV_ISA)
{
  if (x1)
    gemv_pass (m, k, alpha, a, lda, x0, x1, beta, y0, y1, 2, 2);
  else
    gemv_pass (m, k, alpha, a, lda, x0, NULL, beta, y0, NULL, 4, 1);
}
