/**
 * SECTION:element-attentioninfer
 * @title: attentioninfer
 *
 * Runs an attention-augmented CNN (a ResNet with CBAM or SE gates, optionally
 * behind a Spatial Transformer) on video frames, on the CPU, and attaches
 * what the network attended to: a #GstAttentionMeta with the top-k classes,
 * every spatial attention map in frame-normalised coordinates, optional
 * channel-gate weights, and a #GstVideoRegionOfInterestMeta of type
 * "attention" around the final map's peak, for elements that know nothing of
 * this plugin. Pixels are never changed.
 *
 * Frames are converted, resized and normalised for the network in one pass
 * from RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, I420, NV12 or
 * GRAY8: no videoconvert or videoscale is needed in front of it.
 *
 * With a live source the element runs asynchronously by default: frames pass
 * without waiting, each carrying the newest finished result (marked stale when
 * it was computed on an earlier frame), with at most one frame in inference.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc pattern=ball ! attentioninfer ! attentionoverlay ! autovideosink
 * gst-launch-1.0 v4l2src ! attentioninfer model=resnet50-cbam.safetensors top-k=5 ! attentionoverlay ! autovideosink
 * ]|
 */
#include "gstattentioninfer.h"

#include <gst/attention/attention-meta.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "blas.h"
#include "dcn.h"
#include "model.h"
#include "network.h"
#include "preprocess.h"
#include "region.h"

GST_DEBUG_CATEGORY_STATIC (gst_attention_infer_debug);
#define GST_CAT_DEFAULT gst_attention_infer_debug

#include "formats.h"
#define VIDEO_CAPS ATTN_VIDEO_CAPS

#define DEFAULT_INTERVAL 1
#define DEFAULT_THREADS 0
#define DEFAULT_TOP_K 5
#define DEFAULT_THRESHOLD 0.5f
#define DEFAULT_QOS TRUE
#define DEFAULT_MODE GST_ATTENTION_INFER_MODE_AUTO
#define DEFAULT_SCALE_MODE GST_ATTENTION_SCALE_MODEL

enum {
  PROP_0,
  PROP_MODEL,
  PROP_INFERENCE_INTERVAL,
  PROP_THREADS,
  PROP_TOP_K,
  PROP_ROI,
  PROP_SCALE_MODE,
  PROP_ATTENTION_THRESHOLD,
  PROP_QOS,
  PROP_MODE,
  PROP_CHANNEL_WEIGHTS,
  PROP_MODEL_NAME,
  PROP_INFERENCE_LATENCY,
  PROP_INFERENCE_RATE,
  PROP_INFERENCES,
};

/* A loaded model planned for its input size, with everything a result needs.
 * Built when the model is (re)loaded, never per frame. */
typedef struct {
  AttnModel *model;
  AttnNet *net;
  GstAttentionResultPool *pool;
  float *probs;                 /* (num_classes) */
  int *topk_idx;
  float *topk_val;
  int *region_scratch;
  int final_w, final_h;         /* final spatial map size (0: none) */
} Engine;

/* What one inference needs to know about the frame and the settings. */
typedef struct {
  guint64 frame;
  float area_x, area_y, area_w, area_h;
  guint top_k;
  float threshold;
  gboolean channels;
  GstClockTime start;
} Job;

struct _GstAttentionInfer {
  GstBaseTransform parent;

  GMutex lock;                  /* everything below, unless marked */
  GCond cond;

  /* properties */
  gchar *model_path;
  guint interval;
  gint threads;
  gboolean threads_dirty;       /* applied between inferences, not mid-BLAS */
  guint top_k;
  PreRect roi;
  GstAttentionScaleMode scale_mode;
  gfloat threshold;
  gboolean qos;
  GstAttentionInferMode mode;
  gboolean channel_weights;

  /* the running model, and one loaded by a property change while running,
   * swapped in by the streaming thread between inferences */
  Engine *engine;
  Engine *pending;
  gboolean started;

  /* negotiated input; plan is used by the streaming thread only */
  GstVideoInfo info;
  gboolean have_info;
  PreFormat fmt;
  PrePlan plan;
  gboolean plan_dirty;

  GstAttentionResult *last;     /* newest finished result, owned */
  guint64 frame;                /* frames seen since start */
  gboolean async;
  gboolean mode_resolved;
  GstClockTime earliest;        /* QoS: frames before this are late */

  /* async worker */
  GThread *worker;
  gboolean job_ready, busy, quit;
  Job job;

  /* statistics */
  gdouble latency_ns;           /* moving average of inference wall time */
  GstClockTime max_latency;
  gdouble rate;                 /* moving average, inferences per second */
  GstClockTime last_done;
  guint64 n_inferences;
};

#define gst_attention_infer_parent_class parent_class
G_DEFINE_TYPE (GstAttentionInfer, gst_attention_infer, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (attentioninfer, "attentioninfer", GST_RANK_NONE,
    GST_TYPE_ATTENTION_INFER);

static GType
gst_attention_infer_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_ATTENTION_INFER_MODE_AUTO, "Asynchronous for live sources, "
          "synchronous otherwise", "auto"},
    {GST_ATTENTION_INFER_MODE_SYNC, "Every analysed frame waits for its "
          "result", "sync"},
    {GST_ATTENTION_INFER_MODE_ASYNC, "Frames never wait: each carries the "
          "newest finished result", "async"},
    {0, NULL, NULL}
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstAttentionInferMode", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

static GType
gst_attention_scale_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_ATTENTION_SCALE_MODEL, "What the model file says", "model"},
    {GST_ATTENTION_SCALE_STRETCH, "Stretch the frame to the input size",
        "stretch"},
    {GST_ATTENTION_SCALE_LETTERBOX, "Fit the whole frame, pad the rest",
        "letterbox"},
    {GST_ATTENTION_SCALE_CENTER_CROP, "Fill the input, crop the frame's "
          "overhang", "center-crop"},
    {0, NULL, NULL}
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstAttentionScaleMode", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

gchar *
gst_attention_default_model_path (void)
{
  const gchar *env = g_getenv ("GST_ATTENTION_DEFAULT_MODEL");
  if (env && *env)
    return g_strdup (env);
  const gchar *installed = ATTN_MODEL_INSTALL_DIR "/default.safetensors";
  if (g_file_test (installed, G_FILE_TEST_EXISTS))
    return g_strdup (installed);
  return g_strdup (ATTN_MODEL_SOURCE_DIR "/default.safetensors");
}

/* ---- engine: model + net + result pool ---------------------------------- */

static void
engine_free (Engine *e)
{
  if (!e)
    return;
  attn_net_free (e->net);
  attn_model_unref (e->model);
  gst_attention_result_pool_release (e->pool);
  g_free (e->probs);
  g_free (e->topk_idx);
  g_free (e->topk_val);
  g_free (e->region_scratch);
  g_free (e);
}

static Engine *
engine_new (const gchar *path, gchar *err, gsize errlen)
{
  AttnModel *m = attn_model_open_shared (path, err, errlen);
  if (!m)
    return NULL;
  Engine *e = g_new0 (Engine, 1);
  e->model = m;
  e->net = attn_net_new (m, m->pre.height, m->pre.width, err, errlen);
  if (!e->net) {
    engine_free (e);
    return NULL;
  }
  /* the result layout: every spatial map, room for all classes and the
   * final gate's channel weights */
  int n = attn_net_n_gates (e->net), n_maps = 0, n_channels = 0;
  const gchar **names = g_new0 (const gchar *, MAX (n, 1));
  guint *widths = g_new0 (guint, MAX (n, 1));
  guint *heights = g_new0 (guint, MAX (n, 1));
  for (int i = 0; i < n; i++) {
    const AttnGateOutput *g = attn_net_gate (e->net, i);
    n_channels = g->channels;
    if (!g->spatial)
      continue;
    names[n_maps] = g->name;
    widths[n_maps] = (guint) g->width;
    heights[n_maps] = (guint) g->height;
    n_maps++;
  }
  const AttnGateOutput *fin = attn_net_final_map (e->net);
  e->final_w = fin ? fin->width : 0;
  e->final_h = fin ? fin->height : 0;
  GstAttentionResultLayout layout = { m->name, (guint) m->num_classes,
    (guint) n_maps, names, widths, heights, (guint) n_channels
  };
  e->pool = gst_attention_result_pool_new (&layout);
  g_free (names);
  g_free (widths);
  g_free (heights);
  e->probs = g_new (float, m->num_classes);
  e->topk_idx = g_new (int, m->num_classes);
  e->topk_val = g_new (float, m->num_classes);
  e->region_scratch = g_new (int, MAX (region_scratch_ints (e->final_w,
                  e->final_h), 1));
  return e;
}

/* Turns the net's outputs into a result. Runs in whichever thread ran the
 * forward pass; touches only the engine and the job. */
static GstAttentionResult *
engine_result (Engine *e, const Job *job, guint64 inference_ns)
{
  const AttnModel *m = e->model;
  GstAttentionResult *r = gst_attention_result_pool_acquire (e->pool);
  r->frame = job->frame;
  r->inference_ns = inference_ns;

  attn_softmax (e->probs, attn_net_logits (e->net), (size_t) m->num_classes);
  int k = (int) MIN (job->top_k, (guint) m->num_classes);
  attn_topk (e->topk_idx, e->topk_val, e->probs, m->num_classes, k);
  for (int i = 0; i < k; i++) {
    GstAttentionClassification *c = &r->classes[i];
    c->index = (guint) e->topk_idx[i];
    c->score = e->topk_val[i];
    c->label = g_intern_string (m->labels[e->topk_idx[i]]);
  }
  r->n_classes = (guint) k;

  guint mi = 0;
  const AttnGateOutput *last_gate = NULL;
  for (int i = 0; i < attn_net_n_gates (e->net); i++) {
    const AttnGateOutput *g = attn_net_gate (e->net, i);
    last_gate = g;
    if (!g->spatial)
      continue;
    GstAttentionMap *map = &r->maps[mi++];
    memcpy ((gfloat *) map->data, g->spatial,
            sizeof (float) * g->width * g->height);
    map->x = job->area_x;
    map->y = job->area_y;
    map->w = job->area_w;
    map->h = job->area_h;
  }
  if (job->channels && last_gate && r->channels) {
    memcpy (r->channels, last_gate->channel,
            sizeof (float) * last_gate->channels);
    r->n_channels = (guint) last_gate->channels;
  }

  const AttnGateOutput *fin = attn_net_final_map (e->net);
  if (fin) {
    AttnRegion reg;
    region_find (&reg, fin->spatial, fin->width, fin->height, job->threshold,
                 e->region_scratch);
    float sx = job->area_w / fin->width, sy = job->area_h / fin->height;
    float x0 = job->area_x + reg.x0 * sx, x1 = job->area_x + reg.x1 * sx;
    float y0 = job->area_y + reg.y0 * sy, y1 = job->area_y + reg.y1 * sy;
    x0 = CLAMP (x0, 0.0f, 1.0f);
    x1 = CLAMP (x1, x0, 1.0f);
    y0 = CLAMP (y0, 0.0f, 1.0f);
    y1 = CLAMP (y1, y0, 1.0f);
    r->region = (GstAttentionRegion) { x0, y0, x1 - x0, y1 - y0, reg.score,
      job->area_x + reg.peak_x * sx, job->area_y + reg.peak_y * sy, reg.peak
    };
    r->has_region = x1 > x0 && y1 > y0;
  }
  const float *theta = attn_net_theta (e->net);
  if (theta) {
    memcpy (r->theta, theta, sizeof r->theta);
    r->has_theta = TRUE;
  }
  return r;
}

/* Records a finished inference; with the lock held. */
static void
publish (GstAttentionInfer *self, GstAttentionResult *r, GstClockTime done)
{
  if (self->last)
    gst_attention_result_unref (self->last);
  self->last = r;
  double ns = (double) r->inference_ns;
  self->latency_ns = self->n_inferences ? 0.9 * self->latency_ns + 0.1 * ns : ns;
  self->max_latency = MAX (self->max_latency, r->inference_ns);
  if (self->n_inferences && done > self->last_done) {
    double hz = 1e9 / (double) (done - self->last_done);
    self->rate = self->n_inferences > 1 ? 0.9 * self->rate + 0.1 * hz : hz;
  }
  self->last_done = done;
  self->n_inferences++;
}

/* ---- the asynchronous worker -------------------------------------------- */

static gpointer
worker_main (gpointer data)
{
  GstAttentionInfer *self = data;
  g_mutex_lock (&self->lock);
  for (;;) {
    while (!self->job_ready && !self->quit)
      g_cond_wait (&self->cond, &self->lock);
    if (self->quit)
      break;
    self->job_ready = FALSE;
    Job job = self->job;
    Engine *e = self->engine;   /* not swapped while busy */
    g_mutex_unlock (&self->lock);

    attn_net_forward (e->net);
    GstClockTime done = g_get_monotonic_time () * 1000;
    GstAttentionResult *r = engine_result (e, &job, done - job.start);

    g_mutex_lock (&self->lock);
    publish (self, r, done);
    self->busy = FALSE;
    g_cond_broadcast (&self->cond);
  }
  g_mutex_unlock (&self->lock);
  return NULL;
}

static void
worker_stop (GstAttentionInfer *self)
{
  g_mutex_lock (&self->lock);
  GThread *t = self->worker;
  self->worker = NULL;
  self->quit = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  if (t)
    g_thread_join (t);
  g_mutex_lock (&self->lock);
  self->quit = FALSE;
  self->busy = FALSE;
  self->job_ready = FALSE;
  g_mutex_unlock (&self->lock);
}

/* ---- streaming ----------------------------------------------------------- */

static void
fill_format (PreFormat *f, const GstVideoInfo *info)
{
  const GstVideoFormatInfo *fi = info->finfo;
  memset (f, 0, sizeof *f);
  switch (GST_VIDEO_INFO_FORMAT (info)) {
    case GST_VIDEO_FORMAT_I420:
    case GST_VIDEO_FORMAT_NV12:{
      gdouble kr = 0.299, kb = 0.114;
      gst_video_color_matrix_get_Kr_Kb (info->colorimetry.matrix, &kr, &kb);
      pre_format_yuv (f, (float) kr, (float) kb,
          info->colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255);
      f->layout = GST_VIDEO_INFO_FORMAT (info) == GST_VIDEO_FORMAT_I420
          ? PRE_I420 : PRE_NV12;
      break;
    }
    case GST_VIDEO_FORMAT_GRAY8:
      f->layout = PRE_GRAY8;
      break;
    default:
      /* packed RGB variants: component byte offsets from the format */
      f->layout = PRE_PACKED;
      f->pixel_stride = GST_VIDEO_FORMAT_INFO_PSTRIDE (fi, 0);
      f->r = (int) GST_VIDEO_FORMAT_INFO_POFFSET (fi, GST_VIDEO_COMP_R);
      f->g = (int) GST_VIDEO_FORMAT_INFO_POFFSET (fi, GST_VIDEO_COMP_G);
      f->b = (int) GST_VIDEO_FORMAT_INFO_POFFSET (fi, GST_VIDEO_COMP_B);
      break;
  }
}

/* Plans pre-processing for the current caps, roi and scale mode. Streaming
 * thread, lock held, worker idle. */
static gboolean
replan (GstAttentionInfer *self)
{
  Engine *e = self->engine;
  AttnResize mode = self->scale_mode == GST_ATTENTION_SCALE_MODEL
      ? e->model->pre.resize : (AttnResize) (self->scale_mode - 1);
  int fw = GST_VIDEO_INFO_WIDTH (&self->info);
  int fh = GST_VIDEO_INFO_HEIGHT (&self->info);
  if (!pre_plan (&self->plan, fw, fh, &self->roi, mode, &e->model->pre)) {
    GST_ELEMENT_WARNING (self, STREAM, FAILED,
        ("The roi %d,%d,%dx%d lies outside the %dx%d frame; analysing the "
            "whole frame.", self->roi.x, self->roi.y, self->roi.w, self->roi.h,
            fw, fh), (NULL));
    if (!pre_plan (&self->plan, fw, fh, NULL, mode, &e->model->pre))
      return FALSE;
  }
  self->plan_dirty = FALSE;
  return TRUE;
}

/* Answers whether upstream is live (for mode=auto). */
static gboolean
upstream_is_live (GstAttentionInfer *self)
{
  GstQuery *q = gst_query_new_latency ();
  gboolean live = FALSE;
  if (gst_pad_peer_query (GST_BASE_TRANSFORM_SINK_PAD (self), q))
    gst_query_parse_latency (q, &live, NULL, NULL);
  gst_query_unref (q);
  return live;
}

static void
attach (GstAttentionInfer *self, GstBuffer *buf, GstAttentionResult *r,
        guint64 frame)
{
  GstAttentionMeta *meta = gst_buffer_add_attention_meta (buf, r, frame);
  if (!meta || !r->has_region)
    return;
  gint x, y, w, h;
  gst_attention_meta_get_region_pixels (meta, GST_VIDEO_INFO_WIDTH (&self->info),
      GST_VIDEO_INFO_HEIGHT (&self->info), &x, &y, &w, &h);
  GstVideoRegionOfInterestMeta *roi =
      gst_buffer_add_video_region_of_interest_meta (buf, "attention", x, y, w,
      h);
  GstStructure *s = gst_structure_new ("attention",
      "score", G_TYPE_DOUBLE, (gdouble) r->region.score,
      "peak", G_TYPE_DOUBLE, (gdouble) r->region.peak,
      "peak-x", G_TYPE_DOUBLE, (gdouble) r->region.peak_x,
      "peak-y", G_TYPE_DOUBLE, (gdouble) r->region.peak_y,
      "stale", G_TYPE_BOOLEAN, meta->stale, NULL);
  if (r->n_classes > 0)
    gst_structure_set (s, "label", G_TYPE_STRING, r->classes[0].label,
        "confidence", G_TYPE_DOUBLE, (gdouble) r->classes[0].score, NULL);
  gst_video_region_of_interest_meta_add_param (roi, s);
}

static GstFlowReturn
gst_attention_infer_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  GstAttentionInfer *self = GST_ATTENTION_INFER (trans);

  if (!self->have_info) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("received a buffer before caps"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (!self->mode_resolved) {
    gboolean live = self->mode == GST_ATTENTION_INFER_MODE_AUTO
        && upstream_is_live (self);
    g_mutex_lock (&self->lock);
    self->async = self->mode == GST_ATTENTION_INFER_MODE_ASYNC || live;
    self->mode_resolved = TRUE;
    if (self->async && !self->worker)
      self->worker = g_thread_new ("attentioninfer", worker_main, self);
    g_mutex_unlock (&self->lock);
    GST_INFO_OBJECT (self, "running %s", self->async ? "asynchronously" :
        "synchronously");
  }

  g_mutex_lock (&self->lock);
  /* a model swapped in by the `model` property, between inferences */
  while (self->pending && self->busy)
    g_cond_wait (&self->cond, &self->lock);
  if (self->pending) {
    Engine *old = self->engine;
    self->engine = self->pending;
    self->pending = NULL;
    self->plan_dirty = TRUE;
    engine_free (old);
    GST_INFO_OBJECT (self, "now running model %s", self->engine->model->path);
  }
  guint64 frame = self->frame++;
  gboolean due = frame % MAX (self->interval, 1) == 0 || !self->last;
  if (due && self->qos && self->last && GST_CLOCK_TIME_IS_VALID (self->earliest)) {
    GstClockTime rt = gst_segment_to_running_time (&trans->segment,
        GST_FORMAT_TIME, GST_BUFFER_PTS (buf));
    if (GST_CLOCK_TIME_IS_VALID (rt) && rt + (GstClockTime) self->latency_ns
        < self->earliest) {
      GST_DEBUG_OBJECT (self, "frame %" G_GUINT64_FORMAT " is late: reusing "
          "the last result", frame);
      due = FALSE;
    }
  }
  gboolean run = due && !self->busy;
  Engine *e = self->engine;
  if (run && self->threads_dirty) {
    /* no inference of ours is running: safe to resize BLAS's pool */
    attn_blas_set_threads (self->threads > 0 ? self->threads :
        (int) g_get_num_processors ());
    self->threads_dirty = FALSE;
  }
  if (run) {
    if ((self->plan_dirty || !self->plan.x0) && !replan (self)) {
      g_mutex_unlock (&self->lock);
      GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
          ("cannot plan pre-processing for this frame size"));
      return GST_FLOW_NOT_NEGOTIATED;
    }
    self->job = (Job) { frame, self->plan.area_x, self->plan.area_y,
      self->plan.area_w, self->plan.area_h, self->top_k, self->threshold,
      self->channel_weights, g_get_monotonic_time () * 1000
    };
  }
  Job job = self->job;
  gboolean async = self->async;
  if (run && async)
    self->busy = TRUE;          /* the net's input is ours until job_ready */
  g_mutex_unlock (&self->lock);

  if (run) {
    GstVideoFrame vf;
    if (!gst_video_frame_map (&vf, &self->info, buf, GST_MAP_READ)) {
      GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
          ("could not map the video frame"));
      g_mutex_lock (&self->lock);
      self->busy = FALSE;
      g_mutex_unlock (&self->lock);
      return GST_FLOW_ERROR;
    }
    PreFrame pf;
    for (guint i = 0; i < 3; i++) {
      gboolean has = i < GST_VIDEO_FRAME_N_PLANES (&vf);
      pf.plane[i] = has ? GST_VIDEO_FRAME_PLANE_DATA (&vf, i) : NULL;
      pf.stride[i] = has ? GST_VIDEO_FRAME_PLANE_STRIDE (&vf, i) : 0;
    }
    pre_run (&self->plan, &self->fmt, &pf, attn_net_input (e->net));
    gst_video_frame_unmap (&vf);

    if (async) {
      g_mutex_lock (&self->lock);
      self->job_ready = TRUE;
      g_cond_broadcast (&self->cond);
      /* the very first frame waits, so every buffer carries a result */
      while (!self->last && self->busy)
        g_cond_wait (&self->cond, &self->lock);
      g_mutex_unlock (&self->lock);
    } else {
      attn_net_forward (e->net);
      GstClockTime done = g_get_monotonic_time () * 1000;
      GstAttentionResult *r = engine_result (e, &job, done - job.start);
      g_mutex_lock (&self->lock);
      publish (self, r, done);
      g_mutex_unlock (&self->lock);
    }
  }

  g_mutex_lock (&self->lock);
  GstAttentionResult *r = self->last ? gst_attention_result_ref (self->last)
      : NULL;
  g_mutex_unlock (&self->lock);
  if (r) {
    attach (self, buf, r, frame);
    gst_attention_result_unref (r);
  }
  return GST_FLOW_OK;
}

static gboolean
gst_attention_infer_set_caps (GstBaseTransform *trans, GstCaps *incaps,
    GstCaps *outcaps)
{
  GstAttentionInfer *self = GST_ATTENTION_INFER (trans);
  GstVideoInfo info;
  if (!gst_video_info_from_caps (&info, incaps)) {
    gchar *str = gst_caps_to_string (incaps);
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("cannot parse caps %s", str));
    g_free (str);
    return FALSE;
  }
  g_mutex_lock (&self->lock);
  /* the worker reads the net input, not the frame: caps may change while it
   * runs, but the plan may only be rebuilt between jobs */
  while (self->busy)
    g_cond_wait (&self->cond, &self->lock);
  self->info = info;
  self->have_info = TRUE;
  fill_format (&self->fmt, &info);
  self->plan_dirty = TRUE;
  gboolean ok = replan (self);
  g_mutex_unlock (&self->lock);
  if (!ok)
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("cannot prepare %dx%d %s frames for the model", info.width,
            info.height, gst_video_format_to_string (info.finfo->format)));
  return ok;
}

static gboolean
gst_attention_infer_start (GstBaseTransform *trans)
{
  GstAttentionInfer *self = GST_ATTENTION_INFER (trans);
  g_mutex_lock (&self->lock);
  gchar *path = self->model_path ? g_strdup (self->model_path)
      : gst_attention_default_model_path ();
  gint threads = self->threads;
  g_mutex_unlock (&self->lock);

  gchar err[1024] = "";
  Engine *e = engine_new (path, err, sizeof err);
  if (!e) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Could not load the model \"%s\".", path), ("%s", err));
    g_free (path);
    return FALSE;
  }
  g_free (path);
  attn_blas_set_threads (threads > 0 ? threads : (int) g_get_num_processors ());

  /* one warm-up pass: touches the arena and measures the latency we report
   * before the first real frame */
  gint64 t0 = g_get_monotonic_time ();
  attn_net_forward (e->net);
  GstClockTime warm = (g_get_monotonic_time () - t0) * 1000;

  g_mutex_lock (&self->lock);
  self->engine = e;
  self->started = TRUE;
  self->frame = 0;
  self->mode_resolved = FALSE;
  self->async = FALSE;
  self->earliest = GST_CLOCK_TIME_NONE;
  self->latency_ns = (gdouble) warm;
  self->max_latency = warm;
  self->rate = 0;
  self->n_inferences = 0;
  self->plan_dirty = TRUE;
  self->threads_dirty = FALSE;
  g_mutex_unlock (&self->lock);
  GST_INFO_OBJECT (self, "model %s: %d classes, input %dx%d, %.2f GMACs, "
      "first pass %.1f ms", e->model->name, e->model->num_classes,
      e->model->pre.width, e->model->pre.height,
      attn_net_macs (e->net) / 1e9, warm / 1e6);
  return TRUE;
}

static gboolean
gst_attention_infer_stop (GstBaseTransform *trans)
{
  GstAttentionInfer *self = GST_ATTENTION_INFER (trans);
  worker_stop (self);
  g_mutex_lock (&self->lock);
  Engine *e = self->engine, *p = self->pending;
  GstAttentionResult *last = self->last;
  self->engine = self->pending = NULL;
  self->last = NULL;
  self->started = FALSE;
  self->have_info = FALSE;
  self->mode_resolved = FALSE;
  pre_plan_clear (&self->plan);
  g_mutex_unlock (&self->lock);
  /* results still attached to buffers downstream keep their pool alive */
  gst_attention_result_unref (last);
  engine_free (e);
  engine_free (p);
  return TRUE;
}

static gboolean
gst_attention_infer_src_event (GstBaseTransform *trans, GstEvent *event)
{
  GstAttentionInfer *self = GST_ATTENTION_INFER (trans);
  if (GST_EVENT_TYPE (event) == GST_EVENT_QOS) {
    GstQOSType type;
    gdouble proportion;
    GstClockTimeDiff diff;
    GstClockTime ts;
    gst_event_parse_qos (event, &type, &proportion, &diff, &ts);
    g_mutex_lock (&self->lock);
    if (diff > 0 && GST_CLOCK_TIME_IS_VALID (ts))
      self->earliest = ts + diff;
    else
      self->earliest = GST_CLOCK_TIME_NONE;
    g_mutex_unlock (&self->lock);
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->src_event (trans, event);
}

static gboolean
gst_attention_infer_query (GstBaseTransform *trans, GstPadDirection direction,
    GstQuery *query)
{
  GstAttentionInfer *self = GST_ATTENTION_INFER (trans);
  gboolean ret = GST_BASE_TRANSFORM_CLASS (parent_class)->query (trans,
      direction, query);
  if (ret && direction == GST_PAD_SRC
      && GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    gboolean live;
    GstClockTime min, max;
    gst_query_parse_latency (query, &live, &min, &max);
    g_mutex_lock (&self->lock);
    /* synchronous inference holds a frame for one inference; asynchronous
     * never holds one. Before the mode is known, auto means async if live. */
    gboolean async = self->mode_resolved ? self->async
        : self->mode == GST_ATTENTION_INFER_MODE_ASYNC
        || (self->mode == GST_ATTENTION_INFER_MODE_AUTO && live);
    GstClockTime ours = async ? 0 : self->max_latency;
    g_mutex_unlock (&self->lock);
    min += ours;
    if (GST_CLOCK_TIME_IS_VALID (max))
      max += ours;
    GST_DEBUG_OBJECT (self, "adding %" GST_TIME_FORMAT " latency",
        GST_TIME_ARGS (ours));
    gst_query_set_latency (query, live, min, max);
  }
  return ret;
}

/* ---- properties ---------------------------------------------------------- */

static gboolean
parse_roi (const gchar *s, PreRect *r)
{
  if (!s || !*s) {
    *r = (PreRect) { 0, 0, 0, 0 };
    return TRUE;
  }
  int x, y, w, h;
  char tail;
  if (sscanf (s, "%d,%d,%d,%d%c", &x, &y, &w, &h, &tail) != 4 || x < 0
      || y < 0 || w <= 0 || h <= 0)
    return FALSE;
  *r = (PreRect) { x, y, w, h };
  return TRUE;
}

static void
gst_attention_infer_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  GstAttentionInfer *self = GST_ATTENTION_INFER (object);
  switch (prop_id) {
    case PROP_MODEL:{
      const gchar *path = g_value_get_string (value);
      g_mutex_lock (&self->lock);
      gboolean running = self->started;
      g_free (self->model_path);
      self->model_path = g_strdup (path);
      g_mutex_unlock (&self->lock);
      if (!running)
        break;
      /* while running: load now, in the caller's thread; the streaming
       * thread swaps it in between inferences. A bad file keeps the current
       * model running and says why. */
      gchar *p = path ? g_strdup (path) : gst_attention_default_model_path ();
      gchar err[1024] = "";
      Engine *e = engine_new (p, err, sizeof err);
      if (!e) {
        GST_ELEMENT_WARNING (self, RESOURCE, OPEN_READ,
            ("Could not load the model \"%s\"; keeping the current one.", p),
            ("%s", err));
      } else {
        g_mutex_lock (&self->lock);
        Engine *old = self->pending;
        self->pending = e;
        g_mutex_unlock (&self->lock);
        engine_free (old);
      }
      g_free (p);
      break;
    }
    case PROP_INFERENCE_INTERVAL:
      g_mutex_lock (&self->lock);
      self->interval = g_value_get_uint (value);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_THREADS:
      g_mutex_lock (&self->lock);
      self->threads = g_value_get_int (value);
      self->threads_dirty = TRUE;
      g_mutex_unlock (&self->lock);
      break;
    case PROP_TOP_K:
      g_mutex_lock (&self->lock);
      self->top_k = g_value_get_uint (value);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_ROI:{
      PreRect r;
      if (!parse_roi (g_value_get_string (value), &r)) {
        g_warning ("attentioninfer: roi \"%s\" is not \"x,y,w,h\" with w, h "
            "> 0; keeping the current one", g_value_get_string (value));
        break;
      }
      g_mutex_lock (&self->lock);
      self->roi = r;
      self->plan_dirty = TRUE;
      g_mutex_unlock (&self->lock);
      break;
    }
    case PROP_SCALE_MODE:
      g_mutex_lock (&self->lock);
      self->scale_mode = g_value_get_enum (value);
      self->plan_dirty = TRUE;
      g_mutex_unlock (&self->lock);
      break;
    case PROP_ATTENTION_THRESHOLD:
      g_mutex_lock (&self->lock);
      self->threshold = g_value_get_float (value);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_QOS:
      g_mutex_lock (&self->lock);
      self->qos = g_value_get_boolean (value);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_MODE:
      g_mutex_lock (&self->lock);
      self->mode = g_value_get_enum (value);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_CHANNEL_WEIGHTS:
      g_mutex_lock (&self->lock);
      self->channel_weights = g_value_get_boolean (value);
      g_mutex_unlock (&self->lock);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_attention_infer_get_property (GObject *object, guint prop_id,
    GValue *value, GParamSpec *pspec)
{
  GstAttentionInfer *self = GST_ATTENTION_INFER (object);
  g_mutex_lock (&self->lock);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_INFERENCE_INTERVAL:
      g_value_set_uint (value, self->interval);
      break;
    case PROP_THREADS:
      g_value_set_int (value, self->threads);
      break;
    case PROP_TOP_K:
      g_value_set_uint (value, self->top_k);
      break;
    case PROP_ROI:
      if (self->roi.w > 0)
        g_value_take_string (value, g_strdup_printf ("%d,%d,%d,%d",
                self->roi.x, self->roi.y, self->roi.w, self->roi.h));
      else
        g_value_set_string (value, "");
      break;
    case PROP_SCALE_MODE:
      g_value_set_enum (value, self->scale_mode);
      break;
    case PROP_ATTENTION_THRESHOLD:
      g_value_set_float (value, self->threshold);
      break;
    case PROP_QOS:
      g_value_set_boolean (value, self->qos);
      break;
    case PROP_MODE:
      g_value_set_enum (value, self->mode);
      break;
    case PROP_CHANNEL_WEIGHTS:
      g_value_set_boolean (value, self->channel_weights);
      break;
    case PROP_MODEL_NAME:
      g_value_set_string (value, self->engine ? self->engine->model->name :
          NULL);
      break;
    case PROP_INFERENCE_LATENCY:
      g_value_set_uint64 (value, (guint64) self->latency_ns);
      break;
    case PROP_INFERENCE_RATE:
      g_value_set_double (value, self->rate);
      break;
    case PROP_INFERENCES:
      g_value_set_uint64 (value, self->n_inferences);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  g_mutex_unlock (&self->lock);
}

static void
gst_attention_infer_finalize (GObject *object)
{
  GstAttentionInfer *self = GST_ATTENTION_INFER (object);
  g_free (self->model_path);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_attention_infer_class_init (GstAttentionInferClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_attention_infer_debug, "attentioninfer", 0,
      "attention CNN inference");

  gobject_class->set_property = gst_attention_infer_set_property;
  gobject_class->get_property = gst_attention_infer_get_property;
  gobject_class->finalize = gst_attention_infer_finalize;

  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Path of the .safetensors model file (docs/model-format.md); unset: "
          "the shipped default model. Set while PLAYING, the new model is "
          "loaded in the calling thread and swapped in between frames; a file "
          "that fails to load keeps the current model and posts a warning",
          NULL, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_INFERENCE_INTERVAL,
      g_param_spec_uint ("inference-interval", "Inference interval",
          "Run the network on every Nth frame; the frames between reuse the "
          "last result, marked stale", 1, G_MAXUINT, DEFAULT_INTERVAL,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_int ("threads", "Threads",
          "Threads for the network's matrix products (0: one per CPU core). "
          "OpenBLAS has one process-wide setting: the last element to set it "
          "wins", 0, 256, DEFAULT_THREADS, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_TOP_K,
      g_param_spec_uint ("top-k", "Top k",
          "How many of the most probable classes the meta carries", 0, 1000,
          DEFAULT_TOP_K, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_ROI,
      g_param_spec_string ("roi", "Region of interest",
          "Analyse only this part of the frame, \"x,y,w,h\" in pixels (clipped "
          "to the frame); empty: the whole frame", "",
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_SCALE_MODE,
      g_param_spec_enum ("scale-mode", "Scale mode",
          "How the frame (or roi) is fitted to the network's input size",
          gst_attention_scale_mode_get_type (), DEFAULT_SCALE_MODE,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_ATTENTION_THRESHOLD,
      g_param_spec_float ("attention-threshold", "Attention threshold",
          "The attention region is the connected area around the final map's "
          "peak where the map exceeds min + threshold × (max − min)", 0.0f,
          1.0f, DEFAULT_THRESHOLD, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_QOS,
      g_param_spec_boolean ("qos", "QoS",
          "When downstream reports frames arriving late, skip inference on "
          "late frames (they pass with the last result, marked stale) instead "
          "of falling further behind", DEFAULT_QOS,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode",
          "Synchronous: analysed frames wait for their result. Asynchronous: "
          "frames never wait and carry the newest finished result, with at "
          "most one frame in inference (the right choice for live sources). "
          "Auto picks asynchronous when upstream is live",
          gst_attention_infer_mode_get_type (), DEFAULT_MODE,
          rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_CHANNEL_WEIGHTS,
      g_param_spec_boolean ("channel-weights", "Channel weights",
          "Also attach the last attention block's channel-gate weights",
          FALSE, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MODEL_NAME,
      g_param_spec_string ("model-name", "Model name",
          "Name of the running model", NULL, ro));
  g_object_class_install_property (gobject_class, PROP_INFERENCE_LATENCY,
      g_param_spec_uint64 ("inference-latency", "Inference latency",
          "Measured time of one inference (pre-processing + network), "
          "nanoseconds, moving average", 0, G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_INFERENCE_RATE,
      g_param_spec_double ("inference-rate", "Inference rate",
          "Measured inferences per second, moving average", 0, G_MAXDOUBLE, 0,
          ro));
  g_object_class_install_property (gobject_class, PROP_INFERENCES,
      g_param_spec_uint64 ("inferences", "Inferences",
          "Inferences run since the element started", 0, G_MAXUINT64, 0, ro));

  gst_element_class_set_static_metadata (element_class,
      "Attention inference", "Filter/Analyzer/Video",
      "Runs an attention CNN (CBAM/SE/STN ResNet) on video frames and "
      "attaches its attention maps, top classes and attended region as "
      "metadata", "gst-attention developers");
  GstCaps *caps = gst_caps_from_string (VIDEO_CAPS);
  gst_element_class_add_pad_template (element_class,
      gst_pad_template_new ("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
  gst_element_class_add_pad_template (element_class,
      gst_pad_template_new ("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
  gst_caps_unref (caps);

  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_attention_infer_transform_ip);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_attention_infer_set_caps);
  trans_class->start = GST_DEBUG_FUNCPTR (gst_attention_infer_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_attention_infer_stop);
  trans_class->src_event = GST_DEBUG_FUNCPTR (gst_attention_infer_src_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_attention_infer_query);
  trans_class->passthrough_on_same_caps = FALSE;
  trans_class->transform_ip_on_passthrough = FALSE;

  gst_type_mark_as_plugin_api (gst_attention_infer_mode_get_type (), 0);
  gst_type_mark_as_plugin_api (gst_attention_scale_mode_get_type (), 0);
}

static void
gst_attention_infer_init (GstAttentionInfer *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->interval = DEFAULT_INTERVAL;
  self->threads = DEFAULT_THREADS;
  self->top_k = DEFAULT_TOP_K;
  self->scale_mode = DEFAULT_SCALE_MODE;
  self->threshold = DEFAULT_THRESHOLD;
  self->qos = DEFAULT_QOS;
  self->mode = DEFAULT_MODE;
  self->earliest = GST_CLOCK_TIME_NONE;
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), FALSE);
}
