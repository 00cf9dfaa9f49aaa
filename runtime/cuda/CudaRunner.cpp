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

#include "InputFile.h"
#include "Manifest.h"
#include "Package.h"
#include "memc/ExitCodes.h"
#include "memc_cuda.h"

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <sys/stat.h>
#include <vector>

namespace memc {
namespace cuda {

namespace {
std::string joinPath(const std::string &dir, const std::string &file) {
  return !dir.empty() && dir.back() == '/' ? dir + file : dir + "/" + file;
}
} // namespace

int runCudaPackage(const rt::RunOptions &opts, std::FILE *out, std::FILE *err) {
  auto failWith = [&](int code, const std::string &line) {
    std::fflush(out);
    std::fprintf(err, "memc-run: %s\n", line.c_str());
    std::fflush(err);
    return code;
  };

  std::string error, text;
  std::string manifestPath = joinPath(opts.package, "manifest.txt");
  rt::Manifest m;
  struct stat st;
  if (::stat(opts.package.c_str(), &st) != 0)
    return failWith(ExitBadPackage,
                    opts.package + (errno == ENOENT
                                        ? ": no such package directory"
                                        : ": cannot access the package "
                                          "directory: " +
                                              rt::describeOpenError(errno)));
  if (!S_ISDIR(st.st_mode))
    return failWith(ExitBadPackage, opts.package +
                                        ": not a package directory (memc -o "
                                        "writes a directory)");
  if (!rt::readTextFile(manifestPath, text, error) ||
      !rt::parseManifest(text, manifestPath, m, error))
    return failWith(ExitBadPackage, error);
  if (m.target != "cuda")
    return failWith(ExitUsage, "--device cuda: " + opts.package +
                                   ": this package was compiled for the CPU "
                                   "target (memc --target=cuda)");

  rt::RunData data;
  if (int code = rt::prepareRunData(m, opts, data, error))
    return failWith(code, error);
  std::vector<rt::Tensor> &inputs = data.inputs, &outputs = data.outputs;

  memc_cuda_session *session = nullptr;
  memc_cuda_status status = memc_cuda_open(opts.package.c_str(), 0, &session);
  if (status != MEMC_CUDA_SUCCESS) {
    int code = status == MEMC_CUDA_NO_DEVICE     ? ExitNoDevice
               : status == MEMC_CUDA_BAD_PACKAGE ? ExitBadPackage
                                                 : ExitDeviceError;
    std::string line = memc_cuda_last_error();
    if (status == MEMC_CUDA_NO_DEVICE)
      line = "--device cuda: no usable GPU: " + line;
    return failWith(code, line);
  }
  if (*memc_cuda_notice(session)) {
    std::fflush(out);
    std::fprintf(err, "memc-run: note: %s\n", memc_cuda_notice(session));
    std::fflush(err);
  }
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
    auto t0 = std::chrono::steady_clock::now();
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
  memc_cuda_close(session);

  if (!opts.quiet) {
    std::fprintf(out, "latency_ms: %.3f\n", ms.median());
    std::fprintf(out, "latency_min_ms: %.3f\n", ms.min());
    std::fprintf(out, "device_ms: %.3f\n", deviceMs.median());
    std::fprintf(out, "peak_arena_bytes: %" PRIu64 "\n", m.arenaBytes);
    std::fprintf(out, "device_bytes: %" PRIu64 "\n", deviceBytes);
  }
  return rt::reportComparison(m, data, opts, out);
}

} // namespace cuda
} // namespace memc
