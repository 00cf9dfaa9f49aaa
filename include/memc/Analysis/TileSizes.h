//===- TileSizes.h - tiles of a loop of static length -----------*- C++ -*-===//
//
// Plain C++ (no MLIR): how the attention lowerings (FuseMax's cascade, the
// train and decode loops) and the decode package's prefill choose tiles.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_ANALYSIS_TILESIZES_H
#define MEMC_ANALYSIS_TILESIZES_H

#include <algorithm>
#include <cstdint>

namespace memc {

/// The largest divisor of `n` up to `cap` (1 when there is none above it).
inline int64_t largestDivisorAtMost(int64_t n, int64_t cap) {
  for (int64_t d = std::min(n, cap); d > 1; --d)
    if (n % d == 0)
      return d;
  return 1;
}

/// A tile of at most `cap` for a loop of `n`: the largest divisor of n up
/// to cap when it is at least half of that, so that every tile is full;
/// otherwise the fewest tiles of at most cap, as even as they go, the last
/// one shorter (197 at 128: 99, and a last tile of 98, not 128 and 69).
inline int64_t tileNear(int64_t n, int64_t cap) {
  cap = std::max<int64_t>(1, std::min(n, cap));
  int64_t d = largestDivisorAtMost(n, cap);
  if (2 * d >= cap)
    return d;
  int64_t tiles = (n + cap - 1) / cap;
  return (n + tiles - 1) / tiles;
}

} // namespace memc

#endif // MEMC_ANALYSIS_TILESIZES_H
