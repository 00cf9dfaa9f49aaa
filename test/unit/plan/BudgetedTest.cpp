//===- BudgetedTest.cpp - Budgeted mapping under a device capacity --------===//
//
// The promises of --mem-budget: a plan never exceeds the capacity, a budget
// below the largest single-op working set is refused (and one at it always
// succeeds), host buffers are staged exactly where ops touch them, and the
// spill choice follows the documented cost-per-byte rule.
//
//===----------------------------------------------------------------------===//

#include "PlanTestUtil.h"

#include "memc/Plan/Generator.h"

#include <chrono>
#include <cstdio>

using namespace memc::plan;
using namespace memc::plan::test;

namespace {

Plan planWithin(const Problem &p) {
  Outcome<Plan> plan = budgetedPlan(p);
  EXPECT_TRUE(plan) << plan.error();
  if (!plan)
    return Plan{};
  EXPECT_TRUE(isSound(p, *plan));
  if (p.capacity != 0) {
    EXPECT_LE(plan->arenaBytes, p.capacity);
  }
  return *plan;
}

size_t hostCount(const Plan &plan) {
  size_t count = 0;
  for (const Placement &placement : plan.placements)
    count += placement.location == Location::Host;
  return count;
}

} // namespace

TEST(Budgeted, UnboundedIsBestFit) {
  GeneratorOptions options;
  Problem p = generateProblem(3, options);
  Plan plan = planWithin(p);
  Plan bestFit = bestFitPlan(p);
  EXPECT_EQ(plan.algorithm, "budgeted_best_fit");
  EXPECT_EQ(plan.arenaBytes, bestFit.arenaBytes);
  EXPECT_EQ(hostCount(plan), 0u);
}

TEST(Budgeted, NoSpillsWhenBestFitAlreadyFits) {
  for (uint64_t seed = 0; seed < 30; ++seed) {
    GeneratorOptions options;
    options.shape =
        seed % 2 ? GraphShape::ForwardBackward : GraphShape::Forward;
    Problem p = generateProblem(seed, options);
    p.capacity = bestFitPlan(p).arenaBytes;
    Plan plan = planWithin(p);
    EXPECT_EQ(hostCount(plan), 0u) << "seed " << seed;
    EXPECT_EQ(plan.spilledBytes, 0u);
    EXPECT_EQ(plan.transferCost, 0.0);
  }
}

TEST(Budgeted, RefusesBelowTheBudgetFloor) {
  // Step 1 touches A and B: 1024 + 512 bytes, the largest working set.
  Problem p = makeProblem({makeBuffer(0, 1024, 0, 1), makeBuffer(1, 512, 1, 2),
                           makeBuffer(2, 256, 2, 3)});
  BudgetFloor floor = minFeasibleBudgetFromUses(p);
  ASSERT_EQ(floor.minBudget, 1536u);
  ASSERT_EQ(floor.step, 1);

  p.capacity = floor.minBudget - 1;
  Outcome<Plan> refused = budgetedPlan(p);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("1535"), std::string::npos) << refused.error();
  EXPECT_NE(refused.error().find("1536"), std::string::npos) << refused.error();
  EXPECT_NE(refused.error().find("step 1"), std::string::npos)
      << refused.error();

  p.capacity = floor.minBudget;
  Plan plan = planWithin(p);
  EXPECT_LE(plan.arenaBytes, 1536u);
}

TEST(Budgeted, SucceedsAtTheFloorOnGeneratedInstances) {
  // The floor is the promise behind min_budget_bytes: any budget at or above
  // it must produce a plan, however tight.
  for (GraphShape shape : {GraphShape::Forward, GraphShape::ForwardBackward}) {
    for (uint64_t seed = 0; seed < 60; ++seed) {
      GeneratorOptions options;
      options.shape = shape;
      options.mixedAlignment = seed % 3 == 0;
      Problem p = generateProblem(500 + seed, options);
      BudgetFloor floor = minFeasibleBudgetFromUses(p);
      p.capacity = floor.minBudget;
      planWithin(p);
      p.capacity = floor.minBudget - 1;
      EXPECT_FALSE(budgetedPlan(p)) << "seed " << seed;
      if (HasFailure())
        return;
    }
  }
}

TEST(Budgeted, CapacitySweepOnGeneratedInstances) {
  for (GraphShape shape : {GraphShape::Forward, GraphShape::ForwardBackward}) {
    for (uint64_t seed = 0; seed < 60; ++seed) {
      GeneratorOptions options;
      options.shape = shape;
      Problem p = generateProblem(900 + seed, options);
      uint64_t floor = minFeasibleBudgetFromUses(p).minBudget;
      uint64_t lb = lowerBound(p);
      uint64_t fits = bestFitPlan(p).arenaBytes;
      // From generous to tight; capacities not multiples of 64 included.
      for (uint64_t capacity :
           {fits, lb + 100, (floor + lb) / 2 + 13, floor + 64, floor}) {
        if (capacity < floor)
          continue;
        p.capacity = capacity;
        Plan plan = planWithin(p);
        if (capacity >= fits) {
          EXPECT_EQ(hostCount(plan), 0u);
        }
        if (capacity < lb) {
          EXPECT_GT(hostCount(plan), 0u) << "below LB something must move";
        }
        EXPECT_GE(plan.transferCost, 0.0);
      }
      if (HasFailure())
        return;
    }
  }
}

TEST(Budgeted, SpillsTheCheapestPerByte) {
  // A, B and C are all live at step 2 where only C is used; A and B must not
  // both stay. B costs less per byte than A, so B goes to the host.
  Problem p = makeProblem({makeBuffer(0, 1024, 0, 4), makeBuffer(1, 1024, 1, 3),
                           makeBuffer(2, 1024, 2, 2)});
  p.buffers[0].transferCost = 2.0;
  p.buffers[1].transferCost = 1.0;
  p.buffers[2].transferCost = 0.1; // Cheapest, but used at the peak step.
  p.capacity = 2048;
  Plan plan = planWithin(p);
  EXPECT_EQ(plan.placements[0].location, Location::Arena);
  EXPECT_EQ(plan.placements[1].location, Location::Host);
  EXPECT_EQ(plan.placements[2].location, Location::Arena);
  EXPECT_EQ(plan.spilledBytes, 1024u);
  EXPECT_DOUBLE_EQ(plan.transferCost, 1.0);
  // Staged at its producer (1) and last consumer (3), nowhere else.
  ASSERT_EQ(plan.placements[1].staging.size(), 2u);
  EXPECT_EQ(plan.placements[1].staging[0].step, 1);
  EXPECT_EQ(plan.placements[1].staging[1].step, 3);
}

TEST(Budgeted, CostPerByteNotTotalCost) {
  // The big buffer costs more in total but less per byte, and spilling it
  // frees more: it is the one to go.
  Problem p = makeProblem({makeBuffer(0, 4096, 0, 4), makeBuffer(1, 1024, 0, 4),
                           makeBuffer(2, 1024, 2, 2)});
  p.buffers[0].transferCost = 2.0; // 2 / 4096 per byte
  p.buffers[1].transferCost = 1.0; // 1 / 1024 per byte
  p.capacity = 4096 + 1024;
  Plan plan = planWithin(p);
  EXPECT_EQ(plan.placements[0].location, Location::Host);
  EXPECT_EQ(plan.placements[1].location, Location::Arena);
}

TEST(Budgeted, StagesAtEveryUseStep) {
  Buffer reused = makeBuffer(0, 2048, 0, 8);
  reused.uses = {0, 3, 8};
  reused.transferCost = 0.01;
  Problem p = makeProblem(
      {reused, makeBuffer(1, 2048, 4, 5), makeBuffer(2, 1024, 1, 2)},
      /*capacity=*/3072);
  Plan plan = planWithin(p);
  ASSERT_EQ(plan.placements[0].location, Location::Host);
  std::vector<int64_t> steps;
  for (const StagingSlot &slot : plan.placements[0].staging)
    steps.push_back(slot.step);
  EXPECT_EQ(steps, (std::vector<int64_t>{0, 3, 8}));
}

TEST(Budgeted, CapacityNotAMultipleOfTheArenaAlignment) {
  Problem p = makeProblem({makeBuffer(0, 640, 0, 3), makeBuffer(1, 640, 1, 4),
                           makeBuffer(2, 640, 2, 2)});
  p.capacity = 1300; // Room for two 640-byte buffers, but not for 1344.
  Plan plan = planWithin(p);
  EXPECT_LE(plan.arenaBytes, 1280u);
  EXPECT_EQ(hostCount(plan), 1u);
}

TEST(Budgeted, BuffersUsedAtEveryLiveStepAreNeverWorthSpilling) {
  // Each buffer is touched at every step it lives, so spilling saves
  // nothing; at the floor the plan keeps the working sets and moves nothing
  // it does not have to.
  std::vector<Buffer> chain;
  for (int i = 0; i < 6; ++i)
    chain.push_back(makeBuffer(i, 512, i, i + 1));
  Problem p = makeProblem(chain);
  p.capacity = minFeasibleBudgetFromUses(p).minBudget;
  Plan plan = planWithin(p);
  EXPECT_EQ(p.capacity, 1024u);
  EXPECT_EQ(hostCount(plan), 0u);
}

TEST(Budgeted, ZeroSizeBuffersStayInTheArena) {
  Problem p = makeProblem({makeBuffer(0, 0, 0, 5), makeBuffer(1, 1024, 0, 5),
                           makeBuffer(2, 1024, 2, 3)},
                          /*capacity=*/1024);
  Plan plan = planWithin(p);
  EXPECT_EQ(plan.placements[0].location, Location::Arena);
  EXPECT_EQ(plan.placements[1].location, Location::Host);
}

TEST(Budgeted, HugeCapacityMovesNothing) {
  GeneratorOptions options;
  options.shape = GraphShape::ForwardBackward;
  Problem p = generateProblem(8, options);
  p.capacity = UINT64_MAX;
  Plan plan = planWithin(p);
  EXPECT_EQ(hostCount(plan), 0u);
  EXPECT_EQ(plan.arenaBytes, bestFitPlan(p).arenaBytes);
}

TEST(Budgeted, Deterministic) {
  GeneratorOptions options;
  options.shape = GraphShape::ForwardBackward;
  Problem p = generateProblem(31, options);
  p.capacity = (minFeasibleBudgetFromUses(p).minBudget + lowerBound(p)) / 2;
  Plan a = planWithin(p), b = planWithin(p);
  ASSERT_EQ(a.placements.size(), b.placements.size());
  for (size_t i = 0; i < a.placements.size(); ++i) {
    EXPECT_EQ(a.placements[i].location, b.placements[i].location);
    EXPECT_EQ(a.placements[i].offset, b.placements[i].offset);
    EXPECT_EQ(a.placements[i].staging.size(), b.placements[i].staging.size());
  }
  EXPECT_EQ(a.arenaBytes, b.arenaBytes);
}

TEST(Budgeted, TenThousandBuffersAtTheFloor) {
  // The tightest budget is the slowest (most spills, most packing
  // attempts): ~0.9 s in a Release build on a 10,000-buffer training graph.
  GeneratorOptions options;
  options.shape = GraphShape::ForwardBackward;
  options.minLayers = options.maxLayers = 3200;
  Problem p = generateProblem(5, options);
  ASSERT_GE(p.buffers.size(), 10000u);
  p.buffers.resize(10000);
  p.capacity = minFeasibleBudgetFromUses(p).minBudget;
  auto start = std::chrono::steady_clock::now();
  Outcome<Plan> plan = budgetedPlan(p);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_TRUE(isSound(p, *plan));
  EXPECT_LE(plan->arenaBytes, p.capacity);
// Timings mean something only in optimized builds without sanitizers
// (ASan alone costs about 2x here).
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(seconds, 3.0);
#endif
  uint64_t totalBytes = 0;
  for (const Buffer &b : p.buffers)
    totalBytes += b.size;
  std::printf("[   TIME   ] budgeted 10000 buffers at the floor: %.3f s, "
              "%.1f%% of bytes on the host\n",
              seconds,
              100.0 * static_cast<double>(plan->spilledBytes) /
                  static_cast<double>(totalBytes));
}

TEST(Budgeted, SearchNeverCostsMoreAndSometimesLess) {
  // budgetedSearchPlan from the heuristic's plan: sound, within the
  // capacity, never costlier; on generated programs at (floor + LB) / 2 the
  // spill heuristic leaves cost on the table often enough that a few seeds
  // must show it.
  int cheaper = 0;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    GeneratorOptions options;
    options.shape =
        seed % 2 ? GraphShape::ForwardBackward : GraphShape::Forward;
    Problem p = generateProblem(seed, options);
    uint64_t floor = minFeasibleBudgetFromUses(p).minBudget;
    uint64_t lb = lowerBound(p);
    p.capacity = floor + (lb > floor ? (lb - floor) / 2 : 0);
    Plan start = planWithin(p);
    bool stopped = true;
    Plan searched = budgetedSearchPlan(p, start, 200, 0, &stopped);
    EXPECT_FALSE(stopped);
    EXPECT_EQ(searched.algorithm, "budgeted_search");
    EXPECT_TRUE(isSound(p, searched)) << "seed " << seed;
    EXPECT_LE(searched.arenaBytes, p.capacity);
    EXPECT_LE(searched.transferCost, start.transferCost) << "seed " << seed;
    cheaper += searched.transferCost < start.transferCost;
  }
  EXPECT_GE(cheaper, 3);
}

TEST(Budgeted, SearchKeepsAPlanWithoutSpills) {
  Problem p = generateProblem(3, GeneratorOptions{});
  p.capacity = bestFitPlan(p).arenaBytes;
  Plan start = planWithin(p);
  ASSERT_EQ(start.transferCost, 0.0);
  Plan searched = budgetedSearchPlan(p, start, 50, 0);
  EXPECT_EQ(searched.transferCost, 0.0);
  EXPECT_EQ(hostCount(searched), 0u);
}
