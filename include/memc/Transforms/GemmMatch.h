//===- GemmMatch.h - batched GEMMs in linalg.generic form -------*- C++ -*-===//
//
// A linalg.generic on memrefs computing C[b.., m.., n..] += A[..] * B[..]
// is a (batched) GEMM, its reduction ranks one K when they nest alike in
// both operands. When the ranks of each
// operand form contiguous groups in row-major order, each operand is a
// stack of matrices in memory with a leading dimension: what a BLAS call
// (memc-contractions-to-blas) and the tensor-core GEMM kernel
// (memc-contractions-to-mma) both take.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_TRANSFORMS_GEMMMATCH_H
#define MEMC_TRANSFORMS_GEMMMATCH_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>

namespace memc {

/// One operand as a stack of row-major matrices.
struct MatrixView {
  bool transposed = false; ///< the second group comes first in memory
  int64_t ld = 0;          ///< elements between consecutive rows
  int64_t batchStride = 0; ///< elements between consecutive batch entries
};

/// C[batch][m][n] += A[batch][m][k] * B[batch][k][n], each operand through
/// its view (element (b, r, c) of a view at b * batchStride + r * ld + c
/// from the memref's first element, r and c swapped when transposed). C is
/// never transposed: a C stored as [n][m] is matched as Cᵀ = Bᵀ Aᵀ, with `a`
/// and `b` swapped.
struct GemmMatch {
  mlir::Value a, b, c;
  mlir::Type elem; ///< f32 or f64
  int64_t batch = 1, m = 0, n = 0, k = 0;
  MatrixView viewA, viewB, viewC;
};

/// `op` as a GEMM on static, strided f32/f64 memrefs whose body is
/// `acc + a * b`; nullopt when it is not one.
std::optional<GemmMatch> matchGemm(mlir::linalg::GenericOp op);

/// C[m][n] += A[m][k] * B[k][n] where B is never stored: its element
/// (k, n) is X's element at offset + the sum over B's ranks of index *
/// stride (a convolution's input read through its window, X[0, c, o0 * s +
/// k0 * d, ...], whose affine map is linear in the ranks). K's ranks take
/// A's order and N's C's, each outermost first; C is [M, N], not
/// transposed, and no rank but those of extent 1 is a batch rank.
struct WindowGemmMatch {
  mlir::Value a, x, c;
  int64_t m = 0, n = 0, k = 0;
  MatrixView viewA, viewC;
  /// (extent, stride in X's elements) of each K rank, then each N rank.
  llvm::SmallVector<std::pair<int64_t, int64_t>> kRanks, nRanks;
  int64_t offset = 0; ///< X's elements before B's element (0, 0)
};

/// Whether every result of `map` is linear in its dims (sums of dims times
/// constants, plus a constant; no mod or floordiv): a window whose element
/// offset has one fixed stride per rank.
bool isLinearInDims(mlir::AffineMap map);

/// `op` as a WindowGemmMatch with input `windowed` as X (the other one A)
/// on static, strided f32 memrefs whose body is `acc + a * b`; nullopt when
/// it is not one.
std::optional<WindowGemmMatch> matchWindowGemm(mlir::linalg::GenericOp op,
                                               unsigned windowed);

/// The linalg.fill of zero into `c` right before `op`, if any: a GEMM that
/// overwrites C instead of accumulating makes it unnecessary.
mlir::linalg::FillOp zeroFillOfOutput(mlir::linalg::GenericOp op,
                                      mlir::Value c);

} // namespace memc

#endif
