/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine.h — one model run on a stream of frames, without GStreamer.
 *
 * An engine owns a loaded, planned model (network, workspaces, result pool),
 * runs inferences in the caller's thread or on its own worker (at most one at
 * a time), turns the network's outputs into results, and keeps the newest
 * finished one. The element around it keeps caps, properties, QoS, latency
 * and metas. Later work (coarse-to-fine inference, decoder heads, batching
 * streams) plugs in here.
 *
 * Threads: attn_engine_begin/run/wait/flush come from one thread (the
 * streaming thread); set_model, latest and stats from any. Model files are
 * read by attn_engine_model_load in the caller's thread, under no lock of the
 * engine's. Nothing here allocates per frame. */
#ifndef ATTN_ENGINE_H
#define ATTN_ENGINE_H

#include <gst/attention/attention-producer.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef struct AttnEngine AttnEngine;
typedef struct AttnEngineModel AttnEngineModel;

/* Opens (through the process-wide model cache), validates and plans the
 * model at `path` for its own input size, and runs one warm-up pass. NULL
 * with a message in err. */
AttnEngineModel *attn_engine_model_load (const char *path, char *err,
                                         size_t errlen);
/* The same planned for a (3, height, width) input instead of the model's
 * own size (the coarse pass of coarse-to-fine inference); 0 for the
 * model's own. Only a net of the model's own size shares its transformed
 * weights with other engines. */
AttnEngineModel *attn_engine_model_load_sized (const char *path, int height,
                                               int width, char *err,
                                               size_t errlen);
void attn_engine_model_free (AttnEngineModel *m);
const AttnModel *attn_engine_model_info (const AttnEngineModel *m);
/* Wall time of the warm-up pass, nanoseconds. */
uint64_t attn_engine_model_warmup_ns (const AttnEngineModel *m);

/* What one inference needs besides the pixels. */
typedef struct {
  uint64_t frame;              /* the producer's number of the frame */
  /* where the network input lies on the frame, frame-normalised */
  float area_x, area_y, area_w, area_h;
  /* the part of it that shows the frame (letterboxing pads the rest) */
  float content_x, content_y, content_w, content_h;
  unsigned top_k;
  float threshold;             /* attended region: relative threshold */
  bool channels;               /* copy the last gate's channel weights */
  int64_t start_ns;            /* monotonic, when its pre-processing began */
} AttnJob;

typedef struct {
  double latency_ns;           /* moving average, job start to result */
  uint64_t max_latency_ns;     /* since the model was (re)loaded */
  double rate;                 /* moving average, inferences per second */
  uint64_t inferences;
  uint64_t batched;            /* of them, run with other streams' frames */
} AttnEngineStats;

/* Takes ownership of `m`. */
AttnEngine *attn_engine_new (AttnEngineModel *m);
/* Stops the worker (waiting for a running inference) and frees everything
 * but results still referenced elsewhere. NULL is a no-op. */
void attn_engine_free (AttnEngine *e);

/* The most threads one inference may use (its own included): 0 means
 * every core. Whatever the limit, every engine in the process shares one
 * budget of the machine's cores (parallel.h): alone, an engine gets them
 * all; with others running, the free ones. Any thread, any time; applies
 * from the next inference. */
void attn_engine_set_threads (AttnEngine *e, int threads);

/* Frames of several streams in one forward pass: an inference of this
 * engine waits until `size` engines of the same model (planned at its own
 * size) have a frame ready — the smallest size any of them set counts —
 * or until timeout_ns after the first of them, then all run as one pass
 * (attn_net_forward_many: batched where a layer gains, net by net
 * elsewhere) on the thread of the first, each with its own outputs. size
 * 1 (the default): alone. Any thread, any time; applies from the next
 * inference. The environment variable GST_ATTENTION_BATCH_LAYERS=all or
 * none, read here, forces every layer or none to run batched (tests,
 * measurements). */
void attn_engine_set_batch (AttnEngine *e, int size, int64_t timeout_ns);

/* Hands over a model for the next inference; a model handed over earlier
 * and not yet swapped in is freed. Takes ownership. */
void attn_engine_set_model (AttnEngine *e, AttnEngineModel *m);
/* The model inferences run with (streaming thread). */
const AttnModel *attn_engine_model (AttnEngine *e);

/* Waits until no inference runs, at most until deadline_ns (monotonic
 * nanoseconds; INT64_MAX: as long as it takes, < 0: not at all), swaps in a
 * pending model (setting *swapped), and returns the network input
 * (3, height, width) to fill; NULL when an inference still runs. */
float *attn_engine_begin (AttnEngine *e, int64_t deadline_ns, bool *swapped);
/* Gives the input back without running (the frame could not be read). */
void attn_engine_cancel (AttnEngine *e);
/* Runs the job on the input filled since attn_engine_begin: here and now,
 * or (threaded) on the engine's worker, returning at once. */
void attn_engine_run (AttnEngine *e, const AttnJob *job, bool threaded);
/* The newest finished result (a new reference, NULL before the first),
 * once it is for `frame` or later, or no inference for it runs, or
 * deadline_ns passes. */
GstAttentionResult *attn_engine_wait (AttnEngine *e, uint64_t frame,
                                      int64_t deadline_ns);
/* The newest finished result, without waiting (a new reference or NULL). */
GstAttentionResult *attn_engine_latest (AttnEngine *e);
/* Forgets the newest result; an inference running now is finished but its
 * result discarded (a flush or a new stream). */
void attn_engine_flush (AttnEngine *e);
void attn_engine_get_stats (AttnEngine *e, AttnEngineStats *s);

/* What decides where a coarse-to-fine pass looks. */
typedef enum {
  ATTN_SALIENCY_ATTENTION,     /* the network's final attention map */
  ATTN_SALIENCY_GRADIENT,      /* ||∂H/∂c||₂, H the output entropy, c the
                                * input of the last residual block (DCN) */
} AttnSaliencyKind;

/* The saliency map (height, width) over the input area of the inference
 * this thread just ran synchronously (attn_engine_run, threaded = false;
 * nothing begun since). Valid until the next attn_engine_begin. The first
 * call for the gradient plans its workspaces (once per model). NULL with a
 * message when the model has no such map (no spatial gate; a last block the
 * gradient does not support). */
const float *attn_engine_saliency (AttnEngine *e, AttnSaliencyKind kind,
                                   int *height, int *width, char *err,
                                   size_t errlen);

/* Monotonic clock, nanoseconds. */
int64_t attn_engine_now_ns (void);

#endif
