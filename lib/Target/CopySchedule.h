//===- CopySchedule.h - host-pool copies beside compute ---------*- C++ -*-===//
//
// The launch plan's spills and fetches run on the runtime's copy stream,
// which starts each copy after everything queued before it on the compute
// stream; the compute stream waits for a copy's event only where the plan
// says `wait`. This orders them for overlap: a fetch moves up past the steps
// that touch neither its host source nor its arena destination (it runs
// while they compute), and each copy's wait goes right before the first step
// that computes on what it reads or writes (at the end at the latest, so no
// copy outlives the run; copies among themselves are ordered by the copy
// stream). No MLIR: the builder hands it each step's byte ranges.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_TARGET_COPYSCHEDULE_H
#define MEMC_TARGET_COPYSCHEDULE_H

#include <cstdint>
#include <string>
#include <vector>

namespace memc {

/// Bytes [begin, end) of the arena or the host pool.
struct PoolRange {
  bool host = false;
  uint64_t begin = 0, end = 0;
  bool overlaps(const PoolRange &o) const {
    return host == o.host && begin < o.end && o.begin < end;
  }
};

struct PlanStep {
  enum Kind { Compute, Spill, Fetch } kind = Compute;
  /// The step's line without its newline; a spill's or fetch's without its
  /// event, which the schedule appends.
  std::string text;
  /// Every pool range it reads or writes. A step whose operands are in
  /// neither pool (inputs, weights, outputs) has none.
  std::vector<PoolRange> touches;
};

/// The plan lines of `steps`, fetches moved up and waits placed; one event
/// per copy, e0, e1, ... in the final order.
std::string scheduleCopies(std::vector<PlanStep> steps);

} // namespace memc

#endif // MEMC_TARGET_COPYSCHEDULE_H
