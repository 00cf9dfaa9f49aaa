//===- Pipelines.h - the stages of memc as pass pipelines -------*- C++ -*-===//
//
// memc runs these pipelines in order; memc-opt registers each under its name
// so that `memc --emit=X` and `memc-opt --<pipeline>` give the same IR.
//
//   memc-einsum-to-linalg  einsum (tensors)   -> linalg on tensors
//   memc-bufferize         linalg on tensors  -> linalg on memrefs (out-params)
//   memc-lower-to-llvm     linalg on memrefs  -> LLVM dialect + memc_entry
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_DRIVER_PIPELINES_H
#define MEMC_DRIVER_PIPELINES_H

#include "mlir/Pass/PassManager.h"

namespace memc {
/// `fusemax` runs memc-fusemax-attention first (memc --no-fusemax: off).
void buildEinsumToLinalgPipeline(mlir::OpPassManager &pm, bool fusemax = true);
void buildBufferizePipeline(mlir::OpPassManager &pm);
void buildLowerToLLVMPipeline(mlir::OpPassManager &pm);
/// Registers the three pipelines above under their names, plus
/// `memc-cpu-pipeline` (all three).
void registerPipelines();
} // namespace memc

#endif
