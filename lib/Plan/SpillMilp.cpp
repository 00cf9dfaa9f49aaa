//===- SpillMilp.cpp - Budgeted mapping's spill choice as a MILP ----------===//
//
// SpillMilp.h states the program and why its optimum bounds every plan.
// Rows are built at the steps where the load can rise (interval starts and
// use steps; between them it only falls: detail::loadRisePoints, which the
// heuristic's load profile uses too), and footprints enter in units of the
// arena alignment, which keeps the coefficients small and exact.
//
//===----------------------------------------------------------------------===//

#include "memc/Plan/SpillMilp.h"

#include "HostPlacement.h"
#include "MilpBuilder.h"
#include "memc/Plan/Mapper.h"
#include "memc/Plan/Remat.h"

#include <algorithm>
#include <chrono>

namespace memc::plan {

#ifndef MEMC_HAVE_CBC

SpillBound spilledCostLowerBound(const Problem &, const SpillMilpOptions &) {
  return {};
}

std::optional<Plan> milpSpillPlan(const Problem &, const SpillMilpOptions &,
                                  SpillBound *bound, bool *stoppedByClock) {
  if (bound)
    *bound = {};
  if (stoppedByClock)
    *stoppedByClock = false;
  return std::nullopt;
}

#else

namespace {

/// One solve's outcome: the host set and its transfer cost.
struct HostChoice {
  bool solved = false;
  bool proven = false;
  bool timedOut = false;
  std::vector<bool> onHost;
  double cost = 0.0;
};

/// The program's rows before the load limits: at each step where the load
/// can rise, the load with every buffer resident and the buffers a spill
/// lowers it by. Built once; each solve only sets the limits.
class SpillProgram {
public:
  explicit SpillProgram(const Problem &problem)
      : problem(problem), points(detail::loadRisePoints(problem)),
        loads(points.size(), 0), spillable(points.size()) {
    for (size_t i = 0; i < problem.buffers.size(); ++i) {
      const Buffer &b = problem.buffers[i];
      uint64_t bytes = footprint(b);
      std::vector<int64_t> uses = useSteps(b);
      auto lo = std::lower_bound(points.begin(), points.end(), b.start);
      auto hi = std::upper_bound(points.begin(), points.end(), b.end);
      for (auto it = lo; it < hi; ++it) {
        size_t p = it - points.begin();
        loads[p] += bytes;
        if (bytes != 0 && !std::binary_search(uses.begin(), uses.end(), *it))
          spillable[p].push_back(i);
      }
    }
  }

  /// The steps where the load can rise, ascending.
  const std::vector<int64_t> &steps() const { return points; }

  /// The host set of least transfer cost whose load is at most `limits[p]`
  /// bytes at each step `steps()[p]`.
  HostChoice solve(const std::vector<uint64_t> &limits, int maxNodes,
                   double seconds) const {
    // Costs in microseconds, bytes in arena-alignment units: both keep
    // CBC's absolute tolerances well below one unit.
    constexpr double kCostScale = 1e3;
    const double unit = static_cast<double>(kArenaAlignment);
    size_t n = problem.buffers.size();
    detail::MilpBuilder milp;
    std::vector<int> column(n, -1);
    for (size_t i = 0; i < n; ++i)
      if (footprint(problem.buffers[i]) != 0)
        column[i] =
            milp.addBinary(problem.buffers[i].transferCost * kCostScale);
    bool anyRow = false;
    for (size_t p = 0; p < points.size(); ++p) {
      if (loads[p] <= limits[p])
        continue;
      std::vector<std::pair<int, double>> terms;
      for (size_t i : spillable[p])
        terms.push_back({column[i], footprint(problem.buffers[i]) / unit});
      milp.addRow(std::move(terms), 'G', (loads[p] - limits[p]) / unit);
      anyRow = true;
    }
    HostChoice choice;
    choice.onHost.assign(n, false);
    if (!anyRow) {
      // Everything fits resident: nothing to solve.
      choice.solved = choice.proven = true;
      return choice;
    }
    std::vector<double> x;
    bool infeasible = false;
    milp.solve(seconds, maxNodes, x, choice.proven, choice.timedOut,
               infeasible);
    if (x.size() != milp.numColumns())
      return choice;
    choice.solved = true;
    for (size_t i = 0; i < n; ++i)
      if (column[i] >= 0 && x[column[i]] > 0.5) {
        choice.onHost[i] = true;
        choice.cost += problem.buffers[i].transferCost;
      }
    return choice;
  }

private:
  const Problem &problem;
  std::vector<int64_t> points;
  /// Per point: every live footprint, and the buffers live there but not
  /// used there (the columns of its row).
  std::vector<uint64_t> loads;
  std::vector<std::vector<size_t>> spillable;
};

/// The order search's budget for one host set (bestFitSearchPlan's units).
constexpr uint64_t kSearchPacks = 200;
constexpr uint64_t kSearchWork = 4'000'000;

/// `onHost` packed within `usable` by best fit under a searched visiting
/// order, over the residents and the staging slots as separate items: for
/// a host set whose plain best-fit packing (`bestFit`) fragments above the
/// capacity. nullopt when the search does not fit it either.
std::optional<Plan> searchedPackWithin(const Problem &problem,
                                       const std::vector<bool> &onHost,
                                       const Plan &bestFit, uint64_t usable,
                                       double seconds) {
  Problem items;
  std::vector<std::pair<size_t, int64_t>> ownerOf; // (buffer, step or -1)
  for (size_t i = 0; i < problem.buffers.size(); ++i) {
    const Buffer &b = problem.buffers[i];
    std::vector<int64_t> steps =
        onHost[i] ? useSteps(b) : std::vector<int64_t>{-1};
    for (int64_t step : steps) {
      Buffer item = b;
      item.id = static_cast<int64_t>(items.buffers.size());
      item.uses.clear();
      if (step >= 0)
        item.start = item.end = step;
      items.buffers.push_back(std::move(item));
      ownerOf.push_back({i, step});
    }
  }
  Plan packed =
      bestFitSearchPlan(items, /*seed=*/0, kSearchPacks, kSearchWork, seconds);
  if (packed.arenaBytes > usable)
    return std::nullopt;
  Plan plan = bestFit;
  plan.placements.assign(problem.buffers.size(), Placement{});
  for (size_t item = 0; item < ownerOf.size(); ++item) {
    auto [index, step] = ownerOf[item];
    Placement &placement = plan.placements[index];
    uint64_t offset = packed.placements[item].offset;
    if (step < 0) {
      placement.location = Location::Arena;
      placement.offset = offset;
    } else {
      // Items of one buffer were appended in ascending step order.
      placement.location = Location::Host;
      placement.staging.push_back({step, offset});
    }
  }
  summarizePlan(problem, plan);
  return plan;
}

/// Lowers `limits` (per step of `steps`) by how far `plan` reaches above
/// `usable` at that step; false when no limit could drop (nothing
/// overflows, or a limit would reach zero).
bool lowerWhereOverflowing(const Problem &problem,
                           const std::vector<int64_t> &steps, const Plan &plan,
                           uint64_t usable, std::vector<uint64_t> &limits) {
  std::vector<uint64_t> top(steps.size(), 0);
  auto reach = [&](int64_t from, int64_t to, uint64_t end) {
    auto lo = std::lower_bound(steps.begin(), steps.end(), from);
    auto hi = std::upper_bound(steps.begin(), steps.end(), to);
    for (auto it = lo; it < hi; ++it) {
      uint64_t &t = top[it - steps.begin()];
      t = std::max(t, end);
    }
  };
  for (size_t i = 0; i < problem.buffers.size(); ++i) {
    const Buffer &b = problem.buffers[i];
    const Placement &p = plan.placements[i];
    if (p.location == Location::Arena)
      reach(b.start, b.end, p.offset + footprint(b));
    else
      for (const StagingSlot &slot : p.staging)
        reach(slot.step, slot.step, slot.offset + footprint(b));
  }
  bool lowered = false;
  for (size_t p = 0; p < steps.size(); ++p) {
    if (top[p] <= usable)
      continue;
    uint64_t over = alignUp(top[p] - usable, kArenaAlignment);
    if (over >= limits[p])
      return false;
    limits[p] -= over;
    lowered = true;
  }
  return lowered;
}

bool attempted(const Problem &problem, const SpillMilpOptions &options) {
  return problem.capacity != 0 &&
         problem.buffers.size() <= options.maxBuffers &&
         minFeasibleBudgetFromUses(problem).minBudget <= problem.capacity;
}

} // namespace

SpillBound spilledCostLowerBound(const Problem &problem,
                                 const SpillMilpOptions &options) {
  if (!attempted(problem, options))
    return {};
  SpillProgram program(problem);
  HostChoice choice =
      program.solve(std::vector<uint64_t>(program.steps().size(),
                                          detail::usableBytes(problem)),
                    options.maxNodes, options.timeLimitSeconds);
  return {choice.solved && choice.proven, choice.cost};
}

std::optional<Plan> milpSpillPlan(const Problem &problem,
                                  const SpillMilpOptions &options,
                                  SpillBound *bound, bool *stoppedByClock) {
  const auto started = std::chrono::steady_clock::now();
  auto secondsLeft = [&] {
    return options.timeLimitSeconds -
           std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         started)
               .count();
  };
  if (bound)
    *bound = {};
  if (stoppedByClock)
    *stoppedByClock = false;
  if (!attempted(problem, options))
    return std::nullopt;
  SpillProgram program(problem);
  const uint64_t usable = detail::usableBytes(problem);
  // Per step: the load the next solve may leave there.
  std::vector<uint64_t> limits(program.steps().size(), usable);
  for (int attempt = 0; attempt < options.attempts; ++attempt) {
    double left = secondsLeft();
    if (left <= 0) {
      if (stoppedByClock)
        *stoppedByClock = true;
      break;
    }
    HostChoice choice = program.solve(limits, options.maxNodes, left);
    if (stoppedByClock && choice.timedOut)
      *stoppedByClock = true;
    if (attempt == 0 && bound)
      *bound = {choice.solved && choice.proven, choice.cost};
    if (!choice.solved)
      break;
    Plan bestFit = detail::packWithHostSet(problem, choice.onHost);
    std::optional<Plan> plan =
        bestFit.arenaBytes <= usable
            ? std::optional<Plan>(bestFit)
            : searchedPackWithin(problem, choice.onHost, bestFit, usable,
                                 std::max(secondsLeft(), 1e-3));
    if (plan) {
      detail::reclaimHostBuffers(problem, usable, *plan);
      plan->algorithm = "budgeted_milp";
      return plan;
    }
    // Packing fragmented above the load: where best fit put something
    // above the capacity, ask for that much less load.
    if (!lowerWhereOverflowing(problem, program.steps(), bestFit, usable,
                               limits))
      break;
  }
  return std::nullopt;
}

#endif // MEMC_HAVE_CBC

} // namespace memc::plan
