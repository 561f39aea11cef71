/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cpu.c — see cpu.h. */
#include "cpu.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(ATTN_HAVE_ISA_VARIANTS) && (defined(__x86_64__) || defined(__i386__)) \
    && (defined(__GNUC__) || defined(__clang__))
#define ATTN_CPUID 1
#include <cpuid.h>
#endif

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

/* AMD ("AuthenticAMD") family 19h: Zen 3 (no AVX-512) and Zen 4 */
static bool
half_width_fma (void)
{
#ifdef ATTN_CPUID
  unsigned a, b, c, d;
  if (!__get_cpuid (0, &a, &b, &c, &d)
      || b != 0x68747541u || d != 0x69746e65u || c != 0x444d4163u
      || !__get_cpuid (1, &a, &b, &c, &d))
    return false;
  unsigned family = (a >> 8) & 0xfu;
  if (family == 0xfu)
    family += (a >> 20) & 0xffu;
  return family == 0x19u;
#else
  return false;
#endif
}

/* -1: not decided yet; else 0 or 1: forced (ATTN_FMA, set_fma_half), or
 * 2: what the CPU reports, with the variant in use */
static atomic_int fma_half = -1;

bool
attn_cpu_fma_half (void)
{
  int h = atomic_load (&fma_half);
  if (h < 0) {
    const char *env = getenv ("ATTN_FMA");
    h = env && !strcmp (env, "half") ? 1 : env && !strcmp (env, "full") ? 0
        : half_width_fma () ? 2 : 0;
    int expected = -1;
    if (!atomic_compare_exchange_strong (&fma_half, &expected, h))
      h = expected;
  }
  return h == 2 ? attn_cpu_isa () == ATTN_ISA_AVX512 : h != 0;
}

bool
attn_cpu_set_fma_half (bool half)
{
  bool was = attn_cpu_fma_half ();
  atomic_store (&fma_half, half ? 1 : 0);
  return was;
}
