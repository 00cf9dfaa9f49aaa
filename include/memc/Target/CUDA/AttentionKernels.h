//===- AttentionKernels.h - the fused attention kernels' pieces -*- C++ -*-===//
//
// memc-attention-to-gpu generates one of two kernels for an einsum.attention
// (CUDA cores, passes/AttentionToGPU.cpp; tensor cores,
// lib/Target/CUDA/AttentionMmaKernel.cpp). What both do the same way lives
// here: the cooperative copy of a tile into shared memory, the causal end of
// the K/V loop, the visibility test of a (query, key) pair and the per-key
// bias.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_TARGET_CUDA_ATTENTIONKERNELS_H
#define MEMC_TARGET_CUDA_ATTENTIONKERNELS_H

#include "memc/Target/CUDA/KernelBuilder.h"

#include "memc/Analysis/AttentionKernelTiles.h"

#include <cmath>
#include <optional>

namespace memc {

/// An einsum.attention on memrefs, as the kernels see it.
struct AttentionProblem {
  mlir::Value query, key, value, output; ///< [batch][P][D], [batch][M][D], ...
  mlir::Value bias;                      ///< [batch][M], or null
  int64_t batch, P, D, M, F;
  double scale;
  std::optional<int64_t> maskedFrom;
  /// A decode step's or prefill chunk's first sequence row (query row p is
  /// row p + queryOffset against the cache's keys), or null. An index value
  /// computed on the host from the program's `position` input;
  /// memc-sink-run-time-values moves its computation into the kernel.
  mlir::Value queryOffset = nullptr;
};

/// The block's threads copy rows [first, first + rows) of src[bi] (columns
/// [0, cols)) into dst; rows past `limit` read row limit - 1 (finite data
/// that the kernel never lets count). With `scale`, values are multiplied.
void copyTile(KernelBuilder &k, mlir::Value src, mlir::Value bi,
              mlir::Value first, int64_t rows, int64_t cols, int64_t limit,
              mlir::Value dst, mlir::Value tid, int64_t threads,
              mlir::Value scale = nullptr);

/// The K/V tiles of `tileKeys` keys a block of `blockRows` queries starting
/// at p0 visits: all of them, or with a causal mask, those up to the block's
/// last visible key (rows counted from the query offset, when there is one).
mlir::Value kvTileCount(KernelBuilder &k, const AttentionProblem &problem,
                        mlir::Value p0, int64_t blockRows, int64_t tileKeys);

/// Whether query `p` sees `key`: the key exists and, with a causal mask,
/// key - (p + query offset) < masked_from.
mlir::Value keyVisible(KernelBuilder &k, const AttentionProblem &problem,
                       mlir::Value key, mlir::Value p);

/// `score` (already in log2 units) plus the bias of `key` of batch entry
/// `bi` times log2(e); `score` itself without a bias. Keys past M read the
/// last one (they are masked anyway).
mlir::Value addBias(KernelBuilder &k, const AttentionProblem &problem,
                    mlir::Value score, mlir::Value bi, mlir::Value key);

/// The tensor-core kernel (AttentionMmaKernel.cpp), for tiles from
/// chooseAttentionMmaTiles; the builder is before the einsum.attention it
/// replaces.
void buildMmaAttentionKernel(KernelBuilder &k, const AttentionProblem &problem,
                             const AttentionMmaTiles &tiles);

} // namespace memc

#endif
