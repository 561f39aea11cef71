/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_dcn.c — top-k against a full sort (random, ties, NaN, ±inf, k=1, k=n,
 * k>n, k<=0), patch extraction against a naive loop (patches hanging off
 * every edge, stride/pad combinations, patches larger than the image, indices
 * off the grid), scatter against a naive loop, scatter/extract round trips and
 * a tiny end-to-end coarse/fine DCN. Everything here is copying and
 * comparing, no arithmetic, so every comparison is exact (atol 0, rtol 0).
 * Outputs are pre-filled with NaN and followed by a guard band of canaries:
 * an entry left unwritten or a write past the end fails the case. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dcn.h"

#define GUARD 8                 /* canary entries after every output */
#define CANARY_I (-123456789)
#define CANARY_F 12345.678f

/* ---- top-k ------------------------------------------------------------- */

static const float *sort_vals;

/* the ranking by definition: numbers before NaN, larger first, then lower
 * index first */
static int
cmp_rank (const void *a, const void *b)
{
  int i = *(const int *) a, j = *(const int *) b;
  float x = sort_vals[i], y = sort_vals[j];
  bool xn = isnan (x), yn = isnan (y);
  if (xn != yn)
    return xn ? 1 : -1;
  if (!xn && x != y)
    return x > y ? -1 : 1;
  return (i > j) - (i < j);
}

typedef enum {
  SAL_RANDOM,                   /* uniform in ±1 */
  SAL_TIES,                     /* integers 0..5: many exact ties */
  SAL_NAN,                      /* uniform, every 7th (from index 0) NaN */
  SAL_INF,                      /* ties, ±inf, ±0 mixed in */
  SAL_ALL_NAN,
} SalKind;

static void
fill_sal (float *s, int n, Rng *r, SalKind kind)
{
  for (int i = 0; i < n; i++) {
    switch (kind) {
      case SAL_RANDOM:
      case SAL_NAN:
        s[i] = rng_uniform (r, -1, 1);
        break;
      case SAL_TIES:
        s[i] = (float) rng_int (r, 0, 5);
        break;
      case SAL_INF:{
        static const float special[] = { INFINITY, -INFINITY, 0.0f, -0.0f };
        int t = rng_int (r, 0, 7);
        s[i] = t < 4 ? special[t] : (float) rng_int (r, -2, 2);
        break;
      }
      case SAL_ALL_NAN:
        s[i] = NAN;
        break;
    }
    if (kind == SAL_NAN && i % 7 == 0)
      s[i] = NAN;
  }
}

/* attn_topk(k) against the first min(k,n) entries of a full sort; nothing
 * beyond them may be written. */
static bool
topk_case (Rng *r, int n, int k, SalKind kind)
{
  float *s = test_alloc (n);
  fill_sal (s, n, r, kind);
  int *all = malloc (sizeof (int) * (size_t) (n > 0 ? n : 1));
  for (int i = 0; i < n; i++)
    all[i] = i;
  sort_vals = s;
  qsort (all, (size_t) n, sizeof (int), cmp_rank);

  int cap = (k > 0 ? k : 0) + GUARD;
  int *idx = malloc (sizeof (int) * (size_t) cap);
  float *vals = test_alloc (cap);
  for (int j = 0; j < cap; j++) {
    idx[j] = CANARY_I;
    vals[j] = CANARY_F;
  }
  attn_topk (idx, vals, s, n, k);

  int m = k < n ? k : n;        /* entries that must be written */
  m = m > 0 ? m : 0;
  bool ok = true;
  for (int j = 0; j < m && ok; j++) {
    float want = s[all[j]];
    bool same_val = (isnan (vals[j]) && isnan (want))
        || (vals[j] == want && signbit (vals[j]) == signbit (want));
    if (idx[j] != all[j] || !same_val) {
      printf ("# rank %d: got idx %d val %g, want idx %d val %g\n", j, idx[j],
              vals[j], all[j], want);
      ok = false;
    }
  }
  for (int j = m; j < cap && ok; j++)
    if (idx[j] != CANARY_I || vals[j] != CANARY_F) {
      printf ("# entry %d written (idx %d val %g) though only %d may be\n", j,
              idx[j], vals[j], m);
      ok = false;
    }
  free (s); free (all); free (idx); free (vals);
  return ok;
}

/* ---- patches ----------------------------------------------------------- */

/* the naive extraction, pixel by pixel: out[j][ch][y][x] =
 * in[ch][y0+y][x0+x] inside the image, 0 outside */
static void
patches_ref (float *ref, const float *in, const int *idx, int k, int sal_w,
             int stride, int pad, int c, int h, int w, int ph, int pw)
{
  for (int j = 0; j < k; j++)
    for (int ch = 0; ch < c; ch++)
      for (int y = 0; y < ph; y++)
        for (int x = 0; x < pw; x++) {
          int iy = (idx[j] / sal_w) * stride - pad + y;
          int ix = (idx[j] % sal_w) * stride - pad + x;
          bool inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
          ref[(((size_t) j * c + ch) * ph + y) * pw + x] =
              inside ? in[((size_t) ch * h + iy) * w + ix] : 0.0f;
        }
}

/* the guard band after n entries of x is intact */
static bool
guard_ok (const char *what, const float *x, size_t n)
{
  for (size_t i = n; i < n + GUARD; i++)
    if (x[i] != CANARY_F) {
      printf ("# %s: wrote past the end (entry %zu of %zu)\n", what, i, n);
      return false;
    }
  return true;
}

typedef struct {
  int c, h, w;                  /* the image (C,H,W) */
  int sal_h, sal_w, stride, pad;        /* the grid and its mapping */
  int ph, pw, k;
  bool all_edges;               /* the corner patches hang off all 4 edges */
  bool off_grid;                /* indices off the grid: < 0 and >= n */
} PatchCase;

/* extraction at the four grid corners, then random grid positions, or
 * (off_grid) at indices off the grid */
static bool
patches_case (Rng *r, const PatchCase *pc)
{
  int c = pc->c, h = pc->h, w = pc->w, sal_h = pc->sal_h, sal_w = pc->sal_w;
  int stride = pc->stride, pad = pc->pad, ph = pc->ph, pw = pc->pw, k = pc->k;
  bool off_grid = pc->off_grid;
  int n = sal_h * sal_w;
  float *in = test_alloc ((size_t) c * h * w);
  fill_uniform (in, (size_t) c * h * w, r, 0.5f, 1);    /* never 0 */
  int *idx = malloc (sizeof (int) * (size_t) (k > 0 ? k : 1));
  const int corners[4] = { 0, sal_w - 1, n - sal_w, n - 1 };
  for (int j = 0; j < k; j++) {
    if (off_grid)
      idx[j] = j % 3 == 0 ? -rng_int (r, 1, 2 * n) : j % 3 == 1
          ? n + rng_int (r, 0, 2 * n) : rng_int (r, 0, n - 1);
    else
      idx[j] = j < 4 ? corners[j] : rng_int (r, 0, n - 1);
  }
  size_t total = (size_t) (k > 0 ? k : 0) * c * ph * pw;
  float *out = test_alloc (total + GUARD), *ref = test_alloc (total + 1);
  for (size_t i = 0; i < total; i++)
    out[i] = NAN;
  for (size_t i = total; i < total + GUARD; i++)
    out[i] = CANARY_F;
  patches_ref (ref, in, idx, k, sal_w, stride, pad, c, h, w, ph, pw);
  attn_extract_patches (out, in, idx, k, sal_w, stride, pad, c, h, w, ph, pw);
  bool ok = check_close ("patches", out, ref, total, 0, 0);
  ok = guard_ok ("patches", out, total) && ok;

  /* the setup really has patches hanging off each of the four edges */
  if (pc->all_edges) {
    bool top = false, left = false, bottom = false, right = false;
    for (int j = 0; j < 4; j++) {
      int y0 = (idx[j] / sal_w) * stride - pad;
      int x0 = (idx[j] % sal_w) * stride - pad;
      top |= y0 < 0;
      left |= x0 < 0;
      bottom |= y0 + ph > h;
      right |= x0 + pw > w;
    }
    if (!(top && left && bottom && right)) {
      printf ("# test setup: corner patches do not hang off every edge "
              "(top %d left %d bottom %d right %d)\n", top, left, bottom,
              right);
      ok = false;
    }
  }
  free (in); free (idx); free (out); free (ref);
  return ok;
}

/* ---- scatter ----------------------------------------------------------- */

/* k distinct positions in [0, hw), random order */
static void
distinct_positions (int *idx, int k, int hw, Rng *r)
{
  for (int j = 0; j < k; j++) {
    int p;
    bool dup;
    do {
      p = rng_int (r, 0, hw - 1);
      dup = false;
      for (int t = 0; t < j; t++)
        dup |= idx[t] == p;
    } while (dup);
    idx[j] = p;
  }
}

/* scatter against a naive loop; the columns not in idx keep their values */
static bool
scatter_case (Rng *r, int c, int hw, int k)
{
  float *feat = test_alloc ((size_t) c * hw + GUARD);
  float *ref = test_alloc ((size_t) c * hw);
  float *fine = test_alloc ((size_t) (k > 0 ? k : 1) * c);
  int *idx = malloc (sizeof (int) * (size_t) (k > 0 ? k : 1));
  fill_uniform (feat, (size_t) c * hw, r, -1, 1);
  for (size_t i = (size_t) c * hw; i < (size_t) c * hw + GUARD; i++)
    feat[i] = CANARY_F;
  fill_uniform (fine, (size_t) (k > 0 ? k : 0) * c, r, 5, 6);
  distinct_positions (idx, k, hw, r);
  memcpy (ref, feat, sizeof (float) * (size_t) c * hw);
  for (int j = 0; j < k; j++)
    for (int ch = 0; ch < c; ch++)
      ref[(size_t) ch * hw + idx[j]] = fine[(size_t) j * c + ch];
  attn_scatter_positions (feat, fine, idx, k, c, hw);
  bool ok = check_close ("scatter", feat, ref, (size_t) c * hw, 0, 0);
  ok = guard_ok ("scatter", feat, (size_t) c * hw) && ok;
  free (feat); free (ref); free (fine); free (idx);
  return ok;
}

/* scatter, then 1×1 patches (stride 1, pad 0) at the same positions: the
 * (K,C,1,1) patches are the (K,C) fine rows again; and those patches
 * scattered into a zero map give the same columns, zeros elsewhere. */
static bool
round_trip_case (Rng *r, int c, int h, int w, int k)
{
  int hw = h * w;
  size_t nmap = (size_t) c * hw, nrows = (size_t) k * c;
  float *feat = test_alloc (nmap), *map = test_alloc (nmap);
  float *ref = test_alloc (nmap);
  float *fine = test_alloc (nrows), *back = test_alloc (nrows);
  int *idx = malloc (sizeof (int) * (size_t) k);
  fill_uniform (feat, nmap, r, -1, 1);
  fill_uniform (fine, nrows, r, 5, 6);
  distinct_positions (idx, k, hw, r);

  attn_scatter_positions (feat, fine, idx, k, c, hw);
  attn_extract_patches (back, feat, idx, k, w, 1, 0, c, h, w, 1, 1);
  bool ok = check_close ("scatter→extract", back, fine, nrows, 0, 0);

  /* map and ref start all zero */
  attn_scatter_positions (map, back, idx, k, c, hw);
  for (int j = 0; j < k; j++)
    for (int ch = 0; ch < c; ch++)
      ref[(size_t) ch * hw + idx[j]] = feat[(size_t) ch * hw + idx[j]];
  ok = check_close ("extract→scatter", map, ref, nmap, 0, 0) && ok;
  free (feat); free (fine); free (back); free (map); free (ref); free (idx);
  return ok;
}

/* ---- end to end -------------------------------------------------------- */

/* A tiny DCN on one image in (C,H,W) = (2,12,16):
 *   coarse (C, 3×4): mean of each 4×4 cell;
 *   saliency (3×4): Σ_c coarse²;
 *   top-3 positions; fine features there: per channel, the max over the 8×8
 *   input patch centred on the cell (stride 4, pad 2, zero padding);
 *   feat = coarse with the fine features scattered in.
 * Checks: idx is the naive top-3; exactly the top-3 columns differ from the
 * coarse map, and there they equal the fine features computed straight from
 * the image. */
static bool
dcn_end_to_end (Rng *r)
{
  enum { C = 2, H = 12, W = 16, CELL = 4, GH = H / CELL, GW = W / CELL,
    N = GH * GW, K = 3, P = 8, PAD = 2 };
  float in[C * H * W], coarse[C * N], feat[C * N], sal[N];
  float patches[K * C * P * P], fine[K * C];
  fill_uniform (in, C * H * W, r, -1, 1);

  for (int ch = 0; ch < C; ch++)
    for (int p = 0; p < N; p++) {
      float s = 0.0f;
      for (int y = 0; y < CELL; y++)
        for (int x = 0; x < CELL; x++)
          s += in[(ch * H + (p / GW) * CELL + y) * W + (p % GW) * CELL + x];
      coarse[ch * N + p] = s / (CELL * CELL);
    }
  for (int p = 0; p < N; p++) {
    sal[p] = 0.0f;
    for (int ch = 0; ch < C; ch++)
      sal[p] += coarse[ch * N + p] * coarse[ch * N + p];
  }

  /* the pipeline under test */
  int idx[K];
  attn_topk (idx, NULL, sal, N, K);
  attn_extract_patches (patches, in, idx, K, GW, CELL, PAD, C, H, W, P, P);
  for (int j = 0; j < K; j++)
    for (int ch = 0; ch < C; ch++) {
      const float *pt = patches + (j * C + ch) * P * P;
      float m = pt[0];
      for (int i = 1; i < P * P; i++)
        m = pt[i] > m ? pt[i] : m;
      fine[j * C + ch] = m;
    }
  memcpy (feat, coarse, sizeof feat);
  attn_scatter_positions (feat, fine, idx, K, C, N);

  /* naive top-3: repeated argmax over the positions not taken yet */
  bool ok = true, taken[N] = { false };
  for (int j = 0; j < K; j++) {
    int best = -1;
    for (int p = 0; p < N; p++)
      if (!taken[p] && (best < 0 || sal[p] > sal[best]))
        best = p;
    taken[best] = true;
    if (idx[j] != best) {
      printf ("# top-%d: got position %d, want %d\n", j, idx[j], best);
      ok = false;
    }
  }
  /* column p changed iff p is among the top 3; the new value is the max over
   * the 8×8 window of the image, zeros counted where it hangs off the edge */
  for (int p = 0; p < N; p++)
    for (int ch = 0; ch < C; ch++) {
      float got = feat[ch * N + p], want = coarse[ch * N + p];
      if (taken[p]) {
        int y0 = (p / GW) * CELL - PAD, x0 = (p % GW) * CELL - PAD;
        want = -INFINITY;
        for (int y = y0; y < y0 + P; y++)
          for (int x = x0; x < x0 + P; x++) {
            float v = y >= 0 && y < H && x >= 0 && x < W
                ? in[(ch * H + y) * W + x] : 0.0f;
            want = v > want ? v : want;
          }
        if (got == coarse[ch * N + p]) {
          printf ("# position %d channel %d: fine equals coarse, so the case "
                  "cannot tell them apart\n", p, ch);
          ok = false;
        }
      }
      if (got != want) {
        printf ("# position %d (%s) channel %d: got %g, want %g\n", p,
                taken[p] ? "fine" : "coarse", ch, got, want);
        ok = false;
      }
    }
  return ok;
}

/* ---- salient positions with suppression ---------------------------------- */

/* The definition, independently: every cell in rank order (cmp_rank), kept
 * when it reaches min_val and no kept cell lies within rx/ry of it. */
static int
pick_ref (int *idx, const float *sal, int h, int w, int k, float min_val,
          int rx, int ry)
{
  int n = h * w, got = 0;
  int *order = malloc (sizeof (int) * (size_t) n);
  for (int i = 0; i < n; i++)
    order[i] = i;
  sort_vals = sal;
  qsort (order, (size_t) n, sizeof (int), cmp_rank);
  for (int i = 0; i < n && got < k; i++) {
    int c = order[i];
    if (!(sal[c] >= min_val))
      continue;
    bool near = false;
    for (int j = 0; j < got && !near; j++)
      near = abs (idx[j] % w - c % w) <= rx && abs (idx[j] / w - c / w) <= ry;
    if (!near)
      idx[got++] = c;
  }
  free (order);
  return got;
}

static bool
pick_case (Rng *r, int h, int w, int k, float min_val, int rx, int ry,
           SalKind kind)
{
  int n = h * w;
  float *sal = test_alloc ((size_t) n);
  fill_sal (sal, n, r, kind);
  int kk = k > 0 ? k : 1;
  int *idx = malloc (sizeof (int) * (size_t) (kk + GUARD));
  int *ref = malloc (sizeof (int) * (size_t) kk);
  float *vals = test_alloc ((size_t) kk + GUARD);
  for (int i = 0; i < kk + GUARD; i++) {
    idx[i] = CANARY_I;
    vals[i] = CANARY_F;
  }
  unsigned char *taken = malloc ((size_t) n);
  int got = attn_pick_salient (idx, vals, sal, h, w, k, min_val, rx, ry,
                               taken);
  int want = pick_ref (ref, sal, h, w, k, min_val, rx, ry);
  bool ok = true;
  if (got != want) {
    printf ("# chose %d positions, the definition %d\n", got, want);
    ok = false;
  }
  for (int j = 0; ok && j < got; j++)
    if (idx[j] != ref[j] || vals[j] != sal[ref[j]]) {
      printf ("# position %d: cell %d (%g), the definition cell %d (%g)\n",
              j, idx[j], (double) vals[j], ref[j], (double) sal[ref[j]]);
      ok = false;
    }
  for (int j = got; ok && j < kk + GUARD; j++)
    if (idx[j] != CANARY_I || vals[j] != CANARY_F) {
      printf ("# entry %d past the %d chosen was written\n", j, got);
      ok = false;
    }
  free (idx);
  free (ref);
  free (vals);
  free (taken);
  free (sal);
  return ok;
}

/* Two objects on an empty map, one much weaker, and a plateau around the
 * strong one: suppression keeps its neighbours out, the weak one is second,
 * and a threshold above it leaves one. */
static bool
pick_objects (void)
{
  enum { H = 9, W = 16 };
  float sal[H * W] = { 0 };
  for (int y = 1; y <= 3; y++)
    for (int x = 2; x <= 4; x++)
      sal[y * W + x] = 0.8f;
  sal[2 * W + 3] = 0.9f;
  sal[7 * W + 12] = 0.4f;
  int idx[4];
  float vals[4];
  unsigned char taken[H * W];
  int n = attn_pick_salient (idx, vals, sal, H, W, 4, 0.3f, 2, 2, taken);
  int n2 = attn_pick_salient (idx + 2, NULL, sal, H, W, 4, 0.5f, 2, 2, taken);
  if (n != 2 || idx[0] != 2 * W + 3 || idx[1] != 7 * W + 12 || n2 != 1
      || idx[2] != 2 * W + 3) {
    printf ("# n %d (%d, %d), with threshold 0.5: n %d\n", n, idx[0], idx[1],
            n2);
    return false;
  }
  return true;
}

int
main (int argc, char **argv)
{
  Rng r = rng_new (23);
  /* n, k, saliency */
  test_case ("topk k=5 of 784", topk_case (&r, 784, 5, SAL_RANDOM));
  test_case ("topk k=1", topk_case (&r, 50, 1, SAL_RANDOM));
  test_case ("topk k=n", topk_case (&r, 37, 37, SAL_RANDOM));
  test_case ("topk n=1 k=1", topk_case (&r, 1, 1, SAL_RANDOM));
  test_case ("topk ties: lower index first",
             topk_case (&r, 100, 20, SAL_TIES));
  test_case ("topk ties, k=n", topk_case (&r, 64, 64, SAL_TIES));
  test_case ("topk NaN never beats a number (k<n)",
             topk_case (&r, 60, 10, SAL_NAN));
  test_case ("topk NaN ranked last, by index (k=n)",
             topk_case (&r, 60, 60, SAL_NAN));
  test_case ("topk ±inf and ±0", topk_case (&r, 80, 30, SAL_INF));
  test_case ("topk all NaN: indices in order",
             topk_case (&r, 9, 4, SAL_ALL_NAN));
  test_case ("topk k>n ranks all n, writes nothing more",
             topk_case (&r, 5, 9, SAL_TIES));
  test_case ("topk k=0 writes nothing", topk_case (&r, 10, 0, SAL_RANDOM));
  test_case ("topk k<0 writes nothing", topk_case (&r, 10, -3, SAL_RANDOM));
  test_case ("topk n=0 writes nothing", topk_case (&r, 0, 3, SAL_RANDOM));

  /* h, w, k, min_val, rx, ry, saliency */
  test_case ("pick 4 on 23x40, suppression 2x2",
             pick_case (&r, 23, 40, 4, -1.0f, 2, 2, SAL_RANDOM));
  test_case ("pick ties: lower index first, suppression 1x3",
             pick_case (&r, 9, 13, 8, 0.0f, 1, 3, SAL_TIES));
  test_case ("pick NaN never chosen", pick_case (&r, 7, 5, 20, -2.0f, 0, 0,
                 SAL_NAN));
  test_case ("pick all NaN: none", pick_case (&r, 3, 3, 2, -2.0f, 0, 0,
                 SAL_ALL_NAN));
  test_case ("pick ±inf and ±0, threshold 0",
             pick_case (&r, 6, 11, 5, 0.0f, 1, 1, SAL_INF));
  test_case ("pick threshold above most: fewer than k",
             pick_case (&r, 12, 12, 30, 0.8f, 1, 1, SAL_RANDOM));
  test_case ("pick suppression wider than the map: one",
             pick_case (&r, 5, 8, 3, -1.0f, 9, 9, SAL_RANDOM));
  test_case ("pick 1x1 map", pick_case (&r, 1, 1, 3, -1.0f, 0, 0,
                 SAL_RANDOM));
  test_case ("pick k=0 writes nothing", pick_case (&r, 4, 4, 0, -1.0f, 0, 0,
                 SAL_RANDOM));
  test_case ("pick two objects and a plateau", pick_objects ());

  /* c, h, w, sal_h, sal_w, stride, pad, ph, pw, k, all_edges, off_grid */
  test_case ("patches stride 4 pad 2 8x8 off every edge",
             patches_case (&r, &(PatchCase) { 3, 28, 28, 7, 7, 4, 2, 8, 8, 12,
                           true, false }));
  test_case ("patches stride 2 pad 1 3x5 on 9x13, off every edge",
             patches_case (&r, &(PatchCase) { 2, 9, 13, 5, 7, 2, 1, 3, 5, 10,
                           true, false }));
  test_case ("patches stride 3 pad 0 5x6 off bottom/right only, C=1",
             patches_case (&r, &(PatchCase) { 1, 10, 11, 4, 4, 3, 0, 5, 6, 9,
                           false, false }));
  test_case ("patches wholly outside (pad 6 > 3x3 patch): all zeros",
             patches_case (&r, &(PatchCase) { 2, 4, 4, 4, 4, 1, 6, 3, 3, 8,
                           false, false }));
  test_case ("patches stride 1 pad 0 1x1",
             patches_case (&r, &(PatchCase) { 5, 6, 5, 6, 5, 1, 0, 1, 1, 6,
                           false, false }));
  test_case ("patches larger than the image",
             patches_case (&r, &(PatchCase) { 2, 3, 4, 2, 2, 2, 3, 9, 11, 4,
                           true, false }));
  test_case ("patches at indices off the grid: same formula, no stray access",
             patches_case (&r, &(PatchCase) { 2, 12, 12, 3, 3, 4, 1, 6, 6, 9,
                           false, true }));
  test_case ("patches k=0 writes nothing",
             patches_case (&r, &(PatchCase) { 2, 8, 8, 2, 2, 4, 0, 4, 4, 0,
                           false, false }));

  /* c, hw, k */
  test_case ("scatter C=3 HW=30 k=4", scatter_case (&r, 3, 30, 4));
  test_case ("scatter C=1 HW=196 k=196 (every column)",
             scatter_case (&r, 1, 196, 196));
  test_case ("scatter k=0 writes nothing", scatter_case (&r, 4, 9, 0));
  test_case ("scatter/extract round trips",
             round_trip_case (&r, 3, 6, 5, 7));

  test_case ("end to end: fine features replace coarse at top-k only",
             dcn_end_to_end (&r));
  return test_done ();
}
