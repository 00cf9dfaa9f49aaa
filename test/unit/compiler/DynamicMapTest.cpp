//===- DynamicMapTest.cpp - the blockwise8 layout's code tables -----------===//
//
// The values 8-bit Adam's codes stand for: 256 distinct values, ascending,
// 0 and 1 among them, the signed map symmetric, small magnitudes down to
// 1e-6 (the dynamic exponent), and a relative step that grows finer with
// the magnitude.
//
//===----------------------------------------------------------------------===//
#include "dialects/optim/OptimDialect.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace {

void expectCommon(const std::vector<float> &map) {
  ASSERT_EQ(map.size(), 256u);
  EXPECT_TRUE(std::is_sorted(map.begin(), map.end()));
  EXPECT_EQ(std::adjacent_find(map.begin(), map.end()), map.end())
      << "duplicate values";
  EXPECT_TRUE(std::binary_search(map.begin(), map.end(), 0.0f));
  EXPECT_EQ(map.back(), 1.0f);
}

TEST(DynamicMap, Signed) {
  std::vector<float> map = memc::optim::dynamicMap(true);
  expectCommon(map);
  // Symmetric but for 1 (the largest magnitude of the positive side).
  for (size_t i = 0; i + 2 < map.size(); ++i)
    EXPECT_EQ(map[i], -map[map.size() - 2 - i]) << i;
  // The smallest nonzero magnitude is in the 1e-6 decade.
  auto zero = std::find(map.begin(), map.end(), 0.0f);
  EXPECT_GT(zero[1], 1e-7f);
  EXPECT_LT(zero[1], 1e-6f);
  EXPECT_GT(map.front(), -1.0f);
  EXPECT_LT(map.front(), -0.99f);
}

TEST(DynamicMap, Unsigned) {
  std::vector<float> map = memc::optim::dynamicMap(false);
  expectCommon(map);
  EXPECT_EQ(map.front(), 0.0f);
  EXPECT_GT(map[1], 1e-7f);
  EXPECT_LT(map[1], 1e-6f);
  // Steps relative to the value: coarse near 1e-6, fine near 1.
  double coarse = (map[2] - map[1]) / map[1];
  double fine = (map[254] - map[253]) / map[253];
  EXPECT_GT(coarse, 10 * fine);
}

} // namespace
