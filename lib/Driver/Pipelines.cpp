//===- Pipelines.cpp - the stages of memc as pass pipelines ---------------===//
//
// The pipelines are written as textual pass pipelines: the same strings are
// what a compiler developer would pass to mlir-opt, they print in `memc -v`,
// and memc-opt registers them under their names, so both tools run exactly
// the same passes with the same options.
//
//===----------------------------------------------------------------------===//
#include "memc/Driver/Pipelines.h"

#include "memc/Target/CUDATarget.h"

#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/ErrorHandling.h"

using namespace mlir;

namespace {
// No CSE here: it would merge the zero-filled init tensors of different
// contractions, and bufferization would then copy the shared fill once per
// consumer.
constexpr const char *kEinsumToLinalg =
    "convert-einsum-to-linalg,canonicalize,memc-fuse-elementwise,"
    "canonicalize,memc-carry-in-place";

// Attention becomes FuseMax's 1-pass cascade while it is still einsum IR.
constexpr const char *kFuseMax = "memc-fusemax-attention";
// GPU targets: one einsum.attention per block, a kernel after bufferization.
constexpr const char *kFuseMaxKernel = "memc-fusemax-attention{kernel=true}";

// memc-distinct-results first: every result must be its own buffer for
// buffer-results-to-out-params.
constexpr const char *kBufferize =
    "func.func(memc-distinct-results),"
    "one-shot-bufferize{bufferize-function-boundaries=true "
    "function-boundary-type-conversion=identity-layout-map "
    "unknown-type-conversion=identity-layout-map},"
    "canonicalize,"
    "buffer-results-to-out-params{hoist-static-allocs=true "
    "modify-public-functions=true}";
// After memc-buffer-mapping: frees for what stays on the heap; canonicalize
// also drops the views that staging left unused. Freeing a buffer that a
// region may yield takes a runtime check that deallocation lowering puts in
// a helper function (dealloc_helper) on memref<?x..> arguments, which the
// bare-pointer calling convention of memc-lower-to-llvm cannot express: it
// is inlined into the model function (and so deleted).
constexpr const char *kDeallocate =
    "buffer-deallocation-pipeline,inline{default-pipeline=},canonicalize,cse";

// memc-outline-kernels after the passes that rewrite linalg ops in place and
// before they become loops: each distinct loop nest is one small function
// (LLVM's time grew superlinearly with the loop nests of one function).
constexpr const char *kLowerToLLVM =
    "memc-arena-noalias,memc-contractions-to-blas,memc-math-approximation,"
    "memc-outline-kernels,"
    "func.func(convert-linalg-to-loops),lower-affine,convert-scf-to-cf,"
    "canonicalize,cse,"
    "convert-math-to-llvm,convert-math-to-libm,"
    "expand-strided-metadata,lower-affine,"
    "finalize-memref-to-llvm{use-generic-functions=true "
    "use-aligned-alloc=true},"
    "convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,"
    "convert-func-to-llvm{use-bare-ptr-memref-call-conv=true},"
    "reconcile-unrealized-casts,memc-emit-entry-point";

// memrefs -> kernels in one gpu.binary (PTX) + host ops the launch plan
// reads. GEMMs stay host calls (cuBLAS through runtime/cuda, docs/cuda.md),
// or without cuBLAS become kernels (tensor cores from sm_80 on).
// convert-gpu-to-nvvm turns math ops into libdevice calls (__nv_*), and
// MLIR links libdevice only where it finds a CUDA toolkit, which memc must
// not need (and the PTX would depend on the environment). So exp, erf, tanh
// and log get MLIR's polynomials first, and the calls whose PTX instruction
// is exact (sqrt, fma, floor, ...) go back to LLVM intrinsics afterwards.
// %CHIP% is replaced by the --cuda-arch.
constexpr const char *kGEMMsToCalls = "memc-contractions-to-blas";
constexpr const char *kGPUKernels =
    "memc-attention-to-gpu{tensor-cores=%TENSOR_CORES%},%GEMM_KERNELS%"
    "memc-math-approximation,"
    "func.func(memc-strided-copies-to-linalg,convert-linalg-to-parallel-loops),"
    "lower-affine,canonicalize,"
    "func.func(memc-map-parallel-loops-to-gpu),"
    "gpu-launch-sink-index-computations,gpu-kernel-outlining,"
    "memc-merge-gpu-modules";
constexpr const char *kKernelsToPTX =
    "nvvm-attach-target{module=memc_kernels chip=%CHIP% O=3},"
    "gpu.module(expand-strided-metadata,lower-affine,convert-scf-to-cf,"
    "convert-nvgpu-to-nvvm,"
    "convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=true},"
    "memc-libdevice-to-intrinsics,"
    "canonicalize,cse,reconcile-unrealized-casts),"
    "gpu-module-to-binary{format=isa}";

void addPipeline(OpPassManager &pm, const char *text) {
  if (failed(parsePassPipeline(text, pm, llvm::errs())))
    llvm::report_fatal_error("memc: malformed built-in pass pipeline");
}

/// `text` with its one `%NAME%` replaced by `value`.
std::string substitute(std::string text, llvm::StringRef name,
                       llvm::StringRef value) {
  std::string key = ("%" + name + "%").str();
  text.replace(text.find(key), key.size(), value.str());
  return text;
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

void memc::buildGPUKernelsPipeline(OpPassManager &pm,
                                   const GPUPipelineOptions &options) {
  if (options.cublas)
    addPipeline(pm, kGEMMsToCalls);
  bool mma = cudaArchHasTF32MMA(options.chip);
  std::string text = substitute(kGPUKernels, "TENSOR_CORES",
                                options.tensorCores && mma ? "true" : "false");
  // GEMMs that cuBLAS does not take (all of them without cuBLAS) become
  // tensor-core kernels where the chip has TF32 mma, else loop nests.
  addPipeline(pm, substitute(text, "GEMM_KERNELS",
                             mma ? "memc-contractions-to-mma," : "")
                      .c_str());
}

void memc::buildLowerToGPUPipeline(OpPassManager &pm,
                                   const GPUPipelineOptions &options) {
  buildGPUKernelsPipeline(pm, options);
  addPipeline(pm, substitute(kKernelsToPTX, "CHIP", options.chip).c_str());
}

void memc::buildEinsumToLinalgPipeline(OpPassManager &pm, bool fusemax,
                                       bool attentionKernel) {
  if (fusemax)
    addPipeline(pm, attentionKernel ? kFuseMaxKernel : kFuseMax);
  addPipeline(pm, kEinsumToLinalg);
}
void memc::buildBufferizePipeline(
    OpPassManager &pm, const BufferMappingOptions &mapping,
    std::function<void(const ArenaPlanRecord &)> onPlan) {
  addPipeline(pm, kBufferize);
  pm.addPass(createBufferMappingPass(mapping, std::move(onPlan)));
  addPipeline(pm, kDeallocate);
}
void memc::buildLowerToLLVMPipeline(OpPassManager &pm) {
  addPipeline(pm, kLowerToLLVM);
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
};
} // namespace

void memc::registerPipelines() {
  PassPipelineRegistration<EinsumToLinalgOptions>(
      "memc-einsum-to-linalg",
      "einsum on tensors -> fused linalg on tensors (memc --emit=linalg)",
      [](OpPassManager &pm, const EinsumToLinalgOptions &o) {
        buildEinsumToLinalgPipeline(pm, o.fusemax, o.attentionKernel);
      });
  PassPipelineRegistration<BufferizePipelineOptions>(
      "memc-bufferize",
      "linalg on tensors -> memrefs with output parameters, temporaries in "
      "one planned arena",
      [](OpPassManager &pm, const BufferizePipelineOptions &options) {
        BufferMappingOptions mapping;
        mapping.memBudget = options.memBudget;
        mapping.verifyPlan = options.verifyPlan;
        buildBufferizePipeline(pm, mapping);
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
        buildBufferizePipeline(pm, {});
        buildLowerToLLVMPipeline(pm);
      });
}
