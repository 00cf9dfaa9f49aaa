//===- Verifier.cpp - Independent memory plan checker ---------------------===//
//
// Deliberately written apart from the planners: rounding by division rather
// than bit masks, its own notion of use steps, and a plain pairwise overlap
// scan over ranges sorted by start step instead of the planners' gap search.
// Slower than it could be (quadratic in the worst case, ~50M pair tests for
// 10,000 buffers all alive at once), simple enough to trust.
//
//===----------------------------------------------------------------------===//

#include "memc/Plan/Verifier.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <sstream>

namespace memc::plan {
namespace {

uint64_t roundUpTo(uint64_t value, uint64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

/// Bytes [lo, hi) held during steps [first, last].
struct Range {
  int64_t first;
  int64_t last;
  uint64_t lo;
  uint64_t hi;
  size_t buffer;
  bool staging;
};

class Checker {
public:
  Checker(const Problem &problem, const Plan &plan, size_t maxViolations)
      : problem(problem), plan(plan), maxViolations(maxViolations) {}

  std::vector<std::string> run() {
    const size_t n = problem.buffers.size();
    if (plan.placements.size() != n)
      report() << "the plan has " << plan.placements.size()
               << " placements for " << n << " buffers";
    if (plan.arenaBytes % kArenaAlignment != 0)
      report() << "arena_bytes " << plan.arenaBytes << " is not a multiple of "
               << kArenaAlignment;
    if (problem.capacity != 0 && plan.arenaBytes > problem.capacity)
      report() << "arena_bytes " << plan.arenaBytes << " exceeds the capacity "
               << problem.capacity;

    uint64_t hostBytes = 0;
    double hostCost = 0.0;
    for (size_t i = 0; i < std::min(n, plan.placements.size()); ++i) {
      const Placement &placement = plan.placements[i];
      switch (placement.location) {
      case Location::Unplaced:
        report() << name(i) << " is neither in the arena nor on the host";
        break;
      case Location::Arena:
        if (!placement.staging.empty())
          report() << name(i) << " is in the arena but also has "
                   << placement.staging.size() << " staging slots";
        checkRange(i, placement.offset, problem.buffers[i].start,
                   problem.buffers[i].end, /*staging=*/false);
        break;
      case Location::Host:
        hostBytes += problem.buffers[i].size;
        hostCost += problem.buffers[i].transferCost;
        checkStaging(i, placement.staging);
        break;
      default:
        report() << name(i) << " has an unknown location";
      }
    }

    uint64_t expectedArena = roundUpTo(extent, kArenaAlignment);
    if (plan.arenaBytes != expectedArena)
      report() << "arena_bytes is " << plan.arenaBytes
               << " but the placements reach " << extent << " (so "
               << expectedArena << ")";
    if (plan.spilledBytes != hostBytes)
      report() << "spilled_bytes is " << plan.spilledBytes
               << " but the host buffers hold " << hostBytes;
    if (std::fabs(plan.transferCost - hostCost) >
        1e-9 * std::max(1.0, std::fabs(hostCost)))
      report() << "transfer cost is " << plan.transferCost
               << " but the host buffers' costs add up to " << hostCost;

    checkOverlaps();
    if (dropped != 0)
      violations.push_back("... and " + std::to_string(dropped) +
                           " more violations");
    return violations;
  }

private:
  /// One violation line, added when the statement that built it ends.
  class Line {
  public:
    explicit Line(Checker &checker) : checker(checker) {}
    Line(const Line &) = delete;
    ~Line() { checker.add(text.str()); }
    template <typename T> Line &operator<<(const T &value) {
      text << value;
      return *this;
    }

  private:
    Checker &checker;
    std::ostringstream text;
  };

  Line report() { return Line(*this); }

  void add(std::string line) {
    if (violations.size() < maxViolations)
      violations.push_back(std::move(line));
    else
      ++dropped;
  }

  std::string name(size_t i) const {
    const Buffer &b = problem.buffers[i];
    std::ostringstream os;
    os << "buffer " << b.id;
    if (!b.producer.empty())
      os << " (" << b.producer << ")";
    return os.str();
  }

  uint64_t bytesOf(size_t i) const {
    const Buffer &b = problem.buffers[i];
    return b.alignment == 0 ? b.size : roundUpTo(b.size, b.alignment);
  }

  /// Alignment and bounds of one arena range; records it for the overlap
  /// scan when it holds any bytes.
  void checkRange(size_t i, uint64_t offset, int64_t first, int64_t last,
                  bool staging) {
    const Buffer &b = problem.buffers[i];
    const char *what = staging ? " staging slot at step " : "";
    std::string where = staging ? std::to_string(first) : "";
    if (b.alignment != 0 && offset % b.alignment != 0)
      report() << name(i) << what << where << " at offset " << offset
               << " is not aligned to " << b.alignment;
    uint64_t bytes = bytesOf(i);
    if (offset > plan.arenaBytes || bytes > plan.arenaBytes - offset)
      report() << name(i) << what << where << " at offset " << offset << " + "
               << bytes << " bytes ends past arena_bytes " << plan.arenaBytes;
    // An offset so large that its end wraps around is out of bounds (just
    // reported) and would confuse the overlap scan.
    if (bytes == 0 || offset > UINT64_MAX - bytes)
      return;
    extent = std::max(extent, offset + bytes);
    ranges.push_back({first, last, offset, offset + bytes, i, staging});
  }

  void checkStaging(size_t i, const std::vector<StagingSlot> &slots) {
    const Buffer &b = problem.buffers[i];
    std::set<int64_t> expected(b.uses.begin(), b.uses.end());
    if (expected.empty())
      expected = {b.start, b.end};
    std::set<int64_t> seen;
    for (const StagingSlot &slot : slots) {
      if (!expected.count(slot.step))
        report() << name(i) << " is staged at step " << slot.step
                 << ", which does not use it";
      if (!seen.insert(slot.step).second)
        report() << name(i) << " is staged twice at step " << slot.step;
      checkRange(i, slot.offset, slot.step, slot.step, /*staging=*/true);
    }
    for (int64_t step : expected)
      if (!seen.count(step))
        report() << name(i) << " is on the host but not staged at step " << step
                 << ", which uses it";
  }

  void checkOverlaps() {
    std::sort(ranges.begin(), ranges.end(),
              [](const Range &a, const Range &b) { return a.first < b.first; });
    for (size_t i = 0; i < ranges.size(); ++i) {
      const Range &a = ranges[i];
      for (size_t j = i + 1; j < ranges.size() && ranges[j].first <= a.last;
           ++j) {
        const Range &b = ranges[j];
        if (a.hi <= b.lo || b.hi <= a.lo)
          continue;
        report() << describe(a) << " and " << describe(b)
                 << " overlap in bytes [" << std::max(a.lo, b.lo) << ", "
                 << std::min(a.hi, b.hi) << ") during steps ["
                 << std::max(a.first, b.first) << ", "
                 << std::min(a.last, b.last) << "]";
      }
    }
  }

  std::string describe(const Range &r) const {
    std::ostringstream os;
    os << name(r.buffer);
    if (r.staging)
      os << " staged at step " << r.first;
    return os.str();
  }

  const Problem &problem;
  const Plan &plan;
  size_t maxViolations;
  std::vector<std::string> violations;
  size_t dropped = 0;
  std::vector<Range> ranges;
  uint64_t extent = 0;
};

} // namespace

std::vector<std::string> verifyPlan(const Problem &problem, const Plan &plan,
                                    size_t maxViolations) {
  return Checker(problem, plan, maxViolations).run();
}

} // namespace memc::plan
