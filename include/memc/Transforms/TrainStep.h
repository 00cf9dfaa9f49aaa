//===- TrainStep.h - The forward and backward of a train step ---*- C++ -*-===//
//
// A train step's entry returns its loss first; the forward is what the loss
// depends on, the backward is everything else (gradients and updates).
// Passes that move values between the two (memc-recompute-pointwise,
// memc-activation-recompute, memc-activation-swap) share this one
// definition.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_TRANSFORMS_TRAINSTEP_H
#define MEMC_TRANSFORMS_TRAINSTEP_H

#include "mlir/IR/Block.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace mlir {
class OpOperand;
} // namespace mlir

namespace memc {

/// The top-level ops of `body` that its return's first operand (the loss)
/// depends on; values that nested regions read from above count. Empty
/// when the loss is not made by an op of `body`.
llvm::DenseSet<mlir::Operation *> trainStepForward(mlir::Block &body);

/// The values `op` reads: its operands and the values its regions read from
/// above.
llvm::SetVector<mlir::Value> valuesRead(mlir::Operation *op);

/// The uses of `value` by the backward: by ops (or ops nested in ops) of
/// `body` outside `forward`, the return excepted.
llvm::SmallVector<mlir::OpOperand *>
backwardUses(mlir::Value value, mlir::Block &body,
             const llvm::DenseSet<mlir::Operation *> &forward);

/// For an op whose result is no buffer of its own once bufferized (a view:
/// a reshape, cast or slice, or a slice written into its destination in
/// place): the operand whose buffer it is.
std::optional<unsigned> viewedOperand(mlir::Operation *op);

/// The value whose buffer `v` is, through views.
mlir::Value viewRoot(mlir::Value v);

/// Walks the top-level ops of `body` that use `value` or a view of it:
/// `view(op)` for each top-level view of one of them (whose result is
/// followed in turn), `read(top)` for each other use, by `top` or an op
/// nested in it (the return included; once per use).
void forEachReaderThroughViews(
    mlir::Value value, mlir::Block &body,
    llvm::function_ref<void(mlir::Operation *)> view,
    llvm::function_ref<void(mlir::Operation *)> read);

} // namespace memc

#endif // MEMC_TRANSFORMS_TRAINSTEP_H
