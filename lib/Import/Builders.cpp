//===- Builders.cpp - einsum and tensor ops with ONNX semantics -----------===//
//
// The building blocks op handlers share: numpy broadcasting as einsum index
// maps (a broadcast dimension of size 1 is indexed by the constant 0),
// reductions, matmul, transposes and reshapes.
//
//===----------------------------------------------------------------------===//
#include "ImportContext.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
using namespace memc::einsum;

namespace memc::onnximport {

/// Builders take the results of other builders, which are null after an
/// error was recorded: they pass the null on instead of building on it.
static bool anyNull(ArrayRef<Value> values) {
  return llvm::any_of(values, [](Value v) { return !v; });
}

RankedTensorType NodeImporter::typeOf(Value v) {
  return llvm::cast<RankedTensorType>(v.getType());
}
std::vector<int64_t> NodeImporter::shapeOf(Value v) {
  auto s = typeOf(v).getShape();
  return std::vector<int64_t>(s.begin(), s.end());
}

/// numpy broadcast of `shapes`; nullopt when incompatible.
static std::optional<std::vector<int64_t>>
broadcastShapes(ArrayRef<std::vector<int64_t>> shapes) {
  size_t rank = 0;
  for (const auto &s : shapes)
    rank = std::max(rank, s.size());
  std::vector<int64_t> out(rank, 1);
  for (const auto &s : shapes)
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t &o = out[rank - s.size() + i];
      int64_t d = s[i];
      if (d == o || d == 1)
        continue;
      if (o != 1)
        return std::nullopt;
      o = d;
    }
  return out;
}

Value NodeImporter::einsum(const EinsumSpec &spec, ValueRange inputs,
                           ArrayRef<int64_t> shape, Type elem) {
  return buildEinsum(b(), loc(), spec, inputs,
                     RankedTensorType::get(shape, elem));
}

Value NodeImporter::elementwise(ComputeOp op, ArrayRef<Value> in,
                                Type resultElem) {
  if (anyNull(in))
    return {};
  std::vector<std::vector<int64_t>> shapes;
  for (Value v : in)
    shapes.push_back(shapeOf(v));
  auto shape = broadcastShapes(shapes);
  if (!shape) {
    (void)invalid("operand shapes cannot be broadcast together");
    return {};
  }
  if (!resultElem) {
    switch (op) {
    case ComputeOp::eq:
    case ComputeOp::lt:
    case ComputeOp::le:
    case ComputeOp::gt:
    case ComputeOp::ge:
    case ComputeOp::isnan:
    case ComputeOp::isinf:
      resultElem = b().getI1Type();
      break;
    case ComputeOp::select:
      resultElem = typeOf(in[1]).getElementType();
      break;
    default:
      resultElem = typeOf(in[0]).getElementType();
    }
  }
  EinsumSpec spec{letterRanks(shape->size()), {},
                  identityIndices(shape->size()), op, ReduceOp::none};
  for (const auto &s : shapes)
    spec.inputs.push_back(broadcastIndices(s, *shape));
  return einsum(spec, in, *shape, resultElem);
}

Value NodeImporter::reduce(ReduceOp op, Value x, ArrayRef<int64_t> axes,
                           bool keepDims, ComputeOp map) {
  if (!x)
    return {};
  std::vector<int64_t> shape = shapeOf(x);
  size_t rank = shape.size();
  if (rank == 0 || axes.empty())
    return map == ComputeOp::copy ? x : elementwise(map, {x});
  SmallVector<bool> reduced(rank, false);
  for (int64_t a : axes)
    reduced[a] = true;
  EinsumSpec spec{letterRanks(rank), {identityIndices(rank)}, {}, map, op};
  std::vector<int64_t> outShape, keptShape;
  for (size_t i = 0; i < rank; ++i) {
    if (!reduced[i]) {
      spec.result.push_back(i);
      outShape.push_back(shape[i]);
    }
    keptShape.push_back(reduced[i] ? 1 : shape[i]);
  }
  Type elem = typeOf(x).getElementType();
  if (map == ComputeOp::isnan || map == ComputeOp::isinf)
    elem = b().getI1Type();
  Value r = einsum(spec, ValueRange{x}, outShape, elem);
  return keepDims ? reshape(r, keptShape) : r;
}

Value NodeImporter::matmul(Value a, Value bv) {
  if (!a || !bv)
    return {};
  std::vector<int64_t> sa = shapeOf(a), sb = shapeOf(bv);
  if (sa.empty() || sb.empty()) {
    (void)invalid("MatMul operands must have rank >= 1");
    return {};
  }
  bool aVec = sa.size() == 1, bVec = sb.size() == 1;
  if (aVec)
    sa.insert(sa.begin(), 1);
  if (bVec)
    sb.push_back(1);
  int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
  if (sb[sb.size() - 2] != k) {
    (void)invalid("MatMul inner dimensions differ (" + std::to_string(k) +
                  " vs " + std::to_string(sb[sb.size() - 2]) + ")");
    return {};
  }
  std::vector<int64_t> ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
  auto batch = broadcastShapes({ba, bb});
  if (!batch) {
    (void)invalid("MatMul batch dimensions cannot be broadcast");
    return {};
  }
  size_t nb = batch->size();
  // Ranks: batch..., m, n, k; a vector operand has no m (or n) rank.
  EinsumSpec spec{numberedRanks("b", nb), {}, rankRange(0, nb),
                  ComputeOp::mul, ReduceOp::add};
  unsigned next = nb, mRank = 0, nRank = 0;
  if (!aVec) {
    mRank = next++;
    spec.ranks.push_back("m");
  }
  if (!bVec) {
    nRank = next++;
    spec.ranks.push_back("n");
  }
  unsigned kRank = next;
  spec.ranks.push_back("k");
  Indices ia = broadcastIndices(ba, *batch), ib = broadcastIndices(bb, *batch);
  std::vector<int64_t> outShape(batch->begin(), batch->end());
  if (!aVec) {
    ia.push_back(mRank);
    spec.result.push_back(mRank);
    outShape.push_back(m);
  }
  ia.push_back(kRank);
  ib.push_back(kRank);
  if (!bVec) {
    ib.push_back(nRank);
    spec.result.push_back(nRank);
    outShape.push_back(n);
  }
  spec.inputs = {ia, ib};
  return einsum(spec, ValueRange{a, bv}, outShape, typeOf(a).getElementType());
}

Value NodeImporter::transpose(Value x, ArrayRef<int64_t> perm) {
  if (!x)
    return {};
  std::vector<int64_t> shape = shapeOf(x);
  size_t rank = shape.size();
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i)
    identity &= perm[i] == (int64_t)i;
  if (identity)
    return x;
  EinsumSpec spec{letterRanks(rank), {identityIndices(rank)}, {},
                  ComputeOp::copy, ReduceOp::none};
  std::vector<int64_t> outShape;
  for (int64_t p : perm) {
    spec.result.push_back(p);
    outShape.push_back(shape[p]);
  }
  return einsum(spec, ValueRange{x}, outShape, typeOf(x).getElementType());
}

Value NodeImporter::reshape(Value x, ArrayRef<int64_t> shape) {
  if (!x)
    return {};
  RankedTensorType type = typeOf(x);
  if (type.getShape() == shape)
    return x;
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  if (n != type.getNumElements()) {
    (void)invalid("cannot reshape " + std::to_string(type.getNumElements()) +
                  " elements to " + std::to_string(n));
    return {};
  }
  Type elem = type.getElementType();
  // Through a flat 1-D view: collapse_shape then expand_shape, both pure
  // views after bufferization.
  Value flat = x;
  if (type.getRank() != 1) {
    SmallVector<ReassociationIndices> all;
    if (type.getRank() > 0) {
      ReassociationIndices group;
      for (int64_t i = 0; i < type.getRank(); ++i)
        group.push_back(i);
      all.push_back(group);
      flat = tensor::CollapseShapeOp::create(
          b(), loc(), RankedTensorType::get({n}, elem), x, all);
    } else {
      flat = tensor::ExpandShapeOp::create(
          b(), loc(), RankedTensorType::get({1}, elem), x, all);
    }
  }
  if (shape.size() == 1)
    return flat;
  SmallVector<ReassociationIndices> all;
  if (!shape.empty()) {
    ReassociationIndices group;
    for (size_t i = 0; i < shape.size(); ++i)
      group.push_back(i);
    all.push_back(group);
    return tensor::ExpandShapeOp::create(
        b(), loc(), RankedTensorType::get(shape, elem), flat, all);
  }
  return tensor::CollapseShapeOp::create(
      b(), loc(), RankedTensorType::get({}, elem), flat, all);
}

Value NodeImporter::broadcastTo(Value x, ArrayRef<int64_t> shape) {
  if (!x)
    return {};
  std::vector<int64_t> s = shapeOf(x);
  if (s == std::vector<int64_t>(shape.begin(), shape.end()))
    return x;
  auto target = broadcastShapes({s, std::vector<int64_t>(shape.begin(),
                                                         shape.end())});
  if (!target) {
    (void)invalid("cannot broadcast to the requested shape");
    return {};
  }
  EinsumSpec spec{letterRanks(target->size()),
                  {broadcastIndices(s, *target)},
                  identityIndices(target->size()), ComputeOp::copy,
                  ReduceOp::none};
  return einsum(spec, ValueRange{x}, *target, typeOf(x).getElementType());
}

Value NodeImporter::cast(Value x, Type elem) {
  if (!x)
    return {};
  if (typeOf(x).getElementType() == elem)
    return x;
  return elementwise(ComputeOp::copy, {x}, elem);
}

Value NodeImporter::constantIn(OpBuilder &b, Location loc,
                               const HostTensor &t) {
  Type elem = onnxElemType(b.getContext(), t.elemType);
  auto type = RankedTensorType::get(t.shape, elem);
  DenseElementsAttr attr;
  if (elem.isInteger(1)) {
    SmallVector<bool> bits;
    for (int64_t i = 0; i < t.numel(); ++i)
      bits.push_back(t.getInt(i) != 0);
    attr = DenseElementsAttr::get(type, bits);
  } else {
    attr = DenseElementsAttr::getFromRawBuffer(
        type, ArrayRef<char>(t.raw.data(), t.raw.size()));
  }
  return arith::ConstantOp::create(b, loc, type, attr);
}

Value NodeImporter::constant(const HostTensor &t) {
  return constantIn(b(), loc(), t);
}

TypedAttr NodeImporter::scalarAttr(Type elem, double v) {
  if (auto ft = dyn_cast<FloatType>(elem))
    return FloatAttr::get(ft, v);
  unsigned w = elem.getIntOrFloatBitWidth();
  if (w == 1)
    return IntegerAttr::get(elem, APInt(1, v != 0 ? 1 : 0));
  return IntegerAttr::get(elem, APInt(w, static_cast<int64_t>(v),
                                      /*isSigned=*/true));
}

Value NodeImporter::scalar(Type elem, double v) {
  auto type = RankedTensorType::get({}, elem);
  return arith::ConstantOp::create(
      b(), loc(), type,
      DenseElementsAttr::get(type, ArrayRef<Attribute>{scalarAttr(elem, v)}));
}

Value NodeImporter::copy(Value x) {
  if (!x)
    return {};
  return elementwise(ComputeOp::copy, {x}, typeOf(x).getElementType());
}

Value NodeImporter::slice(Value x, ArrayRef<int64_t> offsets,
                          ArrayRef<int64_t> sizes, ArrayRef<int64_t> strides) {
  if (!x)
    return {};
  auto resultType = RankedTensorType::get(sizes, typeOf(x).getElementType());
  return tensor::ExtractSliceOp::create(b(), loc(), resultType, x, ValueRange{},
                                        ValueRange{}, ValueRange{}, offsets,
                                        sizes, strides);
}

Value NodeImporter::concat(ArrayRef<Value> parts, int64_t axis) {
  if (parts.empty() || anyNull(parts))
    return {};
  if (parts.size() == 1)
    return parts[0];
  std::vector<int64_t> shape = shapeOf(parts[0]);
  int64_t total = 0;
  for (Value p : parts) {
    std::vector<int64_t> s = shapeOf(p);
    if (s.size() != shape.size()) {
      (void)invalid("Concat inputs differ in rank");
      return {};
    }
    for (size_t i = 0; i < s.size(); ++i)
      if ((int64_t)i != axis && s[i] != shape[i]) {
        (void)invalid("Concat inputs differ outside the axis");
        return {};
      }
    total += s[axis];
  }
  shape[axis] = total;
  Type elem = typeOf(parts[0]).getElementType();
  Value acc = tensor::EmptyOp::create(b(), loc(), shape, elem);
  int64_t offset = 0;
  for (Value p : parts) {
    std::vector<int64_t> s = shapeOf(p);
    if (s[axis] == 0)
      continue;
    SmallVector<int64_t> offsets(shape.size(), 0), strides(shape.size(), 1);
    offsets[axis] = offset;
    acc = tensor::InsertSliceOp::create(b(), loc(), p, acc, ValueRange{},
                                        ValueRange{}, ValueRange{}, offsets, s,
                                        strides);
    offset += s[axis];
  }
  return acc;
}

} // namespace memc::onnximport
