//===- AutodiffInternal.h - shared by the reverse-mode rules ----*- C++ -*-===//
//
// Internal to lib/Transforms/Autodiff: the builder of einsum ops over one
// forward op's rank space (PointwiseBuilder) and the gradient rules of
// einsum.einsum (EinsumVJP.cpp), which ReverseMode.cpp calls.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_LIB_TRANSFORMS_AUTODIFF_INTERNAL_H
#define MEMC_LIB_TRANSFORMS_AUTODIFF_INTERNAL_H

#include "dialects/einsum/EinsumDialect.h"

#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Builders.h"

namespace memc::autodiff {

/// A tensor indexed by an affine map over the ranks of a forward op.
struct Term {
  mlir::Value value;
  mlir::AffineMap map;
};

/// Builds einsum ops in the rank space of one forward einsum op: every op
/// it makes uses that op's rank names, so operands keep their forward maps.
class PointwiseBuilder {
public:
  PointwiseBuilder(mlir::OpBuilder &b, mlir::Location loc,
                   einsum::EinsumOp forward);

  /// `compute` applied pointwise over the whole rank space: a tensor of the
  /// rank extents (i1 for comparisons), indexed by the identity map.
  Term apply(einsum::ComputeOp compute, llvm::ArrayRef<Term> inputs,
             mlir::Type elem);
  /// `compute` of `inputs`, summed over the ranks `target` does not index,
  /// as a tensor of `targetShape` (whose size-1 dimensions `target` may
  /// index by the constant 0).
  mlir::Value reduceTo(einsum::ComputeOp compute, llvm::ArrayRef<Term> inputs,
                       mlir::AffineMap target,
                       llvm::ArrayRef<int64_t> targetShape, mlir::Type elem);
  /// A rank-0 constant, broadcast over the rank space.
  Term constant(double value, mlir::Type elem);

  unsigned numRanks() const { return ranks.size(); }

private:
  mlir::OpBuilder &b;
  mlir::Location loc;
  llvm::SmallVector<llvm::StringRef> ranks;
  llvm::SmallVector<int64_t> extents;
};

/// `value` reshaped to `shape` (same element count) with tensor.collapse /
/// expand_shape.
mlir::Value reshapeTo(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value,
                      llvm::ArrayRef<int64_t> shape);

/// A piece of a gradient: `value` is to be added into the strided slice
/// `offsets`/`sizes`/`strides` of the operand's gradient (the whole operand
/// when `whole`).
struct SliceContribution {
  mlir::Value value;
  bool whole = true;
  llvm::SmallVector<int64_t> offsets, sizes, strides;
};

/// The contributions of `op`'s gradient `dz` to input `i`'s gradient when
/// its index expressions are windows (`h * s + kh`): for every value of the
/// window ranks the result does not index, the gradient of the strided
/// slice the window then reads (a convolution's input gradient as one
/// contraction per kernel offset, a pooling's as one mask per offset).
/// Each piece goes to `add` as soon as it is built, so that the caller sums
/// it in before the next one exists: a 3x3 kernel's nine pieces are never
/// live at once.
mlir::LogicalResult
windowVJP(mlir::OpBuilder &b, einsum::EinsumOp op, unsigned i, mlir::Value dz,
          llvm::function_ref<void(const SliceContribution &)> add);

/// Whether input `i`'s map is one a gradient can be written to directly:
/// each result a distinct rank or the constant 0.
bool isGradientTarget(mlir::AffineMap map);

/// The contribution of `op`'s gradient `dz` to input `i`'s gradient, or a
/// null value when the input gets none (a zero derivative). Fails with an
/// error on `op` when it has no rule.
/// `forward`, when set, is the op whose reduce action and result `op`
/// stands for (windowVJP's per-offset ops, which reduce over fewer ranks).
mlir::FailureOr<mlir::Value> einsumVJP(mlir::OpBuilder &b, einsum::EinsumOp op,
                                       unsigned i, mlir::Value dz,
                                       einsum::EinsumOp forward = nullptr);

} // namespace memc::autodiff

#endif
