//===- CopyLoopOrder.cpp - permuting copies loop in their result's order --===//
//
// An einsum's ranks are its loop order when it becomes a linalg.generic.
// The importer names a Transpose's ranks after its input, so the copy
// loops over the input in order and writes the result scattered: K^T in
// attention ([t, h, d] -> [h, d, t]) stored each element a row of 197
// floats away from the last, 0.2 ms a layer of ViT-B/16 at one thread,
// and the stores queued on one another at two. With the ranks in the
// result's order the stores are contiguous (a vector loop) and the loads
// strided, which the caches take far better. A single-input op without
// reductions computes each element on its own, so results do not change.
//
//===----------------------------------------------------------------------===//
#include "EinsumRankOrder.h"
#include "memc/Transforms/Passes.h"

#include "dialects/einsum/EinsumDialect.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace memc {
#define GEN_PASS_DEF_COPYLOOPORDER
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;
using namespace memc::einsum;

namespace {

/// The ranks in the order the result lists them, when `op` is a
/// one-input einsum without reductions whose result map is a permutation
/// of its ranks other than their own order.
std::optional<SmallVector<unsigned>> resultOrder(EinsumOp op) {
  if (op.getInputs().size() != 1)
    return std::nullopt;
  AffineMap out = op.getResultMap();
  if (out.getNumResults() != op.getNumRanks() || !out.isPermutation() ||
      out.isIdentity())
    return std::nullopt;
  SmallVector<unsigned> order;
  for (AffineExpr e : out.getResults())
    order.push_back(cast<AffineDimExpr>(e).getPosition());
  return order;
}

struct LoopInResultOrder : OpRewritePattern<EinsumOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(EinsumOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<SmallVector<unsigned>> order = resultOrder(op);
    if (!order)
      return failure();
    memc::replaceWithRankOrder(rewriter, op, *order);
    return success();
  }
};

struct CopyLoopOrderPass
    : public memc::impl::CopyLoopOrderBase<CopyLoopOrderPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LoopInResultOrder>(&getContext());
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace
