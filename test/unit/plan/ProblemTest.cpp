//===- ProblemTest.cpp - Lower bound, budget floor, validation ------------===//
//
// The lower bound and the budget floor are what every plan and every budget
// is judged by (arena/LB in the bench, the refusal of small budgets), so
// they are pinned on hand-computed cases and cross-checked against a plain
// per-step count on generated instances.
//
//===----------------------------------------------------------------------===//

#include "PlanTestUtil.h"

#include "memc/Plan/Generator.h"

#include <cmath>
#include <limits>
#include <map>

using namespace memc::plan;
using namespace memc::plan::test;

namespace {

/// The lower bound by definition: every step, every buffer.
uint64_t lowerBoundByCounting(const Problem &p) {
  std::map<int64_t, uint64_t> live;
  for (const Buffer &b : p.buffers)
    for (int64_t t = b.start; t <= b.end; ++t)
      live[t] += footprint(b);
  uint64_t peak = 0;
  for (const auto &entry : live)
    peak = std::max(peak, entry.second);
  return peak;
}

} // namespace

TEST(Align, AlignUpAndFootprint) {
  EXPECT_EQ(alignUp(0, 64), 0u);
  EXPECT_EQ(alignUp(1, 64), 64u);
  EXPECT_EQ(alignUp(64, 64), 64u);
  EXPECT_EQ(alignUp(65, 64), 128u);
  EXPECT_EQ(alignUp(5, 1), 5u);
  EXPECT_EQ(footprint(makeBuffer(0, 4097, 0, 0, 4096)), 8192u);
  EXPECT_EQ(footprint(makeBuffer(0, 0, 0, 0, 4096)), 0u);
}

TEST(UseSteps, DefaultsToProducerAndLastConsumer) {
  Buffer b = makeBuffer(0, 64, 3, 7);
  EXPECT_EQ(useSteps(b), (std::vector<int64_t>{3, 7}));
  b.uses = {7, 5, 3, 5};
  EXPECT_EQ(useSteps(b), (std::vector<int64_t>{3, 5, 7}));
  Buffer oneStep = makeBuffer(1, 64, 4, 4);
  EXPECT_EQ(useSteps(oneStep), (std::vector<int64_t>{4}));
}

TEST(LowerBound, EmptyAndSingle) {
  EXPECT_EQ(lowerBound(Problem{}), 0u);
  EXPECT_EQ(lowerBound(makeProblem({makeBuffer(0, 100, 2, 5)})), 128u);
}

TEST(LowerBound, AllOverlappingIsTheSum) {
  Problem p = makeProblem({makeBuffer(0, 64, 0, 9), makeBuffer(1, 128, 3, 4),
                           makeBuffer(2, 192, 4, 8)});
  EXPECT_EQ(lowerBound(p), 384u); // All three live at step 4.
}

TEST(LowerBound, DisjointIsTheLargest) {
  Problem p = makeProblem({makeBuffer(0, 640, 0, 1), makeBuffer(1, 128, 2, 3),
                           makeBuffer(2, 256, 4, 4)});
  EXPECT_EQ(lowerBound(p), 640u);
}

TEST(LowerBound, IntervalsAreInclusive) {
  // [0, 2] and [3, 5] never coexist; [0, 2] and [2, 5] share step 2.
  EXPECT_EQ(lowerBound(makeProblem(
                {makeBuffer(0, 64, 0, 2), makeBuffer(1, 128, 3, 5)})),
            128u);
  EXPECT_EQ(lowerBound(makeProblem(
                {makeBuffer(0, 64, 0, 2), makeBuffer(1, 128, 2, 5)})),
            192u);
}

TEST(LowerBound, HandComputedProfile) {
  // Live footprints: t0 128, t1 384, t2 768, t3 832 (B + C + D), t5 704.
  Problem p = makeProblem({
      makeBuffer(0, 100, 0, 1), // A: 128 bytes at t0-1
      makeBuffer(1, 256, 1, 3), // B
      makeBuffer(2, 512, 2, 3), // C
      makeBuffer(3, 64, 3, 6),  // D
      makeBuffer(4, 640, 5, 5), // E: 640 + 64 = 704 at t5
  });
  EXPECT_EQ(lowerBound(p), 832u);
  EXPECT_EQ(lowerBound(p), lowerBoundByCounting(p));
}

TEST(LowerBound, RoundsEachSizeToItsAlignment) {
  Problem p =
      makeProblem({makeBuffer(0, 1, 0, 0, 4096), makeBuffer(1, 100, 0, 0, 64),
                   makeBuffer(2, 3, 0, 0, 1)});
  EXPECT_EQ(lowerBound(p), 4096u + 128u + 3u);
}

TEST(LowerBound, ZeroSizeBuffersCountNothing) {
  Problem p = makeProblem({makeBuffer(0, 0, 0, 9), makeBuffer(1, 64, 0, 9),
                           makeBuffer(2, 0, 5, 5, 4096)});
  EXPECT_EQ(lowerBound(p), 64u);
}

TEST(LowerBound, MatchesCountingOnGeneratedInstances) {
  for (GraphShape shape : {GraphShape::Forward, GraphShape::ForwardBackward}) {
    for (uint64_t seed = 0; seed < 50; ++seed) {
      GeneratorOptions options;
      options.shape = shape;
      options.mixedAlignment = seed % 2 == 1;
      Problem p = generateProblem(seed, options);
      ASSERT_EQ(lowerBound(p), lowerBoundByCounting(p)) << "seed " << seed;
    }
  }
}

TEST(MinFeasibleBudget, LargestStepWorkingSet) {
  Problem p = makeProblem({makeBuffer(10, 100, 0, 1), makeBuffer(11, 200, 1, 2),
                           makeBuffer(12, 300, 2, 2)});
  // Step 0 touches {10}: 128; step 1 {10, 11}: 128 + 256; step 2 {11, 12}:
  // 256 + 320 = 576, the largest.
  auto floor = minFeasibleBudget(p, {{10}, {10, 11}, {11, 12}});
  ASSERT_TRUE(floor) << floor.error();
  EXPECT_EQ(floor->workingSetBytes, 576u);
  EXPECT_EQ(floor->minBudget, 576u);
  EXPECT_EQ(floor->step, 2);
}

TEST(MinFeasibleBudget, RepeatedOperandCountsOnce) {
  Problem p = makeProblem({makeBuffer(0, 64, 0, 1), makeBuffer(1, 64, 1, 1)});
  auto floor = minFeasibleBudget(p, {{0}, {0, 0, 1}}); // y = x * x
  ASSERT_TRUE(floor);
  EXPECT_EQ(floor->workingSetBytes, 128u);
  EXPECT_EQ(floor->step, 1);
}

TEST(MinFeasibleBudget, RoundsUpToTheArenaAlignment) {
  Problem p =
      makeProblem({makeBuffer(0, 3, 0, 0, 1), makeBuffer(1, 5, 0, 0, 1)});
  auto floor = minFeasibleBudget(p, {{0, 1}});
  ASSERT_TRUE(floor);
  EXPECT_EQ(floor->workingSetBytes, 8u);
  EXPECT_EQ(floor->minBudget, 64u);
}

TEST(MinFeasibleBudget, FirstStepWinsTies) {
  Problem p = makeProblem({makeBuffer(0, 64, 0, 0), makeBuffer(1, 64, 1, 1)});
  auto floor = minFeasibleBudget(p, {{}, {0}, {1}});
  ASSERT_TRUE(floor);
  EXPECT_EQ(floor->step, 1);
}

TEST(MinFeasibleBudget, UnknownIdFails) {
  Problem p = makeProblem({makeBuffer(0, 64, 0, 0)});
  auto floor = minFeasibleBudget(p, {{0}, {7}});
  ASSERT_FALSE(floor);
  EXPECT_NE(floor.error().find("step 1"), std::string::npos) << floor.error();
  EXPECT_NE(floor.error().find("id 7"), std::string::npos) << floor.error();
}

TEST(MinFeasibleBudget, NothingTouchedIsZero) {
  auto floor = minFeasibleBudget(Problem{}, {{}, {}});
  ASSERT_TRUE(floor);
  EXPECT_EQ(floor->minBudget, 0u);
  EXPECT_EQ(floor->step, -1);
  EXPECT_EQ(minFeasibleBudgetFromUses(Problem{}).step, -1);
}

TEST(MinFeasibleBudget, FromUsesAgreesWithStepLists) {
  for (GraphShape shape : {GraphShape::Forward, GraphShape::ForwardBackward}) {
    for (uint64_t seed = 100; seed < 140; ++seed) {
      GeneratorOptions options;
      options.shape = shape;
      Problem p = generateProblem(seed, options);
      int64_t lastStep = 0;
      for (const Buffer &b : p.buffers)
        lastStep = std::max(lastStep, b.end);
      std::vector<std::vector<int64_t>> touched(lastStep + 1);
      for (const Buffer &b : p.buffers)
        for (int64_t step : useSteps(b))
          touched[step].push_back(b.id);
      auto fromLists = minFeasibleBudget(p, touched);
      ASSERT_TRUE(fromLists);
      BudgetFloor fromUses = minFeasibleBudgetFromUses(p);
      EXPECT_EQ(fromLists->minBudget, fromUses.minBudget);
      EXPECT_EQ(fromLists->workingSetBytes, fromUses.workingSetBytes);
      EXPECT_EQ(fromLists->step, fromUses.step);
      // An op's working set is live at its step, so it never exceeds LB.
      EXPECT_LE(fromUses.workingSetBytes, lowerBound(p));
    }
  }
}

TEST(ValidateProblem, AcceptsGeneratedInstances) {
  for (GraphShape shape : {GraphShape::Forward, GraphShape::ForwardBackward}) {
    GeneratorOptions options;
    options.shape = shape;
    options.mixedAlignment = true;
    for (uint64_t seed = 0; seed < 20; ++seed)
      EXPECT_TRUE(validateProblem(generateProblem(seed, options)).empty());
  }
}

TEST(ValidateProblem, ReportsEachDefect) {
  auto errorsFor = [](Buffer b) {
    return validateProblem(makeProblem({makeBuffer(0, 64, 0, 0), b}));
  };
  EXPECT_EQ(errorsFor(makeBuffer(0, 64, 0, 0)).size(), 1u); // Duplicate id.
  EXPECT_EQ(errorsFor(makeBuffer(1, 64, 0, 0, 0)).size(), 1u);
  EXPECT_EQ(errorsFor(makeBuffer(1, 64, 0, 0, 48)).size(), 1u);
  EXPECT_EQ(errorsFor(makeBuffer(1, 64, 5, 4)).size(), 1u);
  EXPECT_EQ(errorsFor(makeBuffer(1, 64, -1, 4)).size(), 1u);
  Buffer badUse = makeBuffer(1, 64, 2, 4);
  badUse.uses = {2, 5};
  EXPECT_EQ(errorsFor(badUse).size(), 1u);
  Buffer badCost = makeBuffer(1, 64, 2, 4);
  badCost.transferCost = -1.0;
  EXPECT_EQ(errorsFor(badCost).size(), 1u);
  badCost.transferCost = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(errorsFor(badCost).size(), 1u);
  std::vector<std::string> errors =
      errorsFor(makeBuffer(1, uint64_t(1) << 63, 0, 0));
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors[0].find("buffer #1 (id 1, produced by op1)"),
            std::string::npos)
      << errors[0];
  EXPECT_TRUE(errorsFor(makeBuffer(1, 0, 3, 3, 1)).empty());
}

TEST(SummarizePlan, TotalsFromPlacements) {
  Problem p = makeProblem({makeBuffer(0, 100, 0, 2), makeBuffer(1, 30, 0, 2)});
  p.buffers[1].transferCost = 0.5;
  Plan plan;
  plan.placements.resize(2);
  plan.placements[0] = {Location::Arena, 64, {}};
  plan.placements[1] = {Location::Host, 0, {{0, 192}, {2, 192}}};
  summarizePlan(p, plan);
  EXPECT_EQ(plan.arenaBytes, 256u); // max(64 + 128, 192 + 64)
  EXPECT_EQ(plan.spilledBytes, 30u);
  EXPECT_DOUBLE_EQ(plan.transferCost, 0.5);
}

TEST(BufferKind, Names) {
  EXPECT_STREQ(toString(BufferKind::Activation), "activation");
  EXPECT_STREQ(toString(BufferKind::Temporary), "temporary");
}
