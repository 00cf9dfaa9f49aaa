//===- StripParameterData.cpp - parameter globals out before codegen ------===//
#include "dialects/memc/ProgramInterface.h"
#include "dialects/memc/Transforms/Passes.h"

#include "mlir/IR/SymbolTable.h"

namespace memc {
#define GEN_PASS_DEF_STRIPPARAMETERDATA
#include "dialects/memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {
struct StripParameterDataPass
    : public memc::impl::StripParameterDataBase<StripParameterDataPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    module.walk([&](FunctionOpInterface fn) {
      for (unsigned i = 0, e = fn.getNumArguments(); i < e; ++i)
        if (memc::getBoundParameter(fn, i))
          memc::removeBoundParameter(fn, i);
    });
    SmallVector<ml_program::GlobalOp> parameters;
    for (auto global : module.getOps<ml_program::GlobalOp>())
      if (memc::isParameter(global))
        parameters.push_back(global);
    for (ml_program::GlobalOp global : parameters) {
      if (!SymbolTable::symbolKnownUseEmpty(global, module)) {
        global.emitOpError("is still read by the program: bind the entry's "
                           "parameters (memc-bind-parameters) before code "
                           "generation");
        return signalPassFailure();
      }
      global.erase();
    }
  }
};
} // namespace
