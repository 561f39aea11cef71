/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* network.c — plan once, then run a model allocation-free.
 *
 * Block forward, on the residual branch (official CBAM placement):
 *   F  = bn(conv(...)) with the avg/max pools taken in the conv's epilogue
 *   id = downsample(x) or x
 *   none: out = relu(F + id)            (fused into the last conv's epilogue)
 *   SE:   out = relu(F·s[c] + id)
 *   CBAM: out = relu(F·Mc[c]·Ms[h,w] + id), F' never materialised
 * Activations rotate through five buffers of the largest activation size;
 * the attention outputs every gate produced stay readable after forward. */
#include "network.h"

#include <assert.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "blocked.h"
#include "cbam.h"
#include "cpu.h"
#include "direct.h"
#include "parallel.h"
#include "winograd.h"
#include "linear.h"
#include "mem.h"
#include "se.h"
#include "stn.h"

#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define MIN(a, b) ((a) < (b) ? (a) : (b))

#define N_BUF 5

/* A convolution's weights transformed at plan time, in the arena: for
 * Winograd's output tile m, or (direct) reordered for attn_conv2d_direct;
 * u NULL where im2col + sgemm is faster (attn_winograd_tile,
 * attn_direct_pays) */
typedef struct {
  const float *u;
  int m;
  bool direct;
} Transformed;

/* A block's convolution on blocked maps (blocked.h): its weights
 * reordered in the arena, and how it runs */
typedef enum { BC_1X1, BC_DIRECT, BC_WINO, BC_WINO_NCHW } BlockedKind;
typedef struct {
  const float *w;
  BlockedKind kind;
  int m;               /* Winograd's tile */
  int stride;          /* 1×1: 2 subsamples first */
} BlockedConv;

typedef struct {
  int h_in, w_in;      /* block input */
  int h_mid, w_mid;    /* after conv1 (bottleneck: 1×1 may carry the stride) */
  int h, w;            /* block output */
  int gate;            /* index into net->gates, or −1 */
  Transformed tw1, tw2;  /* conv1's and conv2's */
  BlockedConv b1, b2, b3, bd;   /* on blocked maps: conv1 .. 3, downsample */
} BlockPlan;

typedef struct {
  int c, h, w;         /* output of this STN layer (w = h = 1 after flatten) */
} StnPlan;

struct AttnNet {
  const AttnModel *m;      /* borrowed */
  const AttnNet *weights;  /* borrowed: transformed weights come from it, or
                            * NULL: this net carves its own */
  size_t weight_floats;    /* of the arena, transformed weights */
  int h, w;
  float *arena;
  size_t arena_floats;
  float *input;
  float *buf[N_BUF];
  float *ws;                     /* im2col workspace */
  /* Winograd's, apart: each worker's buffers stay on its core from layer
   * to layer; inside ws they shared lines with the im2col matrix both
   * cores had just written (ResNet-18 on 2 threads, in-process probe:
   * 4–7 % faster apart; a line another core wrote costs ~5× one in the
   * core's own cache: 45 vs 8.5 µs to update 800 KB) */
  float *wino_ws;
  float *avg, *max;              /* (C) pools from epilogues */
  float *gate_work;
  float *sp_work;                /* (2, H, W) */
  float *feat;                   /* (C_last) */
  float *logits;
  int stem_h, stem_w, pool_h, pool_w;
  int blocked;                   /* leading blocks on blocked maps */
  bool stem_blocked;             /* the stem writes blocked maps itself */
  const float *stem_wk;          /* its weights for attn_stem_blocked */
  bool oom;                      /* carve_all could not transform weights */
  BlockPlan *blocks;
  AttnGateOutput *gates;
  int n_gates;
  int final_gate;
  /* STN */
  StnPlan *stn;
  float *stn_a, *stn_b, *grid, *warped;
  float theta[6];
  double macs;
  /* decoder head */
  float *dec_work, *dec_scores, *dec_alphas;
  int *dec_tokens;          /* (max_length), calloc'd at plan time */
  AttnDecoderOut dec_out;
  double dec_seconds;
  /* profiling (attn_net_set_profiling): the steps, built at plan time */
  AttnLayerTime *prof;
  int n_prof, prof_forwards;
  bool prof_on;
};

static double
conv_macs (const AttnConv2d *p, int ho, int wo)
{
  return (double) p->c_out * (p->c_in / p->groups) * p->kh * p->kw * ho * wo;
}

/* Output size of conv p on h×w, run with Winograd tile m, or directly, or
 * (neither) by im2col + sgemm; records MACs and workspace: ws[1]
 * Winograd's, ws[0] the rest's. */
static void
plan_conv (AttnNet *net, const AttnConv2d *p, int h, int w, int m,
           bool direct, int *ho, int *wo, size_t ws[2])
{
  *ho = attn_conv_out_dim (h, p->kh, p->stride_h, p->pad_h, p->dil_h);
  *wo = attn_conv_out_dim (w, p->kw, p->stride_w, p->pad_w, p->dil_w);
  size_t need = m ? attn_winograd_workspace (p, h, w, m)
      : direct ? attn_direct_workspace (p, h, w)
      : attn_conv2d_workspace (p, h, w);
  ws[m ? 1 : 0] = MAX (ws[m ? 1 : 0], need);
  net->macs += conv_macs (p, *ho, *wo);
}

static bool
plan_stn (AttnNet *net, size_t *stn_buf, size_t ws[2], char *err,
          size_t errlen)
{
  const AttnModel *m = net->m;
  net->stn = calloc ((size_t) m->n_stn, sizeof *net->stn);
  if (!net->stn) {
    snprintf (err, errlen, "%s: out of memory", m->path);
    return false;
  }
  int c = 3, h = net->h, w = net->w;
  bool flat = false;
  *stn_buf = (size_t) 3 * h * w;
  for (int i = 0; i < m->n_stn; i++) {
    const AttnStnLayer *l = &m->stn[i];
    switch (l->type) {
      case ATTN_STN_CONV:
        if (flat)
          goto after_flat;
        plan_conv (net, &l->conv, h, w, 0, false, &h, &w, ws);
        c = l->conv.c_out;
        break;
      case ATTN_STN_MAXPOOL:
      case ATTN_STN_AVGPOOL:
        if (flat)
          goto after_flat;
        h = attn_pool_out_dim (h, l->pool.kh, l->pool.stride_h, l->pool.pad_h,
                               1, false);
        w = attn_pool_out_dim (w, l->pool.kw, l->pool.stride_w, l->pool.pad_w,
                               1, false);
        break;
      case ATTN_STN_RELU:
        break;
      case ATTN_STN_GAP:
        h = w = 1;
        flat = true;
        break;
      case ATTN_STN_LINEAR:
        if (c * h * w != l->in) {
          snprintf (err, errlen, "%s: at input %d×%d the STN layer %d gets %d "
                    "values but 'stn.%d.weight' takes %d (this model runs at "
                    "%d×%d)", m->path, net->w, net->h, i, c * h * w, i, l->in,
                    m->pre.width, m->pre.height);
          return false;
        }
        c = l->out;
        h = w = 1;
        flat = true;
        net->macs += (double) l->in * l->out;
        break;
    }
    if (h <= 0 || w <= 0) {
      snprintf (err, errlen, "%s: input %d×%d is too small for the STN "
                "localisation net (layer %d has no output)", m->path, net->w,
                net->h, i);
      return false;
    }
    net->stn[i] = (StnPlan) { c, h, w };
    *stn_buf = MAX (*stn_buf, (size_t) c * h * w);
  }
  return true;
after_flat:
  snprintf (err, errlen, "%s: STN layers after a flatten must be linear or "
            "relu", m->path);
  return false;
}

typedef struct {
  size_t act, ws, wino_ws;
  int max_c;
  size_t gate_work;
  int max_hw;
  size_t stn_buf;
} ArenaSizes;

/* Hands out 64-byte aligned pieces of the arena; with base NULL it only
 * counts, so the same code both sizes and lays out the arena. */
typedef struct {
  float *base;
  size_t used;
} Carver;

static float *
carve (Carver *c, size_t n)
{
  float *p = c->base ? c->base + c->used : NULL;
  c->used += (n + 15) & ~(size_t) 15;
  return p;
}

/* How conv p on h×w runs: the transform a net sharing weights was given
 * (src), else Winograd's tile where it pays, else directly where that
 * pays (weights not carved yet: u NULL). */
static Transformed
plan_transform (const Transformed *src, const AttnConv2d *p, int h, int w)
{
  if (src)
    return (Transformed) { NULL, src->m, src->direct };
  int m = attn_winograd_tile (p, h, w);
  return (Transformed) { NULL, m, !m && attn_direct_pays (p, h, w) };
}

/* Carves and, on the real pass, fills conv l's transformed weights as
 * planned (pl: Winograd's tile, or direct); u NULL when that convolution
 * runs as im2col + sgemm. */
static Transformed
transformed_weights (Carver *c, const AttnConvLayer *l, Transformed pl,
                     size_t *counted)
{
  if (!pl.m && !pl.direct)
    return (Transformed) { NULL, 0, false };
  size_t before = c->used;
  float *u = carve (c, pl.direct ? attn_direct_weights_size (&l->p)
                    : attn_winograd_weights_size (&l->p, pl.m));
  *counted += c->used - before;
  if (u && pl.direct)
    attn_direct_weights (u, l->weight, &l->p);
  else if (u)
    attn_winograd_weights (u, l->weight, &l->p, pl.m);
  return (Transformed) { u, pl.m, pl.direct };
}

/* Winograd's transformed weights above this many bytes run NCHW inside a
 * blocked block (the input relaid to NCHW, the NCHW Winograd, the output
 * relaid back) where the NCHW Winograd splits them by output channels on
 * the machine's cores: each core then reads half of them, where the
 * blocked products read them all on every core. ResNet-50-CBAM, in-process,
 * minima of 40 forwards: 256 ch @14² F(2,3) (4 MB), 2 threads, relaid
 * 0.61–0.64 ms against blocked 0.70; 1 thread 1.05–1.09 against 1.07–1.11.
 * Elsewhere blocked: 128 ch @28² F(4,3) (2.4 MB, split by tiles either
 * way) 0.69–0.72 against relaid 0.81–0.95 on 1 thread, 0.46–0.51 against
 * 0.60–0.72 on 2. Where the multiply-adds run at half rate
 * (attn_cpu_fma_half) never: there F(4,3) runs blocked at 14² (its 9 MB
 * at 256 ch), 0.83–0.86 ms against relaid 1.14–1.29 on 1 thread, 0.48
 * against 0.67–0.78 on 2 (winograd.c). */
#define BLOCKED_WINO_MAX_BYTES ((size_t) 1 << 20)

/* How conv p on h×w runs on blocked maps, into *bc (weights not carved
 * yet); false when no blocked kernel takes it: channels not in whole
 * blocks, groups, dilation, other kernel sizes, strides or padding.
 * residual: the convolution adds one in its store. */
static bool
blocked_plan (BlockedConv *bc, const AttnConv2d *p, int h, int w,
              bool residual)
{
  if (p->groups != 1 || p->dil_h != 1 || p->dil_w != 1
      || p->c_in % ATTN_BLOCK || p->c_out % ATTN_BLOCK || p->kh != p->kw
      || p->stride_h != p->stride_w || p->pad_h != p->pad_w)
    return false;
  if (p->kh == 1) {
    *bc = (BlockedConv) { NULL, BC_1X1, 0, p->stride_h };
    return p->pad_h == 0 && p->stride_h <= 2;
  }
  int m = attn_winograd_blocked_tile (p, h, w);
  if (m) {
    bool big = !attn_cpu_fma_half ()
        && sizeof (float) * attn_winograd_blocked_weights_size (p, m)
        > BLOCKED_WINO_MAX_BYTES
        && attn_winograd_splits_weights (p, h, w, m, attn_parallel_cores ());
    *bc = (BlockedConv) { NULL, big && !residual ? BC_WINO_NCHW : BC_WINO,
      m, 1 };
    return true;
  }
  *bc = (BlockedConv) { NULL, BC_DIRECT, 0, p->stride_h };
  return attn_direct_applies (p, h, w);
}

/* Floats of workspace bc needs for conv p on h×w. */
static size_t
blocked_workspace (const BlockedConv *bc, const AttnConv2d *p, int h, int w)
{
  switch (bc->kind) {
    case BC_1X1:
      return bc->stride > 1 ? attn_blocked_size (p->c_in,
          attn_conv_out_dim (h, 1, bc->stride, 0, 1)
          * attn_conv_out_dim (w, 1, bc->stride, 0, 1)) : 0;
    case BC_DIRECT:
      return attn_conv3x3_blocked_workspace (p, h, w);
    case BC_WINO:
      return attn_winograd_blocked_workspace (p, h, w, bc->m);
    case BC_WINO_NCHW:        /* the input and output, NCHW */
      return (size_t) p->c_in * h * w + (size_t) p->c_out
          * attn_conv_out_dim (h, 3, 1, p->pad_h, 1)
          * attn_conv_out_dim (w, 3, 1, p->pad_w, 1);
  }
  return 0;
}

/* Carves and, on the real pass, fills conv l's reordered weights for
 * *bc; false when the Winograd transform could not allocate. */
static bool
blocked_weights (Carver *c, const AttnConvLayer *l, BlockedConv *bc,
                 size_t *counted)
{
  const AttnConv2d *p = &l->p;
  size_t n = bc->kind == BC_1X1 ? attn_conv1x1_blocked_weights_size (p->c_out,
                                                                     p->c_in)
      : bc->kind == BC_DIRECT ? attn_direct_weights_size (p)
      : bc->kind == BC_WINO_NCHW ? attn_winograd_weights_size (p, bc->m)
      : attn_winograd_blocked_weights_size (p, bc->m);
  size_t before = c->used;
  float *w = carve (c, n);
  *counted += c->used - before;
  bc->w = w;
  if (!w)
    return true;
  if (bc->kind == BC_1X1)
    attn_conv1x1_blocked_pack (w, l->weight, p->c_out, p->c_in);
  else if (bc->kind == BC_DIRECT)
    attn_direct_weights (w, l->weight, p);
  else if (bc->kind == BC_WINO_NCHW)
    attn_winograd_weights (w, l->weight, p, bc->m);
  else
    return attn_winograd_blocked_weights (w, l->weight, p, bc->m);
  return true;
}

static void
carve_all (AttnNet *net, Carver *c, const ArenaSizes *sz)
{
  const AttnModel *m = net->m;
  net->input = carve (c, (size_t) 3 * net->h * net->w);
  for (int i = 0; i < N_BUF; i++)
    net->buf[i] = carve (c, sz->act);
  net->ws = carve (c, sz->ws);
  net->wino_ws = carve (c, sz->wino_ws);
  net->avg = carve (c, (size_t) sz->max_c);
  net->max = carve (c, (size_t) sz->max_c);
  net->gate_work = carve (c, sz->gate_work);
  net->sp_work = carve (c, (size_t) 2 * sz->max_hw);
  net->feat = carve (c, (size_t) m->c_last);
  if (net->stem_blocked && net->weights) {
    net->stem_wk = net->weights->stem_wk;
  } else if (net->stem_blocked) {
    size_t before = c->used;
    float *wk = carve (c, attn_stem_blocked_weights_size (&m->stem.p));
    if (wk)
      attn_stem_blocked_weights (wk, m->stem.weight, &m->stem.p);
    else
      net->weight_floats += c->used - before;
    net->stem_wk = wk;
  }
  net->logits = carve (c, (size_t) m->num_classes);
  net->final_gate = -1;
  for (int i = 0; i < m->n_blocks; i++) {
    BlockPlan *bp = &net->blocks[i];
    const AttnBlock *b = &m->blocks[i];
    if (net->weights) {        /* the same model at the same size */
      bp->tw1 = net->weights->blocks[i].tw1;  /* b1 .. bd: at plan time */
      bp->tw2 = net->weights->blocks[i].tw2;
    } else if (i < net->blocked) {
      size_t counted = 0;
      bool bottleneck = m->block_type == ATTN_BLOCK_BOTTLENECK;
      bp->tw1 = bp->tw2 = (Transformed) { NULL, 0, false };
      if (!blocked_weights (c, &b->conv1, &bp->b1, &counted)
          || !blocked_weights (c, &b->conv2, &bp->b2, &counted)
          || (bottleneck && !blocked_weights (c, &b->conv3, &bp->b3,
                                              &counted))
          || (b->has_down && !blocked_weights (c, &b->down, &bp->bd,
                                               &counted)))
        net->oom = true;
      if (!c->base)
        net->weight_floats += counted;
    } else {
      size_t counted = 0;
      bp->tw1 = transformed_weights (c, &b->conv1, bp->tw1, &counted);
      bp->tw2 = transformed_weights (c, &b->conv2, bp->tw2, &counted);
      if (!c->base)
        net->weight_floats += counted;
    }
    if (bp->gate < 0)
      continue;
    AttnGateOutput *g = &net->gates[bp->gate];
    g->name = b->name;
    g->type = b->gate;
    g->channels = b->c_out;
    g->channel = carve (c, (size_t) b->c_out);
    if (b->gate == ATTN_GATE_CBAM) {
      g->spatial = carve (c, (size_t) bp->h * bp->w);
      g->height = bp->h;
      g->width = bp->w;
      net->final_gate = bp->gate;
    }
  }
  if (m->decoder) {
    const BlockPlan *last = &net->blocks[m->n_blocks - 1];
    int l = last->h * last->w;
    net->dec_work = carve (c, attn_decoder_workspace (m->decoder, l));
    net->dec_scores = carve (c, (size_t) m->decoder->max_length);
    net->dec_alphas = carve (c, (size_t) m->decoder->max_length * l);
  }
  if (m->stn) {
    net->stn_a = carve (c, sz->stn_buf);
    net->stn_b = carve (c, sz->stn_buf);
    net->grid = carve (c, (size_t) 2 * net->h * net->w);
    net->warped = carve (c, (size_t) 3 * net->h * net->w);
  }
}

/* How conv p runs (tw: its Winograd tile or direct weights, or NULL), for
 * the profile's table: as conv_layer and attn_conv2d choose. */
static const char *
conv_method (const AttnConv2d *p, const Transformed *tw)
{
  if (tw && tw->direct)
    return "direct";
  if (tw && tw->m)
    return tw->m == 4 ? "winograd F(4,3)" : "winograd F(2,3)";
  return attn_conv2d_method (p);
}

/* Entry *i of the table: conv p on an h×w input. */
static void
profile_conv (AttnLayerTime *t, int *i, const char *where, const char *what,
              const AttnConv2d *p, const Transformed *tw, int h, int w)
{
  AttnLayerTime *e = &t[(*i)++];
  char stride[16] = "";
  if (p->stride_h > 1)
    snprintf (stride, sizeof stride, "/%d", p->stride_h);
  snprintf (e->name, sizeof e->name, "%s %s %dx%d%s %d->%d @%dx%d", where,
            what, p->kh, p->kw, stride, p->c_in, p->c_out, w, h);
  e->method = conv_method (p, tw);
  int ho = attn_conv_out_dim (h, p->kh, p->stride_h, p->pad_h, p->dil_h);
  int wo = attn_conv_out_dim (w, p->kw, p->stride_w, p->pad_w, p->dil_w);
  e->macs = conv_macs (p, ho, wo);
}

/* How a blocked block's convolution runs, for the profile's table. */
static const char *
blocked_method (const BlockedConv *bc)
{
  switch (bc->kind) {
    case BC_1X1:
      return bc->stride > 1 ? "blocked 1x1, subsampled" : "blocked 1x1";
    case BC_DIRECT:
      return "blocked direct";
    case BC_WINO:
      return bc->m == 4 ? "blocked winograd F(4,3)"
          : "blocked winograd F(2,3)";
    case BC_WINO_NCHW:
      return bc->m == 4 ? "winograd F(4,3), relaid" : "winograd F(2,3), relaid";
  }
  return "?";
}

/* Steps of block i in the profile's table (and forward_many's). */
static int
block_steps (const AttnModel *m, int i)
{
  return (m->blocks[i].has_down ? 1 : 0) + 2
      + (m->block_type == ATTN_BLOCK_BOTTLENECK ? 1 : 0)
      + (m->blocks[i].gate != ATTN_GATE_NONE ? 1 : 0);
}

/* The profile's table: every step forward_many times, in its order. */
static bool
plan_profile (AttnNet *net)
{
  const AttnModel *m = net->m;
  int n = (m->stn ? 1 : 0) + 1 + (m->has_stem_pool ? 1 : 0) + 1;
  for (int i = 0; i < m->n_blocks; i++)
    n += block_steps (m, i);
  AttnLayerTime *t = calloc ((size_t) n, sizeof *t);
  if (!t)
    return false;
  int k = 0;
  if (m->stn) {
    snprintf (t[k].name, sizeof t[k].name, "stn");
    t[k++].method = "stn";
  }
  profile_conv (t, &k, "stem", "conv", &m->stem.p, NULL, net->h, net->w);
  if (net->stem_blocked)
    t[k - 1].method = "blocked direct";
  if (m->has_stem_pool) {
    const AttnPool2d *p = &m->stem_pool;
    snprintf (t[k].name, sizeof t[k].name, "stem pool %dx%d/%d @%dx%d",
              p->kh, p->kw, p->stride_h, net->stem_w, net->stem_h);
    t[k++].method = net->stem_blocked ? "blocked pool" : "pool";
  }
  for (int i = 0; i < m->n_blocks; i++) {
    const AttnBlock *b = &m->blocks[i];
    const BlockPlan *bp = &net->blocks[i];
    bool blocked = i < net->blocked;
    if (b->has_down) {
      profile_conv (t, &k, b->name, "down", &b->down.p, NULL, bp->h_in,
                    bp->w_in);
      if (blocked)
        t[k - 1].method = blocked_method (&bp->bd);
    }
    profile_conv (t, &k, b->name, "conv1", &b->conv1.p, &bp->tw1, bp->h_in,
                  bp->w_in);
    if (blocked)
      t[k - 1].method = blocked_method (&bp->b1);
    profile_conv (t, &k, b->name, "conv2", &b->conv2.p, &bp->tw2, bp->h_mid,
                  bp->w_mid);
    if (blocked)
      t[k - 1].method = blocked_method (&bp->b2);
    if (m->block_type == ATTN_BLOCK_BOTTLENECK) {
      profile_conv (t, &k, b->name, "conv3", &b->conv3.p, NULL,
                    attn_conv_out_dim (bp->h_mid, b->conv2.p.kh,
                                       b->conv2.p.stride_h, b->conv2.p.pad_h,
                                       b->conv2.p.dil_h),
                    attn_conv_out_dim (bp->w_mid, b->conv2.p.kw,
                                       b->conv2.p.stride_w, b->conv2.p.pad_w,
                                       b->conv2.p.dil_w));
      if (blocked)
        t[k - 1].method = blocked_method (&bp->b3);
    }
    if (b->gate != ATTN_GATE_NONE) {
      snprintf (t[k].name, sizeof t[k].name, "%s gate %s %d @%dx%d", b->name,
                b->gate == ATTN_GATE_CBAM ? "cbam" : "se", b->c_out, bp->w,
                bp->h);
      t[k++].method = "gate";
    }
  }
  snprintf (t[k].name, sizeof t[k].name, "head: pool, classifier%s",
            m->decoder ? ", decoder" : "");
  t[k++].method = "head";
  assert (k == n);
  net->prof = t;
  net->n_prof = n;
  return true;
}

void
attn_net_set_profiling (AttnNet *net, bool on)
{
  net->prof_on = on && net->prof;
  if (!on)
    return;
  for (int i = 0; i < net->n_prof; i++)
    net->prof[i].seconds = 0.0;
  net->prof_forwards = 0;
}

int
attn_net_profile (const AttnNet *net, const AttnLayerTime **layers,
                  int *forwards)
{
  *layers = net->prof_forwards ? net->prof : NULL;
  *forwards = net->prof_forwards;
  return net->prof_forwards ? net->n_prof : 0;
}

/* A profiled forward's clock: each step adds the time since the last. */
typedef struct {
  AttnNet *net;         /* NULL: not profiling */
  int i;
  double t;
} Prof;

/* CLOCK_MONOTONIC in seconds: the profile's and the decoder's clock */
static double
now_seconds (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

static inline void
prof_step (Prof *pr)
{
  if (!pr || !pr->net)
    return;
  double t = now_seconds ();
  if (pr->i < pr->net->n_prof)
    pr->net->prof[pr->i].seconds += t - pr->t;
  pr->i++;
  pr->t = t;
}

/* -1: not chosen yet (the environment's ATTN_LAYOUT, read at the first
 * plan) */
static int layout_policy = -1;

void
attn_net_set_layout_policy (AttnLayoutPolicy policy)
{
  layout_policy = (int) policy;
}

AttnLayoutPolicy
attn_net_layout_policy (void)
{
  if (layout_policy < 0) {
    const char *env = getenv ("ATTN_LAYOUT");
    layout_policy = !env ? ATTN_LAYOUT_AUTO
        : !strcmp (env, "nchw") ? ATTN_LAYOUT_NCHW
        : !strcmp (env, "blocked") ? ATTN_LAYOUT_BLOCKED : ATTN_LAYOUT_AUTO;
  }
  return (AttnLayoutPolicy) layout_policy;
}

int
attn_net_blocked_blocks (const AttnNet *net)
{
  return net->blocked;
}

/* The workspace block b's blocked convolutions (as planned in bp) need,
 * into *ws; conv3's input is h2×w2. */
static void
blocked_block_workspace (const AttnModel *m, const AttnBlock *b,
                         const BlockPlan *bp, int h2, int w2, size_t *ws)
{
  *ws = MAX (*ws, blocked_workspace (&bp->b1, &b->conv1.p, bp->h_in,
                                     bp->w_in));
  *ws = MAX (*ws, blocked_workspace (&bp->b2, &b->conv2.p, bp->h_mid,
                                     bp->w_mid));
  if (m->block_type == ATTN_BLOCK_BOTTLENECK)
    *ws = MAX (*ws, blocked_workspace (&bp->b3, &b->conv3.p, h2, w2));
  if (b->has_down)
    *ws = MAX (*ws, blocked_workspace (&bp->bd, &b->down.p, bp->h_in,
                                       bp->w_in));
  if (b->gate == ATTN_GATE_CBAM)
    *ws = MAX (*ws, attn_blocked_spatial_pools_workspace (b->c_out,
                                                          bp->h * bp->w));
}

/* Output pixels a block needs to run on blocked maps (under AUTO); where
 * the multiply-adds run at half rate (attn_cpu_fma_half) 7² maps pay
 * blocked: ResNet-50-CBAM's layer4 (two blocks; the last stays NCHW) on an
 * AMD EPYC (Zen 4), minima of 30 profiled forwards, 15.0–15.2 → 14.6–14.7
 * ms on 1 thread, 7.74–7.85 → 7.52–7.60 on 2; ResNet-18-CBAM's 6.23 →
 * 6.10 and 3.62 → 3.31 */
#define BLOCKED_MIN_PIXELS 100
#define BLOCKED_MIN_PIXELS_HALF 49

/* Whether block b runs on blocked maps: every convolution has a blocked
 * kernel (planned into bp; conv3's input h2×w2) and its gate is none, SE
 * or CBAM. */
static bool
blocked_block (const AttnModel *m, const AttnBlock *b, BlockPlan *bp, int h2,
               int w2, bool forced)
{
  bool bottleneck = m->block_type == ATTN_BLOCK_BOTTLENECK;
  /* maps of 7² and the like stay NCHW: there the weights' traffic decides
   * and the NCHW GEMM fetches them ahead (ResNet-50-CBAM's layer4 on
   * blocked maps, in-process profile, 1 thread: its 1×1s 0.93 against
   * 0.75 ms, the strided 3×3 2.08 against 1.85) */
  if (bp->h * bp->w < (attn_cpu_fma_half () ? BLOCKED_MIN_PIXELS_HALF
                       : BLOCKED_MIN_PIXELS) && !forced)
    return false;
  /* the residual goes into the block's last convolution when ungated */
  bool res2 = !bottleneck && b->gate == ATTN_GATE_NONE;
  return blocked_plan (&bp->b1, &b->conv1.p, bp->h_in, bp->w_in, false)
      && blocked_plan (&bp->b2, &b->conv2.p, bp->h_mid, bp->w_mid, res2)
      && (!bottleneck || blocked_plan (&bp->b3, &b->conv3.p, h2, w2, true))
      && (!b->has_down || blocked_plan (&bp->bd, &b->down.p, bp->h_in,
                                        bp->w_in, false))
      && (b->gate == ATTN_GATE_NONE || b->gate == ATTN_GATE_SE
          || b->gate == ATTN_GATE_CBAM);
}

AttnNet *
attn_net_new (const AttnModel *model, int height, int width, char *err,
              size_t errlen)
{
  return attn_net_new_sharing (model, height, width, NULL, err, errlen);
}

AttnNet *
attn_net_new_sharing (const AttnModel *model, int height, int width,
                      const AttnNet *weights, char *err, size_t errlen)
{
  const AttnModel *m = model;
  if (!m) {
    snprintf (err, errlen, "no model");
    return NULL;
  }
  if (height < 1 || width < 1 || height > ATTN_MODEL_MAX_INPUT
      || width > ATTN_MODEL_MAX_INPUT) {
    snprintf (err, errlen, "%s: input size %d×%d is outside 1..%d", m->path,
              width, height, ATTN_MODEL_MAX_INPUT);
    return NULL;
  }
  AttnNet *net = calloc (1, sizeof *net);
  if (!net) {
    snprintf (err, errlen, "%s: out of memory", m->path);
    return NULL;
  }
  net->m = model;
  net->h = height;
  net->w = width;
  net->final_gate = -1;
  /* only the same model planned for the same size has the same weights */
  net->weights = weights && weights->m == model && weights->h == height
      && weights->w == width && !weights->weights ? weights : NULL;

  size_t ws[2] = { 0, 0 }, act = (size_t) 3 * height * width, stn_buf = 0;
  int max_c = m->c_last, max_hidden = 1, max_hw = 1;
  if (m->stn && !plan_stn (net, &stn_buf, ws, err, errlen))
    goto fail;

  int h, w;
  plan_conv (net, &m->stem.p, height, width, 0, false, &h, &w, ws);
  net->stem_h = h;
  net->stem_w = w;
  act = MAX (act, (size_t) m->stem.p.c_out * h * w);
  if (m->has_stem_pool) {
    const AttnPool2d *p = &m->stem_pool;
    h = attn_pool_out_dim (h, p->kh, p->stride_h, p->pad_h, 1, p->ceil_mode);
    w = attn_pool_out_dim (w, p->kw, p->stride_w, p->pad_w, 1, p->ceil_mode);
  }
  net->pool_h = h;
  net->pool_w = w;
  if (h <= 0 || w <= 0)
    goto too_small;

  /* blocked maps from the stem on, while every block takes them (see
   * attn_net_set_layout_policy) */
  AttnLayoutPolicy layout = attn_net_layout_policy ();
  bool blocked = layout == ATTN_LAYOUT_BLOCKED
      || (layout == ATTN_LAYOUT_AUTO && attn_cpu_isa () == ATTN_ISA_AVX512);

  net->blocks = calloc ((size_t) m->n_blocks, sizeof *net->blocks);
  net->gates = calloc ((size_t) m->n_blocks, sizeof *net->gates);
  if (!net->blocks || !net->gates) {
    snprintf (err, errlen, "%s: out of memory", m->path);
    goto fail;
  }
  for (int i = 0; i < m->n_blocks; i++) {
    const AttnBlock *b = &m->blocks[i];
    BlockPlan *bp = &net->blocks[i];
    bp->h_in = h;
    bp->w_in = w;
    int h2, w2, h3, w3;
    /* the Winograd tiles and direct convolutions (a net sharing weights
     * runs the ones they were transformed for) */
    const BlockPlan *src = net->weights ? &net->weights->blocks[i] : NULL;
    bp->tw1 = plan_transform (src ? &src->tw1 : NULL, &b->conv1.p, h, w);
    plan_conv (net, &b->conv1.p, h, w, bp->tw1.m, bp->tw1.direct,
               &bp->h_mid, &bp->w_mid, ws);
    bp->tw2 = plan_transform (src ? &src->tw2 : NULL, &b->conv2.p, bp->h_mid,
                              bp->w_mid);
    plan_conv (net, &b->conv2.p, bp->h_mid, bp->w_mid, bp->tw2.m,
               bp->tw2.direct, &h2, &w2, ws);
    act = MAX (act, (size_t) b->conv1.p.c_out * bp->h_mid * bp->w_mid);
    if (m->block_type == ATTN_BLOCK_BOTTLENECK) {
      act = MAX (act, (size_t) b->conv2.p.c_out * h2 * w2);
      plan_conv (net, &b->conv3.p, h2, w2, 0, false, &h3, &w3, ws);
    } else {
      h3 = h2;
      w3 = w2;
    }
    if (b->has_down) {
      int hd, wd;
      plan_conv (net, &b->down.p, h, w, 0, false, &hd, &wd, ws);
      assert (hd == h3 && wd == w3);
    }
    bp->h = h3;
    bp->w = w3;
    /* on blocked maps too? (all but the last block; a net sharing
     * weights runs as the one it shares them with) */
    if (net->weights) {
      const BlockPlan *sb = &net->weights->blocks[i];
      blocked = i < net->weights->blocked;
      bp->b1 = sb->b1;          /* with the weights it carved */
      bp->b2 = sb->b2;
      bp->b3 = sb->b3;
      bp->bd = sb->bd;
    } else {
      blocked = blocked && i + 1 < m->n_blocks
          && blocked_block (m, b, bp, h2, w2, layout == ATTN_LAYOUT_BLOCKED);
    }
    if (blocked) {
      blocked_block_workspace (m, b, bp, h2, w2, &ws[0]);
      net->blocked = i + 1;
    }
    h = h3;
    w = w3;
    if (h <= 0 || w <= 0)
      goto too_small;
    act = MAX (act, (size_t) b->c_out * h * w);
    max_c = MAX (max_c, b->c_out);
    bp->gate = -1;
    if (b->gate != ATTN_GATE_NONE) {
      max_hidden = MAX (max_hidden, b->hidden);
      max_hw = MAX (max_hw, h * w);
      bp->gate = net->n_gates++;
      net->macs += 2.0 * b->hidden * b->c_out * (b->gate == ATTN_GATE_CBAM ? 2 : 1);
      if (b->gate == ATTN_GATE_CBAM)
        net->macs += 2.0 * b->sp_k * b->sp_k * h * w;
    }
  }
  /* the stem writes blocked maps itself where it can (no relayout) */
  net->stem_blocked = net->blocked > 0 && attn_stem_blocked_applies (&m->stem.p)
      && (!m->has_stem_pool || (m->stem_pool.dil_h == 1
                                && m->stem_pool.dil_w == 1));
  if (net->stem_blocked)
    ws[0] = MAX (ws[0], attn_stem_blocked_workspace (&m->stem.p, height,
                                                     width));
  net->macs += (double) m->num_classes * m->c_last;
  if (m->decoder) {
    const AttnDecoder *d = m->decoder;
    double l = (double) h * w, g = attn_decoder_gates (d->cell);
    double per_step = g * d->hidden * (d->embed + d->d + d->hidden)
        + (double) d->vocab * (d->hidden + d->d) + l * d->d
        + (d->attention == ATTN_DEC_ADDITIVE
           ? (double) d->att_dim * (d->hidden + l)
           : (double) d->d * (d->hidden + l));
    net->macs += (double) d->hidden * d->d * (d->cell == ATTN_CELL_LSTM ? 2 : 1)
        + (d->attention == ATTN_DEC_ADDITIVE ? (double) d->att_dim * d->d * l : 0)
        + per_step * d->max_length;
    net->dec_tokens = calloc ((size_t) d->max_length, sizeof *net->dec_tokens);
    if (!net->dec_tokens) {
      snprintf (err, errlen, "%s: out of memory", m->path);
      goto fail;
    }
  }

  /* one arena: input, activations, workspaces, outputs — sized by running
   * the same carving twice, once counting and once for real, so the size
   * can never disagree with the layout */
  size_t gate_work = (size_t) MAX (attn_cbam_channel_workspace (max_c, max_hidden),
                                   attn_se_workspace (max_c, max_hidden));
  ArenaSizes sz = { act, ws[0], ws[1], max_c, gate_work, max_hw, stn_buf };
  Carver count = { NULL, 0 };
  carve_all (net, &count, &sz);
  net->arena_floats = count.used;
  net->arena = attn_mem_floats (net->arena_floats, true);
  if (!net->arena) {
    snprintf (err, errlen, "%s: cannot allocate %zu MB for input %d×%d",
              m->path, net->arena_floats * 4 >> 20, width, height);
    goto fail;
  }
  Carver real = { net->arena, 0 };
  carve_all (net, &real, &sz);
  assert (real.used == net->arena_floats);
  if (net->oom) {
    snprintf (err, errlen, "%s: out of memory", m->path);
    goto fail;
  }
  if (!plan_profile (net)) {
    snprintf (err, errlen, "%s: out of memory", m->path);
    goto fail;
  }
  return net;

too_small:
  snprintf (err, errlen, "%s: input %d×%d is too small for this network "
            "(a feature map shrinks to nothing)", m->path, width, height);
fail:
  attn_net_free (net);
  return NULL;
}

void
attn_net_free (AttnNet *net)
{
  if (!net)
    return;
  attn_mem_free (net->arena);
  free (net->blocks);
  free (net->gates);
  free (net->stn);
  free (net->dec_tokens);
  free (net->prof);
  free (net);
}

float *
attn_net_input (AttnNet *net)
{
  return net->input;
}

static void
conv_layer (AttnNet *net, float *out, const float *in, const AttnConvLayer *l,
            const Transformed *tw, int h, int w, const float *residual,
            AttnAct act, bool pools)
{
  AttnEpilogue ep = { l->bias, residual, act, pools ? net->avg : NULL,
                      pools ? net->max : NULL };
  if (tw && tw->u && tw->direct)
    attn_conv2d_direct (out, in, tw->u, &ep, net->ws, &l->p, h, w);
  else if (tw && tw->u)
    attn_conv2d_winograd (out, in, tw->u, &ep, net->wino_ws, &l->p, h, w,
                          tw->m);
  else
    attn_conv2d (out, in, l->weight, &ep, net->ws, &l->p, 1, h, w);
}

static AttnBatchPolicy batch_policy = ATTN_BATCH_AUTO;

void
attn_net_set_batch_policy (AttnBatchPolicy policy)
{
  batch_policy = policy;
}

bool
attn_net_batch_pays (const AttnConv2d *p, int h, int w, int n)
{
  if (n < 2 || p->groups != 1 || batch_policy == ATTN_BATCH_NEVER)
    return false;
  if (batch_policy == ATTN_BATCH_ALWAYS)
    return true;
  int ho = attn_conv_out_dim (h, p->kh, p->stride_h, p->pad_h, p->dil_h);
  int wo = attn_conv_out_dim (w, p->kw, p->stride_w, p->pad_w, p->dil_w);
  /* one product per image packs the weights once per image and is only
   * Ho·Wo wide; side by side they are packed once and the product is n
   * times wider, for one copy of the columns in and out. That wins only
   * where the maps are small and the weights large, and never against
   * Winograd (attn-bench's batch rows, 4 images, 1 thread: 1.09–1.18× on
   * ResNet-18/50's 7×7 outputs, 0.98–1.00× at 14×14, 0.5–0.6× against
   * Winograd; the default model's 8×8 layers, 18–37 k weights, lose) */
  size_t weights = (size_t) p->c_out * p->c_in * p->kh * p->kw;
  return (size_t) ho * wo <= 64 && weights >= 131072
      && !attn_winograd_pays (p, h, w);
}

size_t
attn_net_many_workspace (const AttnNet *net, int n)
{
  const AttnModel *m = net->m;
  size_t ws = 0;
  if (n < 2)
    return 0;
#define TAKE(l, h, w) \
  if (attn_net_batch_pays (&(l)->p, (h), (w), n)) \
    ws = MAX (ws, attn_conv2d_many_workspace (&(l)->p, n, (h), (w)))
  TAKE (&m->stem, net->h, net->w);
  for (int i = 0; i < m->n_blocks; i++) {
    const AttnBlock *b = &m->blocks[i];
    const BlockPlan *bp = &net->blocks[i];
    TAKE (&b->conv1, bp->h_in, bp->w_in);
    if (m->block_type == ATTN_BLOCK_BOTTLENECK) {
      TAKE (&b->conv2, bp->h_mid, bp->w_mid);
      int h2 = attn_conv_out_dim (bp->h_mid, b->conv2.p.kh, b->conv2.p.stride_h,
                                  b->conv2.p.pad_h, b->conv2.p.dil_h);
      int w2 = attn_conv_out_dim (bp->w_mid, b->conv2.p.kw, b->conv2.p.stride_w,
                                  b->conv2.p.pad_w, b->conv2.p.dil_w);
      TAKE (&b->conv3, h2, w2);
    } else {
      TAKE (&b->conv2, bp->h_mid, bp->w_mid);
    }
    if (b->has_down)
      TAKE (&b->down, bp->h_in, bp->w_in);
  }
#undef TAKE
  return ws;
}

/* One convolution of the n nets, each from in[i] into out[i] (residual
 * res[i] or none): side by side in one product where that pays and ws has
 * room, else net by net. tw[i]: net i's transformed weights or NULL. */
typedef struct {
  AttnNet *const *nets;
  int n;
  float *ws;               /* the batch's workspace, or NULL */
  size_t ws_floats;
} Many;

/* fn(ctx, i) for every net i: with several nets, on as many threads as
 * the budget gives, each net's kernels then on its own thread (a net's
 * work is not split further); one net runs here with its kernels split. */
static void
each_net (int n, void (*fn) (void *ctx, int i), void *ctx)
{
  if (n == 1)
    fn (ctx, 0);
  else
    attn_parallel_for (n, fn, ctx);
}

typedef struct {
  AttnNet *const *nets;
  float *const *out;
  const float *const *in;
  const AttnConvLayer *l;
  const Transformed *const *tw;
  int h, w;
  const float *const *res;
  AttnAct act;
  bool pools;
} ConvEach;

static void
conv_each (void *ctx, int i)
{
  const ConvEach *a = ctx;
  conv_layer (a->nets[i], a->out[i], a->in[i], a->l,
              a->tw ? a->tw[i] : NULL, a->h, a->w,
              a->res ? a->res[i] : NULL, a->act, a->pools);
}

static void
conv_many (const Many *b, float *const *out, const float *const *in,
           const AttnConvLayer *l, const Transformed *const *tw, int h,
           int w,
           const float *const *res, AttnAct act, bool pools)
{
  int n = b->n;
  if (n > 1 && b->ws && attn_net_batch_pays (&l->p, h, w, n)
      && attn_conv2d_many_workspace (&l->p, n, h, w) <= b->ws_floats) {
    AttnEpilogue ep[ATTN_NET_MAX_BATCH];
    for (int i = 0; i < n; i++)
      ep[i] = (AttnEpilogue) { l->bias, res ? res[i] : NULL, act,
                               pools ? b->nets[i]->avg : NULL,
                               pools ? b->nets[i]->max : NULL };
    attn_conv2d_many (out, in, l->weight, ep, b->ws, &l->p, n, h, w);
    return;
  }
  ConvEach a = { b->nets, out, in, l, tw, h, w, res, act, pools };
  each_net (n, conv_each, &a);
}

/* Runs the localisation net, then warps the input; returns the warped input. */
static const float *
run_stn (AttnNet *net)
{
  const AttnModel *m = net->m;
  const float *x = net->input;
  int c = 3, h = net->h, w = net->w;
  for (int i = 0; i < m->n_stn; i++) {
    const AttnStnLayer *l = &m->stn[i];
    float *y = x == net->stn_a ? net->stn_b : net->stn_a;
    const StnPlan *sp = &net->stn[i];
    switch (l->type) {
      case ATTN_STN_CONV:{
        AttnEpilogue ep = { l->bias, NULL, ATTN_ACT_NONE, NULL, NULL };
        attn_conv2d (y, x, l->weight, &ep, net->ws, &l->conv, 1, h, w);
        break;
      }
      case ATTN_STN_MAXPOOL:
        attn_maxpool2d (y, x, &l->pool, c, h, w);
        break;
      case ATTN_STN_AVGPOOL:
        attn_avgpool2d (y, x, &l->pool, c, h, w);
        break;
      case ATTN_STN_RELU:
        attn_relu (y, x, (size_t) c * h * w);
        break;
      case ATTN_STN_GAP:
        attn_global_avgpool (y, x, c, h * w);
        break;
      case ATTN_STN_LINEAR:
        attn_linear (y, x, l->weight, l->bias, 1, l->in, l->out);
        break;
    }
    x = y;
    c = sp->c;
    h = sp->h;
    w = sp->w;
  }
  memcpy (net->theta, x, sizeof net->theta);
  attn_affine_grid (net->grid, net->theta, net->h, net->w,
                    m->stn_align_corners);
  attn_grid_sample (net->warped, net->input, net->grid, 3, net->h, net->w,
                    net->h, net->w, ATTN_SAMPLE_BILINEAR, ATTN_PAD_ZEROS,
                    m->stn_align_corners);
  return net->warped;
}

/* o: the buffer indices other than xi, in order. A block reads buf[xi] and
 * uses buf[o[0]] (conv1), buf[o[1]] (bottleneck conv2), buf[o[2]] (F, then
 * the block's output) and buf[o[3]] (downsampled shortcut). */
static void
other_buffers (int xi, int o[N_BUF - 1])
{
  int k = 0;
  for (int j = 0; j < N_BUF; j++)
    if (j != xi)
      o[k++] = j;
}

/* Where forward_many relays the maps (each time into the buffer after
 * the current one, other_buffers' first): after the stem when the blocks
 * start on blocked maps the stem did not write, and after the last
 * blocked block. attn_net_last_block replays the same rotation. */
static bool
relaid_after_stem (const AttnNet *net)
{
  return net->blocked > 0 && !net->stem_blocked;
}

static bool
relaid_after_block (const AttnNet *net, int i)
{
  return i + 1 == net->blocked;
}

/* The gate of block i and the head, for one net (its f, identity and
 * output buffers as the block left them). */
static void
gate_apply (AttnNet *net, int i, float *f, const float *identity)
{
  const AttnBlock *b = &net->m->blocks[i];
  const BlockPlan *bp = &net->blocks[i];
  int hw = bp->h * bp->w;
  if (b->gate == ATTN_GATE_SE) {
    AttnGateOutput *g = &net->gates[bp->gate];
    float *s = (float *) g->channel;
    attn_se_gate_pooled (s, net->avg, b->w1, b->b1, b->w2, b->b2,
                         net->gate_work, b->c_out, b->hidden);
    attn_scale_channels (f, f, s, identity, b->c_out, hw, ATTN_ACT_RELU);
  } else if (b->gate == ATTN_GATE_CBAM) {
    AttnGateOutput *g = &net->gates[bp->gate];
    float *mc = (float *) g->channel, *ms = (float *) g->spatial;
    attn_cbam_channel_gate_pooled (mc, net->avg, net->max, b->w1, b->b1,
                                   b->w2, b->b2, net->gate_work, b->c_out,
                                   b->hidden);
    attn_cbam_spatial_gate (ms, f, mc, b->sp_w, b->sp_b, net->sp_work,
                            b->c_out, bp->h, bp->w, b->sp_k);
    attn_cbam_apply (f, f, mc, ms, identity, b->c_out, hw, ATTN_ACT_RELU);
  }
}

static void
head (AttnNet *net, const float *x)
{
  const AttnModel *m = net->m;
  const BlockPlan *last = &net->blocks[m->n_blocks - 1];
  attn_global_avgpool (net->feat, x, m->c_last, last->h * last->w);
  attn_linear (net->logits, net->feat, m->fc_w, m->fc_b, 1, m->c_last,
               m->num_classes);
  if (m->decoder) {
    double t0 = now_seconds ();
    net->dec_out = (AttnDecoderOut) { net->dec_tokens, net->dec_scores,
                                      net->dec_alphas, NULL, 0 };
    attn_decoder_run (m->decoder, x, last->h * last->w, net->dec_work,
                      &net->dec_out);
    net->dec_seconds = now_seconds () - t0;
  }
}

typedef struct {
  AttnNet *const *nets;
  const float **x0;          /* each net's warped input */
} StnEach;

static void
stn_each (void *ctx, int i)
{
  const StnEach *a = ctx;
  a->x0[i] = run_stn (a->nets[i]);
}

static void
stem_pool_each (void *ctx, int i)
{
  AttnNet *net = ((AttnNet *const *) ctx)[i];
  const AttnModel *m = net->m;
  if (net->stem_blocked)
    attn_blocked_maxpool (net->buf[1], net->buf[0], &m->stem_pool,
                          m->stem.p.c_out, net->stem_h, net->stem_w);
  else
    attn_maxpool2d (net->buf[1], net->buf[0], &m->stem_pool, m->stem.p.c_out,
                    net->stem_h, net->stem_w);
}

typedef struct {
  AttnNet *const *nets;
  const float *const *in;
} StemEach;

/* The stem into blocked maps (net->stem_wk). */
static void
stem_blocked_each (void *ctx, int i)
{
  const StemEach *a = ctx;
  AttnNet *net = a->nets[i];
  const AttnConvLayer *l = &net->m->stem;
  attn_stem_blocked (net->buf[0], a->in[i], net->stem_wk, l->bias, true,
                     net->ws, &l->p, net->h, net->w);
}

typedef struct {
  AttnNet *const *nets;
  int block;
  float *const *f;
  const float *const *identity;
} GateEach;

static void
gate_each (void *ctx, int i)
{
  const GateEach *a = ctx;
  gate_apply (a->nets[i], a->block, a->f[i], a->identity[i]);
}

typedef struct {
  AttnNet *const *nets;
  int xi;
} HeadEach;

static void
head_each (void *ctx, int i)
{
  const HeadEach *a = ctx;
  head (a->nets[i], a->nets[i]->buf[a->xi]);
}

/* Conv l of a blocked block, as planned in bc: from in (h×w) into out,
 * + (bias + res), ReLU where relu; with pools, the channel pools of the
 * output into net->avg and net->max where the kernel takes them in its
 * store (a 1×1: returns true). */
static bool
blocked_conv (AttnNet *net, const BlockedConv *bc, const AttnConvLayer *l,
              float *out, const float *in, int h, int w, const float *res,
              bool relu, bool pools)
{
  const AttnConv2d *p = &l->p;
  switch (bc->kind) {
    case BC_1X1:
      if (bc->stride > 1) {
        attn_blocked_subsample (net->ws, in, p->c_in, h, w, bc->stride);
        in = net->ws;
        h = attn_conv_out_dim (h, 1, bc->stride, 0, 1);
        w = attn_conv_out_dim (w, 1, bc->stride, 0, 1);
      }
      attn_conv1x1_blocked_pools (out, in, bc->w, l->bias, res, relu,
                                  pools ? net->avg : NULL,
                                  pools ? net->max : NULL, p->c_out, p->c_in,
                                  h * w);
      return pools;
    case BC_DIRECT:
      attn_conv3x3_blocked (out, in, bc->w, l->bias, res, relu, net->ws, p, h,
                            w);
      break;
    case BC_WINO:
      attn_winograd_blocked (out, in, bc->w, l->bias, res, relu, net->ws, p, h,
                             w, bc->m);
      break;
    case BC_WINO_NCHW:{        /* never with a residual (blocked_plan) */
      int ho = attn_conv_out_dim (h, 3, 1, p->pad_h, 1);
      int wo = attn_conv_out_dim (w, 3, 1, p->pad_w, 1);
      float *x = net->ws, *y = net->ws + (size_t) p->c_in * h * w;
      AttnEpilogue ep = { l->bias, NULL, relu ? ATTN_ACT_RELU : ATTN_ACT_NONE,
                          NULL, NULL };
      attn_blocked_to_nchw (x, in, p->c_in, h * w);
      attn_conv2d_winograd (y, x, bc->w, &ep, net->wino_ws, p, h, w, bc->m);
      attn_blocked_from_nchw (out, y, p->c_out, ho * wo);
      break;
    }
  }
  return false;
}

/* The gate of block i on blocked maps (f: its F, then its output), as
 * gate_apply on NCHW; the channel pools taken here unless F's store took
 * them (pooled). */
static void
blocked_gate (AttnNet *net, int i, float *f, const float *identity,
              bool pooled)
{
  const AttnBlock *b = &net->m->blocks[i];
  const BlockPlan *bp = &net->blocks[i];
  int hw = bp->h * bp->w, c = b->c_out;
  AttnGateOutput *g = &net->gates[bp->gate];
  if (!pooled)
    attn_blocked_channel_pools (net->avg, net->max, f, c, hw);
  if (b->gate == ATTN_GATE_SE) {
    float *s = (float *) g->channel;
    attn_se_gate_pooled (s, net->avg, b->w1, b->b1, b->w2, b->b2,
                         net->gate_work, c, b->hidden);
    attn_blocked_gate_apply (f, f, s, NULL, identity, true, c, hw);
  } else {
    float *mc = (float *) g->channel, *ms = (float *) g->spatial;
    float *pmax = net->sp_work, *pmean = net->sp_work + hw;
    attn_cbam_channel_gate_pooled (mc, net->avg, net->max, b->w1, b->b1,
                                   b->w2, b->b2, net->gate_work, c,
                                   b->hidden);
    attn_blocked_spatial_pools (pmax, pmean, f, mc, c, hw, net->ws);
    attn_cbam_spatial_pooled (ms, pmax, pmean, b->sp_w, b->sp_b, bp->h, bp->w,
                              b->sp_k);
    attn_blocked_gate_apply (f, f, mc, ms, identity, true, c, hw);
  }
}

/* Block bi of one net on blocked maps, its input in buf[xi] and its
 * output into buf[o[2]] (other_buffers), as the NCHW block; pr: the
 * profile's clock, stepped after each step (NULL: none). */
static void
blocked_forward_block (AttnNet *net, int bi, int xi, Prof *pr)
{
  const AttnModel *m = net->m;
  const AttnBlock *b = &m->blocks[bi];
  const BlockPlan *bp = &net->blocks[bi];
  int o[N_BUF - 1];
  other_buffers (xi, o);
  const float *in = net->buf[xi];
  float *t1 = net->buf[o[0]], *t2 = net->buf[o[1]], *f = net->buf[o[2]];
  float *id = net->buf[o[3]];
  const float *identity = b->has_down ? id : in;
  if (b->has_down) {
    blocked_conv (net, &bp->bd, &b->down, id, in, bp->h_in, bp->w_in, NULL,
                  false, false);
    prof_step (pr);
  }
  bool gated = b->gate != ATTN_GATE_NONE, pooled;
  const float *res = gated ? NULL : identity;
  blocked_conv (net, &bp->b1, &b->conv1, t1, in, bp->h_in, bp->w_in, NULL,
                true, false);
  prof_step (pr);
  if (m->block_type == ATTN_BLOCK_BOTTLENECK) {
    blocked_conv (net, &bp->b2, &b->conv2, t2, t1, bp->h_mid, bp->w_mid,
                  NULL, true, false);
    prof_step (pr);
    int h2 = attn_conv_out_dim (bp->h_mid, 3, b->conv2.p.stride_h,
                                b->conv2.p.pad_h, 1);
    int w2 = attn_conv_out_dim (bp->w_mid, 3, b->conv2.p.stride_w,
                                b->conv2.p.pad_w, 1);
    pooled = blocked_conv (net, &bp->b3, &b->conv3, f, t2, h2, w2, res,
                           !gated, gated);
  } else {
    pooled = blocked_conv (net, &bp->b2, &b->conv2, f, t1, bp->h_mid,
                           bp->w_mid, res, !gated, gated);
  }
  prof_step (pr);
  if (gated) {
    blocked_gate (net, bi, f, identity, pooled);
    prof_step (pr);
  }
}

typedef struct {
  AttnNet *const *nets;
  int bi, xi;
} BlockedEach;

static void
blocked_each (void *ctx, int i)
{
  const BlockedEach *a = ctx;
  blocked_forward_block (a->nets[i], a->bi, a->xi, NULL);
}

/* buf[from] into buf[to], NCHW to blocked (to_blocked) or back: c
 * channels of h×w */
typedef struct {
  AttnNet *const *nets;
  int from, to, c, hw;
  bool to_blocked;
} Relayout;

static void
relayout_each (void *ctx, int i)
{
  const Relayout *r = ctx;
  AttnNet *net = r->nets[i];
  if (r->to_blocked)
    attn_blocked_from_nchw (net->buf[r->to], net->buf[r->from], r->c, r->hw);
  else
    attn_blocked_to_nchw (net->buf[r->to], net->buf[r->from], r->c, r->hw);
}

/* The forward pass of n nets of one model at one size, layer by layer:
 * every net's buffers rotate alike, so buffer j of one is buffer j of
 * all. A layer that runs net by net runs the nets side by side on the
 * thread budget (each_net); one net is attn_net_forward. */
static void
forward_many (const Many *b)
{
  AttnNet *const *nets = b->nets;
  int n = b->n;
  const AttnNet *n0 = nets[0];
  const AttnModel *m = n0->m;
  float *out[ATTN_NET_MAX_BATCH] = { 0 }, *t1[ATTN_NET_MAX_BATCH] = { 0 };
  float *t2[ATTN_NET_MAX_BATCH] = { 0 }, *f[ATTN_NET_MAX_BATCH] = { 0 };
  float *id[ATTN_NET_MAX_BATCH] = { 0 };
  const float *in[ATTN_NET_MAX_BATCH] = { 0 };
  const float *identity[ATTN_NET_MAX_BATCH] = { 0 };
  const Transformed *w1[ATTN_NET_MAX_BATCH] = { 0 };
  const Transformed *w2[ATTN_NET_MAX_BATCH] = { 0 };
  Prof pr = { n0->prof_on ? nets[0] : NULL, 0, 0.0 };
  if (pr.net)
    pr.t = now_seconds ();

  if (m->stn) {
    StnEach a = { nets, in };
    each_net (n, stn_each, &a);
    prof_step (&pr);
  }
  for (int i = 0; i < n; i++) {
    if (!m->stn)
      in[i] = nets[i]->input;
    out[i] = nets[i]->buf[0];
  }
  if (n0->stem_blocked) {
    StemEach a = { nets, in };
    each_net (n, stem_blocked_each, &a);
  } else {
    conv_many (b, out, in, &m->stem, NULL, n0->h, n0->w, NULL, ATTN_ACT_RELU,
               false);
  }
  prof_step (&pr);
  int xi = 0;
  if (m->has_stem_pool) {
    each_net (n, stem_pool_each, (void *) nets);
    prof_step (&pr);
    xi = 1;
  }

  if (relaid_after_stem (n0)) {  /* the stem's output to blocked maps */
    int o[N_BUF - 1];
    other_buffers (xi, o);
    Relayout r = { nets, xi, o[0], m->stem.p.c_out, n0->pool_h * n0->pool_w,
      true
    };
    each_net (n, relayout_each, &r);
    xi = o[0];
  }

  for (int bi = 0; bi < m->n_blocks; bi++) {
    const AttnBlock *blk = &m->blocks[bi];
    const BlockPlan *bp = &n0->blocks[bi];
    int o[N_BUF - 1];
    other_buffers (xi, o);
    if (bi < n0->blocked) {
      /* net by net (several: side by side, the profile's steps all in
       * the block's first) */
      if (n == 1) {
        blocked_forward_block (nets[0], bi, xi, &pr);
      } else {
        BlockedEach a = { nets, bi, xi };
        each_net (n, blocked_each, &a);
        for (int k = 0; k < block_steps (m, bi); k++)
          prof_step (&pr);
      }
      xi = o[2];
      if (relaid_after_block (n0, bi)) {  /* back to NCHW for the rest */
        other_buffers (xi, o);
        Relayout r = { nets, xi, o[0], blk->c_out, bp->h * bp->w, false };
        each_net (n, relayout_each, &r);
        xi = o[0];
      }
      continue;
    }
    for (int i = 0; i < n; i++) {
      AttnNet *net = nets[i];
      in[i] = net->buf[xi];
      t1[i] = net->buf[o[0]];
      t2[i] = net->buf[o[1]];
      f[i] = net->buf[o[2]];
      id[i] = net->buf[o[3]];
      identity[i] = blk->has_down ? id[i] : in[i];
      w1[i] = &net->blocks[bi].tw1;
      w2[i] = &net->blocks[bi].tw2;
    }
    if (blk->has_down) {
      conv_many (b, id, in, &blk->down, NULL, bp->h_in, bp->w_in, NULL,
                 ATTN_ACT_NONE, false);
      prof_step (&pr);
    }
    bool gated = blk->gate != ATTN_GATE_NONE;
    const float *const *res = gated ? NULL : identity;
    AttnAct last_act = gated ? ATTN_ACT_NONE : ATTN_ACT_RELU;
    conv_many (b, t1, in, &blk->conv1, w1, bp->h_in, bp->w_in, NULL,
               ATTN_ACT_RELU, false);
    prof_step (&pr);
    if (m->block_type == ATTN_BLOCK_BOTTLENECK) {
      conv_many (b, t2, (const float *const *) t1, &blk->conv2, w2, bp->h_mid,
                 bp->w_mid, NULL, ATTN_ACT_RELU, false);
      prof_step (&pr);
      conv_many (b, f, (const float *const *) t2, &blk->conv3, NULL, bp->h,
                 bp->w, res, last_act, gated);
    } else {
      conv_many (b, f, (const float *const *) t1, &blk->conv2, w2, bp->h_mid,
                 bp->w_mid, res, last_act, gated);
    }
    prof_step (&pr);
    if (gated) {
      GateEach a = { nets, bi, f, identity };
      each_net (n, gate_each, &a);
      prof_step (&pr);
    }
    xi = o[2];
  }
  HeadEach a = { nets, xi };
  each_net (n, head_each, &a);
  prof_step (&pr);
  /* counted only when its steps matched the table, one by one */
  if (pr.net && pr.i == pr.net->n_prof)
    pr.net->prof_forwards++;
}

void
attn_net_forward (AttnNet *net)
{
  Many b = { &net, 1, NULL, 0 };
  forward_many (&b);
}

bool
attn_net_forward_many (AttnNet *const *nets, int n, float *ws,
                       size_t ws_floats)
{
  if (n < 1 || n > ATTN_NET_MAX_BATCH)
    return false;
  for (int i = 1; i < n; i++)
    if (nets[i]->m != nets[0]->m || nets[i]->h != nets[0]->h
        || nets[i]->w != nets[0]->w)
      return false;
  Many b = { nets, n, ws, ws_floats };
  forward_many (&b);
  return true;
}

bool
attn_net_sequence (const AttnNet *net, AttnSequence *seq)
{
  const AttnDecoder *d = net->m->decoder;
  if (!d)
    return false;
  const BlockPlan *last = &net->blocks[net->m->n_blocks - 1];
  *seq = (AttnSequence) {
    d, net->dec_out.length, net->dec_tokens, net->dec_scores, net->dec_alphas,
    last->h, last->w, net->dec_seconds,
  };
  return true;
}

const AttnModel *
attn_net_model (const AttnNet *net)
{
  return net->m;
}

const float *
attn_net_logits (const AttnNet *net)
{
  return net->logits;
}

int
attn_net_n_gates (const AttnNet *net)
{
  return net->n_gates;
}

const AttnGateOutput *
attn_net_gate (const AttnNet *net, int i)
{
  return i >= 0 && i < net->n_gates ? &net->gates[i] : NULL;
}

const AttnGateOutput *
attn_net_final_map (const AttnNet *net)
{
  return net->final_gate >= 0 ? &net->gates[net->final_gate] : NULL;
}

const float *
attn_net_theta (const AttnNet *net)
{
  return net->m->stn ? net->theta : NULL;
}

size_t
attn_net_arena_bytes (const AttnNet *net)
{
  return net->arena_floats * sizeof (float);
}

size_t
attn_net_weight_bytes (const AttnNet *net)
{
  return net->weight_floats * sizeof (float);
}

bool
attn_net_shares_weights (const AttnNet *net)
{
  return net->weights != NULL;
}

double
attn_net_macs (const AttnNet *net)
{
  return net->macs;
}

void
attn_net_last_block (const AttnNet *net, AttnBlockTaps *taps)
{
  const AttnModel *m = net->m;
  int xi = m->has_stem_pool ? 1 : 0, o[N_BUF - 1];
  if (relaid_after_stem (net)) {  /* forward's rotation and relayouts */
    other_buffers (xi, o);
    xi = o[0];
  }
  for (int i = 0; i < m->n_blocks - 1; i++) {
    other_buffers (xi, o);
    xi = o[2];
    if (relaid_after_block (net, i)) {
      other_buffers (xi, o);
      xi = o[0];
    }
  }
  other_buffers (xi, o);
  const AttnBlock *b = &m->blocks[m->n_blocks - 1];
  const BlockPlan *bp = &net->blocks[m->n_blocks - 1];
  bool bottleneck = m->block_type == ATTN_BLOCK_BOTTLENECK;
  *taps = (AttnBlockTaps) {
    .block = b,
    .h_in = bp->h_in, .w_in = bp->w_in,
    .h_mid = bp->h_mid, .w_mid = bp->w_mid,
    .h = bp->h, .w = bp->w,
    .input = net->buf[xi],
    .t1 = net->buf[o[0]],
    .t2 = bottleneck ? net->buf[o[1]] : NULL,
    .output = net->buf[o[2]],
    .gate = bp->gate >= 0 ? &net->gates[bp->gate] : NULL,
  };
}
