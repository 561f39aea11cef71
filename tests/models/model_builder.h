/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* model_builder.h — writes model files in memory for tests: a tiny ResNet of
 * any block type and attention with random weights, which a test can then
 * break in one precise way (drop a tensor, change a shape, poison a value,
 * rewrite a metadata field). */
#ifndef ATTN_TEST_MODEL_BUILDER_H
#define ATTN_TEST_MODEL_BUILDER_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct ModelBuilder ModelBuilder;

typedef struct {
  const char *block;        /* "basic" | "bottleneck" */
  const char *attention;    /* "none" | "se" | "cbam" */
  int n_stages;
  int layers[4];
  int widths[4];
  int stem_width;
  int num_classes;
  int hidden;               /* gate MLP width (reduction 0) */
  bool stride_1x1;
  bool cadene_pool;         /* stem pool 3/2 p0 ceil instead of 3/2 p1 */
  bool stn;                 /* a small STN front end (fixed input size) */
  int input;                /* preprocess width = height */
  uint64_t seed;
  int decoder;              /* 0 none; a decoder head: 1 GRU, additive,
                             * gated; 2 LSTM, dot product */
  int reduction;            /* > 0: each gate's MLP width is its block's
                             * channels / reduction (at least 1), as in
                             * the SE and CBAM papers' networks (16);
                             * 0: hidden for every gate */
} TinySpec;

/* A small default: basic blocks, CBAM, 2 stages, 3 classes, 32×32 input. */
TinySpec tiny_spec_default (void);

ModelBuilder *mb_new (void);
void mb_free (ModelBuilder *mb);
/* Sets (or with value NULL removes) a __metadata__ entry. */
void mb_meta (ModelBuilder *mb, const char *key, const char *value);
/* Adds or replaces an F32 tensor; data NULL: uniform random in [lo, hi]. */
void mb_tensor (ModelBuilder *mb, const char *name, int ndim,
                const int64_t *shape, const float *data, float lo, float hi);
void mb_remove (ModelBuilder *mb, const char *name);
/* Element `i` of tensor `name` set to v (e.g. NAN). */
void mb_poke (ModelBuilder *mb, const char *name, size_t i, float v);
/* Adds every tensor and metadata entry of a tiny model per spec. */
void mb_tiny (ModelBuilder *mb, const TinySpec *spec);
/* The file's bytes. */
GBytes *mb_bytes (ModelBuilder *mb);
/* Writes the file to a new temporary path (g_free it; unlink when done). */
char *mb_write_tmp (ModelBuilder *mb);
/* pre, then `n` copies of unit, then post (g_free it): deep or long JSON. */
char *mb_repeat (const char *pre, const char *unit, int n, const char *post);

#endif
