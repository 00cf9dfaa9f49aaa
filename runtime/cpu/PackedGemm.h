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
#include <functional>

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

/// A copy of the weight at `a` (m x k, row stride lda, or its transpose)
/// transformed by `fill` into `floats` floats, made on the first call for
/// these arguments and `transform` (which of the caller's transforms: one
/// weight may be taken by two) and cached with the packed copies
/// (Winograd's transformed filters); null when it cannot be allocated.
const float *transformedWeight(const float *a, int64_t m, int64_t k,
                               int64_t lda, bool transposed, int transform,
                               size_t floats,
                               const std::function<void(float *)> &fill);

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
/// Turns the packed kernels of memc_rt_sgemm_packed_* off (false: their
/// calls run as memc_rt_sgemm, as MEMC_PACKED_WEIGHTS=0 makes them) or back
/// on, for tests of that path in a process that has used the kernels.
void enablePackedWeights(bool on);

/// C[0..m, columns of panels [p0, p1)] = A op(B), plus C's old value when
/// `accumulate`; A is m x K, row-major with row stride lda. Every element
/// of C sums its K products in the same order whatever m, p0 and p1 are,
/// so splitting C over threads never changes a result.
void packedGemm(int64_t m, int64_t p0, int64_t p1, const float *a, int64_t lda,
                const PackedB &b, float *c, int64_t ldc, bool accumulate);

/// C[0, columns of panels [p0, p1)] = a B, plus C's old value when
/// `accumulate`: packedGemm for one row of A (a classifier's or a decode
/// step's projection), which reads B once and is bound by that read.
/// Packed into a tile of one row, those K products run on two chains of
/// FMAs; here each column sums k = 0, 4, 8, ... and k = 1, 5, ... (four
/// chains per register) and adds the four, (s0 + s2) + (s1 + s3), then C's
/// old value. Each column's sum depends on K alone, not on the split of
/// the panels. AVX-512 only (packedGemmIsa() == AVX512).
void packedGemv(int64_t p0, int64_t p1, const float *a, const PackedB &b,
                float *c, bool accumulate);

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

/// What a GEMM does with each element v of its product (op(A) B, plus C's
/// old value when accumulating) once its last term is in, instead of
/// storing it to C: the elementwise op that read C (a convolution's bias
/// and clipped ReLU, a residual sum) fused in. In this order:
///   v = v + bias[i]                          (when bias)
///   v = *addendAt(i, j) + v                  (when addend)
///   v = maximum(v, lo), then minimum(v, hi)  (NaN stays NaN; +0 > -0)
/// and v goes to D[i * ldd + (j / width) * pitch + j % width]: a
/// convolution's output row of `width` pixels in a padded buffer whose rows
/// are `pitch` apart (width 0: D[i * ldd + j]).
/// With `padded`, D's rows are the interiors of planes with padTop rows
/// above, padBottom below, padLeft columns left and padRight right (pitch
/// = padLeft + width + padRight), and the GEMM writes their border with
/// padValue too, as the tiles that hold an output row's ends (and the
/// plane's first and last pixels) finish: the plane needs no fill.
/// The addend is laid out as D may be: element (i, j) at addend[i *
/// ldAddend + (j / addendWidth) * addendPitch + j % addendWidth], rows of
/// addendWidth pixels in a padded buffer (addendWidth 0: addend[i *
/// ldAddend + j]). A residual that is also a convolution's padded input
/// stays where it is (ResNet-18's blocks).
struct Epilogue {
  const float *bias = nullptr;
  const float *addend = nullptr;
  int64_t ldAddend = 0, addendWidth = 0, addendPitch = 0;
  float lo = -__builtin_inff(), hi = __builtin_inff();
  float *d = nullptr;
  int64_t ldd = 0, width = 0, pitch = 0;
  bool padded = false;
  int64_t padTop = 0, padBottom = 0, padLeft = 0, padRight = 0;
  float padValue = 0.0f;
  int64_t n = 0; ///< the product's columns (the plane's pixels)

  /// The pieces of border around columns [j, j + count) of every row's
  /// plane, for the output rows that start or end in them: calls
  /// `piece(offset from the row's first element of D, floats)`.
  template <typename Piece>
  void borderPieces(int64_t j, int64_t count, Piece piece) const {
    if (!padded || width <= 0 || count <= 0)
      return;
    int64_t end = j + count;
    // The rows above the first output row, with its left border.
    if (j == 0)
      piece(-padTop * pitch - padLeft, padTop * pitch + padLeft);
    // Between output rows: the right border of one and the left of the
    // next.
    for (int64_t q = j / width, last = (q + 1) * width - 1;
         last < end && last + 1 < n; ++q, last += width)
      piece(q * pitch + width, padRight + padLeft); // row q's last + 1
    // The last output row's right border and the rows below.
    if (end == n)
      piece((n - 1) / width * pitch + (n - 1) % width + 1,
            padRight + padBottom * pitch);
  }
  /// Writes the border around row i's columns [j, j + count) of D.
  void fillBorder(int64_t i, int64_t j, int64_t count) const;

  float *at(int64_t i, int64_t j) const {
    return width ? d + i * ldd + j / width * pitch + j % width
                 : d + i * ldd + j;
  }
  /// Column j's offset from a row's first element of the addend.
  int64_t addendOffset(int64_t j) const {
    return addendWidth ? j / addendWidth * addendPitch + j % addendWidth : j;
  }
  const float *addendAt(int64_t i, int64_t j) const {
    return addend + i * ldAddend + addendOffset(j);
  }
  /// Element (i, j) of the product, v, finished and stored.
  void apply(int64_t i, int64_t j, float v) const;
  /// Rows [0, m) and columns [0, n) of a product in C (row stride ldc).
  void applyAll(const float *c, int64_t ldc, int64_t m, int64_t n) const;
};

/// C (row stride ldc) = rows [i0 * 12, i1 * 12) of A times B, both packed
/// (A's 12-row panels i0 to i1, all of B's panels): C's row 0 is A's row
/// i0 * 12. An AVX-512 CPU only (the caller chooses by packedGemmIsa).
void packedProduct(const PackedA &a, int64_t i0, int64_t i1, const PackedB &b,
                   float *c, int64_t ldc);

/// Rows [i0, i0 + rows) and columns [j0, j0 + n) of a product, held in `y`
/// (row stride ldy), stored as the kernels store theirs: into C (row
/// stride ldc), plus C's old value when `accumulate`, or, C's old value
/// added first when accumulating, through `epilogue` into its D (borders
/// included). An AVX-512 CPU only (the caller chooses by packedGemmIsa).
void finishProduct(const float *y, int64_t ldy, int64_t i0, int64_t rows,
                   int64_t j0, int64_t n, float *c, int64_t ldc,
                   bool accumulate, const Epilogue *epilogue);

/// The part of K a packedGemmA call sums, [begin, end) (end -1: A's K),
/// and the blocks it sums it in: `size` values of k at a time from begin
/// (0: the kernel's 256). Each block's products are summed from zero and
/// then added to the sum of the blocks before it, so the blocks fix the
/// result's rounding: a product summed as two calls over its two halves
/// (each one block) and then added, half 1's sum + half 0's, is bit for bit
/// the product of one call whose blocks are those halves.
struct KBlocks {
  int64_t begin = 0, end = -1, size = 0;
};

/// The K block of a GEMM of a weight on the left (memc_rt_sgemm_packed_a,
/// batch 1, not run transposed) that sums K in two halves, each one block,
/// or 0 for the kernel's blocks: K at least 4 M and from 257 to 1024, C at
/// most 256 columns. MobileNetV2's 1x1 convolutions after a 14 x 14
/// depthwise one (96 x 196 x 576, 64 x 196 x 384): B, the depthwise output,
/// is 4 to 6 times C, and the threads that wrote it hold its channels (K)
/// in halves; on an even number of threads each half of them then sums its
/// own half of K and the two are added, where a cut of C's rows or columns
/// read half of B from the other core. The blocks depend on the shape
/// alone: the result is the same bits on any number of threads, and for B
/// as a window or plain.
int64_t halvesBlock(int64_t m, int64_t n, int64_t k);

/// halvesBlock for a product run transposed (packedGemmAT: C's columns
/// at most 128): K at least 3 M and from 513 to 1536. MobileNetV2's 1x1
/// convolutions after a 7 x 7 depthwise one (160 x 49 x 960, 320 x 49 x
/// 960, 160 x 49 x 576), whose threads otherwise each read all of the
/// weight (a cut of C's 49 columns) or all of B (a cut of its rows).
int64_t transposedHalvesBlock(int64_t m, int64_t n, int64_t k);

/// C[rows of A's panels [i0, i1), columns [n0, n1)] = op(A) B, plus C's old
/// value when `accumulate`; B is read in place on AVX-512, else (and for a
/// window) packed a block at a time into a per-thread buffer. As packedGemm,
/// the result does not depend on how C is split. With `epilogue`, the finished
/// elements go through it to its D instead (C then holds partial sums, when K
/// takes more than one block, or nothing new); `c` may then be null when not
/// `accumulate` (the partial sums go to a per-thread buffer). `k`: the part
/// of K summed, and its blocks.
void packedGemmA(const PackedA &a, int64_t i0, int64_t i1, int64_t n0,
                 int64_t n1, const RightOperand &b, float *c, int64_t ldc,
                 bool accumulate, const Epilogue *epilogue = nullptr,
                 KBlocks k = {});

/// packedGemmA's product for a weight whose rows fill the kernel's lanes
/// better than B's columns do (ResNet-18's layer 4: 512 filters against 49
/// output pixels, 49 of 64 lanes): C^T = B^T op(A)^T, with B's columns as
/// the tiles' rows (packed 12 at a time, a K block of them per call) and
/// op(A) packed once as its transpose's panels, aT = packedWeight(A, K, M,
/// lda, !transA). Computes C's rows [p0 * 32, min(M, p1 * 32)) (aT's
/// panels [p0, p1)) by columns [n0, n1); accumulate and epilogue as in
/// packedGemmA. K in blocks of kBlock (0: 768); each block's sums are
/// added to the blocks' before it, and C's old value to their total. Each
/// element's sum depends on K and kBlock only, not on the split. AVX-512
/// only (packedGemmIsa() == AVX512).
void packedGemmAT(const PackedB &aT, int64_t p0, int64_t p1, int64_t n0,
                  int64_t n1, const RightOperand &b, float *c, int64_t ldc,
                  bool accumulate, const Epilogue *epilogue = nullptr,
                  int64_t kBlock = 0);

/// packedGemmAT's two steps. transposedSums: C^T's rows [0, n1 - n0) (C's
/// columns [n0, n1)) by aT's panels [p0, p1), summed over K's part and
/// blocks `k` (KBlocks; size 0: 768), into ct (row stride ldct, at least
/// (p1 - p0) * 32); false when its buffer cannot be had. finishTransposed:
/// C's rows [r0, r1) of those (ct's column 0 is C's row i0) and columns
/// [n0, n0 + n) from ct, stored as packedGemmA stores its products: plus
/// C's old value when `accumulate`, through `epilogue` when there is one.
bool transposedSums(const PackedB &aT, int64_t p0, int64_t p1, int64_t n0,
                    int64_t n1, const RightOperand &b, KBlocks k, float *ct,
                    int64_t ldct);
void finishTransposed(const float *ct, int64_t ldct, int64_t i0, int64_t r0,
                      int64_t r1, int64_t n0, int64_t n, float *c, int64_t ldc,
                      bool accumulate, const Epilogue *epilogue);

/// packedGemmA's product of a weight by a convolution's window operand
/// with nothing packed per call: C^T = B^T op(A)^T as in packedGemmAT
/// (aT = packedWeight(A, K, M, lda, !transA)), its tiles 12 output pixels
/// by a panel of 32 filters over all of K, each pixel's values broadcast
/// straight from the input (b.data + rowOffset[k] + columnOffset[j]), each
/// tile's rows gathered into C's (or the epilogue's) as it finishes.
/// Computes C's rows [p0 * 32, min(M, p1 * 32)) by columns [n0, n1);
/// `accumulate` and `epilogue` as in packedGemmA (C may be null with an
/// epilogue and no accumulate). Each element sums its K products in
/// packedGemmA's K blocks and order, C's old value first, so the two agree
/// bit for bit, whatever the split: blocks of kBlock values of k (0: the
/// kernel's 256), as packedGemmA's KBlocks::size. `b` must be a window
/// (b.isWindow()); AVX-512 only.
void windowGemmDirect(const PackedB &aT, int64_t p0, int64_t p1, int64_t n0,
                      int64_t n1, const RightOperand &b, float *c, int64_t ldc,
                      bool accumulate, const Epilogue *epilogue = nullptr,
                      int64_t kBlock = 0);

} // namespace memc::rt

#endif // MEMC_RUNTIME_CPU_PACKEDGEMM_H
