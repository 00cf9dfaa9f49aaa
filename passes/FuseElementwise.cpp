//===- FuseElementwise.cpp - fuse elementwise chains ----------------------===//
#include "memc/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace memc {
#define GEN_PASS_DEF_FUSEELEMENTWISE
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {
/// Payload ops of a generic's body, not counting its terminator.
size_t bodyOps(linalg::GenericOp op) {
  return op.getBody()->getOperations().size() - 1;
}

/// A producer is fused into its consumer when it is elementwise, has no
/// other user (fusing it then duplicates no work), the consumer is not a
/// contraction (a GEMM must stay recognizable for the BLAS rewrite), and the
/// fused body stays within `maxBodyOps`.
bool shouldFuse(OpOperand *fused, unsigned maxBodyOps) {
  auto producer = fused->get().getDefiningOp<linalg::GenericOp>();
  auto consumer = dyn_cast<linalg::GenericOp>(fused->getOwner());
  if (!producer || !consumer)
    return false;
  if (producer.getNumParallelLoops() != producer.getNumLoops())
    return false;
  if (!fused->get().hasOneUse())
    return false;
  if (maxBodyOps && bodyOps(producer) + bodyOps(consumer) > maxBodyOps)
    return false;
  return !linalg::isaContractionOpInterface(consumer);
}

struct FuseElementwisePass
    : memc::impl::FuseElementwiseBase<FuseElementwisePass> {
  using FuseElementwiseBase::FuseElementwiseBase;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    unsigned limit = maxBodyOps;
    linalg::populateElementwiseOpsFusionPatterns(
        patterns,
        [limit](OpOperand *fused) { return shouldFuse(fused, limit); });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
