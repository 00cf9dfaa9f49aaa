//===- KernelForm.h - attention as one einsum.attention ---------*- C++ -*-===//
//
// The form of a matched attention chain for GPUs: Q, K and V copied into
// [batch, sequence, feature] layouts feeding one einsum.attention, which
// memc-attention-to-gpu turns into a fused kernel. Scales and masks become
// its attributes and bias operand; what it cannot express keeps the chain
// unfused.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_TRANSFORMS_FUSEMAX_KERNELFORM_H
#define MEMC_TRANSFORMS_FUSEMAX_KERNELFORM_H

#include "memc/Analysis/AttentionKernelTiles.h"
#include "memc/Transforms/FuseMax/AttentionMatch.h"

#include "mlir/IR/Builders.h"

#include <optional>
#include <string>

namespace memc::fusemax {

/// The kernel form built for one chain.
struct KernelForm {
  /// The output in `av`'s type.
  mlir::Value result;
  /// The tiles the kernel will use.
  AttentionKernelTiles tiles;
  /// The causal diagonal the kernel masks by index (and stops its K/V loop
  /// at), when there is one.
  std::optional<int64_t> maskedFrom;
};

/// Builds the kernel form of `a` at `b`'s insertion point (before `a.av`);
/// nullopt with `why` set when the kernel cannot compute it (nothing is
/// created then).
std::optional<KernelForm> buildKernelForm(Attention &a, mlir::OpBuilder &b,
                                          std::string &why);

} // namespace memc::fusemax

#endif // MEMC_TRANSFORMS_FUSEMAX_KERNELFORM_H
