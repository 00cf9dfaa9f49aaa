//===- StaticSlices.h - Slices of static sizes, built in one call -*- C++ -*-===//
//
// The tiling rewrites (FuseMax's cascade, the attention loops of train and
// decode programs, the chunked im2col, the KV caches) cut tensors into
// pieces of static sizes at offsets that may be loop values: one spelling
// of the extract_slice / insert_slice with unit strides they all build.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_TRANSFORMS_STATICSLICES_H
#define MEMC_TRANSFORMS_STATICSLICES_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"

namespace memc {

/// `v`'s slice at `offsets` (static or not) of the static `sizes`.
mlir::Value sliceAt(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                    llvm::ArrayRef<mlir::OpFoldResult> offsets,
                    llvm::ArrayRef<int64_t> sizes);

/// `piece` (statically shaped) written into `into` at `offsets`.
mlir::Value insertAt(mlir::OpBuilder &b, mlir::Location loc,
                     mlir::Value piece, mlir::Value into,
                     llvm::ArrayRef<mlir::OpFoldResult> offsets);

} // namespace memc

#endif // MEMC_TRANSFORMS_STATICSLICES_H
