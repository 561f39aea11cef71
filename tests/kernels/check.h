/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check.h — the kernel tests' harness: deterministic random data, tolerance
 * comparison |got − ref| <= atol + rtol·|ref|, TAP output for meson, and
 * reading PyTorch goldens (tests/kernels/goldens/NAME.safetensors). */
#ifndef ATTN_TEST_CHECK_H
#define ATTN_TEST_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "safetensors.h"

/* xorshift64*: the same sequence on every machine. */
typedef struct {
  uint64_t s;
} Rng;

Rng rng_new (uint64_t seed);
float rng_uniform (Rng *r, float lo, float hi);
int rng_int (Rng *r, int lo, int hi); /* inclusive */
void fill_uniform (float *x, size_t n, Rng *r, float lo, float hi);

/* Allocates n floats (zeroed); aborts on OOM (tests only). */
float *test_alloc (size_t n);

/* Compares got with ref; on failure prints the first offending index, the
 * worst error and returns false. */
bool check_close (const char *what, const float *got, const float *ref,
                  size_t n, float atol, float rtol);
/* Largest |x| in x (n), at least 1: the "magnitude" goldens scale by. */
float max_abs (const float *x, size_t n);

/* TAP: one line per test case; test_done() prints the plan and returns the
 * process exit status (non-zero when any case failed). */
void test_case (const char *name, bool ok);
int test_done (void);

/* Goldens: opens DIR/NAME.safetensors (DIR from argv[1] or the
 * ATTN_GOLDEN_DIR environment variable); aborts with a message if missing. */
AttnSafetensors *golden_open (int argc, char **argv, const char *name);
/* A tensor of the golden as newly allocated float32; aborts if absent.
 * numel (may be NULL) receives the element count. */
float *golden_tensor (AttnSafetensors *st, const char *name, size_t *numel);
/* Shape dimension `dim` of tensor `name`. */
int golden_dim (AttnSafetensors *st, const char *name, int dim);
/* Integer / boolean / string parameter `key` of case `cs` (the metadata entry
 * named cs holds a JSON object of parameters). Aborts if absent. */
int golden_param_int (AttnSafetensors *st, const char *cs, const char *key);
double golden_param_double (AttnSafetensors *st, const char *cs,
                            const char *key);
bool golden_param_bool (AttnSafetensors *st, const char *cs, const char *key);
/* The parameter as a newly allocated string (g_free it). */
char *golden_param_string (AttnSafetensors *st, const char *cs,
                           const char *key);
/* The names of all cases (metadata keys other than "format" and
 * "generator*"), NULL-terminated; g_strfreev it. */
char **golden_cases (AttnSafetensors *st);

#endif
