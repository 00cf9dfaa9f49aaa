//===- StaticSlices.cpp - Slices of static sizes, built in one call -------===//
#include "memc/Transforms/StaticSlices.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace {
SmallVector<OpFoldResult> indexAttrs(OpBuilder &b, ArrayRef<int64_t> values) {
  SmallVector<OpFoldResult> attrs;
  for (int64_t v : values)
    attrs.push_back(b.getIndexAttr(v));
  return attrs;
}
} // namespace

Value memc::sliceAt(OpBuilder &b, Location loc, Value v,
                    ArrayRef<OpFoldResult> offsets, ArrayRef<int64_t> sizes) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<OpFoldResult> ones(sizes.size(), b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(
      b, loc, RankedTensorType::get(sizes, type.getElementType()), v, offsets,
      indexAttrs(b, sizes), ones);
}

Value memc::insertAt(OpBuilder &b, Location loc, Value piece, Value into,
                     ArrayRef<OpFoldResult> offsets) {
  auto type = cast<RankedTensorType>(piece.getType());
  SmallVector<OpFoldResult> ones(type.getRank(), b.getIndexAttr(1));
  return tensor::InsertSliceOp::create(b, loc, piece, into, offsets,
                                       indexAttrs(b, type.getShape()), ones);
}
