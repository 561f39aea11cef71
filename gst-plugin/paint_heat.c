/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* paint_heat.c — the heat map's per-pixel loops: interpolating the map,
 * colour index and alpha per pixel, and the blend into each layout. The
 * build compiles this file once per instruction set (-DPAINT_ISA=generic,
 * avx2 with -march=x86-64-v3, avx512 with -march=x86-64-v4), so the same
 * loops vectorise 4, 8 or 16 floats wide; paint.c calls the variant
 * attn_cpu_isa() names. The picture is the same whichever runs (the
 * arithmetic is exact in bytes, and the float steps round the same:
 * test_paint compares every variant with a reference painter). */
#include "paint-private.h"

#include "parallel.h"

#include <string.h>

#ifndef PAINT_ISA
#define PAINT_ISA generic
#endif
#define PAINT_CAT2(a, b) a##_##b
#define PAINT_CAT(a, b) PAINT_CAT2 (a, b)

#define MIN(a, b) ((a) < (b) ? (a) : (b))

static inline uint8_t
blend8 (uint8_t dst, int c, int a)
{
  return (uint8_t) (dst + (((c - dst) * a + 128) >> 8));
}

/* With AVX-512 or AVX2 (VEC_LANES), whole rows run in registers, 16 or 8
 * pixels at a time (the fused rows below), one 32-bit lane per pixel; the
 * lookups are exact, so every variant still paints the same bytes. Each
 * instruction set supplies the same few operations on VecI, and the rows
 * are written once on top of them. */
#if defined(__AVX512F__) && defined(__AVX512BW__)
#include <immintrin.h>
#define VEC_LANES 16
typedef __m512i VecI;
#define V_SET1(x) _mm512_set1_epi32 (x)
#define V_AND(x, y) _mm512_and_si512 (x, y)
#define V_OR(x, y) _mm512_or_si512 (x, y)
#define V_SRLI(x, n) _mm512_srli_epi32 (x, n)
#define V_SLLI(x, n) _mm512_slli_epi32 (x, n)
/* each 32-bit lane's low byte in all four of its bytes */
#define V_SPREAD(x) _mm512_shuffle_epi8 (x, _mm512_broadcast_i32x4 \
    (_mm_setr_epi32 (0, 0x04040404, 0x08080808, 0x0c0c0c0c)))

/* The colour map's 256 words (lut32) in 16 registers. */
typedef struct {
  __m512i t[16];
} Lut;

static inline void
lut_load (Lut *l, const uint32_t *lut32)
{
  for (int k = 0; k < 16; k++)
    l->t[k] = _mm512_loadu_si512 ((const void *) (lut32 + 16 * k));
}

/* lut32[i] for 16 indices 0..255: vpermt2d picks from a pair of registers
 * (32 words) by the index's low 5 bits, then bits 5, 6 and 7 choose among
 * the eight pairs' results. A gather (vpgatherdd) took about twice as
 * long, half the painter's time. */
static inline __m512i
lut_lookup (const Lut *l, __m512i i)
{
  __mmask16 b5 = _mm512_test_epi32_mask (i, _mm512_set1_epi32 (32));
  __mmask16 b6 = _mm512_test_epi32_mask (i, _mm512_set1_epi32 (64));
  __mmask16 b7 = _mm512_test_epi32_mask (i, _mm512_set1_epi32 (128));
  __m512i r[4];
  for (int j = 0; j < 4; j++) {
    __m512i lo = _mm512_permutex2var_epi32 (l->t[4 * j], i, l->t[4 * j + 1]);
    __m512i hi = _mm512_permutex2var_epi32 (l->t[4 * j + 2], i,
        l->t[4 * j + 3]);
    r[j] = _mm512_mask_mov_epi32 (lo, b5, hi);
  }
  return _mm512_mask_mov_epi32 (_mm512_mask_mov_epi32 (r[0], b6, r[1]), b7,
      _mm512_mask_mov_epi32 (r[2], b6, r[3]));
}

/* blend8 on 16-bit lanes holding bytes: vpmulhrsw rounds (x·a + 2¹⁴) >> 15,
 * which for x = (c − dst)·128 is blend8's ((c − dst)·a + 128) >> 8. Also
 * right for bytes in 32-bit lanes: their low halves come out right, and
 * the high halves stay 0. */
static inline __m512i
blend_lanes (__m512i dst, __m512i c, __m512i a)
{
  __m512i x = _mm512_slli_epi16 (_mm512_sub_epi16 (c, dst), 7);
  return _mm512_add_epi16 (dst, _mm512_mulhrs_epi16 (x, a));
}

/* 16 bytes or 16-bit words to and from the lanes (stores keep each lane's
 * low byte or word: the values fit) */
static inline __m512i
load_u8 (const uint8_t *s)
{
  return _mm512_cvtepu8_epi32 (_mm_loadu_si128 ((const void *) s));
}

static inline void
store_u8 (uint8_t *d, __m512i v)
{
  _mm_storeu_si128 ((void *) d, _mm512_cvtepi32_epi8 (v));
}

static inline __m512i
load_u16 (const uint8_t *s)
{
  return _mm512_cvtepu16_epi32 (_mm256_loadu_si256 ((const void *) s));
}

static inline void
store_u16 (uint8_t *d, __m512i v)
{
  _mm256_storeu_si256 ((void *) d, _mm512_cvtepi32_epi16 (v));
}

static inline __m512i
load_pixels4 (const uint8_t *s)
{
  return _mm512_loadu_si512 ((const void *) s);
}

/* a vector's bytes as 16-bit lanes: the low or high 8 bytes (h = 0, 1)
 * of each 128-bit block, and back (the values fit a byte). vpackuswb packs
 * within the blocks, as the unpacks took them apart, so the bytes come
 * back in order with no lane crossing; widening whole halves (vpmovzxbw)
 * and packing them back took longer (a 1080p BGRx frame on 1 thread,
 * attn-bench: 0.95–0.98 → 0.86–0.88 ms, and with AVX2 1.54–1.59 →
 * 1.37–1.49 ms) */
static inline __m512i
widen_half (__m512i v, int h)
{
  return h ? _mm512_unpackhi_epi8 (v, _mm512_setzero_si512 ())
      : _mm512_unpacklo_epi8 (v, _mm512_setzero_si512 ());
}

static inline __m512i
narrow_halves (__m512i lo, __m512i hi)
{
  return _mm512_packus_epi16 (lo, hi);
}

static inline void
store_pixels4 (uint8_t *d, __m512i v)
{
  _mm512_storeu_si512 ((void *) d, v);
}

/* heat_pixel's colour index and alpha for the 16 pixels from p0, p1 as
 * 32-bit lanes (max and min return their second operand for NaN, as
 * heat_pixel's comparisons do) */
static inline void
heat_lanes (const float *p0, const float *p1, float wy, float op, VecI *i,
            VecI *a)
{
  const __m512 k255 = _mm512_set1_ps (255.0f);
  __m512 a0 = _mm512_loadu_ps (p0), a1 = _mm512_loadu_ps (p1);
  __m512 v = _mm512_add_ps (a0, _mm512_mul_ps (_mm512_sub_ps (a1, a0),
          _mm512_set1_ps (wy)));
  v = _mm512_min_ps (_mm512_max_ps (v, _mm512_setzero_ps ()),
      _mm512_set1_ps (1.0f));
  *i = _mm512_cvttps_epi32 (_mm512_add_ps (_mm512_mul_ps (v, k255),
          _mm512_set1_ps (0.5f)));
  *a = _mm512_cvttps_epi32 (_mm512_min_ps (_mm512_mul_ps (v,
              _mm512_set1_ps (op)), k255));
}

#elif defined(__AVX2__)
#include <immintrin.h>
#define VEC_LANES 8
typedef __m256i VecI;
#define V_SET1(x) _mm256_set1_epi32 (x)
#define V_AND(x, y) _mm256_and_si256 (x, y)
#define V_OR(x, y) _mm256_or_si256 (x, y)
#define V_SRLI(x, n) _mm256_srli_epi32 (x, n)
#define V_SLLI(x, n) _mm256_slli_epi32 (x, n)
#define V_SPREAD(x) _mm256_shuffle_epi8 (x, _mm256_setr_epi32 (0, \
    0x04040404, 0x08080808, 0x0c0c0c0c, 0, 0x04040404, 0x08080808, \
    0x0c0c0c0c))

/* AVX2 has too few registers to hold the colour map (32 of 8 words). But
 * the heat map is smooth: 8 neighbouring pixels' indices nearly always lie
 * within 8 of the lesser of the first and the last (the row is monotonic
 * between the map's columns), and then one load of those 8 words and a
 * vpermd look them up (a 1080p BGRx frame: 2.2 → 1.6 ms). Otherwise (an
 * index below that base or 8 past it: the unsigned test) a gather does, 8
 * words at a time. */
typedef struct {
  const int *t;
} Lut;

static inline void
lut_load (Lut *l, const uint32_t *lut32)
{
  l->t = (const int *) lut32;
}

static inline __m256i
lut_lookup (const Lut *l, __m256i i)
{
  int f0 = _mm256_cvtsi256_si32 (i), f7 = _mm256_extract_epi32 (i, 7);
  int base = f0 < f7 ? f0 : f7;
  base = base < 248 ? base : 248;
  __m256i d = _mm256_sub_epi32 (i, _mm256_set1_epi32 (base));
  __m256i k7 = _mm256_set1_epi32 (7);
  if (_mm256_movemask_ps (_mm256_castsi256_ps (_mm256_cmpeq_epi32
              (_mm256_min_epu32 (d, k7), d))) == 0xff)
    return _mm256_permutevar8x32_epi32 (_mm256_loadu_si256 ((const void *)
            (l->t + base)), d);
  return _mm256_i32gather_epi32 (l->t, i, 4);
}

/* blend8 on 16-bit lanes holding bytes, as in the AVX-512 build */
static inline __m256i
blend_lanes (__m256i dst, __m256i c, __m256i a)
{
  __m256i x = _mm256_slli_epi16 (_mm256_sub_epi16 (c, dst), 7);
  return _mm256_add_epi16 (dst, _mm256_mulhrs_epi16 (x, a));
}

/* 8 bytes or 16-bit words to and from the lanes; the stores narrow with
 * unsigned saturation, exact for the values that reach them */
static inline __m256i
load_u8 (const uint8_t *s)
{
  return _mm256_cvtepu8_epi32 (_mm_loadl_epi64 ((const void *) s));
}

static inline void
store_u8 (uint8_t *d, __m256i v)
{
  __m128i w = _mm_packus_epi32 (_mm256_castsi256_si128 (v),
      _mm256_extracti128_si256 (v, 1));
  _mm_storel_epi64 ((void *) d, _mm_packus_epi16 (w, w));
}

static inline __m256i
load_u16 (const uint8_t *s)
{
  return _mm256_cvtepu16_epi32 (_mm_loadu_si128 ((const void *) s));
}

static inline void
store_u16 (uint8_t *d, __m256i v)
{
  _mm_storeu_si128 ((void *) d, _mm_packus_epi32 (_mm256_castsi256_si128 (v),
          _mm256_extracti128_si256 (v, 1)));
}

static inline __m256i
load_pixels4 (const uint8_t *s)
{
  return _mm256_loadu_si256 ((const void *) s);
}

/* as in the AVX-512 build */
static inline __m256i
widen_half (__m256i v, int h)
{
  return h ? _mm256_unpackhi_epi8 (v, _mm256_setzero_si256 ())
      : _mm256_unpacklo_epi8 (v, _mm256_setzero_si256 ());
}

static inline __m256i
narrow_halves (__m256i lo, __m256i hi)
{
  return _mm256_packus_epi16 (lo, hi);
}

static inline void
store_pixels4 (uint8_t *d, __m256i v)
{
  _mm256_storeu_si256 ((void *) d, v);
}

/* the planar layouts' byte-table lookups, 32 samples at a time (below) */
#define BYTE_LANES 32

/* heat_pixel for the 8 pixels from p0, p1, as in the AVX-512 build */
static inline void
heat_lanes (const float *p0, const float *p1, float wy, float op, VecI *i,
            VecI *a)
{
  const __m256 k255 = _mm256_set1_ps (255.0f);
  __m256 a0 = _mm256_loadu_ps (p0), a1 = _mm256_loadu_ps (p1);
  __m256 v = _mm256_add_ps (a0, _mm256_mul_ps (_mm256_sub_ps (a1, a0),
          _mm256_set1_ps (wy)));
  v = _mm256_min_ps (_mm256_max_ps (v, _mm256_setzero_ps ()),
      _mm256_set1_ps (1.0f));
  *i = _mm256_cvttps_epi32 (_mm256_add_ps (_mm256_mul_ps (v, k255),
          _mm256_set1_ps (0.5f)));
  *a = _mm256_cvttps_epi32 (_mm256_min_ps (_mm256_mul_ps (v,
              _mm256_set1_ps (op)), k255));
}
#else
#define VEC_LANES 0
#endif

#if VEC_LANES
/* the bytes of VEC_LANES 4-byte pixels blended byte by byte (blend8) as two
 * halves of 16-bit lanes, and stored */
static inline void
blend_store_bytes (uint8_t *row, VecI d, VecI c, VecI a4)
{
  VecI lo = blend_lanes (widen_half (d, 0), widen_half (c, 0),
      widen_half (a4, 0));
  VecI hi = blend_lanes (widen_half (d, 1), widen_half (c, 1),
      widen_half (a4, 1));
  store_pixels4 (row, narrow_halves (lo, hi));
}
#endif

#ifdef BYTE_LANES
/* A gather is slow for the planar layouts' one byte per sample. There a
 * byte of the colour map (the luma, Cb or Cr) is looked up 32 samples at
 * a time with vpshufb instead, from 16 tables of 16 bytes: table k answers
 * where the index's high nibble is k. Adding 0x70 with saturation to
 * index ⊕ 16·k leaves the low nibble and sets bit 7, which makes vpshufb
 * answer 0, unless the high nibbles are equal. */
typedef struct {
  __m256i t[16];
} ByteLut;

/* from one of the painter's lut_planes */
static inline void
byte_lut_load (ByteLut *b, const uint8_t *table)
{
  for (int k = 0; k < 16; k++)
    b->t[k] = _mm256_broadcastsi128_si256 (_mm_loadu_si128
        ((const void *) (table + 16 * k)));
}

static inline __m256i
byte_lut_lookup (const ByteLut *b, __m256i i)
{
  const __m256i k70 = _mm256_set1_epi8 (0x70);
  __m256i r = _mm256_setzero_si256 ();
  for (int k = 0; k < 16; k++) {
    __m256i c = _mm256_adds_epu8 (_mm256_xor_si256 (i,
            _mm256_set1_epi8 ((char) (16 * k))), k70);
    r = _mm256_or_si256 (r, _mm256_shuffle_epi8 (b->t[k], c));
  }
  return r;
}

/* four vectors of 8 lanes holding bytes as 32 bytes, in order */
static inline __m256i
pack_bytes (const __m256i v[4])
{
  __m256i b = _mm256_packus_epi16 (_mm256_packus_epi32 (v[0], v[1]),
      _mm256_packus_epi32 (v[2], v[3]));
  return _mm256_permutevar8x32_epi32 (b,
      _mm256_setr_epi32 (0, 4, 1, 5, 2, 6, 3, 7));
}

/* the even bytes of the 64 from s, in order */
static inline __m256i
even_bytes (const uint8_t *s)
{
  const __m256i lo8 = _mm256_set1_epi16 (0xff);
  __m256i a = _mm256_and_si256 (lo8, _mm256_loadu_si256 ((const void *) s));
  __m256i b = _mm256_and_si256 (lo8,
      _mm256_loadu_si256 ((const void *) (s + 32)));
  return _mm256_permute4x64_epi64 (_mm256_packus_epi16 (a, b), 0xd8);
}

/* chroma_heat_row's pairs [x, x + 2·BYTE_LANES), x even and ≥ xa, as
 * chroma_heat_vec's, the Cb and Cr looked up from byte tables */
static inline void
chroma_bytes (const ByteLut *bu, const ByteLut *bv, const uint8_t *ix,
              const uint8_t *al, int x, uint8_t *u, uint8_t *v, int cs)
{
  __m256i i = even_bytes (ix + x), a = even_bytes (al + x);
  __m256i cu = byte_lut_lookup (bu, i), cv = byte_lut_lookup (bv, i);
  int k = (x / 2) * cs;
  if (cs == 1) {
    blend_store_bytes (u + k, _mm256_loadu_si256 ((void *) (u + k)), cu, a);
    blend_store_bytes (v + k, _mm256_loadu_si256 ((void *) (v + k)), cv, a);
    return;
  }
  /* NV12: Cb and Cr interleaved, each pair's alpha twice; vpunpck works
   * within 128-bit lanes, vperm2i128 puts the halves in order */
  __m256i c0 = _mm256_unpacklo_epi8 (cu, cv), c1 = _mm256_unpackhi_epi8 (cu, cv);
  __m256i a0 = _mm256_unpacklo_epi8 (a, a), a1 = _mm256_unpackhi_epi8 (a, a);
  uint8_t *d = u + k;
  blend_store_bytes (d, _mm256_loadu_si256 ((void *) d),
      _mm256_permute2x128_si256 (c0, c1, 0x20),
      _mm256_permute2x128_si256 (a0, a1, 0x20));
  blend_store_bytes (d + 32, _mm256_loadu_si256 ((void *) (d + 32)),
      _mm256_permute2x128_si256 (c0, c1, 0x31),
      _mm256_permute2x128_si256 (a0, a1, 0x31));
}
#endif


static void
packed_heat_row (const Painter *p, const PaintFrame *fr, int y, int xa, int xb)
{
  const int ps = p->fmt.pixel_stride, o0 = p->fmt.r, o1 = p->fmt.g,
      o2 = p->fmt.b;
  const uint8_t (*lut)[3] = p->lut;
  const uint8_t *restrict ix = p->idx, *restrict al = p->alpha;
  uint8_t *restrict row = fr->plane[0] + (size_t) y * fr->stride[0];
  for (int x = xa; x < xb; x++) {
    const uint8_t *c = lut[ix[x]];
    int a = al[x];
    uint8_t *px = row + x * ps;
    px[o0] = blend8 (px[o0], c[0], a);
    px[o1] = blend8 (px[o1], c[1], a);
    px[o2] = blend8 (px[o2], c[2], a);
  }
}


/* 4-byte packed RGB: one 32-bit gather of the colour in the frame's byte
 * order, then a byte blend that vectorises; the padding/alpha byte is
 * blended with alpha 0, which leaves it as it was. */
static void
packed4_heat_row (const Painter *p, const PaintFrame *fr, int y, int xa,
                  int xb)
{
  const uint32_t *lut = p->lut32;
  const uint8_t *restrict ix = p->idx, *restrict al = p->alpha;
  uint32_t *restrict col = p->col32;
  uint8_t *restrict a4 = p->alpha4;
  const uint8_t m0 = p->mask[0], m1 = p->mask[1], m2 = p->mask[2],
      m3 = p->mask[3];
  for (int x = xa; x < xb; x++) {
    col[x] = lut[ix[x]];
    a4[4 * x + 0] = al[x] & m0;
    a4[4 * x + 1] = al[x] & m1;
    a4[4 * x + 2] = al[x] & m2;
    a4[4 * x + 3] = al[x] & m3;
  }
  uint8_t *restrict row = fr->plane[0] + (size_t) y * fr->stride[0];
  const uint8_t *restrict src = (const uint8_t *) col;
  const int ka = 4 * xa, kb = 4 * xb;
#pragma omp simd
  for (int k = ka; k < kb; k++)
    row[k] = (uint8_t) (row[k] + (((src[k] - row[k]) * a4[k] + 128) >> 8));
}


/* packed4's rows with every byte blended (alpha as a colour of 255), so
 * one alpha per pixel */
static void
canvas_heat_row (const Painter *p, const PaintFrame *fr, int y, int xa,
                 int xb)
{
  const uint32_t *lut = p->lut32;
  const uint8_t *restrict ix = p->idx, *restrict al = p->alpha;
  uint32_t *restrict col = p->col32;
  for (int x = xa; x < xb; x++)
    col[x] = lut[ix[x]];
  uint8_t *restrict row = fr->plane[0] + (size_t) y * fr->stride[0];
  const uint8_t *restrict src = (const uint8_t *) col;
#pragma omp simd
  for (int x = xa; x < xb; x++) {
    int a = al[x];
    for (int c = 0; c < 4; c++)
      row[4 * x + c] = blend8 (row[4 * x + c], src[4 * x + c], a);
  }
}


/* the LUT lookup alone (a gather), then a blend the compiler vectorises */
static inline void
luma_heat_row (const Painter *p, const PaintFrame *fr, int y, int xa, int xb)
{
  const uint8_t (*lut)[3] = p->lut;
  uint8_t *restrict ix = p->idx;
  const uint8_t *restrict al = p->alpha;
  uint8_t *restrict row = fr->plane[0] + (size_t) y * fr->stride[0];
  for (int x = xa; x < xb; x++)
    ix[x] = lut[ix[x]][0];
#pragma omp simd
  for (int x = xa; x < xb; x++)
    row[x] = (uint8_t) (row[x] + (((ix[x] - row[x]) * al[x] + 128) >> 8));
}

static void
gray_heat_row (const Painter *p, const PaintFrame *fr, int y, int xa, int xb)
{
  luma_heat_row (p, fr, y, xa, xb);
}


#if VEC_LANES
/* chroma_heat_row's pairs [x, x + 2·VEC_LANES) (VEC_LANES samples from
 * k = x/2·cs on), x even and ≥ xa: I420's separate planes (cs = 1) or
 * NV12's interleaved pairs (cs = 2, v = u + 1) */
static inline void
chroma_heat_vec (const Lut *lut, const uint8_t *ix, const uint8_t *al,
                 int x, uint8_t *u, uint8_t *v, int cs)
{
  const VecI lo8 = V_SET1 (0xff);
  /* the even pixels' index and alpha: the low bytes of 16-bit pairs */
  VecI i = V_AND (lo8, load_u16 (ix + x));
  VecI a = V_AND (lo8, load_u16 (al + x));
  VecI c = lut_lookup (lut, i);
  VecI cu = V_AND (lo8, V_SRLI (c, 8));
  VecI cv = V_AND (lo8, V_SRLI (c, 16));
  int k = (x / 2) * cs;
  if (cs == 1) {
    store_u8 (u + k, blend_lanes (load_u8 (u + k), cu, a));
    store_u8 (v + k, blend_lanes (load_u8 (v + k), cv, a));
  } else {
    VecI uv = load_u16 (u + k);
    VecI ru = blend_lanes (V_AND (lo8, uv), cu, a);
    VecI rv = blend_lanes (V_SRLI (uv, 8), cv, a);
    store_u16 (u + k, V_OR (ru, V_SLLI (rv, 8)));
  }
}
#endif

/* One chroma sample k, for the pair whose left covered pixel is xs */
static inline void
chroma_pair (const Painter *p, int xs, int k, uint8_t *u, uint8_t *v)
{
  const uint8_t *c = p->lut[p->idx[xs]];
  int a = p->alpha[xs];
  u[k] = blend8 (u[k], c[1], a);
  v[k] = blend8 (v[k], c[2], a);
}

/* One row's chroma, before the luma pass replaces the colour indices: one
 * sample per 2 pixels (cs bytes apart), at the pair's left covered pixel.
 * (u and v may be one interleaved row: no restrict.) */
static inline void
chroma_heat_row (const Painter *p, int xa, int xb, uint8_t *u, uint8_t *v,
                 int cs)
{
  int x = xa & ~1;
  if (x < xa && x < xb) {       /* a pair that starts left of the row */
    chroma_pair (p, xa, (x / 2) * cs, u, v);
    x += 2;
  }
#ifdef BYTE_LANES
  if (cs <= 2 && x + 2 * BYTE_LANES <= xb) {
    ByteLut bu, bv;
    byte_lut_load (&bu, p->lut_planes[1]);
    byte_lut_load (&bv, p->lut_planes[2]);
    for (; x + 2 * BYTE_LANES <= xb; x += 2 * BYTE_LANES)
      chroma_bytes (&bu, &bv, p->idx, p->alpha, x, u, v, cs);
  }
#endif
#if VEC_LANES
  if (cs <= 2 && x + 2 * VEC_LANES <= xb) {
    Lut l;
    lut_load (&l, p->lut32);
    for (; x + 2 * VEC_LANES <= xb; x += 2 * VEC_LANES)
      chroma_heat_vec (&l, p->idx, p->alpha, x, u, v, cs);
  }
#endif
  for (; x < xb; x += 2)
    chroma_pair (p, x, (x / 2) * cs, u, v);
}

/* 4:2:0 (I420, NV12): chroma on even rows, for the 2×2 block's top-left
 * heat; nothing for other layouts */
static void
yuv420_chroma_row (const Painter *p, const PaintFrame *fr, int y, int xa,
                   int xb)
{
  if (y & 1)
    return;
  uint8_t *c1 = fr->plane[1] + (size_t) (y / 2) * fr->stride[1];
  if (p->fmt.layout == PAINT_I420)
    chroma_heat_row (p, xa, xb, c1,
        fr->plane[2] + (size_t) (y / 2) * fr->stride[2], 1);
  else if (p->fmt.layout == PAINT_NV12)
    chroma_heat_row (p, xa, xb, c1, c1 + 1, 2);
}

static void
yuv420_heat_row (const Painter *p, const PaintFrame *fr, int y, int xa,
                 int xb)
{
  yuv420_chroma_row (p, fr, y, xa, xb);
  luma_heat_row (p, fr, y, xa, xb);
}


/* chroma first, on every row (4 bytes per pair), then the luma */
static void
yuv422_heat_row (const Painter *p, const PaintFrame *fr, int y, int xa, int xb)
{
  const uint8_t (*lut)[3] = p->lut;
  const uint8_t *ix = p->idx, *al = p->alpha;
  uint8_t *row = fr->plane[0] + (size_t) y * fr->stride[0];
  int yo, uo, vo;
  offsets_422 (p, &yo, &uo, &vo);
  chroma_heat_row (p, xa, xb, row + uo, row + vo, 4);
  for (int x = xa; x < xb; x++) {
    uint8_t *py = row + 2 * x + yo;
    *py = blend8 (*py, lut[ix[x]][0], al[x]);
  }
}


/* A pixel's colour index and alpha from the two interpolated map rows:
 * v = (v0 + (v1 − v0)·wy) clamped to 0..1 (NaN → 0), index round(255·v),
 * alpha min(255, v·op) — alpha grows with attention so unattended areas
 * stay clear. */
static inline void
heat_pixel (float v0, float v1, float wy, float op, uint8_t *ix, uint8_t *al)
{
  float v = v0 + (v1 - v0) * wy;
  v = v > 0.0f ? v : 0.0f;
  v = v < 1.0f ? v : 1.0f;
  *ix = (uint8_t) (v * 255.0f + 0.5f);
  float a = v * op;
  *al = (uint8_t) (a < 255.0f ? a : 255.0f);
}

#if VEC_LANES
/* The luma plane's row (and on even rows a 4:2:0 frame's chroma) in one
 * pass: heat_lanes, the luma looked up (lut_lookup) and blended in
 * registers. The indices and alphas are kept for the chroma. */
static void
luma_fused_row (const Painter *p, const PaintFrame *fr, int y, int xa,
                int xb, const float *restrict p0, const float *restrict p1,
                float wy, float op)
{
  uint8_t *restrict ix = p->idx, *restrict al = p->alpha;
  uint8_t *restrict row = fr->plane[0] + (size_t) y * fr->stride[0];
  const VecI lo8 = V_SET1 (0xff);
  Lut l;
  lut_load (&l, p->lut32);
  int x = xa;
#ifdef BYTE_LANES
  if (x + BYTE_LANES <= xb) {
    ByteLut bl;
    byte_lut_load (&bl, p->lut_planes[0]);
    for (; x + BYTE_LANES <= xb; x += BYTE_LANES) {
      VecI i[4], a[4];
      for (int q = 0; q < 4; q++)
        heat_lanes (p0 + x + 8 * q, p1 + x + 8 * q, wy, op, &i[q], &a[q]);
      __m256i ib = pack_bytes (i), ab = pack_bytes (a);
      _mm256_storeu_si256 ((void *) (ix + x), ib);
      _mm256_storeu_si256 ((void *) (al + x), ab);
      blend_store_bytes (row + x, _mm256_loadu_si256 ((void *) (row + x)),
          byte_lut_lookup (&bl, ib), ab);
    }
  }
#endif
  for (; x + VEC_LANES <= xb; x += VEC_LANES) {
    VecI i, a;
    heat_lanes (p0 + x, p1 + x, wy, op, &i, &a);
    store_u8 (ix + x, i);
    store_u8 (al + x, a);
    VecI c = V_AND (lo8, lut_lookup (&l, i));
    store_u8 (row + x, blend_lanes (load_u8 (row + x), c, a));
  }
  for (; x < xb; x++) {
    heat_pixel (p0[x], p1[x], wy, op, &ix[x], &al[x]);
    row[x] = blend8 (row[x], p->lut[ix[x]][0], al[x]);
  }
  yuv420_chroma_row (p, fr, y, xa, xb);
}

/* The 4-byte layouts' row (packed RGB with a padding byte, or the ARGB
 * canvas) in one pass: heat_lanes, the colour words looked up, and the
 * pixels' bytes blended with each pixel's alpha on the bytes of p->mask
 * (the others blend with alpha 0, which leaves them). */
static void
packed4_fused_row (const Painter *p, const PaintFrame *fr, int y, int xa,
                   int xb, const float *restrict p0, const float *restrict p1,
                   float wy, float op)
{
  uint8_t *restrict ix = p->idx, *restrict al = p->alpha;
  uint8_t *restrict row = fr->plane[0] + (size_t) y * fr->stride[0];
  uint32_t mw;
  memcpy (&mw, p->mask, 4);
  const VecI mask = V_SET1 ((int) mw);
  Lut l;
  lut_load (&l, p->lut32);
  int x = xa;
  for (; x + VEC_LANES <= xb; x += VEC_LANES) {
    VecI i, a;
    heat_lanes (p0 + x, p1 + x, wy, op, &i, &a);
    VecI c = lut_lookup (&l, i);
    /* each pixel's alpha in its four bytes, masked */
    VecI a4 = V_AND (mask, V_SPREAD (a));
    blend_store_bytes (row + 4 * x, load_pixels4 (row + 4 * x), c, a4);
  }
  for (; x < xb; x++) {
    heat_pixel (p0[x], p1[x], wy, op, &ix[x], &al[x]);
    const uint8_t *c = (const uint8_t *) &p->lut32[ix[x]];
    for (int b = 0; b < 4; b++)
      row[4 * x + b] = blend8 (row[4 * x + b], c[b], al[x] & p->mask[b]);
  }
}
#endif

typedef struct {
  const Painter *p;
  const PaintFrame *fr;
  const PaintMap *m;
  float lo, scale, opacity;
  int band_rows;
  void (*heat_row) (const Painter *, const PaintFrame *, int, int, int);
  /* with AVX-512 or AVX2, for the layouts it takes: the whole row in one
   * pass */
  void (*fused_row) (const Painter *, const PaintFrame *, int, int, int,
                     const float *, const float *, float, float);
} HeatRun;

/* Rows [y0 + band·band_rows, …) of the heat map with the band's scratch. */
static void
heat_band (void *ctx, int band)
{
  const HeatRun *r = ctx;
  const PaintMap *m = r->m;
  const PaintHeatPlan *t = &r->p->plan;
  size_t w = (size_t) r->p->width, k = (size_t) band;
  Painter bp = *r->p;           /* the band's own row scratch */
  bp.band0 += k * w;
  bp.band1 += k * w;
  bp.idx += k * w;
  bp.alpha += k * w;
  bp.col32 += k * w;
  bp.alpha4 += k * 4 * w;
  const Painter *p = &bp;
  float lo = r->lo, scale = r->scale;
  float *h0 = bp.band0, *h1 = bp.band1;
  int band_r0 = -1;
  void (*heat_row) (const Painter *, const PaintFrame *, int, int, int) =
      r->heat_row;
  int ya = t->y0 + band * r->band_rows;
  int yb = ya + r->band_rows < t->y1 ? ya + r->band_rows : t->y1;
  for (int y = ya; y < yb; y++) {
    int r0 = p->r0[y], r1 = MIN (r0 + 1, m->rows - 1);
    if (r0 != band_r0) {
      /* the two map rows this band of pixel rows lies between, interpolated
       * along x once: the map changes every few dozen rows, not every row */
      const float *top = m->data + (size_t) r0 * m->cols;
      const float *bot = m->data + (size_t) r1 * m->cols;
      for (int x = t->x0; x < t->x1; x++) {
        int c0 = p->c0[x], c1 = MIN (c0 + 1, m->cols - 1);
        float wx = p->cw[x];
        h0[x] = ((top[c0] + (top[c1] - top[c0]) * wx) - lo) * scale;
        h1[x] = ((bot[c0] + (bot[c1] - bot[c0]) * wx) - lo) * scale;
      }
      band_r0 = r0;
    }
    float wy = p->rw[y], op = r->opacity * 256.0f;
    /* locals and restrict: the byte stores below may not alias these */
    const int xa = t->x0, xb = t->x1;
    const float *restrict p0 = h0, *restrict p1 = h1;
    uint8_t *restrict ix = bp.idx, *restrict al = bp.alpha;
#if VEC_LANES
    if (r->fused_row) {
      r->fused_row (p, r->fr, y, xa, xb, p0, p1, wy, op);
      continue;
    }
#endif
#pragma omp simd
    for (int x = xa; x < xb; x++)
      heat_pixel (p0[x], p1[x], wy, op, &ix[x], &al[x]);
    heat_row (p, r->fr, y, xa, xb);
  }
}


void
PAINT_CAT (paint_heat_rows, PAINT_ISA) (PAINT_HEAT_ROWS_ARGS)
{
  const PaintHeatPlan *t = &p->plan;
  void (*heat_row) (const Painter *, const PaintFrame *, int, int, int);
  switch (p->fmt.layout) {
    case PAINT_PACKED:
      heat_row = p->fmt.pixel_stride == 4 ? packed4_heat_row : packed_heat_row;
      break;
    case PAINT_ARGB_CANVAS:
      heat_row = canvas_heat_row;
      break;
    case PAINT_I420:
    case PAINT_NV12:
      heat_row = yuv420_heat_row;
      break;
    case PAINT_YUY2:
    case PAINT_UYVY:
      heat_row = yuv422_heat_row;
      break;
    case PAINT_GRAY8:
    default:
      heat_row = gray_heat_row;
      break;
  }
  /* bands of rows, each with its own row scratch, over the calling
   * thread's budget; rows are independent (4:2:0 chroma belongs to the
   * even row above it), so the picture does not depend on the split */
  int rows = t->y1 - t->y0;
  if (rows < 1)
    return;
  int bands = attn_parallel_pieces (rows, attn_parallel_threads (),
      PAINT_BANDS);
  HeatRun r = { p, fr, m, lo, scale, opacity, (rows + bands - 1) / bands,
    heat_row, NULL
  };
#if VEC_LANES
  if (heat_row == yuv420_heat_row || heat_row == gray_heat_row)
    r.fused_row = luma_fused_row;
  else if (heat_row == packed4_heat_row || heat_row == canvas_heat_row)
    r.fused_row = packed4_fused_row;
#endif
  attn_parallel_for ((rows + r.band_rows - 1) / r.band_rows, heat_band, &r);
}
