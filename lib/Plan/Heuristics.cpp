//===- Heuristics.cpp - Naive, greedy-by-size and best-fit planners -------===//
//
// The packing baselines. greedyBySizePlan and bestFitPlan reproduce the
// production planners' orders and fit rule (TFLite SimpleMemoryArena /
// ArenaPlanner, XLA GlobalDecreasingSizeBestFitHeap) so that "better than
// the heuristics" means better than what those compilers would do.
//
//===----------------------------------------------------------------------===//

#include "memc/Plan/Heuristics.h"

#include "Packing.h"

#include <algorithm>
#include <limits>
#include <tuple>

namespace memc::plan {
namespace detail {

std::vector<uint64_t> packBestGap(const std::vector<PackItem> &items,
                                  const std::vector<size_t> &order) {
  constexpr uint64_t kNone = std::numeric_limits<uint64_t>::max();
  std::vector<uint64_t> offsets(items.size(), 0);
  // Placed non-empty items by ascending offset, so that one pass over the
  // ones overlapping in time sees the gaps between them bottom to top.
  std::vector<size_t> byOffset;
  byOffset.reserve(items.size());
  for (size_t index : order) {
    const PackItem &item = items[index];
    if (item.bytes == 0)
      continue; // Occupies nothing; offset 0 is aligned for any alignment.
    uint64_t top = 0; // Highest end among overlapping items seen so far.
    uint64_t bestOffset = kNone, bestGap = kNone;
    for (size_t placedIndex : byOffset) {
      const PackItem &placed = items[placedIndex];
      if (placed.end < item.start || placed.start > item.end)
        continue;
      uint64_t placedOffset = offsets[placedIndex];
      if (placedOffset > top) {
        // The gap [top, placedOffset) is free over the whole interval.
        uint64_t candidate = alignUp(top, item.alignment);
        uint64_t gap = placedOffset - top;
        if (candidate + item.bytes <= placedOffset && gap < bestGap) {
          bestGap = gap;
          bestOffset = candidate;
          // No later gap can be strictly smaller than an exact fit.
          if (gap == item.bytes)
            break;
        }
      }
      top = std::max(top, placedOffset + placed.bytes);
    }
    if (bestOffset == kNone)
      bestOffset = alignUp(top, item.alignment);
    offsets[index] = bestOffset;
    auto at = std::upper_bound(
        byOffset.begin(), byOffset.end(), bestOffset,
        [&](uint64_t offset, size_t other) { return offset < offsets[other]; });
    byOffset.insert(at, index);
  }
  return offsets;
}

std::vector<size_t> decreasingSizeOrder(const std::vector<PackItem> &items) {
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const PackItem &x = items[a], &y = items[b];
    return std::make_tuple(y.size, x.start - x.end, a) <
           std::make_tuple(x.size, y.start - y.end, b);
  });
  return order;
}

} // namespace detail

namespace {

using detail::PackItem;

std::vector<PackItem> itemsOf(const Problem &problem) {
  std::vector<PackItem> items;
  items.reserve(problem.buffers.size());
  for (const Buffer &b : problem.buffers)
    items.push_back({b.start, b.end, b.size, footprint(b), b.alignment});
  return items;
}

Plan planFromOffsets(const Problem &problem, const char *algorithm,
                     const std::vector<uint64_t> &offsets) {
  Plan plan;
  plan.algorithm = algorithm;
  plan.placements.resize(problem.buffers.size());
  for (size_t i = 0; i < offsets.size(); ++i) {
    plan.placements[i].location = Location::Arena;
    plan.placements[i].offset = offsets[i];
  }
  summarizePlan(problem, plan);
  return plan;
}

} // namespace

Plan naivePlan(const Problem &problem) {
  std::vector<uint64_t> offsets;
  offsets.reserve(problem.buffers.size());
  uint64_t end = 0;
  for (const Buffer &b : problem.buffers) {
    uint64_t offset = alignUp(end, b.alignment);
    offsets.push_back(offset);
    end = offset + footprint(b);
  }
  return planFromOffsets(problem, "naive", offsets);
}

Plan greedyBySizePlan(const Problem &problem) {
  std::vector<PackItem> items = itemsOf(problem);
  int64_t first = std::numeric_limits<int64_t>::max();
  int64_t last = std::numeric_limits<int64_t>::min();
  for (const Buffer &b : problem.buffers) {
    first = std::min(first, b.start);
    last = std::max(last, b.end);
  }
  // TFLite puts tensors alive for the whole run first, at the bottom of the
  // arena, where they never fragment the space the others share.
  auto spansAll = [&](size_t i) {
    return items[i].start == first && items[i].end == last;
  };
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    bool allA = spansAll(a), allB = spansAll(b);
    if (allA != allB)
      return allA;
    if (allA)
      return a < b;
    if (items[a].size != items[b].size)
      return items[a].size > items[b].size;
    return std::make_tuple(items[a].start, a) <
           std::make_tuple(items[b].start, b);
  });
  return planFromOffsets(problem, "greedy_by_size",
                         detail::packBestGap(items, order));
}

Plan bestFitPlan(const Problem &problem) {
  std::vector<PackItem> items = itemsOf(problem);
  return planFromOffsets(
      problem, "best_fit",
      detail::packBestGap(items, detail::decreasingSizeOrder(items)));
}

} // namespace memc::plan
