//===- CompareTest.cpp - assert_allclose semantics ------------------------===//
//
// The rule must agree with numpy.testing.assert_allclose at its edges
// (NaN, infinities, the <= at the tolerance boundary), or conformance
// results here and in the ONNX test suite would differ.
//
//===----------------------------------------------------------------------===//

#include "memc/Runtime/Compare.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

using namespace memc::rt;

namespace {

CompareStats cmpF32(std::vector<float> a, std::vector<float> b,
                    double rtol = 1e-3, double atol = 1e-5) {
  return compareBuffers(DType::F32, a.data(), b.data(), a.size(), rtol, atol);
}

const float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

} // namespace

TEST(Compare, ExactMatch) {
  CompareStats s = cmpF32({1, 2, 3}, {1, 2, 3});
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.total, 3u);
  EXPECT_EQ(s.maxAbsErr, 0);
  EXPECT_EQ(s.maxRelErr, 0);
}

TEST(Compare, NaNMatchesOnlyNaN) {
  EXPECT_TRUE(cmpF32({kNaN}, {kNaN}).ok());
  EXPECT_TRUE(cmpF32({-kNaN}, {kNaN}).ok());
  CompareStats s = cmpF32({kNaN}, {1});
  EXPECT_EQ(s.mismatches, 1u);
  EXPECT_TRUE(std::isinf(s.maxAbsErr));
  EXPECT_EQ(cmpF32({1}, {kNaN}).mismatches, 1u);
  EXPECT_EQ(cmpF32({kInf}, {kNaN}).mismatches, 1u);
}

TEST(Compare, InfinitiesMatchExactly) {
  CompareStats same = cmpF32({kInf, -kInf}, {kInf, -kInf});
  EXPECT_TRUE(same.ok());
  EXPECT_EQ(same.maxAbsErr, 0); // not NaN from inf - inf
  EXPECT_EQ(cmpF32({kInf}, {-kInf}).mismatches, 1u);
  // However large the tolerance, a finite value is not an infinity.
  EXPECT_EQ(cmpF32({3e38f}, {kInf}, 1e30, 1e30).mismatches, 1u);
  EXPECT_EQ(cmpF32({kInf}, {3e38f}, 1e30, 1e30).mismatches, 1u);
}

TEST(Compare, ToleranceBoundaryIsInclusive) {
  // Values exact in binary: bound = atol + rtol*|b| = 0.25 + 0.5*1 = 0.75.
  EXPECT_TRUE(cmpF32({1.75f}, {1.0f}, 0.5, 0.25).ok());
  EXPECT_TRUE(cmpF32({0.25f}, {1.0f}, 0.5, 0.25).ok());
  EXPECT_EQ(cmpF32({std::nextafter(1.75f, 2.0f)}, {1.0f}, 0.5, 0.25).mismatches,
            1u);
  EXPECT_EQ(cmpF32({std::nextafter(0.25f, 0.0f)}, {1.0f}, 0.5, 0.25).mismatches,
            1u);
}

TEST(Compare, RelativeToleranceUsesTheReference) {
  // |a-b| = 1; bound uses |b| only: b = 10 -> 0.1*10 = 1 ok; swapped
  // (b = 9) -> 0.9 < 1 mismatch. Not symmetric, like numpy.
  EXPECT_TRUE(cmpF32({9}, {10}, 0.1, 0).ok());
  EXPECT_EQ(cmpF32({10}, {9}, 0.1, 0).mismatches, 1u);
}

TEST(Compare, AtolAloneAtZero) {
  EXPECT_TRUE(cmpF32({1e-5f}, {0}, 1e-3, 1e-5).ok());
  EXPECT_EQ(cmpF32({2e-5f}, {0}, 1e-3, 1e-5).mismatches, 1u);
  // b == 0 contributes no relative error.
  EXPECT_EQ(cmpF32({2e-5f}, {0}).maxRelErr, 0);
}

TEST(Compare, DefaultTolerancesAndStats) {
  CompareStats s = cmpF32({1.0005f, 2.0f, 100.2f}, {1.0f, 2.0f, 100.0f});
  EXPECT_EQ(s.mismatches, 1u); // 0.2 > 1e-5 + 0.1
  EXPECT_NEAR(s.maxAbsErr, 0.2, 1e-5);
  EXPECT_NEAR(s.maxRelErr, 0.002, 1e-6);
}

TEST(Compare, Float64) {
  std::vector<double> a = {1.0 + 1e-12, 5}, b = {1.0, 5};
  EXPECT_TRUE(compareBuffers(DType::F64, a.data(), b.data(), 2, 0, 1e-11).ok());
  EXPECT_FALSE(
      compareBuffers(DType::F64, a.data(), b.data(), 2, 0, 1e-13).ok());
}

TEST(Compare, HalfTypesCompareAsFloat) {
  std::vector<uint16_t> a = {floatToHalf(1.0f), floatToHalf(kNaN),
                             floatToHalf(kInf)};
  std::vector<uint16_t> b = {floatToHalf(1.0009765625f), floatToHalf(kNaN),
                             floatToHalf(kInf)};
  // 1 vs 1+2^-10: within rtol 1e-3 (|b|*1e-3 ~ 1.001e-3 >= 9.77e-4).
  EXPECT_TRUE(compareBuffers(DType::F16, a.data(), b.data(), 3, 1e-3, 0).ok());
  EXPECT_FALSE(compareBuffers(DType::F16, a.data(), b.data(), 3, 1e-4, 0).ok());
  std::vector<uint16_t> c = {floatToBf16(2.0f)}, d = {floatToBf16(2.015625f)};
  CompareStats s = compareBuffers(DType::BF16, c.data(), d.data(), 1, 0, 0.01);
  EXPECT_EQ(s.mismatches, 1u);
  EXPECT_NEAR(s.maxAbsErr, 0.015625, 1e-9);
}

TEST(Compare, IntegersAreExact) {
  std::vector<int32_t> a = {1, 2, 3}, b = {1, 2, 4};
  CompareStats s =
      compareBuffers(DType::I32, a.data(), b.data(), 3, 1.0, 100.0);
  EXPECT_EQ(s.mismatches, 1u); // tolerances do not apply
  EXPECT_EQ(s.maxAbsErr, 1);

  std::vector<int64_t> x = {INT64_MAX, INT64_MIN}, y = {INT64_MAX - 1, 0};
  s = compareBuffers(DType::I64, x.data(), y.data(), 2, 0, 0);
  EXPECT_EQ(s.mismatches, 2u);
  EXPECT_GT(s.maxAbsErr, 9e18);

  std::vector<uint64_t> u = {UINT64_MAX}, v = {UINT64_MAX - 1};
  s = compareBuffers(DType::U64, u.data(), v.data(), 1, 0, 0);
  EXPECT_EQ(s.mismatches, 1u);
  EXPECT_EQ(s.maxAbsErr, 1); // exact even where doubles cannot tell them apart

  std::vector<uint8_t> p = {0, 1, 2}, q = {0, 1, 1};
  EXPECT_EQ(compareBuffers(DType::U8, p.data(), q.data(), 3, 0, 0).mismatches,
            1u);
  std::vector<int8_t> r = {-1}, t = {-1};
  EXPECT_TRUE(compareBuffers(DType::I8, r.data(), t.data(), 1, 0, 0).ok());
}

TEST(Compare, BoolTreatsNonzeroAsTrue) {
  std::vector<uint8_t> a = {0, 1, 2, 0}, b = {0, 1, 1, 1};
  CompareStats s = compareBuffers(DType::Bool, a.data(), b.data(), 4, 0, 0);
  EXPECT_EQ(s.mismatches, 1u);
  EXPECT_EQ(s.total, 4u);
}

TEST(Compare, Empty) {
  CompareStats s = compareBuffers(DType::F32, nullptr, nullptr, 0, 0, 0);
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.total, 0u);
}
