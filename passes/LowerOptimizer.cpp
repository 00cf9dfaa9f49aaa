//===- LowerOptimizer.cpp - optim updates -> in-place linalg.generic ------===//
//
// The generic's outputs are the weight and its states themselves, so
// one-shot bufferization writes the update into their buffers (the train
// step's arguments) instead of new ones. The per-step scalars are computed
// in f64 from the step count, as PyTorch computes them in Python floats,
// and enter the kernel as f32 values, as PyTorch's CPU kernels take them.
//
//===----------------------------------------------------------------------===//
#include "dialects/optim/OptimDialect.h"
#include "memc/Transforms/Passes.h"

#include "mlir/Dialect/Math/IR/Math.h"

namespace memc {
#define GEN_PASS_DEF_LOWEROPTIMIZER
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

/// Builds one elementwise linalg.generic over `weight`'s shape: ins
/// (the gradient, then rank-0 coefficients), outs (the weight and states);
/// `body` maps (g, w, states, coefficients) to the new (w, states).
Operation *
buildUpdate(OpBuilder &b, Location loc, Value gradient, Value weight,
            ValueRange states, ValueRange coefficients,
            function_ref<SmallVector<Value>(OpBuilder &, Location, Value, Value,
                                            ValueRange, ValueRange)>
                body) {
  auto type = cast<RankedTensorType>(weight.getType());
  SmallVector<Value> ins = {gradient};
  ins.append(coefficients.begin(), coefficients.end());
  SmallVector<Value> outs = {weight};
  outs.append(states.begin(), states.end());
  AffineMap id = b.getMultiDimIdentityMap(type.getRank());
  AffineMap scalar = AffineMap::get(type.getRank(), 0, {}, b.getContext());
  SmallVector<AffineMap> maps = {id};
  maps.append(coefficients.size(), scalar);
  maps.append(outs.size(), id);
  SmallVector<utils::IteratorType> iterators(type.getRank(),
                                             utils::IteratorType::parallel);
  SmallVector<Type> resultTypes(outs.size(), type);
  unsigned numCoefficients = coefficients.size();
  return linalg::GenericOp::create(
      b, loc, resultTypes, ins, outs, maps, iterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        ValueRange c = args.slice(1, numCoefficients);
        ValueRange rest = args.drop_front(1 + numCoefficients);
        SmallVector<Value> next =
            body(nb, nl, args[0], rest[0], rest.drop_front(1), c);
        linalg::YieldOp::create(nb, nl, next);
      });
}

/// Scalars computed from the step count in a rank-0 linalg.generic, which
/// runs where the update runs (a one-thread kernel on a GPU): `body` maps
/// the step count t (i64) to the f32 coefficients.
SmallVector<Value>
stepCoefficients(OpBuilder &b, Location loc, Value step, unsigned count,
                 function_ref<SmallVector<Value>(OpBuilder &, Location, Value)>
                     body) {
  SmallVector<Value> outs;
  SmallVector<Type> types;
  auto type = RankedTensorType::get({}, b.getF32Type());
  for (unsigned i = 0; i < count; ++i) {
    outs.push_back(tensor::EmptyOp::create(b, loc, type.getShape(),
                                           type.getElementType()));
    types.push_back(type);
  }
  AffineMap scalar = AffineMap::get(0, 0, {}, b.getContext());
  SmallVector<AffineMap> maps(1 + count, scalar);
  auto generic = linalg::GenericOp::create(
      b, loc, types, ValueRange{step}, outs, maps,
      ArrayRef<utils::IteratorType>{},
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, body(nb, nl, args[0]));
      });
  return SmallVector<Value>(generic->getResults());
}

Value f64(OpBuilder &b, Location loc, double v) {
  return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(v));
}

/// An f32 constant or an f64 value truncated to f32.
Value f32(OpBuilder &b, Location loc, double v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr((float)v));
}
Value toF32(OpBuilder &b, Location loc, Value v) {
  return arith::TruncFOp::create(b, loc, b.getF32Type(), v);
}

/// base^t for the step count t (i64 >= 0) by binary exponentiation over
/// its low 48 bits: multiplications only, so it needs no pow from a math
/// library (a GPU kernel has no libdevice), and in f64 it is as exact as
/// pow.
Value powByStep(OpBuilder &b, Location loc, double base, Value step) {
  Value result = f64(b, loc, 1);
  Value power = f64(b, loc, base);
  Value one = arith::ConstantIntOp::create(b, loc, b.getI64Type(), 1);
  for (int bit = 0; bit < 48; ++bit) {
    Value shifted = arith::ShRUIOp::create(
        b, loc, step, arith::ConstantIntOp::create(b, loc, b.getI64Type(), bit));
    Value set = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::eq,
        arith::AndIOp::create(b, loc, shifted, one), one);
    result = arith::SelectOp::create(
        b, loc, set, arith::MulFOp::create(b, loc, result, power), result);
    power = arith::MulFOp::create(b, loc, power, power);
  }
  return result;
}

LogicalResult lowerAdamW(memc::optim::AdamWOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  if (!cast<ShapedType>(op.getWeight().getType()).getElementType().isF32())
    return op.emitOpError("lowers for f32 weights only");
  double lr = op.getLr().convertToDouble();
  double beta1 = op.getBeta1().convertToDouble();
  double beta2 = op.getBeta2().convertToDouble();
  double eps = op.getEps().convertToDouble();
  double wd = op.getWeightDecay().convertToDouble();
  // -step_size = -lr / (1 - beta1^t); bc2_sqrt = sqrt(1 - beta2^t)
  SmallVector<Value> coefficients = stepCoefficients(
      b, loc, op.getStep(), 2,
      [&](OpBuilder &nb, Location nl, Value t) -> SmallVector<Value> {
        Value one = f64(nb, nl, 1);
        Value bc1 = arith::SubFOp::create(
            nb, nl, one, powByStep(nb, nl, beta1, t));
        Value bc2 = arith::SubFOp::create(
            nb, nl, one, powByStep(nb, nl, beta2, t));
        Value negStepSize = arith::NegFOp::create(
            nb, nl, arith::DivFOp::create(nb, nl, f64(nb, nl, lr), bc1));
        return {toF32(nb, nl, negStepSize),
                toF32(nb, nl, math::SqrtOp::create(nb, nl, bc2))};
      });
  Operation *generic = buildUpdate(
      b, loc, op.getGradient(), op.getWeight(), op.getStates(), coefficients,
      [&](OpBuilder &nb, Location nl, Value g, Value w, ValueRange s,
          ValueRange c) {
        Value negStepSize = c[0], bc2Sqrt = c[1];
        // param.mul_(1 - lr * wd)
        Value w1 = w;
        if (wd != 0)
          w1 = arith::MulFOp::create(nb, nl, w, f32(nb, nl, 1 - lr * wd));
        // exp_avg.mul_(beta1).add_(g, alpha=1 - beta1)
        Value m = arith::AddFOp::create(
            nb, nl, arith::MulFOp::create(nb, nl, s[0], f32(nb, nl, beta1)),
            arith::MulFOp::create(nb, nl, g, f32(nb, nl, 1 - beta1)));
        // exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        Value gg = arith::MulFOp::create(nb, nl, g, g);
        Value v = arith::AddFOp::create(
            nb, nl, arith::MulFOp::create(nb, nl, s[1], f32(nb, nl, beta2)),
            arith::MulFOp::create(nb, nl, gg, f32(nb, nl, 1 - beta2)));
        // denom = sqrt(v) / bc2_sqrt + eps; param.addcdiv_(m, denom, -step)
        Value denom = arith::AddFOp::create(
            nb, nl,
            arith::DivFOp::create(nb, nl, math::SqrtOp::create(nb, nl, v),
                                  bc2Sqrt),
            f32(nb, nl, eps));
        Value w2 = arith::AddFOp::create(
            nb, nl, w1,
            arith::MulFOp::create(nb, nl, negStepSize,
                                  arith::DivFOp::create(nb, nl, m, denom)));
        return SmallVector<Value>{w2, m, v};
      });
  op->replaceAllUsesWith(generic->getResults());
  op->erase();
  return success();
}

LogicalResult lowerSGD(memc::optim::SGDOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  if (!cast<ShapedType>(op.getWeight().getType()).getElementType().isF32())
    return op.emitOpError("lowers for f32 weights only");
  double lr = op.getLr().convertToDouble();
  double mu = op.getMomentum().convertToDouble();
  double wd = op.getWeightDecay().convertToDouble();
  bool nesterov = op.getNesterov();
  Operation *generic = buildUpdate(
      b, loc, op.getGradient(), op.getWeight(), op.getStates(), {},
      [&](OpBuilder &nb, Location nl, Value g, Value w, ValueRange s,
          ValueRange) {
        // d_p = g.add(w, alpha=wd)
        Value d = g;
        if (wd != 0)
          d = arith::AddFOp::create(
              nb, nl, g, arith::MulFOp::create(nb, nl, w, f32(nb, nl, wd)));
        SmallVector<Value> next;
        Value buf;
        if (mu > 0) {
          // buf.mul_(momentum).add_(d_p): buf is 0 before the first step,
          // so the first step leaves buf = d_p as PyTorch's clone does.
          buf = arith::AddFOp::create(
              nb, nl, arith::MulFOp::create(nb, nl, s[0], f32(nb, nl, mu)), d);
          d = nesterov ? arith::AddFOp::create(
                             nb, nl, d,
                             arith::MulFOp::create(nb, nl, buf, f32(nb, nl, mu)))
                       : buf;
        }
        // param.add_(d_p, alpha=-lr)
        next.push_back(arith::AddFOp::create(
            nb, nl, w, arith::MulFOp::create(nb, nl, d, f32(nb, nl, -lr))));
        if (buf)
          next.push_back(buf);
        return next;
      });
  op->replaceAllUsesWith(generic->getResults());
  op->erase();
  return success();
}

struct LowerOptimizerPass
    : public memc::impl::LowerOptimizerBase<LowerOptimizerPass> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<memc::optim::AdamWOp, memc::optim::SGDOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      LogicalResult r =
          isa<memc::optim::AdamWOp>(op)
              ? lowerAdamW(cast<memc::optim::AdamWOp>(op))
              : lowerSGD(cast<memc::optim::SGDOp>(op));
      if (failed(r))
        return signalPassFailure();
    }
  }
};

} // namespace
