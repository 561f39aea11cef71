/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* safetensors.c — validated, memory-mapped .safetensors reader.
 *
 * The header is bounded by attn_json_guard (depth, sizes, duplicate keys,
 * numbers, UTF-8), then parsed with json-glib. Every number that comes from
 * the file is checked before it is used: no offset, size or shape is
 * trusted. */
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "json_guard.h"

/* Tensor data is read as stored: little-endian, like every safetensors file. */
G_STATIC_ASSERT (G_BYTE_ORDER == G_LITTLE_ENDIAN);

struct AttnSafetensors {
  char *source;
  void *map;              /* the whole file when mmapped, else NULL */
  size_t map_len;
  const uint8_t *data;    /* start of the data section */
  size_t data_len;
  AttnTensorInfo *tensors;
  size_t n_tensors;
  GHashTable *by_name;    /* name → AttnTensorInfo* (borrowed) */
  GHashTable *metadata;   /* key → value (owned strings) */
};

static const struct {
  const char *name;
  AttnDType dtype;
  size_t size;
} dtypes[] = {
  { "F32", ATTN_DTYPE_F32, 4 },
  { "F16", ATTN_DTYPE_F16, 2 },
  { "BF16", ATTN_DTYPE_BF16, 2 },
  { "I64", ATTN_DTYPE_I64, 8 },
  { "I32", ATTN_DTYPE_I32, 4 },
  { "U8", ATTN_DTYPE_U8, 1 },
};

const char *
attn_dtype_name (AttnDType dt)
{
  for (size_t i = 0; i < G_N_ELEMENTS (dtypes); i++)
    if (dtypes[i].dtype == dt)
      return dtypes[i].name;
  return "?";
}

static int
cmp_by_offset (const void *a, const void *b)
{
  const AttnTensorInfo *x = a, *y = b;
  uintptr_t px = (uintptr_t) x->data, py = (uintptr_t) y->data;
  return px < py ? -1 : px > py ? 1 : 0;
}

/* Reads a JSON integer that must be a whole number in [0, max]. */
static gboolean
json_uint (JsonNode *n, uint64_t max, uint64_t *out)
{
  if (!n || !JSON_NODE_HOLDS_VALUE (n))
    return FALSE;
  if (json_node_get_value_type (n) != G_TYPE_INT64)
    return FALSE;
  gint64 v = json_node_get_int (n);
  if (v < 0 || (uint64_t) v > max)
    return FALSE;
  *out = (uint64_t) v;
  return TRUE;
}

static gboolean
parse_tensor (AttnSafetensors *st, const char *name, JsonNode *node,
              AttnTensorInfo *t, char *err, size_t errlen)
{
  const char *src = st->source;
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    attn_set_err (err, errlen, "%s: tensor '%s': expected a JSON object, found %s",
             src, name, json_node_type_name (node));
    return FALSE;
  }
  JsonObject *o = json_node_get_object (node);

  JsonNode *dn = json_object_get_member (o, "dtype");
  const char *dts = dn && JSON_NODE_HOLDS_VALUE (dn)
      && json_node_get_value_type (dn) == G_TYPE_STRING
      ? json_node_get_string (dn) : NULL;
  size_t esize = 0;
  for (size_t i = 0; dts && i < G_N_ELEMENTS (dtypes); i++)
    if (strcmp (dts, dtypes[i].name) == 0) {
      t->dtype = dtypes[i].dtype;
      esize = dtypes[i].size;
    }
  if (!esize) {
    attn_set_err (err, errlen, "%s: tensor '%s': unsupported or missing dtype '%s' "
             "(expected F32, F16, BF16, I64, I32 or U8)", src, name,
             dts ? dts : "(none)");
    return FALSE;
  }

  JsonNode *sn = json_object_get_member (o, "shape");
  if (!sn || !JSON_NODE_HOLDS_ARRAY (sn)) {
    attn_set_err (err, errlen, "%s: tensor '%s': missing or non-array 'shape'",
             src, name);
    return FALSE;
  }
  JsonArray *shape = json_node_get_array (sn);
  guint nd = json_array_get_length (shape);
  if (nd > ATTN_ST_MAX_DIMS) {
    attn_set_err (err, errlen, "%s: tensor '%s': %u dimensions, at most %d "
             "supported", src, name, nd, ATTN_ST_MAX_DIMS);
    return FALSE;
  }
  t->ndim = (int) nd;
  uint64_t numel = 1;
  for (guint i = 0; i < nd; i++) {
    uint64_t d;
    if (!json_uint (json_array_get_element (shape, i), INT32_MAX, &d)) {
      attn_set_err (err, errlen, "%s: tensor '%s': shape[%u] is not an integer in "
               "[0, %d]", src, name, i, INT32_MAX);
      return FALSE;
    }
    t->shape[i] = (int64_t) d;
    if (d != 0 && numel > SIZE_MAX / esize / d) {
      attn_set_err (err, errlen, "%s: tensor '%s': shape product overflows", src,
               name);
      return FALSE;
    }
    numel *= d;
  }
  t->numel = (size_t) numel;
  t->nbytes = (size_t) numel * esize;

  JsonNode *on = json_object_get_member (o, "data_offsets");
  JsonArray *offs = on && JSON_NODE_HOLDS_ARRAY (on)
      ? json_node_get_array (on) : NULL;
  uint64_t begin, end;
  if (!offs || json_array_get_length (offs) != 2
      || !json_uint (json_array_get_element (offs, 0), SIZE_MAX, &begin)
      || !json_uint (json_array_get_element (offs, 1), SIZE_MAX, &end)) {
    attn_set_err (err, errlen, "%s: tensor '%s': 'data_offsets' must be two "
             "non-negative integers [begin, end]", src, name);
    return FALSE;
  }
  if (begin > end || end > st->data_len) {
    attn_set_err (err, errlen, "%s: tensor '%s': data_offsets [%" G_GUINT64_FORMAT
             ", %" G_GUINT64_FORMAT "] outside the data section of %zu bytes",
             src, name, begin, end, st->data_len);
    return FALSE;
  }
  if (end - begin != t->nbytes) {
    attn_set_err (err, errlen, "%s: tensor '%s': holds %" G_GUINT64_FORMAT
             " bytes, but %s × shape needs %zu", src, name, end - begin, dts,
             t->nbytes);
    return FALSE;
  }
  t->data = st->data + begin;
  return TRUE;
}

static gboolean
parse_metadata (AttnSafetensors *st, JsonNode *node, char *err, size_t errlen)
{
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    attn_set_err (err, errlen, "%s: '__metadata__' must be an object of strings",
             st->source);
    return FALSE;
  }
  JsonObject *o = json_node_get_object (node);
  JsonObjectIter it;
  const char *key;
  JsonNode *val;
  json_object_iter_init (&it, o);
  while (json_object_iter_next (&it, &key, &val)) {
    if (!JSON_NODE_HOLDS_VALUE (val)
        || json_node_get_value_type (val) != G_TYPE_STRING) {
      attn_set_err (err, errlen, "%s: __metadata__ '%s' is not a string",
               st->source, key);
      return FALSE;
    }
    g_hash_table_insert (st->metadata, g_strdup (key),
                         g_strdup (json_node_get_string (val)));
  }
  return TRUE;
}

static gboolean
parse (AttnSafetensors *st, const uint8_t *bytes, size_t len, char *err,
       size_t errlen)
{
  const char *src = st->source;
  if (len < 8) {
    attn_set_err (err, errlen, "%s: %zu bytes is too short for a safetensors file "
             "(needs an 8-byte header length)", src, len);
    return FALSE;
  }
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | bytes[i];
  if (hlen > len - 8) {
    attn_set_err (err, errlen, "%s: header length %" G_GUINT64_FORMAT " runs past "
             "the end of the file (%zu bytes)", src, hlen, len);
    return FALSE;
  }
  if (hlen > ATTN_ST_MAX_HEADER) {
    attn_set_err (err, errlen, "%s: header length %" G_GUINT64_FORMAT " exceeds "
             "the %u-byte limit", src, hlen, ATTN_ST_MAX_HEADER);
    return FALSE;
  }
  if (hlen < 2) {
    attn_set_err (err, errlen, "%s: header of %" G_GUINT64_FORMAT " bytes cannot "
             "hold a JSON object", src, hlen);
    return FALSE;
  }
  st->data = bytes + 8 + hlen;
  st->data_len = len - 8 - (size_t) hlen;

  const char *json = (const char *) bytes + 8;
  char why[512];
  if (!attn_json_guard (json, (size_t) hlen, ATTN_JSON_LIMITS_HEADER, why,
                        sizeof why)) {
    attn_set_err (err, errlen, "%s: header refused before parsing: %s", src, why);
    return FALSE;
  }
  JsonParser *parser = json_parser_new_immutable ();
  GError *gerr = NULL;
  gboolean ok = FALSE;
  if (!json_parser_load_from_data (parser, json, (gssize) hlen, &gerr)) {
    attn_set_err (err, errlen, "%s: header is not valid JSON: %s", src,
             gerr->message);
    g_clear_error (&gerr);
    goto out;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    attn_set_err (err, errlen, "%s: header must be a JSON object", src);
    goto out;
  }
  JsonObject *o = json_node_get_object (root);
  guint n = json_object_get_size (o);
  st->tensors = g_new0 (AttnTensorInfo, n ? n : 1);
  JsonObjectIter it;
  const char *name;
  JsonNode *val;
  json_object_iter_init (&it, o);
  while (json_object_iter_next (&it, &name, &val)) {
    if (strcmp (name, "__metadata__") == 0) {
      if (!parse_metadata (st, val, err, errlen))
        goto out;
      continue;
    }
    if (g_hash_table_contains (st->by_name, name)) {
      attn_set_err (err, errlen, "%s: tensor '%s' appears twice", src, name);
      goto out;
    }
    AttnTensorInfo *t = &st->tensors[st->n_tensors];
    if (!parse_tensor (st, name, val, t, err, errlen))
      goto out;
    t->name = g_strdup (name);
    st->n_tensors++;
  }

  /* No two tensors may share bytes: sort a copy by start and check ends. */
  if (st->n_tensors > 1) {
    AttnTensorInfo *sorted = g_memdup2 (st->tensors,
        st->n_tensors * sizeof (AttnTensorInfo));
    qsort (sorted, st->n_tensors, sizeof (AttnTensorInfo), cmp_by_offset);
    for (size_t i = 1; i < st->n_tensors; i++) {
      const uint8_t *prev_end = (const uint8_t *) sorted[i - 1].data
          + sorted[i - 1].nbytes;
      if ((const uint8_t *) sorted[i].data < prev_end) {
        attn_set_err (err, errlen, "%s: tensors '%s' and '%s' overlap", src,
                 sorted[i - 1].name, sorted[i].name);
        g_free (sorted);
        goto out;
      }
    }
    g_free (sorted);
  }
  for (size_t i = 0; i < st->n_tensors; i++)
    g_hash_table_insert (st->by_name, (gpointer) st->tensors[i].name,
                         &st->tensors[i]);
  ok = TRUE;
out:
  g_object_unref (parser);
  return ok;
}

static AttnSafetensors *
st_new (const char *source)
{
  AttnSafetensors *st = g_new0 (AttnSafetensors, 1);
  st->source = g_strdup (source);
  st->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  st->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        g_free);
  return st;
}

AttnSafetensors *
attn_safetensors_open_bytes (const void *bytes, size_t len, const char *what,
                             char *err, size_t errlen)
{
  AttnSafetensors *st = st_new (what ? what : "(memory)");
  if (!parse (st, bytes, len, err, errlen)) {
    attn_safetensors_close (st);
    return NULL;
  }
  return st;
}

AttnSafetensors *
attn_safetensors_open (const char *path, char *err, size_t errlen)
{
  /* O_NONBLOCK: a FIFO named here (swapped in after any check by path)
   * must not block in open(); the fstat below refuses it */
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    attn_set_err (err, errlen, "%s: cannot open: %s", path, g_strerror (errno));
    return NULL;
  }
  struct stat sb;
  if (fstat (fd, &sb) != 0 || !S_ISREG (sb.st_mode)) {
    attn_set_err (err, errlen, "%s: not a regular file", path);
    close (fd);
    return NULL;
  }
  if (sb.st_size < 8) {
    attn_set_err (err, errlen, "%s: %lld bytes is too short for a safetensors file "
             "(needs an 8-byte header length)", path, (long long) sb.st_size);
    close (fd);
    return NULL;
  }
  size_t len = (size_t) sb.st_size;
  void *map = mmap (NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  close (fd);
  if (map == MAP_FAILED) {
    attn_set_err (err, errlen, "%s: cannot map: %s", path, g_strerror (errno));
    return NULL;
  }
  AttnSafetensors *st = st_new (path);
  st->map = map;
  st->map_len = len;
  if (!parse (st, map, len, err, errlen)) {
    attn_safetensors_close (st);
    return NULL;
  }
  return st;
}

void
attn_safetensors_close (AttnSafetensors *st)
{
  if (!st)
    return;
  for (size_t i = 0; i < st->n_tensors; i++)
    g_free ((char *) st->tensors[i].name);
  g_free (st->tensors);
  g_hash_table_destroy (st->by_name);
  g_hash_table_destroy (st->metadata);
  if (st->map)
    munmap (st->map, st->map_len);
  g_free (st->source);
  g_free (st);
}

size_t
attn_safetensors_count (const AttnSafetensors *st)
{
  return st->n_tensors;
}

const AttnTensorInfo *
attn_safetensors_at (const AttnSafetensors *st, size_t i)
{
  return i < st->n_tensors ? &st->tensors[i] : NULL;
}

const AttnTensorInfo *
attn_safetensors_find (const AttnSafetensors *st, const char *name)
{
  return g_hash_table_lookup (st->by_name, name);
}

const char *
attn_safetensors_metadata (const AttnSafetensors *st, const char *key)
{
  return g_hash_table_lookup (st->metadata, key);
}

const char *
attn_safetensors_source (const AttnSafetensors *st)
{
  return st->source;
}

static float
half_to_f32 (uint16_t h)
{
  uint32_t sign = (uint32_t) (h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {                    /* subnormal: renormalise */
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        exp--;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 0x1f) {     /* inf / nan */
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  memcpy (&f, &bits, 4);
  return f;
}

int
attn_tensor_to_f32 (float *dst, const AttnTensorInfo *t)
{
  const uint8_t *p = t->data;
  switch (t->dtype) {
    case ATTN_DTYPE_F32:
      memcpy (dst, p, t->numel * 4);     /* little-endian host assumed */
      return 0;
    case ATTN_DTYPE_F16:
      for (size_t i = 0; i < t->numel; i++)
        dst[i] = half_to_f32 ((uint16_t) (p[2 * i] | p[2 * i + 1] << 8));
      return 0;
    case ATTN_DTYPE_BF16:
      for (size_t i = 0; i < t->numel; i++) {
        uint32_t bits = (uint32_t) (p[2 * i] | p[2 * i + 1] << 8) << 16;
        memcpy (&dst[i], &bits, 4);
      }
      return 0;
    default:
      return -1;
  }
}
