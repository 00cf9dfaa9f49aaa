//===- OpsGatherScatter.cpp - GatherElements, ScatterElements, Scatter ----===//
//
// Element-wise gathers and scatters along one axis with run-time indices.
// GatherElements is a tensor.generate that reads the index, then the data
// (as Gather is). A scatter writes one element per index: an einsum.iterate
// over the indices carrying the output tensor, whose body reads the index
// and the update and inserts it (combined with the old value under a
// reduction). The loop carries a copy of the data, which bufferizes in
// place: one copy of the data, then one step per index.
//
//===----------------------------------------------------------------------===//
#include "OpRegistry.h"
#include "OpsCommon.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace memc::einsum;

namespace memc::onnximport {

namespace {

/// The checks GatherElements and the scatters share: data and indices of
/// one rank >= 1, integer indices, an index tensor no larger than the data
/// off the axis. Returns the normalized axis.
std::optional<int64_t> checkIndexed(NodeImporter &n, Value data,
                                    Value indices) {
  std::vector<int64_t> ds = shapeOf(data), is = shapeOf(indices);
  if (ds.empty() || ds.size() != is.size()) {
    (void)n.invalid("data (rank " + std::to_string(ds.size()) +
                    ") and indices (rank " + std::to_string(is.size()) +
                    ") must have the same rank, at least 1");
    return std::nullopt;
  }
  Type ie = elemOf(indices);
  if (!ie.isInteger(32) && !ie.isInteger(64)) {
    (void)n.invalid("indices must be int32 or int64");
    return std::nullopt;
  }
  auto axis = n.normAxis(n.attrInt("axis", 0), ds.size());
  if (!axis)
    return std::nullopt;
  for (size_t d = 0; d < ds.size(); ++d)
    if ((int64_t)d != *axis && is[d] > ds[d]) {
      (void)n.invalid("indices " + joinInts(is) + " exceed data " +
                      joinInts(ds) + " in dimension " + std::to_string(d));
      return std::nullopt;
    }
  return axis;
}

/// `at` with entry `axis` replaced by `index`.
SmallVector<Value> withAxis(ValueRange at, int64_t axis, Value index) {
  SmallVector<Value> r(at.begin(), at.end());
  r[axis] = index;
  return r;
}

/// out[i] = data[i with i[axis] = indices[i]]; out has the indices' shape.
LogicalResult importGatherElements(NodeImporter &n) {
  Value data = n.input(0), indices = n.input(1);
  auto axis = checkIndexed(n, data, indices);
  if (!axis)
    return failure();
  int64_t a = *axis, dim = shapeOf(data)[a];
  auto type = RankedTensorType::get(shapeOf(indices), elemOf(data));
  auto gen = tensor::GenerateOp::create(
      n.b(), n.loc(), type, ValueRange{},
      [&](OpBuilder &b, Location loc, ValueRange ivs) {
        Value i = tensor::ExtractOp::create(b, loc, indices, ivs);
        Value at = indexAlong(b, loc, i, dim);
        Value v = tensor::ExtractOp::create(b, loc, data, withAxis(ivs, a, at));
        tensor::YieldOp::create(b, loc, v);
      });
  n.setOutput(0, gen.getResult());
  return success();
}

enum class ScatterReduction { none, add, mul, max, min };

/// The reduction attribute: none/add/mul from opset 16, max/min from 18.
std::optional<ScatterReduction> scatterReduction(NodeImporter &n, Type elem) {
  std::string name = n.attrString("reduction", "none");
  std::optional<ScatterReduction> r;
  if (name == "none")
    r = ScatterReduction::none;
  else if (name == "add" && n.opset() >= 16)
    r = ScatterReduction::add;
  else if (name == "mul" && n.opset() >= 16)
    r = ScatterReduction::mul;
  else if (name == "max" && n.opset() >= 18)
    r = ScatterReduction::max;
  else if (name == "min" && n.opset() >= 18)
    r = ScatterReduction::min;
  if (!r) {
    (void)n.unsupported("reduction '" + name + "' (opset " +
                        std::to_string(n.opset()) + " has " +
                        (n.opset() >= 18   ? "none, add, mul, max, min"
                         : n.opset() >= 16 ? "none, add, mul"
                                           : "none") +
                        ")");
    return std::nullopt;
  }
  if (*r != ScatterReduction::none && elem.isInteger(1)) {
    (void)n.unsupported("reduction '" + name + "' of a bool tensor");
    return std::nullopt;
  }
  return r;
}

/// old `r` u, as ONNX's reference does: max/min propagate NaN.
Value combine(OpBuilder &b, Location loc, ScatterReduction r, Value old,
              Value u) {
  bool isFloat = isa<FloatType>(u.getType());
  switch (r) {
  case ScatterReduction::none:
    return u;
  case ScatterReduction::add:
    return isFloat ? (Value)arith::AddFOp::create(b, loc, old, u)
                   : (Value)arith::AddIOp::create(b, loc, old, u);
  case ScatterReduction::mul:
    return isFloat ? (Value)arith::MulFOp::create(b, loc, old, u)
                   : (Value)arith::MulIOp::create(b, loc, old, u);
  case ScatterReduction::max:
    return isFloat ? (Value)arith::MaximumFOp::create(b, loc, old, u)
                   : (Value)arith::MaxSIOp::create(b, loc, old, u);
  case ScatterReduction::min:
    return isFloat ? (Value)arith::MinimumFOp::create(b, loc, old, u)
                   : (Value)arith::MinSIOp::create(b, loc, old, u);
  }
  llvm_unreachable("unknown scatter reduction");
}

/// A copy of `x` that stays one through canonicalization (an einsum copy
/// folds to its input): the scatter's loop updates its carried tensor in
/// place, and carrying `x` itself would write into x's buffer, which may
/// be a graph input's (or a view of one) that the caller still owns.
Value freshCopy(NodeImporter &n, Value x) {
  auto gen = tensor::GenerateOp::create(
      n.b(), n.loc(), NodeImporter::typeOf(x), ValueRange{},
      [&](OpBuilder &b, Location loc, ValueRange ivs) {
        tensor::YieldOp::create(b, loc,
                                tensor::ExtractOp::create(b, loc, x, ivs));
      });
  return gen.getResult();
}

/// The position in a tensor of `shape` of step `p` of a walk that runs
/// along `axis` outermost, then the other dimensions in order (row-major).
SmallVector<Value> walkPosition(OpBuilder &b, Location loc, Value p,
                                ArrayRef<int64_t> shape, int64_t axis) {
  SmallVector<int64_t> order{axis};
  for (int64_t d = 0; d < (int64_t)shape.size(); ++d)
    if (d != axis)
      order.push_back(d);
  SmallVector<Value> pos(shape.size());
  int64_t stride = product(shape);
  for (int64_t d : order) {
    stride /= shape[d];
    Value q = p;
    if (stride != 1)
      q = arith::DivUIOp::create(
          b, loc, q, arith::ConstantIndexOp::create(b, loc, stride));
    if (d != axis) // the outermost needs no wrap
      q = arith::RemUIOp::create(
          b, loc, q, arith::ConstantIndexOp::create(b, loc, shape[d]));
    pos[d] = q;
  }
  return pos;
}

/// out = data; out[i with i[axis] = indices[i]] (op)= updates[i] for every
/// i of indices. The walk runs along the axis outermost, as ONNX's
/// reference does: with duplicate indices and no reduction, the last
/// update along the axis wins, and reductions apply in that order.
LogicalResult importScatterElements(NodeImporter &n) {
  Value data = n.input(0), indices = n.input(1), updates = n.input(2);
  auto axis = checkIndexed(n, data, indices);
  if (!axis)
    return failure();
  if (NodeImporter::typeOf(updates) !=
      RankedTensorType::get(shapeOf(indices), elemOf(data)))
    return n.invalid("updates must have the indices' shape " +
                     joinInts(shapeOf(indices)) +
                     " and the data's element type");
  auto reduction = scatterReduction(n, elemOf(data));
  if (!reduction)
    return failure();
  std::vector<int64_t> is = shapeOf(indices);
  if (product(is) == 0)
    return n.unsupported("empty indices (memc refuses zero-size tensors)");
  int64_t a = *axis, dim = shapeOf(data)[a];
  auto loop = IterateOp::create(n.b(), n.loc(), "s", product(is),
                                ValueRange{freshCopy(n, data)});
  {
    OpBuilder::InsertionGuard guard(n.b());
    OpBuilder &b = n.b();
    Location loc = n.loc();
    Block &body = loop.getBody().front();
    b.setInsertionPointToStart(&body);
    Value out = body.getArgument(1);
    SmallVector<Value> at = walkPosition(b, loc, body.getArgument(0), is, a);
    Value i = tensor::ExtractOp::create(b, loc, indices, at);
    SmallVector<Value> dst = withAxis(at, a, indexAlong(b, loc, i, dim));
    Value u = tensor::ExtractOp::create(b, loc, updates, at);
    if (*reduction != ScatterReduction::none)
      u = combine(b, loc, *reduction,
                  tensor::ExtractOp::create(b, loc, out, dst), u);
    Value next = tensor::InsertOp::create(b, loc, u, out, dst);
    YieldOp::create(b, loc, ValueRange{next});
  }
  n.setOutput(0, loop.getResult(0));
  return success();
}

} // namespace

void registerGatherScatterOps(OpRegistry &r) {
  r.add("GatherElements", importGatherElements);
  r.add("ScatterElements", importScatterElements);
  // Scatter (opsets 9-10) is ScatterElements without a reduction.
  r.add("Scatter", importScatterElements);
}

} // namespace memc::onnximport
