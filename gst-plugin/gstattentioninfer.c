/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-attentioninfer
 * @title: attentioninfer
 *
 * Runs an attention-augmented CNN (a ResNet with CBAM or SE gates, optionally
 * behind a Spatial Transformer) on video frames, on the CPU, and attaches
 * what the network attended to: a #GstAttentionMeta with the top-k classes,
 * every spatial attention map in frame-normalised coordinates, optional
 * channel-gate weights, and a #GstVideoRegionOfInterestMeta of type
 * "attention" around the attended region, for elements that know nothing of
 * this plugin. Pixels are never changed.
 *
 * A model with an encoder–decoder head (docs/model-format.md, "decoder";
 * models/describe.safetensors) also describes the frame in words: the
 * decoder attends over the last feature map for every word, and the meta
 * carries the sentence, each word's score and its attention map
 * (gst_attention_result_get_token()); the region of interest's "attention"
 * parameter and the bus message carry the sentence as "sentence".
 *
 * Frames are converted, resized and normalised for the network in one pass
 * from RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, I420, NV12,
 * GRAY8, or the webcams' YUY2 and UYVY: no videoconvert or videoscale is
 * needed in front of it.
 *
 * With a live source the element runs asynchronously by default: the network
 * runs on a worker thread, and each frame waits for its own result at most
 * `latency-budget` (one frame duration by default, added to the pipeline's
 * latency). A frame whose result is not ready by then passes with the newest
 * finished result, marked stale, so the video never falls behind a slow
 * model; `stale-frames` counts them.
 *
 * A flush (a flushing seek) or a new segment or stream drops every result
 * computed before it and restarts the frame count.
 *
 * Many streams of one model in one process share its weights and the
 * machine's cores. With `batch-size=N` they also share forward passes: a
 * frame waits until N streams (the smallest batch-size among them) have a
 * frame ready, or until `batch-timeout` after the first, and all run as one
 * pass on the first one's thread. Only the layers that gain run as one
 * product for all frames (small maps and large weights: the last stage of
 * a 224-pixel ResNet); the rest run frame by frame. Each stream's results
 * are its own and equal its results alone up to the products' sum order;
 * `batched-inferences` counts the frames that shared a pass. The wait
 * counts against a live stream's `latency-budget`.
 *
 * With `inference-region=roi-list` the element classifies objects instead
 * of frames (secondary inference, as a classifier behind a detector): the
 * network runs on each #GstVideoRegionOfInterestMeta attached upstream whose
 * type `object-class` lists (all of them when it is empty), and attaches its
 * result to that region as a parameter named "attention" (label,
 * confidence, label-id and the #GstAttentionResult, whose maps and region
 * are frame-normalised like every result's); read it with
 * gst_attention_roi_get_result() and gst_buffer_get_attention_object(). No
 * frame-level meta is attached then, and objects are always analysed
 * synchronously (a result belongs to its object on its frame).
 *
 * With `patches=N` the element computes where attention points
 * (coarse-to-fine inference, after Dynamic Capacity Networks): a coarse pass
 * of `coarse-model` (unset: the model itself, or with the default model the
 * shipped coarse model, trained for it) over the whole frame, shrunk so that a
 * patch of `patch-size` frame pixels spans a third of the model's input;
 * then a saliency map — the network's final attention map, or
 * (`saliency=gradient`) the norm of the gradient of the output entropy with
 * respect to the input of the last residual block — the N most salient
 * positions, none below `min-saliency` and none centred inside another's
 * patch; then the model on a full-resolution patch around each. The coarse
 * pass's result is the frame's #GstAttentionMeta; each patch is a
 * #GstVideoRegionOfInterestMeta of type "attention-patch" with the fine
 * result as its "attention" parameter (plus "saliency" and "stale"), most
 * salient first; read them with gst_buffer_get_attention_patch(). Patches
 * are computed synchronously; a frame without a pass of its own
 * (`inference-interval`, QoS) carries the last pass's patches, marked stale.
 * A coarse model with other labels names the frame; the patches always
 * carry the model's. `inference-region=roi-list` takes precedence.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc pattern=ball ! attentioninfer ! attentionoverlay ! autovideosink
 * gst-launch-1.0 v4l2src ! attentioninfer model=resnet50-cbam.safetensors top-k=5 ! attentionoverlay ! autovideosink
 * gst-launch-1.0 ... ! detector ! attentioninfer inference-region=roi-list object-class=car,person ! attentionoverlay ! autovideosink
 * gst-launch-1.0 v4l2src ! video/x-raw,width=1920,height=1080 ! attentioninfer patches=4 ! attentionoverlay ! autovideosink
 * ]|
 */
#include "gstattentioninfer.h"

#include <gst/attention/attention-producer.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dcn.h"
#include "engine.h"
#include "network.h"
#include "parallel.h"
#include "preprocess.h"

GST_DEBUG_CATEGORY_STATIC (gst_attention_infer_debug);
#define GST_CAT_DEFAULT gst_attention_infer_debug

#include "formats.h"
#define VIDEO_CAPS ATTN_INFER_VIDEO_CAPS

#define DEFAULT_INTERVAL 1
#define DEFAULT_THREADS 0
#define DEFAULT_BATCH_SIZE 1
#define DEFAULT_BATCH_TIMEOUT (10 * GST_MSECOND)
#define DEFAULT_TOP_K 5
#define DEFAULT_THRESHOLD 0.5f
#define DEFAULT_QOS TRUE
#define DEFAULT_MODE GST_ATTENTION_INFER_MODE_AUTO
#define DEFAULT_SCALE_MODE GST_ATTENTION_SCALE_MODEL
#define DEFAULT_LATENCY_BUDGET -1
#define DEFAULT_INFERENCE_REGION GST_ATTENTION_INFERENCE_REGION_FULL_FRAME
#define DEFAULT_PATCHES 0
#define MAX_PATCHES 64
#define DEFAULT_PATCH_SIZE 0
#define DEFAULT_SALIENCY ATTN_SALIENCY_ATTENTION
#define DEFAULT_MIN_SALIENCY 0.3f
/* the coarse input's longest side, whatever the frame and patch size */
#define MAX_COARSE_SIDE 2048
/* the budget when the caps carry no frame rate */
#define FALLBACK_FRAME_NS (GST_SECOND / 30)

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
  PROP_LATENCY_BUDGET,
  PROP_POST_MESSAGES,
  PROP_INFERENCE_REGION,
  PROP_OBJECT_CLASS,
  PROP_PATCHES,
  PROP_PATCH_SIZE,
  PROP_SALIENCY,
  PROP_MIN_SALIENCY,
  PROP_COARSE_MODEL,
  PROP_MODEL_NAME,
  PROP_INFERENCE_LATENCY,
  PROP_INFERENCE_RATE,
  PROP_INFERENCES,
  PROP_FRAMES,
  PROP_STALE_FRAMES,
  PROP_BATCH_SIZE,
  PROP_BATCH_TIMEOUT,
  PROP_BATCHED_INFERENCES,
};

struct _GstAttentionInfer {
  GstBaseTransform parent;

  GMutex lock;                  /* everything below, unless marked */

  /* properties */
  gchar *model_path;
  guint interval;
  gint threads;
  guint batch_size;
  guint64 batch_timeout;        /* ns */
  guint top_k;
  PreRect roi;
  GstAttentionScaleMode scale_mode;
  gfloat threshold;
  gboolean qos;
  GstAttentionInferMode mode;
  gboolean channel_weights;
  gint64 latency_budget;        /* ns; -1: one frame duration */
  gboolean post_messages;
  gboolean plan_dirty;          /* roi or scale mode changed */
  GstAttentionInferenceRegion region_mode;
  gchar *object_class;          /* as set */
  GArray *object_types;         /* its GQuarks (immutable, shared by ref);
                                 * empty: every type */
  guint patches;                /* coarse-to-fine: patches per frame */
  gint patch_size;              /* frame pixels, 0: automatic */
  AttnSaliencyKind saliency;
  gfloat min_saliency;
  gchar *coarse_model;          /* NULL or empty: the model */
  gboolean coarse_dirty;        /* the model or coarse-model changed */

  AttnEngine *engine;           /* between start and stop */
  const gchar *model_name;      /* the running model's (interned) */
  const gchar *producer;        /* this element's name (interned) */
  GstClockTime earliest;        /* QoS: frames before this are late */
  GstClockTime frame_ns;        /* one frame at the negotiated rate */
  gboolean async;               /* resolved mode, fixed until stop */
  gboolean mode_resolved;
  GstClockTime reported;        /* latency the last query answered */
  gboolean latency_posted;      /* a LATENCY message awaits its query */
  guint64 n_frames, n_stale;

  /* streaming thread only */
  GstVideoInfo info;
  gboolean have_info;
  PreFormat fmt;
  PrePlan plan;
  guint64 frame;                /* frames since start or the last flush */
  gdouble pre_ns;               /* pre-processing time, moving maximum */
  guint64 posted;               /* frame of the last result on the bus, or
                                 * G_MAXUINT64 */
  GstClockTimeDiff transit;     /* shortest source-to-here time seen */
  gboolean transit_known;
  PrePlan object_plan;          /* re-planned per object, tables reused */
  gint pre_threads;             /* `threads` as of this frame */
  GstAttentionInferenceRegion region_mode_last; /* of the last frame */
  /* coarse-to-fine: the coarse pass's engine, planned for coarse_w ×
   * coarse_h from coarse_path, its pre-processing plan for a frame of
   * plan_fw × plan_fh (roi plan_roi), the pick scratch, and the last
   * pass's patches (carried over to frames without a pass) */
  AttnEngine *coarse;
  gchar *coarse_path;
  gint coarse_w, coarse_h, coarse_patch;
  PrePlan coarse_plan;
  gint plan_fw, plan_fh;
  PreRect plan_roi;
  guchar *taken;
  gsize taken_len;
  gfloat *sal_norm;
  gsize sal_norm_len;
  struct {
    PreRect rect;
    GstAttentionResult *result;
    gfloat saliency;
  } last_patch[MAX_PATCHES];
  guint n_last_patches;
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

static GType
gst_attention_inference_region_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_ATTENTION_INFERENCE_REGION_FULL_FRAME, "The whole frame (or the "
          "roi property's part of it)", "full-frame"},
    {GST_ATTENTION_INFERENCE_REGION_ROI_LIST, "Each region of interest "
          "attached upstream whose type object-class lists", "roi-list"},
    {0, NULL, NULL}
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstAttentionInferenceRegion", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

static GType
gst_attention_saliency_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {ATTN_SALIENCY_ATTENTION, "The network's own final attention map (the "
          "last CBAM spatial gate)", "attention"},
    {ATTN_SALIENCY_GRADIENT, "The norm of the gradient of the output "
          "entropy with respect to the last block's input (DCN)",
        "gradient"},
    {0, NULL, NULL}
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstAttentionSaliency", values);
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

/* The file the `model` property names: unset or empty, the default. */
static gchar *
model_file (const gchar *property)
{
  return property && *property ? g_strdup (property)
      : gst_attention_default_model_path ();
}

/* The coarse pass's model when coarse-model is unset: with the shipped
 * default model, the coarse model shipped beside it (trained for what a
 * coarse pass sees; GST_ATTENTION_DEFAULT_COARSE_MODEL overrides), if it
 * is there; otherwise the model itself. */
static gchar *
coarse_model_file (const gchar *coarse, const gchar *model)
{
  if (coarse && *coarse)
    return g_strdup (coarse);
  if (model && *model)
    return g_strdup (model);
  const gchar *env = g_getenv ("GST_ATTENTION_DEFAULT_COARSE_MODEL");
  if (env && *env)
    return g_strdup (env);
  gchar *def = gst_attention_default_model_path ();
  gchar *dir = g_path_get_dirname (def);
  gchar *path = g_build_filename (dir, "coarse.safetensors", NULL);
  g_free (dir);
  if (g_file_test (path, G_FILE_TEST_EXISTS)) {
    g_free (def);
    return path;
  }
  g_free (path);
  return def;
}


/* ---- streaming ----------------------------------------------------------- */

static void
fill_format (PreFormat *f, const GstVideoInfo *info)
{
  memset (f, 0, sizeof *f);
  switch (GST_VIDEO_INFO_FORMAT (info)) {
    case GST_VIDEO_FORMAT_I420:
    case GST_VIDEO_FORMAT_NV12:
    case GST_VIDEO_FORMAT_YUY2:
    case GST_VIDEO_FORMAT_UYVY:{
      gdouble kr, kb;
      gboolean full;
      attn_video_info_matrix (info, &kr, &kb, &full);
      pre_format_yuv (f, (float) kr, (float) kb, full);
      GstVideoFormat vf = GST_VIDEO_INFO_FORMAT (info);
      f->layout = vf == GST_VIDEO_FORMAT_I420 ? PRE_I420
          : vf == GST_VIDEO_FORMAT_NV12 ? PRE_NV12
          : vf == GST_VIDEO_FORMAT_YUY2 ? PRE_YUY2 : PRE_UYVY;
      break;
    }
    case GST_VIDEO_FORMAT_GRAY8:
      f->layout = PRE_GRAY8;
      break;
    default:
      f->layout = PRE_PACKED;
      attn_video_info_packed (info, &f->pixel_stride, &f->r, &f->g, &f->b);
      break;
  }
}

static AttnResize
resize_mode (const AttnModel *m, GstAttentionScaleMode scale)
{
  return scale == GST_ATTENTION_SCALE_MODEL ? m->pre.resize
      : (AttnResize) (scale - 1);
}

/* Plans pre-processing for the current caps, roi and scale mode and the
 * running model. Streaming thread, no inference running. */
static gboolean
replan (GstAttentionInfer *self)
{
  const AttnModel *m = attn_engine_model (self->engine);
  g_mutex_lock (&self->lock);
  PreRect roi = self->roi;
  GstAttentionScaleMode scale = self->scale_mode;
  self->plan_dirty = FALSE;
  g_mutex_unlock (&self->lock);
  AttnResize mode = resize_mode (m, scale);
  int fw = GST_VIDEO_INFO_WIDTH (&self->info);
  int fh = GST_VIDEO_INFO_HEIGHT (&self->info);
  if (!pre_plan (&self->plan, fw, fh, &roi, mode, &m->pre)) {
    GST_ELEMENT_WARNING (self, STREAM, FAILED,
        ("The roi %d,%d,%dx%d lies outside the %dx%d frame; analysing the "
            "whole frame.", roi.x, roi.y, roi.w, roi.h, fw, fh), (NULL));
    if (!pre_plan (&self->plan, fw, fh, NULL, mode, &m->pre))
      return FALSE;
  }
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

/* The latency budget in effect; with the lock held. */
static GstClockTime
budget_ns (GstAttentionInfer *self)
{
  return self->latency_budget >= 0 ? (GstClockTime) self->latency_budget
      : self->frame_ns;
}

/* The latency this element adds: asynchronous, what a frame may wait for
 * its result; synchronous (and for objects, which are always analysed
 * synchronously), the slowest inference since the model loaded. With the
 * lock held. */
static GstClockTime
our_latency (GstAttentionInfer *self, gboolean async)
{
  if (async && self->region_mode == GST_ATTENTION_INFERENCE_REGION_FULL_FRAME)
    return budget_ns (self);
  AttnEngineStats st = { 0 };
  if (self->engine)
    attn_engine_get_stats (self->engine, &st);
  return st.max_latency_ns;
}

/* Tells the pipeline to ask for the latency again when ours has grown
 * past what the last query answered (a slower model swapped in, a slower
 * machine than the warm-up showed) or `force`. */
static void
check_latency (GstAttentionInfer *self, gboolean force)
{
  g_mutex_lock (&self->lock);
  GstClockTime now = our_latency (self, self->async);
  gboolean post = !self->latency_posted && (force || now > self->reported
      + self->reported / 4 + GST_MSECOND);
  if (post)
    self->latency_posted = TRUE;
  g_mutex_unlock (&self->lock);
  if (post) {
    GST_INFO_OBJECT (self, "latency now %" GST_TIME_FORMAT ", reported %"
        GST_TIME_FORMAT ": asking the pipeline to recompute it",
        GST_TIME_ARGS (now), GST_TIME_ARGS (self->reported));
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_latency (GST_OBJECT (self)));
  }
}

static void
attach (GstAttentionInfer *self, GstBuffer *buf, GstAttentionResult *r,
        guint64 frame)
{
  GstAttentionMeta *meta = gst_buffer_add_attention_meta (buf, r,
      self->producer, frame);
  if (!meta || !r->has_region)
    return;
  gint fw = GST_VIDEO_INFO_WIDTH (&self->info);
  gint fh = GST_VIDEO_INFO_HEIGHT (&self->info);
  gint x, y, w, h;
  gst_attention_meta_get_region_pixels (meta, fw, fh, &x, &y, &w, &h);
  GstVideoRegionOfInterestMeta *roi =
      gst_buffer_add_video_region_of_interest_meta (buf, "attention", x, y, w,
      h);
  /* in pixels, like the ROI meta's own rectangle */
  GstStructure *s = gst_structure_new ("attention",
      "producer", G_TYPE_STRING, self->producer,
      "model", G_TYPE_STRING, r->model,
      "score", G_TYPE_DOUBLE, (gdouble) r->region.score,
      "peak", G_TYPE_DOUBLE, (gdouble) r->region.peak,
      "centroid-x", G_TYPE_DOUBLE, (gdouble) r->region.centroid_x * fw,
      "centroid-y", G_TYPE_DOUBLE, (gdouble) r->region.centroid_y * fh,
      "stale", G_TYPE_BOOLEAN, meta->stale, NULL);
  if (r->n_classes > 0)
    gst_structure_set (s, "label", G_TYPE_STRING, r->classes[0].label,
        "confidence", G_TYPE_DOUBLE, (gdouble) r->classes[0].score, NULL);
  if (r->sentence)              /* a model with a decoder head */
    gst_structure_set (s, "sentence", G_TYPE_STRING, r->sentence, NULL);
  gst_video_region_of_interest_meta_add_param (roi, s);
}

/* One element message per inference (post-messages=true), as level and
 * zbar post theirs: what the result says, for bus watches in any language
 * and `gst-launch-1.0 -m`. Posted once per result, with the first buffer
 * that carries it; for an object (roi), also its id, type and rectangle
 * (pixels, as the region of interest has it). Coordinates otherwise
 * frame-normalised, as in the meta. */
static void
post_result (GstAttentionInfer *self, GstBuffer *buf,
             const GstAttentionResult *r, guint64 frame,
             const GstVideoRegionOfInterestMeta *roi)
{
  GstSegment *seg = &GST_BASE_TRANSFORM (self)->segment;
  GstClockTime pts = GST_BUFFER_PTS (buf);
  GstStructure *s = gst_structure_new ("attention",
      "model", G_TYPE_STRING, r->model,
      "frame", G_TYPE_UINT64, frame,
      "computed-on", G_TYPE_UINT64, r->frame,
      "stale", G_TYPE_BOOLEAN, r->frame != frame,
      "timestamp", G_TYPE_UINT64, pts,
      "stream-time", G_TYPE_UINT64, gst_segment_to_stream_time (seg,
          GST_FORMAT_TIME, pts),
      "running-time", G_TYPE_UINT64, gst_segment_to_running_time (seg,
          GST_FORMAT_TIME, pts),
      "duration", G_TYPE_UINT64, GST_BUFFER_DURATION (buf),
      "inference-latency", G_TYPE_UINT64, r->inference_ns, NULL);
  GValue classes = G_VALUE_INIT;
  gst_value_array_init (&classes, r->n_classes);
  for (guint i = 0; i < r->n_classes; i++) {
    GValue v = G_VALUE_INIT;
    g_value_init (&v, GST_TYPE_STRUCTURE);
    GstStructure *c = gst_structure_new ("class",
        "index", G_TYPE_UINT, r->classes[i].index,
        "label", G_TYPE_STRING, r->classes[i].label,
        "score", G_TYPE_DOUBLE, (gdouble) r->classes[i].score, NULL);
    g_value_take_boxed (&v, c);
    gst_value_array_append_and_take_value (&classes, &v);
  }
  gst_structure_take_value (s, "classes", &classes);
  if (r->sentence) {
    /* a decoder head's sentence, and its tokens with their scores */
    GValue seq = G_VALUE_INIT;
    gst_value_array_init (&seq, r->n_tokens);
    for (guint i = 0; i < r->n_tokens; i++) {
      GValue v = G_VALUE_INIT;
      g_value_init (&v, GST_TYPE_STRUCTURE);
      g_value_take_boxed (&v, gst_structure_new ("token",
              "token", G_TYPE_STRING, r->tokens[i].text,
              "score", G_TYPE_DOUBLE, (gdouble) r->tokens[i].score,
              "id", G_TYPE_UINT, r->tokens[i].id, NULL));
      gst_value_array_append_and_take_value (&seq, &v);
    }
    gst_structure_set (s, "sentence", G_TYPE_STRING, r->sentence, NULL);
    gst_structure_take_value (s, "sequence", &seq);
  }
  if (r->has_region) {
    const GstAttentionRegion *g = &r->region;
    GstStructure *reg = gst_structure_new ("region",
        "x", G_TYPE_DOUBLE, (gdouble) g->x, "y", G_TYPE_DOUBLE, (gdouble) g->y,
        "w", G_TYPE_DOUBLE, (gdouble) g->w, "h", G_TYPE_DOUBLE, (gdouble) g->h,
        "score", G_TYPE_DOUBLE, (gdouble) g->score,
        "peak", G_TYPE_DOUBLE, (gdouble) g->peak,
        "centroid-x", G_TYPE_DOUBLE, (gdouble) g->centroid_x,
        "centroid-y", G_TYPE_DOUBLE, (gdouble) g->centroid_y, NULL);
    gst_structure_set (s, "region", GST_TYPE_STRUCTURE, reg, NULL);
    gst_structure_free (reg);
  }
  if (roi)
    gst_structure_set (s, "object-id", G_TYPE_INT, roi->id,
        "object-type", G_TYPE_STRING, g_quark_to_string (roi->roi_type),
        "x", G_TYPE_UINT, roi->x, "y", G_TYPE_UINT, roi->y,
        "w", G_TYPE_UINT, roi->w, "h", G_TYPE_UINT, roi->h, NULL);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

/* The planes of a mapped frame, for pre-processing. */
static void
pre_frame (PreFrame *pf, const GstVideoFrame *vf)
{
  for (guint i = 0; i < 3; i++) {
    gboolean has = i < GST_VIDEO_FRAME_N_PLANES (vf);
    pf->plane[i] = has ? GST_VIDEO_FRAME_PLANE_DATA (vf, i) : NULL;
    pf->stride[i] = has ? GST_VIDEO_FRAME_PLANE_STRIDE (vf, i) : 0;
  }
}

/* Pre-processing, split over the process's thread budget like the
 * network: this thread holds one core meanwhile, and `threads` limits it. */
static void
run_pre (GstAttentionInfer *self, const PrePlan *plan, const PreFrame *pf,
         float *input)
{
  attn_parallel_set_threads (self->pre_threads);
  attn_parallel_enter ();
  pre_run (plan, &self->fmt, pf, input);
  attn_parallel_leave ();
}

/* Maps `buf` and fills the network input; FALSE if it cannot be read. */
static gboolean
prepare_input (GstAttentionInfer *self, GstBuffer *buf, float *input)
{
  GstVideoFrame vf;
  if (!gst_video_frame_map (&vf, &self->info, buf, GST_MAP_READ))
    return FALSE;
  PreFrame pf;
  pre_frame (&pf, &vf);
  run_pre (self, &self->plan, &pf, input);
  gst_video_frame_unmap (&vf);
  return TRUE;
}

/* Where the plan put the network input on the frame, into the job. */
static void
job_area (AttnJob *job, const PrePlan *p)
{
  job->area_x = p->area_x;
  job->area_y = p->area_y;
  job->area_w = p->area_w;
  job->area_h = p->area_h;
  job->content_x = p->content_x;
  job->content_y = p->content_y;
  job->content_w = p->content_w;
  job->content_h = p->content_h;
}

/* Whether QoS says this frame is too late to be worth an inference. */
static gboolean
frame_is_late (GstAttentionInfer *self, GstBuffer *buf, GstClockTime earliest,
               gdouble latency_ns)
{
  if (!GST_CLOCK_TIME_IS_VALID (earliest))
    return FALSE;
  GstClockTime rt = gst_segment_to_running_time (
      &GST_BASE_TRANSFORM (self)->segment, GST_FORMAT_TIME,
      GST_BUFFER_PTS (buf));
  return GST_CLOCK_TIME_IS_VALID (rt) && rt + (GstClockTime) latency_ns
      < earliest;
}

/* Applies what changed since the last inference, now that the engine is
 * ours (attn_engine_begin): a swapped-in model. */
static void
apply_pending (GstAttentionInfer *self, bool swapped)
{
  AttnEngine *engine = self->engine;
  g_mutex_lock (&self->lock);
  if (swapped)
    self->model_name = g_intern_string (attn_engine_model (engine)->name);
  g_mutex_unlock (&self->lock);
  if (swapped)
    GST_INFO_OBJECT (self, "now running model %s",
        attn_engine_model (engine)->path);
}

/* Fills the engine's input from `buf` and runs the job (here, or on the
 * engine's worker when `async`): the engine is ours since
 * attn_engine_begin handed out `input`. Applies what changed meanwhile:
 * the thread count, a swapped-in model, the plan. */
static GstFlowReturn
submit (GstAttentionInfer *self, GstBuffer *buf, float *input, bool swapped,
        gboolean plan_dirty, AttnJob *job, gboolean async)
{
  AttnEngine *engine = self->engine;
  apply_pending (self, swapped);
  if ((swapped || plan_dirty || !self->plan.x0) && !replan (self)) {
    attn_engine_cancel (engine);
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("cannot plan pre-processing for this frame size"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  gint64 t0 = attn_engine_now_ns ();
  if (!prepare_input (self, buf, input)) {
    attn_engine_cancel (engine);
    GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
        ("could not map the video frame"));
    return GST_FLOW_ERROR;
  }
  gdouble pre = (gdouble) (attn_engine_now_ns () - t0);
  self->pre_ns = MAX (pre, 0.95 * self->pre_ns);
  job_area (job, &self->plan);
  job->start_ns = t0;           /* queueing for the engine is not inference */
  attn_engine_run (engine, job, async);
  return GST_FLOW_OK;
}

/* Whether an upstream region of `type` is one to classify. */
static gboolean
object_wanted (const GArray *types, GQuark type)
{
  if (!types || types->len == 0)
    return TRUE;
  for (guint i = 0; i < types->len; i++)
    if (g_array_index (types, GQuark, i) == type)
      return TRUE;
  return FALSE;
}

/* inference-region=roi-list: runs the network on each wanted region of
 * interest of `buf`, here and now, and attaches each result to its region.
 * The frame is mapped once; each region is planned into object_plan, whose
 * tables are reused, so nothing is allocated per object but the results
 * (from the engine's pool). */
static GstFlowReturn
classify_objects (GstAttentionInfer *self, GstBuffer *buf, guint64 frame,
                  AttnJob *job, const GArray *types, gboolean post,
                  GstAttentionScaleMode scale)
{
  AttnEngine *engine = self->engine;
  GstVideoFrame vf;
  gboolean mapped = FALSE;
  gint fw = GST_VIDEO_INFO_WIDTH (&self->info);
  gint fh = GST_VIDEO_INFO_HEIGHT (&self->info);
  guint n = 0;
  gpointer state = NULL;
  GstMeta *meta;
  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
    if (!object_wanted (types, roi->roi_type))
      continue;
    if (!mapped && !(mapped = gst_video_frame_map (&vf, &self->info, buf,
                GST_MAP_READ))) {
      GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
          ("could not map the video frame"));
      return GST_FLOW_ERROR;
    }
    bool swapped;
    float *input = attn_engine_begin (engine, G_MAXINT64, &swapped);
    if (!input)
      continue;
    apply_pending (self, swapped);
    const AttnModel *m = attn_engine_model (engine);
    /* ROI metas are unsigned: clip to int, the plan clips to the frame */
    PreRect r = { (int) MIN (roi->x, (guint) G_MAXINT),
      (int) MIN (roi->y, (guint) G_MAXINT), (int) MIN (roi->w,
          (guint) G_MAXINT), (int) MIN (roi->h, (guint) G_MAXINT)
    };
    if (r.w <= 0 || r.h <= 0 || !pre_plan (&self->object_plan, fw, fh, &r,
            resize_mode (m, scale), &m->pre)) {
      attn_engine_cancel (engine);
      GST_DEBUG_OBJECT (self, "%s region %u,%u %ux%u is empty or outside the "
          "%dx%d frame: not classified", g_quark_to_string (roi->roi_type),
          roi->x, roi->y, roi->w, roi->h, fw, fh);
      continue;
    }
    gint64 t0 = attn_engine_now_ns ();
    PreFrame pf;
    pre_frame (&pf, &vf);
    run_pre (self, &self->object_plan, &pf, input);
    job_area (job, &self->object_plan);
    job->frame = frame;
    job->start_ns = t0;
    attn_engine_run (engine, job, false);
    GstAttentionResult *res = attn_engine_wait (engine, frame, G_MAXINT64);
    if (!res)
      continue;
    gst_attention_roi_add_result (roi, res, self->producer);
    if (post)
      post_result (self, buf, res, frame, roi);
    gst_attention_result_unref (res);
    n++;
  }
  if (mapped)
    gst_video_frame_unmap (&vf);
  GST_LOG_OBJECT (self, "frame %" G_GUINT64_FORMAT ": %u objects classified",
      frame, n);
  return GST_FLOW_OK;
}

/* ---- coarse-to-fine ------------------------------------------------------ */

/* The coarse-to-fine settings of one frame. */
typedef struct {
  guint patches;
  gint patch_size;
  AttnSaliencyKind saliency;
  gfloat min_saliency;
  gchar *coarse_model;          /* a copy, or NULL */
  gboolean dirty;
} C2fSettings;

/* A patch's side in frame pixels: `patch-size`, or an eighth of the
 * frame's shorter side (at least 16). */
static gint
patch_side (gint patch_size, gint fw, gint fh)
{
  return patch_size > 0 ? patch_size : MAX (MIN (fw, fh) / 8, 16);
}

static void
forget_patches (GstAttentionInfer *self)
{
  for (guint i = 0; i < self->n_last_patches; i++)
    gst_attention_result_unref (self->last_patch[i].result);
  self->n_last_patches = 0;
}

static void
free_coarse (GstAttentionInfer *self)
{
  forget_patches (self);
  attn_engine_free (self->coarse);
  self->coarse = NULL;
  g_clear_pointer (&self->coarse_path, g_free);
  pre_plan_clear (&self->coarse_plan);
  self->plan_fw = 0;
  g_clear_pointer (&self->taken, g_free);
  self->taken_len = 0;
  g_clear_pointer (&self->sal_norm, g_free);
  self->sal_norm_len = 0;
}

/* Has the coarse pass's engine and plan ready for this frame size, patch
 * size and roi: the coarse input is the analysed area shrunk so that a
 * patch spans a third of the fine model's input (at least the coarse
 * model's own input size, at most MAX_COARSE_SIDE). Loads and plans only
 * when one of them changed. FALSE after posting an error. */
static gboolean
ensure_coarse (GstAttentionInfer *self, const C2fSettings *cs)
{
  gint fw = GST_VIDEO_INFO_WIDTH (&self->info);
  gint fh = GST_VIDEO_INFO_HEIGHT (&self->info);
  g_mutex_lock (&self->lock);
  PreRect roi = self->roi;
  gchar *path = coarse_model_file (cs->coarse_model, self->model_path);
  gint threads = self->threads;
  g_mutex_unlock (&self->lock);

  /* the analysed area in pixels: the roi clipped to the frame */
  PreRect area = { 0, 0, fw, fh };
  if (roi.w > 0 && roi.h > 0) {
    gint x1 = MIN ((gint64) roi.x + roi.w, fw);
    gint y1 = MIN ((gint64) roi.y + roi.h, fh);
    if (roi.x < fw && roi.y < fh && x1 > roi.x && y1 > roi.y)
      area = (PreRect) { roi.x, roi.y, x1 - roi.x, y1 - roi.y };
  }
  const AttnModel *fine = attn_engine_model (self->engine);
  gint side = patch_side (cs->patch_size, fw, fh);
  gdouble scale = MIN (fine->pre.width, fine->pre.height) / (3.0 * side);
  gchar err[1024] = "";
  AttnModel *cm = attn_model_open_shared (path, err, sizeof err);
  if (!cm) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Could not load the coarse model \"%s\".", path), ("%s", err));
    g_free (path);
    return FALSE;
  }
  gdouble cw = area.w * scale, ch = area.h * scale;
  gdouble over = MAX (cw, ch) / MAX_COARSE_SIDE;
  if (over > 1) {
    cw /= over;
    ch /= over;
  }
  gint coarse_w = CLAMP ((gint) lround (cw), cm->pre.width, MAX_COARSE_SIDE);
  gint coarse_h = CLAMP ((gint) lround (ch), cm->pre.height, MAX_COARSE_SIDE);
  AttnPreprocess pre = cm->pre;
  attn_model_unref (cm);

  if (!self->coarse || cs->dirty || coarse_w != self->coarse_w
      || coarse_h != self->coarse_h || g_strcmp0 (path, self->coarse_path)) {
    free_coarse (self);
    AttnEngineModel *m = attn_engine_model_load_sized (path, coarse_h,
        coarse_w, err, sizeof err);
    if (!m) {
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
          ("Could not plan the coarse model \"%s\" for a %dx%d coarse pass "
              "(coarse-to-fine needs a model that runs at any input size).",
              path, coarse_w, coarse_h), ("%s", err));
      g_free (path);
      return FALSE;
    }
    GST_INFO_OBJECT (self, "coarse pass: %s at %dx%d, patches of %d pixels",
        path, coarse_w, coarse_h, side);
    self->coarse = attn_engine_new (m);
    self->coarse_path = path;
    self->coarse_w = coarse_w;
    self->coarse_h = coarse_h;
    path = NULL;
  }
  g_free (path);
  attn_engine_set_threads (self->coarse, threads);
  self->coarse_patch = side;
  if (self->plan_fw != fw || self->plan_fh != fh || memcmp (&roi,
          &self->plan_roi, sizeof roi)) {
    pre.width = coarse_w;
    pre.height = coarse_h;
    if (!pre_plan (&self->coarse_plan, fw, fh, &area, ATTN_RESIZE_STRETCH,
            &pre)) {
      GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
          ("cannot plan the coarse pass for %dx%d frames", fw, fh));
      return FALSE;
    }
    self->plan_fw = fw;
    self->plan_fh = fh;
    self->plan_roi = roi;
  }
  return TRUE;
}

/* Attaches a patch: its region of interest in frame pixels, with the fine
 * result, the saliency that chose it and whether it is carried over. */
static GstVideoRegionOfInterestMeta *
attach_patch (GstAttentionInfer *self, GstBuffer *buf, const PreRect *r,
              GstAttentionResult *res, gfloat saliency, gboolean stale)
{
  GstVideoRegionOfInterestMeta *roi =
      gst_buffer_add_video_region_of_interest_meta (buf,
      GST_ATTENTION_PATCH_TYPE, (guint) r->x, (guint) r->y, (guint) r->w,
      (guint) r->h);
  if (!roi)
    return NULL;
  gst_attention_roi_add_result (roi, res, self->producer);
  GstStructure *s = gst_video_region_of_interest_meta_get_param (roi,
      "attention");
  gst_structure_set (s, "saliency", G_TYPE_DOUBLE, (gdouble) saliency,
      "stale", G_TYPE_BOOLEAN, stale, NULL);
  return roi;
}

/* A frame without a pass of its own (inference-interval, QoS) carries the
 * last pass's frame result and patches, marked stale. */
static void
carry_over (GstAttentionInfer *self, GstBuffer *buf, guint64 frame)
{
  GstAttentionResult *r = self->coarse ? attn_engine_latest (self->coarse)
      : NULL;
  if (!r)
    return;
  attach (self, buf, r, frame);
  gst_attention_result_unref (r);
  for (guint i = 0; i < self->n_last_patches; i++)
    attach_patch (self, buf, &self->last_patch[i].rect,
        self->last_patch[i].result, self->last_patch[i].saliency, TRUE);
}

/* patches=N: the coarse model over the analysed area, its saliency map,
 * the N most salient positions (suppressed so that two patches do not
 * cover one object, none below min-saliency), and the fine model (the
 * element's model) on a full-resolution patch around each. The coarse
 * result is the frame's meta; each patch is a region of interest of type
 * GST_ATTENTION_PATCH_TYPE with its result, most salient first. Runs here
 * and now (a patch belongs to its frame), one inference per patch. */
static GstFlowReturn
coarse_to_fine (GstAttentionInfer *self, GstBuffer *buf, guint64 frame,
                AttnJob *job, const C2fSettings *cs, gboolean post,
                GstAttentionScaleMode scale)
{
  if (!ensure_coarse (self, cs))
    return GST_FLOW_ERROR;
  gint fw = GST_VIDEO_INFO_WIDTH (&self->info);
  gint fh = GST_VIDEO_INFO_HEIGHT (&self->info);
  GstVideoFrame vf;
  /* no reference: metas are added to `buf` while it is mapped */
  if (!gst_video_frame_map (&vf, &self->info, buf, GST_MAP_READ
          | GST_VIDEO_FRAME_MAP_FLAG_NO_REF)) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
        ("could not map the video frame"));
    return GST_FLOW_ERROR;
  }
  PreFrame pf;
  pre_frame (&pf, &vf);

  /* the coarse pass */
  bool swapped;
  float *input = attn_engine_begin (self->coarse, G_MAXINT64, &swapped);
  gint64 t0 = attn_engine_now_ns ();
  run_pre (self, &self->coarse_plan, &pf, input);
  job_area (job, &self->coarse_plan);
  job->frame = frame;
  job->start_ns = t0;
  attn_engine_run (self->coarse, job, false);
  GstAttentionResult *cr = attn_engine_wait (self->coarse, frame, G_MAXINT64);
  gchar err[512] = "";
  gint gh = 0, gw = 0;
  const float *sal = attn_engine_saliency (self->coarse, cs->saliency, &gh,
      &gw, err, sizeof err);
  if (!cr || !sal) {
    gst_video_frame_unmap (&vf);
    gst_attention_result_unref (cr);
    GST_ELEMENT_ERROR (self, STREAM, FAILED,
        ("The coarse model \"%s\" gives no %s saliency map.",
            self->coarse_path, cs->saliency == ATTN_SALIENCY_GRADIENT
            ? "gradient" : "attention"), ("%s", err));
    return GST_FLOW_ERROR;
  }
  gsize cells = (gsize) gh * gw;
  if (self->taken_len < cells) {
    /* once per coarse plan */
    g_free (self->taken);
    self->taken = g_malloc (cells);
    self->taken_len = cells;
    g_free (self->sal_norm);
    self->sal_norm = g_new (gfloat, cells);
    self->sal_norm_len = cells;
  }
  if (cs->saliency == ATTN_SALIENCY_GRADIENT) {
    /* gradient norms have no fixed scale: relative to the frame's largest */
    gfloat top = 0;
    for (gsize i = 0; i < cells; i++)
      top = isfinite (sal[i]) ? MAX (top, sal[i]) : top;
    for (gsize i = 0; i < cells; i++)
      self->sal_norm[i] = top > 0 ? sal[i] / top : 0.0f;
    sal = self->sal_norm;
  }
  attach (self, buf, cr, frame);
  if (post)
    post_result (self, buf, cr, frame, NULL);

  /* the positions: the map spans the coarse input, which is the area */
  const PrePlan *cp = &self->coarse_plan;
  gdouble cell_w = cp->area_w * fw / gw, cell_h = cp->area_h * fh / gh;
  gint side = self->coarse_patch;
  /* no patch centred inside another */
  gint rx = (gint) (0.5 * side / cell_w), ry = (gint) (0.5 * side / cell_h);
  int idx[MAX_PATCHES];
  float vals[MAX_PATCHES];
  int n = attn_pick_salient (idx, vals, sal, gh, gw,
      (int) MIN (cs->patches, MAX_PATCHES), cs->min_saliency, rx, ry,
      self->taken);
  forget_patches (self);
  gint pw = MIN (side, fw), ph = MIN (side, fh);
  for (int i = 0; i < n; i++) {
    gdouble cx = cp->area_x * fw + (idx[i] % gw + 0.5) * cell_w;
    gdouble cy = cp->area_y * fh + (idx[i] / gw + 0.5) * cell_h;
    PreRect r = { CLAMP ((gint) lround (cx - pw / 2.0), 0, fw - pw),
      CLAMP ((gint) lround (cy - ph / 2.0), 0, fh - ph), pw, ph
    };
    float *in = attn_engine_begin (self->engine, G_MAXINT64, &swapped);
    if (!in)
      continue;
    apply_pending (self, swapped);
    const AttnModel *m = attn_engine_model (self->engine);
    if (!pre_plan (&self->object_plan, fw, fh, &r, resize_mode (m, scale),
            &m->pre)) {
      attn_engine_cancel (self->engine);
      continue;
    }
    t0 = attn_engine_now_ns ();
    run_pre (self, &self->object_plan, &pf, in);
    job_area (job, &self->object_plan);
    job->start_ns = t0;
    attn_engine_run (self->engine, job, false);
    GstAttentionResult *res = attn_engine_wait (self->engine, frame,
        G_MAXINT64);
    if (!res)
      continue;
    GstVideoRegionOfInterestMeta *roi = attach_patch (self, buf, &r, res,
        vals[i], FALSE);
    if (post && roi)
      post_result (self, buf, res, frame, roi);
    guint k = self->n_last_patches++;
    self->last_patch[k].rect = r;
    self->last_patch[k].result = res;   /* the reference is kept */
    self->last_patch[k].saliency = vals[i];
  }
  gst_video_frame_unmap (&vf);
  g_mutex_lock (&self->lock);
  self->n_frames++;
  g_mutex_unlock (&self->lock);
  GST_LOG_OBJECT (self, "frame %" G_GUINT64_FORMAT ": %d patches", frame, n);
  gst_attention_result_unref (cr);
  return GST_FLOW_OK;
}

/* When an asynchronous frame must leave: `budget` after it arrived, and
 * with a clock no later than `budget` past the moment it would have arrived
 * without delay — its running time plus the shortest transit from the
 * source seen on this stream (what the source really takes; sources tend
 * to take longer than the latency they report). So a stream that fell
 * behind (a slow first result, a stall) waits less until it has caught up,
 * instead of carrying the delay on. Monotonic nanoseconds. */
static gint64
frame_deadline (GstAttentionInfer *self, GstBuffer *buf, gint64 arrival,
                GstClockTime budget)
{
  gint64 deadline = arrival + (gint64) budget;
  GstClock *clock = gst_element_get_clock (GST_ELEMENT (self));
  if (!clock)
    return deadline;
  GstClockTime rt = gst_segment_to_running_time (
      &GST_BASE_TRANSFORM (self)->segment, GST_FORMAT_TIME,
      GST_BUFFER_PTS (buf));
  if (GST_CLOCK_TIME_IS_VALID (rt)) {
    GstClockTime start = gst_element_get_base_time (GST_ELEMENT (self)) + rt;
    GstClockTimeDiff transit = GST_CLOCK_DIFF (start,
        gst_clock_get_time (clock));
    if (self->transit_known)
      self->transit = MIN (self->transit, transit);
    else
      self->transit = transit;
    self->transit_known = TRUE;
    /* now − (start + transit): how late this frame is */
    GstClockTimeDiff late = transit - self->transit;
    deadline = MIN (deadline, arrival + (gint64) budget - late);
  }
  gst_object_unref (clock);
  return deadline;
}

static GstFlowReturn
gst_attention_infer_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  GstAttentionInfer *self = GST_ATTENTION_INFER (trans);
  gint64 arrival = attn_engine_now_ns ();

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
    g_mutex_unlock (&self->lock);
    GST_INFO_OBJECT (self, "running %s", self->async ? "asynchronously" :
        "synchronously");
  }

  /* the settings for this frame */
  g_mutex_lock (&self->lock);
  AttnEngine *engine = self->engine;
  guint interval = MAX (self->interval, 1);
  gboolean qos = self->qos, async = self->async;
  GstClockTime earliest = self->earliest, budget = budget_ns (self);
  gboolean plan_dirty = self->plan_dirty;
  AttnJob job = { 0 };
  job.top_k = self->top_k;
  job.threshold = self->threshold;
  job.channels = self->channel_weights;
  GstAttentionInferenceRegion region_mode = self->region_mode;
  GArray *types = region_mode == GST_ATTENTION_INFERENCE_REGION_ROI_LIST
      && self->object_types ? g_array_ref (self->object_types) : NULL;
  gboolean post_messages = self->post_messages;
  GstAttentionScaleMode scale = self->scale_mode;
  self->pre_threads = self->threads;
  C2fSettings c2f = { self->patches, self->patch_size, self->saliency,
    self->min_saliency, NULL, self->coarse_dirty
  };
  if (c2f.patches > 0 && region_mode != GST_ATTENTION_INFERENCE_REGION_ROI_LIST) {
    c2f.coarse_model = g_strdup (self->coarse_model);
    self->coarse_dirty = FALSE;
  }
  g_mutex_unlock (&self->lock);

  guint64 frame = self->frame++;
  if (region_mode != self->region_mode_last) {
    /* a frame's result and an object's describe different pictures */
    attn_engine_flush (engine);
    self->region_mode_last = region_mode;
  }
  if (region_mode == GST_ATTENTION_INFERENCE_REGION_ROI_LIST) {
    GstFlowReturn ret = GST_FLOW_OK;
    gboolean late = FALSE;
    if (qos) {
      AttnEngineStats st;
      attn_engine_get_stats (engine, &st);
      late = frame_is_late (self, buf, earliest, st.latency_ns);
    }
    if (frame % interval == 0 && !late)
      ret = classify_objects (self, buf, frame, &job, types, post_messages,
          scale);
    else
      GST_DEBUG_OBJECT (self, "frame %" G_GUINT64_FORMAT ": objects not "
          "classified (%s)", frame, late ? "late" : "inference-interval");
    if (types)
      g_array_unref (types);
    return ret;
  }
  if (types)
    g_array_unref (types);
  if (c2f.patches > 0) {
    gboolean late = FALSE;
    if (qos && self->coarse) {
      AttnEngineStats st;
      attn_engine_get_stats (self->coarse, &st);
      late = frame_is_late (self, buf, earliest, st.latency_ns);
    }
    GstFlowReturn ret = GST_FLOW_OK;
    if ((frame % interval == 0 || !self->coarse) && !late) {
      ret = coarse_to_fine (self, buf, frame, &job, &c2f, post_messages,
          scale);
    } else {
      GST_DEBUG_OBJECT (self, "frame %" G_GUINT64_FORMAT ": last patches "
          "carried over (%s)", frame, late ? "late" : "inference-interval");
      carry_over (self, buf, frame);
      g_mutex_lock (&self->lock);
      self->n_frames++;
      self->n_stale++;
      g_mutex_unlock (&self->lock);
    }
    g_free (c2f.coarse_model);
    return ret;
  }
  if (self->coarse)
    free_coarse (self);         /* patches=0 now */
  GstAttentionResult *newest = attn_engine_latest (engine);
  gboolean due = frame % interval == 0 || !newest;
  if (due && newest && qos) {
    AttnEngineStats st;
    attn_engine_get_stats (engine, &st);
    if (frame_is_late (self, buf, earliest, st.latency_ns)) {
      GST_DEBUG_OBJECT (self, "frame %" G_GUINT64_FORMAT " is late: reusing "
          "the last result", frame);
      due = FALSE;
    }
  }
  /* the very first result is waited for, so every buffer carries one;
   * after that an asynchronous frame waits at most the budget, input
   * preparation included, counted from when it was captured */
  gint64 deadline = !async || !newest ? G_MAXINT64
      : frame_deadline (self, buf, arrival, budget);
  gst_attention_result_unref (newest);
  if (due && deadline != G_MAXINT64
      && deadline - attn_engine_now_ns () < (gint64) self->pre_ns) {
    GST_DEBUG_OBJECT (self, "frame %" G_GUINT64_FORMAT " has no time left "
        "for an inference", frame);
    due = FALSE;
  }

  gboolean submitted = FALSE;
  bool swapped = false;
  float *input = NULL;
  if (due)
    input = attn_engine_begin (engine, deadline == G_MAXINT64 ? G_MAXINT64
        : deadline - (gint64) self->pre_ns, &swapped);
  if (input) {
    job.frame = frame;
    GstFlowReturn ret = submit (self, buf, input, swapped, plan_dirty, &job,
        async);
    if (ret != GST_FLOW_OK)
      return ret;
    submitted = TRUE;
  }

  GstAttentionResult *r = attn_engine_wait (engine, frame,
      submitted ? deadline : -1);
  if (r) {
    attach (self, buf, r, frame);
    g_mutex_lock (&self->lock);
    self->n_frames++;
    self->n_stale += r->frame != frame;
    gboolean post = self->post_messages && r->frame != self->posted;
    g_mutex_unlock (&self->lock);
    if (post) {
      post_result (self, buf, r, frame, NULL);
      self->posted = r->frame;
    }
    gst_attention_result_unref (r);
  }
  if (submitted)
    check_latency (self, swapped);
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
  /* the worker reads the net input, never the frame or the plan: the plan
   * is the streaming thread's, rebuilt here */
  self->info = info;
  self->have_info = TRUE;
  fill_format (&self->fmt, &info);
  if (!replan (self)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("cannot prepare %dx%d %s frames for the model", info.width,
            info.height, gst_video_format_to_string (info.finfo->format)));
    return FALSE;
  }
  g_mutex_lock (&self->lock);
  GstClockTime old = budget_ns (self);
  self->frame_ns = info.fps_n > 0 && info.fps_d > 0
      ? gst_util_uint64_scale_int (GST_SECOND, info.fps_d, info.fps_n)
      : FALLBACK_FRAME_NS;
  gboolean changed = budget_ns (self) != old && self->async;
  g_mutex_unlock (&self->lock);
  if (changed)
    check_latency (self, TRUE);
  return TRUE;
}

static gboolean
gst_attention_infer_start (GstBaseTransform *trans)
{
  GstAttentionInfer *self = GST_ATTENTION_INFER (trans);
  g_mutex_lock (&self->lock);
  gchar *path = model_file (self->model_path);
  gint threads = self->threads;
  g_mutex_unlock (&self->lock);

  gchar err[1024] = "";
  AttnEngineModel *m = attn_engine_model_load (path, err, sizeof err);
  if (!m) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Could not load the model \"%s\".", path), ("%s", err));
    g_free (path);
    return FALSE;
  }
  g_free (path);
  const AttnModel *info = attn_engine_model_info (m);
  GST_INFO_OBJECT (self, "model %s: %d classes, input %dx%d, first pass "
      "%.1f ms", info->name, info->num_classes, info->pre.width,
      info->pre.height, attn_engine_model_warmup_ns (m) / 1e6);

  gchar *name = gst_object_get_name (GST_OBJECT (self));
  g_mutex_lock (&self->lock);
  self->engine = attn_engine_new (m);
  attn_engine_set_threads (self->engine, threads);
  attn_engine_set_batch (self->engine, (int) self->batch_size,
      (int64_t) self->batch_timeout);
  self->model_name = g_intern_string (info->name);
  self->producer = g_intern_string (name);
  self->frame = 0;
  self->pre_ns = 0;
  self->posted = G_MAXUINT64;
  self->transit_known = FALSE;
  self->mode_resolved = FALSE;
  self->async = FALSE;
  self->earliest = GST_CLOCK_TIME_NONE;
  self->frame_ns = FALLBACK_FRAME_NS;
  self->reported = 0;
  self->latency_posted = FALSE;
  self->n_frames = self->n_stale = 0;
  self->region_mode_last = self->region_mode;
  g_mutex_unlock (&self->lock);
  g_free (name);
  return TRUE;
}

static gboolean
gst_attention_infer_stop (GstBaseTransform *trans)
{
  GstAttentionInfer *self = GST_ATTENTION_INFER (trans);
  g_mutex_lock (&self->lock);
  AttnEngine *e = self->engine;
  self->engine = NULL;
  self->have_info = FALSE;
  self->mode_resolved = FALSE;
  g_mutex_unlock (&self->lock);
  pre_plan_clear (&self->plan);
  pre_plan_clear (&self->object_plan);
  free_coarse (self);
  /* results still attached to buffers downstream keep their pools alive */
  attn_engine_free (e);
  return TRUE;
}

/* Forgets every result and restarts the frame count: after a flush or at a
 * new segment or stream, a result from before would describe other
 * pictures. */
static void
reset_stream (GstAttentionInfer *self)
{
  g_mutex_lock (&self->lock);
  AttnEngine *e = self->engine;
  self->earliest = GST_CLOCK_TIME_NONE;
  g_mutex_unlock (&self->lock);
  if (e)
    attn_engine_flush (e);
  if (self->coarse)
    attn_engine_flush (self->coarse);
  forget_patches (self);
  self->frame = 0;
  self->posted = G_MAXUINT64;
  self->transit_known = FALSE;
}

static gboolean
gst_attention_infer_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstAttentionInfer *self = GST_ATTENTION_INFER (trans);
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_FLUSH_STOP:
    case GST_EVENT_SEGMENT:
    case GST_EVENT_STREAM_START:
      GST_DEBUG_OBJECT (self, "%s: dropping results",
          GST_EVENT_TYPE_NAME (event));
      reset_stream (self);
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
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
    /* before the mode is known, auto means asynchronous if live */
    gboolean async = self->mode_resolved ? self->async
        : self->mode == GST_ATTENTION_INFER_MODE_ASYNC
        || (self->mode == GST_ATTENTION_INFER_MODE_AUTO && live);
    GstClockTime ours = our_latency (self, async);
    self->reported = ours;
    self->latency_posted = FALSE;
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

/* One number of a roi: digits after optional blanks, clipped to int. */
static gboolean
parse_roi_number (const gchar **s, gint64 *out)
{
  while (g_ascii_isspace (**s))
    (*s)++;
  if (!g_ascii_isdigit (**s))
    return FALSE;
  gint64 v = 0;
  while (g_ascii_isdigit (**s)) {
    v = MIN (v * 10 + (**s - '0'), (gint64) G_MAXINT);
    (*s)++;
  }
  while (g_ascii_isspace (**s))
    (*s)++;
  *out = v;
  return TRUE;
}

/* "x,y,w,h" in pixels, blanks allowed around each number; values past
 * G_MAXINT are clipped (the frame clips the roi again). "" or only blanks:
 * no roi. */
static gboolean
parse_roi (const gchar *s, PreRect *r)
{
  const gchar *p = s ? s : "";
  while (g_ascii_isspace (*p))
    p++;
  if (!*p) {
    *r = (PreRect) { 0, 0, 0, 0 };
    return TRUE;
  }
  gint64 v[4];
  for (int i = 0; i < 4; i++) {
    if (!parse_roi_number (&p, &v[i]))
      return FALSE;
    if (i < 3 && *p++ != ',')
      return FALSE;
  }
  if (*p || v[2] <= 0 || v[3] <= 0)
    return FALSE;
  *r = (PreRect) { (int) v[0], (int) v[1], (int) v[2], (int) v[3] };
  return TRUE;
}

/* `model` set while running: the file is read here, in the caller's thread,
 * under no lock; the engine swaps it in between inferences. A file that
 * fails keeps the current model and says why. */
static void
load_while_running (GstAttentionInfer *self, const gchar *property)
{
  gchar *path = model_file (property);
  gchar err[1024] = "";
  AttnEngineModel *m = attn_engine_model_load (path, err, sizeof err);
  if (!m) {
    GST_ELEMENT_WARNING (self, RESOURCE, OPEN_READ,
        ("Could not load the model \"%s\"; keeping the current one.", path),
        ("%s", err));
    g_free (path);
    return;
  }
  g_free (path);
  g_mutex_lock (&self->lock);
  AttnEngine *e = self->engine;
  if (e)                        /* else the element stopped meanwhile */
    attn_engine_set_model (e, m);
  g_mutex_unlock (&self->lock);
  if (!e)
    attn_engine_model_free (m);
}

/* "car,person" → their GQuarks; blanks around names ignored, empty names
 * skipped. Empty: every type. */
static GArray *
parse_object_class (const gchar *s)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (GQuark));
  gchar **names = g_strsplit (s ? s : "", ",", -1);
  for (gchar **n = names; *n; n++) {
    g_strstrip (*n);
    if (**n) {
      GQuark q = g_quark_from_string (*n);
      g_array_append_val (a, q);
    }
  }
  g_strfreev (names);
  return a;
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
      gboolean running = self->engine != NULL;
      g_free (self->model_path);
      self->model_path = g_strdup (path);
      g_mutex_unlock (&self->lock);
      if (running)
        load_while_running (self, path);
      g_mutex_lock (&self->lock);
      self->coarse_dirty = TRUE;
      g_mutex_unlock (&self->lock);
      break;
    }
    case PROP_PATCHES:
      g_mutex_lock (&self->lock);
      self->patches = g_value_get_uint (value);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_PATCH_SIZE:
      g_mutex_lock (&self->lock);
      self->patch_size = g_value_get_int (value);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_SALIENCY:
      g_mutex_lock (&self->lock);
      self->saliency = (AttnSaliencyKind) g_value_get_enum (value);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_MIN_SALIENCY:
      g_mutex_lock (&self->lock);
      self->min_saliency = g_value_get_float (value);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_COARSE_MODEL:
      g_mutex_lock (&self->lock);
      g_free (self->coarse_model);
      self->coarse_model = g_value_dup_string (value);
      self->coarse_dirty = TRUE;
      g_mutex_unlock (&self->lock);
      break;
    case PROP_INFERENCE_INTERVAL:
      g_mutex_lock (&self->lock);
      self->interval = g_value_get_uint (value);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_THREADS:{
      gint threads = g_value_get_int (value);
      gint cores = (gint) g_get_num_processors ();
      if (threads > cores)
        GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
            ("threads=%d is more than the %d cores of this machine; using %d.",
                threads, cores, cores), (NULL));
      g_mutex_lock (&self->lock);
      self->threads = threads;
      if (self->engine)
        attn_engine_set_threads (self->engine, threads);
      g_mutex_unlock (&self->lock);
      break;
    }
    case PROP_BATCH_SIZE:
    case PROP_BATCH_TIMEOUT:
      g_mutex_lock (&self->lock);
      if (prop_id == PROP_BATCH_SIZE)
        self->batch_size = g_value_get_uint (value);
      else
        self->batch_timeout = g_value_get_uint64 (value);
      if (self->engine)
        attn_engine_set_batch (self->engine, (int) self->batch_size,
            (int64_t) self->batch_timeout);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_TOP_K:
      g_mutex_lock (&self->lock);
      self->top_k = g_value_get_uint (value);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_ROI:{
      PreRect r;
      const gchar *s = g_value_get_string (value);
      if (!parse_roi (s, &r)) {
        GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
            ("The roi \"%s\" is not \"x,y,w,h\" (pixels, w and h > 0); "
                "keeping the current one.", s), (NULL));
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
    case PROP_MODE:{
      g_mutex_lock (&self->lock);
      gboolean running = self->engine != NULL;
      if (!running)
        self->mode = g_value_get_enum (value);
      g_mutex_unlock (&self->lock);
      if (running)
        GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
            ("The mode cannot change while the element runs; it applies "
                "from the next start (READY to PAUSED)."), (NULL));
      break;
    }
    case PROP_CHANNEL_WEIGHTS:
      g_mutex_lock (&self->lock);
      self->channel_weights = g_value_get_boolean (value);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_POST_MESSAGES:
      g_mutex_lock (&self->lock);
      self->post_messages = g_value_get_boolean (value);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_INFERENCE_REGION:{
      g_mutex_lock (&self->lock);
      gboolean changed = self->engine
          && self->region_mode != (guint) g_value_get_enum (value);
      self->region_mode = g_value_get_enum (value);
      g_mutex_unlock (&self->lock);
      if (changed)              /* the latency may change with it */
        check_latency (self, TRUE);
      break;
    }
    case PROP_OBJECT_CLASS:{
      const gchar *v = g_value_get_string (value);
      GArray *types = parse_object_class (v);
      g_mutex_lock (&self->lock);
      GArray *old = self->object_types;
      self->object_types = types;
      g_free (self->object_class);
      self->object_class = g_strdup (v);
      g_mutex_unlock (&self->lock);
      g_array_unref (old);
      break;
    }
    case PROP_LATENCY_BUDGET:{
      g_mutex_lock (&self->lock);
      GstClockTime old = budget_ns (self);
      self->latency_budget = g_value_get_int64 (value);
      gboolean changed = self->engine && self->async
          && budget_ns (self) != old;
      g_mutex_unlock (&self->lock);
      if (changed)
        check_latency (self, TRUE);
      break;
    }
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
  AttnEngineStats st = { 0 };
  if (self->engine)
    attn_engine_get_stats (self->engine, &st);
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
    case PROP_LATENCY_BUDGET:
      g_value_set_int64 (value, self->latency_budget);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean (value, self->post_messages);
      break;
    case PROP_INFERENCE_REGION:
      g_value_set_enum (value, self->region_mode);
      break;
    case PROP_OBJECT_CLASS:
      g_value_set_string (value, self->object_class ? self->object_class : "");
      break;
    case PROP_PATCHES:
      g_value_set_uint (value, self->patches);
      break;
    case PROP_PATCH_SIZE:
      g_value_set_int (value, self->patch_size);
      break;
    case PROP_SALIENCY:
      g_value_set_enum (value, self->saliency);
      break;
    case PROP_MIN_SALIENCY:
      g_value_set_float (value, self->min_saliency);
      break;
    case PROP_COARSE_MODEL:
      g_value_set_string (value, self->coarse_model);
      break;
    case PROP_MODEL_NAME:
      g_value_set_string (value, self->engine ? self->model_name : NULL);
      break;
    case PROP_INFERENCE_LATENCY:
      g_value_set_uint64 (value, (guint64) st.latency_ns);
      break;
    case PROP_INFERENCE_RATE:
      g_value_set_double (value, st.rate);
      break;
    case PROP_INFERENCES:
      g_value_set_uint64 (value, st.inferences);
      break;
    case PROP_FRAMES:
      g_value_set_uint64 (value, self->n_frames);
      break;
    case PROP_STALE_FRAMES:
      g_value_set_uint64 (value, self->n_stale);
      break;
    case PROP_BATCH_SIZE:
      g_value_set_uint (value, self->batch_size);
      break;
    case PROP_BATCH_TIMEOUT:
      g_value_set_uint64 (value, self->batch_timeout);
      break;
    case PROP_BATCHED_INFERENCES:
      g_value_set_uint64 (value, st.batched);
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
  g_free (self->object_class);
  g_free (self->coarse_model);
  g_array_unref (self->object_types);
  g_mutex_clear (&self->lock);
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
          "Path of the .safetensors model file (docs/model-format.md); unset "
          "or empty: the shipped default model. Only regular files are "
          "opened. Set while PLAYING, the new model is loaded in the calling "
          "thread and swapped in between frames; a file that fails to load "
          "keeps the current model and posts a warning",
          NULL, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_INFERENCE_INTERVAL,
      g_param_spec_uint ("inference-interval", "Inference interval",
          "Run the network on every Nth frame; the frames between reuse the "
          "last result, marked stale", 1, G_MAXUINT, DEFAULT_INTERVAL,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_int ("threads", "Threads",
          "The most threads one inference of this element may use, its own "
          "included (0: every core; more than the cores is clipped to the "
          "cores, with a warning). Every attentioninfer in the process "
          "shares one budget of the machine's cores: a stream alone gets "
          "all it asks for, several streams share them and never "
          "oversubscribe the machine", 0, 256, DEFAULT_THREADS,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_BATCH_SIZE,
      g_param_spec_uint ("batch-size", "Batch size",
          "Run this stream's frames in one forward pass with those of other "
          "attentioninfer elements of the same model in the process: an "
          "inference waits until this many streams have a frame ready (the "
          "smallest batch-size among them counts) or batch-timeout has "
          "passed, then all run together, each with its own results. Only "
          "layers that gain run batched (small maps, large weights: the late "
          "layers of 224-pixel ResNets); 1: every frame alone", 1,
          ATTN_NET_MAX_BATCH, DEFAULT_BATCH_SIZE,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_BATCH_TIMEOUT,
      g_param_spec_uint64 ("batch-timeout", "Batch timeout",
          "With batch-size > 1, the longest the first frame of a batch waits "
          "for the others, nanoseconds; a batch that is not full by then "
          "runs with the frames it has", 0, GST_SECOND, DEFAULT_BATCH_TIMEOUT,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_TOP_K,
      g_param_spec_uint ("top-k", "Top k",
          "How many of the most probable classes the meta carries", 0, 1000,
          DEFAULT_TOP_K, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_ROI,
      g_param_spec_string ("roi", "Region of interest",
          "Analyse only this part of the frame, \"x,y,w,h\" in pixels "
          "(clipped to the frame); empty: the whole frame. A malformed value "
          "keeps the current one and posts a warning", "",
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_SCALE_MODE,
      g_param_spec_enum ("scale-mode", "Scale mode",
          "How the frame (or roi) is fitted to the network's input size",
          gst_attention_scale_mode_get_type (), DEFAULT_SCALE_MODE,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_ATTENTION_THRESHOLD,
      g_param_spec_float ("attention-threshold", "Attention threshold",
          "The attended region is the connected area around the final map's "
          "highest cell where the map exceeds min + threshold × (max − min), "
          "over the cells that show the frame", 0.0f, 1.0f, DEFAULT_THRESHOLD,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_QOS,
      g_param_spec_boolean ("qos", "QoS",
          "When downstream reports frames arriving late, skip inference on "
          "late frames (they pass with the last result, marked stale) instead "
          "of falling further behind", DEFAULT_QOS,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode",
          "Synchronous: analysed frames wait for their result. Asynchronous: "
          "the network runs on a worker thread and a frame waits for its own "
          "result at most latency-budget, then passes with the newest "
          "finished result, marked stale (the right choice for live "
          "sources). Auto picks asynchronous when upstream is live",
          gst_attention_infer_mode_get_type (), DEFAULT_MODE,
          rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_CHANNEL_WEIGHTS,
      g_param_spec_boolean ("channel-weights", "Channel weights",
          "Also attach the last attention block's channel-gate weights",
          FALSE, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_LATENCY_BUDGET,
      g_param_spec_int64 ("latency-budget", "Latency budget",
          "Asynchronous mode: how long a frame may wait for its own result, "
          "nanoseconds, input preparation included (0: never wait; -1: one "
          "frame duration at the negotiated frame rate, 1/30 s without one). "
          "Added to the pipeline's latency", -1, G_MAXINT64,
          DEFAULT_LATENCY_BUDGET, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
          "Post an element message named \"attention\" on the bus for every "
          "inference: model, frame, computed-on, stale, timestamp, "
          "stream-time, running-time, duration, inference-latency, classes "
          "(index, label, score) and the region (frame-normalised); for an "
          "object (inference-region=roi-list) also object-id, object-type "
          "and x, y, w, h (pixels)", FALSE,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_INFERENCE_REGION,
      g_param_spec_enum ("inference-region", "Inference region",
          "full-frame: the network runs on the frame (or the roi). roi-list: "
          "on each region of interest attached upstream (a detector's "
          "objects) whose type object-class lists, each result attached to "
          "its region as an \"attention\" parameter; objects are analysed "
          "synchronously, one inference each",
          gst_attention_inference_region_get_type (), DEFAULT_INFERENCE_REGION,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_OBJECT_CLASS,
      g_param_spec_string ("object-class", "Object class",
          "inference-region=roi-list: the region-of-interest types to "
          "classify, comma-separated (e.g. \"car,person\"); empty: every "
          "region", "", rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_PATCHES,
      g_param_spec_uint ("patches", "Patches",
          "Coarse-to-fine inference: a coarse pass over the whole frame, "
          "then the model on this many full-resolution patches where the "
          "saliency is highest (each a region of interest of type "
          "\"attention-patch\"); 0: one pass over the frame", 0, MAX_PATCHES,
          DEFAULT_PATCHES, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_PATCH_SIZE,
      g_param_spec_int ("patch-size", "Patch size",
          "Coarse-to-fine: the side of a patch in frame pixels (clipped to "
          "the frame); 0: an eighth of the frame's shorter side, at least 16",
          0, G_MAXINT, DEFAULT_PATCH_SIZE, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_SALIENCY,
      g_param_spec_enum ("saliency", "Saliency",
          "Coarse-to-fine: what chooses the patches",
          gst_attention_saliency_get_type (), DEFAULT_SALIENCY,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MIN_SALIENCY,
      g_param_spec_float ("min-saliency", "Minimum saliency",
          "Coarse-to-fine: no patch where the saliency is lower (attention: "
          "the map's value, 0..1; gradient: relative to the frame's "
          "largest)", 0, G_MAXFLOAT, DEFAULT_MIN_SALIENCY,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_COARSE_MODEL,
      g_param_spec_string ("coarse-model", "Coarse model",
          "Coarse-to-fine: the model of the coarse pass (its classes and "
          "maps are the frame's); empty: the model itself, or with the "
          "default model the shipped coarse model", NULL,
          rw | GST_PARAM_MUTABLE_PLAYING));
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
  g_object_class_install_property (gobject_class, PROP_FRAMES,
      g_param_spec_uint64 ("frames", "Frames",
          "Frames that left with a result since the element started", 0,
          G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_BATCHED_INFERENCES,
      g_param_spec_uint64 ("batched-inferences", "Batched inferences",
          "Of the inferences, those that ran in one pass with other streams' "
          "frames (batch-size)", 0, G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_STALE_FRAMES,
      g_param_spec_uint64 ("stale-frames", "Stale frames",
          "Of those, frames that carried an earlier frame's result "
          "(inference-interval, QoS, or a result that missed the latency "
          "budget)", 0, G_MAXUINT64, 0, ro));

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
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_attention_infer_sink_event);
  trans_class->src_event = GST_DEBUG_FUNCPTR (gst_attention_infer_src_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_attention_infer_query);
  trans_class->passthrough_on_same_caps = FALSE;
  trans_class->transform_ip_on_passthrough = FALSE;

  gst_type_mark_as_plugin_api (gst_attention_infer_mode_get_type (), 0);
  gst_type_mark_as_plugin_api (gst_attention_scale_mode_get_type (), 0);
  gst_type_mark_as_plugin_api (gst_attention_inference_region_get_type (), 0);
  gst_type_mark_as_plugin_api (gst_attention_saliency_get_type (), 0);
}

static void
gst_attention_infer_init (GstAttentionInfer *self)
{
  g_mutex_init (&self->lock);
  self->interval = DEFAULT_INTERVAL;
  self->threads = DEFAULT_THREADS;
  self->batch_size = DEFAULT_BATCH_SIZE;
  self->batch_timeout = DEFAULT_BATCH_TIMEOUT;
  self->top_k = DEFAULT_TOP_K;
  self->scale_mode = DEFAULT_SCALE_MODE;
  self->threshold = DEFAULT_THRESHOLD;
  self->qos = DEFAULT_QOS;
  self->mode = DEFAULT_MODE;
  self->latency_budget = DEFAULT_LATENCY_BUDGET;
  self->region_mode = DEFAULT_INFERENCE_REGION;
  self->patches = DEFAULT_PATCHES;
  self->patch_size = DEFAULT_PATCH_SIZE;
  self->saliency = DEFAULT_SALIENCY;
  self->min_saliency = DEFAULT_MIN_SALIENCY;
  self->object_types = parse_object_class (NULL);
  self->earliest = GST_CLOCK_TIME_NONE;
  self->frame_ns = FALLBACK_FRAME_NS;
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), FALSE);
}
