//===- OptimDialect.cpp - Optimizer-state layouts -------------------------===//
#include "dialects/optim/OptimDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace memc::optim;

#include "dialects/optim/OptimDialect.cpp.inc"
#include "dialects/optim/OptimEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/optim/OptimAttrs.cpp.inc"

#define GET_OP_CLASSES
#include "dialects/optim/OptimOps.cpp.inc"

void OptimDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/optim/OptimAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialects/optim/OptimOps.cpp.inc"
      >();
}

SmallVector<Type> memc::optim::getStateTypes(Type weight, unsigned count,
                                            StateLayoutAttr layout) {
  if (!layout || layout.getKind() == StateKind::dense)
    return SmallVector<Type>(count, weight);
  if (layout.getKind() == StateKind::lowrank) {
    auto shaped = cast<ShapedType>(weight);
    int64_t a = shaped.getDimSize(0), b = shaped.getDimSize(1);
    int64_t r = std::min(layout.getRank(), std::min(a, b));
    Type elem = shaped.getElementType();
    if (layout.getProjection() == Projection::svd) {
      // GaLore: the moments of R, [A, r] when A >= B (P = Vh[:r], [r, B]),
      // else [r, B] (P = U[:, :r], [A, r]); then the projector.
      bool right = a >= b;
      auto moment = RankedTensorType::get(
          right ? SmallVector<int64_t>{a, r} : SmallVector<int64_t>{r, b},
          elem);
      SmallVector<Type> types(count, moment);
      types.push_back(RankedTensorType::get(
          right ? SmallVector<int64_t>{r, b} : SmallVector<int64_t>{a, r},
          elem));
      return types;
    }
    // APOLLO: the projection's moments, [r, B] when A <= B, else [A, r].
    auto type = RankedTensorType::get(
        a <= b ? SmallVector<int64_t>{r, b} : SmallVector<int64_t>{a, r},
        elem);
    return SmallVector<Type>(count, type);
  }
  auto shaped = cast<ShapedType>(weight);
  int64_t n = shaped.getNumElements(), block = layout.getBlock();
  Builder b(weight.getContext());
  auto codes = RankedTensorType::get({n}, b.getI8Type());
  auto absmax =
      RankedTensorType::get({(n + block - 1) / block}, b.getF32Type());
  SmallVector<Type> types;
  for (unsigned i = 0; i < count; ++i)
    types.append({codes, absmax});
  return types;
}

/// The checks both update ops share: a gradient and result like the weight,
/// states and updated states of the types the layout gives.
static LogicalResult verifyUpdate(Operation *op, Value weight, Value gradient,
                                  ValueRange states, ValueRange newStates,
                                  Type newWeight, unsigned denseStates,
                                  StateLayoutAttr layout, double lr,
                                  double weightDecay) {
  Type type = weight.getType();
  if (!isa<FloatType>(cast<ShapedType>(type).getElementType()))
    return op->emitOpError("updates a float tensor, got ") << type;
  if (gradient.getType() != type || newWeight != type)
    return op->emitOpError("weight, gradient and updated weight must have "
                           "one type, got ")
           << type << ", " << gradient.getType() << " and " << newWeight;
  if (layout && layout.getKind() == StateKind::factored)
    return op->emitOpError("has no update for the factored layout");
  if (layout && layout.getKind() == StateKind::lowrank &&
      layout.getProjection() == Projection::svd && isa<SGDOp>(op))
    return op->emitOpError("has no update for the lowrank layout with "
                           "projection svd (GaLore is adamw's)");
  if (layout && layout.getKind() == StateKind::lowrank &&
      (cast<ShapedType>(type).getRank() != 2 ||
       !cast<ShapedType>(type).hasStaticShape()))
    return op->emitOpError("projects 2-D weights of static shape, got ")
           << type;
  if (layout && layout.getKind() == StateKind::blockwise8 &&
      !cast<ShapedType>(type).hasStaticShape())
    return op->emitOpError("blockwise8 states need a static weight shape");
  SmallVector<Type> expected = getStateTypes(type, denseStates, layout);
  if (states.size() != expected.size() || newStates.size() != expected.size())
    return op->emitOpError("expects ")
           << expected.size() << " state(s) and as many updated states, got "
           << states.size() << " and " << newStates.size();
  for (auto [s, n, want] : llvm::zip(states, newStates, expected))
    if (s.getType() != want || n.getType() != want)
      return op->emitOpError("expects a state of type ")
             << want << (layout ? " (its layout's)" : " (the weight's)")
             << ", got " << s.getType() << " -> " << n.getType();
  if (!(lr > 0))
    return op->emitOpError("lr must be positive, got ") << lr;
  if (!(weightDecay >= 0))
    return op->emitOpError("weight_decay must be >= 0, got ") << weightDecay;
  return success();
}

LogicalResult SGDOp::verify() {
  double momentum = getMomentum().convertToDouble();
  if (!(momentum >= 0 && momentum < 1))
    return emitOpError("momentum must be in [0, 1), got ") << momentum;
  if (getNesterov() && momentum == 0)
    return emitOpError("nesterov needs a momentum");
  if (getLayoutAttr() && getLayoutAttr().getKind() != StateKind::dense)
    return emitOpError("keeps its momentum dense (blockwise8 is adamw's)");
  return verifyUpdate(*this, getWeight(), getGradient(), getStates(),
                      getNewStates(), getNewWeight().getType(),
                      momentum > 0 ? 1 : 0, getLayoutAttr(),
                      getLr().convertToDouble(),
                      getWeightDecay().convertToDouble());
}

LogicalResult AdamWOp::verify() {
  for (auto [name, beta] : {std::pair("beta1", getBeta1().convertToDouble()),
                            std::pair("beta2", getBeta2().convertToDouble())})
    if (!(beta >= 0 && beta < 1))
      return emitOpError(name) << " must be in [0, 1), got " << beta;
  if (!(getEps().convertToDouble() > 0))
    return emitOpError("eps must be positive");
  StateLayoutAttr layout = getLayoutAttr();
  bool galore = layout && layout.getKind() == StateKind::lowrank &&
                layout.getProjection() == Projection::svd;
  if (galore && !getGaloreForm())
    return emitOpError("with projection svd takes GaLore's own step "
                       "(galore_form)");
  if (getProjector()) {
    // Projected before the update (memc-low-rank-grad-projection): the
    // gradient is R, the states m and v, the projector an operand.
    if (!galore)
      return emitOpError("takes a projector only with the lowrank layout "
                         "with projection svd");
    SmallVector<Type> types = getStateTypes(getWeight().getType(), 2, layout);
    if (getGradient().getType() != types[0])
      return emitOpError("with a projector takes the projected gradient of "
                         "type ")
             << types[0] << ", got " << getGradient().getType();
    if (getProjector().getType() != types[2])
      return emitOpError("expects a projector of type ")
             << types[2] << ", got " << getProjector().getType();
    if (getStates().size() != 2 || getNewStates().size() != 2)
      return emitOpError("with a projector has the states m and v");
    for (auto [s, n] : llvm::zip(getStates(), getNewStates()))
      if (s.getType() != types[0] || n.getType() != types[0])
        return emitOpError("expects moments of type ") << types[0];
    if (getNewWeight().getType() != getWeight().getType())
      return emitOpError("returns the weight's type");
    return success();
  }
  return verifyUpdate(*this, getWeight(), getGradient(), getStates(),
                      getNewStates(), getNewWeight().getType(), 2, layout,
                      getLr().convertToDouble(),
                      getWeightDecay().convertToDouble());
}

void SVDProjectorOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  // On tensors the op is pure; on buffers it reads the gradient and the
  // step count and reads and writes the projector.
  for (OpOperand &operand : getOperation()->getOpOperands()) {
    if (!isa<MemRefType>(operand.get().getType()))
      continue;
    effects.emplace_back(MemoryEffects::Read::get(), &operand,
                         SideEffects::DefaultResource::get());
    if (&operand == &getProjectorMutable())
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
  }
}

LogicalResult SVDProjectorOp::verify() {
  auto g = dyn_cast<ShapedType>(getGradient().getType());
  auto p = dyn_cast<ShapedType>(getProjector().getType());
  auto t = dyn_cast<ShapedType>(getStep().getType());
  if (!g || g.getRank() != 2 || !g.hasStaticShape() ||
      !g.getElementType().isF32())
    return emitOpError("projects a static 2-D f32 gradient, got ")
           << getGradient().getType();
  if (!t || t.getRank() != 0 || !t.getElementType().isInteger(64))
    return emitOpError("reads the step count from a 0-d i64, got ")
           << getStep().getType();
  bool tensors = isa<RankedTensorType>(g);
  if (isa<RankedTensorType>(p) != tensors ||
      isa<RankedTensorType>(t) != tensors)
    return emitOpError("takes tensors or buffers, not both");
  if (getNumResults() != (tensors ? 1 : 0))
    return emitOpError(tensors ? "on tensors returns the new projector"
                               : "on buffers has no result");
  if (tensors && getResult()[0].getType() != p)
    return emitOpError("returns the projector's type ") << p;
  int64_t a = g.getDimSize(0), b = g.getDimSize(1), r = getRank();
  if (r < 1 || r > std::min(a, b))
    return emitOpError("rank must be in [1, ")
           << std::min(a, b) << "] for a " << a << "x" << b
           << " gradient, got " << r;
  if (getPeriod() < 1)
    return emitOpError("period must be positive, got ") << getPeriod();
  SmallVector<int64_t> want =
      getRight() ? SmallVector<int64_t>{r, b} : SmallVector<int64_t>{a, r};
  if (p.getShape() != ArrayRef<int64_t>(want) || !p.getElementType().isF32())
    return emitOpError("writes a projector of shape ")
           << want[0] << "x" << want[1] << "xf32 ("
           << (getRight() ? "Vh[:rank, :]" : "U[:, :rank]") << "), got "
           << getProjector().getType();
  return success();
}

LogicalResult
StateLayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        StateKind kind, Type elementType, int64_t block,
                        int64_t rank, int64_t period, FloatAttr scale,
                        Projection projection) {
  if (!elementType.isIntOrFloat())
    return emitError() << "state element type must be an integer or float, got "
                       << elementType;
  if (block < 0 || rank < 0 || period < 0)
    return emitError() << "block, rank and period must be non-negative";
  switch (kind) {
  case StateKind::blockwise8:
    if (!elementType.isInteger(8))
      return emitError() << "blockwise8 stores i8 codes, got " << elementType;
    if (block <= 0)
      return emitError() << "blockwise8 needs a positive block size";
    break;
  case StateKind::lowrank:
    if (rank <= 0)
      return emitError() << "lowrank needs a positive rank";
    if (period <= 0)
      return emitError() << "lowrank needs a positive refresh period";
    if (scale && !(scale.getValueAsDouble() > 0))
      return emitError() << "lowrank scale must be positive";
    break;
  case StateKind::dense:
  case StateKind::factored:
    if (block || rank || period || scale)
      return emitError() << stringifyStateKind(kind)
                         << " takes no block, rank, period or scale";
    break;
  }
  return success();
}

std::vector<float> memc::optim::dynamicMap(bool isSigned) {
  std::vector<double> values = {0.0, 1.0};
  for (int k = 0; k < 7; ++k) {
    int count = isSigned ? 1 << k : 2 << k;
    double scale = std::pow(10.0, k - 6);
    // The midpoints of `count` equal steps of [0.1, 1] in this decade.
    for (int i = 0; i < count; ++i) {
      double x = scale * (0.1 + 0.9 * (i + 0.5) / count);
      values.push_back(x);
      if (isSigned)
        values.push_back(-x);
    }
  }
  llvm::sort(values);
  return std::vector<float>(values.begin(), values.end());
}

int64_t StateLayoutAttr::getStateBytes(ArrayRef<int64_t> shape) const {
  int64_t numel = 1;
  for (int64_t d : shape)
    numel *= d;
  int64_t elemBytes = (getElementType().getIntOrFloatBitWidth() + 7) / 8;
  switch (getKind()) {
  case StateKind::dense:
    return numel * elemBytes;
  case StateKind::blockwise8:
    // One code per element plus an f32 absmax per block.
    return numel + (numel + getBlock() - 1) / getBlock() * 4;
  case StateKind::lowrank: {
    if (shape.size() != 2)
      return numel * elemBytes; // only matrices are projected
    int64_t larger = std::max(shape[0], shape[1]);
    return std::min(getRank(), std::min(shape[0], shape[1])) * larger *
           elemBytes;
  }
  case StateKind::factored:
    if (shape.size() != 2)
      return numel * elemBytes;
    return (shape[0] + shape[1]) * elemBytes;
  }
  return numel * elemBytes;
}
