//===- ProjectorRefresh.h - GaLore's SVD steps on cuSOLVER ------*- C++ -*-===//
//
// The launch plan's `svd` steps: at t = 1 and every `period` steps, the thin
// SVD of a weight's gradient (cuSOLVER's Jacobi SVD, gesvdj) gives the
// weight's new projector. The scratch the SVD needs (a copy of the
// gradient, which gesvdj overwrites, its singular values and vectors, the
// solver's workspace) is sized here for the plan's largest SVD and lives in
// the session's resident block, so nothing is allocated while the program
// runs.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_CUDA_PROJECTORREFRESH_H
#define MEMC_RUNTIME_CUDA_PROJECTORREFRESH_H

#include "Driver.h"
#include "LaunchPlan.h"

#include <cstdint>
#include <string>
#include <vector>

namespace memc {
namespace cuda {

class ProjectorRefresh {
public:
  ProjectorRefresh() = default;
  ~ProjectorRefresh() { release(); }
  /// Destroys the solver's handle (while the session's context is current).
  void release();
  ProjectorRefresh(const ProjectorRefresh &) = delete;
  ProjectorRefresh &operator=(const ProjectorRefresh &) = delete;

  /// Loads cuSOLVER, makes its handle work on `stream`, and sizes the
  /// scratch of the plan's SVD steps. A plan without any is not an error
  /// (and loads nothing).
  bool setUp(const LaunchPlan &plan, CUstream stream, std::string &error);
  bool active() const { return solver_ != nullptr; }
  /// Device bytes of scratch the session must place (0 without SVDs).
  uint64_t scratchBytes() const { return scratchBytes_; }
  void setScratch(CUdeviceptr at) { scratch_ = at; }

  /// GaLore's refresh test: t = 1, or t a multiple of the period.
  static bool due(const Step &s, int64_t t) {
    return t == 1 || (t > 0 && t % s.period == 0);
  }

  /// Queues the SVD of `gradient` on the session's stream and writes the
  /// projector. It waits for the stream (the solver's convergence flag
  /// decides whether the projector changes): when the SVD does not
  /// converge, the projector keeps its value and `warning` names the weight,
  /// as the CPU runtime's memc_rt_svd_projector does.
  /// `stepIndex` is the step's index in the plan given to setUp.
  bool run(const Driver &driver, size_t stepIndex, const Step &s,
           CUstream stream,
           CUdeviceptr gradient, CUdeviceptr projector,
           const std::string &weightName, std::string &warning,
           std::string &error);

private:
  /// Byte offsets of one step's scratch parts.
  struct Layout {
    uint64_t a = 0, s = 0, u = 0, v = 0, info = 0, work = 0, end = 0;
  };
  Layout layout(const Step &s, int lwork) const;

  Cusolver cusolver_;
  cusolverDnHandle_t solver_ = nullptr;
  gesvdjInfo_t params_ = nullptr;
  std::vector<int> lwork_; ///< gesvdj's workspace (floats) per plan step
  uint64_t scratchBytes_ = 0;
  CUdeviceptr scratch_ = 0;
  /// V's columns on their way to a left projector, and transposed (kept,
  /// as the host side of asynchronous copies).
  std::vector<float> host_, transposed_;
  int info_ = 0;
};

} // namespace cuda
} // namespace memc

#endif // MEMC_RUNTIME_CUDA_PROJECTORREFRESH_H
