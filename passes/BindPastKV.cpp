//===- BindPastKV.cpp - past key/value inputs -> KV caches ----------------===//
//
// An export for generation concatenates each past input with the call's
// new rows into a present output and attends over the present. Here the
// concatenation becomes a write of the new rows at `position` into a KV
// cache that persists across calls, the present disappears, and each
// attention reads the cache under the causal mask at `query_offset =
// position` (KVCaches does the writing and reading, as for
// memc-derive-decode). First every past is matched and every reader of its
// present followed; only then is anything rewritten, so a refusal leaves
// the IR as it was.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/KVCaches.h"

#include "dialects/kv/KVDialect.h"
#include "memc/Transforms/Passes.h"

#include "dialects/einsum/EinsumDialect.h"
#include "dialects/memc/ProgramInterface.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/MapVector.h"

namespace memc {
#define GEN_PASS_DEF_BINDPASTKV
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;
using namespace memc::einsum;

namespace {

/// Which dimensions of the present a value's dimensions hold, in order
/// (a collapsed dimension holds several).
using Groups = SmallVector<SmallVector<int64_t, 2>>;

/// A past input and the concatenation that extends it into its present.
struct Past {
  BlockArgument arg;
  int64_t axis = 0;
  tensor::InsertSliceOp newRows; ///< the new rows into the past's copy
  SmallVector<std::pair<AttentionOp, unsigned>> readers; ///< operand 1 or 2
  SmallVector<unsigned> results; ///< the return operands it is
};

/// The keys and the values of one attention, as indices into `pasts`.
struct CachedAttention {
  std::optional<unsigned> key, value;
};

class Binder {
public:
  Binder(func::FuncOp fn, int64_t page, std::string kvDtype)
      : fn(fn), page(page), kvDtype(std::move(kvDtype)) {}

  LogicalResult analyze();
  void rewrite();

  int64_t rows = 0, capacity = 0;

private:
  LogicalResult matchPast(BlockArgument arg, int64_t axis);
  LogicalResult followReaders(Past &past);
  LogicalResult checkAttention(AttentionOp op, const CachedAttention &kv);
  /// The [BH, rows, F] new rows of `past` (before its insertion point).
  Value rowsOf(OpBuilder &b, Past &past);

  func::FuncOp fn;
  int64_t page;
  std::string kvDtype;
  BlockArgument ids;
  std::optional<BlockArgument> positions;
  SmallVector<Past> pasts;
  llvm::MapVector<Operation *, CachedAttention> attentions;
  int64_t batchHeads = 0;
};

std::string nameOf(func::FuncOp fn, BlockArgument arg) {
  return memc::getArgName(fn, arg.getArgNumber()).str();
}

LogicalResult Binder::analyze() {
  for (BlockArgument arg : fn.getArguments()) {
    if (memc::getArgRole(fn, arg.getArgNumber()) != memc::ArgRole::Input)
      continue;
    if (auto axis = fn.getArgAttrOfType<IntegerAttr>(
            arg.getArgNumber(),
            memc::MemcDialect::PastKvAttrHelper::getNameStr())) {
      if (failed(matchPast(arg, axis.getInt())))
        return failure();
      continue;
    }
    auto type = cast<RankedTensorType>(arg.getType());
    if (!isa<IntegerType>(type.getElementType()))
      return fn.emitError("input '")
             << nameOf(fn, arg)
             << "' is neither the token ids, positions nor a past key or "
                "value (concatenated into a present output): memc decodes "
                "exports that take those alone";
    if (!ids && type.getRank() == 2) {
      ids = arg;
      continue;
    }
    if (positions)
      return fn.emitError("inputs '")
             << nameOf(fn, *positions) << "' and '" << nameOf(fn, arg)
             << "' are both integer inputs besides the token ids; memc "
                "feeds one position input";
    positions = arg;
  }
  if (!ids)
    return fn.emitError("has no token ids input [batch, rows] (integers)");
  if (pasts.empty())
    return fn.emitError("has no past key/value input (memc.past_kv)");
  rows = cast<RankedTensorType>(ids.getType()).getDimSize(1);
  if (positions) {
    auto type = cast<RankedTensorType>(positions->getType());
    if (type.getRank() == 0 || type.getShape().back() != rows)
      return fn.emitError("position input '")
             << nameOf(fn, *positions) << "' has type " << type
             << "; its last dimension must be the " << rows
             << " rows of a call";
  }
  for (Past &past : pasts) {
    auto present = cast<RankedTensorType>(past.newRows.getType());
    int64_t t = present.getDimSize(past.axis);
    int64_t r = past.newRows.getSourceType().getDimSize(past.axis);
    if (r != rows || (capacity && t != capacity))
      return fn.emitError("past '")
             << nameOf(fn, past.arg) << "' is extended by " << r
             << " rows to " << t << "; the ids take " << rows
             << " rows and the caches hold " << (capacity ? capacity : t);
    capacity = t;
    if (failed(followReaders(past)))
      return failure();
  }
  if (page && (page < 1 || capacity % page != 0))
    return fn.emitError("page = ")
           << page << " must divide the KV caches' capacity " << capacity;
  for (auto &[op, kv] : attentions)
    if (failed(checkAttention(cast<AttentionOp>(op), kv)))
      return failure();
  return success();
}

LogicalResult Binder::matchPast(BlockArgument arg, int64_t axis) {
  auto refuse = [&]() {
    return mlir::emitError(arg.getLoc(), "past '")
           << nameOf(fn, arg) << "' is not concatenated with the new rows "
           << "along dimension " << axis << " into a present output alone";
  };
  auto type = cast<RankedTensorType>(arg.getType());
  if (axis < 1 || axis + 1 >= type.getRank() || !arg.hasOneUse())
    return refuse();
  // insert_slice %past into %empty[0...], then the new rows after it.
  auto first = dyn_cast<tensor::InsertSliceOp>(*arg.getUsers().begin());
  if (!first || first.getSource() != arg ||
      !first.getDest().getDefiningOp<tensor::EmptyOp>() ||
      !llvm::all_of(first.getStaticOffsets(),
                    [](int64_t o) { return o == 0; }) ||
      !first.hasUnitStride() || !first.getResult().hasOneUse())
    return refuse();
  auto second = dyn_cast<tensor::InsertSliceOp>(*first->getUsers().begin());
  if (!second || second.getDest() != first.getResult() ||
      !second.hasUnitStride())
    return refuse();
  for (auto [d, o] : llvm::enumerate(second.getStaticOffsets()))
    if (o != (int64_t(d) == axis ? type.getDimSize(axis) : 0))
      return refuse();
  auto newType = second.getSourceType();
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (d != axis && newType.getDimSize(d) != type.getDimSize(d))
      return refuse();
  if (second.getType().getDimSize(axis) !=
      type.getDimSize(axis) + newType.getDimSize(axis))
    return refuse();
  pasts.push_back({arg, axis, second, {}, {}});
  return success();
}

/// Groups after `op` maps `in` (a permutation einsum, a reshape), or
/// nullopt when memc does not follow it.
std::optional<Groups> groupsAfter(Operation *op, const Groups &in,
                                  RankedTensorType present) {
  if (auto einsum = dyn_cast<EinsumOp>(op)) {
    if (einsum.getInputs().size() != 1 ||
        einsum.getCompute() != ComputeOp::copy ||
        einsum.getReduce() != ReduceOp::none)
      return std::nullopt;
    AffineMap inMap = einsum.getInputMap(0), outMap = einsum.getResultMap();
    if (!inMap.isPermutation() || !outMap.isPermutation())
      return std::nullopt;
    Groups out;
    for (AffineExpr e : outMap.getResults())
      out.push_back(in[*inMap.getResultPosition(e)]);
    return out;
  }
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op)) {
    Groups out;
    for (const ReassociationIndices &group :
         collapse.getReassociationIndices()) {
      out.emplace_back();
      for (int64_t d : group)
        out.back().append(in[d].begin(), in[d].end());
    }
    return out;
  }
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
    // A dimension splits back into the present's dimensions it holds.
    Groups out;
    auto type = expand.getResultType();
    for (auto [i, group] :
         llvm::enumerate(expand.getReassociationIndices())) {
      if (group.size() == 1) {
        out.push_back(in[i]);
        continue;
      }
      if (group.size() != in[i].size())
        return std::nullopt;
      for (auto [d, p] : llvm::zip(group, in[i])) {
        if (type.getDimSize(d) != present.getDimSize(p))
          return std::nullopt;
        out.push_back({p});
      }
    }
    return out;
  }
  return std::nullopt;
}

LogicalResult Binder::followReaders(Past &past) {
  auto present = cast<RankedTensorType>(past.newRows.getType());
  // What the attention must read: [dims before, axis, dims after].
  Groups cacheLayout(3);
  for (int64_t d = 0; d < present.getRank(); ++d)
    cacheLayout[d < past.axis ? 0 : d == past.axis ? 1 : 2].push_back(d);
  Groups identity;
  for (int64_t d = 0; d < present.getRank(); ++d)
    identity.push_back({d});
  SmallVector<std::pair<Value, Groups>> work = {
      {past.newRows.getResult(), identity}};
  while (!work.empty()) {
    auto [value, groups] = work.pop_back_val();
    for (OpOperand &use : value.getUses()) {
      Operation *user = use.getOwner();
      if (isa<func::ReturnOp>(user) && value == past.newRows.getResult()) {
        past.results.push_back(use.getOperandNumber());
        continue;
      }
      if (auto attention = dyn_cast<AttentionOp>(user)) {
        unsigned n = use.getOperandNumber();
        if ((n == 1 || n == 2) && groups == cacheLayout) {
          past.readers.push_back({attention, n});
          CachedAttention &kv = attentions[attention];
          (n == 1 ? kv.key : kv.value) = &past - pasts.data();
          continue;
        }
      } else if (std::optional<Groups> next =
                     groupsAfter(user, groups, present)) {
        work.push_back({user->getResult(0), *next});
        continue;
      }
      return user->emitError("reads the past '")
             << nameOf(fn, past.arg)
             << "' other than as the keys or values of a fused attention "
                "(laid out [batch x heads, rows, head_dim]), which memc "
                "cannot bind to a KV cache";
    }
  }
  if (past.results.empty())
    return fn.emitError("past '")
           << nameOf(fn, past.arg) << "' has no present output";
  return success();
}

LogicalResult Binder::checkAttention(AttentionOp op,
                                     const CachedAttention &kv) {
  if (!kv.key || !kv.value)
    return op.emitError("attends over past ")
           << (kv.key ? "keys" : "values") << " with "
           << (kv.key ? "values" : "keys")
           << " that are not past ones; memc caches both";
  if (op.getBias() || op.getQueryOffset())
    return op.emitError("attends over the past with a per-key bias or a "
                        "query offset of its own; memc binds only plain or "
                        "causally masked attention to KV caches");
  std::optional<int64_t> maskedFrom = op.getMaskedFrom();
  if (maskedFrom ? *maskedFrom != capacity - rows + 1 : rows != 1)
    return op.emitError("attends over the past and ")
           << rows << " new rows "
           << (maskedFrom ? "under a mask that is not causal from the past "
                            "on"
                          : "without a causal mask")
           << ", so its rows see later ones: not a causal export";
  int64_t bh = cast<RankedTensorType>(op.getKey().getType()).getDimSize(0);
  if (batchHeads && bh != batchHeads && page)
    return op.emitError("has ")
           << bh << " batch x head rows where another attention has "
           << batchHeads << ": paged caches share one block table";
  batchHeads = bh;
  return success();
}

Value Binder::rowsOf(OpBuilder &b, Past &past) {
  Value rowsValue = past.newRows.getSource();
  auto type = past.newRows.getSourceType();
  if (type.getRank() == 3)
    return rowsValue;
  SmallVector<ReassociationIndices> groups(3);
  for (int64_t d = 0; d < type.getRank(); ++d)
    groups[d < past.axis ? 0 : d == past.axis ? 1 : 2].push_back(d);
  return tensor::CollapseShapeOp::create(b, past.newRows.getLoc(), rowsValue,
                                         groups);
}

void Binder::rewrite() {
  OpBuilder b(fn.getContext());
  memc::KVCaches kv(fn, rows, capacity, page, kvDtype, batchHeads);
  kv.addInputs(b, ids.getArgNumber() + 1);
  Value position = kv.position();

  // The export's positions: position + i along their last dimension.
  if (positions) {
    b.setInsertionPointAfterValue(position);
    auto type = cast<RankedTensorType>(positions->getType());
    Location loc = positions->getLoc();
    auto generate = tensor::GenerateOp::create(
        b, loc, type, ValueRange{}, [&](OpBuilder &gb, Location gl,
                                        ValueRange indices) {
          Value at = arith::AddIOp::create(gb, gl, position, indices.back());
          Value cast = arith::IndexCastOp::create(gb, gl,
                                                  type.getElementType(), at);
          tensor::YieldOp::create(gb, gl, cast);
        });
    positions->replaceAllUsesWith(generate.getResult());
  }

  // Each past's new rows into its cache; the attention reads the cache.
  for (Past &past : pasts) {
    b.setInsertionPoint(past.newRows);
    Value view = kv.store(b, past.newRows.getLoc(), rowsOf(b, past),
                          nameOf(fn, past.arg));
    for (auto [attention, operand] : past.readers)
      attention->setOperand(operand, view);
  }
  for (auto &[op, cached] : attentions) {
    auto old = cast<AttentionOp>(op);
    b.setInsertionPoint(old);
    auto attention = AttentionOp::create(
        b, old.getLoc(), old.getResultTypes(), old.getQuery(), old.getKey(),
        old.getValue(), /*bias=*/Value(), old.getOutput(), position,
        old.getScaleAttr(), b.getI64IntegerAttr(1));
    old->replaceAllUsesWith(attention);
    old.erase();
  }

  // The presents leave the results; the pasts (and positions) the inputs.
  Block &entry = fn.getBody().front();
  auto ret = cast<func::ReturnOp>(entry.getTerminator());
  llvm::BitVector dropResults(ret.getNumOperands());
  for (Past &past : pasts)
    for (unsigned r : past.results)
      dropResults.set(r);
  ret->eraseOperands(dropResults);
  (void)fn.eraseResults(dropResults);
  IRRewriter rewriter(b);
  (void)runRegionDCE(rewriter, fn.getBody());
  llvm::BitVector dropArgs(fn.getNumArguments());
  for (Past &past : pasts)
    dropArgs.set(past.arg.getArgNumber());
  if (positions)
    dropArgs.set(positions->getArgNumber());
  (void)fn.eraseArguments(dropArgs);
  kv.finish();
}

struct BindPastKVPass : public memc::impl::BindPastKVBase<BindPastKVPass> {
  using BindPastKVBase::BindPastKVBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp fn = memc::getEntryBody(module);
    if (!fn) {
      module.emitError("memc-bind-past-kv: no entry function");
      return signalPassFailure();
    }
    if (!memc::isKVDtype(kvDtype)) {
      module.emitError("memc-bind-past-kv: kv-dtype '")
          << kvDtype << "' is not f32, f16 or i8";
      return signalPassFailure();
    }
    Binder binder(fn, page, kvDtype);
    if (failed(binder.analyze()))
      return signalPassFailure();
    binder.rewrite();
    memc::setDecodeFacts(module, {binder.rows, binder.capacity});
  }
};

} // namespace
