//===- Registration.h - dialects and passes memc uses -----------*- C++ -*-===//
#ifndef MEMC_DRIVER_REGISTRATION_H
#define MEMC_DRIVER_REGISTRATION_H

#include "mlir/IR/DialectRegistry.h"

namespace memc {
/// memc's dialects (einsum, optim, kv) and every upstream dialect and
/// interface model its pipelines produce or need.
void registerAllDialects(mlir::DialectRegistry &registry);
/// memc's passes plus the upstream passes its pipelines use.
void registerAllPasses();

/// memc's own part of the two above (its dialects with their interface
/// models; its passes), for a host such as the stock mlir-opt that has the
/// upstream ones already (tools/memc-plugin).
void registerMemcOnlyDialects(mlir::DialectRegistry &registry);
void registerMemcOnlyPasses();
} // namespace memc

#endif
