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
// (RM' is read together with RM after it is computed). A value already
// written into the iter_arg through destination-passing ops (tensor.insert,
// an inner loop carrying it: autodiff's scatter-add) is left alone. scf.if branches are
// handled the same way, so a skipped tile yields its inputs unchanged.
//
// An scf.if that no loop carries (FuseMax's causal tile test once a
// single-tile K/V loop has been folded away, say) gets the same treatment
// with a fresh destination: a tensor.empty before the if that every branch
// writes its result into. Otherwise a branch would yield a tensor it
// computed, bufferization would allocate it inside the branch and return the
// allocation out of the region, and ownership-based deallocation would need
// its runtime dealloc_helper for a buffer that the arena can hold.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"

namespace memc {
#define GEN_PASS_DEF_CARRYINPLACE
#include "memc/Transforms/Passes.h.inc"
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

/// The tensor whose buffer `v` is written into when it bufferizes in place:
/// `v` itself or, through destination-passing producers inside `scope`, the
/// destination they write.
Value destinationOf(Value v, Operation *scope) {
  while (auto result = dyn_cast<OpResult>(v)) {
    Operation *owner = result.getOwner();
    if (!scope->isAncestor(owner))
      break;
    // A loop already made to carry in place (inner loops come first) writes
    // its init's buffer.
    if (auto loop = dyn_cast<scf::ForOp>(owner)) {
      v = loop.getInitArgs()[result.getResultNumber()];
      continue;
    }
    auto dps = dyn_cast<DestinationStyleOpInterface>(owner);
    if (!dps || !dps.getTiedOpOperand(result))
      break;
    v = dps.getTiedOpOperand(result)->get();
  }
  return v;
}

/// Makes `y` (yielded by `yield` for iter_arg `arg`) live in `arg`'s tensor;
/// returns the value to yield instead.
Value carryInto(Value y, Value arg, Operation *yield, OpBuilder &b) {
  // Already written into `arg` (a tensor.insert into it, an inner loop
  // carrying it): a copy would only duplicate the buffer each iteration.
  if (destinationOf(y, yield->getParentOp()) == arg)
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
  // An elementwise op (a generic, or a named one such as the linalg.copy of
  // an inner if's branch) that writes a fresh tensor writes `arg` instead.
  if (auto g = y.getDefiningOp<linalg::LinalgOp>();
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

/// Whether result `k` of `ifOp` would bufferize to a buffer allocated in one
/// of its branches: some branch yields a tensor it creates (an op result that
/// is not written into a tensor from outside the if).
bool yieldsFreshTensor(scf::IfOp ifOp, unsigned k) {
  for (Region &r : ifOp->getRegions()) {
    if (r.empty())
      continue;
    Value dest = destinationOf(r.front().getTerminator()->getOperand(k), ifOp);
    if (ifOp->isAncestor(dest.getParentRegion()->getParentOp()))
      return true;
  }
  return false;
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
    // scf.if results that no loop carries: into a destination of their own.
    // Inner ifs first (post-order), so an outer if re-targets what an inner
    // one already writes.
    getOperation().walk([&](scf::IfOp ifOp) {
      if (!ifOp.elseBlock())
        return;
      for (OpResult result : ifOp->getResults()) {
        auto type = dyn_cast<RankedTensorType>(result.getType());
        unsigned k = result.getResultNumber();
        if (!type || !type.hasStaticShape() || !yieldsFreshTensor(ifOp, k))
          continue;
        b.setInsertionPoint(ifOp);
        Value dest = tensor::EmptyOp::create(b, ifOp.getLoc(), type.getShape(),
                                             type.getElementType(),
                                             type.getEncoding());
        for (Region &r : ifOp->getRegions()) {
          Operation *branchYield = r.front().getTerminator();
          branchYield->setOperand(
              k, carryInto(branchYield->getOperand(k), dest, branchYield, b));
        }
      }
    });
  }
};

} // namespace
