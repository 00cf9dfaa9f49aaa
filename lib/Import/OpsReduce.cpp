//===- OpsReduce.cpp - ONNX reductions -> einsum reduce actions -----------===//
#include "OpRegistry.h"

using namespace mlir;
using namespace memc::einsum;

namespace memc::onnximport {

namespace {
enum class Kind { Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare };
} // namespace

/// The reduced axes: the `axes` attribute (or input 1 for ReduceSum since
/// opset 13), normalized and sorted; empty means all unless
/// noop_with_empty_axes.
static std::optional<std::vector<int64_t>> reducedAxes(NodeImporter &n,
                                                       int64_t rank,
                                                       bool &noop) {
  std::vector<int64_t> axes;
  noop = false;
  bool axesAsInput = n.node().op_type() == "ReduceSum" ? n.opset() >= 13
                                                       : n.opset() >= 18;
  if (axesAsInput) {
    if (n.hasInput(1)) {
      auto v = n.constInts(1, "axes");
      if (!v)
        return std::nullopt;
      axes = *v;
    }
  } else {
    axes = n.attrInts("axes");
  }
  if (axes.empty()) {
    if (n.attrInt("noop_with_empty_axes", 0)) {
      noop = true;
      return axes;
    }
    for (int64_t i = 0; i < rank; ++i)
      axes.push_back(i);
    return axes;
  }
  for (int64_t &a : axes) {
    auto na = n.normAxis(a, rank);
    if (!na)
      return std::nullopt;
    a = *na;
  }
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  return axes;
}

static OpHandler reduction(Kind kind) {
  return [=](NodeImporter &n) -> LogicalResult {
    Value x = n.input(0);
    auto type = NodeImporter::typeOf(x);
    Type elem = type.getElementType();
    bool isF = isa<FloatType>(elem);
    if (elem.isInteger(1))
      return n.unsupported("reductions over bool tensors");
    if (!isF && kind != Kind::Sum && kind != Kind::Max && kind != Kind::Min &&
        kind != Kind::Prod && kind != Kind::SumSquare && kind != Kind::L1)
      return n.unsupported("this reduction of integers");
    bool noop;
    auto axes = reducedAxes(n, type.getRank(), noop);
    if (!axes)
      return failure();
    bool keep = n.attrInt("keepdims", 1) != 0;
    if (noop) {
      n.setOutput(0, n.copy(x));
      return success();
    }
    int64_t count = 1;
    for (int64_t a : *axes)
      count *= type.getDimSize(a);
    Value r;
    switch (kind) {
    case Kind::Sum:
      r = n.reduce(ReduceOp::add, x, *axes, keep);
      break;
    case Kind::Mean:
      r = n.elementwise(ComputeOp::div, {n.reduce(ReduceOp::add, x, *axes, keep),
                                         n.scalar(elem, count)});
      break;
    case Kind::Max:
      r = n.reduce(ReduceOp::max, x, *axes, keep);
      break;
    case Kind::Min:
      r = n.reduce(ReduceOp::min, x, *axes, keep);
      break;
    case Kind::Prod:
      r = n.reduce(ReduceOp::mul, x, *axes, keep);
      break;
    case Kind::L1:
      r = n.reduce(ReduceOp::add, x, *axes, keep, ComputeOp::abs);
      break;
    case Kind::SumSquare:
    case Kind::L2: {
      Value sq = n.elementwise(ComputeOp::mul, {x, x});
      r = n.reduce(ReduceOp::add, sq, *axes, keep);
      if (kind == Kind::L2)
        r = n.elementwise(ComputeOp::sqrt, {r});
      break;
    }
    case Kind::LogSum:
      r = n.elementwise(ComputeOp::log, {n.reduce(ReduceOp::add, x, *axes, keep)});
      break;
    case Kind::LogSumExp: {
      // log(sum(exp(x - m))) + m with m the max: no overflow. An infinite
      // max shifts by 0 instead: x - m would be inf - inf = NaN, while
      // log(sum(exp(x))) is -inf for a row of -inf and inf when it holds
      // inf, which the unshifted sum gives. (NaN still propagates: the max
      // is NaN, not inf.)
      Value m = n.reduce(ReduceOp::max, x, *axes, /*keepDims=*/true);
      m = n.elementwise(ComputeOp::select,
                        {n.elementwise(ComputeOp::isinf, {m}),
                         n.scalar(elem, 0), m});
      Value e = n.elementwise(ComputeOp::sub_exp, {x, m});
      Value s = n.reduce(ReduceOp::add, e, *axes, keep);
      Value mk = keep ? m : n.reshape(m, NodeImporter::shapeOf(s));
      r = n.elementwise(ComputeOp::add, {n.elementwise(ComputeOp::log, {s}), mk});
      break;
    }
    }
    if (!r)
      return failure();
    if (r == x) // rank-0 input: keep output distinct
      r = n.copy(x);
    n.setOutput(0, r);
    return success();
  };
}

void registerReductionOps(OpRegistry &r) {
  r.add("ReduceSum", reduction(Kind::Sum));
  r.add("ReduceMean", reduction(Kind::Mean));
  r.add("ReduceMax", reduction(Kind::Max));
  r.add("ReduceMin", reduction(Kind::Min));
  r.add("ReduceProd", reduction(Kind::Prod));
  r.add("ReduceL1", reduction(Kind::L1));
  r.add("ReduceL2", reduction(Kind::L2));
  r.add("ReduceLogSum", reduction(Kind::LogSum));
  r.add("ReduceLogSumExp", reduction(Kind::LogSumExp));
  r.add("ReduceSumSquare", reduction(Kind::SumSquare));
}

} // namespace memc::onnximport
