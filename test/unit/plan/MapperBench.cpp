//===- MapperBench.cpp - The learned mapper against the heuristics --------===//
//
// memc-mapper-bench [--corpus DIR] [--train-corpus DIR] [--instances N]
//                   [--weights FILE]
//
// The bench of issue #3 (make bench-plan). Instances:
//  - every DIR/*.plan (real models dumped by memc --emit=plan); sorted by
//    name, every third (index 2, 5, ...) is held out from training
//    (memc-mapper-train skips them) and listed with its ratio;
//  - generated, held out: forward, forward+backward and mixed-alignment
//    programs with generator seeds 1..N (the trainer only uses seeds
//    >= 100000, see memc-mapper-train.cpp);
//  - generated, training seeds: the first 30 instances the committed
//    weights were trained on (trainer --seed 1), for in-sample reference;
//  - one forward+backward program of about 10,000 buffers, timed.
// Per group and algorithm: mean and max arena / lower bound and time;
// "mcts" is the mallocGame search alone, "learned" is runMapper's answer.
// Then budgeted mapping (mallocGame's budgeted game: the least transfer
// cost of host buffers within a capacity) at (floor + LB) / 2 on a few
// generated instances, and on the train steps of --train-corpus (default
// test/plan-corpus-train: memc --train --emit=plan dumps, kept apart from
// the packing corpus so as not to move its held-out split) at
// (floor + LB) / 2 and floor + (LB - floor) / 4, each against the spill
// MILP's lower bound on the transfer cost (SpillMilp.h; where it is proven,
// no plan can beat a heuristic that meets it). The last line compares the
// learned mapper with the best heuristic per packing instance; the exit code
// is 1 if it was ever worse, packing or budgeted, or any plan failed
// verification.
//
//===----------------------------------------------------------------------===//

#include "memc/Plan/Generator.h"
#include "memc/Plan/Heuristics.h"
#include "memc/Plan/Mapper.h"
#include "memc/Plan/ProblemIO.h"
#include "memc/Plan/SpillMilp.h"
#include "memc/Plan/Verifier.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

using namespace memc::plan;

namespace {

struct Tally {
  double sum = 0, max = 0, seconds = 0;
  int count = 0;
  void add(double ratio, double s) {
    sum += ratio;
    max = std::max(max, ratio);
    seconds += s;
    ++count;
  }
};

const char *const kAlgorithms[] = {"naive", "greedy_by_size", "best_fit",
                                   "mcts", "learned"};

struct Group {
  std::string name;
  std::map<std::string, Tally> tallies;
  std::map<std::string, int> winners;
};

struct Totals {
  double ratioSum = 0;
  int better = 0, worse = 0, count = 0;
  bool failed = false;
  Tally learned;
};

template <typename F> double timed(F &&f) {
  auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

/// Plans one packing instance with everything; returns learned arena / LB.
double runInstance(const Problem &problem, const std::string &what,
                   const MapperOptions &options, Group &group, Totals &totals) {
  double lb = static_cast<double>(std::max<uint64_t>(lowerBound(problem), 1));
  Plan naive, greedy, best;
  double tNaive = timed([&] { naive = naivePlan(problem); });
  double tGreedy = timed([&] { greedy = greedyBySizePlan(problem); });
  double tBest = timed([&] { best = bestFitPlan(problem); });
  Outcome<MapperResult> result = Outcome<MapperResult>::failure("not run");
  double tMapper = timed([&] { result = runMapper(problem, options); });
  if (!result) {
    std::fprintf(stderr, "memc-mapper-bench: %s: %s\n", what.c_str(),
                 result.error().c_str());
    totals.failed = true;
    return 0;
  }
  std::vector<std::string> violations = verifyPlan(problem, result->plan);
  if (!violations.empty()) {
    std::fprintf(stderr, "memc-mapper-bench: %s: invalid plan: %s\n",
                 what.c_str(), violations.front().c_str());
    totals.failed = true;
  }
  group.tallies["naive"].add(naive.arenaBytes / lb, tNaive);
  group.tallies["greedy_by_size"].add(greedy.arenaBytes / lb, tGreedy);
  group.tallies["best_fit"].add(best.arenaBytes / lb, tBest);
  if (result->mctsArenaBytes)
    group.tallies["mcts"].add(result->mctsArenaBytes / lb, 0);
  double learned = result->plan.arenaBytes / lb;
  group.tallies["learned"].add(learned, tMapper);
  group.winners[result->winner]++;
  totals.learned.add(learned, tMapper);
  uint64_t heuristic =
      std::min({naive.arenaBytes, greedy.arenaBytes, best.arenaBytes});
  double ratio = heuristic ? static_cast<double>(result->plan.arenaBytes) /
                                 static_cast<double>(heuristic)
                           : 1.0;
  totals.ratioSum += ratio;
  totals.better += result->plan.arenaBytes < heuristic;
  totals.worse += result->plan.arenaBytes > heuristic;
  ++totals.count;
  return learned;
}

void printGroup(const Group &group) {
  for (const char *algorithm : kAlgorithms) {
    auto it = group.tallies.find(algorithm);
    if (it == group.tallies.end() || it->second.count == 0)
      continue;
    const Tally &t = it->second;
    std::printf("%-20s %-15s %9.4f %9.4f %8.3f\n", group.name.c_str(),
                algorithm, t.sum / t.count, t.max, t.seconds);
  }
  std::string wins;
  for (const auto &[name, count] : group.winners)
    wins += " " + name + "=" + std::to_string(count);
  std::printf("%-20s %d instances, winners:%s\n", group.name.c_str(),
              group.tallies.at("learned").count, wins.c_str());
}

int usage() {
  std::fprintf(stderr, "usage: memc-mapper-bench [--corpus DIR] "
                       "[--train-corpus DIR] [--instances N] "
                       "[--weights FILE]\n");
  return 2;
}

/// Budgeted runs: spilled transfer cost, the heuristic's and the mapper's.
struct BudgetedTally {
  double heuristicShare = 0, learnedShare = 0;
  int runs = 0, better = 0, worse = 0;
  /// Against the spill MILP's bound (where proven): instances where it was
  /// proven, where each plan meets it, and where the heuristic's does not
  /// (the only ones where anything can beat the heuristic).
  int bounded = 0, heuristicAtBound = 0, learnedAtBound = 0, improvable = 0,
      betterWhereImprovable = 0;
  bool failed = false;
};

/// One budgeted instance: the heuristic's and the mapper's spilled cost
/// (ms), or false when a plan failed.
bool runBudgeted(const Problem &p, const MapperOptions &options,
                 BudgetedTally &tally, double *heuristicMs = nullptr,
                 double *learnedMs = nullptr, double *boundMs = nullptr) {
  double total = 0;
  for (const Buffer &b : p.buffers)
    total += b.transferCost;
  Outcome<Plan> heuristic = budgetedPlan(p);
  Outcome<MapperResult> learned = runMapper(p, options);
  if (!heuristic || !learned || !verifyPlan(p, learned->plan).empty() ||
      learned->plan.arenaBytes > p.capacity) {
    tally.failed = true;
    return false;
  }
  double h = heuristic->transferCost, l = learned->plan.transferCost;
  tally.heuristicShare += total > 0 ? h / total : 0;
  tally.learnedShare += total > 0 ? l / total : 0;
  tally.better += l < h;
  tally.worse += l > h;
  ++tally.runs;
  double bound = learned->transferCostBound;
  if (bound >= 0) {
    auto atBound = [&](double cost) {
      return meetsSpillBound(cost, {true, bound});
    };
    ++tally.bounded;
    tally.heuristicAtBound += atBound(h);
    tally.learnedAtBound += atBound(l);
    tally.improvable += !atBound(h);
    tally.betterWhereImprovable += !atBound(h) && l < h;
  }
  if (boundMs)
    *boundMs = bound;
  if (heuristicMs)
    *heuristicMs = h;
  if (learnedMs)
    *learnedMs = l;
  return true;
}

void printBudgeted(const char *what, const BudgetedTally &t) {
  std::printf("budgeted %s, %d instances: mean spilled cost share "
              "budgeted_best_fit %.4f, learned %.4f (better on %d, worse on "
              "%d)\n",
              what, t.runs, t.heuristicShare / std::max(t.runs, 1),
              t.learnedShare / std::max(t.runs, 1), t.better, t.worse);
  if (t.bounded != 0)
    std::printf("budgeted %s: spill MILP bound proven on %d; at the bound: "
                "budgeted_best_fit %d, learned %d; learned better on %d of "
                "the %d where budgeted_best_fit is above it\n",
                what, t.bounded, t.heuristicAtBound, t.learnedAtBound,
                t.betterWhereImprovable, t.improvable);
}

} // namespace

int main(int argc, char **argv) {
  std::string corpusDir = "test/plan-corpus";
  std::string trainCorpusDir = "test/plan-corpus-train";
  int instances = 60;
  MapperOptions options;
  for (int i = 1; i < argc; ++i) {
    if (i + 1 < argc && !std::strcmp(argv[i], "--corpus"))
      corpusDir = argv[++i];
    else if (i + 1 < argc && !std::strcmp(argv[i], "--train-corpus"))
      trainCorpusDir = argv[++i];
    else if (i + 1 < argc && !std::strcmp(argv[i], "--instances"))
      instances = std::atoi(argv[++i]);
    else if (i + 1 < argc && !std::strcmp(argv[i], "--weights"))
      options.weightsPath = argv[++i];
    else
      return usage();
  }
  if (instances <= 0)
    return usage();

  Totals totals;
  std::printf("%-20s %-15s %9s %9s %8s\n", "group", "algorithm", "mean A/LB",
              "max A/LB", "time s");

  // Real models.
  std::vector<std::string> files = listProblemFiles(corpusDir);
  Group models{"models", {}, {}};
  std::vector<std::pair<std::string, double>> heldOut;
  for (size_t i = 0; i < files.size(); ++i) {
    Outcome<Problem> problem = readProblemFile(corpusDir + "/" + files[i]);
    if (!problem) {
      std::fprintf(stderr, "memc-mapper-bench: %s\n", problem.error().c_str());
      return 1;
    }
    problem->capacity = 0;
    double ratio = runInstance(*problem, files[i], options, models, totals);
    if (isHeldOutCorpusFile(i))
      heldOut.push_back({files[i], ratio});
  }
  if (!files.empty())
    printGroup(models);

  struct Shape {
    const char *name;
    GraphShape shape;
    bool mixed;
  };
  const Shape shapes[] = {
      {"forward", GraphShape::Forward, false},
      {"forward+backward", GraphShape::ForwardBackward, false},
      {"mixed-alignment", GraphShape::ForwardBackward, true}};
  for (const Shape &shape : shapes) {
    Group group{std::string(shape.name), {}, {}};
    for (int i = 0; i < instances; ++i) {
      GeneratorOptions generator;
      generator.shape = shape.shape;
      generator.mixedAlignment = shape.mixed;
      uint64_t seed = static_cast<uint64_t>(i) + 1;
      if (shape.mixed && i % 2)
        generator.shape = GraphShape::Forward;
      runInstance(generateProblem(seed, generator),
                  std::string(shape.name) + " seed " + std::to_string(seed),
                  options, group, totals);
    }
    printGroup(group);
  }

  // In-sample: the committed weights' first training instances (trainer
  // --seed 1, instance k: seed 200000 + k, 6..28 layers, shapes cycling).
  {
    Group group{"training-seeds", {}, {}};
    for (uint64_t k = 0; k < 30; ++k) {
      GeneratorOptions generator;
      generator.shape =
          k % 2 ? GraphShape::ForwardBackward : GraphShape::Forward;
      generator.mixedAlignment = k % 3 == 2;
      generator.minLayers = 6;
      generator.maxLayers = 28;
      runInstance(generateProblem(200000 + k, generator),
                  "training seed " + std::to_string(200000 + k), options, group,
                  totals);
    }
    printGroup(group);
  }

  // Scale: one program of about 10,000 buffers.
  {
    GeneratorOptions generator;
    generator.shape = GraphShape::ForwardBackward;
    generator.minLayers = generator.maxLayers = 2900;
    Problem big = generateProblem(7, generator);
    Group group{"10k-buffers", {}, {}};
    runInstance(big, "10k-buffer program", options, group, totals);
    printGroup(group);
    std::printf("10k-buffers: %zu buffers planned in %.3f s (learned)\n",
                big.buffers.size(), group.tallies["learned"].seconds);
  }

  // Budgeted mapping at (floor + LB) / 2: transfer cost share.
  {
    BudgetedTally tally;
    for (int i = 0; i < instances / 2; ++i) {
      GeneratorOptions generator;
      generator.shape =
          i % 2 ? GraphShape::ForwardBackward : GraphShape::Forward;
      Problem p = generateProblem(static_cast<uint64_t>(i) + 1, generator);
      uint64_t floor = minFeasibleBudgetFromUses(p).minBudget;
      uint64_t lb = lowerBound(p);
      p.capacity = floor + (lb > floor ? (lb - floor) / 2 : 0);
      if (!runBudgeted(p, options, tally))
        std::fprintf(stderr, "memc-mapper-bench: budgeted seed %d failed\n",
                     i + 1);
    }
    printBudgeted("generated at (floor+LB)/2", tally);
    totals.failed = totals.failed || tally.failed || tally.worse != 0;
  }

  // Budgeted mapping of real train steps, at two capacities between their
  // budget floor and their lower bound.
  if (std::vector<std::string> steps = listProblemFiles(trainCorpusDir);
      !steps.empty()) {
    BudgetedTally tally;
    for (const std::string &file : steps) {
      Outcome<Problem> problem = readProblemFile(trainCorpusDir + "/" + file);
      if (!problem) {
        std::fprintf(stderr, "memc-mapper-bench: %s\n",
                     problem.error().c_str());
        return 1;
      }
      Problem &p = *problem;
      uint64_t floor = minFeasibleBudgetFromUses(p).minBudget;
      uint64_t lb = lowerBound(p);
      uint64_t gap = lb > floor ? lb - floor : 0;
      for (auto [quarters, label] :
           {std::pair<uint64_t, const char *>{2, "(floor+LB)/2"},
            {1, "floor+(LB-floor)/4"}}) {
        p.capacity = floor + gap * quarters / 4;
        auto t0 = std::chrono::steady_clock::now();
        double h = 0, l = 0, bound = -1;
        bool ok = runBudgeted(p, options, tally, &h, &l, &bound);
        double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                .count();
        if (!ok)
          std::fprintf(stderr, "memc-mapper-bench: budgeted %s failed\n",
                       file.c_str());
        else
          std::printf("train step %-24s %-18s %4zu buffers: spilled cost "
                      "budgeted_best_fit %8.4f ms, learned %8.4f ms, bound "
                      "%8.4f ms (%.2f s)\n",
                      file.c_str(), label, p.buffers.size(), h, l, bound,
                      seconds);
      }
    }
    printBudgeted("train steps", tally);
    totals.failed = totals.failed || tally.failed || tally.worse != 0;
  }

  for (const auto &[name, ratio] : heldOut)
    std::printf("held-out model %-30s learned arena/LB %.4f\n", name.c_str(),
                ratio);
  std::printf("all %d packing instances: learned mean arena/LB %.4f, max "
              "%.4f, %.2f s in all\n",
              totals.count,
              totals.learned.sum / std::max(totals.learned.count, 1),
              totals.learned.max, totals.learned.seconds);
  std::printf("learned vs best heuristic: mean ratio %.4f, better on %d of %d, "
              "worse on %d\n",
              totals.ratioSum / std::max(totals.count, 1), totals.better,
              totals.count, totals.worse);
  return totals.failed || totals.worse != 0 ? 1 : 0;
}
