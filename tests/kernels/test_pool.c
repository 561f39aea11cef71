/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_pool.c — max/avg pooling and the global pools against naive loops
 * written from PyTorch's documented rules; the max pool under every
 * instruction set this CPU has (pool_isa.c), each variant's bytes equal to
 * the generic one's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cpu.h"
#include "pool.h"

#define ATOL 1e-6f
#define RTOL 1e-5f

/* PyTorch's output size: floor or ceil of (in + 2p − d(k−1) − 1)/s + 1, then
 * with ceil_mode drop a last window that starts in the right padding. */
static int
naive_out (int in, int k, int s, int p, int d, bool ceil_mode)
{
  double q = (double) (in + 2 * p - d * (k - 1) - 1) / s;
  int o = (int) (ceil_mode ? ceil (q) : floor (q)) + 1;
  if (ceil_mode && (o - 1) * s >= in + p)
    o--;
  return o;
}

static void
naive_pool (float *out, const float *in, const AttnPool2d *p, int planes,
            int h, int w, bool is_max)
{
  int ho = naive_out (h, p->kh, p->stride_h, p->pad_h, p->dil_h, p->ceil_mode);
  int wo = naive_out (w, p->kw, p->stride_w, p->pad_w, p->dil_w, p->ceil_mode);
  for (int c = 0; c < planes; c++)
    for (int oy = 0; oy < ho; oy++)
      for (int ox = 0; ox < wo; ox++) {
        double acc = is_max ? -INFINITY : 0.0;
        int inside = 0, padded = 0;
        for (int ky = 0; ky < p->kh; ky++)
          for (int kx = 0; kx < p->kw; kx++) {
            int iy = oy * p->stride_h - p->pad_h + ky * p->dil_h;
            int ix = ox * p->stride_w - p->pad_w + kx * p->dil_w;
            /* a tap counts for count_include_pad when it lies within
             * input + padding (not beyond the right/bottom padding) */
            if (iy < h + p->pad_h && ix < w + p->pad_w)
              padded++;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w)
              continue;
            double v = in[((size_t) c * h + iy) * w + ix];
            inside++;
            acc = is_max ? fmax (acc, v) : acc + v;
          }
        if (!is_max)
          acc /= p->count_include_pad ? padded : inside;
        out[((size_t) c * ho + oy) * wo + ox] = (float) acc;
      }
}

typedef struct {
  const char *name;
  int planes, h, w;
  AttnPool2d p;
} Case;

static const Case cases[] = {
  { "max 3/2 p1 (ResNet stem) odd", 3, 23, 17, { 3, 3, 2, 2, 1, 1, 1, 1, false, true } },
  /* enough planes × pixels that the pool splits the planes over threads */
  { "max 3/2 p1 odd, 21 planes split", 21, 61, 57, { 3, 3, 2, 2, 1, 1, 1, 1, false, true } },
  { "max 3/2 p0 ceil (Cadene stem) odd", 2, 15, 11, { 3, 3, 2, 2, 0, 0, 1, 1, true, true } },
  { "max 3/2 p0 ceil even", 2, 8, 10, { 3, 3, 2, 2, 0, 0, 1, 1, true, true } },
  { "max 2/2 on 1x1", 4, 1, 1, { 2, 2, 2, 2, 1, 1, 1, 1, false, true } },
  { "max 3/1 p1 dil 2", 2, 9, 8, { 3, 3, 1, 1, 1, 1, 2, 2, false, true } },
  { "max 2x3 s(2,1) p(1,1) ceil", 2, 7, 6, { 2, 3, 2, 1, 1, 1, 1, 1, true, true } },
  /* windows reaching past the right padding (ceil), wide rows on both
   * sides of the separable path's limit (4096 padded floats) */
  { "max 5/3 p2 ceil odd", 3, 13, 17, { 5, 5, 3, 3, 2, 2, 1, 1, true, true } },
  { "max 1/1 p0", 2, 5, 7, { 1, 1, 1, 1, 0, 0, 1, 1, false, true } },
  { "max 3/2 p1 row of 4093", 2, 3, 4093, { 3, 3, 2, 2, 1, 1, 1, 1, false, true } },
  { "max 3/2 p1 row of 4100", 2, 3, 4100, { 3, 3, 2, 2, 1, 1, 1, 1, false, true } },
  { "avg 3/2 p1 include pad", 3, 9, 11, { 3, 3, 2, 2, 1, 1, 1, 1, false, true } },
  { "avg 3/2 p1 exclude pad", 3, 9, 11, { 3, 3, 2, 2, 1, 1, 1, 1, false, false } },
  { "avg 3/2 p1 ceil include pad", 2, 10, 7, { 3, 3, 2, 2, 1, 1, 1, 1, true, true } },
  { "avg 3/2 p0 ceil exclude pad", 2, 10, 7, { 3, 3, 2, 2, 0, 0, 1, 1, true, false } },
  { "avg 2/2 even", 5, 8, 8, { 2, 2, 2, 2, 0, 0, 1, 1, false, true } },
  { "avg 7/7 one window", 2, 7, 7, { 7, 7, 7, 7, 0, 0, 1, 1, false, true } },
};

static bool
run_case (const Case *c, Rng *rng, bool is_max)
{
  int ho = naive_out (c->h, c->p.kh, c->p.stride_h, c->p.pad_h, c->p.dil_h,
                      c->p.ceil_mode);
  int wo = naive_out (c->w, c->p.kw, c->p.stride_w, c->p.pad_w, c->p.dil_w,
                      c->p.ceil_mode);
  bool ok = attn_pool_out_dim (c->h, c->p.kh, c->p.stride_h, c->p.pad_h,
                               c->p.dil_h, c->p.ceil_mode) == ho
      && attn_pool_out_dim (c->w, c->p.kw, c->p.stride_w, c->p.pad_w,
                            c->p.dil_w, c->p.ceil_mode) == wo;
  if (!ok) {
    printf ("# output size mismatch: expected %dx%d\n", ho, wo);
    return false;
  }
  size_t n_in = (size_t) c->planes * c->h * c->w;
  size_t n_out = (size_t) c->planes * ho * wo;
  float *in = test_alloc (n_in), *ref = test_alloc (n_out),
      *got = test_alloc (n_out);
  fill_uniform (in, n_in, rng, -2, 2);
  for (size_t i = 0; i < n_out; i++)
    got[i] = NAN;
  naive_pool (ref, in, &c->p, c->planes, c->h, c->w, is_max);
  if (is_max)
    attn_maxpool2d (got, in, &c->p, c->planes, c->h, c->w);
  else
    attn_avgpool2d (got, in, &c->p, c->planes, c->h, c->w);
  ok = check_close (c->name, got, ref, n_out, ATOL, RTOL);
  free (in); free (ref); free (got);
  return ok;
}

static bool
test_global (Rng *rng, int planes, int hw)
{
  float *in = test_alloc ((size_t) planes * hw);
  float *avg = test_alloc (planes), *max = test_alloc (planes);
  float *ravg = test_alloc (planes), *rmax = test_alloc (planes);
  fill_uniform (in, (size_t) planes * hw, rng, -3, 1);
  for (int c = 0; c < planes; c++) {
    double s = 0, m = -INFINITY;
    for (int i = 0; i < hw; i++) {
      s += in[c * hw + i];
      m = fmax (m, in[c * hw + i]);
    }
    ravg[c] = (float) (s / hw);
    rmax[c] = (float) m;
  }
  attn_global_avgpool (avg, in, planes, hw);
  attn_global_maxpool (max, in, planes, hw);
  bool ok = check_close ("global avg", avg, ravg, planes, ATOL, RTOL)
      && check_close ("global max", max, rmax, planes, 0, 0);
  free (in); free (avg); free (max); free (ravg); free (rmax);
  return ok;
}

static bool
test_max_nan (void)
{
  /* PyTorch's max pool propagates NaN */
  float in[4] = { 1, NAN, 3, 2 }, out[1];
  AttnPool2d p = { 2, 2, 2, 2, 0, 0, 1, 1, false, true };
  attn_maxpool2d (out, in, &p, 1, 2, 2);
  return isnan (out[0]);
}

/* NaNs spread over a map, first and last rows and columns among them:
 * every window holding one gives NaN, the others their max (the window
 * loop written out here, NaN checked first). */
static bool
test_max_nan_map (const AttnPool2d *p, int h, int w, Rng *rng)
{
  int ho = naive_out (h, p->kh, p->stride_h, p->pad_h, 1, p->ceil_mode);
  int wo = naive_out (w, p->kw, p->stride_w, p->pad_w, 1, p->ceil_mode);
  float *in = test_alloc ((size_t) h * w), *out = test_alloc ((size_t) ho * wo);
  fill_uniform (in, (size_t) h * w, rng, -2, 2);
  int at[][2] = { { 0, 0 }, { 0, w - 1 }, { h - 1, 0 }, { h - 1, w - 1 },
                  { h / 2, w / 3 }, { 1, w / 2 } };
  for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
    in[(size_t) at[i][0] * w + at[i][1]] = NAN;
  attn_maxpool2d (out, in, p, 1, h, w);
  bool ok = true;
  int nans = 0;
  for (int oy = 0; oy < ho; oy++)
    for (int ox = 0; ox < wo; ox++) {
      bool nan = false;
      float m = -INFINITY;
      for (int ky = 0; ky < p->kh; ky++)
        for (int kx = 0; kx < p->kw; kx++) {
          int iy = oy * p->stride_h - p->pad_h + ky;
          int ix = ox * p->stride_w - p->pad_w + kx;
          if (iy < 0 || iy >= h || ix < 0 || ix >= w)
            continue;
          float v = in[(size_t) iy * w + ix];
          nan |= isnan (v);
          m = v > m ? v : m;
        }
      float got = out[(size_t) oy * wo + ox];
      nans += nan;
      ok &= nan ? isnan (got) : got == m;
    }
  free (in);
  free (out);
  return ok && nans > 0;
}

/* The max pool under `isa` writes the bytes the generic variant writes, on
 * a map holding NaNs, infinities and both zeros, over planes split between
 * the threads. */
static bool
isa_identical (AttnIsa isa, const AttnPool2d *p, int planes, int h, int w,
               Rng *rng)
{
  int ho = attn_pool_out_dim (h, p->kh, p->stride_h, p->pad_h, p->dil_h,
                              p->ceil_mode);
  int wo = attn_pool_out_dim (w, p->kw, p->stride_w, p->pad_w, p->dil_w,
                              p->ceil_mode);
  size_t n_in = (size_t) planes * h * w, n_out = (size_t) planes * ho * wo;
  float *in = test_alloc (n_in), *a = test_alloc (n_out);
  float *b = test_alloc (n_out);
  /* negative values, so that many windows' max is one of the zeros (which
   * zero wins is the variants' to agree on), and every fifth value odd */
  fill_uniform (in, n_in, rng, -1, -0.01f);
  static const float odd[] = { 0.0f, -0.0f, NAN, -0.0f, 0.0f, INFINITY,
    -0.0f, -INFINITY };
  for (size_t i = 0; i < n_in; i += 5)
    in[i] = odd[(i / 5) % 8];
  attn_cpu_set_isa (ATTN_ISA_GENERIC);
  attn_maxpool2d (a, in, p, planes, h, w);
  attn_cpu_set_isa (isa);
  attn_maxpool2d (b, in, p, planes, h, w);
  attn_cpu_set_isa (attn_cpu_best ());
  bool ok = attn_cpu_isa () == attn_cpu_best ()
      && memcmp (a, b, n_out * sizeof *a) == 0;
  free (in); free (a); free (b);
  return ok;
}

int
main (int argc, char **argv)
{
  Rng rng = rng_new (7);
  char name[128];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    bool is_max = cases[i].name[0] == 'm';
    snprintf (name, sizeof name, "pool %s", cases[i].name);
    test_case (name, run_case (&cases[i], &rng, is_max));
  }
  test_case ("global pools 17 planes x 49", test_global (&rng, 17, 49));
  test_case ("global pools on 1x1 maps", test_global (&rng, 64, 1));
  test_case ("global pools 3 planes x 12544", test_global (&rng, 3, 12544));
  test_case ("max pool propagates NaN", test_max_nan ());
  AttnPool2d stem = { 3, 3, 2, 2, 1, 1, 1, 1, false, true };
  AttnPool2d wide = { 4, 5, 3, 2, 0, 2, 1, 1, true, true };
  test_case ("max pool 3/2 p1: NaN windows on a 29x31 map",
             test_max_nan_map (&stem, 29, 31, &rng));
  test_case ("max pool 4x5 s(3,2) p(0,2) ceil: NaN windows on a 17x12 map",
             test_max_nan_map (&wide, 17, 12, &rng));
  /* the max pool's cases again under each instruction set below the best
   * (the runs above took the best), and byte for byte against generic */
  printf ("# instruction sets: up to %s\n", attn_isa_name (attn_cpu_best ()));
  for (int isa = ATTN_ISA_GENERIC; isa < (int) attn_cpu_best (); isa++) {
    attn_cpu_set_isa ((AttnIsa) isa);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      if (cases[i].name[0] != 'm')
        continue;
      snprintf (name, sizeof name, "pool %s, %s", cases[i].name,
                attn_isa_name ((AttnIsa) isa));
      test_case (name, run_case (&cases[i], &rng, true));
    }
    snprintf (name, sizeof name, "max pool NaN windows, %s",
              attn_isa_name ((AttnIsa) isa));
    test_case (name, test_max_nan_map (&stem, 29, 31, &rng)
               && test_max_nan_map (&wide, 17, 12, &rng));
  }
  attn_cpu_set_isa (attn_cpu_best ());
  for (int isa = ATTN_ISA_AVX2; isa <= (int) attn_cpu_best (); isa++) {
    snprintf (name, sizeof name, "max pool under %s: the generic bytes "
              "(stem 64x37x45, ceil 4x5 on 5x33x19)",
              attn_isa_name ((AttnIsa) isa));
    test_case (name, isa_identical ((AttnIsa) isa, &stem, 64, 37, 45, &rng)
               && isa_identical ((AttnIsa) isa, &wide, 5, 33, 19, &rng));
  }
  test_case ("pool out dim of a window larger than the input is 0",
             attn_pool_out_dim (2, 5, 1, 0, 1, false) == 0);
  return test_done ();
}
