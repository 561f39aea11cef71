/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_safetensors.c — the reader accepts well-formed files (F32/F16/BF16,
 * metadata, mmapped from disk) and rejects each malformed one with a message
 * that says what is wrong. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "safetensors.h"

/* file bytes = u64 LE header length + header + data */
static GByteArray *
build_len (const char *header, size_t n, const void *data, size_t data_len)
{
  GByteArray *b = g_byte_array_new ();
  guint8 len[8];
  for (int i = 0; i < 8; i++)
    len[i] = (guint8) (n >> (8 * i));
  g_byte_array_append (b, len, 8);
  g_byte_array_append (b, (const guint8 *) header, (guint) n);
  g_byte_array_append (b, data, (guint) data_len);
  return b;
}

static GByteArray *
build (const char *header, const void *data, size_t data_len)
{
  return build_len (header, strlen (header), data, data_len);
}

/* Opening must fail and the message must contain `needle`. */
static bool
rejects_len (const char *header, size_t len, size_t data_len,
             const char *needle)
{
  guint8 *data = g_malloc0 (data_len + 1);
  GByteArray *b = build_len (header, len, data, data_len);
  char err[512] = "";
  AttnSafetensors *st = attn_safetensors_open_bytes (b->data, b->len, "t.st",
                                                    err, sizeof err);
  bool ok = st == NULL && strstr (err, needle) != NULL;
  if (!ok)
    printf ("# header %.80s: expected an error containing '%s', got '%s'\n",
            header, needle, st ? "(accepted)" : err);
  attn_safetensors_close (st);
  g_byte_array_unref (b);
  g_free (data);
  return ok;
}

static bool
rejects (const char *header, size_t data_len, const char *needle)
{
  return rejects_len (header, strlen (header), data_len, needle);
}

/* pre, n copies of unit, post (g_free it) */
static char *
repeat (const char *pre, const char *unit, int n, const char *post)
{
  GString *g = g_string_new (pre);
  for (int i = 0; i < n; i++)
    g_string_append (g, unit);
  g_string_append (g, post);
  return g_string_free (g, FALSE);
}

/* rejects() of a generated header; frees it */
static bool
rejects_owned (char *header, size_t data_len, const char *needle)
{
  bool ok = rejects (header, data_len, needle);
  g_free (header);
  return ok;
}

/* The header JSON the reader refuses before json-glib parses it
 * (json_guard.c), by the whole class; the nesting cases crashed the reader
 * with SIGSEGV before the guard. */
static void
test_json_guard (void)
{
  const char *deep = "nested deeper than 64 levels";
  test_case ("rejects a header nested 100,000 deep",
             rejects_owned (repeat ("{\"a\":", "[", 100000, ""), 0, deep));
  char *o = repeat ("", "[", 100000, ""), *c = repeat ("", "]", 100000, "");
  char *h = g_strdup_printf ("{\"a\":%s%s}", o, c);
  test_case ("rejects a balanced header nested 100,000 deep",
             rejects_owned (h, 0, "header refused before parsing: arrays or "
                            "objects nested deeper than 64 levels (at byte 68)"));
  g_free (o);
  g_free (c);
  test_case ("rejects __metadata__ nested 100,000 deep in objects",
             rejects_owned (repeat ("{\"__metadata__\":", "{\"k\":", 100000,
                                    ""), 0, deep));
  /* 64 levels in all is accepted: an unknown member of a tensor entry */
  o = repeat ("", "[", 62, "");
  c = repeat ("", "]", 62, "");
  h = g_strdup_printf ("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],"
                       "\"data_offsets\":[0,4],\"x\":%s%s}}", o, c);
  GByteArray *b = build (h, "abcd", 4);
  char err[512] = "";
  AttnSafetensors *st = attn_safetensors_open_bytes (b->data, b->len, "t.st",
                                                    err, sizeof err);
  test_case ("accepts a header nested exactly 64 deep", st != NULL);
  if (!st)
    printf ("# %s\n", err);
  attn_safetensors_close (st);
  g_byte_array_unref (b);
  g_free (h);
  h = g_strdup_printf ("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],"
                       "\"data_offsets\":[0,4],\"x\":[%s%s]}}", o, c);
  test_case ("rejects a header nested 65 deep", rejects_owned (h, 4, deep));
  g_free (o);
  g_free (c);

  test_case ("rejects a 1025-byte tensor name",
             rejects_owned (repeat ("{\"", "t", 1025, "\":{}}"), 0,
                            "a key at byte 1 is longer than 1024 bytes"));
  test_case ("rejects a 16 MiB + 1 metadata value",
             rejects_owned (repeat ("{\"__metadata__\":{\"k\":\"", "x",
                                    (16 << 20) + 1, "\"}}"), 0,
                            "a string at byte 21 is longer than 16777216 bytes"));
  test_case ("rejects a shape of 200,000 entries",
             rejects_owned (repeat ("{\"a\":{\"dtype\":\"U8\",\"shape\":[",
                                    "1,", 200000, "1],\"data_offsets\":[0,0]}}"),
                            0, "the array at byte 27 has more than 131072 entries"));
  GString *g = g_string_new ("{\"__metadata__\":{");
  for (int i = 0; i < 140000; i++)
    g_string_append_printf (g, "%s\"k%d\":\"\"", i ? "," : "", i);
  g_string_append (g, "}}");
  test_case ("rejects 140,000 metadata entries",
             rejects_owned (g_string_free (g, FALSE), 0,
                            "the object at byte 16 has more than 131072 members"));
  char *inner = repeat ("[", "0,", 99999, "0],");
  g = g_string_new ("{\"__metadata__\":{},\"x\":[");
  for (int i = 0; i < 11; i++)
    g_string_append (g, inner);
  g_string_append (g, "0]}");
  g_free (inner);
  test_case ("rejects 1.1 million values",
             rejects_owned (g_string_free (g, FALSE), 0,
                            "more than 1048576 values"));

  static const struct {
    const char *what, *header;
    size_t data;
    const char *needle;
  } bad[] = {
    { "a tensor twice, disagreeing", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]}}", 8, "key 'a' appears twice in one object (again at byte 54)" },
    { "a tensor twice, once escaped", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"\\u0061\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "key 'a' appears twice" },
    { "a shape given twice", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"shape\":[2]}}", 4, "key 'shape' appears twice" },
    { "__metadata__ twice", "{\"__metadata__\":{},\"__metadata__\":{\"format\":\"x\"}}", 0, "key '__metadata__' appears twice" },
    { "a metadata key twice", "{\"__metadata__\":{\"format\":\"a\",\"format\":\"b\"}}", 0, "key 'format' appears twice" },
    { "a shape of 1e999", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1e999],\"data_offsets\":[0,1]}}", 1, "number 1e999 at byte 28 is out of range" },
    { "an offset past 2^64", "{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,18446744073709551624]}}", 8, "integer 18446744073709551624 at byte 49 is outside the 64-bit range" },
    { "an offset of 2^63", "{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[9223372036854775808,8]}}", 8, "outside the 64-bit range" },
    { "a lone surrogate in a metadata value", "{\"__metadata__\":{\"name\":\"a\\ud800\"}}", 0, "lone UTF-16 surrogate \\uD800 at byte 26" },
    { "a lone low surrogate in a tensor name", "{\"\\udfff\":{}}", 0, "lone UTF-16 surrogate \\uDFFF at byte 2" },
    { "\\u0000 in a metadata value", "{\"__metadata__\":{\"name\":\"a\\u0000\"}}", 0, "a string holds \\u0000 (a NUL character) at byte 26" },
    { "a bad \\u escape", "{\"__metadata__\":{\"name\":\"\\u12G4\"}}", 0, "invalid \\u escape at byte 25" },
    { "invalid UTF-8", "{\"__metadata__\":{\"name\":\"\xff\"}}", 0, "header refused before parsing: invalid UTF-8 at byte 25" },
    { "an overlong UTF-8 encoding", "{\"\xc0\xaf\":{}}", 0, "invalid UTF-8 at byte 2" },
    { "an unbalanced bracket", "{\"a\":[}", 0, "unbalanced '}' at byte 6" },
  };
  char name[160];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf (name, sizeof name, "rejects %s", bad[i].what);
    test_case (name, rejects (bad[i].header, bad[i].data, bad[i].needle));
  }
  static const char nul[] = "{\"__metadata__\":{\"k\":\"a\0b\"}}";
  test_case ("rejects a NUL byte in the header",
             rejects_len (nul, sizeof nul - 1, 0,
                          "header refused before parsing: a NUL byte at byte 23"));
}

static bool
test_good (void)
{
  /* a: F32 [2,3] at 0..24, h: F16 [2] at 24..28, b: BF16 [1] at 28..30 */
  float a[6] = { 1, -2, 3.5f, 0, 1e-3f, -7 };
  guint8 data[30];
  memcpy (data, a, 24);
  guint16 h[2] = { 0x3c00 /* 1.0 */, 0xc100 /* -2.5 */ };
  memcpy (data + 24, h, 4);
  guint16 bf = 0x4049;  /* 3.140625 */
  memcpy (data + 28, &bf, 2);
  GByteArray *b = build ("{\"__metadata__\":{\"arch\":\"{\\\"x\\\":1}\"},"
                         "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],"
                         "\"data_offsets\":[0,24]},"
                         "\"h\":{\"dtype\":\"F16\",\"shape\":[2],"
                         "\"data_offsets\":[24,28]},"
                         "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],"
                         "\"data_offsets\":[28,30]}}", data, sizeof data);
  char err[256] = "";
  /* through a real file, so the mmap path is exercised */
  char *path = NULL;
  int fd = g_file_open_tmp ("attn-st-XXXXXX.safetensors", &path, NULL);
  bool ok = fd >= 0 && write (fd, b->data, b->len) == (ssize_t) b->len;
  close (fd);
  AttnSafetensors *st = ok ? attn_safetensors_open (path, err, sizeof err) : NULL;
  if (!st) {
    printf ("# rejected a good file: %s\n", err);
    ok = false;
    goto out;
  }
  const AttnTensorInfo *ta = attn_safetensors_find (st, "a");
  const AttnTensorInfo *th = attn_safetensors_find (st, "h");
  const AttnTensorInfo *tb = attn_safetensors_find (st, "b");
  float fa[6], fh[2], fb[1];
  ok = attn_safetensors_count (st) == 3 && ta && th && tb
      && ta->ndim == 2 && ta->shape[0] == 2 && ta->shape[1] == 3
      && ta->numel == 6 && ta->dtype == ATTN_DTYPE_F32
      && attn_safetensors_find (st, "zzz") == NULL
      && g_strcmp0 (attn_safetensors_metadata (st, "arch"), "{\"x\":1}") == 0
      && attn_safetensors_metadata (st, "nope") == NULL
      && attn_tensor_to_f32 (fa, ta) == 0 && memcmp (fa, a, 24) == 0
      && attn_tensor_to_f32 (fh, th) == 0 && fh[0] == 1.0f && fh[1] == -2.5f
      && attn_tensor_to_f32 (fb, tb) == 0 && fb[0] == 3.140625f
      && strcmp (attn_safetensors_source (st), path) == 0;
out:
  attn_safetensors_close (st);
  if (path)
    g_unlink (path);
  g_free (path);
  g_byte_array_unref (b);
  return ok;
}

static bool
test_f16_special (void)
{
  /* subnormal, -0, inf, nan, max */
  guint16 h[5] = { 0x0001, 0x8000, 0x7c00, 0x7e00, 0x7bff };
  GByteArray *b = build ("{\"h\":{\"dtype\":\"F16\",\"shape\":[5],"
                         "\"data_offsets\":[0,10]}}", h, 10);
  char err[256];
  AttnSafetensors *st = attn_safetensors_open_bytes (b->data, b->len, "h", err,
                                                    sizeof err);
  float f[5];
  bool ok = st && attn_tensor_to_f32 (f, attn_safetensors_find (st, "h")) == 0
      && f[0] == ldexpf (1, -24) && f[1] == 0 && signbit (f[1])
      && isinf (f[2]) && f[2] > 0 && isnan (f[3]) && f[4] == 65504.0f;
  attn_safetensors_close (st);
  g_byte_array_unref (b);
  return ok;
}

static bool
test_open_errors (void)
{
  char err[512];
  bool ok = attn_safetensors_open ("/nonexistent/model.safetensors", err,
                                   sizeof err) == NULL
      && strstr (err, "/nonexistent/model.safetensors") && strstr (err, "cannot open");
  ok &= attn_safetensors_open ("/", err, sizeof err) == NULL
      && strstr (err, "not a regular file");
  char *path = NULL;
  int fd = g_file_open_tmp ("attn-st-XXXXXX", &path, NULL);
  close (fd);
  ok &= attn_safetensors_open (path, err, sizeof err) == NULL
      && strstr (err, "too short");
  g_unlink (path);
  g_free (path);
  guint8 short_len[5] = { 1, 0, 0, 0, 0 };
  ok &= attn_safetensors_open_bytes (short_len, 5, "x", err, sizeof err) == NULL
      && strstr (err, "too short");
  /* header length past the end, and absurdly large */
  guint8 big[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}' };
  ok &= attn_safetensors_open_bytes (big, 16, "x", err, sizeof err) == NULL
      && strstr (err, "runs past the end");
  return ok;
}

static bool
test_empty (void)
{
  GByteArray *b = build ("{}", NULL, 0);
  char err[64];
  AttnSafetensors *st = attn_safetensors_open_bytes (b->data, b->len, "e", err,
                                                    sizeof err);
  bool ok = st && attn_safetensors_count (st) == 0;
  attn_safetensors_close (st);
  g_byte_array_unref (b);
  return ok;
}

int
main (int argc, char **argv)
{
  test_case ("reads F32/F16/BF16 tensors and metadata from a mapped file",
             test_good ());
  test_case ("F16 subnormal, -0, inf, nan, max widen exactly",
             test_f16_special ());
  test_case ("missing file, directory, empty, short, huge header length",
             test_open_errors ());
  test_case ("empty object is a valid file with no tensors", test_empty ());

  static const struct {
    const char *what, *header;
    size_t data;
    const char *needle;
  } bad[] = {
    { "not JSON", "{\"a\":", 0, "not valid JSON" },
    { "JSON array", "[1,2]", 0, "must be a JSON object" },
    { "tensor not an object", "{\"a\":3}", 0, "expected a JSON object" },
    { "unknown dtype", "{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, "unsupported or missing dtype 'F64'" },
    { "missing dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "missing dtype" },
    { "missing shape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "'shape'" },
    { "negative dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "shape[0]" },
    { "fractional dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, "shape[0]" },
    { "too many dims", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, "9 dimensions" },
    { "shape product overflows", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,4]}}", 4, "overflows" },
    { "offsets past the data", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "outside the data section" },
    { "reversed offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "outside the data section" },
    { "size does not match shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "needs 12" },
    { "one offset", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "data_offsets" },
    { "negative offset", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4, "data_offsets" },
    { "overlapping tensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "overlap" },
    { "metadata not an object", "{\"__metadata__\":[1]}", 0, "'__metadata__'" },
    { "metadata value not a string", "{\"__metadata__\":{\"k\":1}}", 0, "'k' is not a string" },
  };
  char name[128];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf (name, sizeof name, "rejects %s", bad[i].what);
    test_case (name, rejects (bad[i].header, bad[i].data, bad[i].needle));
  }
  test_json_guard ();
  return test_done ();
}
