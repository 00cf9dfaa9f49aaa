//===- Budgeted.cpp - Budgeted mapping: which buffers live on the host ----===//
//
// The heuristic baseline for the mallocGame's budgeted mode (Heuristics.h
// documents the algorithm). The model: a buffer on the host costs its
// transferCost and needs its footprint in the arena only at its use steps
// (staging slots), so moving a buffer out lowers the device load everywhere
// in its interval except where an op touches it. That is also why the
// largest single-step working set is the floor below which no plan exists.
//
//===----------------------------------------------------------------------===//

#include "memc/Plan/Heuristics.h"

#include "HostPlacement.h"
#include "Packing.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>
#include <tuple>

namespace memc::plan {
namespace {

using detail::PackItem;

/// Device load (bytes) per step, over the steps where it can rise: starts of
/// intervals and use steps (between them it only falls, so its maximum is
/// attained at one of them). A segment tree with range add and a global
/// leftmost argmax, O(log P) per update.
class LoadProfile {
public:
  explicit LoadProfile(std::vector<int64_t> steps) : steps(std::move(steps)) {
    size_t n = std::max<size_t>(this->steps.size(), 1);
    maxOf.assign(4 * n, 0);
    pending.assign(4 * n, 0);
  }

  int64_t stepAt(size_t point) const { return steps[point]; }

  /// Adds `delta` to the load at the points within steps [from, to].
  void add(int64_t from, int64_t to, int64_t delta) {
    size_t lo =
        std::lower_bound(steps.begin(), steps.end(), from) - steps.begin();
    size_t past =
        std::upper_bound(steps.begin(), steps.end(), to) - steps.begin();
    if (lo >= past)
      return;
    add(1, 0, steps.size() - 1, lo, past - 1, delta);
  }

  /// The highest load and its first point; {min, 0} without points.
  std::pair<int64_t, size_t> peak() const {
    if (steps.empty())
      return {std::numeric_limits<int64_t>::min(), 0};
    // Siblings share their ancestors' pending adds, so comparing their own
    // maxima picks the side that holds the peak; ties go left.
    size_t node = 1, lo = 0, hi = steps.size() - 1;
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (maxOf[2 * node] >= maxOf[2 * node + 1]) {
        node = 2 * node;
        hi = mid;
      } else {
        node = 2 * node + 1;
        lo = mid + 1;
      }
    }
    return {maxOf[1], lo};
  }

private:
  void add(size_t node, size_t lo, size_t hi, size_t from, size_t to,
           int64_t delta) {
    if (to < lo || hi < from)
      return;
    if (from <= lo && hi <= to) {
      maxOf[node] += delta;
      pending[node] += delta;
      return;
    }
    size_t mid = (lo + hi) / 2;
    add(2 * node, lo, mid, from, to, delta);
    add(2 * node + 1, mid + 1, hi, from, to, delta);
    maxOf[node] =
        std::max(maxOf[2 * node], maxOf[2 * node + 1]) + pending[node];
  }

  std::vector<int64_t> steps;
  /// Max of the subtree including its own pending add, excluding ancestors'.
  std::vector<int64_t> maxOf;
  std::vector<int64_t> pending;
};

/// Spill decisions and the load they leave, kept across attempts: a lower
/// target only ever adds spills.
class Spiller {
public:
  /// `pinned` (empty, or one flag per buffer): buffers never spilled.
  explicit Spiller(const Problem &problem, std::vector<bool> pinned = {})
      : problem(problem), onHost(problem.buffers.size(), false),
        pinned(std::move(pinned)), profile(detail::loadRisePoints(problem)) {
    uses.reserve(problem.buffers.size());
    for (const Buffer &b : problem.buffers) {
      uses.push_back(useSteps(b));
      profile.add(b.start, b.end, static_cast<int64_t>(footprint(b)));
    }
  }

  /// Moves `index` to the host whatever the loads (a search's move).
  void force(size_t index) {
    if (!onHost[index] && footprint(problem.buffers[index]) != 0)
      spill(index);
  }

  /// Moves buffers to the host until no step's load exceeds `target`, or
  /// until the steps still above it are only the buffers their ops touch.
  void spillDownTo(uint64_t target) {
    // Points whose load no spill can lower are pushed out of the max query;
    // no spill raises any load, so they need no revisit.
    const int64_t kRetired = int64_t(1) << 62;
    std::vector<size_t> retired;
    // Loads stay below 2^62 (validateProblem), so a larger target is met.
    const int64_t limit = static_cast<int64_t>(
        std::min<uint64_t>(target, std::numeric_limits<int64_t>::max()));
    for (;;) {
      auto [load, point] = profile.peak();
      if (load <= limit)
        break;
      int64_t step = profile.stepAt(point);
      size_t victim = cheapestToSpillAt(step);
      if (victim == kNoBuffer) {
        profile.add(step, step, -kRetired);
        retired.push_back(point);
        continue;
      }
      spill(victim);
    }
    for (size_t point : retired) {
      int64_t step = profile.stepAt(point);
      profile.add(step, step, kRetired);
    }
  }

  const std::vector<bool> &hostSet() const { return onHost; }

private:
  static constexpr size_t kNoBuffer = static_cast<size_t>(-1);

  /// The resident buffer live at `step` and not used there with the lowest
  /// transfer cost per footprint byte (ties: larger footprint, longer
  /// interval, lower position), or kNoBuffer.
  size_t cheapestToSpillAt(int64_t step) const {
    size_t best = kNoBuffer;
    for (size_t i = 0; i < problem.buffers.size(); ++i) {
      const Buffer &b = problem.buffers[i];
      uint64_t bytes = footprint(b);
      if (onHost[i] || (!pinned.empty() && pinned[i]) || bytes == 0 ||
          step < b.start || step > b.end ||
          std::binary_search(uses[i].begin(), uses[i].end(), step))
        continue;
      if (best == kNoBuffer || cheaper(i, best))
        best = i;
    }
    return best;
  }

  bool cheaper(size_t a, size_t b) const {
    const Buffer &x = problem.buffers[a], &y = problem.buffers[b];
    // Cross-multiplied to compare cost per byte without division.
    double lhs = x.transferCost * static_cast<double>(footprint(y));
    double rhs = y.transferCost * static_cast<double>(footprint(x));
    if (lhs != rhs)
      return lhs < rhs;
    return std::make_tuple(footprint(y), y.end - y.start, a) <
           std::make_tuple(footprint(x), x.end - x.start, b);
  }

  void spill(size_t index) {
    const Buffer &b = problem.buffers[index];
    auto bytes = static_cast<int64_t>(footprint(b));
    onHost[index] = true;
    profile.add(b.start, b.end, -bytes);
    for (int64_t step : uses[index])
      profile.add(step, step, bytes);
  }

  const Problem &problem;
  std::vector<bool> onHost;
  std::vector<bool> pinned;
  std::vector<std::vector<int64_t>> uses;
  LoadProfile profile;
};

} // namespace

namespace detail {

std::vector<int64_t> loadRisePoints(const Problem &problem) {
  std::vector<int64_t> points;
  for (const Buffer &b : problem.buffers) {
    points.push_back(b.start);
    for (int64_t step : useSteps(b))
      points.push_back(step);
  }
  std::sort(points.begin(), points.end());
  points.erase(std::unique(points.begin(), points.end()), points.end());
  return points;
}

Plan packWithHostSet(const Problem &problem, const std::vector<bool> &onHost) {
  std::vector<PackItem> items;
  std::vector<size_t> ownerOf; // Item -> buffer position.
  for (size_t i = 0; i < problem.buffers.size(); ++i) {
    const Buffer &b = problem.buffers[i];
    if (!onHost[i]) {
      items.push_back({b.start, b.end, b.size, footprint(b), b.alignment});
      ownerOf.push_back(i);
      continue;
    }
    for (int64_t step : useSteps(b)) {
      items.push_back({step, step, b.size, footprint(b), b.alignment});
      ownerOf.push_back(i);
    }
  }
  std::vector<uint64_t> offsets =
      detail::packBestGap(items, detail::decreasingSizeOrder(items));

  Plan plan;
  plan.algorithm = "budgeted_best_fit";
  plan.placements.resize(problem.buffers.size());
  for (size_t item = 0; item < items.size(); ++item) {
    Placement &placement = plan.placements[ownerOf[item]];
    if (onHost[ownerOf[item]]) {
      placement.location = Location::Host;
      // Items of one buffer were appended in ascending step order.
      placement.staging.push_back({items[item].start, offsets[item]});
    } else {
      placement.location = Location::Arena;
      placement.offset = offsets[item];
    }
  }
  summarizePlan(problem, plan);
  return plan;
}

void reclaimHostBuffers(const Problem &problem, uint64_t usable, Plan &plan) {
  struct Occupied {
    int64_t start, end;
    uint64_t lo, hi;
    size_t owner;
    bool alive;
  };
  std::vector<Occupied> occupied;
  std::vector<size_t> hostBuffers;
  for (size_t i = 0; i < problem.buffers.size(); ++i) {
    const Buffer &b = problem.buffers[i];
    const Placement &p = plan.placements[i];
    uint64_t bytes = footprint(b);
    if (p.location == Location::Arena) {
      if (bytes != 0)
        occupied.push_back(
            {b.start, b.end, p.offset, p.offset + bytes, i, true});
      continue;
    }
    hostBuffers.push_back(i);
    for (const StagingSlot &slot : p.staging)
      occupied.push_back(
          {slot.step, slot.step, slot.offset, slot.offset + bytes, i, true});
  }
  std::sort(hostBuffers.begin(), hostBuffers.end(), [&](size_t a, size_t b) {
    double x = problem.buffers[a].transferCost;
    double y = problem.buffers[b].transferCost;
    return x != y ? x > y : a < b;
  });
  // Kept by ascending offset so that each candidate's gaps come out of one
  // pass, without sorting per candidate.
  auto byOffset = [](const Occupied &a, const Occupied &b) {
    return a.lo < b.lo;
  };
  std::sort(occupied.begin(), occupied.end(), byOffset);

  for (size_t index : hostBuffers) {
    const Buffer &b = problem.buffers[index];
    uint64_t bytes = footprint(b);
    // Smallest gap that holds the buffer, the space up to `usable` above
    // everything counting as the last gap; lowest on ties.
    uint64_t top = 0, bestOffset = 0, bestGap = UINT64_MAX;
    auto consider = [&](uint64_t gapEnd) {
      uint64_t candidate = alignUp(top, b.alignment);
      if (gapEnd > top && candidate + bytes <= gapEnd &&
          gapEnd - top < bestGap) {
        bestGap = gapEnd - top;
        bestOffset = candidate;
      }
    };
    for (const Occupied &o : occupied) {
      if (!o.alive || o.owner == index || o.end < b.start || o.start > b.end)
        continue;
      if (o.lo > top)
        consider(o.lo);
      top = std::max(top, o.hi);
    }
    if (usable > top)
      consider(usable);
    if (bestGap == UINT64_MAX)
      continue;
    for (Occupied &o : occupied)
      if (o.owner == index)
        o.alive = false;
    Occupied resident{b.start, b.end, bestOffset, bestOffset + bytes,
                      index,   true};
    occupied.insert(
        std::upper_bound(occupied.begin(), occupied.end(), resident, byOffset),
        resident);
    Placement &placement = plan.placements[index];
    placement.location = Location::Arena;
    placement.offset = bestOffset;
    placement.staging.clear();
  }
  summarizePlan(problem, plan);
}

uint64_t usableBytes(const Problem &problem) {
  return problem.capacity & ~(kArenaAlignment - 1);
}

} // namespace detail

namespace {

using detail::packWithHostSet;
using detail::reclaimHostBuffers;
using detail::usableBytes;

/// Every non-empty buffer on the host, each step's slots stacked by
/// decreasing alignment. Each footprint is a multiple of its alignment, so
/// every slot starts aligned with no padding, and a step needs exactly its
/// working set: within any capacity >= the budget floor.
Plan allOnHostPlan(const Problem &problem) {
  struct Slot {
    int64_t step;
    size_t buffer;
  };
  std::vector<Slot> slots;
  Plan plan;
  plan.algorithm = "budgeted_all_host";
  plan.placements.resize(problem.buffers.size());
  for (size_t i = 0; i < problem.buffers.size(); ++i) {
    const Buffer &b = problem.buffers[i];
    if (footprint(b) == 0) {
      plan.placements[i].location = Location::Arena;
      continue;
    }
    plan.placements[i].location = Location::Host;
    for (int64_t step : useSteps(b))
      slots.push_back({step, i});
  }
  auto key = [&](const Slot &s) {
    const Buffer &b = problem.buffers[s.buffer];
    return std::make_tuple(s.step, ~b.alignment, ~footprint(b), s.buffer);
  };
  std::sort(slots.begin(), slots.end(),
            [&](const Slot &a, const Slot &b) { return key(a) < key(b); });
  uint64_t top = 0;
  for (size_t i = 0; i < slots.size(); ++i) {
    if (i == 0 || slots[i].step != slots[i - 1].step)
      top = 0;
    plan.placements[slots[i].buffer].staging.push_back({slots[i].step, top});
    top += footprint(problem.buffers[slots[i].buffer]);
  }
  // Slots were visited by step, so each buffer's list is ascending.
  summarizePlan(problem, plan);
  return plan;
}

/// Spills (never a `pinned` buffer, and `forced` ones first) down to a
/// target that starts at `usable` and drops by an eighth per try until the
/// best-fit packing fits, then reclaims what it can; nothing when no try
/// fits.
std::optional<Plan> spillAndPack(const Problem &problem, uint64_t usable,
                                 const std::vector<bool> &pinned,
                                 const std::vector<size_t> &forced = {}) {
  constexpr int kAttempts = 8;
  Spiller spiller(problem, pinned);
  for (size_t index : forced)
    spiller.force(index);
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    uint64_t target = usable - usable / kAttempts * attempt;
    spiller.spillDownTo(target);
    Plan plan = packWithHostSet(problem, spiller.hostSet());
    if (plan.arenaBytes <= usable) {
      reclaimHostBuffers(problem, usable, plan);
      return plan;
    }
  }
  return std::nullopt;
}

} // namespace

Outcome<Plan> budgetedPlan(const Problem &problem) {
  if (problem.capacity == 0) {
    Plan plan = bestFitPlan(problem);
    plan.algorithm = "budgeted_best_fit";
    return plan;
  }
  BudgetFloor floor = minFeasibleBudgetFromUses(problem);
  if (floor.minBudget > problem.capacity)
    return Outcome<Plan>::failure(
        "memory budget of " + std::to_string(problem.capacity) +
        " bytes is below the smallest feasible budget of " +
        std::to_string(floor.minBudget) + " bytes: the op at step " +
        std::to_string(floor.step) + " alone touches " +
        std::to_string(floor.workingSetBytes) + " bytes");

  const uint64_t usable = usableBytes(problem);
  if (std::optional<Plan> plan = spillAndPack(problem, usable, {}))
    return *plan;
  Plan plan = allOnHostPlan(problem);
  reclaimHostBuffers(problem, usable, plan);
  return plan;
}

Plan budgetedSearchPlan(const Problem &problem, const Plan &start,
                        uint64_t maxPacks, double timeLimitSeconds,
                        bool *stoppedByClock) {
  const auto started = std::chrono::steady_clock::now();
  auto outOfTime = [&] {
    return timeLimitSeconds > 0 &&
           std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         started)
                   .count() >= timeLimitSeconds;
  };
  if (stoppedByClock)
    *stoppedByClock = false;
  Plan best = start;
  if (problem.capacity == 0)
    return best;
  const uint64_t usable = usableBytes(problem);
  std::vector<bool> pinned(problem.buffers.size(), false);
  std::vector<size_t> forced;
  uint64_t packs = 0;
  // Moves, first improvement, until a whole pass finds nothing: pin a host
  // buffer in the arena (most expensive first), or send a resident one to
  // the host before the spills (cheapest per byte first, the kForced
  // cheapest), each on top of the moves already taken; then spill and pack.
  constexpr size_t kForced = 32;
  auto perByte = [&](size_t i) {
    return problem.buffers[i].transferCost /
           static_cast<double>(
               std::max<uint64_t>(footprint(problem.buffers[i]), 1));
  };
  bool exhausted = false;
  for (bool improved = true; improved && !exhausted;) {
    improved = false;
    std::vector<size_t> onHost, resident;
    for (size_t i = 0; i < problem.buffers.size(); ++i) {
      if (pinned[i] || footprint(problem.buffers[i]) == 0)
        continue;
      (best.placements[i].location == Location::Host ? onHost : resident)
          .push_back(i);
    }
    std::stable_sort(onHost.begin(), onHost.end(), [&](size_t a, size_t b) {
      return problem.buffers[a].transferCost > problem.buffers[b].transferCost;
    });
    std::stable_sort(resident.begin(), resident.end(), [&](size_t a, size_t b) {
      return perByte(a) < perByte(b);
    });
    resident.resize(std::min(resident.size(), kForced));
    std::vector<std::pair<size_t, bool>> moves; // (buffer, pin?)
    for (size_t i : onHost)
      moves.push_back({i, true});
    for (size_t i : resident)
      moves.push_back({i, false});
    for (auto [candidate, pin] : moves) {
      if (packs >= maxPacks || outOfTime()) {
        exhausted = true;
        break;
      }
      ++packs;
      if (pin)
        pinned[candidate] = true;
      else
        forced.push_back(candidate);
      std::optional<Plan> plan = spillAndPack(problem, usable, pinned, forced);
      if (plan && plan->transferCost < best.transferCost) {
        best = std::move(*plan);
        improved = true;
        break;
      }
      if (pin)
        pinned[candidate] = false;
      else
        forced.pop_back();
    }
  }
  if (stoppedByClock)
    *stoppedByClock = exhausted && packs < maxPacks;
  best.algorithm = "budgeted_search";
  return best;
}

} // namespace memc::plan
