//===- memc-mapper-train.cpp - Self-play training of the mapper's network -===//
//
// memc-mapper-train --seed S --iterations N --out FILE [--episodes E]
//                   [--simulations K] [--corpus DIR] [FILE.plan ...]
//
// AlphaZero-style self-play on the mallocGame: each iteration plays E
// episodes with MCTS (root noise on), records at every searched decision the
// visit distribution (policy target) and the episode's final score (value
// target), then fits the network to the last few iterations' samples with
// Adam. The weights are written with a header naming the command.
//
// Instances: generated Forward, ForwardBackward and mixed-alignment
// problems with generator seeds 100000 * (S + 1) + k, some of them under a
// capacity halfway between the budget floor and the lower bound (so spills
// are seen), plus the real-model dumps given. Of the *.plan files in
// --corpus DIR, sorted by name, every third one (index 2, 5, 8, ...) is held
// out for the bench (scripts/bench_plan.sh) and not trained on; files named
// on the command line are all used.
//
// Reproducible: one thread, fixed-order sums, seeded draws and counted
// (not timed) search budgets, so the same seed gives byte-identical weights.
//
//===----------------------------------------------------------------------===//

#include "memc/Plan/Generator.h"
#include "memc/Plan/Mapper.h"
#include "memc/Plan/ProblemIO.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

using namespace memc::plan;

namespace {

struct Settings {
  uint64_t seed = 1;
  int iterations = 20;
  int episodes = 24;
  int simulations = 24;
  std::string out;
  std::string corpus;
  std::vector<std::string> files;
  std::string command;
};

int usage() {
  std::fprintf(stderr,
               "usage: memc-mapper-train --seed S --iterations N --out FILE "
               "[--episodes E] [--simulations K] [--corpus DIR] "
               "[FILE.plan ...]\n");
  return 2;
}

/// The *.plan files of `dir` that training may use (see the file comment).
std::vector<std::string> trainingCorpus(const std::string &dir) {
  std::vector<std::string> names = listProblemFiles(dir);
  std::vector<std::string> paths;
  for (size_t i = 0; i < names.size(); ++i)
    if (!isHeldOutCorpusFile(i))
      paths.push_back(dir + "/" + names[i]);
  return paths;
}

/// The instance of episode `k`: cycles through the shapes, a quarter of
/// them budgeted, and the corpus problems in between.
Problem instance(const Settings &settings, uint64_t k,
                 const std::vector<Problem> &corpus) {
  if (!corpus.empty() && k % 8 == 7)
    return corpus[(k / 8) % corpus.size()];
  GeneratorOptions options;
  options.shape = k % 2 ? GraphShape::ForwardBackward : GraphShape::Forward;
  options.mixedAlignment = k % 3 == 2;
  // Small programs: self-play cost grows with the square of the size, and
  // the features are scale-free.
  options.minLayers = 6;
  options.maxLayers = 28;
  Problem problem = generateProblem(100000 * (settings.seed + 1) + k, options);
  if (k % 4 == 3) {
    uint64_t floor = minFeasibleBudgetFromUses(problem).minBudget;
    uint64_t lb = lowerBound(problem);
    problem.capacity = floor + (lb > floor ? (lb - floor) / 2 : 0);
  }
  return problem;
}

} // namespace

int main(int argc, char **argv) {
  Settings settings;
  settings.command = "memc-mapper-train";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char * {
      return i + 1 < argc ? argv[++i] : nullptr;
    };
    const char *v = nullptr;
    if (arg == "--seed" && (v = value()))
      settings.seed = std::strtoull(v, nullptr, 10);
    else if (arg == "--iterations" && (v = value()))
      settings.iterations = std::atoi(v);
    else if (arg == "--episodes" && (v = value()))
      settings.episodes = std::atoi(v);
    else if (arg == "--simulations" && (v = value()))
      settings.simulations = std::atoi(v);
    else if (arg == "--out" && (v = value()))
      settings.out = v;
    else if (arg == "--corpus" && (v = value()))
      settings.corpus = v;
    else if (!arg.empty() && arg[0] != '-')
      settings.files.push_back(arg);
    else
      return usage();
    settings.command += " " + arg + (v ? std::string(" ") + v : "");
  }
  if (settings.out.empty() || settings.iterations < 0 || settings.episodes < 1)
    return usage();

  std::vector<std::string> paths = settings.files;
  if (!settings.corpus.empty()) {
    std::vector<std::string> fromDir = trainingCorpus(settings.corpus);
    paths.insert(paths.end(), fromDir.begin(), fromDir.end());
  }
  std::vector<Problem> corpus;
  for (const std::string &path : paths) {
    Outcome<Problem> problem = readProblemFile(path);
    if (!problem) {
      std::fprintf(stderr, "memc-mapper-train: %s\n", problem.error().c_str());
      return 1;
    }
    // Real models can be large; self-play on them is bounded by the MCTS
    // work budget like any other.
    corpus.push_back(std::move(*problem));
  }

  PolicyNet net = PolicyNet::initialized(settings.seed);
  std::vector<float> parameters = net.parameters();
  Adam adam(parameters.size(), 3e-3);
  std::mt19937_64 engine(settings.seed);
  std::vector<std::vector<TrainingSample>> window; // Recent iterations.
  constexpr size_t kWindow = 4;
  constexpr int kEpochs = 3;
  constexpr size_t kBatch = 32;
  constexpr double kValueWeight = 4.0;
  uint64_t episode = 0;

  for (int iteration = 0; iteration < settings.iterations; ++iteration) {
    std::vector<TrainingSample> samples;
    double played = 0, best = 0;
    for (int e = 0; e < settings.episodes; ++e, ++episode) {
      Problem problem = instance(settings, episode, corpus);
      MallocGame game(problem);
      MctsOptions options;
      options.seed = settings.seed * 1000003 + episode;
      options.simulations = settings.simulations;
      options.rootNoise = 0.25;
      options.workBudget = 3'000'000;
      options.record = true;
      MctsResult result = runMcts(game, net, options);
      played += result.playedScore - game.baseline();
      best += result.bestScore - game.baseline();
      samples.insert(samples.end(),
                     std::make_move_iterator(result.samples.begin()),
                     std::make_move_iterator(result.samples.end()));
    }
    window.push_back(std::move(samples));
    if (window.size() > kWindow)
      window.erase(window.begin());

    std::vector<const TrainingSample *> pool;
    for (const auto &batch : window)
      for (const TrainingSample &s : batch)
        pool.push_back(&s);
    double lossSum = 0;
    for (int epoch = 0; epoch < kEpochs; ++epoch) {
      // Fisher-Yates with raw draws (std::shuffle's algorithm is not fixed
      // by the standard).
      for (size_t i = pool.size(); i > 1; --i)
        std::swap(pool[i - 1], pool[engine() % i]);
      for (size_t from = 0; from < pool.size(); from += kBatch) {
        size_t to = std::min(pool.size(), from + kBatch);
        std::vector<double> gradient(parameters.size(), 0.0);
        for (size_t i = from; i < to; ++i)
          lossSum += net.loss(*pool[i], kValueWeight, &gradient);
        for (double &g : gradient)
          g /= static_cast<double>(to - from);
        adam.step(parameters, gradient);
        net.setParameters(parameters);
      }
    }
    std::fprintf(stderr,
                 "iteration %d: %zu samples, mean played %.4f best %.4f "
                 "(score - baseline), loss %.4f\n",
                 iteration, window.back().size(), played / settings.episodes,
                 best / settings.episodes,
                 pool.empty() ? 0.0 : lossSum / (kEpochs * pool.size()));
  }

  std::string header =
      "memc mallocGame policy/value network (lib/Plan/PolicyNet.h)\n"
      "produced by: " +
      settings.command;
  std::ofstream file(settings.out, std::ios::binary | std::ios::trunc);
  file << net.serialize(header);
  file.close();
  if (!file) {
    std::fprintf(stderr, "memc-mapper-train: cannot write %s\n",
                 settings.out.c_str());
    return 1;
  }
  return 0;
}
