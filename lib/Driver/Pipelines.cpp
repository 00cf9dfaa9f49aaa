//===- Pipelines.cpp - the stages of memc as pass pipelines ---------------===//
//
// The pipelines are written as textual pass pipelines: the same strings are
// what a compiler developer would pass to mlir-opt, they print in `memc -v`,
// and memc-opt registers them under their names, so both tools run exactly
// the same passes with the same options.
//
//===----------------------------------------------------------------------===//
#include "memc/Driver/Pipelines.h"

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

constexpr const char *kBufferize =
    "one-shot-bufferize{bufferize-function-boundaries=true "
    "function-boundary-type-conversion=identity-layout-map "
    "unknown-type-conversion=identity-layout-map},"
    "canonicalize,"
    "buffer-results-to-out-params{hoist-static-allocs=true modify-public-functions=true}";
// After memc-buffer-mapping: frees for what stays on the heap; canonicalize
// also drops the views that staging left unused.
constexpr const char *kDeallocate =
    "buffer-deallocation-pipeline,canonicalize,cse";

constexpr const char *kLowerToLLVM =
    "memc-arena-noalias,memc-contractions-to-blas,memc-math-approximation,"
    "func.func(convert-linalg-to-loops),lower-affine,convert-scf-to-cf,"
    "canonicalize,cse,"
    "convert-math-to-llvm,convert-math-to-libm,"
    "expand-strided-metadata,lower-affine,"
    "finalize-memref-to-llvm{use-generic-functions=true use-aligned-alloc=true},"
    "convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,"
    "convert-func-to-llvm{use-bare-ptr-memref-call-conv=true},"
    "reconcile-unrealized-casts,memc-emit-entry-point";

void addPipeline(OpPassManager &pm, const char *text) {
  if (failed(parsePassPipeline(text, pm, llvm::errs())))
    llvm::report_fatal_error("memc: malformed built-in pass pipeline");
}
} // namespace

void memc::buildEinsumToLinalgPipeline(OpPassManager &pm, bool fusemax) {
  if (fusemax)
    addPipeline(pm, kFuseMax);
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
};
} // namespace

void memc::registerPipelines() {
  PassPipelineRegistration<EinsumToLinalgOptions>(
      "memc-einsum-to-linalg",
      "einsum on tensors -> fused linalg on tensors (memc --emit=linalg)",
      [](OpPassManager &pm, const EinsumToLinalgOptions &o) {
        buildEinsumToLinalgPipeline(pm, o.fusemax);
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
  PassPipelineRegistration<>(
      "memc-cpu-pipeline", "einsum -> LLVM dialect: all three stages",
      [](OpPassManager &pm) {
        buildEinsumToLinalgPipeline(pm, /*fusemax=*/true);
        buildBufferizePipeline(pm, {});
        buildLowerToLLVMPipeline(pm);
      });
}
