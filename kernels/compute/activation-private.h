/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* activation-private.h — the per-instruction-set loops of activation_isa.c,
 * for activation.c (which chooses between them at run time) only. */
#ifndef ATTN_ACTIVATION_PRIVATE_H
#define ATTN_ACTIVATION_PRIVATE_H

#include <stddef.h>

/* out (n) = σ(in), in place allowed; every variant gives the same floats
 * (the same operations in the same order, none fused) */
#define ACT_SIGMOID_ARGS (float *out, const float *in, size_t n)
#define ACT_SIGMOID(isa) void act_sigmoid_##isa ACT_SIGMOID_ARGS

ACT_SIGMOID (generic);
#ifdef ATTN_HAVE_ISA_VARIANTS
ACT_SIGMOID (avx2);
ACT_SIGMOID (avx512);
#endif

#endif
