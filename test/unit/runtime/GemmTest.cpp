//===- GemmTest.cpp - memc_rt_sgemm / memc_rt_dgemm against a naive GEMM --===//
//
// Covers the paths of the batched GEMM: all transpose combinations, padded
// leading dimensions, batch strides (including 0 = broadcast), the serial
// schedule and the pool's (whole GEMMs per task, or each GEMM cut along M or
// N), concurrent callers, and BLAS's special cases (beta = 0 ignores C,
// K = 0 scales C, strideC = 0 accumulates in order), and splits that give
// the bits of one call. Run it with MEMC_NUM_THREADS=1/2/3/... to force
// each schedule.
//
//===----------------------------------------------------------------------===//

#include "PackedGemm.h"
#include "memc_runtime.h"

#include <cblas.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

namespace {

template <typename T>
void naive(int64_t batch, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
           T alpha, const T *A, int64_t lda, int64_t sA, const T *B,
           int64_t ldb, int64_t sB, T beta, T *C, int64_t ldc, int64_t sC) {
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k) {
          T a = ta ? A[b * sA + k * lda + i] : A[b * sA + i * lda + k];
          T v = tb ? B[b * sB + j * ldb + k] : B[b * sB + k * ldb + j];
          acc += double(a) * double(v);
        }
        T &c = C[b * sC + i * ldc + j];
        c = beta == T(0) ? T(alpha * acc) : T(alpha * acc + beta * c);
      }
}

template <typename T> std::vector<T> randomVec(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<T> v(n);
  for (T &x : v)
    x = T(u(rng));
  return v;
}

struct Case {
  int64_t batch, M, N, K;
  bool ta, tb;
  int64_t padA, padB, padC; ///< Extra elements per row (leading dims).
  bool broadcastB;          ///< strideB = 0.
};

template <typename T> void runCase(const Case &c, T alpha, T beta, double tol) {
  int64_t rowsA = c.ta ? c.K : c.M, colsA = c.ta ? c.M : c.K;
  int64_t rowsB = c.tb ? c.N : c.K, colsB = c.tb ? c.K : c.N;
  int64_t lda = colsA + c.padA, ldb = colsB + c.padB, ldc = c.N + c.padC;
  int64_t sA = rowsA * lda + 3, sB = c.broadcastB ? 0 : rowsB * ldb + 5;
  int64_t sC = c.M * ldc + 7;
  auto A = randomVec<T>(size_t(sA * c.batch), 1);
  auto B = randomVec<T>(size_t((c.broadcastB ? rowsB * ldb : sB * c.batch)), 2);
  auto C = randomVec<T>(size_t(sC * c.batch), 3);
  auto expect = C;
  naive<T>(c.batch, c.ta, c.tb, c.M, c.N, c.K, alpha, A.data(), lda, sA,
           B.data(), ldb, sB, beta, expect.data(), ldc, sC);
  if constexpr (std::is_same_v<T, float>)
    memc_rt_sgemm(c.batch, c.ta, c.tb, c.M, c.N, c.K, alpha, A.data(), lda, sA,
                  B.data(), ldb, sB, beta, C.data(), ldc, sC);
  else
    memc_rt_dgemm(c.batch, c.ta, c.tb, c.M, c.N, c.K, alpha, A.data(), lda, sA,
                  B.data(), ldb, sB, beta, C.data(), ldc, sC);
  // Everything, padding included: padding and gaps must be left untouched.
  for (size_t i = 0; i < C.size(); ++i)
    ASSERT_NEAR(C[i], expect[i], tol)
        << "at " << i << " batch=" << c.batch << " M=" << c.M << " N=" << c.N
        << " K=" << c.K << " ta=" << c.ta << " tb=" << c.tb;
}

} // namespace

TEST(Gemm, AllTransposeCombinations) {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      runCase<float>({1, 5, 7, 3, ta, tb, 0, 0, 0, false}, 1.0f, 0.0f, 1e-5);
      runCase<float>({1, 17, 9, 33, ta, tb, 2, 1, 3, false}, 0.5f, 2.0f, 1e-4);
    }
}

TEST(Gemm, OneRowIsAGemv) {
  // M = 1 (a decode step's projections): the GEMV path, every transpose,
  // padded leading dimensions, beta 0 and not, serial and split over N.
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      runCase<float>({1, 1, 7, 5, ta, tb, 2, 1, 3, false}, 1.0f, 0.0f, 1e-5);
      runCase<float>({1, 1, 19, 33, ta, tb, 1, 3, 0, false}, 0.5f, 2.0f, 1e-4);
      runCase<float>({3, 1, 9, 4, ta, tb, 0, 2, 1, true}, 1.0f, 1.0f, 1e-5);
      runCase<float>({1, 1, 4096, 512, ta, tb, 0, 0, 0, false}, 1.0f, 0.0f,
                     1e-3);
      runCase<double>({1, 1, 11, 6, ta, tb, 1, 1, 1, false}, 2.0, 0.0, 1e-12);
    }
}

TEST(Gemm, SplitsGiveTheBitsOfOneCall) {
  // A GEMV of a B stored N x K (a classifier's Gemm, transB: 1 x 1002 x
  // 1280) and a GEMM cut along N over the pool: each part starts at a
  // multiple of 16 columns, so OpenBLAS groups them as one call over all
  // of them does, and the results are the same bits (the GEMV cut at 333
  // and 666, by 3 threads, was not). (A GEMV of a B stored K x N is not:
  // OpenBLAS sums its columns otherwise when there are fewer of them.)
  const int64_t K = 1280;
  for (int64_t M : {1, 8})
    for (int64_t N : {1002, 1000}) {
      auto A = randomVec<float>(size_t(M * K), 7);
      auto B = randomVec<float>(size_t(K * N), 8);
      bool tb = M == 1;
      std::vector<float> want(size_t(M * N)), got(size_t(M * N));
      if (tb)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, int(N), int(K), 1.0f, B.data(),
                    int(K), A.data(), 1, 0.0f, want.data(), 1);
      else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(M), int(N),
                    int(K), 1.0f, A.data(), int(K), B.data(), int(N), 0.0f,
                    want.data(), int(N));
      memc_rt_sgemm(1, 0, tb, M, N, K, 1.0f, A.data(), K, 0, B.data(),
                    tb ? K : N, 0, 0.0f, got.data(), N, 0);
      for (size_t i = 0; i < want.size(); ++i)
        ASSERT_EQ(std::memcmp(&want[i], &got[i], sizeof(float)), 0)
            << "M=" << M << " N=" << N << " at " << i;
    }
}

TEST(Gemm, BatchedWithStridesSerial) {
  // Tiny total work: runs serially.
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      runCase<float>({3, 4, 5, 6, ta, tb, 1, 2, 0, false}, 1.0f, 1.0f, 1e-5);
}

TEST(Gemm, BatchedParallelMatchesNaive) {
  // 8 x (96x80x64): enough work for the pool, whole GEMMs per task.
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      runCase<float>({8, 96, 80, 64, ta, tb, 3, 0, 2, false}, 1.5f, -0.5f,
                     1e-4);
  // Odd batch, broadcast B (strideB = 0), as a MatMul with a shared weight:
  // with 2 threads each GEMM is cut along M.
  runCase<float>({7, 96, 96, 64, false, false, 0, 0, 0, true}, 1.0f, 0.0f,
                 1e-4);
}

TEST(Gemm, SplitAlongNForWideProducts) {
  // M small, N large: a single GEMM cut into column blocks.
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      runCase<float>({1, 8, 2048, 256, ta, tb, 1, 2, 3, false}, 1.0f, 0.5f,
                     1e-4);
}

TEST(Gemm, ConcurrentCallers) {
  // Two threads at once: one gets the pool, the other runs its tasks
  // itself; both must be right.
  std::vector<std::thread> callers;
  for (int t = 0; t < 2; ++t)
    callers.emplace_back([] {
      for (int r = 0; r < 5; ++r)
        runCase<float>({4, 128, 96, 64, r % 2 == 0, r % 3 == 0, 0, 0, 0, false},
                       1.0f, 0.0f, 1e-4);
    });
  for (std::thread &t : callers)
    t.join();
}

TEST(Gemm, LongKIsSummedInChunks) {
  // K far above M x N (a convolution's weight gradient): K is cut into
  // chunks whose products are summed in order; a ragged last chunk, every
  // transpose (both transposed runs as C^T = B A), padded leading
  // dimensions, beta 0 and not, and double.
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      runCase<float>({1, 8, 27, 32768 + 5, ta, tb, 1, 2, 3, false}, 1.0f, 0.0f,
                     2e-2);
      runCase<float>({1, 16, 72, 8192, ta, tb, 0, 0, 0, false}, 0.5f, 2.0f,
                     2e-2);
      runCase<double>({1, 3, 5, 10000, ta, tb, 1, 0, 1, false}, 2.0, 0.5, 1e-9);
    }
}

TEST(Gemm, LongKSumsAreTheSameOnEveryPath) {
  // The chunks depend on K alone: a caller that runs its chunks itself (the
  // pool busy with the other caller) gets the pool's sums bit for bit.
  const int64_t M = 8, N = 27, K = 20000;
  auto A = randomVec<float>(size_t(K * M), 11);
  auto B = randomVec<float>(size_t(N * K), 12);
  std::vector<float> C[2];
  std::vector<std::thread> callers;
  for (int t = 0; t < 2; ++t)
    callers.emplace_back([&, t] {
      C[t].assign(size_t(M * N), std::nanf(""));
      for (int r = 0; r < 20; ++r)
        memc_rt_sgemm(1, 1, 1, M, N, K, 1.0f, A.data(), M, 0, B.data(), K, 0,
                      0.0f, C[t].data(), N, 0);
    });
  for (std::thread &t : callers)
    t.join();
  for (int64_t i = 0; i < M * N; ++i)
    ASSERT_EQ(C[0][i], C[1][i]) << "at " << i;
}

TEST(Gemm, LargeSingleGemm) {
  runCase<float>({1, 300, 200, 250, false, true, 0, 0, 0, false}, 1.0f, 0.0f,
                 1e-3);
}

TEST(Gemm, Double) {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      runCase<double>({2, 9, 11, 13, ta, tb, 1, 1, 1, false}, 2.0, 0.5, 1e-12);
      runCase<double>({6, 40, 40, 40, ta, tb, 0, 0, 0, false}, 1.0, 0.0, 1e-11);
    }
}

TEST(Gemm, BetaZeroOverwritesNaN) {
  std::vector<float> A = {1, 2}, B = {3, 4}, C = {NAN};
  memc_rt_sgemm(1, 0, 0, 1, 1, 2, 1.0f, A.data(), 2, 0, B.data(), 1, 0, 0.0f,
                C.data(), 1, 0);
  EXPECT_EQ(C[0], 11.0f);
}

TEST(Gemm, KZeroScalesC) {
  std::vector<float> C = {1, 2, 3, 4};
  float dummy = 0;
  memc_rt_sgemm(1, 0, 0, 2, 2, 0, 1.0f, &dummy, 1, 0, &dummy, 2, 0, 3.0f,
                C.data(), 2, 0);
  EXPECT_EQ(C, (std::vector<float>{3, 6, 9, 12}));
  memc_rt_sgemm(1, 0, 0, 2, 2, 0, 1.0f, &dummy, 1, 0, &dummy, 2, 0, 0.0f,
                C.data(), 2, 0);
  EXPECT_EQ(C, (std::vector<float>{0, 0, 0, 0}));
}

TEST(Gemm, StrideCZeroAccumulatesInOrder) {
  // sum over a batch of 64 rank-1 products into one C with beta = 1.
  const int64_t batch = 64, M = 32, N = 32;
  auto A = randomVec<float>(size_t(batch * M), 7);
  auto B = randomVec<float>(size_t(batch * N), 8);
  std::vector<float> C(size_t(M * N), 0.0f), expect(size_t(M * N), 0.0f);
  naive<float>(batch, false, false, M, N, 1, 1.0f, A.data(), 1, M, B.data(), N,
               N, 1.0f, expect.data(), N, 0);
  memc_rt_sgemm(batch, 0, 0, M, N, 1, 1.0f, A.data(), 1, M, B.data(), N, N,
                1.0f, C.data(), N, 0);
  for (size_t i = 0; i < C.size(); ++i)
    ASSERT_NEAR(C[i], expect[i], 1e-4) << i;
}

TEST(Gemm, SizeOneDimsWithOddLeadingDims) {
  // A 1xK row whose "row stride" is 1 (a view of a column): BLAS would
  // reject lda = 1 < K; the runtime fixes it since there is one row.
  std::vector<float> A = {1, 2, 3}, B = {1, 1, 1, 2, 2, 2, 3, 3, 3},
                     C = {0, 0, 0};
  memc_rt_sgemm(1, 0, 0, 1, 3, 3, 1.0f, A.data(), 1, 0, B.data(), 3, 0, 0.0f,
                C.data(), 1, 0);
  EXPECT_EQ(C, (std::vector<float>{14, 14, 14}));
}

TEST(Gemm, OverlappingRowsFallBackToLoops) {
  // lda = 1 < K with M = 2: rows overlap (a sliding window); still computed
  // with the exact semantics instead of being rejected by BLAS.
  std::vector<float> A = {1, 2, 3}, B = {1, 10}, C = {0, 0};
  memc_rt_sgemm(1, 0, 0, 2, 1, 2, 1.0f, A.data(), 1, 0, B.data(), 1, 0, 0.0f,
                C.data(), 1, 0);
  EXPECT_EQ(C, (std::vector<float>{21, 32}));
}

TEST(Gemm, EmptyShapesAreNoOps) {
  std::vector<float> C = {5};
  memc_rt_sgemm(0, 0, 0, 1, 1, 1, 1.0f, nullptr, 1, 0, nullptr, 1, 0, 0.0f,
                C.data(), 1, 0);
  memc_rt_sgemm(1, 0, 0, 0, 1, 1, 1.0f, nullptr, 1, 0, nullptr, 1, 0, 0.0f,
                C.data(), 1, 0);
  EXPECT_EQ(C[0], 5.0f);
}

TEST(Gemm, ActivationProductsRunOnThePackedKernel) {
  // alpha 1, beta 0 or 1, A not transposed, 4 rows or more: memc's packed
  // kernel with op(B) packed per call (attention's score and value tiles).
  // Full and ragged panels, row tails, padded leading dimensions, a
  // transposed B, batches: against the naive product, and bit for bit
  // against one packedGemm over the whole of C, so that however the call
  // is cut over threads (run with MEMC_NUM_THREADS=1/2/3) each element
  // sums its products in the same order. (Panels more than an eighth
  // empty, 100 or 33 columns, stay with OpenBLAS: AllTransposeCombinations
  // and the cases below check those.)
  const Case cases[] = {
      {1, 128, 128, 64, false, false, 0, 0, 0, false},
      {1, 37, 120, 70, false, true, 3, 1, 2, false},
      {6, 64, 96, 300, false, false, 1, 2, 5, false},
      {6, 16, 250, 64, false, true, 0, 0, 1, true},
      {1, 4, 2048, 48, false, false, 0, 0, 0, false},
  };
  runCase<float>({1, 37, 100, 70, false, true, 3, 1, 2, false}, 1.0f, 0.0f,
                 1e-4);
  runCase<float>({6, 16, 33, 64, false, true, 0, 0, 1, true}, 1.0f, 1.0f, 1e-4);
  for (const Case &c : cases)
    for (float beta : {0.0f, 1.0f}) {
      runCase<float>(c, 1.0f, beta, 1e-4);
      int64_t lda = c.K + c.padA, ldb = (c.tb ? c.K : c.N) + c.padB;
      int64_t ldc = c.N + c.padC, rowsB = c.tb ? c.N : c.K;
      int64_t sA = c.M * lda, sB = c.broadcastB ? 0 : rowsB * ldb;
      int64_t sC = c.M * ldc;
      auto A = randomVec<float>(size_t(sA * c.batch), 4);
      auto B = randomVec<float>(
          size_t(c.broadcastB ? rowsB * ldb : sB * c.batch), 5);
      auto C = randomVec<float>(size_t(sC * c.batch), 6);
      auto expect = C;
      int64_t panels =
          (c.N + memc::rt::kPackedPanelWidth - 1) / memc::rt::kPackedPanelWidth;
      std::vector<float> packed(
          size_t(panels * c.K * memc::rt::kPackedPanelWidth) + 16);
      // 64-byte aligned, as the kernel's loads are.
      float *aligned = packed.data();
      while (reinterpret_cast<uintptr_t>(aligned) % 64)
        ++aligned;
      for (int64_t i = 0; i < c.batch; ++i) {
        memc::rt::PackedB pb = memc::rt::packPanels(B.data() + i * sB, c.K, c.N,
                                                    ldb, c.tb, aligned);
        memc::rt::packedGemm(c.M, 0, panels, A.data() + i * sA, lda, pb,
                             expect.data() + i * sC, ldc, beta == 1.0f);
      }
      memc_rt_sgemm(c.batch, 0, c.tb, c.M, c.N, c.K, 1.0f, A.data(), lda, sA,
                    B.data(), ldb, sB, beta, C.data(), ldc, sC);
      for (size_t i = 0; i < C.size(); ++i)
        ASSERT_EQ(C[i], expect[i])
            << "at " << i << " batch=" << c.batch << " M=" << c.M
            << " N=" << c.N << " K=" << c.K << " tb=" << c.tb;
    }
}
