//===- OpsCommon.h - helpers the NN op families share -----------*- C++ -*-===//
//
// Internal to lib/Import. Beyond NodeImporter's builders: f16/bf16
// computed in f32, constant padding, reductions of a binary map, means,
// the exact gather along one axis that Pad (reflect) and Resize use, and
// the position a run-time index selects (Gather, GatherElements, scatters).
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_LIB_IMPORT_OPSCOMMON_H
#define MEMC_LIB_IMPORT_OPSCOMMON_H

#include "ImportContext.h"

#include <string>
#include <vector>

namespace memc::onnximport {

inline mlir::Type elemOf(mlir::Value v) {
  return NodeImporter::typeOf(v).getElementType();
}
inline std::vector<int64_t> shapeOf(mlir::Value v) {
  return NodeImporter::shapeOf(v);
}
inline int64_t product(llvm::ArrayRef<int64_t> s) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}
/// `[1, 2, 3]`, for messages.
std::string joinInts(llvm::ArrayRef<int64_t> v);

/// f16/bf16 are computed in f32 by the contractions, normalizations and
/// pools (sums of many terms would lose too much precision), then rounded
/// back.
inline mlir::Type computeElem(mlir::Type t) {
  if (t.isF16() || t.isBF16())
    return mlir::Float32Type::get(t.getContext());
  return t;
}

/// The lowest value of `elem` (-inf for floats, 0 for bool, the signed
/// minimum for integers): the identity of a max.
double lowestValue(mlir::Type elem);

/// tensor.pad of `x` with the constant `value`, static low/high amounts.
mlir::Value padConst(NodeImporter &ni, mlir::Value x,
                     llvm::ArrayRef<int64_t> low, llvm::ArrayRef<int64_t> high,
                     double value);

/// reduce_{axes} compute(x, y), y broadcasting to x (same rank, each dim
/// equal or 1): one einsum op, e.g. sum of (x - mean)^2.
mlir::Value reduceBinary(NodeImporter &ni, einsum::ComputeOp compute,
                         einsum::ReduceOp red, mlir::Value x, mlir::Value y,
                         llvm::ArrayRef<int64_t> axes, bool keepDims);

/// Mean over `axes` with kept dims: sum / count.
mlir::Value meanKeep(NodeImporter &ni, mlir::Value x,
                     llvm::ArrayRef<int64_t> axes);

/// y[.., o, ..] = x[.., idx[o], ..] along `axis`, idx with values in
/// [0, in). Exact: a strided slice, a repeat, or a select/max einsum over a
/// host-built one-hot matrix, never a multiply by 0/1.
mlir::Value gatherAxisExact(NodeImporter &ni, mlir::Value x, int64_t axis,
                            const std::vector<int64_t> &idx);

/// The position along a dimension of extent `dim` that `i` (an integer of
/// any width read from an ONNX index tensor) selects, as an index: negative
/// values count from the end; out-of-range ones, invalid input, are clamped
/// instead of reading or writing out of bounds.
mlir::Value indexAlong(mlir::OpBuilder &b, mlir::Location loc, mlir::Value i,
                       int64_t dim);

} // namespace memc::onnximport

#endif
