/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* attn-live — attentioninfer behind a live source, as a camera would feed it:
 * how many frames carry their own result (not stale), and whether the video
 * falls behind the clock. Prints one line of figures; a measurement, not a
 * test.
 *
 * For every frame reaching the (synchronising) sink, its delay is how far
 * the clock is past the frame's running time when it arrives: the latency
 * the pipeline added. Latency that grows over the run shows as a last-100
 * mean above the first-100 mean.
 *
 * usage: attn-live [FRAMES [WIDTHxHEIGHT [FPS [MODEL [PROPERTIES...]]]]]
 *   e.g. attn-live 1000 1280x720 30 models/default.safetensors
 *        attn-live 1000 1280x720 30 big.safetensors latency-budget=0 */
#include <gst/gst.h>
#include <gst/video/video.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  GstElement *pipeline;
  guint n;
  gdouble *delay_ms;            /* per frame, room for the requested count */
  guint cap;
  guint with_result, stale;     /* frames with an attention ROI, stale ones */
} Run;

/* Counts fresh and stale results from the "attention" ROI's parameters
 * (not from the plugin's own statistics, so any build can be measured). */
static void
count_result (Run *r, GstBuffer *buf)
{
  GstVideoRegionOfInterestMeta *roi =
      (GstVideoRegionOfInterestMeta *) gst_buffer_get_meta (buf,
      GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE);
  GstStructure *p = roi ? gst_video_region_of_interest_meta_get_param (roi,
      "attention") : NULL;
  gboolean stale = FALSE;
  if (!p || !gst_structure_get_boolean (p, "stale", &stale))
    return;
  r->with_result++;
  r->stale += stale;
}

static GstPadProbeReturn
on_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Run *r = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  count_result (r, buf);
  GstClock *clock = gst_element_get_clock (r->pipeline);
  if (!clock || r->n >= r->cap) {
    if (clock)
      gst_object_unref (clock);
    return GST_PAD_PROBE_OK;
  }
  GstClockTime now = gst_clock_get_time (clock)
      - gst_element_get_base_time (r->pipeline);
  gst_object_unref (clock);
  GstSegment *seg = NULL;
  GstEvent *ev = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  if (ev) {
    const GstSegment *s;
    gst_event_parse_segment (ev, &s);
    seg = gst_segment_copy (s);
    gst_event_unref (ev);
  }
  if (seg) {
    GstClockTime rt = gst_segment_to_running_time (seg, GST_FORMAT_TIME,
        GST_BUFFER_PTS (buf));
    if (GST_CLOCK_TIME_IS_VALID (rt))
      r->delay_ms[r->n++] = ((gdouble) now - (gdouble) rt) / 1e6;
    gst_segment_free (seg);
  }
  return GST_PAD_PROBE_OK;
}

static gdouble
mean (const gdouble *v, guint from, guint to)
{
  gdouble s = 0;
  for (guint i = from; i < to; i++)
    s += v[i];
  return to > from ? s / (to - from) : 0;
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  guint frames = argc > 1 ? (guint) atoi (argv[1]) : 300;
  const gchar *size = argc > 2 ? argv[2] : "1280x720";
  guint fps = argc > 3 ? (guint) atoi (argv[3]) : 30;
  const gchar *model = argc > 4 ? argv[4] : NULL;
  gchar *props = argc > 5 ? g_strjoinv (" ", argv + 5) : g_strdup ("");
  guint w = 0, h = 0;
  if (frames < 1 || fps < 1 || sscanf (size, "%ux%u", &w, &h) != 2) {
    g_printerr ("usage: attn-live [FRAMES [WIDTHxHEIGHT [FPS [MODEL "
        "[PROPERTIES...]]]]]\n");
    return 2;
  }
  gchar *desc = g_strdup_printf ("videotestsrc is-live=true pattern=ball "
      "num-buffers=%u ! video/x-raw,format=I420,width=%u,height=%u,"
      "framerate=%u/1 ! attentioninfer name=infer %s%s %s ! fakesink "
      "name=sink sync=true", frames, w, h, fps, model ? "model=" : "",
      model ? model : "", props);
  GError *err = NULL;
  Run r = { 0 };
  r.pipeline = gst_parse_launch (desc, &err);
  if (err) {
    g_printerr ("error: %s\n", err->message);
    return 1;
  }
  r.cap = frames;
  r.delay_ms = g_new0 (gdouble, frames);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (r.pipeline), "sink");
  GstElement *infer = gst_bin_get_by_name (GST_BIN (r.pipeline), "infer");
  GstPad *pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, &r, NULL);
  gst_object_unref (pad);

  gst_element_set_state (r.pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus (r.pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  int status = 0;
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    gst_message_parse_error (msg, &err, NULL);
    g_printerr ("error: %s\n", err->message);
    g_error_free (err);
    status = 1;
  }
  gst_message_unref (msg);

  guint64 lat = 0;
  gchar *name = NULL;
  GstStructure *stats = NULL;
  g_object_get (infer, "inference-latency", &lat, "model-name", &name, NULL);
  g_object_get (sink, "stats", &stats, NULL);
  guint64 dropped = 0;
  gst_structure_get_uint64 (stats, "dropped", &dropped);
  GstClockTime latency = GST_CLOCK_TIME_NONE;
  GstQuery *q = gst_query_new_latency ();
  if (gst_element_query (r.pipeline, q))
    gst_query_parse_latency (q, NULL, &latency, NULL);
  gst_query_unref (q);
  guint k = MIN (100, r.n / 2);
  gdouble max = 0;
  for (guint i = 0; i < r.n; i++)
    max = MAX (max, r.delay_ms[i]);
  printf ("| %s | %ux%u@%u | %s | %.1f ms | %" G_GUINT64_FORMAT " | %.1f %% "
      "| %.1f ms | %.1f / %.1f ms | %.1f ms | %" G_GUINT64_FORMAT " |\n",
      name ? name : "?", w, h, fps, *props ? props : "defaults", lat / 1e6,
      (guint64) r.with_result, r.with_result ? 100.0 * (r.with_result
          - r.stale) / r.with_result : 0.0,
      GST_CLOCK_TIME_IS_VALID (latency) ? latency / 1e6 : -1.0,
      mean (r.delay_ms, 0, k), mean (r.delay_ms, r.n - k, r.n), max, dropped);
  gst_structure_free (stats);
  g_free (name);
  gst_object_unref (bus);
  gst_object_unref (infer);
  gst_object_unref (sink);
  gst_element_set_state (r.pipeline, GST_STATE_NULL);
  gst_object_unref (r.pipeline);
  g_free (r.delay_ms);
  g_free (desc);
  g_free (props);
  return status;
}
