//===- WinogradTest.cpp - 3x3 convolutions by Winograd's F(m x m, 3x3) ----===//
//
// Winograd's F(2x2, 3x3) and F(4x4, 3x3) (runtime/cpu/Winograd.h) against
// the convolution in double precision: even and odd output sizes (a last
// row or column of tiles partly outside), filters that fill no whole
// 12-row panel, rows of tiles across 16-lane groups and 32-lane panels,
// two rows of 8 tiles or fewer in one group,
// blocks of several rows, the weight stored K x M, beta 1, a C with padded
// rows; through memc_rt_sgemm_packed_a_window, which takes them for these
// shapes on AVX-512. Cutting the work into shares of rows and of filters
// does not change a bit. Into a padded destination with bias, addend,
// clip and border, the fused call gives bit for bit the unfused product
// finished by hand. A block without buffers computes the definition
// instead. Only 3x3 stride-1 undilated windows of 32 tiles or more, 16
// channels and 16 filters are taken, and F(4x4, 3x3) from 49 tiles of its
// own; the switches and a CPU without AVX-512 turn them off.
//
//===----------------------------------------------------------------------===//

#include "Winograd.h"
#include "PackedGemm.h"
#include "PackedGemmTestUtil.h"
#include "memc_runtime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

namespace {

using memc::test::randomVec;

/// A 3x3 stride-1 convolution at batch 1 over an input that holds its
/// padding: X [c][oh + 2][ow + 2 + extra], W [m][c][3][3] (or [c 3 3][m]).
struct Conv {
  int64_t c, m, oh, ow;
  bool transposedW = false;
  int64_t extra = 0; ///< floats past each input row's end (a wider pitch)
  int64_t padC = 0;  ///< floats past each row of C

  int64_t pitch() const { return ow + 2 + extra; }
  int64_t plane() const { return (oh + 2) * pitch(); }
  int64_t K() const { return c * 9; }
  int64_t N() const { return oh * ow; }
  int64_t ldc() const { return N() + padC; }
  int64_t lda() const { return transposedW ? m : K(); }
  std::vector<int64_t> window() const {
    return {3, 2, 0, c, plane(), 3, pitch(), 3, 1, oh, pitch(), ow, 1};
  }
  float w(const std::vector<float> &W, int64_t f, int64_t k) const {
    return transposedW ? W[size_t(k * m + f)] : W[size_t(f * K() + k)];
  }
  /// The product's (f, j) in double, and the sum of its terms' magnitudes.
  double at(const std::vector<float> &X, const std::vector<float> &W, int64_t f,
            int64_t j, double &magnitude) const {
    double sum = 0;
    magnitude = 0;
    int64_t y = j / ow, x = j % ow;
    for (int64_t ci = 0; ci < c; ++ci)
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t k = 0; k < 3; ++k) {
          double term =
              double(w(W, f, ci * 9 + i * 3 + k)) *
              double(X[size_t(ci * plane() + (y + i) * pitch() + x + k)]);
          sum += term;
          magnitude += std::fabs(term);
        }
    return sum;
  }
  memc::rt::Conv3x3Window geometry() const {
    memc::rt::Conv3x3Window g;
    EXPECT_TRUE(memc::rt::conv3x3Window(window().data(), K(), N(), g));
    return g;
  }
};

bool avx512Here() {
  return memc::rt::packedGemmIsa() == memc::rt::PackedGemmIsa::AVX512;
}

/// `cv` through memc_rt_sgemm_packed_a_window (F(tile x tile, 3x3): the
/// tile winogradTile picks for it, with F(4x4, 3x3) on or off) against the
/// definition: the rounding grows with the transforms' sums, a few units
/// of the terms' magnitude (F(4x4, 3x3)'s, with points 0, +-1 and +-2,
/// measured within 3e-6 of it here).
void checkConv(const Conv &cv, float beta, int tile) {
  SCOPED_TRACE("c=" + std::to_string(cv.c) + " m=" + std::to_string(cv.m) +
               " out=" + std::to_string(cv.oh) + "x" + std::to_string(cv.ow) +
               " beta=" + std::to_string(beta) +
               " tile=" + std::to_string(tile));
  auto X = randomVec(size_t(cv.c * cv.plane()), 61);
  auto W = randomVec(size_t(cv.m * cv.K()), 62);
  auto C0 = randomVec(size_t(cv.m * cv.ldc()), 63);
  if (avx512Here()) {
    EXPECT_EQ(memc::rt::winogradTile(cv.geometry(), cv.m), tile);
  }
  std::vector<int64_t> window = cv.window();
  for (int round = 0; round < 2; ++round) { // transforms W, then reuses it
    std::vector<float> C = C0;
    memc_rt_sgemm_packed_a_window(cv.m, cv.N(), cv.K(), cv.transposedW,
                                  W.data(), cv.lda(), X.data(), window.data(),
                                  beta, C.data(), cv.ldc());
    for (int64_t f = 0; f < cv.m; ++f) {
      for (int64_t j = 0; j < cv.N(); ++j) {
        double magnitude;
        double expect = cv.at(X, W, f, j, magnitude) +
                        beta * double(C0[size_t(f * cv.ldc() + j)]);
        ASSERT_NEAR(C[size_t(f * cv.ldc() + j)], expect, 1e-5 * (1 + magnitude))
            << "filter " << f << " pixel " << j << " round " << round;
      }
      for (int64_t j = cv.N(); j < cv.ldc(); ++j) // C's padding untouched
        ASSERT_EQ(C[size_t(f * cv.ldc() + j)], C0[size_t(f * cv.ldc() + j)]);
    }
  }
  memc::rt::forgetPackedWeights(W.data(), W.size() * sizeof(float));
}

TEST(Winograd, MatchesTheConvolution) {
  // F(2x2, 3x3) only (too few 4x4 tiles to pay). 12x12 outputs: 36
  // tiles, rows of 6 in one group of lanes.
  checkConv({16, 16, 12, 12}, 0.0f, 2);
  // Rows of 8 tiles or fewer go two to a group of lanes: 16 x 16 outputs
  // (the CNN example's layer), and 14 x 14 (7 tiles a row, the next row's
  // in lanes 7-13) with beta 1.
  checkConv({16, 32, 16, 16}, 0.0f, 2);
  checkConv({16, 24, 14, 14}, 1.0f, 2);
  // Odd sizes: the last row and column of tiles hang over the output (and
  // read past the input's last row and column, as zeros).
  checkConv({16, 20, 11, 11}, 0.0f, 2);
  checkConv({24, 40, 9, 13}, 1.0f, 2);
  // Many channels (K blocks of 768 past 85 channels), the weight stored
  // K x M, a wider input pitch, C with padded rows.
  Conv deep{96, 28, 9, 16};
  deep.transposedW = true;
  deep.extra = 3;
  deep.padC = 5;
  checkConv(deep, 1.0f, 2);
  // Both: F(4x4, 3x3) where it pays, F(2x2, 3x3) with it off.
  for (bool four : {true, false}) {
    memc::rt::enableWinograd4x4(four);
    int tile = four ? 4 : 2;
    // 56x56: rows of 28 (14) tiles across two lane groups (one) and
    // panels, blocks of several rows, 64 filters (5 panels and 4 rows);
    // the pool cuts the rows.
    checkConv({16, 64, 56, 56}, 0.0f, tile);
    // 4x4 tiles hanging over the output by 1, 2 and 3 rows or columns
    // (reading up to 3 past the input's last, as zeros); beta 1.
    checkConv({16, 20, 29, 30}, 1.0f, tile);
    checkConv({20, 16, 31, 28}, 0.0f, tile);
    // ResNet-18's 28 x 28 (4x4: rows of 7 tiles, two to a group of
    // lanes, 7 rows: the last group's second row absent).
    checkConv({16, 24, 28, 28}, 1.0f, tile);
    // 16 tiles of a row in one group of lanes and a ragged second one
    // (4x4: 17 tiles a row); the weight stored K x M, padded pitches.
    Conv wide{32, 24, 28, 67};
    wide.transposedW = true;
    wide.extra = 5;
    wide.padC = 3;
    checkConv(wide, 1.0f, tile);
  }
  memc::rt::enableWinograd4x4(true);
}

TEST(Winograd, SharesDoNotChangeTheResult) {
  if (!avx512Here())
    GTEST_SKIP() << "F(2x2, 3x3) runs on AVX-512 only";
  for (int tile : {2, 4})
    for (Conv cv : {Conv{16, 50, 30, 30}, Conv{32, 40, 7, 9}}) {
      auto X = randomVec(size_t(cv.c * cv.plane()), 71);
      auto W = randomVec(size_t(cv.m * cv.K()), 72);
      memc::rt::Conv3x3Window g = cv.geometry();
      std::vector<float> whole(size_t(cv.m * cv.N()));
      ASSERT_TRUE(memc::rt::winogradConv3x3InShares(
          g, cv.m, tile, W.data(), cv.K(), false, X.data(), false, whole.data(),
          cv.N(), nullptr, 1, 1));
      for (auto [rows, filters] : {std::pair<int64_t, int64_t>{2, 1},
                                   {3, 1},
                                   {1, 2},
                                   {1, 3},
                                   {2, 3},
                                   {15, 5}}) {
        std::vector<float> cut(whole.size(), 9.0f);
        ASSERT_TRUE(memc::rt::winogradConv3x3InShares(
            g, cv.m, tile, W.data(), cv.K(), false, X.data(), false, cut.data(),
            cv.N(), nullptr, rows, filters));
        EXPECT_EQ(
            std::memcmp(cut.data(), whole.data(), whole.size() * sizeof(float)),
            0)
            << rows << " shares of rows, " << filters << " of filters, tile "
            << tile;
      }
      memc::rt::forgetPackedWeights(W.data(), W.size() * sizeof(float));
    }
}

TEST(Winograd, EpilogueFinishesTheProductBitForBit) {
  if (!avx512Here())
    GTEST_SKIP() << "F(2x2, 3x3) runs on AVX-512 only";
  // Into planes of (oh + 2) x pitch with a border of one (the next
  // convolution's padding), bias, a residual addend, a clip; beta 0 and 1;
  // F(2x2, 3x3) at 11x14, F(4x4, 3x3) at 29x30.
  for (float beta : {0.0f, 1.0f})
    for (Conv cv : {Conv{16, 26, 11, 14}, Conv{16, 26, 29, 30}}) {
      int64_t M = cv.m, N = cv.N(), pitch = cv.ow + 2,
              ldd = (cv.oh + 2) * pitch;
      auto X = randomVec(size_t(cv.c * cv.plane()), 81);
      auto W = randomVec(size_t(M * cv.K()), 82);
      auto C0 = randomVec(size_t(M * N), 83);
      auto bias = randomVec(size_t(M), 84);
      auto addend = randomVec(size_t(M * N), 85);
      const float lo = 0.0f, hi = 0.6f, pad = -2.0f;
      std::vector<float> product = C0;
      memc::rt::enableWinograd(true);
      memc::rt::Conv3x3Window g = cv.geometry();
      int tile = memc::rt::winogradTile(g, M);
      ASSERT_EQ(tile, cv.oh > 20 ? 4 : 2);
      ASSERT_TRUE(memc::rt::winogradConv3x3(g, M, tile, W.data(), cv.K(), false,
                                            X.data(), beta == 1.0f,
                                            product.data(), N, nullptr));
      std::vector<float> expect(size_t(M * ldd), pad);
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          float v = product[size_t(i * N + j)] + bias[size_t(i)];
          v = addend[size_t(i * N + j)] + v;
          v = std::fmin(std::fmax(v, lo), hi);
          expect[size_t(i * ldd + (j / cv.ow + 1) * pitch + j % cv.ow + 1)] = v;
        }
      std::vector<float> D(expect.size(), 777.0f), C = C0;
      std::vector<int64_t> pads = {1, 1, 1, 1}, window = cv.window();
      memc_rt_sgemm_packed_a_window_ep(
          M, N, cv.K(), 0, W.data(), cv.K(), X.data(), window.data(), beta,
          beta == 1.0f ? C.data() : nullptr, N, bias.data(), addend.data(), N,
          0, 0, lo, hi, D.data() + pitch + 1, ldd, cv.ow, pitch, pads.data(),
          pad);
      for (size_t i = 0; i < D.size(); ++i)
        ASSERT_EQ(std::memcmp(&D[i], &expect[i], sizeof(float)), 0)
            << "at " << i << " got " << D[i] << " want " << expect[i]
            << " beta " << beta;
      EXPECT_EQ(C, C0); // read, not written
      memc::rt::forgetPackedWeights(W.data(), W.size() * sizeof(float));
    }
}

TEST(Winograd, BlocksWithoutBuffersComputeTheDefinition) {
  if (!avx512Here())
    GTEST_SKIP() << "F(2x2, 3x3) runs on AVX-512 only";
  // A block whose buffers cannot be allocated computes its outputs by the
  // definition: plainly into C (beta 0 and 1, cut into shares), and
  // finished by the epilogue into a padded destination with its border.
  for (int tile : {2, 4}) {
    SCOPED_TRACE("tile " + std::to_string(tile));
    Conv cv{16, 26, 11, 14};
    int64_t M = cv.m, N = cv.N();
    auto X = randomVec(size_t(cv.c * cv.plane()), 91);
    auto W = randomVec(size_t(M * cv.K()), 92);
    auto C0 = randomVec(size_t(M * N), 93);
    memc::rt::Conv3x3Window g = cv.geometry();
    for (bool accumulate : {false, true}) {
      std::vector<float> C = C0;
      ASSERT_TRUE(memc::rt::winogradConv3x3InShares(
          g, M, tile, W.data(), cv.K(), false, X.data(), accumulate, C.data(),
          N, nullptr, 2, 2, /*withoutBuffers=*/true));
      for (int64_t f = 0; f < M; ++f)
        for (int64_t j = 0; j < N; ++j) {
          double magnitude;
          double expect = cv.at(X, W, f, j, magnitude) +
                          (accumulate ? double(C0[size_t(f * N + j)]) : 0.0);
          ASSERT_NEAR(C[size_t(f * N + j)], expect, 1e-5 * (1 + magnitude))
              << "filter " << f << " pixel " << j << " accumulate "
              << accumulate;
        }
    }
    auto bias = randomVec(size_t(M), 94);
    int64_t pitch = cv.ow + 2, ldd = (cv.oh + 2) * pitch;
    std::vector<float> D(size_t(M * ldd), 777.0f);
    memc::rt::Epilogue e;
    e.bias = bias.data();
    e.lo = 0.0f;
    e.hi = 0.6f;
    e.d = D.data() + pitch + 1;
    e.ldd = ldd;
    e.width = cv.ow;
    e.pitch = pitch;
    e.padded = true;
    e.padTop = e.padBottom = e.padLeft = e.padRight = 1;
    e.padValue = -2.0f;
    e.n = N;
    ASSERT_TRUE(memc::rt::winogradConv3x3InShares(
        g, M, tile, W.data(), cv.K(), false, X.data(), false, nullptr, N, &e, 1,
        1, /*withoutBuffers=*/true));
    for (int64_t f = 0; f < M; ++f)
      for (int64_t y = 0; y < cv.oh + 2; ++y)
        for (int64_t x = 0; x < pitch; ++x) {
          float got = D[size_t(f * ldd + y * pitch + x)];
          if (y == 0 || y == cv.oh + 1 || x == 0 || x == cv.ow + 1) {
            ASSERT_EQ(got, -2.0f) << "border of filter " << f;
            continue;
          }
          double magnitude;
          double v = cv.at(X, W, f, (y - 1) * cv.ow + x - 1, magnitude) +
                     bias[size_t(f)];
          ASSERT_NEAR(got, std::fmin(std::fmax(v, 0.0), 0.6),
                      1e-5 * (1 + magnitude))
              << "filter " << f << " at " << y << ", " << x;
        }
    memc::rt::forgetPackedWeights(W.data(), W.size() * sizeof(float));
  }
}

TEST(Winograd, TakesOnlyUndilatedStride1ThreeByThree) {
  memc::rt::Conv3x3Window g;
  Conv cv{4, 8, 6, 5};
  std::vector<int64_t> w = cv.window();
  ASSERT_TRUE(memc::rt::conv3x3Window(w.data(), cv.K(), cv.N(), g));
  EXPECT_EQ(g.channels, 4);
  EXPECT_EQ(g.channelStride, cv.plane());
  EXPECT_EQ(g.pitch, cv.pitch());
  EXPECT_EQ(g.outRows, 6);
  EXPECT_EQ(g.outCols, 5);
  EXPECT_FALSE(memc::rt::conv3x3Window(w.data(), cv.K() + 1, cv.N(), g));
  EXPECT_FALSE(memc::rt::conv3x3Window(w.data(), cv.K(), cv.N() - 1, g));
  auto refused = [&](std::vector<int64_t> d) {
    return !memc::rt::conv3x3Window(d.data(), cv.K(), cv.N(), g);
  };
  std::vector<int64_t> stride2 = w, dilated = w, fiveWide = w, strideRows = w;
  stride2[12] = 2;                 // columns 2 apart
  dilated[8] = 2;                  // the kernel's columns 2 apart
  fiveWide[7] = 5;                 // a 3x5 kernel
  strideRows[10] = 2 * cv.pitch(); // rows 2 apart
  EXPECT_TRUE(refused(stride2));
  EXPECT_TRUE(refused(dilated));
  EXPECT_TRUE(refused(fiveWide));
  EXPECT_TRUE(refused(strideRows));
  EXPECT_TRUE(refused({1, 1, 0, 36, 30, 30, 1})); // a 1x1 convolution
}

TEST(Winograd, OffSwitchAndOtherCpusUseTheDirectKernels) {
  Conv cv{16, 16, 12, 12};
  memc::rt::Conv3x3Window g = cv.geometry();
  memc::rt::PackedGemmIsa best = memc::rt::packedGemmIsa();
  EXPECT_EQ(memc::rt::winogradPays(g, 16),
            best == memc::rt::PackedGemmIsa::AVX512);
  memc::rt::enableWinograd(false);
  EXPECT_FALSE(memc::rt::winogradPays(g, 16));
  memc::rt::enableWinograd(true);
  memc::rt::limitPackedGemmIsa(memc::rt::PackedGemmIsa::AVX2);
  EXPECT_FALSE(memc::rt::winogradPays(g, 16));
  memc::rt::limitPackedGemmIsa(best);
  // Too few channels, filters or tiles to pay (7x7 outputs: 16 tiles).
  EXPECT_FALSE(memc::rt::winogradPays(Conv{3, 16, 12, 12}.geometry(), 16));
  EXPECT_FALSE(memc::rt::winogradPays(g, 8));
  EXPECT_FALSE(memc::rt::winogradPays(Conv{512, 16, 7, 7}.geometry(), 512));
  if (best != memc::rt::PackedGemmIsa::AVX512)
    return;
  // F(4x4, 3x3) from 49 tiles of 4x4 outputs (28x28), F(2x2, 3x3) below
  // (14x14: 16) and with it switched off.
  EXPECT_EQ(memc::rt::winogradTile(Conv{64, 64, 28, 28}.geometry(), 64), 4);
  EXPECT_EQ(memc::rt::winogradTile(Conv{64, 64, 24, 28}.geometry(), 64), 2);
  EXPECT_EQ(memc::rt::winogradTile(Conv{256, 256, 14, 14}.geometry(), 256), 2);
  EXPECT_EQ(memc::rt::winogradTile(Conv{512, 16, 7, 7}.geometry(), 512), 0);
  memc::rt::enableWinograd4x4(false);
  EXPECT_EQ(memc::rt::winogradTile(Conv{64, 64, 28, 28}.geometry(), 64), 2);
  memc::rt::enableWinograd4x4(true);
}

} // namespace
