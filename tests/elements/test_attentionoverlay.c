/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_attentionoverlay.c — the overlay changes pixels only where the heat
 * map is hot, draws the region box and labels, leaves buffers without meta
 * (or with opacity 0) bit-identical, and with composition=true leaves pixels
 * alone and attaches a GstVideoOverlayCompositionMeta. Metas are made through
 * the producer API; no model is involved. */
#include <gst/attention/attention-producer.h>
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
    GstAttentionResultLayout l = { "test", 3, 1, names, w, h, 0, 0, 0, 0, 0 };
    pool = gst_attention_result_pool_new (&l);
  }
  GstAttentionResult *r = gst_attention_result_pool_acquire (pool);
  gfloat *d = gst_attention_result_map_data_writable (r, 0);
  GstAttentionMap *maps = gst_attention_result_maps_writable (r);
  GstAttentionClassification *cls = gst_attention_result_classes_writable (r);
  memset (d, 0, 16 * sizeof (gfloat));
  d[15] = 1.0f;
  maps[0].x = maps[0].y = 0;
  maps[0].w = maps[0].h = 1;
  if (region) {
    r->has_region = TRUE;
    r->region = (GstAttentionRegion) { 0.25f, 0.25f, 0.5f, 0.5f, 0.9f, 0.5f,
      0.5f, 1.0f
    };
  }
  if (classes) {
    r->n_classes = 2;
    cls[0] = (GstAttentionClassification) { 1, 0.9f, "disc" };
    cls[1] = (GstAttentionClassification) { 0, 0.1f, "none" };
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
  if (GST_VIDEO_INFO_IS_YUV (info) && GST_VIDEO_INFO_N_PLANES (info) == 1)
    /* packed 4:2:2: neutral chroma bytes between the luma */
    for (guint c = 1; c < 3; c++)
      for (gint y = 0; y < GST_VIDEO_FRAME_COMP_HEIGHT (&f, c); y++)
        for (gint x = 0; x < GST_VIDEO_FRAME_COMP_WIDTH (&f, c); x++)
          GST_VIDEO_FRAME_COMP_DATA (&f, c)[y * GST_VIDEO_FRAME_COMP_STRIDE
              (&f, c) + x * GST_VIDEO_FRAME_COMP_PSTRIDE (&f, c)] = 128;
  gst_video_frame_unmap (&f);
  if (with_meta) {
    GstAttentionResult *r = make_result (region, classes);
    gst_buffer_add_attention_meta (buf, r, "test", 0);
    gst_attention_result_unref (r);
  }
  return buf;
}

/* Component comp of pixel (x, y) for RGB formats; the luma for the
 * others. */
static guint8
pixel (GstBuffer *buf, GstVideoInfo *info, gint x, gint y, gint comp)
{
  GstVideoFrame f;
  gst_video_frame_map (&f, info, buf, GST_MAP_READ);
  gint c = GST_VIDEO_INFO_IS_RGB (info) ? comp : 0;
  guint8 v = GST_VIDEO_FRAME_COMP_DATA (&f, c)[y * GST_VIDEO_FRAME_COMP_STRIDE
      (&f, c) + x * GST_VIDEO_FRAME_COMP_PSTRIDE (&f, c)];
  gst_video_frame_unmap (&f);
  return v;
}

/* Chroma component comp (1: U/Cb, 2: V/Cr) of the sample covering (x, y):
 * a 2×2 block (I420, NV12) or a 2×1 pair (YUY2, UYVY). */
static guint8
chroma (GstBuffer *buf, GstVideoInfo *info, gint x, gint y, gint comp)
{
  GstVideoFrame f;
  gst_video_frame_map (&f, info, buf, GST_MAP_READ);
  const GstVideoFormatInfo *fi = info->finfo;
  gint cx = x >> GST_VIDEO_FORMAT_INFO_W_SUB (fi, comp);
  gint cy = y >> GST_VIDEO_FORMAT_INFO_H_SUB (fi, comp);
  guint8 v = GST_VIDEO_FRAME_COMP_DATA (&f, comp)[cy
      * GST_VIDEO_FRAME_COMP_STRIDE (&f, comp) + cx
      * GST_VIDEO_FRAME_COMP_PSTRIDE (&f, comp)];
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
    "NV12", "GRAY8", "YUY2", "UYVY"
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
      if (GST_VIDEO_INFO_N_COMPONENTS (&info) > 1) {
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

/* A decoder model's result: the backbone's 4×4 map hot bottom-right, and
 * two tokens whose α peaks top-left ("disc") and top-right ("ring"). */
static GstAttentionResultPool *token_pool;

static GstAttentionResult *
make_sentence_result (void)
{
  const gchar *names[] = { "layer3.0" };
  guint w[] = { 4 }, h[] = { 4 };
  if (!token_pool) {
    GstAttentionResultLayout l = { "describe", 3, 1, names, w, h, 0, 4, 4, 4,
      64
    };
    token_pool = gst_attention_result_pool_new (&l);
  }
  GstAttentionResult *r = gst_attention_result_pool_acquire (token_pool);
  gfloat *d = gst_attention_result_map_data_writable (r, 0);
  GstAttentionMap *maps = gst_attention_result_maps_writable (r);
  memset (d, 0, 16 * sizeof (gfloat));
  d[15] = 1.0f;
  maps[0].x = maps[0].y = 0;
  maps[0].w = maps[0].h = 1;
  GstAttentionToken *tok = gst_attention_result_tokens_writable (r);
  const gchar *text[2] = { "disc", "ring" };
  for (guint t = 0; t < 2; t++) {
    gfloat *a = (gfloat *) tok[t].alpha.data;
    for (guint i = 0; i < 16; i++)
      a[i] = 0.02f;
    a[t ? 3 : 0] = 0.7f;
    tok[t].id = 2 + t;
    tok[t].score = 0.9f;
    tok[t].text = text[t];
    tok[t].alpha.name = text[t];
    tok[t].alpha.x = tok[t].alpha.y = 0;
    tok[t].alpha.w = tok[t].alpha.h = 1;
  }
  gst_attention_result_set_n_tokens (r, 2);
  return r;
}

/* Which of the three hot corners (top-left, top-right, bottom-right) the
 * heat map drew over on a 64×48 RGB frame, as bits 1, 2, 4. */
static guint
hot_corners (GstHarness *h, GstVideoInfo *info)
{
  GstBuffer *buf = uniform_frame (info, FALSE, FALSE, FALSE);
  GstAttentionResult *r = make_sentence_result ();
  gst_buffer_add_attention_meta (buf, r, "test", 0);
  gst_attention_result_unref (r);
  GstBuffer *out = gst_harness_push_and_pull (h, buf);
  guint hot = (pixel (out, info, 4, 3, 0) != 100)
      | (pixel (out, info, 60, 3, 0) != 100) << 1
      | (pixel (out, info, 60, 45, 0) != 100) << 2;
  gst_buffer_unref (out);
  return hot;
}

/* token-map: one token's α (by index, clamped to the last), each in turn
 * across frames, their sum, or none (the backbone's map); a `map` that is
 * set wins; the sentence is written with the shown token marked. */
GST_START_TEST (test_token_maps)
{
  GstVideoInfo info;
  const gchar *base = "labels=0 show-region=false opacity=1";
  struct {
    const gchar *props;
    guint want[5];            /* per frame */
  } cases[] = {
    { "token-map=token token=0", { 1, 1, 1, 1, 1 } },
    { "token-map=token token=1", { 2, 2, 2, 2, 2 } },
    { "token-map=token token=9", { 2, 2, 2, 2, 2 } },
    { "token-map=sum", { 3, 3, 3, 3, 3 } },
    { "token-map=none", { 4, 4, 4, 4, 4 } },
    { "token-map=sum map=layer3.0", { 4, 4, 4, 4, 4 } },
    { "token-map=cycle token-frames=2", { 1, 1, 2, 2, 1 } },
    { "", { 1, 1, 1, 1, 1 } },  /* the default: cycle, 15 frames each */
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    gchar *props = g_strdup_printf ("%s %s", base, cases[c].props);
    GstHarness *h = overlay (props, &info, "RGB", 64, 48);
    for (guint f = 0; f < 5; f++)
      fail_unless_equals_int (hot_corners (h, &info), cases[c].want[f]);
    gst_harness_teardown (h);
    g_free (props);
  }

  /* the label box: the sentence with the shown token in brackets — it
   * differs between tokens, and from no token marked */
  GstBuffer *outs[3];
  const gchar *label_props[3] = { "token-map=token token=0",
    "token-map=token token=1", "token-map=none"
  };
  for (guint i = 0; i < 3; i++) {
    gchar *props = g_strdup_printf ("show-heatmap=false show-region=false "
        "labels=1 %s", label_props[i]);
    GstHarness *h = overlay (props, &info, "RGB", 320, 240);
    GstBuffer *buf = uniform_frame (&info, FALSE, FALSE, FALSE);
    GstAttentionResult *r = make_sentence_result ();
    gst_buffer_add_attention_meta (buf, r, "test", 0);
    gst_attention_result_unref (r);
    outs[i] = gst_harness_push_and_pull (h, buf);
    gst_harness_teardown (h);
    g_free (props);
  }
  guint changed = 0;
  for (gint y = 0; y < 40; y++)
    for (gint x = 0; x < 160; x++)
      changed += pixel (outs[0], &info, x, y, 0) != 100;
  fail_unless (changed > 200, "the sentence changed only %u pixels", changed);
  fail_unless (!same_bytes (outs[0], outs[1]));
  fail_unless (!same_bytes (outs[0], outs[2]));
  fail_unless (!same_bytes (outs[1], outs[2]));
  for (guint i = 0; i < 3; i++)
    gst_buffer_unref (outs[i]);
  gst_attention_result_pool_release (token_pool);
  token_pool = NULL;
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

/* Two producers' metas on one frame: the overlay draws the nearest
 * producer's (here without a region: no box) unless `producer` names the
 * other (with a region: the box). */
GST_START_TEST (test_producer_selection)
{
  const gchar *props[] = { "", "producer=second", "producer=first" };
  const gboolean box[] = { FALSE, FALSE, TRUE };
  for (guint i = 0; i < G_N_ELEMENTS (props); i++) {
    GstVideoInfo info;
    gchar *p = g_strdup_printf ("show-heatmap=false labels=0 %s", props[i]);
    GstHarness *h = overlay (p, &info, "RGB", 64, 48);
    g_free (p);
    GstBuffer *buf = uniform_frame (&info, FALSE, FALSE, FALSE);
    GstAttentionResult *with = make_result (TRUE, FALSE);
    gst_buffer_add_attention_meta (buf, with, "first", 0);
    gst_attention_result_unref (with);
    GstAttentionResult *without = make_result (FALSE, FALSE);
    gst_buffer_add_attention_meta (buf, without, "second", 0);
    gst_attention_result_unref (without);
    GstBuffer *out = gst_harness_push_and_pull (h, buf);
    fail_unless_equals_int (pixel (out, &info, 16, 20, 0), box[i] ? 255 : 100);
    gst_buffer_unref (out);
    gst_harness_teardown (h);
  }
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

/* Objects classified one by one (regions of interest carrying results):
 * each gets its box (white edges on the region of interest), its label
 * above the box's top-left corner and its own heat map, hot where its map
 * is; a region without a result and the rest of the frame stay untouched;
 * objects=false draws none; composition=true draws them on the canvas. */
GST_START_TEST (test_objects)
{
  GstVideoInfo info;
  const gchar *props[] = { "", "objects=false", "composition=true" };
  for (guint i = 0; i < G_N_ELEMENTS (props); i++) {
    GstHarness *h = overlay (props[i], &info, "RGB", 320, 240);
    GstBuffer *in = uniform_frame (&info, FALSE, FALSE, FALSE);
    /* a car at 40,60 120×100; its map (hot bottom-right cell) on it */
    GstVideoRegionOfInterestMeta *car =
        gst_buffer_add_video_region_of_interest_meta (in, "car", 40, 60, 120,
        100);
    gst_buffer_add_video_region_of_interest_meta (in, "tree", 200, 20, 100,
        100);
    GstAttentionResult *r = make_result (FALSE, TRUE);
    GstAttentionMap *maps = gst_attention_result_maps_writable (r);
    maps[0].x = 40 / 320.0f;
    maps[0].y = 60 / 240.0f;
    maps[0].w = 120 / 320.0f;
    maps[0].h = 100 / 240.0f;
    gst_attention_roi_add_result (car, r, "cls");
    gst_attention_result_unref (r);
    GstBuffer *ref = gst_buffer_copy_deep (in);
    GstBuffer *out = gst_harness_push_and_pull (h, in);
    if (i > 0) {
      fail_unless (same_bytes (out, ref), "%s: pixels changed", props[i]);
      fail_unless_equals_int (gst_buffer_get_video_overlay_composition_meta
          (out) != NULL, i == 2);
    } else {
      /* box edges: left, right, bottom */
      fail_unless_equals_int (pixel (out, &info, 40, 130, 0), 255);
      fail_unless_equals_int (pixel (out, &info, 159, 100, 1), 255);
      fail_unless_equals_int (pixel (out, &info, 100, 159, 2), 255);
      /* label: a dark box with text just above the box's left corner */
      guint changed = 0;
      for (gint y = 48; y < 60; y++)
        for (gint x = 42; x < 100; x++)
          changed += pixel (out, &info, x, y, 0) != 100;
      fail_unless (changed > 200, "label changed only %u pixels", changed);
      /* the heat map: hot in the object's bottom-right, clear elsewhere in
       * the object (below the label) */
      fail_unless (pixel (out, &info, 150, 150, 0) != 100
          || pixel (out, &info, 150, 150, 2) != 100);
      fail_unless_equals_int (pixel (out, &info, 60, 120, 0), 100);
      /* outside the object, and the unclassified tree: untouched */
      for (gint x = 0; x < 320; x += 5) {
        fail_unless_equals_int (pixel (out, &info, x, 200, 0), 100);
        fail_unless_equals_int (pixel (out, &info, x, 40, 1), 100);
      }
      fail_unless_equals_int (pixel (out, &info, 250, 70, 0), 100);
    }
    gst_buffer_unref (out);
    gst_buffer_unref (ref);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

/* The rightmost column changed in rows y0..y1 of `out` against `ref`. */
static gint
changed_right_edge (GstBuffer *out, GstBuffer *ref, GstVideoInfo *info,
                    gint y0, gint y1)
{
  gint right = -1;
  for (gint y = y0; y < y1; y++)
    for (gint x = 0; x < GST_VIDEO_INFO_WIDTH (info); x++)
      if (pixel (out, info, x, y, 0) != pixel (ref, info, x, y, 0))
        right = MAX (right, x);
  return right;
}

/* Coarse-to-fine patches (regions of type "attention-patch" with a result)
 * are drawn as objects are — box, label above it, heat map — but labelled
 * with the class alone (an object's label names its type too, so it
 * reaches further right); patches=false leaves them out, objects=false
 * does not. */
GST_START_TEST (test_patches)
{
  GstVideoInfo info;
  const gchar *props[] = { "", "objects=false", "patches=false" };
  const gchar *types[] = { "attention-patch", "attention-patch",
    "attention-patch", "vehicle"
  };
  gint edge[4];
  for (guint i = 0; i < 4; i++) {
    GstHarness *h = overlay (i < 3 ? props[i] : "", &info, "RGB", 320, 240);
    GstBuffer *in = uniform_frame (&info, FALSE, FALSE, FALSE);
    GstVideoRegionOfInterestMeta *roi =
        gst_buffer_add_video_region_of_interest_meta (in, types[i], 40, 60,
        120, 100);
    GstAttentionResult *r = make_result (FALSE, TRUE);
    GstAttentionMap *maps = gst_attention_result_maps_writable (r);
    maps[0].x = 40 / 320.0f;
    maps[0].y = 60 / 240.0f;
    maps[0].w = 120 / 320.0f;
    maps[0].h = 100 / 240.0f;
    gst_attention_roi_add_result (roi, r, "c2f");
    gst_attention_result_unref (r);
    GstBuffer *ref = gst_buffer_copy_deep (in);
    GstBuffer *out = gst_harness_push_and_pull (h, in);
    edge[i] = changed_right_edge (out, ref, &info, 40, 60);
    if (i == 2) {
      fail_unless (same_bytes (out, ref), "patches=false drew a patch");
    } else {
      fail_unless_equals_int (pixel (out, &info, 40, 130, 0), 255);
      fail_unless_equals_int (pixel (out, &info, 159, 100, 1), 255);
      fail_unless (pixel (out, &info, 150, 150, 0) != 100
          || pixel (out, &info, 150, 150, 2) != 100);
      fail_unless_equals_int (pixel (out, &info, 250, 200, 0), 100);
    }
    gst_buffer_unref (out);
    gst_buffer_unref (ref);
    gst_harness_teardown (h);
  }
  fail_unless (edge[0] > 60 && edge[0] == edge[1], "label edges %d, %d",
      edge[0], edge[1]);
  fail_unless (edge[3] > edge[0] + 20, "an object's label ends at %d, a "
      "patch's at %d", edge[3], edge[0]);
}

GST_END_TEST;

/* show-transformer=true draws the Spatial Transformer's quadrilateral (the
 * result's quad, frame-normalised) as yellow lines; off by default;
 * nothing for a result without a transformer. */
GST_START_TEST (test_transformer_quad)
{
  GstVideoInfo info;
  const gchar *props[] = { "show-transformer=true", "", "show-transformer=true" };
  for (guint i = 0; i < G_N_ELEMENTS (props); i++) {
    gchar *desc = g_strdup_printf ("%s show-heatmap=false show-region=false "
        "labels=0", props[i]);
    GstHarness *h = overlay (desc, &info, "RGB", 320, 240);
    g_free (desc);
    GstBuffer *in = uniform_frame (&info, FALSE, FALSE, FALSE);
    GstAttentionResult *r = make_result (FALSE, FALSE);
    if (i != 2) {
      /* a rotated square: (160,40) (260,120) (160,200) (60,120) */
      const gfloat q[8] = { 0.5f, 40 / 240.0f, 260 / 320.0f, 0.5f, 0.5f,
        200 / 240.0f, 60 / 320.0f, 0.5f
      };
      r->has_theta = TRUE;
      memcpy (r->quad, q, sizeof q);
    }
    gst_buffer_add_attention_meta (in, r, "stn", 0);
    gst_attention_result_unref (r);
    GstBuffer *out = gst_harness_push_and_pull (h, in);
    /* near the middle of each edge (within a pixel), and the centre
     * (inside, untouched) */
    const gint mid[4][2] = { {210, 80}, {210, 160}, {110, 160}, {110, 80} };
    for (guint e = 0; e < 4; e++) {
      gboolean yellow = FALSE;
      for (gint dy = -1; dy <= 1; dy++)
        for (gint dx = -1; dx <= 1; dx++) {
          gint x = mid[e][0] + dx, y = mid[e][1] + dy;
          yellow |= pixel (out, &info, x, y, 0) == 255
              && pixel (out, &info, x, y, 1) == 220
              && pixel (out, &info, x, y, 2) == 0;
        }
      fail_unless_equals_int (yellow, i == 0);
    }
    fail_unless_equals_int (pixel (out, &info, 160, 120, 0), 100);
    fail_unless_equals_int (pixel (out, &info, 5, 5, 0), 100);
    gst_buffer_unref (out);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

GST_START_TEST (test_odd_sizes)
{
  static const gint sizes[][2] = { {1, 1}, {3, 7}, {1920, 1080}, {7680, 4320} };
  static const gchar *formats[] = { "I420", "RGB", "GRAY8", "YUY2" };
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

/* A frame of fmt with a pattern in every plane (not uniform, so blending
 * differences show), the 4x4 map rescaled to 0.2..0.6 (so normalize
 * matters), the region and two classes. */
static GstBuffer *
pattern_frame (GstVideoInfo *info)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, info->size, NULL);
  GstVideoFrame f;
  gst_video_frame_map (&f, info, buf, GST_MAP_WRITE);
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES (&f); p++) {
    guint8 *d = GST_VIDEO_FRAME_PLANE_DATA (&f, p);
    gint stride = GST_VIDEO_FRAME_PLANE_STRIDE (&f, p);
    gint rows = GST_VIDEO_FRAME_COMP_HEIGHT (&f, p == 0 ? 0 : 1);
    for (gint y = 0; y < rows; y++)
      for (gint x = 0; x < stride; x++)
        d[(gsize) y * stride + x] = (guint8) (40 + (x * 7 + y * 5 + p * 31) % 170);
  }
  gst_video_frame_unmap (&f);
  GstAttentionResult *r = make_result (TRUE, TRUE);
  gfloat *d = gst_attention_result_map_data_writable (r, 0);
  for (guint i = 0; i < 16; i++)
    d[i] = 0.2f + 0.4f * ((i * 5) % 16) / 15.0f;
  gst_buffer_add_attention_meta (buf, r, "test", 0);
  gst_attention_result_unref (r);
  return buf;
}

/* As overlay(), but I420 and NV12 in BT.709 (limited range): the matrix
 * gst_video_overlay_composition_blend converts with, whatever the frame's
 * colorimetry says. */
static GstHarness *
overlay_709 (const gchar *props, GstVideoInfo *info, const gchar *fmt, gint w,
    gint h)
{
  gchar *desc = g_strdup_printf ("attentionoverlay %s", props);
  GstHarness *hs = gst_harness_new_parse (desc);
  g_free (desc);
  gboolean yuv = g_str_equal (fmt, "I420") || g_str_equal (fmt, "NV12")
      || g_str_equal (fmt, "YUY2") || g_str_equal (fmt, "UYVY");
  gchar *str = g_strdup_printf ("video/x-raw,format=%s,width=%d,height=%d,"
      "framerate=30/1%s", fmt, w, h, yuv ? ",colorimetry=bt709" : "");
  GstCaps *caps = gst_caps_from_string (str);
  g_free (str);
  fail_unless (gst_video_info_from_caps (info, caps));
  gst_harness_set_src_caps (hs, caps);
  return hs;
}

/* The composition's single frame-sized rectangle, premultiplied ARGB as
 * 32-bit words (the painter's canvas, unconverted); NULL if the
 * composition is not one such rectangle (the code before bug 8's fix). */
static const guint32 *
canvas_pixels (GstVideoOverlayComposition *comp, GstMapInfo *map,
    GstBuffer **pix)
{
  *pix = NULL;
  if (gst_video_overlay_composition_n_rectangles (comp) != 1)
    return NULL;
  GstVideoOverlayRectangle *r =
      gst_video_overlay_composition_get_rectangle (comp, 0);
  *pix = gst_video_overlay_rectangle_get_pixels_unscaled_argb (r,
      GST_VIDEO_OVERLAY_FORMAT_FLAG_PREMULTIPLIED_ALPHA);
  gst_buffer_map (*pix, map, GST_MAP_READ);
  return (const guint32 *) map->data;
}

/* Composites the canvas with premultiplied "over" (what
 * gst_video_overlay_composition_blend's BLEND10 does) into a packed RGB
 * frame or, through the frame's own matrix, a GRAY8 one. */
static void
over_by_hand (GstVideoFrame *f, const guint32 *canvas)
{
  const GstVideoInfo *info = &f->info;
  gint w = GST_VIDEO_INFO_WIDTH (info), h = GST_VIDEO_INFO_HEIGHT (info);
  gboolean gray = GST_VIDEO_INFO_FORMAT (info) == GST_VIDEO_FORMAT_GRAY8;
  gdouble kr = 0.299, kb = 0.114;
  gst_video_color_matrix_get_Kr_Kb (info->colorimetry.matrix, &kr, &kb);
  gboolean full = info->colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
  for (gint y = 0; y < h; y++)
    for (gint x = 0; x < w; x++) {
      guint32 px = canvas[y * w + x];
      guint a = px >> 24, src[3] = { (px >> 16) & 0xff, (px >> 8) & 0xff,
        px & 0xff
      };
      guint8 *row = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (f, 0)
          + (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (f, 0);
      if (gray) {
        /* luma is linear in R'G'B': premultiplied in, premultiplied out */
        gdouble l = kr * src[0] + (1 - kr - kb) * src[1] + kb * src[2];
        if (!full)
          l = 16.0 * a / 255 + l * 219 / 255;
        row[x] = (guint8) MIN (255.0, lround (l) + row[x] * (255 - a) / 255);
      } else {
        for (gint c = 0; c < 3; c++) {
          guint8 *d = row + x * GST_VIDEO_FRAME_COMP_PSTRIDE (f, c)
              + GST_VIDEO_FRAME_COMP_POFFSET (f, c);
          *d = (guint8) MIN (255u, src[c] + *d * (255 - a) / 255);
        }
      }
    }
}

/* Whether the canvas changes sharply (a component spreads > 64, or an
 * opaque pixel meets a translucent one: a box or text edge) inside the
 * pixels of chroma sample (cx, cy): a 2×2 block (4:2:0, ws = hs = 1) or a
 * 2×1 pair (4:2:2, ws = 1, hs = 0). */
static gboolean
sharp_block (const guint32 *canvas, gint w, gint h, gint cx, gint cy,
    gint ws, gint hs)
{
  guint lo[4] = { 255, 255, 255, 255 }, hi[4] = { 0, 0, 0, 0 };
  if (!canvas)
    return FALSE;
  for (gint y = cy << hs; y < MIN ((cy + 1) << hs, h); y++)
    for (gint x = cx << ws; x < MIN ((cx + 1) << ws, w); x++)
      for (gint b = 0; b < 4; b++) {
        guint v = (canvas[y * w + x] >> (8 * b)) & 0xff;
        lo[b] = MIN (lo[b], v);
        hi[b] = MAX (hi[b], v);
      }
  /* an opaque pixel (box, text) beside a translucent one (heat, the label
   * box) is an edge too: in place its chroma is the box's, GStreamer's
   * 4:2:2 blend keeps the left pixel's */
  gboolean sharp = hi[3] == 255 && lo[3] < 255;
  for (gint b = 0; b < 4; b++)
    sharp |= hi[b] - lo[b] > 64;
  return sharp;
}

/* Largest difference between the colour bytes (R, G, B or Y, U, V; not
 * alpha or padding) of two frames; chroma samples of sharp blocks are not
 * compared. */
static gint
max_colour_diff (GstVideoInfo *info, GstBuffer *a, GstBuffer *b,
    const guint32 *canvas, gint *at_x, gint *at_y, gint *at_c)
{
  GstVideoFrame fa, fb;
  gst_video_frame_map (&fa, info, a, GST_MAP_READ);
  gst_video_frame_map (&fb, info, b, GST_MAP_READ);
  gint worst = 0;
  gint w = GST_VIDEO_INFO_WIDTH (info), h = GST_VIDEO_INFO_HEIGHT (info);
  gboolean yuv = GST_VIDEO_INFO_IS_YUV (info);
  for (guint c = 0; c < GST_VIDEO_INFO_N_COMPONENTS (info); c++) {
    if (c == GST_VIDEO_COMP_A && GST_VIDEO_INFO_HAS_ALPHA (info))
      continue;
    gint cw = GST_VIDEO_FRAME_COMP_WIDTH (&fa, c);
    gint ch = GST_VIDEO_FRAME_COMP_HEIGHT (&fa, c);
    gint ps = GST_VIDEO_FRAME_COMP_PSTRIDE (&fa, c);
    gint st = GST_VIDEO_FRAME_COMP_STRIDE (&fa, c);
    const guint8 *pa = GST_VIDEO_FRAME_COMP_DATA (&fa, c);
    const guint8 *pb = GST_VIDEO_FRAME_COMP_DATA (&fb, c);
    for (gint y = 0; y < ch; y++)
      for (gint x = 0; x < cw; x++) {
        if (yuv && c > 0 && sharp_block (canvas, w, h, x, y,
                GST_VIDEO_FORMAT_INFO_W_SUB (info->finfo, c),
                GST_VIDEO_FORMAT_INFO_H_SUB (info->finfo, c)))
          continue;
        gsize k = (gsize) y * st + (gsize) x * ps;
        gint d = ABS (pa[k] - pb[k]);
        if (d > worst) {
          worst = d;
          *at_x = x;
          *at_y = y;
          *at_c = (gint) c;
        }
      }
  }
  gst_video_frame_unmap (&fa);
  gst_video_frame_unmap (&fb);
  return worst;
}

/* Bug 8: the window (composition meta, composited downstream) and the file
 * (drawn in place) show the same picture: heat map (normalised), box and
 * labels, for every format. The composition is blended onto a copy of the
 * original frame with gst_video_overlay_composition_blend (RGB, BGR, I420,
 * NV12), or by hand with the same premultiplied "over" where that function
 * cannot be the reference in GStreamer 1.22: it writes 4-byte RGB frames
 * with their components out of place (a premultiplied red pixel over
 * gray 100 comes out as R 212, G/B 28, x 177 on RGBx instead of R 177,
 * G/B 49), and it converts to Y'CbCr with fixed BT.709 limited-range
 * coefficients whatever the frame's colorimetry (GRAY8 is full range:
 * white text would come out 235, not 255). For the same reason the I420
 * and NV12 frames here are BT.709.
 *
 * Tolerance: TOL (3) per byte in RGB and luma, CHROMA_TOL (8) in chroma
 * (largest differences seen: 2 and 6).
 * In place, each layer is blended into the frame's own bytes with one
 * rounding; through the composition the layers are first blended into a
 * premultiplied 8-bit ARGB canvas (one rounding each, and premultiplying
 * drops precision where alpha is small: the colour is kept in a·c/255
 * steps) and then composited (one more rounding), for YUV after converting
 * the premultiplied canvas with GStreamer's 8-bit integer matrix (after
 * un-premultiplying it) rather than converting each colour exactly. Chroma is subsampled: in place a
 * 2x2 block (a 2×1 pair in YUY2/UYVY) takes the heat colour of its top-left pixel and turns white if
 * any of its pixels is on the box; GStreamer's blend upsamples the block,
 * blends four pixels and keeps its own choice. So chroma samples whose
 * block straddles a box or text edge (canvas alpha spread over 64) are not
 * compared, and the smooth heat map can differ a few steps more in chroma
 * than in luma. Before the fix the box and normalisation are missing from
 * the composition: differences of 70 and more. */
#define TOL 3
#define CHROMA_TOL 8
GST_START_TEST (test_composition_matches_direct)
{
  static const gchar *formats[] = { "RGB", "BGR", "RGBx", "BGRx", "xRGB",
    "xBGR", "RGBA", "BGRA", "ARGB", "ABGR", "I420", "NV12", "GRAY8", "YUY2",
    "UYVY"
  };
  static const gint sizes[][2] = { {64, 48}, {33, 25} };
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
      GstVideoInfo info;
      gint w = sizes[s][0], hgt = sizes[s][1];
      GstHarness *hd = overlay_709 ("labels=2", &info, formats[i], w, hgt);
      GstHarness *hc = overlay_709 ("labels=2 composition=true", &info,
          formats[i], w, hgt);
      GstBuffer *in = pattern_frame (&info);
      GstBuffer *orig = gst_buffer_copy_deep (in);
      GstBuffer *direct = gst_harness_push_and_pull (hd,
          gst_buffer_copy_deep (in));
      GstBuffer *comp = gst_harness_push_and_pull (hc, in);
      GstVideoOverlayCompositionMeta *cm =
          gst_buffer_get_video_overlay_composition_meta (comp);
      fail_unless (cm != NULL, "%s: no composition", formats[i]);
      GstMapInfo cmap;
      GstBuffer *cpix;
      const guint32 *canvas = canvas_pixels (cm->overlay, &cmap, &cpix);
      GstVideoFrame f;
      fail_unless (gst_video_frame_map (&f, &info, orig, GST_MAP_READWRITE));
      if (canvas && (GST_VIDEO_INFO_COMP_PSTRIDE (&info, 0) == 4
              || GST_VIDEO_INFO_FORMAT (&info) == GST_VIDEO_FORMAT_GRAY8))
        over_by_hand (&f, canvas);
      else
        fail_unless (gst_video_overlay_composition_blend (cm->overlay, &f));
      gst_video_frame_unmap (&f);
      gint x = 0, y = 0, c = 0;
      gint d = max_colour_diff (&info, direct, orig, canvas, &x, &y, &c);
      gboolean chroma = GST_VIDEO_INFO_IS_YUV (&info) && c > 0;
      fail_unless (d <= (chroma ? CHROMA_TOL : TOL), "%s %dx%d: component "
          "%d at (%d, %d) differs by %d", formats[i], w, hgt, c, x, y, d);
      GST_INFO ("%s %dx%d: largest difference %d", formats[i], w, hgt, d);
      fail_unless (canvas != NULL, "%s: not one frame-sized rectangle",
          formats[i]);
      gst_buffer_unmap (cpix, &cmap);
      gst_buffer_unref (direct);
      gst_buffer_unref (comp);
      gst_buffer_unref (orig);
      gst_harness_teardown (hd);
      gst_harness_teardown (hc);
    }
}

GST_END_TEST;

/* Bug 2: frames taller (or wider) than cairo's 32,767-pixel surfaces go
 * through the model and the overlay, in place and as a composition. */
GST_START_TEST (test_extreme_sizes)
{
  static const gint sizes[][2] = { {1, 60000}, {60000, 1}, {1, 1} };
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (gint comp = 0; comp < 2; comp++) {
      gchar *desc = g_strdup_printf ("attentioninfer mode=sync ! "
          "attentionoverlay composition=%s", comp ? "true" : "false");
      GstHarness *h = gst_harness_new_parse (desc);
      g_free (desc);
      gchar *caps = g_strdup_printf ("video/x-raw,format=GRAY8,width=%d,"
          "height=%d,framerate=30/1", sizes[s][0], sizes[s][1]);
      gst_harness_set_src_caps_str (h, caps);
      g_free (caps);
      GstVideoInfo info;
      gst_video_info_set_format (&info, GST_VIDEO_FORMAT_GRAY8, sizes[s][0],
          sizes[s][1]);
      GstBuffer *in = gst_harness_create_buffer (h, info.size);
      gst_buffer_memset (in, 0, 90, info.size);
      GstBuffer *out = gst_harness_push_and_pull (h, in);
      fail_unless (out != NULL);
      fail_unless (gst_buffer_get_attention_meta (out) != NULL);
      if (comp)
        fail_unless (gst_buffer_get_video_overlay_composition_meta (out));
      gst_buffer_unref (out);
      gst_harness_teardown (h);
    }
}

GST_END_TEST;

static guint
count_warnings (GstBus *bus, const gchar *must_contain)
{
  guint n = 0;
  GstMessage *msg;
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING))) {
    GError *err = NULL;
    gst_message_parse_warning (msg, &err, NULL);
    fail_unless (strstr (err->message, must_contain) != NULL, "warning: %s",
        err->message);
    g_error_free (err);
    gst_message_unref (msg);
    n++;
  }
  return n;
}

/* An unknown map= draws no heat map and warns once per name, naming the
 * maps the meta has. */
GST_START_TEST (test_unknown_map)
{
  GstVideoInfo info;
  GstHarness *h = gst_harness_new ("attentionoverlay");
  g_object_set (h->element, "map", "layer9.9", "labels", 0, "show-region",
      FALSE, "opacity", 1.0f, NULL);
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  gst_harness_set_src_caps_str (h, "video/x-raw,format=RGB,width=64,"
      "height=48,framerate=30/1");
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 64, 48);
  for (gint i = 0; i < 3; i++) {
    GstBuffer *in = uniform_frame (&info, TRUE, FALSE, FALSE);
    GstBuffer *ref = gst_buffer_copy_deep (in);
    GstBuffer *out = gst_harness_push_and_pull (h, in);
    fail_unless (same_bytes (out, ref), "heat drawn for an unknown map");
    gst_buffer_unref (out);
    gst_buffer_unref (ref);
  }
  fail_unless_equals_int (count_warnings (bus, "\"layer3.0\""), 1);

  /* another unknown name: one more warning */
  g_object_set (h->element, "map", "nope", NULL);
  gst_buffer_unref (gst_harness_push_and_pull (h,
          uniform_frame (&info, TRUE, FALSE, FALSE)));
  gst_buffer_unref (gst_harness_push_and_pull (h,
          uniform_frame (&info, TRUE, FALSE, FALSE)));
  fail_unless_equals_int (count_warnings (bus, "\"nope\""), 1);

  /* the map it has: drawn, no warning */
  g_object_set (h->element, "map", "layer3.0", NULL);
  GstBuffer *out = gst_harness_push_and_pull (h,
      uniform_frame (&info, TRUE, FALSE, FALSE));
  fail_unless (pixel (out, &info, 60, 45, 0) != 100);
  gst_buffer_unref (out);
  fail_unless_equals_int (count_warnings (bus, ""), 0);

  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
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
  tcase_add_test (tc, test_token_maps);
  tcase_add_test (tc, test_untouched_cases);
  tcase_add_test (tc, test_region_box_and_labels);
  tcase_add_test (tc, test_composition_meta);
  tcase_add_test (tc, test_producer_selection);
  tcase_add_test (tc, test_odd_sizes);
  tcase_add_test (tc, test_composition_matches_direct);
  tcase_add_test (tc, test_extreme_sizes);
  tcase_add_test (tc, test_unknown_map);
  tcase_add_test (tc, test_objects);
  tcase_add_test (tc, test_patches);
  tcase_add_test (tc, test_transformer_quad);
  return s;
}

GST_CHECK_MAIN (attentionoverlay);
