//===- KVCaches.cpp - the KV caches of a decode program -------------------===//
//
// Shared by memc-derive-decode and memc-bind-past-kv (KVCaches.h).
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/KVCaches.h"
#include "memc/Transforms/StaticSlices.h"

#include "dialects/einsum/EinsumDialect.h"
#include "dialects/memc/ProgramInterface.h"
#include "memc/Runtime/PackageFormat.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace memc;
using namespace memc::einsum;

namespace {

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

} // namespace

KVCaches::Encoded KVCaches::encode(OpBuilder &b, Location loc,
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

Value KVCaches::decode(OpBuilder &b, Location loc, Value data, Value scale) {
  SmallVector<unsigned> abc = {0, 1, 2}, ab = {0, 1};
  Type f32 = b.getF32Type();
  Value x =
      spell(b, loc, ComputeOp::copy, ReduceOp::none, {{data, abc}}, abc, f32);
  if (!scale)
    return x;
  return spell(b, loc, ComputeOp::mul, ReduceOp::none, {{x, abc}, {scale, ab}},
               abc, f32);
}

Value KVCaches::newCache(OpBuilder &b, Location loc, RankedTensorType type,
                           const std::string &name) {
  unsigned index = fn.getNumArguments();
  (void)fn.insertArgument(index, type, {}, loc);
  setArgRole(fn, index, ArgRole::KVCache, name);
  return fn.getArgument(index);
}

/// `type` [BH, rows, ...] as the cache of it: [BH, capacity, ...], or the
/// pool [BH x capacity / page + 1, page, ...].
RankedTensorType KVCaches::cacheType(RankedTensorType type) const {
  SmallVector<int64_t> shape(type.getShape());
  if (page) {
    shape[0] = shape[0] * (capacity / page) + 1;
    shape[1] = page;
  } else {
    shape[1] = capacity;
  }
  return RankedTensorType::get(shape, type.getElementType());
}

Value KVCaches::writeRows(OpBuilder &b, Location loc, Value rowsValue,
                            Value cache) {
  if (page)
    return writePaged(b, loc, rowsValue, cache);
  auto type = cast<RankedTensorType>(rowsValue.getType());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  offsets[1] = positionIndex;
  SmallVector<OpFoldResult> sizes, strides(type.getRank(), b.getIndexAttr(1));
  for (int64_t n : type.getShape())
    sizes.push_back(b.getIndexAttr(n));
  return tensor::InsertSliceOp::create(b, loc, rowsValue, cache, offsets, sizes,
                                       strides);
}

Value KVCaches::blockAt(OpBuilder &b, Location loc, Value r, Value j) {
  Value raw = tensor::ExtractOp::create(b, loc, table, ValueRange{r, j});
  Value index = arith::IndexCastOp::create(b, loc, b.getIndexType(), raw);
  int64_t blocks = batchHeads * (capacity / page) + 1;
  index = arith::MaxSIOp::create(b, loc, index,
                                 arith::ConstantIndexOp::create(b, loc, 0));
  return arith::MinSIOp::create(
      b, loc, index, arith::ConstantIndexOp::create(b, loc, blocks - 1));
}

Value KVCaches::writePaged(OpBuilder &b, Location loc, Value rowsValue,
                             Value pool) {
  // Row r's token i (at positionIndex + i) goes to slot (positionIndex + i) % page of
  // the pool block its logical block (positionIndex + i) / page maps to.
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
              Value at = arith::AddIOp::create(ib, il, positionIndex, i);
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
              Value token = sliceAt(ib, il, rowsValue, from, piece);
              scf::YieldOp::create(ib, il,
                                   insertAt(ib, il, token, inner[0], to));
            });
        scf::YieldOp::create(ob, ol, perToken.getResult(0));
      });
  return perRow.getResult(0);
}

Value KVCaches::readView(OpBuilder &b, Location loc, Value data, Value scale,
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
  Value end = arith::AddIOp::create(b, loc, positionIndex, c(rows + block - 1));
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
                  sliceAt(ib, il, data, {at[0], at[1], ib.getIndexAttr(0)},
                          {rowsPerStep, block, features});
              Value pieceScale =
                  scale ? sliceAt(ib, il, scale, at, {rowsPerStep, block})
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

void KVCaches::addInputs(OpBuilder &b, unsigned at) {
  Location loc = fn.getLoc();
  auto positionType = RankedTensorType::get({}, b.getI64Type());
  (void)fn.insertArgument(at, positionType, {}, loc);
  setArgRole(fn, at, ArgRole::Input, package::kPositionName);
  b.setInsertionPointToStart(&fn.getBody().front());
  Value raw = tensor::ExtractOp::create(b, loc, fn.getArgument(at), ValueRange{});
  Value index = arith::IndexCastOp::create(b, loc, b.getIndexType(), raw);
  // Clamped into the caches: a position out of range reads and writes the
  // last rows instead of memory past the buffers (the runtime never passes
  // one; a hand-made input might).
  index = arith::MaxSIOp::create(b, loc, index,
                                 arith::ConstantIndexOp::create(b, loc, 0));
  positionIndex = arith::MinSIOp::create(
      b, loc, index, arith::ConstantIndexOp::create(b, loc, capacity - rows));
  if (page) {
    auto tableType =
        RankedTensorType::get({batchHeads, capacity / page}, b.getI64Type());
    (void)fn.insertArgument(at + 1, tableType, {}, loc);
    setArgRole(fn, at + 1, ArgRole::Input, package::kBlockTableName);
    table = fn.getArgument(at + 1);
  }
}

Value KVCaches::store(OpBuilder &b, Location loc, Value rowsValue,
                      const std::string &name) {
  auto type = cast<RankedTensorType>(rowsValue.getType());
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
                               name + package::kKVScaleSuffix));
    caches.push_back(scale);
  }
  if (!page && kvDtype == "f32")
    return data;
  SmallVector<int64_t> view(type.getShape());
  view[1] = capacity;
  return readView(b, loc, data, scale,
                  RankedTensorType::get(view, type.getElementType()));
}

void KVCaches::finish() {
  Block &entry = fn.getBody().front();
  auto ret = cast<func::ReturnOp>(entry.getTerminator());
  unsigned firstCacheResult = ret.getNumOperands();
  SmallVector<Value> results(ret.getOperands());
  results.append(caches.begin(), caches.end());
  ret->setOperands(results);
  SmallVector<Type> resultTypes;
  for (Value v : results)
    resultTypes.push_back(v.getType());
  SmallVector<DictionaryAttr> resultAttrs;
  fn.getAllResultAttrs(resultAttrs);
  resultAttrs.resize(results.size(), DictionaryAttr::get(fn.getContext()));
  fn.setType(FunctionType::get(fn.getContext(), entry.getArgumentTypes(),
                               resultTypes));
  fn.setAllResultAttrs(resultAttrs);
  for (unsigned i = 0; i < caches.size(); ++i) {
    unsigned arg = fn.getNumArguments() - caches.size() + i;
    setOverwrittenArg(fn, firstCacheResult + i, arg);
  }
}
