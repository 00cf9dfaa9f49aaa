//===- ActivationSwap.cpp - swapped activations to the host and back ------===//
//
// memc-activation-recompute marks the forward ops whose results the
// decision swaps (memc.remat_choice = "swap"); this pass makes the copies
// explicit on the train step's tensor IR: a memc.swap_out after the value's
// last forward reader, and a memc.swap_in before each backward reader (or
// run of readers that will be one fused loop), which then reads the copy.
// Bufferized, the swap-out is a host-pool allocation and the swap-ins are
// short-lived device buffers, which is what the decision's memory model
// counted.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"

#include "dialects/memc/MemcDialect.h"
#include "dialects/memc/ProgramInterface.h"
#include "memc/Analysis/OpWork.h"
#include "memc/Transforms/TrainStep.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/SetVector.h"

namespace memc {
#define GEN_PASS_DEF_ACTIVATIONSWAP
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

/// The readers of one value: top-level ops of the block that read it or a
/// view of it, split by train-step half.
struct Readers {
  /// Views of the value (and views of those), any position.
  llvm::SetVector<Operation *> views;
  /// The forward reader that comes last in the block (null: none).
  Operation *lastForward = nullptr;
  /// Backward readers, in block order.
  SmallVector<Operation *> backward;
};

struct ActivationSwapPass
    : public memc::impl::ActivationSwapBase<ActivationSwapPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp fn = memc::getEntryBody(getOperation());
    if (!fn)
      return;
    Block &body = fn.getBody().front();
    SmallVector<Operation *> marked;
    for (Operation &op : body)
      if (memc::getRematChoice(&op) == "swap")
        marked.push_back(&op);
    if (marked.empty())
      return;
    forward = memc::trainStepForward(body);
    for (Operation *op : marked)
      for (Value result : op->getResults())
        if (isa<RankedTensorType>(result.getType()) &&
            memc::tensorBytes(result.getType()) > 0)
          swap(body, result);
  }

private:
  Readers readersOf(Block &body, Value value) {
    Readers readers;
    llvm::SetVector<Operation *> backward;
    memc::forEachReaderThroughViews(
        value, body, [&](Operation *view) { readers.views.insert(view); },
        [&](Operation *top) {
          if (isa<func::ReturnOp>(top))
            return;
          if (!forward.contains(top))
            backward.insert(top);
          else if (!readers.lastForward ||
                   readers.lastForward->isBeforeInBlock(top))
            readers.lastForward = top;
        });
    readers.backward.assign(backward.begin(), backward.end());
    llvm::sort(readers.backward, [](Operation *a, Operation *b) {
      return a->isBeforeInBlock(b);
    });
    return readers;
  }

  void swap(Block &body, Value value) {
    Readers readers = readersOf(body, value);
    if (readers.backward.empty())
      return;
    Operation *after = value.getDefiningOp();
    if (readers.lastForward && after->isBeforeInBlock(readers.lastForward))
      after = readers.lastForward;
    // The copy out must come before every copy back. A value whose readers
    // interleave stays where it is, and says so to the report.
    if (!after->isBeforeInBlock(readers.backward.front())) {
      memc::setRematChoice(value.getDefiningOp(), "keep");
      ++numSkipped;
      return;
    }
    OpBuilder b(&getContext());
    b.setInsertionPointAfter(after);
    auto out =
        memc::SwapOutOp::create(b, value.getLoc(), value.getType(), value);
    ++numSwapped;
    IRMapping mapping;
    Operation *previous = nullptr;
    for (Operation *reader : readers.backward) {
      // Readers with only pointwise work between them become one fused loop
      // (memc-fuse-elementwise): they share a copy, which a loop reading
      // several copies of one value would not need.
      if (!previous || !onlyPointwiseBetween(previous, reader)) {
        b.setInsertionPoint(reader);
        auto in = memc::SwapInOp::create(b, value.getLoc(), value.getType(),
                                         out.getResult());
        ++numSwapIns;
        mapping.clear();
        mapping.map(value, in.getResult());
      }
      previous = reader;
      b.setInsertionPoint(reader);
      // The reader's uses of the value or its views, on the copy: views
      // rebuilt on it right before the reader (once per copy).
      SmallVector<OpOperand *> uses;
      reader->walk([&](Operation *nested) {
        for (OpOperand &use : nested->getOpOperands())
          if (use.get() == value || isViewResult(readers, use.get()))
            uses.push_back(&use);
      });
      for (OpOperand *use : uses)
        use->set(rebuild(b, use->get(), mapping));
    }
    // Views only the backward read (made there, or before it) are dead now.
    for (Operation *view : llvm::reverse(readers.views))
      if (view->use_empty())
        view->erase();
  }

  /// Whether the ops strictly between `first` and `last` (top-level, in
  /// order) are pointwise einsums, views, constants or copies back.
  static bool onlyPointwiseBetween(Operation *first, Operation *last) {
    for (Operation *op = first->getNextNode(); op && op != last;
         op = op->getNextNode())
      if (!memc::isPointwiseEinsum(op) && !memc::viewedOperand(op) &&
          !isa<memc::SwapInOp>(op) && !matchPattern(op, m_Constant()))
        return false;
    return true;
  }

  static bool isViewResult(const Readers &readers, Value v) {
    Operation *def = v.getDefiningOp();
    return def && readers.views.contains(def);
  }

  /// `v` (the value or a view of it) made on the copy.
  Value rebuild(OpBuilder &b, Value v, IRMapping &mapping) {
    if (Value mapped = mapping.lookupOrNull(v))
      return mapped;
    Operation *view = v.getDefiningOp();
    unsigned viewed = *memc::viewedOperand(view);
    rebuild(b, view->getOperand(viewed), mapping);
    return b.clone(*view, mapping)->getResult(0);
  }

  llvm::DenseSet<Operation *> forward;
};

} // namespace
