//===- EinsumDialect.cpp - The extended-Einsum dialect --------------------===//
#include "dialects/einsum/EinsumDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace memc::einsum;

#include "dialects/einsum/EinsumDialect.cpp.inc"
#include "dialects/einsum/EinsumEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/einsum/EinsumAttrs.cpp.inc"

void EinsumDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/einsum/EinsumAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialects/einsum/EinsumOps.cpp.inc"
      >();
}

/// Folded einsum ops become arith.constant tensors.
Operation *EinsumDialect::materializeConstant(OpBuilder &builder,
                                              Attribute value, Type type,
                                              Location loc) {
  return arith::ConstantOp::materialize(builder, value, type, loc);
}
