/* winograd.c — F(2×2, 3×3) convolution: input transform Bᵀ·d·B per 4×4
 * tile, 16 sgemms against the pre-transformed weights G·g·Gᵀ, output
 * transform Aᵀ·m·A per tile, then the usual epilogue.
 *
 *   Bᵀ = | 1  0 -1  0 |    G = | 1    0    0  |    Aᵀ = | 1  1  1  0 |
 *        | 0  1  1  0 |        | ½    ½    ½  |         | 0  1 -1 -1 |
 *        | 0 -1  1  0 |        | ½   -½    ½  |
 *        | 0  1  0 -1 |        | 0    0    1  |
 *
 * Layouts: weights u[ξ][co][ci], transformed input v[ξ][ci][tile],
 * products m[ξ][co][tile], ξ = 4·row + column of the 4×4 transform,
 * tiles in raster order (tw per row). */
#include "winograd.h"

#include "blas.h"

static int
tiles_along (int out)
{
  return (out + 1) / 2;
}

bool
attn_winograd_applies (const AttnConv2d *p, int h, int w)
{
  return p->kh == 3 && p->kw == 3 && p->stride_h == 1 && p->stride_w == 1
      && p->dil_h == 1 && p->dil_w == 1 && p->groups == 1
      && p->pad_h >= 0 && p->pad_h <= 2 && p->pad_w >= 0 && p->pad_w <= 2
      && attn_conv_out_dim (h, 3, 1, p->pad_h, 1) > 0
      && attn_conv_out_dim (w, 3, 1, p->pad_w, 1) > 0;
}

static AttnWinogradPolicy policy = ATTN_WINOGRAD_AUTO;

void
attn_winograd_set_policy (AttnWinogradPolicy pol)
{
  policy = pol;
}

bool
attn_winograd_pays (const AttnConv2d *p, int h, int w)
{
  if (policy == ATTN_WINOGRAD_NEVER || !attn_winograd_applies (p, h, w))
    return false;
  if (policy == ATTN_WINOGRAD_ALWAYS)
    return true;
  long tiles = (long) tiles_along (attn_conv_out_dim (h, 3, 1, p->pad_h, 1))
      * tiles_along (attn_conv_out_dim (w, 3, 1, p->pad_w, 1));
  /* below these the 16 small GEMMs and the transforms' memory traffic cost
   * more than the 2.25× fewer multiplications save: with few tiles each
   * transformed weight (16·C_out·C_in floats, 16 MB at 512²) is used too few
   * times (attn-bench conv rows: 1.5-1.7× faster at 64 ch @56² and
   * 128 ch @28², 0.4× at 512 ch @7² and 0.5× at 32 ch @32²) */
  return p->c_in >= 64 && p->c_out >= 64 && tiles >= 36;
}

size_t
attn_winograd_weights_size (const AttnConv2d *p)
{
  return (size_t) 16 * p->c_out * p->c_in;
}

void
attn_winograd_weights (float *u, const float *weight, const AttnConv2d *p)
{
  size_t plane = (size_t) p->c_out * p->c_in;
  for (size_t k = 0; k < plane; k++) {
    const float *g = weight + 9 * k;
    float q[4][3];
    for (int j = 0; j < 3; j++) {        /* G·g: combine the kernel's rows */
      q[0][j] = g[j];
      q[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
      q[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
      q[3][j] = g[6 + j];
    }
    for (int i = 0; i < 4; i++) {        /* (G·g)·Gᵀ: then its columns */
      u[(4 * i + 0) * plane + k] = q[i][0];
      u[(4 * i + 1) * plane + k] = 0.5f * (q[i][0] + q[i][1] + q[i][2]);
      u[(4 * i + 2) * plane + k] = 0.5f * (q[i][0] - q[i][1] + q[i][2]);
      u[(4 * i + 3) * plane + k] = q[i][2];
    }
  }
}

size_t
attn_winograd_workspace (const AttnConv2d *p, int h, int w)
{
  if (!attn_winograd_applies (p, h, w))
    return 0;
  size_t tiles = (size_t) tiles_along (attn_conv_out_dim (h, 3, 1, p->pad_h, 1))
      * tiles_along (attn_conv_out_dim (w, 3, 1, p->pad_w, 1));
  return (size_t) 16 * (p->c_in + p->c_out) * tiles;
}

/* v[ξ][c][t] = (Bᵀ·d·B)[ξ] for the 4×4 input tile d of tile t, zero padded. */
static void
input_transform (float *restrict v, const float *restrict in, int c, int h,
                 int w, int ph, int pw, int th, int tw)
{
  size_t nt = (size_t) th * tw, plane = (size_t) c * nt;
  for (int ci = 0; ci < c; ci++) {
    const float *x = in + (size_t) ci * h * w;
    float *vc = v + (size_t) ci * nt;
    for (int ty = 0; ty < th; ty++) {
      int y0 = 2 * ty - ph;
      int rows_in = y0 >= 0 && y0 + 3 < h;
      for (int tx = 0; tx < tw; tx++) {
        int x0 = 2 * tx - pw;
        float d[4][4];
        if (rows_in && x0 >= 0 && x0 + 3 < w) {
          for (int r = 0; r < 4; r++)
            for (int s = 0; s < 4; s++)
              d[r][s] = x[(size_t) (y0 + r) * w + x0 + s];
        } else {
          for (int r = 0; r < 4; r++)
            for (int s = 0; s < 4; s++) {
              int iy = y0 + r, ix = x0 + s;
              d[r][s] = iy >= 0 && iy < h && ix >= 0 && ix < w
                  ? x[(size_t) iy * w + ix] : 0.0f;
            }
        }
        float t[4][4];
        for (int s = 0; s < 4; s++) {    /* Bᵀ·d */
          t[0][s] = d[0][s] - d[2][s];
          t[1][s] = d[1][s] + d[2][s];
          t[2][s] = d[2][s] - d[1][s];
          t[3][s] = d[1][s] - d[3][s];
        }
        float *o = vc + (size_t) ty * tw + tx;
        for (int r = 0; r < 4; r++) {    /* (Bᵀ·d)·B */
          o[(4 * r + 0) * plane] = t[r][0] - t[r][2];
          o[(4 * r + 1) * plane] = t[r][1] + t[r][2];
          o[(4 * r + 2) * plane] = t[r][2] - t[r][1];
          o[(4 * r + 3) * plane] = t[r][1] - t[r][3];
        }
      }
    }
  }
}

/* out[c][2ty+i][2tx+j] = (Aᵀ·m·A)[i][j], cropped to ho × wo. */
static void
output_transform (float *restrict out, const float *restrict m, int c,
                  int ho, int wo, int th, int tw)
{
  size_t nt = (size_t) th * tw, plane = (size_t) c * nt;
  for (int co = 0; co < c; co++) {
    const float *mc = m + (size_t) co * nt;
    float *y = out + (size_t) co * ho * wo;
    for (int ty = 0; ty < th; ty++)
      for (int tx = 0; tx < tw; tx++) {
        const float *q = mc + (size_t) ty * tw + tx;
        float r[2][4];
        for (int s = 0; s < 4; s++) {    /* Aᵀ·m */
          float m0 = q[s * plane], m1 = q[(4 + s) * plane];
          float m2 = q[(8 + s) * plane], m3 = q[(12 + s) * plane];
          r[0][s] = m0 + m1 + m2;
          r[1][s] = m1 - m2 - m3;
        }
        int oy = 2 * ty, ox = 2 * tx;
        for (int i = 0; i < 2 && oy + i < ho; i++) {   /* (Aᵀ·m)·A */
          float *row = y + (size_t) (oy + i) * wo + ox;
          row[0] = r[i][0] + r[i][1] + r[i][2];
          if (ox + 1 < wo)
            row[1] = r[i][1] - r[i][2] - r[i][3];
        }
      }
  }
}

void
attn_conv2d_winograd (float *out, const float *in, const float *u,
                      const AttnEpilogue *ep, float *ws, const AttnConv2d *p,
                      int h, int w)
{
  int ho = attn_conv_out_dim (h, 3, 1, p->pad_h, 1);
  int wo = attn_conv_out_dim (w, 3, 1, p->pad_w, 1);
  if (ho <= 0 || wo <= 0)
    return;
  int th = tiles_along (ho), tw = tiles_along (wo), nt = th * tw;
  int ci = p->c_in, co = p->c_out;
  float *v = ws, *m = ws + (size_t) 16 * ci * nt;
  input_transform (v, in, ci, h, w, p->pad_h, p->pad_w, th, tw);
  for (int xi = 0; xi < 16; xi++)
    attn_sgemm (false, false, co, nt, ci, 1.0f, u + (size_t) xi * co * ci, ci,
                v + (size_t) xi * ci * nt, nt, 0.0f, m + (size_t) xi * co * nt,
                nt);
  output_transform (out, m, co, ho, wo, th, tw);
  attn_epilogue_apply (out, ep, 1, co, ho * wo);
}
