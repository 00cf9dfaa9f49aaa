//===- Verifier.h - Independent memory plan checker -------------*- C++ -*-===//
//
// Checks a Plan against its Problem without trusting any planner: it shares
// no code with them (its own alignment arithmetic, its own overlap search),
// so a bug in a planner cannot hide itself here. Always on in the tests and
// behind `memc --verify-plan`.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_PLAN_VERIFIER_H
#define MEMC_PLAN_VERIFIER_H

#include "memc/Plan/Problem.h"

#include <string>
#include <vector>

namespace memc::plan {

/// Every way `plan` is wrong for `problem`, one readable line each (buffers
/// named by id and producer); empty when the plan is sound. Checked:
///  - one placement per buffer, each in the arena xor on the host;
///  - arena offsets and staging slots aligned to the buffer's alignment;
///    host buffers staged exactly at their use steps and nowhere else;
///  - every offset + footprint within arenaBytes, arenaBytes a multiple of
///    the arena alignment, equal to the placements' extent, and within the
///    capacity when one is set;
///  - no two arena-resident ranges (buffers over their live interval, staging
///    slots over their step) that overlap in time overlap in address;
///  - spilledBytes and transferCost equal to the host buffers' totals.
/// At most `maxViolations` lines are listed, then one line with the count
/// of the rest, so a badly broken 10,000-buffer plan stays readable.
std::vector<std::string> verifyPlan(const Problem &problem, const Plan &plan,
                                    size_t maxViolations = 50);

} // namespace memc::plan

#endif // MEMC_PLAN_VERIFIER_H
