/* test_attentionoverlay.c — the overlay changes pixels only where the heat
 * map is hot, draws the region box and labels, leaves buffers without meta
 * (or with opacity 0) bit-identical, and with composition=true leaves pixels
 * alone and attaches a GstVideoOverlayCompositionMeta. Metas are made through
 * the producer API; no model is involved. */
#include <gst/attention/attention-meta.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <string.h>

static GstAttentionResultPool *pool;

/* A 4×4 map, 0 everywhere but 1 in the bottom-right cell, covering the
 * frame; optional region and classes. */
static GstAttentionResult *
make_result (gboolean region, gboolean classes)
{
  const gchar *names[] = { "layer3.0" };
  guint w[] = { 4 }, h[] = { 4 };
  if (!pool) {
    GstAttentionResultLayout l = { "test", 3, 1, names, w, h, 0 };
    pool = gst_attention_result_pool_new (&l);
  }
  GstAttentionResult *r = gst_attention_result_pool_acquire (pool);
  gfloat *d = (gfloat *) r->maps[0].data;
  memset (d, 0, 16 * sizeof (gfloat));
  d[15] = 1.0f;
  r->maps[0].x = r->maps[0].y = 0;
  r->maps[0].w = r->maps[0].h = 1;
  if (region) {
    r->has_region = TRUE;
    r->region = (GstAttentionRegion) { 0.25f, 0.25f, 0.5f, 0.5f, 0.9f, 0.5f,
      0.5f, 1.0f
    };
  }
  if (classes) {
    r->n_classes = 2;
    r->classes[0] = (GstAttentionClassification) { 1, 0.9f, "disc" };
    r->classes[1] = (GstAttentionClassification) { 0, 0.1f, "none" };
  }
  return r;
}

static void
teardown (void)
{
  if (pool)
    gst_attention_result_pool_release (pool);
  pool = NULL;
}

/* A uniform frame: gray 100 (RGB) or Y=100, U=V=128. */
static GstBuffer *
uniform_frame (GstVideoInfo *info, gboolean with_meta, gboolean region,
    gboolean classes)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, info->size, NULL);
  GstVideoFrame f;
  gst_video_frame_map (&f, info, buf, GST_MAP_WRITE);
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES (&f); p++) {
    guint8 v = p == 0 ? 100 : 128;
    gsize sz = (gsize) GST_VIDEO_FRAME_PLANE_STRIDE (&f, p)
        * GST_VIDEO_FRAME_COMP_HEIGHT (&f, p == 0 ? 0 : 1);
    memset (GST_VIDEO_FRAME_PLANE_DATA (&f, p), v, sz);
  }
  gst_video_frame_unmap (&f);
  if (with_meta) {
    GstAttentionResult *r = make_result (region, classes);
    gst_buffer_add_attention_meta (buf, r, 0);
    gst_attention_result_unref (r);
  }
  return buf;
}

/* Luma (or the first RGB component's byte) of pixel (x, y). */
static guint8
pixel (GstBuffer *buf, GstVideoInfo *info, gint x, gint y, gint comp)
{
  GstVideoFrame f;
  gst_video_frame_map (&f, info, buf, GST_MAP_READ);
  const GstVideoFormatInfo *fi = info->finfo;
  guint8 *row = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&f, 0)
      + (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (&f, 0);
  guint8 v = GST_VIDEO_FORMAT_INFO_IS_RGB (fi)
      ? row[x * GST_VIDEO_FORMAT_INFO_PSTRIDE (fi, 0)
      + GST_VIDEO_FORMAT_INFO_POFFSET (fi, comp)] : row[x];
  gst_video_frame_unmap (&f);
  return v;
}

/* Chroma component comp (1: U/Cb, 2: V/Cr) of the 2×2 block holding (x, y),
 * for I420 and NV12. */
static guint8
chroma (GstBuffer *buf, GstVideoInfo *info, gint x, gint y, gint comp)
{
  GstVideoFrame f;
  gst_video_frame_map (&f, info, buf, GST_MAP_READ);
  guint8 v = ((guint8 *) GST_VIDEO_FRAME_COMP_DATA (&f, comp))
      [(y / 2) * GST_VIDEO_FRAME_COMP_STRIDE (&f, comp)
      + (x / 2) * GST_VIDEO_FRAME_COMP_PSTRIDE (&f, comp)];
  gst_video_frame_unmap (&f);
  return v;
}

static GstHarness *
overlay (const gchar *props, GstVideoInfo *info, const gchar *fmt, gint w,
    gint h)
{
  gchar *desc = g_strdup_printf ("attentionoverlay %s", props);
  GstHarness *hs = gst_harness_new_parse (desc);
  g_free (desc);
  gchar *caps = g_strdup_printf ("video/x-raw,format=%s,width=%d,height=%d,"
      "framerate=30/1", fmt, w, h);
  gst_harness_set_src_caps_str (hs, caps);
  g_free (caps);
  gst_video_info_set_format (info, gst_video_format_from_string (fmt), w, h);
  return hs;
}

static gboolean
same_bytes (GstBuffer *a, GstBuffer *b)
{
  GstMapInfo ma, mb;
  gst_buffer_map (a, &ma, GST_MAP_READ);
  gst_buffer_map (b, &mb, GST_MAP_READ);
  gboolean same = ma.size == mb.size && memcmp (ma.data, mb.data, ma.size) == 0;
  gst_buffer_unmap (a, &ma);
  gst_buffer_unmap (b, &mb);
  return same;
}

GST_START_TEST (test_heat_only_where_hot)
{
  static const gchar *formats[] = { "RGB", "BGRx", "RGBA", "ABGR", "I420",
    "NV12", "GRAY8"
  };
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
    GstVideoInfo info;
    GstHarness *h = overlay ("labels=0 show-region=false opacity=1",
        &info, formats[i], 64, 48);
    GstBuffer *out = gst_harness_push_and_pull (h,
        uniform_frame (&info, TRUE, FALSE, FALSE));
    /* the hot cell is the bottom-right 16×12 block; its centre turns
     * towards turbo's top colour (dark red: red high, blue low) */
    if (GST_VIDEO_INFO_IS_RGB (&info)) {
      fail_unless (pixel (out, &info, 60, 45, 0) != 100, "%s: red unchanged",
          formats[i]);
      fail_unless (pixel (out, &info, 60, 45, 2) < 100, "%s: blue not lowered",
          formats[i]);
    } else {
      fail_unless (pixel (out, &info, 60, 45, 0) != 100, "%s: luma unchanged",
          formats[i]);
      if (GST_VIDEO_INFO_N_PLANES (&info) > 1) {
        /* dark red in Y'CbCr: Cr well above neutral, Cb below — the
         * chroma comes from the heat's colour, not from its luma */
        fail_unless (chroma (out, &info, 60, 45, 2) > 150, "%s: Cr %u",
            formats[i], chroma (out, &info, 60, 45, 2));
        fail_unless (chroma (out, &info, 60, 45, 1) < 128, "%s: Cb %u",
            formats[i], chroma (out, &info, 60, 45, 1));
      }
    }
    /* far from it (two cells away, where the map is 0) nothing changes */
    for (gint y = 0; y < 24; y++)
      for (gint x = 0; x < 32; x++)
        fail_unless_equals_int (pixel (out, &info, x, y, 0), 100);
    gst_buffer_unref (out);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

GST_START_TEST (test_untouched_cases)
{
  GstVideoInfo info;
  GstHarness *h = overlay ("", &info, "I420", 64, 48);
  /* no meta: bit-identical */
  GstBuffer *in = uniform_frame (&info, FALSE, FALSE, FALSE);
  GstBuffer *ref = gst_buffer_copy_deep (in);
  GstBuffer *out = gst_harness_push_and_pull (h, in);
  fail_unless (same_bytes (out, ref));
  gst_buffer_unref (out);
  gst_buffer_unref (ref);
  gst_harness_teardown (h);

  /* opacity 0, no labels, no box: bit-identical despite the meta */
  h = overlay ("opacity=0 labels=0 show-region=false", &info, "RGBx", 64, 48);
  in = uniform_frame (&info, TRUE, TRUE, TRUE);
  ref = gst_buffer_copy_deep (in);
  out = gst_harness_push_and_pull (h, in);
  fail_unless (same_bytes (out, ref));
  gst_buffer_unref (out);
  gst_buffer_unref (ref);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_region_box_and_labels)
{
  GstVideoInfo info;
  GstHarness *h = overlay ("show-heatmap=false labels=0", &info, "RGB", 64,
      48);
  GstBuffer *out = gst_harness_push_and_pull (h,
      uniform_frame (&info, TRUE, TRUE, FALSE));
  /* region (0.25, 0.25, 0.5, 0.5) → box 16..48 × 12..36, white edges */
  fail_unless_equals_int (pixel (out, &info, 16, 20, 0), 255);
  fail_unless_equals_int (pixel (out, &info, 30, 12, 1), 255);
  fail_unless_equals_int (pixel (out, &info, 47, 30, 2), 255);
  fail_unless_equals_int (pixel (out, &info, 32, 24, 0), 100);  /* inside */
  fail_unless_equals_int (pixel (out, &info, 5, 5, 0), 100);    /* outside */
  gst_buffer_unref (out);
  gst_harness_teardown (h);

  h = overlay ("show-heatmap=false show-region=false labels=2", &info, "NV12",
      320, 240);
  out = gst_harness_push_and_pull (h, uniform_frame (&info, TRUE, FALSE, TRUE));
  guint changed = 0;
  for (gint y = 0; y < 40; y++)
    for (gint x = 0; x < 120; x++)
      changed += pixel (out, &info, x, y, 0) != 100;
  fail_unless (changed > 200, "labels changed only %u pixels", changed);
  /* nothing below the label box */
  for (gint x = 0; x < 320; x += 7)
    fail_unless_equals_int (pixel (out, &info, x, 200, 0), 100);
  gst_buffer_unref (out);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_composition_meta)
{
  GstVideoInfo info;
  GstHarness *h = overlay ("composition=true", &info, "BGRA", 64, 48);
  GstBuffer *in = uniform_frame (&info, TRUE, TRUE, TRUE);
  GstBuffer *ref = gst_buffer_copy_deep (in);
  GstBuffer *out = gst_harness_push_and_pull (h, in);
  fail_unless (same_bytes (out, ref), "pixels changed in composition mode");
  GstVideoOverlayCompositionMeta *cm =
      gst_buffer_get_video_overlay_composition_meta (out);
  fail_unless (cm != NULL);
  /* one frame-sized rectangle holds heat map, box and labels */
  fail_unless_equals_int (gst_video_overlay_composition_n_rectangles
      (cm->overlay), 1);
  gint rx, ry;
  guint rw, rh;
  gst_video_overlay_rectangle_get_render_rectangle
      (gst_video_overlay_composition_get_rectangle (cm->overlay, 0), &rx, &ry,
      &rw, &rh);
  fail_unless (rx == 0 && ry == 0 && rw == 64 && rh == 48);
  gst_buffer_unref (out);
  gst_buffer_unref (ref);
  gst_harness_teardown (h);

  /* a downstream that says it composites gets the meta without asking */
  GstHarness *h2 = gst_harness_new_empty ();
  gst_harness_add_parse (h2, "attentionoverlay");
  gst_harness_add_propose_allocation_meta (h2,
      GST_VIDEO_OVERLAY_COMPOSITION_META_API_TYPE, NULL);
  gst_harness_set_src_caps_str (h2, "video/x-raw,format=I420,width=64,"
      "height=48,framerate=30/1");
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_I420, 64, 48);
  in = uniform_frame (&info, TRUE, TRUE, TRUE);
  ref = gst_buffer_copy_deep (in);
  out = gst_harness_push_and_pull (h2, in);
  fail_unless (same_bytes (out, ref), "pixels changed though downstream composites");
  fail_unless (gst_buffer_get_video_overlay_composition_meta (out) != NULL);
  gst_buffer_unref (out);
  gst_buffer_unref (ref);
  gst_harness_teardown (h2);
}

GST_END_TEST;

GST_START_TEST (test_odd_sizes)
{
  static const gint sizes[][2] = { {1, 1}, {3, 7}, {1920, 1080}, {7680, 4320} };
  static const gchar *formats[] = { "I420", "RGB", "GRAY8" };
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (guint f = 0; f < G_N_ELEMENTS (formats); f++) {
      GstVideoInfo info;
      GstHarness *h = overlay ("colormap=inferno", &info, formats[f],
          sizes[s][0], sizes[s][1]);
      GstBuffer *out = gst_harness_push_and_pull (h,
          uniform_frame (&info, TRUE, TRUE, TRUE));
      fail_unless (out != NULL);
      gst_buffer_unref (out);
      gst_harness_teardown (h);
    }
}

GST_END_TEST;

static Suite *
attentionoverlay_suite (void)
{
  Suite *s = suite_create ("attentionoverlay");
  TCase *tc = tcase_create ("general");
  tcase_add_checked_fixture (tc, NULL, teardown);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_heat_only_where_hot);
  tcase_add_test (tc, test_untouched_cases);
  tcase_add_test (tc, test_region_box_and_labels);
  tcase_add_test (tc, test_composition_meta);
  tcase_add_test (tc, test_odd_sizes);
  return s;
}

GST_CHECK_MAIN (attentionoverlay);
