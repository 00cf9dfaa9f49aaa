//===- OpsElementwise.cpp - ONNX elementwise ops -> einsum ----------------===//
//
// Pointwise ONNX ops are one einsum op each (map action only), with numpy
// broadcasting in the index maps. Activations with parameters (LeakyRelu,
// Elu, HardSigmoid, ...) are short cascades of pointwise einsums. The
// arithmetic, comparisons, Where and Cast of shape subgraphs fold on the
// host (foldPointwise, HostFold.h) when every input is a constant.
//
//===----------------------------------------------------------------------===//
#include "HostFold.h"
#include "OpRegistry.h"

using namespace mlir;
using namespace memc::einsum;

namespace memc::onnximport {

static bool isFloatTensor(Value v) {
  return isa<FloatType>(NodeImporter::typeOf(v).getElementType());
}

/// A handler for an op that maps to one compute operator.
static OpHandler pointwise(ComputeOp op, bool floatOnly = false,
                           bool boolOnly = false) {
  return [=](NodeImporter &n) -> LogicalResult {
    SmallVector<Value> ins;
    for (unsigned i = 0; i < n.numInputs(); ++i)
      ins.push_back(n.input(i));
    Type elem = NodeImporter::typeOf(ins[0]).getElementType();
    if (floatOnly && !isa<FloatType>(elem))
      return n.unsupported("element type must be floating point here");
    if (boolOnly && !elem.isInteger(1))
      return n.unsupported("element type must be bool");
    if (!floatOnly && !boolOnly && elem.isInteger(1) &&
        op != ComputeOp::eq)
      return n.unsupported("arithmetic on bool tensors");
    for (Value v : ins)
      if (NodeImporter::typeOf(v).getElementType() != elem)
        return n.invalid("operands have different element types");
    Value r = n.elementwise(op, ins);
    if (!r)
      return failure();
    n.setOutput(0, r);
    return success();
  };
}

/// Max, Min, Sum, Mean: variadic, folded left to right.
static OpHandler variadic(ComputeOp op, bool mean = false) {
  return [=](NodeImporter &n) -> LogicalResult {
    if (n.numInputs() == 0)
      return n.invalid("needs at least one input");
    Value acc = n.input(0);
    Type elem = NodeImporter::typeOf(acc).getElementType();
    if (elem.isInteger(1))
      return n.unsupported("bool operands");
    for (unsigned i = 1; i < n.numInputs(); ++i) {
      acc = n.elementwise(op, {acc, n.input(i)});
      if (!acc)
        return failure();
    }
    if (mean) {
      if (!isa<FloatType>(elem))
        return n.unsupported("Mean of integers");
      acc = n.elementwise(ComputeOp::div,
                          {acc, n.scalar(elem, n.numInputs())});
    }
    if (n.numInputs() == 1) // a copy keeps output and input distinct
      acc = n.copy(acc);
    n.setOutput(0, acc);
    return success();
  };
}

static LogicalResult importPow(NodeImporter &n) {
  Value x = n.input(0), y = n.input(1);
  Type xe = NodeImporter::typeOf(x).getElementType();
  Type ye = NodeImporter::typeOf(y).getElementType();
  if (xe.isInteger(1) || ye.isInteger(1))
    return n.unsupported("bool operands");
  // Computed in floating point; integer bases round back.
  Type work = isa<FloatType>(xe) ? xe : Float64Type::get(n.ctx());
  Value r = n.elementwise(ComputeOp::pow, {n.cast(x, work), n.cast(y, work)});
  if (!r)
    return failure();
  if (!isa<FloatType>(xe))
    r = n.elementwise(ComputeOp::round, {r});
  n.setOutput(0, n.cast(r, xe));
  return success();
}

static LogicalResult importCast(NodeImporter &n) {
  int64_t to = n.attrInt("to", 0);
  Type elem = onnxElemType(n.ctx(), to);
  if (!elem)
    return n.unsupported(std::string("cast to ") + onnxTypeName(to));
  Value x = n.input(0);
  Type from = NodeImporter::typeOf(x).getElementType();
  // f16 <-> f64 and the 8/16-bit float conversions are exercised least;
  // everything maps to one copy einsum.
  if (from.isBF16() || elem.isBF16())
    return n.unsupported("bfloat16 casts");
  n.setOutput(0, n.elementwise(ComputeOp::copy, {x}, elem));
  return success();
}

static LogicalResult importCastLike(NodeImporter &n) {
  Type elem = NodeImporter::typeOf(n.input(1)).getElementType();
  if (elem.isBF16() ||
      NodeImporter::typeOf(n.input(0)).getElementType().isBF16())
    return n.unsupported("bfloat16 casts");
  n.setOutput(0, n.elementwise(ComputeOp::copy, {n.input(0)}, elem));
  return success();
}

static LogicalResult importClip(NodeImporter &n) {
  Value x = n.input(0);
  Type elem = NodeImporter::typeOf(x).getElementType();
  if (elem.isInteger(1))
    return n.unsupported("bool operands");
  Value lo, hi;
  if (n.opset() < 11) {
    lo = n.scalar(elem, n.attrFloat("min", -3.402823e+38f));
    hi = n.scalar(elem, n.attrFloat("max", 3.402823e+38f));
  } else {
    lo = n.input(1);
    hi = n.input(2);
  }
  Value r = x;
  if (lo)
    r = n.elementwise(ComputeOp::max, {r, lo});
  if (hi)
    r = n.elementwise(ComputeOp::min, {r, hi});
  if (r == x)
    r = n.copy(x);
  n.setOutput(0, r);
  return success();
}

/// A float activation f(x) written with alpha/beta attributes.
using Activation =
    std::function<Value(NodeImporter &, Value, Type, float, float)>;
static OpHandler activation(float alpha0, float beta0, Activation f) {
  return [=](NodeImporter &n) -> LogicalResult {
    Value x = n.input(0);
    Type elem = NodeImporter::typeOf(x).getElementType();
    if (!isa<FloatType>(elem))
      return n.unsupported("element type must be floating point");
    float alpha = n.attrFloat("alpha", alpha0);
    float beta = n.attrFloat("beta", beta0);
    Value r = f(n, x, elem, alpha, beta);
    if (!r)
      return failure();
    n.setOutput(0, r);
    return success();
  };
}

// The activations, f(x) with the alpha/beta attributes.

static Value leakyRelu(NodeImporter &n, Value x, Type t, float alpha, float) {
  Value neg = n.elementwise(ComputeOp::lt, {x, n.scalar(t, 0)});
  Value scaled = n.elementwise(ComputeOp::mul, {x, n.scalar(t, alpha)});
  return n.elementwise(ComputeOp::select, {neg, scaled, x});
}

static Value elu(NodeImporter &n, Value x, Type t, float alpha, float) {
  // expm1, not exp(x) - 1, which cancels for small |x| (Elu(-1e-30) was
  // 0 instead of -1e-30).
  Value neg = n.elementwise(ComputeOp::lt, {x, n.scalar(t, 0)});
  Value em1 = n.elementwise(ComputeOp::expm1, {x});
  Value scaled = n.elementwise(ComputeOp::mul, {em1, n.scalar(t, alpha)});
  return n.elementwise(ComputeOp::select, {neg, scaled, x});
}

static Value celu(NodeImporter &n, Value x, Type t, float alpha, float) {
  // max(0, x) + min(0, alpha * expm1(x / alpha)); expm1 keeps small
  // negative inputs exact (exp(x) - 1 cancels).
  Value e =
      n.elementwise(ComputeOp::expm1,
                    {n.elementwise(ComputeOp::div, {x, n.scalar(t, alpha)})});
  Value neg = n.elementwise(ComputeOp::mul, {e, n.scalar(t, alpha)});
  return n.elementwise(ComputeOp::add,
                       {n.elementwise(ComputeOp::max, {x, n.scalar(t, 0)}),
                        n.elementwise(ComputeOp::min, {neg, n.scalar(t, 0)})});
}

static Value selu(NodeImporter &n, Value x, Type t, float alpha, float) {
  float gamma = n.attrFloat("gamma", 1.05070102214813232421875f);
  Value neg = n.elementwise(ComputeOp::le, {x, n.scalar(t, 0)});
  Value em1 = n.elementwise(ComputeOp::expm1, {x}); // no cancellation
  Value low = n.elementwise(ComputeOp::mul, {em1, n.scalar(t, alpha)});
  Value sel = n.elementwise(ComputeOp::select, {neg, low, x});
  return n.elementwise(ComputeOp::mul, {sel, n.scalar(t, gamma)});
}

static Value thresholdedRelu(NodeImporter &n, Value x, Type t, float alpha,
                             float) {
  Value gt = n.elementwise(ComputeOp::gt, {x, n.scalar(t, alpha)});
  return n.elementwise(ComputeOp::select, {gt, x, n.scalar(t, 0)});
}

static Value hardSigmoid(NodeImporter &n, Value x, Type t, float alpha,
                         float beta) {
  Value lin = n.elementwise(ComputeOp::mul_add,
                            {x, n.scalar(t, alpha), n.scalar(t, beta)});
  return n.elementwise(ComputeOp::clamp, {lin, n.scalar(t, 0), n.scalar(t, 1)});
}

static Value hardSwish(NodeImporter &n, Value x, Type t, float, float) {
  Value lin = n.elementwise(ComputeOp::mul_add,
                            {x, n.scalar(t, 1.0 / 6), n.scalar(t, 0.5)});
  Value hs =
      n.elementwise(ComputeOp::clamp, {lin, n.scalar(t, 0), n.scalar(t, 1)});
  return n.elementwise(ComputeOp::mul, {x, hs});
}

static Value softsign(NodeImporter &n, Value x, Type t, float, float) {
  Value d = n.elementwise(ComputeOp::add,
                          {n.elementwise(ComputeOp::abs, {x}), n.scalar(t, 1)});
  return n.elementwise(ComputeOp::div, {x, d});
}

static Value mish(NodeImporter &n, Value x, Type, float, float) {
  Value sp = n.elementwise(ComputeOp::softplus, {x});
  return n.elementwise(ComputeOp::mul,
                       {x, n.elementwise(ComputeOp::tanh, {sp})});
}

static Value gelu(NodeImporter &n, Value x, Type t, float, float) {
  // Opset 20, the exact form x * 0.5 * (1 + erf(x / sqrt(2))), computed
  // as x * 0.5 * erfc(-x / sqrt(2)): 1 + erf(x / sqrt(2)) cancels for
  // negative x (Gelu(-5) was 4% off, Gelu(-6) was 0), erfc does not.
  if (n.attrString("approximate", "none") != "none") {
    (void)n.unsupported("Gelu approximate=tanh");
    return {};
  }
  Value z =
      n.elementwise(ComputeOp::mul, {x, n.scalar(t, -0.7071067811865476)});
  Value e = n.elementwise(ComputeOp::erfc, {z});
  Value h = n.elementwise(ComputeOp::mul, {e, n.scalar(t, 0.5)});
  return n.elementwise(ComputeOp::mul, {x, h});
}

static LogicalResult importWhere(NodeImporter &n) {
  Value c = n.input(0), a = n.input(1), b = n.input(2);
  if (!NodeImporter::typeOf(c).getElementType().isInteger(1))
    return n.invalid("condition must be bool");
  Value r = n.elementwise(ComputeOp::select, {c, a, b});
  if (!r)
    return failure();
  n.setOutput(0, r);
  return success();
}

static LogicalResult importPRelu(NodeImporter &n) {
  Value x = n.input(0), slope = n.input(1);
  Type elem = NodeImporter::typeOf(x).getElementType();
  if (!isa<FloatType>(elem))
    return n.unsupported("element type must be floating point");
  // Before opset 7 a 1-D slope of C values applies along the channel axis.
  std::vector<int64_t> xs = NodeImporter::shapeOf(x),
                       ss = NodeImporter::shapeOf(slope);
  if (n.opset() < 7 && ss.size() == 1 && xs.size() > 2 && ss[0] == xs[1] &&
      ss[0] != xs.back()) {
    std::vector<int64_t> perChannel(xs.size() - 1, 1);
    perChannel[0] = ss[0];
    slope = n.reshape(slope, perChannel);
  }
  Value zero = n.scalar(elem, 0);
  Value neg = n.elementwise(ComputeOp::lt, {x, zero});
  Value scaled = n.elementwise(ComputeOp::mul, {x, slope});
  if (!neg || !scaled)
    return failure();
  Value r = n.elementwise(ComputeOp::select, {neg, scaled, x});
  if (!r)
    return failure();
  n.setOutput(0, r);
  return success();
}

static LogicalResult importMod(NodeImporter &n) {
  Value a = n.input(0), b = n.input(1);
  Type elem = NodeImporter::typeOf(a).getElementType();
  bool fmod = n.attrInt("fmod", 0) != 0;
  if (isa<FloatType>(elem) && !fmod)
    return n.invalid("Mod on floating point needs fmod=1");
  if (elem.isInteger(1))
    return n.unsupported("bool operands");
  Value r;
  if (fmod && !isa<FloatType>(elem)) {
    // C fmod on integers: truncated remainder, computed exactly in f64.
    Type f64 = Float64Type::get(n.ctx());
    r = n.cast(n.elementwise(ComputeOp::fmod, {n.cast(a, f64), n.cast(b, f64)}),
               elem);
  } else {
    r = n.elementwise(fmod ? ComputeOp::fmod : ComputeOp::mod, {a, b});
  }
  if (!r)
    return failure();
  n.setOutput(0, r);
  return success();
}

static LogicalResult importIsInf(NodeImporter &n) {
  Value x = n.input(0);
  if (!isFloatTensor(x))
    return n.unsupported("element type must be floating point");
  bool pos = n.attrInt("detect_positive", 1), neg = n.attrInt("detect_negative", 1);
  Value inf = n.elementwise(ComputeOp::isinf, {x});
  Type elem = NodeImporter::typeOf(x).getElementType();
  Value zero = n.scalar(elem, 0);
  if (pos && neg) {
    n.setOutput(0, inf);
    return success();
  }
  Value sign = n.elementwise(pos ? ComputeOp::gt : ComputeOp::lt, {x, zero});
  if (!pos && !neg) {
    n.setOutput(0, n.elementwise(ComputeOp::and_,
                                 {inf, n.elementwise(ComputeOp::not_, {inf})}));
    return success();
  }
  n.setOutput(0, n.elementwise(ComputeOp::and_, {inf, sign}));
  return success();
}

void registerElementwiseOps(OpRegistry &r) {
  r.add("Add", pointwise(ComputeOp::add), foldPointwise);
  r.add("Sub", pointwise(ComputeOp::sub), foldPointwise);
  r.add("Mul", pointwise(ComputeOp::mul), foldPointwise);
  r.add("Div", pointwise(ComputeOp::div), foldPointwise);
  r.add("Pow", importPow);
  r.add("Mod", importMod);
  r.add("Neg", pointwise(ComputeOp::neg), foldPointwise);
  r.add("Abs", pointwise(ComputeOp::abs), foldPointwise);
  r.add("Sign", pointwise(ComputeOp::sign));
  r.add("Relu", pointwise(ComputeOp::relu));
  r.add("Exp", pointwise(ComputeOp::exp, true));
  r.add("Log", pointwise(ComputeOp::log, true));
  r.add("Sqrt", pointwise(ComputeOp::sqrt, true), foldPointwise);
  r.add("Reciprocal", pointwise(ComputeOp::reciprocal, true));
  r.add("Tanh", pointwise(ComputeOp::tanh, true));
  r.add("Erf", pointwise(ComputeOp::erf, true));
  r.add("Sigmoid", pointwise(ComputeOp::sigmoid, true));
  r.add("Sin", pointwise(ComputeOp::sin, true));
  r.add("Cos", pointwise(ComputeOp::cos, true));
  r.add("Tan", pointwise(ComputeOp::tan, true));
  r.add("Asin", pointwise(ComputeOp::asin, true));
  r.add("Acos", pointwise(ComputeOp::acos, true));
  r.add("Atan", pointwise(ComputeOp::atan, true));
  r.add("Sinh", pointwise(ComputeOp::sinh, true));
  r.add("Cosh", pointwise(ComputeOp::cosh, true));
  r.add("Asinh", pointwise(ComputeOp::asinh, true));
  r.add("Acosh", pointwise(ComputeOp::acosh, true));
  r.add("Atanh", pointwise(ComputeOp::atanh, true));
  r.add("Floor", pointwise(ComputeOp::floor, true));
  r.add("Ceil", pointwise(ComputeOp::ceil, true));
  r.add("Round", pointwise(ComputeOp::round, true));
  r.add("Softplus", pointwise(ComputeOp::softplus, true));
  r.add("IsNaN", pointwise(ComputeOp::isnan, true));
  r.add("IsInf", importIsInf);
  r.add("Not", pointwise(ComputeOp::not_, false, true), foldPointwise);
  r.add("And", pointwise(ComputeOp::and_, false, true), foldPointwise);
  r.add("Or", pointwise(ComputeOp::or_, false, true), foldPointwise);
  r.add("Xor", pointwise(ComputeOp::xor_, false, true));
  r.add("Equal", pointwise(ComputeOp::eq), foldPointwise);
  r.add("Less", pointwise(ComputeOp::lt), foldPointwise);
  r.add("LessOrEqual", pointwise(ComputeOp::le), foldPointwise);
  r.add("Greater", pointwise(ComputeOp::gt), foldPointwise);
  r.add("GreaterOrEqual", pointwise(ComputeOp::ge), foldPointwise);
  r.add("Max", variadic(ComputeOp::max), foldPointwise);
  r.add("Min", variadic(ComputeOp::min), foldPointwise);
  r.add("Sum", variadic(ComputeOp::add));
  r.add("Mean", variadic(ComputeOp::add, /*mean=*/true));
  r.add("Cast", importCast, foldPointwise);
  r.add("CastLike", importCastLike);
  r.add("Clip", importClip);
  r.add("Where", importWhere, foldPointwise);
  r.add("PRelu", importPRelu);

  r.add("LeakyRelu", activation(0.01f, 0, leakyRelu));
  r.add("Elu", activation(1.0f, 0, elu));
  r.add("Celu", activation(1.0f, 0, celu));
  r.add("Selu", activation(1.67326319217681884765625f,
                           1.05070102214813232421875f, selu));
  r.add("ThresholdedRelu", activation(1.0f, 0, thresholdedRelu));
  r.add("HardSigmoid", activation(0.2f, 0.5f, hardSigmoid));
  r.add("HardSwish", activation(0, 0, hardSwish));
  r.add("Softsign", activation(0, 0, softsign));
  r.add("Mish", activation(0, 0, mish));
  r.add("Gelu", activation(0, 0, gelu));
}

} // namespace memc::onnximport
