/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_linear.c — attn_linear (sgemv for N=1, sgemm otherwise) against a
 * naive double-precision loop. */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "linear.h"

#define ATOL 1e-5f
#define RTOL 1e-4f

static bool
run (Rng *rng, int n, int k, int m, bool with_bias)
{
  float *in = test_alloc ((size_t) n * k), *w = test_alloc ((size_t) m * k);
  float *b = test_alloc (m), *ref = test_alloc ((size_t) n * m);
  float *got = test_alloc ((size_t) n * m);
  fill_uniform (in, (size_t) n * k, rng, -1, 1);
  fill_uniform (w, (size_t) m * k, rng, -1, 1);
  fill_uniform (b, m, rng, -1, 1);
  fill_uniform (got, (size_t) n * m, rng, 100, 200);  /* stale garbage */
  for (int i = 0; i < n; i++)
    for (int j = 0; j < m; j++) {
      double acc = with_bias ? b[j] : 0.0;
      for (int t = 0; t < k; t++)
        acc += (double) in[i * k + t] * w[j * k + t];
      ref[i * m + j] = (float) acc;
    }
  attn_linear (got, in, w, with_bias ? b : NULL, n, k, m);
  bool ok = check_close ("linear", got, ref, (size_t) n * m, ATOL, RTOL);
  free (in); free (w); free (b); free (ref); free (got);
  return ok;
}

int
main (int argc, char **argv)
{
  Rng rng = rng_new (3);
  static const int shapes[][3] = {
    { 1, 512, 1000 }, { 1, 2048, 6 }, { 1, 1, 1 }, { 1, 37, 3 },
    { 3, 64, 10 }, { 2, 13, 1 }, { 5, 1, 7 },
  };
  char name[96];
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
    for (int bias = 0; bias < 2; bias++) {
      snprintf (name, sizeof name, "linear N=%d K=%d M=%d%s", shapes[i][0],
                shapes[i][1], shapes[i][2], bias ? " + bias" : "");
      test_case (name, run (&rng, shapes[i][0], shapes[i][1], shapes[i][2],
                            bias));
    }
  return test_done ();
}
