//===- Mapper.h - The learned memory mapper ---------------------*- C++ -*-===//
//
// The entry point the compiler calls (DESIGN.md, "Memory planning and the
// mallocGame"): runMapper plans a Problem with every method memc has and
// returns the best verified plan, so it is never worse than the heuristics
// it runs beside. The methods:
//  - the baselines of Heuristics.h (naive, greedy_by_size, best_fit;
//    budgetedPlan under a capacity);
//  - MCTS on the mallocGame (MallocGame.h) guided by the policy/value
//    network (PolicyNet.h): "mallocgame_mcts";
//  - under a capacity, the spill MILP (SpillMilp.h): "budgeted_milp", whose
//    bound also says when a plan is optimal;
//  - for packing, a local search over the visiting order of best fit,
//    seeded with XLA's order: "best_fit_search". Best fit's fit rule is
//    good; its one fixed order is what loses space around the peak, and
//    reordering a few buffers recovers most of it.
//
// Everything is deterministic given the options: the searches are budgeted
// by counted work, not by the clock. timeLimitSeconds is only a safety net
// that stops the searches early (and then the result depends on the
// machine's speed); the default budgets finish well inside it.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_PLAN_MAPPER_H
#define MEMC_PLAN_MAPPER_H

#include "memc/Plan/MallocGame.h"
#include "memc/Plan/PolicyNet.h"
#include "memc/Plan/Problem.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace memc::plan {

struct MapperOptions {
  uint64_t seed = 0;
  /// MCTS simulations per searched decision (0: the network's greedy play).
  int simulations = 16;
  /// Safety net on the wall-clock time of the searches (see file comment).
  double timeLimitSeconds = 1.5;
  /// Policy/value weights; empty means the ones built into the library.
  std::string weightsPath;
};

struct MapperResult {
  /// The best plan found; plan.algorithm == winner.
  Plan plan;
  /// "mallocgame_mcts", "best_fit_search", "budgeted_search",
  /// "budgeted_milp", or the heuristic that won:
  /// "best_fit", "greedy_by_size", "naive", "budgeted_best_fit",
  /// "budgeted_all_host". A search wins only when strictly better.
  std::string winner;
  uint64_t lowerBound = 0;
  /// Packing arenas of "naive", "greedy_by_size" and "best_fit" (always run,
  /// also under a capacity, as reference points).
  std::map<std::string, uint64_t> heuristicArenaBytes;
  /// Under a capacity: the spill MILP's lower bound on any fitting plan's
  /// transfer cost (SpillMilp.h), or -1 where it was not proven. When the
  /// best heuristic's or the MILP's plan meets it, the searches are skipped.
  double transferCostBound = -1;
  /// The arena of the MCTS plan (0 when the game found no plan, or did not
  /// run because a budgeted plan already met transferCostBound).
  uint64_t mctsArenaBytes = 0;
  double seconds = 0;
  /// A search was cut short by timeLimitSeconds (the plan is the best one
  /// found by then: a search's or a heuristic's).
  bool timedOut = false;
};

/// Plans `problem`. Packing (capacity 0): the smallest arena. Budgeted: the
/// lowest transfer cost among plans whose arena fits the capacity (ties: the
/// smaller arena). Fails when the problem is invalid, the weights file does
/// not load, or (with budgetedPlan's message) the capacity is below
/// minFeasibleBudgetFromUses. Every returned plan passed verifyPlan.
Outcome<MapperResult> runMapper(const Problem &problem,
                                const MapperOptions &options);

/// MCTS on the mallocGame.
struct MctsOptions {
  /// Seeds the Dirichlet exploration noise at each searched root (only
  /// when rootNoise > 0, as in training).
  uint64_t seed = 0;
  int simulations = 16;
  /// Weight of the noise mixed into the root priors (AlphaZero: 0.25).
  double rootNoise = 0.0;
  /// Counted work (moves played in the tree and in rollouts, and legal-move
  /// scans) for the whole episode; decisions get equal shares and fall back
  /// to the greedy policy when their share buys no simulation.
  uint64_t workBudget = 2'000'000;
  /// Leaves are scored by a greedy rollout of the policy to the end of the
  /// episode (exact) up to this many buffers, by the value network above.
  size_t rolloutLimit = 1500;
  double timeLimitSeconds = 0; // 0 = none.
  /// Keep a TrainingSample per searched decision.
  bool record = false;
};

struct MctsResult {
  /// The best complete episode seen (the played one or any rollout); its
  /// state is terminal. found is false when every episode hit a dead end.
  bool found = false;
  MallocGame::State best;
  double bestScore = kDeadEndScore;
  /// The score of the episode actually played move by move.
  double playedScore = kDeadEndScore;
  std::vector<TrainingSample> samples;
  uint64_t work = 0;
  int searchedDecisions = 0;
  /// The time limit stopped the search before its work budget was spent.
  bool stoppedByClock = false;
};

MctsResult runMcts(const MallocGame &game, const PolicyNet &net,
                   const MctsOptions &options);

/// Best fit (Heuristics.h's rule) under a searched visiting order: starting
/// from XLA's order, repeatedly move a buffer (the one ending highest, or a
/// random one) earlier or swap neighbours, keeping changes that do not
/// raise the arena. At most `maxPacks` packings (the first is XLA's order)
/// and `workBudget` buffer-pair visits in all (a packing visits the pairs
/// that overlap in time). Deterministic given `seed` unless the time limit
/// (0: none) cuts it short. Packing only (ignores the capacity).
/// `stoppedByClock`, when given, says whether the time limit cut it short.
Plan bestFitSearchPlan(const Problem &problem, uint64_t seed, uint64_t maxPacks,
                       uint64_t workBudget, double timeLimitSeconds = 0,
                       bool *stoppedByClock = nullptr);

} // namespace memc::plan

#endif // MEMC_PLAN_MAPPER_H
