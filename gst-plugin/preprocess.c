/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* preprocess.c — see preprocess.h. */
#include "preprocess.h"

#include <math.h>
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
  free (p->acc);
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
    p->acc = malloc ((size_t) MAX_BANDS * 3 * nw * sizeof (float));
    if (!p->x0 || !p->cx0 || !p->fx || !p->cfx || !p->y0 || !p->cy0
        || !p->fy || !p->cfy || !p->acc) {
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

static inline float
lerp2 (const uint8_t *row0, const uint8_t *row1, int a, int b, float fx,
       float fy)
{
  float top = row0[a] + (row0[b] - row0[a]) * fx;
  float bot = row1[a] + (row1[b] - row1[a]) * fx;
  return top + (bot - top) * fy;
}

/* Adds the RGB of (Y', U', V') — already offset and scaled — to *R, *G,
 * *B. */
static inline void
yuv_add (const PreFormat *f, float Y, float U, float V, float *R, float *G,
         float *B)
{
  *R += Y + f->cr_r * V;
  *G += Y + f->cb_g * U + f->cr_g * V;
  *B += Y + f->cb_b * U;
}

/* Accumulates, for one output row and one sub-row (source rows r0, r1 with
 * weight fy on r1), every output pixel's bilinear samples into acc (3, nw):
 * one specialised loop per layout, nothing but arithmetic inside. */
static void
accumulate_row (const PrePlan *p, const PreFormat *f, const PreFrame *fr,
                int jy, float *restrict acc)
{
  int nw = p->net_w, sx = p->sub_x, ps = f->pixel_stride;
  float *ar = acc, *ag = acc + nw, *ab = acc + 2 * nw;
  int y0 = p->y0[jy], y1 = p->frame_h == 1 ? y0 : y0 + 1;
  int dx = p->frame_w == 1 ? 0 : 1;
  float fy = p->fy[jy];
  const uint8_t *r0 = fr->plane[0] + (size_t) y0 * fr->stride[0];
  const uint8_t *r1 = fr->plane[0] + (size_t) y1 * fr->stride[0];
  switch (f->layout) {
    case PRE_PACKED:
      for (int ox = 0; ox < nw; ox++) {
        if (p->x0[ox * sx] < 0)
          continue;
        float R = 0, G = 0, B = 0;
        for (int j = ox * sx; j < (ox + 1) * sx; j++) {
          int a = p->x0[j] * ps, b = a + dx * ps;
          float fx = p->fx[j];
          R += lerp2 (r0 + f->r, r1 + f->r, a, b, fx, fy);
          G += lerp2 (r0 + f->g, r1 + f->g, a, b, fx, fy);
          B += lerp2 (r0 + f->b, r1 + f->b, a, b, fx, fy);
        }
        ar[ox] += R;
        ag[ox] += G;
        ab[ox] += B;
      }
      break;
    case PRE_GRAY8:
      for (int ox = 0; ox < nw; ox++) {
        if (p->x0[ox * sx] < 0)
          continue;
        float V = 0;
        for (int j = ox * sx; j < (ox + 1) * sx; j++)
          V += lerp2 (r0, r1, p->x0[j], p->x0[j] + dx, p->fx[j], fy);
        ar[ox] += V;
        ag[ox] += V;
        ab[ox] += V;
      }
      break;
    case PRE_I420:
    case PRE_NV12:{
      int cy0 = p->cy0[jy], cy1 = (p->frame_h + 1) / 2 > 1 ? cy0 + 1 : cy0;
      int cdx = (p->frame_w + 1) / 2 > 1 ? 1 : 0;
      float cfy = p->cfy[jy];
      bool nv12 = f->layout == PRE_NV12;
      /* NV12: U and V interleaved, 2 bytes per chroma sample */
      int cs = nv12 ? 2 : 1;
      const uint8_t *u0 = fr->plane[1] + (size_t) cy0 * fr->stride[1];
      const uint8_t *u1 = fr->plane[1] + (size_t) cy1 * fr->stride[1];
      const uint8_t *v0 = nv12 ? u0 + 1 : fr->plane[2] + (size_t) cy0 * fr->stride[2];
      const uint8_t *v1 = nv12 ? u1 + 1 : fr->plane[2] + (size_t) cy1 * fr->stride[2];
      for (int ox = 0; ox < nw; ox++) {
        if (p->x0[ox * sx] < 0)
          continue;
        float R = 0, G = 0, B = 0;
        for (int j = ox * sx; j < (ox + 1) * sx; j++) {
          float Y = (lerp2 (r0, r1, p->x0[j], p->x0[j] + dx, p->fx[j], fy)
                     - f->y_off) * f->y_mul;
          int c0 = p->cx0[j] * cs, c1 = c0 + cdx * cs;
          float U = (lerp2 (u0, u1, c0, c1, p->cfx[j], cfy) - 128.0f) * f->c_mul;
          float V = (lerp2 (v0, v1, c0, c1, p->cfx[j], cfy) - 128.0f) * f->c_mul;
          yuv_add (f, Y, U, V, &R, &G, &B);
        }
        ar[ox] += R;
        ag[ox] += G;
        ab[ox] += B;
      }
      break;
    }
    case PRE_YUY2:
    case PRE_UYVY:{
      /* one plane, 4 bytes per 2 pixels; chroma at half horizontal
       * resolution on every row */
      bool yuy2 = f->layout == PRE_YUY2;
      const uint8_t *y0r = r0 + (yuy2 ? 0 : 1), *y1r = r1 + (yuy2 ? 0 : 1);
      const uint8_t *u0 = r0 + (yuy2 ? 1 : 0), *u1 = r1 + (yuy2 ? 1 : 0);
      const uint8_t *v0 = r0 + (yuy2 ? 3 : 2), *v1 = r1 + (yuy2 ? 3 : 2);
      int cdx = (p->frame_w + 1) / 2 > 1 ? 4 : 0;
      for (int ox = 0; ox < nw; ox++) {
        if (p->x0[ox * sx] < 0)
          continue;
        float R = 0, G = 0, B = 0;
        for (int j = ox * sx; j < (ox + 1) * sx; j++) {
          int a = p->x0[j] * 2, c0 = p->cx0[j] * 4;
          float Y = (lerp2 (y0r, y1r, a, a + dx * 2, p->fx[j], fy)
                     - f->y_off) * f->y_mul;
          float U = (lerp2 (u0, u1, c0, c0 + cdx, p->cfx[j], fy) - 128.0f)
              * f->c_mul;
          float V = (lerp2 (v0, v1, c0, c0 + cdx, p->cfx[j], fy) - 128.0f)
              * f->c_mul;
          yuv_add (f, Y, U, V, &R, &G, &B);
        }
        ar[ox] += R;
        ag[ox] += G;
        ab[ox] += B;
      }
      break;
    }
  }
}

typedef struct {
  const PrePlan *p;
  const PreFormat *f;
  const PreFrame *fr;
  float *out;
  int band_rows;
} PreRun;

/* Output rows [band·band_rows, …) of one band, with the band's own
 * accumulator. */
static void
run_band (void *ctx, int band)
{
  const PreRun *r = ctx;
  const PrePlan *p = r->p;
  int nw = p->net_w, nh = p->net_h, sy = p->sub_y;
  size_t plane = (size_t) nw * nh;
  /* output channel order: the model's (RGB or BGR) */
  float *out = r->out;
  float *o_r = out + (p->bgr ? 2 : 0) * plane, *o_g = out + plane;
  float *o_b = out + (p->bgr ? 0 : 2) * plane;
  int cr = p->bgr ? 2 : 0, cb = p->bgr ? 0 : 2;
  float inv = 1.0f / (float) (p->sub_x * sy);
  float *acc = p->acc + (size_t) band * 3 * nw;
  int y0 = band * r->band_rows;
  int y1 = y0 + r->band_rows < nh ? y0 + r->band_rows : nh;

  for (int oy = y0; oy < y1; oy++) {
    size_t o = (size_t) oy * nw;
    if (p->y0[oy * sy] < 0) {
      /* letterbox padding: the mean colour, i.e. 0 after normalisation */
      memset (o_r + o, 0, sizeof (float) * nw);
      memset (o_g + o, 0, sizeof (float) * nw);
      memset (o_b + o, 0, sizeof (float) * nw);
      continue;
    }
    memset (acc, 0, sizeof (float) * 3 * nw);
    for (int ky = 0; ky < sy; ky++)
      accumulate_row (p, r->f, r->fr, oy * sy + ky, acc);
    for (int ox = 0; ox < nw; ox++) {
      if (p->x0[ox * p->sub_x] < 0) {
        o_r[o + ox] = o_g[o + ox] = o_b[o + ox] = 0.0f;
        continue;
      }
      float R = fminf (fmaxf (acc[ox] * inv, 0.0f), 255.0f);
      float G = fminf (fmaxf (acc[nw + ox] * inv, 0.0f), 255.0f);
      float B = fminf (fmaxf (acc[2 * nw + ox] * inv, 0.0f), 255.0f);
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
