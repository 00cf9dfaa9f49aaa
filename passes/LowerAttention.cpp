//===- LowerAttention.cpp - fused attention ops -> tiled loops (CPU) ------===//
#include "memc/Transforms/AttentionLoops.h"
#include "memc/Transforms/Passes.h"

namespace memc {
#define GEN_PASS_DEF_LOWERATTENTION
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

struct LowerAttentionPass
    : public memc::impl::LowerAttentionBase<LowerAttentionPass> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<memc::einsum::AttentionOp, memc::einsum::AttentionGradOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      LogicalResult lowered =
          isa<memc::einsum::AttentionOp>(op)
              ? memc::lowerAttentionToLoops(cast<memc::einsum::AttentionOp>(op))
              : memc::lowerAttentionGradToLoops(
                    cast<memc::einsum::AttentionGradOp>(op));
      if (failed(lowered))
        return signalPassFailure();
    }
  }
};

} // namespace
