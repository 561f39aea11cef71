/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_attentionjson_mqtt.c — attentionjson method=mqtt against a real
 * mosquitto broker started on a free 127.0.0.1 port: N frames arrive as N
 * messages equal to the file's lines (QoS 0 and 1); a broker killed and
 * restarted mid-stream never holds up the video, the overflow is counted in
 * `dropped` and warned about, and frames after the reconnect arrive; a port
 * where nothing listens, or a listener that never answers, gives a warning,
 * not a hung state change, and the video runs to EOS; a
 * malformed address fails the state change with a message naming it.
 * Login and TLS: a broker that wants a password gets N messages from the
 * right one and refuses a wrong one with a message naming the reason (a
 * warning, or with max-connect-attempts an error); a TLS broker with a CA
 * and server certificate made here by the openssl CLI gets N messages from
 * an element given the CA, and an element without it fails on "certificate
 * verify failed"; bad TLS and login settings fail the state change with a
 * sentence naming the setting; max-connect-attempts with no broker gives
 * an error after that many attempts.
 * Skipped (exit 77) without the mosquitto broker; the TLS tests are left
 * out without openssl. Every wait is bounded. */
#include <gst/attention/attention-producer.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <mosquitto.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define TOPIC "attn/test"

/* bounds are stretched under valgrind, which runs this ~20 times slower */
static gint64
bound_us (gdouble seconds)
{
  gdouble scale = g_getenv ("ATTN_UNDER_VALGRIND") ? 10 : 1;
  return (gint64) (seconds * scale * G_USEC_PER_SEC);
}

static gchar *
broker_program (void)
{
  gchar *p = g_find_program_in_path ("mosquitto");
  if (!p && g_file_test ("/usr/sbin/mosquitto", G_FILE_TEST_IS_EXECUTABLE))
    p = g_strdup ("/usr/sbin/mosquitto");
  return p;
}

/* a 127.0.0.1 port nothing listens on (the kernel's pick, then closed) */
static guint
free_port (void)
{
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { 0 };
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  fail_unless (bind (fd, (struct sockaddr *) &a, sizeof a) == 0);
  fail_unless (getsockname (fd, (struct sockaddr *) &a, &len) == 0);
  close (fd);
  return ntohs (a.sin_port);
}

static gboolean
port_answers (guint port)
{
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { 0 };
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  a.sin_port = htons (port);
  gboolean ok = connect (fd, (struct sockaddr *) &a, sizeof a) == 0;
  close (fd);
  return ok;
}

/* until the broker listens on port (bounded): it opens its listeners one
 * after another, so each one a test uses is waited for */
static void
wait_listening (guint port)
{
  gint64 end = g_get_monotonic_time () + bound_us (10);
  while (!port_answers (port) && g_get_monotonic_time () < end)
    g_usleep (20000);
  fail_unless (port_answers (port), "mosquitto does not listen on %u", port);
}

/* ---- the broker ---------------------------------------------------------- */

typedef struct {
  gchar *dir, *conf;
  guint port;
  const gchar *extra;           /* more configuration lines, or NULL */
  guint port2;                  /* a second listener in extra, or 0 */
  GSubprocess *proc;
} Broker;

/* the broker processes running (GSubprocess, a reference each), killed by
 * the fixture's teardown when a failed check leaves a test early */
static GSList *brokers;

static void
kill_process (GSubprocess *proc)
{
  g_subprocess_send_signal (proc, SIGKILL);
  g_subprocess_wait (proc, NULL, NULL);
  g_object_unref (proc);
}

/* in the child: the broker dies with the test process, whatever ends it */
static void
die_with_parent (gpointer unused)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
broker_start (Broker *b)
{
  if (!b->dir) {
    b->dir = g_dir_make_tmp ("attn-mqtt-XXXXXX", NULL);
    b->conf = g_build_filename (b->dir, "mosquitto.conf", NULL);
    /* started as root, mosquitto would become the user "mosquitto" and
     * could not read the test's files: stay who we are */
    gchar *text = g_strdup_printf ("user %s\nlistener %u 127.0.0.1\n%s",
        g_get_user_name (), b->port, b->extra ? b->extra :
        "allow_anonymous true\n");
    fail_unless (g_file_set_contents (b->conf, text, -1, NULL));
    g_free (text);
  }
  gchar *prog = broker_program ();
  GError *err = NULL;
  GSubprocessLauncher *l = g_subprocess_launcher_new
      (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (l, die_with_parent, NULL, NULL);
  b->proc = g_subprocess_launcher_spawn (l, &err, prog, "-c", b->conf, NULL);
  g_object_unref (l);
  g_free (prog);
  fail_unless (b->proc != NULL, "could not start mosquitto: %s",
      err ? err->message : "");
  brokers = g_slist_prepend (brokers, g_object_ref (b->proc));
  wait_listening (b->port);
  if (b->port2)
    wait_listening (b->port2);
}

static void
broker_kill (Broker *b)
{
  if (!b->proc)
    return;
  brokers = g_slist_remove (brokers, b->proc);
  kill_process (b->proc);       /* the list's reference */
  g_clear_object (&b->proc);
}

static void
broker_free (Broker *b)
{
  broker_kill (b);
  if (b->conf)
    g_unlink (b->conf);
  if (b->dir)
    g_rmdir (b->dir);
  g_free (b->conf);
  g_free (b->dir);
}

/* ---- a subscriber (libmosquitto, its own network thread) ----------------- */

typedef struct {
  struct mosquitto *mosq;
  GMutex lock;
  GPtrArray *payloads;          /* gchar*, in arrival order */
  gboolean subscribed;
} Subscriber;

static void
sub_on_connect (struct mosquitto *mosq, void *obj, int rc)
{
  if (rc == 0)                  /* clean session: subscribe on every connect */
    mosquitto_subscribe (mosq, NULL, TOPIC, 1);
}

static void
sub_on_subscribe (struct mosquitto *mosq, void *obj, int mid, int n,
    const int *granted)
{
  Subscriber *s = obj;
  g_mutex_lock (&s->lock);
  s->subscribed = TRUE;
  g_mutex_unlock (&s->lock);
}

static void
sub_on_disconnect (struct mosquitto *mosq, void *obj, int rc)
{
  Subscriber *s = obj;
  g_mutex_lock (&s->lock);
  s->subscribed = FALSE;
  g_mutex_unlock (&s->lock);
}

static void
sub_on_message (struct mosquitto *mosq, void *obj,
    const struct mosquitto_message *m)
{
  Subscriber *s = obj;
  g_mutex_lock (&s->lock);
  g_ptr_array_add (s->payloads, g_strndup (m->payload, m->payloadlen));
  g_mutex_unlock (&s->lock);
}

static gboolean
sub_subscribed (Subscriber *s)
{
  g_mutex_lock (&s->lock);
  gboolean r = s->subscribed;
  g_mutex_unlock (&s->lock);
  return r;
}

static guint
sub_count (Subscriber *s)
{
  g_mutex_lock (&s->lock);
  guint n = s->payloads->len;
  g_mutex_unlock (&s->lock);
  return n;
}

static void
sub_wait_subscribed (Subscriber *s)
{
  gint64 end = g_get_monotonic_time () + bound_us (15);
  while (!sub_subscribed (s) && g_get_monotonic_time () < end)
    g_usleep (20000);
  fail_unless (sub_subscribed (s), "the test's subscriber never subscribed");
}

/* a subscriber logging in as user/password (or anonymous: NULL) over TLS
 * checked against cafile (or plain TCP: NULL) */
static Subscriber *
sub_new_full (guint port, const gchar *user, const gchar *password,
    const gchar *cafile)
{
  Subscriber *s = g_new0 (Subscriber, 1);
  g_mutex_init (&s->lock);
  s->payloads = g_ptr_array_new_with_free_func (g_free);
  s->mosq = mosquitto_new (NULL, true, s);
  fail_unless (s->mosq != NULL);
  mosquitto_connect_callback_set (s->mosq, sub_on_connect);
  mosquitto_subscribe_callback_set (s->mosq, sub_on_subscribe);
  mosquitto_disconnect_callback_set (s->mosq, sub_on_disconnect);
  mosquitto_message_callback_set (s->mosq, sub_on_message);
  mosquitto_reconnect_delay_set (s->mosq, 1, 1, false);
  if (user)
    fail_unless_equals_int (mosquitto_username_pw_set (s->mosq, user,
            password), MOSQ_ERR_SUCCESS);
  if (cafile)
    fail_unless_equals_int (mosquitto_tls_set (s->mosq, cafile, NULL, NULL,
            NULL, NULL), MOSQ_ERR_SUCCESS);
  fail_unless_equals_int (mosquitto_connect_async (s->mosq, "127.0.0.1",
          (int) port, 20), MOSQ_ERR_SUCCESS);
  fail_unless_equals_int (mosquitto_loop_start (s->mosq), MOSQ_ERR_SUCCESS);
  sub_wait_subscribed (s);
  return s;
}

static Subscriber *
sub_new (guint port)
{
  return sub_new_full (port, NULL, NULL, NULL);
}

static void
sub_free (Subscriber *s)
{
  mosquitto_disconnect (s->mosq);
  mosquitto_loop_stop (s->mosq, false);
  mosquitto_destroy (s->mosq);
  g_ptr_array_unref (s->payloads);
  g_mutex_clear (&s->lock);
  g_free (s);
}

/* ---- frames -------------------------------------------------------------- */

static GstAttentionResultPool *pool;

static GstBuffer *
frame (guint i)
{
  const gchar *names[] = { "layer1.0" };
  guint w[] = { 2 }, h[] = { 2 };
  GstAttentionResultLayout l = { "mqtt-test", 2, 1, names, w, h, 0, 0, 0, 0, 0 };
  if (!pool)
    pool = gst_attention_result_pool_new (&l);
  GstAttentionResult *r = gst_attention_result_pool_acquire (pool);
  GstAttentionClassification *cls = gst_attention_result_classes_writable (r);
  r->n_classes = 1;
  cls[0] = (GstAttentionClassification) { 1, 0.5f, "disc" };
  r->frame = i;
  r->inference_ns = 1000 + i;
  GstBuffer *b = gst_buffer_new_allocate (NULL, 16 * 8 * 3, NULL);
  GST_BUFFER_PTS (b) = i * 40 * GST_MSECOND;
  gst_buffer_add_attention_meta (b, r, "test", i);
  gst_attention_result_unref (r);
  return b;
}

static void
teardown (void)
{
  /* left by a failed check: stop them (their files stay in /tmp) */
  g_slist_free_full (brokers, (GDestroyNotify) kill_process);
  brokers = NULL;
  if (pool)
    gst_attention_result_pool_release (pool);
  pool = NULL;
}

static GstHarness *
harness (const gchar *props, GstElement **json, GstBus **bus)
{
  gchar *desc = g_strdup_printf ("attentionjson name=json %s", props);
  GstHarness *h = gst_harness_new_parse (desc);
  g_free (desc);
  *json = gst_bin_get_by_name (GST_BIN (h->element), "json");
  *bus = gst_bus_new ();
  gst_element_set_bus (h->element, *bus);
  gst_harness_set_src_caps_str (h, "video/x-raw,format=RGB,width=16,"
      "height=8,framerate=25/1");
  return h;
}

static void
harness_free (GstHarness *h, GstElement *json, GstBus *bus)
{
  gst_object_unref (json);
  gst_harness_teardown (h);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
}

static guint64
prop_u64 (GstElement *e, const gchar *name)
{
  guint64 v = 0;
  g_object_get (e, name, &v, NULL);
  return v;
}

/* the first warning on the bus whose message holds `needle`, or NULL */
static gboolean
has_warning (GstBus *bus, const gchar *needle, gint64 wait_us)
{
  gint64 end = g_get_monotonic_time () + wait_us;
  gboolean found = FALSE;
  while (!found) {
    gint64 left = end - g_get_monotonic_time ();
    GstMessage *m = gst_bus_timed_pop_filtered (bus, left > 0 ?
        left * GST_USECOND : 0, GST_MESSAGE_WARNING);
    if (!m)
      break;
    GError *e = NULL;
    gst_message_parse_warning (m, &e, NULL);
    found = strstr (e->message, needle) != NULL;
    g_error_free (e);
    gst_message_unref (m);
  }
  return found;
}

/* the first error on the bus, its message holding `needle`; the message
 * (g_free) or NULL */
static gchar *
wait_error (GstBus *bus, const gchar *needle, gint64 wait_us)
{
  gint64 end = g_get_monotonic_time () + wait_us;
  gchar *found = NULL;
  while (!found) {
    gint64 left = end - g_get_monotonic_time ();
    GstMessage *m = gst_bus_timed_pop_filtered (bus, left > 0 ?
        left * GST_USECOND : 0, GST_MESSAGE_ERROR);
    if (!m)
      break;
    GError *e = NULL;
    gst_message_parse_error (m, &e, NULL);
    if (strstr (e->message, needle))
      found = g_strdup (e->message);
    g_error_free (e);
    gst_message_unref (m);
  }
  return found;
}

/* the frames' lines as method=file writes them */
static gchar **
file_lines (guint n)
{
  gchar *path = NULL;
  gint fd = g_file_open_tmp ("attn-mqtt-XXXXXX.jsonl", &path, NULL);
  close (fd);
  gchar *props = g_strdup_printf ("location=%s", path);
  GstElement *json;
  GstBus *bus;
  GstHarness *h = harness (props, &json, &bus);
  g_free (props);
  for (guint i = 0; i < n; i++)
    gst_buffer_unref (gst_harness_push_and_pull (h, frame (i)));
  harness_free (h, json, bus);
  gchar *text = NULL;
  fail_unless (g_file_get_contents (path, &text, NULL, NULL));
  g_unlink (path);
  g_free (path);
  gchar **lines = g_strsplit (text, "\n", -1);
  g_free (text);
  return lines;
}

static gint64
payload_frame (const gchar *payload)
{
  JsonParser *p = json_parser_new ();
  fail_unless (json_parser_load_from_data (p, payload, -1, NULL), "bad JSON: "
      "%s", payload);
  gint64 f = json_object_get_int_member (json_node_get_object
      (json_parser_get_root (p)), "frame");
  g_object_unref (p);
  return f;
}

static void
skip_without_broker (void)
{
  gchar *prog = broker_program ();
  if (!prog) {
    g_print ("SKIP: the mosquitto broker is not installed\n");
    exit (77);
  }
  g_free (prog);
}

/* ---- tests --------------------------------------------------------------- */

/* N frames, N messages, each the file's line without its newline, in order;
 * with QoS 0 and QoS 1. */
GST_START_TEST (test_frames_arrive)
{
  const guint n = 25;
  gchar **expected = file_lines (n);
  for (gint qos = 0; qos <= 1; qos++) {
    Broker b = { .port = free_port () };
    broker_start (&b);
    Subscriber *s = sub_new (b.port);
    gchar *props = g_strdup_printf ("method=mqtt address=127.0.0.1:%u "
        "topic=" TOPIC " qos=%d", b.port, qos);
    GstElement *json;
    GstBus *bus;
    GstHarness *h = harness (props, &json, &bus);
    g_free (props);
    for (guint i = 0; i < n; i++)
      gst_buffer_unref (gst_harness_push_and_pull (h, frame (i)));
    gint64 end = g_get_monotonic_time () + bound_us (10);
    while (sub_count (s) < n && g_get_monotonic_time () < end)
      g_usleep (20000);
    fail_unless_equals_int (sub_count (s), n);
    for (guint i = 0; i < n; i++) {
      const gchar *got = g_ptr_array_index (s->payloads, i);
      fail_unless_equals_int (payload_frame (got), i);
      fail_unless_equals_string (got, expected[i]);
    }
    /* counted when libmosquitto reports it written (or acknowledged),
     * which may come after the subscriber has it */
    end = g_get_monotonic_time () + bound_us (5);
    while (prop_u64 (json, "published") < n && g_get_monotonic_time () < end)
      g_usleep (20000);
    fail_unless_equals_uint64 (prop_u64 (json, "published"), n);
    fail_unless_equals_uint64 (prop_u64 (json, "dropped"), 0);
    harness_free (h, json, bus);
    sub_free (s);
    broker_free (&b);
  }
  g_strfreev (expected);
}

GST_END_TEST;

/* The broker dies mid-stream and comes back on the same port. */
GST_START_TEST (test_broker_restart)
{
  Broker b = { .port = free_port () };
  broker_start (&b);
  Subscriber *s = sub_new (b.port);
  gchar *props = g_strdup_printf ("method=mqtt address=127.0.0.1:%u "
      "topic=" TOPIC " max-reconnect-interval=1", b.port);
  GstElement *json;
  GstBus *bus;
  GstHarness *h = harness (props, &json, &bus);
  g_free (props);
  guint i = 0;
  for (; i < 5; i++)
    gst_buffer_unref (gst_harness_push_and_pull (h, frame (i)));
  gint64 end = g_get_monotonic_time () + bound_us (10);
  while (sub_count (s) < 5 && g_get_monotonic_time () < end)
    g_usleep (20000);
  fail_unless_equals_int (sub_count (s), 5);

  /* broker gone: 300 frames (more than the 256-line queue) pass at once */
  broker_kill (&b);
  gint64 t0 = g_get_monotonic_time ();
  for (; i < 305; i++)
    gst_buffer_unref (gst_harness_push_and_pull (h, frame (i)));
  gint64 took = g_get_monotonic_time () - t0;
  fail_unless (took < bound_us (3), "300 frames took %" G_GINT64_FORMAT
      " us without a broker", took);
  /* lines libmosquitto had taken (the publish window) count as dropped
   * once the publisher sees the connection gone, which may come a moment
   * after the last frame */
  guint64 dropped = prop_u64 (json, "dropped");
  end = g_get_monotonic_time () + bound_us (5);
  while (dropped < 300 - 256 && g_get_monotonic_time () < end) {
    g_usleep (20000);
    dropped = prop_u64 (json, "dropped");
  }
  fail_unless (dropped >= 300 - 256, "only %" G_GUINT64_FORMAT " dropped",
      dropped);
  fail_unless (has_warning (bus, "dropped", bound_us (5)),
      "no warning about dropped lines");

  /* back on the same port: the subscriber and the element reconnect and
   * frames sent from now on arrive */
  broker_start (&b);
  sub_wait_subscribed (s);
  const guint first_after = i;
  gboolean arrived = FALSE;
  end = g_get_monotonic_time () + bound_us (30);
  while (!arrived && g_get_monotonic_time () < end) {
    gst_buffer_unref (gst_harness_push_and_pull (h, frame (i++)));
    g_usleep (50000);
    g_mutex_lock (&s->lock);
    for (guint k = 0; k < s->payloads->len && !arrived; k++)
      arrived = payload_frame (g_ptr_array_index (s->payloads, k))
          >= first_after;
    g_mutex_unlock (&s->lock);
  }
  fail_unless (arrived, "no frame from after the restart arrived (%u sent)",
      i - first_after);
  fail_unless (prop_u64 (json, "published") > 5);
  harness_free (h, json, bus);
  sub_free (s);
  broker_free (&b);
}

GST_END_TEST;

/* a 127.0.0.1 socket that listens and never accepts nor answers: the TCP
 * handshake completes, the MQTT CONNACK never comes */
static int
silent_listener (guint *port)
{
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { 0 };
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  fail_unless (bind (fd, (struct sockaddr *) &a, sizeof a) == 0);
  fail_unless (listen (fd, 1) == 0);
  fail_unless (getsockname (fd, (struct sockaddr *) &a, &len) == 0);
  *port = ntohs (a.sin_port);
  return fd;
}

/* Nothing listens, or a listener never answers: the state change returns
 * at once, a warning follows, the video flows, and stopping does not
 * hang. */
static void
check_no_answer (guint port)
{
  gchar *desc = g_strdup_printf ("videotestsrc is-live=true num-buffers=100 "
      "! video/x-raw,width=32,height=24,framerate=25/1 ! attentionjson "
      "name=json method=mqtt address=127.0.0.1:%u ! fakesink", port);
  GstElement *pl = gst_parse_launch (desc, NULL);
  g_free (desc);
  GstBus *bus = gst_element_get_bus (pl);
  gint64 t0 = g_get_monotonic_time ();
  fail_if (gst_element_set_state (pl, GST_STATE_PLAYING)
      == GST_STATE_CHANGE_FAILURE);
  fail_unless (gst_element_get_state (pl, NULL, NULL, 3 * GST_SECOND)
      != GST_STATE_CHANGE_FAILURE);
  fail_unless (g_get_monotonic_time () - t0 < bound_us (3),
      "the state change waited for the broker");
  fail_unless (has_warning (bus, "Could not connect", bound_us (10)),
      "no warning for a broker that is not there");
  GstMessage *m = gst_bus_timed_pop_filtered (bus, bound_us (20) *
      GST_USECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (m && GST_MESSAGE_TYPE (m) == GST_MESSAGE_EOS,
      "the video stopped without a broker");
  gst_message_unref (m);
  t0 = g_get_monotonic_time ();
  gst_element_set_state (pl, GST_STATE_NULL);
  fail_unless (g_get_monotonic_time () - t0 < bound_us (3),
      "stopping waited for the broker");
  GstElement *json = gst_bin_get_by_name (GST_BIN (pl), "json");
  fail_unless_equals_uint64 (prop_u64 (json, "published"), 0);
  gst_object_unref (json);
  gst_object_unref (bus);
  gst_object_unref (pl);
}

GST_START_TEST (test_no_broker)
{
  check_no_answer (free_port ());
  guint port;
  int fd = silent_listener (&port);
  check_no_answer (port);
  close (fd);
}

GST_END_TEST;

GST_START_TEST (test_malformed_address)
{
  const gchar *bad[] = { "127.0.0.1:", "127.0.0.1:70000", "host:port",
    "a:b:c", ":1883"
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    gchar *desc = g_strdup_printf ("videotestsrc num-buffers=1 ! "
        "attentionjson method=mqtt address=%s ! fakesink", bad[i]);
    GstElement *pl = gst_parse_launch (desc, NULL);
    g_free (desc);
    fail_unless (gst_element_set_state (pl, GST_STATE_PLAYING)
        == GST_STATE_CHANGE_FAILURE, "%s accepted", bad[i]);
    GstBus *bus = gst_element_get_bus (pl);
    GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    fail_unless (m != NULL);
    GError *e;
    gst_message_parse_error (m, &e, NULL);
    fail_unless (strstr (e->message, bad[i]) != NULL, "%s", e->message);
    g_error_free (e);
    gst_message_unref (m);
    gst_object_unref (bus);
    gst_element_set_state (pl, GST_STATE_NULL);
    gst_object_unref (pl);
  }
}

GST_END_TEST;

/* ---- login, TLS, max-connect-attempts ------------------------------------ */

static void
remove_dir (gchar *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const gchar *name;
  while (d && (name = g_dir_read_name (d))) {
    gchar *path = g_build_filename (dir, name, NULL);
    g_unlink (path);
    g_free (path);
  }
  if (d)
    g_dir_close (d);
  g_rmdir (dir);
  g_free (dir);
}

/* runs argv (a NULL-terminated list) in dir; fails the test unless it
 * exits 0 */
static void
run_in (const gchar *dir, const gchar *const *argv)
{
  gchar *err = NULL;
  gint status = -1;
  GError *e = NULL;
  gboolean ok = g_spawn_sync (dir, (gchar **) argv, NULL,
      G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
      &err, &status, &e);
  fail_unless (ok && g_spawn_check_wait_status (status, NULL), "%s failed: %s",
      argv[0], e ? e->message : err);
  g_clear_error (&e);
  g_free (err);
}

/* Pushes n frames through an element made with props and checks the
 * subscriber gets n messages and `published` counts them. */
static void
check_frames_arrive (const gchar *props, Subscriber *s, guint n)
{
  GstElement *json;
  GstBus *bus;
  GstHarness *h = harness (props, &json, &bus);
  for (guint i = 0; i < n; i++)
    gst_buffer_unref (gst_harness_push_and_pull (h, frame (i)));
  gint64 end = g_get_monotonic_time () + bound_us (10);
  while (sub_count (s) < n && g_get_monotonic_time () < end)
    g_usleep (20000);
  fail_unless_equals_int (sub_count (s), n);
  for (guint i = 0; i < n; i++)
    fail_unless_equals_int (payload_frame (g_ptr_array_index (s->payloads,
                i)), i);
  end = g_get_monotonic_time () + bound_us (5);
  while (prop_u64 (json, "published") < n && g_get_monotonic_time () < end)
    g_usleep (20000);
  fail_unless_equals_uint64 (prop_u64 (json, "published"), n);
  harness_free (h, json, bus);
  g_mutex_lock (&s->lock);
  g_ptr_array_set_size (s->payloads, 0);
  g_mutex_unlock (&s->lock);
}

/* An element made with props: its state change returns at once, and an
 * error holding each of needles follows within `seconds`; its text is
 * returned (g_free it). */
static gchar *
check_connect_error_msg (const gchar *props, const gchar *const *needles,
    gdouble seconds)
{
  GstElement *json;
  GstBus *bus;
  gint64 t0 = g_get_monotonic_time ();
  GstHarness *h = harness (props, &json, &bus);
  gst_buffer_unref (gst_harness_push_and_pull (h, frame (0)));
  fail_unless (g_get_monotonic_time () - t0 < bound_us (2),
      "the state change waited for the broker");
  gchar *msg = wait_error (bus, needles[0], bound_us (seconds));
  fail_unless (msg != NULL, "no error holding \"%s\"", needles[0]);
  for (guint i = 1; needles[i]; i++)
    fail_unless (strstr (msg, needles[i]) != NULL, "\"%s\" not in: %s",
        needles[i], msg);
  t0 = g_get_monotonic_time ();
  harness_free (h, json, bus);
  fail_unless (g_get_monotonic_time () - t0 < bound_us (3),
      "stopping waited for the broker");
  return msg;
}

/* The same, the error's text dropped. */
static void
check_connect_error (const gchar *props, const gchar *const *needles,
    gdouble seconds)
{
  g_free (check_connect_error_msg (props, needles, seconds));
}

/* A broker wanting a password (password_file from mosquitto_passwd,
 * allow_anonymous false): the right one publishes every frame; a wrong one
 * is warned about with the broker's reason, and with max-connect-attempts
 * is an error; mqtt-config's file logs in too. The password is never
 * readable. */
GST_START_TEST (test_password)
{
  gchar *dir = g_dir_make_tmp ("attn-mqtt-pw-XXXXXX", NULL);
  gchar *pwfile = g_build_filename (dir, "passwords", NULL);
  const gchar *mk[] = { "mosquitto_passwd", "-b", "-c", pwfile, "alice",
    "s3cret w0rd", NULL
  };
  run_in (dir, mk);
  gchar *extra = g_strdup_printf ("password_file %s\nallow_anonymous false\n",
      pwfile);
  Broker b = { .port = free_port (),.extra = extra };
  broker_start (&b);
  Subscriber *s = sub_new_full (b.port, "alice", "s3cret w0rd", NULL);

  gchar *props = g_strdup_printf ("method=mqtt address=127.0.0.1:%u "
      "topic=" TOPIC " username=alice password=\"s3cret w0rd\"", b.port);
  check_frames_arrive (props, s, 20);
  g_free (props);

  /* the same login from gvametapublish's mqtt-config file, which overrides
   * the properties (here a wrong password) */
  gchar *config = g_build_filename (dir, "mqtt.json", NULL);
  gchar *text = g_strdup_printf ("{\"address\": \"127.0.0.1:%u\", "
      "\"username\": \"alice\", \"password\": \"s3cret w0rd\", "
      "\"max-connect-attempts\": -1, \"TLS\": false, "
      "\"ssl_CA_certificate\": null}", b.port);
  fail_unless (g_file_set_contents (config, text, -1, NULL));
  g_free (text);
  props = g_strdup_printf ("method=mqtt topic=" TOPIC " mqtt-config=%s "
      "password=wrong", config);
  check_frames_arrive (props, s, 10);
  g_free (props);
  g_unlink (config);
  g_free (config);

  /* write-only: gst-inspect, -v and g_object_get never show it */
  GstElement *e = gst_element_factory_make ("attentionjson", NULL);
  GParamSpec *ps = g_object_class_find_property (G_OBJECT_GET_CLASS (e),
      "password");
  fail_unless (ps && (ps->flags & G_PARAM_WRITABLE)
      && !(ps->flags & G_PARAM_READABLE));
  gst_object_unref (e);

  /* wrong password, default max-connect-attempts (0, forever): a warning
   * naming the broker's reason, the video flows */
  props = g_strdup_printf ("method=mqtt address=127.0.0.1:%u topic=" TOPIC
      " username=alice password=wrong", b.port);
  GstElement *json;
  GstBus *bus;
  GstHarness *h = harness (props, &json, &bus);
  g_free (props);
  gst_buffer_unref (gst_harness_push_and_pull (h, frame (0)));
  fail_unless (has_warning (bus, "not authorised", bound_us (5)),
      "no warning naming the refusal");
  gst_buffer_unref (gst_harness_push_and_pull (h, frame (1)));
  fail_unless_equals_uint64 (prop_u64 (json, "published"), 0);
  harness_free (h, json, bus);

  /* with max-connect-attempts: an error after the attempts */
  props = g_strdup_printf ("method=mqtt address=127.0.0.1:%u topic=" TOPIC
      " username=alice password=wrong max-connect-attempts=2 "
      "max-reconnect-interval=1", b.port);
  const gchar *needles[] = { "not authorised", "2 failed attempts", NULL };
  check_connect_error (props, needles, 10);
  g_free (props);
  fail_unless_equals_int (sub_count (s), 0);

  sub_free (s);
  broker_free (&b);
  g_free (extra);
  g_free (pwfile);
  remove_dir (dir);
}

GST_END_TEST;

/* a throwaway CA and a server certificate for 127.0.0.1 it signed, made
 * with the openssl CLI into a new directory (remove_dir) */
static gchar *
make_certs (void)
{
  gchar *dir = g_dir_make_tmp ("attn-mqtt-tls-XXXXXX", NULL);
  const gchar *ca[] = { "openssl", "req", "-x509", "-newkey", "ec",
    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
    "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=attn-test-ca",
    NULL
  };
  const gchar *req[] = { "openssl", "req", "-new", "-newkey", "ec",
    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
    "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1", NULL
  };
  const gchar *sign[] = { "openssl", "x509", "-req", "-in", "server.csr",
    "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out",
    "server.crt", "-days", "2", "-extfile", "ext.cnf", NULL
  };
  gchar *ext = g_build_filename (dir, "ext.cnf", NULL);
  fail_unless (g_file_set_contents (ext, "subjectAltName=IP:127.0.0.1\n", -1,
          NULL));
  g_free (ext);
  run_in (dir, ca);
  run_in (dir, req);
  run_in (dir, sign);
  return dir;
}

/* A TLS listener with our CA's server certificate: an element given the CA
 * publishes every frame over TLS; without it (the system's CAs, verify on)
 * the handshake fails with an error naming the reason; ssl-verify=false
 * connects anyway, as asked. */
GST_START_TEST (test_tls)
{
  gchar *dir = make_certs ();
  gchar *ca = g_build_filename (dir, "ca.crt", NULL);
  gchar *extra = g_strdup_printf ("cafile %s\ncertfile %s/server.crt\n"
      "keyfile %s/server.key\nallow_anonymous true\n", ca, dir, dir);
  Broker b = { .port = free_port (),.extra = extra };
  broker_start (&b);
  Subscriber *s = sub_new_full (b.port, NULL, NULL, ca);

  gchar *props = g_strdup_printf ("method=mqtt address=127.0.0.1:%u "
      "topic=" TOPIC " tls=true ssl-ca-certificate=%s", b.port, ca);
  check_frames_arrive (props, s, 20);
  g_free (props);

  props = g_strdup_printf ("method=mqtt address=127.0.0.1:%u topic=" TOPIC
      " tls=true max-connect-attempts=1", b.port);
  const gchar *needles[] = { "certificate verify failed",
    "1 failed attempt", NULL
  };
  check_connect_error (props, needles, 10);
  g_free (props);
  fail_unless_equals_int (sub_count (s), 0);

  props = g_strdup_printf ("method=mqtt address=127.0.0.1:%u topic=" TOPIC
      " tls=true ssl-verify=false", b.port);
  check_frames_arrive (props, s, 5);
  g_free (props);

  sub_free (s);
  broker_free (&b);
  g_free (extra);
  g_free (ca);
  remove_dir (dir);
}

GST_END_TEST;

/* A broker that requires a client certificate (require_certificate): an
 * element with a certificate our CA signed and its key publishes every
 * frame; one without a certificate is refused and says so after its one
 * attempt; one whose key is encrypted publishes given the passphrase
 * (with a login's password set after it too) and fails (without saying
 * the passphrase) given a wrong one. The subscriber listens on a second,
 * plain listener. */
GST_START_TEST (test_tls_client_certificate)
{
  gchar *dir = make_certs ();
  const gchar *req[] = { "openssl", "req", "-new", "-newkey", "ec",
    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
    "client.key", "-out", "client.csr", "-subj", "/CN=attn-client", NULL
  };
  const gchar *sign[] = { "openssl", "x509", "-req", "-in", "client.csr",
    "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out",
    "client.crt", "-days", "2", NULL
  };
  run_in (dir, req);
  run_in (dir, sign);
  guint plain = free_port (), tls = free_port ();
  while (tls == plain)
    tls = free_port ();
  gchar *extra = g_strdup_printf ("cafile %s/ca.crt\ncertfile %s/server.crt\n"
      "keyfile %s/server.key\nrequire_certificate true\nallow_anonymous true\n"
      "listener %u 127.0.0.1\n", dir, dir, dir, plain);
  Broker b = { .port = tls,.extra = extra,.port2 = plain };
  broker_start (&b);
  Subscriber *s = sub_new_full (plain, NULL, NULL, NULL);

  gchar *props = g_strdup_printf ("method=mqtt address=127.0.0.1:%u "
      "topic=" TOPIC " tls=true ssl-ca-certificate=%s/ca.crt "
      "ssl-client-certificate=%s/client.crt ssl-private-key=%s/client.key",
      b.port, dir, dir, dir);
  check_frames_arrive (props, s, 10);
  g_free (props);

  props = g_strdup_printf ("method=mqtt address=127.0.0.1:%u topic=" TOPIC
      " tls=true ssl-ca-certificate=%s/ca.crt max-connect-attempts=1",
      b.port, dir);
  const gchar *needles[] = { "1 failed attempt", NULL };
  check_connect_error (props, needles, 10);
  g_free (props);
  fail_unless_equals_int (sub_count (s), 0);

  /* the same key encrypted with a passphrase: given it, every frame */
  const gchar *enc[] = { "openssl", "pkcs8", "-topk8", "-in", "client.key",
    "-out", "client-enc.key", "-passout", "pass:s3cret-phrase", NULL
  };
  run_in (dir, enc);
  props = g_strdup_printf ("method=mqtt address=127.0.0.1:%u "
      "topic=" TOPIC " tls=true ssl-ca-certificate=%s/ca.crt "
      "ssl-client-certificate=%s/client.crt ssl-private-key=%s/client-enc.key "
      "ssl-private-key-password=s3cret-phrase", b.port, dir, dir, dir);
  check_frames_arrive (props, s, 5);
  g_free (props);
  /* ... with a login's password given after it: each secret its own */
  props = g_strdup_printf ("method=mqtt address=127.0.0.1:%u "
      "topic=" TOPIC " tls=true ssl-ca-certificate=%s/ca.crt "
      "ssl-client-certificate=%s/client.crt ssl-private-key=%s/client-enc.key "
      "ssl-private-key-password=s3cret-phrase username=attn "
      "password=a-login-password", b.port, dir, dir, dir);
  check_frames_arrive (props, s, 5);
  g_free (props);
  /* ... or given in mqtt-config's file, as gvametapublish names it */
  gchar *config = g_build_filename (dir, "mqtt.json", NULL);
  fail_unless (g_file_set_contents (config, "{\"ssl_private_key_pwd\": "
          "\"s3cret-phrase\"}", -1, NULL));
  props = g_strdup_printf ("method=mqtt address=127.0.0.1:%u "
      "topic=" TOPIC " tls=true ssl-ca-certificate=%s/ca.crt "
      "ssl-client-certificate=%s/client.crt ssl-private-key=%s/client-enc.key "
      "mqtt-config=%s", b.port, dir, dir, dir, config);
  check_frames_arrive (props, s, 5);
  g_free (props);
  g_free (config);
  /* a wrong passphrase: the key does not load, an error after the one
   * attempt, and no passphrase in it */
  props = g_strdup_printf ("method=mqtt address=127.0.0.1:%u topic=" TOPIC
      " tls=true ssl-ca-certificate=%s/ca.crt max-connect-attempts=1 "
      "ssl-client-certificate=%s/client.crt ssl-private-key=%s/client-enc.key "
      "ssl-private-key-password=wrong-phrase", b.port, dir, dir, dir);
  gchar *msg = check_connect_error_msg (props, needles, 10);
  fail_if (strstr (msg, "phrase") != NULL, "%s", msg);
  g_free (msg);
  g_free (props);
  fail_unless_equals_int (sub_count (s), 0);

  sub_free (s);
  broker_free (&b);
  g_free (extra);
  remove_dir (dir);
}

GST_END_TEST;

/* Settings that cannot work fail the state change with a sentence naming
 * them, before anything connects. */
GST_START_TEST (test_bad_settings)
{
  gchar *dir = g_dir_make_tmp ("attn-mqtt-bad-XXXXXX", NULL);
  gchar *junk = g_build_filename (dir, "junk.pem", NULL);
  fail_unless (g_file_set_contents (junk, "not a certificate\n", -1, NULL));
  gchar *enc = g_build_filename (dir, "enc.key", NULL);
  fail_unless (g_file_set_contents (enc, "-----BEGIN ENCRYPTED PRIVATE KEY"
          "-----\n", -1, NULL));
  gchar *pem = g_build_filename (dir, "looks.pem", NULL);
  fail_unless (g_file_set_contents (pem, "-----BEGIN CERTIFICATE-----\n", -1,
          NULL));
  gchar *config = g_build_filename (dir, "mqtt.json", NULL);
  fail_unless (g_file_set_contents (config, "{\"address\": \"127.0.0.1:1\", "
          "\"ssl_ca_certificate\": \"x\"}", -1, NULL));
  struct {
    gchar *props;
    const gchar *needle;
  } cases[] = {
    {g_strdup ("tls=true ssl-ca-certificate=/nonexistent/ca.crt"),
        "/nonexistent/ca.crt"},
    {g_strdup_printf ("tls=true ssl-ca-certificate=%s", junk),
        "not a PEM file"},
    {g_strdup ("tls=true ssl-client-certificate=/nonexistent/c.crt "
              "ssl-private-key=/nonexistent/c.key"), "/nonexistent/c.crt"},
    {g_strdup_printf ("tls=true ssl-client-certificate=%s "
              "ssl-private-key=/nonexistent/c.key", pem),
        "/nonexistent/c.key"},
    {g_strdup_printf ("tls=true ssl-client-certificate=%s", pem),
        "set both or neither"},
    {g_strdup_printf ("tls=true ssl-private-key=%s", enc), "encrypted"},
    {g_strdup_printf ("ssl-ca-certificate=%s", junk), "tls is false"},
    {g_strdup ("password=secret"), "needs a user name"},
    {g_strdup_printf ("tls=true ssl-private-key-password=secret"),
        "no ssl-private-key"},
    {g_strdup_printf ("mqtt-config=%s", config), "ssl_ca_certificate"},
    {g_strdup ("mqtt-config=/nonexistent/mqtt.json"), "/nonexistent"},
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    gchar *desc = g_strdup_printf ("videotestsrc num-buffers=1 ! "
        "attentionjson method=mqtt address=127.0.0.1:%u %s ! fakesink",
        free_port (), cases[i].props);
    GstElement *pl = gst_parse_launch (desc, NULL);
    g_free (desc);
    fail_unless (pl != NULL);
    fail_unless (gst_element_set_state (pl, GST_STATE_PLAYING)
        == GST_STATE_CHANGE_FAILURE, "%s accepted", cases[i].props);
    GstBus *bus = gst_element_get_bus (pl);
    gchar *msg = wait_error (bus, cases[i].needle, 0);
    fail_unless (msg != NULL, "%s: no error holding \"%s\"", cases[i].props,
        cases[i].needle);
    /* never the password */
    fail_if (strstr (msg, "secret") != NULL, "%s", msg);
    g_free (msg);
    gst_object_unref (bus);
    gst_element_set_state (pl, GST_STATE_NULL);
    gst_object_unref (pl);
    g_free (cases[i].props);
  }
  g_free (junk);
  g_free (enc);
  g_free (pem);
  g_free (config);
  remove_dir (dir);
}

GST_END_TEST;

/* No broker, max-connect-attempts=3: an error after three failed attempts
 * (1 s apart: max-reconnect-interval=1), not a retry forever. */
GST_START_TEST (test_max_connect_attempts)
{
  gchar *props = g_strdup_printf ("method=mqtt address=127.0.0.1:%u "
      "topic=" TOPIC " max-connect-attempts=3 max-reconnect-interval=1",
      free_port ());
  const gchar *needles[] = { "Could not connect", "3 failed attempts", NULL };
  gint64 t0 = g_get_monotonic_time ();
  check_connect_error (props, needles, 10);
  /* two 1-s waits between the three attempts */
  fail_unless (g_get_monotonic_time () - t0 >= 2 * G_USEC_PER_SEC);
  g_free (props);
}

GST_END_TEST;

static gboolean
have_program (const gchar *name)
{
  gchar *p = g_find_program_in_path (name);
  g_free (p);
  return p != NULL;
}

static Suite *
attentionjson_mqtt_suite (void)
{
  skip_without_broker ();
  mosquitto_lib_init ();
  Suite *s = suite_create ("attentionjson_mqtt");
  TCase *tc = tcase_create ("general");
  tcase_add_checked_fixture (tc, NULL, teardown);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_malformed_address);
  tcase_add_test (tc, test_frames_arrive);
  tcase_add_test (tc, test_no_broker);
  tcase_add_test (tc, test_broker_restart);
  tcase_add_test (tc, test_bad_settings);
  tcase_add_test (tc, test_max_connect_attempts);
  if (have_program ("mosquitto_passwd"))
    tcase_add_test (tc, test_password);
  else
    g_print ("# test_password left out: no mosquitto_passwd\n");
  if (have_program ("openssl")) {
    tcase_add_test (tc, test_tls);
    tcase_add_test (tc, test_tls_client_certificate);
  } else
    g_print ("# test_tls left out: no openssl\n");
  return s;
}

GST_CHECK_MAIN (attentionjson_mqtt);
