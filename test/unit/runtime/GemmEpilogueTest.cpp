//===- GemmEpilogueTest.cpp - GEMMs that finish into a padded output ------===//
//
// memc_rt_sgemm_packed_a_ep and memc_rt_sgemm_packed_a_window_ep against
// the same GEMM without an epilogue followed by the epilogue written out
// here: bias, addend and clip in their order, into a padded destination
// (output rows of 5, 7, 14 and 40 pixels: 32-column tiles that cross rows
// and rows that cross tiles, and a last tile of 4 columns) and a plain
// one; K in one block and across the kernel's 256 K blocks; beta 0 and 1;
// every kernel version this CPU runs, and the plain-GEMM path
// (MEMC_PACKED_WEIGHTS=0 and too few columns); with the padded planes'
// borders written by the GEMM too, or left alone (then nothing outside the
// output rows is written); as a window, K from 257 to 1152 and 128 columns
// or more take the direct product (windowGemmDirect) on AVX-512, and
// below that a window whose 16-column halves are runs of its input is read
// in place (a 1x1 window over contiguous pixels), one of every other float
// packed per call; borders of -1.5, +0 and -0.
// Results are bit for bit the unfused ones. Also: NaN passes the clip, and
// maximum(+0, -0) is +0, as arith.maximumf has it. And the fused call
// without C (a memc.gemm_epilogue's, beta 0), on every path.
//
//===----------------------------------------------------------------------===//

#include "PackedGemm.h"
#include "PackedGemmTestUtil.h"
#include "memc_runtime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

namespace {

using memc::test::isasHere;
using memc::test::randomVec;

constexpr float kSentinel = 12345.0f;

/// arith.maximumf / minimumf, written out.
float maximumOf(float a, float b) {
  if (std::isnan(a) || std::isnan(b))
    return std::numeric_limits<float>::quiet_NaN();
  if (a == b)
    return std::signbit(a) ? b : a;
  return a > b ? a : b;
}
float minimumOf(float a, float b) {
  if (std::isnan(a) || std::isnan(b))
    return std::numeric_limits<float>::quiet_NaN();
  if (a == b)
    return std::signbit(a) ? a : b;
  return a < b ? a : b;
}

/// One case: an M x N product whose columns are output rows of `width`
/// pixels, stored into a destination with `pitch` floats a row and a
/// border of one row and one column (width 0: unpadded, row stride N + 3).
struct Case {
  int64_t m, k, n, width, pitch;
  bool bias, addend;
  float lo, hi, beta;
  float pad = -1.5f; ///< the border's value, when the GEMM writes it
  /// The addend's rows of addendWidth pixels, addendPitch floats apart
  /// (a padded buffer's interior); addendWidth 0: row stride n + 1.
  int64_t addendWidth = 0, addendPitch = 0;

  int64_t ldd() const { return width ? (n / width + 2) * pitch : n + 3; }
  int64_t ldAddend() const {
    return addendWidth ? (n / addendWidth + 1) * addendPitch : n + 1;
  }
  int64_t addendAt(int64_t i, int64_t j) const {
    return addendWidth ? i * ldAddend() + j / addendWidth * addendPitch +
                             j % addendWidth
                       : i * ldAddend() + j;
  }
  int64_t at(int64_t i, int64_t j) const {
    return width ? i * ldd() + pitch + 1 + j / width * pitch + j % width
                 : i * ldd() + j;
  }
};

/// Runs `c` through the fused call (window or not) and checks it against
/// the unfused GEMM plus the epilogue written out.
void runCase(const Case &c, bool window, const char *what, bool border = false,
             bool withoutC = false, bool windowStride2 = false) {
  int64_t M = c.m, N = c.n, K = c.k;
  auto A = randomVec(size_t(M * K), 51);
  auto B = randomVec(size_t(K * N), 52);
  auto C0 = randomVec(size_t(M * N), 53);
  auto bias = randomVec(size_t(M), 54);
  auto addend = randomVec(size_t(M * c.ldAddend()), 55);
  for (float &v : A) // products of both signs, some under the clip
    v *= 0.5f;
  // The unfused product.
  std::vector<float> product = C0;
  memc_rt_sgemm_packed_a(1, 0, 0, M, N, K, 1.0f, A.data(), K, 0, B.data(), N, 0,
                         c.beta, product.data(), N, 0);
  // With `border`, the plane around each filter's output rows (one row
  // above and below, one column left, the rest of the pitch right) gets
  // the pad value; else it is not written.
  const float kPad = c.pad;
  std::vector<float> expect(size_t(M * c.ldd()), border ? kPad : kSentinel);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      float v = product[size_t(i * N + j)];
      if (c.bias)
        v = v + bias[size_t(i)];
      if (c.addend)
        v = addend[size_t(c.addendAt(i, j))] + v;
      expect[size_t(c.at(i, j))] = minimumOf(maximumOf(v, c.lo), c.hi);
    }
  std::vector<float> D(expect.size(), kSentinel), C = C0;
  // A memc.gemm_epilogue's call: no C at all (beta 0).
  float *cPtr = withoutC ? nullptr : C.data();
  float *d = D.data() + (c.width ? c.pitch + 1 : 0);
  const float *biasPtr = c.bias ? bias.data() : nullptr;
  const float *addPtr = c.addend ? addend.data() : nullptr;
  std::vector<int64_t> pads = {1, 1, 1, c.pitch - c.width - 1};
  const int64_t *padPtr = border ? pads.data() : nullptr;
  if (window) {
    // B as a 1x1 convolution's input: K channels of N pixels, one run
    // each (the kernels read it in place); or, with windowStride2, every
    // other float of 2N (packed per call).
    std::vector<int64_t> desc = {1, 1, 0, K, N, N, 1};
    std::vector<float> spread;
    const float *x = B.data();
    if (windowStride2) {
      spread.assign(size_t(2 * K * N), kSentinel);
      for (size_t i = 0; i < B.size(); ++i)
        spread[2 * i] = B[i];
      desc = {1, 1, 0, K, 2 * N, N, 2};
      x = spread.data();
    }
    memc_rt_sgemm_packed_a_window_ep(
        M, N, K, 0, A.data(), K, x, desc.data(), c.beta, cPtr, N, biasPtr,
        addPtr, c.ldAddend(), c.addendWidth, c.addendPitch, c.lo, c.hi, d,
        c.ldd(), c.width, c.pitch, padPtr, kPad);
  } else {
    memc_rt_sgemm_packed_a_ep(0, M, N, K, A.data(), K, B.data(), N, c.beta,
                              cPtr, N, biasPtr, addPtr, c.ldAddend(),
                              c.addendWidth, c.addendPitch, c.lo, c.hi, d,
                              c.ldd(), c.width, c.pitch, padPtr, kPad);
  }
  for (size_t i = 0; i < D.size(); ++i)
    ASSERT_EQ(std::memcmp(&D[i], &expect[i], sizeof(float)), 0)
        << what << ": at " << i << " got " << D[i] << " want " << expect[i]
        << " m=" << M << " k=" << K << " n=" << N << " width=" << c.width
        << " window=" << window << " stride 2=" << windowStride2;
  memc::rt::forgetPackedWeights(A.data(), A.size() * sizeof(float));
}

std::vector<Case> cases() {
  float inf = std::numeric_limits<float>::infinity();
  return {
      // ReLU6 into a padded buffer: 14-pixel rows (tiles cross rows).
      {20, 24, 84, 14, 16, true, false, 0.0f, 6.0f, 0.0f},
      // 5- and 7-pixel rows, a ragged last tile, a clip below only.
      {13, 16, 45, 5, 7, true, false, 0.0f, inf, 0.0f},
      {8, 40, 49, 7, 9, false, false, -0.25f, 0.25f, 0.0f},
      // 40-pixel rows (rows cross tiles), K across two blocks, beta 1.
      {25, 300, 120, 40, 43, true, false, 0.0f, 6.0f, 1.0f},
      // A residual sum into a plain destination: bias then the addend.
      {24, 96, 100, 0, 0, true, true, -inf, inf, 0.0f},
      {30, 520, 70, 0, 0, true, true, -inf, inf, 1.0f},
      // 7x7 outputs of 32 and 48 filters: the transposed product
      // (packedGemmAT) on AVX-512, into a padded buffer and into a residual
      // sum with K across two of its 768 K blocks and beta 1.
      {32, 72, 49, 7, 9, true, false, 0.0f, 6.0f, 0.0f},
      {48, 800, 49, 0, 0, true, true, -inf, inf, 1.0f},
      // K from 257 to 1152 and 128 columns or more: as a window, the
      // direct product on AVX-512 (windowGemmDirect), 12-pixel tiles
      // across 14-pixel rows into a padded buffer; a residual sum with
      // beta 1.
      {20, 288, 140, 14, 16, true, false, 0.0f, 6.0f, 0.0f},
      {30, 520, 130, 0, 0, true, true, -inf, inf, 1.0f},
      // Tiles across several rows of a padded plane are stored as one
      // run of permuted registers, the borders between the rows in it:
      // with a zero border (the permute's zeros), a tile that ends where
      // an output row does (its right border the tile's to write), and
      // 2-pixel rows, whose runs are too long for that (stored piece by
      // piece).
      {20, 24, 84, 14, 16, true, false, 0.0f, 6.0f, 0.0f, 0.0f},
      {12, 20, 64, 16, 18, true, false, 0.0f, 6.0f, 0.0f, 0.0f},
      {12, 20, 64, 8, 11, false, false, -inf, inf, 0.0f, -0.0f},
      {10, 8, 40, 2, 5, true, false, 0.0f, 6.0f, 0.0f, 0.0f},
      // 28-pixel rows: the tile of columns 96-127 holds the end of row 3
      // in one register and the start of row 4 in the other (two pieces,
      // not one stretch of D), also a run.
      {20, 32, 224, 28, 30, true, false, 0.0f, 6.0f, 0.0f},
      // A 14 x 14 image: its last 4 columns a narrow panel (rows in the
      // lanes, two row tiles at once) crossing into a padded plane's last
      // row, and with 37 filters a tile left alone; a residual sum with a
      // narrow last panel, K across two blocks and beta 1.
      {37, 24, 196, 14, 16, true, false, 0.0f, 6.0f, 0.0f},
      {26, 300, 100, 0, 0, true, true, -inf, inf, 1.0f},
      // K in two halves (memc::rt::halvesBlock; on 2 threads one each):
      // into a padded plane, and a residual sum with beta 1.
      {24, 288, 196, 14, 16, true, false, 0.0f, 6.0f, 0.0f},
      {20, 320, 100, 0, 0, true, true, -inf, inf, 1.0f},
      // And run transposed (memc::rt::transposedHalvesBlock): a 7 x 7
      // image into a padded plane, a residual sum with beta 1.
      {64, 600, 49, 7, 9, true, false, 0.0f, 6.0f, 0.0f},
      {48, 700, 49, 0, 0, true, true, -inf, inf, 1.0f},
      // Borders of whole registers: a 31-float pitch makes the plane's
      // top piece (its first row and the next row's left column) 32
      // floats, and its bottom piece 33 (memc::rt's storePad).
      {16, 24, 116, 29, 31, true, false, 0.0f, 6.0f, 0.0f},
      // 6000 columns of 96 filters (2.3 MB of C), K in one block, B in
      // place: blocks of 1024 columns and a ragged last one, into
      // 100-pixel rows of a padded plane.
      {96, 40, 6000, 100, 103, true, false, 0.0f, 6.0f, 0.0f},
      // 10 columns: too few for the packed kernel (the plain GEMM path).
      {6, 12, 10, 5, 8, true, false, 0.0f, 6.0f, 0.0f},
      // A residual that is itself a padded buffer's interior (ResNet-18's
      // blocks): its rows at another pitch than D's (full tiles that cross
      // rows permute three registers of it), at D's own, into a plain D,
      // with a ragged last tile (read in pieces), 2-pixel rows (too far
      // apart to permute: in pieces), run transposed, on the direct
      // product, in halves of K.
      {20, 24, 84, 14, 16, true, true, 0.0f, inf, 0.0f, -1.5f, 14, 17},
      {10, 8, 40, 2, 5, true, true, 0.0f, 6.0f, 0.0f, 0.0f, 2, 5},
      {20, 32, 224, 28, 30, true, true, 0.0f, inf, 1.0f, 0.0f, 28, 30},
      {24, 96, 196, 0, 0, true, true, -inf, inf, 0.0f, -1.5f, 14, 16},
      {13, 16, 45, 5, 7, true, true, 0.0f, inf, 0.0f, -1.5f, 5, 6},
      {48, 800, 49, 7, 10, true, true, 0.0f, inf, 1.0f, 0.0f, 7, 9},
      {20, 288, 140, 14, 16, true, true, 0.0f, 6.0f, 0.0f, -1.5f, 14, 15},
      {24, 288, 196, 14, 16, true, true, 0.0f, inf, 0.0f, 0.0f, 14, 16},
  };
}

TEST(GemmEpilogue, MatchesTheUnfusedGemmOnEveryKernelVersion) {
  memc::rt::PackedGemmIsa best = memc::rt::packedGemmIsa();
  for (memc::rt::PackedGemmIsa isa : isasHere()) {
    SCOPED_TRACE("kernel version " + std::to_string(int(isa)));
    memc::rt::limitPackedGemmIsa(isa);
    for (const Case &c : cases()) {
      runCase(c, false, "packed");
      runCase(c, true, "window");
      runCase(c, true, "window, stride 2", false, false, true);
      if (c.width) {
        runCase(c, false, "packed, border", true);
        runCase(c, true, "window, border", true);
        runCase(c, true, "window, stride 2, border", true, false, true);
      }
    }
  }
  memc::rt::limitPackedGemmIsa(best);
}

TEST(GemmEpilogue, WithoutCGivesTheSameNumbers) {
  // C null (beta 0): K in one block stores no partial sums; across the
  // 256 K blocks (300, 520) and the transposed product's 768 (800) they
  // go to per-thread buffers; with too few columns, the plain GEMM's
  // scratch.
  std::vector<Case> all = cases();
  float inf = std::numeric_limits<float>::infinity();
  all.push_back({25, 300, 120, 40, 43, true, false, 0.0f, 6.0f, 0.0f});
  all.push_back({30, 520, 70, 0, 0, true, true, -inf, inf, 0.0f});
  all.push_back({48, 800, 49, 0, 0, true, true, -inf, inf, 0.0f});
  all.push_back({300, 600, 80, 0, 0, true, false, 0.0f, inf, 0.0f});
  all.push_back({30, 520, 130, 0, 0, true, true, -inf, inf, 0.0f});
  memc::rt::PackedGemmIsa best = memc::rt::packedGemmIsa();
  for (memc::rt::PackedGemmIsa isa : isasHere()) {
    SCOPED_TRACE("kernel version " + std::to_string(int(isa)));
    memc::rt::limitPackedGemmIsa(isa);
    for (const Case &c : all) {
      if (c.beta != 0.0f)
        continue;
      runCase(c, false, "packed, no C", false, true);
      runCase(c, true, "window, no C", false, true);
      runCase(c, true, "window, stride 2, no C", false, true, true);
      if (c.width) {
        runCase(c, false, "packed, border, no C", true, true);
        runCase(c, true, "window, border, no C", true, true);
      }
    }
  }
  memc::rt::limitPackedGemmIsa(best);
}

TEST(GemmEpilogue, PlainGemmPathGivesTheSameNumbers) {
  // Packed weights off: OpenBLAS, then the epilogue over C. (The tests
  // before have read MEMC_PACKED_WEIGHTS already: setting it here would
  // change nothing.)
  memc::rt::enablePackedWeights(false);
  for (const Case &c : cases()) {
    runCase(c, false, "packed weights off");
    if (c.width)
      runCase(c, false, "packed weights off, border", true);
    if (c.beta == 0.0f)
      runCase(c, false, "packed weights off, no C", false, true);
  }
  memc::rt::enablePackedWeights(true);
}

TEST(GemmEpilogue, NaNAndSignedZeros) {
  // Rows of products NaN, +0, 4 and -4 (three times: a full 12-row tile,
  // whose epilogue has its clip fixed at compile time for the common
  // bounds) through every kind of clip the kernel shortens (a bound of -0
  // or +0 on either side, an infinite one, none): the results are
  // arith.maximumf / minimumf's, bit for bit (NaN stays NaN, +0 is above
  // -0; maxps and minps alone get both wrong).
  int64_t M = 12, N = 40, K = 8;
  float inf = std::numeric_limits<float>::infinity();
  std::vector<float> A(size_t(M * K), 1.0f), B(size_t(K * N), 0.5f);
  for (int64_t i = 0; i < M; i += 4) {
    A[size_t(i * K)] = std::numeric_limits<float>::quiet_NaN();
    for (int64_t k = 0; k < K; ++k) {
      A[size_t((i + 1) * K + k)] = 0.0f;
      A[size_t((i + 3) * K + k)] = -1.0f;
    }
  }
  std::vector<float> C(size_t(M * N)), D(size_t(M * N), kSentinel);
  const float product[] = {std::numeric_limits<float>::quiet_NaN(), 0.0f, 4.0f,
                           -4.0f};
  const float bounds[][2] = {{-0.0f, 6.0f}, {0.0f, 6.0f},  {0.0f, inf},
                             {-inf, 0.0f},  {-inf, -0.0f}, {-1.0f, 1.0f},
                             {-0.0f, 0.0f}, {-inf, inf}};
  memc::rt::PackedGemmIsa best = memc::rt::packedGemmIsa();
  for (memc::rt::PackedGemmIsa isa : isasHere()) {
    memc::rt::limitPackedGemmIsa(isa);
    for (const auto &b : bounds) {
      memc_rt_sgemm_packed_a_ep(0, M, N, K, A.data(), K, B.data(), N, 0.0f,
                                C.data(), N, nullptr, nullptr, 0, 0, 0, b[0],
                                b[1], D.data(), N, 0, 0, nullptr, 0.0f);
      for (int64_t i = 0; i < M; ++i) {
        float want = minimumOf(maximumOf(product[i % 4], b[0]), b[1]);
        for (int64_t j = 0; j < N; ++j) {
          float got = D[size_t(i * N + j)];
          ASSERT_TRUE(std::isnan(want) ? std::isnan(got)
                                       : std::memcmp(&got, &want, 4) == 0)
              << "lo=" << b[0] << " hi=" << b[1] << " row " << i << " got "
              << got << " want " << want << " isa " << int(isa);
        }
      }
    }
    memc::rt::forgetPackedWeights(A.data(), A.size() * sizeof(float));
  }
  memc::rt::limitPackedGemmIsa(best);
}

} // namespace
