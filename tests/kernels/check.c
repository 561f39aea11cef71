/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check.c — see check.h. */
#include "check.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Rng
rng_new (uint64_t seed)
{
  Rng r = { seed * 0x9E3779B97F4A7C15ull + 1 };
  return r;
}

static uint64_t
rng_next (Rng *r)
{
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  return r->s * 0x2545F4914F6CDD1Dull;
}

float
rng_uniform (Rng *r, float lo, float hi)
{
  double u = (double) (rng_next (r) >> 11) / (double) (1ull << 53);
  return (float) (lo + (hi - lo) * u);
}

int
rng_int (Rng *r, int lo, int hi)
{
  return lo + (int) (rng_next (r) % (uint64_t) (hi - lo + 1));
}

void
fill_uniform (float *x, size_t n, Rng *r, float lo, float hi)
{
  for (size_t i = 0; i < n; i++)
    x[i] = rng_uniform (r, lo, hi);
}

float *
test_alloc (size_t n)
{
  float *p = calloc (n ? n : 1, sizeof (float));
  if (!p) {
    fprintf (stderr, "out of memory allocating %zu floats\n", n);
    abort ();
  }
  return p;
}

float
max_abs (const float *x, size_t n)
{
  float m = 1.0f;
  for (size_t i = 0; i < n; i++)
    m = fabsf (x[i]) > m ? fabsf (x[i]) : m;
  return m;
}

bool
check_close (const char *what, const float *got, const float *ref, size_t n,
             float atol, float rtol)
{
  size_t first = n, worst = 0;
  double worst_excess = -1.0;
  for (size_t i = 0; i < n; i++) {
    double err = fabs ((double) got[i] - ref[i]);
    double tol = atol + rtol * fabs ((double) ref[i]);
    if (!(err <= tol)) {          /* NaN fails too */
      if (first == n)
        first = i;
      double excess = isnan (err) ? INFINITY : err - tol;
      if (excess > worst_excess) {
        worst_excess = excess;
        worst = i;
      }
    }
  }
  if (first == n)
    return true;
  printf ("# %s: mismatch at %zu: got %.9g ref %.9g; worst at %zu: got %.9g "
          "ref %.9g (atol %g rtol %g)\n", what, first, got[first], ref[first],
          worst, got[worst], ref[worst], atol, rtol);
  return false;
}

static int n_cases, n_failed;

void
test_case (const char *name, bool ok)
{
  n_cases++;
  if (!ok)
    n_failed++;
  printf ("%s %d - %s\n", ok ? "ok" : "not ok", n_cases, name);
  fflush (stdout);
}

int
test_done (void)
{
  printf ("1..%d\n", n_cases);
  if (n_failed)
    printf ("# %d of %d failed\n", n_failed, n_cases);
  return n_failed ? 1 : 0;
}

static G_NORETURN void
die (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  printf ("Bail out! ");
  vprintf (fmt, ap);
  printf ("\n");
  va_end (ap);
  exit (1);
}

AttnSafetensors *
golden_open (int argc, char **argv, const char *name)
{
  const char *dir = argc > 1 ? argv[1] : g_getenv ("ATTN_GOLDEN_DIR");
  if (!dir)
    die ("golden directory not given (argv[1] or ATTN_GOLDEN_DIR)");
  char *path = g_strdup_printf ("%s/%s.safetensors", dir, name);
  char err[512];
  AttnSafetensors *st = attn_safetensors_open (path, err, sizeof err);
  g_free (path);
  if (!st)
    die ("%s", err);
  return st;
}

float *
golden_tensor (AttnSafetensors *st, const char *name, size_t *numel)
{
  const AttnTensorInfo *t = attn_safetensors_find (st, name);
  if (!t)
    die ("golden %s has no tensor %s", attn_safetensors_source (st), name);
  float *x = test_alloc (t->numel);
  if (attn_tensor_to_f32 (x, t) != 0)
    die ("golden tensor %s is not floating point", name);
  if (numel)
    *numel = t->numel;
  return x;
}

int
golden_dim (AttnSafetensors *st, const char *name, int dim)
{
  const AttnTensorInfo *t = attn_safetensors_find (st, name);
  if (!t || dim >= t->ndim)
    die ("golden %s has no tensor %s with dimension %d",
         attn_safetensors_source (st), name, dim);
  return (int) t->shape[dim];
}

static JsonNode *
golden_param (AttnSafetensors *st, const char *cs, const char *key)
{
  const char *json = attn_safetensors_metadata (st, cs);
  if (!json)
    die ("golden %s has no case %s", attn_safetensors_source (st), cs);
  JsonParser *p = json_parser_new ();
  if (!json_parser_load_from_data (p, json, -1, NULL))
    die ("case %s: parameters are not JSON", cs);
  JsonNode *root = json_parser_get_root (p);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    die ("case %s: parameters are not a JSON object", cs);
  JsonObject *o = json_node_get_object (root);
  if (!json_object_has_member (o, key))
    die ("case %s has no parameter %s", cs, key);
  JsonNode *n = json_node_copy (json_object_get_member (o, key));
  g_object_unref (p);
  return n;
}

int
golden_param_int (AttnSafetensors *st, const char *cs, const char *key)
{
  JsonNode *n = golden_param (st, cs, key);
  int v = (int) json_node_get_int (n);
  json_node_unref (n);
  return v;
}

double
golden_param_double (AttnSafetensors *st, const char *cs, const char *key)
{
  JsonNode *n = golden_param (st, cs, key);
  double v = json_node_get_double (n);
  json_node_unref (n);
  return v;
}

bool
golden_param_bool (AttnSafetensors *st, const char *cs, const char *key)
{
  JsonNode *n = golden_param (st, cs, key);
  bool v = json_node_get_boolean (n);
  json_node_unref (n);
  return v;
}

char *
golden_param_string (AttnSafetensors *st, const char *cs, const char *key)
{
  JsonNode *n = golden_param (st, cs, key);
  char *v = g_strdup (json_node_get_string (n));
  json_node_unref (n);
  return v;
}

char **
golden_cases (AttnSafetensors *st)
{
  /* Case names are the tensors' prefixes before the first '.', in file order. */
  GPtrArray *names = g_ptr_array_new ();
  for (size_t i = 0; i < attn_safetensors_count (st); i++) {
    const char *tn = attn_safetensors_at (st, i)->name;
    const char *dot = strchr (tn, '.');
    if (!dot)
      continue;
    char *cs = g_strndup (tn, (gsize) (dot - tn));
    gboolean seen = FALSE;
    for (guint j = 0; j < names->len; j++)
      seen |= strcmp (g_ptr_array_index (names, j), cs) == 0;
    if (seen || !attn_safetensors_metadata (st, cs))
      g_free (cs);
    else
      g_ptr_array_add (names, cs);
  }
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (names, FALSE);
}
