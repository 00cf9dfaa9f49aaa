//===- OptimDialect.cpp - Optimizer-state layouts -------------------------===//
#include "dialects/optim/OptimDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

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

/// The checks both update ops share: states and results like the weight,
/// a gradient like the weight, `expectedStates` states.
static LogicalResult verifyUpdate(Operation *op, Value weight, Value gradient,
                                  ValueRange states, ValueRange newStates,
                                  Type newWeight, unsigned expectedStates,
                                  double lr, double weightDecay) {
  Type type = weight.getType();
  if (!isa<FloatType>(cast<ShapedType>(type).getElementType()))
    return op->emitOpError("updates a float tensor, got ") << type;
  if (gradient.getType() != type || newWeight != type)
    return op->emitOpError("weight, gradient and updated weight must have "
                           "one type, got ")
           << type << ", " << gradient.getType() << " and " << newWeight;
  if (states.size() != expectedStates || newStates.size() != expectedStates)
    return op->emitOpError("expects ")
           << expectedStates << " state(s) and as many updated states, got "
           << states.size() << " and " << newStates.size();
  for (auto [s, n] : llvm::zip(states, newStates))
    if (s.getType() != type || n.getType() != type)
      return op->emitOpError("dense states have the weight's type ") << type;
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
  return verifyUpdate(*this, getWeight(), getGradient(), getStates(),
                      getNewStates(), getNewWeight().getType(),
                      momentum > 0 ? 1 : 0, getLr().convertToDouble(),
                      getWeightDecay().convertToDouble());
}

LogicalResult AdamWOp::verify() {
  for (auto [name, beta] : {std::pair("beta1", getBeta1().convertToDouble()),
                            std::pair("beta2", getBeta2().convertToDouble())})
    if (!(beta >= 0 && beta < 1))
      return emitOpError(name) << " must be in [0, 1), got " << beta;
  if (!(getEps().convertToDouble() > 0))
    return emitOpError("eps must be positive");
  return verifyUpdate(*this, getWeight(), getGradient(), getStates(),
                      getNewStates(), getNewWeight().getType(), 2,
                      getLr().convertToDouble(),
                      getWeightDecay().convertToDouble());
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
