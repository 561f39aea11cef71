/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* preprocess-private.h — what preprocess.c shares with pre_run's loops in
 * preprocess_run.c, which the build compiles once per instruction set
 * (cpu.h): pre_run_generic, and on x86-64 also _avx2 and _avx512. */
#ifndef ATTN_PREPROCESS_PRIVATE_H
#define ATTN_PREPROCESS_PRIVATE_H

#include "preprocess.h"

#define MAX_SUB 4
/* pre_run splits the output rows into at most this many bands, one task
 * each over the process's thread budget, each with its own accumulator */
#define MAX_BANDS 8

void pre_run_generic (const PrePlan *p, const PreFormat *f,
                      const PreFrame *fr, float *out);
void pre_run_avx2 (const PrePlan *p, const PreFormat *f, const PreFrame *fr,
                   float *out);
void pre_run_avx512 (const PrePlan *p, const PreFormat *f,
                     const PreFrame *fr, float *out);

#endif
