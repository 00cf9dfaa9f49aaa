//===- Pipelines.h - the stages of memc as pass pipelines -------*- C++ -*-===//
//
// memc runs these pipelines in order; memc-opt registers each under its name
// so that `memc --emit=X` and `memc-opt --<pipeline>` give the same IR.
//
//   memc-einsum-to-linalg  einsum (tensors)   -> linalg on tensors
//   memc-bufferize         linalg on tensors  -> linalg on memrefs
//   (out-params),
//                          temporaries in one planned arena
//   memc-lower-to-llvm     linalg on memrefs  -> LLVM dialect + memc_entry
//   memc-lower-to-gpu      linalg on memrefs  -> gpu.binary (PTX) + host ops
//                          (--target=cuda, in place of memc-lower-to-llvm)
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_DRIVER_PIPELINES_H
#define MEMC_DRIVER_PIPELINES_H

#include "memc/Transforms/BufferMapping.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace memc {
/// memc-opt's `--memc-bufferize="mem-budget=N verify-plan=1"`.
struct BufferizePipelineOptions
    : public mlir::PassPipelineOptions<BufferizePipelineOptions> {
  Option<uint64_t> memBudget{*this, "mem-budget",
                             llvm::cl::desc("Arena budget in bytes (0: none)"),
                             llvm::cl::init(0)};
  Option<bool> verifyPlan{*this, "verify-plan",
                          llvm::cl::desc("Verify the arena plan"),
                          llvm::cl::init(false)};
  Option<bool> gemmEpilogues{
      *this, "gemm-epilogues",
      llvm::cl::desc("Wrap GEMM and epilogue pairs for the plan "
                     "(memc-wrap-gemm-epilogues), as the CPU target does"),
      llvm::cl::init(false)};
};

/// `fusemax` runs memc-fusemax-attention first (memc --no-fusemax: off), its
/// CPU cascades in up to `fusemaxLanes` lanes (the threads the package will
/// run on).
/// On the CPU (not `attentionKernel`), convolutions become im2col copies of
/// at most `im2colMaxBytes` and GEMMs (memc-conv-to-gemm).
/// `sharedPads`: memc-pad-in-place also moves producers whose results other
/// ops read (inference programs on the CPU).
void buildEinsumToLinalgPipeline(mlir::OpPassManager &pm, bool fusemax = true,
                                 bool attentionKernel = false,
                                 int64_t im2colMaxBytes = 64 << 20,
                                 int64_t fusemaxLanes = 1,
                                 bool sharedPads = false);
/// Bufferization, then memc-buffer-mapping with `mapping` (its record goes
/// to `onPlan` when set), then deallocation of what is left on the heap.
/// `gemmEpilogues` (the CPU target, whose memc-lower-to-llvm fuses them):
/// memc-wrap-gemm-epilogues before the plan.
void buildBufferizePipeline(
    mlir::OpPassManager &pm, const BufferMappingOptions &mapping = {},
    std::function<void(const ArenaPlanRecord &)> onPlan = nullptr,
    bool gemmEpilogues = false);
void buildLowerToLLVMPipeline(mlir::OpPassManager &pm);
/// What memc-lower-to-gpu is asked for.
struct GPUPipelineOptions {
  /// A validated --cuda-arch (memc/Target/CUDATarget.h).
  std::string chip = "sm_90";
  /// GEMMs become runtime calls (cuBLAS), else kernels like the rest.
  bool cublas = true;
  /// Fused attention on tensor cores where `chip` has TF32 mma (else the
  /// CUDA-core kernel everywhere).
  bool tensorCores = true;
};
/// The first half of memc-lower-to-gpu: kernels outlined into one
/// gpu.module @memc_kernels (still gpu.func on memrefs), host ops beside.
void buildGPUKernelsPipeline(mlir::OpPassManager &pm,
                             const GPUPipelineOptions &options = {});
void buildLowerToGPUPipeline(mlir::OpPassManager &pm,
                             const GPUPipelineOptions &options = {});
/// Registers the pipelines above under their names (memc-lower-to-gpu takes
/// `chip`), plus
/// `memc-cpu-pipeline` (all three).
void registerPipelines();
} // namespace memc

#endif
