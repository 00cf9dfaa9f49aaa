//===- TimelineTest.cpp - The --timeline SVG picture ----------------------===//
//
// What the picture promises to readers and tools: one rectangle per arena
// buffer and per staging slot (plus the background and three legend
// swatches), the lower-bound and arena lines always and the budget line only
// when a budget is given, escaped producer names, well-formed XML, the same
// bytes for the same plan, and a file of reasonable size for 10,000 buffers.
//
//===----------------------------------------------------------------------===//

#include "PlanTestUtil.h"

#include "memc/Plan/Generator.h"
#include "memc/Plan/Timeline.h"

#include <cstdio>
#include <cstdlib>

using namespace memc::plan;
using namespace memc::plan::test;

namespace {

/// Background plus the three legend swatches.
constexpr size_t kFixedRects = 4;

size_t countOf(const std::string &text, const std::string &needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size()))
    ++count;
  return count;
}

/// Rectangles the picture should hold for `plan`, by the documented rule.
size_t expectedRects(const Problem &problem, const Plan &plan) {
  size_t count = kFixedRects;
  for (size_t i = 0; i < problem.buffers.size(); ++i) {
    if (footprint(problem.buffers[i]) == 0)
      continue;
    const Placement &p = plan.placements[i];
    if (p.location == Location::Arena)
      ++count;
    else if (p.location == Location::Host)
      count += p.staging.size();
  }
  return count;
}

/// A small XML checker, enough for what the renderer writes: one root
/// element, every start tag closed in order, quoted attributes, and every
/// '&' starting one of the five predefined entities. Returns "" when fine.
std::string xmlProblem(const std::string &svg) {
  std::vector<std::string> open;
  size_t roots = 0;
  for (size_t i = 0; i < svg.size(); ++i) {
    char c = svg[i];
    if (c == '&') {
      static const char *const entities[] = {"&amp;", "&lt;", "&gt;", "&quot;",
                                             "&apos;"};
      bool known = false;
      for (const char *e : entities)
        known |= svg.compare(i, std::string(e).size(), e) == 0;
      if (!known)
        return "bare '&' at " + std::to_string(i);
      continue;
    }
    if (c == '>')
      return "stray '>' at " + std::to_string(i);
    if (c != '<')
      continue;
    if (svg.compare(i, 2, "<?") == 0) {
      size_t end = svg.find("?>", i);
      if (end == std::string::npos || i != 0)
        return "bad processing instruction at " + std::to_string(i);
      i = end + 1;
      continue;
    }
    size_t end = svg.find('>', i);
    if (end == std::string::npos)
      return "unterminated tag at " + std::to_string(i);
    std::string tag = svg.substr(i + 1, end - i - 1);
    i = end;
    if (tag.empty() || tag.find('<') != std::string::npos)
      return "malformed tag <" + tag + ">";
    if (countOf(tag, "\"") % 2 != 0)
      return "unbalanced quotes in <" + tag + ">";
    if (tag[0] == '/') {
      if (open.empty() || open.back() != tag.substr(1))
        return "</" + tag.substr(1) + "> closes " +
               (open.empty() ? std::string("nothing")
                             : "<" + open.back() + ">");
      open.pop_back();
      continue;
    }
    if (open.empty() && ++roots > 1)
      return "second root element <" + tag + ">";
    if (tag.back() == '/')
      continue;
    open.push_back(tag.substr(0, tag.find_first_of(" \n/")));
  }
  if (!open.empty())
    return "<" + open.back() + "> never closed";
  return roots == 1 ? "" : "no root element";
}

/// Two activations and a temporary in the arena, one host buffer staged at
/// three steps, one zero-byte buffer and one unplaced buffer.
struct Fixture {
  Problem problem;
  Plan plan;
  Fixture() {
    std::vector<Buffer> bs = {
        makeBuffer(0, 1024, 0, 3), makeBuffer(1, 2048, 2, 5),
        makeBuffer(2, 512, 4, 4),  makeBuffer(3, 4096, 1, 6),
        makeBuffer(4, 0, 2, 3),    makeBuffer(5, 64, 6, 6)};
    bs[2].kind = BufferKind::Temporary;
    bs[3].uses = {1, 4, 6};
    bs[3].transferCost = 0.5;
    problem = makeProblem(bs);
    plan.algorithm = "hand";
    plan.placements.resize(bs.size());
    auto arena = [&](size_t i, uint64_t offset) {
      plan.placements[i].location = Location::Arena;
      plan.placements[i].offset = offset;
    };
    arena(0, 0);
    arena(1, 1024);
    arena(2, 0);
    arena(4, 0);
    plan.placements[3].location = Location::Host;
    plan.placements[3].staging = {{1, 3072}, {4, 3072}, {6, 0}};
    summarizePlan(problem, plan);
  }
};

} // namespace

TEST(Timeline, FormatBytes) {
  EXPECT_EQ(formatBytes(0), "0 B");
  EXPECT_EQ(formatBytes(1023), "1023 B");
  EXPECT_EQ(formatBytes(1024), "1 KiB");
  EXPECT_EQ(formatBytes(1536), "1.5 KiB");
  EXPECT_EQ(formatBytes(3 * 1024 * 1024 + 1024 * 1024 / 10), "3.1 MiB");
  EXPECT_EQ(formatBytes(uint64_t(12345) * 1024 * 1024 / 1000), "12.3 MiB");
  EXPECT_EQ(formatBytes(uint64_t(1024) * 1024 * 1024 - 1), "1 GiB");
  EXPECT_EQ(formatBytes(uint64_t(768) * 1024 * 1024 * 1024), "768 GiB");
}

TEST(Timeline, OneRectPerArenaBufferAndStagingSlot) {
  Fixture f;
  ASSERT_TRUE(f.plan.placements[5].location == Location::Unplaced);
  std::string svg = renderTimelineSVG(f.problem, f.plan, {});
  // 3 arena buffers with bytes (the zero-byte one is skipped), 3 slots, and
  // nothing for the unplaced buffer.
  EXPECT_EQ(countOf(svg, "<rect"), kFixedRects + 3 + 3);
  EXPECT_EQ(countOf(svg, "<rect class=\"a\""), 2u);
  EXPECT_EQ(countOf(svg, "<rect class=\"t\""), 1u);
  EXPECT_EQ(countOf(svg, "<rect class=\"s\""), 3u);
  EXPECT_EQ(xmlProblem(svg), "");
}

TEST(Timeline, TooltipsNameProducerSizeIntervalAndOffset) {
  Fixture f;
  std::string svg = renderTimelineSVG(f.problem, f.plan, {});
  // Arena buffers have one tooltip each; a host buffer one for all slots.
  EXPECT_EQ(countOf(svg, "<title>"), 3u + 1u);
  EXPECT_NE(svg.find("<title>op1 (id 1, activation)\n2 KiB, steps 2"),
            std::string::npos);
  EXPECT_NE(svg.find("offset 1 KiB (1024)</title>"), std::string::npos);
  EXPECT_NE(svg.find("op3 (id 3, activation)\n4 KiB, steps 1"),
            std::string::npos);
  EXPECT_NE(svg.find("staged at 3 steps, 0.5 ms of transfers"),
            std::string::npos);

  TimelineOptions quiet;
  quiet.maxTooltipBuffers = f.problem.buffers.size() - 1;
  std::string bare = renderTimelineSVG(f.problem, f.plan, quiet);
  EXPECT_EQ(countOf(bare, "<title>"), 0u);
  EXPECT_EQ(countOf(bare, "<rect"), countOf(svg, "<rect"));
  EXPECT_EQ(xmlProblem(bare), "");
}

TEST(Timeline, LowerBoundAndArenaLinesBudgetOnlyWhenSet) {
  Fixture f;
  // Steps 2-3 hold 1 KiB + 2 KiB + 4 KiB (the host buffer counts in the
  // bound: it is live there even though the plan stages it elsewhere).
  ASSERT_EQ(lowerBound(f.problem), 7u * 1024);
  std::string svg = renderTimelineSVG(f.problem, f.plan, {});
  EXPECT_NE(svg.find(">lower bound 7 KiB</text>"), std::string::npos);
  EXPECT_NE(svg.find(">arena 7 KiB</text>"), std::string::npos);
  EXPECT_EQ(svg.find("budget"), std::string::npos);
  EXPECT_EQ(countOf(svg, "stroke-dasharray"), 1u);

  TimelineOptions budgeted;
  budgeted.budget = 8 * 1024;
  std::string withBudget = renderTimelineSVG(f.problem, f.plan, budgeted);
  EXPECT_NE(withBudget.find(">budget 8 KiB</text>"), std::string::npos);
  EXPECT_NE(withBudget.find("budget 8 KiB \xC2\xB7"), std::string::npos);
  EXPECT_EQ(countOf(withBudget, "stroke-dasharray"), 2u);
  EXPECT_EQ(xmlProblem(withBudget), "");
}

TEST(Timeline, AxesLegendAndTitle) {
  Fixture f;
  TimelineOptions options;
  options.title = "resnet18 training";
  std::string svg = renderTimelineSVG(f.problem, f.plan, options);
  EXPECT_NE(svg.find(">schedule step</text>"), std::string::npos);
  EXPECT_NE(svg.find(">arena offset</text>"), std::string::npos);
  EXPECT_NE(svg.find(">resnet18 training</text>"), std::string::npos);
  EXPECT_NE(svg.find(">activation (2)</text>"), std::string::npos);
  EXPECT_NE(svg.find(">temporary (1)</text>"), std::string::npos);
  EXPECT_NE(svg.find("(1 buffer, 3 slots)</text>"), std::string::npos);
  EXPECT_NE(svg.find("1 on the host (4 KiB, 0.50 ms of transfers)"),
            std::string::npos);
  // Without a title the algorithm names the picture.
  EXPECT_NE(renderTimelineSVG(f.problem, f.plan, {}).find(">hand</text>"),
            std::string::npos);
}

TEST(Timeline, EscapesXmlSpecialsInNamesAndTitle) {
  Fixture f;
  f.problem.buffers[0].producer = "fwd1:Op<\"x\" & 'y'>";
  f.problem.buffers[1].producer = "ctl\x01name";
  TimelineOptions options;
  options.title = "a < b & c";
  std::string svg = renderTimelineSVG(f.problem, f.plan, options);
  EXPECT_NE(svg.find("fwd1:Op&lt;&quot;x&quot; &amp; &apos;y&apos;&gt;"),
            std::string::npos);
  EXPECT_EQ(svg.find("Op<"), std::string::npos);
  EXPECT_NE(svg.find("ctl?name"), std::string::npos);
  EXPECT_NE(svg.find(">a &lt; b &amp; c</text>"), std::string::npos);
  EXPECT_EQ(xmlProblem(svg), "");
}

TEST(Timeline, TinyBuffersStayVisible) {
  // A 64-byte buffer beside a GiB one would be 0.00003 pixels tall.
  std::vector<Buffer> bs = {makeBuffer(0, uint64_t(1) << 30, 0, 9),
                            makeBuffer(1, 64, 3, 3)};
  Problem p = makeProblem(bs);
  Plan plan = bestFitPlan(p);
  std::string svg = renderTimelineSVG(p, plan, {});
  size_t at = svg.find("<title>op1 ");
  ASSERT_NE(at, std::string::npos);
  size_t rect = svg.rfind("<rect", at);
  std::string tag = svg.substr(rect, at - rect);
  EXPECT_NE(tag.find("height=\"1\""), std::string::npos) << tag;
}

TEST(Timeline, EmptyProblemAndPlan) {
  Problem p;
  Plan plan = bestFitPlan(p);
  std::string svg = renderTimelineSVG(p, plan, {});
  EXPECT_EQ(countOf(svg, "<rect"), kFixedRects);
  EXPECT_EQ(xmlProblem(svg), "");
}

TEST(Timeline, GeneratedPlansAreWellFormedAndDeterministic) {
  for (uint64_t seed = 0; seed < 12; ++seed) {
    GeneratorOptions options;
    options.shape =
        seed % 2 ? GraphShape::ForwardBackward : GraphShape::Forward;
    options.mixedAlignment = seed % 3 == 0;
    Problem p = generateProblem(seed, options);
    Plan packed = bestFitPlan(p);
    std::string svg = renderTimelineSVG(p, packed, {});
    EXPECT_EQ(xmlProblem(svg), "") << "seed " << seed;
    EXPECT_EQ(countOf(svg, "<rect"), expectedRects(p, packed));
    EXPECT_EQ(svg, renderTimelineSVG(p, packed, {}));

    uint64_t floor = minFeasibleBudgetFromUses(p).minBudget;
    p.capacity = floor + (lowerBound(p) - floor) / 3;
    Outcome<Plan> budgeted = budgetedPlan(p);
    ASSERT_TRUE(budgeted) << budgeted.error();
    TimelineOptions withBudget;
    withBudget.budget = p.capacity;
    std::string spilled = renderTimelineSVG(p, *budgeted, withBudget);
    EXPECT_EQ(xmlProblem(spilled), "") << "seed " << seed;
    EXPECT_EQ(countOf(spilled, "<rect"), expectedRects(p, *budgeted));
    EXPECT_NE(spilled.find(">budget "), std::string::npos);
  }
}

TEST(Timeline, TenThousandBuffersStayAFewMegabytes) {
  GeneratorOptions options;
  options.shape = GraphShape::ForwardBackward;
  options.minLayers = options.maxLayers = 3200;
  Problem p = generateProblem(5, options);
  ASSERT_GE(p.buffers.size(), 10000u);
  p.buffers.resize(10000);

  Plan packed = bestFitPlan(p);
  std::string svg = renderTimelineSVG(p, packed, {});
  EXPECT_EQ(xmlProblem(svg), "");
  EXPECT_EQ(countOf(svg, "<rect"), expectedRects(p, packed));
  EXPECT_LT(svg.size(), 3u << 20);

  p.capacity = minFeasibleBudgetFromUses(p).minBudget;
  Outcome<Plan> budgeted = budgetedPlan(p);
  ASSERT_TRUE(budgeted) << budgeted.error();
  TimelineOptions withBudget;
  withBudget.budget = p.capacity;
  std::string spilled = renderTimelineSVG(p, *budgeted, withBudget);
  EXPECT_EQ(xmlProblem(spilled), "");
  EXPECT_EQ(countOf(spilled, "<rect"), expectedRects(p, *budgeted));
  EXPECT_LT(spilled.size(), 4u << 20);
  std::printf("[   SIZE   ] timeline of 10000 buffers: best fit %zu bytes, "
              "budgeted at the floor %zu bytes\n",
              svg.size(), spilled.size());
}

TEST(Timeline, LowerBoundFarAboveASpilledPlanIsNamedNotDrawn) {
  // Four 8 KiB buffers live together (bound 32 KiB) but each is used at one
  // step only, so staging them one at a time needs an 8 KiB arena: a scale
  // up to the bound would squash the plan into the bottom quarter.
  std::vector<Buffer> bs;
  for (int64_t i = 0; i < 4; ++i) {
    bs.push_back(makeBuffer(i, 8192, 0, 3));
    bs.back().uses = {i};
  }
  Problem p = makeProblem(bs, 8192);
  Outcome<Plan> plan = budgetedPlan(p);
  ASSERT_TRUE(plan) << plan.error();
  ASSERT_EQ(plan->arenaBytes, 8192u);
  TimelineOptions options;
  options.budget = p.capacity;
  std::string svg = renderTimelineSVG(p, *plan, options);
  EXPECT_NE(svg.find(">lower bound 32 KiB (off the scale)"), std::string::npos);
  EXPECT_EQ(countOf(svg, "stroke-dasharray"), 1u); // the budget only
  EXPECT_EQ(countOf(svg, "<rect class=\"s\""), 4u);
  EXPECT_EQ(xmlProblem(svg), "");
}
