//===- Profile.cpp - memc-run --profile's report --------------------------===//
#include "Profile.h"

#include "memc/Runtime/PackageFormat.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

namespace memc {
namespace cuda {

namespace {

/// "  12.5%      3.141 ms ": a step's share and its milliseconds per run.
std::string shareAndTime(double percent, double ms) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%5.1f%% %10.3f ms ", percent, ms);
  return buf;
}

/// What a step runs, as the plan line says it (kernel and its shape).
std::string describe(const Step &s) {
  auto dims = [](const unsigned d[3]) {
    return std::to_string(d[0]) + "x" + std::to_string(d[1]) + "x" +
           std::to_string(d[2]);
  };
  switch (s.kind) {
  case Step::Launch:
    return "launch " + s.kernel + " grid " + dims(s.grid) + " block " +
           dims(s.block);
  case Step::Gemm:
    return std::string("gemm ") + (s.f64 ? "f64" : "f32") + " batch " +
           std::to_string(s.batch) + " m " + std::to_string(s.m) + " n " +
           std::to_string(s.n) + " k " + std::to_string(s.k);
  case Step::Copy:
    return "copy " + std::to_string(s.bytes) + " bytes";
  case Step::Spill:
    return "spill " + std::to_string(s.bytes) + " bytes";
  case Step::Fetch:
    return "fetch " + std::to_string(s.bytes) + " bytes";
  case Step::Wait:
    return "wait event " + std::to_string(s.event);
  case Step::Svd:
    return "svd " + std::to_string(s.rows) + "x" + std::to_string(s.cols) +
           " rank " + std::to_string(s.rank) + " every " +
           std::to_string(s.period) + " steps";
  }
  return "?";
}

} // namespace

std::string formatProfile(const LaunchPlan &plan,
                          const std::vector<double> &stepMs,
                          const std::vector<int64_t> &svdRuns, int64_t runs,
                          int top) {
  std::string text = "profile_runs: " + std::to_string(runs) + "\n";
  if (runs <= 0 || stepMs.size() != plan.steps.size())
    return text;
  double total = std::accumulate(stepMs.begin(), stepMs.end(), 0.0);
  size_t launches = 0, gemms = 0, svds = 0, copies = 0;
  for (const Step &s : plan.steps) {
    launches += s.kind == Step::Launch;
    gemms += s.kind == Step::Gemm;
    svds += s.kind == Step::Svd;
    copies += s.kind != Step::Launch && s.kind != Step::Gemm &&
              s.kind != Step::Svd;
  }
  char perRun[64];
  std::snprintf(perRun, sizeof perRun, "%.3f", total / double(runs));
  text += std::string("profile_ms_per_run: ") + perRun + " (launches " + std::to_string(launches) + ", gemms " +
          std::to_string(gemms) + ", copies " + std::to_string(copies) +
          (svds ? ", svds " + std::to_string(svds) : std::string()) + ")\n";
  std::vector<size_t> order(stepMs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return stepMs[a] > stepMs[b]; });
  size_t shown = top > 0 ? std::min(order.size(), size_t(top)) : order.size();
  // SVD steps run on refresh steps only, so their average per run hides
  // what one refresh costs: they are listed even below the top.
  std::stable_partition(order.begin() + shown, order.end(), [&](size_t i) {
    return plan.steps[i].kind == Step::Svd;
  });
  while (shown < order.size() && plan.steps[order[shown]].kind == Step::Svd)
    ++shown;
  for (size_t i = 0; i < shown; ++i) {
    const Step &s = plan.steps[order[i]];
    double ms = stepMs[order[i]] / double(runs);
    text += "profile: " +
            shareAndTime(total > 0 ? 100.0 * stepMs[order[i]] / total : 0.0,
                         ms) +
            package::kLaunchPlanFile + ":" + std::to_string(s.line) + " " +
            describe(s);
    if (s.kind == Step::Svd && order[i] < svdRuns.size()) {
      int64_t ran = svdRuns[order[i]];
      char each[64];
      std::snprintf(each, sizeof each, "%.3f",
                    ran > 0 ? stepMs[order[i]] / double(ran) : 0.0);
      text += " (ran in " + std::to_string(ran) + " of " +
              std::to_string(runs) + " runs, " + each + " ms each)";
    }
    text += "\n";
  }
  return text;
}

} // namespace cuda
} // namespace memc
