//===- ProjectorRefresh.cpp - GaLore's SVD steps on cuSOLVER --------------===//
//
// The gradient G (rows x cols) is row-major on the device, which is the
// column-major B = G^T (cols x rows, leading dimension cols). gesvdj
// factors B as it lies: B = U S V^T, so G = V S U^T, and
//   - a right projector Vh_G[:r, :] (r x cols, row-major) is U's first r
//     columns, which are contiguous in column-major U: one device copy;
//   - a left projector U_G[:, :r] (rows x r, row-major) is V's first r
//     columns transposed: they come to the host and go back transposed
//     (rows x r floats once every `period` steps).
// No transpose of G and no kernel of the runtime's own are needed.
//
// Singular vectors are unique only up to sign; LAPACK (the CPU runtime) and
// cuSOLVER may choose differently. GaLore's update P N(P^T G) does not
// depend on the signs within one period; across a refresh, the moments
// (kept in the projected space, as GaLore keeps them) meet the new basis,
// so CPU and GPU runs agree to rounding up to the second refresh and stay
// close, not equal, after it (docs/cuda.md).
//
//===----------------------------------------------------------------------===//
#include "ProjectorRefresh.h"

#include <algorithm>

namespace memc {
namespace cuda {

namespace {
constexpr uint64_t kAlignment = 256;
uint64_t alignUp(uint64_t v) {
  return (v + kAlignment - 1) / kAlignment * kAlignment;
}
/// gesvdj stops when the off-diagonal mass is below this fraction of the
/// matrix's: a few float ulps (its default, the machine epsilon itself, can
/// take many more sweeps in single precision for no visible difference).
constexpr double kTolerance = 1e-6;
constexpr int kMaxSweeps = 100;
} // namespace

void ProjectorRefresh::release() {
  const CusolverAPI &a = cusolver_.api();
  if (params_)
    a.destroyGesvdjInfo(params_);
  if (solver_)
    a.destroy(solver_);
  params_ = nullptr;
  solver_ = nullptr;
}

ProjectorRefresh::Layout ProjectorRefresh::layout(const Step &s,
                                                  int lwork) const {
  uint64_t m = uint64_t(s.cols), n = uint64_t(s.rows);
  uint64_t k = std::min(m, n), f = sizeof(float);
  Layout l;
  l.a = 0;
  l.s = alignUp(l.a + m * n * f);
  l.u = alignUp(l.s + k * f);
  l.v = alignUp(l.u + m * k * f);
  l.info = alignUp(l.v + n * k * f);
  l.work = alignUp(l.info + sizeof(int));
  l.end = alignUp(l.work + uint64_t(std::max(lwork, 1)) * f);
  return l;
}

bool ProjectorRefresh::setUp(const LaunchPlan &plan, CUstream stream,
                             std::string &error) {
  lwork_.assign(plan.steps.size(), 0);
  bool any = std::any_of(plan.steps.begin(), plan.steps.end(),
                         [](const Step &s) { return s.kind == Step::Svd; });
  if (!any)
    return true;
  if (!cusolver_.load(error))
    return false;
  const CusolverAPI &a = cusolver_.api();
  cusolverStatus_t st;
  if ((st = a.create(&solver_)) != 0) {
    solver_ = nullptr;
    error = cusolver_.describe(st, "cusolverDnCreate");
    return false;
  }
  if ((st = a.setStream(solver_, stream)) != 0) {
    error = cusolver_.describe(st, "cusolverDnSetStream");
    return false;
  }
  if ((st = a.createGesvdjInfo(&params_)) != 0) {
    params_ = nullptr;
    error = cusolver_.describe(st, "cusolverDnCreateGesvdjInfo");
    return false;
  }
  if (a.setTolerance)
    a.setTolerance(params_, kTolerance);
  if (a.setMaxSweeps)
    a.setMaxSweeps(params_, kMaxSweeps);
  scratchBytes_ = 0;
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const Step &s = plan.steps[i];
    if (s.kind != Step::Svd)
      continue;
    int m = int(s.cols), n = int(s.rows);
    // The size query reads no matrix: null pointers with the real
    // dimensions, as cuSOLVER's examples do.
    if ((st = a.sgesvdjBufferSize(solver_, CUSOLVER_EIG_MODE_VECTOR,
                                  /*econ=*/1, m, n, nullptr, m, nullptr,
                                  nullptr, m, nullptr, n, &lwork_[i],
                                  params_)) != 0) {
      error = cusolver_.describe(st, "cusolverDnSgesvdj_bufferSize(" +
                                         std::to_string(s.rows) + "x" +
                                         std::to_string(s.cols) + ")");
      return false;
    }
    scratchBytes_ = std::max(scratchBytes_, layout(s, lwork_[i]).end);
  }
  return true;
}

bool ProjectorRefresh::run(const Driver &driver, size_t stepIndex,
                           const Step &s, CUstream stream, CUdeviceptr gradient,
                           CUdeviceptr projector,
                           const std::string &weightName, std::string &warning,
                           std::string &error) {
  const DriverAPI &cu = driver.api();
  const CusolverAPI &a = cusolver_.api();
  auto check = [&](CUresult r, const char *call) {
    if (r == CUDA_SUCCESS)
      return true;
    error = driver.describe(r, call);
    return false;
  };
  int m = int(s.cols), n = int(s.rows), r = int(s.rank);
  int lwork = lwork_[stepIndex];
  Layout l = layout(s, lwork);
  auto at = [&](uint64_t offset) { return scratch_ + offset; };
  auto fptr = [&](uint64_t offset) {
    return reinterpret_cast<float *>(uintptr_t(at(offset)));
  };
  uint64_t gradientBytes = uint64_t(m) * uint64_t(n) * sizeof(float);
  if (!check(cu.cuMemcpyDtoDAsync(at(l.a), gradient, gradientBytes, stream),
             "cuMemcpyDtoDAsync_v2(GaLore gradient copy)"))
    return false;
  if (cusolverStatus_t st = a.sgesvdj(
          solver_, CUSOLVER_EIG_MODE_VECTOR, /*econ=*/1, m, n, fptr(l.a), m,
          fptr(l.s), fptr(l.u), m, fptr(l.v), n, fptr(l.work),
          std::max(lwork, 1),
          reinterpret_cast<int *>(uintptr_t(at(l.info))), params_)) {
    error = cusolver_.describe(st, "cusolverDnSgesvdj(" + weightName + ")");
    return false;
  }
  info_ = 0;
  if (!check(cu.cuMemcpyDtoHAsync(&info_, at(l.info), sizeof info_, stream),
             "cuMemcpyDtoHAsync_v2(gesvdj info)"))
    return false;
  if (!s.right) {
    host_.resize(size_t(n) * size_t(r));
    if (!check(cu.cuMemcpyDtoHAsync(host_.data(), at(l.v),
                                    host_.size() * sizeof(float), stream),
               "cuMemcpyDtoHAsync_v2(GaLore singular vectors)"))
      return false;
  }
  if (!check(cu.cuStreamSynchronize(stream), "cuStreamSynchronize"))
    return false;
  if (info_ < 0) {
    error = "cusolverDnSgesvdj(" + weightName + "): parameter " +
            std::to_string(-info_) + " is wrong";
    return false;
  }
  if (info_ > 0) {
    // gesvdj's info = min(m, n) + 1: no convergence within its sweeps.
    warning = "GaLore: the SVD of " + weightName + "'s gradient (" +
              std::to_string(s.rows) + "x" + std::to_string(s.cols) +
              ") did not converge; it keeps its previous projector";
    return true;
  }
  if (s.right)
    return check(cu.cuMemcpyDtoDAsync(projector, at(l.u),
                                      uint64_t(m) * uint64_t(r) * sizeof(float),
                                      stream),
                 "cuMemcpyDtoDAsync_v2(GaLore projector)");
  // V's first r columns (column-major, n x r) -> P (n x r, row-major).
  transposed_.resize(host_.size());
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < r; ++j)
      transposed_[size_t(i) * r + j] = host_[size_t(j) * n + i];
  return check(cu.cuMemcpyHtoDAsync(projector, transposed_.data(),
                                    transposed_.size() * sizeof(float),
                                    stream),
               "cuMemcpyHtoDAsync_v2(GaLore projector)");
}

} // namespace cuda
} // namespace memc
