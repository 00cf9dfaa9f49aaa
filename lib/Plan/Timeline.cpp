//===- Timeline.cpp - Memory plan timeline picture ------------------------===//
//
// Hand-written SVG. Numbers are formatted with integer arithmetic rather than
// printf so that the output cannot depend on the C locale (a "," decimal
// separator would break the file), and so the same plan gives the same
// bytes everywhere.
//
// Size matters for large plans: every rectangle is one short line with its
// colour in a CSS class (not inline attributes) and coordinates rounded to a
// tenth of a pixel, which keeps a buffer under 200 bytes with its tooltip
// (1.8 MB for a 10,000-buffer training graph).
//
//===----------------------------------------------------------------------===//

#include "memc/Plan/Timeline.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace memc::plan {
namespace {

constexpr const char *kByteUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
constexpr size_t kNumByteUnits = std::size(kByteUnits);

/// The largest binary unit (index into kByteUnits) not above `bytes`, and
/// its size in bytes: what both the axis labels and formatBytes speak in.
std::pair<size_t, uint64_t> byteUnitOf(double bytes) {
  size_t unit = 0;
  uint64_t scale = 1;
  while (unit + 1 < kNumByteUnits && bytes >= double(scale) * 1024) {
    scale *= 1024;
    ++unit;
  }
  return {unit, scale};
}

// Kind colours (Tableau 10 blue and orange, and a magenta that neither
// colour-blind confusion axis maps onto them) with darker outlines.
constexpr const char *kActivationFill = "#4e79a7";
constexpr const char *kActivationEdge = "#2f4b6b";
constexpr const char *kTemporaryFill = "#f28e2b";
constexpr const char *kTemporaryEdge = "#a85a10";
constexpr const char *kRecomputedFill = "#59a14f";
constexpr const char *kRecomputedEdge = "#2f5f28";
// Tableau's purple: a swapped activation's copy back from the host.
constexpr const char *kSwappedInFill = "#b07aa1";
constexpr const char *kSwappedInEdge = "#6b4462";
constexpr const char *kSpilledFill = "#c2288f";
constexpr const char *kSpilledEdge = "#6f0f50";
constexpr const char *kLowerBoundColour = "#1a9850";
constexpr const char *kBudgetColour = "#d62728";
constexpr const char *kArenaColour = "#222222";

// Outlines separate neighbouring buffers in a small plan; in a dense one
// they would cover the fill of thin rectangles, so they are dropped.
constexpr size_t kMaxOutlinedRects = 3000;
// Rectangles never shrink below this many pixels, so that a 64-byte buffer
// in a gigabyte arena, or a one-step buffer among 20,000 steps, still shows.
constexpr double kMinRectPixels = 1.0;

// UTF-8 typography, spelled as bytes so the source stays ASCII.
constexpr const char *kDot = " \xC2\xB7 ";       // " · "
constexpr const char *kTimes = "\xC3\x97";       // "×"
constexpr const char *kEnDash = "\xE2\x80\x93";  // "–"
constexpr const char *kUpArrow = "\xE2\x86\x91"; // "↑"

/// `value` with `decimals` digits after the point, trailing zeros (and a
/// bare point) dropped; half away from zero.
std::string fixed(double value, int decimals, bool trim = true) {
  if (!std::isfinite(value))
    return "0";
  int64_t scale = 1;
  for (int i = 0; i < decimals; ++i)
    scale *= 10;
  bool negative = value < 0;
  auto scaled = static_cast<int64_t>(std::llround(std::fabs(value) * scale));
  if (scaled == 0)
    negative = false;
  std::string digits = std::to_string(scaled / scale);
  std::string fraction;
  if (decimals > 0) {
    fraction = std::to_string(scaled % scale);
    fraction.insert(0, static_cast<size_t>(decimals) - fraction.size(), '0');
    if (trim)
      while (!fraction.empty() && fraction.back() == '0')
        fraction.pop_back();
  }
  std::string out = negative ? "-" : "";
  out += digits;
  if (!fraction.empty())
    out += "." + fraction;
  return out;
}

/// A coordinate: a tenth of a pixel is below what any renderer shows.
std::string px(double value) { return fixed(value, 1); }

/// Text content or attribute value with the XML specials escaped. Control
/// characters other than tab and newline are not allowed in XML 1.0 at all,
/// so they become '?' rather than making the file unreadable.
void appendEscaped(std::string &out, const std::string &text) {
  for (char c : text) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&apos;";
      break;
    case '\t':
    case '\n':
      out += c;
      break;
    default:
      out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
    }
  }
}

std::string escaped(const std::string &text) {
  std::string out;
  appendEscaped(out, text);
  return out;
}

/// "1 slot", "3 slots".
std::string count(size_t n, const char *noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

/// 1, 2 or 5 times a power of ten, at least `value` (at least 1): step
/// numbers people count in.
int64_t roundStepAtLeast(double value) {
  for (int64_t decade = 1;; decade *= 10)
    for (int64_t m : {1, 2, 5})
      if (static_cast<double>(m * decade) >= value ||
          decade > (INT64_MAX / 100))
        return m * decade;
}

class Renderer {
public:
  Renderer(const Problem &problem, const Plan &plan,
           const TimelineOptions &options)
      : problem(problem), plan(plan), options(options) {}

  std::string run() {
    measure();
    layOut();
    out.reserve(4096 + drawnRects * (tooltips ? 150 : 70));
    header();
    grid();
    buffers();
    axes();
    lines();
    heading();
    legend();
    out += "</svg>\n";
    return std::move(out);
  }

private:
  const Problem &problem;
  const Plan &plan;
  const TimelineOptions &options;
  std::string out;

  // What the plan holds.
  int64_t firstStep = 0, lastStep = 0;
  uint64_t extent = 0, lower = 0;
  size_t activations = 0, temporaries = 0, recomputedBuffers = 0,
         swappedInBuffers = 0, hostBuffers = 0, slots = 0;
  size_t drawnRects = 0;
  bool tooltips = false;

  // Where it goes: the plot area, and the value ranges mapped onto it.
  double width = 0, height = 0;
  double left = 0, right = 0, top = 0, bottom = 0;
  double yMaxBytes = 1;
  bool lowerOffScale = false;

  bool placedInArena(size_t i) const {
    return i < plan.placements.size() &&
           plan.placements[i].location == Location::Arena;
  }
  bool isRecomputed(size_t i) const {
    return i < options.recomputed.size() && options.recomputed[i];
  }
  bool isSwappedIn(size_t i) const {
    return i < options.swappedIn.size() && options.swappedIn[i];
  }

  bool onHost(size_t i) const {
    return i < plan.placements.size() &&
           plan.placements[i].location == Location::Host;
  }

  void measure() {
    bool any = false;
    for (const Buffer &b : problem.buffers) {
      firstStep = any ? std::min(firstStep, b.start) : b.start;
      lastStep = any ? std::max(lastStep, b.end) : b.end;
      any = true;
    }
    lower = lowerBound(problem);
    for (size_t i = 0; i < problem.buffers.size(); ++i) {
      const Buffer &b = problem.buffers[i];
      uint64_t bytes = footprint(b);
      if (placedInArena(i)) {
        if (bytes == 0)
          continue;
        if (isRecomputed(i))
          ++recomputedBuffers;
        else if (isSwappedIn(i))
          ++swappedInBuffers;
        else
          (b.kind == BufferKind::Temporary ? temporaries : activations) += 1;
        ++drawnRects;
        extent = std::max(extent, plan.placements[i].offset + bytes);
      } else if (onHost(i)) {
        ++hostBuffers;
        if (bytes == 0)
          continue;
        for (const StagingSlot &slot : plan.placements[i].staging) {
          ++slots;
          ++drawnRects;
          extent = std::max(extent, slot.offset + bytes);
          firstStep = std::min(firstStep, slot.step);
          lastStep = std::max(lastStep, slot.step);
        }
      }
    }
    tooltips = problem.buffers.size() <= options.maxTooltipBuffers;
  }

  void layOut() {
    width = std::max(options.width, 320);
    height = std::max(options.height, 240);
    // Room on the left for "1023.5 MiB" tick labels and the rotated axis
    // title; on top for two heading lines and the legend.
    left = 92;
    right = width - 24;
    top = 84;
    bottom = height - 52;
    uint64_t highest =
        std::max({extent, plan.arenaBytes, options.budget, uint64_t(1)});
    // A tight budget can put the arena at a tenth of the lower bound; a
    // scale that reached the bound would flatten the plan into a few pixels
    // at the bottom. Past twice the plan's height the bound is only named.
    lowerOffScale = lower > 2 * highest;
    if (!lowerOffScale)
      highest = std::max(highest, lower);
    // Headroom above the highest line for its label.
    yMaxBytes = static_cast<double>(highest) * 1.07;
  }

  double x(int64_t step) const {
    // At least one step wide, even for a problem with start > end.
    double span = std::max(1.0, static_cast<double>(lastStep + 1 - firstStep));
    return left + static_cast<double>(step - firstStep) / span * (right - left);
  }
  double y(uint64_t bytes) const {
    return bottom - static_cast<double>(bytes) / yMaxBytes * (bottom - top);
  }

  void header() {
    std::string w = px(width), h = px(height);
    out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out +=
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + w +
        "\" height=\"" + h + "\" viewBox=\"0 0 " + w + " " + h +
        "\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n";
    bool outlined = drawnRects <= kMaxOutlinedRects;
    auto rule = [&](const char *cls, const char *fill, const char *edge) {
      out += std::string(".") + cls + "{fill:" + fill;
      if (outlined)
        out += std::string(";stroke:") + edge +
               ";stroke-width:0.5;stroke-opacity:0.7";
      out += "}\n";
    };
    out += "<style>\n";
    rule("a", kActivationFill, kActivationEdge);
    rule("t", kTemporaryFill, kTemporaryEdge);
    rule("s", kSpilledFill, kSpilledEdge);
    rule("r", kRecomputedFill, kRecomputedEdge);
    rule("w", kSwappedInFill, kSwappedInEdge);
    // A white halo keeps line labels readable where they cross buffers.
    out += ".lbl{font-size:11px;paint-order:stroke;stroke:#fff;"
           "stroke-width:3px;stroke-linejoin:round}\n";
    out += ".tick{fill:#444;font-size:11px}\n";
    out += "</style>\n";
    out += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n";
  }

  /// Horizontal grid lines and y tick labels at power-of-two byte steps,
  /// which read as round numbers in KiB/MiB/GiB.
  /// Horizontal grid lines and y tick labels at 1, 2 or 5 times a power of
  /// ten in the binary unit of the top of the scale (0, 10 MiB, 20 MiB...):
  /// round numbers in the unit the labels are read in.
  void grid() {
    auto [unit, unitBytes] = byteUnitOf(yMaxBytes);
    double scale = double(unitBytes);
    double target = yMaxBytes / scale / 7.0;
    double step = 0;
    for (double decade = 0.1; step == 0; decade *= 10)
      for (double m : {1.0, 2.0, 5.0})
        if (step == 0 && decade * m >= target)
          step = decade * m;
    // Whole bytes: a tenth of a byte is not a tick anyone wants.
    if (unit == 0)
      step = std::max(step, 1.0);
    int ticks = static_cast<int>(yMaxBytes / (step * scale) + 1e-9);
    auto tickY = [&](int k) {
      return y(static_cast<uint64_t>(std::llround(k * step * scale)));
    };
    out += "<g stroke=\"#e4e4e4\" stroke-width=\"1\">\n";
    for (int k = 1; k <= ticks; ++k)
      out += "<line x1=\"" + px(left) + "\" x2=\"" + px(right) + "\" y1=\"" +
             px(tickY(k)) + "\" y2=\"" + px(tickY(k)) + "\"/>\n";
    out += "</g>\n<g class=\"tick\" text-anchor=\"end\">\n";
    for (int k = 0; k <= ticks; ++k)
      out += "<text x=\"" + px(left - 6) + "\" y=\"" + px(tickY(k) + 4) +
             "\">" +
             (k == 0 ? std::string("0")
                     : fixed(k * step, 1) + " " + kByteUnits[unit]) +
             "</text>\n";
    out += "</g>\n";

    double span = static_cast<double>(lastStep + 1 - firstStep);
    // About one label per 80 pixels.
    int64_t xStep =
        roundStepAtLeast(span / std::max(1.0, (right - left) / 80.0));
    int64_t first = firstStep >= 0 ? (firstStep + xStep - 1) / xStep * xStep
                                   : firstStep / xStep * xStep;
    out += "<g class=\"tick\" text-anchor=\"middle\">\n";
    for (int64_t s = first; s <= lastStep + 1; s += xStep)
      out += "<text x=\"" + px(x(s)) + "\" y=\"" + px(bottom + 16) + "\">" +
             std::to_string(s) + "</text>\n";
    out += "</g>\n<g stroke=\"#444\">\n";
    for (int64_t s = first; s <= lastStep + 1; s += xStep)
      out += "<line x1=\"" + px(x(s)) + "\" x2=\"" + px(x(s)) + "\" y1=\"" +
             px(bottom) + "\" y2=\"" + px(bottom + 4) + "\"/>\n";
    out += "</g>\n";
  }

  /// One rectangle over steps [first, last] and bytes [offset, offset+bytes),
  /// grown to the minimum size around its bottom-left corner.
  void rect(const char *cls, int64_t first, int64_t last, uint64_t offset,
            uint64_t bytes, const std::string &tooltip) {
    double x0 = x(first), x1 = x(last + 1);
    double y0 = y(offset), y1 = y(offset + bytes);
    double w = std::max(x1 - x0, kMinRectPixels);
    double h = std::max(y0 - y1, kMinRectPixels);
    out += "<rect class=\"";
    out += cls;
    out += "\" x=\"" + px(x0) + "\" y=\"" + px(y0 - h) + "\" width=\"" + px(w) +
           "\" height=\"" + px(h) + "\"";
    if (tooltip.empty()) {
      out += "/>\n";
      return;
    }
    out += "><title>";
    appendEscaped(out, tooltip);
    out += "</title></rect>\n";
  }

  std::string describe(const Buffer &b) const {
    std::string text = b.producer.empty() ? "buffer" : b.producer;
    text += " (id " + std::to_string(b.id) + ", " + toString(b.kind) + ")\n";
    text += formatBytes(b.size);
    if (footprint(b) != b.size)
      text += " (" + formatBytes(footprint(b)) + " aligned)";
    text +=
        ", steps " + std::to_string(b.start) + kEnDash + std::to_string(b.end);
    return text;
  }

  void buffers() {
    out += "<g>\n";
    for (size_t i = 0; i < problem.buffers.size(); ++i) {
      const Buffer &b = problem.buffers[i];
      uint64_t bytes = footprint(b);
      if (bytes == 0 || !placedInArena(i))
        continue;
      const Placement &p = plan.placements[i];
      std::string tip;
      if (tooltips)
        tip = describe(b) + "\noffset " + formatBytes(p.offset) + " (" +
              std::to_string(p.offset) + ")" +
              (isRecomputed(i) ? "\nrecomputed in the backward" : "") +
              (isSwappedIn(i) ? "\ncopied back from the host" : "");
      rect(isRecomputed(i)                   ? "r"
           : isSwappedIn(i)                  ? "w"
           : b.kind == BufferKind::Temporary ? "t"
                                             : "a",
           b.start, b.end, p.offset, bytes, tip);
    }
    // A host buffer's slots share one tooltip on their group: one per
    // buffer is what a reader wants, and it keeps the file smaller.
    for (size_t i = 0; i < problem.buffers.size(); ++i) {
      const Buffer &b = problem.buffers[i];
      uint64_t bytes = footprint(b);
      if (bytes == 0 || !onHost(i) || plan.placements[i].staging.empty())
        continue;
      const Placement &p = plan.placements[i];
      out += "<g>";
      if (tooltips) {
        std::string tip = describe(b) + "\non the host, staged at " +
                          count(p.staging.size(), "step") + ", " +
                          fixed(b.transferCost, 3) + " ms of transfers";
        out += "<title>";
        appendEscaped(out, tip);
        out += "</title>";
      }
      out += "\n";
      for (const StagingSlot &slot : p.staging)
        rect("s", slot.step, slot.step, slot.offset, bytes, "");
      out += "</g>\n";
    }
    out += "</g>\n";
  }

  void axes() {
    out += "<path d=\"M" + px(left) + " " + px(top - 4) + "V" + px(bottom) +
           "H" + px(right) + "\" fill=\"none\" stroke=\"#444\"/>\n";
    out += "<text x=\"" + px((left + right) / 2) + "\" y=\"" + px(bottom + 38) +
           "\" text-anchor=\"middle\" fill=\"#222\">schedule step</text>\n";
    std::string cy = px((top + bottom) / 2);
    out += "<text x=\"18\" y=\"" + cy + "\" transform=\"rotate(-90 18 " + cy +
           ")\" text-anchor=\"middle\" fill=\"#222\">arena offset</text>\n";
  }

  /// The lower bound, budget and arena top, each labelled at the right end.
  /// Labels go above their line unless that would run into the label of a
  /// higher line, then below it, then as far down as needed.
  void lines() {
    struct Mark {
      uint64_t bytes;
      std::string label;
      const char *colour;
      const char *dash;
      double strokeWidth;
    };
    std::vector<Mark> marks;
    if (options.budget != 0)
      marks.push_back({options.budget, "budget " + formatBytes(options.budget),
                       kBudgetColour, "8 4", 1.6});
    marks.push_back({plan.arenaBytes, "arena " + formatBytes(plan.arenaBytes),
                     kArenaColour, "", 1.2});
    if (lowerOffScale)
      out += "<text class=\"lbl\" x=\"" + px(right - 4) + "\" y=\"" +
             px(top - 2) + "\" text-anchor=\"end\" fill=\"" +
             kLowerBoundColour + "\">lower bound " + formatBytes(lower) +
             " (off the scale) " + kUpArrow + "</text>\n";
    else
      marks.push_back({lower, "lower bound " + formatBytes(lower),
                       kLowerBoundColour, "3 3", 1.6});
    // Highest first, so labels stack downwards; ties keep the order above.
    std::stable_sort(
        marks.begin(), marks.end(),
        [](const Mark &a, const Mark &b) { return a.bytes > b.bytes; });
    const double lineHeight = 13;
    double previous = -1e9;
    for (const Mark &m : marks) {
      double ly = y(m.bytes);
      out += "<line x1=\"" + px(left) + "\" x2=\"" + px(right) + "\" y1=\"" +
             px(ly) + "\" y2=\"" + px(ly) + "\" stroke=\"" + m.colour +
             "\" stroke-width=\"" + fixed(m.strokeWidth, 1) + "\"";
      if (*m.dash)
        out += std::string(" stroke-dasharray=\"") + m.dash + "\"";
      out += "/>\n";
      double baseline = ly - 4;
      if (baseline < previous + lineHeight)
        baseline = std::max(ly + 12, previous + lineHeight);
      previous = baseline;
      out += "<text class=\"lbl\" x=\"" + px(right - 4) + "\" y=\"" +
             px(baseline) + "\" text-anchor=\"end\" fill=\"" + m.colour +
             "\">" + escaped(m.label) + "</text>\n";
    }
  }

  void heading() {
    std::string title = options.title.empty() ? plan.algorithm : options.title;
    std::string summary = "arena " + formatBytes(plan.arenaBytes);
    if (lower != 0)
      summary += " = " +
                 fixed(static_cast<double>(plan.arenaBytes) /
                           static_cast<double>(lower),
                       3, false) +
                 kTimes + " lower bound " + formatBytes(lower);
    if (options.budget != 0)
      summary += kDot + std::string("budget ") + formatBytes(options.budget);
    summary += kDot + std::to_string(problem.buffers.size()) +
               " buffers over " + std::to_string(lastStep + 1 - firstStep) +
               " steps";
    if (hostBuffers != 0)
      summary += kDot + std::to_string(hostBuffers) + " on the host (" +
                 formatBytes(plan.spilledBytes) + ", " +
                 fixed(plan.transferCost, 2, false) + " ms of transfers)";
    out += "<text x=\"" + px(left) +
           "\" y=\"24\" font-size=\"16\" "
           "font-weight=\"bold\" fill=\"#111\">" +
           escaped(title) + "</text>\n";
    out += "<text x=\"" + px(left) + "\" y=\"44\" fill=\"#444\">" +
           escaped(summary) + "</text>\n";
  }

  void legend() {
    struct Entry {
      const char *fill;
      const char *edge;
      std::string label;
    };
    std::vector<Entry> entries = {
        {kActivationFill, kActivationEdge,
         "activation (" + std::to_string(activations) + ")"},
        {kTemporaryFill, kTemporaryEdge,
         "temporary (" + std::to_string(temporaries) + ")"},
        {kSpilledFill, kSpilledEdge,
         "staging slot of a host buffer (" + count(hostBuffers, "buffer") +
             ", " + count(slots, "slot") + ")"}};
    if (recomputedBuffers)
      entries.push_back({kRecomputedFill, kRecomputedEdge,
                         "recomputed in the backward (" +
                             std::to_string(recomputedBuffers) + ")"});
    if (swappedInBuffers)
      entries.push_back({kSwappedInFill, kSwappedInEdge,
                         "swapped activation copied back (" +
                             std::to_string(swappedInBuffers) + ")"});
    double lx = left;
    const double ly = 58;
    out += "<g>\n";
    for (const Entry &e : entries) {
      out += "<rect x=\"" + px(lx) + "\" y=\"" + px(ly) +
             "\" width=\"14\" height=\"11\" fill=\"" + e.fill + "\" stroke=\"" +
             e.edge + "\" stroke-width=\"0.6\"/>\n";
      out += "<text x=\"" + px(lx + 19) + "\" y=\"" + px(ly + 10) +
             "\" fill=\"#222\">" + escaped(e.label) + "</text>\n";
      // No text metrics here: ~6.6 px per character of 12 px Helvetica.
      lx += 19 + 6.6 * static_cast<double>(e.label.size()) + 22;
    }
    out += "</g>\n";
  }
};

} // namespace

std::string formatBytes(uint64_t bytes) {
  auto [unit, scale] = byteUnitOf(double(bytes));
  if (unit == 0)
    return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes) / static_cast<double>(scale);
  // Three significant digits: 1.23, 12.3, 123 (and 1023 stays whole).
  int decimals = value < 10 ? 2 : value < 100 ? 1 : 0;
  std::string text = fixed(value, decimals);
  // Rounding may reach the next unit ("1024 KiB"); say it in that unit.
  if (text == "1024" && unit + 1 < kNumByteUnits)
    return std::string("1 ") + kByteUnits[unit + 1];
  return text + " " + kByteUnits[unit];
}

std::string renderTimelineSVG(const Problem &problem, const Plan &plan,
                              const TimelineOptions &options) {
  return Renderer(problem, plan, options).run();
}

} // namespace memc::plan
