//===- WindowGemmTest.cpp - memc_rt_sgemm_packed_a_window vs a naive conv -===//
//
// Convolutions through memc_rt_sgemm_packed_a_window, checked against
// direct loops over the padded input: strides 1 and 2, dilation, 1x1 and
// 7x7 kernels, output rows that wrap inside a 16-column half (two runs per
// load), output rows of 32 and 16 pixels (read in place), ragged column
// panels, K across the kernel's K blocks, 7x7 outputs
// of many filters (the transposed product), K from 257 to 1152 (the
// direct product, nothing packed per call); beta 0 and 1; every kernel
// version this CPU runs; the path that copies the im2col
// matrix instead (fewer than 16 columns, beta 0.5; also MEMC_PACKED_WEIGHTS
// =0) gives the same numbers. A descriptor that does not cover K x N leaves C
// alone. Also: the window path and im2col + memc_rt_sgemm_packed_a agree
// bit for bit, and splits over threads do not change results (run with
// MEMC_NUM_THREADS=1/2/3). These are the direct and packed kernels'
// tests: Winograd's F(2x2, 3x3), which takes 3x3 stride-1 windows on
// AVX-512, is off here (WinogradTest.cpp tests it).
//
//===----------------------------------------------------------------------===//

#include "PackedGemm.h"
#include "PackedGemmTestUtil.h"
#include "Winograd.h"
#include "memc_runtime.h"

#include <gtest/gtest.h>

#include <vector>

namespace {

using memc::test::isasHere;
using memc::test::randomVec;

/// A 2-D convolution at batch 1 over an input that already holds its
/// padding: X [c][h][w], W [m][c][r][s] (or [c r s][m] when transposed),
/// Y [m][oh][ow] with row stride ldc.
struct Conv {
  int64_t c, m, h, w, r, s, stride, dilation;
  bool transposedW = false;
  int64_t padC = 0; ///< extra elements per row of C

  int64_t oh() const { return (h - dilation * (r - 1) - 1) / stride + 1; }
  int64_t ow() const { return (w - dilation * (s - 1) - 1) / stride + 1; }
  int64_t K() const { return c * r * s; }
  int64_t N() const { return oh() * ow(); }
  int64_t ldc() const { return N() + padC; }

  /// The descriptor memc emits: K as (c, r, s), N as (oh, ow).
  std::vector<int64_t> window() const {
    return {3, 2,        0,    c,          h * w, r,     dilation * w,
            s, dilation, oh(), stride * w, ow(),  stride};
  }
  float x(const std::vector<float> &X, int64_t k, int64_t j) const {
    int64_t ci = k / (r * s), ri = k / s % r, si = k % s;
    int64_t oi = j / ow(), oj = j % ow();
    return X[size_t((ci * h + oi * stride + ri * dilation) * w + oj * stride +
                    si * dilation)];
  }
};

/// Keeps F(2x2, 3x3) off while it lives.
struct WithoutWinograd {
  WithoutWinograd() { memc::rt::enableWinograd(false); }
  ~WithoutWinograd() { memc::rt::enableWinograd(true); }
};

void runConv(const Conv &cv, float beta, const char *what) {
  WithoutWinograd directKernels;
  int64_t M = cv.m, N = cv.N(), K = cv.K(), ldc = cv.ldc();
  int64_t lda = cv.transposedW ? M : K;
  auto X = randomVec(size_t(cv.c * cv.h * cv.w), 21);
  auto W = randomVec(size_t(M * K), 22);
  auto C = randomVec(size_t(M * ldc), 23);
  std::vector<float> expect = C;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k)
        acc += double(cv.transposedW ? W[k * M + i] : W[i * K + k]) *
               double(cv.x(X, k, j));
      float &out = expect[size_t(i * ldc + j)];
      out = float(acc + beta * out);
    }
  std::vector<int64_t> window = cv.window();
  for (int round = 0; round < 2; ++round) { // packs W, then reuses it
    std::vector<float> out = C;
    memc_rt_sgemm_packed_a_window(M, N, K, cv.transposedW, W.data(), lda,
                                  X.data(), window.data(), beta, out.data(),
                                  ldc);
    for (size_t i = 0; i < out.size(); ++i)
      ASSERT_NEAR(out[i], expect[i], 1e-4 * (1 + double(K)))
          << what << ": at " << i << " round " << round << " c=" << cv.c
          << " m=" << M << " h=" << cv.h << " w=" << cv.w << " r=" << cv.r
          << " s=" << cv.s << " stride=" << cv.stride
          << " dilation=" << cv.dilation << " beta=" << beta;
  }
  memc::rt::forgetPackedWeights(W.data(), W.size() * sizeof(float));
}

TEST(WindowGemm, ConvolutionsOnEveryKernelVersion) {
  memc::rt::PackedGemmIsa best = memc::rt::packedGemmIsa();
  for (memc::rt::PackedGemmIsa isa : isasHere()) {
    SCOPED_TRACE("kernel version " + std::to_string(int(isa)));
    memc::rt::limitPackedGemmIsa(isa);
    // 3x3 stride 1 on 10-wide rows: 16-column halves span two rows. The
    // filters' last panel holds 1, 4, 2 or 8 rows (each its own tile).
    for (int64_t m : {13, 16, 26, 20})
      runConv({4, m, 10, 10, 3, 3, 1, 1}, 0.0f, "3x3");
    // Stride 2 (gathers), a 7x7 kernel, K = 3 * 49 across no K block.
    runConv({3, 12, 23, 23, 7, 7, 2, 1}, 0.0f, "7x7/2");
    // 1x1 stride 2, K = 300 across the 256 K block; beta 1.
    runConv({300, 5, 9, 9, 1, 1, 2, 1}, 1.0f, "1x1/2");
    // Dilation 2, a non-square input, C padded, ragged panels (N = 6 x 5).
    Conv dilated{6, 25, 10, 9, 3, 3, 1, 2};
    dilated.padC = 3;
    runConv(dilated, 0.0f, "dilated");
    // The weight stored K x M.
    Conv transposed{5, 14, 8, 8, 3, 3, 1, 1};
    transposed.transposedW = true;
    runConv(transposed, 1.0f, "transposed weight");
    // 7x7 outputs (49 of 64 lanes) of 64 or 48 filters: computed as C^T
    // on AVX-512 (packedGemmAT). 12 pixels span two or three output rows
    // (masked loads), stride 2 gathers them; K = 810 across the 768 K
    // block; beta 1; the weight stored K x M.
    runConv({8, 64, 9, 9, 3, 3, 1, 1}, 0.0f, "7x7 outputs");
    runConv({4, 48, 15, 15, 3, 3, 2, 1}, 1.0f, "7x7 outputs, stride 2");
    runConv({90, 32, 9, 9, 3, 3, 1, 1}, 1.0f, "7x7 outputs, K = 810");
    Conv transposed49{5, 40, 9, 9, 3, 3, 1, 1};
    transposed49.transposedW = true;
    transposed49.padC = 5;
    runConv(transposed49, 0.0f, "7x7 outputs, transposed weight");
    // K from 257 to 1152 and 128 pixels or more: on AVX-512,
    // windowGemmDirect, nothing packed per call. 40 filters (a last panel
    // of 8), 12-pixel tiles across 12-pixel rows and a ragged last one;
    // stride 2; K = 1152 in five K blocks with beta 1.
    runConv({32, 40, 14, 14, 3, 3, 1, 1}, 0.0f, "direct, 3x3");
    runConv({32, 24, 27, 27, 3, 3, 2, 1}, 1.0f, "direct, stride 2");
    Conv deep{128, 20, 14, 13, 3, 3, 1, 1};
    deep.padC = 2;
    runConv(deep, 1.0f, "direct, K = 1152");
    // Output rows of 32 or 16 pixels at stride 1: each 16-column half of
    // a panel is one run of the input, read in place (nothing packed). 3
    // channels of 32 x 32 (the CNN example's first layer), 16-pixel rows
    // with beta 1, three of them (a last panel of one run, 16 columns),
    // and K = 576 across the 256 K blocks.
    runConv({3, 16, 34, 34, 3, 3, 1, 1}, 0.0f, "in place, 32-pixel rows");
    runConv({8, 20, 18, 18, 3, 3, 1, 1}, 1.0f, "in place, 16-pixel rows");
    runConv({6, 13, 5, 18, 3, 3, 1, 1}, 0.0f, "in place, a 16-column panel");
    Conv wide{64, 12, 4, 34, 3, 3, 1, 1};
    wide.padC = 3;
    runConv(wide, 1.0f, "in place, K = 576");
  }
  memc::rt::limitPackedGemmIsa(best);
}

TEST(WindowGemm, PlainPathsGiveTheSameNumbers) {
  // Fewer than 16 columns and beta 0.5: the im2col copy and a plain GEMM.
  runConv({4, 7, 5, 5, 3, 3, 1, 1}, 0.0f, "9 columns");
  runConv({4, 13, 10, 10, 3, 3, 1, 1}, 0.5f, "beta 0.5");
  // MEMC_PACKED_WEIGHTS=0: the same, for windows the kernels would take.
  memc::rt::enablePackedWeights(false);
  runConv({4, 16, 10, 10, 3, 3, 1, 1}, 0.0f, "3x3, packed weights off");
  runConv({300, 5, 9, 9, 1, 1, 2, 1}, 1.0f, "1x1/2, packed weights off");
  memc::rt::enablePackedWeights(true);
}

TEST(WindowGemm, AgreesBitForBitWithIm2colAndSplits) {
  // Large enough for the pool: cut along columns (58 x 58 outputs), and
  // along rows (a 7x7 image, 2 panels of columns, many rows of A); the
  // last (K = 360, two K blocks) is a direct product on AVX-512.
  WithoutWinograd directKernels;
  for (Conv cv :
       {Conv{16, 40, 60, 60, 3, 3, 1, 1}, Conv{64, 200, 9, 9, 3, 3, 1, 1},
        Conv{40, 24, 30, 30, 3, 3, 1, 1}, Conv{8, 24, 34, 34, 3, 3, 1, 1}}) {
    int64_t M = cv.m, N = cv.N(), K = cv.K();
    auto X = randomVec(size_t(cv.c * cv.h * cv.w), 31);
    auto W = randomVec(size_t(M * K), 32);
    std::vector<float> im2col(size_t(K * N));
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < N; ++j)
        im2col[size_t(k * N + j)] = cv.x(X, k, j);
    std::vector<float> viaCopy(size_t(M * N)), viaWindow(size_t(M * N), 7.0f);
    memc_rt_sgemm_packed_a(1, 0, 0, M, N, K, 1.0f, W.data(), K, 0,
                           im2col.data(), N, 0, 0.0f, viaCopy.data(), N, 0);
    std::vector<int64_t> window = cv.window();
    memc_rt_sgemm_packed_a_window(M, N, K, 0, W.data(), K, X.data(),
                                  window.data(), 0.0f, viaWindow.data(), N);
    EXPECT_EQ(viaCopy, viaWindow) << "M=" << M << " N=" << N << " K=" << K;
    memc::rt::forgetPackedWeights(W.data(), W.size() * sizeof(float));
  }
}

TEST(WindowGemm, MismatchedDescriptorLeavesCAlone) {
  Conv cv{2, 3, 6, 6, 3, 3, 1, 1};
  auto X = randomVec(size_t(cv.c * cv.h * cv.w), 41);
  auto W = randomVec(size_t(cv.m * cv.K()), 42);
  std::vector<float> C(size_t(cv.m * cv.N()), 5.0f);
  std::vector<int64_t> window = cv.window();
  // K one too many for the descriptor.
  memc_rt_sgemm_packed_a_window(cv.m, cv.N(), cv.K() + 1, 0, W.data(),
                                cv.K() + 1, X.data(), window.data(), 0.0f,
                                C.data(), cv.N());
  for (float v : C)
    ASSERT_EQ(v, 5.0f);
}

} // namespace
