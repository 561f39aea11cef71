/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* preprocess.c — see preprocess.h. */
#include "preprocess.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "preprocess-private.h"

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
  free (p->x0k);
  free (p->fxk);
  free (p->cx0k);
  free (p->cfxk);
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
    p->x0k = malloc (nx * sizeof (int));
    p->cx0k = malloc (nx * sizeof (int));
    p->fxk = malloc (nx * sizeof (float));
    p->cfxk = malloc (nx * sizeof (float));
    if (!p->x0 || !p->cx0 || !p->fx || !p->cfx || !p->y0 || !p->cy0
        || !p->fy || !p->cfy || !p->x0k || !p->cx0k || !p->fxk || !p->cfxk) {
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
  /* the columns the samples reach, the tables sample-major, and the span
   * of output columns that are not padding (one span: padding is where a
   * column's centre falls outside the analysed area) */
  p->xlo = p->clo = INT32_MAX;
  p->xhi = p->chi = -1;
  p->col_lo = nw;
  p->col_hi = 0;
  for (int j = 0; j < nw * p->sub_x; j++) {
    int ox = j / p->sub_x, k = j % p->sub_x;
    p->x0k[k * nw + ox] = p->x0[j];
    p->fxk[k * nw + ox] = p->fx[j];
    p->cx0k[k * nw + ox] = p->cx0[j];
    p->cfxk[k * nw + ox] = p->cfx[j];
    if (p->x0[j] < 0)
      continue;
    p->col_lo = ox < p->col_lo ? ox : p->col_lo;
    p->col_hi = ox + 1;
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

void
pre_run (const PrePlan *p, const PreFormat *f, const PreFrame *fr, float *out)
{
  /* the per-pixel work, compiled for each instruction set (preprocess_run.c) */
  switch (attn_cpu_isa ()) {
#ifdef ATTN_HAVE_ISA_VARIANTS
    case ATTN_ISA_AVX512:
      pre_run_avx512 (p, f, fr, out);
      break;
    case ATTN_ISA_AVX2:
      pre_run_avx2 (p, f, fr, out);
      break;
#endif
    default:
      pre_run_generic (p, f, fr, out);
      break;
  }
}
