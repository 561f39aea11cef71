/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cpu.c — see cpu.h. */
#include "cpu.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static AttnIsa
detect (void)
{
#if defined(ATTN_HAVE_ISA_VARIANTS) && (defined(__x86_64__) || defined(__i386__)) \
    && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw")
      && __builtin_cpu_supports ("avx512vl")
      && __builtin_cpu_supports ("avx512dq"))
    return ATTN_ISA_AVX512;
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    return ATTN_ISA_AVX2;
#endif
  return ATTN_ISA_GENERIC;
}

/* -1: not decided yet */
static atomic_int best = -1, chosen = -1;

AttnIsa
attn_cpu_best (void)
{
  int b = atomic_load (&best);
  if (b < 0) {
    b = (int) detect ();
    atomic_store (&best, b);
  }
  return (AttnIsa) b;
}

AttnIsa
attn_cpu_isa (void)
{
  int c = atomic_load (&chosen);
  if (c >= 0)
    return (AttnIsa) c;
  AttnIsa isa = attn_cpu_best ();
  const char *env = getenv ("ATTN_ISA");
  for (int i = 0; env && i < ATTN_ISA_COUNT; i++)
    if (strcmp (env, attn_isa_name ((AttnIsa) i)) == 0 && i < (int) isa)
      isa = (AttnIsa) i;
  int expected = -1;
  /* the first caller's answer stands (an explicit set_isa wins over it) */
  if (!atomic_compare_exchange_strong (&chosen, &expected, (int) isa))
    isa = (AttnIsa) expected;
  return isa;
}

AttnIsa
attn_cpu_set_isa (AttnIsa isa)
{
  AttnIsa b = attn_cpu_best ();
  if ((int) isa < 0 || isa > b)
    isa = b;
  atomic_store (&chosen, (int) isa);
  return isa;
}

const char *
attn_isa_name (AttnIsa isa)
{
  switch (isa) {
    case ATTN_ISA_AVX2:
      return "avx2";
    case ATTN_ISA_AVX512:
      return "avx512";
    default:
      return "generic";
  }
}
