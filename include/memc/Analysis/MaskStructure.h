//===- MaskStructure.h - triangular constants (causal masks) ----*- C++ -*-===//
//
// Exporters write a causal mask as a constant: an additive triangle of -inf
// (or -1e9, or the float minimum) above the diagonal, or a boolean triangle
// fed to Where. The importer, which holds the bytes, summarizes such a
// constant as an UpperTriangle on its parameter (the memc dialect's
// memc.upper_triangle, ProgramInterface.h), and FuseMax attention reads the
// summary to skip K/V tiles that the mask hides completely.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_ANALYSIS_MASKSTRUCTURE_H
#define MEMC_ANALYSIS_MASKSTRUCTURE_H

#include "dialects/memc/ProgramInterface.h"

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <cstdint>
#include <optional>

namespace memc {

/// The smallest diagonal of a tensor of `shape` (rank >= 2) whose elements
/// are read through `elem` (row-major); nullopt when no element of the last
/// two dimensions is covered or the corner is NaN.
std::optional<UpperTriangle>
findUpperTriangle(llvm::ArrayRef<int64_t> shape,
                  llvm::function_ref<double(int64_t)> elem);

/// The same for a constant (float or i1 elements).
std::optional<UpperTriangle> findUpperTriangle(mlir::DenseElementsAttr attr);


} // namespace memc

#endif
