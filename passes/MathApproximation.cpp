//===- MathApproximation.cpp - vectorizable exp/erf/tanh/log --------------===//
//
// f32 math ops become plain arithmetic that LLVM vectorizes. MLIR's
// polynomial patterns do most of them; two of their forms break at the edges
// of the float range and are replaced or wrapped here (docs/numerics.md has
// the audit and the measured errors):
//
//  - exp: MLIR clamps the power of two to [2^-127, 2^127], so results below
//    about 2^-126 are flushed to 0 (exp(-100) = 0 instead of 3.7e-44) and
//    near overflow (88.38 < x < 88.72) the reduced argument leaves the
//    polynomial's range (relative error ~2^-16). memc's own exp scales by
//    2^k in two halves, so denormal results and exp(88.72) come out right.
//  - log: MLIR clamps the input to the smallest normal float, so
//    log(1.4e-45) = -87.3 instead of -103.3. Denormal inputs are scaled by
//    2^23 first (a compare, a multiply and a select) and 23 ln 2 is
//    subtracted after.
//
// Nothing else flushes denormals: the generated code runs in the default
// IEEE mode (no fast-math flags, no denormal-fp-math attribute, no
// crtfastmath in the link, see lib/Target/CPUTarget.cpp), which the
// numerics tests check end to end.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/StringSet.h"

namespace memc {
#define GEN_PASS_DEF_MATHAPPROXIMATION
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

/// `like`'s shape (scalar or vector) with element type `elem`.
Type withElement(Type like, Type elem) {
  if (auto vt = dyn_cast<VectorType>(like))
    return vt.clone(elem);
  return elem;
}

Value splat(ImplicitLocOpBuilder &b, Type type, TypedAttr scalar) {
  if (auto vt = dyn_cast<VectorType>(type))
    return arith::ConstantOp::create(b, vt, SplatElementsAttr::get(vt, scalar));
  return arith::ConstantOp::create(b, type, scalar);
}

Value f32Const(ImplicitLocOpBuilder &b, Type like, float v) {
  return splat(b, withElement(like, b.getF32Type()), b.getF32FloatAttr(v));
}

Value i32Const(ImplicitLocOpBuilder &b, Type like, int32_t v) {
  return splat(b, withElement(like, b.getI32Type()), b.getI32IntegerAttr(v));
}

bool isF32(Value v) { return getElementTypeOrSelf(v.getType()).isF32(); }

/// exp(x) for f32, accurate to about 1 ulp over the whole range, denormal
/// results included.
///
///   k = round(x / ln 2), r = x - k ln 2 (Cody-Waite, two FMAs), |r| <= ln2/2
///   exp(x) = (1 + r + r^2 q(r)) * 2^k1 * 2^k2 with k1 = floor(k/2),
///   k2 = k - k1.
///
/// Splitting 2^k keeps both factors normal for k in [-151, 128]: the last
/// multiply rounds once into the denormal range (instead of a 2^k that
/// cannot be formed below 2^-126) and 2^128 * 0.99... stays finite. x is
/// clamped to [-105, 89] first (exp(-105) rounds to 0, exp(89) overflows to
/// inf), with NaN passing through both compares. The rounding to an integer
/// adds 1.5 * 2^23, which leaves k in the low mantissa bits: no float-to-int
/// conversion (poison in LLVM for NaN) is needed, and NaN reaches the result
/// through r.
///
/// q is a degree-4 minimax fit of (e^r - 1 - r) / r^2 for relative error on
/// [-ln2/2, ln2/2] (Lawson's algorithm, scripts/fit_exp_poly.py); evaluated
/// in f32 it is within 1.2 * 2^-24 of e^r.
struct ExpApproximation : OpRewritePattern<math::ExpOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(math::ExpOp op,
                                PatternRewriter &rewriter) const override {
    if (!isF32(op.getOperand()))
      return rewriter.notifyMatchFailure(op, "not f32");
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Type type = op.getType();
    Type intType = withElement(type, b.getI32Type());
    auto cst = [&](float v) { return f32Const(b, type, v); };
    auto icst = [&](int32_t v) { return i32Const(b, type, v); };
    auto fma = [&](Value x, Value y, Value z) -> Value {
      return math::FmaOp::create(b, x, y, z);
    };
    auto cmp = [&](arith::CmpFPredicate p, Value x, Value y) -> Value {
      return arith::CmpFOp::create(b, p, x, y);
    };
    auto select = [&](Value c, Value x, Value y) -> Value {
      return arith::SelectOp::create(b, c, x, y);
    };

    // Ordered compares are false for NaN, so NaN is kept by both selects.
    Value x = op.getOperand();
    Value lo = cst(-105.0f), hi = cst(89.0f);
    x = select(cmp(arith::CmpFPredicate::OLT, x, lo), lo, x);
    x = select(cmp(arith::CmpFPredicate::OGT, x, hi), hi, x);

    Value magic = cst(0x1.8p23f);
    Value kMagic = fma(x, cst(0x1.715476p0f), magic); // x log2(e) + magic
    Value k = arith::SubFOp::create(b, kMagic, magic);
    // ln 2 = ln2Hi + ln2Lo, ln2Hi with 15 significant bits so k * ln2Hi is
    // exact even without the FMA.
    Value r = fma(k, cst(-0x1.62e4p-1f), x);
    r = fma(k, cst(-0x1.7f7d1cp-20f), r);

    Value q = cst(0x1.6a2434p-10f);
    for (float c :
         {0x1.1239e2p-7f, 0x1.5558f2p-5f, 0x1.555492p-3f, 0x1.fffffcp-2f})
      q = fma(q, r, cst(c));
    Value r2 = arith::MulFOp::create(b, r, r);
    Value p = arith::AddFOp::create(b, fma(q, r2, r), cst(1.0f));

    auto bitsOf = [&](Value f) -> Value {
      return arith::BitcastOp::create(b, intType, f);
    };
    Value kInt = arith::SubIOp::create(b, bitsOf(kMagic), bitsOf(magic));
    Value k1 = arith::ShRSIOp::create(b, kInt, icst(1));
    Value k2 = arith::SubIOp::create(b, kInt, k1);
    auto pow2 = [&](Value e) -> Value {
      Value biased = arith::AddIOp::create(b, e, icst(127));
      return arith::BitcastOp::create(
          b, type, arith::ShLIOp::create(b, biased, icst(23)));
    };
    Value result = arith::MulFOp::create(
        b, arith::MulFOp::create(b, p, pow2(k1)), pow2(k2));
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// Scales denormal log inputs into the normal range: log(x) =
/// log(x * 2^23) - 23 ln 2. MLIR's approximation reads the exponent field
/// (0 for every denormal) and clamps its input to 2^-126. Zero and negative
/// inputs take the scaled path too, where scaling changes nothing (log of 0,
/// of a negative and of -inf stay -inf, NaN, NaN); NaN fails the compare.
void scaleDenormalLogInputs(math::LogOp op) {
  ImplicitLocOpBuilder b(op.getLoc(), op);
  Type type = op.getType();
  Value x = op.getOperand();
  Value tiny = arith::CmpFOp::create(b, arith::CmpFPredicate::OLT, x,
                                     f32Const(b, type, 0x1p-126f));
  Value scaled = arith::MulFOp::create(b, x, f32Const(b, type, 0x1p23f));
  op.getOperandMutable().assign(arith::SelectOp::create(b, tiny, scaled, x));

  Value y = op.getResult();
  SmallVector<OpOperand *> uses;
  for (OpOperand &use : y.getUses())
    uses.push_back(&use);
  b.setInsertionPointAfter(op);
  Value adjusted =
      arith::SubFOp::create(b, y, f32Const(b, type, 0x1.fe2804p3f)); // 23 ln2
  Value result = arith::SelectOp::create(b, tiny, adjusted, y);
  for (OpOperand *use : uses)
    use->set(result);
}

struct MathApproximationPass
    : memc::impl::MathApproximationBase<MathApproximationPass> {
  using Base::Base;
  void runOnOperation() override {
    llvm::StringSet<> selected;
    if (ops.empty())
      for (const char *name : {"math.exp", "math.erf", "math.erfc", "math.tanh",
                               "math.log", "math.log1p", "math.expm1"})
        selected.insert(name);
    for (const std::string &op : ops)
      selected.insert(op);

    // Before any pattern runs: only the model's own logs need the scaling;
    // the ones log1p and expm1 expand into never see a denormal (log1p's
    // 1 + x is 0 or >= 2^-25; expm1 only uses log(e^x) where e^x - 1 is
    // not -1, i.e. e^x >= 2^-25).
    if (selected.contains("math.log")) {
      SmallVector<math::LogOp> logs;
      getOperation()->walk([&](math::LogOp op) {
        if (isF32(op.getOperand()))
          logs.push_back(op);
      });
      for (math::LogOp op : logs)
        scaleDenormalLogInputs(op);
    }

    RewritePatternSet patterns(&getContext());
    // MLIR's exp is replaced by memc's (see above); the others are MLIR's.
    populateMathPolynomialApproximationPatterns(patterns, [&](StringRef name) {
      return name != "math.exp" && selected.contains(name);
    });
    if (selected.contains("math.exp"))
      patterns.add<ExpApproximation>(&getContext(), /*benefit=*/2);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
