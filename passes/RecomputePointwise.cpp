//===- RecomputePointwise.cpp - cheap activations recomputed, not kept ----===//
//
// The values a train step's backward reads from its forward (the saved
// activations) live from the forward to their last backward read, and are
// most of the step's peak memory. Values made by pointwise einsum ops (no
// reduced rank: bias adds, casts, activations, the pieces of a decomposed
// GELU or normalization) cost one map action per element to make again.
// Like AOTAutograd's default partitioner, the backward recomputes such a
// value from values that are kept anyway instead of keeping it: a
// decomposed GELU keeps its input, not its four intermediates.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"
#include "dialects/memc/ProgramInterface.h"
#include "memc/Analysis/OpWork.h"
#include "memc/Transforms/TrainStep.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"

namespace memc {
#define GEN_PASS_DEF_RECOMPUTEPOINTWISE
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;
using namespace memc::einsum;

namespace {

using memc::isPointwiseEinsum;

/// Reshapes are views once bufferized: recomputing one costs nothing.
bool isReshape(Operation *op) {
  return isa_and_nonnull<tensor::ExpandShapeOp, tensor::CollapseShapeOp,
                         tensor::CastOp>(op);
}

uint64_t bytesOf(Value v) { return memc::tensorBytes(v.getType()); }

struct RecomputePointwisePass
    : public memc::impl::RecomputePointwiseBase<RecomputePointwisePass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp fn = memc::getEntryBody(getOperation());
    if (!fn || fn.getNumResults() == 0)
      return;
    Block &body = fn.getBody().front();
    llvm::DenseSet<Operation *> forward = memc::trainStepForward(body);
    if (forward.empty())
      return;
    llvm::DenseMap<Operation *, unsigned> position;
    for (auto [i, op] : llvm::enumerate(body))
      position[&op] = i;
    auto backwardUses = [&](Value v) {
      return memc::backwardUses(v, body, forward);
    };

    llvm::DenseSet<Value> kept;
    for (Operation &op : body)
      if (forward.contains(&op))
        for (Value r : op.getResults())
          if (!backwardUses(r).empty())
            kept.insert(r);

    OpBuilder b(&getContext());
    for (Operation &op : body) {
      if (!forward.contains(&op) || !isPointwiseEinsum(&op) ||
          !kept.contains(op.getResult(0)))
        continue;
      Value v = op.getResult(0);
      // The pointwise cone of v down to values the backward can read: kept
      // values, arguments, constants, and small values that become kept.
      llvm::SetVector<Operation *> cone; // in def-before-use order
      SmallVector<Value> newlyKept;
      bool ok = true;
      std::function<void(Value)> visit = [&](Value x) {
        if (!ok || isa<BlockArgument>(x) || matchPattern(x, m_Constant()))
          return;
        if (x != v && kept.contains(x))
          return;
        Operation *def = x.getDefiningOp();
        if (def->getBlock() == &body && forward.contains(def) &&
            (isPointwiseEinsum(def) || isReshape(def))) {
          if (cone.contains(def))
            return;
          if (cone.size() >= maxConeOps) {
            ok = false;
            return;
          }
          for (Value in : def->getOperands())
            visit(in);
          cone.insert(def);
          return;
        }
        // Keeping a value much smaller than v instead of v still wins.
        if (bytesOf(x) * 8 <= bytesOf(v)) {
          newlyKept.push_back(x);
          return;
        }
        ok = false;
      };
      visit(v);
      if (!ok)
        continue;

      SmallVector<OpOperand *> uses = backwardUses(v);
      Operation *first = nullptr;
      for (OpOperand *use : uses) {
        Operation *top = body.findAncestorOpInBlock(*use->getOwner());
        if (!first || position[top] < position[first])
          first = top;
      }
      b.setInsertionPoint(first);
      IRMapping mapping;
      for (Operation *c : cone) {
        Operation *clone = b.clone(*c, mapping);
        memc::setRecomputed(clone);
        ++numRecomputed;
      }
      Value recomputed = mapping.lookup(v);
      for (OpOperand *use : uses)
        use->set(recomputed);
      memc::setRematChoice(&op, "recompute");
      kept.erase(v);
      kept.insert(newlyKept.begin(), newlyKept.end());
    }
  }
};

} // namespace
