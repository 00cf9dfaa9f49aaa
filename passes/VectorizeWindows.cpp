//===- VectorizeWindows.cpp - windowed loop nests as vector rows ----------===//
//
// A depthwise convolution, a pooling, or a convolution too small for
// memc-conv-to-gemm stays a linalg.generic whose inputs are read through a
// window (x[c, o0 + k0, o1 + k1]). As plain loops, its innermost loop runs
// over one output row (o1, 7 to 112 elements) once per tap, loading and
// storing the accumulator every time; LLVM's vectorizer takes 16 or 32
// lanes at once with interleaving, so a row of 28 ran its scalar epilogue
// (MobileNetV2's 3x3 depthwise convolutions ran at 2 GMAC/s).
//
// Here such an op becomes loops over its parallel dimensions, the output
// row in vectors of `width` lanes, and, inside, its reduction loops with
// the accumulator in a register: each tap loads one vector of the input
// row (a contiguous load, or a wider load and a shuffle for a strided
// window), each input the row does not move is loaded once and broadcast,
// and the output vector is loaded and stored once. The row's last partial
// vector uses masked loads and stores. Every output element folds the same
// terms in the same order as the loop nest did, so results do not change.
//
// Runs on the outlined kernels after memc-parallel-kernels (a kernel's
// row range is already its op's operands), before linalg becomes loops.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"

namespace memc {
#define GEN_PASS_DEF_VECTORIZEWINDOWS
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

/// How the vectorized loop reads one input.
struct InputRead {
  /// 0: the row does not move this input (loaded once, broadcast); 1: one
  /// contiguous vector; s > 1: every s-th element from a contiguous run.
  int64_t stride = 0;
};

struct WindowPlan {
  unsigned rowDim;                ///< the loop the vectors run along
  SmallVector<unsigned> parallel; ///< the other parallel loops, in order
  SmallVector<unsigned> reduced;  ///< the reduction loops, in order
  /// The parallel loop run `unroll` iterations at a time (the innermost
  /// other than the row, of at least `unroll` iterations), or -1.
  int64_t blocked = -1;
  int64_t unroll = 1; ///< iterations of `blocked` at once
  SmallVector<InputRead> inputs;
};

/// The static innermost stride of `type`, or nullopt.
std::optional<int64_t> innerStride(MemRefType type) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (type.getRank() == 0 || failed(type.getStridesAndOffset(strides, offset)))
    return std::nullopt;
  if (ShapedType::isDynamic(strides.back()))
    return std::nullopt;
  return strides.back();
}

/// The coefficient of dimension `d` in `e` when `e` is a sum of dims times
/// constants and constants (no mod, floordiv or products of dims), else
/// nullopt.
std::optional<int64_t> coefficientOf(AffineExpr e, unsigned d) {
  if (auto dim = dyn_cast<AffineDimExpr>(e))
    return dim.getPosition() == d ? 1 : 0;
  if (isa<AffineConstantExpr>(e))
    return 0;
  auto bin = dyn_cast<AffineBinaryOpExpr>(e);
  if (!bin)
    return std::nullopt;
  std::optional<int64_t> lhs = coefficientOf(bin.getLHS(), d);
  std::optional<int64_t> rhs = coefficientOf(bin.getRHS(), d);
  if (!lhs || !rhs)
    return std::nullopt;
  if (e.getKind() == AffineExprKind::Add)
    return *lhs + *rhs;
  if (e.getKind() != AffineExprKind::Mul)
    return std::nullopt;
  // A product is linear when one side is a constant (the canonical form
  // puts it on the right).
  if (auto c = dyn_cast<AffineConstantExpr>(bin.getRHS()))
    return *lhs * c.getValue();
  if (auto c = dyn_cast<AffineConstantExpr>(bin.getLHS()))
    return *rhs * c.getValue();
  return std::nullopt;
}

/// The value of `e` with every dimension 0 (its constant term, for the
/// linear expressions coefficientOf accepts).
int64_t constantTerm(AffineExpr e, unsigned numDims) {
  SmallVector<AffineExpr> zeros(numDims,
                                getAffineConstantExpr(0, e.getContext()));
  auto c = dyn_cast<AffineConstantExpr>(
      simplifyAffineExpr(e.replaceDims(zeros), 0, 0));
  return c ? c.getValue() : 0;
}

std::optional<WindowPlan> planFor(linalg::GenericOp op, int64_t maxTaps,
                                  int64_t unroll) {
  if (!op.hasPureBufferSemantics() || op.hasIndexSemantics() ||
      op.getNumDpsInits() != 1 || op.getNumDpsInputs() == 0)
    return std::nullopt;
  auto outType = dyn_cast<MemRefType>(op.getDpsInits()[0].getType());
  if (!outType || outType.getRank() == 0 ||
      !isa<FloatType>(outType.getElementType()) || innerStride(outType) != 1)
    return std::nullopt;
  Type elem = outType.getElementType();
  // The body: elementwise ops on scalars (they have vector forms).
  for (Operation &bodyOp : op.getRegion().front().without_terminator()) {
    if (!OpTrait::hasElementwiseMappableTraits(&bodyOp) &&
        !isa<arith::ConstantOp>(bodyOp))
      return std::nullopt;
    if (bodyOp.getNumRegions() != 0 || bodyOp.getNumResults() != 1 ||
        llvm::any_of(bodyOp.getOperandTypes(),
                     [](Type t) { return !t.isIntOrFloat(); }))
      return std::nullopt;
  }
  unsigned numLoops = op.getNumLoops();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  // The vectors run along the output's innermost dimension, a parallel loop.
  AffineMap outMap = op.getIndexingMapsArray().back();
  if (!outMap.isProjectedPermutation())
    return std::nullopt;
  auto rowExpr = dyn_cast<AffineDimExpr>(outMap.getResults().back());
  if (!rowExpr)
    return std::nullopt;
  WindowPlan plan;
  plan.rowDim = rowExpr.getPosition();
  if (iterators[plan.rowDim] != utils::IteratorType::parallel)
    return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  // Short windows only: the accumulator stays in a register while the
  // window's taps run, and a long reduction would stream its inputs once
  // per output vector.
  int64_t taps = 1;
  for (unsigned d = 0; d < numLoops; ++d) {
    if (d == plan.rowDim)
      continue;
    if (iterators[d] == utils::IteratorType::parallel) {
      plan.parallel.push_back(d);
      continue;
    }
    plan.reduced.push_back(d);
    if (ShapedType::isDynamic(ranges[d]))
      return std::nullopt;
    taps *= ranges[d];
  }
  if (taps > maxTaps ||
      (!ShapedType::isDynamic(ranges[plan.rowDim]) && ranges[plan.rowDim] < 4))
    return std::nullopt;
  // Each input: the row moves it only in its last dimension, linearly, with
  // a static unit stride there; at least one input is a window: the row and
  // a reduction loop both move it, or, in an op without reduction loops
  // (memc-unroll-window-taps' taps), the row reads it shifted or strided,
  // so its loops do not collapse into one long row.
  bool windowed = false;
  for (OpOperand *input : op.getDpsInputOperands()) {
    auto type = dyn_cast<MemRefType>(input->get().getType());
    if (!type || type.getElementType() != elem)
      return std::nullopt;
    AffineMap map = op.getMatchingIndexingMap(input);
    InputRead read;
    for (auto [i, e] : llvm::enumerate(map.getResults())) {
      std::optional<int64_t> c = coefficientOf(e, plan.rowDim);
      if (!c)
        return std::nullopt;
      if (*c == 0)
        continue;
      if (i + 1 != map.getNumResults() || *c < 0 || *c > 4 ||
          innerStride(type) != 1)
        return std::nullopt;
      read.stride = *c;
      for (unsigned d : plan.reduced)
        windowed |= coefficientOf(e, d).value_or(0) != 0;
      if (plan.reduced.empty())
        windowed |= *c != 1 || constantTerm(e, numLoops) != 0;
    }
    plan.inputs.push_back(read);
  }
  if (!windowed)
    return std::nullopt;
  // One accumulator is one chain of dependent multiply-adds (4 cycles
  // each): a few output rows at once keep the FMA units busy.
  // The block is the largest divisor of the loop's extent up to `unroll`
  // when that is at least half of it (14 rows: 2 blocks of 7, not 8 and 6),
  // else `unroll` with a last, smaller block.
  if (!plan.parallel.empty() && unroll > 1) {
    unsigned d = plan.parallel.back();
    int64_t extent = ranges[d];
    plan.blocked = d;
    plan.unroll = unroll;
    if (!ShapedType::isDynamic(extent)) {
      plan.unroll = std::min(unroll, extent);
      for (int64_t u = plan.unroll; 2 * u >= unroll && u > 1; --u)
        if (extent % u == 0) {
          plan.unroll = u;
          break;
        }
    }
    if (plan.unroll < 2)
      plan.blocked = -1;
  }
  return plan;
}

/// Builds the vector loops of one op.
struct WindowRewriter {
  linalg::GenericOp op;
  const WindowPlan &plan;
  int64_t width;
  OpBuilder b;
  Location loc;
  VectorType vecType;
  SmallVector<Value> ivs; ///< per loop; the row's entry is a vector's start

  WindowRewriter(linalg::GenericOp op, const WindowPlan &plan, int64_t width)
      : op(op), plan(plan), width(width), b(op), loc(op.getLoc()),
        vecType(VectorType::get(
            {width},
            cast<MemRefType>(op.getDpsInits()[0].getType()).getElementType())),
        ivs(op.getNumLoops()) {}

  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

  /// A vector of zeros (masked loads' lanes past the row).
  Value zerosOf(VectorType type) {
    return arith::ConstantOp::create(b, loc, b.getZeroAttr(type));
  }

  /// `extent` rounded down to a multiple of `step`: where a loop in steps
  /// of `step` ends and its remainder starts.
  Value wholeSteps(Value extent, int64_t step) {
    return arith::MulIOp::create(
        b, loc, arith::DivUIOp::create(b, loc, extent, index(step)),
        index(step));
  }

  /// The indices of operand `operand` at the current loop values.
  SmallVector<Value> indicesOf(OpOperand *operand) {
    AffineMap map = op.getMatchingIndexingMap(operand);
    SmallVector<Value> indices;
    for (AffineExpr e : map.getResults())
      indices.push_back(affine::AffineApplyOp::create(
          b, loc, AffineMap::get(map.getNumDims(), 0, e), ivs));
    return indices;
  }

  /// A mask of the first `count` lanes of `lanes`.
  Value maskOf(int64_t lanes, Value count) {
    return vector::CreateMaskOp::create(
        b, loc, VectorType::get({lanes}, b.getI1Type()), {count});
  }

  /// Input `i` as a vector at the current loop values; `live` lanes hold
  /// output elements (nullptr: all of them).
  Value readInput(unsigned i, Value live) {
    OpOperand *operand = op.getDpsInputOperands()[i];
    SmallVector<Value> at = indicesOf(operand);
    int64_t stride = plan.inputs[i].stride;
    if (stride == 0)
      return vector::BroadcastOp::create(
          b, loc, vecType, memref::LoadOp::create(b, loc, operand->get(), at));
    if (stride == 1) {
      if (!live)
        return vector::LoadOp::create(b, loc, vecType, operand->get(), at);
      return vector::MaskedLoadOp::create(b, loc, vecType, operand->get(), at,
                                          maskOf(width, live),
                                          zerosOf(vecType));
    }
    // Lanes 0, s, 2s, ... of a run of width * s elements, of which only
    // the first (live - 1) * s + 1 are read: the row's last element may be
    // the buffer's last.
    auto wide = VectorType::get({width * stride}, vecType.getElementType());
    Value count =
        live ? arith::AddIOp::create(
                   b, loc,
                   arith::MulIOp::create(
                       b, loc, arith::SubIOp::create(b, loc, live, index(1)),
                       index(stride)),
                   index(1))
             : index((width - 1) * stride + 1);
    SmallVector<int64_t> lanes;
    for (int64_t l = 0; l < width; ++l)
      lanes.push_back(l * stride);
    if (stride == 2) {
      // Two loads of `width` and a shuffle of both: the shuffle of one wide
      // load is a single-source shuffle, and LLVM moves those below
      // elementwise intrinsics (maximum(shuffle(a), shuffle(b)) becomes
      // shuffle(maximum(a, b))), so a max pool took its maximums on twice
      // the lanes it keeps: 6 instructions each on AVX-512.
      Value loCount = arith::MinSIOp::create(b, loc, count, index(width));
      Value hiCount = arith::SubIOp::create(b, loc, count, index(width));
      SmallVector<Value> hiAt(at);
      hiAt.back() = arith::AddIOp::create(b, loc, at.back(), index(width));
      Value lo = vector::MaskedLoadOp::create(b, loc, vecType, operand->get(),
                                              at, maskOf(width, loCount),
                                              zerosOf(vecType));
      Value hi = vector::MaskedLoadOp::create(b, loc, vecType, operand->get(),
                                              hiAt, maskOf(width, hiCount),
                                              zerosOf(vecType));
      return vector::ShuffleOp::create(b, loc, lo, hi,
                                       b.getDenseI64ArrayAttr(lanes));
    }
    Value run = vector::MaskedLoadOp::create(b, loc, wide, operand->get(), at,
                                             maskOf(width * stride, count),
                                             zerosOf(wide));
    return vector::ShuffleOp::create(b, loc, run, run,
                                     b.getDenseI64ArrayAttr(lanes));
  }

  /// The op's body on vectors: block arguments mapped to `inputs` and
  /// `acc`; scalars from outside (or constants) are broadcast.
  Value applyBody(ArrayRef<Value> inputs, Value acc) {
    Block &body = op.getRegion().front();
    IRMapping map;
    for (auto [arg, v] : llvm::zip(body.getArguments().drop_back(), inputs))
      map.map(arg, v);
    map.map(body.getArguments().back(), acc);
    auto vectorOf = [&](Value v) -> Value {
      Value mapped = map.lookupOrDefault(v);
      if (isa<VectorType>(mapped.getType()))
        return mapped;
      return vector::BroadcastOp::create(
          b, loc, VectorType::get({width}, mapped.getType()), mapped);
    };
    for (Operation &bodyOp : body.without_terminator()) {
      if (isa<arith::ConstantOp>(bodyOp)) {
        b.clone(bodyOp, map);
        continue;
      }
      SmallVector<Value> operands;
      for (Value v : bodyOp.getOperands())
        operands.push_back(vectorOf(v));
      Type resultType = VectorType::get({width}, bodyOp.getResult(0).getType());
      OperationState state(loc, bodyOp.getName(), operands, {resultType},
                           bodyOp.getAttrs());
      map.map(bodyOp.getResult(0), b.create(state)->getResult(0));
    }
    return vectorOf(body.getTerminator()->getOperand(0));
  }

  /// The output vectors at the row position already in `ivs` and the
  /// blocked loop's values `block` (one accumulator each, independent
  /// chains of fused multiply-adds): their reduction loops with the
  /// accumulators carried, then the stores.
  void emitVectors(Value live, ArrayRef<Value> block) {
    OpOperand *out = op.getDpsInitOperand(0);
    for (unsigned d : plan.reduced) // a previous vector's loops are gone
      ivs[d] = zero;
    // An output the body does not read (an unrolled window's) is not loaded.
    bool readsOut = op.payloadUsesValueFromOperand(out);
    SmallVector<SmallVector<Value>> outAt;
    SmallVector<Value> accs;
    for (Value at : block) {
      if (plan.blocked >= 0)
        ivs[plan.blocked] = at;
      outAt.push_back(indicesOf(out));
      if (!readsOut) {
        accs.push_back(zerosOf(vecType));
        continue;
      }
      accs.push_back(
          live ? vector::MaskedLoadOp::create(
                     b, loc, vecType, out->get(), outAt.back(),
                     maskOf(width, live),
                     zerosOf(vecType))
               : vector::LoadOp::create(b, loc, vecType, out->get(),
                                        outAt.back())
                     .getResult());
    }
    accs = emitReductions(0, accs, live, block);
    for (auto [acc, at] : llvm::zip(accs, outAt)) {
      if (live)
        vector::MaskedStoreOp::create(b, loc, out->get(), at,
                                      maskOf(width, live), acc);
      else
        vector::StoreOp::create(b, loc, acc, out->get(), at);
    }
  }

  SmallVector<Value> emitReductions(unsigned level, ValueRange accs, Value live,
                                    ArrayRef<Value> block) {
    if (level == plan.reduced.size()) {
      SmallVector<Value> next;
      for (auto [acc, at] : llvm::zip(accs, block)) {
        if (plan.blocked >= 0)
          ivs[plan.blocked] = at;
        SmallVector<Value> inputs;
        for (unsigned i = 0; i < plan.inputs.size(); ++i)
          inputs.push_back(readInput(i, live));
        next.push_back(applyBody(inputs, acc));
      }
      return next;
    }
    unsigned d = plan.reduced[level];
    auto loop =
        scf::ForOp::create(b, loc, index(0), extents[d], index(1), accs);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    ivs[d] = loop.getInductionVar();
    SmallVector<Value> next =
        emitReductions(level + 1, loop.getRegionIterArgs(), live, block);
    scf::YieldOp::create(b, loc, next);
    b.setInsertionPointAfter(loop);
    return SmallVector<Value>(loop.getResults());
  }

  /// The row in whole vectors and its remainder, for the blocked loop's
  /// values `block`.
  void emitRow(ArrayRef<Value> block) {
    Value rowExtent = extents[plan.rowDim];
    Value whole = wholeSteps(rowExtent, width);
    {
      auto loop = scf::ForOp::create(b, loc, index(0), whole, index(width));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      ivs[plan.rowDim] = loop.getInductionVar();
      emitVectors(/*live=*/nullptr, block);
    }
    Value rest = arith::SubIOp::create(b, loc, rowExtent, whole);
    Value any = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, rest,
                                      index(0));
    auto tail = scf::IfOp::create(b, loc, any, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(tail.thenBlock());
    ivs[plan.rowDim] = whole;
    emitVectors(rest, block);
  }

  /// The parallel loops; the blocked one (the innermost) in steps of
  /// `plan.unroll`, then its remainder.
  void emitParallel(unsigned level) {
    if (level == plan.parallel.size()) {
      emitRow({zero});
      return;
    }
    unsigned d = plan.parallel[level];
    if (int64_t(d) != plan.blocked) {
      auto loop = scf::ForOp::create(b, loc, index(0), extents[d], index(1));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      ivs[d] = loop.getInductionVar();
      emitParallel(level + 1);
      return;
    }
    int64_t u = plan.unroll;
    Value whole = wholeSteps(extents[d], u);
    auto blockAt = [&](Value first, int64_t count) {
      SmallVector<Value> block;
      for (int64_t i = 0; i < count; ++i)
        block.push_back(arith::AddIOp::create(b, loc, first, index(i)));
      return block;
    };
    {
      auto loop = scf::ForOp::create(b, loc, index(0), whole, index(u));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      emitRow(blockAt(loop.getInductionVar(), u));
    }
    // The remainder: one smaller block when the extent is known, else one
    // iteration at a time.
    std::optional<int64_t> extent = getConstantIntValue(extents[d]);
    if (extent) {
      if (*extent % u)
        emitRow(blockAt(whole, *extent % u));
      return;
    }
    auto rest = scf::ForOp::create(b, loc, whole, extents[d], index(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(rest.getBody());
    emitRow({rest.getInductionVar()});
  }

  SmallVector<Value> extents;
  Value zero; ///< index 0, before the loops

  void run() {
    for (Range r :
         cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(b, loc))
      extents.push_back(getValueOrCreateConstantIndexOp(b, loc, r.size));
    // The output's indices are built before the reduction loops exist: a
    // map that does not use a loop still takes an operand for it.
    zero = index(0);
    for (Value &iv : ivs)
      iv = zero;
    emitParallel(0);
    op.erase();
  }
};

struct VectorizeWindowsPass
    : memc::impl::VectorizeWindowsBase<VectorizeWindowsPass> {
  using Base::Base;
  void runOnOperation() override {
    if (width < 1 || unroll < 1 || maxTaps < 1) {
      getOperation()->emitError()
          << "memc-vectorize-windows: width, unroll and max-taps must be at "
             "least 1";
      return signalPassFailure();
    }
    SmallVector<std::pair<linalg::GenericOp, WindowPlan>> found;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (std::optional<WindowPlan> plan = planFor(op, maxTaps, unroll))
        found.emplace_back(op, std::move(*plan));
    });
    for (auto &[op, plan] : found)
      WindowRewriter(op, plan, width).run();
  }
};

} // namespace
