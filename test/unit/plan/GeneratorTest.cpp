//===- GeneratorTest.cpp - Seeded instances shaped like real graphs -------===//
//
// The mapper is trained and benchmarked on these instances, so they must be
// reproducible bit for bit from a seed and have the shapes they claim:
// short forward lifetimes with skips, and forward+backward lifetimes that
// peak where the forward pass turns into the backward pass.
//
//===----------------------------------------------------------------------===//

#include "PlanTestUtil.h"

#include "memc/Plan/Generator.h"

#include <map>

using namespace memc::plan;
using namespace memc::plan::test;

namespace {

/// FNV-1a over every field that planners read.
uint64_t fingerprint(const Problem &p) {
  uint64_t hash = 1469598103934665603ull;
  auto mix = [&](uint64_t value) {
    for (int i = 0; i < 8; ++i) {
      hash ^= (value >> (8 * i)) & 0xff;
      hash *= 1099511628211ull;
    }
  };
  for (const Buffer &b : p.buffers) {
    mix(static_cast<uint64_t>(b.id));
    mix(b.size);
    mix(b.alignment);
    mix(static_cast<uint64_t>(b.start));
    mix(static_cast<uint64_t>(b.end));
    for (int64_t use : b.uses)
      mix(static_cast<uint64_t>(use));
    mix(static_cast<uint64_t>(b.kind));
    for (char c : b.producer)
      mix(static_cast<unsigned char>(c));
  }
  return hash;
}

int64_t lastStep(const Problem &p) {
  int64_t last = 0;
  for (const Buffer &b : p.buffers)
    last = std::max(last, b.end);
  return last;
}

} // namespace

TEST(Generator, SameSeedSameProblem) {
  for (GraphShape shape : {GraphShape::Forward, GraphShape::ForwardBackward}) {
    GeneratorOptions options;
    options.shape = shape;
    options.mixedAlignment = true;
    EXPECT_EQ(fingerprint(generateProblem(12, options)),
              fingerprint(generateProblem(12, options)));
    EXPECT_NE(fingerprint(generateProblem(12, options)),
              fingerprint(generateProblem(13, options)));
  }
}

TEST(Generator, FingerprintIsStable) {
  // Training data and bench numbers depend on these exact instances; a
  // change here must be deliberate (and re-run the bench).
  GeneratorOptions forward;
  GeneratorOptions training;
  training.shape = GraphShape::ForwardBackward;
  EXPECT_EQ(fingerprint(generateProblem(1, forward)), 13076163394596061189ull)
      << "forward seed 1";
  EXPECT_EQ(fingerprint(generateProblem(1, training)), 13992792026066163244ull)
      << "forward+backward seed 1";
}

TEST(Generator, ForwardShape) {
  GeneratorOptions options;
  options.minLayers = options.maxLayers = 40;
  for (uint64_t seed = 0; seed < 30; ++seed) {
    Problem p = generateProblem(seed, options);
    ASSERT_TRUE(validateProblem(p).empty());
    EXPECT_LE(lastStep(p), 39);
    for (size_t i = 0; i < p.buffers.size(); ++i) {
      const Buffer &b = p.buffers[i];
      EXPECT_EQ(b.id, static_cast<int64_t>(i));
      EXPECT_LE(b.end - b.start, options.maxSkipDistance);
      EXPECT_EQ(b.alignment, kArenaAlignment);
      EXPECT_EQ(b.size % 4, 0u);
      EXPECT_EQ(b.uses.front(), b.start);
      EXPECT_EQ(b.uses.back(), b.end);
      EXPECT_DOUBLE_EQ(b.transferCost,
                       options.transfer.cost(b.size, b.uses.size()));
      if (b.kind == BufferKind::Temporary) {
        EXPECT_EQ(b.start, b.end);
      }
      EXPECT_EQ(b.producer.rfind("fwd", 0), 0u) << b.producer;
      if (i > 0) {
        EXPECT_LE(p.buffers[i - 1].start, b.start);
      }
    }
  }
}

TEST(Generator, ForwardBackwardShape) {
  GeneratorOptions options;
  options.shape = GraphShape::ForwardBackward;
  options.minLayers = options.maxLayers = 30;
  const int64_t turn = 30; // The first backward step.
  for (uint64_t seed = 0; seed < 40; ++seed) {
    Problem p = generateProblem(seed, options);
    ASSERT_TRUE(validateProblem(p).empty());
    EXPECT_EQ(lastStep(p), 60); // 30 forward, 30 backward, the optimizer.
    int saved = 0, weightGradients = 0;
    uint64_t spanningTurn = 0;
    for (const Buffer &b : p.buffers) {
      bool backward = b.producer.rfind("bwd", 0) == 0;
      EXPECT_EQ(backward, b.start >= turn) << b.producer;
      // A saved activation: produced at forward step i, read by the
      // backward op of the same layer at step 59 - i.
      saved += b.start < turn && b.end == 59 - b.start;
      if (b.producer.find(".wgrad") != std::string::npos) {
        EXPECT_EQ(b.end, 60) << "weight gradients wait for the optimizer";
        ++weightGradients;
      }
      if (b.start < turn && b.end >= turn)
        spanningTurn += footprint(b);
    }
    EXPECT_GE(saved, 10) << "seed " << seed;
    EXPECT_GT(weightGradients, 0) << "seed " << seed;
    // What the forward pass leaves for the backward pass is live at once.
    EXPECT_LE(spanningTurn, lowerBound(p));
    EXPECT_GE(spanningTurn, lowerBound(p) / 10) << "seed " << seed;
  }
}

TEST(Generator, MixedAlignment) {
  GeneratorOptions options;
  options.mixedAlignment = true;
  std::map<uint64_t, int> alignments;
  bool oddSize = false;
  for (uint64_t seed = 0; seed < 10; ++seed)
    for (const Buffer &b : generateProblem(seed, options).buffers) {
      ++alignments[b.alignment];
      oddSize = oddSize || b.size % 2 == 1;
    }
  EXPECT_EQ(alignments.size(), 4u); // 16, 64, 256, 4096
  EXPECT_TRUE(oddSize);
}

TEST(Generator, LayerCountAndCapacity) {
  GeneratorOptions options;
  options.minLayers = 5;
  options.maxLayers = 9;
  options.capacity = 12345;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Problem p = generateProblem(seed, options);
    EXPECT_EQ(p.capacity, 12345u);
    EXPECT_GE(lastStep(p), 4);
    EXPECT_LE(lastStep(p), 8);
  }
  // Degenerate options still give a (one-layer) problem.
  GeneratorOptions tiny;
  tiny.minLayers = tiny.maxLayers = 0;
  EXPECT_EQ(lastStep(generateProblem(3, tiny)), 0);
  tiny.shape = GraphShape::ForwardBackward;
  EXPECT_TRUE(validateProblem(generateProblem(3, tiny)).empty());
}
