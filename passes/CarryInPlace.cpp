//===- CarryInPlace.cpp - loop-carried tensors updated in place -----------===//
//
// einsum.iterate lowers to scf.for whose body computes each carried value
// into a fresh tensor (an einsum op's result). One-shot bufferization wants
// the value yielded for an iter_arg to live in the iter_arg's buffer;
// otherwise every iteration returns a new allocation out of the loop, which
// needs ownership-based deallocation and defeats static memory planning.
//
// So the producer of each yielded value writes into the carried tensor: an
// elementwise linalg.generic takes the iter_arg as its init when nothing
// reads the iter_arg after it (RD' = RD * PRM + SLD updates RD in place);
// otherwise a linalg.copy into the iter_arg goes just before the yield
// (RM' is read together with RM after it is computed). scf.if branches are
// handled the same way, so a skipped tile yields its inputs unchanged.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

namespace memc {
#define GEN_PASS_DEF_CARRYINPLACE
#include "passes/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

/// The ancestor of `op` in `block`, or null.
Operation *ancestorIn(Block *block, Operation *op) {
  return block->findAncestorOpInBlock(*op);
}

/// True when no use of `arg` runs after `g` (uses in `g` itself, before it
/// in its block, or in branches of an enclosing scf.if that exclude `g`'s).
bool noUseAfter(Value arg, Operation *g) {
  Block *block = g->getBlock();
  for (Operation *user : arg.getUsers()) {
    if (Operation *a = ancestorIn(block, user)) {
      if (a != g && !a->isBeforeInBlock(g))
        return false;
      continue;
    }
    // Not nested in g's block: fine only in another branch of an scf.if
    // that also holds g.
    auto ifOp = dyn_cast<scf::IfOp>(block->getParentOp());
    if (!ifOp || !ifOp->isAncestor(user) ||
        user->getParentRegion() == block->getParent())
      return false;
  }
  return true;
}

/// Makes `y` (yielded by `yield` for iter_arg `arg`) live in `arg`'s tensor;
/// returns the value to yield instead.
Value carryInto(Value y, Value arg, Operation *yield, OpBuilder &b) {
  if (y == arg)
    return y;
  if (auto ifOp = y.getDefiningOp<scf::IfOp>();
      ifOp && ifOp->getBlock() == yield->getBlock()) {
    unsigned k = cast<OpResult>(y).getResultNumber();
    for (Region &r : ifOp->getRegions()) {
      if (r.empty())
        continue;
      Operation *branchYield = r.front().getTerminator();
      Value inner = carryInto(branchYield->getOperand(k), arg, branchYield, b);
      branchYield->setOperand(k, inner);
    }
    return y;
  }
  if (auto g = y.getDefiningOp<linalg::GenericOp>();
      g && g->getNumResults() == 1 && g.getNumDpsInits() == 1 &&
      g.getNumParallelLoops() == g.getNumLoops() &&
      y.getType() == arg.getType() &&
      g.getDpsInits()[0].getDefiningOp<tensor::EmptyOp>() &&
      !g.payloadUsesValueFromOperand(g.getDpsInitOperand(0)) &&
      g.getIndexingMapsArray().back().isIdentity() && noUseAfter(arg, g)) {
    g.setDpsInitOperand(0, arg);
    return y;
  }
  b.setInsertionPoint(yield);
  return linalg::CopyOp::create(b, yield->getLoc(), y, arg).getResult(0);
}

struct CarryInPlacePass : memc::impl::CarryInPlaceBase<CarryInPlacePass> {
  void runOnOperation() override {
    OpBuilder b(&getContext());
    getOperation().walk([&](scf::ForOp loop) {
      auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
      for (auto [i, arg] : llvm::enumerate(loop.getRegionIterArgs())) {
        if (!isa<RankedTensorType>(arg.getType()))
          continue;
        Value y = yield.getOperand(i);
        yield.setOperand(i, carryInto(y, arg, yield, b));
      }
    });
  }
};

} // namespace
