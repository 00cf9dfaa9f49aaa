//===- CudaRunner.h - memc-run --device cuda --------------------*- C++ -*-===//
#ifndef MEMC_RUNTIME_CUDA_CUDARUNNER_H
#define MEMC_RUNTIME_CUDA_CUDARUNNER_H

#include "memc/Runtime/RunCommon.h"
#include "memc_cuda.h"

#include <cstdio>
#include <string>

namespace memc {
namespace rt {
struct Manifest;
} // namespace rt
namespace cuda {

/// memc-run's run for a CUDA package: the same options, data layout, report
/// lines and comparison as the CPU path (runtime/common's RunCommon.h), on
/// the GPU through memc_cuda.h. Exit codes: ExitNoDevice without a driver or
/// GPU, ExitDeviceError when a driver or cuBLAS call fails.
/// With opts.train, runs a train package's steps (runCudaTrainPackage).
int runCudaPackage(const rt::RunOptions &opts, std::FILE *out, std::FILE *err);

/// memc-run --train --device cuda on the loaded train manifest `m` of
/// opts.package: runtime/common's train loop (TrainLoop.h) with the
/// trained tensors on the GPU. The same lines, files and exit codes as the
/// CPU's (runtime/cpu/TrainRunner.h), plus ExitNoDevice and
/// ExitDeviceError.
int runCudaTrainPackage(const rt::Manifest &m, const rt::RunOptions &opts,
                        std::FILE *out, std::FILE *err);

/// memc-run --generate N --prompt IDS.pb --device cuda on a decode package
/// compiled with --target=cuda: runtime/common's greedy loop (DecodeLoop.h)
/// with both programs on the GPU sharing their weights and KV caches. The
/// same lines and exit codes as the CPU's (runtime/cpu/GenerateRunner.h),
/// plus ExitNoDevice and ExitDeviceError.
int runCudaGenerate(const rt::RunOptions &opts, std::FILE *out,
                    std::FILE *err);

/// memc-run's exit code for a failed memc_cuda.h call: ExitNoDevice,
/// ExitBadPackage or ExitDeviceError.
int exitCodeOf(memc_cuda_status status);

/// Opens opts.package on GPU 0 as memc-run does (memc_cuda_open): on
/// failure returns its exit code (ExitNoDevice, ExitBadPackage or
/// ExitDeviceError) with `error` set to one line; on success prints the
/// session's notice, if any, as a `memc-run: note:` line on `err`.
int openCudaSession(const rt::RunOptions &opts, std::FILE *out, std::FILE *err,
                    memc_cuda_session *&session, std::string &error);

} // namespace cuda
} // namespace memc

#endif // MEMC_RUNTIME_CUDA_CUDARUNNER_H
