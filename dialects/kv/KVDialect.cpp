//===- KVDialect.cpp - KV cache buffers -----------------------------------===//
#include "dialects/kv/KVDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace memc::kv;

#include "dialects/kv/KVDialect.cpp.inc"
#include "dialects/kv/KVEnums.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/kv/KVTypes.cpp.inc"

#define GET_OP_CLASSES
#include "dialects/kv/KVOps.cpp.inc"

void KVDialect::initialize() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialects/kv/KVTypes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialects/kv/KVOps.cpp.inc"
      >();
}

namespace {

/// The capacity a cache holds: [BH, capacity, ...] contiguous, or a pool of
/// blocks [BH x capacity / BLOCK + 1, BLOCK, ...] behind table [BH,
/// capacity / BLOCK]. Checks the cache against its batch x head rows `bh`
/// (and the table); emits through `op` and returns 0 when they disagree.
int64_t cacheCapacity(Operation *op, RankedTensorType cache, Value table,
                      int64_t bh) {
  if (cache.getRank() < 2 || !cache.hasStaticShape()) {
    op->emitOpError("needs a static cache of rank 2 or more, got ") << cache;
    return 0;
  }
  if (!table) {
    if (cache.getDimSize(0) != bh) {
      op->emitOpError("the cache has ")
          << cache.getDimSize(0) << " batch x head rows, not " << bh;
      return 0;
    }
    return cache.getDimSize(1);
  }
  auto tableType = dyn_cast<RankedTensorType>(table.getType());
  if (!tableType || tableType.getRank() != 2 ||
      !tableType.getElementType().isInteger(64) ||
      tableType.getDimSize(0) != bh) {
    op->emitOpError("the block table must be i64 [") << bh << ", blocks]";
    return 0;
  }
  int64_t blocks = tableType.getDimSize(0) * tableType.getDimSize(1) + 1;
  if (cache.getDimSize(0) != blocks) {
    op->emitOpError("a pool for this table has ")
        << blocks << " blocks (a spare included), not " << cache.getDimSize(0);
    return 0;
  }
  return tableType.getDimSize(1) * cache.getDimSize(1);
}

} // namespace

LogicalResult AppendOp::verify() {
  auto rows = cast<RankedTensorType>(getRows().getType());
  auto cache = cast<RankedTensorType>(getCache().getType());
  if (rows.getRank() != cache.getRank() || !rows.hasStaticShape())
    return emitOpError("rows must be static and of the cache's rank");
  if (rows.getElementType() != cache.getElementType())
    return emitOpError("rows of ")
           << rows.getElementType() << " into a cache of "
           << cache.getElementType() << " (encode them first)";
  for (int64_t d = 2; d < rows.getRank(); ++d)
    if (rows.getDimSize(d) != cache.getDimSize(d))
      return emitOpError("rows and cache differ in dimension ") << d;
  int64_t capacity =
      cacheCapacity(*this, cache, getTable(), rows.getDimSize(0));
  if (!capacity)
    return failure();
  if (rows.getDimSize(1) > capacity)
    return emitOpError("") << rows.getDimSize(1)
                           << " rows do not fit a capacity of " << capacity;
  return success();
}

LogicalResult ViewOp::verify() {
  auto cache = cast<RankedTensorType>(getCache().getType());
  auto view = cast<RankedTensorType>(getResult().getType());
  Type elem = cache.getElementType();
  if (!elem.isF32() && !elem.isF16() && !elem.isInteger(8))
    return emitOpError("caches hold f32, f16 or i8, not ") << elem;
  if (!view.getElementType().isF32() || view.getRank() != cache.getRank() ||
      !view.hasStaticShape())
    return emitOpError("the view is a static f32 tensor of the cache's rank");
  int64_t capacity =
      cacheCapacity(*this, cache, getTable(), view.getDimSize(0));
  if (!capacity)
    return failure();
  if (view.getDimSize(1) != capacity)
    return emitOpError("the view has ")
           << view.getDimSize(1) << " rows, the cache's capacity is "
           << capacity;
  for (int64_t d = 2; d < view.getRank(); ++d)
    if (view.getDimSize(d) != cache.getDimSize(d))
      return emitOpError("view and cache differ in dimension ") << d;
  if (int64_t(getRows()) > capacity)
    return emitOpError("") << getRows() << " rows exceed the capacity "
                           << capacity;
  if (elem.isInteger(8) != bool(getScale()))
    return emitOpError("an i8 cache, and only one, is read with its scales");
  if (Value scale = getScale()) {
    auto scaleType = cast<RankedTensorType>(scale.getType());
    if (!scaleType.getElementType().isF32() || scaleType.getRank() != 2 ||
        scaleType.getDimSize(0) != cache.getDimSize(0) ||
        scaleType.getDimSize(1) != cache.getDimSize(1))
      return emitOpError("the scales are f32 [")
             << cache.getDimSize(0) << ", " << cache.getDimSize(1) << "]";
  }
  return success();
}

LogicalResult BufferType::verify(function_ref<InFlightDiagnostic()> emitError,
                                 int64_t layers, int64_t heads,
                                 int64_t capacity, int64_t headDim,
                                 Type elementType, int64_t pageSize) {
  if (layers <= 0 || heads <= 0 || capacity <= 0 || headDim <= 0)
    return emitError() << "layers, heads, capacity and head_dim must be "
                          "positive";
  if (!isa<FloatType>(elementType) && !elementType.isInteger(8))
    return emitError() << "KV element type must be a float or i8, got "
                       << elementType;
  if (pageSize < 0)
    return emitError() << "page size must be positive";
  if (pageSize > 0 && capacity % pageSize != 0)
    return emitError() << "capacity " << capacity
                       << " is not a multiple of the page size " << pageSize;
  return success();
}

int64_t BufferType::getBytes() const {
  int64_t elemBytes = (getElementType().getIntOrFloatBitWidth() + 7) / 8;
  return 2 * getLayers() * getHeads() * getCapacity() * getHeadDim() *
         elemBytes;
}
