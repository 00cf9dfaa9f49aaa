//===- PackedGemm.h - GEMMs whose B is a weight packed once -----*- C++ -*-===//
//
// A weight that is the right operand of a GEMM (a transformer's projections:
// activations times a constant matrix) is read the same way on every call,
// yet OpenBLAS copies it into its panel layout each time: a quarter of
// ViT-B/16's samples were sgemm_itcopy. Here the weight is packed once, on
// its first use, into 32-column panels stored k-major, and a kernel of
// memc's own streams those panels while reading A's rows in place.
//
// A weight on the left (a convolution's filters times its im2col rows) is
// packed the same way into 12-row panels, and the right operand, which
// changes, is packed a block at a time as the kernel goes.
//
// The packed copies are cached by the weight's address and shape. Only
// memc_rt_sgemm_packed_a/_b use them, which memc emits for weights of
// inference programs: those never change while their package is loaded,
// and the package forgets its range (forgetPackedWeights) before it unmaps
// the weights.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_CPU_PACKEDGEMM_H
#define MEMC_RUNTIME_CPU_PACKEDGEMM_H

#include <cstddef>
#include <cstdint>

namespace memc::rt {

/// Columns per panel of a packed B.
inline constexpr int64_t kPackedPanelWidth = 32;
/// Rows per panel of a packed A.
inline constexpr int64_t kPackedPanelHeight = 12;

/// op(B) (K x N) as ceil(N / 32) panels of K rows of 32 floats; the columns
/// past N are zero.
struct PackedB {
  int64_t k = 0, n = 0;
  const float *panels = nullptr;

  int64_t numPanels() const {
    return (n + kPackedPanelWidth - 1) / kPackedPanelWidth;
  }
  const float *panel(int64_t p) const {
    return panels + p * k * kPackedPanelWidth;
  }
};

/// op(A) (M x K) as ceil(M / 12) panels of K columns of 12 floats (element
/// (r, k) of panel i at panel(i)[k * 12 + r]); the rows past M are zero.
struct PackedA {
  int64_t m = 0, k = 0;
  const float *panels = nullptr;

  int64_t numPanels() const {
    return (m + kPackedPanelHeight - 1) / kPackedPanelHeight;
  }
  const float *panel(int64_t i) const {
    return panels + i * k * kPackedPanelHeight;
  }
};

/// The packed form of op(B) (B is K x N with row stride ldb, or N x K when
/// `transposed`), packed on the first call for these arguments and cached;
/// null when the copy cannot be allocated (the caller then multiplies B as
/// it is). Thread-safe; the result stays valid until forgetPackedWeights
/// covers `b`.
const PackedB *packedWeight(const float *b, int64_t k, int64_t n, int64_t ldb,
                            bool transposed);

/// Packs op(B) (K x N; B is K x N with row stride ldb, or N x K when
/// `transposed`) into `dst`, K x 32 floats per panel of 32 columns, the
/// columns past N zero: the layout of packedWeight, for an operand packed
/// once per call (numPanels() * K * 32 floats at dst, 64-byte aligned).
PackedB packPanels(const float *b, int64_t k, int64_t n, int64_t ldb,
                   bool transposed, float *dst);

/// This thread's buffer of at least `floats` floats for packPanels (grown
/// on demand, kept for the thread's life), or null when it cannot be had.
float *panelScratch(size_t floats);

/// The same for a weight on the left: op(A) (A is M x K with row stride
/// lda, or K x M when `transposed`).
const PackedA *packedWeightA(const float *a, int64_t m, int64_t k, int64_t lda,
                             bool transposed);

/// Drops the packed copies of every weight that starts in [begin, begin +
/// bytes): their memory is about to be unmapped or reused.
void forgetPackedWeights(const void *begin, size_t bytes);

/// Bytes held by packed copies now (for tests and reports).
size_t packedWeightBytes();

/// The instruction sets the kernel has a version for.
enum class PackedGemmIsa { Scalar, AVX2, AVX512 };
/// The best one this CPU runs, capped by limitPackedGemmIsa.
PackedGemmIsa packedGemmIsa();
/// Caps the kernel at `isa` (tests run every version on one machine).
void limitPackedGemmIsa(PackedGemmIsa isa);

/// C[0..m, columns of panels [p0, p1)] = A op(B), plus C's old value when
/// `accumulate`; A is m x K, row-major with row stride lda. Every element
/// of C sums its K products in the same order whatever m, p0 and p1 are,
/// so splitting C over threads never changes a result.
void packedGemm(int64_t m, int64_t p0, int64_t p1, const float *a, int64_t lda,
                const PackedB &b, float *c, int64_t ldc, bool accumulate);

/// packedGemmA's right operand B (K x N): a row-major matrix, element
/// (k, j) at data[k * ld + j]; or, when the offset tables are set, element
/// (k, j) at data[rowOffset[k] + columnOffset[j]]. The latter is a
/// convolution's input read through its window, packed straight from the
/// input: the im2col matrix is never written.
struct RightOperand {
  const float *data = nullptr;
  int64_t ld = 0;
  const int64_t *rowOffset = nullptr;
  const int64_t *columnOffset = nullptr;

  bool isWindow() const { return rowOffset != nullptr; }
  float at(int64_t k, int64_t j) const {
    return isWindow() ? data[rowOffset[k] + columnOffset[j]] : data[k * ld + j];
  }
};

/// C[rows of A's panels [i0, i1), columns [n0, n1)] = op(A) B, plus C's old
/// value when `accumulate`; B is packed a block at a time into a per-thread
/// buffer. As packedGemm, the result does not depend on how C is split.
void packedGemmA(const PackedA &a, int64_t i0, int64_t i1, int64_t n0,
                 int64_t n1, const RightOperand &b, float *c, int64_t ldc,
                 bool accumulate);

} // namespace memc::rt

#endif // MEMC_RUNTIME_CPU_PACKEDGEMM_H
