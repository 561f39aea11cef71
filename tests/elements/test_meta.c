/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_meta.c — the accessors bindings use (GObject-Introspection) return
 * what the C fields hold: classes by rank, the region, each map's values,
 * size and area, channels and θ (empty when absent), out-of-range and
 * missing names refused; the boxed types copy a result by reference and a
 * region by value, and a copied result outlives its buffer. */
#include <gst/attention/attention-producer.h>
#include <gst/check/gstcheck.h>
#include <string.h>

static GstAttentionResultPool *
make_pool (guint n_channels)
{
  const gchar *names[] = { "layer1.0", "layer2.0" };
  guint w[] = { 4, 2 }, h[] = { 3, 2 };
  GstAttentionResultLayout l = { "meta-test", 3, 2, names, w, h, n_channels, 0, 0, 0, 0 };
  return gst_attention_result_pool_new (&l);
}

static GstAttentionResult *
fill (GstAttentionResult *r)
{
  GstAttentionMap *maps = gst_attention_result_maps_writable (r);
  GstAttentionClassification *cls = gst_attention_result_classes_writable (r);
  for (guint m = 0; m < 2; m++) {
    guint n = maps[m].width * maps[m].height;
    for (guint i = 0; i < n; i++)
      gst_attention_result_map_data_writable (r, m)[i] = (m + 1) * i / 100.0f;
    maps[m].x = 0.125f * m;
    maps[m].y = 0;
    maps[m].w = 1;
    maps[m].h = 0.5f;
  }
  r->n_classes = 2;
  cls[0] = (GstAttentionClassification) { 4, 0.75f, "ring" };
  cls[1] = (GstAttentionClassification) { 1, 0.25f, "disc" };
  r->has_region = TRUE;
  r->region = (GstAttentionRegion) { 0.25f, 0.5f, 0.5f, 0.25f, 0.8f, 0.5f,
    0.625f, 0.9f
  };
  r->frame = 7;
  r->inference_ns = 1234;
  return r;
}

GST_START_TEST (test_result_accessors)
{
  GstAttentionResultPool *pool = make_pool (0);
  GstAttentionResult *r = fill (gst_attention_result_pool_acquire (pool));

  fail_unless_equals_string (gst_attention_result_get_model (r), "meta-test");
  fail_unless_equals_uint64 (gst_attention_result_get_frame (r), 7);
  fail_unless_equals_uint64 (gst_attention_result_get_inference_ns (r), 1234);
  fail_unless_equals_int (gst_attention_result_get_n_classes (r), 2);

  const gchar *label = NULL;
  gfloat score = 0;
  guint index = 0;
  fail_unless (gst_attention_result_get_classification (r, 1, &label, &score,
          &index));
  fail_unless_equals_string (label, "disc");
  fail_unless_equals_float (score, 0.25f);
  fail_unless_equals_int (index, 1);
  fail_unless (gst_attention_result_get_classification (r, 0, NULL, NULL,
          NULL));
  /* out of range: refused, the out values untouched */
  fail_if (gst_attention_result_get_classification (r, 2, &label, &score,
          &index));
  fail_unless_equals_string (label, "disc");

  GstAttentionRegion reg;
  fail_unless (gst_attention_result_get_region (r, &reg));
  fail_unless (memcmp (&reg, &r->region, sizeof reg) == 0);

  fail_unless_equals_int (gst_attention_result_get_n_maps (r), 2);
  fail_unless_equals_string (gst_attention_result_get_map_name (r, 0),
      "layer1.0");
  fail_unless (gst_attention_result_get_map_name (r, 2) == NULL);
  guint w = 0, h = 0, n = 0;
  /* NULL: the final map */
  const gfloat *v = gst_attention_result_get_map_values (r, NULL, &w, &h, &n);
  fail_unless (v == r->maps[1].data);
  fail_unless_equals_int (w, 2);
  fail_unless_equals_int (h, 2);
  fail_unless_equals_int (n, 4);
  v = gst_attention_result_get_map_values (r, "layer1.0", &w, &h, &n);
  fail_unless (v == r->maps[0].data);
  fail_unless_equals_int (n, 12);
  fail_unless_equals_float (v[11], 0.11f);
  fail_unless (gst_attention_result_get_map_values (r, "nope", &w, &h,
          &n) == NULL);
  fail_unless_equals_int (w + h + n, 0);

  gfloat x = -1, y = -1, aw = -1, ah = -1;
  fail_unless (gst_attention_result_get_map_area (r, NULL, &x, &y, &aw, &ah));
  fail_unless_equals_float (x, 0.125f);
  fail_unless_equals_float (ah, 0.5f);
  fail_if (gst_attention_result_get_map_area (r, "nope", &x, NULL, NULL,
          NULL));
  fail_unless_equals_float (gst_attention_result_sample_map (r, "layer1.0",
          0.3f, 0.2f), gst_attention_map_sample (&r->maps[0], 0.3f, 0.2f));
  fail_unless_equals_float (gst_attention_result_sample_map (r, "nope", 0.5f,
          0.5f), 0.0f);

  /* no channels, no θ, no region: empty */
  fail_unless (gst_attention_result_get_channels (r, &n) == NULL);
  fail_unless_equals_int (n, 0);
  fail_unless (gst_attention_result_get_theta (r, &n) == NULL);
  fail_unless_equals_int (n, 0);
  r->has_region = FALSE;
  fail_if (gst_attention_result_get_region (r, &reg));
  fail_unless_equals_float (reg.peak, 0.0f);

  gst_attention_result_unref (r);
  gst_attention_result_pool_release (pool);
}

GST_END_TEST;

GST_START_TEST (test_channels_and_theta)
{
  GstAttentionResultPool *pool = make_pool (3);
  GstAttentionResult *r = fill (gst_attention_result_pool_acquire (pool));
  gfloat *c = gst_attention_result_channels_writable (r);
  c[0] = 0.1f;
  c[1] = 0.2f;
  c[2] = 0.3f;
  r->n_channels = 3;
  r->has_theta = TRUE;
  for (guint i = 0; i < 6; i++)
    r->theta[i] = i;
  guint n = 0;
  const gfloat *v = gst_attention_result_get_channels (r, &n);
  fail_unless_equals_int (n, 3);
  fail_unless_equals_float (v[2], 0.3f);
  v = gst_attention_result_get_theta (r, &n);
  fail_unless_equals_int (n, 6);
  fail_unless_equals_float (v[5], 5.0f);
  gst_attention_result_unref (r);
  gst_attention_result_pool_release (pool);
}

GST_END_TEST;

GST_START_TEST (test_boxed_types)
{
  GstAttentionResultPool *pool = make_pool (0);
  GstAttentionResult *r = fill (gst_attention_result_pool_acquire (pool));
  GstBuffer *buf = gst_buffer_new ();
  GstAttentionMeta *m = gst_buffer_add_attention_meta (buf, r, "infer", 7);
  gst_attention_result_unref (r);
  fail_unless (gst_attention_meta_get_result (m) == r);

  /* what a binding does with a (transfer none) result: a boxed copy, which
   * is a reference: the same result, alive after the buffer */
  fail_unless (G_TYPE_IS_BOXED (GST_TYPE_ATTENTION_RESULT));
  GstAttentionResult *kept = g_boxed_copy (GST_TYPE_ATTENTION_RESULT,
      gst_attention_meta_get_result (m));
  fail_unless (kept == r);
  gst_buffer_unref (buf);
  fail_unless_equals_string (gst_attention_result_get_model (kept),
      "meta-test");
  /* still out: the pool has not had it back, so a new one is allocated */
  GstAttentionResult *other = gst_attention_result_pool_acquire (pool);
  fail_unless (other != kept);
  fail_unless_equals_int (gst_attention_result_pool_n_allocated (pool), 2);
  gst_attention_result_unref (other);
  g_boxed_free (GST_TYPE_ATTENTION_RESULT, kept);
  /* both back: the next acquire reuses one */
  gst_attention_result_unref (gst_attention_result_pool_acquire (pool));
  fail_unless_equals_int (gst_attention_result_pool_n_allocated (pool), 2);

  /* a region is copied by value */
  GstAttentionRegion reg = { 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.2f, 0.3f, 0.6f };
  GstAttentionRegion *copy = g_boxed_copy (GST_TYPE_ATTENTION_REGION, &reg);
  fail_unless (copy != &reg);
  fail_unless (memcmp (copy, &reg, sizeof reg) == 0);
  g_boxed_free (GST_TYPE_ATTENTION_REGION, copy);
  gst_attention_result_pool_release (pool);
}

GST_END_TEST;

static Suite *
meta_suite (void)
{
  Suite *s = suite_create ("meta");
  TCase *tc = tcase_create ("accessors");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_result_accessors);
  tcase_add_test (tc, test_channels_and_theta);
  tcase_add_test (tc, test_boxed_types);
  return s;
}

GST_CHECK_MAIN (meta);
