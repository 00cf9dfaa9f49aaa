//===- BindParameterStores.cpp - parameter stores -> in-place results -----===//
#include "dialects/memc/ProgramInterface.h"
#include "dialects/memc/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringMap.h"

namespace memc {
#define GEN_PASS_DEF_BINDPARAMETERSTORES
#include "dialects/memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {
struct BindParameterStoresPass
    : public memc::impl::BindParameterStoresBase<BindParameterStoresPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    FunctionOpInterface entry = memc::getEntryFunction(module);
    SmallVector<ml_program::GlobalStoreOp> stores;
    module.walk([&](ml_program::GlobalStoreOp store) {
      stores.push_back(store);
    });
    if (stores.empty())
      return;
    if (!entry || entry.isExternal() ||
        !isa<func::FuncOp>(entry.getOperation())) {
      stores.front().emitOpError(
          "stores a parameter, but the module has no func.func entry");
      return signalPassFailure();
    }
    // The weight argument bound to each global.
    llvm::StringMap<unsigned> boundArg;
    for (unsigned i = 0, e = entry.getNumArguments(); i < e; ++i)
      if (FlatSymbolRefAttr global = memc::getBoundParameter(entry, i))
        boundArg[global.getValue()] = i;

    auto fn = cast<func::FuncOp>(entry.getOperation());
    auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
    SmallVector<Value> results(ret.getOperands());
    SmallVector<unsigned> overwritten;
    llvm::DenseSet<unsigned> seen;
    for (ml_program::GlobalStoreOp store : stores) {
      if (store->getParentOp() != fn) {
        store.emitOpError("stores a parameter outside the body of the entry @")
            << fn.getName();
        return signalPassFailure();
      }
      StringRef global = store.getGlobal().getRootReference().getValue();
      auto it = boundArg.find(global);
      if (it == boundArg.end()) {
        store.emitOpError("stores @")
            << global << ", which no weight argument of the entry is bound to";
        return signalPassFailure();
      }
      if (memc::isTrainableArg(fn, it->second)) {
        store.emitOpError("stores the trainable weight '")
            << memc::getArgName(fn, it->second)
            << "', which the optimizer updates";
        return signalPassFailure();
      }
      if (!seen.insert(it->second).second) {
        store.emitOpError("stores '")
            << memc::getArgName(fn, it->second) << "' a second time";
        return signalPassFailure();
      }
      // Written into the argument's own buffer at the end of the step,
      // after every read of the old value: bufferization then returns the
      // argument itself, which memc-drop-overwritten-results requires.
      OpBuilder b(ret);
      Value arg = fn.getArgument(it->second);
      auto write = bufferization::MaterializeInDestinationOp::create(
          b, store.getLoc(), arg.getType(), store.getValue(), arg);
      results.push_back(write.getResult());
      overwritten.push_back(it->second);
      store.erase();
    }
    unsigned first = fn.getNumResults();
    SmallVector<DictionaryAttr> attrs;
    fn.getAllResultAttrs(attrs);
    attrs.resize(results.size(), DictionaryAttr::get(&getContext()));
    ret->setOperands(results);
    fn.setType(FunctionType::get(&getContext(), fn.getArgumentTypes(),
                                 ValueRange(results).getTypes()));
    fn.setAllResultAttrs(attrs);
    for (auto [i, arg] : llvm::enumerate(overwritten))
      memc::setOverwrittenArg(fn, first + i, arg);
  }
};
} // namespace
