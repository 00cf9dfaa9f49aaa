//===- KVDialect.h - KV cache buffers ---------------------------*- C++ -*-===//
#ifndef MEMC_DIALECTS_KV_KVDIALECT_H
#define MEMC_DIALECTS_KV_KVDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/kv/KVDialect.h.inc"
#include "dialects/kv/KVEnums.h.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/kv/KVTypes.h.inc"

#define GET_OP_CLASSES
#include "dialects/kv/KVOps.h.inc"

#endif // MEMC_DIALECTS_KV_KVDIALECT_H
