//===- CUDAPackage.h - what --target=cuda writes ----------------*- C++ -*-===//
#ifndef MEMC_LIB_DRIVER_CUDAPACKAGE_H
#define MEMC_LIB_DRIVER_CUDAPACKAGE_H

#include "memc/Driver/Compiler.h"
#include "memc/Driver/Pipelines.h"
#include "memc/Target/CUDATarget.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace memc {

/// What memc-lower-to-gpu gets from the command line.
GPUPipelineOptions gpuPipelineOptions(const CompilerOptions &options);

/// Runs memc-lower-to-gpu on the bufferized `module` (in place) and reads
/// the result into `program`. On failure `error` names the first diagnostic.
bool lowerForCUDA(mlir::ModuleOp module, const GPUPipelineOptions &gpu,
                  CUDAProgram &program, std::string &error);

/// Writes a CUDA package's files except manifest.txt and weights.bin into
/// `dir` from the bufferized `module` (left untouched): kernels.ptx,
/// kernels.cubin (with ptxas), launch_plan.txt, constants.bin; when the plan
/// calls cuBLAS, the same program without cuBLAS in `dir`/nocublas/, which
/// the runtime falls back to where cuBLAS cannot be loaded or initialized;
/// with options.cudaHostKernels, kernels-host.so in each. `arenaBytes` is
/// the larger arena of the two programs, `hostPoolBytes` the larger host
/// pool; `summary` says what was built.
bool writeCUDAPackage(mlir::ModuleOp module, const CompilerOptions &options,
                      const std::string &dir, uint64_t &arenaBytes,
                      uint64_t &hostPoolBytes, std::string &summary,
                      std::string &error);

} // namespace memc

#endif
