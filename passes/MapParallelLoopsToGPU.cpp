//===- MapParallelLoopsToGPU.cpp - loop nests to gpu.launch ---------------===//
//
// Upstream's gpu-map-parallel-loops maps loop dimension i to hardware id i
// (x, y, z, then sequential) and puts one thread in a block unless the loop
// was tiled first. For the loop nests linalg produces (rank 4-5, the
// contiguous dimension last) that maps the contiguous dimension to blockIdx.z
// or to a sequential loop: uncoalesced and mostly idle. Linearizing the whole
// iteration space instead gives every loop nest, whatever its rank, one
// thread per point with the innermost dimension fastest, which is what
// coalescing wants.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"

namespace memc {
#define GEN_PASS_DEF_MAPPARALLELLOOPSTOGPU
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

/// Static bounds of one loop dimension.
struct Dim {
  int64_t lower, step, count;
};

static std::optional<int64_t> constantIndex(Value v) {
  APInt value;
  if (!matchPattern(v, m_ConstantInt(&value)))
    return std::nullopt;
  return value.getSExtValue();
}

struct MapParallelLoopsToGPUPass
    : memc::impl::MapParallelLoopsToGPUBase<MapParallelLoopsToGPUPass> {
  using Base::Base;

  /// Creates `gpu.launch` with `threads` threads in blocks of at most
  /// `blockSize` and returns it with the builder inside its body.
  gpu::LaunchOp createLaunch(OpBuilder &b, Location loc, int64_t threads) {
    int64_t block = std::min(blockSize.getValue(), threads);
    int64_t grid = (threads + block - 1) / block;
    auto idx = [&](int64_t v) {
      return arith::ConstantIndexOp::create(b, loc, v).getResult();
    };
    Value one = idx(1);
    auto launch = gpu::LaunchOp::create(b, loc, idx(grid), one, one, idx(block),
                                        one, one);
    b.setInsertionPointToEnd(&launch.getBody().front());
    gpu::TerminatorOp::create(b, loc);
    b.setInsertionPointToStart(&launch.getBody().front());
    return launch;
  }

  LogicalResult mapParallel(scf::ParallelOp loop) {
    if (loop.getNumResults() != 0)
      return loop.emitError("memc-map-parallel-loops-to-gpu: scf.parallel "
                            "with reduction results is not supported");
    SmallVector<Dim> dims;
    int64_t total = 1;
    for (auto [lb, ub, step] : llvm::zip(
             loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
      auto l = constantIndex(lb), u = constantIndex(ub),
           s = constantIndex(step);
      if (!l || !u || !s || *s <= 0)
        return loop.emitError("memc-map-parallel-loops-to-gpu: loop bounds "
                              "must be constants (static shapes)");
      int64_t count = *u > *l ? (*u - *l + *s - 1) / *s : 0;
      dims.push_back({*l, *s, count});
      if (count != 0 && total > INT64_MAX / count)
        return loop.emitError("memc-map-parallel-loops-to-gpu: iteration "
                              "space too large");
      total *= count;
    }
    if (total == 0) {
      loop.erase();
      return success();
    }

    Location loc = loop.getLoc();
    OpBuilder b(loop);
    gpu::LaunchOp launch = createLaunch(b, loc, total);
    // 64-bit division is a long instruction sequence on NVIDIA GPUs; the
    // delinearization below divides once per dimension, so use i32 whenever
    // the linear index fits.
    bool narrow = total < (int64_t(1) << 31);
    Type intType = narrow ? b.getI32Type() : b.getI64Type();
    auto cst = [&](int64_t v) {
      return arith::ConstantIntOp::create(b, loc, intType, v).getResult();
    };
    auto toInt = [&](Value index) {
      return arith::IndexCastUIOp::create(b, loc, intType, index).getResult();
    };
    Value blockId = toInt(launch.getBlockIds().x);
    Value threadId = toInt(launch.getThreadIds().x);
    Value blockDim = toInt(launch.getBlockSize().x);
    Value linear = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, blockId, blockDim), threadId);
    Value inBounds = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                           linear, cst(total));
    auto guard = scf::IfOp::create(b, loc, inBounds, /*withElseRegion=*/false);
    b.setInsertionPointToStart(&guard.getThenRegion().front());

    // Innermost dimension fastest: peel dimensions from the back.
    IRMapping mapping;
    Value rest = linear;
    for (int64_t i = int64_t(dims.size()) - 1; i >= 0; --i) {
      const Dim &d = dims[i];
      Value pos = rest;
      if (i > 0) {
        pos = arith::RemUIOp::create(b, loc, rest, cst(d.count));
        rest = arith::DivUIOp::create(b, loc, rest, cst(d.count));
      }
      Value iv = arith::IndexCastUIOp::create(b, loc, b.getIndexType(), pos);
      if (d.step != 1)
        iv = arith::MulIOp::create(
            b, loc, iv, arith::ConstantIndexOp::create(b, loc, d.step));
      if (d.lower != 0)
        iv = arith::AddIOp::create(
            b, loc, iv, arith::ConstantIndexOp::create(b, loc, d.lower));
      mapping.map(loop.getInductionVars()[i], iv);
    }
    for (Operation &op : loop.getBody()->without_terminator())
      b.clone(op, mapping);
    loop.erase();
    return success();
  }

  /// A loop nest with no parallel dimension (a full reduction): one thread.
  void mapSequential(Operation *op) {
    OpBuilder b(op);
    createLaunch(b, op->getLoc(), 1);
    op->moveBefore(b.getInsertionBlock(), b.getInsertionPoint());
  }

  void runOnOperation() override {
    if (blockSize < 1 || blockSize > 1024) {
      getOperation().emitError("memc-map-parallel-loops-to-gpu: block-size "
                               "must be 1 to 1024");
      return signalPassFailure();
    }
    // Only the loops directly in the function body: nested ones run inside
    // the thread of their enclosing loop's point.
    SmallVector<Operation *> roots;
    for (Operation &op : getOperation().getBody().getOps())
      if (isa<scf::ParallelOp, scf::ForOp>(op))
        roots.push_back(&op);
    for (Operation *op : roots) {
      if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
        if (failed(mapParallel(loop)))
          return signalPassFailure();
      } else {
        mapSequential(op);
      }
    }
  }
};

} // namespace
