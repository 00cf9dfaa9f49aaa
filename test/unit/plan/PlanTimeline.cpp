//===- PlanTimeline.cpp - Timeline SVG of a generated instance ------------===//
//
// memc-plan-timeline [--seed S] [--forward] [--layers N] [--buffers N]
//                    [--budget F] [--title T] [-o FILE.svg]
//
// Generates a forward+backward instance (or a forward one with --forward),
// plans it with best fit, or with budgetedPlan when --budget F is given (the
// capacity F of the way from the budget floor to the lower bound, 0 <= F <
// 1), verifies the plan and writes its timeline. Reproduces the picture in
// docs/images/timeline-example.png without the compiler:
//
//   memc-plan-timeline --seed 9 --layers 56 --budget 0.5 -o timeline.svg
//   rsvg-convert timeline.svg -o timeline.png
//
//===----------------------------------------------------------------------===//

#include "memc/Plan/Generator.h"
#include "memc/Plan/Heuristics.h"
#include "memc/Plan/Timeline.h"
#include "memc/Plan/Verifier.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

using namespace memc::plan;

int main(int argc, char **argv) {
  uint64_t seed = 7;
  GeneratorOptions generator;
  generator.shape = GraphShape::ForwardBackward;
  size_t maxBuffers = 0;
  double budgetFraction = -1;
  std::string title, output = "timeline.svg";
  for (int i = 1; i < argc; ++i) {
    auto value = [&]() -> const char * {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--seed"))
      seed = std::strtoull(value(), nullptr, 10);
    else if (!std::strcmp(argv[i], "--forward"))
      generator.shape = GraphShape::Forward;
    else if (!std::strcmp(argv[i], "--layers"))
      generator.minLayers = generator.maxLayers = std::atoi(value());
    else if (!std::strcmp(argv[i], "--buffers"))
      maxBuffers = std::strtoull(value(), nullptr, 10);
    else if (!std::strcmp(argv[i], "--budget"))
      budgetFraction = std::atof(value());
    else if (!std::strcmp(argv[i], "--title"))
      title = value();
    else if (!std::strcmp(argv[i], "-o"))
      output = value();
    else {
      std::fprintf(stderr,
                   "usage: %s [--seed S] [--forward] [--layers N] "
                   "[--buffers N] [--budget F] [--title T] [-o FILE.svg]\n",
                   argv[0]);
      return 2;
    }
  }

  Problem problem = generateProblem(seed, generator);
  // Cutting the buffer list keeps a valid problem: ids stay unique and
  // intervals untouched; only the tail of the schedule thins out.
  if (maxBuffers != 0 && problem.buffers.size() > maxBuffers)
    problem.buffers.resize(maxBuffers);

  TimelineOptions options;
  Plan plan;
  if (budgetFraction >= 0) {
    uint64_t floor = minFeasibleBudgetFromUses(problem).minBudget;
    uint64_t lower = lowerBound(problem);
    problem.capacity =
        floor + static_cast<uint64_t>(budgetFraction *
                                      static_cast<double>(lower - floor));
    Outcome<Plan> budgeted = budgetedPlan(problem);
    if (!budgeted) {
      std::fprintf(stderr, "%s\n", budgeted.error().c_str());
      return 1;
    }
    plan = *budgeted;
    options.budget = problem.capacity;
  } else {
    plan = bestFitPlan(problem);
  }
  for (const std::string &violation : verifyPlan(problem, plan)) {
    std::fprintf(stderr, "violation: %s\n", violation.c_str());
    return 1;
  }

  options.title = title.empty()
                      ? std::string(generator.shape == GraphShape::Forward
                                        ? "forward"
                                        : "forward+backward") +
                            " instance, seed " + std::to_string(seed) + ": " +
                            plan.algorithm + " plan"
                      : title;
  std::string svg = renderTimelineSVG(problem, plan, options);
  FILE *file = std::fopen(output.c_str(), "wb");
  if (!file || std::fwrite(svg.data(), 1, svg.size(), file) != svg.size() ||
      std::fclose(file) != 0) {
    std::fprintf(stderr, "cannot write %s\n", output.c_str());
    return 1;
  }
  std::printf("%s: %zu buffers, %s, arena %s, lower bound %s, %zu bytes\n",
              output.c_str(), problem.buffers.size(), plan.algorithm.c_str(),
              formatBytes(plan.arenaBytes).c_str(),
              formatBytes(lowerBound(problem)).c_str(), svg.size());
  return 0;
}
