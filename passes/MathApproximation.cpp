//===- MathApproximation.cpp - vectorizable exp/erf/tanh/log --------------===//
#include "passes/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/StringSet.h"

namespace memc {
#define GEN_PASS_DEF_MATHAPPROXIMATION
#include "passes/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {
struct MathApproximationPass
    : memc::impl::MathApproximationBase<MathApproximationPass> {
  using Base::Base;
  void runOnOperation() override {
    llvm::StringSet<> selected;
    if (ops.empty())
      for (const char *name : {"math.exp", "math.erf", "math.tanh", "math.log",
                               "math.log1p", "math.expm1"})
        selected.insert(name);
    for (const std::string &op : ops)
      selected.insert(op);
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(
        patterns, [&](StringRef name) { return selected.contains(name); });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
