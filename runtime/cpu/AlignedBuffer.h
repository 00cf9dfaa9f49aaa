//===- AlignedBuffer.h - 64-byte aligned float buffers ----------*- C++ -*-===//
//
// The kernels' storage: packed weights and per-thread scratch, aligned to
// a cache line (and to an AVX-512 register). No MLIR here.
//
//===----------------------------------------------------------------------===//

#ifndef MEMC_RUNTIME_CPU_ALIGNEDBUFFER_H
#define MEMC_RUNTIME_CPU_ALIGNEDBUFFER_H

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace memc::rt {

struct FreeAligned {
  void operator()(float *p) const { std::free(p); }
};

/// The bytes a 64-byte aligned block of `floats` floats takes: whole
/// lines, at least one.
inline size_t alignedBytes(size_t floats) {
  return (std::max<size_t>(floats * sizeof(float), 64) + 63) / 64 * 64;
}

/// 64-byte aligned storage for `floats` floats (its size, whole lines, in
/// `bytes`), or null.
inline float *allocateAligned(size_t floats, size_t &bytes) {
  bytes = alignedBytes(floats);
  return static_cast<float *>(std::aligned_alloc(64, bytes));
}

/// A 64-byte aligned buffer that grows to the largest size asked of it;
/// each use is a thread_local of its own. It starts zeroed, so that
/// lanes a kernel reads but never uses hold no stale denormals or NaNs.
struct ScratchBuffer {
  std::unique_ptr<float, FreeAligned> data;
  size_t floats = 0;

  /// At least `n` floats, or null when they cannot be had.
  float *get(size_t n) {
    if (floats < n) {
      size_t bytes;
      data.reset(allocateAligned(n, bytes));
      floats = data ? n : 0;
      if (data)
        std::memset(data.get(), 0, bytes);
    }
    return data.get();
  }
};

} // namespace memc::rt

#endif // MEMC_RUNTIME_CPU_ALIGNEDBUFFER_H
