//===- EinsumRankOrder.h - an einsum with its ranks reordered ---*- C++ -*-===//
//
// An einsum's ranks are its loop order once it is a linalg.generic; the
// loop-order passes (memc-depthwise-loop-order, memc-copy-loop-order)
// rewrite an op into the same op with its ranks permuted.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_PASSES_EINSUMRANKORDER_H
#define MEMC_PASSES_EINSUMRANKORDER_H

#include "dialects/einsum/EinsumDialect.h"

#include "mlir/IR/PatternMatch.h"

namespace memc {

/// Replaces `op` by the same einsum with its rank order[i] as rank i (every
/// map follows, the rank names move with their ranks, discardable
/// attributes are kept) and returns it. `order` is a permutation of the
/// op's ranks.
inline einsum::EinsumOp replaceWithRankOrder(mlir::RewriterBase &rewriter,
                                             einsum::EinsumOp op,
                                             llvm::ArrayRef<unsigned> order) {
  unsigned n = op.getNumRanks();
  mlir::MLIRContext *ctx = op.getContext();
  llvm::SmallVector<mlir::AffineExpr> newDimOf(n);
  llvm::SmallVector<llvm::StringRef> names(n);
  mlir::ArrayAttr oldNames = op.getRanks();
  for (unsigned i = 0; i < n; ++i) {
    newDimOf[order[i]] = mlir::getAffineDimExpr(i, ctx);
    names[i] = llvm::cast<mlir::StringAttr>(oldNames[order[i]]).getValue();
  }
  llvm::SmallVector<mlir::AffineMap> maps;
  for (mlir::Attribute m : op.getIndexingMaps())
    maps.push_back(
        llvm::cast<mlir::AffineMapAttr>(m).getValue().replaceDimsAndSymbols(
            newDimOf, {}, n, 0));
  auto reordered = einsum::EinsumOp::create(
      rewriter, op.getLoc(), op.getResult().getType(), op.getInputs(), maps,
      names, op.getCompute(), op.getReduce());
  reordered->setDiscardableAttrs(op->getDiscardableAttrDictionary());
  rewriter.replaceOp(op, reordered);
  return reordered;
}

} // namespace memc

#endif // MEMC_PASSES_EINSUMRANKORDER_H
