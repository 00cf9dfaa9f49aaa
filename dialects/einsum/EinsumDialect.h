//===- EinsumDialect.h - The extended-Einsum dialect ------------*- C++ -*-===//
#ifndef MEMC_DIALECTS_EINSUM_EINSUMDIALECT_H
#define MEMC_DIALECTS_EINSUM_EINSUMDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/einsum/EinsumDialect.h.inc"
#include "dialects/einsum/EinsumEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/einsum/EinsumAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialects/einsum/EinsumOps.h.inc"

#endif // MEMC_DIALECTS_EINSUM_EINSUMDIALECT_H
