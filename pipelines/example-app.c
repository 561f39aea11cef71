/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* example-app.c — an application reading the attention meta.
 *
 * Runs `videotestsrc pattern=ball ! attentioninfer ! fakesink` and, from a pad
 * probe, prints for each frame the top class and where attention
 * concentrates (the attended region's centroid).
 * Build against the installed library:
 *   cc example-app.c $(pkg-config --cflags --libs gstreamer-attention-1.0)
 * usage: example-app [FRAMES] [MODEL.safetensors] */
#include <gst/attention/attention-meta.h>
#include <gst/gst.h>
#include <stdlib.h>

static GstPadProbeReturn
on_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstAttentionMeta *meta = gst_buffer_get_attention_meta (buf);
  if (!meta) {
    g_print ("frame without attention\n");
    return GST_PAD_PROBE_OK;
  }
  const GstAttentionResult *r = meta->result;
  const GstAttentionClassification *top = r->n_classes ? &r->classes[0] : NULL;
  g_print ("frame %" G_GUINT64_FORMAT "%s: %s %.2f, attention at (%.3f, %.3f) "
      "peak %.2f, %.1f ms\n", meta->frame, meta->stale ? " (stale)" : "",
      top ? top->label : "-", top ? top->score : 0.0,
      r->region.centroid_x, r->region.centroid_y, r->region.peak,
      r->inference_ns / 1e6);
  return GST_PAD_PROBE_OK;
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  int frames = argc > 1 ? atoi (argv[1]) : 10;
  gchar *desc = g_strdup_printf ("videotestsrc pattern=ball num-buffers=%d ! "
      "video/x-raw,width=320,height=240 ! attentioninfer name=infer %s%s ! "
      "fakesink name=sink", frames, argc > 2 ? "model=" : "",
      argc > 2 ? argv[2] : "");
  /* without the plugin, gst_parse_launch would build a partial pipeline
   * that fails later with a vague "not-linked": say what is missing */
  GstElementFactory *factory = gst_element_factory_find ("attentioninfer");
  if (!factory) {
    g_printerr ("error: the attentioninfer element is not installed (set "
        "GST_PLUGIN_PATH to the build's gst-plugin folder, or install the "
        "plugin)\n");
    g_free (desc);
    return 1;
  }
  gst_object_unref (factory);
  /* a description that only partly parses returns a pipeline and an error:
   * the error wins */
  GError *err = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &err);
  g_free (desc);
  if (err) {
    g_printerr ("error: %s\n", err->message);
    g_error_free (err);
    if (pipeline)
      gst_object_unref (pipeline);
    return 1;
  }
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstPad *pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, NULL, NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  int status = 0;
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *e;
    gchar *dbg;
    gst_message_parse_error (msg, &e, &dbg);
    g_printerr ("error: %s\n%s\n", e->message, dbg ? dbg : "");
    g_error_free (e);
    g_free (dbg);
    status = 1;
  }
  gst_message_unref (msg);
  gst_object_unref (bus);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  gst_deinit ();
  return status;
}
