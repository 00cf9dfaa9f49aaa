//===- ArenaPlanRecord.h - what memc-buffer-mapping decided -----*- C++ -*-===//
//
// memc-buffer-mapping decides the memory plan inside the pass pipeline; the
// driver needs the same plan afterwards for --report, --timeline and
// --emit=plan. Rather than re-deriving it from attributes, the driver hands
// the pass a callback that receives this record. It is plain data in the
// planner's terms (no MLIR), so the report needs nothing of the pass.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_PLAN_ARENAPLANRECORD_H
#define MEMC_PLAN_ARENAPLANRECORD_H

#include "memc/Plan/Problem.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace memc {

/// Everything the pass decided, in the planner's terms.
struct ArenaPlanRecord {
  plan::Problem problem;
  plan::Plan plan;
  /// Parallel to problem.buffers: shape and element type, "4x128xf32".
  std::vector<std::string> bufferTypes;
  /// Parallel to problem.buffers: host pool offsets of host buffers.
  std::vector<uint64_t> hostOffsets;
  /// Parallel to problem.buffers: made by an op a train step recomputes in
  /// its backward (memc.recomputed).
  std::vector<bool> recomputed;
  /// Parallel to problem.buffers: a swapped activation's device copy, made
  /// by a copy from its host buffer (memc.swap_in) for one backward reader.
  std::vector<bool> swappedIn;
  /// Host copies of swapped activations (memc-activation-swap): their
  /// bytes, in the host pool beside the plan's spilled buffers, and their
  /// offsets there (in the order of BufferLiveness::hostAllocs).
  uint64_t swappedBytes = 0;
  std::vector<uint64_t> swapOffsets;
  /// One name per schedule step ("node (linalg.generic)").
  std::vector<std::string> stepNames;
  uint64_t lowerBound = 0;
  plan::BudgetFloor floor;
  /// The budget asked for (0: none).
  uint64_t budget = 0;
  uint64_t hostPoolBytes = 0;
  /// Under a budget: the spill MILP's lower bound on the modeled transfer
  /// cost of any plan within it (ms), or -1 where none was proven.
  double transferCostBound = -1;
  /// Arena bytes of the baselines, by name: naive, greedy_by_size, best_fit.
  std::map<std::string, uint64_t> heuristics;
  /// Which planner's plan was kept (Plan::algorithm).
  std::string mapper;
  bool verified = false;
  double plannerSeconds = 0;
  /// Allocations left on the heap, with the reason.
  std::vector<std::string> unplanned;
  /// Set when the pass failed because the budget is below the floor.
  bool budgetTooSmall = false;
  /// The mapper's time limit, and whether it cut a search short.
  double timeLimitSeconds = 0;
  bool timedOut = false;
};

} // namespace memc

#endif // MEMC_PLAN_ARENAPLANRECORD_H
