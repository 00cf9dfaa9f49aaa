//===- SpillMilpTest.cpp - Budgeted mapping's spill MILP
//-------------------===//
//
// The spill MILP's two promises: its bound is below the transfer cost of
// every plan that fits the capacity (the heuristic's, the mapper's, its
// own), and its plans are sound and fit. Plus the case it exists for: a
// host set that the heuristic's cost-per-byte rule cannot find.
//
//===----------------------------------------------------------------------===//

#include "PlanTestUtil.h"

#include "memc/Plan/Generator.h"
#include "memc/Plan/Mapper.h"
#include "memc/Plan/Remat.h"
#include "memc/Plan/SpillMilp.h"

using namespace memc::plan;
using namespace memc::plan::test;

namespace {

/// Within CBC's relative gap.
bool atLeast(double cost, double bound) {
  return cost >= bound * (1 - 1e-6) - 1e-12;
}

/// Three buffers live over all five steps and touched at 0 and 4, and one
/// op at step 2 whose result needs 6400 bytes: under 14080 bytes, 6400
/// bytes of the three must leave at step 2. By cost per byte b and c are
/// cheaper than a, and spilling both costs 1.0; a alone costs 0.9.
Problem costPerByteTrap() {
  Buffer a = makeBuffer(0, 6400, 0, 4), b = makeBuffer(1, 3840, 0, 4),
         c = makeBuffer(2, 3840, 0, 4), d = makeBuffer(3, 6400, 2, 2);
  a.uses = b.uses = c.uses = {0, 4};
  a.transferCost = 0.9;
  b.transferCost = c.transferCost = 0.5;
  d.transferCost = 5.0;
  return makeProblem({a, b, c, d}, 14080);
}

} // namespace

TEST(SpillMilp, FindsTheHostSetTheCostPerByteRuleMisses) {
  if (!haveMilpSolver())
    GTEST_SKIP() << "this build has no CBC";
  Problem p = costPerByteTrap();
  Outcome<Plan> heuristic = budgetedPlan(p);
  ASSERT_TRUE(heuristic) << heuristic.error();
  EXPECT_DOUBLE_EQ(heuristic->transferCost, 1.0);

  SpillBound bound;
  std::optional<Plan> plan = milpSpillPlan(p, {}, &bound);
  ASSERT_TRUE(plan);
  EXPECT_TRUE(isSound(p, *plan));
  EXPECT_LE(plan->arenaBytes, p.capacity);
  EXPECT_EQ(plan->algorithm, "budgeted_milp");
  EXPECT_DOUBLE_EQ(plan->transferCost, 0.9);
  EXPECT_EQ(plan->placements[0].location, Location::Host);
  ASSERT_EQ(plan->placements[0].staging.size(), 2u);
  EXPECT_TRUE(bound.proven);
  EXPECT_NEAR(bound.cost, 0.9, 1e-9);

  Outcome<MapperResult> mapped = runMapper(p, {});
  ASSERT_TRUE(mapped) << mapped.error();
  EXPECT_EQ(mapped->winner, "budgeted_milp");
  EXPECT_NEAR(mapped->transferCostBound, 0.9, 1e-9);
}

TEST(SpillMilp, BoundIsBelowEveryPlanAndItsPlansFit) {
  if (!haveMilpSolver())
    GTEST_SKIP() << "this build has no CBC";
  int plans = 0, optimal = 0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    GeneratorOptions options;
    options.shape =
        seed % 2 ? GraphShape::Forward : GraphShape::ForwardBackward;
    Problem p = generateProblem(seed, options);
    uint64_t floor = minFeasibleBudgetFromUses(p).minBudget;
    uint64_t lb = lowerBound(p);
    for (uint64_t capacity :
         {floor, floor + (lb - floor) / 4, floor + (lb - floor) / 2}) {
      p.capacity = capacity;
      SCOPED_TRACE("seed " + std::to_string(seed) + ", capacity " +
                   std::to_string(capacity));
      SpillBound bound = spilledCostLowerBound(p);
      ASSERT_TRUE(bound.proven);
      Outcome<Plan> heuristic = budgetedPlan(p);
      ASSERT_TRUE(heuristic);
      EXPECT_TRUE(atLeast(heuristic->transferCost, bound.cost));
      Outcome<MapperResult> mapped = runMapper(p, {});
      ASSERT_TRUE(mapped);
      EXPECT_TRUE(atLeast(mapped->plan.transferCost, bound.cost));
      EXPECT_NEAR(mapped->transferCostBound, bound.cost, 1e-9);
      SpillBound first;
      std::optional<Plan> plan = milpSpillPlan(p, {}, &first);
      EXPECT_NEAR(first.cost, bound.cost, 1e-9);
      if (!plan)
        continue;
      ++plans;
      EXPECT_TRUE(isSound(p, *plan));
      EXPECT_LE(plan->arenaBytes, capacity);
      EXPECT_TRUE(atLeast(plan->transferCost, bound.cost));
      optimal += plan->transferCost <= bound.cost * (1 + 1e-6);
    }
  }
  // Most of these pack at the bound or after a lowered load.
  EXPECT_GE(plans, 20);
  EXPECT_GE(optimal, 10);
}

TEST(SpillMilp, NothingToSpillWhereEverythingFits) {
  if (!haveMilpSolver())
    GTEST_SKIP() << "this build has no CBC";
  GeneratorOptions options;
  Problem p = generateProblem(4, options);
  p.capacity = bestFitPlan(p).arenaBytes;
  SpillBound bound;
  std::optional<Plan> plan = milpSpillPlan(p, {}, &bound);
  ASSERT_TRUE(plan);
  EXPECT_TRUE(bound.proven);
  EXPECT_EQ(bound.cost, 0.0);
  EXPECT_EQ(plan->transferCost, 0.0);
  EXPECT_EQ(plan->spilledBytes, 0u);
}

TEST(SpillMilp, NoBoundWithoutACapacityOrBelowTheFloor) {
  Problem p = costPerByteTrap();
  p.capacity = 0;
  EXPECT_FALSE(spilledCostLowerBound(p).proven);
  EXPECT_FALSE(milpSpillPlan(p));
  p.capacity = minFeasibleBudgetFromUses(p).minBudget - 64;
  EXPECT_FALSE(spilledCostLowerBound(p).proven);
  SpillBound bound{true, 1.0};
  EXPECT_FALSE(milpSpillPlan(p, {}, &bound));
  EXPECT_FALSE(bound.proven);
  // Too many buffers for the program: not attempted.
  p.capacity = 14080;
  SpillMilpOptions small;
  small.maxBuffers = 3;
  EXPECT_FALSE(spilledCostLowerBound(p, small).proven);
  EXPECT_FALSE(milpSpillPlan(p, small));
}
