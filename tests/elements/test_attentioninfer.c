/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_attentioninfer.c — the inference element through GstHarness and real
 * pipelines, on small models built by tests/models/model_builder.c: every
 * input format and odd sizes, the meta's contents, stale results with
 * inference-interval, roi and scale modes, properties changed while PLAYING
 * (a model swap included), asynchronous mode, latency, metas surviving
 * videoscale, and errors for missing, corrupt and mismatched models; and
 * the second pass's bugs: a FIFO as the model, stale live results, latency
 * after a model swap, results across flushes and seeks, letterbox padding,
 * the roi and other settings, a model set while the element stops. */
#include <gst/attention/attention-meta.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"
#include "model_builder.h"
#include "network.h"

/* built with AddressSanitizer (GCC says so with __SANITIZE_ADDRESS__,
 * clang with __has_feature) */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static gchar *model_a;          /* basic CBAM, 2 blocks, 3 classes, 32×32 */
static gchar *model_b;          /* bottleneck CBAM, 5 classes, "tiny-b" */
static gchar *model_big;        /* basic CBAM, 192×192, wide */
static gchar *model_slow;       /* the same at 800×800: tens of ms */
static gchar *model_slower;     /* at 1280×1280, on one thread: slower than
                                 * 30 fps on any machine here (800² ran
                                 * faster than that on 2 threads of a Zen 5) */

static gchar *
write_model (const TinySpec *s, const gchar *name)
{
  ModelBuilder *mb = mb_new ();
  mb_tiny (mb, s);
  mb_meta (mb, "name", name);
  gchar *path = mb_write_tmp (mb);
  mb_free (mb);
  return path;
}

static void
models_setup (void)
{
  TinySpec a = tiny_spec_default ();
  model_a = write_model (&a, "tiny-a");
  TinySpec b = tiny_spec_default ();
  b.block = "bottleneck";
  b.num_classes = 5;
  b.widths[0] = 2;
  b.widths[1] = 4;
  b.input = 24;
  model_b = write_model (&b, "tiny-b");
  TinySpec big = tiny_spec_default ();
  big.input = 192;
  big.stem_width = 32;
  big.widths[0] = 64;
  big.widths[1] = 96;
  big.hidden = 8;
  model_big = write_model (&big, "big");
  big.input = 800;
  model_slow = write_model (&big, "slow");
  big.input = 1280;
  model_slower = write_model (&big, "slower");
}

static void
models_teardown (void)
{
  g_unlink (model_a);
  g_unlink (model_b);
  g_unlink (model_big);
  g_clear_pointer (&model_big, g_free);
  g_unlink (model_slow);
  g_clear_pointer (&model_slow, g_free);
  g_unlink (model_slower);
  g_clear_pointer (&model_slower, g_free);
  g_clear_pointer (&model_a, g_free);
  g_clear_pointer (&model_b, g_free);
}

static GstHarness *
infer_harness (const gchar *props, const gchar *caps)
{
  gchar *desc = g_strdup_printf ("attentioninfer model=%s mode=sync %s",
      model_a, props ? props : "");
  GstHarness *h = gst_harness_new_parse (desc);
  g_free (desc);
  gst_harness_set_src_caps_str (h, caps);
  return h;
}

/* A frame of random bytes of the size the caps need. */
static GstBuffer *
random_frame (GstHarness *h, const GstVideoInfo *info, guint32 seed)
{
  GstBuffer *buf = gst_harness_create_buffer (h, GST_VIDEO_INFO_SIZE (info));
  GstMapInfo map;
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  GRand *r = g_rand_new_with_seed (seed);
  for (gsize i = 0; i < map.size; i++)
    map.data[i] = (guint8) g_rand_int_range (r, 0, 256);
  g_rand_free (r);
  gst_buffer_unmap (buf, &map);
  return buf;
}

static void
check_meta (GstBuffer *out, guint want_classes, guint want_maps)
{
  GstAttentionMeta *m = gst_buffer_get_attention_meta (out);
  fail_unless (m != NULL, "no attention meta");
  fail_unless_equals_int (m->result->n_classes, want_classes);
  float sum = 0;
  for (guint i = 0; i < m->result->n_classes; i++) {
    fail_unless (m->result->classes[i].score >= 0 && m->result->classes[i].score <= 1);
    fail_unless (m->result->classes[i].label != NULL);
    if (i > 0)
      fail_unless (m->result->classes[i].score <= m->result->classes[i - 1].score,
          "classes not sorted");
    sum += m->result->classes[i].score;
  }
  fail_unless (sum <= 1.0001f);
  fail_unless_equals_int (m->result->n_maps, want_maps);
  for (guint i = 0; i < m->result->n_maps; i++) {
    const GstAttentionMap *map = &m->result->maps[i];
    fail_unless (map->width > 0 && map->height > 0 && map->name);
    for (guint j = 0; j < map->width * map->height; j++)
      fail_unless (map->data[j] >= 0 && map->data[j] <= 1, "map value %f",
          map->data[j]);
  }
  fail_unless (gst_attention_meta_get_map (m, NULL) == &m->result->maps[m->result->n_maps - 1]);
  fail_unless (m->result->inference_ns > 0);
  fail_unless_equals_string (m->result->model, "tiny-a");
  fail_unless (m->result->has_region);
  const GstAttentionRegion *r = &m->result->region;
  fail_unless (r->x >= 0 && r->y >= 0 && r->w > 0 && r->h > 0
      && r->x + r->w <= 1.0001f && r->y + r->h <= 1.0001f);
  fail_unless (r->centroid_x >= r->x && r->centroid_x <= r->x + r->w);
  fail_unless (r->peak >= 0 && r->peak <= 1 && r->score <= r->peak + 1e-6f);
}

GST_START_TEST (test_formats_and_sizes)
{
  static const gchar *formats[] = { "RGB", "BGR", "RGBx", "BGRx", "xRGB",
    "xBGR", "RGBA", "BGRA", "ARGB", "ABGR", "I420", "NV12", "GRAY8", "YUY2",
    "UYVY"
  };
  static const gint sizes[][2] = { {1, 1}, {3, 7}, {64, 48}, {1920, 1080},
    {7680, 4320}
  };
  for (guint f = 0; f < G_N_ELEMENTS (formats); f++)
    for (guint s = 0; s < G_N_ELEMENTS (sizes); s++) {
      /* 8K (50-130 MB a frame): one planar and one packed format are
       * enough, and keep the valgrind run short */
      if (sizes[s][0] == 7680 && !g_str_equal (formats[f], "I420")
          && !g_str_equal (formats[f], "RGBx"))
        continue;
      gchar *caps = g_strdup_printf ("video/x-raw,format=%s,width=%d,"
          "height=%d,framerate=30/1", formats[f], sizes[s][0], sizes[s][1]);
      GstHarness *h = infer_harness (NULL, caps);
      GstVideoInfo info;
      GstCaps *c = gst_caps_from_string (caps);
      gst_video_info_from_caps (&info, c);
      gst_caps_unref (c);
      GstBuffer *in = random_frame (h, &info, f * 10 + s);
      GstMemory *mem = gst_buffer_peek_memory (in, 0);
      GstMapInfo map;
      gst_buffer_map (in, &map, GST_MAP_READ);
      guint8 *before = g_memdup2 (map.data, map.size);
      gsize size = map.size;
      gst_buffer_unmap (in, &map);

      GstBuffer *out = gst_harness_push_and_pull (h, in);
      fail_unless (out != NULL);
      /* passthrough: same memory, same pixels */
      fail_unless (gst_buffer_peek_memory (out, 0) == mem, "pixels copied");
      gst_buffer_map (out, &map, GST_MAP_READ);
      fail_unless (map.size == size && memcmp (map.data, before, size) == 0,
          "pixels changed (%s %dx%d)", formats[f], sizes[s][0], sizes[s][1]);
      gst_buffer_unmap (out, &map);
      check_meta (out, 3, 2);
      GstAttentionMeta *m = gst_buffer_get_attention_meta (out);
      fail_unless (!m->stale && m->frame == 0);
      /* stretch: the maps cover the whole frame */
      fail_unless (m->result->maps[0].x == 0 && m->result->maps[0].y == 0
          && m->result->maps[0].w == 1 && m->result->maps[0].h == 1);
      GstVideoRegionOfInterestMeta *roi =
          gst_buffer_get_video_region_of_interest_meta (out);
      fail_unless (roi != NULL);
      fail_unless (roi->roi_type == g_quark_from_string ("attention"));
      fail_unless (roi->x + roi->w <= (guint) sizes[s][0]
          && roi->y + roi->h <= (guint) sizes[s][1] && roi->w > 0);
      GstStructure *p = gst_video_region_of_interest_meta_get_param (roi,
          "attention");
      fail_unless (p && gst_structure_has_field (p, "centroid-x")
          && gst_structure_has_field (p, "label"));
      g_free (before);
      gst_buffer_unref (out);
      gst_harness_teardown (h);
      g_free (caps);
    }
}

GST_END_TEST;

static const gchar *caps_64x48 =
    "video/x-raw,format=RGB,width=64,height=48,framerate=30/1";

/* The attentioninfer element inside a harness made by gst_harness_new_parse. */
static GstElement *
infer_of (GstHarness *h)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (h->element), "attentioninfer0");
  if (!e) {
    GstIterator *it = gst_bin_iterate_elements (GST_BIN (h->element));
    GValue v = G_VALUE_INIT;
    while (gst_iterator_next (it, &v) == GST_ITERATOR_OK) {
      GstElement *x = g_value_get_object (&v);
      if (g_str_has_prefix (GST_OBJECT_NAME (x), "attentioninfer"))
        e = gst_object_ref (x);
      g_value_reset (&v);
    }
    g_value_unset (&v);
    gst_iterator_free (it);
  }
  return e;
}

/* A synchronous harness on model_a with 64×48 RGB caps, its element, and a
 * bus to read the element's messages from. */
static GstHarness *
watched_harness (GstBus **bus, GstElement **e, GstVideoInfo *info)
{
  GstHarness *h = infer_harness (NULL, caps_64x48);
  *bus = gst_bus_new ();
  gst_element_set_bus (h->element, *bus);
  *e = infer_of (h);
  gst_video_info_set_format (info, GST_VIDEO_FORMAT_RGB, 64, 48);
  return h;
}

static void
watched_teardown (GstHarness *h, GstBus *bus, GstElement *e)
{
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
  gst_harness_teardown (h);
}

GST_START_TEST (test_interval_marks_stale)
{
  GstHarness *h = infer_harness ("inference-interval=3", caps_64x48);
  GstVideoInfo info;
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 64, 48);
  for (guint i = 0; i < 7; i++) {
    GstBuffer *out = gst_harness_push_and_pull (h, random_frame (h, &info, i));
    GstAttentionMeta *m = gst_buffer_get_attention_meta (out);
    fail_unless (m != NULL);
    fail_unless_equals_int (m->stale, i % 3 != 0);
    fail_unless_equals_uint64 (m->frame, i);
    fail_unless_equals_uint64 (m->result->frame, i - i % 3);
    gst_buffer_unref (out);
  }
  guint64 n;
  GstElement *e = infer_of (h);
  g_object_get (e, "inferences", &n, NULL);
  fail_unless_equals_uint64 (n, 3);
  gst_object_unref (e);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_properties_while_playing)
{
  GstBus *bus;
  GstElement *e;
  GstVideoInfo info;
  GstHarness *h = watched_harness (&bus, &e, &info);

  GstBuffer *out = gst_harness_push_and_pull (h, random_frame (h, &info, 1));
  check_meta (out, 3, 2);
  gst_buffer_unref (out);

  g_object_set (e, "top-k", 1, "channel-weights", TRUE, "roi", "16,8,32,24",
      NULL);
  out = gst_harness_push_and_pull (h, random_frame (h, &info, 2));
  GstAttentionMeta *m = gst_buffer_get_attention_meta (out);
  fail_unless_equals_int (m->result->n_classes, 1);
  fail_unless_equals_int (m->result->n_channels, 8);
  for (guint i = 0; i < m->result->n_channels; i++)
    fail_unless (m->result->channels[i] >= 0 && m->result->channels[i] <= 1);
  fail_unless (fabsf (m->result->maps[0].x - 0.25f) < 1e-6f
      && fabsf (m->result->maps[0].y - 1.0f / 6) < 1e-6f
      && fabsf (m->result->maps[0].w - 0.5f) < 1e-6f
      && fabsf (m->result->maps[0].h - 0.5f) < 1e-6f);
  /* the region lies inside the analysed roi */
  fail_unless (m->result->region.x >= 0.25f - 1e-6f && m->result->region.x + m->result->region.w
      <= 0.75f + 1e-6f);
  gst_buffer_unref (out);

  g_object_set (e, "roi", "", "scale-mode", 2 /* letterbox */ , NULL);
  out = gst_harness_push_and_pull (h, random_frame (h, &info, 3));
  m = gst_buffer_get_attention_meta (out);
  /* 64×48 into a square: the area is 64×64, 8 rows of padding above */
  fail_unless (fabsf (m->result->maps[0].y + 1.0f / 6) < 1e-6f
      && fabsf (m->result->maps[0].h - 4.0f / 3) < 1e-6f && m->result->maps[0].w == 1);
  gst_buffer_unref (out);

  /* swap the model while playing */
  g_object_set (e, "model", model_b, "top-k", 10, NULL);
  out = gst_harness_push_and_pull (h, random_frame (h, &info, 4));
  m = gst_buffer_get_attention_meta (out);
  fail_unless_equals_string (m->result->model, "tiny-b");
  fail_unless_equals_int (m->result->n_classes, 5);
  fail_unless_equals_int (m->result->n_maps, 2);
  gst_buffer_unref (out);
  gchar *name;
  g_object_get (e, "model-name", &name, NULL);
  fail_unless_equals_string (name, "tiny-b");
  g_free (name);

  /* a broken model while playing: a warning, and the current model stays */
  g_object_set (e, "model", "/nonexistent/model.safetensors", NULL);
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (msg != NULL, "no warning for a bad model");
  GError *err = NULL;
  gchar *dbg = NULL;
  gst_message_parse_warning (msg, &err, &dbg);
  fail_unless (strstr (err->message, "/nonexistent/model.safetensors"));
  fail_unless (strstr (dbg, "cannot open"));
  g_error_free (err);
  g_free (dbg);
  gst_message_unref (msg);
  out = gst_harness_push_and_pull (h, random_frame (h, &info, 5));
  m = gst_buffer_get_attention_meta (out);
  fail_unless_equals_string (m->result->model, "tiny-b");
  gst_buffer_unref (out);

  watched_teardown (h, bus, e);
}

GST_END_TEST;

GST_START_TEST (test_async_mode)
{
  gchar *desc = g_strdup_printf ("attentioninfer model=%s mode=async",
      model_a);
  GstHarness *h = gst_harness_new_parse (desc);
  g_free (desc);
  gst_harness_set_src_caps_str (h, caps_64x48);
  GstVideoInfo info;
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 64, 48);
  guint fresh = 0;
  for (guint i = 0; i < 20; i++) {
    GstBuffer *out = gst_harness_push_and_pull (h, random_frame (h, &info, i));
    GstAttentionMeta *m = gst_buffer_get_attention_meta (out);
    /* the first frame waits for its result; later ones never wait */
    fail_unless (m != NULL, "frame %u has no meta", i);
    fail_unless_equals_uint64 (m->frame, i);
    fail_unless (m->result->frame <= i);
    fail_unless_equals_int (m->stale, m->result->frame != i);
    fresh += !m->stale;
    if (i == 0)
      fail_unless (!m->stale);
    gst_buffer_unref (out);
  }
  guint64 n;
  GstElement *e = infer_of (h);
  g_object_get (e, "inferences", &n, NULL);
  gst_object_unref (e);
  fail_unless (n >= 1 && n <= 20);
  fail_unless (fresh >= 1);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A QoS event saying downstream is far behind: late frames pass with the
 * last result (stale) instead of running the network; qos=false runs it. */
static void
qos_case (gboolean qos)
{
  GstHarness *h = infer_harness (qos ? "qos=true" : "qos=false", caps_64x48);
  GstElement *e = infer_of (h);
  GstVideoInfo info;
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 64, 48);
  GstBuffer *in = random_frame (h, &info, 1);
  GST_BUFFER_PTS (in) = 0;
  gst_buffer_unref (gst_harness_push_and_pull (h, in));
  /* downstream: 10 s late at running time 0 */
  fail_unless (gst_harness_push_upstream_event (h,
          gst_event_new_qos (GST_QOS_TYPE_UNDERFLOW, 2.0, 10 * GST_SECOND, 0)));
  for (guint i = 1; i <= 3; i++) {
    in = random_frame (h, &info, i + 1);
    GST_BUFFER_PTS (in) = i * 33 * GST_MSECOND;
    GstBuffer *out = gst_harness_push_and_pull (h, in);
    GstAttentionMeta *m = gst_buffer_get_attention_meta (out);
    fail_unless (m != NULL);
    fail_unless_equals_int (m->stale, qos);
    gst_buffer_unref (out);
  }
  guint64 n;
  g_object_get (e, "inferences", &n, NULL);
  fail_unless_equals_uint64 (n, qos ? 1 : 4);
  gst_object_unref (e);
  gst_harness_teardown (h);
}

GST_START_TEST (test_qos_skips_late_frames)
{
  qos_case (TRUE);
  qos_case (FALSE);
}

GST_END_TEST;

GST_START_TEST (test_latency)
{
  GstHarness *h = infer_harness (NULL, caps_64x48);
  /* sync: one inference of latency (measured on the warm-up pass) */
  GstClockTime lat = gst_harness_query_latency (h);
  fail_unless (lat > 0 && lat < GST_SECOND, "latency %" GST_TIME_FORMAT,
      GST_TIME_ARGS (lat));
  gst_harness_teardown (h);

  /* async: what a frame may wait for its own result, the latency budget:
   * by default one frame duration at the caps' rate */
  const struct {
    const gchar *props, *caps;
    GstClockTime want;
  } cases[] = {
    {"", "video/x-raw,format=RGB,width=64,height=48,framerate=25/1",
        40 * GST_MSECOND},
    {"", "video/x-raw,format=RGB,width=64,height=48,framerate=0/1",
        GST_SECOND / 30},
    {"latency-budget=0", "video/x-raw,format=RGB,width=64,height=48,"
          "framerate=25/1", 0},
    {"latency-budget=5000000", "video/x-raw,format=RGB,width=64,height=48,"
          "framerate=25/1", 5 * GST_MSECOND},
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    gchar *desc = g_strdup_printf ("attentioninfer model=%s mode=async %s",
        model_a, cases[i].props);
    h = gst_harness_new_parse (desc);
    g_free (desc);
    gst_harness_set_src_caps_str (h, cases[i].caps);
    fail_unless_equals_uint64 (gst_harness_query_latency (h), cases[i].want);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

GST_START_TEST (test_meta_survives_videoscale)
{
  gchar *desc = g_strdup_printf ("attentioninfer model=%s mode=sync ! "
      "videoscale ! capsfilter caps=video/x-raw,width=128,height=96", model_a);
  GstHarness *h = gst_harness_new_parse (desc);
  g_free (desc);
  gst_harness_set_src_caps_str (h, caps_64x48);
  GstVideoInfo info;
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 64, 48);
  GstBuffer *out = gst_harness_push_and_pull (h, random_frame (h, &info, 9));
  GstAttentionMeta *m = gst_buffer_get_attention_meta (out);
  fail_unless (m != NULL, "meta lost in videoscale");
  check_meta (out, 3, 2);
  GstVideoRegionOfInterestMeta *roi =
      gst_buffer_get_video_region_of_interest_meta (out);
  fail_unless (roi != NULL);
  gint x, y, w, hh;
  gst_attention_meta_get_region_pixels (m, 128, 96, &x, &y, &w, &hh);
  /* the ROI meta was scaled by videoscale; ours is frame-normalised */
  fail_unless (abs ((gint) roi->x - x) <= 2 && abs ((gint) roi->w - w) <= 2
      && abs ((gint) roi->y - y) <= 2 && abs ((gint) roi->h - hh) <= 2,
      "roi %u,%u %ux%u vs %d,%d %dx%d", roi->x, roi->y, roi->w, roi->h, x, y,
      w, hh);
  /* a copy keeps the meta and shares the result */
  GstBuffer *copy = gst_buffer_copy (out);
  GstAttentionMeta *mc = gst_buffer_get_attention_meta (copy);
  fail_unless (mc && mc->result->maps == m->result->maps && mc->frame == m->frame);
  gst_buffer_unref (copy);
  gst_buffer_unref (out);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Runs `desc` to EOS or error; returns the error message (g_free) or NULL. */
static gchar *
run_pipeline (const gchar *desc, gchar **debug)
{
  GError *perr = NULL;
  GstElement *p = gst_parse_launch (desc, &perr);
  fail_unless (p != NULL && perr == NULL);
  gst_element_set_state (p, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus (p);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "pipeline timed out");
  gchar *text = NULL;
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err;
    gst_message_parse_error (msg, &err, debug);
    text = g_strdup (err->message);
    g_error_free (err);
  }
  gst_message_unref (msg);
  gst_object_unref (bus);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (p);
  return text;
}

static void
expect_model_error (const gchar *path, const gchar *in_debug)
{
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=2 ! "
      "attentioninfer model=\"%s\" ! fakesink", path);
  gchar *debug = NULL;
  gchar *msg = run_pipeline (desc, &debug);
  fail_unless (msg != NULL, "no error for %s", path);
  fail_unless (strstr (msg, "Could not load the model") && strstr (msg, path),
      "message: %s", msg);
  fail_unless (debug && strstr (debug, in_debug), "debug: %s", debug);
  g_free (msg);
  g_free (debug);
  g_free (desc);
}

GST_START_TEST (test_model_errors)
{
  expect_model_error ("/nonexistent/model.safetensors", "cannot open");

  gchar *corrupt = NULL;
  gint fd = g_file_open_tmp ("attn-corrupt-XXXXXX.safetensors", &corrupt, NULL);
  const gchar junk[] = "\x0e\x00\x00\x00\x00\x00\x00\x00{\"a\": [1, 2, 3";
  fail_unless (write (fd, junk, sizeof junk - 1) == sizeof junk - 1);
  close (fd);
  expect_model_error (corrupt, "not valid JSON");
  g_unlink (corrupt);
  g_free (corrupt);

  ModelBuilder *mb = mb_new ();
  TinySpec s = tiny_spec_default ();
  mb_tiny (mb, &s);
  mb_remove (mb, "layer2.0.cbam.spatial.bn.running_var");
  gchar *mismatched = mb_write_tmp (mb);
  mb_free (mb);
  expect_model_error (mismatched,
      "missing tensor 'layer2.0.cbam.spatial.bn.running_var'");
  g_unlink (mismatched);
  g_free (mismatched);
}

GST_END_TEST;

GST_START_TEST (test_state_cycles)
{
  gchar *desc = g_strdup_printf ("videotestsrc is-live=true ! "
      "video/x-raw,width=64,height=48 ! attentioninfer model=%s ! fakesink "
      "sync=false", model_a);
  GstElement *p = gst_parse_launch (desc, NULL);
  g_free (desc);
  static const GstState seq[] = { GST_STATE_READY, GST_STATE_PAUSED,
    GST_STATE_PLAYING, GST_STATE_PAUSED, GST_STATE_PLAYING, GST_STATE_NULL,
    GST_STATE_PLAYING, GST_STATE_READY, GST_STATE_PLAYING, GST_STATE_NULL
  };
  for (guint round = 0; round < 10; round++)
    for (guint i = 0; i < G_N_ELEMENTS (seq); i++) {
      GstStateChangeReturn r = gst_element_set_state (p, seq[i]);
      fail_if (r == GST_STATE_CHANGE_FAILURE);
      if (seq[i] == GST_STATE_PLAYING)
        g_usleep (2000);
    }
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (p);
}

GST_END_TEST;

GST_START_TEST (test_eos_before_buffers_and_shared_models)
{
  /* two elements on one file share one loaded model; EOS with no buffer */
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=0 ! tee name=t "
      "t. ! queue ! attentioninfer model=%s ! fakesink "
      "t. ! queue ! attentioninfer model=%s ! fakesink", model_a, model_a);
  gchar *debug = NULL;
  gchar *msg = run_pipeline (desc, &debug);
  fail_unless (msg == NULL, "error: %s (%s)", msg, debug);
  g_free (desc);
}

GST_END_TEST;

GST_START_TEST (test_default_model_path)
{
  g_setenv ("GST_ATTENTION_DEFAULT_MODEL", model_a, TRUE);
  GstHarness *h = gst_harness_new_parse ("attentioninfer mode=sync");
  gst_harness_set_src_caps_str (h, caps_64x48);
  GstVideoInfo info;
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 64, 48);
  GstBuffer *out = gst_harness_push_and_pull (h, random_frame (h, &info, 1));
  check_meta (out, 3, 2);
  gst_buffer_unref (out);
  gst_harness_teardown (h);
  g_unsetenv ("GST_ATTENTION_DEFAULT_MODEL");
}

GST_END_TEST;

/* ---- the bugs of the second pass ---------------------------------------- */

typedef struct {
  GMutex lock;
  GCond cond;
  gboolean done;
  gchar *desc;
  gchar *error;
} Runner;

static gpointer
runner_main (gpointer data)
{
  Runner *r = data;
  gchar *debug = NULL;
  gchar *err = run_pipeline (r->desc, &debug);
  g_free (debug);
  g_mutex_lock (&r->lock);
  r->error = err;
  r->done = TRUE;
  g_cond_signal (&r->cond);
  g_mutex_unlock (&r->lock);
  return NULL;
}

/* A FIFO as the model: the element refuses it at once, without opening it
 * (which would block until a writer comes), and an element on another model
 * in the same process is not held up. */
GST_START_TEST (test_fifo_model_never_blocks)
{
  gchar *dir = g_dir_make_tmp ("attn-fifo-XXXXXX", NULL);
  gchar *fifo = g_build_filename (dir, "model.safetensors", NULL);
  fail_unless (mkfifo (fifo, 0600) == 0);
  Runner r = { 0 };
  g_mutex_init (&r.lock);
  g_cond_init (&r.cond);
  r.desc = g_strdup_printf ("videotestsrc num-buffers=2 ! attentioninfer "
      "model=%s ! fakesink", fifo);
  GThread *t = g_thread_new ("fifo", runner_main, &r);
  /* meanwhile another pipeline with another model starts and finishes */
  gchar *other = g_strdup_printf ("videotestsrc num-buffers=2 ! "
      "video/x-raw,width=64,height=48 ! attentioninfer model=%s ! fakesink",
      model_a);
  gchar *debug = NULL;
  gchar *err = run_pipeline (other, &debug);
  fail_unless (err == NULL, "other pipeline: %s", err);
  g_free (other);
  g_free (debug);
  gint64 end = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;
  g_mutex_lock (&r.lock);
  while (!r.done && g_cond_wait_until (&r.cond, &r.lock, end));
  gboolean done = r.done;
  g_mutex_unlock (&r.lock);
  if (!done) {
    /* unblock the open() so the thread can end, then fail */
    int fd = open (fifo, O_WRONLY | O_NONBLOCK);
    if (fd >= 0)
      close (fd);
  }
  g_thread_join (t);
  fail_unless (done, "the state change blocked on a FIFO");
  fail_unless (r.error && strstr (r.error, "Could not load the model"),
      "error: %s", r.error);

  /* set while PLAYING: returns, warns, keeps the model */
  GstBus *bus;
  GstElement *e;
  GstVideoInfo info;
  GstHarness *h = watched_harness (&bus, &e, &info);
  gst_buffer_unref (gst_harness_push_and_pull (h, random_frame (h, &info, 1)));
  g_object_set (e, "model", fifo, NULL);
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (msg != NULL);
  GError *werr = NULL;
  gchar *wdbg = NULL;
  gst_message_parse_warning (msg, &werr, &wdbg);
  fail_unless (strstr (wdbg, "not a regular file"), "%s", wdbg);
  g_error_free (werr);
  g_free (wdbg);
  gst_message_unref (msg);
  GstBuffer *out = gst_harness_push_and_pull (h, random_frame (h, &info, 2));
  fail_unless_equals_string (gst_buffer_get_attention_meta (out)->result->model,
      "tiny-a");
  gst_buffer_unref (out);
  watched_teardown (h, bus, e);

  g_unlink (fifo);
  g_rmdir (dir);
  g_free (fifo);
  g_free (dir);
  g_free (r.desc);
  g_free (r.error);
  g_mutex_clear (&r.lock);
  g_cond_clear (&r.cond);
}

GST_END_TEST;

typedef struct {
  GstElement *pipeline;
  guint n;
  gdouble delay_ms[512];
} Delays;

/* How far the clock is past each frame's running time when it reaches
 * attentioninfer: how far behind the live source runs. */
static GstPadProbeReturn
delay_probe (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Delays *d = data;
  GstClock *clock = gst_element_get_clock (d->pipeline);
  GstEvent *ev = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  if (clock && ev && d->n < G_N_ELEMENTS (d->delay_ms)) {
    const GstSegment *seg;
    gst_event_parse_segment (ev, &seg);
    GstClockTime rt = gst_segment_to_running_time (seg, GST_FORMAT_TIME,
        GST_BUFFER_PTS (GST_PAD_PROBE_INFO_BUFFER (info)));
    GstClockTime now = gst_clock_get_time (clock)
        - gst_element_get_base_time (d->pipeline);
    d->delay_ms[d->n++] = ((gdouble) now - (gdouble) rt) / 1e6;
  }
  if (ev)
    gst_event_unref (ev);
  if (clock)
    gst_object_unref (clock);
  return GST_PAD_PROBE_OK;
}

/* Runs a live 30 fps source through the element (asynchronous, as auto
 * picks for live sources) for `frames`; returns its statistics and how far
 * behind the clock the source runs over the last 10 frames (ms). */
static gdouble
run_live (const gchar *model, const gchar *props, guint frames,
    const gchar *size, guint64 *out_frames, guint64 *out_stale)
{
  gchar *desc = g_strdup_printf ("videotestsrc is-live=true num-buffers=%u ! "
      "video/x-raw,format=I420,%s,framerate=30/1 ! "
      "attentioninfer name=infer model=%s %s ! fakesink name=sink sync=true",
      frames, size, model, props);
  Delays *d = g_new0 (Delays, 1);
  d->pipeline = gst_parse_launch (desc, NULL);
  g_free (desc);
  GstElement *infer = gst_bin_get_by_name (GST_BIN (d->pipeline), "infer");
  GstPad *pad = gst_element_get_static_pad (infer, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, delay_probe, d, NULL);
  gst_object_unref (pad);
  gst_object_unref (infer);
  gst_element_set_state (d->pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus (d->pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 120 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
  gst_message_unref (msg);
  GstElement *e = gst_bin_get_by_name (GST_BIN (d->pipeline), "infer");
  g_object_get (e, "frames", out_frames, "stale-frames", out_stale, NULL);
  gst_object_unref (e);
  gst_object_unref (bus);
  gst_element_set_state (d->pipeline, GST_STATE_NULL);
  gst_object_unref (d->pipeline);
  guint k = MIN (10, d->n);
  gdouble last = 0;
  for (guint i = 0; i < k; i++)
    last += d->delay_ms[d->n - 1 - i] / k;
  g_free (d);
  return last;
}

/* A live source with a model much faster than the frame period: frames get
 * their own result (the old asynchronous mode gave every frame after the
 * first an earlier frame's result). */
GST_START_TEST (test_live_results_are_fresh)
{
  guint64 frames = 0, stale = 0;
  run_live (model_a, "", 45, "width=64,height=48", &frames, &stale);
  fail_unless_equals_uint64 (frames, 45);
  fail_unless (stale * 20 <= frames, "%" G_GUINT64_FORMAT " of %"
      G_GUINT64_FORMAT " frames stale", stale, frames);
}

GST_END_TEST;

/* With no time to wait (latency-budget=0) a frame never waits for a
 * running inference: the stale share shows in the statistics, and the
 * latency the element reports stays 0. */
GST_START_TEST (test_live_budget_zero)
{
  guint64 frames = 0, stale = 0;
  run_live (model_big, "latency-budget=0", 30, "width=64,height=48", &frames,
      &stale);
  fail_unless_equals_uint64 (frames, 30);
  fail_unless (stale > 0);
}

GST_END_TEST;

/* A model slower than the frame period does not hold the live source
 * back: after the first frame (which waits for the first result) each
 * frame waits at most its budget, so the source delivers each frame about
 * one frame period (its own latency) plus a part of the budget after its
 * running time, and no later as the run goes on. (The drift this guards
 * against needs 720p frames and a model near the frame period to show, too
 * slow for a test: tools/bench/attn-live measures it, docs/performance.md.) */
GST_START_TEST (test_live_never_falls_behind)
{
  /* valgrind is too slow for real time: nothing to measure there; nor is
   * the AddressSanitizer build, 2–3× slower and run beside other tests
   * (there a frame 33 ms long ran 72–106 ms behind in some runs, before
   * and after the same change); the plain build measures it */
  if (g_getenv ("ATTN_UNDER_VALGRIND") || UNDER_ASAN)
    return;
  guint64 frames = 0, stale = 0;
  gdouble behind = run_live (model_slower, "threads=1", 60,
      "width=64,height=48", &frames, &stale);
  fail_unless_equals_uint64 (frames, 60);
  fail_unless (stale > 0);
  fail_unless (behind < 70.0, "the source runs %.1f ms behind the clock at "
      "the end", behind);
}

GST_END_TEST;

/* Swapping in a model while PLAYING asks the pipeline for its latency again
 * (a LATENCY message), so a live sink does not keep the old figure. The
 * latency is the slowest inference since the model loaded, and the tiny
 * model's first one carries the process's one-time costs (a few ms): the
 * model swapped in is the 800×800 one, tens of ms, so that "slower" holds
 * on any machine (model_big, at 192², measured 3.2 ms against 3.4 once). */
GST_START_TEST (test_model_swap_posts_latency)
{
  GstBus *bus;
  GstElement *e;
  GstVideoInfo info;
  GstHarness *h = watched_harness (&bus, &e, &info);
  GstClockTime before = gst_harness_query_latency (h);
  gst_buffer_unref (gst_harness_push_and_pull (h, random_frame (h, &info, 1)));
  g_object_set (e, "model", model_slow, NULL);
  gst_buffer_unref (gst_harness_push_and_pull (h, random_frame (h, &info, 2)));
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_LATENCY);
  fail_unless (msg != NULL, "no LATENCY message after a model swap");
  gst_message_unref (msg);
  GstClockTime after = gst_harness_query_latency (h);
  fail_unless (after > before, "latency %" GST_TIME_FORMAT " -> %"
      GST_TIME_FORMAT, GST_TIME_ARGS (before), GST_TIME_ARGS (after));
  watched_teardown (h, bus, e);
}

GST_END_TEST;

static void
push_flush (GstHarness *h)
{
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  GstSegment seg;
  gst_segment_init (&seg, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
}

/* After a flush the first frame gets a result computed on it, not one from
 * before, and the frame count starts again; in both modes. */
GST_START_TEST (test_flush_drops_results)
{
  const gchar *modes[] = { "mode=sync inference-interval=3",
    "mode=async inference-interval=3"
  };
  GstVideoInfo info;
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 64, 48);
  for (guint mi = 0; mi < G_N_ELEMENTS (modes); mi++) {
    gchar *desc = g_strdup_printf ("attentioninfer model=%s %s", model_a,
        modes[mi]);
    GstHarness *h = gst_harness_new_parse (desc);
    g_free (desc);
    gst_harness_set_src_caps_str (h, caps_64x48);
    GstElement *e = infer_of (h);
    for (guint i = 0; i < 2; i++)
      gst_buffer_unref (gst_harness_push_and_pull (h, random_frame (h, &info,
                  i)));
    guint64 n0;
    g_object_get (e, "inferences", &n0, NULL);
    push_flush (h);
    GstBuffer *out = gst_harness_push_and_pull (h, random_frame (h, &info, 9));
    GstAttentionMeta *m = gst_buffer_get_attention_meta (out);
    fail_unless (m != NULL);
    fail_unless_equals_uint64 (m->frame, 0);
    fail_unless (!m->stale, "%s: a result from before the flush", modes[mi]);
    fail_unless_equals_uint64 (m->result->frame, 0);
    guint64 n1;
    g_object_get (e, "inferences", &n1, NULL);
    fail_unless_equals_uint64 (n1, n0 + 1);
    gst_buffer_unref (out);
    gst_object_unref (e);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

/* Seeks both ways on a file source (raw frames parsed by rawvideoparse),
 * synchronous and asynchronous: the first frame after each flushing seek
 * carries a result computed on it. */
static GstPadProbeReturn
after_seek_probe (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  gint *state = data;           /* [0]: frames seen, [1]: first after seek
                                 * checked, [2]: bad firsts */
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstAttentionMeta *m = gst_buffer_get_attention_meta (buf);
  g_atomic_int_inc (&state[0]);
  if (g_atomic_int_compare_and_exchange (&state[1], 1, 2))
    if (!m || m->stale || m->frame != 0 || m->result->frame != 0)
      g_atomic_int_inc (&state[2]);
  return GST_PAD_PROBE_OK;
}

GST_START_TEST (test_seeks_on_a_file)
{
  gchar *raw = NULL;
  gint fd = g_file_open_tmp ("attn-seek-XXXXXX.raw", &raw, NULL);
  close (fd);
  gchar *mk = g_strdup_printf ("videotestsrc num-buffers=60 pattern=ball ! "
      "video/x-raw,format=RGB,width=64,height=48,framerate=30/1 ! "
      "filesink location=%s", raw);
  gchar *debug = NULL;
  gchar *err = run_pipeline (mk, &debug);
  fail_unless (err == NULL, "%s", err);
  g_free (mk);
  g_free (debug);
  const gchar *modes[] = { "sync inference-interval=4", "async" };
  for (guint mi = 0; mi < G_N_ELEMENTS (modes); mi++) {
    gchar *desc = g_strdup_printf ("filesrc location=%s ! rawvideoparse "
        "format=rgb width=64 height=48 framerate=30/1 ! attentioninfer "
        "model=%s mode=%s ! fakesink name=sink sync=false", raw, model_a,
        modes[mi]);
    GstElement *p = gst_parse_launch (desc, NULL);
    g_free (desc);
    GstElement *sink = gst_bin_get_by_name (GST_BIN (p), "sink");
    GstPad *pad = gst_element_get_static_pad (sink, "sink");
    gint state[3] = { 0, 0, 0 };
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, after_seek_probe,
        state, NULL);
    fail_unless (gst_element_set_state (p, GST_STATE_PAUSED)
        != GST_STATE_CHANGE_FAILURE);
    fail_unless (gst_element_get_state (p, NULL, NULL, 10 * GST_SECOND)
        == GST_STATE_CHANGE_SUCCESS);
    const gint64 targets[] = { 1 * GST_SECOND, GST_SECOND / 3, 0,
      GST_SECOND * 3 / 2
    };
    for (guint i = 0; i < G_N_ELEMENTS (targets); i++) {
      g_atomic_int_set (&state[1], 1);
      fail_unless (gst_element_seek_simple (p, GST_FORMAT_TIME,
              GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE, targets[i]));
      fail_unless (gst_element_get_state (p, NULL, NULL, 10 * GST_SECOND)
          == GST_STATE_CHANGE_SUCCESS);
      fail_unless_equals_int (g_atomic_int_get (&state[1]), 2);
    }
    fail_unless_equals_int (state[2], 0);
    gst_element_set_state (p, GST_STATE_NULL);
    gst_object_unref (pad);
    gst_object_unref (sink);
    gst_object_unref (p);
  }
  g_unlink (raw);
  g_free (raw);
}

GST_END_TEST;

/* concat: the second stream's first frame gets a result computed on it,
 * numbered 0, though the interval would have reused the first stream's. */
static GstPadProbeReturn
stream_probe (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  GPtrArray *seen = data;       /* "frame:computed_on:stale" per buffer */
  GstAttentionMeta *m =
      gst_buffer_get_attention_meta (GST_PAD_PROBE_INFO_BUFFER (info));
  g_ptr_array_add (seen, m ? g_strdup_printf ("%" G_GUINT64_FORMAT ":%"
          G_GUINT64_FORMAT ":%d", m->frame, m->result->frame, m->stale)
      : g_strdup ("none"));
  return GST_PAD_PROBE_OK;
}

GST_START_TEST (test_new_stream_drops_results)
{
  gchar *desc = g_strdup_printf ("concat name=c ! attentioninfer model=%s "
      "mode=sync inference-interval=4 ! fakesink name=sink "
      "videotestsrc num-buffers=3 ! video/x-raw,format=RGB,width=64,height=48 "
      "! c. videotestsrc num-buffers=2 pattern=ball ! "
      "video/x-raw,format=RGB,width=64,height=48 ! c.", model_a);
  GstElement *p = gst_parse_launch (desc, NULL);
  g_free (desc);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (p), "sink");
  GstPad *pad = gst_element_get_static_pad (sink, "sink");
  GPtrArray *seen = g_ptr_array_new_with_free_func (g_free);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, stream_probe, seen, NULL);
  gst_element_set_state (p, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus (p);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_element_set_state (p, GST_STATE_NULL);
  fail_unless_equals_int (seen->len, 5);
  const gchar *want[] = { "0:0:0", "1:0:1", "2:0:1", "0:0:0", "1:0:1" };
  for (guint i = 0; i < 5; i++)
    fail_unless_equals_string (g_ptr_array_index (seen, i), want[i]);
  g_ptr_array_unref (seen);
  gst_object_unref (bus);
  gst_object_unref (pad);
  gst_object_unref (sink);
  gst_object_unref (p);
}

GST_END_TEST;

/* post-messages: one "attention" element message per inference, with the
 * result's classes, region and timestamps; none for a reused result. */
GST_START_TEST (test_bus_messages)
{
  GstBus *bus;
  GstElement *e;
  GstVideoInfo info;
  GstHarness *h = watched_harness (&bus, &e, &info);
  g_object_set (e, "post-messages", TRUE, "inference-interval", 2, "top-k", 2,
      NULL);
  for (guint i = 0; i < 4; i++) {
    GstBuffer *in = random_frame (h, &info, i);
    GST_BUFFER_PTS (in) = i * 40 * GST_MSECOND;
    GST_BUFFER_DURATION (in) = 40 * GST_MSECOND;
    gst_buffer_unref (gst_harness_push_and_pull (h, in));
  }
  guint n = 0;
  GstMessage *msg;
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (msg);
    fail_unless (gst_structure_has_name (s, "attention"));
    fail_unless (GST_MESSAGE_SRC (msg) == GST_OBJECT (e));
    guint64 frame, on, ts, lat;
    gboolean stale;
    fail_unless (gst_structure_get (s, "frame", G_TYPE_UINT64, &frame,
            "computed-on", G_TYPE_UINT64, &on, "stale", G_TYPE_BOOLEAN, &stale,
            "timestamp", G_TYPE_UINT64, &ts, "inference-latency",
            G_TYPE_UINT64, &lat, NULL));
    /* inferences on frames 0 and 2 (interval 2) */
    fail_unless_equals_uint64 (frame, 2 * n);
    fail_unless_equals_uint64 (on, 2 * n);
    fail_unless (!stale);
    fail_unless_equals_uint64 (ts, 2 * n * 40 * GST_MSECOND);
    fail_unless (lat > 0);
    fail_unless_equals_string (gst_structure_get_string (s, "model"),
        "tiny-a");
    const GValue *classes = gst_structure_get_value (s, "classes");
    fail_unless_equals_int (gst_value_array_get_size (classes), 2);
    const GstStructure *c0 =
        gst_value_get_structure (gst_value_array_get_value (classes, 0));
    gdouble score;
    fail_unless (gst_structure_get_double (c0, "score", &score)
        && score > 0 && score <= 1);
    fail_unless (g_str_has_prefix (gst_structure_get_string (c0, "label"),
            "label "));
    const GstStructure *reg =
        gst_value_get_structure (gst_structure_get_value (s, "region"));
    gdouble x, w;
    fail_unless (gst_structure_get (reg, "x", G_TYPE_DOUBLE, &x, "w",
            G_TYPE_DOUBLE, &w, NULL) && x >= 0 && x + w <= 1 + 1e-6);
    gst_message_unref (msg);
    n++;
  }
  fail_unless_equals_int (n, 2);
  watched_teardown (h, bus, e);
}

GST_END_TEST;

/* Letterboxing: the attended region and its centroid lie on the frame, never
 * in the padding, whatever the padding looks like to the network. */
GST_START_TEST (test_letterbox_region_on_frame)
{
  g_setenv ("GST_ATTENTION_DEFAULT_MODEL", model_a, TRUE);
  const gchar *sizes[] = { "width=640,height=360", "width=360,height=640",
    "width=64,height=8"
  };
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++) {
    for (guint pattern = 0; pattern < 2; pattern++) {
      gchar *desc = g_strdup_printf ("videotestsrc num-buffers=1 pattern=%s ! "
          "video/x-raw,format=RGB,%s ! attentioninfer scale-mode=letterbox "
          "attention-threshold=0.9 ! fakesink name=sink", pattern ? "ball"
          : "black", sizes[s]);
      GstElement *p = gst_parse_launch (desc, NULL);
      g_free (desc);
      GstElement *sink = gst_bin_get_by_name (GST_BIN (p), "sink");
      g_object_set (sink, "enable-last-sample", TRUE, NULL);
      gst_element_set_state (p, GST_STATE_PLAYING);
      GstBus *bus = gst_element_get_bus (p);
      GstMessage *msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
          GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
      fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
      gst_message_unref (msg);
      GstSample *sample = NULL;
      g_object_get (sink, "last-sample", &sample, NULL);
      GstAttentionMeta *m =
          gst_buffer_get_attention_meta (gst_sample_get_buffer (sample));
      const GstAttentionRegion *r = &m->result->region;
      fail_unless (m->result->has_region);
      fail_unless (r->centroid_x >= 0 && r->centroid_x <= 1
          && r->centroid_y >= 0 && r->centroid_y <= 1,
          "%s: centroid (%f, %f) off the frame", sizes[s], r->centroid_x,
          r->centroid_y);
      fail_unless (r->x >= 0 && r->y >= 0 && r->x + r->w <= 1 + 1e-6
          && r->y + r->h <= 1 + 1e-6 && r->w > 0 && r->h > 0);
      gst_sample_unref (sample);
      gst_object_unref (bus);
      gst_object_unref (sink);
      gst_element_set_state (p, GST_STATE_NULL);
      gst_object_unref (p);
    }
  }
  g_unsetenv ("GST_ATTENTION_DEFAULT_MODEL");
}

GST_END_TEST;

static gchar *
warning_debug (GstBus *bus)
{
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  if (!msg)
    return NULL;
  GError *err = NULL;
  gst_message_parse_warning (msg, &err, NULL);
  gchar *text = g_strdup (err->message);
  g_error_free (err);
  gst_message_unref (msg);
  return text;
}

/* roi: clipped (not wrapped) at G_MAXINT, blanks allowed on both sides, a
 * malformed value is an element warning (gst-check makes g_warning fatal)
 * and keeps the current one. Other settings: threads beyond the cores and
 * mode while running warn; model="" is the default model. */
GST_START_TEST (test_settings)
{
  GstBus *bus;
  GstElement *e;
  GstVideoInfo info;
  GstHarness *h = watched_harness (&bus, &e, &info);

  g_object_set (e, "roi", "1,1,2147483647,2147483647", NULL);
  GstBuffer *out = gst_harness_push_and_pull (h, random_frame (h, &info, 1));
  const GstAttentionMap *map =
      gst_attention_meta_get_map (gst_buffer_get_attention_meta (out), NULL);
  fail_unless (fabsf (map->x - 1 / 64.0f) < 1e-6f
      && fabsf (map->w - 63 / 64.0f) < 1e-6f
      && fabsf (map->h - 47 / 48.0f) < 1e-6f, "map area %f %f %f %f", map->x,
      map->y, map->w, map->h);
  gst_buffer_unref (out);

  g_object_set (e, "roi", "  16, 8 ,32,24  ", NULL);
  gchar *roi = NULL;
  g_object_get (e, "roi", &roi, NULL);
  fail_unless_equals_string (roi, "16,8,32,24");
  g_free (roi);
  fail_unless (warning_debug (bus) == NULL);

  const gchar *bad[] = { "1,2,3", "1,2,3,4,5", "a,b,c,d", "1,2,0,4",
    "-1,2,3,4", "1,2,3,4x"
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_object_set (e, "roi", bad[i], NULL);
    gchar *w = warning_debug (bus);
    fail_unless (w && strstr (w, "roi"), "no warning for roi \"%s\"", bad[i]);
    g_free (w);
    g_object_get (e, "roi", &roi, NULL);
    fail_unless_equals_string (roi, "16,8,32,24");
    g_free (roi);
  }

  gint many = (gint) g_get_num_processors () + 7;
  g_object_set (e, "threads", many, NULL);
  gchar *w = warning_debug (bus);
  fail_unless (w && strstr (w, "cores"), "no warning for threads=%d", many);
  g_free (w);
  gst_buffer_unref (gst_harness_push_and_pull (h, random_frame (h, &info, 2)));

  g_object_set (e, "mode", 2 /* async */ , NULL);
  w = warning_debug (bus);
  fail_unless (w && strstr (w, "mode"));
  g_free (w);
  gint mode;
  g_object_get (e, "mode", &mode, NULL);
  fail_unless_equals_int (mode, 1 /* sync, as set at start */ );

  watched_teardown (h, bus, e);

  /* model="" means the default model */
  g_setenv ("GST_ATTENTION_DEFAULT_MODEL", model_b, TRUE);
  h = gst_harness_new_parse ("attentioninfer model=\"\" mode=sync");
  gst_harness_set_src_caps_str (h, caps_64x48);
  out = gst_harness_push_and_pull (h, random_frame (h, &info, 3));
  fail_unless_equals_string (gst_buffer_get_attention_meta (out)->result->model,
      "tiny-b");
  gst_buffer_unref (out);
  gst_harness_teardown (h);
  g_unsetenv ("GST_ATTENTION_DEFAULT_MODEL");
}

GST_END_TEST;

typedef struct {
  GstElement *infer;
  gint stop;
} Setter;

static gpointer
setter_main (gpointer data)
{
  Setter *s = data;
  for (guint i = 0; !g_atomic_int_get (&s->stop); i++)
    g_object_set (s->infer, "model", i % 2 ? model_a : model_b, NULL);
  return NULL;
}

/* `model` set from another thread while the element starts and stops: no
 * engine is left behind (valgrind's leak check runs this test too). */
GST_START_TEST (test_model_set_while_stopping)
{
  gchar *desc = g_strdup_printf ("videotestsrc is-live=true ! "
      "video/x-raw,width=64,height=48 ! attentioninfer name=infer model=%s ! "
      "fakesink sync=false", model_a);
  GstElement *p = gst_parse_launch (desc, NULL);
  g_free (desc);
  Setter s = { gst_bin_get_by_name (GST_BIN (p), "infer"), 0 };
  GThread *t = g_thread_new ("setter", setter_main, &s);
  for (guint round = 0; round < 8; round++) {
    fail_if (gst_element_set_state (p, GST_STATE_PLAYING)
        == GST_STATE_CHANGE_FAILURE);
    g_usleep (5000);
    gst_element_set_state (p, GST_STATE_NULL);
  }
  g_atomic_int_set (&s.stop, 1);
  g_thread_join (t);
  gst_object_unref (s.infer);
  gst_object_unref (p);
}

GST_END_TEST;

/* ---- objects from upstream (inference-region=roi-list) ------------------ */

typedef struct {
  const gchar *type;
  guint x, y, w, h;
  gboolean want;                /* classified with object-class=car,person */
} TestObject;

static const TestObject test_objects[] = {
  {"car", 10, 5, 20, 30, TRUE},
  {"sign", 0, 0, 8, 8, FALSE},          /* a type not asked for */
  {"person", 40, 10, 24, 38, TRUE},     /* to the frame's corner */
  {"car", 100, 100, 5, 5, FALSE},       /* off the 64×48 frame */
  {"person", 3, 40, 61, 8, TRUE},       /* wide and flat */
};

static GstBuffer *
frame_with_objects (GstHarness *h, const GstVideoInfo *info, guint32 seed)
{
  GstBuffer *buf = random_frame (h, info, seed);
  for (guint i = 0; i < G_N_ELEMENTS (test_objects); i++) {
    const TestObject *o = &test_objects[i];
    GstVideoRegionOfInterestMeta *roi =
        gst_buffer_add_video_region_of_interest_meta (buf, o->type, o->x, o->y,
        o->w, o->h);
    roi->id = (gint) i;
  }
  return buf;
}

/* The i-th test object's region on buf. */
static GstVideoRegionOfInterestMeta *
object_on (GstBuffer *buf, guint i)
{
  GstVideoRegionOfInterestMeta *roi =
      gst_buffer_get_video_region_of_interest_meta_id (buf, (gint) i);
  fail_unless (roi != NULL);
  return roi;
}

/* r holds what want holds: classes, scores, maps and their areas. */
static void
check_same_result (const GstAttentionResult *r, const GstAttentionResult *want)
{
  fail_unless_equals_int (r->n_classes, want->n_classes);
  for (guint c = 0; c < r->n_classes; c++) {
    fail_unless_equals_int (r->classes[c].index, want->classes[c].index);
    fail_unless (fabsf (r->classes[c].score - want->classes[c].score) < 1e-6f);
  }
  fail_unless_equals_int (r->n_maps, want->n_maps);
  for (guint m = 0; m < r->n_maps; m++) {
    const GstAttentionMap *a = &r->maps[m], *b = &want->maps[m];
    fail_unless (a->width == b->width && a->height == b->height);
    fail_unless (fabsf (a->x - b->x) < 1e-6f && fabsf (a->w - b->w) < 1e-6f
        && fabsf (a->y - b->y) < 1e-6f && fabsf (a->h - b->h) < 1e-6f);
    for (guint j = 0; j < a->width * a->height; j++)
      fail_unless (fabsf (a->data[j] - b->data[j]) < 1e-6f);
  }
}

/* Each wanted object's result is the network's answer on that rectangle:
 * exactly what full-frame inference with roi=x,y,w,h computes on the same
 * frame (the same pre-processing plan and forward pass), with its maps and
 * region on the frame inside the object. Objects of other types, off the
 * frame or empty get nothing; no frame-level meta is attached. */
GST_START_TEST (test_objects_roi_list)
{
  GstVideoInfo info;
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 64, 48);
  GstHarness *h = infer_harness ("threads=1 scale-mode=stretch "
      "inference-region=roi-list object-class=\"car, person\" name=objects",
      caps_64x48);
  for (guint seed = 0; seed < 2; seed++) {
    GstBuffer *in = frame_with_objects (h, &info, 100 + seed);
    GstBuffer *copy = gst_buffer_copy (in);
    GstBuffer *out = gst_harness_push_and_pull (h, in);
    fail_unless (gst_buffer_get_attention_meta (out) == NULL);
    guint n_want = 0;
    for (guint i = 0; i < G_N_ELEMENTS (test_objects); i++) {
      const TestObject *o = &test_objects[i];
      GstVideoRegionOfInterestMeta *roi = object_on (out, i);
      const GstAttentionResult *r = gst_attention_roi_get_result (roi, NULL);
      fail_unless_equals_int (r != NULL, o->want);
      if (!r)
        continue;
      /* by producer element and by model name, not by another's */
      fail_unless (gst_attention_roi_get_result (roi, "objects") == r);
      fail_unless (gst_attention_roi_get_result (roi, "tiny-a") == r);
      fail_unless (gst_attention_roi_get_result (roi, "other") == NULL);
      fail_unless_equals_string (gst_attention_roi_get_producer (roi,
              "tiny-a"), "objects");
      fail_unless (gst_attention_roi_get_producer (roi, "other") == NULL);
      fail_unless (gst_buffer_get_attention_object (out, NULL, n_want) == roi);
      fail_unless (gst_buffer_get_attention_object (out, "objects", n_want)
          == roi);
      n_want++;
      /* the parameter's plain fields, for elements that do not know ours */
      GstStructure *p = gst_video_region_of_interest_meta_get_param (roi,
          "attention");
      fail_unless (p != NULL);
      fail_unless_equals_string (gst_structure_get_string (p, "label"),
          r->classes[0].label);
      gdouble conf;
      guint id;
      fail_unless (gst_structure_get_double (p, "confidence", &conf)
          && fabs (conf - r->classes[0].score) < 1e-6);
      fail_unless (gst_structure_get_uint (p, "label-id", &id)
          && id == r->classes[0].index);
      fail_unless_equals_string (gst_structure_get_string (p, "producer"),
          "objects");

      /* the same rectangle through roi= on the whole-frame path */
      gchar *props = g_strdup_printf ("threads=1 scale-mode=stretch "
          "roi=%u,%u,%u,%u", o->x, o->y, o->w, o->h);
      GstHarness *ref = infer_harness (props, caps_64x48);
      g_free (props);
      GstBuffer *rout = gst_harness_push_and_pull (ref,
          gst_buffer_copy (copy));
      check_same_result (r, gst_buffer_get_attention_meta (rout)->result);
      for (guint m = 0; m < r->n_maps; m++) {
        const GstAttentionMap *a = &r->maps[m];
        /* stretched onto the object's rectangle, frame-normalised */
        fail_unless (fabsf (a->x - o->x / 64.0f) < 1e-6f
            && fabsf (a->y - o->y / 48.0f) < 1e-6f
            && fabsf (a->w - o->w / 64.0f) < 1e-6f
            && fabsf (a->h - o->h / 48.0f) < 1e-6f);
      }
      gint x, y, w, ht;
      fail_unless (gst_attention_result_get_region_pixels (r, 64, 48, &x, &y,
              &w, &ht));
      fail_unless (x >= (gint) o->x && y >= (gint) o->y
          && x + w <= (gint) (o->x + o->w) && y + ht <= (gint) (o->y + o->h),
          "region %d,%d %dx%d outside object %u", x, y, w, ht, i);
      gst_buffer_unref (rout);
      gst_harness_teardown (ref);
    }
    fail_unless_equals_int (n_want, 3);
    fail_unless (gst_buffer_get_attention_object (out, NULL, n_want) == NULL);
    gst_buffer_unref (copy);
    gst_buffer_unref (out);
  }
  GstElement *e = gst_bin_get_by_name (GST_BIN (h->element), "objects");
  guint64 n;
  g_object_get (e, "inferences", &n, NULL);
  fail_unless_equals_uint64 (n, 6);

  /* every type when object-class is empty (the off-frame one still not) */
  g_object_set (e, "object-class", "", NULL);
  GstBuffer *out = gst_harness_push_and_pull (h,
      frame_with_objects (h, &info, 7));
  for (guint i = 0; i < G_N_ELEMENTS (test_objects); i++)
    fail_unless_equals_int (gst_attention_roi_get_result (object_on (out, i),
            NULL) != NULL, i != 3);
  gst_buffer_unref (out);

  /* back to whole frames while playing: a frame meta, objects untouched */
  g_object_set (e, "inference-region", 0, NULL);
  out = gst_harness_push_and_pull (h, frame_with_objects (h, &info, 8));
  GstAttentionMeta *m = gst_buffer_get_attention_meta (out);
  fail_unless (m != NULL && !m->stale);
  fail_unless (gst_buffer_get_attention_object (out, NULL, 0) == NULL);
  gst_buffer_unref (out);
  gst_object_unref (e);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* inference-interval counts frames; results survive buffer copies (the
 * result is referenced by the parameter); a frame without regions runs
 * nothing; one bus message per object with post-messages. */
GST_START_TEST (test_objects_interval_copies_messages)
{
  GstVideoInfo info;
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 64, 48);
  GstHarness *h = infer_harness ("inference-region=roi-list "
      "inference-interval=2 object-class=car post-messages=true", caps_64x48);
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  GstElement *e = infer_of (h);
  for (guint f = 0; f < 4; f++) {
    GstBuffer *out = gst_harness_push_and_pull (h,
        frame_with_objects (h, &info, f));
    const GstAttentionResult *r =
        gst_attention_roi_get_result (object_on (out, 0), NULL);
    fail_unless_equals_int (r != NULL, f % 2 == 0);
    if (r) {
      fail_unless_equals_uint64 (r->frame, f);
      GstBuffer *copy = gst_buffer_copy (out);
      gst_buffer_unref (out);
      out = copy;
      fail_unless (gst_attention_roi_get_result (object_on (out, 0), NULL)
          == r);
    }
    gst_buffer_unref (out);
  }
  guint64 n;
  g_object_get (e, "inferences", &n, NULL);
  fail_unless_equals_uint64 (n, 2);       /* one car, on frames 0 and 2 */
  guint msgs = 0;
  GstMessage *msg;
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *st = gst_message_get_structure (msg);
    if (gst_structure_has_name (st, "attention")) {
      msgs++;
      fail_unless_equals_string (gst_structure_get_string (st, "object-type"),
          "car");
      guint w;
      fail_unless (gst_structure_get_uint (st, "w", &w) && w == 20);
      fail_unless (gst_structure_has_field (st, "classes"));
    }
    gst_message_unref (msg);
  }
  fail_unless_equals_int (msgs, 2);
  /* no regions: nothing runs, nothing attached */
  GstBuffer *out = gst_harness_push_and_pull (h, random_frame (h, &info, 9));
  fail_unless (gst_buffer_get_attention_meta (out) == NULL);
  gst_buffer_unref (out);
  g_object_get (e, "inferences", &n, NULL);
  fail_unless_equals_uint64 (n, 2);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* ---- coarse-to-fine (patches=N) ------------------------------------------ */

static const gchar *caps_320x240 =
    "video/x-raw,format=RGB,width=320,height=240,framerate=30/1";

/* The patch rectangles the element must choose, from the coarse pass's
 * final map on the frame meta, by the documented rule written out here:
 * cells in order of value (lower index on ties), none below min_sal, none
 * whose centre lies within half a patch (in cells, rounded down) of a
 * chosen one; a patch of side×side pixels (clipped to the frame) centred
 * on the cell's centre and moved inside the frame. */
typedef struct {
  gint x, y, w, h;
  gfloat saliency;
} WantPatch;

static guint
expected_patches (const GstAttentionMap *map, gint fw, gint fh, gint side,
                  guint k, gfloat min_sal, WantPatch *want)
{
  gint gw = (gint) map->width, gh = (gint) map->height;
  gdouble cell_w = map->w * fw / gw, cell_h = map->h * fh / gh;
  gint rx = (gint) (0.5 * side / cell_w), ry = (gint) (0.5 * side / cell_h);
  gint pw = MIN (side, fw), ph = MIN (side, fh);
  gint chosen[64];
  guint n = 0;
  while (n < k) {
    gint best = -1;
    for (gint i = 0; i < gw * gh; i++) {
      gboolean near = FALSE;
      for (guint j = 0; j < n && !near; j++)
        near = ABS (chosen[j] % gw - i % gw) <= rx
            && ABS (chosen[j] / gw - i / gw) <= ry;
      if (!near && map->data[i] >= min_sal
          && (best < 0 || map->data[i] > map->data[best]))
        best = i;
    }
    if (best < 0)
      break;
    chosen[n] = best;
    gdouble cx = map->x * fw + (best % gw + 0.5) * cell_w;
    gdouble cy = map->y * fh + (best / gw + 0.5) * cell_h;
    want[n] = (WantPatch) {
      CLAMP ((gint) lround (cx - pw / 2.0), 0, fw - pw),
      CLAMP ((gint) lround (cy - ph / 2.0), 0, fh - ph), pw, ph,
      map->data[best]
    };
    n++;
  }
  return n;
}


/* The patches of one output buffer against the rule and against inference
 * with roi= on each patch's rectangle; returns how many. */
static guint
check_patches (GstBuffer *out, GstBuffer *frame, gint side, guint k,
               gfloat min_sal, gboolean stale)
{
  GstAttentionMeta *m = gst_buffer_get_attention_meta (out);
  fail_unless (m != NULL, "no frame meta from the coarse pass");
  fail_unless_equals_int (m->stale, stale);
  WantPatch want[64];
  guint n = expected_patches (gst_attention_meta_get_map (m, NULL), 320, 240,
      side, k, min_sal, want);
  guint i = 0;
  GstVideoRegionOfInterestMeta *roi;
  for (; (roi = gst_buffer_get_attention_patch (out, NULL, i)); i++) {
    fail_unless (i < n, "%u patches, the rule gives %u", i + 1, n);
    fail_unless_equals_string (g_quark_to_string (roi->roi_type),
        "attention-patch");
    fail_unless (roi->x == (guint) want[i].x && roi->y == (guint) want[i].y
        && roi->w == (guint) want[i].w && roi->h == (guint) want[i].h,
        "patch %u at %u,%u %ux%u, the rule %d,%d %dx%d", i, roi->x, roi->y,
        roi->w, roi->h, want[i].x, want[i].y, want[i].w, want[i].h);
    fail_unless (gst_buffer_get_attention_patch (out, "patches", i) == roi);
    fail_unless (gst_buffer_get_attention_patch (out, "tiny-a", i) == roi);
    GstStructure *p = gst_video_region_of_interest_meta_get_param (roi,
        "attention");
    gdouble sal;
    gboolean st;
    fail_unless (gst_structure_get_double (p, "saliency", &sal)
        && fabs (sal - want[i].saliency) < 1e-6);
    fail_unless (gst_structure_get_boolean (p, "stale", &st) && st == stale);
    /* the fine model's answer on the rectangle, as roi= computes it */
    gchar *props = g_strdup_printf ("threads=1 scale-mode=stretch "
        "roi=%u,%u,%u,%u", roi->x, roi->y, roi->w, roi->h);
    GstHarness *ref = infer_harness (props, caps_320x240);
    g_free (props);
    GstBuffer *rout = gst_harness_push_and_pull (ref, gst_buffer_copy (frame));
    check_same_result (gst_attention_roi_get_result (roi, NULL),
        gst_buffer_get_attention_meta (rout)->result);
    gst_buffer_unref (rout);
    gst_harness_teardown (ref);
  }
  fail_unless_equals_int (i, n);
  /* patches are not upstream objects */
  fail_unless (gst_buffer_get_attention_object (out, NULL, 0) == NULL);
  return n;
}

/* Where the patches go and what they hold: the coarse pass is the frame's
 * meta (its final map over the whole frame), the patches follow the rule
 * exactly, each holds what the model computes on its rectangle; a
 * threshold above every value leaves none; a patch larger than the frame is
 * the frame, once; without a pass (inference-interval) a frame carries the
 * last patches, stale; a coarse model set while playing runs from the next
 * frame; patches=0 while playing is the single pass again. */
GST_START_TEST (test_patches_geometry)
{
  GstVideoInfo info;
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 320, 240);
  GstHarness *h = infer_harness ("threads=1 scale-mode=stretch patches=3 "
      "patch-size=48 min-saliency=0 inference-interval=2 name=patches",
      caps_320x240);
  GstElement *e = gst_bin_get_by_name (GST_BIN (h->element), "patches");
  guint total = 0, coarse_w = 0;
  for (guint f = 0; f < 4; f++) {
    GstBuffer *in = random_frame (h, &info, 300 + f / 2);
    GstBuffer *copy = gst_buffer_copy (in);
    GstBuffer *out = gst_harness_push_and_pull (h, in);
    const GstAttentionResult *coarse =
        gst_buffer_get_attention_meta (out)->result;
    /* a coarse map over the whole frame, finer than the model's own */
    const GstAttentionMap *map = &coarse->maps[coarse->n_maps - 1];
    fail_unless (map->x == 0 && map->y == 0 && map->w == 1 && map->h == 1);
    coarse_w = map->width;
    total += check_patches (out, copy, 48, 3, 0.0f, f % 2 == 1);
    gst_buffer_unref (copy);
    gst_buffer_unref (out);
  }
  fail_unless_equals_int (total, 12);

  g_object_set (e, "inference-interval", 1, "min-saliency", 1.01f, NULL);
  GstBuffer *out = gst_harness_push_and_pull (h, random_frame (h, &info, 9));
  fail_unless (gst_buffer_get_attention_meta (out) != NULL);
  fail_unless (gst_buffer_get_attention_patch (out, NULL, 0) == NULL);
  gst_buffer_unref (out);

  /* large patches: the coarse input is the model's own 32×32, its grid
   * coarse enough for suppression to reach past the neighbouring cells */
  g_object_set (e, "min-saliency", 0.0f, "patch-size", 200, NULL);
  for (guint f = 0; f < 3; f++) {
    GstBuffer *in = random_frame (h, &info, 20 + f), *copy = gst_buffer_copy (in);
    out = gst_harness_push_and_pull (h, in);
    fail_unless (check_patches (out, copy, 200, 3, 0.0f, FALSE) >= 1);
    gst_buffer_unref (copy);
    gst_buffer_unref (out);
  }

  g_object_set (e, "patch-size", 1000, NULL);
  GstBuffer *in = random_frame (h, &info, 10), *copy = gst_buffer_copy (in);
  out = gst_harness_push_and_pull (h, in);
  fail_unless_equals_int (check_patches (out, copy, 1000, 3, 0.0f, FALSE), 1);
  GstVideoRegionOfInterestMeta *roi = gst_buffer_get_attention_patch (out,
      NULL, 0);
  fail_unless (roi->x == 0 && roi->y == 0 && roi->w == 320 && roi->h == 240);
  gst_buffer_unref (copy);
  gst_buffer_unref (out);

  /* another coarse model while playing: the next frame's coarse pass */
  g_object_set (e, "coarse-model", model_b, NULL);
  out = gst_harness_push_and_pull (h, random_frame (h, &info, 12));
  fail_unless_equals_string (gst_buffer_get_attention_meta (out)->result->model,
      "tiny-b");
  fail_unless_equals_string (gst_attention_roi_get_result
      (gst_buffer_get_attention_patch (out, NULL, 0), NULL)->model, "tiny-a");
  gst_buffer_unref (out);

  g_object_set (e, "patches", 0, NULL);
  out = gst_harness_push_and_pull (h, random_frame (h, &info, 11));
  GstAttentionMeta *m = gst_buffer_get_attention_meta (out);
  fail_unless (m != NULL && !m->stale);
  fail_unless (gst_buffer_get_attention_patch (out, NULL, 0) == NULL);
  /* the single pass's final map: the model's own grid again */
  fail_unless (m->result->maps[m->result->n_maps - 1].width < coarse_w);
  gst_buffer_unref (out);
  gst_object_unref (e);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A pipeline of 2 videotestsrc frames through attentioninfer `props`: its
 * error message (NULL at EOS), the debug text in *debug. */
static gchar *
patches_error (const gchar *props, gchar **debug)
{
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=2 ! video/x-raw,"
      "width=160,height=120 ! attentioninfer model=%s patches=2 %s ! "
      "fakesink", model_a, props);
  gchar *msg = run_pipeline (desc, debug);
  g_free (desc);
  return msg;
}

/* The other settings: the gradient saliency (relative to the frame's
 * largest, so the first patch has 1), a coarse model with other labels (the
 * frame's result is its, the patches the model's), bus messages per patch,
 * a 1×1 frame, roi-list winning over patches; and clear errors for a coarse
 * model that cannot be read, one fixed to its input size (STN) and, for the
 * attention saliency, one without a spatial map (SE). */
GST_START_TEST (test_patches_settings)
{
  GstVideoInfo info;
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 320, 240);
  gchar *props = g_strdup_printf ("threads=1 patches=3 patch-size=40 "
      "saliency=gradient min-saliency=0 coarse-model=%s post-messages=true "
      "name=patches", model_b);
  GstHarness *h = infer_harness (props, caps_320x240);
  g_free (props);
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  GstElement *e = gst_bin_get_by_name (GST_BIN (h->element), "patches");
  GstBuffer *out = gst_harness_push_and_pull (h, random_frame (h, &info, 5));
  fail_unless_equals_string (gst_buffer_get_attention_meta (out)->result->model,
      "tiny-b");
  gdouble last = 2;
  guint n = 0;
  GstVideoRegionOfInterestMeta *roi;
  for (; (roi = gst_buffer_get_attention_patch (out, NULL, n)); n++) {
    const GstAttentionResult *r = gst_attention_roi_get_result (roi, NULL);
    fail_unless_equals_string (r->model, "tiny-a");
    fail_unless (roi->w == 40 && roi->h == 40);
    gdouble sal;
    gst_structure_get_double (gst_video_region_of_interest_meta_get_param
        (roi, "attention"), "saliency", &sal);
    fail_unless (sal <= last && sal > 0, "saliency %f after %f", sal, last);
    fail_unless (n > 0 || sal == 1.0);
    last = sal;
  }
  fail_unless_equals_int (n, 3);
  gst_buffer_unref (out);
  /* one message for the frame, one per patch */
  guint frames = 0, patches = 0;
  GstMessage *msg;
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *st = gst_message_get_structure (msg);
    const gchar *type = gst_structure_get_string (st, "object-type");
    if (type) {
      fail_unless_equals_string (type, "attention-patch");
      fail_unless_equals_string (gst_structure_get_string (st, "model"),
          "tiny-a");
      patches++;
    } else {
      fail_unless_equals_string (gst_structure_get_string (st, "model"),
          "tiny-b");
      frames++;
    }
    gst_message_unref (msg);
  }
  fail_unless (frames == 1 && patches == 3, "%u frame and %u patch messages",
      frames, patches);

  /* roi-list wins: upstream objects classified, no patches, no frame meta */
  g_object_set (e, "inference-region", 1, NULL);
  out = gst_harness_push_and_pull (h, frame_with_objects (h, &info, 6));
  fail_unless (gst_buffer_get_attention_patch (out, NULL, 0) == NULL);
  fail_unless (gst_buffer_get_attention_object (out, NULL, 0) != NULL);
  fail_unless (gst_buffer_get_attention_meta (out) == NULL);
  gst_buffer_unref (out);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
  gst_harness_teardown (h);

  /* a 1×1 frame: the patch is the frame */
  h = infer_harness ("patches=2", "video/x-raw,format=RGB,width=1,height=1,"
      "framerate=30/1");
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 1, 1);
  out = gst_harness_push_and_pull (h, random_frame (h, &info, 1));
  roi = gst_buffer_get_attention_patch (out, NULL, 0);
  fail_unless (gst_buffer_get_attention_meta (out) != NULL);
  fail_unless (!roi || (roi->x == 0 && roi->y == 0 && roi->w == 1
          && roi->h == 1));
  fail_unless (gst_buffer_get_attention_patch (out, NULL, 1) == NULL);
  gst_buffer_unref (out);
  gst_harness_teardown (h);

  gchar *debug = NULL;
  gchar *err = patches_error ("coarse-model=/nonexistent.safetensors", &debug);
  fail_unless (err && strstr (err, "Could not load the coarse model")
      && strstr (err, "/nonexistent.safetensors"), "%s", err);
  g_free (err);
  g_clear_pointer (&debug, g_free);

  TinySpec stn = tiny_spec_default ();
  stn.stn = TRUE;
  gchar *stn_path = write_model (&stn, "tiny-stn");
  props = g_strdup_printf ("coarse-model=%s", stn_path);
  err = patches_error (props, &debug);
  fail_unless (err && strstr (err, "Could not plan the coarse model")
      && strstr (err, "any input size"), "%s", err);
  g_free (err);
  g_free (props);
  g_clear_pointer (&debug, g_free);
  g_unlink (stn_path);
  g_free (stn_path);

  TinySpec se = tiny_spec_default ();
  se.attention = "se";
  gchar *se_path = write_model (&se, "tiny-se");
  props = g_strdup_printf ("coarse-model=%s", se_path);
  err = patches_error (props, &debug);
  fail_unless (err && strstr (err, "gives no attention saliency map")
      && debug && strstr (debug, "no spatial attention map"), "%s / %s", err,
      debug);
  g_free (err);
  g_free (props);
  g_clear_pointer (&debug, g_free);
  /* the gradient needs no gate */
  props = g_strdup_printf ("coarse-model=%s saliency=gradient", se_path);
  err = patches_error (props, &debug);
  fail_unless (err == NULL, "%s", err);
  g_free (props);
  g_clear_pointer (&debug, g_free);
  g_unlink (se_path);
  g_free (se_path);
}

GST_END_TEST;

/* Secondary inference on coarse-to-fine patches: a second element with
 * inference-region=roi-list object-class=attention-patch classifies each
 * patch the first attached, as roi= computes it with its own model; the
 * patch then carries both results, each found by its producer. */
GST_START_TEST (test_objects_from_patches)
{
  gchar *desc = g_strdup_printf ("attentioninfer model=%s mode=sync "
      "threads=1 patches=2 patch-size=48 min-saliency=0 name=c2f ! "
      "attentioninfer model=%s mode=sync threads=1 scale-mode=stretch "
      "inference-region=roi-list object-class=attention-patch name=fine",
      model_a, model_b);
  GstHarness *h = gst_harness_new_parse (desc);
  g_free (desc);
  gst_harness_set_src_caps_str (h, caps_320x240);
  GstVideoInfo info;
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 320, 240);
  GstBuffer *in = random_frame (h, &info, 77), *copy = gst_buffer_copy (in);
  GstBuffer *out = gst_harness_push_and_pull (h, in);
  guint n = 0;
  GstVideoRegionOfInterestMeta *roi;
  for (; (roi = gst_buffer_get_attention_patch (out, "c2f", n)); n++) {
    const GstAttentionResult *mine = gst_attention_roi_get_result (roi, "c2f");
    const GstAttentionResult *theirs = gst_attention_roi_get_result (roi,
        "fine");
    fail_unless (mine && theirs && mine != theirs);
    fail_unless_equals_string (mine->model, "tiny-a");
    fail_unless_equals_string (theirs->model, "tiny-b");
    fail_unless (gst_buffer_get_attention_patch (out, "fine", n) == roi);
    gchar *props = g_strdup_printf ("threads=1 scale-mode=stretch "
        "roi=%u,%u,%u,%u model=%s", roi->x, roi->y, roi->w, roi->h, model_b);
    GstHarness *ref = infer_harness (props, caps_320x240);
    g_free (props);
    GstBuffer *rout = gst_harness_push_and_pull (ref, gst_buffer_copy (copy));
    check_same_result (theirs, gst_buffer_get_attention_meta (rout)->result);
    gst_buffer_unref (rout);
    gst_harness_teardown (ref);
  }
  fail_unless_equals_int (n, 2);
  gst_buffer_unref (copy);
  gst_buffer_unref (out);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A model with a Spatial Transformer: θ reaches the result, and the quad is
 * where θ sends the output's outer corners (±1, without align_corners), as
 * input pixel edges ((x + 1)/2·W), on the input's area of the frame —
 * letterboxed here, so the area reaches past the frame. */
GST_START_TEST (test_transformer_quad)
{
  TinySpec spec = tiny_spec_default ();
  spec.stn = TRUE;
  gchar *path = write_model (&spec, "tiny-stn");
  gchar *desc = g_strdup_printf ("attentioninfer model=%s mode=sync "
      "scale-mode=letterbox", path);
  GstHarness *h = gst_harness_new_parse (desc);
  g_free (desc);
  gst_harness_set_src_caps_str (h, caps_64x48);
  GstVideoInfo info;
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 64, 48);
  GstBuffer *out = gst_harness_push_and_pull (h, random_frame (h, &info, 3));
  const GstAttentionResult *r = gst_buffer_get_attention_meta (out)->result;
  fail_unless (r->has_theta && r->n_maps > 0);
  const GstAttentionMap *area = &r->maps[0];
  fail_unless (fabsf (area->y + 8 / 48.0f) < 1e-6f && fabsf (area->h
          - 64 / 48.0f) < 1e-6f, "not letterboxed: %f %f", area->y, area->h);
  const double corners[4][2] = { {-1, -1}, {1, -1}, {1, 1}, {-1, 1} };
  const gfloat *th = r->theta;
  for (guint i = 0; i < 4; i++) {
    double xs = th[0] * corners[i][0] + th[1] * corners[i][1] + th[2];
    double ys = th[3] * corners[i][0] + th[4] * corners[i][1] + th[5];
    double fx = area->x + (xs + 1) / 2 * area->w;
    double fy = area->y + (ys + 1) / 2 * area->h;
    fail_unless (fabs (r->quad[2 * i] - fx) < 1e-5
        && fabs (r->quad[2 * i + 1] - fy) < 1e-5, "corner %u: %f,%f want "
        "%f,%f", i, r->quad[2 * i], r->quad[2 * i + 1], fx, fy);
  }
  guint n;
  fail_unless (gst_attention_result_get_quad (r, &n) == r->quad && n == 8);
  gst_buffer_unref (out);
  gst_harness_teardown (h);
  g_unlink (path);
  g_free (path);
}

GST_END_TEST;

/* A model with a decoder head: the meta's sentence is the network's own
 * greedy decoding of the frame (the same tokens, scores and α as the
 * kernels give on the same input tensor, the end token left out), the
 * sentence joins the tokens, and the ROI meta and the bus message carry it. */
GST_START_TEST (test_decoder_sequence)
{
  TinySpec spec = tiny_spec_default ();
  spec.decoder = 1;
  gchar *path = write_model (&spec, "tiny-dec");
  gchar *desc = g_strdup_printf ("attentioninfer model=%s mode=sync "
      "post-messages=true", path);
  GstHarness *h = gst_harness_new_parse (desc);
  g_free (desc);
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  /* the model's own size, RGB: pre-processing is (p/255 − 0.5)/0.25 */
  gst_harness_set_src_caps_str (h,
      "video/x-raw,format=RGB,width=32,height=32,framerate=30/1");
  GstVideoInfo info;
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 32, 32);

  char err[256];
  AttnModel *model = attn_model_load (path, err, sizeof err);
  fail_unless (model != NULL, "%s", err);
  AttnNet *net = attn_net_new (model, 32, 32, err, sizeof err);
  fail_unless (net != NULL, "%s", err);
  const AttnDecoder *dec = model->decoder;
  for (guint32 seed = 1; seed <= 6; seed++) {
    GstBuffer *in = random_frame (h, &info, seed);
    GstMapInfo map;
    gst_buffer_map (in, &map, GST_MAP_READ);
    float *x = attn_net_input (net);
    for (int c = 0; c < 3; c++)
      for (int i = 0; i < 32 * 32; i++)
        x[c * 32 * 32 + i] = (map.data[i * 3 + c] / 255.0f - 0.5f) / 0.25f;
    gst_buffer_unmap (in, &map);
    attn_net_forward (net);
    AttnSequence q;
    fail_unless (attn_net_sequence (net, &q));

    GstBuffer *out = gst_harness_push_and_pull (h, in);
    GstAttentionMeta *meta = gst_buffer_get_attention_meta (out);
    fail_unless (meta != NULL);
    const GstAttentionResult *r = meta->result;
    int want = q.length - (q.tokens[q.length - 1] == dec->end ? 1 : 0);
    fail_unless_equals_int (r->n_tokens, want);
    GString *sentence = g_string_new ("");
    for (guint t = 0; t < r->n_tokens; t++) {
      const GstAttentionToken *tok = &r->tokens[t];
      fail_unless_equals_int (tok->id, q.tokens[t]);
      fail_unless (tok->id != (guint) dec->end);
      fail_unless_equals_string (tok->text, dec->vocabulary[q.tokens[t]]);
      fail_unless (fabsf (tok->score - q.scores[t]) < 1e-5f, "score %f vs %f",
          tok->score, q.scores[t]);
      fail_unless (tok->alpha.width == (guint) q.width
          && tok->alpha.height == (guint) q.height);
      double sum = 0;
      for (int i = 0; i < q.width * q.height; i++) {
        float a = q.alphas[(size_t) t * q.width * q.height + i];
        fail_unless (fabsf (tok->alpha.data[i] - a) < 1e-5f);
        sum += tok->alpha.data[i];
      }
      fail_unless (fabs (sum - 1) < 1e-4);
      /* placed like the final map */
      const GstAttentionMap *fin = &r->maps[r->n_maps - 1];
      fail_unless (tok->alpha.x == fin->x && tok->alpha.w == fin->w);
      g_string_append_printf (sentence, "%s%s", t ? " " : "", tok->text);
      const gchar *text;
      gfloat score;
      guint id, n;
      fail_unless (gst_attention_result_get_token (r, t, &text, &score, &id));
      fail_unless (text == tok->text && score == tok->score && id == tok->id);
      fail_unless (gst_attention_result_get_token_alpha (r, t, NULL, NULL, &n)
          == tok->alpha.data && n == tok->alpha.width * tok->alpha.height);
    }
    fail_unless (!gst_attention_result_get_token (r, r->n_tokens, NULL, NULL,
            NULL));
    fail_unless_equals_string (r->sentence, sentence->str);
    fail_unless_equals_string (gst_attention_result_get_sentence (r),
        sentence->str);
    /* the ROI meta names the sentence */
    GstVideoRegionOfInterestMeta *roi =
        gst_buffer_get_video_region_of_interest_meta (out);
    fail_unless (roi != NULL);
    GstStructure *p = gst_video_region_of_interest_meta_get_param (roi,
        "attention");
    fail_unless_equals_string (gst_structure_get_string (p, "sentence"),
        sentence->str);
    /* and so does the bus message, token by token */
    GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
    fail_unless (msg != NULL);
    const GstStructure *ms = gst_message_get_structure (msg);
    fail_unless_equals_string (gst_structure_get_string (ms, "sentence"),
        sentence->str);
    const GValue *seq = gst_structure_get_value (ms, "sequence");
    fail_unless_equals_int (gst_value_array_get_size (seq), r->n_tokens);
    gst_message_unref (msg);
    g_string_free (sentence, TRUE);
    gst_buffer_unref (out);
  }
  attn_net_free (net);
  attn_model_unref (model);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_unlink (path);
  g_free (path);
}

GST_END_TEST;

/* ---- several streams in one forward pass (batch-size) ------------------ */

/* r holds what want holds, up to the sum order of batched products:
 * classes, scores and every map. */
static void
check_close_result (const GstAttentionResult *r,
    const GstAttentionResult *want)
{
  fail_unless_equals_int (r->n_classes, want->n_classes);
  for (guint c = 0; c < r->n_classes; c++) {
    fail_unless_equals_int (r->classes[c].index, want->classes[c].index);
    fail_unless (fabsf (r->classes[c].score - want->classes[c].score) < 1e-4f,
        "class %u: %g, alone %g", c, r->classes[c].score,
        want->classes[c].score);
  }
  fail_unless_equals_int (r->n_maps, want->n_maps);
  for (guint m = 0; m < r->n_maps; m++) {
    const GstAttentionMap *a = &r->maps[m], *b = &want->maps[m];
    fail_unless (a->width == b->width && a->height == b->height);
    for (guint j = 0; j < a->width * a->height; j++)
      fail_unless (fabsf (a->data[j] - b->data[j]) < 1e-4f,
          "map %u cell %u: %g, alone %g", m, j, a->data[j], b->data[j]);
  }
}

typedef struct {
  GstHarness *h;
  guint n;
  GstBuffer **in, **out;
} Stream;

static gpointer
stream_main (gpointer data)
{
  Stream *st = data;
  for (guint i = 0; i < st->n; i++)
    st->out[i] = gst_harness_push_and_pull (st->h, gst_buffer_ref (st->in[i]));
  return NULL;
}

static gchar *
default_model_file (void)
{
  const gchar *dir = g_getenv ("ATTN_DEFAULT_MODEL_DIR");
  fail_unless (dir != NULL, "ATTN_DEFAULT_MODEL_DIR is not set");
  return g_build_filename (dir, "default.safetensors", NULL);
}

/* Two streams of the default model with batch-size=2 run their frames in
 * one pass (every layer as one product for both: its own layers are too
 * small for the planner to batch them): each frame's result
 * is the one it gets alone, the streams' results never mix, and
 * batched-inferences counts the shared passes. A stream without a partner
 * waits batch-timeout, then runs alone: the same results, none batched. */
GST_START_TEST (test_batched_streams)
{
  const guint n = 6;
  const gchar *caps = "video/x-raw,format=RGB,width=96,height=80,"
      "framerate=30/1";
  GstVideoInfo info;
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 96, 80);
  gchar *model = default_model_file ();
  g_setenv ("GST_ATTENTION_BATCH_LAYERS", "all", TRUE);
  gchar *desc = g_strdup_printf ("attentioninfer mode=sync model=%s", model);
  GstHarness *alone = gst_harness_new_parse (desc);
  g_free (desc);
  gst_harness_set_src_caps_str (alone, caps);

  Stream st[2];
  GstBuffer *in[2][6], *out[2][6], *want[2][6];
  for (guint k = 0; k < 2; k++) {
    desc = g_strdup_printf ("attentioninfer mode=sync model=%s batch-size=2 "
        "batch-timeout=1000000000", model);
    st[k] = (Stream) { gst_harness_new_parse (desc), n, in[k], out[k] };
    g_free (desc);
    gst_harness_set_src_caps_str (st[k].h, caps);
    for (guint i = 0; i < n; i++) {
      in[k][i] = random_frame (alone, &info, 100 * k + i);
      want[k][i] = gst_harness_push_and_pull (alone,
          gst_buffer_ref (in[k][i]));
    }
  }
  GThread *t[2];
  for (guint k = 0; k < 2; k++)
    t[k] = g_thread_new ("stream", stream_main, &st[k]);
  for (guint k = 0; k < 2; k++)
    g_thread_join (t[k]);
  for (guint k = 0; k < 2; k++) {
    for (guint i = 0; i < n; i++) {
      GstAttentionMeta *a = gst_buffer_get_attention_meta (out[k][i]);
      GstAttentionMeta *b = gst_buffer_get_attention_meta (want[k][i]);
      fail_unless (a && b);
      check_close_result (a->result, b->result);
    }
    GstElement *e = infer_of (st[k].h);
    guint64 inferences = 0, batched = 0;
    g_object_get (e, "inferences", &inferences, "batched-inferences",
        &batched, NULL);
    gst_object_unref (e);
    fail_unless_equals_uint64 (inferences, n);
    /* the streams run in lockstep, each frame waiting for the other's;
     * valgrind may make a partner later than the timeout now and then */
    fail_unless (batched >= n / 2 && batched <= n, "%" G_GUINT64_FORMAT
        " of %u batched", batched, n);
  }

  /* alone with batch-size=2: each frame waits 2 ms, then runs by itself */
  desc = g_strdup_printf ("attentioninfer mode=sync model=%s batch-size=2 "
      "batch-timeout=2000000", model);
  GstHarness *single = gst_harness_new_parse (desc);
  g_free (desc);
  gst_harness_set_src_caps_str (single, caps);
  for (guint i = 0; i < 3; i++) {
    GstBuffer *o = gst_harness_push_and_pull (single, gst_buffer_ref (in[0][i]));
    check_close_result (gst_buffer_get_attention_meta (o)->result,
        gst_buffer_get_attention_meta (want[0][i])->result);
    gst_buffer_unref (o);
  }
  GstElement *e = infer_of (single);
  guint64 batched = 1;
  g_object_get (e, "batched-inferences", &batched, NULL);
  gst_object_unref (e);
  fail_unless_equals_uint64 (batched, 0);
  gst_harness_teardown (single);

  for (guint k = 0; k < 2; k++) {
    for (guint i = 0; i < n; i++) {
      gst_buffer_unref (in[k][i]);
      gst_buffer_unref (out[k][i]);
      gst_buffer_unref (want[k][i]);
    }
    gst_harness_teardown (st[k].h);
  }
  gst_harness_teardown (alone);
  g_free (model);
  g_unsetenv ("GST_ATTENTION_BATCH_LAYERS");
}

GST_END_TEST;

static Suite *
attentioninfer_suite (void)
{
  Suite *s = suite_create ("attentioninfer");
  TCase *tc = tcase_create ("general");
  tcase_add_unchecked_fixture (tc, models_setup, models_teardown);
  tcase_set_timeout (tc, 300);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_formats_and_sizes);
  tcase_add_test (tc, test_interval_marks_stale);
  tcase_add_test (tc, test_properties_while_playing);
  tcase_add_test (tc, test_async_mode);
  tcase_add_test (tc, test_latency);
  tcase_add_test (tc, test_qos_skips_late_frames);
  tcase_add_test (tc, test_meta_survives_videoscale);
  tcase_add_test (tc, test_model_errors);
  tcase_add_test (tc, test_state_cycles);
  tcase_add_test (tc, test_eos_before_buffers_and_shared_models);
  tcase_add_test (tc, test_default_model_path);
  tcase_add_test (tc, test_fifo_model_never_blocks);
  tcase_add_test (tc, test_live_results_are_fresh);
  tcase_add_test (tc, test_live_budget_zero);
  tcase_add_test (tc, test_live_never_falls_behind);
  tcase_add_test (tc, test_model_swap_posts_latency);
  tcase_add_test (tc, test_flush_drops_results);
  tcase_add_test (tc, test_seeks_on_a_file);
  tcase_add_test (tc, test_new_stream_drops_results);
  tcase_add_test (tc, test_bus_messages);
  tcase_add_test (tc, test_letterbox_region_on_frame);
  tcase_add_test (tc, test_settings);
  tcase_add_test (tc, test_model_set_while_stopping);
  tcase_add_test (tc, test_objects_roi_list);
  tcase_add_test (tc, test_objects_interval_copies_messages);
  tcase_add_test (tc, test_patches_geometry);
  tcase_add_test (tc, test_patches_settings);
  tcase_add_test (tc, test_objects_from_patches);
  tcase_add_test (tc, test_transformer_quad);
  tcase_add_test (tc, test_decoder_sequence);
  tcase_add_test (tc, test_batched_streams);
  return s;
}

GST_CHECK_MAIN (attentioninfer);
