/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mem.h — the large, long-lived buffers (a model's weights, a network's
 * arena, a batch's workspace) on 2 MB pages where the kernel allows it. */
#ifndef ATTN_MEM_H
#define ATTN_MEM_H

#include <stdbool.h>
#include <stddef.h>

/* bytes of memory, 64-byte aligned, zeroed if `zero`; NULL if there is no
 * room. From 1 MB up it is 2 MB aligned and asked for on huge pages
 * (madvise; a hint the kernel may ignore, as with transparent hugepages
 * set to "never"). Free with attn_mem_free. */
void *attn_mem_alloc (size_t bytes, bool zero);
void attn_mem_free (void *p);

#endif
