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
} // namespace memc

#endif
