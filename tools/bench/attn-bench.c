/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* attn-bench — the kernels, whole networks and the plugin's per-frame
 * overhead, timed on this machine, each beside its yardstick measured in the
 * same run: OpenBLAS sgemm on the same GEMM shape for convolutions, PyTorch
 * (if /usr/bin/python3 has torch) and ONNX Runtime (if node and
 * tools/bench's onnxruntime-node are installed: ./run bench --ort) for
 * networks, a bare pipeline for the
 * plugin. Medians of repeated runs after warm-up; nothing allocated inside
 * timed loops.
 *
 * Sections (--filter picks those whose name holds SUBSTR): convolutions
 * (their shape names), blocked (1×1 convolutions in the channel-blocked
 * layout against NCHW), attention, resnet, resnet-layers (ResNet-50-CBAM
 * step by step, beside ONNX Runtime's profiler), batch, decoder, plugin.
 *
 * usage: attn-bench [--quick] [--threads N] [--filter SUBSTR] */
#include <gst/gst.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <signal.h>
#include <sys/wait.h>

#include "blas.h"
#include "blocked.h"
#include "parallel.h"
#include "cbam.h"
#include "conv.h"
#include "cpu.h"
#include "direct.h"
#include "winograd.h"
#include "dcn.h"
#include "decoder.h"
#include "model.h"
#include "model_builder.h"
#include "network.h"
#include "paint.h"
#include "pool.h"
#include "preprocess.h"
#include "se.h"
#include "soft_attention.h"
#include "stn.h"

static int quick, only_threads;
static const char *filter;
static volatile float sink;

static double
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
cmp_d (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* Median wall time of fn over reps runs (after 2 warm-ups). */
#define TIME_MEDIAN(result, reps, body)                        \
  do {                                                         \
    double _t[64];                                             \
    int _n = (reps) > 64 ? 64 : (reps);                        \
    for (int _w = 0; _w < 2; _w++) { body; }                   \
    for (int _i = 0; _i < _n; _i++) {                          \
      double _s = now_ms ();                                   \
      body;                                                    \
      _t[_i] = now_ms () - _s;                                 \
    }                                                          \
    qsort (_t, _n, sizeof (double), cmp_d);                    \
    (result) = _t[_n / 2];                                     \
  } while (0)

static float *
alloc_fill (size_t n)
{
  float *p = aligned_alloc (64, ((n * sizeof (float) + 63) / 64) * 64 + 64);
  for (size_t i = 0; i < n; i++)
    p[i] = (float) ((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
  return p;
}

static int
wanted (const char *name)
{
  return !filter || strstr (name, filter);
}

typedef struct {
  const char *name;
  int cin, cout, h, w, k, stride, groups;
} ConvShape;

/* "12.3" (percent of peak), or "—" without a measured peak */
static const char *
percent (double gflops, double peak)
{
  static char buf[4][16];
  static int next;
  char *b = buf[next++ % 4];
  if (peak > 0)
    snprintf (b, sizeof buf[0], "%.0f", 100.0 * gflops / peak);
  else
    snprintf (b, sizeof buf[0], "—");
  return b;
}

#define PEAK_THREADS_MAX 256

typedef struct {
  double (*probe) (double seconds);
  double g[PEAK_THREADS_MAX];
} Peak;

static void
peak_task (void *ctx, int i)
{
  Peak *p = ctx;
  p->g[i] = p->probe (0.25);
}

/* A peak probe of kernels/compute/gemm_isa.c (attn_fma_peak_gflops,
 * attn_bf16_peak_gflops) on `threads` threads running at once: the sum of
 * each one's. */
static double
peak_of (double (*probe) (double seconds), int threads)
{
  Peak p = { probe, { 0 } };
  threads = threads < PEAK_THREADS_MAX ? threads : PEAK_THREADS_MAX;
  attn_parallel_for (threads, peak_task, &p);
  double sum = 0;
  for (int i = 0; i < threads; i++)
    sum += p.g[i];
  return sum;
}

/* The GEMM kernel in use when the benchmark started (ATTN_GEMM, or AUTO) */
static AttnGemmKernel kernel = ATTN_GEMM_AUTO;

static void
bench_convs (int threads)
{
  static const ConvShape shapes[] = {
    {"stem 7x7/2 3->64 @224", 3, 64, 224, 224, 7, 2, 1},
    {"3x3 64->64 @56", 64, 64, 56, 56, 3, 1, 1},
    {"3x3/2 64->128 @56", 64, 128, 56, 56, 3, 2, 1},
    {"3x3/2 128->128 @56", 128, 128, 56, 56, 3, 2, 1},
    {"3x3/2 256->256 @28", 256, 256, 28, 28, 3, 2, 1},
    {"3x3/2 512->512 @14", 512, 512, 14, 14, 3, 2, 1},
    {"3x3 128->128 @28", 128, 128, 28, 28, 3, 1, 1},
    {"3x3 256->256 @14", 256, 256, 14, 14, 3, 1, 1},
    {"3x3 512->512 @7", 512, 512, 7, 7, 3, 1, 1},
    {"1x1 64->256 @56", 64, 256, 56, 56, 1, 1, 1},
    {"1x1 256->64 @56", 256, 64, 56, 56, 1, 1, 1},
    {"1x1/2 256->512 @56", 256, 512, 56, 56, 1, 2, 1},
    {"1x1 1024->256 @14", 1024, 256, 14, 14, 1, 1, 1},
    {"dw 3x3 128 @28", 128, 128, 28, 28, 3, 1, 128},
    {"3x3 32->32 @32", 32, 32, 32, 32, 3, 1, 1},
    {"3x3 16->16 @32", 16, 16, 32, 32, 3, 1, 1},
  };
  bool any = false;
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
    any = any || wanted (shapes[i].name);
  if (!any)
    return;
  printf ("\n## Convolutions, %d thread%s (batch 1; GFLOPS = 2·MACs/time)\n\n",
          threads, threads > 1 ? "s" : "");
  double peak = peak_of (attn_fma_peak_gflops, threads);
  printf ("GEMM kernel: %s (instruction set %s). FMA peak, measured now on "
          "%d thread%s at once: %.1f GFLOPS.\n\n", attn_gemm_kernel_name (),
          attn_isa_name (attn_cpu_isa ()), threads, threads > 1 ? "s" : "",
          peak);
  /* whether a bf16 path (issue 16's "beyond") could pay on this CPU: its
   * products at best, against FP32's */
  double bf16 = peak_of (attn_bf16_peak_gflops, threads);
  if (bf16 > 0.0)
    printf ("AVX512-BF16 dot products (vdpbf16ps), the same way: %.1f "
            "GFLOPS, %.2f× the FP32 FMA peak.\n\n", bf16, bf16 / peak);
  else
    printf ("No AVX512-BF16 dot products on this path (AVX-512 with "
            "AVX512-BF16 needed).\n\n");
  printf ("| shape | ours ms | ours GFLOPS | %% of FMA peak | GEMM GFLOPS (same M,N,K) "
          "| %% of peak | OpenBLAS sgemm GFLOPS | ours/OpenBLAS sgemm "
          "| Winograd F(2,3) ms | F(4,3) ms | direct ms | im2col / best other "
          "| network uses |\n");
  printf ("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    const ConvShape *s = &shapes[i];
    if (!wanted (s->name))
      continue;
    AttnConv2d p = { s->cin, s->cout, s->k, s->k, s->stride, s->stride,
                     s->k / 2, s->k / 2, 1, 1, s->groups };
    int ho = attn_conv_out_dim (s->h, s->k, s->stride, s->k / 2, 1);
    int wo = attn_conv_out_dim (s->w, s->k, s->stride, s->k / 2, 1);
    int m = s->cout / s->groups, n = ho * wo, kk = s->cin / s->groups * s->k * s->k;
    float *in = alloc_fill ((size_t) s->cin * s->h * s->w);
    float *wt = alloc_fill ((size_t) s->cout * kk);
    float *bias = alloc_fill (s->cout), *out = alloc_fill ((size_t) s->cout * n);
    float *ws = alloc_fill (attn_conv2d_workspace (&p, s->h, s->w) + 1);
    float *b = alloc_fill ((size_t) kk * n), *c = alloc_fill ((size_t) m * n);
    AttnEpilogue ep = { bias, NULL, ATTN_ACT_RELU, NULL, NULL };
    int reps = quick ? 5 : 21;
    double t_ours, t_gemm, t_blas;
    TIME_MEDIAN (t_ours, reps, attn_conv2d (out, in, wt, &ep, ws, &p, 1, s->h, s->w));
    TIME_MEDIAN (t_gemm, reps, for (int g = 0; g < s->groups; g++)
                 attn_sgemm (false, false, m, n, kk, 1.0f, wt, kk, b, n, 0.0f,
                             c, n));
    /* the yardstick: OpenBLAS on the same product, whatever runs ours */
    attn_gemm_set_kernel (ATTN_GEMM_BLAS);
    TIME_MEDIAN (t_blas, reps, for (int g = 0; g < s->groups; g++)
                 attn_sgemm (false, false, m, n, kk, 1.0f, wt, kk, b, n, 0.0f,
                             c, n));
    attn_gemm_set_kernel (kernel);
    double flops = 2.0 * s->cout * kk * n;
    double g_ours = flops / t_ours / 1e6, g_gemm = flops / t_gemm / 1e6;
    printf ("| %s | %.3f | %.1f | %s | %.1f | %s | %.1f | %.2f |", s->name,
            t_ours, g_ours, percent (g_ours, peak), g_gemm,
            percent (g_gemm, peak), flops / t_blas / 1e6, t_blas / t_ours);
    /* the other algorithms, each where it applies (direct: on AVX-512) */
    double t_wino[2] = { NAN, NAN }, t_direct = NAN;
    bool wino = attn_winograd_applies (&p, s->h, s->w);
    for (int f = 0; wino && f < 2; f++) {
      int tile = f ? 4 : 2;
      float *u = alloc_fill (attn_winograd_weights_size (&p, tile));
      float *wws = alloc_fill (attn_winograd_workspace (&p, s->h, s->w, tile));
      attn_winograd_weights (u, wt, &p, tile);
      TIME_MEDIAN (t_wino[f], reps, attn_conv2d_winograd (out, in, u, &ep, wws, &p,
                                                          s->h, s->w, tile));
      free (u); free (wws);
    }
    if (attn_direct_applies (&p, s->h, s->w)
        && attn_cpu_isa () == ATTN_ISA_AVX512) {
      float *wk = alloc_fill (attn_direct_weights_size (&p));
      float *dws = alloc_fill (attn_direct_workspace (&p, s->h, s->w));
      attn_direct_weights (wk, wt, &p);
      TIME_MEDIAN (t_direct, reps, attn_conv2d_direct (out, in, wk, &ep, dws, &p,
                                                       s->h, s->w));
      free (wk); free (dws);
    }
    double best = fmin (fmin (t_wino[0], t_wino[1]), t_direct);  /* NaN-aware */
    int tile = attn_winograd_tile (&p, s->h, s->w);
    char cell[3][16];
    double cells[3] = { t_wino[0], t_wino[1], t_direct };
    for (int k = 0; k < 3; k++)
      snprintf (cell[k], sizeof cell[k], isnan (cells[k]) ? "—" : "%.3f",
                cells[k]);
    char ratio[16] = "—";
    if (!isnan (best))
      snprintf (ratio, sizeof ratio, "%.2f", t_ours / best);
    printf (" %s | %s | %s | %s | %s |\n", cell[0], cell[1], cell[2], ratio,
            tile == 4 ? "Winograd F(4,3)" : tile == 2 ? "Winograd F(2,3)"
            : attn_direct_pays (&p, s->h, s->w) ? "direct"
            : s->k == 1 ? "sgemm" : s->groups > 1 ? "direct (depthwise)"
            : "im2col");
    sink += out[0] + c[0];
    free (in); free (wt); free (bias); free (out); free (ws); free (b); free (c);
  }
}

/* Medians of two sides run alternately, each over a ring of 4 buffer
 * sets: 7 rounds (after one to warm up) of 5 runs of side 0 then 5 of
 * side 1; run (ctx, side, ring index). */
static void
alternated (void (*run) (void *ctx, int side, int ring), void *ctx,
            double med[2])
{
  double t[2][35];
  int ring = 0;
  for (int round = 0; round < 7 + 1; round++)
    for (int side = 0; side < 2; side++)
      for (int k = 0; k < 5; k++, ring++) {
        double s0 = now_ms ();
        run (ctx, side, ring % 4);
        if (round > 0)
          t[side][(round - 1) * 5 + k] = now_ms () - s0;
      }
  for (int side = 0; side < 2; side++) {
    qsort (t[side], 35, sizeof (double), cmp_d);
    med[side] = t[side][17];
  }
}

typedef struct {
  const AttnConv2d *p;
  float *in[4], *out[4];
  const float *wt, *wk, *ut, *u, *dk, *bias;
  float *ws, *bws;
  const AttnEpilogue *ep;
  int h, tile;
  bool direct;
} BlockedRun;

/* ResNet-50's 1×1s: side 0 NCHW (attn_conv2d), side 1 blocked */
static void
run_1x1 (void *ctx, int side, int ring)
{
  const BlockedRun *r = ctx;
  const AttnConv2d *p = r->p;
  if (side == 0)
    attn_conv2d (r->out[ring], r->in[ring], r->wt, r->ep, r->ws, p, 1, r->h,
                 r->h);
  else
    attn_conv1x1_blocked (r->out[ring], r->in[ring], r->wk, r->bias, NULL,
                          true, p->c_out, p->c_in, r->h * r->h);
}

/* ResNet-50's 3×3s: side 0 as the NCHW plan runs them, side 1 blocked */
static void
run_3x3 (void *ctx, int side, int ring)
{
  const BlockedRun *r = ctx;
  const AttnConv2d *p = r->p;
  float *o = r->out[ring], *x = r->in[ring];
  if (side == 1 && r->tile)
    attn_winograd_blocked (o, x, r->ut, r->bias, NULL, true, r->bws, p, r->h,
                           r->h, r->tile);
  else if (side == 1)
    attn_conv3x3_blocked (o, x, r->wk, r->bias, NULL, true, r->bws, p, r->h,
                          r->h);
  else if (r->tile)
    attn_conv2d_winograd (o, x, r->u, r->ep, r->ws, p, r->h, r->h, r->tile);
  else if (r->direct)
    attn_conv2d_direct (o, x, r->dk, r->ep, r->ws, p, r->h, r->h);
  else
    attn_conv2d (o, x, r->wt, r->ep, r->ws, p, 1, r->h, r->h);
}

/* ResNet-50's 3×3 convolutions: what the network runs on NCHW (Winograd,
 * direct or im2col + GEMM, as its plan chooses) against the same on
 * blocked maps (Winograd with the same tile where the plan takes it, else
 * the direct 3×3), as bench_blocked times the 1×1s. */
static void
bench_blocked3 (int threads, double peak)
{
  static const struct {
    int c, hw, s, count;
  } shapes[] = {
    { 64, 56, 1, 3 }, { 128, 56, 2, 1 }, { 128, 28, 1, 3 }, { 256, 28, 2, 1 },
    { 256, 14, 1, 5 }, { 512, 14, 2, 1 }, { 512, 7, 1, 2 },
  };
  printf ("\n| 3×3 shape | in ResNet-50 | path | NCHW ms | GFLOPS "
          "| %% of peak | blocked ms | GFLOPS | %% of peak | blocked / "
          "NCHW |\n");
  printf ("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
  double sum_nchw = 0.0, sum_blk = 0.0;
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    int c = shapes[i].c, h = shapes[i].hw;
    AttnConv2d p = { c, c, 3, 3, shapes[i].s, shapes[i].s, 1, 1, 1, 1, 1 };
    int ho = attn_conv_out_dim (h, 3, p.stride_h, 1, 1), hwo = ho * ho;
    size_t nw = (size_t) c * c * 9;
    float *wt = alloc_fill (nw), *bias = alloc_fill (c);
    float *wk = alloc_fill (nw);
    int tile = attn_winograd_tile (&p, h, h);
    bool direct = !tile && attn_direct_pays (&p, h, h);
    size_t nws = tile ? attn_winograd_workspace (&p, h, h, tile)
        : direct ? attn_direct_workspace (&p, h, h)
        : attn_conv2d_workspace (&p, h, h);
    float *u = tile ? alloc_fill (attn_winograd_weights_size (&p, tile))
        : NULL;
    float *ws = alloc_fill (nws + 1);
    float *bws = alloc_fill (tile ? attn_winograd_blocked_workspace (&p, h, h,
                                                                   tile)
                             : attn_conv3x3_blocked_workspace (&p, h, h));
    float *ut = tile ? alloc_fill (attn_winograd_blocked_weights_size (&p,
                                                                      tile))
        : NULL;
    if (tile) {
      attn_winograd_weights (u, wt, &p, tile);
      attn_winograd_blocked_weights (ut, wt, &p, tile);
    }
    float *dk = alloc_fill (nw);
    if (direct)
      attn_direct_weights (dk, wt, &p);
    attn_direct_weights (wk, wt, &p);
    float *in[4], *out[4];
    for (int r = 0; r < 4; r++) {
      in[r] = alloc_fill (attn_blocked_size (c, h * h));
      out[r] = alloc_fill (attn_blocked_size (c, hwo));
    }
    AttnEpilogue ep = { bias, NULL, ATTN_ACT_RELU, NULL, NULL };
    BlockedRun run = { &p, { in[0], in[1], in[2], in[3] },
      { out[0], out[1], out[2], out[3] }, wt, wk, ut, u, dk, bias, ws, bws,
      &ep, h, tile, direct
    };
    double med[2];
    alternated (run_3x3, &run, med);
    double a = med[0], b = med[1], fl = 2.0 * c * c * 9 * hwo / 1e6;
    printf ("| 3x3%s %d->%d @%d | %d | %s | %.3f | %.1f | %s | %.3f | %.1f | "
            "%s | %.2f |\n", shapes[i].s == 2 ? "/2" : "", c, c, h,
            shapes[i].count, tile == 4 ? "Winograd F(4,3)" : tile == 2
            ? "Winograd F(2,3)" : direct ? "direct" : "im2col + GEMM", a,
            fl / a, percent (fl / a, peak), b, fl / b, percent (fl / b, peak),
            b / a);
    sum_nchw += shapes[i].count * a;
    sum_blk += shapes[i].count * b;
    sink += out[0][0];
    for (int r = 0; r < 4; r++) {
      free (in[r]);
      free (out[r]);
    }
    free (wt); free (bias); free (wk); free (u); free (ws); free (bws);
    free (dk); free (ut);
  }
  printf ("\nResNet-50's 16 3×3 convolutions, each shape's median times its "
          "count: NCHW %.2f ms, blocked %.2f ms "
          "(%.2f×). (Winograd's GFLOPS count the direct convolution's "
          "multiply-adds.)\n", sum_nchw, sum_blk, sum_blk / sum_nchw);
}

/* ResNet-50's stride-1 1×1 convolutions (with how many of each it has) in
 * the channel-blocked layout (blocked.h) against the NCHW path the network
 * runs (attn_conv2d: our GEMM with the fused store), bias and ReLU in the
 * store of both; inputs and outputs in rings of four, beyond L2 like a
 * network's, the two sides alternated (7 rounds of 5 runs each). */
static void
bench_blocked (int threads)
{
  static const struct {
    int cin, cout, hw, count;
  } shapes[] = {
    { 64, 64, 56, 1 }, { 64, 256, 56, 4 }, { 256, 64, 56, 2 },
    { 256, 128, 56, 1 }, { 128, 512, 28, 4 }, { 512, 128, 28, 3 },
    { 512, 256, 28, 1 }, { 256, 1024, 14, 6 }, { 1024, 256, 14, 5 },
    { 1024, 512, 14, 1 }, { 512, 2048, 7, 3 }, { 2048, 512, 7, 2 },
  };
  if (!wanted ("blocked"))
    return;
  printf ("\n## 1×1 convolutions, NCHW against the channel-blocked layout, "
          "%d thread%s (ResNet-50's stride-1 shapes; median of 35 runs "
          "each, alternated)\n\n", threads, threads > 1 ? "s" : "");
  double peak = peak_of (attn_fma_peak_gflops, threads);
  bool vec = attn_cpu_isa () == ATTN_ISA_AVX512;
  printf ("FMA peak, measured now: %.1f GFLOPS. Blocked tile: %s.\n\n",
          peak, vec ? "AVX-512" : "plain C (no AVX-512 here: not a speed "
          "figure)");
  printf ("| shape | in ResNet-50 | NCHW ms | GFLOPS | %% of peak | blocked "
          "ms | GFLOPS | %% of peak | blocked / NCHW |\n");
  printf ("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  double sum_nchw = 0.0, sum_blk = 0.0;
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    int ci = shapes[i].cin, co = shapes[i].cout, hw = shapes[i].hw
        * shapes[i].hw;
    AttnConv2d p = { ci, co, 1, 1, 1, 1, 0, 0, 1, 1, 1 };
    float *wt = alloc_fill ((size_t) co * ci), *bias = alloc_fill (co);
    float *wk = alloc_fill (attn_conv1x1_blocked_weights_size (co, ci));
    float *ws = alloc_fill (attn_conv2d_workspace (&p, shapes[i].hw,
                                                   shapes[i].hw) + 1);
    float *in[4], *out[4];
    for (int r = 0; r < 4; r++) {
      in[r] = alloc_fill (attn_blocked_size (ci, hw));
      out[r] = alloc_fill (attn_blocked_size (co, hw));
    }
    attn_conv1x1_blocked_pack (wk, wt, co, ci);
    AttnEpilogue ep = { bias, NULL, ATTN_ACT_RELU, NULL, NULL };
    BlockedRun run = { &p, { in[0], in[1], in[2], in[3] },
      { out[0], out[1], out[2], out[3] }, wt, wk, NULL, NULL, NULL, bias, ws,
      NULL, &ep, shapes[i].hw, 0, false
    };
    double med[2];
    alternated (run_1x1, &run, med);
    double a = med[0], b = med[1], fl = 2.0 * co * ci * hw / 1e6;
    printf ("| 1x1 %d->%d @%d | %d | %.3f | %.1f | %s | %.3f | %.1f | %s | "
            "%.2f |\n", ci, co, shapes[i].hw, shapes[i].count, a, fl / a,
            percent (fl / a, peak), b, fl / b, percent (fl / b, peak), b / a);
    sum_nchw += shapes[i].count * a;
    sum_blk += shapes[i].count * b;
    sink += out[0][0];
    for (int r = 0; r < 4; r++) {
      free (in[r]);
      free (out[r]);
    }
    free (wt); free (bias); free (wk); free (ws);
  }
  printf ("\nResNet-50's 33 stride-1 1×1 convolutions, each shape's median "
          "times its count: NCHW %.2f ms, blocked %.2f ms (%.2f×).\n",
          sum_nchw, sum_blk, sum_blk / sum_nchw);
  bench_blocked3 (threads, peak);
}

/* CBAM's extra cost in a ResNet-50 layer1 bottleneck (256 ch @56², 3×3 64
 * conv): what the gates add over the plain relu(F + identity) epilogue. */
static void
bench_attention (void)
{
  if (!wanted ("attention"))
    return;
  int reps = quick ? 5 : 21;
  printf ("\n## Attention kernels, 1 thread\n\n");
  printf ("| kernel | shape | ms | note |\n|---|---|---:|---|\n");
  attn_parallel_set_threads (1);
  int c = 256, h = 56, w = 56, hw = h * w, hd = 16;
  float *f = alloc_fill ((size_t) c * hw), *id = alloc_fill ((size_t) c * hw);
  float *out = alloc_fill ((size_t) c * hw), *t2 = alloc_fill ((size_t) 64 * hw);
  float *w1 = alloc_fill ((size_t) hd * c), *b1 = alloc_fill (hd);
  float *w2 = alloc_fill ((size_t) c * hd), *b2 = alloc_fill (c);
  float *mc = alloc_fill (c), *ms = alloc_fill (hw), *work = alloc_fill (2 * c + 2 * hd);
  float *pw = alloc_fill (2 * hw), *spw = alloc_fill (98), *avg = alloc_fill (c);
  float *mx = alloc_fill (c), *w3 = alloc_fill ((size_t) c * 64), *bias = alloc_fill (c);
  double t_conv3, t_conv3_pools, t_cg, t_sg, t_apply, t_plain, t_se, t_w2;
  AttnConv2d p1 = { 64, c, 1, 1, 1, 1, 0, 0, 1, 1, 1 };
  AttnEpilogue plain = { bias, id, ATTN_ACT_RELU, NULL, NULL };
  AttnEpilogue pools = { bias, NULL, ATTN_ACT_NONE, avg, mx };
  TIME_MEDIAN (t_conv3, reps, attn_conv2d (out, t2, w3, &plain, NULL, &p1, 1, h, w));
  TIME_MEDIAN (t_conv3_pools, reps, attn_conv2d (out, t2, w3, &pools, NULL, &p1, 1, h, w));
  TIME_MEDIAN (t_cg, reps, attn_cbam_channel_gate_pooled (mc, avg, mx, w1, b1, w2, b2, work, c, hd));
  TIME_MEDIAN (t_sg, reps, attn_cbam_spatial_gate (ms, f, mc, spw, 0.1f, pw, c, h, w, 7));
  TIME_MEDIAN (t_apply, reps, attn_cbam_apply (out, f, mc, ms, id, c, hw, ATTN_ACT_RELU));
  TIME_MEDIAN (t_plain, reps, attn_epilogue_apply (out, &(AttnEpilogue) { NULL, id, ATTN_ACT_RELU, NULL, NULL }, 1, c, hw));
  TIME_MEDIAN (t_se, reps, attn_se_gate_pooled (mc, avg, w1, b1, w2, b2, work, c, hd));
  TIME_MEDIAN (t_w2, reps, attn_scale_channels (out, f, mc, id, c, hw, ATTN_ACT_RELU));
  double gb = (double) c * hw * 4 / 1e9;
  printf ("| conv3 1x1 64->256 + bias + residual + relu | 256x56x56 | %.3f | the block's last conv, plain epilogue |\n", t_conv3);
  printf ("| conv3 with avg+max pools in the epilogue | 256x56x56 | %.3f | what CBAM's pools cost there: %+.3f ms |\n", t_conv3_pools, t_conv3_pools - t_conv3);
  printf ("| CBAM channel gate (MLP on pooled) | C=256 | %.4f | |\n", t_cg);
  printf ("| CBAM spatial gate (channel pool + 7x7 + sigmoid) | 256x56x56 | %.3f | %.1f GB/s read |\n", t_sg, gb / (t_sg / 1e3));
  printf ("| CBAM fused apply relu(F·Mc·Ms + id) | 256x56x56 | %.3f | %.1f GB/s (2 reads, 1 write) |\n", t_apply, 3 * gb / (t_apply / 1e3));
  printf ("| plain relu(F + id) pass (for comparison) | 256x56x56 | %.3f | |\n", t_plain);
  printf ("| SE gate (MLP on pooled) | C=256 | %.4f | |\n", t_se);
  printf ("| SE apply relu(F·s + id) | 256x56x56 | %.3f | |\n", t_w2);
  /* the stem's 3×3/2 max pool (ResNet: 64×112² → 64×56²) */
  AttnPool2d mp = { 3, 3, 2, 2, 1, 1, 1, 1, false, true };
  float *stem = alloc_fill ((size_t) 64 * 112 * 112), *pooled = alloc_fill ((size_t) 64 * 56 * 56);
  double t_mp;
  TIME_MEDIAN (t_mp, reps, attn_maxpool2d (pooled, stem, &mp, 64, 112, 112));
  printf ("| stem max pool 3x3/2 pad 1 | 64x112x112 | %.3f | %.1f GB/s read |\n", t_mp,
          64.0 * 112 * 112 * 4 / 1e9 / (t_mp / 1e3));
  sink += pooled[0];
  double extra = (t_conv3_pools - t_conv3) + t_cg + t_sg + t_apply;
  printf ("\nCBAM adds %.3f ms to this block's tail (pools in the epilogue, gates, "
          "fused apply in place of the residual epilogue).\n", extra);

  /* STN, soft attention, top-k */
  float *theta = alloc_fill (6), *grid = alloc_fill (2 * 224 * 224);
  float *img = alloc_fill (3 * 224 * 224), *warp = alloc_fill (3 * 224 * 224);
  theta[0] = 0.9f; theta[4] = 0.9f;
  double t_grid, t_sample, t_add, t_sdp, t_topk;
  TIME_MEDIAN (t_grid, reps, attn_affine_grid (grid, theta, 224, 224, false));
  TIME_MEDIAN (t_sample, reps, attn_grid_sample (warp, img, grid, 3, 224, 224, 224, 224, ATTN_SAMPLE_BILINEAR, ATTN_PAD_ZEROS, false));
  float *a = alloc_fill (196 * 512), *hh = alloc_fill (512), *wa = alloc_fill (512 * 512);
  float *wh = alloc_fill (512 * 512), *bb = alloc_fill (512), *v = alloc_fill (512);
  float *ctx = alloc_fill (512), *alpha = alloc_fill (196 * 196);
  float *aw = alloc_fill (attn_additive_attention_workspace (196, 512));
  TIME_MEDIAN (t_add, reps, attn_additive_attention (ctx, alpha, a, hh, wa, wh, bb, v, aw, 196, 512, 512, 512));
  float *q = alloc_fill (196 * 64), *k = alloc_fill (196 * 64), *vv = alloc_fill (196 * 64);
  float *o = alloc_fill (196 * 64);
  TIME_MEDIAN (t_sdp, reps, attn_sdp_attention (o, alpha, q, k, vv, 196, 196, 64, 64));
  int idx[16];
  float vals[16];
  TIME_MEDIAN (t_topk, reps, attn_topk (idx, vals, ms, 784, 16));
  printf ("\n| kernel | shape | ms |\n|---|---|---:|\n");
  printf ("| affine_grid | 224x224 | %.3f |\n| grid_sample bilinear | 3x224x224 | %.3f |\n", t_grid, t_sample);
  printf ("| additive attention | L=196 D=512 Da=512 | %.3f |\n| scaled dot-product | 196x196 D=64 | %.3f |\n", t_add, t_sdp);
  printf ("| top-k | k=16 of 28x28 | %.4f |\n", t_topk);
  sink += out[0] + ms[0] + warp[0] + ctx[0] + o[0] + vals[0];
}

static AttnModel *
resnet (int depth, const char *att, char *err)
{
  TinySpec s = tiny_spec_default ();
  s.block = depth >= 50 ? "bottleneck" : "basic";
  s.attention = att;
  s.n_stages = 4;
  int l18[4] = { 2, 2, 2, 2 }, l50[4] = { 3, 4, 6, 3 };
  memcpy (s.layers, depth >= 50 ? l50 : l18, sizeof s.layers);
  int widths[4] = { 64, 128, 256, 512 };
  memcpy (s.widths, widths, sizeof widths);
  s.stem_width = 64;
  s.num_classes = 1000;
  s.reduction = 16;              /* each gate's MLP C/16 wide, as PyTorch's */
  s.input = 224;
  ModelBuilder *mb = mb_new ();
  mb_tiny (mb, &s);
  GBytes *b = mb_bytes (mb);
  mb_free (mb);
  gsize len;
  const void *d = g_bytes_get_data (b, &len);
  AttnModel *m = attn_model_load_bytes (d, len, "bench", err, 512);
  g_bytes_unref (b);
  return m;
}

/* PyTorch's eager and frozen/optimised medians (NAN where unavailable). */
static void
torch_ms (int depth, const char *att, int threads, int runs, double *eager,
          double *opt)
{
  char cmd[512];
  snprintf (cmd, sizeof cmd, "/usr/bin/python3 %s/tools/bench_torch.py resnet%d %s 224 %d %d 2>/dev/null",
            ATTN_SOURCE_DIR, depth, att, threads, runs);
  *eager = *opt = NAN;
  FILE *p = popen (cmd, "r");
  if (!p)
    return;
  if (fscanf (p, "ms %lf opt %lf", eager, opt) < 1)
    *eager = NAN;
  pclose (p);
}

/* ONNX Runtime's medians for the four networks, by tools/bench/ort-bench.mjs
 * (onnxruntime-node, CPU provider) on the ONNX files tools/ort_export.py
 * writes into the build directory from bench_torch.py's modules (the same
 * seeded weights as the PyTorch columns). Absent node, package or torch:
 * ok = 0 and note says why and how to enable it. Never fails the bench;
 * both child processes are bounded by timeout(1). */
#define ORT_DIR ATTN_BUILD_DIR "/ort"
#define ORT_LOG ORT_DIR "/ort.log"
static const char *const ort_names[4] = {
  "resnet18", "resnet18-cbam", "resnet50", "resnet50-cbam",
};

typedef struct
{
  int ok;
  char note[384];
  char version[32];
  double ms[4], rel[4];
} OrtResult;

/* Whether ort-bench.mjs can run: node, the package, the ONNX files (the
 * export is skipped when they are up to date); else note says why and how
 * to enable it. */
static bool
ort_ready (char *note, size_t len)
{
  static const char enable[] = "enable it with `./run bench --ort` (or `cd tools/bench && "
      "ONNXRUNTIME_NODE_INSTALL=skip npm install`)";
  char *node = g_find_program_in_path ("node");
  if (!node) {
    snprintf (note, len, "ONNX Runtime column n/a: `node` not in PATH; "
              "install Node.js, then %s.", enable);
    return false;
  }
  g_free (node);
  if (!g_file_test (ATTN_SOURCE_DIR "/tools/bench/node_modules/onnxruntime-node/package.json",
          G_FILE_TEST_EXISTS)) {
    snprintf (note, len, "ONNX Runtime column n/a: onnxruntime-node is not "
              "installed in tools/bench; %s.", enable);
    return false;
  }
  if (g_mkdir_with_parents (ORT_DIR, 0755) != 0) {
    snprintf (note, len, "ONNX Runtime column n/a: cannot create %s.", ORT_DIR);
    return false;
  }
  int rc = system ("/usr/bin/timeout 900 /usr/bin/python3 " ATTN_SOURCE_DIR "/tools/ort_export.py "
      ORT_DIR " </dev/null >/dev/null 2>>" ORT_LOG);
  if (rc != 0) {
    snprintf (note, len, "ONNX Runtime column n/a: the ONNX export "
              "(tools/ort_export.py, needs /usr/bin/python3 with torch) failed; see %s.",
              ORT_LOG);
    return false;
  }
  return true;
}

static void
ort_ms (int threads, int runs, OrtResult *r)
{
  memset (r, 0, sizeof *r);
  for (int i = 0; i < 4; i++)
    r->ms[i] = r->rel[i] = NAN;
  snprintf (r->version, sizeof r->version, "?");
  if (quick) {
    snprintf (r->note, sizeof r->note, "ONNX Runtime column skipped with --quick.");
    return;
  }
  if (!ort_ready (r->note, sizeof r->note))
    return;
  char cmd[1024];
  snprintf (cmd, sizeof cmd, "/usr/bin/timeout 900 node %s/tools/bench/ort-bench.mjs --threads %d "
            "--runs %d %s %s %s %s %s </dev/null 2>>%s", ATTN_SOURCE_DIR, threads, runs,
            ORT_DIR, ort_names[0], ort_names[1], ort_names[2], ort_names[3], ORT_LOG);
  FILE *p = popen (cmd, "r");
  if (!p) {
    snprintf (r->note, sizeof r->note, "ONNX Runtime column n/a: cannot start node.");
    return;
  }
  char line[256], name[64], v[32];
  double ms, rel;
  int k;
  while (fgets (line, sizeof line, p)) {
    if (sscanf (line, "version %31s", v) == 1)
      snprintf (r->version, sizeof r->version, "%s", v);
    else if ((k = sscanf (line, "ort %63s %lf %lf", name, &ms, &rel)) >= 2)
      for (int i = 0; i < 4; i++)
        if (strcmp (name, ort_names[i]) == 0) {
          r->ms[i] = ms;
          r->rel[i] = k == 3 ? rel : NAN;
          r->ok |= !isnan (ms);
        }
  }
  pclose (p);
  if (!r->ok)
    snprintf (r->note, sizeof r->note, "ONNX Runtime column n/a: ort-bench.mjs gave no "
              "figures; see %s.", ORT_LOG);
}

/* "x.xx" or "x.xx–y.yy": t against two runs of a peer, smaller first (a
 * static buffer of four, for one printf) */
static const char *
ratio_range (double t, double a, double b)
{
  static char buf[4][32];
  static int next;
  char *s = buf[next++ % 4];
  double lo = t / (a > b ? a : b), hi = t / (a > b ? b : a);
  if (isnan (lo) || isnan (hi))
    snprintf (s, sizeof buf[0], "n/a");
  else if (fabs (hi - lo) < 0.005)
    snprintf (s, sizeof buf[0], "%.2f", lo);
  else
    snprintf (s, sizeof buf[0], "%.2f–%.2f", lo, hi);
  return s;
}

/* ONNX Runtime as a server (ort-bench.mjs --serve): its runs alternate
 * with ours, so both see the same machine. This kind of VM drifts by tens
 * of percent within a minute; two runs of one side before and after the
 * other's bound a ratio only loosely. */
typedef struct {
  GPid pid;
  FILE *to, *from;
} OrtServer;

static bool
ort_serve_start (OrtServer *s, int threads)
{
  char cmd[1024];
  snprintf (cmd, sizeof cmd, "exec /usr/bin/timeout 900 node %s/tools/bench/ort-bench.mjs "
            "--threads %d --warmup 3 --serve %s %s %s %s %s 2>>%s", ATTN_SOURCE_DIR,
            threads, ORT_DIR, ort_names[0], ort_names[1], ort_names[2],
            ort_names[3], ORT_LOG);
  char *argv[] = { "/bin/sh", "-c", cmd, NULL };
  int in_fd, out_fd;
  memset (s, 0, sizeof *s);
  signal (SIGPIPE, SIG_IGN);    /* a server that died: EOF, not death */
  if (!g_spawn_async_with_pipes (NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                 NULL, NULL, &s->pid, &in_fd, &out_fd, NULL,
                                 NULL))
    return false;
  s->to = fdopen (in_fd, "w");
  s->from = fdopen (out_fd, "r");
  char line[256];
  while (s->to && s->from && fgets (line, sizeof line, s->from))
    if (strncmp (line, "ready", 5) == 0)
      return true;
  return false;                 /* the caller stops it */
}

/* n timed runs of `name` into ms; how many came back. */
static int
ort_serve_run (OrtServer *s, const char *name, int n, double *ms)
{
  fprintf (s->to, "run %s %d\n", name, n);
  fflush (s->to);
  static char line[4096];
  if (!fgets (line, sizeof line, s->from))
    return 0;
  char *p = line, *end;
  if (strncmp (p, "times ", 6) != 0)
    return 0;
  p += 6;
  p += strcspn (p, " ");        /* the name */
  int k = 0;
  for (; k < n; k++) {
    double v = strtod (p, &end);
    if (end == p)
      break;
    ms[k] = v;
    p = end;
  }
  return k;
}

static void
ort_serve_stop (OrtServer *s)
{
  if (s->to) {
    fputs ("quit\n", s->to);
    fclose (s->to);
  }
  if (s->from)
    fclose (s->from);
  if (s->pid) {
    int status;
    waitpid (s->pid, &status, 0);
    g_spawn_close_pid (s->pid);
  }
}

static double
median_of (double *v, int n)
{
  qsort (v, (size_t) n, sizeof *v, cmp_d);
  return n ? v[n / 2] : NAN;
}

#define IL_ROUNDS 7
#define IL_RUNS 5
#define IL_PAUSE_US 50000

/* The four networks, ours and ONNX Runtime's alternated: IL_ROUNDS rounds,
 * each IL_RUNS forwards of ours and IL_RUNS runs of ORT's per network;
 * medians over all, and each round's ratio of medians (its range). */
static void
bench_interleaved (int threads)
{
  OrtServer srv;
  if (!ort_serve_start (&srv, threads)) {
    ort_serve_stop (&srv);
    printf ("\n(ONNX Runtime's server did not start: no interleaved "
            "figures; see %s.)\n", ORT_LOG);
    return;
  }
  static const struct { int depth; const char *att; } nets[] = {
    {18, "none"}, {18, "cbam"}, {50, "none"}, {50, "cbam"},
  };
  AttnModel *m[4] = { 0 };
  AttnNet *net[4] = { 0 };
  char err[512];
  bool ok = true;
  for (int i = 0; i < 4 && ok; i++) {
    m[i] = resnet (nets[i].depth, nets[i].att, err);
    net[i] = m[i] ? attn_net_new (m[i], 224, 224, err, sizeof err) : NULL;
    ok = net[i] != NULL;
    if (ok) {
      float *in = attn_net_input (net[i]);
      for (int j = 0; j < 3 * 224 * 224; j++)
        in[j] = (float) ((j * 7919) % 255) / 255.0f - 0.5f;
      attn_net_forward (net[i]);
    }
  }
  /* ours[i][round·IL_RUNS + r], the same for ORT */
  static double ours[4][IL_ROUNDS * IL_RUNS], theirs[4][IL_ROUNDS * IL_RUNS];
  double round_ours[4][IL_ROUNDS], round_theirs[4][IL_ROUNDS];
  for (int rd = 0; rd < IL_ROUNDS && ok; rd++)
    for (int i = 0; i < 4 && ok; i++) {
      double t[IL_RUNS];
      for (int r = 0; r < IL_RUNS; r++) {
        double t0 = now_ms ();
        attn_net_forward (net[i]);
        t[r] = ours[i][rd * IL_RUNS + r] = now_ms () - t0;
      }
      round_ours[i][rd] = median_of (t, IL_RUNS);
      /* a pause after each side's runs: a pool's threads that spin-wait
       * for more work (ORT's by default, ours for 0.2 ms) would otherwise
       * take a core from the other side's first runs */
      g_usleep (IL_PAUSE_US);
      ok = ort_serve_run (&srv, ort_names[i], IL_RUNS,
                          &theirs[i][rd * IL_RUNS]) == IL_RUNS;
      g_usleep (IL_PAUSE_US);
      if (ok) {
        memcpy (t, &theirs[i][rd * IL_RUNS], sizeof t);
        round_theirs[i][rd] = median_of (t, IL_RUNS);
      }
    }
  ort_serve_stop (&srv);
  if (ok) {
    printf ("\nInterleaved, %d thread%s: %d rounds, in each %d forwards of "
            "ours then %d runs of ONNX Runtime's per network (its server, "
            "`ort-bench.mjs --serve`); medians of all %d, and the range of "
            "the rounds' ratios; then the fastest run of each side, which "
            "a noisy host disturbs least.\n\n", threads,
            threads > 1 ? "s" : "", IL_ROUNDS, IL_RUNS, IL_RUNS,
            IL_ROUNDS * IL_RUNS);
    printf ("| network | ours ms | ORT ms | ours / ORT | rounds | ours, "
            "fastest | ORT, fastest | fastest / fastest |\n"
            "|---|---:|---:|---:|---|---:|---:|---:|\n");
    double med_o[4], med_t[4];
    for (int i = 0; i < 4; i++) {      /* (sorts them: [0] is the fastest) */
      med_o[i] = median_of (ours[i], IL_ROUNDS * IL_RUNS);
      med_t[i] = median_of (theirs[i], IL_ROUNDS * IL_RUNS);
    }
    /* rows: each network against its own ORT export, then the goals:
     * our CBAM networks against ORT's plain ones */
    static const int pair[6][2] = { {0, 0}, {1, 1}, {2, 2}, {3, 3}, {1, 0},
      {3, 2}
    };
    for (int k = 0; k < 6; k++) {
      int a = pair[k][0], b = pair[k][1];
      double lo = INFINITY, hi = -INFINITY;
      for (int rd = 0; rd < IL_ROUNDS; rd++) {
        double q = round_ours[a][rd] / round_theirs[b][rd];
        lo = q < lo ? q : lo;
        hi = q > hi ? q : hi;
      }
      char name[64];
      if (a == b)
        snprintf (name, sizeof name, "%s", ort_names[a]);
      else
        snprintf (name, sizeof name, "goal: our %s / ORT's %s", ort_names[a],
                  ort_names[b]);
      printf ("| %s | %.2f | %.2f | %.2f | %.2f–%.2f | %.2f | %.2f | %.2f "
              "|\n", name, med_o[a], med_t[b], med_o[a] / med_t[b], lo, hi,
              ours[a][0], theirs[b][0], ours[a][0] / theirs[b][0]);
    }
  } else {
    printf ("\n(Interleaved figures n/a: %s.)\n", net[0] && net[1] && net[2]
            && net[3] ? "ONNX Runtime's server stopped answering" : err);
  }
  for (int i = 0; i < 4; i++) {
    if (net[i])
      sink += attn_net_logits (net[i])[0];
    attn_net_free (net[i]);
    attn_model_unref (m[i]);
  }
}

static void
bench_networks (int threads)
{
  if (!wanted ("resnet"))
    return;
  OrtResult ort[2];
  /* in its own process, so that it runs while nothing else does: before
   * our runs and again after them, because this kind of machine drifts by
   * 20–40 % from one quarter-hour to the next; a ratio is only as good as
   * the two runs' agreement */
  ort_ms (threads, 21, &ort[0]);
  static const struct { int depth; const char *att; } nets[] = {
    {18, "none"}, {18, "cbam"}, {50, "none"}, {50, "cbam"},
  };
  char rows[4][512];
  double ours[4] = { NAN, NAN, NAN, NAN };
  for (size_t i = 0; i < 4; i++) {
    char err[512], name[32];
    snprintf (name, sizeof name, "resnet%d%s", nets[i].depth,
              strcmp (nets[i].att, "none") ? "-cbam" : "");
    AttnModel *m = resnet (nets[i].depth, nets[i].att, err);
    if (!m) {
      snprintf (rows[i], sizeof rows[i], "| %s | model failed: %.400s |", name,
                err);
      continue;
    }
    AttnNet *net = attn_net_new (m, 224, 224, err, sizeof err);
    /* the yardsticks: NCHW throughout, and that without Winograd */
    AttnLayoutPolicy layout = attn_net_layout_policy ();
    attn_net_set_layout_policy (ATTN_LAYOUT_NCHW);
    attn_winograd_set_policy (ATTN_WINOGRAD_NEVER);
    AttnNet *plain = attn_net_new (m, 224, 224, err, sizeof err);
    attn_winograd_set_policy (ATTN_WINOGRAD_AUTO);
    AttnNet *nchw = attn_net_new (m, 224, 224, err, sizeof err);
    attn_net_set_layout_policy (layout);
    float *in = attn_net_input (net), *in2 = attn_net_input (plain);
    float *in3 = attn_net_input (nchw);
    for (int j = 0; j < 3 * 224 * 224; j++)
      in[j] = in2[j] = in3[j] = (float) ((j * 7919) % 255) / 255.0f - 0.5f;
    double t, t_plain, t_nchw, pt = NAN, po = NAN;
    TIME_MEDIAN (t, quick ? 5 : 21, attn_net_forward (net));
    TIME_MEDIAN (t_plain, quick ? 5 : 21, attn_net_forward (plain));
    TIME_MEDIAN (t_nchw, quick ? 5 : 21, attn_net_forward (nchw));
    if (!quick)
      torch_ms (nets[i].depth, nets[i].att, threads, 21, &pt, &po);
    double best = isnan (po) || pt < po ? pt : po;
    ours[i] = t;
    snprintf (rows[i], sizeof rows[i],
              "| %s | %.2f | %.1f | %.2f | %d of %d | %.2f | %.2f | %.2f | "
              "%.2f | %.2f |", name, attn_net_macs (net) / 1e9,
              attn_net_arena_bytes (net) / 1048576.0, t,
              attn_net_blocked_blocks (net), m->n_blocks, t_nchw, t_plain,
              pt, po, best / t);
    sink += attn_net_logits (nchw)[0];
    attn_net_free (nchw);
    sink += attn_net_logits (plain)[0];
    attn_net_free (plain);
    sink += attn_net_logits (net)[0];
    attn_net_free (net);
    attn_model_unref (m);       /* the nets borrowed it */
  }
  if (ort[0].ok)
    ort_ms (threads, 21, &ort[1]);
  else
    ort[1] = ort[0];
  bool ok = ort[0].ok && ort[1].ok;
  printf ("\n## Networks, %d thread%s, 224x224, batch 1 (median of %d)\n\n",
          threads, threads > 1 ? "s" : "", quick ? 5 : 21);
  printf ("| network | GMACs | arena MB | ours ms | blocks on blocked maps "
          "| ours, NCHW only ms | ours, im2col only ms "
          "| PyTorch %s eager ms | PyTorch frozen+oneDNN ms | fastest PyTorch / ours "
          "| ONNX Runtime%s%s ms, before / after ours | ours / ORT |\n",
          TORCH_VERSION_HINT, ok ? " " : "", ok ? ort[0].version : "");
  printf ("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (int i = 0; i < 4; i++) {
    double a = ort[0].ms[i], b = ort[1].ms[i];
    if (ok && !isnan (a) && !isnan (b) && !isnan (ours[i]))
      printf ("%s %.2f / %.2f | %s |\n", rows[i], a, b,
              ratio_range (ours[i], a, b));
    else
      printf ("%s n/a | n/a |\n", rows[i]);
  }
  if (!ok) {
    printf ("\n%s\n", ort[0].ok ? ort[1].note : ort[0].note);
    return;
  }
  double worst = 0;
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < 4; i++)
      if (!isnan (ort[k].rel[i]) && ort[k].rel[i] > worst)
        worst = ort[k].rel[i];
  printf ("\nONNX Runtime: onnxruntime-node %s, CPU provider, graph optimisation "
          "'all', intra-op threads %d, inter-op 1; bench_torch.py's modules and "
          "seeded weights exported by tools/ort_export.py (opset 13); its logits "
          "within %.1e (max abs error / max abs logit) of PyTorch's. \"ours / "
          "ORT\" against its run before and after ours.\n",
          ort[0].version, threads, worst);
  /* the goals: our CBAM networks against ORT's plain ones */
  printf ("\nGoals, %d thread%s: CBAM-ResNet-18 / ORT's ResNet-18 %s, "
          "CBAM-ResNet-50 / ORT's ResNet-50 %s (each ≤ 0.9 to meet).\n",
          threads, threads > 1 ? "s" : "",
          ratio_range (ours[1], ort[0].ms[0], ort[1].ms[0]),
          ratio_range (ours[3], ort[0].ms[2], ort[1].ms[2]));
  bench_interleaved (threads);
}

/* ResNet-50-CBAM step by step: our forward's steps (attn_net_set_profiling)
 * beside ONNX Runtime's nodes for the same network (ort-bench.mjs --layers,
 * its own profiler). Its convolutions (the gates' 7×7 aside) pair with
 * ours in order, its classifier with our head; its other nodes count
 * towards our step that follows the convolution before them where that
 * step is no convolution (the stem's pool, a block's gate with the
 * residual add and ReLU), and towards "other nodes" where it is one (its
 * layout reorders, mostly). */
#define ORT_NODES_MAX 1024

typedef struct {
  char op[32], name[96];
  double ms;
} OrtNode;

/* ONNX Runtime's nodes for `model`, in the order they first ran; 0 (note
 * says why) when it cannot run. */
static int
ort_nodes (int threads, int runs, const char *model, OrtNode *nodes,
           char *version, char *note, size_t len)
{
  snprintf (version, 32, "?");
  if (quick) {
    snprintf (note, len, "ONNX Runtime column skipped with --quick.");
    return 0;
  }
  if (!ort_ready (note, len))
    return 0;
  char cmd[1024];
  snprintf (cmd, sizeof cmd, "/usr/bin/timeout 900 node %s/tools/bench/ort-bench.mjs --threads %d "
            "--runs %d --layers %s %s </dev/null 2>>%s", ATTN_SOURCE_DIR, threads, runs,
            ORT_DIR, model, ORT_LOG);
  FILE *p = popen (cmd, "r");
  if (!p) {
    snprintf (note, len, "ONNX Runtime column n/a: cannot start node.");
    return 0;
  }
  char line[512], v[32], name[64];
  int n = 0;
  OrtNode e;
  while (fgets (line, sizeof line, p)) {
    if (sscanf (line, "version %31s", v) == 1)
      snprintf (version, 32, "%s", v);
    else if (n < ORT_NODES_MAX
             && sscanf (line, "node %63s %31s %lf %95s", name, e.op, &e.ms,
                        e.name) == 4 && strcmp (name, model) == 0)
      nodes[n++] = e;
  }
  pclose (p);
  if (n == 0)
    snprintf (note, len, "ONNX Runtime column n/a: ort-bench.mjs --layers gave "
              "no nodes; see %s.", ORT_LOG);
  return n;
}

static bool
ort_is_conv (const OrtNode *e)
{
  return (strcmp (e->op, "Conv") == 0 || strcmp (e->op, "FusedConv") == 0)
      && !strstr (e->name, "cbam");
}

/* The classifier's nodes: our last step, the head */
static bool
ort_is_head (const OrtNode *e)
{
  static const char *const ops[] = {
    "GlobalAveragePool", "Flatten", "Gemm", "FusedGemm", "MatMul", "Softmax",
  };
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (strcmp (e->op, ops[i]) == 0)
      return !strstr (e->name, "cbam");
  return false;
}

static bool
is_conv_step (const AttnLayerTime *t)
{
  return t->macs > 0;
}

static void
bench_layers (int threads)
{
  if (!wanted ("resnet-layers"))
    return;
  static OrtNode nodes[ORT_NODES_MAX];
  char version[32], note[384] = "";
  int runs = quick ? 3 : 21;
  int n_nodes = ort_nodes (threads, runs, ort_names[3], nodes, version, note,
                           sizeof note);
  char err[512];
  AttnModel *m = resnet (50, "cbam", err);
  AttnNet *net = m ? attn_net_new (m, 224, 224, err, sizeof err) : NULL;
  if (!net) {
    printf ("\n## Per step, ResNet-50-CBAM: failed: %s\n", err);
    attn_model_unref (m);
    return;
  }
  float *in = attn_net_input (net);
  for (int j = 0; j < 3 * 224 * 224; j++)
    in[j] = (float) ((j * 7919) % 255) / 255.0f - 0.5f;
  for (int i = 0; i < 3; i++)
    attn_net_forward (net);
  attn_net_set_profiling (net, true);
  for (int i = 0; i < runs; i++)
    attn_net_forward (net);
  attn_net_set_profiling (net, false);
  const AttnLayerTime *t;
  int fw, n = attn_net_profile (net, &t, &fw);
  double peak = peak_of (attn_fma_peak_gflops, threads);

  /* ORT's time for each of our steps (NAN: none), and what is left */
  static double ort[512];
  int n_conv = 0, n_ort_conv = 0;
  for (int i = 0; i < n && i < 512; i++)
    n_conv += is_conv_step (&t[i]);
  for (int j = 0; j < n_nodes; j++)
    n_ort_conv += ort_is_conv (&nodes[j]);
  bool paired = n_nodes > 0 && n_conv == n_ort_conv && n <= 512;
  double ort_other = 0, ort_total = 0;
  for (int i = 0; i < n && i < 512; i++)
    ort[i] = NAN;
  if (paired) {
    int step = -1;              /* our step of the last convolution seen */
    for (int j = 0; j < n_nodes; j++) {
      ort_total += nodes[j].ms;
      if (ort_is_conv (&nodes[j])) {
        do
          step++;
        while (!is_conv_step (&t[step]));
        ort[step] = nodes[j].ms;
      } else if (ort_is_head (&nodes[j])) {
        ort[n - 1] = isnan (ort[n - 1]) ? nodes[j].ms : ort[n - 1] + nodes[j].ms;
      } else if (step >= 0 && step + 1 < n && !is_conv_step (&t[step + 1])) {
        ort[step + 1] = isnan (ort[step + 1]) ? nodes[j].ms
            : ort[step + 1] + nodes[j].ms;
      } else {
        ort_other += nodes[j].ms;
      }
    }
  }
  char theirs[128] = "";
  if (n_nodes)
    snprintf (theirs, sizeof theirs, "; ONNX Runtime %s: its profiler's "
              "median of %d runs, same network exported", version, runs);
  printf ("\n## Per step, ResNet-50-CBAM, %d thread%s (ours: mean of %d "
          "profiled forwards%s)\n\n", threads, threads > 1 ? "s" : "", fw,
          theirs);
  printf ("FMA peak, measured now on %d thread%s: %.1f GFLOPS.\n\n", threads,
          threads > 1 ? "s" : "", peak);
  printf ("| # | step | ours: how | ours ms | GFLOPS | %% of peak | ORT ms | "
          "ours / ORT |\n|---:|---|---|---:|---:|---:|---:|---:|\n");
  double ours_conv = 0, ours_other = 0, o_conv = 0, o_gate = 0, gates = 0;
  int n_gates = 0;
  for (int i = 0; i < n; i++) {
    double ms = t[i].seconds / fw * 1e3;
    if (strcmp (t[i].method, "gate") == 0) {
      gates += ms;
      n_gates++;
    }
    double o = i < 512 ? ort[i] : NAN;
    char gf[32] = "", pk[32] = "", oc[32] = "n/a", ratio[32] = "n/a";
    if (is_conv_step (&t[i])) {
      double g = 2.0 * t[i].macs / (ms * 1e-3) / 1e9;
      snprintf (gf, sizeof gf, "%.1f", g);
      snprintf (pk, sizeof pk, "%.0f", 100.0 * g / peak);
      ours_conv += ms;
      o_conv += isnan (o) ? 0 : o;
    } else {
      ours_other += ms;
      o_gate += isnan (o) ? 0 : o;
    }
    if (!isnan (o)) {
      snprintf (oc, sizeof oc, "%.3f", o);
      snprintf (ratio, sizeof ratio, "%.2f", ms / o);
    }
    printf ("| %d | %s | %s | %.3f | %s | %s | %s | %s |\n", i, t[i].name,
            t[i].method, ms, gf, pk, oc, ratio);
  }
  printf ("\nConvolutions: ours %.2f ms", ours_conv);
  if (paired)
    printf (", ONNX Runtime's %.2f (ours / ORT %.2f)", o_conv,
            ours_conv / o_conv);
  printf ("; the other steps (pool, gates with their residual, head): ours "
          "%.2f ms", ours_other);
  if (paired)
    printf (", ONNX Runtime's nodes there %.2f; its other nodes (layout "
            "reorders, mostly) %.2f; its nodes in all %.2f ms", o_gate,
            ort_other, ort_total);
  printf (".\n");
  double all = ours_conv + ours_other;
  printf ("\nAttention: the %d CBAM gates (channel MLP, pools, 7×7 map, "
          "apply with the residual) %.2f ms of the %.2f ms of steps, %.1f %% "
          "(goal ≤ 3 %%).\n", n_gates, gates, all, 100.0 * gates / all);
  if (!paired)
    printf ("\n%s\n", n_nodes ? "ONNX Runtime's convolutions do not pair "
            "with ours one for one: its column is left out." : note);
  sink += attn_net_logits (net)[0];
  attn_net_free (net);
  attn_model_unref (m);
}

/* Several streams' frames in one pass (attn_net_forward_many), B = 4: each
 * distinct convolution of the networks timed as B products, one per image
 * (im2col + sgemm, or Winograd where the planner picks it), against one
 * product for all B (attn_conv2d_many), with the planner's choice; then
 * whole networks per frame, net by net against batched as planned and
 * with every layer batched. */
#define BATCH 4

typedef struct {
  AttnConv2d p;
  int h, w;
} LayerShape;

static int
add_shape (LayerShape *shapes, int n, const AttnConv2d *p, int h, int w)
{
  for (int i = 0; i < n; i++)
    if (memcmp (&shapes[i].p, p, sizeof *p) == 0 && shapes[i].h == h
        && shapes[i].w == w)
      return n;
  shapes[n] = (LayerShape) { *p, h, w };
  return n + 1;
}

/* The distinct convolutions of m at h×w (at most 64). */
static int
model_shapes (const AttnModel *m, int h, int w, LayerShape *shapes)
{
  int n = add_shape (shapes, 0, &m->stem.p, h, w);
  h = attn_conv_out_dim (h, 7, 2, 3, 1);
  w = attn_conv_out_dim (w, 7, 2, 3, 1);
  if (m->has_stem_pool) {
    h = attn_pool_out_dim (h, 3, 2, 1, 1, 0);
    w = attn_pool_out_dim (w, 3, 2, 1, 1, 0);
  }
  for (int i = 0; i < m->n_blocks && n < 60; i++) {
    const AttnBlock *b = &m->blocks[i];
    const AttnConv2d *c1 = &b->conv1.p, *c2 = &b->conv2.p;
    int h1 = attn_conv_out_dim (h, c1->kh, c1->stride_h, c1->pad_h, 1);
    int w1 = attn_conv_out_dim (w, c1->kw, c1->stride_w, c1->pad_w, 1);
    n = add_shape (shapes, n, c1, h, w);
    n = add_shape (shapes, n, c2, h1, w1);
    int h2 = attn_conv_out_dim (h1, c2->kh, c2->stride_h, c2->pad_h, 1);
    int w2 = attn_conv_out_dim (w1, c2->kw, c2->stride_w, c2->pad_w, 1);
    if (m->block_type == ATTN_BLOCK_BOTTLENECK)
      n = add_shape (shapes, n, &b->conv3.p, h2, w2);
    if (b->has_down)
      n = add_shape (shapes, n, &b->down.p, h, w);
    h = h2;
    w = w2;
  }
  return n;
}

static void
bench_batch (int threads)
{
  if (!wanted ("batch"))
    return;
  int reps = quick ? 5 : 15;
  char err[512];
  static const struct { int depth; const char *att; } nets[] = {
    {18, "cbam"}, {50, "cbam"},
  };
  printf ("\n## Batching %d streams' frames, %d thread%s (median of %d)\n\n"
          "Per convolution of ResNet-18/50-CBAM at 224², %d images: one product "
          "per image against one for all (`attn_conv2d_many`); *planned* is "
          "`attn_net_batch_pays`.\n\n", BATCH, threads, threads > 1 ? "s" : "",
          reps, BATCH);
  printf ("| network | convolution | input | %d × one ms | one for %d ms | "
          "speed-up | planned |\n|---|---|---|---:|---:|---:|---|\n", BATCH,
          BATCH);
  for (size_t k = 0; k < 2; k++) {
    AttnModel *m = resnet (nets[k].depth, nets[k].att, err);
    if (!m)
      continue;
    LayerShape shapes[64];
    int n = model_shapes (m, 224, 224, shapes);
    for (int i = 0; i < n; i++) {
      const AttnConv2d *p = &shapes[i].p;
      int h = shapes[i].h, w = shapes[i].w;
      int ho = attn_conv_out_dim (h, p->kh, p->stride_h, p->pad_h, 1);
      int wo = attn_conv_out_dim (w, p->kw, p->stride_w, p->pad_w, 1);
      size_t in_n = (size_t) p->c_in * h * w, out_n = (size_t) p->c_out * ho * wo;
      int tile = attn_winograd_tile (p, h, w);
      bool wino = tile != 0;
      size_t ws1 = wino ? attn_winograd_workspace (p, h, w, tile)
          : attn_conv2d_workspace (p, h, w);
      size_t wsm = attn_conv2d_many_workspace (p, BATCH, h, w);
      float *wt = alloc_fill ((size_t) p->c_out * p->c_in * p->kh * p->kw);
      float *u = wino ? alloc_fill (attn_winograd_weights_size (p, tile)) : NULL;
      if (u)
        attn_winograd_weights (u, wt, p, tile);
      float *ws = alloc_fill (ws1 > wsm ? ws1 : wsm);
      float *in[BATCH], *out[BATCH];
      for (int b = 0; b < BATCH; b++) {
        in[b] = alloc_fill (in_n);
        out[b] = alloc_fill (out_n);
      }
      AttnEpilogue ep[BATCH];
      for (int b = 0; b < BATCH; b++)
        ep[b] = (AttnEpilogue) { NULL, NULL, ATTN_ACT_RELU, NULL, NULL };
      double t1, tm;
      TIME_MEDIAN (t1, reps, {
        for (int b = 0; b < BATCH; b++) {
          if (wino)
            attn_conv2d_winograd (out[b], in[b], u, &ep[b], ws, p, h, w, tile);
          else
            attn_conv2d (out[b], in[b], wt, &ep[b], ws, p, 1, h, w);
        }
      });
      TIME_MEDIAN (tm, reps, attn_conv2d_many (out, (const float *const *) in,
                                               wt, ep, ws, p, BATCH, h, w));
      sink += out[0][0];
      printf ("| resnet%d | %dx%d s%d %d→%d%s | %dx%d | %.3f | %.3f | %.2f | %s |\n",
              nets[k].depth, p->kh, p->kw, p->stride_h, p->c_in, p->c_out,
              wino ? " (Winograd)" : "", w, h, t1, tm, t1 / tm,
              attn_net_batch_pays (p, h, w, BATCH) ? "batched" : "one by one");
      for (int b = 0; b < BATCH; b++) {
        free (in[b]);
        free (out[b]);
      }
      free (wt);
      free (u);
      free (ws);
    }
    attn_model_unref (m);
  }

  printf ("\nWhole networks, ms per frame (the %d frames' time / %d):\n\n"
          "*net by net*: one forward after another, each split over the "
          "threads; *side by side*: attn_net_forward_many with no layer "
          "batched (the nets share the threads, one each, as independent "
          "streams would); *as planned*: its late layers batched; the "
          "speed-up is side by side / as planned.\n\n"
          "| network | net by net | side by side | batched as planned | every "
          "layer batched | speed-up of the batched layers | batch workspace MB |\n"
          "|---|---:|---:|---:|---:|---:|---:|\n", BATCH, BATCH);
  for (int k = -1; k < 2; k++) {
    AttnModel *m = k < 0 ? attn_model_load (ATTN_SOURCE_DIR
        "/models/default.safetensors", err, sizeof err)
        : resnet (nets[k].depth, nets[k].att, err);
    if (!m)
      continue;
    int h = k < 0 ? m->pre.height : 224, w = k < 0 ? m->pre.width : 224;
    AttnNet *net[BATCH];
    for (int b = 0; b < BATCH; b++) {
      net[b] = attn_net_new_sharing (m, h, w, b ? net[0] : NULL, err,
                                     sizeof err);
      float *in = attn_net_input (net[b]);
      for (int j = 0; j < 3 * h * w; j++)
        in[j] = (float) (((j + 31 * b) * 7919) % 255) / 255.0f - 0.5f;
    }
    attn_net_set_batch_policy (ATTN_BATCH_ALWAYS);
    size_t all_n = attn_net_many_workspace (net[0], BATCH);
    attn_net_set_batch_policy (ATTN_BATCH_AUTO);
    size_t auto_n = attn_net_many_workspace (net[0], BATCH);
    float *ws = alloc_fill (all_n > auto_n ? all_n : auto_n);
    double t1, ts, ta, tall;
    TIME_MEDIAN (t1, reps, {
      for (int b = 0; b < BATCH; b++)
        attn_net_forward (net[b]);
    });
    attn_net_set_batch_policy (ATTN_BATCH_NEVER);
    TIME_MEDIAN (ts, reps, attn_net_forward_many (net, BATCH, ws, auto_n));
    attn_net_set_batch_policy (ATTN_BATCH_AUTO);
    TIME_MEDIAN (ta, reps, attn_net_forward_many (net, BATCH, ws, auto_n));
    attn_net_set_batch_policy (ATTN_BATCH_ALWAYS);
    TIME_MEDIAN (tall, reps, attn_net_forward_many (net, BATCH, ws, all_n));
    attn_net_set_batch_policy (ATTN_BATCH_AUTO);
    char name[64];
    snprintf (name, sizeof name, "%s (%dx%d)", k < 0 ? m->name : nets[k].depth
              == 18 ? "resnet18-cbam" : "resnet50-cbam", w, h);
    printf ("| %s | %.3f | %.3f | %.3f | %.3f | %.2f | %.1f |\n", name,
            t1 / BATCH, ts / BATCH, ta / BATCH, tall / BATCH, ts / ta,
            auto_n * 4.0 / 1048576.0);
    sink += attn_net_logits (net[BATCH - 1])[0];
    for (int b = BATCH - 1; b >= 0; b--)
      attn_net_free (net[b]);
    free (ws);
    attn_model_unref (m);
  }
}

/* The decoder head's share of a frame: the shipped describe model as the
 * element runs it (backbone + decoder, greedy), and a decoder of "Show,
 * Attend and Tell"'s size on a 224² ResNet-50's last map (2048 × 7 × 7,
 * hidden 512, embedding 512, attention 512, 10,000 words, 20 steps,
 * every step run), beside PyTorch's eager time for the same head. */
static void
bench_decoder (int threads)
{
  if (!wanted ("decoder"))
    return;
  int reps = quick ? 5 : 21;
  printf ("\n## Decoder head, %d thread%s (median of %d)\n\n", threads,
          threads > 1 ? "s" : "", reps);
  printf ("| model | grid | steps | network ms | of which decoder ms | decoder "
          "share | PyTorch eager decoder ms |\n|---|---|---:|---:|---:|---:|---:|\n");
  char err[512];
  AttnModel *m = attn_model_load (ATTN_SOURCE_DIR "/models/describe.safetensors",
                                  err, sizeof err);
  if (m && m->decoder) {
    AttnNet *net = attn_net_new (m, m->pre.height, m->pre.width, err, sizeof err);
    float *in = attn_net_input (net);
    for (int j = 0; j < 3 * m->pre.width * m->pre.height; j++)
      in[j] = (float) ((j * 7919) % 255) / 255.0f - 0.5f;
    double t, dec_t[64];
    int n = 0;
    TIME_MEDIAN (t, reps, {
      attn_net_forward (net);
      AttnSequence q;
      attn_net_sequence (net, &q);
      if (n < 64)
        dec_t[n++] = q.seconds * 1e3;
    });
    qsort (dec_t, n, sizeof *dec_t, cmp_d);
    AttnSequence q;
    attn_net_sequence (net, &q);
    printf ("| %s (%dx%d) | %dx%d | %d | %.3f | %.3f | %.1f %% | — |\n", m->name,
            m->pre.width, m->pre.height, q.width, q.height, q.length, t,
            dec_t[n / 2], 100 * dec_t[n / 2] / t);
    attn_net_free (net);
  } else {
    printf ("| models/describe.safetensors | %s |\n", m ? "no decoder" : err);
  }
  attn_model_unref (m);

  /* Show-Attend-Tell-sized head on ResNet-50's map, teacher-forced */
  enum { D = 2048, H = 7, W = 7, DH = 512, E = 512, DA = 512, V = 10000, T = 20 };
  int l = H * W, g = 3;
  AttnDecoder d = { .cell = ATTN_CELL_GRU, .attention = ATTN_DEC_ADDITIVE,
                    .d = D, .hidden = DH, .embed = E, .att_dim = DA, .vocab = V,
                    .gate = true, .start = 0, .end = 1, .max_length = T };
  float *w[] = {
    alloc_fill ((size_t) DH * D), alloc_fill (DH), alloc_fill ((size_t) V * E),
    alloc_fill ((size_t) DA * D), alloc_fill (DA), alloc_fill ((size_t) DA * DH),
    alloc_fill (DA), alloc_fill (DH), alloc_fill (1),
    alloc_fill ((size_t) g * DH * (E + D)), alloc_fill ((size_t) g * DH),
    alloc_fill ((size_t) g * DH * DH), alloc_fill ((size_t) g * DH),
    alloc_fill ((size_t) V * (DH + D)), alloc_fill (V),
  };
  d.init_h_w = w[0]; d.init_h_b = w[1]; d.embed_w = w[2]; d.enc_w = w[3];
  d.enc_b = w[4]; d.dec_w = w[5]; d.v_w = w[6]; d.gate_w = w[7];
  d.gate_b = w[8]; d.w_ih = w[9]; d.b_ih = w[10]; d.w_hh = w[11];
  d.b_hh = w[12]; d.out_w = w[13]; d.out_b = w[14];
  float *feats = alloc_fill ((size_t) D * l);
  float *work = alloc_fill (attn_decoder_workspace (&d, l));
  float *alphas = alloc_fill ((size_t) T * l), scores[T];
  int tokens[T], targets[T];
  for (int i = 0; i < T; i++)
    targets[i] = 2 + (i * 37) % (V - 2);
  AttnDecoderOut out = { tokens, scores, alphas, NULL, 0 };
  double t;
  TIME_MEDIAN (t, reps, attn_decoder_run_forced (&d, feats, l, targets, T,
                                                  work, &out));
  double pt = NAN;
  if (!quick) {
    char cmd[512];
    snprintf (cmd, sizeof cmd, "/usr/bin/timeout 300 /usr/bin/python3 "
              "%s/tools/bench_torch.py decoder %d %d %d %d %d %d %d %d %d %d "
              "2>/dev/null", ATTN_SOURCE_DIR, D, H, W, DH, E, DA, V, T, threads,
              reps);
    FILE *p = popen (cmd, "r");
    if (p) {
      if (fscanf (p, "ms %lf", &pt) != 1)
        pt = NAN;
      pclose (p);
    }
  }
  printf ("| Show-Attend-Tell-sized head on ResNet-50 224² (D %d, Dh %d, E %d, "
          "Da %d, V %d) | %dx%d | %d | — | %.3f (%.3f per step) | — | %.3f |\n",
          D, DH, E, DA, V, H, W, T, t, t / T, pt);
  sink += scores[0];
  for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
    free (w[i]);
  free (feats);
  free (work);
  free (alphas);
}

/* Per-frame cost of the plugin apart from the network at 1080p: the
 * pre-processing (I420 1920x1080 → 224x224) timed directly, and the meta +
 * overlay through real pipelines against a bare one. */
static void
bench_plugin (void)
{
  if (!wanted ("plugin"))
    return;
  printf ("\n## Plugin overhead per 1080p frame, excluding the network\n\n");
  int fw = 1920, fh = 1080;
  uint8_t *frame = malloc ((size_t) fw * fh * 3 / 2);
  for (size_t i = 0; i < (size_t) fw * fh * 3 / 2; i++)
    frame[i] = (uint8_t) (i * 31);
  PreFormat f = { 0 };
  pre_format_yuv (&f, 0.2126f, 0.0722f, false);
  f.layout = PRE_I420;
  PreFrame fr = { { frame, frame + fw * fh, frame + fw * fh * 5 / 4 },
                  { fw, fw / 2, fw / 2 } };
  AttnPreprocess pre = { 224, 224, false, { 0.485f, 0.456f, 0.406f },
                         { 0.229f, 0.224f, 0.225f }, 255.0f, ATTN_RESIZE_STRETCH };
  PrePlan plan = { 0 };
  pre_plan (&plan, fw, fh, NULL, ATTN_RESIZE_STRETCH, &pre);
  float *out = alloc_fill (3 * 224 * 224);
  printf ("Instruction sets: every one this CPU has (the element runs the "
          "last).\n\n");
  printf ("| step | ms per frame, 1 thread | 2 threads |\n|---|---:|---:|\n");
  for (int isa = ATTN_ISA_GENERIC; isa <= (int) attn_cpu_best (); isa++) {
    double t_pre[2];
    attn_cpu_set_isa ((AttnIsa) isa);
    for (int th = 1; th <= 2; th++) {
      attn_parallel_set_threads (th);
      TIME_MEDIAN (t_pre[th - 1], quick ? 5 : 21, pre_run (&plan, &f, &fr, out));
    }
    printf ("| pre-processing I420 1920x1080 → 3x224x224 (%dx%d samples/pixel), "
            "%s | %.3f | %.3f |\n", plan.sub_x, plan.sub_y,
            attn_isa_name ((AttnIsa) isa), t_pre[0], t_pre[1]);
  }
  attn_cpu_set_isa (attn_cpu_best ());
  pre_plan_clear (&plan);
  free (out);

  /* the overlay's painter alone: a 7x7 map over the whole frame, in place
   * on I420 and BGRx and into the composition's premultiplied ARGB canvas,
   * its rows in bands over the thread budget */
  float map[49];
  for (int i = 0; i < 49; i++)
    map[i] = (float) ((i * 17) % 49) / 48.0f;
  PaintMap pm = { map, 7, 7, 0, 0, 1, 1 };
  PaintFormat pf_i420 = { .layout = PAINT_I420, .kr = 0.2126, .kb = 0.0722 };
  PaintFormat pf_argb = { .layout = PAINT_ARGB_CANVAS, .pixel_stride = 4,
                          .r = 2, .g = 1, .b = 0, .a = 3 };
  PaintFormat pf_bgrx = { .layout = PAINT_PACKED, .pixel_stride = 4,
                          .r = 2, .g = 1, .b = 0 };
  uint8_t *canvas = calloc ((size_t) fw * fh, 4);
  PaintFrame pfr_i420 = { { frame, frame + fw * fh, frame + fw * fh * 5 / 4 },
                          { fw, fw / 2, fw / 2 } };
  PaintFrame pfr_argb = { { canvas }, { fw * 4 } };
  const struct { const char *name; PaintFormat *pf; PaintFrame *fr; } heats[] = {
    { "heat map 1920x1080 in place, I420 (painter alone)", &pf_i420, &pfr_i420 },
    { "heat map 1920x1080 in place, BGRx (painter alone)", &pf_bgrx, &pfr_argb },
    { "heat map 1920x1080 into the ARGB composition canvas (painter alone)",
      &pf_argb, &pfr_argb },
  };
  Painter pt = { 0 };
  /* every instruction set this CPU has (cpu.h), the best last */
  for (int isa = ATTN_ISA_GENERIC; isa <= (int) attn_cpu_best (); isa++) {
    attn_cpu_set_isa ((AttnIsa) isa);
    for (size_t i = 0; i < sizeof heats / sizeof heats[0]; i++) {
      double t[2] = { NAN, NAN };
      if (paint_init (&pt, heats[i].pf, fw, fh, ATTN_COLORMAP_TURBO))
        for (int th = 1; th <= 2; th++) {
          attn_parallel_set_threads (th);
          TIME_MEDIAN (t[th - 1], quick ? 5 : 21,
                       paint_heat (&pt, heats[i].fr, &pm, 0.6f, true));
        }
      printf ("| %s, %s | %.3f | %.3f |\n", heats[i].name,
              attn_isa_name ((AttnIsa) isa), t[0], t[1]);
    }
  }
  attn_cpu_set_isa (attn_cpu_best ());
  attn_parallel_set_threads (1);
  paint_clear (&pt);
  free (canvas);
  free (frame);

  /* pipelines: a tiny model that runs once (inference-interval huge), so
   * what is measured is the element around the network */
  TinySpec s = tiny_spec_default ();
  ModelBuilder *mb = mb_new ();
  mb_tiny (mb, &s);
  char *tmp = mb_write_tmp (mb);
  mb_free (mb);
  const char *tails[] = { "",
    "attentioninfer inference-interval=100000 mode=sync model=",
    "attentioninfer inference-interval=100000 mode=sync model=",
  };
  const char *ends[] = { "", " !", " ! attentionoverlay !" };
  const char *names[] = { "bare pipeline (source + sink)",
    "+ attentioninfer (meta + ROI meta on every frame)",
    "+ attentionoverlay (heat map, labels, box drawn)",
  };
  int frames = quick ? 60 : 300;
  double base = 0;
  for (int i = 0; i < 3; i++) {
    char tail[512], desc[1024];
    snprintf (tail, sizeof tail, "%s%s%s fakesink sync=false", tails[i],
              i ? tmp : "", ends[i]);
    snprintf (desc, sizeof desc, "videotestsrc pattern=black num-buffers=%d ! "
              "video/x-raw,format=I420,width=1920,height=1080 ! %s", frames, tail);
    GstElement *p = gst_parse_launch (desc, NULL);
    if (!p)
      continue;
    double t0 = now_ms ();
    gst_element_set_state (p, GST_STATE_PLAYING);
    GstBus *bus = gst_element_get_bus (p);
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    double per = (now_ms () - t0) / frames;
    gboolean err = GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR;
    gst_message_unref (msg);
    gst_object_unref (bus);
    gst_element_set_state (p, GST_STATE_NULL);
    gst_object_unref (p);
    if (err) {
      printf ("| %s | (pipeline failed: plugin not found?) | |\n", names[i]);
      continue;
    }
    if (i == 0)
      base = per;
    printf ("| %s | %.3f (%+.3f over bare) | |\n", names[i], per, per - base);
  }
  unlink (tmp);
  g_free (tmp);
}

static void
header (void)
{
  char cpu[512] = "?";
  FILE *f = fopen ("/proc/cpuinfo", "r");
  char line[512];
  while (f && fgets (line, sizeof line, f))
    if (strncmp (line, "model name", 10) == 0) {
      char *c = strchr (line, ':');
      snprintf (cpu, sizeof cpu, "%s", c ? c + 2 : line);
      cpu[strcspn (cpu, "\n")] = 0;
      break;
    }
  if (f)
    fclose (f);
  time_t t = time (NULL);
  char date[64];
  strftime (date, sizeof date, "%Y-%m-%d %H:%M", gmtime (&t));
  printf ("# attn-bench — %s UTC\n\nMachine: %s, %ld cores. Threads are the "
          "process pool's, set per section (OpenBLAS itself runs on 1). Build: %s.\n", date, cpu,
          sysconf (_SC_NPROCESSORS_ONLN), ATTN_BUILD_FLAGS);
}

int
main (int argc, char **argv)
{
  /* the plugin section runs this build's elements unless told otherwise */
  g_setenv ("GST_PLUGIN_PATH", ATTN_PLUGIN_BUILD_DIR, FALSE);
  gst_init (&argc, &argv);
  for (int i = 1; i < argc; i++) {
    if (strcmp (argv[i], "--quick") == 0)
      quick = 1;
    else if (strcmp (argv[i], "--threads") == 0 && i + 1 < argc)
      only_threads = atoi (argv[++i]);
    else if (strcmp (argv[i], "--filter") == 0 && i + 1 < argc)
      filter = argv[++i];
    else {
      printf ("usage: %s [--quick] [--threads N] [--filter SUBSTR]\n", argv[0]);
      return strcmp (argv[i], "--help") == 0 ? 0 : 2;
    }
  }
  const char *gemm = getenv ("ATTN_GEMM");
  kernel = gemm && strcmp (gemm, "blas") == 0 ? ATTN_GEMM_BLAS
      : gemm && strcmp (gemm, "own") == 0 ? ATTN_GEMM_OWN : ATTN_GEMM_AUTO;
  header ();
  for (int th = 1; th <= 2; th++) {
    if (only_threads && th != only_threads)
      continue;
    attn_parallel_set_threads (th);
    bench_convs (th);
    bench_blocked (th);
  }
  bench_attention ();
  for (int th = 1; th <= 2; th++) {
    if (only_threads && th != only_threads)
      continue;
    attn_parallel_set_threads (th);
    bench_networks (th);
    bench_layers (th);
    bench_batch (th);
    bench_decoder (th);
  }
  attn_parallel_set_threads (1);
  bench_plugin ();
  return sink == 12345.0f;
}
