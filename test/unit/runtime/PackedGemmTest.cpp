//===- PackedGemmTest.cpp - memc_rt_sgemm_packed_b against a naive GEMM ---===//
//
// The packed path's shapes: row counts on every tile size and its tails, N
// on and off the 32-column panels, K across the kernel's K blocks, B
// transposed or not, padded leading dimensions, batches sharing one B or
// each with its own; beta = 0 and 1; the arguments it hands back to the
// plain GEMM (transposed A, other alpha and beta). Also the cache: one
// packed copy per weight, reused, and dropped by forgetPackedWeights; and
// results that do not depend on how C's panels are split over threads, nor
// on K summed in halves by two threads. Run it with MEMC_NUM_THREADS=1/2/3
// to force each schedule.
//
//===----------------------------------------------------------------------===//

#include "PackedGemm.h"
#include "PackedGemmTestUtil.h"
#include "memc_runtime.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace {

using memc::test::isasHere;
using memc::test::randomVec;

using memc::rt::forgetPackedWeights;
using memc::rt::packedWeightBytes;

struct Case {
  int64_t batch, M, N, K;
  bool ta, tb;
  int64_t pad;  ///< extra elements per row of A, B and C
  bool shared;  ///< the weight's batch stride is 0
  float alpha, beta;
  bool left = false; ///< A is the weight (memc_rt_sgemm_packed_a)
};

void runCase(const Case &c) {
  int64_t rowsA = c.ta ? c.K : c.M, colsA = c.ta ? c.M : c.K;
  int64_t rowsB = c.tb ? c.N : c.K, colsB = c.tb ? c.K : c.N;
  int64_t lda = colsA + c.pad, ldb = colsB + c.pad, ldc = c.N + c.pad;
  bool sharedA = c.shared && c.left, sharedB = c.shared && !c.left;
  int64_t sA = sharedA ? 0 : rowsA * lda, sB = sharedB ? 0 : rowsB * ldb;
  int64_t sC = c.M * ldc;
  auto A = randomVec(size_t(sharedA ? rowsA * lda : sA * c.batch), 11);
  auto B = randomVec(size_t(sharedB ? rowsB * ldb : sB * c.batch), 12);
  auto C = randomVec(size_t(sC * c.batch), 13);
  std::vector<float> expect = C;
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t i = 0; i < c.M; ++i)
      for (int64_t j = 0; j < c.N; ++j) {
        double acc = 0;
        for (int64_t k = 0; k < c.K; ++k) {
          float a = c.ta ? A[b * sA + k * lda + i] : A[b * sA + i * lda + k];
          float v = c.tb ? B[b * sB + j * ldb + k] : B[b * sB + k * ldb + j];
          acc += double(a) * double(v);
        }
        float &out = expect[b * sC + i * ldc + j];
        out = c.beta == 0.0f ? float(c.alpha * acc)
                             : float(c.alpha * acc + c.beta * out);
      }
  // Twice: the first call packs B, the second reuses the packed copy.
  for (int round = 0; round < 2; ++round) {
    std::vector<float> out = C;
    auto gemm = c.left ? memc_rt_sgemm_packed_a : memc_rt_sgemm_packed_b;
    gemm(c.batch, c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, sA,
         B.data(), ldb, sB, c.beta, out.data(), ldc, sC);
    // Everything, padding included: the padding must be left untouched.
    for (size_t i = 0; i < out.size(); ++i)
      ASSERT_NEAR(out[i], expect[i], 1e-4 * (1 + double(c.K)))
          << "at " << i << " round " << round << " batch=" << c.batch
          << " M=" << c.M << " N=" << c.N << " K=" << c.K << " ta=" << c.ta
          << " tb=" << c.tb << " pad=" << c.pad << " beta=" << c.beta
          << " left=" << c.left;
  }
  // The weight's storage is freed next: its address may come back.
  forgetPackedWeights(A.data(), A.size() * sizeof(float));
  forgetPackedWeights(B.data(), B.size() * sizeof(float));
}

TEST(PackedGemm, ShapesAroundTilesPanelsAndKBlocks) {
  memc::rt::PackedGemmIsa best = memc::rt::packedGemmIsa();
  for (memc::rt::PackedGemmIsa isa : isasHere()) {
    SCOPED_TRACE("kernel version " + std::to_string(int(isa)));
    memc::rt::limitPackedGemmIsa(isa);
    for (int64_t M : {1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 14, 25, 50})
      for (int64_t N : {1, 17, 32, 33, 70})
        for (int64_t K : {1, 9, 256, 300})
          for (bool tb : {false, true})
            runCase({1, M, N, K, false, tb, 0, true, 1.0f, 0.0f});
    runCase({1, 29, 45, 70, false, false, 3, true, 1.0f, 1.0f});
    // K over two of packedGemm's blocks of 768, last panels of 14 and 30
    // columns (one register a row, two), C accumulated.
    for (int64_t N : {46, 62})
      runCase({1, 13, N, 800, false, false, 0, true, 1.0f, 1.0f});
  }
  memc::rt::limitPackedGemmIsa(best);
}

TEST(PackedGemm, PaddedLeadingDimsAndAccumulate) {
  for (bool tb : {false, true})
    for (float beta : {0.0f, 1.0f}) {
      runCase({1, 29, 45, 70, false, tb, 3, true, 1.0f, beta});
      runCase({1, 197, 96, 520, false, tb, 5, true, 1.0f, beta});
    }
}

TEST(PackedGemm, Batches) {
  // A shared weight (strideB = 0) and one weight per batch entry, with
  // batch counts that split evenly over threads and that do not.
  for (int64_t batch : {2, 3, 8})
    for (bool shared : {true, false})
      runCase({batch, 7, 40, 33, false, false, 1, shared, 1.0f, 0.0f});
  // One entry each, M and N both large enough for the pool to cut them.
  runCase({2, 60, 300, 80, false, false, 0, false, 1.0f, 0.0f});
}

TEST(PackedGemm, OtherArgumentsRunThePlainGemm) {
  runCase({1, 9, 35, 20, true, false, 0, true, 1.0f, 0.0f});
  runCase({1, 9, 35, 20, false, true, 0, true, 2.0f, 0.0f});
  runCase({1, 9, 35, 20, false, false, 0, true, 1.0f, 0.5f});
  runCase({1, 9, 35, 0, false, false, 0, true, 1.0f, 0.0f});
}

TEST(PackedGemm, WeightOnTheLeft) {
  memc::rt::PackedGemmIsa best = memc::rt::packedGemmIsa();
  for (memc::rt::PackedGemmIsa isa : isasHere()) {
    SCOPED_TRACE("kernel version " + std::to_string(int(isa)));
    memc::rt::limitPackedGemmIsa(isa);
    // Rows on and off the 12-row panels, columns across the 256-column
    // blocks and the 32-column panels, K across the K blocks; A transposed.
    for (int64_t M : {1, 5, 12, 13, 30})
      for (int64_t N : {16, 31, 32, 49, 300})
        for (int64_t K : {1, 9, 257})
          for (bool ta : {false, true})
            runCase({1, M, N, K, ta, false, 0, true, 1.0f, 0.0f, true});
    runCase({1, 29, 45, 70, false, false, 3, true, 1.0f, 1.0f, true});
  }
  memc::rt::limitPackedGemmIsa(best);
  // Batches (one weight shared, or one each); what goes to the plain GEMM:
  // a transposed B, other alpha and beta, fewer than 16 columns.
  for (int64_t batch : {2, 3, 8})
    for (bool shared : {true, false})
      runCase({batch, 20, 40, 33, false, false, 1, shared, 1.0f, 0.0f, true});
  // Large enough for the pool: cut along columns, and along rows (49
  // columns make two uneven panels).
  runCase({1, 60, 300, 200, false, false, 0, true, 1.0f, 0.0f, true});
  runCase({1, 300, 49, 200, false, false, 0, true, 1.0f, 1.0f, true});
  runCase({1, 9, 35, 20, false, true, 0, true, 1.0f, 0.0f, true});
  runCase({1, 9, 35, 20, false, false, 0, true, 2.0f, 0.0f, true});
  runCase({1, 9, 35, 20, false, false, 0, true, 1.0f, 0.5f, true});
  runCase({1, 9, 8, 20, false, false, 0, true, 1.0f, 0.0f, true});
}

TEST(PackedGemm, OneCopyPerWeightUntilForgotten) {
  const int64_t M = 4, N = 40, K = 16;
  auto A = randomVec(M * K, 1), B = randomVec(K * N, 2);
  std::vector<float> C(M * N);
  size_t before = packedWeightBytes();
  memc_rt_sgemm_packed_b(1, 0, 0, M, N, K, 1.0f, A.data(), K, 0, B.data(), N, 0,
                         0.0f, C.data(), N, 0);
  size_t packed = packedWeightBytes() - before;
  // Two panels of K rows of 32 floats.
  EXPECT_EQ(packed, size_t(2 * K * 32 * sizeof(float)));
  memc_rt_sgemm_packed_b(1, 0, 0, M, N, K, 1.0f, A.data(), K, 0, B.data(), N, 0,
                         0.0f, C.data(), N, 0);
  EXPECT_EQ(packedWeightBytes() - before, packed);
  // Another view of the same bytes (B transposed) is another packed copy.
  memc_rt_sgemm_packed_b(1, 0, 1, M, K, N, 1.0f, A.data(), N, 0, B.data(), N, 0,
                         0.0f, C.data(), K, 0);
  EXPECT_GT(packedWeightBytes() - before, packed);

  // Forgotten, B may change: the next call packs the new values.
  forgetPackedWeights(B.data(), B.size() * sizeof(float));
  EXPECT_EQ(packedWeightBytes(), before);
  std::fill(B.begin(), B.end(), 0.5f);
  std::fill(A.begin(), A.end(), 1.0f);
  memc_rt_sgemm_packed_b(1, 0, 0, M, N, K, 1.0f, A.data(), K, 0, B.data(), N, 0,
                         0.0f, C.data(), N, 0);
  for (float v : C)
    ASSERT_EQ(v, 0.5f * K);
  forgetPackedWeights(B.data(), B.size() * sizeof(float));
}

TEST(PackedGemm, SplitsDoNotChangeResults) {
  // The same C computed whole and in panel and row pieces, bit for bit.
  const int64_t M = 37, N = 140, K = 1000; // two K blocks, a half panel
  auto A = randomVec(M * K, 5), B = randomVec(K * N, 6);
  const memc::rt::PackedB *packed =
      memc::rt::packedWeight(B.data(), K, N, N, false);
  ASSERT_NE(packed, nullptr);
  ASSERT_EQ(packed->numPanels(), 5);
  std::vector<float> whole(M * N), pieces(M * N);
  memc::rt::packedGemm(M, 0, 5, A.data(), K, *packed, whole.data(), N, false);
  memc::rt::packedGemm(M, 0, 2, A.data(), K, *packed, pieces.data(), N, false);
  memc::rt::packedGemm(20, 2, 5, A.data(), K, *packed, pieces.data(), N, false);
  memc::rt::packedGemm(M - 20, 2, 5, A.data() + 20 * K, K, *packed,
                       pieces.data() + 20 * N, N, false);
  EXPECT_EQ(std::memcmp(whole.data(), pieces.data(), whole.size() * 4), 0);
  forgetPackedWeights(B.data(), B.size() * sizeof(float));
}

TEST(PackedGemm, RowPanelsGiveTheBitsOfRowsInPlace) {
  // Eight panels or more in one call pack A's rows first (AVX-512); one
  // panel a call reads them in place. Same sums in the same order: the
  // same bits. Rows on and off the 12-row tiles, K on and off the
  // 16-column packing steps and over two of the kernel's K blocks, padded
  // rows of A, a last panel of 14 columns, C accumulated.
  for (int64_t M : {1, 5, 12, 13, 29, 197})
    for (int64_t K : {9, 40, 1000})
      for (bool accumulate : {false, true}) {
        const int64_t N = 9 * 32 + 14, lda = K + 3;
        auto A = randomVec(M * lda, 21), B = randomVec(K * N, 22);
        auto C0 = randomVec(M * N, 23);
        const memc::rt::PackedB *packed =
            memc::rt::packedWeight(B.data(), K, N, N, false);
        ASSERT_NE(packed, nullptr);
        int64_t panels = packed->numPanels();
        ASSERT_EQ(panels, 10);
        std::vector<float> whole = C0, each = C0;
        memc::rt::packedGemm(M, 0, panels, A.data(), lda, *packed, whole.data(),
                             N, accumulate);
        for (int64_t p = 0; p < panels; ++p)
          memc::rt::packedGemm(M, p, p + 1, A.data(), lda, *packed, each.data(),
                               N, accumulate);
        EXPECT_EQ(std::memcmp(whole.data(), each.data(), whole.size() * 4), 0)
            << "M=" << M << " K=" << K << " accumulate=" << accumulate;
        for (int64_t i = 0; i < M; i += 7)
          for (int64_t j = 0; j < N; j += 5) {
            double sum = accumulate ? C0[i * N + j] : 0.0;
            for (int64_t k = 0; k < K; ++k)
              sum += double(A[i * lda + k]) * double(B[k * N + j]);
            ASSERT_NEAR(whole[i * N + j], sum, 1e-4 * (1 + double(K)))
                << "M=" << M << " K=" << K << " at " << i << "," << j;
          }
        forgetPackedWeights(B.data(), B.size() * sizeof(float));
      }
}

TEST(PackedGemm, OneRowMatchesAndSplits) {
  // packedGemv: K on and off its four chains, a ragged last panel, C
  // accumulated; the same bits whole and split at every panel.
  if (memc::rt::packedGemmIsa() != memc::rt::PackedGemmIsa::AVX512)
    GTEST_SKIP() << "packedGemv is AVX-512 only";
  const int64_t N = 1000;
  for (int64_t K : {1, 2, 3, 4, 7, 515}) {
    SCOPED_TRACE("K=" + std::to_string(K));
    auto a = randomVec(K, 21), B = randomVec(K * N, 22), C = randomVec(N, 23);
    const memc::rt::PackedB *packed =
        memc::rt::packedWeight(B.data(), K, N, N, false);
    ASSERT_NE(packed, nullptr);
    int64_t panels = packed->numPanels();
    for (bool accumulate : {false, true}) {
      std::vector<float> whole = C;
      memc::rt::packedGemv(0, panels, a.data(), *packed, whole.data(),
                           accumulate);
      for (int64_t j = 0; j < N; ++j) {
        double acc = accumulate ? double(C[j]) : 0.0;
        for (int64_t k = 0; k < K; ++k)
          acc += double(a[k]) * double(B[k * N + j]);
        ASSERT_NEAR(whole[j], acc, 1e-4 * (1 + double(K))) << "column " << j;
      }
      for (int64_t cut = 1; cut < panels; ++cut) {
        std::vector<float> pieces = C;
        memc::rt::packedGemv(0, cut, a.data(), *packed, pieces.data(),
                             accumulate);
        memc::rt::packedGemv(cut, panels, a.data(), *packed, pieces.data(),
                             accumulate);
        ASSERT_EQ(std::memcmp(whole.data(), pieces.data(), N * 4), 0)
            << "cut at panel " << cut;
      }
      // Through the entry point, on the pool, for a weight of 1 MiB or
      // more (smaller ones stay in OpenBLAS's sgemv): the same bits again.
      if (K * N >= (1 << 18)) {
        std::vector<float> called = C;
        memc_rt_sgemm_packed_b(1, 0, 0, 1, N, K, 1.0f, a.data(), K, 0, B.data(),
                               N, 0, accumulate ? 1.0f : 0.0f, called.data(), N,
                               0);
        EXPECT_EQ(std::memcmp(whole.data(), called.data(), N * 4), 0);
      }
    }
    forgetPackedWeights(B.data(), B.size() * sizeof(float));
  }
}

TEST(PackedGemm, NarrowLastPanelMatchesTheRowTiles) {
  // A last panel of at most 4 columns (a 14 x 14 image's 196 = 6 x 32 + 4)
  // runs with the rows in the registers' lanes, two row tiles at once: the
  // same numbers, bit for bit, as those columns in a wider panel (the
  // row-major tiles), for 1 to 4 columns, row counts that pair the tiles
  // or leave one alone, K across two blocks, and accumulating.
  const int64_t K = 300;
  for (int64_t M : {5, 12, 24, 37, 60})
    for (int64_t narrow : {1, 2, 3, 4}) {
      int64_t N = 64 + narrow;
      auto A = randomVec(size_t(M * K), 21), B = randomVec(size_t(K * N), 22);
      const memc::rt::PackedA *a =
          memc::rt::packedWeightA(A.data(), M, K, K, false);
      ASSERT_NE(a, nullptr);
      memc::rt::RightOperand b{B.data(), N};
      auto C0 = randomVec(size_t(M * N), 23);
      for (bool accumulate : {false, true}) {
        std::vector<float> whole = C0, wide = C0;
        memc::rt::packedGemmA(*a, 0, a->numPanels(), 0, N, b, whole.data(), N,
                              accumulate);
        // Columns [N - 20, N): one panel of 20, no narrow one.
        memc::rt::packedGemmA(*a, 0, a->numPanels(), N - 20, N, b, wide.data(),
                              N, accumulate);
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = N - narrow; j < N; ++j)
            ASSERT_EQ(std::memcmp(&whole[i * N + j], &wide[i * N + j], 4), 0)
                << "M=" << M << " narrow=" << narrow << " i=" << i << " j=" << j
                << " accumulate=" << accumulate;
        // Against doubles.
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < N; ++j) {
            double sum = accumulate ? C0[i * N + j] : 0.0;
            for (int64_t k = 0; k < K; ++k)
              sum += double(A[i * K + k]) * double(B[k * N + j]);
            ASSERT_NEAR(whole[i * N + j], sum, 1e-4 * K)
                << "M=" << M << " narrow=" << narrow << " i=" << i
                << " j=" << j;
          }
      }
      forgetPackedWeights(A.data(), A.size() * sizeof(float));
    }
}

/// memc_rt_sgemm_packed_a's M x N x K product (beta 0 and 1, over random
/// operands) against oneThread(A, B, C, accumulate) computing the same in
/// one call, bit for bit.
template <typename OneThread>
void expectOneThreadsBits(int64_t M, int64_t N, int64_t K, uint32_t seed,
                          OneThread oneThread) {
  for (float beta : {0.0f, 1.0f}) {
    auto A = randomVec(size_t(M * K), seed),
         B = randomVec(size_t(K * N), seed + 1);
    auto C0 = randomVec(size_t(M * N), seed + 2);
    std::vector<float> want = C0, got = C0;
    oneThread(A.data(), B.data(), want.data(), beta == 1.0f);
    memc_rt_sgemm_packed_a(1, 0, 0, M, N, K, 1.0f, A.data(), K, 0, B.data(), N,
                           0, beta, got.data(), N, 0);
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_EQ(std::memcmp(&want[i], &got[i], 4), 0)
          << "at " << i << " M=" << M << " N=" << N << " K=" << K
          << " beta=" << beta;
    forgetPackedWeights(A.data(), A.size() * sizeof(float));
  }
}

TEST(PackedGemm, HalvesOfKGiveTheSameBitsOnAnyThreadCount) {
  // K from 257 to 1024, at least 4 M, C at most 256 columns: K is summed in
  // two halves, each one block, whatever the threads. On an even number of
  // them each half of the threads sums one half of K and the halves are
  // added; the result is bit for bit packedGemmA's in the same blocks on
  // one thread, C's old value included (half 1 + (half 0 + C)).
  EXPECT_EQ(memc::rt::halvesBlock(96, 196, 576), 288);
  EXPECT_EQ(memc::rt::halvesBlock(64, 196, 384), 192);
  EXPECT_EQ(memc::rt::halvesBlock(13, 70, 300), 152);
  EXPECT_EQ(memc::rt::halvesBlock(96, 257, 576), 0);  // too many columns
  EXPECT_EQ(memc::rt::halvesBlock(200, 196, 576), 0); // K under 4 M
  EXPECT_EQ(memc::rt::halvesBlock(32, 196, 256), 0);  // one block already
  EXPECT_EQ(memc::rt::halvesBlock(64, 196, 1032), 0); // halves too long
  struct Shape {
    int64_t M, N, K;
  };
  for (Shape sh : {Shape{96, 196, 576}, Shape{64, 196, 384}, Shape{13, 70, 300},
                   Shape{30, 256, 1000}}) {
    int64_t M = sh.M, N = sh.N, K = sh.K;
    expectOneThreadsBits(
        M, N, K, 31,
        [&](const float *A, const float *B, float *C, bool accumulate) {
          const memc::rt::PackedA *a =
              memc::rt::packedWeightA(A, M, K, K, false);
          ASSERT_NE(a, nullptr);
          memc::rt::packedGemmA(*a, 0, a->numPanels(), 0, N, {B, N}, C, N,
                                accumulate, nullptr,
                                {0, K, memc::rt::halvesBlock(M, N, K)});
        });
  }
}

TEST(PackedGemm, TransposedHalvesOfKGiveTheSameBitsOnAnyThreadCount) {
  // The same for products run transposed (C's columns at most 128): K from
  // 513 to 1536 and at least 3 M, in halves; on an even number of threads
  // one half each into a scratch C^T, added and finished by rows; bit for
  // bit packedGemmAT's in the same blocks, C's old value included.
  if (memc::rt::packedGemmIsa() != memc::rt::PackedGemmIsa::AVX512)
    GTEST_SKIP() << "packedGemmAT needs AVX-512";
  EXPECT_EQ(memc::rt::transposedHalvesBlock(160, 49, 960), 480);
  EXPECT_EQ(memc::rt::transposedHalvesBlock(160, 49, 576), 288);
  EXPECT_EQ(memc::rt::transposedHalvesBlock(960, 49, 160), 0);  // K < 3 M
  EXPECT_EQ(memc::rt::transposedHalvesBlock(64, 49, 512), 0);   // K too short
  EXPECT_EQ(memc::rt::transposedHalvesBlock(512, 49, 4608), 0); // too long
  struct Shape {
    int64_t M, N, K;
  };
  // (Shapes run transposed: 160, 64 and 128 filters fill the lanes, 49
  // and 36 columns do not.)
  for (Shape sh :
       {Shape{160, 49, 960}, Shape{64, 49, 600}, Shape{128, 36, 1500}}) {
    int64_t M = sh.M, N = sh.N, K = sh.K;
    expectOneThreadsBits(
        M, N, K, 41,
        [&](const float *A, const float *B, float *C, bool accumulate) {
          const memc::rt::PackedB *aT =
              memc::rt::packedWeight(A, K, M, K, true);
          ASSERT_NE(aT, nullptr);
          memc::rt::packedGemmAT(*aT, 0, aT->numPanels(), 0, N, {B, N}, C, N,
                                 accumulate, nullptr,
                                 memc::rt::transposedHalvesBlock(M, N, K));
        });
  }
}

TEST(PackedGemm, TransposedProductMatchesAndSplits) {
  // C = A B computed as C^T = B^T A^T (packedGemmAT), against doubles, and
  // in pieces of A's 32-row panels and of C's columns, bit for bit. C's
  // columns are the tiles' rows: 49 and 13 end in a 13-row tile (25, a
  // piece's, too); A's last panel has 6 rows (one register a tile row) or
  // 26 (two, the second masked).
  if (memc::rt::packedGemmIsa() != memc::rt::PackedGemmIsa::AVX512)
    GTEST_SKIP() << "packedGemmAT needs AVX-512";
  for (int64_t M : {70, 90})
    for (int64_t N : {13, 49}) {
      SCOPED_TRACE("M=" + std::to_string(M) + " N=" + std::to_string(N));
      const int64_t K = 800, ldc = N + 3, cut = (N + 1) / 2;
      auto A = randomVec(M * K, 7), B = randomVec(K * N, 8);
      const memc::rt::PackedB *aT =
          memc::rt::packedWeight(A.data(), K, M, K, true);
      ASSERT_NE(aT, nullptr);
      ASSERT_EQ(aT->numPanels(), 3);
      memc::rt::RightOperand b{B.data(), N};
      auto C0 = randomVec(M * ldc, 9);
      for (bool accumulate : {false, true}) {
        std::vector<float> whole = C0, pieces = C0;
        memc::rt::packedGemmAT(*aT, 0, 3, 0, N, b, whole.data(), ldc,
                               accumulate);
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < ldc; ++j) {
            double want = C0[i * ldc + j];
            if (j < N) {
              double sum = 0;
              for (int64_t k = 0; k < K; ++k)
                sum += double(A[i * K + k]) * double(B[k * N + j]);
              want = accumulate ? want + sum : sum;
            }
            ASSERT_NEAR(whole[i * ldc + j], want, 1e-4 * K)
                << "i=" << i << " j=" << j << " accumulate=" << accumulate;
          }
        memc::rt::packedGemmAT(*aT, 0, 1, 0, N, b, pieces.data(), ldc,
                               accumulate);
        memc::rt::packedGemmAT(*aT, 1, 3, 0, cut, b, pieces.data(), ldc,
                               accumulate);
        memc::rt::packedGemmAT(*aT, 1, 3, cut, N, b, pieces.data(), ldc,
                               accumulate);
        EXPECT_EQ(std::memcmp(whole.data(), pieces.data(), whole.size() * 4),
                  0);
      }
      forgetPackedWeights(A.data(), A.size() * sizeof(float));
    }
}

} // namespace
