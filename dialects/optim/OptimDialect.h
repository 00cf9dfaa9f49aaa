//===- OptimDialect.h - Optimizer-state layouts -----------------*- C++ -*-===//
#ifndef MEMC_DIALECTS_OPTIM_OPTIMDIALECT_H
#define MEMC_DIALECTS_OPTIM_OPTIMDIALECT_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/optim/OptimDialect.h.inc"
#include "dialects/optim/OptimEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/optim/OptimAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialects/optim/OptimOps.h.inc"

#include <vector>

namespace memc::optim {
/// The state tensors of an update of `weight` whose `count` moments are
/// stored as `layout` says: dense (null or `dense`): one like the weight per
/// moment; blockwise8: per moment its flat i8 codes, then one f32 absmax per
/// block; lowrank: per moment the moment of the projection, [r, B] for a
/// weight [A, B] with A <= B, else [A, r] (r at most the smaller side).
llvm::SmallVector<mlir::Type> getStateTypes(mlir::Type weight, unsigned count,
                                            StateLayoutAttr layout);

/// The 256 values a blockwise8 code stands for (times its block's absmax),
/// ascending: the dynamic map of 8-bit optimizers (Dettmers et al. 2022).
/// Seven decades 1e-6 .. 1 take 2^k (signed; each with both signs) or
/// 2^(k+1) (unsigned) evenly spaced values, k = 0 for the smallest decade,
/// so large magnitudes get fine steps and small ones a wide range; plus 0
/// and 1.
std::vector<float> dynamicMap(bool isSigned);
} // namespace memc::optim

#endif // MEMC_DIALECTS_OPTIM_OPTIMDIALECT_H
