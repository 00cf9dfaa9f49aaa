//===- OpsNorm.cpp - LayerNormalization, BatchNormalization, ... ----------===//
//
// LayerNormalization, BatchNormalization (inference and training mode),
// InstanceNormalization
// and LRN as pointwise and reduction einsums; f16/bf16 inputs are
// normalized in f32 and rounded back.
//
//===----------------------------------------------------------------------===//
#include "OpRegistry.h"
#include "OpsCommon.h"

using namespace mlir;
using namespace memc::einsum;

namespace memc::onnximport {

/// The mean and population variance of `x` over `axes` (kept as size-1
/// dimensions), and 1 / sqrt(variance + eps): what every normalization
/// divides by.
struct Moments {
  Value mean, var, inv;
};
static Moments momentsOver(NodeImporter &ni, Value x,
                           ArrayRef<int64_t> axes, double eps) {
  Type elem = elemOf(x);
  std::vector<int64_t> s = shapeOf(x);
  int64_t count = 1;
  for (int64_t a : axes)
    count *= s[a];
  Moments m;
  m.mean = meanKeep(ni, x, axes);
  m.var = reduceBinary(ni, ComputeOp::sq_diff, ReduceOp::add, x, m.mean, axes,
                       /*keepDims=*/true);
  m.var = ni.elementwise(ComputeOp::div, {m.var, ni.scalar(elem, count)});
  m.inv = ni.elementwise(
      ComputeOp::reciprocal,
      {ni.elementwise(ComputeOp::sqrt,
                      {ni.elementwise(ComputeOp::add,
                                      {m.var, ni.scalar(elem, eps)})})});
  return m;
}

static LogicalResult importLayerNorm(NodeImporter &ni) {
  Value x = ni.input(0), scale = ni.input(1);
  if (!x || !scale)
    return ni.invalid("LayerNormalization needs X and Scale");
  Type elem = elemOf(x);
  if (!isa<FloatType>(elem))
    return ni.unsupported("element type must be floating point");
  if (ni.attrInt("stash_type", 1) != 1)
    return ni.unsupported("stash_type other than 1 (float32)");
  std::vector<int64_t> s = shapeOf(x);
  int64_t rank = s.size();
  int64_t axisAttr = ni.attrInt("axis", -1);
  if (axisAttr == rank)
    return ni.unsupported("axis equal to the rank (normalizing no axes)");
  auto axis = ni.normAxis(axisAttr, rank);
  if (!axis)
    return failure();
  if (rank == 0)
    return ni.invalid("X must have rank >= 1");
  std::vector<int64_t> axes;
  for (int64_t i = *axis; i < rank; ++i)
    axes.push_back(i);
  double eps = ni.attrFloat("epsilon", 1e-5f);
  Type f32 = Float32Type::get(ni.ctx());
  Value xc = ni.cast(x, f32);
  auto [mean, var, inv] = momentsOver(ni, xc, axes, eps);
  Value d = ni.elementwise(ComputeOp::sub, {xc, mean});
  Value norm = ni.cast(ni.elementwise(ComputeOp::mul, {d, inv}), elem);
  if (elemOf(scale) != elem ||
      (ni.hasInput(2) && elemOf(ni.input(2)) != elem))
    return ni.invalid("Scale and B must have X's element type");
  Value y = ni.hasInput(2)
                ? ni.elementwise(ComputeOp::mul_add,
                                 {norm, scale, ni.input(2)})
                : ni.elementwise(ComputeOp::mul, {norm, scale});
  if (!y)
    return failure();
  if (shapeOf(y) != s)
    return ni.invalid("Scale/B do not broadcast to X's shape");
  ni.setOutput(0, y);
  ni.setOutput(1, mean);
  ni.setOutput(2, inv);
  return success();
}

/// Per-channel parameter p of shape [C] as [C, 1, ..., 1] for a rank-`rank`
/// NC... tensor.
static Value channelParam(NodeImporter &ni, Value p, int64_t rank, Type ce) {
  std::vector<int64_t> shape(rank - 1, 1);
  shape[0] = shapeOf(p)[0];
  return ni.reshape(ni.cast(p, ce), shape);
}

/// Training mode (opset 14+): normalized by the batch's own mean and
/// (population) variance over every axis but the channels; outputs 1 and 2
/// are the running statistics moved toward them by `momentum`, and in a
/// train step they are written back into the running-statistic
/// initializers, as PyTorch updates its buffers.
static LogicalResult importBatchNormTraining(NodeImporter &ni, Value x,
                                             ArrayRef<Value> params) {
  std::vector<int64_t> s = shapeOf(x);
  int64_t rank = s.size();
  Type elem = elemOf(x);
  Type ce = computeElem(elem);
  double eps = ni.attrFloat("epsilon", 1e-5f);
  double momentum = ni.attrFloat("momentum", 0.9f);
  std::vector<int64_t> axes;
  for (int64_t a = 0; a < rank; ++a)
    if (a != 1)
      axes.push_back(a);
  Value xc = ni.cast(x, ce);
  auto [mean, var, inv] = momentsOver(ni, xc, axes, eps);
  Value norm = ni.elementwise(
      ComputeOp::mul, {ni.elementwise(ComputeOp::sub, {xc, mean}), inv});
  Value y = ni.elementwise(ComputeOp::mul_add,
                           {norm, channelParam(ni, params[0], rank, ce),
                            channelParam(ni, params[1], rank, ce)});
  ni.setOutput(0, ni.cast(y, elem));

  // running = input * momentum + batch * (1 - momentum), per channel.
  for (unsigned i = 0; i < 2; ++i) {
    bool store = ni.isRunningStatistic(3 + i);
    if (!store && !ni.wantsOutput(1 + i))
      continue;
    Value batch = ni.reshape(i == 0 ? mean : var, {s[1]});
    Type pe = elemOf(params[2 + i]);
    Value running = ni.elementwise(
        ComputeOp::mul_add,
        {ni.cast(params[2 + i], ce), ni.scalar(ce, momentum),
         ni.elementwise(ComputeOp::mul, {batch, ni.scalar(ce, 1 - momentum)})});
    running = ni.cast(running, pe);
    ni.setOutput(1 + i, running);
    if (store)
      ni.storeRunningStatistic(3 + i, running);
  }
  return success();
}

static LogicalResult importBatchNorm(NodeImporter &ni) {
  bool training = ni.attrInt("training_mode", 0) != 0;
  if (training && ni.opset() < 14)
    return ni.unsupported("training_mode before opset 14");
  if (ni.opset() < 7 && ni.attrInt("is_test", 0) == 0)
    return ni.unsupported("is_test=0 (training) before opset 7");
  if (ni.attrInt("spatial", 1) != 1)
    return ni.unsupported("spatial=0 (per-activation statistics)");
  for (unsigned i = 1; !training && i < ni.numOutputs(); ++i)
    if (ni.wantsOutput(i))
      return ni.unsupported("the running/saved statistics outputs without "
                            "training_mode=1");
  Value x = ni.input(0);
  Type elem = elemOf(x);
  if (!isa<FloatType>(elem))
    return ni.unsupported("element type must be floating point");
  std::vector<int64_t> s = shapeOf(x);
  int64_t rank = s.size();
  if (rank < 2)
    return ni.invalid("X must have rank >= 2");
  Value params[4];
  for (unsigned i = 0; i < 4; ++i) {
    params[i] = ni.input(i + 1);
    if (!params[i])
      return ni.invalid("BatchNormalization needs scale, B, mean and var");
    std::vector<int64_t> ps = shapeOf(params[i]);
    if (ps.size() != 1 || ps[0] != s[1])
      return ni.invalid("BatchNormalization parameter " +
                        std::to_string(i + 1) + " must have shape [C]");
    if (!isa<FloatType>(elemOf(params[i])))
      return ni.invalid("BatchNormalization parameters must be floating "
                        "point");
  }
  if (training)
    return importBatchNormTraining(ni, x, params);
  double eps = ni.attrFloat("epsilon", 1e-5f);
  Type ce = computeElem(elem);  // y = (x - mean) * (scale / sqrt(var + eps)) + B
  Value var = ni.cast(params[3], ce);
  Value a = ni.elementwise(
      ComputeOp::div,
      {ni.cast(params[0], ce),
       ni.elementwise(ComputeOp::sqrt,
                      {ni.elementwise(ComputeOp::add,
                                      {var, ni.scalar(ce, eps)})})});
  std::vector<int64_t> cshape(rank - 1, 1);
  cshape[0] = s[1];
  a = ni.reshape(a, cshape);
  Value mean = channelParam(ni, params[2], rank, ce);
  Value bias = channelParam(ni, params[1], rank, ce);
  Value d = ni.elementwise(ComputeOp::sub, {ni.cast(x, ce), mean});
  Value y = ni.elementwise(ComputeOp::mul_add, {d, a, bias});
  ni.setOutput(0, ni.cast(y, elem));
  return success();
}

static LogicalResult importInstanceNorm(NodeImporter &ni) {
  Value x = ni.input(0), scale = ni.input(1), bias = ni.input(2);
  if (!x || !scale || !bias)
    return ni.invalid("InstanceNormalization needs input, scale and B");
  Type elem = elemOf(x);
  if (!isa<FloatType>(elem))
    return ni.unsupported("element type must be floating point");
  std::vector<int64_t> s = shapeOf(x);
  int64_t rank = s.size();
  if (rank < 3)
    return ni.unsupported("input of rank < 3 (no spatial dimensions)");
  for (Value p : {scale, bias}) {
    std::vector<int64_t> ps = shapeOf(p);
    if (ps.size() != 1 || ps[0] != s[1])
      return ni.invalid("scale and B must have shape [C]");
  }
  double eps = ni.attrFloat("epsilon", 1e-5f);
  Type ce = computeElem(elem);
  Value xc = ni.cast(x, ce);
  std::vector<int64_t> axes;
  for (int64_t i = 2; i < rank; ++i)
    axes.push_back(i);
  auto [mean, var, inv] = momentsOver(ni, xc, axes, eps);
  Value a = ni.elementwise(ComputeOp::mul,
                           {inv, channelParam(ni, scale, rank, ce)});
  Value d = ni.elementwise(ComputeOp::sub, {xc, mean});
  Value y = ni.elementwise(ComputeOp::mul_add,
                           {d, a, channelParam(ni, bias, rank, ce)});
  ni.setOutput(0, ni.cast(y, elem));
  return success();
}

static LogicalResult importLRN(NodeImporter &ni) {
  Value x = ni.input(0);
  Type elem = elemOf(x);
  if (!isa<FloatType>(elem))
    return ni.unsupported("element type must be floating point");
  std::vector<int64_t> s = shapeOf(x);
  int64_t rank = s.size();
  if (rank < 2)
    return ni.invalid("input must have rank >= 2");
  if (!ni.attr("size"))
    return ni.invalid("LRN needs the size attribute");
  int64_t size = ni.attrInt("size", 1);
  if (size < 1)
    return ni.invalid("LRN size must be positive");
  double alpha = ni.attrFloat("alpha", 1e-4f);
  double beta = ni.attrFloat("beta", 0.75f);
  double bias = ni.attrFloat("bias", 1.0f);
  Type ce = computeElem(elem);
  Value xc = ni.cast(x, ce);
  int64_t lo = (size - 1) / 2, hi = size - 1 - lo;
  std::vector<int64_t> low(rank, 0), high(rank, 0);
  low[1] = lo;
  high[1] = hi;
  Value xp = padConst(ni, xc, low, high, 0.0);
  // sq[n, c, ...] = sum_j (xp[n, c + j, ...] - 0)^2; ranks d0.., j.
  unsigned j = rank;
  EinsumSpec spec{numberedRanks("d", rank),
                  {identityIndices(rank), {j}},
                  identityIndices(rank),
                  ComputeOp::sq_diff,
                  ReduceOp::add};
  spec.ranks.push_back("j");
  spec.inputs[0][1] = Ix(1) + Ix(j);
  Value window = ni.constant(HostTensor::fromDoubles(
      onnxTypeOf(ce), {size}, std::vector<double>(size, 0.0)));
  Value sq = ni.einsum(spec, ValueRange{xp, window}, s, ce);
  Value t = ni.elementwise(ComputeOp::mul_add,
                           {sq, ni.scalar(ce, alpha / size),
                            ni.scalar(ce, bias)});
  Value p = ni.elementwise(ComputeOp::pow, {t, ni.scalar(ce, beta)});
  Value y = ni.elementwise(ComputeOp::div, {xc, p});
  ni.setOutput(0, ni.cast(y, elem));
  return success();
}

void registerNormalizationOps(OpRegistry &r) {
  r.add("LayerNormalization", importLayerNorm);
  r.add("BatchNormalization", importBatchNorm);
  r.add("InstanceNormalization", importInstanceNorm);
  r.add("LRN", importLRN);
}

} // namespace memc::onnximport
