//===- DropOverwrittenResults.cpp - in-place updates leave the results ----===//
//
// Upstream's drop-equivalent-buffer-results skips public functions, and the
// entry is public (the runtime calls it); the train step's contract is
// stricter anyway: an updated weight or state is its argument's buffer.
//
//===----------------------------------------------------------------------===//
#include "dialects/memc/ProgramInterface.h"
#include "memc/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace memc {
#define GEN_PASS_DEF_DROPOVERWRITTENRESULTS
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

/// The buffer `v` is, seen through loops that update a carried buffer in
/// place (each iteration yields what it was given, as bufferization leaves
/// a loop that writes into its iter_arg).
Value throughInPlaceLoops(Value v) {
  while (auto loop = v.getDefiningOp<scf::ForOp>()) {
    unsigned i = cast<OpResult>(v).getResultNumber();
    Value yielded = loop.getBody()->getTerminator()->getOperand(i);
    if (throughInPlaceLoops(yielded) != loop.getRegionIterArg(i))
      break;
    v = loop.getInitArgs()[i];
  }
  return v;
}

struct DropOverwrittenResultsPass
    : public memc::impl::DropOverwrittenResultsBase<
          DropOverwrittenResultsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp fn = memc::getEntryBody(module);
    if (!fn)
      return;
    llvm::BitVector drop(fn.getNumResults());
    for (unsigned i = 0, e = fn.getNumResults(); i < e; ++i)
      if (memc::overwritesArg(fn, i))
        drop.set(i);
    if (drop.none())
      return;
    auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
    for (int i : drop.set_bits()) {
      std::optional<unsigned> index = memc::getOverwrittenArg(fn, i);
      if (!index) {
        fn.emitError("result #") << i << " overwrites an argument it has not";
        return signalPassFailure();
      }
      unsigned arg = *index;
      Value returned = throughInPlaceLoops(ret.getOperand(i));
      if (returned != fn.getArgument(arg)) {
        fn.emitError("the update of argument #")
            << arg << " ('" << memc::getArgName(fn, arg)
            << "') was not written in place: something reads its old value "
               "after the update";
        return signalPassFailure();
      }
    }
    ret->eraseOperands(drop);
    if (failed(fn.eraseResults(drop)))
      return signalPassFailure();
  }
};

} // namespace
