//===- GemmEpilogue.h - the elementwise op after a GEMM, fused in -*- C++
//-*-===//
//
// A convolution's GEMM writes C, and the op after it (bias and clipped
// ReLU into a padded buffer, a residual sum) reads C back: on MobileNetV2
// those passes moved more bytes than the GEMMs. When that op only finishes
// C's elements (v + bias[m], then addend + v, then a clip) and C is read by
// nothing else, the GEMM can store the finished values itself
// (memc_rt_sgemm_packed_a_ep): this finds such an op on buffers.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_TRANSFORMS_GEMMEPILOGUE_H
#define MEMC_TRANSFORMS_GEMMEPILOGUE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>

namespace memc {

/// The op that finishes a GEMM's C (see memc_runtime.h, memc_rt_sgemm_
/// packed_a_ep): for element (i, j) of C, v = C + bias[i] (when bias), v =
/// addend[i * ldAddend + j] + v (when addend), v = minimumf(maximumf(v, lo),
/// hi), stored at d's first element + i * ldd + (j / width) * pitch + j %
/// width (width 0: + j).
struct GemmEpilogueMatch {
  mlir::linalg::GenericOp consumer;
  mlir::Value bias, addend; ///< null when absent
  /// A bias that is one constant for every row (no bias operand).
  std::optional<float> biasConstant;
  /// The addend's element (i, j) at i * ldAddend + (j / addendWidth) *
  /// addendPitch + j % addendWidth (addendWidth 0: i * ldAddend + j).
  int64_t ldAddend = 0, addendWidth = 0, addendPitch = 0;
  float lo, hi;
  mlir::Value d;
  int64_t ldd = 0, width = 0, pitch = 0;
  /// The fill of the padded buffer whose interior d is (between the GEMM
  /// and the consumer), when the GEMM can write its border instead: pads
  /// {top, bottom, left, right} around each row's output rows, padValue.
  mlir::linalg::FillOp padFill;
  int64_t pads[4] = {0, 0, 0, 0};
  float padValue = 0.0f;
  /// Ops between the GEMM and the consumer that release its operands'
  /// arena views: they move after the fused call, which takes the
  /// consumer's place.
  llvm::SmallVector<mlir::Operation *> releases;
};

/// The consumer of `gemm`'s C (an M x N row-major matrix with row stride
/// ldc at `c`'s first element) that can be fused into it: the only op
/// other than `gemm` that uses C's buffer, in the same block, with only
/// views, constants, arena calls and fills of other buffers in between,
/// writing a buffer that none of `reads` (the GEMM's other operands)
/// overlaps. nullopt when there is none. Works on arena views (after
/// memc-buffer-mapping, where overlap is by planned offsets) and on
/// allocations (before it, where distinct ones never overlap).
std::optional<GemmEpilogueMatch>
matchGemmEpilogue(mlir::Operation *gemm, mlir::Value c, int64_t m, int64_t n,
                  int64_t ldc, llvm::ArrayRef<mlir::Value> reads);

/// The ops other than views (view-like ops of it, memref.cast) that use
/// `root` or a view of it. With `views`, also those views, each after the
/// one it views.
llvm::SmallVector<mlir::Operation *>
usersThroughViews(mlir::Value root,
                  llvm::SmallVectorImpl<mlir::Operation *> *views = nullptr);

/// Whether two memrefs may share bytes: views of one argument or allocation,
/// or of arena buffers whose planned byte ranges intersect (true when
/// either's buffer cannot be told).
bool buffersMayOverlap(mlir::Value a, mlir::Value b);

/// The value `buffer` is a view of (through view-like ops), or `buffer`.
mlir::Value sourceOfViews(mlir::Value buffer);

/// Puts the body of a memc.gemm_epilogue in its place, with its scratch
/// argument (the GEMM's result) a heap allocation marked `memc.scratch`.
void dissolveGemmEpilogue(mlir::Operation *gemmEpilogue);

/// dissolveGemmEpilogue for every memc.gemm_epilogue under `root`.
void dissolveGemmEpilogues(mlir::Operation *root);

/// Whether `buffer` is (a view of) such a scratch allocation.
bool isGemmScratch(mlir::Value buffer);

/// Whether `buffer` is (a view of) an argument of `entry` whose role is a
/// weight: constant across calls when `entry` is an inference program.
bool isWeightView(mlir::Value buffer, mlir::func::FuncOp entry);

/// A GEMM that memc-contractions-to-blas with packed-weights calls the
/// runtime's packed-A kernel for, whose epilogue it can then fuse: C [M,
/// N] (row stride ldc) = A times B, or times a window of X (a convolution
/// left whole), A a weight of `entry`, at least `minFlops` multiply-adds.
struct PackedAGemm {
  mlir::Value c;
  int64_t m = 0, n = 0, ldc = 0;
  /// The operands it reads: A and B (or X).
  llvm::SmallVector<mlir::Value, 2> reads;
};
std::optional<PackedAGemm> matchPackedAGemm(mlir::linalg::GenericOp op,
                                            mlir::func::FuncOp entry,
                                            int64_t minFlops);

} // namespace memc

#endif
