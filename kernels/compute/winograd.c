/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* winograd.c — F(m×m, 3×3) convolution, m = 2 or 4: input transform
 * Bᵀ·d·B per α×α input tile (α = m + 2), α² sgemms against the
 * pre-transformed weights G·g·Gᵀ, output transform Aᵀ·M·A per tile, with
 * bias, residual and ReLU applied as the output is written (the pools and
 * other activations: the epilogue's pass).
 *
 * F(2×2, 3×3):
 *   Bᵀ = | 1  0 -1  0 |    G = | 1    0    0  |    Aᵀ = | 1  1  1  0 |
 *        | 0  1  1  0 |        | ½    ½    ½  |         | 0  1 -1 -1 |
 *        | 0 -1  1  0 |        | ½   -½    ½  |
 *        | 0  1  0 -1 |        | 0    0    1  |
 *
 * F(4×4, 3×3) (interpolation points 0, ±1, ±2 and ∞):
 *   Bᵀ = | 4  0 -5  0  1  0 |   G = |  1/4    0     0   |
 *        | 0 -4 -4  1  1  0 |       | -1/6  -1/6  -1/6  |
 *        | 0  4 -4 -1  1  0 |       | -1/6   1/6  -1/6  |
 *        | 0 -2 -1  2  1  0 |       |  1/24  1/12  1/6  |
 *        | 0  2 -1 -2  1  0 |       |  1/24 -1/12  1/6  |
 *        | 0  4  0 -5  0  1 |       |  0     0     1    |
 *   Aᵀ = | 1  1  1  1  1  0 |
 *        | 0  1 -1  2 -2  0 |
 *        | 0  1  1  4  4  0 |
 *        | 0  1 -1  8 -8  1 |
 * 2.25× fewer multiplications than F(2×2) in the products (36 per 16
 * outputs against 16 per 4), for larger constants and so more rounding.
 *
 * Layouts: weights u[ξ][co][ci]; tiles in raster order (tw per row), cut
 * into blocks of at most 48 (one panel of the GEMM kernel); per block, the
 * transformed input v[ξ][ci][tile] and the products M[ξ][co][tile], ξ =
 * α·row + column of the α×α transform. A worker carries its blocks through
 * all three phases in its own buffers (≈ 0.4 MB at 64 channels for F(2×2)),
 * so v and M stay in its core's L2 and the threads share nothing but the
 * input and the output. With few tiles for many output channels the whole
 * image is one block, and the workers split it by output channels
 * (worker_co).
 *
 * The ·B of the input transform and the ·A of the output one (with the
 * store's steps) read and write tiles m floats apart; on AVX-512 they run
 * as winograd_isa.c's per-tile steps, a tile per lane, with the same
 * floats. */
#include "winograd.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "cpu.h"
#include "parallel.h"
#include "winograd-private.h"

/* At most this many workers, each with its own block buffers. */
#define SPLIT 16

/* F(4×4) where it has at least this many 4×4 tiles, else F(2×2): with
 * fewer, its 36 products are too narrow and there are too few blocks to
 * split (attn-bench conv rows, 2026-12-05: F(4×4) 15–35 % faster than
 * F(2×2) at 64 ch @56² (196 tiles) and 128 ch @28² (49) on 1 and 2
 * threads; level at 256 ch @14² (16) on 1 thread, 3× slower on 2, where
 * its one block leaves a core idle) */
#define F4_MIN_TILES 36

/* Where the AVX-512 multiply-adds run at half rate (attn_cpu_fma_half),
 * layers of at least HALF_MIN_CH channels whose transformed weights come
 * from memory pay for fewer multiply-adds sooner: F(2×2) from 16 of its
 * tiles and the blocked Winograd's F(4×4) from 16 of its. ResNet-50-CBAM
 * on an AMD EPYC (Zen 4), minima of 30 profiled forwards: 512 ch @7² (16
 * tiles) F(2×2) 1.65–1.70 ms against direct 2.07 on 1 thread, 0.89
 * against 1.05 on 2 (16 MB of transformed weights a layer, read at
 * ~10 GB/s); 256 ch @14² blocked F(4×4) 0.83–0.86 against the relaid
 * F(2×2) 1.14–1.29 on 1 thread, 0.48 against 0.67–0.78 on 2. On a Xeon
 * with full-width units both were slower (docs/performance.md). */
#define HALF_MIN_TILES 16
#define HALF_MIN_CH 256

static int
tiles_along (int out, int m)
{
  return (out + m - 1) / m;
}

/* Floats of one scratch row: a zero-padded input row of m·n + 2 values for
 * a segment of n tiles, or a row of output-transform partial sums. */
static size_t
row_len (int n, int m)
{
  return (size_t) m * n + 2;
}

/* Scratch rows a worker needs: the input transform's α copied rows and α
 * combined ones; the output transform's m·α partial sums. */
static int
scratch_rows (int m)
{
  return m == 4 ? 24 : 8;
}

/* Floats between consecutive ξ planes of a block's v and M: rounded up to a
 * cache line plus one more, so that the planes written side by side never
 * sit a multiple of 4 KB apart (64 ch × 48 tiles is exactly 3 pages: without
 * the skew the 16 store streams alias and the input transform runs 3×
 * slower). */
static size_t
plane_stride (size_t floats)
{
  return (floats + 15) / 16 * 16 + 16;
}

/* Tiles per block: one 48-column panel of the GEMM kernel, or fewer so that
 * `threads` workers each get a block on small maps (a multiple of 16, the
 * kernel's vector width). */
static int
block_tiles (size_t nt, int threads)
{
  size_t per = (nt + (size_t) threads - 1) / (size_t) threads;
  per = (per + 15) / 16 * 16;
  return per < 48 ? (int) per : 48;
}

/* A last block of at most this many tiles joins the one before: on its own
 * it read all the transformed weights again for a few tiles (49 tiles in
 * blocks of 48: 4 MB of weights at 256 channels for one tile), and up to 8
 * columns past a whole vector cost the GEMM kernel little (gemm_isa.c). */
#define TAIL_TILES 8

/* Floats left unused after each worker's buffers when there are several.
 * Measured, with no performance counters in the VM to say why: on 2
 * threads a worker whose buffers began right after the other's ran its
 * input transform at half speed (64 ch @56² under F(4×4), 0.18 against
 * 0.09 ms; the slowness followed the buffer, not the core, when the two
 * swapped), and moving them apart sped it up step by step up to ~512 KB
 * (16 KB changed nothing, 128 KB most of it). Our suspicion is the TLB's
 * sets or the prefetchers, which see virtual addresses; 4-KB aliasing
 * and the L2's sets are ruled out, as gaps that are multiples of 64 KB
 * differed. */
#define WORKER_GAP ((size_t) 128 * 1024)

/* Where everything lives for one h×w image with m×m output tiles on
 * `threads` workers: the tile grid; tiles cut into blocks of nb, the last
 * block taking up to TAIL_TILES more; each worker's buffers — a block's v
 * (α² planes of ps_in floats: c_in rows of ld ≥ the block's tiles), its M
 * (α² of ps_out) and the scratch rows — `per_worker` floats, one after
 * another in the workspace. attn_winograd_workspace and
 * attn_conv2d_winograd both read it, so the size reserved and the size used
 * cannot drift apart. */
typedef struct {
  int m, planes;
  int ho, wo, th, tw;
  size_t nt;
  int nb, ld, nblocks, workers;
  size_t ps_in, ps_out, per_worker;
  bool by_co;                   /* by output channels (see worker_co) */
} WinoLayout;

static WinoLayout
layout (const AttnConv2d *p, int h, int w, int m, int threads)
{
  WinoLayout l;
  threads = threads < 1 ? 1 : threads > SPLIT ? SPLIT : threads;
  l.m = m;
  l.planes = (m + 2) * (m + 2);
  l.ho = attn_conv_out_dim (h, 3, 1, p->pad_h, 1);
  l.wo = attn_conv_out_dim (w, 3, 1, p->pad_w, 1);
  l.th = tiles_along (l.ho, m);
  l.tw = tiles_along (l.wo, m);
  l.nt = (size_t) l.th * l.tw;
  l.nb = block_tiles (l.nt, threads);
  l.ld = l.nb + TAIL_TILES;
  l.nblocks = (int) ((l.nt + (size_t) l.nb - 1) / (size_t) l.nb);
  if (l.nblocks > 1 && l.nt - (size_t) (l.nblocks - 1) * l.nb <= TAIL_TILES)
    l.nblocks--;
  l.workers = l.nblocks < threads ? l.nblocks : threads;
  /* fewer than two blocks a thread, and weights that outweigh the input
   * transform every worker then repeats (C_out ≥ 4 × tiles): one block of
   * every tile, split by output channels (worker_co) */
  l.by_co = threads > 1 && l.nblocks < 2 * threads
      && (size_t) p->c_out >= 4 * l.nt;
  if (l.by_co) {
    l.nb = (int) l.nt;
    l.ld = l.nb;
    l.nblocks = 1;
    l.workers = threads;
  }
  l.ps_in = plane_stride ((size_t) p->c_in * l.ld);
  l.ps_out = plane_stride ((size_t) p->c_out * l.ld);
  l.per_worker = (size_t) l.planes * (l.ps_in + l.ps_out)
      + (size_t) scratch_rows (m) * row_len (l.ld, m)
      + (l.workers > 1 ? WORKER_GAP : 0);
  return l;
}

bool
attn_winograd_applies (const AttnConv2d *p, int h, int w)
{
  return p->kh == 3 && p->kw == 3 && p->stride_h == 1 && p->stride_w == 1
      && p->dil_h == 1 && p->dil_w == 1 && p->groups == 1
      && p->pad_h >= 0 && p->pad_h <= 2 && p->pad_w >= 0 && p->pad_w <= 2
      && attn_conv_out_dim (h, 3, 1, p->pad_h, 1) > 0
      && attn_conv_out_dim (w, 3, 1, p->pad_w, 1) > 0;
}

/* -1: not chosen yet (the environment's ATTN_WINOGRAD, read at the first
 * plan, or AUTO) */
static int policy = -1;

void
attn_winograd_set_policy (AttnWinogradPolicy pol)
{
  policy = (int) pol;
}

static AttnWinogradPolicy
current_policy (void)
{
  if (policy < 0) {
    const char *env = getenv ("ATTN_WINOGRAD");
    policy = !env ? ATTN_WINOGRAD_AUTO
        : !strcmp (env, "never") ? ATTN_WINOGRAD_NEVER
        : !strcmp (env, "f2") ? ATTN_WINOGRAD_F2
        : !strcmp (env, "f4") ? ATTN_WINOGRAD_F4 : ATTN_WINOGRAD_AUTO;
  }
  return (AttnWinogradPolicy) policy;
}

static int
choose_tile (const AttnConv2d *p, int h, int w, bool blocked)
{
  AttnWinogradPolicy pol = current_policy ();
  if (pol == ATTN_WINOGRAD_NEVER || !attn_winograd_applies (p, h, w))
    return 0;
  if (pol == ATTN_WINOGRAD_F2)
    return 2;
  if (pol == ATTN_WINOGRAD_F4)
    return 4;
  size_t tiles2 = layout (p, h, w, 2, 1).nt;
  size_t tiles4 = layout (p, h, w, 4, 1).nt;
  /* below these the small GEMMs and the transforms' memory traffic cost
   * more than the fewer multiplications save: with few tiles each
   * transformed weight (16·C_out·C_in floats, 16 MB at 512²) is used too few
   * times (attn-bench conv rows, 1 thread: F(2×2) 1.7× faster than im2col
   * at 64 ch @56², 128 ch @28² and 256 ch @14², 1.4× at 32 ch @32², 0.9×
   * at 512 ch @7² (16 tiles); at 16 ch it wins with 1 thread and loses with
   * 2) */
  bool half = attn_cpu_fma_half () && p->c_in >= HALF_MIN_CH
      && p->c_out >= HALF_MIN_CH;
  if (p->c_in < 32 || p->c_out < 32 || tiles2 < (half ? HALF_MIN_TILES : 36))
    return 0;
  return tiles4 >= (half && blocked ? HALF_MIN_TILES : F4_MIN_TILES) ? 4 : 2;
}

int
attn_winograd_tile (const AttnConv2d *p, int h, int w)
{
  return choose_tile (p, h, w, false);
}

int
attn_winograd_blocked_tile (const AttnConv2d *p, int h, int w)
{
  return choose_tile (p, h, w, true);
}

bool
attn_winograd_pays (const AttnConv2d *p, int h, int w)
{
  return attn_winograd_tile (p, h, w) != 0;
}

bool
attn_winograd_splits_weights (const AttnConv2d *p, int h, int w, int m,
                              int threads)
{
  return attn_winograd_applies (p, h, w) && layout (p, h, w, m, threads).by_co;
}

size_t
attn_winograd_weights_size (const AttnConv2d *p, int m)
{
  return (size_t) (m + 2) * (m + 2) * p->c_out * p->c_in;
}

/* G for F(2×2, 3×3) and F(4×4, 3×3), α rows of 3 */
static const double g2[4][3] = {
  { 1, 0, 0 }, { 0.5, 0.5, 0.5 }, { 0.5, -0.5, 0.5 }, { 0, 0, 1 },
};

static const double g4[6][3] = {
  { 1.0 / 4, 0, 0 },
  { -1.0 / 6, -1.0 / 6, -1.0 / 6 },
  { -1.0 / 6, 1.0 / 6, -1.0 / 6 },
  { 1.0 / 24, 1.0 / 12, 1.0 / 6 },
  { 1.0 / 24, -1.0 / 12, 1.0 / 6 },
  { 0, 0, 1 },
};

/* Filters a range of the transform takes at once: their 36 (or 16)
 * values a filter go out as rows of WEIGHTS_RUN consecutive floats */
#define WEIGHTS_RUN 16
#define WEIGHTS_CHUNK 1024      /* filters a task */

typedef struct {
  float *u;
  const float *weight;
  size_t plane;
  int m;
} WeightsJob;

/* Filters [lo, hi) × WEIGHTS_CHUNK of the (C_out, C_in) plane */
static void
weights_range (void *ctx, int lo, int hi)
{
  const WeightsJob *j = ctx;
  int al = j->m + 2;
  const double (*g) [3] = j->m == 4 ? g4 : g2;
  size_t end = (size_t) hi * WEIGHTS_CHUNK;
  end = end < j->plane ? end : j->plane;
  for (size_t k0 = (size_t) lo * WEIGHTS_CHUNK; k0 < end; k0 += WEIGHTS_RUN) {
    int n = end - k0 < WEIGHTS_RUN ? (int) (end - k0) : WEIGHTS_RUN;
    float v[36][WEIGHTS_RUN];
    for (int r = 0; r < n; r++) {
      const float *f = j->weight + 9 * (k0 + r);
      double q[6][3];
      for (int i = 0; i < al; i++)       /* G·f: combine the kernel's rows */
        for (int c = 0; c < 3; c++)
          q[i][c] = g[i][0] * f[c] + g[i][1] * f[3 + c] + g[i][2] * f[6 + c];
      for (int i = 0; i < al; i++)       /* (G·f)·Gᵀ: then its columns */
        for (int c = 0; c < al; c++)
          v[al * i + c][r] = (float) (q[i][0] * g[c][0] + q[i][1] * g[c][1]
                                      + q[i][2] * g[c][2]);
    }
    for (int e = 0; e < al * al; e++)
      memcpy (j->u + (size_t) e * j->plane + k0, v[e], sizeof (float) * n);
  }
}

/* Split over the pool's threads (the same floats on any number) */
void
attn_winograd_weights (float *u, const float *weight, const AttnConv2d *p,
                       int m)
{
  WeightsJob j = { u, weight, (size_t) p->c_out * p->c_in, m };
  size_t chunks = (j.plane + WEIGHTS_CHUNK - 1) / WEIGHTS_CHUNK;
  attn_parallel_range ((int) chunks, 1, weights_range, &j);
}

size_t
attn_winograd_workspace (const AttnConv2d *p, int h, int w, int m)
{
  if (!attn_winograd_applies (p, h, w) || (m != 2 && m != 4))
    return 0;
  size_t most = 0;               /* over every thread budget it may run on */
  int cores = attn_parallel_cores ();   /* the budget never exceeds them */
  for (int t = 1; t <= SPLIT && t <= cores; t++) {
    WinoLayout l = layout (p, h, w, m, t);
    size_t need = (size_t) l.workers * l.per_worker;
    most = need > most ? need : most;
  }
  return most;
}

#ifdef ATTN_HAVE_ISA_VARIANTS
/* winograd_isa.c's per-tile steps for one instruction set */
typedef void (*WinoInput) (float *, size_t, const float *, int, int);
typedef void (*WinoOutput) (float *, const float *, size_t, int, int, int,
                            int, bool, const float *, float, bool);
typedef struct {
  WinoInput input2, input4;
  WinoOutput output2, output4;
} WinoSteps;

static const WinoSteps steps_avx512 = {
  wino_input2_avx512, wino_input4_avx512, wino_output2_avx512,
  wino_output4_avx512
};
static const WinoSteps steps_avx2 = {
  wino_input2_avx2, wino_input4_avx2, wino_output2_avx2, wino_output4_avx2
};
#else
typedef struct WinoSteps WinoSteps;
#endif

/* The per-tile steps of winograd_isa.c for the instruction set in use (the
 * same floats as the loops here), or NULL: those loops. */
static const WinoSteps *
wide_steps (void)
{
#ifdef ATTN_HAVE_ISA_VARIANTS
  switch (attn_cpu_isa ()) {
    case ATTN_ISA_AVX512:
      return &steps_avx512;
    case ATTN_ISA_AVX2:
      return &steps_avx2;
    default:
      break;
  }
#endif
  return NULL;
}

/* Copies the α input rows that tile row ty's tiles a .. b−1 read from one
 * channel x (h×w) into zero-padded scratch rows d (α rows of len). */
static void
copy_rows (float *restrict d, const float *restrict x, int h, int w, int ph,
           int pw, int m, int ty, int a, int len)
{
  /* row[j] = x[iy][x0 + j] for j in [jlo, jhi), 0 elsewhere */
  int x0 = m * a - pw;
  int jlo = x0 < 0 ? -x0 : 0;
  jlo = jlo < len ? jlo : len;
  int jhi = w - x0 < len ? w - x0 : len;
  jhi = jhi > jlo ? jhi : jlo;
  for (int r = 0; r < m + 2; r++) {
    float *row = d + r * len;
    int iy = m * ty - ph + r;
    if (iy < 0 || iy >= h) {
      memset (row, 0, (size_t) len * sizeof *row);
      continue;
    }
    memset (row, 0, (size_t) jlo * sizeof *row);
    memcpy (row + jlo, x + (size_t) iy * w + (x0 + jlo),
            (size_t) (jhi - jlo) * sizeof *row);
    memset (row + jhi, 0, (size_t) (len - jhi) * sizeof *row);
  }
}

/* v[ξ][c][j] = (Bᵀ·d·B)[ξ] for the 4×4 input tiles d of tiles a .. b−1 of
 * tile row ty (j = 0 .. b−a−1; ldv floats between channels), zero padded.
 * The four input rows the segment reads are copied into zero-padded scratch
 * rows, Bᵀ combines whole rows (contiguous), and ·B combines columns
 * 2·j .. 2·j + 3 of them for every tile. */
static void
input_segment2 (float *restrict v, size_t ps, int ldv, const float *restrict in,
                int c, int h, int w, int ph, int pw, int ty, int a, int b,
                float *restrict scratch)
{
  int n = b - a;
  int len = (int) row_len (n, 2);
  float *d = scratch, *t = scratch + 4 * len;
  const WinoSteps *wide = wide_steps ();
  for (int ci = 0; ci < c; ci++) {
    copy_rows (d, in + (size_t) ci * h * w, h, w, ph, pw, 2, ty, a, len);
    const float *d0 = d, *d1 = d + len, *d2 = d + 2 * len, *d3 = d + 3 * len;
    float *t0 = t, *t1 = t + len, *t2 = t + 2 * len, *t3 = t + 3 * len;
#pragma omp simd
    for (int j = 0; j < len; j++) {      /* Bᵀ·d, the whole segment */
      t0[j] = d0[j] - d2[j];
      t1[j] = d1[j] + d2[j];
      t2[j] = d2[j] - d1[j];
      t3[j] = d1[j] - d3[j];
    }
    float *o = v + (size_t) ci * ldv;
#ifdef ATTN_HAVE_ISA_VARIANTS
    if (wide) {
      wide->input2 (o, ps, t, len, n);
      continue;
    }
#endif
    for (int r = 0; r < 4; r++) {         /* (Bᵀ·d)·B, tile by tile */
      const float *tr = t + r * len;
      float *o0 = o + (4 * r + 0) * ps, *o1 = o + (4 * r + 1) * ps;
      float *o2 = o + (4 * r + 2) * ps, *o3 = o + (4 * r + 3) * ps;
#pragma omp simd
      for (int j = 0; j < n; j++) {
        const float *q = tr + 2 * j;
        o0[j] = q[0] - q[2];
        o1[j] = q[1] + q[2];
        o2[j] = q[2] - q[1];
        o3[j] = q[1] - q[3];
      }
    }
  }
}

/* The same for F(4×4, 3×3): 6×6 input tiles 4 apart, 36 planes. Bᵀ's rows
 * share their differences: with e = d4 − d2 and f = d1 − d3,
 * row 3 = e − 2f and row 4 = e + 2f; rows 1 and 2 are ∓4(d1 ± d2) + (d3 ±
 * d4) with the signs as in Bᵀ. */
static void
input_segment4 (float *restrict v, size_t ps, int ldv, const float *restrict in,
                int c, int h, int w, int ph, int pw, int ty, int a, int b,
                float *restrict scratch)
{
  int n = b - a;
  int len = (int) row_len (n, 4);
  float *d = scratch, *t = scratch + 6 * len;
  const WinoSteps *wide = wide_steps ();
  for (int ci = 0; ci < c; ci++) {
    copy_rows (d, in + (size_t) ci * h * w, h, w, ph, pw, 4, ty, a, len);
    const float *d0 = d, *d1 = d + len, *d2 = d + 2 * len, *d3 = d + 3 * len;
    const float *d4 = d + 4 * len, *d5 = d + 5 * len;
    float *t0 = t, *t1 = t + len, *t2 = t + 2 * len, *t3 = t + 3 * len;
    float *t4 = t + 4 * len, *t5 = t + 5 * len;
#pragma omp simd
    for (int j = 0; j < len; j++) {      /* Bᵀ·d, the whole segment */
      float e = d4[j] - d2[j], f = d1[j] - d3[j];
      float s12 = d1[j] + d2[j], s34 = d3[j] + d4[j];
      float u12 = d1[j] - d2[j], u34 = d3[j] - d4[j];
      t0[j] = 4.0f * d0[j] - 5.0f * d2[j] + d4[j];
      t1[j] = s34 - 4.0f * s12;
      t2[j] = 4.0f * u12 - u34;
      t3[j] = e - 2.0f * f;
      t4[j] = e + 2.0f * f;
      t5[j] = 4.0f * d1[j] - 5.0f * d3[j] + d5[j];
    }
    float *o = v + (size_t) ci * ldv;
#ifdef ATTN_HAVE_ISA_VARIANTS
    if (wide) {
      wide->input4 (o, ps, t, len, n);
      continue;
    }
#endif
    for (int r = 0; r < 6; r++) {         /* (Bᵀ·d)·B, tile by tile */
      const float *tr = t + r * len;
      float *o0 = o + (6 * r + 0) * ps, *o1 = o + (6 * r + 1) * ps;
      float *o2 = o + (6 * r + 2) * ps, *o3 = o + (6 * r + 3) * ps;
      float *o4 = o + (6 * r + 4) * ps, *o5 = o + (6 * r + 5) * ps;
#pragma omp simd
      for (int j = 0; j < n; j++) {
        const float *q = tr + 4 * j;
        float e = q[4] - q[2], f = q[1] - q[3];
        float s12 = q[1] + q[2], s34 = q[3] + q[4];
        float u12 = q[1] - q[2], u34 = q[3] - q[4];
        o0[j] = 4.0f * q[0] - 5.0f * q[2] + q[4];
        o1[j] = s34 - 4.0f * s12;
        o2[j] = 4.0f * u12 - u34;
        o3[j] = e - 2.0f * f;
        o4[j] = e + 2.0f * f;
        o5[j] = 4.0f * q[1] - 5.0f * q[3] + q[5];
      }
    }
  }
}

/* The store's steps on a span of an output row: x + (bias + res), then
 * ReLU, rounded as conv.c's epilogue pass rounds them. */
typedef struct {
  const float *bias, *res;     /* res: (C_out, Ho, Wo), or NULL */
  bool relu;
} WinoStore;

#ifdef ATTN_HAVE_ISA_VARIANTS
/* output_segment2/4 through winograd_isa.c's per-tile step for m: each
 * output channel's rows m·ty .. (at most m) of columns x0 .. x0 + cols − 1,
 * then the store's steps */
static void
output_wide (WinoOutput step, int m, float *out, const float *mm,
             size_t ps, int ldm, int c, int ho, int wo, int ty, int x0,
             int n, int cols, const WinoStore *st)
{
  int rows = ho - m * ty < m ? ho - m * ty : m;
  for (int co = 0; co < c; co++) {
    size_t at = ((size_t) co * ho + m * ty) * wo + x0;
    step (out + at, mm + (size_t) co * ldm, ps, rows, wo, n, cols, st != NULL,
          st && st->res ? st->res + at : NULL,
          st && st->bias ? st->bias[co] : 0.0f, st && st->relu);
  }
}
#endif

/* out[co][2ty+i][2(a+j)+k] = (Aᵀ·M·A)[i][k] for tiles a .. b−1 of tile row
 * ty (M: ldm floats between channels, j = 0 .. b−a−1), cropped to ho × wo,
 * then the store's steps; Aᵀ across the 16 planes (contiguous along the
 * segment), then ·A. */
static void
output_segment2 (float *restrict out, const float *restrict mm, size_t ps,
                 int ldm, int c, int ho, int wo, int tw, int ty, int a, int b,
                 const WinoStore *st, float *restrict scratch)
{
  int n = b - a;
  size_t len = row_len (n, 2);
  /* tiles whose two columns both fit: all but an odd width's last one */
  int full = b == tw && wo % 2 ? n - 1 : n;
  int x0 = 2 * a, x1 = 2 * b < wo ? 2 * b : wo;
#ifdef ATTN_HAVE_ISA_VARIANTS
  const WinoSteps *wide = wide_steps ();
  if (wide) {
    output_wide (wide->output2, 2, out, mm, ps, ldm, c, ho, wo, ty, x0,
                 n, x1 - x0, st);
    return;
  }
#endif
  for (int co = 0; co < c; co++) {
    const float *q = mm + (size_t) co * ldm;
    for (int s = 0; s < 4; s++) {         /* Aᵀ·M: rows 0 and 1, column s */
      const float *m0 = q + s * ps, *m1 = q + (4 + s) * ps;
      const float *m2 = q + (8 + s) * ps, *m3 = q + (12 + s) * ps;
      float *r0 = scratch + s * len, *r1 = scratch + (4 + s) * len;
#pragma omp simd
      for (int j = 0; j < n; j++) {
        r0[j] = m0[j] + m1[j] + m2[j];
        r1[j] = m1[j] - m2[j] - m3[j];
      }
    }
    float bv = st && st->bias ? st->bias[co] : 0.0f;
    for (int i = 0; i < 2 && 2 * ty + i < ho; i++) {     /* (Aᵀ·M)·A */
      const float *r = scratch + 4 * i * len;
      const float *a0 = r, *a1 = r + len, *a2 = r + 2 * len, *a3 = r + 3 * len;
      size_t at = ((size_t) co * ho + 2 * ty + i) * wo;
      float *row = out + at + x0;
#pragma omp simd
      for (int j = 0; j < full; j++) {
        row[2 * j] = a0[j] + a1[j] + a2[j];
        row[2 * j + 1] = a1[j] - a2[j] - a3[j];
      }
      if (full < n)                       /* odd width: the last column */
        row[2 * full] = a0[full] + a1[full] + a2[full];
      if (st)
        attn_gemm_store_row (out + at + x0, st->res ? st->res + at + x0
                             : NULL, bv, st->relu, x1 - x0);
    }
  }
}

/* The same for F(4×4, 3×3): 4×4 output tiles from 36 planes. With
 * p = m1 + m2, q = m1 − m2, u = m3 + m4, v = m3 − m4, Aᵀ's rows are
 * m0 + p + u, q + 2v, p + 4u and q + 8v + m5. */
static void
output_segment4 (float *restrict out, const float *restrict mm, size_t ps,
                 int ldm, int c, int ho, int wo, int tw, int ty, int a, int b,
                 const WinoStore *st, float *restrict scratch)
{
  int n = b - a;
  size_t len = row_len (n, 4);
  /* tiles whose four columns all fit: all but a ragged width's last one */
  int full = b == tw && wo % 4 ? n - 1 : n;
  int x0 = 4 * a, x1 = 4 * b < wo ? 4 * b : wo;
#ifdef ATTN_HAVE_ISA_VARIANTS
  const WinoSteps *wide = wide_steps ();
  if (wide) {
    output_wide (wide->output4, 4, out, mm, ps, ldm, c, ho, wo, ty, x0,
                 n, x1 - x0, st);
    return;
  }
#endif
  for (int co = 0; co < c; co++) {
    const float *qq = mm + (size_t) co * ldm;
    for (int s = 0; s < 6; s++) {         /* Aᵀ·M: rows 0 .. 3, column s */
      const float *m0 = qq + s * ps, *m1 = qq + (6 + s) * ps;
      const float *m2 = qq + (12 + s) * ps, *m3 = qq + (18 + s) * ps;
      const float *m4 = qq + (24 + s) * ps, *m5 = qq + (30 + s) * ps;
      float *r0 = scratch + s * len, *r1 = scratch + (6 + s) * len;
      float *r2 = scratch + (12 + s) * len, *r3 = scratch + (18 + s) * len;
#pragma omp simd
      for (int j = 0; j < n; j++) {
        float p = m1[j] + m2[j], q = m1[j] - m2[j];
        float u = m3[j] + m4[j], v = m3[j] - m4[j];
        r0[j] = m0[j] + p + u;
        r1[j] = q + 2.0f * v;
        r2[j] = p + 4.0f * u;
        r3[j] = q + 8.0f * v + m5[j];
      }
    }
    float bv = st && st->bias ? st->bias[co] : 0.0f;
    for (int i = 0; i < 4 && 4 * ty + i < ho; i++) {     /* (Aᵀ·M)·A */
      const float *r = scratch + 6 * i * len;
      const float *a0 = r, *a1 = r + len, *a2 = r + 2 * len, *a3 = r + 3 * len;
      const float *a4 = r + 4 * len, *a5 = r + 5 * len;
      size_t at = ((size_t) co * ho + 4 * ty + i) * wo;
      float *row = out + at + x0;
#pragma omp simd
      for (int j = 0; j < full; j++) {
        float p = a1[j] + a2[j], q = a1[j] - a2[j];
        float u = a3[j] + a4[j], v = a3[j] - a4[j];
        row[4 * j] = a0[j] + p + u;
        row[4 * j + 1] = q + 2.0f * v;
        row[4 * j + 2] = p + 4.0f * u;
        row[4 * j + 3] = q + 8.0f * v + a5[j];
      }
      if (full < n) {                     /* the last tile's columns that fit */
        int j = full;
        float p = a1[j] + a2[j], q = a1[j] - a2[j];
        float u = a3[j] + a4[j], v = a3[j] - a4[j];
        float y[4] = { a0[j] + p + u, q + 2.0f * v, p + 4.0f * u,
                       q + 8.0f * v + a5[j] };
        for (int k = 0; 4 * j + k < x1 - x0; k++)
          row[4 * j + k] = y[k];
      }
      if (st)
        attn_gemm_store_row (out + at + x0, st->res ? st->res + at + x0
                             : NULL, bv, st->relu, x1 - x0);
    }
  }
}

typedef struct {
  float *out, *ws;
  const float *in, *u;
  const AttnConv2d *p;
  const WinoLayout *l;
  const WinoStore *st;
  int h, w;
  atomic_int *next;            /* per worker: the next block of its range */
} WinoRun;

/* The segment of tile row *ty that tile t starts: tiles *a .. *b − 1 of the
 * row, none past `end`. */
static void
segment (const WinoLayout *l, size_t t, size_t end, int *ty, int *a, int *b)
{
  *ty = (int) (t / l->tw);
  *a = (int) (t % l->tw);
  *b = end - t < (size_t) (l->tw - *a) ? *a + (int) (end - t) : l->tw;
}

/* Worker i's range of blocks: the i-th of l->workers contiguous shares. */
static int
range_start (const WinoLayout *l, int i)
{
  return (int) ((long) l->nblocks * i / l->workers);
}

/* The next block for worker i, or −1: its own range front to back, then
 * what is left of the others' (each range has its own counter, so a
 * block is claimed once). Contiguous ranges keep a core on the same rows
 * of the image from layer to layer, as the GEMM's column halves do, so
 * that it mostly reads what it wrote itself: a line another core wrote
 * costs ~5× one in the core's own cache (45 vs 8.5 µs to update 800 KB
 * on 2 cores here), and with blocks dealt in turn the residual reads of
 * the output transform alone took 4× their one-thread time. Stealing
 * keeps the balance fixed halves lacked (the worker with the second half
 * finished up to 1.5× later for the same number of tiles). */
static int
claim (const WinoRun *r, int i)
{
  const WinoLayout *l = r->l;
  for (int k = 0; k < l->workers; k++) {
    int o = (i + k) % l->workers;
    int blk = atomic_fetch_add_explicit (&r->next[o], 1, memory_order_relaxed);
    if (blk < range_start (l, o + 1))
      return blk;
  }
  return -1;
}

/* Worker i: blocks of tiles, claimed one at a time (claim), each carried
 * through the input transform, the α² products and the output transform
 * in the worker's own buffers, which stay in its core's cache (a split by
 * phases made every phase read what the other core had just written).
 * Buffers belong to the task index, not the block, so a stolen block
 * works in the thief's own. */
static void
worker (void *ctx, int i)
{
  const WinoRun *r = ctx;
  const WinoLayout *l = r->l;
  const AttnConv2d *p = r->p;
  int ci = p->c_in, co = p->c_out, nb = l->nb, ld = l->ld;
  float *v = r->ws + (size_t) i * l->per_worker;
  float *mm = v + l->planes * l->ps_in;
  float *scratch = mm + l->planes * l->ps_out;
  for (int blk; (blk = claim (r, i)) >= 0;) {
    size_t t0 = (size_t) blk * nb;
    int n = blk == l->nblocks - 1 ? (int) (l->nt - t0) : nb;  /* ≤ ld */
    size_t end = t0 + n;
    int ty, a, b;
    for (size_t t = t0; t < end; t += b - a) {  /* its tile-row segments */
      segment (l, t, end, &ty, &a, &b);
      (l->m == 4 ? input_segment4 : input_segment2)
          (v + (t - t0), l->ps_in, ld, r->in, ci, r->h, r->w, p->pad_h,
           p->pad_w, ty, a, b, scratch);
    }
    for (int xi = 0; xi < l->planes; xi++)      /* M[ξ] = u[ξ] · v[ξ] */
      attn_sgemm (false, false, co, n, ci, 1.0f,
                  r->u + (size_t) xi * co * ci, ci, v + xi * l->ps_in, ld,
                  0.0f, mm + xi * l->ps_out, ld);
    for (size_t t = t0; t < end; t += b - a) {
      segment (l, t, end, &ty, &a, &b);
      (l->m == 4 ? output_segment4 : output_segment2)
          (r->out, mm + (t - t0), l->ps_out, ld, co, l->ho, l->wo, l->tw, ty,
           a, b, r->st, scratch);
    }
  }
}

/* Worker i of a layer split by output channels (layout's by_co): every
 * worker transforms the whole input into its own v, multiplies its share of
 * the output channels' weights — so the weights are read once in all — and
 * transforms its channels' products to the output; nothing one worker
 * writes is read by another. In blocks, ResNet's 256 ch @14² under F(2×2)
 * (49 tiles) ran as blocks of 32 and 17 on 2 threads, and each worker read
 * all 4 MB of the transformed weights: its F(2×2) layers on 2 threads took
 * typically 4.1–4.2 → 3.6–3.8 ms in all (ResNet-50-CBAM, faster in 10 of
 * 14 alternated rounds). Where the input transform is the larger part
 * (128 ch @28² under F(4×4): 36 planes, C_out < 4 × 49 tiles) repeating it
 * on every worker lost (0.43 → 0.50 ms alone, 2.25 → 2.50 ms for
 * ResNet-18's three such layers). */
static void
worker_co (void *ctx, int i)
{
  const WinoRun *r = ctx;
  const WinoLayout *l = r->l;
  const AttnConv2d *p = r->p;
  int ci = p->c_in, co = p->c_out, ld = l->ld;
  int c0 = (int) ((long) co * i / l->workers);
  int c1 = (int) ((long) co * (i + 1) / l->workers);
  float *v = r->ws + (size_t) i * l->per_worker;
  float *mm = v + l->planes * l->ps_in;
  float *scratch = mm + l->planes * l->ps_out;
  int ty, a, b;
  for (size_t t = 0; t < l->nt; t += b - a) {
    segment (l, t, l->nt, &ty, &a, &b);
    (l->m == 4 ? input_segment4 : input_segment2)
        (v + t, l->ps_in, ld, r->in, ci, r->h, r->w, p->pad_h, p->pad_w, ty,
         a, b, scratch);
  }
  for (int xi = 0; xi < l->planes; xi++)
    attn_sgemm (false, false, c1 - c0, (int) l->nt, ci, 1.0f,
                r->u + ((size_t) xi * co + c0) * ci, ci, v + xi * l->ps_in,
                ld, 0.0f, mm + xi * l->ps_out, ld);
  size_t plane = (size_t) l->ho * l->wo;
  WinoStore st;
  if (r->st) {
    st = *r->st;
    st.bias = st.bias ? st.bias + c0 : NULL;
    st.res = st.res ? st.res + c0 * plane : NULL;
  }
  for (size_t t = 0; t < l->nt; t += b - a) {
    segment (l, t, l->nt, &ty, &a, &b);
    (l->m == 4 ? output_segment4 : output_segment2)
        (r->out + c0 * plane, mm + t, l->ps_out, ld, c1 - c0, l->ho, l->wo,
         l->tw, ty, a, b, r->st ? &st : NULL, scratch);
  }
}

void
attn_conv2d_winograd (float *out, const float *in, const float *u,
                      const AttnEpilogue *ep, float *ws, const AttnConv2d *p,
                      int h, int w, int m)
{
  if (!attn_winograd_applies (p, h, w) || (m != 2 && m != 4))
    return;
  WinoLayout l = layout (p, h, w, m, attn_parallel_threads ());
  /* bias, residual and ReLU ride in the output transform; the pools and
   * other activations need the epilogue's pass */
  bool fused = ep && !ep->avg_out && !ep->max_out
      && (ep->act == ATTN_ACT_NONE || ep->act == ATTN_ACT_RELU);
  WinoStore st = { 0 };
  if (fused)
    st = (WinoStore) { ep->bias, ep->residual, ep->act == ATTN_ACT_RELU };
  atomic_int next[SPLIT];
  for (int i = 0; i < l.workers; i++)
    atomic_init (&next[i], range_start (&l, i));
  WinoRun r = { out, ws, in, u, p, &l, fused ? &st : NULL, h, w, next };
  attn_parallel_for (l.workers, l.by_co ? worker_co : worker, &r);
  if (ep && !fused)
    attn_epilogue_apply (out, ep, 1, p->c_out, l.ho * l.wo);
}
