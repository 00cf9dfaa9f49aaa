//===- VerifierTest.cpp - The plan verifier catches broken plans ----------===//
//
// A verifier that accepts everything would make every other planner test
// vacuous, so each kind of defect is planted on purpose, in hand-made plans
// and in real planner output, and must be reported by name.
//
//===----------------------------------------------------------------------===//

#include "PlanTestUtil.h"

#include "memc/Plan/Generator.h"

#include <random>

using namespace memc::plan;
using namespace memc::plan::test;

namespace {

/// Two buffers alive together (steps 0-3 and 2-5) and one after them.
Problem threeBuffers() {
  return makeProblem({makeBuffer(10, 256, 0, 3), makeBuffer(11, 128, 2, 5),
                      makeBuffer(12, 512, 6, 7)});
}

Plan arenaPlan(std::vector<uint64_t> offsets, uint64_t arenaBytes) {
  Plan plan;
  plan.algorithm = "hand";
  for (uint64_t offset : offsets)
    plan.placements.push_back({Location::Arena, offset, {}});
  plan.arenaBytes = arenaBytes;
  return plan;
}

/// True when some violation mentions every one of `words`.
bool mentions(const std::vector<std::string> &violations,
              std::initializer_list<const char *> words) {
  for (const std::string &v : violations) {
    bool all = true;
    for (const char *word : words)
      all = all && v.find(word) != std::string::npos;
    if (all)
      return true;
  }
  return false;
}

std::string joined(const std::vector<std::string> &violations) {
  std::string text;
  for (const std::string &v : violations)
    text += v + "\n";
  return text;
}

} // namespace

TEST(Verifier, AcceptsASoundPlan) {
  Problem p = threeBuffers();
  // 10 at [0, 256), 11 above it, 12 reuses address 0 after both are dead.
  EXPECT_TRUE(isSound(p, arenaPlan({0, 256, 0}, 512)));
}

TEST(Verifier, AdjacentRangesAndDisjointTimesDoNotOverlap) {
  Problem p = makeProblem({makeBuffer(0, 64, 0, 2), makeBuffer(1, 64, 0, 2),
                           makeBuffer(2, 128, 3, 4)});
  // 0 and 1 touch at address 64; 2 reuses 0's bytes from step 3 on.
  EXPECT_TRUE(isSound(p, arenaPlan({0, 64, 0}, 128)));
}

TEST(Verifier, DetectsOverlap) {
  Problem p = threeBuffers();
  auto violations = verifyPlan(p, arenaPlan({0, 192, 0}, 512));
  ASSERT_EQ(violations.size(), 1u) << joined(violations);
  EXPECT_TRUE(mentions(violations, {"buffer 10", "buffer 11", "overlap",
                                    "[192, 256)", "steps [2, 3]"}))
      << joined(violations);
}

TEST(Verifier, DetectsOverlapThroughAnInterveningBuffer) {
  // A long buffer and a short one placed far apart in time order: the
  // overlap is between the first and the third by start step.
  Problem p = makeProblem({makeBuffer(0, 640, 0, 9), makeBuffer(1, 64, 1, 1),
                           makeBuffer(2, 64, 5, 5)});
  auto violations = verifyPlan(p, arenaPlan({0, 640, 576}, 704));
  EXPECT_TRUE(mentions(violations, {"buffer 0", "buffer 2", "overlap"}))
      << joined(violations);
}

TEST(Verifier, DetectsMisalignment) {
  Problem p = threeBuffers();
  auto violations = verifyPlan(p, arenaPlan({0, 288, 0}, 512));
  EXPECT_TRUE(
      mentions(violations, {"buffer 11", "offset 288", "aligned to 64"}))
      << joined(violations);
}

TEST(Verifier, DetectsOutOfBounds) {
  Problem p = threeBuffers();
  auto violations = verifyPlan(p, arenaPlan({0, 256, 64}, 512));
  EXPECT_TRUE(mentions(violations, {"buffer 12", "past arena_bytes 512"}))
      << joined(violations);
}

TEST(Verifier, DetectsArenaAboveCapacity) {
  Problem p = threeBuffers();
  p.capacity = 448;
  auto violations = verifyPlan(p, arenaPlan({0, 256, 0}, 512));
  EXPECT_TRUE(mentions(violations, {"exceeds the capacity 448"}))
      << joined(violations);
}

TEST(Verifier, DetectsUnplacedBuffer) {
  Problem p = threeBuffers();
  Plan plan = arenaPlan({0, 256, 0}, 512);
  plan.placements[2] = Placement{};
  auto violations = verifyPlan(p, plan);
  EXPECT_TRUE(mentions(violations, {"buffer 12", "neither in the arena nor"}))
      << joined(violations);
}

TEST(Verifier, DetectsMissingPlacements) {
  Problem p = threeBuffers();
  auto violations = verifyPlan(p, arenaPlan({0, 256}, 512));
  EXPECT_TRUE(mentions(violations, {"2 placements for 3 buffers"}))
      << joined(violations);
}

TEST(Verifier, DetectsWrongArenaBytes) {
  Problem p = threeBuffers();
  auto oversized = verifyPlan(p, arenaPlan({0, 256, 0}, 1024));
  EXPECT_TRUE(mentions(oversized, {"placements reach 512"}))
      << joined(oversized);
  auto unaligned = verifyPlan(p, arenaPlan({0, 256, 0}, 520));
  EXPECT_TRUE(mentions(unaligned, {"not a multiple of 64"}))
      << joined(unaligned);
}

TEST(Verifier, DetectsStagingDefects) {
  Buffer spilled = makeBuffer(1, 128, 0, 6);
  spilled.uses = {0, 4, 6};
  spilled.transferCost = 0.25;
  Problem p = makeProblem({makeBuffer(0, 256, 0, 6), spilled});
  Plan good;
  good.placements = {{Location::Arena, 0, {}},
                     {Location::Host, 0, {{0, 256}, {4, 256}, {6, 256}}}};
  summarizePlan(p, good);
  EXPECT_TRUE(isSound(p, good));
  EXPECT_EQ(good.spilledBytes, 128u);

  Plan missing = good;
  missing.placements[1].staging.pop_back();
  EXPECT_TRUE(
      mentions(verifyPlan(p, missing), {"buffer 1", "not staged at step 6"}));

  Plan extra = good;
  extra.placements[1].staging.push_back({5, 256});
  EXPECT_TRUE(
      mentions(verifyPlan(p, extra), {"staged at step 5", "does not use it"}));

  Plan twice = good;
  twice.placements[1].staging.push_back({4, 256});
  EXPECT_TRUE(mentions(verifyPlan(p, twice), {"staged twice at step 4"}));

  Plan clash = good;
  clash.placements[1].staging[1].offset = 128; // Inside buffer 0's bytes.
  EXPECT_TRUE(mentions(verifyPlan(p, clash), {"buffer 0", "buffer 1",
                                              "staged at step 4", "overlap"}));

  Plan both = good;
  both.placements[0].staging.push_back({0, 0});
  EXPECT_TRUE(
      mentions(verifyPlan(p, both), {"buffer 0", "in the arena but also has"}));

  Plan misaligned = good;
  misaligned.placements[1].staging[0].offset = 260;
  EXPECT_TRUE(mentions(verifyPlan(p, misaligned),
                       {"staging slot at step 0", "not aligned"}));
}

TEST(Verifier, DetectsWrongSpillTotals) {
  Buffer spilled = makeBuffer(1, 100, 0, 1);
  spilled.transferCost = 0.5;
  Problem p = makeProblem({makeBuffer(0, 64, 0, 1), spilled});
  Plan plan;
  plan.placements = {{Location::Arena, 0, {}},
                     {Location::Host, 0, {{0, 64}, {1, 64}}}};
  summarizePlan(p, plan);
  ASSERT_TRUE(isSound(p, plan));
  Plan wrongBytes = plan;
  wrongBytes.spilledBytes = 0;
  EXPECT_TRUE(mentions(verifyPlan(p, wrongBytes), {"spilled_bytes is 0"}));
  Plan wrongCost = plan;
  wrongCost.transferCost = 0.0;
  EXPECT_TRUE(mentions(verifyPlan(p, wrongCost), {"transfer cost is 0"}));
}

TEST(Verifier, ZeroSizeBuffersNeverOverlap) {
  Problem p = makeProblem({makeBuffer(0, 0, 0, 5), makeBuffer(1, 128, 0, 5)});
  EXPECT_TRUE(isSound(p, arenaPlan({64, 0}, 128)));
}

TEST(Verifier, HugeOffsetIsReportedNotWrapped) {
  Problem p = threeBuffers();
  auto violations = verifyPlan(p, arenaPlan({0, 256, UINT64_MAX - 63}, 512));
  EXPECT_TRUE(mentions(violations, {"buffer 12", "past arena_bytes"}))
      << joined(violations);
}

TEST(Verifier, CapsTheViolationList) {
  std::vector<Buffer> buffers;
  for (int i = 0; i < 30; ++i)
    buffers.push_back(makeBuffer(i, 64, 0, 0));
  Problem p = makeProblem(buffers);
  // All at offset 0: 30 * 29 / 2 = 435 overlapping pairs.
  Plan plan = arenaPlan(std::vector<uint64_t>(30, 0), 64);
  auto violations = verifyPlan(p, plan, 10);
  ASSERT_EQ(violations.size(), 11u);
  EXPECT_EQ(violations.back(), "... and 425 more violations");
}

TEST(Verifier, CatchesMutatedPlannerOutput) {
  // Take real plans and move one buffer onto a buffer it lives alongside;
  // nudge another off its alignment. Each mutation must be reported.
  std::mt19937_64 rng(11);
  int mutated = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    GeneratorOptions options;
    options.shape =
        seed % 2 ? GraphShape::ForwardBackward : GraphShape::Forward;
    Problem p = generateProblem(seed, options);
    Plan plan = seed % 4 < 2 ? bestFitPlan(p) : greedyBySizePlan(p);
    ASSERT_TRUE(isSound(p, plan));
    // Find a pair alive together, in different places.
    for (int tries = 0; tries < 200; ++tries) {
      size_t a = rng() % p.buffers.size(), b = rng() % p.buffers.size();
      const Buffer &x = p.buffers[a], &y = p.buffers[b];
      if (a == b || x.end < y.start || y.end < x.start || x.size == 0 ||
          y.size == 0)
        continue;
      Plan broken = plan;
      broken.placements[a].offset = broken.placements[b].offset;
      summarizePlan(p, broken);
      EXPECT_FALSE(verifyPlan(p, broken).empty()) << "seed " << seed;
      Plan misaligned = plan;
      misaligned.placements[a].offset += 8;
      EXPECT_FALSE(verifyPlan(p, misaligned).empty()) << "seed " << seed;
      ++mutated;
      break;
    }
  }
  EXPECT_GE(mutated, 30);
}
