//===- Pipelines.h - the stages of memc as pass pipelines -------*- C++ -*-===//
//
// memc runs these pipelines in order; memc-opt registers each under its name
// so that `memc --emit=X` and `memc-opt --<pipeline>` give the same IR.
//
//   memc-einsum-to-linalg  einsum (tensors)   -> linalg on tensors
//   memc-bufferize         linalg on tensors  -> linalg on memrefs (out-params)
//   memc-lower-to-llvm     linalg on memrefs  -> LLVM dialect + memc_entry
//   memc-lower-to-gpu      linalg on memrefs  -> gpu.binary (PTX) + host ops
//                          (--target=cuda, in place of memc-lower-to-llvm)
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_DRIVER_PIPELINES_H
#define MEMC_DRIVER_PIPELINES_H

#include "mlir/Pass/PassManager.h"

namespace memc {
void buildEinsumToLinalgPipeline(mlir::OpPassManager &pm);
void buildBufferizePipeline(mlir::OpPassManager &pm);
void buildLowerToLLVMPipeline(mlir::OpPassManager &pm);
/// The first half of memc-lower-to-gpu: kernels outlined into one
/// gpu.module @memc_kernels (still gpu.func on memrefs), host ops beside.
/// `cublas`: GEMMs become runtime calls (cuBLAS), else kernels like the rest.
void buildGPUKernelsPipeline(mlir::OpPassManager &pm, bool cublas = true);
/// `chip` is a validated --cuda-arch (memc/Target/CUDATarget.h).
void buildLowerToGPUPipeline(mlir::OpPassManager &pm, llvm::StringRef chip,
                             bool cublas = true);
/// Registers the pipelines above under their names (memc-lower-to-gpu takes
/// `chip`), plus
/// `memc-cpu-pipeline` (all three).
void registerPipelines();
} // namespace memc

#endif
