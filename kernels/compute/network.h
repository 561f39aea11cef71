/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* network.h — the forward pass of a loaded model at one input size.
 *
 * attn_net_new plans everything once: shapes, one activation/workspace arena,
 * the attention outputs. attn_net_forward then runs allocation-free. A net is
 * used by one thread at a time; many nets may share one model. */
#ifndef ATTN_NETWORK_H
#define ATTN_NETWORK_H

#include <stdbool.h>
#include <stddef.h>

#include "conv.h"
#include "model_desc.h"

typedef struct AttnNet AttnNet;

/* What one attention gate produced in the last forward pass. */
typedef struct {
  const char *name;       /* "layer{L}.{B}" or "stn" */
  AttnGateType type;
  int channels;           /* length of `channel`, 0 if none */
  const float *channel;   /* channel weights in 0..1 (SE s, CBAM Mc) */
  int height, width;      /* size of `spatial`, 0 if none */
  const float *spatial;   /* CBAM Ms (height, width) in 0..1 */
} AttnGateOutput;

/* Plans `model` for a (3, height, width) input. The net borrows the model:
 * it must outlive the net.
 * NULL with a message when the size does not suit the model (too small for
 * its strides, or not the fixed size an STN localisation net needs). */
AttnNet *attn_net_new (const AttnModel *model, int height, int width, char *err,
                       size_t errlen);
/* The same, reading the transformed weights (Winograd filters) of
 * `weights` — a net of the same model planned for the same size, which
 * must outlive this one — instead of computing and storing its own: many
 * streams of one model then hold one copy. Any other `weights` (or NULL)
 * is ignored: the net carves its own. */
AttnNet *attn_net_new_sharing (const AttnModel *model, int height, int width,
                               const AttnNet *weights, char *err,
                               size_t errlen);
void attn_net_free (AttnNet *net);

/* The (3, H, W) input tensor the caller fills before attn_net_forward. */
float *attn_net_input (AttnNet *net);
/* Runs the network on attn_net_input. */
void attn_net_forward (AttnNet *net);

/* ---- several frames in one pass ----
 * Nets of one model planned for one size (each with its input filled) run
 * layer by layer together: a convolution where one product over all their
 * images beats one per image (attn_net_batch_pays: small maps, large
 * weights — the late layers) runs as one (attn_conv2d_many), the rest net
 * by net, the nets side by side on the caller's thread budget (each net's
 * kernels then on one thread). Every net's outputs are its own, as after
 * attn_net_forward, and equal to them up to the sum order of the
 * products. */
#define ATTN_NET_MAX_BATCH 16

/* The layout the blocks' feature maps take, process-wide, read when a
 * net is planned: AUTO (the default) runs the leading blocks on
 * channel-blocked maps (blocked.h: 16 channels a vector) where every
 * convolution and gate of them has a blocked kernel and the CPU runs
 * AVX-512 and the block's output has 100 pixels or more, never the last
 * (which, with the head, the decoder and attn_net_last_block's taps,
 * stays NCHW); NCHW never; BLOCKED every block but the last it can, on
 * any CPU and map (tests: the plain-C tiles, small maps). Until it is
 * set, the environment's ATTN_LAYOUT (auto, nchw, blocked) chooses. */
typedef enum {
  ATTN_LAYOUT_AUTO,
  ATTN_LAYOUT_NCHW,
  ATTN_LAYOUT_BLOCKED,
} AttnLayoutPolicy;
void attn_net_set_layout_policy (AttnLayoutPolicy policy);
/* The policy in effect (set, or the environment's). */
AttnLayoutPolicy attn_net_layout_policy (void);
/* How many leading blocks of net run on blocked maps (0: none). */
int attn_net_blocked_blocks (const AttnNet *net);
typedef enum {
  ATTN_BATCH_AUTO,         /* attn_net_batch_pays decides per layer */
  ATTN_BATCH_ALWAYS,       /* every convolution with groups = 1 (tests) */
  ATTN_BATCH_NEVER,        /* net by net (the benchmark's yardstick) */
} AttnBatchPolicy;
void attn_net_set_batch_policy (AttnBatchPolicy policy);
/* Whether a convolution on an h×w input runs as one product for n
 * images under the policy. */
bool attn_net_batch_pays (const AttnConv2d *p, int h, int w, int n);
/* Floats of workspace a batch of n nets like `net` needs (0 when no layer
 * runs batched). */
size_t attn_net_many_workspace (const AttnNet *net, int n);
/* Runs nets[0..n) (1 ≤ n ≤ ATTN_NET_MAX_BATCH). A layer whose batched
 * workspace exceeds ws_floats (ws NULL: every layer) runs net by net.
 * false (nothing run) when n is out of range or the nets differ in model
 * or size. */
bool attn_net_forward_many (AttnNet *const *nets, int n, float *ws,
                            size_t ws_floats);

const AttnModel *attn_net_model (const AttnNet *net);
/* (num_classes) logits of the last forward pass. */
const float *attn_net_logits (const AttnNet *net);
/* Attention gates in network order (blocks without a gate are skipped). */
int attn_net_n_gates (const AttnNet *net);
const AttnGateOutput *attn_net_gate (const AttnNet *net, int i);
/* The last gate with a spatial map (the "final" attention), or NULL. */
const AttnGateOutput *attn_net_final_map (const AttnNet *net);
/* θ (2,3) of the STN front end, or NULL without one. */
const float *attn_net_theta (const AttnNet *net);
/* The last residual block's activations as the last attn_net_forward left
 * them, for gradients taken above them (saliency.c). The pointers are the
 * net's buffers (valid while it lives, rewritten by every forward). Its
 * pre-gate F is not kept (the gate's apply overwrites it with the output).
 * The model has at least one block (the loader's rule). */
typedef struct {
  const AttnBlock *block;  /* the model's last block */
  int h_in, w_in;          /* block input */
  int h_mid, w_mid;        /* after conv1 */
  int h, w;                /* block output */
  const float *input;      /* (C_in, h_in, w_in): the block's input x */
  const float *t1;         /* relu(conv1(x)) (conv1 C_out, h_mid, w_mid) */
  const float *t2;         /* bottleneck: relu(conv2(t1)) (conv2 C_out, h, w);
                            * basic: NULL */
  const float *output;     /* the block's output (C_out, h, w) */
  const AttnGateOutput *gate; /* its gate's Mc/s and Ms, NULL without one */
} AttnBlockTaps;
void attn_net_last_block (const AttnNet *net, AttnBlockTaps *taps);
/* The decoder head's output of the last forward pass (models with a
 * `decoder`): the net's buffers, rewritten by every forward. */
typedef struct {
  const AttnDecoder *decoder;
  int length;             /* steps run, the end token (if reached) included */
  const int *tokens;      /* (length) ids into decoder->vocabulary */
  const float *scores;    /* (length) softmax probability of each token */
  const float *alphas;    /* (length, height, width) α of each step */
  int height, width;      /* the annotation grid */
  double seconds;         /* the decoder's share of the last forward */
} AttnSequence;
/* false (seq untouched) when the model has no decoder. */
bool attn_net_sequence (const AttnNet *net, AttnSequence *seq);
/* Bytes of the activation/workspace arena (for memory reports). */
size_t attn_net_arena_bytes (const AttnNet *net);
/* Of those, the bytes of transformed weights this net holds (0 when it
 * shares another's), and whether it shares. */
size_t attn_net_weight_bytes (const AttnNet *net);
bool attn_net_shares_weights (const AttnNet *net);
/* Multiply-adds of one forward pass. */
double attn_net_macs (const AttnNet *net);

/* Where a forward pass spends its time, step by step, once asked to:
 * attn_net_set_profiling (net, true) zeroes the sums, and every forward
 * of this net from then on (attn_net_forward, or attn_net_forward_many
 * with it first: the whole batch's step is counted) adds each step's wall
 * time. Steps in order: the STN, the stem convolution, its pool, then per
 * block the downsample, conv1, conv2 (conv3) and gate, then the head (the
 * global pool and classifier, and the decoder where there is one). The
 * table is built at plan time; a profiled forward reads the clock twice
 * per step and allocates nothing. Off, it costs one test per step. */
typedef struct {
  char name[64];          /* "layer2.0 conv2 3x3/2 128->128 @56x56" */
  const char *method;     /* "winograd F(4,3)", "direct", "gemm",
                           * "im2col + gemm", "depthwise", "gate", "pool",
                           * "stn", "head" */
  double macs;            /* multiply-adds of one forward (0: not counted) */
  double seconds;         /* summed over the profiled forwards */
} AttnLayerTime;
void attn_net_set_profiling (AttnNet *net, bool on);
/* The table (*layers, its length returned) and the forwards it sums
 * (*forwards); 0 (and NULL) when the net was never profiled. */
int attn_net_profile (const AttnNet *net, const AttnLayerTime **layers,
                      int *forwards);

#endif
