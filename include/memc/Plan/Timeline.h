//===- Timeline.h - Memory plan timeline picture ----------------*- C++ -*-===//
//
// The picture behind `memc --timeline=FILE.svg` (issue #3): a plan drawn as
// schedule step (x) against arena offset (y, 0 at the bottom). Every arena
// buffer is a rectangle over its live interval and footprint, coloured by
// kind; every staging slot of a buffer kept on the host is a one-step
// rectangle in the "spilled" colour. Horizontal lines mark the packing lower
// bound, the budget (when there is one) and the top of the arena, so the gap
// a planner leaves above the bound, and where it comes from, is visible at a
// glance.
//
// Plain C++17 like the rest of lib/Plan: a string out, no graphics library,
// and the same bytes for the same problem and plan on every machine, so
// pictures can be diffed and checked in.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_PLAN_TIMELINE_H
#define MEMC_PLAN_TIMELINE_H

#include "memc/Plan/Problem.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace memc::plan {

struct TimelineOptions {
  /// First line of the heading; the plan's algorithm when empty. A second
  /// line always summarizes arena, lower bound, budget and spills.
  std::string title;
  /// Device budget to mark with a line; 0 = none (Problem::capacity is not
  /// consulted, so callers decide whether a budget belongs in the picture).
  uint64_t budget = 0;
  /// Parallel to the problem's buffers (empty: none): buffers made by ops a
  /// train step recomputes in its backward, drawn in their own colour.
  std::vector<bool> recomputed;
  /// Parallel to the problem's buffers (empty: none): a swapped
  /// activation's device copy, brought back from the host for one reader.
  std::vector<bool> swappedIn;
  /// Size of the picture in pixels (SVG user units).
  int width = 1200;
  int height = 700;
  /// Rectangles carry a <title> tooltip (producer, size, interval, offset)
  /// only while the problem has at most this many buffers: the tooltips are
  /// most of the file's bytes, and beyond some thousands of buffers nobody
  /// hovers over single rectangles anyway.
  size_t maxTooltipBuffers = 20000;
};

/// The timeline of `plan` for `problem` as a standalone SVG document.
///
/// Element counts, which tests and tools may rely on: one <rect> for the
/// background, one legend swatch per colour (activation, temporary, spilled:
/// always 3), one <rect> per arena buffer with a nonzero footprint and one
/// per staging slot of a host buffer with a nonzero footprint. Zero-byte
/// buffers occupy nothing and are not drawn; unplaced buffers are not drawn.
/// Rectangles are at least about one pixel wide and tall, so tiny buffers
/// remain visible in a large arena.
std::string renderTimelineSVG(const Problem &problem, const Plan &plan,
                              const TimelineOptions &options);

/// `bytes` for people, in binary units with three significant digits and
/// trailing zeros dropped: "0 B", "512 B", "1.5 KiB", "12.3 MiB", "2 GiB".
/// The picture's labels use it; exposed for reports.
std::string formatBytes(uint64_t bytes);

} // namespace memc::plan

#endif // MEMC_PLAN_TIMELINE_H
