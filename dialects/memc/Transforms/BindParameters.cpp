//===- BindParameters.cpp - parameter loads -> weight arguments -----------===//
#include "dialects/memc/ProgramInterface.h"
#include "dialects/memc/Transforms/Passes.h"

#include "mlir/IR/SymbolTable.h"

namespace memc {
#define GEN_PASS_DEF_BINDPARAMETERS
#include "dialects/memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {
struct BindParametersPass
    : public memc::impl::BindParametersBase<BindParametersPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    FunctionOpInterface entry = memc::getEntryFunction(module);
    if (!entry || entry.isExternal())
      return;
    // The loads of each parameter, in the order of the globals: constant
    // ones of frozen weights, plain ones of trainable (mutable) weights.
    llvm::MapVector<StringAttr, SmallVector<Operation *>> loads;
    for (auto global : module.getOps<ml_program::GlobalOp>())
      if (memc::isParameter(global))
        loads[global.getSymNameAttr()];
    WalkResult walk = module.walk([&](Operation *load) {
      SymbolRefAttr ref;
      if (auto constLoad = dyn_cast<ml_program::GlobalLoadConstOp>(load))
        ref = constLoad.getGlobalAttr();
      else if (auto mutableLoad = dyn_cast<ml_program::GlobalLoadOp>(load))
        ref = mutableLoad.getGlobalAttr();
      else
        return WalkResult::advance();
      auto it = loads.find(ref.getRootReference());
      if (it == loads.end())
        return WalkResult::advance();
      if (load->getParentOfType<FunctionOpInterface>() != entry) {
        load->emitOpError("reads a parameter outside the entry function @")
            << entry.getName() << ", which alone takes weight arguments";
        return WalkResult::interrupt();
      }
      it->second.push_back(load);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();

    SymbolTable symbols(module);
    Block &body = entry.getFunctionBody().front();
    for (auto &[name, uses] : loads) {
      if (uses.empty())
        continue;
      auto global = symbols.lookup<ml_program::GlobalOp>(name);
      unsigned index = entry.getNumArguments();
      if (failed(entry.insertArgument(index, global.getType(), {},
                                      global.getLoc())))
        return signalPassFailure();
      memc::setArgRole(entry, index, memc::ArgRole::Weight,
                       memc::getParameterName(global));
      memc::setBoundParameter(entry, index, FlatSymbolRefAttr::get(name));
      memc::copyParameterFacts(global, entry, index);
      if (memc::isTrainable(global))
        memc::setTrainableArg(entry, index);
      Value arg = body.getArgument(index);
      for (Operation *load : uses) {
        load->getResult(0).replaceAllUsesWith(arg);
        load->erase();
      }
    }
  }
};
} // namespace
