//===- PackedGemmTestUtil.h - what the packed GEMM tests share --*- C++ -*-===//
#ifndef MEMC_TEST_UNIT_RUNTIME_PACKEDGEMMTESTUTIL_H
#define MEMC_TEST_UNIT_RUNTIME_PACKEDGEMMTESTUTIL_H

#include "PackedGemm.h"

#include <random>
#include <vector>

namespace memc::test {

/// `n` floats uniform in [-1, 1) from `seed`.
inline std::vector<float> randomVec(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> v(n);
  for (float &x : v)
    x = u(rng);
  return v;
}

/// Every kernel version this CPU runs (AVX-512, AVX2, plain loops).
inline std::vector<rt::PackedGemmIsa> isasHere() {
  std::vector<rt::PackedGemmIsa> out;
  for (int i = 0; i <= int(rt::packedGemmIsa()); ++i)
    out.push_back(rt::PackedGemmIsa(i));
  return out;
}

} // namespace memc::test

#endif // MEMC_TEST_UNIT_RUNTIME_PACKEDGEMMTESTUTIL_H
