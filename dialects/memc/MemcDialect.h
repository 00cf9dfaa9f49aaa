//===- MemcDialect.h - the program interface dialect ------------*- C++ -*-===//
#ifndef MEMC_DIALECTS_MEMC_MEMCDIALECT_H
#define MEMC_DIALECTS_MEMC_MEMCDIALECT_H

#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/memc/MemcDialect.h.inc"

#define GET_OP_CLASSES
#include "dialects/memc/MemcOps.h.inc"

#endif // MEMC_DIALECTS_MEMC_MEMCDIALECT_H
