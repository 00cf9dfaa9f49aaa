//===- EinsumToLinalg.cpp - einsum ops to linalg.generic and scf.for ------===//
//
// Every einsum.einsum becomes exactly one linalg.generic whose indexing maps
// are the einsum's maps and whose iterators are parallel for the result's
// ranks and reduction for the rest; the body applies the map action's
// compute operator and, for reductions, combines into the accumulator with
// the reduce action (its identity fills the init tensor). einsum.iterate
// becomes scf.for with the same carried values. The patterns and the
// convert-einsum-to-linalg pass that applies them are both here.
//
//===----------------------------------------------------------------------===//
#include "memc/Conversion/EinsumToLinalg.h"

#include "dialects/einsum/EinsumDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

namespace memc {
#define GEN_PASS_DEF_CONVERTEINSUMTOLINALG
#include "memc/Conversion/Passes.h.inc"
} // namespace memc

using namespace mlir;
using namespace memc::einsum;

namespace memc {

static Value constantLike(OpBuilder &b, Location loc, Type type, double v) {
  if (auto ft = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, loc, type, b.getFloatAttr(ft, v));
  return arith::ConstantOp::create(
      b, loc, type, b.getIntegerAttr(type, static_cast<int64_t>(v)));
}

/// Converts `v` to `to`: an ONNX Cast on one element.
static Value convertScalar(OpBuilder &b, Location loc, Value v, Type to) {
  Type from = v.getType();
  if (from == to)
    return v;
  auto fromF = dyn_cast<FloatType>(from);
  auto toF = dyn_cast<FloatType>(to);
  if (fromF && toF)
    return fromF.getWidth() < toF.getWidth()
               ? arith::ExtFOp::create(b, loc, to, v).getResult()
               : arith::TruncFOp::create(b, loc, to, v).getResult();
  if (to.isInteger(1)) {
    Value zero = constantLike(b, loc, from, 0);
    if (fromF)
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, v, zero);
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, v, zero);
  }
  if (from.isInteger(1))
    return toF ? arith::UIToFPOp::create(b, loc, to, v).getResult()
               : arith::ExtUIOp::create(b, loc, to, v).getResult();
  if (fromF)
    return arith::FPToSIOp::create(b, loc, to, v);
  if (toF)
    return arith::SIToFPOp::create(b, loc, to, v);
  unsigned fw = from.getIntOrFloatBitWidth(), tw = to.getIntOrFloatBitWidth();
  return fw < tw ? arith::ExtSIOp::create(b, loc, to, v).getResult()
                 : arith::TruncIOp::create(b, loc, to, v).getResult();
}

Value buildComputeScalar(OpBuilder &b, Location loc, ComputeOp op,
                         ValueRange args, Type resultType) {
  Value a = args[0];
  Type t = a.getType();
  bool isF = isa<FloatType>(t);
  auto one = [&] { return constantLike(b, loc, t, 1); };
  auto zero = [&] { return constantLike(b, loc, t, 0); };
  switch (op) {
  case ComputeOp::copy:
    return convertScalar(b, loc, a, resultType);
  case ComputeOp::neg:
    return isF ? arith::NegFOp::create(b, loc, a).getResult()
               : arith::SubIOp::create(b, loc, zero(), a).getResult();
  case ComputeOp::abs:
    return isF ? math::AbsFOp::create(b, loc, a).getResult()
               : math::AbsIOp::create(b, loc, a).getResult();
  case ComputeOp::exp:
    return math::ExpOp::create(b, loc, a);
  case ComputeOp::log:
    return math::LogOp::create(b, loc, a);
  case ComputeOp::sqrt:
    return math::SqrtOp::create(b, loc, a);
  case ComputeOp::rsqrt:
    return math::RsqrtOp::create(b, loc, a);
  case ComputeOp::reciprocal:
    return arith::DivFOp::create(b, loc, one(), a);
  case ComputeOp::tanh:
    return math::TanhOp::create(b, loc, a);
  case ComputeOp::erf:
    return math::ErfOp::create(b, loc, a);
  case ComputeOp::sigmoid: {
    // e = exp(-|x|) never overflows: 1 / (1 + e) for x >= 0, e / (1 + e)
    // for x < 0, so sigmoid(-100) is 3.7e-44 rather than 1 / (1 + inf) = 0
    // and the result is accurate in relative terms on both sides.
    Value e = math::ExpOp::create(
        b, loc, arith::NegFOp::create(b, loc, math::AbsFOp::create(b, loc, a)));
    Value c1 = one();
    Value r =
        arith::DivFOp::create(b, loc, c1, arith::AddFOp::create(b, loc, c1, e));
    Value nonNeg =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE, a, zero());
    // NaN fails the compare and takes e * r, which is NaN.
    Value er = arith::MulFOp::create(b, loc, e, r);
    return arith::SelectOp::create(b, loc, nonNeg, r, er);
  }
  case ComputeOp::relu:
    return isF ? arith::MaximumFOp::create(b, loc, a, zero()).getResult()
               : arith::MaxSIOp::create(b, loc, a, zero()).getResult();
  case ComputeOp::sin:
    return math::SinOp::create(b, loc, a);
  case ComputeOp::cos:
    return math::CosOp::create(b, loc, a);
  case ComputeOp::tan:
    return math::TanOp::create(b, loc, a);
  case ComputeOp::asin:
    return math::AsinOp::create(b, loc, a);
  case ComputeOp::acos:
    return math::AcosOp::create(b, loc, a);
  case ComputeOp::atan:
    return math::AtanOp::create(b, loc, a);
  case ComputeOp::sinh:
    return math::SinhOp::create(b, loc, a);
  case ComputeOp::cosh:
    return math::CoshOp::create(b, loc, a);
  case ComputeOp::asinh:
    return math::AsinhOp::create(b, loc, a);
  case ComputeOp::acosh:
    return math::AcoshOp::create(b, loc, a);
  case ComputeOp::atanh:
    return math::AtanhOp::create(b, loc, a);
  case ComputeOp::softplus: {
    // max(x, 0) + log1p(exp(-|x|)): log1p(exp(x)) overflows from x = 88.7
    // on (softplus(89) was inf), this form never does and keeps
    // softplus(-100) = 3.7e-44. maximumf propagates NaN; softplus(inf) =
    // inf + log1p(0), softplus(-inf) = 0 + log1p(0).
    Value e = math::ExpOp::create(
        b, loc, arith::NegFOp::create(b, loc, math::AbsFOp::create(b, loc, a)));
    Value pos = arith::MaximumFOp::create(b, loc, a, zero());
    return arith::AddFOp::create(b, loc, pos, math::Log1pOp::create(b, loc, e));
  }
  case ComputeOp::expm1:
    return math::ExpM1Op::create(b, loc, a);
  case ComputeOp::erfc:
    return math::ErfcOp::create(b, loc, a);
  case ComputeOp::floor:
    return math::FloorOp::create(b, loc, a);
  case ComputeOp::ceil:
    return math::CeilOp::create(b, loc, a);
  case ComputeOp::round:
    return math::RoundEvenOp::create(b, loc, a);
  case ComputeOp::sign: {
    Value pos, neg;
    if (isF) {
      pos = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, a, zero());
      neg = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, a, zero());
    } else {
      pos = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, a, zero());
      neg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, a, zero());
    }
    Value minusOne = constantLike(b, loc, t, -1);
    // sign(NaN) stays NaN: neither branch is taken and `a` passes through.
    Value rest = arith::SelectOp::create(b, loc, neg, minusOne,
                                         isF ? a : zero());
    if (isF) {
      Value isZero =
          arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, a, zero());
      rest = arith::SelectOp::create(b, loc, isZero, zero(), rest);
    }
    return arith::SelectOp::create(b, loc, pos, one(), rest);
  }
  case ComputeOp::not_:
    return arith::XOrIOp::create(b, loc, a, constantLike(b, loc, t, 1));
  case ComputeOp::isnan:
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, a, a);
  case ComputeOp::isinf: {
    Value inf = constantLike(b, loc, t, std::numeric_limits<double>::infinity());
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                 math::AbsFOp::create(b, loc, a), inf);
  }
  default:
    break;
  }
  Value c = args.size() > 1 ? args[1] : Value();
  switch (op) {
  case ComputeOp::add:
    return isF ? arith::AddFOp::create(b, loc, a, c).getResult()
               : arith::AddIOp::create(b, loc, a, c).getResult();
  case ComputeOp::sub:
    return isF ? arith::SubFOp::create(b, loc, a, c).getResult()
               : arith::SubIOp::create(b, loc, a, c).getResult();
  case ComputeOp::mul:
    return isF ? arith::MulFOp::create(b, loc, a, c).getResult()
               : arith::MulIOp::create(b, loc, a, c).getResult();
  case ComputeOp::div:
    return isF ? arith::DivFOp::create(b, loc, a, c).getResult()
               : arith::DivSIOp::create(b, loc, a, c).getResult();
  case ComputeOp::max:
    return isF ? arith::MaximumFOp::create(b, loc, a, c).getResult()
               : arith::MaxSIOp::create(b, loc, a, c).getResult();
  case ComputeOp::min:
    return isF ? arith::MinimumFOp::create(b, loc, a, c).getResult()
               : arith::MinSIOp::create(b, loc, a, c).getResult();
  case ComputeOp::pow:
    return math::PowFOp::create(b, loc, a, c);
  case ComputeOp::sub_exp:
    return math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, a, c));
  case ComputeOp::mod: {
    if (isF) {
      // a - floor(a / c) * c: the result takes the divisor's sign.
      Value q = math::FloorOp::create(b, loc, arith::DivFOp::create(b, loc, a, c));
      return arith::SubFOp::create(b, loc, a,
                                   arith::MulFOp::create(b, loc, q, c));
    }
    Value r = arith::RemSIOp::create(b, loc, a, c);
    Value rNonZero =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, r, zero());
    Value rNeg =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, r, zero());
    Value cNeg =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, c, zero());
    Value signsDiffer =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, rNeg, cNeg);
    Value fix = arith::AndIOp::create(b, loc, rNonZero, signsDiffer);
    return arith::SelectOp::create(b, loc, fix,
                                   arith::AddIOp::create(b, loc, r, c), r);
  }
  case ComputeOp::fmod:
    return arith::RemFOp::create(b, loc, a, c);
  case ComputeOp::eq:
  case ComputeOp::lt:
  case ComputeOp::le:
  case ComputeOp::gt:
  case ComputeOp::ge: {
    if (isF) {
      arith::CmpFPredicate p =
          op == ComputeOp::eq   ? arith::CmpFPredicate::OEQ
          : op == ComputeOp::lt ? arith::CmpFPredicate::OLT
          : op == ComputeOp::le ? arith::CmpFPredicate::OLE
          : op == ComputeOp::gt ? arith::CmpFPredicate::OGT
                                : arith::CmpFPredicate::OGE;
      return arith::CmpFOp::create(b, loc, p, a, c);
    }
    arith::CmpIPredicate p = op == ComputeOp::eq   ? arith::CmpIPredicate::eq
                             : op == ComputeOp::lt ? arith::CmpIPredicate::slt
                             : op == ComputeOp::le ? arith::CmpIPredicate::sle
                             : op == ComputeOp::gt ? arith::CmpIPredicate::sgt
                                                   : arith::CmpIPredicate::sge;
    return arith::CmpIOp::create(b, loc, p, a, c);
  }
  case ComputeOp::and_:
    return arith::AndIOp::create(b, loc, a, c);
  case ComputeOp::or_:
    return arith::OrIOp::create(b, loc, a, c);
  case ComputeOp::xor_:
    return arith::XOrIOp::create(b, loc, a, c);
  case ComputeOp::sq_diff: {
    Value d = isF ? arith::SubFOp::create(b, loc, a, c).getResult()
                  : arith::SubIOp::create(b, loc, a, c).getResult();
    return isF ? arith::MulFOp::create(b, loc, d, d).getResult()
               : arith::MulIOp::create(b, loc, d, d).getResult();
  }
  case ComputeOp::abs_diff: {
    Value d = isF ? arith::SubFOp::create(b, loc, a, c).getResult()
                  : arith::SubIOp::create(b, loc, a, c).getResult();
    return isF ? math::AbsFOp::create(b, loc, d).getResult()
               : math::AbsIOp::create(b, loc, d).getResult();
  }
  default:
    break;
  }
  Value e = args.size() > 2 ? args[2] : Value();
  switch (op) {
  case ComputeOp::select:
    return arith::SelectOp::create(b, loc, a, c, e);
  case ComputeOp::clamp: {
    Type vt = a.getType();
    if (isa<FloatType>(vt))
      return arith::MinimumFOp::create(
          b, loc, arith::MaximumFOp::create(b, loc, a, c), e);
    return arith::MinSIOp::create(b, loc,
                                  arith::MaxSIOp::create(b, loc, a, c), e);
  }
  case ComputeOp::mul_add:
    if (isF)
      return arith::AddFOp::create(b, loc, arith::MulFOp::create(b, loc, a, c),
                                   e);
    return arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, a, c),
                                 e);
  default:
    break;
  }
  llvm_unreachable("compute operator without a scalar lowering");
}

TypedAttr getReduceIdentity(OpBuilder &b, ReduceOp op, Type t) {
  if (auto ft = dyn_cast<FloatType>(t)) {
    const llvm::fltSemantics &sem = ft.getFloatSemantics();
    switch (op) {
    case ReduceOp::add:
      return b.getFloatAttr(t, 0.0);
    case ReduceOp::mul:
      return b.getFloatAttr(t, 1.0);
    case ReduceOp::max:
      return b.getFloatAttr(t, APFloat::getInf(sem, /*Negative=*/true));
    case ReduceOp::min:
      return b.getFloatAttr(t, APFloat::getInf(sem, /*Negative=*/false));
    case ReduceOp::none:
      break;
    }
    llvm_unreachable("no identity for reduce none");
  }
  unsigned w = t.getIntOrFloatBitWidth();
  if (w == 1)
    return b.getIntegerAttr(t, op == ReduceOp::min ? 1 : 0);
  switch (op) {
  case ReduceOp::add:
    return b.getIntegerAttr(t, 0);
  case ReduceOp::mul:
    return b.getIntegerAttr(t, 1);
  case ReduceOp::max:
    return b.getIntegerAttr(t, APInt::getSignedMinValue(w));
  case ReduceOp::min:
    return b.getIntegerAttr(t, APInt::getSignedMaxValue(w));
  case ReduceOp::none:
    break;
  }
  llvm_unreachable("no identity for reduce none");
}

Value buildReduceScalar(OpBuilder &b, Location loc, ReduceOp op, Value acc,
                        Value v) {
  Type t = acc.getType();
  bool isF = isa<FloatType>(t);
  bool isBool = t.isInteger(1);
  switch (op) {
  case ReduceOp::add:
    return isF ? arith::AddFOp::create(b, loc, acc, v).getResult()
               : arith::AddIOp::create(b, loc, acc, v).getResult();
  case ReduceOp::mul:
    return isF ? arith::MulFOp::create(b, loc, acc, v).getResult()
               : arith::MulIOp::create(b, loc, acc, v).getResult();
  case ReduceOp::max:
    if (isF)
      return arith::MaximumFOp::create(b, loc, acc, v);
    if (isBool)
      return arith::OrIOp::create(b, loc, acc, v);
    return arith::MaxSIOp::create(b, loc, acc, v);
  case ReduceOp::min:
    if (isF)
      return arith::MinimumFOp::create(b, loc, acc, v);
    if (isBool)
      return arith::AndIOp::create(b, loc, acc, v);
    return arith::MinSIOp::create(b, loc, acc, v);
  case ReduceOp::none:
    break;
  }
  llvm_unreachable("no combiner for reduce none");
}

namespace {

struct EinsumOpLowering : OpConversionPattern<EinsumOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(EinsumOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    if (!resultType.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic result shape");
    Type elemType = resultType.getElementType();
    Value init = tensor::EmptyOp::create(rewriter, loc, resultType.getShape(),
                                         elemType);
    ReduceOp reduce = op.getReduce();
    if (reduce != ReduceOp::none) {
      Value identity = arith::ConstantOp::create(
          rewriter, loc, getReduceIdentity(rewriter, reduce, elemType));
      init = linalg::FillOp::create(rewriter, loc, identity, init)
                 .getResult(0);
    }
    SmallVector<utils::IteratorType> iterators;
    for (bool r : op.getReducedRanks())
      iterators.push_back(r ? utils::IteratorType::reduction
                            : utils::IteratorType::parallel);
    SmallVector<AffineMap> maps;
    for (Attribute a : op.getIndexingMaps())
      maps.push_back(cast<AffineMapAttr>(a).getValue());
    ComputeOp compute = op.getCompute();
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{resultType}, adaptor.getInputs(),
        ValueRange{init}, maps, iterators,
        [&](OpBuilder &b, Location l, ValueRange args) {
          ValueRange ins = args.drop_back();
          Value v = buildComputeScalar(b, l, compute, ins, elemType);
          if (reduce != ReduceOp::none)
            v = buildReduceScalar(b, l, reduce, args.back(), v);
          linalg::YieldOp::create(b, l, v);
        });
    // What passes said of the op (memc.unfused, memc.recomputed) stays
    // with the loop nest.
    generic->setDiscardableAttrs(op->getDiscardableAttrDictionary());
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

struct IterateOpLowering : OpConversionPattern<IterateOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(IterateOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value lb = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value ub = arith::ConstantIndexOp::create(rewriter, loc, op.getExtent());
    Value step = arith::ConstantIndexOp::create(rewriter, loc, 1);
    auto loop =
        scf::ForOp::create(rewriter, loc, lb, ub, step, adaptor.getInits());
    // The body moves over as is: its block already takes (index, carried...)
    // like the loop's; its einsum.yield is rewritten by YieldOpLowering.
    rewriter.eraseBlock(loop.getBody());
    rewriter.inlineRegionBefore(op.getBody(), loop.getRegion(),
                                loop.getRegion().end());
    rewriter.replaceOp(op, loop.getResults());
    return success();
  }
};

struct YieldOpLowering : OpConversionPattern<YieldOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(YieldOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!isa<scf::ForOp>(op->getParentOp()))
      return rewriter.notifyMatchFailure(op, "parent is not lowered yet");
    rewriter.replaceOpWithNewOp<scf::YieldOp>(op, adaptor.getValues());
    return success();
  }
};

} // namespace

void populateEinsumToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<EinsumOpLowering, IterateOpLowering, YieldOpLowering>(patterns.getContext());
}

namespace {
struct ConvertEinsumToLinalgPass
    : impl::ConvertEinsumToLinalgBase<ConvertEinsumToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addIllegalDialect<EinsumDialect>();
    // A GPU target's fused attention stays one op until its kernel is
    // generated after bufferization (memc-attention-to-gpu).
    target.addLegalOp<AttentionOp>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(ctx);
    populateEinsumToLinalgPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

} // namespace memc
