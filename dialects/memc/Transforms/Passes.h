//===- Passes.h - passes over the program interface -------------*- C++ -*-===//
#ifndef MEMC_DIALECTS_MEMC_TRANSFORMS_PASSES_H
#define MEMC_DIALECTS_MEMC_TRANSFORMS_PASSES_H

#include "dialects/memc/MemcDialect.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace memc {
#define GEN_PASS_DECL
#include "dialects/memc/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "dialects/memc/Transforms/Passes.h.inc"
} // namespace memc

#endif // MEMC_DIALECTS_MEMC_TRANSFORMS_PASSES_H
