//===- CudaRunner.cpp - memc-run --device cuda ----------------------------===//
//
// Same order of work as the CPU runner: package, then data files, then the
// device, so a bad package or data directory is reported as such on a
// machine without a GPU too. Latency is the whole call as a user sees it
// (inputs up, program, outputs down); device_ms is the GPU time of the
// program alone, from CUDA events.
//
//===----------------------------------------------------------------------===//
#include "CudaRunner.h"

#include "memc/ExitCodes.h"
#include "memc/Runtime/Manifest.h"
#include "memc/Runtime/PackageDir.h"
#include "memc/Runtime/PackageFormat.h"
#include "memc_cuda.h"

#include <chrono>
#include <cinttypes>
#include <vector>

namespace memc {
namespace cuda {

int exitCodeOf(memc_cuda_status status) {
  return status == MEMC_CUDA_NO_DEVICE     ? ExitNoDevice
         : status == MEMC_CUDA_BAD_PACKAGE ? ExitBadPackage
                                           : ExitDeviceError;
}

int openCudaSession(const rt::RunOptions &opts, std::FILE *out, std::FILE *err,
                    memc_cuda_session *&session, std::string &error) {
  session = nullptr;
  memc_cuda_status status = memc_cuda_open(opts.package.c_str(), 0, &session);
  if (status != MEMC_CUDA_SUCCESS) {
    error = memc_cuda_last_error();
    if (status == MEMC_CUDA_NO_DEVICE)
      error = "--device cuda: no usable GPU: " + error;
    return exitCodeOf(status);
  }
  if (*memc_cuda_notice(session)) {
    std::fflush(out);
    std::fprintf(err, "memc-run: note: %s\n", memc_cuda_notice(session));
    std::fflush(err);
  }
  return ExitOK;
}

int runCudaPackage(const rt::RunOptions &opts, std::FILE *out, std::FILE *err) {
  auto failWith = [&](int code, const std::string &line) {
    return rt::reportRunError(out, err, code, line);
  };

  if (opts.generate)
    return runCudaGenerate(opts, out, err);
  std::string error;
  rt::Manifest m;
  if (!rt::checkPackageDir(opts.package, error) ||
      !rt::readManifest(opts.package, m, error))
    return failWith(ExitBadPackage, error);
  if (m.target != package::kTargetCUDA)
    return failWith(ExitUsage, "--device cuda: " + opts.package +
                                   ": this package was compiled for the CPU "
                                   "target (memc --target=cuda)");
  // A train step's arguments are not an inference's: each mode runs only
  // its own packages.
  if (opts.train) {
    if (!m.isTrain())
      return failWith(ExitUsage,
                      "--train: " + opts.package +
                          ": not a train package (memc --train writes one)");
    return runCudaTrainPackage(m, opts, out, err);
  }
  if (m.isTrain())
    return failWith(ExitUsage,
                    opts.package + ": is a train package: run it with --train");

  rt::RunData data;
  if (int code = rt::prepareRunData(m, opts, data, error))
    return failWith(code, error);
  std::vector<rt::Tensor> &inputs = data.inputs, &outputs = data.outputs;

  memc_cuda_session *session = nullptr;
  if (int code = openCudaSession(opts, out, err, session, error))
    return failWith(code, error);
  memc_cuda_status status = MEMC_CUDA_SUCCESS;
  std::vector<const void *> inPtrs;
  std::vector<void *> outPtrs;
  for (rt::Tensor &t : inputs)
    inPtrs.push_back(t.buffer.data());
  for (rt::Tensor &t : outputs)
    outPtrs.push_back(t.buffer.data());

  if (!opts.quiet) {
    std::fprintf(out, "package: %s\n", opts.package.c_str());
    std::fprintf(out, "device: %s\n", memc_cuda_device_name(session));
    std::fprintf(out, "inputs: %zu\n", m.inputs.size());
  }
  rt::LatencyStats ms, deviceMs;
  for (int64_t i = 0; i < opts.warmup + opts.iterations; ++i) {
    double gpu = 0;
    // The profile covers the timed calls.
    if (opts.profile && i == opts.warmup)
      status = memc_cuda_set_profiling(session, 1);
    auto t0 = std::chrono::steady_clock::now();
    if (status == MEMC_CUDA_SUCCESS)
      status = memc_cuda_run(session, inPtrs.data(), outPtrs.data(), &gpu);
    auto t1 = std::chrono::steady_clock::now();
    if (status != MEMC_CUDA_SUCCESS) {
      std::string line = memc_cuda_last_error();
      memc_cuda_close(session);
      return failWith(ExitDeviceError, opts.package + ": " + line);
    }
    if (i >= opts.warmup) {
      ms.add(std::chrono::duration<double, std::milli>(t1 - t0).count());
      deviceMs.add(gpu);
    }
  }
  uint64_t deviceBytes = memc_cuda_device_bytes(session);
  std::string profile =
      opts.profile ? memc_cuda_profile(session, rt::kProfileTop) : "";
  memc_cuda_close(session);

  if (!opts.quiet) {
    std::fprintf(out, "latency_ms: %.4f\n", ms.median());
    std::fprintf(out, "latency_min_ms: %.4f\n", ms.min());
    std::fprintf(out, "device_ms: %.3f\n", deviceMs.median());
    std::fprintf(out, "peak_arena_bytes: %" PRIu64 "\n", m.arenaBytes);
    std::fprintf(out, "device_bytes: %" PRIu64 "\n", deviceBytes);
  }
  std::fputs(profile.c_str(), out);
  return rt::reportComparison(m, data, opts, out);
}

} // namespace cuda
} // namespace memc
