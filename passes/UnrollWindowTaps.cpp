//===- UnrollWindowTaps.cpp - short windowed reductions as parallel ops ---===//
//
// A depthwise convolution is a reduction over its window's 9 taps into an
// output that was zero-filled first; the bias and clipped ReLU after it are
// another loop nest, since linalg cannot fuse an elementwise consumer into
// a reduction. So MobileNetV2's depthwise outputs were written three times
// (the fill, the sum, the activation) and read twice. With the taps
// unrolled into operands (the input at each tap is one more input map) the
// op has no reduction loops left: it writes each element once, from the
// fill's value and the taps folded in the loop nest's order, and its
// consumer fuses into it like into any elementwise op.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

namespace memc {
#define GEN_PASS_DEF_UNROLLWINDOWTAPS
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

/// Whether some result of `map` is moved both by a reduction loop and by a
/// parallel one (x[o + k]): the op reads that input through a window.
bool readsWindow(AffineMap map, ArrayRef<utils::IteratorType> iterators) {
  for (AffineExpr e : map.getResults()) {
    bool byReduction = false, byParallel = false;
    for (unsigned d = 0; d < iterators.size(); ++d) {
      if (!e.isFunctionOfDim(d))
        continue;
      (iterators[d] == utils::IteratorType::reduction ? byReduction
                                                      : byParallel) = true;
    }
    if (byReduction && byParallel)
      return true;
  }
  return false;
}

/// Whether each group of `collapse` has at most one dimension of extent
/// other than 1 (it only drops unit dimensions).
bool dropsUnitDims(tensor::CollapseShapeOp collapse) {
  ArrayRef<int64_t> shape = collapse.getSrcType().getShape();
  return llvm::all_of(collapse.getReassociationIndices(),
                      [&](const ReassociationIndices &group) {
                        return llvm::count_if(group, [&](int64_t d) {
                                 return shape[d] != 1;
                               }) <= 1;
                      });
}

/// `v` as read by `map` in an op whose loops have the extents of `loops`'
/// shape: the input at the window's first tap (x[o0, o1]) names the loops
/// plainly, and linalg infers a loop's extent from the first operand that
/// does so, so where that dimension is longer than the loop (the image
/// around the output) the operand is its leading slice.
Value sliceToLoops(OpBuilder &b, Location loc, Value v, AffineMap map,
                   RankedTensorType loops) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> sizes(type.getShape());
  bool shorter = false;
  for (auto [j, e] : llvm::enumerate(map.getResults())) {
    auto dim = dyn_cast<AffineDimExpr>(e);
    if (!dim || sizes[j] == loops.getDimSize(dim.getPosition()))
      continue;
    sizes[j] = loops.getDimSize(dim.getPosition());
    shorter = true;
  }
  if (!shorter)
    return v;
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(
      b, loc, v, offsets, getAsIndexOpFoldResult(b.getContext(), sizes),
      strides);
}

struct Unroller {
  linalg::GenericOp op;
  int64_t maxTaps;

  /// The reduction loops (in loop order) and the number of taps.
  SmallVector<unsigned> reduced;
  int64_t taps = 1;

  /// Checks that `op` is one to unroll; fills `reduced` and `taps`.
  bool matches() {
    if (!op.hasPureTensorSemantics() || op.hasIndexSemantics() ||
        op.getNumDpsInits() != 1 || op.getNumResults() != 1 ||
        op.getNumDpsInputs() == 0)
      return false;
    auto resultType = dyn_cast<RankedTensorType>(op.getResult(0).getType());
    if (!resultType || !resultType.hasStaticShape() ||
        !resultType.getElementType().isIntOrFloat())
      return false;
    for (Operation &bodyOp : op.getRegion().front().without_terminator()) {
      if (!OpTrait::hasElementwiseMappableTraits(&bodyOp) &&
          !isa<arith::ConstantOp>(bodyOp))
        return false;
      if (bodyOp.getNumRegions() != 0 || bodyOp.getNumResults() != 1)
        return false;
    }
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    for (unsigned d = 0; d < iterators.size(); ++d) {
      if (iterators[d] != utils::IteratorType::reduction)
        continue;
      if (ShapedType::isDynamic(ranges[d]))
        return false;
      reduced.push_back(d);
      taps *= ranges[d];
    }
    if (reduced.empty() || taps > maxTaps)
      return false;
    // The result names every parallel loop once, plainly.
    AffineMap outMap = op.getIndexingMapsArray().back();
    if (!outMap.isProjectedPermutation() ||
        outMap.getNumResults() != iterators.size() - reduced.size() ||
        llvm::any_of(reduced,
                     [&](unsigned d) { return outMap.isFunctionOfDim(d); }))
      return false;
    return llvm::any_of(op.getDpsInputOperands(), [&](OpOperand *input) {
      return readsWindow(op.getMatchingIndexingMap(input), iterators);
    });
  }

  /// Rewrites the op; `collapse` (may be null) is its result's only user,
  /// a reshape that drops unit dimensions, which the new op replaces too.
  void rewrite(tensor::CollapseShapeOp collapse) {
    MLIRContext *ctx = op.getContext();
    auto resultType = cast<RankedTensorType>(op.getResult(0).getType());
    AffineMap outMap = op.getIndexingMapsArray().back();
    unsigned numLoops = op.getNumLoops();
    // The new op's loops are the dimensions of the tensor it produces; each
    // old parallel loop becomes one of them, or 0 when the reshape drops it.
    RankedTensorType newType = resultType;
    SmallVector<ReassociationIndices> groups;
    if (collapse) {
      newType = collapse.getResultType();
      groups = collapse.getReassociationIndices();
    } else {
      for (int64_t j = 0; j < resultType.getRank(); ++j)
        groups.push_back({j});
    }
    unsigned newLoops = newType.getRank();
    SmallVector<AffineExpr> replacement(numLoops,
                                        getAffineConstantExpr(0, ctx));
    for (auto [g, group] : llvm::enumerate(groups)) {
      int64_t kept = group.front();
      for (int64_t j : group)
        if (resultType.getDimSize(j) != 1)
          kept = j;
      unsigned loop = cast<AffineDimExpr>(outMap.getResult(kept)).getPosition();
      replacement[loop] = getAffineDimExpr(g, ctx);
    }

    // The taps in the loop nest's order (the last reduction loop fastest),
    // each operand (an input at one tap) once.
    IRRewriter rewriter(op);
    Location loc = op.getLoc();
    SmallVector<Value> sources, operands;
    SmallVector<AffineMap> maps;
    auto operandFor = [&](Value v, AffineMap map) -> unsigned {
      AffineMap newMap = simplifyAffineMap(
          map.replaceDimsAndSymbols(replacement, {}, newLoops, 0));
      for (unsigned i = 0; i < operands.size(); ++i)
        if (sources[i] == v && maps[i] == newMap)
          return i;
      sources.push_back(v);
      maps.push_back(newMap);
      operands.push_back(sliceToLoops(rewriter, loc, v, newMap, newType));
      return operands.size() - 1;
    };
    // The starting value: the fill's scalar, or the output read as an input.
    Value init = op.getDpsInits()[0];
    Value start;
    std::optional<unsigned> initOperand;
    auto fill = init.getDefiningOp<linalg::FillOp>();
    if (fill && fill.getInputs()[0].getType() == resultType.getElementType())
      start = fill.getInputs()[0];
    else
      initOperand = operandFor(init, outMap);
    SmallVector<SmallVector<unsigned>> tapOperands;
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    for (int64_t t = 0; t < taps; ++t) {
      int64_t rest = t;
      for (unsigned r = reduced.size(); r-- > 0;) {
        replacement[reduced[r]] =
            getAffineConstantExpr(rest % ranges[reduced[r]], ctx);
        rest /= ranges[reduced[r]];
      }
      SmallVector<unsigned> &at = tapOperands.emplace_back();
      for (OpOperand *input : op.getDpsInputOperands())
        at.push_back(
            operandFor(input->get(), op.getMatchingIndexingMap(input)));
    }
    maps.push_back(AffineMap::getMultiDimIdentityMap(newLoops, ctx));

    Value empty = tensor::EmptyOp::create(rewriter, loc, newType.getShape(),
                                          newType.getElementType());
    SmallVector<utils::IteratorType> parallel(newLoops,
                                              utils::IteratorType::parallel);
    Block &body = op.getRegion().front();
    auto unrolled = linalg::GenericOp::create(
        rewriter, loc, TypeRange{newType}, operands, ValueRange{empty}, maps,
        parallel, [&](OpBuilder &b, Location bodyLoc, ValueRange args) {
          Value acc = initOperand ? args[*initOperand] : start;
          for (ArrayRef<unsigned> at : tapOperands) {
            IRMapping mapping;
            for (auto [arg, i] : llvm::zip(body.getArguments().drop_back(), at))
              mapping.map(arg, args[i]);
            mapping.map(body.getArguments().back(), acc);
            for (Operation &bodyOp : body.without_terminator())
              b.clone(bodyOp, mapping);
            acc = mapping.lookupOrDefault(body.getTerminator()->getOperand(0));
          }
          linalg::YieldOp::create(b, bodyLoc, acc);
        });
    if (collapse) {
      rewriter.replaceOp(collapse, unrolled.getResult(0));
      rewriter.eraseOp(op);
    } else {
      rewriter.replaceOp(op, unrolled.getResult(0));
    }
    if (fill && fill->use_empty())
      rewriter.eraseOp(fill);
  }
};

struct UnrollWindowTapsPass
    : memc::impl::UnrollWindowTapsBase<UnrollWindowTapsPass> {
  using Base::Base;
  void runOnOperation() override {
    if (maxTaps < 1) {
      getOperation()->emitError()
          << "memc-unroll-window-taps: max-taps must be at least 1";
      return signalPassFailure();
    }
    SmallVector<linalg::GenericOp> ops;
    getOperation()->walk([&](linalg::GenericOp op) { ops.push_back(op); });
    for (linalg::GenericOp op : ops) {
      Unroller unroller{op, maxTaps};
      if (!unroller.matches())
        continue;
      tensor::CollapseShapeOp collapse;
      Value result = op.getResult(0);
      if (result.hasOneUse())
        if (auto user =
                dyn_cast<tensor::CollapseShapeOp>(*result.getUsers().begin()))
          if (dropsUnitDims(user))
            collapse = user;
      unroller.rewrite(collapse);
    }
  }
};

} // namespace
