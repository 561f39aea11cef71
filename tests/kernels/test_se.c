/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_se.c — the Squeeze-and-Excitation gate and reweighting against the
 * equations written out naively: s = σ(W2·relu(W1·mean_hw U + b1) + b2). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "se.h"

#define ATOL 1e-6f
#define RTOL 1e-5f

static bool
run (Rng *rng, int c, int hidden, int hw, bool with_bias)
{
  float *u = test_alloc ((size_t) c * hw), *id = test_alloc ((size_t) c * hw);
  float *w1 = test_alloc ((size_t) hidden * c), *b1 = test_alloc (hidden);
  float *w2 = test_alloc ((size_t) c * hidden), *b2 = test_alloc (c);
  float *s = test_alloc (c), *s_ref = test_alloc (c);
  float *work = test_alloc (attn_se_workspace (c, hidden));
  float *out = test_alloc ((size_t) c * hw), *ref = test_alloc ((size_t) c * hw);
  fill_uniform (u, (size_t) c * hw, rng, -1, 2);
  fill_uniform (id, (size_t) c * hw, rng, -1, 1);
  fill_uniform (w1, (size_t) hidden * c, rng, -1, 1);
  fill_uniform (w2, (size_t) c * hidden, rng, -1, 1);
  fill_uniform (b1, hidden, rng, -0.5f, 0.5f);
  fill_uniform (b2, c, rng, -0.5f, 0.5f);

  double *z = calloc (c, sizeof (double)), *hd = calloc (hidden, sizeof (double));
  for (int ci = 0; ci < c; ci++) {
    for (int i = 0; i < hw; i++)
      z[ci] += u[ci * hw + i];
    z[ci] /= hw;
  }
  for (int j = 0; j < hidden; j++) {
    double a = with_bias ? b1[j] : 0;
    for (int ci = 0; ci < c; ci++)
      a += (double) w1[j * c + ci] * z[ci];
    hd[j] = a > 0 ? a : 0;
  }
  for (int ci = 0; ci < c; ci++) {
    double a = with_bias ? b2[ci] : 0;
    for (int j = 0; j < hidden; j++)
      a += (double) w2[ci * hidden + j] * hd[j];
    s_ref[ci] = (float) (1 / (1 + exp (-a)));
  }
  for (int ci = 0; ci < c; ci++)
    for (int i = 0; i < hw; i++) {
      double v = (double) u[ci * hw + i] * s_ref[ci] + id[ci * hw + i];
      ref[ci * hw + i] = (float) (v > 0 ? v : 0);
    }

  attn_se_gate (s, u, w1, with_bias ? b1 : NULL, w2, with_bias ? b2 : NULL,
                work, c, hidden, hw);
  bool ok = check_close ("se gate", s, s_ref, c, ATOL, RTOL);
  attn_scale_channels (out, u, s, id, c, hw, ATTN_ACT_RELU);
  ok &= check_close ("se relu(U·s + identity)", out, ref, (size_t) c * hw,
                     ATOL, RTOL);
  /* in place, no identity, no activation */
  for (int ci = 0; ci < c; ci++)
    for (int i = 0; i < hw; i++)
      ref[ci * hw + i] = u[ci * hw + i] * s_ref[ci];
  attn_scale_channels (u, u, s, NULL, c, hw, ATTN_ACT_NONE);
  ok &= check_close ("se U·s in place", u, ref, (size_t) c * hw, ATOL, RTOL);
  free (u); free (id); free (w1); free (b1); free (w2); free (b2); free (s);
  free (s_ref); free (work); free (out); free (ref); free (z); free (hd);
  return ok;
}

int
main (int argc, char **argv)
{
  Rng rng = rng_new (5);
  static const int shapes[][3] = {
    { 64, 4, 56 * 56 }, { 256, 16, 49 }, { 24, 8, 1 }, { 3, 1, 35 },
    { 17, 5, 7 * 5 },
  };
  char name[96];
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
    for (int bias = 0; bias < 2; bias++) {
      snprintf (name, sizeof name, "se C=%d hidden=%d HW=%d%s", shapes[i][0],
                shapes[i][1], shapes[i][2], bias ? " with biases" : "");
      test_case (name, run (&rng, shapes[i][0], shapes[i][1], shapes[i][2],
                            bias));
    }
  return test_done ();
}
