/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* json_guard.c — see json_guard.h.
 *
 * One pass over the bytes with an explicit stack of open containers (depth ≤
 * ATTN_JSON_MAX_DEPTH, so the stack is a fixed array). Strings are skipped
 * escape by escape; object keys are unescaped into a per-object set to find
 * duplicates. Anything that is merely malformed (a missing colon, a stray
 * letter, an unterminated string) is passed through for json-glib to report,
 * since by then the whole document has been scanned and its depth bounded. */
#include "json_guard.h"

#include <errno.h>
#include <glib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

typedef struct {
  char kind;            /* '[' or '{' */
  bool expect_key;      /* object: the next string is a key */
  size_t entries;
  size_t at;            /* byte offset of the bracket */
  GHashTable *keys;     /* object: unescaped keys seen; created lazily */
} Level;

/* The value of 4 hex digits at p, or -1. */
static int
hex4 (const char *p)
{
  int v = 0;
  for (int i = 0; i < 4; i++) {
    int d = g_ascii_xdigit_value (p[i]);
    if (d < 0)
      return -1;
    v = v << 4 | d;
  }
  return v;
}

/* Skips the string whose opening quote is at json[*pos]; *pos ends after the
 * closing quote (or at len when unterminated: json-glib reports that). With
 * `key`, the unescaped text is appended to it. */
static bool
scan_string (const char *json, size_t len, size_t *pos, size_t max,
             const char *what, GString *key, char *err, size_t errlen)
{
  size_t start = *pos, i = start + 1;
  while (i < len && json[i] != '"') {
    if (i - start - 1 >= max) {
      attn_set_err (err, errlen, "%s at byte %zu is longer than %zu bytes", what,
               start, max);
      return false;
    }
    char c = json[i];
    if (c != '\\') {
      if (key)
        g_string_append_c (key, c);
      i++;
      continue;
    }
    if (i + 1 >= len)
      break;
    char e = json[i + 1];
    if (e != 'u') {
      static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
      const char *p = e ? strchr (from, e) : NULL;
      if (!p) {
        attn_set_err (err, errlen, "invalid escape in a string at byte %zu", i);
        return false;
      }
      if (key)
        g_string_append_c (key, to[p - from]);
      i += 2;
      continue;
    }
    int u = i + 6 <= len ? hex4 (json + i + 2) : -1;
    if (u < 0) {
      attn_set_err (err, errlen, "invalid \\u escape at byte %zu", i);
      return false;
    }
    if (u == 0) {
      attn_set_err (err, errlen, "a string holds \\u0000 (a NUL character) at "
               "byte %zu", i);
      return false;
    }
    gunichar ch = (gunichar) u;
    if (u >= 0xD800 && u <= 0xDBFF) {
      int lo = i + 12 <= len && json[i + 6] == '\\' && json[i + 7] == 'u'
          ? hex4 (json + i + 8) : -1;
      if (lo < 0xDC00 || lo > 0xDFFF) {
        attn_set_err (err, errlen, "lone UTF-16 surrogate \\u%04X at byte %zu "
                 "(not a character)", (unsigned) u, i);
        return false;
      }
      ch = 0x10000 + (((gunichar) u - 0xD800) << 10) + ((gunichar) lo - 0xDC00);
      i += 6;
    } else if (u >= 0xDC00 && u <= 0xDFFF) {
      attn_set_err (err, errlen, "lone UTF-16 surrogate \\u%04X at byte %zu "
               "(not a character)", (unsigned) u, i);
      return false;
    }
    i += 6;
    if (key) {
      char buf[6];
      g_string_append_len (key, buf, g_unichar_to_utf8 (ch, buf));
    }
  }
  if (i - start - 1 > max) {
    attn_set_err (err, errlen, "%s at byte %zu is longer than %zu bytes", what,
             start, max);
    return false;
  }
  *pos = i < len ? i + 1 : len;
  return true;
}

/* A number token of n bytes at byte `at`: an integer must fit int64 (json-glib
 * silently clamps or wraps), any number must be a finite double. */
static bool
check_number (const char *tok, size_t n, size_t at, char *err, size_t errlen)
{
  if (n > ATTN_JSON_MAX_NUMBER) {
    attn_set_err (err, errlen, "number at byte %zu is longer than %d characters",
             at, ATTN_JSON_MAX_NUMBER);
    return false;
  }
  char buf[ATTN_JSON_MAX_NUMBER + 1];
  memcpy (buf, tok, n);
  buf[n] = '\0';
  if (!strpbrk (buf, ".eE")) {
    errno = 0;
    g_ascii_strtoll (buf, NULL, 10);
    if (errno == ERANGE) {
      attn_set_err (err, errlen, "integer %s at byte %zu is outside the 64-bit "
               "range", buf, at);
      return false;
    }
  } else if (!isfinite (g_ascii_strtod (buf, NULL))) {
    attn_set_err (err, errlen, "number %s at byte %zu is out of range (not "
             "finite as a double)", buf, at);
    return false;
  }
  return true;
}

bool
attn_json_guard (const char *json, size_t len, AttnJsonLimits lim, char *err,
                 size_t errlen)
{
  if (len > lim.max_bytes) {
    attn_set_err (err, errlen, "%zu bytes, over the %zu-byte limit", len,
             lim.max_bytes);
    return false;
  }
  const char *nul = memchr (json, '\0', len);
  if (nul) {
    attn_set_err (err, errlen, "a NUL byte at byte %zu", (size_t) (nul - json));
    return false;
  }
  const char *bad;
  if (!g_utf8_validate_len (json, len, &bad)) {
    attn_set_err (err, errlen, "invalid UTF-8 at byte %zu", (size_t) (bad - json));
    return false;
  }

  Level stack[ATTN_JSON_MAX_DEPTH];
  int depth = 0;
  size_t values = 0, i = 0;
  GString *key = g_string_new (NULL);
  bool ok = false;
  while (i < len) {
    char c = json[i];
    Level *top = depth ? &stack[depth - 1] : NULL;
    bool is_key = c == '"' && top && top->kind == '{' && top->expect_key;
    if (c == '[' || c == '{' || (c == '"' && !is_key) || c == '-'
        || g_ascii_isalnum (c)) {          /* a value starts here */
      if (++values > ATTN_JSON_MAX_VALUES) {
        attn_set_err (err, errlen, "more than %u values", ATTN_JSON_MAX_VALUES);
        goto out;
      }
      if (top && top->kind == '[' && ++top->entries > ATTN_JSON_MAX_ENTRIES) {
        attn_set_err (err, errlen, "the array at byte %zu has more than %d entries",
                 top->at, ATTN_JSON_MAX_ENTRIES);
        goto out;
      }
    }
    if (c == '[' || c == '{') {
      if (depth == ATTN_JSON_MAX_DEPTH) {
        attn_set_err (err, errlen, "arrays or objects nested deeper than %d levels "
                 "(at byte %zu)", ATTN_JSON_MAX_DEPTH, i);
        goto out;
      }
      stack[depth++] = (Level) { c, c == '{', 0, i, NULL };
      i++;
    } else if (c == ']' || c == '}') {
      if (!top || top->kind != (c == ']' ? '[' : '{')) {
        attn_set_err (err, errlen, "unbalanced '%c' at byte %zu", c, i);
        goto out;
      }
      if (top->keys)
        g_hash_table_destroy (top->keys);
      depth--;
      i++;
    } else if (c == ',') {
      if (top && top->kind == '{')
        top->expect_key = true;
      i++;
    } else if (is_key) {
      size_t at = i;
      g_string_truncate (key, 0);
      if (!scan_string (json, len, &i, ATTN_JSON_MAX_KEY, "a key", key, err,
                        errlen))
        goto out;
      top->expect_key = false;
      if (++top->entries > ATTN_JSON_MAX_ENTRIES) {
        attn_set_err (err, errlen, "the object at byte %zu has more than %d "
                 "members", top->at, ATTN_JSON_MAX_ENTRIES);
        goto out;
      }
      if (!top->keys)
        top->keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           NULL);
      if (!g_hash_table_add (top->keys, g_strndup (key->str, key->len))) {
        attn_set_err (err, errlen, "key '%s' appears twice in one object (again "
                 "at byte %zu)", key->str, at);
        goto out;
      }
    } else if (c == '"') {
      if (!scan_string (json, len, &i, lim.max_string, "a string", NULL, err,
                        errlen))
        goto out;
    } else if (c == '-' || g_ascii_isdigit (c)) {
      size_t at = i;
      while (i < len && (g_ascii_isdigit (json[i]) || json[i] == '+'
                         || json[i] == '-' || json[i] == '.' || json[i] == 'e'
                         || json[i] == 'E'))
        i++;
      if (!check_number (json + at, i - at, at, err, errlen))
        goto out;
    } else if (g_ascii_isalpha (c)) {     /* true, false, null (or junk) */
      while (i < len && g_ascii_isalnum (json[i]))
        i++;
    } else {
      i++;
    }
  }
  ok = true;
out:
  while (depth > 0)
    if (stack[--depth].keys)
      g_hash_table_destroy (stack[depth].keys);
  g_string_free (key, TRUE);
  return ok;
}
