//===- FuseElementwise.cpp - fuse elementwise chains ----------------------===//
#include "memc/Transforms/Passes.h"
#include "dialects/memc/ProgramInterface.h"

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
/// Fusing moves the producer's reads to the consumer. A train step's
/// optimizer update writes its weight in place (the weight is its
/// destination): a read of that weight must not move past the update.
bool readsOverwrittenValue(linalg::GenericOp producer,
                           linalg::GenericOp consumer) {
  if (producer->getBlock() != consumer->getBlock())
    return false;
  for (Operation *op = producer->getNextNode(); op && op != consumer.getOperation();
       op = op->getNextNode()) {
    auto dps = dyn_cast<DestinationStyleOpInterface>(op);
    if (!dps)
      continue;
    for (Value init : dps.getDpsInits())
      if (llvm::is_contained(producer.getDpsInputs(), init))
        return true;
  }
  return false;
}

/// A generic that reads its destination (an update in place: an optimizer's
/// moments) is not fused into a consumer of its other results: the fused op
/// would read the destination's old value after the update wrote it.
bool updatesInPlace(linalg::GenericOp op) {
  for (OpOperand &init : op.getDpsInitsMutable())
    if (op.payloadUsesValueFromOperand(&init) &&
        !init.get().getDefiningOp<tensor::EmptyOp>())
      return true;
  return false;
}

bool shouldFuse(OpOperand *fused, unsigned maxBodyOps) {
  auto producer = fused->get().getDefiningOp<linalg::GenericOp>();
  auto consumer = dyn_cast<linalg::GenericOp>(fused->getOwner());
  if (!producer || !consumer)
    return false;
  if (producer.getNumParallelLoops() != producer.getNumLoops())
    return false;
  if (!fused->get().hasOneUse() || memc::isUnfused(producer))
    return false;
  if (maxBodyOps && bodyOps(producer) + bodyOps(consumer) > maxBodyOps)
    return false;
  if (readsOverwrittenValue(producer, consumer) || updatesInPlace(producer))
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
