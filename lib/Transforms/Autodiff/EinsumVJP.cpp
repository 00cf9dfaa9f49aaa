//===- EinsumVJP.cpp - gradients of einsum.einsum -------------------------===//
//
// For Z[out] = reduce_R f(A0[m0], A1[m1], ...), the gradient of input i is
//   dAi[mi] = sum over the ranks mi does not index of dZ[out] * df/dai,
// built in the forward op's own rank space, so each operand keeps its map.
// A contraction (f = mul, reduce add) gives a contraction of dZ with the
// other operand; a derivative that is an expression of the operands is
// computed pointwise first (those einsums fuse later); a max- or
// min-reduction sends dZ to the elements equal to the result (its argmax).
//
//===----------------------------------------------------------------------===//
#include "AutodiffInternal.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <cmath>

using namespace mlir;
using memc::einsum::ComputeOp;
using memc::einsum::EinsumOp;
using memc::einsum::ReduceOp;

namespace memc::autodiff {

PointwiseBuilder::PointwiseBuilder(OpBuilder &b, Location loc,
                                   EinsumOp forward)
    : b(b), loc(loc), extents(forward.getRankExtents()) {
  for (Attribute a : forward.getRanks())
    ranks.push_back(cast<StringAttr>(a).getValue());
}

Term PointwiseBuilder::apply(ComputeOp compute, ArrayRef<Term> inputs,
                             Type elem) {
  SmallVector<Value> values;
  SmallVector<AffineMap> maps;
  for (const Term &t : inputs) {
    values.push_back(t.value);
    maps.push_back(t.map);
  }
  AffineMap identity =
      AffineMap::getMultiDimIdentityMap(ranks.size(), b.getContext());
  maps.push_back(identity);
  auto type = RankedTensorType::get(extents, elem);
  Value v = EinsumOp::create(b, loc, type, values, maps, ranks, compute,
                             ReduceOp::none);
  return {v, identity};
}

Value PointwiseBuilder::reduceTo(ComputeOp compute, ArrayRef<Term> inputs,
                                 AffineMap target, ArrayRef<int64_t> shape,
                                 Type elem) {
  // The dims `target` names (its constant-0 results are size-1 dimensions
  // added back by a reshape).
  SmallVector<AffineExpr> dims;
  SmallVector<int64_t> squeezed;
  llvm::SmallBitVector used(ranks.size());
  for (AffineExpr e : target.getResults())
    if (auto d = dyn_cast<AffineDimExpr>(e)) {
      dims.push_back(d);
      squeezed.push_back(extents[d.getPosition()]);
      used.set(d.getPosition());
    }
  SmallVector<Value> values;
  SmallVector<AffineMap> maps;
  for (const Term &t : inputs) {
    values.push_back(t.value);
    maps.push_back(t.map);
  }
  maps.push_back(AffineMap::get(ranks.size(), 0, dims, b.getContext()));
  // Ranks neither the target nor any input indexes plainly get their extent
  // from nowhere: sum them as a multiplication by their extent instead.
  llvm::SmallBitVector plain = used;
  for (const Term &t : inputs)
    for (AffineExpr e : t.map.getResults())
      if (auto d = dyn_cast<AffineDimExpr>(e))
        plain.set(d.getPosition());
  double factor = 1;
  SmallVector<StringRef> opRanks;
  SmallVector<unsigned> keep;
  for (unsigned r = 0; r < ranks.size(); ++r) {
    if (plain.test(r)) {
      keep.push_back(r);
      continue;
    }
    factor *= extents[r];
  }
  bool reduces = used.count() != plain.count();
  // A plain copy into the same index space is the input itself.
  AffineMap squeezedMap = maps.back();
  if (compute == ComputeOp::copy && inputs.size() == 1 && !reduces &&
      inputs[0].map == squeezedMap &&
      cast<RankedTensorType>(inputs[0].value.getType()).getElementType() ==
          elem)
    return reshapeTo(b, loc, inputs[0].value, shape);
  Value v;
  auto type = RankedTensorType::get(squeezed, elem);
  if (keep.size() == ranks.size()) {
    v = EinsumOp::create(b, loc, type, values, maps, ranks, compute,
                         reduces ? ReduceOp::add : ReduceOp::none);
  } else {
    // Renumber the maps onto the ranks that stay.
    SmallVector<AffineExpr> replace(ranks.size(), b.getAffineConstantExpr(0));
    for (auto [i, r] : llvm::enumerate(keep)) {
      replace[r] = b.getAffineDimExpr(i);
      opRanks.push_back(ranks[r]);
    }
    for (AffineMap &m : maps)
      m = m.replaceDimsAndSymbols(replace, {}, keep.size(), 0);
    v = EinsumOp::create(b, loc, type, values, maps, opRanks, compute,
                         reduces ? ReduceOp::add : ReduceOp::none);
  }
  if (factor != 1) {
    auto scalarType = RankedTensorType::get({}, elem);
    Value c = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(scalarType, b.getFloatAttr(elem, factor)));
    SmallVector<StringRef> names;
    SmallVector<AffineExpr> ids;
    for (unsigned i = 0; i < squeezed.size(); ++i) {
      names.push_back(ranks[cast<AffineDimExpr>(dims[i]).getPosition()]);
      ids.push_back(b.getAffineDimExpr(i));
    }
    AffineMap id = AffineMap::get(squeezed.size(), 0, ids, b.getContext());
    AffineMap none = AffineMap::get(squeezed.size(), 0, {}, b.getContext());
    v = EinsumOp::create(b, loc, type, ValueRange{v, c}, {id, none, id}, names,
                         ComputeOp::mul, ReduceOp::none);
  }
  return reshapeTo(b, loc, v, shape);
}

Term PointwiseBuilder::constant(double value, Type elem) {
  auto type = RankedTensorType::get({}, elem);
  Attribute attr = isa<FloatType>(elem) ? Attribute(b.getFloatAttr(elem, value))
                                        : Attribute(b.getIntegerAttr(
                                              elem, (int64_t)value));
  Value c = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, attr));
  return {c, AffineMap::get(ranks.size(), 0, {}, b.getContext())};
}

Value reshapeTo(OpBuilder &b, Location loc, Value value,
                ArrayRef<int64_t> shape) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getShape() == shape)
    return value;
  auto target = RankedTensorType::get(shape, type.getElementType());
  if (type.getRank() == 0)
    return tensor::ExpandShapeOp::create(b, loc, target, value,
                                         ArrayRef<ReassociationIndices>{});
  if (shape.empty())
    return tensor::CollapseShapeOp::create(b, loc, target, value,
                                           ArrayRef<ReassociationIndices>{});
  ReassociationIndices all;
  for (int64_t i = 0; i < type.getRank(); ++i)
    all.push_back(i);
  Value flat = value;
  if (type.getRank() != 1)
    flat = tensor::CollapseShapeOp::create(b, loc, value,
                                           ArrayRef<ReassociationIndices>{all});
  if (shape.size() == 1)
    return flat;
  ReassociationIndices out;
  for (size_t i = 0; i < shape.size(); ++i)
    out.push_back(i);
  return tensor::ExpandShapeOp::create(b, loc, target, flat,
                                       ArrayRef<ReassociationIndices>{out});
}

bool isGradientTarget(AffineMap map) {
  llvm::SmallBitVector seen(map.getNumDims());
  for (AffineExpr e : map.getResults()) {
    if (auto c = dyn_cast<AffineConstantExpr>(e)) {
      if (c.getValue() != 0)
        return false;
      continue;
    }
    auto d = dyn_cast<AffineDimExpr>(e);
    if (!d || seen.test(d.getPosition()))
      return false;
    seen.set(d.getPosition());
  }
  return true;
}

namespace {
/// `e` as stride * rank + offset once the ranks in `fixed` take `values`;
/// false when more than one other rank remains.
bool splitWindow(AffineExpr e, const llvm::SmallBitVector &fixed,
                 ArrayRef<int64_t> values, int64_t &stride, int64_t &rank,
                 int64_t &offset) {
  stride = 0;
  rank = -1;
  offset = 0;
  bool ok = true;
  std::function<void(AffineExpr, int64_t)> walk = [&](AffineExpr x,
                                                       int64_t coeff) {
    if (auto c = dyn_cast<AffineConstantExpr>(x)) {
      offset += coeff * c.getValue();
      return;
    }
    if (auto d = dyn_cast<AffineDimExpr>(x)) {
      if (fixed.test(d.getPosition())) {
        offset += coeff * values[d.getPosition()];
      } else if (rank < 0 || rank == (int64_t)d.getPosition()) {
        rank = d.getPosition();
        stride += coeff;
      } else {
        ok = false;
      }
      return;
    }
    auto bin = cast<AffineBinaryOpExpr>(x);
    if (x.getKind() == AffineExprKind::Add) {
      walk(bin.getLHS(), coeff);
      walk(bin.getRHS(), coeff);
    } else if (x.getKind() == AffineExprKind::Mul) {
      if (auto c = dyn_cast<AffineConstantExpr>(bin.getRHS()))
        walk(bin.getLHS(), coeff * c.getValue());
      else if (auto c = dyn_cast<AffineConstantExpr>(bin.getLHS()))
        walk(bin.getRHS(), coeff * c.getValue());
      else
        ok = false;
    } else {
      ok = false;
    }
  };
  walk(e, 1);
  return ok;
}
} // namespace

LogicalResult windowVJP(OpBuilder &b, EinsumOp op, unsigned i, Value dz,
                        function_ref<void(const SliceContribution &)> add) {
  Location loc = op.getLoc();
  unsigned numRanks = op.getNumRanks();
  SmallVector<int64_t> extents = op.getRankExtents();
  // Fixed ranks: those in a window expression of operand i that the result
  // does not index (a kernel offset); each of their values is one slice.
  llvm::SmallBitVector inResult(numRanks), fixed(numRanks);
  for (AffineExpr e : op.getResultMap().getResults())
    inResult.set(cast<AffineDimExpr>(e).getPosition());
  for (AffineExpr e : op.getInputMap(i).getResults()) {
    if (isa<AffineDimExpr, AffineConstantExpr>(e))
      continue;
    e.walk([&](AffineExpr x) {
      if (auto d = dyn_cast<AffineDimExpr>(x))
        if (!inResult.test(d.getPosition()))
          fixed.set(d.getPosition());
    });
  }
  int64_t combos = 1;
  for (int r : fixed.set_bits())
    combos *= extents[r];
  if (combos > 4096)
    return op.emitOpError("has no gradient rule for operand #")
           << i << ": its window has " << combos << " offsets (at most 4096)";
  SmallVector<int64_t> values(numRanks, 0);
  // The ranks that stay, renumbered.
  SmallVector<AffineExpr> renumber(numRanks, b.getAffineConstantExpr(0));
  SmallVector<StringRef> ranks;
  for (unsigned r = 0; r < numRanks; ++r)
    if (!fixed.test(r)) {
      renumber[r] = b.getAffineDimExpr(ranks.size());
      ranks.push_back(cast<StringAttr>(op.getRanks()[r]).getValue());
    }
  for (int64_t c = 0; c < combos; ++c) {
    int64_t rest = c;
    for (int r : fixed.set_bits()) {
      values[r] = rest % extents[r];
      rest /= extents[r];
    }
    // Every operand read through a window becomes the strided slice that
    // the window reads at these offsets, indexed by plain ranks.
    SmallVector<Value> inputs;
    SmallVector<AffineMap> maps;
    SliceContribution piece;
    for (unsigned j = 0, e = op.getInputs().size(); j < e; ++j) {
      Value in = op.getInputs()[j];
      auto type = cast<RankedTensorType>(in.getType());
      AffineMap map = op.getInputMap(j);
      SmallVector<int64_t> offsets, sizes, strides;
      SmallVector<AffineExpr> exprs;
      bool sliced = false;
      for (auto [d, e] : llvm::enumerate(map.getResults())) {
        int64_t stride, rank, offset;
        if (!splitWindow(e, fixed, values, stride, rank, offset))
          return op.emitOpError("has no gradient rule for operand #")
                 << i << ": index expression of operand #" << j
                 << " mixes two ranks the result indexes";
        if (rank < 0) { // a constant now: one element of this dimension
          offsets.push_back(offset);
          sizes.push_back(1);
          strides.push_back(1);
          exprs.push_back(b.getAffineConstantExpr(0));
          sliced |= type.getDimSize(d) != 1;
          continue;
        }
        offsets.push_back(offset);
        sizes.push_back(extents[rank]);
        strides.push_back(stride);
        exprs.push_back(renumber[rank]);
        sliced |= offset != 0 || stride != 1 ||
                  extents[rank] != type.getDimSize(d);
      }
      maps.push_back(AffineMap::get(ranks.size(), 0, exprs, b.getContext()));
      if (sliced) {
        auto sliceType = RankedTensorType::get(sizes, type.getElementType());
        SmallVector<OpFoldResult> o, s, t;
        for (size_t k = 0; k < offsets.size(); ++k) {
          o.push_back(b.getIndexAttr(offsets[k]));
          s.push_back(b.getIndexAttr(sizes[k]));
          t.push_back(b.getIndexAttr(strides[k]));
        }
        in = tensor::ExtractSliceOp::create(b, loc, sliceType, in, o, s, t);
      }
      if (j == i) {
        piece.whole = !sliced;
        piece.offsets = offsets;
        piece.sizes = sizes;
        piece.strides = strides;
      }
      inputs.push_back(in);
    }
    maps.push_back(
        op.getResultMap().replaceDimsAndSymbols(renumber, {}, ranks.size(), 0));
    // The forward op at these offsets: only a vehicle for the rules, which
    // read its operands and maps; where they read its result they need the
    // real one (a max-reduction's), so that replaces it before it goes.
    bool reduces = false;
    for (unsigned r = 0; r < numRanks; ++r)
      reduces |= !fixed.test(r) && !inResult.test(r);
    auto clone = EinsumOp::create(
        b, loc, op.getResult().getType(), inputs, maps, ranks,
        op.getCompute(),
        reduces ? op.getReduce() : einsum::ReduceOp::none);
    FailureOr<Value> g = einsumVJP(b, clone, i, dz, op);
    clone.getResult().replaceAllUsesWith(op.getResult());
    clone.erase();
    if (failed(g))
      return failure();
    if (!*g)
      continue;
    piece.value = *g;
    add(piece);
  }
  return success();
}

FailureOr<Value> einsumVJP(OpBuilder &b, EinsumOp op, unsigned i, Value dz,
                           EinsumOp forward) {
  if (!forward)
    forward = op;
  Location loc = op.getLoc();
  PointwiseBuilder pw(b, loc, op);
  auto inType = cast<RankedTensorType>(op.getInputs()[i].getType());
  Type elem = inType.getElementType();
  Type i1 = b.getI1Type();
  AffineMap target = op.getInputMap(i);
  if (!isGradientTarget(target))
    return op.emitOpError("has no gradient rule for operand #")
           << i << ": its index expression is a window (a strided or "
           << "dilated view), which memc-autodiff cannot differentiate yet";
  auto operand = [&](unsigned j) -> Term {
    return {op.getInputs()[j], op.getInputMap(j)};
  };
  Term dZ{dz, op.getResultMap()};
  ComputeOp f = op.getCompute();
  ReduceOp r = op.getReduce();
  // A max-pooling window at one offset: the maximum is the whole window's.
  if (forward.getReduce() == ReduceOp::max ||
      forward.getReduce() == ReduceOp::min)
    r = forward.getReduce();
  // The forward value at every point of the rank space.
  auto pointValue = [&]() -> Term {
    if (r == ReduceOp::none)
      return {op.getResult(), op.getResultMap()};
    SmallVector<Term> ins;
    for (unsigned j = 0, e = op.getInputs().size(); j < e; ++j)
      ins.push_back(operand(j));
    return pw.apply(f, ins, elem);
  };
  auto sum = [&](ComputeOp c, ArrayRef<Term> ins) -> Value {
    return pw.reduceTo(c, ins, target, inType.getShape(), elem);
  };
  // dZ times a pointwise derivative D.
  auto times = [&](Term d) -> Value { return sum(ComputeOp::mul, {dZ, d}); };
  auto mask = [&](Term cond) -> Value {
    Term zero = pw.constant(0, elem);
    return sum(ComputeOp::copy,
               {pw.apply(ComputeOp::select, {cond, dZ, zero}, elem)});
  };
  auto cst = [&](double v) { return pw.constant(v, elem); };
  auto ap = [&](ComputeOp c, ArrayRef<Term> ins) {
    return pw.apply(c, ins, elem);
  };
  auto cmp = [&](ComputeOp c, ArrayRef<Term> ins) {
    return pw.apply(c, ins, i1);
  };

  if (r == ReduceOp::max || r == ReduceOp::min) {
    // The gradient goes where the mapped value equals the extremum (every
    // tied element gets it), then through the map action.
    Term z{forward.getResult(), op.getResultMap()};
    if (f == ComputeOp::copy)
      return mask(cmp(ComputeOp::eq, {operand(0), z}));
    if (f != ComputeOp::mul && f != ComputeOp::add && f != ComputeOp::sub)
      return op.emitOpError("has no gradient rule: a ")
             << stringifyReduceOp(r) << "-reduction of '"
             << stringifyComputeOp(f) << "'";
    Term value = pw.apply(f, {operand(0), operand(1)}, elem);
    Term routed = pw.apply(ComputeOp::select,
                           {cmp(ComputeOp::eq, {value, z}), dZ, cst(0)}, elem);
    if (f == ComputeOp::mul)
      return sum(ComputeOp::mul, {routed, operand(1 - i)});
    return sum(f == ComputeOp::sub && i == 1 ? ComputeOp::neg : ComputeOp::copy,
               {routed});
  }
  if (r != ReduceOp::none && r != ReduceOp::add)
    return op.emitOpError("has no gradient rule: a ")
           << stringifyReduceOp(r) << "-reduction";

  switch (f) {
  case ComputeOp::copy:
  case ComputeOp::add:
    return sum(ComputeOp::copy, {dZ});
  case ComputeOp::neg:
    return sum(ComputeOp::neg, {dZ});
  case ComputeOp::sub:
    return sum(i == 0 ? ComputeOp::copy : ComputeOp::neg, {dZ});
  case ComputeOp::mul:
    return sum(ComputeOp::mul, {dZ, operand(1 - i)});
  case ComputeOp::mul_add:
    if (i == 2)
      return sum(ComputeOp::copy, {dZ});
    return sum(ComputeOp::mul, {dZ, operand(1 - i)});
  case ComputeOp::div:
    if (i == 0)
      return sum(ComputeOp::div, {dZ, operand(1)});
    return times(ap(ComputeOp::neg, {ap(ComputeOp::div,
                                         {pointValue(), operand(1)})}));
  case ComputeOp::relu:
    return mask(cmp(ComputeOp::gt, {operand(0), cst(0)}));
  case ComputeOp::exp:
    return times(pointValue());
  case ComputeOp::sub_exp:
    return i == 0 ? times(pointValue())
                  : times(ap(ComputeOp::neg, {pointValue()}));
  case ComputeOp::log:
    return sum(ComputeOp::div, {dZ, operand(0)});
  case ComputeOp::sqrt:
    return times(ap(ComputeOp::div, {cst(0.5), pointValue()}));
  case ComputeOp::rsqrt: {
    Term z = pointValue();
    return times(ap(ComputeOp::mul,
                    {cst(-0.5), ap(ComputeOp::mul,
                                   {z, ap(ComputeOp::mul, {z, z})})}));
  }
  case ComputeOp::reciprocal: {
    Term z = pointValue();
    return times(ap(ComputeOp::neg, {ap(ComputeOp::mul, {z, z})}));
  }
  case ComputeOp::tanh: {
    Term z = pointValue();
    return times(ap(ComputeOp::sub, {cst(1), ap(ComputeOp::mul, {z, z})}));
  }
  case ComputeOp::sigmoid: {
    Term z = pointValue();
    return times(ap(ComputeOp::mul, {z, ap(ComputeOp::sub, {cst(1), z})}));
  }
  case ComputeOp::erf: {
    Term a = operand(0);
    Term g = ap(ComputeOp::exp,
                {ap(ComputeOp::neg, {ap(ComputeOp::mul, {a, a})})});
    return times(ap(ComputeOp::mul, {cst(2 / std::sqrt(M_PI)), g}));
  }
  case ComputeOp::softplus:
    return times(ap(ComputeOp::sigmoid, {operand(0)}));
  case ComputeOp::abs:
    return times(ap(ComputeOp::sign, {operand(0)}));
  case ComputeOp::sin:
    return times(ap(ComputeOp::cos, {operand(0)}));
  case ComputeOp::cos:
    return times(ap(ComputeOp::neg, {ap(ComputeOp::sin, {operand(0)})}));
  case ComputeOp::max:
    return mask(cmp(i == 0 ? ComputeOp::ge : ComputeOp::lt,
                    {operand(0), operand(1)}));
  case ComputeOp::min:
    return mask(cmp(i == 0 ? ComputeOp::le : ComputeOp::gt,
                    {operand(0), operand(1)}));
  case ComputeOp::pow:
    if (i == 0)
      return times(ap(ComputeOp::mul,
                      {operand(1),
                       ap(ComputeOp::pow,
                          {operand(0),
                           ap(ComputeOp::sub, {operand(1), cst(1)})})}));
    return times(
        ap(ComputeOp::mul, {pointValue(), ap(ComputeOp::log, {operand(0)})}));
  case ComputeOp::sq_diff: {
    Term d = ap(ComputeOp::sub, {operand(0), operand(1)});
    return times(ap(ComputeOp::mul, {cst(i == 0 ? 2 : -2), d}));
  }
  case ComputeOp::select: {
    if (i == 0)
      return Value();
    Term zero = cst(0);
    Term picked = i == 1 ? ap(ComputeOp::select, {operand(0), dZ, zero})
                         : ap(ComputeOp::select, {operand(0), zero, dZ});
    return sum(ComputeOp::copy, {picked});
  }
  case ComputeOp::clamp: {
    Term a = operand(0);
    Term inside =
        i == 0 ? pw.apply(ComputeOp::and_,
                          {cmp(ComputeOp::ge, {a, operand(1)}),
                           cmp(ComputeOp::le, {a, operand(2)})},
                          i1)
        : i == 1 ? cmp(ComputeOp::lt, {a, operand(1)})
                 : cmp(ComputeOp::gt, {a, operand(2)});
    return mask(inside);
  }
  case ComputeOp::floor:
  case ComputeOp::ceil:
  case ComputeOp::round:
  case ComputeOp::sign:
    return Value(); // piecewise constant: a zero gradient
  default:
    return op.emitOpError("has no gradient rule for its map action '")
           << stringifyComputeOp(f) << "'";
  }
}

} // namespace memc::autodiff
