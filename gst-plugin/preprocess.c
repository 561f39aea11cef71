/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* preprocess.c — see preprocess.h. */
#include "preprocess.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"

#define MAX_SUB 4
/* pre_run splits the output rows into at most this many bands, one task
 * each over the process's thread budget, each with its own accumulator */
#define MAX_BANDS 8

void
pre_format_yuv (PreFormat *f, float kr, float kb, bool full_range)
{
  float kg = 1.0f - kr - kb;
  f->y_off = full_range ? 0.0f : 16.0f;
  f->y_mul = full_range ? 1.0f : 255.0f / 219.0f;
  f->c_mul = full_range ? 1.0f : 255.0f / 224.0f;
  f->cr_r = 2.0f * (1.0f - kr);
  f->cb_b = 2.0f * (1.0f - kb);
  f->cb_g = -2.0f * kb * (1.0f - kb) / kg;
  f->cr_g = -2.0f * kr * (1.0f - kr) / kg;
}

void
pre_plan_clear (PrePlan *p)
{
  free (p->x0);
  free (p->fx);
  free (p->y0);
  free (p->fy);
  free (p->cx0);
  free (p->cfx);
  free (p->cy0);
  free (p->cfy);
  free (p->rows);
  memset (p, 0, sizeof *p);
}

/* Sample tables along one axis: output i, sub-sample k sits at source
 * coordinate a0 + (i + (k + ½)/sub)·step − ½; outside [lo, hi) (the analysed
 * span) the whole output index is padding (−1). `n_src` clamps the taps;
 * chroma tables use half the coordinates of a half-size plane. */
static void
axis_tables (int *i0, float *f, int *c0, float *cf, int n_out, int sub,
             double a0, double step, double lo, double hi, int n_src)
{
  int n_c = (n_src + 1) / 2;
  for (int i = 0; i < n_out; i++) {
    double centre = a0 + (i + 0.5) * step;
    bool pad = centre < lo || centre >= hi;
    for (int k = 0; k < sub; k++) {
      int j = i * sub + k;
      if (pad) {
        i0[j] = c0[j] = -1;
        f[j] = cf[j] = 0.0f;
        continue;
      }
      double s = a0 + (i + (k + 0.5) / sub) * step - 0.5;
      s = fmin (fmax (s, 0.0), n_src - 1.0);
      int s0 = (int) s;
      s0 = s0 > n_src - 2 ? (n_src > 1 ? n_src - 2 : 0) : s0;
      i0[j] = s0;
      f[j] = n_src > 1 ? (float) (s - s0) : 0.0f;
      double c = (s + 0.5) / 2.0 - 0.5;
      c = fmin (fmax (c, 0.0), n_c - 1.0);
      int ci = (int) c;
      ci = ci > n_c - 2 ? (n_c > 1 ? n_c - 2 : 0) : ci;
      c0[j] = ci;
      cf[j] = n_c > 1 ? (float) (c - ci) : 0.0f;
    }
  }
}

bool
pre_plan (PrePlan *p, int frame_w, int frame_h, const PreRect *roi,
          AttnResize mode, const AttnPreprocess *pre)
{
  PreRect r = roi ? *roi : (PreRect) { 0, 0, frame_w, frame_h };
  if (r.w <= 0 || r.h <= 0) {       /* 0×0 roi property: the whole frame */
    r = (PreRect) { 0, 0, frame_w, frame_h };
  }
  /* clip in 64 bits: x + w of a roi reaching to INT_MAX must not wrap */
  int64_t x1 = (int64_t) r.x + r.w, y1 = (int64_t) r.y + r.h;
  r.x = r.x < 0 ? 0 : r.x;
  r.y = r.y < 0 ? 0 : r.y;
  x1 = x1 > frame_w ? frame_w : x1;
  y1 = y1 > frame_h ? frame_h : y1;
  if (x1 <= r.x || y1 <= r.y) {
    pre_plan_clear (p);
    return false;
  }
  r.w = (int) (x1 - r.x);
  r.h = (int) (y1 - r.y);

  int nw = pre->width, nh = pre->height;
  /* the tables are sized for the most sub-samples, so planning again for
   * the same input size (another roi: one per object) allocates nothing */
  if (!p->x0 || p->net_w != nw || p->net_h != nh) {
    pre_plan_clear (p);
    size_t nx = (size_t) nw * MAX_SUB, ny = (size_t) nh * MAX_SUB;
    p->x0 = malloc (nx * sizeof (int));
    p->cx0 = malloc (nx * sizeof (int));
    p->fx = malloc (nx * sizeof (float));
    p->cfx = malloc (nx * sizeof (float));
    p->y0 = malloc (ny * sizeof (int));
    p->cy0 = malloc (ny * sizeof (int));
    p->fy = malloc (ny * sizeof (float));
    p->cfy = malloc (ny * sizeof (float));
    if (!p->x0 || !p->cx0 || !p->fx || !p->cfx || !p->y0 || !p->cy0
        || !p->fy || !p->cfy) {
      pre_plan_clear (p);
      return false;
    }
  }
  /* filtered rows: a packed row has up to 4 bytes per pixel; sized by the
   * frame's width, so new rois on the same frames allocate nothing */
  size_t cap = (size_t) frame_w * 4 + 16;
  if (!p->rows || p->row_cap < cap) {
    free (p->rows);
    p->rows = malloc ((size_t) MAX_BANDS * 3 * cap * sizeof (float));
    p->row_cap = cap;
    if (!p->rows) {
      pre_plan_clear (p);
      return false;
    }
  }
  /* the source area the network input covers (ax, ay, aw, ah) */
  double ax = r.x, ay = r.y, aw = r.w, ah = r.h;
  double net_aspect = (double) nw / nh, roi_aspect = (double) r.w / r.h;
  if (mode == ATTN_RESIZE_LETTERBOX) {
    if (roi_aspect > net_aspect) {   /* wider: pad top and bottom */
      ah = aw / net_aspect;
      ay = r.y + (r.h - ah) / 2;
    } else {
      aw = ah * net_aspect;
      ax = r.x + (r.w - aw) / 2;
    }
  } else if (mode == ATTN_RESIZE_CENTER_CROP) {
    if (roi_aspect > net_aspect) {   /* wider: crop the sides */
      aw = ah * net_aspect;
      ax = r.x + (r.w - aw) / 2;
    } else {
      ah = aw / net_aspect;
      ay = r.y + (r.h - ah) / 2;
    }
  }
  double sx = aw / nw, sy = ah / nh;
  p->net_w = nw;
  p->net_h = nh;
  p->sub_x = sx > 2 ? (int) fmin (ceil (sx), MAX_SUB) : 1;
  p->sub_y = sy > 2 ? (int) fmin (ceil (sy), MAX_SUB) : 1;
  p->frame_w = frame_w;
  p->frame_h = frame_h;
  p->bgr = pre->bgr;
  for (int c = 0; c < 3; c++) {
    /* (pixel/scale − mean)/std = pixel·mul + add; mean/std are in the
     * model's channel order */
    p->mul[c] = 1.0f / (pre->scale * pre->std[c]);
    p->add[c] = -pre->mean[c] / pre->std[c];
  }
  axis_tables (p->x0, p->fx, p->cx0, p->cfx, nw, p->sub_x, ax, sx, r.x,
               r.x + r.w, frame_w);
  axis_tables (p->y0, p->fy, p->cy0, p->cfy, nh, p->sub_y, ay, sy, r.y,
               r.y + r.h, frame_h);
  /* the columns the samples reach */
  p->xlo = p->clo = INT32_MAX;
  p->xhi = p->chi = -1;
  for (int j = 0; j < nw * p->sub_x; j++) {
    if (p->x0[j] < 0)
      continue;
    p->xlo = p->x0[j] < p->xlo ? p->x0[j] : p->xlo;
    p->xhi = p->x0[j] > p->xhi ? p->x0[j] : p->xhi;
    p->clo = p->cx0[j] < p->clo ? p->cx0[j] : p->clo;
    p->chi = p->cx0[j] > p->chi ? p->cx0[j] : p->chi;
  }
  p->area_x = (float) (ax / frame_w);
  p->area_y = (float) (ay / frame_h);
  p->area_w = (float) (aw / frame_w);
  p->area_h = (float) (ah / frame_h);
  p->content_x = (float) ((double) r.x / frame_w);
  p->content_y = (float) ((double) r.y / frame_h);
  p->content_w = (float) ((double) r.w / frame_w);
  p->content_h = (float) ((double) r.h / frame_h);
  return true;
}

/* The sampling is separable: an output pixel is the mean of sub_x × sub_y
 * bilinear samples, and every sample's weights are a row weight times a
 * column weight. So each output row first filters the source rows it reads
 * into one row of floats (a weighted sum of a few whole rows: contiguous,
 * vectorised), then each output pixel reads its sub_x samples from that
 * row. The colour conversion is linear, so it is applied once per output
 * pixel to the mean Y, U and V; the clamp to 0..255 comes after it, as
 * always. The sums are the per-sample ones reordered: the same result to
 * float rounding (tests/elements/test_preprocess.c compares the two). */

#define MAX_TAPS (2 * MAX_SUB)

typedef struct {
  int n;
  int row[MAX_TAPS];
  float w[MAX_TAPS];
} Taps;

/* The source rows output row `oy` reads, weighted: sub-sample ky samples
 * rows i0[j], i0[j] + step with weights 1 − f[j], f[j] (j = oy·sub + ky);
 * repeated rows merged. */
static void
row_taps (Taps *t, const int *i0, const float *f, int oy, int sub, int step)
{
  t->n = 0;
  for (int ky = 0; ky < sub; ky++) {
    int j = oy * sub + ky;
    int r[2] = { i0[j], i0[j] + step };
    float w[2] = { 1.0f - f[j], f[j] };
    for (int k = 0; k < 2; k++) {
      int m = 0;
      while (m < t->n && t->row[m] != r[k])
        m++;
      if (m == t->n) {
        t->row[m] = r[k];
        t->w[m] = 0.0f;
        t->n++;
      }
      t->w[m] += w[k];
    }
  }
}

/* dst[i − lo] = Σ_t w_t · plane[row_t][i] for i in [lo, hi) */
static void
filter_rows (float *restrict dst, const Taps *t, const uint8_t *plane,
             int stride, int lo, int hi)
{
  const uint8_t *r = plane + (size_t) t->row[0] * stride;
  float w = t->w[0];
  for (int i = lo; i < hi; i++)
    dst[i - lo] = w * r[i];
  for (int k = 1; k < t->n; k++) {
    r = plane + (size_t) t->row[k] * stride;
    w = t->w[k];
    for (int i = lo; i < hi; i++)
      dst[i - lo] += w * r[i];
  }
}

/* Σ over the sub_x samples of output column ox of the filtered row `row`
 * (holding bytes from lo on): sample j reads bytes i0[j]·scale + off and
 * (i0[j] + step)·scale + off, weights 1 − f[j], f[j]. */
static inline float
sum_cols (const float *row, int lo, const int *i0, const float *f, int ox,
          int sub, int scale, int off, int step)
{
  float s = 0.0f;
  for (int j = ox * sub; j < (ox + 1) * sub; j++) {
    int a = i0[j] * scale + off - lo, b = a + step * scale;
    s += row[a] + (row[b] - row[a]) * f[j];
  }
  return s;
}

typedef struct {
  const PrePlan *p;
  const PreFormat *f;
  const PreFrame *fr;
  float *out;
  int band_rows;
} PreRun;

/* Output rows [band·band_rows, …) of one band, with the band's own
 * filtered rows. */
static void
run_band (void *ctx, int band)
{
  const PreRun *r = ctx;
  const PrePlan *p = r->p;
  const PreFormat *f = r->f;
  const PreFrame *fr = r->fr;
  int nw = p->net_w, nh = p->net_h, sx = p->sub_x, sy = p->sub_y;
  size_t plane = (size_t) nw * nh;
  /* output channel order: the model's (RGB or BGR) */
  float *out = r->out;
  float *o_r = out + (p->bgr ? 2 : 0) * plane, *o_g = out + plane;
  float *o_b = out + (p->bgr ? 0 : 2) * plane;
  int cr = p->bgr ? 2 : 0, cb = p->bgr ? 0 : 2;
  float inv = 1.0f / (float) (sx * sy);
  float *rows = p->rows + (size_t) band * 3 * p->row_cap;
  float *t0 = rows, *t1 = rows + p->row_cap, *t2 = rows + 2 * p->row_cap;
  int dy = p->frame_h == 1 ? 0 : 1, dx = p->frame_w == 1 ? 0 : 1;
  int cw = (p->frame_w + 1) / 2, chh = (p->frame_h + 1) / 2;
  int cdx = cw > 1 ? 1 : 0, cdy = chh > 1 ? 1 : 0;
  int y0 = band * r->band_rows;
  int y1 = y0 + r->band_rows < nh ? y0 + r->band_rows : nh;
  Taps lt, ct;

  for (int oy = y0; oy < y1; oy++) {
    size_t o = (size_t) oy * nw;
    if (p->y0[oy * sy] < 0 || p->xhi < 0) {
      /* letterbox padding: the mean colour, i.e. 0 after normalisation */
      memset (o_r + o, 0, sizeof (float) * nw);
      memset (o_g + o, 0, sizeof (float) * nw);
      memset (o_b + o, 0, sizeof (float) * nw);
      continue;
    }
    row_taps (&lt, p->y0, p->fy, oy, sy, dy);
    int lo = 0;                  /* the first byte the filtered rows hold */
    int ps = f->pixel_stride;
    switch (f->layout) {
      case PRE_PACKED:
        lo = p->xlo * ps;
        filter_rows (t0, &lt, fr->plane[0], fr->stride[0], lo,
                     (p->xhi + dx) * ps + ps);
        break;
      case PRE_GRAY8:
        lo = p->xlo;
        filter_rows (t0, &lt, fr->plane[0], fr->stride[0], lo, p->xhi + dx + 1);
        break;
      case PRE_I420:
      case PRE_NV12:{
        row_taps (&ct, p->cy0, p->cfy, oy, sy, cdy);
        lo = p->xlo;
        filter_rows (t0, &lt, fr->plane[0], fr->stride[0], lo, p->xhi + dx + 1);
        if (f->layout == PRE_I420) {
          filter_rows (t1, &ct, fr->plane[1], fr->stride[1], p->clo,
                       p->chi + cdx + 1);
          filter_rows (t2, &ct, fr->plane[2], fr->stride[2], p->clo,
                       p->chi + cdx + 1);
        } else {                 /* U and V interleaved */
          filter_rows (t1, &ct, fr->plane[1], fr->stride[1], 2 * p->clo,
                       2 * (p->chi + cdx) + 2);
        }
        break;
      }
      case PRE_YUY2:
      case PRE_UYVY:{
        /* one plane of 4 bytes per 2 pixels, chroma on every row: one
         * filtered row holds luma and chroma */
        int c_lo = 4 * p->clo, y_lo = 2 * p->xlo;
        lo = c_lo < y_lo ? c_lo : y_lo;
        int y_hi = 2 * (p->xhi + dx) + 2, c_hi = 4 * (p->chi + cdx) + 4;
        filter_rows (t0, &lt, fr->plane[0], fr->stride[0], lo,
                     y_hi > c_hi ? y_hi : c_hi);
        break;
      }
    }
    for (int ox = 0; ox < nw; ox++) {
      if (p->x0[ox * sx] < 0) {
        o_r[o + ox] = o_g[o + ox] = o_b[o + ox] = 0.0f;
        continue;
      }
      float R, G, B;
      switch (f->layout) {
        case PRE_PACKED:
          R = sum_cols (t0, lo, p->x0, p->fx, ox, sx, ps, f->r, dx) * inv;
          G = sum_cols (t0, lo, p->x0, p->fx, ox, sx, ps, f->g, dx) * inv;
          B = sum_cols (t0, lo, p->x0, p->fx, ox, sx, ps, f->b, dx) * inv;
          break;
        case PRE_GRAY8:
          R = G = B = sum_cols (t0, lo, p->x0, p->fx, ox, sx, 1, 0, dx) * inv;
          break;
        default:{
          float Y, U, V;
          if (f->layout == PRE_YUY2 || f->layout == PRE_UYVY) {
            bool yuy2 = f->layout == PRE_YUY2;
            Y = sum_cols (t0, lo, p->x0, p->fx, ox, sx, 2, yuy2 ? 0 : 1, dx);
            U = sum_cols (t0, lo, p->cx0, p->cfx, ox, sx, 4, yuy2 ? 1 : 0, cdx);
            V = sum_cols (t0, lo, p->cx0, p->cfx, ox, sx, 4, yuy2 ? 3 : 2, cdx);
          } else {
            Y = sum_cols (t0, lo, p->x0, p->fx, ox, sx, 1, 0, dx);
            if (f->layout == PRE_I420) {
              U = sum_cols (t1, p->clo, p->cx0, p->cfx, ox, sx, 1, 0, cdx);
              V = sum_cols (t2, p->clo, p->cx0, p->cfx, ox, sx, 1, 0, cdx);
            } else {
              U = sum_cols (t1, 2 * p->clo, p->cx0, p->cfx, ox, sx, 2, 0, cdx);
              V = sum_cols (t1, 2 * p->clo, p->cx0, p->cfx, ox, sx, 2, 1, cdx);
            }
          }
          float Yp = (Y * inv - f->y_off) * f->y_mul;
          float Up = (U * inv - 128.0f) * f->c_mul;
          float Vp = (V * inv - 128.0f) * f->c_mul;
          R = Yp + f->cr_r * Vp;
          G = Yp + f->cb_g * Up + f->cr_g * Vp;
          B = Yp + f->cb_b * Up;
          break;
        }
      }
      R = fminf (fmaxf (R, 0.0f), 255.0f);
      G = fminf (fmaxf (G, 0.0f), 255.0f);
      B = fminf (fmaxf (B, 0.0f), 255.0f);
      o_r[o + ox] = R * p->mul[cr] + p->add[cr];
      o_g[o + ox] = G * p->mul[1] + p->add[1];
      o_b[o + ox] = B * p->mul[cb] + p->add[cb];
    }
  }
}

void
pre_run (const PrePlan *p, const PreFormat *f, const PreFrame *fr, float *out)
{
  /* bands of whole rows, as many as the calling thread may use (each row
   * costs the same, so equal bands balance) */
  int nh = p->net_h, threads = attn_parallel_threads ();
  int bands = threads < MAX_BANDS ? threads : MAX_BANDS;
  bands = bands < nh ? bands : nh;
  PreRun r = { p, f, fr, out, (nh + bands - 1) / bands };
  attn_parallel_for ((nh + r.band_rows - 1) / r.band_rows, run_band, &r);
}
