//===- ReverseMode.cpp - the backward sweep -------------------------------===//
//
// Reverse-mode differentiation of one block: an activity analysis (values
// that depend on a differentiated argument and that the loss depends on),
// then one backward sweep over the active ops in reverse order, each adding
// its vector-Jacobian product to the gradients of its active operands. The
// rules of einsum.einsum are in EinsumVJP.cpp; the tensor ops the importer
// emits for data movement are here: reshapes, slices, pads and gathers
// (tensor.generate reading one element of a tensor: a scatter-add).
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Autodiff.h"

#include "AutodiffInternal.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

using namespace mlir;
using memc::einsum::ComputeOp;
using memc::einsum::EinsumOp;
using memc::einsum::ReduceOp;

namespace memc {
namespace {

bool isFloatTensor(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && isa<FloatType>(t.getElementType());
}

/// Every value `op` reads: its operands and what its regions capture.
SmallVector<Value> readValues(Operation *op) {
  SmallVector<Value> values(op->getOperands());
  if (op->getNumRegions()) {
    llvm::SetVector<Value> captured;
    for (Region &region : op->getRegions())
      getUsedValuesDefinedAbove(region, captured);
    values.append(captured.begin(), captured.end());
  }
  return values;
}

class BackwardSweep {
public:
  BackwardSweep(Block &body) : body(body), b(body.getTerminator()) {}

  LogicalResult run(Value loss, ArrayRef<BlockArgument> wrt,
                    SmallVectorImpl<Value> &gradients);

private:
  Value zeros(RankedTensorType type) {
    return arith::ConstantOp::create(
        b, loc(), DenseElementsAttr::get(
                      type, b.getFloatAttr(type.getElementType(), 0.0)));
  }
  Location loc() { return b.getInsertionPoint()->getLoc(); }
  /// x + y, elementwise (same type).
  Value add(Value x, Value y);
  /// adj[v] += g
  void accumulate(Value v, Value g);
  /// adj[v][slice] += g
  void accumulateSlice(Value v, Value g, tensor::ExtractSliceOp slice) {
    accumulateSlice(v, g, slice.getType(), slice.getMixedOffsets(),
                    slice.getMixedSizes(), slice.getMixedStrides());
  }
  void accumulateSlice(Value v, Value g, RankedTensorType sliceType,
                       ArrayRef<OpFoldResult> offsets,
                       ArrayRef<OpFoldResult> sizes,
                       ArrayRef<OpFoldResult> strides);
  bool active(Value v) const { return activeValues.contains(v); }
  LogicalResult visit(Operation *op, Value dz);
  LogicalResult visitGenerate(tensor::GenerateOp op, Value dz);

  Block &body;
  OpBuilder b;
  DenseSet<Value> activeValues;
  DenseMap<Value, Value> adjoint;
};

Value BackwardSweep::add(Value x, Value y) {
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<std::string> names;
  for (int64_t i = 0; i < type.getRank(); ++i)
    names.push_back(i < 26 ? std::string(1, char('a' + i))
                           : "r" + std::to_string(i));
  SmallVector<StringRef> ranks(names.begin(), names.end());
  AffineMap id =
      AffineMap::getMultiDimIdentityMap(type.getRank(), b.getContext());
  return EinsumOp::create(b, loc(), type, ValueRange{x, y}, {id, id, id},
                          ranks, ComputeOp::add, ReduceOp::none);
}

void BackwardSweep::accumulate(Value v, Value g) {
  auto [it, inserted] = adjoint.try_emplace(v, g);
  if (!inserted)
    it->second = add(it->second, g);
}

void BackwardSweep::accumulateSlice(Value v, Value g,
                                    RankedTensorType sliceType,
                                    ArrayRef<OpFoldResult> offsets,
                                    ArrayRef<OpFoldResult> sizes,
                                    ArrayRef<OpFoldResult> strides) {
  auto type = cast<RankedTensorType>(v.getType());
  auto it = adjoint.find(v);
  Value acc = it == adjoint.end() ? zeros(type) : it->second;
  Value update = g;
  if (it != adjoint.end()) {
    Value old = tensor::ExtractSliceOp::create(b, loc(), sliceType, acc,
                                               offsets, sizes, strides);
    update = add(old, g);
  }
  adjoint[v] = tensor::InsertSliceOp::create(b, loc(), update, acc, offsets,
                                             sizes, strides);
}

LogicalResult BackwardSweep::visitGenerate(tensor::GenerateOp op, Value dz) {
  // A gather: the body computes indices and yields one element of a tensor
  // defined outside it. Its gradient adds dz into those elements.
  Block &gen = op.getBody().front();
  auto yield = cast<tensor::YieldOp>(gen.getTerminator());
  auto extract = yield.getValue().getDefiningOp<tensor::ExtractOp>();
  if (!extract || extract->getBlock() != &gen ||
      extract.getTensor().getParentBlock() == &gen)
    return op.emitOpError(
        "has no gradient rule: memc-autodiff differentiates a "
        "tensor.generate only when it yields one element of a tensor "
        "defined outside it (a gather)");
  Value source = extract.getTensor();
  if (!active(source))
    return success();
  auto sourceType = cast<RankedTensorType>(source.getType());
  auto it = adjoint.find(source);
  Value init = it == adjoint.end() ? zeros(sourceType) : it->second;
  auto shape = op.getType().getShape();
  Location l = loc();
  Value c0 = arith::ConstantIndexOp::create(b, l, 0);
  Value c1 = arith::ConstantIndexOp::create(b, l, 1);
  SmallVector<Value> lbs(shape.size(), c0), steps(shape.size(), c1), ubs;
  for (int64_t n : shape)
    ubs.push_back(arith::ConstantIndexOp::create(b, l, n));
  scf::LoopNest nest = scf::buildLoopNest(
      b, l, lbs, ubs, steps, ValueRange{init},
      [&](OpBuilder &nb, Location nl, ValueRange ivs,
          ValueRange iterArgs) -> scf::ValueVector {
        IRMapping map;
        for (auto [arg, iv] : llvm::zip(gen.getArguments(), ivs))
          map.map(arg, iv);
        for (Operation &inner : gen.without_terminator())
          if (&inner != extract.getOperation())
            nb.clone(inner, map);
        SmallVector<Value> indices;
        for (Value index : extract.getIndices())
          indices.push_back(map.lookupOrDefault(index));
        Value acc = iterArgs.front();
        Value old = tensor::ExtractOp::create(nb, nl, acc, indices);
        Value g = tensor::ExtractOp::create(nb, nl, dz, ivs);
        Value sum = arith::AddFOp::create(nb, nl, old, g);
        return {tensor::InsertOp::create(nb, nl, sum, acc, indices)};
      });
  adjoint[source] = nest.results.front();
  return success();
}

LogicalResult BackwardSweep::visit(Operation *op, Value dz) {
  if (auto einsum = dyn_cast<EinsumOp>(op)) {
    for (auto [i, in] : llvm::enumerate(einsum.getInputs())) {
      if (!active(in))
        continue;
      if (!autodiff::isGradientTarget(einsum.getInputMap(i))) {
        auto add = [&](const autodiff::SliceContribution &p) {
          if (p.whole) {
            accumulate(in, p.value);
            return;
          }
          SmallVector<OpFoldResult> o, s, t;
          for (size_t k = 0; k < p.offsets.size(); ++k) {
            o.push_back(b.getIndexAttr(p.offsets[k]));
            s.push_back(b.getIndexAttr(p.sizes[k]));
            t.push_back(b.getIndexAttr(p.strides[k]));
          }
          accumulateSlice(in, p.value,
                          cast<RankedTensorType>(p.value.getType()), o, s, t);
        };
        if (failed(autodiff::windowVJP(b, einsum, i, dz, add)))
          return failure();
        continue;
      }
      FailureOr<Value> g = autodiff::einsumVJP(b, einsum, i, dz);
      if (failed(g))
        return failure();
      if (*g)
        accumulate(in, *g);
    }
    return success();
  }
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
    accumulate(expand.getSrc(), tensor::CollapseShapeOp::create(
                                    b, loc(), expand.getSrcType(), dz,
                                    expand.getReassociationIndices()));
    return success();
  }
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op)) {
    accumulate(collapse.getSrc(),
               tensor::ExpandShapeOp::create(
                   b, loc(), collapse.getSrcType(), dz,
                   collapse.getReassociationIndices()));
    return success();
  }
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
    accumulateSlice(slice.getSource(), dz, slice);
    return success();
  }
  if (auto insert = dyn_cast<tensor::InsertSliceOp>(op)) {
    if (active(insert.getSource()))
      accumulate(insert.getSource(),
                 tensor::ExtractSliceOp::create(
                     b, loc(), insert.getSourceType(), dz,
                     insert.getMixedOffsets(), insert.getMixedSizes(),
                     insert.getMixedStrides()));
    if (active(insert.getDest()))
      accumulate(insert.getDest(),
                 tensor::InsertSliceOp::create(
                     b, loc(), zeros(insert.getSourceType()), dz,
                     insert.getMixedOffsets(), insert.getMixedSizes(),
                     insert.getMixedStrides()));
    return success();
  }
  if (auto pad = dyn_cast<tensor::PadOp>(op)) {
    if (!pad.hasZeroHighPad() && !pad.getStaticHigh().empty() &&
        llvm::any_of(pad.getStaticHigh(), ShapedType::isDynamic))
      return pad.emitOpError("has no gradient rule for dynamic padding");
    SmallVector<OpFoldResult> offsets = pad.getMixedLowPad(), sizes, strides;
    for (int64_t n : pad.getSourceType().getShape()) {
      sizes.push_back(b.getIndexAttr(n));
      strides.push_back(b.getIndexAttr(1));
    }
    accumulate(pad.getSource(),
               tensor::ExtractSliceOp::create(b, loc(), pad.getSourceType(), dz,
                                              offsets, sizes, strides));
    return success();
  }
  if (auto generate = dyn_cast<tensor::GenerateOp>(op))
    return visitGenerate(generate, dz);
  if (auto attention = dyn_cast<einsum::AttentionOp>(op)) {
    // FlashAttention's backward (einsum.attention_grad): nothing of
    // [queries, keys] is kept from the forward.
    if (attention.getQueryOffset())
      return op->emitOpError("has no gradient rule at a query offset (a "
                             "decode step's attention over a KV cache)");
    if (attention.getBias() && active(attention.getBias()))
      return op->emitOpError("has no gradient rule for its bias (a mask "
                             "that depends on trainable weights)");
    auto grad = einsum::AttentionGradOp::create(
        b, loc(), attention.getQuery(), attention.getKey(),
        attention.getValue(), attention->getResult(0), dz,
        attention.getBias(), attention.getScaleAttr(),
        attention.getMaskedFromAttr());
    Value operands[] = {attention.getQuery(), attention.getKey(),
                        attention.getValue()};
    for (auto [operand, g] : llvm::zip(operands, grad->getResults()))
      if (active(operand))
        accumulate(operand, g);
    return success();
  }
  return op->emitOpError("has no gradient rule (memc-autodiff differentiates "
                         "einsum ops and the tensor ops of data movement)");
}

LogicalResult BackwardSweep::run(Value loss, ArrayRef<BlockArgument> wrt,
                                 SmallVectorImpl<Value> &gradients) {
  // Activity: varied (depends on a differentiated argument) and useful (the
  // loss depends on it).
  SmallVector<Operation *> forward;
  for (Operation &op : body.without_terminator())
    forward.push_back(&op);
  DenseSet<Value> varied(wrt.begin(), wrt.end());
  for (Operation *op : forward)
    if (llvm::any_of(readValues(op),
                     [&](Value v) { return varied.contains(v); }))
      for (Value r : op->getResults())
        if (isFloatTensor(r))
          varied.insert(r);
  DenseSet<Value> useful = {loss};
  for (Operation *op : llvm::reverse(forward))
    if (llvm::any_of(op->getResults(),
                     [&](Value r) { return useful.contains(r); }))
      for (Value v : readValues(op))
        useful.insert(v);
  for (Value v : varied)
    if (useful.contains(v) && isFloatTensor(v))
      activeValues.insert(v);

  auto lossType = cast<RankedTensorType>(loss.getType());
  adjoint[loss] = arith::ConstantOp::create(
      b, loss.getLoc(),
      DenseElementsAttr::get(lossType,
                             b.getFloatAttr(lossType.getElementType(), 1.0)));
  for (Operation *op : llvm::reverse(forward)) {
    if (op->getNumResults() != 1)
      continue;
    auto it = adjoint.find(op->getResult(0));
    if (it == adjoint.end() || !active(op->getResult(0)))
      continue;
    if (failed(visit(op, it->second)))
      return failure();
  }
  for (BlockArgument arg : wrt) {
    auto it = adjoint.find(arg);
    gradients.push_back(it != adjoint.end()
                            ? it->second
                            : zeros(cast<RankedTensorType>(arg.getType())));
  }
  return success();
}

} // namespace

LogicalResult buildGradients(Block &body, Value loss,
                             ArrayRef<BlockArgument> wrt,
                             SmallVectorImpl<Value> &gradients) {
  BackwardSweep sweep(body);
  return sweep.run(loss, wrt, gradients);
}

} // namespace memc
