//===- CopySchedule.cpp - host-pool copies overlapped with compute --------===//
#include "CopySchedule.h"

#include "memc/Runtime/PackageFormat.h"

#include <algorithm>

namespace memc {
namespace {

bool touchesAny(const PlanStep &a, const PlanStep &b) {
  for (const PoolRange &x : a.touches)
    for (const PoolRange &y : b.touches)
      if (x.overlaps(y))
        return true;
  return false;
}

bool isCopy(const PlanStep &s) {
  return s.kind == PlanStep::Spill || s.kind == PlanStep::Fetch;
}

} // namespace

std::string scheduleCopies(std::vector<PlanStep> steps) {
  // Fetches up, in program order: past every step that touches neither the
  // host range it reads nor the arena range it writes. A step it passes
  // cannot see the range change (it does not touch it), and the copy
  // stream still runs the fetch after the spill that filled its source
  // (that spill touches the source, so the fetch stops below it).
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].kind != PlanStep::Fetch)
      continue;
    size_t to = i;
    while (to > 0 && !touchesAny(steps[to - 1], steps[i]))
      --to;
    std::rotate(steps.begin() + to, steps.begin() + i, steps.begin() + i + 1);
  }
  // Events in the final order; each copy's wait before the first later
  // compute step that touches its ranges, or at the end. Later copies need
  // none: the copy stream runs them in order.
  std::vector<unsigned> eventOf(steps.size(), 0);
  std::vector<std::vector<unsigned>> waitsBefore(steps.size() + 1);
  unsigned numEvents = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (!isCopy(steps[i]))
      continue;
    eventOf[i] = numEvents++;
    size_t j = i + 1;
    while (j < steps.size() &&
           (isCopy(steps[j]) || !touchesAny(steps[i], steps[j])))
      ++j;
    waitsBefore[j].push_back(eventOf[i]);
  }
  std::string out;
  auto waits = [&](size_t at) {
    for (unsigned e : waitsBefore[at])
      out += std::string(package::kWaitRecord) + " " + package::kEventPrefix +
             std::to_string(e) + "\n";
  };
  for (size_t i = 0; i < steps.size(); ++i) {
    waits(i);
    out += steps[i].text;
    if (isCopy(steps[i]))
      out +=
          std::string(" ") + package::kEventPrefix + std::to_string(eventOf[i]);
    out += "\n";
  }
  waits(steps.size());
  return out;
}

} // namespace memc
