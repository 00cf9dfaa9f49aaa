//===- CUDATarget.h - gpu.binary + host ops -> PTX and launch plan -*- C++
//-*-===//
//
// After memc-lower-to-gpu the module holds the kernels as one gpu.binary
// (PTX text) and the model function holds only host work: buffer
// bookkeeping, gpu.launch_func, GEMM calls and copies. This library turns
// that into what a CUDA package carries (docs/cuda.md): kernels.ptx, the
// launch plan that runtime/cuda interprets, and the bytes of the constants
// the kernels read.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_TARGET_CUDATARGET_H
#define MEMC_TARGET_CUDATARGET_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>

namespace memc {

/// The --cuda-arch values memc accepts: the NVPTX backend's targets from
/// Volta (sm_70) on, including the arch-specific 'a' variants.
llvm::ArrayRef<llvm::StringRef> getSupportedCUDAArchs();
bool isSupportedCUDAArch(llvm::StringRef arch);
/// Whether `arch` (a supported one) has TF32 mma.sync (sm_80 and later),
/// which the tensor-core attention kernel needs.
bool cudaArchHasTF32MMA(llvm::StringRef arch);

/// Everything a CUDA package needs besides the manifest and weights.
struct CUDAProgram {
  std::string ptx;       ///< Empty when the model needs no kernel.
  std::string plan;      ///< launch_plan.txt (docs/cuda.md)
  std::string constants; ///< constants.bin: the kernels' constant buffers
  uint64_t arenaBytes = 0;
  /// Pinned host memory for the buffers the planner or a swap puts on the
  /// host (the function's `memc.host_pool` argument).
  uint64_t hostPoolBytes = 0;
  unsigned numLaunches = 0, numGemms = 0, numCopies = 0, numSvds = 0;
  /// Copies to the host pool (spill) and back (fetch).
  unsigned numSpills = 0, numFetches = 0;
};

/// Reads the module after memc-lower-to-gpu: the PTX of gpu.binary
/// @memc_kernels and the host steps of `funcName`. Host ops without a plan
/// form are an error naming the op. Temporaries (memref.alloc) get arena
/// offsets in program order, each 256-byte aligned, until the memory planner
/// places them (memref.view into the function's `memc.arena` argument, whose
/// offsets are used as they are).
bool buildCUDAProgram(mlir::ModuleOp module, llvm::StringRef funcName,
                      llvm::StringRef arch, CUDAProgram &program,
                      std::string &error);

/// The ptxas to validate with: $CUDA_HOME/bin/ptxas, then PATH, then
/// /usr/local/cuda/bin/ptxas. Empty when there is none.
std::string findPtxas();

/// Assembles `ptxPath` for `arch` into `cubinPath` with `ptxas`. On
/// rejection returns false with ptxas's first error line in `error`.
bool runPtxas(const std::string &ptxas, const std::string &ptxPath,
              llvm::StringRef arch, const std::string &cubinPath,
              std::string &error);

/// Writes kernels.ptx (when there are kernels), launch_plan.txt and
/// constants.bin into the package directory `dir`; with ptxas installed,
/// also kernels.cubin, which validates the PTX.
bool writeCUDAPackageFiles(const std::string &dir, const CUDAProgram &program,
                           llvm::StringRef arch, std::string &error);

/// Runs ptxas on `ptxPath` when one is installed (a no-op otherwise).
bool validatePTX(const std::string &ptxPath, llvm::StringRef arch,
                 std::string &error);

/// A testing aid: compiles the kernels of gpu.module @memc_kernels (after
/// memc's GPU kernel pipeline, before NVVM) for the host CPU into the
/// shared object `soPath`, with `K_memc_host(void **params, const int64_t
/// ids[12])` per kernel K (ids: block id, thread id, grid size, block size,
/// x y z each), which the tests' fake libcuda calls for every thread.
bool emitHostKernels(mlir::ModuleOp module, const std::string &workDir,
                     const std::string &soPath, std::string &error);

} // namespace memc

#endif
