/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cbam.c — CBAM channel gate, spatial gate and the fused apply. */
#include "cbam.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "cpu.h"
#include "gate-private.h"
#include "linear.h"
#include "parallel.h"
#include "pool.h"

int
attn_cbam_channel_workspace (int c, int hidden)
{
  return 2 * c + 2 * hidden;
}

void
attn_cbam_channel_gate_pooled (float *mc, const float *avg, const float *max,
                               const float *w1, const float *b1,
                               const float *w2, const float *b2, float *work,
                               int c, int hidden)
{
  /* MLP(avg) + MLP(max) = W2·(relu(W1·avg + b1) + relu(W1·max + b1)) + 2·b2:
   * the first layer reads W1 once for both pools, and the second is
   * linear, so one GEMV serves both branches. */
  float *ha = work, *hm = work + hidden;
  attn_linear_pair (ha, hm, avg, max, w1, b1, c, hidden);
  for (int i = 0; i < hidden; i++)
    ha[i] = (ha[i] > 0.0f ? ha[i] : 0.0f) + (hm[i] > 0.0f ? hm[i] : 0.0f);
  attn_linear (mc, ha, w2, NULL, 1, hidden, c);
  for (int i = 0; i < c; i++)
    mc[i] += b2 ? 2.0f * b2[i] : 0.0f;
  attn_sigmoid (mc, mc, (size_t) c);
}

void
attn_cbam_channel_gate (float *mc, const float *in, const float *w1,
                        const float *b1, const float *w2, const float *b2,
                        float *work, int c, int hidden, int hw)
{
  float *avg = work + 2 * hidden, *max = avg + c;
  attn_global_avgpool (avg, in, c, hw);
  attn_global_maxpool (max, in, c, hw);
  attn_cbam_channel_gate_pooled (mc, avg, max, w1, b1, w2, b2, work, c,
                                 hidden);
}

/* The gates' passes over F split over the thread budget, on maps of at
 * least GATE_SPLIT_HW pixels. Each task takes a range of pixels (every
 * channel's run of them) or of channels (whole planes): for the apply,
 * the way the product that wrote F split it (blas.c cuts the longer side
 * of C: pixels where HW ≥ C), so each core reads the part it wrote; the
 * pools need every channel of a pixel, so by pixels. A pixel range starts
 * at a whole cache line: two cores writing the same line of every channel
 * cost more than the split gains. Every float comes out as on one thread.
 *
 * ResNet-50-CBAM on 2 threads (layer probe, split and unsplit forwards
 * alternated in one process, two runs): the sixteen gates 3.93 → 3.37 and
 * 4.31 → 3.72 ms; a 56² gate 0.48–0.66 → 0.35–0.47 ms. Smaller maps lost:
 * at 14² and 7² a split gate took 0.18–0.22 ms against 0.15, at 28² the
 * same. */
#define GATE_SPLIT_HW 1024
#define GATE_LINE 16            /* floats per 64-byte line */

typedef struct GateFns GateFns;

typedef struct {
  const GateFns *fns;
  float *out, *pmax, *pmean;
  const float *in, *mc, *ms, *identity;
  int c, hw, chunk;             /* chunk: pixels (channels) per task */
  bool by_channels;
  AttnAct act;
} GatePass;

/* Tasks of `chunk` items, a multiple of `align`, cutting len into one per
 * thread; 1 task on one thread or a map below GATE_SPLIT_HW. */
static int
gate_tasks (int len, int align, int hw, int *chunk)
{
  int t = hw < GATE_SPLIT_HW ? 1 : attn_parallel_threads ();
  int n = (len + t - 1) / t;
  n = (n + align - 1) / align * align;
  *chunk = n > 0 ? n : 1;
  return (len + *chunk - 1) / *chunk;
}

/* The gates' passes in one instruction set's variant (gate_isa.c). */
struct GateFns {
  void (*pools) GATE_POOLS_ARGS;
  void (*apply) GATE_APPLY_ARGS;
  void (*spatial) GATE_SPATIAL_ARGS;
};

static const GateFns gate_generic = {
  gate_pools_generic, gate_apply_generic, gate_spatial_generic
};

/* The variant this CPU runs (attn_cpu_isa()). */
static const GateFns *
gate_fns (void)
{
#ifdef ATTN_HAVE_ISA_VARIANTS
  static const GateFns avx512 = {
    gate_pools_avx512, gate_apply_avx512, gate_spatial_avx512
  };
  static const GateFns avx2 = {
    gate_pools_avx2, gate_apply_avx2, gate_spatial_avx2
  };
  switch (attn_cpu_isa ()) {
    case ATTN_ISA_AVX512:
      return &avx512;
    case ATTN_ISA_AVX2:
      return &avx2;
    default:
      break;
  }
#endif
  return &gate_generic;
}

/* Task i of the pools: its pixels, every channel. */
static void
pools_task (void *ctx, int i)
{
  const GatePass *g = ctx;
  int lo = i * g->chunk, n = g->hw - lo < g->chunk ? g->hw - lo : g->chunk;
  g->fns->pools (g->pmax + lo, g->pmean + lo, g->in + lo, g->mc, g->c, n,
                 (size_t) g->hw);
}

/* Task i of the apply: its pixels of every channel, or its channels. */
static void
apply_task (void *ctx, int i)
{
  const GatePass *g = ctx;
  int lo = i * g->chunk, len = g->by_channels ? g->c : g->hw;
  int n = len - lo < g->chunk ? len - lo : g->chunk;
  size_t at = g->by_channels ? (size_t) lo * g->hw : (size_t) lo;
  const float *mc = g->mc && g->by_channels ? g->mc + lo : g->mc;
  const float *ms = g->ms && !g->by_channels ? g->ms + lo : g->ms;
  const float *id = g->identity ? g->identity + at : NULL;
  int c = g->by_channels ? n : g->c, hw = g->by_channels ? g->hw : n;
  g->fns->apply (g->out + at, g->in + at, mc, ms, id, c, hw, (size_t) g->hw,
                 g->act);
}

typedef struct {
  void (*spatial) GATE_SPATIAL_ARGS;
  float *ms;
  const float *pmax, *pmean, *w;
  float bias;
  int h, wd, k, rows;           /* rows: per task */
} SpatialPass;

/* Rows shorter than this run the generic loops: AVX2's vectorised loops
 * over 14 or 7 floats cost more than they gain (a 14² map's spatial gate
 * 11 → 14 µs, 7²: 5 → 6 µs; 28² and wider 2–10 % faster on 1 thread).
 * AVX-512's kernel keeps rows in registers and takes every width. */
#define SPATIAL_WIDE_MIN 28

/* Task i of the spatial map: its band of rows, convolution and sigmoid. */
static void
spatial_task (void *ctx, int i)
{
  const SpatialPass *s = ctx;
  int y0 = i * s->rows, y1 = y0 + s->rows < s->h ? y0 + s->rows : s->h;
  s->spatial (s->ms, s->pmax, s->pmean, s->w, s->bias, s->h, s->wd, s->k, y0,
              y1);
  size_t at = (size_t) y0 * s->wd;
  attn_sigmoid (s->ms + at, s->ms + at, (size_t) (y1 - y0) * s->wd);
}

void
attn_cbam_spatial_gate (float *ms, const float *in, const float *mc,
                        const float *w, float bias, float *work, int c, int h,
                        int wd, int k)
{
  size_t hw = (size_t) h * wd;
  float *pmax = work, *pmean = work + hw;

  /* P = [max_c F', mean_c F'] with F' = mc[c]·F, one pass over F, in the
   * variant this CPU runs */
  const GateFns *fns = gate_fns ();
  GatePass g = { fns, NULL, pmax, pmean, in, mc, NULL, NULL, c, (int) hw, 0,
    false, ATTN_ACT_NONE
  };
  attn_parallel_for (gate_tasks ((int) hw, GATE_LINE, (int) hw, &g.chunk),
                     pools_task, &g);
  attn_cbam_spatial_pooled (ms, pmax, pmean, w, bias, h, wd, k);
}

void
attn_cbam_spatial_pooled (float *ms, const float *pmax, const float *pmean,
                          const float *w, float bias, int h, int wd, int k)
{
  /* ms = σ(conv_k×k(P) + bias), in bands of rows on large maps */
  const GateFns *fns = gate_fns ();
  size_t hw = (size_t) h * wd;
  bool wide = wd >= SPATIAL_WIDE_MIN || attn_cpu_isa () == ATTN_ISA_AVX512;
  SpatialPass sp = { wide ? fns->spatial : gate_generic.spatial, ms, pmax,
    pmean, w, bias, h, wd, k, 0
  };
  attn_parallel_for (gate_tasks (h, 1, (int) hw, &sp.rows), spatial_task,
                     &sp);
}

void
attn_cbam_apply (float *out, const float *in, const float *mc, const float *ms,
                 const float *identity, int c, int hw, AttnAct act)
{
  bool by_channels = hw < c;
  GatePass g = { gate_fns (), out, NULL, NULL, in, mc, ms, identity, c, hw,
    0, by_channels, act
  };
  attn_parallel_for (gate_tasks (by_channels ? c : hw,
                                 by_channels ? 1 : GATE_LINE, hw, &g.chunk),
                     apply_task, &g);
}
