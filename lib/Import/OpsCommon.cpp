//===- OpsCommon.cpp - helpers the NN op families share -------------------===//
#include "OpsCommon.h"

#include "llvm/ADT/APInt.h"

#include <limits>
#include <optional>

using namespace mlir;
using namespace memc::einsum;

namespace memc::onnximport {

using TP = onnx::TensorProto;

std::string joinInts(ArrayRef<int64_t> v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

double lowestValue(Type elem) {
  if (isa<FloatType>(elem))
    return -std::numeric_limits<double>::infinity();
  if (elem.isInteger(1))
    return 0.0;
  return (double)APInt::getSignedMinValue(elem.getIntOrFloatBitWidth())
      .getSExtValue();
}

Value padConst(NodeImporter &ni, Value x, ArrayRef<int64_t> low,
               ArrayRef<int64_t> high, double value) {
  bool any = false;
  for (size_t i = 0; i < low.size(); ++i)
    any |= low[i] != 0 || high[i] != 0;
  if (!any)
    return x;
  std::vector<int64_t> shape = shapeOf(x);
  Type elem = elemOf(x);
  SmallVector<OpFoldResult> lo, hi;
  for (size_t i = 0; i < shape.size(); ++i) {
    shape[i] += low[i] + high[i];
    lo.push_back(ni.b().getIndexAttr(low[i]));
    hi.push_back(ni.b().getIndexAttr(high[i]));
  }
  Value pv = arith::ConstantOp::create(ni.b(), ni.loc(), elem,
                                       NodeImporter::scalarAttr(elem, value));
  return tensor::PadOp::create(ni.b(), ni.loc(),
                               RankedTensorType::get(shape, elem), x,
                               ArrayRef<OpFoldResult>(lo),
                               ArrayRef<OpFoldResult>(hi), pv);
}

Value reduceBinary(NodeImporter &ni, ComputeOp compute, ReduceOp red, Value x,
                   Value y, ArrayRef<int64_t> axes, bool keepDims) {
  std::vector<int64_t> xs = shapeOf(x), ys = shapeOf(y);
  size_t rank = xs.size();
  SmallVector<bool> reduced(rank, false);
  for (int64_t a : axes)
    reduced[a] = true;
  EinsumSpec spec{numberedRanks("d", rank),
                  {identityIndices(rank), broadcastIndices(ys, xs)},
                  {},
                  compute,
                  axes.empty() ? ReduceOp::none : red};
  std::vector<int64_t> outShape, keptShape;
  for (size_t i = 0; i < rank; ++i) {
    if (!reduced[i]) {
      spec.result.push_back(i);
      outShape.push_back(xs[i]);
    }
    keptShape.push_back(reduced[i] ? 1 : xs[i]);
  }
  Value r = ni.einsum(spec, ValueRange{x, y}, outShape, elemOf(x));
  return keepDims ? ni.reshape(r, keptShape) : r;
}

Value meanKeep(NodeImporter &ni, Value x, ArrayRef<int64_t> axes) {
  std::vector<int64_t> s = shapeOf(x);
  int64_t count = 1;
  for (int64_t a : axes)
    count *= s[a];
  Value sum = ni.reduce(ReduceOp::add, x, axes, /*keepDims=*/true);
  return ni.elementwise(ComputeOp::div, {sum, ni.scalar(elemOf(x), count)});
}

//===----------------------------------------------------------------------===//
// gatherAxisExact
//===----------------------------------------------------------------------===//

/// Ranks 0 .. rank-1 with `atAxis` in place of rank `axis`.
static Indices indicesWith(int64_t rank, int64_t axis, Ix atAxis) {
  Indices r = identityIndices(rank);
  r[axis] = atAxis;
  return r;
}

/// A repeat: idx[o] = floor((o + sh) / r) + b0, 0 <= sh < r, r >= 2, as
/// one copy einsum z[.., i, t, ..] = x[.., i + b0, ..] * 1 (t < r), a
/// reshape and a slice. nullopt when `idx` is not one.
static std::optional<Value> gatherRepeat(NodeImporter &ni, Value x,
                                         int64_t axis,
                                         const std::vector<int64_t> &idx) {
  std::vector<int64_t> s = shapeOf(x);
  int64_t rank = s.size(), in = s[axis], out = idx.size(), b0 = idx[0];
  Type elem = elemOf(x);
  std::vector<int64_t> runs;
  for (int64_t o = 0; o < out; ++o) {
    if (o == 0 || idx[o] != idx[o - 1])
      runs.push_back(0);
    ++runs.back();
  }
  int64_t r = 0;
  if (runs.size() >= 3)
    r = runs[1];
  else if (runs.size() == 2)
    r = std::max(runs[0], runs[1]);
  int64_t sh = r - (runs.empty() ? 0 : runs[0]);
  bool ok = r >= 2 && sh >= 0;
  for (int64_t o = 0; ok && o < out; ++o)
    ok = idx[o] == (o + sh) / r + b0;
  int64_t I = ok ? (out + sh + r - 1) / r : 0;
  if (!ok || I + b0 > in)
    return std::nullopt;
  if (b0 != 0 || I != in) {
    std::vector<int64_t> off(rank, 0), size = s, strides(rank, 1);
    off[axis] = b0;
    size[axis] = I;
    x = ni.slice(x, off, size, strides);
  }
  // Ranks d0.., t; z has t right after the axis.
  EinsumSpec spec{numberedRanks("d", rank),
                  {identityIndices(rank), {(unsigned)rank}},
                  {},
                  elem.isInteger(1) ? ComputeOp::and_ : ComputeOp::mul,
                  ReduceOp::none};
  spec.ranks.push_back("t");
  std::vector<int64_t> zShape;
  for (int64_t i = 0; i < rank; ++i) {
    spec.result.push_back(i);
    zShape.push_back(i == axis ? I : s[i]);
    if (i == axis) {
      spec.result.push_back(rank);
      zShape.push_back(r);
    }
  }
  Value ones = ni.constant(HostTensor::fromDoubles(
      onnxTypeOf(elem), {r}, std::vector<double>(r, 1.0)));
  Value z = ni.einsum(spec, ValueRange{x, ones}, zShape, elem);
  std::vector<int64_t> flat = s;
  flat[axis] = I * r;
  z = ni.reshape(z, flat);
  if (sh != 0 || I * r != out) {
    std::vector<int64_t> outShape = s, off(rank, 0), strides(rank, 1);
    outShape[axis] = out;
    off[axis] = sh;
    z = ni.slice(z, off, outShape, strides);
  }
  return z;
}

Value gatherAxisExact(NodeImporter &ni, Value x, int64_t axis,
                      const std::vector<int64_t> &idx) {
  std::vector<int64_t> s = shapeOf(x);
  int64_t rank = s.size(), in = s[axis], out = idx.size();
  Type elem = elemOf(x);
  bool identity = out == in;
  for (int64_t o = 0; identity && o < out; ++o)
    identity = idx[o] == o;
  if (identity)
    return x;
  std::vector<int64_t> outShape = s;
  outShape[axis] = out;
  // Affine: idx[o] = a*o + b, a >= 0.
  int64_t a = out > 1 ? idx[1] - idx[0] : 1, b0 = idx[0];
  bool affine = a >= 0;
  for (int64_t o = 0; affine && o < out; ++o)
    affine = idx[o] == a * o + b0;
  if (affine && a >= 1) { // a strided slice
    std::vector<int64_t> off(rank, 0), strides(rank, 1);
    off[axis] = b0;
    strides[axis] = a;
    return ni.slice(x, off, outShape, strides);
  }
  if (affine) { // one index, broadcast
    EinsumSpec spec{numberedRanks("d", rank),
                    {indicesWith(rank, axis, Ix::at(b0))},
                    identityIndices(rank),
                    ComputeOp::copy,
                    ReduceOp::none};
    return ni.einsum(spec, ValueRange{x}, outShape, elem);
  }
  if (std::optional<Value> z = gatherRepeat(ni, x, axis, idx))
    return *z;
  // General: y[.., o, ..] = max_j select(idx[o] == j, x[.., j, ..], lowest).
  std::vector<int64_t> onehot(out * in, 0);
  for (int64_t o = 0; o < out; ++o)
    onehot[o * in + idx[o]] = 1;
  Value sel = ni.constant(HostTensor::fromInts(TP::BOOL, {out, in}, onehot));
  unsigned j = rank;
  EinsumSpec spec{numberedRanks("d", rank),
                  {{(unsigned)axis, j}, indicesWith(rank, axis, j), {}},
                  identityIndices(rank),
                  ComputeOp::select,
                  ReduceOp::max};
  spec.ranks.push_back("j");
  return ni.einsum(spec,
                   ValueRange{sel, x, ni.scalar(elem, lowestValue(elem))},
                   outShape, elem);
}

Value indexAlong(OpBuilder &b, Location loc, Value i, int64_t dim) {
  Type it = i.getType();
  auto cst = [&](int64_t v) -> Value {
    return arith::ConstantOp::create(b, loc, it, b.getIntegerAttr(it, v));
  };
  Value zero = cst(0);
  Value neg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, i, zero);
  i = arith::SelectOp::create(b, loc, neg,
                              arith::AddIOp::create(b, loc, i, cst(dim)), i);
  Value last = cst(dim - 1);
  i = arith::MinSIOp::create(b, loc, arith::MaxSIOp::create(b, loc, i, zero),
                             last);
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), i);
}

} // namespace memc::onnximport
