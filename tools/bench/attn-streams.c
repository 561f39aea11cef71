/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* attn-streams — many cameras on one machine: N streams of 1280×720 I420,
 * each `source ! attentioninfer ! fakesink sync=false`, run either as N
 * pipelines in one process or as N processes of one pipeline each. Prints
 * one line of figures per configuration; a measurement, not a test.
 *
 * Every configuration runs in fresh child processes (this program
 * re-executed with --child), so peak RSS and CPU time belong to that
 * configuration alone: "one process" is one child with N pipelines, "N
 * processes" is N children with one pipeline each. The parent waits until
 * every stream has passed its first frame (model loaded), lets them run
 * WARMUP seconds, then tells all children to start and, DURATION seconds
 * later, to stop measuring; each child reports its frames, latencies,
 * CPU time and VmHWM over that window.
 *
 * Figures: frames per second over all streams (and per stream, with the
 * slowest stream), the time each buffer spends inside attentioninfer (pad
 * probes on its sink and src pads, matched by PTS; median and p95 over all
 * streams' buffers), peak RSS (VmHWM, summed over processes) and its growth
 * per added stream against N = 1 in the same mode, and CPU use (getrusage
 * user + system over the window's wall time, in cores), beside the cores
 * the rest of the machine kept busy in the same window (/proc/stat's busy
 * time less ours): a row with a large "others" figure shared its CPU.
 *
 * The source is cheap on purpose: appsrc pushing FRAMES pre-drawn frames (a
 * ball moving over a gradient) in a loop, each push a new buffer sharing
 * the frame's memory; --source testsrc uses videotestsrc pattern=ball
 * is-live=false instead (it draws every frame). Non-live, so attentioninfer
 * runs synchronously (mode=auto) and every frame waits for its own result.
 *
 * usage: attn-streams [--streams 1,4,8,16] [--mode both|one|multi]
 *          [--model PATH] [--props "PROP=V ..."]... [--duration S]
 *          [--warmup S] [--source appsrc|testsrc]
 *   e.g. attn-streams --props "" --props "threads=1"
 *        attn-streams --model /tmp/full/resnet50-cbam.safetensors
 *            --streams 1,4,8 --duration 4
 * Each --props gives one set of element properties (default: none). */
#include <gst/gst.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define WIDTH 1280
#define HEIGHT 720
#define FPS 30
#define N_FRAMES 4              /* pre-drawn frames per process */
#define RING 32                 /* buffers in flight inside the element */

/* ------------------------------------------------------------------ child */

typedef struct {
  GstElement *pipeline;
  GstElement *src;
  guint64 pushed;
  GMutex lock;
  struct { GstClockTime pts; gint64 t; } ring[RING];
  guint ring_pos;
  guint64 frames_total;         /* buffers out of the element, ever */
  guint64 frames;               /* in the measured window */
  gboolean measuring;
  GArray *lat_us;               /* latency samples in the window, gint64 µs */
} Stream;

static GstBuffer *frames[N_FRAMES];

/* A ball moving over a gradient: enough change per frame that no frame is
 * a copy of the last, drawn once per process. */
static void
draw_frames (void)
{
  gsize ysize = (gsize) WIDTH * HEIGHT, csize = ysize / 4;
  for (guint k = 0; k < N_FRAMES; k++) {
    guint8 *p = g_malloc (ysize + 2 * csize);
    int cx = 200 + k * 240, cy = 200 + k * 100, r = 90;
    for (int y = 0; y < HEIGHT; y++)
      for (int x = 0; x < WIDTH; x++) {
        int dx = x - cx, dy = y - cy;
        p[(gsize) y * WIDTH + x] = dx * dx + dy * dy < r * r ? 235
            : (guint8) (16 + (x + y) * 180 / (WIDTH + HEIGHT));
      }
    for (int y = 0; y < HEIGHT / 2; y++)
      for (int x = 0; x < WIDTH / 2; x++) {
        int dx = 2 * x - cx, dy = 2 * y - cy;
        gboolean in = dx * dx + dy * dy < r * r;
        p[ysize + (gsize) y * (WIDTH / 2) + x] = in ? 60 : 128 + x / 16;
        p[ysize + csize + (gsize) y * (WIDTH / 2) + x] = in ? 200 : 128 - y / 8;
      }
    frames[k] = gst_buffer_new_wrapped (p, ysize + 2 * csize);
  }
}

static void
need_data (GstElement *src, guint length, gpointer data)
{
  Stream *s = data;
  (void) length;
  GstBuffer *buf = gst_buffer_copy (frames[s->pushed % N_FRAMES]);
  GST_BUFFER_PTS (buf) = gst_util_uint64_scale (s->pushed, GST_SECOND, FPS);
  GST_BUFFER_DURATION (buf) = GST_SECOND / FPS;
  s->pushed++;
  GstFlowReturn ret;
  g_signal_emit_by_name (src, "push-buffer", buf, &ret);
  gst_buffer_unref (buf);
}

static GstPadProbeReturn
on_in (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Stream *s = data;
  (void) pad;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  g_mutex_lock (&s->lock);
  s->ring[s->ring_pos % RING].pts = GST_BUFFER_PTS (buf);
  s->ring[s->ring_pos % RING].t = g_get_monotonic_time ();
  s->ring_pos++;
  g_mutex_unlock (&s->lock);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
on_out (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Stream *s = data;
  (void) pad;
  gint64 now = g_get_monotonic_time ();
  GstClockTime pts = GST_BUFFER_PTS (GST_PAD_PROBE_INFO_BUFFER (info));
  g_mutex_lock (&s->lock);
  s->frames_total++;
  if (s->measuring) {
    s->frames++;
    for (guint i = 1; i <= MIN (RING, s->ring_pos); i++) {
      guint j = (s->ring_pos - i) % RING;
      if (s->ring[j].pts == pts) {
        gint64 d = now - s->ring[j].t;
        g_array_append_val (s->lat_us, d);
        break;
      }
    }
  }
  g_mutex_unlock (&s->lock);
  return GST_PAD_PROBE_OK;
}

static guint64
status_kb (const gchar *field)
{
  gchar *text = NULL;
  guint64 kb = 0;
  if (!g_file_get_contents ("/proc/self/status", &text, NULL, NULL))
    return 0;
  const gchar *p = strstr (text, field);
  if (p)
    kb = g_ascii_strtoull (p + strlen (field) + 1, NULL, 10);
  g_free (text);
  return kb;
}

static gdouble
cpu_seconds (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec
      + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static gboolean
bus_error (Stream *s, guint i)
{
  GstBus *bus = gst_element_get_bus (s->pipeline);
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR
      | GST_MESSAGE_EOS);
  gst_object_unref (bus);
  if (!msg)
    return FALSE;
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = NULL;
    gst_message_parse_error (msg, &err, NULL);
    g_printerr ("attn-streams: stream %u: %s\n", i, err->message);
    g_error_free (err);
  } else {
    g_printerr ("attn-streams: stream %u ended early\n", i);
  }
  gst_message_unref (msg);
  return TRUE;
}

/* Runs n pipelines; talks to the parent on stdin/stdout: "ready", then
 * "start" and "stop" in, the figures out. */
static int
child_main (guint n, const gchar *model, const gchar *props,
    gboolean testsrc)
{
  if (!testsrc)
    draw_frames ();
  Stream *st = g_new0 (Stream, n);
  gchar *name = NULL;
  for (guint i = 0; i < n; i++) {
    Stream *s = &st[i];
    g_mutex_init (&s->lock);
    s->lat_us = g_array_new (FALSE, FALSE, sizeof (gint64));
    gchar *caps = g_strdup_printf ("video/x-raw,format=I420,width=%u,"
        "height=%u,framerate=%u/1", WIDTH, HEIGHT, FPS);
    gchar *src = testsrc
        ? g_strdup_printf ("videotestsrc is-live=false pattern=ball ! %s",
        caps)
        : g_strdup ("appsrc name=src is-live=false format=time");
    gchar *m = model ? g_strdup_printf ("model=\"%s\"", model) : g_strdup ("");
    gchar *desc = g_strdup_printf ("%s ! attentioninfer name=infer %s %s ! "
        "fakesink sync=false", src, m, props);
    GError *err = NULL;
    s->pipeline = gst_parse_launch (desc, &err);
    if (err) {
      g_printerr ("attn-streams: %s: %s\n", desc, err->message);
      return 1;
    }
    g_free (desc);
    g_free (m);
    g_free (src);
    if (!testsrc) {
      s->src = gst_bin_get_by_name (GST_BIN (s->pipeline), "src");
      GstCaps *c = gst_caps_from_string (caps);
      g_object_set (s->src, "caps", c, NULL);
      gst_caps_unref (c);
      g_signal_connect (s->src, "need-data", G_CALLBACK (need_data), s);
    }
    g_free (caps);
    GstElement *infer = gst_bin_get_by_name (GST_BIN (s->pipeline), "infer");
    GstPad *pad = gst_element_get_static_pad (infer, "sink");
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_in, s, NULL);
    gst_object_unref (pad);
    pad = gst_element_get_static_pad (infer, "src");
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_out, s, NULL);
    gst_object_unref (pad);
    if (i == 0)
      g_object_get (infer, "model-name", &name, NULL);
    gst_object_unref (infer);
  }
  for (guint i = 0; i < n; i++)
    gst_element_set_state (st[i].pipeline, GST_STATE_PLAYING);

  /* Ready when every stream has passed a frame. */
  gint64 deadline = g_get_monotonic_time () + 300 * G_USEC_PER_SEC;
  for (guint i = 0; i < n; i++) {
    for (;;) {
      g_mutex_lock (&st[i].lock);
      guint64 f = st[i].frames_total;
      g_mutex_unlock (&st[i].lock);
      if (f > 0)
        break;
      if (bus_error (&st[i], i) || g_get_monotonic_time () > deadline)
        return 1;
      g_usleep (10000);
    }
  }
  if (!name) {
    GstElement *infer = gst_bin_get_by_name (GST_BIN (st[0].pipeline),
        "infer");
    g_object_get (infer, "model-name", &name, NULL);
    gst_object_unref (infer);
  }
  printf ("ready %s\n", name ? name : "?");
  fflush (stdout);

  gchar line[64];
  gint64 t0 = 0;
  gdouble c0 = 0;
  while (fgets (line, sizeof line, stdin)) {
    if (g_str_has_prefix (line, "start")) {
      for (guint i = 0; i < n; i++) {
        g_mutex_lock (&st[i].lock);
        st[i].measuring = TRUE;
        st[i].frames = 0;
        g_array_set_size (st[i].lat_us, 0);
        g_mutex_unlock (&st[i].lock);
      }
      t0 = g_get_monotonic_time ();
      c0 = cpu_seconds ();
    } else if (g_str_has_prefix (line, "stop")) {
      for (guint i = 0; i < n; i++) {
        g_mutex_lock (&st[i].lock);
        st[i].measuring = FALSE;
        g_mutex_unlock (&st[i].lock);
      }
      gdouble wall = (g_get_monotonic_time () - t0) / 1e6;
      gdouble cpu = cpu_seconds () - c0;
      for (guint i = 0; i < n; i++)
        bus_error (&st[i], i);
      printf ("usage %.6f %.6f %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
          "\nframes", wall, cpu, status_kb ("VmHWM:"), status_kb ("VmRSS:"));
      for (guint i = 0; i < n; i++)
        printf (" %" G_GUINT64_FORMAT, st[i].frames);
      printf ("\nlat");
      for (guint i = 0; i < n; i++)
        for (guint j = 0; j < st[i].lat_us->len; j++)
          printf (" %" G_GINT64_FORMAT, g_array_index (st[i].lat_us, gint64,
                  j));
      printf ("\nend\n");
      fflush (stdout);
      break;
    }
  }
  for (guint i = 0; i < n; i++) {
    gst_element_set_state (st[i].pipeline, GST_STATE_NULL);
    if (st[i].src)
      gst_object_unref (st[i].src);
    gst_object_unref (st[i].pipeline);
    g_array_free (st[i].lat_us, TRUE);
    g_mutex_clear (&st[i].lock);
  }
  g_free (st);
  g_free (name);
  for (guint k = 0; k < N_FRAMES && frames[k]; k++)
    gst_buffer_unref (frames[k]);
  return 0;
}

/* ----------------------------------------------------------------- parent */

typedef struct {
  GPid pid;
  FILE *in, *out;
} Child;

typedef struct {
  gboolean ok;
  gdouble fps, fps_min, lat_med, lat_p95, rss_mb, cores, others;
} Result;

/* Busy and total jiffies of the whole machine, from /proc/stat. */
static void
machine_jiffies (guint64 *busy, guint64 *total)
{
  gchar *text = NULL;
  guint64 v[8] = { 0 };
  *busy = *total = 0;
  if (!g_file_get_contents ("/proc/stat", &text, NULL, NULL))
    return;
  if (sscanf (text, "cpu %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %"
          G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %"
          G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT,
          &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
    for (guint i = 0; i < 8; i++)
      *total += v[i];
    *busy = *total - v[3] - v[4];
  }
  g_free (text);
}

static gchar *model_name;

static int
cmp_d (const void *a, const void *b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;
  return x < y ? -1 : x > y;
}

static gboolean
read_line (FILE *f, GString *s)
{
  gchar buf[65536];
  g_string_truncate (s, 0);
  while (fgets (buf, sizeof buf, f)) {
    g_string_append (s, buf);
    if (s->len && s->str[s->len - 1] == '\n') {
      g_string_truncate (s, s->len - 1);
      return TRUE;
    }
  }
  return s->len > 0;
}

/* One configuration: `procs` children of `per` streams each. */
static Result
run_config (const gchar *self, guint procs, guint per, const gchar *model,
    const gchar *props, const gchar *source, gdouble warmup,
    gdouble duration)
{
  Result r = { 0 };
  Child *ch = g_new0 (Child, procs);
  gchar per_s[16];
  g_snprintf (per_s, sizeof per_s, "%u", per);
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) self);
  g_ptr_array_add (argv, "--child");
  g_ptr_array_add (argv, per_s);
  g_ptr_array_add (argv, "--props");
  g_ptr_array_add (argv, (gpointer) props);
  g_ptr_array_add (argv, "--source");
  g_ptr_array_add (argv, (gpointer) source);
  if (model) {
    g_ptr_array_add (argv, "--model");
    g_ptr_array_add (argv, (gpointer) model);
  }
  g_ptr_array_add (argv, NULL);
  guint started = 0;
  GString *line = g_string_new (NULL);
  gboolean ok = TRUE;
  for (guint i = 0; i < procs && ok; i++) {
    gint in_fd, out_fd;
    GError *err = NULL;
    if (!g_spawn_async_with_pipes (NULL, (gchar **) argv->pdata, NULL,
            G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &ch[i].pid, &in_fd,
            &out_fd, NULL, &err)) {
      g_printerr ("attn-streams: %s\n", err->message);
      g_error_free (err);
      ok = FALSE;
      break;
    }
    ch[i].in = fdopen (in_fd, "w");
    ch[i].out = fdopen (out_fd, "r");
    started++;
  }
  for (guint i = 0; i < started && ok; i++) {
    if (!read_line (ch[i].out, line) || !g_str_has_prefix (line->str,
            "ready")) {
      ok = FALSE;
      break;
    }
    if (!model_name)
      model_name = g_strdup (line->str + 6);
  }
  GArray *lat = g_array_new (FALSE, FALSE, sizeof (gdouble));
  gdouble machine_busy = 0;
  gdouble fps = 0, fps_min = G_MAXDOUBLE, cores = 0, rss_kb = 0;
  if (ok) {
    g_usleep ((gulong) (warmup * G_USEC_PER_SEC));
    guint64 b0, j0, b1, j1;
    for (guint i = 0; i < started; i++) {
      fputs ("start\n", ch[i].in);
      fflush (ch[i].in);
    }
    machine_jiffies (&b0, &j0);
    gint64 t0 = g_get_monotonic_time ();
    g_usleep ((gulong) (duration * G_USEC_PER_SEC));
    for (guint i = 0; i < started; i++) {
      fputs ("stop\n", ch[i].in);
      fflush (ch[i].in);
    }
    machine_jiffies (&b1, &j1);
    machine_busy = (gdouble) (b1 - b0) / sysconf (_SC_CLK_TCK)
        / ((g_get_monotonic_time () - t0) / 1e6);
    for (guint i = 0; i < started && ok; i++) {
      gdouble wall = 0, cpu = 0;
      guint64 hwm = 0, rss = 0;
      while (read_line (ch[i].out, line) && strcmp (line->str, "end") != 0) {
        gchar **tok = g_strsplit (line->str, " ", -1);
        if (!strcmp (tok[0], "usage") && g_strv_length (tok) == 5) {
          wall = g_ascii_strtod (tok[1], NULL);
          cpu = g_ascii_strtod (tok[2], NULL);
          hwm = g_ascii_strtoull (tok[3], NULL, 10);
          rss = g_ascii_strtoull (tok[4], NULL, 10);
        } else if (!strcmp (tok[0], "frames")) {
          for (guint j = 1; tok[j]; j++) {
            gdouble f = g_ascii_strtod (tok[j], NULL) / wall;
            fps += f;
            fps_min = MIN (fps_min, f);
          }
        } else if (!strcmp (tok[0], "lat")) {
          for (guint j = 1; tok[j]; j++) {
            gdouble ms = g_ascii_strtod (tok[j], NULL) / 1e3;
            g_array_append_val (lat, ms);
          }
        }
        g_strfreev (tok);
      }
      (void) rss;
      if (wall <= 0)
        ok = FALSE;
      cores += cpu / MAX (wall, 1e-9);
      rss_kb += hwm;
    }
  }
  for (guint i = 0; i < started; i++) {
    fclose (ch[i].in);
    int status;
    waitpid (ch[i].pid, &status, 0);
    fclose (ch[i].out);
    g_spawn_close_pid (ch[i].pid);
  }
  if (ok && lat->len) {
    g_array_sort (lat, cmp_d);
    gdouble *v = (gdouble *) lat->data;
    r.lat_med = v[lat->len / 2];
    r.lat_p95 = v[MIN (lat->len - 1, (guint) ceil (0.95 * lat->len) - 1)];
  }
  r.ok = ok && lat->len > 0;
  r.fps = fps;
  r.fps_min = fps_min;
  r.cores = cores;
  r.others = MAX (0.0, machine_busy - cores);
  r.rss_mb = rss_kb / 1024.0;
  g_array_free (lat, TRUE);
  g_string_free (line, TRUE);
  g_ptr_array_free (argv, TRUE);
  g_free (ch);
  return r;
}

static gchar *
cpu_model (void)
{
  gchar *text = NULL, *name = NULL;
  if (g_file_get_contents ("/proc/cpuinfo", &text, NULL, NULL)) {
    gchar **lines = g_strsplit (text, "\n", -1);
    for (guint i = 0; lines[i] && !name; i++)
      if (g_str_has_prefix (lines[i], "model name")) {
        const gchar *c = strchr (lines[i], ':');
        name = g_strstrip (g_strdup (c ? c + 1 : lines[i]));
      }
    g_strfreev (lines);
    g_free (text);
  }
  return name ? name : g_strdup ("unknown CPU");
}

static gchar *
loadavg (void)
{
  gchar *text = NULL;
  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return g_strdup ("?");
  gchar **f = g_strsplit (text, " ", 4);
  gchar *s = g_strdup_printf ("%s %s %s", f[0], f[1] ? f[1] : "",
      f[1] && f[2] ? f[2] : "");
  g_strfreev (f);
  g_free (text);
  return s;
}

static void
usage (void)
{
  g_printerr ("usage: attn-streams [--streams 1,4,8,16] [--mode both|one|"
      "multi] [--model PATH] [--props \"PROP=V ...\"]... [--duration S] "
      "[--warmup S] [--source appsrc|testsrc]\n");
}

int
main (int argc, char **argv)
{
  const gchar *streams = "1,4,8,16", *mode = "both", *model = NULL;
  const gchar *source = "appsrc";
  GPtrArray *props = g_ptr_array_new ();
  gdouble duration = 5, warmup = 1;
  guint child = 0;
  for (int i = 1; i < argc; i++) {
    const gchar *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) {
      usage ();
      return 2;
    }
    if (!strcmp (a, "--streams"))
      streams = v;
    else if (!strcmp (a, "--mode"))
      mode = v;
    else if (!strcmp (a, "--model"))
      model = v;
    else if (!strcmp (a, "--props"))
      g_ptr_array_add (props, (gpointer) v);
    else if (!strcmp (a, "--duration"))
      duration = g_ascii_strtod (v, NULL);
    else if (!strcmp (a, "--warmup"))
      warmup = g_ascii_strtod (v, NULL);
    else if (!strcmp (a, "--source"))
      source = v;
    else if (!strcmp (a, "--child"))
      child = (guint) atoi (v);
    else {
      usage ();
      return 2;
    }
    i++;
  }
  if (strcmp (source, "appsrc") && strcmp (source, "testsrc")) {
    usage ();
    return 2;
  }
  if (!props->len)
    g_ptr_array_add (props, "");

  if (child) {
    /* The plugin from this build tree unless GST_PLUGIN_PATH says
     * otherwise. */
    g_setenv ("GST_PLUGIN_PATH", ATTN_PLUGIN_BUILD_DIR, FALSE);
    gst_init (NULL, NULL);
    return child_main (child, model, g_ptr_array_index (props, 0),
        !strcmp (source, "testsrc"));
  }

  gboolean one = !strcmp (mode, "both") || !strcmp (mode, "one");
  gboolean multi = !strcmp (mode, "both") || !strcmp (mode, "multi");
  gchar **ns = g_strsplit (streams, ",", -1);
  if ((!one && !multi) || !ns[0] || duration <= 0 || warmup < 0) {
    usage ();
    return 2;
  }
  gchar *self = g_file_read_link ("/proc/self/exe", NULL);
  if (!self)
    self = g_strdup (argv[0]);
  gchar *load_before = loadavg ();
  GDateTime *now = g_date_time_new_now_utc ();
  gchar *date = g_date_time_format (now, "%Y-%m-%d %H:%M UTC");
  g_date_time_unref (now);

  printf ("| mode | N | props | fps total | fps/stream (slowest) "
      "| in attentioninfer median / p95 | peak RSS | RSS/stream "
      "| +RSS per stream vs N=1 | CPU cores | others' CPU |\n");
  printf ("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  fflush (stdout);
  int status = 0;
  for (guint p = 0; p < props->len; p++) {
    const gchar *pr = g_ptr_array_index (props, p);
    for (guint m = 0; m < 2; m++) {
      if ((m == 0 && !one) || (m == 1 && !multi))
        continue;
      gdouble rss1 = -1;
      for (guint k = 0; ns[k]; k++) {
        guint n = (guint) atoi (ns[k]);
        if (n < 1)
          continue;
        Result r = run_config (self, m == 0 ? 1 : n, m == 0 ? n : 1, model,
            pr, source, warmup, duration);
        const gchar *mname = m == 0 ? "1 process" : "N processes";
        if (!r.ok) {
          printf ("| %s | %u | %s | failed | | | | | | | |\n", mname, n,
              *pr ? pr : "defaults");
          fflush (stdout);
          status = 1;
          continue;
        }
        if (n == 1)
          rss1 = r.rss_mb;
        gchar *growth = n > 1 && rss1 >= 0
            ? g_strdup_printf ("%.1f MB", (r.rss_mb - rss1) / (n - 1))
            : g_strdup ("–");
        printf ("| %s | %u | %s | %.1f | %.2f (%.2f) | %.1f / %.1f ms "
            "| %.0f MB | %.1f MB | %s | %.2f | %.2f |\n", mname, n,
            *pr ? pr : "defaults", r.fps, r.fps / n, r.fps_min, r.lat_med,
            r.lat_p95, r.rss_mb, r.rss_mb / n, growth, r.cores, r.others);
        fflush (stdout);
        g_free (growth);
      }
    }
  }
  gchar *load_after = loadavg ();
  gchar *cpu = cpu_model ();
  printf ("\n%s: %ux%u I420 %s, attentioninfer model %s (%s) ! fakesink "
      "sync=false per stream; %.1f s measured after %.1f s warm-up; on %s, "
      "%ld online cores; load average %s before, %s after\n", date, WIDTH,
      HEIGHT, !strcmp (source, "testsrc")
      ? "videotestsrc pattern=ball is-live=false"
      : "appsrc (" G_STRINGIFY (N_FRAMES) " pre-drawn frames in a loop)",
      model_name ? model_name : "?", model ? model : "default", duration,
      warmup, cpu, sysconf (_SC_NPROCESSORS_ONLN), load_before, load_after);
  g_free (cpu);
  g_free (load_before);
  g_free (load_after);
  g_free (date);
  g_free (self);
  g_strfreev (ns);
  g_ptr_array_free (props, TRUE);
  return status;
}
