//===- ConvertEinsumToLinalg.cpp - the einsum -> linalg pass --------------===//
#include "passes/Passes.h"

#include "memc/Conversion/EinsumToLinalg.h"

#include "mlir/Transforms/DialectConversion.h"

namespace memc {
#define GEN_PASS_DEF_CONVERTEINSUMTOLINALG
#include "passes/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {
struct ConvertEinsumToLinalgPass
    : memc::impl::ConvertEinsumToLinalgBase<ConvertEinsumToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addIllegalDialect<memc::einsum::EinsumDialect>();
    // A GPU target's fused attention stays one op until its kernel is
    // generated after bufferization (memc-attention-to-gpu).
    target.addLegalOp<memc::einsum::AttentionOp>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(ctx);
    memc::populateEinsumToLinalgPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
