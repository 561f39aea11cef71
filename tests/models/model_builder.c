/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* model_builder.c — see model_builder.h. */
#include "model_builder.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

typedef struct {
  char *name;
  int ndim;
  int64_t shape[8];
  float *data;
  size_t n;
} Tensor;

struct ModelBuilder {
  GPtrArray *tensors;       /* Tensor*, in insertion order */
  GHashTable *meta;         /* key → value */
  GPtrArray *meta_order;    /* keys in insertion order */
  Rng rng;
};

static void
tensor_free (gpointer p)
{
  Tensor *t = p;
  g_free (t->name);
  g_free (t->data);
  g_free (t);
}

ModelBuilder *
mb_new (void)
{
  ModelBuilder *mb = g_new0 (ModelBuilder, 1);
  mb->tensors = g_ptr_array_new_with_free_func (tensor_free);
  mb->meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  mb->meta_order = g_ptr_array_new_with_free_func (g_free);
  mb->rng = rng_new (1);
  return mb;
}

void
mb_free (ModelBuilder *mb)
{
  g_ptr_array_unref (mb->tensors);
  g_hash_table_destroy (mb->meta);
  g_ptr_array_unref (mb->meta_order);
  g_free (mb);
}

void
mb_meta (ModelBuilder *mb, const char *key, const char *value)
{
  if (!g_hash_table_contains (mb->meta, key))
    g_ptr_array_add (mb->meta_order, g_strdup (key));
  if (value)
    g_hash_table_insert (mb->meta, g_strdup (key), g_strdup (value));
  else
    g_hash_table_remove (mb->meta, key);
}

static Tensor *
find (ModelBuilder *mb, const char *name, guint *index)
{
  for (guint i = 0; i < mb->tensors->len; i++) {
    Tensor *t = g_ptr_array_index (mb->tensors, i);
    if (strcmp (t->name, name) == 0) {
      if (index)
        *index = i;
      return t;
    }
  }
  return NULL;
}

void
mb_remove (ModelBuilder *mb, const char *name)
{
  guint i;
  if (find (mb, name, &i))
    g_ptr_array_remove_index (mb->tensors, i);
}

void
mb_tensor (ModelBuilder *mb, const char *name, int ndim, const int64_t *shape,
           const float *data, float lo, float hi)
{
  mb_remove (mb, name);
  Tensor *t = g_new0 (Tensor, 1);
  t->name = g_strdup (name);
  t->ndim = ndim;
  t->n = 1;
  for (int i = 0; i < ndim; i++) {
    t->shape[i] = shape[i];
    t->n *= (size_t) shape[i];
  }
  t->data = g_new (float, MAX (t->n, 1));
  if (data)
    memcpy (t->data, data, t->n * sizeof (float));
  else
    fill_uniform (t->data, t->n, &mb->rng, lo, hi);
  g_ptr_array_add (mb->tensors, t);
}

void
mb_poke (ModelBuilder *mb, const char *name, size_t i, float v)
{
  Tensor *t = find (mb, name, NULL);
  g_assert (t && i < t->n);
  t->data[i] = v;
}

TinySpec
tiny_spec_default (void)
{
  return (TinySpec) { "basic", "cbam", 2, { 1, 1 }, { 4, 8 }, 4, 3, 2, false,
                      false, false, 32, 1, 0, 0 };
}

static void
conv (ModelBuilder *mb, const char *name, int cout, int cin, int k)
{
  char n[192];
  snprintf (n, sizeof n, "%s.weight", name);
  float s = 1.5f / sqrtf ((float) (cin * k * k));
  mb_tensor (mb, n, 4, (int64_t[]) { cout, cin, k, k }, NULL, -s, s);
}

static void
bn (ModelBuilder *mb, const char *name, int c)
{
  char n[192];
  int64_t shape[1] = { c };
  snprintf (n, sizeof n, "%s.weight", name);
  mb_tensor (mb, n, 1, shape, NULL, 0.5f, 1.5f);
  snprintf (n, sizeof n, "%s.bias", name);
  mb_tensor (mb, n, 1, shape, NULL, -0.2f, 0.2f);
  snprintf (n, sizeof n, "%s.running_mean", name);
  mb_tensor (mb, n, 1, shape, NULL, -0.2f, 0.2f);
  snprintf (n, sizeof n, "%s.running_var", name);
  mb_tensor (mb, n, 1, shape, NULL, 0.5f, 2.0f);
}

static void
linear (ModelBuilder *mb, const char *name, int out, int in)
{
  char n[192];
  float s = 1.0f / sqrtf ((float) in);
  snprintf (n, sizeof n, "%s.weight", name);
  mb_tensor (mb, n, 2, (int64_t[]) { out, in }, NULL, -s, s);
  snprintf (n, sizeof n, "%s.bias", name);
  mb_tensor (mb, n, 1, (int64_t[]) { out }, NULL, -0.1f, 0.1f);
}

void
mb_tiny (ModelBuilder *mb, const TinySpec *s)
{
  mb->rng = rng_new (s->seed);
  bool bottleneck = strcmp (s->block, "bottleneck") == 0;
  int exp = bottleneck ? 4 : 1;
  char n[128], m[128];
  GString *arch = g_string_new ("{\"family\":\"resnet\"");
  g_string_append_printf (arch, ",\"block\":\"%s\",\"layers\":[", s->block);
  for (int i = 0; i < s->n_stages; i++)
    g_string_append_printf (arch, "%s%d", i ? "," : "", s->layers[i]);
  g_string_append (arch, "],\"widths\":[");
  for (int i = 0; i < s->n_stages; i++)
    g_string_append_printf (arch, "%s%d", i ? "," : "", s->widths[i]);
  g_string_append_printf (arch, "],\"stem_width\":%d,\"stem_pool\":%s,"
                          "\"stride_on\":\"%s\",\"attention\":\"%s\","
                          "\"spatial_kernel\":7,\"num_classes\":%d,"
                          "\"bn_eps\":1e-5", s->stem_width,
                          s->cadene_pool
                          ? "{\"kernel\":3,\"stride\":2,\"pad\":0,\"ceil_mode\":true}"
                          : "{\"kernel\":3,\"stride\":2,\"pad\":1,\"ceil_mode\":false}",
                          s->stride_1x1 ? "1x1" : "3x3", s->attention,
                          s->num_classes);
  if (s->stn) {
    /* conv 5 (pad 0) → maxpool 2 → relu → linear 6: for a 3×S×S input the
     * flattened size is 4·((S−4)/2)² */
    int f = (s->input - 4) / 2;
    g_string_append (arch, ",\"stn\":{\"align_corners\":false,\"layers\":["
                     "{\"type\":\"conv\",\"out\":4,\"kernel\":5},"
                     "{\"type\":\"maxpool\",\"kernel\":2},{\"type\":\"relu\"},"
                     "{\"type\":\"linear\",\"out\":6}]}");
    conv (mb, "stn.0", 4, 3, 5);
    snprintf (n, sizeof n, "stn.0.bias");
    mb_tensor (mb, n, 1, (int64_t[]) { 4 }, NULL, -0.1f, 0.1f);
    linear (mb, "stn.3", 6, 4 * f * f);
    /* near-identity θ */
    float th[6] = { 1, 0.05f, 0.02f, -0.03f, 0.9f, -0.05f };
    mb_tensor (mb, "stn.3.bias", 1, (int64_t[]) { 6 }, th, 0, 0);
  }
  if (s->decoder) {
    /* D = the last stage's channels; vocabulary of 5, start 0, end 1 */
    int d = s->widths[s->n_stages - 1] * exp, dh = 6, e = 3, da = 5, v = 5;
    bool lstm = s->decoder == 2, additive = s->decoder == 1;
    int g = lstm ? 4 : 3;
    g_string_append_printf (arch, ",\"decoder\":{\"cell\":\"%s\","
                            "\"attention\":\"%s\",\"hidden\":%d,\"embed\":%d,"
                            "\"attention_dim\":%d,\"gate\":%s,"
                            "\"vocabulary\":[\"<s>\",\"</s>\",\"a\",\"b\",\"c\"],"
                            "\"start\":0,\"end\":1,\"max_length\":4}",
                            lstm ? "lstm" : "gru", additive ? "additive" : "dot",
                            dh, e, additive ? da : 0,
                            additive ? "true" : "false");
    linear (mb, "decoder.init_h", dh, d);
    if (lstm)
      linear (mb, "decoder.init_c", dh, d);
    mb_tensor (mb, "decoder.embed.weight", 2, (int64_t[]) { v, e }, NULL, -1, 1);
    if (additive) {
      linear (mb, "decoder.att.enc", da, d);
      mb_tensor (mb, "decoder.att.dec.weight", 2, (int64_t[]) { da, dh }, NULL,
                 -0.5f, 0.5f);
      mb_tensor (mb, "decoder.att.v.weight", 2, (int64_t[]) { 1, da }, NULL,
                 -1, 1);
      linear (mb, "decoder.gate", 1, dh);
    } else {
      linear (mb, "decoder.att.query", d, dh);
    }
    mb_tensor (mb, "decoder.cell.weight_ih", 2, (int64_t[]) { g * dh, e + d },
               NULL, -0.4f, 0.4f);
    mb_tensor (mb, "decoder.cell.bias_ih", 1, (int64_t[]) { g * dh }, NULL,
               -0.4f, 0.4f);
    mb_tensor (mb, "decoder.cell.weight_hh", 2, (int64_t[]) { g * dh, dh },
               NULL, -0.4f, 0.4f);
    mb_tensor (mb, "decoder.cell.bias_hh", 1, (int64_t[]) { g * dh }, NULL,
               -0.4f, 0.4f);
    linear (mb, "decoder.out", v, dh + d);
  }
  g_string_append_c (arch, '}');
  mb_meta (mb, "format", "gst-attention-model");
  mb_meta (mb, "format_version", "1");
  mb_meta (mb, "name", "tiny");
  mb_meta (mb, "architecture", arch->str);
  g_string_free (arch, TRUE);
  char *pre = g_strdup_printf ("{\"width\":%d,\"height\":%d,\"color\":\"RGB\","
                               "\"mean\":[0.5,0.5,0.5],\"std\":[0.25,0.25,0.25],"
                               "\"scale\":255,\"resize\":\"stretch\"}",
                               s->input, s->input);
  mb_meta (mb, "preprocess", pre);
  g_free (pre);
  GString *labels = g_string_new ("[");
  for (int i = 0; i < s->num_classes; i++)
    g_string_append_printf (labels, "%s\"label %d\"", i ? "," : "", i);
  g_string_append_c (labels, ']');
  mb_meta (mb, "labels", labels->str);
  g_string_free (labels, TRUE);

  conv (mb, "stem.conv", s->stem_width, 3, 7);
  bn (mb, "stem.bn", s->stem_width);
  int cin = s->stem_width;
  for (int st = 0; st < s->n_stages; st++)
    for (int b = 0; b < s->layers[st]; b++) {
      int p = s->widths[st], cout = p * exp;
      int stride = st > 0 && b == 0 ? 2 : 1;
      char pre_[32];
      snprintf (pre_, sizeof pre_, "layer%d.%d", st + 1, b);
#define CB(idx, co, ci, k)                                \
      snprintf (n, sizeof n, "%s.conv%d", pre_, idx);     \
      snprintf (m, sizeof m, "%s.bn%d", pre_, idx);       \
      conv (mb, n, co, ci, k);                            \
      bn (mb, m, co)
      if (bottleneck) {
        CB (1, p, cin, 1);
        CB (2, p, p, 3);
        CB (3, cout, p, 1);
      } else {
        CB (1, p, cin, 3);
        CB (2, p, p, 3);
      }
#undef CB
      if (stride != 1 || cin != cout) {
        snprintf (n, sizeof n, "%s.downsample.conv", pre_);
        snprintf (m, sizeof m, "%s.downsample.bn", pre_);
        conv (mb, n, cout, cin, 1);
        bn (mb, m, cout);
      }
      const char *g = strcmp (s->attention, "se") == 0 ? "se.fc"
          : strcmp (s->attention, "cbam") == 0 ? "cbam.mlp" : NULL;
      if (g) {
        int hidden = s->reduction > 0 ? MAX (1, cout / s->reduction)
            : s->hidden;
        snprintf (n, sizeof n, "%s.%s1", pre_, g);
        linear (mb, n, hidden, cout);
        snprintf (n, sizeof n, "%s.%s2", pre_, g);
        linear (mb, n, cout, hidden);
      }
      if (strcmp (s->attention, "cbam") == 0) {
        snprintf (n, sizeof n, "%s.cbam.spatial.conv", pre_);
        conv (mb, n, 1, 2, 7);
        snprintf (n, sizeof n, "%s.cbam.spatial.bn", pre_);
        bn (mb, n, 1);
      }
      cin = cout;
    }
  linear (mb, "fc", s->num_classes, cin);
}

static void
append_json_string (GString *s, const char *v)
{
  g_string_append_c (s, '"');
  for (const char *p = v; *p; p++) {
    if (*p == '"' || *p == '\\')
      g_string_append_printf (s, "\\%c", *p);
    else
      g_string_append_c (s, *p);
  }
  g_string_append_c (s, '"');
}

GBytes *
mb_bytes (ModelBuilder *mb)
{
  GString *h = g_string_new ("{\"__metadata__\":{");
  bool first = true;
  for (guint i = 0; i < mb->meta_order->len; i++) {
    const char *k = g_ptr_array_index (mb->meta_order, i);
    const char *v = g_hash_table_lookup (mb->meta, k);
    if (!v)
      continue;
    if (!first)
      g_string_append_c (h, ',');
    first = false;
    append_json_string (h, k);
    g_string_append_c (h, ':');
    append_json_string (h, v);
  }
  g_string_append_c (h, '}');
  size_t off = 0;
  for (guint i = 0; i < mb->tensors->len; i++) {
    Tensor *t = g_ptr_array_index (mb->tensors, i);
    g_string_append_printf (h, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[",
                            t->name);
    for (int d = 0; d < t->ndim; d++)
      g_string_append_printf (h, "%s%" G_GINT64_FORMAT, d ? "," : "",
                              t->shape[d]);
    g_string_append_printf (h, "],\"data_offsets\":[%zu,%zu]}", off,
                            off + t->n * 4);
    off += t->n * 4;
  }
  g_string_append_c (h, '}');
  while (h->len % 8)
    g_string_append_c (h, ' ');
  GByteArray *b = g_byte_array_new ();
  guint8 len[8];
  for (int i = 0; i < 8; i++)
    len[i] = (guint8) ((guint64) h->len >> (8 * i));
  g_byte_array_append (b, len, 8);
  g_byte_array_append (b, (guint8 *) h->str, (guint) h->len);
  for (guint i = 0; i < mb->tensors->len; i++) {
    Tensor *t = g_ptr_array_index (mb->tensors, i);
    g_byte_array_append (b, (guint8 *) t->data, (guint) (t->n * 4));
  }
  g_string_free (h, TRUE);
  return g_byte_array_free_to_bytes (b);
}

char *
mb_write_tmp (ModelBuilder *mb)
{
  char *path = NULL;
  int fd = g_file_open_tmp ("attn-model-XXXXXX.safetensors", &path, NULL);
  g_assert (fd >= 0);
  GBytes *b = mb_bytes (mb);
  gsize len;
  const guint8 *d = g_bytes_get_data (b, &len);
  while (len > 0) {
    ssize_t w = write (fd, d, len);
    g_assert (w > 0);
    d += w;
    len -= (gsize) w;
  }
  close (fd);
  g_bytes_unref (b);
  return path;
}

char *
mb_repeat (const char *pre, const char *unit, int n, const char *post)
{
  GString *g = g_string_new (pre);
  for (int i = 0; i < n; i++)
    g_string_append (g, unit);
  g_string_append (g, post);
  return g_string_free (g, FALSE);
}
