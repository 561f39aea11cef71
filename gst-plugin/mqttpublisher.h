/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mqttpublisher — JSON lines to an MQTT broker through libmosquitto, behind
 * a bounded queue: pushing never blocks and never waits for the network.
 * GStreamer-free (GLib + libmosquitto); attentionjson turns its events into
 * element messages. */
#ifndef __ATTN_MQTT_PUBLISHER_H__
#define __ATTN_MQTT_PUBLISHER_H__

#include <glib.h>

G_BEGIN_DECLS

typedef struct _AttnMqttPublisher AttnMqttPublisher;

typedef enum {
  ATTN_MQTT_CONNECTED,          /* detail: NULL */
  ATTN_MQTT_NOT_CONNECTED,      /* no connection yet after a few seconds or a
                                 * refused CONNECT; detail: the reason */
  ATTN_MQTT_DISCONNECTED,       /* an established connection was lost */
  ATTN_MQTT_FIRST_DROP,         /* the queue overflowed for the first time */
  ATTN_MQTT_GAVE_UP,            /* max_connect_attempts first attempts failed:
                                 * no more tries; detail: the last reason */
} AttnMqttEvent;

/* Called from the publisher's threads, and for ATTN_MQTT_FIRST_DROP from
 * the thread calling attn_mqtt_publisher_push; never under the publisher's
 * lock, never after attn_mqtt_publisher_free returns. */
typedef void (*AttnMqttEventFunc) (gpointer user_data, AttnMqttEvent event,
    const gchar *detail);

typedef struct {
  const gchar *host;            /* numeric or a name (resolved when connecting) */
  guint port;
  const gchar *client_id;       /* NULL: generated ("attentionjson-<uuid>") */
  const gchar *topic;
  gint qos;                     /* 0..2 */
  guint max_reconnect_interval; /* seconds, >= 1: back-off cap */
  guint queue_size;             /* lines held while the broker is away */
  guint max_connect_attempts;   /* failed attempts before the first connection
                                 * after which to give up; 0: never give up */
  const gchar *username;        /* NULL: none */
  const gchar *password;        /* NULL: none; needs username */
  gboolean tls;
  const gchar *ca_file;         /* tls: PEM CAs; NULL: the system's */
  const gchar *cert_file;       /* tls: client certificate (PEM) and its */
  const gchar *key_file;        /* its key; both or neither */
  const gchar *key_password;    /* tls: key_file's passphrase; NULL: the key
                                 * is not encrypted */
  gboolean verify_peer;         /* tls: check the broker's certificate chain */
  gboolean verify_hostname;     /* tls: check it names the host in address */
} AttnMqttConfig;

/* HOST:PORT, HOST (port 1883) or [IPv6]:PORT into host (owned by the caller,
 * g_free) and port; FALSE with *why set when malformed. */
gboolean attn_mqtt_parse_address (const gchar *address, gchar **host,
    guint *port, const gchar **why);

/* Starts connecting in the background and returns at once (the host name is
 * resolved by the background thread); NULL and *error (a sentence naming the
 * setting) when libmosquitto refuses the settings (an unreadable file,
 * a password without a user name, ...) or cannot be set up at all. */
AttnMqttPublisher *attn_mqtt_publisher_new (const AttnMqttConfig *cfg,
    AttnMqttEventFunc func, gpointer user_data, gchar **error);

/* Queues a copy of line[0..len) as one message; when the queue is full the
 * oldest line is dropped (and counted). Never blocks on the network. */
void attn_mqtt_publisher_push (AttnMqttPublisher *p, const gchar *line,
    gsize len);

/* Messages handed to the broker (written, or acknowledged for QoS > 0) and
 * messages lost (queue overflow, or unsent QoS 0 messages at a disconnect). */
void attn_mqtt_publisher_get_counts (AttnMqttPublisher *p,
    guint64 *published, guint64 *dropped);

/* Waits, at most `timeout_ms`, while lines are still queued or unwritten
 * and the publisher is connected or still making its first connection (no
 * attempt failed yet). */
void attn_mqtt_publisher_flush (AttnMqttPublisher *p, guint timeout_ms);

/* Stops the threads, disconnects and frees; what is still queued is lost. */
void attn_mqtt_publisher_free (AttnMqttPublisher *p);

G_END_DECLS

#endif
