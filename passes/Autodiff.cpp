//===- Autodiff.cpp - gradients of the loss for the trainable weights -----===//
#include "dialects/memc/ProgramInterface.h"
#include "memc/Transforms/Autodiff.h"
#include "memc/Transforms/Passes.h"

namespace memc {
#define GEN_PASS_DEF_AUTODIFF
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

struct AutodiffPass : public memc::impl::AutodiffBase<AutodiffPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp fn = memc::getEntryBody(module);
    if (!fn) {
      module.emitError("memc-autodiff: the module has no entry function");
      return signalPassFailure();
    }
    auto lossType = fn.getNumResults() == 1
                        ? dyn_cast<RankedTensorType>(fn.getResultTypes()[0])
                        : RankedTensorType();
    if (!lossType || lossType.getRank() != 0 ||
        !lossType.getElementType().isF32()) {
      fn.emitError("memc-autodiff differentiates an entry with one result, "
                   "an f32 scalar loss (memc-append-loss makes it)");
      return signalPassFailure();
    }
    SmallVector<BlockArgument> wrt;
    for (unsigned i = 0, e = fn.getNumArguments(); i < e; ++i)
      if (memc::isTrainableArg(fn, i))
        wrt.push_back(fn.getArgument(i));
    if (wrt.empty()) {
      fn.emitError("memc-autodiff: the entry has no memc.trainable weight");
      return signalPassFailure();
    }
    Block &body = fn.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    SmallVector<Value> gradients;
    if (failed(memc::buildGradients(body, ret.getOperand(0), wrt, gradients)))
      return signalPassFailure();

    SmallVector<Value> results = {ret.getOperand(0)};
    results.append(gradients);
    ret->setOperands(results);
    SmallVector<DictionaryAttr> attrs;
    fn.getAllResultAttrs(attrs);
    fn.setType(FunctionType::get(&getContext(), fn.getArgumentTypes(),
                                 ValueRange(results).getTypes()));
    attrs.resize(results.size(), DictionaryAttr::get(&getContext()));
    fn.setAllResultAttrs(attrs);
    for (auto [i, arg] : llvm::enumerate(wrt))
      memc::setGradientOf(fn, i + 1, memc::getArgName(fn, arg.getArgNumber()));
  }
};

} // namespace
