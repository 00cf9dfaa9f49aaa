//===- MergeGPUModules.cpp - every kernel in one gpu.module ---------------===//
//
// One gpu.module serializes to one PTX text: the package then holds a single
// module that the runtime loads once, and `memc --emit=ptx` prints one valid
// PTX file instead of several concatenated headers.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"

#include "mlir/IR/SymbolTable.h"

namespace memc {
#define GEN_PASS_DEF_MERGEGPUMODULES
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {
struct MergeGPUModulesPass
    : memc::impl::MergeGPUModulesBase<MergeGPUModulesPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> sources(module.getOps<gpu::GPUModuleOp>());
    if (sources.empty())
      return;
    if (SymbolTable::lookupSymbolIn(module, moduleName)) {
      module.emitError("memc-merge-gpu-modules: a symbol @")
          << moduleName << " already exists";
      return signalPassFailure();
    }
    OpBuilder b(sources.front());
    auto merged =
        gpu::GPUModuleOp::create(b, sources.front().getLoc(), moduleName);
    SymbolTable mergedSymbols(merged);
    auto mergedRef = FlatSymbolRefAttr::get(merged.getSymNameAttr());

    // Old kernel reference -> new one.
    DenseMap<Attribute, SymbolRefAttr> renamed;
    for (gpu::GPUModuleOp source : sources) {
      StringAttr sourceName = source.getSymNameAttr();
      for (Operation &op :
           llvm::make_early_inc_range(source.getBody()->getOperations())) {
        auto symbol = dyn_cast<SymbolOpInterface>(op);
        auto func = dyn_cast<gpu::GPUFuncOp>(op);
        if (func && func.isKernel()) {
          if (mergedSymbols.lookup(sourceName)) {
            func.emitError("memc-merge-gpu-modules: kernel name @")
                << sourceName.getValue() << " is taken";
            return signalPassFailure();
          }
          SymbolRefAttr oldRef = SymbolRefAttr::get(
              sourceName, {FlatSymbolRefAttr::get(func.getNameAttr())});
          func.setName(sourceName);
          renamed[oldRef] = SymbolRefAttr::get(
              mergedRef.getAttr(), {FlatSymbolRefAttr::get(sourceName)});
          op.moveBefore(merged.getBody(), merged.getBody()->end());
          mergedSymbols.insert(&op);
          continue;
        }
        // Outlining clones every symbol a kernel uses into that kernel's
        // module, so the same global can arrive several times.
        if (symbol && mergedSymbols.lookup(symbol.getNameAttr()))
          continue;
        op.moveBefore(merged.getBody(), merged.getBody()->end());
        if (symbol)
          mergedSymbols.insert(&op);
      }
    }
    // Retarget the launches before the old modules (and their names) go.
    WalkResult result = module.walk([&](gpu::LaunchFuncOp launch) {
      auto it = renamed.find(launch.getKernel());
      if (it == renamed.end()) {
        launch.emitError("memc-merge-gpu-modules: launch of an unknown "
                         "kernel ")
            << launch.getKernel();
        return WalkResult::interrupt();
      }
      launch.setKernelAttr(it->second);
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    for (gpu::GPUModuleOp source : sources)
      source.erase();
  }
};
} // namespace
