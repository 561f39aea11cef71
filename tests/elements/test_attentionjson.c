/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_attentionjson.c — JSON lines parse back and match the meta (classes,
 * region in pixels, stale flag, frame numbers), include-maps adds the maps,
 * frames without meta are marked, every line is strict JSON whatever the
 * values (NaN, infinities, invalid UTF-8 in labels), several producers'
 * metas are selected and written, the location cannot change while the
 * file is open, and an unwritable location fails the state change with a
 * message naming it. */
#include <gst/attention/attention-producer.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

static GstAttentionResultPool *pool;

static GstAttentionResult *
make_result (void)
{
  const gchar *names[] = { "layer1.0", "layer2.0" };
  guint w[] = { 4, 2 }, h[] = { 3, 2 };
  GstAttentionResultLayout l = { "json-test", 3, 2, names, w, h, 0, 0, 0, 0, 0 };
  if (!pool)
    pool = gst_attention_result_pool_new (&l);
  GstAttentionResult *r = gst_attention_result_pool_acquire (pool);
  GstAttentionMap *maps = gst_attention_result_maps_writable (r);
  GstAttentionClassification *cls = gst_attention_result_classes_writable (r);
  for (guint m = 0; m < 2; m++) {
    for (guint i = 0; i < w[m] * h[m]; i++)
      gst_attention_result_map_data_writable (r, m)[i] = i / 10.0f;
    maps[m].x = 0;
    maps[m].y = 0;
    maps[m].w = maps[m].h = 1;
  }
  r->n_classes = 2;
  cls[0] = (GstAttentionClassification) { 4, 0.75f, "ring" };
  cls[1] = (GstAttentionClassification) { 1, 0.25f, "disc" };
  r->has_region = TRUE;
  r->region = (GstAttentionRegion) { 0.25f, 0.5f, 0.5f, 0.25f, 0.8f, 0.5f,
    0.625f, 0.9f
  };
  r->frame = 0;
  r->inference_ns = 1234;
  return r;
}

static void
teardown (void)
{
  if (pool)
    gst_attention_result_pool_release (pool);
  pool = NULL;
}

static JsonObject *
line_object (JsonParser *p, const gchar *line)
{
  fail_unless (json_parser_load_from_data (p, line, -1, NULL), "bad JSON: %s",
      line);
  return json_node_get_object (json_parser_get_root (p));
}

/* What `attentionjson location=… props` writes for `bufs` (n of them, each
 * taken) on w × h RGB frames: the file's lines, without the last newline. */
static gchar **
json_lines (const gchar *props, gint w, gint h, GstBuffer **bufs, guint n)
{
  gchar *path = NULL;
  gint fd = g_file_open_tmp ("attn-json-XXXXXX.jsonl", &path, NULL);
  close (fd);
  gchar *desc = g_strdup_printf ("attentionjson location=%s %s", path, props);
  GstHarness *hs = gst_harness_new_parse (desc);
  g_free (desc);
  gchar *caps = g_strdup_printf ("video/x-raw,format=RGB,width=%d,height=%d,"
      "framerate=25/1", w, h);
  gst_harness_set_src_caps_str (hs, caps);
  g_free (caps);
  for (guint i = 0; i < n; i++)
    gst_buffer_unref (gst_harness_push_and_pull (hs, bufs[i]));
  gst_harness_teardown (hs);      /* closes the file */
  gchar *text = NULL;
  fail_unless (g_file_get_contents (path, &text, NULL, NULL));
  g_unlink (path);
  g_free (path);
  gchar **lines = g_strsplit (g_strchomp (text), "\n", -1);
  g_free (text);
  return lines;
}

static gchar **
run (gboolean maps)
{
  GstAttentionResult *r = make_result ();
  GstBuffer *in[3];
  for (guint i = 0; i < 3; i++) {
    in[i] = gst_buffer_new_allocate (NULL, 160 * 120 * 3, NULL);
    GST_BUFFER_PTS (in[i]) = i * 40 * GST_MSECOND;
    if (i < 2)                  /* frames 0 and 1 carry the frame-0 result */
      gst_buffer_add_attention_meta (in[i], r, "test", i);
  }
  gst_attention_result_unref (r);
  return json_lines (maps ? "include-maps=true" : "include-maps=false", 160,
      120, in, 3);
}

GST_START_TEST (test_lines_match_meta)
{
  gchar **lines = run (FALSE);
  fail_unless_equals_int (g_strv_length (lines), 3);
  JsonParser *p = json_parser_new ();
  JsonObject *o = line_object (p, lines[0]);
  fail_unless_equals_int (json_object_get_int_member (o, "version"), 2);
  fail_unless_equals_int (json_object_get_int_member (o, "frame"), 0);
  fail_unless_equals_string (json_object_get_string_member (o, "producer"),
      "test");
  fail_unless_equals_int (json_object_get_int_member (o, "pts"), 0);
  fail_unless (json_object_get_boolean_member (o, "attention"));
  fail_unless_equals_string (json_object_get_string_member (o, "model"),
      "json-test");
  fail_unless (!json_object_get_boolean_member (o, "stale"));
  fail_unless_equals_int (json_object_get_int_member (o, "inference_ns"), 1234);
  JsonArray *cl = json_object_get_array_member (o, "classes");
  fail_unless_equals_int (json_array_get_length (cl), 2);
  JsonObject *c0 = json_array_get_object_element (cl, 0);
  fail_unless_equals_string (json_object_get_string_member (c0, "label"),
      "ring");
  fail_unless_equals_int (json_object_get_int_member (c0, "index"), 4);
  fail_unless (fabs (json_object_get_double_member (c0, "score") - 0.75) < 1e-6);
  /* region (0.25, 0.5, 0.5, 0.25) of 160×120 → 40, 60, 80×30 */
  fail_unless (!json_object_has_member (o, "roi"));
  JsonObject *roi = json_object_get_object_member (o, "region");
  fail_unless_equals_int (json_object_get_int_member (roi, "x"), 40);
  fail_unless_equals_int (json_object_get_int_member (roi, "y"), 60);
  fail_unless_equals_int (json_object_get_int_member (roi, "w"), 80);
  fail_unless_equals_int (json_object_get_int_member (roi, "h"), 30);
  fail_unless (fabs (json_object_get_double_member (roi, "centroid_y") - 75) < 0.1);
  fail_unless (!json_object_has_member (o, "maps"));

  o = line_object (p, lines[1]);
  fail_unless_equals_int (json_object_get_int_member (o, "frame"), 1);
  fail_unless (json_object_get_boolean_member (o, "stale"));
  fail_unless_equals_int (json_object_get_int_member (o, "computed_on"), 0);
  fail_unless_equals_int (json_object_get_int_member (o, "pts"), 40000000);

  /* no meta, no producer's frame number */
  o = line_object (p, lines[2]);
  fail_unless (json_object_get_null_member (o, "frame"));
  fail_unless (!json_object_get_boolean_member (o, "attention"));
  fail_unless (!json_object_has_member (o, "classes"));
  g_object_unref (p);
  g_strfreev (lines);
}

GST_END_TEST;

GST_START_TEST (test_include_maps)
{
  gchar **lines = run (TRUE);
  JsonParser *p = json_parser_new ();
  JsonObject *o = line_object (p, lines[0]);
  JsonArray *maps = json_object_get_array_member (o, "maps");
  fail_unless_equals_int (json_array_get_length (maps), 2);
  JsonObject *m0 = json_array_get_object_element (maps, 0);
  fail_unless_equals_string (json_object_get_string_member (m0, "name"),
      "layer1.0");
  fail_unless_equals_int (json_object_get_int_member (m0, "width"), 4);
  fail_unless_equals_int (json_object_get_int_member (m0, "height"), 3);
  JsonArray *d = json_object_get_array_member (m0, "data");
  fail_unless_equals_int (json_array_get_length (d), 12);
  fail_unless (fabs (json_array_get_double_element (d, 7) - 0.7) < 1e-4);
  /* the map's area in pixels, like every coordinate in the JSON */
  fail_unless (fabs (json_object_get_double_member (m0, "w") - 160) < 1e-3);
  fail_unless (fabs (json_object_get_double_member (m0, "h") - 120) < 1e-3);
  g_object_unref (p);
  g_strfreev (lines);
}

GST_END_TEST;


/* Runs the lines through Python's json with NaN/Infinity refused and the
 * bytes decoded as strict UTF-8: RFC 8259 JSON or a failure. */
static void
assert_strict_json (const gchar *text)
{
  const gchar *argv[] = { "python3", "-c",
    "import json,sys\n"
    "def no(c): raise ValueError('non-standard number ' + c)\n"
    "data = sys.stdin.buffer.read().decode('utf-8', 'strict')\n"
    "n = 0\n"
    "for line in data.splitlines():\n"
    "    o = json.loads(line, parse_constant=no)\n"
    "    json.dumps(o).encode('utf-8', 'strict')\n"
    "    n += 1\n"
    "print(n)\n", NULL
  };
  GSubprocess *p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE
      | G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE,
      NULL);
  fail_unless (p != NULL, "python3 is needed to check JSON strictly");
  gchar *out = NULL;
  fail_unless (g_subprocess_communicate_utf8 (p, text, NULL, &out, NULL,
          NULL));
  fail_unless (g_subprocess_get_exit_status (p) == 0, "not strict JSON: %s\n"
      "in: %s", out, text);
  g_free (out);
  g_object_unref (p);
}

/* Results no model should give but a producer may: NaN and infinite
 * values everywhere, labels with invalid UTF-8, quotes, control bytes. */
GST_START_TEST (test_lines_are_strict_json)
{
  gchar *path = NULL;
  gint fd = g_file_open_tmp ("attn-json-XXXXXX.jsonl", &path, NULL);
  close (fd);
  gchar *desc = g_strdup_printf ("attentionjson location=%s "
      "include-maps=true all-producers=true", path);
  GstHarness *h = gst_harness_new_parse (desc);
  g_free (desc);
  gst_harness_set_src_caps_str (h, "video/x-raw,format=RGB,width=16,"
      "height=8,framerate=25/1");
  static const gchar *labels[] = { "bad \xff\xfe utf-8", "lone \xed\xa0\x80 "
        "surrogate", "quote \" back\\slash \x01\x1f tab\t", "nul-free" };
  for (guint i = 0; i < G_N_ELEMENTS (labels); i++) {
    GstAttentionResult *r = make_result ();
    GstAttentionClassification *cls = gst_attention_result_classes_writable (r);
    cls[0] = (GstAttentionClassification) { 0, NAN, labels[i] };
    cls[1] = (GstAttentionClassification) { 1, INFINITY, "inf" };
    gst_attention_result_map_data_writable (r, 0)[0] = NAN;
    gst_attention_result_map_data_writable (r, 0)[1] = -INFINITY;
    r->region.score = NAN;
    r->region.peak = INFINITY;
    r->region.centroid_x = NAN;
    GstBuffer *b = gst_buffer_new_allocate (NULL, 16 * 8 * 3, NULL);
    gst_buffer_add_attention_meta (b, r, labels[i], 0);
    gst_attention_result_unref (r);
    gst_buffer_unref (gst_harness_push_and_pull (h, b));
  }
  gst_harness_teardown (h);
  gchar *text = NULL;
  fail_unless (g_file_get_contents (path, &text, NULL, NULL));
  g_unlink (path);
  g_free (path);
  fail_unless (g_utf8_validate (text, -1, NULL));
  assert_strict_json (text);
  /* the values json cannot hold are null, the rest survive */
  gchar **lines = g_strsplit (g_strchomp (text), "\n", -1);
  fail_unless_equals_int (g_strv_length (lines), 4);
  JsonParser *p = json_parser_new ();
  JsonObject *o = line_object (p, lines[2]);
  JsonObject *c0 = json_array_get_object_element (json_object_get_array_member
      (o, "classes"), 0);
  fail_unless (json_object_get_null_member (c0, "score"));
  fail_unless_equals_string (json_object_get_string_member (c0, "label"),
      labels[2]);
  o = line_object (p, lines[0]);
  c0 = json_array_get_object_element (json_object_get_array_member (o,
          "classes"), 0);
  fail_unless_equals_string (json_object_get_string_member (c0, "label"),
      "bad \xef\xbf\xbd\xef\xbf\xbd utf-8");
  g_object_unref (p);
  g_strfreev (lines);
  g_free (text);
}

GST_END_TEST;

/* Two producers' metas on one buffer: the nearest (attached last) by
 * default, one by name, or all; and a buffer copy keeps both. */
GST_START_TEST (test_producers)
{
  GstAttentionResult *r = make_result ();
  GstBuffer *b = gst_buffer_new_allocate (NULL, 16 * 8 * 3, NULL);
  gst_buffer_add_attention_meta (b, r, "first", 0);
  gst_buffer_add_attention_meta (b, r, "second", 0);
  gst_attention_result_unref (r);
  GstBuffer *copy = gst_buffer_copy (b);
  gst_buffer_unref (b);
  fail_unless_equals_int (gst_buffer_get_n_attention_metas (copy), 2);
  fail_unless_equals_string (gst_buffer_get_attention_meta (copy)->producer,
      "second");
  fail_unless_equals_string (gst_buffer_get_attention_meta_by_producer (copy,
          "first")->producer, "first");
  fail_unless (gst_buffer_get_attention_meta_by_producer (copy, "json-test")
      != NULL);
  fail_unless (gst_buffer_get_attention_meta_by_producer (copy, "nobody")
      == NULL);
  /* a copy of the copy still holds two, not four */
  GstBuffer *copy2 = gst_buffer_copy (copy);
  fail_unless_equals_int (gst_buffer_get_n_attention_metas (copy2), 2);
  gst_buffer_unref (copy2);

  const gchar *props[] = { "", "producer=first", "all-producers=true" };
  for (guint i = 0; i < G_N_ELEMENTS (props); i++) {
    GstBuffer *in[] = { gst_buffer_ref (copy) };
    gchar **lines = json_lines (props[i], 16, 8, in, 1);
    JsonParser *p = json_parser_new ();
    JsonObject *o = line_object (p, lines[0]);
    fail_unless_equals_string (json_object_get_string_member (o, "producer"),
        i == 1 ? "first" : "second");
    if (i == 2) {
      JsonArray *all = json_object_get_array_member (o, "results");
      fail_unless_equals_int (json_array_get_length (all), 2);
      fail_unless_equals_string (json_object_get_string_member
          (json_array_get_object_element (all, 0), "producer"), "second");
      fail_unless_equals_string (json_object_get_string_member
          (json_array_get_object_element (all, 1), "producer"), "first");
    } else {
      fail_unless (!json_object_has_member (o, "results"));
    }
    g_object_unref (p);
    g_strfreev (lines);
  }
  gst_buffer_unref (copy);
}

GST_END_TEST;

/* Objects classified upstream (inference-region=roi-list) are written
 * under "objects", in the order attached, with the region's id, type and
 * rectangle and the object's result (region in pixels); regions without a
 * result are left out; `producer` selects whose; a frame without objects
 * has an empty array. */
GST_START_TEST (test_objects)
{
  GstAttentionResult *r = make_result ();
  GstBuffer *b = gst_buffer_new_allocate (NULL, 160 * 120 * 3, NULL);
  GstVideoRegionOfInterestMeta *car =
      gst_buffer_add_video_region_of_interest_meta (b, "car", 10, 20, 30, 40);
  car->id = 7;
  gst_buffer_add_video_region_of_interest_meta (b, "tree", 0, 0, 5, 5);
  GstVideoRegionOfInterestMeta *person =
      gst_buffer_add_video_region_of_interest_meta (b, "person", 100, 50, 60,
      70);
  person->id = 9;
  gst_attention_roi_add_result (car, r, "cls");
  gst_attention_roi_add_result (person, r, "other");
  gst_attention_result_unref (r);

  const gchar *props[] = { "", "producer=other", "producer=nobody" };
  for (guint i = 0; i < G_N_ELEMENTS (props); i++) {
    GstBuffer *in[] = { gst_buffer_ref (b),
      gst_buffer_new_allocate (NULL, 160 * 120 * 3, NULL)
    };
    gchar **lines = json_lines (props[i], 160, 120, in, 2);
    fail_unless_equals_int (g_strv_length (lines), 2);
    JsonParser *p = json_parser_new ();
    JsonObject *o = line_object (p, lines[0]);
    fail_unless (!json_object_get_boolean_member (o, "attention"));
    JsonArray *objs = json_object_get_array_member (o, "objects");
    guint want = i == 0 ? 2 : i == 1 ? 1 : 0;
    fail_unless_equals_int (json_array_get_length (objs), want);
    for (guint j = 0; j < want; j++) {
      JsonObject *ob = json_array_get_object_element (objs, j);
      gboolean is_car = i == 0 && j == 0;
      fail_unless_equals_int (json_object_get_int_member (ob, "id"),
          is_car ? 7 : 9);
      fail_unless_equals_string (json_object_get_string_member (ob, "type"),
          is_car ? "car" : "person");
      fail_unless_equals_string (json_object_get_string_member (ob,
              "producer"), is_car ? "cls" : "other");
      fail_unless_equals_int (json_object_get_int_member (ob, "x"),
          is_car ? 10 : 100);
      fail_unless_equals_int (json_object_get_int_member (ob, "h"),
          is_car ? 40 : 70);
      JsonArray *cl = json_object_get_array_member (ob, "classes");
      fail_unless_equals_string (json_object_get_string_member
          (json_array_get_object_element (cl, 0), "label"), "ring");
      /* the result's region (0.25, 0.5, 0.5, 0.25) in frame pixels */
      JsonObject *reg = json_object_get_object_member (ob, "region");
      fail_unless_equals_int (json_object_get_int_member (reg, "x"), 40);
      fail_unless_equals_int (json_object_get_int_member (reg, "w"), 80);
      fail_unless (!json_object_has_member (ob, "maps"));
    }
    o = line_object (p, lines[1]);
    fail_unless_equals_int (json_array_get_length
        (json_object_get_array_member (o, "objects")), 0);
    g_object_unref (p);
    g_strfreev (lines);
  }
  gst_buffer_unref (b);
}

GST_END_TEST;

/* Coarse-to-fine patches (regions of type "attention-patch") are written
 * under "patches", not "objects", in the order attached, with their
 * rectangle, saliency, staleness and result; `producer` selects whose;
 * include-maps adds each patch's maps; a frame without patches has an
 * empty array. */
GST_START_TEST (test_patches)
{
  GstAttentionResult *r = make_result ();
  GstBuffer *b = gst_buffer_new_allocate (NULL, 160 * 120 * 3, NULL);
  const guint rect[3][4] = { {10, 20, 30, 30}, {100, 60, 30, 30},
    {0, 0, 30, 30}
  };
  const gdouble sal[3] = { 0.9, 0.5, 0.4 };
  for (guint i = 0; i < 3; i++) {
    GstVideoRegionOfInterestMeta *roi =
        gst_buffer_add_video_region_of_interest_meta (b, "attention-patch",
        rect[i][0], rect[i][1], rect[i][2], rect[i][3]);
    gst_attention_roi_add_result (roi, r, i < 2 ? "c2f" : "other");
    gst_structure_set (gst_video_region_of_interest_meta_get_param (roi,
            "attention"), "saliency", G_TYPE_DOUBLE, sal[i], "stale",
        G_TYPE_BOOLEAN, i == 1, NULL);
  }
  /* an upstream object beside them */
  gst_attention_roi_add_result (gst_buffer_add_video_region_of_interest_meta
      (b, "car", 1, 2, 3, 4), r, "c2f");
  gst_attention_result_unref (r);

  const gchar *props[] = { "", "producer=c2f include-maps=true" };
  for (guint i = 0; i < G_N_ELEMENTS (props); i++) {
    GstBuffer *in[] = { gst_buffer_ref (b),
      gst_buffer_new_allocate (NULL, 160 * 120 * 3, NULL)
    };
    gchar **lines = json_lines (props[i], 160, 120, in, 2);
    JsonParser *p = json_parser_new ();
    JsonObject *o = line_object (p, lines[0]);
    fail_unless_equals_int (json_array_get_length
        (json_object_get_array_member (o, "objects")), 1);
    JsonArray *ps = json_object_get_array_member (o, "patches");
    guint want = i == 0 ? 3 : 2;
    fail_unless_equals_int (json_array_get_length (ps), want);
    for (guint j = 0; j < want; j++) {
      JsonObject *pt = json_array_get_object_element (ps, j);
      const gchar *k[4] = { "x", "y", "w", "h" };
      for (guint c = 0; c < 4; c++)
        fail_unless_equals_int (json_object_get_int_member (pt, k[c]),
            rect[j][c]);
      fail_unless (fabs (json_object_get_double_member (pt, "saliency")
              - sal[j]) < 1e-4);
      fail_unless_equals_int (json_object_get_boolean_member (pt, "stale"),
          j == 1);
      fail_unless_equals_string (json_object_get_string_member (pt,
              "producer"), j < 2 ? "c2f" : "other");
      JsonArray *cl = json_object_get_array_member (pt, "classes");
      fail_unless_equals_int (json_array_get_length (cl), 2);
      fail_unless_equals_string (json_object_get_string_member
          (json_array_get_object_element (cl, 0), "label"), "ring");
      fail_unless_equals_int (json_object_has_member (pt, "maps"), i == 1);
    }
    o = line_object (p, lines[1]);
    fail_unless_equals_int (json_array_get_length
        (json_object_get_array_member (o, "patches")), 0);
    g_object_unref (p);
    g_strfreev (lines);
  }
  gst_buffer_unref (b);
}

GST_END_TEST;

/* A model with a Spatial Transformer: "theta" (6 numbers) and "quad" (its
 * four corners in frame pixels, in order); neither without one. */
GST_START_TEST (test_transformer)
{
  GstAttentionResult *r = make_result ();
  GstAttentionResult *plain = make_result ();
  const gfloat th[6] = { 0.5f, 0.1f, -0.25f, 0.0f, 0.4f, 0.3f };
  const gfloat quad[8] = { 0.1f, 0.2f, 0.6f, 0.2f, 0.6f, 0.7f, 0.1f, 0.7f };
  r->has_theta = TRUE;
  memcpy (r->theta, th, sizeof th);
  memcpy (r->quad, quad, sizeof quad);
  GstBuffer *in[2] = { gst_buffer_new_allocate (NULL, 160 * 120 * 3, NULL),
    gst_buffer_new_allocate (NULL, 160 * 120 * 3, NULL)
  };
  gst_buffer_add_attention_meta (in[0], r, "stn", 0);
  gst_buffer_add_attention_meta (in[1], plain, "stn", 1);
  gst_attention_result_unref (r);
  gst_attention_result_unref (plain);
  gchar **lines = json_lines ("", 160, 120, in, 2);
  JsonParser *p = json_parser_new ();
  JsonObject *o = line_object (p, lines[0]);
  JsonArray *t = json_object_get_array_member (o, "theta");
  fail_unless_equals_int (json_array_get_length (t), 6);
  for (guint i = 0; i < 6; i++)
    fail_unless (fabs (json_array_get_double_element (t, i) - th[i]) < 1e-6);
  JsonArray *q = json_object_get_array_member (o, "quad");
  fail_unless_equals_int (json_array_get_length (q), 4);
  for (guint i = 0; i < 4; i++) {
    JsonArray *pt = json_array_get_array_element (q, i);
    fail_unless (fabs (json_array_get_double_element (pt, 0)
            - quad[2 * i] * 160) < 0.051);
    fail_unless (fabs (json_array_get_double_element (pt, 1)
            - quad[2 * i + 1] * 120) < 0.051);
  }
  o = line_object (p, lines[1]);
  fail_unless (!json_object_has_member (o, "theta")
      && !json_object_has_member (o, "quad"));
  g_object_unref (p);
  g_strfreev (lines);
}

GST_END_TEST;

/* A decoder model's sentence: `sentence` and `sequence` (token, score, id;
 * with include-maps each token's alpha and its area in pixels), the end
 * token never among them (the producer leaves it out), an empty sentence
 * written as such, and no such members for a model without a decoder. */
GST_START_TEST (test_sequence)
{
  const gchar *names[] = { "layer1.0" };
  guint w[] = { 2 }, h[] = { 2 };
  GstAttentionResultLayout l = { "describe", 3, 1, names, w, h, 0, 4, 3, 2,
    64
  };
  GstAttentionResultPool *dp = gst_attention_result_pool_new (&l);
  GstAttentionResult *r = gst_attention_result_pool_acquire (dp);
  GstAttentionResult *empty = gst_attention_result_pool_acquire (dp);
  GstAttentionResult *plain = make_result ();
  fail_unless_equals_string (empty->sentence, "");
  fail_unless (plain->sentence == NULL && plain->n_tokens == 0);
  GstAttentionToken *tok = gst_attention_result_tokens_writable (r);
  const gchar *text[2] = { "disc", "sq\"uare" };
  for (guint t = 0; t < 2; t++) {
    tok[t].id = 2 + t;
    tok[t].score = 0.5f + 0.25f * t;
    tok[t].text = text[t];
    tok[t].alpha.name = text[t];
    tok[t].alpha.x = 0.25f;
    tok[t].alpha.y = 0;
    tok[t].alpha.w = 0.5f;
    tok[t].alpha.h = 1;
    fail_unless (tok[t].alpha.width == 3 && tok[t].alpha.height == 2);
    for (guint i = 0; i < 6; i++)
      ((gfloat *) tok[t].alpha.data)[i] = (i == t) ? 0.5f : 0.1f;
  }
  gst_attention_result_set_n_tokens (r, 2);
  fail_unless_equals_string (r->sentence, "disc sq\"uare");
  gst_attention_result_set_n_tokens (empty, 0);
  GstBuffer *in[3];
  GstAttentionResult *rs[3] = { r, empty, plain };
  for (guint i = 0; i < 3; i++) {
    in[i] = gst_buffer_new_allocate (NULL, 160 * 120 * 3, NULL);
    gst_buffer_add_attention_meta (in[i], rs[i], "describe", i);
    rs[i]->frame = i;
  }
  /* the same buffers, without and with maps */
  for (int maps = 0; maps < 2; maps++) {
    GstBuffer *copy[3];
    for (guint i = 0; i < 3; i++)
      copy[i] = maps ? in[i] : gst_buffer_ref (in[i]);
    gchar **lines = json_lines (maps ? "include-maps=true" : "", 160, 120,
        copy, 3);
    JsonParser *p = json_parser_new ();
    JsonObject *o = line_object (p, lines[0]);
    fail_unless_equals_string (json_object_get_string_member (o, "sentence"),
        "disc sq\"uare");
    JsonArray *seq = json_object_get_array_member (o, "sequence");
    fail_unless_equals_int (json_array_get_length (seq), 2);
    for (guint t = 0; t < 2; t++) {
      JsonObject *e = json_array_get_object_element (seq, t);
      fail_unless_equals_string (json_object_get_string_member (e, "token"),
          text[t]);
      fail_unless (fabs (json_object_get_double_member (e, "score")
              - (0.5 + 0.25 * t)) < 1e-6);
      fail_unless_equals_int (json_object_get_int_member (e, "id"), 2 + t);
      fail_unless (json_object_has_member (e, "alpha") == maps);
      if (!maps)
        continue;
      JsonObject *a = json_object_get_object_member (e, "alpha");
      fail_unless_equals_int (json_object_get_int_member (a, "width"), 3);
      fail_unless_equals_int (json_object_get_int_member (a, "height"), 2);
      fail_unless (fabs (json_object_get_double_member (a, "x") - 40) < 1e-9
          && fabs (json_object_get_double_member (a, "w") - 80) < 1e-9);
      JsonArray *d = json_object_get_array_member (a, "data");
      fail_unless_equals_int (json_array_get_length (d), 6);
      for (guint i = 0; i < 6; i++)
        fail_unless (fabs (json_array_get_double_element (d, i)
                - (i == t ? 0.5 : 0.1)) < 1e-6);
    }
    o = line_object (p, lines[1]);
    fail_unless_equals_string (json_object_get_string_member (o, "sentence"),
        "");
    fail_unless_equals_int (json_array_get_length
        (json_object_get_array_member (o, "sequence")), 0);
    o = line_object (p, lines[2]);
    fail_unless (!json_object_has_member (o, "sentence")
        && !json_object_has_member (o, "sequence"));
    g_object_unref (p);
    g_strfreev (lines);
  }
  gst_attention_result_unref (r);
  gst_attention_result_unref (empty);
  gst_attention_result_unref (plain);
  gst_attention_result_pool_release (dp);

  /* a sentence longer than its room is cut after a whole token */
  l.max_sentence = 8;
  dp = gst_attention_result_pool_new (&l);
  r = gst_attention_result_pool_acquire (dp);
  tok = gst_attention_result_tokens_writable (r);
  tok[0].text = "disc";
  tok[1].text = "square";
  gst_attention_result_set_n_tokens (r, 2);
  fail_unless_equals_string (r->sentence, "disc");
  fail_unless_equals_int (r->n_tokens, 2);
  gst_attention_result_unref (r);
  gst_attention_result_pool_release (dp);
}

GST_END_TEST;

/* Every string property of the element (file names, the MQTT settings
 * and secrets) set in one order, then the other, then each again: each
 * keeps its own value (where readable: the last one set), setting one never
 * frees another's (a double free at finalize, or a stale secret, if it
 * does), and nothing leaks (the valgrind and ASan runs). */
GST_START_TEST (test_string_properties)
{
  GstElement *json = gst_element_factory_make ("attentionjson", NULL);
  guint n = 0;
  GParamSpec **props =
      g_object_class_list_properties (G_OBJECT_GET_CLASS (json), &n);
  guint strings = 0;
  for (int pass = 0; pass < 3; pass++)
    for (guint k = 0; k < n; k++) {
      GParamSpec *ps = props[pass == 1 ? n - 1 - k : k];
      if (ps->value_type != G_TYPE_STRING || !(ps->flags & G_PARAM_WRITABLE)
          || ps->owner_type != G_OBJECT_TYPE (json))
        continue;
      gchar *v = g_strdup_printf ("value %d of %s", pass, ps->name);
      g_object_set (json, ps->name, v, NULL);
      g_free (v);
      strings += pass == 0;
    }
  for (guint k = 0; k < n; k++) {
    GParamSpec *ps = props[k];
    if (ps->value_type != G_TYPE_STRING || !(ps->flags & G_PARAM_READABLE)
        || !(ps->flags & G_PARAM_WRITABLE)
        || ps->owner_type != G_OBJECT_TYPE (json))
      continue;
    gchar *got = NULL, *want = g_strdup_printf ("value 2 of %s", ps->name);
    g_object_get (json, ps->name, &got, NULL);
    fail_unless_equals_string (got, want);
    g_free (got);
    g_free (want);
  }
  /* the passwords and the MQTT settings are among them */
  fail_unless (strings >= 8, "%u string properties", strings);
  g_free (props);
  gst_object_unref (json);
}

GST_END_TEST;

/* As filesink: the open file's name cannot change under it. */
GST_START_TEST (test_location_fixed_while_running)
{
  gchar *path = NULL;
  gint fd = g_file_open_tmp ("attn-json-XXXXXX.jsonl", &path, NULL);
  close (fd);
  GstElement *pl = gst_pipeline_new (NULL);
  GstElement *src = gst_element_factory_make ("videotestsrc", NULL);
  GstElement *json = gst_element_factory_make ("attentionjson", NULL);
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);
  g_object_set (src, "num-buffers", 3, NULL);
  g_object_set (json, "location", path, NULL);
  gst_bin_add_many (GST_BIN (pl), src, json, sink, NULL);
  fail_unless (gst_element_link_many (src, json, sink, NULL));
  fail_unless (gst_element_set_state (pl, GST_STATE_PAUSED)
      != GST_STATE_CHANGE_FAILURE);
  g_object_set (json, "location", "/tmp/attn-never-written.jsonl", NULL);
  gchar *now = NULL;
  g_object_get (json, "location", &now, NULL);
  fail_unless_equals_string (now, path);
  g_free (now);
  GstBus *bus = gst_element_get_bus (pl);
  GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (m != NULL, "no warning for a location changed while running");
  gst_message_unref (m);
  gst_object_unref (bus);
  gst_element_set_state (pl, GST_STATE_NULL);
  gst_object_unref (pl);
  fail_if (g_file_test ("/tmp/attn-never-written.jsonl", G_FILE_TEST_EXISTS));
  g_unlink (path);
  g_free (path);
}

GST_END_TEST;

GST_START_TEST (test_unwritable_location)
{
  GstElement *pl = gst_parse_launch ("videotestsrc num-buffers=1 ! "
      "attentionjson location=/nonexistent/dir/out.jsonl ! fakesink", NULL);
  fail_unless (gst_element_set_state (pl, GST_STATE_PLAYING)
      == GST_STATE_CHANGE_FAILURE);
  GstBus *bus = gst_element_get_bus (pl);
  GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (m != NULL);
  GError *e;
  gst_message_parse_error (m, &e, NULL);
  fail_unless (strstr (e->message, "/nonexistent/dir/out.jsonl") != NULL);
  g_error_free (e);
  gst_message_unref (m);
  gst_object_unref (bus);
  gst_element_set_state (pl, GST_STATE_NULL);
  gst_object_unref (pl);
}

GST_END_TEST;

static Suite *
attentionjson_suite (void)
{
  Suite *s = suite_create ("attentionjson");
  TCase *tc = tcase_create ("general");
  tcase_add_checked_fixture (tc, NULL, teardown);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_lines_match_meta);
  tcase_add_test (tc, test_include_maps);
  tcase_add_test (tc, test_unwritable_location);
  tcase_add_test (tc, test_lines_are_strict_json);
  tcase_add_test (tc, test_objects);
  tcase_add_test (tc, test_patches);
  tcase_add_test (tc, test_transformer);
  tcase_add_test (tc, test_sequence);
  tcase_add_test (tc, test_producers);
  tcase_add_test (tc, test_location_fixed_while_running);
  tcase_add_test (tc, test_string_properties);
  return s;
}

GST_CHECK_MAIN (attentionjson);
