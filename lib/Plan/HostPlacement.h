//===- HostPlacement.h - Packing a chosen host set under a budget -*- C++
//-*-===//
//
// Internal to lib/Plan. Budgeted mapping is two decisions: which buffers
// live on the host, and where everything else (residents over their
// intervals, host buffers' staging slots at their use steps) goes in the
// arena. The heuristic (Budgeted.cpp) and the spill MILP (SpillMilp.cpp)
// make the first differently and share the second.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_LIB_PLAN_HOSTPLACEMENT_H
#define MEMC_LIB_PLAN_HOSTPLACEMENT_H

#include "memc/Plan/Problem.h"

#include <cstdint>
#include <vector>

namespace memc::plan::detail {

/// The steps where the device load can rise, ascending and distinct:
/// interval starts and use steps (staging slots). Between them the load
/// only falls, so its maximum over the program is attained at one of them.
std::vector<int64_t> loadRisePoints(const Problem &problem);

/// Best-fit packing (bestFitPlan's order and rule) of the buffers not in
/// `onHost` over their intervals and of the host buffers' staging slots over
/// their use steps. The arena may exceed the capacity; callers check.
Plan packWithHostSet(const Problem &problem, const std::vector<bool> &onHost);

/// Brings host buffers back into the arena where their whole live interval
/// finds a free gap below `usable`, the most expensive first (ties: lower
/// position). Choosing spills by load is blind to where the packing left
/// room, so this recovers transfer cost the spills did not need to pay.
/// O(h * (n + s)) for h host buffers and s staging slots.
void reclaimHostBuffers(const Problem &problem, uint64_t usable, Plan &plan);

/// The arena is rounded up to kArenaAlignment, so it must fit in the
/// capacity rounded down. The budget floor is a multiple of it, hence fits.
uint64_t usableBytes(const Problem &problem);

} // namespace memc::plan::detail

#endif // MEMC_LIB_PLAN_HOSTPLACEMENT_H
