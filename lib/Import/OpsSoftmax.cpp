//===- OpsSoftmax.cpp - Softmax, LogSoftmax, Hardmax, ArgMax, losses ------===//
//
// Softmax is the max-shifted 3-pass cascade FuseMax recognizes: GM = max x,
// SN = exp(x - GM), SD = sum SN, y = SN / SD. Hardmax and ArgMax/ArgMin
// pick the first (or last) extreme position exactly, NaN included.
// NegativeLogLikelihoodLoss picks each target's log-probability with a
// one-hot select reduced over the classes (an einsum, no gather), and
// SoftmaxCrossEntropyLoss is that loss of the LogSoftmax cascade.
//
//===----------------------------------------------------------------------===//
#include "OpRegistry.h"
#include "OpsCommon.h"

#include <limits>

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

/// The cascade's shared steps on `xc` (in the compute type):
/// GM = max x, SN = exp(x - GM), SD = sum SN, each keeping the axes.
struct SoftmaxSteps {
  Value gm, sn, sd;
};

static SoftmaxSteps softmaxSteps(NodeImporter &ni, Value xc,
                                 ArrayRef<int64_t> axes) {
  SoftmaxSteps s;
  s.gm = ni.reduce(ReduceOp::max, xc, axes, /*keepDims=*/true);
  s.sn = ni.elementwise(ComputeOp::sub_exp, {xc, s.gm});
  s.sd = ni.reduce(ReduceOp::add, s.sn, axes, /*keepDims=*/true);
  return s;
}

/// LogSoftmax: x - GM - log SD.
static Value logSoftmaxOf(NodeImporter &ni, Value xc, const SoftmaxSteps &s) {
  Value d = ni.elementwise(ComputeOp::sub, {xc, s.gm});
  return ni.elementwise(ComputeOp::sub,
                        {d, ni.elementwise(ComputeOp::log, {s.sd})});
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
  SoftmaxSteps s = softmaxSteps(ni, xc, *axes);
  Value y = log ? logSoftmaxOf(ni, xc, s)
                : ni.elementwise(ComputeOp::div, {s.sn, s.sd});
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

//===----------------------------------------------------------------------===//
// NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss
//===----------------------------------------------------------------------===//

namespace {

enum class LossReduction { none, sum, mean };

/// What the loss ops share: log-probabilities [N, C, d...] in the compute
/// type, targets [N, d...], the optional class weights [C].
struct LossInputs {
  Value logp, target, weight;
  Type elem; ///< the element type of the scores and of the results
  LossReduction reduction;
  std::optional<int64_t> ignoreIndex;
};

} // namespace

/// Reads and checks scores (input 0), targets (1), weights (2) and the
/// attributes. `logp` is left to the caller (the scores' log-probabilities).
static LogicalResult readLossInputs(NodeImporter &ni, LossInputs &in) {
  Value scores = ni.input(0);
  in.target = ni.input(1);
  in.weight = ni.input(2);
  in.elem = elemOf(scores);
  if (!isa<FloatType>(in.elem))
    return ni.unsupported("element type must be floating point");
  std::vector<int64_t> s = shapeOf(scores), ts = shapeOf(in.target);
  if (s.size() < 2)
    return ni.invalid("scores must have rank >= 2 ([N, C, d...]), not " +
                      joinInts(s));
  std::vector<int64_t> want = s;
  want.erase(want.begin() + 1);
  if (ts != want)
    return ni.invalid("target shape " + joinInts(ts) + " is not " +
                      joinInts(want) + " (the scores' without C)");
  Type te = elemOf(in.target);
  if (!te.isInteger(32) && !te.isInteger(64))
    return ni.invalid("target must be int32 or int64");
  if (in.weight &&
      NodeImporter::typeOf(in.weight) != RankedTensorType::get({s[1]}, in.elem))
    return ni.invalid("weight must be a [C] = [" + std::to_string(s[1]) +
                      "] tensor of the scores' element type");
  std::string red = ni.attrString("reduction", "mean");
  if (red == "none")
    in.reduction = LossReduction::none;
  else if (red == "sum")
    in.reduction = LossReduction::sum;
  else if (red == "mean")
    in.reduction = LossReduction::mean;
  else
    return ni.invalid("reduction '" + red + "' is not none, sum or mean");
  if (ni.attr("ignore_index"))
    in.ignoreIndex = ni.attrInt("ignore_index", 0);
  return success();
}

/// hit[n, c, d...] = (target[n, d...] == c), false for every c when the
/// target is ignore_index: that class's id becomes a value no in-range
/// target holds (the type's minimum), so the ignored target selects
/// nothing, and an out-of-range ignore_index needs no mask at all.
static Value classHits(NodeImporter &ni, const LossInputs &in) {
  std::vector<int64_t> s = shapeOf(in.logp);
  int64_t rank = s.size(), classes = s[1];
  Type te = elemOf(in.target);
  int64_t none = te.isInteger(32) ? std::numeric_limits<int32_t>::min()
                                  : std::numeric_limits<int64_t>::min();
  std::vector<int64_t> ids(classes);
  for (int64_t c = 0; c < classes; ++c)
    ids[c] = in.ignoreIndex == c ? none : c;
  Value idT = ni.constant(HostTensor::fromInts(onnxTypeOf(te), {classes}, ids));
  Indices targetIx{0};
  targetIx.append(rankRange(2, rank - 2));
  EinsumSpec spec{letterRanks(rank),
                  {{1}, targetIx},
                  identityIndices(rank),
                  ComputeOp::eq,
                  ReduceOp::none};
  return ni.einsum(spec, ValueRange{idT, in.target}, s,
                   IntegerType::get(ni.ctx(), 1));
}

/// out[n, d...] = sum_c (hit[n, c, d...] ? v[<vIx>] : 0): the one value a
/// target selects (0 where it selects none), exactly.
static Value pickClass(NodeImporter &ni, Value hit, Value v,
                       const Indices &vIx) {
  std::vector<int64_t> s = shapeOf(hit);
  int64_t rank = s.size();
  Indices outIx{0};
  outIx.append(rankRange(2, rank - 2));
  std::vector<int64_t> outShape = s;
  outShape.erase(outShape.begin() + 1);
  Type elem = elemOf(v);
  EinsumSpec spec{letterRanks(rank),
                  {identityIndices(rank), vIx, {}},
                  outIx,
                  ComputeOp::select,
                  ReduceOp::add};
  return ni.einsum(spec, ValueRange{hit, v, ni.scalar(elem, 0)}, outShape,
                   elem);
}

/// The ONNX loss of `in`: loss[n, d...] = -w[n, d...] * logp[n, t, d...]
/// with t = target[n, d...] and w its class weight (1 without weights, 0
/// for ignore_index), then none, sum, or the weighted mean sum loss / sum w
/// (the plain mean without weights and ignore_index).
static Value nllLoss(NodeImporter &ni, const LossInputs &in) {
  Type ce = elemOf(in.logp);
  int64_t rank = shapeOf(in.logp).size();
  Value hit = classHits(ni, in);
  Value picked = pickClass(ni, hit, in.logp, identityIndices(rank));
  Value w;
  if (in.weight)
    w = pickClass(ni, hit, ni.cast(in.weight, ce), {1});
  else if (in.ignoreIndex && in.reduction == LossReduction::mean)
    w = pickClass(ni, hit, ni.scalar(ce, 1), {}); // 1 per counted target
  Value loss = ni.elementwise(
      ComputeOp::neg,
      {in.weight ? ni.elementwise(ComputeOp::mul, {w, picked}) : picked});
  if (in.reduction == LossReduction::none)
    return loss;
  std::vector<int64_t> all;
  for (int64_t d = 0; d < rank - 1; ++d)
    all.push_back(d);
  Value sum = ni.reduce(ReduceOp::add, loss, all, /*keepDims=*/false);
  if (in.reduction == LossReduction::sum)
    return sum;
  Value count = w ? ni.reduce(ReduceOp::add, w, all, /*keepDims=*/false)
                  : ni.scalar(ce, product(shapeOf(loss)));
  return ni.elementwise(ComputeOp::div, {sum, count});
}

static LogicalResult importNegativeLogLikelihoodLoss(NodeImporter &ni) {
  LossInputs in;
  if (failed(readLossInputs(ni, in)))
    return failure();
  in.logp = ni.cast(ni.input(0), computeElem(in.elem));
  ni.setOutput(0, ni.cast(nllLoss(ni, in), in.elem));
  return success();
}

/// The loss of LogSoftmax over the classes (axis 1); output 1, when
/// wanted, is that log-probability.
static LogicalResult importSoftmaxCrossEntropyLoss(NodeImporter &ni) {
  LossInputs in;
  if (failed(readLossInputs(ni, in)))
    return failure();
  Value xc = ni.cast(ni.input(0), computeElem(in.elem));
  in.logp = logSoftmaxOf(ni, xc, softmaxSteps(ni, xc, {1}));
  ni.setOutput(0, ni.cast(nllLoss(ni, in), in.elem));
  ni.setOutput(1, ni.cast(in.logp, in.elem));
  return success();
}

void registerSoftmaxOps(OpRegistry &r) {
  r.add("Softmax", [](NodeImporter &n) { return importSoftmax(n, false); });
  r.add("LogSoftmax", [](NodeImporter &n) { return importSoftmax(n, true); });
  r.add("Hardmax", importHardmax);
  r.add("ArgMax", [](NodeImporter &n) { return importArgExtreme(n, true); });
  r.add("ArgMin", [](NodeImporter &n) { return importArgExtreme(n, false); });
  r.add("NegativeLogLikelihoodLoss", importNegativeLogLikelihoodLoss);
  r.add("SoftmaxCrossEntropyLoss", importSoftmaxCrossEntropyLoss);
}

} // namespace memc::onnximport
