/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_activation.c — relu, sigmoid, softmax against their definitions,
 * including the extremes where naive formulas overflow. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activation.h"
#include "check.h"
#include "cpu.h"

int
main (int argc, char **argv)
{
  Rng rng = rng_new (11);
  enum { N = 1001 };
  float x[N], got[N], ref[N];
  fill_uniform (x, N, &rng, -20, 20);
  x[0] = 0; x[1] = -0.0f; x[2] = 1e30f; x[3] = -1e30f; x[4] = 88.8f;
  x[5] = -104.0f;

  for (int i = 0; i < N; i++)
    ref[i] = x[i] > 0 ? x[i] : 0;
  attn_relu (got, x, N);
  test_case ("relu", check_close ("relu", got, ref, N, 0, 0));

  for (int i = 0; i < N; i++)
    ref[i] = (float) (1.0 / (1.0 + exp (-(double) x[i])));
  /* every instruction set's loop (an odd count: a vector tail too), each
   * against the definition and all alike to the bit */
  float first[N];
  AttnIsa best = attn_cpu_best ();
  for (int isa = ATTN_ISA_GENERIC; isa <= (int) best; isa++) {
    char name[96];
    attn_cpu_set_isa ((AttnIsa) isa);
    attn_sigmoid (got, x, N);
    bool finite = true;
    for (int i = 0; i < N; i++)
      finite &= isfinite (got[i]) && got[i] >= 0 && got[i] <= 1;
    snprintf (name, sizeof name, "sigmoid matches 1/(1+e^-x) (%s)",
              attn_isa_name ((AttnIsa) isa));
    test_case (name, check_close ("sigmoid", got, ref, N, 1e-7f, 1e-6f));
    snprintf (name, sizeof name,
              "sigmoid stays in [0,1] and finite at ±1e30 (%s)",
              attn_isa_name ((AttnIsa) isa));
    test_case (name, finite);
    if (isa == ATTN_ISA_GENERIC)
      memcpy (first, got, sizeof got);
    snprintf (name, sizeof name, "sigmoid: %s gives generic's floats",
              attn_isa_name ((AttnIsa) isa));
    test_case (name, memcmp (first, got, sizeof got) == 0);
    /* in place, NaN kept, and the scalar form agrees */
    float z[5] = { NAN, INFINITY, -INFINITY, 0.25f, -0.25f };
    float zr[5] = { NAN, 1.0f, 0.0f, attn_sigmoidf (0.25f),
      attn_sigmoidf (-0.25f)
    };
    attn_sigmoid (z, z, 5);
    snprintf (name, sizeof name, "sigmoid in place: NaN stays NaN, "
              "±inf → 1 and ~0, as attn_sigmoidf (%s)",
              attn_isa_name ((AttnIsa) isa));
    test_case (name, isnan (z[0]) && z[1] == zr[1] && z[2] < 1e-37f
               && z[3] == zr[3] && z[4] == zr[4]);
  }
  attn_cpu_set_isa (best);
  /* a dense sweep of [-100, 100]: the range reduction's every k */
  enum { SWEEP = 200001 };
  float *sx = malloc (sizeof (float) * SWEEP);
  float *sy = malloc (sizeof (float) * SWEEP);
  double worst = 0;
  for (int i = 0; i < SWEEP; i++)
    sx[i] = -100.0f + (float) i * 0.001f;
  attn_sigmoid (sy, sx, SWEEP);
  for (int i = 0; i < SWEEP; i++) {
    double r = 1.0 / (1.0 + exp (-(double) sx[i]));
    double e = r > 1e-36 ? fabs (sy[i] - r) / r : fabs (sy[i] - r);
    worst = e > worst ? e : worst;
  }
  printf ("# sigmoid over [-100, 100]: worst relative error %.3g\n", worst);
  test_case ("sigmoid over [-100, 100] within 1e-6 relative", worst < 1e-6);
  free (sx);
  free (sy);

  /* softmax: in place, with a huge shift that overflows exp() naively */
  for (int i = 0; i < N; i++)
    got[i] = x[i] = rng_uniform (&rng, -5, 5) + 1000.0f;
  double mx = -INFINITY, sum = 0;
  for (int i = 0; i < N; i++)
    mx = fmax (mx, x[i]);
  for (int i = 0; i < N; i++)
    sum += exp ((double) x[i] - mx);
  for (int i = 0; i < N; i++)
    ref[i] = (float) (exp ((double) x[i] - mx) / sum);
  attn_softmax (got, got, N);
  double total = 0;
  for (int i = 0; i < N; i++)
    total += got[i];
  test_case ("softmax in place, shifted by 1000",
             check_close ("softmax", got, ref, N, 1e-8f, 1e-5f));
  test_case ("softmax sums to 1", fabs (total - 1.0) < 1e-5);

  float one = 3.0f;
  attn_softmax (&one, &one, 1);
  test_case ("softmax of one value is 1", one == 1.0f);

  float y[3] = { -1, 0, 2 };
  attn_activate (y, 3, ATTN_ACT_RELU);
  bool ok = y[0] == 0 && y[1] == 0 && y[2] == 2;
  attn_activate (y, 3, ATTN_ACT_SIGMOID);
  ok &= y[0] == 0.5f && fabsf (y[2] - 0.880797f) < 1e-6f;
  attn_activate (y, 3, ATTN_ACT_NONE);
  ok &= y[0] == 0.5f;
  test_case ("attn_activate dispatches relu, sigmoid, none", ok);
  return test_done ();
}
