//===- Problem.cpp - Memory planning problems: checks and bounds ----------===//
//
// The quantities every planner is judged by: the packing lower bound and the
// smallest feasible budget, plus input validation for problems that come
// from outside the compiler (dumped or generated instances).
//
//===----------------------------------------------------------------------===//

#include "memc/Plan/Problem.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace memc::plan {

const char *toString(BufferKind kind) {
  switch (kind) {
  case BufferKind::Activation:
    return "activation";
  case BufferKind::Temporary:
    return "temporary";
  }
  return "unknown";
}

uint64_t alignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

uint64_t footprint(const Buffer &buffer) {
  return alignUp(buffer.size, buffer.alignment);
}

std::vector<int64_t> useSteps(const Buffer &buffer) {
  std::vector<int64_t> steps = buffer.uses;
  if (steps.empty())
    steps = {buffer.start, buffer.end};
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  return steps;
}

std::vector<std::string> validateProblem(const Problem &problem) {
  // Sizes stay far below 2^64 so that no sum or offset a planner forms can
  // wrap around: the naive plan stacks every footprint.
  constexpr uint64_t kMaxBytes = uint64_t(1) << 62;
  std::vector<std::string> errors;
  std::unordered_set<int64_t> seenIds;
  uint64_t totalFootprint = 0;
  for (size_t i = 0; i < problem.buffers.size(); ++i) {
    const Buffer &b = problem.buffers[i];
    auto say = [&](const std::string &what) {
      std::ostringstream os;
      os << "buffer #" << i << " (id " << b.id;
      if (!b.producer.empty())
        os << ", produced by " << b.producer;
      os << "): " << what;
      errors.push_back(os.str());
    };
    if (!seenIds.insert(b.id).second)
      say("duplicate id");
    if (b.alignment == 0 || (b.alignment & (b.alignment - 1)) != 0 ||
        b.alignment > kMaxBytes)
      say("alignment " + std::to_string(b.alignment) +
          " is not a power of two up to 2^62");
    if (b.size > kMaxBytes)
      say("size " + std::to_string(b.size) + " exceeds 2^62 bytes");
    if (b.start < 0 || b.end < b.start ||
        b.end == std::numeric_limits<int64_t>::max())
      say("live interval [" + std::to_string(b.start) + ", " +
          std::to_string(b.end) + "] is not 0 <= start <= end < 2^63-1");
    for (int64_t use : b.uses)
      if (use < b.start || use > b.end)
        say("use at step " + std::to_string(use) +
            " is outside the live interval [" + std::to_string(b.start) + ", " +
            std::to_string(b.end) + "]");
    if (!std::isfinite(b.transferCost) || b.transferCost < 0)
      say("transfer cost must be finite and non-negative");
    if (b.size <= kMaxBytes && b.alignment <= kMaxBytes && b.alignment != 0)
      totalFootprint += footprint(b);
    if (totalFootprint > kMaxBytes)
      say("the footprints up to this buffer add up to more than 2^62 bytes");
  }
  return errors;
}

uint64_t lowerBound(const Problem &problem) {
  // +footprint at start, -footprint at end + 1. Intervals are inclusive, so
  // a buffer ending at t-1 and one starting at t never coexist: at equal
  // times the removal sorts first.
  std::vector<std::pair<int64_t, int64_t>> events;
  events.reserve(2 * problem.buffers.size());
  for (const Buffer &b : problem.buffers) {
    auto bytes = static_cast<int64_t>(footprint(b));
    if (bytes == 0)
      continue;
    events.push_back({b.start, bytes});
    events.push_back({b.end + 1, -bytes});
  }
  std::sort(events.begin(), events.end());
  int64_t live = 0, peak = 0;
  for (const auto &event : events) {
    live += event.second;
    peak = std::max(peak, live);
  }
  return static_cast<uint64_t>(peak);
}

Outcome<BudgetFloor>
minFeasibleBudget(const Problem &problem,
                  const std::vector<std::vector<int64_t>> &idsTouchedByStep) {
  std::unordered_map<int64_t, size_t> indexOfId;
  indexOfId.reserve(problem.buffers.size());
  for (size_t i = 0; i < problem.buffers.size(); ++i)
    indexOfId.emplace(problem.buffers[i].id, i);

  BudgetFloor floor;
  std::vector<size_t> touched;
  for (size_t step = 0; step < idsTouchedByStep.size(); ++step) {
    touched.clear();
    for (int64_t id : idsTouchedByStep[step]) {
      auto it = indexOfId.find(id);
      if (it == indexOfId.end())
        return Outcome<BudgetFloor>::failure(
            "step " + std::to_string(step) + " touches buffer id " +
            std::to_string(id) + ", which is not in the problem");
      touched.push_back(it->second);
    }
    // An op that reads one buffer twice (x * x) needs it once.
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    uint64_t bytes = 0;
    for (size_t index : touched)
      bytes += footprint(problem.buffers[index]);
    if (!touched.empty() && (floor.step < 0 || bytes > floor.workingSetBytes)) {
      floor.workingSetBytes = bytes;
      floor.step = static_cast<int64_t>(step);
    }
  }
  floor.minBudget = alignUp(floor.workingSetBytes, kArenaAlignment);
  return floor;
}

BudgetFloor minFeasibleBudgetFromUses(const Problem &problem) {
  std::vector<std::pair<int64_t, uint64_t>> touches; // (step, footprint)
  for (const Buffer &b : problem.buffers)
    for (int64_t step : useSteps(b))
      touches.push_back({step, footprint(b)});
  std::sort(touches.begin(), touches.end());
  BudgetFloor floor;
  for (size_t i = 0; i < touches.size();) {
    int64_t step = touches[i].first;
    uint64_t bytes = 0;
    for (; i < touches.size() && touches[i].first == step; ++i)
      bytes += touches[i].second;
    if (floor.step < 0 || bytes > floor.workingSetBytes) {
      floor.workingSetBytes = bytes;
      floor.step = step;
    }
  }
  floor.minBudget = alignUp(floor.workingSetBytes, kArenaAlignment);
  return floor;
}

void summarizePlan(const Problem &problem, Plan &plan) {
  uint64_t extent = 0;
  plan.spilledBytes = 0;
  plan.transferCost = 0.0;
  for (size_t i = 0; i < plan.placements.size(); ++i) {
    const Buffer &b = problem.buffers[i];
    const Placement &p = plan.placements[i];
    uint64_t bytes = footprint(b);
    if (p.location == Location::Arena) {
      if (bytes != 0)
        extent = std::max(extent, p.offset + bytes);
    } else if (p.location == Location::Host) {
      plan.spilledBytes += b.size;
      plan.transferCost += b.transferCost;
      for (const StagingSlot &slot : p.staging)
        if (bytes != 0)
          extent = std::max(extent, slot.offset + bytes);
    }
  }
  plan.arenaBytes = alignUp(extent, kArenaAlignment);
}

} // namespace memc::plan
