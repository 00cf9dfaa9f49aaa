//===- Profile.h - memc-run --profile's report ------------------*- C++ -*-===//
//
// The text of a launch-plan profile (memc_cuda_profile): which plan steps
// took the device's time, so that a slow program points at its kernel.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_CUDA_PROFILE_H
#define MEMC_RUNTIME_CUDA_PROFILE_H

#include "LaunchPlan.h"

#include <cstdint>
#include <string>
#include <vector>

namespace memc {
namespace cuda {

/// `stepMs[i]`: plan step i's device time summed over `runs` runs. Lines:
///   profile_runs: R
///   profile_ms_per_run: T (launches L, gemms G, copies C[, svds S])
///   profile: P% X ms launch_plan.txt:LINE WHAT
/// for the `top` steps with the most time (all when top <= 0), most first.
/// An svd step runs on GaLore's refresh steps only: it is listed even
/// outside the top, and says in how many runs it ran (`svdRuns[i]`) and
/// its time each.
std::string formatProfile(const LaunchPlan &plan,
                          const std::vector<double> &stepMs,
                          const std::vector<int64_t> &svdRuns, int64_t runs,
                          int top);

} // namespace cuda
} // namespace memc

#endif // MEMC_RUNTIME_CUDA_PROFILE_H
