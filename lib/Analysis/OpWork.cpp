//===- OpWork.cpp - Floating-point work of one op -------------------------===//

#include "memc/Analysis/OpWork.h"

#include "dialects/einsum/EinsumDialect.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using namespace memc::einsum;

namespace memc {

double opFlops(Operation *op) {
  if (auto e = dyn_cast<EinsumOp>(op)) {
    double points = 1;
    for (int64_t extent : e.getRankExtents())
      points *= double(std::max<int64_t>(extent, 1));
    bool contracts =
        e.getInputs().size() > 1 &&
        llvm::any_of(e.getReducedRanks(), [](bool r) { return r; });
    return points * (contracts ? 2.0
                               : double(std::max<size_t>(
                                     1, e.getInputs().size())));
  }
  if (auto a = dyn_cast<AttentionOp>(op)) {
    auto q = cast<RankedTensorType>(a.getQuery().getType());
    auto k = cast<RankedTensorType>(a.getKey().getType());
    return 4.0 * double(q.getNumElements()) * double(k.getDimSize(1));
  }
  return 0.0;
}

int64_t loopWork(Operation *op) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp)
    return 0;
  int64_t iterations = 1;
  for (int64_t n : linalgOp.getStaticLoopRanges()) {
    if (ShapedType::isDynamic(n))
      return 0;
    iterations *= n;
  }
  int64_t bodyOps = 1;
  op->walk([&](Operation *inner) { bodyOps += inner != op; });
  return iterations * bodyOps;
}

bool isPointwiseEinsum(Operation *op) {
  auto e = dyn_cast_or_null<EinsumOp>(op);
  return e && llvm::none_of(e.getReducedRanks(), [](bool r) { return r; });
}

uint64_t tensorBytes(Type type) {
  auto t = dyn_cast<RankedTensorType>(type);
  if (!t || !t.hasStaticShape())
    return 0;
  Type e = t.getElementType();
  unsigned bits = e.isIntOrFloat() ? e.getIntOrFloatBitWidth() : 64;
  return uint64_t(t.getNumElements()) * std::max(1u, (bits + 7) / 8);
}

} // namespace memc
