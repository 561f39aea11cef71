/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* json_guard.h — a bounded pre-scan run on every JSON document the loader
 * reads, before json-glib sees it.
 *
 * json-glib's parser recurses once per nesting level and keeps the last of
 * duplicate keys silently, so a hostile model file can exhaust the stack or
 * make two readers disagree. attn_json_guard walks the bytes once, without
 * recursion and without building a tree, and refuses: more than max_bytes,
 * a NUL byte, invalid UTF-8, nesting deeper than ATTN_JSON_MAX_DEPTH, a
 * string longer than max_string, a key longer than ATTN_JSON_MAX_KEY, a
 * container with more than ATTN_JSON_MAX_ENTRIES entries, more than
 * ATTN_JSON_MAX_VALUES values in all, a key that appears twice in one object,
 * a \u0000 escape, a lone UTF-16 surrogate, an integer outside int64 and a
 * number that is not finite as a double (1e999). Plain syntax errors are left
 * to json-glib, which reports them with a position. Uses GLib (the loader
 * side of kernels/). */
#ifndef ATTN_JSON_GUARD_H
#define ATTN_JSON_GUARD_H

#include <stdbool.h>
#include <stddef.h>

/* Real models nest 4 levels (architecture.stn.layers[i]). */
#define ATTN_JSON_MAX_DEPTH 64
/* Tensor names and metadata keys are tens of bytes. */
#define ATTN_JSON_MAX_KEY 1024
/* Per array or object: ≥ ATTN_MODEL_MAX_CLASSES labels, and ten times the
 * tensors of the largest architecture the loader accepts (~7,500). */
#define ATTN_JSON_MAX_ENTRIES 131072
/* Per document: a 10,000-tensor header holds ~150,000 values. */
#define ATTN_JSON_MAX_VALUES (1u << 20)
/* The longest number token (digits of a double rarely pass 25). */
#define ATTN_JSON_MAX_NUMBER 256

typedef struct {
  size_t max_bytes;     /* the whole document */
  size_t max_string;    /* one string value, in bytes as written */
} AttnJsonLimits;

/* The safetensors header (as large as ATTN_ST_MAX_HEADER): its __metadata__
 * values hold whole documents, escaped. */
#define ATTN_JSON_LIMITS_HEADER ((AttnJsonLimits) { 64u << 20, 16u << 20 })
/* A __metadata__ document (architecture, preprocess, labels): 100,000
 * labels fit in a few MiB; one label or field value in a few KiB. */
#define ATTN_JSON_LIMITS_METADATA ((AttnJsonLimits) { 8u << 20, 4096 })

/* true if json[0..len) is within `lim` (see above); else false with a
 * sentence in err naming the problem and its byte offset (no prefix: the
 * caller says which document). Allocates only transient key sets. */
bool attn_json_guard (const char *json, size_t len, AttnJsonLimits lim,
                      char *err, size_t errlen);

#endif
