/* model.h — a model file (docs/model-format.md) turned into a validated,
 * ready-to-run description: BatchNorm folded, weights widened to float32.
 *
 * Loading reads the file once (mmapped), checks every field and tensor, and
 * copies the folded weights into one model-owned arena; the mapping is closed
 * afterwards. A model is immutable after load and refcounted, so several
 * networks (and threads) share one. Uses GLib/json-glib. */
#ifndef ATTN_MODEL_H
#define ATTN_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "conv.h"
#include "pool.h"

#define ATTN_MODEL_MAX_STAGES 4
#define ATTN_MODEL_MAX_BLOCKS 64       /* per stage */
#define ATTN_MODEL_MAX_WIDTH 8192
#define ATTN_MODEL_MAX_CLASSES 100000
#define ATTN_MODEL_MAX_INPUT 4096      /* preprocess width/height */
#define ATTN_MODEL_MAX_STN_LAYERS 32

typedef enum { ATTN_BLOCK_BASIC, ATTN_BLOCK_BOTTLENECK } AttnBlockType;
typedef enum { ATTN_GATE_NONE, ATTN_GATE_SE, ATTN_GATE_CBAM } AttnGateType;
typedef enum {
  ATTN_RESIZE_STRETCH,
  ATTN_RESIZE_LETTERBOX,
  ATTN_RESIZE_CENTER_CROP,
} AttnResize;

/* A convolution with BatchNorm folded: weight (C_out, C_in/g, kh, kw), bias. */
typedef struct {
  AttnConv2d p;
  const float *weight;
  const float *bias;     /* (C_out) */
} AttnConvLayer;

typedef struct {
  char name[32];         /* "layer{L}.{B}" */
  int c_in, c_out, stride;
  AttnConvLayer conv1, conv2, conv3; /* conv3: bottleneck only */
  bool has_down;
  AttnConvLayer down;
  AttnGateType gate;
  int hidden;            /* gate MLP width */
  const float *w1, *b1;  /* (hidden, C_out), (hidden) */
  const float *w2, *b2;  /* (C_out, hidden), (C_out) */
  const float *sp_w;     /* CBAM: (1,2,k,k) with the gate's BN folded */
  float sp_b;
  int sp_k;
} AttnBlock;

typedef enum {
  ATTN_STN_CONV, ATTN_STN_MAXPOOL, ATTN_STN_AVGPOOL, ATTN_STN_RELU,
  ATTN_STN_GAP, ATTN_STN_LINEAR,
} AttnStnLayerType;

typedef struct {
  AttnStnLayerType type;
  AttnConv2d conv;       /* conv */
  AttnPool2d pool;       /* max/avg pool */
  int in, out;           /* linear */
  const float *weight, *bias;
} AttnStnLayer;

typedef struct {
  int width, height;     /* network input size */
  bool bgr;              /* channel order of the input tensor */
  float mean[3], std[3], scale;
  AttnResize resize;
} AttnPreprocess;

typedef struct AttnModel {
  /* read-only after load */
  char *path;
  char *name;
  AttnBlockType block_type;
  AttnGateType gate;
  AttnConvLayer stem;
  bool has_stem_pool;
  AttnPool2d stem_pool;
  AttnBlock *blocks;
  int n_blocks;
  int c_last;
  const float *fc_w, *fc_b; /* (num_classes, c_last), (num_classes) */
  int num_classes;
  char **labels;         /* num_classes entries */
  AttnPreprocess pre;
  AttnStnLayer *stn;     /* NULL when the model has no STN */
  int n_stn;
  bool stn_align_corners;
  size_t n_params;       /* floats in the arena */
  /* private */
  float *arena;
  int refcount;
  char *cache_key;        /* set when held by the shared cache */
} AttnModel;

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
