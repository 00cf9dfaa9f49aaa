//===- FuseElementwise.cpp - fuse elementwise chains ----------------------===//
#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace memc {
#define GEN_PASS_DEF_FUSEELEMENTWISE
#include "passes/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {
/// A producer is fused into its consumer when it is elementwise, has no
/// other user (fusing it then duplicates no work), and the consumer is not
/// a contraction (a GEMM must stay recognizable for the BLAS rewrite).
static bool shouldFuse(OpOperand *fused) {
  auto producer = fused->get().getDefiningOp<linalg::GenericOp>();
  auto consumer = dyn_cast<linalg::GenericOp>(fused->getOwner());
  if (!producer || !consumer)
    return false;
  if (producer.getNumParallelLoops() != producer.getNumLoops())
    return false;
  if (!fused->get().hasOneUse())
    return false;
  return !linalg::isaContractionOpInterface(consumer);
}

struct FuseElementwisePass
    : memc::impl::FuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(patterns, shouldFuse);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
