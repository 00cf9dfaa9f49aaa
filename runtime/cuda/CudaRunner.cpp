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

#include "Compare.h"
#include "Manifest.h"
#include "Package.h"
#include "TensorIO.h"
#include "memc/ExitCodes.h"
#include "memc_cuda.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <sys/stat.h>
#include <vector>

namespace memc {
namespace cuda {

namespace {
bool exists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string joinPath(const std::string &dir, const std::string &file) {
  return !dir.empty() && dir.back() == '/' ? dir + file : dir + "/" + file;
}

std::string describe(rt::DType t, const std::vector<int64_t> &dims) {
  return std::string(rt::dtypeName(t)) + " " + rt::formatDims(dims);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : 0.5 * (v[mid - 1] + v[mid]);
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
  if (!exists(opts.package))
    return failWith(ExitBadPackage,
                    opts.package + ": no such package directory");
  if (!rt::readTextFile(manifestPath, text, error) ||
      !rt::parseManifest(text, manifestPath, m, error))
    return failWith(ExitBadPackage, error);
  if (m.target != "cuda")
    return failWith(ExitUsage, "--device cuda: " + opts.package +
                                   ": this package was compiled for the CPU "
                                   "target (memc --target=cuda)");

  std::vector<rt::Tensor> inputs(m.inputs.size()), outputs(m.outputs.size());
  std::vector<rt::Tensor> references(m.outputs.size());
  std::vector<bool> haveReference(m.outputs.size(), false);
  if (!opts.dataDir.empty()) {
    struct stat st;
    if (::stat(opts.dataDir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return failWith(ExitBadData, opts.dataDir + ": no such data directory");
    for (size_t i = 0; i < m.inputs.size(); ++i) {
      std::string path =
          joinPath(opts.dataDir, "input_" + std::to_string(i) + ".pb");
      if (!rt::readTensorFile(path, inputs[i], error))
        return failWith(ExitBadData, error);
      if (inputs[i].dtype != m.inputs[i].dtype ||
          inputs[i].dims != m.inputs[i].dims)
        return failWith(
            ExitBadData,
            path + ": " + describe(inputs[i].dtype, inputs[i].dims) +
                " does not match the package's input '" + m.inputs[i].name +
                "' (" + describe(m.inputs[i].dtype, m.inputs[i].dims) + ")");
    }
    for (size_t i = 0; i < m.outputs.size(); ++i) {
      std::string path =
          joinPath(opts.dataDir, "output_" + std::to_string(i) + ".pb");
      if (!exists(path))
        continue;
      if (!rt::readTensorFile(path, references[i], error))
        return failWith(ExitBadData, error);
      haveReference[i] = true;
    }
  } else {
    std::mt19937_64 rng(opts.seed);
    for (size_t i = 0; i < m.inputs.size(); ++i) {
      inputs[i].dtype = m.inputs[i].dtype;
      inputs[i].dims = m.inputs[i].dims;
      if (!inputs[i].allocate())
        return failWith(ExitBadPackage, opts.package +
                                            ": cannot allocate input '" +
                                            m.inputs[i].name + "'");
      rt::fillRandom(inputs[i], rng);
    }
  }
  for (size_t i = 0; i < m.outputs.size(); ++i) {
    outputs[i].dtype = m.outputs[i].dtype;
    outputs[i].dims = m.outputs[i].dims;
    if (!outputs[i].allocate())
      return failWith(ExitBadPackage, opts.package +
                                          ": cannot allocate output '" +
                                          m.outputs[i].name + "'");
  }

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
  std::vector<double> ms, deviceMs;
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
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      deviceMs.push_back(gpu);
    }
  }
  uint64_t deviceBytes = memc_cuda_device_bytes(session);
  memc_cuda_close(session);

  if (!opts.quiet) {
    std::fprintf(out, "latency_ms: %.3f\n", median(ms));
    std::fprintf(out, "latency_min_ms: %.3f\n",
                 *std::min_element(ms.begin(), ms.end()));
    std::fprintf(out, "device_ms: %.3f\n", median(deviceMs));
    std::fprintf(out, "peak_arena_bytes: %" PRIu64 "\n", m.arenaBytes);
    std::fprintf(out, "device_bytes: %" PRIu64 "\n", deviceBytes);
  }
  size_t compared = 0, mismatched = 0;
  for (size_t i = 0; i < m.outputs.size(); ++i) {
    if (!haveReference[i])
      continue;
    ++compared;
    const rt::TensorSpec &spec = m.outputs[i];
    if (references[i].dtype != spec.dtype || references[i].dims != spec.dims) {
      ++mismatched;
      std::fprintf(out, "output %s: %s vs reference %s MISMATCH\n",
                   spec.name.c_str(), describe(spec.dtype, spec.dims).c_str(),
                   describe(references[i].dtype, references[i].dims).c_str());
      continue;
    }
    rt::CompareStats s = rt::compareBuffers(
        spec.dtype, outputs[i].buffer.data(), references[i].buffer.data(),
        spec.numElements, opts.rtol, opts.atol);
    if (!s.ok())
      ++mismatched;
    if (!s.ok() || !opts.quiet)
      std::fprintf(out,
                   "output %s: max_abs_err %.3g max_rel_err %.3g mismatches "
                   "%" PRIu64 "/%" PRIu64 " %s\n",
                   spec.name.c_str(), s.maxAbsErr, s.maxRelErr, s.mismatches,
                   s.total, s.ok() ? "ok" : "MISMATCH");
  }
  if (compared == 0)
    std::fprintf(out, "result: ran (no reference outputs)\n");
  else if (mismatched == 0)
    std::fprintf(out, "result: match\n");
  else
    std::fprintf(out, "result: MISMATCH (%zu of %zu outputs)\n", mismatched,
                 compared);
  std::fflush(out);
  return mismatched ? ExitMismatch : ExitOK;
}

} // namespace cuda
} // namespace memc
