//===- KVCaches.cpp - the KV caches of a decode program -------------------===//
//
// Shared by memc-derive-decode and memc-bind-past-kv (KVCaches.h).
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/KVCaches.h"

#include "dialects/einsum/EinsumDialect.h"
#include "dialects/kv/KVDialect.h"
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

Value memc::decodeKVRows(OpBuilder &b, Location loc, Value data, Value scale) {
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
  auto append = [&](Value rows, const std::string &cacheName) {
    auto rowsType = cast<RankedTensorType>(rows.getType());
    Value cache = newCache(b, loc, cacheType(rowsType), cacheName);
    return kv::AppendOp::create(b, loc, cache.getType(), rows, cache,
                                positionIndex, table)
        .getResult();
  };
  Value data = append(encoded.data, name);
  caches.push_back(data);
  Value scale;
  if (encoded.scale) {
    scale = append(encoded.scale, name + package::kKVScaleSuffix);
    caches.push_back(scale);
  }
  if (!page && kvDtype == "f32")
    return data;
  SmallVector<int64_t> view(type.getShape());
  view[1] = capacity;
  return kv::ViewOp::create(b, loc,
                            RankedTensorType::get(view, type.getElementType()),
                            data, scale, positionIndex, table, rows)
      .getResult();
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
