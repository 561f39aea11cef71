/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mqttpublisher.c — a bounded line queue drained into libmosquitto.
 *
 * Three threads meet here: the caller's (push: append under the lock, drop
 * the oldest line when full), the drainer (hands lines to mosquitto_publish
 * while connected, at most WINDOW not yet written), and the network thread
 * (connects, reconnects with back-off, runs mosquitto_loop, which writes and
 * calls the callbacks below). The network thread is ours, not
 * mosquitto_loop_start's: that one ends for good on a TLS or DNS failure,
 * and it cannot count failed attempts. */
#include "mqttpublisher.h"

#include <errno.h>
#include <mosquitto.h>
#include <stdlib.h>
#include <string.h>

/* messages handed to libmosquitto and not yet written (QoS 0) or
 * acknowledged (QoS 1, 2): bounds libmosquitto's own, unbounded, queue */
#define WINDOW 32
/* without a first connection after this long, say so once */
#define NOT_CONNECTED_WARN_US (3 * G_USEC_PER_SEC)
#define KEEPALIVE_S 20
/* the network thread sees `stopping` at least this often */
#define LOOP_MS 100
/* where OpenSSL keeps the system's CAs on Debian (and most Linux) */
#define SYSTEM_CA_DIR "/etc/ssl/certs"

struct _AttnMqttPublisher {
  GMutex lock;
  GCond cond;
  GQueue queue;                 /* GBytes, oldest first */
  guint capacity;
  guint outstanding;
  gboolean connected, ever_connected, warned_not_connected;
  gint stopping;                /* atomic: also read without the lock */
  gboolean reported_drop;
  guint64 published, dropped;
  gchar *last_error;            /* why the last attempt failed, or NULL */
  gchar *attempt_error;         /* why the current attempt fails: the first
                                 * reason heard (CONNACK, libmosquitto's log) */
  gboolean attempt_connected;   /* the current attempt got a CONNACK 0 */
  guint failed_attempts;        /* before the first connection */
  gboolean gave_up;
  gint64 started;

  struct mosquitto *mosq;
  GThread *network, *drainer;
  gchar *host;
  guint port;
  guint max_interval, max_attempts;
  gchar *topic;
  gint qos;
  AttnMqttEventFunc func;
  gpointer user_data;
  gchar *key_password;          /* a secret: wiped when freed */
};

static gpointer
init_lib (gpointer unused)
{
  mosquitto_lib_init ();
  return NULL;
}

gboolean
attn_mqtt_parse_address (const gchar *address, gchar **host, guint *port,
    const gchar **why)
{
  *host = NULL;
  *port = 1883;
  if (!address || !*address) {
    *why = "the address is empty";
    return FALSE;
  }
  const gchar *port_str = NULL;
  gchar *h;
  if (address[0] == '[') {      /* [IPv6]:PORT */
    const gchar *end = strchr (address, ']');
    if (!end || end == address + 1) {
      *why = "an IPv6 address needs a closing ']'";
      return FALSE;
    }
    h = g_strndup (address + 1, end - address - 1);
    if (end[1] == ':')
      port_str = end + 2;
    else if (end[1]) {
      g_free (h);
      *why = "expected ':PORT' after ']'";
      return FALSE;
    }
  } else {
    const gchar *colon = strrchr (address, ':');
    if (colon && strchr (address, ':') != colon) {
      *why = "write an IPv6 address as [ADDRESS]:PORT";
      return FALSE;
    }
    h = colon ? g_strndup (address, colon - address) : g_strdup (address);
    port_str = colon ? colon + 1 : NULL;
  }
  if (!*h || strpbrk (h, " /\t")) {
    g_free (h);
    *why = "the host is empty or holds a space or '/'";
    return FALSE;
  }
  if (port_str) {
    gchar *end = NULL;
    guint64 v = g_ascii_strtoull (port_str, &end, 10);
    if (!*port_str || *end || v < 1 || v > 65535) {
      g_free (h);
      *why = "the port must be a number from 1 to 65535";
      return FALSE;
    }
    *port = (guint) v;
  }
  *host = h;
  return TRUE;
}

static void
on_connect (struct mosquitto *mosq, void *obj, int rc)
{
  AttnMqttPublisher *p = obj;
  g_mutex_lock (&p->lock);
  if (rc == 0) {
    p->connected = TRUE;
    p->ever_connected = TRUE;
    p->attempt_connected = TRUE;
    g_clear_pointer (&p->last_error, g_free);
    g_cond_broadcast (&p->cond);
  } else if (!p->attempt_error) {
    p->attempt_error = g_strdup (mosquitto_connack_string (rc));
  }
  gboolean stopping = p->stopping;
  g_mutex_unlock (&p->lock);
  if (stopping)
    return;
  if (rc == 0)
    p->func (p->user_data, ATTN_MQTT_CONNECTED, NULL);
  else
    p->func (p->user_data, ATTN_MQTT_NOT_CONNECTED,
        mosquitto_connack_string (rc));
}

static void
on_disconnect (struct mosquitto *mosq, void *obj, int rc)
{
  AttnMqttPublisher *p = obj;
  g_mutex_lock (&p->lock);
  gboolean was = p->connected, stopping = p->stopping;
  p->connected = FALSE;
  /* QoS 0 messages not yet written are gone with the socket; QoS 1 and 2
   * ones stay in libmosquitto and are sent again after the reconnect */
  if (p->qos == 0) {
    p->dropped += p->outstanding;
    p->outstanding = 0;
  }
  g_cond_broadcast (&p->cond);
  g_mutex_unlock (&p->lock);
  if (was && !stopping)
    p->func (p->user_data, ATTN_MQTT_DISCONNECTED,
        rc == 0 ? "disconnected" : mosquitto_strerror (rc));
}

/* libmosquitto's own errors (TLS: "OpenSSL Error[0]: ... certificate
 * verify failed") say why an attempt failed better than its return code */
static void
on_log (struct mosquitto *mosq, void *obj, int level, const char *str)
{
  AttnMqttPublisher *p = obj;
  if (!(level & MOSQ_LOG_ERR) || !str)
    return;
  g_mutex_lock (&p->lock);
  if (!p->attempt_error)
    p->attempt_error = g_strdup (str);
  g_mutex_unlock (&p->lock);
}

/* The private key's passphrase for OpenSSL (userdata: the mosquitto
 * client). Without one an encrypted key would make OpenSSL ask on the
 * terminal: it gets nothing instead, and the key fails to load. */
static int
key_password (char *buf, int size, int rwflag, void *userdata)
{
  AttnMqttPublisher *p = mosquitto_userdata (userdata);
  if (!p || !p->key_password || size <= 0)
    return 0;
  gsize n = strlen (p->key_password);
  if (n >= (gsize) size)
    return 0;
  memcpy (buf, p->key_password, n + 1);
  return (int) n;
}

static void
on_publish (struct mosquitto *mosq, void *obj, int mid)
{
  AttnMqttPublisher *p = obj;
  g_mutex_lock (&p->lock);
  if (p->outstanding)
    p->outstanding--;
  p->published++;
  g_cond_broadcast (&p->cond);
  g_mutex_unlock (&p->lock);
}

static gpointer
drain (gpointer data)
{
  AttnMqttPublisher *p = data;
  g_mutex_lock (&p->lock);
  while (!g_atomic_int_get (&p->stopping)) {
    if (p->connected && p->outstanding < WINDOW && p->queue.length) {
      GBytes *b = g_queue_pop_head (&p->queue);
      p->outstanding++;
      g_mutex_unlock (&p->lock);
      gsize len;
      const void *d = g_bytes_get_data (b, &len);
      int rc = mosquitto_publish (p->mosq, NULL, p->topic, (int) len, d,
          p->qos, false);
      g_mutex_lock (&p->lock);
      if (rc != MOSQ_ERR_SUCCESS) {
        if (p->outstanding)
          p->outstanding--;
        if (rc == MOSQ_ERR_NO_CONN && !g_atomic_int_get (&p->stopping)) {
          /* lost between the check and the call: keep it for the next
           * connection and let the callback catch up */
          g_queue_push_head (&p->queue, b);
          b = NULL;
          g_cond_wait_until (&p->cond, &p->lock,
              g_get_monotonic_time () + 50 * G_TIME_SPAN_MILLISECOND);
        } else {
          p->dropped++;
        }
      }
      if (b)
        g_bytes_unref (b);
      continue;
    }
    if (!p->ever_connected && !p->warned_not_connected && !p->gave_up
        && g_get_monotonic_time () - p->started >= NOT_CONNECTED_WARN_US) {
      p->warned_not_connected = TRUE;
      gchar *why = g_strdup_printf ("no connection after %d s%s%s; still "
          "trying", (int) (NOT_CONNECTED_WARN_US / G_USEC_PER_SEC),
          p->last_error ? ": " : "", p->last_error ? p->last_error : "");
      g_mutex_unlock (&p->lock);
      p->func (p->user_data, ATTN_MQTT_NOT_CONNECTED, why);
      g_free (why);
      g_mutex_lock (&p->lock);
      continue;
    }
    g_cond_wait_until (&p->cond, &p->lock,
        g_get_monotonic_time () + 200 * G_TIME_SPAN_MILLISECOND);
  }
  g_mutex_unlock (&p->lock);
  return NULL;
}

/* Connects, runs mosquitto_loop while connected, and after a failed attempt
 * or a lost connection waits (1 s, doubling up to max_interval) and tries
 * again; gives up after max_attempts failed attempts before the first
 * connection. */
static gpointer
network (gpointer data)
{
  AttnMqttPublisher *p = data;
  gint64 delay_s = 1;
  gboolean first = TRUE;
  while (!g_atomic_int_get (&p->stopping)) {
    g_mutex_lock (&p->lock);
    g_clear_pointer (&p->attempt_error, g_free);
    p->attempt_connected = FALSE;
    g_mutex_unlock (&p->lock);
    /* asynchronous: returns once the TCP connection is under way (after
     * resolving the host name, which may wait on DNS) */
    int rc = first ? mosquitto_connect_async (p->mosq, p->host, (int) p->port,
        KEEPALIVE_S) : mosquitto_reconnect_async (p->mosq);
    first = FALSE;
    while (rc == MOSQ_ERR_SUCCESS && !g_atomic_int_get (&p->stopping))
      rc = mosquitto_loop (p->mosq, LOOP_MS, 1);
    int err = errno;
    if (g_atomic_int_get (&p->stopping))
      break;

    /* the attempt failed, or the connection it made was lost */
    g_mutex_lock (&p->lock);
    if (!p->attempt_error)
      p->attempt_error = g_strdup (rc == MOSQ_ERR_ERRNO ? g_strerror (err)
          : mosquitto_strerror (rc));
    gchar *give_up = NULL;
    if (p->attempt_connected) {
      delay_s = 1;
    } else {
      g_free (p->last_error);
      p->last_error = g_strdup (p->attempt_error);
      if (!p->ever_connected && ++p->failed_attempts == p->max_attempts)
        give_up = g_strdup (p->last_error);
    }
    g_cond_broadcast (&p->cond);      /* flush waits on failed_attempts */
    if (give_up) {
      p->gave_up = TRUE;
      g_mutex_unlock (&p->lock);
      p->func (p->user_data, ATTN_MQTT_GAVE_UP, give_up);
      g_free (give_up);
      break;
    }
    gint64 until = g_get_monotonic_time () + delay_s * G_USEC_PER_SEC;
    while (!g_atomic_int_get (&p->stopping)
        && g_cond_wait_until (&p->cond, &p->lock, until));
    delay_s = MIN (delay_s * 2, (gint64) p->max_interval);
    g_mutex_unlock (&p->lock);
  }
  return NULL;
}

/* libmosquitto's TLS and login settings; FALSE with *error set */
static gboolean
set_options (AttnMqttPublisher *p, const AttnMqttConfig *cfg, gchar **error)
{
  int rc;
  if (cfg->username || cfg->password) {
    if (!cfg->username) {
      *error = g_strdup ("a password needs a user name (MQTT 3.1.1 sends "
          "no password alone)");
      return FALSE;
    }
    rc = mosquitto_username_pw_set (p->mosq, cfg->username, cfg->password);
    if (rc != MOSQ_ERR_SUCCESS) {
      *error = g_strdup_printf ("the user name or password was refused: %s",
          mosquitto_strerror (rc));
      return FALSE;
    }
  }
  if (!cfg->tls)
    return TRUE;
  if (!cfg->cert_file != !cfg->key_file) {
    *error = g_strdup ("a client certificate needs its private key, and a "
        "key its certificate: set both or neither");
    return FALSE;
  }
  /* without a CA file, OpenSSL's directory of the system's CAs
   * (MOSQ_OPT_TLS_USE_OS_CERTS would do, but libmosquitto 2.0.11 refuses
   * it from the second attempt on) */
  const gchar *ca_dir = NULL;
  if (!cfg->ca_file) {
    ca_dir = g_getenv ("SSL_CERT_DIR");
    if (!ca_dir || !*ca_dir)
      ca_dir = SYSTEM_CA_DIR;
  }
  rc = mosquitto_tls_set (p->mosq, cfg->ca_file, ca_dir, cfg->cert_file,
      cfg->key_file, key_password);
  if (rc != MOSQ_ERR_SUCCESS) {
    *error = g_strdup_printf ("libmosquitto refused the TLS files: %s",
        mosquitto_strerror (rc));
    return FALSE;
  }
  /* SSL_VERIFY_PEER is 1, SSL_VERIFY_NONE 0 */
  rc = mosquitto_tls_opts_set (p->mosq, cfg->verify_peer ? 1 : 0, NULL, NULL);
  if (rc == MOSQ_ERR_SUCCESS)
    rc = mosquitto_tls_insecure_set (p->mosq, !cfg->verify_hostname);
  if (rc != MOSQ_ERR_SUCCESS) {
    *error = g_strdup_printf ("libmosquitto refused the TLS options: %s",
        mosquitto_strerror (rc));
    return FALSE;
  }
  return TRUE;
}

AttnMqttPublisher *
attn_mqtt_publisher_new (const AttnMqttConfig *cfg, AttnMqttEventFunc func,
    gpointer user_data, gchar **error)
{
  static GOnce once = G_ONCE_INIT;
  g_once (&once, init_lib, NULL);
  g_return_val_if_fail (cfg->host && cfg->topic && func, NULL);

  AttnMqttPublisher *p = g_new0 (AttnMqttPublisher, 1);
  g_mutex_init (&p->lock);
  g_cond_init (&p->cond);
  g_queue_init (&p->queue);
  p->capacity = MAX (cfg->queue_size, 1);
  p->topic = g_strdup (cfg->topic);
  p->host = g_strdup (cfg->host);
  p->port = cfg->port;
  p->max_interval = MAX (cfg->max_reconnect_interval, 1);
  p->max_attempts = cfg->max_connect_attempts;
  p->qos = CLAMP (cfg->qos, 0, 2);
  p->func = func;
  p->user_data = user_data;
  p->started = g_get_monotonic_time ();

  gchar *id = NULL;
  if (cfg->client_id && *cfg->client_id) {
    id = g_strdup (cfg->client_id);
  } else {
    gchar *uuid = g_uuid_string_random ();
    id = g_strconcat ("attentionjson-", uuid, NULL);
    g_free (uuid);
  }
  p->key_password = g_strdup (cfg->key_password);
  p->mosq = mosquitto_new (id, true, p);
  g_free (id);
  if (!p->mosq) {
    *error = g_strdup_printf ("could not create an MQTT client: %s",
        g_strerror (errno));
    attn_mqtt_publisher_free (p);
    return NULL;
  }
  /* our threads call mosquitto_loop and mosquitto_publish */
  mosquitto_threaded_set (p->mosq, true);
  mosquitto_connect_callback_set (p->mosq, on_connect);
  mosquitto_disconnect_callback_set (p->mosq, on_disconnect);
  mosquitto_publish_callback_set (p->mosq, on_publish);
  mosquitto_log_callback_set (p->mosq, on_log);
  mosquitto_max_inflight_messages_set (p->mosq, WINDOW);
  if (cfg->port < 1 || cfg->port > 65535) {
    *error = g_strdup ("invalid broker port");
    attn_mqtt_publisher_free (p);
    return NULL;
  }
  if (!set_options (p, cfg, error)) {
    attn_mqtt_publisher_free (p);
    return NULL;
  }
  /* a refused or unanswered connection is retried by the network thread */
  p->network = g_thread_new ("attn-mqtt-net", network, p);
  p->drainer = g_thread_new ("attn-mqtt", drain, p);
  return p;
}

void
attn_mqtt_publisher_push (AttnMqttPublisher *p, const gchar *line, gsize len)
{
  GBytes *b = g_bytes_new (line, len);
  GBytes *old = NULL;
  gboolean first_drop = FALSE;
  g_mutex_lock (&p->lock);
  if (p->queue.length >= p->capacity) {
    old = g_queue_pop_head (&p->queue);
    p->dropped++;
    first_drop = !p->reported_drop;
    p->reported_drop = TRUE;
  }
  g_queue_push_tail (&p->queue, b);
  g_cond_broadcast (&p->cond);
  g_mutex_unlock (&p->lock);
  if (old)
    g_bytes_unref (old);
  if (first_drop)
    p->func (p->user_data, ATTN_MQTT_FIRST_DROP, NULL);
}

void
attn_mqtt_publisher_get_counts (AttnMqttPublisher *p, guint64 *published,
    guint64 *dropped)
{
  g_mutex_lock (&p->lock);
  *published = p->published;
  *dropped = p->dropped;
  g_mutex_unlock (&p->lock);
}

void
attn_mqtt_publisher_flush (AttnMqttPublisher *p, guint timeout_ms)
{
  g_mutex_lock (&p->lock);
  gint64 deadline = g_get_monotonic_time () +
      (gint64) timeout_ms * G_TIME_SPAN_MILLISECOND;
  /* connected, or still making the first connection with no failure yet */
  while ((p->connected || (!p->ever_connected && !p->failed_attempts))
      && (p->queue.length || p->outstanding)
      && g_cond_wait_until (&p->cond, &p->lock, deadline));
  g_mutex_unlock (&p->lock);
}

void
attn_mqtt_publisher_free (AttnMqttPublisher *p)
{
  if (!p)
    return;
  g_mutex_lock (&p->lock);
  g_atomic_int_set (&p->stopping, TRUE);
  g_cond_broadcast (&p->cond);
  g_mutex_unlock (&p->lock);
  if (p->drainer)
    g_thread_join (p->drainer);
  /* queues a DISCONNECT and wakes mosquitto_loop; the network thread then
   * sees `stopping` within LOOP_MS, or at once in its back-off wait */
  if (p->mosq)
    mosquitto_disconnect (p->mosq);
  if (p->network)
    g_thread_join (p->network);
  if (p->mosq)
    mosquitto_destroy (p->mosq);
  g_queue_clear_full (&p->queue, (GDestroyNotify) g_bytes_unref);
  g_free (p->last_error);
  g_free (p->attempt_error);
  if (p->key_password) {
    for (volatile gchar *c = p->key_password; *c; c++)
      *c = 0;
    g_free (p->key_password);
  }
  g_free (p->host);
  g_free (p->topic);
  g_cond_clear (&p->cond);
  g_mutex_clear (&p->lock);
  g_free (p);
}
