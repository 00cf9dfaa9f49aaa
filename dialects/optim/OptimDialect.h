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

#include <vector>

namespace memc::optim {
/// The 256 values a blockwise8 code stands for (times its block's absmax),
/// ascending: the dynamic map of 8-bit optimizers (Dettmers et al. 2022).
/// Seven decades 1e-6 .. 1 take 2^k (signed; each with both signs) or
/// 2^(k+1) (unsigned) evenly spaced values, k = 0 for the smallest decade,
/// so large magnitudes get fine steps and small ones a wide range; plus 0
/// and 1.
std::vector<float> dynamicMap(bool isSigned);
} // namespace memc::optim

#endif // MEMC_DIALECTS_OPTIM_OPTIMDIALECT_H
