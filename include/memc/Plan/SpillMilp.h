//===- SpillMilp.h - Budgeted mapping's spill choice as a MILP --*- C++ -*-===//
//
// Under a capacity C, a budgeted plan keeps some buffers on the host: each
// costs its transferCost and needs its footprint in the arena only at its
// use steps. Whatever the packing, the device load at every step (resident
// footprints plus staging slots) is at most the arena, so choosing the host
// set H to minimize sum(transferCost) subject to "load <= C at every step"
// is a relaxation of budgeted mapping: its optimum is a lower bound on the
// transfer cost of every plan that fits C, and when best fit packs its H
// within C, that plan is optimal. The program, one binary h_i per buffer:
//
//   min  sum_i cost_i * h_i
//   s.t. sum_{i live at t, t not a use of i} footprint_i * h_i
//            >= load_t - L           for each step t with load_t > L
//
// where load_t counts every buffer live at t as resident and L = C rounded
// down to the arena alignment. Packing can fragment above the load; then L
// drops by the overshoot and the program is solved again.
//
// Solved with COIN-OR CBC (haveMilpSolver(), Remat.h); without it the
// functions below report no solution.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_PLAN_SPILLMILP_H
#define MEMC_PLAN_SPILLMILP_H

#include "memc/Plan/Problem.h"

#include <cstddef>
#include <optional>

namespace memc::plan {

struct SpillMilpOptions {
  /// Problems with more buffers are not attempted (the program has one row
  /// per step over the live buffers: quadratic).
  size_t maxBuffers = 3000;
  /// Branch-and-bound nodes per solve: what bounds the work, the same on
  /// every machine (the generated and train-step instances of `make
  /// bench-plan` are solved at the root or within a few hundred nodes).
  int maxNodes = 5000;
  /// Safety net on all the solves together, in seconds.
  double timeLimitSeconds = 1.0;
  /// Solves in all: the first at C, the others at lower loads after a
  /// packing overflowed.
  int attempts = 6;
};

/// The relaxation's optimum at the capacity: a lower bound on every fitting
/// plan's transfer cost (within CBC's relative gap of 1e-6) when `proven`.
struct SpillBound {
  bool proven = false;
  double cost = 0.0;
};

/// Whether a plan costing `cost` meets a proven bound, within CBC's
/// relative gap: such a plan is as good as any within the capacity.
inline bool meetsSpillBound(double cost, const SpillBound &bound) {
  return bound.proven && cost <= bound.cost * (1 + 1e-6);
}

/// The relaxation alone (one solve at C). Not proven when there is no
/// solver, the problem is too large or a limit stopped the solve.
SpillBound spilledCostLowerBound(const Problem &problem,
                                 const SpillMilpOptions &options = {});

/// The plan from the relaxation's host set: packed with best fit over the
/// residents' intervals and the staging slots, then host buffers reclaimed
/// into free gaps (as budgetedPlan does). nullopt when no attempt packs
/// within C, or no solver ran. `bound` (optional) receives the first
/// solve's bound; `stoppedByClock` whether the time limit cut a solve.
/// Algorithm name "budgeted_milp".
std::optional<Plan> milpSpillPlan(const Problem &problem,
                                  const SpillMilpOptions &options = {},
                                  SpillBound *bound = nullptr,
                                  bool *stoppedByClock = nullptr);

} // namespace memc::plan

#endif // MEMC_PLAN_SPILLMILP_H
