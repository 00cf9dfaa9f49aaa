//===- Simd.h - what the runtime's vector kernels share ---------*- C++ -*-===//
//
// The target attributes that let one object hold AVX2 and AVX-512 kernels
// beside portable code (the caller chooses by packedGemmIsa), and the lane
// masks of a partial vector. No MLIR here.
//
//===----------------------------------------------------------------------===//

#ifndef MEMC_RUNTIME_CPU_SIMD_H
#define MEMC_RUNTIME_CPU_SIMD_H

#include <immintrin.h>

#include <cstdint>

#define MEMC_AVX512 __attribute__((target("avx512f")))
#define MEMC_AVX2 __attribute__((target("avx2,fma")))

namespace memc::rt {

/// A mask of the first `live` of 16 lanes (none when live <= 0).
inline __mmask16 lowLanes(int64_t live) {
  return live <= 0    ? __mmask16(0)
         : live >= 16 ? __mmask16(0xFFFF)
                      : __mmask16((1u << live) - 1);
}

} // namespace memc::rt

#endif // MEMC_RUNTIME_CPU_SIMD_H
