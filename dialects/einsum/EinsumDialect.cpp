//===- EinsumDialect.cpp - The extended-Einsum dialect --------------------===//
#include "dialects/einsum/EinsumDialect.h"

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
