//===- GaLoreProjection.h - GaLore's gradient projection --------*- C++ -*-===//
//
// Shared by memc-lower-optimizer (which projects at the update) and
// memc-low-rank-grad-projection (which projects as soon as the gradient is
// final): the projector refreshed from the gradient's SVD and the projected
// gradient R.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_PASSES_GALOREPROJECTION_H
#define MEMC_PASSES_GALOREPROJECTION_H

#include "dialects/optim/OptimDialect.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"

namespace memc {

/// out[x, y] = sum_k lhs * rhs over the iteration (x, y, k), as one
/// linalg.generic into zeros of `shape` (f32).
mlir::Value buildContraction(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::Value lhs, mlir::Value rhs,
                             llvm::ArrayRef<int64_t> shape,
                             mlir::AffineMap lhsMap, mlir::AffineMap rhsMap);

/// For the 2-D gradient `g` of `weight` ([A, B]) under `layout` (lowrank,
/// projection svd): the projector refreshed in place of `projector`
/// (optim.svd_projector at the steps the layout says) and R = g P^T
/// ([A, r], when A >= B) or P^T g ([r, B]), the latter marked
/// `optim.grad_projection`. The weight's name (when `weight` is an argument
/// of the entry) names it in the SVD's warnings.
struct GaLoreProjection {
  mlir::Value projector, projected;
};
GaLoreProjection buildGaLoreProjection(mlir::OpBuilder &b, mlir::Location loc,
                                       mlir::Value g, mlir::Value step,
                                       mlir::Value projector,
                                       optim::StateLayoutAttr layout,
                                       mlir::Value weight);

/// The attribute marking the op that projects a full-rank gradient.
inline constexpr llvm::StringLiteral kGradProjectionAttr =
    "optim.grad_projection";

} // namespace memc

#endif // MEMC_PASSES_GALOREPROJECTION_H
