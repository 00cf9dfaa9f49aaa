//===- DropUnusedParameters.cpp - dead weights out of the interface -------===//
#include "dialects/memc/ProgramInterface.h"
#include "dialects/memc/Transforms/Passes.h"

#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/BitVector.h"

namespace memc {
#define GEN_PASS_DEF_DROPUNUSEDPARAMETERS
#include "dialects/memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {
struct DropUnusedParametersPass
    : public memc::impl::DropUnusedParametersBase<DropUnusedParametersPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    FunctionOpInterface entry = memc::getEntryFunction(module);
    if (entry && !entry.isExternal()) {
      llvm::BitVector unused(entry.getNumArguments());
      for (unsigned i = 0, e = entry.getNumArguments(); i < e; ++i)
        if (memc::getArgRole(entry, i) == memc::ArgRole::Weight &&
            entry.getArgument(i).use_empty())
          unused.set(i);
      if (unused.any() && failed(entry.eraseArguments(unused)))
        return signalPassFailure();
    }
    // Globals nothing refers to any more (their argument went above, or a
    // rewrite erased their last load).
    SmallVector<ml_program::GlobalOp> dead;
    for (auto global : module.getOps<ml_program::GlobalOp>())
      if (memc::isParameter(global) &&
          SymbolTable::symbolKnownUseEmpty(global, module))
        dead.push_back(global);
    for (ml_program::GlobalOp global : dead) {
      if (std::optional<ArrayRef<char>> data = memc::getParameterData(global))
        droppedBytes += data->size();
      global.erase();
    }
  }
};
} // namespace
