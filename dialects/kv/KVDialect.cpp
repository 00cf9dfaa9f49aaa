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

void KVDialect::initialize() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialects/kv/KVTypes.cpp.inc"
      >();
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
