//===- Heuristics.h - Baseline memory planners ------------------*- C++ -*-===//
//
// The planners that memc's learned mapper is measured against and never
// returns worse than (DESIGN.md): naive (no reuse), greedy by size (TFLite's
// arena planner) and best fit by decreasing size (XLA's heap simulator), and
// a budgeted mapper that keeps buffers on the host when a device capacity is
// set. All are deterministic: the same problem gives the same plan.
//
// Every planner assumes validateProblem(problem) is empty. The packing
// planners ignore Problem::capacity; budgetedPlan honours it.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_PLAN_HEURISTICS_H
#define MEMC_PLAN_HEURISTICS_H

#include "memc/Plan/Problem.h"

namespace memc::plan {

/// No reuse: buffers stacked in problem order, each at the previous end
/// aligned up. The arena is the sum of footprints (plus alignment padding);
/// the reference point "how much does planning save". O(n).
Plan naivePlan(const Problem &problem);

/// TFLite's arena planner (ArenaPlanner + SimpleMemoryArena). Buffers that
/// span the whole schedule first (by position), then by size descending, then
/// by start step. Each goes into the smallest gap, among the already placed
/// buffers that overlap it in time, that holds it at its alignment; the
/// lowest such gap on ties; above them all when none does. O(n^2).
Plan greedyBySizePlan(const Problem &problem);

/// XLA's GlobalDecreasingSizeBestFitHeap (spatial order): buffers by size
/// descending, then live-interval length descending, then position. Each goes
/// into the smallest free chunk over its live interval that holds it (lowest
/// offset on ties), or on top. The same fit rule as TFLite's, a different
/// order: the two baselines are the two production planners, so the mapper
/// is compared with what users would otherwise get. O(n^2).
Plan bestFitPlan(const Problem &problem);

/// Budgeted mapping under Problem::capacity (C). A buffer either lives in the
/// arena for its whole interval or on the host, where it costs its
/// transferCost and borrows arena space (a staging slot) at each use step.
///
/// The heuristic, deterministic throughout:
///  1. Spill by load: while the step with the highest device load (resident
///     footprints plus staging slots) exceeds a target, move to the host the
///     resident buffer live there, and not used there, with the lowest
///     transfer cost per byte (ties: larger footprint, longer interval, lower
///     position). Spilling a buffer unused at the peak step always lowers it.
///  2. Pack residents and staging slots with best fit (bestFitPlan's order
///     and rule). Done when the arena fits under C.
///  3. Packing may fragment above the load, so on failure the target drops
///     by C/8 and steps 1-2 repeat (eight tries in all).
///  4. Fallback, always feasible at C >= minBudget: every buffer on the host,
///     each step's slots stacked by decreasing alignment (no padding).
///  5. Reclaim: host buffers, most expensive first, return to the arena
///     wherever a gap below C is free over their whole live interval
///     (spilling by load cannot see where packing left room).
///
/// Algorithm name "budgeted_best_fit", or "budgeted_all_host" when the plan
/// came from the fallback (typically when the capacity equals a lower bound
/// set by one op's working set and best fit fragments above it).
/// O(n^2) per packing try; ~0.9 s for 10,000 buffers at the tightest budget.
///
/// With C = 0 (unbounded) this is bestFitPlan with no spills. Fails, naming
/// the step, when C is below minFeasibleBudgetFromUses(problem).minBudget.
Outcome<Plan> budgetedPlan(const Problem &problem);

/// A local search over which buffers the budgeted plan keeps on the host,
/// from `start` (a plan within the capacity, typically budgetedPlan's):
/// the spill heuristic picks victims by transfer cost per byte at each
/// peak, blind to what a victim's absence does to the packing, so keeping
/// one host buffer resident and spilling around it, or sending a cheap
/// resident one to the host first, can cost less. Each move does one of
/// those (host buffers most expensive first, then the 32 residents cheapest
/// per byte) on top of the moves already taken, and spills and packs again;
/// a plan that fits and costs less is taken, and the search goes on from it
/// until a pass finds nothing, `maxPacks` moves were tried or
/// `timeLimitSeconds` (0: none) passed (then `stoppedByClock`). Never
/// costlier than `start`. Algorithm name "budgeted_search".
Plan budgetedSearchPlan(const Problem &problem, const Plan &start,
                        uint64_t maxPacks, double timeLimitSeconds,
                        bool *stoppedByClock = nullptr);

} // namespace memc::plan

#endif // MEMC_PLAN_HEURISTICS_H
