//===- OpsTraining.cpp - ai.onnx.preview.training: Adam, Adagrad, Momentum ===//
//
// ONNX's optimizer ops are pure functions: from the learning rate R, the
// step count T and, per optimized tensor, its value X, gradient G and
// accumulators (V, H), they compute the next X and accumulators. Inputs
// are R, T, X_1..X_n, G_1..G_n, then each accumulator's n tensors; outputs
// are X_new_1..X_new_n, then each accumulator's new n tensors. Everything
// is elementwise einsum; T only enters through rank-0 ops (bias
// corrections, "is this the first step"), so it stays a run-time input.
// The math is the ONNX reference's (onnx/backend/test/case/node/*.py).
//
//===----------------------------------------------------------------------===//
#include "OpRegistry.h"
#include "OpsCommon.h"

using namespace mlir;
using namespace memc::einsum;

namespace memc::onnximport {

namespace {

/// One optimized tensor: its value, gradient and accumulators, all of one
/// shape, cast to the compute type.
struct Slot {
  Value x, g;
  SmallVector<Value, 2> acc;
};

/// What every optimizer node shares: R and T as rank-0 values, the
/// compute and result element types, and the slots.
struct Step {
  Type elem;    ///< the element type of X (and of the results)
  Type compute; ///< f32 for f16/bf16, else elem
  Value r;      ///< R in the compute type
  Value t;      ///< T as given (int64)
  SmallVector<Slot> slots;
};

/// Input `i` as a rank-0 value: the spec's scalars may also come as
/// one-element tensors.
Value scalarInput(NodeImporter &ni, unsigned i, const char *what) {
  Value v = ni.input(i);
  if (!v) {
    (void)ni.invalid(std::string(what) + " (input " + std::to_string(i) +
                     ") is missing");
    return {};
  }
  if (product(shapeOf(v)) != 1) {
    (void)ni.invalid(std::string(what) + " must be a scalar, not " +
                     joinInts(shapeOf(v)));
    return {};
  }
  return shapeOf(v).empty() ? v : ni.reshape(v, {});
}

/// Reads R, T and the slots of a node with `numAcc` accumulators per
/// tensor (inputs: R, T, then 2 + numAcc groups of n tensors).
LogicalResult readStep(NodeImporter &ni, unsigned numAcc, Step &step) {
  unsigned groups = 2 + numAcc;
  unsigned numIn = ni.numInputs();
  if (numIn < 2 + groups || (numIn - 2) % groups)
    return ni.invalid("takes R, T and " + std::to_string(groups) +
                      " tensors per optimized tensor, not " +
                      std::to_string(numIn) + " inputs");
  unsigned n = (numIn - 2) / groups;
  if (ni.numOutputs() != (1 + numAcc) * n)
    return ni.invalid("makes " + std::to_string((1 + numAcc) * n) +
                      " outputs for " + std::to_string(n) +
                      " optimized tensors, not " +
                      std::to_string(ni.numOutputs()));
  Value r = scalarInput(ni, 0, "R"), t = scalarInput(ni, 1, "T");
  if (!r || !t)
    return failure();
  if (!isa<FloatType>(elemOf(r)))
    return ni.invalid("R must be a floating-point scalar");
  if (!isa<IntegerType>(elemOf(t)) || elemOf(t).isInteger(1))
    return ni.invalid("T must be an integer scalar");
  for (unsigned i = 0; i < n; ++i) {
    SmallVector<Value, 4> group;
    for (unsigned k = 0; k < groups; ++k) {
      unsigned idx = 2 + k * n + i;
      Value v = ni.input(idx);
      if (!v)
        return ni.invalid("input " + std::to_string(idx) + " is missing");
      if (!group.empty() &&
          NodeImporter::typeOf(v) != NodeImporter::typeOf(group.front()))
        return ni.invalid("input " + std::to_string(idx) +
                          " differs in shape or type from input " +
                          std::to_string(2 + i));
      group.push_back(v);
    }
    if (!isa<FloatType>(elemOf(group.front())))
      return ni.unsupported("optimized tensors must be floating point");
    if (i && elemOf(group.front()) != step.elem)
      return ni.invalid("optimized tensors differ in element type");
    step.elem = elemOf(group.front());
    step.compute = computeElem(step.elem);
    for (Value &v : group)
      v = ni.cast(v, step.compute);
    Slot slot;
    slot.x = group[0];
    slot.g = group[1];
    slot.acc.assign(group.begin() + 2, group.end());
    step.slots.push_back(slot);
  }
  step.r = ni.cast(r, step.compute);
  step.t = t;
  return success();
}

/// Writes output `which * n + i` (rounded back to X's element type).
void setSlotOutput(NodeImporter &ni, const Step &step, unsigned which,
                   unsigned i, Value v) {
  ni.setOutput(which * step.slots.size() + i, ni.cast(v, step.elem));
}

/// `a op b` for the update rules below, written one op per statement (or
/// with one op among the arguments): C++ leaves the order of argument
/// evaluation open, and the IR's op order should not depend on it.
struct Ew {
  NodeImporter &ni;
  Type elem;
  Value c(double v) { return ni.scalar(elem, v); }
  Value add(Value a, Value b) { return ni.elementwise(ComputeOp::add, {a, b}); }
  Value sub(Value a, Value b) { return ni.elementwise(ComputeOp::sub, {a, b}); }
  Value mul(Value a, Value b) { return ni.elementwise(ComputeOp::mul, {a, b}); }
  Value div(Value a, Value b) { return ni.elementwise(ComputeOp::div, {a, b}); }
  Value sqrt(Value a) { return ni.elementwise(ComputeOp::sqrt, {a}); }
  Value pow(Value a, Value b) { return ni.elementwise(ComputeOp::pow, {a, b}); }
  Value select(Value p, Value a, Value b) {
    return ni.elementwise(ComputeOp::select, {p, a, b});
  }
  /// a * x + y
  Value axpy(double a, Value x, Value y) { return add(mul(c(a), x), y); }
  /// a * x + b * y
  Value combine(double a, Value x, Value b, Value y) {
    Value ax = mul(c(a), x);
    return add(ax, mul(b, y));
  }
  /// norm * x + g: the gradient of the L2 regularization term added in.
  Value regularized(double norm, const Slot &s) { return axpy(norm, s.x, s.g); }
  /// 1 - base^t
  Value oneMinusPow(double base, Value t) {
    Value one = c(1);
    return sub(one, pow(c(base), t));
  }
};

/// T > 0: false at the first step, where the rules drop their corrections.
Value afterFirstStep(NodeImporter &ni, const Step &step) {
  return ni.elementwise(ComputeOp::gt, {step.t, ni.scalar(elemOf(step.t), 0)});
}

/// A required float attribute; nullopt after recording the error.
std::optional<float> requiredFloat(NodeImporter &ni, const char *name) {
  if (!ni.attr(name)) {
    (void)ni.invalid(std::string("attribute '") + name + "' is required");
    return std::nullopt;
  }
  return ni.attrFloat(name, 0);
}

/// Adam: inputs R, T, X, G, V, H; outputs X_new, V_new, H_new.
///   g' = norm * x + g;  v' = alpha * v + (1 - alpha) * g'
///   h' = beta * h + (1 - beta) * g'^2
///   r' = T > 0 ? R * sqrt(1 - beta^T) / (1 - alpha^T) : R
///   x' = (1 - norm_post) * (x - r' * v' / (sqrt(h') + epsilon))
LogicalResult importAdam(NodeImporter &ni) {
  double alpha = ni.attrFloat("alpha", 0.9f),
         beta = ni.attrFloat("beta", 0.999f);
  double eps = ni.attrFloat("epsilon", 1e-6f);
  double norm = ni.attrFloat("norm_coefficient", 0.0f);
  double post = ni.attrFloat("norm_coefficient_post", 0.0f);
  Step step;
  if (failed(readStep(ni, /*numAcc=*/2, step)))
    return failure();
  Ew e{ni, step.compute};
  // The bias correction, once for all slots.
  Value tf = ni.cast(step.t, step.compute);
  Value sqrtH = e.sqrt(e.oneMinusPow(beta, tf));
  Value scaled = e.mul(step.r, sqrtH);
  Value corrected = e.div(scaled, e.oneMinusPow(alpha, tf));
  Value first = afterFirstStep(ni, step);
  Value r = e.select(first, corrected, step.r);
  for (auto [i, s] : llvm::enumerate(step.slots)) {
    Value g = e.regularized(norm, s);
    Value v = e.combine(alpha, s.acc[0], e.c(1 - alpha), g);
    Value g2 = e.mul(g, g);
    Value h = e.combine(beta, s.acc[1], e.c(1 - beta), g2);
    Value root = e.sqrt(h);
    Value denom = e.add(root, e.c(eps));
    Value x = e.sub(s.x, e.mul(r, e.div(v, denom)));
    if (post != 0) // 1 * x is x: only a real decay costs an op
      x = e.mul(e.c(1 - post), x);
    setSlotOutput(ni, step, 0, i, x);
    setSlotOutput(ni, step, 1, i, v);
    setSlotOutput(ni, step, 2, i, h);
  }
  return success();
}

/// Adagrad: inputs R, T, X, G, H; outputs X_new, H_new.
///   r' = R / (1 + T * decay_factor);  g' = norm * x + g;  h' = h + g'^2
///   x' = x - r' * g' / (sqrt(h') + epsilon)
LogicalResult importAdagrad(NodeImporter &ni) {
  double decay = ni.attrFloat("decay_factor", 0.0f);
  double eps = ni.attrFloat("epsilon", 1e-6f);
  double norm = ni.attrFloat("norm_coefficient", 0.0f);
  Step step;
  if (failed(readStep(ni, /*numAcc=*/1, step)))
    return failure();
  Ew e{ni, step.compute};
  Value tf = ni.cast(step.t, step.compute);
  Value r = e.div(step.r, e.axpy(decay, tf, e.c(1)));
  for (auto [i, s] : llvm::enumerate(step.slots)) {
    Value g = e.regularized(norm, s);
    Value h = e.add(s.acc[0], e.mul(g, g));
    Value root = e.sqrt(h);
    Value denom = e.add(root, e.c(eps));
    Value x = e.sub(s.x, e.div(e.mul(r, g), denom));
    setSlotOutput(ni, step, 0, i, x);
    setSlotOutput(ni, step, 1, i, h);
  }
  return success();
}

/// Momentum: inputs R, T, X, G, V; outputs X_new, V_new.
///   g' = norm * x + g;  v' = alpha * v + (T > 0 ? beta : 1) * g'
///   standard: x' = x - R * v';  nesterov: x' = x - R * (g' + alpha * v')
LogicalResult importMomentum(NodeImporter &ni) {
  auto alpha = requiredFloat(ni, "alpha");
  auto beta = alpha ? requiredFloat(ni, "beta") : std::nullopt;
  auto norm = beta ? requiredFloat(ni, "norm_coefficient") : std::nullopt;
  if (!norm)
    return failure();
  if (!ni.attr("mode"))
    return ni.invalid("attribute 'mode' is required");
  std::string mode = ni.attrString("mode", "");
  if (mode != "standard" && mode != "nesterov")
    return ni.invalid("mode '" + mode +
                      "' is neither 'standard' nor 'nesterov'");
  Step step;
  if (failed(readStep(ni, /*numAcc=*/1, step)))
    return failure();
  Ew e{ni, step.compute};
  // The gradient's coefficient is 1 at the first step.
  Value first = afterFirstStep(ni, step);
  Value betaT = e.c(*beta);
  Value betaNow = e.select(first, betaT, e.c(1));
  for (auto [i, s] : llvm::enumerate(step.slots)) {
    Value g = e.regularized(*norm, s);
    Value v = e.combine(*alpha, s.acc[0], betaNow, g);
    Value dir = mode == "standard" ? v : e.axpy(*alpha, v, g);
    Value x = e.sub(s.x, e.mul(step.r, dir));
    setSlotOutput(ni, step, 0, i, x);
    setSlotOutput(ni, step, 1, i, v);
  }
  return success();
}

} // namespace

void registerTrainingOps(OpRegistry &r) {
  r.addInDomain(kTrainingDomain, "Adam", importAdam);
  r.addInDomain(kTrainingDomain, "Adagrad", importAdagrad);
  r.addInDomain(kTrainingDomain, "Momentum", importMomentum);
}

} // namespace memc::onnximport
