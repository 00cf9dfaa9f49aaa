//===- PlanTestUtil.h - Shared helpers of the lib/Plan tests ----*- C++ -*-===//
//
// Small builders for hand-made problems, a gtest assertion that runs the
// verifier, and an exact solver for tiny instances that the heuristics are
// compared against.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_TEST_UNIT_PLAN_PLANTESTUTIL_H
#define MEMC_TEST_UNIT_PLAN_PLANTESTUTIL_H

#include "memc/Plan/Heuristics.h"
#include "memc/Plan/Problem.h"
#include "memc/Plan/Verifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

namespace memc::plan::test {

inline Buffer makeBuffer(int64_t id, uint64_t size, int64_t start, int64_t end,
                         uint64_t alignment = kArenaAlignment) {
  Buffer b;
  b.id = id;
  b.size = size;
  b.start = start;
  b.end = end;
  b.alignment = alignment;
  b.producer = "op" + std::to_string(id);
  return b;
}

inline Problem makeProblem(std::vector<Buffer> buffers, uint64_t capacity = 0) {
  Problem p;
  p.buffers = std::move(buffers);
  p.capacity = capacity;
  return p;
}

/// Passes when the verifier finds nothing; otherwise lists what it found.
inline ::testing::AssertionResult isSound(const Problem &problem,
                                          const Plan &plan) {
  std::vector<std::string> violations = verifyPlan(problem, plan);
  if (violations.empty())
    return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure();
  failure << plan.algorithm << " plan has " << violations.size()
          << " violation(s):";
  for (const std::string &v : violations)
    failure << "\n  " << v;
  return failure;
}

/// The baselines by name, for tests that hold for each of them.
struct NamedPlanner {
  const char *name;
  Plan (*run)(const Problem &);
};
inline const std::vector<NamedPlanner> &packingPlanners() {
  static const std::vector<NamedPlanner> planners = {
      {"naive", naivePlan},
      {"greedy_by_size", greedyBySizePlan},
      {"best_fit", bestFitPlan}};
  return planners;
}

/// The smallest arena extent (before rounding to kArenaAlignment) of any
/// valid placement, for at most 8 buffers. Placing buffers first-fit in the
/// order of their offsets in an optimal placement puts each at or below its
/// optimal offset, so the minimum over all orders of first fit is optimal.
inline uint64_t optimalExtent(const Problem &problem) {
  const std::vector<Buffer> &bs = problem.buffers;
  std::vector<size_t> order(bs.size());
  std::iota(order.begin(), order.end(), 0);
  uint64_t best = UINT64_MAX;
  do {
    std::vector<uint64_t> offsets(bs.size(), 0);
    std::vector<size_t> placed;
    uint64_t extent = 0;
    for (size_t i : order) {
      uint64_t offset = 0;
      for (bool moved = true; moved;) {
        moved = false;
        for (size_t q : placed) {
          if (bs[q].end < bs[i].start || bs[q].start > bs[i].end)
            continue;
          uint64_t qEnd = offsets[q] + footprint(bs[q]);
          if (offsets[q] < offset + footprint(bs[i]) && offset < qEnd &&
              footprint(bs[i]) != 0 && footprint(bs[q]) != 0) {
            offset = alignUp(qEnd, bs[i].alignment);
            moved = true;
          }
        }
      }
      offsets[i] = offset;
      placed.push_back(i);
      if (footprint(bs[i]) != 0)
        extent = std::max(extent, offset + footprint(bs[i]));
    }
    best = std::min(best, extent);
  } while (std::next_permutation(order.begin(), order.end()));
  return best;
}

/// The highest offset + footprint of a plan's arena buffers.
inline uint64_t extentOf(const Problem &problem, const Plan &plan) {
  uint64_t extent = 0;
  for (size_t i = 0; i < plan.placements.size(); ++i)
    if (plan.placements[i].location == Location::Arena &&
        footprint(problem.buffers[i]) != 0)
      extent = std::max(extent, plan.placements[i].offset +
                                    footprint(problem.buffers[i]));
  return extent;
}

} // namespace memc::plan::test

#endif // MEMC_TEST_UNIT_PLAN_PLANTESTUTIL_H
