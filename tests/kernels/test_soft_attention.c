/* test_soft_attention.c — additive (Bahdanau) and scaled dot-product
 * attention against naive double-precision loops; α is a distribution; large
 * scores do not overflow. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "soft_attention.h"

#define ATOL 1e-5f
#define RTOL 1e-4f

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

static bool
additive (Rng *r, int l, int d, int dh, int da, float scale)
{
  float *a = test_alloc ((size_t) l * d), *h = test_alloc (dh);
  float *wa = test_alloc ((size_t) da * d), *wh = test_alloc ((size_t) da * dh);
  float *b = test_alloc (da), *v = test_alloc (da);
  fill_uniform (a, (size_t) l * d, r, -1, 1);
  fill_uniform (h, dh, r, -1, 1);
  fill_uniform (wa, (size_t) da * d, r, -0.3f, 0.3f);
  fill_uniform (wh, (size_t) da * dh, r, -0.3f, 0.3f);
  fill_uniform (b, da, r, -0.1f, 0.1f);
  fill_uniform (v, da, r, -scale, scale);
  double *e = calloc (l, sizeof (double));
  for (int i = 0; i < l; i++)
    for (int j = 0; j < da; j++) {
      double s = b[j];
      for (int t = 0; t < d; t++)
        s += (double) wa[j * d + t] * a[i * d + t];
      for (int t = 0; t < dh; t++)
        s += (double) wh[j * dh + t] * h[t];
      e[i] += v[j] * tanh (s);
    }
  softmax_d (e, l);
  float *aref = test_alloc (l), *cref = test_alloc (d);
  for (int i = 0; i < l; i++)
    aref[i] = (float) e[i];
  for (int t = 0; t < d; t++) {
    double s = 0;
    for (int i = 0; i < l; i++)
      s += e[i] * a[i * d + t];
    cref[t] = (float) s;
  }
  float *ctx = test_alloc (d), *alpha = test_alloc (l);
  float *work = test_alloc (attn_additive_attention_workspace (l, da));
  attn_additive_attention (ctx, alpha, a, h, wa, wh, b, v, work, l, d, dh, da);
  bool ok = check_close ("alpha", alpha, aref, l, ATOL, RTOL)
      && check_close ("context", ctx, cref, d, ATOL, RTOL);
  double sum = 0;
  for (int i = 0; i < l; i++) {
    ok &= alpha[i] >= 0;
    sum += alpha[i];
  }
  ok &= fabs (sum - 1) < 1e-5;
  free (a); free (h); free (wa); free (wh); free (b); free (v); free (e);
  free (aref); free (cref); free (ctx); free (alpha); free (work);
  return ok;
}

static bool
sdp (Rng *r, int lq, int lk, int d, int dv, float scale)
{
  float *q = test_alloc ((size_t) lq * d), *k = test_alloc ((size_t) lk * d);
  float *v = test_alloc ((size_t) lk * dv);
  fill_uniform (q, (size_t) lq * d, r, -scale, scale);
  fill_uniform (k, (size_t) lk * d, r, -scale, scale);
  fill_uniform (v, (size_t) lk * dv, r, -1, 1);
  float *aref = test_alloc ((size_t) lq * lk), *oref = test_alloc ((size_t) lq * dv);
  double *row = calloc (lk, sizeof (double));
  for (int i = 0; i < lq; i++) {
    for (int j = 0; j < lk; j++) {
      double s = 0;
      for (int t = 0; t < d; t++)
        s += (double) q[i * d + t] * k[j * d + t];
      row[j] = s / sqrt (d);
    }
    softmax_d (row, lk);
    for (int j = 0; j < lk; j++)
      aref[i * lk + j] = (float) row[j];
    for (int t = 0; t < dv; t++) {
      double s = 0;
      for (int j = 0; j < lk; j++)
        s += row[j] * v[j * dv + t];
      oref[i * dv + t] = (float) s;
    }
  }
  float *alpha = test_alloc ((size_t) lq * lk), *out = test_alloc ((size_t) lq * dv);
  attn_sdp_attention (out, alpha, q, k, v, lq, lk, d, dv);
  /* with scores ~1e3 the float32 logits carry ~1e-4 absolute error, which
   * exp() turns into relative error of the same order */
  float at = scale > 10 ? 2e-3f : ATOL;
  bool ok = check_close ("alpha", alpha, aref, (size_t) lq * lk, at, RTOL)
      && check_close ("out", out, oref, (size_t) lq * dv, at, RTOL);
  for (size_t i = 0; i < (size_t) lq * dv; i++)
    ok &= isfinite (out[i]);
  free (q); free (k); free (v); free (aref); free (oref); free (row);
  free (alpha); free (out);
  return ok;
}

int
main (int argc, char **argv)
{
  Rng r = rng_new (29);
  test_case ("additive L=196 D=37 Dh=13 Da=16", additive (&r, 196, 37, 13, 16, 1));
  test_case ("additive L=1", additive (&r, 1, 8, 5, 7, 1));
  test_case ("additive Da=1", additive (&r, 10, 3, 2, 1, 1));
  test_case ("additive large scores", additive (&r, 50, 16, 8, 32, 200));
  test_case ("sdp 196x196 D=64", sdp (&r, 196, 196, 64, 64, 1));
  test_case ("sdp Lq≠Lk Dv≠D", sdp (&r, 3, 11, 13, 5, 1));
  test_case ("sdp Lk=1", sdp (&r, 4, 1, 8, 3, 1));
  test_case ("sdp scores ~1e3 stay finite", sdp (&r, 5, 9, 16, 4, 40));
  return test_done ();
}
