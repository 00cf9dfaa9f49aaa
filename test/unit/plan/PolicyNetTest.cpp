//===- PolicyNetTest.cpp - The mallocGame's policy/value network ----------===//
//
// The hand-written backward pass against finite differences, exact weight
// round trips, the embedded weights equal to the committed file, and
// deterministic training.
//
//===----------------------------------------------------------------------===//

#include "memc/Plan/PolicyNet.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace memc::plan;

namespace {

/// A sample with `moves` moves and random features and targets.
TrainingSample randomSample(std::mt19937_64 &engine, size_t moves) {
  auto unit = [&] {
    return static_cast<float>(static_cast<double>(engine() >> 11) * 0x1.0p-53);
  };
  TrainingSample s;
  s.moveFeatures.resize(moves * kMoveFeatures);
  for (float &f : s.moveFeatures)
    f = 2 * unit() - 1;
  s.policyTarget.resize(moves);
  float sum = 0;
  for (float &t : s.policyTarget)
    sum += (t = unit());
  for (float &t : s.policyTarget)
    t /= sum;
  s.stateFeatures.resize(kStateFeatures);
  for (float &f : s.stateFeatures)
    f = unit();
  s.valueTarget = -unit() / 4;
  return s;
}

/// A net with non-zero output layers, so every gradient is exercised.
PolicyNet perturbedNet(uint64_t seed) {
  PolicyNet net = PolicyNet::initialized(seed);
  std::vector<float> p = net.parameters();
  std::mt19937_64 engine(seed + 1);
  for (float &x : p)
    x += static_cast<float>(
        (static_cast<double>(engine() >> 11) * 0x1.0p-53 - 0.5) * 0.5);
  net.setParameters(p);
  return net;
}

} // namespace

TEST(PolicyNet, UntrainedNetGivesUniformPriorsAndZeroValue) {
  PolicyNet net = PolicyNet::initialized(3);
  std::vector<float> features(5 * kMoveFeatures, 0.25f), priors;
  net.priors(features.data(), 5, priors);
  for (float p : priors)
    EXPECT_FLOAT_EQ(p, 0.2f);
  float state[kStateFeatures] = {0.5f};
  EXPECT_EQ(net.value(state), 0.0f);
}

TEST(PolicyNet, PriorsAreASoftmaxAndBestMoveItsArgmax) {
  PolicyNet net = perturbedNet(5);
  std::mt19937_64 engine(2);
  TrainingSample s = randomSample(engine, 7);
  std::vector<float> priors;
  net.priors(s.moveFeatures.data(), 7, priors);
  double sum = 0;
  for (float p : priors) {
    EXPECT_GT(p, 0.0f);
    sum += p;
  }
  EXPECT_NEAR(sum, 1.0, 1e-5);
  size_t best = net.bestMove(s.moveFeatures.data(), 7);
  EXPECT_EQ(best,
            static_cast<size_t>(std::max_element(priors.begin(), priors.end()) -
                                priors.begin()));
}

TEST(PolicyNet, GradientMatchesFiniteDifferences) {
  PolicyNet net = perturbedNet(11);
  std::mt19937_64 engine(4);
  TrainingSample s = randomSample(engine, 4);
  std::vector<double> gradient;
  net.loss(s, 2.0, &gradient);
  std::vector<float> p = net.parameters();
  ASSERT_EQ(gradient.size(), p.size());
  int checked = 0;
  for (size_t i = 0; i < p.size(); i += 7) {
    const float h = 1e-2f;
    std::vector<float> q = p;
    q[i] = p[i] + h;
    PolicyNet plus = net;
    plus.setParameters(q);
    q[i] = p[i] - h;
    PolicyNet minus = net;
    minus.setParameters(q);
    double numeric =
        (plus.loss(s, 2.0, nullptr) - minus.loss(s, 2.0, nullptr)) / (2.0 * h);
    EXPECT_NEAR(gradient[i], numeric, 2e-3 + 2e-2 * std::fabs(numeric))
        << "parameter " << i;
    ++checked;
  }
  EXPECT_GT(checked, 100);
}

TEST(PolicyNet, WeightsRoundTripExactly) {
  PolicyNet net = perturbedNet(8);
  std::string text = net.serialize("trained by a test\nsecond line");
  EXPECT_EQ(text.rfind("# trained by a test\n# second line\n", 0), 0u);
  Outcome<PolicyNet> back = PolicyNet::parse(text);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back->parameters(), net.parameters());
  EXPECT_EQ(back->serialize("trained by a test\nsecond line"), text);
}

TEST(PolicyNet, MalformedWeightsNameTheLine) {
  std::string text = perturbedNet(1).serialize();
  EXPECT_NE(PolicyNet::parse("bogus v1\n").error().find("line 1"),
            std::string::npos);
  std::string wrongInputs = text;
  wrongInputs.replace(wrongInputs.find("\npolicy 16") + 1, 9, "policy 15");
  EXPECT_NE(PolicyNet::parse(wrongInputs).error().find("line 2"),
            std::string::npos);
  std::string truncated = text.substr(0, text.size() / 2);
  EXPECT_FALSE(PolicyNet::parse(truncated).ok());
  std::string notNumber = text;
  notNumber.replace(notNumber.find("\n", notNumber.find("\npolicy ") + 1) + 1,
                    1, "x");
  EXPECT_NE(PolicyNet::parse(notNumber).error().find("line 3"),
            std::string::npos);
  EXPECT_FALSE(PolicyNet::parse(text + "extra\n").ok());
  EXPECT_FALSE(PolicyNet::readFile("/nonexistent/policy.txt").ok());
}

TEST(PolicyNet, EmbeddedWeightsAreTheCommittedFile) {
  Outcome<PolicyNet> file =
      PolicyNet::readFile(MEMC_SOURCE_DIR "/data/mapper/policy.txt");
  ASSERT_TRUE(file.ok()) << file.error();
  EXPECT_EQ(PolicyNet::embedded().parameters(), file->parameters());
}

TEST(PolicyNet, AdamTrainingLowersTheLossDeterministically) {
  std::mt19937_64 engine(9);
  std::vector<TrainingSample> samples;
  for (int i = 0; i < 16; ++i)
    samples.push_back(randomSample(engine, 2 + i % 4));
  auto train = [&](std::vector<float> *finalParameters) {
    PolicyNet net = PolicyNet::initialized(1);
    std::vector<float> p = net.parameters();
    Adam adam(p.size(), 1e-2);
    auto total = [&] {
      double loss = 0;
      for (const TrainingSample &s : samples)
        loss += net.loss(s, 1.0, nullptr);
      return loss;
    };
    double before = total();
    for (int step = 0; step < 60; ++step) {
      std::vector<double> gradient(p.size(), 0.0);
      for (const TrainingSample &s : samples)
        net.loss(s, 1.0, &gradient);
      for (double &g : gradient)
        g /= samples.size();
      adam.step(p, gradient);
      net.setParameters(p);
    }
    *finalParameters = p;
    return std::make_pair(before, total());
  };
  std::vector<float> first, second;
  auto [before, after] = train(&first);
  EXPECT_LT(after, before * 0.9);
  train(&second);
  EXPECT_EQ(first, second);
}
