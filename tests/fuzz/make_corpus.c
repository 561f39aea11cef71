/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* make_corpus.c — writes the fuzzer's seed corpus: small valid models of each
 * architecture variant, crafted edge cases around them, and JSON documents
 * just past each limit of json_guard.c.
 * usage: make_corpus DIR   (the committed corpus is tests/fuzz/corpus) */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "model_builder.h"

static void
save (const char *dir, const char *name, GBytes *b)
{
  char *path = g_build_filename (dir, name, NULL);
  gsize len;
  const char *d = g_bytes_get_data (b, &len);
  if (!g_file_set_contents (path, d, (gssize) len, NULL))
    g_printerr ("cannot write %s\n", path);
  g_free (path);
}

static void
save_part (const char *dir, const char *name, GBytes *b, gsize len)
{
  GBytes *part = g_bytes_new_from_bytes (b, 0, MIN (len, g_bytes_get_size (b)));
  save (dir, name, part);
  g_bytes_unref (part);
}

static GBytes *
model (TinySpec s)
{
  ModelBuilder *mb = mb_new ();
  mb_tiny (mb, &s);
  GBytes *b = mb_bytes (mb);
  mb_free (mb);
  return b;
}

/* A file of `header` followed by 8 zero bytes of data. */
static void
save_header (const char *dir, const char *name, const char *header)
{
  GByteArray *a = g_byte_array_new ();
  guint64 n = strlen (header);
  for (int k = 0; k < 8; k++) {
    guint8 c = (guint8) (n >> (8 * k));
    g_byte_array_append (a, &c, 1);
  }
  g_byte_array_append (a, (const guint8 *) header, (guint) n);
  guint8 zeros[8] = { 0 };
  g_byte_array_append (a, zeros, 8);
  GBytes *hb = g_byte_array_free_to_bytes (a);
  save (dir, name, hb);
  g_bytes_unref (hb);
}

/* The model `s` with __metadata__ `key` set to `value`. */
static void
save_meta (const char *dir, const char *name, TinySpec s, const char *key,
           const char *value)
{
  ModelBuilder *mb = mb_new ();
  mb_tiny (mb, &s);
  mb_meta (mb, key, value);
  GBytes *b = mb_bytes (mb);
  mb_free (mb);
  save (dir, name, b);
  g_bytes_unref (b);
}

/* Seeds for the JSON limits (json_guard.c): each sits just past one limit,
 * so mutations explore both sides of it. The deep header is deep enough to
 * have crashed the loader before the guard (json-glib recursion). */
static void
json_seeds (const char *dir, TinySpec s)
{
  char *v = mb_repeat ("{\"a\":", "[", 100000, "");
  save_header (dir, "json-deep-header.safetensors", v);
  g_free (v);
  v = mb_repeat ("", "[", 65, "");
  save_meta (dir, "json-deep-architecture.safetensors", s, "architecture", v);
  save_meta (dir, "json-deep-preprocess.safetensors", s, "preprocess", v);
  save_meta (dir, "json-deep-labels.safetensors", s, "labels", v);
  g_free (v);
  v = mb_repeat ("[\"", "x", 4097, "\",\"b\",\"c\"]");
  save_meta (dir, "json-long-label.safetensors", s, "labels", v);
  g_free (v);
  v = mb_repeat ("{\"", "k", 1025, "\":{}}");
  save_header (dir, "json-long-key.safetensors", v);
  g_free (v);
  v = mb_repeat ("[", "\"a\",", 2000, "\"a\"]");
  save_meta (dir, "json-many-labels.safetensors", s, "labels", v);
  g_free (v);
  save_header (dir, "json-dup-tensor.safetensors",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"a\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]}}");
  save_meta (dir, "json-dup-arch-key.safetensors", s, "architecture",
      "{\"family\":\"resnet\",\"block\":\"basic\",\"layers\":[1,1],"
      "\"widths\":[2,4],\"stem_width\":2,\"attention\":\"cbam\","
      "\"num_classes\":3,\"num_classes\":2}");
  save_meta (dir, "json-huge-scale.safetensors", s, "preprocess",
             "{\"scale\":1e999}");
  save_header (dir, "json-huge-offset.safetensors",
      "{\"a\":{\"dtype\":\"U8\",\"shape\":[8],"
      "\"data_offsets\":[0,18446744073709551624]}}");
  save_meta (dir, "json-surrogate-label.safetensors", s, "labels",
             "[\"a\",\"\\udc00\",\"\\ud83d\\ude00\"]");
  save_meta (dir, "json-nul-label.safetensors", s, "labels",
             "[\"a\",\"b\\u0000c\",\"d\"]");
  save_meta (dir, "json-bad-utf8-label.safetensors", s, "labels",
             "[\"a\",\"\xc3\x28\",\"d\"]");
}

int
main (int argc, char **argv)
{
  if (argc != 2) {
    g_printerr ("usage: %s DIR\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  g_mkdir_with_parents (dir, 0755);
  TinySpec s = tiny_spec_default ();
  s.widths[0] = 2;
  s.widths[1] = 4;
  s.stem_width = 2;
  s.hidden = 1;
  s.input = 12;
  GBytes *basic = model (s);
  save (dir, "basic-cbam.safetensors", basic);
  TinySpec t = s;
  t.attention = "se";
  GBytes *b = model (t);
  save (dir, "basic-se.safetensors", b);
  g_bytes_unref (b);
  t.attention = "none";
  b = model (t);
  save (dir, "basic-plain.safetensors", b);
  g_bytes_unref (b);
  t = s;
  t.block = "bottleneck";
  t.widths[0] = 1;
  t.widths[1] = 2;
  t.stride_1x1 = true;
  t.cadene_pool = true;
  b = model (t);
  save (dir, "bottleneck-cbam.safetensors", b);
  g_bytes_unref (b);
  t = s;
  t.stn = true;
  b = model (t);
  save (dir, "stn-cbam.safetensors", b);
  g_bytes_unref (b);
  t = s;
  t.decoder = 1;
  b = model (t);
  save (dir, "decoder-gru-additive.safetensors", b);
  g_bytes_unref (b);
  t.decoder = 2;
  b = model (t);
  save (dir, "decoder-lstm-dot.safetensors", b);
  g_bytes_unref (b);

  /* crafted: truncations of a valid file at telling places */
  gsize hlen = 0;
  const guint8 *d = g_bytes_get_data (basic, NULL);
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | d[i];
  save_part (dir, "trunc-length.safetensors", basic, 5);
  save_part (dir, "trunc-header.safetensors", basic, 8 + hlen / 2);
  save_part (dir, "trunc-data.safetensors", basic, 8 + hlen + 10);
  save (dir, "empty.safetensors", g_bytes_new_static ("", 0));
  static const char *headers[] = {
    "{}",
    "{\"__metadata__\":{\"format\":\"gst-attention-model\",\"format_version\":\"1\","
    "\"architecture\":\"{\\\"family\\\":\\\"resnet\\\",\\\"block\\\":\\\"basic\\\","
    "\\\"layers\\\":[1],\\\"widths\\\":[1],\\\"stem_width\\\":1,\\\"attention\\\":"
    "\\\"none\\\",\\\"num_classes\\\":1}\"}}",
    "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}",
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}",
  };
  for (guint i = 0; i < G_N_ELEMENTS (headers); i++) {
    char name[64];
    snprintf (name, sizeof name, "crafted-%u.safetensors", i);
    save_header (dir, name, headers[i]);
  }
  json_seeds (dir, s);
  g_bytes_unref (basic);
  return 0;
}
