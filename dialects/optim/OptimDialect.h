//===- OptimDialect.h - Optimizer-state layouts -----------------*- C++ -*-===//
#ifndef MEMC_DIALECTS_OPTIM_OPTIMDIALECT_H
#define MEMC_DIALECTS_OPTIM_OPTIMDIALECT_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/optim/OptimDialect.h.inc"
#include "dialects/optim/OptimEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/optim/OptimAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialects/optim/OptimOps.h.inc"

#endif // MEMC_DIALECTS_OPTIM_OPTIMDIALECT_H
