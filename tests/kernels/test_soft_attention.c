/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_soft_attention.c — additive (Bahdanau) and scaled dot-product
 * attention against naive double-precision loops on awkward sizes (L=1,
 * L=196, D=13/37, Da=1, Lq≠Lk, Dv≠D); every α row is a distribution; scores
 * of ~1e3 (where a softmax without the max shift overflows expf) stay finite.
 * Outputs and workspace are filled with NaN first, so a kernel that reads
 * them, or leaves part of them unwritten, fails. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "soft_attention.h"

/* single-precision BLAS sums of up to a few hundred terms vs a double loop */
#define ATOL 1e-5f
#define RTOL 1e-4f
/* scores ~1e3 carry float32 rounding of ~1e3·2⁻²⁴·√terms ≈ 1e-4 absolute;
 * softmax turns an absolute error δ of the scores into a relative error ~δ of
 * α, and the context inherits ~δ·max|a| */
#define ATOL_LARGE 1e-4f
#define RTOL_LARGE 2e-3f
/* Σα = 1: float α summed in double, L·2⁻²⁴ at worst */
#define SUM_TOL 1e-5

/* scores this large overflow expf (> 88.7) unless the max is subtracted */
#define LARGE_SCORE 1e3
/* ... and, in the NEAR cases, no α row is (almost) one-hot */
#define NEAR_PEAK 0.9f

static void
fill_nan (float *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    x[i] = NAN;
}

/* x (n) = softmax(x), double, max-shifted */
static void
softmax_d (double *x, int n)
{
  double m = -INFINITY, s = 0;
  for (int i = 0; i < n; i++)
    m = fmax (m, x[i]);
  for (int i = 0; i < n; i++)
    s += x[i] = exp (x[i] - m);
  for (int i = 0; i < n; i++)
    x[i] /= s;
}

/* the largest entry of x (rows,n) */
static float
max_entry (const float *x, int rows, int n)
{
  float m = -INFINITY;
  for (size_t i = 0; i < (size_t) rows * n; i++)
    m = x[i] > m ? x[i] : m;
  return m;
}

/* every row of alpha (rows,n) is >= 0 and sums to 1 within SUM_TOL */
static bool
is_distribution (const char *what, const float *alpha, int rows, int n)
{
  for (int r = 0; r < rows; r++) {
    double sum = 0;
    for (int i = 0; i < n; i++) {
      float x = alpha[(size_t) r * n + i];
      if (!(x >= 0.0f)) {
        printf ("# %s: row %d entry %d = %g is not >= 0\n", what, r, i, x);
        return false;
      }
      sum += x;
    }
    if (!(fabs (sum - 1.0) <= SUM_TOL)) {
      printf ("# %s: row %d sums to %.9g, not 1 (tol %g)\n", what, r, sum,
              SUM_TOL);
      return false;
    }
  }
  return true;
}

/* the naive additive attention: e_i = Σ_j v_j tanh(Σ_t Wa[j,t] a[i,t] +
 * Σ_t Wh[j,t] h[t] + b_j), α = softmax(e), ctx_t = Σ_i α_i a[i,t].
 * *emax receives max |e_i|. */
static void
additive_ref (float *cref, float *aref, double *emax, const float *a,
              const float *h, const float *wa, const float *wh, const float *b,
              const float *v, int l, int d, int dh, int da)
{
  double *e = calloc ((size_t) l, sizeof (double));
  *emax = 0;
  for (int i = 0; i < l; i++) {
    for (int j = 0; j < da; j++) {
      double s = b ? b[j] : 0.0;
      for (int t = 0; t < d; t++)
        s += (double) wa[(size_t) j * d + t] * a[(size_t) i * d + t];
      for (int t = 0; t < dh; t++)
        s += (double) wh[(size_t) j * dh + t] * h[t];
      e[i] += v[j] * tanh (s);
    }
    *emax = fmax (*emax, fabs (e[i]));
  }
  softmax_d (e, l);
  for (int i = 0; i < l; i++)
    aref[i] = (float) e[i];
  for (int t = 0; t < d; t++) {
    double s = 0;
    for (int i = 0; i < l; i++)
      s += e[i] * a[(size_t) i * d + t];
    cref[t] = (float) s;
  }
  free (e);
}

/* How the scores are made:
 * UNIT   |e| ≲ a few: a spread-out α;
 * SPREAD |e| ~ 1e3 with gaps of ~100: α one-hot, and no NaN;
 * NEAR   e ~ 1e3 ± a few: expf(e) alone overflows, yet several α are far
 *        from 0 and 1 — the case that tests the max shift's accuracy. */
typedef enum { UNIT, SPREAD, NEAR } Scores;

static bool
additive (Rng *r, int l, int d, int dh, int da, bool bias, Scores sc)
{
  float *a = test_alloc ((size_t) l * d), *h = test_alloc (dh);
  float *wa = test_alloc ((size_t) da * d), *wh = test_alloc ((size_t) da * dh);
  float *b = bias ? test_alloc (da) : NULL, *v = test_alloc (da);
  fill_uniform (a, (size_t) l * d, r, -1, 1);
  fill_uniform (h, dh, r, -1, 1);
  if (sc == NEAR) {
    /* tanh(b_j) ≈ ±0.5 with the sign of v_j: e_i ≈ Σ|v_j|/2 ≈ 1.1e3 for every
     * i; the small Wa a_i moves each e_i by a few units */
    for (int j = 0; j < da; j++) {
      float sign = rng_int (r, 0, 1) ? 1.0f : -1.0f;
      v[j] = sign * rng_uniform (r, 50, 90);
      b[j] = sign * 0.55f;
    }
    fill_uniform (wa, (size_t) da * d, r, -0.01f, 0.01f);
    fill_uniform (wh, (size_t) da * dh, r, -0.01f, 0.01f);
  } else {
    float vs = sc == SPREAD ? 600.0f : 1.0f;
    fill_uniform (wa, (size_t) da * d, r, -0.3f, 0.3f);
    fill_uniform (wh, (size_t) da * dh, r, -0.3f, 0.3f);
    if (b)
      fill_uniform (b, da, r, -0.5f, 0.5f);
    fill_uniform (v, da, r, -vs, vs);
  }
  bool large = sc != UNIT;

  float *aref = test_alloc (l), *cref = test_alloc (d);
  double emax;
  additive_ref (cref, aref, &emax, a, h, wa, wh, b, v, l, d, dh, da);

  size_t nwork = attn_additive_attention_workspace (l, da);
  float *ctx = test_alloc (d), *alpha = test_alloc (l);
  float *work = test_alloc (nwork);
  fill_nan (ctx, d);
  fill_nan (alpha, l);
  fill_nan (work, nwork);
  attn_additive_attention (ctx, alpha, a, h, wa, wh, b, v, work, l, d, dh, da);

  float at = large ? ATOL_LARGE : ATOL, rt = large ? RTOL_LARGE : RTOL;
  bool ok = check_close ("alpha", alpha, aref, l, at, rt);
  ok = check_close ("context", ctx, cref, d, at, rt) && ok;
  ok = is_distribution ("alpha", alpha, 1, l) && ok;
  if (large && !(emax >= LARGE_SCORE)) {
    printf ("# test setup: max |e| = %g, wanted >= %g\n", emax, LARGE_SCORE);
    ok = false;
  }
  if (sc == NEAR && !(max_entry (aref, 1, l) <= NEAR_PEAK)) {
    printf ("# test setup: alpha peaks at %g, wanted <= %g\n",
            max_entry (aref, 1, l), NEAR_PEAK);
    ok = false;
  }
  free (a); free (h); free (wa); free (wh); free (b); free (v);
  free (aref); free (cref); free (ctx); free (alpha); free (work);
  return ok;
}

/* the naive scaled dot-product: s_ij = Σ_t q[i,t] k[j,t] / √D, α_i =
 * softmax(s_i), out[i,t] = Σ_j α_ij val[j,t]. *smax receives max |s_ij|. */
static void
sdp_ref (float *oref, float *aref, double *smax, const float *q,
         const float *k, const float *val, int lq, int lk, int d, int dv)
{
  double *row = calloc ((size_t) lk, sizeof (double));
  *smax = 0;
  for (int i = 0; i < lq; i++) {
    for (int j = 0; j < lk; j++) {
      double s = 0;
      for (int t = 0; t < d; t++)
        s += (double) q[(size_t) i * d + t] * k[(size_t) j * d + t];
      row[j] = s / sqrt ((double) d);
      *smax = fmax (*smax, fabs (row[j]));
    }
    softmax_d (row, lk);
    for (int j = 0; j < lk; j++)
      aref[(size_t) i * lk + j] = (float) row[j];
    for (int t = 0; t < dv; t++) {
      double s = 0;
      for (int j = 0; j < lk; j++)
        s += row[j] * val[(size_t) j * dv + t];
      oref[(size_t) i * dv + t] = (float) s;
    }
  }
  free (row);
}

static bool
sdp (Rng *r, int lq, int lk, int d, int dv, Scores sc)
{
  float *q = test_alloc ((size_t) lq * d), *k = test_alloc ((size_t) lk * d);
  float *val = test_alloc ((size_t) lk * dv);
  if (sc == NEAR) {
    /* k_j = u + 0.005·noise, q_i = 900·u + noise: s ≈ 900|u|²/√D ≈ 1.2e3
     * for every pair, differing by a few units */
    float *u = test_alloc (d);
    fill_uniform (u, d, r, -1, 1);
    for (int i = 0; i < lq; i++)
      for (int t = 0; t < d; t++)
        q[(size_t) i * d + t] = 900.0f * u[t] + rng_uniform (r, -1, 1);
    for (int j = 0; j < lk; j++)
      for (int t = 0; t < d; t++)
        k[(size_t) j * d + t] = u[t] + rng_uniform (r, -0.005f, 0.005f);
    free (u);
  } else {
    /* uniform in ±s: |score| ~ s²·√D/3 */
    float s = sc == SPREAD ? 50.0f : 1.0f;
    fill_uniform (q, (size_t) lq * d, r, -s, s);
    fill_uniform (k, (size_t) lk * d, r, -s, s);
  }
  fill_uniform (val, (size_t) lk * dv, r, -1, 1);
  bool large = sc != UNIT;

  float *aref = test_alloc ((size_t) lq * lk);
  float *oref = test_alloc ((size_t) lq * dv);
  double smax;
  sdp_ref (oref, aref, &smax, q, k, val, lq, lk, d, dv);

  float *alpha = test_alloc ((size_t) lq * lk);
  float *out = test_alloc ((size_t) lq * dv);
  fill_nan (alpha, (size_t) lq * lk);
  fill_nan (out, (size_t) lq * dv);
  attn_sdp_attention (out, alpha, q, k, val, lq, lk, d, dv);

  float at = large ? ATOL_LARGE : ATOL, rt = large ? RTOL_LARGE : RTOL;
  bool ok = check_close ("alpha", alpha, aref, (size_t) lq * lk, at, rt);
  ok = check_close ("out", out, oref, (size_t) lq * dv, at, rt) && ok;
  ok = is_distribution ("alpha", alpha, lq, lk) && ok;
  if (large && !(smax >= LARGE_SCORE)) {
    printf ("# test setup: max |score| = %g, wanted >= %g\n", smax,
            LARGE_SCORE);
    ok = false;
  }
  if (sc == NEAR && !(max_entry (aref, lq, lk) <= NEAR_PEAK)) {
    printf ("# test setup: an alpha row peaks at %g, wanted <= %g\n",
            max_entry (aref, lq, lk), NEAR_PEAK);
    ok = false;
  }
  free (q); free (k); free (val); free (aref); free (oref);
  free (alpha); free (out);
  return ok;
}

int
main (int argc, char **argv)
{
  Rng r = rng_new (29);
  /* l, d, dh, da, bias, scores */
  test_case ("additive L=196 (14x14) D=37 Dh=13 Da=16",
             additive (&r, 196, 37, 13, 16, true, UNIT));
  test_case ("additive L=1 (alpha = 1, ctx = a_0)",
             additive (&r, 1, 8, 5, 7, true, UNIT));
  test_case ("additive Da=1", additive (&r, 10, 3, 2, 1, true, UNIT));
  test_case ("additive D=13 Dh=1 Da=33",
             additive (&r, 49, 13, 1, 33, true, UNIT));
  test_case ("additive without bias (b = NULL)",
             additive (&r, 196, 37, 20, 24, false, UNIT));
  test_case ("additive scores ~1e3 apart: one-hot, finite",
             additive (&r, 50, 16, 8, 32, true, SPREAD));
  test_case ("additive scores 1e3 ± few: finite and accurate",
             additive (&r, 196, 16, 8, 32, true, NEAR));
  /* lq, lk, d, dv, scores */
  test_case ("sdp 196x196 D=64", sdp (&r, 196, 196, 64, 64, UNIT));
  test_case ("sdp Lq≠Lk Dv≠D (3x11, D=13, Dv=5)",
             sdp (&r, 3, 11, 13, 5, UNIT));
  test_case ("sdp Lk=1 (alpha = 1)", sdp (&r, 4, 1, 8, 3, UNIT));
  test_case ("sdp Lq=1 Lk=196 D=37 Dv=1", sdp (&r, 1, 196, 37, 1, UNIT));
  test_case ("sdp scores ~1e3 apart: one-hot, finite",
             sdp (&r, 5, 9, 16, 4, SPREAD));
  test_case ("sdp scores 1e3 ± few: finite and accurate",
             sdp (&r, 7, 50, 16, 6, NEAR));
  return test_done ();
}
