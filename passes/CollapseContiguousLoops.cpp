//===- CollapseContiguousLoops.cpp - one loop over contiguous dimensions --===//
//
// A loop nest over [N, C, H, W] buffers runs its innermost loop over W alone:
// 32 iterations on the CNN's feature maps, which LLVM fully unrolls and then
// vectorizes across H with gathers (a per-channel sum read every element
// through a 16-lane gather). When consecutive loops of a linalg op on
// buffers index every operand in the same consecutive dimensions, and those
// dimensions are contiguous in each buffer's layout, they are one loop over
// the flattened range: the op on collapsed views (memref.collapse_shape) of
// its operands. H x W = 1024 contiguous floats is then one inner loop that
// the vectorizer runs at full width with plain loads.
//
// Runs on the outlined kernels after memc-parallel-kernels (the row split
// is already in the kernel's signature), before linalg becomes loops.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

namespace memc {
#define GEN_PASS_DEF_COLLAPSECONTIGUOUSLOOPS
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

/// Whether loops `d` and `d + 1` of `op` (whose maps are projected
/// permutations: each result one distinct loop) can be one loop: the same
/// iterator type, and in every operand either neither or both, as
/// consecutive results over dimensions that are contiguous in its layout.
bool mergeable(linalg::GenericOp op, unsigned d) {
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (iterators[d] != iterators[d + 1])
    return false;
  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    std::optional<unsigned> at =
        map.getResultPosition(getAffineDimExpr(d, op.getContext()));
    std::optional<unsigned> next =
        map.getResultPosition(getAffineDimExpr(d + 1, op.getContext()));
    if (!at && !next)
      continue;
    if (!at || !next || *next != *at + 1)
      return false;
    auto type = dyn_cast<MemRefType>(operand.get().getType());
    if (!type)
      return false;
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(type.getStridesAndOffset(strides, offset)))
      return false;
    int64_t inner = type.getDimSize(*next);
    if (ShapedType::isDynamic(strides[*at]) ||
        ShapedType::isDynamic(strides[*next]) || ShapedType::isDynamic(inner) ||
        strides[*at] != strides[*next] * inner)
      return false;
  }
  return true;
}

struct CollapseContiguousLoopsPass
    : memc::impl::CollapseContiguousLoopsBase<CollapseContiguousLoopsPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> ops;
    getOperation()->walk([&](linalg::GenericOp op) {
      // Plain (projected permutation) maps only: a broadcast written as a
      // constant index, (d1, 0, 0), has no dimension to collapse into.
      if (op.hasPureBufferSemantics() && op.getNumLoops() > 1 &&
          !op.hasIndexSemantics() &&
          llvm::all_of(op.getIndexingMapsArray(), [](AffineMap m) {
            return m.isProjectedPermutation();
          }))
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : ops) {
      // Runs of mergeable neighbours, [1, 2, 3] for N, C, H, W where C, H
      // and W are contiguous; loops alone stay as they are.
      SmallVector<ReassociationIndices> folded;
      ReassociationIndices run{0};
      for (int64_t d = 0, e = op.getNumLoops(); d < e; ++d) {
        if (d + 1 < e && mergeable(op, unsigned(d))) {
          run.push_back(d + 1);
          continue;
        }
        if (run.size() > 1)
          folded.push_back(run);
        run = {d + 1};
      }
      if (folded.empty())
        continue;
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::CollapseResult> collapsed =
          linalg::collapseOpIterationDims(op, folded, rewriter);
      if (failed(collapsed))
        continue;
      rewriter.eraseOp(op);
    }
  }
};

} // namespace
