//===- Autodiff.h - reverse-mode differentiation of einsum IR ---*- C++ -*-===//
//
// The vector-Jacobian products of the ops the ONNX importer emits, as einsum
// and tensor ops: a contraction's gradient is a contraction, a map action's
// is its derivative times the incoming gradient, a max-reduction's goes to
// its argmax, a gather's is a scatter-add. `memc-autodiff` (passes/) runs
// this on the entry of a train step; memc-append-loss builds the loss it
// differentiates with the same einsum ops, so the loss's gradient comes from
// the same rules.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_TRANSFORMS_AUTODIFF_H
#define MEMC_TRANSFORMS_AUTODIFF_H

#include "mlir/IR/Block.h"
#include "mlir/IR/Value.h"
#include "mlir/Support/LLVM.h"

namespace memc {

/// Differentiates the scalar f32 `loss` (defined in `body`) with respect to
/// each of `wrt` (arguments of `body`), appending the backward ops before
/// `body`'s terminator, in reverse order of the forward ops. `gradients`
/// gets one value per `wrt` (zeros when the loss does not depend on it).
/// On an op that has no gradient rule, emits an error on it naming the op
/// and the operand and fails.
mlir::LogicalResult
buildGradients(mlir::Block &body, mlir::Value loss,
               llvm::ArrayRef<mlir::BlockArgument> wrt,
               llvm::SmallVectorImpl<mlir::Value> &gradients);

} // namespace memc

#endif // MEMC_TRANSFORMS_AUTODIFF_H
