/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gemm_isa.c — compiled once per instruction set (GEMM_ISA = avx2 |
 * avx512, with -march=x86-64-v3 / -v4; see kernels/meson.build):
 *
 *  - gemm_peak_<isa>: the FMA peak, measured — independent chains of vector
 *    multiply-adds, enough of them to cover the latency of both FMA pipes;
 *  - (AVX-512 only) gemm_nn_avx512: C = α·A·B + β·C, row-major, neither
 *    operand transposed — the product every convolution path runs (1×1,
 *    im2col, Winograd's sixteen, the batched one). OpenBLAS 0.3.21 has no
 *    AVX-512 kernel for AMD Zen 4/5 (it runs its Haswell one, half the
 *    vector width); this one reads A and B where they lie (no packing: the
 *    weights are read as eight sequential row streams, B a K-block of one
 *    48-column panel at a time, which stays in L1) and keeps an 8×48 tile
 *    of C in 24 zmm registers;
 *  - (AVX2 only) gemm_nn_avx2: the same product and store at half the
 *    width, a 6×16 tile in 12 ymm registers.
 *
 * blas.h's attn_sgemm decides when the kernel runs. */
#include "gemm-private.h"

#include <immintrin.h>
#include <math.h>
#include <stdbool.h>
#include <time.h>

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2 (a, b)
#define ISA_FN(name) CAT (name, GEMM_ISA)

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

#if defined(__AVX512F__)
typedef __m512 vec;
#define VLEN 16
#define vset1 _mm512_set1_ps
#define vfma _mm512_fmadd_ps
#define vadd _mm512_add_ps
#define vstore _mm512_storeu_ps
#else
typedef __m256 vec;
#define VLEN 8
#define vset1 _mm256_set1_ps
#define vfma _mm256_fmadd_ps
#define vadd _mm256_add_ps
#define vstore _mm256_storeu_ps
#endif

/* 12 chains: FMA latency 4 cycles × 2 pipes needs at least 8 in flight. */
#define PEAK_CHAINS 12

/* The probes' timed loop: STEP (on chain i) for every chain, 4096 rounds at
 * a time, until `seconds` have passed; adds the rounds to iters and sets
 * dt to the time taken. */
#define TIMED_CHAINS(seconds, iters, dt, STEP) \
  do { \
    double t0_ = now (), t_; \
    do { \
      for (int r_ = 0; r_ < 4096; r_++) { \
        _Pragma ("GCC unroll 12") \
        for (int i = 0; i < PEAK_CHAINS; i++) \
          STEP; \
      } \
      (iters) += 4096; \
      t_ = now (); \
    } while (t_ - t0_ < (seconds)); \
    (dt) = t_ - t0_; \
  } while (0)

double
ISA_FN (gemm_peak) (double seconds)
{
  vec acc[PEAK_CHAINS];
  for (int i = 0; i < PEAK_CHAINS; i++)
    acc[i] = vset1 (1.0f + (float) i * 1e-3f);
  const vec x = vset1 (0.999999f), y = vset1 (1e-7f);
  long iters = 0;
  double dt;
  TIMED_CHAINS (seconds, iters, dt, acc[i] = vfma (acc[i], x, y));
  vec sum = acc[0];
  for (int i = 1; i < PEAK_CHAINS; i++)
    sum = vadd (sum, acc[i]);
  float keep[VLEN];
  vstore (keep, sum);
  volatile float sink = keep[0];
  (void) sink;
  return (double) iters * PEAK_CHAINS * VLEN * 2.0 / dt / 1e9;
}

#if defined(__AVX512F__)
/* The same probe for AVX512-BF16's dot product (vdpbf16ps: 16 lanes, each
 * adding two bf16 products to an FP32 sum), in FLOPS of those products:
 * what a bf16 path's products could reach at best, against the FMA peak
 * above. Only called where the CPU has the instructions (blas.c). */
__attribute__ ((target ("avx512bf16"))) double
gemm_bf16_peak_avx512 (double seconds)
{
  __m512 acc[PEAK_CHAINS];
  for (int i = 0; i < PEAK_CHAINS; i++)
    acc[i] = _mm512_set1_ps (1.0f + (float) i * 1e-3f);
  /* bf16 1.0 and 2^-24: the sums stay finite */
  const __m512bh x = (__m512bh) _mm512_set1_epi16 (0x3f80);
  const __m512bh y = (__m512bh) _mm512_set1_epi16 (0x3380);
  long iters = 0;
  double dt;
  TIMED_CHAINS (seconds, iters, dt, acc[i] = _mm512_dpbf16_ps (acc[i], x, y));
  __m512 sum = acc[0];
  for (int i = 1; i < PEAK_CHAINS; i++)
    sum = _mm512_add_ps (sum, acc[i]);
  volatile float sink = _mm512_reduce_add_ps (sum);
  (void) sink;
  return (double) iters * PEAK_CHAINS * 32 * 2.0 / dt / 1e9;
}
#endif

/* The rows of A the next tile will read (`rows` rows from `a`, floats
 * [0, cols) of each), fetched into L2 while this tile runs, a line per row
 * every 16 steps of k. A is read a row block's K-block at a time: runs of
 * MR rows (on AVX-512 0.75 KB each), one block after another. In a network the
 * weights are cold (a frame reads them all once: 47 MB for ResNet-18,
 * beyond the caches), and each block's eight new runs began with misses
 * the hardware prefetcher learned too late. Fetched one tile ahead
 * (forwards of the old and new builds alternated, 1 and 2 threads):
 * ResNet-18-CBAM's F(2×2) layers (16 products of 256×256×49) 10–15 %
 * faster, the whole net 2–5 %, ResNet-50-CBAM 3–7 %; the warm products
 * unchanged. Into L1 instead, or B's next panel as well: no further
 * gain. */
typedef struct {
  const float *a;
  int rows, cols;
} Ahead;

/* The next tile's rows of A, for the row block at i0 (rows of mr_max) of
 * the K-block at p0 (kc of kc_max): the next row block, or after the last
 * panel's last one the first of the next K-block. */
static inline Ahead
ahead (const float *a, int lda, int m, int k, int i0, int p0, int kc,
       int mr_max, int kc_max, bool last_panel)
{
  if (i0 + mr_max < m)
    return (Ahead) { a + (size_t) (i0 + mr_max) * lda + p0,
      m - i0 - mr_max < mr_max ? m - i0 - mr_max : mr_max, kc };
  if (last_panel && p0 + kc < k)
    return (Ahead) { a + p0 + kc, m < mr_max ? m : mr_max,
      k - p0 - kc < kc_max ? k - p0 - kc : kc_max };
  return (Ahead) { NULL, 0, 0 };
}

/* The next tile's rows of C (and of the residual it will add) fetched
 * while this tile runs, C for writing. Where C's rows lie far apart (a
 * map of 28² and more), a tile's eight rows are eight streams, one line
 * each per panel, which the hardware prefetcher does not follow: in a
 * network C is cold and each store then waited for its line. GEMM alone,
 * 1 thread, a ring of C buffers beyond the caches, the old and new
 * objects alternated in one process, AVX-512: 256×3136×64 +10 to +11 %,
 * with a residual +24 %; 512×784×128 +3 to +12 %; AVX2 about half that,
 * with a residual +3 to +16 %. Rows closer than that (14² and 7² maps)
 * lost 1–7 %: they are one stream already. */
#define C_FAR 512       /* floats between C's rows */
/* Row blocks outer (each row block across every panel, C written row by
 * row) for a product of one K-block whose C's rows lie far apart and
 * whose B fits in L2 several times over (at most this many floats): the
 * panels of B are then read from L2 for every row block instead of from
 * L1, and C is written as MR streams the hardware follows instead of a
 * line per row per panel. GEMM alone, 1 thread, C cold, old and new
 * objects alternated in one process: 256×3136×64 +40 to +48 %,
 * 512×784×128 +11 to +20 %. A B of 1.6 MB or more (128×784×512,
 * 64×3136×256) lost 15–35 %: its panels no longer came from L2. In
 * ResNet-50-CBAM (layer probe, forwards alternated in one process) its
 * four 64 → 256 @56² layers took 25 % less on 1 thread, 11–21 % on 2. */
#define ROWS_B_MAX (1 << 18)

/* (always_inline: as a function of its own, GCC 12 finds it has no
 * effect, a prefetch being none it must keep, and drops its calls) */
static inline __attribute__ ((always_inline)) void
fetch_c_ahead (float *c, int ldc, const float *res, int ldr, int rows,
               int cols)
{
  for (int q = 0; q < rows; q++) {
    for (int j = 0; j < cols; j += 16)
      _mm_prefetch ((const char *) (c + (size_t) q * ldc + j), _MM_HINT_ET0);
    for (int j = 0; res && j < cols; j += 16)
      _mm_prefetch ((const char *) (res + (size_t) q * ldr + j),
                    _MM_HINT_T0);
  }
}

/* The store's steps for the row block at i0, columns from j0: none before
 * the last K-block (fin false). */
typedef struct {
  const float *bias, *res;
  int ldr;
  bool relu;
  float *sum, *max;
} RowStore;

static inline RowStore
row_store (const AttnGemmStore *st, bool fin, int i0, int j0)
{
  RowStore r = { NULL, NULL, 0, false, NULL, NULL };
  if (fin) {
    r.bias = st->bias ? st->bias + i0 : NULL;
    r.res = st->res ? st->res + (size_t) i0 * st->ldr + j0 : NULL;
    r.ldr = st->ldr;
    r.relu = st->relu;
    r.sum = st->sum ? st->sum + i0 : NULL;
    r.max = st->max ? st->max + i0 : NULL;
  }
  return r;
}

/* The pools start empty; every tile of the last K-block adds its part. */
static void
pools_start (const AttnGemmStore *st, int m)
{
  for (int i = 0; st && st->sum && i < m; i++)
    st->sum[i] = 0.0f;
  for (int i = 0; st && st->max && i < m; i++)
    st->max[i] = -INFINITY;
}

#if defined(__AVX512F__)

/* The next tile's rows of A for k in [p16, p16 + 16) (one line of each),
 * as straight-line code for up to rows_max rows. */
static inline __attribute__ ((always_inline)) void
fetch_ahead (Ahead next, int lda, int p16, const int rows_max)
{
  if (p16 < next.cols) {
#pragma GCC unroll 8
    for (int r = 0; r < rows_max; r++)
      if (r < next.rows)
        _mm_prefetch ((const char *) (next.a + (size_t) r * lda + p16),
                      _MM_HINT_T1);
  }
}

#define MR 8            /* rows of C per tile */
#define NV 3            /* 16-float vectors per tile row: 48 columns */
#define NR (NV * 16)
#define KC 192          /* K-block: a 192×48 panel of B is 36 KB, in L1 */
/* The K-block of a product one panel wide (N ≤ 56: 7×7 maps) with a long
 * K (≥ 2048): A is read once, row block by row block, and runs of 384
 * floats per row stream from memory better than runs of 192 (3×3 512 ch
 * @7², 512×49×4608 with A cold, 1 thread: 168–173 -> 192 GFLOPS; K = 512
 * loses) */
#define KC_LONG 384
/* A K of up to this many steps is one K-block, its panel of B larger than
 * KC's (256×48 is 48 KB): split at 192, the last 64 steps were a second
 * pass over C, loading and storing every tile again for a quarter of the
 * work. GEMM alone, A and C in rings of buffers beyond the caches, the two
 * choices alternated in one process, time new ÷ old: on 1 thread
 * 64×3136×256 0.93–0.94, 128×3136×256 0.92–0.93, 512×784×256
 * 0.87–0.91, 1024×196×256 0.88–1.00; on 2 threads 0.86–0.97 over 9 runs
 * (1024×196×256 0.93–1.00); K = 512 and 1024 (not changed) 0.99–1.04.
 * Blocks of 256 for every K lost (K = 512: 1.02–1.03 on 2 threads), one
 * block up to K = 512 more so (1.13–1.16). */
#define KC_ONE 256


/* One mr×(nv vectors) tile of C over k = 0..kc−1; `last` masks the last
 * vector's columns: C = α·acc + β·C, then + (bias[r] + res[r·ldr + col]),
 * ReLU (each where given: the last K-block's call). mr and nv are
 * constants at every call, so the loops unroll and acc lives in registers. */
static inline __attribute__ ((always_inline)) void
tile (const int mr, const int nv, __mmask16 last, int kc, float alpha,
      const float *a, int lda, const float *b, int ldb, float beta,
      float *c, int ldc, const float *bias, const float *res, int ldr,
      bool relu, float *sum, float *max, Ahead next)
{
  __m512 acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < mr; r++)
#pragma GCC unroll 3
    for (int v = 0; v < nv; v++)
      acc[r][v] = _mm512_setzero_ps ();
  /* step p: acc += A[·][p] ⊗ B[p][·] */
#define STEP(p) \
  do { \
    const float *bp = b + (size_t) (p) * ldb; \
    __m512 bv[NV]; \
    _Pragma ("GCC unroll 3") \
    for (int v = 0; v < nv; v++) \
      bv[v] = v == nv - 1 ? _mm512_maskz_loadu_ps (last, bp + 16 * v) \
          : _mm512_loadu_ps (bp + 16 * v); \
    _Pragma ("GCC unroll 8") \
    for (int r = 0; r < mr; r++) { \
      __m512 av = _mm512_set1_ps (a[(size_t) r * lda + (p)]); \
      _Pragma ("GCC unroll 3") \
      for (int v = 0; v < nv; v++) \
        acc[r][v] = _mm512_fmadd_ps (av, bv[v], acc[r][v]); \
    } \
  } while (0)
  /* k in whole runs of 16 steps, then the rest: a loop of a constant 16
   * steps, the prefetch as straight-line code. Against one loop whose end
   * and prefetch loop were computed every run (GEMM alone, 1 thread, the
   * two builds alternated in one process, 3 runs): +0.5 to +6 % with K ≥
   * 128 (512×49×4608 +2.0 to +6.0 %), −2.5 to +5.9 % with K = 64. The
   * AVX2 tile gained nothing from the same change and keeps its loop. */
  int p16 = 0;
  for (; p16 + 16 <= kc; p16 += 16) {
    fetch_ahead (next, lda, p16, MR);
    for (int p = p16; p < p16 + 16; p++)
      STEP (p);
  }
  if (p16 < kc) {
    fetch_ahead (next, lda, p16, MR);
    for (int p = p16; p < kc; p++)
      STEP (p);
  }
#undef STEP
  const __m512 va = _mm512_set1_ps (alpha), vb = _mm512_set1_ps (beta);
  /* The store. Its steps used to be tested at every vector: five branches
   * each, 120 for an 8×48 tile, which cost as much as a quarter of a K = 64
   * tile's multiply-adds. The two stores most tiles make test them once:
   * none at all (a K-block before the last, a plain product, Winograd's
   * sixteen), and a convolution's bias with a residual or not, ReLU or not
   * (the same operations as the general store below, in its order). GEMM
   * alone, 1 thread, the old and new objects alternated in one process:
   * plain products +16 to +20 % at K = 64 and +2 to +9 % at longer K;
   * bias + ReLU +1 to +7 %, with a residual +1 to +6 %. The same kind of
   * path for the pools (a gated block's last convolution) gained nothing
   * beyond the noise on either instruction set. */
  if (!bias && !res && !relu && !sum && !max) {
    if (beta == 0.0f) {
#pragma GCC unroll 8
      for (int r = 0; r < mr; r++)
#pragma GCC unroll 3
        for (int v = 0; v < nv; v++)
          _mm512_mask_storeu_ps (c + (size_t) r * ldc + 16 * v,
                                 v == nv - 1 ? last : 0xFFFF,
                                 _mm512_mul_ps (acc[r][v], va));
    } else {
#pragma GCC unroll 8
      for (int r = 0; r < mr; r++)
#pragma GCC unroll 3
        for (int v = 0; v < nv; v++) {
          float *cv = c + (size_t) r * ldc + 16 * v;
          __mmask16 k = v == nv - 1 ? last : 0xFFFF;
          _mm512_mask_storeu_ps (cv, k, _mm512_fmadd_ps
                                 (_mm512_maskz_loadu_ps (k, cv), vb,
                                  _mm512_mul_ps (acc[r][v], va)));
        }
    }
    return;
  }
  if (beta == 0.0f && bias && !sum && !max) {
    const __m512 zero = _mm512_setzero_ps ();
#define STORE_BIAS(with_res, with_relu) \
    do { \
      _Pragma ("GCC unroll 8") \
      for (int r = 0; r < mr; r++) { \
        const __m512 vbias = _mm512_set1_ps (bias[r]); \
        _Pragma ("GCC unroll 3") \
        for (int v = 0; v < nv; v++) { \
          __mmask16 k = v == nv - 1 ? last : 0xFFFF; \
          __m512 add = with_res ? _mm512_add_ps (vbias, _mm512_maskz_loadu_ps \
            (k, res + (size_t) r * ldr + 16 * v)) : vbias; \
          __m512 x = _mm512_add_ps (_mm512_mul_ps (acc[r][v], va), add); \
          if (with_relu) \
            x = _mm512_max_ps (x, zero); \
          _mm512_mask_storeu_ps (c + (size_t) r * ldc + 16 * v, k, x); \
        } \
      } \
    } while (0)
    if (res && relu)
      STORE_BIAS (true, true);
    else if (res)
      STORE_BIAS (true, false);
    else if (relu)
      STORE_BIAS (false, true);
    else
      STORE_BIAS (false, false);
#undef STORE_BIAS
    return;
  }
#pragma GCC unroll 8
  for (int r = 0; r < mr; r++) {
    float *cr = c + (size_t) r * ldc;
    __m512 vsum = _mm512_setzero_ps (), vmax = _mm512_set1_ps (-INFINITY);
#pragma GCC unroll 3
    for (int v = 0; v < nv; v++) {
      __mmask16 k = v == nv - 1 ? last : 0xFFFF;
      __m512 x = _mm512_mul_ps (acc[r][v], va);
      if (beta != 0.0f)
        x = _mm512_fmadd_ps (_mm512_maskz_loadu_ps (k, cr + 16 * v), vb, x);
      /* x + (bias + res), as conv.c's epilogue pass rounds it */
      __m512 add = bias ? _mm512_set1_ps (bias[r]) : _mm512_setzero_ps ();
      if (res)
        add = _mm512_add_ps (add, _mm512_maskz_loadu_ps (k, res + (size_t) r
                                                         * ldr + 16 * v));
      if (bias || res)
        x = _mm512_add_ps (x, add);
      if (relu)
        x = _mm512_max_ps (x, _mm512_setzero_ps ());
      _mm512_mask_storeu_ps (cr + 16 * v, k, x);
      if (sum)
        vsum = _mm512_add_ps (vsum, _mm512_maskz_mov_ps (k, x));
      if (max)
        vmax = _mm512_mask_max_ps (vmax, k, vmax, x);
    }
    /* the row's pools, this tile's columns added to the earlier tiles' */
    if (sum)
      sum[r] += _mm512_reduce_add_ps (vsum);
    if (max) {
      float t = _mm512_reduce_max_ps (vmax);
      max[r] = t > max[r] ? t : max[r];
    }
  }
}

#define TILE_NV(mr_, nv_) \
  tile (mr_, nv_, last, kc, alpha, a, lda, b, ldb, beta, c, ldc, bias, res, \
        ldr, relu, sum, max, next)
#define TILE_MR(mr_) \
  do { \
    switch (nv) { \
    case 1: TILE_NV (mr_, 1); break; \
    case 2: TILE_NV (mr_, 2); break; \
    default: TILE_NV (mr_, 3); break; \
    } \
  } while (0)

static void
tile_any (int mr, int nv, __mmask16 last, int kc, float alpha,
          const float *a, int lda, const float *b, int ldb, float beta,
          float *c, int ldc, const float *bias, const float *res, int ldr,
          bool relu, float *sum, float *max, Ahead next)
{
  switch (mr) {
  case 1: TILE_MR (1); break;
  case 2: TILE_MR (2); break;
  case 3: TILE_MR (3); break;
  case 4: TILE_MR (4); break;
  case 5: TILE_MR (5); break;
  case 6: TILE_MR (6); break;
  case 7: TILE_MR (7); break;
  default: TILE_MR (8); break;
  }
}

/* The last few columns of C (at most DOT_MAX past the last whole vector)
 * as dot products instead: in the tile above, a 1-column remainder still
 * costs a whole vector of every FMA, so N = 49 (a 7×7 map) cost as much as
 * N = 64. Here the vectors run along K: B's columns are packed (transposed,
 * KC floats apart) a K-block at a time, each row of A is read as it lies,
 * right after the tile above read it, and lanes are summed at the end of
 * the block. */
#define DOT_MAX 8       /* columns taken this way */
#define DOT_NC 3        /* columns per pass: 8 rows × 3 = 24 accumulators */

static inline __attribute__ ((always_inline)) void
dot_tile (const int mr, const int nc, int kc, float alpha, const float *a,
          int lda, const float *bt, float beta, float *c, int ldc,
          const float *bias, const float *res, int ldr, bool relu,
          float *sum, float *max)
{
  __m512 acc[MR][DOT_NC];
#pragma GCC unroll 8
  for (int r = 0; r < mr; r++)
#pragma GCC unroll 3
    for (int j = 0; j < nc; j++)
      acc[r][j] = _mm512_setzero_ps ();
  for (int p = 0; p < kc; p += 16) {
    __mmask16 k = kc - p >= 16 ? 0xFFFF : (__mmask16) ((1u << (kc - p)) - 1);
    __m512 bv[DOT_NC];
#pragma GCC unroll 3
    for (int j = 0; j < nc; j++)
      bv[j] = _mm512_loadu_ps (bt + (size_t) j * KC_LONG + p);  /* 0-padded */
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++) {
      __m512 av = _mm512_maskz_loadu_ps (k, a + (size_t) r * lda + p);
#pragma GCC unroll 3
      for (int j = 0; j < nc; j++)
        acc[r][j] = _mm512_fmadd_ps (av, bv[j], acc[r][j]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < mr; r++)
#pragma GCC unroll 3
    for (int j = 0; j < nc; j++) {
      float *cr = c + (size_t) r * ldc + j;
      float x = alpha * _mm512_reduce_add_ps (acc[r][j]);
      if (beta != 0.0f)
        x += beta * *cr;
      if (bias || res)
        x += (bias ? bias[r] : 0.0f) + (res ? res[(size_t) r * ldr + j] : 0.0f);
      if (relu)
        x = x > 0.0f ? x : 0.0f;
      *cr = x;
      if (sum)
        sum[r] += x;
      if (max)
        max[r] = x > max[r] ? x : max[r];
    }
}

#define DOT_NC_(mr_, nc_) \
  dot_tile (mr_, nc_, kc, alpha, a, lda, bt, beta, c, ldc, bias, res, ldr, \
            relu, sum, max)
#define DOT_MR(mr_) \
  do { \
    switch (nc) { \
    case 1: DOT_NC_ (mr_, 1); break; \
    case 2: DOT_NC_ (mr_, 2); break; \
    default: DOT_NC_ (mr_, 3); break; \
    } \
  } while (0)

static void
dot_any (int mr, int nc, int kc, float alpha, const float *a, int lda,
         const float *bt, float beta, float *c, int ldc, const float *bias,
         const float *res, int ldr, bool relu, float *sum, float *max)
{
  switch (mr) {
  case 1: DOT_MR (1); break;
  case 2: DOT_MR (2); break;
  case 3: DOT_MR (3); break;
  case 4: DOT_MR (4); break;
  case 5: DOT_MR (5); break;
  case 6: DOT_MR (6); break;
  case 7: DOT_MR (7); break;
  default: DOT_MR (8); break;
  }
}

/* bt[j][p] = B[p][j0 + j] for the K-block's kc rows and nt ≤ DOT_MAX
 * columns, zero past kc up to a whole vector. */
static void
pack_dot (float *restrict bt, const float *restrict b, int ldb, int j0,
          int nt, int kc)
{
  int padded = (kc + 15) / 16 * 16;
  for (int j = 0; j < nt; j++) {
    float *col = bt + (size_t) j * KC_LONG;
    const float *src = b + j0 + j;
    for (int p = 0; p < kc; p++)
      col[p] = src[(size_t) p * ldb];
    for (int p = kc; p < padded; p++)
      col[p] = 0.0f;
  }
}

/* The product's K-blocks, in each the row blocks of every panel (panels
 * outer) or the panels of every row block (rows_outer, a constant at each
 * call: each inlined copy is the one loop nest); the last dot columns after
 * the last panel's tile, from bt (pack_dot). */
static inline __attribute__ ((always_inline)) void
product (const bool rows_outer, int m, int n, int k, float alpha,
         const float *a, int lda, const float *b, int ldb, float beta,
         float *c, int ldc, const AttnGemmStore *st, int dot, int kcb,
         float *bt)
{
  int nvec = n - dot;                   /* columns of the vector tiles */
  bool far_rows = ldc >= C_FAR;
  int blocks = (m + MR - 1) / MR;
  int panels = nvec > 0 ? (nvec + NR - 1) / NR : 1;  /* one for dots only */
  for (int p0 = 0; p0 < k; p0 += kcb) {
    int kc = k - p0 < kcb ? k - p0 : kcb;
    float bk = p0 == 0 ? beta : 1.0f;   /* later K-blocks accumulate */
    bool fin = p0 + kc >= k && st;      /* the store's steps: last block */
    if (dot)
      pack_dot (bt, b + (size_t) p0 * ldb, ldb, nvec, dot, kc);
    int outer = rows_outer ? blocks : panels;
    int inner = rows_outer ? panels : blocks;
    for (int o = 0; o < outer; o++)
      for (int q = 0; q < inner; q++) {
        int i0 = (rows_outer ? o : q) * MR, j0 = (rows_outer ? q : o) * NR;
        int nr = nvec - j0 < NR ? nvec - j0 : NR;
        int nv = (nr + 15) / 16;
        int tail = nr - 16 * (nv - 1);
        __mmask16 last = (__mmask16) (tail == 16 ? 0xFFFF
                                      : (1u << tail) - 1);
        bool lastp = j0 + NR >= nvec;   /* the last panel: dots after it */
        int mr = m - i0 < MR ? m - i0 : MR;
        const float *ai = a + (size_t) i0 * lda + p0;
        RowStore r = row_store (st, fin, i0, 0);
        float *ci = c + (size_t) i0 * ldc;
        /* the next tile's A: with row blocks outer, the same rows until
         * the last panel */
        Ahead next = !rows_outer || lastp
            ? ahead (a, lda, m, k, i0, p0, kc, MR, kcb, lastp)
            : (Ahead) { NULL, 0, 0 };
        if (!rows_outer && far_rows && i0 + MR < m)
          fetch_c_ahead (ci + (size_t) MR * ldc + j0, ldc,
                         r.res ? r.res + (size_t) MR * r.ldr + j0 : NULL,
                         r.ldr, m - i0 - MR < MR ? m - i0 - MR : MR, nr);
        if (nr > 0)
          tile_any (mr, nv, last, kc, alpha, ai, lda,
                    b + (size_t) p0 * ldb + j0, ldb, bk, ci + j0, ldc,
                    r.bias, r.res ? r.res + j0 : NULL, r.ldr, r.relu, r.sum,
                    r.max, next);
        for (int j = 0; dot && lastp && j < dot; j += DOT_NC) {
          int nc = dot - j < DOT_NC ? dot - j : DOT_NC;
          dot_any (mr, nc, kc, alpha, ai, lda, bt + (size_t) j * KC_LONG, bk,
                   ci + nvec + j, ldc, r.bias, r.res ? r.res + nvec + j
                   : NULL, r.ldr, r.relu, r.sum, r.max);
        }
      }
  }
}

void
gemm_nn_avx512 (int m, int n, int k, float alpha, const float *a, int lda,
                const float *b, int ldb, float beta, float *c, int ldc,
                const AttnGemmStore *st)
{
  if (m <= 0 || n <= 0 || k <= 0)
    return;                   /* blas.c runs K = 0 on OpenBLAS */
  /* a remainder of up to DOT_MAX columns past the last whole vector goes
   * to the dot products, row block by row block after the last panel's
   * tile (while those rows of A are in L1: a pass of its own read all of A
   * again, 9 MB for a 3×3 512-channel layer) */
  int dot = n % 16 <= DOT_MAX ? n % 16 : 0;
  int nvec = n - dot;                   /* columns of the vector tiles */
  float bt[DOT_MAX * KC_LONG] __attribute__ ((aligned (64)));
  int kcb = nvec <= NR && k >= 2048 ? KC_LONG : k <= KC_ONE ? k : KC;
  bool far_rows = ldc >= C_FAR;
  pools_start (st, m);
  /* row blocks outer (see ROWS_B_MAX): then there is one K-block */
  if (far_rows && k <= kcb && (size_t) k * n <= ROWS_B_MAX)
    product (true, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, st, dot,
             kcb, bt);
  else
    product (false, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, st, dot,
             kcb, bt);
}

#elif defined(__AVX2__) && defined(__FMA__)

/* The AVX2 kernel: the AVX-512 one's plan at half the width, for CPUs
 * without AVX-512 (and valgrind, which hides it). 16 ymm registers: a 6×16
 * tile of C in 12, B's two vectors and A's broadcast. There is no dot
 * column: a remainder of n is the masked lanes of the last vector, at most
 * 7 of 8 wasted. It runs every untransposed product on the AVX2 path,
 * through the same fused store, in place of OpenBLAS, whose 0.3.21 runs
 * its generic kernels on CPUs newer than it (Xeons of cpuid model 207). */
#define MR 6
#define NV 2
#define NR (NV * 8)
#define KC 256          /* a 256×16 panel of B is 16 KB, in L1 */

/* lanes [0, n) set */
static inline __m256i
lanes (int n)
{
  return _mm256_cmpgt_epi32 (_mm256_set1_epi32 (n),
                             _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7));
}

static inline float
hsum (__m256 v)
{
  __m128 s = _mm_add_ps (_mm256_castps256_ps128 (v),
                         _mm256_extractf128_ps (v, 1));
  s = _mm_add_ps (s, _mm_movehl_ps (s, s));
  return _mm_cvtss_f32 (_mm_add_ss (s, _mm_movehdup_ps (s)));
}

static inline float
hmax (__m256 v)
{
  __m128 s = _mm_max_ps (_mm256_castps256_ps128 (v),
                         _mm256_extractf128_ps (v, 1));
  s = _mm_max_ps (s, _mm_movehl_ps (s, s));
  return _mm_cvtss_f32 (_mm_max_ss (s, _mm_movehdup_ps (s)));
}

/* One mr×(nv vectors) tile of C over k = 0..kc−1, as the AVX-512 tile
 * does it; `masked` (a constant at every call, like mr and nv): the last
 * vector has only the lanes of `last`. */
static inline __attribute__ ((always_inline)) void
tile (const int mr, const int nv, const bool masked, __m256i last, int kc,
      float alpha, const float *a, int lda, const float *b, int ldb,
      float beta, float *c, int ldc, const float *bias, const float *res,
      int ldr, bool relu, float *sum, float *max, Ahead next)
{
  __m256 acc[MR][NV];
#pragma GCC unroll 6
  for (int r = 0; r < mr; r++)
#pragma GCC unroll 2
    for (int v = 0; v < nv; v++)
      acc[r][v] = _mm256_setzero_ps ();
  for (int p16 = 0; p16 < kc; p16 += 16) {
    for (int r = 0; p16 < next.cols && r < next.rows; r++)
      _mm_prefetch ((const char *) (next.a + (size_t) r * lda + p16),
                    _MM_HINT_T1);
    int pe = kc - p16 < 16 ? kc : p16 + 16;
    for (int p = p16; p < pe; p++) {
      const float *bp = b + (size_t) p * ldb;
      __m256 bv[NV];
#pragma GCC unroll 2
      for (int v = 0; v < nv; v++)
        bv[v] = masked && v == nv - 1 ? _mm256_maskload_ps (bp + 8 * v, last)
            : _mm256_loadu_ps (bp + 8 * v);
#pragma GCC unroll 6
      for (int r = 0; r < mr; r++) {
        __m256 av = _mm256_broadcast_ss (a + (size_t) r * lda + p);
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++)
          acc[r][v] = _mm256_fmadd_ps (av, bv[v], acc[r][v]);
      }
    }
  }
  const __m256 va = _mm256_set1_ps (alpha), vb = _mm256_set1_ps (beta);
  const __m256 zero = _mm256_setzero_ps ();
  /* The store's two common cases with their steps tested once per tile,
   * as in the AVX-512 tile: none at all, and bias (+ res), ReLU or not.
   * Measured as there: plain products +3 to +16 %, bias + ReLU +2 to +9 %,
   * with a residual −2 to +6 %. */
#define LOAD(p) (masked && v == nv - 1 ? _mm256_maskload_ps ((p), last) \
                 : _mm256_loadu_ps (p))
#define STORE(p, x) \
  do { \
    if (masked && v == nv - 1) \
      _mm256_maskstore_ps ((p), last, (x)); \
    else \
      _mm256_storeu_ps ((p), (x)); \
  } while (0)
  if (!bias && !res && !relu && !sum && !max) {
    if (beta == 0.0f) {
#pragma GCC unroll 6
      for (int r = 0; r < mr; r++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++)
          STORE (c + (size_t) r * ldc + 8 * v, _mm256_mul_ps (acc[r][v], va));
    } else {
#pragma GCC unroll 6
      for (int r = 0; r < mr; r++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) {
          float *cv = c + (size_t) r * ldc + 8 * v;
          STORE (cv, _mm256_fmadd_ps (LOAD (cv), vb,
                                      _mm256_mul_ps (acc[r][v], va)));
        }
    }
    return;
  }
  if (beta == 0.0f && bias && !sum && !max) {
#define STORE_BIAS(with_res, with_relu) \
    do { \
      _Pragma ("GCC unroll 6") \
      for (int r = 0; r < mr; r++) { \
        const __m256 vbias = _mm256_set1_ps (bias[r]); \
        _Pragma ("GCC unroll 2") \
        for (int v = 0; v < nv; v++) { \
          __m256 add = with_res ? _mm256_add_ps \
            (vbias, LOAD (res + (size_t) r * ldr + 8 * v)) : vbias; \
          __m256 x = _mm256_add_ps (_mm256_mul_ps (acc[r][v], va), add); \
          if (with_relu) \
            x = _mm256_max_ps (x, zero); \
          STORE (c + (size_t) r * ldc + 8 * v, x); \
        } \
      } \
    } while (0)
    if (res && relu)
      STORE_BIAS (true, true);
    else if (res)
      STORE_BIAS (true, false);
    else if (relu)
      STORE_BIAS (false, true);
    else
      STORE_BIAS (false, false);
#undef STORE_BIAS
    return;
  }
#undef LOAD
#undef STORE
#pragma GCC unroll 6
  for (int r = 0; r < mr; r++) {
    float *cr = c + (size_t) r * ldc;
    const float *rr = res ? res + (size_t) r * ldr : NULL;
    __m256 vsum = zero, vmax = _mm256_set1_ps (-INFINITY);
#pragma GCC unroll 2
    for (int v = 0; v < nv; v++) {
      const bool part = masked && v == nv - 1;
      __m256 x = _mm256_mul_ps (acc[r][v], va);
      if (beta != 0.0f)
        x = _mm256_fmadd_ps (part ? _mm256_maskload_ps (cr + 8 * v, last)
                             : _mm256_loadu_ps (cr + 8 * v), vb, x);
      /* x + (bias + res), as conv.c's epilogue pass rounds it */
      __m256 add = bias ? _mm256_set1_ps (bias[r]) : zero;
      if (rr)
        add = _mm256_add_ps (add, part ? _mm256_maskload_ps (rr + 8 * v, last)
                             : _mm256_loadu_ps (rr + 8 * v));
      if (bias || rr)
        x = _mm256_add_ps (x, add);
      if (relu)
        x = _mm256_max_ps (x, zero);
      if (part)
        _mm256_maskstore_ps (cr + 8 * v, last, x);
      else
        _mm256_storeu_ps (cr + 8 * v, x);
      __m256 in = part ? _mm256_castsi256_ps (last)
          : _mm256_castsi256_ps (_mm256_set1_epi32 (-1));
      if (sum)
        vsum = _mm256_add_ps (vsum, _mm256_and_ps (x, in));
      if (max)
        vmax = _mm256_max_ps (vmax, _mm256_blendv_ps (vmax, x, in));
    }
    if (sum)
      sum[r] += hsum (vsum);
    if (max) {
      float t = hmax (vmax);
      max[r] = t > max[r] ? t : max[r];
    }
  }
}

#define TILE_NV(mr_, nv_, masked_) \
  tile (mr_, nv_, masked_, last, kc, alpha, a, lda, b, ldb, beta, c, ldc, \
        bias, res, ldr, relu, sum, max, next)
#define TILE_MR(mr_) \
  do { \
    if (nv == 1) { \
      if (masked) TILE_NV (mr_, 1, true); else TILE_NV (mr_, 1, false); \
    } else { \
      if (masked) TILE_NV (mr_, 2, true); else TILE_NV (mr_, 2, false); \
    } \
  } while (0)

static void
tile_any (int mr, int nv, bool masked, __m256i last, int kc, float alpha,
          const float *a, int lda, const float *b, int ldb, float beta,
          float *c, int ldc, const float *bias, const float *res, int ldr,
          bool relu, float *sum, float *max, Ahead next)
{
  switch (mr) {
  case 1: TILE_MR (1); break;
  case 2: TILE_MR (2); break;
  case 3: TILE_MR (3); break;
  case 4: TILE_MR (4); break;
  case 5: TILE_MR (5); break;
  default: TILE_MR (6); break;
  }
}

/* The product's K-blocks, panels outer or row blocks outer (rows_outer,
 * a constant at each call), as in the AVX-512 kernel. */
static inline __attribute__ ((always_inline)) void
product (const bool rows_outer, int m, int n, int k, float alpha,
         const float *a, int lda, const float *b, int ldb, float beta,
         float *c, int ldc, const AttnGemmStore *st)
{
  bool far_rows = ldc >= C_FAR;
  int blocks = (m + MR - 1) / MR, panels = (n + NR - 1) / NR;
  for (int p0 = 0; p0 < k; p0 += KC) {
    int kc = k - p0 < KC ? k - p0 : KC;
    float bk = p0 == 0 ? beta : 1.0f;   /* later K-blocks accumulate */
    bool fin = p0 + kc >= k && st;      /* the store's steps: last block */
    int outer = rows_outer ? blocks : panels;
    int inner = rows_outer ? panels : blocks;
    for (int o = 0; o < outer; o++)
      for (int q = 0; q < inner; q++) {
        int i0 = (rows_outer ? o : q) * MR, j0 = (rows_outer ? q : o) * NR;
        int nr = n - j0 < NR ? n - j0 : NR;
        int nv = (nr + 7) / 8;
        int tail = nr - 8 * (nv - 1);
        bool lastp = j0 + NR >= n;
        int mr = m - i0 < MR ? m - i0 : MR;
        RowStore r = row_store (st, fin, i0, j0);
        /* the next tile's A: with row blocks outer, the same rows until
         * the last panel */
        Ahead next = !rows_outer || lastp
            ? ahead (a, lda, m, k, i0, p0, kc, MR, KC, lastp)
            : (Ahead) { NULL, 0, 0 };
        if (!rows_outer && far_rows && i0 + MR < m)
          fetch_c_ahead (c + (size_t) (i0 + MR) * ldc + j0, ldc,
                         r.res ? r.res + (size_t) MR * r.ldr : NULL, r.ldr,
                         m - i0 - MR < MR ? m - i0 - MR : MR, nr);
        tile_any (mr, nv, tail < 8, lanes (tail), kc, alpha,
                  a + (size_t) i0 * lda + p0, lda,
                  b + (size_t) p0 * ldb + j0, ldb, bk,
                  c + (size_t) i0 * ldc + j0, ldc, r.bias, r.res, r.ldr,
                  r.relu, r.sum, r.max, next);
      }
  }
}

void
gemm_nn_avx2 (int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc,
              const AttnGemmStore *st)
{
  if (m <= 0 || n <= 0 || k <= 0)
    return;                   /* blas.c runs K = 0 on OpenBLAS */
  bool far_rows = ldc >= C_FAR;
  pools_start (st, m);
  /* row blocks outer, as in the AVX-512 kernel (there: ROWS_B_MAX);
   * measured the same way: 256×3136×64 +13 %, with a residual +46 to
   * +68 %, 512×784×128 level to +7 %. Then there is one K-block. */
  if (far_rows && k <= KC && (size_t) k * n <= ROWS_B_MAX)
    product (true, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, st);
  else
    product (false, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, st);
}

#endif
