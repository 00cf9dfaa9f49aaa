//===- ParallelKernels.cpp - outlined kernels over row ranges -------------===//
//
// The generated loops of the CPU target ran on the calling thread while
// only GEMMs used the runtime's pool. A kernel of memc-outline-kernels is
// one linalg op on buffers; when its first loop is parallel, rows [lo, hi)
// of it are an independent piece of work: the op on its operands' slices.
// The kernel takes lo and hi, and its calls name a declaration that
// memc-parallel-calls-to-runtime turns into memc_rt_parallel_for.
//
//===----------------------------------------------------------------------===//
#include "memc/Analysis/OpWork.h"
#include "memc/Transforms/Passes.h"
#include "memc/Transforms/RuntimeCalls.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace memc {
#define GEN_PASS_DEF_PARALLELKERNELS
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

/// The kernel's one linalg op, when everything else in it only names
/// buffers (constants, arena views, view-like ops).
linalg::LinalgOp soleLinalgOp(func::FuncOp kernel) {
  linalg::LinalgOp found;
  for (Operation &op : kernel.getBody().front()) {
    if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
      if (found)
        return {};
      found = linalgOp;
      continue;
    }
    if (isa<func::ReturnOp, arith::ConstantOp, ViewLikeOpInterface,
            memref::CastOp>(op))
      continue;
    auto call = dyn_cast<func::CallOp>(op);
    if (call && (call.getCallee() == "memc_rt_arena_view" ||
                 call.getCallee() == "memc_rt_arena_release"))
      continue;
    return {};
  }
  return found;
}

/// For each operand of `op`, the dimension its map indexes loop `loop`
/// with plainly (-1: none), or nullopt when that loop may not be split: it
/// is not parallel, some operand reads it through an expression or twice,
/// or an output does not have it.
std::optional<SmallVector<int64_t>> splitDims(linalg::LinalgOp op,
                                              unsigned loop) {
  if (loop >= op.getNumLoops() || !op.hasPureBufferSemantics() ||
      op.getIteratorTypesArray()[loop] != utils::IteratorType::parallel)
    return std::nullopt;
  SmallVector<int64_t> dims;
  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    int64_t dim = -1;
    for (auto [j, e] : llvm::enumerate(map.getResults())) {
      if (!e.isFunctionOfDim(loop))
        continue;
      auto d = dyn_cast<AffineDimExpr>(e);
      if (!d || dim >= 0)
        return std::nullopt;
      dim = j;
    }
    if (dim < 0 && op.isDpsInit(&operand))
      return std::nullopt;
    dims.push_back(dim);
  }
  return dims;
}

/// The loop to split: the outermost parallel one that every operand
/// indexes plainly, of at least 4 iterations (else the longest such, of at
/// least 2), with the operands' dimensions for it.
std::optional<std::pair<unsigned, SmallVector<int64_t>>>
chooseLoop(linalg::LinalgOp op) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  std::optional<std::pair<unsigned, SmallVector<int64_t>>> best;
  for (unsigned loop = 0; loop < ranges.size(); ++loop) {
    if (ShapedType::isDynamic(ranges[loop]) || ranges[loop] < 2)
      continue;
    std::optional<SmallVector<int64_t>> dims = splitDims(op, loop);
    if (!dims)
      continue;
    if (ranges[loop] >= 4)
      return std::make_pair(loop, *dims);
    if (!best || ranges[loop] > ranges[best->first])
      best = std::make_pair(loop, *dims);
  }
  return best;
}

/// Rewrites `kernel` to rows [lo, hi) of its op's loop `loop` (two new
/// index arguments); `dims` from splitDims.
void sliceKernel(func::FuncOp kernel, linalg::LinalgOp op, unsigned loop,
                 ArrayRef<int64_t> dims) {
  Location loc = op.getLoc();
  unsigned n = kernel.getNumArguments();
  IndexType indexType = IndexType::get(kernel.getContext());
  (void)kernel.insertArgument(n, indexType, {}, loc);
  (void)kernel.insertArgument(n + 1, indexType, {}, loc);
  Value lo = kernel.getArgument(n), hi = kernel.getArgument(n + 1);
  OpBuilder b(op);
  Value rows = arith::SubIOp::create(b, loc, hi, lo);
  for (auto [operand, dim] : llvm::zip(op->getOpOperands(), dims)) {
    if (dim < 0)
      continue;
    auto type = cast<MemRefType>(operand.get().getType());
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes, strides(type.getRank(), b.getIndexAttr(1));
    for (int64_t s : type.getShape())
      sizes.push_back(b.getIndexAttr(s));
    offsets[dim] = lo;
    sizes[dim] = rows;
    operand.set(memref::SubViewOp::create(b, loc, operand.get(), offsets, sizes,
                                          strides));
  }
  // The body's view of the loop starts at lo.
  op->walk([&](linalg::IndexOp index) {
    if (index.getDim() != loop)
      return;
    OpBuilder after(index->getContext());
    after.setInsertionPointAfter(index);
    Value shifted = arith::AddIOp::create(after, index.getLoc(), index, lo);
    index.getResult().replaceAllUsesExcept(shifted, shifted.getDefiningOp());
  });
}

struct ParallelKernelsPass
    : public memc::impl::ParallelKernelsBase<ParallelKernelsPass> {
  using ParallelKernelsBase::ParallelKernelsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    // Calls by callee, found before any kernel changes.
    llvm::DenseMap<StringRef, SmallVector<func::CallOp>> calls;
    module.walk(
        [&](func::CallOp call) { calls[call.getCallee()].push_back(call); });
    SmallVector<func::FuncOp> kernels;
    for (func::FuncOp fn : module.getOps<func::FuncOp>())
      if (fn.isPrivate() && !fn.isExternal() && fn.getNumResults() == 0)
        kernels.push_back(fn);
    for (func::FuncOp kernel : kernels) {
      linalg::LinalgOp op = soleLinalgOp(kernel);
      if (!op)
        continue;
      auto choice = chooseLoop(op);
      if (!choice || memc::loopWork(op) < minWork)
        continue;
      auto &[loop, dims] = *choice;
      int64_t extent = op.getStaticLoopRanges()[loop];
      auto found = calls.find(kernel.getSymName());
      if (found == calls.end())
        continue;
      FunctionType type = kernel.getFunctionType();
      sliceKernel(kernel, op, loop, dims);
      // The declaration the calls name: the kernel's arguments, then the
      // extent of loop 0.
      OpBuilder b(kernel);
      SmallVector<Type> inputs(type.getInputs());
      inputs.push_back(b.getIndexType());
      auto decl = func::FuncOp::create(
          b, kernel.getLoc(),
          (kernel.getSymName() + memc::kParallelKernelSuffix).str(),
          FunctionType::get(b.getContext(), inputs, {}));
      decl.setPrivate();
      symbols.insert(decl);
      for (func::CallOp call : found->second) {
        OpBuilder cb(call);
        SmallVector<Value> args(call.getOperands());
        args.push_back(
            arith::ConstantIndexOp::create(cb, call.getLoc(), extent));
        func::CallOp::create(cb, call.getLoc(), decl, args);
        call.erase();
      }
    }
  }
};

} // namespace
