//===- BestFitSearch.cpp - Local search over best fit's visiting order ----===//
//
// Best fit packs well once its order is right; what costs space is the few
// buffers its size order visits too late, so that they end up above the
// peak. The search is a plain hill climb with sideways moves over orders:
// promote the buffer that ends highest (the one setting the arena) to an
// earlier random position, or a random buffer, or swap near neighbours;
// keep the change when the arena does not grow. Each step re-packs with
// the shared fit rule (Packing.h), so every candidate is a best-fit plan.
//
//===----------------------------------------------------------------------===//

#include "memc/Plan/Mapper.h"

#include "Packing.h"

#include <algorithm>
#include <chrono>
#include <random>

namespace memc::plan {
namespace {

using detail::PackItem;

uint64_t extentOf(const std::vector<PackItem> &items,
                  const std::vector<uint64_t> &offsets) {
  uint64_t extent = 0;
  for (size_t i = 0; i < items.size(); ++i)
    if (items[i].bytes != 0)
      extent = std::max(extent, offsets[i] + items[i].bytes);
  return extent;
}

/// Pairs of buffers that overlap in time: what one packing pass visits.
uint64_t overlappingPairs(const std::vector<PackItem> &items) {
  std::vector<std::pair<int64_t, int>> events;
  for (const PackItem &item : items) {
    events.push_back({item.start, 1});
    events.push_back({item.end + 1, -1});
  }
  std::sort(events.begin(), events.end());
  uint64_t pairs = 0, live = 0;
  for (const auto &event : events) {
    if (event.second > 0)
      pairs += live++;
    else
      --live;
  }
  return pairs;
}

} // namespace

Plan bestFitSearchPlan(const Problem &problem, uint64_t seed, uint64_t maxPacks,
                       uint64_t workBudget, double timeLimitSeconds,
                       bool *stoppedByClock) {
  if (stoppedByClock)
    *stoppedByClock = false;
  auto started = std::chrono::steady_clock::now();
  std::vector<PackItem> items;
  items.reserve(problem.buffers.size());
  for (const Buffer &b : problem.buffers)
    items.push_back({b.start, b.end, b.size, footprint(b), b.alignment});
  const size_t n = items.size();
  const uint64_t workPerPack = n + overlappingPairs(items);

  std::vector<size_t> order = detail::decreasingSizeOrder(items);
  std::vector<uint64_t> offsets = detail::packBestGap(items, order);
  uint64_t extent = extentOf(items, offsets);
  uint64_t work = workPerPack, packs = 1;

  std::mt19937_64 engine(seed);
  auto below = [&](size_t bound) {
    return static_cast<size_t>(engine() % bound);
  };
  std::vector<size_t> candidate, position(n);
  while (n >= 2 && packs < maxPacks && work + workPerPack <= workBudget &&
         extent > 0) {
    if (timeLimitSeconds > 0 && std::chrono::duration<double>(
                                    std::chrono::steady_clock::now() - started)
                                        .count() > timeLimitSeconds) {
      if (stoppedByClock)
        *stoppedByClock = true;
      break;
    }
    work += workPerPack;
    ++packs;
    candidate = order;
    for (size_t p = 0; p < n; ++p)
      position[candidate[p]] = p;
    uint64_t kind = engine() % 4;
    if (kind < 2) {
      // Promote a buffer: one of those reaching the top, or any.
      size_t victim = below(n);
      if (kind == 0) {
        std::vector<size_t> topmost;
        for (size_t i = 0; i < n; ++i)
          if (items[i].bytes != 0 && offsets[i] + items[i].bytes == extent)
            topmost.push_back(i);
        if (!topmost.empty())
          victim = topmost[below(topmost.size())];
      }
      size_t from = position[victim];
      if (from == 0)
        continue;
      size_t to = below(from);
      candidate.erase(candidate.begin() + from);
      candidate.insert(candidate.begin() + to, victim);
    } else {
      size_t i = below(n - 1);
      size_t j = std::min(n - 1, i + 1 + below(3));
      std::swap(candidate[i], candidate[j]);
    }
    std::vector<uint64_t> tried = detail::packBestGap(items, candidate);
    uint64_t triedExtent = extentOf(items, tried);
    if (triedExtent <= extent) {
      order.swap(candidate);
      offsets.swap(tried);
      extent = triedExtent;
    }
  }

  Plan plan;
  plan.algorithm = "best_fit_search";
  plan.placements.resize(n);
  for (size_t i = 0; i < n; ++i) {
    plan.placements[i].location = Location::Arena;
    plan.placements[i].offset = offsets[i];
  }
  summarizePlan(problem, plan);
  return plan;
}

} // namespace memc::plan
