//===- ElementwiseInPlace.cpp - elementwise results into dead operands ----===//
//
// An elementwise linalg.generic writes a fresh tensor (a tensor.empty init),
// so after bufferization its result is a buffer of its own, live together
// with all of its operands at that step. In a train step's backward the
// largest such steps are pointwise gradients over activations: GELU's and
// batch norm's input gradients read the saved activation and the incoming
// gradient, both dead afterwards, and write a third tensor of the same size.
// Those steps set the smallest budget a step fits in (the arena's floor).
//
// When an input has the output's type, is read at the same element (both
// maps the identity), is read by nothing after the op, and lives in a buffer
// of its own (made by destination-passing ops from a tensor.empty, each
// intermediate used once), the op writes its result there instead: each
// element is read before it is overwritten, and by nothing else. One-shot
// bufferization then keeps one buffer where there were two, without copies:
// the conditions are exactly those under which its analysis finds no
// conflict.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace memc {
#define GEN_PASS_DEF_ELEMENTWISEINPLACE
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

/// Whether `v` and the views made of it (slices, reshapes) are read by
/// nothing after `x`, and written by nothing but `x`: every other use runs
/// before `x` in its block (uses nested in an op count as that op) and
/// neither writes it (a destination operand) nor forwards it out of a
/// region.
bool noOtherUseAfter(Value v, Operation *x) {
  Block *block = x->getBlock();
  for (OpOperand &use : v.getUses()) {
    Operation *user = use.getOwner();
    if (user == x)
      continue;
    Operation *a = block->findAncestorOpInBlock(*user);
    if (!a || a == x || !a->isBeforeInBlock(x))
      return false;
    if (user->hasTrait<OpTrait::IsTerminator>())
      return false;
    if (auto dps = dyn_cast<DestinationStyleOpInterface>(user);
        dps && dps.isDpsInit(&use))
      return false;
    if (isa<tensor::ExtractSliceOp, tensor::ExpandShapeOp,
            tensor::CollapseShapeOp, tensor::CastOp>(user) &&
        !noOtherUseAfter(user->getResult(0), x))
      return false;
  }
  return true;
}

/// Whether `v` bufferizes to a buffer nothing else can alias or read later:
/// a tensor.empty (or a constant, copied when written), or the result of
/// destination-passing ops (and scf.for loops carrying it) whose
/// destination chain ends in one, each link read only before the op that
/// writes it. A reshape on the way (a GEMM's [M, H*W] result seen as
/// [1, M, H, W]) is a view of its source: `writer` writing through it
/// writes the source, which must then be read by nothing after `writer`.
bool ownsFreshBuffer(Value v, Operation *writer) {
  for (int depth = 0; depth < 64; ++depth) {
    auto result = dyn_cast<OpResult>(v);
    if (!result)
      return false;
    Operation *owner = result.getOwner();
    // A constant is read-only: the first op writing it bufferizes out of
    // place, into a copy of its own (insert_slice chains into a zero
    // constant: a pooling's or a padded convolution's input gradient).
    if (isa<tensor::EmptyOp, arith::ConstantOp>(owner))
      return true;
    Value init;
    if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(owner)) {
      init = owner->getOperand(0);
      if (!noOtherUseAfter(init, writer))
        return false;
    } else if (auto loop = dyn_cast<scf::ForOp>(owner)) {
      init = loop.getInitArgs()[result.getResultNumber()];
      if (!init.hasOneUse())
        return false;
    } else if (auto dps = dyn_cast<DestinationStyleOpInterface>(owner)) {
      OpOperand *tied = dps.getTiedOpOperand(result);
      if (!tied)
        return false;
      init = tied->get();
      if (!init.getDefiningOp<arith::ConstantOp>() &&
          !noOtherUseAfter(init, owner))
        return false;
    } else {
      return false;
    }
    v = init;
  }
  return false;
}

/// The input `g` can write output `out` into, or null.
OpOperand *reusableInput(linalg::GenericOp g, OpOperand *out,
                         const llvm::SmallPtrSetImpl<Value> &taken) {
  for (OpOperand *in : g.getDpsInputOperands()) {
    Value v = in->get();
    if (v.getType() != out->get().getType() || taken.contains(v) ||
        !g.getMatchingIndexingMap(in).isIdentity())
      continue;
    // Read once by `g` (another operand reading it at other elements would
    // see overwritten values), made in `g`'s block (a value from outside a
    // loop is read again by the next iteration), dead after `g`.
    unsigned readsInG =
        llvm::count_if(g->getOperands(), [&](Value o) { return o == v; });
    if (readsInG != 1 || v.getParentBlock() != g->getBlock() ||
        !noOtherUseAfter(v, g) || !ownsFreshBuffer(v, g))
      continue;
    return in;
  }
  return nullptr;
}

struct ElementwiseInPlacePass
    : memc::impl::ElementwiseInPlaceBase<ElementwiseInPlacePass> {
  void runOnOperation() override {
    getOperation().walk([&](linalg::GenericOp g) {
      if (!g.hasPureTensorSemantics() ||
          g.getNumParallelLoops() != g.getNumLoops())
        return;
      // A result the function returns must be a buffer of its own
      // (memc-distinct-results, buffer-results-to-out-params).
      for (Value r : g->getResults())
        for (Operation *user : r.getUsers())
          if (isa<func::ReturnOp>(user))
            return;
      llvm::SmallPtrSet<Value, 4> taken;
      for (OpOperand &out : g.getDpsInitsMutable()) {
        // A tensor.empty used elsewhere is a destination chosen on purpose
        // (memc-carry-in-place's for an scf.if's branches).
        if (!out.get().getDefiningOp<tensor::EmptyOp>() ||
            !out.get().hasOneUse() || g.payloadUsesValueFromOperand(&out) ||
            !g.getMatchingIndexingMap(&out).isIdentity())
          continue;
        if (OpOperand *in = reusableInput(g, &out, taken)) {
          taken.insert(in->get());
          out.set(in->get());
        }
      }
    });
  }
};

} // namespace
