//===- Pipelines.cpp - the stages of memc as pass pipelines ---------------===//
//
// The pipelines are built from the passes' constructors and typed option
// structs, so a misspelt pass or option is a compile error. memc-opt
// registers them under their names, so both tools run exactly the same
// passes with the same options; `memc-opt --<pipeline> --dump-pass-pipeline`
// prints one as text.
//
//===----------------------------------------------------------------------===//
#include "memc/Driver/Pipelines.h"

#include "dialects/memc/Transforms/Passes.h"

#include "memc/Conversion/Passes.h"
#include "memc/Target/CUDATarget.h"
#include "memc/Transforms/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/NVGPUToNVVM/NVGPUToNVVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace {
/// Canonicalization with the default configuration (`canonicalize`).
void addCanonicalize(OpPassManager &pm) {
  pm.addPass(createCanonicalizerPass());
}

/// Bare pointers for memref arguments: memc_entry passes one pointer per
/// buffer (docs/package-format.md), and kernels take them the same way.
ConvertFuncToLLVMPassOptions barePtrFuncToLLVM() {
  ConvertFuncToLLVMPassOptions options;
  options.useBarePtrCallConv = true;
  return options;
}

struct LowerToGPUOptions : public PassPipelineOptions<LowerToGPUOptions> {
  Option<std::string> chip{*this, "chip",
                           llvm::cl::desc("CUDA architecture (sm_XX)"),
                           llvm::cl::init("sm_90")};
  Option<bool> cublas{*this, "cublas",
                      llvm::cl::desc("GEMMs as cuBLAS calls (else kernels)"),
                      llvm::cl::init(true)};
  Option<bool> tensorCores{
      *this, "tensor-cores",
      llvm::cl::desc("fused attention on tensor cores where the chip has "
                     "TF32 mma (sm_80 on)"),
      llvm::cl::init(true)};
};
} // namespace

// memrefs -> kernels in one gpu.binary (PTX) + host ops the launch plan
// reads. GEMMs stay host calls (cuBLAS through runtime/cuda, docs/cuda.md),
// or without cuBLAS become kernels (tensor cores from sm_80 on).
// convert-gpu-to-nvvm turns math ops into libdevice calls (__nv_*), and
// MLIR links libdevice only where it finds a CUDA toolkit, which memc must
// not need (and the PTX would depend on the environment). So exp, erf, tanh
// and log get MLIR's polynomials first, and the calls whose PTX instruction
// is exact (sqrt, fma, floor, ...) go back to LLVM intrinsics afterwards.
void memc::buildGPUKernelsPipeline(OpPassManager &pm,
                                   const GPUPipelineOptions &options) {
  if (options.cublas)
    pm.addPass(createContractionsToBLAS());
  bool mma = cudaArchHasTF32MMA(options.chip);
  // The function passes up to the loop nests run one function at a time.
  OpPassManager &perFunction = pm.nest<func::FuncOp>();
  AttentionToGPUOptions attention;
  attention.tensorCores = options.tensorCores && mma;
  perFunction.addPass(createAttentionToGPU(attention));
  // GEMMs that cuBLAS does not take (all of them without cuBLAS) become
  // tensor-core kernels where the chip has TF32 mma, else loop nests.
  if (mma)
    perFunction.addPass(createContractionsToMMA());
  perFunction.addPass(createMathApproximation());
  perFunction.addPass(createStridedCopiesToLinalg());
  perFunction.addPass(createReductionsToGPU());
  perFunction.addPass(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createLowerAffinePass());
  addCanonicalize(pm);
  pm.addNestedPass<func::FuncOp>(createAccumulationsToAtomics());
  pm.addNestedPass<func::FuncOp>(createScalarOpsToKernels());
  pm.addNestedPass<func::FuncOp>(createMapParallelLoopsToGPU());
  // Indices read from inputs at run time (a decode step's position) are
  // computed in the kernels: the launch plan holds no host arithmetic.
  pm.addNestedPass<func::FuncOp>(createSinkRunTimeValues());
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createMergeGPUModules());
}

void memc::buildLowerToGPUPipeline(OpPassManager &pm,
                                   const GPUPipelineOptions &options) {
  buildGPUKernelsPipeline(pm, options);
  GpuNVVMAttachTargetOptions target;
  target.moduleMatcher = "memc_kernels";
  target.chip = options.chip;
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));

  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(memref::createExpandStridedMetadataPass());
  kernels.addPass(createLowerAffinePass());
  kernels.addPass(createSCFToControlFlowPass());
  kernels.addPass(createConvertNVGPUToNVVMPass());
  ConvertGpuOpsToNVVMOpsOptions toNVVM;
  toNVVM.useBarePtrCallConv = true;
  kernels.addPass(createConvertGpuOpsToNVVMOps(toNVVM));
  kernels.addPass(createLibdeviceToIntrinsics());
  addCanonicalize(kernels);
  kernels.addPass(createCSEPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());

  // PTX text from LLVM's NVPTX backend (format=isa), no CUDA toolkit.
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "isa";
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

void memc::buildEinsumToLinalgPipeline(OpPassManager &pm, bool fusemax,
                                       bool attentionKernel,
                                       int64_t im2colMaxBytes,
                                       int64_t fusemaxLanes, bool sharedPads) {
  // A decode program's cache writes and views, in the form the target
  // wants: loops over the blocks in use on the CPU, one parallel gather on
  // GPUs.
  LowerKVCachesOptions kvCaches;
  kvCaches.parallel = attentionKernel;
  pm.addNestedPass<func::FuncOp>(createLowerKVCaches(kvCaches));
  // Attention becomes FuseMax's 1-pass cascade while it is still einsum IR;
  // GPU targets get one einsum.attention per block, a kernel after
  // bufferization.
  if (fusemax) {
    FuseMaxAttentionOptions fuseMax;
    fuseMax.kernel = attentionKernel;
    fuseMax.lanes = attentionKernel ? 1 : fusemaxLanes;
    pm.addPass(createFuseMaxAttention(fuseMax));
  }
  // On the CPU, a train step's fused attention ops (and their backward)
  // become tiled loops of einsum ops, and convolutions (and their weight
  // gradients) im2col copies and BLAS GEMMs.
  if (!attentionKernel) {
    pm.addNestedPass<func::FuncOp>(createLowerAttention());
    ConvToGemmOptions im2col;
    im2col.maxBytes = im2colMaxBytes;
    // memc-contractions-to-blas packs a weight's convolution straight
    // from its input (packed-weights is on in every CPU pipeline).
    im2col.keepWeightWindows = true;
    pm.addPass(createConvToGemm(im2col));
    pm.addNestedPass<func::FuncOp>(createDepthwiseLoopOrder());
    // Transposes store in order (their loads are the strided ones).
    pm.addNestedPass<func::FuncOp>(createCopyLoopOrder());
  }
  // A train step's optimizer updates become in-place linalg.generic ops.
  pm.addNestedPass<func::FuncOp>(createLowerOptimizer());
  // No CSE here: it would merge the zero-filled init tensors of different
  // contractions, and bufferization would then copy the shared fill once per
  // consumer.
  pm.addNestedPass<func::FuncOp>(createConvertEinsumToLinalg());
  addCanonicalize(pm);
  // On the CPU, depthwise convolutions and poolings lose their reduction
  // loops (one operand per tap), so their fills go and the activations
  // after them fuse into them.
  if (!attentionKernel)
    pm.addNestedPass<func::FuncOp>(createUnrollWindowTaps());
  pm.addNestedPass<func::FuncOp>(createFuseElementwise());
  addCanonicalize(pm);
  pm.addNestedPass<func::FuncOp>(createCarryInPlace());
  // A convolution's padded input is written by its producer in place;
  // first, as writing over an operand would leave the pad a copy.
  PadInPlaceOptions padInPlace;
  padInPlace.shared = sharedPads;
  pm.addNestedPass<func::FuncOp>(createPadInPlace(padInPlace));
  // Elementwise results over operands that die there: the backward's
  // pointwise gradients no longer hold three full-size tensors at once.
  pm.addNestedPass<func::FuncOp>(createElementwiseInPlace());
}

void memc::buildBufferizePipeline(
    OpPassManager &pm, const BufferMappingOptions &mapping,
    std::function<void(const ArenaPlanRecord &)> onPlan, bool gemmEpilogues) {
  // The weights' bytes go to the package, not into the code: the parameter
  // globals go before bufferization, which would make them memref.globals
  // (the driver has read them by then, PackageInterface.h).
  pm.addPass(createStripParameterData());
  // memc-distinct-results first: every result must be its own buffer for
  // buffer-results-to-out-params.
  pm.addNestedPass<func::FuncOp>(createDistinctResults());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  bufferize.unknownTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // A train step's updated weights and states were written into their
  // arguments' buffers: those results are the arguments and go.
  pm.addPass(createDropOverwrittenResults());
  addCanonicalize(pm);
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.hoistStaticAllocs = true;
  outParams.modifyPublicFunctions = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));

  // A convolution's GEMM and the op finishing its result become one call
  // after the plan (memc-contractions-to-blas): planned as one step.
  if (gemmEpilogues)
    pm.addPass(createWrapGemmEpilogues());
  pm.addPass(createBufferMappingPass(mapping, std::move(onPlan)));

  // After memc-buffer-mapping: frees for what stays on the heap; canonicalize
  // also drops the views that staging left unused. Freeing a buffer that a
  // region may yield takes a runtime check that deallocation lowering puts in
  // a helper function (dealloc_helper) on memref<?x..> arguments, which the
  // bare-pointer calling convention of memc-lower-to-llvm cannot express: it
  // is inlined into the model function (and so deleted). The inliner runs no
  // pipeline on the functions it visits (`inline{default-pipeline=}`); built
  // this way, upstream still prints its unused option string's default,
  // `default-pipeline=canonicalize`.
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createInlinerPass(/*opPipelines=*/{},
                               /*defaultPipelineBuilder=*/nullptr));
  addCanonicalize(pm);
  pm.addPass(createCSEPass());
}

void memc::buildLowerToLLVMPipeline(OpPassManager &pm) {
  pm.addPass(createArenaNoAlias());
  pm.addPass(createSVDProjectorToRuntime());
  ContractionsToBLASOptions blas;
  blas.packedWeights = true;
  // A convolution's bias and activation (and a residual sum) are stored by
  // its GEMM, not by a pass over its output.
  blas.fuseEpilogues = true;
  pm.addPass(createContractionsToBLAS(blas));
  pm.addNestedPass<func::FuncOp>(createMathApproximation());
  // A strided memref.copy (a padded or strided convolution's slices) would
  // lower to the runtime's element-by-element memrefCopy: as a linalg.copy
  // it becomes a loop nest like the others, outlined, vectorized and split
  // over threads.
  pm.addNestedPass<func::FuncOp>(createStridedCopiesToLinalg());
  // A padded buffer that a copy or a pooling writes next is filled only
  // where it leaves the padding value.
  pm.addNestedPass<func::FuncOp>(createFillBorders());
  // memc-outline-kernels after the passes that rewrite linalg ops in place
  // and before they become loops: each distinct loop nest is one small
  // function (LLVM's time grew superlinearly with the loop nests of one
  // function). The heavy ops inside loop nests (FuseMax's score tiles) are
  // kernels of their own, so that they too can run on the threads.
  memc::ParallelKernelsOptions parallel;
  memc::OutlineKernelsOptions outline;
  outline.nestedMinWork = parallel.minWork;
  pm.addPass(createOutlineKernels(outline));
  // Lanes of a batch's chunks (memc-micro-batch lanes=N) run on the
  // runtime's threads.
  pm.addPass(createParallelLanes());
  // Heavy kernels whose outer loop is parallel run over row ranges on the
  // runtime's threads.
  pm.addPass(createParallelKernels(parallel));
  // Depthwise convolutions and poolings: the output row in vectors, the
  // window's taps inside with the accumulator in a register.
  pm.addPass(createVectorizeWindows());
  // Reductions' accumulating adds may be reassociated: the loop vectorizer
  // then takes them (per-channel sums were one dependent add per element).
  pm.addPass(createReassociateReductions());
  // Loops over contiguous dimensions as one: an inner loop over H x W
  // rather than W alone, vectorized with plain loads.
  pm.addPass(createCollapseContiguousLoops());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  addCanonicalize(pm);
  pm.addPass(createCSEPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertVectorToLLVMPass());
  FinalizeMemRefToLLVMConversionPassOptions memrefToLLVM;
  memrefToLLVM.useGenericFunctions = true;
  memrefToLLVM.useAlignedAlloc = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefToLLVM));
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass(barePtrFuncToLLVM()));
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createParallelCallsToRuntime());
  pm.addPass(createEmitEntryPoint());
}

namespace {
struct EinsumToLinalgOptions
    : public PassPipelineOptions<EinsumToLinalgOptions> {
  Option<bool> fusemax{*this, "fusemax",
                       llvm::cl::desc("FuseMax attention fusion first"),
                       llvm::cl::init(true)};
  Option<bool> attentionKernel{
      *this, "attention-kernel",
      llvm::cl::desc("fused attention as einsum.attention (GPU targets)"),
      llvm::cl::init(false)};
  Option<int64_t> im2colMaxBytes{
      *this, "im2col-max-bytes",
      llvm::cl::desc("largest im2col copy of memc-conv-to-gemm (CPU)"),
      llvm::cl::init(64 << 20)};
  Option<int64_t> fusemaxLanes{
      *this, "fusemax-lanes",
      llvm::cl::desc("lanes of FuseMax's CPU cascades (memc-fusemax-attention "
                     "lanes=N)"),
      llvm::cl::init(1)};
  Option<bool> sharedPads{
      *this, "shared-pads",
      llvm::cl::desc("memc-pad-in-place shared=1 (CPU inference programs)"),
      llvm::cl::init(false)};
};
} // namespace

void memc::registerPipelines() {
  PassPipelineRegistration<EinsumToLinalgOptions>(
      "memc-einsum-to-linalg",
      "einsum on tensors -> fused linalg on tensors (memc --emit=linalg)",
      [](OpPassManager &pm, const EinsumToLinalgOptions &o) {
        buildEinsumToLinalgPipeline(pm, o.fusemax, o.attentionKernel,
                                    o.im2colMaxBytes, o.fusemaxLanes,
                                    o.sharedPads);
      });
  PassPipelineRegistration<BufferizePipelineOptions>(
      "memc-bufferize",
      "linalg on tensors -> memrefs with output parameters, temporaries in "
      "one planned arena",
      [](OpPassManager &pm, const BufferizePipelineOptions &options) {
        BufferMappingOptions mapping;
        mapping.memBudget = options.memBudget;
        mapping.verifyPlan = options.verifyPlan;
        buildBufferizePipeline(pm, mapping, nullptr, options.gemmEpilogues);
      });
  PassPipelineRegistration<>(
      "memc-lower-to-llvm",
      "memrefs -> LLVM dialect with runtime GEMM calls and memc_entry "
      "(memc --emit=llvm prints its LLVM IR)",
      buildLowerToLLVMPipeline);
  PassPipelineRegistration<LowerToGPUOptions>(
      "memc-lower-to-gpu",
      "memrefs -> kernels in one gpu.binary (PTX) + the host ops of the "
      "CUDA launch plan (memc --target=cuda); options chip, cublas, "
      "tensor-cores",
      [](OpPassManager &pm, const LowerToGPUOptions &options) {
        buildLowerToGPUPipeline(
            pm, {options.chip, options.cublas, options.tensorCores});
      });
  PassPipelineRegistration<>(
      "memc-cpu-pipeline", "einsum -> LLVM dialect: all three stages",
      [](OpPassManager &pm) {
        buildEinsumToLinalgPipeline(pm, /*fusemax=*/true);
        buildBufferizePipeline(pm, {}, nullptr, /*gemmEpilogues=*/true);
        buildLowerToLLVMPipeline(pm);
      });
}
