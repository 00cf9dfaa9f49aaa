//===- Mapper.cpp - The learned memory mapper -----------------------------===//
//
// Runs the baselines and the searches on one problem and keeps the best
// plan that the independent verifier accepts. The baselines run first and
// are the fallback: a search's plan replaces them only when it is strictly
// better and verified, which is what makes "never worse than the
// heuristics" a property of the code rather than of the training.
//
//===----------------------------------------------------------------------===//

#include "memc/Plan/Mapper.h"

#include "memc/Plan/Heuristics.h"
#include "memc/Plan/SpillMilp.h"
#include "memc/Plan/Verifier.h"

#include <algorithm>
#include <chrono>

namespace memc::plan {
namespace {

/// The MCTS budget: counted work for the whole episode. About 0.1 s for the
/// generated forward+backward programs of ~130 buffers on a slow core.
constexpr uint64_t kMctsWork = 100'000;
/// The order search: at most this many re-packs, and this many buffer-pair
/// visits in all (which caps it at a few re-packs on 10,000 buffers).
constexpr uint64_t kSearchPacks = 400;
constexpr uint64_t kSearchWork = 6'000'000;
/// The budgeted search: at most this many spill-and-pack moves, and this
/// much work in all, a move counting n^2 / 16 for n buffers (best-fit
/// packing's worst case; a move on 10,000 buffers takes about 0.9 s).
constexpr uint64_t kBudgetedPacks = 200;
constexpr uint64_t kBudgetedWork = 8'000'000;

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

/// Budgeted order: lower transfer cost, then smaller arena.
bool betterBudgeted(const Plan &a, const Plan &b) {
  if (a.transferCost != b.transferCost)
    return a.transferCost < b.transferCost;
  return a.arenaBytes < b.arenaBytes;
}

} // namespace

Outcome<MapperResult> runMapper(const Problem &problem,
                                const MapperOptions &options) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::string> errors = validateProblem(problem);
  if (!errors.empty())
    return Outcome<MapperResult>::failure("invalid planning problem: " +
                                          errors.front());
  PolicyNet loaded;
  const PolicyNet *net = &PolicyNet::embedded();
  if (!options.weightsPath.empty()) {
    Outcome<PolicyNet> read = PolicyNet::readFile(options.weightsPath);
    if (!read)
      return Outcome<MapperResult>::failure(read.error());
    loaded = *read;
    net = &loaded;
  }

  MapperResult result;
  result.lowerBound = lowerBound(problem);
  const bool budgeted = problem.capacity != 0;

  // The packing baselines, in the order they are preferred on ties.
  std::vector<Plan> baselines;
  baselines.push_back(bestFitPlan(problem));
  baselines.push_back(greedyBySizePlan(problem));
  baselines.push_back(naivePlan(problem));
  for (const Plan &plan : baselines)
    result.heuristicArenaBytes[plan.algorithm] = plan.arenaBytes;

  Plan incumbent;
  if (budgeted) {
    Outcome<Plan> plan = budgetedPlan(problem);
    if (!plan)
      return Outcome<MapperResult>::failure(plan.error());
    incumbent = *plan;
  } else {
    incumbent = baselines.front();
    for (const Plan &plan : baselines)
      if (plan.arenaBytes < incumbent.arenaBytes)
        incumbent = plan;
  }
  // The heuristics' plans are checked too: a bug there must not reach the
  // compiler either.
  std::vector<std::string> violations = verifyPlan(problem, incumbent, 1);
  if (!violations.empty())
    return Outcome<MapperResult>::failure(
        "internal error: the " + incumbent.algorithm +
        " plan is invalid: " + violations.front());

  auto offer = [&](Plan plan) {
    bool better = budgeted ? plan.arenaBytes <= problem.capacity &&
                                 betterBudgeted(plan, incumbent)
                           : plan.arenaBytes < incumbent.arenaBytes;
    if (better && verifyPlan(problem, plan, 1).empty())
      incumbent = std::move(plan);
  };

  // Under a capacity, the spill MILP's plan, and its bound: a plan at the
  // bound is optimal, and the searches below could not improve on it.
  bool optimal = false;
  if (budgeted) {
    SpillMilpOptions milp;
    milp.timeLimitSeconds = options.timeLimitSeconds / 3;
    SpillBound bound;
    bool stopped = false;
    if (std::optional<Plan> plan =
            milpSpillPlan(problem, milp, &bound, &stopped))
      offer(std::move(*plan));
    result.timedOut |= stopped;
    if (bound.proven)
      result.transferCostBound = bound.cost;
    optimal = meetsSpillBound(incumbent.transferCost, bound);
  }
  if (!optimal) {
    MallocGame game(problem);
    MctsOptions mcts;
    mcts.seed = options.seed;
    mcts.simulations = options.simulations;
    mcts.workBudget = kMctsWork;
    mcts.timeLimitSeconds = options.timeLimitSeconds / 2;
    MctsResult searched = runMcts(game, *net, mcts);
    result.timedOut |= searched.stoppedByClock;
    if (searched.found) {
      Plan plan = game.toPlan(searched.best, "mallocgame_mcts");
      result.mctsArenaBytes = plan.arenaBytes;
      offer(std::move(plan));
    }
  }

  if (budgeted && !optimal) {
    double left = options.timeLimitSeconds - secondsSince(started);
    bool stopped = left <= 0;
    uint64_t n = problem.buffers.size();
    uint64_t packs = std::clamp<uint64_t>(
        kBudgetedWork / std::max<uint64_t>(n * n / 16, 1), 1, kBudgetedPacks);
    if (left > 0)
      offer(budgetedSearchPlan(problem, incumbent, packs, left, &stopped));
    result.timedOut |= stopped;
  }

  if (!budgeted && problem.buffers.size() >= 2) {
    double left = options.timeLimitSeconds - secondsSince(started);
    bool stopped = left <= 0;
    if (left > 0)
      offer(bestFitSearchPlan(problem, options.seed, kSearchPacks, kSearchWork,
                              left, &stopped));
    result.timedOut |= stopped;
  }

  result.plan = std::move(incumbent);
  result.winner = result.plan.algorithm;
  result.seconds = secondsSince(started);
  return result;
}

} // namespace memc::plan
