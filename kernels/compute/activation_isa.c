/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* activation_isa.c — the sigmoid over an array, compiled once per
 * instruction set (ACT_ISA = generic | avx2 | avx512, with the flags of
 * kernels/meson.build); activation.c calls the one attn_cpu_isa() names.
 *
 * A gate's sigmoids (CBAM's channel and spatial maps, SE's channel map:
 * ~29 000 a ResNet-50-CBAM forward) went through libm's expf one at a time
 * behind a branch on the sign, ~5 ns each. Here e^(−|x|) is computed
 * without a branch or a call, so the loop vectorises: 2^k · p(r) with
 * k = round(−|x|·log2 e), r = −|x| − k·ln 2 in two parts (Cody–Waite),
 * and p the degree-7 Taylor polynomial of e^r (|r| ≤ ln 2 / 2: truncation
 * below 1e-8 relative). */
#include "activation-private.h"

#include <stdint.h>
#include <string.h>

#ifndef ACT_ISA
#define ACT_ISA generic
#endif
#define ACT_CAT2(a, b) a (b)
#define ACT_CAT(a, b) ACT_CAT2 (a, b)

/* −|x| is clamped here: e^−87 ≈ 1.6e-38 still has a normal exponent
 * (k ≥ −126), and σ below it is 0 to any tolerance */
#define EXP_FLOOR -87.0f
/* 1.5 · 2^23: adding and subtracting it rounds a float of magnitude below
 * 2^22 to the nearest integer */
#define ROUNDER 12582912.0f
#define LOG2E 1.44269504088896341f
#define LN2_HI 0.693359375f     /* few bits: k · LN2_HI is exact */
#define LN2_LO -2.12194440e-4f

ACT_CAT (ACT_SIGMOID, ACT_ISA)
{
  for (size_t i = 0; i < n; i++) {
    float x = in[i];
    float a = x < 0.0f ? x : -x;        /* −|x| */
    a = a > EXP_FLOOR ? a : EXP_FLOOR;  /* NaN becomes the floor: below */
    float k = (a * LOG2E + ROUNDER) - ROUNDER;
    float r = (a - k * LN2_HI) - k * LN2_LO;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t) k + 127) * (1 << 23);     /* 2^k */
    float scale;
    memcpy (&scale, &bits, sizeof scale);
    float e = p * scale;                /* e^−|x|, in (0, 1] */
    float d = 1.0f + e;
    float s = (x >= 0.0f ? 1.0f : e) / d;       /* one division */
    out[i] = x == x ? s : x;
  }
}
