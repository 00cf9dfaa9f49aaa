//===- FillBorders.cpp - a padded buffer's fill covers only its border ----===//
//
// A padded buffer is filled with the padding value and then its interior is
// written over by one op: the copy of a graph input that a convolution pads,
// or a pooling that writes into the padded input of the convolution after
// it. The interior's fill is written once and never read: ResNet-18's
// 3 x 229 x 229 input and 64 x 58 x 58 max pool output took 0.17 ms of
// fills a run at two threads, most of it for elements written again right
// after. Here the fill covers the border alone, as boxes around the
// interior.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/GemmEpilogue.h"
#include "memc/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace memc {
#define GEN_PASS_DEF_FILLBORDERS
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

/// The value `op` fills its whole output with, when it is a constant fill
/// of a buffer: linalg.fill, or linalg.map without inputs yielding a value
/// defined outside its body.
Value fillValueOf(Operation *op) {
  if (auto fill = dyn_cast<linalg::FillOp>(op))
    return fill.hasPureBufferSemantics() ? fill.getInputs()[0] : Value();
  auto map = dyn_cast<linalg::MapOp>(op);
  if (!map || !map.hasPureBufferSemantics() || !map.getInputs().empty())
    return {};
  auto yield = cast<linalg::YieldOp>(map.getMapper().front().getTerminator());
  Value v = yield.getNumOperands() == 1 ? yield.getOperand(0) : Value();
  if (!v || v.getParentRegion() == &map.getMapper())
    return {};
  return v;
}

/// Whether `op` writes every element of `target`, once, without reading
/// its old values or any view of `buffer` (the buffer `target` views).
bool overwritesAll(Operation *op, Value target, Value buffer) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp || !linalgOp.hasPureBufferSemantics() ||
      linalgOp.getNumDpsInits() != 1 ||
      linalgOp.getDpsInitOperand(0)->get() != target ||
      linalgOp.getNumParallelLoops() != linalgOp.getNumLoops() ||
      linalgOp.payloadUsesValueFromOperand(linalgOp.getDpsInitOperand(0)))
    return false;
  AffineMap out =
      linalgOp.getMatchingIndexingMap(linalgOp.getDpsInitOperand(0));
  if (!out.isPermutation())
    return false;
  for (OpOperand *input : linalgOp.getDpsInputOperands())
    if (isa<MemRefType>(input->get().getType()) &&
        memc::buffersMayOverlap(input->get(), buffer))
      return false;
  return true;
}

/// The op after `op` that does more than make views or pure values, if any.
Operation *nextEffectful(Operation *op) {
  for (Operation *next = op->getNextNode(); next; next = next->getNextNode())
    if (!isa<ViewLikeOpInterface>(next) &&
        !(next->getNumRegions() == 0 && isMemoryEffectFree(next)))
      return next;
  return nullptr;
}

/// Replaces the fill `fill` of `buffer` with fills of its border when the
/// next op overwrites a box of it (a unit-stride subview with static
/// offsets and sizes); true if it did.
bool fillBorderOnly(Operation *fill, Value value, Value buffer) {
  auto type = dyn_cast<MemRefType>(buffer.getType());
  if (!type || !type.hasStaticShape() || !type.getLayout().isIdentity())
    return false;
  Operation *writer = nextEffectful(fill);
  if (!writer)
    return false;
  auto dps = dyn_cast<DestinationStyleOpInterface>(writer);
  if (!dps || dps.getNumDpsInits() != 1)
    return false;
  Value target = dps.getDpsInitOperand(0)->get();
  auto interior = target.getDefiningOp<memref::SubViewOp>();
  if (!interior || interior.getSource() != buffer ||
      !interior.hasUnitStride() ||
      interior.getSourceType().getRank() != interior.getType().getRank() ||
      !overwritesAll(writer, target, buffer))
    return false;
  ArrayRef<int64_t> offsets = interior.getStaticOffsets();
  ArrayRef<int64_t> sizes = interior.getStaticSizes();
  if (llvm::any_of(offsets, ShapedType::isDynamic) ||
      llvm::any_of(sizes, ShapedType::isDynamic))
    return false;

  // Boxes that tile the border: along each dimension d, the part before
  // and after the interior, spanning the interior along the dimensions
  // before d and the whole buffer along those after it.
  OpBuilder b(fill);
  Location loc = fill->getLoc();
  ArrayRef<int64_t> shape = type.getShape();
  int64_t rank = type.getRank();
  auto fillBox = [&](int64_t d, int64_t begin, int64_t extent) {
    if (extent <= 0)
      return;
    SmallVector<int64_t> boxOffsets, boxSizes, strides(rank, 1);
    for (int64_t i = 0; i < rank; ++i) {
      bool inner = i < d;
      boxOffsets.push_back(i == d ? begin : inner ? offsets[i] : 0);
      boxSizes.push_back(i == d ? extent : inner ? sizes[i] : shape[i]);
    }
    Value box = memref::SubViewOp::create(b, loc, buffer, boxOffsets, boxSizes,
                                          strides);
    linalg::FillOp::create(b, loc, ValueRange{value}, ValueRange{box});
  };
  for (int64_t d = 0; d < rank; ++d) {
    fillBox(d, 0, offsets[d]);
    fillBox(d, offsets[d] + sizes[d], shape[d] - offsets[d] - sizes[d]);
  }
  fill->erase();
  return true;
}

struct FillBordersPass : memc::impl::FillBordersBase<FillBordersPass> {
  void runOnOperation() override {
    SmallVector<std::pair<Operation *, Value>> fills;
    getOperation().walk([&](Operation *op) {
      if (!isa<linalg::FillOp, linalg::MapOp>(op))
        return;
      if (Value value = fillValueOf(op))
        fills.push_back({op, value});
    });
    for (auto [fill, value] : fills)
      fillBorderOnly(
          fill, value,
          cast<DestinationStyleOpInterface>(fill).getDpsInitOperand(0)->get());
  }
};

} // namespace
