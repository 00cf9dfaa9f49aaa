//===- MaskStructure.h - triangular constants (causal masks) ----*- C++ -*-===//
//
// Exporters write a causal mask as a constant: an additive triangle of -inf
// (or -1e9, or the float minimum) above the diagonal, or a boolean triangle
// fed to Where. The importer, which holds the bytes, summarizes such a
// constant in an attribute on its weight argument, and FuseMax attention
// reads the summary to skip K/V tiles that the mask hides completely.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_ANALYSIS_MASKSTRUCTURE_H
#define MEMC_ANALYSIS_MASKSTRUCTURE_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <cstdint>
#include <optional>

namespace memc {

/// Every element (.., r, c) with c - r >= diagonal equals `value`, in every
/// slice over the leading dimensions; `below`, when set, is the one value
/// of every other element (a pure causal mask: 0 below an additive
/// triangle, or the opposite boolean), which lets a GPU kernel replace the
/// tensor by an index comparison.
struct UpperTriangle {
  int64_t diagonal;
  double value;
  std::optional<double> below;
};

/// The name of the function-argument attribute that carries an
/// UpperTriangle: `{diagonal = K : i64, value = V : f64[, below = B : f64]}`.
inline constexpr const char *kUpperTriangleAttr = "memc.upper_triangle";

/// The smallest diagonal of a tensor of `shape` (rank >= 2) whose elements
/// are read through `elem` (row-major); nullopt when no element of the last
/// two dimensions is covered or the corner is NaN.
std::optional<UpperTriangle>
findUpperTriangle(llvm::ArrayRef<int64_t> shape,
                  llvm::function_ref<double(int64_t)> elem);

/// The same for a constant (float or i1 elements).
std::optional<UpperTriangle> findUpperTriangle(mlir::DenseElementsAttr attr);

mlir::DictionaryAttr toAttr(mlir::MLIRContext *ctx, const UpperTriangle &t);
std::optional<UpperTriangle> fromAttr(mlir::Attribute attr);

} // namespace memc

#endif
