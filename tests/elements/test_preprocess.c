/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_preprocess.c — frame → network tensor. Uniform frames in every layout
 * must give the normalised colour exactly (checks colour conversion, channel
 * order, mean/std); ramps must resize with half-pixel-centre bilinear weights;
 * letterbox pads with the mean; roi and center-crop cover the right area;
 * and the separable, banded pre_run equals a per-sample reference (every
 * sample converted, summed in double) on random frames of every layout,
 * and so does every instruction set's build of it (cpu.h), bit for bit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cpu.h"
#include "parallel.h"
#include "preprocess.h"

static AttnPreprocess
model_pre (int w, int h, bool bgr)
{
  return (AttnPreprocess) { w, h, bgr, { 0.485f, 0.456f, 0.406f },
                            { 0.229f, 0.224f, 0.225f }, 255.0f,
                            ATTN_RESIZE_STRETCH };
}

/* A frame of fw × fh in `layout`, every pixel the colour (r, g, b); YUV
 * layouts get the BT.601 full-range encoding so the decode is exact. */
typedef struct {
  uint8_t *buf;
  PreFrame fr;
  PreFormat f;
} Frame;

static void
make_uniform (Frame *fm, PreLayout layout, int fw, int fh, int r, int g, int b)
{
  memset (fm, 0, sizeof *fm);
  fm->f.layout = layout;
  int cw = (fw + 1) / 2, ch = (fh + 1) / 2;
  /* full-range BT.601 forward transform */
  double kr = 0.299, kb = 0.114, kg = 1 - kr - kb;
  double Y = kr * r + kg * g + kb * b;
  double U = 128 + (b - Y) / (2 * (1 - kb)), V = 128 + (r - Y) / (2 * (1 - kr));
  switch (layout) {
    case PRE_PACKED:{
      /* xBGR-like 4-byte pixels with padding: offsets 3, 2, 1 */
      int stride = fw * 4 + 12;
      fm->buf = calloc ((size_t) stride * fh, 1);
      fm->f.pixel_stride = 4;
      fm->f.r = 3; fm->f.g = 2; fm->f.b = 1;
      for (int y = 0; y < fh; y++)
        for (int x = 0; x < fw; x++) {
          uint8_t *p = fm->buf + (size_t) y * stride + x * 4;
          p[0] = 77; p[3] = (uint8_t) r; p[2] = (uint8_t) g; p[1] = (uint8_t) b;
        }
      fm->fr.plane[0] = fm->buf;
      fm->fr.stride[0] = stride;
      break;
    }
    case PRE_GRAY8:
      fm->buf = malloc ((size_t) fw * fh);
      memset (fm->buf, r, (size_t) fw * fh);
      fm->fr.plane[0] = fm->buf;
      fm->fr.stride[0] = fw;
      break;
    case PRE_I420:
    case PRE_NV12:{
      size_t ysz = (size_t) fw * fh, csz = (size_t) cw * ch;
      fm->buf = malloc (ysz + 2 * csz);
      memset (fm->buf, (int) lround (Y), ysz);
      fm->fr.plane[0] = fm->buf;
      fm->fr.stride[0] = fw;
      if (layout == PRE_I420) {
        memset (fm->buf + ysz, (int) lround (U), csz);
        memset (fm->buf + ysz + csz, (int) lround (V), csz);
        fm->fr.plane[1] = fm->buf + ysz;
        fm->fr.plane[2] = fm->buf + ysz + csz;
        fm->fr.stride[1] = fm->fr.stride[2] = cw;
      } else {
        for (size_t i = 0; i < csz; i++) {
          fm->buf[ysz + 2 * i] = (uint8_t) lround (U);
          fm->buf[ysz + 2 * i + 1] = (uint8_t) lround (V);
        }
        fm->fr.plane[1] = fm->buf + ysz;
        fm->fr.stride[1] = 2 * cw;
      }
      pre_format_yuv (&fm->f, (float) kr, (float) kb, true);
      break;
    }
    case PRE_YUY2:
    case PRE_UYVY:{
      /* 4 bytes per 2 pixels, rows padded by 6 bytes */
      int stride = cw * 4 + 6;
      bool yuy2 = layout == PRE_YUY2;
      fm->buf = calloc ((size_t) stride * fh, 1);
      for (int y = 0; y < fh; y++)
        for (int x = 0; x < cw; x++) {
          uint8_t *q = fm->buf + (size_t) y * stride + x * 4;
          q[yuy2 ? 0 : 1] = q[yuy2 ? 2 : 3] = (uint8_t) lround (Y);
          q[yuy2 ? 1 : 0] = (uint8_t) lround (U);
          q[yuy2 ? 3 : 2] = (uint8_t) lround (V);
        }
      fm->fr.plane[0] = fm->buf;
      fm->fr.stride[0] = stride;
      pre_format_yuv (&fm->f, (float) kr, (float) kb, true);
      break;
    }
  }
}

/* The same picture — luma and chroma varying along x, not along y — as
 * I420 and as YUY2 / UYVY: 4:2:2 samples chroma at the same horizontal
 * positions as 4:2:0, so the tensors agree exactly. */
static bool
packed_422_matches_i420 (PreLayout layout, int fw, int fh, int nw, int nh)
{
  int cw = (fw + 1) / 2;
  uint8_t *i420 = malloc ((size_t) fw * fh + 2 * (size_t) cw * ((fh + 1) / 2));
  int stride = cw * 4 + 2;
  uint8_t *pk = calloc ((size_t) stride * fh, 1);
  uint8_t *yp = i420, *up = i420 + (size_t) fw * fh;
  uint8_t *vp = up + (size_t) cw * ((fh + 1) / 2);
  bool yuy2 = layout == PRE_YUY2;
  for (int y = 0; y < fh; y++)
    for (int x = 0; x < fw; x++) {
      uint8_t Y = (uint8_t) (16 + (x * 37) % 220), U = (uint8_t) (40 + (x / 2 * 23) % 180);
      uint8_t V = (uint8_t) (200 - (x / 2 * 17) % 150);
      yp[(size_t) y * fw + x] = Y;
      up[(size_t) (y / 2) * cw + x / 2] = U;
      vp[(size_t) (y / 2) * cw + x / 2] = V;
      uint8_t *q = pk + (size_t) y * stride + (x / 2) * 4;
      q[(yuy2 ? 0 : 1) + (x % 2) * 2] = Y;
      q[yuy2 ? 1 : 0] = U;
      q[yuy2 ? 3 : 2] = V;
    }
  PreFormat fi = { 0 }, fp = { 0 };
  pre_format_yuv (&fi, 0.2126f, 0.0722f, false);
  fp = fi;
  fi.layout = PRE_I420;
  fp.layout = layout;
  PreFrame ri = { { yp, up, vp }, { fw, cw, cw } };
  PreFrame rp = { { pk, NULL, NULL }, { stride, 0, 0 } };
  AttnPreprocess pre = model_pre (nw, nh, false);
  PrePlan plan = { 0 };
  bool ok = pre_plan (&plan, fw, fh, NULL, ATTN_RESIZE_STRETCH, &pre);
  size_t n = (size_t) 3 * nw * nh;
  float *a = test_alloc (n), *b = test_alloc (n);
  pre_run (&plan, &fi, &ri, a);
  pre_run (&plan, &fp, &rp, b);
  for (size_t i = 0; ok && i < n; i++)
    ok = fabsf (a[i] - b[i]) < 1e-5f;
  pre_plan_clear (&plan);
  free (i420);
  free (pk);
  free (a);
  free (b);
  return ok;
}

static bool
uniform_case (PreLayout layout, int fw, int fh, int nw, int nh, bool bgr,
              AttnResize mode)
{
  int r = 200, g = 60, b = 120;
  if (layout == PRE_GRAY8)
    g = b = r;
  Frame fm;
  make_uniform (&fm, layout, fw, fh, r, g, b);
  AttnPreprocess pre = model_pre (nw, nh, bgr);
  PrePlan plan = { 0 };
  bool ok = pre_plan (&plan, fw, fh, NULL, mode, &pre);
  float *out = test_alloc ((size_t) 3 * nw * nh), *ref = test_alloc ((size_t) 3 * nw * nh);
  if (ok)
    pre_run (&plan, &fm.f, &fm.fr, out);
  int rgb[3] = { r, g, b };
  for (int c = 0; c < 3; c++) {
    int src = bgr ? 2 - c : c;   /* tensor channel c holds this colour */
    float v = (rgb[src] / 255.0f - pre.mean[c]) / pre.std[c];
    for (int i = 0; i < nw * nh; i++)
      ref[c * nw * nh + i] = v;
  }
  /* YUV rounding to 8 bits moves a colour by up to ~1.5 levels */
  bool yuv = layout == PRE_I420 || layout == PRE_NV12 || layout == PRE_YUY2
      || layout == PRE_UYVY;
  float tol = yuv ? 2.0f / 255 / 0.224f : 1e-5f;
  ok = ok && check_close ("uniform colour", out, ref, (size_t) 3 * nw * nh, tol, 0);
  pre_plan_clear (&plan);
  free (fm.buf);
  free (out);
  free (ref);
  return ok;
}

/* A gray horizontal ramp v(x) = x resized to nw columns: output column i is
 * the bilinear value at source x = (i + ½)·fw/nw − ½ (clamped), averaged over
 * sub-samples when shrinking more than 2×. */
static bool
ramp_case (int fw, int nw, bool vertical)
{
  int fh = vertical ? fw : 3, w = vertical ? 3 : fw;
  int nh = vertical ? nw : 2, nww = vertical ? 2 : nw;
  uint8_t *buf = malloc ((size_t) w * fh);
  for (int y = 0; y < fh; y++)
    for (int x = 0; x < w; x++)
      buf[y * w + x] = (uint8_t) (vertical ? y : x);
  PreFormat f = { .layout = PRE_GRAY8 };
  PreFrame fr = { { buf, NULL, NULL }, { w, 0, 0 } };
  AttnPreprocess pre = { nww, nh, false, { 0, 0, 0 }, { 1, 1, 1 }, 1.0f,
                         ATTN_RESIZE_STRETCH };
  PrePlan plan = { 0 };
  pre_plan (&plan, w, fh, NULL, ATTN_RESIZE_STRETCH, &pre);
  float *out = test_alloc ((size_t) 3 * nww * nh);
  pre_run (&plan, &f, &fr, out);
  double scale = (double) fw / nw;
  int sub = scale > 2 ? (int) fmin (ceil (scale), 4) : 1;
  bool ok = true;
  for (int i = 0; i < nw; i++) {
    double acc = 0;
    for (int k = 0; k < sub; k++) {
      double s = (i + (k + 0.5) / sub) * scale - 0.5;
      acc += fmin (fmax (s, 0), fw - 1);
    }
    float want = (float) (acc / sub);
    float got = vertical ? out[i * nww] : out[i];
    char what[64];
    snprintf (what, sizeof what, "ramp %d→%d column %d", fw, nw, i);
    ok &= check_close (what, &got, &want, 1, 1e-3f, 0);
  }
  pre_plan_clear (&plan);
  free (buf);
  free (out);
  return ok;
}

static bool
area_case (void)
{
  AttnPreprocess pre = model_pre (100, 100, false);
  PrePlan p = { 0 };
  bool ok = true;
  /* letterbox a 200×100 frame into a square: the area is 200×200 centred */
  ok &= pre_plan (&p, 200, 100, NULL, ATTN_RESIZE_LETTERBOX, &pre)
      && fabsf (p.area_x) < 1e-6f && fabsf (p.area_w - 1) < 1e-6f
      && fabsf (p.area_y + 0.5f) < 1e-6f && fabsf (p.area_h - 2) < 1e-6f;
  /* center-crop: 100×100 out of the middle */
  ok &= pre_plan (&p, 200, 100, NULL, ATTN_RESIZE_CENTER_CROP, &pre)
      && fabsf (p.area_x - 0.25f) < 1e-6f && fabsf (p.area_w - 0.5f) < 1e-6f
      && fabsf (p.area_y) < 1e-6f && fabsf (p.area_h - 1) < 1e-6f;
  /* roi, clipped to the frame */
  PreRect roi = { 150, 50, 100, 100 };
  ok &= pre_plan (&p, 200, 100, &roi, ATTN_RESIZE_STRETCH, &pre)
      && fabsf (p.area_x - 0.75f) < 1e-6f && fabsf (p.area_w - 0.25f) < 1e-6f
      && fabsf (p.area_y - 0.5f) < 1e-6f && fabsf (p.area_h - 0.5f) < 1e-6f;
  /* letterbox: the content is the frame, not the padded area */
  ok &= pre_plan (&p, 200, 100, NULL, ATTN_RESIZE_LETTERBOX, &pre)
      && fabsf (p.content_x) < 1e-6f && fabsf (p.content_w - 1) < 1e-6f
      && fabsf (p.content_y) < 1e-6f && fabsf (p.content_h - 1) < 1e-6f;
  /* a roi reaching to INT_MAX is clipped, not wrapped round */
  PreRect huge = { 1, 1, 2147483647, 2147483647 };
  ok &= pre_plan (&p, 200, 100, &huge, ATTN_RESIZE_STRETCH, &pre)
      && fabsf (p.content_x - 0.005f) < 1e-6f
      && fabsf (p.content_w - 0.995f) < 1e-6f
      && fabsf (p.content_h - 0.99f) < 1e-6f;
  /* a roi entirely outside is refused */
  PreRect out = { 300, 10, 10, 10 };
  ok &= !pre_plan (&p, 200, 100, &out, ATTN_RESIZE_STRETCH, &pre);
  pre_plan_clear (&p);
  return ok;
}

static bool
letterbox_pads_with_mean (void)
{
  Frame fm;
  make_uniform (&fm, PRE_PACKED, 40, 10, 255, 255, 255);
  AttnPreprocess pre = model_pre (8, 8, false);
  PrePlan p = { 0 };
  pre_plan (&p, 40, 10, NULL, ATTN_RESIZE_LETTERBOX, &pre);
  float out[3 * 64];
  pre_run (&p, &fm.f, &fm.fr, out);
  /* 40×10 into 8×8: content rows are the middle 2 (rows 3, 4) */
  bool ok = true;
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < 8; y++)
      for (int x = 0; x < 8; x++) {
        float v = out[c * 64 + y * 8 + x];
        float white = (1.0f - pre.mean[c]) / pre.std[c];
        ok &= (y == 3 || y == 4) ? fabsf (v - white) < 1e-4f : v == 0.0f;
      }
  pre_plan_clear (&p);
  free (fm.buf);
  return ok;
}

/* Planning again for another roi (one per object) reuses the tables — no
 * allocation — and gives exactly what a fresh plan gives; a different input
 * size reallocates. The frame is a ramp, so a wrong table shows. */
static bool
replan_reuses_tables (void)
{
  int fw = 301, fh = 157;
  Frame fm;
  make_uniform (&fm, PRE_PACKED, fw, fh, 0, 0, 0);
  for (int y = 0; y < fh; y++)
    for (int x = 0; x < fw; x++) {
      uint8_t *px = fm.buf + (size_t) y * fm.fr.stride[0] + x * 4;
      px[3] = (uint8_t) (x * 255 / fw);
      px[2] = (uint8_t) (y * 255 / fh);
      px[1] = (uint8_t) ((x + y) & 0xff);
    }
  AttnPreprocess pre = model_pre (24, 16, false);
  static const PreRect rois[] = {
    { 0, 0, 301, 157 }, { 13, 7, 40, 90 }, { 250, 100, 51, 57 }, { 5, 5, 3, 2 },
  };
  float a[3 * 24 * 16], b[3 * 24 * 16];
  PrePlan reused = { 0 };
  bool ok = pre_plan (&reused, fw, fh, &rois[0], ATTN_RESIZE_LETTERBOX, &pre);
  const int *tables = reused.x0;
  for (size_t i = 1; i < sizeof rois / sizeof rois[0]; i++) {
    PrePlan fresh = { 0 };
    ok &= pre_plan (&reused, fw, fh, &rois[i], ATTN_RESIZE_LETTERBOX, &pre)
        && pre_plan (&fresh, fw, fh, &rois[i], ATTN_RESIZE_LETTERBOX, &pre);
    ok &= reused.x0 == tables;
    pre_run (&reused, &fm.f, &fm.fr, a);
    pre_run (&fresh, &fm.f, &fm.fr, b);
    ok &= memcmp (a, b, sizeof a) == 0 && reused.area_x == fresh.area_x
        && reused.content_w == fresh.content_w;
    pre_plan_clear (&fresh);
  }
  /* refused rois clear the plan; the next one plans afresh */
  PreRect outside = { 400, 0, 10, 10 };
  ok &= !pre_plan (&reused, fw, fh, &outside, ATTN_RESIZE_STRETCH, &pre)
      && reused.x0 == NULL;
  AttnPreprocess other = model_pre (12, 12, false);
  ok &= pre_plan (&reused, fw, fh, NULL, ATTN_RESIZE_STRETCH, &other)
      && reused.net_w == 12;
  pre_plan_clear (&reused);
  free (fm.buf);
  return ok;
}

/* Bands of rows over 1, 2 and every thread give the same bytes (odd sizes:
 * bands of unequal length, more bands than rows would allow). */
static bool
bands_match (int fw, int fh, int nw, int nh)
{
  Frame fm;
  make_uniform (&fm, PRE_PACKED, fw, fh, 0, 0, 0);
  for (int y = 0; y < fh; y++)
    for (int x = 0; x < fw; x++) {
      uint8_t *px = fm.buf + (size_t) y * fm.fr.stride[0] + x * 4;
      px[3] = (uint8_t) (x * 7 + y);
      px[2] = (uint8_t) (y * 3);
      px[1] = (uint8_t) (x ^ y);
    }
  AttnPreprocess pre = model_pre (nw, nh, false);
  PrePlan p = { 0 };
  bool ok = pre_plan (&p, fw, fh, NULL, ATTN_RESIZE_LETTERBOX, &pre);
  size_t n = (size_t) 3 * nw * nh;
  float *a = malloc (n * sizeof *a), *b = malloc (n * sizeof *b);
  attn_parallel_set_threads (1);
  pre_run (&p, &fm.f, &fm.fr, a);
  for (int t = 0; t <= 2 && ok; t++) {
    attn_parallel_set_threads (t);
    memset (b, 0xff, n * sizeof *b);
    pre_run (&p, &fm.f, &fm.fr, b);
    ok &= memcmp (a, b, n * sizeof *a) == 0;
  }
  attn_parallel_set_threads (0);
  pre_plan_clear (&p);
  free (a);
  free (b);
  free (fm.buf);
  return ok;
}

/* ---- the per-sample reference ------------------------------------------- */

/* pre_run as the definition says it, one bilinear sample at a time: every
 * sample converted to RGB, summed, averaged, clamped, normalised. The plan's
 * tables, nothing else; single-threaded; double sums. */
static double
lerp2d (const uint8_t *row0, const uint8_t *row1, int a, int b, double fx,
        double fy)
{
  double top = row0[a] + (row0[b] - row0[a]) * fx;
  double bot = row1[a] + (row1[b] - row1[a]) * fx;
  return top + (bot - top) * fy;
}

static void
reference_run (const PrePlan *p, const PreFormat *f, const PreFrame *fr,
               float *out)
{
  int nw = p->net_w, nh = p->net_h, sx = p->sub_x, sy = p->sub_y;
  int ps = f->pixel_stride, dx = p->frame_w == 1 ? 0 : 1;
  int dy = p->frame_h == 1 ? 0 : 1;
  int cw = (p->frame_w + 1) / 2, chh = (p->frame_h + 1) / 2;
  int cdx = cw > 1 ? 1 : 0, cdy = chh > 1 ? 1 : 0;
  size_t plane = (size_t) nw * nh;
  for (int oy = 0; oy < nh; oy++)
    for (int ox = 0; ox < nw; ox++) {
      double rgb[3] = { 0, 0, 0 };
      bool pad = p->y0[oy * sy] < 0 || p->x0[ox * sx] < 0;
      for (int ky = 0; ky < sy && !pad; ky++) {
        int jy = oy * sy + ky;
        const uint8_t *r0 = fr->plane[0] + (size_t) p->y0[jy] * fr->stride[0];
        const uint8_t *r1 = fr->plane[0] + (size_t) (p->y0[jy] + dy) * fr->stride[0];
        double fy = p->fy[jy];
        for (int j = ox * sx; j < (ox + 1) * sx; j++) {
          int a = p->x0[j];
          double fx = p->fx[j], Y, U = 128, V = 128;
          if (f->layout == PRE_PACKED) {
            int off[3] = { f->r, f->g, f->b };
            for (int c = 0; c < 3; c++)
              rgb[c] += lerp2d (r0 + off[c], r1 + off[c], a * ps, (a + dx) * ps,
                                fx, fy);
            continue;
          }
          if (f->layout == PRE_GRAY8) {
            double g = lerp2d (r0, r1, a, a + dx, fx, fy);
            rgb[0] += g;
            rgb[1] += g;
            rgb[2] += g;
            continue;
          }
          int c0 = p->cx0[j];
          double cfx = p->cfx[j];
          if (f->layout == PRE_YUY2 || f->layout == PRE_UYVY) {
            int yo = f->layout == PRE_YUY2 ? 0 : 1, uo = f->layout == PRE_YUY2 ? 1 : 0;
            Y = lerp2d (r0 + yo, r1 + yo, 2 * a, 2 * (a + dx), fx, fy);
            U = lerp2d (r0 + uo, r1 + uo, 4 * c0, 4 * (c0 + cdx), cfx, fy);
            V = lerp2d (r0 + uo + 2, r1 + uo + 2, 4 * c0, 4 * (c0 + cdx), cfx, fy);
          } else {
            int cy = p->cy0[jy];
            double cfy = p->cfy[jy];
            Y = lerp2d (r0, r1, a, a + dx, fx, fy);
            bool nv12 = f->layout == PRE_NV12;
            int cs = nv12 ? 2 : 1;
            const uint8_t *u0 = fr->plane[1] + (size_t) cy * fr->stride[1];
            const uint8_t *u1 = fr->plane[1] + (size_t) (cy + cdy) * fr->stride[1];
            const uint8_t *v0 = nv12 ? u0 + 1 : fr->plane[2] + (size_t) cy * fr->stride[2];
            const uint8_t *v1 = nv12 ? u1 + 1 : fr->plane[2] + (size_t) (cy + cdy) * fr->stride[2];
            U = lerp2d (u0, u1, c0 * cs, (c0 + cdx) * cs, cfx, cfy);
            V = lerp2d (v0, v1, c0 * cs, (c0 + cdx) * cs, cfx, cfy);
          }
          double Yp = (Y - f->y_off) * f->y_mul, Up = (U - 128) * f->c_mul;
          double Vp = (V - 128) * f->c_mul;
          rgb[0] += Yp + f->cr_r * Vp;
          rgb[1] += Yp + f->cb_g * Up + f->cr_g * Vp;
          rgb[2] += Yp + f->cb_b * Up;
        }
      }
      for (int c = 0; c < 3; c++) {
        int mc = p->bgr ? 2 - c : c;    /* the model's channel index */
        double v = fmin (fmax (rgb[c] / (sx * sy), 0.0), 255.0);
        out[(size_t) mc * plane + (size_t) oy * nw + ox] =
            pad ? 0.0f : (float) (v * p->mul[mc] + p->add[mc]);
      }
    }
}

/* A frame of random bytes (padding too) in `layout`. */
static void
make_random (Frame *fm, PreLayout layout, int fw, int fh, uint32_t seed)
{
  make_uniform (fm, layout, fw, fh, 0, 0, 0);
  int cw = (fw + 1) / 2, ch = (fh + 1) / 2;
  size_t n;
  switch (layout) {
    case PRE_PACKED: n = (size_t) (fw * 4 + 12) * fh; break;
    case PRE_GRAY8: n = (size_t) fw * fh; break;
    case PRE_I420:
    case PRE_NV12: n = (size_t) fw * fh + 2 * (size_t) cw * ch; break;
    default: n = (size_t) (cw * 4 + 6) * fh; break;
  }
  Rng r = rng_new (seed);
  for (size_t i = 0; i < n; i++)
    fm->buf[i] = (uint8_t) rng_int (&r, 0, 255);
}

/* A random fw × fh frame in `layout` (a 3-byte BGR one for packed with
 * bgr) and the plan of an nw × nh input over it; false if it does not plan. */
static bool
random_case (Frame *fm, PrePlan *p, PreLayout layout, int fw, int fh, int nw,
             int nh, AttnResize mode, const PreRect *roi, bool bgr,
             uint32_t seed)
{
  make_random (fm, layout, fw, fh, seed);
  if (layout == PRE_PACKED && bgr) {
    fm->f.pixel_stride = 3;
    fm->f.r = 2; fm->f.g = 1; fm->f.b = 0;
  }
  AttnPreprocess pre = model_pre (nw, nh, bgr);
  return pre_plan (p, fw, fh, roi, mode, &pre);
}

/* pre_run (separable, banded, threaded) against the per-sample reference
 * on random frames: every layout, down- and upsampling, odd sizes, 1×1,
 * letterbox, center-crop and an roi; within float rounding of sums of up
 * to 64 samples (1e-4 after normalisation, where 1/255 of a step is 0.017). */
static bool
matches_reference (PreLayout layout, int fw, int fh, int nw, int nh,
                   AttnResize mode, const PreRect *roi, bool bgr)
{
  Frame fm;
  PrePlan p = { 0 };
  bool ok = random_case (&fm, &p, layout, fw, fh, nw, nh, mode, roi, bgr,
                         (uint32_t) (fw * 31 + fh * 7 + layout));
  size_t n = (size_t) 3 * nw * nh;
  float *got = malloc (n * sizeof *got), *want = malloc (n * sizeof *want);
  for (size_t i = 0; i < n; i++)
    got[i] = NAN;
  attn_parallel_set_threads (0);
  if (ok) {
    pre_run (&p, &fm.f, &fm.fr, got);
    reference_run (&p, &fm.f, &fm.fr, want);
    ok = check_close ("pre_run vs per-sample", got, want, n, 1e-4f, 0);
  }
  pre_plan_clear (&p);
  free (got);
  free (want);
  free (fm.buf);
  return ok;
}

/* pre_run with instruction set `isa` (cpu.h) writes the same floats as the
 * generic build, bit for bit, on a random frame, 1 and 2 threads. */
static bool
isa_matches_generic (PreLayout layout, int fw, int fh, int nw, int nh,
                     AttnResize mode, const PreRect *roi, bool bgr, AttnIsa isa)
{
  Frame fm;
  PrePlan p = { 0 };
  bool ok = random_case (&fm, &p, layout, fw, fh, nw, nh, mode, roi, bgr,
                         (uint32_t) (fw * 17 + fh * 3 + layout));
  size_t n = (size_t) 3 * nw * nh;
  float *a = malloc (n * sizeof *a), *b = malloc (n * sizeof *b);
  for (int t = 1; t <= 2 && ok; t++) {
    attn_parallel_set_threads (t);
    memset (a, 0xff, n * sizeof *a);
    memset (b, 0xff, n * sizeof *b);
    attn_cpu_set_isa (ATTN_ISA_GENERIC);
    pre_run (&p, &fm.f, &fm.fr, a);
    attn_cpu_set_isa (isa);
    pre_run (&p, &fm.f, &fm.fr, b);
    ok = memcmp (a, b, n * sizeof *a) == 0;
  }
  attn_cpu_set_isa (attn_cpu_best ());
  attn_parallel_set_threads (0);
  pre_plan_clear (&p);
  free (a);
  free (b);
  free (fm.buf);
  return ok;
}

int
main (int argc, char **argv)
{
  static const struct { PreLayout l; const char *n; } layouts[] = {
    { PRE_PACKED, "packed 4-byte" }, { PRE_GRAY8, "GRAY8" },
    { PRE_I420, "I420" }, { PRE_NV12, "NV12" }, { PRE_YUY2, "YUY2" },
    { PRE_UYVY, "UYVY" },
  };
  static const int sizes[][4] = {   /* frame w, h, net w, h */
    { 1, 1, 8, 8 }, { 3, 7, 8, 6 }, { 64, 48, 32, 32 }, { 1920, 1080, 32, 24 },
    { 33, 17, 64, 64 },
  };
  char name[128];
  for (size_t l = 0; l < sizeof layouts / sizeof layouts[0]; l++)
    for (size_t s = 0; s < 5; s++)
      for (int bgr = 0; bgr < 2; bgr++) {
        snprintf (name, sizeof name, "uniform %s %dx%d → %dx%d %s",
                  layouts[l].n, sizes[s][0], sizes[s][1], sizes[s][2],
                  sizes[s][3], bgr ? "BGR" : "RGB");
        test_case (name, uniform_case (layouts[l].l, sizes[s][0], sizes[s][1],
                                       sizes[s][2], sizes[s][3], bgr,
                                       ATTN_RESIZE_STRETCH));
      }
  test_case ("uniform I420 letterboxed", uniform_case (PRE_I420, 64, 16, 16,
                                                       16, false,
                                                       ATTN_RESIZE_CENTER_CROP));
  test_case ("YUY2 = I420 on 33x5 → 16x4", packed_422_matches_i420 (PRE_YUY2, 33, 5, 16, 4));
  test_case ("UYVY = I420 on 64x3 → 24x24", packed_422_matches_i420 (PRE_UYVY, 64, 3, 24, 24));
  test_case ("YUY2 = I420 on 1x1 → 4x4", packed_422_matches_i420 (PRE_YUY2, 1, 1, 4, 4));
  test_case ("UYVY = I420 on 700x9 → 32x32", packed_422_matches_i420 (PRE_UYVY, 700, 9, 32, 32));
  test_case ("ramp upsample 5→13", ramp_case (5, 13, false));
  test_case ("ramp same size 16→16", ramp_case (16, 16, false));
  test_case ("ramp downsample 2x 32→16", ramp_case (32, 16, false));
  test_case ("ramp downsample 7x 224→32 (supersampled)", ramp_case (224, 32, false));
  test_case ("vertical ramp 200→9", ramp_case (200, 9, true));
  test_case ("areas: letterbox, center-crop, roi", area_case ());
  test_case ("letterbox pads with the mean colour", letterbox_pads_with_mean ());
  test_case ("planning another roi reuses the tables", replan_reuses_tables ());
  test_case ("bands of rows: 1920x1080 → 224x224, any thread count",
             bands_match (1920, 1080, 224, 224));
  test_case ("bands of rows: 33x17 → 5x3, any thread count",
             bands_match (33, 17, 5, 3));
  static const struct {
    int fw, fh, nw, nh;
    AttnResize mode;
    PreRect roi;
  } cases[] = {
    { 1920, 1080, 224, 224, ATTN_RESIZE_STRETCH, { 0, 0, 0, 0 } },
    { 1921, 1079, 128, 128, ATTN_RESIZE_LETTERBOX, { 0, 0, 0, 0 } },
    { 641, 479, 96, 64, ATTN_RESIZE_CENTER_CROP, { 0, 0, 0, 0 } },
    { 33, 17, 5, 3, ATTN_RESIZE_STRETCH, { 0, 0, 0, 0 } },
    { 7, 5, 13, 11, ATTN_RESIZE_STRETCH, { 0, 0, 0, 0 } },
    { 1, 1, 4, 4, ATTN_RESIZE_STRETCH, { 0, 0, 0, 0 } },
    { 2, 3, 4, 4, ATTN_RESIZE_LETTERBOX, { 0, 0, 0, 0 } },
    { 800, 600, 64, 64, ATTN_RESIZE_LETTERBOX, { 131, 77, 301, 155 } },
    /* padding left and right of 76 columns: the vectorised column pass
     * starts and stops inside a row */
    { 601, 479, 100, 60, ATTN_RESIZE_LETTERBOX, { 0, 0, 0, 0 } },
  };
  for (size_t l = 0; l < sizeof layouts / sizeof layouts[0]; l++)
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
      bool bgr = c % 2 == 1;
      snprintf (name, sizeof name, "%s%s %dx%d → %dx%d (%s%s): separable = "
                "per-sample reference", layouts[l].n,
                layouts[l].l == PRE_PACKED && bgr ? " (3-byte BGR)" : "",
                cases[c].fw, cases[c].fh, cases[c].nw, cases[c].nh,
                cases[c].mode == ATTN_RESIZE_STRETCH ? "stretch"
                : cases[c].mode == ATTN_RESIZE_LETTERBOX ? "letterbox"
                : "center-crop", cases[c].roi.w ? ", roi" : "");
      test_case (name, matches_reference (layouts[l].l, cases[c].fw,
                     cases[c].fh, cases[c].nw, cases[c].nh, cases[c].mode,
                     cases[c].roi.w ? &cases[c].roi : NULL, bgr));
    }
  /* every other instruction set this CPU has: the generic floats exactly */
  printf ("# instruction sets: up to %s\n", attn_isa_name (attn_cpu_best ()));
  for (int isa = ATTN_ISA_AVX2; isa <= (int) attn_cpu_best (); isa++)
    for (size_t l = 0; l < sizeof layouts / sizeof layouts[0]; l++)
      for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        bool bgr = c % 2 == 1;
        snprintf (name, sizeof name, "%s %dx%d → %dx%d case %zu: %s = generic, "
                  "bit for bit", layouts[l].n, cases[c].fw, cases[c].fh,
                  cases[c].nw, cases[c].nh, c, attn_isa_name ((AttnIsa) isa));
        test_case (name, isa_matches_generic (layouts[l].l, cases[c].fw,
                       cases[c].fh, cases[c].nw, cases[c].nh, cases[c].mode,
                       cases[c].roi.w ? &cases[c].roi : NULL, bgr,
                       (AttnIsa) isa));
      }
  return test_done ();
}
