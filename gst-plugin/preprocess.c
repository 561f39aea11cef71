/* preprocess.c — see preprocess.h. */
#include "preprocess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SUB 4

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
  pre_plan_clear (p);
  PreRect r = roi ? *roi : (PreRect) { 0, 0, frame_w, frame_h };
  if (r.w <= 0 || r.h <= 0) {       /* 0×0 roi property: the whole frame */
    r = (PreRect) { 0, 0, frame_w, frame_h };
  }
  int x1 = r.x + r.w, y1 = r.y + r.h;
  r.x = r.x < 0 ? 0 : r.x;
  r.y = r.y < 0 ? 0 : r.y;
  x1 = x1 > frame_w ? frame_w : x1;
  y1 = y1 > frame_h ? frame_h : y1;
  if (x1 <= r.x || y1 <= r.y)
    return false;
  r.w = x1 - r.x;
  r.h = y1 - r.y;

  int nw = pre->width, nh = pre->height;
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
  size_t nx = (size_t) nw * p->sub_x, ny = (size_t) nh * p->sub_y;
  p->x0 = malloc (nx * sizeof (int));
  p->cx0 = malloc (nx * sizeof (int));
  p->fx = malloc (nx * sizeof (float));
  p->cfx = malloc (nx * sizeof (float));
  p->y0 = malloc (ny * sizeof (int));
  p->cy0 = malloc (ny * sizeof (int));
  p->fy = malloc (ny * sizeof (float));
  p->cfy = malloc (ny * sizeof (float));
  if (!p->x0 || !p->cx0 || !p->fx || !p->cfx || !p->y0 || !p->cy0 || !p->fy
      || !p->cfy) {
    pre_plan_clear (p);
    return false;
  }
  axis_tables (p->x0, p->fx, p->cx0, p->cfx, nw, p->sub_x, ax, sx, r.x,
               r.x + r.w, frame_w);
  axis_tables (p->y0, p->fy, p->cy0, p->cfy, nh, p->sub_y, ay, sy, r.y,
               r.y + r.h, frame_h);
  p->area_x = (float) (ax / frame_w);
  p->area_y = (float) (ay / frame_h);
  p->area_w = (float) (aw / frame_w);
  p->area_h = (float) (ah / frame_h);
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

void
pre_run (const PrePlan *p, const PreFormat *f, const PreFrame *fr, float *out)
{
  int nw = p->net_w, nh = p->net_h, sx = p->sub_x, sy = p->sub_y;
  size_t plane = (size_t) nw * nh;
  /* output channel order: the model's (RGB or BGR) */
  float *o_r = out + (p->bgr ? 2 : 0) * plane, *o_g = out + plane;
  float *o_b = out + (p->bgr ? 0 : 2) * plane;
  float inv = 1.0f / (float) (sx * sy);
  int ps = f->pixel_stride;
  bool single_row_src = p->frame_h == 1, single_col_src = p->frame_w == 1;

  for (int oy = 0; oy < nh; oy++) {
    for (int ox = 0; ox < nw; ox++) {
      size_t o = (size_t) oy * nw + ox;
      if (p->y0[oy * sy] < 0 || p->x0[ox * sx] < 0) {
        /* letterbox padding: the mean colour, i.e. 0 after normalisation */
        o_r[o] = o_g[o] = o_b[o] = 0.0f;
        continue;
      }
      float R = 0, G = 0, B = 0;
      for (int ky = 0; ky < sy; ky++) {
        int jy = oy * sy + ky, y0 = p->y0[jy];
        int y1 = single_row_src ? y0 : y0 + 1;
        float fy = p->fy[jy];
        for (int kx = 0; kx < sx; kx++) {
          int jx = ox * sx + kx, x0 = p->x0[jx];
          int x1 = single_col_src ? x0 : x0 + 1;
          float fx = p->fx[jx];
          switch (f->layout) {
            case PRE_PACKED:{
              const uint8_t *r0 = fr->plane[0] + (size_t) y0 * fr->stride[0];
              const uint8_t *r1 = fr->plane[0] + (size_t) y1 * fr->stride[0];
              int a = x0 * ps, b = x1 * ps;
              R += lerp2 (r0 + f->r, r1 + f->r, a, b, fx, fy);
              G += lerp2 (r0 + f->g, r1 + f->g, a, b, fx, fy);
              B += lerp2 (r0 + f->b, r1 + f->b, a, b, fx, fy);
              break;
            }
            case PRE_GRAY8:{
              const uint8_t *r0 = fr->plane[0] + (size_t) y0 * fr->stride[0];
              const uint8_t *r1 = fr->plane[0] + (size_t) y1 * fr->stride[0];
              float v = lerp2 (r0, r1, x0, x1, fx, fy);
              R += v;
              G += v;
              B += v;
              break;
            }
            case PRE_I420:
            case PRE_NV12:{
              const uint8_t *r0 = fr->plane[0] + (size_t) y0 * fr->stride[0];
              const uint8_t *r1 = fr->plane[0] + (size_t) y1 * fr->stride[0];
              float Y = (lerp2 (r0, r1, x0, x1, fx, fy) - f->y_off) * f->y_mul;
              int cy0 = p->cy0[jy], cx0 = p->cx0[jx];
              int cy1 = (p->frame_h + 1) / 2 > 1 ? cy0 + 1 : cy0;
              int cx1 = (p->frame_w + 1) / 2 > 1 ? cx0 + 1 : cx0;
              float cfx = p->cfx[jx], cfy = p->cfy[jy], U, V;
              if (f->layout == PRE_I420) {
                const uint8_t *u0 = fr->plane[1] + (size_t) cy0 * fr->stride[1];
                const uint8_t *u1 = fr->plane[1] + (size_t) cy1 * fr->stride[1];
                const uint8_t *v0 = fr->plane[2] + (size_t) cy0 * fr->stride[2];
                const uint8_t *v1 = fr->plane[2] + (size_t) cy1 * fr->stride[2];
                U = lerp2 (u0, u1, cx0, cx1, cfx, cfy);
                V = lerp2 (v0, v1, cx0, cx1, cfx, cfy);
              } else {
                const uint8_t *c0 = fr->plane[1] + (size_t) cy0 * fr->stride[1];
                const uint8_t *c1 = fr->plane[1] + (size_t) cy1 * fr->stride[1];
                U = lerp2 (c0, c1, 2 * cx0, 2 * cx1, cfx, cfy);
                V = lerp2 (c0 + 1, c1 + 1, 2 * cx0, 2 * cx1, cfx, cfy);
              }
              U = (U - 128.0f) * f->c_mul;
              V = (V - 128.0f) * f->c_mul;
              R += Y + f->cr_r * V;
              G += Y + f->cb_g * U + f->cr_g * V;
              B += Y + f->cb_b * U;
              break;
            }
          }
        }
      }
      /* RGB channel c of the model's order: the colour's own mul/add */
      R = fminf (fmaxf (R * inv, 0.0f), 255.0f);
      G = fminf (fmaxf (G * inv, 0.0f), 255.0f);
      B = fminf (fmaxf (B * inv, 0.0f), 255.0f);
      int cr = p->bgr ? 2 : 0, cb = p->bgr ? 0 : 2;
      o_r[o] = R * p->mul[cr] + p->add[cr];
      o_g[o] = G * p->mul[1] + p->add[1];
      o_b[o] = B * p->mul[cb] + p->add[cb];
    }
  }
}
