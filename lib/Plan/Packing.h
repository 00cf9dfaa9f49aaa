//===- Packing.h - The best-gap packing loop shared by planners -*- C++ -*-===//
//
// Internal to lib/Plan. TFLite's arena planner and XLA's heap simulator use
// the same fit rule and differ in the order they visit buffers, and budgeted
// mapping packs resident buffers together with staging slots, so the rule
// lives here once, over plain items rather than Buffers.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_LIB_PLAN_PACKING_H
#define MEMC_LIB_PLAN_PACKING_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace memc::plan::detail {

/// Something to place: `bytes` (a footprint) over steps [start, end].
struct PackItem {
  int64_t start = 0;
  int64_t end = 0;
  /// The size the visiting order looks at (the buffer's size, as in XLA and
  /// TFLite), and the footprint it occupies.
  uint64_t size = 0;
  uint64_t bytes = 0;
  uint64_t alignment = 1;
};

/// Offsets for `items` (parallel to it), visited in `order`. Each item goes
/// into the smallest gap, among already placed items overlapping it in time,
/// that holds it at its alignment (the lowest gap on ties), or above all of
/// them. Zero-byte items get offset 0. O(n^2) time, O(n) space.
std::vector<uint64_t> packBestGap(const std::vector<PackItem> &items,
                                  const std::vector<size_t> &order);

/// XLA's spatial order: size descending, interval length descending, then
/// position.
std::vector<size_t> decreasingSizeOrder(const std::vector<PackItem> &items);

} // namespace memc::plan::detail

#endif // MEMC_LIB_PLAN_PACKING_H
