/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* activation.c — relu, sigmoid, softmax. */
#include "activation.h"
#include "activation-private.h"
#include "cpu.h"

#include <math.h>

float
attn_sigmoidf (float x)
{
  float y;
  act_sigmoid_generic (&y, &x, 1);
  return y;
}

void
attn_relu (float *out, const float *in, size_t n)
{
  for (size_t i = 0; i < n; i++)
    out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

/* σ(x) = 1/(1+e^−x) for x ≥ 0, e^x/(1+e^x) otherwise (exp never
 * overflows), in the variant this CPU runs (activation_isa.c) */
void
attn_sigmoid (float *out, const float *in, size_t n)
{
  switch (attn_cpu_isa ()) {
#ifdef ATTN_HAVE_ISA_VARIANTS
    case ATTN_ISA_AVX512:
      act_sigmoid_avx512 (out, in, n);
      break;
    case ATTN_ISA_AVX2:
      act_sigmoid_avx2 (out, in, n);
      break;
#endif
    default:
      act_sigmoid_generic (out, in, n);
      break;
  }
}

void
attn_softmax (float *out, const float *in, size_t n)
{
  if (n == 0)
    return;
  float mx = in[0];
  for (size_t i = 1; i < n; i++)
    mx = in[i] > mx ? in[i] : mx;
  double sum = 0.0;
  for (size_t i = 0; i < n; i++) {
    out[i] = expf (in[i] - mx);
    sum += out[i];
  }
  float inv = (float) (1.0 / sum);
  for (size_t i = 0; i < n; i++)
    out[i] *= inv;
}

void
attn_activate (float *x, size_t n, AttnAct act)
{
  switch (act) {
    case ATTN_ACT_NONE:
      break;
    case ATTN_ACT_RELU:
      attn_relu (x, x, n);
      break;
    case ATTN_ACT_SIGMOID:
      attn_sigmoid (x, x, n);
      break;
  }
}
