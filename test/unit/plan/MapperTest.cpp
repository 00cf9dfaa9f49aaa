//===- MapperTest.cpp - The learned mapper's contract ---------------------===//
//
// runMapper never returns a plan worse than the heuristics or one the
// verifier rejects, reports the winner honestly, is deterministic, and
// fails exactly where budgetedPlan does. Also the MCTS and the order
// search on their own, and the adversarial shapes of issue #3.
//
//===----------------------------------------------------------------------===//

#include "PlanTestUtil.h"

#include "memc/Plan/Generator.h"
#include "memc/Plan/Mapper.h"

#include <chrono>

using namespace memc::plan;
using namespace memc::plan::test;

namespace {

/// Runs the mapper on a packing problem and checks the contract.
MapperResult checkPacking(const Problem &p, const MapperOptions &options = {}) {
  Outcome<MapperResult> result = runMapper(p, options);
  EXPECT_TRUE(result.ok()) << result.error();
  if (!result)
    return {};
  EXPECT_TRUE(isSound(p, result->plan));
  EXPECT_EQ(result->plan.algorithm, result->winner);
  EXPECT_EQ(result->lowerBound, lowerBound(p));
  EXPECT_GE(result->plan.arenaBytes,
            alignUp(result->lowerBound, kArenaAlignment));
  std::vector<std::string> keys;
  for (const auto &entry : result->heuristicArenaBytes)
    keys.push_back(entry.first);
  EXPECT_EQ(keys,
            (std::vector<std::string>{"best_fit", "greedy_by_size", "naive"}));
  EXPECT_EQ(result->heuristicArenaBytes["naive"], naivePlan(p).arenaBytes);
  EXPECT_EQ(result->heuristicArenaBytes["best_fit"], bestFitPlan(p).arenaBytes);
  uint64_t best =
      std::min({naivePlan(p).arenaBytes, greedyBySizePlan(p).arenaBytes,
                bestFitPlan(p).arenaBytes});
  EXPECT_LE(result->plan.arenaBytes, best);
  bool heuristicWon = result->winner == "best_fit" ||
                      result->winner == "greedy_by_size" ||
                      result->winner == "naive";
  if (heuristicWon)
    EXPECT_EQ(result->plan.arenaBytes, best);
  else
    EXPECT_LT(result->plan.arenaBytes, best) << result->winner;
  return *result;
}

} // namespace

TEST(Mapper, NeverWorseThanTheHeuristicsOnGeneratedPrograms) {
  int improved = 0;
  for (bool mixed : {false, true})
    for (GraphShape shape :
         {GraphShape::Forward, GraphShape::ForwardBackward}) {
      GeneratorOptions options;
      options.shape = shape;
      options.mixedAlignment = mixed;
      for (uint64_t seed = 1; seed <= 5; ++seed) {
        Problem p = generateProblem(seed, options);
        MapperResult r = checkPacking(p);
        improved +=
            r.winner == "mallocgame_mcts" || r.winner == "best_fit_search";
      }
    }
  // Forward+backward programs leave room above the lower bound that the
  // searches find on some of them.
  EXPECT_GT(improved, 0);
}

TEST(Mapper, DeterministicForAGivenSeed) {
  GeneratorOptions options;
  options.shape = GraphShape::ForwardBackward;
  Problem p = generateProblem(4, options);
  MapperOptions mapper;
  mapper.seed = 7;
  Outcome<MapperResult> a = runMapper(p, mapper), b = runMapper(p, mapper);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->winner, b->winner);
  EXPECT_EQ(a->mctsArenaBytes, b->mctsArenaBytes);
  for (size_t i = 0; i < p.buffers.size(); ++i)
    EXPECT_EQ(a->plan.placements[i].offset, b->plan.placements[i].offset);
}

TEST(Mapper, ATimeLimitStopsTheSearchesButKeepsAValidPlan) {
  GeneratorOptions options;
  options.shape = GraphShape::ForwardBackward;
  Problem p = generateProblem(4, options);
  MapperOptions mapper;
  Outcome<MapperResult> full = runMapper(p, mapper);
  mapper.timeLimitSeconds = 1e-9;
  Outcome<MapperResult> cut = runMapper(p, mapper);
  ASSERT_TRUE(full.ok() && cut.ok());
  EXPECT_FALSE(full->timedOut);
  EXPECT_TRUE(cut->timedOut);
  EXPECT_TRUE(verifyPlan(p, cut->plan).empty());
  uint64_t bestHeuristic = UINT64_MAX;
  for (const auto &[name, bytes] : cut->heuristicArenaBytes)
    bestHeuristic = std::min(bestHeuristic, bytes);
  EXPECT_LE(cut->plan.arenaBytes, bestHeuristic);
  EXPECT_LE(full->plan.arenaBytes, cut->plan.arenaBytes);
}

TEST(Mapper, AdversarialPackingShapes) {
  // All alive at once: the arena is the sum, every planner is optimal.
  std::vector<Buffer> together;
  for (int i = 0; i < 40; ++i)
    together.push_back(makeBuffer(i, 64 * (1 + i % 7), 0, 5));
  MapperResult r = checkPacking(makeProblem(together));
  EXPECT_EQ(r.plan.arenaBytes, r.lowerBound);
  // Zero-size buffers only, and mixed in.
  checkPacking(makeProblem({makeBuffer(0, 0, 0, 3), makeBuffer(1, 0, 1, 2)}));
  checkPacking(makeProblem({makeBuffer(0, 0, 0, 3), makeBuffer(1, 100, 1, 2),
                            makeBuffer(2, 0, 2, 2, 4096)}));
  // Huge alignments next to small ones.
  checkPacking(makeProblem(
      {makeBuffer(0, 1, 0, 4, 1 << 20), makeBuffer(1, 3000, 1, 2, 16),
       makeBuffer(2, 1, 2, 5, 1 << 20), makeBuffer(3, 5000, 0, 1, 4096)}));
  // A single buffer, and nothing at all.
  r = checkPacking(makeProblem({makeBuffer(0, 1000, 3, 3)}));
  EXPECT_EQ(r.plan.arenaBytes, 1024u);
  r = checkPacking(Problem{});
  EXPECT_EQ(r.plan.arenaBytes, 0u);
}

TEST(Mapper, BudgetedNeverCostsMoreThanBudgetedPlan) {
  GeneratorOptions options;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    options.shape =
        seed % 2 ? GraphShape::Forward : GraphShape::ForwardBackward;
    Problem p = generateProblem(seed, options);
    uint64_t floor = minFeasibleBudgetFromUses(p).minBudget;
    for (uint64_t capacity :
         {floor, floor + (lowerBound(p) - floor) / 2, lowerBound(p)}) {
      p.capacity = capacity;
      Outcome<Plan> heuristic = budgetedPlan(p);
      ASSERT_TRUE(heuristic.ok());
      Outcome<MapperResult> r = runMapper(p, {});
      ASSERT_TRUE(r.ok()) << r.error();
      EXPECT_TRUE(isSound(p, r->plan));
      EXPECT_LE(r->plan.arenaBytes, capacity);
      EXPECT_LE(r->plan.transferCost, heuristic->transferCost);
      EXPECT_EQ(r->plan.algorithm, r->winner);
    }
  }
}

TEST(Mapper, BelowTheBudgetFloorFailsWithBudgetedPlansMessage) {
  GeneratorOptions options;
  options.shape = GraphShape::ForwardBackward;
  Problem p = generateProblem(2, options);
  p.capacity = minFeasibleBudgetFromUses(p).minBudget - 64;
  Outcome<MapperResult> r = runMapper(p, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), budgetedPlan(p).error());
}

TEST(Mapper, RejectsInvalidProblemsAndMissingWeights) {
  Problem bad = makeProblem({makeBuffer(0, 64, 3, 1)});
  Outcome<MapperResult> r = runMapper(bad, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("live interval"), std::string::npos);
  MapperOptions options;
  options.weightsPath = "/nonexistent/policy.txt";
  r = runMapper(makeProblem({makeBuffer(0, 64, 0, 1)}), options);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("/nonexistent/policy.txt"), std::string::npos);
}

TEST(Mapper, MctsKeepsItsBestEpisodeAndIsSound) {
  GeneratorOptions options;
  options.shape = GraphShape::ForwardBackward;
  options.maxLayers = 20;
  Problem p = generateProblem(6, options);
  MallocGame game(p);
  MctsOptions mcts;
  mcts.simulations = 8;
  mcts.record = true;
  MctsResult r = runMcts(game, PolicyNet::embedded(), mcts);
  ASSERT_TRUE(r.found);
  EXPECT_GE(r.bestScore, r.playedScore);
  EXPECT_GT(r.searchedDecisions, 0);
  EXPECT_EQ(r.samples.size(), static_cast<size_t>(r.searchedDecisions));
  for (const TrainingSample &s : r.samples) {
    float sum = 0;
    for (float t : s.policyTarget)
      sum += t;
    EXPECT_NEAR(sum, 1.0f, 1e-5);
    EXPECT_FLOAT_EQ(s.valueTarget,
                    static_cast<float>(r.playedScore - game.baseline()));
  }
  Plan plan = game.toPlan(r.best, "mallocgame_mcts");
  EXPECT_TRUE(isSound(p, plan));
  EXPECT_DOUBLE_EQ(game.score(r.best), r.bestScore);
  // Greedy play (no simulations) is the network's policy alone.
  mcts.simulations = 0;
  MctsResult greedy = runMcts(game, PolicyNet::embedded(), mcts);
  EXPECT_EQ(greedy.searchedDecisions, 0);
  EXPECT_DOUBLE_EQ(greedy.bestScore, greedy.playedScore);
}

TEST(Mapper, BestFitSearchStartsFromBestFitAndOnlyImproves) {
  GeneratorOptions options;
  options.shape = GraphShape::ForwardBackward;
  options.mixedAlignment = true;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    Problem p = generateProblem(seed, options);
    Plan none = bestFitSearchPlan(p, 1, 1, UINT64_MAX);
    Plan bf = bestFitPlan(p);
    for (size_t i = 0; i < p.buffers.size(); ++i)
      EXPECT_EQ(none.placements[i].offset, bf.placements[i].offset);
    Plan searched = bestFitSearchPlan(p, 1, 200, UINT64_MAX);
    EXPECT_TRUE(isSound(p, searched));
    EXPECT_LE(searched.arenaBytes, bf.arenaBytes);
    EXPECT_EQ(searched.algorithm, "best_fit_search");
    Plan again = bestFitSearchPlan(p, 1, 200, UINT64_MAX);
    EXPECT_EQ(again.arenaBytes, searched.arenaBytes);
  }
}

TEST(Mapper, PlansTenThousandBuffersQuickly) {
  GeneratorOptions options;
  options.shape = GraphShape::ForwardBackward;
  options.minLayers = options.maxLayers = 2900;
  Problem p = generateProblem(7, options);
  ASSERT_GT(p.buffers.size(), 9000u);
  auto start = std::chrono::steady_clock::now();
  Outcome<MapperResult> r = runMapper(p, {});
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  ASSERT_TRUE(r.ok());
  EXPECT_LE(r->plan.arenaBytes, bestFitPlan(p).arenaBytes);
  // The target is 2 s (make bench-plan measures it); the margin here is
  // for a loaded test machine.
  EXPECT_LT(seconds, 6.0);
}
