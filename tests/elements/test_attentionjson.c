/* test_attentionjson.c — JSON lines parse back and match the meta (classes,
 * region in pixels, stale flag, frame numbers), include-maps adds the maps,
 * frames without meta are marked, and an unwritable location fails the
 * state change with a message naming it. */
#include <gst/attention/attention-meta.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

static GstAttentionResultPool *pool;

static GstAttentionResult *
make_result (void)
{
  const gchar *names[] = { "layer1.0", "layer2.0" };
  guint w[] = { 4, 2 }, h[] = { 3, 2 };
  GstAttentionResultLayout l = { "json-test", 3, 2, names, w, h, 0 };
  if (!pool)
    pool = gst_attention_result_pool_new (&l);
  GstAttentionResult *r = gst_attention_result_pool_acquire (pool);
  for (guint m = 0; m < 2; m++) {
    for (guint i = 0; i < w[m] * h[m]; i++)
      ((gfloat *) r->maps[m].data)[i] = i / 10.0f;
    r->maps[m].x = 0;
    r->maps[m].y = 0;
    r->maps[m].w = r->maps[m].h = 1;
  }
  r->n_classes = 2;
  r->classes[0] = (GstAttentionClassification) { 4, 0.75f, "ring" };
  r->classes[1] = (GstAttentionClassification) { 1, 0.25f, "disc" };
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

static gchar **
run (gboolean maps)
{
  gchar *path = NULL;
  gint fd = g_file_open_tmp ("attn-json-XXXXXX.jsonl", &path, NULL);
  close (fd);
  gchar *desc = g_strdup_printf ("attentionjson location=%s include-maps=%s",
      path, maps ? "true" : "false");
  GstHarness *h = gst_harness_new_parse (desc);
  g_free (desc);
  gst_harness_set_src_caps_str (h, "video/x-raw,format=RGB,width=160,"
      "height=120,framerate=25/1");
  GstAttentionResult *r = make_result ();
  for (guint i = 0; i < 3; i++) {
    GstBuffer *b = gst_buffer_new_allocate (NULL, 160 * 120 * 3, NULL);
    GST_BUFFER_PTS (b) = i * 40 * GST_MSECOND;
    if (i < 2)                  /* frames 0 and 1 carry the frame-0 result */
      gst_buffer_add_attention_meta (b, r, i);
    gst_buffer_unref (gst_harness_push_and_pull (h, b));
  }
  gst_attention_result_unref (r);
  gst_harness_teardown (h);     /* closes the file */
  gchar *text = NULL;
  fail_unless (g_file_get_contents (path, &text, NULL, NULL));
  g_unlink (path);
  g_free (path);
  gchar **lines = g_strsplit (g_strchomp (text), "\n", -1);
  g_free (text);
  return lines;
}

GST_START_TEST (test_lines_match_meta)
{
  gchar **lines = run (FALSE);
  fail_unless_equals_int (g_strv_length (lines), 3);
  JsonParser *p = json_parser_new ();
  JsonObject *o = line_object (p, lines[0]);
  fail_unless_equals_int (json_object_get_int_member (o, "frame"), 0);
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
  JsonObject *roi = json_object_get_object_member (o, "roi");
  fail_unless_equals_int (json_object_get_int_member (roi, "x"), 40);
  fail_unless_equals_int (json_object_get_int_member (roi, "y"), 60);
  fail_unless_equals_int (json_object_get_int_member (roi, "w"), 80);
  fail_unless_equals_int (json_object_get_int_member (roi, "h"), 30);
  fail_unless (fabs (json_object_get_double_member (roi, "peak_y") - 75) < 0.1);
  fail_unless (!json_object_has_member (o, "maps"));

  o = line_object (p, lines[1]);
  fail_unless_equals_int (json_object_get_int_member (o, "frame"), 1);
  fail_unless (json_object_get_boolean_member (o, "stale"));
  fail_unless_equals_int (json_object_get_int_member (o, "computed_on"), 0);
  fail_unless_equals_int (json_object_get_int_member (o, "pts"), 40000000);

  o = line_object (p, lines[2]);
  fail_unless_equals_int (json_object_get_int_member (o, "frame"), 2);
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
  g_object_unref (p);
  g_strfreev (lines);
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
  return s;
}

GST_CHECK_MAIN (attentionjson);
