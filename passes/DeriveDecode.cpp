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
#include "memc/Transforms/Passes.h"

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

/// Values defined outside `op` that `op` or its regions read.
SmallVector<Value> valuesRead(Operation *op) {
  SmallVector<Value> read(op->getOperands());
  op->walk([&](Operation *inner) {
    if (inner == op)
      return;
    for (Value v : inner->getOperands())
      if (!op->isAncestor(v.getParentBlock()->getParentOp()))
        read.push_back(v);
  });
  return read;
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

  /// Rows as the caches store them: the data in the cache's element type
  /// and, for i8, one f32 scale per row ([BH, rows]).
  struct Encoded {
    Value data, scale;
  };
  Encoded encode(OpBuilder &b, Location loc, Value rowsValue);
  /// f32 rows from stored ones (and their scales).
  Value decode(OpBuilder &b, Location loc, Value data, Value scale);
  RankedTensorType cacheType(RankedTensorType type) const;
  Value newCache(OpBuilder &b, Location loc, RankedTensorType type,
                 const std::string &name);
  /// Writes [BH, rows, ...] at `position` into a cache or pool.
  Value writeRows(OpBuilder &b, Location loc, Value rowsValue, Value cache);
  /// Paged caches: the pool block of row `r`'s logical block `j`, clamped
  /// into the pool.
  Value blockAt(OpBuilder &b, Location loc, Value r, Value j);
  /// Writes `rowsValue` [BH, rows, ...] into `pool` through the block table.
  Value writePaged(OpBuilder &b, Location loc, Value rowsValue, Value pool);
  /// The f32 [BH, capacity, F] view of a cache's rows in use (zero
  /// elsewhere), decoded from its blocks.
  Value readView(OpBuilder &b, Location loc, Value data, Value scale,
                 RankedTensorType viewType);

  func::FuncOp fn;
  unsigned ids = 0; ///< the token ids' argument
  int64_t rows, page;
  std::string kvDtype;    ///< f32, f16 or i8
  int64_t batchHeads = 0; ///< BH of every attention (paged caches)
  Value table;            ///< the block table argument (paged caches)
  llvm::DenseMap<Value, RowPos> rowDim;
  Value position; ///< index, in [0, capacity - rows]
  unsigned numCaches = 0;
  SmallVector<Value> caches; ///< the updated caches, returned last
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
  for (Value v : valuesRead(op)) {
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
  SmallVector<Value> read = valuesRead(op);
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

/// An einsum whose operands are indexed by the op's ranks (`dims` of each,
/// over ranks named a, b, c, ...; a scalar by none) into the result `out`.
Value spell(OpBuilder &b, Location loc, ComputeOp compute, ReduceOp reduce,
            ArrayRef<std::pair<Value, SmallVector<unsigned>>> inputs,
            ArrayRef<unsigned> out, Type elementType) {
  unsigned ranks = 0;
  SmallVector<int64_t> extents(8, 1);
  for (auto &[v, dims] : inputs)
    for (auto [i, d] : llvm::enumerate(dims)) {
      ranks = std::max(ranks, d + 1);
      extents[d] = cast<RankedTensorType>(v.getType()).getDimSize(i);
    }
  auto mapOf = [&](ArrayRef<unsigned> dims) {
    SmallVector<AffineExpr> exprs;
    for (unsigned d : dims)
      exprs.push_back(b.getAffineDimExpr(d));
    return AffineMap::get(ranks, 0, exprs, b.getContext());
  };
  SmallVector<Value> values;
  SmallVector<AffineMap> maps;
  for (auto &[v, dims] : inputs) {
    values.push_back(v);
    maps.push_back(mapOf(dims));
  }
  maps.push_back(mapOf(out));
  SmallVector<int64_t> shape;
  for (unsigned d : out)
    shape.push_back(extents[d]);
  static const char *const kNames[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
  SmallVector<StringRef> names(kNames, kNames + ranks);
  return EinsumOp::create(b, loc, RankedTensorType::get(shape, elementType),
                          values, maps, names, compute, reduce);
}

Value scalarConstant(OpBuilder &b, Location loc, float v) {
  auto type = RankedTensorType::get({}, b.getF32Type());
  return arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, b.getF32FloatAttr(v)));
}

Derivation::Encoded Derivation::encode(OpBuilder &b, Location loc,
                                       Value rowsValue) {
  SmallVector<unsigned> abc = {0, 1, 2}, ab = {0, 1};
  Type f32 = b.getF32Type();
  if (kvDtype == "f16")
    return {spell(b, loc, ComputeOp::copy, ReduceOp::none, {{rowsValue, abc}},
                  abc, b.getF16Type()),
            Value()};
  if (kvDtype != "i8")
    return {rowsValue, Value()};
  // One scale per row: its largest magnitude maps to 127 (a zero row to a
  // tiny scale, so it encodes as zeros, not NaN).
  Value absMax =
      spell(b, loc, ComputeOp::abs, ReduceOp::max, {{rowsValue, abc}}, ab, f32);
  Value scale =
      spell(b, loc, ComputeOp::div, ReduceOp::none,
            {{absMax, ab}, {scalarConstant(b, loc, 127.0f), {}}}, ab, f32);
  scale = spell(b, loc, ComputeOp::max, ReduceOp::none,
                {{scale, ab}, {scalarConstant(b, loc, 1e-30f), {}}}, ab, f32);
  Value q = spell(b, loc, ComputeOp::div, ReduceOp::none,
                  {{rowsValue, abc}, {scale, ab}}, abc, f32);
  q = spell(b, loc, ComputeOp::round, ReduceOp::none, {{q, abc}}, abc, f32);
  q = spell(b, loc, ComputeOp::clamp, ReduceOp::none,
            {{q, abc},
             {scalarConstant(b, loc, -127.0f), {}},
             {scalarConstant(b, loc, 127.0f), {}}},
            abc, f32);
  return {spell(b, loc, ComputeOp::copy, ReduceOp::none, {{q, abc}}, abc,
                b.getI8Type()),
          scale};
}

Value Derivation::decode(OpBuilder &b, Location loc, Value data, Value scale) {
  SmallVector<unsigned> abc = {0, 1, 2}, ab = {0, 1};
  Type f32 = b.getF32Type();
  Value x =
      spell(b, loc, ComputeOp::copy, ReduceOp::none, {{data, abc}}, abc, f32);
  if (!scale)
    return x;
  return spell(b, loc, ComputeOp::mul, ReduceOp::none, {{x, abc}, {scale, ab}},
               abc, f32);
}

Value Derivation::newCache(OpBuilder &b, Location loc, RankedTensorType type,
                           const std::string &name) {
  unsigned index = fn.getNumArguments();
  (void)fn.insertArgument(index, type, {}, loc);
  memc::setArgRole(fn, index, memc::ArgRole::KVCache, name);
  return fn.getArgument(index);
}

/// `type` [BH, rows, ...] as the cache of it: [BH, capacity, ...], or the
/// pool [BH x capacity / page + 1, page, ...].
RankedTensorType Derivation::cacheType(RankedTensorType type) const {
  SmallVector<int64_t> shape(type.getShape());
  if (page) {
    shape[0] = shape[0] * (capacity / page) + 1;
    shape[1] = page;
  } else {
    shape[1] = capacity;
  }
  return RankedTensorType::get(shape, type.getElementType());
}

Value Derivation::writeRows(OpBuilder &b, Location loc, Value rowsValue,
                            Value cache) {
  if (page)
    return writePaged(b, loc, rowsValue, cache);
  auto type = cast<RankedTensorType>(rowsValue.getType());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  offsets[1] = position;
  SmallVector<OpFoldResult> sizes, strides(type.getRank(), b.getIndexAttr(1));
  for (int64_t n : type.getShape())
    sizes.push_back(b.getIndexAttr(n));
  return tensor::InsertSliceOp::create(b, loc, rowsValue, cache, offsets, sizes,
                                       strides);
}

void Derivation::rewriteAttention(AttentionOp op, OpBuilder &b) {
  Location loc = op.getLoc();
  auto write = [&](Value rowsValue) -> Value {
    auto type = cast<RankedTensorType>(rowsValue.getType());
    std::string name = std::string(numCaches % 2 ? "value." : "key.") +
                       std::to_string(numCaches / 2);
    ++numCaches;
    Encoded encoded = encode(b, loc, rowsValue);
    auto dataType = cast<RankedTensorType>(encoded.data.getType());
    Value data = writeRows(b, loc, encoded.data,
                           newCache(b, loc, cacheType(dataType), name));
    caches.push_back(data);
    Value scale;
    if (encoded.scale) {
      auto scaleType = cast<RankedTensorType>(encoded.scale.getType());
      scale = writeRows(b, loc, encoded.scale,
                        newCache(b, loc, cacheType(scaleType),
                                 name + memc::package::kKVScaleSuffix));
      caches.push_back(scale);
    }
    if (!page && kvDtype == "f32")
      return data;
    return readView(b, loc, data, scale,
                    withRows(type, {1, 1}, rows, capacity));
  };
  Value k = write(op.getKey());
  Value v = write(op.getValue());
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

Value Derivation::blockAt(OpBuilder &b, Location loc, Value r, Value j) {
  Value raw = tensor::ExtractOp::create(b, loc, table, ValueRange{r, j});
  Value index = arith::IndexCastOp::create(b, loc, b.getIndexType(), raw);
  int64_t blocks = batchHeads * (capacity / page) + 1;
  index = arith::MaxSIOp::create(b, loc, index,
                                 arith::ConstantIndexOp::create(b, loc, 0));
  return arith::MinSIOp::create(
      b, loc, index, arith::ConstantIndexOp::create(b, loc, blocks - 1));
}

/// `v`'s slice at `offsets` of `sizes` (static but for the offsets).
static Value sliceOf(OpBuilder &b, Location loc, Value v,
                     ArrayRef<OpFoldResult> offsets, ArrayRef<int64_t> sizes) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<OpFoldResult> s, ones(sizes.size(), b.getIndexAttr(1));
  for (int64_t n : sizes)
    s.push_back(b.getIndexAttr(n));
  return tensor::ExtractSliceOp::create(
      b, loc, RankedTensorType::get(sizes, type.getElementType()), v, offsets,
      s, ones);
}

static Value insertAt(OpBuilder &b, Location loc, Value piece, Value into,
                      ArrayRef<OpFoldResult> offsets) {
  auto type = cast<RankedTensorType>(piece.getType());
  SmallVector<OpFoldResult> s, ones(type.getRank(), b.getIndexAttr(1));
  for (int64_t n : type.getShape())
    s.push_back(b.getIndexAttr(n));
  return tensor::InsertSliceOp::create(b, loc, piece, into, offsets, s, ones);
}

Value Derivation::writePaged(OpBuilder &b, Location loc, Value rowsValue,
                             Value pool) {
  // Row r's token i (at position + i) goes to slot (position + i) % page of
  // the pool block its logical block (position + i) / page maps to.
  auto type = cast<RankedTensorType>(rowsValue.getType());
  auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
  SmallVector<int64_t> piece(type.getShape());
  piece[0] = piece[1] = 1;
  auto perRow = scf::ForOp::create(
      b, loc, c(0), c(type.getDimSize(0)), c(1), ValueRange{pool},
      [&](OpBuilder &ob, Location ol, Value r, ValueRange outer) {
        auto perToken = scf::ForOp::create(
            ob, ol, c(0), c(type.getDimSize(1)), c(1), outer,
            [&](OpBuilder &ib, Location il, Value i, ValueRange inner) {
              Value at = arith::AddIOp::create(ib, il, position, i);
              Value j = arith::DivUIOp::create(ib, il, at, c(page));
              Value slot = arith::RemUIOp::create(ib, il, at, c(page));
              Value block = blockAt(ib, il, r, j);
              SmallVector<OpFoldResult> from(type.getRank(),
                                             ib.getIndexAttr(0));
              from[0] = r;
              from[1] = i;
              SmallVector<OpFoldResult> to(type.getRank(), ib.getIndexAttr(0));
              to[0] = block;
              to[1] = slot;
              Value token = sliceOf(ib, il, rowsValue, from, piece);
              scf::YieldOp::create(ib, il,
                                   insertAt(ib, il, token, inner[0], to));
            });
        scf::YieldOp::create(ob, ol, perToken.getResult(0));
      });
  return perRow.getResult(0);
}

Value Derivation::readView(OpBuilder &b, Location loc, Value data, Value scale,
                           RankedTensorType viewType) {
  // Block by block up to the last row this call writes, decoded into a
  // zero view: the attention never reads past that row, and no cache row
  // beyond the blocks in use is read here either.
  int64_t features = viewType.getDimSize(2), bh = viewType.getDimSize(0);
  int64_t block = page;
  if (!block)
    for (block = std::min<int64_t>(capacity, 64); capacity % block; --block)
      ;
  auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
  Value zero = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(viewType,
                             b.getZeroAttr(viewType.getElementType())));
  Value end = arith::AddIOp::create(b, loc, position, c(rows + block - 1));
  Value used = arith::MinUIOp::create(
      b, loc, arith::DivUIOp::create(b, loc, end, c(block)),
      c(capacity / block));
  // Contiguous: all batch x head rows of a block at once; paged: one row's
  // block at a time, through the table.
  int64_t rowsPerStep = page ? 1 : bh;
  auto perRow = scf::ForOp::create(
      b, loc, c(0), c(bh / rowsPerStep), c(1), ValueRange{zero},
      [&](OpBuilder &ob, Location ol, Value r, ValueRange outer) {
        auto perBlock = scf::ForOp::create(
            ob, ol, c(0), used, c(1), outer,
            [&](OpBuilder &ib, Location il, Value j, ValueRange inner) {
              Value first = arith::MulIOp::create(ib, il, j, c(block));
              SmallVector<OpFoldResult> at = {ib.getIndexAttr(0), first};
              if (page)
                at = {blockAt(ib, il, r, j), ib.getIndexAttr(0)};
              Value piece =
                  sliceOf(ib, il, data, {at[0], at[1], ib.getIndexAttr(0)},
                          {rowsPerStep, block, features});
              Value pieceScale =
                  scale ? sliceOf(ib, il, scale, at, {rowsPerStep, block})
                        : Value();
              Value rowsOf = decode(ib, il, piece, pieceScale);
              Value row = page ? r : Value(c(0));
              scf::YieldOp::create(ib, il,
                                   insertAt(ib, il, rowsOf, inner[0],
                                            {row, first, ib.getIndexAttr(0)}));
            });
        scf::YieldOp::create(ob, ol, perBlock.getResult(0));
      });
  return perRow.getResult(0);
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
        einsum->setOperand(i, sliceOf(b, einsum.getLoc(), v, offsets, shape));
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
  auto positionType = RankedTensorType::get({}, b.getI64Type());
  (void)fn.insertArgument(ids + 1, positionType, {}, fn.getLoc());
  memc::setArgRole(fn, ids + 1, memc::ArgRole::Input,
                   memc::package::kPositionName);
  b.setInsertionPointToStart(&entry);
  Location loc = fn.getLoc();
  Value raw =
      tensor::ExtractOp::create(b, loc, fn.getArgument(ids + 1), ValueRange{});
  Value index = arith::IndexCastOp::create(b, loc, b.getIndexType(), raw);
  // Clamped into the caches: a position out of range reads and writes the
  // last rows instead of memory past the buffers (the runtime never passes
  // one; a hand-made input might).
  index = arith::MaxSIOp::create(b, loc, index,
                                 arith::ConstantIndexOp::create(b, loc, 0));
  position = arith::MinSIOp::create(
      b, loc, index, arith::ConstantIndexOp::create(b, loc, capacity - rows));
  if (page) {
    auto tableType =
        RankedTensorType::get({batchHeads, capacity / page}, b.getI64Type());
    (void)fn.insertArgument(ids + 2, tableType, {}, fn.getLoc());
    memc::setArgRole(fn, ids + 2, memc::ArgRole::Input,
                     memc::package::kBlockTableName);
    table = fn.getArgument(ids + 2);
  }

  SmallVector<Operation *> ops;
  for (Operation &op : entry)
    if (!isa<func::ReturnOp>(op) &&
        llvm::any_of(op.getResults(), [&](Value v) { return rowOf(v); }))
      ops.push_back(&op);
  for (Operation *op : ops)
    rewriteOp(op, b);

  // The updated caches are results that overwrite their arguments.
  auto ret = cast<func::ReturnOp>(entry.getTerminator());
  unsigned firstCacheResult = ret.getNumOperands();
  SmallVector<Value> results(ret.getOperands());
  results.append(caches.begin(), caches.end());
  ret->setOperands(results);
  SmallVector<Type> argTypes(entry.getArgumentTypes());
  SmallVector<Type> resultTypes;
  for (Value v : results)
    resultTypes.push_back(v.getType());
  SmallVector<DictionaryAttr> resultAttrs;
  fn.getAllResultAttrs(resultAttrs);
  resultAttrs.resize(results.size(), DictionaryAttr::get(fn.getContext()));
  fn.setType(FunctionType::get(fn.getContext(), argTypes, resultTypes));
  fn.setAllResultAttrs(resultAttrs);
  for (unsigned i = 0; i < caches.size(); ++i) {
    unsigned arg = fn.getNumArguments() - caches.size() + i;
    memc::setOverwrittenArg(fn, firstCacheResult + i, arg);
  }
}

struct DeriveDecodePass
    : public memc::impl::DeriveDecodeBase<DeriveDecodePass> {
  using DeriveDecodeBase::DeriveDecodeBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto fn = dyn_cast_or_null<func::FuncOp>(
        memc::getEntryFunction(module).getOperation());
    if (!fn || fn.isExternal()) {
      module.emitError("memc-derive-decode: no entry function");
      return signalPassFailure();
    }
    if (kvDtype != "f32" && kvDtype != "f16" && kvDtype != "i8") {
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
