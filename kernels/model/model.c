/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* model.c — model file → validated AttnModel with BatchNorm folded.
 *
 * The loader walks the architecture the metadata declares and takes each
 * tensor it needs by name, checking its shape and that every value is finite;
 * weights are widened to float32 into one arena and BatchNorm is folded there.
 * A tensor the architecture does not use is an error too: it almost always
 * means the file was written for a different architecture. */
#include "model.h"

#include <errno.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "bn.h"
#include "json_guard.h"
#include "mem.h"
#include "safetensors.h"

#define MODEL_FORMAT "gst-attention-model"
#define MODEL_FORMAT_VERSION "1"

typedef struct {
  const AttnSafetensors *st;
  const char *src;
  char *err;
  size_t errlen;
  bool failed;
  float *arena;
  size_t used, cap;
  GHashTable *taken;        /* names of tensors consumed */
} Loader;

static void G_GNUC_PRINTF (2, 3)
fail (Loader *ld, const char *fmt, ...)
{
  if (ld->failed)
    return;                  /* keep the first error: it is the cause */
  ld->failed = true;
  char msg[768];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  if (ld->err && ld->errlen)
    snprintf (ld->err, ld->errlen, "%s: %s", ld->src, msg);
}

static float *
arena_alloc (Loader *ld, size_t n)
{
  if (ld->used + n > ld->cap) {
    fail (ld, "internal: weight arena too small");
    return NULL;
  }
  float *p = ld->arena + ld->used;
  ld->used += n;
  return p;
}

static char *
shape_str (const int64_t *shape, int ndim)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* The tensor `name` with the given shape (−1 in a dimension: any), widened
 * into the arena; NULL after recording an error. */
static float *
take_shape (Loader *ld, const char *name, int ndim, const int64_t *shape,
            const AttnTensorInfo **info_out)
{
  if (ld->failed)
    return NULL;
  const AttnTensorInfo *t = attn_safetensors_find (ld->st, name);
  if (!t) {
    fail (ld, "missing tensor '%s' required by the architecture", name);
    return NULL;
  }
  bool ok = t->ndim == ndim;
  for (int i = 0; ok && i < ndim; i++)
    ok = shape[i] < 0 || t->shape[i] == shape[i];
  if (!ok) {
    char *want = shape_str (shape, ndim), *got = shape_str (t->shape, t->ndim);
    fail (ld, "tensor '%s' has shape %s, expected %s (-1: any)", name, got,
          want);
    g_free (want);
    g_free (got);
    return NULL;
  }
  if (t->dtype != ATTN_DTYPE_F32 && t->dtype != ATTN_DTYPE_F16
      && t->dtype != ATTN_DTYPE_BF16) {
    fail (ld, "tensor '%s' has dtype %s, expected F32, F16 or BF16", name,
          attn_dtype_name (t->dtype));
    return NULL;
  }
  if (t->numel == 0) {
    fail (ld, "tensor '%s' is empty", name);
    return NULL;
  }
  float *dst = arena_alloc (ld, t->numel);
  if (!dst)
    return NULL;
  attn_tensor_to_f32 (dst, t);
  for (size_t i = 0; i < t->numel; i++)
    if (!isfinite (dst[i])) {
      fail (ld, "tensor '%s' holds a non-finite value (%g) at element %zu",
            name, dst[i], i);
      return NULL;
    }
  g_hash_table_add (ld->taken, (gpointer) t->name);
  if (info_out)
    *info_out = t;
  return dst;
}

static float *
take (Loader *ld, const char *name, int ndim, ...)
{
  int64_t shape[ATTN_ST_MAX_DIMS];
  va_list ap;
  va_start (ap, ndim);
  for (int i = 0; i < ndim; i++)
    shape[i] = va_arg (ap, int64_t);
  va_end (ap);
  return take_shape (ld, name, ndim, shape, NULL);
}

/* conv weight `<conv>.weight` (cout, cin, k, k) + BatchNorm `<bn>.*` folded
 * into (weight, bias). */
static void
take_conv_bn (Loader *ld, AttnConvLayer *l, const char *conv, const char *bn,
              int cin, int cout, int k, int stride, float eps)
{
  char n[160];
  l->p = (AttnConv2d) { cin, cout, k, k, stride, stride, k / 2, k / 2, 1, 1, 1 };
  snprintf (n, sizeof n, "%s.weight", conv);
  float *w = take (ld, n, 4, (int64_t) cout, (int64_t) cin, (int64_t) k,
                   (int64_t) k);
  const char *part[4] = { "weight", "bias", "running_mean", "running_var" };
  float *bnp[4];
  for (int i = 0; i < 4; i++) {
    snprintf (n, sizeof n, "%s.%s", bn, part[i]);
    bnp[i] = take (ld, n, 1, (int64_t) cout);
  }
  float *bias = arena_alloc (ld, (size_t) cout);
  if (ld->failed)
    return;
  for (int c = 0; c < cout; c++)
    if (bnp[3][c] < 0) {
      fail (ld, "tensor '%s.running_var' is negative (%g) at channel %d", bn,
            bnp[3][c], c);
      return;
    }
  memset (bias, 0, sizeof (float) * cout);
  attn_bn_fold (w, bias, bnp[0], bnp[1], bnp[2], bnp[3], eps, cout,
                cin * k * k);
  l->weight = w;
  l->bias = bias;
}

/* ---- JSON fields --------------------------------------------------------- */

static JsonObject *
parse_object (Loader *ld, JsonParser *parser, const char *key, bool required)
{
  const char *s = attn_safetensors_metadata (ld->st, key);
  if (!s) {
    if (required)
      fail (ld, "__metadata__ has no '%s' (see docs/model-format.md)", key);
    return NULL;
  }
  char why[512];
  if (!attn_json_guard (s, strlen (s), ATTN_JSON_LIMITS_METADATA, why,
                        sizeof why)) {
    fail (ld, "__metadata__ '%s' refused before parsing: %s", key, why);
    return NULL;
  }
  GError *gerr = NULL;
  if (!json_parser_load_from_data (parser, s, -1, &gerr)) {
    fail (ld, "__metadata__ '%s' is not valid JSON: %s", key, gerr->message);
    g_error_free (gerr);
    return NULL;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    fail (ld, "__metadata__ '%s' must be a JSON object", key);
    return NULL;
  }
  return json_node_get_object (root);
}

static bool
is_number (JsonNode *n)
{
  if (!n || !JSON_NODE_HOLDS_VALUE (n))
    return false;
  GType t = json_node_get_value_type (n);
  return t == G_TYPE_INT64 || t == G_TYPE_DOUBLE;
}

/* An integer field in [lo, hi]; `def` when absent and not required. */
static int
get_int (Loader *ld, JsonObject *o, const char *ctx, const char *key, int lo,
         int hi, bool required, int def)
{
  if (ld->failed)
    return def;
  JsonNode *n = json_object_get_member (o, key);
  if (!n || JSON_NODE_HOLDS_NULL (n)) {
    if (required)
      fail (ld, "%s: missing '%s'", ctx, key);
    return def;
  }
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64
      || json_node_get_int (n) < lo || json_node_get_int (n) > hi) {
    fail (ld, "%s: '%s' must be an integer in [%d, %d]", ctx, key, lo, hi);
    return def;
  }
  return (int) json_node_get_int (n);
}

static double
get_double (Loader *ld, JsonObject *o, const char *ctx, const char *key,
            double lo, double hi, double def)
{
  if (ld->failed)
    return def;
  JsonNode *n = json_object_get_member (o, key);
  if (!n || JSON_NODE_HOLDS_NULL (n))
    return def;
  double v = is_number (n) ? json_node_get_double (n) : NAN;
  if (is_number (n) && !isfinite (v)) {
    fail (ld, "%s: '%s' is not a finite number", ctx, key);
    return def;
  }
  if (!(v >= lo && v <= hi)) {
    fail (ld, "%s: '%s' must be a number in [%g, %g]", ctx, key, lo, hi);
    return def;
  }
  return v;
}

static bool
get_bool (Loader *ld, JsonObject *o, const char *ctx, const char *key, bool def)
{
  if (ld->failed)
    return def;
  JsonNode *n = json_object_get_member (o, key);
  if (!n || JSON_NODE_HOLDS_NULL (n))
    return def;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN) {
    fail (ld, "%s: '%s' must be true or false", ctx, key);
    return def;
  }
  return json_node_get_boolean (n);
}

/* A string field that must be one of `choices` (NULL-terminated); returns its
 * index, or `def` when absent and not required. */
static int
get_choice (Loader *ld, JsonObject *o, const char *ctx, const char *key,
            const char *const *choices, bool required, int def)
{
  if (ld->failed)
    return def;
  JsonNode *n = json_object_get_member (o, key);
  if (!n || JSON_NODE_HOLDS_NULL (n)) {
    if (required)
      fail (ld, "%s: missing '%s'", ctx, key);
    return def;
  }
  const char *s = JSON_NODE_HOLDS_VALUE (n)
      && json_node_get_value_type (n) == G_TYPE_STRING
      ? json_node_get_string (n) : NULL;
  for (int i = 0; s && choices[i]; i++)
    if (strcmp (s, choices[i]) == 0)
      return i;
  char *all = g_strjoinv ("', '", (char **) choices);
  fail (ld, "%s: '%s' is '%s', expected one of '%s'", ctx, key,
        s ? s : "(not a string)", all);
  g_free (all);
  return def;
}

/* An array of `n` numbers (n < 0: any length up to max_n, returned in *n). */
static int
get_int_array (Loader *ld, JsonObject *o, const char *ctx, const char *key,
               int *out, int max_n, int lo, int hi)
{
  if (ld->failed)
    return 0;
  JsonNode *n = json_object_get_member (o, key);
  if (!n || !JSON_NODE_HOLDS_ARRAY (n)) {
    fail (ld, "%s: '%s' must be an array of integers", ctx, key);
    return 0;
  }
  JsonArray *a = json_node_get_array (n);
  guint len = json_array_get_length (a);
  if (len < 1 || len > (guint) max_n) {
    fail (ld, "%s: '%s' must have 1 to %d entries, has %u", ctx, key, max_n,
          len);
    return 0;
  }
  for (guint i = 0; i < len; i++) {
    JsonNode *e = json_array_get_element (a, i);
    if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_INT64
        || json_node_get_int (e) < lo || json_node_get_int (e) > hi) {
      fail (ld, "%s: '%s'[%u] must be an integer in [%d, %d]", ctx, key, i, lo,
            hi);
      return 0;
    }
    out[i] = (int) json_node_get_int (e);
  }
  return (int) len;
}

static void
get_float3 (Loader *ld, JsonObject *o, const char *ctx, const char *key,
            float *out, double lo, double hi)
{
  if (ld->failed)
    return;
  JsonNode *n = json_object_get_member (o, key);
  if (!n || JSON_NODE_HOLDS_NULL (n))
    return;                    /* keep defaults */
  JsonArray *a = JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
  if (!a || json_array_get_length (a) != 3) {
    fail (ld, "%s: '%s' must be an array of 3 numbers", ctx, key);
    return;
  }
  for (guint i = 0; i < 3; i++) {
    JsonNode *e = json_array_get_element (a, i);
    double v = is_number (e) ? json_node_get_double (e) : NAN;
    if (is_number (e) && !isfinite (v)) {
      fail (ld, "%s: '%s'[%u] is not a finite number", ctx, key, i);
      return;
    }
    if (!(v >= lo && v <= hi)) {
      fail (ld, "%s: '%s'[%u] must be a number in [%g, %g]", ctx, key, i, lo,
            hi);
      return;
    }
    out[i] = (float) v;
  }
}

/* ---- the parts of a model ------------------------------------------------ */

static void
load_preprocess (Loader *ld, AttnModel *m, JsonObject *o)
{
  const char *ctx = "preprocess";
  AttnPreprocess *p = &m->pre;
  *p = (AttnPreprocess) { 224, 224, false, { 0.485f, 0.456f, 0.406f },
                          { 0.229f, 0.224f, 0.225f }, 255.0f,
                          ATTN_RESIZE_STRETCH };
  if (!o)
    return;
  p->width = get_int (ld, o, ctx, "width", 1, ATTN_MODEL_MAX_INPUT, false, 224);
  p->height = get_int (ld, o, ctx, "height", 1, ATTN_MODEL_MAX_INPUT, false,
                       224);
  static const char *const colors[] = { "RGB", "BGR", NULL };
  p->bgr = get_choice (ld, o, ctx, "color", colors, false, 0) == 1;
  get_float3 (ld, o, ctx, "mean", p->mean, -1e6, 1e6);
  get_float3 (ld, o, ctx, "std", p->std, 1e-6, 1e6);
  p->scale = (float) get_double (ld, o, ctx, "scale", 1e-6, 1e9, 255.0);
  static const char *const resize[] = { "stretch", "letterbox", "center-crop",
                                        NULL };
  p->resize = (AttnResize) get_choice (ld, o, ctx, "resize", resize, false, 0);
}

static void
load_labels (Loader *ld, AttnModel *m)
{
  m->labels = g_new0 (char *, (size_t) m->num_classes + 1);
  const char *s = attn_safetensors_metadata (ld->st, "labels");
  if (!s) {
    for (int i = 0; i < m->num_classes; i++)
      m->labels[i] = g_strdup_printf ("class %d", i);
    return;
  }
  char why[512];
  if (!attn_json_guard (s, strlen (s), ATTN_JSON_LIMITS_METADATA, why,
                        sizeof why)) {
    fail (ld, "__metadata__ 'labels' refused before parsing: %s", why);
    for (int i = 0; i < m->num_classes; i++)
      m->labels[i] = g_strdup_printf ("class %d", i);
    return;
  }
  JsonParser *parser = json_parser_new_immutable ();
  JsonNode *root = json_parser_load_from_data (parser, s, -1, NULL)
      ? json_parser_get_root (parser) : NULL;
  JsonArray *a = root && JSON_NODE_HOLDS_ARRAY (root)
      ? json_node_get_array (root) : NULL;
  if (!a) {
    fail (ld, "__metadata__ 'labels' must be a JSON array of strings");
  } else if (json_array_get_length (a) != (guint) m->num_classes) {
    fail (ld, "__metadata__ 'labels' has %u entries but the model has %d "
          "classes", json_array_get_length (a), m->num_classes);
  } else {
    for (int i = 0; i < m->num_classes && !ld->failed; i++) {
      JsonNode *e = json_array_get_element (a, (guint) i);
      const char *l = JSON_NODE_HOLDS_VALUE (e)
          && json_node_get_value_type (e) == G_TYPE_STRING
          ? json_node_get_string (e) : NULL;
      if (!l)
        fail (ld, "__metadata__ 'labels'[%d] is not a string", i);
      else if (!g_utf8_validate (l, -1, NULL))  /* -1: stops at a NUL */
        fail (ld, "__metadata__ 'labels'[%d] is not valid UTF-8", i);
      else
        m->labels[i] = g_strdup (l);
    }
  }
  for (int i = 0; i < m->num_classes; i++)
    if (!m->labels[i])
      m->labels[i] = g_strdup_printf ("class %d", i);
  g_object_unref (parser);
}

static void
load_gate (Loader *ld, AttnBlock *b, int k, float eps)
{
  char n[160];
  const AttnTensorInfo *t;
  const char *kind = b->gate == ATTN_GATE_SE ? "se.fc" : "cbam.mlp";
  int64_t any2[2] = { -1, (int64_t) b->c_out };
  snprintf (n, sizeof n, "%s.%s1.weight", b->name, kind);
  b->w1 = take_shape (ld, n, 2, any2, &t);
  if (ld->failed)
    return;
  b->hidden = (int) t->shape[0];
  snprintf (n, sizeof n, "%s.%s1.bias", b->name, kind);
  b->b1 = take (ld, n, 1, (int64_t) b->hidden);
  snprintf (n, sizeof n, "%s.%s2.weight", b->name, kind);
  b->w2 = take (ld, n, 2, (int64_t) b->c_out, (int64_t) b->hidden);
  snprintf (n, sizeof n, "%s.%s2.bias", b->name, kind);
  b->b2 = take (ld, n, 1, (int64_t) b->c_out);
  if (b->gate != ATTN_GATE_CBAM)
    return;
  char conv[96], bn[96];
  snprintf (conv, sizeof conv, "%s.cbam.spatial.conv", b->name);
  snprintf (bn, sizeof bn, "%s.cbam.spatial.bn", b->name);
  AttnConvLayer sp = { 0 };
  take_conv_bn (ld, &sp, conv, bn, 2, 1, k, 1, eps);
  if (ld->failed)
    return;
  b->sp_w = sp.weight;
  b->sp_b = sp.bias[0];
  b->sp_k = k;
}

static void
load_stn (Loader *ld, AttnModel *m, JsonObject *arch)
{
  JsonNode *sn = json_object_get_member (arch, "stn");
  if (!sn || JSON_NODE_HOLDS_NULL (sn))
    return;
  if (!JSON_NODE_HOLDS_OBJECT (sn)) {
    fail (ld, "architecture: 'stn' must be an object or null");
    return;
  }
  JsonObject *so = json_node_get_object (sn);
  m->stn_align_corners = get_bool (ld, so, "architecture.stn", "align_corners",
                                   false);
  JsonNode *ln = json_object_get_member (so, "layers");
  JsonArray *la = ln && JSON_NODE_HOLDS_ARRAY (ln) ? json_node_get_array (ln)
      : NULL;
  guint nl = la ? json_array_get_length (la) : 0;
  if (nl < 1 || nl > ATTN_MODEL_MAX_STN_LAYERS) {
    fail (ld, "architecture.stn: 'layers' must be an array of 1 to %d layers",
          ATTN_MODEL_MAX_STN_LAYERS);
    return;
  }
  m->stn = g_new0 (AttnStnLayer, nl);
  m->n_stn = (int) nl;
  static const char *const types[] = { "conv", "maxpool", "avgpool", "relu",
                                       "gap", "linear", NULL };
  int c = 3, last_out = -1;
  for (guint i = 0; i < nl && !ld->failed; i++) {
    char ctx[64], n[64];
    snprintf (ctx, sizeof ctx, "architecture.stn.layers[%u]", i);
    JsonNode *e = json_array_get_element (la, i);
    if (!JSON_NODE_HOLDS_OBJECT (e)) {
      fail (ld, "%s must be an object", ctx);
      return;
    }
    JsonObject *lo = json_node_get_object (e);
    AttnStnLayer *l = &m->stn[i];
    l->type = (AttnStnLayerType) get_choice (ld, lo, ctx, "type", types, true, 0);
    switch (l->type) {
      case ATTN_STN_CONV:{
        int out = get_int (ld, lo, ctx, "out", 1, ATTN_MODEL_MAX_WIDTH, true, 1);
        int k = get_int (ld, lo, ctx, "kernel", 1, 15, true, 1);
        int s = get_int (ld, lo, ctx, "stride", 1, 8, false, 1);
        int pad = get_int (ld, lo, ctx, "pad", 0, 7, false, 0);
        l->conv = (AttnConv2d) { c, out, k, k, s, s, pad, pad, 1, 1, 1 };
        snprintf (n, sizeof n, "stn.%u.weight", i);
        l->weight = take (ld, n, 4, (int64_t) out, (int64_t) c, (int64_t) k,
                          (int64_t) k);
        snprintf (n, sizeof n, "stn.%u.bias", i);
        l->bias = take (ld, n, 1, (int64_t) out);
        c = out;
        last_out = -1;
        break;
      }
      case ATTN_STN_MAXPOOL:
      case ATTN_STN_AVGPOOL:{
        int k = get_int (ld, lo, ctx, "kernel", 1, 15, true, 1);
        int s = get_int (ld, lo, ctx, "stride", 1, 15, false, k);
        int pad = get_int (ld, lo, ctx, "pad", 0, k / 2, false, 0);
        l->pool = (AttnPool2d) { k, k, s, s, pad, pad, 1, 1, false, true };
        break;
      }
      case ATTN_STN_RELU:
        break;
      case ATTN_STN_GAP:
        last_out = c;
        break;
      case ATTN_STN_LINEAR:{
        int out = get_int (ld, lo, ctx, "out", 1, 1 << 20, true, 1);
        const AttnTensorInfo *t;
        int64_t shape[2] = { out, -1 };
        snprintf (n, sizeof n, "stn.%u.weight", i);
        l->weight = take_shape (ld, n, 2, shape, &t);
        if (ld->failed)
          return;
        l->in = (int) t->shape[1];
        l->out = out;
        if (last_out >= 0 && l->in != last_out) {
          fail (ld, "tensor 'stn.%u.weight' takes %d inputs but the layer "
                "before gives %d", i, l->in, last_out);
          return;
        }
        snprintf (n, sizeof n, "stn.%u.bias", i);
        l->bias = take (ld, n, 1, (int64_t) out);
        last_out = out;
        break;
      }
    }
  }
  if (!ld->failed && last_out != 6)
    fail (ld, "architecture.stn: the localisation net must end in 6 values "
          "(θ), it ends in %s", last_out < 0 ? "a feature map" : "another size");
}

/* The decoder head (docs/model-format.md "decoder") on the last block's
 * C_last-channel map. */
static void
load_decoder (Loader *ld, AttnModel *m, JsonObject *arch)
{
  JsonNode *dn = json_object_get_member (arch, "decoder");
  if (ld->failed || !dn || JSON_NODE_HOLDS_NULL (dn))
    return;
  if (!JSON_NODE_HOLDS_OBJECT (dn)) {
    fail (ld, "architecture: 'decoder' must be an object or null");
    return;
  }
  JsonObject *o = json_node_get_object (dn);
  const char *ctx = "architecture.decoder";
  static const char *const cells[] = { "gru", "lstm", NULL };
  static const char *const kinds[] = { "additive", "dot", NULL };
  AttnDecoder *d = g_new0 (AttnDecoder, 1);
  m->decoder = d;
  d->cell = (AttnCellKind) get_choice (ld, o, ctx, "cell", cells, true, 0);
  d->attention = (AttnDecAttention) get_choice (ld, o, ctx, "attention",
                                                kinds, true, 0);
  d->d = m->c_last;
  d->hidden = get_int (ld, o, ctx, "hidden", 1, ATTN_DECODER_MAX_DIM, true, 1);
  d->embed = get_int (ld, o, ctx, "embed", 1, ATTN_DECODER_MAX_DIM, true, 1);
  if (d->attention == ATTN_DEC_ADDITIVE)
    d->att_dim = get_int (ld, o, ctx, "attention_dim", 1, ATTN_DECODER_MAX_DIM,
                          true, 1);
  else if (get_int (ld, o, ctx, "attention_dim", 0, 0, false, 0) != 0)
    return;
  d->gate = get_bool (ld, o, ctx, "gate", false);
  d->max_length = get_int (ld, o, ctx, "max_length", 1,
                           ATTN_DECODER_MAX_LENGTH, true, 1);
  if (ld->failed)
    return;
  JsonNode *vn = json_object_get_member (o, "vocabulary");
  JsonArray *va = vn && JSON_NODE_HOLDS_ARRAY (vn) ? json_node_get_array (vn)
      : NULL;
  guint nv = va ? json_array_get_length (va) : 0;
  if (nv < 2 || nv > ATTN_DECODER_MAX_VOCAB) {
    fail (ld, "%s: 'vocabulary' must be an array of 2 to %d strings", ctx,
          ATTN_DECODER_MAX_VOCAB);
    return;
  }
  d->vocab = (int) nv;
  d->vocabulary = g_new0 (char *, nv + 1);
  for (guint i = 0; i < nv; i++) {
    JsonNode *e = json_array_get_element (va, i);
    const char *s = JSON_NODE_HOLDS_VALUE (e)
        && json_node_get_value_type (e) == G_TYPE_STRING
        ? json_node_get_string (e) : NULL;
    if (!s || !*s || !g_utf8_validate (s, -1, NULL)) {
      fail (ld, "%s: 'vocabulary'[%u] must be a non-empty UTF-8 string", ctx,
            i);
      return;
    }
    d->vocabulary[i] = g_strdup (s);
  }
  d->start = get_int (ld, o, ctx, "start", 0, d->vocab - 1, true, 0);
  d->end = get_int (ld, o, ctx, "end", 0, d->vocab - 1, true, 1);
  if (!ld->failed && d->start == d->end) {
    fail (ld, "%s: 'start' and 'end' must be different tokens (both %d)", ctx,
          d->start);
    return;
  }
  int64_t dd = d->d, dh = d->hidden, e = d->embed, v = d->vocab;
  int64_t g = attn_decoder_gates (d->cell);
  d->init_h_w = take (ld, "decoder.init_h.weight", 2, dh, dd);
  d->init_h_b = take (ld, "decoder.init_h.bias", 1, dh);
  if (d->cell == ATTN_CELL_LSTM) {
    d->init_c_w = take (ld, "decoder.init_c.weight", 2, dh, dd);
    d->init_c_b = take (ld, "decoder.init_c.bias", 1, dh);
  }
  d->embed_w = take (ld, "decoder.embed.weight", 2, v, e);
  if (d->attention == ATTN_DEC_ADDITIVE) {
    int64_t da = d->att_dim;
    d->enc_w = take (ld, "decoder.att.enc.weight", 2, da, dd);
    d->enc_b = take (ld, "decoder.att.enc.bias", 1, da);
    d->dec_w = take (ld, "decoder.att.dec.weight", 2, da, dh);
    d->v_w = take (ld, "decoder.att.v.weight", 2, (int64_t) 1, da);
  } else {
    d->query_w = take (ld, "decoder.att.query.weight", 2, dd, dh);
    d->query_b = take (ld, "decoder.att.query.bias", 1, dd);
  }
  if (d->gate) {
    d->gate_w = take (ld, "decoder.gate.weight", 2, (int64_t) 1, dh);
    d->gate_b = take (ld, "decoder.gate.bias", 1, (int64_t) 1);
  }
  d->w_ih = take (ld, "decoder.cell.weight_ih", 2, g * dh, e + dd);
  d->b_ih = take (ld, "decoder.cell.bias_ih", 1, g * dh);
  d->w_hh = take (ld, "decoder.cell.weight_hh", 2, g * dh, dh);
  d->b_hh = take (ld, "decoder.cell.bias_hh", 1, g * dh);
  d->out_w = take (ld, "decoder.out.weight", 2, v, dh + dd);
  d->out_b = take (ld, "decoder.out.bias", 1, v);
}

static void
load_architecture (Loader *ld, AttnModel *m, JsonObject *a)
{
  const char *ctx = "architecture";
  static const char *const families[] = { "resnet", NULL };
  static const char *const blocks[] = { "basic", "bottleneck", NULL };
  static const char *const strides[] = { "3x3", "1x1", NULL };
  static const char *const gates[] = { "none", "se", "cbam", NULL };
  get_choice (ld, a, ctx, "family", families, true, 0);
  m->block_type = (AttnBlockType) get_choice (ld, a, ctx, "block", blocks,
                                              true, 0);
  int layers[ATTN_MODEL_MAX_STAGES], widths[ATTN_MODEL_MAX_STAGES];
  int ns = get_int_array (ld, a, ctx, "layers", layers, ATTN_MODEL_MAX_STAGES,
                          1, ATTN_MODEL_MAX_BLOCKS);
  int nw = get_int_array (ld, a, ctx, "widths", widths, ATTN_MODEL_MAX_STAGES,
                          1, ATTN_MODEL_MAX_WIDTH);
  if (!ld->failed && ns != nw)
    fail (ld, "architecture: 'layers' has %d stages but 'widths' has %d", ns,
          nw);
  int stem_w = get_int (ld, a, ctx, "stem_width", 1, ATTN_MODEL_MAX_WIDTH,
                        true, 64);
  bool stride_1x1 = get_choice (ld, a, ctx, "stride_on", strides, false, 0) == 1;
  m->gate = (AttnGateType) get_choice (ld, a, ctx, "attention", gates, true, 0);
  int sk = get_int (ld, a, ctx, "spatial_kernel", 1, 15, false, 7);
  if (!ld->failed && sk % 2 == 0)
    fail (ld, "architecture: 'spatial_kernel' must be odd, is %d", sk);
  m->num_classes = get_int (ld, a, ctx, "num_classes", 1,
                            ATTN_MODEL_MAX_CLASSES, true, 1);
  float eps = (float) get_double (ld, a, ctx, "bn_eps", 1e-12, 1.0, 1e-5);

  JsonNode *pn = json_object_get_member (a, "stem_pool");
  if (pn && JSON_NODE_HOLDS_OBJECT (pn)) {
    JsonObject *po = json_node_get_object (pn);
    const char *pctx = "architecture.stem_pool";
    int k = get_int (ld, po, pctx, "kernel", 1, 15, true, 3);
    int s = get_int (ld, po, pctx, "stride", 1, 15, true, 2);
    int pad = get_int (ld, po, pctx, "pad", 0, k / 2, false, 0);
    bool ceil = get_bool (ld, po, pctx, "ceil_mode", false);
    m->has_stem_pool = true;
    m->stem_pool = (AttnPool2d) { k, k, s, s, pad, pad, 1, 1, ceil, true };
  } else if (pn && !JSON_NODE_HOLDS_NULL (pn)) {
    fail (ld, "architecture: 'stem_pool' must be an object or null");
  }
  if (ld->failed)
    return;

  load_stn (ld, m, a);
  take_conv_bn (ld, &m->stem, "stem.conv", "stem.bn", 3, stem_w, 7, 2, eps);

  int exp = m->block_type == ATTN_BLOCK_BOTTLENECK ? 4 : 1;
  m->n_blocks = 0;
  for (int s = 0; s < ns; s++)
    m->n_blocks += layers[s];
  m->blocks = g_new0 (AttnBlock, m->n_blocks);
  int cin = stem_w, bi = 0;
  for (int s = 0; s < ns && !ld->failed; s++)
    for (int j = 0; j < layers[s] && !ld->failed; j++, bi++) {
      AttnBlock *b = &m->blocks[bi];
      int p = widths[s], st = j == 0 && s > 0 ? 2 : 1;
      char pre[40], cn[96], bn[96];
      snprintf (b->name, sizeof b->name, "layer%d.%d", s + 1, j);
      snprintf (pre, sizeof pre, "%s", b->name);
      b->c_in = cin;
      b->c_out = p * exp;
      b->stride = st;
      b->gate = m->gate;
#define CONV(field, idx, ci, co, k, stv)                                  \
      snprintf (cn, sizeof cn, "%s.conv%d", pre, idx);                  \
      snprintf (bn, sizeof bn, "%s.bn%d", pre, idx);                    \
      take_conv_bn (ld, &b->field, cn, bn, ci, co, k, stv, eps)
      if (m->block_type == ATTN_BLOCK_BASIC) {
        CONV (conv1, 1, cin, p, 3, st);
        CONV (conv2, 2, p, p, 3, 1);
      } else {
        CONV (conv1, 1, cin, p, 1, stride_1x1 ? st : 1);
        CONV (conv2, 2, p, p, 3, stride_1x1 ? 1 : st);
        CONV (conv3, 3, p, b->c_out, 1, 1);
      }
#undef CONV
      b->has_down = st != 1 || cin != b->c_out;
      if (b->has_down) {
        snprintf (cn, sizeof cn, "%s.downsample.conv", pre);
        snprintf (bn, sizeof bn, "%s.downsample.bn", pre);
        take_conv_bn (ld, &b->down, cn, bn, cin, b->c_out, 1, st, eps);
      }
      if (b->gate != ATTN_GATE_NONE)
        load_gate (ld, b, sk, eps);
      cin = b->c_out;
    }
  m->c_last = cin;
  float *fcw = take (ld, "fc.weight", 2, (int64_t) m->num_classes,
                     (int64_t) cin);
  m->fc_b = take (ld, "fc.bias", 1, (int64_t) m->num_classes);
  m->fc_w = fcw;
  load_decoder (ld, m, a);
}

static void
check_all_taken (Loader *ld)
{
  for (size_t i = 0; i < attn_safetensors_count (ld->st) && !ld->failed; i++) {
    const char *name = attn_safetensors_at (ld->st, i)->name;
    if (!g_hash_table_contains (ld->taken, name)
        && !g_str_has_suffix (name, "num_batches_tracked"))
      fail (ld, "tensor '%s' is not used by the declared architecture "
            "(is the file for another model?)", name);
  }
}

static void
model_free (AttnModel *m)
{
  if (!m)
    return;
  g_free (m->path);
  g_free (m->name);
  g_free (m->blocks);
  g_free (m->stn);
  if (m->decoder) {
    g_strfreev (m->decoder->vocabulary);
    g_free (m->decoder);
  }
  if (m->labels)
    g_strfreev (m->labels);
  attn_mem_free (m->arena);
  g_free (m);
}

static AttnModel *
model_from (const AttnSafetensors *st, const char *src, char *err,
            size_t errlen)
{
  Loader ld = { st, src, err, errlen, false, NULL, 0, 0, NULL };
  AttnModel *m = g_new0 (AttnModel, 1);
  m->refcount = 1;
  m->path = g_strdup (src);

  const char *fmt = attn_safetensors_metadata (st, "format");
  const char *ver = attn_safetensors_metadata (st, "format_version");
  if (!fmt || strcmp (fmt, MODEL_FORMAT) != 0)
    fail (&ld, "not a gst-attention model: __metadata__ 'format' is %s%s%s, "
          "expected '" MODEL_FORMAT "'", fmt ? "'" : "", fmt ? fmt : "missing",
          fmt ? "'" : "");
  else if (!ver || strcmp (ver, MODEL_FORMAT_VERSION) != 0)
    fail (&ld, "unsupported format_version '%s' (this build reads "
          MODEL_FORMAT_VERSION ")", ver ? ver : "(missing)");
  if (ld.failed)
    goto out;

  /* Upper bound of the arena: every tensor widened, plus a bias per conv. */
  for (size_t i = 0; i < attn_safetensors_count (st); i++) {
    const AttnTensorInfo *t = attn_safetensors_at (st, i);
    ld.cap += t->numel + (t->ndim == 4 ? (size_t) t->shape[0] : 0);
  }
  ld.arena = attn_mem_floats (ld.cap, false);
  if (!ld.arena) {
    fail (&ld, "cannot allocate %zu bytes for the weights", ld.cap * 4);
    goto out;
  }
  m->arena = ld.arena;
  ld.taken = g_hash_table_new (g_str_hash, g_str_equal);

  const char *name = attn_safetensors_metadata (st, "name");
  if (name) {
    m->name = g_strdup (name);
  } else {
    char *base = g_path_get_basename (src);
    char *dot = strrchr (base, '.');
    if (dot && dot != base)
      *dot = '\0';
    m->name = base;
  }

  JsonParser *pa = json_parser_new_immutable ();
  JsonParser *pp = json_parser_new_immutable ();
  JsonObject *arch = parse_object (&ld, pa, "architecture", true);
  JsonObject *pre = parse_object (&ld, pp, "preprocess", false);
  if (arch)
    load_architecture (&ld, m, arch);
  if (!ld.failed)
    load_preprocess (&ld, m, pre);
  if (!ld.failed)
    load_labels (&ld, m);
  if (!ld.failed)
    check_all_taken (&ld);
  g_object_unref (pa);
  g_object_unref (pp);
  m->n_params = ld.used;

out:
  if (ld.taken)
    g_hash_table_destroy (ld.taken);
  if (ld.failed) {
    model_free (m);
    return NULL;
  }
  return m;
}

AttnModel *
attn_model_load (const char *path, char *err, size_t errlen)
{
  AttnSafetensors *st = attn_safetensors_open (path, err, errlen);
  if (!st)
    return NULL;
  AttnModel *m = model_from (st, path, err, errlen);
  attn_safetensors_close (st);
  return m;
}

AttnModel *
attn_model_load_bytes (const void *bytes, size_t len, const char *what,
                       char *err, size_t errlen)
{
  AttnSafetensors *st = attn_safetensors_open_bytes (bytes, len, what, err,
                                                    errlen);
  if (!st)
    return NULL;
  AttnModel *m = model_from (st, what ? what : "(memory)", err, errlen);
  attn_safetensors_close (st);
  return m;
}

/* ---- sharing ------------------------------------------------------------- */

static GMutex cache_lock;
static GCond cache_cond;
static GHashTable *cache;     /* identity key → AttnModel* (borrowed) */
static GHashTable *loading;   /* identity keys being loaded right now */

/* The file's identity (device, inode, size, mtime), or NULL with a message
 * when it is not a regular file: a FIFO, a device or a directory is refused
 * here, before anything opens it, so nothing blocks in open(). */
static char *
file_identity (const char *path, char *err, size_t errlen)
{
  struct stat sb;
  if (stat (path, &sb) != 0) {
    snprintf (err, errlen, "%s: cannot open: %s", path, g_strerror (errno));
    return NULL;
  }
  if (!S_ISREG (sb.st_mode)) {
    snprintf (err, errlen, "%s: not a regular file", path);
    return NULL;
  }
  return g_strdup_printf ("%ju:%ju:%jd:%jd.%09ld", (uintmax_t) sb.st_dev,
                          (uintmax_t) sb.st_ino, (intmax_t) sb.st_size,
                          (intmax_t) sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
}

AttnModel *
attn_model_open_shared (const char *path, char *err, size_t errlen)
{
  char *key = file_identity (path, err, errlen);
  if (!key)
    return NULL;
  g_mutex_lock (&cache_lock);
  /* the same file being loaded by another element: wait for it, so it is
   * loaded once; other files are loaded meanwhile, the lock is free. The
   * tables go when the last model does, so look again after each wait. */
  for (;;) {
    if (!cache) {
      cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      loading = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    }
    if (!g_hash_table_contains (loading, key))
      break;
    g_cond_wait (&cache_cond, &cache_lock);
  }
  AttnModel *m = g_hash_table_lookup (cache, key);
  if (m) {
    m->refcount++;
    g_mutex_unlock (&cache_lock);
    g_free (key);
    return m;
  }
  g_hash_table_add (loading, g_strdup (key));
  g_mutex_unlock (&cache_lock);

  /* the file is read with no lock held: a slow disk or a stalled mount
   * delays this caller only */
  m = attn_model_load (path, err, errlen);

  g_mutex_lock (&cache_lock);
  g_hash_table_remove (loading, key);
  if (m) {
    m->cache_key = key;
    g_hash_table_insert (cache, g_strdup (key), m);
  } else {
    g_free (key);
  }
  g_cond_broadcast (&cache_cond);
  g_mutex_unlock (&cache_lock);
  return m;
}

AttnModel *
attn_model_ref (AttnModel *m)
{
  g_mutex_lock (&cache_lock);
  m->refcount++;
  g_mutex_unlock (&cache_lock);
  return m;
}

void
attn_model_unref (AttnModel *m)
{
  if (!m)
    return;
  g_mutex_lock (&cache_lock);
  bool last = --m->refcount == 0;
  if (last && m->cache_key)
    g_hash_table_remove (cache, m->cache_key);
  if (last && cache && g_hash_table_size (cache) == 0
      && g_hash_table_size (loading) == 0) {
    g_hash_table_destroy (cache);
    g_hash_table_destroy (loading);
    cache = loading = NULL;
  }
  g_mutex_unlock (&cache_lock);
  if (last) {
    g_free (m->cache_key);
    model_free (m);
  }
}
