//===- Winograd.h - 3x3 convolutions, Winograd's F(m x m, 3x3) --*- C++ -*-===//
//
// A 3x3 stride-1 convolution computed as Lavin and Gray's F(2x2, 3x3) or
// F(4x4, 3x3): each 2x2 (4x4) block of outputs from a 4x4 (6x6) block of
// input, in 16 (36) products per channel pair where the direct convolution
// takes 36 (144). The products are 16 (36) GEMMs, one per point of the
// transform, of the transformed filters by the transformed input, run by
// the packed GEMM kernel over blocks of output rows that stay in L2. No
// MLIR here.
//
//===----------------------------------------------------------------------===//

#ifndef MEMC_RUNTIME_CPU_WINOGRAD_H
#define MEMC_RUNTIME_CPU_WINOGRAD_H

#include <cstdint>

namespace memc::rt {

struct Epilogue;

/// A convolution's window (memc_runtime.h's descriptor) when it is 3x3,
/// stride 1, dilation 1: channel c's input pixel (y, x) of the output's
/// window origin is at start + c * channelStride + y * pitch + x, for y in
/// [0, outRows + 2) and x in [0, outCols + 2).
struct Conv3x3Window {
  int64_t channels = 0, channelStride = 0, pitch = 0;
  int64_t outRows = 0, outCols = 0, start = 0;
};

/// Whether `window`, the descriptor of a K x N operand, is a 3x3 stride-1
/// convolution's (channels x 3 x 3 rows, outRows x outCols columns); its
/// geometry in `conv` when it is.
bool conv3x3Window(const int64_t *window, int64_t K, int64_t N,
                   Conv3x3Window &conv);

/// Whether F(2x2, 3x3) is faster than the direct kernels for `filters`
/// filters over `conv` (by measurement; see the definition), and the CPU
/// and the environment allow it (MEMC_WINOGRAD=0 turns it off).
bool winogradPays(const Conv3x3Window &conv, int64_t filters);

/// The tile winogradConv3x3 takes for `filters` filters over `conv`: 4
/// (F(4x4, 3x3): 36 products a 4x4 block of outputs, against F(2x2,
/// 3x3)'s 64, for transformed filters 4 times as large) where there are
/// tiles enough to read them for (by measurement; MEMC_WINOGRAD_4X4=0 turns
/// it off), 2 where only F(2x2, 3x3) pays, 0 where neither does.
int winogradTile(const Conv3x3Window &conv, int64_t filters);

/// C (filters x outRows * outCols, row stride ldc) = the convolution of the
/// input at `x`, in tiles of `tile` x `tile` outputs (2 or 4), by A's filters
/// (filters x channels * 9, row stride lda, or its transpose), plus C's old
/// value when `accumulate`; through `epilogue` into its D instead when not null
/// (C is then only read, and only when accumulating). Runs on the thread pool
/// (on the calling thread under 4 MFLOP, counted as the direct product's);
/// the result does not depend on the number of threads. False, with nothing
/// written, when the transformed filters cannot be allocated (a block whose
/// buffers cannot be is computed by the definition).
bool winogradConv3x3(const Conv3x3Window &conv, int64_t filters, int tile,
                     const float *a, int64_t lda, bool transA, const float *x,
                     bool accumulate, float *c, int64_t ldc,
                     const Epilogue *epilogue);

/// winogradConv3x3 cut into rowShares shares of the rows of tiles by
/// filterShares shares of the filters (each clamped to what there is), run
/// one after the other on this thread: for tests that the cut does not
/// change the result. With `withoutBuffers`, every block runs as when its
/// buffers cannot be allocated (by the definition), for tests of that path.
bool winogradConv3x3InShares(const Conv3x3Window &conv, int64_t filters,
                             int tile, const float *a, int64_t lda, bool transA,
                             const float *x, bool accumulate, float *c,
                             int64_t ldc, const Epilogue *epilogue,
                             int64_t rowShares, int64_t filterShares,
                             bool withoutBuffers = false);

/// Turns F(2x2, 3x3) off (false) or back on, for tests that compare the
/// direct kernels bit for bit.
void enableWinograd(bool on);

/// Turns F(4x4, 3x3) off (false: F(2x2, 3x3) where Winograd pays) or back
/// on, for tests of each.
void enableWinograd4x4(bool on);

} // namespace memc::rt

#endif // MEMC_RUNTIME_CPU_WINOGRAD_H
