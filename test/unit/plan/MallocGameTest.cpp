//===- MallocGameTest.cpp - The mallocGame's rules ------------------------===//
//
// Every legal move keeps the plan sound (random playouts through the
// verifier), the candidates are exactly what DESIGN.md says, returns match
// the finished plan, and budgeted games follow the staging-slot model.
//
//===----------------------------------------------------------------------===//

#include "PlanTestUtil.h"

#include "memc/Plan/Generator.h"
#include "memc/Plan/MallocGame.h"

#include <cmath>
#include <random>

using namespace memc::plan;
using namespace memc::plan::test;

namespace {

/// Plays uniformly random legal moves from `seed` to the end.
MallocGame::State randomPlayout(const MallocGame &game, uint64_t seed) {
  std::mt19937_64 engine(seed);
  MallocGame::State state = game.initialState();
  while (!game.terminal(state)) {
    std::vector<MoveInfo> moves = game.legalMoves(state);
    EXPECT_FALSE(moves.empty());
    game.play(state, moves[engine() % moves.size()].move);
  }
  return state;
}

/// Offsets of the placed buffers overlapping `b` in time, by the plan so far
/// (the candidates of DESIGN.md recomputed by brute force).
std::vector<uint64_t> bruteForceCandidates(const Problem &p,
                                           const std::vector<size_t> &placed,
                                           const std::vector<uint64_t> &offsets,
                                           const Buffer &b) {
  std::vector<uint64_t> tops = {0};
  for (size_t q : placed) {
    const Buffer &o = p.buffers[q];
    if (o.end >= b.start && o.start <= b.end)
      tops.push_back(offsets[q] + footprint(o));
  }
  std::vector<uint64_t> fits;
  for (uint64_t top : tops) {
    uint64_t at = alignUp(top, b.alignment);
    bool free = true;
    for (size_t q : placed) {
      const Buffer &o = p.buffers[q];
      if (o.end < b.start || o.start > b.end || footprint(o) == 0)
        continue;
      if (offsets[q] < at + footprint(b) && at < offsets[q] + footprint(o))
        free = false;
    }
    if (free)
      fits.push_back(at);
  }
  std::sort(fits.begin(), fits.end());
  fits.erase(std::unique(fits.begin(), fits.end()), fits.end());
  return fits;
}

} // namespace

TEST(MallocGame, CanonicalOrderIsStartThenSizeThenId) {
  Problem p = makeProblem({makeBuffer(5, 64, 1, 2), makeBuffer(3, 128, 1, 1),
                           makeBuffer(4, 64, 1, 3), makeBuffer(9, 8, 0, 4)});
  MallocGame game(p);
  std::vector<int64_t> ids;
  for (size_t index : game.order())
    ids.push_back(p.buffers[index].id);
  EXPECT_EQ(ids, (std::vector<int64_t>{9, 3, 4, 5}));
}

TEST(MallocGame, CandidatesAreGroundAndTopEdgesThatFit) {
  GeneratorOptions options;
  options.shape = GraphShape::ForwardBackward;
  options.mixedAlignment = true;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    Problem p = generateProblem(seed, options);
    MallocGame game(p);
    std::mt19937_64 engine(seed);
    MallocGame::State state = game.initialState();
    std::vector<size_t> placed;
    std::vector<uint64_t> offsets(p.buffers.size(), 0);
    while (!game.terminal(state)) {
      const Buffer &b = game.current(state);
      std::vector<MoveInfo> moves = game.legalMoves(state);
      std::vector<uint64_t> got;
      for (const MoveInfo &m : moves)
        got.push_back(m.move.offset);
      if (footprint(b) != 0) {
        EXPECT_EQ(got, bruteForceCandidates(p, placed, offsets, b));
      } else {
        EXPECT_EQ(got, std::vector<uint64_t>{0});
      }
      // Exactly one best-fit and one first-fit move, the first fit lowest.
      EXPECT_EQ(std::count_if(moves.begin(), moves.end(),
                              [](const MoveInfo &m) { return m.bestFit; }),
                1);
      EXPECT_TRUE(moves.front().firstFit);
      EXPECT_TRUE(moves.back().top);
      const MoveInfo &pick = moves[engine() % moves.size()];
      size_t index = game.order()[state.next];
      offsets[index] = pick.move.offset;
      placed.push_back(index);
      game.play(state, pick.move);
    }
  }
}

TEST(MallocGame, RandomPlayoutsAreSoundAndScoredByTheirArena) {
  for (bool mixed : {false, true})
    for (GraphShape shape :
         {GraphShape::Forward, GraphShape::ForwardBackward}) {
      GeneratorOptions options;
      options.shape = shape;
      options.mixedAlignment = mixed;
      Problem p = generateProblem(21, options);
      MallocGame game(p);
      for (uint64_t seed = 0; seed < 3; ++seed) {
        MallocGame::State state = randomPlayout(game, seed);
        Plan plan = game.toPlan(state, "mallocgame_mcts");
        EXPECT_TRUE(isSound(p, plan));
        EXPECT_EQ(plan.algorithm, "mallocgame_mcts");
        EXPECT_DOUBLE_EQ(game.score(state),
                         -static_cast<double>(plan.arenaBytes) /
                             static_cast<double>(lowerBound(p)));
        EXPECT_LE(game.score(state), -1.0);
        // Same moves, same plan.
        Plan again = game.toPlan(randomPlayout(game, seed), "x");
        for (size_t i = 0; i < p.buffers.size(); ++i)
          EXPECT_EQ(plan.placements[i].offset, again.placements[i].offset);
      }
    }
}

TEST(MallocGame, FirstFitOnNestedIntervalsReachesTheLowerBound) {
  // A stack: each buffer lives inside the previous one's interval.
  std::vector<Buffer> buffers;
  for (int i = 0; i < 6; ++i)
    buffers.push_back(makeBuffer(i, 64 * (6 - i), i, 11 - i));
  Problem p = makeProblem(buffers);
  MallocGame game(p);
  MallocGame::State state = game.initialState();
  while (!game.terminal(state))
    game.play(state, game.legalMoves(state).front().move);
  EXPECT_DOUBLE_EQ(game.score(state), -1.0);
}

TEST(MallocGame, ZeroSizeBuffersHaveOneMoveAtZero) {
  Problem p =
      makeProblem({makeBuffer(0, 256, 0, 3), makeBuffer(1, 0, 1, 2, 4096),
                   makeBuffer(2, 64, 1, 2)},
                  1024);
  MallocGame game(p);
  MallocGame::State state = game.initialState();
  game.play(state, game.legalMoves(state).front().move);
  ASSERT_EQ(game.current(state).id, 2); // Size descending at equal start.
  game.play(state, game.legalMoves(state).front().move);
  std::vector<MoveInfo> moves = game.legalMoves(state);
  ASSERT_EQ(moves.size(), 1u); // No spill either: it costs nothing to keep.
  EXPECT_FALSE(moves[0].move.spill);
  EXPECT_EQ(moves[0].move.offset, 0u);
}

TEST(MallocGame, BudgetedSpillsStageAtUseStepsAndScoreByCost) {
  GeneratorOptions options;
  options.shape = GraphShape::ForwardBackward;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    Problem p = generateProblem(seed, options);
    uint64_t floor = minFeasibleBudgetFromUses(p).minBudget;
    p.capacity = floor + (lowerBound(p) - floor) / 3;
    MallocGame game(p);
    double total = 0;
    for (const Buffer &b : p.buffers)
      total += b.transferCost;
    int finished = 0;
    for (uint64_t playout = 0; playout < 4; ++playout) {
      MallocGame::State state = randomPlayout(game, seed * 10 + playout);
      if (state.deadEnd) {
        EXPECT_EQ(game.score(state), kDeadEndScore);
        continue;
      }
      ++finished;
      Plan plan = game.toPlan(state, "mallocgame_mcts");
      EXPECT_TRUE(isSound(p, plan));
      EXPECT_LE(plan.arenaBytes, p.capacity);
      EXPECT_NEAR(game.score(state), -plan.transferCost / total, 1e-12);
      EXPECT_GE(game.score(state), -1.0);
      for (size_t i = 0; i < p.buffers.size(); ++i) {
        if (plan.placements[i].location == Location::Host) {
          EXPECT_EQ(plan.placements[i].staging.size(),
                    useSteps(p.buffers[i]).size());
        }
      }
    }
    (void)finished;
  }
}

TEST(MallocGame, SpillEverythingFitsAtTheBudgetFloor) {
  // Spilling every buffer is the all-host plan: with one alignment each
  // step's slots stack without padding, so it is always legal at the floor.
  GeneratorOptions options;
  options.shape = GraphShape::ForwardBackward;
  Problem p = generateProblem(5, options);
  p.capacity = minFeasibleBudgetFromUses(p).minBudget;
  MallocGame game(p);
  MallocGame::State state = game.initialState();
  while (!game.terminal(state)) {
    std::vector<MoveInfo> moves = game.legalMoves(state);
    ASSERT_FALSE(moves.empty());
    game.play(state, moves.back().move); // The spill when there is one.
  }
  ASSERT_FALSE(state.deadEnd);
  Plan plan = game.toPlan(state, "x");
  EXPECT_TRUE(isSound(p, plan));
}

TEST(MallocGame, StuckGamesEndAsDeadEnds) {
  // A lives over steps 0..2 and is used at 0 and 2; B needs the whole
  // capacity at step 1. Keeping A resident leaves B no room and no slot.
  Buffer a = makeBuffer(0, 512, 0, 2);
  a.uses = {0, 2};
  Buffer b = makeBuffer(1, 512, 1, 1);
  Problem p = makeProblem({a, b}, 512);
  MallocGame game(p);
  MallocGame::State state = game.initialState();
  std::vector<MoveInfo> moves = game.legalMoves(state);
  ASSERT_EQ(moves.size(), 2u); // Offset 0 or spill.
  MallocGame::State kept = state;
  game.play(kept, moves[0].move);
  EXPECT_TRUE(kept.deadEnd);
  EXPECT_TRUE(game.terminal(kept));
  EXPECT_EQ(game.score(kept), kDeadEndScore);
  game.play(state, moves[1].move);
  EXPECT_FALSE(state.deadEnd);
  game.play(state, game.legalMoves(state).front().move);
  Plan plan = game.toPlan(state, "x");
  EXPECT_TRUE(isSound(p, plan));
}

TEST(MallocGame, FeaturesAreFiniteAndBounded) {
  GeneratorOptions options;
  options.shape = GraphShape::ForwardBackward;
  options.mixedAlignment = true;
  Problem p = generateProblem(3, options);
  p.capacity = lowerBound(p);
  MallocGame game(p);
  std::mt19937_64 engine(1);
  MallocGame::State state = game.initialState();
  std::vector<float> features;
  float stateFeatures[kStateFeatures];
  while (!game.terminal(state)) {
    std::vector<MoveInfo> moves = game.legalMoves(state);
    game.moveFeatures(state, moves, features);
    ASSERT_EQ(features.size(), moves.size() * kMoveFeatures);
    game.stateFeatures(state, stateFeatures);
    for (float f : features) {
      EXPECT_TRUE(std::isfinite(f));
      EXPECT_GE(f, -1.0f);
      EXPECT_LE(f, 4.0f);
    }
    for (float f : stateFeatures)
      EXPECT_TRUE(std::isfinite(f));
    game.play(state, moves[engine() % moves.size()].move);
  }
}

TEST(MallocGame, EmptyProblemIsAFinishedGame) {
  Problem p;
  MallocGame game(p);
  MallocGame::State state = game.initialState();
  EXPECT_TRUE(game.terminal(state));
  Plan plan = game.toPlan(state, "x");
  EXPECT_EQ(plan.arenaBytes, 0u);
  EXPECT_TRUE(isSound(p, plan));
}
