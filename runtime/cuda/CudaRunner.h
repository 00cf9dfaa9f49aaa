//===- CudaRunner.h - memc-run --device cuda --------------------*- C++ -*-===//
#ifndef MEMC_RUNTIME_CUDA_CUDARUNNER_H
#define MEMC_RUNTIME_CUDA_CUDARUNNER_H

#include "memc/Runtime/RunCommon.h"

#include <cstdio>

namespace memc {
namespace cuda {

/// memc-run's run for a CUDA package: the same options, data layout, report
/// lines and comparison as the CPU path (runtime/common's RunCommon.h), on
/// the GPU through memc_cuda.h. Exit codes: ExitNoDevice without a driver or
/// GPU, ExitDeviceError when a driver or cuBLAS call fails.
int runCudaPackage(const rt::RunOptions &opts, std::FILE *out, std::FILE *err);

} // namespace cuda
} // namespace memc

#endif // MEMC_RUNTIME_CUDA_CUDARUNNER_H
