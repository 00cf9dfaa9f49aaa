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
    // The loads of each parameter, in the order of the globals.
    llvm::MapVector<StringAttr, SmallVector<ml_program::GlobalLoadConstOp>>
        loads;
    for (auto global : module.getOps<ml_program::GlobalOp>())
      if (memc::isParameter(global))
        loads[global.getSymNameAttr()];
    WalkResult walk = module.walk([&](ml_program::GlobalLoadConstOp load) {
      auto it = loads.find(load.getGlobalAttr().getRootReference());
      if (it == loads.end())
        return WalkResult::advance();
      if (load->getParentOfType<FunctionOpInterface>() != entry) {
        load.emitOpError("reads a parameter outside the entry function @")
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
      Value arg = body.getArgument(index);
      for (ml_program::GlobalLoadConstOp load : uses) {
        load.getResult().replaceAllUsesWith(arg);
        load.erase();
      }
    }
  }
};
} // namespace
