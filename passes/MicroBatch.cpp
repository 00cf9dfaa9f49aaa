//===- MicroBatch.cpp - a train step a chunk of its batch at a time -------===//
//
// A train step on tensors holds full-batch activations: a CNN's first
// convolution output, its im2col copy, the max-pool's gradient, each
// [batch, ...] at once. Where every op that reads the batch either keeps it
// (elementwise ops, convolutions, pooling: the batch is a parallel loop) or
// sums over it (weight gradients, the loss), the step can run a chunk of the
// batch at a time: the batch-parallel ops run on [chunk, ...] slices inside
// an scf.for, and each sum over the batch carries its partial result from
// chunk to chunk (the linalg op's init is the loop's iter_arg, so the
// combiner is the op's own). Only the sums, the weights and the chunk's
// activations are live at once.
//
// Values are classified in program order:
// - invariant: independent of the batch (weights, constants, their
//   functions); left where they are, before the loops;
// - batched, along one dimension: the inputs (memc.input, dimension 0) and
//   what batch-parallel ops make of them; made inside the loops;
// - reduced: results of ops that sum (or max, ...) over the batch, and
//   functions of them; final only after a loop.
// A batched op that reads a reduced value (the loss's mean weights label
// counts, a batch norm's statistics) runs in a later loop than the one that
// completes it, and the batched values it reads are recomputed there. Each
// reduction runs in the first loop where it can when a batched op needs it,
// else in the last; ops of reduced values go after the loop that completes
// their operands.
//
// The chunk is `chunk` rows, or else the largest divisor of the batch whose
// largest batched value takes at most `chunk-bytes`. A function with an op that
// reads a batched value in a way this does not follow (a region op, a reshape
// that merges the batch, a map that does arithmetic on the batch index) is left
// as it is. The loops carry `memc.micro_batch`, so the arena planner
// (BufferLiveness) schedules their bodies op by op: each chunk's buffers
// reuse the same space.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"

#include "dialects/memc/MemcDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

namespace memc {
#define GEN_PASS_DEF_MICROBATCH
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

constexpr int64_t kMaxLoops = 3;

/// What a value is with respect to the batch.
struct ValueInfo {
  enum Kind { Invariant, Batched, Reduced } kind = Invariant;
  /// Batched: the dimension that is the batch.
  int64_t dim = -1;
  /// Batched: the first loop that can make it (reads of reduced values
  /// push it later). Reduced: the loop after which it is final.
  int64_t phase = 0;
};

/// How one op that reads batched values is chunked.
struct BatchedOp {
  Operation *op = nullptr;
  /// Per operand: the dimension that is the batch, or -1.
  SmallVector<int64_t> operandDims;
  /// Per result: the batch dimension (-1 for a reduction's results).
  SmallVector<int64_t> resultDims;
  /// The op sums (maxes, ...) over the batch: its inits are carried.
  bool reduction = false;
  int64_t need = 1;
  /// Reductions: the loop that makes it.
  int64_t loop = 0;
};

struct Analysis {
  int64_t batch = 0;
  llvm::DenseMap<Value, ValueInfo> info;
  llvm::MapVector<Operation *, BatchedOp> batched;
  /// Ops of reduced values, in program order.
  SmallVector<Operation *> post;
  std::string failure;

  ValueInfo get(Value v) const {
    auto it = info.find(v);
    return it == info.end() ? ValueInfo{} : it->second;
  }
};

/// Whether `op`'s regions read a value defined outside it that is not
/// invariant.
bool capturesVarying(Operation *op, const Analysis &a) {
  bool bad = false;
  op->walk([&](Operation *inner) {
    if (inner == op)
      return;
    for (Value v : inner->getOperands())
      if (!op->isAncestor(v.getParentBlock()->getParentOp()) &&
          a.get(v).kind != ValueInfo::Invariant)
        bad = true;
  });
  return bad;
}

/// `type` with dimension `dim` set to `size`.
RankedTensorType withDim(Type type, int64_t dim, int64_t size) {
  auto tensor = cast<RankedTensorType>(type);
  SmallVector<int64_t> shape(tensor.getShape());
  shape[dim] = size;
  return tensor.clone(shape);
}

/// How a reduction's init operand `init` combines with the rest of its op's
/// body: the yielded value is `out <kind> x` for the init's block argument
/// `out`, read nowhere else. Partial results of the reduction over disjoint
/// rows then combine with the same kind.
std::optional<arith::AtomicRMWKind> combinerOf(OpOperand &init) {
  auto op = dyn_cast<linalg::LinalgOp>(init.getOwner());
  if (!op || !op.isDpsInit(&init))
    return std::nullopt;
  BlockArgument out = op.getMatchingBlockArgument(&init);
  Operation *yield = op.getBlock()->getTerminator();
  unsigned index = cast<DestinationStyleOpInterface>(op.getOperation())
                       .getTiedOpResult(&init)
                       .getResultNumber();
  Operation *def = yield->getOperand(index).getDefiningOp();
  if (!def || def->getNumOperands() != 2 || !out.hasOneUse() ||
      !llvm::is_contained(def->getOperands(), out))
    return std::nullopt;
  if (isa<arith::AddFOp>(def))
    return arith::AtomicRMWKind::addf;
  if (isa<arith::AddIOp>(def))
    return arith::AtomicRMWKind::addi;
  if (isa<arith::MulFOp>(def))
    return arith::AtomicRMWKind::mulf;
  if (isa<arith::MaximumFOp>(def))
    return arith::AtomicRMWKind::maximumf;
  if (isa<arith::MinimumFOp>(def))
    return arith::AtomicRMWKind::minimumf;
  if (isa<arith::MaxNumFOp>(def))
    return arith::AtomicRMWKind::maxnumf;
  if (isa<arith::MinNumFOp>(def))
    return arith::AtomicRMWKind::minnumf;
  return std::nullopt;
}

/// The batch loop of a linalg op: fills the operand and result dimensions.
LogicalResult analyzeLinalg(linalg::LinalgOp op, const Analysis &a,
                            BatchedOp &out, std::string &why) {
  if (!op.hasPureTensorSemantics()) {
    why = "a linalg op on buffers";
    return failure();
  }
  // The loop dimension that indexes the batch of a batched operand.
  std::optional<unsigned> loop;
  for (OpOperand &operand : op->getOpOperands()) {
    ValueInfo v = a.get(operand.get());
    if (v.kind != ValueInfo::Batched)
      continue;
    AffineExpr e = op.getMatchingIndexingMap(&operand).getResult(v.dim);
    auto d = dyn_cast<AffineDimExpr>(e);
    if (!d || (loop && *loop != d.getPosition())) {
      why = "an indexing map that does not read the batch as one loop";
      return failure();
    }
    loop = d.getPosition();
  }
  if (!loop)
    return failure();
  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    int64_t at = -1;
    for (unsigned j = 0; j < map.getNumResults(); ++j) {
      AffineExpr e = map.getResult(j);
      if (auto d = dyn_cast<AffineDimExpr>(e); d && d.getPosition() == *loop) {
        if (at >= 0) {
          why = "an operand read twice along the batch";
          return failure();
        }
        at = j;
      } else if (e.isFunctionOfDim(*loop)) {
        why = "an indexing map that computes with the batch index";
        return failure();
      }
    }
    ValueInfo v = a.get(operand.get());
    if (v.kind == ValueInfo::Batched && v.dim != at) {
      why = "an operand whose batch is another dimension";
      return failure();
    }
    if (v.kind == ValueInfo::Reduced && at >= 0) {
      why = "a reduced value read along the batch";
      return failure();
    }
    if (at >= 0 &&
        cast<ShapedType>(operand.get().getType()).getDimSize(at) != a.batch) {
      why = "an operand whose batch dimension is not the batch";
      return failure();
    }
    out.operandDims.push_back(at);
  }
  out.reduction =
      op.getIteratorTypesArray()[*loop] == utils::IteratorType::reduction;
  for (OpOperand &init : op.getDpsInitsMutable()) {
    int64_t at = out.operandDims[init.getOperandNumber()];
    if (out.reduction) {
      if (a.get(init.get()).kind != ValueInfo::Invariant) {
        why = "a reduction over the batch into a varying init";
        return failure();
      }
      out.resultDims.push_back(-1);
      continue;
    }
    if (at < 0) {
      why = "a batch-parallel op with a result that has no batch";
      return failure();
    }
    out.resultDims.push_back(at);
  }
  return success();
}

/// Whether a static slice is whole along dimension `dim` of a batch.
bool wholeAlong(ArrayRef<int64_t> offsets, ArrayRef<int64_t> sizes,
                ArrayRef<int64_t> strides, int64_t dim, int64_t batch) {
  return offsets[dim] == 0 && sizes[dim] == batch && strides[dim] == 1;
}

LogicalResult analyzeBatched(Operation *op, const Analysis &a, BatchedOp &out,
                             std::string &why) {
  out.op = op;
  auto dimOf = [&](Value v) {
    ValueInfo i = a.get(v);
    return i.kind == ValueInfo::Batched ? i.dim : int64_t(-1);
  };
  if (capturesVarying(op, a)) {
    why = "a region that reads varying values";
    return failure();
  }
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
    return analyzeLinalg(linalgOp, a, out, why);
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
    int64_t d = dimOf(slice.getSource());
    if (slice.getResultType().getRank() != slice.getSourceType().getRank() ||
        ShapedType::isDynamic(slice.getStaticOffsets()[d]) ||
        !wholeAlong(slice.getStaticOffsets(), slice.getStaticSizes(),
                    slice.getStaticStrides(), d, a.batch)) {
      why = "a slice of part of the batch";
      return failure();
    }
    out.operandDims.assign(op->getNumOperands(), -1);
    out.operandDims[0] = d;
    out.resultDims = {d};
    return success();
  }
  if (auto insert = dyn_cast<tensor::InsertSliceOp>(op)) {
    int64_t d = dimOf(insert.getDest());
    if (d < 0)
      d = dimOf(insert.getSource());
    if (insert.getSourceType().getRank() != insert.getDestType().getRank() ||
        ShapedType::isDynamic(insert.getStaticOffsets()[d]) ||
        !wholeAlong(insert.getStaticOffsets(), insert.getStaticSizes(),
                    insert.getStaticStrides(), d, a.batch) ||
        insert.getDestType().getDimSize(d) != a.batch) {
      why = "an insertion into part of the batch";
      return failure();
    }
    for (Value v : {insert.getSource(), insert.getDest()})
      if (a.get(v).kind == ValueInfo::Reduced ||
          (dimOf(v) >= 0 && dimOf(v) != d)) {
        why = "an insertion across the batch";
        return failure();
      }
    out.operandDims.assign(op->getNumOperands(), -1);
    out.operandDims[0] = d;
    out.operandDims[1] = d;
    out.resultDims = {d};
    return success();
  }
  // A swapped activation's copies to the host pool and back
  // (memc-activation-swap): a chunk's copies.
  if (isa<memc::SwapOutOp, memc::SwapInOp>(op)) {
    out.operandDims = {dimOf(op->getOperand(0))};
    out.resultDims = {dimOf(op->getOperand(0))};
    return success();
  }
  if (auto pad = dyn_cast<tensor::PadOp>(op)) {
    int64_t d = dimOf(pad.getSource());
    if (d < 0 || pad.getStaticLow()[d] != 0 || pad.getStaticHigh()[d] != 0) {
      why = "a pad of the batch";
      return failure();
    }
    out.operandDims.assign(op->getNumOperands(), -1);
    out.operandDims[0] = d;
    out.resultDims = {d};
    return success();
  }
  // A reshape keeps the batch when the batch's group is the batch and unit
  // dimensions.
  auto batchIn = [&](const ReassociationIndices &group,
                     ArrayRef<int64_t> shape) -> int64_t {
    int64_t at = -1;
    for (int64_t i : group)
      if (shape[i] == a.batch && at < 0)
        at = i;
      else if (shape[i] != 1)
        return -1;
    return at;
  };
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
    int64_t d = dimOf(expand.getSrc());
    int64_t at = d < 0 ? -1
                       : batchIn(expand.getReassociationIndices()[d],
                                 expand.getResultType().getShape());
    if (at < 0) {
      why = "a reshape that splits the batch";
      return failure();
    }
    out.operandDims.assign(op->getNumOperands(), -1);
    out.operandDims[0] = d;
    out.resultDims = {at};
    return success();
  }
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op)) {
    int64_t d = dimOf(collapse.getSrc());
    for (auto [g, indices] :
         llvm::enumerate(collapse.getReassociationIndices()))
      if (d >= 0 && llvm::is_contained(indices, d) &&
          batchIn(indices, collapse.getSrcType().getShape()) == d) {
        out.operandDims = {d};
        out.resultDims = {int64_t(g)};
        return success();
      }
    why = "a reshape that merges the batch";
    return failure();
  }
  why = "'" + op->getName().getStringRef().str() + "' reads the batch";
  return failure();
}

/// Classifies the function's values and ops; fails when some op reads the
/// batch in a way chunks cannot follow.
LogicalResult analyze(func::FuncOp func, Analysis &a) {
  // The batch: dimension 0 of every input.
  for (BlockArgument arg : func.getArguments()) {
    if (!func.getArgAttr(arg.getArgNumber(), "memc.input"))
      continue;
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type || type.getRank() == 0 || type.isDynamicDim(0) ||
        (a.batch && type.getDimSize(0) != a.batch)) {
      a.failure = "inputs without a common static batch";
      return failure();
    }
    a.batch = type.getDimSize(0);
    a.info[arg] = {ValueInfo::Batched, 0, 1};
  }
  if (a.batch < 2) {
    a.failure = "no batch to split";
    return failure();
  }
  for (Operation &op : func.getBody().front()) {
    if (isa<func::ReturnOp>(op))
      continue;
    bool batched = false, reduced = false;
    int64_t need = 1, avail = 0;
    for (Value v : op.getOperands()) {
      ValueInfo i = a.get(v);
      batched |= i.kind == ValueInfo::Batched;
      reduced |= i.kind == ValueInfo::Reduced;
      if (i.kind == ValueInfo::Batched)
        need = std::max(need, i.phase);
      if (i.kind == ValueInfo::Reduced) {
        need = std::max(need, i.phase + 1);
        avail = std::max(avail, i.phase);
      }
    }
    if (!batched) {
      if (capturesVarying(&op, a)) {
        a.failure = "'" + op.getName().getStringRef().str() +
                    "' reads a varying value inside a region";
        return failure();
      }
      if (reduced) {
        a.post.push_back(&op);
        for (Value r : op.getResults())
          a.info[r] = {ValueInfo::Reduced, -1, avail};
      }
      continue;
    }
    BatchedOp b;
    std::string why;
    if (failed(analyzeBatched(&op, a, b, why))) {
      a.failure = why.empty() ? "'" + op.getName().getStringRef().str() +
                                    "' reads the batch"
                              : why;
      return failure();
    }
    b.need = need;
    b.loop = need;
    for (auto [r, d] : llvm::zip_equal(op.getResults(), b.resultDims))
      a.info[r] = d >= 0 ? ValueInfo{ValueInfo::Batched, d, need}
                         : ValueInfo{ValueInfo::Reduced, -1, need};
    a.batched[&op] = std::move(b);
  }
  return success();
}

/// Whether a reduction's results reach a batched op through ops of reduced
/// values: then it must complete in an earlier loop.
bool feedsBatched(Operation *reduction, const Analysis &a) {
  SmallVector<Value> work(reduction->getResults());
  llvm::SmallPtrSet<Operation *, 16> seen;
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (Operation *user : v.getUsers()) {
      if (a.batched.count(user))
        return true;
      if (seen.insert(user).second)
        work.append(user->result_begin(), user->result_end());
    }
  }
  return false;
}

struct MicroBatchPass : public memc::impl::MicroBatchBase<MicroBatchPass> {
  using MicroBatchBase::MicroBatchBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal() || !func.getBody().hasOneBlock())
      return;
    Analysis a;
    if (failed(analyze(func, a)) || a.batched.empty()) {
      setNote(func, a.failure.empty() ? "nothing reads the batch" : a.failure);
      return;
    }
    // Reductions the later loops need complete first; all others in the
    // last loop.
    int64_t loops = 1;
    for (auto &[op, b] : a.batched)
      loops = std::max(loops, b.need);
    if (loops > kMaxLoops) {
      setNote(func, std::to_string(loops) + " dependent passes over the batch");
      return;
    }
    for (auto &[op, b] : a.batched)
      if (b.reduction && !feedsBatched(op, a))
        b.loop = loops;
    // Ops of reduced values: after the loop that completes their operands.
    llvm::DenseMap<Operation *, int64_t> postLoop;
    auto finalAfter = [&](Value v) -> int64_t {
      Operation *def = v.getDefiningOp();
      if (!def || a.get(v).kind != ValueInfo::Reduced)
        return 0;
      if (auto it = a.batched.find(def); it != a.batched.end())
        return it->second.loop;
      return postLoop.lookup(def);
    };
    for (Operation *op : a.post) {
      int64_t after = 0;
      for (Value v : op->getOperands())
        after = std::max(after, finalAfter(v));
      postLoop[op] = after;
    }

    // The chunk: `chunk` rows, or the largest divisor of the batch whose
    // largest batched value fits in chunk-bytes.
    int64_t chunk = a.batch;
    if (this->chunk > 0) {
      if (a.batch % this->chunk) {
        func.emitError("memc-micro-batch: a chunk of ")
            << int64_t(this->chunk) << " rows does not divide the batch of "
            << a.batch;
        return signalPassFailure();
      }
      chunk = this->chunk;
    } else {
      int64_t largest = 0;
      for (auto &[op, b] : a.batched)
        for (auto [r, d] : llvm::zip_equal(op->getResults(), b.resultDims))
          if (d >= 0)
            largest = std::max(largest, bytesOf(r.getType()));
      while (chunk > 1 && (largest / a.batch) * chunk > chunkBytes)
        do
          --chunk;
        while (a.batch % chunk);
    }
    if (chunk == a.batch) {
      setNote(func, "the whole batch is one chunk");
      return;
    }
    int64_t lanes = std::min<int64_t>(this->lanes, a.batch / chunk);
    if (lanes > 1 && !sideBySide(func, a))
      lanes = 1;
    // A swap chosen for the whole batch's activation (memc-activation-swap)
    // moves a chunk's fraction of it, which lanes keep in their own
    // buffers instead: a swap_in of a swap_out is its source.
    if (lanes > 1)
      for (auto &[op, info] : a.batched)
        if (auto in = dyn_cast<memc::SwapInOp>(op))
          in.getResult().replaceAllUsesWith(
              in.getHost().getDefiningOp<memc::SwapOutOp>().getSource());
    build(func, a, loops, chunk, lanes, postLoop);
    Builder attrs(func.getContext());
    SmallVector<NamedAttribute> facts{
        attrs.getNamedAttr("chunk", attrs.getI64IntegerAttr(chunk)),
        attrs.getNamedAttr("loops", attrs.getI64IntegerAttr(loops))};
    if (lanes > 1)
      facts.push_back(
          attrs.getNamedAttr("lanes", attrs.getI64IntegerAttr(lanes)));
    func->setAttr(kAttr(), attrs.getDictionaryAttr(facts));
  }

  /// Whether chunks can run side by side, each lane summing its own chunks:
  /// every reduction combines partial results with a known op, no batched
  /// value leaves the function whole (lanes would write it in parallel into
  /// one carried tensor), and every swap_in reads a swap_out (the pair is
  /// dropped: a lane's host copies would be one per lane).
  static bool sideBySide(func::FuncOp func, const Analysis &a) {
    for (Value v : func.getBody().front().getTerminator()->getOperands())
      if (a.get(v).kind == ValueInfo::Batched)
        return false;
    for (auto &[op, info] : a.batched) {
      if (auto in = dyn_cast<memc::SwapInOp>(op);
          in && !in.getHost().getDefiningOp<memc::SwapOutOp>())
        return false;
      if (!info.reduction)
        continue;
      for (OpOperand &init :
           cast<DestinationStyleOpInterface>(op).getDpsInitsMutable())
        if (!combinerOf(init))
          return false;
    }
    return true;
  }

  static StringRef kAttr() {
    return memc::MemcDialect::MicroBatchAttrHelper::getNameStr();
  }

  static int64_t bytesOf(Type type) {
    auto shaped = cast<ShapedType>(type);
    return shaped.getNumElements() *
           int64_t((shaped.getElementTypeBitWidth() + 7) / 8);
  }

  void setNote(func::FuncOp func, StringRef why) {
    func->setAttr(kAttr(),
                  StringAttr::get(func.getContext(), "not split: " + why));
  }

  /// The loops, the moves of the ops of reduced values, and the erasure of
  /// the batched originals.
  void build(func::FuncOp func, Analysis &a, int64_t loops, int64_t chunk,
             int64_t lanes,
             const llvm::DenseMap<Operation *, int64_t> &postLoop) {
    Operation *ret = func.getBody().front().getTerminator();
    OpBuilder b(ret);
    Location loc = func.getLoc();
    // Final values of reductions: the loop results.
    IRMapping finals;
    // Batched values the function returns: carried whole.
    SmallVector<Value> returned;
    for (Value v : ret->getOperands())
      if (a.get(v).kind == ValueInfo::Batched && v.getDefiningOp() &&
          !llvm::is_contained(returned, v))
        returned.push_back(v);

    for (int64_t loop = 1; loop <= loops; ++loop) {
      // Ops of reduced values final after the previous loop come first.
      b.setInsertionPoint(ret);
      for (Operation *op : a.post)
        if (postLoop.lookup(op) == loop - 1 && loop > 1)
          op->moveBefore(ret);
      // What this loop makes: its reductions (and, last, the returned
      // batched values) and the batched ops they read, transitively.
      llvm::SetVector<Operation *> members;
      SmallVector<Operation *> work;
      for (auto &[op, info] : a.batched)
        if (info.reduction && info.loop == loop)
          work.push_back(op);
      if (loop == loops)
        for (Value v : returned)
          work.push_back(v.getDefiningOp());
      llvm::SmallPtrSet<Operation *, 32> inLoop;
      while (!work.empty()) {
        Operation *op = work.pop_back_val();
        if (!op || !a.batched.count(op) || !inLoop.insert(op).second)
          continue;
        for (Value v : op->getOperands())
          if (a.get(v).kind == ValueInfo::Batched)
            work.push_back(v.getDefiningOp());
      }
      for (auto &[op, info] : a.batched)
        if (inLoop.contains(op))
          members.insert(op);
      if (members.empty())
        continue;

      // Carried: the reductions' inits, then the returned values whole.
      SmallVector<Value> inits;
      SmallVector<std::pair<Operation *, unsigned>> carriedInits;
      for (Operation *op : members) {
        const BatchedOp &info = a.batched.lookup(op);
        if (!info.reduction)
          continue;
        for (OpOperand &init :
             cast<DestinationStyleOpInterface>(op).getDpsInitsMutable()) {
          inits.push_back(init.get());
          carriedInits.push_back({op, init.getOperandNumber()});
        }
      }
      unsigned firstReturned = inits.size();
      if (loop == loops)
        for (Value v : returned) {
          auto type = cast<RankedTensorType>(v.getType());
          inits.push_back(tensor::EmptyOp::create(b, loc, type.getShape(),
                                                  type.getElementType()));
        }
      // Side by side: lane l runs chunks l, l + lanes, ... into partial
      // results of its own (row l of a [lanes, ...] tensor per reduction,
      // the identity of its combiner but for lane 0, which starts from the
      // reduction's init), combined in lane order after the lanes.
      scf::ForallOp forall;
      SmallVector<arith::AtomicRMWKind> combiners;
      Value lb = arith::ConstantIndexOp::create(b, loc, 0);
      Value ub = arith::ConstantIndexOp::create(b, loc, a.batch);
      Value step = arith::ConstantIndexOp::create(b, loc, chunk * lanes);
      OpBuilder outer = b;
      if (lanes > 1) {
        SmallVector<Value> stacked;
        for (auto [j, carried] : llvm::enumerate(carriedInits)) {
          combiners.push_back(
              *combinerOf(carried.first->getOpOperand(carried.second)));
          auto type = cast<RankedTensorType>(inits[j].getType());
          SmallVector<int64_t> shape{lanes};
          llvm::append_range(shape, type.getShape());
          Value empty =
              tensor::EmptyOp::create(b, loc, shape, type.getElementType());
          Value identity = arith::ConstantOp::create(
              b, loc,
              arith::getIdentityValueAttr(combiners.back(),
                                          type.getElementType(), b, loc));
          Value filled =
              linalg::FillOp::create(b, loc, identity, empty).getResult(0);
          stacked.push_back(tensor::InsertSliceOp::create(
              b, loc, inits[j], filled, laneOffsets(b, type, b.getIndexAttr(0)),
              laneSizes(b, type), laneStrides(b, type)));
        }
        forall = scf::ForallOp::create(
            b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(lanes)}, stacked,
            std::nullopt);
        forall->setAttr(kAttr(), b.getI64IntegerAttr(lanes));
        outer.setInsertionPoint(forall.getTerminator());
        Value lane = forall.getInductionVar(0);
        lb = arith::MulIOp::create(
            outer, loc, lane,
            arith::ConstantIndexOp::create(outer, loc, chunk));
        for (auto [j, arg] : llvm::enumerate(forall.getRegionIterArgs())) {
          auto type = cast<RankedTensorType>(inits[j].getType());
          inits[j] = tensor::ExtractSliceOp::create(
              outer, loc, type, arg, laneOffsets(outer, type, lane),
              laneSizes(outer, type), laneStrides(outer, type));
        }
      }
      auto forOp = scf::ForOp::create(outer, loc, lb, ub, step, inits);
      forOp->setAttr(kAttr(), b.getI64IntegerAttr(chunk));
      OpBuilder body = OpBuilder::atBlockBegin(forOp.getBody());
      Value iv = forOp.getInductionVar();
      IRMapping map;
      // Chunks of invariant values read along the batch, made once.
      llvm::DenseMap<std::pair<Value, int64_t>, Value> chunks;
      auto chunkOf = [&](Value v, int64_t d) -> Value {
        auto key = std::make_pair(v, d);
        if (Value c = chunks.lookup(key))
          return c;
        RankedTensorType type = withDim(v.getType(), d, chunk);
        Value c;
        Operation *def = v.getDefiningOp();
        DenseElementsAttr dense;
        if (auto empty = dyn_cast_if_present<tensor::EmptyOp>(def);
            empty && type.hasStaticShape()) {
          c = tensor::EmptyOp::create(body, loc, type.getShape(),
                                      type.getElementType());
        } else if (auto fill = dyn_cast_if_present<linalg::FillOp>(def);
                   fill && type.hasStaticShape() &&
                   isa_and_present<tensor::EmptyOp>(
                       fill.getOutputs()[0].getDefiningOp())) {
          Value empty = tensor::EmptyOp::create(body, loc, type.getShape(),
                                                type.getElementType());
          c = linalg::FillOp::create(body, loc, fill.getInputs()[0], empty)
                  .getResult(0);
        } else if (matchPattern(v, m_Constant(&dense)) && dense.isSplat()) {
          c = arith::ConstantOp::create(body, loc, type,
                                        dense.resizeSplat(type));
        } else {
          c = sliceAlong(body, loc, v, d, iv, chunk);
        }
        chunks[key] = c;
        return c;
      };
      for (Operation *op : members) {
        const BatchedOp &info = a.batched.lookup(op);
        SmallVector<Value> operands;
        for (auto [k, v] : llvm::enumerate(op->getOperands())) {
          ValueInfo vi = a.get(v);
          if (vi.kind == ValueInfo::Batched) {
            if (Value m = map.lookupOrNull(v)) {
              operands.push_back(m);
            } else {
              // An input: its chunk.
              operands.push_back(chunkOf(v, vi.dim));
            }
          } else if (vi.kind == ValueInfo::Reduced) {
            operands.push_back(finals.lookupOrDefault(v));
          } else if (info.operandDims[k] >= 0) {
            operands.push_back(chunkOf(v, info.operandDims[k]));
          } else {
            operands.push_back(v);
          }
        }
        if (info.reduction)
          for (auto [j, carried] : llvm::enumerate(carriedInits))
            if (carried.first == op)
              operands[carried.second] = forOp.getRegionIterArgs()[j];
        Operation *clone = cloneChunked(body, op, info, operands, chunk);
        map.map(op->getResults(), clone->getResults());
      }
      // Yield the carried values.
      SmallVector<Value> yields;
      for (auto [op, k] : carriedInits) {
        auto dps = cast<DestinationStyleOpInterface>(
            map.lookup(op->getResult(0)).getDefiningOp());
        yields.push_back(dps.getTiedOpResult(&dps->getOpOperand(k)));
      }
      for (auto [j, v] : llvm::enumerate(returned)) {
        Value whole = forOp.getRegionIterArgs()[firstReturned + j];
        int64_t d = a.get(v).dim;
        yields.push_back(insertAlong(body, loc, map.lookup(v), whole, d, iv));
      }
      scf::YieldOp::create(body, loc, yields);
      SmallVector<Value> results(forOp.getResults());
      if (forall) {
        OpBuilder last =
            OpBuilder::atBlockEnd(forall.getTerminator().getBody());
        Value lane = forall.getInductionVar(0);
        for (auto [j, arg] : llvm::enumerate(forall.getRegionIterArgs())) {
          auto type = cast<RankedTensorType>(forOp.getResult(j).getType());
          tensor::ParallelInsertSliceOp::create(
              last, loc, forOp.getResult(j), arg, laneOffsets(last, type, lane),
              laneSizes(last, type), laneStrides(last, type));
        }
        b.setInsertionPointAfter(forall);
        for (auto [j, partials] : llvm::enumerate(forall.getResults()))
          results[j] = combineLanes(b, loc, partials, combiners[j]);
        b.setInsertionPoint(ret);
      }
      // The reductions' results after the loop.
      for (auto [j, carried] : llvm::enumerate(carriedInits)) {
        auto dps = cast<DestinationStyleOpInterface>(carried.first);
        finals.map(dps.getTiedOpResult(&dps->getOpOperand(carried.second)),
                   results[j]);
      }
      for (auto [j, v] : llvm::enumerate(returned))
        if (loop == loops)
          finals.map(v, forOp.getResult(firstReturned + j));
    }
    // Ops of reduced values final after the last loop.
    for (Operation *op : a.post)
      if (postLoop.lookup(op) == loops)
        op->moveBefore(ret);
    // Everything after the loops reads the loops' results.
    for (auto &[op, info] : a.batched)
      for (Value r : op->getResults())
        if (Value f = finals.lookupOrNull(r))
          r.replaceAllUsesWith(f);
    for (auto &[op, info] : llvm::reverse(a.batched)) {
      op->dropAllUses();
      op->erase();
    }
    // The whole-batch inits and constants only the originals read.
    for (Operation &op :
         llvm::make_early_inc_range(llvm::reverse(func.getBody().front())))
      if (isOpTriviallyDead(&op))
        op.erase();
  }

  /// Row `lane` of a [lanes, ...] tensor of `type` partials.
  static SmallVector<OpFoldResult>
  laneOffsets(OpBuilder &b, RankedTensorType type, OpFoldResult lane) {
    SmallVector<OpFoldResult> offsets{lane};
    offsets.append(type.getRank(), b.getIndexAttr(0));
    return offsets;
  }
  static SmallVector<OpFoldResult> laneSizes(OpBuilder &b,
                                             RankedTensorType type) {
    SmallVector<OpFoldResult> sizes{b.getIndexAttr(1)};
    for (int64_t s : type.getShape())
      sizes.push_back(b.getIndexAttr(s));
    return sizes;
  }
  static SmallVector<OpFoldResult> laneStrides(OpBuilder &b,
                                               RankedTensorType type) {
    return SmallVector<OpFoldResult>(type.getRank() + 1, b.getIndexAttr(1));
  }

  /// The lanes' partial results combined in lane order: identity, then
  /// lane 0, lane 1, ... (the lane loop is the innermost, a reduction).
  static Value combineLanes(OpBuilder &b, Location loc, Value partials,
                            arith::AtomicRMWKind kind) {
    auto stacked = cast<RankedTensorType>(partials.getType());
    auto type = RankedTensorType::get(stacked.getShape().drop_front(),
                                      stacked.getElementType());
    int64_t rank = type.getRank();
    Value empty =
        tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
    Value identity = arith::ConstantOp::create(
        b, loc,
        arith::getIdentityValueAttr(kind, type.getElementType(), b, loc));
    Value init = linalg::FillOp::create(b, loc, identity, empty).getResult(0);
    MLIRContext *ctx = b.getContext();
    SmallVector<AffineExpr> in{getAffineDimExpr(rank, ctx)}, out;
    for (int64_t d = 0; d < rank; ++d) {
      in.push_back(getAffineDimExpr(d, ctx));
      out.push_back(getAffineDimExpr(d, ctx));
    }
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    iterators.push_back(utils::IteratorType::reduction);
    return linalg::GenericOp::create(
               b, loc, type, partials, init,
               {AffineMap::get(rank + 1, 0, in, ctx),
                AffineMap::get(rank + 1, 0, out, ctx)},
               iterators,
               [&](OpBuilder &nb, Location nl, ValueRange args) {
                 Value r =
                     arith::getReductionOp(kind, nb, nl, args[1], args[0]);
                 linalg::YieldOp::create(nb, nl, r);
               })
        .getResult(0);
  }

  static Value sliceAlong(OpBuilder &b, Location loc, Value v, int64_t d,
                          Value iv, int64_t chunk) {
    auto type = cast<RankedTensorType>(v.getType());
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0)), sizes,
        strides(type.getRank(), b.getIndexAttr(1));
    for (int64_t s : type.getShape())
      sizes.push_back(b.getIndexAttr(s));
    offsets[d] = iv;
    sizes[d] = b.getIndexAttr(chunk);
    return tensor::ExtractSliceOp::create(b, loc, v, offsets, sizes, strides);
  }

  static Value insertAlong(OpBuilder &b, Location loc, Value part, Value whole,
                           int64_t d, Value iv) {
    auto type = cast<RankedTensorType>(part.getType());
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0)), sizes,
        strides(type.getRank(), b.getIndexAttr(1));
    for (int64_t s : type.getShape())
      sizes.push_back(b.getIndexAttr(s));
    offsets[d] = iv;
    return tensor::InsertSliceOp::create(b, loc, part, whole, offsets, sizes,
                                         strides);
  }

  /// `op` on chunked operands.
  static Operation *cloneChunked(OpBuilder &b, Operation *op,
                                 const BatchedOp &info,
                                 ArrayRef<Value> operands, int64_t chunk) {
    Location loc = op->getLoc();
    if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
      int64_t d = info.resultDims[0];
      SmallVector<OpFoldResult> sizes = slice.getMixedSizes();
      sizes[d] = b.getIndexAttr(chunk);
      auto clone = tensor::ExtractSliceOp::create(
          b, loc, withDim(slice.getResultType(), d, chunk), operands[0],
          slice.getMixedOffsets(), sizes, slice.getMixedStrides());
      clone->setDiscardableAttrs(op->getDiscardableAttrDictionary());
      return clone;
    }
    if (auto insert = dyn_cast<tensor::InsertSliceOp>(op)) {
      int64_t d = info.resultDims[0];
      SmallVector<OpFoldResult> sizes = insert.getMixedSizes();
      sizes[d] = b.getIndexAttr(chunk);
      auto clone = tensor::InsertSliceOp::create(
          b, loc, operands[0], operands[1], insert.getMixedOffsets(), sizes,
          insert.getMixedStrides());
      clone->setDiscardableAttrs(op->getDiscardableAttrDictionary());
      return clone;
    }
    if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
      int64_t d = info.resultDims[0];
      RankedTensorType type = withDim(expand.getResultType(), d, chunk);
      return tensor::ExpandShapeOp::create(b, loc, type, operands[0],
                                           expand.getReassociationIndices());
    }
    if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op))
      return tensor::CollapseShapeOp::create(
          b, loc, operands[0], collapse.getReassociationIndices());
    // Linalg ops, pads and swaps: the same op with chunk-sized types.
    SmallVector<Type> resultTypes;
    for (auto [r, d] : llvm::zip_equal(op->getResults(), info.resultDims))
      resultTypes.push_back(d >= 0 ? Type(withDim(r.getType(), d, chunk))
                                   : r.getType());
    return mlir::clone(b, op, resultTypes, operands);
  }
};

} // namespace
