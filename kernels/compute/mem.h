/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mem.h — the large, long-lived buffers (a model's weights, a network's
 * arena, a batch's workspace) on 2 MB pages where the kernel allows it. */
#ifndef ATTN_MEM_H
#define ATTN_MEM_H

#include <stdbool.h>
#include <stddef.h>

/* n floats, 64-byte aligned, zeroed if `zero`; NULL if there is no room
 * or n floats do not fit in a size_t (as calloc). From 1 MB up it is 2 MB
 * aligned and asked for on huge pages (madvise; a hint the kernel may
 * ignore, as with transparent hugepages set to "never"). Free with
 * attn_mem_free. */
float *attn_mem_floats (size_t n, bool zero);
void attn_mem_free (void *p);

#endif
