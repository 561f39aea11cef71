/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* colormap.c — turbo and inferno from their published polynomial fits
 * (turbo: degree 5, inferno: degree 6, coefficients as published with the
 * maps' approximations), jet's classic piecewise-linear ramps, gray. */
#include "colormap.h"

#include <math.h>

static uint8_t
to_byte (double v)
{
  v = v < 0 ? 0 : v > 1 ? 1 : v;
  return (uint8_t) lround (v * 255.0);
}

/* Horner: c[0] + t·(c[1] + t·(… c[n−1])) */
static double
poly (const double *c, int n, double t)
{
  double v = c[n - 1];
  for (int i = n - 2; i >= 0; i--)
    v = c[i] + t * v;
  return v;
}

void
attn_colormap_lut (AttnColormap cm, uint8_t lut[256][3])
{
  static const double turbo[3][6] = {
    {0.13572138, 4.61539260, -42.66032258, 132.13108234, -152.94239396,
        59.28637943},
    {0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857,
        2.82956604},
    {0.10667330, 12.64194608, -60.58204836, 110.36276771, -89.90310912,
        27.34824973},
  };
  static const double inferno[3][7] = {
    {0.0002189403691192265, 0.1065134194856116, 11.60249308247187,
        -41.70399613139459, 77.162935699427, -71.31942824499214,
        25.13112622477341},
    {0.001651004631001012, 0.5639564367884091, -3.972853965665698,
        17.43639888205313, -33.40235894210092, 32.62606426397723,
        -12.24266895238567},
    {-0.01948089843709184, 3.932712388889277, -15.9423941062914,
        44.35414519872813, -81.80730925738993, 73.20951985803202,
        -23.07032500287172},
  };
  for (int i = 0; i < 256; i++) {
    double t = i / 255.0;
    for (int c = 0; c < 3; c++) {
      double v;
      switch (cm) {
        case ATTN_COLORMAP_TURBO:
          v = poly (turbo[c], 6, t);
          break;
        case ATTN_COLORMAP_INFERNO:
          v = poly (inferno[c], 7, t);
          break;
        case ATTN_COLORMAP_JET:
          /* red peaks at 3/4, green at 1/2, blue at 1/4 */
          v = 1.5 - fabs (4.0 * t - (3 - c));
          break;
        default:
          v = t;
          break;
      }
      lut[i][c] = to_byte (v);
    }
  }
}
