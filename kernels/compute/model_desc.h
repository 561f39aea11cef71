/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* model_desc.h — a model as the forward pass sees it: the architecture,
 * BatchNorm folded into the convolutions, float32 weights, labels and
 * preprocessing. Plain C: the loader (kernels/model/, GLib + json-glib)
 * fills it from a file; the forward pass (network.c) only reads it. */
#ifndef ATTN_MODEL_DESC_H
#define ATTN_MODEL_DESC_H

#include <stdbool.h>
#include <stddef.h>

#include "conv.h"
#include "decoder.h"
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
  AttnDecoder *decoder;  /* NULL when the model has no decoder head */
  size_t n_params;       /* floats in the arena */
  /* the loader's: storage, references, cache entry */
  float *arena;
  int refcount;
  char *cache_key;        /* set when held by the shared cache */
} AttnModel;

#endif
