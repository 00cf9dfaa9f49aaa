//===- DepthwiseLoopOrder.cpp - depthwise convolutions, output row inner --===//
//
// An einsum's ranks are its loop order when it becomes a linalg.generic.
// For a depthwise convolution that order ends in the window's taps, so the
// innermost loops sum 3 products into one element. Moving the result's last
// rank behind the taps makes the innermost loop a row of outputs that each
// tap updates with one multiply-add: a vectorizable loop. The sum of each
// element keeps its order (taps in the same sequence), so results do not
// change.
//
//===----------------------------------------------------------------------===//
#include "EinsumRankOrder.h"
#include "memc/Transforms/Passes.h"

#include "dialects/einsum/EinsumDialect.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace memc {
#define GEN_PASS_DEF_DEPTHWISELOOPORDER
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;
using namespace memc::einsum;

namespace {

/// Most taps a window of the moved reductions has (7x7 is 49).
constexpr int64_t kMaxTaps = 64;
/// Fewest outputs in a row worth a vector loop.
constexpr int64_t kMinRow = 8;

bool isPlain(AffineMap map) {
  return llvm::all_of(map.getResults(),
                      [](AffineExpr e) { return isa<AffineDimExpr>(e); });
}

/// The rank to move last, when `op` is a depthwise convolution whose loop
/// order does not end with it already.
std::optional<unsigned> rowRankToMove(EinsumOp op) {
  if (op.getCompute() != ComputeOp::mul || op.getReduce() != ReduceOp::add ||
      op.getInputs().size() != 2)
    return std::nullopt;
  AffineMap out = op.getResultMap();
  std::optional<unsigned> windowed, plain;
  for (unsigned i = 0; i < 2; ++i)
    (isPlain(op.getInputMap(i)) ? plain : windowed) = i;
  if (!windowed || !plain || !isPlain(out) || out.getNumResults() == 0)
    return std::nullopt;
  // Depthwise: every rank of the plain operand (but those of extent 1, a
  // channel multiplier of 1) is one the windowed operand reads too.
  AffineMap w = op.getInputMap(*windowed), p = op.getInputMap(*plain);
  SmallVector<int64_t> extents = op.getRankExtents();
  for (AffineExpr e : p.getResults()) {
    unsigned d = cast<AffineDimExpr>(e).getPosition();
    if (extents[d] != 1 && !w.isFunctionOfDim(d))
      return std::nullopt;
  }
  unsigned row = cast<AffineDimExpr>(out.getResults().back()).getPosition();
  // The ranks after the row must be reductions over a window's few taps
  // (a weight gradient's long reductions over the image stay innermost),
  // and the row long enough to vectorize.
  unsigned n = op.getNumRanks();
  if (row + 1 == n || extents[row] < kMinRow)
    return std::nullopt;
  int64_t taps = 1;
  for (unsigned d = row + 1; d < n; ++d) {
    if (out.isFunctionOfDim(d))
      return std::nullopt;
    taps *= extents[d];
  }
  if (taps > kMaxTaps)
    return std::nullopt;
  return row;
}

struct MoveRowRankLast : OpRewritePattern<EinsumOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(EinsumOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<unsigned> row = rowRankToMove(op);
    if (!row)
      return failure();
    // The row goes last, the rest keep their order.
    SmallVector<unsigned> order;
    for (unsigned d = 0, n = op.getNumRanks(); d < n; ++d)
      if (d != *row)
        order.push_back(d);
    order.push_back(*row);
    memc::replaceWithRankOrder(rewriter, op, order);
    return success();
  }
};

struct DepthwiseLoopOrderPass
    : public memc::impl::DepthwiseLoopOrderBase<DepthwiseLoopOrderPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<MoveRowRankLast>(&getContext());
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace
