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
/// (the gradient), outs (the weight and states); `body` maps (g, w, states)
/// to the new (w, states).
Operation *
buildUpdate(OpBuilder &b, Location loc, Value gradient, Value weight,
            ValueRange states,
            function_ref<SmallVector<Value>(OpBuilder &, Location, Value, Value,
                                            ValueRange)>
                body) {
  auto type = cast<RankedTensorType>(weight.getType());
  SmallVector<Value> outs = {weight};
  outs.append(states.begin(), states.end());
  AffineMap id = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<AffineMap> maps(1 + outs.size(), id);
  SmallVector<utils::IteratorType> iterators(type.getRank(),
                                             utils::IteratorType::parallel);
  SmallVector<Type> resultTypes(outs.size(), type);
  return linalg::GenericOp::create(
      b, loc, resultTypes, ValueRange{gradient}, outs, maps, iterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        SmallVector<Value> next =
            body(nb, nl, args[0], args[1], args.drop_front(2));
        linalg::YieldOp::create(nb, nl, next);
      });
}

/// The step count t as f64.
Value stepAsF64(OpBuilder &b, Location loc, Value step) {
  Value t = tensor::ExtractOp::create(b, loc, step, ValueRange{});
  return arith::SIToFPOp::create(b, loc, b.getF64Type(), t);
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
  // step_size = lr / (1 - beta1^t); bc2_sqrt = sqrt(1 - beta2^t)
  Value t = stepAsF64(b, loc, op.getStep());
  Value one = f64(b, loc, 1);
  Value bc1 = arith::SubFOp::create(
      b, loc, one, math::PowFOp::create(b, loc, f64(b, loc, beta1), t));
  Value bc2 = arith::SubFOp::create(
      b, loc, one, math::PowFOp::create(b, loc, f64(b, loc, beta2), t));
  Value negStepSize = toF32(
      b, loc,
      arith::NegFOp::create(
          b, loc, arith::DivFOp::create(b, loc, f64(b, loc, lr), bc1)));
  Value bc2Sqrt = toF32(b, loc, math::SqrtOp::create(b, loc, bc2));
  Operation *generic = buildUpdate(
      b, loc, op.getGradient(), op.getWeight(), op.getStates(),
      [&](OpBuilder &nb, Location nl, Value g, Value w, ValueRange s) {
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
      b, loc, op.getGradient(), op.getWeight(), op.getStates(),
      [&](OpBuilder &nb, Location nl, Value g, Value w, ValueRange s) {
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
