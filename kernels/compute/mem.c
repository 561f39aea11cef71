/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mem.c — see mem.h.
 *
 * A forward pass reads every weight once (47 MB for ResNet-18) and walks
 * an arena of as much again; on 4 KB pages that is a TLB miss every 4 KB,
 * and the GEMM's strided reads of B touch a new page on nearly every step
 * of k. With Debian's default of transparent hugepages on request
 * ("madvise"), nothing asked, so nothing was huge. */
#define _DEFAULT_SOURCE
#include "mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t) 2 << 20)
#define HUGE_FROM ((size_t) 1 << 20)

float *
attn_mem_floats (size_t n, bool zero)
{
  if (n > SIZE_MAX / sizeof (float))
    return NULL;
  size_t bytes = n ? n * sizeof (float) : 1;
  void *p = NULL;
  if (bytes < HUGE_FROM) {
    if (posix_memalign (&p, 64, bytes) != 0)
      return NULL;
  } else {
    /* whole huge pages, so that the last one is not shared with the heap */
    size_t whole = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    if (whole < bytes || posix_memalign (&p, HUGE_PAGE, whole) != 0)
      return NULL;
    (void) madvise (p, whole, MADV_HUGEPAGE);
  }
  if (zero)
    memset (p, 0, bytes);
  return p;
}

void
attn_mem_free (void *p)
{
  free (p);
}
