//===- EinsumBuilder.h - einsum ops from index lists ------------*- C++ -*-===//
//
// Internal to lib/Import. An einsum.einsum op is a list of ranks (named
// loop dimensions) and, per operand and for the result, one index per
// tensor dimension. Importers describe it with plain rank numbers instead
// of hand-built affine maps:
//
//   // Y[m, n] = sum_k A[m, k] * B[k, n]; ranks m = 0, n = 1, k = 2
//   EinsumSpec s{{"m", "n", "k"}, {{0, 2}, {2, 1}}, {0, 1},
//                ComputeOp::mul, ReduceOp::add};
//
// An index is a rank (`2`), a constant (`Ix::at(0)`: a broadcast dimension
// of size 1 reads index 0) or an affine sum of ranks (`Ix(o) * stride +
// Ix(k) * dilation`, a window).
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_LIB_IMPORT_EINSUMBUILDER_H
#define MEMC_LIB_IMPORT_EINSUMBUILDER_H

#include "dialects/einsum/EinsumDialect.h"

#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/Builders.h"

#include <string>
#include <utility>

namespace memc::onnximport {

/// The index of one operand dimension: sum of rank * coefficient, plus a
/// constant. The expression is built in the order the terms were written,
/// so `Ix(o) * 2 + Ix(k)` prints as `d2 * 2 + d4`.
class Ix {
public:
  /// Rank `rank` itself (implicit, so index lists read `{0, 2, 1}`).
  Ix(unsigned rank) : terms_{{rank, 1}} {}
  /// The constant index `value`.
  static Ix at(int64_t value) {
    Ix ix;
    ix.offset_ = value;
    return ix;
  }
  Ix operator*(int64_t factor) const;
  Ix operator+(const Ix &other) const;
  mlir::AffineExpr toExpr(mlir::MLIRContext *ctx) const;

private:
  Ix() = default;
  llvm::SmallVector<std::pair<unsigned, int64_t>, 2> terms_;
  int64_t offset_ = 0;
};

/// One index per dimension of an operand (or of the result).
using Indices = llvm::SmallVector<Ix, 4>;

/// result[result] = reduce over the ranks absent from `result` of
/// compute(input_0[inputs[0]], input_1[inputs[1]], ...).
struct EinsumSpec {
  llvm::SmallVector<std::string> ranks; ///< names; rank r is ranks[r]
  llvm::SmallVector<Indices, 3> inputs; ///< one index list per operand
  Indices result;
  einsum::ComputeOp compute = einsum::ComputeOp::copy;
  einsum::ReduceOp reduce = einsum::ReduceOp::none;
};

/// Builds the einsum.einsum op `spec` over `inputs` with result type
/// `resultType`.
mlir::Value buildEinsum(mlir::OpBuilder &b, mlir::Location loc,
                        const EinsumSpec &spec, mlir::ValueRange inputs,
                        mlir::RankedTensorType resultType);

/// Ranks `first`, ..., `first + count - 1`.
Indices rankRange(unsigned first, unsigned count);
/// Ranks 0 .. count-1: an operand indexed by every rank in order.
inline Indices identityIndices(unsigned count) { return rankRange(0, count); }
/// numpy broadcasting of an operand of `shape` into ranks 0 .. R-1 of
/// extents `resultShape` (right-aligned; a dim of 1 against a larger
/// extent reads index 0).
Indices broadcastIndices(llvm::ArrayRef<int64_t> shape,
                         llvm::ArrayRef<int64_t> resultShape);

/// Rank names `prefix`0, `prefix`1, ... (`count` of them).
llvm::SmallVector<std::string> numberedRanks(llvm::StringRef prefix,
                                             unsigned count);
/// Rank names a, b, c, ... (r16, r17, ... past p).
llvm::SmallVector<std::string> letterRanks(unsigned count);

} // namespace memc::onnximport

#endif
