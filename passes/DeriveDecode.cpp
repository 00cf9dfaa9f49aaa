//===- DeriveDecode.cpp - a causal LM's forward -> rows over KV caches ----===//
//
// Two walks over the entry block. The first proves the model causal and
// records, for every value that carries the sequence, which of its
// dimensions is the sequence row (the ids' dimension 1 to start with); it
// refuses the first op that reads a row other than its own. The second
// rewrites the same ops in place, in order, to `rows` rows: operands are
// rewritten before their users, so each op only has to fix its own result
// types (and the attributes that spell static sizes), slice the weights it
// indexes by the row rank, and turn attention into cache writes plus an
// attention at `query_offset = position`.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/KVCaches.h"

#include "dialects/kv/KVDialect.h"
#include "memc/Transforms/Passes.h"
#include "memc/Transforms/StaticSlices.h"
#include "memc/Transforms/TrainStep.h"

#include "dialects/einsum/EinsumDialect.h"
#include "dialects/memc/ProgramInterface.h"
#include "memc/Runtime/PackageFormat.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"

namespace memc {
#define GEN_PASS_DEF_DERIVEDECODE
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;
using namespace memc::einsum;

namespace {

/// Where a value keeps the sequence rows: dimension `dim`, whose extent is
/// outer x T x inner in row-major order (a reshape goes through a flat
/// tensor, where the rows are a factor of one dimension). The rows are a
/// plain dimension when its extent is T.
struct RowPos {
  unsigned dim = 0;
  int64_t inner = 1;
};

/// `type` with `rows` rows instead of `capacity` at `pos`.
RankedTensorType withRows(Type type, RowPos pos, int64_t capacity,
                          int64_t rows) {
  auto t = cast<RankedTensorType>(type);
  SmallVector<int64_t> shape(t.getShape());
  shape[pos.dim] = shape[pos.dim] / capacity * rows;
  return RankedTensorType::get(shape, t.getElementType(), t.getEncoding());
}

class Derivation {
public:
  Derivation(func::FuncOp fn, int64_t rows, int64_t page, std::string kvDtype)
      : fn(fn), rows(rows), page(page), kvDtype(std::move(kvDtype)) {}

  /// Proves the entry causal in its one input's sequence rank; fills
  /// rowDim. Emits the error on failure.
  LogicalResult analyze();
  /// Rewrites the proven entry to `rows` rows at `position`, with caches.
  void rewrite();

  int64_t capacity = 0;

private:
  std::optional<RowPos> rowPos(Value v) const {
    auto it = rowDim.find(v);
    if (it == rowDim.end())
      return std::nullopt;
    return it->second;
  }
  /// The dimension that is the rows of `v`, when it is a plain one.
  std::optional<unsigned> rowOf(Value v) const {
    std::optional<RowPos> pos = rowPos(v);
    if (!pos)
      return std::nullopt;
    return pos->dim;
  }
  bool isPlainRow(Value v) const {
    std::optional<RowPos> pos = rowPos(v);
    return pos && pos->inner == 1 &&
           cast<RankedTensorType>(v.getType()).getDimSize(pos->dim) == capacity;
  }
  /// Fails on `op` when a row-carrying operand keeps its rows merged with
  /// another dimension.
  LogicalResult needPlainRows(Operation *op, ValueRange operands) {
    for (Value v : operands)
      if (rowPos(v) && !isPlainRow(v))
        return op->emitError("reads the sequence rows merged with another "
                             "dimension, which memc cannot follow for "
                             "decoding");
    return success();
  }
  LogicalResult analyzeOp(Operation *op);
  LogicalResult analyzeEinsum(EinsumOp op);
  LogicalResult analyzeGenerate(tensor::GenerateOp op);
  /// The rank of `op` that indexes the rows of its row-carrying inputs.
  std::optional<unsigned> rowRank(EinsumOp op);

  void rewriteOp(Operation *op, OpBuilder &b);
  void rewriteAttention(AttentionOp op, OpBuilder &b);

  func::FuncOp fn;
  unsigned ids = 0; ///< the token ids' argument
  int64_t rows, page;
  std::string kvDtype;    ///< f32, f16 or i8
  int64_t batchHeads = 0; ///< BH of every attention (paged caches)
  llvm::DenseMap<Value, RowPos> rowDim;
  std::optional<memc::KVCaches> kv; ///< set by rewrite()
  Value position;                   ///< kv->position()
  unsigned numCaches = 0;
};

std::optional<unsigned> Derivation::rowRank(EinsumOp op) {
  std::optional<unsigned> rank;
  for (auto [i, v] : llvm::enumerate(op.getInputs())) {
    std::optional<unsigned> d = rowOf(v);
    if (!d)
      continue;
    auto e = dyn_cast<AffineDimExpr>(op.getInputMap(i).getResult(*d));
    if (!e || (rank && *rank != e.getPosition()))
      return std::nullopt;
    rank = e.getPosition();
  }
  return rank;
}

LogicalResult Derivation::analyzeEinsum(EinsumOp op) {
  if (failed(needPlainRows(op, op.getInputs())))
    return failure();
  std::optional<unsigned> r = rowRank(op);
  if (!r)
    return op.emitError("reads the sequence rows of its operands through "
                        "different ranks or shifted indices: row t would "
                        "read other rows than t, so the model is not causal "
                        "(an attention memc did not fuse?)");
  // Row r may index each operand once, plainly; a row-carrying operand only
  // at its row dimension.
  for (auto [i, v] : llvm::enumerate(op.getInputs())) {
    AffineMap map = op.getInputMap(i);
    std::optional<unsigned> d = rowOf(v);
    for (auto [j, e] : llvm::enumerate(map.getResults())) {
      if (!e.isFunctionOfDim(*r))
        continue;
      bool plain = isa<AffineDimExpr>(e);
      if (!plain || (d && j != *d))
        return op.emitError("reads operand #")
               << i << " at a row computed from the sequence row: not "
               << "row-wise in the sequence, so the model is not causal";
    }
  }
  std::optional<unsigned> out;
  for (auto [j, e] : llvm::enumerate(op.getResultMap().getResults()))
    if (e.isFunctionOfDim(*r))
      out = j;
  if (!out)
    return op.emitError("reduces over the sequence rank: every row of its "
                        "result reads every row, so the model is not causal");
  rowDim[op.getResult()] = {*out, 1};
  return success();
}

LogicalResult Derivation::analyzeGenerate(tensor::GenerateOp op) {
  // A gather: row-carrying tensors may only be read at the generated
  // element's own row, through the block argument of one output dimension.
  Block &body = op.getBody().front();
  std::optional<unsigned> out;
  WalkResult walk = op.walk([&](tensor::ExtractOp extract) {
    std::optional<unsigned> d = rowOf(extract.getTensor());
    if (!d)
      return WalkResult::advance();
    auto arg = dyn_cast<BlockArgument>(extract.getIndices()[*d]);
    if (!arg || arg.getOwner() != &body ||
        (out && *out != arg.getArgNumber())) {
      op.emitError("reads a sequence row other than the one it writes: not "
                   "row-wise in the sequence, so the model is not causal");
      return WalkResult::interrupt();
    }
    out = arg.getArgNumber();
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  // A tensor without rows read through the row's block argument (a table
  // of positions) would need the program's position added: not followed.
  if (out) {
    Value rowArg = body.getArgument(*out);
    WalkResult other = op.walk([&](tensor::ExtractOp extract) {
      if (rowOf(extract.getTensor()))
        return WalkResult::advance();
      for (Value index : extract.getIndices())
        if (index == rowArg) {
          op.emitError("reads a tensor that has no sequence rows at the "
                       "row's index, which memc cannot follow for decoding");
          return WalkResult::interrupt();
        }
      return WalkResult::advance();
    });
    if (other.wasInterrupted())
      return failure();
  }
  // Rows only reach the body through the extracts checked above.
  auto readsByExtract = [&](Value v) {
    return llvm::any_of(
        op.getBody().getOps<tensor::ExtractOp>(),
        [&](tensor::ExtractOp e) { return e.getTensor() == v; });
  };
  for (Value v : memc::valuesRead(op)) {
    if (rowOf(v) && (!out || !readsByExtract(v)))
      return op.emitError("uses sequence rows in a way memc cannot follow "
                          "for decoding");
    if (failed(needPlainRows(op, v)))
      return failure();
  }
  rowDim[op.getResult()] = {*out, 1};
  return success();
}

LogicalResult Derivation::analyzeOp(Operation *op) {
  llvm::SetVector<Value> read = memc::valuesRead(op);
  bool carries = llvm::any_of(read, [&](Value v) { return rowOf(v); });
  if (isa<func::ReturnOp>(op))
    return success();
  if (!carries) {
    // Built from weights alone (folded into constants where they could
    // be): the same in every program.
    return success();
  }
  if (auto einsum = dyn_cast<EinsumOp>(op))
    return analyzeEinsum(einsum);
  if (auto attention = dyn_cast<AttentionOp>(op)) {
    for (Value v :
         {attention.getQuery(), attention.getKey(), attention.getValue()})
      if (rowOf(v) != 1u || !isPlainRow(v))
        return op->emitError("attends over a sequence memc cannot follow "
                             "for decoding (queries, keys and values must "
                             "all come from the token rows)");
    if (!attention.getMaskedFrom())
      return op->emitError("attends to every key, later rows included: the "
                           "model is not causal (no causal mask), so it "
                           "cannot be decoded one token at a time");
    if (attention.getBias() || attention.getQueryOffset())
      return op->emitError("has a per-key mask or a query offset, which a "
                           "derived decode step does not support");
    rowDim[attention.getResult()[0]] = {1, 1};
    return success();
  }
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
    // The rows are the factor T of one result dimension of the source
    // dimension's group: the one whose trailing dimensions in the group
    // make up less than the rows' inner factor.
    RowPos src = *rowPos(expand.getSrc());
    ArrayRef<int64_t> outShape = expand.getResultType().getShape();
    ReassociationIndices group = expand.getReassociationIndices()[src.dim];
    int64_t suffix = 1;
    for (int64_t j : llvm::reverse(group)) {
      if (src.inner % suffix == 0) {
        int64_t inner = src.inner / suffix;
        if (inner < outShape[j] && outShape[j] % (capacity * inner) == 0) {
          rowDim[expand.getResult()] = {unsigned(j), inner};
          return success();
        }
      }
      suffix *= outShape[j];
      if (suffix > src.inner)
        break;
    }
    return op->emitError("splits the sequence rank across dimensions, "
                         "which memc cannot follow for decoding");
  }
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op)) {
    RowPos src = *rowPos(collapse.getSrc());
    ArrayRef<int64_t> inShape = collapse.getSrcType().getShape();
    for (auto [g, group] :
         llvm::enumerate(collapse.getReassociationIndices())) {
      if (!llvm::is_contained(group, int64_t(src.dim)))
        continue;
      int64_t inner = src.inner;
      for (int64_t j : group)
        if (j > int64_t(src.dim))
          inner *= inShape[j];
      rowDim[collapse.getResult()] = {unsigned(g), inner};
      return success();
    }
  }
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
    if (!rowOf(slice.getSource()))
      return op->emitError("slices at offsets computed from the sequence "
                           "rows, which memc cannot follow for decoding");
    RowPos src = *rowPos(slice.getSource());
    unsigned d = src.dim;
    if (slice.isDynamicOffset(d) || slice.isDynamicSize(d) ||
        slice.isDynamicStride(d) || slice.getStaticOffset(d) != 0 ||
        slice.getStaticSize(d) != slice.getSourceType().getDimSize(d) ||
        slice.getStaticStride(d) != 1)
      return op->emitError("slices the sequence rank: its rows are not the "
                           "rows of its input, so the model is not causal");
    llvm::SmallBitVector dropped = slice.getDroppedDims();
    unsigned out = 0;
    for (unsigned j = 0; j < d; ++j)
      out += !dropped.test(j);
    rowDim[slice.getResult()] = {out, src.inner};
    return success();
  }
  if (auto generate = dyn_cast<tensor::GenerateOp>(op))
    return analyzeGenerate(generate);
  return op->emitError("'")
         << op->getName()
         << "' on the sequence rows is not supported for decoding";
}

LogicalResult Derivation::analyze() {
  std::optional<unsigned> input;
  for (unsigned i = 0, e = fn.getNumArguments(); i < e; ++i)
    if (memc::getArgRole(fn, i) == memc::ArgRole::Input) {
      if (input)
        return fn.emitError("has more than one input: a model to decode takes "
                            "only the token ids [batch, sequence]");
      input = i;
    }
  if (!input)
    return fn.emitError("has no input: a model to decode takes the token ids "
                        "[batch, sequence]");
  ids = *input;
  // The rows are the input's dimension 1 ([batch, sequence, ...]); the
  // proof comes first, so a model that reads ahead is refused for that
  // whatever its input.
  auto type = dyn_cast<RankedTensorType>(fn.getArgument(ids).getType());
  auto notIds = [&]() {
    return fn.emitError("input '")
           << memc::getArgName(fn, ids)
           << "' must be integer token ids [batch, sequence]; got "
           << fn.getArgument(ids).getType();
  };
  // Integer ids [batch, sequence], or embeddings [batch, sequence, ...]
  // (not decodable, but whether they are causal is worth saying).
  bool ids2D =
      type && type.getRank() == 2 && isa<IntegerType>(type.getElementType());
  if (!type || !type.hasStaticShape() || (!ids2D && type.getRank() < 3))
    return notIds();
  capacity = type.getDimSize(1);
  if (rows < 1 || capacity % rows != 0)
    return fn.emitError("rows = ")
           << rows << " must divide the sequence length " << capacity;
  rowDim[fn.getArgument(ids)] = {1, 1};
  bool attends = false;
  for (Operation &op : fn.getBody().front()) {
    if (failed(analyzeOp(&op)))
      return failure();
    if (auto attention = dyn_cast<AttentionOp>(op)) {
      int64_t bh =
          cast<RankedTensorType>(attention.getKey().getType()).getDimSize(0);
      if (page && batchHeads && bh != batchHeads)
        return attention.emitError("has ")
               << bh << " batch x head rows where another attention has "
               << batchHeads << ": paged caches share one block table";
      batchHeads = bh;
      attends = true;
    }
  }
  if (page && (page < 1 || capacity % page != 0))
    return fn.emitError("page = ")
           << page << " must divide the sequence length " << capacity;
  if (!ids2D)
    return notIds();
  if (!attends)
    return fn.emitError("has no fused causal attention: nothing to cache");
  return success();
}

void Derivation::rewriteAttention(AttentionOp op, OpBuilder &b) {
  Location loc = op.getLoc();
  auto store = [&](Value rowsValue) {
    std::string name = std::string(numCaches % 2 ? "value." : "key.") +
                       std::to_string(numCaches / 2);
    ++numCaches;
    return kv->store(b, loc, rowsValue, name);
  };
  Value k = store(op.getKey());
  Value v = store(op.getValue());
  auto outType = cast<RankedTensorType>(op.getResult()[0].getType());
  Value init = tensor::EmptyOp::create(b, loc, outType.getShape(),
                                       outType.getElementType());
  auto attention = AttentionOp::create(
      b, loc, TypeRange{outType}, op.getQuery(), k, v, /*bias=*/Value(), init,
      position, op.getScaleAttr(), op.getMaskedFromAttr());
  rowDim[attention.getResult()[0]] = {1, 1};
  op.getResult()[0].replaceAllUsesWith(attention.getResult()[0]);
  op.erase();
}

void Derivation::rewriteOp(Operation *op, OpBuilder &b) {
  b.setInsertionPoint(op);
  if (auto attention = dyn_cast<AttentionOp>(op)) {
    // Operands were rewritten already: the query, key and value have
    // `rows` rows, so the op's result type follows from the query's.
    Value result = attention.getResult()[0];
    result.setType(withRows(result.getType(), {1, 1}, capacity, rows));
    return rewriteAttention(attention, b);
  }
  if (auto einsum = dyn_cast<EinsumOp>(op)) {
    std::optional<unsigned> r = rowRank(einsum);
    // Weights indexed by the row rank (a position table): their rows at
    // the program's position.
    for (auto [i, v] : llvm::enumerate(einsum.getInputs())) {
      if (rowOf(v))
        continue;
      AffineMap map = einsum.getInputMap(i);
      auto type = cast<RankedTensorType>(v.getType());
      SmallVector<OpFoldResult> offsets;
      SmallVector<int64_t> shape(type.getShape());
      bool indexed = false;
      for (auto [j, e] : llvm::enumerate(map.getResults())) {
        bool isRow = e.isFunctionOfDim(*r);
        indexed |= isRow;
        offsets.push_back(isRow ? OpFoldResult(position) : b.getIndexAttr(0));
        if (isRow)
          shape[j] = rows;
      }
      if (indexed)
        einsum->setOperand(i, memc::sliceAt(b, einsum.getLoc(), v, offsets, shape));
    }
  }
  // Every other rewritten op keeps its attributes; static sizes that spell
  // the sequence length follow the result type.
  for (Value result : op->getResults())
    if (std::optional<RowPos> pos = rowPos(result))
      result.setType(withRows(result.getType(), *pos, capacity, rows));
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
    auto type = cast<RankedTensorType>(expand.getResult().getType());
    expand.setStaticOutputShape(type.getShape());
  }
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
    unsigned d = *rowOf(slice.getSource());
    SmallVector<int64_t> sizes(slice.getStaticSizes());
    sizes[d] = slice.getSourceType().getDimSize(d);
    slice.setStaticSizes(sizes);
  }
}

void Derivation::rewrite() {
  OpBuilder b(fn.getContext());
  Block &entry = fn.getBody().front();
  // The ids: `rows` rows from `position` on.
  BlockArgument idsArg = fn.getArgument(ids);
  idsArg.setType(withRows(idsArg.getType(), {1, 1}, capacity, rows));
  kv.emplace(fn, rows, capacity, page, kvDtype, batchHeads);
  kv->addInputs(b, ids + 1);
  position = kv->position();

  SmallVector<Operation *> ops;
  for (Operation &op : entry)
    if (!isa<func::ReturnOp>(op) &&
        llvm::any_of(op.getResults(), [&](Value v) { return rowOf(v); }))
      ops.push_back(&op);
  for (Operation *op : ops)
    rewriteOp(op, b);
  kv->finish();
}

struct DeriveDecodePass
    : public memc::impl::DeriveDecodeBase<DeriveDecodePass> {
  using DeriveDecodeBase::DeriveDecodeBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp fn = memc::getEntryBody(module);
    if (!fn) {
      module.emitError("memc-derive-decode: no entry function");
      return signalPassFailure();
    }
    if (!memc::isKVDtype(kvDtype)) {
      module.emitError("memc-derive-decode: kv-dtype '")
          << kvDtype << "' is not f32, f16 or i8";
      return signalPassFailure();
    }
    Derivation derivation(fn, rows, page, kvDtype);
    if (failed(derivation.analyze()))
      return signalPassFailure();
    derivation.rewrite();
    memc::setDecodeFacts(module, {rows, derivation.capacity});
  }
};

} // namespace
