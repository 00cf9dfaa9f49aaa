//===- RematTest.cpp - keep / recompute / swap decisions ------------------===//

#include "memc/Plan/Remat.h"

#include <gtest/gtest.h>

#include <random>

using namespace memc::plan;

namespace {

RematValue value(std::string name, uint64_t bytes, int64_t made,
                 int64_t lastForwardUse, std::vector<int64_t> backwardUses,
                 double recomputeCost, std::vector<int> inputs,
                 double swapCost) {
  RematValue v;
  v.name = std::move(name);
  v.bytes = bytes;
  v.made = made;
  v.lastForwardUse = lastForwardUse;
  v.backwardUses = std::move(backwardUses);
  v.recomputeCost = recomputeCost;
  v.inputs = std::move(inputs);
  v.swapCost = swapCost;
  return v;
}

/// a -> b -> c -> loss, the backward reading c, b, a in turn:
///   step  0: a   1: b   2: c   3: loss   4: c'   5: b'   6: a'
/// Kept, the load is 100 300 600 600 600 300 100; the forward alone holds
/// b and c (500 bytes) at step 2, so no plan goes below 500.
RematProblem chain3() {
  RematProblem p;
  p.numSteps = 7;
  p.fixedLoad.assign(7, 0);
  p.values.push_back(value("a", 100, 0, 1, {6}, 1.0, {}, 10.0));
  p.values.push_back(value("b", 200, 1, 2, {5}, 2.0, {0}, 10.0));
  p.values.push_back(value("c", 300, 2, 3, {4}, 3.0, {1}, 10.0));
  return p;
}

/// A layered step of n ops: value i is made at step i and read by op i+1
/// (and, at random, by op i+2: a residual); the backward of op j runs at
/// step 2n - j and reads op j's inputs and output.
RematProblem layered(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> size(1, 8);
  std::uniform_real_distribution<double> speed(0.2, 3.0);
  std::bernoulli_distribution residual(0.3), opaque(0.1);
  RematProblem p;
  p.numSteps = 2 * n + 1;
  p.fixedLoad.assign(p.numSteps, 0);
  std::vector<std::vector<int>> readers(n);
  for (int i = 0; i < n; ++i) {
    RematValue v;
    v.name = "v" + std::to_string(i);
    v.bytes = uint64_t(size(rng)) << 20;
    v.made = i;
    v.lastForwardUse = std::min(i + 1, n - 1);
    if (i > 0) {
      v.inputs.push_back(i - 1);
      readers[i - 1].push_back(i);
    }
    if (i > 1 && residual(rng)) {
      v.inputs.push_back(i - 2);
      readers[i - 2].push_back(i);
      p.values[i - 2].lastForwardUse = i;
    }
    v.recomputeCost = double(v.bytes) * 1e-9 * speed(rng);
    v.swapCost = double(v.bytes) * 2e-10 * 4;
    v.recomputable = !opaque(rng);
    p.values.push_back(v);
  }
  for (int i = 0; i < n; ++i) {
    std::vector<int64_t> uses{2 * n - i};
    for (int r : readers[i])
      uses.push_back(2 * n - r);
    std::sort(uses.begin(), uses.end());
    uses.erase(std::unique(uses.begin(), uses.end()), uses.end());
    p.values[i].backwardUses = uses;
    // The gradient of each value lives through its op's backward.
    p.fixedLoad[2 * n - i] += p.values[i].bytes;
  }
  return p;
}

TEST(Remat, KeepingEverythingIsTheUnbudgetedLoad) {
  RematPlan plan = keepAll(chain3());
  EXPECT_EQ(plan.peakBytes, 600u);
  EXPECT_EQ(plan.extraSeconds, 0.0);
  EXPECT_TRUE(plan.feasible);
}

TEST(Remat, RecomputeChainsThroughValuesThatAreNotThere) {
  RematProblem p = chain3();
  // b recomputed at step 5 reads a, which is recomputed only at step 6: a
  // is made at 5 too, as a link of b's chain.
  RematPlan plan =
      evaluate(p, {RematChoice::Recompute, RematChoice::Recompute,
                   RematChoice::Keep});
  ASSERT_TRUE(plan.feasible);
  std::vector<std::pair<int64_t, int>> expected{{5, 0}, {5, 1}, {6, 0}};
  EXPECT_EQ(plan.recomputations, expected);
  EXPECT_DOUBLE_EQ(plan.extraSeconds, 1.0 + 2.0 + 1.0);
  // Step 2 still holds b and c from the forward.
  EXPECT_EQ(plan.peakBytes, 500u);
}

TEST(Remat, ReusedLinksAreMadeOnceAndKept) {
  RematProblem p = chain3();
  // With reuse, a made at step 5 for b's chain stays for its own read at 6.
  RematPlan plan = evaluate(
      p, {RematChoice::Recompute, RematChoice::Recompute, RematChoice::Keep},
      /*reuseLinks=*/true);
  ASSERT_TRUE(plan.feasible);
  std::vector<std::pair<int64_t, int>> expected{{5, 0}, {5, 1}};
  EXPECT_EQ(plan.recomputations, expected);
  EXPECT_DOUBLE_EQ(plan.extraSeconds, 1.0 + 2.0);
  EXPECT_EQ(plan.madeAt[0], 5);
  EXPECT_EQ(plan.madeAt[1], 5);
  EXPECT_EQ(plan.madeAt[2], -1);
  // Steps 5 and 6: a (100) lives from 5; b (200) at 5.
  EXPECT_EQ(plan.load[5], 300u);
  EXPECT_EQ(plan.load[6], 100u);
}

TEST(Remat, UnrecomputableInputMakesTheRecomputeInfeasible) {
  RematProblem p = chain3();
  p.values[0].recomputable = false;
  RematPlan plan = evaluate(
      p, {RematChoice::Swap, RematChoice::Recompute, RematChoice::Keep});
  EXPECT_FALSE(plan.feasible);
  EXPECT_NE(plan.why.find("'b'"), std::string::npos) << plan.why;
}

TEST(Remat, GreedyAndMilpPickTheCheapestFit) {
  RematProblem p = chain3();
  for (RematPlan plan : {solveGreedy(p, 500), solveMilp(p, 500, 10.0)}) {
    if (plan.solver == "milp" && !haveMilpSolver())
      continue;
    ASSERT_TRUE(plan.feasible) << plan.solver << ": " << plan.why;
    EXPECT_EQ(plan.peakBytes, 500u) << plan.solver;
    EXPECT_EQ(plan.choice[0], RematChoice::Recompute) << plan.solver;
    EXPECT_EQ(plan.choice[1], RematChoice::Keep) << plan.solver;
    EXPECT_EQ(plan.choice[2], RematChoice::Keep) << plan.solver;
    EXPECT_DOUBLE_EQ(plan.extraSeconds, 1.0) << plan.solver;
  }
}

TEST(Remat, SwapWinsWhereRecomputeIsDear) {
  RematProblem p = chain3();
  p.values[0].recomputeCost = 50.0;
  RematPlan greedy = solveGreedy(p, 500);
  EXPECT_EQ(greedy.choice[0], RematChoice::Swap);
  EXPECT_DOUBLE_EQ(greedy.extraSeconds, 10.0);
  if (haveMilpSolver()) {
    RematPlan milp = solveMilp(p, 500, 10.0);
    EXPECT_EQ(milp.choice[0], RematChoice::Swap);
    EXPECT_TRUE(milp.optimal);
  }
}

TEST(Remat, NothingIsSwappedWhereTheTargetCannot) {
  RematProblem p = chain3();
  p.values[0].recomputeCost = 50.0;
  for (RematValue &v : p.values)
    v.swappable = false;
  RematPlan greedy = solveGreedy(p, 500);
  EXPECT_EQ(greedy.choice[0], RematChoice::Recompute);
  EXPECT_FALSE(evaluate(p, {RematChoice::Swap}).feasible);
  if (haveMilpSolver())
    EXPECT_EQ(solveMilp(p, 500, 10.0).choice[0], RematChoice::Recompute);
}

TEST(Remat, SwapAllStagesEachValueAtItsReaders) {
  // Each value on the host from its last forward read to its backward read:
  // the load is 100 300 500 300 300 200 100, at three copies' cost.
  RematPlan plan = swapAll(chain3());
  ASSERT_TRUE(plan.feasible) << plan.why;
  EXPECT_EQ(plan.solver, "swap-all");
  for (RematChoice c : plan.choice)
    EXPECT_EQ(c, RematChoice::Swap);
  EXPECT_EQ(plan.load,
            (std::vector<uint64_t>{100, 300, 500, 300, 300, 200, 100}));
  EXPECT_DOUBLE_EQ(plan.extraSeconds, 30.0);
  // Values the target cannot swap are kept.
  RematProblem p = chain3();
  p.values[1].swappable = false;
  EXPECT_EQ(swapAll(p).choice[1], RematChoice::Keep);
}

TEST(Remat, MilpSaysWhenNothingFits) {
  if (!haveMilpSolver())
    GTEST_SKIP() << "built without CBC";
  RematPlan plan = solveMilp(chain3(), 499, 10.0);
  EXPECT_FALSE(plan.feasible);
  EXPECT_NE(plan.why.find("step 2 needs 500 bytes"), std::string::npos)
      << plan.why;
  // The greedy gets as low as it can and says it is over by its peak.
  RematPlan greedy = solveGreedy(chain3(), 499);
  EXPECT_EQ(greedy.peakBytes, 500u);
}

TEST(Remat, SolveRematKeepsEverythingWhenItFits) {
  RematPlan plan = solveRemat(chain3(), 600, 5.0);
  EXPECT_EQ(plan.solver, "keep");
  EXPECT_EQ(plan.extraSeconds, 0.0);
}

TEST(Remat, ChenKeepsTheLastValueOfEachSegment) {
  RematProblem p = layered(16, 3);
  for (RematValue &v : p.values)
    v.recomputable = true;
  RematPlan plan = solveChen(p, 4);
  ASSERT_TRUE(plan.feasible) << plan.why;
  for (int i : {3, 7, 11, 15})
    EXPECT_EQ(plan.choice[i], RematChoice::Keep) << i;
  for (int i : {0, 1, 2, 4, 8, 12, 14})
    EXPECT_EQ(plan.choice[i], RematChoice::Recompute) << i;
  EXPECT_LT(plan.peakBytes, keepAll(p).peakBytes);
}

/// On generated layered steps, at budgets between the floor and the
/// unbudgeted peak: the MILP's plan fits and costs no more than the
/// greedy's; recompute-all and Chen's plans are feasible.
TEST(Remat, MilpIsNoWorseThanTheGreedyOnGeneratedSteps) {
  if (!haveMilpSolver())
    GTEST_SKIP() << "built without CBC";
  int solvedBoth = 0;
  for (unsigned seed = 0; seed < 20; ++seed) {
    RematProblem p = layered(14, seed);
    uint64_t top = keepAll(p).peakBytes;
    uint64_t floor = recomputeAll(p).peakBytes;
    for (double f : {0.9, 0.75, 0.6}) {
      uint64_t budget = floor + uint64_t(f * double(top - floor));
      RematPlan milp = solveMilp(p, budget, 20.0);
      RematPlan greedy = solveGreedy(p, budget);
      EXPECT_TRUE(recomputeAll(p).feasible);
      EXPECT_TRUE(solveChen(p).feasible);
      if (!milp.feasible)
        continue;
      EXPECT_LE(milp.peakBytes, budget) << "seed " << seed;
      if (greedy.peakBytes <= budget) {
        ++solvedBoth;
        EXPECT_LE(milp.extraSeconds, greedy.extraSeconds * (1 + 1e-9) + 1e-12)
            << "seed " << seed << " budget " << budget;
      }
    }
  }
  EXPECT_GT(solvedBoth, 30);
}

} // namespace
