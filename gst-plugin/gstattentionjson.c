/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-attentionjson
 * @title: attentionjson
 *
 * Writes one JSON object per frame (JSON Lines) describing the attention
 * meta on it — frame number, timestamp, producer, model, top classes, the
 * attended region in pixels, and on request every attention map — to a file
 * or stdout, for tools and dashboards. Passthrough: buffers are never
 * touched. Every line is strict JSON (RFC 8259: valid UTF-8, no NaN or
 * infinity); the schema, versioned by its `version` field, is in
 * docs/json-output.md.
 *
 * With several attention producers upstream (two `attentioninfer`), the
 * nearest one's meta is written, or the one `producer` names;
 * `all-producers` adds every one's under `results`.
 *
 * With `method=mqtt` each line (without its newline) is published instead
 * to the MQTT broker at `address` on `topic`, as DL Streamer's
 * `gvametapublish` does: through a bounded queue drained by libmosquitto's
 * network thread, so a slow or absent broker never holds up the video;
 * lines that do not fit are dropped and counted (`dropped`), and the
 * connection is retried with back-off up to `max-reconnect-interval`
 * (forever, or `max-connect-attempts` times before the first connection,
 * then an error). `username` and `password` log in; `tls=true` encrypts,
 * checking the broker's certificate against `ssl-ca-certificate` (or the
 * system's CAs), with an optional client certificate; `mqtt-config` reads
 * these from gvametapublish's JSON file instead.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc pattern=ball num-buffers=10 ! attentioninfer ! attentionjson location=attention.jsonl ! fakesink
 * gst-launch-1.0 videotestsrc pattern=ball ! attentioninfer ! attentionjson method=mqtt address=127.0.0.1:1883 topic=attention ! fakesink
 * gst-launch-1.0 videotestsrc pattern=ball ! attentioninfer ! attentionjson method=mqtt address=broker.example:8883 topic=attention tls=true ssl-ca-certificate=ca.crt mqtt-config=login.json ! fakesink
 * ]|
 */
#include "gstattentionjson.h"
#include "mqttpublisher.h"

#include <errno.h>
#include <gst/attention/attention-meta.h>
#include <gst/video/video.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_attention_json_debug);
#define GST_CAT_DEFAULT gst_attention_json_debug

/* the schema's version: 2 renamed roi to region, peak_x/peak_y to
 * centroid_x/centroid_y, put the maps' areas in pixels and added producer */
#define SCHEMA_VERSION 2

#define DEFAULT_ADDRESS "127.0.0.1:1883"
#define DEFAULT_TOPIC "gst-attention"
#define DEFAULT_MAX_RECONNECT_INTERVAL 30
/* lines held while the broker is slow or away: about 10 s at 25 fps */
#define MQTT_QUEUE_LINES 256
/* at stop, how long queued lines may still be published */
#define MQTT_FLUSH_MS 2000

typedef enum {
  GST_ATTENTION_JSON_METHOD_FILE,
  GST_ATTENTION_JSON_METHOD_MQTT,
} GstAttentionJsonMethod;

#define GST_TYPE_ATTENTION_JSON_METHOD (gst_attention_json_method_get_type ())
static GType
gst_attention_json_method_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_ATTENTION_JSON_METHOD_FILE, "A file or stdout (location)", "file"},
    {GST_ATTENTION_JSON_METHOD_MQTT, "An MQTT broker (address, topic)",
        "mqtt"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type,
        g_enum_register_static ("GstAttentionJsonMethod", values));
  return type;
}

enum {
  PROP_0,
  PROP_LOCATION,
  PROP_INCLUDE_MAPS,
  PROP_PRODUCER,
  PROP_ALL_PRODUCERS,
  PROP_METHOD,
  PROP_ADDRESS,
  PROP_TOPIC,
  PROP_MQTT_CLIENT_ID,
  PROP_QOS,
  PROP_MAX_RECONNECT_INTERVAL,
  PROP_PUBLISHED,
  PROP_DROPPED,
  PROP_MAX_CONNECT_ATTEMPTS,
  PROP_USERNAME,
  PROP_PASSWORD,
  PROP_TLS,
  PROP_SSL_CA_CERTIFICATE,
  PROP_SSL_CLIENT_CERTIFICATE,
  PROP_SSL_PRIVATE_KEY,
  PROP_SSL_PRIVATE_KEY_PASSWORD,
  PROP_SSL_VERIFY,
  PROP_MQTT_CONFIG,
};

struct _GstAttentionJson {
  GstBaseTransform parent;

  GMutex lock;
  gchar *location;
  gboolean include_maps;
  gchar *producer;
  gboolean all_producers;
  gboolean started;
  GstAttentionJsonMethod method;
  gchar *address, *topic, *client_id;
  gint qos;
  guint max_reconnect_interval;
  guint max_connect_attempts;
  gchar *username, *password;   /* password: never read back nor logged */
  gchar *key_password;          /* likewise */
  gboolean tls, ssl_verify;
  gchar *ca_file, *cert_file, *key_file;
  gchar *mqtt_config;
  gchar *active_address;        /* the broker of this run (mqtt-config may
                                 * name another than `address`) */
  guint active_attempts;        /* and its max-connect-attempts */
  AttnMqttPublisher *mqtt;      /* set at start, freed at stop */
  guint64 published, dropped;   /* the last run's, once mqtt is freed */

  FILE *out;                    /* streaming thread only */
  gboolean own_file;
  GString *line;                /* reused for every frame */
  guint64 count;                /* frames written */
  gint width, height;
};

#define gst_attention_json_parent_class parent_class
G_DEFINE_TYPE (GstAttentionJson, gst_attention_json, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (attentionjson, "attentionjson", GST_RANK_NONE,
    GST_TYPE_ATTENTION_JSON);

static gboolean
to_stdout (const gchar *location)
{
  return !location || !*location || strcmp (location, "-") == 0;
}

/* Frees a string that held a secret after overwriting it. */
static void
free_secret (gchar *secret)
{
  if (!secret)
    return;
  for (volatile gchar *c = secret; *c; c++)
    *c = 0;
  g_free (secret);
}

/* From the publisher's threads: what the user should hear of. */
static void
mqtt_event (gpointer user_data, AttnMqttEvent event, const gchar *detail)
{
  GstAttentionJson *self = user_data;
  g_mutex_lock (&self->lock);
  gchar *address = g_strdup (self->active_address);
  guint attempts = self->active_attempts;
  g_mutex_unlock (&self->lock);
  switch (event) {
    case ATTN_MQTT_CONNECTED:
      GST_INFO_OBJECT (self, "connected to the MQTT broker at %s", address);
      break;
    case ATTN_MQTT_NOT_CONNECTED:
      GST_ELEMENT_WARNING (self, RESOURCE, OPEN_WRITE,
          ("Could not connect to the MQTT broker at %s (%s); JSON lines are "
              "queued (the oldest dropped past %d) and the connection is "
              "retried.", address, detail, MQTT_QUEUE_LINES), ("%s", detail));
      break;
    case ATTN_MQTT_DISCONNECTED:
      GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
          ("Lost the connection to the MQTT broker at %s; reconnecting.",
              address), ("%s", detail));
      break;
    case ATTN_MQTT_FIRST_DROP:
      GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
          ("The MQTT queue to %s is full: the oldest JSON lines are being "
              "dropped (the \"dropped\" property counts them).", address),
          ("more than %d lines waiting", MQTT_QUEUE_LINES));
      break;
    case ATTN_MQTT_GAVE_UP:
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
          ("Could not connect to the MQTT broker at %s: %s. Gave up after "
              "%u failed attempt%s (max-connect-attempts).", address, detail,
              attempts, attempts == 1 ? "" : "s"), ("%s", detail));
      break;
  }
  g_free (address);
}

/* The MQTT settings of one run: the properties, then what the mqtt-config
 * file sets. All owned. */
typedef struct {
  gchar *address, *topic, *client_id, *username, *password;
  gchar *ca_file, *cert_file, *key_file, *key_password;
  gint qos;
  guint max_reconnect_interval, max_connect_attempts;
  gboolean tls, verify_peer, verify_hostname;
} MqttSettings;

static void
mqtt_settings_clear (MqttSettings *m)
{
  g_free (m->address);
  g_free (m->topic);
  g_free (m->client_id);
  g_free (m->username);
  free_secret (m->password);
  g_free (m->ca_file);
  g_free (m->cert_file);
  g_free (m->key_file);
  free_secret (m->key_password);
}

/* A string member (null: left as it is) into *dst. */
static gboolean
config_string (JsonNode *node, const gchar *key, gchar **dst, gchar **why)
{
  if (JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING) {
    *why = g_strdup_printf ("\"%s\" must be a string", key);
    return FALSE;
  }
  if (g_str_equal (key, "password")
      || g_str_equal (key, "ssl_private_key_pwd"))
    free_secret (*dst);
  else
    g_free (*dst);
  *dst = g_strdup (json_node_get_string (node));
  return TRUE;
}

/* An integer member in [lo, hi] (booleans count as 0 and 1). */
static gboolean
config_int (JsonNode *node, const gchar *key, gint64 lo, gint64 hi,
    gint64 *v, gchar **why)
{
  GType t = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node)
      : G_TYPE_INVALID;
  if (t == G_TYPE_INT64)
    *v = json_node_get_int (node);
  else if (t == G_TYPE_BOOLEAN)
    *v = json_node_get_boolean (node);
  if ((t != G_TYPE_INT64 && t != G_TYPE_BOOLEAN) || *v < lo || *v > hi) {
    *why = g_strdup_printf ("\"%s\" must be an integer from %" G_GINT64_FORMAT
        " to %" G_GINT64_FORMAT, key, lo, hi);
    return FALSE;
  }
  return TRUE;
}

/* DL Streamer gvametapublish's mqtt-config file: a JSON object whose members
 * override the properties (null members are ignored). FALSE with *why. */
static gboolean
read_mqtt_config (const gchar *path, MqttSettings *m, gchar **why)
{
  JsonParser *parser = json_parser_new ();
  GError *err = NULL;
  gboolean ok = FALSE;
  if (!json_parser_load_from_file (parser, path, &err)) {
    *why = g_strdup (err->message);
    g_error_free (err);
    goto done;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    *why = g_strdup ("the file does not hold a JSON object");
    goto done;
  }
  JsonObjectIter it;
  const gchar *key;
  JsonNode *node;
  json_object_iter_init (&it, json_node_get_object (root));
  while (json_object_iter_next (&it, &key, &node)) {
    gint64 v = 0;
    gboolean good = TRUE;
    if (JSON_NODE_HOLDS_NULL (node))
      continue;
    if (g_str_equal (key, "address"))
      good = config_string (node, key, &m->address, why);
    else if (g_str_equal (key, "client-id"))
      good = config_string (node, key, &m->client_id, why);
    else if (g_str_equal (key, "topic"))
      good = config_string (node, key, &m->topic, why);
    else if (g_str_equal (key, "username"))
      good = config_string (node, key, &m->username, why);
    else if (g_str_equal (key, "password"))
      good = config_string (node, key, &m->password, why);
    else if (g_str_equal (key, "ssl_CA_certificate"))
      good = config_string (node, key, &m->ca_file, why);
    else if (g_str_equal (key, "ssl_client_certificate"))
      good = config_string (node, key, &m->cert_file, why);
    else if (g_str_equal (key, "ssl_private_key"))
      good = config_string (node, key, &m->key_file, why);
    else if (g_str_equal (key, "ssl_private_key_pwd"))
      good = config_string (node, key, &m->key_password, why);
    else if (g_str_equal (key, "max-connect-attempts")) {
      /* gvametapublish's -1 (and our 0): try forever */
      if ((good = config_int (node, key, -1, 1000, &v, why)))
        m->max_connect_attempts = v < 0 ? 0 : (guint) v;
    } else if (g_str_equal (key, "max-reconnect-interval")) {
      if ((good = config_int (node, key, 1, 300, &v, why)))
        m->max_reconnect_interval = (guint) v;
    } else if (g_str_equal (key, "TLS")) {
      if ((good = config_int (node, key, 0, 1, &v, why)))
        m->tls = v != 0;
    } else if (g_str_equal (key, "ssl_verify")) {
      if ((good = config_int (node, key, 0, 1, &v, why)))
        m->verify_hostname = v != 0;
    } else if (g_str_equal (key, "ssl_enable_server_cert_auth")) {
      if ((good = config_int (node, key, 0, 1, &v, why)))
        m->verify_peer = v != 0;
    } else {
      *why = g_strdup_printf ("unknown key \"%s\" (known: address, client-id, "
          "topic, username, password, max-connect-attempts, "
          "max-reconnect-interval, TLS, ssl_verify, "
          "ssl_enable_server_cert_auth, ssl_CA_certificate, "
          "ssl_client_certificate, ssl_private_key, "
          "ssl_private_key_pwd)", key);
      good = FALSE;
    }
    if (!good)
      goto done;
  }
  ok = TRUE;
done:
  g_object_unref (parser);
  return ok;
}

/* A readable PEM file (`what` names it for the user), or FALSE with *why. */
typedef enum { NOT_KEY, KEY_NO_PASSWORD, KEY_WITH_PASSWORD } PemKind;

static gboolean
check_pem (const gchar *path, const gchar *what, PemKind key, gchar **why)
{
  gchar *text = NULL;
  GError *err = NULL;
  if (!g_file_get_contents (path, &text, NULL, &err)) {
    *why = g_strdup_printf ("the %s cannot be read: %s", what, err->message);
    g_error_free (err);
    return FALSE;
  }
  if (!strstr (text, "-----BEGIN "))
    *why = g_strdup_printf ("the %s \"%s\" is not a PEM file (no "
        "\"-----BEGIN\" line)", what, path);
  else if (key == KEY_NO_PASSWORD && strstr (text, "ENCRYPTED"))
    *why = g_strdup_printf ("the %s \"%s\" is encrypted with a passphrase; "
        "give it in ssl-private-key-password, or an unencrypted key", what,
        path);
  if (key != NOT_KEY)
    free_secret (text);
  else
    g_free (text);
  return *why == NULL;
}

/* What is wrong with the settings before anything connects, or NULL. */
static gchar *
mqtt_settings_check (const MqttSettings *m)
{
  gchar *why = NULL;
  if (!m->tls && (m->ca_file || m->cert_file || m->key_file))
    return g_strdup ("a TLS file (ssl-ca-certificate, ssl-client-certificate "
        "or ssl-private-key) is set but tls is false; set tls=true, or unset "
        "the files");
  if (!m->tls)
    return NULL;
  if (m->ca_file && !check_pem (m->ca_file, "CA file (ssl-ca-certificate)",
          NOT_KEY, &why))
    return why;
  if (m->cert_file && !check_pem (m->cert_file, "client certificate "
          "(ssl-client-certificate)", NOT_KEY, &why))
    return why;
  if (m->key_password && !m->key_file)
    return g_strdup ("ssl-private-key-password is set but there is no "
        "ssl-private-key");
  if (m->key_file && !check_pem (m->key_file, "private key (ssl-private-key)",
          m->key_password ? KEY_WITH_PASSWORD : KEY_NO_PASSWORD, &why))
    return why;
  return NULL;
}

static gboolean
start_mqtt (GstAttentionJson *self)
{
  MqttSettings m = { 0 };
  g_mutex_lock (&self->lock);
  m.address = g_strdup (self->address);
  m.topic = g_strdup (self->topic);
  m.client_id = g_strdup (self->client_id);
  m.username = g_strdup (self->username);
  m.password = g_strdup (self->password);
  m.ca_file = g_strdup (self->ca_file);
  m.cert_file = g_strdup (self->cert_file);
  m.key_file = g_strdup (self->key_file);
  m.key_password = g_strdup (self->key_password);
  m.qos = self->qos;
  m.max_reconnect_interval = self->max_reconnect_interval;
  m.max_connect_attempts = self->max_connect_attempts;
  m.tls = self->tls;
  m.verify_peer = m.verify_hostname = self->ssl_verify;
  gchar *config = g_strdup (self->mqtt_config);
  self->published = self->dropped = 0;
  g_mutex_unlock (&self->lock);
  gchar *host = NULL, *err = NULL;
  guint port = 0;
  const gchar *why = NULL;
  gboolean ok = FALSE;
  if (config && *config && !read_mqtt_config (config, &m, &err)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Could not use the MQTT configuration file \"%s\" (mqtt-config): "
            "%s.", config, err), (NULL));
  } else if (!attn_mqtt_parse_address (m.address, &host, &port, &why)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("The MQTT address \"%s\" is not HOST:PORT: %s.",
            m.address ? m.address : "", why), (NULL));
  } else if (!m.topic || !*m.topic || strpbrk (m.topic, "+#")) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("The MQTT topic \"%s\" cannot be published to (empty, or holds "
            "the wildcard '+' or '#').", m.topic ? m.topic : ""), (NULL));
  } else if ((err = mqtt_settings_check (&m))) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Cannot publish to the MQTT broker at %s: %s.", m.address, err),
        (NULL));
  } else {
    AttnMqttConfig cfg = {
      .host = host,.port = port,.client_id = m.client_id,.topic = m.topic,
      .qos = m.qos,.max_reconnect_interval = m.max_reconnect_interval,
      .queue_size = MQTT_QUEUE_LINES,
      .max_connect_attempts = m.max_connect_attempts,
      .username = m.username && *m.username ? m.username : NULL,
      .password = m.password,
      .tls = m.tls,.ca_file = m.ca_file,.cert_file = m.cert_file,
      .key_file = m.key_file,.key_password = m.key_password,
      .verify_peer = m.verify_peer,
      .verify_hostname = m.verify_hostname,
    };
    g_mutex_lock (&self->lock);
    g_free (self->active_address);
    self->active_address = g_strdup (m.address);
    self->active_attempts = m.max_connect_attempts;
    g_mutex_unlock (&self->lock);
    self->mqtt = attn_mqtt_publisher_new (&cfg, mqtt_event, self, &err);
    if (!self->mqtt)
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("Could not set up publishing to the MQTT broker at %s: %s.",
              m.address, err), ("%s", err));
    ok = self->mqtt != NULL;
  }
  g_free (err);
  g_free (host);
  g_free (config);
  mqtt_settings_clear (&m);
  return ok;
}

static gboolean
gst_attention_json_start (GstBaseTransform *trans)
{
  GstAttentionJson *self = GST_ATTENTION_JSON (trans);
  g_mutex_lock (&self->lock);
  gboolean mqtt = self->method == GST_ATTENTION_JSON_METHOD_MQTT;
  gchar *loc = g_strdup (self->location);
  g_mutex_unlock (&self->lock);
  self->count = 0;
  if (mqtt) {
    g_free (loc);
    if (!start_mqtt (self))
      return FALSE;
  } else if (to_stdout (loc)) {
    self->out = stdout;
    self->own_file = FALSE;
  } else {
    self->out = fopen (loc, "w");
    if (!self->out) {
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
          ("Could not open \"%s\" for writing.", loc), ("%s",
              g_strerror (errno)));
      g_free (loc);
      return FALSE;
    }
    self->own_file = TRUE;
  }
  if (!mqtt)
    g_free (loc);
  self->line = g_string_sized_new (4096);
  g_mutex_lock (&self->lock);
  self->started = TRUE;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
gst_attention_json_stop (GstBaseTransform *trans)
{
  GstAttentionJson *self = GST_ATTENTION_JSON (trans);
  if (self->own_file && self->out)
    fclose (self->out);
  self->out = NULL;
  if (self->mqtt) {
    /* the lines still queued get a moment to reach a connected broker */
    attn_mqtt_publisher_flush (self->mqtt, MQTT_FLUSH_MS);
    g_mutex_lock (&self->lock);
    AttnMqttPublisher *p = self->mqtt;
    attn_mqtt_publisher_get_counts (p, &self->published, &self->dropped);
    self->mqtt = NULL;
    g_mutex_unlock (&self->lock);
    attn_mqtt_publisher_free (p);
  }
  if (self->line)
    g_string_free (self->line, TRUE);
  self->line = NULL;
  g_mutex_lock (&self->lock);
  self->started = FALSE;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
gst_attention_json_set_caps (GstBaseTransform *trans, GstCaps *in,
    GstCaps *out)
{
  GstAttentionJson *self = GST_ATTENTION_JSON (trans);
  GstVideoInfo info;
  if (!gst_video_info_from_caps (&info, in))
    return FALSE;
  self->width = info.width;
  self->height = info.height;
  return TRUE;
}

/* ---- a strict JSON writer ------------------------------------------------ */

/* A string literal: valid UTF-8 out whatever comes in (invalid bytes become
 * U+FFFD), quotes, backslashes and control characters escaped. */
static void
put_string (GString *s, const gchar *str)
{
  g_string_append_c (s, '"');
  const gchar *p = str ? str : "";
  while (*p) {
    gunichar c = g_utf8_get_char_validated (p, -1);
    if (c == (gunichar) - 1 || c == (gunichar) - 2) {
      g_string_append (s, "\\ufffd");
      p++;
      continue;
    }
    if (c == '"' || c == '\\') {
      g_string_append_c (s, '\\');
      g_string_append_c (s, (gchar) c);
    } else if (c < 0x20) {
      g_string_append_printf (s, "\\u%04x", c);
    } else {
      g_string_append_len (s, p, g_utf8_next_char (p) - p);
    }
    p = g_utf8_next_char (p);
  }
  g_string_append_c (s, '"');
}

static void
put_key (GString *s, const gchar *key)
{
  if (s->len && s->str[s->len - 1] != '{' && s->str[s->len - 1] != '[')
    g_string_append_c (s, ',');
  put_string (s, key);
  g_string_append_c (s, ':');
}

/* A number with at most `decimals` decimals, trailing zeros dropped; null
 * for NaN and infinities, which JSON cannot write. */
static void
put_number (GString *s, gdouble v, gint decimals)
{
  if (!isfinite (v)) {
    g_string_append (s, "null");
    return;
  }
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
  gchar fmt[8];
  g_snprintf (fmt, sizeof fmt, "%%.%df", decimals);
  g_ascii_formatd (buf, sizeof buf, fmt, v);
  if (strchr (buf, '.')) {
    gsize n = strlen (buf);
    while (buf[n - 1] == '0')
      buf[--n] = 0;
    if (buf[n - 1] == '.')
      buf[--n] = 0;
  }
  if (strcmp (buf, "-0") == 0)
    strcpy (buf, "0");
  g_string_append (s, buf);
}

static void
put_int (GString *s, gint64 v)
{
  g_string_append_printf (s, "%" G_GINT64_FORMAT, v);
}

static void
put_bool (GString *s, gboolean v)
{
  g_string_append (s, v ? "true" : "false");
}

static void
sep (GString *s)
{
  if (s->str[s->len - 1] != '[')
    g_string_append_c (s, ',');
}

/* ---- the frame's line ---------------------------------------------------- */

/* A map's size, area (frame pixels) and values, into the open object. */
static void
put_map_fields (GstAttentionJson *self, GString *s, const GstAttentionMap *mp,
                gint decimals)
{
  gdouble fw = self->width, fh = self->height;
  put_key (s, "width");
  put_int (s, mp->width);
  put_key (s, "height");
  put_int (s, mp->height);
  const gchar *k[4] = { "x", "y", "w", "h" };
  const gdouble v[4] = { mp->x * fw, mp->y * fh, mp->w * fw, mp->h * fh };
  for (int j = 0; j < 4; j++) {
    put_key (s, k[j]);
    put_number (s, v[j], 2);
  }
  put_key (s, "data");
  g_string_append_c (s, '[');
  for (guint j = 0; j < mp->width * mp->height; j++) {
    sep (s);
    put_number (s, mp->data[j], decimals);
  }
  g_string_append_c (s, ']');
}

/* The fields of one result, into the open object: the producer's, and
 * whether it was computed on an earlier frame. */
static void
put_result (GstAttentionJson *self, GString *s, const gchar *producer,
            gboolean stale, const GstAttentionResult *r, gboolean maps)
{
  gdouble fw = self->width, fh = self->height;
  put_key (s, "producer");
  put_string (s, producer);
  put_key (s, "model");
  put_string (s, r->model);
  put_key (s, "stale");
  put_bool (s, stale);
  put_key (s, "computed_on");
  put_int (s, (gint64) r->frame);
  put_key (s, "inference_ns");
  put_int (s, (gint64) r->inference_ns);
  put_key (s, "classes");
  g_string_append_c (s, '[');
  for (guint i = 0; i < r->n_classes; i++) {
    sep (s);
    g_string_append_c (s, '{');
    put_key (s, "index");
    put_int (s, r->classes[i].index);
    put_key (s, "label");
    put_string (s, r->classes[i].label);
    put_key (s, "score");
    put_number (s, r->classes[i].score, 6);
    g_string_append_c (s, '}');
  }
  g_string_append_c (s, ']');
  put_key (s, "region");
  gint x, y, w, h;
  if (gst_attention_result_get_region_pixels (r, self->width, self->height,
          &x, &y, &w, &h)) {
    g_string_append_c (s, '{');
    put_key (s, "x");
    put_int (s, x);
    put_key (s, "y");
    put_int (s, y);
    put_key (s, "w");
    put_int (s, w);
    put_key (s, "h");
    put_int (s, h);
    put_key (s, "score");
    put_number (s, r->region.score, 4);
    put_key (s, "peak");
    put_number (s, r->region.peak, 4);
    put_key (s, "centroid_x");
    put_number (s, r->region.centroid_x * fw, 1);
    put_key (s, "centroid_y");
    put_number (s, r->region.centroid_y * fh, 1);
    g_string_append_c (s, '}');
  } else {
    g_string_append (s, "null");
  }
  if (r->has_theta) {
    /* the Spatial Transformer: θ, and where it looks, in frame pixels */
    put_key (s, "theta");
    g_string_append_c (s, '[');
    for (guint i = 0; i < 6; i++) {
      sep (s);
      put_number (s, r->theta[i], 6);
    }
    g_string_append_c (s, ']');
    put_key (s, "quad");
    g_string_append_c (s, '[');
    for (guint i = 0; i < 4; i++) {
      sep (s);
      g_string_append_c (s, '[');
      put_number (s, r->quad[2 * i] * fw, 1);
      g_string_append_c (s, ',');
      put_number (s, r->quad[2 * i + 1] * fh, 1);
      g_string_append_c (s, ']');
    }
    g_string_append_c (s, ']');
  }
  if (r->sentence) {
    /* an encoder–decoder model's sentence, token by token, without the end
     * token; with maps, each token's attention (it sums to 1) */
    put_key (s, "sentence");
    put_string (s, r->sentence);
    put_key (s, "sequence");
    g_string_append_c (s, '[');
    for (guint i = 0; i < r->n_tokens; i++) {
      const GstAttentionToken *t = &r->tokens[i];
      sep (s);
      g_string_append_c (s, '{');
      put_key (s, "token");
      put_string (s, t->text);
      put_key (s, "score");
      put_number (s, t->score, 6);
      put_key (s, "id");
      put_int (s, t->id);
      if (maps) {
        put_key (s, "alpha");
        g_string_append_c (s, '{');
        put_map_fields (self, s, &t->alpha, 6);
        g_string_append_c (s, '}');
      }
      g_string_append_c (s, '}');
    }
    g_string_append_c (s, ']');
  }
  if (!maps)
    return;
  put_key (s, "maps");
  g_string_append_c (s, '[');
  for (guint i = 0; i < r->n_maps; i++) {
    sep (s);
    g_string_append_c (s, '{');
    put_key (s, "name");
    put_string (s, r->maps[i].name);
    put_map_fields (self, s, &r->maps[i], 4);
    g_string_append_c (s, '}');
  }
  g_string_append_c (s, ']');
}

/* "objects": the regions of interest a producer classified (attentioninfer
 * inference-region=roi-list), in the order they were attached: the
 * region's id, type and rectangle (pixels), then its result's fields.
 * "patches" (`patches`): a producer's coarse-to-fine patches (attentioninfer
 * patches=N), most salient first: the rectangle (pixels), the saliency that
 * chose it, then the fine model's result on it, "stale" when the patch was
 * carried over from an earlier frame's pass. */
static void
put_regions (GstAttentionJson *self, GString *s, GstBuffer *buf,
             const gchar *producer, gboolean maps, gboolean patches)
{
  put_key (s, patches ? "patches" : "objects");
  g_string_append_c (s, '[');
  GstVideoRegionOfInterestMeta *roi;
  for (guint i = 0; (roi = patches
          ? gst_buffer_get_attention_patch (buf, producer, i)
          : gst_buffer_get_attention_object (buf, producer, i)); i++) {
    const GstAttentionResult *r = gst_attention_roi_get_result (roi,
        producer);
    const gchar *by = gst_attention_roi_get_producer (roi, producer);
    sep (s);
    g_string_append_c (s, '{');
    if (!patches) {
      put_key (s, "id");
      put_int (s, roi->id);
      put_key (s, "type");
      put_string (s, g_quark_to_string (roi->roi_type));
    }
    const gchar *k[4] = { "x", "y", "w", "h" };
    const guint v[4] = { roi->x, roi->y, roi->w, roi->h };
    for (int j = 0; j < 4; j++) {
      put_key (s, k[j]);
      put_int (s, v[j]);
    }
    gboolean stale = FALSE;
    if (patches) {
      const GstStructure *p =
          gst_video_region_of_interest_meta_get_param (roi, "attention");
      gdouble saliency = 0;
      gst_structure_get_double (p, "saliency", &saliency);
      gst_structure_get_boolean (p, "stale", &stale);
      put_key (s, "saliency");
      put_number (s, saliency, 4);
    }
    put_result (self, s, by, stale, r, maps);
    g_string_append_c (s, '}');
  }
  g_string_append_c (s, ']');
}

static void
frame_json (GstAttentionJson *self, GString *s, GstBuffer *buf,
            const gchar *producer, gboolean maps, gboolean all)
{
  GstAttentionMeta *m = gst_buffer_get_attention_meta_by_producer (buf,
      producer);
  g_string_truncate (s, 0);
  g_string_append_c (s, '{');
  put_key (s, "version");
  put_int (s, SCHEMA_VERSION);
  /* one frame identity: the producer's number of this frame, the same
   * counter computed_on uses */
  put_key (s, "frame");
  if (m)
    put_int (s, (gint64) m->frame);
  else
    g_string_append (s, "null");
  put_key (s, "pts");
  if (GST_BUFFER_PTS_IS_VALID (buf))
    put_int (s, (gint64) GST_BUFFER_PTS (buf));
  else
    g_string_append (s, "null");
  put_key (s, "width");
  put_int (s, self->width);
  put_key (s, "height");
  put_int (s, self->height);
  put_key (s, "attention");
  put_bool (s, m != NULL);
  if (m)
    put_result (self, s, m->producer, m->stale, m->result, maps);
  if (all) {
    put_key (s, "results");
    g_string_append_c (s, '[');
    /* nearest producer first */
    guint n = gst_buffer_get_n_attention_metas (buf);
    for (guint order = G_MAXUINT, done = 0; done < n; done++) {
      GstAttentionMeta *best = NULL;
      gpointer state = NULL;
      GstMeta *meta;
      while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
                  GST_ATTENTION_META_API_TYPE))) {
        GstAttentionMeta *am = (GstAttentionMeta *) meta;
        if (am->order < order && (!best || am->order > best->order))
          best = am;
      }
      if (!best)
        break;
      order = best->order;
      sep (s);
      g_string_append_c (s, '{');
      put_key (s, "frame");
      put_int (s, (gint64) best->frame);
      put_result (self, s, best->producer, best->stale, best->result, maps);
      g_string_append_c (s, '}');
    }
    g_string_append_c (s, ']');
  }
  put_regions (self, s, buf, producer, maps, FALSE);
  put_regions (self, s, buf, producer, maps, TRUE);
  g_string_append (s, "}\n");
}

static GstFlowReturn
gst_attention_json_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  GstAttentionJson *self = GST_ATTENTION_JSON (trans);
  g_mutex_lock (&self->lock);
  gboolean maps = self->include_maps, all = self->all_producers;
  const gchar *producer = g_intern_string (self->producer);
  g_mutex_unlock (&self->lock);
  frame_json (self, self->line, buf, producer, maps, all);
  self->count++;
  if (self->mqtt) {
    /* one message per frame: the line without its newline */
    attn_mqtt_publisher_push (self->mqtt, self->line->str, self->line->len - 1);
    return GST_FLOW_OK;
  }
  gboolean ok = fwrite (self->line->str, 1, self->line->len, self->out)
      == self->line->len && fflush (self->out) == 0;
  if (!ok) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE, ("Could not write JSON."),
        ("%s", g_strerror (errno)));
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

static void
gst_attention_json_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  GstAttentionJson *self = GST_ATTENTION_JSON (object);
  g_mutex_lock (&self->lock);
  switch (prop_id) {
    case PROP_LOCATION:
      if (self->started) {
        /* as filesink: the file is open, a new name would be ignored */
        g_mutex_unlock (&self->lock);
        GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
            ("Changing the location while the element runs is not "
                "supported; still writing to the file opened at start."),
            (NULL));
        return;
      }
      g_free (self->location);
      self->location = g_value_dup_string (value);
      break;
    case PROP_INCLUDE_MAPS:
      self->include_maps = g_value_get_boolean (value);
      break;
    case PROP_PRODUCER:
      g_free (self->producer);
      self->producer = g_value_dup_string (value);
      break;
    case PROP_ALL_PRODUCERS:
      self->all_producers = g_value_get_boolean (value);
      break;
    case PROP_METHOD:
      self->method = g_value_get_enum (value);
      break;
    case PROP_ADDRESS:
      g_free (self->address);
      self->address = g_value_dup_string (value);
      break;
    case PROP_TOPIC:
      g_free (self->topic);
      self->topic = g_value_dup_string (value);
      break;
    case PROP_MQTT_CLIENT_ID:
      g_free (self->client_id);
      self->client_id = g_value_dup_string (value);
      break;
    case PROP_QOS:
      self->qos = g_value_get_int (value);
      break;
    case PROP_MAX_RECONNECT_INTERVAL:
      self->max_reconnect_interval = g_value_get_uint (value);
      break;
    case PROP_MAX_CONNECT_ATTEMPTS:
      self->max_connect_attempts = g_value_get_uint (value);
      break;
    case PROP_USERNAME:
      g_free (self->username);
      self->username = g_value_dup_string (value);
      break;
    case PROP_SSL_PRIVATE_KEY_PASSWORD:
      free_secret (self->key_password);
      self->key_password = g_value_dup_string (value);
      break;
    case PROP_PASSWORD:
      free_secret (self->password);
      self->password = g_value_dup_string (value);
      break;
    case PROP_TLS:
      self->tls = g_value_get_boolean (value);
      break;
    case PROP_SSL_CA_CERTIFICATE:
      g_free (self->ca_file);
      self->ca_file = g_value_dup_string (value);
      break;
    case PROP_SSL_CLIENT_CERTIFICATE:
      g_free (self->cert_file);
      self->cert_file = g_value_dup_string (value);
      break;
    case PROP_SSL_PRIVATE_KEY:
      g_free (self->key_file);
      self->key_file = g_value_dup_string (value);
      break;
    case PROP_SSL_VERIFY:
      self->ssl_verify = g_value_get_boolean (value);
      break;
    case PROP_MQTT_CONFIG:
      g_free (self->mqtt_config);
      self->mqtt_config = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  g_mutex_unlock (&self->lock);
}

static void
gst_attention_json_get_property (GObject *object, guint prop_id,
    GValue *value, GParamSpec *pspec)
{
  GstAttentionJson *self = GST_ATTENTION_JSON (object);
  g_mutex_lock (&self->lock);
  switch (prop_id) {
    case PROP_LOCATION:
      g_value_set_string (value, self->location);
      break;
    case PROP_INCLUDE_MAPS:
      g_value_set_boolean (value, self->include_maps);
      break;
    case PROP_PRODUCER:
      g_value_set_string (value, self->producer);
      break;
    case PROP_ALL_PRODUCERS:
      g_value_set_boolean (value, self->all_producers);
      break;
    case PROP_METHOD:
      g_value_set_enum (value, self->method);
      break;
    case PROP_ADDRESS:
      g_value_set_string (value, self->address);
      break;
    case PROP_TOPIC:
      g_value_set_string (value, self->topic);
      break;
    case PROP_MQTT_CLIENT_ID:
      g_value_set_string (value, self->client_id);
      break;
    case PROP_QOS:
      g_value_set_int (value, self->qos);
      break;
    case PROP_MAX_RECONNECT_INTERVAL:
      g_value_set_uint (value, self->max_reconnect_interval);
      break;
    case PROP_MAX_CONNECT_ATTEMPTS:
      g_value_set_uint (value, self->max_connect_attempts);
      break;
    case PROP_USERNAME:
      g_value_set_string (value, self->username);
      break;
    case PROP_TLS:
      g_value_set_boolean (value, self->tls);
      break;
    case PROP_SSL_CA_CERTIFICATE:
      g_value_set_string (value, self->ca_file);
      break;
    case PROP_SSL_CLIENT_CERTIFICATE:
      g_value_set_string (value, self->cert_file);
      break;
    case PROP_SSL_PRIVATE_KEY:
      g_value_set_string (value, self->key_file);
      break;
    case PROP_SSL_VERIFY:
      g_value_set_boolean (value, self->ssl_verify);
      break;
    case PROP_MQTT_CONFIG:
      g_value_set_string (value, self->mqtt_config);
      break;
    case PROP_PUBLISHED:
    case PROP_DROPPED:{
      guint64 published = self->published, dropped = self->dropped;
      if (self->mqtt)
        attn_mqtt_publisher_get_counts (self->mqtt, &published, &dropped);
      g_value_set_uint64 (value, prop_id == PROP_PUBLISHED ? published
          : dropped);
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  g_mutex_unlock (&self->lock);
}

static void
gst_attention_json_finalize (GObject *object)
{
  GstAttentionJson *self = GST_ATTENTION_JSON (object);
  g_free (self->location);
  g_free (self->producer);
  g_free (self->address);
  g_free (self->topic);
  g_free (self->client_id);
  g_free (self->username);
  free_secret (self->password);
  free_secret (self->key_password);
  g_free (self->ca_file);
  g_free (self->cert_file);
  g_free (self->key_file);
  g_free (self->mqtt_config);
  g_free (self->active_address);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_attention_json_class_init (GstAttentionJsonClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_attention_json_debug, "attentionjson", 0,
      "attention JSON output");
  gobject_class->set_property = gst_attention_json_set_property;
  gobject_class->get_property = gst_attention_json_get_property;
  gobject_class->finalize = gst_attention_json_finalize;

  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "File to write the JSON lines to (truncated at start); \"-\" or "
          "unset: stdout. Fixed while the element runs", NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_PRODUCER,
      g_param_spec_string ("producer", "Producer",
          "Write the attention meta of the producer element (or model) with "
          "this name; unset or empty: the nearest producer upstream", NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_ALL_PRODUCERS,
      g_param_spec_boolean ("all-producers", "All producers",
          "Also write every producer's meta, nearest first, under \"results\"",
          FALSE, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_INCLUDE_MAPS,
      g_param_spec_boolean ("include-maps", "Include maps",
          "Also write every attention map's values", FALSE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /* MQTT: gvametapublish's names (method, address, topic, mqtt-client-id,
   * max-reconnect-interval) so its pipelines read the same here */
  const GParamFlags ready = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY;
  g_object_class_install_property (gobject_class, PROP_METHOD,
      g_param_spec_enum ("method", "Method",
          "Where the JSON lines go: a file (location) or an MQTT broker "
          "(address, topic)", GST_TYPE_ATTENTION_JSON_METHOD,
          GST_ATTENTION_JSON_METHOD_FILE, ready));
  g_object_class_install_property (gobject_class, PROP_ADDRESS,
      g_param_spec_string ("address", "Address",
          "method=mqtt: the broker, HOST:PORT (or [IPv6]:PORT; HOST alone: "
          "port 1883)", DEFAULT_ADDRESS, ready));
  g_object_class_install_property (gobject_class, PROP_TOPIC,
      g_param_spec_string ("topic", "Topic",
          "method=mqtt: the topic each frame's line is published on",
          DEFAULT_TOPIC, ready));
  g_object_class_install_property (gobject_class, PROP_MQTT_CLIENT_ID,
      g_param_spec_string ("mqtt-client-id", "MQTT client id",
          "method=mqtt: the client id given to the broker; unset: a unique "
          "one (attentionjson-<uuid>)", NULL, ready));
  g_object_class_install_property (gobject_class, PROP_QOS,
      g_param_spec_int ("qos", "QoS",
          "method=mqtt: the MQTT quality of service, 0 (at most once), 1 (at "
          "least once) or 2 (exactly once)", 0, 2, 0, ready));
  g_object_class_install_property (gobject_class, PROP_MAX_RECONNECT_INTERVAL,
      g_param_spec_uint ("max-reconnect-interval", "Max reconnect interval",
          "method=mqtt: the longest wait, in seconds, between attempts to "
          "(re)connect; the wait starts at 1 s and grows each attempt",
          1, 300, DEFAULT_MAX_RECONNECT_INTERVAL, ready));
  g_object_class_install_property (gobject_class, PROP_PUBLISHED,
      g_param_spec_uint64 ("published", "Published",
          "method=mqtt: messages handed to the broker (written; acknowledged "
          "for qos 1 and 2) since start", 0, G_MAXUINT64, 0,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_DROPPED,
      g_param_spec_uint64 ("dropped", "Dropped",
          "method=mqtt: messages lost since start: the oldest lines when more "
          "than 256 wait for the broker, and qos 0 lines unsent when the "
          "connection drops", 0, G_MAXUINT64, 0,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_MAX_CONNECT_ATTEMPTS,
      g_param_spec_uint ("max-connect-attempts", "Max connect attempts",
          "method=mqtt: failed attempts to make the first connection after "
          "which the element posts an error and stops trying; 0: try "
          "forever (with a warning). Once connected, a lost connection is "
          "always retried", 0, 1000, 0, ready));
  g_object_class_install_property (gobject_class, PROP_USERNAME,
      g_param_spec_string ("username", "User name",
          "method=mqtt: the user name to log in to the broker with; unset: "
          "none", NULL, ready));
  /* write-only: never read back, so never printed by gst-inspect, -v or
   * the debug log of a property dump */
  g_object_class_install_property (gobject_class, PROP_PASSWORD,
      g_param_spec_string ("password", "Password",
          "method=mqtt: the password for username (write-only; a launch line "
          "shows it to ps: prefer mqtt-config's file)", NULL,
          G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_TLS,
      g_param_spec_boolean ("tls", "TLS",
          "method=mqtt: connect with TLS (brokers usually listen on 8883 "
          "for it)", FALSE, ready));
  g_object_class_install_property (gobject_class, PROP_SSL_CA_CERTIFICATE,
      g_param_spec_string ("ssl-ca-certificate", "CA certificate",
          "method=mqtt, tls: PEM file of the CA(s) the broker's certificate "
          "must chain to; unset: the system's CAs", NULL, ready));
  g_object_class_install_property (gobject_class, PROP_SSL_CLIENT_CERTIFICATE,
      g_param_spec_string ("ssl-client-certificate", "Client certificate",
          "method=mqtt, tls: PEM certificate to present to the broker (with "
          "ssl-private-key and ssl-ca-certificate); unset: none", NULL,
          ready));
  g_object_class_install_property (gobject_class, PROP_SSL_PRIVATE_KEY,
      g_param_spec_string ("ssl-private-key", "Private key",
          "method=mqtt, tls: the PEM key of ssl-client-certificate "
          "(encrypted: with ssl-private-key-password)", NULL, ready));
  g_object_class_install_property (gobject_class,
      PROP_SSL_PRIVATE_KEY_PASSWORD,
      g_param_spec_string ("ssl-private-key-password", "Private key password",
          "method=mqtt, tls: the passphrase of an encrypted ssl-private-key "
          "(write-only; a launch line shows it to ps: prefer mqtt-config's "
          "file, key ssl_private_key_pwd)", NULL,
          G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_SSL_VERIFY,
      g_param_spec_boolean ("ssl-verify", "Verify the broker",
          "method=mqtt, tls: check that the broker's certificate chains to a "
          "trusted CA and names the host in address; false is insecure "
          "(anyone in between can read and change the messages)", TRUE,
          ready));
  g_object_class_install_property (gobject_class, PROP_MQTT_CONFIG,
      g_param_spec_string ("mqtt-config", "MQTT configuration file",
          "method=mqtt: a JSON file in gvametapublish's mqtt-config format "
          "(address, client-id, topic, username, password, "
          "max-connect-attempts, max-reconnect-interval, TLS, ssl_verify, "
          "ssl_enable_server_cert_auth, ssl_CA_certificate, "
          "ssl_client_certificate, ssl_private_key), read at start; what it "
          "sets overrides the properties", NULL, ready));

  gst_element_class_set_static_metadata (element_class, "Attention JSON",
      "Filter/Formatter/Video", "Writes the attention meta of every frame as "
      "JSON Lines", "gst-attention developers");
  GstCaps *caps = gst_caps_from_string ("video/x-raw");
  gst_element_class_add_pad_template (element_class,
      gst_pad_template_new ("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
  gst_element_class_add_pad_template (element_class,
      gst_pad_template_new ("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
  gst_caps_unref (caps);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_attention_json_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_attention_json_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_attention_json_set_caps);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_attention_json_transform_ip);
  trans_class->transform_ip_on_passthrough = TRUE;
  trans_class->passthrough_on_same_caps = TRUE;
}

static void
gst_attention_json_init (GstAttentionJson *self)
{
  g_mutex_init (&self->lock);
  self->address = g_strdup (DEFAULT_ADDRESS);
  self->topic = g_strdup (DEFAULT_TOPIC);
  self->max_reconnect_interval = DEFAULT_MAX_RECONNECT_INTERVAL;
  self->ssl_verify = TRUE;
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
}
