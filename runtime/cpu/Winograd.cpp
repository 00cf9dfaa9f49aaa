//===- Winograd.cpp - 3x3 convolutions by Winograd's F(m x m, 3x3) --------===//
//
// Y = A^T [(G g G^T) . (B^T d B)] A for each 2x2 output tile, with
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
//   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
//   A^T = [1 1 1 0; 0 1 -1 -1],
// or, F(4x4, 3x3), for each 4x4 tile with the 6x6 transforms at
// inputTransform6, transformFilters4x4 and outputTransform6.
// The elementwise products, summed over channels, are 16 (36) GEMMs:
// point xi of the transform multiplies the filters' U[xi] (filters x
// channels) by the input's V[xi] (channels x tiles). A call works through
// blocks of whole rows of tiles: transform the block's input into V
// (written as the packed kernel's 32-column panels), then for a chunk of
// filters at a time a GEMM per point into M[xi], M transformed back into
// the block's output rows, stored as the other kernels store theirs.
//
//===----------------------------------------------------------------------===//

#include "Winograd.h"

#include "AlignedBuffer.h"
#include "PackedGemm.h"
#include "Simd.h"
#include "Switch.h"
#include "ThreadPool.h"

#include <algorithm>

namespace memc::rt {
namespace {

constexpr int64_t kPanel = kPackedPanelWidth;
/// Points of F(2x2, 3x3)'s 4x4 transform, F(4x4, 3x3)'s 6x6 one.
constexpr int kPoints = 16;
constexpr int kPoints4x4 = 36;
/// Tiles per block, about: whole rows of tiles, so that the block's V
/// (16 points; 0.5 MiB for 64 channels) stays in L2 with M's chunk, and
/// 112 tiles fill 3 panels and a half one. F(4x4, 3x3)'s tiles have 36
/// points each: blocks of 14, 21, 28, 35, 56 and 84 tiles measured 0.43,
/// 0.43, 0.45, 0.45, 0.53 and 0.54 ms on ResNet-18's 56 x 56 layer alone
/// (2 threads, medians of 2-3), 0.60, 0.45, 0.44, 0.45, 0.45 and 0.44 on
/// its 28 x 28 one.
constexpr int64_t kBlockTiles = 112;
constexpr int64_t kBlockTiles4x4 = 28;

/// A convolution of fewer flops (counted as the direct product's) runs on
/// the calling thread. Alone, the CNN example's 16 -> 32 layer at 16 x 16
/// (2.4 MFLOP) is faster on 2 threads (13-14 against 15-16 us), but in the
/// model, between max pools on the calling thread, each share read its
/// input from, and left its output in, the other core's cache: the model
/// at 2 threads took 0.050 ms split and 0.047 serial (medians of 10
/// alternating rounds). ResNet-18's smallest such layer is 231 MFLOP.
constexpr double kMinParallelFlops = 4e6;

/// Rows of tiles a thread takes at least when threads share the rows, not
/// the filters. ResNet-18 at 2 threads has 7 rows of tiles at 14 x 14
/// (F(2x2, 3x3)) and at 28 x 28 (F(4x4, 3x3)): shares of 3 and 4 rows
/// took its three 14 x 14 layers from 2.49 to 2.02 ms a run and the
/// 28 x 28 ones from 2.00 to 1.51, where shares of filters each
/// transformed all of the input (with 4 rows a thread, as before).
constexpr int64_t kMinRowsPerThread = 3;

/// Floats of M a block computes at a time (256 KiB; its filters in
/// chunks to fit).
constexpr int64_t kChunkFloats = 64 * 1024;

/// Floats added between transform points' matrices: one cache line.
constexpr int64_t kPointSkew = 16;

/// Fewer tiles than this leave the transformed weights too few uses each
/// to pay for reading them (winogradPays).
constexpr int64_t kMinTiles = 32;
/// The same for F(4x4, 3x3)'s, 4 times the filters' floats (F(2x2,
/// 3x3)'s are 16/9 times): 28x28 outputs make 49 tiles.
constexpr int64_t kMinTiles4x4 = 49;

Switch gWinograd("MEMC_WINOGRAD");
Switch gWinograd4x4("MEMC_WINOGRAD_4X4");

/// PackedA's 12-row panels that hold `filters` filters.
int64_t filterPanels(int64_t filters) {
  return (filters + kPackedPanelHeight - 1) / kPackedPanelHeight;
}

/// Floats of one point's filters, packed as PackedA's 12-row panels.
int64_t pointFloats(int64_t filters, int64_t channels) {
  return filterPanels(filters) * kPackedPanelHeight * channels;
}

/// transform(g, at) for each filter f and channel c: g the 3x3 kernel
/// (g[i][j] at a[f * lda + c * 9 + 3 * i + j], or transposed), `at` the
/// offset of its point in a point's filters, PackedA's 12-row panels.
template <typename T, typename Transform>
void forEachKernel(const float *a, int64_t lda, bool transA, int64_t filters,
                   int64_t channels, Transform transform) {
  for (int64_t f = 0; f < filters; ++f)
    for (int64_t c = 0; c < channels; ++c) {
      T g[3][3];
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) {
          int64_t k = c * 9 + 3 * i + j;
          g[i][j] = transA ? a[k * lda + f] : a[f * lda + k];
        }
      transform(g, f / kPackedPanelHeight * kPackedPanelHeight * channels +
                       c * kPackedPanelHeight + f % kPackedPanelHeight);
    }
}

/// The filters' transform: U[xi] (filters x channels, in PackedA's panels,
/// pointFloats apart) = (G g G^T)[xi] for filter f's channel c, g at
/// a[f * lda + c * 9 + 3 * i + j] (or transposed).
void transformFilters(const float *a, int64_t lda, bool transA, int64_t filters,
                      int64_t channels, float *u) {
  int64_t point = pointFloats(filters, channels);
  std::fill_n(u, kPoints * point, 0.0f);
  forEachKernel<float>(
      a, lda, transA, filters, channels,
      [&](const float(&g)[3][3], int64_t at) {
        float gg[4][3]; // G g
        for (int j = 0; j < 3; ++j) {
          gg[0][j] = g[0][j];
          gg[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
          gg[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
          gg[3][j] = g[2][j];
        }
        for (int i = 0; i < 4; ++i) { // (G g) G^T
          float r[4] = {gg[i][0], 0.5f * (gg[i][0] + gg[i][1] + gg[i][2]),
                        0.5f * (gg[i][0] - gg[i][1] + gg[i][2]), gg[i][2]};
          for (int j = 0; j < 4; ++j)
            u[(4 * i + j) * point + at] = r[j];
        }
      });
}

/// F(4x4, 3x3)'s filter transform, as transformFilters: U[xi] = (G g
/// G^T)[xi] over the 6x6 points, with
///   G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6;
///        1/24 -1/12 1/6; 0 0 1],
/// in double and rounded once (G's sixths are not floats).
void transformFilters4x4(const float *a, int64_t lda, bool transA,
                         int64_t filters, int64_t channels, float *u) {
  static constexpr double G[6][3] = {{0.25, 0, 0},
                                     {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                     {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                     {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                     {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                     {0, 0, 1}};
  int64_t point = pointFloats(filters, channels);
  std::fill_n(u, kPoints4x4 * point, 0.0f);
  forEachKernel<double>(
      a, lda, transA, filters, channels,
      [&](const double(&g)[3][3], int64_t at) {
        double gg[6][3]; // G g
        for (int i = 0; i < 6; ++i)
          for (int j = 0; j < 3; ++j)
            gg[i][j] =
                G[i][0] * g[0][j] + G[i][1] * g[1][j] + G[i][2] * g[2][j];
        for (int i = 0; i < 6; ++i) // (G g) G^T
          for (int j = 0; j < 6; ++j)
            u[(6 * i + j) * point + at] = float(
                gg[i][0] * G[j][0] + gg[i][1] * G[j][1] + gg[i][2] * G[j][2]);
      });
}

/// The geometry of one call: tiles of tile x tile outputs (F(2x2, 3x3)'s
/// or F(4x4, 3x3)'s).
struct Plan {
  Conv3x3Window w;
  int tile;                   ///< outputs of a tile down and across: 2 or 4
  int64_t tileRows, tileCols; ///< tiles down and across

  int points() const { return tile == 4 ? kPoints4x4 : kPoints; }
};

Plan planFor(const Conv3x3Window &w, int tile) {
  return Plan{w, tile, (w.outRows + tile - 1) / tile,
              (w.outCols + tile - 1) / tile};
}

/// Where a group of up to 16 tiles of V goes (lane l: tile t + l): row c
/// of panel t / 32 from lane t % 32, the lanes past the panel's end to
/// the next panel's first lanes.
struct TileLanes {
  float *dst0, *dst1;
  __mmask16 s0, s1;
  __m512i rest; ///< lane l: the group's lane first + l

  MEMC_AVX512 TileLanes(float *v, int64_t panelFloats, int64_t t,
                        int64_t count) {
    int64_t lane = t % kPanel, first = std::min(count, kPanel - lane);
    dst0 = v + t / kPanel * panelFloats + lane;
    dst1 = v + (t / kPanel + 1) * panelFloats;
    s0 = lowLanes(first);
    s1 = lowLanes(count - first);
    rest = _mm512_add_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(int32_t(first)));
  }

  /// The group's lanes of `value` into row `at` (floats from a panel's
  /// start) of their panels.
  MEMC_AVX512 void store(int64_t at, __m512 value) const {
    _mm512_mask_storeu_ps(dst0 + at, s0, value);
    if (s1)
      _mm512_mask_storeu_ps(dst1 + at, s1,
                            _mm512_maskz_permutexvar_ps(s1, rest, value));
  }
};

/// B^T d B of one channel's 16 tiles (lane t: tile t's 4x4 inputs d),
/// into row c of each point's V through `group`.
MEMC_AVX512 inline void storeInputTransform(const __m512 d[4][4],
                                            const TileLanes &group,
                                            int64_t vPoint, int64_t c) {
  __m512 r[4][4]; // B^T d
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    r[0][j] = _mm512_sub_ps(d[0][j], d[2][j]);
    r[1][j] = _mm512_add_ps(d[1][j], d[2][j]);
    r[2][j] = _mm512_sub_ps(d[2][j], d[1][j]);
    r[3][j] = _mm512_sub_ps(d[1][j], d[3][j]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) { // (B^T d) B
    __m512 out[4] = {
        _mm512_sub_ps(r[i][0], r[i][2]), _mm512_add_ps(r[i][1], r[i][2]),
        _mm512_sub_ps(r[i][2], r[i][1]), _mm512_sub_ps(r[i][1], r[i][3])};
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j)
      group.store((4 * i + j) * vPoint + c * kPanel, out[j]);
  }
}

/// Lane l picks float 2l + odd of a row's tiles: lanes [0, first) from
/// the first source, the rest from the second's floats 0, 2, 4, ...
MEMC_AVX512 inline __m512i pickColumns(int64_t first, int odd) {
  alignas(64) int32_t index[16];
  for (int64_t l = 0; l < 16; ++l)
    index[l] = int32_t(l < first ? 2 * l + odd : 16 + 2 * (l - first) + odd);
  return _mm512_load_si512(index);
}

/// V for tile rows [ty0, ty1): V[xi] is channels x tiles, in 32-column
/// panels (PackedB's layout), vPoint floats apart. 16 tiles of a row at a
/// time: each of the 4 input rows' 34 floats split into even and odd
/// columns, so lane t holds tile t's column. Rows of 8 tiles or fewer (16
/// outputs) go two to a group, the second row's tiles in the lanes after
/// the first's: one row alone left half the lanes idle (the CNN example's
/// 16 x 16 layer: 3.3 of its 15 us).
MEMC_AVX512 void transformInput(const Plan &p, const float *x, int64_t ty0,
                                int64_t ty1, float *v, int64_t vPoint) {
  const Conv3x3Window &w = p.w;
  int64_t inRows = w.outRows + 2, inCols = w.outCols + 2;
  int64_t tileCols = p.tileCols;
  auto rowsFrom = [&](int64_t ty) { // input rows of tile row ty's 4
    return std::clamp<int64_t>(inRows - 2 * ty, 0, 4);
  };
  if (tileCols <= 8) {
    const __m512i even = pickColumns(tileCols, 0),
                  odd = pickColumns(tileCols, 1);
    // Floats of a row from column 0, and from column 2 (an odd number of
    // output columns leaves the last tile's last one past the input).
    __mmask16 l0 = lowLanes(std::min<int64_t>(16, inCols)),
              l2 = lowLanes(inCols - 2);
    for (int64_t ty = ty0; ty < ty1; ty += 2) {
      bool second = ty + 1 < ty1;
      TileLanes group(v, w.channels * kPanel, (ty - ty0) * tileCols,
                      second ? 2 * tileCols : tileCols);
      int64_t liveRows = rowsFrom(ty),
              nextLiveRows = second ? rowsFrom(ty + 1) : 0;
      const float *origin = x + w.start + 2 * ty * w.pitch;
      for (int64_t c = 0; c < w.channels; ++c) {
        const float *base = origin + c * w.channelStride;
        __m512 d[4][4];
#pragma GCC unroll 4
        for (int i = 0; i < 4; ++i) {
          const float *row = base + i * w.pitch, *next = row + 2 * w.pitch;
          __mmask16 live = i < liveRows ? 0xFFFF : 0,
                    nextLive = i < nextLiveRows ? 0xFFFF : 0;
          __m512 a = _mm512_maskz_loadu_ps(l0 & live, row);
          __m512 b = _mm512_maskz_loadu_ps(l0 & nextLive, next);
          __m512 a2 = _mm512_maskz_loadu_ps(l2 & live, row + 2);
          __m512 b2 = _mm512_maskz_loadu_ps(l2 & nextLive, next + 2);
          d[i][0] = _mm512_permutex2var_ps(a, even, b);
          d[i][1] = _mm512_permutex2var_ps(a, odd, b);
          d[i][2] = _mm512_permutex2var_ps(a2, even, b2);
          d[i][3] = _mm512_permutex2var_ps(a2, odd, b2);
        }
        storeInputTransform(d, group, vPoint, c);
      }
    }
    return;
  }
  const __m512i even = pickColumns(16, 0), odd = pickColumns(16, 1);
  for (int64_t ty = ty0; ty < ty1; ++ty)
    for (int64_t tx0 = 0; tx0 < tileCols; tx0 += 16) {
      TileLanes group(v, w.channels * kPanel, (ty - ty0) * tileCols + tx0,
                      std::min<int64_t>(16, tileCols - tx0));
      int64_t valid = inCols - 2 * tx0; // floats of a row from column 2 tx0
      __mmask16 l0 = lowLanes(valid), l1 = lowLanes(valid - 16),
                l2 = lowLanes(valid - 2), l3 = lowLanes(valid - 18);
      // Rows past the input's (an odd number of output rows) are zeros:
      // only the dropped outputs read them.
      int64_t liveRows = rowsFrom(ty);
      const float *origin = x + w.start + 2 * ty * w.pitch + 2 * tx0;
      for (int64_t c = 0; c < w.channels; ++c) {
        const float *base = origin + c * w.channelStride;
        __m512 d[4][4];
#pragma GCC unroll 4
        for (int i = 0; i < 4; ++i) {
          const float *row = base + i * w.pitch;
          bool live = i < liveRows;
          __m512 a = _mm512_maskz_loadu_ps(live ? l0 : 0, row);
          __m512 b = _mm512_maskz_loadu_ps(live ? l1 : 0, row + 16);
          __m512 a2 = _mm512_maskz_loadu_ps(live ? l2 : 0, row + 2);
          __m512 b2 = _mm512_maskz_loadu_ps(live ? l3 : 0, row + 18);
          d[i][0] = _mm512_permutex2var_ps(a, even, b);
          d[i][1] = _mm512_permutex2var_ps(a, odd, b);
          d[i][2] = _mm512_permutex2var_ps(a2, even, b2);
          d[i][3] = _mm512_permutex2var_ps(a2, odd, b2);
        }
        storeInputTransform(d, group, vPoint, c);
      }
    }
}

/// Output float q (of 16) of the row whose tiles are in lanes from `first`
/// on of (left, right): tile first + q / 2's left output (q even), or its
/// right one.
MEMC_AVX512 inline __m512i interleaveTiles(int64_t first) {
  alignas(64) int32_t index[16];
  for (int q = 0; q < 16; ++q)
    index[q] = int32_t((q % 2 ? 16 : 0) + first + q / 2);
  return _mm512_load_si512(index);
}

/// The block's outputs from M (M[xi] is filters x tiles, row stride ldm):
/// output rows [2 ty0, 2 ty1) of each filter into y (row stride ldy).
/// Rows of 8 tiles or fewer go two to a group of lanes, as in
/// transformInput.
MEMC_AVX512 void transformOutput(const Plan &p, const float *m, int64_t mPoint,
                                 int64_t ldm, int64_t filters, int64_t ty0,
                                 int64_t ty1, float *y, int64_t ldy) {
  const Conv3x3Window &w = p.w;
  int64_t tileCols = p.tileCols;
  bool paired = tileCols <= 8;
  // Lanes of the group's first row of tiles, and of its second.
  const __m512i low = interleaveTiles(0);
  const __m512i high = interleaveTiles(paired ? tileCols : 8);
  int64_t rowStep = paired ? 2 : 1;
  for (int64_t f = 0; f < filters; ++f)
    for (int64_t ty = ty0; ty < ty1; ty += rowStep)
      for (int64_t tx0 = 0; tx0 < tileCols; tx0 += 16) {
        int64_t t = (ty - ty0) * tileCols + tx0;
        __m512 o[kPoints];
        for (int xi = 0; xi < kPoints; ++xi)
          o[xi] = _mm512_loadu_ps(m + xi * mPoint + f * ldm + t);
        __m512 s[2][4]; // A^T o
        for (int j = 0; j < 4; ++j) {
          s[0][j] = _mm512_add_ps(_mm512_add_ps(o[j], o[4 + j]), o[8 + j]);
          s[1][j] = _mm512_sub_ps(_mm512_sub_ps(o[4 + j], o[8 + j]), o[12 + j]);
        }
        int64_t valid = w.outCols - 2 * tx0; // outputs of the row from 2 tx0
        __mmask16 l0 = lowLanes(valid), l1 = lowLanes(valid - 16);
        float *origin = y + f * ldy + 2 * (ty - ty0) * w.outCols + 2 * tx0;
        for (int i = 0; i < 2; ++i) { // (A^T o) A
          __m512 left = _mm512_add_ps(_mm512_add_ps(s[i][0], s[i][1]), s[i][2]);
          __m512 right =
              _mm512_sub_ps(_mm512_sub_ps(s[i][1], s[i][2]), s[i][3]);
          float *dst = origin + i * w.outCols;
          if (2 * ty + i < w.outRows)
            _mm512_mask_storeu_ps(dst, l0,
                                  _mm512_permutex2var_ps(left, low, right));
          if (!paired)
            _mm512_mask_storeu_ps(dst + 16, 2 * ty + i < w.outRows ? l1 : 0,
                                  _mm512_permutex2var_ps(left, high, right));
          else if (ty + 1 < ty1 && 2 * ty + 2 + i < w.outRows)
            _mm512_mask_storeu_ps(dst + 2 * w.outCols, l0,
                                  _mm512_permutex2var_ps(left, high, right));
        }
      }
}

/// F(4x4, 3x3)'s B^T applied to six values (lane by lane):
///   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
///          0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1].
MEMC_AVX512 inline void inputTransform6(const __m512 d[6], __m512 r[6]) {
  const __m512 two = _mm512_set1_ps(2), four = _mm512_set1_ps(4),
               five = _mm512_set1_ps(5);
  r[0] = _mm512_fmadd_ps(four, d[0], _mm512_fnmadd_ps(five, d[2], d[4]));
  r[1] = _mm512_fnmadd_ps(four, _mm512_add_ps(d[1], d[2]),
                          _mm512_add_ps(d[3], d[4]));
  r[2] = _mm512_fmadd_ps(four, _mm512_sub_ps(d[1], d[2]),
                         _mm512_sub_ps(d[4], d[3]));
  __m512 e = _mm512_sub_ps(d[4], d[2]), f = _mm512_sub_ps(d[3], d[1]);
  r[3] = _mm512_fmadd_ps(two, f, e);
  r[4] = _mm512_fnmadd_ps(two, f, e);
  r[5] = _mm512_fmadd_ps(four, d[1], _mm512_fnmadd_ps(five, d[3], d[5]));
}

/// F(4x4, 3x3)'s A^T applied to six values (lane by lane):
///   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
MEMC_AVX512 inline void outputTransform6(const __m512 o[6], __m512 y[4]) {
  __m512 s12 = _mm512_add_ps(o[1], o[2]), d12 = _mm512_sub_ps(o[1], o[2]);
  __m512 s34 = _mm512_add_ps(o[3], o[4]), d34 = _mm512_sub_ps(o[3], o[4]);
  y[0] = _mm512_add_ps(_mm512_add_ps(o[0], s12), s34);
  y[1] = _mm512_fmadd_ps(_mm512_set1_ps(2), d34, d12);
  y[2] = _mm512_fmadd_ps(_mm512_set1_ps(4), s34, s12);
  y[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8), d34, d12), o[5]);
}

/// transformInput for F(4x4, 3x3): V[xi] over the 6x6 points. 16 tiles of
/// a row at a time: lane t of column j of an input row is float 4t + j,
/// picked from the floats [0, 32) for lanes 0-7 and [32, 64) for lanes
/// 8-15 (columns 4 and 5 as 0 and 1 of the floats from 4 on). Each row's
/// six columns are transformed first, then each column's six rows.
MEMC_AVX512 void transformInput4x4(const Plan &p, const float *x, int64_t ty0,
                                   int64_t ty1, float *v, int64_t vPoint) {
  const Conv3x3Window &w = p.w;
  int64_t tileCols = p.tileCols;
  // Rows of 8 tiles or fewer go two to a group of lanes, as in
  // transformInput: the second row's tiles in the lanes from tileCols on,
  // loaded where a row of 16 tiles has its floats 32-63.
  bool paired = tileCols <= 8;
  int64_t firstLanes = paired ? tileCols : 8;
  __mmask16 secondLanes = __mmask16(~lowLanes(firstLanes));
  __m512i pick[4]; // lane l: float 4l + j of its row's tiles
  for (int j = 0; j < 4; ++j) {
    alignas(64) int32_t index[16];
    for (int64_t l = 0; l < 16; ++l)
      index[l] =
          int32_t((l < firstLanes ? 4 * l : 4 * (l - firstLanes)) + j) & 31;
    pick[j] = _mm512_load_si512(index);
  }
  int64_t inRows = w.outRows + 2, inCols = w.outCols + 2;
  auto rowsFrom = [&](int64_t ty) { // input rows of tile row ty's 6
    return std::clamp<int64_t>(inRows - 4 * ty, 0, 6);
  };
  for (int64_t ty = ty0; ty < ty1; ty += paired ? 2 : 1)
    for (int64_t tx0 = 0; tx0 < tileCols; tx0 += 16) {
      bool second = paired && ty + 1 < ty1;
      TileLanes group(v, w.channels * kPanel, (ty - ty0) * tileCols + tx0,
                      paired ? (second ? 2 * tileCols : tileCols)
                             : std::min<int64_t>(16, tileCols - tx0));
      int64_t valid = inCols - 4 * tx0; // floats of a row from column 4 tx0
      __mmask16 from0[4], from4[4];
      for (int q = 0; q < 4; ++q) {
        int64_t at = 16 * (paired ? q % 2 : q); // paired: q 2, 3 the next row's
        from0[q] = lowLanes(valid - at);
        from4[q] = lowLanes(valid - 4 - at);
      }
      // Rows past the input's (outputs not a multiple of 4) are zeros:
      // only the dropped outputs read them.
      int64_t liveRows = rowsFrom(ty),
              nextLiveRows = second ? rowsFrom(ty + 1) : 0;
      const float *origin = x + w.start + 4 * ty * w.pitch + 4 * tx0;
      for (int64_t c = 0; c < w.channels; ++c) {
        const float *base = origin + c * w.channelStride;
        __m512 h[6][6]; // d B, row by row
#pragma GCC unroll 6
        for (int i = 0; i < 6; ++i) {
          const float *row = base + i * w.pitch;
          bool live = i < liveRows, nextLive = i < nextLiveRows;
          __m512 r0[4], r4[4];
#pragma GCC unroll 4
          for (int q = 0; q < 4; ++q) {
            const float *from = paired
                                    ? row + (q / 2) * 4 * w.pitch + 16 * (q % 2)
                                    : row + 16 * q;
            bool on = paired && q >= 2 ? nextLive : live;
            r0[q] = _mm512_maskz_loadu_ps(on ? from0[q] : 0, from);
            r4[q] = _mm512_maskz_loadu_ps(on ? from4[q] : 0, from + 4);
          }
          auto column = [&](const __m512 *r, int j) MEMC_AVX512 {
            return _mm512_mask_mov_ps(
                _mm512_permutex2var_ps(r[0], pick[j], r[1]), secondLanes,
                _mm512_permutex2var_ps(r[2], pick[j], r[3]));
          };
          __m512 d[6] = {column(r0, 0), column(r0, 1), column(r0, 2),
                         column(r0, 3), column(r4, 0), column(r4, 1)};
          inputTransform6(d, h[i]);
        }
#pragma GCC unroll 6
        for (int j = 0; j < 6; ++j) { // B^T (d B)
          __m512 col[6] = {h[0][j], h[1][j], h[2][j],
                           h[3][j], h[4][j], h[5][j]};
          __m512 out[6];
          inputTransform6(col, out);
#pragma GCC unroll 6
          for (int i = 0; i < 6; ++i)
            group.store((6 * i + j) * vPoint + c * kPanel, out[i]);
        }
      }
    }
}

/// transformOutput for F(4x4, 3x3): output rows [4 ty0, 4 ty1). Each
/// output row's four columns (lane t: tile t's) are interleaved into its
/// 64 floats in two steps: pairs of columns 0 and 1 (and of 2 and 3), then
/// those pairs two by two.
MEMC_AVX512 void transformOutput4x4(const Plan &p, const float *m,
                                    int64_t mPoint, int64_t ldm,
                                    int64_t filters, int64_t ty0, int64_t ty1,
                                    float *y, int64_t ldy) {
  const Conv3x3Window &w = p.w;
  const __m512i low =
      _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i high = _mm512_add_epi32(low, _mm512_set1_epi32(8));
  const __m512i pairsLow = _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11);
  const __m512i pairsHigh = _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15);
  int64_t tileCols = p.tileCols;
  // Rows of 8 tiles or fewer two to a group, as in transformInput4x4: the
  // second row's tiles (from tile tileCols on in M) come into lanes 8-15,
  // whose outputs are floats 32-63 of the interleaved row.
  bool paired = tileCols <= 8;
  for (int64_t f = 0; f < filters; ++f)
    for (int64_t ty = ty0; ty < ty1; ty += paired ? 2 : 1)
      for (int64_t tx0 = 0; tx0 < tileCols; tx0 += 16) {
        int64_t t = (ty - ty0) * tileCols + tx0;
        const float *mt = m + f * ldm + t;
        __m512 s[4][6]; // A^T o, column by column
#pragma GCC unroll 6
        for (int j = 0; j < 6; ++j) {
          __m512 col[6];
#pragma GCC unroll 6
          for (int i = 0; i < 6; ++i) {
            const float *at = mt + (6 * i + j) * mPoint;
            col[i] = _mm512_loadu_ps(at);
            if (paired && tileCols < 8)
              col[i] = _mm512_mask_loadu_ps(col[i], 0xFF00, at + tileCols - 8);
          }
          __m512 out[4];
          outputTransform6(col, out);
          for (int i = 0; i < 4; ++i)
            s[i][j] = out[i];
        }
        int64_t valid = w.outCols - 4 * tx0; // outputs of the row from 4 tx0
        bool second = paired && ty + 1 < ty1;
        for (int i = 0; i < 4 && 4 * ty + i < w.outRows; ++i) { // (A^T o) A
          __m512 c[4];
          outputTransform6(s[i], c);
          __m512d lo01 =
              _mm512_castps_pd(_mm512_permutex2var_ps(c[0], low, c[1]));
          __m512d hi01 =
              _mm512_castps_pd(_mm512_permutex2var_ps(c[0], high, c[1]));
          __m512d lo23 =
              _mm512_castps_pd(_mm512_permutex2var_ps(c[2], low, c[3]));
          __m512d hi23 =
              _mm512_castps_pd(_mm512_permutex2var_ps(c[2], high, c[3]));
          __m512 out[4] = {
              _mm512_castpd_ps(_mm512_permutex2var_pd(lo01, pairsLow, lo23)),
              _mm512_castpd_ps(_mm512_permutex2var_pd(lo01, pairsHigh, lo23)),
              _mm512_castpd_ps(_mm512_permutex2var_pd(hi01, pairsLow, hi23)),
              _mm512_castpd_ps(_mm512_permutex2var_pd(hi01, pairsHigh, hi23))};
          float *dst = y + f * ldy + (4 * (ty - ty0) + i) * w.outCols + 4 * tx0;
          if (!paired) {
            for (int q = 0; q < 4; ++q)
              _mm512_mask_storeu_ps(dst + 16 * q, lowLanes(valid - 16 * q),
                                    out[q]);
            continue;
          }
          for (int q = 0; q < 2; ++q)
            _mm512_mask_storeu_ps(dst + 16 * q, lowLanes(valid - 16 * q),
                                  out[q]);
          if (second && 4 * ty + 4 + i < w.outRows)
            for (int q = 0; q < 2; ++q)
              _mm512_mask_storeu_ps(dst + 4 * w.outCols + 16 * q,
                                    lowLanes(valid - 16 * q), out[2 + q]);
        }
      }
}

/// One call's work. Task t takes share t / filterShares of the rows of
/// tiles and share t % filterShares of the filters (whole panels of 12), a
/// block of about kBlockTiles (kBlockTiles4x4) tiles, whole rows of them,
/// at a time. What a tile's outputs are does not depend on the blocks or
/// the shares.
struct WinogradJob {
  Plan plan;
  int64_t filters, rowShares, filterShares;
  const float *u, *x;
  const float *a; ///< the filters, for plainTask
  int64_t lda;
  bool transA;
  bool accumulate;
  float *c;
  int64_t ldc;
  const Epilogue *epilogue;
  bool withoutBuffers = false; ///< every block by plainTask (tests)

  MEMC_AVX512 void task(int64_t t) {
    const Plan &p = plan;
    int64_t rowShare = t / filterShares, share = t % filterShares;
    int64_t panels = filterPanels(filters);
    int64_t f0 = panels * share / filterShares * kPackedPanelHeight;
    int64_t f1 = std::min(filters, panels * (share + 1) / filterShares *
                                       kPackedPanelHeight);
    int64_t r0 = p.tileRows * rowShare / rowShares;
    int64_t r1 = p.tileRows * (rowShare + 1) / rowShares;
    int64_t blockTiles = p.tile == 4 ? kBlockTiles4x4 : kBlockTiles;
    int64_t blocks = std::max<int64_t>(1, (r1 - r0) * p.tileCols / blockTiles);
    for (int64_t b = 0; b < blocks; ++b)
      block(f0, f1, r0 + (r1 - r0) * b / blocks,
            r0 + (r1 - r0) * (b + 1) / blocks);
  }

  /// Filters [f0, f1) over the tile rows [ty0, ty1).
  MEMC_AVX512 void block(int64_t f0, int64_t f1, int64_t ty0, int64_t ty1) {
    const Plan &p = plan;
    int points = p.points();
    int64_t tiles = (ty1 - ty0) * p.tileCols;
    int64_t panels = (tiles + kPanel - 1) / kPanel;
    int64_t channels = p.w.channels, count = f1 - f0;
    // The points' V and M are a line more than a multiple of 4 KiB
    // apart (which they would be: 64 channels of 4 panels are 32 KiB),
    // or the transforms' 16 streams all fall in one set of L1's.
    int64_t vPoint = panels * kPanel * channels + kPointSkew;
    // M holds a chunk of the share's filters at a time, whole panels of
    // 12, as many as fit kChunkFloats: the block's products, output
    // transform and stores then stay in L2, and so does the buffer.
    int64_t ldm = panels * kPanel;
    int64_t chunk = std::clamp<int64_t>(
        kChunkFloats / (points * ldm) / kPackedPanelHeight * kPackedPanelHeight,
        kPackedPanelHeight, count);
    int64_t mPoint =
        filterPanels(chunk) * kPackedPanelHeight * ldm + kPointSkew;
    int64_t outRows = std::min(p.w.outRows, p.tile * ty1) - p.tile * ty0;
    int64_t ldy = outRows * p.w.outCols;
    thread_local ScratchBuffer vBuffer, mBuffer, yBuffer;
    float *v = vBuffer.get(size_t(points * vPoint));
    // M is read 16 lanes at a time past a ragged row's end.
    float *m = mBuffer.get(size_t(points * mPoint + 16));
    float *y = yBuffer.get(size_t(chunk * ldy));
    if (!v || !m || !y || withoutBuffers) {
      plainTask(f0, f1, ty0, ty1);
      return;
    }
    if (p.tile == 4)
      transformInput4x4(p, x, ty0, ty1, v, vPoint);
    else
      transformInput(p, x, ty0, ty1, v, vPoint);
    int64_t point = pointFloats(filters, channels);
    for (int64_t g0 = f0; g0 < f1; g0 += chunk) {
      int64_t g1 = std::min(f1, g0 + chunk);
      for (int xi = 0; xi < points; ++xi)
        packedProduct(PackedA{filters, channels, u + xi * point},
                      g0 / kPackedPanelHeight, filterPanels(g1),
                      PackedB{channels, tiles, v + xi * vPoint},
                      m + xi * mPoint, ldm);
      if (p.tile == 4)
        transformOutput4x4(p, m, mPoint, ldm, g1 - g0, ty0, ty1, y, ldy);
      else
        transformOutput(p, m, mPoint, ldm, g1 - g0, ty0, ty1, y, ldy);
      finishProduct(y, ldy, g0, g1 - g0, p.tile * ty0 * p.w.outCols, ldy, c,
                    ldc, accumulate, epilogue);
    }
  }

  /// The task's outputs by the definition, one at a time, when there is
  /// no memory for the buffers.
  void plainTask(int64_t f0, int64_t f1, int64_t ty0, int64_t ty1) const {
    const Conv3x3Window &w = plan.w;
    int64_t channels = w.channels;
    int64_t j0 = plan.tile * ty0 * w.outCols;
    int64_t j1 = std::min(w.outRows, plan.tile * ty1) * w.outCols;
    for (int64_t f = f0; f < f1; ++f) {
      for (int64_t j = j0; j < j1; ++j) {
        const float *origin =
            x + w.start + j / w.outCols * w.pitch + j % w.outCols;
        float sum = 0;
        for (int64_t ch = 0; ch < channels; ++ch)
          for (int i = 0; i < 3; ++i)
            for (int k = 0; k < 3; ++k) {
              int64_t kk = ch * 9 + 3 * i + k;
              float g = transA ? a[kk * lda + f] : a[f * lda + kk];
              sum += g * origin[ch * w.channelStride + i * w.pitch + k];
            }
        float value = accumulate ? c[f * ldc + j] + sum : sum;
        if (epilogue)
          epilogue->apply(f, j, value);
        else
          c[f * ldc + j] = value;
      }
      if (epilogue)
        epilogue->fillBorder(f, j0, j1 - j0);
    }
  }

  static void run(const void *self, int64_t t) {
    const_cast<WinogradJob *>(static_cast<const WinogradJob *>(self))->task(t);
  }
};

} // namespace

bool conv3x3Window(const int64_t *window, int64_t K, int64_t N,
                   Conv3x3Window &conv) {
  if (window[0] != 3 || window[1] != 2)
    return false;
  const int64_t *k = window + 3, *n = window + 9;
  // channels x 3 rows x 3 columns of the input; output rows x columns,
  // one pixel apart each way.
  if (k[2] != 3 || k[4] != 3 || k[5] != 1 || n[1] != k[3] || n[3] != 1)
    return false;
  conv.channels = k[0];
  conv.channelStride = k[1];
  conv.pitch = k[3];
  conv.outRows = n[0];
  conv.outCols = n[2];
  conv.start = window[2];
  return conv.channels > 0 && conv.outRows > 0 && conv.outCols > 0 &&
         conv.channels * 9 == K && conv.outRows * conv.outCols == N;
}

/// Measured on ResNet-18's 3x3 convolutions (one thread, ms, alone /
/// within the model): 64 channels at 56x56 1.07 against 1.53 direct, 128
/// at 28x28 0.94 against 1.44, 256 at 14x14 0.99 against 1.52. At 7x7 (16
/// tiles, 512 channels) it is faster alone (1.20 against 1.57) and slower
/// in the model, 2.2 ms over its three such layers: there the weights come
/// from memory on every inference, and the transformed ones are 16/9 as
/// many floats, each used by only 16 tiles.
bool winogradPays(const Conv3x3Window &conv, int64_t filters) {
  if (!gWinograd.on() || packedGemmIsa() != PackedGemmIsa::AVX512)
    return false;
  int64_t tiles = (conv.outRows + 1) / 2 * ((conv.outCols + 1) / 2);
  return filters >= 16 && conv.channels >= 16 && tiles >= kMinTiles;
}

int winogradTile(const Conv3x3Window &conv, int64_t filters) {
  if (!winogradPays(conv, filters))
    return 0;
  int64_t tiles4x4 = (conv.outRows + 3) / 4 * ((conv.outCols + 3) / 4);
  return gWinograd4x4.on() && tiles4x4 >= kMinTiles4x4 ? 4 : 2;
}

namespace {

/// winogradConv3x3 in rowShares x filterShares tasks, on the pool when
/// there is one and more than one task.
bool runWinograd(const Conv3x3Window &conv, int64_t filters, const float *a,
                 int64_t lda, bool transA, const float *x, bool accumulate,
                 float *c, int64_t ldc, const Epilogue *epilogue, int tile,
                 int64_t rowShares, int64_t filterShares, ThreadPool *pool,
                 bool withoutBuffers = false) {
  int64_t channels = conv.channels;
  Plan plan = planFor(conv, tile);
  const float *u = transformedWeight(
      a, filters, channels * 9, lda, transA, tile,
      size_t(plan.points() * pointFloats(filters, channels)), [&](float *dst) {
        if (tile == 4)
          transformFilters4x4(a, lda, transA, filters, channels, dst);
        else
          transformFilters(a, lda, transA, filters, channels, dst);
      });
  if (!u)
    return false;
  WinogradJob job;
  job.plan = plan;
  job.filters = filters;
  job.rowShares = std::clamp<int64_t>(rowShares, 1, job.plan.tileRows);
  job.filterShares =
      std::clamp<int64_t>(filterShares, 1, filterPanels(filters));
  job.u = u;
  job.x = x;
  job.a = a;
  job.lda = lda;
  job.transA = transA;
  job.accumulate = accumulate;
  job.c = c;
  job.ldc = ldc;
  job.epilogue = epilogue;
  job.withoutBuffers = withoutBuffers;
  int64_t tasks = job.rowShares * job.filterShares;
  if (pool && tasks > 1)
    pool->run(tasks, &WinogradJob::run, &job);
  else
    for (int64_t t = 0; t < tasks; ++t)
      job.task(t);
  return true;
}

} // namespace

bool winogradConv3x3(const Conv3x3Window &conv, int64_t filters, int tile,
                     const float *a, int64_t lda, bool transA, const float *x,
                     bool accumulate, float *c, int64_t ldc,
                     const Epilogue *epilogue) {
  // A share of the rows of tiles per thread where there are rows enough
  // to go round (kMinRowsPerThread each), else a share of the filters,
  // each share then transforming all of the input (which costs little
  // beside the products there: few tiles, many channels and filters).
  ThreadPool *pool = ThreadPool::get();
  int64_t threads = pool ? pool->participants() : 1;
  double directFlops = 2.0 * double(filters) * double(conv.channels * 9) *
                       double(conv.outRows * conv.outCols);
  if (directFlops < kMinParallelFlops)
    threads = 1;
  bool byRows = (conv.outRows + tile - 1) / tile >= kMinRowsPerThread * threads;
  return runWinograd(conv, filters, a, lda, transA, x, accumulate, c, ldc,
                     epilogue, tile, byRows ? threads : 1, byRows ? 1 : threads,
                     pool);
}

bool winogradConv3x3InShares(const Conv3x3Window &conv, int64_t filters,
                             int tile, const float *a, int64_t lda, bool transA,
                             const float *x, bool accumulate, float *c,
                             int64_t ldc, const Epilogue *epilogue,
                             int64_t rowShares, int64_t filterShares,
                             bool withoutBuffers) {
  return runWinograd(conv, filters, a, lda, transA, x, accumulate, c, ldc,
                     epilogue, tile, rowShares, filterShares, nullptr,
                     withoutBuffers);
}

void enableWinograd(bool on) { gWinograd.allow(on); }

void enableWinograd4x4(bool on) { gWinograd4x4.allow(on); }

} // namespace memc::rt
