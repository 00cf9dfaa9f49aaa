//===- EinsumToLinalg.h - einsum -> linalg.generic + scf --------*- C++ -*-===//
#ifndef MEMC_CONVERSION_EINSUMTOLINALG_H
#define MEMC_CONVERSION_EINSUMTOLINALG_H

#include "dialects/einsum/EinsumDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace memc {
#define GEN_PASS_DECL_CONVERTEINSUMTOLINALG
#include "memc/Conversion/Passes.h.inc"

/// einsum.einsum -> linalg.generic, einsum.iterate -> scf.for.
void populateEinsumToLinalgPatterns(mlir::RewritePatternSet &patterns);

/// The compute operator `op` on one element of each operand in `args`,
/// producing a value of `resultType` (only `copy` converts types).
mlir::Value buildComputeScalar(mlir::OpBuilder &b, mlir::Location loc,
                               einsum::ComputeOp op, mlir::ValueRange args,
                               mlir::Type resultType);
/// The reduce action's combiner: `acc <op> v`.
mlir::Value buildReduceScalar(mlir::OpBuilder &b, mlir::Location loc,
                              einsum::ReduceOp op, mlir::Value acc,
                              mlir::Value v);
/// The value a reduction starts from (0, 1, -inf, +inf, or integer limits).
mlir::TypedAttr getReduceIdentity(mlir::OpBuilder &b, einsum::ReduceOp op,
                                  mlir::Type elementType);
} // namespace memc

#endif
