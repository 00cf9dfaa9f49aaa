//===- ReductionsToGPU.cpp - reductions as block-parallel kernels ---------===//
//
// memc-map-parallel-loops-to-gpu gives each point of a loop nest's parallel
// dimensions one thread, and a thread runs the reduction dimensions inside
// it in order. Training makes that the wrong shape: a weight gradient sums
// over the batch and the positions into few outputs (a bias: 128 outputs of
// 2,048 terms each; a convolution's filter: its 1,152 outputs of 8,192
// terms), and where linalg's iteration order puts a reduction dimension
// first the nest even becomes one thread. On an H200, the first GPU runs of
// memc's train steps spent 97% of the CNN's step and 75% of the LM's in such
// kernels, 13-27x slower than the same step on two CPU cores.
//
// So each linalg.generic with reduction iterators is handled here, before
// it becomes loops:
//  - few outputs (fewer than kThreadPerOutput) with enough terms each, and
//    the reduction a single combiner of f32 (add, mul, max, min): one block
//    per output point, its threads striding over the reduction space with a
//    private accumulator, then warp shuffles and one shared-memory step
//    combine them, and thread 0 folds the sum into the output (which holds
//    linalg's initial value). The order of the additions differs from the
//    sequential one: results agree to rounding, not bit for bit;
//  - otherwise the parallel dimensions are interchanged to the front, so
//    that convert-linalg-to-parallel-loops makes them one scf.parallel
//    (one thread per output point) around the reduction loops.
//
//===----------------------------------------------------------------------===//
#include "memc/Target/CUDA/KernelBuilder.h"
#include "memc/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>

namespace memc {
#define GEN_PASS_DEF_REDUCTIONSTOGPU
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

/// With at least this many output points, one thread per point fills the
/// GPU (an H200 holds 270,336 resident threads; 16,384 busy threads with
/// long sequential reductions are already latency-bound, fewer are idle).
constexpr int64_t kThreadPerOutput = 16384;
/// Fewer terms than this per output: a block per output would be mostly
/// idle threads and barriers.
constexpr int64_t kMinTermsPerBlock = 32;
constexpr int64_t kWarp = 32;
constexpr int64_t kMaxThreads = 256;

/// The reduction `out = combine(out, value)` of a generic's body: the
/// combining op and which of its operands is `value`.
struct Combiner {
  Operation *op = nullptr;
  unsigned valueOperand = 0;
};

/// The generic's body is `... value ...; yield combine(out, value)` where
/// `out` (its only init's block argument) has no other use.
std::optional<Combiner> matchCombiner(linalg::GenericOp g) {
  if (g.getNumDpsInits() != 1 || g->getNumResults() != 0)
    return std::nullopt;
  Block &body = g.getRegion().front();
  Value out = body.getArgument(body.getNumArguments() - 1);
  if (!out.getType().isF32() || !out.hasOneUse())
    return std::nullopt;
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  Operation *op = yield.getOperand(0).getDefiningOp();
  if (!op || op->getBlock() != &body || *out.getUsers().begin() != op ||
      !op->getResult(0).hasOneUse() ||
      !isa<arith::AddFOp, arith::MulFOp, arith::MaximumFOp, arith::MinimumFOp,
           arith::MaxNumFOp, arith::MinNumFOp>(op) ||
      op->getOperand(0) == op->getOperand(1))
    return std::nullopt;
  return Combiner{op, op->getOperand(0) == out ? 1u : 0u};
}

/// The combiner's neutral element.
double identityOf(Operation *op) {
  if (isa<arith::AddFOp>(op))
    return 0.0;
  if (isa<arith::MulFOp>(op))
    return 1.0;
  if (isa<arith::MaximumFOp, arith::MaxNumFOp>(op))
    return -std::numeric_limits<double>::infinity();
  return std::numeric_limits<double>::infinity();
}

/// `op`'s kind applied to (x, y), with its attributes (fastmath).
Value combine(OpBuilder &b, Operation *op, Value x, Value y) {
  OperationState state(op->getLoc(), op->getName(), ValueRange{x, y},
                       TypeRange{x.getType()}, op->getAttrs());
  return b.create(state)->getResult(0);
}

/// Row-major delinearization of `linear` over `extents` (innermost fastest).
SmallVector<Value> delinearize(memc::KernelBuilder &k, Value linear,
                               ArrayRef<int64_t> extents) {
  SmallVector<Value> ivs(extents.size());
  for (int64_t i = int64_t(extents.size()) - 1; i >= 0; --i) {
    ivs[i] = i > 0 ? k.rem(linear, extents[i]) : linear;
    if (i > 0)
      linear = k.div(linear, extents[i]);
  }
  return ivs;
}

/// The indices `map` gives for the loop ivs `ivs`.
SmallVector<Value> indicesOf(OpBuilder &b, Location loc, AffineMap map,
                             ArrayRef<Value> ivs) {
  SmallVector<Value> indices;
  for (AffineExpr e : map.getResults()) {
    if (auto dim = dyn_cast<AffineDimExpr>(e)) {
      indices.push_back(ivs[dim.getPosition()]);
      continue;
    }
    indices.push_back(affine::AffineApplyOp::create(
        b, loc, AffineMap::get(map.getNumDims(), 0, e), ivs));
  }
  return indices;
}

/// A reduction's loops split by iterator type, in loop order: the output
/// points (parallel) and the terms of each (reduction).
struct LoopSplit {
  SmallVector<int64_t> ranges;
  SmallVector<unsigned> parallelDims, reductionDims;
  SmallVector<int64_t> parallelExtents, reductionExtents;
  int64_t points = 1, terms = 1;
};

LoopSplit splitLoops(linalg::GenericOp g, ArrayRef<int64_t> ranges) {
  LoopSplit split;
  split.ranges.assign(ranges.begin(), ranges.end());
  for (auto [d, type] : llvm::enumerate(g.getIteratorTypesArray())) {
    bool parallel = type == utils::IteratorType::parallel;
    (parallel ? split.parallelDims : split.reductionDims).push_back(d);
    (parallel ? split.parallelExtents : split.reductionExtents)
        .push_back(ranges[d]);
    (parallel ? split.points : split.terms) *= ranges[d];
  }
  return split;
}

struct ReductionsToGPUPass
    : memc::impl::ReductionsToGPUBase<ReductionsToGPUPass> {
  /// One block per output point (see the file comment).
  void buildBlockReduction(linalg::GenericOp g, const Combiner &c,
                           const LoopSplit &split) {
    OpBuilder b(g);
    Location loc = g.getLoc();
    memc::KernelBuilder k(b, loc);
    ArrayRef<unsigned> parallelDims = split.parallelDims,
                       reductionDims = split.reductionDims;
    ArrayRef<int64_t> ranges = split.ranges;
    int64_t points = split.points, terms = split.terms;
    int64_t threads = kWarp;
    while (threads < kMaxThreads && threads < terms)
      threads *= 2;
    int64_t warps = threads / kWarp;

    gpu::LaunchOp launch =
        k.launch(points, 1, 1, threads, {k.sharedTile(1, warps)});
    Value partials = launch.getWorkgroupAttributions()[0];
    Value tid = launch.getThreadIds().x;
    SmallVector<Value> ivs(ranges.size());
    for (auto [d, iv] : llvm::zip(
             parallelDims,
             delinearize(k, launch.getBlockIds().x, split.parallelExtents)))
      ivs[d] = iv;

    Block &body = g.getRegion().front();
    Value identity = k.f32(identityOf(c.op));
    auto loop = scf::ForOp::create(b, loc, tid, k.index(terms),
                                   k.index(threads), ValueRange{identity});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      for (auto [d, iv] :
           llvm::zip(reductionDims, delinearize(k, loop.getInductionVar(),
                                                split.reductionExtents)))
        ivs[d] = iv;
      IRMapping map;
      for (OpOperand *in : g.getDpsInputOperands()) {
        Value v = in->get();
        BlockArgument arg = body.getArgument(in->getOperandNumber());
        if (!isa<MemRefType>(v.getType())) {
          map.map(arg, v);
          continue;
        }
        map.map(arg, k.load(v, indicesOf(b, loc, g.getMatchingIndexingMap(in),
                                         ivs)));
      }
      for (Operation &op : body.without_terminator()) {
        if (&op == c.op)
          continue;
        if (auto index = dyn_cast<linalg::IndexOp>(op)) {
          map.map(index.getResult(), ivs[index.getDim()]);
          continue;
        }
        b.clone(op, map);
      }
      Value value = map.lookupOrDefault(c.op->getOperand(c.valueOperand));
      Value acc = loop.getRegionIterArgs()[0];
      scf::YieldOp::create(b, loc, combine(b, c.op, acc, value));
    }

    // Warps first, then the warps' partials through shared memory.
    auto merge = [&](Value x, Value y) { return combine(b, c.op, x, y); };
    Value partial = k.groupReduce(loop.getResult(0), kWarp, merge);
    Value lane = k.rem(tid, kWarp), warp = k.div(tid, kWarp);
    Value zero = k.index(0);
    auto isZero = [&](Value v) {
      return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, v, zero);
    };
    if (warps > 1) {
      auto first = scf::IfOp::create(b, loc, isZero(lane), false);
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(first.thenBlock());
        k.store(partial, partials, {zero, warp});
      }
      k.barrier();
      // Every lane of every warp reads (shuffles need whole warps); lanes
      // past the warps' count read the identity.
      Value has = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                        lane, k.index(warps));
      Value at = k.min(lane, warps - 1);
      partial = k.select(has, k.load(partials, {zero, at}), identity);
      partial = k.groupReduce(partial, kWarp, merge);
    }
    auto last = scf::IfOp::create(b, loc, isZero(tid), false);
    b.setInsertionPointToStart(last.thenBlock());
    for (unsigned d : reductionDims)
      ivs[d] = zero;
    OpOperand *init = g.getDpsInitOperand(0);
    SmallVector<Value> at =
        indicesOf(b, loc, g.getMatchingIndexingMap(init), ivs);
    Value old = k.load(init->get(), at);
    Value total = c.valueOperand == 1 ? combine(b, c.op, old, partial)
                                      : combine(b, c.op, partial, old);
    k.store(total, init->get(), at);
    g.erase();
  }

  void runOnOperation() override {
    SmallVector<linalg::GenericOp> reductions;
    getOperation().walk([&](linalg::GenericOp g) {
      if (g.hasPureBufferSemantics() && g.getNumReductionLoops() > 0 &&
          !g->getParentOfType<gpu::LaunchOp>())
        reductions.push_back(g);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp g : reductions) {
      SmallVector<int64_t> ranges = g.getStaticLoopRanges();
      if (llvm::any_of(ranges, ShapedType::isDynamic))
        continue;
      LoopSplit split = splitLoops(g, ranges);
      std::optional<Combiner> c = matchCombiner(g);
      if (c && split.points < kThreadPerOutput &&
          split.terms >= kMinTermsPerBlock) {
        buildBlockReduction(g, *c, split);
        continue;
      }
      SmallVector<unsigned> order(split.parallelDims);
      order.append(split.reductionDims);
      if (llvm::equal(order, llvm::seq<unsigned>(0, order.size())))
        continue;
      rewriter.setInsertionPoint(g);
      if (failed(linalg::interchangeGenericOp(rewriter, g, order))) {
        g.emitError("memc-reductions-to-gpu: cannot interchange the loops");
        return signalPassFailure();
      }
    }
  }
};

} // namespace
