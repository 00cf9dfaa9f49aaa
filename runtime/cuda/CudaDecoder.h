//===- CudaDecoder.h - a decode package on the GPU --------------*- C++ -*-===//
//
// Greedy decoding with a decode package compiled with --target=cuda: both
// programs on one GPU, the prefill sharing the decode step's device copies
// of the weights and the KV caches (memc_cuda_open_sharing), driven by
// runtime/common's loop (DecodeLoop.h). The CUDA counterpart of
// runtime/cpu's rt::Decoder, for memc-run and the Python module.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_CUDA_CUDADECODER_H
#define MEMC_RUNTIME_CUDA_CUDADECODER_H

#include "memc/Runtime/DecodeLoop.h"
#include "memc/Runtime/DecodeManifest.h"

#include <memory>
#include <string>

namespace memc {
namespace cuda {

class CudaDecoder {
public:
  CudaDecoder();
  ~CudaDecoder();
  /// Loads and checks the package in `dir` for GPU `device`; the device is
  /// opened at the first generation, after the prompt's checks. ExitOK, or
  /// the exit code with `error` set to one line (ExitUsage: not a decode
  /// package, or one compiled for the CPU; ExitBadPackage).
  int open(const std::string &dir, int device, std::string &error);
  const rt::DecodeManifest &manifest() const;
  /// As rt::Decoder::generate, plus ExitNoDevice and ExitDeviceError.
  int generate(const rt::Tensor &prompt, const std::string &promptName,
               int64_t n, rt::Generation &out, std::string &error);
  /// Empty, or why the programs run without cuBLAS (once opened).
  const char *notice() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace cuda
} // namespace memc

#endif // MEMC_RUNTIME_CUDA_CUDADECODER_H
