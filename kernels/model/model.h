/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* model.h — a model file (docs/model-format.md) turned into a validated,
 * ready-to-run description (model_desc.h): BatchNorm folded, weights
 * widened to float32.
 *
 * Loading reads the file once (mmapped), checks every field and tensor, and
 * copies the folded weights into one model-owned arena; the mapping is closed
 * afterwards. A model is immutable after load and refcounted, so several
 * networks (and threads) share one; a network borrows its model, so hold a
 * reference for as long as a network planned on it lives. Uses
 * GLib/json-glib. */
#ifndef ATTN_MODEL_H
#define ATTN_MODEL_H

#include "model_desc.h"

/* Loads and validates `path`; NULL with a sentence in err on any problem
 * (naming the file, the field or tensor, what was expected and found). */
AttnModel *attn_model_load (const char *path, char *err, size_t errlen);
/* The same from bytes in memory (`what` names them in messages). */
AttnModel *attn_model_load_bytes (const void *bytes, size_t len,
                                  const char *what, char *err, size_t errlen);
/* Loads through a process-wide cache: the same file (same device, inode,
 * size and mtime) opened twice returns the same model with its refcount
 * raised. Thread-safe. */
AttnModel *attn_model_open_shared (const char *path, char *err, size_t errlen);
AttnModel *attn_model_ref (AttnModel *m);
/* Drops a reference; frees (and leaves the cache) at zero. NULL is a no-op. */
void attn_model_unref (AttnModel *m);

#endif
