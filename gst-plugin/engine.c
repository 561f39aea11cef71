/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine.c — see engine.h. */
#include "engine.h"

#include <float.h>
#include <glib.h>
#include <math.h>
#include <string.h>

#include "activation.h"
#include "mem.h"
#include "network.h"
#include "parallel.h"
#include "region.h"
#include "saliency.h"
#include "topk.h"

/* Transformed weights shared by every engine of one model in the process:
 * the first engine's net computes them, the entry keeps that net (and its
 * model) alive until the last engine using them is freed. */
typedef struct {
  AttnModel *model;             /* a reference */
  AttnNet *net;                 /* owned by the entry */
  int refs;
  /* frames of several engines in one pass (batch_forward): the nets
   * waiting for the next batch, under batch_lock */
  GMutex batch_lock;
  GCond batch_cond;
  AttnNet *queue[ATTN_NET_MAX_BATCH];
  int *ran_with[ATTN_NET_MAX_BATCH];   /* each waiter's: its batch's size */
  int queued;
  int want;                     /* the smallest batch size among them */
  int64_t deadline_ns;          /* the first one's wait ends */
  uint64_t taken;               /* batches taken to run */
  uint64_t finished;            /* batches run (in order, one at a time) */
  bool running;
  float *ws;                    /* the batched layers' workspace, grown
                                 * to the largest batch run so far */
  size_t ws_floats;
} SharedWeights;

static GMutex shared_lock;
static GList *shared_weights;   /* of SharedWeights, under shared_lock */

/* A reference to the shared weights of `model`, or NULL if none yet. */
static SharedWeights *
shared_find (const AttnModel *model)
{
  SharedWeights *found = NULL;
  g_mutex_lock (&shared_lock);
  for (GList *l = shared_weights; l && !found; l = l->next) {
    SharedWeights *sw = l->data;
    if (sw->model == model) {
      sw->refs++;
      found = sw;
    }
  }
  g_mutex_unlock (&shared_lock);
  return found;
}

/* Registers `net` (which owns its weights) as `model`'s, with one
 * reference: the caller's. */
static SharedWeights *
shared_add (AttnModel *model, AttnNet *net)
{
  SharedWeights *sw = g_new0 (SharedWeights, 1);
  g_mutex_init (&sw->batch_lock);
  g_cond_init (&sw->batch_cond);
  sw->model = attn_model_ref (model);
  sw->net = net;
  sw->refs = 1;
  g_mutex_lock (&shared_lock);
  shared_weights = g_list_prepend (shared_weights, sw);
  g_mutex_unlock (&shared_lock);
  return sw;
}

static void
shared_unref (SharedWeights *sw)
{
  if (!sw)
    return;
  g_mutex_lock (&shared_lock);
  gboolean last = --sw->refs == 0;
  if (last)
    shared_weights = g_list_remove (shared_weights, sw);
  g_mutex_unlock (&shared_lock);
  if (!last)
    return;
  attn_net_free (sw->net);
  attn_model_unref (sw->model);
  attn_mem_free (sw->ws);
  g_mutex_clear (&sw->batch_lock);
  g_cond_clear (&sw->batch_cond);
  g_free (sw);
}

/* Runs `net` (input filled) together with the nets of other engines of the
 * same model that arrive meanwhile: the first to arrive waits until
 * `size` nets (the smallest size any of them asked for) are queued or its
 * `timeout_ns` passes, then runs them all in one attn_net_forward_many on
 * its own thread while the others wait for it. One batch of a model runs at
 * a time. Returns how many nets ran in net's batch. */
static int
batch_forward (SharedWeights *sw, AttnNet *net, int size, int64_t timeout_ns)
{
  int ran_with = 0;
  g_mutex_lock (&sw->batch_lock);
  while (sw->queued == ATTN_NET_MAX_BATCH)     /* this batch is full */
    g_cond_wait (&sw->batch_cond, &sw->batch_lock);
  int slot = sw->queued++;
  sw->queue[slot] = net;
  sw->ran_with[slot] = &ran_with;
  uint64_t batch = sw->taken;
  if (slot == 0) {
    sw->want = size;
    sw->deadline_ns = attn_engine_now_ns () + MAX (timeout_ns, 0);
  } else {
    sw->want = MIN (sw->want, size);
  }
  g_cond_broadcast (&sw->batch_cond);
  if (slot == 0) {
    /* the leader: until the batch is full or the wait is over, and no
     * earlier batch runs */
    while (sw->queued < sw->want)
      if (!g_cond_wait_until (&sw->batch_cond, &sw->batch_lock,
              sw->deadline_ns / 1000))
        break;
    while (sw->running)
      g_cond_wait (&sw->batch_cond, &sw->batch_lock);
    AttnNet *nets[ATTN_NET_MAX_BATCH];
    int *sizes[ATTN_NET_MAX_BATCH];
    int n = sw->queued;
    memcpy (nets, sw->queue, sizeof (AttnNet *) * n);
    memcpy (sizes, sw->ran_with, sizeof (int *) * n);
    sw->queued = 0;
    sw->taken++;
    sw->running = true;
    g_cond_broadcast (&sw->batch_cond);
    /* the workspace only grows, to the largest batch this model ran */
    size_t need = attn_net_many_workspace (net, n);
    if (need > sw->ws_floats) {
      attn_mem_free (sw->ws);
      sw->ws = attn_mem_floats (need, false);
      sw->ws_floats = sw->ws ? need : 0;
    }
    g_mutex_unlock (&sw->batch_lock);
    attn_parallel_enter ();
    attn_net_forward_many (nets, n, sw->ws, sw->ws_floats);
    attn_parallel_leave ();
    g_mutex_lock (&sw->batch_lock);
    for (int i = 0; i < n; i++)      /* the waiters' stacks, still theirs */
      *sizes[i] = n;
    sw->running = false;
    sw->finished++;
    g_cond_broadcast (&sw->batch_cond);
  } else {
    while (sw->finished <= batch)
      g_cond_wait (&sw->batch_cond, &sw->batch_lock);
  }
  g_mutex_unlock (&sw->batch_lock);
  return ran_with;
}

struct AttnEngineModel {
  AttnModel *model;
  AttnNet *net;                 /* this engine's (its weights may be in
                                 * shared->net, which may be net itself) */
  SharedWeights *shared;
  GstAttentionResultPool *pool;
  float *logits;                /* (num_classes) sanitised copy */
  float *probs;
  int *topk_idx;
  float *topk_val;
  int *region_scratch;
  uint64_t warmup_ns;
  AttnSaliency *gradient;       /* planned on first use */
  float *gradient_map;
};

struct AttnEngine {
  GMutex lock;                  /* everything below, unless marked */
  GCond cond;

  AttnEngineModel *model;       /* changed by begin() only, while idle */
  AttnEngineModel *pending;

  bool busy;                    /* an inference runs (or its input is
                                 * being filled) */
  uint64_t generation;          /* bumped by flush: older jobs are void */
  GstAttentionResult *last;

  /* the worker */
  GThread *worker;
  bool job_ready, quit;
  AttnJob job;
  uint64_t job_generation;

  AttnEngineStats stats;
  int64_t last_done_ns;
  gint threads;                 /* atomic: the forward pass's limit */
  gint batch_size;              /* atomic: 1 = alone */
  gint batch_timeout_us;        /* atomic */
};

int64_t
attn_engine_now_ns (void)
{
  return g_get_monotonic_time () * 1000;
}

/* ---- the model ----------------------------------------------------------- */

void
attn_engine_model_free (AttnEngineModel *m)
{
  if (!m)
    return;
  if (!m->shared || m->shared->net != m->net)
    attn_net_free (m->net);     /* else the shared entry owns it */
  shared_unref (m->shared);
  attn_model_unref (m->model);
  gst_attention_result_pool_release (m->pool);
  g_free (m->logits);
  g_free (m->probs);
  g_free (m->topk_idx);
  g_free (m->topk_val);
  g_free (m->region_scratch);
  attn_saliency_free (m->gradient);
  g_free (m->gradient_map);
  g_free (m);
}

AttnEngineModel *
attn_engine_model_load (const char *path, char *err, size_t errlen)
{
  return attn_engine_model_load_sized (path, 0, 0, err, errlen);
}

AttnEngineModel *
attn_engine_model_load_sized (const char *path, int height, int width,
                              char *err, size_t errlen)
{
  AttnModel *model = attn_model_open_shared (path, err, errlen);
  if (!model)
    return NULL;
  AttnEngineModel *m = g_new0 (AttnEngineModel, 1);
  m->model = model;
  bool own_size = (height <= 0 || height == model->pre.height)
      && (width <= 0 || width == model->pre.width);
  if (height <= 0)
    height = model->pre.height;
  if (width <= 0)
    width = model->pre.width;
  /* the model's transformed weights, computed once in the process */
  m->shared = own_size ? shared_find (model) : NULL;
  m->net = attn_net_new_sharing (model, height, width,
      m->shared ? m->shared->net : NULL, err, errlen);
  if (!m->net) {
    attn_engine_model_free (m);
    return NULL;
  }
  if (!m->shared && own_size)
    m->shared = shared_add (model, m->net);
  /* the result layout: every spatial map, room for all classes and the
   * last gate's channel weights */
  int n = attn_net_n_gates (m->net), n_maps = 0, n_channels = 0;
  const gchar **names = g_new0 (const gchar *, MAX (n, 1));
  guint *widths = g_new0 (guint, MAX (n, 1));
  guint *heights = g_new0 (guint, MAX (n, 1));
  for (int i = 0; i < n; i++) {
    const AttnGateOutput *g = attn_net_gate (m->net, i);
    n_channels = g->channels;
    if (!g->spatial)
      continue;
    names[n_maps] = g->name;
    widths[n_maps] = (guint) g->width;
    heights[n_maps] = (guint) g->height;
    n_maps++;
  }
  GstAttentionResultLayout layout = { model->name, (guint) model->num_classes,
    (guint) n_maps, names, widths, heights, (guint) n_channels, 0, 0, 0, 0
  };
  AttnSequence seq;
  if (attn_net_sequence (m->net, &seq)) {
    /* a sentence cut by max_length has max_length tokens, else fewer */
    const AttnDecoder *d = seq.decoder;
    gsize longest = 1;
    for (int i = 0; i < d->vocab; i++)
      longest = MAX (longest, strlen (d->vocabulary[i]));
    layout.max_tokens = (guint) d->max_length;
    layout.token_width = (guint) seq.width;
    layout.token_height = (guint) seq.height;
    layout.max_sentence = (guint) MIN ((gsize) d->max_length * (longest + 1) + 1,
                                       (gsize) 1 << 20);
  }
  m->pool = gst_attention_result_pool_new (&layout);
  g_free (names);
  g_free (widths);
  g_free (heights);
  m->logits = g_new (float, model->num_classes);
  m->probs = g_new (float, model->num_classes);
  m->topk_idx = g_new (int, model->num_classes);
  m->topk_val = g_new (float, model->num_classes);
  const AttnGateOutput *fin = attn_net_final_map (m->net);
  m->region_scratch = g_new (int, MAX (fin ? region_scratch_ints (fin->width,
                  fin->height) : 0, 1));

  /* one warm-up pass: touches the arena and measures the time an inference
   * takes before the first real frame */
  int64_t t0 = attn_engine_now_ns ();
  attn_parallel_enter ();
  attn_net_forward (m->net);
  attn_parallel_leave ();
  m->warmup_ns = (uint64_t) (attn_engine_now_ns () - t0);
  return m;
}

const AttnModel *
attn_engine_model_info (const AttnEngineModel *m)
{
  return m->model;
}

uint64_t
attn_engine_model_warmup_ns (const AttnEngineModel *m)
{
  return m->warmup_ns;
}

/* The cells of a w × h map over the input area whose centres fall on the
 * frame's analysed content (at least one cell). */
static RegionCells
content_cells (const AttnJob *job, int w, int h)
{
  RegionCells c = { 0, 0, w, h };
  if (job->area_w <= 0 || job->area_h <= 0)
    return c;
  double u0 = (job->content_x - job->area_x) / job->area_w * w - 0.5;
  double u1 = (job->content_x + job->content_w - job->area_x) / job->area_w
      * w - 0.5;
  double v0 = (job->content_y - job->area_y) / job->area_h * h - 0.5;
  double v1 = (job->content_y + job->content_h - job->area_y) / job->area_h
      * h - 0.5;
  c.x0 = (int) CLAMP (ceil (u0 - 1e-6), 0, w - 1);
  c.x1 = (int) CLAMP (floor (u1 + 1e-6) + 1, c.x0 + 1, w);
  c.y0 = (int) CLAMP (ceil (v0 - 1e-6), 0, h - 1);
  c.y1 = (int) CLAMP (floor (v1 + 1e-6) + 1, c.y0 + 1, h);
  return c;
}

/* Where the transformer's output corners sample its input, on the frame:
 * the outer edges of the output's corner pixels in normalised coordinates
 * (±1 without align_corners; ±n/(n−1) with it, where ±1 are the corner
 * pixels' centres), through θ, to input pixel edges as grid_sample reads
 * them ((x + 1)/2·W, or (x + 1)/2·(W − 1) + ½ with align_corners), then
 * onto the job's area. */
static void
transformer_quad (float quad[8], const float theta[6], int w, int h,
                  bool align_corners, const AttnJob *job)
{
  static const int corner[4][2] = { {-1, -1}, {1, -1}, {1, 1}, {-1, 1} };
  double ex = align_corners && w > 1 ? (double) w / (w - 1) : 1.0;
  double ey = align_corners && h > 1 ? (double) h / (h - 1) : 1.0;
  for (int i = 0; i < 4; i++) {
    double xo = corner[i][0] * ex, yo = corner[i][1] * ey;
    double xs = theta[0] * xo + theta[1] * yo + theta[2];
    double ys = theta[3] * xo + theta[4] * yo + theta[5];
    double px = align_corners ? (xs + 1) / 2 * (w - 1) + 0.5 : (xs + 1) / 2 * w;
    double py = align_corners ? (ys + 1) / 2 * (h - 1) + 0.5 : (ys + 1) / 2 * h;
    quad[2 * i] = (float) (job->area_x + px / w * job->area_w);
    quad[2 * i + 1] = (float) (job->area_y + py / h * job->area_h);
  }
}

/* Turns the net's outputs into a result. Runs in whichever thread ran the
 * forward pass; touches only the model and the job. */
static GstAttentionResult *
model_result (AttnEngineModel *m, const AttnJob *job, uint64_t inference_ns)
{
  const AttnModel *model = m->model;
  GstAttentionResult *r = gst_attention_result_pool_acquire (m->pool);
  r->frame = job->frame;
  r->inference_ns = inference_ns;

  /* finite weights can still overflow to ±inf or NaN logits: rank NaN
   * lowest and keep ±inf finite, so the probabilities stay numbers */
  const float *raw = attn_net_logits (m->net);
  for (int i = 0; i < model->num_classes; i++)
    m->logits[i] = isnan (raw[i]) ? -FLT_MAX
        : fminf (fmaxf (raw[i], -FLT_MAX), FLT_MAX);
  attn_softmax (m->probs, m->logits, (size_t) model->num_classes);
  int k = (int) MIN (job->top_k, (unsigned) model->num_classes);
  attn_topk (m->topk_idx, m->topk_val, m->probs, model->num_classes, k);
  GstAttentionClassification *classes =
      gst_attention_result_classes_writable (r);
  for (int i = 0; i < k; i++) {
    float p = m->topk_val[i];
    classes[i].index = (guint) m->topk_idx[i];
    classes[i].score = isfinite (p) ? p : 0.0f;
    classes[i].label = g_intern_string (model->labels[m->topk_idx[i]]);
  }
  r->n_classes = (guint) k;

  GstAttentionMap *maps = gst_attention_result_maps_writable (r);
  guint mi = 0;
  const AttnGateOutput *last_gate = NULL;
  for (int i = 0; i < attn_net_n_gates (m->net); i++) {
    const AttnGateOutput *g = attn_net_gate (m->net, i);
    last_gate = g;
    if (!g->spatial)
      continue;
    memcpy (gst_attention_result_map_data_writable (r, mi), g->spatial,
            sizeof (float) * g->width * g->height);
    maps[mi].x = job->area_x;
    maps[mi].y = job->area_y;
    maps[mi].w = job->area_w;
    maps[mi].h = job->area_h;
    mi++;
  }
  if (job->channels && last_gate && last_gate->channels > 0) {
    float *ch = gst_attention_result_channels_writable (r);
    if (ch) {
      memcpy (ch, last_gate->channel, sizeof (float) * last_gate->channels);
      r->n_channels = (guint) last_gate->channels;
    }
  }

  const AttnGateOutput *fin = attn_net_final_map (m->net);
  if (fin) {
    RegionCells cells = content_cells (job, fin->width, fin->height);
    AttnRegion reg;
    region_find (&reg, fin->spatial, fin->width, fin->height, &cells,
                 job->threshold, m->region_scratch);
    float sx = job->area_w / fin->width, sy = job->area_h / fin->height;
    /* the box and the centroid, on the frame and within the content */
    float cx0 = job->content_x, cy0 = job->content_y;
    float cx1 = cx0 + job->content_w, cy1 = cy0 + job->content_h;
    float x0 = CLAMP (job->area_x + reg.x0 * sx, cx0, cx1);
    float x1 = CLAMP (job->area_x + reg.x1 * sx, x0, cx1);
    float y0 = CLAMP (job->area_y + reg.y0 * sy, cy0, cy1);
    float y1 = CLAMP (job->area_y + reg.y1 * sy, y0, cy1);
    float px = CLAMP (job->area_x + reg.centroid_x * sx, cx0, cx1);
    float py = CLAMP (job->area_y + reg.centroid_y * sy, cy0, cy1);
    r->region = (GstAttentionRegion) { x0, y0, x1 - x0, y1 - y0,
      isfinite (reg.score) ? reg.score : 0.0f, px, py,
      isfinite (reg.peak) ? reg.peak : 0.0f
    };
    r->has_region = x1 > x0 && y1 > y0;
  }
  AttnSequence seq;
  if (attn_net_sequence (m->net, &seq)) {
    /* the sentence without the end token; each token with its α */
    GstAttentionToken *tokens = gst_attention_result_tokens_writable (r);
    size_t cells = (size_t) seq.width * seq.height;
    guint n = 0;
    for (int t = 0; t < seq.length; t++) {
      int id = seq.tokens[t];
      if (id == seq.decoder->end)
        break;
      GstAttentionToken *tok = &tokens[n++];
      tok->id = (guint) id;
      tok->score = isfinite (seq.scores[t]) ? seq.scores[t] : 0.0f;
      tok->text = g_intern_string (seq.decoder->vocabulary[id]);
      tok->alpha.name = tok->text;
      memcpy ((float *) tok->alpha.data, seq.alphas + (size_t) t * cells,
              sizeof (float) * cells);
      tok->alpha.x = job->area_x;
      tok->alpha.y = job->area_y;
      tok->alpha.w = job->area_w;
      tok->alpha.h = job->area_h;
    }
    gst_attention_result_set_n_tokens (r, n);
  }
  const float *theta = attn_net_theta (m->net);
  if (theta) {
    memcpy (r->theta, theta, sizeof r->theta);
    r->has_theta = TRUE;
    transformer_quad (r->quad, theta, model->pre.width, model->pre.height,
        model->stn_align_corners, job);
  }
  return r;
}

/* ---- the engine ---------------------------------------------------------- */

AttnEngine *
attn_engine_new (AttnEngineModel *m)
{
  AttnEngine *e = g_new0 (AttnEngine, 1);
  g_mutex_init (&e->lock);
  g_cond_init (&e->cond);
  e->model = m;
  e->batch_size = 1;
  e->stats.latency_ns = (double) m->warmup_ns;
  e->stats.max_latency_ns = m->warmup_ns;
  return e;
}

static void
worker_stop (AttnEngine *e)
{
  g_mutex_lock (&e->lock);
  GThread *t = e->worker;
  e->worker = NULL;
  e->quit = true;
  g_cond_broadcast (&e->cond);
  g_mutex_unlock (&e->lock);
  if (t)
    g_thread_join (t);
}

void
attn_engine_free (AttnEngine *e)
{
  if (!e)
    return;
  worker_stop (e);
  gst_attention_result_unref (e->last);
  attn_engine_model_free (e->model);
  attn_engine_model_free (e->pending);
  g_mutex_clear (&e->lock);
  g_cond_clear (&e->cond);
  g_free (e);
}

void
attn_engine_set_threads (AttnEngine *e, int threads)
{
  g_atomic_int_set (&e->threads, MAX (threads, 0));
}

void
attn_engine_set_batch (AttnEngine *e, int size, int64_t timeout_ns)
{
  g_atomic_int_set (&e->batch_size, CLAMP (size, 1, ATTN_NET_MAX_BATCH));
  /* which layers run batched, for tests and measurements: "all" or
   * "none" (process-wide); unset, the planner's choice */
  const gchar *layers = g_getenv ("GST_ATTENTION_BATCH_LAYERS");
  if (layers)
    attn_net_set_batch_policy (g_str_equal (layers, "all") ? ATTN_BATCH_ALWAYS
        : g_str_equal (layers, "none") ? ATTN_BATCH_NEVER : ATTN_BATCH_AUTO);
  /* in µs, so that it is one atomic int; at most ~35 min */
  g_atomic_int_set (&e->batch_timeout_us,
      (gint) CLAMP (timeout_ns / 1000, 0, G_MAXINT));
}

void
attn_engine_set_model (AttnEngine *e, AttnEngineModel *m)
{
  g_mutex_lock (&e->lock);
  AttnEngineModel *old = e->pending;
  e->pending = m;
  g_mutex_unlock (&e->lock);
  attn_engine_model_free (old);
}

const AttnModel *
attn_engine_model (AttnEngine *e)
{
  return e->model->model;
}

/* Waits on the engine's condition until deadline_ns; false once it passed.
 * With the lock held. */
static bool
wait_until (AttnEngine *e, int64_t deadline_ns)
{
  if (deadline_ns < 0)
    return false;
  if (deadline_ns == INT64_MAX) {
    g_cond_wait (&e->cond, &e->lock);
    return true;
  }
  return g_cond_wait_until (&e->cond, &e->lock, deadline_ns / 1000);
}

float *
attn_engine_begin (AttnEngine *e, int64_t deadline_ns, bool *swapped)
{
  AttnEngineModel *old = NULL;
  *swapped = false;
  g_mutex_lock (&e->lock);
  while (e->busy)
    if (!wait_until (e, deadline_ns) && e->busy) {
      g_mutex_unlock (&e->lock);
      return NULL;
    }
  if (e->pending) {
    old = e->model;
    e->model = e->pending;
    e->pending = NULL;
    /* results of the old model stay valid: they hold its pool */
    e->stats.max_latency_ns = e->model->warmup_ns;
    e->stats.latency_ns = (double) e->model->warmup_ns;
    *swapped = true;
  }
  e->busy = true;             /* the input is the caller's until run() */
  float *in = attn_net_input (e->model->net);
  g_mutex_unlock (&e->lock);
  attn_engine_model_free (old);
  return in;
}

void
attn_engine_cancel (AttnEngine *e)
{
  g_mutex_lock (&e->lock);
  e->busy = false;
  g_cond_broadcast (&e->cond);
  g_mutex_unlock (&e->lock);
}

/* Records a finished inference; with the lock held. */
static void
publish (AttnEngine *e, GstAttentionResult *r, int64_t done_ns)
{
  gst_attention_result_unref (e->last);
  e->last = r;
  AttnEngineStats *s = &e->stats;
  double ns = (double) r->inference_ns;
  s->latency_ns = s->inferences ? 0.9 * s->latency_ns + 0.1 * ns : ns;
  s->max_latency_ns = MAX (s->max_latency_ns, r->inference_ns);
  if (s->inferences && done_ns > e->last_done_ns) {
    double hz = 1e9 / (double) (done_ns - e->last_done_ns);
    s->rate = s->inferences > 1 ? 0.9 * s->rate + 0.1 * hz : hz;
  }
  e->last_done_ns = done_ns;
  s->inferences++;
}

/* Runs the forward pass on the filled input and publishes the result unless
 * a flush voided the job meanwhile. Lock not held. */
static void
infer (AttnEngine *e, AttnEngineModel *m, const AttnJob *job, uint64_t gen)
{
  /* one core of the process's budget for this thread, and as many more as
   * are free, up to the engine's limit */
  attn_parallel_set_threads (g_atomic_int_get (&e->threads));
  int size = g_atomic_int_get (&e->batch_size), ran_with = 1;
  if (size > 1 && m->shared) {
    /* with the frames of other streams of this model (their nets are the
     * same model at the same size: the shared entry is theirs too) */
    ran_with = batch_forward (m->shared, m->net, size,
        (int64_t) g_atomic_int_get (&e->batch_timeout_us) * 1000);
  } else {
    attn_parallel_enter ();
    attn_net_forward (m->net);
    attn_parallel_leave ();
  }
  int64_t done = attn_engine_now_ns ();
  GstAttentionResult *r = model_result (m, job,
      (uint64_t) MAX (done - job->start_ns, 0));
  g_mutex_lock (&e->lock);
  if (ran_with > 1)
    e->stats.batched++;
  if (gen == e->generation)
    publish (e, r, done);
  else
    gst_attention_result_unref (r);
  e->busy = false;
  g_cond_broadcast (&e->cond);
  g_mutex_unlock (&e->lock);
}

static gpointer
worker_main (gpointer data)
{
  AttnEngine *e = data;
  g_mutex_lock (&e->lock);
  for (;;) {
    while (!e->job_ready && !e->quit)
      g_cond_wait (&e->cond, &e->lock);
    if (e->quit && !e->job_ready)
      break;
    e->job_ready = false;
    AttnJob job = e->job;
    uint64_t gen = e->job_generation;
    AttnEngineModel *m = e->model;     /* not swapped while busy */
    g_mutex_unlock (&e->lock);
    infer (e, m, &job, gen);
    g_mutex_lock (&e->lock);
  }
  g_mutex_unlock (&e->lock);
  return NULL;
}

void
attn_engine_run (AttnEngine *e, const AttnJob *job, bool threaded)
{
  g_mutex_lock (&e->lock);
  uint64_t gen = e->generation;
  if (!threaded) {
    AttnEngineModel *m = e->model;
    g_mutex_unlock (&e->lock);
    infer (e, m, job, gen);
    return;
  }
  if (!e->worker) {
    e->quit = false;
    e->worker = g_thread_new ("attn-engine", worker_main, e);
  }
  e->job = *job;
  e->job_generation = gen;
  e->job_ready = true;
  g_cond_broadcast (&e->cond);
  g_mutex_unlock (&e->lock);
}

GstAttentionResult *
attn_engine_wait (AttnEngine *e, uint64_t frame, int64_t deadline_ns)
{
  g_mutex_lock (&e->lock);
  while (e->busy && !(e->last && e->last->frame >= frame))
    if (!wait_until (e, deadline_ns))
      break;
  GstAttentionResult *r = e->last ? gst_attention_result_ref (e->last) : NULL;
  g_mutex_unlock (&e->lock);
  return r;
}

GstAttentionResult *
attn_engine_latest (AttnEngine *e)
{
  return attn_engine_wait (e, 0, -1);
}

void
attn_engine_flush (AttnEngine *e)
{
  g_mutex_lock (&e->lock);
  e->generation++;
  GstAttentionResult *last = e->last;
  e->last = NULL;
  g_mutex_unlock (&e->lock);
  gst_attention_result_unref (last);
}

void
attn_engine_get_stats (AttnEngine *e, AttnEngineStats *s)
{
  g_mutex_lock (&e->lock);
  *s = e->stats;
  g_mutex_unlock (&e->lock);
}

const float *
attn_engine_saliency (AttnEngine *e, AttnSaliencyKind kind, int *height,
                      int *width, char *err, size_t errlen)
{
  AttnEngineModel *m = e->model;
  if (kind == ATTN_SALIENCY_ATTENTION) {
    const AttnGateOutput *fin = attn_net_final_map (m->net);
    if (!fin) {
      g_snprintf (err, errlen, "%s has no spatial attention map",
          m->model->path);
      return NULL;
    }
    *height = fin->height;
    *width = fin->width;
    return fin->spatial;
  }
  if (!m->gradient) {
    m->gradient = attn_saliency_new (m->net, err, errlen);
    if (!m->gradient)
      return NULL;
    int h, w;
    attn_saliency_size (m->gradient, &h, &w);
    m->gradient_map = g_new (float, (gsize) h * w);
  }
  attn_saliency_size (m->gradient, height, width);
  attn_parallel_set_threads (g_atomic_int_get (&e->threads));
  attn_parallel_enter ();
  attn_saliency_entropy_gradient (m->gradient, m->net, m->gradient_map);
  attn_parallel_leave ();
  return m->gradient_map;
}
