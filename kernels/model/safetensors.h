/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* safetensors.h — read-only, validated, memory-mapped .safetensors files.
 *
 * Layout: u64 little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
 *  "__metadata__": {"key": "string value", ...}}, then the data section.
 * Everything is checked at open: header bounds, JSON shape, dtypes, that
 * every [begin, end) lies in the data section, that end − begin equals
 * dtype size × shape product without overflow, and that tensors do not
 * overlap. Uses GLib/json-glib (the loader side of kernels/). */
#ifndef ATTN_SAFETENSORS_H
#define ATTN_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define ATTN_ST_MAX_DIMS 8
/* Largest header accepted: a model with 10 k tensors needs ~1 MiB. */
#define ATTN_ST_MAX_HEADER (64u << 20)

typedef enum {
  ATTN_DTYPE_F32 = 0,
  ATTN_DTYPE_F16,
  ATTN_DTYPE_BF16,
  ATTN_DTYPE_I64,
  ATTN_DTYPE_I32,
  ATTN_DTYPE_U8,
} AttnDType;

typedef struct {
  const char *name;
  AttnDType dtype;
  int ndim;
  int64_t shape[ATTN_ST_MAX_DIMS];
  size_t numel;
  size_t nbytes;
  const void *data;          /* inside the mapping; may be unaligned */
} AttnTensorInfo;

typedef struct AttnSafetensors AttnSafetensors;

/* Opens and validates `path`. NULL on failure with a sentence in err
 * (naming the file and what is wrong). The caller owns the result. */
AttnSafetensors *attn_safetensors_open (const char *path, char *err,
                                        size_t errlen);
/* The same over a caller-owned byte range (kept alive by the caller); `what`
 * names it in messages. */
AttnSafetensors *attn_safetensors_open_bytes (const void *bytes, size_t len,
                                              const char *what, char *err,
                                              size_t errlen);
void attn_safetensors_close (AttnSafetensors *st);

size_t attn_safetensors_count (const AttnSafetensors *st);
const AttnTensorInfo *attn_safetensors_at (const AttnSafetensors *st, size_t i);
/* NULL if there is no tensor of that name. */
const AttnTensorInfo *attn_safetensors_find (const AttnSafetensors *st,
                                             const char *name);
/* A __metadata__ value, or NULL. */
const char *attn_safetensors_metadata (const AttnSafetensors *st,
                                       const char *key);
/* The path or name given at open. */
const char *attn_safetensors_source (const AttnSafetensors *st);

/* dst (numel) = t widened to float32 (F32, F16, BF16 only; else returns -1). */
int attn_tensor_to_f32 (float *dst, const AttnTensorInfo *t);
/* "F32", "F16", ... */
const char *attn_dtype_name (AttnDType dt);

#endif
