//===- DistinctResults.cpp - one value per returned tensor ----------------===//
//
// buffer-results-to-out-params turns each result of a function into an
// output parameter and expects each returned buffer to be one allocation it
// can replace by that parameter. Two results that are one value (graph
// outputs that alias once an Identity's copy folds away) would make it
// replace one allocation twice, which crashes it; a returned argument has no
// allocation at all. A copy gives each such result its own tensor.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"

#include "llvm/ADT/DenseSet.h"

namespace memc {
#define GEN_PASS_DEF_DISTINCTRESULTS
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

struct DistinctResultsPass
    : public memc::impl::DistinctResultsBase<DistinctResultsPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    func.walk([&](func::ReturnOp ret) {
      llvm::SmallDenseSet<Value> seen;
      OpBuilder b(ret);
      for (OpOperand &operand : ret->getOpOperands()) {
        Value v = operand.get();
        auto type = dyn_cast<RankedTensorType>(v.getType());
        bool fresh = seen.insert(v).second && !isa<BlockArgument>(v);
        if (!type || fresh)
          continue;
        Value init = tensor::EmptyOp::create(b, ret.getLoc(), type.getShape(),
                                             type.getElementType());
        operand.set(
            linalg::CopyOp::create(b, ret.getLoc(), v, init).getResult(0));
      }
    });
  }
};

} // namespace
