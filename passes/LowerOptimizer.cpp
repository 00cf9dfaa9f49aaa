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

#include "GaLoreProjection.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cmath>

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

/// Adam's moments after the gradient g, as PyTorch's CPU kernel computes
/// them, and the denominator of the step, sqrt(v) / sqrt(1 - beta2^t) + eps.
struct AdamMoments {
  Value m, v, denom;
};
AdamMoments adamMoments(OpBuilder &nb, Location nl, memc::optim::AdamWOp op,
                        Value g, Value m0, Value v0, Value bc2Sqrt) {
  double beta1 = op.getBeta1().convertToDouble();
  double beta2 = op.getBeta2().convertToDouble();
  double eps = op.getEps().convertToDouble();
  // exp_avg.mul_(beta1).add_(g, alpha=1 - beta1)
  Value m = arith::AddFOp::create(
      nb, nl, arith::MulFOp::create(nb, nl, m0, f32(nb, nl, beta1)),
      arith::MulFOp::create(nb, nl, g, f32(nb, nl, 1 - beta1)));
  // exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
  Value gg = arith::MulFOp::create(nb, nl, g, g);
  Value v = arith::AddFOp::create(
      nb, nl, arith::MulFOp::create(nb, nl, v0, f32(nb, nl, beta2)),
      arith::MulFOp::create(nb, nl, gg, f32(nb, nl, 1 - beta2)));
  // denom = sqrt(v) / bc2_sqrt + eps
  Value denom = arith::AddFOp::create(
      nb, nl,
      arith::DivFOp::create(nb, nl, math::SqrtOp::create(nb, nl, v), bc2Sqrt),
      f32(nb, nl, eps));
  return {m, v, denom};
}

/// One element of AdamW: the new weight, first and second moment from the
/// gradient g, the weight w, the moments m and v, -lr / (1 - beta1^t) and
/// sqrt(1 - beta2^t).
SmallVector<Value> adamwElement(OpBuilder &nb, Location nl,
                                memc::optim::AdamWOp op, Value g, Value w,
                                Value m0, Value v0, Value negStepSize,
                                Value bc2Sqrt) {
  double lr = op.getLr().convertToDouble();
  double wd = op.getWeightDecay().convertToDouble();
  // param.mul_(1 - lr * wd)
  Value w1 = w;
  if (wd != 0)
    w1 = arith::MulFOp::create(nb, nl, w, f32(nb, nl, 1 - lr * wd));
  AdamMoments next = adamMoments(nb, nl, op, g, m0, v0, bc2Sqrt);
  // param.addcdiv_(m, denom, -step)
  Value w2 = arith::AddFOp::create(
      nb, nl, w1,
      arith::MulFOp::create(nb, nl, negStepSize,
                            arith::DivFOp::create(nb, nl, next.m, next.denom)));
  return {w2, next.m, next.v};
}

/// Adam's bias terms 1 - beta1^t and 1 - beta2^t in f64 for the step t.
std::pair<Value, Value> biasTerms(OpBuilder &nb, Location nl,
                                  memc::optim::AdamWOp op, Value t) {
  Value one = f64(nb, nl, 1);
  auto term = [&](double beta) -> Value {
    return arith::SubFOp::create(nb, nl, one, powByStep(nb, nl, beta, t));
  };
  return {term(op.getBeta1().convertToDouble()),
          term(op.getBeta2().convertToDouble())};
}

/// `numerator` / (1 - beta1^t) and sqrt(1 - beta2^t) for Adam's step t:
/// AdamW's step takes numerator -lr, APOLLO's update of the projection 1.
SmallVector<Value> biasCorrections(OpBuilder &b, Location loc,
                                   memc::optim::AdamWOp op, double numerator) {
  return stepCoefficients(
      b, loc, op.getStep(), 2,
      [&](OpBuilder &nb, Location nl, Value t) -> SmallVector<Value> {
        auto [bc1, bc2] = biasTerms(nb, nl, op, t);
        return {toF32(nb, nl,
                      arith::DivFOp::create(nb, nl, f64(nb, nl, numerator),
                                            bc1)),
                toF32(nb, nl, math::SqrtOp::create(nb, nl, bc2))};
      });
}

/// A rank-1 f32 constant tensor.
Value tableConstant(OpBuilder &b, Location loc, ArrayRef<float> values) {
  auto type = RankedTensorType::get({int64_t(values.size())}, b.getF32Type());
  return arith::ConstantOp::create(b, loc,
                                    DenseElementsAttr::get(type, values));
}

/// The element `table[index]` of a rank-1 tensor, `index` an i32.
Value lookup(OpBuilder &b, Location loc, Value table, Value index) {
  Value i = arith::IndexCastOp::create(b, loc, b.getIndexType(), index);
  return tensor::ExtractOp::create(b, loc, table, ValueRange{i});
}

/// The code of `x` in a sorted 256-entry map: the number of the 255
/// midpoints between neighbouring map values below `x` (the index of the
/// nearest value), by an 8-step binary search.
Value quantize(OpBuilder &b, Location loc, Value midpoints, Value x) {
  Type i32 = b.getI32Type();
  auto c = [&](int v) { return arith::ConstantIntOp::create(b, loc, i32, v); };
  Value lo = c(0), hi = c(255);
  for (int step = 0; step < 8; ++step) {
    Value mid = arith::ShRUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, lo, hi), c(1));
    Value below = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT,
                                        lookup(b, loc, midpoints, mid), x);
    lo = arith::SelectOp::create(b, loc, below,
                                 arith::AddIOp::create(b, loc, mid, c(1)), lo);
    hi = arith::SelectOp::create(b, loc, below, hi, mid);
  }
  return arith::TruncIOp::create(b, loc, b.getI8Type(), lo);
}

/// AdamW with blockwise 8-bit moments (#optim.layout<blockwise8>): each
/// moment is n i8 codes, indices into the layout's dynamic map, and one f32
/// absmax per block. Three kernels: dequantize and update (the weight in
/// place, the new moments in f32), each block's new absmax (into the absmax
/// states), then the moments requantized to their nearest codes (into the
/// code states). The weight's update uses the f32 moments, as bitsandbytes
/// does; only what is stored is rounded.
LogicalResult lowerAdamW8bit(memc::optim::AdamWOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto type = cast<RankedTensorType>(op.getWeight().getType());
  int64_t rank = type.getRank(), n = type.getNumElements();
  int64_t block = op.getLayoutAttr().getBlock();
  int64_t blocks = (n + block - 1) / block;
  ValueRange states = op.getStates();
  Value mCodes = states[0], mAbsmax = states[1];
  Value vCodes = states[2], vAbsmax = states[3];
  std::vector<float> signedMap = memc::optim::dynamicMap(/*isSigned=*/true);
  std::vector<float> unsignedMap = memc::optim::dynamicMap(false);
  auto midpointsOf = [](const std::vector<float> &map) {
    std::vector<float> mids;
    for (size_t i = 0; i + 1 < map.size(); ++i)
      mids.push_back((map[i] + map[i + 1]) / 2);
    return mids;
  };
  Value signedTable = tableConstant(b, loc, signedMap);
  Value unsignedTable = tableConstant(b, loc, unsignedMap);
  Value signedMids = tableConstant(b, loc, midpointsOf(signedMap));
  Value unsignedMids = tableConstant(b, loc, midpointsOf(unsignedMap));
  SmallVector<Value> coefficients = biasCorrections(b, loc, op, -op.getLr().convertToDouble());
  Type f32Type = b.getF32Type(), i32 = b.getI32Type();
  auto idx = [&](OpBuilder &nb, Location nl, int64_t v) {
    return arith::ConstantIndexOp::create(nb, nl, v);
  };

  // 1. Dequantize, update: the weight in place, the new moments in f32.
  AffineMap id = b.getMultiDimIdentityMap(rank);
  AffineMap scalar = AffineMap::get(rank, 0, {}, b.getContext());
  SmallVector<utils::IteratorType> parallel(rank,
                                            utils::IteratorType::parallel);
  Value mEmpty = tensor::EmptyOp::create(b, loc, type.getShape(), f32Type);
  Value vEmpty = tensor::EmptyOp::create(b, loc, type.getShape(), f32Type);
  auto update = linalg::GenericOp::create(
      b, loc, TypeRange{type, type, type},
      ValueRange{op.getGradient(), coefficients[0], coefficients[1]},
      ValueRange{op.getWeight(), mEmpty, vEmpty},
      {id, scalar, scalar, id, id, id}, parallel,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        // The element's index in the flat codes, and its block.
        Value flat = idx(nb, nl, 0);
        for (int64_t d = 0; d < rank; ++d)
          flat = arith::AddIOp::create(
              nb, nl,
              arith::MulIOp::create(nb, nl, flat,
                                    idx(nb, nl, type.getDimSize(d))),
              linalg::IndexOp::create(nb, nl, d));
        Value blk = arith::DivUIOp::create(nb, nl, flat, idx(nb, nl, block));
        auto dequantize = [&](Value codes, Value absmax, Value table) {
          Value code = tensor::ExtractOp::create(nb, nl, codes, flat);
          Value value = lookup(nb, nl, table,
                               arith::ExtUIOp::create(nb, nl, i32, code));
          return arith::MulFOp::create(
              nb, nl, value, tensor::ExtractOp::create(nb, nl, absmax, blk));
        };
        Value m = dequantize(mCodes, mAbsmax, signedTable);
        Value v = dequantize(vCodes, vAbsmax, unsignedTable);
        linalg::YieldOp::create(nb, nl,
                                adamwElement(nb, nl, op, args[0], args[3], m, v,
                                             args[1], args[2]));
      });
  Value newWeight = update.getResult(0);
  SmallVector<ReassociationIndices> flatten = {
      llvm::to_vector(llvm::seq<int64_t>(0, rank))};
  auto flatType = RankedTensorType::get({n}, f32Type);
  auto flat = [&](Value v) -> Value {
    if (rank == 1)
      return v;
    return tensor::CollapseShapeOp::create(b, loc, flatType, v, flatten);
  };
  Value mNew = flat(update.getResult(1)), vNew = flat(update.getResult(2));

  // 2. Each block's absmax of the new moments, into the absmax states
  // (zeroed first; the kernels read their outputs, so that no rewrite trades
  // the states for new tensors).
  auto absmaxType = RankedTensorType::get({blocks}, f32Type);
  AffineMap id1 = b.getMultiDimIdentityMap(1);
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  auto zeroed = [&](Value t) {
    return linalg::FillOp::create(b, loc, zero, t).getResult(0);
  };
  auto absmax = linalg::GenericOp::create(
      b, loc, TypeRange{absmaxType, absmaxType}, ValueRange{},
      ValueRange{zeroed(mAbsmax), zeroed(vAbsmax)}, {id1, id1},
      {utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value blk = linalg::IndexOp::create(nb, nl, 0);
        Value begin = arith::MulIOp::create(nb, nl, blk, idx(nb, nl, block));
        Value end = arith::MinUIOp::create(
            nb, nl, arith::AddIOp::create(nb, nl, begin, idx(nb, nl, block)),
            idx(nb, nl, n));
        auto loop = scf::ForOp::create(
            nb, nl, begin, end, idx(nb, nl, 1), ValueRange{args[0], args[1]},
            [&](OpBuilder &lb, Location ll, Value i, ValueRange acc) {
              auto absOf = [&](Value t) {
                return math::AbsFOp::create(
                    lb, ll, tensor::ExtractOp::create(lb, ll, t, i));
              };
              scf::YieldOp::create(
                  lb, ll,
                  ValueRange{arith::MaximumFOp::create(lb, ll, acc[0],
                                                       absOf(mNew)),
                             arith::MaximumFOp::create(lb, ll, acc[1],
                                                       absOf(vNew))});
            });
        linalg::YieldOp::create(nb, nl, loop.getResults());
      });
  Value mMax = absmax.getResult(0), vMax = absmax.getResult(1);

  // 3. Requantize to the nearest codes, into the code states.
  auto codesType = RankedTensorType::get({n}, b.getI8Type());
  auto codes = linalg::GenericOp::create(
      b, loc, TypeRange{codesType, codesType}, ValueRange{mNew, vNew},
      ValueRange{mCodes, vCodes}, {id1, id1, id1, id1},
      {utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value blk = arith::DivUIOp::create(
            nb, nl, linalg::IndexOp::create(nb, nl, 0), idx(nb, nl, block));
        // A block whose absmax is 0 decodes to 0 whatever its codes: they
        // keep their old values there.
        auto code = [&](Value x, Value maxima, Value mids, Value old) -> Value {
          Value a = tensor::ExtractOp::create(nb, nl, maxima, blk);
          Value nonzero = arith::CmpFOp::create(
              nb, nl, arith::CmpFPredicate::OGT, a, zero);
          Value q = quantize(nb, nl, mids, arith::DivFOp::create(nb, nl, x, a));
          return arith::SelectOp::create(nb, nl, nonzero, q, old);
        };
        linalg::YieldOp::create(
            nb, nl,
            ValueRange{code(args[0], mMax, signedMids, args[2]),
                       code(args[1], vMax, unsignedMids, args[3])});
      });

  op.getNewWeight().replaceAllUsesWith(newWeight);
  ResultRange newStates = op.getNewStates();
  newStates[0].replaceAllUsesWith(codes.getResult(0));
  newStates[1].replaceAllUsesWith(mMax);
  newStates[2].replaceAllUsesWith(codes.getResult(1));
  newStates[3].replaceAllUsesWith(vMax);
  op->erase();
  return success();
}

/// A draw of mean 0 and variance 1 for (key, i, j): a SplitMix64 finalizer
/// of the three gives four 16-bit uniforms, whose centred sum times sqrt(3)
/// is close to normal (Irwin-Hall; a JL projection needs only zero mean,
/// unit variance and light tails). Counter based, so a projector is
/// regenerated from its key, never stored; arithmetic only, so it needs no
/// libm or libdevice on any target.
Value normalDraw(OpBuilder &b, Location loc, Value key, Value i, Value j) {
  Type i64 = b.getI64Type(), f32Type = b.getF32Type();
  auto c = [&](uint64_t v) {
    return arith::ConstantIntOp::create(b, loc, i64, int64_t(v));
  };
  auto mix = [&](Value x) {
    x = arith::XOrIOp::create(b, loc, x,
                              arith::ShRUIOp::create(b, loc, x, c(30)));
    x = arith::MulIOp::create(b, loc, x, c(0xBF58476D1CE4E5B9ull));
    x = arith::XOrIOp::create(b, loc, x,
                              arith::ShRUIOp::create(b, loc, x, c(27)));
    x = arith::MulIOp::create(b, loc, x, c(0x94D049BB133111EBull));
    return arith::XOrIOp::create(b, loc, x,
                                 arith::ShRUIOp::create(b, loc, x, c(31)));
  };
  auto asI64 = [&](Value v) {
    return arith::IndexCastOp::create(b, loc, i64, v);
  };
  Value x = arith::XOrIOp::create(
      b, loc, key,
      arith::XOrIOp::create(
          b, loc,
          arith::MulIOp::create(b, loc, asI64(i), c(0x9E3779B97F4A7C15ull)),
          arith::MulIOp::create(b, loc, asI64(j), c(0xC2B2AE3D27D4EB4Full))));
  x = mix(x);
  // Each 16-bit field is uniform on [0, 65535]; their sum has mean
  // 2 * 65535 and variance 4 * (65536^2 - 1) / 12.
  Value sum = f32(b, loc, -2.0 * 65535.0);
  for (int field = 0; field < 4; ++field) {
    Value bits = arith::AndIOp::create(
        b, loc, arith::ShRUIOp::create(b, loc, x, c(16 * field)), c(0xFFFF));
    sum = arith::AddFOp::create(
        b, loc, sum, arith::UIToFPOp::create(b, loc, f32Type, bits));
  }
  double sd = std::sqrt(4.0 * (65536.0 * 65536.0 - 1) / 12.0);
  return arith::MulFOp::create(b, loc, sum, f32(b, loc, 1 / sd));
}

/// APOLLO (#optim.layout<lowrank, projection = random>) for a 2-D weight
/// [A, B]: the gradient's projection R on the smaller side by a random P
/// (regenerated from the seed and the period number), AdamW's moments on
/// R (the states), each channel of the larger side scaled by |Adam update
/// of R| / |R| there, and the weight stepped by the scaled raw gradient.
LogicalResult lowerApollo(memc::optim::AdamWOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto type = cast<RankedTensorType>(op.getWeight().getType());
  memc::optim::StateLayoutAttr layout = op.getLayoutAttr();
  int64_t a = type.getDimSize(0), bs = type.getDimSize(1);
  int64_t r = std::min(layout.getRank(), std::min(a, bs));
  bool rowsSmaller = a <= bs; // project the rows: R = P g, [r, B]
  int64_t k = rowsSmaller ? a : bs, large = rowsSmaller ? bs : a;
  double lr = op.getLr().convertToDouble();
  double wd = op.getWeightDecay().convertToDouble();
  double alpha = layout.getScale() ? layout.getScale().getValueAsDouble() : 1;
  int64_t period = layout.getPeriod();
  int64_t seed = op.getSeed() ? *op.getSeed() : 0;
  Type f32Type = b.getF32Type();
  MLIRContext *ctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  auto map = [&](unsigned dims, ArrayRef<AffineExpr> exprs) {
    return AffineMap::get(dims, 0, exprs, ctx);
  };
  auto zeros = [&](ArrayRef<int64_t> shape) {
    Value empty = tensor::EmptyOp::create(b, loc, shape, f32Type);
    return linalg::FillOp::create(b, loc, f32(b, loc, 0), empty).getResult(0);
  };
  using IT = utils::IteratorType;

  // P [r, k]: mean 0, variance 1/r, keyed by the seed and the period number.
  auto pType = RankedTensorType::get({r, k}, f32Type);
  auto projector = linalg::GenericOp::create(
      b, loc, TypeRange{pType}, ValueRange{op.getStep()},
      ValueRange{tensor::EmptyOp::create(b, loc, pType.getShape(), f32Type)},
      {map(2, {}), map(2, {d(0), d(1)})}, {IT::parallel, IT::parallel},
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Type i64 = nb.getI64Type();
        auto c = [&](int64_t v) {
          return arith::ConstantIntOp::create(nb, nl, i64, v);
        };
        Value epoch = arith::DivSIOp::create(
            nb, nl, arith::SubIOp::create(nb, nl, args[0], c(1)), c(period));
        Value key = arith::XOrIOp::create(
            nb, nl, c(seed),
            arith::MulIOp::create(nb, nl, epoch,
                                  c(int64_t(0xD1B54A32D192ED03ull))));
        Value z = normalDraw(nb, nl, key, linalg::IndexOp::create(nb, nl, 0),
                             linalg::IndexOp::create(nb, nl, 1));
        linalg::YieldOp::create(
            nb, nl,
            ValueRange{arith::MulFOp::create(nb, nl, z,
                                             f32(nb, nl, 1 / std::sqrt(r)))});
      });
  Value p = projector.getResult(0);

  // R = P g ([r, B]) or g P^T ([A, r]).
  SmallVector<int64_t> rShape =
      rowsSmaller ? SmallVector<int64_t>{r, large} : SmallVector<int64_t>{large, r};
  auto rType = RankedTensorType::get(rShape, f32Type);
  Value rProj =
      rowsSmaller
          ? memc::buildContraction(b, loc, p, op.getGradient(), rShape,
                                   map(3, {d(0), d(2)}), map(3, {d(2), d(1)}))
          : memc::buildContraction(b, loc, op.getGradient(), p, rShape,
                                   map(3, {d(0), d(2)}), map(3, {d(1), d(2)}));

  // Moments on R (the states, in place) and R's Adam update N.
  SmallVector<Value> coefficients = biasCorrections(b, loc, op, 1);
  AffineMap id2 = map(2, {d(0), d(1)}), scalar2 = map(2, {});
  auto moments = linalg::GenericOp::create(
      b, loc, TypeRange{rType, rType, rType},
      ValueRange{rProj, coefficients[0], coefficients[1]},
      ValueRange{op.getStates()[0], op.getStates()[1],
                 tensor::EmptyOp::create(b, loc, rShape, f32Type)},
      {id2, scalar2, scalar2, id2, id2, id2}, {IT::parallel, IT::parallel},
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value invBc1 = args[1];
        AdamMoments next =
            adamMoments(nb, nl, op, args[0], args[3], args[4], args[2]);
        Value n = arith::DivFOp::create(
            nb, nl, arith::MulFOp::create(nb, nl, next.m, invBc1), next.denom);
        linalg::YieldOp::create(nb, nl, ValueRange{next.m, next.v, n});
      });

  // Per channel of the larger side: |N|^2 and |R|^2 over the rank. At
  // rank 1 (APOLLO-Mini) over the whole tensor instead: one projected value
  // per channel can be near zero by cancellation, and |N| / |R| with it
  // would blow the channel's step up.
  bool tensorWise = r == 1;
  unsigned channelDim = rowsSmaller ? 1 : 0;
  AffineMap channel2 = tensorWise ? map(2, {}) : map(2, {d(channelDim)});
  SmallVector<IT> normIters = {IT::parallel, IT::parallel};
  normIters[1 - channelDim] = IT::reduction;
  if (tensorWise)
    normIters = {IT::reduction, IT::reduction};
  SmallVector<int64_t> normShape =
      tensorWise ? SmallVector<int64_t>{} : SmallVector<int64_t>{large};
  auto lType = RankedTensorType::get(normShape, f32Type);
  auto norms = linalg::GenericOp::create(
      b, loc, TypeRange{lType, lType},
      ValueRange{moments.getResult(2), rProj},
      ValueRange{zeros(normShape), zeros(normShape)},
      {id2, id2, channel2, channel2}, normIters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        auto sq = [&](Value x, Value acc) {
          return arith::AddFOp::create(nb, nl, acc,
                                       arith::MulFOp::create(nb, nl, x, x));
        };
        linalg::YieldOp::create(
            nb, nl, ValueRange{sq(args[0], args[2]), sq(args[1], args[3])});
      });

  // w = w (1 - lr wd) - lr alpha g s, s = |N| / |R| per channel (or for
  // the tensor).
  auto update = linalg::GenericOp::create(
      b, loc, TypeRange{type},
      ValueRange{op.getGradient(), norms.getResult(0), norms.getResult(1)},
      ValueRange{op.getWeight()}, {id2, channel2, channel2, id2},
      {IT::parallel, IT::parallel},
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value zero = f32(nb, nl, 0);
        Value hasR = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OGT,
                                           args[2], zero);
        Value s = arith::SelectOp::create(
            nb, nl, hasR,
            math::SqrtOp::create(nb, nl,
                                 arith::DivFOp::create(nb, nl, args[1], args[2])),
            zero);
        Value w = args[3];
        if (wd != 0)
          w = arith::MulFOp::create(nb, nl, w, f32(nb, nl, 1 - lr * wd));
        Value step = arith::MulFOp::create(
            nb, nl, arith::MulFOp::create(nb, nl, args[0], s),
            f32(nb, nl, -lr * alpha));
        linalg::YieldOp::create(nb, nl,
                                ValueRange{arith::AddFOp::create(nb, nl, w, step)});
      });

  op.getNewWeight().replaceAllUsesWith(update.getResult(0));
  op.getNewStates()[0].replaceAllUsesWith(moments.getResult(0));
  op.getNewStates()[1].replaceAllUsesWith(moments.getResult(1));
  op->erase();
  return success();
}

/// -lr * sqrt(1 - beta2^t) / (1 - beta1^t): the step size of GaLore's own
/// AdamW, computed in f64 as Python computes it.
Value galoreStepSize(OpBuilder &b, Location loc, memc::optim::AdamWOp op) {
  double lr = op.getLr().convertToDouble();
  return stepCoefficients(
      b, loc, op.getStep(), 1,
      [&](OpBuilder &nb, Location nl, Value t) -> SmallVector<Value> {
        auto [bc1, bc2] = biasTerms(nb, nl, op, t);
        return {toF32(nb, nl,
                      arith::DivFOp::create(
                          nb, nl,
                          arith::MulFOp::create(nb, nl, f64(nb, nl, -lr),
                                                math::SqrtOp::create(nb, nl,
                                                                     bc2)),
                          bc1))};
      })[0];
}

/// GaLore's weight step: w + negStep * update, then the decay after it,
/// w - lr * wd * w (torch: p.add_(n, alpha=-step_size); p.add_(p,
/// alpha=-lr * wd)).
Value galoreWeightStep(OpBuilder &nb, Location nl, memc::optim::AdamWOp op,
                       Value w, Value update, Value negStep) {
  double lr = op.getLr().convertToDouble();
  double wd = op.getWeightDecay().convertToDouble();
  Value stepped = arith::AddFOp::create(
      nb, nl, w, arith::MulFOp::create(nb, nl, negStep, update));
  if (wd == 0)
    return stepped;
  return arith::AddFOp::create(
      nb, nl, stepped,
      arith::MulFOp::create(nb, nl, f32(nb, nl, -lr * wd), stepped));
}

/// GaLore's Adam element: the moments after g and N = m / (sqrt(v) + eps)
/// (no bias corrections: they are in the step size).
struct GaLoreMoments {
  Value m, v, n;
};
GaLoreMoments galoreMoments(OpBuilder &nb, Location nl,
                            memc::optim::AdamWOp op, Value g, Value m0,
                            Value v0) {
  AdamMoments next = adamMoments(nb, nl, op, g, m0, v0, f32(nb, nl, 1));
  return {next.m, next.v, arith::DivFOp::create(nb, nl, next.m, next.denom)};
}

/// GaLore's AdamW at full rank (galore_form, no projection): Adam's
/// moments, N = m / (sqrt(v) + eps), the step and then the decay.
LogicalResult lowerGaLoreDense(memc::optim::AdamWOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value negStep = galoreStepSize(b, loc, op);
  Operation *generic = buildUpdate(
      b, loc, op.getGradient(), op.getWeight(), op.getStates(), {negStep},
      [&](OpBuilder &nb, Location nl, Value g, Value w, ValueRange s,
          ValueRange c) -> SmallVector<Value> {
        GaLoreMoments next = galoreMoments(nb, nl, op, g, s[0], s[1]);
        return {galoreWeightStep(nb, nl, op, w, next.n, c[0]), next.m, next.v};
      });
  op->replaceAllUsesWith(generic->getResults());
  op->erase();
  return success();
}

/// GaLore (#optim.layout<lowrank, projection = svd>) for a 2-D weight
/// [A, B]: the projector refreshed from the gradient's SVD
/// (optim.svd_projector), R = g P^T ([A, r], when A >= B) or P^T g ([r, B]),
/// Adam's moments on R, N = m / (sqrt(v) + eps) projected back and scaled,
/// and GaLore's weight step.
LogicalResult lowerGaLore(memc::optim::AdamWOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto type = cast<RankedTensorType>(op.getWeight().getType());
  memc::optim::StateLayoutAttr layout = op.getLayoutAttr();
  int64_t a = type.getDimSize(0), bs = type.getDimSize(1);
  int64_t r = std::min(layout.getRank(), std::min(a, bs));
  bool right = a >= bs;
  double alpha = layout.getScale() ? layout.getScale().getValueAsDouble() : 1;
  Type f32Type = b.getF32Type();
  MLIRContext *ctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  auto map = [&](unsigned dims, ArrayRef<AffineExpr> exprs) {
    return AffineMap::get(dims, 0, exprs, ctx);
  };
  using IT = utils::IteratorType;

  // The projector and R: built here, or already (memc-low-rank-grad-
  // projection) where the gradient was final.
  Value p = op.getProjector(), rProj = op.getGradient();
  if (!p) {
    memc::GaLoreProjection projection = memc::buildGaLoreProjection(
        b, loc, op.getGradient(), op.getStep(), op.getStates()[2], layout,
        op.getWeight());
    p = projection.projector;
    rProj = projection.projected;
  }
  SmallVector<int64_t> rShape = right ? SmallVector<int64_t>{a, r}
                                      : SmallVector<int64_t>{r, bs};
  // Moments on R (the states, in place) and N = m / (sqrt(v) + eps).
  auto rType = RankedTensorType::get(rShape, f32Type);
  AffineMap id2 = map(2, {d(0), d(1)});
  auto moments = linalg::GenericOp::create(
      b, loc, TypeRange{rType, rType, rType}, ValueRange{rProj},
      ValueRange{op.getStates()[0], op.getStates()[1],
                 tensor::EmptyOp::create(b, loc, rShape, f32Type)},
      {id2, id2, id2, id2}, {IT::parallel, IT::parallel},
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        GaLoreMoments next = galoreMoments(nb, nl, op, args[0], args[1], args[2]);
        linalg::YieldOp::create(nb, nl, ValueRange{next.m, next.v, next.n});
      });
  // Back: N P ([A, r] x [r, B]) or P N ([A, r] x [r, B]).
  Value n = moments.getResult(2);
  Value back =
      right ? memc::buildContraction(b, loc, n, p, {a, bs},
                                     map(3, {d(0), d(2)}), map(3, {d(2), d(1)}))
            : memc::buildContraction(b, loc, p, n, {a, bs},
                                     map(3, {d(0), d(2)}), map(3, {d(2), d(1)}));
  Value negStep = galoreStepSize(b, loc, op);
  AffineMap scalar2 = map(2, {});
  auto update = linalg::GenericOp::create(
      b, loc, TypeRange{type}, ValueRange{back, negStep},
      ValueRange{op.getWeight()}, {id2, scalar2, id2},
      {IT::parallel, IT::parallel},
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value scaled = arith::MulFOp::create(nb, nl, args[0],
                                             f32(nb, nl, alpha));
        linalg::YieldOp::create(
            nb, nl,
            ValueRange{galoreWeightStep(nb, nl, op, args[2], scaled, args[1])});
      });
  op.getNewWeight().replaceAllUsesWith(update.getResult(0));
  op.getNewStates()[0].replaceAllUsesWith(moments.getResult(0));
  op.getNewStates()[1].replaceAllUsesWith(moments.getResult(1));
  if (!op.getProjector())
    op.getNewStates()[2].replaceAllUsesWith(p);
  op->erase();
  return success();
}

LogicalResult lowerAdamW(memc::optim::AdamWOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  if (!cast<ShapedType>(op.getWeight().getType()).getElementType().isF32())
    return op.emitOpError("lowers for f32 weights only");
  if (op.getLayoutAttr() &&
      op.getLayoutAttr().getKind() == memc::optim::StateKind::blockwise8)
    return lowerAdamW8bit(op);
  if (op.getLayoutAttr() &&
      op.getLayoutAttr().getKind() == memc::optim::StateKind::lowrank)
    return op.getLayoutAttr().getProjection() == memc::optim::Projection::svd
               ? lowerGaLore(op)
               : lowerApollo(op);
  if (op.getGaloreForm())
    return lowerGaLoreDense(op);
  SmallVector<Value> coefficients = biasCorrections(b, loc, op, -op.getLr().convertToDouble());
  Operation *generic = buildUpdate(
      b, loc, op.getGradient(), op.getWeight(), op.getStates(), coefficients,
      [&](OpBuilder &nb, Location nl, Value g, Value w, ValueRange s,
          ValueRange c) {
        return adamwElement(nb, nl, op, g, w, s[0], s[1], c[0], c[1]);
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
