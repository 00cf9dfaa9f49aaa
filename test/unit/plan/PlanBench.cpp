//===- PlanBench.cpp - Arena / lower bound of the baseline planners -------===//
//
// memc-plan-bench [--instances N] [--seed S]
//
// Generates N forward and N forward+backward instances (seeds S, S+1, ...)
// and prints, per shape and heuristic, the mean and max arena / lower bound
// and the total planning time; then budgeted mapping at a capacity halfway
// between the budget floor and the lower bound. Every plan is verified; a
// violation aborts with exit code 1. The baselines' numbers here are what
// the learned mapper of issue #3 has to beat.
//
//===----------------------------------------------------------------------===//

#include "memc/Plan/Generator.h"
#include "memc/Plan/Heuristics.h"
#include "memc/Plan/Verifier.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace memc::plan;

namespace {

struct Tally {
  double sumRatio = 0.0, maxRatio = 0.0, seconds = 0.0;
  int count = 0;
  void add(double ratio, double s) {
    sumRatio += ratio;
    maxRatio = std::max(maxRatio, ratio);
    seconds += s;
    ++count;
  }
};

template <typename F> double timed(F &&f) {
  auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

bool verified(const Problem &p, const Plan &plan, uint64_t seed) {
  std::vector<std::string> violations = verifyPlan(p, plan);
  if (violations.empty())
    return true;
  std::fprintf(stderr, "memc-plan-bench: %s plan of seed %llu is invalid: %s\n",
               plan.algorithm.c_str(), static_cast<unsigned long long>(seed),
               violations.front().c_str());
  return false;
}

int usage() {
  std::fprintf(stderr, "usage: memc-plan-bench [--instances N] [--seed S]\n");
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  int instances = 200;
  uint64_t firstSeed = 1;
  for (int i = 1; i < argc; ++i) {
    if (i + 1 < argc && !std::strcmp(argv[i], "--instances"))
      instances = std::atoi(argv[++i]);
    else if (i + 1 < argc && !std::strcmp(argv[i], "--seed"))
      firstSeed = std::strtoull(argv[++i], nullptr, 10);
    else
      return usage();
  }
  if (instances <= 0)
    return usage();

  std::printf("%-17s %-15s %9s %9s %9s\n", "shape", "heuristic", "mean A/LB",
              "max A/LB", "time s");
  struct Shape {
    const char *name;
    GraphShape shape;
  };
  for (Shape shape : {Shape{"forward", GraphShape::Forward},
                      Shape{"forward+backward", GraphShape::ForwardBackward}}) {
    const char *names[] = {"naive", "greedy_by_size", "best_fit"};
    Plan (*planners[])(const Problem &) = {naivePlan, greedyBySizePlan,
                                           bestFitPlan};
    Tally tallies[3];
    Tally budgeted;
    double spilledShare = 0.0, costShare = 0.0;
    int budgetedRuns = 0, fallbacks = 0;
    size_t buffers = 0;
    for (int i = 0; i < instances; ++i) {
      uint64_t seed = firstSeed + static_cast<uint64_t>(i);
      GeneratorOptions options;
      options.shape = shape.shape;
      Problem p = generateProblem(seed, options);
      buffers += p.buffers.size();
      double lb = static_cast<double>(lowerBound(p));
      for (int h = 0; h < 3; ++h) {
        Plan plan;
        double s = timed([&] { plan = planners[h](p); });
        if (!verified(p, plan, seed))
          return 1;
        tallies[h].add(static_cast<double>(plan.arenaBytes) / lb, s);
      }
      // Budgeted: halfway between the floor and the lower bound, so that
      // something has to move to the host.
      uint64_t floor = minFeasibleBudgetFromUses(p).minBudget;
      p.capacity = floor + (lowerBound(p) - floor) / 2;
      Outcome<Plan> plan = Outcome<Plan>::failure("not run");
      double s = timed([&] { plan = budgetedPlan(p); });
      if (!plan) {
        std::fprintf(stderr, "memc-plan-bench: budgeted seed %llu: %s\n",
                     static_cast<unsigned long long>(seed),
                     plan.error().c_str());
        return 1;
      }
      if (!verified(p, *plan, seed))
        return 1;
      budgeted.add(static_cast<double>(plan->arenaBytes) /
                       static_cast<double>(p.capacity),
                   s);
      uint64_t totalBytes = 0;
      double totalCost = 0.0;
      for (const Buffer &b : p.buffers) {
        totalBytes += b.size;
        totalCost += b.transferCost;
      }
      spilledShare += static_cast<double>(plan->spilledBytes) /
                      static_cast<double>(std::max<uint64_t>(totalBytes, 1));
      costShare += totalCost > 0 ? plan->transferCost / totalCost : 0.0;
      ++budgetedRuns;
      fallbacks += plan->algorithm == "budgeted_all_host";
    }
    for (int h = 0; h < 3; ++h)
      std::printf("%-17s %-15s %9.4f %9.4f %9.3f\n", shape.name, names[h],
                  tallies[h].sumRatio / tallies[h].count, tallies[h].maxRatio,
                  tallies[h].seconds);
    std::printf("%-17s budgeted at (floor+LB)/2: mean arena/capacity %.4f, "
                "spilled bytes %.1f%%, spilled cost/total cost %.4f, "
                "%.3f s, %d all-host fallbacks\n",
                shape.name, budgeted.sumRatio / budgeted.count,
                100.0 * spilledShare / budgetedRuns, costShare / budgetedRuns,
                budgeted.seconds, fallbacks);
    std::printf("%-17s %d instances, %.1f buffers on average\n", shape.name,
                instances, static_cast<double>(buffers) / instances);
  }
  return 0;
}
