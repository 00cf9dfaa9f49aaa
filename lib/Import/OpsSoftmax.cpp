//===- OpsSoftmax.cpp - Softmax, LogSoftmax, Hardmax, ArgMax, ArgMin ------===//
//
// Softmax is the max-shifted 3-pass cascade FuseMax recognizes: GM = max x,
// SN = exp(x - GM), SD = sum SN, y = SN / SD. Hardmax and ArgMax/ArgMin
// pick the first (or last) extreme position exactly, NaN included.
//
//===----------------------------------------------------------------------===//
#include "OpRegistry.h"
#include "OpsCommon.h"

using namespace mlir;
using namespace memc::einsum;

namespace memc::onnximport {

using TP = onnx::TensorProto;

/// The normalized axes: opset < 13 coerces to 2-D at `axis` (default 1),
/// i.e. all axes from `axis` on; opset >= 13 normalizes along `axis`
/// (default -1).
static std::optional<std::vector<int64_t>> softmaxAxes(NodeImporter &ni,
                                                       int64_t rank) {
  bool v13 = ni.opset() >= 13;
  if (rank == 0) {
    (void)ni.invalid("input must have rank >= 1");
    return std::nullopt;
  }
  auto axis = ni.normAxis(ni.attrInt("axis", v13 ? -1 : 1), rank);
  if (!axis)
    return std::nullopt;
  std::vector<int64_t> axes;
  for (int64_t i = *axis; i < (v13 ? *axis + 1 : rank); ++i)
    axes.push_back(i);
  return axes;
}

static LogicalResult importSoftmax(NodeImporter &ni, bool log) {
  Value x = ni.input(0);
  Type elem = elemOf(x);
  if (!isa<FloatType>(elem))
    return ni.unsupported("element type must be floating point");
  auto axes = softmaxAxes(ni, shapeOf(x).size());
  if (!axes)
    return failure();
  Value xc = ni.cast(x, computeElem(elem));
  // GM = max x; SN = exp(x - GM); SD = sum SN; y = SN / SD
  // (LogSoftmax: y = x - GM - log SD).
  Value gm = ni.reduce(ReduceOp::max, xc, *axes, /*keepDims=*/true);
  Value sn = ni.elementwise(ComputeOp::sub_exp, {xc, gm});
  Value sd = ni.reduce(ReduceOp::add, sn, *axes, /*keepDims=*/true);
  Value y;
  if (!log) {
    y = ni.elementwise(ComputeOp::div, {sn, sd});
  } else {
    Value d = ni.elementwise(ComputeOp::sub, {xc, gm});
    y = ni.elementwise(ComputeOp::sub,
                       {d, ni.elementwise(ComputeOp::log, {sd})});
  }
  ni.setOutput(0, ni.cast(y, elem));
  return success();
}

/// An int64 index tensor along `axis` of a rank-`rank` tensor: shape
/// [n, 1, ..., 1] (rank - axis dims) so it broadcasts along `axis`.
static Value iotaAlong(NodeImporter &ni, int64_t n, int64_t rank,
                       int64_t axis, int32_t elemType) {
  std::vector<int64_t> shape(rank - axis, 1), v(n);
  shape[0] = n;
  for (int64_t i = 0; i < n; ++i)
    v[i] = i;
  return ni.constant(HostTensor::fromInts(elemType, shape, v));
}

/// The index of the first (or last) maximum (or minimum) of `x` along
/// `axis`, as i64 with the axis kept. NaN counts as the extreme value, as
/// numpy's argmax does: the first NaN wins.
static Value argExtreme(NodeImporter &ni, Value x, int64_t axis, bool isMax,
                        bool last) {
  std::vector<int64_t> s = shapeOf(x);
  int64_t rank = s.size(), n = s[axis];
  Type elem = elemOf(x);
  Type i64 = IntegerType::get(ni.ctx(), 64);
  Value ext = ni.reduce(isMax ? ReduceOp::max : ReduceOp::min, x, {axis},
                        /*keepDims=*/true);
  Value mask = ni.elementwise(ComputeOp::eq, {x, ext});
  if (isa<FloatType>(elem)) {
    // With a NaN the extreme is NaN and no element equals it: the NaNs are
    // the extreme positions then (and there are none otherwise).
    mask = ni.elementwise(ComputeOp::or_,
                          {mask, ni.elementwise(ComputeOp::isnan, {x})});
  }
  Value iota = iotaAlong(ni, n, rank, axis, TP::INT64);
  Value none = ni.scalar(i64, last ? -1 : n);
  Value cand = ni.elementwise(ComputeOp::select, {mask, iota, none});
  return ni.reduce(last ? ReduceOp::max : ReduceOp::min, cand, {axis},
                   /*keepDims=*/true);
}

static LogicalResult importHardmax(NodeImporter &ni) {
  Value x = ni.input(0);
  Type elem = elemOf(x);
  if (!isa<FloatType>(elem))
    return ni.unsupported("element type must be floating point");
  std::vector<int64_t> s = shapeOf(x);
  int64_t rank = s.size();
  auto axes = softmaxAxes(ni, rank);
  if (!axes)
    return failure();
  if (product(s) == 0)
    return ni.unsupported("Hardmax of an empty tensor");
  // Along one axis; opset < 13 flattens the trailing axes into one.
  Value v = x;
  int64_t axis = axes->front();
  if (axes->size() > 1) {
    std::vector<int64_t> s2(s.begin(), s.begin() + axis);
    s2.push_back(product(ArrayRef<int64_t>(s).drop_front(axis)));
    v = ni.reshape(x, s2);
  }
  std::vector<int64_t> vs = shapeOf(v);
  Value idx = argExtreme(ni, v, axis, /*isMax=*/true, /*last=*/false);
  Value iota = iotaAlong(ni, vs[axis], vs.size(), axis, TP::INT64);
  Value hit = ni.elementwise(ComputeOp::eq, {iota, idx});
  Value y = ni.elementwise(ComputeOp::select,
                           {hit, ni.scalar(elem, 1),
                            ni.scalar(elem, 0)});
  y = ni.broadcastTo(y, vs); // select broadcasts hit's shape already
  ni.setOutput(0, ni.reshape(y, s));
  return success();
}

static LogicalResult importArgExtreme(NodeImporter &ni, bool isMax) {
  Value x = ni.input(0);
  Type elem = elemOf(x);
  if (elem.isInteger(1))
    return ni.unsupported("ArgMax/ArgMin of bool tensors");
  std::vector<int64_t> s = shapeOf(x);
  int64_t rank = s.size();
  if (rank == 0)
    return ni.invalid("input must have rank >= 1");
  auto axis = ni.normAxis(ni.attrInt("axis", 0), rank);
  if (!axis)
    return failure();
  if (s[*axis] == 0)
    return ni.invalid("ArgMax/ArgMin over an empty axis");
  bool keep = ni.attrInt("keepdims", 1) != 0;
  bool last = ni.attrInt("select_last_index", 0) != 0;
  Value idx = argExtreme(ni, x, *axis, isMax, last);
  if (!keep) {
    std::vector<int64_t> s2;
    for (int64_t i = 0; i < rank; ++i)
      if (i != *axis)
        s2.push_back(s[i]);
    idx = ni.reshape(idx, s2);
  }
  ni.setOutput(0, idx);
  return success();
}

void registerSoftmaxOps(OpRegistry &r) {
  r.add("Softmax", [](NodeImporter &n) { return importSoftmax(n, false); });
  r.add("LogSoftmax", [](NodeImporter &n) { return importSoftmax(n, true); });
  r.add("Hardmax", importHardmax);
  r.add("ArgMax", [](NodeImporter &n) { return importArgExtreme(n, true); });
  r.add("ArgMin", [](NodeImporter &n) { return importArgExtreme(n, false); });
}

} // namespace memc::onnximport
