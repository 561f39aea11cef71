/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_mem.c — the large buffers: alignment, zeroing, sizes that do not
 * fit, and the huge-page request the kernel records for the mapping. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "mem.h"

static bool
all_zero (const unsigned char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i])
      return false;
  return true;
}

/* Whether the mapping that holds p is marked for huge pages ("hg" among
 * its VmFlags in /proc/self/smaps): what madvise (MADV_HUGEPAGE) leaves,
 * whether or not the kernel found free huge pages for it. */
static bool
marked_huge (const void *p)
{
  FILE *f = fopen ("/proc/self/smaps", "r");
  if (!f)
    return false;
  char line[512];
  bool inside = false, hg = false;
  uintptr_t a = (uintptr_t) p;
  while (fgets (line, sizeof line, f)) {
    unsigned long lo, hi;
    if (sscanf (line, "%lx-%lx ", &lo, &hi) == 2 && strchr (line, '-')
        && line[0] != 'V') {
      inside = a >= lo && a < hi;
      continue;
    }
    if (inside && strncmp (line, "VmFlags:", 8) == 0) {
      hg = strstr (line, " hg") != NULL;
      break;
    }
  }
  fclose (f);
  return hg;
}

int
main (void)
{
  float *small = attn_mem_floats (25, true);
  test_case ("small: 64-byte aligned and zeroed",
             small && (uintptr_t) small % 64 == 0
             && all_zero ((unsigned char *) small, 25 * sizeof (float)));
  attn_mem_free (small);

  size_t big_n = (((size_t) 3 << 20) + 20) / sizeof (float);
  float *big = attn_mem_floats (big_n, true);
  bool ok = big && (uintptr_t) big % ((size_t) 2 << 20) == 0
      && all_zero ((unsigned char *) big, big_n * sizeof (float));
  if (big)                             /* every float asked for is there */
    memset (big, 0xab, big_n * sizeof (float));
  test_case ("3 MB: 2 MB aligned and zeroed", ok);

  FILE *thp = fopen ("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  if (thp) {
    fclose (thp);
    test_case ("3 MB: the mapping is marked for huge pages",
               big && marked_huge (big));
  } else {
    printf ("# no transparent hugepages in this kernel: mark not checked\n");
  }
  attn_mem_free (big);

  float *raw = attn_mem_floats (((size_t) 2 << 20) / sizeof (float), false);
  if (raw)
    raw[((size_t) 2 << 20) / sizeof (float) - 1] = 1.0f;
  test_case ("unzeroed 2 MB: allocated and writable", raw != NULL);
  attn_mem_free (raw);

  test_case ("more floats than a size_t counts bytes: NULL",
             attn_mem_floats (SIZE_MAX / sizeof (float) + 2, true) == NULL);
  test_case ("a size whose whole huge pages wrap: NULL",
             attn_mem_floats (SIZE_MAX / sizeof (float) - 10, false) == NULL);
  float *none = attn_mem_floats (0, true);
  test_case ("0 floats: a pointer to free", none != NULL);
  attn_mem_free (none);
  attn_mem_free (NULL);
  return test_done ();
}
