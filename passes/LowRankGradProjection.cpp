//===- LowRankGradProjection.cpp - project gradients as soon as final -----===//
//
// memc-apply-optimizer puts each update where both its gradient is final
// and nothing reads its weight any more. For a GaLore weight the update
// needs the full-rank gradient only to project it (R = g P^T or P^T g,
// after refreshing P from g's SVD at the refresh steps); the rest of the
// update works on R and P. So the projection moves to right after the
// gradient's definition, and the update takes R and the refreshed P
// (optim.adamw's `projector` operand): no full-rank gradient of a projected
// weight outlives the op that completes it, whatever still reads the weight
// later (a tied or recomputed use), and only R ([A, r] or [r, B]) lives
// until the update (GaLore's per-layer weight update). APOLLO's update
// scales the raw gradient, which must live to the update anyway: only
// svd-projected layouts are rewritten.
//
//===----------------------------------------------------------------------===//
#include "dialects/optim/OptimDialect.h"
#include "memc/Transforms/Passes.h"

#include "GaLoreProjection.h"

namespace memc {
#define GEN_PASS_DEF_LOWRANKGRADPROJECTION
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

struct LowRankGradProjectionPass
    : memc::impl::LowRankGradProjectionBase<LowRankGradProjectionPass> {
  void runOnOperation() override {
    SmallVector<memc::optim::AdamWOp> updates;
    getOperation().walk([&](memc::optim::AdamWOp op) {
      memc::optim::StateLayoutAttr layout = op.getLayoutAttr();
      if (layout && layout.getKind() == memc::optim::StateKind::lowrank &&
          layout.getProjection() == memc::optim::Projection::svd &&
          !op.getProjector())
        updates.push_back(op);
    });
    for (memc::optim::AdamWOp op : updates) {
      Block *block = op->getBlock();
      Value g = op.getGradient();
      // Right after the gradient's definition (in the update's block), or
      // at the block's start for a gradient from outside it.
      OpBuilder b(op->getContext());
      Operation *def = g.getDefiningOp();
      if (Operation *top = def ? block->findAncestorOpInBlock(*def) : nullptr)
        b.setInsertionPointAfter(top);
      else
        b.setInsertionPointToStart(block);
      // The step count and the projector state are arguments: they
      // dominate any point of the entry block.
      Value step = op.getStep(), p0 = op.getStates()[2];
      if (!isa<BlockArgument>(step) || !isa<BlockArgument>(p0) ||
          cast<BlockArgument>(step).getOwner() != block ||
          cast<BlockArgument>(p0).getOwner() != block) {
        op.emitOpError("memc-low-rank-grad-projection: expects the step "
                       "count and the projector as the block's arguments");
        return signalPassFailure();
      }
      memc::GaLoreProjection projection = memc::buildGaLoreProjection(
          b, op.getLoc(), g, step, p0, op.getLayoutAttr(), op.getWeight());

      b.setInsertionPoint(op);
      SmallVector<Value> moments = {op.getStates()[0], op.getStates()[1]};
      auto projected = memc::optim::AdamWOp::create(
          b, op.getLoc(), op.getNewWeight().getType(),
          TypeRange{moments[0].getType(), moments[1].getType()},
          op.getWeight(), projection.projected, moments,
          projection.projector, step, op.getLrAttr(), op.getBeta1Attr(),
          op.getBeta2Attr(), op.getEpsAttr(), op.getWeightDecayAttr(),
          op.getLayoutAttr(), op.getSeedAttr(), op.getGaloreFormAttr());
      op.getNewWeight().replaceAllUsesWith(projected.getNewWeight());
      op.getNewStates()[0].replaceAllUsesWith(projected.getNewStates()[0]);
      op.getNewStates()[1].replaceAllUsesWith(projected.getNewStates()[1]);
      op.getNewStates()[2].replaceAllUsesWith(projection.projector);
      op->erase();
    }
  }
};

} // namespace
