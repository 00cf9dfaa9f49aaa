//===- PadInPlace.cpp - a padded value's producer writes into the padding
//--===//
//
// A convolution's padded input is a tensor.pad of the value before it (a
// batch norm and ReLU6 in MobileNetV2). Bufferized as it is, the producer
// writes its own buffer, and the pad then fills a second, larger buffer and
// copies the first into its interior: a full read and write of the
// activation that does nothing, and both buffers live at once.
//
// Here the padded buffer comes first: a constant fill of the padded shape
// just before the producer, the producer's init its interior
// (tensor.extract_slice), and the pad the insertion of the producer's result
// back into that same slice, which one-shot bufferization does in place.
// Only a producer in destination style whose init is a fresh tensor.empty
// moves, and (unless `shared`) only when the pad alone reads its result;
// the padding value must be a constant.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"

namespace memc {
#define GEN_PASS_DEF_PADINPLACE
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

/// Rewrites `pad` when it qualifies; true if it did. With `shared`, the
/// producer's result may have readers other than the pad: they read it
/// where it now is, the padded buffer's interior.
bool padInPlace(tensor::PadOp pad, bool shared) {
  auto padded = pad.getResultType();
  auto source = dyn_cast<OpResult>(pad.getSource());
  if (!padded.hasStaticShape() || !source || pad.getNofold() ||
      (!shared && !source.hasOneUse()))
    return false;
  auto producer = dyn_cast<DestinationStyleOpInterface>(source.getOwner());
  if (!producer || producer->getNumResults() != 1 ||
      producer.getNumDpsInits() != 1)
    return false;
  OpOperand *init = producer.getDpsInitOperand(0);
  auto empty = init->get().getDefiningOp<tensor::EmptyOp>();
  if (!empty || !empty->hasOneUse())
    return false;
  Value padValue = pad.getConstantPaddingValue();
  auto constant =
      padValue ? padValue.getDefiningOp<arith::ConstantOp>() : nullptr;
  if (!constant)
    return false;
  SmallVector<OpFoldResult> low = pad.getMixedLowPad();
  if (llvm::any_of(low, [](OpFoldResult v) { return !getConstantIntValue(v); }))
    return false;

  // The padded buffer, filled, before the producer; the producer writes
  // its interior.
  OpBuilder b(producer);
  Location loc = pad.getLoc();
  Value fillValue = b.clone(*constant)->getResult(0);
  Value base = tensor::EmptyOp::create(b, loc, padded.getShape(),
                                       padded.getElementType());
  Value filled =
      linalg::FillOp::create(b, loc, ValueRange{fillValue}, ValueRange{base})
          .getResult(0);
  auto sourceType = cast<RankedTensorType>(source.getType());
  SmallVector<OpFoldResult> sizes,
      strides(sourceType.getRank(), b.getIndexAttr(1));
  for (int64_t d : sourceType.getShape())
    sizes.push_back(b.getIndexAttr(d));
  Value interior = tensor::ExtractSliceOp::create(b, loc, sourceType, filled,
                                                  low, sizes, strides);
  init->set(interior);
  empty->erase();

  b.setInsertionPoint(pad);
  Value result = tensor::InsertSliceOp::create(b, loc, source, filled, low,
                                               sizes, strides);
  pad.replaceAllUsesWith(result);
  pad->erase();
  return true;
}

struct PadInPlacePass : memc::impl::PadInPlaceBase<PadInPlacePass> {
  using PadInPlaceBase::PadInPlaceBase;

  void runOnOperation() override {
    SmallVector<tensor::PadOp> pads;
    getOperation()->walk([&](tensor::PadOp pad) { pads.push_back(pad); });
    for (tensor::PadOp pad : pads)
      padInPlace(pad, shared);
  }
};

} // namespace
