//===- ReassociateReductions.cpp - reductions the loop vectorizer can take ===//
//
// A linalg reduction lowers to a loop nest whose innermost loop adds into one
// accumulator: a chain of dependent floating-point adds, one element per
// add's latency. LLVM's loop vectorizer splits such a chain into vector lanes
// (and interleaved partial sums) only when the add may be reassociated. Per-
// channel sums over a batch (batch norm's forward statistics and backward
// sums, a bias gradient) ran that way at one element every few cycles.
//
// So the op that folds each element into a reduction's accumulator (an
// arith.addf or arith.mulf of the output's block argument) gets the
// `reassoc` fast-math flag, and nothing else does: the summation order is
// then the vectorizer's, fixed when the kernel is compiled, the same at any
// thread count (threads split only parallel dimensions), and the elementwise
// math around it is untouched.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace memc {
#define GEN_PASS_DEF_REASSOCIATEREDUCTIONS
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

/// The add or multiply that folds a new value into `acc` and is yielded.
Operation *accumulation(Value yielded, BlockArgument acc) {
  Operation *op = yielded.getDefiningOp();
  if (!isa_and_nonnull<arith::AddFOp, arith::MulFOp>(op))
    return nullptr;
  if (op->getOperand(0) != acc && op->getOperand(1) != acc)
    return nullptr;
  return op;
}

struct ReassociateReductionsPass
    : memc::impl::ReassociateReductionsBase<ReassociateReductionsPass> {
  void runOnOperation() override {
    getOperation()->walk([](linalg::GenericOp g) {
      if (g.getNumReductionLoops() == 0)
        return;
      Block *body = g.getBody();
      auto yield = cast<linalg::YieldOp>(body->getTerminator());
      for (OpOperand &init : g.getDpsInitsMutable()) {
        BlockArgument acc = g.getMatchingBlockArgument(&init);
        Value yielded =
            yield.getOperand(init.getOperandNumber() - g.getNumDpsInputs());
        Operation *op = accumulation(yielded, acc);
        if (!op)
          continue;
        auto fmf = cast<arith::ArithFastMathInterface>(op);
        fmf->setAttr(fmf.getFastMathAttrName(),
                     arith::FastMathFlagsAttr::get(
                         op->getContext(), fmf.getFastMathFlagsAttr().getValue() |
                                               arith::FastMathFlags::reassoc));
      }
    });
  }
};

} // namespace
